//! Types shared by several namespaces: timestamps, path roots, async-job results.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::union::stone_union;

/// `common.DropboxTimestamp`: UTC, whole seconds, `2015-05-12T15:50:38Z` on the wire.
pub type Timestamp = DateTime<Utc>;

/// Formats a timestamp the way Dropbox expects it (whole seconds, `Z`).
pub fn format_timestamp(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Serde helpers for optional timestamps sent in arguments (whole seconds).
pub(crate) mod timestamp_opt {
    use super::*;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_timestamp(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Option::<Timestamp>::deserialize(d)
    }
}

/// Serde helpers for required timestamps sent in arguments (whole seconds).
pub(crate) mod timestamp {
    use super::*;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(t))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        Timestamp::deserialize(d)
    }
}

stone_union! {
    /// `common.PathRoot`: what paths are relative to (`Dropbox-API-Path-Root`).
    pub enum PathRoot {
        void {
            /// The user's home namespace (the default).
            Home = "home"
        }
        nested {
            /// The user's root namespace, checked to still be `nsid` (else 422 `invalid_root`).
            Root(String) = "root",
            /// Any namespace the user can access, e.g. a team folder.
            NamespaceId(String) = "namespace_id"
        }
    }
}

impl PathRoot {
    pub(crate) fn to_header(&self) -> String {
        serde_json::to_string(self).expect("PathRoot always serializes")
    }
}

stone_union! {
    /// `common.RootInfo`: the user's root and home namespaces.
    pub enum RootInfo {
        inline {
            /// A team user: the root is the team space.
            Team(RootInfoFields) = "team",
            /// A user without a team space.
            User(RootInfoFields) = "user"
        }
        other Other
    }
}

/// Fields of [`RootInfo`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootInfoFields {
    /// The namespace id of the user's root.
    pub root_namespace_id: String,
    /// The namespace id of the user's home.
    pub home_namespace_id: String,
    /// The path of the home namespace within the team space (team users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_path: Option<String>,
}

/// `async.PollArg`: which asynchronous job to ask about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollArg {
    /// The id returned when the job was launched.
    pub async_job_id: String,
}

stone_union! {
    /// `async.PollError`: the route error of every job check (`…/check`, `…/check_v2`).
    pub enum PollError {
        void {
            /// No such job (or it expired).
            InvalidAsyncJobId = "invalid_async_job_id",
            /// Something went wrong with the job on Dropbox's side: check what happened, then
            /// retry.
            InternalError = "internal_error"
        }
        other Other
    }
}
