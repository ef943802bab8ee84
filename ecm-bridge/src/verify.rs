//! Verification of every transfer: the bytes are counted and hashed as they stream to the
//! target (with the kind of hash the source announced, and only what the sink also needs:
//! each kind is a SHA-256 pass over every byte), and compared with what the source announced.
//!
//! [`verified`] holds back the last chunk of a stream until the whole content has been hashed:
//! when the bytes do not match, the stream fails *instead of* delivering its last chunk, so an
//! upload of known length can never complete with wrong bytes. [`check_receipt`] compares a
//! sink's receipt with the source afterwards; [`hash_stream`] hashes a read-back.

use std::io;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dropbox_client::ContentHasher;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result, Step};
use crate::model::{ByteStream, ContentHash, Document, HashKind};
use crate::sink::Receipt;

/// Which hashes a pass over a stream computes. Each is one more SHA-256 pass over every byte
/// (the Dropbox content hash is SHA-256 of SHA-256 blocks), so a pass computes only what it
/// compares: the source's announced hash, plus what the caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashKinds {
    /// SHA-256 of the whole content.
    pub sha256: bool,
    /// The Dropbox content hash.
    pub dropbox: bool,
}

impl HashKinds {
    /// No hash: the bytes are only counted.
    pub const NONE: HashKinds = HashKinds {
        sha256: false,
        dropbox: false,
    };
    /// Both hashes.
    pub const ALL: HashKinds = HashKinds {
        sha256: true,
        dropbox: true,
    };

    /// These kinds and `kind`.
    pub fn with(mut self, kind: HashKind) -> HashKinds {
        match kind {
            HashKind::Sha256 => self.sha256 = true,
            HashKind::DropboxContentHash => self.dropbox = true,
        }
        self
    }

    /// Whether nothing is hashed.
    pub fn is_empty(self) -> bool {
        self == HashKinds::NONE
    }
}

/// What a complete pass over a stream saw: its length, and the hashes it computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// Bytes.
    pub len: u64,
    /// SHA-256, hex, when computed.
    pub sha256: Option<String>,
    /// Dropbox content hash, hex, when computed.
    pub dropbox: Option<String>,
}

impl Hashed {
    /// The computed hashes as [`ContentHash`]es.
    pub fn hashes(&self) -> Vec<ContentHash> {
        let mut out = Vec::new();
        if let Some(h) = &self.dropbox {
            out.push(ContentHash::dropbox(h.clone()));
        }
        if let Some(h) = &self.sha256 {
            out.push(ContentHash::sha256(h.clone()));
        }
        out
    }

    /// The hash of `kind`, when computed.
    pub fn of(&self, kind: HashKind) -> Option<&str> {
        match kind {
            HashKind::DropboxContentHash => self.dropbox.as_deref(),
            HashKind::Sha256 => self.sha256.as_deref(),
        }
    }

    /// One computed hash to compare another pass with (SHA-256 when computed, else the
    /// Dropbox content hash), or `None` when this pass only counted.
    pub fn strongest(&self) -> Option<ContentHash> {
        self.sha256
            .clone()
            .map(ContentHash::sha256)
            .or_else(|| self.dropbox.clone().map(ContentHash::dropbox))
    }

    /// Checks the length and (when given) the hash against what the source announced. A hash
    /// of a kind this pass did not compute fails: nothing unchecked passes for checked.
    pub fn check(&self, doc: &str, len: u64, expected: Option<&ContentHash>) -> Result<()> {
        if self.len != len {
            return Err(Error::Verify {
                doc: doc.to_owned(),
                expected: format!("{len} bytes"),
                actual: format!("{} bytes", self.len),
            });
        }
        if let Some(exp) = expected {
            let Some(actual) = self.of(exp.kind) else {
                return Err(Error::Verify {
                    doc: doc.to_owned(),
                    expected: exp.to_string(),
                    actual: format!("bytes not hashed as {:?}", exp.kind),
                });
            };
            if actual != exp.value {
                return Err(Error::Verify {
                    doc: doc.to_owned(),
                    expected: exp.to_string(),
                    actual: ContentHash {
                        kind: exp.kind,
                        value: actual.to_owned(),
                    }
                    .to_string(),
                });
            }
        }
        Ok(())
    }
}

