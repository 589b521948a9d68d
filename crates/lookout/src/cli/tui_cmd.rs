//! `lookout tui`: the terminal UI against the agent of this data directory (its control
//! socket). With no agent and no configuration it offers the guided first run: where data
//! goes, which discovered services to monitor; it then writes `<data_dir>/lookout.yaml`
//! (a New Relic license key goes to the encrypted secret store, referred to from the config as
//! `${secret:newrelic_license_key}`, never written into it), starts the agent in the background
//! and shows data arriving.

use super::Global;
use lookout_api::{self as api, paths, Client};
use lookout_tui::backend::{Backend, Destination, Setup, SetupChoice, SourceOp};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The configuration the guided first run writes, in the data directory.
pub const SETUP_CONFIG: &str = "lookout.yaml";

/// The control API as the UI's backend.
pub struct ApiBackend {
    client: Client,
    global: Global,
}

fn e(x: api::Error) -> String {
    x.to_string()
}

impl Backend for ApiBackend {
    fn status(&self) -> Result<api::Status, String> {
        self.client.get(paths::STATUS).map_err(e)
    }
    fn host(&self) -> Result<api::HostHistory, String> {
        self.client.get(paths::HOST).map_err(e)
    }
    fn processes(&self) -> Result<api::Processes, String> {
        self.client.get(paths::PROCESSES).map_err(e)
    }
    fn services(&self) -> Result<api::Services, String> {
        self.client.get(paths::SERVICES).map_err(e)
    }
    fn set_service(&self, id: &str, enabled: bool) -> Result<api::ActionResult, String> {
        let p = if enabled {
            paths::SERVICES_ENABLE
        } else {
            paths::SERVICES_DISABLE
        };
        self.client
            .post(p, &api::ServiceAction { id: id.to_string() })
            .map_err(e)
    }
    fn log_sources(&self) -> Result<api::LogSources, String> {
        self.client.get(paths::LOG_SOURCES).map_err(e)
    }
    fn add_log_source(&self, req: &api::AddLogSource) -> Result<api::ActionResult, String> {
        self.client.post(paths::LOG_SOURCES, req).map_err(e)
    }
    fn log_source_op(&self, id: &str, op: SourceOp) -> Result<api::ActionResult, String> {
        let p = match op {
            SourceOp::Remove => paths::LOG_SOURCES_REMOVE,
            SourceOp::Pause => paths::LOG_SOURCES_PAUSE,
            SourceOp::Resume => paths::LOG_SOURCES_RESUME,
        };
        self.client
            .post(p, &api::SourceAction { id: id.to_string() })
            .map_err(e)
    }
    fn tail(&self, source: &str, after: u64) -> Result<api::Tail, String> {
        self.client
            .get(&format!(
                "{}?source={}&after={after}",
                paths::LOG_TAIL,
                api::encode_query(source)
            ))
            .map_err(e)
    }
    fn redact_try(&self, req: &api::RedactTry) -> Result<api::RedactTryResult, String> {
        self.client.post(paths::REDACT_TRY, req).map_err(e)
    }
    fn config(&self) -> Result<api::ConfigView, String> {
        self.client.get(paths::CONFIG).map_err(e)
    }
    fn config_change(&self, yaml: &str, apply: bool) -> Result<api::ConfigCheck, String> {
        let p = if apply {
            paths::CONFIG_APPLY
        } else {
            paths::CONFIG_CHECK
        };
        self.client
            .post(
                p,
                &api::ConfigChange {
                    yaml: yaml.to_string(),
                    origin: Some("tui: config apply".into()),
                },
            )
            .map_err(e)
    }
    fn diagnose(&self) -> Result<Vec<api::Check>, String> {
        Ok(super::diagnose::checks(&self.global))
    }
    fn set_log_level(&self, level: &str, for_secs: u64) -> Result<api::ActionResult, String> {
        self.client
            .post(
                paths::LOG_LEVEL,
                &api::LogLevel {
                    level: level.to_string(),
                    for_secs,
                },
            )
            .map_err(e)
    }
}

