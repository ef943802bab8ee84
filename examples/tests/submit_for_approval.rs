//! The approval example, run as its users run it: both policies are submitted with a process at
//! `Review`; after the reviewer's actions the approved one is back in Dropbox as approved (moved,
//! tagged, the comment as a property) and marked official in CS, the rejected one as rejected.

use std::process::Command;

#[test]
fn the_example_walks_one_file_to_approved_and_one_to_rejected() {
    let out = Command::new(env!("CARGO_BIN_EXE_submit_for_approval"))
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
        stdout.contains("\"Approve Travel Policy\" at Review"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"Approve Remote Work Policy\" at Review"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "/HR/Policies/Approved/Remote Work Policy.docx  tags: ready_for_approval, approved"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("/HR/Policies/Rejected/Travel Policy.docx  tags: rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("comment      Approved as written."),
        "{stdout}"
    );
    assert!(
        stdout.contains("comment      Needs a section on per-diem rates."),
        "{stdout}"
    );
    assert!(stdout.contains("official, Approved On"), "{stdout}");
    assert!(
        stdout.contains("again: submit_for_approval: 9 found, 0 written"),
        "{stdout}"
    );
}
