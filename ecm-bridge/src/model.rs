//! The document model: identity, path, size, hash, times, source context, typed metadata,
//! governance intent, and the bytes as a stream opened only when a sink needs them.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::FutureExt;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A stream of a document's bytes. I/O errors are the common currency of both clients'
/// upload bodies.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// The system a document lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    /// Dropbox: ids are `id:…`, versions are `rev`s.
    Dropbox,
    /// Content Server: ids are node ids, versions are version numbers.
    ContentServer,
}

impl System {
    /// The short prefix used in keys and markers: `dropbox`, `cs`.
    pub fn prefix(self) -> &'static str {
        match self {
            System::Dropbox => "dropbox",
            System::ContentServer => "cs",
        }
    }

    /// Parses [`System::prefix`].
    pub fn from_prefix(s: &str) -> Option<System> {
        match s {
            "dropbox" => Some(System::Dropbox),
            "cs" => Some(System::ContentServer),
            _ => None,
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// The identity of one document, and optionally one version of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocRef {
    /// Where the document lives.
    pub system: System,
    /// Its stable id: a Dropbox file id (`id:…`, kept across moves) or a CS node id.
    pub id: String,
    /// The version: a Dropbox `rev`, a CS version number.
    pub version: Option<String>,
}

impl DocRef {
    /// A Dropbox file at a rev.
    pub fn dropbox(id: impl Into<String>, rev: impl Into<String>) -> Self {
        DocRef {
            system: System::Dropbox,
            id: id.into(),
            version: Some(rev.into()),
        }
    }

    /// A Content Server node at a version number.
    pub fn cs(node: i64, version: i64) -> Self {
        DocRef {
            system: System::ContentServer,
            id: node.to_string(),
            version: Some(version.to_string()),
        }
    }

    /// The same document without a version.
    pub fn unversioned(&self) -> DocRef {
        DocRef {
            version: None,
            ..self.clone()
        }
    }

    /// `{system}:{id}`: the key of the document whatever its version.
    pub fn key(&self) -> String {
        format!("{}:{}", self.system, self.id)
    }

    /// `{system}:{id}@{version}`: the marker a target carries so that a write can be found
    /// again ([`crate::sink::Sink::find_existing`]).
    pub fn marker(&self) -> String {
        match &self.version {
            Some(v) => format!("{}:{}@{}", self.system, self.id, v),
            None => self.key(),
        }
    }

    /// Parses [`DocRef::marker`] (or [`DocRef::key`]).
    pub fn parse_marker(s: &str) -> Option<DocRef> {
        let (system, rest) = s.split_once(':')?;
        let system = System::from_prefix(system)?;
        let (id, version) = match rest.rsplit_once('@') {
            Some((id, v)) => (id, Some(v.to_owned())),
            None => (rest, None),
        };
        if id.is_empty() {
            return None;
        }
        Some(DocRef {
            system,
            id: id.to_owned(),
            version,
        })
    }

    /// The CS node id, when this is a Content Server reference.
    pub fn node_id(&self) -> Option<i64> {
        match self.system {
            System::ContentServer => self.id.parse().ok(),
            System::Dropbox => None,
        }
    }
}

impl fmt::Display for DocRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.marker())
    }
}

/// The kind of a content hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HashKind {
    /// Dropbox's `content_hash` (SHA-256 of the SHA-256s of 4 MiB blocks), hex.
    DropboxContentHash,
    /// SHA-256 of the bytes, hex.
    Sha256,
}

/// A content hash of a known kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContentHash {
    /// How it was computed.
    pub kind: HashKind,
    /// Lower-case hex.
    pub value: String,
}

impl ContentHash {
    /// A Dropbox `content_hash`.
    pub fn dropbox(value: impl Into<String>) -> Self {
        ContentHash {
            kind: HashKind::DropboxContentHash,
            value: value.into(),
        }
    }

    /// A SHA-256.
    pub fn sha256(value: impl Into<String>) -> Self {
        ContentHash {
            kind: HashKind::Sha256,
            value: value.into(),
        }
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            HashKind::DropboxContentHash => "dropbox",
            HashKind::Sha256 => "sha256",
        };
        write!(f, "{kind}:{}", self.value)
    }
}

