//! Config locators: what each service's own configuration says about its ports, sockets, logs
//! and status endpoints. Each takes the server process's command line (options there win over
//! the file) and the filesystem root the paths are read under (`/` on a host; a test tree in
//! tests). Nothing here panics or loops: includes are followed to a depth of 16, each file once,
//! and what cannot be read becomes a note.

use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What a service's configuration says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceConfig {
    /// The main config file used.
    pub path: Option<PathBuf>,
    /// Every file read (the main one and its includes).
    pub files: Vec<PathBuf>,
    /// TCP ports it listens on.
    pub ports: Vec<u16>,
    /// Bind addresses.
    pub binds: Vec<String>,
    /// Unix sockets.
    pub sockets: Vec<PathBuf>,
    /// Log files, with the parser lookout reads them with.
    pub logs: Vec<LogFile>,
    /// Status endpoints (nginx `stub_status`, Apache `server-status`), as URLs.
    pub status: Vec<String>,
    /// A version the layout tells (PostgreSQL's `/etc/postgresql/<version>/...`).
    pub version_hint: Option<String>,
    /// What could not be read, and why.
    pub notes: Vec<String>,
}

/// A log file a service writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogFile {
    /// Its path (a glob when the name holds a date pattern).
    pub path: PathBuf,
    /// `error`, `slow_query`, `access`, `server`.
    pub kind: String,
    /// The lookout parser for it: `auto`, `mysql_slow`, `postgresql`, `postgresql_csv`,
    /// `access_log`, `nginx`.
    pub parser: String,
    /// The nginx `log_format` name, for `parser: nginx`.
    pub format: Option<String>,
}

fn log(path: impl Into<PathBuf>, kind: &str, parser: &str) -> LogFile {
    LogFile {
        path: path.into(),
        kind: kind.into(),
        parser: parser.into(),
        format: None,
    }
}

/// `path` under `root` (`root` `/` leaves it as is).
fn under(root: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix("/") {
        Ok(rel) if root != Path::new("/") => root.join(rel),
        _ => path.to_path_buf(),
    }
}

/// Reads a config file under `root`, recording it (or why it could not be read).
/// [`read`] for a file of an include tree: `None` once it was read already (a cycle) or the
/// includes nest deeper than 16.
fn read_included(
    root: &Path,
    path: &Path,
    c: &mut ServiceConfig,
    seen: &mut HashSet<PathBuf>,
    depth: usize,
) -> Option<String> {
    if depth > 16 || !seen.insert(path.to_path_buf()) {
        return None;
    }
    read(root, path, c)
}

fn read(root: &Path, path: &Path, c: &mut ServiceConfig) -> Option<String> {
    match std::fs::read(under(root, path)) {
        Ok(b) => {
            c.files.push(path.to_path_buf());
            Some(String::from_utf8_lossy(&b).replace('\r', ""))
        }
        Err(e) => {
            c.notes.push(format!("cannot read {}: {e}", path.display()));
            None
        }
    }
}

/// The value of `--name=value` or `--name value` (also with `_` for `-`).
fn opt(cmdline: &[String], names: &[&str]) -> Option<String> {
    let mut it = cmdline.iter().skip(1);
    while let Some(a) = it.next() {
        for n in names {
            if let Some(v) = a.strip_prefix(n) {
                if let Some(v) = v.strip_prefix('=') {
                    return Some(v.to_string());
                }
                if v.is_empty() {
                    return it.next().cloned();
                }
            }
        }
    }
    None
}

/// Expands a glob of the last path component (`*.cnf`, `*`) to sorted existing files.
fn glob_files(root: &Path, pattern: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (
        pattern.parent(),
        pattern.file_name().and_then(|n| n.to_str()),
    ) else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return vec![pattern.to_path_buf()];
    }
    let Ok(rd) = std::fs::read_dir(under(root, dir)) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| wild(name.as_bytes(), n.as_bytes()))
        .map(|n| dir.join(n))
        .collect();
    out.sort();
    out
}

fn wild(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wild(&p[1..], s) || (!s.is_empty() && wild(p, &s[1..])),
        (Some(b'?'), Some(_)) => wild(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => wild(&p[1..], &s[1..]),
        _ => false,
    }
}

fn push_port(c: &mut ServiceConfig, p: u16) {
    if !c.ports.contains(&p) {
        c.ports.push(p);
    }
}

// ---------------------------------------------------------------- MySQL / MariaDB

