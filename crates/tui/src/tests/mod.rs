//! UI tests: a fake agent with fixed data that records every call, and helpers that draw
//! the app into a test terminal and read the screen back as text.
#![allow(clippy::unwrap_used)]

mod config;
mod diagnostics;
mod frame;
mod logs;
mod overview;
mod pipeline;
mod processes;
mod services;
mod setup;

use crate::backend::{Backend, Setup, SetupChoice, SourceOp};
use crate::{App, Options};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lookout_api::*;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub(crate) const MIB: u64 = 1024 * 1024;

/// A fake agent: fixed answers (some changeable by the test), every call logged.
pub(crate) struct FakeBackend {
    pub calls: RefCell<Vec<String>>,
    pub status: RefCell<Result<Status, String>>,
    pub host: HostHistory,
    pub processes: Processes,
    pub services: Services,
    pub sources: RefCell<LogSources>,
    pub tail: RefCell<Vec<TailLine>>,
    pub config: RefCell<ConfigView>,
    pub checks: Vec<Check>,
    /// Calls that answer with an error.
    pub failing: RefCell<Vec<&'static str>>,
}

pub(crate) fn sink() -> Component {
    Component {
        id: "otlp".into(),
        kind: "sink".into(),
        type_name: "otlp_http".into(),
        received_items: 1000,
        sent_items: 900,
        errors: 3,
        dead_lettered_items: 1,
        gauges: BTreeMap::from([
            ("lookout_sink_circuit_state".to_string(), 2.0),
            ("lookout_sink_queue_depth_events".to_string(), 42.0),
        ]),
        healthy: false,
        failing: true,
        failing_for_secs: Some(125.0),
        last_error: Some(
            "connection refused: otlp.example.com:4318 (tried 5 times, next retry in 30s)".into(),
        ),
        last_error_unix: Some(1_700_000_000),
        ..Component::default()
    }
}

pub(crate) fn status() -> Status {
    Status {
        version: "0.1.0".into(),
        pid: 4242,
        healthy: false,
        uptime_secs: 7380.0,
        config_hash: "9f8e7d6c5b4a".into(),
        config_origin: "/etc/lookout/lookout.yaml".into(),
        data_dir: "/var/lib/lookout".into(),
        reloads: Reloads {
            applied: 2,
            rejected: 0,
        },
        process: OwnUsage {
            cpu_seconds: Some(12.5),
            rss_bytes: Some(48 * MIB),
        },
        components: vec![
            Component {
                id: "host".into(),
                kind: "source".into(),
                type_name: "host_metrics".into(),
                received_items: 500,
                sent_items: 500,
                healthy: true,
                ..Component::default()
            },
            sink(),
        ],
        ..Status::default()
    }
}

fn sample(cpu: f64) -> HostSample {
    HostSample {
        unix: 1_700_000_000.0,
        cpus: 4,
        cpu_percent: cpu,
        mem_used_bytes: 3_328_599_654,
        mem_total_bytes: 8_375_186_227,
        load1: 0.52,
        load5: 0.40,
        load15: 0.33,
        disk_read_bps: 1_258_291.0,
        disk_write_bps: 307_200.0,
        net_rx_bps: 2048.0,
        net_tx_bps: 1024.0,
        root_used_percent: 43.0,
    }
}

pub(crate) fn process(
    pid: u32,
    ppid: u32,
    name: &str,
    cmd: &str,
    cpu: Option<f64>,
    rss: u64,
) -> Process {
    Process {
        pid,
        ppid,
        name: name.into(),
        command_line: cmd.into(),
        owner: Some("root".into()),
        state: "S".into(),
        cpu_cores: cpu,
        rss_bytes: rss,
        threads: 1,
        ..Process::default()
    }
}

pub(crate) fn redis() -> Service {
    Service {
        instance: "redis 127.0.0.1:6379".into(),
        product: "redis".into(),
        confidence: 0.95,
        reasons: vec![
            "listening on 127.0.0.1:6379".into(),
            "process redis-server".into(),
        ],
        source_id: Some("redis_6379".into()),
        collecting: true,
        preview: "receivers:\n  redis_6379:\n    endpoint: 127.0.0.1:6379".into(),
        ..Service::default()
    }
}

pub(crate) fn nginx() -> Service {
    Service {
        instance: "nginx 0.0.0.0:80".into(),
        product: "nginx".into(),
        confidence: 0.4,
        reasons: vec!["process nginx".into()],
        ..Service::default()
    }
}

pub(crate) fn tail_line(seq: u64, sev: &str, body: &str) -> TailLine {
    TailLine {
        seq,
        unix: 1_700_000_000.0 + seq as f64,
        severity: sev.into(),
        body: body.into(),
    }
}

