//! Entry points for the fuzz targets in `fuzz/` and for the corpus regression test
//! (`tests/fuzz_corpus.rs`): the decoding of server answers, as the transport and the resource
//! modules do it, from raw bytes. Not part of the supported API (hidden from the docs); each
//! function must return for every input, never panic.

use reqwest::Method;
use serde_json::Value;

use crate::api::categories::NodeCategory;
use crate::api::documents::Version;
use crate::api::holds::Hold;
use crate::api::nodes::Node;
use crate::transport::{decode_json, error_from_body, Call, Json};

/// Decodes `data` as every kind of answer the client reads: a success body through the
/// envelopes (v1 `data`, v2 single objects and collections with paging) into nodes, versions,
/// categories and holds, and the same bytes as an error answer (JSON or an HTML page). Returns
/// how many decodes succeeded; every error's text is rendered (a `Display` must not panic).
pub fn decode_answer(data: &[u8]) -> usize {
    let mut ok = 0;
    let mut seen = |r: crate::Result<()>| match r {
        Ok(()) => ok += 1,
        Err(e) => {
            let _ = (e.to_string(), e.kind(), e.is_retryable(), e.retry_after());
        }
    };
    let call = Call::get("api/v2/nodes/5/nodes");
    match decode_json(&call, 200, data) {
        Ok(value) => {
            let json = Json {
                method: Method::GET,
                path: call.path.clone(),
                status: 200,
                value,
                ticket: None,
                repeatable: true,
            };
            seen(json.v2_collection::<Node>("properties").map(drop));
            seen(json.v2_properties::<Node>().map(drop));
            seen(json.v2_section::<Version>("versions").map(drop));
            seen(json.v2_collection::<Version>("versions").map(drop));
            seen(json.v1_data::<Vec<Hold>>().map(drop));
            seen(json.v2_data().map(drop));
            seen(json.results::<Value>().map(drop));
            seen(json.v2_items().map(|page| {
                page.items
                    .iter()
                    .for_each(|i| drop(NodeCategory::from_item(i)));
            }));
            seen(json.at::<Vec<Node>>("/ancestors").map(drop));
        }
        Err(e) => seen(Err(e)),
    }
    let status = match data.first() {
        Some(b) => 400 + u16::from(*b) % 200,
        None => 500,
    };
    let is_json = data.get(1).is_some_and(|b| b % 2 == 0);
    let e = error_from_body(&Call::post("api/v2/nodes"), status, None, is_json, data);
    let _ = (e.to_string(), e.kind(), e.is_retryable(), e.is_in_doubt());
    ok
}
