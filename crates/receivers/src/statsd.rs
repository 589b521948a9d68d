//! The StatsD/DogStatsD source: UDP (default 127.0.0.1:8125), an optional Unix datagram
//! socket and an optional TCP listener (newline-separated lines, optionally TLS), feeding one
//! aggregator that flushes every `flush_interval` (10 s by default).
//!
//! One task owns the aggregator: it reads the datagram sockets directly (draining everything
//! the kernel has queued before it sleeps again), receives TCP lines from per-connection
//! readers over a bounded channel (so a fast TCP sender is slowed down rather than dropped),
//! and flushes on a timer. A line that does not parse is counted by reason
//! (`lookout_statsd_parse_errors_total{reason}`) and skipped; the other lines of the datagram
//! are kept. Over UDP the kernel drops what the agent cannot read in time; those drops are read
//! from `/proc/net/udp` and exposed as `lookout_statsd_udp_kernel_drops`.

use crate::listen::{bind_tcp, bind_udp, warn_if_public};
use lookout_config::{StatsdConfig, StatsdCounters, StatsdTimers};
use lookout_model::otlp::KeyValue;
use lookout_pipeline::{BoxFuture, ComponentStats, Source, SourceContext};
use lookout_statsd::{Aggregator, AggregatorConfig, CounterMode, Line, TimerMode};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// Longest line accepted over TCP; a longer one is counted (`line_too_long`) and skipped.
pub const MAX_TCP_LINE: usize = 64 * 1024;
/// TCP connections read at once; more wait in the kernel's accept queue.
pub const MAX_TCP_CONNECTIONS: usize = 1024;
/// Largest datagram read (UDP and Unix).
const MAX_DATAGRAM: usize = 65_536;

/// The StatsD source.
pub struct StatsdSource {
    cfg: StatsdConfig,
    resource: Arc<Vec<KeyValue>>,
    udp: Option<std::net::UdpSocket>,
    tcp: Option<std::net::TcpListener>,
    unix: Option<(std::os::unix::net::UnixDatagram, PathBuf)>,
    tls: Option<TlsAcceptor>,
}

impl StatsdSource {
    /// Binds the configured listeners.
    pub fn new(cfg: &StatsdConfig, resource: Arc<Vec<KeyValue>>) -> Result<Self, String> {
        let udp = match cfg.udp {
            Some(addr) => {
                warn_if_public("statsd udp", addr, false);
                let (s, granted) =
                    bind_udp(addr, cfg.receive_buffer).map_err(|e| format!("udp: {e}"))?;
                // Linux reports twice the usable size it granted
                if granted / 2 < cfg.receive_buffer {
                    tracing::warn!(
                        requested = cfg.receive_buffer,
                        granted = granted / 2,
                        "statsd: the kernel granted a smaller UDP receive buffer than configured; \
                         raise net.core.rmem_max (e.g. sysctl -w net.core.rmem_max=26214400) to lose fewer datagrams in bursts"
                    );
                }
                Some(s)
            }
            None => None,
        };
        let tls = match &cfg.tls {
            Some(t) => Some(crate::tls::acceptor(t, &[])?),
            None => None,
        };
        let tcp = match cfg.tcp {
            Some(addr) => {
                warn_if_public("statsd tcp", addr, tls.is_some());
                Some(bind_tcp(addr).map_err(|e| format!("tcp: {e}"))?)
            }
            None => None,
        };
        let unix = match &cfg.unix {
            Some(path) => {
                let s = bind_unix(path)?;
                if cfg.receive_buffer > 0 {
                    let _ = socket2::SockRef::from(&s).set_recv_buffer_size(cfg.receive_buffer);
                }
                Some((s, path.clone()))
            }
            None => None,
        };
        Ok(StatsdSource {
            cfg: cfg.clone(),
            resource,
            udp,
            tcp,
            unix,
            tls,
        })
    }

