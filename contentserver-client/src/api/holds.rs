//! Holds (records management): list, by name, create, apply to a node or to many nodes in one
//! call, the holds on a node, remove. These are calls on [`Records`].
//!
//! The list (`/api/v2/holds`) and by-name (`/api/v2/hold`) answers are documented by pyxecm;
//! apply, remove, the bulk calls and the node hold list come from one weak source
//! (UNCONFIRMED), so their answers are read leniently.
//!
//! Bulk: `POST /api/v1/rmclassifications/applyhold` (and `removehold`) with plain fields
//! `holdID` and `ids` (repeated) applies one hold to many nodes in ONE server call; it is the
//! only bulk hold call the reference lists (§9).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::api::records::Records;
use crate::client::Client;
use crate::error::{ErrorKind, Result};
use crate::transport::Call;

/// A legal or other hold (`/api/v2/holds`, `/api/v2/hold`, the holds on a node).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Hold {
    /// The hold id (`HoldID`).
    #[serde(
        rename = "HoldID",
        default,
        deserialize_with = "crate::de::i64_or_zero"
    )]
    pub id: i64,
    /// The name (`HoldName`).
    #[serde(rename = "HoldName", default)]
    pub name: String,
    /// The type (`HoldType`, e.g. `LEGAL`, `FOIA`).
    #[serde(
        rename = "HoldType",
        default,
        deserialize_with = "crate::de::opt_string"
    )]
    pub hold_type: Option<String>,
    /// The comment (`HoldComment`).
    #[serde(
        rename = "HoldComment",
        default,
        deserialize_with = "crate::de::opt_string"
    )]
    pub comment: Option<String>,
    /// Whether the hold is active (`ActiveHold`).
    #[serde(
        rename = "ActiveHold",
        default,
        deserialize_with = "crate::de::lenient_bool"
    )]
    pub active: bool,
    /// `AlternateHoldID`.
    #[serde(
        rename = "AlternateHoldID",
        default,
        deserialize_with = "crate::de::opt_string"
    )]
    pub alternate_id: Option<String>,
    /// The hold folder (`ParentID`).
    #[serde(rename = "ParentID", default, deserialize_with = "crate::de::opt_i64")]
    pub parent_id: Option<i64>,
    /// `DateApplied`.
    #[serde(
        rename = "DateApplied",
        default,
        deserialize_with = "crate::de::opt_naive"
    )]
    pub date_applied: Option<NaiveDateTime>,
    /// `DateToRemove`.
    #[serde(
        rename = "DateToRemove",
        default,
        deserialize_with = "crate::de::opt_naive"
    )]
    pub date_to_remove: Option<NaiveDateTime>,
    /// `DateRemoved`.
    #[serde(
        rename = "DateRemoved",
        default,
        deserialize_with = "crate::de::opt_naive"
    )]
    pub date_removed: Option<NaiveDateTime>,
    /// Who applied it (`ApplyPatron`, a user id).
    #[serde(
        rename = "ApplyPatron",
        default,
        deserialize_with = "crate::de::opt_i64"
    )]
    pub apply_patron: Option<i64>,
    /// How many items the hold covers (`OBJECT`).
    #[serde(rename = "OBJECT", default, deserialize_with = "crate::de::opt_i64")]
    pub object_count: Option<i64>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Hold {
    /// Fills `id` and `name` from `hold_id`/`id` and `name`, for listings that do not use the
    /// `/v2/holds` field names.
    fn fill_lowercase_keys(&mut self) {
        if self.id == 0 {
            self.id = ["hold_id", "id"]
                .iter()
                .filter_map(|k| self.extra.get(*k))
                .find_map(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
                .unwrap_or(0);
        }
        if self.name.is_empty() {
            if let Some(name) = self.extra.get("name").and_then(Value::as_str) {
                self.name = name.to_string();
            }
        }
    }
}

fn date_text(d: &NaiveDateTime) -> String {
    d.format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn lenient_ids(value: &Value) -> Option<Vec<i64>> {
    [
        "/results/ids",
        "/ids",
        "/results/success/ids",
        "/success/ids",
    ]
    .iter()
    .find_map(|p| value.pointer(p).and_then(Value::as_array))
    .map(|items| {
        items
            .iter()
            .filter_map(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
            .collect()
    })
}

impl Records {
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

    /// `POST /api/v1/nodes/{id}/holds` with `body` = `{"hold_id": H}` (pyxecm's form): puts
    /// `node` under hold `hold`.
    pub async fn apply_hold(&self, node: i64, hold: i64) -> Result<()> {
        let call =
            Call::post(format!("api/v1/nodes/{node}/holds")).body_json(&json!({"hold_id": hold}));
        self.client.transport.json(call).await.map(|_| ())
    }

    /// `POST /api/v1/rmclassifications/applyhold` with plain `holdID` and `ids` (repeated):
    /// puts every node of `nodes` under hold `hold` in one server call.
    ///
    /// Returns the ids the server reports as held (`results.ids` or `ids`); when the answer
    /// lists none (its shape is UNCONFIRMED), the ids that were sent. A node the caller may
    /// not hold fails the whole call.
    pub async fn apply_hold_to(&self, hold: i64, nodes: &[i64]) -> Result<Vec<i64>> {
        self.bulk("applyhold", hold, nodes).await
    }

    /// `POST /api/v1/rmclassifications/removehold`: the bulk release, as
    /// [`Records::apply_hold_to`].
    pub async fn remove_hold_from(&self, hold: i64, nodes: &[i64]) -> Result<Vec<i64>> {
        self.bulk("removehold", hold, nodes).await
    }

    async fn bulk(&self, verb: &str, hold: i64, nodes: &[i64]) -> Result<Vec<i64>> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let mut call = Call::post(format!("api/v1/rmclassifications/{verb}")).form("holdID", hold);
        for id in nodes {
            call = call.form("ids", id);
        }
        let value = self.client.transport.json(call).await?.value;
        Ok(lenient_ids(&value)
            .filter(|ids| !ids.is_empty())
            .unwrap_or_else(|| nodes.to_vec()))
    }

    /// `GET /api/v1/nodes/{id}/holds`: the holds on `node`. The shape is UNCONFIRMED: holds
    /// are read from `results.data.holds`, else from a `data` list, with the fields of
    /// `/v2/holds` (`HoldID`, `HoldName`, ...; `hold_id`/`id` and `name` are read too).
    pub async fn node_holds(&self, node: i64) -> Result<Vec<Hold>> {
        let json = self
            .client
            .transport
            .json(Call::get(format!("api/v1/nodes/{node}/holds")))
            .await?;
        for pointer in ["/results/data/holds", "/data", "/holds"] {
            if let Some(Value::Array(_)) = json.value.pointer(pointer) {
                let mut holds: Vec<Hold> = json.at(pointer)?;
                for h in &mut holds {
                    h.fill_lowercase_keys();
                }
                return Ok(holds);
            }
        }
        Ok(Vec::new())
    }

    /// `DELETE /api/v1/nodes/{id}/holds/{hold}`: releases `node` from hold `hold`
    /// (path from one weak source: UNCONFIRMED).
    pub async fn remove_hold(&self, node: i64, hold: i64) -> Result<()> {
        let call = Call::delete(format!("api/v1/nodes/{node}/holds/{hold}"));
        self.client.transport.json(call).await.map(|_| ())
    }
}

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
            .form_opt("date_applied", self.date_applied.as_ref().map(date_text))
            .form_opt(
                "date_to_remove",
                self.date_to_remove.as_ref().map(date_text),
            )
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
