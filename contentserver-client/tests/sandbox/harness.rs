//! The suite's harness: a sandbox with the demo seed, clients for its users, seeded ids read
//! from the manifest, request counts, and generated document contents that are streamed up and
//! checked on the way down without ever being held whole.

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use contentserver_client::api::documents::Download;
use contentserver_client::{Client, ClientBuilder, Credentials, RetryPolicy, UploadBody};
use futures::stream::{self, TryStreamExt};
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

/// A running sandbox and its Content Server manifest.
pub struct Env {
    pub sb: Sandbox,
    pub manifest: Value,
}

/// A sandbox with the demo seed and default settings.
pub async fn start() -> Env {
    start_with(SandboxConfig::new()).await
}

/// A sandbox started with `config`.
pub async fn start_with(config: SandboxConfig) -> Env {
    let sb = sandbox::start(config).await.expect("sandbox starts");
    let manifest = sb.contentserver_manifest();
    Env { sb, manifest }
}

/// A retry policy that retries at once, up to `attempts` attempts in all.
pub fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
        .jitter(0.0)
}

impl Env {
    /// The Content Server base URL (with the prefix).
    pub fn url(&self) -> String {
        self.sb.contentserver_url()
    }

    /// A client builder for the sandbox with a fast retry policy and no credentials yet.
    pub fn builder(&self) -> ClientBuilder {
        Client::builder(self.url()).retry_policy(fast_retry(3))
    }

    /// A client logged in (lazily) as `admin`.
    pub fn admin(&self) -> Client {
        self.client_as("admin")
    }

    /// A client for seeded user `name`, with the password from the manifest.
    pub fn client_as(&self, name: &str) -> Client {
        let password = self.password(name);
        self.builder()
            .credentials(Credentials::password(name, password))
            .build()
            .expect("client builds")
    }

    /// The password of seeded user `name`, from the manifest.
    pub fn password(&self, name: &str) -> String {
        self.manifest["credentials"]["users"]
            .as_array()
            .expect("credentials.users")
            .iter()
            .find(|u| u["username"] == name)
            .and_then(|u| u["password"].as_str())
            .unwrap_or_else(|| panic!("no seeded user {name}"))
            .to_string()
    }

    /// The manifest value at `keys` (object keys, taken literally: names may hold `/`).
    pub fn at(&self, keys: &[&str]) -> &Value {
        keys.iter().fold(&self.manifest, |v, k| {
            v.get(*k)
                .unwrap_or_else(|| panic!("manifest has no {keys:?} (stopped at {k:?})"))
        })
    }

    /// The id at `keys` in the manifest.
    pub fn id(&self, keys: &[&str]) -> i64 {
        self.at(keys)
            .as_i64()
            .unwrap_or_else(|| panic!("manifest {keys:?} is not an id"))
    }

    /// The Enterprise Workspace id.
    pub fn ews(&self) -> i64 {
        self.id(&["volumes", "enterprise_workspace"])
    }

    /// A seeded folder, by path under the Enterprise Workspace.
    pub fn folder(&self, path: &str) -> i64 {
        self.id(&["folders", path])
    }

    /// A seeded user id.
    pub fn user(&self, name: &str) -> i64 {
        self.id(&["users", name])
    }

    /// A category id and the keys of its attributes by name.
    pub fn category(&self, name: &str) -> i64 {
        self.id(&["categories", name, "id"])
    }

    /// The numeric id of attribute `attr` of category `cat` (by names).
    pub fn attr(&self, cat: &str, attr: &str) -> i64 {
        self.id(&["categories", cat, "attributes", attr, "id"])
    }

    /// How many requests the Content Server emulator counted for route `key`
    /// (e.g. `POST /api/v1/auth`).
    pub fn count(&self, key: &str) -> u64 {
        self.sb.contentserver_stats().count(key)
    }

