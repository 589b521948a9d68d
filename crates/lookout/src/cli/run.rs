//! `lookout run`: the agent. Loads the config, binds the HTTP server, builds and starts the
//! topology, then waits for signals: SIGTERM/SIGINT stop it gracefully (sources first, then
//! sinks flush within `shutdown_grace`), SIGHUP reloads (validate and build first; any error
//! keeps the running pipeline).

use super::{load_config, Global};
use crate::datadir;
use crate::factory::AgentFactory;
use crate::server::{self, AgentState, Command};
use anyhow::Context;
use lookout_config::Config;
use lookout_pipeline::{BuildContext, Registry, Routes, Topology};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

/// Content hash of a configuration (secrets included in the hash, never printed).
pub fn config_hash(c: &Config) -> String {
    // the masked form would hide secret changes; hash the unmasked debug form instead
    let digest = Sha256::digest(format!("{c:?}").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Entry point.
pub fn main(g: &Global) -> anyhow::Result<ExitCode> {
    let config = match load_config(g, None) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    crate::logging::init(&config.settings.log, g.log_format.as_deref(), g.verbose);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("lookout")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(agent(g.clone(), config))
}

fn build(
    config: &Config,
    registry: &Registry,
    data_dir: &std::path::Path,
) -> Result<Topology, lookout_pipeline::BuildError> {
    let resource = Arc::new(lookout_sources::resource::detect_host_resource(
        &config.settings.resource,
        &config.settings.host.root,
    ));
    let cx = BuildContext {
        routes: Routes::new(),
        resource,
        data_dir: data_dir.to_path_buf(),
    };
    Topology::build(config, &AgentFactory, &cx, registry)
}

async fn agent(g: Global, config: Config) -> anyhow::Result<ExitCode> {
    let data_dir: PathBuf =
        datadir::resolve(g.data_dir.as_deref(), config.settings.data_dir.as_deref());
    datadir::ensure(&data_dir)?;
    let _lock = datadir::lock(&data_dir)?;
    // with `remote:`, the last good remote configuration runs in place of the file's
    let (config, remote_version, mut remote_text) = crate::remote::boot(config, &data_dir, &g.set);

    let registry = Registry::new();
    let routes = Routes::new();
    let origin = g
        .config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| lookout_config::DEFAULT_ORIGIN.to_string());
    let mut st = AgentState::new(
        registry.clone(),
        routes.clone(),
        config_hash(&config),
        origin.clone(),
        data_dir.display().to_string(),
    );
    st.config_file = g.config.clone();
    st.config_set = g.set.clone();
    let state = Arc::new(st);
    let (cmd_tx, mut cmd_rx) = tokio::sync::mpsc::channel::<Command>(8);
    let _ = state.commands.set(cmd_tx);
    let host_task = tokio::spawn(crate::hostwatch::run(
        state.host.clone(),
        config.settings.host.clone(),
    ));

    let listen = config.settings.server.listen;
    let server_task = if config.settings.server.enabled {
        if !listen.ip().is_loopback() {
            tracing::warn!("the HTTP server listens on {listen}, which is not a loopback address: /status and metrics are reachable from the network");
        }
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
            format!("cannot listen on {listen} (server.listen): is another agent running? choose another address with --set server.listen=127.0.0.1:PORT")
        })?;
        let bound = listener.local_addr()?;
        datadir::write_info(
            &data_dir,
            &datadir::AgentInfo {
                pid: std::process::id(),
                server: bound.to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                started_unix: state.started_unix as u64,
            },
        )?;
        Some(tokio::spawn(server::serve(listener, state.clone())))
    } else {
        None
    };

    // the operator's run-time log sources (added, paused) join the file's
    let base_config = config.clone();
    let config = match compose(
        &config,
        false,
        &crate::autoconf::Discovered::default(),
        &crate::autoconf::Overrides::default(),
        &crate::runtime_sources::RuntimeSources::load(&data_dir).unwrap_or_default(),
    ) {
        Ok((c, _)) => c,
        Err(e) => {
            tracing::warn!(
                "the added or paused log sources ({}) cannot apply, starting without them: {e}",
                crate::runtime_sources::RuntimeSources::path(&data_dir).display()
            );
            config
        }
    };
    let mut topology = match build(&config, &registry, &data_dir) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    topology.start();
    routes.replace_with(topology.routes());
    if let Ok(mut r) = state.running.write() {
        *r = Some(config.clone());
    }
    remember(&data_dir, &g, load_file(&g).0.as_deref(), "start", Ok(()));
    // the poller reports what runs: it starts once the pipeline does
    if let Some(r) = config.settings.remote.clone() {
        tokio::spawn(crate::remote::run(
            r,
            state.clone(),
            data_dir.clone(),
            remote_version,
        ));
    }
    // the control socket appears once the pipeline runs: a client that finds it can act
    let control_task = match crate::control::bind(&data_dir) {
        Ok(l) => Some(tokio::spawn(crate::control::serve(l, state.clone()))),
        Err(e) => {
            tracing::warn!(
                "control socket unavailable ({e}): `lookout tui`, `lookout query` and the other agent commands cannot reach this agent"
            );
            None
        }
    };
    crate::sdnotify::notify(&format!(
        "READY=1\nSTATUS=running: {} source(s), {} sink(s)",
        config.sources.len(),
        config.sinks.len()
    ));
    crate::sdnotify::spawn_watchdog();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %origin,
        hash = %config_hash(&config),
        server = %listen,
        data_dir = %data_dir.display(),
        "lookout started: {} source(s), {} sink(s)",
        config.sources.len(),
        config.sinks.len()
    );

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    // `base` is the configuration as written; `current` is what runs (base plus discovered
    // sources when auto-configuration is on)
    let mut base = base_config;
    let mut current = config;
    let autoconfig = base.settings.autoconfig.clone();
    let mut auto_tick = tokio::time::interval(
        autoconfig
            .interval
            .0
            .max(std::time::Duration::from_millis(200)),
    );
    auto_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // between scans, a started or exited server process triggers one at once
    let mut watch_tick = tokio::time::interval(std::time::Duration::from_secs(1));
    watch_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let host = base.settings.host.clone();
    let mut watch = crate::autoconf::ProcessWatch::at(host.proc());
    // discovered sources: the host's services (autoconfig) and the node's annotated pods
    // (kubernetes), merged into the configuration by one path
    let mut auto = Auto::default();
    let kube = if base.settings.kubernetes.enabled {
        match crate::kubernetes::Lister::new(&base.settings.kubernetes) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::error!("kubernetes: {e}; annotated pods are not collected");
                let mut st = crate::kubernetes::Status::default();
                st.failed(e);
                st.publish(&state);
                None
            }
        }
    } else {
        None
    };
    let mut kube_status = crate::kubernetes::Status {
        node: kube
            .as_ref()
            .map(|k| k.node().to_string())
            .unwrap_or_default(),
        state: "starting".into(),
        ..Default::default()
    };
    let mut kube_at = tokio::time::Instant::now();
    let merging = autoconfig.enabled || kube.is_some();
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); crate::sdnotify::notify("STOPPING=1"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); crate::sdnotify::notify("STOPPING=1"); break; }
            _ = hup.recv() => {
                crate::sdnotify::notify(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
                let _ready = Ready;
                let (text, loaded) = load_file(&g);
                let new = match loaded {
                    Ok(c) => c,
                    Err(e) => {
                        state.reloads_failed.fetch_add(1, Relaxed);
                        tracing::error!(
                            "SIGHUP: configuration rejected, keeping the running one: {}",
                            e.replace('\n', " ")
                        );
                        remember(&data_dir, &g, text.as_deref(), "SIGHUP", Err(&e));
                        continue;
                    }
                };
                let new = with_remote(new, remote_text.as_deref(), &g);
                let merged = reload_compose(&new, merging, &auto.all(), &data_dir, "SIGHUP");
                match apply(merged, "SIGHUP", true, &current, topology, &registry, &routes, &data_dir, &state).await {
                    (t, Ok(applied)) => {
                        topology = t;
                        current = applied;
                        base = new;
                        remember(&data_dir, &g, text.as_deref(), "SIGHUP", Ok(()));
                    }
                    (t, Err(e)) => {
                        topology = t;
                        remember(&data_dir, &g, text.as_deref(), "SIGHUP", Err(&e));
                    }
                }
            }
            Some(cmd) = cmd_rx.recv() => {
                // the file's text and why, for the history (a recomposition keeps the file)
                let mut file: Option<(Option<String>, String)> = None;
                let mut pending_remote: Option<String> = None;
                let (new_base, reply, why) = match cmd {
                    Command::ReloadFile { reply, origin } => {
                        let (text, loaded) = load_file(&g);
                        match loaded {
                            Ok(c) => {
                                file = Some((text, origin));
                                (with_remote(c, remote_text.as_deref(), &g), reply, "control: configuration file")
                            }
                            Err(e) => {
                                state.reloads_failed.fetch_add(1, Relaxed);
                                remember(&data_dir, &g, text.as_deref(), &origin, Err(&e));
                                let _ = reply.send(Err(format!("configuration rejected: {e}")));
                                continue;
                            }
                        }
                    }
                    Command::Recompose(reply) => (base.clone(), reply, "control: operator's sources"),
                    Command::ApplyRemote { reply, text, version } => {
                        let origin = format!("remote version {version}");
                        let loaded = match base.settings.remote.as_ref() {
                            Some(local) => crate::remote::load_remote(&text, version, local, &g.set),
                            None => Err("this agent has no `remote:` section".to_string()),
                        };
                        match loaded {
                            Ok(c) => {
                                file = Some((Some(text.clone()), origin));
                                pending_remote = Some(text);
                                (c, reply, "remote configuration")
                            }
                            Err(e) => {
                                state.reloads_failed.fetch_add(1, Relaxed);
                                remember(&data_dir, &g, Some(&text), &origin, Err(&e));
                                let _ = reply.send(Err(e));
                                continue;
                            }
                        }
                    }
                };
                let overrides = crate::autoconf::Overrides::load(&data_dir).unwrap_or_default();
                let rt = match crate::runtime_sources::RuntimeSources::load(&data_dir) {
                    Ok(r) => r,
                    Err(e) => { let _ = reply.send(Err(e)); continue; }
                };
                let merged = match compose(&new_base, merging, &auto.all(), &overrides, &rt) {
                    Ok((m, ids)) => { if merging { auto.ids = ids; auto.settings = overrides.services.clone(); } m }
                    Err(e) => { let _ = reply.send(Err(e)); continue; }
                };
                match apply(merged, why, why != "control: operator's sources", &current, topology, &registry, &routes, &data_dir, &state).await {
                    (t, Ok(applied)) => {
                        topology = t;
                        current = applied;
                        base = new_base;
                        if pending_remote.is_some() {
                            remote_text = pending_remote;
                        }
                        if let Some((text, origin)) = &file {
                            remember(&data_dir, &g, text.as_deref(), origin, Ok(()));
                        }
                        let _ = reply.send(Ok(config_hash(&current)));
                    }
                    (t, Err(e)) => {
                        topology = t;
                        if let Some((text, origin)) = &file {
                            remember(&data_dir, &g, text.as_deref(), origin, Err(&e));
                        }
                        let _ = reply.send(Err(format!("the new pipeline could not be built; the running one is unchanged: {e}")));
                    }
                }
            }
            _ = watch_tick.tick(), if autoconfig.enabled => {
                let changed = tokio::task::spawn_blocking(move || {
                    let c = watch.changed();
                    (watch, c)
                })
                .await;
                match changed {
                    Ok((w, c)) => {
                        watch = w;
                        if c {
                            tracing::debug!("autoconfig: a server process started or exited; scanning now");
                            auto_tick.reset_immediately();
                        }
                    }
                    Err(_) => watch = crate::autoconf::ProcessWatch::at(host.proc()),
                }
            }
            _ = auto_tick.tick(), if autoconfig.enabled => {
                let at = host.clone();
                let d = match tokio::task::spawn_blocking(move || crate::autoconf::discover_at(&at)).await {
                    Ok(Ok(d)) => d,
                    Ok(Err(e)) => { tracing::error!("autoconfig: {e}"); continue; }
                    Err(e) => { tracing::error!("autoconfig: discovery failed: {e}"); continue; }
                };
                auto.host = d;
                let (t, changes) = rediscovered("autoconfig", "host", &mut auto, &base, &mut current, topology, &registry, &routes, &data_dir, &state).await;
                topology = t;
                if let Some(changes) = changes {
                    state.autoconfig_scanned(&auto.ids, changes);
                }
            }
            _ = tokio::time::sleep_until(kube_at), if kube.is_some() => {
                let Some(lister) = kube.as_ref() else { continue };
                kube_at = tokio::time::Instant::now() + lister.next_wait();
                match lister.list().await {
                    Ok(list) => {
                        let node = lister.node().to_string();
                        let allowed = base.settings.kubernetes.allowed_secrets.clone();
                        let found = match tokio::task::spawn_blocking(move || crate::kubernetes::found(&list, &node, &allowed)).await {
                            Ok(f) => f,
                            Err(e) => { tracing::error!("kubernetes: {e}"); continue; }
                        };
                        kube_status.listed(&found);
                        auto.pods = found.discovered;
                        let (t, changes) = rediscovered("kubernetes", "node", &mut auto, &base, &mut current, topology, &registry, &routes, &data_dir, &state).await;
                        topology = t;
                        if let Some(changes) = changes {
                            kube_status.changed(changes);
                        }
                    }
                    Err(e) => kube_status.failed(e),
                }
                kube_status.publish(&state);
            }
        }
    }
    let grace = current.settings.shutdown_grace.0;
    let aborted = topology.shutdown(grace).await;
    if !aborted.is_empty() {
        tracing::warn!(
            "shutdown grace period ({grace:?}) over; stopped without finishing: {}",
            aborted.join(", ")
        );
    }
    if let Some(t) = server_task {
        t.abort();
    }
    if let Some(t) = control_task {
        t.abort();
    }
    host_task.abort();
    let _ = std::fs::remove_file(crate::control::socket_path(&data_dir));
    let _ = std::fs::remove_file(datadir::info_path(&data_dir));
    tracing::info!("lookout stopped");
    Ok(ExitCode::SUCCESS)
}

