//! nginx access logs written with a custom `log_format`: reading the formats from an nginx
//! configuration ([`nginx_log_formats`]) and matching lines against one ([`NginxFormat`]).

use std::borrow::Cow;

use memchr::memchr2;

use crate::access::{request_attrs, status_severity, target_attrs};
use crate::{time, Body, Format, Parsed, Value};

/// nginx's built-in `combined` format.
const COMBINED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status \
                        $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";

/// One token of an nginx configuration.
enum Tok {
    /// A word or quoted string, escapes resolved.
    Word(String),
    /// `;`
    Semi,
    /// `{` or `}`
    Block,
}

/// Resolves the escapes nginx resolves in configuration tokens: `\"`, `\'`, `\\`, `\t`, `\r`,
/// `\n`; any other backslash is kept.
fn conf_unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('"' | '\'' | '\\')) => out.push(e),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The tokens of an nginx configuration, split as nginx does: whitespace separates words,
/// `'…'` and `"…"` are single words, `#` at the start of a word comments to the end of the
/// line, `;`, `{` and `}` (at the start of a word) are punctuation, `${` does not open a block.
struct Tokens<'a> {
    text: &'a str,
    pos: usize,
}

impl Iterator for Tokens<'_> {
    type Item = Tok;

    fn next(&mut self) -> Option<Tok> {
        let b = self.text.as_bytes();
        loop {
            let c = *b.get(self.pos)?;
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'#' => {
                    self.pos =
                        memchr::memchr(b'\n', &b[self.pos..]).map_or(b.len(), |k| self.pos + k);
                }
                b';' => {
                    self.pos += 1;
                    return Some(Tok::Semi);
                }
                b'{' | b'}' => {
                    self.pos += 1;
                    return Some(Tok::Block);
                }
                b'"' | b'\'' => {
                    let start = self.pos + 1;
                    let mut j = start;
                    while j < b.len() && b[j] != c {
                        j += if b[j] == b'\\' { 2 } else { 1 };
                    }
                    let end = j.min(b.len());
                    self.pos = (end + 1).min(b.len());
                    return Some(Tok::Word(conf_unescape(&self.text[start..end])));
                }
                _ => {
                    let start = self.pos;
                    let mut j = start;
                    let mut variable = false;
                    while j < b.len() {
                        let c = b[j];
                        if c == b'{' && variable {
                            variable = false;
                            j += 1;
                            continue;
                        }
                        variable = c == b'$';
                        if c == b'\\' {
                            j += 2;
                            continue;
                        }
                        if matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{') {
                            break;
                        }
                        j += 1;
                    }
                    let end = j.min(b.len());
                    self.pos = end;
                    return Some(Tok::Word(conf_unescape(&self.text[start..end])));
                }
            }
        }
    }
}

/// The `log_format NAME [escape=default|json|none] 'part' "part" …;` directives of an nginx
/// configuration text, as `(name, format)` in file order, the parts of each concatenated.
/// Quoting, `\` escapes and `#` comments are read as nginx reads them; a directive may span
/// lines; `include`d files are not followed. The escape mode is not returned:
/// [`NginxFormat::parse`] reads values written in any mode. The built-in `combined` format is
/// added last unless the text defines one of that name.
pub fn nginx_log_formats(config: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    for tok in (Tokens {
        text: config,
        pos: 0,
    }) {
        match tok {
            Tok::Word(w) => words.push(w),
            Tok::Semi => {
                if words.len() >= 3 && words[0] == "log_format" {
                    let mut parts = &words[2..];
                    if let Some(mode) = parts[0].strip_prefix("escape=") {
                        if !matches!(mode, "default" | "json" | "none") {
                            // nginx refuses the directive.
                            words.clear();
                            continue;
                        }
                        parts = &parts[1..];
                    }
                    if !parts.is_empty() {
                        out.push((words[1].clone(), parts.concat()));
                    }
                }
                words.clear();
            }
            Tok::Block => words.clear(),
        }
    }
    if !out.iter().any(|(n, _)| n == "combined") {
        out.push(("combined".to_string(), COMBINED.to_string()));
    }
    out
}

