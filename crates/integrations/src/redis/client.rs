//! A minimal async Redis client: one connection (TCP or Unix socket), RESP2, one command at a
//! time, every exchange under a deadline.

use super::resp::{decode_reply, encode_command, Reply, MAX_REPLY_BYTES};
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::{timeout_at, Instant};

/// Where a Redis server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisEndpoint {
    /// `host:port` (`[v6]:port` for an IPv6 literal).
    Tcp(String),
    /// The path of a Unix socket.
    Unix(PathBuf),
}

impl RedisEndpoint {
    /// Parses an endpoint: `unix:///path/redis.sock` or `/path/redis.sock` is a Unix socket;
    /// anything else is TCP, `host:port` with an optional `tcp://` prefix, the port defaulting
    /// to 6379 (`localhost`, `[::1]` and a bare `::1` get `:6379`). Credentials in the endpoint
    /// (`user:pass@host`) are refused, without repeating them: they belong in the username and
    /// password settings.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty Redis endpoint".into());
        }
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err("empty Unix socket path in the Redis endpoint".into());
            }
            return Ok(RedisEndpoint::Unix(PathBuf::from(path)));
        }
        if s.starts_with('/') {
            return Ok(RedisEndpoint::Unix(PathBuf::from(s)));
        }
        if s.contains('@') {
            return Err(
                "the Redis endpoint must not hold credentials: set username and password instead"
                    .into(),
            );
        }
        let hostport = s.strip_prefix("tcp://").unwrap_or(s).trim_end_matches('/');
        if hostport.contains("://") {
            return Err(format!(
                "unsupported scheme in Redis endpoint {:?} (use host:port or unix:///path)",
                crate::clip(s, 80)
            ));
        }
        let (host, port) = split_host_port(hostport);
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(format!(
                "bad host in Redis endpoint {:?}",
                crate::clip(s, 80)
            ));
        }
        let port =
            match port {
                None => 6379,
                Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                    format!("bad port in Redis endpoint {:?}", crate::clip(s, 80))
                })?,
            };
        Ok(RedisEndpoint::Tcp(if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }))
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

impl fmt::Display for RedisEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisEndpoint::Tcp(addr) => f.write_str(addr),
            RedisEndpoint::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

/// Why talking to Redis failed. The message never holds the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisError {
    /// Could not connect, or the connection failed or was closed.
    Connect(String),
    /// Connecting or a command's exchange did not finish in time (what was being done).
    Timeout(String),
    /// The server refused the credentials (an error reply to `AUTH`), or refused a command for
    /// want of them (`-NOAUTH`, `-WRONGPASS`).
    Auth(String),
    /// The server answered a command with an error reply (`-ERR ...`).
    Server(String),
    /// The reply broke RESP, was larger than 16 MiB, or was not of the expected type.
    Protocol(String),
}

impl RedisError {
    /// A stable short name for labels and logs: `connect`, `timeout`, `auth`, `server` or
    /// `protocol`.
    pub fn kind(&self) -> &'static str {
        match self {
            RedisError::Connect(_) => "connect",
            RedisError::Timeout(_) => "timeout",
            RedisError::Auth(_) => "auth",
            RedisError::Server(_) => "server",
            RedisError::Protocol(_) => "protocol",
        }
    }

    /// An error reply as an error: `NOAUTH` and `WRONGPASS` are authentication failures, the
    /// rest server errors.
    fn from_reply(msg: String) -> Self {
        if msg.starts_with("NOAUTH") || msg.starts_with("WRONGPASS") {
            RedisError::Auth(msg)
        } else {
            RedisError::Server(msg)
        }
    }

    /// Whether the connection can still be used after this error (an error reply leaves it in
    /// step; a timeout or a broken reply does not).
    fn keeps_connection(&self) -> bool {
        matches!(self, RedisError::Auth(_) | RedisError::Server(_))
    }
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisError::Connect(m) => write!(f, "redis connection failed: {m}"),
            RedisError::Timeout(m) => write!(f, "redis timed out {m}"),
            RedisError::Auth(m) => write!(f, "redis authentication failed: {m}"),
            RedisError::Server(m) => write!(f, "redis error reply: {m}"),
            RedisError::Protocol(m) => write!(f, "redis protocol error: {m}"),
        }
    }
}

