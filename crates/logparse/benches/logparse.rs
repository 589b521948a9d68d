//! Parse throughput with autodetection on the mixed labeled corpus (`tests/corpus.txt`: access
//! log, JSON, logfmt, syslog 3164/5424 and plain lines), reported per line and per byte, plus
//! each format parsed with `Parser::Fixed`.
//!
//! Run with `cargo bench -p lookout-logparse`.
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout_logparse::{parse_at, Format, Parser};

const NOW: u64 = 1_717_243_200_000_000_000;

fn corpus() -> Vec<(Format, &'static str)> {
    include_str!("../tests/corpus.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .filter_map(|(f, l)| Some((Format::from_name(f)?, l)))
        .collect()
}

fn bench(c: &mut Criterion) {
    let lines = corpus();
    let bytes: u64 = lines.iter().map(|(_, l)| l.len() as u64 + 1).sum();

    let mut g = c.benchmark_group("auto_lines");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("mixed", |b| {
        b.iter(|| {
            for (_, l) in &lines {
                black_box(parse_at(black_box(l), Parser::Auto, NOW));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("auto_bytes");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("mixed", |b| {
        b.iter(|| {
            for (_, l) in &lines {
                black_box(parse_at(black_box(l), Parser::Auto, NOW));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("fixed_lines");
    for f in Format::ALL {
        let subset: Vec<&str> = lines
            .iter()
            .filter(|(g, _)| *g == f)
            .map(|(_, l)| *l)
            .collect();
        g.throughput(Throughput::Elements(subset.len() as u64));
        g.bench_function(f.as_str(), |b| {
            b.iter(|| {
                for l in &subset {
                    black_box(parse_at(black_box(l), Parser::Fixed(f), NOW));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