/// What discovery adds to the configuration as written: the host's services (auto-configuration)
/// and the node's annotated pods (Kubernetes), with what runs of them.
#[derive(Default)]
struct Auto {
    /// The last scan of the host.
    host: crate::autoconf::Discovered,
    /// The last listing of the node's pods.
    pods: crate::autoconf::Discovered,
    /// The discovered source ids running.
    ids: Vec<String>,
    /// The operator's per-service settings they run with.
    settings: std::collections::BTreeMap<String, crate::autoconf::ServiceOverride>,
}

impl Auto {
    /// Both together.
    fn all(&self) -> crate::autoconf::Discovered {
        let mut d = self.host.clone();
        d.services.extend(self.pods.services.iter().cloned());
        d.sources.extend(self.pods.sources.iter().cloned());
        d.skipped.extend(self.pods.skipped.iter().cloned());
        d
    }
}

/// Applies what discovery finds now (`auto.all()`, one part of it just refreshed by `why`:
/// `autoconfig` or `kubernetes`, whose instances live on the `place`): when the discovered
/// source ids or the operator's per-service settings changed, recomposes the configuration and
/// swaps. Returns the topology running afterwards and the changes made (`None` when nothing
/// could be applied).
#[allow(clippy::too_many_arguments)]
async fn rediscovered(
    why: &str,
    place: &str,
    auto: &mut Auto,
    base: &Config,
    current: &mut Config,
    topology: Topology,
    registry: &Registry,
    routes: &Routes,
    data_dir: &std::path::Path,
    state: &AgentState,
) -> (Topology, Option<Vec<String>>) {
    let d = auto.all();
    if let Ok(mut w) = state.discovered.write() {
        *w = Some((now_unix(), d.clone()));
    }
    let overrides = match crate::autoconf::Overrides::load(data_dir) {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!("{why}: {e}; ignoring the overrides");
            Default::default()
        }
    };
    let ids: Vec<String> = d
        .ids()
        .into_iter()
        .filter(|id| !overrides.is_disabled(id))
        .collect();
    if ids == auto.ids && overrides.services == auto.settings {
        return (topology, Some(Vec::new()));
    }
    let mut changes = Vec::new();
    for s in &d.services {
        if s.configured() {
            let id = lookout_discovery::render::source_id(&s.instance);
            if !auto.ids.contains(&id) && ids.contains(&id) {
                tracing::info!(service = %s.instance, confidence = s.confidence, "{why}: {} found ({}); adding source {id}", s.instance, s.reasons.join("; "));
                changes.push(format!(
                    "{} found (confidence {}): source {id} added",
                    s.instance, s.confidence
                ));
            }
        }
    }
    for id in auto.ids.iter().filter(|id| !ids.contains(id)) {
        if overrides.is_disabled(id) {
            tracing::info!("{why}: source {id} disabled by the operator; removing it");
            changes.push(format!("source {id} disabled by the operator: removed"));
        } else {
            tracing::info!("{why}: source {id} is gone from the {place}; removing it");
            changes.push(format!("source {id} gone from the {place}: removed"));
        }
    }
    if ids == auto.ids {
        tracing::info!("{why}: the operator's service settings changed; applying them");
    }
    let rt = crate::runtime_sources::RuntimeSources::load(data_dir).unwrap_or_default();
    let merged = match compose(base, true, &d, &overrides, &rt) {
        Ok((m, _)) => m,
        Err(e) => {
            tracing::error!("{why}: {e}; keeping the running configuration");
            return (topology, None);
        }
    };
    match apply(
        merged, why, false, current, topology, registry, routes, data_dir, state,
    )
    .await
    {
        (t, Ok(applied)) => {
            *current = applied;
            auto.ids = ids;
            auto.settings = overrides.services;
            (t, Some(changes))
        }
        (t, Err(_)) => (t, None),
    }
}

