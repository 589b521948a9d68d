//! The body of the `statsd_parse` fuzz target, shared with a unit test that runs it on
//! generated inputs (the fuzzer itself needs nightly).

use crate::aggregate::{Aggregator, AggregatorConfig, CounterMode, TimerMode};
use crate::parse::{error_json, lines, parse_line, Line};

/// For fuzzing: parses every line of `data`, renders each result as JSON, feeds what parsed into
/// two aggregators (defaults, and a tiny configuration that forces cardinality overflow and
/// sketch downscaling, with the modes picked from the input length), flushes each twice and
/// encodes the batches. Must never panic, whatever the input.
pub fn fuzz_one(data: &[u8]) {
    let small = AggregatorConfig {
        counters: if data.len().is_multiple_of(2) {
            CounterMode::Delta
        } else {
            CounterMode::Cumulative
        },
        timers: if data.len() % 4 < 2 {
            TimerMode::Summary
        } else {
            TimerMode::Histogram
        },
        percentiles: vec![0.0, 0.5, 0.99, 1.0, 2.0, f64::NAN],
        max_series_per_metric: 2,
        max_series: 8,
        max_buckets: 4,
        gauge_idle_windows: 1,
    };
    let mut aggs = [Aggregator::default(), Aggregator::new(small)];
    for line in lines(data) {
        match parse_line(line) {
            Ok(parsed) => {
                let _ = parsed.to_json();
                for agg in &mut aggs {
                    match &parsed {
                        Line::Metric(m) => agg.add(m),
                        Line::Event(e) => agg.add_event(e, 1),
                        Line::ServiceCheck(c) => agg.add_service_check(c, 1),
                    }
                }
            }
            Err(e) => {
                let _ = e.reason();
                let _ = error_json(line, &e);
            }
        }
    }
    for agg in &mut aggs {
        for round in 0..2u64 {
            let flushed = agg.flush(round * 10, round * 10 + 10, &[]);
            for batch in [flushed.metrics, flushed.logs].into_iter().flatten() {
                let _ = batch.encode_protobuf();
                let _ = batch.to_json();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const SEEDS: &[&str] = &[
        "page.views:1|c",
        "a.b:1:2:3|ms|@0.5|#env:prod,canary|c:abc|T1700000000",
        "g:+5:-2|g|#k:v",
        "users:a:b|s|#x",
        "lat:0:-1:1e300:4.9e-324|d|@0.01",
        "h:3|h|e:ext|card:high|zz",
        "_e{5,4}:tit|e|te\\nx|d:12|h:h|k:k|p:low|s:s|t:error|#a:b",
        "_e{2,3}:é|€",
        "_sc|db|2|d:7|h:db1|#env:prod|m:down | really",
        "c:1|c|T5",
        "_sc|x|9",
    ];

    /// Random bytes, random picks from a protocol alphabet, and mutated seed lines.
    fn input(r: &mut Rng) -> Vec<u8> {
        const ALPHABET: &[u8] = b"abc:|@#,.-+0123456789eTcgmshd_{}\n\\\r\xc3\xa9\xff";
        match r.below(3) {
            0 => (0..r.below(200)).map(|_| r.next() as u8).collect(),
            1 => (0..r.below(200))
                .map(|_| ALPHABET[r.below(ALPHABET.len())])
                .collect(),
            _ => {
                let mut out = Vec::new();
                for _ in 0..1 + r.below(6) {
                    let mut line = SEEDS[r.below(SEEDS.len())].as_bytes().to_vec();
                    for _ in 0..r.below(4) {
                        let len = line.len();
                        match r.below(4) {
                            0 if len > 0 => {
                                line.remove(r.below(len));
                            }
                            1 => line.insert(r.below(len + 1), ALPHABET[r.below(ALPHABET.len())]),
                            2 if len > 0 => {
                                let i = r.below(len);
                                line[i] = r.next() as u8;
                            }
                            _ => {
                                let cut = r.below(len + 1);
                                line.truncate(cut);
                            }
                        }
                    }
                    out.extend_from_slice(&line);
                    out.push(b'\n');
                }
                out
            }
        }
    }

    #[test]
    fn never_panics_on_generated_inputs() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..4000 {
            fuzz_one(&input(&mut r));
        }
        for seed in SEEDS {
            fuzz_one(seed.as_bytes());
        }
        fuzz_one(SEEDS.join("\n").as_bytes());
    }

    #[test]
    fn many_series_and_values_in_one_input() {
        let mut data = String::new();
        for i in 0..300 {
            data.push_str(&format!(
                "m{}:{}|{}|#k:{}\n",
                i % 3,
                (i as f64 - 150.0) * 1.7e10,
                ["c", "g", "ms", "h", "d", "s"][i % 6],
                i
            ));
        }
        fuzz_one(data.as_bytes());
    }
}
