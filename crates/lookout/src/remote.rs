//! The remote configuration poller (`remote:` in the local file, `docs/remote-config.md`).
//!
//! Every `interval` (±10 %) it asks `url` for a bundle `{"config": "<yaml>", "signature":
//! {...}}` with `If-None-Match` (the last ETag). A new bundle is verified (`lookout-remote`:
//! trusted key, signature over the exact bytes, expiry, host, a version above the running one);
//! a verified one goes to the agent's main loop, which validates, builds beside and swaps as
//! for any configuration, keeping the local `remote:` section (a remote configuration cannot
//! change where configurations come from or who signs them). The last good bundle is kept in
//! `<data_dir>/remote/last.json` and runs at the next start, even offline.
//!
//! Failures (no answer, 5xx, 429...) back off exponentially with full jitter; after
//! `circuit_failures` in a row the circuit opens for `open_for`, then one probe. The state is
//! in `/status` under `remote`.

use crate::server::{AgentState, Command};
use lookout_config::{Config, RemoteConfig};
use lookout_remote::{PublicKey, Signature};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What the endpoint answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bundle {
    /// The configuration text.
    pub config: String,
    /// Its signature document.
    pub signature: serde_json::Value,
}

/// The poller's state, as `/status` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RemoteStatus {
    url: String,
    /// `starting`, `ok`, `backoff` (failing, retrying) or `open` (circuit open).
    state: String,
    failures: u32,
    polls: u64,
    not_modified: u64,
    last_poll_unix: u64,
    last_success_unix: u64,
    last_error: Option<String>,
    next_poll_unix: u64,
    applied_version: u64,
    applied_unix: u64,
    last_rejection: Option<serde_json::Value>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The host name signatures are checked against (the kernel's).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Reads the trusted public keys.
pub fn trusted_keys(cfg: &RemoteConfig) -> Result<Vec<PublicKey>, String> {
    cfg.trusted_keys
        .iter()
        .map(|p| {
            let t = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read trusted key {}: {e}", p.display()))?;
            serde_json::from_str(&t).map_err(|e| {
                format!(
                    "{} is not a public key of `lookout config keygen`: {e}",
                    p.display()
                )
            })
        })
        .collect()
}

fn last_path(data_dir: &Path) -> PathBuf {
    data_dir.join("remote").join("last.json")
}

fn save_last(data_dir: &Path, bundle: &Bundle) -> Result<(), String> {
    let p = last_path(data_dir);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700));
    }
    let text = serde_json::to_vec(bundle).map_err(|e| e.to_string())?;
    lookout_tail::write_atomic(&p, &text)
        .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())
}

/// The last good bundle, checked again (key, signature, bytes, host; not its age: it was
/// accepted when it came, and runs offline until a newer one does).
pub fn load_last(data_dir: &Path, keys: &[PublicKey], host: &str) -> Option<(Bundle, Signature)> {
    let text = std::fs::read(last_path(data_dir)).ok()?;
    let b: Bundle = serde_json::from_slice(&text).ok()?;
    let sig_bytes = serde_json::to_vec(&b.signature).ok()?;
    let s: Signature = serde_json::from_value(b.signature.clone()).ok()?;
    let cx = lookout_remote::Context {
        trusted: keys,
        host,
        running_version: 0,
        now: s.issued_at,
        skew: 0,
    };
    match lookout_remote::verify(b.config.as_bytes(), Some(&sig_bytes), &cx) {
        Ok(s) => Some((b, s)),
        Err(e) => {
            tracing::warn!(
                "remote: the saved configuration {} is refused ({e}); ignoring it",
                last_path(data_dir).display()
            );
            None
        }
    }
}

/// A remote configuration's text as lookout runs it: validated as a whole, with the local
/// `remote:` section in place of its own.
pub fn load_remote(
    text: &str,
    version: u64,
    local: &RemoteConfig,
    sets: &[String],
) -> Result<Config, String> {
    let mut c = lookout_config::load_str(
        &format!("remote configuration version {version}"),
        text,
        sets,
        &lookout_config::process_env,
    )
    .map_err(|e| e.to_string())?;
    c.settings.remote = Some(local.clone());
    Ok(c)
}

