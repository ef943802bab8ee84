//! The classify_and_route example, run as its users run it: against the in-process sandbox,
//! for real (plan, filed files, the quarantine, the adapted name, the webhook wake-up) and as
//! a dry run (the plan only, as a table and as JSON).

use std::process::Command;

fn run(args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_classify_and_route"));
    cmd.args(args);
    for var in ["DROPBOX_TOKEN", "CS_URL", "CS_USER", "CS_PASSWORD"] {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("the example runs");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn files_quarantines_adapts_and_wakes_on_the_webhook() {
    let out = run(&[]);
    assert!(out.contains("Plan (dry run; rules "), "{out}");
    assert!(out.contains("\nFiled 5:\n"), "{out}");
    assert!(
        out.contains(
            "Intake/Projects/P-1042 Minutes 12:30.docx → Enterprise/Projects/P-1042/Intake/P-1042 Minutes 12-30.docx  [RM PRJ-10 Project Records]"
        ),
        "{out}"
    );
    assert!(
        out.contains("adapted name; original kept: \"P-1042 Minutes 12:30.docx\""),
        "{out}"
    );
    assert!(
        out.contains("Intake/Finance/notes.bin: no rule classifies it (matched intake defaults; none sets a target); quarantined at dropbox:/Quarantine/Intake/Finance/notes.bin [rules "),
        "{out}"
    );
    assert!(out.contains("Woken by the signed webhook notification:\n\nFiled 1:\n  Intake/Finance/INV-2026-100 Initech.pdf → Enterprise/Finance/Invoices/2026/INV-2026-100 Initech.pdf"), "{out}");
    assert!(!out.contains("Failed"), "{out}");
}

#[test]
fn the_dry_run_prints_the_plan_and_changes_nothing() {
    let out = run(&["--dry-run"]);
    let header = out
        .lines()
        .find(|l| l.starts_with("file "))
        .expect("a table");
    for col in ["matched rules", "target", "category values", "RM class"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(out.contains("QUARANTINE: no rule classifies it"), "{out}");
    assert!(out.contains("(was \"P-1042 Minutes 12:30.docx\")"), "{out}");
    assert!(!out.contains("Filed"), "{out}");
    let json = run(&["--dry-run", "--json"]);
    let plan: serde_json::Value = serde_json::from_str(&json).expect("the plan as JSON");
    let rows = plan["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    let notes = rows
        .iter()
        .find(|r| r["path"] == "Intake/Finance/notes.bin")
        .unwrap();
    assert_eq!(notes["action"]["action"], "quarantine");
    let survey = rows
        .iter()
        .find(|r| r["path"] == "Intake/Projects/P-1042 Site Survey.pdf")
        .unwrap();
    assert_eq!(survey["rm_class"], "PRJ-10 Project Records");
    assert_eq!(
        survey["categories"]["Intake Classification"]["Project Id"]["value"],
        "P-1042"
    );
}
