#![allow(missing_docs)]
use criterion::{criterion_group, criterion_main, Criterion};
use lookout_config::RedactConfig;
use lookout_processors::Redactor;
use regex::RegexSet;
use std::hint::black_box;

const DIRTY: &[&str] = &[
    "2024-05-01T12:00:00.123Z INFO auth: login ok user=bob@example.com password=hunter2 from web-1",
    "payment declined card=4111 1111 1111 1111 order=ORD-118822 amount=12.50",
    "outgoing request Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P",
    "connecting to postgres://app:s3cr3t@db.internal:5432/app with key AKIAIOSFODNN7EXAMPLE",
];

fn rules(c: &mut Criterion) {
    let mut g = c.benchmark_group("tmp");
    for (i, l) in DIRTY.iter().enumerate() {
        let r = Redactor::new(&RedactConfig::default()).unwrap();
        g.bench_function(format!("all_line{i}"), |b| {
            b.iter(|| black_box(r.redact_str(black_box(l))))
        });
    }
    let r = Redactor::new(&RedactConfig::default()).unwrap();
    for (i, l) in DIRTY.iter().enumerate() {
        g.bench_function(format!("set_is_match{i}"), |b| {
            b.iter(|| black_box(r.tmp_set().is_match(black_box(l))))
        });
        g.bench_function(format!("set_matches{i}"), |b| {
            b.iter(|| black_box(r.tmp_set().matches(black_box(l))))
        });
    }
    for (i, l) in DIRTY.iter().enumerate() {
        g.bench_function(format!("nomatches{i}"), |b| {
            b.iter(|| black_box(r.tmp_nomatches(black_box(l))))
        });
    }
    let big = regex::RegexSetBuilder::new(r.tmp_set().patterns())
        .dfa_size_limit(64 << 20)
        .build()
        .unwrap();
    for (i, l) in DIRTY.iter().enumerate() {
        g.bench_function(format!("bigset_matches{i}"), |b| {
            b.iter(|| black_box(big.matches(black_box(l))))
        });
    }
    let pats: Vec<String> = r.tmp_set().patterns().to_vec();
    for skip in 0..pats.len() {
        let sub: Vec<&String> = pats
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, p)| p)
            .collect();
        let set = RegexSet::new(sub).unwrap();
        g.bench_function(format!("skip{skip}_matches2"), |b| {
            b.iter(|| black_box(set.matches(black_box(DIRTY[2]))))
        });
        let one = RegexSet::new([&pats[skip]]).unwrap();
        g.bench_function(format!("only{skip}_matches2"), |b| {
            b.iter(|| black_box(one.matches(black_box(DIRTY[2]))))
        });
    }
    let l = DIRTY[0];
    for k in 0..8 {
        g.bench_function(format!("apply_line0_rule{k}"), |b| {
            b.iter(|| black_box(r.tmp_rule(k, black_box(l))))
        });
    }
    let re =
        regex::Regex::new(r"(?-u:\b)(?i-u:bearer)[ \t]+(?P<tok>[A-Za-z0-9._~+/-]+=*)").unwrap();
    g.bench_function("bearer_find", |b| {
        b.iter(|| black_box(re.find(black_box(DIRTY[2]))))
    });
    g.bench_function("bearer_captures", |b| {
        b.iter(|| black_box(re.captures(black_box(DIRTY[2]))))
    });
    g.bench_function("bearer_captures_iter", |b| {
        b.iter(|| black_box(re.captures_iter(black_box(DIRTY[2])).count()))
    });
    for rule in [
        "credit_card",
        "email",
        "bearer_token",
        "basic_auth_url",
        "password_assignment",
        "aws_access_key",
        "private_key",
        "jwt",
    ] {
        let r = Redactor::new(&RedactConfig {
            builtins: vec![rule.into()],
            ..Default::default()
        })
        .unwrap();
        g.bench_function(format!("rule_{rule}"), |b| {
            b.iter(|| {
                for l in DIRTY {
                    black_box(r.redact_str(black_box(l)));
                }
            })
        });
    }
    g.finish();
}
criterion_group!(benches, rules);
criterion_main!(benches);
