//! lookout's configuration, read in two stages.
//!
//! Stage one turns YAML into a tree of [`Node`]s that remember their file, line and column
//! ([`node::parse`]), substitutes `${env:NAME}` references value by value ([`subst`]) and applies
//! `--set key.path=value` overrides ([`set`]). Stage two types the tree into a [`Config`] with a
//! serde deserializer that attaches positions to every error ([`de`]), then checks what types
//! cannot: ids used twice, inputs naming nothing, cycles; then the [`policy`] (no secret in
//! plain text, loopback listeners unless allowed). Every problem is one [`ConfigError`]
//! naming `file:line:column` with a hint. Nothing here touches the system beyond reading the file:
//! the pipeline crate builds components from a validated [`Config`].
#![deny(missing_docs)]

pub mod de;
mod error;
pub mod node;
pub mod policy;
mod schema;
pub mod set;
mod show;
pub mod subst;
mod types;

pub use error::ConfigError;
pub use node::{Mark, Node};
pub use schema::*;
pub use show::{mask_secrets, to_json, to_yaml};
pub use subst::{set_secret_resolver, SecretResolver};
pub use types::{Duration, Endpoint, Filter, Pattern, Spanned};

use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The embedded default configuration: host metrics every 10 s, exposed in Prometheus format
/// on the loopback HTTP server. Works unprivileged and needs no file.
pub const DEFAULT_CONFIG: &str = include_str!("../default.yaml");

/// The origin name used in errors for the embedded default.
pub const DEFAULT_ORIGIN: &str = "<embedded default>";

/// Reads and validates a config file (or the embedded default when `path` is `None`), with
/// `--set` overrides and environment lookups through `env`.
pub fn load(
    path: Option<&Path>,
    sets: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    match path {
        None => load_str(DEFAULT_ORIGIN, DEFAULT_CONFIG, sets, env),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                ConfigError::plain(format!("cannot read config file {}: {e}", p.display()))
                    .with_hint(match e.kind() {
                        std::io::ErrorKind::NotFound => {
                            "check the path, or run without --config to use the embedded default"
                        }
                        std::io::ErrorKind::PermissionDenied => {
                            "make the file readable by the user running lookout"
                        }
                        _ => "check that the path is a readable text file",
                    })
            })?;
            load_str(&p.display().to_string(), &text, sets, env)
        }
    }
}

/// Like [`load`], from text already in memory; `origin` names it in errors.
pub fn load_str(
    origin: &str,
    text: &str,
    sets: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut root = node::parse(origin, text)?;
    if !matches!(root.value, node::Value::Map(_)) {
        return Err(ConfigError::at(
            &root.mark,
            format!(
                "the config must be a mapping of sections, found {}",
                root.kind()
            ),
            Some("start with top-level keys such as `sources:` and `sinks:`"),
        ));
    }
    // the policy reads values as written, before substitution
    let mut raw = root.clone();
    // the secret command is read as written: it must be known before any secret is resolved
    let backend = secret_backend(&raw)?;
    subst::substitute(&mut root, env, backend.as_ref())?;
    for (i, s) in sets.iter().enumerate() {
        set::apply(&mut root, i, s)?;
        set::apply(&mut raw, i, s)?;
    }
    let config = build(&root)?;
    policy::check(&raw, &config)?;
    Ok(config)
}

/// The process environment, for [`load`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

struct Ids {
    marks: HashMap<String, (Mark, &'static str)>,
}

impl Ids {
    fn add(&mut self, id: &str, mark: &Mark, section: &'static str) -> Result<(), ConfigError> {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.'))
        {
            return Err(ConfigError::at(
                mark,
                format!("invalid component id `{id}`"),
                Some("ids use letters, digits and `_ - / .`"),
            ));
        }
        if let Some((first, first_section)) = self.marks.get(id) {
            return Err(ConfigError::at(
                mark,
                format!(
                    "duplicate component id `{id}`: already used by a {} at line {}",
                    first_section.trim_end_matches('s'),
                    first.line
                ),
                Some("component ids are shared by sources, processors and sinks: rename one"),
            ));
        }
        self.marks.insert(id.to_string(), (mark.clone(), section));
        Ok(())
    }
}

