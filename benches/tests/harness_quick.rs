//! The harness's quick mode, run as its users run it (the built binary, its own sandbox): the
//! table has every measure, the JSON is valid and the chart is drawn. Figures are not checked:
//! quick mode times nothing worth comparing.

use std::process::Command;

/// The measures every run must report (a prefix of each row's `measure`).
const MEASURES: [&str; 17] = [
    "content hash",
    "decode list_folder page",
    "decode CS children page",
    "state store",
    "small-file archive: script baseline",
    "small-file archive, c=1: vs ideal",
    "small-file archive, c=1: vs baseline",
    "small-file archive: requests per file",
    "several workers: 4 worker process(es)",
    "upload leg",
    "large file, 12 MiB, Dropbox → CS: throughput",
    "large file, CS → Dropbox: peak RSS",
    "incremental backup, 100,000 files: requests",
    "incremental backup, 100,000 files: peak RSS",
    "adaptive load, c=32 against a CS write limit",
    "soak, 300 documents, c=32",
    "soak: end state after the faults are cleared",
];

#[test]
fn quick_mode_reports_every_measure() {
    let out_dir = tempfile::tempdir().expect("a temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("--quick")
        .arg("--out")
        .arg(out_dir.path())
        .output()
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(out_dir.path().join("table.json")).expect("table.json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(v["quick"], true);
    let rows = v["rows"].as_array().expect("rows");
    for m in MEASURES {
        assert!(
            rows.iter()
                .any(|r| r["measure"].as_str().unwrap_or("").starts_with(m)),
            "no row {m:?} in {json}"
        );
        assert!(
            stdout.contains(m),
            "the printed table lacks {m:?}:\n{stdout}"
        );
    }
    for r in rows {
        let measured = !r["figure"]
            .as_str()
            .unwrap_or("")
            .starts_with("not measured");
        assert_eq!(r["ratio"].is_number(), measured, "{r}");
    }
    let backup: Vec<_> = rows
        .iter()
        .filter(|r| {
            r["measure"]
                .as_str()
                .unwrap_or("")
                .starts_with("incremental")
        })
        .collect();
    assert_eq!(backup.len(), 2, "{json}");
    assert!(backup.iter().all(|r| r["ratio"].is_number()), "{json}");
    assert_eq!(v["details"]["backup"]["files"], 500, "{json}");
    // The soak's end state is checked even in quick mode: exact, with faults injected.
    let soak = &v["details"]["soak"];
    assert_eq!(soak["exact"], true, "{json}");
    assert_eq!(soak["end_state"]["in_cs"], 300, "{json}");
    assert!(soak["faults_total"].as_u64().unwrap_or(0) > 0, "{json}");
    let end = rows
        .iter()
        .find(|r| r["measure"] == "soak: end state after the faults are cleared")
        .expect("the soak's end-state row");
    assert_eq!(end["met"], true, "{end}");
    assert!(
        v["details"]["adaptive"]["adaptive"]["refused"].is_u64(),
        "{json}"
    );
    let md = std::fs::read_to_string(out_dir.path().join("table.md")).expect("table.md");
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| ")).count(),
        rows.len() + 2,
        "{md}"
    );
    let svg = std::fs::read_to_string(out_dir.path().join("archive.svg")).expect("archive.svg");
    assert!(svg.starts_with("<svg") && svg.contains("script baseline"));
    assert!(
        v["details"]["archive_c1"]["routes_per_file"].is_object(),
        "{json}"
    );
}
