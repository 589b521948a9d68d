//! `lookout diagnose --bundle FILE`: one archive (`.tar.gz`) for a support case: the
//! configuration (masked), the diagnose checks, the running agent's status, self-metrics, log
//! sources and pipeline, the agent's recent log (its `agent.log`, or the journal of the
//! `lookout` unit), the audit log's tail and facts about the host.
//!
//! No secret may leave in it: besides the masking of the configuration, every file is scrubbed
//! of every secret value this host gives lookout (the secret store's values, the environment
//! variables and files the configuration refers to) and passed through the `redact`
//! processor's built-in rules (keys, tokens, passwords, cards).

use super::{out, Global};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Lines of a log kept.
const LOG_LINES: usize = 2000;

/// The secret values this host gives lookout: the store's, and those the configuration file
/// refers to with `${env:...}` and `${file:...}`. Shorter than 4 characters they are not
/// scrubbed (they would erase common words), but such secrets are not worth the name.
fn known_secrets(g: &Global) -> Vec<String> {
    let mut v = Vec::new();
    let dir = super::secrets_cmd::store_dir(g);
    if lookout_secrets::Store::path(&dir).exists() {
        if let Ok(s) = lookout_secrets::Store::open_in(&dir, false) {
            for n in s.names() {
                if let Some(x) = s.get(n) {
                    v.push(x.to_string());
                }
            }
        }
    }
    let text = g
        .config
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find('}') else { break };
        let r = &rest[..end];
        if let Some(name) = r.strip_prefix("env:") {
            let name = name.split(":-").next().unwrap_or(name);
            if let Ok(x) = std::env::var(name) {
                v.push(x);
            }
        } else if let Some(p) = r.strip_prefix("file:") {
            if let Ok(x) = std::fs::read_to_string(p) {
                v.push(x.trim_end_matches(['\n', '\r']).to_string());
            }
        }
    }
    v.retain(|s| s.len() >= 4);
    // longest first, so a secret containing another is replaced whole
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v.dedup();
    v
}

/// Scrubs one text: known values, then the redaction rules.
struct Scrubber {
    known: Vec<String>,
    redactor: Option<lookout_processors::Redactor>,
}

impl Scrubber {
    fn new(g: &Global) -> Scrubber {
        Scrubber {
            known: known_secrets(g),
            redactor: lookout_processors::Redactor::new(&lookout_config::RedactConfig::default())
                .ok(),
        }
    }

    fn scrub(&self, text: &str) -> String {
        let mut t = text.to_string();
        for s in &self.known {
            if t.contains(s.as_str()) {
                t = t.replace(s.as_str(), "***");
            }
        }
        match &self.redactor {
            Some(r) => t
                .lines()
                .map(|l| r.redact_str(l).unwrap_or_else(|| l.to_string()))
                .collect::<Vec<_>>()
                .join("\n"),
            None => t,
        }
    }
}

/// A tar archive, written by hand (POSIX ustar: a 512-byte header per file, the content padded
/// to 512 bytes, two empty blocks at the end).
struct Tar<W: Write> {
    w: W,
    mtime: u64,
}

impl<W: Write> Tar<W> {
    fn add(&mut self, name: &str, data: &[u8]) -> std::io::Result<()> {
        let mut h = [0u8; 512];
        let name = name.as_bytes();
        let n = name.len().min(99);
        h[..n].copy_from_slice(&name[..n]);
        let octal = |h: &mut [u8], at: usize, width: usize, v: u64| {
            let s = format!("{v:0w$o}\0", w = width - 1);
            h[at..at + width].copy_from_slice(&s.as_bytes()[..width]);
        };
        octal(&mut h, 100, 8, 0o600);
        octal(&mut h, 108, 8, 0);
        octal(&mut h, 116, 8, 0);
        octal(&mut h, 124, 12, data.len() as u64);
        octal(&mut h, 136, 12, self.mtime);
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data)?;
        let pad = (512 - data.len() % 512) % 512;
        self.w.write_all(&vec![0u8; pad])
    }

    fn finish(mut self) -> std::io::Result<W> {
        self.w.write_all(&[0u8; 1024])?;
        Ok(self.w)
    }
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn run_text(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| format!("({cmd}: {e})"))
}

