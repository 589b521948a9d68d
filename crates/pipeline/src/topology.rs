//! Component traits and the running topology.

use crate::ack::AckToken;
use crate::routes::Routes;
use crate::stats::{ComponentKind, ComponentStats, Registry};
use lookout_config::{Config, ProcessorConfig, SinkConfig, SourceConfig, WhenFull};
use lookout_model::otlp::KeyValue;
use lookout_model::Batch;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// A batch shared between every consumer of one output (cloned only by a processor that edits).
pub type Event = Arc<Batch>;

/// What travels on a channel: the batch and, for acknowledged sources, its token.
pub(crate) type Msg = (Event, Option<AckToken>, Origin);

/// The id of the source a batch came from, carried through processors (for taps).
pub(crate) type Origin = Option<Arc<str>>;

/// The future a component runs as.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Produces batches until told to stop.
pub trait Source: Send + 'static {
    /// Runs until `cx.shutdown` fires; returning drops the output, which lets consumers drain.
    fn run(self: Box<Self>, cx: SourceContext) -> BoxFuture;
    /// How long the source may keep failing before `/health` reports it.
    fn health_threshold(&self) -> Duration {
        Duration::from_secs(60)
    }
}

/// Transforms batches, synchronously (processors are cheap and run on the batch's path).
pub trait Processor: Send + 'static {
    /// Transforms one batch; `None` drops it (counted by the runtime).
    fn process(&mut self, batch: Batch) -> Option<Batch>;
    /// Publishes processor-specific figures into its stats (called after each batch), e.g.
    /// redactions by rule. Nothing by default.
    fn report(&self, _stats: &ComponentStats) {}
}

/// Delivers batches until its input closes.
pub trait Sink: Send + 'static {
    /// Runs until `cx.recv()` returns `None`, delivering everything received.
    fn run(self: Box<Self>, cx: SinkContext) -> BoxFuture;
    /// How long deliveries may fail before `/health` reports the sink.
    fn health_threshold(&self) -> Duration {
        Duration::from_secs(60)
    }
}

/// A stop signal a component can wait on or poll.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// A signal and the sender that fires it.
    pub fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown { rx })
    }

    /// Whether it has fired.
    pub fn is_set(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until it fires (or its sender is gone).
    pub async fn wait(&mut self) {
        while !*self.rx.borrow_and_update() {
            if self.rx.changed().await.is_err() {
                return;
            }
        }
    }
}

fn event_signal(b: &Batch) -> &'static str {
    match b {
        Batch::Metrics(_) => "metrics",
        Batch::Logs(_) => "logs",
        Batch::Traces(_) => "traces",
    }
}

/// Marks a token (if any) as failed: its batch could not be handed to a consumer.
fn fail(tok: Option<AckToken>) {
    if let Some(t) = tok {
        t.fail();
    }
}

/// Every `block` consumer stayed full for the whole wait: nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Where a source or processor sends its batches: every downstream consumer.
pub struct Output {
    pub(crate) targets: Vec<Target>,
    pub(crate) stats: Arc<ComponentStats>,
    /// A source's own id (its batches' origin); `None` for a processor, which passes on the
    /// origin of each batch it gets.
    pub(crate) origin: Origin,
    /// Whether a sink is among the targets: where taps look at the records.
    pub(crate) feeds_sink: bool,
}

pub(crate) struct Target {
    pub(crate) id: String,
    pub(crate) tx: mpsc::Sender<Msg>,
    pub(crate) policy: WhenFull,
    pub(crate) stats: Arc<ComponentStats>,
    pub(crate) capacity: usize,
}

impl Output {
    /// Sends a batch to every consumer. A `block` consumer applies back-pressure; a
    /// `drop_newest` one whose buffer is full drops the batch (counted in its stats).
    pub async fn send(&self, batch: Batch) {
        self.send_msg(batch, None, self.origin.clone()).await
    }

    /// Like [`Output::send`], with an acknowledgement token: its receipt tells the source when
    /// every consumer has settled the batch (see [`crate::ack`]). A batch with no items is
    /// settled at once.
    pub async fn send_acked(&self, batch: Batch, token: AckToken) {
        self.send_msg(batch, Some(token), self.origin.clone()).await
    }

    fn tap(&self, batch: &Batch, origin: &Origin) {
        let taps = crate::taps::taps();
        if self.feeds_sink && taps.any() {
            if let Some(o) = origin {
                taps.record(o, batch);
            }
        }
    }

