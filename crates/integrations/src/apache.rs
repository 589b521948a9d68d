//! Apache httpd: the machine-readable `mod_status` page (`/server-status?auto`,
//! [`parse_server_status`]) and its metrics ([`apache_metrics`], named as the Collector contrib
//! `apache` receiver names them).
//!
//! Without `ExtendedStatus On` the page lacks the traffic and CPU keys; they are `None` then
//! and their metrics are left out.

use crate::{parse_f64, parse_int, start_from_uptime};
use lookout_model::{MetricsBuilder, Monotonic};

/// The scoreboard states in the order the metric reports them, with their character.
const SCOREBOARD: [(char, &str); 11] = [
    ('.', "open"),
    ('_', "waiting"),
    ('S', "starting"),
    ('R', "reading"),
    ('W', "sending"),
    ('K', "keepalive"),
    ('D', "dnslookup"),
    ('C', "closing"),
    ('L', "logging"),
    ('G', "finishing"),
    ('I', "idle_cleanup"),
];

/// The values of a `mod_status` `?auto` page. Keys the page lacks (or whose value is not a
/// number) are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerStatus {
    /// The first line of the page when it is not `key: value` (the server's host name).
    pub server_name: Option<String>,
    /// `ServerVersion` (`Apache/2.4.62 (Debian)`).
    pub server_version: Option<String>,
    /// `ServerUptimeSeconds` (or `Uptime`).
    pub uptime_seconds: Option<u64>,
    /// `Load1`: the host's load average over 1 minute.
    pub load1: Option<f64>,
    /// `Load5`.
    pub load5: Option<f64>,
    /// `Load15`.
    pub load15: Option<f64>,
    /// `Total Accesses`: requests served since the start.
    pub total_accesses: Option<u64>,
    /// `Total kBytes`: kibibytes sent since the start.
    pub total_kbytes: Option<u64>,
    /// `Total Duration`: milliseconds spent serving requests since the start.
    pub total_duration: Option<u64>,
    /// `CPUUser`: user CPU of the server's processes, in jiffies.
    pub cpu_user: Option<f64>,
    /// `CPUSystem`: system CPU of the server's processes.
    pub cpu_system: Option<f64>,
    /// `CPUChildrenUser`: user CPU of child processes (CGI and the like).
    pub cpu_children_user: Option<f64>,
    /// `CPUChildrenSystem`: system CPU of child processes.
    pub cpu_children_system: Option<f64>,
    /// `CPULoad`: percent of one CPU used over the uptime.
    pub cpu_load: Option<f64>,
    /// `ReqPerSec`: requests per second over the uptime.
    pub req_per_sec: Option<f64>,
    /// `BusyWorkers`.
    pub busy_workers: Option<u64>,
    /// `IdleWorkers`.
    pub idle_workers: Option<u64>,
    /// `ConnsTotal`: connections open now (event and worker MPMs).
    pub conns_total: Option<u64>,
    /// `ConnsAsyncWriting`.
    pub conns_async_writing: Option<u64>,
    /// `ConnsAsyncKeepAlive`.
    pub conns_async_keep_alive: Option<u64>,
    /// `ConnsAsyncClosing`.
    pub conns_async_closing: Option<u64>,
    /// `Scoreboard`: one character per worker slot (`_SRWKDCLGI.`).
    pub scoreboard: Option<String>,
}

/// A count: digits, or a finite non-negative decimal (truncated).
fn count(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Ok(v) = s.parse::<u64>() {
        return Some(v);
    }
    // `parse_int` clamps what does not fit and truncates decimals; negatives are not counts
    parse_int(s).and_then(|v| u64::try_from(v).ok())
}

