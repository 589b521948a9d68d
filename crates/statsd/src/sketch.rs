//! [`Sketch`]: a mergeable base-2 exponential histogram (the OpenTelemetry
//! `ExponentialHistogram` bucketing), used for timers, histograms and distributions.
//!
//! At scale `s` the base is `b = 2^(2^-s)` and bucket `i` holds the magnitudes in
//! `(b^i, b^(i+1)]` (upper bound inclusive), i.e. `i = ceil(log2(v) * 2^s) - 1`. Indices are
//! always computed at scale 20 ([`MAX_SCALE`]) and shifted right to the current scale, so every
//! value lands in the same bucket whatever order values arrive in: a sketch built in pieces and
//! merged is identical to one built from the union. A sketch starts at scale 20 and halves its
//! resolution (merging buckets pairwise, `scale -= 1`) as often as needed to keep the span of
//! bucket indices of each sign within `max_buckets`. Magnitudes below
//! [`ZERO_THRESHOLD`] (zero and subnormal numbers) are counted in the zero bucket; negative
//! values go to the negative buckets, by magnitude. Count, sum, min and max are exact.
//!
//! Quantiles: the bucket `(L, L·b]` holding the wanted rank answers `2·L·b / (1 + b)`, clamped to
//! `[min, max]`, whose relative error is at most `(b - 1) / (b + 1)`
//! ([`relative_error_bound`]): 0.27% at scale 7, 0.54% at scale 6. With 2048 buckets (the
//! default), data whose max/min ratio is at most `2^(2047/128)` (≈ 65 180, just under `2^16`)
//! spans at most 2048 buckets at scale 7, so its percentiles are within 0.28%. (A ratio of exactly
//! `2^16` needs 2049 buckets at scale 7 and so is kept at scale 6, within 0.55%.)

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets as OtlpBuckets, summary_data_point::ValueAtQuantile,
    ExponentialHistogramDataPoint, SummaryDataPoint,
};
use std::collections::VecDeque;

/// The finest (and starting) scale.
pub const MAX_SCALE: i32 = 20;
/// The coarsest scale (the OpenTelemetry minimum); 2 buckets per sign always suffice there.
pub const MIN_SCALE: i32 = -10;
/// Magnitudes below this (zero and subnormal numbers) are counted in the zero bucket.
pub const ZERO_THRESHOLD: f64 = f64::MIN_POSITIVE;
/// Smallest accepted `max_buckets` (smaller values are raised to it).
pub const MIN_MAX_BUCKETS: usize = 2;
/// Largest accepted `max_buckets` (larger values are lowered to it), bounding memory to
/// 128 KiB per sign.
pub const MAX_MAX_BUCKETS: usize = 16_384;

/// The worst relative error of a quantile estimate at `scale`: `(b - 1) / (b + 1)` with
/// `b = 2^(2^-scale)` (computed as `tanh(ln(b) / 2)`, which stays finite at low scales).
pub fn relative_error_bound(scale: i32) -> f64 {
    (2f64.powi(-scale) * std::f64::consts::LN_2 / 2.0).tanh()
}

/// The bucket index of a magnitude `a >= ZERO_THRESHOLD` (finite) at [`MAX_SCALE`].
fn index_at_max_scale(a: f64) -> i32 {
    const MANTISSA: u64 = (1 << 52) - 1;
    // 2^20 / ln 2
    const FACTOR: f64 = (1u64 << MAX_SCALE) as f64 / std::f64::consts::LN_2;
    let bits = a.to_bits();
    // a is normal: the biased exponent is 1..=2046.
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mantissa = bits & MANTISSA;
    if mantissa == 0 {
        // an exact power of two is the inclusive upper bound of its bucket
        return (exp << MAX_SCALE) - 1;
    }
    // m in (1, 2): log2(a) = exp + log2(m); the fraction is computed on m alone for precision.
    let m = f64::from_bits(mantissa | (1023u64 << 52));
    let frac = (m.ln() * FACTOR).floor();
    let frac = (frac as i32).clamp(0, (1 << MAX_SCALE) - 1);
    (exp << MAX_SCALE) + frac
}

