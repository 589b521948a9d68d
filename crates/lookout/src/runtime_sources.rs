//! Log sources the operator adds, pauses and resumes on a running agent (`lookout logs add`,
//! the terminal UI's Logs screen), kept in `<data_dir>/sources.json` (owner-only) so they
//! survive restarts, reloads and re-discovery. The configuration file is never rewritten for
//! them.
//!
//! An added source joins the path the configuration's other log sources take (the processors
//! that read them, so redaction applies), or every sink when none does. A paused source is left
//! out of the running configuration; its checkpoint stays, so resuming reads on from where it
//! stopped.

use lookout_config::{Config, SourceConfig, SourceKind};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One added `files` source.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Added {
    /// Paths or globs.
    pub include: Vec<String>,
    /// Left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// `beginning` or `end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
}

/// The operator's run-time log sources.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSources {
    /// Added sources by id.
    #[serde(default)]
    pub added: BTreeMap<String, Added>,
    /// Paused source ids (any log source: the file's, added or discovered).
    #[serde(default)]
    pub paused: BTreeSet<String>,
}

/// Whether a source reads logs.
pub fn is_log_source(kind: &SourceKind) -> bool {
    matches!(
        kind,
        SourceKind::Files(_) | SourceKind::Journald(_) | SourceKind::Docker(_)
    )
}

impl RuntimeSources {
    /// The file.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("sources.json")
    }

    /// Reads them (none when the file is missing).
    pub fn load(data_dir: &Path) -> Result<RuntimeSources, String> {
        crate::datadir::load_json(&Self::path(data_dir))
    }

    /// Writes them atomically, owner-only (creating the data directory).
    pub fn save(&self, data_dir: &Path) -> Result<(), String> {
        crate::datadir::save_json(data_dir, &Self::path(data_dir), self)
    }

    /// Checks a new source before it is recorded: a fresh, well-formed id and a source that
    /// validates.
    pub fn check_new(&self, id: &str, a: &Added, running: &Config) -> Result<(), String> {
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "invalid source id `{id}`: use 1-64 letters, digits, `_` or `-`"
            ));
        }
        if self.added.contains_key(id) || running.sources.iter().any(|s| s.id == id) {
            return Err(format!("a source `{id}` exists already"));
        }
        if a.include.is_empty() {
            return Err("give at least one path or glob to read".into());
        }
        render(id, a).map(|_| ())
    }
}

fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The source an added entry stands for, validated like any configuration.
pub fn render(id: &str, a: &Added) -> Result<SourceConfig, String> {
    let list = |v: &[String]| v.iter().map(|s| yaml_str(s)).collect::<Vec<_>>().join(", ");
    let mut body = format!("type: files, include: [{}]", list(&a.include));
    if !a.exclude.is_empty() {
        body.push_str(&format!(", exclude: [{}]", list(&a.exclude)));
    }
    if let Some(s) = &a.start_at {
        body.push_str(&format!(", start_at: {}", yaml_str(s)));
    }
    let text = format!(
        "sources:\n  {id}: {{{body}}}\nsinks:\n  check: {{type: file, path: /dev/null, inputs: [{id}]}}\n"
    );
    let c = lookout_config::load_str("<added source>", &text, &[], &|_| None).map_err(|e| {
        e.to_string()
            .replace("<added source>", &format!("source {id}"))
    })?;
    c.sources
        .into_iter()
        .next()
        .ok_or_else(|| "the source did not render".to_string())
}

/// Adds `id` (a log source now in `config.sources`) to the inputs of the processors that read
/// the other log sources, or of every sink when no processor does.
pub fn wire_log_source(config: &mut Config, id: &str) {
    let logs: BTreeSet<String> = config
        .sources
        .iter()
        .filter(|s| s.id != id && is_log_source(&s.kind))
        .map(|s| s.id.clone())
        .collect();
    let mut wired = false;
    for p in &mut config.processors {
        if p.inputs.iter().any(|i| logs.contains(i)) {
            if !p.inputs.iter().any(|i| i == id) {
                p.inputs.push(id.to_string());
            }
            wired = true;
        }
    }
    if !wired {
        for s in &mut config.sinks {
            if !s.inputs.iter().any(|i| i == id) {
                s.inputs.push(id.to_string());
            }
        }
    }
}

