#![no_main]
//! Webhook notifications: the client's parser and the bridge's whole request handler.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    dropbox_client::fuzzing::webhook_notification(data);
    ecm_bridge::fuzzing::webhook_request(data);
});
