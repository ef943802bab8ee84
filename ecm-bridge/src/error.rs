//! The one error type of the crate: the clients' errors with context (which document, which
//! step), state-store, verification, configuration and rule errors, and the retry decision.

use std::fmt;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The step of a flow in which an error happened, so a report says more than "HTTP 503".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Listing changes or reading metadata at the source.
    List,
    /// Reading a document's bytes from the source.
    Read,
    /// Resolving or creating the target location.
    Locate,
    /// Writing the bytes (a new document or a new version).
    Write,
    /// Looking for a write that happened but was not recorded.
    Adopt,
    /// Applying categories.
    Categories,
    /// Applying the records-management classification.
    Classify,
    /// Applying a hold.
    Hold,
    /// Applying permissions.
    Permissions,
    /// Starting a workflow.
    Workflow,
    /// Sharing at a Dropbox target.
    Share,
    /// Marking the source after the write (tag, property, move).
    Mark,
    /// Reading back what was written.
    ReadBack,
    /// Removing (deleting, or revoking access to) a target whose source is gone.
    Remove,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::List => "list",
            Step::Read => "read",
            Step::Locate => "locate target",
            Step::Write => "write",
            Step::Adopt => "adopt",
            Step::Categories => "categories",
            Step::Classify => "RM classification",
            Step::Hold => "hold",
            Step::Permissions => "permissions",
            Step::Workflow => "workflow",
            Step::Share => "share",
            Step::Mark => "mark source",
            Step::ReadBack => "read back",
            Step::Remove => "remove",
        })
    }
}

/// Everything that can go wrong in a flow. Client errors keep their source (and so their
/// retry decision); the text never contains a secret because the clients' errors never do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Dropbox call failed.
    #[error("{doc}: {step}: Dropbox: {source}")]
    Dropbox {
        /// The document (path or id) the call was for, or the flow's name.
        doc: String,
        /// What the flow was doing.
        step: Step,
        /// The client's error.
        #[source]
        source: Box<dropbox_client::Error>,
    },
    /// A Content Server call failed.
    #[error("{doc}: {step}: Content Server: {source}")]
    ContentServer {
        /// The document (path or id) the call was for, or the flow's name.
        doc: String,
        /// What the flow was doing.
        step: Step,
        /// The client's error.
        #[source]
        source: Box<contentserver_client::Error>,
    },
    /// The bytes that reached the target do not hash (or count) to what the source says.
    #[error("{doc}: verification failed: expected {expected}, got {actual}")]
    Verify {
        /// The document.
        doc: String,
        /// What the source announced.
        expected: String,
        /// What was sent or read back.
        actual: String,
    },
    /// The document cannot be written as its governance asks (an unknown category, attribute,
    /// RM class, member or hold; a name taken by a document of another origin).
    #[error("{doc}: {step}: {message}")]
    Governance {
        /// The document.
        doc: String,
        /// The step.
        step: Step,
        /// What is wrong.
        message: String,
    },
    /// The target holds a change of its own that this write would overwrite (edited at the
    /// target since the last sync, a name taken by an unrelated document the flow must not
    /// replace). The runner settles the document `conflict`: recorded, reported, not retried.
    #[error("{doc}: {step}: conflict at the target: {message}")]
    Conflict {
        /// The document.
        doc: String,
        /// The step.
        step: Step,
        /// What conflicts.
        message: String,
    },
    /// The state store failed.
    #[error("state store: {0}")]
    State(String),
    /// A rule could not be compiled or applied.
    #[error("rules: {0}")]
    Rules(String),
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// A byte stream failed with an I/O error.
    #[error("{doc}: {step}: {source}")]
    Io {
        /// The document.
        doc: String,
        /// The step.
        step: Step,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A guard refused the run before it changed anything (e.g. `version_sync`'s
    /// mass-deletion guard); the message says why and how to force it.
    #[error("refused: {0}")]
    Refused(String),
    /// The run was stopped on purpose at a failpoint (crash-safety tests).
    #[error("run stopped at failpoint {0}")]
    Stopped(String),
}

impl Error {
    /// Wraps a Dropbox error with its document and step.
    pub fn dropbox(doc: impl Into<String>, step: Step, source: dropbox_client::Error) -> Self {
        Error::Dropbox {
            doc: doc.into(),
            step,
            source: Box::new(source),
        }
    }

    /// Wraps a Content Server error with its document and step.
    pub fn cs(doc: impl Into<String>, step: Step, source: contentserver_client::Error) -> Self {
        Error::ContentServer {
            doc: doc.into(),
            step,
            source: Box::new(source),
        }
    }

    /// A governance error (not retryable: the configuration or the target must change).
    pub fn governance(doc: impl Into<String>, step: Step, message: impl Into<String>) -> Self {
        Error::Governance {
            doc: doc.into(),
            step,
            message: message.into(),
        }
    }

    /// A conflict at the target ([`Error::Conflict`]): settled, not retried.
    pub fn conflict(doc: impl Into<String>, step: Step, message: impl Into<String>) -> Self {
        Error::Conflict {
            doc: doc.into(),
            step,
            message: message.into(),
        }
    }

    /// Whether the same document may succeed when tried again.
    ///
    /// Delegates to the clients' `is_retryable`, with one widening: a call that failed
    /// [in doubt](contentserver_client::Error::is_in_doubt) (a write cut by a reset, or answered
    /// by a proxy's 502) is retryable here, because the runner retries a document only through
    /// [`Sink::find_existing`](crate::sink::Sink::find_existing) first, so a write that did
    /// reach the server is adopted, not repeated. Verification failures are retryable (a fresh
    /// transfer may succeed); governance, rule, configuration and state errors are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Dropbox { source, .. } => source.is_retryable() || source.is_in_doubt(),
            Error::ContentServer { source, .. } => {
                source.is_retryable()
                    || source.is_in_doubt()
                    || matches!(**source, contentserver_client::Error::NotRetried { .. })
            }
            Error::Verify { .. } | Error::Io { .. } => true,
            Error::Governance { .. }
            | Error::Conflict { .. }
            | Error::State(_)
            | Error::Rules(_)
            | Error::Config(_)
            | Error::Refused(_)
            | Error::Stopped(_) => false,
        }
    }

    /// The server's wait hint, when the error carries one.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Dropbox { source, .. } => source.retry_after(),
            Error::ContentServer { source, .. } => source.retry_after(),
            _ => None,
        }
    }

    /// The error and all its sources, joined with `: ` (for reports and logs).
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut cur = std::error::Error::source(self);
        while let Some(e) = cur {
            let text = e.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            cur = e.source();
        }
        out
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::State(e.to_string())
    }
}
