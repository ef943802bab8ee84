//! The main example, run as its users run it: against the in-process sandbox (no server
//! configuration in the environment), once for real and once as a dry run; the report it
//! prints is checked line by line.

use std::process::Command;

const APPROVED: [&str; 3] = [
    "Marketing/Campaign 2026/Approved/Brand Guidelines.pdf",
    "Marketing/Campaign 2026/Approved/Launch Plan.xlsx",
    "Marketing/Campaign 2026/Approved/Press Release.pdf",
];

/// Runs the example with `args` and no server configuration; returns its standard output.
fn run(args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_archive_on_approval"));
    cmd.args(args);
    for var in [
        "DROPBOX_TOKEN",
        "DROPBOX_REFRESH_TOKEN",
        "DROPBOX_APP_KEY",
        "DROPBOX_APP_SECRET",
        "CS_URL",
        "CS_USER",
        "CS_PASSWORD",
    ] {
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

/// The report's lines for the written documents: `(path, the line after it)`.
fn written(stdout: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = stdout.lines().collect();
    lines
        .windows(2)
        .filter(|w| {
            w[0].starts_with("  ") && !w[0].starts_with("   ") && w[1].starts_with("    -> ")
        })
        .map(|w| (w[0].trim().to_owned(), w[1].trim().to_owned()))
        .collect()
}

/// The skipped documents and their reasons.
fn skipped(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("Skipped "))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let (path, reason) = l.trim().split_once(" — ").expect("path — reason");
            (path.to_owned(), reason.to_owned())
        })
        .collect()
}

fn assert_skips(stdout: &str) {
    assert!(stdout.contains("\nSkipped 8:\n"), "{stdout}");
    let skipped = skipped(stdout);
    assert_eq!(skipped.len(), 8, "{stdout}");
    for (path, reason) in &skipped {
        assert!(!APPROVED.contains(&path.as_str()), "{path}");
        assert!(
            reason.starts_with(
                "not approved: not in an approval folder (**/Approved); no tag approved"
            ),
            "{path}: {reason}"
        );
    }
}

#[test]
fn archives_the_demo_files_and_a_second_run_writes_nothing() {
    let stdout = run(&[]);
    assert!(
        stdout.starts_with("archive_on_approval against the sandbox"),
        "{stdout}"
    );
    assert!(stdout.contains("\nArchived 3 document(s), "), "{stdout}");
    let written = written(&stdout);
    let paths: Vec<&str> = written.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, APPROVED, "{stdout}");
    for (path, target) in &written {
        assert!(
            target.starts_with(&format!("-> Enterprise/Archive/{path} (node ")),
            "{target}"
        );
        assert!(target.ends_with(", version 1, new document)"), "{target}");
    }
    assert_eq!(
        stdout
            .matches("retention class: MKT-01 Marketing Records (Retention: 7 years)")
            .count(),
        3,
        "{stdout}"
    );
    assert_eq!(
        stdout
            .matches("access: Records Managers may see, see_contents")
            .count(),
        3,
        "{stdout}"
    );
    assert_skips(&stdout);
    assert!(
        stdout.contains(
            "\narchive_on_approval: 11 found, 3 written (3 new, 0 new versions, 0 adopted), 0 unchanged, 8 skipped, 0 failed, "
        ),
        "{stdout}"
    );
    let second = stdout
        .lines()
        .find(|l| l.starts_with("Second run (nothing changed in Dropbox): "))
        .unwrap_or_else(|| panic!("no second run: {stdout}"));
    assert!(
        second.contains(": 0 found, 0 written (0 new, 0 new versions, 0 adopted), 0 unchanged, 0 skipped, 0 failed, 0 bytes"),
        "{second}"
    );
}

#[test]
fn a_dry_run_reports_what_it_would_archive_and_records_nothing() {
    let stdout = run(&["--dry-run"]);
    assert!(
        stdout.contains("\nWould archive 3 document(s), 0 B in "),
        "{stdout}"
    );
    let written = written(&stdout);
    let paths: Vec<&str> = written.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, APPROVED, "{stdout}");
    for (path, target) in &written {
        assert_eq!(
            target,
            &format!("-> Enterprise/Archive/{path} (dry run)"),
            "{stdout}"
        );
    }
    assert_skips(&stdout);
    assert!(
        stdout.contains("\narchive_on_approval: 11 found, 3 would write (0 new, 0 new versions, 0 adopted), 0 unchanged, 8 skipped, 0 failed, 0 bytes in "),
        "{stdout}"
    );
    assert!(!stdout.contains("Second run"), "{stdout}");
    assert!(stdout.contains(" (0 audit entries; "), "{stdout}");
}

/// A broken configuration ends the program with a one-line error that names the file, the line
/// and the column, and shows no secret of the file.
#[test]
fn a_broken_config_fails_without_showing_its_secrets() {
    let secret = "Zq7-distinctive-secret";
    let path = std::env::temp_dir().join(format!("ecm-bad-config-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        format!("[dropbox]\ntoken = \"{secret}\"\n[contentserver]\npassword = {secret}\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_archive_on_approval"))
        .arg("--config")
        .arg(&path)
        .output()
        .expect("the example runs");
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        !stderr.contains(secret) && !stdout.contains(secret),
        "{stderr}"
    );
    assert!(stderr.contains("line 4, column "), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
}