fn type_of<'a>(id_node: &Node, body: &'a Node, section: &str) -> Result<&'a str, ConfigError> {
    if !matches!(body.value, node::Value::Map(_)) {
        return Err(ConfigError::at(
            &body.mark,
            format!(
                "{} `{}` must be a mapping with a `type:` key, found {}",
                section.trim_end_matches('s'),
                id_node.as_str().unwrap_or_default(),
                body.kind()
            ),
            None,
        ));
    }
    match body.get("type") {
        Some(t) => t
            .as_str()
            .ok_or_else(|| ConfigError::at(&t.mark, "`type` must be a word", None)),
        None => Err(ConfigError::at(
            &id_node.mark,
            format!(
                "{} `{}` has no `type:`",
                section.trim_end_matches('s'),
                id_node.as_str().unwrap_or_default()
            ),
            Some(match section {
                "sources" => "add `type: host_metrics` or `type: process_metrics`",
                "processors" => "add `type: resource`",
                _ => "add `type:` with one of otlp_http, prometheus, file",
            }),
        )),
    }
}

fn unknown_type(t: &str, body: &Node, known: &[&str]) -> ConfigError {
    let mark = body
        .get("type")
        .map(|n| n.mark.clone())
        .unwrap_or(body.mark.clone());
    ConfigError::at(
        &mark,
        format!("unknown component type `{t}`"),
        Some(&format!("expected one of: {}", known.join(", "))),
    )
}

fn inputs_of(body: &mut Node, id_node: &Node) -> Result<Vec<Spanned<String>>, ConfigError> {
    match body.remove("inputs") {
        Some((_, v)) => {
            let inputs: Vec<Spanned<String>> = de::from_node(&v)?;
            if inputs.is_empty() {
                return Err(ConfigError::at(
                    &v.mark,
                    "`inputs` is empty",
                    Some("list the ids of the sources or processors to read from"),
                ));
            }
            Ok(inputs)
        }
        None => Err(ConfigError::at(
            &id_node.mark,
            format!(
                "`{}` has no `inputs:`",
                id_node.as_str().unwrap_or_default()
            ),
            Some("add `inputs: [<source id>]`"),
        )),
    }
}

