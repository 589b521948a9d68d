//! Logging with `tracing`: human text (coloured on a terminal) or JSON lines, on stderr.
//! Level: `RUST_LOG` if set, else `-v`/`-vv`, else the config's `log.level`. The level can be
//! changed while the agent runs ([`set_level`], the control API's `/v1/log-level`).

use lookout_config::{LogConfig, LogFormat};
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;

type Setter = Box<dyn Fn(EnvFilter) -> Result<(), String> + Send + Sync>;

/// The filter set at start, and how to replace the running one.
static RELOAD: OnceLock<(String, Setter)> = OnceLock::new();

const QUIET_DEPS: &str = "hyper=warn,reqwest=warn,h2=warn,rustls=warn";

/// The levels [`set_level`] accepts.
pub const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

/// Installs the global subscriber. Safe to call once.
pub fn init(cfg: &LogConfig, cli_format: Option<&str>, verbose: u8) {
    let level = match verbose {
        0 => cfg.level.as_str(),
        1 => "debug",
        _ => "trace",
    };
    let directive = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| EnvFilter::try_new(v).is_ok())
        .unwrap_or_else(|| format!("{level},{QUIET_DEPS}"));
    let filter = EnvFilter::new(&directive);
    let json = match cli_format {
        Some("json") => true,
        Some(_) => false,
        None => cfg.format == LogFormat::Json,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false);
    // the reloadable filter goes last: its handle's type names the whole formatter
    if json {
        let b = builder
            .json()
            .flatten_event(true)
            .with_env_filter(filter)
            .with_filter_reloading();
        let h = b.reload_handle();
        if b.try_init().is_ok() {
            let _ = RELOAD.set((
                directive,
                Box::new(move |f| h.reload(f).map_err(|e| e.to_string())),
            ));
        }
    } else {
        use std::io::IsTerminal;
        let b = builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_env_filter(filter)
            .with_filter_reloading();
        let h = b.reload_handle();
        if b.try_init().is_ok() {
            let _ = RELOAD.set((
                directive,
                Box::new(move |f| h.reload(f).map_err(|e| e.to_string())),
            ));
        }
    }
}

/// Sets the level of the agent's own logs (`None`: back to the one set at start).
pub fn set_level(level: Option<&str>) -> Result<(), String> {
    let (base, set) = RELOAD
        .get()
        .ok_or_else(|| "logging is not initialised".to_string())?;
    let directive = match level {
        Some(l) if LEVELS.contains(&l) => format!("{l},{QUIET_DEPS}"),
        Some(l) => {
            return Err(format!(
                "unknown level `{l}`: use one of {}",
                LEVELS.join(", ")
            ))
        }
        None => base.clone(),
    };
    let f = EnvFilter::try_new(&directive).map_err(|e| e.to_string())?;
    set(f)
}
