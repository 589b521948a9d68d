//! The checks a changed configuration passes before it replaces the running pipeline (on
//! SIGHUP, `config apply`, a rollback or a remote configuration; not at start, where the agent
//! must run whatever is down, nor for discovery's own changes):
//!
//! - every new or changed `otlp_http` sink can connect (to its proxy when it has one);
//! - every new or changed integration source answers one collection: data flows from it.
//!
//! A failed check rejects the configuration with its reason; the running pipeline is not
//! touched. `apply: {checks: false}` turns them off, `apply.timeout` bounds each one.

use lookout_config::{Config, SinkKind};
use std::time::Duration;

/// Runs the checks of `new` against what runs now; the names of the checks passed, or why
/// the configuration is refused.
pub async fn check(new: &Config, current: &Config) -> Result<Vec<String>, String> {
    if !new.settings.apply.checks {
        return Ok(Vec::new());
    }
    let limit = new.settings.apply.timeout.0.max(Duration::from_millis(100));
    let mut passed = Vec::new();
    for s in &new.sinks {
        if current.sinks.iter().any(|c| c == s) {
            continue;
        }
        if let SinkKind::OtlpHttp(c) = &s.kind {
            let target = c.proxy.as_ref().map(|p| &p.0).unwrap_or(&c.endpoint.0);
            let host = target
                .host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .to_string();
            let port = target.port_or_known_default().unwrap_or(443);
            let what = if c.proxy.is_some() {
                "its proxy"
            } else {
                "its endpoint"
            };
            match tokio::time::timeout(limit, tokio::net::TcpStream::connect((host.as_str(), port)))
                .await
            {
                Ok(Ok(_)) => passed.push(format!(
                    "sink {}: {what} {host}:{port} accepts connections",
                    s.id
                )),
                Ok(Err(e)) => {
                    return Err(format!(
                        "sink `{}` cannot connect to {what} {host}:{port}: {e}",
                        s.id
                    ))
                }
                Err(_) => {
                    return Err(format!(
                        "sink `{}` cannot connect to {what} {host}:{port} within {limit:?}",
                        s.id
                    ))
                }
            }
        }
    }
    for s in &new.sources {
        if current.sources.iter().any(|c| c == s) {
            continue;
        }
        let Some(service) = crate::cli::integration_service(&s.kind) else {
            continue;
        };
        let integration = lookout_integrations::Integration::new(service, &[])
            .map_err(|e| format!("source `{}`: {e}", s.id))?;
        let mut state = lookout_integrations::CollectState::default();
        match tokio::time::timeout(limit, integration.collect(&mut state)).await {
            Ok(Ok(batch)) if batch.item_count() > 0 => passed.push(format!(
                "source {}: {} series from {}",
                s.id,
                batch.item_count(),
                integration.service().endpoint()
            )),
            Ok(Ok(_)) => {
                return Err(format!(
                    "source `{}` yields no data from {}",
                    s.id,
                    integration.service().endpoint()
                ))
            }
            Ok(Err(e)) => return Err(format!("source `{}` yields no data: {e}", s.id)),
            Err(_) => return Err(format!("source `{}` yields no data within {limit:?}", s.id)),
        }
    }
    Ok(passed)
}
