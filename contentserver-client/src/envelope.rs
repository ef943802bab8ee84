//! Decoding of the response envelopes: v1 `data`; v2 `results.data.<section>`; v2 collections
//! with `collection.paging`; payloads directly in `results`; empty `{"results": {}}`.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::paging::{Page, Paging};
use crate::transport::{excerpt, Json};

impl Json {
    /// A decode error about this answer.
    pub(crate) fn decode_error(&self, reason: impl Into<String>) -> Error {
        Error::Decode {
            method: self.method.clone(),
            path: self.path.clone(),
            status: self.status,
            reason: reason.into(),
            excerpt: excerpt(&self.value.to_string()),
            // A JSON answer of the wrong shape will not change on a repeat, so it is not
            // retried (`not_json` is false); `repeatable` says whether it is in doubt.
            not_json: false,
            repeatable: self.repeatable,
        }
    }

    fn convert<T: DeserializeOwned>(&self, value: Value, what: &str) -> Result<T> {
        serde_json::from_value(value).map_err(|e| self.decode_error(format!("{what}: {e}")))
    }

    /// The whole body.
    pub(crate) fn into_type<T: DeserializeOwned>(self) -> Result<T> {
        let value = self.value.clone();
        self.convert(value, "body")
    }

    /// The value at a JSON pointer (e.g. `/data`), or a decode error when it is missing.
    pub(crate) fn at<T: DeserializeOwned>(&self, pointer: &str) -> Result<T> {
        match self.value.pointer(pointer) {
            Some(value) => self.convert(value.clone(), pointer),
            None => Err(self.decode_error(format!("missing {pointer}"))),
        }
    }

    /// The value at a JSON pointer, `None` when missing or null.
    pub(crate) fn at_opt<T: DeserializeOwned>(&self, pointer: &str) -> Result<Option<T>> {
        match self.value.pointer(pointer) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => self.convert(value.clone(), pointer).map(Some),
        }
    }

    /// v1 single object: `{"data": {...}}`.
    pub(crate) fn v1_data<T: DeserializeOwned>(&self) -> Result<T> {
        self.at("/data")
    }

    /// The single v2 result object. Lenient: a one-element `results` array (the generated
    /// OpenAPI types show arrays everywhere) is accepted as well.
    fn v2_single(&self) -> Option<&Value> {
        match self.value.get("results")? {
            Value::Array(items) if items.len() == 1 => items.first(),
            other => Some(other),
        }
    }

    /// v2 single object: `results.data.<section>` (`properties`, `versions`, `hold`, ...).
    pub(crate) fn v2_section<T: DeserializeOwned>(&self, section: &str) -> Result<T> {
        match self
            .v2_single()
            .and_then(|r| r.get("data"))
            .and_then(|d| d.get(section))
        {
            Some(value) => self.convert(value.clone(), &format!("results.data.{section}")),
            None => Err(self.decode_error(format!("missing results.data.{section}"))),
        }
    }

    /// v2 single object: `results.data.properties`.
    pub(crate) fn v2_properties<T: DeserializeOwned>(&self) -> Result<T> {
        self.v2_section("properties")
    }

    /// The whole `results.data` object of a single v2 answer.
    pub(crate) fn v2_data(&self) -> Result<serde_json::Map<String, Value>> {
        match self.v2_single().and_then(|r| r.get("data")) {
            Some(Value::Object(map)) => Ok(map.clone()),
            _ => Err(self.decode_error("missing results.data")),
        }
    }

    /// A payload directly in `results` (create workspace, draft process, initiate).
    pub(crate) fn results<T: DeserializeOwned>(&self) -> Result<T> {
        match self.v2_single() {
            Some(value) => self.convert(value.clone(), "results"),
            None => Err(self.decode_error("missing results")),
        }
    }

    /// A v2 collection: `results: [{"data": {"<section>": {...}}}]` plus `collection.paging`.
    /// Items without that section are skipped.
    pub(crate) fn v2_collection<T: DeserializeOwned>(&self, section: &str) -> Result<Page<T>> {
        let items = match self.value.get("results") {
            Some(Value::Array(items)) => items.as_slice(),
            // Lenient: an empty object or missing results means no items.
            Some(Value::Object(map)) if map.is_empty() => &[],
            None | Some(Value::Null) => &[],
            Some(_) => return Err(self.decode_error("results is not a list")),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(value) = item.get("data").and_then(|d| d.get(section)) {
                out.push(self.convert(value.clone(), &format!("results[{i}].data.{section}"))?);
            }
        }
        let paging = match self.value.pointer("/collection/paging") {
            Some(p) => Some(self.convert::<Paging>(p.clone(), "collection.paging")?),
            None => None,
        };
        Ok(Page { items: out, paging })
    }

    /// The raw items of a v2 collection (each `{"data": {...}, ...}`) and its paging.
    pub(crate) fn v2_items(&self) -> Result<Page<Value>> {
        let items = match self.value.get("results") {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Object(map)) if map.is_empty() => Vec::new(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(self.decode_error("results is not a list")),
        };
        let paging = self.at_opt::<Paging>("/collection/paging")?;
        Ok(Page { items, paging })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;
    use serde_json::json;

    fn j(value: Value) -> Json {
        Json {
            method: Method::GET,
            path: "api/v2/x".into(),
            status: 200,
            value,
            ticket: None,
            repeatable: true,
        }
    }

    #[test]
    fn envelopes() {
        let v1 = j(json!({"data": {"id": 5}, "type": 0}));
        assert_eq!(v1.v1_data::<Value>().unwrap()["id"], 5);
        let v2 = j(json!({"links": {}, "results": {"data": {"properties": {"id": 6}}}}));
        assert_eq!(v2.v2_properties::<Value>().unwrap()["id"], 6);
        let v2_list_of_one = j(json!({"results": [{"data": {"properties": {"id": 7}}}]}));
        assert_eq!(v2_list_of_one.v2_properties::<Value>().unwrap()["id"], 7);
        let coll = j(json!({
            "results": [{"data": {"properties": {"id": 1}}}, {"data": {"properties": {"id": 2}}}],
            "collection": {"paging": {"page": 1, "limit": 2, "page_total": 3, "total_count": 5,
                                      "range_min": 1, "range_max": 2}}
        }));
        let page = coll.v2_collection::<Value>("properties").unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.paging.unwrap().page_total, Some(3));
        let direct = j(json!({"results": {"id": 9, "direct_open": true}}));
        assert_eq!(direct.results::<Value>().unwrap()["id"], 9);
        let empty = j(json!({"links": {}, "results": {}}));
        assert!(empty
            .v2_collection::<Value>("properties")
            .unwrap()
            .items
            .is_empty());
        let err = empty.v2_properties::<Value>().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode {
                    not_json: false,
                    ..
                }
            ),
            "{err}"
        );
    }
}
