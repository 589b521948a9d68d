//! The collectors: one method per [`HostCollector`], each reading its files through [`ProcFs`]
//! into the shared buffer and adding its metrics to the tick's [`MetricsBuilder`].

use super::{Collection, CollectorError};
use lookout_config::{HostCollector, HostMetricsConfig};
use lookout_model::otlp::KeyValue;
use lookout_model::semconv::*;
use lookout_model::{now_nanos, MetricsBuilder, Monotonic};
use lookout_proc::{
    is_pseudo_fs, statvfs, CpuTimes, FsStats, MemInfo, NetDev, ProcFs, ReadError, Stat,
};
use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The instrumentation scope of every batch.
pub(super) const SCOPE_NAME: &str = "lookout/host";
const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

// Data point attribute keys, as the Collector's hostmetrics receiver names them.
const CPU: &str = "cpu";
const STATE: &str = "state";
const DEVICE: &str = "device";
const DIRECTION: &str = "direction";
const TYPE: &str = "type";
const MOUNTPOINT: &str = "mountpoint";
const MODE: &str = "mode";
const PROTOCOL: &str = "protocol";
const STATUS: &str = "status";

/// Start time of cumulative sums and time of every point of one tick (Unix nanoseconds).
#[derive(Debug, Clone, Copy)]
struct Times {
    start: u64,
    now: u64,
}

/// Everything one collection needs and what it keeps between ticks.
#[derive(Debug)]
pub(super) struct Collector {
    pub(super) cfg: HostMetricsConfig,
    /// Enabled collectors, sorted and without duplicates.
    collectors: Vec<HostCollector>,
    resource: Arc<Vec<KeyValue>>,
    procfs: ProcFs,
    /// The one buffer every file is read into.
    buf: Vec<u8>,
    /// `USER_HZ`: the unit of `/proc/stat` CPU times (fixed in tests).
    pub(super) ticks_per_second: u64,
    /// CPU times of the previous tick, for utilization (`None`: the host total).
    prev_cpu: Vec<(Option<u32>, CpuTimes)>,
    /// `cpu0`, `cpu1`, ... indexed by CPU number, made once.
    cpu_labels: Vec<String>,
    /// Boot time (Unix nanoseconds) once `/proc/stat` has been read.
    boot_time: Option<u64>,
    /// When this collector was made: the start time if boot time cannot be read.
    created: u64,
    /// Paths whose `statvfs` failed last tick, so each failure is logged once.
    statvfs_failed: HashSet<PathBuf>,
}

/// Describes a read error for the component's last error and log: the path, the cause and, for
/// permission denied, what to do about it.
pub(super) fn describe(err: &ReadError) -> String {
    match err {
        ReadError::PermissionDenied { .. } => format!(
            "{err}: the user lookout runs as may not read it (check the file's permissions and any \
             security policy, such as SELinux or AppArmor, that confines lookout)"
        ),
        _ => match std::error::Error::source(err) {
            Some(cause) => format!("{err}: {cause}"),
            None => err.to_string(),
        },
    }
}

/// The collector's name as written in the config.
pub(super) fn name(c: HostCollector) -> &'static str {
    match c {
        HostCollector::Cpu => "cpu",
        HostCollector::Load => "load",
        HostCollector::Memory => "memory",
        HostCollector::Paging => "paging",
        HostCollector::Disk => "disk",
        HostCollector::Filesystem => "filesystem",
        HostCollector::Network => "network",
        HostCollector::Processes => "processes",
        HostCollector::Uptime => "uptime",
    }
}

/// A counter as an OTLP integer (which is signed): values past `i64::MAX` saturate.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn secs_to_nanos(secs: u64) -> u64 {
    secs.saturating_mul(1_000_000_000)
}

/// A value read once per tick and shared by two collectors.
fn shared<T>(value: &Option<Result<T, String>>) -> Result<&T, String> {
    match value {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(e.clone()),
        None => Err("not read".to_string()),
    }
}

