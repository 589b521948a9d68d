//! `--set key.path=value` overrides, applied to the parsed tree before it is typed, as the
//! OpenTelemetry Collector does. The value is read as YAML (`--set 'sinks.otlp.headers={a: b}'`
//! works); a dot inside a key is written `\.` (`--set 'resource.attributes.team\.name=ops'`).

use crate::error::ConfigError;
use crate::node::{parse, Mark, Node, Value};
use std::sync::Arc;

/// Applies one `key.path=value` override.
pub fn apply(root: &mut Node, index: usize, arg: &str) -> Result<(), ConfigError> {
    let origin: Arc<str> = Arc::from(format!("--set #{} `{arg}`", index + 1).as_str());
    let mark = Mark {
        origin: origin.clone(),
        line: 1,
        col: 1,
    };
    let Some((path, value)) = arg.split_once('=') else {
        return Err(ConfigError::at(
            &mark,
            "expected key.path=value",
            Some("for example: --set server.listen=127.0.0.1:9000"),
        ));
    };
    let keys = split_path(path);
    if keys.iter().any(String::is_empty) {
        return Err(ConfigError::at(
            &mark,
            format!("invalid key path `{path}`"),
            Some("keys are separated by single dots"),
        ));
    }
    let mut value_node = parse(&origin, value)?;
    // An empty mapping means an empty value: keep it a null scalar.
    if value.trim().is_empty() {
        value_node = Node::scalar("", true, mark.clone());
    }
    relabel(&mut value_node, &origin);
    let mut cur = root;
    for (i, key) in keys.iter().enumerate() {
        if !matches!(cur.value, Value::Map(_)) {
            if cur.is_null() {
                cur.value = Value::Map(Vec::new());
            } else {
                return Err(ConfigError::at(
                    &mark,
                    format!(
                        "cannot set `{}`: `{}` is {}, not a mapping",
                        path,
                        keys[..i].join("."),
                        cur.kind()
                    ),
                    None,
                ));
            }
        }
        let last = i + 1 == keys.len();
        if cur.get(key).is_none() {
            if let Value::Map(entries) = &mut cur.value {
                entries.push((
                    Node::scalar(key.clone(), true, mark.clone()),
                    Node::scalar("", true, mark.clone()),
                ));
            }
        }
        let Some(next) = cur.get_mut(key) else {
            return Err(ConfigError::at(
                &mark,
                "internal error applying --set",
                None,
            ));
        };
        if last {
            *next = value_node;
            return Ok(());
        }
        cur = next;
    }
    Ok(())
}

fn relabel(node: &mut Node, origin: &Arc<str>) {
    node.mark.origin = origin.clone();
    match &mut node.value {
        Value::Scalar { .. } => {}
        Value::Seq(items) => items.iter_mut().for_each(|n| relabel(n, origin)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            relabel(k, origin);
            relabel(v, origin);
        }),
    }
}

fn split_path(path: &str) -> Vec<String> {
    let mut keys = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                if let Some(k) = keys.last_mut() {
                    k.push('.');
                }
            }
            '.' => keys.push(String::new()),
            c => {
                if let Some(k) = keys.last_mut() {
                    k.push(c)
                }
            }
        }
    }
    keys
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sets_nested_and_new_keys() {
        let mut root = parse("f", "server:\n  listen: 127.0.0.1:1\n").unwrap();
        apply(&mut root, 0, "server.listen=127.0.0.1:2").unwrap();
        apply(&mut root, 1, "resource.attributes.team\\.name=ops").unwrap();
        apply(&mut root, 2, "sinks.x.headers={a: b}").unwrap();
        assert_eq!(
            root.get("server").unwrap().get("listen").unwrap().as_str(),
            Some("127.0.0.1:2")
        );
        let attrs = root.get("resource").unwrap().get("attributes").unwrap();
        assert_eq!(attrs.get("team.name").unwrap().as_str(), Some("ops"));
        let h = root
            .get("sinks")
            .unwrap()
            .get("x")
            .unwrap()
            .get("headers")
            .unwrap();
        assert_eq!(h.get("a").unwrap().as_str(), Some("b"));
        assert!(h.mark.origin.starts_with("--set #3"));
    }

    #[test]
    fn rejects_bad_forms() {
        let mut root = parse("f", "a: 1\n").unwrap();
        assert!(apply(&mut root, 0, "novalue").is_err());
        assert!(apply(&mut root, 0, "a..b=1").is_err());
        assert!(apply(&mut root, 0, "a.b=1").is_err()); // a is a scalar
    }
}
