//! Templates (`templates/` in the repository, embedded at build time) rendered from discovered
//! services into source definitions.
//!
//! A template is a YAML fragment defining one source under `${ID}`. Variables are written
//! `${NAME}` or `${NAME:default}`; `$${` produces a literal `${` (how templates refer to
//! environment variables for credentials, which are never written inline). A variable without
//! a value or default makes the template unusable for that service (the reason is returned).

use crate::correlate::{Kind, Service};
use std::collections::HashMap;

const MYSQL: &str = include_str!("../../../templates/mysql.yaml");
const POSTGRESQL: &str = include_str!("../../../templates/postgresql.yaml");
const REDIS: &str = include_str!("../../../templates/redis.yaml");
const NGINX: &str = include_str!("../../../templates/nginx.yaml");
const APACHE: &str = include_str!("../../../templates/apache.yaml");
const LOGS: &str = include_str!("../../../templates/logs.yaml");
const LOGS_NGINX: &str = include_str!("../../../templates/logs-nginx.yaml");

/// Fills `${NAME}` / `${NAME:default}` from `vars`; `$${` stays a literal `${`. Comment lines
/// (`#`) are dropped.
pub fn fill(template: &str, vars: &HashMap<&str, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    for line in template
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
    {
        let mut rest = line;
        while let Some(i) = rest.find("${") {
            if rest[..i].ends_with('$') {
                // `$${` → literal `${`, with the variables inside it still filled
                out.push_str(&rest[..i - 1]);
                out.push_str("${");
                rest = &rest[i + 2..];
                continue;
            }
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!("unclosed variable in `{line}`"));
            };
            let spec = &after[..end];
            let (name, default) = match spec.split_once(':') {
                Some((n, d)) => (n, Some(d)),
                None => (spec, None),
            };
            match vars.get(name).map(String::as_str).or(default) {
                Some(v) => out.push_str(v),
                None => return Err(format!("no value for ${{{name}}}")),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    Ok(out)
}

/// A source id from an instance name (`redis@127.0.0.1:6380` → `redis_127_0_0_1_6380`).
pub fn source_id(instance: &str) -> String {
    let mut id: String = instance
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while id.contains("__") {
        id = id.replace("__", "_");
    }
    format!("auto_{}", id.trim_matches('_'))
}

/// What rendering made of one service.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The service's instance name.
    pub instance: String,
    /// Source definitions (YAML, each starting with `id:` at column 0).
    pub sources: Vec<(String, String)>,
    /// Parts left out, and why.
    pub skipped: Vec<String>,
}

fn indent(yaml: &str) -> String {
    yaml.lines().map(|l| format!("  {l}\n")).collect()
}

