//! Where a pending Dropbox edit waits and how it is decided: a minor version of the record
//! document or a document in a review folder ([`PendingMode`]), accepted or rejected by hand
//! or by an approval workflow ([`ApprovalConfig`]).
//!
//! **Review folder.** The edit is written (through the CS sink, an intent first, so a lost
//! answer is adopted, never written twice) to `{review_folder}/{relative folder}/{name}`: a new
//! document, or a new version of the pair's review document when an earlier edit still waits.
//! The record document is untouched. Accepted: the review document's content is added to the
//! record document as a new major version; the run that finds both sides equal records it
//! (`accepted`) and removes the review document. Rejected: the review document is removed
//! (by [`super::SyncRunner::reject`] or by a person in CS); the run that finds it gone keeps
//! the Dropbox edit as a conflicted copy and puts the official version back in the file.
//!
//! **Approval.** Each pending edit starts the workflow with the waiting document attached
//! (the review document, or the record document in minor-version mode), once: the store's
//! step [`APPROVAL_STEP`] of (pair, Dropbox rev) is begun first; a step found `started` (a
//! run stopped, or the start's answer was lost) is checked at the target (a process this
//! user initiated with the document attached, other than those the pair's earlier edits
//! started) before a start is tried again. Its process id is kept in the step and in the
//! pair's record. Each run reads the outcome: approved ->
//! accepted (in the same run), rejected or gone -> rejected, running -> still pending.

use contentserver_client::ErrorKind;
use serde::Deserialize;
use serde_json::json;

use super::pair::{db_hash, extra, full, set_extra, ver, Extra, PendingEdit};
use super::report::SyncAction;
use super::{Engine, RunCtx};
use crate::connectors::contentserver::{CsSink, Review};
use crate::error::{Error, Result, Step};
use crate::model::{DocRef, Document, Location, Value, WorkflowStart};
use crate::runner::Failpoint;
use crate::source::Source;
use crate::state::{BeginStep, DocRecord, DocStatus, StepState};

/// The step (in the store's step log, per pair and Dropbox rev) that starts an approval
/// workflow; its output is `{"process_id": …}`.
pub const APPROVAL_STEP: &str = "approval";

/// Where a Dropbox edit waits in CS until it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingMode {
    /// A minor version of the record document (needs advanced versioning); accepted by
    /// promotion to a major version.
    #[default]
    MinorVersion,
    /// A document in the review folder, named as the record document; accepted by adding
    /// its content to the record document as a major version.
    ReviewFolder,
}

/// The approval workflow a pending edit starts (TOML `approval = { map = "Policy Approval" }`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalConfig {
    /// The workflow map: its name, or its node id as digits.
    pub map: String,
    /// The process title (form field `WorkflowForm_Title`); `{name}` is the document's name
    /// and `{rev}` the Dropbox rev (default `Review the Dropbox edit of {name}`). Empty: no
    /// form value is sent.
    #[serde(default = "default_title")]
    pub title: String,
    /// A comment for the start.
    #[serde(default)]
    pub comment: Option<String>,
}

fn default_title() -> String {
    "Review the Dropbox edit of {name}".into()
}

/// What a pending edit's state says now.
enum Outcome {
    Waiting,
    Approved(String),
    Rejected(String),
}

impl Engine {
    /// The Dropbox edit comes into the review folder; answers where it waits.
    pub(super) async fn bring_in_review(
        &self,
        rec: &mut DocRecord,
        db: &Document,
        ex: &mut Extra,
        run: u64,
    ) -> Result<String> {
        let (root, folder) = self.review.clone().unwrap_or_default();
        let cs_path = rec.path.clone().unwrap_or_default();
        let (sub, name) = cs_path.rsplit_once('/').unwrap_or(("", &cs_path));
        let path = match sub {
            "" => folder,
            s => format!("{folder}/{s}"),
        };
        let mut doc = db.clone();
        doc.governance.target = Some(Location::CsFolder {
            root: Some(root),
            path: path.clone(),
        });
        doc.governance.name = Some(name.to_owned());
        let rev = db.source.version.clone().unwrap_or_default();
        let previous = ex.pending.as_ref().and_then(|p| p.review);
        let previous = match previous {
            Some(n) if self.node_exists(n, &cs_path).await? => Some(DocRef::cs(n, 0)),
            _ => None,
        };
        let receipt = self
            .cs_write(rec, ex, format!("review:{rev}"), &doc, previous, run)
            .await?;
        let node = receipt.target.node_id().unwrap_or_default();
        let version = ver(&receipt.target);
        ex.pending = Some(PendingEdit {
            rev,
            hash: db_hash(db),
            version,
            review: Some(node),
            process: None,
        });
        ex.flagged = None;
        set_extra(rec, ex);
        rec.status = DocStatus::Awaiting;
        self.save(rec, run).await?;
        self.failpoint(Failpoint::AfterRecord)?;
        Ok(format!(
            "version {version} of the review document {path}/{name} (node {node})"
        ))
    }

