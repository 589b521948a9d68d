//! The policy stage of validation, after the schema: what a config may not do even when it is
//! well-formed, unless the operator allows it in `policy:`.
//!
//! - **No secret in plain text.** A value under a secret-looking key (`password`, `token`,
//!   `api-key`, `authorization`, `license_key`, ...) or the password of a URL's userinfo must
//!   come from a reference (`${env:NAME}`), never be written in the file or on the command line,
//!   where it would end up in backups, shell history and `ps`. `allow_plaintext_secrets: true`
//!   lifts the rule.
//! - **Loopback listeners.** Every listener (the HTTP server, StatsD UDP/TCP, OTLP gRPC/HTTP)
//!   binds a loopback address unless `allow_public_listeners: true`.
//!
//! The secret rule reads the tree *before* `${...}` substitution (after it, a value from the
//! environment and a literal look the same); the listener rule reads the typed [`Config`], so
//! it also holds for configurations assembled in code (auto-configuration's merge).

use crate::error::ConfigError;
use crate::node::{Node, Value};
use crate::schema::{Config, SourceKind};
use std::net::SocketAddr;

/// Keys whose values are secrets (compared case-insensitively, `-` and `_` alike).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "token",
    "auth_token",
    "access_token",
    "bearer_token",
    "api_key",
    "apikey",
    "x_api_key",
    "license_key",
    "x_license_key",
    "x_insert_key",
    "dd_api_key",
    "authorization",
    "proxy_authorization",
    "secret_access_key",
];

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    SECRET_KEYS.contains(&k.as_str())
}

/// Whether a raw scalar takes its value from a reference rather than spelling it out.
fn is_reference(text: &str) -> bool {
    let t = text.trim();
    // `$${` is an escaped, literal `${`
    t.is_empty() || t == "***" || t.replace("$${", "").contains("${")
}

/// The password of a URL's userinfo, when one is written.
fn url_password(text: &str) -> Option<&str> {
    let (scheme, rest) = text.trim().split_once("://")?;
    // a URL, not a pattern that mentions one (`https?://[^:]+:[^@]+@` in a redaction rule)
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.contains(char::is_whitespace) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let pw = userinfo.split_once(':')?.1;
    (!pw.is_empty()).then_some(pw)
}

/// Whether the tree allows something in its `policy:` section.
fn allowed(raw: &Node, key: &str) -> bool {
    raw.get("policy")
        .and_then(|p| p.get(key))
        .and_then(Node::as_str)
        .is_some_and(|v| matches!(v.trim(), "true" | "yes" | "on"))
}

/// Checks the raw (unsubstituted) tree and the typed config against the policy.
pub fn check(raw: &Node, config: &Config) -> Result<(), ConfigError> {
    if !config.settings.policy.allow_plaintext_secrets && !allowed(raw, "allow_plaintext_secrets") {
        for section in ["sources", "processors", "sinks"] {
            if let Some(s) = raw.get(section) {
                check_secrets(s, section)?;
            }
        }
    }
    if config.settings.policy.local_only {
        check_local_only(config).map_err(|(path, what)| {
            error_at(
                raw,
                &path,
                format!("`{path}` {what}, which `policy.local_only` forbids"),
                "remove it (or set the listener to null), or turn local_only off",
            )
        })?;
    }
    check_listeners(config).map_err(|(path, addr)| {
        error_at(
            raw,
            &path,
            format!("`{path}` listens on {addr}, which is not a loopback address"),
            "bind 127.0.0.1 or [::1] (a local collector or a reverse proxy can reach it), \
             or allow it with `policy: {allow_public_listeners: true}`",
        )
    })
}

/// An error at the value a dotted config path names (the path alone when it was not written:
/// a default).
fn error_at(raw: &Node, path: &str, message: String, hint: &str) -> ConfigError {
    match path.split('.').try_fold(raw, |n, k| n.get(k)) {
        Some(n) => ConfigError::at(&n.mark, message, Some(hint)),
        None => ConfigError::plain(message).with_hint(hint),
    }
}

