//! lookout's control API, version 1: HTTP/1.1 with JSON bodies over the agent's Unix socket
//! (`<data_dir>/control.sock`, owner-only, the peer's uid checked). These types are the one
//! definition the agent serves and its CLI and terminal UI read; [`Client`] is the blocking
//! client both use.
//!
//! Every path starts with [`VERSION`] (`/v1/...`); a change that breaks a client gets a new
//! version. Errors are answered with a non-2xx status and `{"error": "..."}`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The API version, the first segment of every path.
pub const VERSION: &str = "v1";

/// The control socket's file name in the data directory.
pub const SOCKET_NAME: &str = "control.sock";

/// Paths of the API.
pub mod paths {
    /// `GET`: [`super::Status`].
    pub const STATUS: &str = "/v1/status";
    /// `GET`: [`super::HostHistory`].
    pub const HOST: &str = "/v1/host";
    /// `GET`: [`super::Processes`].
    pub const PROCESSES: &str = "/v1/processes";
    /// `GET`: [`super::Services`].
    pub const SERVICES: &str = "/v1/services";
    /// `POST` [`super::ServiceAction`]: [`super::ActionResult`].
    pub const SERVICES_ENABLE: &str = "/v1/services/enable";
    /// `POST` [`super::ServiceAction`]: [`super::ActionResult`].
    pub const SERVICES_DISABLE: &str = "/v1/services/disable";
    /// `GET`: [`super::LogSources`]; `POST` [`super::AddLogSource`]: [`super::ActionResult`].
    pub const LOG_SOURCES: &str = "/v1/logs/sources";
    /// `POST` [`super::SourceAction`]: [`super::ActionResult`].
    pub const LOG_SOURCES_REMOVE: &str = "/v1/logs/sources/remove";
    /// `POST` [`super::SourceAction`]: [`super::ActionResult`].
    pub const LOG_SOURCES_PAUSE: &str = "/v1/logs/sources/pause";
    /// `POST` [`super::SourceAction`]: [`super::ActionResult`].
    pub const LOG_SOURCES_RESUME: &str = "/v1/logs/sources/resume";
    /// `GET ?source=ID&after=SEQ`: [`super::Tail`].
    pub const LOG_TAIL: &str = "/v1/logs/tail";
    /// `POST` [`super::RedactTry`]: [`super::RedactTryResult`].
    pub const REDACT_TRY: &str = "/v1/redact/try";
    /// `GET`: [`super::ConfigView`].
    pub const CONFIG: &str = "/v1/config";
    /// `POST` [`super::ConfigChange`]: [`super::ConfigCheck`] (nothing applied).
    pub const CONFIG_CHECK: &str = "/v1/config/check";
    /// `POST` [`super::ConfigChange`]: [`super::ConfigCheck`] (applied when valid).
    pub const CONFIG_APPLY: &str = "/v1/config/apply";
    /// `POST {}`: re-reads the configuration file (and the secrets it refers to) and applies
    /// it: [`super::ActionResult`].
    pub const CONFIG_RELOAD: &str = "/v1/config/reload";
    /// `POST` [`super::LogLevel`]: [`super::ActionResult`].
    pub const LOG_LEVEL: &str = "/v1/log-level";
    /// `POST` [`super::QueryRequest`]: rows, or an error.
    pub const QUERY: &str = "/v1/query";
}