pub(crate) const SOURCE_YAML: &str =
    "sources:\n  host:\n    type: host_metrics\nsinks:\n  local:\n    type: store\n";

impl FakeBackend {
    pub(crate) fn new() -> FakeBackend {
        FakeBackend {
            calls: RefCell::new(Vec::new()),
            status: RefCell::new(Ok(status())),
            host: HostHistory {
                interval_secs: 10.0,
                samples: vec![sample(5.0), sample(50.0), sample(12.3)],
            },
            processes: Processes {
                time_unix_nanos: 0,
                cpus: 4,
                processes: 312,
                reported: vec![
                    process(1, 0, "systemd", "/sbin/init", Some(0.01), 12 * MIB),
                    process(
                        100,
                        1,
                        "postgres",
                        "postgres -D /var/lib/pg",
                        Some(0.5),
                        500 * MIB,
                    ),
                    process(
                        101,
                        100,
                        "postgres",
                        "postgres: writer",
                        Some(0.05),
                        600 * MIB,
                    ),
                    process(50, 1, "lookout", "", Some(0.2), 48 * MIB),
                    process(7, 2, "kworker", "", None, 0),
                ],
            },
            services: Services {
                autoconfig: true,
                scanned_unix: 1_700_000_000,
                services: vec![redis(), nginx()],
            },
            sources: RefCell::new(LogSources {
                sources: vec![
                    LogSource {
                        id: "syslog".into(),
                        type_name: "files".into(),
                        include: vec!["/var/log/syslog".into()],
                        origin: "config".into(),
                        paused: false,
                        records: 1200,
                    },
                    LogSource {
                        id: "app".into(),
                        type_name: "files".into(),
                        include: vec!["/var/log/app.log".into()],
                        origin: "added".into(),
                        paused: false,
                        records: 5,
                    },
                ],
            }),
            tail: RefCell::new(vec![
                tail_line(1, "INFO", "service started"),
                tail_line(2, "ERROR", "database connection lost"),
                tail_line(3, "INFO", "retrying"),
            ]),
            config: RefCell::new(ConfigView {
                path: Some("/etc/lookout/lookout.yaml".into()),
                hash: "9f8e7d6c5b4a".into(),
                source_yaml: SOURCE_YAML.into(),
                effective_yaml: "# effective\nsources:\n  host:\n    interval: 10s\n".into(),
                editable: true,
            }),
            checks: vec![
                Check {
                    name: "control socket".into(),
                    status: "PASS".into(),
                    detail: "answering".into(),
                    fix: None,
                },
                Check {
                    name: "sink otlp".into(),
                    status: "FAIL".into(),
                    detail: "connection refused".into(),
                    fix: Some("check the endpoint and the firewall".into()),
                },
                Check {
                    name: "disk space".into(),
                    status: "WARN".into(),
                    detail: "80% used".into(),
                    fix: Some("free some space".into()),
                },
            ],
            failing: RefCell::new(Vec::new()),
        }
    }

    fn gate(&self, call: &str) -> Result<(), String> {
        if self.failing.borrow().contains(&call) {
            return Err(format!("{call} failed"));
        }
        Ok(())
    }

    fn log(&self, s: impl Into<String>) {
        self.calls.borrow_mut().push(s.into());
    }

    /// The calls so far, then forgets them.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.borrow_mut())
    }

    /// How many calls started with `prefix`.
    pub(crate) fn count(&self, prefix: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }

    fn ok(message: &str) -> Result<ActionResult, String> {
        Ok(ActionResult {
            ok: true,
            message: message.into(),
            config_hash: None,
        })
    }
}

