//! `lookout preview`: the configuration auto-configuration would run — the user's (or the
//! embedded default) plus a source per discovered service and log file, rendered from the
//! embedded templates — printed as YAML (secrets masked), with what it adds to what runs now.

use super::out;
use lookout_discovery::correlate::correlate;
use lookout_discovery::render::{fragment, render};
use lookout_discovery::scan::{scan, ScanOptions};
use std::process::ExitCode;

/// Runs the command.
pub fn main(g: &super::Global, json: bool) -> anyhow::Result<ExitCode> {
    let mut config = match super::load_config(g, None) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let started = std::time::Instant::now();
    let services = correlate(&scan(&ScanOptions::default()), std::path::Path::new("/"));
    let scanned = started.elapsed();
    let t = std::time::Instant::now();
    let rendered = render(&services);
    let ids: Vec<String> = rendered
        .iter()
        .flat_map(|r| r.sources.iter().map(|(id, _)| id.clone()))
        .filter(|id| !config.sources.iter().any(|s| &s.id == id))
        .collect();
    let mut added = Vec::new();
    if !ids.is_empty() {
        // the fragment goes through the same validation as any config
        let text = format!(
            "{}sinks:\n  preview_check: {{type: file, path: /dev/null, inputs: [{}]}}\n",
            fragment(&rendered),
            ids.join(", ")
        );
        let frag = match lookout_config::load_str(
            "<discovered services>",
            &text,
            &[],
            &lookout_config::process_env,
        ) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: the rendered configuration is invalid (a template bug)\n{e}");
                return Ok(ExitCode::FAILURE);
            }
        };
        for s in frag.sources {
            // a source the user defined with the same id wins (user overrides survive)
            if ids.contains(&s.id) {
                added.push(s.id.clone());
                config.sources.push(s);
            }
        }
        for sink in &mut config.sinks {
            sink.inputs.extend(added.iter().cloned());
        }
    }
    let merged = t.elapsed();
    let yaml = lookout_config::to_yaml(&config);
    let skipped: Vec<String> = rendered
        .iter()
        .flat_map(|r| {
            r.skipped
                .iter()
                .map(move |s| format!("{}: {s}", r.instance))
        })
        .collect();
    if json {
        out(&serde_json::json!({
            "config": yaml,
            "added_sources": added,
            "skipped": skipped,
            "scan_ms": scanned.as_secs_f64() * 1000.0,
            "render_ms": merged.as_secs_f64() * 1000.0,
        })
        .to_string())?;
    } else {
        out("# lookout preview: what auto-configuration would run (secrets masked)")?;
        for id in &added {
            out(&format!("# + source {id}"))?;
        }
        for s in &skipped {
            out(&format!("# skipped: {s}"))?;
        }
        out(&format!(
            "# scan {:.1} ms, render and merge {:.3} ms",
            scanned.as_secs_f64() * 1000.0,
            merged.as_secs_f64() * 1000.0
        ))?;
        out(yaml.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}
