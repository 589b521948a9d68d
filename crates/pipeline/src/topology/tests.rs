use super::*;
use lookout_config::load_str;
use lookout_model::{MetricsBuilder, Monotonic};
use std::sync::Mutex;

fn batch(n: i64) -> Batch {
    let mut b = MetricsBuilder::new(vec![], "test", "1");
    b.sum("n", "1", "", Monotonic::Yes).point_i64(1, 2, n, &[]);
    Batch::Metrics(b.finish())
}

fn value(b: &Batch) -> i64 {
    let Batch::Metrics(r) = b else { return -1 };
    match &r.resource_metrics[0].scope_metrics[0].metrics[0].data {
        Some(lookout_model::otlp::metric::Data::Sum(s)) => match s.data_points[0].value {
            Some(lookout_model::otlp::number_data_point::Value::AsInt(i)) => i,
            _ => -1,
        },
        _ => -1,
    }
}

/// Emits `count` batches as fast as allowed, then waits for shutdown.
struct Counter {
    count: i64,
}

impl Source for Counter {
    fn run(self: Box<Self>, mut cx: SourceContext) -> BoxFuture {
        Box::pin(async move {
            for i in 0..self.count {
                cx.out.send(batch(i)).await;
            }
            cx.shutdown.wait().await;
        })
    }
}

struct Double;
impl Processor for Double {
    fn process(&mut self, b: Batch) -> Option<Batch> {
        let v = value(&b);
        if v % 10 == 9 {
            return None;
        }
        Some(batch(v * 2))
    }
}

/// Collects values; optionally slow.
struct Collect {
    seen: Arc<Mutex<Vec<i64>>>,
    delay: Duration,
}

impl Sink for Collect {
    fn run(self: Box<Self>, mut cx: SinkContext) -> BoxFuture {
        Box::pin(async move {
            while let Some(ev) = cx.recv().await {
                if !self.delay.is_zero() {
                    tokio::time::sleep(self.delay).await;
                }
                self.seen.lock().unwrap().push(value(&ev));
                cx.stats
                    .sent_items
                    .fetch_add(ev.item_count() as u64, Relaxed);
            }
        })
    }
}

struct TestFactory {
    count: i64,
    seen: HashMap<String, Arc<Mutex<Vec<i64>>>>,
    delay: Duration,
}

impl Factory for TestFactory {
    fn source(&self, _: &SourceConfig, _: &BuildContext) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(Counter { count: self.count }))
    }
    fn processor(
        &self,
        _: &ProcessorConfig,
        _: &BuildContext,
    ) -> Result<Box<dyn Processor>, String> {
        Ok(Box::new(Double))
    }
    fn sink(&self, cfg: &SinkConfig, _: &BuildContext) -> Result<Box<dyn Sink>, String> {
        if cfg.id == "broken" {
            return Err("cannot open".into());
        }
        Ok(Box::new(Collect {
            seen: self.seen[&cfg.id].clone(),
            delay: self.delay,
        }))
    }
}

const CONF: &str = "
sources:
  src: {type: host_metrics}
processors:
  double: {type: resource, inputs: [src]}
sinks:
  raw: {type: file, path: /dev/null, inputs: [src], buffer: {max_batches: 1000, when_full: block}}
  doubled: {type: file, path: /dev/null, inputs: [double], buffer: {max_batches: 1000, when_full: block}}
";

fn cx() -> BuildContext {
    BuildContext {
        routes: Routes::new(),
        resource: Arc::new(vec![]),
        data_dir: PathBuf::from("/tmp"),
    }
}

fn factory(count: i64, ids: &[&str], delay: Duration) -> TestFactory {
    TestFactory {
        count,
        seen: ids
            .iter()
            .map(|i| (i.to_string(), Arc::new(Mutex::new(vec![]))))
            .collect(),
        delay,
    }
}