/// The buckets of one sign: `counts[k]` is the (weighted) count of index `offset + k`; the first
/// and last counts are non-zero.
#[derive(Debug, Clone, Default, PartialEq)]
struct Buckets {
    offset: i32,
    counts: VecDeque<f64>,
}

impl Buckets {
    fn range(&self) -> Option<(i32, i32)> {
        if self.counts.is_empty() {
            None
        } else {
            Some((self.offset, self.offset + self.counts.len() as i32 - 1))
        }
    }

    fn add(&mut self, index: i32, w: f64) {
        let Some((lo, hi)) = self.range() else {
            self.offset = index;
            self.counts.push_back(w);
            return;
        };
        if index < lo {
            for _ in index..lo {
                self.counts.push_front(0.0);
            }
            self.offset = index;
        } else if index > hi {
            for _ in hi..index {
                self.counts.push_back(0.0);
            }
        }
        if let Some(c) = self.counts.get_mut((index - self.offset) as usize) {
            *c += w;
        }
    }

    /// Merges buckets so indices are shifted right by `by`.
    fn downscale(&mut self, by: u32) {
        if by == 0 || self.counts.is_empty() {
            return;
        }
        let old = std::mem::take(&mut self.counts);
        let old_offset = self.offset;
        self.offset = old_offset >> by;
        for (k, c) in old.into_iter().enumerate() {
            let j = ((old_offset + k as i32) >> by) - self.offset;
            match self.counts.get_mut(j as usize) {
                Some(slot) => *slot += c,
                None => self.counts.push_back(c),
            }
        }
    }

    /// Ascending (index, count) pairs.
    fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, f64)> + '_ {
        let offset = self.offset;
        self.counts
            .iter()
            .enumerate()
            .map(move |(k, &c)| (offset + k as i32, c))
    }
}

/// Smallest `c >= 0` such that indices `lo..=hi` shifted right by `c` span at most `max`
/// buckets, without going below [`MIN_SCALE`] from `scale`.
fn change_needed(lo: i32, hi: i32, max: usize, scale: i32) -> u32 {
    let mut c = 0u32;
    while ((hi >> c) as i64 - (lo >> c) as i64 + 1) as u64 > max as u64
        && scale - (c as i32) > MIN_SCALE
    {
        c += 1;
    }
    c
}

fn union(a: Option<(i32, i32)>, b: Option<(i32, i32)>) -> Option<(i32, i32)> {
    match (a, b) {
        (Some((l1, h1)), Some((l2, h2))) => Some((l1.min(l2), h1.max(h2))),
        (x, None) | (None, x) => x,
    }
}

fn shifted(r: Option<(i32, i32)>, by: u32) -> Option<(i32, i32)> {
    r.map(|(l, h)| (l >> by, h >> by))
}

/// A mergeable exponential-histogram sketch (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    scale: i32,
    max_buckets: usize,
    values: u64,
    count: f64,
    sum: f64,
    min: f64,
    max: f64,
    zero: f64,
    positive: Buckets,
    negative: Buckets,
}

impl Default for Sketch {
    fn default() -> Self {
        Self::new(2048)
    }
}

impl Sketch {
    /// An empty sketch keeping at most `max_buckets` buckets per sign (clamped to
    /// [`MIN_MAX_BUCKETS`]..=[`MAX_MAX_BUCKETS`]).
    pub fn new(max_buckets: usize) -> Self {
        Self {
            scale: MAX_SCALE,
            max_buckets: max_buckets.clamp(MIN_MAX_BUCKETS, MAX_MAX_BUCKETS),
            values: 0,
            count: 0.0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            zero: 0.0,
            positive: Buckets::default(),
            negative: Buckets::default(),
        }
    }

    /// Adds one value (weight 1).
    pub fn add(&mut self, v: f64) {
        self.add_weighted(v, 1.0);
    }

