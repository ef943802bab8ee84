#![no_main]
//! The Dropbox-API-Arg header form of any JSON value or text decodes back to the same value.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    dropbox_client::fuzzing::api_arg_round_trip(data);
});
