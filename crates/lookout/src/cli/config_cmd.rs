//! `lookout config validate|show`.

use super::{load_config, out, Global};
use std::path::PathBuf;
use std::process::ExitCode;

/// `lookout config validate [FILE]`.
pub fn validate(g: &Global, file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    match load_config(g, file.as_deref()) {
        Ok(c) => {
            let what = file
                .or(g.config.clone())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| lookout_config::DEFAULT_ORIGIN.to_string());
            out(&format!(
                "{what}: valid ({} source(s), {} processor(s), {} sink(s))",
                c.sources.len(),
                c.processors.len(),
                c.sinks.len()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(code) => Ok(code),
    }
}

/// `lookout config show [--json]`.
pub fn show(g: &Global, json: bool) -> anyhow::Result<ExitCode> {
    match load_config(g, None) {
        Ok(c) => {
            if json {
                out(&serde_json::to_string_pretty(&lookout_config::to_json(&c))?)?;
            } else {
                print!("{}", lookout_config::to_yaml(&c));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(code) => Ok(code),
    }
}