    /// The bound UDP address, if any.
    pub fn udp_addr(&self) -> Option<std::net::SocketAddr> {
        self.udp.as_ref().and_then(|s| s.local_addr().ok())
    }
}

/// Binds a Unix datagram socket owner-only, replacing a stale socket file (never a regular
/// file).
fn bind_unix(path: &PathBuf) -> Result<std::os::unix::net::UnixDatagram, String> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            // a socket file left by a previous run (or held by the old topology during a
            // reload: its bound socket keeps working on the unlinked inode until it stops)
            let _ = std::fs::remove_file(path);
        } else {
            return Err(format!(
                "unix: {} exists and is not a socket; refusing to replace it",
                path.display()
            ));
        }
    }
    let s = std::os::unix::net::UnixDatagram::bind(path)
        .map_err(|e| format!("unix: cannot bind {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("unix: cannot restrict {}: {e}", path.display()))?;
    s.set_nonblocking(true)
        .map_err(|e| format!("unix: {}: {e}", path.display()))?;
    Ok(s)
}

/// The aggregator configuration a source config means.
pub fn aggregator_config(cfg: &StatsdConfig) -> AggregatorConfig {
    AggregatorConfig {
        counters: match cfg.counters {
            StatsdCounters::Delta => CounterMode::Delta,
            StatsdCounters::Cumulative => CounterMode::Cumulative,
        },
        timers: match cfg.timers {
            StatsdTimers::Summary => TimerMode::Summary,
            StatsdTimers::Histogram => TimerMode::Histogram,
        },
        percentiles: cfg.percentiles.clone(),
        max_series_per_metric: cfg.max_series_per_metric,
        max_series: cfg.max_series,
        ..AggregatorConfig::default()
    }
}

/// Parses every line of a datagram into the aggregator, counting errors by reason.
/// Returns (lines accepted, lines refused).
pub fn ingest_datagram(
    agg: &mut Aggregator,
    data: &[u8],
    now_nanos: u64,
    stats: &ComponentStats,
) -> (u64, u64) {
    let (mut ok, mut bad) = (0, 0);
    for line in lookout_statsd::lines(data) {
        match lookout_statsd::parse_line(line) {
            Ok(Line::Metric(m)) => {
                agg.add(&m);
                ok += 1;
            }
            Ok(Line::Event(e)) => {
                agg.add_event(&e, now_nanos);
                ok += 1;
            }
            Ok(Line::ServiceCheck(c)) => {
                agg.add_service_check(&c, now_nanos);
                ok += 1;
            }
            Err(e) => {
                bad += 1;
                count_error(stats, e.reason());
                tracing::debug!(error = %e, line = %String::from_utf8_lossy(line), "statsd: line refused");
            }
        }
    }
    (ok, bad)
}

fn count_error(stats: &ComponentStats, reason: &str) {
    stats.errors.fetch_add(1, Relaxed);
    stats.add_labeled(
        "lookout_statsd_parse_errors_total",
        "StatsD lines refused, by reason.",
        "reason",
        reason,
        1,
    );
}

/// What the per-connection TCP readers send to the aggregating task.
enum TcpChunk {
    /// Complete lines, newline-separated.
    Lines(Vec<u8>),
    /// A line longer than [`MAX_TCP_LINE`] was skipped.
    TooLong,
}

impl Source for StatsdSource {
    fn run(self: Box<Self>, cx: SourceContext) -> BoxFuture {
        Box::pin(async move {
            let SourceContext {
                out,
                mut shutdown,
                stats,
            } = cx;
            let udp = self.udp;
            let udp_port = udp.as_ref().and_then(|s| s.local_addr().ok());
            let (unix, unix_path) = match self.unix {
                Some((s, p)) => match tokio::net::UnixDatagram::from_std(s) {
                    Ok(s) => (Some(s), Some(p)),
                    Err(e) => {
                        stats.record_error(&format!("statsd unix: {e}"));
                        (None, Some(p))
                    }
                },
                None => (None, None),
            };
            let (tcp_tx, mut tcp_rx) = mpsc::channel::<TcpChunk>(256);
            let mut tcp_tasks = JoinSet::new();
            if let Some(l) = self.tcp {
                match tokio::net::TcpListener::from_std(l) {
                    Ok(l) => {
                        tcp_tasks.spawn(accept_tcp(
                            l,
                            self.tls.clone(),
                            tcp_tx.clone(),
                            shutdown.clone(),
                        ));
                    }
                    Err(e) => stats.record_error(&format!("statsd tcp: {e}")),
                }
            }
            drop(tcp_tx);

            let agg = Arc::new(Mutex::new(Aggregator::new(aggregator_config(&self.cfg))));
            // UDP is read by a dedicated thread (as fast as the kernel delivers, whatever the
            // async workers are doing); it shares the aggregator with this task
            let udp_stop = Arc::new(AtomicBool::new(false));
            let udp_thread = match udp {
                Some(sock) => {
                    let (agg, st, stop) = (agg.clone(), stats.clone(), udp_stop.clone());
                    match std::thread::Builder::new()
                        .name("statsd-udp".into())
                        .spawn(move || udp_reader(sock, &agg, &st, &stop))
                    {
                        Ok(h) => Some(h),
                        Err(e) => {
                            stats.record_error(&format!("statsd udp reader: {e}"));
                            None
                        }
                    }
                }
                None => None,
            };
            let period = self.cfg.flush_interval.0;
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut window_start = lookout_model::now_nanos();
            let mut ubuf = vec![0u8; MAX_DATAGRAM];
            let mut tcp_open = true;
            loop {
                tokio::select! {
                    biased;
                    _ = shutdown.wait() => break,
                    _ = tick.tick() => {
                        let now = lookout_model::now_nanos();
                        flush(&agg, window_start, now, &self.resource, &out, &stats).await;
                        window_start = now;
                        if let Some(addr) = udp_port {
                            if let Some(d) = udp_kernel_drops(addr) {
                                stats.set_gauge("lookout_statsd_udp_kernel_drops", "Datagrams the kernel dropped on the StatsD UDP socket (receive buffer full).", d as f64);
                            }
                        }
                    }
                    r = recv_unix(&unix, &mut ubuf) => {
                        if let Ok(n) = r {
                            let now = lookout_model::now_nanos();
                            let mut a = lock(&agg);
                            let mut lines = ingest_datagram(&mut a, &ubuf[..n], now, &stats).0;
                            if let Some(s) = &unix {
                                for _ in 0..1024 {
                                    match s.try_recv(&mut ubuf) {
                                        Ok(n) => lines += ingest_datagram(&mut a, &ubuf[..n], now, &stats).0,
                                        Err(_) => break,
                                    }
                                }
                            }
                            drop(a);
                            stats.received_items.fetch_add(lines, Relaxed);
                        }
                    }
                    c = tcp_rx.recv(), if tcp_open => match c {
                        Some(TcpChunk::Lines(data)) => {
                            let now = lookout_model::now_nanos();
                            let (ok, _) = ingest_datagram(&mut lock(&agg), &data, now, &stats);
                            stats.received_items.fetch_add(ok, Relaxed);
                        }
                        Some(TcpChunk::TooLong) => count_error(&stats, "line_too_long"),
                        None => tcp_open = false,
                    },
                }
            }
            // stop the TCP readers, take what they already read, then flush the last window
            tcp_tasks.abort_all();
            while tcp_tasks.join_next().await.is_some() {}
            while let Ok(c) = tcp_rx.try_recv() {
                if let TcpChunk::Lines(data) = c {
                    let (ok, _) =
                        ingest_datagram(&mut lock(&agg), &data, lookout_model::now_nanos(), &stats);
                    stats.received_items.fetch_add(ok, Relaxed);
                }
            }
            // the UDP reader drains what is queued, then exits
            udp_stop.store(true, Relaxed);
            if let Some(h) = udp_thread {
                let _ = tokio::task::spawn_blocking(move || h.join()).await;
            }
            flush(
                &agg,
                window_start,
                lookout_model::now_nanos(),
                &self.resource,
                &out,
                &stats,
            )
            .await;
            drop(unix);
            if let Some(p) = unix_path {
                let _ = std::fs::remove_file(p);
            }
        })
    }
}

fn lock(agg: &Mutex<Aggregator>) -> std::sync::MutexGuard<'_, Aggregator> {
    // a panic while holding the lock cannot leave the aggregator half-updated in a way that
    // matters more than losing the window: keep going
    agg.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long the UDP reader waits for data before it checks whether it should stop.
const UDP_POLL: u16 = 100;

/// The UDP reader thread: waits for the socket to be readable (poll, 100 ms at most), reads
/// what is queued 16 datagrams per system call, and feeds the shared aggregator. The socket
/// stays non-blocking (a reload may share it with the previous receiver). On stop it drains
/// what is still queued and returns.
fn udp_reader(
    sock: std::net::UdpSocket,
    agg: &Mutex<Aggregator>,
    stats: &ComponentStats,
    stop: &AtomicBool,
) {
    use nix::poll::{poll, PollFd, PollFlags};
    use std::os::fd::AsFd;
    let mut bufs: Vec<Vec<u8>> = (0..RECV_BATCH).map(|_| vec![0u8; MAX_DATAGRAM]).collect();
    let mut lens: Vec<(usize, bool)> = Vec::with_capacity(RECV_BATCH);
    loop {
        let stopping = stop.load(Relaxed);
        if !stopping {
            let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, UDP_POLL) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    stats.record_error(&format!("statsd udp: poll failed: {e}"));
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            }
        }
        let now = lookout_model::now_nanos();
        let mut lines = 0;
        let mut read_any = false;
        // up to 64 system calls per lock: other inputs and the flush get their turn
        {
            let mut a = lock(agg);
            for _ in 0..64 {
                match recv_batch(sock.as_raw_fd(), &mut bufs, &mut lens) {
                    Ok(()) => {
                        read_any = true;
                        for (i, &(n, truncated)) in lens.iter().enumerate() {
                            if truncated {
                                count_error(stats, "datagram_truncated");
                                continue;
                            }
                            if let Some(b) = bufs.get(i) {
                                lines +=
                                    ingest_datagram(&mut a, &b[..n.min(b.len())], now, stats).0;
                            }
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        stats.received_items.fetch_add(lines, Relaxed);
        if stopping && !read_any {
            return;
        }
    }
}

/// Datagrams read per system call on the UDP socket.
const RECV_BATCH: usize = 16;

/// Reads up to `bufs.len()` queued datagrams with one `recvmmsg`; `lens` gets each one's length
/// and whether it was cut (larger than its buffer). Nothing queued: a `WouldBlock` error.
fn recv_batch(
    fd: std::os::fd::RawFd,
    bufs: &mut [Vec<u8>],
    lens: &mut Vec<(usize, bool)>,
) -> std::io::Result<()> {
    use nix::sys::socket::{recvmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
    lens.clear();
    let mut headers: MultiHeaders<SockaddrStorage> = MultiHeaders::preallocate(bufs.len(), None);
    let mut iovs: Vec<[std::io::IoSliceMut<'_>; 1]> = bufs
        .iter_mut()
        .map(|b| [std::io::IoSliceMut::new(&mut b[..])])
        .collect();
    let got = recvmmsg(
        fd,
        &mut headers,
        iovs.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    )
    .map_err(std::io::Error::from)?;
    for m in got {
        lens.push((m.bytes, m.flags.contains(MsgFlags::MSG_TRUNC)));
    }
    if lens.is_empty() {
        return Err(std::io::ErrorKind::WouldBlock.into());
    }
    Ok(())
}

async fn recv_unix(s: &Option<tokio::net::UnixDatagram>, buf: &mut [u8]) -> std::io::Result<usize> {
    match s {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn flush(
    agg: &Mutex<Aggregator>,
    window_start: u64,
    now: u64,
    resource: &[KeyValue],
    out: &lookout_pipeline::Output,
    stats: &ComponentStats,
) {
    let started = Instant::now();
    let (f, s) = {
        let mut a = lock(agg);
        let f = a.flush(window_start, now, resource);
        (f, a.stats().clone())
    };
    stats.set_gauge(
        "lookout_statsd_series",
        "StatsD series that produced points at the last flush.",
        s.flushed_series as f64,
    );
    stats.set_gauge(
        "lookout_statsd_overflow_points",
        "StatsD points folded into an overflow series by the cardinality guard (since start).",
        s.series_overflowed as f64,
    );
    stats.set_gauge(
        "lookout_statsd_dropped_series_lines",
        "StatsD lines dropped because max_series series were held (since start).",
        s.series_dropped as f64,
    );
    if let Some(m) = f.metrics {
        out.send(m).await;
    }
    if let Some(l) = f.logs {
        out.send(l).await;
    }
    stats.latency.observe(started.elapsed());
    stats.record_success();
}

async fn accept_tcp(
    listener: tokio::net::TcpListener,
    tls: Option<TlsAcceptor>,
    tx: mpsc::Sender<TcpChunk>,
    mut shutdown: lookout_pipeline::Shutdown,
) {
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait() => break,
            a = listener.accept(), if conns.len() < MAX_TCP_CONNECTIONS => a,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "statsd: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let tx = tx.clone();
        match &tls {
            None => {
                conns.spawn(read_lines(stream, tx));
            }
            Some(a) => {
                let a = a.clone();
                conns.spawn(async move {
                    if let Ok(Ok(s)) =
                        tokio::time::timeout(Duration::from_secs(10), a.accept(stream)).await
                    {
                        read_lines(s, tx).await;
                    }
                });
            }
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// Reads newline-separated lines from a stream and forwards them in chunks of whole lines.
/// A line longer than [`MAX_TCP_LINE`] is skipped up to its newline and counted.
async fn read_lines<R: AsyncRead + Unpin>(stream: R, tx: mpsc::Sender<TcpChunk>) {
    let mut r = BufReader::with_capacity(64 * 1024, stream);
    let mut chunk: Vec<u8> = Vec::with_capacity(16 * 1024);
    // bytes of the unfinished line at the end of `chunk`
    let mut partial = 0usize;
    let mut skipping = false;
    loop {
        let buf = match r.fill_buf().await {
            Ok([]) => break,
            Ok(b) => b,
            Err(_) => break,
        };
        let n = buf.len();
        let mut too_long = 0u32;
        let mut rest = buf;
        while !rest.is_empty() {
            let (seg, complete, next) = match rest.iter().position(|b| *b == b'\n') {
                Some(p) => (&rest[..p], true, &rest[p + 1..]),
                None => (rest, false, &rest[rest.len()..]),
            };
            rest = next;
            if skipping {
                skipping = !complete;
                continue;
            }
            if partial + seg.len() > MAX_TCP_LINE {
                chunk.truncate(chunk.len() - partial);
                partial = 0;
                too_long += 1;
                skipping = !complete;
                continue;
            }
            chunk.extend_from_slice(seg);
            if complete {
                chunk.push(b'\n');
                partial = 0;
            } else {
                partial += seg.len();
            }
        }
        r.consume(n);
        for _ in 0..too_long {
            if tx.send(TcpChunk::TooLong).await.is_err() {
                return;
            }
        }
        let whole = chunk.len() - partial;
        if whole > 0 {
            let tail = chunk.split_off(whole);
            let full = std::mem::replace(&mut chunk, tail);
            if tx.send(TcpChunk::Lines(full)).await.is_err() {
                return;
            }
        }
    }
    // a last line without its newline
    if !skipping && !chunk.is_empty() {
        let _ = tx.send(TcpChunk::Lines(chunk)).await;
    }
}

/// Datagrams the kernel dropped on the UDP socket bound to `addr` (from /proc/net/udp or
/// udp6: the `drops` column of the matching local address).
pub fn udp_kernel_drops(addr: std::net::SocketAddr) -> Option<u64> {
    let file = if addr.is_ipv4() {
        "/proc/net/udp"
    } else {
        "/proc/net/udp6"
    };
    let text = std::fs::read_to_string(file).ok()?;
    let port = format!(":{:04X}", addr.port());
    let mut total = None;
    for line in text.lines().skip(1) {
        let mut f = line.split_whitespace();
        let local = f.nth(1)?;
        if local.ends_with(&port) {
            let drops: u64 = line.split_whitespace().last()?.parse().ok()?;
            *total.get_or_insert(0) += drops;
        }
    }
    total
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tcp_reader_splits_lines_and_skips_overlong_ones() {
        let (mut a, b) = tokio::io::duplex(1 << 20);
        let (tx, mut rx) = mpsc::channel(64);
        let reader = tokio::spawn(read_lines(b, tx));
        use tokio::io::AsyncWriteExt;
        let long = vec![b'x'; MAX_TCP_LINE + 10];
        a.write_all(b"a:1|c\nb:2|c\n").await.unwrap();
        a.write_all(&long).await.unwrap();
        a.write_all(b"\nc:3|c\n").await.unwrap();
        let mut one = b"e:5|c\n".to_vec();
        one.extend(vec![b'y'; MAX_TCP_LINE + 1]);
        one.extend_from_slice(b"\nf:6|c\nd:4");
        a.write_all(&one).await.unwrap();
        a.write_all(b"|c").await.unwrap();
        drop(a);
        reader.await.unwrap();
        let mut text = Vec::new();
        let mut too_long = 0;
        while let Some(c) = rx.recv().await {
            match c {
                TcpChunk::Lines(l) => text.extend(l),
                TcpChunk::TooLong => too_long += 1,
            }
        }
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "a:1|c\nb:2|c\nc:3|c\ne:5|c\nf:6|c\nd:4|c"
        );
        assert_eq!(too_long, 2);
    }

    #[test]
    fn recv_batch_reads_several_datagrams_per_call_and_flags_cut_ones() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for d in [
            &b"a:1|c"[..],
            b"bb:2|c",
            b"this one is longer than 16 bytes",
            b"d:4|c",
            b"e:5|c",
        ] {
            tx.send_to(d, rx.local_addr().unwrap()).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut bufs: Vec<Vec<u8>> = (0..3).map(|_| vec![0u8; 16]).collect();
        let mut lens = Vec::new();
        recv_batch(rx.as_raw_fd(), &mut bufs, &mut lens).unwrap();
        assert_eq!(lens, vec![(5, false), (6, false), (16, true)]);
        assert_eq!(&bufs[1][..6], b"bb:2|c");
        recv_batch(rx.as_raw_fd(), &mut bufs, &mut lens).unwrap();
        assert_eq!(lens, vec![(5, false), (5, false)]);
        assert_eq!(&bufs[1][..5], b"e:5|c");
        let e = recv_batch(rx.as_raw_fd(), &mut bufs, &mut lens).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    }

    #[test]
    fn kernel_drops_are_found_for_a_bound_socket() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(udp_kernel_drops(s.local_addr().unwrap()), Some(0));
    }

    #[test]
    fn a_regular_file_is_never_replaced_by_the_unix_socket() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("dsd.sock");
        std::fs::write(&p, b"keep me").unwrap();
        assert!(bind_unix(&p).unwrap_err().contains("not a socket"));
        assert_eq!(std::fs::read(&p).unwrap(), b"keep me");
        std::fs::remove_file(&p).unwrap();
        let s = bind_unix(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(s);
        // a stale socket file is replaced
        bind_unix(&p).unwrap();
    }
}
