//! One pair per run: the three-way decision (last synced state in the store, CS now, Dropbox
//! now) and what it does on each side, through the connectors' sinks.
//!
//! Every decision compares content hashes (Dropbox's `content_hash`; a CS version is hashed
//! once, when its number is not the one recorded): both sides equal means in step, whatever
//! the revs say. That is the echo suppression (our own write reads back as "equal", never as
//! the other side's edit) and the recovery of a write whose answer was lost or whose run
//! stopped before the record. A CS write that is not repeatable (a version added) is saved as
//! an intent first and looked for at the target (`Sink::find_existing`) before it is made
//! again.

use serde::{Deserialize, Serialize};

use super::report::SyncAction;
use super::{ConflictPolicy, DeletionPolicy, Engine, RunCtx, Sides};
use crate::error::{Error, Result, Step};
use crate::model::{ContentHash, DocRef, Document, Location};
use crate::runner::Failpoint;
use crate::sink::{Receipt, RemovalPolicy, Sink, WriteContext};
use crate::source::Source;
use crate::state::{fold_path, DocRecord, DocStatus};

/// What a pair's record keeps besides the three-way state (`source` = CS node at the last
/// synced official version, `target` = Dropbox file at its rev, `hash` = the content then).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Extra {
    /// A Dropbox edit waiting in CS to be accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingEdit>,
    /// A CS write under way (`in:{rev}`, `restore:{rev}`): look for it before writing again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// The conflict flagged (policy `flag_only`, or a deletion against an edit), as
    /// `{cs version}|{dropbox rev}`: the same one is not reported as new again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged: Option<String>,
    /// The approval processes this pair's edits started, oldest first. Minor-version mode
    /// attaches every edit's process to the same record document, so a start in doubt
    /// looks for a process other than these (else a failed start would take the last edit's
    /// finished process as its own). Kept when the pair is back in step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<i64>,
}

impl Extra {
    /// Nothing under way: no pending edit, no write in doubt, no conflict flagged.
    pub(super) fn is_settled(&self) -> bool {
        self.pending.is_none() && self.intent.is_none() && self.flagged.is_none()
    }
}

/// Clears what a pair had under way, keeping its history ([`Extra::processes`]).
pub(super) fn settle(rec: &mut DocRecord) {
    let processes = extra(rec).processes;
    set_extra(
        rec,
        &Extra {
            processes,
            ..Extra::default()
        },
    );
}

/// A Dropbox edit brought into CS, not yet official.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEdit {
    /// The Dropbox rev of the edit.
    pub rev: String,
    /// Its content hash.
    pub hash: String,
    /// The CS version (sequence number) it was added as: a minor version of the record
    /// document, or (review-folder mode) a version of the review document.
    pub version: i64,
    /// Review-folder mode: the review document's node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<i64>,
    /// The approval step's process, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<i64>,
}