    pub(crate) async fn send_msg(&self, batch: Batch, ack: Option<AckToken>, origin: Origin) {
        let items = batch.item_count() as u64;
        if items == 0 {
            return;
        }
        self.tap(&batch, &origin);
        let event = Arc::new(batch);
        for t in &self.targets {
            let msg = (event.clone(), ack.clone(), origin.clone());
            let delivered = match t.policy {
                WhenFull::Block => match t.tx.send(msg).await {
                    Ok(()) => true,
                    Err(mpsc::error::SendError((_, tok, _))) => {
                        fail(tok);
                        false
                    }
                },
                // drop_oldest is a disk-buffer policy (applied by its writer); on a channel it
                // behaves as drop_newest
                WhenFull::DropNewest | WhenFull::DropOldest => match t.tx.try_send(msg) {
                    Ok(()) => {
                        t.stats.end_drop_episode();
                        true
                    }
                    // dropped by the configured policy (counted): settled
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        t.stats.record_full_drop(items, &t.id);
                        false
                    }
                    Err(mpsc::error::TrySendError::Closed((_, tok, _))) => {
                        fail(tok);
                        false
                    }
                },
            };
            if delivered {
                t.stats.received_items.fetch_add(items, Relaxed);
            }
            t.stats
                .buffer_depth
                .store((t.capacity - t.tx.capacity()) as u64, Relaxed);
        }
        self.stats.sent_items.fetch_add(items, Relaxed);
    }

    /// Sends a batch to every consumer, or to none: a receiver's path, where the sender (an
    /// application) can retry. Waits up to `wait` for room in every `block` consumer's buffer;
    /// if one stays full the batch is sent nowhere and [`Busy`] is returned, so the receiver
    /// answers with a retryable error instead of acknowledging data it could not take.
    /// `drop_newest` consumers never make it wait: when full they drop (counted), as with
    /// [`Output::send`].
    pub async fn send_within(&self, batch: Batch, wait: Duration) -> Result<(), Busy> {
        let items = batch.item_count() as u64;
        if items == 0 {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + wait;
        let mut permits = Vec::with_capacity(self.targets.len());
        for (i, t) in self.targets.iter().enumerate() {
            if t.policy != WhenFull::Block {
                continue;
            }
            match tokio::time::timeout_at(deadline, t.tx.reserve()).await {
                Ok(Ok(p)) => permits.push((i, p)),
                // a closed consumer (stopping): nothing to wait for
                Ok(Err(_)) => {}
                Err(_) => {
                    self.stats.add_labeled(
                        "lookout_receiver_busy_total",
                        "Requests answered with a retryable error because a buffer stayed full.",
                        "signal",
                        event_signal(&batch),
                        1,
                    );
                    return Err(Busy);
                }
            }
        }
        self.tap(&batch, &self.origin);
        let event = Arc::new(batch);
        for (i, p) in permits {
            p.send((event.clone(), None, self.origin.clone()));
            let t = &self.targets[i];
            t.stats.received_items.fetch_add(items, Relaxed);
            t.stats
                .buffer_depth
                .store((t.capacity - t.tx.capacity()) as u64, Relaxed);
        }
        for t in self.targets.iter().filter(|t| t.policy != WhenFull::Block) {
            match t.tx.try_send((event.clone(), None, self.origin.clone())) {
                Ok(()) => {
                    t.stats.end_drop_episode();
                    t.stats.received_items.fetch_add(items, Relaxed);
                }
                Err(mpsc::error::TrySendError::Full(_)) => t.stats.record_full_drop(items, &t.id),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        self.stats.sent_items.fetch_add(items, Relaxed);
        Ok(())
    }

    /// Number of consumers.
    pub fn consumers(&self) -> usize {
        self.targets.len()
    }
}

/// What a running source gets.
pub struct SourceContext {
    /// Where to send batches.
    pub out: Output,
    /// Fires when the agent stops or reloads.
    pub shutdown: Shutdown,
    /// This source's counters.
    pub stats: Arc<ComponentStats>,
}

pub(crate) enum Input {
    Memory(mpsc::Receiver<Msg>),
    Disk(crate::buffer::DiskInput),
}

/// What a running sink gets.
pub struct SinkContext {
    input: Input,
    /// Tokens of batches received from a memory buffer and not yet acknowledged.
    held: Vec<AckToken>,
    capacity: usize,
    /// Fires when the agent starts stopping. A sink with a durable (disk) buffer may stop at
    /// once: what it has not delivered stays queued for the next run.
    pub stop: Shutdown,
    /// Fires when the shutdown grace period is over: stop retrying, count what is left as
    /// dropped, and return.
    pub abort: Shutdown,
    /// This sink's counters.
    pub stats: Arc<ComponentStats>,
}

impl SinkContext {
    pub(crate) fn new(
        input: mpsc::Receiver<Msg>,
        capacity: usize,
        abort: Shutdown,
        stats: Arc<ComponentStats>,
    ) -> Self {
        let (_, stop) = Shutdown::new();
        SinkContext {
            input: Input::Memory(input),
            held: Vec::new(),
            capacity,
            stop,
            abort,
            stats,
        }
    }

    /// The next batch. `None` once every producer has stopped and a memory buffer is empty,
    /// or, for a disk buffer, once the agent is stopping (the rest stays on disk).
    pub async fn recv(&mut self) -> Option<Event> {
        match &mut self.input {
            Input::Memory(rx) => {
                let msg = rx.recv().await;
                self.stats.buffer_depth.store(rx.len() as u64, Relaxed);
                msg.map(|(ev, tok, _)| {
                    self.held.extend(tok);
                    ev
                })
            }
            Input::Disk(d) => {
                let ev = d.recv(&mut self.stop, &self.stats).await;
                crate::buffer::publish(&d.shared, &self.stats);
                ev
            }
        }
    }

    /// Takes a batch if one is waiting in a memory buffer, without blocking (disk buffers:
    /// always None; use `recv`).
    pub fn try_recv(&mut self) -> Option<Event> {
        match &mut self.input {
            Input::Memory(rx) => {
                let msg = rx.try_recv().ok();
                self.stats.buffer_depth.store(rx.len() as u64, Relaxed);
                msg.map(|(ev, tok, _)| {
                    self.held.extend(tok);
                    ev
                })
            }
            Input::Disk(_) => None,
        }
    }

    /// Counts a delivery of `items` that started at `started` (latency, items sent, a success
    /// for health) and acknowledges every batch received so far.
    pub async fn delivered(&mut self, items: u64, started: std::time::Instant) {
        self.stats.latency.observe(started.elapsed());
        self.stats.sent_items.fetch_add(items, Relaxed);
        self.stats.record_success();
        self.ack().await;
    }

    /// Acknowledges every batch received so far: delivered, dead-lettered or deliberately
    /// dropped. A disk buffer frees them; a memory buffer settles their sources'
    /// acknowledgement tokens.
    pub async fn ack(&mut self) {
        self.held.clear();
        if let Input::Disk(d) = &mut self.input {
            d.ack().await;
            crate::buffer::publish(&d.shared, &self.stats);
        }
    }

    /// Whether undelivered batches survive a stop (a disk buffer): a sink may then give up
    /// retrying when `stop` fires, without dropping anything.
    pub fn durable(&self) -> bool {
        matches!(self.input, Input::Disk(_))
    }

    /// Capacity of the buffer in batches.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Waits a second before a failed delivery of `items` is tried again. `GiveUp` once the
    /// shutdown grace is over (the items are counted as dropped); `Stop` when the agent stops
    /// and the batch stays in a disk buffer for the next run.
    pub async fn pause_before_retry(&mut self, items: u64) -> Retry {
        let durable = self.durable();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => Retry::Again,
            _ = self.abort.wait() => {
                if durable {
                    Retry::Stop
                } else {
                    self.stats.dropped_items.fetch_add(items, Relaxed);
                    Retry::GiveUp
                }
            }
            _ = self.stop.wait(), if durable => Retry::Stop,
        }
    }
}

/// What [`SinkContext::pause_before_retry`] says to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try the delivery again.
    Again,
    /// Drop the batch (counted) and go on with the next.
    GiveUp,
    /// Return: the agent is stopping and the batch is kept on disk.
    Stop,
}

