//! The effective configuration as text, with secrets masked (`lookout config show`).

use crate::schema::{Config, ProcessorKind, SinkKind, SourceKind};
use serde_json::{json, Map, Value};

const MASK: &str = "***";

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "authorization",
        "auth",
        "credential",
        "cookie",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// Replaces secret values in a JSON tree: every value under a key that names a secret, every
/// HTTP header value, and passwords inside URLs.
pub fn mask_secrets(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if k == "headers" {
                    if let Value::Object(h) = val {
                        for hv in h.values_mut() {
                            *hv = Value::String(MASK.into());
                        }
                    }
                } else if is_secret_key(k) && (val.is_string() || val.is_number()) {
                    *val = Value::String(MASK.into());
                } else {
                    mask_secrets(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        Value::String(s) => {
            if let Ok(mut u) = url::Url::parse(s) {
                if u.password().is_some() && u.set_password(Some(MASK)).is_ok() {
                    *s = u.to_string();
                }
            }
        }
        _ => {}
    }
}

fn component(kind: &str, inputs: Option<&[String]>, body: Value) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(kind.into()));
    if let Some(i) = inputs {
        m.insert("inputs".into(), json!(i));
    }
    if let Value::Object(b) = body {
        m.extend(b);
    }
    Value::Object(m)
}

/// The effective configuration as JSON, secrets masked.
pub fn to_json(config: &Config) -> Value {
    let mut root = serde_json::to_value(&config.settings).unwrap_or(Value::Null);
    let mut sources = Map::new();
    for s in &config.sources {
        let body = match &s.kind {
            SourceKind::HostMetrics(c) => serde_json::to_value(c),
            SourceKind::ProcessMetrics(c) => serde_json::to_value(c),
            SourceKind::Statsd(c) => serde_json::to_value(c),
            SourceKind::Otlp(c) => serde_json::to_value(c),
            SourceKind::Files(c) => serde_json::to_value(c),
            SourceKind::Journald(c) => serde_json::to_value(c),
            SourceKind::Docker(c) => serde_json::to_value(c),
            SourceKind::Redis(c) => serde_json::to_value(c),
            SourceKind::Nginx(c) | SourceKind::Apache(c) => serde_json::to_value(c),
            SourceKind::Mysql(c) => serde_json::to_value(c),
            SourceKind::Postgresql(c) => serde_json::to_value(c),
        };
        sources.insert(
            s.id.clone(),
            component(s.kind.type_name(), None, body.unwrap_or(Value::Null)),
        );
    }
    let mut processors = Map::new();
    for p in &config.processors {
        let body = match &p.kind {
            ProcessorKind::Resource(c) => serde_json::to_value(c),
            ProcessorKind::Sample(c) => serde_json::to_value(c),
            ProcessorKind::Redact(c) => serde_json::to_value(c),
            ProcessorKind::Filter(c) => serde_json::to_value(c),
        };
        processors.insert(
            p.id.clone(),
            component(
                p.kind.type_name(),
                Some(&p.inputs),
                body.unwrap_or(Value::Null),
            ),
        );
    }
    let mut sinks = Map::new();
    for s in &config.sinks {
        let body = match &s.kind {
            SinkKind::OtlpHttp(c) => serde_json::to_value(c),
            SinkKind::Prometheus(c) => serde_json::to_value(c),
            SinkKind::File(c) => serde_json::to_value(c),
            SinkKind::Duckdb(c) => serde_json::to_value(c),
        };
        let mut v = component(
            s.kind.type_name(),
            Some(&s.inputs),
            body.unwrap_or(Value::Null),
        );
        if let Value::Object(m) = &mut v {
            m.insert(
                "buffer".into(),
                serde_json::to_value(&s.buffer).unwrap_or(Value::Null),
            );
        }
        sinks.insert(s.id.clone(), v);
    }
    if let Value::Object(m) = &mut root {
        m.insert("sources".into(), Value::Object(sources));
        m.insert("processors".into(), Value::Object(processors));
        m.insert("sinks".into(), Value::Object(sinks));
    }
    mask_secrets(&mut root);
    root
}

/// The effective configuration as YAML, secrets masked.
pub fn to_yaml(config: &Config) -> String {
    let mut out = String::new();
    emit(&to_json(config), 0, &mut out);
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(o) if o.is_empty() => "{}".into(),
        _ => String::new(),
    }
}

fn quote(s: &str) -> String {
    // a literal `${` is written `$${`, so that the output reads back as the same value
    let escaped;
    let s = if s.contains("${") {
        escaped = s.replace("${", "$${");
        escaped.as_str()
    } else {
        s
    };
    let plain_ok = !s.is_empty()
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !s.ends_with(' ')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains('\n')
        && !matches!(s, "true" | "false" | "null" | "~" | "yes" | "no")
        && s.parse::<f64>().is_err();
    if plain_ok {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

fn is_scalar(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => true,
    }
}

fn emit(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                if is_scalar(val) {
                    out.push_str(&format!("{pad}{}: {}\n", quote(k), scalar(val)));
                } else {
                    out.push_str(&format!("{pad}{}:\n", quote(k)));
                    emit(val, indent + 2, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if is_scalar(item) {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                } else {
                    out.push_str(&format!("{pad}-\n"));
                    emit(item, indent + 2, out);
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}
