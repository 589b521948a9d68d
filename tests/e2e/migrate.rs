//! `lookout migrate-infra` on a fake installed Infrastructure agent: its files laid out as the
//! package lays them out under a temporary root, a stand-in process in place of its binary.
//! The migration is previewed, refused when the result would not validate (nothing changed),
//! done (lookout runs the converted configuration and delivers to a local OTLP receiver, the
//! old agent is stopped), repeated harmlessly, and rolled back byte for byte.

use crate::support::*;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const KEY: &str = "eu01xxf00dfacecafe0123456789abcdefNRAL";

/// Every file of the agent's under a directory (its state under var/log and var/run left
/// out): path → (mode, bytes).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.ends_with("var/log") || d.ends_with("var/run") {
            continue;
        }
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else if m.is_file() {
                out.insert(
                    p.clone(),
                    (m.permissions().mode() & 0o7777, std::fs::read(&p).unwrap()),
                );
            }
        }
    }
    out
}

struct FakeAgent {
    root: tempfile::TempDir,
    log: PathBuf,
}

impl FakeAgent {
    fn bin(&self) -> PathBuf {
        self.root.path().join("usr/bin/newrelic-infra")
    }

    fn pid_file(&self) -> PathBuf {
        self.root
            .path()
            .join("var/run/newrelic-infra/newrelic-infra.pid")
    }

    /// The stand-in's pid, when one runs (found by its command line, as the migration does).
    fn running(&self) -> Option<u32> {
        let bin = self.bin().display().to_string();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'));
            if !zombie && raw.split(|b| *b == 0).any(|a| a == bin.as_bytes()) {
                return Some(pid);
            }
        }
        None
    }

    fn start(&self) -> Child {
        let _ = std::fs::remove_file(self.pid_file());
        let child = Command::new("/bin/sh")
            .arg(self.bin())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for(Duration::from_secs(10), || {
            self.pid_file().exists().then_some(())
        })
        .expect("the stand-in wrote its pid file");
        child
    }
}