/// `GET /v1/status`: the agent's state (the same document as the HTTP server's `/status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    /// Agent version.
    pub version: String,
    /// Agent pid.
    pub pid: u32,
    /// Whether every component is healthy.
    pub healthy: bool,
    /// Seconds since the agent started.
    pub uptime_secs: f64,
    /// Hash of the running configuration.
    pub config_hash: String,
    /// Where the configuration came from (a file, or the embedded default).
    pub config_origin: String,
    /// The data directory.
    pub data_dir: String,
    /// Reloads applied and rejected.
    pub reloads: Reloads,
    /// The agent's own resource use.
    pub process: OwnUsage,
    /// Every component's counters.
    pub components: Vec<Component>,
    /// Verbose logging: the level in force and until when (Unix seconds), when raised.
    pub log_level: Option<LogLevelState>,
    /// Auto-configuration's state (`null` when off).
    pub autoconfig: serde_json::Value,
    /// The remote configuration poller (`null` without `remote:`): url, state (`ok`,
    /// `backoff`, `open`), failures, the version applied, the last rejection.
    pub remote: serde_json::Value,
    /// The local stores.
    pub stores: Vec<serde_json::Value>,
}

/// Reload counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reloads {
    /// Applied.
    pub applied: u64,
    /// Rejected.
    pub rejected: u64,
}

/// The agent's own resource use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OwnUsage {
    /// CPU seconds used so far.
    pub cpu_seconds: Option<f64>,
    /// Resident memory.
    pub rss_bytes: Option<u64>,
}

/// A temporary log level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogLevelState {
    /// The level in force.
    pub level: String,
    /// When it goes back to the configured level (Unix seconds).
    pub until_unix: u64,
}

/// One pipeline component's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Component {
    /// Component id.
    pub id: String,
    /// source, processor or sink.
    pub kind: String,
    /// Its type (`files`, `redact`, `otlp_http`...).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Items received.
    pub received_items: u64,
    /// Items sent on.
    pub sent_items: u64,
    /// Items dropped.
    pub dropped_items: u64,
    /// Errors.
    pub errors: u64,
    /// Items retried.
    pub retried_items: u64,
    /// Items dead-lettered.
    pub dead_lettered_items: u64,
    /// Bytes delivered.
    pub sent_bytes: u64,
    /// Component gauges: `queue_depth_events`, `circuit_state` (0 closed, 1 half-open,
    /// 2 open)...
    pub gauges: BTreeMap<String, f64>,
    /// Labelled counters.
    pub counters: BTreeMap<String, u64>,
    /// Batches waiting in its input buffer.
    pub buffer_depth: u64,
    /// Healthy.
    pub healthy: bool,
    /// Failing right now.
    pub failing: bool,
    /// How long it has been failing.
    pub failing_for_secs: Option<f64>,
    /// The last error.
    pub last_error: Option<String>,
    /// When the last error happened.
    pub last_error_unix: Option<u64>,
}

impl Component {
    /// Events waiting in its queue (disk or memory), when the sink reports it.
    pub fn queue_depth(&self) -> Option<f64> {
        self.gauges
            .iter()
            .find(|(k, _)| k.contains("queue_depth_events") || k.contains("buffer_events"))
            .map(|(_, v)| *v)
    }

    /// Its circuit breaker's state, when it has one.
    pub fn circuit(&self) -> Option<&'static str> {
        let v = self
            .gauges
            .iter()
            .find(|(k, _)| k.contains("circuit"))
            .map(|(_, v)| *v)?;
        Some(match v as i64 {
            0 => "closed",
            1 => "half-open",
            _ => "open",
        })
    }
}

/// `GET /v1/host`: the host's recent samples, oldest first (the agent samples every
/// `interval_secs` and keeps a few minutes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostHistory {
    /// Seconds between samples.
    pub interval_secs: f64,
    /// The samples, oldest first.
    pub samples: Vec<HostSample>,
}

/// One host sample; rates are over the interval before it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostSample {
    /// When (Unix seconds).
    pub unix: f64,
    /// Logical CPUs.
    pub cpus: u32,
    /// Busy share of the whole host, 0-100.
    pub cpu_percent: f64,
    /// Memory in use: total - free - buffers - cached - reclaimable slab (procps `free`).
    pub mem_used_bytes: u64,
    /// Memory in all.
    pub mem_total_bytes: u64,
    /// Load average over 1 minute.
    pub load1: f64,
    /// Load average over 5 minutes.
    pub load5: f64,
    /// Load average over 15 minutes.
    pub load15: f64,
    /// Bytes read from disks per second.
    pub disk_read_bps: f64,
    /// Bytes written to disks per second.
    pub disk_write_bps: f64,
    /// Bytes received per second (all interfaces but loopback).
    pub net_rx_bps: f64,
    /// Bytes sent per second (all interfaces but loopback).
    pub net_tx_bps: f64,
    /// Used share of the root filesystem, 0-100.
    pub root_used_percent: f64,
}

