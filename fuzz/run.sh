#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each (default 60) on nightly:
#   ./fuzz/run.sh 300                 # each target 5 minutes
#   ./fuzz/run.sh 60 rules webhook    # two targets
# New inputs go to fuzz/corpus-work/<target> (not committed); the seeds in fuzz/corpus/<target>
# are read, never written. A crash stops with its input in fuzz/artifacts/<target>/: copy it
# into fuzz/corpus/<target>/ (the stable replay test then keeps it) and fix the cause.
# Needs `cargo install cargo-fuzz` and the nightly toolchain.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "corpus-work/$t"
  echo "== $t: ${secs}s"
  start=$(date +%s)
  set +e
  cargo +nightly fuzz run -O "$t" "corpus-work/$t" "corpus/$t" -- \
    -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
    >"corpus-work/$t.log" 2>&1
  status=$?
  set -e
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|panicked|Done ' \
    "corpus-work/$t.log" || true
  echo "== $t: exit $status after $(( $(date +%s) - start ))s, corpus-work $(ls "corpus-work/$t" | wc -l) inputs"
  [ "$status" -eq 0 ] || exit "$status"
done
