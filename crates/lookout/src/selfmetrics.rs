//! The agent's own metrics in Prometheus text format (`GET /metrics`): per-component counters,
//! buffer depth, delivery latency histograms, and the process's CPU and memory.

use lookout_pipeline::stats::LATENCY_BUCKETS;
use lookout_pipeline::Registry;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

/// The process's own CPU seconds and resident memory, read from /proc/self/stat.
pub fn own_usage() -> Option<(f64, u64)> {
    let mut buf = Vec::new();
    let st = lookout_proc::ProcFs::new().read_self_stat(&mut buf).ok()?;
    let ticks = lookout_proc::clock_ticks_per_second() as f64;
    Some((
        (st.utime + st.stime) as f64 / ticks,
        st.rss_pages * lookout_proc::page_size(),
    ))
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Reads one counter of a component.
type Getter = fn(&lookout_pipeline::ComponentStats) -> u64;

/// Renders the page.
pub fn render(
    registry: &Registry,
    started_unix: f64,
    uptime_secs: f64,
    reloads_ok: u64,
    reloads_failed: u64,
) -> String {
    let mut o = String::with_capacity(8192);
    let comps = registry.all();
    let counters: [(&str, &str, Getter); 7] = [
        (
            "lookout_component_received_items_total",
            "Items (points, records, spans) received by a component.",
            |s| s.received_items.load(Relaxed),
        ),
        (
            "lookout_component_sent_items_total",
            "Items sent on (sources, processors) or delivered (sinks).",
            |s| s.sent_items.load(Relaxed),
        ),
        (
            "lookout_component_dropped_items_total",
            "Items dropped: full buffer, rejected, or given up after retries.",
            |s| s.dropped_items.load(Relaxed),
        ),
        (
            "lookout_component_errors_total",
            "Errors: failed reads or failed delivery attempts.",
            |s| s.errors.load(Relaxed),
        ),
        (
            "lookout_component_retried_items_total",
            "Items whose delivery was attempted again after a failure.",
            |s| s.retried_items.load(Relaxed),
        ),
        (
            "lookout_component_dead_lettered_items_total",
            "Items moved to the dead-letter directory.",
            |s| s.dead_lettered_items.load(Relaxed),
        ),
        (
            "lookout_component_sent_bytes_total",
            "Request bytes delivered by a sink.",
            |s| s.sent_bytes.load(Relaxed),
        ),
    ];
    for (name, help, get) in counters {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
        for s in &comps {
            let _ = writeln!(
                o,
                "{name}{{component_id=\"{}\",component_kind=\"{}\",component_type=\"{}\"}} {}",
                esc(&s.id),
                s.kind.as_str(),
                s.type_name,
                get(s)
            );
        }
    }
    let _ = writeln!(o, "# HELP lookout_buffer_batches Batches waiting in the buffer in front of a sink.\n# TYPE lookout_buffer_batches gauge");
    for s in comps
        .iter()
        .filter(|s| s.kind == lookout_pipeline::ComponentKind::Sink)
    {
        let _ = writeln!(
            o,
            "lookout_buffer_batches{{component_id=\"{}\"}} {}",
            esc(&s.id),
            s.buffer_depth.load(Relaxed)
        );
    }
    let _ = writeln!(o, "# HELP lookout_buffer_capacity_batches Capacity of the buffer in front of a sink.\n# TYPE lookout_buffer_capacity_batches gauge");
    for s in comps
        .iter()
        .filter(|s| s.kind == lookout_pipeline::ComponentKind::Sink)
    {
        let _ = writeln!(
            o,
            "lookout_buffer_capacity_batches{{component_id=\"{}\"}} {}",
            esc(&s.id),
            s.buffer_capacity.load(Relaxed)
        );
    }
    let _ = writeln!(o, "# HELP lookout_component_healthy 1 if the component is healthy, 0 if it has been failing past its threshold.\n# TYPE lookout_component_healthy gauge");
    for s in &comps {
        let _ = writeln!(
            o,
            "lookout_component_healthy{{component_id=\"{}\"}} {}",
            esc(&s.id),
            u8::from(s.is_healthy())
        );
    }
    let name = "lookout_component_batch_duration_seconds";
    let _ = writeln!(o, "# HELP {name} Time to collect (sources) or deliver (sinks) one batch.\n# TYPE {name} histogram");
    for s in &comps {
        let (buckets, count, sum) = s.latency.snapshot();
        let id = esc(&s.id);
        for (b, c) in LATENCY_BUCKETS.iter().zip(buckets) {
            let _ = writeln!(o, "{name}_bucket{{component_id=\"{id}\",le=\"{b}\"}} {c}");
        }
        let _ = writeln!(
            o,
            "{name}_bucket{{component_id=\"{id}\",le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(o, "{name}_sum{{component_id=\"{id}\"}} {sum}");
        let _ = writeln!(o, "{name}_count{{component_id=\"{id}\"}} {count}");
    }
    // component-specific gauges, grouped by name (each component's gauges read once)
    let gauges: Vec<_> = comps.iter().map(|s| (s.id.as_str(), s.gauges())).collect();
    let mut names: Vec<(&str, &str)> = Vec::new();
    for (_, list) in &gauges {
        for (n, h, _) in list {
            if !names.iter().any(|(x, _)| x == n) {
                names.push((n, h));
            }
        }
    }
    for (n, h) in names {
        let _ = writeln!(o, "# HELP {n} {h}\n# TYPE {n} gauge");
        for (id, list) in &gauges {
            if let Some((_, _, v)) = list.iter().find(|(x, _, _)| *x == n) {
                let _ = writeln!(o, "{n}{{component_id=\"{}\"}} {v}", esc(id));
            }
        }
    }
    // component-specific labelled counters
    let labeled: Vec<_> = comps.iter().map(|s| (s.id.as_str(), s.labeled())).collect();
    let mut names: Vec<(&str, &str)> = Vec::new();
    for (_, list) in &labeled {
        for c in list {
            if !names.iter().any(|(x, _)| *x == c.name) {
                names.push((c.name, c.help));
            }
        }
    }
    for (n, h) in names {
        let _ = writeln!(o, "# HELP {n} {h}\n# TYPE {n} counter");
        for (id, list) in &labeled {
            for c in list.iter().filter(|c| c.name == n) {
                let _ = writeln!(
                    o,
                    "{n}{{component_id=\"{}\",{}=\"{}\"}} {}",
                    esc(id),
                    c.label,
                    esc(&c.value),
                    c.count
                );
            }
        }
    }
    let _ = writeln!(o, "# HELP lookout_config_reloads_total Configuration reloads by result.\n# TYPE lookout_config_reloads_total counter");
    let _ = writeln!(
        o,
        "lookout_config_reloads_total{{result=\"applied\"}} {reloads_ok}"
    );
    let _ = writeln!(
        o,
        "lookout_config_reloads_total{{result=\"rejected\"}} {reloads_failed}"
    );
    store_metrics(&mut o);
    if let Some((cpu, rss)) = own_usage() {
        let _ = writeln!(o, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {cpu}");
        let _ = writeln!(o, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {rss}");
    }
    let _ = writeln!(o, "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {started_unix}");
    let _ = writeln!(o, "# HELP lookout_uptime_seconds Seconds since the agent started.\n# TYPE lookout_uptime_seconds gauge\nlookout_uptime_seconds {uptime_secs}");
    let _ = writeln!(o, "# HELP lookout_build_info Build information.\n# TYPE lookout_build_info gauge\nlookout_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
    o
}

/// The local stores' disk use and row counters.
fn store_metrics(o: &mut String) {
    let stores = lookout_store::open_stores();
    if stores.is_empty() {
        return;
    }
    let _ = writeln!(o, "# HELP lookout_store_disk_bytes Bytes of the local store's database file and write-ahead log on disk.\n# TYPE lookout_store_disk_bytes gauge");
    for s in &stores {
        let (file, _) = s.measure();
        let _ = writeln!(
            o,
            "lookout_store_disk_bytes{{path=\"{}\"}} {file}",
            esc(&s.path().display().to_string())
        );
    }
    let _ = writeln!(o, "# HELP lookout_store_used_bytes Bytes the local store uses (blocks in use and the write-ahead log), what its size limit applies to.\n# TYPE lookout_store_used_bytes gauge");
    for s in &stores {
        let _ = writeln!(
            o,
            "lookout_store_used_bytes{{path=\"{}\"}} {}",
            esc(&s.path().display().to_string()),
            s.stats
                .used_bytes
                .load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    let _ = writeln!(o, "# HELP lookout_store_rows_written_total Rows written to the local store.\n# TYPE lookout_store_rows_written_total counter");
    for s in &stores {
        for (t, n) in lookout_store::schema::TABLES
            .iter()
            .zip(&s.stats.rows_written)
        {
            let _ = writeln!(
                o,
                "lookout_store_rows_written_total{{path=\"{}\",table=\"{}\"}} {}",
                esc(&s.path().display().to_string()),
                t.name,
                n.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
    }
    let _ = writeln!(o, "# HELP lookout_store_rows_deleted_total Rows deleted by retention, by reason (age, size).\n# TYPE lookout_store_rows_deleted_total counter");
    for s in &stores {
        let p = esc(&s.path().display().to_string());
        let _ = writeln!(
            o,
            "lookout_store_rows_deleted_total{{path=\"{p}\",reason=\"age\"}} {}",
            s.stats
                .rows_expired
                .load(std::sync::atomic::Ordering::Relaxed)
        );
        let _ = writeln!(
            o,
            "lookout_store_rows_deleted_total{{path=\"{p}\",reason=\"size\"}} {}",
            s.stats
                .rows_evicted
                .load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}