impl Backend for FakeBackend {
    fn status(&self) -> Result<Status, String> {
        self.log("status");
        self.status.borrow().clone()
    }
    fn host(&self) -> Result<HostHistory, String> {
        self.log("host");
        self.gate("host")?;
        Ok(self.host.clone())
    }
    fn processes(&self) -> Result<Processes, String> {
        self.log("processes");
        self.gate("processes")?;
        Ok(self.processes.clone())
    }
    fn services(&self) -> Result<Services, String> {
        self.log("services");
        Ok(self.services.clone())
    }
    fn set_service(&self, id: &str, enabled: bool) -> Result<ActionResult, String> {
        self.log(format!("set_service {id} {enabled}"));
        let verb = if enabled { "enabled" } else { "disabled" };
        Self::ok(&format!("{verb} {id}"))
    }
    fn log_sources(&self) -> Result<LogSources, String> {
        self.log("log_sources");
        Ok(self.sources.borrow().clone())
    }
    fn add_log_source(&self, req: &AddLogSource) -> Result<ActionResult, String> {
        self.log(format!(
            "add_log_source {} {} {}",
            req.id,
            req.include.join(","),
            req.start_at.clone().unwrap_or_default()
        ));
        Self::ok(&format!("added {}", req.id))
    }
    fn log_source_op(&self, id: &str, op: SourceOp) -> Result<ActionResult, String> {
        self.log(format!("log_source_op {id} {op:?}"));
        Self::ok(&format!("{op:?} {id}"))
    }
    fn tail(&self, source: &str, after: u64) -> Result<Tail, String> {
        self.log(format!("tail {source} {after}"));
        self.gate("tail")?;
        let lines: Vec<TailLine> = self
            .tail
            .borrow()
            .iter()
            .filter(|l| l.seq > after)
            .cloned()
            .collect();
        let next = lines.last().map_or(after, |l| l.seq);
        Ok(Tail {
            source: source.into(),
            lines,
            next,
            missed: 0,
        })
    }
    fn redact_try(&self, req: &RedactTry) -> Result<RedactTryResult, String> {
        self.log(format!(
            "redact_try {} {}",
            req.pattern,
            req.source.clone().unwrap_or_default()
        ));
        Ok(RedactTryResult {
            tried: 3,
            matched: 1,
            changes: vec![(
                "user=bob password=hunter2".into(),
                "user=bob password=[REDACTED]".into(),
            )],
            rule_yaml: "- pattern: 'password=\\S+'\n  replacement: '[REDACTED]'".into(),
        })
    }
    fn config(&self) -> Result<ConfigView, String> {
        self.log("config");
        Ok(self.config.borrow().clone())
    }
    fn config_change(&self, yaml: &str, apply: bool) -> Result<ConfigCheck, String> {
        self.log(format!("config_change {apply} {yaml:?}"));
        Ok(ConfigCheck {
            valid: true,
            error: None,
            diff: "--- lookout.yaml\n+++ lookout.yaml (new)\n@@ -1,3 +1,4 @@\n+# hi\n sources:\n   host:\n-    type: host_metrics\n".into(),
            applied: apply,
            config_hash: apply.then(|| "0a1b2c3d".to_string()),
        })
    }
    fn diagnose(&self) -> Result<Vec<Check>, String> {
        self.log("diagnose");
        Ok(self.checks.clone())
    }
    fn set_log_level(&self, level: &str, for_secs: u64) -> Result<ActionResult, String> {
        self.log(format!("set_log_level {level} {for_secs}"));
        Self::ok(&format!("log level {level}"))
    }
}

/// A fake guided first run: fixed discovery, and the choice it was given.
#[derive(Default)]
pub(crate) struct FakeSetup {
    pub discovered: RefCell<usize>,
    pub applied: RefCell<Option<SetupChoice>>,
}

impl Setup for FakeSetup {
    fn discover(&self) -> Result<Services, String> {
        *self.discovered.borrow_mut() += 1;
        Ok(Services {
            autoconfig: false,
            scanned_unix: 0,
            services: vec![redis(), nginx()],
        })
    }
    fn apply(&self, choice: &SetupChoice) -> Result<String, String> {
        *self.applied.borrow_mut() = Some(choice.clone());
        Ok("configuration written to /etc/lookout/lookout.yaml; agent started".into())
    }
}

pub(crate) fn app() -> App {
    App::new(&Options::default())
}

pub(crate) fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

pub(crate) fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

pub(crate) fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// Types `s`, one key per character.
pub(crate) fn typing(app: &mut App, b: &FakeBackend, s: &str) {
    for c in s.chars() {
        app.handle_key(key(c), b);
    }
}

/// A fixed clock for refresh timing.
pub(crate) fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

/// Draws the app at `w`x`h` and returns the buffer.
pub(crate) fn draw(app: &App, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| app.render(f)).unwrap();
    term.backend().buffer().clone()
}

/// The screen's rows as text.
pub(crate) fn rows_of(buf: &Buffer) -> Vec<String> {
    let area = buf.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buf.cell((x, y)).map_or(" ", |c| c.symbol()))
                .collect::<String>()
        })
        .collect()
}

/// The screen at 100x30 as rows.
pub(crate) fn screen(app: &App) -> Vec<String> {
    rows_of(&draw(app, 100, 30))
}

/// The screen at 100x30 as one text.
pub(crate) fn text(app: &App) -> String {
    screen(app).join("\n")
}

/// The index of the first row containing `needle`.
pub(crate) fn row_of(rows: &[String], needle: &str) -> usize {
    rows.iter()
        .position(|r| r.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{}", rows.join("\n")))
}

/// An app on `screen` (by its digit) with its data fetched.
pub(crate) fn on_screen(b: &FakeBackend, digit: char) -> (App, Instant) {
    let mut a = app();
    let t0 = Instant::now();
    a.handle_key(key(digit), b);
    a.refresh(b, t0);
    (a, t0)
}
