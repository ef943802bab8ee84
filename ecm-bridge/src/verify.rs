//! Verification of every transfer: the bytes are hashed (SHA-256 and Dropbox's content hash)
//! and counted as they stream to the target, and compared with what the source announced.
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

/// What a complete pass over a stream saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// Bytes.
    pub len: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Dropbox content hash, hex.
    pub dropbox: String,
}

impl Hashed {
    /// Both hashes as [`ContentHash`]es.
    pub fn hashes(&self) -> Vec<ContentHash> {
        vec![
            ContentHash::dropbox(self.dropbox.clone()),
            ContentHash::sha256(self.sha256.clone()),
        ]
    }

    /// The hash of `kind`.
    pub fn of(&self, kind: HashKind) -> &str {
        match kind {
            HashKind::DropboxContentHash => &self.dropbox,
            HashKind::Sha256 => &self.sha256,
        }
    }

    /// Checks the length and (when given) the hash against what the source announced.
    pub fn check(&self, doc: &str, len: u64, expected: Option<&ContentHash>) -> Result<()> {
        if self.len != len {
            return Err(Error::Verify {
                doc: doc.to_owned(),
                expected: format!("{len} bytes"),
                actual: format!("{} bytes", self.len),
            });
        }
        if let Some(exp) = expected {
            let actual = self.of(exp.kind);
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

#[derive(Default)]
struct Hashers {
    sha: Sha256,
    dropbox: ContentHasher,
    len: u64,
}

impl Hashers {
    fn update(&mut self, b: &[u8]) {
        self.sha.update(b);
        self.dropbox.update(b);
        self.len += b.len() as u64;
    }

    fn finish(self) -> Hashed {
        Hashed {
            len: self.len,
            sha256: hex::encode(self.sha.finalize()),
            dropbox: self.dropbox.finish(),
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
/// only if the content has exactly `len` bytes and matches `expected`. On success the hashes
/// are left in `slot`.
pub fn verified(
    inner: ByteStream,
    doc: impl Into<String>,
    len: u64,
    expected: Option<ContentHash>,
    slot: VerifiedSlot,
) -> ByteStream {
    let state = State {
        inner,
        held: None,
        hashers: Some(Hashers::default()),
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

/// Hashes and counts a whole stream (a read-back).
pub async fn hash_stream<S, E>(stream: S) -> std::result::Result<Hashed, E>
where
    S: futures::Stream<Item = std::result::Result<Bytes, E>>,
{
    let mut hashers = Hashers::default();
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
            Some(expected),
            slot.clone(),
        );
        let got: Vec<Bytes> = s.try_collect().await.unwrap();
        assert_eq!(got.concat(), b"hello");
        let h = slot.lock().unwrap().clone().unwrap();
        assert_eq!(h.len, 5);
        assert_eq!(
            h.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
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
        let short = verified(chunks(&[b"hell"]), "d", 5, None, VerifiedSlot::default());
        assert!(short.try_collect::<Vec<_>>().await.is_err());
        let long = verified(chunks(&[b"hello!"]), "d", 5, None, VerifiedSlot::default());
        assert!(long.try_collect::<Vec<_>>().await.is_err());
    }
}
