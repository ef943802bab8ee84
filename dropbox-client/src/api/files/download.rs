//! Downloads: the metadata plus a byte stream that resumes with a `Range` request when the body
//! breaks, and checks the `content_hash` at the end.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};

use super::Files;
use crate::client::Client;
use crate::content_hash::ContentHasher;
use crate::error::{Error, Result};
use crate::models::files::{DownloadArg, FileMetadata};
use crate::route::Route;

/// `files/download` reads: repeating it is harmless ([`Idempotency`](crate::Idempotency)).
const DOWNLOAD: Route = Route::idempotent("files/download");
const ROUTE: &str = DOWNLOAD.name;

/// A file being downloaded: its metadata (from `Dropbox-API-Result`) and its bytes.
///
/// The body resumes after a broken connection: the rest is asked for with a `Range` request,
/// as long as the file's `rev` is unchanged (a changed file fails the stream instead of mixing
/// two versions). The bytes are hashed as they pass; the stream ends with
/// [`Error::ContentHashMismatch`] if they do not hash to the metadata's `content_hash`.
pub struct Download {
    /// The file's metadata.
    pub metadata: FileMetadata,
    body: Body,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl Download {
    /// The body as a stream of chunks, hashed as they pass and checked against the
    /// metadata's `content_hash` at the end.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes>> {
        stream::unfold(self.body, |mut b| async move {
            let item = b.next_chunk().await?;
            Some((item, b))
        })
        .boxed()
    }

    /// The body as a stream of chunks, counted and resumed like [`Download::into_stream`]'s
    /// but not hashed: for a caller that hashes the bytes itself against the same
    /// `content_hash` (a second SHA-256 pass over every byte costs more than a loopback
    /// transfer of it).
    pub fn into_unhashed_stream(mut self) -> BoxStream<'static, Result<Bytes>> {
        self.body.hasher = None;
        self.into_stream()
    }

    /// The whole body in memory (for small files).
    pub async fn bytes(self) -> Result<Bytes> {
        // The size is the server's word: reserve no more than 64 MiB up front on its say-so.
        let mut out = Vec::with_capacity(self.metadata.size.min(64 << 20) as usize);
        let mut body = self.into_stream();
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(Bytes::from(out))
    }
}

struct Body {
    client: Client,
    path: String,
    rev: String,
    size: u64,
    expected_hash: Option<String>,
    received: u64,
    /// `None` when the caller hashes the bytes itself.
    hasher: Option<ContentHasher>,
    response: Option<reqwest::Response>,
    /// Bytes to drop from the next response (a server that ignored our `Range`).
    skip: u64,
    resumes_left: u32,
    idle: Duration,
    finished: bool,
}

impl Files {
    /// `files/download`: the metadata now, the bytes as a stream. Route error:
    /// [`DownloadError`](crate::models::files::DownloadError).
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use futures::StreamExt;
    /// let download = client.files().download("/Reports/q3.pdf").await?;
    /// println!("{} bytes", download.metadata.size);
    /// let mut body = download.into_stream();
    /// while let Some(chunk) = body.next().await {
    ///     let chunk = chunk?; // write it somewhere
    /// #   let _ = chunk;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn download(&self, arg: impl Into<DownloadArg>) -> Result<Download> {
        let arg = arg.into();
        let (metadata, response): (FileMetadata, _) =
            self.client.download_call(DOWNLOAD, &arg, None).await?;
        let body = Body {
            client: self.client.clone(),
            path: arg.path,
            rev: metadata.rev.clone(),
            size: metadata.size,
            expected_hash: metadata.content_hash.clone(),
            received: 0,
            hasher: Some(ContentHasher::new()),
            response: Some(response),
            skip: 0,
            resumes_left: self.client.inner.retry.max_attempts.saturating_sub(1),
            idle: self.client.inner.idle_timeout,
            finished: false,
        };
        Ok(Download { metadata, body })
    }
}

impl Body {
    /// The next piece of the body; `None` at the (verified) end.
    async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        if self.finished {
            return None;
        }
        let outcome = self.pull().await;
        if let Some(Err(_)) = &outcome {
            self.finished = true;
        }
        outcome
    }

    async fn pull(&mut self) -> Option<Result<Bytes>> {
        loop {
            let broken = match self.response.as_mut() {
                None => None,
                Some(resp) => match tokio::time::timeout(self.idle, resp.chunk()).await {
                    Ok(Ok(Some(mut chunk))) => {
                        if self.skip > 0 {
                            let drop = self.skip.min(chunk.len() as u64) as usize;
                            self.skip -= drop as u64;
                            chunk = chunk.slice(drop..);
                            if chunk.is_empty() {
                                continue;
                            }
                        }
                        if self.received + chunk.len() as u64 > self.size {
                            return Some(Err(Error::decode(
                                ROUTE,
                                "more bytes than the file's size",
                                b"",
                            )));
                        }
                        self.received += chunk.len() as u64;
                        if let Some(h) = &mut self.hasher {
                            h.update(&chunk);
                        }
                        return Some(Ok(chunk));
                    }
                    Ok(Ok(None)) => {
                        if self.received == self.size {
                            return self.finish();
                        }
                        Some(Error::timeout(ROUTE, true, "the body ended early"))
                    }
                    Ok(Err(e)) => Some(Error::transport(ROUTE, true, e)),
                    Err(_) => Some(Error::timeout(ROUTE, true, "the body stalled")),
                },
            };
            let error = broken.unwrap_or_else(|| Error::timeout(ROUTE, true, "no body"));
            if self.resumes_left == 0 {
                return Some(Err(error));
            }
            self.resumes_left -= 1;
            tracing::debug!(path = %self.path, received = self.received, error = %error, "resuming download");
            if let Err(e) = self.resume().await {
                return Some(Err(e));
            }
        }
    }

    async fn resume(&mut self) -> Result<()> {
        self.response = None;
        let arg = DownloadArg {
            path: self.path.clone(),
        };
        let range = format!("bytes={}-", self.received);
        let (meta, resp): (FileMetadata, reqwest::Response) = self
            .client
            .download_call(DOWNLOAD, &arg, Some(range))
            .await?;
        if meta.rev != self.rev {
            return Err(Error::Decode {
                route: ROUTE.to_owned(),
                message: format!(
                    "the file changed while downloading (rev {} became {}); start again",
                    self.rev, meta.rev
                ),
                excerpt: String::new(),
                repeatable: true,
            });
        }
        self.skip = if resp.status() == reqwest::StatusCode::PARTIAL_CONTENT {
            0
        } else {
            self.received
        };
        self.response = Some(resp);
        Ok(())
    }

    fn finish(&mut self) -> Option<Result<Bytes>> {
        self.finished = true;
        let actual = self.hasher.take()?.finish();
        match &self.expected_hash {
            Some(expected) if *expected != actual => Some(Err(Error::ContentHashMismatch {
                route: ROUTE.to_owned(),
                expected: expected.clone(),
                actual,
            })),
            _ => None,
        }
    }
}
