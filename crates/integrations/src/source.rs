//! The collection loop shared by the integrations: one collection every `interval`, bounded by
//! `timeout`; a failure, or a collection that had to skip part of the server's statistics (a
//! missing privilege), marks the source failing (its last error in `/status`, unhealthy in
//! `/health` once it lasts longer than one interval), logged once, and collection resumes by
//! itself when the cause is gone (one line says it recovered).

use crate::apache::{apache_metrics_at, parse_server_status};
use crate::mysql::{collect_mysql, mysql_resource, MysqlConfigLite, Replication};
use crate::nginx::{nginx_metrics, parse_stub_status};
use crate::postgresql::{collect_postgresql, postgresql_resource, PgConfigLite};
use crate::redis::{
    parse_info, redis_metrics_at, redis_resource, RedisConn, RedisEndpoint, RedisError,
    RedisOptions,
};
use crate::StableStart;
use lookout_config::{HttpStatusConfig, MysqlConfig, PostgresqlConfig, RedisConfig};
use lookout_model::otlp::{any_value, AnyValue, KeyValue};
use lookout_model::{Batch, MetricsBuilder};
use lookout_pipeline::{BoxFuture, Source, SourceContext};
use std::sync::Arc;
use std::time::Duration;

/// Which server an integration reads.
#[derive(Debug, Clone)]
pub enum Service {
    /// A Redis server (`INFO everything`).
    Redis(RedisConfig),
    /// nginx's `stub_status` page.
    Nginx(HttpStatusConfig),
    /// Apache's `mod_status` page (`?auto`).
    Apache(HttpStatusConfig),
    /// A MySQL or MariaDB server.
    Mysql(MysqlConfig),
    /// A PostgreSQL server.
    Postgresql(PostgresqlConfig),
}

impl Service {
    /// `redis`, `nginx` or `apache`.
    pub fn name(&self) -> &'static str {
        match self {
            Service::Redis(_) => "redis",
            Service::Nginx(_) => "nginx",
            Service::Apache(_) => "apache",
            Service::Mysql(_) => "mysql",
            Service::Postgresql(_) => "postgresql",
        }
    }

    fn interval(&self) -> Duration {
        match self {
            Service::Redis(c) => c.interval.0,
            Service::Nginx(c) | Service::Apache(c) => c.interval.0,
            Service::Mysql(c) => c.interval.0,
            Service::Postgresql(c) => c.interval.0,
        }
    }

    fn timeout(&self) -> Duration {
        match self {
            Service::Redis(c) => c.timeout.0,
            Service::Nginx(c) | Service::Apache(c) => c.timeout.0,
            Service::Mysql(c) => c.timeout.0,
            Service::Postgresql(c) => c.timeout.0,
        }
    }

    /// The server's address as written in the config (passwords never appear here).
    pub fn endpoint(&self) -> String {
        match self {
            Service::Redis(c) => c.endpoint.clone(),
            Service::Nginx(c) | Service::Apache(c) => c.endpoint.0.to_string(),
            Service::Mysql(c) => c.endpoint.clone(),
            Service::Postgresql(c) => c.endpoint.clone(),
        }
    }
}

/// Why a collection failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectError {
    /// `connect`, `timeout`, `auth`, `server`, `protocol`, `http`, `parse`.
    pub kind: &'static str,
    /// What happened, for a human (no secret in it).
    pub message: String,
    /// What to do about it, when known.
    pub hint: Option<String>,
}

impl std::fmt::Display for CollectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CollectError {}

fn kv(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.to_string())),
        }),
        ..Default::default()
    }
}

/// What a collection could not read, for `check` and `diagnose` (with the fix when known).
pub type Notes = Vec<String>;

/// Counter start times across collections (nginx has no uptime: its counters start when the
/// integration first saw them, and again when they go backwards, i.e. the server restarted).
#[derive(Debug, Default)]
pub struct CollectState {
    start_nanos: Option<u64>,
    last_requests: u64,
    /// Redis and Apache: now - uptime, kept stable across collections.
    stable: StableStart,
    /// What the last collection skipped and why (a missing privilege and its GRANT).
    pub notes: Notes,
}

/// One integration instance.
pub struct Integration {
    service: Service,
    resource: Vec<KeyValue>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Integration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integration")
            .field("service", &self.service.name())
            .field("endpoint", &self.service.endpoint())
            .finish()
    }
}

