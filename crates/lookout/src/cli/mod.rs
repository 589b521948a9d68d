//! Command-line interface: one module per subcommand.

mod autoconfig_cmd;
mod bundle;
mod check;
mod config_cmd;
mod ctl;
mod diagnose;
pub use diagnose::service_of as integration_service;
mod discover;
mod dlq;
mod history_cmd;
mod migrate;
mod preview;
mod processes;
mod query;
mod redact_cmd;
mod release_cmd;
pub mod run;
mod secrets_cmd;
mod sign_cmd;
mod statsd_cmd;
pub mod status;
mod tui_cmd;

use clap::{Args as ClapArgs, CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for an invalid configuration or usage.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code when no agent runs.
pub const EXIT_NOT_RUNNING: u8 = 3;

/// lookout: a Linux host telemetry agent.
#[derive(Debug, Parser)]
#[command(name = "lookout", version, about, long_about = None)]
pub struct Args {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options shared by every subcommand.
#[derive(Debug, Clone, ClapArgs)]
pub struct Global {
    /// Config file (YAML). Without it the embedded default is used.
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "LOOKOUT_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Override a config value: --set key.path=value (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// State directory (default: /var/lib/lookout as root, else $XDG_STATE_HOME/lookout).
    #[arg(long, global = true, env = "LOOKOUT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log format: text or json (default: text, or the config's log.format).
    #[arg(long, global = true, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    /// More logging (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent (the default).
    Run,
    /// Show the running agent's status.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Check this host and the configuration; print PASS/WARN/FAIL with a fix for each.
    Diagnose {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Write a support bundle (`.tar.gz`: configuration, checks, status, self-metrics,
        /// recent logs, host facts; secrets scrubbed) to FILE instead.
        #[arg(long, value_name = "FILE")]
        bundle: Option<PathBuf>,
    },
    /// Find the services running on this host (processes, listening sockets, configs,
    /// packages), with a confidence and the reasons for it; with `kubernetes:` enabled in the
    /// configuration, also this node's pods annotated for collection.
    Discover {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Choose what auto-configuration collects: `disable` a discovered service (kept across
    /// re-discovery), `apply` it again, `list` the disabled ones.
    Autoconfig {
        /// What to do.
        #[command(subcommand)]
        action: autoconfig_cmd::Action,
    },
    /// The configuration auto-configuration would run: yours plus a source per discovered
    /// service and log file (secrets masked), and what it adds.
    Preview {
        /// Machine-readable output (the YAML in `config`).
        #[arg(long)]
        json: bool,
    },
    /// Validate or show the configuration.
    Config {
        /// What to do.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Show the top processes (from the running agent, or two quick local samples).
    Processes {
        /// How many processes by CPU and by memory.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Sort order.
        #[arg(long, default_value = "cpu", value_parser = ["cpu", "mem", "io"])]
        sort: String,
        /// Show parent/child relationships.
        #[arg(long)]
        tree: bool,
        /// Machine-readable output (the whole snapshot).
        #[arg(long)]
        json: bool,
        /// Sample locally even if an agent is running.
        #[arg(long)]
        local: bool,
        /// Time between the two local samples, in milliseconds.
        #[arg(long, default_value_t = 500)]
        sample_ms: u64,
    },
    /// The dead-letter directory: list, show, replay or purge batches a sink gave up on.
    Dlq {
        /// What to do.
        #[command(subcommand)]
        action: dlq::Action,
    },
    /// Try redaction rules on a sample (standard input) before they go into the configuration.
    Redact {
        /// What to do.
        #[command(subcommand)]
        action: redact_cmd::Action,
    },
    /// Run one collection of one integration (redis, nginx, apache, mysql, postgresql, or a
    /// configured source id)
    /// and print what it collected, or why it could not.
    Check(check::Options),
    /// StatsD/DogStatsD tools.
    Statsd {
        /// What to do.
        #[command(subcommand)]
        action: statsd_cmd::Action,
    },
    /// Read-only SQL on the local store (a running agent's, or the file when it is stopped);
    /// `--saved NAME` runs a saved query.
    Query(query::Options),
    /// The terminal UI: every screen of the running agent (overview, processes, pipeline,
    /// services, logs, config, diagnostics); with no agent and no configuration, the guided
    /// first run.
    Tui {
        /// No colours (also when NO_COLOR is set).
        #[arg(long)]
        no_color: bool,
    },
    /// The host's latest figures from the running agent (CPU, memory, load, disk, network).
    Host {
        /// Machine-readable output (the recent samples).
        #[arg(long)]
        json: bool,
    },
    /// Every pipeline component of the running agent: counts, errors, queues, circuit breakers.
    Pipeline {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The services discovered on this host: list, enable, disable, preview.
    Services {
        /// What to do (default: list).
        #[command(subcommand)]
        action: Option<ctl::ServicesAction>,
    },
    /// Log sources of the running agent: list, add, remove, pause, resume, tail.
    Logs {
        /// What to do (default: sources).
        #[command(subcommand)]
        action: Option<ctl::LogsAction>,
    },
    /// Change the running agent's log level for a while (`reset`: the configured one).
    LogLevel {
        /// error, warn, info, debug, trace, or reset.
        level: String,
        /// For how long.
        #[arg(long = "for", default_value = "10m")]
        for_: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The local encrypted secret store: `set NAME` (value from standard input), `list`, `rm
    /// NAME`; `${secret:NAME}` in the configuration refers to them.
    Secrets {
        /// What to do.
        #[command(subcommand)]
        action: secrets_cmd::Action,
    },
    /// Move this host from the New Relic Infrastructure agent to lookout: convert its
    /// configuration (`--dry-run` shows the report), run lookout beside it, compare, then stop
    /// it; `--rollback` restores it.
    MigrateInfra(migrate::Opts),
    /// The audit log: configuration changes, secret accesses, refused clients, migrations.
    Audit {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Only this kind (config, secret, control, migrate-infra...).
        #[arg(long)]
        kind: Option<String>,
        /// Only the last N entries (0: all).
        #[arg(long, default_value_t = 0)]
        last: usize,
    },
    /// Release signatures: `sign SHA256SUMS --key K`, `verify DIR --trust K.pub`.
    Release {
        /// What to do.
        #[command(subcommand)]
        action: release_cmd::Action,
    },
    /// Print the version.
    Version {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `lookout config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Check a config file (or --config, or the embedded default); exit 2 if invalid.
    Validate {
        /// The file to check (overrides --config).
        file: Option<PathBuf>,
    },
    /// Print the effective configuration, secrets masked.
    Show {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate FILE as the running agent's new configuration and print the diff from its
    /// current file (nothing applied).
    Check {
        /// The new configuration.
        file: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Make FILE the running agent's configuration: validated, written over its file, applied
    /// (the old file is put back if the new one cannot run).
    Apply {
        /// The new configuration.
        file: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Edit the running agent's configuration in $VISUAL/$EDITOR; validated, the diff shown,
    /// applied when confirmed.
    Edit {
        /// Apply without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Every configuration the agent loaded: version, time, content hash, origin, result.
    History {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Make an operator key pair for signing configurations: ID.key (private, 0600), ID.pub
    /// (for the agents' trusted keys) and ID.pub.pem.
    Keygen {
        /// The key's id (signatures name it; rotate by adding a new id).
        #[arg(long)]
        key_id: String,
        /// ecdsa-p256 or ed25519.
        #[arg(long, default_value = "ecdsa-p256")]
        algorithm: String,
        /// Where to write the files.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Sign a configuration file's exact bytes with a version, an expiry and the hosts it is
    /// for; writes FILE.sig.
    Sign {
        /// The configuration.
        file: PathBuf,
        /// The private key (from `config keygen`).
        #[arg(long)]
        key: PathBuf,
        /// The configuration's version: agents refuse one not newer than what they run.
        #[arg(long = "config-version")]
        version: u64,
        /// How long it is valid.
        #[arg(long, default_value = "7d")]
        expires: String,
        /// Host-name globs it is for (comma-separated or repeated; none: every host).
        #[arg(long)]
        hosts: Vec<String>,
        /// Where to write the signature (default: FILE.sig).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Check a signed configuration as an agent would.
    Verify {
        /// The configuration.
        file: PathBuf,
        /// Its signature (default: FILE.sig).
        #[arg(long)]
        signature: Option<PathBuf>,
        /// Trusted public keys (ID.pub), repeatable.
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// The host name to check against (default: this host's).
        #[arg(long)]
        host: Option<String>,
        /// The version the agent runs (a signature must be newer).
        #[arg(long, default_value_t = 0)]
        running_version: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The difference between two versions of the history.
    Diff {
        /// The older version.
        a: u64,
        /// The newer version.
        b: u64,
    },
    /// Make a version of the history the configuration again (default: the one before the
    /// running one); a running agent validates and applies it.
    Rollback {
        /// The version (`lookout config history`).
        version: Option<u64>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a parsed command line.
pub fn dispatch(args: Args) -> anyhow::Result<ExitCode> {
    let g = args.global;
    // `${secret:NAME}` in any configuration this process reads
    secrets_cmd::install_resolver(&g);
    match args.command.unwrap_or(Command::Run) {
        Command::Run => run::main(&g),
        Command::Status { json } => status::main(&g, json),
        Command::Diagnose {
            bundle: Some(f), ..
        } => bundle::main(&g, &f),
        Command::Diagnose { json, bundle: None } => diagnose::main(&g, json),
        Command::Discover { json } => discover::main(&g, json),
        Command::Preview { json } => preview::main(&g, json),
        Command::Query(o) => query::main(&g, o),
        Command::Autoconfig { action } => autoconfig_cmd::main(&g, action),
        Command::Config { action } => match action {
            ConfigAction::Validate { file } => config_cmd::validate(&g, file),
            ConfigAction::Show { json } => config_cmd::show(&g, json),
            ConfigAction::Check { file, json } => ctl::config_change(&g, &file, false, json),
            ConfigAction::Apply { file, json } => ctl::config_change(&g, &file, true, json),
            ConfigAction::Edit { yes } => ctl::config_edit(&g, yes),
            ConfigAction::History { json } => history_cmd::list(&g, json),
            ConfigAction::Keygen {
                key_id,
                algorithm,
                out,
                json,
            } => sign_cmd::keygen(&key_id, &algorithm, &out, json),
            ConfigAction::Sign {
                file,
                key,
                version,
                expires,
                hosts,
                out,
                json,
            } => sign_cmd::sign(&file, &key, version, &expires, &hosts, out, json),
            ConfigAction::Verify {
                file,
                signature,
                trust,
                host,
                running_version,
                json,
            } => sign_cmd::verify(&file, signature, &trust, host, running_version, json),
            ConfigAction::Diff { a, b } => history_cmd::diff(&g, a, b),
            ConfigAction::Rollback { version, json } => history_cmd::rollback(&g, version, json),
        },
        Command::Tui { no_color } => tui_cmd::main(&g, no_color),
        Command::Secrets { action } => secrets_cmd::main(&g, action),
        Command::MigrateInfra(o) => migrate::main(&g, o),
        Command::Release { action } => release_cmd::main(action),
        Command::Audit { json, kind, last } => history_cmd::audit(&g, json, kind.as_deref(), last),
        Command::Host { json } => ctl::host(&g, json),
        Command::Pipeline { json } => ctl::pipeline(&g, json),
        Command::Services { action } => ctl::services(&g, action),
        Command::Logs { action } => ctl::logs(&g, action),
        Command::LogLevel { level, for_, json } => ctl::log_level(&g, level, &for_, json),
        Command::Processes {
            top,
            sort,
            tree,
            json,
            local,
            sample_ms,
        } => processes::main(
            &g,
            processes::Options {
                top,
                sort,
                tree,
                json,
                local,
                sample_ms,
            },
        ),
        Command::Dlq { action } => dlq::main(&g, action),
        Command::Statsd { action } => statsd_cmd::main(action),
        Command::Check(o) => check::main(&g, o),
        Command::Redact { action } => redact_cmd::main(&g, action),
        Command::Version { json } => {
            let v = env!("CARGO_PKG_VERSION");
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "version": v,
                        "name": "lookout",
                        "tls_provider": lookout_sinks::tls::provider_name(),
                        "fips": cfg!(feature = "fips"),
                    })
                );
            } else {
                println!("lookout {v} (TLS: {})", lookout_sinks::tls::provider_name());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut cmd = Args::command();
            clap_complete::generate(shell, &mut cmd, "lookout", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads the configuration named by the global options; prints the error and returns the
/// exit code on failure.
pub fn load_config(
    g: &Global,
    file: Option<&std::path::Path>,
) -> Result<lookout_config::Config, ExitCode> {
    let path = file.or(g.config.as_deref());
    lookout_config::load(path, &g.set, &lookout_config::process_env).map_err(|e| {
        eprintln!("error: invalid configuration\n{e}");
        ExitCode::from(EXIT_CONFIG)
    })
}

/// The data directory a client command looks in: `--data-dir`, else the config's `data_dir`
/// (a config that does not load is ignored here), else the default.
pub fn data_dir(g: &Global) -> PathBuf {
    let from_config =
        lookout_config::load(g.config.as_deref(), &g.set, &lookout_config::process_env)
            .ok()
            .and_then(|c| c.settings.data_dir);
    crate::datadir::resolve(g.data_dir.as_deref(), from_config.as_deref())
}

/// Whether an error is a closed stdout.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Restores the default SIGPIPE disposition so writing to a closed pipe ends the process
/// quietly, as command-line tools do.
#[allow(unsafe_code)]
pub fn restore_sigpipe() {
    // SAFETY: setting a signal disposition to SIG_DFL at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Prints a line to stdout, turning a closed pipe into an error the caller can recognise.
pub fn out(line: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    writeln!(o, "{line}")?;
    Ok(())
}

/// CPU time (user + system) of this process so far.
pub(crate) fn cpu_time() -> std::time::Duration {
    // SAFETY: getrusage writes into the zeroed struct we own; RUSAGE_SELF is always valid.
    #[allow(unsafe_code)]
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| {
        std::time::Duration::from_secs(t.tv_sec.max(0) as u64)
            + std::time::Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