impl Drop for SinkContext {
    /// Batches received but never acknowledged (the sink stopped first) were not delivered.
    fn drop(&mut self) {
        for t in self.held.drain(..) {
            t.fail();
        }
    }
}

/// What a factory gets to build components.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// Pages the new topology publishes (swapped in when it starts).
    pub routes: Routes,
    /// Host resource attributes (detected plus configured).
    pub resource: Arc<Vec<KeyValue>>,
    /// The agent's state directory.
    pub data_dir: PathBuf,
}

/// A component could not be built (e.g. a file sink whose directory is not writable).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildError {
    /// The component id.
    pub component: String,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "component `{}`: {}", self.component, self.message)
    }
}

impl std::error::Error for BuildError {}

/// Builds concrete components from their config entries.
pub trait Factory {
    /// Builds a source.
    fn source(&self, cfg: &SourceConfig, cx: &BuildContext) -> Result<Box<dyn Source>, String>;
    /// Builds a processor.
    fn processor(
        &self,
        cfg: &ProcessorConfig,
        cx: &BuildContext,
    ) -> Result<Box<dyn Processor>, String>;
    /// Builds a sink.
    fn sink(&self, cfg: &SinkConfig, cx: &BuildContext) -> Result<Box<dyn Sink>, String>;
}

