//! `newrelic-infra.yml` and its `NRIA_*` overrides, key by key.

use crate::matcher::{self, Converted};
use crate::yaml::Y;
use crate::{keys, Cx, EnvVar, Options, Region, SourceFile, Status, LICENSE_SECRET};
use lookout_config::node::{Node, Value};
use lookout_config::{ConfigError, Mark};
use std::collections::BTreeMap;

/// Where a value came from: the file, or a variable of the service.
#[derive(Clone)]
pub(crate) enum At {
    File(Mark),
    Env(String),
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::File(m) => write!(f, "{m}"),
            At::Env(o) => write!(f, "{o}"),
        }
    }
}

impl At {
    pub(crate) fn err(&self, msg: impl Into<String>, hint: &str) -> ConfigError {
        match self {
            At::File(m) => ConfigError::at(m, msg, Some(hint)),
            At::Env(o) => ConfigError::plain(format!("{o}: {}", msg.into())).with_hint(hint),
        }
    }
}

/// One effective key: its value and where it was set.
#[derive(Clone)]
pub(crate) struct Val {
    pub node: Node,
    pub at: At,
    pub env: bool,
}

impl Val {
    fn text(&self, key: &str) -> Result<String, ConfigError> {
        match &self.node.value {
            Value::Scalar { text, .. } => Ok(text.clone()),
            _ => Err(self.at.err(
                format!("`{key}` must be a single value, found {}", self.node.kind()),
                "write it as `key: value`",
            )),
        }
    }

    pub(crate) fn boolean(&self, key: &str) -> Result<bool, ConfigError> {
        let t = self.text(key)?;
        match t.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(self.at.err(
                format!("`{key}` must be true or false, found {t:?}"),
                "write true or false",
            )),
        }
    }

    pub(crate) fn int(&self, key: &str) -> Result<i64, ConfigError> {
        let t = self.text(key)?;
        t.trim().parse::<i64>().map_err(|_| {
            self.at.err(
                format!("`{key}` must be a whole number, found {t:?}"),
                "write a number of seconds (-1 turns the sampler off)",
            )
        })
    }

    fn list(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        match &self.node.value {
            Value::Seq(items) => items
                .iter()
                .map(|n| {
                    n.as_str().map(str::to_string).ok_or_else(|| {
                        ConfigError::at(
                            &n.mark,
                            format!("`{key}` lists names, found {}", n.kind()),
                            Some("write a list of strings"),
                        )
                    })
                })
                .collect(),
            Value::Scalar { text, .. } if self.env => Ok(text
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()),
            Value::Scalar { .. } if self.node.is_null() => Ok(Vec::new()),
            _ => Err(self.at.err(
                format!("`{key}` must be a list, found {}", self.node.kind()),
                "write `key: [a, b]`",
            )),
        }
    }
}

/// What the main file decided for the rest of the conversion.
pub(crate) struct Main {
    pub region: Region,
    sink: Y,
}

/// The environment variable of a key (`overide_host_root` is `NRIA_OVERRIDE_HOST_ROOT`).
fn key_of_env(name: &str) -> Option<String> {
    let k = name.strip_prefix("NRIA_")?.to_ascii_lowercase();
    Some(if k == "override_host_root" {
        "overide_host_root".into()
    } else {
        k
    })
}

/// A scalar from an environment variable, read as the file would read it.
fn env_node(e: &EnvVar) -> Node {
    let v = e.value.trim();
    if v.starts_with('{') || v.starts_with('[') {
        if let Ok(n) = lookout_config::node::parse(&e.origin, v) {
            return n;
        }
    }
    Node::scalar(
        e.value.clone(),
        true,
        Mark {
            origin: e.origin.as_str().into(),
            line: 1,
            col: 1,
        },
    )
}

fn secs(n: i64) -> Y {
    Y::s(format!("{n}s"))
}

