//! The process scanner: one pass over /proc.
//!
//! Every scan reads `/proc/<pid>/stat` of every process (cheap: one small file) into one reused
//! buffer, keeps a table keyed by pid whose entries carry the identity (pid, start time), and
//! ranks processes by CPU (tick deltas between scans) and by resident memory. Only the reported
//! processes (top N by CPU ∪ top N by memory ∪ always-included names) get the expensive files
//! read (`status`, `io`, the `fd` directory), and the static ones (`cmdline`, `exe`, `cgroup`,
//! the owner's name) only once per identity. Everything else is rolled up by executable name
//! into at most `rollup_groups` groups plus `other`, so totals still add up and the number of
//! series is bounded whatever the host does.

use super::services::Services;
use lookout_config::ProcessMetricsConfig;
use lookout_proc::{ProcFs, ReadError, UserNames};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Static facts of one process identity, read once.
#[derive(Debug, Clone, Default)]
struct Static {
    exe: Option<Arc<str>>,
    command_line: Arc<str>,
    owner: Option<Arc<str>>,
    container_id: Option<Arc<str>>,
    loaded: bool,
}

/// Per-process state kept between scans.
#[derive(Debug)]
struct Entry {
    start_ticks: u64,
    seen: u64,
    ppid: u32,
    state: char,
    name: Arc<str>,
    utime: u64,
    stime: u64,
    d_utime: u64,
    d_stime: u64,
    has_delta: bool,
    rss_pages: u64,
    vsize: u64,
    threads: u64,
    minflt: u64,
    majflt: u64,
    service: Option<Arc<str>>,
    inheritable: bool,
    attributed: bool,
    stat: Static,
}

/// One reported process, as the metrics, the CLI and `/processes` show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Executable name (`comm`).
    pub name: String,
    /// Executable path (the `exe` link), when readable.
    pub exe: Option<String>,
    /// Command line, capped.
    pub command_line: String,
    /// Owner's user name, when readable.
    pub owner: Option<String>,
    /// State letter (R, S, D, Z, T, I...).
    pub state: String,
    /// Start time, Unix nanoseconds.
    pub start_time_unix_nanos: u64,
    /// User CPU seconds since start.
    pub cpu_user_secs: f64,
    /// System CPU seconds since start.
    pub cpu_system_secs: f64,
    /// CPU used since the last scan, in cores (1.0 = one core busy); None on first sight.
    pub cpu_cores: Option<f64>,
    /// The same as a fraction of the host's capacity (0–1).
    pub cpu_host: Option<f64>,
    /// User part of `cpu_host`.
    pub cpu_host_user: Option<f64>,
    /// System part of `cpu_host`.
    pub cpu_host_system: Option<f64>,
    /// Resident memory in bytes.
    pub rss_bytes: u64,
    /// Virtual memory in bytes.
    pub vms_bytes: u64,
    /// Swapped-out memory in bytes, when readable.
    pub swap_bytes: Option<u64>,
    /// Threads.
    pub threads: u64,
    /// Open file descriptors, when readable.
    pub open_fds: Option<u64>,
    /// Voluntary context switches, when readable.
    pub ctx_voluntary: Option<u64>,
    /// Involuntary context switches, when readable.
    pub ctx_involuntary: Option<u64>,
    /// Minor page faults.
    pub minor_faults: u64,
    /// Major page faults.
    pub major_faults: u64,
    /// Bytes read from storage, when readable.
    pub disk_read_bytes: Option<u64>,
    /// Bytes written to storage, when readable.
    pub disk_write_bytes: Option<u64>,
    /// Container id from the cgroup path.
    pub container_id: Option<String>,
    /// Attributed service.
    pub service: Option<String>,
}

/// Processes rolled up under one executable name (or `other`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Group {
    /// The executable name, `other`, or a service name.
    pub name: String,
    /// Processes in the group.
    pub processes: u64,
    /// CPU used since the last scan, in cores.
    pub cpu_cores: f64,
    /// The same as a fraction of the host.
    pub cpu_host: f64,
    /// Resident memory in bytes.
    pub rss_bytes: u64,
    /// Virtual memory in bytes.
    pub vms_bytes: u64,
    /// Threads.
    pub threads: u64,
}

impl Group {
    fn add(&mut self, e: &Entry, cores: f64, ncpu: f64, page: u64) {
        self.processes += 1;
        self.cpu_cores += cores;
        self.cpu_host += cores / ncpu;
        self.rss_bytes += e.rss_pages * page;
        self.vms_bytes += e.vsize;
        self.threads += e.threads;
    }
}

