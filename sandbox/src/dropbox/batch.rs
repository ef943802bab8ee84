//! `files/move_batch_v2`, `files/copy_batch_v2`, `files/delete_batch` and their job checks.
//!
//! A batch runs entry by entry when it is launched (each entry succeeds or fails on its own,
//! as the real `*_v2` routes report) and always answers with an async job id. The check of a
//! job answers `in_progress` a configurable number of times (default once, see
//! [`Dropbox::set_job_in_progress_checks`](super::Dropbox::set_job_in_progress_checks)) and then
//! `complete` with the outcomes: deterministic, no timing.

use std::sync::atomic::Ordering;

use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::files;
use super::wire::{parse, ApiError};
use super::App;

/// A launched batch job.
#[derive(Debug, Clone)]
pub(crate) struct BatchJob {
    /// Which check route may ask about it (`files/move_batch/check_v2`, ...).
    pub check: &'static str,
    /// How many more checks answer `in_progress`.
    pub in_progress_left: u32,
    /// The `complete` answer.
    pub result: Value,
}

#[derive(Debug, Deserialize)]
struct RelocationPath {
    from_path: String,
    to_path: String,
}

#[derive(Debug, Deserialize)]
struct RelocationBatchArg {
    entries: Vec<RelocationPath>,
    #[serde(default)]
    autorename: bool,
}

#[derive(Debug, Deserialize)]
struct DeleteBatchArg {
    entries: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct PollArg {
    async_job_id: String,
}

fn launch(app: &App, check: &'static str, result: Value) -> Value {
    let in_progress_left = app.job_in_progress_checks.load(Ordering::Relaxed);
    let mut store = app.store();
    let id = format!("dbjid:sbx-batch-{}", store.next());
    store.batch_jobs.insert(
        id.clone(),
        BatchJob {
            check,
            in_progress_left,
            result,
        },
    );
    json!({".tag": "async_job_id", "async_job_id": id})
}

fn relocation_batch(app: &App, caller: &Caller, arg: Value, copy: bool) -> Result<Value, ApiError> {
    let arg: RelocationBatchArg = parse(arg)?;
    if arg.entries.is_empty() || arg.entries.len() > 1000 {
        return Err(ApiError::BadRequest(format!(
            "request body: entries: {} items, expected 1 to 1000",
            arg.entries.len()
        )));
    }
    let mut entries = Vec::with_capacity(arg.entries.len());
    for entry in &arg.entries {
        let one = json!({"from_path": entry.from_path, "to_path": entry.to_path, "autorename": arg.autorename});
        let outcome = if copy {
            files::copy_v2(app, caller, one)
        } else {
            files::move_v2(app, caller, one)
        };
        entries.push(match outcome {
            // `Metadata` is polymorphic: nested under the tag.
            Ok(result) => json!({".tag": "success", "success": result["metadata"]}),
            Err(ApiError::Route(error)) => json!({".tag": "failure", "failure":
                {".tag": "relocation_error", "relocation_error": error}}),
            Err(other) => return Err(other),
        });
    }
    let check = if copy {
        "files/copy_batch/check_v2"
    } else {
        "files/move_batch/check_v2"
    };
    Ok(launch(
        app,
        check,
        json!({".tag": "complete", "entries": entries}),
    ))
}

/// `files/move_batch_v2`.
pub(crate) fn move_batch_v2(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    relocation_batch(app, caller, arg, false)
}

/// `files/copy_batch_v2`.
pub(crate) fn copy_batch_v2(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    relocation_batch(app, caller, arg, true)
}

/// `files/delete_batch`.
pub(crate) fn delete_batch(app: &App, caller: &Caller, arg: Value) -> Result<Value, ApiError> {
    let arg: DeleteBatchArg = parse(arg)?;
    if arg.entries.len() > 1000 {
        return Err(ApiError::BadRequest(format!(
            "request body: entries: {} items, expected at most 1000",
            arg.entries.len()
        )));
    }
    let mut entries = Vec::with_capacity(arg.entries.len());
    for entry in arg.entries {
        entries.push(match files::delete_v2(app, caller, entry) {
            // `DeleteBatchResultData` is a plain struct: inlined next to the tag.
            Ok(result) => json!({".tag": "success", "metadata": result["metadata"]}),
            Err(ApiError::Route(error)) => json!({".tag": "failure", "failure": error}),
            Err(other) => return Err(other),
        });
    }
    Ok(launch(
        app,
        "files/delete_batch/check",
        json!({".tag": "complete", "entries": entries}),
    ))
}

fn check(app: &App, route: &'static str, arg: Value) -> Result<Value, ApiError> {
    let arg: PollArg = parse(arg)?;
    let mut store = app.store();
    let job = store
        .batch_jobs
        .get_mut(&arg.async_job_id)
        .filter(|j| j.check == route)
        .ok_or(ApiError::tag("invalid_async_job_id"))?;
    if job.in_progress_left > 0 {
        job.in_progress_left -= 1;
        return Ok(json!({".tag": "in_progress"}));
    }
    Ok(job.result.clone())
}

/// `files/move_batch/check_v2`.
pub(crate) fn move_batch_check_v2(
    app: &App,
    _caller: &Caller,
    arg: Value,
) -> Result<Value, ApiError> {
    check(app, "files/move_batch/check_v2", arg)
}

/// `files/copy_batch/check_v2`.
pub(crate) fn copy_batch_check_v2(
    app: &App,
    _caller: &Caller,
    arg: Value,
) -> Result<Value, ApiError> {
    check(app, "files/copy_batch/check_v2", arg)
}

/// `files/delete_batch/check`.
pub(crate) fn delete_batch_check(
    app: &App,
    _caller: &Caller,
    arg: Value,
) -> Result<Value, ApiError> {
    check(app, "files/delete_batch/check", arg)
}
