//! The local control socket: `<data_dir>/control.sock`, HTTP/1.1 over a Unix socket, owner-only
//! (0600 in a 0700 directory) and checking the peer's credentials (the agent's own user or
//! root). It serves the control API whose types and paths are in `lookout_api` (version 1):
//! status, host figures, processes, discovered services, log sources and their live tail,
//! redaction trials, the configuration (view, check, apply), the log level, and SQL on the
//! store. The CLI and the terminal UI are its clients.

use crate::runtime_sources::{self, Added, RuntimeSources};
use crate::server::{AgentState, Command};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lookout_api::{self as api, paths};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The socket's path in a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(api::SOCKET_NAME)
}

type Reply = Response<Full<Bytes>>;

fn json(status: StatusCode, v: &serde_json::Value) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(format!("{v}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn ok<T: serde::Serialize>(v: &T) -> Reply {
    match serde_json::to_value(v) {
        Ok(v) => json(StatusCode::OK, &v),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode: {e}"),
        ),
    }
}

fn error(status: StatusCode, msg: impl Into<String>) -> Reply {
    json(status, &serde_json::json!({"error": msg.into()}))
}

async fn body<T: serde::de::DeserializeOwned>(req: Request<Incoming>) -> Result<T, Reply> {
    let b = Limited::new(req.into_body(), 4 << 20)
        .collect()
        .await
        .map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request: {e}"),
            )
        })?
        .to_bytes();
    serde_json::from_slice(&b)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid request: {e}")))
}

fn query_param(req: &Request<Incoming>, key: &str) -> Option<String> {
    query_value(req.uri().query()?, key)
}

/// A value of a query string, percent-decoded.
fn query_value(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn data_dir(state: &AgentState) -> PathBuf {
    PathBuf::from(&state.data_dir)
}

fn running(state: &AgentState) -> Option<lookout_config::Config> {
    state.running.read().ok().and_then(|c| c.clone())
}

async fn handle(state: Arc<AgentState>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_string();
    match (req.method().clone(), path.as_str()) {
        (Method::GET, paths::STATUS) => json(StatusCode::OK, &state.status_json()),
        (Method::GET, paths::HOST) => ok(&state.host.history()),
        (Method::GET, paths::PROCESSES) => match state.routes.render("/processes") {
            Some(p) => {
                let mut r = Response::new(Full::new(Bytes::from(p.body)));
                r.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("application/json"),
                );
                r
            }
            None => error(
                StatusCode::NOT_FOUND,
                "this agent runs no process_metrics source: add one to see processes",
            ),
        },
        (Method::GET, paths::SERVICES) => ok(&services(&state).await),
        (Method::POST, paths::SERVICES_ENABLE) | (Method::POST, paths::SERVICES_DISABLE) => {
            let a: api::ServiceAction = match body(req).await {
                Ok(a) => a,
                Err(r) => return r,
            };
            set_service(&state, &a.id, path == paths::SERVICES_ENABLE).await
        }
        (Method::GET, paths::LOG_SOURCES) => ok(&log_sources(&state)),
        (Method::POST, paths::LOG_SOURCES) => match body(req).await {
            Ok(a) => add_source(&state, a).await,
            Err(r) => r,
        },
        (Method::POST, paths::LOG_SOURCES_REMOVE)
        | (Method::POST, paths::LOG_SOURCES_PAUSE)
        | (Method::POST, paths::LOG_SOURCES_RESUME) => {
            let a: api::SourceAction = match body(req).await {
                Ok(a) => a,
                Err(r) => return r,
            };
            source_op(&state, &a.id, &path).await
        }
        (Method::GET, paths::LOG_TAIL) => {
            let Some(source) = query_param(&req, "source") else {
                return error(StatusCode::BAD_REQUEST, "give ?source=ID");
            };
            let after = query_param(&req, "after")
                .and_then(|a| a.parse().ok())
                .unwrap_or(0);
            let known = state.running.read().is_ok_and(|c| {
                c.as_ref()
                    .is_some_and(|c| c.sources.iter().any(|s| s.id == source))
            });
            if !known {
                return error(
                    StatusCode::NOT_FOUND,
                    format!("no source `{source}` runs in this agent"),
                );
            }
            let (lines, next, missed) = lookout_pipeline::taps::taps().read(&source, after);
            ok(&api::Tail {
                source,
                next,
                missed,
                lines: lines
                    .into_iter()
                    .map(|l| api::TailLine {
                        seq: l.seq,
                        unix: l.unix,
                        severity: l.severity,
                        body: l.body,
                    })
                    .collect(),
            })
        }
        (Method::POST, paths::REDACT_TRY) => match body::<api::RedactTry>(req).await {
            Ok(t) => match redact_try(&t) {
                Ok(r) => ok(&r),
                Err(e) => error(StatusCode::BAD_REQUEST, e),
            },
            Err(r) => r,
        },
        (Method::GET, paths::CONFIG) => ok(&config_view(&state)),
        (Method::POST, paths::CONFIG_CHECK) | (Method::POST, paths::CONFIG_APPLY) => {
            let c: api::ConfigChange = match body(req).await {
                Ok(c) => c,
                Err(r) => return r,
            };
            config_change(&state, &c, path == paths::CONFIG_APPLY).await
        }
        (Method::POST, paths::CONFIG_RELOAD) => match state
            .command(|reply| Command::ReloadFile {
                reply,
                origin: "control: reload".into(),
            })
            .await
        {
            Ok(h) => action(true, format!("configuration reloaded: {h}"), Some(h)),
            Err(e) => action(false, e, None),
        },
        (Method::POST, paths::LOG_LEVEL) => match body::<api::LogLevel>(req).await {
            Ok(l) => log_level(&state, &l),
            Err(r) => r,
        },
        (Method::POST, paths::QUERY) => match body::<api::QueryRequest>(req).await {
            Ok(q) => query(q).await,
            Err(r) => r,
        },
        _ => error(
            StatusCode::NOT_FOUND,
            format!(
                "unknown path {} {path}: this agent serves the control API {} (see docs/control-api.md)",
                req.method(),
                api::VERSION
            ),
        ),
    }
}

