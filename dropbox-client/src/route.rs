//! A route's name and whether it is safe to repeat, declared once next to the code that calls it
//! and read by the transport.

/// Whether sending a call twice has the same effect as sending it once.
///
/// The transport repeats a call whose answer was lost or unclear (a timeout, a connection broken
/// after the request went out, a truncated body, a 408 or a 5xx) only when its route is
/// [`Idempotent`]; a [`NotIdempotent`] call is repeated only when the server certainly did not
/// act on it (a connect error, a 429, `too_many_write_operations`, a 503 with `Retry-After`),
/// and otherwise comes back [in doubt](crate::Error::is_in_doubt). Reads, `*/continue` and
/// writes that name their target and result (`tags/add`, `properties/overwrite`) are
/// idempotent; anything that creates, moves, copies or deletes is not.
///
/// [`Idempotent`]: Idempotency::Idempotent
/// [`NotIdempotent`]: Idempotency::NotIdempotent
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating the call is harmless.
    Idempotent,
    /// A repeat may act twice (a second copy, a second file request, ...).
    NotIdempotent,
}

impl Idempotency {
    /// Whether the call may be repeated after its answer was lost.
    pub fn is_idempotent(self) -> bool {
        self == Idempotency::Idempotent
    }
}

/// One route of the API: its name as in the URL (`files/copy_batch_v2`) and its
/// [`Idempotency`]. Every typed call names a `Route` constant of its namespace's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    /// The path after `/2/`.
    pub name: &'static str,
    /// Whether a lost answer may be repaired by sending again.
    pub idempotency: Idempotency,
}

impl Route {
    /// A route that is safe to repeat.
    pub(crate) const fn idempotent(name: &'static str) -> Route {
        Route {
            name,
            idempotency: Idempotency::Idempotent,
        }
    }

    /// A route that may act twice if repeated.
    pub(crate) const fn not_idempotent(name: &'static str) -> Route {
        Route {
            name,
            idempotency: Idempotency::NotIdempotent,
        }
    }
}