/// Applies the run-time sources to a configuration: adds the added ones (unless the file now
/// defines the id: the file wins) and leaves out the paused ones. Err when a pause would leave a
/// component without any input.
pub fn apply(config: &mut Config, rt: &RuntimeSources) -> Result<(), String> {
    for (id, a) in &rt.added {
        if config.sources.iter().any(|s| &s.id == id) {
            continue;
        }
        let s = render(id, a)?;
        config.sources.push(s);
        wire_log_source(config, id);
    }
    for id in &rt.paused {
        if !config.sources.iter().any(|s| &s.id == id) {
            continue;
        }
        let starved = config
            .processors
            .iter()
            .map(|p| (&p.id, &p.inputs))
            .chain(config.sinks.iter().map(|s| (&s.id, &s.inputs)))
            .find(|(_, inputs)| inputs.iter().all(|i| i == id))
            .map(|(c, _)| c.clone());
        if let Some(c) = starved {
            return Err(format!(
                "source {id} cannot be paused: it is the only input of {c}"
            ));
        }
        config.sources.retain(|s| &s.id != id);
        for p in &mut config.processors {
            p.inputs.retain(|i| i != id);
        }
        for s in &mut config.sinks {
            s.inputs.retain(|i| i != id);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn load(text: &str) -> Config {
        lookout_config::load_str("t", text, &[], &|_| None).unwrap()
    }

    fn added(path: &str) -> Added {
        Added {
            include: vec![path.into()],
            ..Added::default()
        }
    }

    #[test]
    fn an_added_source_follows_the_other_logs_through_redaction() {
        let mut c = load("sources:\n  host: {type: host_metrics}\n  app: {type: files, include: [/var/log/a.log]}\nprocessors:\n  scrub: {type: redact, inputs: [app]}\nsinks:\n  out: {type: file, path: /dev/null, inputs: [host, scrub]}\n");
        let mut rt = RuntimeSources::default();
        rt.added.insert("new_logs".into(), added("/tmp/x/*.log"));
        apply(&mut c, &rt).unwrap();
        assert!(c.sources.iter().any(|s| s.id == "new_logs"));
        assert_eq!(c.processors[0].inputs, ["app", "new_logs"]);
        assert_eq!(c.sinks[0].inputs, ["host", "scrub"]);
        crate::autoconf::validate(&c).unwrap();
    }

    #[test]
    fn without_log_processors_it_goes_to_every_sink() {
        let mut c = load("sources:\n  host: {type: host_metrics}\nsinks:\n  a: {type: file, path: /dev/null, inputs: [host]}\n  b: {type: file, path: /dev/null, inputs: [host]}\n");
        let mut rt = RuntimeSources::default();
        rt.added.insert("l".into(), added("/tmp/l.log"));
        apply(&mut c, &rt).unwrap();
        assert_eq!(c.sinks[0].inputs, ["host", "l"]);
        assert_eq!(c.sinks[1].inputs, ["host", "l"]);
    }

    #[test]
    fn pausing_leaves_the_source_out_unless_it_is_the_only_input() {
        let base = load("sources:\n  host: {type: host_metrics}\n  app: {type: files, include: [/var/log/a.log]}\nsinks:\n  out: {type: file, path: /dev/null, inputs: [host, app]}\n  only: {type: file, path: /dev/null, inputs: [app]}\n");
        let mut rt = RuntimeSources::default();
        rt.paused.insert("app".into());
        let e = apply(&mut base.clone(), &rt).unwrap_err();
        assert!(e.contains("only input of only"), "{e}");
        let mut c = base.clone();
        c.sinks.retain(|s| s.id != "only");
        apply(&mut c, &rt).unwrap();
        assert!(!c.sources.iter().any(|s| s.id == "app"));
        assert_eq!(c.sinks[0].inputs, ["host"]);
    }

    #[test]
    fn new_sources_are_checked() {
        let running = load("sources:\n  host: {type: host_metrics}\nsinks:\n  out: {type: file, path: /dev/null, inputs: [host]}\n");
        let rt = RuntimeSources::default();
        assert!(rt
            .check_new("host", &added("/a"), &running)
            .unwrap_err()
            .contains("exists"));
        assert!(rt
            .check_new("a b", &added("/a"), &running)
            .unwrap_err()
            .contains("invalid source id"));
        assert!(rt
            .check_new("x", &Added::default(), &running)
            .unwrap_err()
            .contains("at least one"));
        let e = rt
            .check_new("x", &added("relative/*.log"), &running)
            .unwrap_err();
        assert!(e.contains("source x"), "{e}");
        let quoted = Added {
            include: vec!["/tmp/a, b].log".into()],
            start_at: Some("beginning".into()),
            ..Added::default()
        };
        rt.check_new("x", &quoted, &running).unwrap();
        match render("x", &quoted).unwrap().kind {
            SourceKind::Files(f) => assert_eq!(f.include, ["/tmp/a, b].log"]),
            k => panic!("{k:?}"),
        }
        let dir = tempfile::tempdir().unwrap();
        let mut rt = RuntimeSources::default();
        rt.added.insert("x".into(), quoted);
        rt.paused.insert("y".into());
        rt.save(dir.path()).unwrap();
        assert_eq!(RuntimeSources::load(dir.path()).unwrap(), rt);
    }
}
