//! Upload bodies that can be (re)opened, so a retried upload sends every byte again.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, Stream, StreamExt};

use crate::error::{Error, Result};

/// A boxed stream of body chunks.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

type Opener = Arc<dyn Fn() -> BoxFuture<'static, io::Result<ByteStream>> + Send + Sync>;

#[derive(Clone)]
enum Source {
    Bytes(Bytes),
    Reopen(Opener),
    OneShot(Arc<Mutex<Option<ByteStream>>>),
}

/// The content of a document or version upload, with its exact length.
///
/// The multipart file part is streamed from it with a known length; it is never held whole in
/// memory (except for [`UploadBody::from_bytes`], which the caller already holds). When a call
/// must be repeated (after a `401` re-login or a `503`), the body is **opened again** and all
/// its bytes are sent again. A [`UploadBody::one_shot`] stream cannot be reopened, so such a
/// call is not repeated and fails with [`Error::NotRetried`].
///
/// Each opening is checked against the declared length: a source that yields fewer or more
/// bytes fails the upload instead of sending a truncated file.
#[derive(Clone)]
pub struct UploadBody {
    len: u64,
    source: Source,
}

impl fmt::Debug for UploadBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.source {
            Source::Bytes(_) => "bytes",
            Source::Reopen(_) => "reopenable",
            Source::OneShot(_) => "one-shot",
        };
        f.debug_struct("UploadBody")
            .field("len", &self.len)
            .field("source", &kind)
            .finish()
    }
}

impl UploadBody {
    /// A body from bytes in memory (cheap to clone and to resend).
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        UploadBody {
            len: bytes.len() as u64,
            source: Source::Bytes(bytes),
        }
    }

    /// A body that `open` can produce afresh, each time from its first byte, with `len` bytes.
    ///
    /// ```no_run
    /// # use contentserver_client::UploadBody;
    /// # use bytes::Bytes;
    /// let body = UploadBody::reopenable(3, || async {
    ///     Ok(futures::stream::iter(vec![Ok(Bytes::from_static(b"abc"))]))
    /// });
    /// ```
    pub fn reopenable<F, Fut, S>(len: u64, open: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<S>> + Send + 'static,
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        let opener: Opener = Arc::new(move || {
            let fut = open();
            Box::pin(async move { fut.await.map(|s| s.boxed()) })
        });
        UploadBody {
            len,
            source: Source::Reopen(opener),
        }
    }

    /// A body read from a file, reopened from disk for each attempt. The length is the file's
    /// size now; a file that changes size meanwhile fails the upload.
    pub async fn from_path(path: impl AsRef<Path>) -> io::Result<Self> {
        let path: PathBuf = path.as_ref().to_path_buf();
        let len = tokio::fs::metadata(&path).await?.len();
        Ok(UploadBody::reopenable(len, move || {
            let path = path.clone();
            async move {
                let file = tokio::fs::File::open(&path).await?;
                Ok(tokio_util::io::ReaderStream::with_capacity(
                    file,
                    256 * 1024,
                ))
            }
        }))
    }

    /// A body from a stream that can be read only once. A call carrying it is never repeated.
    pub fn one_shot<S>(len: u64, stream: S) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        UploadBody {
            len,
            source: Source::OneShot(Arc::new(Mutex::new(Some(stream.boxed())))),
        }
    }

    /// The declared length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the body can be opened again for a retry.
    pub fn is_replayable(&self) -> bool {
        !matches!(self.source, Source::OneShot(_))
    }

    /// Opens the body from its first byte. The stream checks the declared length and counts
    /// the bytes it hands out in `progress`.
    pub(crate) async fn open(&self, progress: Arc<AtomicU64>) -> Result<ByteStream> {
        let inner: ByteStream = match &self.source {
            Source::Bytes(bytes) => {
                // Chunks of 256 KiB: cheap slices of the same buffer.
                let bytes = bytes.clone();
                const CHUNK: usize = 256 * 1024;
                let chunks: Vec<io::Result<Bytes>> = (0..bytes.len())
                    .step_by(CHUNK)
                    .map(|at| Ok(bytes.slice(at..bytes.len().min(at + CHUNK))))
                    .collect();
                stream::iter(chunks).boxed()
            }
            Source::Reopen(open) => open()
                .await
                .map_err(|e| Error::invalid(format!("cannot open the upload source: {e}")))?,
            Source::OneShot(slot) => slot
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .ok_or_else(|| Error::invalid("the one-shot upload stream was already consumed"))?,
        };
        Ok(checked(inner, self.len, progress))
    }
}

