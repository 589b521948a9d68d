//! Attribute limits of a backend, applied before export so nothing is silently pruned by the
//! backend in an order we do not choose. New Relic's documented OTLP limits: keys up to 255
//! characters, string values up to 4095, at most 64 resource attributes, 8 scope attributes and
//! 128 attributes per data point, log record or span. Over the count, semantic-convention
//! attributes (dotted lower-case names) are kept first.

use lookout_model::otlp::{any_value::Value, metric::Data, KeyValue};
use lookout_model::Batch;

/// Limits to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeLimits {
    /// Longest key kept.
    pub max_key_len: usize,
    /// Longest string value (longer ones are truncated).
    pub max_value_len: usize,
    /// Most resource attributes.
    pub max_resource: usize,
    /// Most scope attributes.
    pub max_scope: usize,
    /// Most attributes per point, record or span.
    pub max_item: usize,
}

impl AttributeLimits {
    /// New Relic's limits.
    pub const NEW_RELIC: AttributeLimits = AttributeLimits {
        max_key_len: 255,
        max_value_len: 4095,
        max_resource: 64,
        max_scope: 8,
        max_item: 128,
    };
}

fn is_semconv(key: &str) -> bool {
    key.contains('.')
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_' || b.is_ascii_digit())
}

/// Applies limits to one attribute list; returns how many attributes were dropped or truncated.
pub fn limit_attributes(attrs: &mut Vec<KeyValue>, max_count: usize, l: &AttributeLimits) -> usize {
    let mut changed = 0;
    let before = attrs.len();
    attrs.retain(|kv| kv.key.chars().count() <= l.max_key_len);
    changed += before - attrs.len();
    for kv in attrs.iter_mut() {
        if let Some(Value::StringValue(s)) = kv.value.as_mut().and_then(|v| v.value.as_mut()) {
            if s.chars().count() > l.max_value_len {
                let cut = s
                    .char_indices()
                    .nth(l.max_value_len)
                    .map(|(i, _)| i)
                    .unwrap_or(s.len());
                s.truncate(cut);
                changed += 1;
            }
        }
    }
    if attrs.len() > max_count {
        // stable: semantic-convention keys first, then the rest in their order
        attrs.sort_by_key(|kv| !is_semconv(&kv.key));
        changed += attrs.len() - max_count;
        attrs.truncate(max_count);
    }
    changed
}

/// Applies limits to every attribute list of a batch; returns the number of changes.
pub fn apply(batch: &mut Batch, l: &AttributeLimits) -> usize {
    let mut n = 0;
    match batch {
        Batch::Metrics(r) => {
            for rm in &mut r.resource_metrics {
                if let Some(res) = &mut rm.resource {
                    n += limit_attributes(&mut res.attributes, l.max_resource, l);
                }
                for sm in &mut rm.scope_metrics {
                    if let Some(s) = &mut sm.scope {
                        n += limit_attributes(&mut s.attributes, l.max_scope, l);
                    }
                    for m in &mut sm.metrics {
                        match &mut m.data {
                            Some(Data::Gauge(g)) => g.data_points.iter_mut().for_each(|p| {
                                n += limit_attributes(&mut p.attributes, l.max_item, l)
                            }),
                            Some(Data::Sum(g)) => g.data_points.iter_mut().for_each(|p| {
                                n += limit_attributes(&mut p.attributes, l.max_item, l)
                            }),
                            Some(Data::Histogram(g)) => g.data_points.iter_mut().for_each(|p| {
                                n += limit_attributes(&mut p.attributes, l.max_item, l)
                            }),
                            Some(Data::ExponentialHistogram(g)) => {
                                g.data_points.iter_mut().for_each(|p| {
                                    n += limit_attributes(&mut p.attributes, l.max_item, l)
                                })
                            }
                            Some(Data::Summary(g)) => g.data_points.iter_mut().for_each(|p| {
                                n += limit_attributes(&mut p.attributes, l.max_item, l)
                            }),
                            None => {}
                        }
                    }
                }
            }
        }
        Batch::Logs(r) => {
            for rl in &mut r.resource_logs {
                if let Some(res) = &mut rl.resource {
                    n += limit_attributes(&mut res.attributes, l.max_resource, l);
                }
                for sl in &mut rl.scope_logs {
                    for rec in &mut sl.log_records {
                        n += limit_attributes(&mut rec.attributes, l.max_item, l);
                    }
                }
            }
        }
        Batch::Traces(r) => {
            for rs in &mut r.resource_spans {
                if let Some(res) = &mut rs.resource {
                    n += limit_attributes(&mut res.attributes, l.max_resource, l);
                }
                for ss in &mut rs.scope_spans {
                    for sp in &mut ss.spans {
                        n += limit_attributes(&mut sp.attributes, l.max_item, l);
                    }
                }
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_model::attr;

    #[test]
    fn truncates_drops_and_prefers_semconv() {
        let l = AttributeLimits {
            max_key_len: 5,
            max_value_len: 3,
            max_resource: 2,
            max_scope: 1,
            max_item: 2,
        };
        let mut attrs = vec![
            attr::str("Custom", "x"),
            attr::str("toolongkey", "x"),
            attr::str("a.b", "abcdef"),
            attr::str("c.d", "é€😀x"),
        ];
        let n = limit_attributes(&mut attrs, 2, &l);
        // dropped "toolongkey" (key length) and "Custom" (count), truncated two values
        assert_eq!(n, 4);
        let keys: Vec<&str> = attrs.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, vec!["a.b", "c.d"]);
        assert_eq!(attr::get_str(&attrs, "a.b"), Some("abc"));
        assert_eq!(attr::get_str(&attrs, "c.d"), Some("é€😀"));
    }
}
