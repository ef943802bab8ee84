#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each (default 60) on nightly:
#   ./fuzz/run.sh 300                 # each target 5 minutes
#   ./fuzz/run.sh 60 rules webhook    # two targets
# New inputs go to fuzz/corpus-work/<target> (not committed); the seeds in fuzz/corpus/<target>
# are read, never written. A crash stops with its input in fuzz/artifacts/<target>/: copy it
# into fuzz/corpus/<target>/ (the stable replay test then keeps it) and fix the cause.
# Needs `cargo install cargo-fuzz`. cargo-fuzz passes nightly-only flags (-Z...): the nightly
# toolchain when there is one, else the stable one with RUSTC_BOOTSTRAP=1 (what these machines
# have). No sanitizer (`-s none`): the code under test is safe Rust, so what a run finds is a
# panic, an abort, a hang (-timeout) or runaway memory (-rss_limit_mb); FUZZ_SANITIZER=address
# turns AddressSanitizer on.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
targets=("$@")
if cargo +nightly --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
san=(-s "${FUZZ_SANITIZER:-none}")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <("${fuzz[@]}" list)
fi
"${fuzz[@]}" build -O "${san[@]}"
for t in "${targets[@]}"; do
  mkdir -p "corpus-work/$t"
  echo "== $t: ${secs}s"
  start=$(date +%s)
  set +e
  "${fuzz[@]}" run -O "${san[@]}" "$t" "corpus-work/$t" "corpus/$t" -- \
    -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
    >"corpus-work/$t.log" 2>&1
  status=$?
  set -e
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|panicked|Done ' \
    "corpus-work/$t.log" || true
  echo "== $t: exit $status after $(( $(date +%s) - start ))s, corpus-work $(ls "corpus-work/$t" | wc -l) inputs"
  [ "$status" -eq 0 ] || exit "$status"
done
