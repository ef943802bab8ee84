//! Lenient field decoders: Content Server sends numbers as strings in places, and `null` or `""`
//! where a value is absent.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
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

/// An optional id where 0 means "none" (`reserved_user_id`, `locked_user_id`).
pub(crate) fn opt_nonzero<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(opt_i64(d)?.filter(|n| *n != 0))
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

/// A date as CS writes it, read as a time without a zone: `2025-01-18T12:33:27` (external
/// dates), `2025-01-19T06:57:04Z` or with an offset (turned into UTC), with or without
/// fractional seconds, or a bare `2025-01-18` (midnight).
pub(crate) fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.naive_utc());
    }
    let t = t.trim_end_matches('Z');
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
            return Some(dt);
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// An optional date without a zone (see [`parse_naive`]); `null`, `""` or an unreadable text
/// becomes `None`.
pub(crate) fn opt_naive<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<NaiveDateTime>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => parse_naive(&s),
        _ => None,
    })
}

/// An optional UTC time (`create_date`, `modify_date`: `2025-01-19T06:57:04Z`). A text without
/// a zone is taken as UTC; `null`, `""` or an unreadable text becomes `None`.
pub(crate) fn opt_utc<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(opt_naive(d)?.map(|t| t.and_utc()))
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

    #[test]
    fn dates() {
        let at = |s| super::parse_naive(s).map(|d| d.to_string());
        assert_eq!(
            at("2025-01-18T12:33:27").as_deref(),
            Some("2025-01-18 12:33:27")
        );
        assert_eq!(
            at("2025-01-19T06:57:04Z").as_deref(),
            Some("2025-01-19 06:57:04")
        );
        assert_eq!(
            at("2025-01-19T08:57:04+02:00").as_deref(),
            Some("2025-01-19 06:57:04")
        );
        assert_eq!(
            at("2025-01-19T06:57:04.250").as_deref(),
            Some("2025-01-19 06:57:04.250")
        );
        assert_eq!(at("2025-01-18").as_deref(), Some("2025-01-18 00:00:00"));
        assert_eq!(at(""), None);
        assert_eq!(at("soon"), None);
    }
}
