//! [`CsOwner`]: makes a user or group the owner of each written document (an after-write
//! hook; repeatable: it reads the current owner first and changes nothing when it is right).

use async_trait::async_trait;
use contentserver_client::Permission;
use serde::{Deserialize, Serialize};

use super::sink::CsSink;
use crate::error::{Error, Result, Step};
use crate::model::Document;
use crate::sink::{AfterWrite, Receipt};

/// Who owns a written document: a user (the node's owner) or a group (its owner group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Owner {
    /// A user, by login name: becomes the node's owner.
    User(String),
    /// A group, by name: becomes the node's owner group.
    Group(String),
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::User(u) => write!(f, "user {u}"),
            Owner::Group(g) => write!(f, "group {g}"),
        }
    }
}

/// Sets the owner (or owner group) of every document written through the sink it shares its
/// name cache with, keeping the owner's permissions as they are.
///
/// ```no_run
/// # fn demo(client: contentserver_client::Client) {
/// use ecm_bridge::connectors::contentserver::{CsOwner, CsSink, Owner};
/// let sink = CsSink::new(client);
/// let owner = CsOwner::new(&sink, Owner::Group("Outside Counsel".into()));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CsOwner {
    sink: CsSink,
    owner: Owner,
    permissions: Option<Vec<String>>,
}

impl CsOwner {
    /// A hook that makes `owner` own what `sink` writes.
    pub fn new(sink: &CsSink, owner: Owner) -> Self {
        CsOwner {
            sink: sink.clone(),
            owner,
            permissions: None,
        }
    }

    /// The owner's (or owner group's) permissions, as Content Server spells them (`see`,
    /// `see_contents`, `modify`, …), instead of keeping the entry's current ones (a new
    /// document's owner group often has none).
    pub fn permissions<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions = Some(names.into_iter().map(Into::into).collect());
        self
    }

    fn wanted(&self, doc: &Document) -> Result<Option<Vec<Permission>>> {
        let Some(names) = &self.permissions else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let p: Permission =
                serde_json::from_value(serde_json::json!(name)).unwrap_or(Permission::Unknown);
            if p == Permission::Unknown {
                return Err(Error::governance(
                    &doc.path,
                    Step::Permissions,
                    format!("owner: unknown permission {name:?}"),
                ));
            }
            out.push(p);
        }
        Ok(Some(out))
    }

    /// The member id of the owner.
    async fn member(&self, doc: &Document) -> Result<i64> {
        let members = self.sink.client.members();
        let err = |e| Error::cs(&doc.path, Step::Permissions, e);
        let found = match &self.owner {
            Owner::User(name) => members.find_user(name).await.map_err(err)?,
            Owner::Group(name) => members.find_group(name).await.map_err(err)?,
        };
        found.map(|m| m.id).ok_or_else(|| {
            Error::governance(
                &doc.path,
                Step::Permissions,
                format!("owner: no {}", self.owner),
            )
        })
    }
}

#[async_trait]
impl AfterWrite for CsOwner {
    async fn after_write(&self, doc: &Document, receipt: &Receipt) -> Result<()> {
        let node = receipt.target.node_id().ok_or_else(|| {
            Error::governance(&doc.path, Step::Permissions, "not a Content Server receipt")
        })?;
        let wanted = self.wanted(doc)?;
        let member = self.member(doc).await?;
        let perms = self.sink.client.permissions();
        let err = |e| Error::cs(&doc.path, Step::Permissions, e);
        let kind = match self.owner {
            Owner::User(_) => "owner",
            Owner::Group(_) => "group",
        };
        let entries = perms.get(node).await.map_err(err)?;
        let current = entries.iter().find(|e| e.kind == kind);
        let same_perms = |have: &[Permission]| match &wanted {
            Some(w) => w.len() == have.len() && w.iter().all(|p| have.contains(p)),
            None => true,
        };
        if current.is_some_and(|e| e.right_id == Some(member) && same_perms(&e.permissions)) {
            return Ok(());
        }
        let keep = wanted
            .clone()
            .unwrap_or_else(|| current.map(|e| e.permissions.clone()).unwrap_or_default());
        let set = match self.owner {
            Owner::User(_) => perms.set_owner(node, &keep),
            Owner::Group(_) => perms.set_group(node, &keep),
        };
        set.right_id(member).send().await.map_err(err)?;
        tracing::info!(doc = %doc.path, node, owner = %self.owner, "owner set");
        Ok(())
    }
}
