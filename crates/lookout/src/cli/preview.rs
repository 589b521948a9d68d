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
    let (merged, added) = match merge(&config, &d, &overrides) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let yaml = lookout_config::to_yaml(&merged);
    let took = t.elapsed();
    // against what runs now, when an agent runs on this data directory
    let running: Option<Vec<String>> = lookout_api::Client::new(&dir)
        .with_timeout(std::time::Duration::from_secs(3))
        .get::<lookout_api::Status>(lookout_api::paths::STATUS)
        .ok()
        .map(|st| {
            st.components
                .into_iter()
                .filter(|c| c.kind == "source")
                .map(|c| c.id)
                .collect()
        });
    let diff = running.as_ref().map(|run| {
        let want: Vec<&str> = merged.sources.iter().map(|s| s.id.as_str()).collect();
        let plus: Vec<&str> = want
            .iter()
            .copied()
            .filter(|id| !run.iter().any(|r| r == id))
            .collect();
        let minus: Vec<&str> = run
            .iter()
            .map(String::as_str)
            .filter(|r| !want.contains(r))
            .collect();
        (plus, minus)
    });
    if json {
        out(&serde_json::json!({
            "config": yaml,
            "added_sources": added,
            "skipped": d.skipped,
            "discover_ms": discovered.as_secs_f64() * 1000.0,
            "merge_ms": took.as_secs_f64() * 1000.0,
            "running_diff": diff.as_ref().map(|(p, m)| serde_json::json!({"added": p, "removed": m})),
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
        match &diff {
            Some((plus, minus)) if plus.is_empty() && minus.is_empty() => {
                out("# the running agent runs these sources already")?
            }
            Some((plus, minus)) => {
                for id in plus {
                    out(&format!("# against the running agent: + {id}"))?;
                }
                for id in minus {
                    out(&format!("# against the running agent: - {id}"))?;
                }
            }
            None => out("# no agent runs on this data directory: nothing to compare with")?,
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
