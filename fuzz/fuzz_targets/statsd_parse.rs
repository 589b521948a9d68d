//! Feeds arbitrary bytes to the DogStatsD parser of `lookout-statsd` as a datagram: every line is
//! parsed and rendered as JSON, what parses goes into aggregators, which are flushed and
//! encoded. A line may be rejected but nothing may panic.
//!
//! Run with `cargo +nightly fuzz run statsd_parse` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lookout_statsd::fuzz_one(data);
});
