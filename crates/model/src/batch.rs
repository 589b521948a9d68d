//! [`Batch`]: the unit that moves through the pipeline.

use crate::otlp::{
    metric::Data, ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use prost::Message;

/// Which OpenTelemetry signal a batch carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Metrics.
    Metrics,
    /// Logs.
    Logs,
    /// Traces.
    Traces,
}

impl Signal {
    /// The lower-case name, as used in OTLP/HTTP paths (`/v1/metrics`).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
            Signal::Traces => "traces",
        }
    }
}

/// The number of data points of one metric (whatever its type).
pub fn metric_points(m: &crate::otlp::Metric) -> usize {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// One OTLP export request: what a source emits and a sink delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum Batch {
    /// A metrics export request.
    Metrics(ExportMetricsServiceRequest),
    /// A logs export request.
    Logs(ExportLogsServiceRequest),
    /// A traces export request.
    Traces(ExportTraceServiceRequest),
}

impl Batch {
    /// The signal of this batch.
    pub fn signal(&self) -> Signal {
        match self {
            Batch::Metrics(_) => Signal::Metrics,
            Batch::Logs(_) => Signal::Logs,
            Batch::Traces(_) => Signal::Traces,
        }
    }

    /// Number of items: data points for metrics, records for logs, spans for traces. Self-metrics
    /// count events in these units, as the OpenTelemetry Collector does.
    pub fn item_count(&self) -> usize {
        match self {
            Batch::Metrics(r) => r
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
                .map(metric_points)
                .sum(),
            Batch::Logs(r) => r
                .resource_logs
                .iter()
                .flat_map(|rl| &rl.scope_logs)
                .map(|sl| sl.log_records.len())
                .sum(),
            Batch::Traces(r) => r
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .map(|ss| ss.spans.len())
                .sum(),
        }
    }

    /// Appends `other` to this batch if both carry the same signal; otherwise gives it back.
    pub fn merge(&mut self, other: Batch) -> Result<(), Batch> {
        match (self, other) {
            (Batch::Metrics(a), Batch::Metrics(b)) => a.resource_metrics.extend(b.resource_metrics),
            (Batch::Logs(a), Batch::Logs(b)) => a.resource_logs.extend(b.resource_logs),
            (Batch::Traces(a), Batch::Traces(b)) => a.resource_spans.extend(b.resource_spans),
            (_, other) => return Err(other),
        }
        Ok(())
    }

    /// True when the batch carries no item at all.
    pub fn is_empty(&self) -> bool {
        self.item_count() == 0
    }

    /// Size of the protobuf encoding in bytes.
    pub fn encoded_len(&self) -> usize {
        match self {
            Batch::Metrics(r) => r.encoded_len(),
            Batch::Logs(r) => r.encoded_len(),
            Batch::Traces(r) => r.encoded_len(),
        }
    }

    /// The OTLP protobuf encoding (the body of an OTLP/HTTP request).
    pub fn encode_protobuf(&self) -> Vec<u8> {
        match self {
            Batch::Metrics(r) => r.encode_to_vec(),
            Batch::Logs(r) => r.encode_to_vec(),
            Batch::Traces(r) => r.encode_to_vec(),
        }
    }

    /// Decodes an OTLP protobuf body of the given signal.
    pub fn decode_protobuf(signal: Signal, bytes: &[u8]) -> Result<Batch, prost::DecodeError> {
        Ok(match signal {
            Signal::Metrics => Batch::Metrics(ExportMetricsServiceRequest::decode(bytes)?),
            Signal::Logs => Batch::Logs(ExportLogsServiceRequest::decode(bytes)?),
            Signal::Traces => Batch::Traces(ExportTraceServiceRequest::decode(bytes)?),
        })
    }

    /// The official OTLP/JSON encoding (camelCase names, hex trace ids, 64-bit integers as
    /// strings), on one line: what the `file` sink writes.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        match self {
            Batch::Metrics(r) => serde_json::to_string(r),
            Batch::Logs(r) => serde_json::to_string(r),
            Batch::Traces(r) => serde_json::to_string(r),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{attr, MetricsBuilder, Monotonic};

    fn sample() -> Batch {
        let mut b = MetricsBuilder::new(vec![attr::str("host.name", "h")], "test", "1");
        b.gauge("g", "1", "a gauge")
            .gauge_f64(5, 0.5, &[("k", "v")]);
        b.sum("s", "By", "a sum", Monotonic::Yes)
            .point_i64(1, 5, 10, &[])
            .point_i64(1, 5, 20, &[("k", "w")]);
        Batch::Metrics(b.finish())
    }

    #[test]
    fn counts_items() {
        assert_eq!(sample().item_count(), 3);
        assert_eq!(sample().signal(), Signal::Metrics);
        assert!(!sample().is_empty());
    }

    #[test]
    fn merges_same_signal_only() {
        let mut a = sample();
        a.merge(sample()).unwrap();
        assert_eq!(a.item_count(), 6);
        let logs = Batch::Logs(Default::default());
        assert!(a.merge(logs).is_err());
    }

    #[test]
    fn protobuf_roundtrip() {
        let b = sample();
        let bytes = b.encode_protobuf();
        assert_eq!(bytes.len(), b.encoded_len());
        assert_eq!(Batch::decode_protobuf(Signal::Metrics, &bytes).unwrap(), b);
        assert!(Batch::decode_protobuf(Signal::Metrics, b"\xff\xff\xff").is_err());
    }

    #[test]
    fn json_is_otlp_json() {
        let json = sample().to_json().unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let m = &v["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
        assert_eq!(m[0]["name"], "g");
        // 64-bit integers are strings in OTLP/JSON
        assert_eq!(m[0]["gauge"]["dataPoints"][0]["timeUnixNano"], "5");
        assert_eq!(m[1]["sum"]["isMonotonic"], true);
        assert_eq!(m[1]["sum"]["aggregationTemporality"], 2);
        assert_eq!(m[1]["sum"]["dataPoints"][0]["asInt"], "10");
    }
}
