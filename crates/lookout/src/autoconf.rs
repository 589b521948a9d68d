//! Auto-configuration: discovered services rendered from the embedded templates into sources,
//! validated like any config, and merged into the user's configuration (used by
//! `lookout preview` and by the agent's continuous mode).

use lookout_config::{Config, SourceConfig, SourceKind};
use lookout_discovery::correlate::{correlate, Service};
use lookout_discovery::render::{fragment, render};
use lookout_discovery::scan::{scan, ScanOptions};
use std::collections::{BTreeMap, BTreeSet};
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
    discover_at(&lookout_config::HostConfig::default())
}

/// [`discover`] of the host seen at `host.root` (`/host` in a container).
pub fn discover_at(host: &lookout_config::HostConfig) -> Result<Discovered, String> {
    let options = ScanOptions {
        root: host.root.clone(),
        ..ScanOptions::default()
    };
    let services = correlate(&scan(&options), &host.root);
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
    /// The procfs read (`/proc` when empty).
    proc: PathBuf,
}

impl ProcessWatch {
    /// A watch of the processes in `proc` (`<host.root>/proc`).
    pub fn at(proc: PathBuf) -> Self {
        ProcessWatch {
            proc,
            ..Self::default()
        }
    }

    /// Updates the view; true when a service process appeared or went away since the last call
    /// (never on the first call).
    pub fn changed(&mut self) -> bool {
        let proc = if self.proc.as_os_str().is_empty() {
            Path::new("/proc")
        } else {
            self.proc.as_path()
        };
        let Ok(rd) = std::fs::read_dir(proc) else {
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
                let comm = std::fs::read_to_string(proc.join(pid.to_string()).join("comm"))
                    .unwrap_or_default();
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
/// (owner-only): services that must not be collected, and per-service settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Disabled services, by source id (`auto_redis_127_0_0_1_6380`); their log sources
    /// (`..._logN`) are disabled with them.
    #[serde(default)]
    pub disabled: BTreeSet<String>,
    /// Settings of a service, by source id, applied to its source and its log sources
    /// whatever discovery renders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, ServiceOverride>,
}

/// One service's settings that replace the template's.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceOverride {
    /// Collection interval of the service's metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<lookout_config::Duration>,
    /// Extra attributes: resource attributes of its metrics, attributes of its log records.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl ServiceOverride {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.interval.is_none() && self.attributes.is_empty()
    }