/// `key = value` pairs of the server groups of a my.cnf tree (`[mysqld]`, `[server]`,
/// `[mariadb]`, versioned variants), following `!include` and `!includedir`.
fn my_cnf(
    root: &Path,
    path: &Path,
    c: &mut ServiceConfig,
    seen: &mut HashSet<PathBuf>,
    depth: usize,
    out: &mut Vec<(String, String)>,
) {
    let Some(text) = read_included(root, path, c, seen, depth) else {
        return;
    };
    let mut in_server = false;
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(inc) = l.strip_prefix("!includedir") {
            let dir = Path::new(inc.trim());
            for f in glob_files(root, &dir.join("*.cnf")) {
                my_cnf(root, &f, c, seen, depth + 1, out);
            }
            continue;
        }
        if let Some(inc) = l.strip_prefix("!include") {
            my_cnf(root, Path::new(inc.trim()), c, seen, depth + 1, out);
            continue;
        }
        if let Some(g) = l.strip_prefix('[').and_then(|g| g.strip_suffix(']')) {
            let g = g.trim().to_ascii_lowercase();
            in_server = ["mysqld", "server", "mariadb", "mariadbd"].contains(&g.as_str())
                || g.starts_with("mysqld-")
                || g.starts_with("mariadb-");
            continue;
        }
        if !in_server {
            continue;
        }
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        let k = k.trim().to_ascii_lowercase().replace('-', "_");
        let v = v
            .split('#')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches(['"', '\''])
            .to_string();
        out.push((k, v));
    }
}

/// MySQL or MariaDB: `--defaults-file`, else `/etc/mysql/my.cnf` (or `/etc/my.cnf`).
pub fn mysql_config(cmdline: &[String], root: &Path) -> ServiceConfig {
    let mut c = ServiceConfig::default();
    let path = opt(cmdline, &["--defaults-file", "--defaults_file"])
        .map(PathBuf::from)
        .or_else(|| {
            ["/etc/mysql/my.cnf", "/etc/my.cnf"]
                .into_iter()
                .map(PathBuf::from)
                .find(|p| under(root, p).exists())
        });
    let mut kv = Vec::new();
    if let Some(p) = &path {
        c.path = Some(p.clone());
        my_cnf(root, p, &mut c, &mut HashSet::new(), 0, &mut kv);
        if let Some(extra) = opt(cmdline, &["--defaults-extra-file"]) {
            my_cnf(
                root,
                Path::new(&extra),
                &mut c,
                &mut HashSet::new(),
                0,
                &mut kv,
            );
        }
    }
    let get = |k: &str| {
        kv.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let cli = |names: &[&str]| opt(cmdline, names);
    let datadir = cli(&["--datadir"])
        .or_else(|| get("datadir"))
        .unwrap_or_else(|| "/var/lib/mysql".into());
    let rel = |f: String| -> PathBuf {
        let p = PathBuf::from(&f);
        if p.is_absolute() {
            p
        } else {
            Path::new(&datadir).join(p)
        }
    };
    if get("skip_networking").is_none() {
        let port = cli(&["--port", "-P"])
            .or_else(|| get("port"))
            .and_then(|p| p.parse().ok())
            .unwrap_or(3306);
        push_port(&mut c, port);
    }
    if let Some(b) = cli(&["--bind-address"]).or_else(|| get("bind_address")) {
        c.binds.extend(b.split(',').map(|s| s.trim().to_string()));
    }
    c.sockets.push(PathBuf::from(
        cli(&["--socket"])
            .or_else(|| get("socket"))
            .unwrap_or_else(|| "/run/mysqld/mysqld.sock".into()),
    ));
    match cli(&["--log-error", "--log_error"]).or_else(|| get("log_error")) {
        Some(f) if !f.is_empty() => c.logs.push(log(rel(f), "error", "auto")),
        _ => c.notes.push(
            "log_error is not set: the error log goes to the service manager's journal".into(),
        ),
    }
    let on = |v: Option<String>| {
        v.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "" | "1" | "on" | "true"))
    };
    let slow_file = get("slow_query_log_file").unwrap_or_else(|| "slow.log".into());
    if on(get("slow_query_log")) {
        c.logs.push(log(rel(slow_file), "slow_query", "mysql_slow"));
    } else {
        c.notes.push("the slow query log is off (slow_query_log = 1 and long_query_time in [mysqld] turn it on)".into());
    }
    c
}

// ---------------------------------------------------------------- PostgreSQL

fn pg_conf(
    root: &Path,
    path: &Path,
    c: &mut ServiceConfig,
    seen: &mut HashSet<PathBuf>,
    depth: usize,
    out: &mut Vec<(String, String)>,
) {
    let Some(text) = read_included(root, path, c, seen, depth) else {
        return;
    };
    let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    for line in text.lines() {
        let l = strip_comment(line).trim().to_string();
        if l.is_empty() {
            continue;
        }
        let (k, v) = match l.split_once('=') {
            Some((k, v)) => (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('\'').to_string(),
            ),
            None => match l.split_once(char::is_whitespace) {
                Some((k, v)) => (
                    k.trim().to_ascii_lowercase(),
                    v.trim().trim_matches('\'').to_string(),
                ),
                None => continue,
            },
        };
        let resolve = |v: &str| {
            if Path::new(v).is_absolute() {
                PathBuf::from(v)
            } else {
                dir.join(v)
            }
        };
        match k.as_str() {
            "include" | "include_if_exists" => pg_conf(root, &resolve(&v), c, seen, depth + 1, out),
            "include_dir" => {
                for f in glob_files(root, &resolve(&v).join("*.conf")) {
                    pg_conf(root, &f, c, seen, depth + 1, out);
                }
            }
            _ => out.push((k, v)),
        }
    }
}