/// `[cpu, state]` for one CPU, or `[state]` (the slice from the returned index) for the host
/// total.
fn cpu_attrs<'a>(label: Option<&'a str>, state: &'a str) -> ([(&'static str, &'a str); 2], usize) {
    let pair = [(CPU, label.unwrap_or_default()), (STATE, state)];
    (pair, usize::from(label.is_none()))
}

/// `[device, direction]`.
fn rw<'a>(device: &'a str, direction: &'a str) -> [(&'static str, &'a str); 2] {
    [(DEVICE, device), (DIRECTION, direction)]
}

/// The OpenTelemetry `state` values of `/proc/stat` CPU times, in ticks. They add up to
/// [`CpuTimes::total`] (guest time is already in user and nice).
fn cpu_states(t: &CpuTimes) -> [(&'static str, u64); 7] {
    [
        ("user", t.user),
        ("nice", t.nice),
        ("system", t.system),
        ("idle", t.idle),
        ("interrupt", t.irq.saturating_add(t.softirq)),
        ("steal", t.steal),
        ("wait", t.iowait),
    ]
}

impl Collector {
    pub(super) fn new(cfg: HostMetricsConfig, resource: Arc<Vec<KeyValue>>) -> Self {
        let mut collectors = cfg.collectors.clone();
        collectors.sort();
        collectors.dedup();
        Collector {
            procfs: ProcFs::with_root(&cfg.proc_path),
            cfg,
            collectors,
            resource,
            buf: Vec::with_capacity(64 * 1024),
            ticks_per_second: lookout_proc::clock_ticks_per_second(),
            prev_cpu: Vec::new(),
            cpu_labels: Vec::new(),
            boot_time: None,
            created: now_nanos(),
            statvfs_failed: HashSet::new(),
        }
    }

    fn wants(&self, c: HostCollector) -> bool {
        self.collectors.contains(&c)
    }

    /// Runs every enabled collector into one request. A collector that fails adds what it could
    /// and an error; the others carry on.
    pub(super) fn collect(&mut self) -> Collection {
        let now = now_nanos();
        let mut b = MetricsBuilder::new(self.resource.to_vec(), SCOPE_NAME, SCOPE_VERSION);
        let mut errors = Vec::new();

        // Files two collectors need are read once.
        let stat =
            (self.wants(HostCollector::Cpu) || self.wants(HostCollector::Processes)).then(|| {
                self.procfs
                    .read_stat(&mut self.buf)
                    .map_err(|e| describe(&e))
            });
        let meminfo = (self.wants(HostCollector::Memory) || self.wants(HostCollector::Paging))
            .then(|| {
                self.procfs
                    .read_meminfo(&mut self.buf)
                    .map_err(|e| describe(&e))
            });
        if let Some(Ok(s)) = &stat {
            self.boot_time.get_or_insert(secs_to_nanos(s.boot_time));
        }
        let start = match self.boot_time {
            Some(t) => t,
            None if stat.is_none() => self.read_boot_time(),
            None => self.created,
        };
        let t = Times { start, now };

        for i in 0..self.collectors.len() {
            let c = self.collectors[i];
            let result = match c {
                HostCollector::Cpu => shared(&stat).map(|s| self.cpu(&mut b, s, t)),
                HostCollector::Load => self.load(&mut b, t),
                HostCollector::Memory => shared(&meminfo).map(|m| memory(&mut b, m, t)),
                HostCollector::Paging => self.paging(&mut b, shared(&meminfo), t),
                HostCollector::Disk => self.disk(&mut b, t),
                HostCollector::Filesystem => self.filesystem(&mut b, t),
                HostCollector::Network => self.network(&mut b, t),
                HostCollector::Processes => self.processes(&mut b, shared(&stat), t),
                HostCollector::Uptime => self.uptime(&mut b, t),
            };
            if let Err(message) = result {
                errors.push(CollectorError {
                    collector: c,
                    message,
                });
            }
        }
        Collection {
            request: b.finish(),
            errors,
        }
    }

    /// Boot time when no collector reads `/proc/stat`: read it once, or fall back to the time
    /// this collector was made (a stable start time is what matters to consumers).
    fn read_boot_time(&mut self) -> u64 {
        match self.procfs.read_stat(&mut self.buf) {
            Ok(s) => *self.boot_time.insert(secs_to_nanos(s.boot_time)),
            Err(_) => self.created,
        }
    }

    fn cpu(&mut self, b: &mut MetricsBuilder, stat: &Stat, t: Times) {
        let series: Vec<(Option<u32>, CpuTimes)> = if self.cfg.cpu.per_cpu {
            stat.per_cpu.iter().map(|(i, c)| (Some(*i), *c)).collect()
        } else {
            vec![(None, stat.total)]
        };
        if let Some(max) = series.iter().filter_map(|(i, _)| *i).max() {
            while self.cpu_labels.len() <= max as usize {
                let n = self.cpu_labels.len();
                self.cpu_labels.push(format!("cpu{n}"));
            }
        }
        let labels = &self.cpu_labels;
        let label = |cpu: Option<u32>| cpu.and_then(|i| labels.get(i as usize)).map(String::as_str);
        let per_second = self.ticks_per_second.max(1) as f64;

        let mut m = b.sum(
            SYSTEM_CPU_TIME,
            "s",
            "Seconds each logical CPU spent in each mode since boot.",
            Monotonic::Yes,
        );
        for (cpu, times) in &series {
            for (state, ticks) in cpu_states(times) {
                let (pair, skip) = cpu_attrs(label(*cpu), state);
                m.point_f64(t.start, t.now, ticks as f64 / per_second, &pair[skip..]);
            }
        }

        if !self.prev_cpu.is_empty() {
            let mut m = b.gauge(
                SYSTEM_CPU_UTILIZATION,
                "1",
                "Fraction of the last interval each logical CPU spent in each mode.",
            );
            for (idx, (cpu, times)) in series.iter().enumerate() {
                // Usually the same CPUs in the same order as last tick.
                let prev = match self.prev_cpu.get(idx) {
                    Some((c, p)) if c == cpu => Some(p),
                    _ => self.prev_cpu.iter().find(|(c, _)| c == cpu).map(|(_, p)| p),
                };
                let Some(prev) = prev else { continue };
                let elapsed = times.total().saturating_sub(prev.total());
                if elapsed == 0 {
                    continue;
                }
                for ((state, now), (_, before)) in
                    cpu_states(times).into_iter().zip(cpu_states(prev))
                {
                    let (pair, skip) = cpu_attrs(label(*cpu), state);
                    let share = now.saturating_sub(before) as f64 / elapsed as f64;
                    m.gauge_f64(t.now, share, &pair[skip..]);
                }
            }
        }

        b.sum(
            SYSTEM_CPU_LOGICAL_COUNT,
            "{cpu}",
            "Number of logical CPUs online.",
            Monotonic::No,
        )
        .point_i64(t.start, t.now, int(stat.per_cpu.len() as u64), &[]);
        self.prev_cpu = series;
    }

    fn load(&mut self, b: &mut MetricsBuilder, t: Times) -> Result<(), String> {
        let l = self
            .procfs
            .read_loadavg(&mut self.buf)
            .map_err(|e| describe(&e))?;
        for (name, value, description) in [
            (
                SYSTEM_CPU_LOAD_AVERAGE_1M,
                l.one,
                "Average number of runnable and uninterruptible threads over the last minute.",
            ),
            (
                SYSTEM_CPU_LOAD_AVERAGE_5M,
                l.five,
                "Average number of runnable and uninterruptible threads over the last 5 minutes.",
            ),
            (
                SYSTEM_CPU_LOAD_AVERAGE_15M,
                l.fifteen,
                "Average number of runnable and uninterruptible threads over the last 15 minutes.",
            ),
        ] {
            b.gauge(name, "{thread}", description)
                .gauge_f64(t.now, value, &[]);
        }
        Ok(())
    }

    fn paging(
        &mut self,
        b: &mut MetricsBuilder,
        meminfo: Result<&MemInfo, String>,
        t: Times,
    ) -> Result<(), String> {
        let mut first_error = None;
        match meminfo {
            Ok(m) => {
                let states = [("used", m.swap_used()), ("free", m.swap_free)];
                let mut usage = b.sum(
                    SYSTEM_PAGING_USAGE,
                    "By",
                    "Swap space in use and free.",
                    Monotonic::No,
                );
                for (state, bytes) in states {
                    usage.point_i64(t.start, t.now, int(bytes), &[(STATE, state)]);
                }
                if m.swap_total > 0 {
                    let mut util = b.gauge(
                        SYSTEM_PAGING_UTILIZATION,
                        "1",
                        "Fraction of swap space in use and free.",
                    );
                    for (state, bytes) in states {
                        let share = bytes as f64 / m.swap_total as f64;
                        util.gauge_f64(t.now, share, &[(STATE, state)]);
                    }
                }
            }
            Err(e) => first_error = Some(e),
        }
        match self.procfs.read_vmstat(&mut self.buf) {
            Ok(v) => {
                b.sum(
                    SYSTEM_PAGING_FAULTS,
                    "{fault}",
                    "Page faults since boot.",
                    Monotonic::Yes,
                )
                .point_i64(t.start, t.now, int(v.pgmajfault), &[(TYPE, "major")])
                .point_i64(t.start, t.now, int(v.pgminfault()), &[(TYPE, "minor")]);
                let mut ops = b.sum(
                    SYSTEM_PAGING_OPERATIONS,
                    "{operation}",
                    "Paging operations since boot: swap (major) and block device (minor).",
                    Monotonic::Yes,
                );
                for (direction, kind, n) in [
                    ("page_in", "major", v.pswpin),
                    ("page_out", "major", v.pswpout),
                    ("page_in", "minor", v.pgpgin),
                    ("page_out", "minor", v.pgpgout),
                ] {
                    ops.point_i64(
                        t.start,
                        t.now,
                        int(n),
                        &[(DIRECTION, direction), (TYPE, kind)],
                    );
                }
            }
            Err(e) => {
                first_error.get_or_insert(describe(&e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn disk(&mut self, b: &mut MetricsBuilder, t: Times) -> Result<(), String> {
        let all = self
            .procfs
            .read_diskstats(&mut self.buf)
            .map_err(|e| describe(&e))?;
        let disks: Vec<_> = all
            .iter()
            .filter(|d| self.cfg.disk.allows(&d.name))
            .collect();

        let mut m = b.sum(
            SYSTEM_DISK_IO,
            "By",
            "Bytes read and written since boot.",
            Monotonic::Yes,
        );
        for d in &disks {
            m.point_i64(t.start, t.now, int(d.bytes_read()), &rw(&d.name, "read"));
            m.point_i64(
                t.start,
                t.now,
                int(d.bytes_written()),
                &rw(&d.name, "write"),
            );
        }
        let mut m = b.sum(
            SYSTEM_DISK_OPERATIONS,
            "{operation}",
            "Reads and writes completed since boot.",
            Monotonic::Yes,
        );
        for d in &disks {
            m.point_i64(t.start, t.now, int(d.reads_completed), &rw(&d.name, "read"));
            m.point_i64(
                t.start,
                t.now,
                int(d.writes_completed),
                &rw(&d.name, "write"),
            );
        }
        let mut m = b.sum(
            SYSTEM_DISK_IO_TIME,
            "s",
            "Seconds the disk had I/O in flight since boot.",
            Monotonic::Yes,
        );
        for d in &disks {
            let secs = d.io_time_ms as f64 / 1000.0;
            m.point_f64(t.start, t.now, secs, &[(DEVICE, d.name.as_str())]);
        }
        let mut m = b.sum(
            SYSTEM_DISK_OPERATION_TIME,
            "s",
            "Seconds spent in reads and writes since boot, summed over operations.",
            Monotonic::Yes,
        );
        for d in &disks {
            let (read, write) = (
                d.read_time_ms as f64 / 1000.0,
                d.write_time_ms as f64 / 1000.0,
            );
            m.point_f64(t.start, t.now, read, &rw(&d.name, "read"));
            m.point_f64(t.start, t.now, write, &rw(&d.name, "write"));
        }
        let mut m = b.sum(
            SYSTEM_DISK_MERGED,
            "{operation}",
            "Adjacent reads and writes merged since boot.",
            Monotonic::Yes,
        );
        for d in &disks {
            m.point_i64(t.start, t.now, int(d.reads_merged), &rw(&d.name, "read"));
            m.point_i64(t.start, t.now, int(d.writes_merged), &rw(&d.name, "write"));
        }
        Ok(())
    }

    /// Where a mount point of the host is, seen from this process (`root_path` prefixed).
    fn host_path(&self, mount_point: &Path) -> PathBuf {
        let root = &self.cfg.root_path;
        if root == Path::new("/") {
            mount_point.to_path_buf()
        } else {
            root.join(mount_point.strip_prefix("/").unwrap_or(mount_point))
        }
    }

    fn filesystem(&mut self, b: &mut MetricsBuilder, t: Times) -> Result<(), String> {
        // seen from elsewhere (a container), the host's mounts are its init's, not ours
        let mounts = if self.cfg.root_path == Path::new("/") {
            self.procfs.read_mountinfo(&mut self.buf)
        } else {
            self.procfs.read_pid_mountinfo(1, &mut self.buf)
        }
        .map_err(|e| describe(&e))?;
        let fs_cfg = &self.cfg.filesystem;
        let mut seen: HashSet<(&str, &Path)> = HashSet::new();
        let mut failed = HashSet::new();
        let mut measured = Vec::new();
        for m in &mounts {
            if !fs_cfg.include_pseudo && is_pseudo_fs(&m.fs_type) {
                continue;
            }
            let mount_point = m.mount_point.to_string_lossy();
            if !fs_cfg.mount_points.allows(&mount_point)
                || !fs_cfg.fs_types.allows(&m.fs_type)
                || !fs_cfg.devices.allows(&m.source)
                || !seen.insert((m.source.as_str(), m.mount_point.as_path()))
            {
                continue;
            }
            let path = self.host_path(&m.mount_point);
            // seen through another root, statvfs's flag is that of our (read-only) view: the
            // host's mount table alone says how the host mounted it
            let remapped = self.cfg.root_path != Path::new("/");
            match statvfs(&path) {
                Ok(stats) => measured.push(Measured {
                    device: &m.source,
                    mode: if m.is_read_only() || (stats.read_only && !remapped) {
                        "ro"
                    } else {
                        "rw"
                    },
                    mount_point,
                    fs_type: &m.fs_type,
                    stats,
                }),
                Err(e) => {
                    // Another user's FUSE mount, a mount gone since mountinfo was read, a stale
                    // NFS handle: not this source's failure. Logged once while it lasts.
                    if !self.statvfs_failed.contains(&path) {
                        tracing::debug!(
                            "skipping filesystem {mount_point}: statvfs {}: {e}",
                            path.display()
                        );
                    }
                    failed.insert(path);
                }
            }
        }
        self.statvfs_failed = failed;

        let mut usage = b.sum(
            SYSTEM_FILESYSTEM_USAGE,
            "By",
            "Filesystem space used, free to unprivileged users, and reserved for root.",
            Monotonic::No,
        );
        for fs in &measured {
            let s = &fs.stats;
            let reserved = s.free_bytes().saturating_sub(s.avail_bytes());
            usage.point_i64(t.start, t.now, int(s.used_bytes()), &fs.attrs("used"));
            usage.point_i64(t.start, t.now, int(s.avail_bytes()), &fs.attrs("free"));
            usage.point_i64(t.start, t.now, int(reserved), &fs.attrs("reserved"));
        }
        let mut util = b.gauge(
            SYSTEM_FILESYSTEM_UTILIZATION,
            "1",
            "Fraction of the space usable by unprivileged users that is used, as df shows it.",
        );
        for fs in &measured {
            let (used, free) = (fs.stats.used_bytes(), fs.stats.avail_bytes());
            let usable = used.saturating_add(free);
            if usable > 0 {
                let attrs = fs.attrs("");
                util.gauge_f64(t.now, used as f64 / usable as f64, &attrs[..4]);
            }
        }
        let mut inodes = b.sum(
            SYSTEM_FILESYSTEM_INODES_USAGE,
            "{inode}",
            "Filesystem inodes used and free.",
            Monotonic::No,
        );
        for fs in &measured {
            let s = &fs.stats;
            inodes.point_i64(t.start, t.now, int(s.files_used()), &fs.attrs("used"));
            inodes.point_i64(t.start, t.now, int(s.files_free), &fs.attrs("free"));
        }
        Ok(())
    }

    fn network(&mut self, b: &mut MetricsBuilder, t: Times) -> Result<(), String> {
        let all = self
            .procfs
            .read_net_dev(&mut self.buf)
            .map_err(|e| describe(&e))?;
        let devs: Vec<_> = all
            .iter()
            .filter(|d| self.cfg.network.allows(&d.name))
            .collect();
        type Counters = fn(&NetDev) -> (u64, u64);
        let metrics: [(&str, &str, &str, Counters); 4] = [
            (
                SYSTEM_NETWORK_IO,
                "By",
                "Bytes received and sent since boot.",
                |d| (d.rx_bytes, d.tx_bytes),
            ),
            (
                SYSTEM_NETWORK_PACKETS,
                "{packet}",
                "Packets received and sent since boot.",
                |d| (d.rx_packets, d.tx_packets),
            ),
            (
                SYSTEM_NETWORK_ERRORS,
                "{error}",
                "Receive and transmit errors since boot.",
                |d| (d.rx_errs, d.tx_errs),
            ),
            (
                SYSTEM_NETWORK_DROPPED,
                "{packet}",
                "Packets dropped on receive and transmit since boot.",
                |d| (d.rx_drop, d.tx_drop),
            ),
        ];
        for (name, unit, description, get) in metrics {
            let mut m = b.sum(name, unit, description, Monotonic::Yes);
            for d in &devs {
                let (received, sent) = get(d);
                m.point_i64(t.start, t.now, int(received), &rw(&d.name, "receive"));
                m.point_i64(t.start, t.now, int(sent), &rw(&d.name, "transmit"));
            }
        }

        let tcp = self.procfs.read_tcp_states(&mut self.buf);
        let udp = self.procfs.read_udp_socket_count(&mut self.buf);
        let mut m = b.sum(
            SYSTEM_NETWORK_CONNECTIONS,
            "{connection}",
            "TCP connections by state and UDP sockets, IPv4 and IPv6.",
            Monotonic::No,
        );
        if let Ok(tcp) = &tcp {
            for (state, n) in tcp.otel_states() {
                m.point_i64(t.start, t.now, int(n), &[(PROTOCOL, "tcp"), (STATE, state)]);
            }
        }
        if let Ok(n) = &udp {
            m.point_i64(t.start, t.now, int(*n), &[(PROTOCOL, "udp")]);
        }
        match (tcp, udp) {
            (Err(e), _) | (_, Err(e)) => Err(describe(&e)),
            _ => Ok(()),
        }
    }

    fn processes(
        &mut self,
        b: &mut MetricsBuilder,
        stat: Result<&Stat, String>,
        t: Times,
    ) -> Result<(), String> {
        let mut first_error = None;
        match stat {
            Ok(s) => {
                b.sum(
                    SYSTEM_PROCESSES_CREATED,
                    "{process}",
                    "Processes and threads created since boot.",
                    Monotonic::Yes,
                )
                .point_i64(t.start, t.now, int(s.processes_created), &[]);
            }
            Err(e) => first_error = Some(e),
        }
        match self.procfs.count_processes_by_state() {
            Ok(c) => {
                let mut m = b.sum(
                    SYSTEM_PROCESSES_COUNT,
                    "{process}",
                    "Processes by status.",
                    Monotonic::No,
                );
                for (status, n) in [
                    ("running", c.running),
                    ("sleeping", c.sleeping),
                    ("blocked", c.disk_sleep),
                    ("zombies", c.zombie),
                    ("stopped", c.stopped.saturating_add(c.tracing_stop)),
                    ("idle", c.idle),
                    ("unknown", c.dead.saturating_add(c.other)),
                ] {
                    m.point_i64(t.start, t.now, int(n), &[(STATUS, status)]);
                }
            }
            Err(e) => {
                first_error.get_or_insert(describe(&e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn uptime(&mut self, b: &mut MetricsBuilder, t: Times) -> Result<(), String> {
        let up = self
            .procfs
            .read_uptime(&mut self.buf)
            .map_err(|e| describe(&e))?;
        b.gauge(SYSTEM_UPTIME, "s", "Seconds since the host booted.")
            .gauge_f64(t.now, up.uptime_secs, &[]);
        Ok(())
    }
}

/// One filesystem measured this tick.
struct Measured<'a> {
    device: &'a str,
    mount_point: Cow<'a, str>,
    fs_type: &'a str,
    mode: &'static str,
    stats: FsStats,
}

impl Measured<'_> {
    /// `[device, mountpoint, type, mode, state]`.
    fn attrs<'s>(&'s self, state: &'s str) -> [(&'static str, &'s str); 5] {
        [
            (DEVICE, self.device),
            (MOUNTPOINT, self.mount_point.as_ref()),
            (TYPE, self.fs_type),
            (MODE, self.mode),
            (STATE, state),
        ]
    }
}

fn memory(b: &mut MetricsBuilder, m: &MemInfo, t: Times) {
    let states = [
        ("used", m.used()),
        ("free", m.free),
        ("buffered", m.buffers),
        ("cached", m.cached),
        ("slab_reclaimable", m.sreclaimable),
        ("slab_unreclaimable", m.sunreclaim),
    ];
    let mut usage = b.sum(
        SYSTEM_MEMORY_USAGE,
        "By",
        "Memory in use, free, and held by buffers, page cache and slab.",
        Monotonic::No,
    );
    for (state, bytes) in states {
        usage.point_i64(t.start, t.now, int(bytes), &[(STATE, state)]);
    }
    if m.total > 0 {
        let mut util = b.gauge(
            SYSTEM_MEMORY_UTILIZATION,
            "1",
            "Fraction of memory in each state.",
        );
        for (state, bytes) in states {
            util.gauge_f64(t.now, bytes as f64 / m.total as f64, &[(STATE, state)]);
        }
    }
    b.sum(
        SYSTEM_MEMORY_LIMIT,
        "By",
        "Total usable memory.",
        Monotonic::No,
    )
    .point_i64(t.start, t.now, int(m.total), &[]);
    if let Some(available) = m.available {
        b.sum(
            SYSTEM_LINUX_MEMORY_AVAILABLE,
            "By",
            "Memory available for new work without swapping (MemAvailable).",
            Monotonic::No,
        )
        .point_i64(t.start, t.now, int(available), &[]);
    }
}