fn check_secrets(node: &Node, path: &str) -> Result<(), ConfigError> {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default();
                let here = format!("{path}.{key}");
                if let Value::Scalar { text, .. } = &v.value {
                    if is_secret_key(key) && !is_reference(text) {
                        return Err(ConfigError::at(
                            &v.mark,
                            format!("`{here}` is a secret written in plain text"),
                            Some(
                                "take it from the environment: `${env:NAME}` (the service's \
                                 EnvironmentFile or a systemd credential), or allow it with \
                                 `policy: {allow_plaintext_secrets: true}`",
                            ),
                        ));
                    }
                    if let Some(pw) = url_password(text) {
                        if !is_reference(pw) {
                            return Err(ConfigError::at(
                                &v.mark,
                                format!("`{here}` has a password in plain text in its URL"),
                                Some(
                                    "write the password as `${env:NAME}`, or send it in a header \
                                     taken from the environment",
                                ),
                            ));
                        }
                    }
                } else {
                    check_secrets(v, &here)?;
                }
            }
            Ok(())
        }
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, n)| check_secrets(n, &format!("{path}[{i}]"))),
        Value::Scalar { .. } => Ok(()),
    }
}

/// Every listener of a typed config, as (config path, address).
pub fn listeners(config: &Config) -> Vec<(String, SocketAddr)> {
    let mut out = Vec::new();
    if config.settings.server.enabled {
        out.push(("server.listen".to_string(), config.settings.server.listen));
    }
    for s in &config.sources {
        match &s.kind {
            SourceKind::Statsd(c) => {
                if let Some(a) = c.udp {
                    out.push((format!("sources.{}.udp", s.id), a));
                }
                if let Some(a) = c.tcp {
                    out.push((format!("sources.{}.tcp", s.id), a));
                }
            }
            SourceKind::Otlp(c) => {
                if let Some(a) = c.grpc {
                    out.push((format!("sources.{}.grpc", s.id), a));
                }
                if let Some(a) = c.http {
                    out.push((format!("sources.{}.http", s.id), a));
                }
            }
            _ => {}
        }
    }
    out
}

/// The local-only rule: Err((path, what it does)) for the first component that would open a
/// network socket.
pub fn check_local_only(config: &Config) -> Result<(), (String, &'static str)> {
    if let Some((path, _)) = listeners(config).into_iter().next() {
        return Err((
            if path == "server.listen" {
                "server.enabled".to_string()
            } else {
                path
            },
            "listens on an IP socket",
        ));
    }
    if config.settings.remote.is_some() {
        return Err(("remote".into(), "polls a configuration over the network"));
    }
    if config.settings.kubernetes.enabled {
        return Err((
            "kubernetes.enabled".into(),
            "lists pods from the API server over the network",
        ));
    }
    for s in &config.sinks {
        if matches!(s.kind, crate::schema::SinkKind::OtlpHttp(_)) {
            return Err((format!("sinks.{}", s.id), "sends data over the network"));
        }
        if matches!(s.kind, crate::schema::SinkKind::Prometheus(_)) {
            return Err((format!("sinks.{}", s.id), "is served over HTTP"));
        }
    }
    Ok(())
}