/// `#` starts a comment outside single quotes.
fn strip_comment(line: &str) -> &str {
    let mut q = false;
    for (i, ch) in line.char_indices() {
        match ch {
            '\'' => q = !q,
            '#' if !q => return &line[..i],
            _ => {}
        }
    }
    line
}

/// PostgreSQL: `-c config_file=`, `--config-file=`, else `<-D dir>/postgresql.conf`, else
/// Debian's `/etc/postgresql/<version>/<cluster>/postgresql.conf` of the data directory.
pub fn postgresql_config(cmdline: &[String], root: &Path) -> ServiceConfig {
    let mut c = ServiceConfig::default();
    let mut config_file = opt(cmdline, &["--config-file", "--config_file"]);
    let mut cli_settings: Vec<(String, String)> = Vec::new();
    let mut it = cmdline.iter().skip(1).peekable();
    let mut datadir = None;
    while let Some(a) = it.next() {
        let setting = if a == "-c" {
            it.next().cloned()
        } else {
            a.strip_prefix("-c")
                .filter(|s| s.contains('='))
                .map(String::from)
        };
        if let Some(s) = setting {
            if let Some((k, v)) = s.split_once('=') {
                let k = k.trim().replace('-', "_").to_ascii_lowercase();
                if k == "config_file" {
                    config_file = Some(v.trim().to_string());
                } else {
                    cli_settings.push((k, v.trim().to_string()));
                }
            }
        } else if a == "-D" {
            datadir = it.next().cloned();
        } else if let Some(d) = a.strip_prefix("-D") {
            datadir = Some(d.to_string());
        }
    }
    // Debian layout: /var/lib/postgresql/<ver>/<cluster> <-> /etc/postgresql/<ver>/<cluster>
    let debian = datadir.as_deref().and_then(|d| {
        let rest = d.strip_prefix("/var/lib/postgresql/")?;
        let mut parts = rest.trim_end_matches('/').split('/');
        Some((parts.next()?.to_string(), parts.next()?.to_string()))
    });
    if config_file.is_none() {
        config_file = match (&debian, &datadir) {
            (Some((v, cl)), _) => Some(format!("/etc/postgresql/{v}/{cl}/postgresql.conf")),
            (None, Some(d)) => Some(format!("{d}/postgresql.conf")),
            _ => None,
        };
    }
    let mut kv = Vec::new();
    if let Some(f) = &config_file {
        let p = PathBuf::from(f);
        c.path = Some(p.clone());
        if let Some(v) = p
            .strip_prefix("/etc/postgresql/")
            .ok()
            .and_then(|r| r.iter().next())
            .and_then(|v| v.to_str())
        {
            c.version_hint = Some(v.to_string());
        }
        pg_conf(root, &p, &mut c, &mut HashSet::new(), 0, &mut kv);
    }
    kv.extend(cli_settings);
    let get = |k: &str| {
        kv.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let port: u16 = get("port").and_then(|p| p.parse().ok()).unwrap_or(5432);
    push_port(&mut c, port);
    let listen = get("listen_addresses").unwrap_or_else(|| "localhost".into());
    for a in listen.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        if a == "localhost" {
            c.binds.push("127.0.0.1".into());
            c.binds.push("::1".into());
        } else {
            c.binds.push(a.to_string());
        }
    }
    let sockdirs = get("unix_socket_directories").unwrap_or_else(|| "/var/run/postgresql".into());
    for d in sockdirs
        .split(',')
        .map(str::trim)
        .filter(|d| d.starts_with('/'))
    {
        c.sockets
            .push(Path::new(d).join(format!(".s.PGSQL.{port}")));
    }
    let data_dir = get("data_directory")
        .or(datadir.clone())
        .unwrap_or_default();
    let collector = get("logging_collector")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "1" | "yes"));
    let dest = get("log_destination")
        .unwrap_or_else(|| "stderr".into())
        .to_ascii_lowercase();
    if let Some(prefix) = get("log_line_prefix") {
        if prefix != "%m [%p] %q%u@%d " && dest.contains("stderr") {
            c.notes.push(format!("log_line_prefix is '{prefix}': the postgresql parser expects '%m [%p] %q%u@%d ' (records are kept as plain text)"));
        }
    }
    if collector {
        let dir = get("log_directory").unwrap_or_else(|| "log".into());
        let dir = if Path::new(&dir).is_absolute() {
            PathBuf::from(dir)
        } else {
            Path::new(&data_dir).join(dir)
        };
        let name = get("log_filename").unwrap_or_else(|| "postgresql-%Y-%m-%d_%H%M%S.log".into());
        let glob = globify(&name);
        if dest.contains("stderr") {
            c.logs.push(log(dir.join(&glob), "server", "postgresql"));
        }
        if dest.contains("csvlog") {
            let csv = glob
                .strip_suffix(".log")
                .map(|b| format!("{b}.csv"))
                .unwrap_or_else(|| format!("{glob}.csv"));
            c.logs.push(log(dir.join(csv), "server", "postgresql_csv"));
        }
    } else if let Some((v, cl)) = &debian {
        // pg_ctlcluster sends the server's stderr here
        c.logs.push(log(
            format!("/var/log/postgresql/postgresql-{v}-{cl}.log"),
            "server",
            "postgresql",
        ));
    } else {
        c.notes
            .push("logging_collector is off: the server log goes wherever its stderr goes".into());
    }
    c
}