impl Drop for FakeAgent {
    fn drop(&mut self) {
        while let Some(pid) = self.running() {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Lays out the agent as its .deb does: /etc/newrelic-infra.yml (0600: it holds the key),
/// /etc/newrelic-infra/{integrations.d,logging.d}, the unit with an NRIA_ variable, the binary.
fn fake_agent(integration_interval: &str) -> FakeAgent {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let log = r.join("var/log/app/app.log");
    write(&log, "", 0o644);
    write(
        &r.join("etc/newrelic-infra.yml"),
        &format!(
            "# New Relic Infrastructure agent\nlicense_key: {KEY}\ndisplay_name: shop-db-01\ncustom_attributes:\n  team: storage\n  environment: e2e\nenable_process_metrics: true\ninclude_matching_metrics:\n  process.name:\n    - mariadbd\n    - postgres\n    - redis-server\n    - regex \"^lookou\"\nmetrics_process_sample_rate: 2\nmetrics_system_sample_rate: 2\nmetrics_storage_sample_rate: 5\nmetrics_network_sample_rate: 5\nlog:\n  level: info\n  file: /var/log/newrelic-infra/newrelic-infra.log\ndpkg_interval_sec: 60\nstatus_server_enabled: true\n"
        ),
        0o600,
    );
    write(
        &r.join("etc/newrelic-infra/integrations.d/redis-config.yml"),
        &format!("integrations:\n  - name: nri-redis\n    env:\n      HOSTNAME: localhost\n      PORT: 6379\n      KEYS_LIMIT: 30\n    interval: {integration_interval}\n    labels:\n      env: e2e\n"),
        0o644,
    );
    write(
        &r.join("etc/newrelic-infra/integrations.d/nginx-config.yml"),
        "integration_name: com.newrelic.nginx\ninstances:\n  - name: nginx-server-inventory\n    command: inventory\n    arguments:\n      config_path: /etc/nginx/nginx.conf\n",
        0o644,
    );
    write(
        &r.join("etc/newrelic-infra/logging.d/app.yml"),
        &format!(
            "logs:\n  - name: app\n    file: {}\n    pattern: ERROR\n    attributes:\n      logtype: app\n  - name: syslog\n    syslog:\n      uri: tcp://127.0.0.1:5140\n",
            log.display()
        ),
        0o644,
    );
    write(
        &r.join("etc/systemd/system/newrelic-infra.service"),
        "[Unit]\nDescription=New Relic Infrastructure Agent\n\n[Service]\nExecStart=/usr/bin/newrelic-infra-service\nEnvironment=NRIA_OVERRIDE_HOSTNAME_SHORT=shop-db\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n",
        0o644,
    );
    write(&r.join("var/db/newrelic-infra/VERSION"), "1.57.1\n", 0o644);
    let pid_file = r.join("var/run/newrelic-infra/newrelic-infra.pid");
    std::fs::create_dir_all(pid_file.parent().unwrap()).unwrap();
    write(
        &r.join("usr/bin/newrelic-infra"),
        &format!(
            "#!/bin/sh\n# stand-in for the agent's binary\necho $$ > {}\nwhile :; do sleep 1; done\n",
            pid_file.display()
        ),
        0o755,
    );
    FakeAgent { root, log }
}

/// The move waits for data and compares for a few seconds: a longer limit than `lookout()`'s.
fn lookout_long(args: &[&str]) -> (i32, String, String) {
    lookout_within(args, Duration::from_secs(150))
}

/// Stops the lookout agent of a data directory, if one runs (the test's own cleanup).
fn stop_lookout(data: &Path) {
    if let Ok(t) = std::fs::read_to_string(data.join("agent.json")) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) {
            if let Some(pid) = v["pid"].as_u64() {
                let _ = Command::new("kill").arg(pid.to_string()).status();
                let _ = wait_for(Duration::from_secs(15), || {
                    (!Path::new(&format!("/proc/{pid}")).exists()
                        || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                            .is_ok_and(|s| s.contains(") Z")))
                    .then_some(())
                });
            }
        }
    }
}

struct StopOnDrop(PathBuf);
impl Drop for StopOnDrop {
    fn drop(&mut self) {
        stop_lookout(&self.0);
    }
}

#[test]
fn a_failed_validation_changes_nothing() {
    // an interval of 0 converts, but lookout refuses it: the host must stay as it was
    let fake = fake_agent("0");
    let mut child = fake.start();
    let before = snapshot(fake.root.path());
    let data = tempfile::tempdir().unwrap();
    let d = data.path().join("state");
    let root = fake.root.path().display().to_string();
    let (code, out, err) = lookout_long(&[
        "--data-dir",
        d.to_str().unwrap(),
        "migrate-infra",
        "--root",
        &root,
        "--parity",
        "2",
    ]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("not valid") && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(err.contains("interval"), "the reason: {err}");
    assert_eq!(snapshot(fake.root.path()), before);
    assert!(fake.running().is_some(), "the old agent still runs");
    assert!(
        !d.join("lookout.yaml").exists()
            && !d.join("secrets.enc").exists()
            && !d.join("migrate-infra").exists()
    );
    assert!(!err.contains(KEY) && !out.contains(KEY));
    // a placeholder left in: file:line:column, nothing changed either
    write(
        &fake.root.path().join("etc/newrelic-infra.yml"),
        "license_key: <YOUR_LICENSE_KEY>\n",
        0o600,
    );
    let (code, _, err) = lookout_long(&[
        "--data-dir",
        d.to_str().unwrap(),
        "migrate-infra",
        "--root",
        &root,
        "--dry-run",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!(
            "{root}/etc/newrelic-infra.yml:1:1: `license_key` is still a placeholder"
        )),
        "{err}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn migrate_run_twice_and_roll_back_byte_for_byte() {
    let fake = fake_agent("10s");
    let mut first = fake.start();
    let original = snapshot(fake.root.path());
    let old_pid = fake.running().expect("the stand-in runs");
    let data = tempfile::tempdir().unwrap();
    let d = data.path().join("state");
    let _cleanup = StopOnDrop(d.clone());
    let dd = d.to_str().unwrap();
    let root = fake.root.path().display().to_string();
    let receiver = Receiver::start(0, None);
    let endpoint = format!("http://127.0.0.1:{}", receiver.port);
    let listen = format!("server.listen=127.0.0.1:{}", free_port());

    // 1. the preview: everything found, nothing changed
    let (code, out, err) = lookout_long(&[
        "--data-dir",
        dd,
        "migrate-infra",
        "--root",
        &root,
        "--dry-run",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], true, "{}", v["error"]);
    assert_eq!(v["region"], "eu");
    assert_eq!(v["detected"]["version"], "1.57.1");
    assert_eq!(v["detected"]["pid"], old_pid);
    assert_eq!(
        v["detected"]["env_names"][0],
        "NRIA_OVERRIDE_HOSTNAME_SHORT"
    );
    let cfg = v["config"].as_str().unwrap();
    assert!(
        cfg.contains("https://otlp.eu01.nr-data.net")
            && cfg.contains("${secret:newrelic_license_key}"),
        "{cfg}"
    );
    let keys: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    for k in [
        "license_key",
        "enable_process_metrics",
        "dpkg_interval_sec",
        "log.file",
        "logs[1] (syslog).syslog",
        "integrations[0] (nri-redis).KEYS_LIMIT",
        "instances[0] (nginx-server-inventory) command: inventory",
        "override_hostname_short",
    ] {
        assert!(keys.contains(&k), "no row for {k}: {keys:?}");
    }
    assert!(v["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["attribute"] == "cpuPercent"));
    let (code, text_out, _) = lookout_long(&[
        "--data-dir",
        dd,
        "migrate-infra",
        "--root",
        &root,
        "--dry-run",
    ]);
    assert_eq!(code, 0);
    assert!(
        text_out.contains("not mapped")
            && text_out.contains("memoryResidentSizeBytes")
            && text_out.contains("the configuration is valid"),
        "{text_out}"
    );
    assert_eq!(
        snapshot(fake.root.path()),
        original,
        "the preview changed the host"
    );
    assert!(!d.join("lookout.yaml").exists());

    // 2. the move
    let (code, out, err) = lookout_long(&[
        "--data-dir",
        dd,
        "--set",
        &listen,
        "migrate-infra",
        "--root",
        &root,
        "--endpoint",
        &endpoint,
        "--parity",
        "4",
        "--remove-old",
        "--json",
    ]);
    assert_eq!(
        code,
        0,
        "{out}\n{err}\n{}",
        std::fs::read_to_string(d.join("agent.log")).unwrap_or_default()
    );
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["ok"], true, "{s:#}");
    let parity = s["parity"].as_array().unwrap();
    assert!(
        parity.len() >= 4,
        "memory, disk, CPU and at least one process: {s:#}"
    );
    assert!(
        parity
            .iter()
            .any(|r| r["check"].as_str().unwrap().starts_with("RSS of ")),
        "{s:#}"
    );
    assert_eq!(s["old_agent"], "stopped, uninstalled");
    let _ = first.wait();
    assert!(fake.running().is_none(), "the old agent was stopped");
    // lookout runs the converted configuration and delivers: host metrics with the
    // attributes carried over, the matching log line and not the other
    append(&fake.log, "INFO all good\nERROR disk almost full\n");
    let metric_names = |reqs: &[serde_json::Value]| -> Vec<String> {
        reqs.iter()
            .flat_map(|r| r["metrics"].as_array().cloned().unwrap_or_default())
            .map(|m| m["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let bodies = |reqs: &[serde_json::Value]| -> Vec<String> {
        reqs.iter()
            .flat_map(|r| r["log_bodies"].as_array().cloned().unwrap_or_default())
            .map(|b| b.as_str().unwrap_or_default().to_string())
            .collect()
    };
    let got = wait_for(Duration::from_secs(40), || {
        let reqs = receiver.requests();
        let names = metric_names(&reqs);
        let has_host = names.iter().any(|m| m == "system.memory.usage");
        let has_proc = names.iter().any(|m| m == "process.memory.usage");
        let error_line = bodies(&reqs).iter().any(|b| b == "ERROR disk almost full");
        (has_host && has_proc && error_line).then_some(reqs)
    })
    .unwrap_or_else(|| {
        let reqs = receiver.requests();
        let mut names = metric_names(&reqs);
        names.sort();
        names.dedup();
        panic!(
            "host, process metrics and the ERROR line did not all reach the receiver: metrics {names:?}, logs {:?}\n{}",
            bodies(&reqs),
            std::fs::read_to_string(d.join("agent.log")).unwrap_or_default(),
        )
    });
    assert!(
        !bodies(&got).iter().any(|b| b == "INFO all good"),
        "the pattern filters"
    );
    assert!(
        got.iter().all(|r| r["api_key"] == true),
        "every request carries the api-key header"
    );
    let resource: Vec<serde_json::Value> = got
        .iter()
        .flat_map(|r| r["metrics"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["name"] == "system.memory.usage")
        .map(|m| m["resource"].clone())
        .collect();
    let res = &resource[0];
    assert_eq!(res["team"], "storage", "{res}");
    assert_eq!(res["environment"], "e2e", "{res}");
    assert_eq!(res["displayName"], "shop-db-01", "{res}");
    assert_eq!(
        res["hostname"], "shop-db",
        "from NRIA_OVERRIDE_HOSTNAME_SHORT: {res}"
    );
    // the key: in the request header only, never in a file of lookout's
    let config = std::fs::read_to_string(d.join("lookout.yaml")).unwrap();
    for f in [
        "lookout.yaml",
        "audit.log",
        "agent.log",
        "migrate-infra/state.json",
    ] {
        let t = std::fs::read_to_string(d.join(f)).unwrap_or_default();
        assert!(!t.contains(KEY), "the license key is in {f}");
    }
    assert!(!out.contains(KEY) && !err.contains(KEY));
    let audit = std::fs::read_to_string(d.join("audit.log")).unwrap();
    for step in [
        "backed up",
        "wrote",
        "started lookout",
        "parity check",
        "old agent stopped",
        "old agent uninstalled",
        "done",
    ] {
        assert!(audit.contains(step), "audit log lacks {step}: {audit}");
    }
    // uninstalled as a package removal does: the binary and the unit go, the configuration stays
    let now = snapshot(fake.root.path());
    let unit = fake
        .root
        .path()
        .join("etc/systemd/system/newrelic-infra.service");
    assert!(
        !now.contains_key(&fake.bin()) && !now.contains_key(&unit),
        "binary and unit removed"
    );
    for (p, v) in &now {
        assert_eq!(original.get(p), Some(v), "{} changed", p.display());
    }
    assert_eq!(now.len(), original.len() - 2);

    // 3. again: harmless
    let pid_before = std::fs::read_to_string(d.join("agent.json")).unwrap();
    let (code, out, _) = lookout_long(&["--data-dir", dd, "migrate-infra", "--root", &root]);
    assert_eq!(code, 0);
    assert!(out.contains("already migrated"), "{out}");
    assert_eq!(
        std::fs::read_to_string(d.join("lookout.yaml")).unwrap(),
        config
    );
    assert_eq!(
        std::fs::read_to_string(d.join("agent.json")).unwrap(),
        pid_before
    );

    // 4. rollback: lookout stopped, every file as it was, the old agent running again
    let (code, out, err) = lookout_long(&["--data-dir", dd, "migrate-infra", "--rollback"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("started again"), "{out}");
    assert!(
        wait_for(Duration::from_secs(10), || fake.running()).is_some(),
        "the old agent runs again"
    );
    let after = snapshot(fake.root.path());
    for (p, want) in &original {
        assert_eq!(
            after.get(p),
            Some(want),
            "{} differs after the rollback",
            p.display()
        );
    }
    assert_eq!(after.len(), original.len());
    assert!(
        !d.join("lookout.yaml").exists(),
        "the configuration the migration wrote is gone"
    );
    let agent = std::fs::read_to_string(d.join("agent.json")).unwrap_or_default();
    let pid: u64 = serde_json::from_str::<serde_json::Value>(&agent)
        .ok()
        .and_then(|v| v["pid"].as_u64())
        .unwrap_or(0);
    assert!(
        wait_for(Duration::from_secs(15), || (!Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists())
        .then_some(()))
        .is_some()
            || pid == 0,
        "lookout was stopped"
    );
    let (code, list, _) = lookout(&["--data-dir", dd, "secrets", "list", "--json"]);
    assert_eq!(code, 0);
    assert!(
        !list.contains("newrelic_license_key"),
        "the migration's secret is removed: {list}"
    );
}
