//! Scanner tests on a fake proc root (every value known), plus the real /proc.

use super::scan::{HostFacts, Scanner, Snapshot};
use lookout_config::{Filter, Pattern, ProcessMetricsConfig};
use std::path::Path;

const FACTS: HostFacts = HostFacts {
    ticks: 100,
    page: 4096,
    boot_time: 1_700_000_000,
    cpus: 4,
};

struct FakeProc {
    dir: tempfile::TempDir,
}

impl FakeProc {
    fn new() -> Self {
        let f = FakeProc {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(f.dir.path().join("etc")).unwrap();
        std::fs::write(
            f.dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\n",
        )
        .unwrap();
        f
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes /proc/<pid>/{stat,status,cmdline}.
    #[allow(clippy::too_many_arguments)]
    fn process(
        &self,
        pid: u32,
        comm: &str,
        ppid: u32,
        utime: u64,
        start: u64,
        rss_pages: u64,
        uid: u32,
        cmdline: &str,
    ) {
        let d = self.root().join("proc").join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
        // stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...
        let stat = format!(
            "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 7 0 1 0 {utime} 3 0 0 20 0 2 0 {start} {} {rss_pages} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
            rss_pages * 4096 * 3
        );
        std::fs::write(d.join("stat"), stat).unwrap();
        std::fs::write(
            d.join("status"),
            format!("Name:\t{comm}\nState:\tS (sleeping)\nPPid:\t{ppid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nThreads:\t2\nVmRSS:\t{} kB\nVmSwap:\t8 kB\nvoluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t6\n", rss_pages * 4),
        )
        .unwrap();
        std::fs::write(d.join("cmdline"), cmdline.replace(' ', "\0") + "\0").unwrap();
        std::fs::write(d.join("io"), "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n").unwrap();
        std::fs::create_dir_all(d.join("fd")).unwrap();
        for fd in 0..3 {
            let _ = std::fs::write(d.join("fd").join(fd.to_string()), "");
        }
    }

    fn remove(&self, pid: u32) {
        std::fs::remove_dir_all(self.root().join("proc").join(pid.to_string())).unwrap();
    }

    fn scanner(&self, top_n: usize) -> Scanner {
        let cfg = ProcessMetricsConfig {
            top_n,
            proc_path: self.root().join("proc"),
            etc_path: self.root().join("etc"),
            rollup_groups: 3,
            ..Default::default()
        };
        Scanner::with_facts(cfg, FACTS)
    }
}

fn find(s: &Snapshot, pid: u32) -> Option<&super::scan::ProcessInfo> {
    s.reported.iter().find(|p| p.pid == pid)
}

#[test]
fn reports_details_of_top_processes() {
    let f = FakeProc::new();
    f.process(
        100,
        "postgres",
        1,
        500,
        1000,
        256,
        33,
        "postgres -D /var/lib/postgresql",
    );
    let mut s = f.scanner(5);
    let snap = s.scan().unwrap();
    let p = find(&snap, 100).unwrap();
    assert_eq!(p.name, "postgres");
    assert_eq!(p.command_line, "postgres -D /var/lib/postgresql");
    assert_eq!(p.owner.as_deref(), Some("www"));
    assert_eq!(p.rss_bytes, 256 * 4096);
    assert_eq!(p.swap_bytes, Some(8 * 1024));
    assert_eq!(p.cpu_user_secs, 5.0);
    assert_eq!(p.cpu_cores, None, "no utilization on first sight");
    assert_eq!(p.open_fds, Some(3));
    assert_eq!(p.disk_read_bytes, Some(4096));
    assert_eq!(p.ctx_involuntary, Some(6));
    assert_eq!(p.service.as_deref(), Some("postgresql"));
    assert_eq!(
        p.start_time_unix_nanos,
        (1_700_000_000 + 10) * 1_000_000_000
    );
}

#[test]
fn pid_reuse_never_mixes_two_processes() {
    let f = FakeProc::new();
    f.process(200, "worker", 1, 90_000, 1000, 10, 0, "worker --old");
    let mut s = f.scanner(5);
    s.scan().unwrap();
    // the process exits and another one gets pid 200, started later, with little CPU time
    f.remove(200);
    f.process(200, "other", 1, 7, 5000, 10, 0, "other --new");
    let snap = s.scan().unwrap();
    let p = find(&snap, 200).unwrap();
    assert_eq!(p.name, "other");
    assert_eq!(
        p.command_line, "other --new",
        "static facts re-read for the new identity"
    );
    assert_eq!(
        p.cpu_cores, None,
        "no delta across identities (would be negative or huge)"
    );
    assert_eq!(p.cpu_user_secs, 0.07);
    // and a third scan gives a sane delta from the new identity only
    f.process(200, "other", 1, 57, 5000, 10, 0, "other --new");
    let snap = s.scan().unwrap();
    let c = find(&snap, 200).unwrap().cpu_cores.unwrap();
    assert!(c >= 0.0, "{c}");
}

#[test]
fn top_n_and_rollups_add_up_and_stay_bounded() {
    let f = FakeProc::new();
    for i in 0..60u32 {
        let name = format!("app{}", i % 8);
        f.process(
            1000 + i,
            &name,
            1,
            u64::from(i) * 10,
            100 + u64::from(i),
            u64::from(i) + 1,
            0,
            &name,
        );
    }
    let mut s = f.scanner(3);
    s.scan().unwrap();
    for i in 0..60u32 {
        let name = format!("app{}", i % 8);
        f.process(
            1000 + i,
            &name,
            1,
            u64::from(i) * 10 + u64::from(i % 5),
            100 + u64::from(i),
            u64::from(i) + 1,
            0,
            &name,
        );
    }
    let snap = s.scan().unwrap();
    assert_eq!(snap.processes, 60);
    assert!(
        snap.reported.len() <= 6,
        "top 3 by CPU ∪ top 3 by memory: {}",
        snap.reported.len()
    );
    assert!(
        snap.rollups.len() <= 4,
        "3 groups + other: {:?}",
        snap.rollups
    );
    let rss: u64 = snap.reported.iter().map(|p| p.rss_bytes).sum::<u64>()
        + snap.rollups.iter().map(|g| g.rss_bytes).sum::<u64>();
    assert_eq!(rss, snap.total.rss_bytes);
    let n: u64 = snap.reported.len() as u64 + snap.rollups.iter().map(|g| g.processes).sum::<u64>();
    assert_eq!(n, 60);
    let cores: f64 = snap
        .reported
        .iter()
        .filter_map(|p| p.cpu_cores)
        .sum::<f64>()
        + snap.rollups.iter().map(|g| g.cpu_cores).sum::<f64>();
    assert!((cores - snap.total.cpu_cores).abs() < 1e-9);
    // the largest by memory (pid 1059, 60 pages) is reported
    assert!(find(&snap, 1059).is_some());
    assert!(snap.rollups.iter().any(|g| g.name == "other"));
}

#[test]
fn filters_and_always_include() {
    let f = FakeProc::new();
    f.process(10, "big", 1, 0, 1, 1000, 0, "big");
    f.process(11, "tiny", 1, 0, 1, 1, 0, "tiny");
    f.process(12, "noise", 1, 0, 1, 900, 0, "noise");
    let cfg = ProcessMetricsConfig {
        top_n: 1,
        proc_path: f.root().join("proc"),
        etc_path: f.root().join("etc"),
        names: Filter {
            include: vec![],
            exclude: vec![Pattern("big".into())],
        },
        always_include: vec![Pattern("tiny".into())],
        ..Default::default()
    };
    let snap = Scanner::with_facts(cfg, FACTS).scan().unwrap();
    let pids: Vec<u32> = snap.reported.iter().map(|p| p.pid).collect();
    assert_eq!(pids, vec![11, 12]);
    assert_eq!(
        snap.total.processes, 3,
        "excluded processes still count in the totals"
    );
}

#[test]
fn services_include_inheriting_descendants() {
    let f = FakeProc::new();
    f.process(10, "apache2", 1, 0, 1, 100, 0, "/usr/sbin/apache2 -k start");
    f.process(
        11,
        "apache2",
        10,
        0,
        2,
        50,
        33,
        "/usr/sbin/apache2 -k start",
    );
    f.process(12, "rotatelogs", 10, 0, 3, 5, 33, "rotatelogs");
    f.process(20, "sshd", 1, 0, 4, 10, 0, "sshd");
    f.process(21, "bash", 20, 0, 5, 10, 0, "-bash");
    let snap = f.scanner(10).scan().unwrap();
    let apache = snap.services.iter().find(|g| g.name == "apache").unwrap();
    assert_eq!(apache.processes, 3);
    assert_eq!(apache.rss_bytes, 155 * 4096);
    assert_eq!(find(&snap, 12).unwrap().service.as_deref(), Some("apache"));
    assert_eq!(
        find(&snap, 21).unwrap().service,
        None,
        "sshd sessions are not sshd's footprint"
    );
}

#[test]
fn vanished_processes_are_counted_not_errors() {
    let f = FakeProc::new();
    f.process(10, "a", 1, 0, 1, 1, 0, "a");
    std::fs::create_dir_all(f.root().join("proc/11")).unwrap(); // a directory without files
    let snap = f.scanner(5).scan().unwrap();
    assert_eq!(snap.processes, 1);
    assert_eq!(snap.vanished, 1);
}

#[test]
fn real_proc_scan_finds_this_process() {
    let cfg = ProcessMetricsConfig {
        top_n: 100_000,
        ..Default::default()
    };
    let mut s = Scanner::new(cfg);
    s.scan().unwrap();
    let snap = s.scan().unwrap();
    let me = std::process::id();
    let p = find(&snap, me).expect("this test process is reported when every process is");
    assert!(p.threads >= 1);
    assert!(p.rss_bytes > 0);
    assert!(p.open_fds.unwrap() >= 3);
    assert!(p.cpu_cores.is_some());
    assert_eq!(snap.reported.len() as u64, snap.processes);
}

#[test]
fn emitted_metrics_follow_semantic_conventions() {
    let f = FakeProc::new();
    f.process(
        100,
        "redis-server",
        1,
        50,
        1000,
        256,
        0,
        "redis-server *:6379",
    );
    let mut s = f.scanner(5);
    s.scan().unwrap();
    let snap = s.scan().unwrap();
    let req = super::emit::metrics(&[lookout_model::attr::str("host.name", "h")], &snap);
    let rm = &req.resource_metrics[0];
    let attrs = &rm.resource.as_ref().unwrap().attributes;
    assert_eq!(
        lookout_model::attr::get_str(attrs, "process.executable.name"),
        Some("redis-server")
    );
    assert_eq!(
        lookout_model::attr::get_str(attrs, "service.name"),
        Some("redis")
    );
    assert_eq!(
        lookout_model::attr::get_str(attrs, "process.command_line"),
        Some("redis-server *:6379")
    );
    assert_eq!(
        lookout_model::attr::get_str(attrs, "process.creation.time"),
        Some("2023-11-14T22:13:30Z")
    );
    let names: Vec<&str> = rm.scope_metrics[0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    for n in [
        "process.cpu.time",
        "process.cpu.utilization",
        "process.memory.usage",
        "process.memory.virtual",
        "process.threads",
        "process.open_file_descriptors",
        "process.disk.io",
        "process.context_switches",
        "process.paging.faults",
    ] {
        assert!(names.contains(&n), "missing {n}: {names:?}");
    }
    // the service footprint is its own resource with group metrics, not process.* again
    let svc = req
        .resource_metrics
        .iter()
        .find(|r| {
            lookout_model::attr::get_str(
                &r.resource.as_ref().unwrap().attributes,
                "lookout.process.group.kind",
            ) == Some("service")
        })
        .unwrap();
    assert!(svc.scope_metrics[0]
        .metrics
        .iter()
        .all(|m| m.name.starts_with("lookout.process.group.")));
}

#[test]
fn strip_command_line_keeps_only_the_executable() {
    let mut cmd = String::from("/usr/bin/mysql -u root --password=hunter2");
    super::scan::strip_arguments(b"/usr/bin/mysql\0-u\0root\0--password=hunter2\0", &mut cmd);
    assert_eq!(cmd, "/usr/bin/mysql");
    // a process that rewrote its line without NULs keeps it (as the agent does)
    let mut cmd = String::from("postgres: checkpointer");
    super::scan::strip_arguments(b"postgres: checkpointer\0", &mut cmd);
    assert_eq!(cmd, "postgres: checkpointer");
    let mut cmd = String::new();
    super::scan::strip_arguments(b"", &mut cmd);
    assert_eq!(cmd, "");
}
