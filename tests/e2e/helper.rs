//! The root helper (`lookout-helper`, docs/helper.md): its units verify and are confined; an
//! agent running as an unprivileged user applies a new configuration to a root-owned file
//! through it (and says why when there is no helper); a user it does not allow is refused; and
//! systemd's socket activation hands it its socket.

use crate::support::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn helper_bin() -> &'static str {
    env!("CARGO_BIN_EXE_lookout-helper")
}

fn is_root() -> bool {
    let o = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim() == "0"
}

fn analyze(args: &[&str], unit: &Path) -> Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .unwrap()
}

#[test]
fn the_helper_units_verify_and_the_service_is_confined() {
    require("systemd-analyze", "apt-get install systemd");
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("packaging/systemd");
    for name in ["lookout-helper.service", "lookout-helper.socket"] {
        let text = std::fs::read_to_string(src.join(name))
            .unwrap()
            .replace("/usr/libexec/lookout/lookout-helper", helper_bin());
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let o = analyze(&["verify"], &dir.path().join("lookout-helper.socket"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.trim().is_empty(),
        "systemd-analyze verify: {err}"
    );
    let o = analyze(
        &["security", "--offline=yes", "--no-pager"],
        &dir.path().join("lookout-helper.service"),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no score: {out}{}", String::from_utf8_lossy(&o.stderr)));
    eprintln!("lookout-helper.service: {line}");
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        score <= 3.0,
        "a root service this narrow must stay OK: {line}"
    );
    // the socket is the only door, and only root and the agent's group may open it
    let sock = std::fs::read_to_string(src.join("lookout-helper.socket")).unwrap();
    for want in ["SocketUser=root", "SocketGroup=lookout", "SocketMode=0660"] {
        assert!(sock.contains(want), "the socket unit lacks {want}");
    }
    let svc = std::fs::read_to_string(src.join("lookout-helper.service")).unwrap();
    for want in [
        "ReadWritePaths=/etc/lookout\n",
        "PrivateNetwork=yes",
        "RestrictAddressFamilies=AF_UNIX\n",
        "--config-file /etc/lookout/lookout.yaml",
    ] {
        assert!(svc.contains(want), "the helper unit lacks {want}");
    }
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A command run as uid 65534 (group 65534), without capabilities.
fn nobody(program: &str) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program);
    c
}

fn config_text(port: u16, interval: &str) -> String {
    format!(
        "server:\n  listen: 127.0.0.1:{port}\nsources:\n  host: {{type: host_metrics, interval: {interval}}}\nsinks:\n  prom: {{type: prometheus, inputs: [host]}}\n"
    )
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
    state: PathBuf,
    socket: PathBuf,
    port: u16,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let etc = root.join("etc");
    std::fs::create_dir(&etc).unwrap();
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let port = free_port();
    let config = etc.join("lookout.yaml");
    std::fs::write(&config, config_text(port, "10s")).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let state = root.join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(Command::new("chown")
        .args(["65534:65534", state.to_str().unwrap()])
        .status()
        .unwrap()
        .success());
    let socket = root.join("run/helper.sock");
    Setup {
        _dir: dir,
        root,
        config,
        state,
        socket,
        port,
    }
}

fn start_agent(s: &Setup, helper_socket: &Path) -> Kill {
    let agent = nobody(bin())
        .args(["run", "--config", s.config.to_str().unwrap(), "--data-dir"])
        .arg(&s.state)
        .env("LOOKOUT_HELPER_SOCKET", helper_socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let agent = Kill(agent);
    assert!(
        wait_for(Duration::from_secs(20), || http_get(s.port, "/health")
            .filter(|(c, _)| *c == 200))
        .is_some(),
        "the agent did not start"
    );
    agent
}

fn apply_as_nobody(s: &Setup, file: &Path) -> serde_json::Value {
    let o = nobody(bin())
        .arg("--data-dir")
        .arg(&s.state)
        .args(["config", "apply", file.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn an_unprivileged_agent_applies_its_root_owned_configuration_through_the_helper() {
    if !is_root() {
        eprintln!("skipped: needs root to own the configuration and run the agent as another user");
        return;
    }
    require("setpriv", "apt-get install util-linux");
    let s = setup();
    let new = s.root.join("new.yaml");
    std::fs::write(&new, config_text(s.port, "2s")).unwrap();
    std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o644)).unwrap();

    // without a helper: refused, saying why and what to do; the file is untouched
    {
        let _agent = start_agent(&s, &s.root.join("run/none.sock"));
        let r = apply_as_nobody(&s, &new);
        assert_ne!(r["applied"], true, "{r}");
        let e = r["error"].as_str().unwrap_or_default();
        assert!(
            e.contains("Permission denied") && e.contains("no root helper"),
            "{r}"
        );
        assert_eq!(
            std::fs::read_to_string(&s.config).unwrap(),
            config_text(s.port, "10s")
        );
    }

    // with the helper (root) allowing uid 65534 to replace exactly this file
    let log = s.root.join("helper.log");
    let helper = Command::new(helper_bin())
        .args(["serve", "--socket", s.socket.to_str().unwrap()])
        .args(["--allow-user", "65534", "--config-file"])
        .arg(&s.config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _helper = Kill(helper);
    assert!(wait_for(Duration::from_secs(10), || s.socket.exists().then_some(())).is_some());
    let m = std::fs::metadata(&s.socket).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (0, 65534, 0o660));

    let _agent = start_agent(&s, &s.socket);
    let before = http_get(s.port, "/status").unwrap().1;
    let r = apply_as_nobody(&s, &new);
    assert_eq!(r["applied"], true, "{r}");
    assert_eq!(
        std::fs::read_to_string(&s.config).unwrap(),
        config_text(s.port, "2s")
    );
    let m = std::fs::metadata(&s.config).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.mode() & 0o777),
        (0, 0, 0o644),
        "the file keeps its owner and mode"
    );
    let after = http_get(s.port, "/status").unwrap().1;
    let hash =
        |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap()["config_hash"].clone();
    assert_ne!(hash(&before), hash(&after), "the agent runs the new text");
    assert_eq!(hash(&after), r["config_hash"]);
    let audit = std::fs::read_to_string(s.state.join("audit.log")).unwrap_or_default();
    assert!(audit.contains("by the root helper"), "{audit}");
    let hlog = std::fs::read_to_string(&log).unwrap();
    assert!(
        hlog.contains("peer uid=65534")
            && hlog.contains("op=write_config")
            && hlog.contains("-> ok"),
        "{hlog}"
    );

    // the helper's own client, as a user it does not allow (in the socket's group, so the
    // connection itself is possible): refused by its credentials
    let o = Command::new("setpriv")
        .args(["--reuid=65533", "--regid=65534", "--clear-groups", "--"])
        .arg(helper_bin())
        .args(["ping", "--socket", s.socket.to_str().unwrap()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success());
    assert!(out.contains("peer_refused"), "{out}");
    // and the allowed one learns what it may write
    let o = nobody(helper_bin())
        .args(["ping", "--socket", s.socket.to_str().unwrap()])
        .output()
        .unwrap();
    let ping: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(ping["paths"][0], s.config.display().to_string(), "{ping}");
}

#[test]
fn systemd_socket_activation_hands_the_helper_its_socket() {
    if !is_root() {
        eprintln!("skipped: the helper writes root's files; run the tests as root");
        return;
    }
    require("systemd-socket-activate", "apt-get install systemd");
    let s = setup();
    std::fs::create_dir_all(s.socket.parent().unwrap()).unwrap();
    let child = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(&s.socket)
        .arg(helper_bin())
        .args(["serve", "--allow-user", "65534", "--idle-exit", "1"])
        // the default socket path is not where systemd listens: the passed one is used
        .args(["--socket", "/nonexistent/helper.sock", "--config-file"])
        .arg(&s.config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Kill(child);
    assert!(wait_for(Duration::from_secs(10), || s.socket.exists().then_some(())).is_some());
    let new = config_text(s.port, "5s");
    let r = lookout_helper::call(
        &s.socket,
        &lookout_helper::Request {
            version: 1,
            op: "write_config".into(),
            path: Some(s.config.display().to_string()),
            content: Some(new.clone()),
            expect_sha256: Some(lookout_helper::sha256_hex(
                config_text(s.port, "10s").as_bytes(),
            )),
        },
    )
    .unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), new);
    assert!(!Path::new("/nonexistent/helper.sock").exists());
    // idle for a second: it exits (systemd would start it again on the next connection)
    let exited = wait_for(Duration::from_secs(10), || {
        child.0.try_wait().ok().flatten().map(|st| st.success())
    });
    assert_eq!(exited, Some(true), "the helper did not exit when idle");
}
