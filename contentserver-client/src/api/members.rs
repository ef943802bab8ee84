//! Members (users and groups): get, search as a paged stream, find by exact name.

use futures::stream::{BoxStream, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::Result;
use crate::paging::{self, Page};
use crate::transport::Call;

/// The largest page size `/api/v2/members` accepts.
pub const MAX_MEMBER_PAGE: u64 = 20;

/// Member type of a user.
pub const MEMBER_USER: i64 = 0;
/// Member type of a group.
pub const MEMBER_GROUP: i64 = 1;

/// A user or group.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Member {
    /// The member id.
    #[serde(default, deserialize_with = "crate::de::i64_or_zero")]
    pub id: i64,
    /// The login or group name.
    #[serde(default)]
    pub name: String,
    /// 0 user, 1 group, 17 service user, ...
    #[serde(rename = "type", default, deserialize_with = "crate::de::i64_or_zero")]
    pub member_type: i64,
    /// The type's display name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub type_name: Option<String>,
    /// First name (users).
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub first_name: Option<String>,
    /// Last name (users).
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub last_name: Option<String>,
    /// E-mail (users).
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub business_email: Option<String>,
    /// The user's base group.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub group_id: Option<i64>,
    /// Whether the member is deleted.
    #[serde(default, deserialize_with = "crate::de::lenient_bool")]
    pub deleted: bool,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Member calls; see [`Client::members`].
#[derive(Clone, Debug)]
pub struct Members {
    client: Client,
}

impl Members {
    pub(crate) fn new(client: Client) -> Self {
        Members { client }
    }

    /// `GET /api/v2/members/{id}`.
    pub async fn get(&self, id: i64) -> Result<Member> {
        self.client
            .transport
            .json(Call::get(format!("api/v2/members/{id}")))
            .await?
            .v2_properties()
    }

    /// `GET /api/v2/members`: a search, as pages or a stream.
    pub fn search(&self) -> SearchMembers {
        SearchMembers {
            client: self.client.clone(),
            where_type: None,
            where_name: None,
            query: None,
            sort: None,
            page_size: MAX_MEMBER_PAGE,
        }
    }

    /// The user whose login is exactly `name` (case-insensitive as a fallback).
    pub async fn find_user(&self, name: &str) -> Result<Option<Member>> {
        self.find(MEMBER_USER, name).await
    }

    /// The group named exactly `name` (case-insensitive as a fallback).
    pub async fn find_group(&self, name: &str) -> Result<Option<Member>> {
        self.find(MEMBER_GROUP, name).await
    }

    async fn find(&self, member_type: i64, name: &str) -> Result<Option<Member>> {
        // Whether `where_name` matches exactly or by prefix is UNCONFIRMED: compare here.
        let found: Vec<Member> = self
            .search()
            .where_type(member_type)
            .where_name(name)
            .into_stream()
            .try_collect()
            .await?;
        if let Some(exact) = found.iter().find(|m| m.name == name) {
            return Ok(Some(exact.clone()));
        }
        let mut loose = found
            .into_iter()
            .filter(|m| m.name.eq_ignore_ascii_case(name));
        match (loose.next(), loose.next()) {
            (Some(one), None) => Ok(Some(one)),
            _ => Ok(None),
        }
    }
}

/// Builder of a member search.
#[derive(Clone, Debug)]
pub struct SearchMembers {
    client: Client,
    where_type: Option<i64>,
    where_name: Option<String>,
    query: Option<String>,
    sort: Option<String>,
    page_size: u64,
}

impl SearchMembers {
    /// Only members of this type (0 user, 1 group, ...).
    pub fn where_type(mut self, member_type: i64) -> Self {
        self.where_type = Some(member_type);
        self
    }

    /// Filter on the login or group name.
    pub fn where_name(mut self, name: impl Into<String>) -> Self {
        self.where_name = Some(name.into());
        self
    }

    /// Substring search over names and e-mail (not combinable with `where_name` on the server).
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Sort order, e.g. `asc_name`.
    pub fn sort(mut self, sort: impl Into<String>) -> Self {
        self.sort = Some(sort.into());
        self
    }

    /// Page size, capped at 20 (the server's limit).
    pub fn page_size(mut self, size: u64) -> Self {
        self.page_size = size.clamp(1, MAX_MEMBER_PAGE);
        self
    }

    /// Fetches one page (1-based).
    pub async fn page(&self, page: u64) -> Result<Page<Member>> {
        let call = Call::get("api/v2/members")
            .query_opt("where_type", self.where_type)
            .query_opt("where_name", self.where_name.as_ref())
            .query_opt("query", self.query.as_ref())
            .query_opt("sort", self.sort.as_ref())
            .query("limit", self.page_size)
            .query("page", page);
        self.client
            .transport
            .json(call)
            .await?
            .v2_collection("properties")
    }

    /// All matches, lazily.
    pub fn into_stream(self) -> BoxStream<'static, Result<Member>> {
        let limit = self.page_size;
        paging::items(paging::pages(limit, move |n| {
            let this = self.clone();
            async move { this.page(n).await }
        }))
    }
}