fn environment() -> String {
    let mut t = String::new();
    t.push_str(&format!("lookout {}\n", env!("CARGO_PKG_VERSION")));
    t.push_str(&format!("uname: {}", run_text("uname", &["-a"])));
    t.push_str(&format!(
        "os-release:\n{}\n",
        std::fs::read_to_string("/etc/os-release").unwrap_or_default()
    ));
    t.push_str(&format!(
        "cpus: {}\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));
    for f in ["/proc/meminfo", "/proc/loadavg", "/proc/uptime"] {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        t.push_str(&format!("{f}:\n{}\n", tail_lines(&text, 5)));
    }
    t.push_str(&format!("user: {}", run_text("id", &[])));
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for l in status.lines().filter(|l| l.starts_with("Cap")) {
        t.push_str(&format!("{l}\n"));
    }
    t
}

/// Writes the bundle.
pub fn main(g: &Global, file: &Path) -> anyhow::Result<ExitCode> {
    let scrub = Scrubber::new(g);
    let dir = super::data_dir(g);
    let client = lookout_api::Client::new(&dir).with_timeout(std::time::Duration::from_secs(10));
    let mut files: Vec<(String, String)> = Vec::new();
    // the configuration, as the agent shows it (masked), or as this command reads it
    let config = match client.get::<lookout_api::ConfigView>(lookout_api::paths::CONFIG) {
        Ok(v) => v.effective_yaml,
        Err(_) => match super::load_config(g, None) {
            Ok(c) => lookout_config::to_yaml(&c),
            Err(_) => "# the configuration does not load: see diagnose.json\n".to_string(),
        },
    };
    files.push(("config.yaml".into(), config));
    let checks = super::diagnose::checks(g);
    files.push((
        "diagnose.json".into(),
        serde_json::to_string_pretty(&checks)?,
    ));
    let agent = |path: &str| match client.raw("GET", path, None) {
        Ok((200, body)) => body,
        Ok((code, body)) => format!("HTTP {code}: {body}"),
        Err(e) => format!("{e}"),
    };
    files.push(("status.json".into(), agent(lookout_api::paths::STATUS)));
    files.push((
        "log-sources.json".into(),
        agent(lookout_api::paths::LOG_SOURCES),
    ));
    files.push(("host.json".into(), agent(lookout_api::paths::HOST)));
    let metrics = crate::datadir::read_info(&dir)
        .map(|i| match super::status::http_get(&i.server, "/metrics") {
            Ok((_, body)) => body,
            Err(e) => format!("cannot read /metrics: {e}"),
        })
        .unwrap_or_else(|| "the agent's HTTP server is off or not running".into());
    files.push(("self-metrics.txt".into(), metrics));
    let log = match std::fs::read_to_string(dir.join("agent.log")) {
        Ok(t) => tail_lines(&t, LOG_LINES),
        Err(_) => run_text(
            "journalctl",
            &["-u", "lookout", "-n", &LOG_LINES.to_string(), "--no-pager"],
        ),
    };
    files.push(("agent-log.txt".into(), log));
    let audit = std::fs::read_to_string(dir.join("audit.log")).unwrap_or_default();
    files.push(("audit-log.jsonl".into(), tail_lines(&audit, LOG_LINES)));
    files.push(("environment.txt".into(), environment()));

    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let f = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(file)?
    };
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    let mut tar = Tar { w: gz, mtime };
    for (name, text) in &files {
        tar.add(
            &format!("lookout-bundle/{name}"),
            scrub.scrub(text).as_bytes(),
        )?;
    }
    tar.finish()?.finish()?;
    out(&format!(
        "wrote {} ({} files, secrets scrubbed): attach it to the support case",
        file.display(),
        files.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tar_headers_are_valid_ustar() {
        let mut t = Tar {
            w: Vec::new(),
            mtime: 1_700_000_000,
        };
        t.add("a/b.txt", b"hello").unwrap();
        let v = t.finish().unwrap();
        assert_eq!(v.len(), 512 + 512 + 1024);
        assert_eq!(&v[..7], b"a/b.txt");
        assert_eq!(&v[257..262], b"ustar");
        // the checksum field holds the sum of the header with the field as spaces
        let mut h = v[..512].to_vec();
        let stored = u64::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        h[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, h.iter().map(|b| u64::from(*b)).sum::<u64>());
        assert_eq!(&v[512..517], b"hello");
    }
}