/// One scan's result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Snapshot {
    /// When the scan ended (Unix nanoseconds).
    pub time_unix_nanos: u64,
    /// Logical CPUs.
    pub cpus: u64,
    /// Processes seen.
    pub processes: u64,
    /// The reported processes.
    pub reported: Vec<ProcessInfo>,
    /// Roll-ups of the others, by executable name, the smallest merged into `other`.
    pub rollups: Vec<Group>,
    /// Footprint of each attributed service (every process of the service and its inheriting
    /// descendants, reported or not).
    pub services: Vec<Group>,
    /// Totals over every process: the reported plus the roll-ups.
    pub total: Group,
    /// Processes whose details (`io`, `fd`, `exe`...) could not be read for lack of permission.
    pub unreadable: u64,
    /// Processes that exited while being read.
    pub vanished: u64,
}

/// What the scanner needs from the host, fixed at creation (tests set them).
#[derive(Debug, Clone, Copy)]
pub struct HostFacts {
    /// Clock ticks per second.
    pub ticks: u64,
    /// Page size in bytes.
    pub page: u64,
    /// Boot time, Unix seconds.
    pub boot_time: u64,
    /// Logical CPUs.
    pub cpus: u64,
}

impl HostFacts {
    /// Reads them from the system (`proc` for the boot time and CPU count).
    pub fn detect(proc: &ProcFs) -> HostFacts {
        let mut buf = Vec::new();
        let stat = proc.read_stat(&mut buf).ok();
        HostFacts {
            ticks: lookout_proc::clock_ticks_per_second(),
            page: lookout_proc::page_size(),
            boot_time: stat.as_ref().map_or(0, |s| s.boot_time),
            cpus: stat.map_or(1, |s| s.per_cpu.len().max(1) as u64),
        }
    }
}

/// The scanner.
pub struct Scanner {
    cfg: ProcessMetricsConfig,
    proc: ProcFs,
    users: UserNames,
    services: Services,
    facts: HostFacts,
    entries: HashMap<u32, Entry>,
    generation: u64,
    last_scan: Option<Instant>,
    pids: Vec<u32>,
    buf: Vec<u8>,
    rank: Vec<(u64, u32)>,
    warned_unreadable: bool,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("proc", &self.proc.root())
            .field("tracked", &self.entries.len())
            .finish()
    }
}

fn arc_if_changed(old: &Arc<str>, new: &str) -> Arc<str> {
    if &**old == new {
        old.clone()
    } else {
        Arc::from(new)
    }
}

impl Scanner {
    /// A scanner for `cfg`, with host facts read from the system.
    pub fn new(cfg: ProcessMetricsConfig) -> Scanner {
        let proc = ProcFs::with_root(cfg.proc_path.clone());
        let facts = HostFacts::detect(&proc);
        Scanner::with_facts(cfg, facts)
    }

    /// A scanner with given host facts (tests use a fake proc root).
    pub fn with_facts(cfg: ProcessMetricsConfig, facts: HostFacts) -> Scanner {
        Scanner {
            proc: ProcFs::with_root(cfg.proc_path.clone()),
            users: UserNames::new(cfg.etc_path.clone()),
            services: Services::new(&cfg.services),
            facts,
            cfg,
            entries: HashMap::new(),
            generation: 0,
            last_scan: None,
            pids: Vec::new(),
            buf: Vec::with_capacity(4096),
            rank: Vec::new(),
            warned_unreadable: false,
        }
    }

    /// Processes tracked.
    pub fn tracked(&self) -> usize {
        self.entries.len()
    }

    /// Executable name and parent of a tracked process (for lifecycle events).
    pub fn describe(&self, pid: u32) -> Option<(Arc<str>, u32, Option<Arc<str>>)> {
        self.entries
            .get(&pid)
            .map(|e| (e.name.clone(), e.ppid, e.service.clone()))
    }

