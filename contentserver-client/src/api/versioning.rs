//! Reserving documents (check-out) and promoting minor versions to major ones.
//!
//! Both are calls on [`Documents`]: `reserve` / `unreserve` (`PUT /api/v2/nodes/{id}` with
//! `reserved_user_id`) and `promote` (`POST /api/v2/nodes/{id}/versions/{n}/promote`).

use serde_json::{json, Value};

use crate::api::documents::{Documents, Version, MAX_VERSION_DESCRIPTION};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::Call;

impl Documents {
    /// `PUT /api/v2/nodes/{id}` with `body` = `{"reserved_user_id": user}`: reserves (checks
    /// out) the document for `user`. While it is reserved, only that user adds versions.
    pub async fn reserve(&self, id: i64, user: i64) -> Result<()> {
        let call =
            Call::put(format!("api/v2/nodes/{id}")).body_json(&json!({ "reserved_user_id": user }));
        self.client.transport.json(call).await.map(|_| ())
    }

    /// `PUT /api/v2/nodes/{id}` with `body` = `{"reserved_user_id": "null"}` (the string, as
    /// the API documents it): releases a reservation.
    pub async fn unreserve(&self, id: i64) -> Result<()> {
        let call = Call::put(format!("api/v2/nodes/{id}"))
            .body_json(&json!({ "reserved_user_id": "null" }));
        self.client.transport.json(call).await.map(|_| ())
    }

    /// `POST /api/v2/nodes/{id}/versions/{n}/promote`: promotes minor version `number` (its
    /// sequence number, [`Version::version_number`]) of an advanced-versioning document to a
    /// new major version.
    pub fn promote(&self, id: i64, number: i64) -> Promote {
        Promote {
            client: self.client.clone(),
            id,
            number,
            description: None,
        }
    }
}

/// Builder of a promotion to a major version.
#[derive(Clone, Debug)]
pub struct Promote {
    client: Client,
    id: i64,
    number: i64,
    description: Option<String>,
}

impl Promote {
    /// The new major version's description (at most 255 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Promotes the version and returns the new major version. The answer's shape is
    /// UNCONFIRMED: `results.data.versions` is read when present, else the latest version is
    /// read back (`GET /api/v1/nodes/{id}/versions/latest`).
    pub async fn send(self) -> Result<Version> {
        let mut body = json!({});
        if let Some(d) = &self.description {
            if d.chars().count() > MAX_VERSION_DESCRIPTION {
                return Err(Error::invalid(format!(
                    "a version description has at most {MAX_VERSION_DESCRIPTION} characters"
                )));
            }
            body["description"] = Value::String(d.clone());
        }
        let call = Call::post(format!(
            "api/v2/nodes/{}/versions/{}/promote",
            self.id, self.number
        ))
        .body_json(&body);
        let json = self.client.transport.json(call).await?;
        match json.v2_section::<Version>("versions") {
            Ok(version) => Ok(version),
            Err(_) => {
                Documents::new(self.client.clone())
                    .latest_version(self.id)
                    .await
            }
        }
    }
}
into_future!(Promote => Version);
