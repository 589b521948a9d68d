//! `lookout processes [--top N] [--sort cpu|mem|io] [--tree] [--json] [--local]`: the top
//! processes, from the running agent's `/processes` when it runs a `process_metrics` source,
//! otherwise from two quick local samples 500 ms apart (CPU needs two).

use super::{out, Global};
use crate::datadir;
use lookout_config::ProcessMetricsConfig;
use lookout_sources::process::scan::{ProcessInfo, Scanner, Snapshot};
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

/// Options of the command.
pub struct Options {
    /// How many by CPU and by memory.
    pub top: usize,
    /// cpu, mem or io.
    pub sort: String,
    /// Tree view.
    pub tree: bool,
    /// JSON output.
    pub json: bool,
    /// Never ask the agent.
    pub local: bool,
    /// Time between the two local samples.
    pub sample_ms: u64,
}

fn from_agent(g: &Global) -> Option<(Snapshot, String)> {
    // the control API, as the terminal UI reads it
    let dir = super::data_dir(g);
    let client = lookout_api::Client::new(&dir).with_timeout(Duration::from_secs(5));
    let (code, body) = client
        .raw("GET", lookout_api::paths::PROCESSES, None)
        .ok()?;
    if code != 200 {
        return None;
    }
    let snap: Snapshot = serde_json::from_str(&body).ok()?;
    let pid = datadir::read_info(&dir).map_or(0, |i| i.pid);
    Some((snap, format!("agent pid {pid}")))
}

fn local(top: usize, sample: Duration) -> anyhow::Result<Snapshot> {
    let cfg = ProcessMetricsConfig {
        top_n: top,
        lifecycle_events: false,
        ..Default::default()
    };
    let mut scanner = Scanner::new(cfg);
    scanner.scan()?;
    std::thread::sleep(sample);
    Ok(scanner.scan()?)
}

fn io(p: &ProcessInfo) -> u64 {
    p.disk_read_bytes.unwrap_or(0) + p.disk_write_bytes.unwrap_or(0)
}

fn mib(b: u64) -> String {
    format!("{:.1}", b as f64 / 1048576.0)
}

fn row(p: &ProcessInfo, indent: usize) -> String {
    let cmd = if p.command_line.is_empty() {
        format!("[{}]", p.name)
    } else {
        p.command_line.clone()
    };
    let cmd: String = format!("{}{}", "  ".repeat(indent), cmd)
        .chars()
        .take(80)
        .collect();
    format!(
        "{:>7} {:>7} {:<10} {:>1} {:>6} {:>9} {:>9} {:>4} {:>5} {:<12} {}",
        p.pid,
        p.ppid,
        p.owner
            .as_deref()
            .unwrap_or("?")
            .chars()
            .take(10)
            .collect::<String>(),
        p.state,
        p.cpu_cores
            .map_or("-".to_string(), |c| format!("{:.1}", c * 100.0)),
        mib(p.rss_bytes),
        mib(p.vms_bytes),
        p.threads,
        p.open_fds.map_or("-".to_string(), |f| f.to_string()),
        p.service
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(12)
            .collect::<String>(),
        cmd
    )
}

/// Entry point.
pub fn main(g: &Global, o: Options) -> anyhow::Result<ExitCode> {
    let (mut snap, source) = match (!o.local).then(|| from_agent(g)).flatten() {
        Some(x) => x,
        None => (
            local(o.top, Duration::from_millis(o.sample_ms.max(10)))?,
            "local sample".to_string(),
        ),
    };
    match o.sort.as_str() {
        "mem" => snap
            .reported
            .sort_by_key(|p| std::cmp::Reverse(p.rss_bytes)),
        "io" => snap.reported.sort_by_key(|p| std::cmp::Reverse(io(p))),
        _ => snap.reported.sort_by(|a, b| {
            b.cpu_cores
                .unwrap_or(0.0)
                .total_cmp(&a.cpu_cores.unwrap_or(0.0))
                .then(b.rss_bytes.cmp(&a.rss_bytes))
        }),
    }
    if o.json {
        out(&serde_json::to_string(&snap)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    out(&format!(
        "{} processes, {} reported ({source}); %CPU is of one core, memory in MiB",
        snap.processes,
        snap.reported.len()
    ))?;
    out(&format!(
        "{:>7} {:>7} {:<10} {:>1} {:>6} {:>9} {:>9} {:>4} {:>5} {:<12} {}",
        "PID", "PPID", "USER", "S", "%CPU", "RSS", "VIRT", "THR", "FDS", "SERVICE", "COMMAND"
    ))?;
    if o.tree {
        let pids: HashMap<u32, usize> = snap
            .reported
            .iter()
            .enumerate()
            .map(|(i, p)| (p.pid, i))
            .collect();
        let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut roots = Vec::new();
        for (i, p) in snap.reported.iter().enumerate() {
            if pids.contains_key(&p.ppid) && p.ppid != p.pid {
                children.entry(p.ppid).or_default().push(i);
            } else {
                roots.push(i);
            }
        }
        let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
        let mut printed = 0;
        while let Some((i, depth)) = stack.pop() {
            let p = &snap.reported[i];
            out(&row(p, depth))?;
            printed += 1;
            if printed > snap.reported.len() {
                break; // defensive: a pid cycle cannot loop forever
            }
            for c in children.get(&p.pid).into_iter().flatten().rev() {
                stack.push((*c, depth + 1));
            }
        }
    } else {
        for p in &snap.reported {
            out(&row(p, 0))?;
        }
    }
    if !snap.services.is_empty() {
        out("")?;
        out("services (with descendants):")?;
        for s in &snap.services {
            out(&format!(
                "  {:<16} {:>4} processes  {:>6.1} %CPU  {:>9} MiB",
                s.name,
                s.processes,
                s.cpu_cores * 100.0,
                mib(s.rss_bytes)
            ))?;
        }
    }
    if snap.unreadable > 0 {
        out(&format!(
            "\n{} reported process(es) could not be read fully (owned by other users): run as root or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH",
            snap.unreadable
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
