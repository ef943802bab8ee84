//! The raw escape hatch: any path, any method, form fields, the `body` JSON field, a file part.
//!
//! Raw calls go through the same transport as the typed API: ticket, re-login, retries and
//! error mapping all apply.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::documents::Download;
use crate::client::Client;
use crate::error::Result;
use crate::transport::{Call, FilePart};
use crate::upload::UploadBody;

/// Entry point of raw calls; see [`Client::raw`].
#[derive(Clone, Debug)]
pub struct Raw {
    client: Client,
}

impl Raw {
    pub(crate) fn new(client: Client) -> Self {
        Raw { client }
    }

    /// A request of any method on `path`, relative to the base URL (e.g. `api/v2/nodes/2000`).
    pub fn request(&self, method: Method, path: impl Into<String>) -> RawRequest {
        let path: String = path.into();
        RawRequest {
            client: self.client.clone(),
            call: Call::new(method, path.trim_start_matches('/').to_string()),
        }
    }

    /// A `GET` on `path`.
    pub fn get(&self, path: impl Into<String>) -> RawRequest {
        self.request(Method::GET, path)
    }

    /// A `POST` on `path`.
    pub fn post(&self, path: impl Into<String>) -> RawRequest {
        self.request(Method::POST, path)
    }

    /// A `PUT` on `path`.
    pub fn put(&self, path: impl Into<String>) -> RawRequest {
        self.request(Method::PUT, path)
    }

    /// A `DELETE` on `path`.
    pub fn delete(&self, path: impl Into<String>) -> RawRequest {
        self.request(Method::DELETE, path)
    }
}

/// A raw request being built.
///
/// ```no_run
/// # async fn demo(client: contentserver_client::Client) -> contentserver_client::Result<()> {
/// let answer = client
///     .raw()
///     .put("api/v2/nodes/1234")
///     .body_json(&serde_json::json!({"name": "renamed"}))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RawRequest {
    client: Client,
    call: Call,
}

impl std::fmt::Debug for RawRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Form fields may hold secrets: show only the method and path.
        f.debug_struct("RawRequest")
            .field("method", &self.call.method)
            .field("path", &self.call.path)
            .finish_non_exhaustive()
    }
}

impl RawRequest {
    /// Adds a query parameter (repeatable).
    pub fn query(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.call = self.call.query(key, value);
        self
    }

    /// Adds a value-less query flag such as `metadata`.
    pub fn flag(mut self, key: impl Into<String>) -> Self {
        self.call = self.call.flag(key);
        self
    }

    /// Adds a form field (repeatable).
    pub fn form(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.call = self.call.form(key, value);
        self
    }

    /// Sets the form field `body` to `value` serialised as JSON.
    pub fn body_json(mut self, value: &Value) -> Self {
        self.call = self.call.body_json(value);
        self
    }

    /// Declares a POST safe to repeat: it only reads (or only logs in). Without this a raw POST
    /// is treated as a write and repeated only when the server certainly did nothing (a
    /// connect error, a 429, a 503 with `Retry-After`); GET, PUT and DELETE are always safe to
    /// repeat.
    pub fn safe_to_repeat(mut self) -> Self {
        self.call = self.call.safe_to_repeat();
        self
    }

    /// Declares a PUT or DELETE unsafe to repeat: it moves something on (initiates a process,
    /// acts on a task), so a lost answer must not be repaired by sending it again. It is then
    /// treated like a write POST.
    pub fn unsafe_to_repeat(mut self) -> Self {
        self.call = self.call.unsafe_to_repeat();
        self
    }

    /// Sends the request as multipart with a streamed file part named `file`.
    pub fn file(
        mut self,
        file_name: impl Into<String>,
        mime_type: impl Into<String>,
        body: UploadBody,
    ) -> Self {
        self.call = self.call.file(FilePart {
            file_name: file_name.into(),
            mime_type: mime_type.into(),
            body,
        });
        self
    }

    /// Sends the request and returns the whole JSON answer.
    pub async fn send(self) -> Result<Value> {
        Ok(self.client.transport.json(self.call).await?.value)
    }

    /// Sends the request and decodes the whole JSON answer as `T`.
    pub async fn send_as<T: DeserializeOwned>(self) -> Result<T> {
        self.client.transport.json(self.call).await?.into_type()
    }

    /// Sends the request and returns the body as a byte stream.
    pub async fn download(self) -> Result<Download> {
        let streamed = self.client.transport.stream(self.call).await?;
        Ok(Download::from_streamed(streamed))
    }
}
