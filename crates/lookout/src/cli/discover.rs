//! `lookout discover`: scans the host and prints the services found, with their confidence
//! and the reasons for it (see `lookout_discovery::correlate` for the weights).

use super::{load_config, out, Global};
use lookout_discovery::correlate::{correlate, THRESHOLD};
use lookout_discovery::scan::{scan, ScanOptions};
use std::process::ExitCode;

/// The node's annotated pods, listed once (`kubernetes:` enabled): the instances, and what was
/// skipped or failed.
fn pods(
    cfg: &lookout_config::KubernetesConfig,
) -> (serde_json::Value, Vec<lookout_discovery::Service>) {
    let listed = crate::kubernetes::Lister::new(cfg).and_then(|l| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let list = rt.block_on(l.list())?;
        Ok((l.node().to_string(), list))
    });
    match listed {
        Ok((node, list)) => {
            let f = crate::kubernetes::found(&list, &node, &cfg.allowed_secrets);
            (
                serde_json::json!({"node": node, "pods": f.pods, "not_running": f.not_running,
                                   "skipped": f.skipped, "sources": f.discovered.ids()}),
                f.discovered.services,
            )
        }
        Err(e) => (serde_json::json!({"error": e}), Vec::new()),
    }
}

/// Runs the command.
pub fn main(g: &Global, json: bool) -> anyhow::Result<ExitCode> {
    let config = match load_config(g, None) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let root = config.settings.host.root.clone();
    let started = std::time::Instant::now();
    let cpu = super::cpu_time();
    let host = scan(&ScanOptions {
        root: root.clone(),
        ..ScanOptions::default()
    });
    let mut services = correlate(&host, &root);
    let took = started.elapsed();
    let cpu = super::cpu_time().saturating_sub(cpu);
    let kubernetes = if config.settings.kubernetes.enabled {
        let (k, found) = pods(&config.settings.kubernetes);
        services.extend(found);
        k
    } else {
        serde_json::Value::Null
    };
    if json {
        out(&serde_json::json!({
            "threshold": THRESHOLD,
            "scan_ms": took.as_secs_f64() * 1000.0,
            "scan_cpu_ms": cpu.as_secs_f64() * 1000.0,
            "processes": host.processes.len(),
            "listeners": host.listeners.len(),
            "services": services.iter().map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["configured"] = serde_json::Value::Bool(s.configured());
                v
            }).collect::<Vec<_>>(),
            "limits": host.limits,
            "kubernetes": kubernetes,
        })
        .to_string())?;
        return Ok(ExitCode::SUCCESS);
    }
    out(&format!(
        "{:<11} {:<34} {:>7} {:<5} {}",
        "SERVICE", "INSTANCE", "PID", "CONF", "PACKAGE"
    ))?;
    for s in &services {
        let pkg = s
            .package
            .as_ref()
            .map(|p| format!("{} {}", p.name, p.version))
            .unwrap_or_else(|| "-".into());
        out(&format!(
            "{:<11} {:<34} {:>7} {:<5} {}{}",
            s.kind.as_str(),
            s.instance,
            s.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            format!("{:.2}", s.confidence),
            pkg,
            if s.configured() {
                ""
            } else {
                "  (below threshold: not configured)"
            }
        ))?;
        if !s.listens.is_empty() {
            out(&format!("    listens: {}", s.listens.join(", ")))?;
        }
        if let Some(c) = &s.config {
            if let Some(p) = &c.path {
                out(&format!("    config:  {}", p.display()))?;
            }
            for l in &c.logs {
                out(&format!(
                    "    log:     {} ({}, parser {})",
                    l.path.display(),
                    l.kind,
                    l.parser
                ))?;
            }
        }
        out(&format!("    why:     {}", s.reasons.join("; ")))?;
        for l in &s.limits {
            out(&format!("    not seen: {l}"))?;
        }
    }
    for l in &host.limits {
        out(&format!("note: {l}"))?;
    }
    if let Some(e) = kubernetes["error"].as_str() {
        out(&format!("kubernetes: {e}"))?;
    }
    for s in kubernetes["skipped"].as_array().into_iter().flatten() {
        out(&format!("kubernetes: skipped {}", s.as_str().unwrap_or("")))?;
    }
    out(&format!(
        "{} service(s), {} configured (threshold {THRESHOLD}); scan {:.1} ms ({:.1} ms CPU)",
        services.len(),
        services.iter().filter(|s| s.configured()).count(),
        took.as_secs_f64() * 1000.0,
        cpu.as_secs_f64() * 1000.0
    ))?;
    Ok(ExitCode::SUCCESS)
}
