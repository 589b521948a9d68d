//! The agent's HTTP server (loopback by default): `GET /health`, `GET /metrics` (the agent's
//! own metrics), `GET /status` (JSON), and the pages sinks publish (e.g. `/metrics/host`).

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lookout_pipeline::{Registry, Routes};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};
use tokio::net::TcpListener;

/// What the server reads.
pub struct AgentState {
    /// Self-metrics of every component.
    pub registry: Registry,
    /// Pages published by sinks.
    pub routes: Routes,
    /// When the agent started.
    pub started: Instant,
    /// Start time as Unix seconds.
    pub started_unix: f64,
    /// Hash of the running configuration.
    pub config_hash: RwLock<String>,
    /// Where the configuration came from.
    pub config_origin: String,
    /// Reloads applied.
    pub reloads_ok: AtomicU64,
    /// Reloads rejected.
    pub reloads_failed: AtomicU64,
    /// The data directory.
    pub data_dir: String,
    /// Auto-configuration's state (`null` when off): the discovered sources collected, the last
    /// scan, the recent changes.
    pub autoconfig: RwLock<serde_json::Value>,
    /// The host's recent figures (`/v1/host`).
    pub host: Arc<crate::hostwatch::HostWatch>,
    /// The configuration file the agent reads (`None`: the embedded default) and the `--set`
    /// overrides applied to it.
    pub config_file: Option<std::path::PathBuf>,
    /// `--set` overrides.
    pub config_set: Vec<String>,
    /// The configuration running now (file, discovered and added sources together).
    pub running: RwLock<Option<lookout_config::Config>>,
    /// The latest discovery: when (Unix seconds) and what.
    pub discovered: RwLock<Option<(u64, crate::autoconf::Discovered)>>,
    /// A temporary log level and its generation (a newer change cancels an older timer).
    pub log_level: std::sync::Mutex<(Option<lookout_api::LogLevelState>, u64)>,
    /// Requests to the agent's main loop.
    pub commands: std::sync::OnceLock<tokio::sync::mpsc::Sender<Command>>,
    /// The remote configuration poller's state (`null` when there is no `remote:`).
    pub remote: RwLock<serde_json::Value>,
    /// Discovery through Kubernetes pod annotations (`null` when `kubernetes:` is off).
    pub kubernetes: RwLock<serde_json::Value>,
}

/// What the control API asks of the agent's main loop (which owns the running pipeline); the
/// answer is the configuration hash running afterwards, or why nothing changed.
pub enum Command {
    /// Re-read the operator's choices (`autoconfig.json`, `sources.json`) and apply them.
    Recompose(tokio::sync::oneshot::Sender<Result<String, String>>),
    /// Re-read the configuration file and apply it (as SIGHUP does); `origin` goes to the
    /// configuration history.
    ReloadFile {
        /// The answer: the new configuration hash, or why it was refused.
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
        /// Why (`control: config apply`, `rollback to 3`...).
        origin: String,
    },
    /// Run a remote configuration whose signature was verified.
    ApplyRemote {
        /// The answer: the new configuration hash, or why it was refused.
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
        /// The configuration text.
        text: String,
        /// Its signed version.
        version: u64,
    },
}

impl AgentState {
    /// New state.
    pub fn new(
        registry: Registry,
        routes: Routes,
        config_hash: String,
        config_origin: String,
        data_dir: String,
    ) -> Self {
        AgentState {
            registry,
            routes,
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            config_hash: RwLock::new(config_hash),
            config_origin,
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            data_dir,
            autoconfig: RwLock::new(serde_json::Value::Null),
            remote: RwLock::new(serde_json::Value::Null),
            kubernetes: RwLock::new(serde_json::Value::Null),
            host: Arc::new(crate::hostwatch::HostWatch::default()),
            config_file: None,
            config_set: Vec::new(),
            running: RwLock::new(None),
            discovered: RwLock::new(None),
            log_level: std::sync::Mutex::new((None, 0)),
            commands: std::sync::OnceLock::new(),
        }
    }