/// At start: the last good remote configuration in place of the file's, when there is one.
/// Returns the configuration to run and the remote version (0: the file's).
pub fn boot(config: Config, data_dir: &Path, sets: &[String]) -> (Config, u64, Option<String>) {
    let Some(local) = config.settings.remote.clone() else {
        return (config, 0, None);
    };
    let keys = match trusted_keys(&local) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!("remote: {e}; remote configurations will be refused");
            return (config, 0, None);
        }
    };
    match load_last(data_dir, &keys, &host_name()) {
        Some((b, s)) => {
            match load_remote(&b.config, s.version, &local, sets) {
                Ok(c) => {
                    tracing::info!(
                        version = s.version,
                        "remote: running the last good remote configuration"
                    );
                    (c, s.version, Some(b.config))
                }
                Err(e) => {
                    tracing::warn!("remote: the saved configuration does not validate ({e}); running the file's");
                    (config, 0, None)
                }
            }
        }
        None => (config, 0, None),
    }
}

enum Outcome {
    /// Nothing new.
    NotModified,
    /// A bundle was applied or refused (the transport worked either way).
    Handled,
    /// The endpoint failed.
    Failed(String),
}

/// The polling loop (runs until the agent stops).
pub async fn run(
    cfg: RemoteConfig,
    state: Arc<AgentState>,
    data_dir: PathBuf,
    applied_version: u64,
) {
    let mut st = RemoteStatus {
        url: cfg.url.0.to_string(),
        state: "starting".into(),
        applied_version,
        ..RemoteStatus::default()
    };
    publish(&state, &st);
    let client = match build_client(&cfg) {
        Ok(c) => c,
        Err(e) => {
            st.state = "off".into();
            st.last_error = Some(e.clone());
            publish(&state, &st);
            tracing::error!("remote: {e}");
            return;
        }
    };
    let host = host_name();
    let mut etag: Option<String> = None;
    let mut op = OpampState::load(&data_dir);
    let mut backoff = lookout_sinks::retry::Backoff::new(cfg.initial_backoff.0, cfg.max_backoff.0);
    loop {
        st.polls += 1;
        st.last_poll_unix = now();
        let outcome = match cfg.protocol {
            lookout_config::RemoteProtocol::Bundle => {
                poll(&cfg, &client, &mut etag, &host, &state, &data_dir, &mut st).await
            }
            lookout_config::RemoteProtocol::Opamp => {
                poll_opamp(&cfg, &client, &mut op, &host, &state, &data_dir, &mut st).await
            }
        };
        let wait = match outcome {
            Outcome::NotModified | Outcome::Handled => {
                if matches!(outcome, Outcome::NotModified) {
                    st.not_modified += 1;
                }
                if st.failures > 0 {
                    tracing::info!("remote: {} answers again", st.url);
                }
                st.failures = 0;
                st.state = "ok".into();
                st.last_error = None;
                st.last_success_unix = now();
                backoff =
                    lookout_sinks::retry::Backoff::new(cfg.initial_backoff.0, cfg.max_backoff.0);
                jitter(cfg.interval.0)
            }
            Outcome::Failed(e) => {
                if st.failures == 0 {
                    tracing::warn!("remote: {} fails: {e}; backing off", st.url);
                }
                st.failures += 1;
                st.last_error = Some(e);
                if cfg.circuit_failures > 0 && st.failures >= cfg.circuit_failures {
                    if st.state != "open" {
                        tracing::warn!(
                            "remote: circuit open for {:?} after {} failures",
                            cfg.open_for.0,
                            st.failures
                        );
                    }
                    st.state = "open".into();
                    cfg.open_for.0
                } else {
                    st.state = "backoff".into();
                    backoff.next(None)
                }
            }
        };
        st.next_poll_unix = now() + wait.as_secs();
        publish(&state, &st);
        tokio::time::sleep(wait).await;
    }
}

fn publish(state: &AgentState, st: &RemoteStatus) {
    if let Ok(mut r) = state.remote.write() {
        *r = serde_json::to_value(st).unwrap_or_default();
    }
}

/// `d` within ±10 %, so agents started together do not poll together.
pub(crate) fn jitter(d: Duration) -> Duration {
    use rand::Rng;
    let f: f64 = rand::rng().random_range(0.9..=1.1);
    d.mul_f64(f)
}

fn build_client(cfg: &RemoteConfig) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .timeout(cfg.timeout.0)
        .connect_timeout(cfg.timeout.0)
        .min_tls_version(reqwest::tls::Version::TLS_1_2)
        .user_agent(concat!("lookout/", env!("CARGO_PKG_VERSION")));
    match lookout_sinks::tls::client_config(&cfg.tls)? {
        Some(tls) => b = b.use_preconfigured_tls(tls),
        None => {
            for c in lookout_sinks::otlp_http::extra_roots(&cfg.tls)? {
                b = b.add_root_certificate(c);
            }
        }
    }
    b.build()
        .map_err(|e| format!("cannot create the HTTP client: {e}"))
}

