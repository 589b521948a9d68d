//! The host's recent figures for the terminal UI's overview (`GET /v1/host`): a sample every
//! two seconds (a few reads of /proc, tens of microseconds), the last [`KEEP`] kept.

use lookout_api::{HostHistory, HostSample};
use lookout_proc::ProcFs;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Seconds between samples.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// Samples kept (4 minutes).
pub const KEEP: usize = 120;

/// Cumulative counters of one reading.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    at: Option<Instant>,
    cpu_total: u64,
    cpu_idle: u64,
    disk_read: u64,
    disk_written: u64,
    net_rx: u64,
    net_tx: u64,
}

/// The sampler and its history.
#[derive(Default)]
pub struct HostWatch {
    inner: Mutex<(Counters, VecDeque<HostSample>)>,
}

fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl HostWatch {
    /// Takes one sample (rates against the previous one; the first has none) of the host whose
    /// procfs is `fs` and whose `/` is seen at `root` (the `host.root` setting).
    pub fn sample_at(&self, fs: &ProcFs, root: &std::path::Path) {
        let mut buf = Vec::with_capacity(8192);
        let mut c = Counters {
            at: Some(Instant::now()),
            ..Counters::default()
        };
        let mut s = HostSample {
            unix: now_unix(),
            ..HostSample::default()
        };
        if let Ok(st) = fs.read_stat(&mut buf) {
            c.cpu_total = st.total.total();
            c.cpu_idle = st.total.idle_total();
            s.cpus = st.per_cpu.len() as u32;
        }
        if let Ok(m) = fs.read_meminfo(&mut buf) {
            s.mem_used_bytes = m.used();
            s.mem_total_bytes = m.total;
        }
        if let Ok(l) = fs.read_loadavg(&mut buf) {
            (s.load1, s.load5, s.load15) = (l.one, l.five, l.fifteen);
        }
        if let Ok(disks) = fs.read_diskstats(&mut buf) {
            // whole disks only: partitions would count the same bytes twice
            for d in disks.iter().filter(|d| {
                !d.name.starts_with("loop")
                    && !d.name.starts_with("ram")
                    && std::path::Path::new("/sys/block").join(&d.name).exists()
            }) {
                c.disk_read += d.bytes_read();
                c.disk_written += d.bytes_written();
            }
        }
        if let Ok(nets) = fs.read_net_dev(&mut buf) {
            for n in nets.iter().filter(|n| n.name != "lo") {
                c.net_rx += n.rx_bytes;
                c.net_tx += n.tx_bytes;
            }
        }
        if let Ok(f) = lookout_proc::statvfs(root) {
            let total = f.used_bytes() + f.avail_bytes();
            if total > 0 {
                s.root_used_percent = f.used_bytes() as f64 * 100.0 / total as f64;
            }
        }
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let (prev, hist) = &mut *g;
        if let (Some(a), Some(b)) = (prev.at, c.at) {
            let secs = b.duration_since(a).as_secs_f64().max(0.001);
            let rate = |new: u64, old: u64| new.saturating_sub(old) as f64 / secs;
            let total = c.cpu_total.saturating_sub(prev.cpu_total);
            let idle = c.cpu_idle.saturating_sub(prev.cpu_idle);
            if total > 0 {
                s.cpu_percent = (total.saturating_sub(idle)) as f64 * 100.0 / total as f64;
            }
            s.disk_read_bps = rate(c.disk_read, prev.disk_read);
            s.disk_write_bps = rate(c.disk_written, prev.disk_written);
            s.net_rx_bps = rate(c.net_rx, prev.net_rx);
            s.net_tx_bps = rate(c.net_tx, prev.net_tx);
            if hist.len() >= KEEP {
                hist.pop_front();
            }
            hist.push_back(s);
        }
        *prev = c;
    }

    /// The history, oldest first.
    pub fn history(&self) -> HostHistory {
        HostHistory {
            interval_secs: INTERVAL.as_secs_f64(),
            samples: self
                .inner
                .lock()
                .map(|g| g.1.iter().cloned().collect())
                .unwrap_or_default(),
        }
    }
}

/// Samples the host seen at `host` (`host.root`) until the task is dropped.
pub async fn run(watch: std::sync::Arc<HostWatch>, host: lookout_config::HostConfig) {
    let fs = ProcFs::with_root(host.proc());
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        watch.sample_at(&fs, &host.root);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_host_with_rates_from_the_second_on() {
        let w = HostWatch::default();
        let fs = ProcFs::new();
        w.sample_at(&fs, std::path::Path::new("/"));
        assert!(
            w.history().samples.is_empty(),
            "the first reading has no rates"
        );
        // some CPU work between the readings
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(200) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        w.sample_at(&fs, std::path::Path::new("/"));
        let h = w.history();
        assert_eq!(h.samples.len(), 1);
        let s = &h.samples[0];
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as u32;
        assert!(s.cpus >= cpus, "{s:?}");
        assert!(s.cpu_percent > 0.0 && s.cpu_percent <= 100.0, "{s:?}");
        assert!(
            s.mem_total_bytes > s.mem_used_bytes && s.mem_used_bytes > 0,
            "{s:?}"
        );
        assert!(
            s.root_used_percent > 0.0 && s.root_used_percent < 100.0,
            "{s:?}"
        );
        for _ in 0..KEEP + 5 {
            w.sample_at(&fs, std::path::Path::new("/"));
        }
        assert_eq!(w.history().samples.len(), KEEP);
    }
}
