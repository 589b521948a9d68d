//! Common / Combined Log Format, as nginx and Apache write it.

use crate::logfmt::{quoted, tokens, Token};
use crate::{time, Body, Format, Parsed, Value};

fn token(s: &str) -> Option<(&str, &str)> {
    let i = s.find(' ')?;
    (i > 0).then(|| (&s[..i], &s[i + 1..]))
}

/// A quoted field at the start of `s`: its text and the rest.
fn field(s: &str) -> Option<(String, &str)> {
    if !s.starts_with('"') {
        return None;
    }
    let (v, end) = quoted(s, 0);
    if !s[..end].ends_with('"') || end < 2 {
        return None;
    }
    Some((v, &s[end..]))
}

/// The attributes of a request line `METHOD target PROTO/version`: `http.request.method`,
/// `url.path`, `url.query` (when the target has `?`), `network.protocol.name` (lower case) and
/// `network.protocol.version`. Returns false (and adds nothing) when the method is not upper
/// case letters and `-`, or a part is missing.
pub(crate) fn request_attrs(request: &str, a: &mut Vec<(String, Value)>) -> bool {
    let mut parts = request.splitn(3, ' ');
    let (Some(method), Some(target), Some(proto)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if method.is_empty() || !method.bytes().all(|c| c.is_ascii_uppercase() || c == b'-') {
        return false;
    }
    a.push(("http.request.method".into(), Value::Str(method.to_string())));
    target_attrs(target, a);
    if let Some((name, version)) = proto.split_once('/') {
        a.push((
            "network.protocol.name".into(),
            Value::Str(name.to_ascii_lowercase()),
        ));
        a.push((
            "network.protocol.version".into(),
            Value::Str(version.to_string()),
        ));
    }
    true
}

/// `url.path` and, after a `?`, `url.query` of a request target.
pub(crate) fn target_attrs(target: &str, a: &mut Vec<(String, Value)>) {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    a.push(("url.path".into(), Value::Str(path.to_string())));
    if let Some(q) = query {
        a.push(("url.query".into(), Value::Str(q.to_string())));
    }
}

/// Severity from an HTTP status: 5xx ERROR, 4xx WARN, else INFO.
pub(crate) fn status_severity(status: i64) -> (i32, String) {
    let (n, t) = match status {
        500..=599 => (17, "ERROR"),
        400..=499 => (13, "WARN"),
        _ => (9, "INFO"),
    };
    (n, t.to_string())
}

pub(crate) fn parse(line: &str) -> Option<Parsed> {
    let (client, rest) = token(line)?;
    let (_ident, rest) = token(rest)?;
    let (user, rest) = token(rest)?;
    let rest = rest.strip_prefix('[')?;
    let close = rest.find(']')?;
    let ts = time::clf(&rest[..close])?;
    let rest = rest[close + 1..].strip_prefix(' ')?;
    let (request, rest) = field(rest)?;
    let rest = rest.strip_prefix(' ')?;
    let (status, rest) = rest.split_at_checked(3)?;
    if !status.bytes().all(|c| c.is_ascii_digit()) || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let status: i64 = status.parse().ok()?;
    let rest = rest.trim_start_matches(' ');
    let size_end = rest.find(' ').unwrap_or(rest.len());
    let size = &rest[..size_end];
    if size != "-" && (size.is_empty() || !size.bytes().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let mut rest = rest[size_end..].trim_start_matches(' ');

    let mut a: Vec<(String, Value)> = Vec::with_capacity(12);
    a.push(("client.address".into(), Value::Str(client.to_string())));
    if user != "-" {
        a.push(("user.name".into(), Value::Str(user.to_string())));
    }
    request_attrs(&request, &mut a);
    a.push(("http.response.status_code".into(), Value::Int(status)));
    if let Ok(n) = size.parse::<i64>() {
        a.push(("http.response.body.size".into(), Value::Int(n)));
    }
    if let Some((referer, r)) = field(rest) {
        if referer != "-" {
            a.push(("http.request.header.referer".into(), Value::Str(referer)));
        }
        rest = r.trim_start_matches(' ');
        if let Some((ua, r)) = field(rest) {
            if ua != "-" {
                a.push(("user_agent.original".into(), Value::Str(ua)));
            }
            rest = r.trim_start_matches(' ');
        }
    }
    if !rest.is_empty() {
        let mut extra = Vec::new();
        for t in tokens(rest) {
            match t {
                Token::Pair(k, v, _) => a.push((k.to_string(), Value::Str(v))),
                Token::Word(w) => extra.push(w),
            }
        }
        if !extra.is_empty() {
            a.push(("log.access.extra".into(), Value::Str(extra.join(" "))));
        }
    }
    Some(Parsed {
        format: Format::AccessLog,
        timestamp_nanos: Some(ts),
        severity: Some(status_severity(status)),
        body: Body::Str(line.to_string()),
        attributes: a,
    })
}
