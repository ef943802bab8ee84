//! The escape hatch: any route by name, with caller-supplied types.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::Client;
use crate::error::Result;

impl Client {
    /// Calls any RPC route (`"files/lock_file_batch"`, ...) with your own argument and result
    /// types, under the same auth, retry and error handling as the typed routes. Set
    /// `idempotent` when repeating the call after a timeout is harmless.
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// let v: serde_json::Value = client
    ///     .rpc_raw("check/user", &serde_json::json!({"query": "ping"}), true)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn rpc_raw<A, R>(&self, route: &str, arg: &A, idempotent: bool) -> Result<R>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.rpc(route, arg, idempotent).await
    }

    /// Calls any upload-style route (content host) with a body already in memory.
    pub async fn upload_raw<A, R>(&self, route: &str, arg: &A, body: Bytes) -> Result<R>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.upload_call(route, arg, body, false).await
    }

    /// Calls any download-style route; returns the decoded `Dropbox-API-Result` and the response
    /// whose body you stream.
    pub async fn download_raw<A, R>(&self, route: &str, arg: &A) -> Result<(R, reqwest::Response)>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.download_call(route, arg, None).await
    }
}