    /// One scan. Fails only when the proc root itself cannot be listed.
    pub fn scan(&mut self) -> Result<Snapshot, ReadError> {
        self.generation += 1;
        let gen = self.generation;
        let now = Instant::now();
        let elapsed = self.last_scan.map(|t| now.duration_since(t).as_secs_f64());
        self.last_scan = Some(now);
        let mut pids = std::mem::take(&mut self.pids);
        self.proc.list_pids(&mut pids)?;
        let mut vanished = 0;
        let mut new_identities = false;
        for &pid in &pids {
            let st = match self.proc.read_pid_stat(pid, &mut self.buf) {
                Ok(st) => st,
                Err(ReadError::NotFound { .. }) => {
                    vanished += 1;
                    continue;
                }
                Err(_) => continue,
            };
            let reused = self
                .entries
                .get(&pid)
                .is_some_and(|e| e.start_ticks != st.starttime);
            if reused {
                // a new process got an old pid: never mix their counters
                self.entries.remove(&pid);
            }
            match self.entries.get_mut(&pid) {
                Some(e) => {
                    e.d_utime = st.utime.saturating_sub(e.utime);
                    e.d_stime = st.stime.saturating_sub(e.stime);
                    e.has_delta = elapsed.is_some();
                    e.utime = st.utime;
                    e.stime = st.stime;
                    e.seen = gen;
                    e.ppid = st.ppid;
                    e.state = st.state;
                    if &*e.name != st.comm.as_str() {
                        // exec changed the program: attribute it again
                        e.name = arc_if_changed(&e.name, &st.comm);
                        e.attributed = false;
                        e.stat = Static::default();
                    }
                    e.rss_pages = st.rss_pages;
                    e.vsize = st.vsize;
                    e.threads = st.num_threads;
                    e.minflt = st.minflt;
                    e.majflt = st.majflt;
                }
                None => {
                    new_identities = true;
                    self.entries.insert(
                        pid,
                        Entry {
                            start_ticks: st.starttime,
                            seen: gen,
                            ppid: st.ppid,
                            state: st.state,
                            name: Arc::from(st.comm.as_str()),
                            utime: st.utime,
                            stime: st.stime,
                            d_utime: 0,
                            d_stime: 0,
                            has_delta: false,
                            rss_pages: st.rss_pages,
                            vsize: st.vsize,
                            threads: st.num_threads,
                            minflt: st.minflt,
                            majflt: st.majflt,
                            service: None,
                            inheritable: false,
                            attributed: false,
                            stat: Static::default(),
                        },
                    );
                }
            }
        }
        self.pids = pids;
        self.entries.retain(|_, e| e.seen == gen);
        if new_identities || self.entries.values().any(|e| !e.attributed) {
            self.attribute();
        }
        Ok(self.report(elapsed, vanished))
    }

