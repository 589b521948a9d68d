//! An external secret command, speaking the protocol of the Datadog Agent's
//! `secret_backend_command` (version 1.0), so helpers written for it work unchanged:
//!
//! - stdin: `{"version": "1.0", "secrets": ["name1", "name2"]}`;
//! - stdout: `{"name1": {"value": "...", "error": null}, "name2": {"value": null, "error": "why"}}`.
//!
//! As the Datadog Agent asks, the command must not be writable by anyone but its owner (who is
//! this user or root); it gets a time limit and its output a size limit.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How to run the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The executable (absolute path).
    pub command: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// How long it may take.
    pub timeout: Duration,
    /// Largest output read.
    pub max_output: usize,
}

impl Backend {
    /// A command with the Datadog Agent's defaults (30 s, 1 MiB).
    pub fn new(command: impl Into<PathBuf>) -> Backend {
        Backend {
            command: command.into(),
            args: Vec::new(),
            timeout: Duration::from_secs(30),
            max_output: 1 << 20,
        }
    }

    fn check_permissions(&self) -> Result<(), String> {
        use std::os::unix::fs::MetadataExt;
        if !self.command.is_absolute() {
            return Err("the secret command must be an absolute path".into());
        }
        let m = std::fs::metadata(&self.command)
            .map_err(|e| format!("secret command {}: {e}", self.command.display()))?;
        #[allow(unsafe_code)]
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if m.uid() != me && m.uid() != 0 {
            return Err(format!(
                "secret command {} belongs to uid {}: it must belong to this user or root",
                self.command.display(),
                m.uid()
            ));
        }
        if m.mode() & 0o022 != 0 {
            return Err(format!(
                "secret command {} is writable by others (mode {:o}): chmod go-w it",
                self.command.display(),
                m.mode() & 0o777
            ));
        }
        Ok(())
    }

    /// Asks the command for `names`: each name's value, or the command's reason.
    pub fn fetch(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, Result<String, String>>, String> {
        self.check_permissions()?;
        let input = serde_json::json!({"version": "1.0", "secrets": names}).to_string();
        let mut attempt = 0;
        let mut child = loop {
            let r = Command::new(&self.command)
                .args(&self.args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn();
            match r {
                Ok(c) => break c,
                // ETXTBSY: the helper was just written and another thread's fork still holds
                // it open for writing; that passes at once
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempt < 20 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(format!(
                        "cannot run the secret command {}: {e}",
                        self.command.display()
                    ))
                }
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            // a command that exits without reading is answered by its output, not this error
            let _ = stdin.write_all(input.as_bytes());
        }
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| "no output from the secret command".to_string())?;
        let limit = self.max_output;
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let r = (&mut stdout).take(limit as u64 + 1).read_to_end(&mut out);
            r.map(|_| out)
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if start.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "the secret command did not answer within {:?}",
                        self.timeout
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("waiting for the secret command: {e}")),
            }
        };
        let out = reader
            .join()
            .map_err(|_| "reading the secret command failed".to_string())?
            .map_err(|e| format!("reading the secret command: {e}"))?;
        // too much output first: the command may have died of the closed pipe
        if out.len() > self.max_output {
            return Err(format!(
                "the secret command wrote more than {} bytes",
                self.max_output
            ));
        }
        if !status.success() {
            return Err(format!("the secret command failed ({status})"));
        }
        parse_output(&out, names)
    }
}

#[derive(serde::Deserialize)]
struct Entry {
    value: Option<String>,
    error: Option<String>,
}

/// Reads the command's answer; every asked name gets a value or a reason.
pub fn parse_output(
    out: &[u8],
    names: &[String],
) -> Result<BTreeMap<String, Result<String, String>>, String> {
    let mut map: BTreeMap<String, Entry> = serde_json::from_slice(out)
        .map_err(|e| format!("the secret command's output is not the expected JSON: {e}"))?;
    Ok(names
        .iter()
        .map(|n| {
            let r = match map.remove(n) {
                Some(Entry { error: Some(e), .. }) if !e.is_empty() => Err(e),
                Some(Entry { value: Some(v), .. }) => Ok(v),
                Some(_) => Err("the secret command gave no value".to_string()),
                None => Err("the secret command did not answer for it".to_string()),
            };
            (n.clone(), r)
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn script(dir: &std::path::Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("helper.sh");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
        p
    }

    #[test]
    fn a_helper_answers_each_name_or_says_why() {
        let dir = tempfile::tempdir().unwrap();
        // the helper echoes what it was asked for into a file, then answers
        let asked = dir.path().join("asked.json");
        let p = script(
            dir.path(),
            &format!(
                "cat > {}\necho '{{\"db_pw\": {{\"value\": \"s3cret\", \"error\": null}}, \"nope\": {{\"value\": null, \"error\": \"not in vault\"}}}}'",
                asked.display()
            ),
        );
        let names = vec![
            "db_pw".to_string(),
            "nope".to_string(),
            "missing".to_string(),
        ];
        let r = Backend::new(&p).fetch(&names).unwrap();
        assert_eq!(r["db_pw"], Ok("s3cret".to_string()));
        assert_eq!(r["nope"], Err("not in vault".to_string()));
        assert!(r["missing"]
            .as_ref()
            .unwrap_err()
            .contains("did not answer"));
        let sent: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&asked).unwrap()).unwrap();
        assert_eq!(sent["version"], "1.0");
        assert_eq!(
            sent["secrets"],
            serde_json::json!(["db_pw", "nope", "missing"])
        );
    }

    #[test]
    fn bad_helpers_are_refused_or_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["a".to_string()];
        let p = script(dir.path(), "sleep 5");
        let mut b = Backend::new(&p);
        b.timeout = Duration::from_millis(200);
        let t = Instant::now();
        assert!(b
            .fetch(&names)
            .unwrap_err()
            .contains("did not answer within"));
        assert!(t.elapsed() < Duration::from_secs(3));
        let p = script(dir.path(), "echo not json");
        assert!(Backend::new(&p)
            .fetch(&names)
            .unwrap_err()
            .contains("not the expected JSON"));
        let p = script(dir.path(), "exit 3");
        assert!(Backend::new(&p)
            .fetch(&names)
            .unwrap_err()
            .contains("failed"));
        let p = script(dir.path(), "head -c 3000000 /dev/zero");
        let mut b = Backend::new(&p);
        b.max_output = 1000;
        assert!(b
            .fetch(&names)
            .unwrap_err()
            .contains("more than 1000 bytes"));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(Backend::new(&p)
            .fetch(&names)
            .unwrap_err()
            .contains("writable by others"));
        assert!(Backend::new("relative")
            .fetch(&names)
            .unwrap_err()
            .contains("absolute"));
    }
}