    /// Adds one value standing for `weight` values (`1 / sample_rate`). Non-finite values and
    /// weights that are not finite and positive are ignored.
    pub fn add_weighted(&mut self, v: f64, weight: f64) {
        if !v.is_finite() || !weight.is_finite() || weight <= 0.0 {
            return;
        }
        self.values += 1;
        self.count += weight;
        self.sum += v * weight;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        let a = v.abs();
        if a < ZERO_THRESHOLD {
            self.zero += weight;
            return;
        }
        let idx20 = index_at_max_scale(a);
        let range = if v > 0.0 {
            self.positive.range()
        } else {
            self.negative.range()
        };
        let idx = idx20 >> (MAX_SCALE - self.scale);
        if let Some((lo, hi)) = union(range, Some((idx, idx))) {
            let c = change_needed(lo, hi, self.max_buckets, self.scale);
            self.downscale(c);
        }
        let idx = idx20 >> (MAX_SCALE - self.scale);
        if v > 0.0 {
            self.positive.add(idx, weight);
        } else {
            self.negative.add(idx, weight);
        }
    }

    fn downscale(&mut self, by: u32) {
        if by == 0 {
            return;
        }
        self.scale -= by as i32;
        self.positive.downscale(by);
        self.negative.downscale(by);
    }

    /// Adds every value of `other` into `self`: afterwards `self` is exactly the sketch of the
    /// union (same scale and buckets; the sum may differ in the last bits by addition order).
    /// `self`'s bucket limit applies.
    pub fn merge(&mut self, other: &Sketch) {
        if other.values == 0 {
            return;
        }
        self.values += other.values;
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.zero += other.zero;
        let mut target = self.scale.min(other.scale);
        let mut change = 0;
        for (mine, theirs) in [
            (self.positive.range(), other.positive.range()),
            (self.negative.range(), other.negative.range()),
        ] {
            let u = union(
                shifted(mine, (self.scale - target) as u32),
                shifted(theirs, (other.scale - target) as u32),
            );
            if let Some((lo, hi)) = u {
                change = change.max(change_needed(lo, hi, self.max_buckets, target));
            }
        }
        target -= change as i32;
        self.downscale((self.scale - target) as u32);
        let by = (other.scale - target) as u32;
        for (i, c) in other.positive.iter() {
            self.positive.add(i >> by, c);
        }
        for (i, c) in other.negative.iter() {
            self.negative.add(i >> by, c);
        }
    }

    /// True when no value was added.
    pub fn is_empty(&self) -> bool {
        self.values == 0
    }

    /// Number of values added (unweighted).
    pub fn values(&self) -> u64 {
        self.values
    }

    /// Weighted count (each value counts `1 / sample_rate`).
    pub fn count(&self) -> f64 {
        self.count
    }

    /// Weighted sum.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Exact minimum (`None` when empty).
    pub fn min(&self) -> Option<f64> {
        (!self.is_empty()).then_some(self.min)
    }

    /// Exact maximum (`None` when empty).
    pub fn max(&self) -> Option<f64> {
        (!self.is_empty()).then_some(self.max)
    }

    /// The current scale.
    pub fn scale(&self) -> i32 {
        self.scale
    }

    /// The bucket limit per sign.
    pub fn max_buckets(&self) -> usize {
        self.max_buckets
    }

    /// Weighted count of the zero bucket.
    pub fn zero_count(&self) -> f64 {
        self.zero
    }

    /// Number of buckets spanned (positive, negative).
    pub fn bucket_spans(&self) -> (usize, usize) {
        (self.positive.counts.len(), self.negative.counts.len())
    }

    /// The magnitude standing for bucket `i`: `2·L·b / (1 + b)` for the bucket `(L, L·b]`.
    fn representative(&self, i: i32) -> f64 {
        let step = 2f64.powi(-self.scale);
        let lower = (f64::from(i) * step).exp2();
        let b = step.exp2();
        lower * (2.0 / (1.0 + 1.0 / b))
    }

    fn clamp(&self, v: f64) -> f64 {
        v.max(self.min).min(self.max)
    }

