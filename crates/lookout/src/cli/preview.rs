//! `lookout preview`: the configuration auto-configuration would run — the user's (or the
//! embedded default) plus a source per discovered service and log file, rendered from the
//! embedded templates — printed as YAML (secrets masked), with what it adds to what runs now.

use super::out;
use crate::autoconf::{discover, merge};
use std::process::ExitCode;

/// Runs the command.
pub fn main(g: &super::Global, json: bool) -> anyhow::Result<ExitCode> {
    let config = match super::load_config(g, None) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let started = std::time::Instant::now();
    let d = match discover() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let discovered = started.elapsed();
    let t = std::time::Instant::now();
    let dir = super::data_dir(g);
    let overrides = match crate::autoconf::Overrides::load(&dir) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let (merged, added) = merge(&config, &d, &overrides);
    let yaml = lookout_config::to_yaml(&merged);
    let took = t.elapsed();
    if json {
        out(&serde_json::json!({
            "config": yaml,
            "added_sources": added,
            "skipped": d.skipped,
            "discover_ms": discovered.as_secs_f64() * 1000.0,
            "merge_ms": took.as_secs_f64() * 1000.0,
        })
        .to_string())?;
    } else {
        out("# lookout preview: what auto-configuration would run (secrets masked)")?;
        for id in &added {
            out(&format!("# + source {id}"))?;
        }
        for s in &d.skipped {
            out(&format!("# skipped: {s}"))?;
        }
        out(&format!(
            "# discovery {:.1} ms (scan, render, validation), merge {:.3} ms",
            discovered.as_secs_f64() * 1000.0,
            took.as_secs_f64() * 1000.0
        ))?;
        out(yaml.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}
