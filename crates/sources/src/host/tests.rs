use super::*;
use crate::testutil::{attr_values, get, matching, metric, points, value, FakeHost};
use lookout_config::{Filter, Pattern};
use lookout_model::attr;
use lookout_model::otlp::{metric::Data, number_data_point, AggregationTemporality};
use lookout_model::semconv::*;
use lookout_pipeline::ComponentKind;
use lookout_proc::ReadError;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `btime` of the fixture's `/proc/stat`, in nanoseconds.
const BOOT_NANOS: u64 = 1_795_443_679 * 1_000_000_000;
const KIB: f64 = 1024.0;

fn source_for(host: &FakeHost, edit: impl FnOnce(&mut HostMetricsConfig)) -> HostMetricsSource {
    let mut cfg = HostMetricsConfig {
        proc_path: host.proc.clone(),
        root_path: host.root.clone(),
        ..Default::default()
    };
    edit(&mut cfg);
    let mut s = HostMetricsSource::new(cfg, Arc::new(vec![attr::str(HOST_NAME, "fake")])).unwrap();
    // USER_HZ is 100 on every Linux architecture lookout runs on; fixed so the test says so.
    s.collector.ticks_per_second = 100;
    s
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn pattern(p: &str) -> Pattern {
    Pattern(p.to_string())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[track_caller]
fn assert_close(actual: f64, expected: f64) {
    assert!(close(actual, expected), "{actual} != {expected}");
}

/// Sum of the utilization points of one CPU (`None`: the series without a cpu attribute).
fn utilization_sum(c: &Collection, cpu: Option<&str>) -> f64 {
    points(&c.request, SYSTEM_CPU_UTILIZATION)
        .iter()
        .filter(|p| attr::get_str(&p.attributes, "cpu") == cpu)
        .map(|p| value(p))
        .sum()
}

#[test]
fn cpu_times_from_the_fixture_then_utilization_from_the_second_tick() {
    let host = FakeHost::new();
    let mut s = source_for(&host, |_| {});
    let c = s.collect();
    assert_eq!(c.errors, vec![]);
    let r = &c.request;
    let time = |cpu, state| get(r, SYSTEM_CPU_TIME, &[("cpu", cpu), ("state", state)]);
    // cpu0 2668 0 1035 15351 28 0 11 3: ticks / 100
    assert_close(time("cpu0", "user"), 26.68);
    assert_close(time("cpu0", "nice"), 0.0);
    assert_close(time("cpu0", "system"), 10.35);
    assert_close(time("cpu0", "idle"), 153.51);
    assert_close(time("cpu0", "wait"), 0.28);
    assert_close(time("cpu0", "interrupt"), 0.11);
    assert_close(time("cpu0", "steal"), 0.03);
    // cpu1 2831 0 1666 14150 390 0 64 11
    assert_close(time("cpu1", "interrupt"), 0.64);
    assert_close(time("cpu1", "wait"), 3.90);
    assert_eq!(points(r, SYSTEM_CPU_TIME).len(), 2 * 7);
    assert!(points(r, SYSTEM_CPU_TIME)
        .iter()
        .all(|p| p.start_time_unix_nano == BOOT_NANOS && p.time_unix_nano > BOOT_NANOS));
    assert_eq!(get(r, SYSTEM_CPU_LOGICAL_COUNT, &[]), 2.0);
    assert!(
        metric(r, SYSTEM_CPU_UTILIZATION).is_none(),
        "no utilization without a previous tick"
    );

    // 100 ticks pass on cpu0 (50 user, 30 system, 20 idle), 200 idle ticks on cpu1.
    host.edit(
        "stat",
        "cpu0 2668 0 1035 15351 28",
        "cpu0 2718 0 1065 15371 28",
    );
    host.edit(
        "stat",
        "cpu1 2831 0 1666 14150 390",
        "cpu1 2831 0 1666 14350 390",
    );
    let c = s.collect();
    let r = &c.request;
    let util = |cpu, state| get(r, SYSTEM_CPU_UTILIZATION, &[("cpu", cpu), ("state", state)]);
    assert_close(util("cpu0", "user"), 0.5);
    assert_close(util("cpu0", "system"), 0.3);
    assert_close(util("cpu0", "idle"), 0.2);
    assert_close(util("cpu0", "wait"), 0.0);
    assert_close(util("cpu1", "idle"), 1.0);
    assert_close(util("cpu1", "user"), 0.0);
    assert_eq!(points(r, SYSTEM_CPU_UTILIZATION).len(), 2 * 7);
    for cpu in ["cpu0", "cpu1"] {
        assert_close(utilization_sum(&c, Some(cpu)), 1.0);
    }
    assert_close(time("cpu0", "user"), 26.68); // the first request is unchanged
    assert_close(
        get(r, SYSTEM_CPU_TIME, &[("cpu", "cpu0"), ("state", "user")]),
        27.18,
    );

    // No tick passed: no utilization rather than NaN.
    let c = s.collect();
    assert!(metric(&c.request, SYSTEM_CPU_UTILIZATION).is_none());
}

#[test]
fn cpu_total_only_without_a_cpu_attribute() {
    let host = FakeHost::new();
    let mut s = source_for(&host, |c| c.cpu.per_cpu = false);
    let c = s.collect();
    let r = &c.request;
    assert_eq!(points(r, SYSTEM_CPU_TIME).len(), 7);
    assert_eq!(attr_values(r, SYSTEM_CPU_TIME, "cpu"), names(&[]));
    // cpu  5499 0 2702 29502 419 0 75 14
    assert_close(get(r, SYSTEM_CPU_TIME, &[("state", "user")]), 54.99);
    assert_close(get(r, SYSTEM_CPU_TIME, &[("state", "interrupt")]), 0.75);
    assert_eq!(get(r, SYSTEM_CPU_LOGICAL_COUNT, &[]), 2.0);

    host.edit("stat", "cpu  5499 0 2702 29502", "cpu  5549 0 2732 29722");
    let c = s.collect();
    assert_close(
        get(&c.request, SYSTEM_CPU_UTILIZATION, &[("state", "user")]),
        50.0 / 300.0,
    );
    assert_close(
        get(&c.request, SYSTEM_CPU_UTILIZATION, &[("state", "system")]),
        0.1,
    );
    assert_close(utilization_sum(&c, None), 1.0);
}

#[test]
fn memory_as_free_counts_it() {
    let host = FakeHost::new();
    let c = source_for(&host, |c| c.collectors = vec![HostCollector::Memory]).collect();
    let r = &c.request;
    let total = 24_684_092.0 * KIB;
    // MemTotal - MemFree - Buffers - Cached - SReclaimable
    let used = (24_684_092.0 - 23_344_420.0 - 13_764.0 - 836_592.0 - 97_052.0) * KIB;
    assert_eq!(used, 392_264.0 * KIB);
    let usage = |state| get(r, SYSTEM_MEMORY_USAGE, &[("state", state)]);
    assert_eq!(usage("used"), used);
    assert_eq!(usage("free"), 23_344_420.0 * KIB);
    assert_eq!(usage("buffered"), 13_764.0 * KIB);
    assert_eq!(usage("cached"), 836_592.0 * KIB);
    assert_eq!(usage("slab_reclaimable"), 97_052.0 * KIB);
    assert_eq!(usage("slab_unreclaimable"), 25_716.0 * KIB);
    assert_eq!(get(r, SYSTEM_MEMORY_LIMIT, &[]), total);
    assert_close(
        get(r, SYSTEM_MEMORY_UTILIZATION, &[("state", "used")]),
        used / total,
    );
    assert_eq!(points(r, SYSTEM_MEMORY_UTILIZATION).len(), 6);
    // Only what was asked for.
    let all: Vec<_> = r.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(
        all,
        [
            SYSTEM_MEMORY_USAGE,
            SYSTEM_MEMORY_UTILIZATION,
            SYSTEM_MEMORY_LIMIT,
            SYSTEM_LINUX_MEMORY_AVAILABLE
        ]
    );
    // MemAvailable of the fixture
    assert_eq!(
        get(r, SYSTEM_LINUX_MEMORY_AVAILABLE, &[]),
        23_965_104.0 * KIB
    );
}

#[test]
fn paging_swap_faults_and_operations() {
    let host = FakeHost::new();
    let mut s = source_for(&host, |c| c.collectors = vec![HostCollector::Paging]);
    let c = s.collect();
    let r = &c.request;
    assert_eq!(get(r, SYSTEM_PAGING_USAGE, &[("state", "used")]), 0.0);
    assert_eq!(get(r, SYSTEM_PAGING_USAGE, &[("state", "free")]), 0.0);
    assert!(metric(r, SYSTEM_PAGING_UTILIZATION).is_none(), "no swap");
    assert_eq!(get(r, SYSTEM_PAGING_FAULTS, &[("type", "major")]), 977.0);
    assert_eq!(
        get(r, SYSTEM_PAGING_FAULTS, &[("type", "minor")]),
        (2_458_616 - 977) as f64
    );
    let ops = |direction, kind| {
        get(
            r,
            SYSTEM_PAGING_OPERATIONS,
            &[("direction", direction), ("type", kind)],
        )
    };
    assert_eq!(ops("page_in", "major"), 0.0);
    assert_eq!(ops("page_out", "major"), 0.0);
    assert_eq!(ops("page_in", "minor"), 1_258_201.0);
    assert_eq!(ops("page_out", "minor"), 809_284.0);

    host.edit(
        "meminfo",
        "SwapTotal:             0 kB",
        "SwapTotal:       1000 kB",
    );
    host.edit(
        "meminfo",
        "SwapFree:              0 kB",
        "SwapFree:         250 kB",
    );
    let c = s.collect();
    let r = &c.request;
    assert_eq!(
        get(r, SYSTEM_PAGING_USAGE, &[("state", "used")]),
        750.0 * KIB
    );
    assert_close(
        get(r, SYSTEM_PAGING_UTILIZATION, &[("state", "used")]),
        0.75,
    );
    assert_close(
        get(r, SYSTEM_PAGING_UTILIZATION, &[("state", "free")]),
        0.25,
    );
}

#[test]
fn disks_in_bytes_seconds_and_operations_with_filters() {
    let host = FakeHost::new();
    let c = source_for(&host, |c| c.collectors = vec![HostCollector::Disk]).collect();
    let r = &c.request;
    // vda 31249 5967 2516402 11170 23836 9532 1618568 11542 0 6804
    let vda = |name, direction| get(r, name, &[("device", "vda"), ("direction", direction)]);
    assert_eq!(vda(SYSTEM_DISK_IO, "read"), 2_516_402.0 * 512.0);
    assert_eq!(vda(SYSTEM_DISK_IO, "write"), 1_618_568.0 * 512.0);
    assert_eq!(vda(SYSTEM_DISK_OPERATIONS, "read"), 31_249.0);
    assert_eq!(vda(SYSTEM_DISK_OPERATIONS, "write"), 23_836.0);
    assert_close(vda(SYSTEM_DISK_OPERATION_TIME, "read"), 11.170);
    assert_close(vda(SYSTEM_DISK_OPERATION_TIME, "write"), 11.542);
    assert_eq!(vda(SYSTEM_DISK_MERGED, "read"), 5_967.0);
    assert_eq!(vda(SYSTEM_DISK_MERGED, "write"), 9_532.0);
    assert_close(get(r, SYSTEM_DISK_IO_TIME, &[("device", "vda")]), 6.804);
    let all = names(&[
        "loop0", "loop1", "loop2", "loop3", "loop4", "loop5", "loop6", "loop7", "vda", "zram0",
    ]);
    for name in [
        SYSTEM_DISK_IO,
        SYSTEM_DISK_OPERATIONS,
        SYSTEM_DISK_IO_TIME,
        SYSTEM_DISK_OPERATION_TIME,
        SYSTEM_DISK_MERGED,
    ] {
        assert_eq!(attr_values(r, name, "device"), all, "{name}");
    }

    let c = source_for(&host, |c| {
        c.collectors = vec![HostCollector::Disk];
        c.disk.exclude = vec![pattern("loop*")];
    })
    .collect();
    assert_eq!(
        attr_values(&c.request, SYSTEM_DISK_IO, "device"),
        names(&["vda", "zram0"])
    );
    let c = source_for(&host, |c| {
        c.collectors = vec![HostCollector::Disk];
        c.disk = Filter {
            include: vec![pattern("vd?"), pattern("zram*")],
            exclude: vec![pattern("zram0")],
        };
    })
    .collect();
    assert_eq!(
        attr_values(&c.request, SYSTEM_DISK_IO_TIME, "device"),
        names(&["vda"])
    );
}

#[test]
fn network_interfaces_and_connections() {
    let host = FakeHost::new();
    let c = source_for(&host, |c| c.collectors = vec![HostCollector::Network]).collect();
    assert_eq!(c.errors, vec![]);
    let r = &c.request;
    let eth0 = |name, direction| get(r, name, &[("device", "eth0"), ("direction", direction)]);
    assert_eq!(eth0(SYSTEM_NETWORK_IO, "receive"), 122_004_789.0);
    assert_eq!(eth0(SYSTEM_NETWORK_IO, "transmit"), 215_069.0);
    assert_eq!(eth0(SYSTEM_NETWORK_PACKETS, "receive"), 3_251.0);
    assert_eq!(eth0(SYSTEM_NETWORK_PACKETS, "transmit"), 2_134.0);
    assert_eq!(eth0(SYSTEM_NETWORK_ERRORS, "receive"), 0.0);
    assert_eq!(eth0(SYSTEM_NETWORK_DROPPED, "transmit"), 0.0);
    for name in [
        SYSTEM_NETWORK_IO,
        SYSTEM_NETWORK_PACKETS,
        SYSTEM_NETWORK_ERRORS,
        SYSTEM_NETWORK_DROPPED,
    ] {
        assert_eq!(
            attr_values(r, name, "device"),
            names(&["lo", "ifb0", "ifb1", "eth0"])
        );
        assert_eq!(points(r, name).len(), 8);
    }
    // Every TCP state, zeros included; UDP without a state.
    let tcp = matching(r, SYSTEM_NETWORK_CONNECTIONS, &[]);
    assert!(tcp.is_empty());
    let states = attr_values(r, SYSTEM_NETWORK_CONNECTIONS, "state");
    assert_eq!(
        states,
        names(&[
            "established",
            "syn_sent",
            "syn_recv",
            "fin_wait_1",
            "fin_wait_2",
            "time_wait",
            "close",
            "close_wait",
            "last_ack",
            "listen",
            "closing"
        ])
    );
    assert_eq!(points(r, SYSTEM_NETWORK_CONNECTIONS).len(), 12);
    let conn = |state| {
        get(
            r,
            SYSTEM_NETWORK_CONNECTIONS,
            &[("protocol", "tcp"), ("state", state)],
        )
    };
    assert_eq!(conn("listen"), 11.0);
    assert_eq!(conn("closing"), 0.0);
    assert_eq!(
        get(r, SYSTEM_NETWORK_CONNECTIONS, &[("protocol", "udp")]),
        0.0
    );

    let c = source_for(&host, |c| {
        c.collectors = vec![HostCollector::Network];
        c.network.exclude = vec![pattern("ifb*")];
    })
    .collect();
    assert_eq!(
        attr_values(&c.request, SYSTEM_NETWORK_IO, "device"),
        names(&["lo", "eth0"])
    );
}

#[test]
fn load_uptime_and_processes() {
    let host = FakeHost::new();
    let c = source_for(&host, |c| {
        c.collectors = vec![
            HostCollector::Load,
            HostCollector::Uptime,
            HostCollector::Processes,
        ]
    })
    .collect();
    assert_eq!(c.errors, vec![]);
    let r = &c.request;
    assert_eq!(get(r, SYSTEM_CPU_LOAD_AVERAGE_1M, &[]), 0.46);
    assert_eq!(get(r, SYSTEM_CPU_LOAD_AVERAGE_5M, &[]), 0.26);
    assert_eq!(get(r, SYSTEM_CPU_LOAD_AVERAGE_15M, &[]), 0.11);
    assert_eq!(get(r, SYSTEM_UPTIME, &[]), 193.59);
    assert_eq!(get(r, SYSTEM_PROCESSES_CREATED, &[]), 5822.0);
    // The fixture holds two processes, kthreadd and postgres, both sleeping.
    let status = |s| get(r, SYSTEM_PROCESSES_COUNT, &[("status", s)]);
    assert_eq!(status("sleeping"), 2.0);
    for s in [
        "running", "blocked", "zombies", "stopped", "idle", "unknown",
    ] {
        assert_eq!(status(s), 0.0, "{s}");
    }
    // Cumulative from boot even without the cpu collector.
    let created = points(r, SYSTEM_PROCESSES_CREATED);
    assert_eq!(created[0].start_time_unix_nano, BOOT_NANOS);
}

#[test]
fn sums_start_at_boot_even_when_stat_is_not_otherwise_read() {
    let host = FakeHost::new();
    let c = source_for(&host, |c| c.collectors = vec![HostCollector::Disk]).collect();
    assert!(points(&c.request, SYSTEM_DISK_IO)
        .iter()
        .all(|p| p.start_time_unix_nano == BOOT_NANOS));
}

/// Filesystem points as (mountpoint, device, type, mode) for the `used` state.
fn filesystems(c: &Collection) -> BTreeSet<(String, String, String, String)> {
    points(&c.request, SYSTEM_FILESYSTEM_USAGE)
        .iter()
        .filter(|p| attr::get_str(&p.attributes, "state") == Some("used"))
        .map(|p| {
            let a = |k| attr::get_str(&p.attributes, k).unwrap().to_string();
            (a("mountpoint"), a("device"), a("type"), a("mode"))
        })
        .collect()
}

fn fs_row(mp: &str, dev: &str, ty: &str, mode: &str) -> (String, String, String, String) {
    (mp.into(), dev.into(), ty.into(), mode.into())
}

#[test]
fn filesystems_under_root_path() {
    let host = FakeHost::new();
    let only_fs = |c: &mut HostMetricsConfig| c.collectors = vec![HostCollector::Filesystem];
    let c = source_for(&host, only_fs).collect();
    assert_eq!(c.errors, vec![]);
    // Pseudo filesystems are left out: only / (ext4 on /dev/vda), measured at root_path.
    assert_eq!(
        filesystems(&c),
        [fs_row("/", "/dev/vda", "ext4", "rw")].into()
    );
    let r = &c.request;
    let fs = |name, state| {
        get(
            r,
            name,
            &[
                ("device", "/dev/vda"),
                ("mountpoint", "/"),
                ("type", "ext4"),
                ("mode", "rw"),
                ("state", state),
            ],
        )
    };
    let (used, free, reserved) = (
        fs(SYSTEM_FILESYSTEM_USAGE, "used"),
        fs(SYSTEM_FILESYSTEM_USAGE, "free"),
        fs(SYSTEM_FILESYSTEM_USAGE, "reserved"),
    );
    assert!(used + free > 0.0);
    let util = get(
        r,
        SYSTEM_FILESYSTEM_UTILIZATION,
        &[
            ("device", "/dev/vda"),
            ("mountpoint", "/"),
            ("type", "ext4"),
            ("mode", "rw"),
        ],
    );
    assert_close(util, used / (used + free));
    // The byte states add up to the size of the filesystem holding root_path.
    let size = lookout_proc::statvfs(&host.root).unwrap().total_bytes() as f64;
    assert_eq!(used + free + reserved, size);
    // Inode counts exist (0 on filesystems without an inode table, such as btrfs).
    fs(SYSTEM_FILESYSTEM_INODES_USAGE, "used");
    fs(SYSTEM_FILESYSTEM_INODES_USAGE, "free");

    // With pseudo filesystems: each (device, mount point) once, and mount points missing under
    // root_path (the cgroup ones) skipped without an error. A read-only mount says so.
    for dir in ["proc", "sys", "dev/shm", "dev/pts", "data"] {
        std::fs::create_dir_all(host.root.join(dir)).unwrap();
    }
    // (root_path is not `/`: the mounts are the host's, pid 1's, not the agent's own)
    let mut mountinfo = std::fs::read_to_string(host.proc.join("1/mountinfo")).unwrap();
    mountinfo.push_str("50 27 254:16 / /data ro,relatime - xfs /dev/vdb ro,attr2\n");
    std::fs::write(host.proc.join("1/mountinfo"), mountinfo).unwrap();
    let mut own = std::fs::read_to_string(host.proc.join("self/mountinfo")).unwrap();
    own.push_str("51 27 254:32 / /container-only rw,relatime - ext4 /dev/vdc rw\n");
    std::fs::write(host.proc.join("self/mountinfo"), own).unwrap();
    std::fs::create_dir_all(host.root.join("container-only")).unwrap();
    let c = source_for(&host, |c| {
        only_fs(c);
        c.filesystem.include_pseudo = true;
    })
    .collect();
    assert_eq!(c.errors, vec![]);
    assert_eq!(
        filesystems(&c),
        [
            fs_row("/", "/dev/vda", "ext4", "rw"),
            fs_row("/data", "/dev/vdb", "xfs", "ro"),
            fs_row("/dev", "devtmpfs", "devtmpfs", "rw"),
            fs_row("/dev/pts", "devpts", "devpts", "rw"),
            fs_row("/dev/shm", "tmpfs", "tmpfs", "rw"),
            fs_row("/proc", "proc", "proc", "rw"),
            fs_row("/sys", "sysfs", "sysfs", "rw"),
        ]
        .into()
    );
    assert_eq!(points(&c.request, SYSTEM_FILESYSTEM_USAGE).len(), 7 * 3);
    assert_eq!(
        points(&c.request, SYSTEM_FILESYSTEM_INODES_USAGE).len(),
        7 * 2
    );

    // Filters on type, mount point and device.
    let c = source_for(&host, |c| {
        only_fs(c);
        c.filesystem.fs_types.exclude = vec![pattern("ext4")];
    })
    .collect();
    assert_eq!(
        filesystems(&c),
        [fs_row("/data", "/dev/vdb", "xfs", "ro")].into()
    );
    let c = source_for(&host, |c| {
        only_fs(c);
        c.filesystem.include_pseudo = true;
        c.filesystem.mount_points.include = vec![pattern("/dev*")];
        c.filesystem.devices.exclude = vec![pattern("tmpfs")];
    })
    .collect();
    assert_eq!(
        filesystems(&c),
        [
            fs_row("/dev", "devtmpfs", "devtmpfs", "rw"),
            fs_row("/dev/pts", "devpts", "devpts", "rw"),
        ]
        .into()
    );
    assert_eq!(c.errors, vec![]);
}

#[test]
fn every_metric_has_its_semantic_convention_shape() {
    let host = FakeHost::new();
    host.edit(
        "meminfo",
        "SwapTotal:             0 kB",
        "SwapTotal:       1000 kB",
    );
    let mut s = source_for(&host, |_| {});
    s.collect();
    host.edit("stat", "cpu0 2668", "cpu0 2669");
    let c = s.collect();
    assert_eq!(c.errors, vec![]);
    // (name, unit, Some(monotonic) for a sum / None for a gauge, integer values)
    let expected: &[(&str, &str, Option<bool>, bool)] = &[
        (SYSTEM_CPU_TIME, "s", Some(true), false),
        (SYSTEM_CPU_UTILIZATION, "1", None, false),
        (SYSTEM_CPU_LOGICAL_COUNT, "{cpu}", Some(false), true),
        (SYSTEM_CPU_LOAD_AVERAGE_1M, "{thread}", None, false),
        (SYSTEM_CPU_LOAD_AVERAGE_5M, "{thread}", None, false),
        (SYSTEM_CPU_LOAD_AVERAGE_15M, "{thread}", None, false),
        (SYSTEM_MEMORY_USAGE, "By", Some(false), true),
        (SYSTEM_MEMORY_UTILIZATION, "1", None, false),
        (SYSTEM_MEMORY_LIMIT, "By", Some(false), true),
        (SYSTEM_LINUX_MEMORY_AVAILABLE, "By", Some(false), true),
        (SYSTEM_PAGING_USAGE, "By", Some(false), true),
        (SYSTEM_PAGING_UTILIZATION, "1", None, false),
        (SYSTEM_PAGING_FAULTS, "{fault}", Some(true), true),
        (SYSTEM_PAGING_OPERATIONS, "{operation}", Some(true), true),
        (SYSTEM_DISK_IO, "By", Some(true), true),
        (SYSTEM_DISK_OPERATIONS, "{operation}", Some(true), true),
        (SYSTEM_DISK_IO_TIME, "s", Some(true), false),
        (SYSTEM_DISK_OPERATION_TIME, "s", Some(true), false),
        (SYSTEM_DISK_MERGED, "{operation}", Some(true), true),
        (SYSTEM_FILESYSTEM_USAGE, "By", Some(false), true),
        (SYSTEM_FILESYSTEM_UTILIZATION, "1", None, false),
        (SYSTEM_FILESYSTEM_INODES_USAGE, "{inode}", Some(false), true),
        (SYSTEM_NETWORK_IO, "By", Some(true), true),
        (SYSTEM_NETWORK_PACKETS, "{packet}", Some(true), true),
        (SYSTEM_NETWORK_ERRORS, "{error}", Some(true), true),
        (SYSTEM_NETWORK_DROPPED, "{packet}", Some(true), true),
        (
            SYSTEM_NETWORK_CONNECTIONS,
            "{connection}",
            Some(false),
            true,
        ),
        (SYSTEM_PROCESSES_COUNT, "{process}", Some(false), true),
        (SYSTEM_PROCESSES_CREATED, "{process}", Some(true), true),
        (SYSTEM_UPTIME, "s", None, false),
    ];
    let rm = &c.request.resource_metrics;
    assert_eq!(rm.len(), 1);
    let resource = &rm[0].resource.as_ref().unwrap().attributes;
    assert_eq!(attr::get_str(resource, HOST_NAME), Some("fake"));
    assert_eq!(rm[0].scope_metrics.len(), 1);
    let scope = rm[0].scope_metrics[0].scope.as_ref().unwrap();
    assert_eq!(scope.name, "lookout/host");
    assert_eq!(scope.version, env!("CARGO_PKG_VERSION"));
    let metrics = &rm[0].scope_metrics[0].metrics;
    let emitted: BTreeSet<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    let wanted: BTreeSet<&str> = expected.iter().map(|e| e.0).collect();
    assert_eq!(emitted, wanted);
    assert_eq!(metrics.len(), expected.len(), "each metric once");
    let now = points(&c.request, SYSTEM_UPTIME)[0].time_unix_nano;
    for m in metrics {
        let (_, unit, sum, integer) = expected.iter().find(|e| e.0 == m.name).unwrap();
        assert_eq!(m.unit, *unit, "{}", m.name);
        assert!(
            m.description.ends_with('.') && m.description.len() > 10,
            "{}: {}",
            m.name,
            m.description
        );
        let dps = match (&m.data, sum) {
            (Some(Data::Sum(s)), Some(monotonic)) => {
                assert_eq!(s.is_monotonic, *monotonic, "{}", m.name);
                assert_eq!(
                    s.aggregation_temporality,
                    AggregationTemporality::Cumulative as i32
                );
                assert!(s
                    .data_points
                    .iter()
                    .all(|p| p.start_time_unix_nano == BOOT_NANOS));
                &s.data_points
            }
            (Some(Data::Gauge(g)), None) => {
                assert!(g.data_points.iter().all(|p| p.start_time_unix_nano == 0));
                &g.data_points
            }
            other => panic!("{}: {other:?}", m.name),
        };
        assert!(!dps.is_empty());
        for p in dps {
            assert_eq!(p.time_unix_nano, now, "one time for the whole tick");
            let is_int = matches!(p.value, Some(number_data_point::Value::AsInt(_)));
            assert_eq!(is_int, *integer, "{}", m.name);
        }
    }
}

#[test]
fn a_failing_collector_does_not_stop_the_others() {
    let host = FakeHost::new();
    let mut s = source_for(&host, |_| {});
    let stats = ComponentStats::new(
        "host",
        ComponentKind::Source,
        "host_metrics",
        Duration::from_secs(30),
    );
    let meminfo = host.proc.join("meminfo");
    let saved = std::fs::read(&meminfo).unwrap();
    std::fs::remove_file(&meminfo).unwrap();

    let c = s.collect();
    let failed: Vec<_> = c.errors.iter().map(|e| e.collector).collect();
    assert_eq!(failed, [HostCollector::Memory, HostCollector::Paging]);
    let text = c.errors[0].to_string();
    assert!(
        text.starts_with("memory collector: ") && text.contains(&meminfo.display().to_string()),
        "{text}"
    );
    assert!(text.ends_with("does not exist"), "{text}");
    // The others are all there, paging's vmstat part too.
    assert!(metric(&c.request, SYSTEM_CPU_TIME).is_some());
    assert!(metric(&c.request, SYSTEM_PAGING_FAULTS).is_some());
    assert!(metric(&c.request, SYSTEM_UPTIME).is_some());
    assert!(metric(&c.request, SYSTEM_MEMORY_USAGE).is_none());
    assert!(metric(&c.request, SYSTEM_PAGING_USAGE).is_none());

    // One failure per collector per streak, however many ticks it lasts.
    s.report(&stats, &c.errors);
    let snap = stats.snapshot();
    assert!(snap.failing);
    assert_eq!(snap.errors, 2);
    assert!(snap.last_error.unwrap().starts_with("paging collector: "));
    let c = s.collect();
    s.report(&stats, &c.errors);
    assert_eq!(stats.snapshot().errors, 2);

    // A parse error names the file and what is wrong with it, and starts a new streak of its
    // own once the file is back... unparsable.
    std::fs::write(&meminfo, "nonsense\n").unwrap();
    let c = s.collect();
    assert!(
        c.errors[0]
            .message
            .starts_with(&format!("cannot parse {}: ", meminfo.display())),
        "{}",
        c.errors[0]
    );
    s.report(&stats, &c.errors);
    assert_eq!(stats.snapshot().errors, 2, "still the same streak");

    std::fs::write(&meminfo, saved).unwrap();
    let c = s.collect();
    assert_eq!(c.errors, vec![]);
    s.report(&stats, &c.errors);
    let snap = stats.snapshot();
    assert!(!snap.failing && snap.healthy);
    assert_eq!(snap.errors, 2);

    // A new streak is recorded again.
    std::fs::remove_file(host.proc.join("loadavg")).unwrap();
    let c = s.collect();
    s.report(&stats, &c.errors);
    assert_eq!(stats.snapshot().errors, 3);
}

#[test]
fn permission_denied_says_what_could_not_be_read() {
    let path = PathBuf::from("/proc/meminfo");
    let message = collect::describe(&ReadError::PermissionDenied { path });
    assert!(
        message.starts_with("permission denied reading /proc/meminfo: "),
        "{message}"
    );
    let e = CollectorError {
        collector: HostCollector::Memory,
        message,
    };
    assert!(e
        .to_string()
        .starts_with("memory collector: permission denied reading /proc/meminfo"));

    // For real, where the test does not run as root (root reads files whatever their mode).
    use std::os::unix::fs::PermissionsExt;
    let host = FakeHost::new();
    let loadavg = host.proc.join("loadavg");
    std::fs::set_permissions(&loadavg, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&loadavg).is_ok() {
        eprintln!("running as root: cannot make a file unreadable, skipping the real check");
        return;
    }
    let c = source_for(&host, |c| c.collectors = vec![HostCollector::Load]).collect();
    assert_eq!(c.errors.len(), 1);
    let text = c.errors[0].to_string();
    assert!(
        text.contains(&format!("permission denied reading {}", loadavg.display())),
        "{text}"
    );
}

#[test]
fn new_checks_the_paths() {
    let resource = Arc::new(Vec::new());
    let cfg = |proc_path: &Path, root_path: &Path| HostMetricsConfig {
        proc_path: proc_path.to_path_buf(),
        root_path: root_path.to_path_buf(),
        ..Default::default()
    };
    let err = HostMetricsSource::new(
        cfg(Path::new("/nonexistent/proc"), Path::new("/")),
        resource.clone(),
    )
    .unwrap_err();
    assert!(
        err.starts_with("cannot read proc_path /nonexistent/proc: "),
        "{err}"
    );

    let empty = tempfile::tempdir().unwrap();
    let err =
        HostMetricsSource::new(cfg(empty.path(), Path::new("/")), resource.clone()).unwrap_err();
    assert!(err.contains("is not a proc filesystem"), "{err}");

    let host = FakeHost::new();
    let err = HostMetricsSource::new(
        cfg(&host.proc, Path::new("/nonexistent/root")),
        resource.clone(),
    )
    .unwrap_err();
    assert!(
        err.starts_with("root_path /nonexistent/root is not a directory"),
        "{err}"
    );
    // ...which only matters to the filesystem collector.
    let mut c = cfg(&host.proc, Path::new("/nonexistent/root"));
    c.collectors = vec![HostCollector::Cpu];
    assert!(HostMetricsSource::new(c, resource.clone()).is_ok());

    let mut c = cfg(&host.proc, &host.root);
    c.interval = lookout_config::Duration::from_secs(0);
    assert!(HostMetricsSource::new(c, resource).is_err());
}

#[test]
fn health_threshold_is_three_intervals_and_at_least_30s() {
    let host = FakeHost::new();
    let with = |secs| {
        source_for(&host, |c| {
            c.interval = lookout_config::Duration::from_secs(secs)
        })
        .health_threshold()
    };
    assert_eq!(with(1), Duration::from_secs(30));
    assert_eq!(with(10), Duration::from_secs(30));
    assert_eq!(with(20), Duration::from_secs(60));
}

#[tokio::test]
async fn emits_the_self_metrics_every_source_must() {
    let host = FakeHost::new();
    let source = source_for(&host, |c| {
        c.interval = lookout_config::Duration::from_millis(100)
    });
    let (sent, snap) =
        lookout_pipeline::testkit::run_source(Box::new(source), Duration::from_millis(250)).await;
    lookout_pipeline::testkit::assert_source_metrics(&sent, &snap);
    assert!(
        (2..=3).contains(&sent.len()),
        "ticks at 0, 100 and 200 ms: {}",
        sent.len()
    );
    assert_eq!(snap.received_items, snap.sent_items);
    assert_eq!(snap.errors, 0);
}

// This machine's /proc: what must hold on any Linux host.

fn proc_names(path: &str, column: usize, skip: usize) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(skip)
        .filter_map(|l| l.split_whitespace().nth(column))
        .map(|n| n.trim_end_matches(':').to_string())
        .collect()
}

#[test]
fn real_proc_collects_once() {
    let mut s = HostMetricsSource::new(HostMetricsConfig::default(), Arc::new(Vec::new())).unwrap();
    let c = s.collect();
    assert_eq!(c.errors, vec![]);
    let r = &c.request;

    let mem_total_kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(get(r, SYSTEM_MEMORY_LIMIT, &[]), mem_total_kib * KIB);

    assert_eq!(
        attr_values(r, SYSTEM_DISK_IO, "device"),
        proc_names("/proc/diskstats", 2, 0)
    );
    assert_eq!(
        attr_values(r, SYSTEM_NETWORK_IO, "device"),
        proc_names("/proc/net/dev", 0, 2)
    );

    let mountpoints = attr_values(r, SYSTEM_FILESYSTEM_USAGE, "mountpoint");
    assert!(mountpoints.contains("/"), "{mountpoints:?}");
    let root_util: Vec<f64> = points(r, SYSTEM_FILESYSTEM_UTILIZATION)
        .iter()
        .filter(|p| attr::get_str(&p.attributes, "mountpoint") == Some("/"))
        .map(|p| value(p))
        .collect();
    assert!(!root_util.is_empty());
    assert!(
        root_util.iter().all(|u| (0.0..=1.0).contains(u)),
        "{root_util:?}"
    );

    let cpus = std::thread::available_parallelism().unwrap().get() as f64;
    assert!(get(r, SYSTEM_CPU_LOGICAL_COUNT, &[]) >= cpus);
    // This process at least (its state is its main thread's, which may well be sleeping).
    let processes: f64 = points(r, SYSTEM_PROCESSES_COUNT)
        .iter()
        .map(|p| value(p))
        .sum();
    assert!(processes >= 1.0);

    // Burn a little CPU so the second tick sees ticks pass.
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(60) {
        std::hint::black_box((0..1000u64).sum::<u64>());
    }
    let c = s.collect();
    let utilization = points(&c.request, SYSTEM_CPU_UTILIZATION);
    assert!(!utilization.is_empty());
    assert!(utilization.iter().all(|p| (0.0..=1.0).contains(&value(p))));
}

mod pipeline {
    use super::*;
    use lookout_config::{ProcessorConfig, SinkConfig, SourceConfig, SourceKind};
    use lookout_pipeline::{
        BuildContext, Event, Factory, Processor, Registry, Routes, Sink, SinkContext, Topology,
    };
    use std::sync::Mutex;

    struct Keep {
        seen: Arc<Mutex<Vec<Event>>>,
    }

    impl Sink for Keep {
        fn run(self: Box<Self>, mut cx: SinkContext) -> BoxFuture {
            Box::pin(async move {
                while let Some(ev) = cx.recv().await {
                    cx.stats
                        .sent_items
                        .fetch_add(ev.item_count() as u64, Relaxed);
                    self.seen.lock().unwrap().push(ev);
                }
            })
        }
    }

    struct TestFactory {
        seen: Arc<Mutex<Vec<Event>>>,
    }

    impl Factory for TestFactory {
        fn source(&self, cfg: &SourceConfig, cx: &BuildContext) -> Result<Box<dyn Source>, String> {
            match &cfg.kind {
                SourceKind::HostMetrics(h) => Ok(Box::new(HostMetricsSource::new(
                    h.clone(),
                    cx.resource.clone(),
                )?)),
                other => Err(format!("not in this test: {other:?}")),
            }
        }
        fn processor(
            &self,
            _: &ProcessorConfig,
            _: &BuildContext,
        ) -> Result<Box<dyn Processor>, String> {
            Err("no processors here".into())
        }
        fn sink(&self, _: &SinkConfig, _: &BuildContext) -> Result<Box<dyn Sink>, String> {
            Ok(Box::new(Keep {
                seen: self.seen.clone(),
            }))
        }
    }

    const CONF: &str = "
sources:
  host: {type: host_metrics, interval: 100ms}
sinks:
  keep: {type: file, path: /dev/null, inputs: [host], buffer: {max_batches: 100, when_full: block}}
";

    #[tokio::test]
    async fn runs_in_a_topology_and_stops_on_shutdown() {
        let config = lookout_config::load_str("t", CONF, &[], &|_| None).unwrap();
        let factory = TestFactory {
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let cx = BuildContext {
            routes: Routes::new(),
            resource: Arc::new(vec![attr::str(HOST_NAME, "pipeline-test")]),
            data_dir: PathBuf::from("/tmp"),
        };
        let registry = Registry::new();
        let mut topology = Topology::build(&config, &factory, &cx, &registry).unwrap();
        topology.start();
        tokio::time::sleep(Duration::from_millis(350)).await;
        let aborted = topology.shutdown(Duration::from_secs(5)).await;
        assert_eq!(aborted, Vec::<String>::new(), "the source stops when told");

        let seen = factory.seen.lock().unwrap().clone();
        assert!(seen.len() >= 2, "{} batches", seen.len());
        for ev in &seen {
            let Batch::Metrics(r) = ev.as_ref() else {
                panic!("not metrics")
            };
            let resource = &r.resource_metrics[0].resource.as_ref().unwrap().attributes;
            assert_eq!(attr::get_str(resource, HOST_NAME), Some("pipeline-test"));
            assert!(metric(r, SYSTEM_CPU_TIME).is_some());
        }
        let items: u64 = seen.iter().map(|ev| ev.item_count() as u64).sum();

        let snaps = registry.snapshots();
        let host = snaps.iter().find(|s| s.id == "host").unwrap();
        assert!(host.received_items > 0 && host.sent_items > 0, "{host:?}");
        assert_eq!(host.received_items, host.sent_items);
        assert_eq!(host.sent_items, items);
        assert_eq!(host.errors, 0, "{host:?}");
        assert!(host.healthy);
        let keep = snaps.iter().find(|s| s.id == "keep").unwrap();
        assert_eq!(keep.received_items, items);
        let stats = registry.all();
        let (_, count, _) = stats
            .iter()
            .find(|s| s.id == "host")
            .unwrap()
            .latency
            .snapshot();
        assert_eq!(count, seen.len() as u64, "one latency observation per tick");
    }
}