async fn poll(
    cfg: &RemoteConfig,
    client: &reqwest::Client,
    etag: &mut Option<String>,
    host: &str,
    state: &Arc<AgentState>,
    data_dir: &Path,
    st: &mut RemoteStatus,
) -> Outcome {
    let mut req = client.get(cfg.url.0.as_str());
    for (k, v) in &cfg.headers {
        req = req.header(k, v);
    }
    if let Some(e) = etag.as_deref() {
        req = req.header("if-none-match", e);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(format!("no answer: {}", without_url(&e))),
    };
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Outcome::NotModified;
    }
    if !status.is_success() {
        return Outcome::Failed(format!("HTTP {status}"));
    }
    let new_etag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(format!("reading the answer: {}", without_url(&e))),
    };
    // from here the endpoint answered: what it said is applied or refused, not retried
    *etag = new_etag;
    let bundle: Bundle = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            reject(
                data_dir,
                st,
                None,
                "malformed",
                &format!("not a configuration bundle: {e}"),
                None,
            );
            return Outcome::Handled;
        }
    };
    let signature = if bundle.signature.is_null() {
        None
    } else {
        serde_json::to_vec(&bundle.signature).ok()
    };
    // the outcome is in `st` (and the log, audit and history)
    let _ = take(cfg, host, state, data_dir, st, bundle.config, signature, "").await;
    Outcome::Handled
}

/// A configuration the endpoint sent (by either protocol): verified against the trusted keys,
/// then run through the agent's apply path; applied, it is kept for offline starts. Refusals
/// are logged, audited, kept in the history and in `st`; the error is `code: message`.
#[allow(clippy::too_many_arguments)]
async fn take(
    cfg: &RemoteConfig,
    host: &str,
    state: &Arc<AgentState>,
    data_dir: &Path,
    st: &mut RemoteStatus,
    text: String,
    signature: Option<Vec<u8>>,
    via: &str,
) -> Result<(), String> {
    let keys = match trusted_keys(cfg) {
        Ok(k) => k,
        Err(e) => {
            reject(data_dir, st, None, "no_trusted_keys", &e, None);
            return Err(format!("no_trusted_keys: {e}"));
        }
    };
    let claimed = signature
        .as_deref()
        .and_then(|d| serde_json::from_slice::<serde_json::Value>(d).ok())
        .and_then(|v| v["version"].as_u64());
    let cx = lookout_remote::Context {
        trusted: &keys,
        host,
        running_version: st.applied_version,
        now: now(),
        skew: 300,
    };
    let sig = match lookout_remote::verify(text.as_bytes(), signature.as_deref(), &cx) {
        Ok(s) => s,
        Err(r) => {
            reject(data_dir, st, claimed, r.code(), &r.to_string(), Some(&text));
            return Err(format!("{}: {r}", r.code()));
        }
    };
    let applied = state
        .command(|reply| Command::ApplyRemote {
            reply,
            text: text.clone(),
            version: sig.version,
        })
        .await;
    match applied {
        Ok(hash) => {
            st.applied_version = sig.version;
            st.applied_unix = now();
            let bundle = Bundle {
                config: text,
                signature: serde_json::to_value(&sig).unwrap_or_default(),
            };
            if let Err(e) = save_last(data_dir, &bundle) {
                tracing::warn!("remote: cannot keep the configuration for offline starts: {e}");
            }
            crate::datadir::audit(
                data_dir,
                "remote",
                &format!(
                    "version {} (key {}) applied{via}: configuration {hash}",
                    sig.version, sig.key_id
                ),
            );
            tracing::info!(version = sig.version, key = %sig.key_id, "remote: configuration applied{via}");
            Ok(())
        }
        Err(e) => {
            // the main loop recorded it in the history already
            reject(data_dir, st, Some(sig.version), "apply_failed", &e, None);
            Err(format!("apply_failed: {e}"))
        }
    }
}

/// A refused bundle: logged, audited, in the history and in `/status`.
fn reject(
    data_dir: &Path,
    st: &mut RemoteStatus,
    version: Option<u64>,
    code: &str,
    message: &str,
    text: Option<&str>,
) {
    tracing::warn!("remote: configuration refused ({code}): {message}");
    crate::datadir::audit(
        data_dir,
        "remote",
        &format!(
            "version {} refused ({code}): {message}",
            version.map(|v| v.to_string()).unwrap_or_else(|| "?".into())
        ),
    );
    if let Some(t) = text {
        let origin = format!(
            "remote version {}",
            version.map(|v| v.to_string()).unwrap_or_else(|| "?".into())
        );
        if let Err(e) = crate::history::record(
            data_dir,
            t,
            None,
            &origin,
            Err(&format!("{code}: {message}")),
        ) {
            tracing::warn!("configuration history: {e}");
        }
    }
    st.last_rejection = Some(serde_json::json!({
        "unix": now(), "reason": code, "message": message, "version": version,
    }));
}

