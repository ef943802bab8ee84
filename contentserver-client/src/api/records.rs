//! Records management: classifications, RM classifications and records details, holds.
//!
//! Several RM answers are not documented by any source we have (classify, apply and remove a
//! hold, the holds on a node): those calls return the raw JSON and accept any success body
//! (UNCONFIRMED shapes, read leniently).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::error::{ErrorKind, Result};
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
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The records details of a node (`GET /api/v1/nodes/{id}/rmclassifications`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RecordsDetails {
    /// One entry per RM classification (`rmclassification_id`, `file_number`, `rsi`,
    /// `record_date`, `file_status`, `essential`, `official`, `storage`, ...).
    pub records: Vec<Map<String, Value>>,
    /// The `rm_metadataToken` needed to change an existing RM classification.
    pub rm_metadata_token: Option<String>,
    /// The whole answer.
    pub raw: Value,
}

/// A legal or other hold (`/api/v2/holds`, `/api/v2/hold`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Hold {
    /// The hold id.
    #[serde(
        rename = "HoldID",
        default,
        deserialize_with = "crate::de::i64_or_zero"
    )]
    pub id: i64,
    /// The name.
    #[serde(rename = "HoldName", default)]
    pub name: String,
    /// The type (e.g. `LEGAL`, `FOIA`).
    #[serde(
        rename = "HoldType",
        default,
        deserialize_with = "crate::de::opt_string"
    )]
    pub hold_type: Option<String>,
    /// The comment.
    #[serde(
        rename = "HoldComment",
        default,
        deserialize_with = "crate::de::opt_string"
    )]
    pub comment: Option<String>,
    /// Whether the hold is active.
    #[serde(
        rename = "ActiveHold",
        default,
        deserialize_with = "crate::de::lenient_bool"
    )]
    pub active: bool,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Records management calls; see [`Client::records`].
#[derive(Clone, Debug)]
pub struct Records {
    client: Client,
}

fn dt(d: &NaiveDateTime) -> String {
    d.format("%Y-%m-%dT%H:%M:%S").to_string()
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
        Ok(RecordsDetails {
            records: json.at_opt("/data")?.unwrap_or_default(),
            rm_metadata_token: json
                .value
                .get("rm_metadataToken")
                .and_then(Value::as_str)
                .map(str::to_string),
            raw: json.value.clone(),
        })
    }

    /// `GET /api/v2/holds`: every hold.
    pub async fn holds(&self) -> Result<Vec<Hold>> {
        let json = self
            .client
            .transport
            .json(Call::get("api/v2/holds"))
            .await?;
        Ok(json.at_opt("/results/data/holds")?.unwrap_or_default())
    }

    /// `GET /api/v2/hold?holdname=`: the hold named `name`, if any.
    pub async fn hold_by_name(&self, name: &str) -> Result<Option<Hold>> {
        let call = Call::get("api/v2/hold").query("holdname", name);
        match self.client.transport.json(call).await {
            Ok(json) => {
                // Lenient: a missing, null or empty `hold` means "no such hold".
                let hold: Option<Map<String, Value>> = json.at_opt("/results/data/hold")?;
                match hold {
                    Some(m) if !m.is_empty() => json.at("/results/data/hold").map(Some),
                    _ => Ok(None),
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /api/v1/holds`: creates a hold named `name`.
    pub fn create_hold(&self, name: impl Into<String>) -> CreateHold {
        CreateHold {
            client: self.client.clone(),
            name: name.into(),
            hold_type: "LEGAL".into(),
            comment: None,
            date_applied: None,
            date_to_remove: None,
            alternate_id: None,
            parent_id: None,
        }
    }

    /// `POST /api/v1/nodes/{id}/holds`: puts `node` under hold `hold`. The answer's shape is
    /// UNCONFIRMED, so it is returned as is.
    pub async fn apply_hold(&self, node: i64, hold: i64) -> Result<Value> {
        let call =
            Call::post(format!("api/v1/nodes/{node}/holds")).body_json(&json!({"hold_id": hold}));
        Ok(self.client.transport.json(call).await?.value)
    }

    /// `GET /api/v1/nodes/{id}/holds` (UNCONFIRMED shape, returned as is).
    pub async fn node_holds(&self, node: i64) -> Result<Value> {
        let call = Call::get(format!("api/v1/nodes/{node}/holds"));
        Ok(self.client.transport.json(call).await?.value)
    }

    /// `DELETE /api/v1/nodes/{id}/holds/{hold}`: releases `node` from hold `hold`
    /// (path from one weak source: UNCONFIRMED).
    pub async fn remove_hold(&self, node: i64, hold: i64) -> Result<()> {
        let call = Call::delete(format!("api/v1/nodes/{node}/holds/{hold}"));
        self.client.transport.json(call).await.map(|_| ())
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

    /// Sends it. The answer's shape is UNCONFIRMED, so it is returned as is.
    pub async fn send(self) -> Result<Value> {
        let mut body = json!({
            "class_id": self.class_id,
            "apply_to_sub_items": self.apply_to_sub_items,
        });
        if let Some(token) = &self.rm_metadata_token {
            body["rm_metadataToken"] = json!(token);
        }
        let call =
            Call::post(format!("api/v1/nodes/{}/rmclassifications", self.node)).body_json(&body);
        Ok(self.client.transport.json(call).await?.value)
    }
}
into_future!(RmClassify => Value);

/// Builder of a hold creation.
#[derive(Clone, Debug)]
pub struct CreateHold {
    client: Client,
    name: String,
    hold_type: String,
    comment: Option<String>,
    date_applied: Option<NaiveDateTime>,
    date_to_remove: Option<NaiveDateTime>,
    alternate_id: Option<String>,
    parent_id: Option<i64>,
}

impl CreateHold {
    /// The hold type (default `LEGAL`).
    pub fn hold_type(mut self, hold_type: impl Into<String>) -> Self {
        self.hold_type = hold_type.into();
        self
    }

    /// The comment.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// When the hold applies from.
    pub fn date_applied(mut self, date: NaiveDateTime) -> Self {
        self.date_applied = Some(date);
        self
    }

    /// When the hold is to be removed.
    pub fn date_to_remove(mut self, date: NaiveDateTime) -> Self {
        self.date_to_remove = Some(date);
        self
    }

    /// An alternate id.
    pub fn alternate_id(mut self, id: impl Into<String>) -> Self {
        self.alternate_id = Some(id.into());
        self
    }

    /// The hold folder (default: the top of Hold Management).
    pub fn parent(mut self, parent: i64) -> Self {
        self.parent_id = Some(parent);
        self
    }

    /// Creates the hold and returns its id (`holdID`).
    pub async fn send(self) -> Result<i64> {
        let call = Call::post("api/v1/holds")
            .form("type", &self.hold_type)
            .form("name", &self.name)
            .form_opt("comment", self.comment.as_ref())
            .form_opt("date_applied", self.date_applied.as_ref().map(dt))
            .form_opt("date_to_remove", self.date_to_remove.as_ref().map(dt))
            .form_opt("alternate_id", self.alternate_id.as_ref())
            .form_opt("parent_id", self.parent_id);
        let json = self.client.transport.json(call).await?;
        // Lenient: `holdID` per pyxecm; `id` or `results.id` accepted too.
        for pointer in ["/holdID", "/id", "/results/id", "/results/holdID"] {
            if let Some(id) = json.value.pointer(pointer).and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            }) {
                return Ok(id);
            }
        }
        json.at("/holdID")
    }
}
into_future!(CreateHold => i64);
