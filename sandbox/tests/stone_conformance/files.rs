//! Calls of the `files/*` routes: listing, metadata, download, search, writes, uploads and
//! sessions, tags and the batch jobs.

use serde_json::{json, Value};

use crate::stone::harness::{Auth, Ctx, Req};

pub async fn files_listing(ctx: &Ctx) {
    let page = ctx
        .ok("files/list_folder", json!({"path": "", "recursive": true}))
        .await;
    ctx.ok(
        "files/list_folder",
        json!({"path": "/Marketing", "limit": 1, "include_deleted": true}),
    )
    .await;
    ctx.err(
        "files/list_folder",
        json!({"path": "/nope"}),
        "path/not_found",
    )
    .await;
    let cursor = ctx
        .ok(
            "files/list_folder/get_latest_cursor",
            json!({"path": "/Finance"}),
        )
        .await["cursor"]
        .clone();
    ctx.ok(
        "files/list_folder/continue",
        json!({"cursor": page["cursor"]}),
    )
    .await;
    // A cursor the server never issued is malformed input: 400 in plain text, as Dropbox does.
    let reply = ctx
        .call(Req::new(
            "files/list_folder/continue",
            json!({"cursor": "AAAAnot-a-cursor"}),
        ))
        .await;
    if reply.status != 400 {
        ctx.problem(format!(
            "files/list_folder/continue with a foreign cursor: {}",
            reply.status
        ));
    }
    // A change after the cursor: longpoll answers at once.
    ctx.upload(
        "files/upload",
        json!({"path": "/Finance/longpoll.txt"}),
        b"wake",
    )
    .await;
    ctx.expect_ok(
        Req::new(
            "files/list_folder/longpoll",
            json!({"cursor": cursor, "timeout": 30}),
        )
        .auth(Auth::None),
    )
    .await;
    ctx.ok("files/list_folder/continue", json!({"cursor": cursor}))
        .await;

    for path in [
        "/Marketing/Campaign 2026/Approved/Press Release.pdf",
        "/Marketing",
    ] {
        ctx.ok(
            "files/get_metadata",
            json!({"path": path, "include_has_explicit_shared_members": true}),
        )
        .await;
    }
    ctx.err(
        "files/get_metadata",
        json!({"path": "/nope.txt"}),
        "path/not_found",
    )
    .await;
    ctx.expect_ok(Req::new(
        "files/download",
        json!({"path": "/Marketing/Campaign 2026/Approved/Press Release.pdf"}),
    ))
    .await;
    ctx.err(
        "files/download",
        json!({"path": "/nope.pdf"}),
        "path/not_found",
    )
    .await;
    ctx.ok("files/search_v2", json!({"query": "policy"})).await;
    let first = ctx
        .ok(
            "files/search_v2",
            json!({"query": "pdf", "options": {"max_results": 1}}),
        )
        .await;
    if let Some(cursor) = first["cursor"].as_str() {
        ctx.ok("files/search/continue_v2", json!({"cursor": cursor}))
            .await;
    } else {
        ctx.problem("files/search_v2: max_results 1 gave no cursor to continue".into());
    }
}