/// `GET /v1/processes`: the process source's latest top-N snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Processes {
    /// When the scan ended (Unix nanoseconds).
    pub time_unix_nanos: u64,
    /// Logical CPUs.
    pub cpus: u64,
    /// Processes on the host.
    pub processes: u64,
    /// The reported processes.
    pub reported: Vec<Process>,
}

/// One process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Process {
    /// Pid.
    pub pid: u32,
    /// Parent pid.
    pub ppid: u32,
    /// Name (`comm`).
    pub name: String,
    /// Command line (secrets masked by the agent).
    pub command_line: String,
    /// Owner.
    pub owner: Option<String>,
    /// State letter.
    pub state: String,
    /// CPU in cores (1.0 = one core busy) over the last interval.
    pub cpu_cores: Option<f64>,
    /// Resident memory.
    pub rss_bytes: u64,
    /// Threads.
    pub threads: u64,
    /// Bytes read from storage.
    pub disk_read_bytes: Option<u64>,
    /// Bytes written to storage.
    pub disk_write_bytes: Option<u64>,
    /// The service it belongs to.
    pub service: Option<String>,
}

/// `GET /v1/services`: what discovery found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Services {
    /// Whether the agent collects discovered services itself (`autoconfig.enabled`).
    pub autoconfig: bool,
    /// When discovery last ran (Unix seconds).
    pub scanned_unix: u64,
    /// The services.
    pub services: Vec<Service>,
}

/// One discovered service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    /// The instance (`redis 127.0.0.1:6379`).
    pub instance: String,
    /// The product (`redis`, `postgresql`...).
    pub product: String,
    /// Confidence, 0 to 1 (auto-configured from 0.7).
    pub confidence: f64,
    /// Why it is believed.
    pub reasons: Vec<String>,
    /// The source id its collection gets (`None` below the auto-configuration threshold).
    pub source_id: Option<String>,
    /// Whether the agent collects it now.
    pub collecting: bool,
    /// Whether the operator disabled it.
    pub disabled: bool,
    /// Its sources as YAML (secrets masked): what enabling it adds.
    pub preview: String,
    /// What could not be configured, and why.
    pub skipped: Vec<String>,
}

/// `POST /v1/services/{enable,disable}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceAction {
    /// The service's source id.
    pub id: String,
}

/// The answer to an action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionResult {
    /// Whether it was done.
    pub ok: bool,
    /// What happened, for a person.
    pub message: String,
    /// The configuration hash running afterwards.
    pub config_hash: Option<String>,
}

/// `GET /v1/logs/sources`: the log sources.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSources {
    /// The sources.
    pub sources: Vec<LogSource>,
}

/// One log source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSource {
    /// Its id.
    pub id: String,
    /// Its type (`files`, `journald`, `docker`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Files it reads (for `files`).
    pub include: Vec<String>,
    /// `config` (the configuration file), `added` (added at run time: removable) or
    /// `discovered`.
    pub origin: String,
    /// Paused by the operator.
    pub paused: bool,
    /// Records it has sent.
    pub records: u64,
}

/// `POST /v1/logs/sources`: adds a `files` log source (kept in the data directory, so it
/// survives restarts and re-discovery).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddLogSource {
    /// Its id (letters, digits, `_`, `-`).
    pub id: String,
    /// Paths or globs.
    pub include: Vec<String>,
    /// Paths or globs left out.
    pub exclude: Vec<String>,
    /// Read files found at start from their `beginning` or their `end` (the default).
    pub start_at: Option<String>,
}