impl std::error::Error for RedisError {}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    async fn read_buf(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read_buf(buf).await,
            Stream::Unix(s) => s.read_buf(buf).await,
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(data).await,
            Stream::Unix(s) => s.write_all(data).await,
        }
    }
}

/// One connection to a Redis server. Commands are sent one at a time; each exchange (request
/// and whole reply) must finish within the timeout given to [`RedisConn::connect`]. After a
/// timeout, an I/O error or a broken reply the connection refuses further commands (its
/// position in the reply stream is lost): connect again.
pub struct RedisConn {
    stream: Stream,
    buf: Vec<u8>,
    timeout: Duration,
    endpoint: String,
    broken: bool,
}

impl fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConn")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// `f` under an optional deadline (none when `now + timeout` does not fit in an `Instant`).
async fn within<F: Future>(
    deadline: Option<Instant>,
    what: impl FnOnce() -> String,
    f: F,
) -> Result<F::Output, RedisError> {
    match deadline {
        Some(d) => timeout_at(d, f)
            .await
            .map_err(|_| RedisError::Timeout(what())),
        None => Ok(f.await),
    }
}

/// Replaces every occurrence of `secret` in `msg` (a server's message could quote it).
fn redact(msg: String, secret: &str) -> String {
    if secret.is_empty() || !msg.contains(secret) {
        msg
    } else {
        msg.replace(secret, "***")
    }
}