#[tokio::test]
async fn fans_out_processes_and_drains_on_shutdown() {
    let config = load_str("t", CONF, &[], &|_| None).unwrap();
    let f = factory(100, &["raw", "doubled"], Duration::ZERO);
    let reg = Registry::new();
    let mut topo = Topology::build(&config, &f, &cx(), &reg).unwrap();
    topo.start();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let aborted = topo.shutdown(Duration::from_secs(5)).await;
    assert!(aborted.is_empty());
    let raw = f.seen["raw"].lock().unwrap().clone();
    assert_eq!(raw, (0..100).collect::<Vec<_>>());
    let doubled = f.seen["doubled"].lock().unwrap().clone();
    let expected: Vec<i64> = (0..100).filter(|v| v % 10 != 9).map(|v| v * 2).collect();
    assert_eq!(doubled, expected);
    let snaps = reg.snapshots();
    let get = |id: &str| snaps.iter().find(|s| s.id == id).unwrap().clone();
    assert_eq!(get("src").sent_items, 100);
    assert_eq!(get("double").dropped_items, 10);
    assert_eq!(get("raw").received_items, 100);
    assert_eq!(get("raw").sent_items, 100);
}

#[tokio::test]
async fn drop_newest_counts_drops_and_never_blocks_the_source() {
    let conf = CONF.replace(
        "max_batches: 1000, when_full: block}}\n  doubled",
        "max_batches: 2, when_full: drop_newest}}\n  doubled",
    );
    let config = load_str("t", &conf, &[], &|_| None).unwrap();
    let f = factory(50, &["raw", "doubled"], Duration::from_millis(20));
    let reg = Registry::new();
    let mut topo = Topology::build(&config, &f, &cx(), &reg).unwrap();
    topo.start();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = topo.shutdown(Duration::from_secs(10)).await;
    let raw = f.seen["raw"].lock().unwrap().len() as u64;
    let snaps = reg.snapshots();
    let s = snaps.iter().find(|s| s.id == "raw").unwrap();
    assert!(s.dropped_items > 0, "expected drops: {s:?}");
    assert_eq!(
        raw + s.dropped_items,
        50,
        "every batch delivered or counted"
    );
}

#[tokio::test]
async fn grace_period_aborts_a_stuck_sink() {
    let config = load_str("t", CONF, &[], &|_| None).unwrap();
    let f = factory(20, &["raw", "doubled"], Duration::from_secs(3600));
    let reg = Registry::new();
    let mut topo = Topology::build(&config, &f, &cx(), &reg).unwrap();
    topo.start();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let t = std::time::Instant::now();
    let aborted = topo.shutdown(Duration::from_millis(200)).await;
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(aborted.contains(&"raw".to_string()), "{aborted:?}");
}

#[tokio::test]
async fn build_error_names_component() {
    let conf = CONF.replace("doubled:", "broken:");
    let config = load_str("t", &conf, &[], &|_| None).unwrap();
    let f = factory(1, &["raw"], Duration::ZERO);
    let e = Topology::build(&config, &f, &cx(), &Registry::new())
        .err()
        .unwrap();
    assert_eq!(e.component, "broken");
    assert_eq!(e.to_string(), "component `broken`: cannot open");
}

/// Sends `n` acknowledged batches; a spawned task collects their receipts.
struct AckSource {
    n: i64,
    receipts: Arc<Mutex<Vec<crate::Receipt>>>,
}

impl Source for AckSource {
    fn run(self: Box<Self>, mut cx: SourceContext) -> BoxFuture {
        Box::pin(async move {
            let mut acks = crate::Acks::new();
            for i in 0..self.n {
                let tok = acks.token();
                cx.out.send_acked(batch(i), tok).await;
            }
            let (n, receipts) = (self.n as usize, self.receipts.clone());
            tokio::spawn(async move {
                let until = tokio::time::Instant::now() + Duration::from_secs(10);
                while receipts.lock().unwrap().len() < n {
                    match tokio::time::timeout_at(until, acks.recv()).await {
                        Ok(Some(r)) => receipts.lock().unwrap().push(r),
                        _ => break,
                    }
                }
            });
            cx.shutdown.wait().await;
        })
    }
}

/// Receives everything; acknowledges only when `ack`.
struct MaybeAck {
    ack: bool,
}

impl Sink for MaybeAck {
    fn run(self: Box<Self>, mut cx: SinkContext) -> BoxFuture {
        Box::pin(async move {
            while cx.recv().await.is_some() {
                if self.ack {
                    cx.ack().await;
                }
            }
        })
    }
}

struct AckFactory {
    n: i64,
    receipts: Arc<Mutex<Vec<crate::Receipt>>>,
    acking: Vec<&'static str>,
}