fn build(root: &Node) -> Result<Config, ConfigError> {
    let settings: Settings = de::from_node(root)?;
    check_host_and_kubernetes(root, &settings)?;
    let mut ids = Ids {
        marks: HashMap::new(),
    };
    let mut refs: Vec<(String, Spanned<String>, bool)> = Vec::new(); // (consumer, input, consumer_is_processor)

    let mut sources = Vec::new();
    if let Some(section) = root.get("sources") {
        check_section(section, "sources")?;
        for (k, body) in section.entries() {
            let id = k.as_str().unwrap_or_default().to_string();
            ids.add(&id, &k.mark, "sources")?;
            let t = type_of(k, body, "sources")?;
            let mut body = body.clone();
            body.remove("type");
            let kind = match t {
                "host_metrics" => {
                    let mut c: HostMetricsConfig = typed(&body, k)?;
                    // paths not written derive from `host.root`
                    if body.get("proc_path").is_none() {
                        c.proc_path = settings.host.proc();
                    }
                    if body.get("root_path").is_none() {
                        c.root_path = settings.host.root.clone();
                    }
                    if c.interval.0 < std::time::Duration::from_millis(100) {
                        let m = body
                            .get("interval")
                            .map(|n| n.mark.clone())
                            .unwrap_or(body.mark.clone());
                        return Err(ConfigError::at(
                            &m,
                            format!("interval {} is too short", c.interval),
                            Some("use at least 100ms (10s is the default)"),
                        ));
                    }
                    SourceKind::HostMetrics(c)
                }
                "process_metrics" => {
                    let mut c: ProcessMetricsConfig = typed(&body, k)?;
                    if body.get("proc_path").is_none() {
                        c.proc_path = settings.host.proc();
                    }
                    if body.get("etc_path").is_none() {
                        c.etc_path = settings.host.etc();
                    }
                    for (key, min) in [("interval", 100u64), ("lifecycle_interval", 100)] {
                        let d = if key == "interval" {
                            c.interval
                        } else {
                            c.lifecycle_interval
                        };
                        if d.0 < std::time::Duration::from_millis(min) {
                            let m = body
                                .get(key)
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone());
                            return Err(ConfigError::at(
                                &m,
                                format!("{key} {d} is too short"),
                                Some("use at least 100ms"),
                            ));
                        }
                    }
                    SourceKind::ProcessMetrics(c)
                }
                "statsd" => {
                    let c: StatsdConfig = typed(&body, k)?;
                    let at = |key: &str| {
                        body.get(key)
                            .map(|n| n.mark.clone())
                            .unwrap_or(body.mark.clone())
                    };
                    if c.flush_interval.0 < std::time::Duration::from_millis(100) {
                        return Err(ConfigError::at(
                            &at("flush_interval"),
                            format!("flush_interval {} is too short", c.flush_interval),
                            Some("use at least 100ms (10s is the default)"),
                        ));
                    }
                    if let Some(p) = c
                        .percentiles
                        .iter()
                        .find(|p| p.is_nan() || **p <= 0.0 || **p >= 1.0)
                    {
                        return Err(ConfigError::at(
                            &at("percentiles"),
                            format!("percentile {p} is out of range"),
                            Some("write fractions between 0 and 1, e.g. [0.5, 0.9, 0.99]"),
                        ));
                    }
                    if c.max_series_per_metric == 0 {
                        return Err(ConfigError::at(
                            &at("max_series_per_metric"),
                            "max_series_per_metric must be at least 1".to_string(),
                            None,
                        ));
                    }
                    if c.udp.is_none() && c.tcp.is_none() && c.unix.is_none() {
                        return Err(ConfigError::at(
                            &body.mark,
                            "this statsd source has no listener".to_string(),
                            Some("set `udp`, `tcp` or `unix`"),
                        ));
                    }
                    if c.tls.is_some() && c.tcp.is_none() {
                        return Err(ConfigError::at(
                            &at("tls"),
                            "tls applies to the TCP listener, and `tcp` is not set".to_string(),
                            Some("set `tcp: 127.0.0.1:8125` or remove `tls`"),
                        ));
                    }
                    SourceKind::Statsd(c)
                }
                "otlp" => {
                    let c: OtlpReceiverConfig = typed(&body, k)?;
                    if c.grpc.is_none() && c.http.is_none() {
                        return Err(ConfigError::at(
                            &body.mark,
                            "this otlp source has no listener".to_string(),
                            Some("set `grpc` or `http`"),
                        ));
                    }
                    if c.grpc.is_some() && c.grpc == c.http {
                        return Err(ConfigError::at(
                            &body
                                .get("http")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            "grpc and http cannot share one address".to_string(),
                            Some(
                                "the defaults are 127.0.0.1:4317 (grpc) and 127.0.0.1:4318 (http)",
                            ),
                        ));
                    }
                    if c.max_request_bytes < 1024 {
                        return Err(ConfigError::at(
                            &body
                                .get("max_request_bytes")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            format!("max_request_bytes {} is too small", c.max_request_bytes),
                            Some("use at least 1024 (4194304 is the default)"),
                        ));
                    }
                    SourceKind::Otlp(c)
                }
                "files" => {
                    let c: FilesConfig = typed(&body, k)?;
                    if c.include.is_empty() {
                        return Err(ConfigError::at(
                            &body
                                .get("include")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            "this files source has no include pattern".to_string(),
                            Some("list absolute globs, e.g. include: [/var/log/app/*.log]"),
                        ));
                    }
                    for (i, g) in c.include.iter().enumerate() {
                        if !g.starts_with('/') {
                            return Err(ConfigError::at(
                                &body
                                    .get("include")
                                    .and_then(|n| n.index(i))
                                    .map(|n| n.mark.clone())
                                    .unwrap_or(body.mark.clone()),
                                format!("include pattern `{g}` is not an absolute path"),
                                Some("write it from the root, e.g. /var/log/*.log"),
                            ));
                        }
                    }
                    check_log_settings(&c.logs(), &body)?;
                    check_min_duration(&body, "poll_interval", c.poll_interval, 10)?;
                    check_min_duration(&body, "rescan_interval", c.rescan_interval, 100)?;
                    check_min_duration(&body, "checkpoint_interval", c.checkpoint_interval, 100)?;
                    SourceKind::Files(c)
                }
                "journald" => {
                    let c: JournaldConfig = typed(&body, k)?;
                    for field in c.matches.keys() {
                        let ok = !field.is_empty()
                            && !field.starts_with(|ch: char| ch.is_ascii_digit())
                            && field.chars().all(|ch| {
                                ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_'
                            });
                        if !ok {
                            return Err(ConfigError::at(
                                &body.get("matches").map(|n| n.mark.clone()).unwrap_or(body.mark.clone()),
                                format!("`{field}` is not a journal field name"),
                                Some("journal fields are upper case letters, digits and _, e.g. _SYSTEMD_UNIT"),
                            ));
                        }
                    }
                    if c.batch_max_records == 0 {
                        return Err(ConfigError::at(
                            &body
                                .get("batch_max_records")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            "batch_max_records must be at least 1".to_string(),
                            None,
                        ));
                    }
                    check_min_duration(&body, "checkpoint_interval", c.checkpoint_interval, 100)?;
                    SourceKind::Journald(c)
                }
                "docker" => {
                    let c: DockerLogsConfig = typed(&body, k)?;
                    if !c.data_root.is_absolute() {
                        return Err(ConfigError::at(
                            &body
                                .get("data_root")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            "data_root must be an absolute path".to_string(),
                            Some("Docker's default is /var/lib/docker"),
                        ));
                    }
                    check_log_settings(&c.logs(), &body)?;
                    check_min_duration(&body, "poll_interval", c.poll_interval, 10)?;
                    check_min_duration(&body, "rescan_interval", c.rescan_interval, 100)?;
                    check_min_duration(&body, "checkpoint_interval", c.checkpoint_interval, 100)?;
                    SourceKind::Docker(c)
                }
                "redis" => {
                    let c: RedisConfig = typed(&body, k)?;
                    check_min_duration(&body, "interval", c.interval, 100)?;
                    check_min_duration(&body, "timeout", c.timeout, 10)?;
                    if c.endpoint.trim().is_empty() {
                        return Err(ConfigError::at(
                            &body
                                .get("endpoint")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            "endpoint is empty".to_string(),
                            Some("write host:port (127.0.0.1:6379) or a Unix socket path"),
                        ));
                    }
                    if c.username.is_some() && c.password.is_none() {
                        return Err(ConfigError::at(
                            &body
                                .get("username")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            "username without password".to_string(),
                            Some("set `password: ${env:REDIS_PASSWORD}` as well"),
                        ));
                    }
                    SourceKind::Redis(c)
                }
                "mysql" => {
                    let c: MysqlConfig = typed(&body, k)?;
                    check_min_duration(&body, "interval", c.interval, 100)?;
                    check_min_duration(&body, "timeout", c.timeout, 10)?;
                    SourceKind::Mysql(c)
                }
                "postgresql" => {
                    let c: PostgresqlConfig = typed(&body, k)?;
                    check_min_duration(&body, "interval", c.interval, 100)?;
                    check_min_duration(&body, "timeout", c.timeout, 10)?;
                    SourceKind::Postgresql(c)
                }
                "nginx" | "apache" => {
                    let c: HttpStatusConfig = typed(&body, k)?;
                    check_min_duration(&body, "interval", c.interval, 100)?;
                    check_min_duration(&body, "timeout", c.timeout, 10)?;
                    if t == "nginx" {
                        SourceKind::Nginx(c)
                    } else {
                        SourceKind::Apache(c)
                    }
                }
                other => {
                    return Err(unknown_type(
                        other,
                        &body,
                        &[
                            "host_metrics",
                            "process_metrics",
                            "statsd",
                            "otlp",
                            "files",
                            "journald",
                            "docker",
                            "redis",
                            "nginx",
                            "apache",
                            "mysql",
                            "postgresql",
                        ],
                    ))
                }
            };
            sources.push(SourceConfig { id, kind });
        }
    }

    let mut processors = Vec::new();
    if let Some(section) = root.get("processors") {
        check_section(section, "processors")?;
        for (k, body) in section.entries() {
            let id = k.as_str().unwrap_or_default().to_string();
            ids.add(&id, &k.mark, "processors")?;
            let t = type_of(k, body, "processors")?;
            let mut body = body.clone();
            body.remove("type");
            let inputs = inputs_of(&mut body, k)?;
            let kind = match t {
                "resource" => ProcessorKind::Resource(typed(&body, k)?),
                "sample" => {
                    let c: SampleConfig = typed(&body, k)?;
                    if !(0.0..=1.0).contains(&c.rate) {
                        return Err(ConfigError::at(
                            &body
                                .get("rate")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            format!("rate {} is out of range", c.rate),
                            Some("write a fraction between 0 and 1, e.g. 0.25"),
                        ));
                    }
                    if let Some(l) = c.max_traces_per_second.filter(|l| l.is_nan() || *l <= 0.0) {
                        return Err(ConfigError::at(
                            &body
                                .get("max_traces_per_second")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            format!("max_traces_per_second {l} must be positive"),
                            None,
                        ));
                    }
                    ProcessorKind::Sample(c)
                }
                "redact" => {
                    let c: RedactConfig = typed(&body, k)?;
                    check_redact(&c, &body)?;
                    ProcessorKind::Redact(c)
                }
                "filter" => {
                    let c: FilterConfig = typed(&body, k)?;
                    for key in ["include", "exclude"] {
                        let list = if key == "include" {
                            &c.include
                        } else {
                            &c.exclude
                        };
                        for (i, pat) in list.iter().enumerate() {
                            if let Err(e) = regex::Regex::new(pat) {
                                let mark = body
                                    .get(key)
                                    .and_then(|n| n.index(i))
                                    .map(|n| n.mark.clone())
                                    .unwrap_or(body.mark.clone());
                                let first = e.to_string();
                                let last = first.lines().last().unwrap_or("invalid pattern").trim();
                                return Err(ConfigError::at(
                                    &mark,
                                    format!(
                                        "{key} pattern: {}",
                                        last.strip_prefix("error: ").unwrap_or(last)
                                    ),
                                    Some("patterns use Rust regex syntax (no look-around)"),
                                ));
                            }
                        }
                    }
                    if let Some(r) = c.max_records_per_second.filter(|r| r.is_nan() || *r <= 0.0) {
                        return Err(ConfigError::at(
                            &body
                                .get("max_records_per_second")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            format!("max_records_per_second {r} must be positive"),
                            None,
                        ));
                    }
                    ProcessorKind::Filter(c)
                }
                other => {
                    return Err(unknown_type(
                        other,
                        &body,
                        &["resource", "sample", "redact", "filter"],
                    ))
                }
            };
            for i in &inputs {
                refs.push((id.clone(), i.clone(), true));
            }
            processors.push(ProcessorConfig {
                id,
                inputs: inputs.into_iter().map(|s| s.value).collect(),
                kind,
            });
        }
    }

    let mut sinks = Vec::new();
    let mut prom_paths: HashMap<String, Mark> = HashMap::new();
    if let Some(section) = root.get("sinks") {
        check_section(section, "sinks")?;
        for (k, body) in section.entries() {
            let id = k.as_str().unwrap_or_default().to_string();
            ids.add(&id, &k.mark, "sinks")?;
            let t = type_of(k, body, "sinks")?;
            let mut body = body.clone();
            body.remove("type");
            let inputs = inputs_of(&mut body, k)?;
            let buffer: BufferConfig = match body.remove("buffer") {
                Some((_, v)) => {
                    let b: BufferConfig = de::from_node(&v)?;
                    if b.max_batches == 0 {
                        return Err(ConfigError::at(
                            &v.mark,
                            "buffer.max_batches must be at least 1",
                            None,
                        ));
                    }
                    if b.kind == BufferType::Memory && b.when_full == WhenFull::DropOldest {
                        let m = v
                            .get("when_full")
                            .map(|n| n.mark.clone())
                            .unwrap_or(v.mark.clone());
                        return Err(ConfigError::at(
                            &m,
                            "when_full: drop_oldest needs a disk buffer",
                            Some("add `type: disk` to the buffer, or use drop_newest or block"),
                        ));
                    }
                    if b.kind == BufferType::Disk && b.max_bytes < 1024 * 1024 {
                        let m = v
                            .get("max_bytes")
                            .map(|n| n.mark.clone())
                            .unwrap_or(v.mark.clone());
                        return Err(ConfigError::at(
                            &m,
                            format!(
                                "buffer.max_bytes {} is too small for a disk buffer",
                                b.max_bytes
                            ),
                            Some("use at least 1048576 (1 MiB)"),
                        ));
                    }
                    b
                }
                None => BufferConfig::default(),
            };
            let kind = match t {
                "otlp_http" => {
                    let c: OtlpHttpConfig = typed(&body, k)?;
                    check_headers(&c, &body)?;
                    SinkKind::OtlpHttp(Box::new(c))
                }
                "prometheus" => {
                    let c: PrometheusConfig = typed(&body, k)?;
                    let m = body
                        .get("path")
                        .map(|n| n.mark.clone())
                        .unwrap_or(k.mark.clone());
                    if !c.path.starts_with('/') || c.path.contains(char::is_whitespace) {
                        return Err(ConfigError::at(
                            &m,
                            format!("invalid path `{}`", c.path),
                            Some("an HTTP path starts with `/`, e.g. /metrics/host"),
                        ));
                    }
                    if ["/health", "/metrics", "/status"].contains(&c.path.as_str()) {
                        return Err(ConfigError::at(
                            &m,
                            format!("path `{}` is reserved by the agent", c.path),
                            Some("use another path, e.g. /metrics/host"),
                        ));
                    }
                    if let Some(first) = prom_paths.insert(c.path.clone(), m.clone()) {
                        return Err(ConfigError::at(
                            &m,
                            format!(
                                "path `{}` is already served by the sink at line {}",
                                c.path, first.line
                            ),
                            None,
                        ));
                    }
                    SinkKind::Prometheus(c)
                }
                "file" => SinkKind::File(typed(&body, k)?),
                "duckdb" => {
                    let c: DuckdbSinkConfig = typed(&body, k)?;
                    check_min_duration(&body, "check_interval", c.retention.check_interval, 100)?;
                    if c.batch_max_rows == 0 {
                        return Err(ConfigError::at(
                            &body
                                .get("batch_max_rows")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone()),
                            "batch_max_rows must be at least 1".to_string(),
                            Some("the default is 100000"),
                        ));
                    }
                    let known = [
                        "otel_logs",
                        "otel_traces",
                        "otel_metrics_gauge",
                        "otel_metrics_sum",
                        "otel_metrics_histogram",
                        "otel_metrics_exponential_histogram",
                        "otel_metrics_summary",
                    ];
                    for t in c.tables.keys() {
                        if !known.contains(&t.as_str()) {
                            let mark = body
                                .get("tables")
                                .map(|n| n.mark.clone())
                                .unwrap_or(body.mark.clone());
                            return Err(ConfigError::at(
                                &mark,
                                format!("unknown table `{t}`"),
                                Some(&format!("the tables are {}", known.join(", "))),
                            ));
                        }
                    }
                    SinkKind::Duckdb(c)
                }
                other => {
                    return Err(unknown_type(
                        other,
                        &body,
                        &["otlp_http", "prometheus", "file", "duckdb"],
                    ))
                }
            };
            for i in &inputs {
                refs.push((id.clone(), i.clone(), false));
            }
            sinks.push(SinkConfig {
                id,
                inputs: inputs.into_iter().map(|s| s.value).collect(),
                buffer,
                kind,
            });
        }
    }

    // references: every input names a source or a processor
    let producers: HashSet<&str> = sources
        .iter()
        .map(|s| s.id.as_str())
        .chain(processors.iter().map(|p| p.id.as_str()))
        .collect();
    for (consumer, input, _) in &refs {
        if !producers.contains(input.value.as_str()) {
            let sink_named = sinks.iter().any(|s| s.id == input.value);
            let hint = if sink_named {
                "a sink produces nothing; inputs name sources or processors".to_string()
            } else {
                let mut known: Vec<&str> = producers.iter().copied().collect();
                known.sort_unstable();
                if known.is_empty() {
                    "no source or processor is defined".to_string()
                } else {
                    format!("defined sources and processors: {}", known.join(", "))
                }
            };
            let msg = format!(
                "`{consumer}` takes input from `{}`, which does not exist",
                input.value
            );
            return Err(match &input.mark {
                Some(m) => ConfigError::at(m, msg, Some(&hint)),
                None => ConfigError::plain(msg).with_hint(hint),
            });
        }
        if &input.value == consumer {
            let msg = format!("`{consumer}` takes input from itself");
            return Err(match &input.mark {
                Some(m) => ConfigError::at(m, msg, None),
                None => ConfigError::plain(msg),
            });
        }
    }
    check_cycles(&processors, &refs)?;
    Ok(Config {
        settings,
        sources,
        processors,
        sinks,
    })
}