/// A typed metadata value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// Text.
    Text(String),
    /// An integer.
    Integer(i64),
    /// A calendar date.
    Date(NaiveDate),
    /// A boolean.
    Bool(bool),
    /// A user, by login name (resolved to an id by the sink).
    User(String),
    /// Several values (multi-value attributes, keywords).
    List(Vec<Value>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) | Value::User(s) => f.write_str(s),
            Value::Integer(n) => write!(f, "{n}"),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::Bool(b) => write!(f, "{b}"),
            Value::List(items) => {
                let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Integer(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<NaiveDate> for Value {
    fn from(d: NaiveDate) -> Self {
        Value::Date(d)
    }
}

/// Where the source saw the document: account or team, tags, property values, its full path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceContext {
    /// The account the source reads as (e-mail or CS user name).
    pub account: Option<String>,
    /// The team or namespace, when the source reads a team space.
    pub team: Option<String>,
    /// Tags (Dropbox tags, lower-case).
    pub tags: Vec<String>,
    /// Property values, keyed `Template.field` (Dropbox file properties).
    pub properties: BTreeMap<String, String>,
    /// The full path in the source system, with its display casing.
    pub full_path: Option<String>,
}

/// Where a document should land.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Location {
    /// A Content Server folder path (`Archive/Marketing/…`, created as needed) under `root`
    /// (a node id), or under the Enterprise Workspace when `root` is `None`.
    CsFolder {
        /// The node the path starts at.
        root: Option<i64>,
        /// `/`-separated folder names.
        path: String,
    },
    /// An existing Content Server container, by node id.
    CsNode(i64),
    /// A Dropbox folder path (`/Shared/Outside Counsel`).
    Dropbox(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::CsFolder { root: None, path } => write!(f, "Enterprise/{path}"),
            Location::CsFolder {
                root: Some(r),
                path,
            } => write!(f, "node {r}/{path}"),
            Location::CsNode(id) => write!(f, "node {id}"),
            Location::Dropbox(p) => write!(f, "dropbox:{p}"),
        }
    }
}

/// Access granted to one member (user or group, by name) at the target. Unknown fields are
/// refused: a misspelt key in a rules file's `[[rule.permissions]]` must not be dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The user or group name (`Outside Counsel`, `editor`).
    pub member: String,
    /// Permission names as Content Server spells them (`see`, `see_contents`, `modify`, …).
    pub permissions: Vec<String>,
}

/// A workflow to start on the written document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowStart {
    /// The workflow map: its name, or its node id as digits.
    pub map: String,
    /// Form values by key (`WorkflowForm_Title`, …).
    #[serde(default)]
    pub values: BTreeMap<String, Value>,
    /// A comment for the start.
    #[serde(default)]
    pub comment: Option<String>,
}

/// How a Dropbox target is shared (use case 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareSettings {
    /// Create a shared link to the file (with the settings below; unset ones take the
    /// account's defaults).
    #[serde(default)]
    pub link: bool,
    /// Who may open the link: `public`, `team` or `no_one`.
    #[serde(default)]
    pub audience: Option<String>,
    /// When the link stops working.
    #[serde(default)]
    pub expires: Option<DateTime<Utc>>,
    /// Whether the file can be downloaded through the link.
    #[serde(default)]
    pub allow_download: Option<bool>,
}

/// What should happen to the document at the target: where, with which categories, RM class,
/// hold, permissions and workflow. Sources leave it empty; transforms and rules fill it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Governance {
    /// The target container.
    pub target: Option<Location>,
    /// The name at the target (default: the source name).
    pub name: Option<String>,
    /// Category values: category name → attribute name → value.
    pub categories: BTreeMap<String, BTreeMap<String, Value>>,
    /// The records-management classification, by name (`MKT-01 Marketing Records`).
    pub rm_class: Option<String>,
    /// A hold, by name.
    pub hold: Option<String>,
    /// Permission grants.
    pub permissions: Vec<Grant>,
    /// A workflow to start after the write.
    pub workflow: Option<WorkflowStart>,
    /// Sharing, for Dropbox targets.
    pub share: Option<ShareSettings>,
}

