//! Where an example keeps its flow's state, as its `--state` names it: a SQLite file (a path),
//! or a PostgreSQL store (`postgres://…` or `postgresql://…`, several workers or hosts sharing
//! it). A `schema` query parameter names the PostgreSQL schema that holds the store's tables
//! (`postgres://ops@db/bridge?schema=archive`; default: the connection's search path); every
//! other part of the URL goes to the server as written.

use std::path::Path;
use std::sync::Arc;

use ecm_bridge::state::{PostgresOptions, PostgresStore, SqliteStore, Store};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens the state `spec` names. With `must_exist`, a SQLite file that is not there is an
/// error (an operator's command reads a flow's state; it does not start an empty one).
pub async fn open(spec: &str, must_exist: bool) -> Result<Arc<dyn Store>, BoxError> {
    let Some((url, schema)) = postgres(spec)? else {
        let path = Path::new(spec);
        if must_exist && !path.exists() {
            return Err(format!("no state file at {}", path.display()).into());
        }
        return Ok(Arc::new(SqliteStore::open(path)?));
    };
    let options = PostgresOptions {
        schema,
        pool_size: 4,
    };
    Ok(Arc::new(PostgresStore::connect_with(&url, &options).await?))
}

/// `spec` for people to read: a PostgreSQL URL without its password (in the user part or as
/// a `password` parameter); one that does not parse shows only the host part after the last
/// `@`, since a mistyped URL still holds the password.
pub fn display(spec: &str) -> String {
    const HIDDEN: &str = "***";
    let Some(scheme) = ["postgres://", "postgresql://"]
        .into_iter()
        .find(|s| spec.starts_with(s))
    else {
        return spec.to_owned();
    };
    match url::Url::parse(spec) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some(HIDDEN));
            }
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| match k.eq_ignore_ascii_case("password") {
                    true => (k.into_owned(), HIDDEN.to_owned()),
                    false => (k.into_owned(), v.into_owned()),
                })
                .collect();
            if !pairs.is_empty() {
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => {
            let rest = &spec[scheme.len()..];
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            let host = host.split('?').next().unwrap_or_default();
            format!("{scheme}{HIDDEN}@{host}")
        }
    }
}

/// A PostgreSQL URL: the URL for the server (without `schema`) and the schema.
fn postgres(spec: &str) -> Result<Option<(String, Option<String>)>, BoxError> {
    if !(spec.starts_with("postgres://") || spec.starts_with("postgresql://")) {
        return Ok(None);
    }
    let mut u = url::Url::parse(spec).map_err(|e| format!("--state {}: {e}", display(spec)))?;
    let mut schema = None;
    let rest: Vec<(String, String)> = u
        .query_pairs()
        .filter_map(|(k, v)| match k.as_ref() {
            "schema" => {
                schema = Some(v.into_owned());
                None
            }
            _ => Some((k.into_owned(), v.into_owned())),
        })
        .collect();
    if rest.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(rest);
    }
    Ok(Some((u.to_string(), schema)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_gives_its_schema_and_keeps_the_rest() {
        assert_eq!(postgres("state.db").unwrap(), None);
        assert_eq!(
            postgres("postgres://ops@db:5433/bridge?schema=archive&connect_timeout=5").unwrap(),
            Some((
                "postgres://ops@db:5433/bridge?connect_timeout=5".to_owned(),
                Some("archive".to_owned())
            ))
        );
        assert_eq!(
            postgres("postgresql://ops@db/bridge").unwrap(),
            Some(("postgresql://ops@db/bridge".to_owned(), None))
        );
    }

    #[test]
    fn a_password_is_not_shown() {
        let shown = display("postgres://ops:s3cr3t-pw@db/bridge?schema=a");
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert!(
            shown.contains("ops") && shown.contains("db/bridge"),
            "{shown}"
        );
        let shown = display("postgresql://ops@db/bridge?password=s3cr3t-pw&schema=a");
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert!(shown.contains("schema=a"), "{shown}");
        // Mistyped (a port that is not a number): the parse fails, the password stays hidden,
        // in the message of the error too.
        let bad = "postgres://ops:s3cr3t-pw@db:54x2/bridge?password=s3cr3t-pw";
        let shown = display(bad);
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert!(shown.contains("db:54x2/bridge"), "{shown}");
        let err = postgres(bad).unwrap_err().to_string();
        assert!(!err.contains("s3cr3t-pw"), "{err}");
        assert_eq!(display("/tmp/state.db"), "/tmp/state.db");
    }
}
