#![no_main]
//! Content Server answers (envelopes, collections, error bodies, HTML pages) decoded from any bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    contentserver_client::fuzzing::decode_answer(data);
});