impl Integration {
    /// An integration for `service`; `host` is the host resource (the service's own
    /// attributes are added: `service.name`, `server.address`, `server.port`).
    pub fn new(service: Service, host: &[KeyValue]) -> Result<Integration, String> {
        let mut resource = host.to_vec();
        resource.push(kv("service.name", service.name()));
        match &service {
            Service::Redis(c) => match RedisEndpoint::parse(&c.endpoint)? {
                RedisEndpoint::Tcp(a) => {
                    if let Some((h, p)) = a.rsplit_once(':') {
                        resource.push(kv("server.address", h.trim_matches(['[', ']'])));
                        resource.push(kv("server.port", p));
                    }
                }
                RedisEndpoint::Unix(p) => resource.push(kv("server.address", &p.to_string_lossy())),
            },
            Service::Mysql(c) => endpoint_attrs(&c.endpoint, &mut resource),
            Service::Postgresql(c) => endpoint_attrs(&c.endpoint, &mut resource),
            Service::Nginx(c) | Service::Apache(c) => {
                if let Some(h) = c.endpoint.0.host_str() {
                    resource.push(kv("server.address", h));
                }
                if let Some(p) = c.endpoint.0.port_or_known_default() {
                    resource.push(kv("server.port", &p.to_string()));
                }
            }
        }
        let http = reqwest::Client::builder()
            .timeout(service.timeout())
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Integration {
            service,
            resource,
            http,
        })
    }

    /// The service.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// One collection, bounded by the configured timeout.
    pub async fn collect(&self, state: &mut CollectState) -> Result<Batch, CollectError> {
        let limit = self.service.timeout();
        match tokio::time::timeout(limit, self.collect_inner(state)).await {
            Ok(r) => r,
            Err(_) => Err(CollectError {
                kind: "timeout",
                message: format!(
                    "{} at {} did not answer within {limit:?}",
                    self.service.name(),
                    self.service.endpoint()
                ),
                hint: None,
            }),
        }
    }

    async fn get(&self, c: &HttpStatusConfig, what: &str) -> Result<String, CollectError> {
        let url = c.endpoint.0.clone();
        let resp = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| CollectError {
                kind: if e.is_timeout() { "timeout" } else { "connect" },
                message: format!("cannot read {url}: {}", error_chain(&e)),
                hint: None,
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(CollectError {
                kind: "http",
                message: format!("{url} answered HTTP {}", status.as_u16()),
                hint: Some(format!(
                    "is {what} enabled at this location and allowed from this host?"
                )),
            });
        }
        let body = resp.bytes().await.map_err(|e| CollectError {
            kind: "connect",
            message: format!("cannot read {url}: {}", error_chain(&e)),
            hint: None,
        })?;
        if body.len() > 1 << 20 {
            return Err(CollectError {
                kind: "parse",
                message: format!(
                    "{url} answered {} bytes; a status page is a few hundred",
                    body.len()
                ),
                hint: Some(format!("does the endpoint point at {what}?")),
            });
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    async fn collect_inner(&self, state: &mut CollectState) -> Result<Batch, CollectError> {
        let now = lookout_model::now_nanos();
        let scope = format!("lookout.integrations.{}", self.service.name());
        let version = env!("CARGO_PKG_VERSION");
        state.notes.clear();
        let b = match &self.service {
            Service::Mysql(c) => {
                let lite = MysqlConfigLite {
                    endpoint: c.endpoint.clone(),
                    username: c.username.clone(),
                    password: c.password.clone(),
                    timeout: c.timeout.0,
                    table_sizes: c.table_sizes,
                };
                let mut b = MetricsBuilder::new(self.resource.clone(), &scope, version);
                let info = collect_mysql(&lite, &mut b, now, &mut state.stable)
                    .await
                    .map_err(|e| CollectError {
                        kind: e.kind(),
                        hint: e.hint(),
                        message: e.to_string(),
                    })?;
                if let Replication::Skipped { reason, hint } = &info.replication {
                    state.notes.push(format!(
                        "replication status not read: {reason}; fix: {hint}"
                    ));
                }
                let mut batch = Batch::Metrics(b.finish());
                add_resource(&mut batch, mysql_resource(&c.endpoint, Some(&info)));
                return Ok(batch);
            }
            Service::Postgresql(c) => {
                let lite = PgConfigLite {
                    endpoint: c.endpoint.clone(),
                    username: c.username.clone(),
                    password: c.password.clone(),
                    databases: c.databases.clone(),
                    timeout: c.timeout.0,
                    max_tables: c.max_tables,
                };
                let mut b = MetricsBuilder::new(self.resource.clone(), &scope, version);
                let info = collect_postgresql(&lite, &mut b, now, &mut state.stable)
                    .await
                    .map_err(|e| CollectError {
                        kind: e.kind(),
                        hint: e.hint(),
                        message: e.to_string(),
                    })?;
                state.notes.extend(info.notes.iter().cloned());
                let mut batch = Batch::Metrics(b.finish());
                add_resource(&mut batch, postgresql_resource(Some(&info)));
                return Ok(batch);
            }
            Service::Redis(c) => {
                let ep = RedisEndpoint::parse(&c.endpoint).map_err(|e| CollectError {
                    kind: "config",
                    message: e,
                    hint: None,
                })?;
                let mut conn = RedisConn::connect(
                    &ep,
                    c.username.as_deref(),
                    c.password.as_deref(),
                    c.timeout.0,
                )
                .await
                .map_err(redis_error)?;
                let text = conn.info().await.map_err(redis_error)?;
                let info = parse_info(&text);
                let mut res = self.resource.clone();
                res.extend(redis_resource(&info));
                let mut b = MetricsBuilder::new(res, &scope, version);
                let start = state.stable.resolve(info.start_nanos(now)).unwrap_or(0);
                redis_metrics_at(
                    &info,
                    &mut b,
                    now,
                    start,
                    &RedisOptions {
                        max_commands: c.max_commands,
                    },
                );
                b
            }
            Service::Nginx(c) => {
                let text = self.get(c, "stub_status").await?;
                let s = parse_stub_status(&text).map_err(|e| CollectError {
                    kind: "parse",
                    message: format!("{} is not a stub_status page: {e}", c.endpoint.0),
                    hint: Some("point `endpoint` at the location with `stub_status;`".into()),
                })?;
                let start = match state.start_nanos {
                    Some(t) if s.requests >= state.last_requests => t,
                    _ => now,
                };
                state.start_nanos = Some(start);
                state.last_requests = s.requests;
                let mut b = MetricsBuilder::new(self.resource.clone(), &scope, version);
                nginx_metrics(&s, &mut b, now, start);
                b
            }
            Service::Apache(c) => {
                let text = self.get(c, "mod_status (`?auto`)").await?;
                let s = parse_server_status(&text).map_err(|e| CollectError {
                    kind: "parse",
                    message: format!("{} is not a mod_status `?auto` page: {e}", c.endpoint.0),
                    hint: Some("point `endpoint` at /server-status?auto".into()),
                })?;
                let mut b = MetricsBuilder::new(self.resource.clone(), &scope, version);
                let start = state.stable.resolve(s.start_nanos(now)).unwrap_or(0);
                apache_metrics_at(&s, &mut b, now, start);
                b
            }
        };
        Ok(Batch::Metrics(b.finish()))
    }
}

/// `server.address` and `server.port` of a `host:port` or socket-path endpoint.
fn endpoint_attrs(endpoint: &str, resource: &mut Vec<KeyValue>) {
    let e = endpoint.trim_start_matches("unix://");
    if e.starts_with('/') {
        resource.push(kv("server.address", e));
    } else if let Some((h, p)) = e.rsplit_once(':').filter(|(_, p)| p.parse::<u16>().is_ok()) {
        resource.push(kv("server.address", h.trim_matches(['[', ']'])));
        resource.push(kv("server.port", p));
    } else {
        resource.push(kv("server.address", e));
    }
}

/// Adds resource attributes to a finished request (they are learnt during the collection).
fn add_resource(batch: &mut Batch, attrs: Vec<KeyValue>) {
    if let Batch::Metrics(r) = batch {
        for rm in &mut r.resource_metrics {
            if let Some(res) = rm.resource.as_mut() {
                res.attributes.extend(attrs.iter().cloned());
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn redis_error(e: RedisError) -> CollectError {
    let kind = e.kind();
    let hint = match kind {
        "auth" => Some("check `username` and `password` (the password is read from the environment variable the config names)".to_string()),
        "connect" => Some("is redis-server running and listening there?".to_string()),
        _ => None,
    };
    CollectError {
        kind,
        message: e.to_string(),
        hint,
    }
}

/// An integration as a pipeline source.
pub struct IntegrationSource {
    integration: Integration,
}

impl IntegrationSource {
    /// A source for `service` with the host resource.
    pub fn new(service: Service, host: Arc<Vec<KeyValue>>) -> Result<IntegrationSource, String> {
        Ok(IntegrationSource {
            integration: Integration::new(service, &host)?,
        })
    }
}

impl Source for IntegrationSource {
    fn run(self: Box<Self>, mut cx: SourceContext) -> BoxFuture {
        Box::pin(async move {
            let i = self.integration;
            let mut state = CollectState::default();
            let mut tick = tokio::time::interval(i.service.interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cx.shutdown.wait() => break,
                    _ = tick.tick() => {}
                }
                match i.collect(&mut state).await {
                    // a partial collection (a view the user may not read) is sent, and the
                    // source stays failing with the fix until the cause is gone
                    Ok(batch) if !state.notes.is_empty() => {
                        cx.stats.record_failure(&state.notes.join("; "));
                        cx.out.send(batch).await;
                    }
                    Ok(batch) => {
                        cx.stats.record_success();
                        cx.out.send(batch).await;
                    }
                    Err(e) => cx.stats.record_failure(&e.to_string()),
                }
            }
        })
    }

    /// A failing integration is reported unhealthy after a few intervals (at least 1 s).
    fn health_threshold(&self) -> Duration {
        (self.integration.service.interval() * 2).max(Duration::from_secs(1))
    }
}
