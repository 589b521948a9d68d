//! `lookout autoconfig apply|disable SERVICE`: the operator's say over what auto-configuration
//! collects. `disable` records the service (its source id, or its instance name such as
//! `redis@127.0.0.1:6380`) in `<data_dir>/autoconfig.json`; `apply` removes it from there, so
//! the service is collected again. A running agent with `autoconfig.enabled` follows at its next
//! scan; `lookout preview` shows the effect at once. `list` prints the disabled services.

use super::out;
use crate::autoconf::Overrides;
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
    /// The disabled services.
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
    };
    if let Some(id) = &id {
        let changed = if what == "disable" {
            o.disabled.insert(id.clone())
        } else {
            o.disabled.remove(id)
        };
        if changed {
            if let Err(e) = crate::datadir::ensure(&dir)
                .map_err(|e| e.to_string())
                .and_then(|()| o.save(&dir))
            {
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
        out(&serde_json::json!({"disabled": o.disabled}).to_string())?;
    } else if o.disabled.is_empty() {
        out("no service is disabled")?;
    } else {
        for d in &o.disabled {
            out(&format!("disabled: {d}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
