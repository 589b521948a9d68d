//! Turns a [`Snapshot`] into OTLP: one resource per reported process (semantic-convention
//! `process.*` metrics and resource attributes), one per roll-up group and one per service
//! (`lookout.process.group.*` metrics, so aggregates are never summed twice with the processes
//! they contain).

use super::scan::{Group, ProcessInfo, Snapshot};
use lookout_model::otlp::{ExportMetricsServiceRequest, KeyValue};
use lookout_model::semconv::*;
use lookout_model::{attr, MetricsBuilder, Monotonic};

const SCOPE: &str = "lookout/process";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// ISO 8601 (UTC, seconds) for `process.creation.time`.
pub fn iso8601(unix_nanos: u64) -> String {
    let secs = (unix_nanos / 1_000_000_000) as i64;
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn process_resource(host: &[KeyValue], p: &ProcessInfo) -> Vec<KeyValue> {
    let mut r = host.to_vec();
    r.push(attr::int(PROCESS_PID, i64::from(p.pid)));
    r.push(attr::int(PROCESS_PARENT_PID, i64::from(p.ppid)));
    r.push(attr::str(PROCESS_EXECUTABLE_NAME, p.name.as_str()));
    if let Some(exe) = &p.exe {
        r.push(attr::str(PROCESS_EXECUTABLE_PATH, exe.as_str()));
    }
    if !p.command_line.is_empty() {
        r.push(attr::str(PROCESS_COMMAND_LINE, p.command_line.as_str()));
    }
    if let Some(o) = &p.owner {
        r.push(attr::str(PROCESS_OWNER, o.as_str()));
    }
    r.push(attr::str(
        PROCESS_CREATION_TIME,
        iso8601(p.start_time_unix_nanos),
    ));
    if let Some(s) = &p.service {
        r.push(attr::str(SERVICE_NAME, s.as_str()));
    }
    if let Some(c) = &p.container_id {
        r.push(attr::str(CONTAINER_ID, c.as_str()));
    }
    r
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn process_metrics(b: &mut MetricsBuilder, p: &ProcessInfo, now: u64) {
    let start = p.start_time_unix_nanos;
    b.sum(
        PROCESS_CPU_TIME,
        "s",
        "CPU time of the process by state.",
        Monotonic::Yes,
    )
    .point_f64(start, now, p.cpu_user_secs, &[("state", "user")])
    .point_f64(start, now, p.cpu_system_secs, &[("state", "system")]);
    if let (Some(u), Some(s)) = (p.cpu_host_user, p.cpu_host_system) {
        b.gauge(
            PROCESS_CPU_UTILIZATION,
            "1",
            "Share of the host's CPU capacity used since the last scan, by state.",
        )
        .gauge_f64(now, u, &[("state", "user")])
        .gauge_f64(now, s, &[("state", "system")]);
    }
    b.sum(
        PROCESS_MEMORY_USAGE,
        "By",
        "Resident memory.",
        Monotonic::No,
    )
    .point_i64(start, now, i(p.rss_bytes), &[]);
    b.sum(
        PROCESS_MEMORY_VIRTUAL,
        "By",
        "Virtual memory.",
        Monotonic::No,
    )
    .point_i64(start, now, i(p.vms_bytes), &[]);
    b.sum(PROCESS_THREADS, "{thread}", "Threads.", Monotonic::No)
        .point_i64(start, now, i(p.threads), &[]);
    if let Some(fds) = p.open_fds {
        b.sum(
            PROCESS_OPEN_FILE_DESCRIPTORS,
            "{file_descriptor}",
            "Open file descriptors.",
            Monotonic::No,
        )
        .point_i64(start, now, i(fds), &[]);
    }
    if let (Some(r), Some(w)) = (p.disk_read_bytes, p.disk_write_bytes) {
        b.sum(
            PROCESS_DISK_IO,
            "By",
            "Bytes read from and written to storage.",
            Monotonic::Yes,
        )
        .point_i64(start, now, i(r), &[("direction", "read")])
        .point_i64(start, now, i(w), &[("direction", "write")]);
    }
    if let (Some(v), Some(n)) = (p.ctx_voluntary, p.ctx_involuntary) {
        b.sum(
            PROCESS_CONTEXT_SWITCHES,
            "{context_switch}",
            "Context switches by type.",
            Monotonic::Yes,
        )
        .point_i64(start, now, i(v), &[("type", "voluntary")])
        .point_i64(start, now, i(n), &[("type", "involuntary")]);
    }
    b.sum(
        PROCESS_PAGING_FAULTS,
        "{fault}",
        "Page faults by type.",
        Monotonic::Yes,
    )
    .point_i64(start, now, i(p.minor_faults), &[("type", "minor")])
    .point_i64(start, now, i(p.major_faults), &[("type", "major")]);
}

fn group_metrics(b: &mut MetricsBuilder, g: &Group, now: u64) {
    b.gauge(
        "lookout.process.group.count",
        "{process}",
        "Processes in the group.",
    )
    .gauge_i64(now, i(g.processes), &[]);
    b.gauge(
        "lookout.process.group.cpu.utilization",
        "1",
        "Share of the host's CPU capacity used by the group since the last scan.",
    )
    .gauge_f64(now, g.cpu_host, &[]);
    b.gauge(
        "lookout.process.group.memory.usage",
        "By",
        "Resident memory of the group.",
    )
    .gauge_i64(now, i(g.rss_bytes), &[]);
    b.gauge(
        "lookout.process.group.memory.virtual",
        "By",
        "Virtual memory of the group.",
    )
    .gauge_i64(now, i(g.vms_bytes), &[]);
    b.gauge(
        "lookout.process.group.threads",
        "{thread}",
        "Threads of the group.",
    )
    .gauge_i64(now, i(g.threads), &[]);
}

/// The metrics request for a snapshot.
pub fn metrics(host: &[KeyValue], snap: &Snapshot) -> ExportMetricsServiceRequest {
    let now = snap.time_unix_nanos;
    let mut out = ExportMetricsServiceRequest::default();
    for p in &snap.reported {
        let mut b = MetricsBuilder::new(process_resource(host, p), SCOPE, VERSION);
        process_metrics(&mut b, p, now);
        out.resource_metrics.extend(b.finish().resource_metrics);
    }
    for (kind, groups) in [("rollup", &snap.rollups), ("service", &snap.services)] {
        for g in groups {
            let mut r = host.to_vec();
            r.push(attr::str("lookout.process.group.kind", kind));
            r.push(attr::str("lookout.process.group.name", g.name.as_str()));
            if kind == "service" {
                r.push(attr::str(SERVICE_NAME, g.name.as_str()));
            }
            let mut b = MetricsBuilder::new(r, SCOPE, VERSION);
            group_metrics(&mut b, g, now);
            out.resource_metrics.extend(b.finish().resource_metrics);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(951_782_400_000_000_000), "2000-02-29T00:00:00Z");
    }
}
