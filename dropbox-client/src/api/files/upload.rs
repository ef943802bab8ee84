//! Uploads: one `files/upload` call for small content, upload sessions fed chunk by chunk for
//! large content, and batch commits with `upload_session/finish_batch_v2`.
//!
//! Limits (files.stone): one request body ≤ 150 MiB; a session lives 7 days; a file ≤ 2^41 −
//! 2^22 bytes; sequential sessions take data in order at the offset the server holds (else
//! `incorrect_offset` with `correct_offset`). Chunks are a multiple of 4 MiB so that the same
//! sizes work for concurrent sessions too.

use std::io;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};

use super::Files;
use crate::content_hash::ContentHasher;
use crate::error::{ApiError, Error, Result};
use crate::models::files::*;

/// A caller's byte stream, as uploads take it.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Reads a byte stream in chunks of a fixed size, hashing every byte it hands out.
struct ChunkReader {
    input: ByteStream,
    chunk_size: usize,
    carry: Bytes,
    eof: bool,
    hasher: ContentHasher,
    route: &'static str,
}

impl ChunkReader {
    fn new(input: ByteStream, chunk_size: usize, route: &'static str) -> Self {
        ChunkReader {
            input,
            chunk_size,
            carry: Bytes::new(),
            eof: false,
            hasher: ContentHasher::new(),
            route,
        }
    }

    /// The next chunk: exactly `chunk_size` bytes, or fewer at the end (empty once exhausted).
    /// A chunk that arrives as one piece is handed on as it is; one made of several pieces is
    /// copied once, into a buffer of the chunk's size reserved when the second piece arrives
    /// (a buffer grown piece by piece copies a large chunk several times over).
    async fn next_chunk(&mut self) -> Result<Bytes> {
        let mut first: Option<Bytes> = None;
        let mut buf = BytesMut::new();
        let mut len = 0;
        while len < self.chunk_size {
            let piece = if !self.carry.is_empty() {
                std::mem::take(&mut self.carry)
            } else if self.eof {
                break;
            } else {
                match self.input.next().await {
                    Some(Ok(b)) => b,
                    Some(Err(source)) => {
                        return Err(Error::Source {
                            route: self.route.to_owned(),
                            source,
                        })
                    }
                    None => {
                        self.eof = true;
                        break;
                    }
                }
            };
            if piece.is_empty() {
                continue;
            }
            let room = self.chunk_size - len;
            let piece = if piece.len() > room {
                self.carry = piece.slice(room..);
                piece.slice(..room)
            } else {
                piece
            };
            len += piece.len();
            match first.take() {
                None if buf.is_empty() => first = Some(piece),
                None => buf.extend_from_slice(&piece),
                Some(one) => {
                    buf.reserve(self.chunk_size);
                    buf.extend_from_slice(&one);
                    buf.extend_from_slice(&piece);
                }
            }
        }
        let chunk = match first {
            Some(one) => one,
            None => buf.freeze(),
        };
        self.hasher.update(&chunk);
        Ok(chunk)
    }

    /// Whether the input is known to be exhausted.
    fn exhausted(&self) -> bool {
        self.eof && self.carry.is_empty()
    }
}

fn boxed<S>(body: S) -> ByteStream
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    Box::pin(body)
}

fn check_hash(route: &str, sent: &str, meta: &FileMetadata) -> Result<()> {
    match &meta.content_hash {
        Some(h) if h != sent => Err(Error::ContentHashMismatch {
            route: route.to_owned(),
            expected: sent.to_owned(),
            actual: h.clone(),
        }),
        _ => Ok(()),
    }
}

