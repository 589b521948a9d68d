//! Builds concrete components from config entries: the one place that knows every source,
//! processor and sink type.

use lookout_config::{
    ProcessorConfig, ProcessorKind, SinkConfig, SinkKind, SourceConfig, SourceKind,
};
use lookout_pipeline::{BuildContext, Factory, Processor, Sink, Source};

/// The agent's factory.
pub struct AgentFactory;

impl Factory for AgentFactory {
    fn source(&self, cfg: &SourceConfig, cx: &BuildContext) -> Result<Box<dyn Source>, String> {
        match &cfg.kind {
            SourceKind::HostMetrics(c) => Ok(Box::new(
                lookout_sources::host::HostMetricsSource::new(c.clone(), cx.resource.clone())?,
            )),
            SourceKind::ProcessMetrics(c) => {
                Ok(Box::new(lookout_sources::ProcessMetricsSource::new(
                    c.clone(),
                    cx.resource.clone(),
                    &cx.routes,
                )?))
            }
            SourceKind::Statsd(c) => Ok(Box::new(lookout_receivers::statsd::StatsdSource::new(
                c,
                cx.resource.clone(),
            )?)),
            SourceKind::Otlp(c) => Ok(Box::new(lookout_receivers::otlp::OtlpSource::new(c)?)),
            SourceKind::Files(c) => Ok(Box::new(lookout_logs::FilesSource::new(
                &cfg.id,
                c.clone(),
                cx.resource.clone(),
                &cx.data_dir,
            )?)),
            SourceKind::Docker(c) => Ok(Box::new(lookout_logs::DockerSource::new(
                &cfg.id,
                c.clone(),
                cx.resource.clone(),
                &cx.data_dir,
            )?)),
            SourceKind::Redis(c) => Ok(Box::new(lookout_integrations::IntegrationSource::new(
                lookout_integrations::Service::Redis(c.clone()),
                with_attributes(&cx.resource, &c.attributes),
            )?)),
            SourceKind::Nginx(c) => Ok(Box::new(lookout_integrations::IntegrationSource::new(
                lookout_integrations::Service::Nginx(c.clone()),
                with_attributes(&cx.resource, &c.attributes),
            )?)),
            SourceKind::Apache(c) => Ok(Box::new(lookout_integrations::IntegrationSource::new(
                lookout_integrations::Service::Apache(c.clone()),
                with_attributes(&cx.resource, &c.attributes),
            )?)),
            SourceKind::Mysql(c) => Ok(Box::new(lookout_integrations::IntegrationSource::new(
                lookout_integrations::Service::Mysql(c.clone()),
                with_attributes(&cx.resource, &c.attributes),
            )?)),
            SourceKind::Postgresql(c) => {
                Ok(Box::new(lookout_integrations::IntegrationSource::new(
                    lookout_integrations::Service::Postgresql(c.clone()),
                    with_attributes(&cx.resource, &c.attributes),
                )?))
            }
            SourceKind::Journald(c) => Ok(Box::new(lookout_logs::JournaldSource::new(
                &cfg.id,
                c.clone(),
                cx.resource.clone(),
                &cx.data_dir,
            )?)),
        }
    }

    fn processor(
        &self,
        cfg: &ProcessorConfig,
        _cx: &BuildContext,
    ) -> Result<Box<dyn Processor>, String> {
        match &cfg.kind {
            ProcessorKind::Resource(c) => {
                Ok(Box::new(lookout_processors::ResourceProcessor::new(c)))
            }
            ProcessorKind::Sample(c) => Ok(Box::new(
                lookout_processors::sample::SampleProcessor::new(c),
            )),
            ProcessorKind::Redact(c) => Ok(Box::new(
                lookout_processors::redact::RedactProcessor::new(c)?,
            )),
            ProcessorKind::Filter(c) => Ok(Box::new(lookout_processors::FilterProcessor::new(c)?)),
        }
    }

    fn sink(&self, cfg: &SinkConfig, cx: &BuildContext) -> Result<Box<dyn Sink>, String> {
        match &cfg.kind {
            SinkKind::OtlpHttp(c) => Ok(Box::new(lookout_sinks::otlp_http::OtlpHttpSink::new(
                (**c).clone(),
                &cx.data_dir,
                &cfg.id,
            )?)),
            SinkKind::Prometheus(c) => Ok(Box::new(
                lookout_sinks::prometheus::PrometheusSink::new(c, &cx.routes),
            )),
            SinkKind::File(c) => Ok(Box::new(lookout_sinks::file::FileSink::new(c)?)),
            SinkKind::Duckdb(c) => Ok(Box::new(lookout_store::DuckdbSink::new(c, &cx.data_dir)?)),
        }
    }
}

/// The host resource plus a source's own `attributes` (which win over a host attribute of the
/// same key).
fn with_attributes(
    host: &std::sync::Arc<Vec<lookout_model::otlp::KeyValue>>,
    extra: &std::collections::BTreeMap<String, String>,
) -> std::sync::Arc<Vec<lookout_model::otlp::KeyValue>> {
    if extra.is_empty() {
        return host.clone();
    }
    let mut r: Vec<_> = host
        .iter()
        .filter(|kv| !extra.contains_key(&kv.key))
        .cloned()
        .collect();
    r.extend(
        extra
            .iter()
            .map(|(k, v)| lookout_model::attr::str(k.as_str(), v.as_str())),
    );
    std::sync::Arc::new(r)
}