async fn query(q: api::QueryRequest) -> Reply {
    let r = tokio::task::spawn_blocking(move || {
        let store = lookout_store::open_stores()
            .into_iter()
            .next()
            .ok_or_else(|| {
                "this agent has no store: add a sink of type duckdb to its configuration"
                    .to_string()
            })?;
        let conn = store.connection()?;
        lookout_store::query::run(
            &conn,
            &q.sql,
            q.limit.clamp(1, 1_000_000),
            Duration::from_millis(q.timeout_ms.clamp(100, 600_000)),
        )
    })
    .await
    .unwrap_or_else(|e| Err(format!("the query failed: {e}")));
    match r {
        Ok(res) => ok(&res),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The latest discovery: the agent's own when auto-configuration runs, else a scan made for
/// this request (kept 10 s, so a screen refreshing does not rescan the host each time).
async fn discovered(state: &AgentState) -> Result<(u64, crate::autoconf::Discovered), String> {
    let cfg = running(state);
    // the agent's own discovery when it runs one (host services, annotated pods)
    let own = cfg
        .as_ref()
        .is_some_and(|c| c.settings.autoconfig.enabled || c.settings.kubernetes.enabled);
    if let Some((at, d)) = state.discovered.read().ok().and_then(|d| d.clone()) {
        if own || now_unix().saturating_sub(at) < 10 {
            return Ok((at, d));
        }
    }
    let host = cfg.map(|c| c.settings.host).unwrap_or_default();
    let d = tokio::task::spawn_blocking(move || crate::autoconf::discover_at(&host))
        .await
        .map_err(|e| format!("discovery failed: {e}"))??;
    let at = now_unix();
    if let Ok(mut w) = state.discovered.write() {
        *w = Some((at, d.clone()));
    }
    Ok((at, d))
}

/// The discovered services as the API shows them.
pub fn service_rows(
    d: &crate::autoconf::Discovered,
    overrides: &crate::autoconf::Overrides,
    running: Option<&lookout_config::Config>,
) -> Vec<api::Service> {
    d.services
        .iter()
        .map(|s| {
            let id = s
                .configured()
                .then(|| lookout_discovery::render::source_id(&s.instance));
            let mine: Vec<lookout_config::SourceConfig> = id
                .as_ref()
                .map(|id| {
                    d.sources
                        .iter()
                        .filter(|src| crate::autoconf::belongs(&src.id, id))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let preview = running
                .map(|c| {
                    let mut only = c.clone();
                    only.sources = mine.clone();
                    only.processors.clear();
                    only.sinks.clear();
                    let y = lookout_config::to_yaml(&only);
                    y.split_once("sources:")
                        .map(|(_, rest)| {
                            let body: String = rest
                                .lines()
                                .take_while(|l| l.is_empty() || l.starts_with(' '))
                                .map(|l| format!("{l}\n"))
                                .collect();
                            format!("sources:{body}")
                        })
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            api::Service {
                instance: s.instance.clone(),
                product: s.kind.as_str().to_string(),
                confidence: s.confidence,
                reasons: s.reasons.clone(),
                collecting: id.as_ref().is_some_and(|id| {
                    running.is_some_and(|c| c.sources.iter().any(|x| &x.id == id))
                }),
                disabled: id.as_ref().is_some_and(|id| overrides.is_disabled(id)),
                source_id: id,
                preview,
                skipped: s.limits.clone(),
            }
        })
        .collect()
}

async fn services(state: &AgentState) -> api::Services {
    let cfg = running(state);
    let overrides = crate::autoconf::Overrides::load(&data_dir(state)).unwrap_or_default();
    match discovered(state).await {
        Ok((at, d)) => api::Services {
            autoconfig: cfg.as_ref().is_some_and(|c| c.settings.autoconfig.enabled),
            scanned_unix: at,
            services: service_rows(&d, &overrides, cfg.as_ref()),
        },
        Err(e) => {
            tracing::warn!("control: {e}");
            api::Services::default()
        }
    }
}

async fn recompose(state: &AgentState) -> Result<String, String> {
    state.command(Command::Recompose).await
}

fn action(ok: bool, message: impl Into<String>, hash: Option<String>) -> Reply {
    let r = api::ActionResult {
        ok,
        message: message.into(),
        config_hash: hash,
    };
    if ok {
        self::ok(&r)
    } else {
        json(
            StatusCode::CONFLICT,
            &serde_json::json!({"error": r.message, "ok": false}),
        )
    }
}

async fn set_service(state: &AgentState, id: &str, enable: bool) -> Reply {
    let dir = data_dir(state);
    let id = if id.starts_with("auto_") {
        id.to_string()
    } else {
        lookout_discovery::render::source_id(id)
    };
    let mut o = match crate::autoconf::Overrides::load(&dir) {
        Ok(o) => o,
        Err(e) => return action(false, e, None),
    };
    let before = o.clone();
    let changed = if enable {
        o.disabled.remove(&id)
    } else {
        o.disabled.insert(id.clone())
    };
    if !changed {
        let what = if enable { "enabled" } else { "disabled" };
        return action(true, format!("{id} is {what} already"), None);
    }
    if let Err(e) = o.save(&dir) {
        return action(false, e, None);
    }
    let autoconfig = running(state).is_some_and(|c| c.settings.autoconfig.enabled);
    match recompose(state).await {
        Ok(hash) => {
            let msg = match (enable, autoconfig) {
                (true, true) => format!("{id} enabled: collected from now on"),
                (false, true) => format!("{id} disabled: no longer collected"),
                (true, false) => format!("{id} enabled (auto-configuration is off in this agent: set autoconfig.enabled to collect discovered services)"),
                (false, false) => format!("{id} disabled"),
            };
            crate::datadir::audit(&dir, "service", &msg);
            action(true, msg, Some(hash))
        }
        Err(e) => {
            let _ = before.save(&dir);
            action(false, e, None)
        }
    }
}

fn log_sources(state: &AgentState) -> api::LogSources {
    let rt = RuntimeSources::load(&data_dir(state)).unwrap_or_default();
    // read in place: this is polled every 2 s by an open UI
    let cfg = state.running.read();
    let snaps = state.registry.snapshots();
    let records = |id: &str| {
        snaps
            .iter()
            .find(|s| s.id == id)
            .map_or(0, |s| s.sent_items)
    };
    let mut out: Vec<api::LogSource> = Vec::new();
    if let Some(c) = cfg.as_ref().ok().and_then(|c| c.as_ref()) {
        for s in c
            .sources
            .iter()
            .filter(|s| runtime_sources::is_log_source(&s.kind))
        {
            let include = match &s.kind {
                lookout_config::SourceKind::Files(f) => f.include.clone(),
                _ => Vec::new(),
            };
            out.push(api::LogSource {
                id: s.id.clone(),
                type_name: s.kind.type_name().to_string(),
                include,
                origin: origin_of(&s.id, &rt),
                paused: false,
                records: records(&s.id),
            });
        }
    }
    for id in &rt.paused {
        if out.iter().any(|s| &s.id == id) {
            continue;
        }
        out.push(api::LogSource {
            id: id.clone(),
            type_name: "files".into(),
            include: rt
                .added
                .get(id)
                .map(|a| a.include.clone())
                .unwrap_or_default(),
            origin: origin_of(id, &rt),
            paused: true,
            records: 0,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    api::LogSources { sources: out }
}

fn origin_of(id: &str, rt: &RuntimeSources) -> String {
    if rt.added.contains_key(id) {
        "added"
    } else if id.starts_with("auto_") {
        "discovered"
    } else {
        "config"
    }
    .to_string()
}

/// Saves `rt`, asks the main loop to apply it, and puts the old file back if that fails.
async fn save_and_apply(
    state: &AgentState,
    before: &RuntimeSources,
    rt: &RuntimeSources,
) -> Result<String, String> {
    let dir = data_dir(state);
    rt.save(&dir)?;
    match recompose(state).await {
        Ok(h) => Ok(h),
        Err(e) => {
            let _ = before.save(&dir);
            Err(e)
        }
    }
}

async fn add_source(state: &AgentState, a: api::AddLogSource) -> Reply {
    let dir = data_dir(state);
    let mut rt = match RuntimeSources::load(&dir) {
        Ok(r) => r,
        Err(e) => return action(false, e, None),
    };
    let Some(cfg) = running(state) else {
        return action(false, "the agent is starting; try again", None);
    };
    let added = Added {
        include: a.include,
        exclude: a.exclude,
        start_at: a.start_at,
    };
    if let Err(e) = rt.check_new(&a.id, &added, &cfg) {
        return action(false, e, None);
    }
    let before = rt.clone();
    let paths = added.include.join(", ");
    rt.added.insert(a.id.clone(), added);
    match save_and_apply(state, &before, &rt).await {
        Ok(h) => {
            let msg = format!("log source {} added: reading {paths}", a.id);
            crate::datadir::audit(&dir, "logs", &msg);
            action(true, msg, Some(h))
        }
        Err(e) => action(false, e, None),
    }
}

async fn source_op(state: &AgentState, id: &str, path: &str) -> Reply {
    let dir = data_dir(state);
    let mut rt = match RuntimeSources::load(&dir) {
        Ok(r) => r,
        Err(e) => return action(false, e, None),
    };
    let before = rt.clone();
    let cfg = running(state);
    let is_log = cfg.as_ref().is_some_and(|c| {
        c.sources
            .iter()
            .any(|s| s.id == id && runtime_sources::is_log_source(&s.kind))
    });
    let msg = match path {
        paths::LOG_SOURCES_REMOVE => {
            if rt.added.remove(id).is_none() {
                return action(false, format!("{id} was not added at run time: only those can be removed here (edit the configuration for the others, or pause it)"), None);
            }
            rt.paused.remove(id);
            format!("log source {id} removed")
        }
        paths::LOG_SOURCES_PAUSE => {
            if !is_log && !rt.added.contains_key(id) {
                return action(
                    false,
                    format!("no log source `{id}` runs in this agent"),
                    None,
                );
            }
            if !rt.paused.insert(id.to_string()) {
                return action(true, format!("{id} is paused already"), None);
            }
            format!("log source {id} paused (its position is kept)")
        }
        _ => {
            if !rt.paused.remove(id) {
                return action(true, format!("{id} is not paused"), None);
            }
            format!("log source {id} resumed")
        }
    };
    match save_and_apply(state, &before, &rt).await {
        Ok(h) => {
            crate::datadir::audit(&dir, "logs", &msg);
            action(true, msg, Some(h))
        }
        Err(e) => action(false, e, None),
    }
}

/// Tries a rule on lines (a source's recent tail, or given ones) with the `redact` processor's
/// own engine and the candidate as its only rule, so what it changes is what the rule would
/// change once saved.
pub fn redact_try(t: &api::RedactTry) -> Result<api::RedactTryResult, String> {
    let lines: Vec<String> = match &t.source {
        Some(s) if t.lines.is_empty() => lookout_pipeline::taps::taps().recent(s),
        _ => t.lines.clone(),
    };
    let replacement = t.replacement.clone().unwrap_or_else(|| "[REDACTED]".into());
    // the processor's own engine, with the candidate as its only rule
    let cfg = lookout_config::RedactConfig {
        builtins: Vec::new(),
        rules: vec![lookout_config::RedactRule {
            name: "candidate".into(),
            pattern: t.pattern.clone(),
            replacement: replacement.clone(),
        }],
        sensitive_keys: Vec::new(),
        metrics: false,
    };
    let engine =
        lookout_processors::Redactor::new(&cfg).map_err(|e| format!("invalid pattern: {e}"))?;
    let changes: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| engine.redact_str(l).map(|after| (l.clone(), after)))
        .collect();
    let rule_yaml = format!(
        "rules:\n  - name: custom\n    pattern: {}\n    replacement: {}\n",
        serde_json::Value::String(t.pattern.clone()),
        serde_json::Value::String(replacement)
    );
    Ok(api::RedactTryResult {
        tried: lines.len(),
        matched: changes.len(),
        changes,
        rule_yaml,
    })
}

fn config_view(state: &AgentState) -> api::ConfigView {
    let cfg = running(state);
    let effective_yaml = cfg
        .as_ref()
        .map(lookout_config::to_yaml)
        .unwrap_or_default();
    let plaintext = cfg
        .as_ref()
        .is_some_and(|c| c.settings.policy.allow_plaintext_secrets);
    let hash = state
        .config_hash
        .read()
        .map(|h| h.clone())
        .unwrap_or_default();
    match &state.config_file {
        None => api::ConfigView {
            path: None,
            hash,
            source_yaml: lookout_config::DEFAULT_CONFIG.to_string(),
            effective_yaml,
            editable: false,
        },
        Some(p) => {
            let text = std::fs::read_to_string(p);
            let (source_yaml, editable) = match text {
                _ if plaintext => (
                    "# this file may hold secrets in plain text (policy.allow_plaintext_secrets): it is not shown here; edit it on disk\n".to_string(),
                    false,
                ),
                Ok(t) => {
                    let writable = std::fs::OpenOptions::new().append(true).open(p).is_ok()
                        || crate::configfile::helper_writes(p);
                    (t, writable)
                }
                Err(e) => (format!("# cannot read {}: {e}\n", p.display()), false),
            };
            api::ConfigView {
                path: Some(p.display().to_string()),
                hash,
                source_yaml,
                effective_yaml,
                editable,
            }
        }
    }
}

/// A unified diff of two texts (3 lines of context).
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

async fn config_change(state: &AgentState, change: &api::ConfigChange, apply: bool) -> Reply {
    let yaml = change.yaml.as_str();
    let Some(path) = state.config_file.clone() else {
        return ok(&api::ConfigCheck {
            valid: false,
            error: Some("this agent runs the embedded default configuration: start it with --config FILE (or run `lookout tui` with no configuration for the guided setup) to edit it".into()),
            ..Default::default()
        });
    };
    let name = path.display().to_string();
    let read = std::fs::read_to_string(&path).ok();
    let old = read.as_deref().unwrap_or_default();
    let diff = unified_diff(old, yaml, &name, &format!("{name} (new)"));
    let set = state.config_set.clone();
    let checked = lookout_config::load_str(&name, yaml, &set, &lookout_config::process_env);
    let mut r = api::ConfigCheck {
        valid: checked.is_ok(),
        error: checked.as_ref().err().map(|e| e.to_string()),
        diff,
        ..Default::default()
    };
    if apply && !r.valid {
        // an attempt to apply: the history keeps it, refused with why
        let origin = change
            .origin
            .clone()
            .unwrap_or_else(|| "control: config apply".into());
        let reason = r.error.clone().unwrap_or_default();
        match crate::history::record(&data_dir(state), yaml, Some(&path), &origin, Err(&reason)) {
            Ok(e) => crate::datadir::audit(
                &data_dir(state),
                "config",
                &format!(
                    "version {} ({origin}): rejected: {}",
                    e.version,
                    reason.replace('\n', " ")
                ),
            ),
            Err(e) => tracing::warn!("configuration history: {e}"),
        }
    }
    if !apply || !r.valid {
        return ok(&r);
    }
    if old == yaml {
        r.applied = true;
        r.config_hash = state.config_hash.read().ok().map(|h| h.clone());
        return ok(&r);
    }
    let writer = match crate::configfile::write(&path, yaml, read.as_deref()) {
        Ok(w) => w,
        Err(e) => {
            r.error = Some(e);
            return ok(&r);
        }
    };
    let origin = change
        .origin
        .clone()
        .unwrap_or_else(|| "control: config apply".into());
    match state
        .command(|reply| Command::ReloadFile { reply, origin })
        .await
    {
        Ok(h) => {
            r.applied = true;
            r.config_hash = Some(h);
            crate::datadir::audit(
                &data_dir(state),
                "config",
                &format!("{name} changed{} and applied", writer.note()),
            );
        }
        Err(e) => {
            // the new text did not run: the file says what runs
            let _ = crate::configfile::write(&path, old, Some(yaml));
            r.error = Some(format!("not applied, the previous file is back: {e}"));
        }
    }
    ok(&r)
}

fn log_level(state: &Arc<AgentState>, l: &api::LogLevel) -> Reply {
    let reset = l.level == "reset";
    if let Err(e) = crate::logging::set_level((!reset).then_some(l.level.as_str())) {
        return action(false, e, None);
    }
    let Ok(mut g) = state.log_level.lock() else {
        return action(false, "internal error", None);
    };
    g.1 += 1;
    let generation = g.1;
    if reset {
        g.0 = None;
        tracing::info!("log level back to the configured one");
        return action(true, "log level back to the configured one", None);
    }
    let secs = l.for_secs.clamp(1, 24 * 3600);
    g.0 = Some(api::LogLevelState {
        level: l.level.clone(),
        until_unix: now_unix() + secs,
    });
    let st = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        if let Ok(mut g) = st.log_level.lock() {
            if g.1 == generation {
                g.0 = None;
                let _ = crate::logging::set_level(None);
                tracing::info!("temporary log level over: back to the configured one");
            }
        }
    });
    tracing::info!("log level {} for {secs} s", l.level);
    action(true, format!("log level {} for {secs} s", l.level), None)
}

/// Binds the socket (replacing a stale one) owner-only.
pub fn bind(data_dir: &Path) -> anyhow::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data_dir);
    // the data directory is locked by this agent: a socket left there is stale
    let _ = std::fs::remove_file(&path);
    let l = tokio::net::UnixListener::bind(&path)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

/// Serves until the task is dropped.
pub async fn serve(listener: tokio::net::UnixListener, state: Arc<AgentState>) {
    // SAFETY: geteuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    let me = unsafe { libc::geteuid() };
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!("control socket: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        match stream.peer_cred() {
            Ok(c) if c.uid() == me || c.uid() == 0 => {}
            Ok(c) => {
                tracing::warn!(
                    "control socket: refused a connection from uid {} (only uid {me} and root may use it)",
                    c.uid()
                );
                crate::datadir::audit(
                    Path::new(&state.data_dir),
                    "privilege",
                    &format!("control socket refused uid {}", c.uid()),
                );
                continue;
            }
            Err(e) => {
                tracing::warn!("control socket: cannot read the peer's credentials: {e}");
                continue;
            }
        }
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(state, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!("control connection ended: {e}");
            }
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn query_values_decode() {
        let decode = |v: &str| query_value(&format!("other=1&v={v}"), "v").unwrap();
        assert_eq!(decode("a%20b%2Fc"), "a b/c");
        assert_eq!(decode("50%"), "50%");
        assert_eq!(decode("%zz+x"), "%zz x");
        assert_eq!(decode(&api::encode_query("ü/&x y")), "ü/&x y");
    }

    #[test]
    fn a_rule_is_tried_on_lines() {
        let r = redact_try(&api::RedactTry {
            pattern: r"user=\w+".into(),
            replacement: Some("user=***".into()),
            lines: vec!["login user=alice ok".into(), "nothing here".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!((r.tried, r.matched), (2, 1));
        assert_eq!(r.changes[0].1, "login user=*** ok");
        // the YAML it proposes is a valid redact processor
        let text = format!(
            "sources:\n  s: {{type: host_metrics}}\nprocessors:\n  p:\n    type: redact\n    inputs: [s]\n{}sinks:\n  o: {{type: file, path: /dev/null, inputs: [p]}}\n",
            r.rule_yaml.lines().map(|l| format!("    {l}\n")).collect::<String>()
        );
        lookout_config::load_str("t", &text, &[], &|_| None).unwrap();
        assert!(redact_try(&api::RedactTry {
            pattern: "(".into(),
            ..Default::default()
        })
        .unwrap_err()
        .contains("invalid pattern"));
    }

    #[test]
    fn diffs_are_unified() {
        let d = unified_diff("a\nb\nc\n", "a\nB\nc\n", "old", "new");
        assert!(d.contains("--- old") && d.contains("+++ new"), "{d}");
        assert!(d.contains("-b\n") && d.contains("+B\n"), "{d}");
    }
}
