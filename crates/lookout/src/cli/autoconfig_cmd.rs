//! `lookout autoconfig apply|disable|set|list SERVICE`: the operator's say over what
//! auto-configuration collects, and how. `disable` records the service (its source id, or its
//! instance name such as `redis@127.0.0.1:6380`) in `<data_dir>/autoconfig.json`; `apply`
//! removes it from there, so the service is collected again; `set` changes its metrics interval
//! and adds attributes. A running agent with `autoconfig.enabled` follows at its next scan;
//! `lookout preview` shows the effect at once. `list` prints the disabled services and settings.

use super::out;
use crate::autoconf::{Overrides, ServiceOverride};
use std::process::ExitCode;

/// `lookout autoconfig ...`
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Collect SERVICE again (undo `disable`).
    Apply {
        /// Source id (`auto_redis_127_0_0_1_6380`) or instance (`redis@127.0.0.1:6380`).
        service: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Stop collecting SERVICE (and its log files), across re-discovery.
    Disable {
        /// Source id (`auto_redis_127_0_0_1_6380`) or instance (`redis@127.0.0.1:6380`).
        service: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Change a service's settings (kept across re-discovery): its metrics interval, extra
    /// attributes on everything it reports.
    Set {
        /// Source id (`auto_redis_127_0_0_1_6380`) or instance (`redis@127.0.0.1:6380`).
        service: String,
        /// Collection interval of its metrics (`30s`).
        #[arg(long)]
        interval: Option<String>,
        /// An extra attribute, `KEY=VALUE` (repeatable).
        #[arg(long = "attribute", value_name = "KEY=VALUE")]
        attributes: Vec<String>,
        /// Remove an attribute set earlier (repeatable).
        #[arg(long = "unset-attribute", value_name = "KEY")]
        unset_attributes: Vec<String>,
        /// Forget every setting of the service (the template's apply again).
        #[arg(long)]
        reset: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The disabled services and the services' settings.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn id_of(service: &str) -> String {
    if service.starts_with("auto_") {
        service.to_string()
    } else {
        lookout_discovery::render::source_id(service)
    }
}

/// Runs the command.
pub fn main(g: &super::Global, action: Action) -> anyhow::Result<ExitCode> {
    let dir = super::data_dir(g);
    let mut o = match Overrides::load(&dir) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let (json, what, id) = match &action {
        Action::Apply { service, json } => (*json, "apply", Some(id_of(service))),
        Action::Disable { service, json } => (*json, "disable", Some(id_of(service))),
        Action::List { json } => (*json, "list", None),
        Action::Set {
            service,
            interval,
            attributes,
            unset_attributes,
            reset,
            json,
        } => {
            let id = id_of(service);
            return set(
                &dir,
                o,
                &id,
                interval.as_deref(),
                attributes,
                unset_attributes,
                *reset,
                *json,
            );
        }
    };
    if let Some(id) = &id {
        let changed = if what == "disable" {
            o.disabled.insert(id.clone())
        } else {
            o.disabled.remove(id)
        };
        if changed {
            if let Err(e) = o.save(&dir) {
                eprintln!("error: {e}");
                return Ok(ExitCode::FAILURE);
            }
        }
        if json {
            out(&serde_json::json!({"action": what, "source": id, "changed": changed, "disabled": o.disabled}).to_string())?;
        } else if what == "disable" {
            out(&format!(
                "{id}: disabled{} (a running agent stops collecting it at its next scan)",
                if changed { "" } else { " already" }
            ))?;
        } else {
            out(&format!(
                "{id}: collected{} (a running agent starts at its next scan)",
                if changed { " again" } else { " already" }
            ))?;
        }
    } else if json {
        out(&serde_json::json!({"disabled": o.disabled, "services": o.services}).to_string())?;
    } else if o.disabled.is_empty() && o.services.is_empty() {
        out("no service is disabled and no service has settings of its own")?;
    } else {
        for d in &o.disabled {
            out(&format!("disabled: {d}"))?;
        }
        for (id, s) in &o.services {
            out(&format!("{id}: {}", describe(s)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(s: &ServiceOverride) -> String {
    let mut parts = Vec::new();
    if let Some(i) = s.interval {
        parts.push(format!("interval {i}"));
    }
    for (k, v) in &s.attributes {
        parts.push(format!("{k}={v}"));
    }
    if parts.is_empty() {
        "template settings".into()
    } else {
        parts.join(", ")
    }
}

#[allow(clippy::too_many_arguments)]
fn set(
    dir: &std::path::Path,
    mut o: Overrides,
    id: &str,
    interval: Option<&str>,
    attributes: &[String],
    unset: &[String],
    reset: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut s = if reset {
        ServiceOverride::default()
    } else {
        o.services.get(id).cloned().unwrap_or_default()
    };
    if let Some(text) = interval {
        match lookout_config::Duration::parse(text) {
            Ok(d) if d.0 >= std::time::Duration::from_millis(100) => s.interval = Some(d),
            Ok(d) => {
                eprintln!("error: --interval {d} is too short: use at least 100ms");
                return Ok(ExitCode::from(2));
            }
            Err(e) => {
                eprintln!("error: --interval: {e}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    for a in attributes {
        match a.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                s.attributes.insert(k.trim().to_string(), v.to_string());
            }
            _ => {
                eprintln!("error: --attribute `{a}`: write KEY=VALUE");
                return Ok(ExitCode::from(2));
            }
        }
    }
    for k in unset {
        s.attributes.remove(k);
    }
    if s.is_empty() {
        o.services.remove(id);
    } else {
        o.services.insert(id.to_string(), s.clone());
    }
    if let Err(e) = o.save(dir) {
        eprintln!("error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    if json {
        out(&serde_json::json!({"action": "set", "source": id, "settings": s}).to_string())?;
    } else {
        out(&format!(
            "{id}: {} (a running agent applies it at its next scan)",
            describe(&s)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
