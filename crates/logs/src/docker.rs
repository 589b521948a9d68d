//! The `docker` source: containers' json-file logs (`<data_root>/containers/<id>/<id>-json.log`
//! and its rotated `…-json.log.N`), read by the same tailer as `files`, each record decoded,
//! partial (16 KiB) records merged per stream, then joined and parsed like a file's lines, with
//! the container's identity as the resource (from its `config.v2.json`).

use crate::assemble::{kv, kv_bool, rule_of, Joined, Joiner, Recorder};
use crate::files::{checkpoint_dir, run_tailing, LineHandler, ReaderSetup, Records};
use lookout_config::{DockerLogsConfig, LogSettings, LogStartAt, Pattern};
use lookout_logparse::{
    parse_container_config, parse_docker_line, MultilineRule, PartialMerger, Stream,
};
use lookout_model::otlp::KeyValue;
use lookout_pipeline::{BoxFuture, ComponentStats, Source, SourceContext};
use lookout_tail::{StartAt, TailConfig};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What is known of one container.
struct Container {
    key: String,
    name: String,
    resource: Arc<Vec<KeyValue>>,
    /// Metadata could not be read yet (retried).
    partial: bool,
    read_at: Instant,
}

/// One json-file being read.
struct DockerFile {
    container: String,
    merger: PartialMerger,
    /// Where the pending partial record of each stream began.
    partial_start: [Option<u64>; 2],
    joiners: [Joiner; 2],
    last_after: u64,
}

fn stream_index(s: Stream) -> usize {
    match s {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

const STREAMS: [Stream; 2] = [Stream::Stdout, Stream::Stderr];

/// The json-file handler.
pub(crate) struct DockerFiles {
    rule: MultilineRule,
    settings: LogSettings,
    recorder: Recorder,
    host: Arc<Vec<KeyValue>>,
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
    files: HashMap<u64, DockerFile>,
    containers: HashMap<String, Container>,
    bad: HashMap<&'static str, u64>,
    logged: HashSet<&'static str>,
    excluded_lines: u64,
    merged: u64,
    cut: u64,
}

impl DockerFiles {
    fn new(cfg: &DockerLogsConfig, host: Arc<Vec<KeyValue>>) -> Result<DockerFiles, String> {
        let settings = cfg.logs();
        Ok(DockerFiles {
            rule: rule_of(&settings.multiline, settings.parser)?,
            recorder: Recorder::new(&settings)?,
            settings,
            host,
            include: cfg
                .include_containers
                .iter()
                .cloned()
                .map(Pattern)
                .collect(),
            exclude: cfg
                .exclude_containers
                .iter()
                .cloned()
                .map(Pattern)
                .collect(),
            files: HashMap::new(),
            containers: HashMap::new(),
            bad: HashMap::new(),
            logged: HashSet::new(),
            excluded_lines: 0,
            merged: 0,
            cut: 0,
        })
    }

    /// The container owning `path` (its directory name), its metadata read (again) when
    /// missing.
    fn container(&mut self, path: &Path) -> String {
        let id = path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stale = self
            .containers
            .get(&id)
            .is_none_or(|c| c.partial && c.read_at.elapsed() >= Duration::from_secs(5));
        if stale {
            let dir = path.parent().unwrap_or(Path::new("/"));
            let meta = std::fs::read(dir.join("config.v2.json"))
                .ok()
                .and_then(|b| parse_container_config(&b).ok());
            let mut res: Vec<KeyValue> = (*self.host).clone();
            let (name, partial) = match &meta {
                Some(m) => {
                    res.extend(m.resource_attributes().into_iter().map(|(k, v)| KeyValue {
                        key: k,
                        value: Some(v.to_any_value()),
                        ..Default::default()
                    }));
                    (m.name.clone(), false)
                }
                None => {
                    res.push(kv("container.id", id.as_str()));
                    res.push(kv("container.runtime", "docker"));
                    (String::new(), true)
                }
            };
            self.containers.insert(
                id.clone(),
                Container {
                    key: id.clone(),
                    name,
                    resource: Arc::new(res),
                    partial,
                    read_at: Instant::now(),
                },
            );
        }
        id
    }

    fn wanted(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(name)))
            && !self.exclude.iter().any(|p| p.matches(name))
    }

    fn bad_line(&mut self, reason: &'static str, path: &Path) {
        *self.bad.entry(reason).or_default() += 1;
        if self.logged.insert(reason) {
            tracing::warn!(
                "{}: a line is not a Docker json-file record ({reason}); skipped and counted in lookout_log_docker_bad_lines_total (logged once)",
                path.display()
            );
        }
    }

    fn emit(
        &self,
        container: &str,
        stream: Stream,
        j: &Joined,
        time: u64,
        now: u64,
        out: &mut Records,
    ) {
        let Some(c) = self.containers.get(container) else {
            return;
        };
        let mut attrs = vec![kv("log.iostream", stream.as_str())];
        if j.truncated {
            attrs.push(kv_bool("log.record.truncated", true));
        }
        let mut r = self.recorder.record(&j.text, now, attrs);
        if r.time_unix_nano == 0 {
            r.time_unix_nano = time;
        }
        out.push(&c.key, &c.resource, r);
    }
}

