//! `lookout secrets set|list|rm`: the local encrypted secret store (`docs/secrets.md`), and the
//! resolver every command installs for `${secret:NAME}` in the configuration: the store first,
//! then the configured `secret_backend` command. Values are read from standard input (without
//! echo on a terminal) and never printed; every read and change goes to the audit log. A
//! running agent is asked to reload after a change, so a rotated secret applies without a
//! restart.

use super::{out, Global};
use lookout_api::{self as api, paths};
use lookout_secrets::{backend::Backend, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// `lookout secrets ...`
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Store a secret: the value is read from standard input (typed without echo on a
    /// terminal), never from the command line. The value it already has is left as it is
    /// (`unchanged`: nothing written, no reload).
    Set {
        /// Its name, as `${secret:NAME}` refers to it.
        name: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The names stored (never the values).
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Remove a secret.
    Rm {
        /// Its name.
        name: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// The data directory of the store: `--data-dir` (or `LOOKOUT_DATA_DIR`), else the default.
/// The configuration's own `data_dir` cannot say it: secrets are resolved while it is read.
pub fn store_dir(g: &Global) -> PathBuf {
    crate::datadir::resolve(g.data_dir.as_deref(), None)
}

/// Every secret access is recorded, even a `lookout run` that has not created its data
/// directory yet (it is created, owner-only, as the agent would).
fn audit(dir: &Path, message: &str) {
    if crate::datadir::ensure(dir).is_ok() {
        crate::datadir::audit(dir, "secret", message);
    }
}

/// Installs the `${secret:NAME}` resolver for this process.
pub fn install_resolver(g: &Global) {
    let dir = store_dir(g);
    lookout_config::set_secret_resolver(Arc::new(move |name, backend| {
        resolve(&dir, name, backend)
    }));
}

fn resolve(
    dir: &Path,
    name: &str,
    backend: Option<&lookout_config::SecretBackendConfig>,
) -> Result<String, String> {
    let store_path = Store::path(dir);
    if store_path.exists() {
        let store = Store::open_in(dir, false)?;
        if let Some(v) = store.get(name) {
            audit(dir, &format!("{name} read from the store"));
            return Ok(v.to_string());
        }
    }
    let Some(b) = backend else {
        return Err(format!(
            "no secret `{name}` in the store {} (and no secret_backend is configured)",
            store_path.display()
        ));
    };
    let cmd = Backend {
        command: b.command.clone(),
        args: b.args.clone(),
        timeout: b.timeout.0,
        max_output: 1 << 20,
    };
    let mut got = cmd.fetch(&[name.to_string()])?;
    match got.remove(name) {
        Some(Ok(v)) => {
            audit(
                dir,
                &format!(
                    "{name} read from the secret command {}",
                    b.command.display()
                ),
            );
            Ok(v)
        }
        Some(Err(e)) => {
            audit(dir, &format!("{name}: the secret command refused: {e}"));
            Err(format!("the secret command says: {e}"))
        }
        None => Err("the secret command did not answer".into()),
    }
}

/// Reads a value from standard input: one line typed without echo on a terminal, else the
/// whole input (a final newline dropped).
fn read_value() -> anyhow::Result<String> {
    use std::io::{IsTerminal, Read};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut v = String::new();
        stdin.lock().read_to_string(&mut v)?;
        return Ok(v.trim_end_matches(['\n', '\r']).to_string());
    }
    eprint!("value (not echoed): ");
    let _echo = NoEcho::new();
    let mut v = String::new();
    stdin.read_line(&mut v)?;
    eprintln!();
    Ok(v.trim_end_matches(['\n', '\r']).to_string())
}

/// Turns terminal echo off until dropped.
struct NoEcho(Option<libc::termios>);

impl NoEcho {
    #[allow(unsafe_code)]
    fn new() -> NoEcho {
        // SAFETY: tcgetattr/tcsetattr on stdin with a termios we own; failures leave echo on.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return NoEcho(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return NoEcho(None);
            }
            NoEcho(Some(saved))
        }
    }
}

impl Drop for NoEcho {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            // SAFETY: restoring the attributes read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, t);
            }
        }
    }
}

/// Asks a running agent to read its configuration again (a rotated secret then applies).
fn reload_agent(dir: &Path) -> Option<String> {
    let client = api::Client::new(dir).with_timeout(std::time::Duration::from_secs(60));
    match client.post::<_, api::ActionResult>(paths::CONFIG_RELOAD, &serde_json::json!({})) {
        Ok(r) => Some(r.message),
        Err(api::Error::NotRunning(_)) => None,
        Err(e) => Some(format!("the running agent did not reload: {e}")),
    }
}

/// Runs the command.
pub fn main(g: &Global, action: Action) -> anyhow::Result<ExitCode> {
    let dir = store_dir(g);
    match action {
        Action::Set { name, json } => {
            if !lookout_secrets::valid_name(&name) {
                eprintln!(
                    "error: invalid secret name `{name}`: use letters, digits, `_`, `-`, `.`, `/`"
                );
                return Ok(ExitCode::from(super::EXIT_CONFIG));
            }
            let value = read_value()?;
            if value.is_empty() {
                eprintln!("error: an empty value; nothing stored");
                return Ok(ExitCode::FAILURE);
            }
            crate::datadir::ensure(&dir)?;
            let mut store = match Store::open_in(&dir, true) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let what = match store.get(&name) {
                // the same value again: nothing written, no reload (installers run twice)
                Some(old) if old == value => "unchanged",
                Some(_) => "rotated",
                None => "stored",
            };
            if what != "unchanged" {
                if let Err(e) = store.set(&name, &value) {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            }
            audit(&dir, &format!("{name} {what}"));
            let agent = if what == "unchanged" {
                None
            } else {
                reload_agent(&dir)
            };
            if json {
                out(
                    &serde_json::json!({"ok": true, "name": name, "change": what, "agent": agent})
                        .to_string(),
                )?;
            } else {
                out(&format!(
                    "secret {name} {what} in {}",
                    Store::path(&dir).display()
                ))?;
                if let Some(a) = agent {
                    out(&format!("running agent: {a}"))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::List { json } => {
            let names: Vec<String> = if Store::path(&dir).exists() {
                match Store::open_in(&dir, false) {
                    Ok(s) => s.names().into_iter().map(str::to_string).collect(),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return Ok(ExitCode::FAILURE);
                    }
                }
            } else {
                Vec::new()
            };
            if json {
                out(&serde_json::json!({"names": names}).to_string())?;
            } else if names.is_empty() {
                out("no secret stored")?;
            } else {
                for n in names {
                    out(&n)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Rm { name, json } => {
            let mut store = match Store::open_in(&dir, false) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            match store.remove(&name) {
                Ok(true) => {
                    audit(&dir, &format!("{name} removed"));
                    let agent = reload_agent(&dir);
                    if json {
                        out(&serde_json::json!({"ok": true, "name": name, "change": "removed", "agent": agent}).to_string())?;
                    } else {
                        out(&format!("secret {name} removed"))?;
                        if let Some(a) = agent {
                            out(&format!("running agent: {a}"))?;
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Ok(false) => {
                    eprintln!("error: no secret `{name}`");
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
