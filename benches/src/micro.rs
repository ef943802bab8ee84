//! The micro measures as plain functions over generated inputs, timed by the criterion bench
//! (`benches/micro.rs`) precisely and by the harness once, so its table has every measure.

use std::sync::Arc;

use chrono::Utc;
use contentserver_client::api::nodes::Node;
use dropbox_client::models::files::ListFolderResult;
use dropbox_client::ContentHasher;
use ecm_bridge::model::DocRef;
use ecm_bridge::state::{AuditEntry, DocRecord, DocStatus, Store};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{ctx, Result};

/// `len` bytes of a fixed, non-repeating-looking pattern.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Dropbox's `content_hash` of `data` through [`ContentHasher`], fed in 1 MiB pieces as a
/// stream would feed it.
pub fn content_hash(data: &[u8]) -> String {
    let mut h = ContentHasher::new();
    for piece in data.chunks(1 << 20) {
        h.update(piece);
    }
    h.finish()
}

/// Plain SHA-256 of `data`, fed in the same pieces: the limit of a hash that must SHA-256 every
/// byte once (Dropbox's hashes every byte once, then the 32-byte block digests).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for piece in data.chunks(1 << 20) {
        h.update(piece);
    }
    h.finalize().into()
}

/// A `files/list_folder` answer of `n` file entries, as the server writes it.
pub fn list_folder_page(n: usize) -> Vec<u8> {
    let entries: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                ".tag": "file",
                "name": format!("report-{i:05}.pdf"),
                "path_lower": format!("/team/approved/report-{i:05}.pdf"),
                "path_display": format!("/Team/Approved/report-{i:05}.pdf"),
                "id": format!("id:a4ayc_80_OEAAAAAAAA{i:06}"),
                "client_modified": "2026-03-01T10:20:30Z",
                "server_modified": "2026-03-01T10:20:31Z",
                "rev": format!("{:015x}", 0x5e0_0000_0000_u64 + i as u64),
                "size": 16384 + i,
                "is_downloadable": true,
                "content_hash": format!("{:064x}", i),
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "entries": entries,
        "cursor": "AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
        "has_more": true,
    }))
    .expect("a page serialises")
}

/// Decodes a `list_folder` page into the client's model; returns the entry count.
pub fn decode_list_folder(body: &[u8]) -> Result<usize> {
    let page: ListFolderResult = ctx(serde_json::from_slice(body), "decoding list_folder")?;
    Ok(page.entries.len())
}

/// A CS v2 children page (`GET /api/v2/nodes/{id}/nodes`) of `n` documents.
pub fn cs_children_page(n: usize) -> Vec<u8> {
    let results: Vec<Value> = (0..n)
        .map(|i| {
            json!({ "data": { "properties": {
                "id": 40_000 + i, "parent_id": 2000, "volume_id": -2000,
                "name": format!("report-{i:05}.pdf"), "type": 144, "type_name": "Document",
                "description": "Source: dropbox:id:abc@015e (/Team/Approved)",
                "container": false, "container_size": 0, "size": 16384 + i,
                "mime_type": "application/pdf",
                "create_date": "2026-03-01T10:20:30Z", "modify_date": "2026-03-01T10:20:31Z",
                "external_create_date": "2026-03-01T10:20:30",
                "external_modify_date": "2026-03-01T10:20:30",
                "owner_user_id": 1000, "reserved": false, "reserved_user_id": 0,
                "favorite": false, "hidden": false, "versions_control_advanced": false,
            }}})
        })
        .collect();
    serde_json::to_vec(&json!({
        "results": results,
        "collection": { "paging": {
            "page": 1, "limit": n, "page_total": 3, "range_min": 1, "range_max": n,
            "total_count": 3 * n,
        }},
        "links": { "data": { "self": { "href": "/api/v2/nodes/2000/nodes?page=1" } } },
    }))
    .expect("a page serialises")
}

/// Decodes a CS children page the way the client does (the body into a JSON value, then each
/// item's `data.properties` into a [`Node`]); returns the item count.
pub fn decode_cs_children(body: &[u8]) -> Result<usize> {
    let v: Value = ctx(serde_json::from_slice(body), "decoding the children page")?;
    let items = v["results"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut nodes = Vec::with_capacity(items.len());
    for item in items {
        let props = item["data"]["properties"].clone();
        let node: Node = ctx(serde_json::from_value(props), "decoding a child node")?;
        nodes.push(node);
    }
    Ok(nodes.len())
}

/// Parses a body into an untyped JSON value only: the reference of the decode measures.
pub fn parse_untyped(body: &[u8]) -> Result<usize> {
    let v: Value = ctx(serde_json::from_slice(body), "parsing JSON")?;
    Ok(v.as_object().map_or(0, |o| o.len()))
}

/// Settles `n` documents through `store` the way the flow runner does for each written one
/// without steps: read its record, save it `pending`, save it `done` with its target, append
/// the audit entry. `offset` keeps the keys of successive calls on one store distinct.
pub async fn settle(store: &Arc<dyn Store>, offset: usize, n: usize) -> Result<()> {
    const FLOW: &str = "bench";
    for i in offset..offset + n {
        let source = DocRef::dropbox(format!("id:bench{i:08}"), "015e0000000001");
        let key = source.key();
        ctx(store.record(FLOW, &key).await, "record")?;
        let path = format!("Approved/report-{i}.pdf");
        let mut record = DocRecord::new(FLOW, source.clone(), Some(path.clone()), 1);
        ctx(
            store.save_record(&record, None).await,
            "save_record pending",
        )?;
        let target = DocRef::cs(40_000 + i as i64, 1);
        record.target = Some(target.clone());
        record.location = Some(format!("Enterprise/Archive/report-{i}.pdf"));
        record.status = DocStatus::Done;
        record.attempts = 1;
        ctx(store.save_record(&record, None).await, "save_record done")?;
        let audit = AuditEntry {
            time: Utc::now(),
            flow: FLOW.into(),
            source: source.clone(),
            source_hash: Some(format!("dropbox:{:064x}", i)),
            path: Some(path),
            target: Some(target),
            account: Some("dbid:dana".into()),
            action: "create".into(),
            outcome: "ok".into(),
            run: Some(1),
        };
        ctx(store.append_audit(&audit).await, "append_audit")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pages_decode_in_full() {
        assert_eq!(decode_list_folder(&list_folder_page(20)).unwrap(), 20);
        assert_eq!(decode_cs_children(&cs_children_page(15)).unwrap(), 15);
        assert_eq!(parse_untyped(&cs_children_page(3)).unwrap(), 3);
    }

    #[test]
    fn both_hashes_read_every_byte() {
        let data = pattern(5 << 20);
        assert_eq!(content_hash(&data), ContentHasher::hash(&data));
        assert_eq!(sha256(&data), <[u8; 32]>::from(Sha256::digest(&data)));
    }

    #[tokio::test]
    async fn settled_documents_are_recorded() {
        let store: Arc<dyn Store> = Arc::new(ecm_bridge::state::MemoryStore::new());
        settle(&store, 0, 3).await.unwrap();
        settle(&store, 3, 2).await.unwrap();
        let all = store
            .records_by_status("bench", DocStatus::Done)
            .await
            .unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(store.audit(Some("bench")).await.unwrap().len(), 5);
    }
}
