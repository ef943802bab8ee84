//! The workflow: started once after the record (the runner's deferred step), and found at the
//! target when a run stopped while it was under way.

use contentserver_client::api::processes::StatusKind;
use serde_json::json;

use super::sink::CsSink;
use crate::error::{Error, Result, Step};
use crate::model::{Document, Value};

impl CsSink {
    /// Starts the workflow of `doc`'s governance with `node` attached.
    pub(super) async fn start_workflow(&self, doc: &Document, node: i64) -> Result<()> {
        let Some(w) = &doc.governance.workflow else {
            return Ok(());
        };
        let map = self.workflow_map(doc, &w.map, node).await?;
        let mut start = self.client.workflows().start(map).attach([node]);
        for (k, v) in &w.values {
            start = start.value(k.clone(), self.form_value(doc, v).await?);
        }
        if let Some(c) = &w.comment {
            start = start.comment(c.clone());
        }
        let started = start
            .send()
            .await
            .map_err(|e| Error::cs(&doc.path, Step::Workflow, e))?;
        tracing::info!(doc = %doc.path, node, map, process = ?started.process_id, "workflow started");
        Ok(())
    }

    /// Whether a process initiated by this user, of map `map` when the listing names maps, has
    /// `node` attached (a shortcut to it in the process's attachment folder).
    pub(super) async fn workflow_attached(
        &self,
        doc: &Document,
        node: i64,
        map: &str,
    ) -> Result<bool> {
        let err = |e| Error::cs(&doc.path, Step::Workflow, e);
        let mut lookup = self
            .client
            .workflows()
            .attached_to(node)
            .kind(StatusKind::Initiated);
        if map.parse::<i64>().is_err() {
            lookup = lookup.map_name(map);
        }
        // The first match answers the question: no need to read every later process.
        if let Some(status) = lookup.first().await.map_err(err)? {
            tracing::info!(doc = %doc.path, node, process = ?status.process_id, "workflow found already started");
            return Ok(true);
        }
        Ok(false)
    }

    pub(super) async fn form_value(&self, doc: &Document, v: &Value) -> Result<serde_json::Value> {
        Ok(match v {
            Value::Text(s) => json!(s),
            Value::Integer(n) => json!(n),
            Value::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
            Value::Bool(b) => json!(b),
            Value::User(u) => json!(self.member(doc, Step::Workflow, u).await?),
            Value::List(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(Box::pin(self.form_value(doc, i)).await?);
                }
                json!(out)
            }
        })
    }
}