/// The guided first run.
struct FirstRun {
    data_dir: PathBuf,
    global: Global,
    /// The scan the operator chose from (kept so `apply` does not scan the host again).
    found: std::cell::RefCell<Option<crate::autoconf::Discovered>>,
}

/// The secret holding the New Relic license key the first run stores.
pub const NR_SECRET: &str = "newrelic_license_key";

/// The configuration text the first run writes for a choice (the key itself never in it: it
/// refers to the secret store).
pub fn setup_yaml(choice: &SetupChoice, store_dir: &Path) -> String {
    let mut y = String::from(
        "# written by `lookout tui` (guided first run); edit freely, `lookout config validate` checks it\n",
    );
    y.push_str("autoconfig:\n  enabled: true\n");
    if !choice.services.is_empty() {
        y.push_str("# the discovered services chosen; others found later are left out with `lookout services disable`\n");
    }
    y.push_str("sources:\n  host: {type: host_metrics}\n  processes: {type: process_metrics}\n");
    let sink = match &choice.destination {
        Destination::LocalOnly => format!(
            "# nothing leaves the host: no network listener (the control socket serves `lookout tui`)\npolicy:\n  local_only: true\nserver:\n  enabled: false\nsinks:\n  local:\n    type: duckdb\n    path: {}\n    inputs: [host, processes]\n",
            serde_json::Value::String(store_dir.join("lookout.duckdb").display().to_string())
        ),
        Destination::Otlp { endpoint } => format!(
            "sinks:\n  otlp:\n    type: otlp_http\n    endpoint: {}\n    inputs: [host, processes]\n",
            serde_json::Value::String(endpoint.clone())
        ),
        Destination::NewRelic { region, .. } => {
            let endpoint = if region == "eu" {
                "https://otlp.eu01.nr-data.net"
            } else {
                "https://otlp.nr-data.net"
            };
            format!(
                "sinks:\n  newrelic:\n    type: otlp_http\n    endpoint: {endpoint}\n    headers:\n      api-key: ${{secret:{NR_SECRET}}}\n    inputs: [host, processes]\n"
            )
        }
    };
    y.push_str(&sink);
    y
}

impl Setup for FirstRun {
    fn discover(&self) -> Result<api::Services, String> {
        let d = crate::autoconf::discover()?;
        *self.found.borrow_mut() = Some(d.clone());
        let o = crate::autoconf::Overrides::load(&self.data_dir).unwrap_or_default();
        let base = lookout_config::load(None, &[], &lookout_config::process_env)
            .map_err(|e| e.to_string())?;
        Ok(api::Services {
            autoconfig: true,
            scanned_unix: 0,
            services: crate::control::service_rows(&d, &o, Some(&base)),
        })
    }

    fn apply(&self, choice: &SetupChoice) -> Result<String, String> {
        let dir = &self.data_dir;
        crate::datadir::ensure(dir).map_err(|e| e.to_string())?;
        if let Destination::NewRelic { license_key, .. } = &choice.destination {
            let key = license_key.trim();
            if key.len() < 20 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(
                    "that does not look like a New Relic license key (40 letters and digits)"
                        .into(),
                );
            }
            let mut store = lookout_secrets::Store::open_in(dir, true)?;
            store.set(NR_SECRET, key)?;
            crate::datadir::audit(
                dir,
                "secret",
                &format!("{NR_SECRET} stored by the guided first run"),
            );
        }
        // the services not chosen are disabled, so auto-configuration leaves them out
        let found = self.found.borrow().clone();
        let d = match found {
            Some(d) => d,
            None => crate::autoconf::discover().unwrap_or_default(),
        };
        let mut o = crate::autoconf::Overrides::load(dir).unwrap_or_default();
        for id in d.ids() {
            let service = d
                .services
                .iter()
                .map(|s| lookout_discovery::render::source_id(&s.instance))
                .find(|s| crate::autoconf::belongs(&id, s))
                .unwrap_or(id.clone());
            if !choice.services.contains(&service) {
                o.disabled.insert(service);
            }
        }
        o.save(dir)?;
        let text = setup_yaml(choice, &dir.join("store"));
        let path = dir.join(SETUP_CONFIG);
        lookout_config::load_str(
            &path.display().to_string(),
            &text,
            &[],
            &lookout_config::process_env,
        )
        .map_err(|e| format!("the setup made an invalid configuration (a bug): {e}"))?;
        lookout_tail::write_atomic(&path, text.as_bytes()).map_err(|e| e.to_string())?;
        crate::datadir::audit(
            dir,
            "config",
            &format!("guided first run wrote {}", path.display()),
        );
        start_agent(&path, dir, &self.global)?;
        Ok(format!(
            "wrote {}; the agent is starting (log: {})",
            path.display(),
            dir.join("agent.log").display()
        ))
    }
}