/// What a variable's value becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A string attribute.
    Str(&'static str),
    /// An integer attribute (`nginx.<name>` text when not an integer).
    Int(&'static str),
    /// A floating-point attribute (`nginx.<name>` text when not a number).
    Double(&'static str),
    /// `$request`: method, path, query, protocol.
    Request,
    /// `$request_uri`, `$uri`: path and query.
    Target,
    /// `$status`: `http.response.status_code` and the severity.
    Status,
    /// `$time_local` (Common Log Format time).
    TimeLocal,
    /// `$time_iso8601`.
    TimeIso,
    /// `$msec` (epoch seconds with milliseconds).
    Msec,
    /// Anything else: `nginx.<name>`.
    Other,
}

fn kind(name: &str) -> Kind {
    match name {
        "remote_addr" => Kind::Str("client.address"),
        "remote_user" => Kind::Str("user.name"),
        "time_local" => Kind::TimeLocal,
        "time_iso8601" => Kind::TimeIso,
        "msec" => Kind::Msec,
        "request" => Kind::Request,
        "request_method" => Kind::Str("http.request.method"),
        "request_uri" | "uri" => Kind::Target,
        "status" => Kind::Status,
        "body_bytes_sent" => Kind::Int("http.response.body.size"),
        "bytes_sent" => Kind::Int("http.response.size"),
        "request_length" => Kind::Int("http.request.size"),
        "request_time" => Kind::Double("http.server.request.duration"),
        "upstream_response_time" => Kind::Str("nginx.upstream.response_time"),
        "http_referer" => Kind::Str("http.request.header.referer"),
        "http_user_agent" => Kind::Str("user_agent.original"),
        "http_x_forwarded_for" => Kind::Str("http.request.header.x-forwarded-for"),
        "host" | "server_name" => Kind::Str("server.address"),
        "server_port" => Kind::Int("server.port"),
        "scheme" => Kind::Str("url.scheme"),
        "request_id" => Kind::Str("http.request.id"),
        _ => Kind::Other,
    }
}

#[derive(Debug, Clone)]
struct Var {
    /// `nginx.<name>`: the key of an unmapped variable, or of a value its mapping refused.
    fallback_key: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Item {
    Literal(String),
    Var(Var),
}

/// A compiled nginx `log_format`: literal text, which must match exactly, and `$variable`s,
/// each capturing the text up to the next occurrence of the literal that follows it (a
/// `\`-escaped character is skipped over, so `\"` inside a value does not end it), up to the
/// end of the line when it is last, and, when the literal after it ends the format, up to that
/// literal at the end of the line. `$time_local` is taken as its 26 characters when they are a
/// time, so a space may follow it.
///
/// Lines are matched by [`NginxFormat::parse`]; [`parse`](crate::parse) with
/// [`Format::NginxCustom`] cannot (it has no format) and gives Plain.
#[derive(Debug, Clone)]
pub struct NginxFormat {
    items: Vec<Item>,
    vars: usize,
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl NginxFormat {
    /// Compiles a format (the text of a `log_format`, parts already concatenated, as
    /// [`nginx_log_formats`] returns it). Errors, with the reason, on an empty format, an
    /// invalid variable name (`$` not followed by `[A-Za-z0-9_]`, or `${` without `}`), and a
    /// variable directly followed by another one, whose end could not be found.
    pub fn compile(format: &str) -> Result<NginxFormat, String> {
        if format.is_empty() {
            return Err("empty log_format".to_string());
        }
        let b = format.as_bytes();
        let mut items: Vec<Item> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' {
                let end = memchr::memchr(b'$', &b[i..]).map_or(b.len(), |k| i + k);
                items.push(Item::Literal(format[i..end].to_string()));
                i = end;
                continue;
            }
            let (name, next) = if b.get(i + 1) == Some(&b'{') {
                let close = memchr::memchr(b'}', &b[i + 2..])
                    .map(|k| i + 2 + k)
                    .ok_or_else(|| {
                        format!("the closing bracket of the variable at byte {i} is missing")
                    })?;
                (&format[i + 2..close], close + 1)
            } else {
                let len = b[i + 1..].iter().take_while(|&&c| is_name_byte(c)).count();
                (&format[i + 1..i + 1 + len], i + 1 + len)
            };
            if name.is_empty() || !name.bytes().all(is_name_byte) {
                return Err(format!("invalid variable name {name:?} at byte {i}"));
            }
            if let (Some(Item::Var(_)), Some(prev)) = (items.last(), names.last()) {
                return Err(format!(
                    "${prev} is directly followed by ${name}: nothing separates them, so where \
                     ${prev} ends cannot be known"
                ));
            }
            names.push(name);
            items.push(Item::Var(Var {
                fallback_key: format!("nginx.{name}"),
                kind: kind(name),
            }));
            i = next;
        }
        Ok(NginxFormat {
            items,
            vars: names.len(),
        })
    }

    /// Matches one line (a trailing `\n`/`\r` is ignored) against the format; None when the
    /// literal text does not match, text is left over, `$status` is not a number or a time
    /// variable not a time. Values are unescaped (nginx's default `\xHH` and `escape=json`
    /// escapes); `-` and empty values are left out. The result has [`Format::NginxCustom`],
    /// the whole line as body, severity from `$status` (5xx ERROR, 4xx WARN, else INFO), the
    /// time from `$time_local`, `$time_iso8601` or `$msec`, and attributes named as for the
    /// access log (see the crate documentation); when two variables give the same attribute
    /// the first wins.
    pub fn parse(&self, line: &str) -> Option<Parsed> {
        let line = line.trim_end_matches(['\n', '\r']);
        let mut caps: Vec<(&Var, &str)> = Vec::with_capacity(self.vars);
        let mut pos = 0;
        for (idx, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(l) => {
                    if !line[pos..].starts_with(l.as_str()) {
                        return None;
                    }
                    pos += l.len();
                }
                Item::Var(v) => {
                    let end = match self.items.get(idx + 1) {
                        None => line.len(),
                        Some(Item::Literal(l)) if idx + 2 == self.items.len() => {
                            let end = line.len().checked_sub(l.len())?;
                            if end < pos || !line.ends_with(l.as_str()) {
                                return None;
                            }
                            end
                        }
                        Some(Item::Literal(l)) => {
                            clf_end(v, line, pos, l).or_else(|| find_literal(line, pos, l))?
                        }
                        Some(Item::Var(_)) => return None,
                    };
                    caps.push((v, &line[pos..end]));
                    pos = end;
                }
            }
        }
        if pos != line.len() {
            return None;
        }
        let mut a: Vec<(String, Value)> = Vec::with_capacity(self.vars + 4);
        let mut ts = None;
        let mut severity = None;
        for (v, raw) in caps {
            if raw.is_empty() || raw == "-" {
                continue;
            }
            let val = unescape(raw);
            match v.kind {
                Kind::Str(key) => put(&mut a, key, Value::Str(val.into_owned())),
                Kind::Int(key) => match val.parse::<i64>() {
                    Ok(n) => put(&mut a, key, Value::Int(n)),
                    Err(_) => put(&mut a, &v.fallback_key, Value::Str(val.into_owned())),
                },
                Kind::Double(key) => match val.parse::<f64>().ok().filter(|x| x.is_finite()) {
                    Some(x) => put(&mut a, key, Value::Double(x)),
                    None => put(&mut a, &v.fallback_key, Value::Str(val.into_owned())),
                },
                Kind::Request => {
                    let mut req = Vec::with_capacity(6);
                    if request_attrs(&val, &mut req) {
                        for (k, x) in req {
                            put(&mut a, &k, x);
                        }
                    } else {
                        put(&mut a, &v.fallback_key, Value::Str(val.into_owned()));
                    }
                }
                Kind::Target => {
                    let mut t = Vec::with_capacity(2);
                    target_attrs(&val, &mut t);
                    for (k, x) in t {
                        put(&mut a, &k, x);
                    }
                }
                Kind::Status => {
                    let n = val.parse::<i64>().ok()?;
                    severity.get_or_insert_with(|| status_severity(n));
                    put(&mut a, "http.response.status_code", Value::Int(n));
                }
                Kind::TimeLocal | Kind::TimeIso | Kind::Msec => {
                    let t = match v.kind {
                        Kind::TimeLocal => time::clf(&val)?,
                        Kind::TimeIso => time::iso(&val).filter(|(_, n)| *n == val.len())?.0,
                        _ => time::epoch_decimal(&val)?,
                    };
                    ts.get_or_insert(t);
                }
                Kind::Other => put(&mut a, &v.fallback_key, Value::Str(val.into_owned())),
            }
        }
        Some(Parsed {
            format: Format::NginxCustom,
            timestamp_nanos: ts,
            severity,
            body: Body::Str(line.to_string()),
            attributes: a,
        })
    }
}

/// Adds an attribute unless one of that name is there already.
fn put(a: &mut Vec<(String, Value)>, key: &str, v: Value) {
    if !a.iter().any(|(k, _)| k == key) {
        a.push((key.to_string(), v));
    }
}

/// `$time_local` followed by `lit`: the end of its 26 characters when they are a time and `lit`
/// follows them.
fn clf_end(v: &Var, line: &str, pos: usize, lit: &str) -> Option<usize> {
    const LEN: usize = "02/Jan/2024:03:04:05 +0000".len();
    if v.kind != Kind::TimeLocal {
        return None;
    }
    let end = pos + LEN;
    let t = line.get(pos..end)?;
    (time::clf(t).is_some() && line[end..].starts_with(lit)).then_some(end)
}

/// The first occurrence of `lit` in `line` from `from`, skipping `\`-escaped characters.
fn find_literal(line: &str, from: usize, lit: &str) -> Option<usize> {
    let b = line.as_bytes();
    let l = lit.as_bytes();
    let first = *l.first()?;
    let mut i = from;
    while i < b.len() {
        let k = i + memchr2(first, b'\\', &b[i..])?;
        if b[k] == b'\\' && first != b'\\' {
            i = k + 2;
            continue;
        }
        if b[k..].starts_with(l) {
            return Some(k);
        }
        i = k + 1;
    }
    None
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Undoes nginx's value escaping: `\xHH` (the default mode) and `\"`, `\\`, `\/`, `\n`, `\r`,
/// `\t`, `\b`, `\f`, `\uHHHH` (`escape=json`). Other backslashes are kept; bytes that are not
/// UTF-8 become U+FFFD.
fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let simple = match b.get(i + 1) {
            Some(b'"') => Some(b'"'),
            Some(b'\\') => Some(b'\\'),
            Some(b'/') => Some(b'/'),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            Some(b'b') => Some(8),
            Some(b'f') => Some(12),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        if b.get(i + 1) == Some(&b'x') {
            if let (Some(h), Some(l)) = (
                b.get(i + 2).and_then(|&c| hex(c)),
                b.get(i + 3).and_then(|&c| hex(c)),
            ) {
                out.push((h << 4) | l);
                i += 4;
                continue;
            }
        }
        if b.get(i + 1) == Some(&b'u') {
            let code = b.get(i + 2..i + 6).filter(|h| h.len() == 4).and_then(|h| {
                h.iter()
                    .try_fold(0u32, |acc, &c| Some((acc << 4) | u32::from(hex(c)?)))
            });
            if let Some(code) = code {
                let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i += 6;
                continue;
            }
        }
        out.push(b'\\');
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// 2024-01-02T03:04:05Z
    const T0: u64 = 1_704_164_645_000_000_000;

    const NGINX_CONF: &str = r#"user www-data;
worker_processes auto;
pid /run/nginx.pid;
include /etc/nginx/modules-enabled/*.conf;

events {
	worker_connections 768;
	# multi_accept on;
}

http {
	sendfile on;
	tcp_nopush on;
	types_hash_max_size 2048;
	# server_tokens off;

	include /etc/nginx/mime.types;
	default_type application/octet-stream;

	##
	# Logging Settings
	##

	# log_format old '$remote_addr $status';
	log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
	                  '$status $body_bytes_sent "$http_referer" '   # sizes
	                  '"$http_user_agent" rt=$request_time uct="$upstream_connect_time"';

	log_format json_analytics escape=json
	    '{"ts":"$time_iso8601","status":$status}';

	map $http_upgrade $connection_upgrade {
		default upgrade;
		''      close;
	}

	access_log /var/log/nginx/access.log main;
	error_log /var/log/nginx/error.log;

	gzip on;

	server {
		listen 80 default_server;
		location / {
			try_files $uri $uri/ =404;
			return 200 "ok; {not a block}";
		}
	}
}
"#;

    fn s(p: &Parsed, key: &str) -> String {
        match p.attr(key) {
            Some(Value::Str(s)) => s.clone(),
            other => panic!("{key}: {other:?} in {:?}", p.attributes),
        }
    }

    fn format_named(conf: &str, name: &str) -> NginxFormat {
        let formats = nginx_log_formats(conf);
        let (_, f) = formats.iter().find(|(n, _)| n == name).unwrap();
        NginxFormat::compile(f).unwrap()
    }

    #[test]
    fn builtin_combined_matches_the_access_log_parser() {
        let formats = nginx_log_formats("http {\n  access_log /var/log/nginx/access.log;\n}\n");
        assert_eq!(
            formats,
            vec![("combined".to_string(), COMBINED.to_string())]
        );
        let f = NginxFormat::compile(&formats[0].1).unwrap();
        for line in [
            r#"203.0.113.7 - - [02/Jan/2024:03:04:05 +0000] "GET /api/v1/items?page=2&sort=asc HTTP/1.1" 200 5123 "https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36""#,
            r#"2001:db8::1 - alice [02/Jan/2024:04:04:05 +0100] "POST /login HTTP/2.0" 503 0 "-" "curl/8.5.0""#,
            r#"198.51.100.2 - - [02/Jan/2024:03:04:05 +0000] "HEAD / HTTP/1.0" 404 - "-" "-""#,
        ] {
            let p = f.parse(line).unwrap();
            let q = crate::access::parse(line).unwrap();
            assert_eq!(p.format, Format::NginxCustom);
            assert_eq!(p.attributes, q.attributes, "{line}");
            assert_eq!(p.timestamp_nanos, q.timestamp_nanos);
            assert_eq!(p.timestamp_nanos, Some(T0));
            assert_eq!(p.severity, q.severity);
            assert_eq!(p.body, q.body);
        }
    }

    #[test]
    fn formats_from_a_realistic_config() {
        let formats = nginx_log_formats(NGINX_CONF);
        let names: Vec<&str> = formats.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["main", "json_analytics", "combined"]);
        assert_eq!(
            formats[0].1,
            "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \
             \"$http_referer\" \"$http_user_agent\" rt=$request_time uct=\"$upstream_connect_time\""
        );
        assert_eq!(formats[1].1, r#"{"ts":"$time_iso8601","status":$status}"#);
        // A redefined `combined` replaces the built-in one.
        let f = nginx_log_formats("log_format combined \"$remote_addr $status\";");
        assert_eq!(
            f,
            vec![("combined".to_string(), "$remote_addr $status".to_string())]
        );
        // Unknown escape modes are refused as nginx refuses them; escapes in quotes resolved.
        let f = nginx_log_formats(r#"log_format a escape=xml '$a'; log_format b "\"$b\"";"#);
        assert_eq!(f[0], ("b".to_string(), "\"$b\"".to_string()));
    }

    #[test]
    fn custom_main_format_lines() {
        let f = format_named(NGINX_CONF, "main");
        let l = r#"10.1.2.3 - bob [02/Jan/2024:03:04:05 +0000] "POST /api/orders?id=7 HTTP/1.1" 502 157 "https://shop.example/cart" "Mozilla/5.0 (\"quoted\")" rt=0.250 uct="0.001""#;
        let p = f.parse(l).unwrap();
        assert_eq!(p.timestamp_nanos, Some(T0));
        assert_eq!(p.severity, Some((17, "ERROR".into())));
        assert_eq!(s(&p, "client.address"), "10.1.2.3");
        assert_eq!(s(&p, "user.name"), "bob");
        assert_eq!(s(&p, "http.request.method"), "POST");
        assert_eq!(s(&p, "url.path"), "/api/orders");
        assert_eq!(s(&p, "url.query"), "id=7");
        assert_eq!(s(&p, "network.protocol.name"), "http");
        assert_eq!(s(&p, "network.protocol.version"), "1.1");
        assert_eq!(p.attr("http.response.status_code"), Some(&Value::Int(502)));
        assert_eq!(p.attr("http.response.body.size"), Some(&Value::Int(157)));
        assert_eq!(
            s(&p, "http.request.header.referer"),
            "https://shop.example/cart"
        );
        assert_eq!(s(&p, "user_agent.original"), "Mozilla/5.0 (\"quoted\")");
        assert_eq!(
            p.attr("http.server.request.duration"),
            Some(&Value::Double(0.25))
        );
        assert_eq!(s(&p, "nginx.upstream_connect_time"), "0.001");
        assert_eq!(p.body.as_str(), Some(l));
        // nginx's default escaping, `-` left out.
        let l = r#"10.1.2.3 - - [02/Jan/2024:03:04:05 +0000] "GET /\x22x\x22 HTTP/1.1" 404 0 "-" "caf\xC3\xA9" rt=0.000 uct="-""#;
        let p = f.parse(l).unwrap();
        assert_eq!(p.severity, Some((13, "WARN".into())));
        assert_eq!(s(&p, "url.path"), "/\"x\"");
        assert_eq!(s(&p, "user_agent.original"), "café");
        assert!(p.attr("user.name").is_none());
        assert!(p.attr("http.request.header.referer").is_none());
        assert!(p.attr("nginx.upstream_connect_time").is_none());
        // A request nginx could not read (a TLS handshake on the HTTP port) is kept as text.
        let l = r#"10.1.2.3 - - [02/Jan/2024:03:04:05 +0000] "\x16\x03\x01" 400 150 "-" "-" rt=0.001 uct="-""#;
        let p = f.parse(l).unwrap();
        assert!(p.attr("http.request.method").is_none());
        assert!(p.attr("nginx.request").is_some());
    }

    #[test]
    fn json_format_lines() {
        let f = format_named(NGINX_CONF, "json_analytics");
        let p = f
            .parse("{\"ts\":\"2024-01-02T03:04:05+00:00\",\"status\":200}\n")
            .unwrap();
        assert_eq!(p.timestamp_nanos, Some(T0));
        assert_eq!(p.attr("http.response.status_code"), Some(&Value::Int(200)));
        assert_eq!(p.severity, Some((9, "INFO".into())));
        let f = NginxFormat::compile(
            r#"{"time":$msec,"uri":"$request_uri","ua":"$http_user_agent","host":"$host","port":$server_port,"id":"$request_id","urt":"$upstream_response_time","up":"$upstream_addr"}"#,
        )
        .unwrap();
        let p = f
            .parse(r#"{"time":1704164645.123,"uri":"/a?b=\"c\"","ua":"x \"y\" \\z","host":"example.com","port":443,"id":"f00d","urt":"0.010, 0.020","up":"-"}"#)
            .unwrap();
        assert_eq!(p.timestamp_nanos, Some(T0 + 123_000_000));
        assert_eq!(s(&p, "url.path"), "/a");
        assert_eq!(s(&p, "url.query"), "b=\"c\"");
        assert_eq!(s(&p, "user_agent.original"), "x \"y\" \\z");
        assert_eq!(s(&p, "server.address"), "example.com");
        assert_eq!(p.attr("server.port"), Some(&Value::Int(443)));
        assert_eq!(s(&p, "http.request.id"), "f00d");
        assert_eq!(s(&p, "nginx.upstream.response_time"), "0.010, 0.020");
        assert!(p.attr("nginx.upstream_addr").is_none());
        assert_eq!(p.severity, None);
    }

    #[test]
    fn garbage_lines_are_refused() {
        let f = format_named(NGINX_CONF, "main");
        for line in [
            "",
            "hello world",
            r#"10.1.2.3 - - [not a time at all, no] "GET / HTTP/1.1" 200 1 "-" "-" rt=0.1 uct="-""#,
            r#"10.1.2.3 - - [02/Jan/2024:03:04:05 +0000] "GET / HTTP/1.1" abc 1 "-" "-" rt=0.1 uct="-""#,
            r#"10.1.2.3 - - [02/Jan/2024:03:04:05 +0000] "GET / HTTP/1.1" 200 1 "-" "-" rt=0.1 uct="-" extra"#,
            r#"{"ts":"2024-01-02T03:04:05+00:00","status":200}"#,
        ] {
            assert!(f.parse(line).is_none(), "{line}");
        }
        let j = format_named(NGINX_CONF, "json_analytics");
        assert!(j.parse(r#"{"ts":"yesterday","status":200}"#).is_none());
        assert!(j
            .parse(r#"{"ts":"2024-01-02T03:04:05Z","status":200} "#)
            .is_none());
    }

    #[test]
    fn time_local_followed_by_a_space() {
        let f = NginxFormat::compile("$time_local $status ${request_time}s").unwrap();
        let p = f.parse("02/Jan/2024:03:04:05 +0000 200 0.5s").unwrap();
        assert_eq!(p.timestamp_nanos, Some(T0));
        assert_eq!(
            p.attr("http.server.request.duration"),
            Some(&Value::Double(0.5))
        );
    }

    #[test]
    fn compile_errors() {
        let e = NginxFormat::compile("$remote_addr$remote_user").unwrap_err();
        assert!(
            e.contains("$remote_addr is directly followed by $remote_user"),
            "{e}"
        );
        assert!(NginxFormat::compile("${a}${b}").is_err());
        assert!(NginxFormat::compile("").is_err());
        assert!(NginxFormat::compile("a $ b").is_err());
        assert!(NginxFormat::compile("${a").is_err());
        assert!(NginxFormat::compile("${a-b}").is_err());
        let f = NginxFormat::compile("static text").unwrap();
        assert!(f.parse("static text").is_some());
        assert!(f.parse("static text!").is_none());
    }
}
