//! Shared set-up: a sandbox on loopback, clients for it, generated contents and hashes.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use dropbox_client::models::files::{ListFolderArg, Metadata};
use dropbox_client::{Client, ClientBuilder, ContentHasher, RetryPolicy};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Token of the first demo account (Dana Demo).
pub const TOKEN: &str = "sandbox-token";
/// Token of the second demo account (Olu Outside).
pub const TOKEN_2: &str = "sandbox-token-2";
/// The team token (with `Dropbox-API-Select-User` / `-Select-Admin`).
pub const TEAM_TOKEN: &str = "sandbox-team-token";
/// The team space of the demo seed.
pub const TEAM_NS: &str = "3000";
/// One MiB.
pub const MIB: usize = 1024 * 1024;

/// A running sandbox (demo seed unless configured otherwise).
pub async fn start() -> Sandbox {
    start_with(SandboxConfig::new()).await
}

/// A running sandbox with this configuration.
pub async fn start_with(config: SandboxConfig) -> Sandbox {
    sandbox::start(config).await.expect("sandbox starts")
}

/// A retry policy for tests: tiny backoff without jitter, server hints honoured up to 2 s.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(5)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(10))
        .jitter(0.0)
        .max_server_delay(Duration::from_secs(2))
        .total_budget(Duration::from_secs(60))
}

/// A builder pointed at the sandbox's Dropbox emulator, with fast retries and no credentials.
pub fn builder(sb: &Sandbox) -> ClientBuilder {
    Client::builder()
        .base_url(sb.dropbox_url().parse().expect("sandbox URL parses"))
        .retry_policy(fast_retries())
}

/// A client of the first demo account.
pub fn client(sb: &Sandbox) -> Client {
    client_for(sb, TOKEN)
}

/// A client with this static token.
pub fn client_for(sb: &Sandbox, token: &str) -> Client {
    builder(sb)
        .access_token(token)
        .build()
        .expect("client builds")
}

/// The request count of one Dropbox route (`"/2/files/upload"`).
pub fn calls(sb: &Sandbox, key: &str) -> u64 {
    sb.dropbox_stats().count(key)
}

/// The `fired` counter of every fault rule, in the order they were added.
pub fn fired(sb: &Sandbox) -> Vec<u64> {
    let list = sb.dropbox_faults().list();
    list["rules"]
        .as_array()
        .expect("rules array")
        .iter()
        .map(|r| r["fired"].as_u64().expect("fired counter"))
        .collect()
}

/// A value of the Dropbox manifest by JSON pointer (`/paths/~1Finance~1Tax Intake`).
pub fn manifest(sb: &Sandbox, pointer: &str) -> Value {
    sb.dropbox_manifest()
        .pointer(pointer)
        .unwrap_or_else(|| panic!("manifest has {pointer}"))
        .clone()
}

/// Deterministic pseudo-random bytes (xorshift), for small contents compared byte by byte.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Generated content of any length as a stream of `piece`-sized chunks, never whole in memory.
///
/// Chunk `i` is a window of a 2 MiB random pool starting at an offset derived from `i`, so the
/// content differs from chunk to chunk (a lost, repeated or reordered chunk changes the hash)
/// while no byte is copied.
pub fn generated(len: u64, piece: usize) -> BoxStream<'static, io::Result<Bytes>> {
    assert!(piece <= MIB, "pieces are windows of the pool");
    let pool = Bytes::from(pseudo_random(2 * MIB, len));
    stream::unfold(0u64, move |sent| {
        let pool = pool.clone();
        async move {
            if sent >= len {
                return None;
            }
            let n = (len - sent).min(piece as u64) as usize;
            let index = sent / piece as u64;
            let start = (index.wrapping_mul(7919) % MIB as u64) as usize;
            Some((Ok(pool.slice(start..start + n)), sent + n as u64))
        }
    })
    .boxed()
}

/// A stream of one in-memory body (for small uploads).
pub fn once(data: impl Into<Bytes>) -> BoxStream<'static, io::Result<Bytes>> {
    stream::iter([Ok(data.into())]).boxed()
}

/// What a stream of bytes hashes to, read chunk by chunk (never whole in memory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// Plain SHA-256, hex: compares bytes independently of Dropbox's scheme.
    pub sha256: String,
    /// Dropbox's `content_hash`.
    pub content_hash: String,
    /// Number of bytes.
    pub len: u64,
}

/// The digests of a stream; panics if the stream fails.
pub async fn digests<E: std::fmt::Debug>(
    mut body: BoxStream<'static, Result<Bytes, E>>,
) -> Digests {
    let mut sha = Sha256::new();
    let mut content = ContentHasher::new();
    let mut len = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("body chunk");
        len += chunk.len() as u64;
        sha.update(&chunk);
        content.update(&chunk);
    }
    Digests {
        sha256: hex::encode(sha.finalize()),
        content_hash: content.finish(),
        len,
    }
}

/// Every entry of a folder listing.
pub async fn list(client: &Client, arg: impl Into<ListFolderArg>) -> Vec<Metadata> {
    client
        .files()
        .list_folder(arg)
        .into_stream()
        .try_collect()
        .await
        .expect("list_folder")
}

/// The names of a folder's entries, sorted.
pub async fn names(client: &Client, path: &str) -> Vec<String> {
    let mut names: Vec<String> = list(client, path)
        .await
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    names.sort();
    names
}

/// The whole content of a (small) file.
pub async fn read(client: &Client, path: &str) -> Bytes {
    client
        .files()
        .download(path)
        .await
        .expect("download starts")
        .bytes()
        .await
        .expect("download completes")
}

/// The route-error tags of an API error (`["path", "not_found"]`), or a panic naming the error.
pub fn tags(err: &dropbox_client::Error) -> Vec<String> {
    err.api()
        .unwrap_or_else(|| panic!("expected an API error, got {err:?}"))
        .tags()
}
