//! Re-classification after a rule change (opt-in): the documents filed before get the
//! category values and RM class that the rules give them now, applied to the document that
//! is there ([`crate::sink::Sink::complete`]: categories updated in place, the RM class
//! applied), so no new version is made.
//!
//! The fingerprint of the rules last applied is kept as the flow's partition checkpoint
//! [`RULES_PARTITION`]; the pass runs when it differs from the current one, and records the
//! current one only once every document is done, so a pass stopped half-way runs again
//! (applying values twice changes nothing).

use serde::Serialize;

use super::classify::Verdict;
use super::ClassifyFlow;
use crate::error::Result;
use crate::model::{DocRef, Value};
use crate::sink::{Receipt, WriteAction, WriteContext};
use crate::source::Source;
use crate::state::{CasOutcome, DocStatus};

use std::collections::BTreeMap;

/// The partition checkpoint that holds the fingerprint of the rules last applied to the
/// filed documents.
pub const RULES_PARTITION: &str = "rules";

/// One filed document whose governance was applied again.
#[derive(Debug, Clone, Serialize)]
pub struct Reclassified {
    /// Its Dropbox path.
    pub path: String,
    /// The CS document (the version is the one filed; no new one is made).
    pub target: DocRef,
    /// The rule that classifies it now.
    pub rule: String,
    /// The category values applied.
    pub categories: BTreeMap<String, BTreeMap<String, Value>>,
    /// The RM class applied.
    pub rm_class: Option<String>,
    /// Where the rules would file it now, when that is not where it is (it is not moved).
    pub target_now: Option<String>,
}

impl ClassifyFlow {
    /// Applies the current rules' governance to every filed document, when the rules changed
    /// since the last pass (else does nothing). A document the rules no longer classify, or
    /// whose Dropbox file changed since it was filed (the next run files the new version), is
    /// left as it is.
    pub async fn reclassify(&self) -> Result<Vec<Reclassified>> {
        let flow = self.flow.name().to_owned();
        let fp = self.classifier.fingerprint.clone();
        let stored = self
            .documents
            .partition_checkpoint(&flow, RULES_PARTITION)
            .await?;
        if stored.as_ref().is_some_and(|s| s.checkpoint.0 == fp) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for rec in self
            .documents
            .records_by_status(&flow, DocStatus::Done)
            .await?
        {
            let Some(target) = rec.target.clone() else {
                continue;
            };
            let Some(doc) = self.source.fetch(&rec.source.unversioned()).await? else {
                continue;
            };
            if doc.source != rec.source {
                continue;
            }
            let path = doc.path.clone();
            let Verdict::Route { rule, doc, .. } = self.classifier.verdict(doc)? else {
                tracing::info!(flow = %flow, doc = %path, "no longer classified by the rules; left where it is filed");
                continue;
            };
            let receipt = Receipt {
                target: target.clone(),
                bytes: doc.size,
                sent_hashes: Vec::new(),
                action: WriteAction::Adopted,
                location: rec.location.clone().unwrap_or_default(),
            };
            let ctx = WriteContext {
                flow: flow.clone(),
                previous: Some(target.clone()),
                attempt: 1,
                in_doubt: false,
            };
            self.filing.complete(&doc, &receipt, &ctx).await?;
            let now = self.filing.describe(&doc);
            let filed = rec.location.clone().unwrap_or_default();
            tracing::info!(flow = %flow, doc = %path, target = %target, "re-classified");
            out.push(Reclassified {
                path,
                target,
                rule,
                categories: doc.governance.categories.clone(),
                rm_class: doc.governance.rm_class.clone(),
                target_now: (now != filed).then_some(now),
            });
        }
        let expected = stored.map(|s| s.version);
        match self
            .documents
            .swap_checkpoint(
                &flow,
                RULES_PARTITION,
                expected,
                &crate::model::Checkpoint(fp),
            )
            .await?
        {
            CasOutcome::Stored(_) => {}
            other => {
                tracing::warn!(flow = %flow, ?other, "rules fingerprint not recorded (another worker recorded one)")
            }
        }
        Ok(out)
    }
}