    /// Applies it to a source rendered for the service (`log`: one of its log sources).
    fn apply(&self, s: &mut SourceConfig) {
        let attrs = &self.attributes;
        let (interval, target) = match &mut s.kind {
            SourceKind::Redis(c) => (Some(&mut c.interval), &mut c.attributes),
            SourceKind::Mysql(c) => (Some(&mut c.interval), &mut c.attributes),
            SourceKind::Postgresql(c) => (Some(&mut c.interval), &mut c.attributes),
            SourceKind::Nginx(c) | SourceKind::Apache(c) => {
                (Some(&mut c.interval), &mut c.attributes)
            }
            SourceKind::Files(c) => (None, &mut c.attributes),
            _ => return,
        };
        if let (Some(i), Some(v)) = (interval, self.interval) {
            *i = v;
        }
        target.extend(attrs.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

impl Overrides {
    /// The file.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("autoconfig.json")
    }

    /// Reads the overrides (none when the file is missing; an unreadable file is an error).
    pub fn load(data_dir: &Path) -> Result<Overrides, String> {
        crate::datadir::load_json(&Self::path(data_dir))
    }

    /// Writes them atomically, owner-only (creating the data directory).
    pub fn save(&self, data_dir: &Path) -> Result<(), String> {
        crate::datadir::save_json(data_dir, &Self::path(data_dir), self)
    }

    /// Whether a source is disabled (itself, or the service its `_logN` belongs to).
    pub fn is_disabled(&self, id: &str) -> bool {
        self.disabled.iter().any(|d| belongs(id, d))
    }

    /// The settings for a source (the service's own, or its service's for a `_logN`).
    pub fn settings_for(&self, id: &str) -> Option<&ServiceOverride> {
        self.services
            .iter()
            .find(|(service, _)| belongs(id, service))
            .map(|(_, o)| o)
    }
}

/// Whether source `id` is service `service`'s source or one of its `_logN` log sources.
pub fn belongs(id: &str, service: &str) -> bool {
    id == service
        || id
            .strip_prefix(service)
            .and_then(|r| r.strip_prefix("_log"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `base` plus the discovered sources it does not define itself (a source of the user's with
/// the same id wins) and the operator did not disable, with the operator's per-service
/// settings, each added to the inputs of every sink. The result is validated by the same path
/// as a config file (schema, then policy); Err says why it cannot run. Returns the config and
/// the ids added.
pub fn merge(
    base: &Config,
    d: &Discovered,
    o: &Overrides,
) -> Result<(Config, Vec<String>), String> {
    let mut config = base.clone();
    let mut added = Vec::new();
    for s in &d.sources {
        if config.sources.iter().any(|x| x.id == s.id) || o.is_disabled(&s.id) {
            continue;
        }
        added.push(s.id.clone());
        let mut s = s.clone();
        if let Some(settings) = o.settings_for(&s.id) {
            settings.apply(&mut s);
        }
        config.sources.push(s);
    }
    for sink in &mut config.sinks {
        for id in &added {
            if !sink.inputs.contains(id) {
                sink.inputs.push(id.clone());
            }
        }
    }
    if !added.is_empty() {
        validate(&config)?;
    }
    Ok((config, added))
}

/// Validates an assembled config as if it were read from a file: its YAML (secrets masked,
/// which the policy accepts) goes through the loader, schema then policy.
pub fn validate(config: &Config) -> Result<(), String> {
    let text = lookout_config::to_yaml(config);
    lookout_config::load_str("<merged configuration>", &text, &[], &|_| None)
        .map(|_| ())
        .map_err(|e| format!("the merged configuration is invalid: {e}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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

    fn load(text: &str) -> Config {
        lookout_config::load_str("t", text, &[], &|_| None).unwrap()
    }

    #[test]
    fn service_settings_apply_to_the_service_and_its_logs_only() {
        let base = load("sources:\n  host: {type: host_metrics}\nsinks:\n  out: {type: file, path: /dev/null, inputs: [host]}\n");
        let found = load("sources:\n  auto_redis_a: {type: redis, interval: 10s}\n  auto_redis_a_log1: {type: files, include: [/var/log/r.log]}\n  auto_redis_b: {type: redis}\nsinks:\n  out: {type: file, path: /dev/null, inputs: [auto_redis_a, auto_redis_a_log1, auto_redis_b]}\n");
        let d = Discovered {
            services: Vec::new(),
            sources: found.sources,
            skipped: Vec::new(),
        };
        let mut o = Overrides::default();
        o.services.insert(
            "auto_redis_a".into(),
            ServiceOverride {
                interval: Some(lookout_config::Duration::from_secs(30)),
                attributes: [("team".to_string(), "cache".to_string())].into(),
            },
        );
        let (merged, added) = merge(&base, &d, &o).unwrap();
        assert_eq!(added, ["auto_redis_a", "auto_redis_a_log1", "auto_redis_b"]);
        assert_eq!(merged.sinks[0].inputs.len(), 4);
        let by_id = |id: &str| {
            merged
                .sources
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.kind.clone())
        };
        match by_id("auto_redis_a") {
            Some(SourceKind::Redis(c)) => {
                assert_eq!(c.interval, lookout_config::Duration::from_secs(30));
                assert_eq!(c.attributes["team"], "cache");
            }
            k => panic!("{k:?}"),
        }
        match by_id("auto_redis_a_log1") {
            Some(SourceKind::Files(c)) => assert_eq!(c.attributes["team"], "cache"),
            k => panic!("{k:?}"),
        }
        match by_id("auto_redis_b") {
            Some(SourceKind::Redis(c)) => {
                assert_eq!(c.interval, lookout_config::Duration::from_secs(10));
                assert!(c.attributes.is_empty());
            }
            k => panic!("{k:?}"),
        }
        // the overrides file round-trips
        let dir = tempfile::tempdir().unwrap();
        o.save(dir.path()).unwrap();
        assert_eq!(Overrides::load(dir.path()).unwrap(), o);
    }

    #[test]
    fn a_merged_config_breaking_the_policy_is_refused() {
        let base = load("policy: {allow_public_listeners: true}\nsources:\n  s: {type: statsd, udp: 0.0.0.0:8125}\nsinks:\n  out: {type: file, path: /dev/null, inputs: [s]}\n");
        let found = load("sources:\n  auto_redis_a: {type: redis}\nsinks:\n  out: {type: file, path: /dev/null, inputs: [auto_redis_a]}\n");
        let d = Discovered {
            services: Vec::new(),
            sources: found.sources,
            skipped: Vec::new(),
        };
        assert!(merge(&base, &d, &Overrides::default()).is_ok());
        let mut strict = base.clone();
        strict.settings.policy.allow_public_listeners = false;
        let e = merge(&strict, &d, &Overrides::default()).unwrap_err();
        assert!(e.contains("sources.s.udp"), "{e}");
    }
}
