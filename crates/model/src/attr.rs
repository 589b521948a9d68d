//! Small helpers to build OTLP attributes (`KeyValue`) without spelling out the oneof.

use crate::otlp::{any_value::Value, AnyValue, KeyValue};

/// A string attribute.
pub fn str(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// An integer attribute.
pub fn int(key: impl Into<String>, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// A boolean attribute.
pub fn bool(key: impl Into<String>, value: bool) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::BoolValue(value)),
        }),
        ..Default::default()
    }
}

/// A floating-point attribute.
pub fn double(key: impl Into<String>, value: f64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::DoubleValue(value)),
        }),
        ..Default::default()
    }
}

/// Renders an attribute value as plain text (what a Prometheus label or a log line shows).
pub fn value_to_string(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BytesValue(b)) => b.iter().map(|x| format!("{x:02x}")).collect(),
        Some(Value::ArrayValue(a)) => {
            let parts: Vec<String> = a.values.iter().map(|v| value_to_string(Some(v))).collect();
            format!("[{}]", parts.join(","))
        }
        Some(Value::KvlistValue(l)) => {
            let parts: Vec<String> = l
                .values
                .iter()
                .map(|kv| format!("{}={}", kv.key, value_to_string(kv.value.as_ref())))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Some(Value::StringValueStrindex(i)) => i.to_string(),
    }
}

/// Looks up an attribute by key in a list.
pub fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// Looks up a string attribute by key.
pub fn get_str<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match get(attrs, key)?.value.as_ref()? {
        Value::StringValue(s) => Some(s.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_back() {
        let attrs = vec![str("host.name", "a"), int("n", 3), bool("b", true)];
        assert_eq!(get_str(&attrs, "host.name"), Some("a"));
        assert_eq!(get_str(&attrs, "n"), None);
        assert_eq!(value_to_string(get(&attrs, "n")), "3");
        assert_eq!(value_to_string(get(&attrs, "b")), "true");
        assert_eq!(value_to_string(get(&attrs, "missing")), "");
    }
}