const PROCESSOR_CAPACITY: usize = 16;

/// A built (or running) set of components.
pub struct Topology {
    routes: Routes,
    registry: Registry,
    pending: Option<Pending>,
    stop_tx: Option<watch::Sender<bool>>,
    abort_tx: Option<watch::Sender<bool>>,
    handles: Vec<(String, JoinHandle<()>)>,
}

struct Pending {
    sources: Vec<(SourceConfig, Box<dyn Source>)>,
    processors: Vec<(ProcessorConfig, Box<dyn Processor>)>,
    sinks: Vec<(SinkConfig, Box<dyn Sink>)>,
    disks: HashMap<String, Arc<crate::buffer::DiskShared>>,
}

impl Topology {
    /// Builds every component of `config`. Nothing runs yet; on error nothing was started.
    pub fn build(
        config: &Config,
        factory: &dyn Factory,
        cx: &BuildContext,
        registry: &Registry,
    ) -> Result<Topology, BuildError> {
        let err = |id: &str, message: String| BuildError {
            component: id.to_string(),
            message,
        };
        let mut sources = Vec::new();
        for s in &config.sources {
            let c = factory.source(s, cx).map_err(|m| err(&s.id, m))?;
            sources.push((s.clone(), c));
        }
        let mut processors = Vec::new();
        for p in &config.processors {
            let c = factory.processor(p, cx).map_err(|m| err(&p.id, m))?;
            processors.push((p.clone(), c));
        }
        let mut sinks = Vec::new();
        let mut disks = HashMap::new();
        for s in &config.sinks {
            let c = factory.sink(s, cx).map_err(|m| err(&s.id, m))?;
            if s.buffer.kind == lookout_config::BufferType::Disk {
                let dir = cx.data_dir.join("buffers").join(&s.id);
                let shared = registry
                    .disk_queue(&dir, &s.buffer, &s.id)
                    .map_err(|m| err(&s.id, m))?;
                disks.insert(s.id.clone(), shared);
            }
            sinks.push((s.clone(), c));
        }
        Ok(Topology {
            routes: cx.routes.clone(),
            registry: registry.clone(),
            pending: Some(Pending {
                sources,
                processors,
                sinks,
                disks,
            }),
            stop_tx: None,
            abort_tx: None,
            handles: Vec::new(),
        })
    }

    /// The pages this topology publishes.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// Starts every component on the current tokio runtime.
    pub fn start(&mut self) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let (stop_tx, stop) = Shutdown::new();
        let (abort_tx, abort) = Shutdown::new();
        let reg = &self.registry;

