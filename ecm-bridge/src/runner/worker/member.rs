//! What a batch holds, and how a worker takes each kind under its claim.
//!
//! A member of a batch job is one of:
//! - a document the feed listed (or listed as unreadable): its [`DocRef::marker`]; the worker
//!   fetches it from the source and takes it through the one-worker path (an unreadable one
//!   that still cannot be read is recorded `failed`, as the one-worker runner does);
//! - `@take-up:{key}`: a document an earlier run left (a due check, a failure, a write in
//!   doubt, unfinished steps), published by the lister's sweep; the worker reads its record
//!   again under the claim and takes it up only if it still needs it
//!   ([`crate::runner::Flow::run_once`]'s start does the same for one process);
//! - `@deleted:{path}`: a deletion the feed reported. It is claimed under that name (one
//!   worker settles it) and taken only once every batch before its own is settled, so that it
//!   finds the records of everything listed before it. Each document it removes (recorded at
//!   or under the path, and gone from the source) is claimed in turn and removed under that
//!   claim; one held by another worker makes the deletion wait ([`Taken::Later`]).

use std::fmt;

use super::{Held, Shared, Worker, HELD};
use crate::error::Result;
use crate::model::DocRef;
use crate::state::DocStatus;

const TAKE_UP: &str = "@take-up:";
const DELETED: &str = "@deleted:";

/// One member of a batch (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Member {
    /// A document the feed listed.
    Listed(DocRef),
    /// The document `key`, as an earlier run left it.
    TakeUp(String),
    /// Everything recorded at or under a path the feed reported deleted.
    Deleted(String),
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Member::Listed(r) => f.write_str(&r.marker()),
            Member::TakeUp(key) => write!(f, "{TAKE_UP}{key}"),
            Member::Deleted(path) => write!(f, "{DELETED}{path}"),
        }
    }
}

impl Member {
    /// Parses what [`Member`]'s `Display` wrote.
    pub fn parse(s: &str) -> Option<Member> {
        if let Some(key) = s.strip_prefix(TAKE_UP) {
            return Some(Member::TakeUp(key.to_owned()));
        }
        if let Some(path) = s.strip_prefix(DELETED) {
            return Some(Member::Deleted(path.to_owned()));
        }
        DocRef::parse_marker(s).map(Member::Listed)
    }

    /// The key the member is claimed under.
    pub fn claim_key(&self) -> String {
        match self {
            Member::Listed(r) => r.key(),
            Member::TakeUp(key) => key.clone(),
            Member::Deleted(_) => self.to_string(),
        }
    }

    /// Whether it is taken only once every batch before its own is settled.
    pub fn waits_for_earlier(&self) -> bool {
        matches!(self, Member::Deleted(_))
    }
}

impl Worker {
    /// Takes one member under its claim (`held`, in scope): `true` when it is settled, `false`
    /// when it must be taken again later.
    pub(super) async fn take_member(
        &self,
        member: Member,
        held: &Held,
        report: &Shared,
    ) -> Result<bool> {
        let flow = &self.flow;
        match member {
            Member::Listed(r) => {
                match flow.inner.source.fetch(&r).await {
                    Ok(Some(doc)) => flow.process(doc, report).await?,
                    // Gone since it was listed: the feed's deletion settles it.
                    Ok(None) => {}
                    Err(e) => flow.fail_unread(r, None, e, report).await?,
                }
                Ok(true)
            }
            Member::TakeUp(key) => {
                flow.take_up(&key, report).await?;
                Ok(true)
            }
            Member::Deleted(path) => self.take_deleted(&path, held, report).await,
        }
    }

    /// Removes, each under its own claim, the documents recorded at or under `path` that the
    /// source no longer has (a document moved elsewhere in the tree is reported deleted at its
    /// old path, and stays). `false` when one of them is claimed by another worker.
    async fn take_deleted(&self, path: &str, held: &Held, report: &Shared) -> Result<bool> {
        let inner = &self.flow.inner;
        let records: Vec<_> = inner
            .state
            .records_under(&inner.name, path)
            .await?
            .into_iter()
            .filter(|r| r.status != DocStatus::Removed)
            .collect();
        if records.is_empty() {
            return Ok(true);
        }
        let ids: Vec<_> = records.iter().map(|r| r.source.clone()).collect();
        let current = inner.source.recheck(&ids).await?;
        let mut all = true;
        for (record, now) in records.into_iter().zip(current) {
            if now.is_some() {
                tracing::debug!(flow = %inner.name, path = ?record.path, "listed deleted, still at the source: not removed");
                continue;
            }
            let key = record.key();
            let outcome = inner
                .state
                .claim(&inner.name, &key, &self.owner, self.lease, self.now())
                .await?;
            let Some(claim) = outcome.claimed().cloned() else {
                tracing::debug!(flow = %inner.name, doc = %key, "deleted, but another worker holds it: later");
                all = false;
                continue;
            };
            let own = Held {
                key: key.clone(),
                token: claim.token,
                ..held.clone()
            };
            HELD.scope(own, async {
                // Read again under the claim: another worker may have settled it since.
                match inner.state.record(&inner.name, &key).await? {
                    Some(r) if r.status != DocStatus::Removed => {
                        let _guard = inner.locks.lock(&key).await;
                        self.flow.remove(r, report).await
                    }
                    _ => Ok(()),
                }
            })
            .await?;
            inner
                .state
                .release_claim(&inner.name, &key, &self.owner, claim.token)
                .await?;
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_round_trip_and_name_their_claims() {
        let listed = Member::Listed(DocRef::dropbox("id:a", "015f"));
        let take_up = Member::TakeUp("dropbox:id:b".into());
        let deleted = Member::Deleted("/Projects/P1".into());
        for m in [&listed, &take_up, &deleted] {
            assert_eq!(Member::parse(&m.to_string()).as_ref(), Some(m));
        }
        assert_eq!(listed.claim_key(), "dropbox:id:a");
        assert_eq!(take_up.claim_key(), "dropbox:id:b");
        assert_eq!(deleted.claim_key(), "@deleted:/Projects/P1");
        assert!(deleted.waits_for_earlier() && !listed.waits_for_earlier());
        assert_eq!(Member::parse("ftp:x"), None);
    }
}
