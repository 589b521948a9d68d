//! Cumulative-to-delta conversion for monotonic sums.
//!
//! Collectors that read kernel counters produce cumulative sums. Backends such as New Relic
//! prefer delta for counters, so a sink can pass each batch through a [`DeltaConverter`]. The
//! converter keeps the last cumulative value of each series (resource + metric + attributes):
//! the first point of a series is held back (there is nothing to subtract from), a counter that
//! went down is taken as a reset (its new value is the delta since its new start). Up-down sums
//! and gauges pass unchanged: OTLP backends want those cumulative. Series unseen for longer than
//! the staleness limit are forgotten, so memory stays bounded as series come and go.

use crate::attr::value_to_string;
use crate::otlp::{
    metric::Data, number_data_point::Value, AggregationTemporality, ExportMetricsServiceRequest,
    KeyValue,
};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

#[derive(Debug, Clone, Copy)]
struct Last {
    start: u64,
    time: u64,
    value: Value,
}

/// Converts cumulative monotonic sums to delta sums, series by series.
#[derive(Debug)]
pub struct DeltaConverter {
    last: HashMap<u64, Last>,
    max_staleness_nanos: u64,
}

fn hash_attrs(h: &mut DefaultHasher, attrs: &[KeyValue]) {
    let mut pairs: Vec<(&str, String)> = attrs
        .iter()
        .map(|kv| (kv.key.as_str(), value_to_string(kv.value.as_ref())))
        .collect();
    pairs.sort();
    pairs.hash(h);
}

fn as_f64(v: Value) -> f64 {
    match v {
        Value::AsDouble(d) => d,
        Value::AsInt(i) => i as f64,
    }
}

impl DeltaConverter {
    /// A converter forgetting series not seen for `max_staleness_nanos`.
    pub fn new(max_staleness_nanos: u64) -> Self {
        Self {
            last: HashMap::new(),
            max_staleness_nanos,
        }
    }

    /// Number of series currently tracked.
    pub fn tracked_series(&self) -> usize {
        self.last.len()
    }

    /// Rewrites a request in place; returns the number of points held back (first sight).
    pub fn convert(&mut self, req: &mut ExportMetricsServiceRequest) -> usize {
        let mut held = 0;
        let mut newest = 0u64;
        for rm in &mut req.resource_metrics {
            let mut rh = DefaultHasher::new();
            if let Some(r) = &rm.resource {
                hash_attrs(&mut rh, &r.attributes);
            }
            for sm in &mut rm.scope_metrics {
                for m in &mut sm.metrics {
                    let Some(Data::Sum(sum)) = &mut m.data else {
                        continue;
                    };
                    if !sum.is_monotonic
                        || sum.aggregation_temporality != AggregationTemporality::Cumulative as i32
                    {
                        continue;
                    }
                    sum.aggregation_temporality = AggregationTemporality::Delta as i32;
                    let before = sum.data_points.len();
                    sum.data_points.retain_mut(|p| {
                        let Some(value) = p.value else { return false };
                        let mut h = rh.clone();
                        m.name.hash(&mut h);
                        hash_attrs(&mut h, &p.attributes);
                        let key = h.finish();
                        newest = newest.max(p.time_unix_nano);
                        let current = Last {
                            start: p.start_time_unix_nano,
                            time: p.time_unix_nano,
                            value,
                        };
                        let prev = self.last.insert(key, current);
                        match prev {
                            None => false,
                            Some(prev) => {
                                let reset = as_f64(value) < as_f64(prev.value)
                                    || (p.start_time_unix_nano != 0
                                        && p.start_time_unix_nano != prev.start);
                                if reset {
                                    // value is already the delta since the (new) start
                                    return true;
                                }
                                if p.time_unix_nano <= prev.time {
                                    return false; // a duplicate or out-of-order point
                                }
                                p.value = Some(match (value, prev.value) {
                                    (Value::AsInt(a), Value::AsInt(b)) => {
                                        Value::AsInt(a.saturating_sub(b))
                                    }
                                    (a, b) => Value::AsDouble(as_f64(a) - as_f64(b)),
                                });
                                p.start_time_unix_nano = prev.time;
                                true
                            }
                        }
                    });
                    held += before - sum.data_points.len();
                }
                sm.metrics.retain(|m| match &m.data {
                    Some(Data::Sum(s)) => !s.data_points.is_empty(),
                    _ => true,
                });
            }
        }
        let limit = newest.saturating_sub(self.max_staleness_nanos);
        if newest > 0 && self.last.len() > 64 {
            self.last.retain(|_, l| l.time >= limit);
        }
        held
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{MetricsBuilder, Monotonic};

    fn req(t: u64, v: i64, updown: i64) -> ExportMetricsServiceRequest {
        let mut b = MetricsBuilder::new(vec![crate::attr::str("host.name", "h")], "s", "1");
        b.sum("c", "1", "", Monotonic::Yes)
            .point_i64(100, t, v, &[("k", "a")]);
        b.sum("u", "1", "", Monotonic::No)
            .point_i64(100, t, updown, &[]);
        b.finish()
    }

    fn points(r: &ExportMetricsServiceRequest, name: &str) -> Vec<(u64, Value, i32)> {
        r.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .filter(|m| m.name == name)
            .flat_map(|m| match &m.data {
                Some(Data::Sum(s)) => s
                    .data_points
                    .iter()
                    .map(|p| {
                        (
                            p.start_time_unix_nano,
                            p.value.unwrap(),
                            s.aggregation_temporality,
                        )
                    })
                    .collect::<Vec<_>>(),
                _ => vec![],
            })
            .collect()
    }

    #[test]
    fn first_point_held_then_deltas() {
        let mut c = DeltaConverter::new(u64::MAX);
        let mut r1 = req(200, 10, 5);
        assert_eq!(c.convert(&mut r1), 1);
        assert!(points(&r1, "c").is_empty());
        // up-down sum passes unchanged and cumulative
        assert_eq!(
            points(&r1, "u"),
            vec![(
                100,
                Value::AsInt(5),
                AggregationTemporality::Cumulative as i32
            )]
        );
        let mut r2 = req(300, 25, 3);
        assert_eq!(c.convert(&mut r2), 0);
        assert_eq!(
            points(&r2, "c"),
            vec![(200, Value::AsInt(15), AggregationTemporality::Delta as i32)]
        );
    }

    #[test]
    fn counter_reset_emits_new_value() {
        let mut c = DeltaConverter::new(u64::MAX);
        c.convert(&mut req(200, 10, 0));
        let mut r = req(300, 4, 0);
        c.convert(&mut r);
        assert_eq!(points(&r, "c")[0].1, Value::AsInt(4));
    }

    #[test]
    fn duplicate_time_is_dropped() {
        let mut c = DeltaConverter::new(u64::MAX);
        c.convert(&mut req(200, 10, 0));
        let mut r = req(200, 10, 0);
        assert_eq!(c.convert(&mut r), 1);
    }
}
