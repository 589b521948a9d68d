//! `integrations.d/`: the v4 format (`integrations:` list) and the legacy v3 format
//! (`integration_name` + `instances`) of nri-mysql, nri-postgresql, nri-redis, nri-nginx and
//! nri-apache become lookout's built-in integrations; credentials go to the secret store.

use crate::yaml::Y;
use crate::{Cx, SourceFile, Status};
use lookout_config::node::{Node, Value};
use lookout_config::{ConfigError, Mark};

/// One instance of an integration, whatever the format it was written in.
struct Instance {
    /// `nri-mysql`, ...
    name: String,
    /// Where the instance starts.
    mark: Mark,
    /// Settings by upper-case name (`HOSTNAME`), with where each was written.
    env: Vec<(String, String, Mark)>,
    interval: Option<(String, Mark)>,
    timeout: Option<(String, Mark)>,
    labels: Vec<(String, String, Mark)>,
    /// Other keys of the entry: (key, mark).
    other: Vec<(String, Mark)>,
    key: String,
}

fn scalar_text(n: &Node) -> Option<String> {
    match &n.value {
        Value::Scalar { text, .. } => Some(text.clone()),
        _ => None,
    }
}

/// A mapping's entries as (key, text, where): keys upper-cased for settings (`HOSTNAME`, as
/// the integrations read them from their environment), as written for labels.
fn pairs(map: &Node, upper: bool) -> Vec<(String, String, Mark)> {
    map.entries()
        .iter()
        .map(|(k, v)| {
            let key = k.as_str().unwrap_or_default();
            let key = if upper {
                key.to_ascii_uppercase()
            } else {
                key.to_string()
            };
            (key, scalar_text(v).unwrap_or_default(), k.mark.clone())
        })
        .collect()
}

impl Instance {
    fn new(key: String, name: String, mark: &Mark) -> Instance {
        Instance {
            name,
            mark: mark.clone(),
            env: Vec::new(),
            interval: None,
            timeout: None,
            labels: Vec::new(),
            other: Vec::new(),
            key,
        }
    }
}

/// The v3 definition names of the five integrations.
fn v3_name(n: &str) -> Option<&'static str> {
    Some(match n {
        "com.newrelic.mysql" => "nri-mysql",
        "com.newrelic.postgresql" => "nri-postgresql",
        "com.newrelic.redis" => "nri-redis",
        "com.newrelic.nginx" => "nri-nginx",
        "com.newrelic.apache" => "nri-apache",
        _ => return None,
    })
}

pub(crate) fn convert(cx: &mut Cx, f: &SourceFile) -> Result<(), ConfigError> {
    crate::check_tabs(f)?;
    let root = lookout_config::node::parse(&f.path, &f.text)?;
    let mut instances = Vec::new();
    if let Some(list) = root.get("integrations") {
        let Value::Seq(items) = &list.value else {
            return Err(ConfigError::at(
                &list.mark,
                "`integrations` must be a list",
                Some("write `integrations:` then `- name: nri-...` entries"),
            ));
        };
        for (i, item) in items.iter().enumerate() {
            instances.push(v4(item, i)?);
        }
    } else if let Some(name) = root.get("integration_name") {
        let def = name.as_str().unwrap_or_default();
        let Some(nri) = v3_name(def) else {
            cx.row(&name.mark, format!("integration_name: {def}"), "", Status::NotMapped, "lookout has no built-in collector for it: run it beside lookout, or send its data with OTLP");
            return Ok(());
        };
        if let Some(Value::Seq(items)) = root.get("instances").map(|n| &n.value) {
            for (i, item) in items.iter().enumerate() {
                if let Some(inst) = v3(cx, item, nri, i)? {
                    instances.push(inst);
                }
            }
        }
    } else if !root.is_null() && !root.entries().is_empty() {
        return Err(ConfigError::at(
            &root.mark,
            "neither an `integrations:` list (v4) nor `integration_name` with `instances` (v3)",
            Some("is this file an integration configuration?"),
        ));
    }
    for (k, v) in root.entries() {
        match k.as_str().unwrap_or_default() {
            "integrations" | "integration_name" | "instances" => {}
            "variables" => cx.row(&v.mark, "variables", "", Status::NotMapped, "secret providers of the agent (vault, kms, ...); lookout reads secrets from its own store or a `secret_backend` command (docs/secrets.md)"),
            "discovery" => cx.row(&v.mark, "discovery", "", Status::NotMapped, "lookout's own discovery finds services on the host (`autoconfig`, docs/discovery.md)"),
            other => cx.row(&k.mark, other, "", Status::NotMapped, "not a key of an integrations file"),
        }
    }
    for inst in instances {
        apply(cx, inst)?;
    }
    Ok(())
}

