//! Feeds arbitrary bytes to `lookout-integrations`: the Redis INFO parser and RESP reply
//! decoder, nginx `stub_status` and Apache `mod_status` parsers, and their metric builders.
//! Nothing may panic.
//!
//! Run with `cargo +nightly fuzz run integrations` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lookout_integrations::fuzz_one(data);
});
