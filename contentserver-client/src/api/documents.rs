//! Documents and versions: create with a streamed multipart file part, add versions, list
//! versions, latest version, and download content as a byte stream.

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, NaiveDateTime, Utc};
use futures::stream::{BoxStream, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::api::categories::CategoryValues;
use crate::api::nodes::{check_name, Node, TYPE_DOCUMENT};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::models::VersionNumber;
use crate::paging::{self, Page};
use crate::transport::{Call, FilePart, Streamed};
use crate::upload::UploadBody;

/// The longest version description Content Server keeps.
pub const MAX_VERSION_DESCRIPTION: usize = 255;

const DEFAULT_MIME: &str = "application/octet-stream";

fn external_date(date: &NaiveDateTime) -> String {
    date.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A document version.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Version {
    /// The document's node id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub id: Option<i64>,
    /// The version's own id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub version_id: Option<i64>,
    /// The version number (1, 2, ...).
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub version_number: Option<i64>,
    /// Major number under advanced versioning.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub version_number_major: Option<i64>,
    /// Minor number under advanced versioning.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub version_number_minor: Option<i64>,
    /// The displayed number, `"2"` or `"1.1"`.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub version_number_name: Option<String>,
    /// The file name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub file_name: Option<String>,
    /// The size in bytes.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub file_size: Option<i64>,
    /// The MIME type.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub mime_type: Option<String>,
    /// The description.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub description: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::de::opt_utc")]
    pub create_date: Option<DateTime<Utc>>,
    /// Whether the version is locked (cannot be deleted).
    #[serde(default, deserialize_with = "crate::de::lenient_bool")]
    pub locked: bool,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Version {
    /// The major/minor number: from `version_number_major`/`_minor`, else from
    /// `version_number_name` (`"1.1"`, `"2"`), else the sequence number as a major version.
    pub fn number(&self) -> Option<VersionNumber> {
        let part = |n: Option<i64>| n.and_then(|n| u32::try_from(n).ok());
        if let (Some(major), Some(minor)) = (
            part(self.version_number_major),
            part(self.version_number_minor),
        ) {
            return Some(VersionNumber::new(major, minor));
        }
        if let Some(parsed) = self
            .version_number_name
            .as_deref()
            .and_then(|n| n.parse().ok())
        {
            return Some(parsed);
        }
        part(self.version_number).map(|n| VersionNumber::new(n, 0))
    }
}

/// Downloaded content: size and type from the headers, and the body as a byte stream.
///
/// The stream fails (instead of ending quietly) when fewer bytes arrive than the
/// `Content-Length` announced, and when no byte arrives for the client's request timeout.
pub struct Download {
    /// `Content-Length`, when sent.
    pub size: Option<u64>,
    /// `Content-Type`, when sent.
    pub mime_type: Option<String>,
    /// The file name from `Content-Disposition`, when sent.
    pub file_name: Option<String>,
    body: BoxStream<'static, Result<Bytes>>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("size", &self.size)
            .field("mime_type", &self.mime_type)
            .field("file_name", &self.file_name)
            .finish_non_exhaustive()
    }
}

impl Download {
    pub(crate) fn from_streamed(streamed: Streamed) -> Self {
        let header = |name: reqwest::header::HeaderName| {
            streamed
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let size = header(reqwest::header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok());
        let mime_type = header(reqwest::header::CONTENT_TYPE);
        let file_name =
            header(reqwest::header::CONTENT_DISPOSITION).and_then(|v| disposition_file_name(&v));
        Download {
            size,
            mime_type,
            file_name,
            body: streamed.body,
        }
    }

    /// The body as a stream of chunks.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes>> {
        self.body
    }

    /// Reads the whole body into memory (for small files only).
    pub async fn bytes(self) -> Result<Bytes> {
        let mut buf = BytesMut::with_capacity(self.size.unwrap_or(0).min(64 << 20) as usize);
        let mut body = self.body;
        while let Some(chunk) = body.try_next().await? {
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

/// The file name of a `Content-Disposition` value: the RFC 8187 `filename*` (`UTF-8''a%20b`)
/// when present, else the plain (possibly quoted) `filename`.
fn disposition_file_name(value: &str) -> Option<String> {
    let mut plain = None;
    for param in value.split(';').map(str::trim) {
        let Some((key, raw)) = param.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let raw = raw.trim();
        if key == "filename*" {
            let mut parts = raw.splitn(3, '\'');
            let (Some(charset), Some(_lang), Some(encoded)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let bytes: Vec<u8> = percent_encoding::percent_decode_str(encoded).collect();
            let name = if charset.eq_ignore_ascii_case("utf-8") {
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                // ISO-8859-1, the only other charset RFC 8187 requires: bytes are code points.
                bytes.iter().map(|b| char::from(*b)).collect()
            };
            if !name.is_empty() {
                return Some(name);
            }
        } else if key == "filename" {
            let name = raw
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .map(|q| q.replace("\\\"", "\"").replace("\\\\", "\\"))
                .unwrap_or_else(|| raw.to_string());
            if !name.is_empty() {
                plain = Some(name);
            }
        }
    }
    plain
}

/// Document and version calls; see [`Client::documents`].
#[derive(Clone, Debug)]
pub struct Documents {
    pub(super) client: Client,
}

impl Documents {
    pub(crate) fn new(client: Client) -> Self {
        Documents { client }
    }

    /// `POST /api/v2/nodes` (multipart, type 144): creates a document from `body`, streamed.
    pub fn create(&self, parent: i64, name: impl Into<String>, body: UploadBody) -> CreateDocument {
        CreateDocument {
            client: self.client.clone(),
            parent,
            name: name.into(),
            body,
            file_name: None,
            mime_type: None,
            description: None,
            external_create_date: None,
            external_modify_date: None,
            categories: None,
            classifications: Vec::new(),
            advanced_versioning: false,
        }
    }

    /// `POST /api/v2/nodes/{id}/versions` (multipart): adds a version from `body`, streamed.
    pub fn add_version(&self, id: i64, body: UploadBody) -> AddVersion {
        AddVersion {
            client: self.client.clone(),
            id,
            body,
            file_name: None,
            mime_type: None,
            description: None,
            major: None,
            external_create_date: None,
            external_modify_date: None,
        }
    }

    /// `GET /api/v2/nodes/{id}/versions`, as pages or a stream.
    pub fn versions(&self, id: i64) -> ListVersions {
        ListVersions {
            client: self.client.clone(),
            id,
            page_size: 100,
        }
    }

    /// `GET /api/v1/nodes/{id}/versions/latest` (v1 only).
    pub async fn latest_version(&self, id: i64) -> Result<Version> {
        self.client
            .transport
            .json(Call::get(format!("api/v1/nodes/{id}/versions/latest")))
            .await?
            .v1_data()
    }

    /// `GET /api/v2/nodes/{id}/versions/{n}`.
    pub async fn version(&self, id: i64, number: i64) -> Result<Version> {
        self.client
            .transport
            .json(Call::get(format!("api/v2/nodes/{id}/versions/{number}")))
            .await?
            .v2_section("versions")
    }

    /// Downloads the content of the latest version (`GET /api/v1/nodes/{id}/content`), or of
    /// one version with [`DownloadContent::version`].
    pub fn download(&self, id: i64) -> DownloadContent {
        DownloadContent {
            client: self.client.clone(),
            id,
            version: None,
        }
    }
}

/// Builder of a document creation.
#[derive(Clone, Debug)]
pub struct CreateDocument {
    client: Client,
    parent: i64,
    name: String,
    body: UploadBody,
    file_name: Option<String>,
    mime_type: Option<String>,
    description: Option<String>,
    external_create_date: Option<NaiveDateTime>,
    external_modify_date: Option<NaiveDateTime>,
    categories: Option<CategoryValues>,
    classifications: Vec<i64>,
    advanced_versioning: bool,
}

impl CreateDocument {
    /// Creates the document with advanced (major/minor) versioning (`advanced_versioning`
    /// in the create `body`): later versions are minor unless added as major
    /// ([`AddVersion::major`]), and minor versions can be promoted
    /// ([`Documents::promote`]).
    pub fn advanced_versioning(mut self, yes: bool) -> Self {
        self.advanced_versioning = yes;
        self
    }

    /// The file name of the multipart part (default: the node name).
    pub fn file_name(mut self, file_name: impl Into<String>) -> Self {
        self.file_name = Some(file_name.into());
        self
    }

    /// The MIME type of the file (default `application/octet-stream`).
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The external creation date (kept by CS as given, without a zone).
    pub fn external_create_date(mut self, date: NaiveDateTime) -> Self {
        self.external_create_date = Some(date);
        self
    }

    /// The external modification date.
    pub fn external_modify_date(mut self, date: NaiveDateTime) -> Self {
        self.external_modify_date = Some(date);
        self
    }

    /// Categories and values applied in the same request (`roles.categories`, flat).
    pub fn categories(mut self, values: CategoryValues) -> Self {
        self.categories = Some(values);
        self
    }

    /// Classifications applied in the same request (`roles.classifications.id`).
    pub fn classifications(mut self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.classifications.extend(ids);
        self
    }

    /// Uploads the document and returns the new node.
    pub async fn send(self) -> Result<Node> {
        check_name(&self.name)?;
        let mut roles = Map::new();
        if let Some(values) = self.categories.as_ref().filter(|v| !v.is_empty()) {
            roles.insert("categories".into(), values.to_flat_json());
        }
        if !self.classifications.is_empty() {
            roles.insert(
                "classifications".into(),
                json!({"create_id": [], "id": self.classifications}),
            );
        }
        let mut body = json!({
            "type": TYPE_DOCUMENT,
            "parent_id": self.parent,
            "name": self.name,
            "roles": roles,
        });
        if let Some(d) = &self.description {
            body["description"] = json!(d);
        }
        if self.advanced_versioning {
            body["advanced_versioning"] = json!(true);
        }
        if let Some(d) = &self.external_create_date {
            body["external_create_date"] = json!(external_date(d));
        }
        if let Some(d) = &self.external_modify_date {
            body["external_modify_date"] = json!(external_date(d));
        }
        let call = Call::post("api/v2/nodes").body_json(&body).file(FilePart {
            file_name: self.file_name.unwrap_or_else(|| self.name.clone()),
            mime_type: self.mime_type.unwrap_or_else(|| DEFAULT_MIME.into()),
            body: self.body,
        });
        self.client.transport.json(call).await?.v2_properties()
    }
}
into_future!(CreateDocument => Node);

/// Builder of a new version.
#[derive(Clone, Debug)]
pub struct AddVersion {
    client: Client,
    id: i64,
    body: UploadBody,
    file_name: Option<String>,
    mime_type: Option<String>,
    description: Option<String>,
    major: Option<bool>,
    external_create_date: Option<NaiveDateTime>,
    external_modify_date: Option<NaiveDateTime>,
}

impl AddVersion {
    /// The file name of the multipart part (default `content`).
    pub fn file_name(mut self, file_name: impl Into<String>) -> Self {
        self.file_name = Some(file_name.into());
        self
    }

    /// The MIME type (default `application/octet-stream`).
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The version description (at most 255 characters; longer is rejected, not cut).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `add_major_version`: a major (`true`) or minor (`false`) version, where the document
    /// uses advanced versioning (standard versioning ignores it: every version is major).
    /// Not set: the server's default, a minor version under advanced versioning.
    pub fn major(mut self, major: bool) -> Self {
        self.major = Some(major);
        self
    }

    /// The external creation date.
    pub fn external_create_date(mut self, date: NaiveDateTime) -> Self {
        self.external_create_date = Some(date);
        self
    }

    /// The external modification date.
    pub fn external_modify_date(mut self, date: NaiveDateTime) -> Self {
        self.external_modify_date = Some(date);
        self
    }

    /// Uploads the version and returns it.
    pub async fn send(self) -> Result<Version> {
        if let Some(d) = &self.description {
            if d.chars().count() > MAX_VERSION_DESCRIPTION {
                return Err(Error::invalid(format!(
                    "a version description has at most {MAX_VERSION_DESCRIPTION} characters"
                )));
            }
        }
        let call = Call::post(format!("api/v2/nodes/{}/versions", self.id))
            .form_opt("description", self.description.as_ref())
            .form_opt("add_major_version", self.major)
            .form_opt(
                "external_create_date",
                self.external_create_date.as_ref().map(external_date),
            )
            .form_opt(
                "external_modify_date",
                self.external_modify_date.as_ref().map(external_date),
            )
            .file(FilePart {
                file_name: self.file_name.unwrap_or_else(|| "content".into()),
                mime_type: self.mime_type.unwrap_or_else(|| DEFAULT_MIME.into()),
                body: self.body,
            });
        let json = self.client.transport.json(call).await?;
        // v2 answers results.data.versions; v1 answers {"id", "version_number"} (lenient).
        match json.v2_section::<Version>("versions") {
            Ok(version) => Ok(version),
            Err(_) if json.value.get("version_number").is_some() => json.into_type(),
            Err(e) => Err(e),
        }
    }
}
into_future!(AddVersion => Version);

/// Builder of a version listing.
#[derive(Clone, Debug)]
pub struct ListVersions {
    client: Client,
    id: i64,
    page_size: u64,
}

impl ListVersions {
    /// Page size (default 100).
    pub fn page_size(mut self, size: u64) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// Fetches one page (1-based).
    pub async fn page(&self, page: u64) -> Result<Page<Version>> {
        let call = Call::get(format!("api/v2/nodes/{}/versions", self.id))
            .query("page", page)
            .query("limit", self.page_size);
        self.client
            .transport
            .json(call)
            .await?
            .v2_collection("versions")
    }

    /// All versions, lazily.
    pub fn into_stream(self) -> BoxStream<'static, Result<Version>> {
        let limit = self.page_size;
        paging::items(paging::pages(limit, move |n| {
            let this = self.clone();
            async move { this.page(n).await }
        }))
    }

    /// All versions, collected.
    pub async fn send(self) -> Result<Vec<Version>> {
        self.into_stream().try_collect().await
    }
}
into_future!(ListVersions => Vec<Version>);

/// Builder of a content download.
#[derive(Clone, Debug)]
pub struct DownloadContent {
    client: Client,
    id: i64,
    version: Option<i64>,
}

impl DownloadContent {
    /// Downloads version `number` (`GET /api/v2/nodes/{id}/versions/{n}/content`).
    pub fn version(mut self, number: i64) -> Self {
        self.version = Some(number);
        self
    }

    /// Starts the download; the body streams from the returned [`Download`].
    pub async fn send(self) -> Result<Download> {
        let path = match self.version {
            Some(n) => format!("api/v2/nodes/{}/versions/{n}/content", self.id),
            None => format!("api/v1/nodes/{}/content", self.id),
        };
        let streamed = self.client.transport.stream(Call::get(path)).await?;
        Ok(Download::from_streamed(streamed))
    }
}
into_future!(DownloadContent => Download);

/// Counts the bytes of a download without keeping them (to verify a size after upload).
pub async fn count_bytes(download: Download) -> Result<u64> {
    download
        .into_stream()
        .try_fold(0u64, |n, chunk| async move { Ok(n + chunk.len() as u64) })
        .await
}

#[cfg(test)]
mod tests {
    use super::disposition_file_name;

    #[test]
    fn disposition_file_names() {
        assert_eq!(
            disposition_file_name("attachment; filename=\"a b.pdf\"").as_deref(),
            Some("a b.pdf")
        );
        assert_eq!(
            disposition_file_name("inline; filename=plain.txt").as_deref(),
            Some("plain.txt")
        );
        // filename* wins, wherever it stands.
        assert_eq!(
            disposition_file_name(
                "attachment; filename*=UTF-8''L%C3%B6hne%20v2.xlsx; filename=\"Lohne v2.xlsx\""
            )
            .as_deref(),
            Some("Löhne v2.xlsx")
        );
        assert_eq!(
            disposition_file_name("attachment; FILENAME*=iso-8859-1'en'%E9t%E9.txt").as_deref(),
            Some("été.txt")
        );
        assert_eq!(
            disposition_file_name("attachment; filename=\"say \\\"hi\\\".txt\"").as_deref(),
            Some("say \"hi\".txt")
        );
        assert_eq!(disposition_file_name("attachment"), None);
        assert_eq!(disposition_file_name("attachment; filename=\"\""), None);
    }
}