impl Factory for AckFactory {
    fn source(&self, _: &SourceConfig, _: &BuildContext) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(AckSource {
            n: self.n,
            receipts: self.receipts.clone(),
        }))
    }
    fn processor(
        &self,
        _: &ProcessorConfig,
        _: &BuildContext,
    ) -> Result<Box<dyn Processor>, String> {
        Ok(Box::new(Double))
    }
    fn sink(&self, cfg: &SinkConfig, _: &BuildContext) -> Result<Box<dyn Sink>, String> {
        Ok(Box::new(MaybeAck {
            ack: self.acking.contains(&cfg.id.as_str()),
        }))
    }
}

async fn receipts_with(acking: Vec<&'static str>, conf: &str) -> Vec<crate::Receipt> {
    let config = load_str("t", conf, &[], &|_| None).unwrap();
    let receipts = Arc::new(Mutex::new(Vec::new()));
    let f = AckFactory {
        n: 30,
        receipts: receipts.clone(),
        acking,
    };
    let dir = std::env::temp_dir().join(format!(
        "lookout-ack-{}-{}",
        std::process::id(),
        lookout_model::now_nanos()
    ));
    let mut c = cx();
    c.data_dir = dir.clone();
    let reg = Registry::new();
    let mut topo = Topology::build(&config, &f, &c, &reg).unwrap();
    topo.start();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = topo.shutdown(Duration::from_secs(5)).await;
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while receipts.lock().unwrap().len() < 30 && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut r = receipts.lock().unwrap().clone();
    r.sort_by_key(|r| r.id);
    r
}

#[tokio::test]
async fn acknowledged_batches_settle_when_every_sink_acknowledged_them() {
    let r = receipts_with(vec!["raw", "doubled"], CONF).await;
    assert_eq!(r.len(), 30);
    assert!(
        r.iter().enumerate().all(|(i, r)| r.id == i as u64 && r.ok),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_sink_that_stops_without_acknowledging_fails_the_batches_it_held() {
    // `doubled` never acknowledges; the batches the processor dropped (v % 10 == 9) never
    // reached it and settle through `raw` alone
    let r = receipts_with(vec!["raw"], CONF).await;
    assert_eq!(r.len(), 30);
    for r in &r {
        assert_eq!(r.ok, r.id % 10 == 9, "{r:?}");
    }
}

#[tokio::test]
async fn a_disk_buffer_settles_batches_once_appended() {
    // neither sink acknowledges, but `raw` has a disk buffer: appended is settled; `doubled` is
    // fed by nobody here
    let conf = CONF
        .replace(
            "inputs: [src], buffer: {max_batches: 1000, when_full: block}",
            "inputs: [src], buffer: {type: disk}",
        )
        .replace("inputs: [double]", "inputs: [src]")
        .replace("  double: {type: resource, inputs: [src]}\n", "")
        .replace("processors:\n", "");
    let r = receipts_with(vec!["doubled"], &conf).await;
    assert_eq!(r.len(), 30);
    assert!(r.iter().all(|r| r.ok), "{r:?}");
}

#[tokio::test]
async fn a_tap_shows_one_source_after_its_processors() {
    let conf = "
sources:
  tap_a: {type: host_metrics}
  tap_b: {type: host_metrics}
processors:
  double: {type: resource, inputs: [tap_a, tap_b]}
sinks:
  doubled: {type: file, path: /dev/null, inputs: [double], buffer: {max_batches: 1000, when_full: block}}
";
    let config = load_str("t", conf, &[], &|_| None).unwrap();
    let f = factory(20, &["doubled"], Duration::ZERO);
    let taps = crate::taps::taps();
    // opened before the data flows: only what comes after is seen
    let (_, after, _) = taps.read("tap_a", 0);
    let reg = Registry::new();
    let mut topo = Topology::build(&config, &f, &cx(), &reg).unwrap();
    topo.start();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = topo.shutdown(Duration::from_secs(5)).await;
    // both sources' batches reached the sink; the tap holds tap_a's only, after the processor
    // (which dropped values ending in 9)
    assert_eq!(f.seen["doubled"].lock().unwrap().len(), 36);
    let (lines, next, missed) = taps.read("tap_a", after);
    assert_eq!(lines.len(), 18, "{lines:?}");
    assert_eq!(missed, 0);
    assert_eq!(next, after + 18);
    assert!(lines
        .iter()
        .all(|l| l.severity == "METRICS" && l.body == "n"));
    // a source nobody tapped costs nothing and keeps nothing
    assert!(taps.recent("tap_b").is_empty());
}
