//! Parse throughput and parse + aggregate throughput on a realistic 20-line DogStatsD datagram
//! with tags, reported per line.
//!
//! Run with `cargo bench -p lookout-statsd`.
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout_statsd::{lines, parse_line, Aggregator, Line};

/// What a busy web service's client library packs into one datagram.
const DATAGRAM: &str = "\
http.server.requests:1|c|#env:prod,service:checkout,route:/api/cart,method:GET,status:200
http.server.requests:1|c|#env:prod,service:checkout,route:/api/cart,method:POST,status:201
http.server.requests:1|c|@0.5|#env:prod,service:checkout,route:/api/pay,method:POST,status:502
http.server.duration:12.7|ms|#env:prod,service:checkout,route:/api/cart,method:GET
http.server.duration:48.1|ms|#env:prod,service:checkout,route:/api/cart,method:POST
http.server.duration:301.9|ms|@0.5|#env:prod,service:checkout,route:/api/pay,method:POST
db.query.duration:1.25:0.98:3.4|d|#env:prod,service:checkout,db:postgres,op:select
db.query.duration:7.5|d|#env:prod,service:checkout,db:postgres,op:insert
db.pool.in_use:12|g|#env:prod,service:checkout,db:postgres
db.pool.idle:+1|g|#env:prod,service:checkout,db:postgres
cache.hits:17|c|#env:prod,service:checkout,cache:redis
cache.misses:3|c|#env:prod,service:checkout,cache:redis
cache.latency:0.4|h|#env:prod,service:checkout,cache:redis
queue.depth:421|g|#env:prod,service:checkout,queue:orders|c:4f1d2a9e0b7c
queue.consumers:8|g|#env:prod,service:checkout,queue:orders|c:4f1d2a9e0b7c
users.active:u-84211|s|#env:prod,service:checkout
users.active:u-10993|s|#env:prod,service:checkout
runtime.gc.pause:0.31|d|#env:prod,service:checkout,gen:young
runtime.heap.used:314572800|g|#env:prod,service:checkout
payments.amount:59.90|d|@0.1|#env:prod,service:checkout,currency:EUR,provider:stripe
";

fn bench(c: &mut Criterion) {
    let data = DATAGRAM.as_bytes();
    let n = lines(data).count() as u64;
    assert_eq!(n, 20);
    assert!(lines(data).all(|l| parse_line(l).is_ok()));

    let mut g = c.benchmark_group("statsd");
    g.throughput(Throughput::Elements(n));
    g.bench_function("parse_20_lines", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for line in lines(black_box(data)) {
                if let Ok(l) = parse_line(line) {
                    ok += black_box(&l).to_owned_len();
                }
            }
            ok
        })
    });
    g.bench_function("parse_and_aggregate_20_lines", |b| {
        let mut agg = Aggregator::default();
        let mut batches = 0u64;
        b.iter(|| {
            for line in lines(black_box(data)) {
                if let Ok(Line::Metric(m)) = parse_line(line) {
                    agg.add(&m);
                }
            }
            batches += 1;
            // A window of 10 000 datagrams, then flush, so state stays realistic.
            if batches.is_multiple_of(10_000) {
                black_box(agg.flush(0, 1, &[]));
            }
        })
    });
    g.finish();
}

/// Keeps the parse result alive without measuring anything heavy.
trait OwnedLen {
    fn to_owned_len(&self) -> usize;
}

impl OwnedLen for Line<'_> {
    fn to_owned_len(&self) -> usize {
        match self {
            Line::Metric(m) => m.name.len() + m.values.len(),
            Line::Event(e) => e.title.len(),
            Line::ServiceCheck(c) => c.name.len(),
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
