//! Where a database server listens, parsed from the one `endpoint` string of a config:
//! `host:port`, `[v6]:port`, a bare host (default port), or a Unix socket path.

use std::fmt;
use std::path::PathBuf;

/// A database server's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DbEndpoint {
    /// A TCP host (name or IP literal, without brackets) and port.
    Tcp { host: String, port: u16 },
    /// A Unix socket path (for PostgreSQL: the socket file or its directory).
    Unix(PathBuf),
}

impl DbEndpoint {
    /// Parses `s`: `unix:///path` or `/path` is a Unix socket; anything else is TCP,
    /// `host[:port]` with an optional `tcp://` prefix, the port defaulting to `default_port`.
    /// Credentials (`user:pass@host`) are refused without being repeated. `what` names the
    /// server in messages (`MySQL`, `PostgreSQL`).
    pub(crate) fn parse(s: &str, default_port: u16, what: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err(format!("empty {what} endpoint"));
        }
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(format!("empty Unix socket path in the {what} endpoint"));
            }
            return Ok(DbEndpoint::Unix(PathBuf::from(path)));
        }
        if s.starts_with('/') {
            return Ok(DbEndpoint::Unix(PathBuf::from(s)));
        }
        if s.contains('@') {
            return Err(format!(
                "the {what} endpoint must not hold credentials: set username and password instead"
            ));
        }
        let hostport = s.strip_prefix("tcp://").unwrap_or(s).trim_end_matches('/');
        if hostport.contains("://") || hostport.contains('/') {
            return Err(format!(
                "unsupported {what} endpoint {:?} (use host:port or a Unix socket path)",
                crate::clip(s, 80)
            ));
        }
        let (host, port) = split_host_port(hostport);
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "bad host in {what} endpoint {:?}",
                crate::clip(s, 80)
            ));
        }
        let port =
            match port {
                None => default_port,
                Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                    format!("bad port in {what} endpoint {:?}", crate::clip(s, 80))
                })?,
            };
        Ok(DbEndpoint::Tcp {
            host: host.to_string(),
            port,
        })
    }
}

/// `(host, port)` of `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, tail)) => (host, Some(tail.strip_prefix(':').unwrap_or(tail))),
            None => ("", None),
        };
    }
    match s.matches(':').count() {
        0 => (s, None),
        1 => s
            .split_once(':')
            .map_or((s, None), |(host, port)| (host, Some(port))),
        _ => (s, None), // a bare IPv6 address
    }
}

impl fmt::Display for DbEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbEndpoint::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            DbEndpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
            DbEndpoint::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> DbEndpoint {
        DbEndpoint::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_tcp_and_unix_endpoints() {
        let p = |s| DbEndpoint::parse(s, 3306, "MySQL");
        assert_eq!(p("db.local").unwrap(), tcp("db.local", 3306));
        assert_eq!(p(" 127.0.0.1:3307 ").unwrap(), tcp("127.0.0.1", 3307));
        assert_eq!(p("tcp://h:1/").unwrap(), tcp("h", 1));
        assert_eq!(p("[::1]:5").unwrap(), tcp("::1", 5));
        assert_eq!(p("[::1]").unwrap(), tcp("::1", 3306));
        assert_eq!(p("::1").unwrap(), tcp("::1", 3306));
        assert_eq!(
            p("/run/mysqld/mysqld.sock").unwrap(),
            DbEndpoint::Unix("/run/mysqld/mysqld.sock".into())
        );
        assert_eq!(
            p("unix:///tmp/x.sock").unwrap(),
            DbEndpoint::Unix("/tmp/x.sock".into())
        );
        assert_eq!(p("[::1]:5").unwrap().to_string(), "[::1]:5");
        assert_eq!(p("h").unwrap().to_string(), "h:3306");
        assert_eq!(p("/s").unwrap().to_string(), "unix:///s");
    }

    #[test]
    fn refuses_bad_endpoints_without_echoing_credentials() {
        let p = |s| DbEndpoint::parse(s, 5432, "PostgreSQL");
        for bad in [
            "", "unix://", "h:0", "h:99999", "h:x", "http://h", "a b:1", "h/x",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
        let e = p("user:s3cret@h:1").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
