//! The intake example, run as its users run it: it takes both submissions in on the first run,
//! changes nothing on the second, and shows each filed document with its owner group, its
//! submitter's details and its review process at the first step.

use std::process::Command;

#[test]
fn the_example_files_both_submissions_with_a_review_at_triage() {
    let out = Command::new(env!("CARGO_BIN_EXE_intake_to_workflow"))
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 written (2 new"), "{stdout}");
    assert!(
        stdout.contains("second run: intake_to_workflow: 0 found, 0 written"),
        "{stdout}"
    );
    for (who, email, file) in [
        (
            "Avery Advocate",
            "avery@lawfirm.example",
            "Engagement Terms.pdf",
        ),
        (
            "Blake Barrister",
            "blake@chambers.example",
            "Conflict Check.docx",
        ),
    ] {
        assert!(
            stdout.contains(&format!(
                "Intake/Outside counsel onboarding/{who} ({email})/{file}"
            )),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!(
                "\"Review {file} from {who} ({email})\": at Triage"
            )),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("Submitter Email  \"{email}\"")),
            "{stdout}"
        );
    }
    assert_eq!(
        stdout
            .matches("group   Outside Counsel: see, see_contents")
            .count(),
        2,
        "{stdout}"
    );
}
