//! Times one host metrics collection against this machine's real `/proc`: every collector
//! together (what each tick of the `host_metrics` source costs), then each collector alone.
//!
//! Run with `cargo bench -p lookout-sources`.
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use lookout_config::{HostCollector, HostMetricsConfig, ResourceConfig};
use lookout_sources::{detect_host_resource, HostMetricsSource};

fn source(collectors: Vec<HostCollector>) -> HostMetricsSource {
    let cfg = HostMetricsConfig {
        collectors,
        ..Default::default()
    };
    let resource = Arc::new(detect_host_resource(
        &ResourceConfig::default(),
        std::path::Path::new("/"),
    ));
    HostMetricsSource::new(cfg, resource).expect("this machine's /proc is readable")
}

fn collect(c: &mut Criterion) {
    let mut all = source(HostCollector::ALL.to_vec());
    // The first tick has no CPU utilization yet; time the steady state.
    let first = all.collect();
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    c.bench_function("host/collect_all", |b| {
        b.iter(|| black_box(all.collect()));
    });

    let mut group = c.benchmark_group("host/collector");
    for collector in HostCollector::ALL {
        let mut one = source(vec![collector]);
        one.collect();
        group.bench_function(format!("{collector:?}").to_lowercase(), |b| {
            b.iter(|| black_box(one.collect()));
        });
    }
    group.finish();
}

criterion_group!(benches, collect);
criterion_main!(benches);