/// Starts `lookout run` in the background, detached from this terminal, its log in the data
/// directory.
pub(crate) fn start_agent(config: &Path, dir: &Path, g: &Global) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("agent.log"))
        .map_err(|e| e.to_string())?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(dir)
        .args(g.set.iter().flat_map(|s| ["--set".to_string(), s.clone()]))
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0);
    cmd.spawn()
        .map(|_| ())
        .map_err(|e| format!("cannot start the agent: {e}"))
}

/// Entry point.
pub fn main(g: &Global, no_color: bool) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        eprintln!("error: `lookout tui` needs a terminal; for scripts use the commands it mirrors (see docs/tui.md)");
        return Ok(ExitCode::from(super::EXIT_CONFIG));
    }
    let dir = super::data_dir(g);
    let mut g = g.clone();
    // a configuration written by the guided first run is the one to use from then on
    if g.config.is_none() && dir.join(SETUP_CONFIG).exists() {
        g.config = Some(dir.join(SETUP_CONFIG));
    }
    let client = Client::new(&dir).with_timeout(std::time::Duration::from_secs(10));
    let running = client.get::<api::Status>(paths::STATUS).is_ok();
    let first_run = !running && g.config.is_none();
    let backend = ApiBackend {
        client,
        global: g.clone(),
    };
    let setup = FirstRun {
        data_dir: dir,
        global: g.clone(),
        found: std::cell::RefCell::new(None),
    };
    let opts = lookout_tui::Options {
        no_color: no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        ..lookout_tui::Options::default()
    };
    lookout_tui::run(&backend, Some(&setup), first_run, opts)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_first_run_choice_makes_a_valid_config_without_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = "eu01xxabcdefabcdefabcdefabcdefabcdefNRAL";
        lookout_secrets::Store::open(
            &lookout_secrets::Store::path(dir.path()),
            &lookout_secrets::load_key(&dir.path().join("secrets.key"), true).unwrap(),
        )
        .unwrap()
        .set(NR_SECRET, key)
        .unwrap();
        let g = Global {
            config: None,
            set: Vec::new(),
            data_dir: Some(dir.path().to_path_buf()),
            log_format: None,
            verbose: 0,
        };
        super::super::secrets_cmd::install_resolver(&g);
        for d in [
            Destination::LocalOnly,
            Destination::Otlp {
                endpoint: "http://127.0.0.1:4318".into(),
            },
            Destination::NewRelic {
                license_key: key.into(),
                region: "eu".into(),
            },
        ] {
            let choice = SetupChoice {
                destination: d.clone(),
                services: vec!["auto_redis_127_0_0_1_6379".into()],
            };
            let y = setup_yaml(&choice, &dir.path().join("store"));
            assert!(!y.contains(key), "{y}");
            let c = lookout_config::load_str("t", &y, &[], &lookout_config::process_env)
                .unwrap_or_else(|e| panic!("{d:?}: {e}\n{y}"));
            assert!(c.settings.autoconfig.enabled);
            if let Destination::NewRelic { .. } = d {
                assert!(y.contains("otlp.eu01.nr-data.net"));
                // the key is read from the store at load time, and masked when shown
                assert!(format!("{c:?}").contains(key));
                assert!(!lookout_config::to_yaml(&c).contains(key));
            }
        }
    }
}