/// Parses a `?auto` page: `Key: value` lines; unknown keys and lines that are not `Key: value`
/// are ignored. Refused (an error) unless it has `Total Accesses` or `BusyWorkers`, so an HTML
/// page or an error page is not taken for an idle server.
pub fn parse_server_status(text: &str) -> Result<ServerStatus, String> {
    let mut s = ServerStatus::default();
    let mut uptime_fallback = None;
    for (i, raw) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let line = raw.trim();
        let Some((key, value)) = line.split_once(':') else {
            if i == 0 {
                s.server_name = Some(crate::clip(line, 255));
            }
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "ServerVersion" => s.server_version = Some(crate::clip(value, 255)),
            "ServerUptimeSeconds" => s.uptime_seconds = count(value),
            "Uptime" => uptime_fallback = count(value),
            "Load1" => s.load1 = parse_f64(value),
            "Load5" => s.load5 = parse_f64(value),
            "Load15" => s.load15 = parse_f64(value),
            "Total Accesses" => s.total_accesses = count(value),
            "Total kBytes" => s.total_kbytes = count(value),
            "Total Duration" => s.total_duration = count(value),
            "CPUUser" => s.cpu_user = parse_f64(value),
            "CPUSystem" => s.cpu_system = parse_f64(value),
            "CPUChildrenUser" => s.cpu_children_user = parse_f64(value),
            "CPUChildrenSystem" => s.cpu_children_system = parse_f64(value),
            "CPULoad" => s.cpu_load = parse_f64(value),
            "ReqPerSec" => s.req_per_sec = parse_f64(value),
            "BusyWorkers" => s.busy_workers = count(value),
            "IdleWorkers" => s.idle_workers = count(value),
            "ConnsTotal" => s.conns_total = count(value),
            "ConnsAsyncWriting" => s.conns_async_writing = count(value),
            "ConnsAsyncKeepAlive" => s.conns_async_keep_alive = count(value),
            "ConnsAsyncClosing" => s.conns_async_closing = count(value),
            "Scoreboard" => s.scoreboard = Some(value.to_string()),
            _ => {}
        }
    }
    if s.uptime_seconds.is_none() {
        s.uptime_seconds = uptime_fallback;
    }
    if s.total_accesses.is_none() && s.busy_workers.is_none() {
        let start: String = text.trim_start().chars().take(60).collect();
        return Err(format!(
            "not a mod_status ?auto page (no \"Total Accesses\" nor \"BusyWorkers\"): {start:?}"
        ));
    }
    Ok(s)
}

impl ServerStatus {
    /// The server's start time, `now - uptime`, when the page has an uptime.
    pub fn start_nanos(&self, now_nanos: u64) -> Option<u64> {
        start_from_uptime(now_nanos, self.uptime_seconds?)
    }

