//! Lenient field decoders: Content Server sends numbers as strings in places, and `null` or `""`
//! where a value is absent.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn to_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An optional integer given as a number or a numeric string.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.as_ref().and_then(to_i64))
}

/// An optional non-negative integer given as a number or a numeric string.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?
        .as_ref()
        .and_then(to_i64)
        .and_then(|n| u64::try_from(n).ok()))
}

/// An integer given as a number or a numeric string; absent or unreadable becomes 0.
pub(crate) fn i64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(opt_i64(d)?.unwrap_or(0))
}

/// An optional string; numbers are turned into their text, `""` into `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// A boolean given as `true`, `1` or `"true"`; anything else is `false`.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1"),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "super::opt_i64")]
        a: Option<i64>,
        #[serde(default, deserialize_with = "super::opt_string")]
        b: Option<String>,
        #[serde(default, deserialize_with = "super::lenient_bool")]
        c: bool,
    }

    #[test]
    fn lenient() {
        let t: T = serde_json::from_str(r#"{"a": "12", "b": 5, "c": "true"}"#).unwrap();
        assert_eq!((t.a, t.b.as_deref(), t.c), (Some(12), Some("5"), true));
        let t: T = serde_json::from_str(r#"{"a": null, "b": ""}"#).unwrap();
        assert_eq!((t.a, t.b, t.c), (None, None, false));
    }
}
