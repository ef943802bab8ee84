//! Transforms: decide about one document (pass, change, skip with a reason, route), and the
//! combinators that chain, filter, branch and map them.
//!
//! A [`Transform`] is synchronous; an [`AsyncTransform`] may call a service (an enricher).
//! Every `Transform` is also an `AsyncTransform`, and a closure
//! `Fn(Document) -> Result<Outcome>` is a `Transform`.
//!
//! ```
//! use ecm_bridge::transform::{chain, filter, map, Outcome, Transform};
//! use ecm_bridge::model::{Body, DocRef, Document, Value};
//!
//! let t = chain(vec![
//!     Box::new(filter(|d: &Document| d.extension().as_deref() == Some("pdf"), "not a PDF")),
//!     Box::new(map(|mut d: Document| {
//!         d.metadata.insert("Document Type".into(), Value::from("Report"));
//!         d
//!     })),
//! ]);
//! let doc = Document::new(DocRef::dropbox("id:1", "1"), "a/b.pdf", 3, Body::from_bytes("abc"));
//! match t.apply(doc).unwrap() {
//!     Outcome::Pass(d) => assert_eq!(d.metadata["Document Type"], Value::from("Report")),
//!     _ => unreachable!(),
//! }
//! ```

use async_trait::async_trait;

use crate::error::Result;
use crate::model::Document;

/// What a transform decided.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Go on with this (possibly changed) document.
    Pass(Document),
    /// Do not write it; the reason goes into the report and the audit trail.
    Skip {
        /// Why.
        reason: String,
    },
    /// Hold it back (a malware or policy check): the runner settles it `quarantined` with the
    /// reason, reports it, and does not retry it; a later version is decided again.
    Quarantine {
        /// Why.
        reason: String,
    },
    /// Write it through the sink registered under `to`.
    Route {
        /// The route's name.
        to: String,
        /// The document.
        doc: Document,
    },
}

impl Outcome {
    /// A quarantine with a reason.
    pub fn quarantine(reason: impl Into<String>) -> Self {
        Outcome::Quarantine {
            reason: reason.into(),
        }
    }

    /// A skip with a reason.
    pub fn skip(reason: impl Into<String>) -> Self {
        Outcome::Skip {
            reason: reason.into(),
        }
    }
}

/// A synchronous decision about one document.
pub trait Transform: Send + Sync {
    /// Decides about `doc`.
    fn apply(&self, doc: Document) -> Result<Outcome>;
}

impl<F> Transform for F
where
    F: Fn(Document) -> Result<Outcome> + Send + Sync,
{
    fn apply(&self, doc: Document) -> Result<Outcome> {
        self(doc)
    }
}

/// A decision that may call a service (an enricher).
#[async_trait]
pub trait AsyncTransform: Send + Sync {
    /// Decides about `doc`.
    async fn apply(&self, doc: Document) -> Result<Outcome>;
}

/// Runs a [`Transform`] as an [`AsyncTransform`].
#[derive(Debug)]
pub struct Blocking<T>(pub T);

#[async_trait]
impl<T: Transform> AsyncTransform for Blocking<T> {
    async fn apply(&self, doc: Document) -> Result<Outcome> {
        self.0.apply(doc)
    }
}

/// Applies transforms in order; a skip or a route ends the chain.
pub struct Chain {
    steps: Vec<Box<dyn Transform>>,
}

impl Transform for Chain {
    fn apply(&self, doc: Document) -> Result<Outcome> {
        let mut doc = doc;
        for step in &self.steps {
            match step.apply(doc)? {
                Outcome::Pass(d) => doc = d,
                other => return Ok(other),
            }
        }
        Ok(Outcome::Pass(doc))
    }
}

/// Applies `steps` in order; a skip or a route ends the chain.
pub fn chain(steps: Vec<Box<dyn Transform>>) -> Chain {
    Chain { steps }
}

/// Passes documents that `pred` accepts; skips the others with `reason`.
pub struct Filter<P> {
    pred: P,
    reason: String,
}

impl<P> Transform for Filter<P>
where
    P: Fn(&Document) -> bool + Send + Sync,
{
    fn apply(&self, doc: Document) -> Result<Outcome> {
        if (self.pred)(&doc) {
            Ok(Outcome::Pass(doc))
        } else {
            Ok(Outcome::skip(self.reason.clone()))
        }
    }
}

