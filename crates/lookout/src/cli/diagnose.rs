//! `lookout diagnose [--json]`: checks the configuration and the host and prints one line per
//! check (PASS, WARN or FAIL) with a one-line fix. Never prints a secret: endpoints are shown
//! without credentials and header values are never read out.

use super::{out, Global};
use crate::datadir;
use lookout_config::{Config, SinkKind, SourceKind};
use serde::Serialize;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

#[derive(Debug, Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
enum Level {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    check: String,
    status: Level,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

fn check(name: &str, status: Level, detail: impl Into<String>, fix: Option<&str>) -> Check {
    Check {
        check: name.to_string(),
        status,
        detail: detail.into(),
        fix: fix.map(str::to_string),
    }
}

const CAPS_FIX: &str = "run as root, or grant CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE (systemd: AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE)";

fn proc_checks(proc_root: &Path, checks: &mut Vec<Check>) {
    for f in [
        "stat",
        "meminfo",
        "loadavg",
        "vmstat",
        "diskstats",
        "net/dev",
        "net/tcp",
        "self/mountinfo",
        "uptime",
    ] {
        let p = proc_root.join(f);
        match std::fs::read(&p) {
            Ok(_) => {}
            Err(e) => {
                checks.push(check(
                    "proc",
                    Level::Fail,
                    format!("cannot read {}: {e}", p.display()),
                    Some(if e.kind() == std::io::ErrorKind::PermissionDenied {
                        CAPS_FIX
                    } else {
                        "mount procfs (in a container: mount the host's /proc and set proc_path)"
                    }),
                ));
                return;
            }
        }
    }
    checks.push(check(
        "proc",
        Level::Pass,
        format!("{} host files readable", proc_root.display()),
        None,
    ));

    // per-process details (needed by process telemetry): io and fd of other users' processes
    let mut total = 0;
    let mut readable = 0;
    if let Ok(entries) = std::fs::read_dir(proc_root) {
        for e in entries.flatten() {
            let name = e.file_name();
            if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            total += 1;
            if std::fs::read(e.path().join("io")).is_ok()
                && std::fs::read_dir(e.path().join("fd")).is_ok()
            {
                readable += 1;
            }
        }
    }
    if total > 0 && readable < total {
        checks.push(check(
            "processes",
            Level::Warn,
            format!("can read I/O and open files of {readable} of {total} processes (the others belong to other users)"),
            Some(CAPS_FIX),
        ));
    } else {
        checks.push(check(
            "processes",
            Level::Pass,
            format!("all {total} processes fully readable"),
            None,
        ));
    }
}

fn data_dir_check(dir: &Path, checks: &mut Vec<Check>) {
    let fix_create = format!(
        "create it: mkdir -p -m 700 {} (or pass --data-dir)",
        dir.display()
    );
    if !dir.exists() {
        let parent_ok = dir
            .ancestors()
            .skip(1)
            .find(|a| a.exists())
            .is_some_and(writable);
        if parent_ok {
            checks.push(check(
                "data_dir",
                Level::Pass,
                format!("{} will be created at start", dir.display()),
                None,
            ));
        } else {
            checks.push(check(
                "data_dir",
                Level::Fail,
                format!("{} does not exist and cannot be created", dir.display()),
                Some(&fix_create),
            ));
        }
        return;
    }
    if !writable(dir) {
        checks.push(check(
            "data_dir",
            Level::Fail,
            format!("{} is not writable by this user", dir.display()),
            Some(&format!(
                "chown the directory to the agent's user, or pass --data-dir DIR (now: {})",
                dir.display()
            )),
        ));
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    if mode & 0o077 != 0 {
        checks.push(check(
            "data_dir",
            Level::Warn,
            format!(
                "{} is writable but open to other users (mode {mode:o})",
                dir.display()
            ),
            Some(&format!("chmod 700 {}", dir.display())),
        ));
    } else {
        checks.push(check(
            "data_dir",
            Level::Pass,
            format!("{} writable, owner-only", dir.display()),
            None,
        ));
    }
}

fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".lookout-probe-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

/// StatsD over UDP loses datagrams in bursts when the kernel caps the receive buffer below
/// what the source asks for.
fn receiver_checks(config: &Config, checks: &mut Vec<Check>) {
    let rmem_max: Option<usize> = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|t| t.trim().parse().ok());
    let qlen: Option<usize> = std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .ok()
        .and_then(|t| t.trim().parse().ok());
    for s in &config.sources {
        if let SourceKind::Statsd(c) = &s.kind {
            let name = format!("source {}", s.id);
            if let (Some(_), Some(q)) = (&c.unix, qlen) {
                if q < 512 {
                    checks.push(check(
                        &name,
                        Level::Warn,
                        format!("net.unix.max_dgram_qlen is {q}: clients sending to the Unix socket without blocking drop datagrams when more than {q} wait"),
                        Some("sysctl -w net.unix.max_dgram_qlen=512 (and persist it in /etc/sysctl.d/)"),
                    ));
                }
            }
            if c.udp.is_none() {
                continue;
            }
            match rmem_max {
                Some(max) if max < c.receive_buffer => checks.push(check(
                    &name,
                    Level::Warn,
                    format!(
                        "UDP receive buffer capped at {max} bytes by net.core.rmem_max (receive_buffer asks {}): bursts may be dropped by the kernel",
                        c.receive_buffer
                    ),
                    Some(&format!(
                        "sysctl -w net.core.rmem_max={} (and persist it in /etc/sysctl.d/)",
                        c.receive_buffer
                    )),
                )),
                Some(max) => checks.push(check(
                    &name,
                    Level::Pass,
                    format!("UDP receive buffer {} bytes allowed (rmem_max {max})", c.receive_buffer),
                    None,
                )),
                None => {}
            }
        }
    }
}

/// The integration a source is, if it is one.
pub fn service_of(kind: &SourceKind) -> Option<lookout_integrations::Service> {
    use lookout_integrations::Service;
    match kind {
        SourceKind::Redis(c) => Some(Service::Redis(c.clone())),
        SourceKind::Nginx(c) => Some(Service::Nginx(c.clone())),
        SourceKind::Apache(c) => Some(Service::Apache(c.clone())),
        SourceKind::Mysql(c) => Some(Service::Mysql(c.clone())),
        SourceKind::Postgresql(c) => Some(Service::Postgresql(c.clone())),
        _ => None,
    }
}

/// One collection of every integration: PASS with what it collected, or FAIL with the error
/// and what fixes it (for a missing privilege, the statement that grants it).
fn integration_checks(config: &Config, checks: &mut Vec<Check>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    for s in &config.sources {
        let Some(service) = service_of(&s.kind) else {
            continue;
        };
        let name = format!("source {}", s.id);
        let i = match lookout_integrations::Integration::new(service, &[]) {
            Ok(i) => i,
            Err(e) => {
                checks.push(check(&name, Level::Fail, e, None));
                continue;
            }
        };
        let what = format!("{} at {}", i.service().name(), i.service().endpoint());
        let mut state = lookout_integrations::CollectState::default();
        match rt.block_on(i.collect(&mut state)) {
            Ok(batch) if state.notes.is_empty() => checks.push(check(
                &name,
                Level::Pass,
                format!("{what}: {} series collected", batch.item_count()),
                None,
            )),
            Ok(batch) => {
                let (what_missing, fix): (Vec<&str>, Vec<&str>) = state
                    .notes
                    .iter()
                    .map(|n| n.split_once("; fix: ").unwrap_or((n.as_str(), "")))
                    .unzip();
                let fix = fix
                    .into_iter()
                    .filter(|f| !f.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                checks.push(check(
                    &name,
                    Level::Warn,
                    format!(
                        "{what}: {} series collected, but {}",
                        batch.item_count(),
                        what_missing.join("; ")
                    ),
                    (!fix.is_empty()).then_some(fix.as_str()),
                ))
            }
            Err(e) => checks.push(check(
                &name,
                Level::Fail,
                format!("{what}: {} ({})", e.message, e.kind),
                e.hint.as_deref(),
            )),
        }
    }
}

/// Log files a `files` source matches but cannot open (permissions), with the fix.
fn log_file_checks(config: &Config, checks: &mut Vec<Check>) {
    for s in &config.sources {
        let SourceKind::Files(c) = &s.kind else {
            continue;
        };
        let name = format!("source {}", s.id);
        let Ok(d) = lookout_tail::Discovery::new(&c.include, &c.exclude) else {
            continue;
        };
        let scan = d.scan();
        let mut denied = Vec::new();
        for f in &scan.files {
            if let Err(e) = std::fs::File::open(&f.path) {
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    denied.push(f.path.display().to_string());
                }
            }
        }
        if !denied.is_empty() {
            checks.push(check(
                &name,
                Level::Fail,
                format!("cannot read {} of {} matched file(s): {}", denied.len(), scan.files.len(), denied.join(", ")),
                Some("add the agent's user to the files' group (Debian: `usermod -aG adm lookout`), or grant CAP_DAC_READ_SEARCH"),
            ));
        } else if scan.files.is_empty() {
            checks.push(check(
                &name,
                Level::Warn,
                format!("no file matches {}", c.include.join(", ")),
                Some("check the include globs; files created later are picked up"),
            ));
        } else {
            checks.push(check(
                &name,
                Level::Pass,
                format!("{} file(s) readable", scan.files.len()),
                None,
            ));
        }
    }
}

fn sink_checks(config: &Config, data_dir: &Path, checks: &mut Vec<Check>) {
    for s in &config.sinks {
        let name = format!("sink {}", s.id);
        match &s.kind {
            SinkKind::OtlpHttp(c) => {
                let mut url = c.endpoint.0.clone();
                let _ = url.set_password(None);
                let _ = url.set_username("");
                let host = url.host_str().unwrap_or("").to_string();
                let port = url.port_or_known_default().unwrap_or(443);
                let reachable = (host.as_str(), port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .map(|a| TcpStream::connect_timeout(&a, Duration::from_secs(3)));
                match reachable {
                    Some(Ok(_)) => {
                        checks.push(check(&name, Level::Pass, format!("{url} reachable"), None))
                    }
                    Some(Err(e)) => checks.push(check(
                        &name,
                        Level::Fail,
                        format!("{url} not reachable: {e}"),
                        Some("check the endpoint, the network path and any proxy or firewall"),
                    )),
                    None => checks.push(check(
                        &name,
                        Level::Fail,
                        format!("cannot resolve {host}"),
                        Some("check the endpoint's host name and DNS"),
                    )),
                }
                if url.scheme() == "http"
                    && !url
                        .host_str()
                        .is_some_and(|h| h == "localhost" || h.starts_with("127.") || h == "[::1]")
                {
                    checks.push(check(&name, Level::Warn, format!("{url} is plain HTTP to a remote host: data and headers travel unencrypted"), Some("use an https:// endpoint")));
                }
            }
            SinkKind::File(c) => {
                let dir = c
                    .path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                if dir.exists() && writable(dir) {
                    checks.push(check(
                        &name,
                        Level::Pass,
                        format!("{} writable", c.path.display()),
                        None,
                    ));
                } else {
                    checks.push(check(
                        &name,
                        Level::Fail,
                        format!("cannot write in {}", dir.display()),
                        Some("create the directory or choose another path"),
                    ));
                }
            }
            SinkKind::Duckdb(c) => {
                let path = lookout_store::sink::store_path(c, data_dir);
                let dir = path
                    .ancestors()
                    .skip(1)
                    .find(|p| p.exists())
                    .unwrap_or(Path::new("."));
                let size = lookout_store::db::file_bytes(&path);
                if writable(dir) {
                    checks.push(check(
                        &name,
                        Level::Pass,
                        format!(
                            "store {} ({} MiB of {} MiB allowed)",
                            path.display(),
                            size >> 20,
                            c.retention.max_bytes >> 20
                        ),
                        None,
                    ));
                } else {
                    checks.push(check(
                        &name,
                        Level::Fail,
                        format!("cannot write the store in {}", dir.display()),
                        Some("create the directory or choose another path"),
                    ));
                }
            }
            SinkKind::Prometheus(c) => checks.push(check(
                &name,
                Level::Pass,
                format!(
                    "served at http://{}{}",
                    config.settings.server.listen, c.path
                ),
                None,
            )),
        }
    }
}

fn server_check(config: &Config, dir: &Path, checks: &mut Vec<Check>) {
    let listen = config.settings.server.listen;
    if !listen.ip().is_loopback() {
        checks.push(check(
            "server",
            Level::Warn,
            format!("{listen} is not a loopback address"),
            Some("use 127.0.0.1 unless remote scraping is intended and firewalled"),
        ));
    }
    match std::net::TcpListener::bind(listen) {
        Ok(_) => checks.push(check(
            "server",
            Level::Pass,
            format!("{listen} is free"),
            None,
        )),
        Err(e) => {
            let ours = datadir::read_info(dir).is_some_and(|i| i.server == listen.to_string());
            if ours {
                checks.push(check(
                    "server",
                    Level::Pass,
                    format!("{listen} is served by the running agent"),
                    None,
                ));
            } else {
                checks.push(check(
                    "server",
                    Level::Fail,
                    format!("cannot listen on {listen}: {e}"),
                    Some("free the port or set server.listen to another address"),
                ));
            }
        }
    }
}

fn clock_check(proc_root: &Path, checks: &mut Vec<Check>) {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    if now < 1_704_067_200.0 {
        checks.push(check(
            "clock",
            Level::Fail,
            "the system clock is before 2024",
            Some("set the time (enable NTP: timedatectl set-ntp true)"),
        ));
        return;
    }
    let fs = lookout_proc::ProcFs::with_root(proc_root);
    let mut buf = Vec::new();
    let (Ok(stat), Ok(up)) = (fs.read_stat(&mut buf), fs.read_uptime(&mut buf)) else {
        checks.push(check(
            "clock",
            Level::Warn,
            "cannot compare with the boot time",
            None,
        ));
        return;
    };
    let drift = now - (stat.boot_time as f64 + up.uptime_secs);
    if drift.abs() > 5.0 {
        checks.push(check(
            "clock",
            Level::Warn,
            format!("wall clock differs from boot time + uptime by {drift:.0} s (the clock was stepped or the host suspended)"),
            Some("enable NTP so timestamps stay consistent"),
        ));
    } else {
        checks.push(check(
            "clock",
            Level::Pass,
            format!("consistent with boot time (drift {drift:.1} s)"),
            None,
        ));
    }
}

/// Entry point.
/// The checks, as the control API's type (the terminal UI's Diagnostics screen).
pub fn checks(g: &Global) -> Vec<lookout_api::Check> {
    run_checks(g)
        .into_iter()
        .map(|c| lookout_api::Check {
            name: c.check,
            status: match c.status {
                Level::Pass => "PASS",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            }
            .to_string(),
            detail: c.detail,
            fix: c.fix,
        })
        .collect()
}

fn run_checks(g: &Global) -> Vec<Check> {
    let mut checks = Vec::new();
    let config =
        match lookout_config::load(g.config.as_deref(), &g.set, &lookout_config::process_env) {
            Ok(c) => {
                checks.push(check(
                    "config",
                    Level::Pass,
                    format!(
                        "valid ({} source(s), {} sink(s))",
                        c.sources.len(),
                        c.sinks.len()
                    ),
                    None,
                ));
                Some(c)
            }
            Err(e) => {
                checks.push(check(
                    "config",
                    Level::Fail,
                    e.to_string().replace('\n', " "),
                    Some("fix the file at the position shown; `lookout config validate` checks it"),
                ));
                None
            }
        };
    if !datadir::is_root() {
        checks.push(check(
            "user",
            Level::Warn,
            "running as a non-root user: host metrics work, but other users' process details and some log files are not readable",
            Some(CAPS_FIX),
        ));
    } else {
        checks.push(check("user", Level::Pass, "running as root", None));
    }
    let proc_root = config
        .as_ref()
        .and_then(|c| {
            c.sources
                .iter()
                .filter_map(|s| match &s.kind {
                    SourceKind::HostMetrics(h) => Some(h.proc_path.clone()),
                    SourceKind::ProcessMetrics(p) => Some(p.proc_path.clone()),
                    _ => None,
                })
                .next()
        })
        .unwrap_or_else(|| "/proc".into());
    proc_checks(&proc_root, &mut checks);
    let dir = datadir::resolve(
        g.data_dir.as_deref(),
        config.as_ref().and_then(|c| c.settings.data_dir.as_deref()),
    );
    data_dir_check(&dir, &mut checks);
    if let Some(c) = &config {
        server_check(c, &dir, &mut checks);
        sink_checks(c, &dir, &mut checks);
        receiver_checks(c, &mut checks);
        integration_checks(c, &mut checks);
        log_file_checks(c, &mut checks);
    }
    clock_check(&proc_root, &mut checks);
    checks
}

/// Entry point.
pub fn main(g: &Global, json: bool) -> anyhow::Result<ExitCode> {
    let checks = run_checks(g);
    let failed = checks.iter().any(|c| c.status == Level::Fail);
    if json {
        out(&serde_json::json!({"ok": !failed, "checks": checks}).to_string())?;
    } else {
        for c in &checks {
            let tag = match c.status {
                Level::Pass => "PASS",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            out(&format!("{tag}  {:<14} {}", c.check, c.detail))?;
            if let Some(f) = &c.fix {
                out(&format!("      {:<14} fix: {f}", ""))?;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