/// `POST /v1/logs/sources/{remove,pause,resume}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceAction {
    /// The source id.
    pub id: String,
}

/// `GET /v1/logs/tail?source=ID&after=SEQ`: what the source's records look like when they
/// reach the sinks (after every processor: redaction applied). The agent keeps the last lines
/// of a tailed source while someone reads them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tail {
    /// The source.
    pub source: String,
    /// The lines after `after`, oldest first.
    pub lines: Vec<TailLine>,
    /// Pass as `after` next time.
    pub next: u64,
    /// Lines that went by before they could be read (the buffer is bounded).
    pub missed: u64,
}

/// One tailed record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TailLine {
    /// Sequence number.
    pub seq: u64,
    /// Record time (Unix seconds).
    pub unix: f64,
    /// Severity text, when known.
    pub severity: String,
    /// The body as text.
    pub body: String,
}

/// `POST /v1/redact/try`: a candidate rule tried on a source's recent lines (or on given
/// lines), nothing saved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedactTry {
    /// The rule's regular expression.
    pub pattern: String,
    /// What a match becomes (default `[REDACTED]`).
    pub replacement: Option<String>,
    /// Try it on this source's recent lines.
    pub source: Option<String>,
    /// Or on these lines.
    pub lines: Vec<String>,
}

/// The answer to [`RedactTry`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedactTryResult {
    /// Lines tried.
    pub tried: usize,
    /// Lines the rule changed.
    pub matched: usize,
    /// Each changed line: before and after.
    pub changes: Vec<(String, String)>,
    /// The configuration to add to a `redact` processor's `rules` to keep it.
    pub rule_yaml: String,
}

/// `GET /v1/config`: the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigView {
    /// The file the agent reads, if any (`None`: the embedded default).
    pub path: Option<String>,
    /// Hash of the running configuration.
    pub hash: String,
    /// The file as written (for editing; `${env:...}` references kept, literal secrets masked).
    pub source_yaml: String,
    /// The effective configuration (defaults filled in, discovered and added sources merged),
    /// secrets masked.
    pub effective_yaml: String,
    /// Whether it can be edited through the API (it comes from a file the agent may write).
    pub editable: bool,
}

/// `POST /v1/config/{check,apply}`: a new text for the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigChange {
    /// The whole new file.
    pub yaml: String,
    /// Why, for the configuration history (`rollback to 3`); `control: config apply` when
    /// absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// The answer to a [`ConfigChange`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigCheck {
    /// Whether it passed validation.
    pub valid: bool,
    /// Why not, with positions.
    pub error: Option<String>,
    /// Unified diff from the current file to the new one.
    pub diff: String,
    /// Whether it now runs (apply only).
    pub applied: bool,
    /// The configuration hash running afterwards.
    pub config_hash: Option<String>,
}

/// `POST /v1/log-level`: raises (or lowers) the agent's log level for a while.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogLevel {
    /// `error`, `warn`, `info`, `debug`, `trace`; or `reset` for the configured level.
    pub level: String,
    /// For how long (then the configured level comes back).
    pub for_secs: u64,
}

/// `POST /v1/query`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueryRequest {
    /// The SQL.
    pub sql: String,
    /// Rows kept at most.
    #[serde(default = "default_limit")]
    pub limit: usize,
    /// Stop the query after this long.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_limit() -> usize {
    1000
}
fn default_timeout_ms() -> u64 {
    30_000
}

/// A diagnose check (`lookout diagnose --json` prints a list of them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Check {
    /// What was checked.
    #[serde(rename = "check")]
    pub name: String,
    /// PASS, WARN or FAIL.
    pub status: String,
    /// What was found.
    pub detail: String,
    /// How to fix it.
    pub fix: Option<String>,
}

