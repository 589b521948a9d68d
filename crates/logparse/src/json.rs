//! One JSON object per line.

use serde_json::{Map, Value as J};

use crate::{severity, time, Body, Format, Parsed, Value};

const TIME_KEYS: [&str; 5] = ["@timestamp", "timestamp", "time", "ts", "date"];
const LEVEL_KEYS: [&str; 4] = ["level", "severity", "lvl", "log.level"];
const BODY_KEYS: [&str; 3] = ["msg", "message", "log"];
const MAX_DEPTH: usize = 8;

pub(crate) fn parse(line: &str) -> Option<Parsed> {
    let t = line.trim();
    if !t.starts_with('{') || !t.ends_with('}') {
        return None;
    }
    let mut map: Map<String, J> = serde_json::from_str(t).ok()?;

    let mut timestamp_nanos = None;
    for key in TIME_KEYS {
        if let Some(v) = map.get(key) {
            if let Some(ts) = json_time(v) {
                timestamp_nanos = Some(ts);
                map.remove(key);
                break;
            }
        }
    }

    let mut severity = None;
    for key in LEVEL_KEYS {
        if let Some(v) = map.get(key) {
            let found = match v {
                J::String(s) => severity::from_text(s.trim()).map(|n| (n, s.trim().to_string())),
                J::Number(n) => n
                    .as_i64()
                    .and_then(severity::from_number)
                    .map(|s| (s, n.to_string())),
                _ => None,
            };
            if found.is_some() {
                severity = found;
                map.remove(key);
                break;
            }
        }
    }

    let mut body = None;
    for key in BODY_KEYS {
        match map.get(key) {
            Some(J::String(_)) => {
                if let Some(J::String(s)) = map.remove(key) {
                    let s = if key == "log" {
                        s.trim_end_matches(['\n', '\r']).to_string()
                    } else {
                        s
                    };
                    body = Some(Body::Str(s));
                }
                break;
            }
            Some(J::Null) | None => {}
            Some(_) if key != "log" => {
                if let Some(v) = map.remove(key) {
                    body = to_value(v).map(Body::Value);
                }
                break;
            }
            Some(_) => {}
        }
    }

    let mut attributes = Vec::with_capacity(map.len());
    for (k, v) in map {
        flatten(k, v, 0, &mut attributes);
    }
    Some(Parsed {
        format: Format::Json,
        timestamp_nanos,
        severity,
        body: body.unwrap_or_else(|| Body::Str(t.to_string())),
        attributes,
    })
}

fn json_time(v: &J) -> Option<u64> {
    match v {
        J::String(s) => time::text(s),
        J::Number(n) => match n.as_u64() {
            Some(u) => time::epoch_u64(u),
            None => time::epoch_decimal(&n.to_string()).or_else(|| time::epoch_f64(n.as_f64()?)),
        },
        _ => None,
    }
}

fn flatten(key: String, v: J, depth: usize, out: &mut Vec<(String, Value)>) {
    match v {
        J::Object(m) if depth < MAX_DEPTH => {
            for (k, v) in m {
                flatten(format!("{key}.{k}"), v, depth + 1, out);
            }
        }
        v => {
            if let Some(v) = to_value(v) {
                out.push((key, v));
            }
        }
    }
}

fn to_value(v: J) -> Option<Value> {
    Some(match v {
        J::Null => return None,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::Str(s),
        J::Array(a) => Value::Array(a.into_iter().filter_map(to_value).collect()),
        J::Object(m) => Value::Map(
            m.into_iter()
                .filter_map(|(k, v)| to_value(v).map(|v| (k, v)))
                .collect(),
        ),
    })
}