impl Files {
    /// Uploads a byte stream of any length to `commit.path`.
    ///
    /// Content smaller than one chunk (default 8 MiB) goes up in one `files/upload` call; larger
    /// content goes through an upload session, one chunk at a time, holding at most two chunks in
    /// memory (the one in flight and the one being read). Each chunk is retried on its own under
    /// the retry policy; an `incorrect_offset` answer is resolved from `correct_offset`. The
    /// `content_hash` is computed as the bytes go through, and the call fails with
    /// [`Error::ContentHashMismatch`] if the server's differs.
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use dropbox_client::models::files::{CommitInfo, WriteMode};
    /// let file = tokio::fs::File::open("big.iso").await.unwrap();
    /// # let file: futures::stream::Empty<std::io::Result<bytes::Bytes>> = futures::stream::empty();
    /// let meta = client
    ///     .files()
    ///     .upload(CommitInfo::new("/Backups/big.iso").mode(WriteMode::Overwrite), file)
    ///     .await?;
    /// println!("{} {}", meta.rev, meta.content_hash.unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub async fn upload<S>(&self, commit: impl Into<CommitInfo>, body: S) -> Result<FileMetadata>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        let commit = commit.into();
        let mut reader = ChunkReader::new(boxed(body), self.client.chunk_size(), "files/upload");
        let first = reader.next_chunk().await?;
        if reader.exhausted() {
            let hash = ContentHasher::hash(&first);
            return self.upload_bytes_hashed(commit, first, hash).await;
        }
        let (cursor, hash) = self.feed_session(first, &mut reader, false).await?;
        let arg = UploadSessionFinishArg {
            cursor,
            commit,
            content_hash: None,
        };
        let meta = self.upload_session_finish(&arg, Bytes::new()).await?;
        check_hash("files/upload_session/finish", &hash, &meta)?;
        Ok(meta)
    }

    /// Uploads bytes already in memory (≤ 150 MiB) in one `files/upload` call, with its
    /// `content_hash`. Route error: [`UploadError`].
    pub async fn upload_bytes(
        &self,
        commit: impl Into<CommitInfo>,
        data: Bytes,
    ) -> Result<FileMetadata> {
        let hash = ContentHasher::hash(&data);
        self.upload_bytes_hashed(commit.into(), data, hash).await
    }

    async fn upload_bytes_hashed(
        &self,
        commit: CommitInfo,
        data: Bytes,
        hash: String,
    ) -> Result<FileMetadata> {
        const ROUTE: &str = route::UPLOAD.name;
        if data.len() > 150 * 1024 * 1024 {
            return Err(Error::invalid(
                ROUTE,
                "a single upload takes at most 150 MiB; use upload()",
            ));
        }
        let arg = UploadArg {
            commit,
            content_hash: Some(hash.clone()),
        };
        // A retried `upload` in add mode could create a second copy if the first landed: the
        // route is declared not idempotent.
        let meta: FileMetadata = self.client.upload_call(route::UPLOAD, &arg, data).await?;
        check_hash(ROUTE, &hash, &meta)?;
        Ok(meta)
    }

    /// Starts a session with `first` and appends every following chunk of `reader`. With
    /// `close`, the session is closed by its last request. Returns the final cursor and the
    /// content hash of everything sent.
    async fn feed_session(
        &self,
        first: Bytes,
        reader: &mut ChunkReader,
        close: bool,
    ) -> Result<(UploadSessionCursor, String)> {
        let close_now = close && reader.exhausted();
        let start_arg = UploadSessionStartArg {
            close: close_now,
            ..Default::default()
        };
        let (started, mut next) = futures::join!(
            self.upload_session_start(&start_arg, first.clone()),
            async {
                if close_now {
                    Ok(Bytes::new())
                } else {
                    reader.next_chunk().await
                }
            }
        );
        let session_id = started?.session_id;
        let mut offset = first.len() as u64;
        let mut closed = close_now;
        loop {
            let current = next?;
            if current.is_empty() {
                break;
            }
            let last = reader.exhausted();
            let close_this = close && last;
            let (sent, following) = futures::join!(
                self.append_at(&session_id, offset, current.clone(), close_this),
                async {
                    if last {
                        Ok(Bytes::new())
                    } else {
                        reader.next_chunk().await
                    }
                }
            );
            sent?;
            offset += current.len() as u64;
            closed |= close_this;
            next = following;
        }
        if close && !closed {
            self.append_at(&session_id, offset, Bytes::new(), true)
                .await?;
        }
        let hash = std::mem::take(&mut reader.hasher).finish();
        Ok((UploadSessionCursor { session_id, offset }, hash))
    }

    /// Appends `data` at `offset`, resolving `incorrect_offset`: if the server already holds the
    /// data (a lost answer), that is success; if it holds part of it, the rest is sent.
    async fn append_at(
        &self,
        session_id: &str,
        offset: u64,
        data: Bytes,
        close: bool,
    ) -> Result<()> {
        let mut offset = offset;
        let mut data = data;
        let end = offset + data.len() as u64;
        for _ in 0..4 {
            let arg = UploadSessionAppendArg {
                cursor: UploadSessionCursor {
                    session_id: session_id.to_owned(),
                    offset,
                },
                close,
                content_hash: None,
            };
            match self.upload_session_append(&arg, data.clone()).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let correct = e
                        .api()
                        .and_then(|a| a.route_error::<UploadSessionLookupError>())
                        .and_then(|r| match r {
                            UploadSessionLookupError::IncorrectOffset(o) => Some(o.correct_offset),
                            _ => None,
                        });
                    match correct {
                        Some(c) if c == end && !close => return Ok(()),
                        Some(c) if c >= offset && c <= end => {
                            tracing::debug!(
                                session_id,
                                offset,
                                correct = c,
                                "resuming upload at the server's offset"
                            );
                            data = data.slice((c - offset) as usize..);
                            offset = c;
                        }
                        _ => return Err(e),
                    }
                }
            }
        }
        Err(Error::invalid(
            "files/upload_session/append_v2",
            "the session's offset kept changing; giving up",
        ))
    }

    /// Uploads many files and commits them together with `upload_session/finish_batch_v2`
    /// (one commit for up to 1000 files, far fewer write operations than one upload each).
    ///
    /// Returns one result per input, in order. A file whose bytes could not be sent, or whose
    /// commit failed, gets its own error; the others are unaffected.
    pub async fn upload_batch<S>(
        &self,
        items: Vec<(CommitInfo, S)>,
    ) -> Result<Vec<Result<FileMetadata>>>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        const ROUTE: &str = route::UPLOAD_SESSION_FINISH_BATCH_V2.name;
        if items.len() > 1000 {
            return Err(Error::invalid(ROUTE, "at most 1000 files per batch"));
        }
        let mut results: Vec<Option<Result<FileMetadata>>> = Vec::with_capacity(items.len());
        let mut entries = Vec::new();
        let mut pending = Vec::new(); // (index in results, hash)
        for (commit, body) in items {
            let mut reader = ChunkReader::new(
                boxed(body),
                self.client.chunk_size(),
                "files/upload_session/start",
            );
            let fed = async {
                let first = reader.next_chunk().await?;
                self.feed_session(first, &mut reader, true).await
            }
            .await;
            match fed {
                Ok((cursor, hash)) => {
                    pending.push((results.len(), hash));
                    results.push(None);
                    entries.push(UploadSessionFinishArg {
                        cursor,
                        commit,
                        content_hash: None,
                    });
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        if !entries.is_empty() {
            let outcome = self
                .upload_session_finish_batch(&UploadSessionFinishBatchArg { entries })
                .await?;
            if outcome.entries.len() != pending.len() {
                return Err(Error::decode(
                    ROUTE,
                    format!(
                        "{} entries answered for {} sent",
                        outcome.entries.len(),
                        pending.len()
                    ),
                    b"",
                ));
            }
            for ((index, hash), entry) in pending.into_iter().zip(outcome.entries) {
                let result = match entry {
                    UploadSessionFinishBatchResultEntry::Success(meta) => {
                        check_hash(ROUTE, &hash, &meta).map(|_| meta)
                    }
                    UploadSessionFinishBatchResultEntry::Failure(failure) => {
                        Err(batch_failure(ROUTE, failure))
                    }
                    _ => Err(Error::decode(ROUTE, "unknown batch entry", b"")),
                };
                results[index] = Some(result);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every index filled"))
            .collect())
    }

    /// `files/upload_session/start`: opens a session, optionally with its first data.
    /// Route error: [`UploadSessionStartError`].
    pub async fn upload_session_start(
        &self,
        arg: &UploadSessionStartArg,
        data: Bytes,
    ) -> Result<UploadSessionStartResult> {
        // Repeating a start only leaves an unused session behind: safe to retry.
        self.client
            .upload_call(route::UPLOAD_SESSION_START, arg, data)
            .await
    }

    /// `files/upload_session/append_v2`: adds data at `arg.cursor.offset`.
    /// Route error: [`UploadSessionLookupError`].
    pub async fn upload_session_append(
        &self,
        arg: &UploadSessionAppendArg,
        data: Bytes,
    ) -> Result<()> {
        // The explicit offset makes a repeat harmless: the server answers `incorrect_offset`.
        self.client
            .upload_call(route::UPLOAD_SESSION_APPEND_V2, arg, data)
            .await
    }

    /// `files/upload_session/finish`: commits the session (plus optional last data).
    /// Route error: [`UploadSessionFinishError`].
    pub async fn upload_session_finish(
        &self,
        arg: &UploadSessionFinishArg,
        data: Bytes,
    ) -> Result<FileMetadata> {
        self.client
            .upload_call(route::UPLOAD_SESSION_FINISH, arg, data)
            .await
    }

    /// `files/upload_session/finish_batch_v2` (RPC): commits up to 1000 closed sessions.
    pub async fn upload_session_finish_batch(
        &self,
        arg: &UploadSessionFinishBatchArg,
    ) -> Result<UploadSessionFinishBatchResult> {
        self.client
            .rpc(route::UPLOAD_SESSION_FINISH_BATCH_V2, arg)
            .await
    }
}

fn batch_failure(route: &str, failure: UploadSessionFinishError) -> Error {
    let error = serde_json::to_value(&failure).unwrap_or_default();
    Error::Api(Box::new(ApiError::reported(route, error)))
}

/// The routes of this module and whether each is safe to repeat ([`Idempotency`](crate::Idempotency)).
mod route {
    use crate::route::Route;

    /// Not idempotent: in `add` mode a repeat could create a second copy.
    pub(super) const UPLOAD: Route = Route::not_idempotent("files/upload");
    /// Idempotent: a repeat only leaves an unused session behind.
    pub(super) const UPLOAD_SESSION_START: Route = Route::idempotent("files/upload_session/start");
    /// Idempotent: the explicit offset turns a repeat into `incorrect_offset`.
    pub(super) const UPLOAD_SESSION_APPEND_V2: Route =
        Route::idempotent("files/upload_session/append_v2");
    pub(super) const UPLOAD_SESSION_FINISH: Route =
        Route::not_idempotent("files/upload_session/finish");
    pub(super) const UPLOAD_SESSION_FINISH_BATCH_V2: Route =
        Route::not_idempotent("files/upload_session/finish_batch_v2");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(pieces: &[usize], chunk: usize) -> (ChunkReader, Vec<u8>) {
        let mut all = Vec::new();
        let mut items = Vec::new();
        for (i, n) in pieces.iter().enumerate() {
            let p: Vec<u8> = (0..*n).map(|j| (i * 31 + j) as u8).collect();
            all.extend_from_slice(&p);
            items.push(Ok(Bytes::from(p)));
        }
        let input = boxed(futures::stream::iter(items));
        (ChunkReader::new(input, chunk, "files/upload"), all)
    }

    #[tokio::test]
    async fn chunks_have_the_exact_size_whatever_the_pieces() {
        for pieces in [
            vec![10],
            vec![4, 0, 4, 2],
            vec![3, 3, 3, 3, 3],
            vec![1, 9, 1],
            vec![8, 8, 8],
            vec![25],
        ] {
            let (mut r, all) = reader(&pieces, 8);
            let mut got = Vec::new();
            loop {
                let c = r.next_chunk().await.unwrap();
                if c.is_empty() {
                    break;
                }
                assert!(c.len() == 8 || r.exhausted(), "{pieces:?}: {}", c.len());
                got.extend_from_slice(&c);
            }
            assert_eq!(got, all, "{pieces:?}");
            assert_eq!(
                std::mem::take(&mut r.hasher).finish(),
                ContentHasher::hash(&all),
                "{pieces:?}: every byte hashed once"
            );
        }
    }
}
