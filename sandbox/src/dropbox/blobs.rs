//! File contents on disk: request bodies are streamed into files while their `content_hash` is
//! computed, and streamed back out (whole or by byte range). Nothing is held whole in memory.

use std::io;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::fs::File;
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};

/// Dropbox's hashing block: 4 MiB.
pub(crate) const BLOCK: u64 = 4 * 1024 * 1024;

/// The largest body a single request may carry: 150 MiB.
pub(crate) const REQUEST_LIMIT: u64 = 150 * 1024 * 1024;

/// Dropbox `content_hash`: SHA-256 over the SHA-256 digests of each 4 MiB block.
#[derive(Clone, Default)]
pub(crate) struct ContentHasher {
    block: Sha256,
    in_block: u64,
    overall: Sha256,
}

impl std::fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentHasher")
            .field("in_block", &self.in_block)
            .finish_non_exhaustive()
    }
}

impl ContentHasher {
    /// Feeds bytes.
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = (BLOCK - self.in_block) as usize;
            let take = room.min(data.len());
            self.block.update(&data[..take]);
            self.in_block += take as u64;
            data = &data[take..];
            if self.in_block == BLOCK {
                let digest = std::mem::take(&mut self.block).finalize();
                self.overall.update(digest);
                self.in_block = 0;
            }
        }
    }

    /// The lowercase hex hash of everything fed so far.
    pub(crate) fn finish(&self) -> String {
        let mut overall = self.overall.clone();
        if self.in_block > 0 {
            overall.update(self.block.clone().finalize());
        }
        hex::encode(overall.finalize())
    }
}

/// What a request body turned out to be.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// Bytes received.
    pub len: u64,
    /// `content_hash` of exactly these bytes.
    pub hash: String,
}

/// Why a request body could not be stored.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// More than the allowed bytes (the rest of the body was read and discarded).
    TooLarge,
    /// The client's body failed (disconnect, bad chunking).
    Client(String),
    /// Local storage failed.
    Io(io::Error),
}

impl From<io::Error> for BodyError {
    fn from(e: io::Error) -> Self {
        BodyError::Io(e)
    }
}

/// The directory of blobs (committed contents) and temporary files (bodies being received,
/// upload sessions).
#[derive(Debug)]
pub(crate) struct BlobStore {
    blobs: PathBuf,
    work: PathBuf,
    next: AtomicU64,
}

impl BlobStore {
    /// Creates (or reuses) `dir/blobs` and `dir/work`.
    pub(crate) fn new(dir: &Path) -> io::Result<BlobStore> {
        let blobs = dir.join("blobs");
        let work = dir.join("work");
        std::fs::create_dir_all(&blobs)?;
        std::fs::create_dir_all(&work)?;
        Ok(BlobStore {
            blobs,
            work,
            next: AtomicU64::new(1),
        })
    }

    /// A fresh blob id.
    pub(crate) fn new_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Where blob `id` lives.
    pub(crate) fn path(&self, id: u64) -> PathBuf {
        self.blobs.join(id.to_string())
    }

    /// A fresh path in the work directory.
    pub(crate) fn work_path(&self, name: &str) -> PathBuf {
        self.work.join(format!("{name}-{}", self.new_id()))
    }

    /// Stores `bytes` as a new blob (seed data and small sandbox-made files).
    pub(crate) fn put_bytes(&self, bytes: &[u8]) -> io::Result<(u64, Received)> {
        let id = self.new_id();
        std::fs::write(self.path(id), bytes)?;
        let mut hasher = ContentHasher::default();
        hasher.update(bytes);
        Ok((
            id,
            Received {
                len: bytes.len() as u64,
                hash: hasher.finish(),
            },
        ))
    }

    /// Moves a finished work file into the blob directory and returns its blob id.
    pub(crate) fn adopt(&self, work_file: &Path) -> io::Result<u64> {
        let id = self.new_id();
        std::fs::rename(work_file, self.path(id))?;
        Ok(id)
    }

    /// Streams blob `id` (or `len` bytes of it from `start`) as a response body.
    pub(crate) async fn read(&self, id: u64, start: u64, len: u64) -> io::Result<Body> {
        let mut file = File::open(self.path(id)).await?;
        if start > 0 {
            file.seek(SeekFrom::Start(start)).await?;
        }
        let reader = tokio::io::AsyncReadExt::take(file, len);
        Ok(Body::from_stream(
            tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024),
        ))
    }

    /// Copies blob or work file `from` onto the end of `to`, feeding `hasher` (used to join the
    /// pieces of a concurrent upload session).
    pub(crate) async fn append_file(
        from: &Path,
        to: &mut BufWriter<File>,
        hasher: &mut ContentHasher,
    ) -> io::Result<u64> {
        let file = File::open(from).await?;
        let mut stream = tokio_util::io::ReaderStream::with_capacity(file, 1024 * 1024);
        let mut total = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            to.write_all(&chunk).await?;
            total += chunk.len() as u64;
        }
        Ok(total)
    }
}

/// Streams a request body onto the end of `file`, at most `limit` bytes, feeding `whole` (the
/// hash of the file so far) and returning the length and hash of this body alone. On error the
/// caller truncates the file back; a body over the limit is read to its end and discarded.
pub(crate) async fn receive(
    body: Body,
    file: &mut File,
    limit: u64,
    mut whole: Option<&mut ContentHasher>,
) -> Result<Received, BodyError> {
    let mut writer = BufWriter::with_capacity(1024 * 1024, file);
    let mut stream = body.into_data_stream();
    let mut hasher = ContentHasher::default();
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Client(e.to_string()))?;
        len += chunk.len() as u64;
        if len > limit {
            while let Some(rest) = stream.next().await {
                rest.map_err(|e| BodyError::Client(e.to_string()))?;
            }
            return Err(BodyError::TooLarge);
        }
        hasher.update(&chunk);
        if let Some(whole) = whole.as_deref_mut() {
            whole.update(&chunk);
        }
        writer.write_all(&chunk).await?;
    }
    writer.flush().await?;
    Ok(Received {
        len,
        hash: hasher.finish(),
    })
}

/// Reads and discards a request body (so an early error answer is not seen as a reset).
pub(crate) async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        if chunk.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(data: &[u8]) -> String {
        let mut h = ContentHasher::default();
        h.update(data);
        h.finish()
    }

    #[test]
    fn published_vectors() {
        assert_eq!(
            hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hash(b"hello"),
            "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50"
        );
        let zeros = vec![0u8; 8 * 1024 * 1024 + 1];
        assert_eq!(
            hash(&zeros[..4 * 1024 * 1024]),
            "c7e946d101855255d919ef0c70718633adf77d3dfb3adeeecf5d0cb4e951be58"
        );
        assert_eq!(
            hash(&zeros[..4 * 1024 * 1024 + 1]),
            "14a4d47f23a30177885d9820122f17d2d3a55fe63f7f5c27b95f689e0b2accd6"
        );
        assert_eq!(
            hash(&zeros[..8 * 1024 * 1024]),
            "03ae066c707c588592d9e27aa2444ca98423e0999024f1ceaa11a153790b37de"
        );
        // Feeding in odd pieces gives the same hash.
        let mut h = ContentHasher::default();
        for piece in zeros[..8 * 1024 * 1024].chunks(1_000_003) {
            h.update(piece);
        }
        assert_eq!(h.finish(), hash(&zeros[..8 * 1024 * 1024]));
    }
}