impl LineHandler for DockerFiles {
    fn line(&mut self, line: lookout_tail::Line, now: u64, out: &mut Records) {
        let fp = line.fingerprint;
        out.touched.push(fp);
        if !self.files.contains_key(&fp) {
            let container = self.container(&line.file);
            let (rule, max) = (&self.rule, self.settings.max_record_bytes);
            self.files.insert(
                fp,
                DockerFile {
                    container,
                    merger: PartialMerger::new(self.settings.max_line_bytes),
                    partial_start: [None, None],
                    joiners: [Joiner::new(rule, max), Joiner::new(rule, max)],
                    last_after: 0,
                },
            );
        }
        let d = match parse_docker_line(line.text.as_bytes()) {
            Ok(d) => d,
            Err(e) => {
                if let Some(f) = self.files.get_mut(&fp) {
                    f.last_after = line.offset_after;
                }
                self.bad_line(e.reason(), &line.file);
                return;
            }
        };
        let Some(f) = self.files.get_mut(&fp) else {
            return;
        };
        f.last_after = line.offset_after;
        let s = stream_index(d.stream);
        if d.partial && f.partial_start[s].is_none() {
            f.partial_start[s] = Some(line.offset_before);
        }
        let Some(m) = f.merger.push(d) else {
            return;
        };
        let start = f.partial_start[s].take().unwrap_or(line.offset_before);
        let (parts, cut, stream, time) = (m.parts, m.truncated, m.stream, m.time_nanos);
        let done = f.joiners[s].push(m.log, m.truncated, start, line.offset_after, now);
        let container = f.container.clone();
        if parts > 1 {
            self.merged += 1;
        }
        if cut {
            self.cut += 1;
        }
        let wanted = self
            .containers
            .get(&container)
            .is_some_and(|c| self.wanted(&c.name));
        if let Some(j) = done {
            if wanted {
                self.emit(&container, stream, &j, time, now, out);
            } else {
                self.excluded_lines += 1;
            }
        }
    }

    fn flush_due(&mut self, now: u64, out: &mut Records) {
        let idle = self.settings.multiline_timeout.0.as_nanos() as u64;
        let mut done = Vec::new();
        for (fp, f) in self.files.iter_mut() {
            for s in STREAMS {
                if let Some(j) = f.joiners[stream_index(s)].flush_due(now, idle) {
                    done.push((*fp, f.container.clone(), s, j));
                }
            }
        }
        for (fp, c, s, j) in done {
            out.touched.push(fp);
            if self
                .containers
                .get(&c)
                .is_some_and(|k| self.wanted(&k.name))
            {
                self.emit(&c, s, &j, now, now, out);
            }
        }
    }

    fn safe_offset(&self, fp: u64) -> Option<u64> {
        let f = self.files.get(&fp)?;
        let mut pending = f
            .partial_start
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>();
        for j in &f.joiners {
            if j.has_pending() {
                pending.push(j.safe_offset());
            }
        }
        Some(pending.into_iter().min().unwrap_or(f.last_after))
    }