    /// Gives every not-yet-attributed process its service: its own by name, else the nearest
    /// ancestor's inheritable one.
    fn attribute(&mut self) {
        let pending: Vec<u32> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.attributed)
            .map(|(p, _)| *p)
            .collect();
        for pid in &pending {
            if let Some(e) = self.entries.get_mut(pid) {
                if let Some((svc, inherit)) = self.services.by_name(&e.name) {
                    e.service = Some(svc);
                    e.inheritable = inherit;
                }
            }
        }
        for pid in pending {
            let own = self.entries.get(&pid).and_then(|e| e.service.clone());
            if own.is_none() {
                let mut cur = self.entries.get(&pid).map(|e| e.ppid);
                let mut inherited = None;
                for _ in 0..64 {
                    let Some(p) = cur.filter(|p| *p > 1) else {
                        break;
                    };
                    match self.entries.get(&p) {
                        Some(a) if a.service.is_some() && a.inheritable => {
                            inherited = a.service.clone();
                            break;
                        }
                        Some(a) => cur = Some(a.ppid),
                        None => break,
                    }
                }
                if let Some(e) = self.entries.get_mut(&pid) {
                    if inherited.is_some() {
                        e.service = inherited;
                        e.inheritable = true;
                    }
                }
            }
            if let Some(e) = self.entries.get_mut(&pid) {
                e.attributed = true;
            }
        }
    }

    fn cores(&self, e: &Entry, elapsed: Option<f64>) -> Option<(f64, f64)> {
        let secs = elapsed.filter(|s| *s > 0.0)?;
        if !e.has_delta {
            return None;
        }
        let t = self.facts.ticks.max(1) as f64;
        Some((e.d_utime as f64 / t / secs, e.d_stime as f64 / t / secs))
    }

    fn report(&mut self, elapsed: Option<f64>, vanished: u64) -> Snapshot {
        let ncpu = self.facts.cpus.max(1) as f64;
        let page = self.facts.page;
        // rank candidates by CPU and by memory
        let mut selected: Vec<u32> = Vec::new();
        let top_n = self.cfg.top_n;
        let mut rank = std::mem::take(&mut self.rank);
        for by_cpu in [true, false] {
            rank.clear();
            for (pid, e) in &self.entries {
                if !self.cfg.names.allows(&e.name) {
                    continue;
                }
                let key = if by_cpu {
                    if !e.has_delta || e.d_utime + e.d_stime == 0 {
                        continue;
                    }
                    e.d_utime + e.d_stime
                } else {
                    e.rss_pages
                };
                rank.push((key, *pid));
            }
            let n = top_n.min(rank.len());
            if n > 0 && n < rank.len() {
                rank.select_nth_unstable_by(n - 1, |a, b| b.cmp(a));
            }
            selected.extend(rank.iter().take(n).map(|(_, p)| *p));
        }
        self.rank = rank;
        for (pid, e) in &self.entries {
            if self.cfg.always_include.iter().any(|p| p.matches(&e.name)) {
                selected.push(*pid);
            }
        }
        selected.sort_unstable();
        selected.dedup();

        let mut snapshot = Snapshot {
            time_unix_nanos: lookout_model::now_nanos(),
            cpus: self.facts.cpus,
            processes: self.entries.len() as u64,
            vanished,
            ..Default::default()
        };
        let mut unreadable = 0;
        let mut reported = Vec::with_capacity(selected.len());
        let mut gone = Vec::new();
        for pid in &selected {
            match self.details(*pid, elapsed, ncpu, page) {
                Some((info, denied)) => {
                    unreadable += u64::from(denied);
                    reported.push(info);
                }
                None => gone.push(*pid),
            }
        }
        // a process that exited while its details were read is rolled up with the rest, so
        // the totals still add up
        selected.retain(|p| !gone.contains(p));
        // roll up the rest by name; services over everything
        let mut groups: HashMap<Arc<str>, Group> = HashMap::new();
        let mut services: HashMap<Arc<str>, Group> = HashMap::new();
        let mut total = Group {
            name: "total".into(),
            ..Default::default()
        };
        for (pid, e) in &self.entries {
            let cores = self.cores(e, elapsed).map_or(0.0, |(u, s)| u + s);
            total.add(e, cores, ncpu, page);
            if let Some(s) = &e.service {
                services
                    .entry(s.clone())
                    .or_default()
                    .add(e, cores, ncpu, page);
            }
            if selected.binary_search(pid).is_err() {
                groups
                    .entry(e.name.clone())
                    .or_default()
                    .add(e, cores, ncpu, page);
            }
        }
        let mut rollups: Vec<(Arc<str>, Group)> = groups.into_iter().collect();
        rollups.sort_by(|a, b| {
            b.1.cpu_cores
                .total_cmp(&a.1.cpu_cores)
                .then(b.1.rss_bytes.cmp(&a.1.rss_bytes))
                .then(a.0.cmp(&b.0))
        });
        let keep = self.cfg.rollup_groups;
        let mut other = Group {
            name: "other".into(),
            ..Default::default()
        };
        for (i, (name, mut g)) in rollups.into_iter().enumerate() {
            if i < keep && &*name != "other" {
                g.name = name.to_string();
                snapshot.rollups.push(g);
            } else {
                other.processes += g.processes;
                other.cpu_cores += g.cpu_cores;
                other.cpu_host += g.cpu_host;
                other.rss_bytes += g.rss_bytes;
                other.vms_bytes += g.vms_bytes;
                other.threads += g.threads;
            }
        }
        if other.processes > 0 {
            snapshot.rollups.push(other);
        }
        let mut services: Vec<Group> = services
            .into_iter()
            .map(|(n, mut g)| {
                g.name = n.to_string();
                g
            })
            .collect();
        services.sort_by(|a, b| a.name.cmp(&b.name));
        snapshot.services = services;
        snapshot.total = total;
        snapshot.reported = reported;
        snapshot.unreadable = unreadable;
        if unreadable > 0 && !self.warned_unreadable {
            self.warned_unreadable = true;
            tracing::warn!(
                "cannot read the details (I/O, open files, executable) of {unreadable} reported process(es) owned by other users; \
                 run as root or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (counted in lookout_process_unreadable)"
            );
        }
        snapshot
    }

    /// Reads what a reported process needs beyond `stat`; returns its info and whether any of
    /// its files were denied. None if it vanished.
    fn details(
        &mut self,
        pid: u32,
        elapsed: Option<f64>,
        ncpu: f64,
        page: u64,
    ) -> Option<(ProcessInfo, bool)> {
        let mut denied = false;
        let mut note = |r: &ReadError| {
            if matches!(r, ReadError::PermissionDenied { .. }) {
                denied = true;
            }
        };
        let status = match self.proc.read_pid_status(pid, &mut self.buf) {
            Ok(s) => Some(s),
            Err(ReadError::NotFound { .. }) => return None,
            Err(e) => {
                note(&e);
                None
            }
        };
        let io = self
            .proc
            .read_pid_io(pid, &mut self.buf)
            .map_err(|e| note(&e))
            .ok();
        let fds = self.proc.count_pid_fds(pid).map_err(|e| note(&e)).ok();
        // status counts resident and virtual memory exactly (stat's `rss` is the kernel's
        // approximate per-CPU-cached figure): keep the exact ones for the reported processes,
        // so they match ps and the totals still add up
        if let Some(st) = &status {
            let page = self.facts.page.max(1);
            if let Some(e) = self.entries.get_mut(&pid) {
                if let Some(rss) = st.vm_rss {
                    e.rss_pages = rss / page;
                }
                if let Some(vms) = st.vm_size {
                    e.vsize = vms;
                }
            }
        }
        let needs_static = !self.entries.get(&pid)?.stat.loaded;
        if needs_static {
            let mut cmd = String::new();
            let _ =
                self.proc
                    .read_pid_cmdline(pid, &mut self.buf, self.cfg.command_line_max, &mut cmd);
            if self.cfg.strip_command_line {
                strip_arguments(&self.buf, &mut cmd);
            }
            let exe = match self.proc.read_pid_exe(pid) {
                Ok(p) => p.map(|p| Arc::from(p.to_string_lossy().as_ref())),
                Err(e) => {
                    note(&e);
                    None
                }
            };
            let container = self
                .proc
                .read_pid_cgroup_container(pid, &mut self.buf)
                .ok()
                .flatten()
                .map(|c| Arc::from(c.as_str()));
            let owner = status.as_ref().map(|s| self.users.name(s.uid_effective));
            let e = self.entries.get_mut(&pid)?;
            e.stat = Static {
                exe,
                command_line: Arc::from(cmd.as_str()),
                owner,
                container_id: container,
                loaded: true,
            };
        }
        let e = self.entries.get(&pid)?;
        let t = self.facts.ticks.max(1) as f64;
        let cores = self.cores(e, elapsed);
        Some((
            ProcessInfo {
                pid,
                ppid: e.ppid,
                name: e.name.to_string(),
                exe: e.stat.exe.as_ref().map(|x| x.to_string()),
                command_line: e.stat.command_line.to_string(),
                owner: e.stat.owner.as_ref().map(|x| x.to_string()),
                state: e.state.to_string(),
                start_time_unix_nanos: lookout_proc::start_time_unix_nanos(
                    e.start_ticks,
                    self.facts.boot_time,
                    self.facts.ticks,
                ),
                cpu_user_secs: e.utime as f64 / t,
                cpu_system_secs: e.stime as f64 / t,
                cpu_cores: cores.map(|(u, s)| u + s),
                cpu_host: cores.map(|(u, s)| (u + s) / ncpu),
                cpu_host_user: cores.map(|(u, _)| u / ncpu),
                cpu_host_system: cores.map(|(_, s)| s / ncpu),
                rss_bytes: e.rss_pages * page,
                vms_bytes: e.vsize,
                swap_bytes: status.as_ref().and_then(|s| s.vm_swap),
                threads: e.threads,
                open_fds: fds,
                ctx_voluntary: status.as_ref().map(|s| s.voluntary_ctxt_switches),
                ctx_involuntary: status.as_ref().map(|s| s.nonvoluntary_ctxt_switches),
                minor_faults: e.minflt,
                major_faults: e.majflt,
                disk_read_bytes: io.as_ref().map(|i| i.read_bytes),
                disk_write_bytes: io.as_ref().map(|i| i.write_bytes),
                container_id: e.stat.container_id.as_ref().map(|x| x.to_string()),
                service: e.service.as_ref().map(|x| x.to_string()),
            },
            denied,
        ))
    }
}

/// Keeps only the executable of a command line: the first NUL-separated word of the raw
/// `/proc/<pid>/cmdline` bytes in `raw` (a kernel thread's empty line stays empty).
pub(super) fn strip_arguments(raw: &[u8], cmd: &mut String) {
    let first = raw.split(|b| *b == 0).next().unwrap_or_default();
    let exe = String::from_utf8_lossy(first);
    if cmd.starts_with(exe.as_ref()) {
        cmd.truncate(exe.len());
    }
}
