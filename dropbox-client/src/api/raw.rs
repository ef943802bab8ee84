//! The escape hatch: any route by name, with caller-supplied types.

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::Client;
use crate::error::{Error, Result};
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

    /// Calls any download-style route; returns the decoded `Dropbox-API-Result` and the body as
    /// a byte stream, which fails with this crate's [`Error`] (naming the route) when the
    /// connection breaks or no byte arrives within the client's idle limit. Treated as
    /// [`Idempotency::Idempotent`] (a download changes nothing). Unlike
    /// [`Files::download`](crate::api::files::Files::download), a broken body is not resumed.
    pub async fn download_raw<A, R>(
        &self,
        route: &str,
        arg: &A,
    ) -> Result<(R, BoxStream<'static, Result<Bytes>>)>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let (result, resp): (R, reqwest::Response) = self
            .download_named(route, Idempotency::Idempotent, arg, None)
            .await?;
        let idle = self.inner.idle_timeout;
        let route = route.to_owned();
        let body = stream::unfold(Some(resp), move |resp| {
            let route = route.clone();
            async move {
                let mut resp = resp?;
                match tokio::time::timeout(idle, resp.chunk()).await {
                    Ok(Ok(Some(chunk))) => Some((Ok(chunk), Some(resp))),
                    Ok(Ok(None)) => None,
                    Ok(Err(e)) => Some((Err(Error::transport(&route, true, e)), None)),
                    Err(_) => Some((
                        Err(Error::timeout(
                            &route,
                            true,
                            "no byte within the idle limit",
                        )),
                        None,
                    )),
                }
            }
        })
        .boxed();
        Ok((result, body))
    }
}
