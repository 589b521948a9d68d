//! `lookout config history|diff|rollback` (the configuration history, `crate::history`) and
//! `lookout audit` (the audit log). Both read the data directory: no running agent needed,
//! except for a rollback to take effect at once.

use super::{out, Global, EXIT_CONFIG};
use crate::history::{self, Entry};
use lookout_api::{self as api, paths};
use std::process::ExitCode;

/// `2026-11-30 21:07:29Z`: a Unix time as a UTC date and time.
fn when(unix: f64) -> String {
    let nanos = (unix.max(0.0) * 1e9) as u64;
    lookout_sources::process::emit::iso8601(nanos).replacen('T', " ", 1)
}

/// `lookout config history`.
pub fn list(g: &Global, json: bool) -> anyhow::Result<ExitCode> {
    let dir = super::data_dir(g);
    let entries = match history::list(&dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let running = history::running(&entries).map(|e| e.version);
    if json {
        out(&serde_json::to_string(&serde_json::json!({
            "running": running,
            "entries": entries,
        }))?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        out(&format!(
            "no configuration history in {} yet (the agent records every configuration it loads)",
            dir.display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    out(&format!(
        "{:>4}  {:<20}  {:<12}  {:<9}  {}",
        "ver", "time", "sha256", "result", "origin"
    ))?;
    for e in &entries {
        let mark = if Some(e.version) == running { "*" } else { " " };
        out(&format!(
            "{:>3}{mark}  {:<20}  {:<12}  {:<9}  {}{}",
            e.version,
            when(e.unix),
            &e.sha256[..12.min(e.sha256.len())],
            e.result,
            e.origin,
            e.reason
                .as_deref()
                .map(|r| format!(": {}", r.lines().next().unwrap_or_default()))
                .unwrap_or_default()
        ))?;
    }
    out("* runs now")?;
    Ok(ExitCode::SUCCESS)
}

/// `lookout config diff A B`.
pub fn diff(g: &Global, a: u64, b: u64) -> anyhow::Result<ExitCode> {
    let dir = super::data_dir(g);
    let (ta, tb) = match (history::text(&dir, a), history::text(&dir, b)) {
        (Ok(x), Ok(y)) => (x.1, y.1),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    let d =
        crate::control::unified_diff(&ta, &tb, &format!("version {a}"), &format!("version {b}"));
    if d.is_empty() {
        out("no difference")?;
    } else {
        out(d.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `lookout config rollback [VERSION]`: the version's exact text becomes the configuration
/// file again; a running agent validates and applies it (and keeps the old one if it cannot
/// run).
pub fn rollback(g: &Global, version: Option<u64>, json: bool) -> anyhow::Result<ExitCode> {
    let dir = super::data_dir(g);
    let entries = history::list(&dir).unwrap_or_default();
    let target: Option<&Entry> = match version {
        Some(v) => entries.iter().find(|e| e.version == v),
        None => history::previous(&entries),
    };
    let Some(target) = target.cloned() else {
        eprintln!(
            "error: {}",
            match version {
                Some(v) => format!("no version {v} in the history (`lookout config history`)"),
                None => "no earlier applied configuration to roll back to".into(),
            }
        );
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    let text = match history::text(&dir, target.version) {
        Ok((_, t)) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    let origin = format!("rollback to {}", target.version);
    let client = super::ctl::client(g);
    if client.get::<api::Status>(paths::STATUS).is_ok() {
        let r: api::ConfigCheck = match client.post(
            paths::CONFIG_APPLY,
            &api::ConfigChange {
                yaml: text,
                origin: Some(origin),
            },
        ) {
            Ok(r) => r,
            Err(e) => return Ok(super::ctl::fail(&e)),
        };
        if json {
            out(&serde_json::to_string(&serde_json::json!({
                "version": target.version, "applied": r.applied, "config_hash": r.config_hash, "error": r.error,
            }))?)?;
        } else if let Some(e) = &r.error {
            eprintln!("error: version {} was not applied: {e}", target.version);
        } else {
            out(&format!(
                "rolled back to version {}: applied (configuration {})",
                target.version,
                r.config_hash.as_deref().unwrap_or("")
            ))?;
        }
        return Ok(if r.error.is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    // no agent: put the text back in its file, checked first
    let Some(path) = g
        .config
        .clone()
        .or_else(|| target.path.clone().map(Into::into))
    else {
        eprintln!(
            "error: version {} is the embedded default: run the agent without --config to use it",
            target.version
        );
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    if let Err(e) = lookout_config::load_str(
        &path.display().to_string(),
        &text,
        &g.set,
        &lookout_config::process_env,
    ) {
        eprintln!(
            "error: version {} does not validate any more: {e}",
            target.version
        );
        return Ok(ExitCode::from(EXIT_CONFIG));
    }
    let current = std::fs::read_to_string(&path).ok();
    crate::configfile::write(&path, &text, current.as_deref()).map_err(std::io::Error::other)?;
    crate::datadir::audit(
        &dir,
        "config",
        &format!(
            "{} rewritten with version {} (agent not running)",
            path.display(),
            target.version
        ),
    );
    if json {
        out(&serde_json::to_string(
            &serde_json::json!({"version": target.version, "applied": false, "written": path}),
        )?)?;
    } else {
        out(&format!(
            "{} holds version {} again; it applies when the agent starts",
            path.display(),
            target.version
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `lookout audit`: the audit log, oldest first.
pub fn audit(g: &Global, json: bool, kind: Option<&str>, last: usize) -> anyhow::Result<ExitCode> {
    let dir = super::data_dir(g);
    let path = dir.join("audit.log");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut rows: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| kind.is_none_or(|k| v["kind"] == k))
        .collect();
    if last > 0 && rows.len() > last {
        rows.drain(..rows.len() - last);
    }
    if json {
        for r in &rows {
            out(&r.to_string())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        out(&format!("nothing in {}", path.display()))?;
    }
    for r in rows {
        out(&format!(
            "{}  {:<14} uid {:<5} {}",
            when(r["unix"].as_f64().unwrap_or(0.0)),
            r["kind"].as_str().unwrap_or("?"),
            r["uid"]
                .as_u64()
                .map(|u| u.to_string())
                .unwrap_or_else(|| "?".into()),
            r["message"].as_str().unwrap_or("")
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(when(0.0), "1970-01-01 00:00:00Z");
        assert_eq!(when(951_782_400.0), "2000-02-29 00:00:00Z");
        assert_eq!(when(1_796_072_849.5), "2026-11-30 21:07:29Z");
    }
}