    /// How often fault rule `id` fired.
    pub fn fired(&self, id: u64) -> u64 {
        let list = self.sb.contentserver_faults().list();
        list["rules"]
            .as_array()
            .and_then(|rules| rules.iter().find(|r| r["id"] == id))
            .and_then(|r| r["fired"].as_u64())
            .unwrap_or_else(|| panic!("no fault rule {id} in {list}"))
    }
}

/// Length of the pseudo-random block generated contents repeat: a prime, so that a chunk
/// misplaced by any power-of-two distance does not compare equal.
const BLOCK_LEN: usize = 1_048_573;
/// Size of the chunks generated uploads are made of.
const CHUNK: usize = 256 * 1024;

fn block() -> &'static Bytes {
    static BLOCK: OnceLock<Bytes> = OnceLock::new();
    BLOCK.get_or_init(|| {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut out = Vec::with_capacity(BLOCK_LEN + 8);
        while out.len() < BLOCK_LEN {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        out.truncate(BLOCK_LEN);
        Bytes::from(out)
    })
}

/// Generated content: `len` bytes of a pseudo-random pattern; `seed` shifts the pattern so that
/// two contents of the same length differ.
#[derive(Clone, Copy, Debug)]
pub struct Content {
    pub len: u64,
    pub seed: u64,
}

impl Content {
    pub fn new(len: u64, seed: u64) -> Self {
        Content { len, seed }
    }

    fn start(&self, offset: u64) -> usize {
        ((offset + self.seed * 7919) % BLOCK_LEN as u64) as usize
    }

    /// The chunks of the content, from the first byte, each a slice of the shared block.
    pub fn chunks(self) -> impl futures::Stream<Item = io::Result<Bytes>> + Send + 'static {
        stream::unfold(0u64, move |offset| async move {
            if offset >= self.len {
                return None;
            }
            let at = self.start(offset);
            let want = (self.len - offset).min(CHUNK as u64) as usize;
            let take = want.min(BLOCK_LEN - at);
            let chunk = block().slice(at..at + take);
            Some((Ok(chunk), offset + take as u64))
        })
    }

    /// A re-openable upload body of this content.
    pub fn body(self) -> UploadBody {
        UploadBody::reopenable(self.len, move || async move { Ok(self.chunks()) })
    }

    /// The content in memory (small contents only).
    pub fn to_vec(self) -> Vec<u8> {
        assert!(self.len <= 64 << 20, "to_vec is for small contents");
        let mut out = Vec::with_capacity(self.len as usize);
        let mut offset = 0u64;
        while offset < self.len {
            let at = self.start(offset);
            let take = ((self.len - offset) as usize).min(BLOCK_LEN - at);
            out.extend_from_slice(&block()[at..at + take]);
            offset += take as u64;
        }
        out
    }

    /// Whether `data`, found at `offset` of a download, equals this content there.
    fn matches_at(&self, mut offset: u64, mut data: &[u8]) -> bool {
        while !data.is_empty() {
            let at = self.start(offset);
            let take = data.len().min(BLOCK_LEN - at);
            if data[..take] != block()[at..at + take] {
                return false;
            }
            data = &data[take..];
            offset += take as u64;
        }
        true
    }

    /// Reads `download` chunk by chunk and checks every byte and the length against this
    /// content. Panics on a mismatch; returns the download's error if its stream fails.
    pub async fn verify(self, download: Download) -> contentserver_client::Result<()> {
        assert_eq!(download.size, Some(self.len), "Content-Length");
        let mut body = download.into_stream();
        let mut offset = 0u64;
        while let Some(chunk) = body.try_next().await? {
            assert!(
                offset + chunk.len() as u64 <= self.len,
                "download longer than {} bytes",
                self.len
            );
            assert!(
                self.matches_at(offset, &chunk),
                "download differs within bytes {offset}..{}",
                offset + chunk.len() as u64
            );
            offset += chunk.len() as u64;
        }
        assert_eq!(offset, self.len, "download length");
        Ok(())
    }
}
