//! Feeds arbitrary bytes (lossily decoded as UTF-8) to the redaction rules and the sensitive-key
//! classifier. Any input must be redacted without a panic, and any rewritten output must carry a
//! redaction marker (`lookout_processors::redact::fuzz_redact` asserts it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lookout_processors::redact::fuzz_redact(data);
});