impl RedisConn {
    /// Connects and, when a password is given, authenticates with `AUTH [username] password`
    /// (the username alone is ignored: `AUTH` needs a password). Connecting and the `AUTH`
    /// exchange each get `timeout`. An error reply to `AUTH` is [`RedisError::Auth`].
    pub async fn connect(
        endpoint: &RedisEndpoint,
        username: Option<&str>,
        password: Option<&str>,
        timeout: Duration,
    ) -> Result<RedisConn, RedisError> {
        let deadline = Instant::now().checked_add(timeout);
        let name = endpoint.to_string();
        let stream = match endpoint {
            RedisEndpoint::Tcp(addr) => {
                let s = within(
                    deadline,
                    || format!("connecting to {name}"),
                    TcpStream::connect(addr.as_str()),
                )
                .await?
                .map_err(|e| RedisError::Connect(format!("{name}: {e}")))?;
                // only latency is at stake
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }
            RedisEndpoint::Unix(path) => {
                let s = within(
                    deadline,
                    || format!("connecting to {name}"),
                    UnixStream::connect(path),
                )
                .await?
                .map_err(|e| RedisError::Connect(format!("{name}: {e}")))?;
                Stream::Unix(s)
            }
        };
        let mut conn = RedisConn {
            stream,
            buf: Vec::new(),
            timeout,
            endpoint: name,
            broken: false,
        };
        tracing::debug!(endpoint = %conn.endpoint, "connected to redis");
        if let Some(password) = password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = username {
                args.push(user.as_bytes());
            }
            args.push(password.as_bytes());
            match conn.command(&args).await {
                Ok(Reply::Simple(_)) => {}
                Ok(other) => {
                    return Err(RedisError::Protocol(format!(
                        "AUTH answered with {}",
                        other.type_name()
                    )))
                }
                Err(RedisError::Auth(msg) | RedisError::Server(msg)) => {
                    return Err(RedisError::Auth(redact(msg, password)))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(conn)
    }

    /// Sends one command (binary-safe arguments) and reads its reply. A top-level error reply
    /// is returned as an error ([`RedisError::Auth`] for `NOAUTH`/`WRONGPASS`,
    /// [`RedisError::Server`] otherwise); errors nested in arrays stay [`Reply::Error`]s.
    pub async fn command(&mut self, args: &[&[u8]]) -> Result<Reply, RedisError> {
        if self.broken {
            return Err(RedisError::Connect(format!(
                "{}: connection unusable after an earlier failure",
                self.endpoint
            )));
        }
        let result = match self.exchange(args).await {
            Ok(Reply::Error(msg)) => Err(RedisError::from_reply(msg)),
            other => other,
        };
        if let Err(e) = &result {
            if !e.keeps_connection() {
                self.broken = true;
            }
        }
        result
    }

    /// Runs `INFO everything` and returns the text of the bulk string reply (lossy UTF-8),
    /// ready for [`super::parse_info`].
    pub async fn info(&mut self) -> Result<String, RedisError> {
        match self.command(&[b"INFO", b"everything"]).await? {
            Reply::Bulk(Some(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            other => Err(RedisError::Protocol(format!(
                "INFO answered with {} instead of a bulk string",
                other.type_name()
            ))),
        }
    }

    async fn exchange(&mut self, args: &[&[u8]]) -> Result<Reply, RedisError> {
        let deadline = Instant::now().checked_add(self.timeout);
        let request = encode_command(args);
        let command = args
            .first()
            .map(|c| String::from_utf8_lossy(c).to_ascii_uppercase())
            .unwrap_or_default();
        within(
            deadline,
            || format!("sending {command} to {}", self.endpoint),
            self.stream.write_all(&request),
        )
        .await?
        .map_err(|e| RedisError::Connect(format!("{}: write: {e}", self.endpoint)))?;
        loop {
            if let Some((reply, used)) = decode_reply(&self.buf)? {
                self.buf.drain(..used.min(self.buf.len()));
                return Ok(reply);
            }
            if self.buf.len() > MAX_REPLY_BYTES {
                return Err(RedisError::Protocol(format!(
                    "the reply to {command} is larger than 16 MiB"
                )));
            }
            self.buf.reserve(64 * 1024);
            let endpoint = &self.endpoint;
            let n = within(
                deadline,
                || format!("waiting for the reply to {command} from {endpoint}"),
                self.stream.read_buf(&mut self.buf),
            )
            .await?
            .map_err(|e| RedisError::Connect(format!("{endpoint}: read: {e}")))?;
            if n == 0 {
                return Err(RedisError::Connect(format!(
                    "{endpoint}: connection closed by the server"
                )));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn endpoints() {
        let tcp = |s: &str| RedisEndpoint::Tcp(s.to_string());
        let unix = |s: &str| RedisEndpoint::Unix(PathBuf::from(s));
        assert_eq!(
            RedisEndpoint::parse("127.0.0.1:6379"),
            Ok(tcp("127.0.0.1:6379"))
        );
        assert_eq!(
            RedisEndpoint::parse(" localhost "),
            Ok(tcp("localhost:6379"))
        );
        assert_eq!(
            RedisEndpoint::parse("tcp://cache:6380"),
            Ok(tcp("cache:6380"))
        );
        assert_eq!(RedisEndpoint::parse("[::1]:7000"), Ok(tcp("[::1]:7000")));
        assert_eq!(RedisEndpoint::parse("[::1]"), Ok(tcp("[::1]:6379")));
        assert_eq!(RedisEndpoint::parse("::1"), Ok(tcp("[::1]:6379")));
        assert_eq!(
            RedisEndpoint::parse("unix:///run/redis/redis.sock"),
            Ok(unix("/run/redis/redis.sock"))
        );
        assert_eq!(RedisEndpoint::parse("/tmp/r.sock"), Ok(unix("/tmp/r.sock")));
        for bad in [
            "",
            "unix://",
            "host:notaport",
            "host:0",
            "host:70000",
            ":6379",
            "redis://host:6379",
            "[::1",
            "a b:1",
        ] {
            assert!(RedisEndpoint::parse(bad).is_err(), "{bad:?}");
        }
        let err = RedisEndpoint::parse("user:hunter2@host:6379").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(tcp("h:1").to_string(), "h:1");
        assert_eq!(unix("/s").to_string(), "unix:///s");
    }

    #[test]
    fn error_kinds_and_redaction() {
        assert_eq!(
            RedisError::from_reply("NOAUTH Authentication required.".into()).kind(),
            "auth"
        );
        assert_eq!(
            RedisError::from_reply("WRONGPASS invalid".into()).kind(),
            "auth"
        );
        assert_eq!(
            RedisError::from_reply("ERR unknown command".into()).kind(),
            "server"
        );
        assert_eq!(RedisError::Connect(String::new()).kind(), "connect");
        assert_eq!(RedisError::Timeout(String::new()).kind(), "timeout");
        assert_eq!(RedisError::Protocol(String::new()).kind(), "protocol");
        assert_eq!(
            redact(
                "ERR unknown command 'AUTH', with args beginning with: 's3cr3t'".into(),
                "s3cr3t"
            ),
            "ERR unknown command 'AUTH', with args beginning with: '***'"
        );
        assert_eq!(redact("x".into(), ""), "x");
    }

    /// A scripted server: for each entry, reads one command (a RESP array), records it, then
    /// writes the bytes (`None`: never answers). Returns the commands it read.
    async fn fake_server(
        script: Vec<Option<Vec<u8>>>,
    ) -> (RedisEndpoint, tokio::task::JoinHandle<Vec<Reply>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = Vec::new();
            for answer in script {
                let cmd = loop {
                    if let Some((r, used)) = decode_reply(&buf).unwrap() {
                        buf.drain(..used);
                        break r;
                    }
                    if sock.read_buf(&mut buf).await.unwrap() == 0 {
                        return seen;
                    }
                };
                seen.push(cmd);
                match answer {
                    Some(bytes) => sock.write_all(&bytes).await.unwrap(),
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            }
            seen
        });
        (RedisEndpoint::Tcp(addr.to_string()), task)
    }

    fn bulk(args: &[&str]) -> Reply {
        Reply::Array(Some(
            args.iter()
                .map(|a| Reply::Bulk(Some(a.as_bytes().to_vec())))
                .collect(),
        ))
    }

    const T: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn auth_then_info_in_small_pieces() {
        let info = "# Server\r\nredis_version:7.2.4\r\n";
        let reply = format!("${}\r\n{info}\r\n", info.len());
        let (ep, server) =
            fake_server(vec![Some(b"+OK\r\n".to_vec()), Some(reply.into_bytes())]).await;
        let mut conn = RedisConn::connect(&ep, Some("monitor"), Some("pa ss"), T)
            .await
            .unwrap();
        assert_eq!(conn.info().await.unwrap(), info);
        assert!(format!("{conn:?}").contains("RedisConn"));
        drop(conn);
        let seen = server.await.unwrap();
        assert_eq!(
            seen,
            [
                bulk(&["AUTH", "monitor", "pa ss"]),
                bulk(&["INFO", "everything"])
            ]
        );
    }

    #[tokio::test]
    async fn password_only_auth_and_no_auth_without_password() {
        let (ep, server) = fake_server(vec![Some(b"+OK\r\n".to_vec())]).await;
        RedisConn::connect(&ep, None, Some("pw"), T).await.unwrap();
        assert_eq!(server.await.unwrap(), [bulk(&["AUTH", "pw"])]);
        // a username without a password sends nothing
        let (ep, server) = fake_server(vec![Some(b"+PONG\r\n".to_vec())]).await;
        let mut conn = RedisConn::connect(&ep, Some("u"), None, T).await.unwrap();
        assert_eq!(
            conn.command(&[b"PING"]).await.unwrap(),
            Reply::Simple("PONG".into())
        );
        assert_eq!(server.await.unwrap(), [bulk(&["PING"])]);
    }

    #[tokio::test]
    async fn refused_credentials_are_auth_errors_without_the_password() {
        let (ep, _server) = fake_server(vec![Some(
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n".to_vec(),
        )])
        .await;
        let err = RedisConn::connect(&ep, Some("u"), Some("Tr0ub4dor"), T)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "auth");
        assert!(err.to_string().contains("WRONGPASS"), "{err}");
        // an old server that does not know AUTH, quoting its arguments
        let (ep, _server) = fake_server(vec![Some(
            b"-ERR unknown command 'AUTH', with args beginning with: 'Tr0ub4dor' \r\n".to_vec(),
        )])
        .await;
        let err = RedisConn::connect(&ep, None, Some("Tr0ub4dor"), T)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "auth");
        assert!(!err.to_string().contains("Tr0ub4dor"), "{err}");
        assert!(!format!("{err:?}").contains("Tr0ub4dor"), "{err:?}");
    }

    #[tokio::test]
    async fn error_replies_keep_the_connection() {
        let (ep, _server) = fake_server(vec![
            Some(b"-NOAUTH Authentication required.\r\n".to_vec()),
            Some(b"-ERR unknown subcommand\r\n".to_vec()),
            Some(b":3\r\n".to_vec()),
            Some(b"$-1\r\n".to_vec()),
        ])
        .await;
        let mut conn = RedisConn::connect(&ep, None, None, T).await.unwrap();
        assert_eq!(conn.info().await.unwrap_err().kind(), "auth");
        assert_eq!(
            conn.command(&[b"CONFIG", b"x"]).await.unwrap_err().kind(),
            "server"
        );
        assert_eq!(conn.command(&[b"DBSIZE"]).await.unwrap(), Reply::Integer(3));
        let err = conn.info().await.unwrap_err();
        assert_eq!(err.kind(), "protocol");
        assert!(err.to_string().contains("null bulk string"), "{err}");
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_breaks_the_connection() {
        let (ep, _server) = fake_server(vec![None]).await;
        let mut conn = RedisConn::connect(&ep, None, None, Duration::from_millis(150))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let err = conn.info().await.unwrap_err();
        assert_eq!(err.kind(), "timeout");
        assert!(err.to_string().contains("INFO"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(
            conn.command(&[b"PING"]).await.unwrap_err().kind(),
            "connect"
        );
    }

    #[tokio::test]
    async fn oversized_or_garbage_replies_are_protocol_errors() {
        let (ep, _server) = fake_server(vec![Some(b"$99999999\r\n".to_vec())]).await;
        let mut conn = RedisConn::connect(&ep, None, None, T).await.unwrap();
        assert_eq!(conn.info().await.unwrap_err().kind(), "protocol");

        let (ep, _server) =
            fake_server(vec![Some(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec())]).await;
        let mut conn = RedisConn::connect(&ep, None, None, T).await.unwrap();
        assert_eq!(conn.info().await.unwrap_err().kind(), "protocol");
    }

    #[tokio::test]
    async fn a_closed_connection_or_a_closed_port_is_a_connect_error() {
        let (ep, _server) = fake_server(vec![]).await;
        let mut conn = RedisConn::connect(&ep, None, None, T).await.unwrap();
        assert_eq!(conn.info().await.unwrap_err().kind(), "connect");

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let ep = RedisEndpoint::Tcp(addr.to_string());
        assert_eq!(
            RedisConn::connect(&ep, None, None, T)
                .await
                .unwrap_err()
                .kind(),
            "connect"
        );
        let ep = RedisEndpoint::Unix(PathBuf::from("/nonexistent/lookout-redis.sock"));
        assert_eq!(
            RedisConn::connect(&ep, None, None, T)
                .await
                .unwrap_err()
                .kind(),
            "connect"
        );
    }

    #[tokio::test]
    async fn unix_socket() {
        let path = std::env::temp_dir().join(format!(
            "lookout-integrations-{}-{}.sock",
            std::process::id(),
            lookout_model::now_nanos()
        ));
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            while decode_reply(&buf).unwrap().is_none() {
                sock.read_buf(&mut buf).await.unwrap();
            }
            sock.write_all(b"$6\r\nok:1\r\n\r\n").await.unwrap();
        });
        let ep = RedisEndpoint::parse(&format!("unix://{}", path.display())).unwrap();
        let mut conn = RedisConn::connect(&ep, None, None, T).await.unwrap();
        assert_eq!(conn.info().await.unwrap(), "ok:1\r\n");
        server.await.unwrap();
        let _ = std::fs::remove_file(&path);
    }
}
