//! Version contents on disk: one immutable file per version under the data directory, streamed
//! in from multipart parts and streamed out with an exact `Content-Length`.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::multipart::Field;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use super::wire::ApiError;

/// How many leading bytes of a version feed the search "index" (kept in memory per version).
const INDEX_BYTES: usize = 4 * 1024;

/// A file part received with a request, waiting in a temporary file until a handler keeps it
/// (dropping it removes the file).
#[derive(Debug)]
pub(crate) struct Upload {
    temp: TempPath,
    pub size: u64,
    pub file_name: String,
    pub mime_type: String,
    /// Lower-cased text of the leading bytes, for search.
    pub text: String,
}

/// The store of version files.
#[derive(Debug, Clone)]
pub(crate) struct Blobs {
    dir: PathBuf,
    tmp: PathBuf,
}

impl Blobs {
    /// Creates (if needed) `dir` and its `tmp` sub-directory (uploads in flight).
    pub fn new(dir: &Path) -> std::io::Result<Blobs> {
        let dir = dir.to_path_buf();
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        Ok(Blobs { dir, tmp })
    }

    fn path_for(&self, version_id: i64) -> PathBuf {
        self.dir.join(format!("v{version_id}"))
    }

    /// Streams a multipart part to a temporary file, chunk by chunk.
    pub async fn receive(
        &self,
        field: &mut Field<'_>,
        file_name: String,
        mime: Option<String>,
    ) -> Result<Upload, ApiError> {
        let (file, temp) = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(&self.tmp)?
            .into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let mut size = 0u64;
        let mut head = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|_| ApiError::bad_request("Could not read the uploaded file."))?
        {
            if head.len() < INDEX_BYTES {
                let take = (INDEX_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            size += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        let mime_type = mime
            .filter(|m| !m.is_empty() && m != "application/octet-stream")
            .unwrap_or_else(|| guess_mime(&file_name).to_owned());
        Ok(Upload {
            temp,
            size,
            file_name,
            mime_type,
            text: index_text(&head),
        })
    }

    /// Keeps an upload as the file of version `version_id`.
    pub fn keep(&self, upload: Upload, version_id: i64) -> std::io::Result<PathBuf> {
        let path = self.path_for(version_id);
        upload.temp.persist(&path).map_err(|e| e.error)?;
        Ok(path)
    }

    /// Writes seed bytes as the file of version `version_id`.
    pub fn write_seed(&self, version_id: i64, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.path_for(version_id);
        std::fs::write(&path, bytes)?;
        Ok(path)
    }

    /// Gives version `version_id` the same bytes as `src` (a hard link: files never change).
    pub fn duplicate(&self, src: &Path, version_id: i64) -> std::io::Result<PathBuf> {
        let path = self.path_for(version_id);
        let _ = std::fs::remove_file(&path);
        if std::fs::hard_link(src, &path).is_err() {
            std::fs::copy(src, &path)?;
        }
        Ok(path)
    }

    /// Removes a version file (a missing file is not an error).
    pub fn remove(&self, path: &Path) {
        if let Err(err) = std::fs::remove_file(path) {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(error = %err, path = %path.display(), "could not remove a version file");
            }
        }
    }

    /// Streams a version file out with its exact length and MIME type.
    pub async fn serve(
        &self,
        path: &Path,
        mime_type: &str,
        file_name: &str,
        download: bool,
    ) -> Result<Response, ApiError> {
        let file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        let mime = if download {
            "application/octet-stream"
        } else {
            mime_type
        };
        let disposition = if download { "attachment" } else { "inline" };
        let mut resp = Response::new(Body::from_stream(ReaderStream::with_capacity(
            file,
            256 * 1024,
        )));
        *resp.status_mut() = StatusCode::OK;
        let headers = resp.headers_mut();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(mime)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
        if let Ok(v) = HeaderValue::from_str(&content_disposition(disposition, file_name)) {
            headers.insert(CONTENT_DISPOSITION, v);
        }
        Ok(resp)
    }
}

/// Bytes that RFC 8187 `ext-value`s must percent-encode: everything but `attr-char`
/// (`ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"`).
const NOT_ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A `Content-Disposition` value naming `file_name` as RFC 6266 recommends: a quoted ASCII
/// `filename` for old clients, then the exact name as an RFC 8187 `filename*` (a space is
/// `%20`; form encoding's `+` would read back as a literal plus).
fn content_disposition(disposition: &str, file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| match c {
            '"' | '\\' => '_',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '_',
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(file_name, NOT_ATTR_CHAR);
    format!("{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The lower-cased text of a file's leading bytes (what the search "index" sees); empty for
/// content that does not look like text.
pub(crate) fn index_text(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(head);
    let total = text.chars().count().max(1);
    let odd = text
        .chars()
        .filter(|c| *c == char::REPLACEMENT_CHARACTER || (c.is_control() && !c.is_whitespace()))
        .count();
    // A character cut at the end of the excerpt is not a reason to drop the text.
    if odd * 10 > total {
        return String::new();
    }
    text.to_lowercase()
}

/// A MIME type from a file name's extension.
pub(crate) fn guess_mime(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_names_the_file_exactly() {
        assert_eq!(
            content_disposition("attachment", "Ledger v2.xlsx"),
            "attachment; filename=\"Ledger v2.xlsx\"; filename*=UTF-8''Ledger%20v2.xlsx"
        );
        assert_eq!(
            content_disposition("inline", "Löhne \"Q1\"+.pdf"),
            "inline; filename=\"L_hne _Q1_+.pdf\"; filename*=UTF-8''L%C3%B6hne%20%22Q1%22+.pdf"
        );
    }

    #[test]
    fn index_text_keeps_text_and_drops_binary() {
        assert_eq!(index_text(b"Hello World\n"), "hello world\n");
        let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        assert_eq!(index_text(&binary), "");
    }

    #[test]
    fn mime_types_from_extensions() {
        assert_eq!(guess_mime("a.PDF"), "application/pdf");
        assert_eq!(guess_mime("noext"), "application/octet-stream");
    }
}