/// Replaces the running topology with one built from `new` (validated already): with
/// `checked`, the pre-flight checks first (`crate::preflight`: new sinks reachable, new
/// integrations answering); then build beside it, stop the old one, start the new. On a
/// failed check or a build error the old one keeps running, untouched.
#[allow(clippy::too_many_arguments)]
async fn apply(
    new: Config,
    why: &str,
    checked: bool,
    current: &Config,
    running: Topology,
    registry: &Registry,
    routes: &Routes,
    data_dir: &std::path::Path,
    state: &AgentState,
) -> (Topology, Result<Config, String>) {
    if new.settings.server != current.settings.server {
        tracing::warn!("{why}: server settings changed; they take effect at the next restart");
    }
    if checked {
        match crate::preflight::check(&new, current).await {
            Ok(passed) => {
                for p in passed {
                    tracing::debug!("{why}: check passed: {p}");
                }
            }
            Err(e) => {
                state.reloads_failed.fetch_add(1, Relaxed);
                tracing::error!("{why}: configuration rejected, keeping the running one: {e}");
                return (running, Err(e));
            }
        }
    }
    let swap_started = std::time::Instant::now();
    // listeners on the same address are shared by the new topology (see receivers::listen)
    let generation = lookout_receivers::listen::new_generation();
    let mut next = match build(&new, registry, data_dir) {
        Ok(t) => t,
        Err(e) => {
            lookout_receivers::listen::rollback_generation(generation);
            state.reloads_failed.fetch_add(1, Relaxed);
            tracing::error!("{why}: configuration rejected, keeping the running one: {e}");
            return (running, Err(e.to_string()));
        }
    };
    let _ = running.shutdown(current.settings.shutdown_grace.0).await;
    lookout_receivers::listen::release_unclaimed();
    next.start();
    routes.replace_with(next.routes());
    let hash = config_hash(&new);
    if let Ok(mut h) = state.config_hash.write() {
        *h = hash.clone();
    }
    state.reloads_ok.fetch_add(1, Relaxed);
    if let Ok(mut r) = state.running.write() {
        *r = Some(new.clone());
    }
    tracing::info!(
        hash = %hash,
        swap_ms = swap_started.elapsed().as_millis() as u64,
        "{why}: configuration reloaded"
    );
    (next, Ok(new))
}