/// Wraps `inner` so that it fails unless it yields exactly `expected` bytes.
fn checked(inner: ByteStream, expected: u64, progress: Arc<AtomicU64>) -> ByteStream {
    struct State {
        inner: ByteStream,
        expected: u64,
        seen: u64,
        done: bool,
        progress: Arc<AtomicU64>,
    }
    let state = State {
        inner,
        expected,
        seen: 0,
        done: false,
        progress,
    };
    stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        match st.inner.next().await {
            Some(Ok(chunk)) => {
                st.seen += chunk.len() as u64;
                st.progress.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                if st.seen > st.expected {
                    st.done = true;
                    let err = io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "upload source yielded more than its declared {} bytes",
                            st.expected
                        ),
                    );
                    return Some((Err(err), st));
                }
                Some((Ok(chunk), st))
            }
            Some(Err(e)) => {
                st.done = true;
                Some((Err(e), st))
            }
            None => {
                st.done = true;
                if st.seen != st.expected {
                    let err = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "upload source ended after {} of its declared {} bytes",
                            st.seen, st.expected
                        ),
                    );
                    return Some((Err(err), st));
                }
                None
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    async fn collect(body: &UploadBody) -> io::Result<Vec<u8>> {
        let s = body
            .open(Arc::new(AtomicU64::new(0)))
            .await
            .map_err(io::Error::other)?;
        let chunks: Vec<Bytes> = s.try_collect().await?;
        Ok(chunks.concat())
    }

    #[tokio::test]
    async fn bytes_and_reopen_give_all_bytes_each_time() {
        let b = UploadBody::from_bytes(vec![7u8; 600_000]);
        assert_eq!(collect(&b).await.unwrap().len(), 600_000);
        assert_eq!(collect(&b).await.unwrap().len(), 600_000);
        let r = UploadBody::reopenable(6, || async {
            Ok(stream::iter(vec![
                Ok(Bytes::from_static(b"abc")),
                Ok(Bytes::from_static(b"def")),
            ]))
        });
        assert_eq!(collect(&r).await.unwrap(), b"abcdef");
        assert_eq!(collect(&r).await.unwrap(), b"abcdef");
    }

    #[tokio::test]
    async fn length_is_enforced_and_one_shot_is_single_use() {
        let short = UploadBody::reopenable(10, || async {
            Ok(stream::iter(vec![Ok(Bytes::from_static(b"abc"))]))
        });
        assert_eq!(
            collect(&short).await.unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let long = UploadBody::reopenable(2, || async {
            Ok(stream::iter(vec![Ok(Bytes::from_static(b"abc"))]))
        });
        assert_eq!(
            collect(&long).await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let once = UploadBody::one_shot(1, stream::iter(vec![Ok(Bytes::from_static(b"x"))]));
        assert!(!once.is_replayable());
        assert_eq!(collect(&once).await.unwrap(), b"x");
        assert!(collect(&once).await.is_err());
    }

    #[tokio::test]
    async fn from_path_reopens_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        tokio::fs::write(&path, b"hello file").await.unwrap();
        let body = UploadBody::from_path(&path).await.unwrap();
        assert_eq!(body.len(), 10);
        assert_eq!(collect(&body).await.unwrap(), b"hello file");
        assert_eq!(collect(&body).await.unwrap(), b"hello file");
    }
}