/// A `log_filename` with `%` escapes as a glob (`postgresql-%a.log` → `postgresql-*.log`).
fn globify(name: &str) -> String {
    let mut out = String::new();
    let mut chars = name.chars();
    while let Some(ch) = chars.next() {
        if ch == '%' {
            chars.next();
            if !out.ends_with('*') {
                out.push('*');
            }
        } else {
            out.push(ch);
        }
    }
    out
}

// ---------------------------------------------------------------- Redis

/// Redis: the config file argument (or `/etc/redis/redis.conf` when no argument names one and
/// the process title has no address), then `--port`, `--bind`, `--unixsocket`, `--logfile`.
pub fn redis_config(cmdline: &[String], root: &Path) -> ServiceConfig {
    let mut c = ServiceConfig::default();
    // the process title may be one string: `redis-server 127.0.0.1:6379`
    // a rewritten process title is one string, padded with empty arguments
    let args: Vec<String> = if cmdline.first().is_some_and(|a| a.contains(' ')) {
        cmdline
            .join(" ")
            .split_whitespace()
            .map(String::from)
            .collect()
    } else {
        cmdline.iter().filter(|a| !a.is_empty()).cloned().collect()
    };
    let file = args.iter().skip(1).find(|a| a.ends_with(".conf")).cloned();
    let title_addr = args
        .iter()
        .skip(1)
        .find(|a| {
            !a.starts_with('-')
                && a.rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        })
        .cloned();
    let mut kv: Vec<(String, String)> = Vec::new();
    let chosen = file.clone().or_else(|| {
        (title_addr.is_none() && args.len() <= 1).then(|| "/etc/redis/redis.conf".to_string())
    });
    if let Some(f) = &chosen {
        let p = PathBuf::from(f);
        redis_conf(root, &p, &mut c, &mut HashSet::new(), 0, &mut kv);
        if c.files.contains(&p) {
            c.path = Some(p);
        }
    }
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if let Some(k) = a.strip_prefix("--") {
            let mut vals = Vec::new();
            let mut peek = it.clone();
            while let Some(v) = peek.next() {
                if v.starts_with("--") {
                    break;
                }
                vals.push(v.clone());
                it = peek.clone();
            }
            kv.push((k.to_ascii_lowercase(), vals.join(" ")));
        }
    }
    let get = |k: &str| {
        kv.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    match (get("port"), &title_addr) {
        (Some(p), _) => {
            if let Ok(p) = p.parse() {
                if p != 0 {
                    push_port(&mut c, p);
                }
            }
        }
        (None, Some(addr)) => {
            if let Some((h, p)) = addr.rsplit_once(':') {
                if let Ok(p) = p.parse() {
                    push_port(&mut c, p);
                }
                c.binds.push(h.trim_matches(['[', ']']).to_string());
            }
        }
        (None, None) => push_port(&mut c, 6379),
    }
    if let Some(b) = get("bind") {
        c.binds.extend(
            b.split_whitespace()
                .map(|s| s.trim_start_matches('-').to_string()),
        );
    }
    if let Some(s) = get("unixsocket").filter(|s| !s.is_empty()) {
        c.sockets.push(PathBuf::from(s));
    }
    match get("logfile").filter(|f| !f.trim_matches('"').is_empty()) {
        Some(f) => c.logs.push(log(f.trim_matches('"'), "server", "auto")),
        None => c
            .notes
            .push("logfile is empty: Redis logs to its standard output".into()),
    }
    c
}

fn redis_conf(
    root: &Path,
    path: &Path,
    c: &mut ServiceConfig,
    seen: &mut HashSet<PathBuf>,
    depth: usize,
    out: &mut Vec<(String, String)>,
) {
    let Some(text) = read_included(root, path, c, seen, depth) else {
        return;
    };
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (k, v) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let k = k.to_ascii_lowercase();
        if k == "include" {
            redis_conf(root, Path::new(v.trim()), c, seen, depth + 1, out);
        } else {
            out.push((k, v.trim().to_string()));
        }
    }
}

// ---------------------------------------------------------------- nginx