/// Types a component body; an error about the body as a whole (a missing key) points at the
/// component's id rather than at the first key of its mapping.
/// Rejects a duration below `min_ms`, pointing at its key.
/// `host.root` must be absolute; `kubernetes.interval` at least a second.
fn check_host_and_kubernetes(root: &Node, settings: &Settings) -> Result<(), ConfigError> {
    let at = |section: &str, key: &str| {
        root.get(section)
            .and_then(|s| s.get(key).or(Some(s)))
            .map(|n| n.mark.clone())
            .unwrap_or(root.mark.clone())
    };
    if !settings.host.root.is_absolute() {
        return Err(ConfigError::at(
            &at("host", "root"),
            format!(
                "host.root `{}` is not an absolute path",
                settings.host.root.display()
            ),
            Some("write `/`, or where the host's / is mounted, e.g. `/host`"),
        ));
    }
    let k = &settings.kubernetes;
    if k.interval.0 < std::time::Duration::from_secs(1) {
        return Err(ConfigError::at(
            &at("kubernetes", "interval"),
            format!("kubernetes.interval {} is too short", k.interval),
            Some("use at least 1s (30s is the default)"),
        ));
    }
    if k.node_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ConfigError::at(
            &at("kubernetes", "node_name"),
            "kubernetes.node_name is empty",
            Some("remove it to use the NODE_NAME environment variable"),
        ));
    }
    Ok(())
}

