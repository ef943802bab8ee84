//! Records management: classifications, RM classifications and records details. Holds are
//! in [`holds`](crate::api::holds), on the same [`Records`] handle.
//!
//! The answer to an RM classification is not documented by any source we have (UNCONFIRMED):
//! it is read leniently for a new `rm_metadataToken` and otherwise ignored.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::error::Result;
use crate::models::NodeType;
use crate::transport::Call;

/// A classification applied to a node (`GET /api/v1/nodes/{id}/classifications`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Classification {
    /// The classification node id.
    #[serde(default, deserialize_with = "crate::de::i64_or_zero")]
    pub id: i64,
    /// Its name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
    /// Its subtype (199 classification, or an RM classification's own number).
    #[serde(rename = "type", default)]
    pub node_type: NodeType,
    /// `inherit_flag`: whether sub-items inherit it.
    #[serde(default, deserialize_with = "crate::de::lenient_bool")]
    pub inherit_flag: bool,
    /// `management_type` (`RM` for records management classifications), when sent.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub management_type: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One RM classification of a node, from its records details.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RmRecord {
    /// The RM classification's node id (`rmclassification_id`; when absent, `class_id`).
    #[serde(
        rename = "rmclassification_id",
        default,
        deserialize_with = "crate::de::i64_or_zero"
    )]
    pub class_id: i64,
    /// The classification's name, when sent.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
    /// `file_number`.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub file_number: Option<String>,
    /// The records retention schedule (`rsi`).
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub rsi: Option<String>,
    /// `record_date`.
    #[serde(default, deserialize_with = "crate::de::opt_naive")]
    pub record_date: Option<NaiveDateTime>,
    /// `file_status` (e.g. `ACT`).
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub file_status: Option<String>,
    /// `status_date`.
    #[serde(default, deserialize_with = "crate::de::opt_naive")]
    pub status_date: Option<NaiveDateTime>,
    /// `essential` (a code such as `NO`, `VITAL`).
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub essential: Option<String>,
    /// Whether this is the official record.
    #[serde(default, deserialize_with = "crate::de::lenient_bool")]
    pub official: bool,
    /// `storage`.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub storage: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The records details of a node (`GET /api/v1/nodes/{id}/rmclassifications`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RecordsDetails {
    /// One entry per RM classification.
    pub records: Vec<RmRecord>,
    /// The `rm_metadataToken` needed to change an existing RM classification.
    pub rm_metadata_token: Option<String>,
    /// `canRMClassify`: whether the caller may classify the node.
    pub can_rm_classify: bool,
    /// `classVolumeID`.
    pub class_volume_id: Option<i64>,
    /// The whole answer.
    pub raw: Value,
}

impl RecordsDetails {
    /// Whether RM classification `class_id` is applied.
    pub fn has(&self, class_id: i64) -> bool {
        self.records.iter().any(|r| r.class_id == class_id)
    }
}

/// Records management calls; see [`Client::records`].
#[derive(Clone, Debug)]
pub struct Records {
    pub(super) client: Client,
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.trim().parse().ok())
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Records {
    pub(crate) fn new(client: Client) -> Self {
        Records { client }
    }

    /// `GET /api/v1/nodes/{id}/classifications`.
    pub async fn classifications(&self, node: i64) -> Result<Vec<Classification>> {
        let json = self
            .client
            .transport
            .json(Call::get(format!("api/v1/nodes/{node}/classifications")))
            .await?;
        Ok(json.at_opt("/data")?.unwrap_or_default())
    }

    /// `POST /api/v1/nodes/{id}/rmclassifications`: assigns RM classification `class_id`.
    pub fn classify(&self, node: i64, class_id: i64) -> RmClassify {
        RmClassify {
            client: self.client.clone(),
            node,
            class_id,
            apply_to_sub_items: false,
            rm_metadata_token: None,
        }
    }

    /// `GET /api/v1/nodes/{id}/rmclassifications`: the node's records details.
    pub async fn details(&self, node: i64) -> Result<RecordsDetails> {
        let json = self
            .client
            .transport
            .json(Call::get(format!("api/v1/nodes/{node}/rmclassifications")))
            .await?;
        let value = &json.value;
        let mut records: Vec<RmRecord> = json.at_opt("/data")?.unwrap_or_default();
        for r in &mut records {
            if r.class_id == 0 {
                r.class_id = r.extra.get("class_id").and_then(as_i64).unwrap_or(0);
            }
        }
        Ok(RecordsDetails {
            records,
            rm_metadata_token: text(value.get("rm_metadataToken")),
            can_rm_classify: value
                .get("canRMClassify")
                .is_some_and(|v| v.as_bool().unwrap_or(v.as_str() == Some("true"))),
            class_volume_id: value.get("classVolumeID").and_then(as_i64),
            raw: json.value.clone(),
        })
    }
}

/// Builder of an RM classification.
#[derive(Clone, Debug)]
pub struct RmClassify {
    client: Client,
    node: i64,
    class_id: i64,
    apply_to_sub_items: bool,
    rm_metadata_token: Option<String>,
}

impl RmClassify {
    /// Applies the classification to the sub-items too.
    pub fn apply_to_sub_items(mut self, yes: bool) -> Self {
        self.apply_to_sub_items = yes;
        self
    }

    /// The `rm_metadataToken` from [`Records::details`], needed to change an existing one.
    pub fn rm_metadata_token(mut self, token: impl Into<String>) -> Self {
        self.rm_metadata_token = Some(token.into());
        self
    }

    /// Sends it and returns the new `rm_metadataToken` when the answer carries one (at the
    /// top or in `results`; the shape is UNCONFIRMED). Read [`Records::details`] for the
    /// token otherwise.
    pub async fn send(self) -> Result<Option<String>> {
        let mut body = json!({
            "class_id": self.class_id,
            "apply_to_sub_items": self.apply_to_sub_items,
        });
        if let Some(token) = &self.rm_metadata_token {
            body["rm_metadataToken"] = json!(token);
        }
        let call =
            Call::post(format!("api/v1/nodes/{}/rmclassifications", self.node)).body_json(&body);
        let value = self.client.transport.json(call).await?.value;
        Ok(text(value.get("rm_metadataToken"))
            .or_else(|| text(value.pointer("/results/rm_metadataToken"))))
    }
}
into_future!(RmClassify => Option<String>);
pub use crate::api::holds::{CreateHold, Hold};