type Opener = Arc<dyn Fn() -> BoxFuture<'static, Result<ByteStream>> + Send + Sync>;

/// The bytes of a document: an opener called only when a sink needs them, and again for each
/// retry (each call starts from the first byte).
#[derive(Clone)]
pub struct Body {
    open: Opener,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Body")
    }
}

impl Body {
    /// A body opened by `open`.
    pub fn new<F>(open: F) -> Self
    where
        F: Fn() -> BoxFuture<'static, Result<ByteStream>> + Send + Sync + 'static,
    {
        Body {
            open: Arc::new(open),
        }
    }

    /// A body from bytes in memory (tests, small generated content).
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes: Bytes = bytes.into();
        Body::new(move || {
            let b = bytes.clone();
            async move {
                let s: ByteStream = Box::pin(futures::stream::iter([Ok::<_, io::Error>(b)]));
                Ok(s)
            }
            .boxed()
        })
    }

    /// Opens the bytes from the first one.
    pub fn open(&self) -> BoxFuture<'static, Result<ByteStream>> {
        (self.open)()
    }

    /// A body whose every opening goes through `wrap` (e.g. to count or hash the bytes).
    pub fn map_stream<F>(&self, wrap: F) -> Body
    where
        F: Fn(ByteStream) -> ByteStream + Send + Sync + 'static,
    {
        let inner = self.clone();
        let wrap = Arc::new(wrap);
        Body::new(move || {
            let open = inner.open();
            let wrap = wrap.clone();
            async move { Ok(wrap(open.await?)) }.boxed()
        })
    }
}

/// One document on its way through a flow.
#[derive(Debug, Clone)]
pub struct Document {
    /// Its identity at the source (id and version).
    pub source: DocRef,
    /// The path relative to the source root, `/`-separated, without a leading slash
    /// (`Marketing/Campaign 2026/Approved/Press Release.pdf`).
    pub path: String,
    /// The file name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// The content hash the source announces, where known.
    pub hash: Option<ContentHash>,
    /// The MIME type, where known.
    pub mime_type: Option<String>,
    /// When the content was created, where known.
    pub created: Option<DateTime<Utc>>,
    /// When the content was last modified.
    pub modified: Option<DateTime<Utc>>,
    /// Where the source saw it.
    pub context: SourceContext,
    /// Metadata: name → typed value (rules and enrichers fill it).
    pub metadata: BTreeMap<String, Value>,
    /// What should happen at the target.
    pub governance: Governance,
    /// The bytes, opened on demand.
    pub body: Body,
}

/// A [`Document`] without its bytes: what the runner keeps in a document's record once the
/// transforms have decided (its metadata and governance), so that a resumed document runs no
/// transform again. [`Document::meta`] / [`DocumentMeta::with_body`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentMeta {
    /// [`Document::source`].
    pub source: DocRef,
    /// [`Document::path`].
    pub path: String,
    /// [`Document::name`].
    pub name: String,
    /// [`Document::size`].
    pub size: u64,
    /// [`Document::hash`].
    pub hash: Option<ContentHash>,
    /// [`Document::mime_type`].
    pub mime_type: Option<String>,
    /// [`Document::created`].
    pub created: Option<DateTime<Utc>>,
    /// [`Document::modified`].
    pub modified: Option<DateTime<Utc>>,
    /// [`Document::context`].
    pub context: SourceContext,
    /// [`Document::metadata`].
    pub metadata: BTreeMap<String, Value>,
    /// [`Document::governance`].
    pub governance: Governance,
}

impl DocumentMeta {
    /// The document again, reading its bytes from `body`.
    pub fn with_body(self, body: Body) -> Document {
        Document {
            source: self.source,
            path: self.path,
            name: self.name,
            size: self.size,
            hash: self.hash,
            mime_type: self.mime_type,
            created: self.created,
            modified: self.modified,
            context: self.context,
            metadata: self.metadata,
            governance: self.governance,
            body,
        }
    }
}

