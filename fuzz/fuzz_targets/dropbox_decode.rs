#![no_main]
//! Dropbox answers (JSON results, API-Result header, error answers) decoded from any bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    dropbox_client::fuzzing::decode_answer(data);
});
