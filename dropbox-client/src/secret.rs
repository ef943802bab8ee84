//! [`Secret`]: a string that never shows itself.

use std::fmt;

/// A secret string (token, refresh token, app secret, link password).
///
/// Its `Debug` and `Display` print `<redacted>`; only [`Secret::expose`] gives the value, for
/// the one place that must send it.
///
/// It deserializes from a plain string, so configuration structs can hold secrets directly.
/// The other client of this family has the same type with the same behaviour.
///
/// ```
/// use dropbox_client::Secret;
/// let s = Secret::new("s3cr3t");
/// assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
/// assert_eq!(s.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// Serializes an optional secret as its value, for the few arguments that must send one (a
/// link password): `#[serde(serialize_with = "crate::secret::expose_opt")]`. `Secret` itself has
/// no `Serialize`, so it cannot reach a state file or a log through serde by accident.
pub(crate) fn expose_opt<S: serde::Serializer>(
    secret: &Option<Secret>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(s) => serializer.serialize_some(s.expose()),
        None => serializer.serialize_none(),
    }
}