    /// The approval process of the pair's pending edit: the one recorded, else started
    /// once through the step [`APPROVAL_STEP`]; kept in the record.
    pub(super) async fn approval_process(&self, rec: &mut DocRecord, run: u64) -> Result<i64> {
        let mut ex = extra(rec);
        let Some(p) = ex.pending.clone() else {
            return Err(Error::State("no pending edit to approve".into()));
        };
        if let Some(id) = p.process {
            return Ok(id);
        }
        let cfg = self
            .approval
            .clone()
            .ok_or_else(|| Error::Config("version_sync: no approval step configured".into()))?;
        let cs_path = rec.path.clone().unwrap_or_default();
        let attach = p.review.or(rec.source.node_id()).unwrap_or_default();
        let doc = self.approval_doc(&cfg, &cs_path, &p.rev);
        let key = rec.key();
        let state = self.state.as_ref();
        let begun = state
            .begin_step(&self.name, &key, &p.rev, APPROVAL_STEP)
            .await?;
        let known = match begun {
            BeginStep::Began(_) => None,
            BeginStep::Exists(s) if s.state == StepState::Done => s
                .output
                .as_ref()
                .and_then(|o| o.get("process_id"))
                .and_then(serde_json::Value::as_i64),
            BeginStep::Exists(_) => {
                // In doubt: a run stopped, or the start's answer was lost.
                let found = self
                    .sink()
                    .process_attached(&doc, attach, &cfg.map, &ex.processes)
                    .await?;
                match found {
                    Some(id) => Some(id),
                    None => {
                        state
                            .fail_step(&self.name, &key, &p.rev, APPROVAL_STEP, "not started")
                            .await?;
                        state
                            .begin_step(&self.name, &key, &p.rev, APPROVAL_STEP)
                            .await?;
                        None
                    }
                }
            }
        };
        let process = match known {
            Some(id) => id,
            None => {
                self.failpoint(Failpoint::BeforeWrite)?;
                let started = self.sink().start_process(&doc, attach).await?;
                self.failpoint(Failpoint::AfterWrite)?;
                match started {
                    Some(id) => id,
                    None => {
                        return Err(Error::governance(
                            &cs_path,
                            Step::Workflow,
                            "the server named no process id for the approval workflow",
                        ))
                    }
                }
            }
        };
        state
            .finish_step(
                &self.name,
                &key,
                &p.rev,
                APPROVAL_STEP,
                &json!({ "process_id": process }),
            )
            .await?;
        if !ex.processes.contains(&process) {
            ex.processes.push(process);
        }
        ex.pending = Some(PendingEdit {
            process: Some(process),
            ..p
        });
        set_extra(rec, &ex);
        self.save(rec, run).await?;
        Ok(process)
    }

    fn sink(&self) -> &CsSink {
        &self.cs_sink
    }

    /// The document the workflow start reads its map and form values from.
    fn approval_doc(&self, cfg: &ApprovalConfig, cs_path: &str, rev: &str) -> Document {
        let name = cs_path.rsplit('/').next().unwrap_or(cs_path);
        let mut doc = Document::new(
            DocRef::cs(0, 0),
            cs_path.to_owned(),
            0,
            crate::model::Body::from_bytes(bytes::Bytes::new()),
        );
        let mut values = std::collections::BTreeMap::new();
        if !cfg.title.is_empty() {
            let title = cfg.title.replace("{name}", name).replace("{rev}", rev);
            values.insert("WorkflowForm_Title".to_owned(), Value::Text(title));
        }
        doc.governance.workflow = Some(WorkflowStart {
            map: cfg.map.clone(),
            values,
            comment: cfg.comment.clone(),
        });
        doc
    }

