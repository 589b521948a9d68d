//! Feeds arbitrary bytes to what a remote endpoint sends: a signature document (with a fixed
//! configuration and trusted key) and an OpAMP `ServerToAgent` message. Any input must give a
//! value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_remote::{opamp::ServerToAgent, Algorithm, Context, PublicKey};
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let trusted = [PublicKey {
        key_id: "k".into(),
        algorithm: Algorithm::Ed25519,
        public_key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
    }];
    let cx = Context { trusted: &trusted, host: "h", running_version: 0, now: 1, skew: 0 };
    let _ = lookout_remote::verify(b"sources: {}\n", Some(data), &cx);
    if let Ok(m) = ServerToAgent::decode(data) {
        let _ = m.remote_config.as_ref().and_then(|r| r.body());
    }
});
