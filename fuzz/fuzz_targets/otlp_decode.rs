//! Feeds arbitrary bytes through the OTLP receiver's decoding path (gRPC unframing, gzip,
//! protobuf or JSON decoding of the three signals, validation, re-encoding); the first byte
//! picks the options. Nothing may panic.
//!
//! Run with `cargo +nightly fuzz run otlp_decode` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lookout_receivers::otlp::fuzz_decode(data);
});
