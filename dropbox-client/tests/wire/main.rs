//! Wire-level tests of the Dropbox client against wiremock (and, for broken bodies, a raw TCP
//! server): exact requests, decoding, errors, retries, auth refresh, uploads, listing.

mod bad_answers;
mod common;
mod download;
mod errors;
mod hostile;
mod listing;
mod retry;
mod routes;
mod team_batch;
mod upload;