pub(crate) fn convert(
    cx: &mut Cx,
    f: &SourceFile,
    env: &[EnvVar],
    opts: &Options,
) -> Result<Main, ConfigError> {
    crate::check_tabs(f)?;
    let root = lookout_config::node::parse(&f.path, &f.text)?;
    if !matches!(root.value, Value::Map(_)) && !root.is_null() {
        return Err(ConfigError::at(
            &root.mark,
            format!(
                "newrelic-infra.yml must be a mapping of keys, found {}",
                root.kind()
            ),
            Some("start with `license_key: ...`"),
        ));
    }
    let mut vals: BTreeMap<String, Val> = BTreeMap::new();
    for (k, v) in root.entries() {
        let key = k.as_str().unwrap_or_default().to_string();
        vals.insert(
            key,
            Val {
                node: v.clone(),
                at: At::File(k.mark.clone()),
                env: false,
            },
        );
    }
    for e in env {
        let Some(key) = key_of_env(&e.name) else {
            continue;
        };
        let overrides = vals.contains_key(&key);
        vals.insert(
            key.clone(),
            Val {
                node: env_node(e),
                at: At::Env(format!("{} ({})", e.origin, e.name)),
                env: true,
            },
        );
        if overrides {
            cx.row(
                format!("{} ({})", e.origin, e.name),
                key,
                "",
                Status::Mapped,
                "overrides the file's value, as the agent does; converted below from this value",
            );
        }
    }
    let mut take = |k: &str| vals.remove(k);

    // identity
    let Some(lic) = take("license_key") else {
        return Err(ConfigError::plain(format!(
            "{}: no `license_key` (nor NRIA_LICENSE_KEY in the service's environment)",
            f.path
        ))
        .with_hint("the agent cannot run without one; add it, or pass --from the directory of the file in use"));
    };
    let key_text = lic.text("license_key")?;
    if key_text.trim().is_empty() || crate::is_placeholder(&key_text) {
        return Err(lic.at.err(
            "`license_key` is still a placeholder or empty",
            "put the account's license key there (or in NRIA_LICENSE_KEY) before migrating",
        ));
    }
    let mut region = crate::region_of_key(key_text.trim());
    let reference = cx.secret(LICENSE_SECRET, key_text.trim(), &lic.at.to_string());
    cx.row(
        &lic.at,
        "license_key",
        format!("secret store `{LICENSE_SECRET}` (sink header api-key)"),
        Status::Mapped,
        match region {
            Region::Eu => "EU key: data goes to the EU OTLP endpoint",
            Region::Fedramp => "FedRAMP key: data goes to the FedRAMP OTLP endpoint",
            _ => "US key: data goes to the US OTLP endpoint",
        },
    );
    if let Some(v) = take("fedramp") {
        if v.boolean("fedramp")? {
            region = Region::Fedramp;
        }
        cx.row(
            &v.at,
            "fedramp",
            "sinks.newrelic.endpoint",
            Status::Mapped,
            "FedRAMP endpoint when true",
        );
    }
    if let Some(v) = take("staging") {
        if v.boolean("staging")? {
            region = Region::Staging;
        }
        cx.row(
            &v.at,
            "staging",
            "sinks.newrelic.endpoint",
            Status::Mapped,
            "staging endpoint when true",
        );
    }
    let mut sink = Y::map();
    sink.set("type", Y::s("otlp_http"));
    sink.set("endpoint", Y::s(region.otlp_endpoint()));
    sink.entry("headers").set("api-key", Y::s(reference));
    sink.set("compression", Y::s("zstd"));
    sink.set("temporality", Y::s("delta"));
    sink.entry("buffer").set("type", Y::s("disk"));

    let mut resource_attrs: Vec<(String, String, At, String)> = Vec::new();
    if let Some(v) = take("display_name") {
        resource_attrs.push((
            "displayName".into(),
            v.text("display_name")?,
            v.at.clone(),
            "display_name".into(),
        ));
    }
    if let Some(v) = take("override_hostname") {
        let t = v.text("override_hostname")?;
        cx.doc.entry("resource").set("hostname", Y::s(t));
        cx.row(
            &v.at,
            "override_hostname",
            "resource.hostname",
            Status::Mapped,
            "host.name of every series (New Relic's fullHostname)",
        );
    }
    if let Some(v) = take("override_hostname_short") {
        resource_attrs.push((
            "hostname".into(),
            v.text("override_hostname_short")?,
            v.at.clone(),
            "override_hostname_short".into(),
        ));
    }
    if let Some(v) = take("custom_attributes") {
        match &v.node.value {
            Value::Map(entries) => {
                for (k, val) in entries {
                    let name = k.as_str().unwrap_or_default().to_string();
                    let text = match &val.value {
                        Value::Scalar { text, .. } => text.clone(),
                        _ => {
                            cx.row(
                                &val.mark,
                                format!("custom_attributes.{name}"),
                                "",
                                Status::NotMapped,
                                "not a single value; attributes are strings",
                            );
                            continue;
                        }
                    };
                    resource_attrs.push((
                        name.clone(),
                        text,
                        At::File(k.mark.clone()),
                        format!("custom_attributes.{name}"),
                    ));
                }
            }
            _ if v.node.is_null() => {}
            _ => {
                return Err(v.at.err(
                    "`custom_attributes` must be a mapping of names to values",
                    "write `custom_attributes: {team: web}`",
                ));
            }
        }
    }
    let labels: Vec<String> = vals
        .keys()
        .filter(|k| k.starts_with("label."))
        .cloned()
        .collect();
    for k in labels {
        if let Some(v) = vals.remove(&k) {
            resource_attrs.push((k.clone(), v.text(&k)?, v.at.clone(), k.clone()));
        }
    }
    for (name, value, at, key) in resource_attrs {
        cx.doc
            .entry("resource")
            .entry("attributes")
            .set(&name, Y::s(value));
        cx.row(
            &at,
            key,
            format!("resource.attributes.{name}"),
            Status::Mapped,
            "an attribute of every series and record",
        );
    }
    let mut take = |k: &str| vals.remove(k);

    // network
    if let Some(v) = take("proxy") {
        let url = v.text("proxy")?;
        if !url.trim().is_empty() {
            let has_password = url.split_once("://").is_some_and(|(_, rest)| {
                rest.split('/')
                    .next()
                    .is_some_and(|auth| auth.contains('@'))
            });
            if has_password {
                let r = cx.secret("newrelic_proxy", url.trim(), &v.at.to_string());
                sink.set("proxy", Y::s(r));
            } else {
                sink.set("proxy", Y::s(url.trim()));
            }
            cx.row(
                &v.at,
                "proxy",
                "sinks.newrelic.proxy",
                Status::Mapped,
                if has_password {
                    "with credentials: the URL went to the secret store as `newrelic_proxy`"
                } else {
                    "HTTP, HTTPS or SOCKS5 proxy"
                },
            );
        }
    }
    if let Some(v) = take("ignore_system_proxy") {
        let ignore = v.boolean("ignore_system_proxy")?;
        if ignore {
            sink.set("env_proxy", Y::Bool(false));
        }
        cx.row(
            &v.at,
            "ignore_system_proxy",
            "sinks.newrelic.env_proxy",
            Status::Mapped,
            "false ignores HTTPS_PROXY/HTTP_PROXY/NO_PROXY",
        );
    }
    if let Some(v) = take("ca_bundle_file") {
        let t = v.text("ca_bundle_file")?;
        if !t.trim().is_empty() {
            sink.entry("tls").set("ca_file", Y::s(t.trim()));
        }
        cx.row(
            &v.at,
            "ca_bundle_file",
            "sinks.newrelic.tls.ca_file",
            Status::Mapped,
            "trusted beside the system's roots",
        );
    }
    if let Some(v) = take("ca_bundle_dir") {
        let t = v.text("ca_bundle_dir")?;
        if !t.trim().is_empty() {
            sink.entry("tls").set("ca_dir", Y::s(t.trim()));
        }
        cx.row(
            &v.at,
            "ca_bundle_dir",
            "sinks.newrelic.tls.ca_dir",
            Status::Mapped,
            "every PEM file of the directory is trusted beside the system's roots",
        );
    }
    if let Some(v) = take("proxy_validate_certificates") {
        let on = v.boolean("proxy_validate_certificates")?;
        cx.row(&v.at, "proxy_validate_certificates", "", if on { Status::Mapped } else { Status::Approximated }, if on { "lookout always validates an HTTPS proxy's certificate" } else { "lookout validates an HTTPS proxy's certificate anyway (the agent did not): trust its CA with tls.ca_file" });
    }
    if let Some(v) = take("http") {
        for (k, val) in v.node.entries() {
            let name = k.as_str().unwrap_or_default();
            if name == "headers" {
                for (hk, hv) in val.entries() {
                    let h = hk.as_str().unwrap_or_default().to_string();
                    let text = hv.as_str().unwrap_or_default().to_string();
                    let secret_like = ["key", "token", "auth", "secret", "password"]
                        .iter()
                        .any(|s| h.to_ascii_lowercase().contains(s));
                    let value = if secret_like {
                        cx.secret(
                            &format!("newrelic_header_{}", crate::sanitize_id(&h)),
                            &text,
                            &hk.mark.to_string(),
                        )
                    } else {
                        text
                    };
                    sink.entry("headers").set(&h, Y::s(value));
                    cx.row(
                        &hk.mark,
                        format!("http.headers.{h}"),
                        format!("sinks.newrelic.headers.{h}"),
                        Status::Mapped,
                        if secret_like {
                            "its value went to the secret store"
                        } else {
                            "sent with every request"
                        },
                    );
                }
            } else {
                cx.row(
                    &k.mark,
                    format!("http.{name}"),
                    "",
                    Status::NotMapped,
                    "only `http.headers` has a lookout equivalent",
                );
            }
        }
    }
    if let Some(v) = take("payload_compression_level") {
        let level = v.int("payload_compression_level")?;
        if level == 0 {
            sink.set("compression", Y::s("none"));
        }
        cx.row(&v.at, "payload_compression_level", "sinks.newrelic.compression", Status::Approximated, if level == 0 { "0: no compression" } else { "zstd, New Relic's recommended encoding, at its default level (gzip levels do not carry over)" });
    }

    // processes
    process_metrics(cx, &mut vals)?;

    // host samplers and their filters
    host_metrics(cx, &mut vals)?;

    // lookout's own logs
    own_logs(cx, &mut vals)?;

    let mut take = |k: &str| vals.remove(k);
    for k in ["status_server_enabled", "status_server_port"] {
        if let Some(v) = take(k) {
            cx.row(&v.at, k, "server.listen", Status::Approximated, "lookout serves /health and /status on its own server (127.0.0.1:13133): the agent's port stays the old agent's while both run, and after");
        }
    }
    for k in ["plugin_dir", "logging_configs_dir"] {
        if let Some(v) = take(k) {
            cx.row(
                &v.at,
                k,
                "sources",
                Status::Mapped,
                "the directory's files were read and converted (rows below)",
            );
        }
    }

    // everything else: known and not mapped, or unknown
    for (k, v) in std::mem::take(&mut vals) {
        match keys::not_mapped(&k) {
            Some(why) => cx.row(&v.at, k, "", Status::NotMapped, why),
            None if opts.allow_unknown => cx.row(
                &v.at,
                k,
                "",
                Status::NotMapped,
                "not a key of the Infrastructure agent",
            ),
            None => {
                return Err(v.at.err(
                    format!("unknown key `{k}`: not a key of the Infrastructure agent"),
                    "check its spelling; --allow-unknown reports such keys as not mapped instead",
                ))
            }
        }
    }
    Ok(Main { region, sink })
}

