//! `lookout migrate-infra`: moves a host from the New Relic Infrastructure agent to lookout.
//!
//! 1. **Detect** the agent: `newrelic-infra.yml` (or `--from`), its `integrations.d/` and
//!    `logging.d/` (or the directories its config names), its service unit and the unit's
//!    `NRIA_*` environment, its binary, package and running process.
//! 2. **Convert** (`lookout-migrate`), and validate the result as lookout would run it. A
//!    failure stops here: nothing on the host has changed. `--dry-run` stops here too, after
//!    printing the configuration, the key-by-key report and the attribute map.
//! 3. **Move**: back up every file of the agent (byte for byte, with mode and owner), store the
//!    credentials in the secret store, write the configuration, start lookout beside the old
//!    agent, check that its data flows and compare its view of the host with an independent
//!    one (the parity table), then stop and disable the old agent (`--keep-old` leaves it,
//!    `--remove-old` uninstalls it). Every step goes to the audit log.
//! 4. **`--rollback`** stops lookout, puts every backed-up file back, removes the secrets the
//!    migration added, and starts the old agent again as it was.
//!
//! The state of a migration is `<data_dir>/migrate-infra/state.json`; running the command
//! again after a migration reports it and changes nothing.

use super::{out, Global, EXIT_CONFIG};
use lookout_api::{self as api, paths, Client};
use lookout_migrate::{yaml::Y, Input, Options, Plan, SourceFile, Status};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const UNIT: &str = "newrelic-infra.service";

/// `lookout migrate-infra` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Opts {
    /// The agent's configuration: a `newrelic-infra.yml` file, or the directory holding it
    /// (default: /etc/newrelic-infra.yml).
    #[arg(long, value_name = "PATH")]
    pub from: Option<PathBuf>,
    /// Where the host's filesystem is (for a copy of a host, or a test): every path of the
    /// agent is looked for under it.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Print the configuration, the report and the attribute map; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Where to write lookout's configuration (default: <data_dir>/lookout.yaml).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Send to this OTLP endpoint instead of the license key's region (a gateway or a
    /// collector in between).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Leave the old agent running after the move.
    #[arg(long, conflicts_with = "remove_old")]
    pub keep_old: bool,
    /// Uninstall the old agent after the move (its files are backed up for --rollback).
    #[arg(long)]
    pub remove_old: bool,
    /// Undo a migration: stop lookout, restore the old agent's files and start it again.
    #[arg(long, conflicts_with_all = ["dry_run", "keep_old", "remove_old"])]
    pub rollback: bool,
    /// Seconds the parity check compares both views of the host.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub parity: u64,
    /// Report keys the agent does not know as not mapped instead of refusing the file.
    #[arg(long)]
    pub allow_unknown: bool,
}

/// What was found of the old agent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Detected {
    /// `newrelic-infra.yml`.
    pub config: PathBuf,
    /// `integrations.d/` (when it exists).
    pub integrations_dir: Option<PathBuf>,
    /// `logging.d/` (when it exists).
    pub logging_dir: Option<PathBuf>,
    /// The service unit and its drop-ins.
    pub unit_files: Vec<PathBuf>,
    /// The binary.
    pub binary: Option<PathBuf>,
    /// The version it reports, or the package's.
    pub version: Option<String>,
    /// The package manager that installed it (`dpkg`, `rpm`), if any.
    pub package: Option<String>,
    /// The running process: pid and command line.
    pub pid: Option<u32>,
    /// Its command line, to start it again as it was.
    pub argv: Vec<String>,
    /// Whether systemd manages it on this host.
    pub systemd: bool,
    /// Whether its unit is enabled (systemd only).
    pub enabled: bool,
    /// The `NRIA_*` variables found (names only).
    pub env_names: Vec<String>,
}

/// One backed-up file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Saved {
    path: PathBuf,
    backup: PathBuf,
    mode: u32,
    uid: u32,
    gid: u32,
    sha256: String,
}

/// The record of a migration, for `--rollback` and for running the command twice.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    unix: u64,
    root: PathBuf,
    detected: Detected,
    files: Vec<Saved>,
    /// Files the migration created (removed by the rollback).
    created: Vec<PathBuf>,
    /// Secrets the migration added (removed by the rollback).
    secrets_added: Vec<String>,
    config: PathBuf,
    lookout_started: bool,
    old_stopped: bool,
    old_removed: bool,
    done: bool,
}

fn state_dir(dir: &Path) -> PathBuf {
    dir.join("migrate-infra")
}

fn state_path(dir: &Path) -> PathBuf {
    state_dir(dir).join("state.json")
}

fn audit(dir: &Path, msg: &str) {
    crate::datadir::audit(dir, "migrate-infra", msg);
}

/// A path of the host under `--root`.
fn under(root: &Path, p: &Path) -> PathBuf {
    match p.strip_prefix("/") {
        Ok(rel) => root.join(rel),
        Err(_) => root.join(p),
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The YAML files of a directory, sorted (as the agent loads them).
fn yaml_files(dir: &Path) -> Result<Vec<SourceFile>, String> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut paths: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            Ok(SourceFile {
                text: read(&p)?,
                path: p.display().to_string(),
            })
        })
        .collect()
}