/// A request error without the URL (it may carry credentials in its query).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "the endpoint");
    }
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// What the OpAMP exchange keeps between messages.
struct OpampState {
    instance_uid: Vec<u8>,
    sequence: u64,
    /// The hash of the last remote configuration received, and what became of it.
    status: lookout_remote::opamp::RemoteConfigStatus,
    /// Messages until the inventory is sent again.
    inventory_in: u32,
}

impl OpampState {
    /// The instance uid is kept in `<data_dir>/remote/instance_uid` so the server sees the same
    /// agent across restarts.
    fn load(data_dir: &Path) -> OpampState {
        let p = data_dir.join("remote").join("instance_uid");
        let uid = match std::fs::read(&p) {
            Ok(b) if b.len() == 16 => b,
            _ => {
                use rand::Rng;
                let mut b = vec![0u8; 16];
                rand::rng().fill(&mut b[..]);
                // a version 4 UUID
                b[6] = (b[6] & 0x0f) | 0x40;
                b[8] = (b[8] & 0x3f) | 0x80;
                if let Some(d) = p.parent() {
                    let _ = std::fs::create_dir_all(d);
                }
                let _ = lookout_tail::write_atomic(&p, &b);
                b
            }
        };
        OpampState {
            instance_uid: uid,
            sequence: 0,
            status: lookout_remote::opamp::RemoteConfigStatus::default(),
            inventory_in: 0,
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The discovered services as the inventory reports them: what runs where, never a
/// configuration value (so never a secret).
fn inventory() -> Vec<serde_json::Value> {
    match crate::autoconf::discover() {
        Ok(d) => d
            .services
            .iter()
            .map(|s| {
                serde_json::json!({
                    "kind": s.kind,
                    "instance": s.instance,
                    "pid": s.pid,
                    "exe": s.exe,
                    "listens": s.listens,
                    "package": s.package.as_ref().map(|p| serde_json::json!({"name": p.name, "version": p.version})),
                    "confidence": s.confidence,
                })
            })
            .collect(),
        Err(e) => vec![serde_json::json!({"error": e})],
    }
}

async fn agent_to_server(
    op: &mut OpampState,
    state: &Arc<AgentState>,
    host: &str,
) -> lookout_remote::opamp::AgentToServer {
    use lookout_remote::opamp::{self as o, capabilities as c};
    let hash = state
        .config_hash
        .read()
        .map(|h| h.clone())
        .unwrap_or_default();
    let components = state.registry.snapshots();
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let start_ns = (state.started_unix * 1e9) as u64;
    let mut map = std::collections::HashMap::new();
    for comp in &components {
        map.insert(
            comp.id.clone(),
            o::ComponentHealth {
                healthy: comp.healthy,
                start_time_unix_nano: start_ns,
                last_error: comp.last_error.clone().unwrap_or_default(),
                status: format!(
                    "{} {}: received={} sent={} dropped={} errors={} dead_lettered={} queue={}",
                    comp.kind,
                    comp.type_name,
                    comp.received_items,
                    comp.sent_items,
                    comp.dropped_items,
                    comp.errors,
                    comp.dead_lettered_items,
                    comp.buffer_depth
                ),
                status_time_unix_nano: now_ns,
                component_health_map: Default::default(),
            },
        );
    }
    let healthy = components.iter().all(|c| c.healthy);
    let effective = state
        .running
        .read()
        .ok()
        .and_then(|r| r.as_ref().map(lookout_config::to_yaml))
        .unwrap_or_default();
    let mut files = std::collections::HashMap::new();
    files.insert(
        String::new(),
        o::AgentConfigFile {
            body: effective.into_bytes(),
            content_type: "text/yaml".into(),
        },
    );
    let custom_message = if op.inventory_in == 0 {
        op.inventory_in = 20;
        let inv = tokio::task::spawn_blocking(inventory)
            .await
            .unwrap_or_default();
        Some(o::CustomMessage {
            capability: o::INVENTORY_CAPABILITY.into(),
            r#type: "services".into(),
            data: serde_json::to_vec(&inv).unwrap_or_default(),
        })
    } else {
        op.inventory_in -= 1;
        None
    };
    op.sequence += 1;
    o::AgentToServer {
        instance_uid: op.instance_uid.clone(),
        sequence_num: op.sequence,
        agent_description: Some(o::AgentDescription {
            identifying_attributes: vec![
                o::KeyValue::string("service.name", "lookout"),
                o::KeyValue::string("service.instance.id", hex(&op.instance_uid)),
                o::KeyValue::string("service.version", env!("CARGO_PKG_VERSION")),
            ],
            non_identifying_attributes: vec![
                o::KeyValue::string("host.name", host),
                o::KeyValue::string("os.type", "linux"),
                o::KeyValue::string("lookout.config_hash", hash),
            ],
        }),
        capabilities: c::REPORTS_STATUS
            | c::ACCEPTS_REMOTE_CONFIG
            | c::REPORTS_EFFECTIVE_CONFIG
            | c::REPORTS_HEALTH
            | c::REPORTS_REMOTE_CONFIG
            | c::REPORTS_HEARTBEAT,
        health: Some(o::ComponentHealth {
            healthy,
            start_time_unix_nano: start_ns,
            last_error: components
                .iter()
                .find_map(|c| c.last_error.clone())
                .unwrap_or_default(),
            status: if healthy {
                "healthy".into()
            } else {
                "degraded".into()
            },
            status_time_unix_nano: now_ns,
            component_health_map: map,
        }),
        effective_config: Some(o::EffectiveConfig {
            config_map: Some(o::AgentConfigMap { config_map: files }),
        }),
        remote_config_status: Some(op.status.clone()),
        flags: 0,
        custom_capabilities: Some(o::CustomCapabilities {
            capabilities: vec![
                o::SIGNATURE_CAPABILITY.into(),
                o::INVENTORY_CAPABILITY.into(),
            ],
        }),
        custom_message,
    }
}

/// One OpAMP exchange: report, and act on a new remote configuration.
async fn poll_opamp(
    cfg: &RemoteConfig,
    client: &reqwest::Client,
    op: &mut OpampState,
    host: &str,
    state: &Arc<AgentState>,
    data_dir: &Path,
    st: &mut RemoteStatus,
) -> Outcome {
    use lookout_remote::opamp::{self as o, remote_config_status as rcs};
    use prost::Message;
    let msg = agent_to_server(op, state, host).await;
    let mut req = client
        .post(cfg.url.0.as_str())
        .header("content-type", "application/x-protobuf")
        .body(msg.encode_to_vec());
    for (k, v) in &cfg.headers {
        req = req.header(k, v);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(format!("no answer: {}", without_url(&e))),
    };
    let status = resp.status();
    if !status.is_success() {
        return Outcome::Failed(format!("HTTP {status}"));
    }
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(format!("reading the answer: {}", without_url(&e))),
    };
    let answer = match o::ServerToAgent::decode(body.as_ref()) {
        Ok(a) => a,
        Err(e) => return Outcome::Failed(format!("not an OpAMP ServerToAgent message: {e}")),
    };
    if let Some(e) = answer.error_response {
        return Outcome::Failed(format!("the OpAMP server refuses: {}", e.error_message));
    }
    let Some(remote) = answer.remote_config else {
        return Outcome::NotModified;
    };
    if remote.config_hash == op.status.last_remote_config_hash {
        return Outcome::NotModified;
    }
    op.status = o::RemoteConfigStatus {
        last_remote_config_hash: remote.config_hash.clone(),
        status: rcs::APPLYING,
        error_message: String::new(),
    };
    let text = match remote.body().map(|b| String::from_utf8(b.to_vec())) {
        Some(Ok(t)) => t,
        _ => {
            op.status.status = rcs::FAILED;
            op.status.error_message =
                "malformed: no UTF-8 configuration in the remote config".into();
            reject(
                data_dir,
                st,
                None,
                "malformed",
                "no UTF-8 configuration in the OpAMP remote config",
                None,
            );
            return Outcome::Handled;
        }
    };
    let signature = answer
        .custom_message
        .filter(|m| m.capability == o::SIGNATURE_CAPABILITY)
        .map(|m| m.data);
    match take(
        cfg,
        host,
        state,
        data_dir,
        st,
        text,
        signature,
        " through OpAMP",
    )
    .await
    {
        Ok(()) => op.status.status = rcs::APPLIED,
        Err(e) => {
            op.status.status = rcs::FAILED;
            op.status.error_message = e;
        }
    }
    Outcome::Handled
}
