//! A compliance kit for component tests: run one source or sink alone, the way the topology
//! runs it, and check that it emitted the self-metrics every component must report (as Vector
//! checks its components' internal events). A new component's tests call these so it cannot
//! forget its counters.

use crate::stats::{ComponentKind, ComponentSnapshot, ComponentStats};
use crate::topology::{Event, Output, Shutdown, Sink, SinkContext, Source, SourceContext, Target};
use lookout_config::WhenFull;
use lookout_model::Batch;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Runs a source for `run_for`, then stops it; returns what it sent and its stats.
pub async fn run_source(
    source: Box<dyn Source>,
    run_for: Duration,
) -> (Vec<Event>, ComponentSnapshot) {
    let stats = Arc::new(ComponentStats::new(
        "under-test",
        ComponentKind::Source,
        "test",
        source.health_threshold(),
    ));
    let sink_stats = Arc::new(ComponentStats::new(
        "collector",
        ComponentKind::Sink,
        "test",
        Duration::from_secs(60),
    ));
    let (tx, mut rx) = mpsc::channel(1024);
    let out = Output {
        targets: vec![Target {
            id: "collector".into(),
            tx,
            policy: WhenFull::Block,
            stats: sink_stats,
            capacity: 1024,
        }],
        stats: stats.clone(),
        origin: Some(Arc::from("under-test")),
        feeds_sink: true,
    };
    let (stop_tx, shutdown) = Shutdown::new();
    let handle = tokio::spawn(source.run(SourceContext {
        out,
        shutdown,
        stats: stats.clone(),
    }));
    let collector = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some((ev, _, _)) = rx.recv().await {
            got.push(ev);
        }
        got
    });
    tokio::time::sleep(run_for).await;
    let _ = stop_tx.send(true);
    let mut handle = handle;
    if tokio::time::timeout(Duration::from_secs(10), &mut handle)
        .await
        .is_err()
    {
        handle.abort();
    }
    let got = collector.await.unwrap_or_default();
    (got, stats.snapshot())
}

/// Feeds batches to a sink, closes its input and waits (up to `grace`) for it to finish;
/// returns its stats.
pub async fn run_sink(
    sink: Box<dyn Sink>,
    batches: Vec<Batch>,
    grace: Duration,
) -> ComponentSnapshot {
    let stats = Arc::new(ComponentStats::new(
        "under-test",
        ComponentKind::Sink,
        "test",
        sink.health_threshold(),
    ));
    let (tx, rx) = mpsc::channel(batches.len().max(1));
    let (abort_tx, abort) = Shutdown::new();
    let cx = SinkContext::new(rx, batches.len().max(1), abort, stats.clone());
    let handle = tokio::spawn(sink.run(cx));
    for b in batches {
        stats
            .received_items
            .fetch_add(b.item_count() as u64, std::sync::atomic::Ordering::Relaxed);
        if tx.send((Arc::new(b), None, None)).await.is_err() {
            break;
        }
    }
    drop(tx);
    let mut handle = handle;
    if tokio::time::timeout(grace, &mut handle).await.is_err() {
        let _ = abort_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut handle).await;
    }
    stats.snapshot()
}

/// Asserts a source reported what every source must: items sent equal to the items in the
/// batches it emitted, and items collected counted.
pub fn assert_source_metrics(sent: &[Event], snap: &ComponentSnapshot) {
    let items: u64 = sent.iter().map(|e| e.item_count() as u64).sum();
    assert!(items > 0, "the source emitted nothing");
    assert_eq!(
        snap.sent_items, items,
        "sent_items must count every emitted item"
    );
    assert!(
        snap.received_items >= items,
        "received_items must count collected items"
    );
}

/// Asserts a sink accounted for every item it was given: delivered, dead-lettered or dropped.
pub fn assert_sink_metrics(given: u64, snap: &ComponentSnapshot) {
    assert_eq!(
        snap.sent_items + snap.dropped_items + snap.dead_lettered_items,
        given,
        "every item is sent, dead-lettered or counted as dropped: {snap:?}"
    );
}
