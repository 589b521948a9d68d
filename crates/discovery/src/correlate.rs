//! Correlation: scanner signals combined into service instances, each with a confidence in
//! [0, 1] and the reasons that produced it.
//!
//! # Weights
//! | signal | weight |
//! |---|---|
//! | the process is the service's server binary (name or executable) | 0.35 |
//! | it (or a child of the same binary) listens on a TCP/UDP port or a Unix socket | 0.25 |
//! | one of those listeners is on the service's default port or its configured one | 0.10 |
//! | its configuration file was found and read | 0.10 |
//! | an installed package owns its executable (dpkg file list) | 0.20 |
//!
//! The sum is capped at 1. A service is configured when its confidence reaches
//! [`THRESHOLD`]: the binary plus a listener plus one more signal. A process that only has the
//! right name (a script called `mysqld`) stays below; so does a listener on a well-known port
//! owned by another program (`nc -l 3306`), which is reported with the port's weight alone.

use crate::configs::{self, ServiceConfig};
use crate::model::{ContainerInfo, HostScan, Listener, Package, ProcessInfo, Proto};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The confidence from which a service is configured.
pub const THRESHOLD: f64 = 0.7;

const W_BINARY: f64 = 0.35;
const W_LISTENS: f64 = 0.25;
const W_PORT: f64 = 0.10;
const W_CONFIG: f64 = 0.10;
const W_PACKAGE: f64 = 0.20;

/// A service lookout knows how to collect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// MySQL or MariaDB.
    Mysql,
    /// PostgreSQL.
    Postgresql,
    /// Redis.
    Redis,
    /// nginx.
    Nginx,
    /// Apache httpd.
    Apache,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [
        Kind::Mysql,
        Kind::Postgresql,
        Kind::Redis,
        Kind::Nginx,
        Kind::Apache,
    ];

    /// `mysql`, `postgresql`, `redis`, `nginx`, `apache` (the integration's source type).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mysql => "mysql",
            Kind::Postgresql => "postgresql",
            Kind::Redis => "redis",
            Kind::Nginx => "nginx",
            Kind::Apache => "apache",
        }
    }

    fn binaries(self) -> &'static [&'static str] {
        match self {
            Kind::Mysql => &["mysqld", "mariadbd"],
            Kind::Postgresql => &["postgres", "postmaster"],
            Kind::Redis => &["redis-server"],
            Kind::Nginx => &["nginx"],
            Kind::Apache => &["apache2", "httpd"],
        }
    }

    fn default_ports(self) -> &'static [u16] {
        match self {
            Kind::Mysql => &[3306],
            Kind::Postgresql => &[5432],
            Kind::Redis => &[6379],
            Kind::Nginx | Kind::Apache => &[80, 443],
        }
    }

    /// Whether a package name belongs to this service.
    fn package_matches(self, name: &str) -> bool {
        match self {
            Kind::Mysql => {
                name.starts_with("mariadb-server")
                    || name.starts_with("mysql-server")
                    || name.starts_with("percona-server-server")
                    || name == "mysql-community-server"
            }
            Kind::Postgresql => {
                name == "postgresql"
                    || name
                        .strip_prefix("postgresql-")
                        .is_some_and(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
                    || name.starts_with("postgresql") && name.ends_with("-server")
            }
            Kind::Redis => name == "redis-server" || name == "redis" || name == "redis-tools",
            Kind::Nginx => name == "nginx" || name.starts_with("nginx-"),
            Kind::Apache => name == "apache2" || name == "apache2-bin" || name == "httpd",
        }
    }

    fn config(self, cmdline: &[String], root: &Path) -> ServiceConfig {
        match self {
            Kind::Mysql => configs::mysql_config(cmdline, root),
            Kind::Postgresql => configs::postgresql_config(cmdline, root),
            Kind::Redis => configs::redis_config(cmdline, root),
            Kind::Nginx => configs::nginx_config(cmdline, root),
            Kind::Apache => configs::apache_config(cmdline, root),
        }
    }

    /// The kind whose default port this is (for listeners no known binary owns).
    fn of_port(port: u16) -> Option<Kind> {
        match port {
            3306 => Some(Kind::Mysql),
            5432 => Some(Kind::Postgresql),
            6379 => Some(Kind::Redis),
            _ => None,
        }
    }
}

