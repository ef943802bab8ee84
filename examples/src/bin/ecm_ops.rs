//! The operator's commands on a flow's state file: see [`ecm_examples::ops`].
//!
//! ```sh
//! cargo run -p ecm-examples --bin ecm-ops -- --state archive_on_approval.db status
//! cargo run -p ecm-examples --bin ecm-ops -- --state archive_on_approval.db failures --flow archive_on_approval --json
//! ```

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = ecm_examples::ops::Args::parse();
    let mut out = std::io::stdout().lock();
    match ecm_examples::ops::run(&args, &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ecm-ops: {e}");
            ExitCode::FAILURE
        }
    }
}
