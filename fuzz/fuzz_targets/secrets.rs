//! Feeds arbitrary bytes to the secret store's decryption (a tampered or foreign file) and to
//! the parser of an external secret command's answer. Any input must give a value or an
//! error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lookout_secrets::decrypt(&[7u8; 32], data);
    let names = vec!["a".to_string(), "db/password".to_string()];
    let _ = lookout_secrets::backend::parse_output(data, &names);
});
