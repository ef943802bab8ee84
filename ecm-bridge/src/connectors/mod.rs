//! Connectors: Dropbox and Content Server as sources, sinks and after-write markers.

pub mod contentserver;
pub mod dropbox;
