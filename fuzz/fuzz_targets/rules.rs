#![no_main]
//! The rules loader: any text loads or is refused with a located rules error.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ecm_bridge::fuzzing::rules_toml(data);
});
