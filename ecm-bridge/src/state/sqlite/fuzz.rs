//! The SQLite store's row decoding fed with arbitrary column values, for the `state_record`
//! fuzz target and its corpus regression test (through [`crate::fuzzing::state_record`]).

use rusqlite::types::Value as Sql;
use rusqlite::Connection;

use super::rows::{claim_row, history_row, record_row, step_row};
use crate::model::DocumentMeta;

/// Column values from `data`: fields split at `0x1f`; a field's first byte says its type
/// (`n` null, `i` integer from the next 8 bytes, `r` real, `b` blob, anything else text, the
/// whole field as UTF-8 with replacements).
fn columns(data: &[u8], n: usize) -> Vec<Sql> {
    let mut fields = data.split(|b| *b == 0x1f);
    (0..n)
        .map(|_| match fields.next() {
            None | Some([b'n', ..]) => Sql::Null,
            Some([b'i', rest @ ..]) => {
                let mut buf = [0u8; 8];
                let k = rest.len().min(8);
                buf[..k].copy_from_slice(&rest[..k]);
                Sql::Integer(i64::from_le_bytes(buf))
            }
            Some([b'r', rest @ ..]) => {
                Sql::Real(String::from_utf8_lossy(rest).parse().unwrap_or(0.5))
            }
            Some([b'b', rest @ ..]) => Sql::Blob(rest.to_vec()),
            Some(text) => Sql::Text(String::from_utf8_lossy(text).into_owned()),
        })
        .collect()
}

/// Decodes `data` as a row of each table (records, history, steps, claims) with the store's
/// own row readers, and a decoded record's resume context as the runner reads it. Returns how
/// many rows decoded; a row that does not must be an error, never a panic.
pub(crate) fn decode_rows(data: &[u8]) -> usize {
    thread_local! {
        static CONN: Connection = Connection::open_in_memory().expect("an in-memory database");
    }
    CONN.with(|conn| {
        let mut ok = 0;
        let mut select =
            |n: usize, f: &mut dyn FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>| {
                let params = (1..=n)
                    .map(|i| format!("?{i}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut stmt = conn
                    .prepare_cached(&format!("SELECT {params}"))
                    .expect("a SELECT");
                let values = columns(data, n);
                let r = stmt.query_row(rusqlite::params_from_iter(values.iter()), |row| f(row));
                match r {
                    Ok(()) => ok += 1,
                    Err(e) => drop(e.to_string()),
                }
            };
        select(17, &mut |row| {
            let record = record_row(row)?;
            if let Some(doc) = record.context.as_ref().and_then(|c| c.get("doc")) {
                let _ = serde_json::from_value::<DocumentMeta>(doc.clone());
            }
            Ok(())
        });
        select(6, &mut |row| history_row(row).map(drop));
        select(10, &mut |row| step_row(row).map(drop));
        select(6, &mut |row| claim_row(row).map(drop));
        ok
    })
}