    async fn node_exists(&self, node: i64, what: &str) -> Result<bool> {
        match self.cs.nodes().get(node).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::cs(what, Step::Read, e)),
        }
    }

    /// Removes a review document (to the recycle bin); gone already is fine.
    pub(super) async fn remove_review(&self, node: i64, rec: &DocRecord) -> Result<()> {
        let what = rec.path.clone().unwrap_or_default();
        self.failpoint(Failpoint::BeforeWrite)?;
        match self.cs.nodes().delete(node).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(Error::cs(what, Step::Write, e)),
        }
        self.failpoint(Failpoint::AfterWrite)
    }

    /// Where the pending edit stands.
    async fn outcome(
        &self,
        rec: &mut DocRecord,
        cs: &Document,
        p: &PendingEdit,
        run: u64,
    ) -> Result<Outcome> {
        let what = rec.path.clone().unwrap_or_default();
        match p.review {
            None if ver(&cs.source) > p.version => {
                return Ok(Outcome::Rejected(format!(
                    "CS made version {} official without it",
                    ver(&cs.source)
                )))
            }
            Some(_) if ver(&cs.source) > ver(&rec.source) => {
                return Ok(Outcome::Rejected(format!(
                    "CS made version {} official without it",
                    ver(&cs.source)
                )))
            }
            Some(n) if !self.node_exists(n, &what).await? => {
                return Ok(Outcome::Rejected(
                    "its review document was removed in CS".into(),
                ))
            }
            _ => {}
        }
        if self.approval.is_none() {
            return Ok(Outcome::Waiting);
        }
        let process = self.approval_process(rec, run).await?;
        let doc = Document::new(
            DocRef::cs(0, 0),
            what,
            0,
            crate::model::Body::from_bytes(bytes::Bytes::new()),
        );
        Ok(match self.sink().review(&doc, process).await? {
            Review::Running { .. } => Outcome::Waiting,
            Review::Finished(v) => {
                let by = v.reviewer.map(|r| format!(" by {r}")).unwrap_or_default();
                let note = v.comment.map(|c| format!(" ({c})")).unwrap_or_default();
                match v.approved {
                    true => Outcome::Approved(format!("approved in process {process}{by}{note}")),
                    false => Outcome::Rejected(format!("rejected in process {process}{by}{note}")),
                }
            }
            Review::Gone => Outcome::Rejected(format!("its approval process {process} is gone")),
        })
    }

    /// A pair whose Dropbox file still holds the pending edit (CS not equal to it yet).
    pub(super) async fn decide_pending(
        &self,
        mut rec: DocRecord,
        cs: &Document,
        db: &Document,
        h_cs: &str,
        p: PendingEdit,
        ctx: &mut RunCtx,
    ) -> Result<()> {
        match self.outcome(&mut rec, cs, &p, ctx.run).await? {
            Outcome::Waiting => {
                if rec.status != DocStatus::Awaiting {
                    rec.status = DocStatus::Awaiting;
                    rec.last_error = None;
                    self.save(&mut rec, ctx.run).await?;
                }
                ctx.report.unchanged += 1;
                Ok(())
            }
            Outcome::Approved(why) => {
                let node = rec.source.node_id().unwrap_or_default();
                self.make_official(node, &rec, &p, &why).await?;
                let now = self
                    .cs_source
                    .fetch(&DocRef::cs(node, 0))
                    .await?
                    .ok_or_else(|| {
                        Error::State(format!("CS node {node} gone after its acceptance"))
                    })?;
                if now.source.version == cs.source.version {
                    // Not official yet as CS lists it: never made official twice.
                    return Err(Error::State(format!(
                        "CS node {node}: accepted, but its official version is still {}",
                        ver(&cs.source)
                    )));
                }
                Box::pin(self.content(rec, &now, db, ctx)).await
            }
            Outcome::Rejected(why) => {
                if let Some(review) = p.review {
                    self.remove_review(review, &rec).await?;
                }
                let copy = self.keep_aside(db).await?;
                self.send_out(&mut rec, cs, db, h_cs, ctx.run).await?;
                let detail = format!(
                    "the Dropbox edit (rev {}) was not accepted in CS ({why}): kept as {copy}; CS version {} put back in {}",
                    p.rev,
                    ver(&cs.source),
                    full(db)
                );
                ctx.entry(self, &rec, SyncAction::Rejected, detail).await
            }
        }
    }

    /// Makes the pending edit of `node` official: its minor version promoted, or the review
    /// document's content added as a new major version.
    pub(super) async fn make_official(
        &self,
        node: i64,
        rec: &DocRecord,
        p: &PendingEdit,
        why: &str,
    ) -> Result<()> {
        let what = rec.path.clone().unwrap_or_default();
        let description = format!("Dropbox edit (rev {}) accepted: {why}", p.rev);
        self.failpoint(Failpoint::BeforeWrite)?;
        let Some(review) = p.review else {
            self.cs
                .documents()
                .promote(node, p.version)
                .description(description)
                .send()
                .await
                .map_err(|e| Error::cs(what, Step::Write, e))?;
            return self.failpoint(Failpoint::AfterWrite);
        };
        self.add_major_from(node, review, p.version, description, &what)
            .await?;
        self.failpoint(Failpoint::AfterWrite)
    }

    /// Adds version `version` of node `from` to `node` as a new major version (the bytes
    /// streamed, re-read on a retry).
    pub(super) async fn add_major_from(
        &self,
        node: i64,
        from: i64,
        version: i64,
        description: String,
        what: &str,
    ) -> Result<()> {
        let docs = self.cs.documents();
        let v = docs
            .version(from, version)
            .await
            .map_err(|e| Error::cs(what, Step::Read, e))?;
        let size = v.file_size.unwrap_or(0).max(0) as u64;
        let client = self.cs.clone();
        let body = contentserver_client::UploadBody::reopenable(size, move || {
            let client = client.clone();
            async move {
                use futures::TryStreamExt;
                let d = client
                    .documents()
                    .download(from)
                    .version(version)
                    .send()
                    .await
                    .map_err(std::io::Error::other)?;
                Ok(d.into_stream().map_err(std::io::Error::other))
            }
        });
        let mut add = docs
            .add_version(node, body)
            .major(true)
            .description(description);
        if let Some(name) = v.file_name {
            add = add.file_name(name);
        }
        add.send()
            .await
            .map_err(|e| Error::cs(what, Step::Write, e))?;
        Ok(())
    }
}