/// Whether a process name (`comm`) is one of the server binaries discovery knows: a cheap test
/// for watching process starts and exits between scans.
pub fn is_service_binary(comm: &str) -> bool {
    Kind::ALL
        .iter()
        .any(|k| k.binaries().contains(&comm.trim_end()))
}

/// One service instance found on the host.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    /// What it is.
    pub kind: Kind,
    /// A stable name for this instance (`redis@127.0.0.1:6380`, `postgresql@15/main`).
    pub instance: String,
    /// The main process (None for a listener nobody could be matched to).
    pub pid: Option<u32>,
    /// Its executable.
    pub exe: Option<String>,
    /// Where it listens (`tcp 127.0.0.1:3306`, `unix /run/mysqld/mysqld.sock`).
    pub listens: Vec<String>,
    /// What its configuration says.
    pub config: Option<ServiceConfig>,
    /// The package that owns its executable.
    pub package: Option<Package>,
    /// The container it runs in.
    pub container: Option<ContainerInfo>,
    /// In [0, 1]; configured from [`THRESHOLD`].
    pub confidence: f64,
    /// Why: one line per signal that counted.
    pub reasons: Vec<String>,
    /// What could not be seen for this service, and why.
    pub limits: Vec<String>,
}

impl Service {
    /// Whether auto-configuration would collect it.
    pub fn configured(&self) -> bool {
        self.confidence >= THRESHOLD
    }
}

fn base(p: &ProcessInfo) -> (&str, Option<&str>) {
    let exe = p
        .exe
        .as_deref()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    (p.comm.as_str(), exe)
}

fn kind_of(p: &ProcessInfo) -> Option<Kind> {
    let (comm, exe) = base(p);
    let arg0 = p
        .cmdline
        .first()
        .and_then(|a| Path::new(a.split(' ').next().unwrap_or(a)).file_name())
        .and_then(|n| n.to_str());
    Kind::ALL.into_iter().find(|k| {
        k.binaries()
            .iter()
            .any(|b| comm == *b || exe == Some(*b) || arg0 == Some(*b))
    })
}

fn describe(l: &Listener) -> String {
    match (l.proto, &l.addr, &l.path) {
        (Proto::Unix, _, Some(p)) => format!("unix {}", p.display()),
        (proto, Some(a), _) => format!(
            "{} {a}",
            match proto {
                Proto::Tcp => "tcp",
                Proto::Udp => "udp",
                Proto::Unix => "unix",
            }
        ),
        _ => format!("inode {}", l.inode),
    }
}

/// Reads the dpkg file list of `pkg` (with or without an architecture suffix) and says whether
/// it holds `exe` (also under `/usr` merged paths: `/sbin/x` and `/usr/sbin/x` are one file).
fn package_owns(root: &Path, pkg: &str, exe: &Path) -> bool {
    let info = root.join("var/lib/dpkg/info");
    let wanted: Vec<String> = {
        let e = exe.to_string_lossy().into_owned();
        let alt = match e.strip_prefix("/usr") {
            Some(rest) => rest.to_string(),
            None => format!("/usr{e}"),
        };
        vec![e, alt]
    };
    let candidates = [
        format!("{pkg}.list"),
        format!("{pkg}:amd64.list"),
        format!("{pkg}:arm64.list"),
    ];
    candidates.iter().any(|f| {
        std::fs::read_to_string(info.join(f))
            .map(|t| t.lines().any(|l| wanted.iter().any(|w| w == l)))
            .unwrap_or(false)
    })
}