        // one channel per consumer
        let mut inboxes: HashMap<
            String,
            (mpsc::Sender<Msg>, WhenFull, Arc<ComponentStats>, usize),
        > = HashMap::new();
        let mut sink_rx = Vec::new();
        for (cfg, sink) in p.sinks {
            let cap = if p.disks.contains_key(&cfg.id) {
                16
            } else {
                cfg.buffer.max_batches.max(1)
            };
            let (tx, rx) = mpsc::channel(cap);
            let stats = reg.component(
                &cfg.id,
                ComponentKind::Sink,
                cfg.kind.type_name(),
                sink.health_threshold(),
            );
            stats.buffer_capacity.store(cap as u64, Relaxed);
            inboxes.insert(
                cfg.id.clone(),
                (tx, cfg.buffer.when_full, stats.clone(), cap),
            );
            sink_rx.push((cfg, sink, rx, stats, cap));
        }
        let mut proc_rx = Vec::new();
        for (cfg, proc) in p.processors {
            let (tx, rx) = mpsc::channel(PROCESSOR_CAPACITY);
            let stats = reg.component(
                &cfg.id,
                ComponentKind::Processor,
                cfg.kind.type_name(),
                Duration::from_secs(60),
            );
            inboxes.insert(
                cfg.id.clone(),
                (tx, WhenFull::Block, stats.clone(), PROCESSOR_CAPACITY),
            );
            proc_rx.push((cfg, proc, rx, stats));
        }
        // consumers of each producer id
        let mut consumers: HashMap<String, Vec<String>> = HashMap::new();
        for (cfg, ..) in &sink_rx {
            for i in &cfg.inputs {
                consumers.entry(i.clone()).or_default().push(cfg.id.clone());
            }
        }
        for (cfg, ..) in &proc_rx {
            for i in &cfg.inputs {
                consumers.entry(i.clone()).or_default().push(cfg.id.clone());
            }
        }
        let sink_ids: std::collections::HashSet<String> =
            sink_rx.iter().map(|(cfg, ..)| cfg.id.clone()).collect();
        let output_for = |id: &str, stats: Arc<ComponentStats>, origin: Origin| Output {
            feeds_sink: consumers
                .get(id)
                .is_some_and(|c| c.iter().any(|c| sink_ids.contains(c))),
            origin,
            targets: consumers
                .get(id)
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    inboxes.get(c).map(|(tx, policy, s, cap)| Target {
                        id: c.clone(),
                        tx: tx.clone(),
                        policy: *policy,
                        stats: s.clone(),
                        capacity: *cap,
                    })
                })
                .collect(),
            stats,
        };

        let mut ids = Vec::new();
        for (cfg, source) in p.sources {
            let id = cfg.id;
            let stats = reg.component(
                &id,
                ComponentKind::Source,
                cfg.kind.type_name(),
                source.health_threshold(),
            );
            let cx = SourceContext {
                out: output_for(&id, stats.clone(), Some(Arc::from(id.as_str()))),
                shutdown: stop.clone(),
                stats,
            };
            ids.push(id.clone());
            self.handles.push((id, tokio::spawn(source.run(cx))));
        }
        for (cfg, mut proc, mut rx, stats) in proc_rx {
            let out = output_for(&cfg.id, stats.clone(), None);
            ids.push(cfg.id.clone());
            let task = async move {
                while let Some((ev, tok, origin)) = rx.recv().await {
                    let items = ev.item_count() as u64;
                    let batch = Arc::try_unwrap(ev).unwrap_or_else(|shared| (*shared).clone());
                    match proc.process(batch) {
                        Some(b) => {
                            // a processor may drop part of a batch (sampling, filtering)
                            let left = b.item_count() as u64;
                            if left < items {
                                stats.dropped_items.fetch_add(items - left, Relaxed);
                            }
                            proc.report(&stats);
                            out.send_msg(b, tok, origin).await
                        }
                        None => {
                            proc.report(&stats);
                            stats.dropped_items.fetch_add(items, Relaxed);
                        }
                    }
                }
            };
            self.handles.push((cfg.id, tokio::spawn(task)));
        }
        drop(inboxes);
        for (cfg, sink, rx, stats, cap) in sink_rx {
            let input = match p.disks.get(&cfg.id) {
                Some(shared) => {
                    if let Ok(mut q) = shared.queue.lock() {
                        // records a previous sink had in flight are handed out again
                        q.rewind();
                    }
                    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    self.handles.push((
                        format!("{}/buffer", cfg.id),
                        tokio::spawn(crate::buffer::writer(
                            shared.clone(),
                            rx,
                            cfg.buffer.clone(),
                            stats.clone(),
                            done.clone(),
                        )),
                    ));
                    Input::Disk(crate::buffer::DiskInput {
                        shared: shared.clone(),
                        writer_done: done,
                        last_id: None,
                        pending: None,
                        last_ack: None,
                        unacked: None,
                    })
                }
                None => Input::Memory(rx),
            };
            let cx = SinkContext {
                input,
                held: Vec::new(),
                capacity: cap,
                stop: stop.clone(),
                abort: abort.clone(),
                stats,
            };
            ids.push(cfg.id.clone());
            self.handles.push((cfg.id, tokio::spawn(sink.run(cx))));
        }
        self.registry.retain(&ids);
        self.stop_tx = Some(stop_tx);
        self.abort_tx = Some(abort_tx);
    }

    /// Stops the sources, lets processors and sinks deliver what is in flight for up to
    /// `grace`, then aborts what is left. Returns the ids of components that had to be aborted.
    pub async fn shutdown(mut self, grace: Duration) -> Vec<String> {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(true);
        }
        let deadline = tokio::time::Instant::now() + grace;
        let mut aborted = Vec::new();
        let mut late = Vec::new();
        for (id, mut h) in std::mem::take(&mut self.handles) {
            if tokio::time::timeout_at(deadline, &mut h).await.is_err() {
                aborted.push(id);
                late.push(h);
            }
        }
        if !late.is_empty() {
            // tell sinks to give up retrying, then give them a moment to count their losses
            if let Some(tx) = self.abort_tx.take() {
                let _ = tx.send(true);
            }
            let until = tokio::time::Instant::now() + Duration::from_millis(500);
            for mut h in late {
                if tokio::time::timeout_at(until, &mut h).await.is_err() {
                    h.abort();
                }
            }
        }
        aborted
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for (_, h) in &self.handles {
            h.abort();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