fn v4(item: &Node, i: usize) -> Result<Instance, ConfigError> {
    let name = item.get("name").and_then(scalar_text).ok_or_else(|| {
        ConfigError::at(
            &item.mark,
            "an integration without `name`",
            Some("every entry of `integrations:` needs `name: nri-...`"),
        )
    })?;
    let mut inst = Instance::new(format!("integrations[{i}] ({name})"), name, &item.mark);
    for (k, v) in item.entries() {
        let key = k.as_str().unwrap_or_default();
        match key {
            "name" => {}
            "env" => inst.env.extend(pairs(v, true)),
            "interval" => inst.interval = scalar_text(v).map(|t| (t, v.mark.clone())),
            "timeout" => inst.timeout = scalar_text(v).map(|t| (t, v.mark.clone())),
            "labels" | "tags" => inst.labels.extend(pairs(v, false)),
            other => inst.other.push((other.to_string(), k.mark.clone())),
        }
    }
    Ok(inst)
}

fn v3(cx: &mut Cx, item: &Node, nri: &str, i: usize) -> Result<Option<Instance>, ConfigError> {
    let name = item
        .get("name")
        .and_then(scalar_text)
        .unwrap_or_else(|| format!("instance {i}"));
    let command = item
        .get("command")
        .and_then(scalar_text)
        .unwrap_or_else(|| "metrics".into());
    if command == "inventory" {
        cx.row(
            &item.mark,
            format!("instances[{i}] ({name}) command: inventory"),
            "",
            Status::NotMapped,
            "inventory (configuration snapshots) is not collected by lookout",
        );
        return Ok(None);
    }
    let mut inst = Instance::new(
        format!("instances[{i}] ({name})"),
        nri.to_string(),
        &item.mark,
    );
    for (k, v) in item.entries() {
        match k.as_str().unwrap_or_default() {
            "name" | "command" => {}
            "arguments" => inst.env.extend(pairs(v, true)),
            "labels" => inst.labels.extend(pairs(v, false)),
            other => inst.other.push((other.to_string(), k.mark.clone())),
        }
    }
    Ok(Some(inst))
}

/// An agent duration: `30s`, `1m`, or a bare number of seconds.
fn duration(t: &str) -> Option<String> {
    let t = t.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Some(format!("{n}s"));
    }
    lookout_config::Duration::parse(t)
        .ok()
        .map(|_| t.to_string())
}