/// Asks a Redis server which config file it read (`INFO server`, `config_file:`), over
/// loopback with a short timeout. `Ok(None)`: started without one.
fn redis_config_file(addr: std::net::SocketAddr) -> Result<Option<String>, String> {
    use std::io::{Read, Write};
    let t = std::time::Duration::from_millis(300);
    let mut s = std::net::TcpStream::connect_timeout(&addr, t)
        .map_err(|e| format!("cannot ask {addr}: {e}"))?;
    let _ = s.set_read_timeout(Some(t));
    let _ = s.set_write_timeout(Some(t));
    s.write_all(b"INFO server\r\n")
        .map_err(|e| format!("cannot ask {addr}: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while buf.len() < 64 * 1024 {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                if text.starts_with('-')
                    || text.contains("\r\nexecutable:")
                        && text.contains("config_file:")
                        && text.ends_with("\r\n")
                {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&buf);
    if let Some(err) = text.strip_prefix('-') {
        return Err(format!(
            "{addr} answered {}",
            err.lines().next().unwrap_or("").trim()
        ));
    }
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("config_file:"))
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty()))
}

/// Combines a scan into service instances. `root` is where configs and the dpkg database are
/// read (`/`). Instances are sorted by kind, then instance name.
pub fn correlate(scan: &HostScan, root: &Path) -> Vec<Service> {
    let by_pid: HashMap<u32, &ProcessInfo> = scan.processes.iter().map(|p| (p.pid, p)).collect();
    // the topmost process of each kind: its parent is not the same binary
    let mut tops: Vec<(&ProcessInfo, Kind)> = Vec::new();
    let mut top_of: HashMap<u32, u32> = HashMap::new();
    for p in &scan.processes {
        let Some(k) = kind_of(p) else { continue };
        // walk up while the parent is the same kind
        let mut cur = p;
        let mut guard = 0;
        while let Some(parent) = by_pid.get(&cur.ppid) {
            if kind_of(parent) != Some(k) || guard > 64 {
                break;
            }
            cur = parent;
            guard += 1;
        }
        top_of.insert(p.pid, cur.pid);
        if cur.pid == p.pid {
            tops.push((p, k));
        }
    }
    let mut listeners_of: HashMap<u32, Vec<&Listener>> = HashMap::new();
    let mut unowned: Vec<&Listener> = Vec::new();
    for l in &scan.listeners {
        match l.pid.and_then(|pid| top_of.get(&pid)) {
            Some(top) => listeners_of.entry(*top).or_default().push(l),
            None => unowned.push(l),
        }
    }
    let mut out = Vec::new();
    for (p, kind) in tops {
        let mut reasons = Vec::new();
        let mut limits = Vec::new();
        let mut confidence = 0.0;
        let (comm, _) = base(p);
        confidence += W_BINARY;
        reasons.push(format!("process {comm} pid {}", p.pid));
        let ls = listeners_of.get(&p.pid).cloned().unwrap_or_default();
        let listens: Vec<String> = ls.iter().map(|l| describe(l)).collect();
        if !ls.is_empty() {
            confidence += W_LISTENS;
            reasons.push(format!("listens {}", listens.join(", ")));
        } else if scan
            .limits
            .iter()
            .any(|l| l.contains(&format!("uid {}", p.uid)))
        {
            limits.push(format!(
                "its sockets could not be matched: fds of uid {} not readable",
                p.uid
            ));
        }
        let mut config = kind.config(&p.cmdline, root);
        if kind == Kind::Redis && config.path.is_none() {
            // Redis rewrites its process title (`redis-server 127.0.0.1:6380`), losing the
            // config file argument: the server itself says which file it read
            if let Some(addr) = ls
                .iter()
                .filter(|l| l.proto == Proto::Tcp)
                .find_map(|l| l.addr)
            {
                match redis_config_file(addr) {
                    Ok(Some(file)) => {
                        let mut from_file = kind.config(&["redis-server".to_string(), file], root);
                        from_file.ports = config.ports.clone();
                        config = from_file;
                    }
                    Ok(None) => {}
                    Err(e) => limits.push(format!("its config file is not known: {e}")),
                }
            }
        }
        let ports: HashSet<u16> = ls.iter().filter_map(|l| l.addr.map(|a| a.port())).collect();
        let expected: Vec<u16> = if config.ports.is_empty() {
            kind.default_ports().to_vec()
        } else {
            config.ports.clone()
        };
        if let Some(port) = expected.iter().find(|p| ports.contains(p)) {
            confidence += W_PORT;
            reasons.push(format!(
                "port {port} is the {} port",
                if config.ports.is_empty() {
                    "default"
                } else {
                    "configured"
                }
            ));
        }
        if let Some(path) = &config.path {
            confidence += W_CONFIG;
            reasons.push(format!("config {}", path.display()));
        }
        limits.extend(config.notes.iter().cloned());
        let package = p.exe.as_deref().and_then(|exe| {
            // a server package before a tools one that ships the same file
            let mut candidates: Vec<&Package> = scan
                .packages
                .iter()
                .filter(|pkg| kind.package_matches(&pkg.name))
                .collect();
            candidates.sort_by_key(|pkg| (!pkg.name.contains("server"), pkg.name.len()));
            // the name it was started by (a symlink such as redis-server -> redis-check-rdb)
            // before the file it resolves to
            let named: Vec<PathBuf> = ["/usr/bin", "/usr/sbin"]
                .iter()
                .map(|d| Path::new(d).join(&p.comm))
                .collect();
            candidates
                .into_iter()
                .find(|pkg| {
                    named.iter().any(|n| package_owns(root, &pkg.name, n))
                        || package_owns(root, &pkg.name, exe)
                })
                .cloned()
        });
        if let Some(pkg) = &package {
            confidence += W_PACKAGE;
            reasons.push(format!("package {} {}", pkg.name, pkg.version));
        }
        let instance = instance_name(kind, &config, &ls);
        out.push(Service {
            kind,
            instance,
            pid: Some(p.pid),
            exe: p.exe.as_ref().map(|e| e.display().to_string()),
            listens,
            config: Some(config),
            package,
            container: p.container.clone(),
            // two decimals: sums of the weights are not exact in binary
            confidence: (confidence.min(1.0) * 100.0).round() / 100.0,
            reasons,
            limits,
        });
    }
    // well-known ports nobody known owns: reported, never configured
    for l in unowned {
        let Some(addr) = l.addr.filter(|_| l.proto == Proto::Tcp) else {
            continue;
        };
        let Some(kind) = Kind::of_port(addr.port()) else {
            continue;
        };
        let who = l
            .pid
            .and_then(|pid| by_pid.get(&pid))
            .map(|p| format!("process {} pid {}", p.comm, p.pid))
            .unwrap_or_else(|| "an unknown process".into());
        out.push(Service {
            kind,
            instance: format!("{}@{addr}", kind.as_str()),
            pid: l.pid,
            exe: None,
            listens: vec![describe(l)],
            config: None,
            package: None,
            container: None,
            confidence: W_PORT,
            reasons: vec![format!(
                "listens {addr}, {}'s default port, but {who} is not a {} server",
                kind.as_str(),
                kind.as_str()
            )],
            limits: Vec::new(),
        });
    }
    out.sort_by(|a, b| (a.kind, &a.instance).cmp(&(b.kind, &b.instance)));
    out
}

/// `kind@where`: the first TCP listener, else the config's socket, else the config path.
fn instance_name(kind: Kind, config: &ServiceConfig, ls: &[&Listener]) -> String {
    let mut tcp: Vec<String> = ls
        .iter()
        .filter(|l| l.proto == Proto::Tcp)
        .filter_map(|l| l.addr.map(|a| a.to_string()))
        .collect();
    tcp.sort();
    if let Some(a) = tcp.first() {
        return format!("{}@{a}", kind.as_str());
    }
    if let Some(s) = ls.iter().find_map(|l| l.path.as_ref()) {
        return format!("{}@{}", kind.as_str(), s.display());
    }
    match &config.path {
        Some(p) => format!("{}@{}", kind.as_str(), p.display()),
        None => kind.as_str().to_string(),
    }
}