/// An error from the client: the agent is not reachable, or it answered with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No agent answers on the socket.
    NotRunning(String),
    /// The agent refused the request (status, message).
    Refused(u16, String),
    /// The answer could not be read.
    Protocol(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotRunning(m) => write!(f, "no agent is running: {m}"),
            Error::Refused(code, m) => write!(f, "the agent refused ({code}): {m}"),
            Error::Protocol(m) => write!(f, "bad answer from the agent: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// A blocking client of one agent's control socket.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
    timeout: Duration,
}

impl Client {
    /// The client of the agent whose data directory is `data_dir`.
    pub fn new(data_dir: &Path) -> Client {
        Client {
            socket: data_dir.join(SOCKET_NAME),
            timeout: Duration::from_secs(30),
        }
    }

    /// Sets how long to wait for an answer.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `GET path`, decoded.
    pub fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.call("GET", path, None)
    }

    /// `POST path` with `body`, decoded.
    pub fn post<B: Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let text = serde_json::to_string(body).map_err(|e| Error::Protocol(e.to_string()))?;
        self.call("POST", path, Some(&text))
    }

    fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<T, Error> {
        let (code, text) = self.raw(method, path, body)?;
        if !(200..300).contains(&code) {
            let msg = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Err(Error::Refused(code, msg));
        }
        serde_json::from_str(&text).map_err(|e| Error::Protocol(format!("{path}: {e}")))
    }

    /// One request: (status code, body).
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, String), Error> {
        let mut s = std::os::unix::net::UnixStream::connect(&self.socket).map_err(|e| {
            Error::NotRunning(format!("cannot connect to {}: {e}", self.socket.display()))
        })?;
        s.set_read_timeout(Some(self.timeout))
            .map_err(|e| Error::Protocol(e.to_string()))?;
        let body = body.unwrap_or("");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: lookout\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes())
            .map_err(|e| Error::NotRunning(format!("the agent closed the socket: {e}")))?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp)
            .map_err(|e| Error::Protocol(format!("no answer: {e}")))?;
        parse_response(&resp)
    }
}

/// Splits an HTTP/1.1 response into its status and body (chunked bodies decoded). Any bytes
/// give an answer or an error, never a panic (fuzzed).
pub fn parse_response(resp: &[u8]) -> Result<(u16, String), Error> {
    let text = String::from_utf8_lossy(resp);
    let malformed = || {
        Error::Protocol(
            "a malformed answer (the peer may not be lookout, or it refused this user)".to_string(),
        )
    };
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(malformed)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(malformed)?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let (Some(chunk), Some(after)) = (rest.get(..n), rest.get(n..)) else {
            break;
        };
        if n == 0 {
            break;
        }
        out.push_str(chunk);
        s = after.trim_start_matches("\r\n");
    }
    out
}

/// Percent-encodes a query-string value.
pub fn encode_query(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn responses_parse_plain_and_chunked() {
        let (c, b) = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((c, b.as_str()), (200, "{}"));
        let (c, b) = parse_response(
            b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((c, b.as_str()), (404, "abcde"));
        assert!(matches!(
            parse_response(b"garbage"),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            parse_response(b"HTTP/1.1 abc\r\n\r\n"),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn a_missing_agent_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let e = Client::new(dir.path())
            .get::<Status>(paths::STATUS)
            .unwrap_err();
        assert!(matches!(e, Error::NotRunning(_)), "{e}");
        assert!(e.to_string().contains("control.sock"), "{e}");
    }

    #[test]
    fn status_tolerates_missing_and_extra_fields() {
        let s: Status =
            serde_json::from_str(r#"{"version":"1","pid":7,"new_field":1,"components":[{"id":"a","type":"files","gauges":{"lookout_sink_circuit_state":2}}]}"#)
                .unwrap();
        assert_eq!(s.pid, 7);
        assert_eq!(s.components[0].type_name, "files");
        assert_eq!(s.components[0].circuit(), Some("open"));
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode_query("a b/c&d"), "a%20b%2Fc%26d");
    }
}