struct Hashers {
    sha: Option<Sha256>,
    dropbox: Option<ContentHasher>,
    len: u64,
}

impl Hashers {
    fn new(kinds: HashKinds) -> Hashers {
        Hashers {
            sha: kinds.sha256.then(Sha256::new),
            dropbox: kinds.dropbox.then(ContentHasher::new),
            len: 0,
        }
    }

    fn update(&mut self, b: &[u8]) {
        if let Some(h) = &mut self.sha {
            h.update(b);
        }
        if let Some(h) = &mut self.dropbox {
            h.update(b);
        }
        self.len += b.len() as u64;
    }

    fn finish(self) -> Hashed {
        Hashed {
            len: self.len,
            sha256: self.sha.map(|h| hex::encode(h.finalize())),
            dropbox: self.dropbox.map(ContentHasher::finish),
        }
    }
}

/// Where [`verified`] leaves the result of the last complete, verified pass.
pub type VerifiedSlot = Arc<Mutex<Option<Hashed>>>;

struct State {
    inner: ByteStream,
    held: Option<Bytes>,
    hashers: Option<Hashers>,
    doc: String,
    len: u64,
    expected: Option<ContentHash>,
    slot: VerifiedSlot,
    done: bool,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Wraps `inner` so that its bytes are counted and hashed, and the last chunk is delivered
/// only if the content has exactly `len` bytes and matches `expected`. It computes the kind of
/// `expected` and the `also` kinds, nothing more. On success the hashes are left in `slot`.
pub fn verified(
    inner: ByteStream,
    doc: impl Into<String>,
    len: u64,
    expected: Option<ContentHash>,
    also: HashKinds,
    slot: VerifiedSlot,
) -> ByteStream {
    let kinds = match &expected {
        Some(e) => also.with(e.kind),
        None => also,
    };
    let state = State {
        inner,
        held: None,
        hashers: Some(Hashers::new(kinds)),
        doc: doc.into(),
        len,
        expected,
        slot,
        done: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        loop {
            match s.inner.next().await {
                Some(Ok(chunk)) => {
                    if chunk.is_empty() {
                        continue;
                    }
                    let h = s.hashers.as_mut().expect("hashers live until the end");
                    h.update(&chunk);
                    if h.len > s.len {
                        s.done = true;
                        let msg = format!("{}: more than the announced {} bytes", s.doc, s.len);
                        return Some((Err(invalid(msg)), s));
                    }
                    if let Some(prev) = s.held.replace(chunk) {
                        return Some((Ok(prev), s));
                    }
                }
                Some(Err(e)) => {
                    s.done = true;
                    return Some((Err(e), s));
                }
                None => {
                    s.done = true;
                    let hashed = s.hashers.take().expect("finished once").finish();
                    if let Err(e) = hashed.check(&s.doc, s.len, s.expected.as_ref()) {
                        return Some((Err(invalid(e.to_string())), s));
                    }
                    *s.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(hashed);
                    return s.held.take().map(|last| (Ok(last), s));
                }
            }
        }
    })
    .boxed()
}

/// Hashes (both kinds) and counts a whole stream (a read-back).
pub async fn hash_stream<S, E>(stream: S) -> std::result::Result<Hashed, E>
where
    S: futures::Stream<Item = std::result::Result<Bytes, E>>,
{
    hash_stream_as(stream, HashKinds::ALL).await
}

/// Counts a whole stream and computes the hashes of `kinds`.
pub async fn hash_stream_as<S, E>(stream: S, kinds: HashKinds) -> std::result::Result<Hashed, E>
where
    S: futures::Stream<Item = std::result::Result<Bytes, E>>,
{
    let mut hashers = Hashers::new(kinds);
    futures::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        hashers.update(&chunk?);
    }
    Ok(hashers.finish())
}

