//! Feeds arbitrary bytes to the control API client's answer parser (HTTP/1.1 head, chunked
//! body) and to the decoding of every answer type the CLI and the terminal UI read. Any input
//! must give a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, body)) = lookout_api::parse_response(data) {
        let _ = serde_json::from_str::<lookout_api::Status>(&body);
        let _ = serde_json::from_str::<lookout_api::Tail>(&body);
    }
    let _ = serde_json::from_slice::<lookout_api::Status>(data);
    let _ = serde_json::from_slice::<lookout_api::HostHistory>(data);
    let _ = serde_json::from_slice::<lookout_api::Processes>(data);
    let _ = serde_json::from_slice::<lookout_api::Services>(data);
    let _ = serde_json::from_slice::<lookout_api::LogSources>(data);
    let _ = serde_json::from_slice::<lookout_api::ConfigCheck>(data);
});
