//! The escape hatch: any route by name, with caller-supplied types.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::Client;
use crate::error::Result;
use crate::route::Idempotency;

impl Client {
    /// Calls any RPC route (`"files/lock_file_batch"`, ...) with your own argument and result
    /// types, under the same auth, retry and error handling as the typed routes. `idempotency`
    /// says whether the call may be repeated after its answer was lost (see [`Idempotency`]).
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use dropbox_client::Idempotency;
    /// let v: serde_json::Value = client
    ///     .rpc_raw("check/user", &serde_json::json!({"query": "ping"}), Idempotency::Idempotent)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn rpc_raw<A, R>(&self, route: &str, arg: &A, idempotency: Idempotency) -> Result<R>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.rpc_named(route, idempotency, arg).await
    }

    /// Calls any upload-style route (content host) with a body already in memory. Treated as
    /// [`Idempotency::NotIdempotent`].
    pub async fn upload_raw<A, R>(&self, route: &str, arg: &A, body: Bytes) -> Result<R>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.upload_named(route, Idempotency::NotIdempotent, arg, body)
            .await
    }

    /// Calls any download-style route; returns the decoded `Dropbox-API-Result` and the response
    /// whose body you stream. Treated as [`Idempotency::Idempotent`] (a download changes
    /// nothing).
    pub async fn download_raw<A, R>(&self, route: &str, arg: &A) -> Result<(R, reqwest::Response)>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.download_named(route, Idempotency::Idempotent, arg, None)
            .await
    }
}