fn check_min_duration(body: &Node, key: &str, d: Duration, min_ms: u64) -> Result<(), ConfigError> {
    if d.0 < std::time::Duration::from_millis(min_ms) {
        return Err(ConfigError::at(
            &body
                .get(key)
                .map(|n| n.mark.clone())
                .unwrap_or(body.mark.clone()),
            format!("{key} {d} is too short"),
            Some(&format!("use at least {min_ms}ms")),
        ));
    }
    Ok(())
}

/// Checks the shared log settings: sizes and multi-line regexes.
fn check_log_settings(l: &LogSettings, body: &Node) -> Result<(), ConfigError> {
    let at = |key: &str| {
        body.get(key)
            .map(|n| n.mark.clone())
            .unwrap_or(body.mark.clone())
    };
    for (key, v) in [
        ("max_line_bytes", l.max_line_bytes),
        ("max_record_bytes", l.max_record_bytes),
        ("batch_max_records", l.batch_max_records),
    ] {
        if v == 0 {
            return Err(ConfigError::at(
                &at(key),
                format!("{key} must be at least 1"),
                None,
            ));
        }
    }
    if let MultilineConfig::Start(p) | MultilineConfig::Continuation(p) = &l.multiline {
        if let Err(e) = regex::Regex::new(p) {
            let first = e.to_string();
            let last = first.lines().last().unwrap_or("invalid pattern").trim();
            let mark = body
                .get("multiline")
                .and_then(|m| m.get("start").or_else(|| m.get("continuation")))
                .map(|n| n.mark.clone())
                .unwrap_or(at("multiline"));
            return Err(ConfigError::at(
                &mark,
                format!(
                    "multiline pattern: {}",
                    last.strip_prefix("error: ").unwrap_or(last)
                ),
                Some("patterns use Rust regex syntax (no look-around)"),
            ));
        }
    }
    Ok(())
}

