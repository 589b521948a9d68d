//! Feeds arbitrary bytes to `lookout-discovery`'s Kubernetes parsers: as a `PodList` answer and
//! as the value of each `lookout.io/*` annotation of an otherwise good pod. Nothing may panic.
//!
//! Run with `cargo +nightly fuzz run kubernetes` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lookout_discovery::kubernetes::fuzz_one(data);
});