    /// Workers per scoreboard state, in the metric's order (`open`, `waiting`, `starting`,
    /// `reading`, `sending`, `keepalive`, `dnslookup`, `closing`, `logging`, `finishing`,
    /// `idle_cleanup`, then `unknown` for any other character). `None` without a scoreboard.
    pub fn scoreboard_counts(&self) -> Option<[(&'static str, u64); 12]> {
        let board = self.scoreboard.as_deref()?;
        let mut counts = [("unknown", 0u64); 12];
        for (slot, (_, state)) in counts.iter_mut().zip(SCOREBOARD) {
            slot.0 = state;
        }
        for c in board.chars() {
            let i = SCOREBOARD
                .iter()
                .position(|(ch, _)| *ch == c)
                .unwrap_or(SCOREBOARD.len());
            if let Some(slot) = counts.get_mut(i) {
                slot.1 = slot.1.saturating_add(1);
            }
        }
        Some(counts)
    }
}

/// Adds the metrics of one `?auto` page to `b`, with sums starting at the server's start
/// ([`ServerStatus::start_nanos`], 0 when unknown). A scraper that runs repeatedly should rather
/// use [`apache_metrics_at`] with a [`crate::StableStart`].
pub fn apache_metrics(s: &ServerStatus, b: &mut MetricsBuilder, now_nanos: u64) {
    apache_metrics_at(s, b, now_nanos, s.start_nanos(now_nanos).unwrap_or(0));
}

/// [`apache_metrics`] with the sums' start time given.
pub fn apache_metrics_at(
    s: &ServerStatus,
    b: &mut MetricsBuilder,
    now_nanos: u64,
    start_nanos: u64,
) {
    let (now, start) = (now_nanos, start_nanos);
    let int = crate::sat_i64;

    if let Some(v) = s.uptime_seconds {
        b.sum(
            "apache.uptime",
            "s",
            "Seconds since the server started.",
            Monotonic::Yes,
        )
        .point_i64(start, now, int(v), &[]);
    }
    if let Some(v) = s.conns_total {
        b.sum(
            "apache.current_connections",
            "{connections}",
            "Client connections open now.",
            Monotonic::No,
        )
        .point_i64(start, now, int(v), &[]);
    }
    if s.busy_workers.is_some() || s.idle_workers.is_some() {
        let mut m = b.sum(
            "apache.workers",
            "{workers}",
            "Worker threads or processes, busy or idle.",
            Monotonic::No,
        );
        for (state, v) in [("busy", s.busy_workers), ("idle", s.idle_workers)] {
            if let Some(v) = v {
                m.point_i64(start, now, int(v), &[("state", state)]);
            }
        }
    }
    if let Some(v) = s.total_accesses {
        b.sum(
            "apache.requests",
            "{requests}",
            "Requests served since the server started.",
            Monotonic::Yes,
        )
        .point_i64(start, now, int(v), &[]);
    }
    if let Some(v) = s.total_kbytes {
        b.sum(
            "apache.traffic",
            "By",
            "Bytes served since the server started (reported in KiB).",
            Monotonic::Yes,
        )
        .point_i64(start, now, int(v.saturating_mul(1024)), &[]);
    }
    let cpu: Vec<(&str, &str, f64)> = [
        ("self", "user", s.cpu_user),
        ("self", "system", s.cpu_system),
        ("children", "user", s.cpu_children_user),
        ("children", "system", s.cpu_children_system),
    ]
    .into_iter()
    .filter_map(|(level, mode, v)| v.filter(|v| *v >= 0.0).map(|v| (level, mode, v)))
    .collect();
    if !cpu.is_empty() {
        let mut m = b.sum(
            "apache.cpu.time",
            "{jiff}",
            "CPU time used by the server's processes and their children since the start.",
            Monotonic::Yes,
        );
        for (level, mode, v) in cpu {
            m.point_f64(start, now, v, &[("level", level), ("mode", mode)]);
        }
    }
    let gauges = [
        (
            "apache.cpu.load",
            "Share of one CPU used by the server over its uptime.",
            s.cpu_load,
        ),
        (
            "apache.load.1",
            "The host's load average over the last minute.",
            s.load1,
        ),
        (
            "apache.load.5",
            "The host's load average over the last 5 minutes.",
            s.load5,
        ),
        (
            "apache.load.15",
            "The host's load average over the last 15 minutes.",
            s.load15,
        ),
    ];
    for (name, description, v) in gauges {
        if let Some(v) = v {
            b.gauge(name, "%", description).gauge_f64(now, v, &[]);
        }
    }
    if let Some(v) = s.total_duration {
        b.sum(
            "apache.request.time",
            "ms",
            "Time spent serving requests since the server started.",
            Monotonic::Yes,
        )
        .point_i64(start, now, int(v), &[]);
    }
    if let Some(counts) = s.scoreboard_counts() {
        let mut m = b.sum(
            "apache.scoreboard",
            "{workers}",
            "Worker slots by scoreboard state.",
            Monotonic::No,
        );
        for (state, v) in counts {
            m.point_i64(start, now, int(v), &[("state", state)]);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::{metric, points, shape, value};

    /// `/server-status?auto` of Apache 2.4 (event MPM, ExtendedStatus on, mod_ssl loaded).
    pub(crate) const SAMPLE: &str = "www.example.net
ServerVersion: Apache/2.4.62 (Debian) OpenSSL/3.0.15
ServerMPM: event
Server Built: 2024-10-04T15:21:08
CurrentTime: Tuesday, 14-May-2024 10:40:00 UTC
RestartTime: Monday, 13-May-2024 09:12:30 UTC
ParentServerConfigGeneration: 2
ParentServerMPMGeneration: 1
ServerUptimeSeconds: 91650
ServerUptime: 1 day 1 hour 27 minutes 30 seconds
Load1: 0.42
Load5: 0.31
Load15: 0.27
Total Accesses: 183302
Total kBytes: 2458210
Total Duration: 9481234
CPUUser: 812.39
CPUSystem: 433.07
CPUChildrenUser: 1.5
CPUChildrenSystem: .25
CPULoad: 1.35901
Uptime: 91650
ReqPerSec: 2.0000
BytesPerSec: 27465.9
BytesPerReq: 13732.9
DurationPerReq: 51.7247
BusyWorkers: 3
GracefulWorkers: 0
IdleWorkers: 72
Processes: 3
Stopping: 0
ConnsTotal: 14
ConnsAsyncWriting: 0
ConnsAsyncKeepAlive: 9
ConnsAsyncClosing: 2
Scoreboard: __W___K_R____________________C_____________________________________________G_______.....................................................................I....DLS??
TLSSessionCacheStatus
CacheType: SHMCB
CacheSharedMemory: 512000
CacheCurrentEntries: 37
";

    const NOW: u64 = 1_715_683_200_000_000_000;
    const START: u64 = NOW - 91_650_000_000_000;

    #[test]
    fn parses_a_full_page() {
        let s = parse_server_status(SAMPLE).unwrap();
        assert_eq!(s.server_name.as_deref(), Some("www.example.net"));
        assert_eq!(
            s.server_version.as_deref(),
            Some("Apache/2.4.62 (Debian) OpenSSL/3.0.15")
        );
        assert_eq!(s.uptime_seconds, Some(91_650));
        assert_eq!(
            (s.load1, s.load5, s.load15),
            (Some(0.42), Some(0.31), Some(0.27))
        );
        assert_eq!(s.total_accesses, Some(183_302));
        assert_eq!(s.total_kbytes, Some(2_458_210));
        assert_eq!(s.total_duration, Some(9_481_234));
        assert_eq!(s.cpu_user, Some(812.39));
        assert_eq!(s.cpu_children_system, Some(0.25));
        assert_eq!(s.cpu_load, Some(1.35901));
        assert_eq!(s.req_per_sec, Some(2.0));
        assert_eq!((s.busy_workers, s.idle_workers), (Some(3), Some(72)));
        assert_eq!(s.conns_total, Some(14));
        assert_eq!(s.conns_async_keep_alive, Some(9));
        assert_eq!(s.conns_async_closing, Some(2));
        assert_eq!(s.start_nanos(NOW), Some(START));
        let counts = s.scoreboard_counts().unwrap();
        let board = s.scoreboard.as_deref().unwrap();
        assert_eq!(
            counts.iter().map(|(_, n)| n).sum::<u64>(),
            board.chars().count() as u64
        );
        let get = |state: &str| counts.iter().find(|(s, _)| *s == state).unwrap().1;
        assert_eq!(get("sending"), 1);
        assert_eq!(get("keepalive"), 1);
        assert_eq!(get("reading"), 1);
        assert_eq!(get("closing"), 1);
        assert_eq!(get("finishing"), 1);
        assert_eq!(get("idle_cleanup"), 1);
        assert_eq!(get("dnslookup"), 1);
        assert_eq!(get("logging"), 1);
        assert_eq!(get("starting"), 1);
        assert_eq!(get("unknown"), 2);
        assert_eq!(get("open"), board.matches('.').count() as u64);
        assert_eq!(get("waiting"), board.matches('_').count() as u64);
    }

    #[test]
    fn a_page_without_extended_status() {
        // Apache 2.2 / ExtendedStatus off: no traffic, CPU, load or connection keys
        let s = parse_server_status("BusyWorkers: 1\nIdleWorkers: 9\nScoreboard: W_________\n")
            .unwrap();
        assert_eq!(s.server_name, None);
        assert_eq!(
            (s.total_accesses, s.uptime_seconds, s.cpu_load),
            (None, None, None)
        );
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        apache_metrics(&s, &mut b, NOW);
        let req = b.finish();
        assert_eq!(value(&req, "apache.workers", &[("state", "busy")]), 1.0);
        assert_eq!(
            value(&req, "apache.scoreboard", &[("state", "waiting")]),
            9.0
        );
        for name in [
            "apache.requests",
            "apache.traffic",
            "apache.cpu.time",
            "apache.uptime",
            "apache.cpu.load",
            "apache.load.1",
        ] {
            assert!(metric(&req, name).is_none(), "{name}");
        }
        // no uptime: start unknown
        assert!(points(&req, "apache.workers")
            .iter()
            .all(|p| p.start_time_unix_nano == 0));
        // `Uptime` stands in for `ServerUptimeSeconds`
        let s = parse_server_status("Total Accesses: 3\nUptime: 12\n").unwrap();
        assert_eq!(s.uptime_seconds, Some(12));
    }

    #[test]
    fn refuses_pages_that_are_not_mod_status() {
        for bad in [
            "",
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html><head>\n<title>Apache Status</title>",
            "Forbidden: You don't have permission to access this resource.",
            "Total Accesses: lots\nBusyWorkers: -1\n",
        ] {
            let err = parse_server_status(bad).unwrap_err();
            assert!(err.starts_with("not a mod_status"), "{err}");
            assert!(err.len() < 200);
        }
    }

    #[test]
    fn odd_values_are_none_or_clamped() {
        let s = parse_server_status(
            "Total Accesses: 99999999999999999999999\nTotal kBytes: 18446744073709551615\n\
             CPUUser: NaN\nCPUSystem: -2\nLoad1: inf\nBusyWorkers: 1.7\nIdleWorkers: -3\n\
             ServerUptimeSeconds: 99999999999999999999\nScoreboard:\n",
        )
        .unwrap();
        assert_eq!(s.total_accesses, Some(i64::MAX as u64));
        assert_eq!(s.busy_workers, Some(1));
        assert_eq!(s.idle_workers, None);
        assert_eq!(s.cpu_user, None);
        assert_eq!(s.load1, None);
        assert_eq!(s.start_nanos(NOW), None);
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        apache_metrics(&s, &mut b, NOW);
        let req = b.finish();
        assert_eq!(value(&req, "apache.traffic", &[]), i64::MAX as f64);
        assert_eq!(value(&req, "apache.requests", &[]), i64::MAX as f64);
        assert!(
            metric(&req, "apache.cpu.time").is_none(),
            "negative CPU is not a counter value"
        );
        assert_eq!(points(&req, "apache.workers").len(), 1);
        // an empty scoreboard still reports every state, all zero
        assert_eq!(points(&req, "apache.scoreboard").len(), 12);
    }

    #[test]
    fn metrics_follow_the_contrib_names_units_and_types() {
        let s = parse_server_status(SAMPLE).unwrap();
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        apache_metrics(&s, &mut b, NOW);
        let req = b.finish();
        // (name, unit, is_sum, monotonic, value)
        let expected: &[(&str, &str, bool, bool, f64)] = &[
            ("apache.uptime", "s", true, true, 91_650.0),
            (
                "apache.current_connections",
                "{connections}",
                true,
                false,
                14.0,
            ),
            ("apache.requests", "{requests}", true, true, 183_302.0),
            ("apache.traffic", "By", true, true, 2_458_210.0 * 1024.0),
            ("apache.request.time", "ms", true, true, 9_481_234.0),
            ("apache.cpu.load", "%", false, false, 1.35901),
            ("apache.load.1", "%", false, false, 0.42),
            ("apache.load.5", "%", false, false, 0.31),
            ("apache.load.15", "%", false, false, 0.27),
        ];
        for (name, unit, is_sum, mono, v) in expected {
            assert_eq!(
                shape(&req, name),
                (unit.to_string(), *is_sum, *mono),
                "{name}"
            );
            assert_eq!(value(&req, name, &[]), *v, "{name}");
            for p in points(&req, name) {
                assert_eq!(p.time_unix_nano, NOW);
                assert_eq!(
                    p.start_time_unix_nano,
                    if *is_sum { START } else { 0 },
                    "{name}"
                );
            }
        }
        assert_eq!(
            shape(&req, "apache.workers"),
            ("{workers}".into(), true, false)
        );
        assert_eq!(value(&req, "apache.workers", &[("state", "busy")]), 3.0);
        assert_eq!(value(&req, "apache.workers", &[("state", "idle")]), 72.0);
        assert_eq!(
            shape(&req, "apache.cpu.time"),
            ("{jiff}".into(), true, true)
        );
        assert_eq!(
            value(
                &req,
                "apache.cpu.time",
                &[("level", "self"), ("mode", "user")]
            ),
            812.39
        );
        assert_eq!(
            value(
                &req,
                "apache.cpu.time",
                &[("level", "self"), ("mode", "system")]
            ),
            433.07
        );
        assert_eq!(
            value(
                &req,
                "apache.cpu.time",
                &[("level", "children"), ("mode", "user")]
            ),
            1.5
        );
        assert_eq!(
            value(
                &req,
                "apache.cpu.time",
                &[("level", "children"), ("mode", "system")]
            ),
            0.25
        );
        assert_eq!(
            shape(&req, "apache.scoreboard"),
            ("{workers}".into(), true, false)
        );
        assert_eq!(points(&req, "apache.scoreboard").len(), 12);
        assert_eq!(
            value(&req, "apache.scoreboard", &[("state", "unknown")]),
            2.0
        );
        assert_eq!(
            value(&req, "apache.scoreboard", &[("state", "sending")]),
            1.0
        );
        assert_eq!(req.resource_metrics[0].scope_metrics[0].metrics.len(), 12);

        let mut b = MetricsBuilder::new(vec![], "test", "0");
        apache_metrics_at(&s, &mut b, NOW, 7);
        assert!(points(&b.finish(), "apache.requests")
            .iter()
            .all(|p| p.start_time_unix_nano == 7));
    }
}
