//! lookout's processors: synchronous transforms on the batch path.
//!
//! [`ResourceProcessor`] sets or deletes resource attributes on every batch it sees (metrics,
//! logs and traces alike). [`SampleProcessor`] head-samples traces by trace id (with an
//! optional per-service rate limit); [`RedactProcessor`] masks secrets and personal data in
//! logs, spans and (optionally) metric attributes, with its reusable core [`Redactor`] also
//! meant for log sources. All implement the same `lookout_pipeline::Processor` trait.
#![deny(missing_docs)]

pub mod filter;
pub mod redact;
pub mod sample;

pub use filter::FilterProcessor;
pub use redact::{RedactProcessor, Redactor};
pub use sample::{SampleProcessor, SampleStats};

use lookout_config::ResourceProcessorConfig;
use lookout_model::otlp::{KeyValue, Resource};
use lookout_model::{attr, Batch};
use lookout_pipeline::Processor;

/// Sets and deletes resource attributes.
#[derive(Debug, Clone)]
pub struct ResourceProcessor {
    set: Vec<KeyValue>,
    delete: Vec<String>,
}

impl ResourceProcessor {
    /// Builds the processor from its config.
    pub fn new(cfg: &ResourceProcessorConfig) -> Self {
        ResourceProcessor {
            set: cfg
                .set
                .iter()
                .map(|(k, v)| attr::str(k.as_str(), v.as_str()))
                .collect(),
            delete: cfg.delete.clone(),
        }
    }

    fn edit(&self, resource: &mut Option<Resource>) {
        let r = resource.get_or_insert_with(Resource::default);
        r.attributes.retain(|kv| !self.delete.contains(&kv.key));
        for kv in &self.set {
            match r.attributes.iter_mut().find(|a| a.key == kv.key) {
                Some(existing) => *existing = kv.clone(),
                None => r.attributes.push(kv.clone()),
            }
        }
    }
}

impl Processor for ResourceProcessor {
    fn process(&mut self, mut batch: Batch) -> Option<Batch> {
        match &mut batch {
            Batch::Metrics(r) => r
                .resource_metrics
                .iter_mut()
                .for_each(|x| self.edit(&mut x.resource)),
            Batch::Logs(r) => r
                .resource_logs
                .iter_mut()
                .for_each(|x| self.edit(&mut x.resource)),
            Batch::Traces(r) => r
                .resource_spans
                .iter_mut()
                .for_each(|x| self.edit(&mut x.resource)),
        }
        Some(batch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lookout_model::MetricsBuilder;

    #[test]
    fn sets_overrides_and_deletes() {
        let mut cfg = ResourceProcessorConfig::default();
        cfg.set.insert("env".into(), "prod".into());
        cfg.set.insert("host.name".into(), "renamed".into());
        cfg.delete.push("os.type".into());
        let mut p = ResourceProcessor::new(&cfg);
        let mut b = MetricsBuilder::new(
            vec![attr::str("host.name", "h"), attr::str("os.type", "linux")],
            "s",
            "1",
        );
        b.gauge("g", "1", "").gauge_i64(1, 1, &[]);
        let Some(Batch::Metrics(r)) = p.process(Batch::Metrics(b.finish())) else {
            panic!("dropped")
        };
        let attrs = &r.resource_metrics[0].resource.as_ref().unwrap().attributes;
        assert_eq!(attr::get_str(attrs, "host.name"), Some("renamed"));
        assert_eq!(attr::get_str(attrs, "env"), Some("prod"));
        assert_eq!(attr::get_str(attrs, "os.type"), None);
        assert_eq!(attrs.len(), 2);
    }
}