/// The listener rule on a typed config: Err((path, address)) for the first listener that is
/// not on loopback, unless `policy.allow_public_listeners`.
pub fn check_listeners(config: &Config) -> Result<(), (String, SocketAddr)> {
    if config.settings.policy.allow_public_listeners {
        return Ok(());
    }
    match listeners(config)
        .into_iter()
        .find(|(_, a)| !a.ip().is_loopback())
    {
        Some(bad) => Err(bad),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::load_str;

    fn load(text: &str) -> Result<crate::Config, crate::ConfigError> {
        load_str("t.yaml", text, &[], &|n| {
            (n == "PW").then(|| "from-the-env".to_string())
        })
    }

    #[test]
    fn a_plain_text_password_is_refused_with_its_position() {
        let e = load(
            "sources:\n  r:\n    type: redis\n    password: hunter2\nsinks:\n  o: {type: file, path: /dev/null, inputs: [r]}\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("t.yaml:4"), "{e}");
        assert!(e.message.contains("sources.r.password"), "{e}");
        assert!(
            !e.to_string().contains("hunter2"),
            "the error must not print it: {e}"
        );
    }

    #[test]
    fn references_and_the_allowance_pass() {
        let c = load(
            "sources:\n  r:\n    type: redis\n    password: ${env:PW}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [r]}\n",
        )
        .unwrap();
        match &c.sources[0].kind {
            crate::SourceKind::Redis(r) => assert_eq!(r.password.as_deref(), Some("from-the-env")),
            k => panic!("{k:?}"),
        }
        load("policy: {allow_plaintext_secrets: true}\nsources:\n  r:\n    type: redis\n    password: hunter2\nsinks:\n  o: {type: file, path: /dev/null, inputs: [r]}\n").unwrap();
    }

    #[test]
    fn header_secrets_and_url_passwords_are_refused() {
        let e = load("sources:\n  h: {type: host_metrics}\nsinks:\n  o:\n    type: otlp_http\n    inputs: [h]\n    endpoint: http://127.0.0.1:4318\n    headers: {Api-Key: abc}\n").unwrap_err();
        assert!(e.message.contains("sinks.o.headers.Api-Key"), "{e}");
        let e = load("sources:\n  h: {type: host_metrics}\nsinks:\n  o:\n    type: otlp_http\n    inputs: [h]\n    endpoint: http://u:pw@127.0.0.1:4318\n").unwrap_err();
        assert!(
            e.message.contains("password in plain text in its URL"),
            "{e}"
        );
        // a user name alone, or a password from the environment, is fine
        load("sources:\n  h: {type: host_metrics}\nsinks:\n  o:\n    type: otlp_http\n    inputs: [h]\n    endpoint: http://u@127.0.0.1:4318\n    headers: {x-trace: abc}\n").unwrap();
        load("sources:\n  h: {type: host_metrics}\nsinks:\n  o:\n    type: otlp_http\n    inputs: [h]\n    endpoint: \"http://u:${env:PW}@127.0.0.1:4318\"\n").unwrap();
        // a pattern that mentions a URL with credentials is not one
        assert_eq!(super::url_password("https?://[^:]+:[^@]+@"), None);
        assert_eq!(super::url_password("postgres://app:pw@db/x"), Some("pw"));
    }

    #[test]
    fn a_set_with_a_literal_secret_is_refused() {
        let e = load_str(
            "t.yaml",
            "sources:\n  h: {type: host_metrics}\nsinks:\n  o: {type: otlp_http, inputs: [h], endpoint: \"http://127.0.0.1:1\"}\n",
            &["sinks.o.headers.api-key=topsecret".to_string()],
            &|_| None,
        )
        .unwrap_err();
        assert!(e.message.contains("plain text"), "{e}");
    }

    #[test]
    fn local_only_refuses_network_sinks_and_listeners() {
        let e = load("policy: {local_only: true}\nsources:\n  h: {type: host_metrics}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [h]}\n").unwrap_err();
        assert!(e.message.contains("server.enabled"), "{e}");
        let e = load("policy: {local_only: true}\nserver: {enabled: false}\nsources:\n  h: {type: host_metrics}\nsinks:\n  o: {type: otlp_http, endpoint: \"http://127.0.0.1:4318\", inputs: [h]}\n").unwrap_err();
        assert!(
            e.message.contains("sinks.o") && e.message.contains("network"),
            "{e}"
        );
        let e = load("policy: {local_only: true}\nserver: {enabled: false}\nsources:\n  s: {type: statsd}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [s]}\n").unwrap_err();
        assert!(e.message.contains("sources.s.udp"), "{e}");
        load("policy: {local_only: true}\nserver: {enabled: false}\nsources:\n  h: {type: host_metrics}\nsinks:\n  o: {type: duckdb, inputs: [h]}\n").unwrap();
    }

    #[test]
    fn public_listeners_need_the_allowance() {
        let e = load("sources:\n  s: {type: statsd, udp: 0.0.0.0:8125}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [s]}\n").unwrap_err();
        assert!(e.message.contains("sources.s.udp"), "{e}");
        assert!(e.to_string().contains("t.yaml:2"), "{e}");
        let e = load("server: {listen: \"[::]:13133\"}\nsources:\n  h: {type: host_metrics}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [h]}\n").unwrap_err();
        assert!(e.message.contains("server.listen"), "{e}");
        load("policy: {allow_public_listeners: true}\nsources:\n  s: {type: otlp, grpc: 0.0.0.0:4317}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [s]}\n").unwrap();
        load("sources:\n  s: {type: otlp, grpc: \"[::1]:4317\", http: 127.0.0.2:4318}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [s]}\n").unwrap();
    }
}