/// `enable_process_metrics` and its rules, with the agent's decision: `false` sends nothing;
/// `true` sends every process but the excluded; unset with include rules sends the matching
/// ones; unset without rules follows a backend flag that is off by default, so nothing.
fn process_metrics(cx: &mut Cx, vals: &mut BTreeMap<String, Val>) -> Result<(), ConfigError> {
    let enable = vals.remove("enable_process_metrics");
    let include = vals.remove("include_matching_metrics");
    let exclude = vals.remove("exclude_matching_metrics");
    let mut allowed: Vec<Val> = Vec::new();
    for k in ["allowed_list_process_sample", "whitelist_process_sample"] {
        if let Some(v) = vals.remove(k) {
            allowed.push(v);
        }
    }
    let strip = vals.remove("strip_command_line");
    let rate = vals.remove("metrics_process_sample_rate");
    let forward_only = ["is_forward_only", "is_integrations_only"]
        .iter()
        .filter_map(|k| vals.get(*k).map(|v| v.boolean(k)))
        .collect::<Result<Vec<bool>, _>>()?
        .into_iter()
        .any(|b| b);

    let state = match &enable {
        Some(v) => Some(v.boolean("enable_process_metrics")?),
        None => None,
    };
    // rules as (key, value, at)
    let rules = |v: &Option<Val>, cx: &mut Cx, name: &str| -> Result<Vec<String>, ConfigError> {
        let Some(v) = v else { return Ok(Vec::new()) };
        let mut globs = Vec::new();
        for (attr, list) in v.node.entries() {
            let attr_name = attr.as_str().unwrap_or_default();
            let items: Vec<&Node> = match &list.value {
                Value::Seq(items) => items.iter().collect(),
                Value::Scalar { .. } => vec![list],
                _ => Vec::new(),
            };
            for item in items {
                let text = item.as_str().unwrap_or_default();
                let key = format!("{name}.{attr_name}: {text}");
                let conv = match attr_name {
                    "process.name" => matcher::name(text),
                    "process.executable" => matcher::executable(text),
                    other => Converted::No(format!(
                        "the agent matches only process.name and process.executable, not {other}"
                    )),
                };
                match conv {
                    Converted::Exact(g) => {
                        cx.row(
                            &item.mark,
                            key,
                            format!("names: {}", g.join(", ")),
                            Status::Mapped,
                            "",
                        );
                        globs.extend(g);
                    }
                    Converted::Approx(g, note) => {
                        cx.row(
                            &item.mark,
                            key,
                            format!("names: {}", g.join(", ")),
                            Status::Approximated,
                            note,
                        );
                        globs.extend(g);
                    }
                    Converted::No(why) => cx.row(&item.mark, key, "", Status::NotMapped, why),
                }
            }
        }
        Ok(globs)
    };
    let mut inc = rules(&include, cx, "include_matching_metrics")?;
    let exc = rules(&exclude, cx, "exclude_matching_metrics")?;
    for v in &allowed {
        for name in v.list("allowed_list_process_sample")? {
            match matcher::name(&name) {
                Converted::Exact(g) | Converted::Approx(g, _) => inc.extend(g),
                Converted::No(_) => {}
            }
        }
        cx.row(
            &v.at,
            "allowed_list_process_sample",
            "process_metrics.names.include",
            Status::Mapped,
            "the legacy list of process names to sample",
        );
    }
    let had_include_rules = include
        .as_ref()
        .is_some_and(|v| !v.node.entries().is_empty())
        || !allowed.is_empty();
    // include rules that could not be converted must not widen the selection to everything
    let on = match state {
        Some(false) => false,
        Some(true) => true,
        None => had_include_rules,
    };
    let why = match (state, had_include_rules) {
        (Some(false), _) => "false: no process samples, so no process_metrics source",
        (Some(true), false) => "true without include rules: every process (top_n: 100000), minus the excluded",
        (Some(true), true) => "true with include rules: the matching processes, minus the excluded",
        (None, true) => "unset with include rules: only the matching processes",
        (None, false) => "unset without rules: the agent follows a New Relic account flag that is off by default, so no process samples",
    };
    let at = enable
        .as_ref()
        .map(|v| v.at.to_string())
        .unwrap_or_else(|| "(not set)".into());
    cx.row(
        at,
        "enable_process_metrics",
        if on { "sources.processes" } else { "" },
        Status::Mapped,
        why,
    );
    if on && had_include_rules && inc.is_empty() {
        cx.row("(rules)", "include_matching_metrics", "", Status::NotMapped, "none of the include rules could be converted: no process is reported (rather than every one)");
    }
    if let (Some(v), false) = (&exclude, state == Some(true)) {
        cx.row(&v.at, "exclude_matching_metrics", "", Status::NotMapped, "the agent applies exclusions only with enable_process_metrics: true, and so does this conversion");
    }
    let strip_on = match &strip {
        Some(v) => v.boolean("strip_command_line")?,
        None => true,
    };
    if let Some(v) = &strip {
        cx.row(
            &v.at,
            "strip_command_line",
            "sources.processes.strip_command_line",
            Status::Mapped,
            "true keeps only the executable of a command line",
        );
    }
    let mut interval = 20;
    if let Some(v) = &rate {
        interval = v.int("metrics_process_sample_rate")?;
        cx.row(
            &v.at,
            "metrics_process_sample_rate",
            "sources.processes.interval",
            Status::Mapped,
            "-1: no process samples",
        );
    }
    if !on || interval < 0 || forward_only || (had_include_rules && inc.is_empty()) {
        return Ok(());
    }
    let mut src = Y::map();
    src.set("type", Y::s("process_metrics"));
    src.set("interval", secs(interval.max(1)));
    src.set("top_n", Y::Int(100_000));
    if !inc.is_empty() {
        src.entry("names")
            .set("include", Y::Seq(inc.into_iter().map(Y::Str).collect()));
    }
    if !exc.is_empty() && state == Some(true) {
        src.entry("names")
            .set("exclude", Y::Seq(exc.into_iter().map(Y::Str).collect()));
    }
    src.set("strip_command_line", Y::Bool(strip_on));
    cx.doc.entry("sources").set("processes", src);
    cx.outputs.push("processes".into());
    Ok(())
}

