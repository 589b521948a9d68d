//! The CLI side of the control API: every action of the terminal UI as a command, with human
//! output and `--json` (the API's own answer, so scripts and the UI see the same facts).
//! `lookout host`, `pipeline`, `services`, `logs`, `log-level`, `config check|apply|edit`.

use super::{out, Global, EXIT_NOT_RUNNING};
use lookout_api::{self as api, paths, Client};
use std::process::ExitCode;

/// The client of the agent on this data directory.
pub fn client(g: &Global) -> Client {
    Client::new(&super::data_dir(g))
}

/// Prints an error the way every command does, with the exit code for it.
pub fn fail(e: &api::Error) -> ExitCode {
    eprintln!("error: {e}");
    match e {
        api::Error::NotRunning(_) => {
            eprintln!("hint: start it with `lookout run` (same --config/--data-dir)");
            ExitCode::from(EXIT_NOT_RUNNING)
        }
        _ => ExitCode::FAILURE,
    }
}

fn json_out<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    out(&serde_json::to_string(v)?)
}

/// Bytes for people: `1.5 GiB`.
pub fn bytes(b: f64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < U.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

/// `lookout host`.
pub fn host(g: &Global, json: bool) -> anyhow::Result<ExitCode> {
    let h: api::HostHistory = match client(g).get(paths::HOST) {
        Ok(h) => h,
        Err(e) => return Ok(fail(&e)),
    };
    if json {
        json_out(&h)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(s) = h.samples.last() else {
        out("no sample yet: the agent samples the host every 2 s")?;
        return Ok(ExitCode::SUCCESS);
    };
    out(&format!("CPU    {:.1}% ({} cpus)", s.cpu_percent, s.cpus))?;
    out(&format!(
        "Mem    {} / {}",
        bytes(s.mem_used_bytes as f64),
        bytes(s.mem_total_bytes as f64)
    ))?;
    out(&format!(
        "Load   {:.2} {:.2} {:.2}",
        s.load1, s.load5, s.load15
    ))?;
    out(&format!(
        "Disk   read {}/s write {}/s, / {:.1}% used",
        bytes(s.disk_read_bps),
        bytes(s.disk_write_bps),
        s.root_used_percent
    ))?;
    out(&format!(
        "Net    rx {}/s tx {}/s",
        bytes(s.net_rx_bps),
        bytes(s.net_tx_bps)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `lookout pipeline`.
pub fn pipeline(g: &Global, json: bool) -> anyhow::Result<ExitCode> {
    let st: api::Status = match client(g).get(paths::STATUS) {
        Ok(s) => s,
        Err(e) => return Ok(fail(&e)),
    };
    if json {
        json_out(&st.components)?;
        return Ok(ExitCode::SUCCESS);
    }
    out(&format!(
        "{:<24} {:<9} {:<12} {:>10} {:>10} {:>6} {:>6} {:>6} {:>8} {:<9} HEALTH",
        "ID", "KIND", "TYPE", "IN", "OUT", "ERR", "DROP", "DLQ", "QUEUE", "CIRCUIT"
    ))?;
    for c in &st.components {
        out(&format!(
            "{:<24} {:<9} {:<12} {:>10} {:>10} {:>6} {:>6} {:>6} {:>8} {:<9} {}",
            c.id,
            c.kind,
            c.type_name,
            c.received_items,
            c.sent_items,
            c.errors,
            c.dropped_items,
            c.dead_lettered_items,
            c.queue_depth()
                .map(|q| format!("{q:.0}"))
                .unwrap_or("-".into()),
            c.circuit().unwrap_or("-"),
            if c.healthy { "ok" } else { "FAILING" }
        ))?;
        if let Some(e) = &c.last_error {
            out(&format!("    last error: {e}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lookout services ...`
#[derive(Debug, clap::Subcommand)]
pub enum ServicesAction {
    /// The discovered services (the default).
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Collect a discovered service (undo `disable`).
    Enable {
        /// Source id (`auto_redis_127_0_0_1_6379`) or instance (`redis@127.0.0.1:6379`).
        service: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Stop collecting a discovered service, across re-discovery.
    Disable {
        /// Source id or instance.
        service: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The configuration collecting a service adds.
    Preview {
        /// Source id or instance.
        service: String,
    },
}

fn act(r: Result<api::ActionResult, api::Error>, json: bool) -> anyhow::Result<ExitCode> {
    match r {
        Ok(a) => {
            if json {
                json_out(&a)?;
            } else {
                out(&a.message)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(fail(&e)),
    }
}

/// Runs `lookout services`.
pub fn services(g: &Global, action: Option<ServicesAction>) -> anyhow::Result<ExitCode> {
    let c = client(g);
    match action.unwrap_or(ServicesAction::List { json: false }) {
        ServicesAction::List { json } => {
            let s: api::Services = match c.get(paths::SERVICES) {
                Ok(s) => s,
                Err(e) => return Ok(fail(&e)),
            };
            if json {
                json_out(&s)?;
                return Ok(ExitCode::SUCCESS);
            }
            if s.services.is_empty() {
                out("no service found on this host")?;
            }
            for x in &s.services {
                let state = if x.disabled {
                    "disabled"
                } else if x.collecting {
                    "collecting"
                } else if x.source_id.is_some() {
                    "not collected"
                } else {
                    "low confidence"
                };
                out(&format!(
                    "{:<32} {:.2}  {:<14} {}",
                    x.instance,
                    x.confidence,
                    state,
                    x.source_id.as_deref().unwrap_or("-")
                ))?;
                out(&format!("    {}", x.reasons.join("; ")))?;
            }
            if !s.autoconfig {
                out("(auto-configuration is off in this agent: set autoconfig.enabled: true to collect them)")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ServicesAction::Enable { service, json } => act(
            c.post(paths::SERVICES_ENABLE, &api::ServiceAction { id: service }),
            json,
        ),
        ServicesAction::Disable { service, json } => act(
            c.post(paths::SERVICES_DISABLE, &api::ServiceAction { id: service }),
            json,
        ),
        ServicesAction::Preview { service } => {
            let s: api::Services = match c.get(paths::SERVICES) {
                Ok(s) => s,
                Err(e) => return Ok(fail(&e)),
            };
            let id = if service.starts_with("auto_") {
                service.clone()
            } else {
                lookout_discovery::render::source_id(&service)
            };
            match s
                .services
                .iter()
                .find(|x| x.source_id.as_deref() == Some(id.as_str()) || x.instance == service)
            {
                Some(x) => {
                    out(x.preview.trim_end())?;
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("error: no discovered service `{service}` (see `lookout services`)");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// `lookout logs ...`
#[derive(Debug, clap::Subcommand)]
pub enum LogsAction {
    /// The log sources, where they come from, paused or not (the default).
    Sources {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Add a `files` source to the running agent (kept across restarts in the data directory).
    Add {
        /// Its id.
        id: String,
        /// Paths or globs to read.
        #[arg(required = true)]
        paths: Vec<String>,
        /// Globs left out (repeatable).
        #[arg(long)]
        exclude: Vec<String>,
        /// Read existing files from their beginning (default: from their end).
        #[arg(long)]
        from_beginning: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Remove a source added with `logs add`.
    Rm {
        /// Its id.
        id: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Stop reading a log source (its position is kept).
    Pause {
        /// Its id.
        id: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Read a paused source again from where it stopped.
    Resume {
        /// Its id.
        id: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Print a source's records as they leave for the sinks (after redaction).
    Tail {
        /// Its id.
        id: String,
        /// Keep printing new records until interrupted.
        #[arg(long, short)]
        follow: bool,
        /// Stop after this many seconds of following.
        #[arg(long)]
        seconds: Option<u64>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `lookout logs`.
pub fn logs(g: &Global, action: Option<LogsAction>) -> anyhow::Result<ExitCode> {
    let c = client(g);
    let op =
        |path: &str, id: String, json: bool| act(c.post(path, &api::SourceAction { id }), json);
    match action.unwrap_or(LogsAction::Sources { json: false }) {
        LogsAction::Sources { json } => {
            let s: api::LogSources = match c.get(paths::LOG_SOURCES) {
                Ok(s) => s,
                Err(e) => return Ok(fail(&e)),
            };
            if json {
                json_out(&s)?;
                return Ok(ExitCode::SUCCESS);
            }
            out(&format!(
                "{:<28} {:<9} {:<11} {:<7} {:>9}  PATHS",
                "ID", "TYPE", "ORIGIN", "STATE", "RECORDS"
            ))?;
            for x in &s.sources {
                out(&format!(
                    "{:<28} {:<9} {:<11} {:<7} {:>9}  {}",
                    x.id,
                    x.type_name,
                    x.origin,
                    if x.paused { "paused" } else { "reading" },
                    x.records,
                    x.include.join(" ")
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        LogsAction::Add {
            id,
            paths: include,
            exclude,
            from_beginning,
            json,
        } => act(
            c.post(
                paths::LOG_SOURCES,
                &api::AddLogSource {
                    id,
                    include,
                    exclude,
                    start_at: from_beginning.then(|| "beginning".to_string()),
                },
            ),
            json,
        ),
        LogsAction::Rm { id, json } => op(paths::LOG_SOURCES_REMOVE, id, json),
        LogsAction::Pause { id, json } => op(paths::LOG_SOURCES_PAUSE, id, json),
        LogsAction::Resume { id, json } => op(paths::LOG_SOURCES_RESUME, id, json),
        LogsAction::Tail {
            id,
            follow,
            seconds,
            json,
        } => {
            let until =
                seconds.map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
            let mut after = 0;
            let mut first = true;
            loop {
                let path = format!(
                    "{}?source={}&after={after}",
                    paths::LOG_TAIL,
                    api::encode_query(&id)
                );
                let t: api::Tail = match c.get(&path) {
                    Ok(t) => t,
                    Err(e) => return Ok(fail(&e)),
                };
                if t.missed > 0 && !json {
                    eprintln!("({} record(s) went by unread)", t.missed);
                }
                for l in &t.lines {
                    if json {
                        json_out(l)?;
                    } else {
                        out(&format!("{} {:<5} {}", clock(l.unix), l.severity, l.body))?;
                    }
                }
                after = t.next;
                if first && !follow && t.lines.is_empty() {
                    // the tap opens with this request: give the source a moment
                    first = false;
                    std::thread::sleep(std::time::Duration::from_secs(2));
                    continue;
                }
                if !follow || until.is_some_and(|u| std::time::Instant::now() >= u) {
                    return Ok(ExitCode::SUCCESS);
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        }
    }
}

/// `HH:MM:SS` (UTC) of a Unix time.
pub fn clock(unix: f64) -> String {
    let s = unix.max(0.0) as u64 % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `lookout log-level LEVEL [--for DURATION]`.
pub fn log_level(g: &Global, level: String, for_: &str, json: bool) -> anyhow::Result<ExitCode> {
    let secs = match lookout_config::Duration::parse(for_) {
        Ok(d) => d.0.as_secs().max(1),
        Err(e) => {
            eprintln!("error: --for {for_}: {e}");
            return Ok(ExitCode::from(super::EXIT_CONFIG));
        }
    };
    act(
        client(g).post(
            paths::LOG_LEVEL,
            &api::LogLevel {
                level,
                for_secs: secs,
            },
        ),
        json,
    )
}

/// `lookout config check|apply FILE`: validated by the running agent against what it runs.
pub fn config_change(
    g: &Global,
    file: &std::path::Path,
    apply: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let yaml = match std::fs::read_to_string(file) {
        Ok(y) => y,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return Ok(ExitCode::from(super::EXIT_CONFIG));
        }
    };
    let path = if apply {
        paths::CONFIG_APPLY
    } else {
        paths::CONFIG_CHECK
    };
    let r: api::ConfigCheck = match client(g).post(path, &api::ConfigChange { yaml, origin: None })
    {
        Ok(r) => r,
        Err(e) => return Ok(fail(&e)),
    };
    if json {
        json_out(&r)?;
    } else {
        if !r.diff.is_empty() {
            out(r.diff.trim_end())?;
        } else {
            out("no change")?;
        }
        match (&r.error, r.applied) {
            (Some(e), _) => out(&format!("invalid: {e}"))?,
            (None, true) => out(&format!(
                "applied: configuration {}",
                r.config_hash.as_deref().unwrap_or("")
            ))?,
            (None, false) => out("valid")?,
        }
    }
    Ok(if r.error.is_some() {
        ExitCode::from(super::EXIT_CONFIG)
    } else {
        ExitCode::SUCCESS
    })
}

/// `lookout config edit`: the running agent's file in `$VISUAL`/`$EDITOR`, validated and
/// applied after a look at the diff.
pub fn config_edit(g: &Global, yes: bool) -> anyhow::Result<ExitCode> {
    let c = client(g);
    let view: api::ConfigView = match c.get(paths::CONFIG) {
        Ok(v) => v,
        Err(e) => return Ok(fail(&e)),
    };
    if !view.editable {
        eprintln!(
            "error: this agent's configuration cannot be edited here ({})",
            view.path
                .as_deref()
                .unwrap_or("it runs the embedded default; start it with --config FILE")
        );
        return Ok(ExitCode::FAILURE);
    }
    let text = match lookout_tui::edit_text(&view.source_yaml) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}; nothing changed");
            return Ok(ExitCode::FAILURE);
        }
    };
    if text == view.source_yaml {
        out("no change")?;
        return Ok(ExitCode::SUCCESS);
    }
    let r: api::ConfigCheck = match c.post(
        paths::CONFIG_CHECK,
        &api::ConfigChange {
            yaml: text.clone(),
            origin: None,
        },
    ) {
        Ok(r) => r,
        Err(e) => return Ok(fail(&e)),
    };
    out(r.diff.trim_end())?;
    if let Some(e) = r.error {
        eprintln!("invalid, nothing applied: {e}");
        return Ok(ExitCode::from(super::EXIT_CONFIG));
    }
    if !yes {
        eprint!("apply it? [y/N] ");
        let mut a = String::new();
        std::io::stdin().read_line(&mut a)?;
        if !a.trim().eq_ignore_ascii_case("y") {
            out("not applied")?;
            return Ok(ExitCode::SUCCESS);
        }
    }
    config_apply_text(&c, text)
}

fn config_apply_text(c: &Client, yaml: String) -> anyhow::Result<ExitCode> {
    match c.post::<_, api::ConfigCheck>(
        paths::CONFIG_APPLY,
        &api::ConfigChange { yaml, origin: None },
    ) {
        Ok(r) if r.applied => {
            out(&format!(
                "applied: configuration {}",
                r.config_hash.unwrap_or_default()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(r) => {
            eprintln!("not applied: {}", r.error.unwrap_or_default());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Ok(fail(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0 GiB");
        assert_eq!(clock(3600.0 * 25.0 + 61.0), "01:01:01");
    }
}