/// Renders the configured services (confidence at the threshold or above): one metrics source
/// each (when there is an endpoint to read) and one `files` source per log file.
pub fn render(services: &[Service]) -> Vec<Rendered> {
    let mut out = Vec::new();
    for s in services.iter().filter(|s| s.configured()) {
        let id = source_id(&s.instance);
        let mut r = Rendered {
            instance: s.instance.clone(),
            sources: Vec::new(),
            skipped: Vec::new(),
        };
        let mut vars: HashMap<&str, String> = HashMap::new();
        vars.insert("ID", id.clone());
        vars.insert("SERVICE", s.kind.as_str().to_string());
        let tcp = s
            .listens
            .iter()
            .find_map(|l| l.strip_prefix("tcp "))
            .map(|a| {
                a.replace("0.0.0.0", "127.0.0.1")
                    .replace("[::]", "127.0.0.1")
            });
        let unix = s.listens.iter().find_map(|l| l.strip_prefix("unix "));
        let cfg = s.config.clone().unwrap_or_default();
        let template = match s.kind {
            Kind::Mysql => {
                if let Some(e) = tcp.clone().or(unix.map(String::from)) {
                    vars.insert("ENDPOINT", e);
                }
                Some(MYSQL)
            }
            Kind::Postgresql => {
                if let Some(e) = tcp.clone() {
                    vars.insert("ENDPOINT", e);
                }
                Some(POSTGRESQL)
            }
            Kind::Redis => {
                if let Some(e) = tcp.clone().or(unix.map(String::from)) {
                    vars.insert("ENDPOINT", e);
                }
                Some(REDIS)
            }
            Kind::Nginx | Kind::Apache => match cfg.status.first() {
                Some(u) => {
                    vars.insert("STATUS_URL", u.clone());
                    Some(if s.kind == Kind::Nginx { NGINX } else { APACHE })
                }
                None => {
                    r.skipped.push(format!(
                        "{} metrics: no status page configured ({})",
                        s.kind.as_str(),
                        if s.kind == Kind::Nginx {
                            "add `location = /nginx_status { stub_status; allow 127.0.0.1; deny all; }`"
                        } else {
                            "enable mod_status with `<Location /server-status> SetHandler server-status </Location>`"
                        }
                    ));
                    None
                }
            },
        };
        if let Some(t) = template {
            match fill(t, &vars) {
                Ok(y) => r.sources.push((id.clone(), y)),
                Err(e) => r.skipped.push(format!("{} metrics: {e}", s.kind.as_str())),
            }
        }
        for (i, l) in cfg.logs.iter().enumerate() {
            if !l.path.is_absolute() {
                continue;
            }
            let lid = format!("{id}_log{}", i + 1);
            let mut v = vars.clone();
            v.insert("ID", lid.clone());
            v.insert("PATH", l.path.display().to_string());
            v.insert("PARSER", l.parser.clone());
            let t = match (&l.format, &cfg.path) {
                (Some(fmt), Some(conf)) if l.parser == "nginx" => {
                    v.insert("FORMAT", fmt.clone());
                    v.insert("CONFIG", conf.display().to_string());
                    LOGS_NGINX
                }
                _ => LOGS,
            };
            match fill(t, &v) {
                Ok(y) => r.sources.push((lid, y)),
                Err(e) => r.skipped.push(format!("log {}: {e}", l.path.display())),
            }
        }
        out.push(r);
    }
    out
}

/// All rendered sources as one `sources:` YAML document.
pub fn fragment(rendered: &[Rendered]) -> String {
    let mut y = String::from("sources:\n");
    for r in rendered {
        for (_, s) in &r.sources {
            y.push_str(&indent(s));
        }
    }
    y
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fill_variables_defaults_and_literal_env_references() {
        let mut v = HashMap::new();
        v.insert("ID", "x".to_string());
        let out = fill("# c\n${ID}:\n  a: ${A:1}\n  p: $${env:${E:PW}:-}\n", &v).unwrap();
        assert_eq!(out, "x:\n  a: 1\n  p: ${env:PW:-}\n");
        assert!(fill("${NOPE}", &v).unwrap_err().contains("NOPE"));
        assert!(fill("${ID", &v).is_err());
        assert_eq!(
            source_id("redis@127.0.0.1:6380"),
            "auto_redis_127_0_0_1_6380"
        );
    }

    #[test]
    fn every_template_renders_to_yaml_with_its_variables() {
        let mut v = HashMap::new();
        for (k, val) in [
            ("ID", "s"),
            ("STATUS_URL", "http://127.0.0.1/s"),
            ("PATH", "/var/log/x.log"),
            ("SERVICE", "nginx"),
            ("CONFIG", "/etc/nginx/nginx.conf"),
            ("FORMAT", "main"),
        ] {
            v.insert(k, val.to_string());
        }
        for t in [MYSQL, POSTGRESQL, REDIS, NGINX, APACHE, LOGS, LOGS_NGINX] {
            let y = fill(t, &v).unwrap();
            assert!(y.starts_with("s:\n"), "{y}");
            assert!(!y.contains("${") || y.contains("${env:"), "{y}");
        }
    }
}