pub async fn files_writes(ctx: &Ctx) {
    ctx.ok("files/create_folder_v2", json!({"path": "/Conf/Folder"}))
        .await;
    ctx.err(
        "files/create_folder_v2",
        json!({"path": "/Conf/Folder"}),
        "path/conflict/folder",
    )
    .await;
    ctx.upload("files/upload", json!({"path": "/Conf/a.txt"}), b"one")
        .await;
    ctx.ok(
        "files/copy_v2",
        json!({"from_path": "/Conf/a.txt", "to_path": "/Conf/b.txt"}),
    )
    .await;
    ctx.err(
        "files/copy_v2",
        json!({"from_path": "/Conf/nope.txt", "to_path": "/Conf/c.txt"}),
        "from_lookup/not_found",
    )
    .await;
    ctx.ok(
        "files/move_v2",
        json!({"from_path": "/Conf/b.txt", "to_path": "/Conf/Folder/b.txt"}),
    )
    .await;
    let second = ctx
        .upload(
            "files/upload",
            json!({"path": "/Conf/a.txt", "mode": "overwrite"}),
            b"two",
        )
        .await;
    let revisions = ctx
        .ok(
            "files/list_revisions",
            json!({"path": "/Conf/a.txt", "limit": 10}),
        )
        .await;
    let old = revisions["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|r| r["rev"] != second["rev"]))
        .map(|r| r["rev"].clone())
        .unwrap_or(Value::Null);
    ctx.ok("files/restore", json!({"path": "/Conf/a.txt", "rev": old}))
        .await;
    ctx.err(
        "files/restore",
        json!({"path": "/Conf/a.txt", "rev": "0123456789abcdef"}),
        "",
    )
    .await;
    ctx.ok("files/delete_v2", json!({"path": "/Conf/Folder/b.txt"}))
        .await;
    ctx.err(
        "files/delete_v2",
        json!({"path": "/Conf/Folder/b.txt"}),
        "path_lookup/not_found",
    )
    .await;
    // A deleted entry shows up in a listing with include_deleted.
    ctx.ok(
        "files/list_folder",
        json!({"path": "/Conf/Folder", "include_deleted": true}),
    )
    .await;
}

pub async fn uploads(ctx: &Ctx) {
    ctx.err(
        "files/upload",
        json!({"path": "/Conf/a.txt", "mode": {".tag": "update", "update": "0123456789abc"}}),
        "path/conflict",
    )
    .await;
    let start = ctx
        .upload("files/upload_session/start", json!({}), b"abc")
        .await;
    let id = start["session_id"].clone();
    ctx.upload(
        "files/upload_session/append_v2",
        json!({"cursor": {"session_id": id, "offset": 3}}),
        b"def",
    )
    .await;
    ctx.expect_status(
        Req::new(
            "files/upload_session/append_v2",
            json!({"cursor": {"session_id": id, "offset": 1}}),
        )
        .body(b"x".to_vec()),
        409,
        "incorrect_offset",
    )
    .await;
    ctx.upload(
        "files/upload_session/append",
        json!({"session_id": id, "offset": 6}),
        b"ghi",
    )
    .await;
    ctx.upload(
        "files/upload_session/finish",
        json!({"cursor": {"session_id": id, "offset": 9}, "commit": {"path": "/Conf/session.txt"}}),
        b"",
    )
    .await;
    ctx.expect_status(
        Req::new(
            "files/upload_session/finish",
            json!({"cursor": {"session_id": "nope", "offset": 0}, "commit": {"path": "/Conf/x.txt"}}),
        ),
        409,
        "lookup_failed/not_found",
    )
    .await;

    let batch = ctx
        .ok(
            "files/upload_session/start_batch",
            json!({"num_sessions": 2}),
        )
        .await;
    let ids: Vec<Value> = batch["session_ids"].as_array().cloned().unwrap_or_default();
    let mut entries = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        ctx.upload(
            "files/upload_session/append_v2",
            json!({"cursor": {"session_id": id, "offset": 0}, "close": true}),
            b"batch",
        )
        .await;
        entries.push(json!({"cursor": {"session_id": id, "offset": 5},
            "commit": {"path": format!("/Conf/batch{i}.txt")}}));
    }
    // The second entry collides with the first, to see a failure entry too.
    if let Some(second) = entries.get_mut(1) {
        second["commit"]["path"] = json!("/Conf/batch0.txt");
        second["commit"]["mode"] = json!("add");
        second["commit"]["autorename"] = json!(false);
    }
    ctx.ok(
        "files/upload_session/finish_batch_v2",
        json!({"entries": entries}),
    )
    .await;
    let v1 = ctx
        .upload("files/upload_session/start", json!({"close": true}), b"v1")
        .await;
    let job = ctx
        .ok(
            "files/upload_session/finish_batch",
            json!({"entries": [{"cursor": {"session_id": v1["session_id"], "offset": 2},
                "commit": {"path": "/Conf/v1.txt"}}]}),
        )
        .await;
    if let Some(job_id) = job["async_job_id"].as_str() {
        ctx.ok(
            "files/upload_session/finish_batch/check",
            json!({"async_job_id": job_id}),
        )
        .await;
    } else {
        ctx.problem(format!(
            "files/upload_session/finish_batch: no async_job_id to check: {job}"
        ));
    }
    ctx.err(
        "files/upload_session/finish_batch/check",
        json!({"async_job_id": "nope"}),
        "invalid_async_job_id",
    )
    .await;
}

pub async fn tags(ctx: &Ctx) {
    let path = "/Conf/a.txt";
    ctx.ok(
        "files/tags/add",
        json!({"path": path, "tag_text": "conformance"}),
    )
    .await;
    ctx.ok("files/tags/get", json!({"paths": [path]})).await;
    ctx.ok(
        "files/tags/remove",
        json!({"path": path, "tag_text": "conformance"}),
    )
    .await;
    ctx.err(
        "files/tags/remove",
        json!({"path": path, "tag_text": "conformance"}),
        "tag_not_present",
    )
    .await;
}

/// The batch jobs (`files/*_batch*`), when the emulator serves them.
pub async fn batches(ctx: &Ctx) {
    let check = |route: &'static str, job: Value| async move {
        match job["async_job_id"].as_str() {
            Some(id) => {
                ctx.ok(route, json!({"async_job_id": id})).await;
            }
            // Completed at once: the launch answer was already checked.
            None if job[".tag"] == "complete" => {}
            None => ctx.problem(format!("{route}: no job to check: {job}")),
        }
        ctx.err(
            route,
            json!({"async_job_id": "nope"}),
            "invalid_async_job_id",
        )
        .await;
    };
    if ctx.serves("/2/files/copy_batch_v2") {
        ctx.upload("files/upload", json!({"path": "/Batch/one.txt"}), b"1")
            .await;
        let job = ctx
            .ok(
                "files/copy_batch_v2",
                json!({"entries": [{"from_path": "/Batch/one.txt", "to_path": "/Batch/copy.txt"},
                    {"from_path": "/Batch/nope.txt", "to_path": "/Batch/nope2.txt"}]}),
            )
            .await;
        check("files/copy_batch/check_v2", job).await;
    }
    if ctx.serves("/2/files/move_batch_v2") {
        ctx.upload("files/upload", json!({"path": "/Batch/two.txt"}), b"2")
            .await;
        let job = ctx
            .ok(
                "files/move_batch_v2",
                json!({"entries": [{"from_path": "/Batch/two.txt", "to_path": "/Batch/moved.txt"}]}),
            )
            .await;
        check("files/move_batch/check_v2", job).await;
    }
    if ctx.serves("/2/files/delete_batch") {
        let job = ctx
            .ok(
                "files/delete_batch",
                json!({"entries": [{"path": "/Batch/moved.txt"}, {"path": "/Batch/nope.txt"}]}),
            )
            .await;
        check("files/delete_batch/check", job).await;
    }
}