    /// The estimated `q`-quantile (`q` in [0, 1]): the value of rank `floor(q·(count - 1))`
    /// (0-based, in weighted counts) within the relative error of the scale; `q = 0` gives the
    /// exact minimum and `q = 1` the exact maximum. `None` when empty or `q` is out of range.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.is_empty() || !(0.0..=1.0).contains(&q) {
            return None;
        }
        if q == 0.0 {
            return Some(self.min);
        }
        if q == 1.0 {
            return Some(self.max);
        }
        let rank = q * (self.count - 1.0);
        let mut cum = 0.0;
        for (i, c) in self.negative.iter().rev() {
            cum += c;
            if cum > rank {
                return Some(self.clamp(-self.representative(i)));
            }
        }
        cum += self.zero;
        if cum > rank {
            return Some(self.clamp(0.0));
        }
        for (i, c) in self.positive.iter() {
            cum += c;
            if cum > rank {
                return Some(self.clamp(self.representative(i)));
            }
        }
        Some(self.max)
    }

    /// The OTLP exponential-histogram point. Weighted counts are rounded so that the zero count
    /// and bucket counts add up exactly to `count` (cumulative rounding: each count is the
    /// rounded running total minus the previous rounded running total).
    pub fn to_exponential_point(
        &self,
        attributes: Vec<KeyValue>,
        start: u64,
        time: u64,
    ) -> ExponentialHistogramDataPoint {
        let mut running = 0.0f64;
        let mut emitted = 0u64;
        let mut take = |c: f64| -> u64 {
            running += c;
            let total = running.round() as u64;
            let n = total.saturating_sub(emitted);
            emitted = emitted.max(total);
            n
        };
        let zero_count = take(self.zero);
        let mut side = |b: &Buckets| -> Option<OtlpBuckets> {
            if b.counts.is_empty() {
                return None;
            }
            Some(OtlpBuckets {
                offset: b.offset,
                bucket_counts: b.counts.iter().map(|&c| take(c)).collect(),
            })
        };
        let negative = side(&self.negative);
        let positive = side(&self.positive);
        ExponentialHistogramDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: time,
            count: emitted,
            sum: Some(self.sum),
            scale: self.scale,
            zero_count,
            positive,
            negative,
            flags: 0,
            exemplars: Vec::new(),
            min: self.min(),
            max: self.max(),
            zero_threshold: ZERO_THRESHOLD,
        }
    }

    /// The OTLP summary point: count (rounded), sum, and a quantile value for 0 (the exact
    /// minimum), each of `quantiles` (those in (0, 1), ascending) and 1 (the exact maximum).
    pub fn to_summary_point(
        &self,
        attributes: Vec<KeyValue>,
        start: u64,
        time: u64,
        quantiles: &[f64],
    ) -> SummaryDataPoint {
        let mut qs: Vec<f64> = Vec::with_capacity(quantiles.len() + 2);
        qs.push(0.0);
        qs.extend(quantiles.iter().copied().filter(|q| *q > 0.0 && *q < 1.0));
        qs.push(1.0);
        SummaryDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: time,
            count: self.count.round() as u64,
            sum: self.sum,
            quantile_values: qs
                .into_iter()
                .filter_map(|q| {
                    self.quantile(q)
                        .map(|value| ValueAtQuantile { quantile: q, value })
                })
                .collect(),
            flags: 0,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A tiny deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        /// Uniform in [0, 1).
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        /// Roughly standard normal (sum of 12 uniforms).
        fn normal(&mut self) -> f64 {
            (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
        }
    }

    fn exact(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
    }

    fn check_quantiles(values: &[f64], max_buckets: usize) -> Sketch {
        let mut s = Sketch::new(max_buckets);
        for &v in values {
            s.add(v);
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let bound = relative_error_bound(s.scale());
        assert_eq!(s.count(), values.len() as f64);
        assert_eq!(s.min(), Some(sorted[0]));
        assert_eq!(s.max(), Some(*sorted.last().unwrap()));
        let (p, n) = s.bucket_spans();
        assert!(p <= s.max_buckets() && n <= s.max_buckets());
        for q in [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let want = exact(&sorted, q);
            let got = s.quantile(q).unwrap();
            let err = if want.abs() < ZERO_THRESHOLD {
                if got.abs() < ZERO_THRESHOLD {
                    0.0
                } else {
                    1.0
                }
            } else {
                ((got - want) / want).abs()
            };
            assert!(
                err <= bound * (1.0 + 1e-9),
                "q={q} want={want} got={got} err={err} bound={bound} scale={}",
                s.scale()
            );
        }
        s
    }

    #[test]
    fn bound_values() {
        assert!((relative_error_bound(7) - 0.002_708).abs() < 1e-6);
        assert!(relative_error_bound(7) <= 0.0028);
        assert!(relative_error_bound(0) - 1.0 / 3.0 < 1e-12);
        assert!(relative_error_bound(MIN_SCALE) <= 1.0);
        assert!(relative_error_bound(MAX_SCALE) > 0.0);
    }

    #[test]
    fn indices_match_the_definition() {
        // index = ceil(log2(v) * 2^s) - 1
        for &(v, s, want) in &[
            (1.0, 0, -1),
            (2.0, 0, 0),
            (3.0, 0, 1),
            (4.0, 0, 1),
            (4.000001, 0, 2),
            (0.5, 0, -2),
            (0.75, 0, -1),
            (1.5, 1, 1), // sqrt(2) < 1.5 <= 2
            (1.4, 1, 0),
            (1e-300, -10, -1),
            (1e300, -10, 0),
        ] {
            assert_eq!(
                index_at_max_scale(v) >> (MAX_SCALE - s),
                want,
                "v={v} s={s}"
            );
        }
        let mut r = Rng(7);
        for _ in 0..10_000 {
            let v = (r.unit() * 80.0 - 40.0).exp2();
            let i = index_at_max_scale(v);
            let s = 10;
            let j = i >> (MAX_SCALE - s);
            let lo = (f64::from(j) / 1024.0).exp2();
            let hi = (f64::from(j + 1) / 1024.0).exp2();
            assert!(
                v > lo * (1.0 - 1e-12) && v <= hi * (1.0 + 1e-12),
                "{v} {lo} {hi}"
            );
        }
    }

    #[test]
    fn uniform() {
        let mut r = Rng(1);
        let v: Vec<f64> = (0..50_000).map(|_| 1.0 + r.unit() * 999.0).collect();
        let s = check_quantiles(&v, 2048);
        assert_eq!(s.scale(), 7, "ratio 1000 keeps scale 7");
    }

    #[test]
    fn log_normal() {
        let mut r = Rng(2);
        let v: Vec<f64> = (0..50_000)
            .map(|_| (r.normal() * 1.5 + 3.0).exp())
            .collect();
        check_quantiles(&v, 2048);
    }

    #[test]
    fn with_negatives_and_zeros() {
        let mut r = Rng(3);
        let mut v: Vec<f64> = (0..20_000).map(|_| r.normal() * 100.0).collect();
        v.extend([0.0, 0.0, -0.0, 1e-320]);
        let s = check_quantiles(&v, 2048);
        assert_eq!(s.zero_count(), 4.0);
        check_quantiles(&v, 16);
    }

    #[test]
    fn single_value() {
        for v in [42.0, -3.5, 0.0, 1e300] {
            let s = check_quantiles(&[v], 2048);
            assert_eq!(s.scale(), MAX_SCALE);
            assert_eq!(s.quantile(0.5), Some(v), "clamped to [min, max]");
        }
    }

    #[test]
    fn a_million_values() {
        let mut r = Rng(4);
        let v: Vec<f64> = (0..1_000_000).map(|_| r.unit() * 1e4).collect();
        check_quantiles(&v, 2048);
    }

    #[test]
    fn extreme_ranges_stay_bounded() {
        let v = [
            f64::MIN_POSITIVE,
            1.0,
            f64::MAX,
            -f64::MAX,
            -f64::MIN_POSITIVE,
        ];
        let s = check_quantiles(&v, 2);
        assert!(s.scale() >= MIN_SCALE);
        check_quantiles(&v, 2048);
        // a tiny limit is raised to the minimum
        assert_eq!(Sketch::new(0).max_buckets(), MIN_MAX_BUCKETS);
        assert_eq!(Sketch::new(usize::MAX).max_buckets(), MAX_MAX_BUCKETS);
    }

    #[test]
    fn documented_scale_claim() {
        // ratio 2^(2047/128) keeps scale 7 with 2048 buckets
        let lo = 3.0f64;
        let mut s = Sketch::new(2048);
        s.add(lo);
        s.add(lo * (2047.0f64 / 128.0).exp2());
        assert_eq!(s.scale(), 7);
        // exactly 2^16 needs 2049 buckets at scale 7
        let mut s = Sketch::new(2048);
        s.add(1.0);
        s.add(65536.0);
        assert_eq!(s.scale(), 6);
        // any ratio up to 2^(2047/128)
        let mut r = Rng(9);
        for _ in 0..200 {
            let mut s = Sketch::new(2048);
            let base = (r.unit() * 60.0 - 30.0).exp2();
            s.add(base);
            s.add(base * (r.unit() * 2047.0 / 128.0).exp2());
            assert!(s.scale() >= 7);
        }
    }

    #[test]
    fn merge_equals_union() {
        let mut r = Rng(5);
        for round in 0..20 {
            let n1 = (r.next() % 2000) as usize;
            let n2 = (r.next() % 2000) as usize;
            let spread = 1.0 + (round as f64) * 3.0;
            let mut gen = |n: usize| -> Vec<f64> {
                (0..n)
                    .map(|_| {
                        let sign = if r.next().is_multiple_of(4) {
                            -1.0
                        } else {
                            1.0
                        };
                        if r.next().is_multiple_of(50) {
                            0.0
                        } else {
                            sign * (r.normal() * spread).exp2()
                        }
                    })
                    .collect()
            };
            let a = gen(n1);
            let b = gen(n2);
            for max_buckets in [2048, 64, 2] {
                let mut sa = Sketch::new(max_buckets);
                let mut sb = Sketch::new(max_buckets);
                let mut su = Sketch::new(max_buckets);
                a.iter().for_each(|&v| sa.add(v));
                b.iter().for_each(|&v| sb.add(v));
                a.iter().chain(&b).for_each(|&v| su.add(v));
                let mut merged = sa.clone();
                merged.merge(&sb);
                assert!((merged.sum - su.sum).abs() <= 1e-9 * su.sum.abs().max(1.0));
                merged.sum = su.sum;
                assert_eq!(merged, su, "round {round} max_buckets {max_buckets}");
                // the other way round too
                let mut merged = sb.clone();
                merged.merge(&sa);
                merged.sum = su.sum;
                assert_eq!(merged, su);
            }
        }
    }

    #[test]
    fn weighted_counts_round_to_add_up() {
        let mut s = Sketch::new(2048);
        for v in [1.0, 2.0, 3.0, 0.0, -1.0] {
            s.add_weighted(v, 1.0 / 0.3);
        }
        assert!((s.count() - 5.0 / 0.3).abs() < 1e-9);
        assert!((s.sum() - 5.0 / 0.3).abs() < 1e-9);
        let p = s.to_exponential_point(vec![], 1, 2);
        let buckets: u64 = p.zero_count
            + p.positive
                .as_ref()
                .unwrap()
                .bucket_counts
                .iter()
                .sum::<u64>()
            + p.negative
                .as_ref()
                .unwrap()
                .bucket_counts
                .iter()
                .sum::<u64>();
        assert_eq!(p.count, 17);
        assert_eq!(buckets, p.count);
        assert_eq!(p.min, Some(-1.0));
        assert_eq!(p.max, Some(3.0));
        let sum = s.to_summary_point(vec![], 1, 2, &[0.5, 2.0, f64::NAN]);
        assert_eq!(sum.count, 17);
        let qs: Vec<f64> = sum.quantile_values.iter().map(|q| q.quantile).collect();
        assert_eq!(qs, vec![0.0, 0.5, 1.0]);
        assert_eq!(sum.quantile_values[0].value, -1.0);
        assert_eq!(sum.quantile_values[2].value, 3.0);
    }

    #[test]
    fn ignores_non_finite() {
        let mut s = Sketch::new(2048);
        s.add(f64::NAN);
        s.add(f64::INFINITY);
        s.add_weighted(1.0, f64::INFINITY);
        s.add_weighted(1.0, 0.0);
        assert!(s.is_empty());
        assert_eq!(s.quantile(0.5), None);
        assert_eq!(s.min(), None);
    }
}
