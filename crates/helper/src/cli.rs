//! The command line: `lookout-helper serve ...` and `lookout-helper ping`.

use crate::{Policy, Request, DEFAULT_SOCKET, PROTOCOL_VERSION};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
lookout-helper: the root helper of the lookout agent (docs/helper.md)

usage:
  lookout-helper serve [--socket PATH] --allow-user USER... --config-file PATH...
                       [--idle-exit SECONDS]
      Answer the agent's requests on a Unix socket (default /run/lookout/helper.sock, or the
      socket systemd passes). USER: a name or uid that may connect besides root (its group
      gets the socket, mode 0660). PATH: a file `write_config` may replace (absolute, exact).
      With --idle-exit, exit after that many seconds without a request.
  lookout-helper ping [--socket PATH]
      Ask a running helper what it allows (JSON).
  lookout-helper --version
";

fn serve(args: &[String]) -> Result<(), String> {
    let mut socket = PathBuf::from(DEFAULT_SOCKET);
    let mut policy = Policy::default();
    let mut idle = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--socket" => socket = PathBuf::from(value()?),
            "--allow-user" => {
                let v = value()?;
                let (uid, gid) = crate::lookup_user(&v).map_err(|e| e.to_string())?;
                policy.allowed_uids.push(uid);
                policy.config_gid.get_or_insert(gid);
            }
            "--config-file" => {
                let p = PathBuf::from(value()?);
                if !p.is_absolute() {
                    return Err(format!("--config-file {}: not absolute", p.display()));
                }
                policy.config_files.push(p);
            }
            "--idle-exit" => {
                let v = value()?;
                let s: u64 = v
                    .parse()
                    .map_err(|_| format!("--idle-exit {v}: not a number of seconds"))?;
                idle = Some(Duration::from_secs(s.max(1)));
            }
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    if policy.config_files.is_empty() {
        return Err("name at least one --config-file".into());
    }
    let listener = match crate::activated() {
        Some(l) => l,
        None => crate::bind(&socket, policy.config_gid)
            .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?,
    };
    eprintln!(
        "lookout-helper {}: serving; users {:?} (and root) may replace {:?}",
        env!("CARGO_PKG_VERSION"),
        policy.allowed_uids,
        policy.config_files
    );
    crate::serve(&listener, &policy, idle).map_err(|e| e.to_string())
}

fn ping(args: &[String]) -> Result<(), String> {
    let socket = match args {
        [] => PathBuf::from(DEFAULT_SOCKET),
        [flag, p] if flag == "--socket" => PathBuf::from(p),
        _ => return Err(USAGE.into()),
    };
    let r = crate::call(
        &socket,
        &Request {
            version: PROTOCOL_VERSION,
            op: "ping".into(),
            ..Request::default()
        },
    )
    .map_err(|e| format!("{}: {e}", socket.display()))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?
    );
    if r.ok {
        Ok(())
    } else {
        Err(r.error.unwrap_or_default())
    }
}

/// Runs the command line (without the program name).
pub fn main(args: Vec<String>) -> ExitCode {
    let r = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("ping") => ping(&args[1..]),
        Some("--version") => {
            println!("lookout-helper {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some("--help" | "-h" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.into()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lookout-helper: {e}");
            ExitCode::from(2)
        }
    }
}
