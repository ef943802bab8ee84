#![no_main]
//! The state store's row decoding from arbitrary column values.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ecm_bridge::fuzzing::state_record(data);
});
