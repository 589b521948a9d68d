//! Feeds arbitrary bytes to `lookout-discovery`'s parsers: /proc/net socket tables, dpkg status,
//! rpm output, cgroup paths, and the service config tokenizers. Nothing may panic.
//!
//! Run with `cargo +nightly fuzz run discovery` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lookout_discovery::scan::fuzz_one(data);
    lookout_discovery::configs::fuzz_one(data);
});
