//! Auto-configuration: discovered services rendered from the embedded templates into sources,
//! validated like any config, and merged into the user's configuration (used by
//! `lookout preview` and by the agent's continuous mode).

use lookout_config::{Config, SourceConfig};
use lookout_discovery::correlate::{correlate, Service};
use lookout_discovery::render::{fragment, render};
use lookout_discovery::scan::{scan, ScanOptions};

/// The sources discovery would add.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// The services found.
    pub services: Vec<Service>,
    /// Their rendered, validated sources.
    pub sources: Vec<SourceConfig>,
    /// What was left out, and why.
    pub skipped: Vec<String>,
}

impl Discovered {
    /// The ids of the sources, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.sources.iter().map(|s| s.id.clone()).collect();
        ids.sort();
        ids
    }
}

/// Scans the host and renders what it found. Err only for a template that renders invalid
/// configuration (a bug, reported as such).
pub fn discover() -> Result<Discovered, String> {
    let services = correlate(&scan(&ScanOptions::default()), std::path::Path::new("/"));
    let rendered = render(&services);
    let skipped = rendered
        .iter()
        .flat_map(|r| {
            r.skipped
                .iter()
                .map(move |s| format!("{}: {s}", r.instance))
        })
        .collect();
    let ids: Vec<String> = rendered
        .iter()
        .flat_map(|r| r.sources.iter().map(|(id, _)| id.clone()))
        .collect();
    if ids.is_empty() {
        return Ok(Discovered {
            services,
            sources: Vec::new(),
            skipped,
        });
    }
    // the fragment goes through the same validation as any config
    let text = format!(
        "{}sinks:\n  autoconfig_check: {{type: file, path: /dev/null, inputs: [{}]}}\n",
        fragment(&rendered),
        ids.join(", ")
    );
    let frag = lookout_config::load_str(
        "<discovered services>",
        &text,
        &[],
        &lookout_config::process_env,
    )
    .map_err(|e| format!("the rendered configuration is invalid (a template bug): {e}"))?;
    Ok(Discovered {
        services,
        sources: frag.sources,
        skipped,
    })
}

/// `base` plus the discovered sources it does not define itself (a source of the user's with
/// the same id wins), each added to the inputs of every sink. Returns the ids added.
pub fn merge(base: &Config, d: &Discovered) -> (Config, Vec<String>) {
    let mut config = base.clone();
    let mut added = Vec::new();
    for s in &d.sources {
        if config.sources.iter().any(|x| x.id == s.id) {
            continue;
        }
        added.push(s.id.clone());
        config.sources.push(s.clone());
    }
    for sink in &mut config.sinks {
        for id in &added {
            if !sink.inputs.contains(id) {
                sink.inputs.push(id.clone());
            }
        }
    }
    (config, added)
}
