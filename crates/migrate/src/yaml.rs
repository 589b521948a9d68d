//! A small YAML writer for the generated configuration: block mappings, flow lists of
//! scalars, block lists of mappings, and strings quoted whenever a plain scalar could be read
//! as something else. Quoted strings use JSON's escapes, which YAML's double-quoted style reads
//! the same way.

/// A YAML value, mappings in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string (quoted when needed).
    Str(String),
    /// A list.
    Seq(Vec<Y>),
    /// A mapping in insertion order.
    Map(Vec<(String, Y)>),
}

impl Y {
    /// A string value.
    pub fn s(v: impl Into<String>) -> Y {
        Y::Str(v.into())
    }

    /// An empty mapping.
    pub fn map() -> Y {
        Y::Map(Vec::new())
    }

    /// Sets `key` in a mapping (replacing an earlier value); no-op on anything else.
    pub fn set(&mut self, key: &str, v: Y) {
        if let Y::Map(entries) = self {
            if let Some(e) = entries.iter_mut().find(|(k, _)| k == key) {
                e.1 = v;
            } else {
                entries.push((key.to_string(), v));
            }
        }
    }

    /// The value under `key`, creating an empty mapping there when absent.
    pub fn entry(&mut self, key: &str) -> &mut Y {
        if !matches!(self, Y::Map(_)) {
            *self = Y::map();
        }
        let Y::Map(entries) = self else {
            unreachable!("made a mapping above")
        };
        let idx = match entries.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                entries.push((key.to_string(), Y::map()));
                entries.len() - 1
            }
        };
        &mut entries[idx].1
    }

    /// The value under `key`, if this is a mapping holding it.
    pub fn get(&self, key: &str) -> Option<&Y> {
        match self {
            Y::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn is_scalar(&self) -> bool {
        matches!(self, Y::Bool(_) | Y::Int(_) | Y::Str(_))
    }
}

const RESERVED: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n",
];

fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
        && !s.starts_with(['-', '.'])
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
        && s.parse::<f64>().is_err()
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

fn quote(s: &str) -> String {
    if plain_ok(s) {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

fn scalar(y: &Y) -> String {
    match y {
        Y::Bool(b) => b.to_string(),
        Y::Int(i) => i.to_string(),
        Y::Str(s) => quote(s),
        Y::Seq(items) if items.iter().all(Y::is_scalar) => {
            let parts: Vec<String> = items.iter().map(scalar).collect();
            format!("[{}]", parts.join(", "))
        }
        Y::Seq(_) => "[]".into(),
        Y::Map(_) => "{}".into(),
    }
}

fn inline(y: &Y) -> bool {
    match y {
        Y::Map(e) => e.is_empty(),
        Y::Seq(items) => items.iter().all(Y::is_scalar),
        _ => true,
    }
}

fn write_map(out: &mut String, entries: &[(String, Y)], indent: usize, first_inline: bool) {
    for (i, (k, v)) in entries.iter().enumerate() {
        if !(first_inline && i == 0) {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&quote(k));
        out.push(':');
        write_value(out, v, indent);
    }
}

fn write_value(out: &mut String, v: &Y, indent: usize) {
    if inline(v) {
        out.push(' ');
        out.push_str(&scalar(v));
        out.push('\n');
        return;
    }
    out.push('\n');
    match v {
        Y::Map(entries) => write_map(out, entries, indent + 2, false),
        Y::Seq(items) => {
            for item in items {
                out.push_str(&" ".repeat(indent + 2));
                out.push_str("- ");
                match item {
                    Y::Map(e) if !e.is_empty() => write_map(out, e, indent + 4, true),
                    other => {
                        out.push_str(&scalar(other));
                        out.push('\n');
                    }
                }
            }
        }
        _ => {}
    }
}

/// Writes a top-level mapping as a YAML document.
pub fn emit(doc: &Y) -> String {
    let mut out = String::new();
    match doc {
        Y::Map(entries) => write_map(&mut out, entries, 0, false),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back_as_the_same_tree() {
        let mut d = Y::map();
        d.entry("log").set("level", Y::s("debug"));
        let src = d.entry("sources").entry("host");
        src.set("type", Y::s("host_metrics"));
        src.set("interval", Y::s("5s"));
        src.set("collectors", Y::Seq(vec![Y::s("cpu"), Y::s("load")]));
        d.entry("resource")
            .entry("attributes")
            .set("team: a", Y::s("true"));
        d.entry("resource")
            .entry("attributes")
            .set("num", Y::s("42"));
        d.entry("resource")
            .entry("attributes")
            .set("q", Y::s("say \"hi\"\n"));
        d.entry("resource")
            .entry("attributes")
            .set("s", Y::s("${secret:x}"));
        d.set(
            "list",
            Y::Seq(vec![Y::Map(vec![
                ("a".into(), Y::Int(1)),
                ("b".into(), Y::Bool(true)),
            ])]),
        );
        d.set("empty", Y::map());
        let text = emit(&d);
        let n = lookout_config::node::parse("t", &text).unwrap();
        let attrs = n.get("resource").unwrap().get("attributes").unwrap();
        assert_eq!(attrs.get("team: a").unwrap().as_str(), Some("true"));
        assert!(text.contains("\"team: a\": \"true\""), "{text}");
        assert!(text.contains("num: \"42\""), "{text}");
        assert_eq!(attrs.get("q").unwrap().as_str(), Some("say \"hi\"\n"));
        assert_eq!(attrs.get("s").unwrap().as_str(), Some("${secret:x}"));
        let host = n.get("sources").unwrap().get("host").unwrap();
        assert_eq!(host.get("interval").unwrap().as_str(), Some("5s"));
        assert_eq!(
            host.get("collectors").unwrap().index(1).unwrap().as_str(),
            Some("load")
        );
        let item = n.get("list").unwrap().index(0).unwrap();
        assert_eq!(item.get("b").unwrap().as_str(), Some("true"));
        assert_eq!(n.get("empty").unwrap().entries().len(), 0);
    }
}
