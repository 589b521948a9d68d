//! Feeds arbitrary text to `migrate-infra`'s conversion as `newrelic-infra.yml`, an
//! integrations file and a logging file (split on NUL bytes). Any input must give a plan or an
//! error, never a panic; the plan's YAML must parse back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_migrate::{convert, Input, Options, SourceFile};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let file = |path: &str, t: Option<&str>| SourceFile {
        path: path.into(),
        text: t.unwrap_or_default().into(),
    };
    let input = Input {
        main: file("newrelic-infra.yml", parts.next()),
        env: Vec::new(),
        integrations: vec![file("integrations.d/a.yml", parts.next())],
        logging: vec![file("logging.d/a.yml", parts.next())],
    };
    for allow_unknown in [false, true] {
        if let Ok(plan) = convert(&input, &Options { allow_unknown }) {
            let yaml = plan.config_yaml("fuzz");
            assert!(lookout_config::node::parse("generated", &yaml).is_ok(), "{yaml}");
        }
    }
});
