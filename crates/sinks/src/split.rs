//! Splits a batch whose protobuf encoding exceeds a size limit (New Relic rejects requests over
//! 1 MB) into halves, recursively: by resource, then scope, then metric/record/span, then data
//! point. A single item that alone exceeds the limit is returned as is (the backend decides).

use lookout_model::otlp::ExportTraceServiceRequest;
use lookout_model::otlp::{metric::Data, ExportLogsServiceRequest, ExportMetricsServiceRequest};
use lookout_model::Batch;

/// Splits `batch` into batches of at most `max_bytes` encoded bytes where possible.
pub fn split(batch: Batch, max_bytes: usize) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut stack = vec![batch];
    while let Some(b) = stack.pop() {
        if b.encoded_len() <= max_bytes {
            out.push(b);
            continue;
        }
        match halve(&b) {
            Some((x, y)) => {
                stack.push(y);
                stack.push(x);
            }
            None => out.push(b),
        }
    }
    out
}

fn halve_vec<T: Clone>(v: &[T]) -> Option<(Vec<T>, Vec<T>)> {
    (v.len() > 1).then(|| {
        let mid = v.len() / 2;
        (v[..mid].to_vec(), v[mid..].to_vec())
    })
}

fn halve(b: &Batch) -> Option<(Batch, Batch)> {
    match b {
        Batch::Metrics(r) => halve_metrics(r).map(|(x, y)| (Batch::Metrics(x), Batch::Metrics(y))),
        Batch::Logs(r) => halve_logs(r).map(|(x, y)| (Batch::Logs(x), Batch::Logs(y))),
        Batch::Traces(r) => halve_traces(r).map(|(x, y)| (Batch::Traces(x), Batch::Traces(y))),
    }
}

fn halve_metrics(
    r: &ExportMetricsServiceRequest,
) -> Option<(ExportMetricsServiceRequest, ExportMetricsServiceRequest)> {
    let wrap = |rm| ExportMetricsServiceRequest {
        resource_metrics: rm,
    };
    if let Some((a, b)) = halve_vec(&r.resource_metrics) {
        return Some((wrap(a), wrap(b)));
    }
    let rm = r.resource_metrics.first()?;
    if let Some((a, b)) = halve_vec(&rm.scope_metrics) {
        let (mut x, mut y) = (rm.clone(), rm.clone());
        x.scope_metrics = a;
        y.scope_metrics = b;
        return Some((wrap(vec![x]), wrap(vec![y])));
    }
    let sm = rm.scope_metrics.first()?;
    let with_metrics = |ms| {
        let mut s = sm.clone();
        s.metrics = ms;
        let mut r = rm.clone();
        r.scope_metrics = vec![s];
        wrap(vec![r])
    };
    if let Some((a, b)) = halve_vec(&sm.metrics) {
        return Some((with_metrics(a), with_metrics(b)));
    }
    let m = sm.metrics.first()?;
    let (mut x, mut y) = (m.clone(), m.clone());
    macro_rules! split_points {
        ($xa:expr, $ya:expr, $src:expr) => {{
            let (a, b) = halve_vec(&$src.data_points)?;
            $xa.data_points = a;
            $ya.data_points = b;
        }};
    }
    match (&m.data, &mut x.data, &mut y.data) {
        (Some(Data::Gauge(s)), Some(Data::Gauge(xa)), Some(Data::Gauge(ya))) => {
            split_points!(xa, ya, s)
        }
        (Some(Data::Sum(s)), Some(Data::Sum(xa)), Some(Data::Sum(ya))) => split_points!(xa, ya, s),
        (Some(Data::Histogram(s)), Some(Data::Histogram(xa)), Some(Data::Histogram(ya))) => {
            split_points!(xa, ya, s)
        }
        (Some(Data::Summary(s)), Some(Data::Summary(xa)), Some(Data::Summary(ya))) => {
            split_points!(xa, ya, s)
        }
        (
            Some(Data::ExponentialHistogram(s)),
            Some(Data::ExponentialHistogram(xa)),
            Some(Data::ExponentialHistogram(ya)),
        ) => split_points!(xa, ya, s),
        _ => return None,
    }
    Some((with_metrics(vec![x]), with_metrics(vec![y])))
}

fn halve_logs(
    r: &ExportLogsServiceRequest,
) -> Option<(ExportLogsServiceRequest, ExportLogsServiceRequest)> {
    let wrap = |rl| ExportLogsServiceRequest { resource_logs: rl };
    if let Some((a, b)) = halve_vec(&r.resource_logs) {
        return Some((wrap(a), wrap(b)));
    }
    let rl = r.resource_logs.first()?;
    if let Some((a, b)) = halve_vec(&rl.scope_logs) {
        let (mut x, mut y) = (rl.clone(), rl.clone());
        x.scope_logs = a;
        y.scope_logs = b;
        return Some((wrap(vec![x]), wrap(vec![y])));
    }
    let sl = rl.scope_logs.first()?;
    let (a, b) = halve_vec(&sl.log_records)?;
    let with = |recs| {
        let mut s = sl.clone();
        s.log_records = recs;
        let mut r = rl.clone();
        r.scope_logs = vec![s];
        wrap(vec![r])
    };
    Some((with(a), with(b)))
}

fn halve_traces(
    r: &ExportTraceServiceRequest,
) -> Option<(ExportTraceServiceRequest, ExportTraceServiceRequest)> {
    let wrap = |rs| ExportTraceServiceRequest { resource_spans: rs };
    if let Some((a, b)) = halve_vec(&r.resource_spans) {
        return Some((wrap(a), wrap(b)));
    }
    let rs = r.resource_spans.first()?;
    if let Some((a, b)) = halve_vec(&rs.scope_spans) {
        let (mut x, mut y) = (rs.clone(), rs.clone());
        x.scope_spans = a;
        y.scope_spans = b;
        return Some((wrap(vec![x]), wrap(vec![y])));
    }
    let ss = rs.scope_spans.first()?;
    let (a, b) = halve_vec(&ss.spans)?;
    let with = |spans| {
        let mut s = ss.clone();
        s.spans = spans;
        let mut r = rs.clone();
        r.scope_spans = vec![s];
        wrap(vec![r])
    };
    Some((with(a), with(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_model::{attr, MetricsBuilder, Monotonic};

    #[test]
    fn splits_down_to_points_and_keeps_everything() {
        let mut b = MetricsBuilder::new(vec![attr::str("host.name", "h")], "s", "1");
        for m in 0..5 {
            let mut mb = b.sum(&format!("metric.{m}"), "By", "", Monotonic::Yes);
            for p in 0..200 {
                mb.point_i64(1, 2, p, &[("device", &format!("dev{p}"))]);
            }
        }
        let batch = Batch::Metrics(b.finish());
        let total = batch.item_count();
        assert!(batch.encoded_len() > 10_000);
        let parts = split(batch, 4_000);
        assert!(parts.len() > 3);
        assert!(parts.iter().all(|p| p.encoded_len() <= 4_000));
        assert_eq!(parts.iter().map(Batch::item_count).sum::<usize>(), total);
    }

    #[test]
    fn small_batch_untouched_and_giant_point_kept() {
        let mut b = MetricsBuilder::new(vec![], "s", "1");
        b.gauge("g", "1", "")
            .gauge_i64(1, 1, &[("big", &"x".repeat(5000))]);
        let batch = Batch::Metrics(b.finish());
        assert_eq!(split(batch.clone(), 1_000_000), vec![batch.clone()]);
        assert_eq!(split(batch.clone(), 100), vec![batch]);
    }
}