/// Passes documents that `pred` accepts; skips the others with `reason`.
pub fn filter<P>(pred: P, reason: impl Into<String>) -> Filter<P>
where
    P: Fn(&Document) -> bool + Send + Sync,
{
    Filter {
        pred,
        reason: reason.into(),
    }
}

/// Changes every document with `f`.
pub struct Map<F>(F);

impl<F> Transform for Map<F>
where
    F: Fn(Document) -> Document + Send + Sync,
{
    fn apply(&self, doc: Document) -> Result<Outcome> {
        Ok(Outcome::Pass((self.0)(doc)))
    }
}

/// Changes every document with `f`.
pub fn map<F>(f: F) -> Map<F>
where
    F: Fn(Document) -> Document + Send + Sync,
{
    Map(f)
}

/// Sends a document through `then` when `pred` accepts it, else through `otherwise`.
pub struct Branch<P> {
    pred: P,
    then: Box<dyn Transform>,
    otherwise: Box<dyn Transform>,
}

impl<P> Transform for Branch<P>
where
    P: Fn(&Document) -> bool + Send + Sync,
{
    fn apply(&self, doc: Document) -> Result<Outcome> {
        if (self.pred)(&doc) {
            self.then.apply(doc)
        } else {
            self.otherwise.apply(doc)
        }
    }
}

/// Sends a document through `then` when `pred` accepts it, else through `otherwise`.
pub fn branch<P>(pred: P, then: Box<dyn Transform>, otherwise: Box<dyn Transform>) -> Branch<P>
where
    P: Fn(&Document) -> bool + Send + Sync,
{
    Branch {
        pred,
        then,
        otherwise,
    }
}

/// Routes documents that `pred` accepts to the sink named `to`; passes the others.
pub fn route<P>(pred: P, to: impl Into<String>) -> impl Transform
where
    P: Fn(&Document) -> bool + Send + Sync,
{
    let to = to.into();
    move |doc: Document| {
        if pred(&doc) {
            Ok(Outcome::Route {
                to: to.clone(),
                doc,
            })
        } else {
            Ok(Outcome::Pass(doc))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Body, DocRef};

    fn doc(path: &str) -> Document {
        Document::new(DocRef::dropbox("id:1", "1"), path, 1, Body::from_bytes("x"))
    }

    fn pass() -> Box<dyn Transform> {
        Box::new(map(|d| d))
    }

    #[test]
    fn chain_stops_at_skip_and_route() {
        let t = chain(vec![
            Box::new(filter(
                |d: &Document| d.path.starts_with("a/"),
                "outside a/",
            )),
            Box::new(route(|d: &Document| d.name.ends_with(".x"), "xs")),
            Box::new(map(|mut d: Document| {
                d.name = "changed".into();
                d
            })),
        ]);
        match t.apply(doc("b/c.pdf")).unwrap() {
            Outcome::Skip { reason } => assert_eq!(reason, "outside a/"),
            other => panic!("{other:?}"),
        }
        match t.apply(doc("a/c.x")).unwrap() {
            Outcome::Route { to, doc } => {
                assert_eq!(to, "xs");
                assert_eq!(doc.name, "c.x");
            }
            other => panic!("{other:?}"),
        }
        match t.apply(doc("a/c.pdf")).unwrap() {
            Outcome::Pass(d) => assert_eq!(d.name, "changed"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn branch_picks_a_side() {
        let t = branch(
            |d: &Document| d.size > 0,
            pass(),
            Box::new(|_d: Document| Ok(Outcome::skip("empty"))),
        );
        assert!(matches!(t.apply(doc("a")).unwrap(), Outcome::Pass(_)));
        let mut empty = doc("a");
        empty.size = 0;
        assert!(matches!(t.apply(empty).unwrap(), Outcome::Skip { .. }));
    }

    #[tokio::test]
    async fn blocking_is_async() {
        let t = Blocking(filter(|_: &Document| false, "never"));
        assert!(matches!(
            AsyncTransform::apply(&t, doc("a")).await.unwrap(),
            Outcome::Skip { .. }
        ));
    }
}
