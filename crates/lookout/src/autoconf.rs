//! Auto-configuration: discovered services rendered from the embedded templates into sources,
//! validated like any config, and merged into the user's configuration (used by
//! `lookout preview` and by the agent's continuous mode).

use lookout_config::{Config, SourceConfig};
use lookout_discovery::correlate::{correlate, Service};
use lookout_discovery::render::{fragment, render};
use lookout_discovery::scan::{scan, ScanOptions};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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

/// Watches process starts and exits between scans, cheaply: lists /proc and reads `comm` only
/// for pids it has not seen. Says whether a server binary discovery knows started or exited.
#[derive(Debug, Default)]
pub struct ProcessWatch {
    /// pid -> whether it is a service binary.
    known: std::collections::HashMap<u32, bool>,
    primed: bool,
}

impl ProcessWatch {
    /// Updates the view; true when a service process appeared or went away since the last call
    /// (never on the first call).
    pub fn changed(&mut self) -> bool {
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return false;
        };
        let mut seen = std::collections::HashSet::with_capacity(self.known.len() + 16);
        let mut changed = false;
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            seen.insert(pid);
            if let std::collections::hash_map::Entry::Vacant(v) = self.known.entry(pid) {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                let service = lookout_discovery::correlate::is_service_binary(&comm);
                v.insert(service);
                changed |= service;
            }
        }
        self.known.retain(|pid, service| {
            let keep = seen.contains(pid);
            if !keep && *service {
                changed = true;
            }
            keep
        });
        let first = !self.primed;
        self.primed = true;
        changed && !first
    }
}

/// The operator's choices that survive re-discovery, kept in `<data_dir>/autoconfig.json`
/// (owner-only): services that must not be collected.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Overrides {
    /// Disabled services, by source id (`auto_redis_127_0_0_1_6380`); their log sources
    /// (`..._logN`) are disabled with them.
    #[serde(default)]
    pub disabled: BTreeSet<String>,
}

impl Overrides {
    /// The file.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("autoconfig.json")
    }

    /// Reads the overrides (none when the file is missing; an unreadable file is an error).
    pub fn load(data_dir: &Path) -> Result<Overrides, String> {
        let p = Self::path(data_dir);
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Overrides::default()),
            Err(e) => Err(format!("cannot read {}: {e}", p.display())),
        }
    }

    /// Writes them atomically, owner-only.
    pub fn save(&self, data_dir: &Path) -> Result<(), String> {
        let p = Self::path(data_dir);
        let text = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        lookout_tail::write_atomic(&p, &text)
            .map_err(|e| format!("cannot write {}: {e}", p.display()))
    }

    /// Whether a source is disabled (itself, or the service its `_logN` belongs to).
    pub fn is_disabled(&self, id: &str) -> bool {
        self.disabled.iter().any(|d| {
            id == d
                || id
                    .strip_prefix(d.as_str())
                    .and_then(|r| r.strip_prefix("_log"))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    }
}

/// `base` plus the discovered sources it does not define itself (a source of the user's with
/// the same id wins) and the operator did not disable, each added to the inputs of every sink.
/// Returns the ids added.
pub fn merge(base: &Config, d: &Discovered, o: &Overrides) -> (Config, Vec<String>) {
    let mut config = base.clone();
    let mut added = Vec::new();
    for s in &d.sources {
        if config.sources.iter().any(|x| x.id == s.id) || o.is_disabled(&s.id) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabling_a_service_disables_its_logs_only() {
        let mut o = Overrides::default();
        o.disabled.insert("auto_redis_127_0_0_1_6380".into());
        assert!(o.is_disabled("auto_redis_127_0_0_1_6380"));
        assert!(o.is_disabled("auto_redis_127_0_0_1_6380_log2"));
        assert!(!o.is_disabled("auto_redis_127_0_0_1_63800"));
        assert!(!o.is_disabled("auto_redis_127_0_0_1_6380_logx"));
        assert!(!o.is_disabled("auto_redis_127_0_0_1_6379"));
    }
}
