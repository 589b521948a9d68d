//! A builder for OTLP log records (events such as process starts and exits).

use crate::otlp::{
    any_value::Value, AnyValue, ExportLogsServiceRequest, InstrumentationScope, KeyValue,
    LogRecord, Resource, ResourceLogs, ScopeLogs,
};

/// OTLP severity numbers lookout uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// DEBUG (5).
    Debug = 5,
    /// INFO (9).
    Info = 9,
    /// WARN (13).
    Warn = 13,
    /// ERROR (17).
    Error = 17,
}

impl Severity {
    fn text(self) -> &'static str {
        match self {
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
        }
    }
}

/// Builds one `ExportLogsServiceRequest` for one resource and scope.
#[derive(Debug)]
pub struct LogsBuilder {
    resource: Vec<KeyValue>,
    scope: InstrumentationScope,
    records: Vec<LogRecord>,
}

impl LogsBuilder {
    /// Starts a request.
    pub fn new(resource: Vec<KeyValue>, scope_name: &str, scope_version: &str) -> Self {
        LogsBuilder {
            resource,
            scope: InstrumentationScope {
                name: scope_name.to_string(),
                version: scope_version.to_string(),
                attributes: Vec::new(),
                dropped_attributes_count: 0,
            },
            records: Vec::new(),
        }
    }

    /// Adds a record with a text body and attributes; `time` is when it happened.
    pub fn record(
        &mut self,
        time: u64,
        severity: Severity,
        body: impl Into<String>,
        attributes: Vec<KeyValue>,
    ) {
        self.records.push(LogRecord {
            time_unix_nano: time,
            observed_time_unix_nano: crate::now_nanos(),
            severity_number: severity as i32,
            severity_text: severity.text().to_string(),
            body: Some(AnyValue {
                value: Some(Value::StringValue(body.into())),
            }),
            attributes,
            ..Default::default()
        });
    }

    /// Adds a record built elsewhere (e.g. by a log parser).
    pub fn push(&mut self, record: LogRecord) {
        self.records.push(record);
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when no record was added.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Finishes the request.
    pub fn finish(self) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: self.resource,
                    dropped_attributes_count: 0,
                    entity_refs: Vec::new(),
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(self.scope),
                    log_records: self.records,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{attr, Batch};

    #[test]
    fn builds_records() {
        let mut b = LogsBuilder::new(vec![attr::str("host.name", "h")], "s", "1");
        assert!(b.is_empty());
        b.record(
            5,
            Severity::Info,
            "hello",
            vec![attr::int("process.pid", 7)],
        );
        assert_eq!(b.len(), 1);
        let batch = Batch::Logs(b.finish());
        assert_eq!(batch.item_count(), 1);
        let json = batch.to_json().unwrap_or_default();
        assert!(json.contains("\"severityNumber\":9"), "{json}");
        assert!(json.contains("hello"));
    }
}