/// Says `READY=1` to systemd when dropped: the end of a reload, whatever its outcome.
struct Ready;

impl Drop for Ready {
    fn drop(&mut self) {
        crate::sdnotify::notify("READY=1");
    }
}

/// CLOCK_MONOTONIC in microseconds, which `RELOADING=1` carries.
#[allow(unsafe_code)]
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1000
}

/// A configuration just read from the file, with the remote configuration in force (if any)
/// in place of its pipeline: the file still says where remote configurations come from.
fn with_remote(file: Config, remote_text: Option<&str>, g: &Global) -> Config {
    match (remote_text, file.settings.remote.as_ref()) {
        (Some(text), Some(local)) => match crate::remote::load_remote(text, 0, local, &g.set) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("remote: the remote configuration in force does not validate with this file ({e}); running the file's");
                file
            }
        },
        _ => file,
    }
}

/// Reads the configuration file once: its text (for the history; the embedded default's when
/// there is no file, `None` when it cannot be read) and the configuration from that text.
fn load_file(g: &Global) -> (Option<String>, Result<Config, String>) {
    let env = &lookout_config::process_env;
    match g.config.as_deref() {
        None => (
            Some(lookout_config::DEFAULT_CONFIG.to_string()),
            lookout_config::load(None, &g.set, env).map_err(|e| e.to_string()),
        ),
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => {
                let r = lookout_config::load_str(&p.display().to_string(), &t, &g.set, env)
                    .map_err(|e| e.to_string());
                (Some(t), r)
            }
            Err(e) => (
                None,
                Err(format!("cannot read config file {}: {e}", p.display())),
            ),
        },
    }
}