/// nginx config tokens: words (quotes removed), `;`, `{`, `}`; `#` comments dropped.
pub fn nginx_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    while let Some(ch) = chars.next() {
        match ch {
            '#' => {
                flush(&mut cur, &mut out);
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' | '\'' => {
                for c in chars.by_ref() {
                    if c == ch {
                        break;
                    }
                    cur.push(c);
                }
                out.push(std::mem::take(&mut cur));
            }
            ';' | '{' | '}' => {
                flush(&mut cur, &mut out);
                out.push(ch.to_string());
            }
            c if c.is_whitespace() => flush(&mut cur, &mut out),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// nginx: `-c` (relative to `-p`), else `/etc/nginx/nginx.conf`, with includes.
pub fn nginx_config(cmdline: &[String], root: &Path) -> ServiceConfig {
    let mut c = ServiceConfig::default();
    let args: Vec<String> = if cmdline.len() == 1 {
        cmdline[0].split_whitespace().map(String::from).collect()
    } else {
        cmdline.to_vec()
    };
    let prefix = opt(&args, &["-p"]).map(PathBuf::from);
    let conf = opt(&args, &["-c"])
        .map(PathBuf::from)
        .map(|p| match (&prefix, p.is_absolute()) {
            (Some(pre), false) => pre.join(p),
            _ => p,
        });
    let path = conf.unwrap_or_else(|| PathBuf::from("/etc/nginx/nginx.conf"));
    let base = path
        .parent()
        .unwrap_or(Path::new("/etc/nginx"))
        .to_path_buf();
    let mut tokens = Vec::new();
    nginx_read(
        root,
        &path,
        &base,
        &mut c,
        &mut HashSet::new(),
        0,
        &mut tokens,
    );
    if c.files.contains(&path) {
        c.path = Some(path);
    }
    nginx_walk(&tokens, &mut c);
    c
}

fn nginx_read(
    root: &Path,
    path: &Path,
    base: &Path,
    c: &mut ServiceConfig,
    seen: &mut HashSet<PathBuf>,
    depth: usize,
    out: &mut Vec<String>,
) {
    let Some(text) = read_included(root, path, c, seen, depth) else {
        return;
    };
    let toks = nginx_tokens(&text);
    let mut i = 0;
    while i < toks.len() {
        if toks[i] == "include" && toks.get(i + 2).is_some_and(|t| t == ";") {
            let inc = Path::new(&toks[i + 1]);
            let inc = if inc.is_absolute() {
                inc.to_path_buf()
            } else {
                base.join(inc)
            };
            for f in glob_files(root, &inc) {
                nginx_read(root, &f, base, c, seen, depth + 1, out);
            }
            i += 3;
            continue;
        }
        out.push(toks[i].clone());
        i += 1;
    }
}

/// Walks directives: `listen`, `access_log`, `error_log`, `location ... { stub_status; }`.
fn nginx_walk(toks: &[String], c: &mut ServiceConfig) {
    // (block name, first listen of the enclosing server, location path)
    let mut stack: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    let mut stmt: Vec<&str> = Vec::new();
    for t in toks {
        match t.as_str() {
            "{" => {
                let name = stmt.first().copied().unwrap_or("").to_string();
                let loc =
                    (name == "location").then(|| stmt.last().copied().unwrap_or("/").to_string());
                let listen = stack.iter().rev().find_map(|s| s.1.clone());
                stack.push((name, listen, loc));
                stmt.clear();
            }
            "}" => {
                stack.pop();
                stmt.clear();
            }
            ";" => {
                match stmt.first().copied() {
                    Some("listen") => {
                        if let Some(a) = stmt.get(1) {
                            if let Some(sock) = a.strip_prefix("unix:") {
                                c.sockets.push(PathBuf::from(sock));
                            } else {
                                let port = a.rsplit_once(':').map(|(_, p)| p).unwrap_or(a);
                                if let Ok(p) = port.parse() {
                                    push_port(c, p);
                                }
                                if let Some((h, _)) = a.rsplit_once(':') {
                                    c.binds.push(h.trim_matches(['[', ']']).to_string());
                                }
                                if let Some(s) = stack.iter_mut().rev().find(|s| s.0 == "server") {
                                    if s.1.is_none() {
                                        s.1 = Some(a.to_string());
                                    }
                                }
                            }
                        }
                    }
                    Some("access_log") => {
                        if let Some(p) = stmt
                            .get(1)
                            .filter(|p| **p != "off" && !p.starts_with("syslog:"))
                        {
                            let mut l = log(*p, "access", "access_log");
                            if let Some(fmt) = stmt
                                .get(2)
                                .filter(|f| **f != "combined" && !f.contains('='))
                            {
                                l.parser = "nginx".into();
                                l.format = Some(fmt.to_string());
                            }
                            if !c.logs.contains(&l) {
                                c.logs.push(l);
                            }
                        }
                    }
                    Some("error_log") => {
                        if let Some(p) = stmt
                            .get(1)
                            .filter(|p| !p.starts_with("syslog:") && **p != "stderr")
                        {
                            let l = log(*p, "error", "auto");
                            if !c.logs.contains(&l) {
                                c.logs.push(l);
                            }
                        }
                    }
                    Some("stub_status") => {
                        let loc = stack
                            .iter()
                            .rev()
                            .find_map(|s| s.2.clone())
                            .unwrap_or_else(|| "/".into());
                        let listen = stack
                            .iter()
                            .rev()
                            .find_map(|s| s.1.clone())
                            .unwrap_or_else(|| "80".into());
                        let addr = if listen.contains(':') {
                            listen
                                .replace("0.0.0.0", "127.0.0.1")
                                .replace("[::]", "127.0.0.1")
                        } else {
                            format!("127.0.0.1:{listen}")
                        };
                        c.status.push(format!("http://{addr}{loc}"));
                    }
                    _ => {}
                }
                stmt.clear();
            }
            w => stmt.push(w),
        }
    }
}

// ---------------------------------------------------------------- Apache

/// Apache httpd: `-f` (relative to `-d`), else Debian's `/etc/apache2/apache2.conf` or
/// `/etc/httpd/conf/httpd.conf`; `${VAR}` from Debian's `envvars`; `Include(Optional)` globs.
pub fn apache_config(cmdline: &[String], root: &Path) -> ServiceConfig {
    let mut c = ServiceConfig::default();
    let server_root = opt(cmdline, &["-d"]).map(PathBuf::from);
    let path = opt(cmdline, &["-f"])
        .map(PathBuf::from)
        .map(|p| match (&server_root, p.is_absolute()) {
            (Some(r), false) => r.join(p),
            _ => p,
        })
        .or_else(|| {
            ["/etc/apache2/apache2.conf", "/etc/httpd/conf/httpd.conf"]
                .into_iter()
                .map(PathBuf::from)
                .find(|p| under(root, p).exists())
        });
    let Some(path) = path else {
        c.notes.push("no Apache configuration found".into());
        return c;
    };
    let mut vars: Vec<(String, String)> = Vec::new();
    if let Ok(env) = std::fs::read_to_string(under(root, Path::new("/etc/apache2/envvars"))) {
        for l in env.lines() {
            if let Some(rest) = l.trim().strip_prefix("export ") {
                if let Some((k, v)) = rest.split_once('=') {
                    let v = v.trim().trim_matches('"').replace("$SUFFIX", "");
                    vars.push((k.trim().to_string(), v));
                }
            }
        }
    }
    let base = server_root.unwrap_or_else(|| {
        path.parent()
            .unwrap_or(Path::new("/etc/apache2"))
            .to_path_buf()
    });
    let mut lines = Vec::new();
    apache_read(
        root,
        &path,
        &base,
        &vars,
        &mut c,
        &mut HashSet::new(),
        0,
        &mut lines,
    );
    if c.files.contains(&path) {
        c.path = Some(path);
    }
    let mut location: Option<String> = None;
    for l in &lines {
        let mut w = l.split_whitespace();
        let Some(d) = w.next() else { continue };
        let args: Vec<&str> = w.map(|a| a.trim_matches('"')).collect();
        match d.to_ascii_lowercase().as_str() {
            "listen" => {
                if let Some(a) = args.first() {
                    let port = a.rsplit_once(':').map(|(_, p)| p).unwrap_or(a);
                    if let Ok(p) = port.parse() {
                        push_port(&mut c, p);
                    }
                    if let Some((h, _)) = a.rsplit_once(':') {
                        c.binds.push(h.trim_matches(['[', ']']).to_string());
                    }
                }
            }
            "errorlog" => {
                if let Some(p) = args
                    .first()
                    .filter(|p| !p.starts_with('|') && !p.starts_with("syslog"))
                {
                    let l = log(*p, "error", "auto");
                    if !c.logs.contains(&l) {
                        c.logs.push(l);
                    }
                }
            }
            "customlog" => {
                if let Some(p) = args.first().filter(|p| !p.starts_with('|')) {
                    let fmt = args.get(1).copied().unwrap_or("common");
                    let parser = if fmt == "combined" || fmt == "common" || fmt == "vhost_combined"
                    {
                        "access_log"
                    } else {
                        "auto"
                    };
                    let l = log(*p, "access", parser);
                    if !c.logs.contains(&l) {
                        c.logs.push(l);
                    }
                }
            }
            "<location" => location = args.first().map(|a| a.trim_end_matches('>').to_string()),
            "</location>" => location = None,
            "sethandler" if args.first() == Some(&"server-status") => {
                let port = c.ports.first().copied().unwrap_or(80);
                let loc = location.clone().unwrap_or_else(|| "/server-status".into());
                c.status.push(format!("http://127.0.0.1:{port}{loc}?auto"));
            }
            _ => {}
        }
    }
    c
}

#[allow(clippy::too_many_arguments)]
fn apache_read(
    root: &Path,
    path: &Path,
    base: &Path,
    vars: &[(String, String)],
    c: &mut ServiceConfig,
    seen: &mut HashSet<PathBuf>,
    depth: usize,
    out: &mut Vec<String>,
) {
    let Some(text) = read_included(root, path, c, seen, depth) else {
        return;
    };
    let mut joined = String::new();
    for raw in text.lines() {
        // a trailing backslash continues the line
        if let Some(part) = raw.strip_suffix('\\') {
            joined.push_str(part);
            joined.push(' ');
            continue;
        }
        joined.push_str(raw);
        let mut l = std::mem::take(&mut joined).trim().to_string();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        for (k, v) in vars {
            l = l.replace(&format!("${{{k}}}"), v);
        }
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("include ") || lower.starts_with("includeoptional ") {
            let arg = l.split_whitespace().nth(1).unwrap_or("").trim_matches('"');
            let p = Path::new(arg);
            let p = if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            };
            for f in glob_files(root, &p) {
                apache_read(root, &f, base, vars, c, seen, depth + 1, out);
            }
            continue;
        }
        out.push(l);
    }
}

/// The fuzz body: the bytes, as lossy text, through the pure parts (nginx tokenizer and walk,
/// glob matcher, PostgreSQL comment stripping, `log_filename` globbing). Nothing may panic.
pub fn fuzz_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let toks = nginx_tokens(&text);
    let mut c = ServiceConfig::default();
    nginx_walk(&toks, &mut c);
    for line in text.lines().take(64) {
        let _ = strip_comment(line);
        let _ = globify(line);
        let _ = wild(line.as_bytes(), b"postgresql-15-main.log");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let full = d.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        d
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn mysql_with_includes_and_the_slow_log() {
        let t = tree(&[
            ("/etc/mysql/my.cnf", "[client]\nport=1\n[mysqld]\n!includedir /etc/mysql/conf.d/\n"),
            ("/etc/mysql/conf.d/50-server.cnf", "[mariadb]\r\nport = 3307\nbind-address=0.0.0.0\nlog_error = err.log\nslow_query_log = 1\nslow-query-log-file=/var/log/mysql/slow.log # here\n"),
        ]);
        let c = mysql_config(&s(&["/usr/sbin/mariadbd"]), t.path());
        assert_eq!(c.ports, [3307]);
        assert_eq!(c.binds, ["0.0.0.0"]);
        assert_eq!(c.logs[0].path, PathBuf::from("/var/lib/mysql/err.log"));
        assert_eq!(
            c.logs[1],
            log("/var/log/mysql/slow.log", "slow_query", "mysql_slow")
        );
        assert_eq!(c.files.len(), 2);
        let c = mysql_config(&s(&["/usr/sbin/mariadbd", "--port=3310"]), t.path());
        assert_eq!(c.ports, [3310]);
    }

    #[test]
    fn postgresql_debian_layout() {
        let t = tree(&[
            ("/etc/postgresql/16/main/postgresql.conf", "port = 5433 # x\nlisten_addresses = 'localhost'\ninclude_dir = 'conf.d'\nlog_line_prefix = '%m [%p] '\n"),
            ("/etc/postgresql/16/main/conf.d/logs.conf", "logging_collector = on\nlog_destination = 'stderr,csvlog'\nlog_filename = 'postgresql-%a.log'\n"),
        ]);
        let c = postgresql_config(
            &s(&[
                "/usr/lib/postgresql/16/bin/postgres",
                "-D",
                "/var/lib/postgresql/16/main",
            ]),
            t.path(),
        );
        assert_eq!(c.ports, [5433]);
        assert_eq!(c.version_hint.as_deref(), Some("16"));
        assert_eq!(
            c.sockets,
            [PathBuf::from("/var/run/postgresql/.s.PGSQL.5433")]
        );
        assert_eq!(
            c.logs[0],
            log(
                "/var/lib/postgresql/16/main/log/postgresql-*.log",
                "server",
                "postgresql"
            )
        );
        assert_eq!(c.logs[1].parser, "postgresql_csv");
        assert!(c.notes.iter().any(|n| n.contains("log_line_prefix")));
    }

    #[test]
    fn redis_file_then_command_line() {
        let t = tree(&[(
            "/srv/r.conf",
            "port 7000\nbind 127.0.0.1 -::1\nlogfile \"/var/log/r.log\"\nunixsocket /run/r.sock\n",
        )]);
        let c = redis_config(
            &s(&["redis-server", "/srv/r.conf", "--port", "7001"]),
            t.path(),
        );
        assert_eq!(c.ports, [7001]);
        assert_eq!(c.binds, ["127.0.0.1", "::1"]);
        assert_eq!(c.logs[0].path, PathBuf::from("/var/log/r.log"));
        assert_eq!(c.sockets, [PathBuf::from("/run/r.sock")]);
        let c = redis_config(&s(&["redis-server 127.0.0.1:6380"]), t.path());
        assert_eq!(c.ports, [6380]);
        assert!(c.path.is_none());
    }

    #[test]
    fn nginx_includes_formats_and_stub_status() {
        let t = tree(&[
            ("/etc/nginx/nginx.conf", "events {}\nhttp {\n  log_format main '$remote_addr \"$request\"';\n  access_log /var/log/nginx/access.log;\n  error_log /var/log/nginx/error.log warn;\n  include /etc/nginx/sites-enabled/*;\n}\n"),
            ("/etc/nginx/sites-enabled/default", "server {\n listen 127.0.0.1:8080; # comment\n listen [::]:8080;\n access_log /var/log/nginx/app.log main;\n location = /basic_status { stub_status; }\n}\n"),
        ]);
        let c = nginx_config(&s(&["nginx: master process /usr/sbin/nginx"]), t.path());
        assert_eq!(c.ports, [8080]);
        assert_eq!(c.status, ["http://127.0.0.1:8080/basic_status"]);
        let app = c.logs.iter().find(|l| l.path.ends_with("app.log")).unwrap();
        assert_eq!(
            (app.parser.as_str(), app.format.as_deref()),
            ("nginx", Some("main"))
        );
        assert!(c.logs.iter().any(|l| l.kind == "error"));
    }

    #[test]
    fn apache_debian_layout() {
        let t = tree(&[
            ("/etc/apache2/envvars", "export APACHE_LOG_DIR=/var/log/apache2$SUFFIX\n"),
            ("/etc/apache2/apache2.conf", "ErrorLog ${APACHE_LOG_DIR}/error.log\nInclude ports.conf\nIncludeOptional sites-enabled/*.conf\n"),
            ("/etc/apache2/ports.conf", "Listen 8081\n"),
            ("/etc/apache2/sites-enabled/000-default.conf", "<VirtualHost *:8081>\n  CustomLog ${APACHE_LOG_DIR}/access.log combined\n  <Location /server-status>\n    SetHandler server-status\n  </Location>\n</VirtualHost>\n"),
        ]);
        let c = apache_config(&s(&["/usr/sbin/apache2", "-k", "start"]), t.path());
        assert_eq!(c.ports, [8081]);
        assert_eq!(
            c.logs[0],
            log("/var/log/apache2/error.log", "error", "auto")
        );
        assert_eq!(
            c.logs[1],
            log("/var/log/apache2/access.log", "access", "access_log")
        );
        assert_eq!(c.status, ["http://127.0.0.1:8081/server-status?auto"]);
    }

    #[test]
    fn cyclic_includes_end_and_missing_files_are_noted() {
        let t = tree(&[(
            "/etc/redis/a.conf",
            "include /etc/redis/a.conf\nport 1\ninclude /nope.conf\n",
        )]);
        let c = redis_config(&s(&["redis-server", "/etc/redis/a.conf"]), t.path());
        assert_eq!(c.ports, [1]);
        assert!(c.notes.iter().any(|n| n.contains("/nope.conf")));
        fuzz_one(b"server { listen ; location { stub_status ; } } } } \"unclosed");
    }

    #[test]
    fn this_machines_real_configs() {
        let root = Path::new("/");
        if !Path::new("/etc/mysql/my.cnf").exists() {
            panic!("MariaDB's /etc/mysql/my.cnf is missing: install mariadb-server");
        }
        let m = mysql_config(&s(&["/usr/sbin/mariadbd"]), root);
        assert_eq!(m.ports, [3306]);
        assert_eq!(m.sockets, [PathBuf::from("/run/mysqld/mysqld.sock")]);
        let p = postgresql_config(
            &s(&[
                "/usr/lib/postgresql/15/bin/postgres",
                "-D",
                "/var/lib/postgresql/15/main",
                "-c",
                "config_file=/etc/postgresql/15/main/postgresql.conf",
            ]),
            root,
        );
        assert_eq!(p.ports, [5432]);
        assert_eq!(p.version_hint.as_deref(), Some("15"));
        assert!(
            p.logs
                .iter()
                .any(|l| l.path == Path::new("/var/log/postgresql/postgresql-15-main.log")),
            "{p:?}"
        );
        let r = redis_config(&s(&["redis-server 127.0.0.1:6379"]), root);
        assert_eq!(r.ports, [6379]);
        if Path::new("/etc/nginx/nginx.conf").exists() {
            let n = nginx_config(
                &s(&["nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"]),
                root,
            );
            assert!(n.ports.contains(&80), "{n:?}");
            assert!(
                n.logs
                    .iter()
                    .any(|l| l.path == Path::new("/var/log/nginx/access.log")),
                "{n:?}"
            );
        }
        if Path::new("/etc/apache2/apache2.conf").exists() {
            let a = apache_config(&s(&["/usr/sbin/apache2", "-k", "start"]), root);
            assert!(a.ports.contains(&80), "{a:?}");
            assert!(
                a.logs
                    .iter()
                    .any(|l| l.path == Path::new("/var/log/apache2/error.log")),
                "{a:?}"
            );
        }
    }
}
