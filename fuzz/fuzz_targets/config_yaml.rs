//! Feeds arbitrary text to the configuration loader (YAML parse, substitution, typing,
//! validation). Any input must give a config or a `ConfigError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let env = |name: &str| (name == "SET").then(|| "value".to_string());
        let _ = lookout_config::load_str("fuzz.yaml", text, &[], &env);
        if let Some((a, b)) = text.split_once('\n') {
            let _ = lookout_config::load_str("fuzz.yaml", b, &[a.to_string()], &env);
        }
    }
});
