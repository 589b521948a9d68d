//! `lookout status [--json]`: asks the running agent for its status: through its control
//! socket in the data directory, else its HTTP server's `/status` (found through `agent.json`).

use super::{out, Global, EXIT_NOT_RUNNING};
use crate::datadir;
use anyhow::Context;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

/// A minimal HTTP/1.0 GET against the agent's loopback server; returns (status code, body).
pub fn http_get(addr: &str, path: &str) -> anyhow::Result<(u16, String)> {
    let sock: std::net::SocketAddr = addr
        .parse()
        .with_context(|| format!("bad address {addr}"))?;
    let mut s = TcpStream::connect_timeout(&sock, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, body.to_string()))
}

fn not_running(dir: &std::path::Path, why: &str) -> ExitCode {
    eprintln!(
        "no lookout agent is running for the data directory {} ({why}); start one with `lookout run`",
        dir.display()
    );
    ExitCode::from(EXIT_NOT_RUNNING)
}

/// Entry point.
pub fn main(g: &Global, json: bool) -> anyhow::Result<ExitCode> {
    let dir = super::data_dir(g);
    // the control socket first (it exists even with the HTTP server off, as under
    // `policy.local_only`), else the HTTP server named in agent.json
    let control = lookout_api::Client::new(&dir)
        .with_timeout(std::time::Duration::from_secs(10))
        .raw("GET", lookout_api::paths::STATUS, None);
    let (code, body) = match control {
        Ok(x) => x,
        Err(_) => {
            let Some(info) = datadir::read_info(&dir) else {
                return Ok(not_running(&dir, "no control socket, no agent.json"));
            };
            match http_get(&info.server, "/status") {
                Ok(x) => x,
                Err(e) => {
                    return Ok(not_running(
                        &dir,
                        &format!("pid {} at {} does not answer: {e}", info.pid, info.server),
                    ))
                }
            }
        }
    };
    if code != 200 {
        anyhow::bail!("the agent answered HTTP {code}: {body}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&body).context("the agent sent invalid JSON")?;
    if json {
        out(&v.to_string())?;
        return Ok(ExitCode::SUCCESS);
    }
    let healthy = v["healthy"].as_bool().unwrap_or(false);
    out(&format!(
        "lookout {}  pid {}  {}  up {:.0}s  config {} ({})",
        v["version"].as_str().unwrap_or("?"),
        v["pid"],
        if healthy { "healthy" } else { "UNHEALTHY" },
        v["uptime_secs"].as_f64().unwrap_or(0.0),
        v["config_hash"].as_str().unwrap_or("?"),
        v["config_origin"].as_str().unwrap_or("?"),
    ))?;
    if let (Some(cpu), Some(rss)) = (
        v["process"]["cpu_seconds"].as_f64(),
        v["process"]["rss_bytes"].as_u64(),
    ) {
        out(&format!(
            "process: {cpu:.2} CPU seconds, {:.1} MiB resident",
            rss as f64 / 1048576.0
        ))?;
    }
    out(&format!(
        "{:<10} {:<20} {:<14} {:>10} {:>10} {:>8} {:>7}  {}",
        "KIND", "ID", "TYPE", "RECEIVED", "SENT", "DROPPED", "ERRORS", "STATE"
    ))?;
    for c in v["components"].as_array().into_iter().flatten() {
        let state = if !c["healthy"].as_bool().unwrap_or(true) {
            "unhealthy"
        } else if c["failing"].as_bool().unwrap_or(false) {
            "failing"
        } else {
            "ok"
        };
        out(&format!(
            "{:<10} {:<20} {:<14} {:>10} {:>10} {:>8} {:>7}  {}",
            c["kind"].as_str().unwrap_or(""),
            c["id"].as_str().unwrap_or(""),
            c["type"].as_str().unwrap_or(""),
            c["received_items"].as_u64().unwrap_or(0),
            c["sent_items"].as_u64().unwrap_or(0),
            c["dropped_items"].as_u64().unwrap_or(0),
            c["errors"].as_u64().unwrap_or(0),
            state
        ))?;
        if let Some(e) = c["last_error"].as_str() {
            out(&format!("           last error: {e}"))?;
        }
    }
    for st in v["stores"].as_array().into_iter().flatten() {
        out(&format!(
            "store: {} ({:.1} MiB on disk, {} rows deleted for age, {} for size)",
            st["path"].as_str().unwrap_or("?"),
            st["disk_bytes"].as_u64().unwrap_or(0) as f64 / 1048576.0,
            st["rows_expired"].as_u64().unwrap_or(0),
            st["rows_evicted"].as_u64().unwrap_or(0),
        ))?;
    }
    if v["autoconfig"]["enabled"].as_bool() == Some(true) {
        let sources: Vec<&str> = v["autoconfig"]["sources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str())
            .collect();
        out(&format!(
            "autoconfig: {} discovered source(s){}{}",
            sources.len(),
            if sources.is_empty() { "" } else { ": " },
            sources.join(", ")
        ))?;
        for c in v["autoconfig"]["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .take(5)
        {
            out(&format!("  {}", c["change"].as_str().unwrap_or("")))?;
        }
    }
    let k = &v["kubernetes"];
    if !k.is_null() {
        out(&format!(
            "kubernetes: node {} ({}): {} pod(s), {} collected, {} not running, {} skipped{}",
            k["node"].as_str().unwrap_or("?"),
            k["state"].as_str().unwrap_or("?"),
            k["pods"].as_u64().unwrap_or(0),
            k["collected"].as_u64().unwrap_or(0),
            k["not_running"].as_u64().unwrap_or(0),
            k["skipped"].as_array().map_or(0, Vec::len),
            k["last_error"]
                .as_str()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        ))?;
        for s in k["sources"].as_array().into_iter().flatten() {
            out(&format!("  source {}", s.as_str().unwrap_or("")))?;
        }
        for s in k["skipped"].as_array().into_iter().flatten() {
            out(&format!("  skipped {}", s.as_str().unwrap_or("")))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