fn host_metrics(cx: &mut Cx, vals: &mut BTreeMap<String, Val>) -> Result<(), ConfigError> {
    let mut forward_only = false;
    for k in ["is_forward_only", "is_integrations_only"] {
        if let Some(v) = vals.remove(k) {
            let on = v.boolean(k)?;
            forward_only |= on;
            cx.row(
                &v.at,
                k,
                "sources",
                Status::Mapped,
                if on {
                    "true: no host or process samplers, only integrations and logs"
                } else {
                    "false: host samplers as usual"
                },
            );
        }
    }
    let mut rate = |cx: &mut Cx, key: &str, default: i64| -> Result<i64, ConfigError> {
        match vals.remove(key) {
            Some(v) => {
                let n = v.int(key)?;
                cx.row(
                    &v.at,
                    key,
                    "sources.host*.interval",
                    Status::Mapped,
                    "seconds; -1 turns the sampler off",
                );
                Ok(n)
            }
            None => Ok(default),
        }
    };
    let system = rate(cx, "metrics_system_sample_rate", 5)?;
    let storage = rate(cx, "metrics_storage_sample_rate", 20)?;
    let network = rate(cx, "metrics_network_sample_rate", 10)?;

    let mut paths: Vec<(&str, Y)> = Vec::new();
    let mut etc = None;
    if let Some(v) = vals.remove("overide_host_root") {
        let root = v.text("overide_host_root")?;
        cx.row(
            &v.at,
            "overide_host_root",
            "sources.host*.root_path, proc_path",
            Status::Mapped,
            "the host's filesystem mounted in a container",
        );
        paths.push(("root_path", Y::s(root.clone())));
        paths.push((
            "proc_path",
            Y::s(format!("{}/proc", root.trim_end_matches('/'))),
        ));
        etc = Some(format!("{}/etc", root.trim_end_matches('/')));
    }
    if let Some(v) = vals.remove("override_host_proc") {
        let p = v.text("override_host_proc")?;
        cx.row(
            &v.at,
            "override_host_proc",
            "sources.host*.proc_path",
            Status::Mapped,
            "",
        );
        paths.retain(|(k, _)| *k != "proc_path");
        paths.push(("proc_path", Y::s(p)));
    }
    if let Some(v) = vals.remove("override_host_etc") {
        etc = Some(v.text("override_host_etc")?);
        cx.row(
            &v.at,
            "override_host_etc",
            "sources.processes.etc_path",
            Status::Mapped,
            "where user names are read",
        );
    }
    if let Some(v) = vals.remove("override_host_sys") {
        cx.row(
            &v.at,
            "override_host_sys",
            "",
            Status::NotMapped,
            "lookout reads no /sys file for host metrics",
        );
    }
    if let Some(procs) = cx.doc.entry("sources").get("processes").cloned() {
        let mut procs = procs;
        for (k, v) in &paths {
            if *k == "proc_path" {
                procs.set(k, v.clone());
            }
        }
        if let Some(e) = &etc {
            procs.set("etc_path", Y::s(e.clone()));
        }
        cx.doc.entry("sources").set("processes", procs);
    }

    let mut net_exclude: Vec<String> = Vec::new();
    if let Some(v) = vals.remove("network_interface_filters") {
        for (k, list) in v.node.entries() {
            let kind = k.as_str().unwrap_or_default();
            let names: Vec<String> = match &list.value {
                Value::Seq(items) => items
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            match kind {
                "prefix" => {
                    net_exclude.extend(names.iter().map(|n| format!("{n}*")));
                    cx.row(
                        &k.mark,
                        "network_interface_filters.prefix",
                        "sources.host_network.network.exclude",
                        Status::Mapped,
                        "each prefix as `name*`",
                    );
                }
                "index-1" => {
                    net_exclude.extend(names.iter().map(|n| format!("{n}?*")));
                    cx.row(&k.mark, "network_interface_filters.index-1", "sources.host_network.network.exclude", Status::Approximated, "`name` followed by an index becomes `name?*` (also matches non-digit suffixes)");
                }
                other => cx.row(
                    &k.mark,
                    format!("network_interface_filters.{other}"),
                    "",
                    Status::NotMapped,
                    "the agent knows only `prefix` and `index-1`",
                ),
            }
        }
    }
    let mut dev_exclude: Vec<String> = Vec::new();
    for k in ["file_devices_ignored", "file_devices_blacklist"] {
        if let Some(v) = vals.remove(k) {
            dev_exclude.extend(v.list(k)?);
            cx.row(
                &v.at,
                k,
                "sources.host_storage.filesystem.devices.exclude",
                Status::Mapped,
                "",
            );
        }
    }
    let mut fs_include: Vec<String> = Vec::new();
    if let Some(v) = vals.remove("custom_supported_file_systems") {
        fs_include = v.list("custom_supported_file_systems")?;
        cx.row(
            &v.at,
            "custom_supported_file_systems",
            "sources.host_storage.filesystem.fs_types.include",
            Status::Mapped,
            "only these filesystem types are reported, as for the agent",
        );
    }
    if forward_only {
        return Ok(());
    }
    let mk = |interval: i64, collectors: &[&str]| {
        let mut s = Y::map();
        s.set("type", Y::s("host_metrics"));
        s.set("interval", secs(interval.max(1)));
        s.set(
            "collectors",
            Y::Seq(collectors.iter().map(|c| Y::s(*c)).collect()),
        );
        for (k, v) in &paths {
            s.set(k, v.clone());
        }
        s
    };
    if system >= 0 {
        let s = mk(
            system,
            &["cpu", "load", "memory", "paging", "processes", "uptime"],
        );
        cx.doc.entry("sources").set("host", s);
        cx.outputs.push("host".into());
    }
    if storage >= 0 {
        let mut s = mk(storage, &["disk", "filesystem"]);
        if !dev_exclude.is_empty() {
            s.entry("filesystem").entry("devices").set(
                "exclude",
                Y::Seq(dev_exclude.into_iter().map(Y::Str).collect()),
            );
        }
        if !fs_include.is_empty() {
            s.entry("filesystem").entry("fs_types").set(
                "include",
                Y::Seq(fs_include.into_iter().map(Y::Str).collect()),
            );
            s.entry("filesystem").set("include_pseudo", Y::Bool(true));
        }
        cx.doc.entry("sources").set("host_storage", s);
        cx.outputs.push("host_storage".into());
    }
    if network >= 0 {
        let mut s = mk(network, &["network"]);
        if !net_exclude.is_empty() {
            s.entry("network").set(
                "exclude",
                Y::Seq(net_exclude.into_iter().map(Y::Str).collect()),
            );
        }
        cx.doc.entry("sources").set("host_network", s);
        cx.outputs.push("host_network".into());
    }
    Ok(())
}

fn level(v: &str) -> Option<(&'static str, Status, &'static str)> {
    Some(match v.trim().to_ascii_lowercase().as_str() {
        "info" => ("info", Status::Mapped, ""),
        "debug" => ("debug", Status::Mapped, ""),
        "trace" => ("trace", Status::Mapped, ""),
        "smart" => (
            "info",
            Status::Approximated,
            "`smart` (info, with recent debug lines on an error) is info",
        ),
        "warn" | "warning" => ("warn", Status::Mapped, ""),
        "error" => ("error", Status::Mapped, ""),
        _ => return None,
    })
}

fn own_logs(cx: &mut Cx, vals: &mut BTreeMap<String, Val>) -> Result<(), ConfigError> {
    if let Some(v) = vals.remove("log") {
        for (k, val) in v.node.entries() {
            let name = k.as_str().unwrap_or_default();
            let key = format!("log.{name}");
            match name {
                "level" => {
                    let t = val.as_str().unwrap_or_default();
                    match level(t) {
                        Some((l, st, note)) => {
                            cx.doc.entry("log").set("level", Y::s(l));
                            cx.row(&k.mark, key, "log.level", st, note);
                        }
                        None => return Err(ConfigError::at(&val.mark, format!("`log.level` is {t:?}, not a level of the agent"), Some("one of info, smart, debug, trace"))),
                    }
                }
                "format" => {
                    let t = val.as_str().unwrap_or_default();
                    let f = if t == "json" { "json" } else { "text" };
                    cx.doc.entry("log").set("format", Y::s(f));
                    cx.row(&k.mark, key, "log.format", Status::Mapped, "");
                }
                "file" | "stdout" | "rotate" | "smart_level_entry_limit" => cx.row(&k.mark, key, "", Status::NotMapped, "lookout logs to standard error (the journal under systemd), which stores and rotates them"),
                "forward" => cx.row(&k.mark, key, "", Status::NotMapped, "lookout's own logs are not sent to New Relic; they are in the journal (`journalctl -u lookout`)"),
                "include_filters" | "exclude_filters" => cx.row(&k.mark, key, "", Status::NotMapped, "lookout filters its own logs by level only (`log.level`, `lookout log-level`)"),
                other => cx.row(&k.mark, format!("log.{other}"), "", Status::NotMapped, "not a key of the agent's `log` section"),
            }
        }
    }
    if let Some(v) = vals.remove("verbose") {
        let n = v.int("verbose")?;
        let (l, st, note) = match n {
            0 => ("info", Status::Mapped, "0: info"),
            1 => ("debug", Status::Mapped, "1: debug"),
            2 => ("info", Status::Approximated, "2 (smart) is info"),
            _ => ("trace", Status::Mapped, "3: trace"),
        };
        if cx.doc.get("log").and_then(|l| l.get("level")).is_none() {
            cx.doc.entry("log").set("level", Y::s(l));
        }
        cx.row(&v.at, "verbose", "log.level", st, note);
    }
    if let Some(v) = vals.remove("log_format") {
        let t = v.text("log_format")?;
        if cx.doc.get("log").and_then(|l| l.get("format")).is_none() {
            cx.doc
                .entry("log")
                .set("format", Y::s(if t == "json" { "json" } else { "text" }));
        }
        cx.row(&v.at, "log_format", "log.format", Status::Mapped, "");
    }
    Ok(())
}

/// Adds the sink, taking every source and processor the conversion made.
pub(crate) fn finish(cx: &mut Cx, main: &Main) {
    if cx.outputs.is_empty() {
        cx.row(
            "(result)",
            "sinks",
            "",
            Status::NotMapped,
            "nothing is collected (no sampler, integration or log), so no sink is written",
        );
        cx.doc.entry("sources");
        return;
    }
    let mut sink = main.sink.clone();
    sink.set(
        "inputs",
        Y::Seq(cx.outputs.iter().map(|o| Y::s(o.clone())).collect()),
    );
    cx.doc.entry("sinks").set("newrelic", sink);
    // keep a readable order: log, resource, sources, processors, sinks
    if let Y::Map(entries) = &mut cx.doc {
        let rank = |k: &str| match k {
            "log" => 0,
            "resource" => 1,
            "sources" => 2,
            "processors" => 3,
            "sinks" => 4,
            _ => 5,
        };
        entries.sort_by_key(|(k, _)| rank(k));
    }
}