    /// Asks the main loop to do something and waits for its answer.
    pub async fn command(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<Result<String, String>>) -> Command,
    ) -> Result<String, String> {
        let tx = self
            .commands
            .get()
            .ok_or_else(|| "the agent is starting; try again".to_string())?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.send(make(reply))
            .await
            .map_err(|_| "the agent is stopping".to_string())?;
        answer
            .await
            .map_err(|_| "the agent is stopping".to_string())?
    }

    /// Records an auto-configuration scan: the sources it collects and what changed (kept: the
    /// last 20 changes).
    pub fn autoconfig_scanned(&self, sources: &[String], changes: Vec<String>) {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if let Ok(mut a) = self.autoconfig.write() {
            let mut recent: Vec<serde_json::Value> =
                a["changes"].as_array().cloned().unwrap_or_default();
            recent.extend(
                changes
                    .into_iter()
                    .map(|c| json!({"unix": now, "change": c})),
            );
            let skip = recent.len().saturating_sub(20);
            *a = json!({
                "enabled": true,
                "last_scan_unix": now,
                "sources": sources,
                "changes": recent.split_off(skip),
            });
        }
    }

    /// The `/status` document.
    pub fn status_json(&self) -> serde_json::Value {
        let components = self.registry.snapshots();
        let healthy = components.iter().all(|c| c.healthy);
        let usage = crate::selfmetrics::own_usage();
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "pid": std::process::id(),
            "healthy": healthy,
            "uptime_secs": self.started.elapsed().as_secs_f64(),
            "config_hash": self.config_hash.read().map(|h| h.clone()).unwrap_or_default(),
            "config_origin": self.config_origin,
            "data_dir": self.data_dir,
            "reloads": {"applied": self.reloads_ok.load(Relaxed), "rejected": self.reloads_failed.load(Relaxed)},
            "process": {"cpu_seconds": usage.map(|u| u.0), "rss_bytes": usage.map(|u| u.1)},
            "pages": self.routes.paths(),
            "autoconfig": self.autoconfig.read().map(|a| a.clone()).unwrap_or_default(),
            "remote": self.remote.read().map(|a| a.clone()).unwrap_or_default(),
            "kubernetes": self.kubernetes.read().map(|a| a.clone()).unwrap_or_default(),
            "log_level": self.log_level.lock().ok().and_then(|l| l.0.clone()),
            "components": components,
            "stores": lookout_store::open_stores().iter().map(|s| {
                let (file, used) = s.measure();
                json!({
                    "path": s.path().display().to_string(),
                    "disk_bytes": file,
                    "used_bytes": used,
                    "rows_written": lookout_store::schema::TABLES.iter().zip(&s.stats.rows_written)
                        .map(|(t, n)| (t.name.to_string(), json!(n.load(Relaxed))))
                        .collect::<serde_json::Map<_, _>>(),
                    "rows_expired": s.stats.rows_expired.load(Relaxed),
                    "rows_evicted": s.stats.rows_evicted.load(Relaxed),
                    "write_errors": s.stats.write_errors.load(Relaxed),
                })
            }).collect::<Vec<_>>(),
        })
    }

    /// The `/health` answer: 200 when every component is healthy, else 503 naming them.
    pub fn health(&self) -> (StatusCode, serde_json::Value) {
        let bad = self.registry.unhealthy();
        if bad.is_empty() {
            (StatusCode::OK, json!({"status": "ok"}))
        } else {
            let failing: Vec<_> = bad
                .iter()
                .map(|c| {
                    json!({
                        "component": c.id,
                        "kind": c.kind,
                        "type": c.type_name,
                        "failing_for_secs": c.failing_for_secs,
                        "last_error": c.last_error,
                    })
                })
                .collect();
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "unhealthy", "failing": failing}),
            )
        }
    }
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

fn handle(state: &AgentState, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "only GET is supported\n".into(),
        );
    }
    const JSON: &str = "application/json";
    match req.uri().path() {
        "/health" => {
            let (code, body) = state.health();
            reply(code, JSON, format!("{body}\n"))
        }
        "/status" => reply(StatusCode::OK, JSON, format!("{}\n", state.status_json())),
        "/metrics" => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            crate::selfmetrics::render(
                &state.registry,
                state.started_unix,
                state.started.elapsed().as_secs_f64(),
                state.reloads_ok.load(Relaxed),
                state.reloads_failed.load(Relaxed),
            ) + &crate::kubernetes::metrics(
                &state
                    .kubernetes
                    .read()
                    .map(|k| k.clone())
                    .unwrap_or_default(),
            ),
        ),
        path => match state.routes.render(path) {
            Some(page) => reply(StatusCode::OK, page.content_type, page.body),
            None => reply(
                StatusCode::NOT_FOUND,
                "text/plain",
                format!(
                    "not found; try /health, /metrics, /status{}\n",
                    state
                        .routes
                        .paths()
                        .iter()
                        .map(|p| format!(", {p}"))
                        .collect::<String>()
                ),
            ),
        },
    }
}

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, state: Arc<AgentState>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let resp = handle(&state, &req);
                async move { Ok::<_, std::convert::Infallible>(resp) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!("HTTP connection ended: {e}");
            }
        });
    }
}
