//! Dropbox's `content_hash`: SHA-256 over the SHA-256 digests of each 4 MiB block.

use sha2::{Digest, Sha256};

use crate::client::BLOCK_SIZE;

/// Computes Dropbox's `content_hash` incrementally, as bytes stream through.
///
/// The content is cut into 4 MiB blocks; each block is hashed with SHA-256, and the
/// concatenated block digests are hashed again. The result is lowercase hex.
///
/// ```
/// use dropbox_client::ContentHasher;
/// let mut h = ContentHasher::new();
/// h.update(b"hel");
/// h.update(b"lo");
/// assert_eq!(h.finish(), "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50");
/// ```
#[derive(Clone, Default)]
pub struct ContentHasher {
    overall: Sha256,
    block: Sha256,
    block_len: usize,
    total: u64,
}

impl std::fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentHasher")
            .field("bytes", &self.total)
            .finish()
    }
}

impl ContentHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes in order.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        while !data.is_empty() {
            let room = BLOCK_SIZE - self.block_len;
            let take = room.min(data.len());
            self.block.update(&data[..take]);
            self.block_len += take;
            data = &data[take..];
            if self.block_len == BLOCK_SIZE {
                let digest = std::mem::take(&mut self.block).finalize();
                self.overall.update(digest);
                self.block_len = 0;
            }
        }
    }

    /// How many bytes have been fed.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether no bytes have been fed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The hash of everything fed, as 64 lowercase hex characters.
    pub fn finish(mut self) -> String {
        if self.block_len > 0 {
            let digest = self.block.finalize();
            self.overall.update(digest);
        }
        hex::encode(self.overall.finalize())
    }

    /// The hash of one buffer.
    pub fn hash(data: &[u8]) -> String {
        let mut h = ContentHasher::new();
        h.update(data);
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_and_offline_vectors() {
        assert_eq!(
            ContentHasher::hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            ContentHasher::hash(b"hello"),
            "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50"
        );
        let zeros = vec![0u8; 8 * 1024 * 1024 + 1];
        assert_eq!(
            ContentHasher::hash(&zeros[..BLOCK_SIZE]),
            "c7e946d101855255d919ef0c70718633adf77d3dfb3adeeecf5d0cb4e951be58"
        );
        assert_eq!(
            ContentHasher::hash(&zeros[..BLOCK_SIZE + 1]),
            "14a4d47f23a30177885d9820122f17d2d3a55fe63f7f5c27b95f689e0b2accd6"
        );
        assert_eq!(
            ContentHasher::hash(&zeros[..2 * BLOCK_SIZE]),
            "03ae066c707c588592d9e27aa2444ca98423e0999024f1ceaa11a153790b37de"
        );
    }

    #[test]
    fn split_points_do_not_matter() {
        let data: Vec<u8> = (0..(BLOCK_SIZE * 2 + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        let whole = ContentHasher::hash(&data);
        for step in [1usize, 7, 4096, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 3] {
            let mut h = ContentHasher::new();
            for piece in data.chunks(step) {
                h.update(piece);
            }
            assert_eq!(h.finish(), whole, "step {step}");
        }
    }

    /// The published vector (milky-way-nasa.jpg, 9,711,423 bytes) is given per block; the file
    /// itself is not shipped, so check the block-combination step with its digests.
    #[test]
    fn published_vector_block_combination() {
        let blocks = [
            "2a846fa617c3361fc117e1c5c1e1838c336b6a5cef982c1a2d9bdf68f2f1992a",
            "c68469027410ea393eba6551b9fa1e26db775f00eae70a0c3c129a0011a39cf9",
            "7376192de020925ce6c5ef5a8a0405e931b0a9a8c75517aacd9ca24a8a56818b",
        ];
        let mut overall = Sha256::new();
        for b in blocks {
            overall.update(hex::decode(b).unwrap());
        }
        assert_eq!(
            hex::encode(overall.finalize()),
            "485291fa0ee50c016982abbfa943957bcd231aae0492ccbaa22c58e3997b35e0"
        );
    }
}