fn apply(cx: &mut Cx, inst: Instance) -> Result<(), ConfigError> {
    let kind = match inst.name.as_str() {
        "nri-mysql" => "mysql",
        "nri-postgresql" => "postgresql",
        "nri-redis" => "redis",
        "nri-nginx" => "nginx",
        "nri-apache" => "apache",
        other => {
            cx.row(&inst.mark, inst.key.clone(), "", Status::NotMapped, format!("lookout has no built-in collector for {other}: run it beside lookout, or send its data with OTLP"));
            return Ok(());
        }
    };
    let id = cx.fresh_id(kind);
    let mut src = Y::map();
    src.set("type", Y::s(kind));
    let get = |k: &str| inst.env.iter().find(|(n, _, _)| n == k);
    let used = |k: &str| -> bool {
        matches!(
            k,
            "HOSTNAME"
                | "PORT"
                | "USERNAME"
                | "PASSWORD"
                | "SOCKET"
                | "UNIX_SOCKET_PATH"
                | "STATUS_URL"
                | "COLLECTION_LIST"
                | "DATABASE"
                | "USE_UNIX_SOCKET"
        )
    };
    let target = |k: &str| format!("sources.{id}.{k}");
    match kind {
        "nginx" | "apache" => {
            let default = if kind == "nginx" {
                "http://127.0.0.1/status"
            } else {
                "http://127.0.0.1/server-status?auto"
            };
            let url = get("STATUS_URL")
                .map(|(_, v, _)| v.clone())
                .unwrap_or_else(|| default.to_string());
            let url = if kind == "apache" && !url.contains("?auto") {
                format!("{url}?auto")
            } else {
                url
            };
            src.set("endpoint", Y::s(url));
            match get("STATUS_URL") {
                Some((_, _, m)) => cx.row(
                    m,
                    format!("{}.STATUS_URL", inst.key),
                    target("endpoint"),
                    Status::Mapped,
                    if kind == "apache" {
                        "the machine-readable page (`?auto`)"
                    } else {
                        ""
                    },
                ),
                None => cx.row(
                    &inst.mark,
                    format!("{}.STATUS_URL", inst.key),
                    target("endpoint"),
                    Status::Mapped,
                    "the integration's default status URL",
                ),
            }
        }
        _ => {
            let unix = get("UNIX_SOCKET_PATH")
                .or_else(|| get("SOCKET"))
                .filter(|(_, v, _)| !v.is_empty());
            let use_unix =
                get("USE_UNIX_SOCKET").is_none_or(|(_, v, _)| v.eq_ignore_ascii_case("true"));
            if let (Some((k, path, m)), true) = (unix, use_unix) {
                src.set("endpoint", Y::s(path.clone()));
                cx.row(
                    m,
                    format!("{}.{k}", inst.key),
                    target("endpoint"),
                    Status::Mapped,
                    "a Unix socket",
                );
            } else {
                let host = get("HOSTNAME")
                    .map(|(_, v, _)| v.clone())
                    .unwrap_or_else(|| "localhost".into());
                let port = get("PORT")
                    .map(|(_, v, _)| v.clone())
                    .unwrap_or_else(|| match kind {
                        "mysql" => "3306".into(),
                        "postgresql" => "5432".into(),
                        _ => "6379".into(),
                    });
                let host = if host == "localhost" {
                    "127.0.0.1".to_string()
                } else {
                    host
                };
                src.set("endpoint", Y::s(format!("{host}:{port}")));
                for k in ["HOSTNAME", "PORT"] {
                    if let Some((_, _, m)) = get(k) {
                        cx.row(
                            m,
                            format!("{}.{k}", inst.key),
                            target("endpoint"),
                            Status::Mapped,
                            "",
                        );
                    }
                }
            }
            if let Some((_, user, m)) = get("USERNAME") {
                src.set("username", Y::s(user.clone()));
                cx.row(
                    m,
                    format!("{}.USERNAME", inst.key),
                    target("username"),
                    Status::Mapped,
                    "",
                );
            }
            if let Some((_, pass, m)) = get("PASSWORD") {
                if !pass.is_empty() {
                    let name = format!("migrate_{}_password", id);
                    let reference = if pass.contains("{{") {
                        cx.row(m, format!("{}.PASSWORD", inst.key), target("password"), Status::Approximated, format!("the agent read it from a `variables:` provider: store it with `lookout secrets set {name}` before the migration"));
                        format!("${{secret:{name}}}")
                    } else {
                        cx.row(
                            m,
                            format!("{}.PASSWORD", inst.key),
                            target("password"),
                            Status::Mapped,
                            format!("in the secret store as `{name}`"),
                        );
                        cx.secret(&name, pass, &m.to_string())
                    };
                    src.set("password", Y::s(reference));
                }
            }
            if kind == "postgresql" {
                if let Some((_, list, m)) = get("COLLECTION_LIST") {
                    match serde_json::from_str::<serde_json::Value>(list) {
                        Ok(serde_json::Value::Array(dbs)) => {
                            src.set(
                                "databases",
                                Y::Seq(dbs.iter().filter_map(|d| d.as_str().map(Y::s)).collect()),
                            );
                            cx.row(
                                m,
                                format!("{}.COLLECTION_LIST", inst.key),
                                target("databases"),
                                Status::Mapped,
                                "",
                            );
                        }
                        Ok(serde_json::Value::Object(dbs)) => {
                            src.set(
                                "databases",
                                Y::Seq(dbs.keys().map(|d| Y::s(d.clone())).collect()),
                            );
                            cx.row(m, format!("{}.COLLECTION_LIST", inst.key), target("databases"), Status::Approximated, "the databases; lookout picks the busiest tables and indexes of each itself (max_tables)");
                        }
                        _ if list.trim().eq_ignore_ascii_case("all") => cx.row(
                            m,
                            format!("{}.COLLECTION_LIST", inst.key),
                            target("databases"),
                            Status::Mapped,
                            "ALL: every database, lookout's default",
                        ),
                        _ => cx.row(
                            m,
                            format!("{}.COLLECTION_LIST", inst.key),
                            "",
                            Status::NotMapped,
                            "not a JSON list or object of databases",
                        ),
                    }
                }
                if let Some((_, db, m)) = get("DATABASE") {
                    cx.row(m, format!("{}.DATABASE", inst.key), "", Status::Mapped, format!("the database lookout connects to first ({db}); every database of COLLECTION_LIST is read"));
                }
            }
        }
    }
    for (k, _, m) in &inst.env {
        if used(k) {
            continue;
        }
        let why = match k.as_str() {
            "METRICS" | "INVENTORY" | "EVENTS" => "lookout's integration sends metrics; inventory is not collected",
            "REMOTE_MONITORING" => "lookout reports the service as a resource of its own (service.name, server.address)",
            "ENABLE_TLS" | "ENABLE_SSL" | "USE_TLS" | "TLS_INSECURE_SKIP_VERIFY" | "INSECURE_SKIP_VERIFY" | "TRUST_SERVER_CERTIFICATE" | "VALIDATE_CERTS" | "SSL_ROOT_CERT_LOCATION" | "SSL_CERT_LOCATION" | "SSL_KEY_LOCATION" | "CA_BUNDLE_FILE" | "CA_BUNDLE_DIR" => "lookout's integrations connect over loopback or a Unix socket without TLS",
            "STATUS_MODULE" => "lookout reads nginx's stub_status page",
            "TIMEOUT" => "use the instance's `timeout`",
            _ => "no lookout equivalent: lookout's integration reports its own fixed set (docs/integrations.md)",
        };
        cx.row(m, format!("{}.{k}", inst.key), "", Status::NotMapped, why);
    }
    if let Some((t, m)) = &inst.interval {
        match duration(t) {
            Some(d) => {
                src.set("interval", Y::s(d));
                cx.row(
                    m,
                    format!("{}.interval", inst.key),
                    target("interval"),
                    Status::Mapped,
                    "",
                );
            }
            None => {
                return Err(ConfigError::at(
                    m,
                    format!("`interval` {t:?} is not a duration"),
                    Some("write 30s, 1m or a number of seconds"),
                ))
            }
        }
    }
    if let Some((t, m)) = &inst.timeout {
        if let Some(d) = duration(t) {
            src.set("timeout", Y::s(d));
            cx.row(
                m,
                format!("{}.timeout", inst.key),
                target("timeout"),
                Status::Mapped,
                "",
            );
        }
    }
    for (k, v, m) in &inst.labels {
        src.entry("attributes").set(k, Y::s(v.clone()));
        cx.row(
            m,
            format!("{}.labels.{k}", inst.key),
            target(&format!("attributes.{k}")),
            Status::Mapped,
            "",
        );
    }
    for (k, m) in &inst.other {
        let why = match k.as_str() {
            "exec" | "cli_args" | "integration_user" | "working_dir" => "lookout's collector is built in: no program to run",
            "when" => "lookout collects the instance unconditionally; an absent service shows as an error in `lookout status`",
            "inventory_source" | "config" | "config_template_path" => "inventory and integration config files are not used by lookout's built-in collector",
            _ => "not mapped",
        };
        cx.row(m, format!("{}.{k}", inst.key), "", Status::NotMapped, why);
    }
    cx.row(
        &inst.mark,
        inst.key.clone(),
        format!("sources.{id}"),
        Status::Mapped,
        format!("lookout's built-in {kind} integration"),
    );
    cx.doc.entry("sources").set(&id, src);
    cx.outputs.push(id);
    Ok(())
}
