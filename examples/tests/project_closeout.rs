//! The closeout example, run as its users run it: against the in-process sandbox, the demo
//! project closed out into a workspace under hold, the manifest printed, a second run that
//! changes nothing; and a configuration that asks for deletion without confirming it refused.

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_project_closeout"))
        .args(args)
        .output()
        .expect("the example runs")
}

#[test]
fn closes_out_the_demo_project_and_prints_the_manifest() {
    let out = run(&[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("First run:\n  runner: 4 written, 0 unchanged, 0 failed"),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .matches("closed out 4 file(s), 20307 byte(s), 3 folder(s)")
            .count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("Dropbox folder moved to /Archive/Projects/P-1042 Riverside Tower"));
    assert!(stdout.contains("  path,size,content_hash,node,version,status\n"));
    for file in [
        "Contracts/Main Contract.pdf,5087,",
        "Drawings/Elevations.pdf,4923,",
        "Drawings/Site Plan.pdf,4882,",
        "Handover/Completion Certificate.pdf,5415,",
    ] {
        assert!(stdout.contains(&format!("\n  {file}")), "{file}: {stdout}");
    }
    assert!(
        stdout.contains("holds: Riverside Tower Litigation"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Second run (nothing left to do):\n  runner: 0 written"),
        "{stdout}"
    );
}

#[test]
fn deletion_without_its_confirmation_is_refused() {
    let path = std::env::temp_dir().join(format!("closeout-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "project_folder = \"/Projects/P-1042 Riverside Tower\"\ndelete_source = true\n[target]\nkind = \"folder\"\npath = \"Closed\"\n",
    )
    .unwrap();
    let out = run(&["--config", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("delete_source needs confirm_delete = true"),
        "{stderr}"
    );
}
