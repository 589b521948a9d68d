//! Feeds arbitrary bytes to the root helper as a request line from an allowed peer, with a
//! policy that names no file (so nothing is ever written). Any input must give a refusal or a
//! ping answer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_helper::{handle, Policy};

fuzz_target!(|data: &[u8]| {
    let policy = Policy {
        allowed_uids: vec![1000],
        config_files: Vec::new(),
        config_gid: None,
    };
    let r = handle(&policy, 1000, data);
    assert!(r.ok == (r.code.is_none()));
});