fn typed<T: serde::de::DeserializeOwned>(body: &Node, id: &Node) -> Result<T, ConfigError> {
    de::from_node(body).map_err(|mut e| {
        if e.mark.as_ref() == Some(&body.mark) {
            e.mark = Some(id.mark.clone());
        }
        e
    })
}

fn check_section(section: &Node, name: &str) -> Result<(), ConfigError> {
    if section.is_null() || matches!(section.value, node::Value::Map(_)) {
        Ok(())
    } else {
        Err(ConfigError::at(
            &section.mark,
            format!(
                "`{name}` must be a mapping of component ids, found {}",
                section.kind()
            ),
            Some("write `<id>:` lines with a `type:` under each"),
        ))
    }
}

fn check_headers(c: &OtlpHttpConfig, body: &Node) -> Result<(), ConfigError> {
    for (name, value) in &c.headers {
        let mark = body
            .get("headers")
            .and_then(|h| h.entries().iter().find(|(k, _)| k.as_str() == Some(name)))
            .map(|(k, _)| k.mark.clone())
            .unwrap_or(body.mark.clone());
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !name_ok {
            return Err(ConfigError::at(
                &mark,
                format!("invalid HTTP header name `{name}`"),
                None,
            ));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(ConfigError::at(
                &mark,
                format!("the value of header `{name}` contains a line break"),
                Some("check the environment variable it comes from"),
            ));
        }
    }
    Ok(())
}

