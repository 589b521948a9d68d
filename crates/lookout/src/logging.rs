//! Logging with `tracing`: human text (coloured on a terminal) or JSON lines, on stderr.
//! Level: `RUST_LOG` if set, else `-v`/`-vv`, else the config's `log.level`.

use lookout_config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call once.
pub fn init(cfg: &LogConfig, cli_format: Option<&str>, verbose: u8) {
    let level = match verbose {
        0 => cfg.level.as_str(),
        1 => "debug",
        _ => "trace",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| {
            EnvFilter::new(format!(
                "{level},hyper=warn,reqwest=warn,h2=warn,rustls=warn"
            ))
        });
    let json = match cli_format {
        Some("json") => true,
        Some(_) => false,
        None => cfg.format == LogFormat::Json,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        use std::io::IsTerminal;
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}