    fn retain(&mut self, open: &dyn Fn(u64) -> bool, now: u64, out: &mut Records) {
        let gone: Vec<u64> = self
            .files
            .keys()
            .filter(|fp| !open(**fp))
            .copied()
            .collect();
        for fp in gone {
            let Some(mut f) = self.files.remove(&fp) else {
                continue;
            };
            // a removed container: what it still held is emitted
            let mut texts = Vec::new();
            for m in f.merger.flush() {
                let s = stream_index(m.stream);
                if let Some(j) = f.joiners[s].push(m.log, m.truncated, 0, f.last_after, now) {
                    texts.push((m.stream, j));
                }
            }
            for s in STREAMS {
                if let Some(j) = f.joiners[stream_index(s)].flush() {
                    texts.push((s, j));
                }
            }
            if self
                .containers
                .get(&f.container)
                .is_some_and(|c| self.wanted(&c.name))
            {
                for (s, j) in texts {
                    self.emit(&f.container, s, &j, now, now, out);
                }
            }
            out.closed.push((fp, f.last_after));
            if !self.files.values().any(|o| o.container == f.container) {
                self.containers.remove(&f.container);
            }
        }
    }

    fn report(&self, stats: &ComponentStats) {
        for (reason, n) in &self.bad {
            stats.set_labeled(
                "lookout_log_docker_bad_lines_total",
                "Lines of json-file logs that are not Docker records, by reason.",
                "reason",
                reason,
                *n,
            );
        }
        stats.set_labeled(
            "lookout_log_docker_lines_total",
            "Docker log lines by outcome.",
            "outcome",
            "merged_partials",
            self.merged,
        );
        stats.set_labeled(
            "lookout_log_docker_lines_total",
            "Docker log lines by outcome.",
            "outcome",
            "excluded",
            self.excluded_lines,
        );
        stats.set_labeled(
            "lookout_log_truncated_total",
            "Log lines or multi-line records cut at their size limit.",
            "what",
            "line",
            self.cut,
        );
        stats.set_gauge(
            "lookout_log_docker_containers",
            "Containers whose logs are being read.",
            self.containers.len() as f64,
        );
    }
}

/// The `docker` source.
pub struct DockerSource {
    id: String,
    cfg: DockerLogsConfig,
    resource: Arc<Vec<KeyValue>>,
    data_dir: PathBuf,
}

impl DockerSource {
    /// A docker source; checkpoints go to `<data_dir>/checkpoints/<id>/`.
    pub fn new(
        id: &str,
        cfg: DockerLogsConfig,
        resource: Arc<Vec<KeyValue>>,
        data_dir: &Path,
    ) -> Result<DockerSource, String> {
        rule_of(&cfg.multiline, cfg.parser)?;
        Recorder::new(&cfg.logs())?;
        Ok(DockerSource {
            id: id.to_string(),
            cfg,
            resource,
            data_dir: data_dir.to_path_buf(),
        })
    }

    fn tail_config(&self) -> TailConfig {
        let root = self.cfg.data_root.join("containers");
        TailConfig {
            include: vec![format!("{}/*/*-json.log*", root.display())],
            exclude: vec!["*.gz".into()],
            start_at: match self.cfg.start_at {
                LogStartAt::Beginning => StartAt::Beginning,
                LogStartAt::End => StartAt::End,
            },
            // a json-file record holds at most 16 KiB of log plus its JSON framing and escapes
            max_line_bytes: self.cfg.max_line_bytes.max(256 * 1024),
            rescan_interval: self.cfg.rescan_interval.0,
            ..TailConfig::default()
        }
    }
}

impl Source for DockerSource {
    fn run(self: Box<Self>, cx: SourceContext) -> BoxFuture {
        Box::pin(async move {
            if !self.cfg.data_root.join("containers").is_dir() {
                tracing::info!(
                    source = %self.id,
                    "{} does not exist (yet): no Docker containers to read; looking again every rescan",
                    self.cfg.data_root.join("containers").display()
                );
            }
            let handler = match DockerFiles::new(&self.cfg, self.resource.clone()) {
                Ok(h) => h,
                Err(e) => {
                    cx.stats.record_failure(&e);
                    return;
                }
            };
            let setup = ReaderSetup {
                tail: self.tail_config(),
                checkpoint_dir: checkpoint_dir(&self.data_dir, &self.id),
                checkpoint_interval: self.cfg.checkpoint_interval.0,
                poll_interval: self.cfg.poll_interval.0,
                batch_max: self.cfg.batch_max_records,
                scope: "lookout.docker",
            };
            run_tailing(self.id.clone(), setup, Box::new(handler), cx).await
        })
    }
}