/// Adds an attempt to the configuration history and the audit log; a history that cannot be
/// written is logged, never fatal.
fn remember(
    data_dir: &std::path::Path,
    g: &Global,
    text: Option<&str>,
    origin: &str,
    result: Result<(), &str>,
) {
    let Some(text) = text else { return };
    match crate::history::record(data_dir, text, g.config.as_deref(), origin, result) {
        Ok(e) => datadir::audit(
            data_dir,
            "config",
            &format!(
                "version {} ({origin}): {}{}",
                e.version,
                e.result,
                e.reason
                    .as_deref()
                    .map(|r| format!(": {}", r.replace('\n', " ")))
                    .unwrap_or_default()
            ),
        ),
        Err(e) => tracing::warn!("configuration history: {e}"),
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The configuration to run: the file's (`base`), plus the discovered services when
/// auto-configuration is on (with the operator's overrides), plus the operator's run-time log
/// sources; validated as a whole when anything was added. Returns it and the discovered ids.
pub fn compose(
    base: &Config,
    autoconfig: bool,
    d: &crate::autoconf::Discovered,
    o: &crate::autoconf::Overrides,
    rt: &crate::runtime_sources::RuntimeSources,
) -> Result<(Config, Vec<String>), String> {
    let (mut c, _) = if autoconfig {
        crate::autoconf::merge(base, d, o)?
    } else {
        (base.clone(), Vec::new())
    };
    let ids: Vec<String> = if autoconfig {
        d.ids()
            .into_iter()
            .filter(|id| !o.is_disabled(id))
            .collect()
    } else {
        Vec::new()
    };
    crate::runtime_sources::apply(&mut c, rt)?;
    if !rt.added.is_empty() || !rt.paused.is_empty() {
        crate::autoconf::validate(&c)?;
    }
    Ok((c, ids))
}

/// [`compose`] for a reloaded file: what cannot be merged is left out with a warning.
fn reload_compose(
    new: &Config,
    autoconfig: bool,
    d: &crate::autoconf::Discovered,
    data_dir: &std::path::Path,
    why: &str,
) -> Config {
    let o = crate::autoconf::Overrides::load(data_dir).unwrap_or_default();
    let rt = crate::runtime_sources::RuntimeSources::load(data_dir).unwrap_or_default();
    match compose(new, autoconfig, d, &o, &rt) {
        Ok((c, _)) => c,
        Err(e) => {
            tracing::warn!(
                "{why}: {e}; applying the file without the discovered and added sources"
            );
            new.clone()
        }
    }
}
