//! Feeds arbitrary bytes to `lookout-logparse` (see `fuzz_one`: every format including csvlog and
//! nginx `log_format`s, journald and Docker records): parsed with autodetection and with every fixed
//! format, converted to OTLP log records, and joined line by line by the automatic multi-line
//! rules with a small byte bound. Nothing may panic.
//!
//! Run with `cargo +nightly fuzz run logparse` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lookout_logparse::fuzz_one(data);
});