fn check_cycles(
    processors: &[ProcessorConfig],
    refs: &[(String, Spanned<String>, bool)],
) -> Result<(), ConfigError> {
    let procs: HashSet<&str> = processors.iter().map(|p| p.id.as_str()).collect();
    // depth-first search over processor -> processor edges
    fn visit<'a>(
        id: &'a str,
        edges: &HashMap<&'a str, Vec<&'a Spanned<String>>>,
        state: &mut HashMap<&'a str, u8>,
    ) -> Option<&'a Spanned<String>> {
        state.insert(id, 1);
        for input in edges.get(id).into_iter().flatten() {
            match state.get(input.value.as_str()) {
                Some(1) => return Some(input),
                Some(_) => {}
                None => {
                    if let Some(c) = visit(input.value.as_str(), edges, state) {
                        return Some(c);
                    }
                }
            }
        }
        state.insert(id, 2);
        None
    }
    let mut edges: HashMap<&str, Vec<&Spanned<String>>> = HashMap::new();
    for (consumer, input, is_proc) in refs {
        if *is_proc && procs.contains(input.value.as_str()) {
            edges.entry(consumer.as_str()).or_default().push(input);
        }
    }
    let mut state = HashMap::new();
    for p in processors {
        if !state.contains_key(p.id.as_str()) {
            if let Some(input) = visit(p.id.as_str(), &edges, &mut state) {
                let msg = format!("processors form a cycle through `{}`", input.value);
                return Err(match &input.mark {
                    Some(m) => ConfigError::at(
                        m,
                        msg,
                        Some("data must flow one way: sources → processors → sinks"),
                    ),
                    None => ConfigError::plain(msg),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

fn check_redact(c: &RedactConfig, body: &Node) -> Result<(), ConfigError> {
    let at = |key: &str| {
        body.get(key)
            .map(|n| n.mark.clone())
            .unwrap_or(body.mark.clone())
    };
    if let Some(b) = c
        .builtins
        .iter()
        .find(|b| !REDACT_BUILTINS.contains(&b.as_str()))
    {
        return Err(ConfigError::at(
            &at("builtins"),
            format!("unknown built-in redaction rule `{b}`"),
            Some(&format!("known rules: {}", REDACT_BUILTINS.join(", "))),
        ));
    }
    for (i, r) in c.rules.iter().enumerate() {
        if let Err(e) = regex::Regex::new(&r.pattern) {
            let mark = body
                .get("rules")
                .and_then(|rules| rules.index(i))
                .and_then(|rule| rule.get("pattern"))
                .map(|n| n.mark.clone())
                .unwrap_or(at("rules"));
            let first = e.to_string();
            let last = first.lines().last().unwrap_or("invalid pattern").trim();
            let short = last.strip_prefix("error: ").unwrap_or(last).to_string();
            return Err(ConfigError::at(
                &mark,
                format!("rule `{}`: invalid pattern: {short}", r.name),
                Some("patterns use Rust regex syntax (no look-around)"),
            ));
        }
    }
    Ok(())
}

/// The `secret_backend:` section, typed from the tree as written (before substitution).
fn secret_backend(raw: &node::Node) -> Result<Option<SecretBackendConfig>, ConfigError> {
    let Some(n) = raw.get("secret_backend") else {
        return Ok(None);
    };
    if node_has_reference(n) {
        return Err(ConfigError::at(
            &n.mark,
            "secret_backend cannot use `${...}` references: it is read before them".to_string(),
            Some("write the command's path and arguments as they are"),
        ));
    }
    de::from_node(n).map(Some)
}

fn node_has_reference(n: &node::Node) -> bool {
    match &n.value {
        node::Value::Scalar { text, .. } => text.contains("${"),
        node::Value::Seq(items) => items.iter().any(node_has_reference),
        node::Value::Map(entries) => entries.iter().any(|(_, v)| node_has_reference(v)),
    }
}