impl Document {
    /// A document with identity, path, size and body; everything else empty.
    pub fn new(source: DocRef, path: impl Into<String>, size: u64, body: Body) -> Self {
        let path: String = path.into();
        let path = path.trim_start_matches('/').to_owned();
        let name = path.rsplit('/').next().unwrap_or_default().to_owned();
        Document {
            source,
            path,
            name,
            size,
            hash: None,
            mime_type: None,
            created: None,
            modified: None,
            context: SourceContext::default(),
            metadata: BTreeMap::new(),
            governance: Governance::default(),
            body,
        }
    }

    /// Everything but the bytes.
    pub fn meta(&self) -> DocumentMeta {
        DocumentMeta {
            source: self.source.clone(),
            path: self.path.clone(),
            name: self.name.clone(),
            size: self.size,
            hash: self.hash.clone(),
            mime_type: self.mime_type.clone(),
            created: self.created,
            modified: self.modified,
            context: self.context.clone(),
            metadata: self.metadata.clone(),
            governance: self.governance.clone(),
        }
    }

    /// The folder part of [`Document::path`] (`""` at the root).
    pub fn folder(&self) -> &str {
        match self.path.rsplit_once('/') {
            Some((folder, _)) => folder,
            None => "",
        }
    }

    /// The lower-case extension of the name, without the dot.
    pub fn extension(&self) -> Option<String> {
        self.name
            .rsplit_once('.')
            .filter(|(stem, _)| !stem.is_empty())
            .map(|(_, ext)| ext.to_ascii_lowercase())
    }

    /// The name at the target: the governance name, else the source name.
    pub fn target_name(&self) -> &str {
        self.governance.name.as_deref().unwrap_or(&self.name)
    }

    /// A MIME type guessed from the extension when the source gave none.
    pub fn mime_type_or_guess(&self) -> String {
        if let Some(m) = &self.mime_type {
            return m.clone();
        }
        let ext = self.extension().unwrap_or_default();
        match ext.as_str() {
            "pdf" => "application/pdf",
            "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "doc" => "application/msword",
            "xls" => "application/vnd.ms-excel",
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "txt" => "text/plain",
            "csv" => "text/csv",
            "zip" => "application/zip",
            _ => "application/octet-stream",
        }
        .to_owned()
    }
}

/// A position in a source's change feed, valid once everything before it is finished
/// (a Dropbox cursor, a CS modify-date watermark).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let r = DocRef::dropbox("id:abc", "015f");
        assert_eq!(r.marker(), "dropbox:id:abc@015f");
        assert_eq!(r.key(), "dropbox:id:abc");
        assert_eq!(DocRef::parse_marker(&r.marker()), Some(r.clone()));
        assert_eq!(
            DocRef::parse_marker("dropbox:id:abc"),
            Some(r.unversioned())
        );
        let cs = DocRef::cs(41, 2);
        assert_eq!(cs.marker(), "cs:41@2");
        assert_eq!(DocRef::parse_marker("cs:41@2").unwrap().node_id(), Some(41));
        assert_eq!(DocRef::parse_marker("ftp:x"), None);
        assert_eq!(DocRef::parse_marker("cs:"), None);
    }

    #[test]
    fn paths_and_names() {
        let d = Document::new(
            DocRef::dropbox("id:1", "1"),
            "/Marketing/Approved/Press Release.PDF",
            3,
            Body::from_bytes("abc"),
        );
        assert_eq!(d.path, "Marketing/Approved/Press Release.PDF");
        assert_eq!(d.name, "Press Release.PDF");
        assert_eq!(d.folder(), "Marketing/Approved");
        assert_eq!(d.extension().as_deref(), Some("pdf"));
        assert_eq!(d.mime_type_or_guess(), "application/pdf");
        let top = Document::new(
            DocRef::dropbox("id:2", "1"),
            ".profile",
            0,
            Body::from_bytes(""),
        );
        assert_eq!(top.folder(), "");
        assert_eq!(top.extension(), None);
    }

    #[test]
    fn values_display() {
        let v = Value::List(vec!["a".into(), Value::Integer(2), Value::Bool(true)]);
        assert_eq!(v.to_string(), "[a, 2, true]");
        let d = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        assert_eq!(Value::Date(d).to_string(), "2026-01-15");
    }
}
