//! Builders that assemble OTLP metrics without hand-written protobuf.

use crate::otlp::{
    metric::Data, number_data_point, AggregationTemporality, ExportMetricsServiceRequest, Gauge,
    InstrumentationScope, KeyValue, Metric, NumberDataPoint, Resource, ResourceMetrics,
    ScopeMetrics, Sum,
};

/// Whether a sum only ever goes up (a counter) or can go down (an up-down counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monotonic {
    /// A counter.
    Yes,
    /// An up-down counter.
    No,
}

/// Builds one `ExportMetricsServiceRequest` for one resource and one instrumentation scope.
///
/// ```
/// use lookout_model::{attr, MetricsBuilder, Monotonic};
/// let mut b = MetricsBuilder::new(vec![attr::str("host.name", "web-1")], "lookout/host", "0.1.0");
/// b.sum("system.cpu.time", "s", "CPU time", Monotonic::Yes)
///     .point_f64(1, 2, 12.5, &[("cpu", "cpu0"), ("state", "user")]);
/// let request = b.finish();
/// assert_eq!(request.resource_metrics[0].scope_metrics[0].metrics.len(), 1);
/// ```
#[derive(Debug)]
pub struct MetricsBuilder {
    resource: Vec<KeyValue>,
    scope_name: String,
    scope_version: String,
    metrics: Vec<Metric>,
}

/// Adds data points to the metric just started by [`MetricsBuilder::gauge`] or
/// [`MetricsBuilder::sum`].
#[derive(Debug)]
pub struct MetricBuilder<'a> {
    metric: &'a mut Metric,
}

impl MetricsBuilder {
    /// Starts a request for a resource (its attributes) and an instrumentation scope.
    pub fn new(
        resource: Vec<KeyValue>,
        scope_name: impl Into<String>,
        scope_version: impl Into<String>,
    ) -> Self {
        Self {
            resource,
            scope_name: scope_name.into(),
            scope_version: scope_version.into(),
            metrics: Vec::new(),
        }
    }

    /// Starts a gauge.
    pub fn gauge(&mut self, name: &str, unit: &str, description: &str) -> MetricBuilder<'_> {
        self.push(name, unit, description, Data::Gauge(Gauge::default()))
    }

    /// Starts a cumulative sum (the temporality a collector reading kernel counters produces;
    /// sinks convert to delta where a backend prefers it).
    pub fn sum(
        &mut self,
        name: &str,
        unit: &str,
        description: &str,
        monotonic: Monotonic,
    ) -> MetricBuilder<'_> {
        let sum = Sum {
            data_points: Vec::new(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: monotonic == Monotonic::Yes,
        };
        self.push(name, unit, description, Data::Sum(sum))
    }

    fn push(&mut self, name: &str, unit: &str, description: &str, data: Data) -> MetricBuilder<'_> {
        self.metrics.push(Metric {
            name: name.to_string(),
            description: description.to_string(),
            unit: unit.to_string(),
            metadata: Vec::new(),
            data: Some(data),
        });
        let idx = self.metrics.len() - 1;
        MetricBuilder {
            metric: &mut self.metrics[idx],
        }
    }

    /// Number of metrics added so far.
    pub fn len(&self) -> usize {
        self.metrics.len()
    }

    /// True when no metric was added.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// Finishes the request. Metrics that received no data point are dropped.
    pub fn finish(self) -> ExportMetricsServiceRequest {
        let metrics: Vec<Metric> = self
            .metrics
            .into_iter()
            .filter(|m| match &m.data {
                Some(Data::Gauge(g)) => !g.data_points.is_empty(),
                Some(Data::Sum(s)) => !s.data_points.is_empty(),
                Some(_) => true,
                None => false,
            })
            .collect();
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: self.resource,
                    dropped_attributes_count: 0,
                    entity_refs: Vec::new(),
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: self.scope_name,
                        version: self.scope_version,
                        attributes: Vec::new(),
                        dropped_attributes_count: 0,
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }
}

fn attributes(attrs: &[(&str, &str)]) -> Vec<KeyValue> {
    attrs
        .iter()
        .map(|(k, v)| crate::attr::str(*k, *v))
        .collect()
}

impl MetricBuilder<'_> {
    fn add(&mut self, point: NumberDataPoint) {
        match &mut self.metric.data {
            Some(Data::Gauge(g)) => g.data_points.push(point),
            Some(Data::Sum(s)) => s.data_points.push(point),
            _ => {}
        }
    }

    fn point(
        &mut self,
        start: u64,
        time: u64,
        value: number_data_point::Value,
        attrs: &[(&str, &str)],
    ) -> &mut Self {
        let is_sum = matches!(self.metric.data, Some(Data::Sum(_)));
        self.add(NumberDataPoint {
            attributes: attributes(attrs),
            start_time_unix_nano: if is_sum { start } else { 0 },
            time_unix_nano: time,
            exemplars: Vec::new(),
            flags: 0,
            value: Some(value),
        });
        self
    }

    /// Adds a floating-point point to a sum (`start` is the counter's start time).
    pub fn point_f64(
        &mut self,
        start: u64,
        time: u64,
        value: f64,
        attrs: &[(&str, &str)],
    ) -> &mut Self {
        self.point(
            start,
            time,
            number_data_point::Value::AsDouble(value),
            attrs,
        )
    }

    /// Adds an integer point to a sum (`start` is the counter's start time).
    pub fn point_i64(
        &mut self,
        start: u64,
        time: u64,
        value: i64,
        attrs: &[(&str, &str)],
    ) -> &mut Self {
        self.point(start, time, number_data_point::Value::AsInt(value), attrs)
    }

    /// Adds a floating-point point to a gauge.
    pub fn gauge_f64(&mut self, time: u64, value: f64, attrs: &[(&str, &str)]) -> &mut Self {
        self.point(0, time, number_data_point::Value::AsDouble(value), attrs)
    }

    /// Adds an integer point to a gauge.
    pub fn gauge_i64(&mut self, time: u64, value: i64, attrs: &[(&str, &str)]) -> &mut Self {
        self.point(0, time, number_data_point::Value::AsInt(value), attrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_metrics_are_dropped() {
        let mut b = MetricsBuilder::new(vec![], "s", "v");
        b.gauge("empty", "1", "");
        b.gauge("full", "1", "").gauge_i64(1, 2, &[]);
        assert_eq!(b.len(), 2);
        let r = b.finish();
        let ms = &r.resource_metrics[0].scope_metrics[0].metrics;
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].name, "full");
    }

    #[test]
    fn gauges_carry_no_start_time() {
        let mut b = MetricsBuilder::new(vec![], "s", "v");
        b.gauge("g", "1", "").point_f64(7, 9, 1.0, &[]);
        let r = b.finish();
        match &r.resource_metrics[0].scope_metrics[0].metrics[0].data {
            Some(Data::Gauge(g)) => {
                assert_eq!(g.data_points[0].start_time_unix_nano, 0);
                assert_eq!(g.data_points[0].time_unix_nano, 9);
            }
            other => panic!("not a gauge: {other:?}"),
        }
    }
}