/// Checks a receipt against the document: the byte count, and every hash the sink reports
/// that is of the same kind as the source's.
pub fn check_receipt(doc: &Document, receipt: &Receipt) -> Result<()> {
    let name = doc.path.as_str();
    if receipt.bytes != doc.size {
        return Err(Error::Verify {
            doc: name.to_owned(),
            expected: format!("{} bytes", doc.size),
            actual: format!("{} bytes at {}", receipt.bytes, receipt.target),
        });
    }
    if let Some(expected) = &doc.hash {
        for sent in receipt
            .sent_hashes
            .iter()
            .filter(|h| h.kind == expected.kind)
        {
            if sent.value != expected.value {
                return Err(Error::Verify {
                    doc: name.to_owned(),
                    expected: expected.to_string(),
                    actual: sent.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Maps an I/O error of a verified stream to the crate's error.
pub(crate) fn io_error(doc: &str, step: Step, e: io::Error) -> Error {
    Error::Io {
        doc: doc.to_owned(),
        step,
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    fn chunks(parts: &[&'static [u8]]) -> ByteStream {
        let v: Vec<io::Result<Bytes>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        futures::stream::iter(v).boxed()
    }

    #[tokio::test]
    async fn good_bytes_pass_and_leave_hashes() {
        let slot = VerifiedSlot::default();
        let expected = ContentHash::dropbox(ContentHasher::hash(b"hello"));
        let s = verified(
            chunks(&[b"he", b"", b"llo"]),
            "d",
            5,
            Some(expected.clone()),
            HashKinds::NONE.with(HashKind::Sha256),
            slot.clone(),
        );
        let got: Vec<Bytes> = s.try_collect().await.unwrap();
        assert_eq!(got.concat(), b"hello");
        let h = slot.lock().unwrap().clone().unwrap();
        assert_eq!(h.len, 5);
        assert_eq!(
            h.sha256.as_deref(),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(h.dropbox.as_deref(), Some(expected.value.as_str()));
    }

    #[tokio::test]
    async fn a_pass_computes_only_the_kinds_it_compares() {
        let slot = VerifiedSlot::default();
        let expected = ContentHash::dropbox(ContentHasher::hash(b"hello"));
        let s = verified(
            chunks(&[b"hello"]),
            "d",
            5,
            Some(expected.clone()),
            HashKinds::NONE,
            slot.clone(),
        );
        s.try_collect::<Vec<_>>().await.unwrap();
        let h = slot.lock().unwrap().clone().unwrap();
        assert_eq!(h.dropbox.as_deref(), Some(expected.value.as_str()));
        assert_eq!(h.sha256, None, "SHA-256 was not asked for");
        assert_eq!(h.hashes(), vec![expected.clone()]);
        assert_eq!(h.strongest(), Some(expected));

        let slot = VerifiedSlot::default();
        let s = verified(
            chunks(&[b"hello"]),
            "d",
            5,
            None,
            HashKinds::NONE,
            slot.clone(),
        );
        s.try_collect::<Vec<_>>().await.unwrap();
        let counted = slot.lock().unwrap().clone().unwrap();
        assert_eq!((counted.len, counted.hashes()), (5, vec![]));
        assert!(counted.check("d", 5, None).is_ok());
        let err = counted
            .check("d", 5, Some(&ContentHash::sha256("00")))
            .unwrap_err();
        assert!(
            matches!(err, Error::Verify { .. }),
            "an uncomputed hash never passes: {err}"
        );
    }

    #[tokio::test]
    async fn wrong_bytes_never_deliver_the_last_chunk() {
        let slot = VerifiedSlot::default();
        let expected = ContentHash::sha256("00");
        let mut s = verified(
            chunks(&[b"he", b"llo"]),
            "d",
            5,
            Some(expected),
            HashKinds::NONE,
            slot.clone(),
        );
        assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from_static(b"he"));
        let err = s.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("sha256:00"), "{err}");
        assert!(s.next().await.is_none());
        assert!(slot.lock().unwrap().is_none());
    }

    #[tokio::test]
    async fn wrong_length_fails() {
        let none = HashKinds::NONE;
        let short = verified(
            chunks(&[b"hell"]),
            "d",
            5,
            None,
            none,
            VerifiedSlot::default(),
        );
        assert!(short.try_collect::<Vec<_>>().await.is_err());
        let long = verified(
            chunks(&[b"hello!"]),
            "d",
            5,
            None,
            none,
            VerifiedSlot::default(),
        );
        assert!(long.try_collect::<Vec<_>>().await.is_err());
    }
}