pub(super) fn extra(rec: &DocRecord) -> Extra {
    rec.context
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

pub(super) fn set_extra(rec: &mut DocRecord, e: &Extra) {
    rec.context = Some(serde_json::to_value(e).unwrap_or_default());
}

/// A CS or Dropbox version as a number (`0` when unknown).
pub(super) fn ver(d: &DocRef) -> i64 {
    d.version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

pub(super) fn full(db: &Document) -> String {
    db.context
        .full_path
        .clone()
        .unwrap_or_else(|| format!("/{}", db.path))
}

pub(super) fn db_hash(db: &Document) -> String {
    db.hash
        .as_ref()
        .map(|h| h.value.clone())
        .unwrap_or_default()
}

impl Engine {
    pub(super) async fn save(&self, rec: &mut DocRecord, run: u64) -> Result<()> {
        rec.run = run;
        rec.updated = chrono::Utc::now();
        self.state.save_record(rec, None).await?;
        Ok(())
    }

    /// The Dropbox content hash of the CS document's version: the recorded one when it is
    /// the version recorded, else its bytes hashed.
    async fn cs_hash(&self, rec: &DocRecord, cs: &Document) -> Result<String> {
        if rec.source.version == cs.source.version {
            if let Some(h) = &rec.hash {
                return Ok(h.value.clone());
            }
        }
        let s = cs.body.open().await?;
        let kinds = crate::verify::HashKinds::NONE.with(crate::model::HashKind::DropboxContentHash);
        let h = crate::verify::hash_stream_as(s, kinds)
            .await
            .map_err(|e| crate::verify::io_error(&cs.path, Step::Read, e))?;
        Ok(h.dropbox.unwrap_or_default())
    }

    /// `cs` as the Dropbox sink writes it: to `path` (a display path).
    fn out_doc(&self, cs: &Document, path: &str) -> Document {
        let (folder, name) = split(path);
        let mut doc = cs.clone();
        doc.governance.target = Some(Location::Dropbox(folder.to_owned()));
        doc.governance.name = Some(name.to_owned());
        doc
    }

    /// `db` as the CS sink writes it: into the CS folder of `cs_path`, named as its last part.
    fn in_doc(&self, db: &Document, cs_path: &str) -> Document {
        let (folder, name) = split(cs_path);
        let mut doc = db.clone();
        doc.governance.target = Some(Location::CsFolder {
            root: Some(self.cs_root),
            path: folder.to_owned(),
        });
        doc.governance.name = Some(name.to_owned());
        doc
    }

    pub(super) fn wctx(&self, previous: Option<DocRef>, in_doubt: bool) -> WriteContext {
        WriteContext {
            flow: self.name.clone(),
            previous,
            attempt: 1,
            in_doubt,
        }
    }

    /// The record is in step at these versions and this content.
    fn in_step(rec: &mut DocRecord, cs: &DocRef, db: &Document, hash: &str) {
        rec.source = cs.clone();
        rec.target = Some(db.source.clone());
        rec.location = Some(full(db));
        rec.hash = Some(ContentHash::dropbox(hash));
        rec.status = DocStatus::Done;
        rec.last_error = None;
        rec.attempts = 0;
        settle(rec);
    }

    /// One recorded pair.
    pub(super) async fn pair(
        &self,
        mut rec: DocRecord,
        sides: &Sides,
        ctx: &mut RunCtx,
    ) -> Result<()> {
        let node = rec.source.node_id().unwrap_or_default();
        if sides.cs_unreadable.contains_key(&node) {
            return Err(Error::State(format!("CS node {node} could not be read")));
        }
        let Some(target) = rec.target.clone() else {
            // Its first write failed: paired as a new document.
            return match sides.cs.get(&node) {
                Some(cs) => self.fresh(rec, cs, sides, ctx).await,
                None => {
                    rec.status = DocStatus::Removed;
                    self.save(&mut rec, ctx.run).await
                }
            };
        };
        match (sides.cs.get(&node), sides.db.get(&target.id)) {
            (None, None) => {
                let review = self.end_review(&mut rec).await?;
                rec.status = DocStatus::Removed;
                self.save(&mut rec, ctx.run).await?;
                let detail = format!("deleted on both sides{review}");
                ctx.entry(self, &rec, SyncAction::Deleted, detail).await
            }
            (None, Some(db)) => self.cs_gone(rec, db, ctx).await,
            (Some(cs), None) => self.dropbox_gone(rec, cs, sides, ctx).await,
            (Some(cs), Some(db)) => {
                let db = self.follow_renames(&mut rec, cs, db.clone(), ctx).await?;
                self.content(rec, cs, &db, ctx).await
            }
        }
    }

    /// A rename or move on either side is followed on the other (CS wins when both moved).
    async fn follow_renames(
        &self,
        rec: &mut DocRecord,
        cs: &Document,
        db: Document,
        ctx: &mut RunCtx,
    ) -> Result<Document> {
        let rec_cs = rec.path.clone().unwrap_or_default();
        let rec_db = rec.location.clone().unwrap_or_default();
        let db_path = full(&db);
        let cs_renamed = fold_path(&cs.path) != fold_path(&rec_cs);
        let db_renamed = fold_path(&db_path) != fold_path(&rec_db);
        if !cs_renamed && !db_renamed {
            return Ok(db);
        }
        let mut db = db;
        let (cs_path, detail) = if cs_renamed {
            let want = self.dropbox_path(&cs.path);
            let mut detail = None;
            if fold_path(&want) != fold_path(&db_path) {
                self.failpoint(Failpoint::BeforeWrite)?;
                let moved = self
                    .dropbox_sink
                    .relocate(&self.out_doc(cs, &want), &db.source)
                    .await?;
                self.failpoint(Failpoint::AfterWrite)?;
                db = self.db_source.fetch(&db.source).await?.ok_or_else(|| {
                    Error::State(format!("{moved}: gone right after it was moved"))
                })?;
                detail = Some(format!(
                    "in CS {rec_cs} → {}; the Dropbox file followed: {db_path} → {moved}",
                    cs.path
                ));
            }
            (cs.path.clone(), detail)
        } else {
            let rel = db.path.clone();
            self.failpoint(Failpoint::BeforeWrite)?;
            let node = rec.source.node_id().unwrap_or_default();
            self.cs_sink
                .relocate(&self.in_doc(&db, &rel), &DocRef::cs(node, ver(&rec.source)))
                .await?;
            self.failpoint(Failpoint::AfterWrite)?;
            let detail = format!(
                "in Dropbox {rec_db} → {db_path}; the CS document followed: {rec_cs} → {rel}"
            );
            (rel, Some(detail))
        };
        rec.path_lower = Some(fold_path(&cs_path));
        rec.path = Some(cs_path);
        rec.location = Some(full(&db));
        self.save(rec, ctx.run).await?;
        self.failpoint(Failpoint::AfterRecord)?;
        if let Some(d) = detail {
            ctx.entry(self, rec, SyncAction::Renamed, d).await?;
        }
        Ok(db)
    }

    /// The content of a pair whose both sides are there.
    pub(super) async fn content(
        &self,
        mut rec: DocRecord,
        cs: &Document,
        db: &Document,
        ctx: &mut RunCtx,
    ) -> Result<()> {
        let h_rec = rec.hash.as_ref().map(|h| h.value.clone());
        let h_db = db_hash(db);
        let h_cs = self.cs_hash(&rec, cs).await?;
        let mut ex = extra(&rec);
        if h_cs == h_db {
            let same = rec.source == cs.source
                && rec.target.as_ref() == Some(&db.source)
                && h_rec.as_deref() == Some(h_cs.as_str())
                && rec.status == DocStatus::Done
                && ex.is_settled();
            if same {
                ctx.report.unchanged += 1;
                return Ok(());
            }
            let accepted = ex.pending.as_ref().is_some_and(|p| p.hash == h_db);
            let review = ex.pending.as_ref().and_then(|p| p.review);
            if let Some(review) = review {
                // Accepted (or the edit is official by other means): the review document
                // has served.
                self.remove_review(review, &rec).await?;
            }
            let fresh = h_rec.is_none();
            Self::in_step(&mut rec, &cs.source, db, &h_cs);
            self.save(&mut rec, ctx.run).await?;
            let (action, detail) = if accepted {
                (
                    SyncAction::Accepted,
                    format!(
                        "the Dropbox edit (rev {}) is the official CS version {}{}",
                        db.source.version.as_deref().unwrap_or("?"),
                        ver(&cs.source),
                        match review {
                            Some(n) => format!("; its review document (node {n}) was removed"),
                            None => String::new(),
                        }
                    ),
                )
            } else if fresh {
                (
                    SyncAction::Paired,
                    format!("paired with {} (same content)", full(db)),
                )
            } else {
                (
                    SyncAction::Paired,
                    format!(
                        "in step at CS version {} and Dropbox rev {} (recorded, nothing written)",
                        ver(&cs.source),
                        db.source.version.as_deref().unwrap_or("?")
                    ),
                )
            };
            return ctx.entry(self, &rec, action, detail).await;
        }
        let cs_changed = h_rec.as_deref() != Some(h_cs.as_str());
        let db_changed = h_rec.as_deref() != Some(h_db.as_str());
        if let Some(p) = ex.pending.clone().filter(|p| p.hash == h_db) {
            return self.decide_pending(rec, cs, db, &h_cs, p, ctx).await;
        }
        match (cs_changed, db_changed) {
            (true, false) => {
                self.send_out(&mut rec, cs, db, &h_cs, ctx.run).await?;
                let detail = format!(
                    "CS version {} → {} (rev {})",
                    ver(&cs.source),
                    full(db),
                    rec.target
                        .as_ref()
                        .and_then(|t| t.version.clone())
                        .unwrap_or_default()
                );
                ctx.entry(self, &rec, SyncAction::SentOut, detail).await
            }
            (false, _) => {
                let v = self.bring_in(&mut rec, cs, db, &mut ex, ctx.run).await?;
                let detail = format!(
                    "the Dropbox edit (rev {}) is pending in CS as {v}",
                    db.source.version.as_deref().unwrap_or("?")
                );
                ctx.entry(self, &rec, SyncAction::Pending, detail).await
            }
            (true, true) => self.conflict(rec, cs, db, &h_cs, ex, ctx).await,
        }
    }

    /// Both sides changed since the last sync: the policy decides; nothing is lost.
    async fn conflict(
        &self,
        mut rec: DocRecord,
        cs: &Document,
        db: &Document,
        h_cs: &str,
        mut ex: Extra,
        ctx: &mut RunCtx,
    ) -> Result<()> {
        let rev = db.source.version.clone().unwrap_or_default();
        let v = ver(&cs.source);
        let newest_is_dropbox = match (db.modified, cs.modified) {
            (Some(d), Some(c)) => d > c,
            _ => false,
        };
        let detail = match self.conflict {
            ConflictPolicy::KeepBoth => {
                let copy = self.keep_aside(db).await?;
                self.send_out(&mut rec, cs, db, h_cs, ctx.run).await?;
                format!("both changed (CS version {v}, Dropbox rev {rev}): kept both; the Dropbox edit is {copy}, CS version {v} sent out")
            }
            ConflictPolicy::PreferCs => {
                self.send_out(&mut rec, cs, db, h_cs, ctx.run).await?;
                format!("both changed (CS version {v}, Dropbox rev {rev}): CS preferred and sent out; the Dropbox edit stays in the file's version history as rev {rev}")
            }
            ConflictPolicy::PreferNewest if newest_is_dropbox => {
                // CS's version is seen (and stays official); the newer Dropbox edit comes in
                // on top of it as a pending change.
                rec.source = cs.source.clone();
                rec.hash = Some(ContentHash::dropbox(h_cs));
                let pv = self.bring_in(&mut rec, cs, db, &mut ex, ctx.run).await?;
                format!("both changed (CS version {v}, Dropbox rev {rev}): the Dropbox edit is newer and is pending in CS as {pv}")
            }
            ConflictPolicy::PreferNewest => {
                self.send_out(&mut rec, cs, db, h_cs, ctx.run).await?;
                format!("both changed (CS version {v}, Dropbox rev {rev}): the CS version is newer and was sent out; the Dropbox edit stays in the file's version history as rev {rev}")
            }
            ConflictPolicy::FlagOnly => {
                let flag = format!("{v}|{rev}");
                if ex.flagged.as_deref() == Some(flag.as_str()) {
                    let detail = format!("both changed (CS version {v}, Dropbox rev {rev}): flagged, waiting for a person");
                    return ctx
                        .entry(self, &rec, SyncAction::StillFlagged, detail)
                        .await;
                }
                ex.flagged = Some(flag);
                set_extra(&mut rec, &ex);
                rec.status = DocStatus::Conflict;
                self.save(&mut rec, ctx.run).await?;
                format!("both changed (CS version {v}, Dropbox rev {rev}): flagged only, nothing changed on either side")
            }
        };
        ctx.entry(self, &rec, SyncAction::Conflict, detail).await
    }

    /// Keeps the Dropbox file's current content as a conflicted copy named with its time.
    pub(super) async fn keep_aside(&self, db: &Document) -> Result<String> {
        let when = db.modified.unwrap_or_else(|| (self.clock)());
        let copy = self
            .dropbox_sink
            .conflicted_copy(&db.source, &full(db), when)
            .await?;
        self.failpoint(Failpoint::AfterStep)?;
        Ok(copy)
    }

    /// The CS version replaces the Dropbox file, by the rev it has now.
    pub(super) async fn send_out(
        &self,
        rec: &mut DocRecord,
        cs: &Document,
        db: &Document,
        h_cs: &str,
        run: u64,
    ) -> Result<()> {
        self.failpoint(Failpoint::BeforeWrite)?;
        let receipt = self
            .dropbox_sink
            .write(
                &self.out_doc(cs, &full(db)),
                &self.wctx(Some(db.source.clone()), false),
            )
            .await?;
        self.failpoint(Failpoint::AfterWrite)?;
        self.record_out(rec, cs, &receipt, h_cs, run).await
    }

    async fn record_out(
        &self,
        rec: &mut DocRecord,
        cs: &Document,
        receipt: &Receipt,
        h_cs: &str,
        run: u64,
    ) -> Result<()> {
        rec.source = cs.source.clone();
        rec.target = Some(receipt.target.clone());
        rec.location = Some(receipt.location.clone());
        rec.hash = Some(ContentHash::dropbox(h_cs));
        rec.status = DocStatus::Done;
        rec.last_error = None;
        rec.attempts = 0;
        settle(rec);
        self.save(rec, run).await?;
        self.failpoint(Failpoint::AfterRecord)
    }

    /// A CS write that must not be repeated: saved as an intent, looked for at the target
    /// when the intent is found again, else written.
    pub(super) async fn cs_write(
        &self,
        rec: &mut DocRecord,
        ex: &mut Extra,
        intent: String,
        doc: &Document,
        previous: Option<DocRef>,
        run: u64,
    ) -> Result<Receipt> {
        let in_doubt = ex.intent.as_deref() == Some(intent.as_str());
        if !in_doubt {
            self.failpoint(Failpoint::BeforePending)?;
            ex.intent = Some(intent);
            set_extra(rec, ex);
            self.save(rec, run).await?;
        }
        self.failpoint(Failpoint::BeforeWrite)?;
        let ctx = self.wctx(previous, in_doubt);
        let found = match in_doubt {
            true => self.cs_sink.find_existing(doc, &ctx).await?,
            false => None,
        };
        let receipt = match found {
            Some(r) => r,
            None => self.cs_sink.write(doc, &ctx).await?,
        };
        self.failpoint(Failpoint::AfterWrite)?;
        ex.intent = None;
        Ok(receipt)
    }

    /// The Dropbox edit comes into CS as a pending change (a minor version, or a review
    /// document), and its approval starts when one is configured; answers where it waits.
    async fn bring_in(
        &self,
        rec: &mut DocRecord,
        cs: &Document,
        db: &Document,
        ex: &mut Extra,
        run: u64,
    ) -> Result<String> {
        let mut where_ = match self.review.is_some() {
            true => self.bring_in_review(rec, db, ex, run).await?,
            false => format!(
                "minor version {}",
                self.bring_in_minor(rec, cs, db, ex, run).await?
            ),
        };
        if self.approval.is_some() {
            let process = self.approval_process(rec, run).await?;
            where_.push_str(&format!(", approval process {process} started"));
        }
        Ok(where_)
    }

    /// The Dropbox edit comes into CS as a pending minor version; answers its number.
    async fn bring_in_minor(
        &self,
        rec: &mut DocRecord,
        cs: &Document,
        db: &Document,
        ex: &mut Extra,
        run: u64,
    ) -> Result<i64> {
        let node = rec.source.node_id().unwrap_or_default();
        let cs_path = rec.path.clone().unwrap_or_default();
        let n = self
            .cs
            .nodes()
            .get(node)
            .send()
            .await
            .map_err(|e| Error::cs(&cs_path, Step::Write, e))?;
        if !n.advanced_versioning {
            return Err(Error::governance(
                &cs_path,
                Step::Write,
                "the document is not under advanced versioning, so a Dropbox edit cannot wait in it as a minor version",
            ));
        }
        let rev = db.source.version.clone().unwrap_or_default();
        let doc = self.in_doc(db, &cs_path);
        let receipt = self
            .cs_write(
                rec,
                ex,
                format!("in:{rev}"),
                &doc,
                Some(DocRef::cs(node, ver(&cs.source))),
                run,
            )
            .await?;
        let version = ver(&receipt.target);
        ex.pending = Some(PendingEdit {
            rev,
            hash: db_hash(db),
            version,
            review: None,
            process: None,
        });
        ex.flagged = None;
        set_extra(rec, ex);
        rec.status = DocStatus::Awaiting;
        self.save(rec, run).await?;
        self.failpoint(Failpoint::AfterRecord)?;
        Ok(version)
    }

    /// The CS document is gone (deleted, or moved out of the synced folder).
    async fn cs_gone(&self, mut rec: DocRecord, db: &Document, ctx: &mut RunCtx) -> Result<()> {
        let h_db = db_hash(db);
        let edited = rec.hash.as_ref().map(|h| h.value.as_str()) != Some(h_db.as_str());
        let detail = match self.deletion {
            DeletionPolicy::RecordOnly => {
                let review = self.end_review(&mut rec).await?;
                rec.status = DocStatus::Removed;
                self.save(&mut rec, ctx.run).await?;
                format!("deleted in CS; the Dropbox file is kept (record only){review}")
            }
            DeletionPolicy::Mirror if edited => {
                return self.flag_deletion(rec, db, "deleted in CS, but edited in Dropbox since the last sync: the Dropbox file is kept", ctx).await;
            }
            DeletionPolicy::Mirror => {
                self.failpoint(Failpoint::BeforeWrite)?;
                self.dropbox_sink
                    .remove(&db.source, RemovalPolicy::Delete)
                    .await?;
                self.failpoint(Failpoint::AfterWrite)?;
                rec.status = DocStatus::Removed;
                self.save(&mut rec, ctx.run).await?;
                format!("deleted in CS; the Dropbox file {} was deleted", full(db))
            }
            DeletionPolicy::Restore => {
                // The review document goes first: a failure here leaves nothing restored.
                let review = self.end_review(&mut rec).await?;
                let cs_path = rec.path.clone().unwrap_or_default();
                let rev = db.source.version.clone().unwrap_or_default();
                let mut ex = extra(&rec);
                let doc = self.in_doc(db, &cs_path);
                let receipt = self
                    .cs_write(
                        &mut rec,
                        &mut ex,
                        format!("restore:{rev}"),
                        &doc,
                        None,
                        ctx.run,
                    )
                    .await?;
                let mut fresh = DocRecord::new(
                    self.name.clone(),
                    receipt.target.clone(),
                    Some(cs_path.clone()),
                    ctx.run,
                );
                Self::in_step(&mut fresh, &receipt.target, db, &h_db);
                self.save(&mut fresh, ctx.run).await?;
                rec.status = DocStatus::Removed;
                settle(&mut rec);
                self.save(&mut rec, ctx.run).await?;
                self.failpoint(Failpoint::AfterRecord)?;
                let detail = format!(
                    "deleted in CS; restored from Dropbox as node {}{review}",
                    receipt.target.id
                );
                return ctx.entry(self, &fresh, SyncAction::Restored, detail).await;
            }
        };
        ctx.entry(self, &rec, SyncAction::Deleted, detail).await
    }

    /// The Dropbox file is gone (deleted, or moved out of the synced folder).
    async fn dropbox_gone(
        &self,
        mut rec: DocRecord,
        cs: &Document,
        sides: &Sides,
        ctx: &mut RunCtx,
    ) -> Result<()> {
        let detail = match self.deletion {
            DeletionPolicy::RecordOnly => {
                let review = self.end_review(&mut rec).await?;
                rec.status = DocStatus::Removed;
                self.save(&mut rec, ctx.run).await?;
                format!("deleted in Dropbox; the CS document is kept (record only){review}")
            }
            DeletionPolicy::Mirror => {
                let h_cs = self.cs_hash(&rec, cs).await?;
                if rec.hash.as_ref().map(|h| h.value.as_str()) != Some(h_cs.as_str()) {
                    rec.status = DocStatus::Conflict;
                    self.save(&mut rec, ctx.run).await?;
                    "deleted in Dropbox, but CS has a newer version: the CS document is kept"
                        .to_owned()
                } else {
                    self.failpoint(Failpoint::BeforeWrite)?;
                    self.cs_sink
                        .remove(&cs.source, RemovalPolicy::Delete)
                        .await?;
                    self.failpoint(Failpoint::AfterWrite)?;
                    let review = self.end_review(&mut rec).await?;
                    rec.status = DocStatus::Removed;
                    self.save(&mut rec, ctx.run).await?;
                    format!(
                        "deleted in Dropbox; the CS document was deleted (to the recycle bin){review}"
                    )
                }
            }
            DeletionPolicy::Restore => {
                // The edit was withdrawn with its file: its waiting review document goes.
                let review = self.end_review(&mut rec).await?;
                let path = self.publish(&mut rec, cs, sides, ctx.run).await?;
                return ctx
                    .entry(
                        self,
                        &rec,
                        SyncAction::Restored,
                        format!("deleted in Dropbox; restored from CS as {path}{review}"),
                    )
                    .await;
            }
        };
        ctx.entry(self, &rec, SyncAction::Deleted, detail).await
    }

    /// A pair that ends (or, restored, starts again) takes its waiting review document with
    /// it (to the recycle bin), so none is left behind in the review folder: answers what to
    /// add to the report's line. Gone already is fine, so a rerun after a stop repeats it
    /// harmlessly; the record's pending edit is cleared.
    async fn end_review(&self, rec: &mut DocRecord) -> Result<String> {
        let mut ex = extra(rec);
        let Some(review) = ex.pending.as_ref().and_then(|p| p.review) else {
            return Ok(String::new());
        };
        self.remove_review(review, rec).await?;
        ex.pending = None;
        set_extra(rec, &ex);
        Ok(format!(
            "; its waiting review document (node {review}) was removed"
        ))
    }

    async fn flag_deletion(
        &self,
        mut rec: DocRecord,
        db: &Document,
        why: &str,
        ctx: &mut RunCtx,
    ) -> Result<()> {
        let mut ex = extra(&rec);
        let flag = format!(
            "deleted|{}",
            db.source.version.as_deref().unwrap_or_default()
        );
        if ex.flagged.as_deref() == Some(flag.as_str()) {
            return ctx
                .entry(self, &rec, SyncAction::StillFlagged, why.to_owned())
                .await;
        }
        ex.flagged = Some(flag);
        set_extra(&mut rec, &ex);
        rec.status = DocStatus::Conflict;
        self.save(&mut rec, ctx.run).await?;
        ctx.entry(self, &rec, SyncAction::Conflict, why.to_owned())
            .await
    }

    /// Writes the CS document to Dropbox at its mirrored path as a new file, or adopts a file
    /// already there with the same content (our own earlier write whose record was lost).
    /// Answers the Dropbox path.
    pub(super) async fn publish(
        &self,
        rec: &mut DocRecord,
        cs: &Document,
        sides: &Sides,
        run: u64,
    ) -> Result<String> {
        let cs_path = rec.path.clone().unwrap_or_else(|| cs.path.clone());
        let want = self.dropbox_path(&cs_path);
        let h_cs = self.cs_hash(rec, cs).await?;
        if let Some(db) = sides
            .db
            .values()
            .find(|f| fold_path(&full(f)) == fold_path(&want) && db_hash(f) == h_cs)
        {
            Self::in_step(rec, &cs.source, db, &h_cs);
            self.save(rec, run).await?;
            return Ok(full(db));
        }
        self.failpoint(Failpoint::BeforeWrite)?;
        let receipt = self
            .dropbox_sink
            .write(&self.out_doc(cs, &want), &self.wctx(None, false))
            .await?;
        self.failpoint(Failpoint::AfterWrite)?;
        self.record_out(rec, cs, &receipt, &h_cs, run).await?;
        Ok(receipt.location)
    }
}