/// `Environment=` and `EnvironmentFile=` of a unit file: the `NRIA_*` assignments, with where
/// each was written.
fn unit_env(root: &Path, unit: &Path) -> Vec<lookout_migrate::EnvVar> {
    let mut out = Vec::new();
    let Ok(text) = std::fs::read_to_string(unit) else {
        return out;
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let origin = format!("{}:{}", unit.display(), i + 1);
        if let Some(rest) = line.strip_prefix("Environment=") {
            for word in split_words(rest) {
                if let Some((k, v)) = word.split_once('=') {
                    if k.starts_with("NRIA_") {
                        out.push(lookout_migrate::EnvVar {
                            name: k.to_string(),
                            value: v.to_string(),
                            origin: origin.clone(),
                        });
                    }
                }
            }
        } else if let Some(rest) = line.strip_prefix("EnvironmentFile=") {
            let file = under(root, Path::new(rest.trim_start_matches('-')));
            let Ok(env_text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for (j, l) in env_text.lines().enumerate() {
                let l = l.trim().trim_start_matches("export ");
                if let Some((k, v)) = l.split_once('=') {
                    if k.starts_with("NRIA_") {
                        out.push(lookout_migrate::EnvVar {
                            name: k.to_string(),
                            value: v.trim_matches(['"', '\'']).to_string(),
                            origin: format!("{}:{}", file.display(), j + 1),
                        });
                    }
                }
            }
        }
    }
    out
}

/// systemd's word splitting of `Environment=`: spaces separate, double quotes group.
fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn run_quiet(cmd: &str, args: &[&str]) -> Option<String> {
    let o = std::process::Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// A running process whose command line runs `binary` (directly or through an interpreter).
fn find_process(binary: &Path, pid_file: &Path) -> Option<(u32, Vec<String>)> {
    let argv = |pid: u32| -> Option<Vec<String>> {
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let bin = binary.to_string_lossy();
        args.iter().take(2).any(|a| *a == bin).then_some(args)
    };
    if let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    {
        if let Some(a) = argv(pid) {
            return Some((pid, a));
        }
    }
    let rd = std::fs::read_dir("/proc").ok()?;
    for e in rd.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(a) = argv(pid) {
            return Some((pid, a));
        }
    }
    None
}

/// Finds the agent and reads everything the conversion needs.
fn detect(opts: &Opts) -> Result<(Detected, Input), String> {
    let root = &opts.root;
    let config = match &opts.from {
        Some(p) if p.is_dir() => p.join("newrelic-infra.yml"),
        Some(p) => p.clone(),
        None => under(root, Path::new("/etc/newrelic-infra.yml")),
    };
    if !config.exists() {
        return Err(format!(
            "no Infrastructure agent configuration at {}: is the agent installed? (--from names another file or directory)",
            config.display()
        ));
    }
    let main = SourceFile {
        text: read(&config)?,
        path: config.display().to_string(),
    };
    let mut d = Detected {
        config: config.clone(),
        ..Detected::default()
    };
    // the unit and its environment
    let mut env = Vec::new();
    for dir in [
        "/etc/systemd/system",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
    ] {
        let unit = under(root, &Path::new(dir).join(UNIT));
        if unit.is_file() {
            env.extend(unit_env(root, &unit));
            d.unit_files.push(unit);
            break;
        }
    }
    let dropins = under(
        root,
        Path::new("/etc/systemd/system/newrelic-infra.service.d"),
    );
    if let Ok(rd) = std::fs::read_dir(&dropins) {
        let mut confs: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        confs.sort();
        for c in confs {
            env.extend(unit_env(root, &c));
            d.unit_files.push(c);
        }
    }
    d.env_names = env.iter().map(|e| e.name.clone()).collect();
    // the directories: as the config (or its variable) names them, else the package's
    let raw = lookout_config::node::parse(&main.path, &main.text).ok();
    let named = |key: &str, var: &str| -> Option<PathBuf> {
        env.iter()
            .rev()
            .find(|e| e.name == var)
            .map(|e| e.value.clone())
            .or_else(|| {
                raw.as_ref()
                    .and_then(|r| r.get(key))
                    .and_then(|n| n.as_str().map(str::to_string))
            })
            .map(|p| under(root, Path::new(&p)))
    };
    let base = config
        .parent()
        .map(|p| p.join("newrelic-infra"))
        .unwrap_or_default();
    let pick = |named: Option<PathBuf>, leaf: &str| -> Option<PathBuf> {
        named
            .or_else(|| Some(base.join(leaf)))
            .filter(|p| p.is_dir())
    };
    d.integrations_dir = pick(named("plugin_dir", "NRIA_PLUGIN_DIR"), "integrations.d");
    d.logging_dir = pick(
        named("logging_configs_dir", "NRIA_LOGGING_CONFIGS_DIR"),
        "logging.d",
    );
    // binary, version, package, process
    let bin = under(root, Path::new("/usr/bin/newrelic-infra"));
    if bin.is_file() {
        d.binary = Some(bin.clone());
    }
    if root == Path::new("/") {
        if let Some(v) = run_quiet("dpkg-query", &["-W", "-f", "${Version}", "newrelic-infra"]) {
            d.package = Some("dpkg".into());
            d.version = Some(v);
        } else if let Some(v) = run_quiet("rpm", &["-q", "--qf", "%{VERSION}", "newrelic-infra"]) {
            d.package = Some("rpm".into());
            d.version = Some(v);
        }
        d.systemd = Path::new("/run/systemd/system").is_dir();
        if d.systemd {
            d.enabled = run_quiet("systemctl", &["is-enabled", UNIT]).is_some();
        }
    }
    if d.version.is_none() {
        // the package's own record of its version, where the package manager is not asked
        d.version =
            std::fs::read_to_string(under(root, Path::new("/var/db/newrelic-infra/VERSION")))
                .ok()
                .map(|v| v.trim().to_string());
    }
    let pid_file = under(
        root,
        Path::new("/var/run/newrelic-infra/newrelic-infra.pid"),
    );
    if let Some((pid, argv)) = find_process(&bin, &pid_file) {
        d.pid = Some(pid);
        d.argv = argv;
    }
    let input = Input {
        main,
        env,
        integrations: match &d.integrations_dir {
            Some(p) => yaml_files(p)?,
            None => Vec::new(),
        },
        logging: match &d.logging_dir {
            Some(p) => yaml_files(p)?,
            None => Vec::new(),
        },
    };
    Ok((d, input))
}

/// Validates the generated configuration as `lookout run` will read it, the credentials
/// taken from the plan (they are not stored yet).
fn validate(plan: &Plan, text: &str, g: &Global, store_dir: &Path) -> Result<(), String> {
    let pending: std::collections::BTreeMap<String, String> = plan
        .secrets
        .iter()
        .map(|s| (s.name.clone(), s.value.clone()))
        .collect();
    let dir = store_dir.to_path_buf();
    lookout_config::set_secret_resolver(std::sync::Arc::new(move |name, _| {
        if let Some(v) = pending.get(name) {
            return Ok(v.clone());
        }
        let store = lookout_secrets::Store::open_in(&dir, false)?;
        store.get(name).map(str::to_string).ok_or_else(|| {
            format!("no secret `{name}`: store it with `lookout secrets set {name}` first")
        })
    }));
    let r = lookout_config::load_str(
        "generated configuration",
        text,
        &g.set,
        &lookout_config::process_env,
    )
    .map(drop)
    .map_err(|e| e.to_string());
    super::secrets_cmd::install_resolver(g);
    r
}

fn header(d: &Detected) -> String {
    format!(
        "written by `lookout migrate-infra` from {}\nthe key-by-key report: `lookout migrate-infra --dry-run`; undo: `lookout migrate-infra --rollback`",
        d.config.display()
    )
}

fn report_text(plan: &Plan, d: &Detected, yaml: &str, validation: &Result<(), String>) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "Infrastructure agent found: {}\n",
        d.config.display()
    ));
    if let Some(v) = &d.version {
        s.push_str(&format!(
            "  version {v}{}\n",
            d.package
                .as_ref()
                .map(|p| format!(" ({p} package)"))
                .unwrap_or_default()
        ));
    }
    s.push_str(&format!(
        "  service: {}; process: {}; NRIA_* variables: {}\n",
        if d.unit_files.is_empty() {
            "no unit".to_string()
        } else {
            d.unit_files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        },
        d.pid
            .map(|p| format!("pid {p}"))
            .unwrap_or_else(|| "not running".into()),
        if d.env_names.is_empty() {
            "none".into()
        } else {
            d.env_names.join(", ")
        }
    ));
    s.push_str(&format!(
        "  integrations.d: {}; logging.d: {}\n\n",
        d.integrations_dir
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "none".into()),
        d.logging_dir
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "none".into())
    ));
    s.push_str("== lookout configuration ==\n");
    s.push_str(yaml);
    s.push_str("\n== report: every key ==\n");
    let w_key = plan
        .rows
        .iter()
        .map(|r| r.key.chars().count())
        .max()
        .unwrap_or(3)
        .min(60);
    for r in &plan.rows {
        let target = if r.target.is_empty() {
            "-".to_string()
        } else {
            r.target.clone()
        };
        s.push_str(&format!(
            "{:<12} {:<w_key$}  -> {}\n",
            r.status.label(),
            r.key,
            target
        ));
        s.push_str(&format!("             at {}", r.at));
        if !r.note.is_empty() {
            s.push_str(&format!("; {}", r.note));
        }
        s.push('\n');
    }
    let (m, a, n) = plan.counts();
    s.push_str(&format!("\n{m} mapped, {a} approximated, {n} not mapped\n"));
    if !plan.secrets.is_empty() {
        s.push_str(&format!(
            "secrets for the store (values never shown): {}\n",
            plan.secrets
                .iter()
                .map(|x| x.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s.push_str("\n== attributes for dashboards: New Relic -> lookout ==\n");
    for a in lookout_migrate::attributes::ATTRIBUTES {
        s.push_str(&format!(
            "{:<14} {:<26} -> {}  ({})\n",
            a.event, a.attribute, a.lookout, a.conversion
        ));
    }
    match validation {
        Ok(()) => s.push_str("\nthe configuration is valid\n"),
        Err(e) => s.push_str(&format!("\nthe configuration is NOT valid: {e}\n")),
    }
    s
}

/// Entry point.
pub fn main(g: &Global, opts: Opts) -> anyhow::Result<ExitCode> {
    let dir = super::data_dir(g);
    if opts.rollback {
        return rollback(g, &dir, &opts);
    }
    // a migration already done: say so, change nothing
    if let Ok(text) = std::fs::read_to_string(state_path(&dir)) {
        if let Ok(st) = serde_json::from_str::<State>(&text) {
            if st.done && !opts.dry_run {
                let msg = format!(
                    "already migrated from {} (lookout config {}); nothing to do. `--rollback` undoes it",
                    st.detected.config.display(),
                    st.config.display()
                );
                if opts.json {
                    out(&serde_json::json!({"ok": true, "already_migrated": true, "config": st.config}).to_string())?;
                } else {
                    out(&msg)?;
                }
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    let (detected, input) = match detect(&opts) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    let mut plan = match lookout_migrate::convert(
        &input,
        &Options {
            allow_unknown: opts.allow_unknown,
        },
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}\nnothing was changed on this host");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    let has_sink = plan
        .config
        .get("sinks")
        .and_then(|s| s.get("newrelic"))
        .is_some();
    if let (Some(ep), true) = (&opts.endpoint, has_sink) {
        plan.config
            .entry("sinks")
            .entry("newrelic")
            .set("endpoint", Y::s(ep.clone()));
        plan.rows.push(lookout_migrate::Row {
            at: "--endpoint".into(),
            key: "(command line)".into(),
            target: "sinks.newrelic.endpoint".into(),
            status: Status::Mapped,
            note: "the endpoint given on the command line instead of the region's".into(),
        });
    }
    let yaml = plan.config_yaml(&header(&detected));
    let store_dir = super::secrets_cmd::store_dir(g);
    let validation = validate(&plan, &yaml, g, &store_dir);
    if opts.dry_run {
        if opts.json {
            let v = serde_json::json!({
                "detected": detected,
                "config": yaml,
                "rows": plan.rows,
                "counts": {"mapped": plan.counts().0, "approximated": plan.counts().1, "not_mapped": plan.counts().2},
                "secrets": plan.secrets.iter().map(|s| serde_json::json!({"name": s.name, "from": s.from})).collect::<Vec<_>>(),
                "region": plan.region,
                "attributes": lookout_migrate::attributes::ATTRIBUTES,
                "valid": validation.is_ok(),
                "error": validation.as_ref().err(),
            });
            out(&serde_json::to_string_pretty(&v)?)?;
        } else {
            print!("{}", report_text(&plan, &detected, &yaml, &validation));
        }
        return Ok(if validation.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_CONFIG)
        });
    }
    if let Err(e) = validation {
        eprintln!("error: the converted configuration is not valid: {e}\nnothing was changed on this host (`--dry-run` shows the report)");
        return Ok(ExitCode::from(EXIT_CONFIG));
    }
    crate::datadir::ensure(&dir)?;
    match move_host(g, &opts, &dir, detected, &plan, &yaml) {
        Ok(summary) => {
            if opts.json {
                out(&serde_json::to_string_pretty(&summary)?)?;
            } else {
                out(&summary_text(&summary))?;
            }
            Ok(if summary.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Err(e) => {
            audit(&dir, &format!("failed: {e}"));
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// What the move did.
#[derive(Debug, Serialize)]
struct Summary {
    ok: bool,
    config: PathBuf,
    backed_up: usize,
    secrets_stored: Vec<String>,
    lookout_pid: Option<u32>,
    parity: Vec<ParityRow>,
    old_agent: String,
    next: String,
}

fn summary_text(s: &Summary) -> String {
    let mut t = format!(
        "lookout configuration: {}\nbacked up {} file(s) of the old agent; secrets stored: {}\nlookout runs (pid {})\n\nparity check (lookout vs the host's own tools):\n",
        s.config.display(),
        s.backed_up,
        if s.secrets_stored.is_empty() { "none".into() } else { s.secrets_stored.join(", ") },
        s.lookout_pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
    );
    t.push_str(&format!(
        "{:<28} {:>16} {:>16} {:>12} {:>10}  ok\n",
        "check", "lookout", "reference", "difference", "tolerance"
    ));
    for r in &s.parity {
        t.push_str(&format!(
            "{:<28} {:>16} {:>16} {:>12} {:>10}  {}\n",
            r.check,
            r.lookout,
            r.reference,
            r.difference,
            r.tolerance,
            if r.ok { "yes" } else { "NO" }
        ));
    }
    t.push_str(&format!("\nold agent: {}\n{}", s.old_agent, s.next));
    t
}

fn backup(dir: &Path, paths: &[PathBuf]) -> Result<Vec<Saved>, String> {
    let bdir = state_dir(dir).join("backup");
    std::fs::create_dir_all(&bdir).map_err(|e| format!("cannot create {}: {e}", bdir.display()))?;
    let _ = std::fs::set_permissions(state_dir(dir), std::fs::Permissions::from_mode(0o700));
    let mut saved = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let Ok(meta) = std::fs::metadata(p) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let bytes = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let name = format!(
            "{i:04}-{}",
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let b = bdir.join(name);
        lookout_tail::write_atomic(&b, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", b.display()))?;
        let _ = std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o600));
        saved.push(Saved {
            path: p.clone(),
            backup: b,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            sha256: lookout_remote::sha256_hex(&bytes),
        });
    }
    Ok(saved)
}

fn save_state(dir: &Path, st: &State) -> Result<(), String> {
    crate::datadir::save_json(dir, &state_path(dir), st)
}

fn agent_files(d: &Detected) -> Vec<PathBuf> {
    let mut v = vec![d.config.clone()];
    for dir in [&d.integrations_dir, &d.logging_dir].into_iter().flatten() {
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut files: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
            files.sort();
            v.extend(files);
        }
    }
    v.extend(d.unit_files.iter().cloned());
    if let Some(b) = &d.binary {
        v.push(b.clone());
    }
    v
}

fn move_host(
    g: &Global,
    opts: &Opts,
    dir: &Path,
    d: Detected,
    plan: &Plan,
    yaml: &str,
) -> Result<Summary, String> {
    audit(
        dir,
        &format!("start: migrating from {}", d.config.display()),
    );
    let mut st = State {
        unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|x| x.as_secs())
            .unwrap_or(0),
        root: opts.root.clone(),
        detected: d.clone(),
        ..State::default()
    };
    // 1. back up every file of the agent
    st.files = backup(dir, &agent_files(&d))?;
    let config = opts
        .output
        .clone()
        .unwrap_or_else(|| dir.join("lookout.yaml"));
    if config.exists() {
        let mut extra = backup(dir, std::slice::from_ref(&config))?;
        for s in &mut extra {
            let n = s
                .backup
                .with_file_name(format!("lookout-config-{}", st.files.len()));
            let _ = std::fs::rename(&s.backup, &n);
            s.backup = n;
        }
        st.files.extend(extra);
    } else {
        st.created.push(config.clone());
    }
    st.config = config.clone();
    save_state(dir, &st)?;
    audit(
        dir,
        &format!("backed up {} file(s) of the old agent", st.files.len()),
    );
    // 2. credentials into the secret store
    if !plan.secrets.is_empty() {
        let store_dir = super::secrets_cmd::store_dir(g);
        crate::datadir::ensure(&store_dir).map_err(|e| e.to_string())?;
        let mut store = lookout_secrets::Store::open_in(&store_dir, true)?;
        for s in &plan.secrets {
            let existed = store.get(&s.name).is_some();
            store.set(&s.name, &s.value)?;
            if !existed {
                st.secrets_added.push(s.name.clone());
            }
            crate::datadir::audit(
                &store_dir,
                "secret",
                &format!("{} stored by migrate-infra (from {})", s.name, s.from),
            );
        }
        save_state(dir, &st)?;
    }
    // 3. the configuration
    if let Some(parent) = config.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    lookout_tail::write_atomic(&config, yaml.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let _ = std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600));
    audit(dir, &format!("wrote {}", config.display()));
    // 4. lookout beside the old agent
    let client = Client::new(dir).with_timeout(Duration::from_secs(5));
    if client.get::<api::Status>(paths::STATUS).is_err() {
        super::tui_cmd::start_agent(&config, dir, g)?;
        st.lookout_started = true;
        save_state(dir, &st)?;
        audit(dir, "started lookout beside the old agent");
    }
    let status = wait_for(Duration::from_secs(60), || {
        client.get::<api::Status>(paths::STATUS).ok()
    })
    .ok_or_else(|| {
        format!(
            "lookout did not start: see {}",
            dir.join("agent.log").display()
        )
    })?;
    if status.config_origin != config.display().to_string() {
        return Err(format!(
            "another lookout already runs on {} with {}: stop it, or give --data-dir",
            dir.display(),
            status.config_origin
        ));
    }
    // data flows: a sampler (or any source) has produced
    let flowing = wait_for(Duration::from_secs(60), || {
        let s = client.get::<api::Status>(paths::STATUS).ok()?;
        s.components
            .iter()
            .any(|c| c.kind == "source" && c.sent_items > 0)
            .then_some(())
    });
    if flowing.is_none() {
        return Err("lookout runs but no source has produced data within 60 s; the old agent is untouched (`lookout status` tells more; `--rollback` undoes)".into());
    }
    audit(dir, "lookout collects");
    // 5. parity
    let parity = parity_check(&client, Duration::from_secs(opts.parity));
    let parity_ok = parity.iter().all(|r| r.ok);
    audit(
        dir,
        &format!(
            "parity check: {}",
            if parity_ok {
                "within tolerances"
            } else {
                "out of tolerance"
            }
        ),
    );
    let mut summary = Summary {
        ok: parity_ok,
        config: config.clone(),
        backed_up: st.files.len(),
        secrets_stored: plan.secrets.iter().map(|s| s.name.clone()).collect(),
        lookout_pid: Some(status.pid),
        parity,
        old_agent: String::new(),
        next: String::new(),
    };
    if !parity_ok {
        summary.old_agent = "left running: the parity check failed".into();
        summary.next =
            "look at the rows marked NO, then run again (`--rollback` undoes everything)\n".into();
        return Ok(summary);
    }
    // 6. the old agent
    if opts.keep_old {
        summary.old_agent = "left running (--keep-old)".into();
        audit(dir, "old agent left running (--keep-old)");
    } else {
        stop_old(&d)?;
        st.old_stopped = true;
        summary.old_agent = if d.systemd {
            "stopped and disabled".into()
        } else {
            "stopped".into()
        };
        audit(dir, &format!("old agent {}", summary.old_agent));
        if opts.remove_old {
            remove_old(&d)?;
            st.old_removed = true;
            summary.old_agent.push_str(", uninstalled");
            audit(dir, "old agent uninstalled");
        }
    }
    st.done = true;
    save_state(dir, &st)?;
    audit(dir, "done");
    summary.next = "`lookout status` shows the agent; `lookout migrate-infra --rollback` restores the old agent\n".into();
    Ok(summary)
}

fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[allow(unsafe_code)]
fn kill(pid: u32, sig: i32) -> bool {
    let Ok(p) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill has no memory preconditions; a pid that is gone gives ESRCH.
    unsafe { libc::kill(p, sig) == 0 }
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .map(|r| !r.trim_start().starts_with('Z'))
            })
            .unwrap_or(false)
}

fn stop_pid(pid: u32) {
    if !kill(pid, libc::SIGTERM) {
        return;
    }
    if wait_for(Duration::from_secs(10), || (!alive(pid)).then_some(())).is_none() {
        kill(pid, libc::SIGKILL);
        let _ = wait_for(Duration::from_secs(5), || (!alive(pid)).then_some(()));
    }
}

fn stop_old(d: &Detected) -> Result<(), String> {
    if d.systemd {
        let ok = std::process::Command::new("systemctl")
            .args(["disable", "--now", UNIT])
            .status()
            .map_err(|e| format!("cannot run systemctl: {e}"))?
            .success();
        if !ok {
            return Err(format!("`systemctl disable --now {UNIT}` failed"));
        }
    } else if let Some(pid) = d.pid {
        stop_pid(pid);
    }
    Ok(())
}

fn remove_old(d: &Detected) -> Result<(), String> {
    let cmd: Option<(&str, Vec<&str>)> = match d.package.as_deref() {
        Some("dpkg") => Some(("dpkg", vec!["--remove", "newrelic-infra"])),
        Some("rpm") => Some(("rpm", vec!["-e", "newrelic-infra"])),
        _ => None,
    };
    match cmd {
        Some((c, args)) => {
            let ok = std::process::Command::new(c)
                .args(&args)
                .status()
                .map_err(|e| format!("cannot run {c}: {e}"))?
                .success();
            if !ok {
                return Err(format!("`{c} {}` failed", args.join(" ")));
            }
        }
        None => {
            // no package manager knows it: remove what the package would have (the binary
            // and the unit), keeping configuration as a package removal does
            for p in d.binary.iter().chain(d.unit_files.iter()) {
                std::fs::remove_file(p)
                    .map_err(|e| format!("cannot remove {}: {e}", p.display()))?;
            }
        }
    }
    Ok(())
}

/// One comparison of lookout's view with the reference.
#[derive(Debug, Clone, Serialize)]
pub struct ParityRow {
    /// What is compared.
    pub check: String,
    /// lookout's value.
    pub lookout: String,
    /// The reference value.
    pub reference: String,
    /// The difference.
    pub difference: String,
    /// The tolerance.
    pub tolerance: String,
    /// Within it.
    pub ok: bool,
}

/// Used memory from /proc/meminfo, as `free` counts it: total - free - buffers - cached -
/// reclaimable slab (when `free` cannot be run).
fn meminfo() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let get = |k: &str| {
        text.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    let used = get("MemTotal:")?
        .saturating_sub(get("MemFree:")?)
        .saturating_sub(get("Buffers:").unwrap_or(0))
        .saturating_sub(get("Cached:").unwrap_or(0))
        .saturating_sub(get("SReclaimable:").unwrap_or(0));
    Some(used as f64)
}

/// `free -b`'s used memory (total - free - buff/cache), `df`'s used share of /, `vmstat`'s busy
/// CPU and `ps`'s resident memory of the largest processes: tools that are not lookout.
struct Reference {
    mem_used: Option<f64>,
    root_used_pct: Option<f64>,
    cpu_busy_pct: Option<f64>,
    rss: Vec<(u32, String, u64)>,
}

fn reference_cpu(window: Duration) -> Option<f64> {
    let secs = window.as_secs().max(1).to_string();
    let t = run_quiet("vmstat", &[&secs, "2"])?;
    let head = t.lines().nth(1)?;
    let idx = head.split_whitespace().position(|c| c == "id")?;
    let last = t.lines().last()?;
    let id: f64 = last.split_whitespace().nth(idx)?.parse().ok()?;
    Some(100.0 - id)
}

/// Read right after lookout's latest sample, so both describe the same moment.
fn reference_now(cpu_busy_pct: Option<f64>) -> Reference {
    let mem_used = run_quiet("free", &["-b"]).and_then(|t| {
        let l = t.lines().find(|l| l.starts_with("Mem:"))?;
        let cols: Vec<u64> = l
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // total used free shared buff/cache available: used as lookout counts it (and procps
        // did before 4.0) is total - free - buff/cache
        Some(
            cols.first()?
                .saturating_sub(*cols.get(2)?)
                .saturating_sub(*cols.get(4)?) as f64,
        )
    });
    let root_used_pct = run_quiet("df", &["-P", "-B1", "/"]).and_then(|t| {
        let l = t.lines().nth(1)?;
        let c: Vec<&str> = l.split_whitespace().collect();
        let used: f64 = c.get(2)?.parse().ok()?;
        let avail: f64 = c.get(3)?.parse().ok()?;
        Some(used / (used + avail) * 100.0)
    });
    // the largest processes that have run for a minute at least (a process that just started
    // is still growing)
    let rss = run_quiet("ps", &["-eo", "pid=,etimes=,rss=,comm=", "--sort=-rss"])
        .map(|t| {
            t.lines()
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    let pid = w.next()?.parse().ok()?;
                    let age: u64 = w.next()?.parse().ok()?;
                    let rss: u64 = w.next()?.parse().ok()?;
                    (age >= 60).then(|| (pid, w.collect::<Vec<_>>().join(" "), rss * 1024))
                })
                .take(10)
                .collect()
        })
        .unwrap_or_default();
    Reference {
        mem_used,
        root_used_pct,
        cpu_busy_pct,
        rss,
    }
}

fn row(
    check: &str,
    lookout: Option<f64>,
    reference: Option<f64>,
    unit: &str,
    tol: f64,
    relative: bool,
) -> ParityRow {
    let fmt = |v: Option<f64>| match v {
        Some(x) if unit == "B" => format!("{:.1} MiB", x / 1048576.0),
        Some(x) => format!("{x:.1}{unit}"),
        None => "n/a".into(),
    };
    let (diff, ok) = match (lookout, reference) {
        (Some(a), Some(b)) if relative => {
            let d = if b.abs() > 0.0 {
                (a - b).abs() / b.abs() * 100.0
            } else {
                0.0
            };
            (format!("{d:.1}%"), d <= tol)
        }
        (Some(a), Some(b)) => {
            let d = (a - b).abs();
            (format!("{d:.1}{unit}"), d <= tol)
        }
        _ => ("n/a".into(), false),
    };
    ParityRow {
        check: check.into(),
        lookout: fmt(lookout),
        reference: fmt(reference),
        difference: diff,
        tolerance: if relative {
            format!("{tol}%")
        } else {
            format!("{tol}{unit}")
        },
        ok,
    }
}

/// Compares, over `window`, lookout's view of the host (its control API) with the host's own
/// tools. The Infrastructure agent keeps its samples to itself (they go to New Relic only), so
/// the reference is what its attributes are defined as: memory used is total minus available
/// (`free`), disk used is `df`'s, CPU busy is `vmstat`'s, a process's memory is `ps`'s RSS.
fn parity_check(client: &Client, window: Duration) -> Vec<ParityRow> {
    let window = window.max(Duration::from_secs(2));
    let before = Instant::now();
    let cpu = reference_cpu(window);
    let host = wait_for(Duration::from_secs(10), || {
        let h = client.get::<api::HostHistory>(paths::HOST).ok()?;
        (!h.samples.is_empty()).then_some(h)
    })
    .unwrap_or_default();
    let span = before.elapsed().as_secs_f64() + 2.0;
    let recent: Vec<&api::HostSample> = match host.samples.last() {
        Some(last) => host
            .samples
            .iter()
            .filter(|s| last.unix - s.unix <= span)
            .collect(),
        None => Vec::new(),
    };
    let avg = |f: &dyn Fn(&api::HostSample) -> f64| -> Option<f64> {
        (!recent.is_empty()).then(|| recent.iter().map(|s| f(s)).sum::<f64>() / recent.len() as f64)
    };
    let r = reference_now(cpu);
    let mem_now = meminfo();
    let mut rows = vec![
        row(
            "memory used",
            host.samples.last().map(|s| s.mem_used_bytes as f64),
            r.mem_used.or(mem_now),
            "B",
            10.0,
            true,
        ),
        row(
            "root filesystem used",
            host.samples.last().map(|s| s.root_used_percent),
            r.root_used_pct,
            " pt",
            1.0,
            false,
        ),
        row(
            "CPU busy (window average)",
            avg(&|s| s.cpu_percent),
            r.cpu_busy_pct,
            " pt",
            25.0,
            false,
        ),
    ];
    match client.get::<api::Processes>(paths::PROCESSES) {
        Ok(p) if !p.reported.is_empty() => {
            let mut compared = 0;
            for (pid, name, rss) in &r.rss {
                if let Some(lp) = p.reported.iter().find(|x| x.pid == *pid) {
                    rows.push(row(
                        &format!("RSS of {name} ({pid})"),
                        Some(lp.rss_bytes as f64),
                        Some(*rss as f64),
                        "B",
                        10.0,
                        true,
                    ));
                    compared += 1;
                }
                if compared == 3 {
                    break;
                }
            }
        }
        _ => rows.push(ParityRow {
            check: "top processes".into(),
            lookout: "off".into(),
            reference: "-".into(),
            difference: "-".into(),
            tolerance: "-".into(),
            ok: true,
        }),
    }
    rows
}

fn rollback(g: &Global, dir: &Path, opts: &Opts) -> anyhow::Result<ExitCode> {
    let st: State = match std::fs::read_to_string(state_path(dir)) {
        Ok(t) => serde_json::from_str(&t)?,
        Err(_) => {
            eprintln!(
                "error: no migration to roll back in {}",
                state_dir(dir).display()
            );
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    audit(dir, "rollback: start");
    // 1. stop the lookout agent the migration started
    if st.lookout_started {
        let client = Client::new(dir).with_timeout(Duration::from_secs(5));
        if let Ok(s) = client.get::<api::Status>(paths::STATUS) {
            stop_pid(s.pid);
            audit(dir, &format!("rollback: stopped lookout (pid {})", s.pid));
        }
    }
    // 2. every file back, byte for byte, with its mode and owner
    let mut restored = 0;
    for s in &st.files {
        let bytes = std::fs::read(&s.backup)?;
        if lookout_remote::sha256_hex(&bytes) != s.sha256 {
            anyhow::bail!(
                "the backup of {} was changed since the migration; not restoring it",
                s.path.display()
            );
        }
        if let Some(parent) = s.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        lookout_tail::write_atomic(&s.path, &bytes)?;
        std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(s.mode))?;
        let _ = std::os::unix::fs::chown(&s.path, Some(s.uid), Some(s.gid));
        restored += 1;
    }
    for p in &st.created {
        let _ = std::fs::remove_file(p);
    }
    audit(dir, &format!("rollback: restored {restored} file(s)"));
    // 3. the secrets the migration added
    if !st.secrets_added.is_empty() {
        let store_dir = super::secrets_cmd::store_dir(g);
        if let Ok(mut store) = lookout_secrets::Store::open_in(&store_dir, false) {
            for n in &st.secrets_added {
                let _ = store.remove(n);
            }
        }
    }
    // 4. the old agent as it was
    let d = &st.detected;
    let mut started = String::from("not restarted (it was not running)");
    if st.old_removed && d.package.is_some() {
        started = "reinstall the newrelic-infra package: its files are restored, the package database is not".into();
    } else if d.systemd && st.old_stopped {
        let mut args = vec!["start", UNIT];
        if d.enabled {
            args = vec!["enable", "--now", UNIT];
        }
        let _ = std::process::Command::new("systemctl").args(&args).status();
        started = format!("systemctl {}", args.join(" "));
    } else if st.old_stopped && !d.argv.is_empty() {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new(&d.argv[0]);
        cmd.args(&d.argv[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0);
        match cmd.spawn() {
            Ok(c) => started = format!("started again (pid {})", c.id()),
            Err(e) => started = format!("could not be started: {e}"),
        }
    }
    audit(dir, &format!("rollback: old agent {started}"));
    let _ = std::fs::rename(
        state_path(dir),
        state_dir(dir).join(format!("state.rolled-back-{}.json", st.unix)),
    );
    if opts.json {
        out(
            &serde_json::json!({"ok": true, "restored_files": restored, "old_agent": started})
                .to_string(),
        )?;
    } else {
        out(&format!(
            "rolled back: {restored} file(s) restored; old agent {started}"
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unit_environment_is_read_as_systemd_splits_it() {
        let t = tempfile::tempdir().unwrap();
        let unit = t.path().join("u.service");
        let envf = t.path().join("env");
        std::fs::write(&envf, "NRIA_DISPLAY_NAME=\"from file\"\nOTHER=1\n").unwrap();
        std::fs::write(
            &unit,
            format!(
                "[Service]\nEnvironment=\"NRIA_LICENSE_KEY=abc def\" NRIA_VERBOSE=1 PATH=/x\nEnvironmentFile=-{}\n",
                envf.display()
            ),
        )
        .unwrap();
        let env = unit_env(Path::new("/"), &unit);
        let got: Vec<(String, String)> = env
            .iter()
            .map(|e| (e.name.clone(), e.value.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("NRIA_LICENSE_KEY".into(), "abc def".into()),
                ("NRIA_VERBOSE".into(), "1".into()),
                ("NRIA_DISPLAY_NAME".into(), "from file".into()),
            ]
        );
        assert!(env[0].origin.ends_with("u.service:2"), "{}", env[0].origin);
    }

    #[test]
    fn parity_rows_state_their_tolerance() {
        let r = row("m", Some(104.0), Some(100.0), "B", 5.0, true);
        assert!(r.ok && r.difference == "4.0%");
        let r = row("m", Some(110.0), Some(100.0), "B", 5.0, true);
        assert!(!r.ok);
        let r = row("c", Some(20.0), Some(40.0), " pt", 15.0, false);
        assert!(!r.ok && r.difference == "20.0 pt");
        assert!(!row("x", None, Some(1.0), "", 1.0, false).ok);
    }
}
