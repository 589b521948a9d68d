//! packaging/install.sh on this machine, as root: the .deb built from the binary under test
//! installed with a license key from the environment and an OTLP endpoint (a local receiver);
//! the key stored encrypted and handed to the service as a systemd credential, proven by the
//! `api-key` header the receiver gets; a second run that changes nothing; an upgrade keeping
//! the configuration; another endpoint and key; uninstall, purge, and both again. A signed
//! local apt repository (apt-ftparchive, a throwaway gpg key, a `file:` URL). Refusals: bad
//! options, a key on the command line, non-root, unknown distributions.
//!
//! systemd is not PID 1 here: `tests/support/fake_systemctl.sh` stands in for systemctl
//! (install.sh's LOOKOUT_INSTALL_SYSTEMCTL and LOOKOUT_INSTALL_INIT test hooks) and runs the
//! unit's ExecStart= as systemd would (its user, capabilities and credentials). Nothing leaves
//! loopback. The machine is left as it was (package purged, user, drop-in, repository and
//! agent gone), also when a test fails.

use crate::support::*;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const DROPIN: &str = "/etc/systemd/system/lookout.service.d/10-secrets.conf";
const APT_LIST: &str = "/etc/apt/sources.list.d/lookout.list";
/// What the release tarball installs.
const TARBALL_FILES: [&str; 7] = [
    "/usr/local/bin/lookout",
    "/etc/systemd/system/lookout.service",
    "/usr/local/libexec/lookout/lookout-helper",
    "/etc/systemd/system/lookout-helper.service",
    "/etc/systemd/system/lookout-helper.socket",
    "/usr/local/share/doc/lookout",
    "/usr/local/share/lookout",
];

fn is_root() -> bool {
    let o = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim() == "0"
}

fn sh(cmd: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new(cmd).args(args).output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// dpkg's status and version of the lookout package ("" when dpkg knows none).
fn dpkg_status() -> String {
    let (ok, out) = sh(
        "dpkg-query",
        &["-W", "-f", "${Status} ${Version}", "lookout"],
    );
    if ok {
        out.trim().to_string()
    } else {
        String::new()
    }
}

fn user_exists() -> bool {
    sh("getent", &["passwd", "lookout"]).0
}

/// The .debs of the binary under test, versions 0.1.0-1 and 0.1.1-1, built once per run.
fn debs() -> &'static (PathBuf, PathBuf) {
    static DEBS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DEBS.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-debs");
        let _ = std::fs::remove_dir_all(&out);
        let build = |version: &str| {
            let o = Command::new("bash")
                .arg(repo().join("packaging/deb/build.sh"))
                .args(["--binary", bin(), "--version", version, "--fast", "--out"])
                .arg(&out)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
        };
        (build("0.1.0-1"), build("0.1.1-1"))
    })
}

/// 40 random hex digits, the shape of a New Relic license key.
fn random_key() -> String {
    let mut b = [0u8; 20];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The stand-in for systemctl: its state directory and the agent's server port.
struct Fake {
    state: tempfile::TempDir,
    port: u16,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            state: tempfile::tempdir().unwrap(),
            port: free_port(),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "LOOKOUT_INSTALL_SYSTEMCTL".into(),
                repo()
                    .join("tests/support/fake_systemctl.sh")
                    .display()
                    .to_string(),
            ),
            ("LOOKOUT_INSTALL_INIT".into(), "systemd".into()),
            (
                "FAKE_SYSTEMCTL_STATE".into(),
                self.state.path().display().to_string(),
            ),
            // the installed configuration listens on 13133; another port keeps tests apart
            (
                "FAKE_SYSTEMCTL_ARGS".into(),
                format!("--set server.listen=127.0.0.1:{}", self.port),
            ),
        ]
    }

    /// The running agent's pid (an exited, unreaped process is not running).
    fn pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.state.path().join("lookout.service.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        alive(pid).then_some(pid)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join("lookout.service.log")).unwrap_or_default()
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with('Z'))
                .unwrap_or(false)
        })
        .unwrap_or(false)
}

/// Leaves the machine as it was: agent stopped, package purged, user, drop-in, repository,
/// configuration and data gone. Runs when the test ends, failed or not.
struct Cleanup<'a> {
    fake: Option<&'a Fake>,
    apt_lists: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let quiet = |cmd: &str, args: &[&str]| {
            let _ = Command::new(cmd)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        if let Some(f) = self.fake {
            if let Some(pid) = f.pid() {
                quiet("kill", &["-KILL", &pid.to_string()]);
            }
        }
        quiet("dpkg", &["--purge", "lookout"]);
        quiet("userdel", &["lookout"]);
        quiet("groupdel", &["lookout"]);
        for p in [
            "/etc/systemd/system/lookout.service.d",
            "/etc/lookout",
            "/var/lib/lookout",
            APT_LIST,
            "/etc/apt/keyrings/lookout.asc",
            "/etc/apt/keyrings/lookout.gpg",
        ]
        .into_iter()
        .chain(TARBALL_FILES)
        {
            let _ = std::fs::remove_dir_all(p).or_else(|_| std::fs::remove_file(p));
        }
        // apt's copies of the test repository's indexes
        for mangled in &self.apt_lists {
            if let Ok(rd) = std::fs::read_dir("/var/lib/apt/lists") {
                for e in rd.flatten() {
                    if e.file_name().to_string_lossy().contains(mangled.as_str()) {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
    }
}

/// Runs install.sh with `args` and `env` (standard input from `stdin`, else none); returns
/// (exit code, stdout and stderr as written). Killed, failing the test, after 3 minutes.
fn install_sh(args: &[&str], env: &[(String, String)], stdin: Option<&str>) -> (i32, String) {
    install_sh_as(&repo().join("packaging/install.sh"), &[], args, env, stdin)
}

fn install_sh_as(
    script: &Path,
    wrapper: &[&str],
    args: &[&str],
    env: &[(String, String)],
    stdin: Option<&str>,
) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let out_p = dir.path().join("out");
    let out = std::fs::File::create(&out_p).unwrap();
    let mut cmd = if let Some((first, rest)) = wrapper.split_first() {
        let mut c = Command::new(first);
        c.args(rest).arg("sh");
        c
    } else {
        Command::new("sh")
    };
    cmd.arg(script)
        .args(args)
        .env_remove("LOOKOUT_LICENSE_KEY")
        .env_remove("NEW_RELIC_LICENSE_KEY")
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        let mut i = child.stdin.take().unwrap();
        i.write_all(text.as_bytes()).unwrap();
    }
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "install.sh {args:?} did not finish in 3 minutes:\n{}",
                std::fs::read_to_string(&out_p).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&out_p).unwrap_or_default();
    eprintln!("--- install.sh {}\n{text}", args.join(" "));
    (status.code().unwrap_or(-1), text)
}

fn with(env: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = env.to_vec();
    v.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    v
}

/// Every regular file under `dirs`, recursively.
fn files_under(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                todo.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

/// Fails when `key` is in any file under `dirs` (read as bytes: the encrypted store, the
/// audit log, the agent's log, the configuration and its backups).
fn assert_key_in_no_file(key: &str, dirs: &[&Path]) -> usize {
    let files = files_under(dirs);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "the license key is in {} in clear",
            f.display()
        );
    }
    files.len()
}

/// Waits for an export of host metrics carrying the api-key whose SHA-256 is `digest`,
/// received after `since` (Unix seconds).
fn wait_for_key(receiver: &Receiver, digest: &str, since: f64, fake: &Fake) {
    let got = wait_for(Duration::from_secs(40), || {
        receiver.requests().into_iter().find(|r| {
            r["path"] == "/v1/metrics"
                && r["at"].as_f64().unwrap_or(0.0) >= since
                && r["api_key_sha256"] == digest
                && r["metrics"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m["name"] == "system.memory.usage"))
        })
    });
    assert!(
        got.is_some(),
        "no host metrics with the stored key reached the receiver: {:?}\nagent log:\n{}",
        receiver
            .requests()
            .iter()
            .map(|r| (r["path"].clone(), r["api_key_sha256"].clone()))
            .collect::<Vec<_>>(),
        fake.log()
    );
}

fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn backups() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("/etc/lookout")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains("lookout.yaml.bak-"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Nothing of lookout on this machine (else the test does not touch it).
fn machine_is_clean() -> bool {
    let status = dpkg_status();
    if !status.is_empty() && !status.contains("not-installed") {
        eprintln!("skipped: a lookout package is on this machine ({status}); not touching it");
        return false;
    }
    for p in ["/etc/lookout", "/var/lib/lookout", DROPIN, APT_LIST]
        .into_iter()
        .chain(TARBALL_FILES)
    {
        if Path::new(p).exists() {
            eprintln!("skipped: {p} exists on this machine; not touching it");
            return false;
        }
    }
    if user_exists() {
        eprintln!("skipped: a lookout user exists on this machine; not touching it");
        return false;
    }
    true
}

/// The machine for a test that installs lookout: as root, with `tools`, and no other test
/// installing at the same time (the guard); `None` (said why) when the test cannot run.
fn machine(tools: &[(&str, &str)]) -> Option<std::sync::MutexGuard<'static, ()>> {
    if !is_root() {
        eprintln!("skipped: install.sh needs root");
        return None;
    }
    for (tool, package) in tools {
        require(tool, package);
    }
    let guard = system_package_lock();
    machine_is_clean().then_some(guard)
}

#[test]
fn install_sh_installs_stores_the_key_delivers_is_idempotent_upgrades_and_uninstalls() {
    let Some(_machine) = machine(&[
        ("dpkg-deb", "apt-get install dpkg"),
        ("setpriv", "apt-get install util-linux"),
    ]) else {
        return;
    };
    let fake = Fake::new();
    let _cleanup = Cleanup {
        fake: Some(&fake),
        apt_lists: Vec::new(),
    };
    let (deb1, deb2) = debs();
    let receiver = Receiver::start(0, None);
    let key = random_key();
    let digest = lookout_remote::sha256_hex(key.as_bytes());
    let endpoint = format!("http://127.0.0.1:{}", receiver.port);
    let env = with(&fake.env(), &[("LOOKOUT_LICENSE_KEY", &key)]);
    let deb1 = deb1.display().to_string();
    let args1 = ["--package", &deb1, "--endpoint", &endpoint];

    // first install
    let started = now_unix();
    let (code, out) = install_sh(&args1, &env, None);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(&key), "the key in install.sh's output");
    assert_eq!(dpkg_status(), "install ok installed 0.1.0-1");
    assert!(user_exists());
    let pid = fake.pid().expect("the service runs");
    assert!(
        out.contains("- package: lookout 0.1.0-1 installed from")
            && out.contains("- secret newrelic_license_key: stored")
            && out.contains("- service: started"),
        "{out}"
    );
    // `lookout status` printed, from the agent the service runs
    assert!(out.contains(&format!("pid {pid}")), "{out}");
    assert!(out.contains("done: lookout 0.1.0-1 installed"), "{out}");
    wait_for_key(&receiver, &digest, started, &fake);
    let reqs = receiver.requests();
    assert!(
        reqs.iter().all(|r| r["api_key_sha256"] == digest.as_str()),
        "every request carries the stored key"
    );

    // what is on disk
    let key_meta = std::fs::metadata("/etc/lookout/secrets.key").unwrap();
    assert_eq!(
        (key_meta.uid(), key_meta.mode() & 0o777, key_meta.len()),
        (0, 0o600, 32),
        "the store's key is root's alone"
    );
    let dropin = std::fs::read_to_string(DROPIN).unwrap();
    assert!(
        dropin.contains("LoadCredential=lookout-secrets-key:/etc/lookout/secrets.key"),
        "{dropin}"
    );
    let lookout_uid = std::fs::metadata("/var/lib/lookout").unwrap().uid();
    assert_ne!(lookout_uid, 0);
    for f in files_under(&[Path::new("/var/lib/lookout")]) {
        assert_eq!(
            std::fs::metadata(&f).unwrap().uid(),
            lookout_uid,
            "{} is not the agent's",
            f.display()
        );
    }
    assert_eq!(
        std::fs::metadata("/var/lib/lookout")
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert!(Path::new("/var/lib/lookout/secrets.enc").exists());
    let config = std::fs::read_to_string("/etc/lookout/lookout.yaml").unwrap();
    assert!(
        config.contains(&format!("endpoint: \"{endpoint}\""))
            && config.contains("api-key: \"${secret:newrelic_license_key}\""),
        "{config}"
    );
    // the package's local defaults are all kept, in order
    let default = std::fs::read_to_string(repo().join("crates/config/default.yaml")).unwrap();
    let mut at = 0;
    for line in default
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let found = config[at..]
            .find(&format!("{line}\n"))
            .unwrap_or_else(|| panic!("`{line}` of default.yaml not kept in:\n{config}"));
        at += found + line.len();
    }
    let scanned = assert_key_in_no_file(
        &key,
        &[
            Path::new("/etc/lookout"),
            Path::new("/var/lib/lookout"),
            Path::new("/etc/systemd/system/lookout.service.d"),
            fake.state.path(),
        ],
    );
    assert!(scanned >= 5, "only {scanned} files scanned");
    // the package's default configuration it replaced is kept
    let first_backups = backups();
    assert_eq!(first_backups.len(), 1, "{first_backups:?}");
    assert_eq!(std::fs::read_to_string(&first_backups[0]).unwrap(), default);

    // the same again: nothing changes, the agent keeps running
    let enc = std::fs::read("/var/lib/lookout/secrets.enc").unwrap();
    let (code, out) = install_sh(&args1, &env, None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("already installed (unchanged)")
            && out.contains("- secret newrelic_license_key: unchanged")
            && out.contains("- config /etc/lookout/lookout.yaml: unchanged")
            && out.contains("- service: running; not restarted (nothing changed)")
            && out.contains("done: unchanged (lookout 0.1.0-1)"),
        "{out}"
    );
    assert!(
        !out.contains("- service: started") && !out.contains("- service: restarted"),
        "{out}"
    );
    assert_eq!(fake.pid(), Some(pid), "the agent was restarted");
    assert!(out.contains(&format!("pid {pid}")), "{out}");
    assert_eq!(
        std::fs::read_to_string("/etc/lookout/lookout.yaml").unwrap(),
        config
    );
    assert_eq!(std::fs::read("/var/lib/lookout/secrets.enc").unwrap(), enc);
    assert_eq!(backups(), first_backups);

    // an operator's edit, then a newer package: upgraded, the edited file kept
    let edited = format!("{config}# edited by the operator\n");
    std::fs::write("/etc/lookout/lookout.yaml", &edited).unwrap();
    let deb2 = deb2.display().to_string();
    let upgraded = now_unix();
    let (code, out) = install_sh(&["--package", &deb2, "--endpoint", &endpoint], &env, None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("- package: lookout upgraded from 0.1.0-1 to 0.1.1-1")
            && out.contains("- config /etc/lookout/lookout.yaml: unchanged")
            && out.contains("- service: restarted"),
        "{out}"
    );
    assert_eq!(dpkg_status(), "install ok installed 0.1.1-1");
    assert_eq!(
        std::fs::read_to_string("/etc/lookout/lookout.yaml").unwrap(),
        edited
    );
    let pid2 = fake.pid().expect("running after the upgrade");
    assert_ne!(pid2, pid);
    assert!(!alive(pid), "the old agent stopped");
    assert!(out.contains(&format!("pid {pid2}")), "{out}");
    wait_for_key(&receiver, &digest, upgraded, &fake);

    // another endpoint and another key: the key rotated, the configuration rewritten after a
    // backup of the edited one
    let receiver2 = Receiver::start(0, None);
    let endpoint2 = format!("http://127.0.0.1:{}", receiver2.port);
    let key2 = random_key();
    let digest2 = lookout_remote::sha256_hex(key2.as_bytes());
    let key_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key_file.path(), format!("{key2}\n")).unwrap();
    let key_path = key_file.path().display().to_string();
    let moved = now_unix();
    let (code, out) = install_sh(
        &[
            "--package",
            &deb2,
            "--endpoint",
            &endpoint2,
            "--license-key-file",
            &key_path,
        ],
        &env,
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(&key2) && !out.contains(&key));
    assert!(
        out.contains("- secret newrelic_license_key: replaced")
            && out.contains("validated (the previous one is /etc/lookout/lookout.yaml.bak-")
            && out.contains("- service: restarted"),
        "{out}"
    );
    let b = backups();
    assert_eq!(b.len(), 2, "{b:?}");
    let newest = b.iter().find(|p| !first_backups.contains(p)).unwrap();
    assert_eq!(std::fs::read_to_string(newest).unwrap(), edited);
    assert!(std::fs::read_to_string("/etc/lookout/lookout.yaml")
        .unwrap()
        .contains(&endpoint2));
    wait_for_key(&receiver2, &digest2, moved, &fake);
    for k in [&key, &key2] {
        assert_key_in_no_file(
            k,
            &[
                Path::new("/etc/lookout"),
                Path::new("/var/lib/lookout"),
                fake.state.path(),
            ],
        );
    }

    // uninstall: stopped, removed; configuration, data and user kept
    let pid3 = fake.pid().expect("running");
    let (code, out) = install_sh(&["--uninstall"], &fake.env(), None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("- service: stopped and disabled")
            && out.contains("- package: lookout removed")
            && out.contains(&format!("- removed {DROPIN}")),
        "{out}"
    );
    assert!(!alive(pid3), "the agent still runs");
    assert!(dpkg_status().starts_with("deinstall ok config-files"));
    assert!(!Path::new("/usr/bin/lookout").exists() && !Path::new(DROPIN).exists());
    for p in [
        "/etc/lookout/lookout.yaml",
        "/etc/lookout/secrets.key",
        "/var/lib/lookout/secrets.enc",
    ] {
        assert!(Path::new(p).exists(), "{p} was not kept");
    }
    assert!(user_exists());
    let (code, out) = install_sh(&["--uninstall"], &fake.env(), None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("lookout is not installed; its configuration and data remain"),
        "{out}"
    );

    // purge: asks for --yes without a terminal, then deletes everything
    let (code, out) = install_sh(&["--uninstall", "--purge"], &fake.env(), None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("add --yes to confirm"), "{out}");
    assert!(Path::new("/etc/lookout/secrets.key").exists());
    let (code, out) = install_sh(&["--uninstall", "--purge", "--yes"], &fake.env(), None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("- user lookout deleted"), "{out}");
    for p in ["/etc/lookout", "/var/lib/lookout"] {
        assert!(!Path::new(p).exists(), "{p} left after --purge");
    }
    assert!(!user_exists());
    assert!(!sh("getent", &["group", "lookout"]).0);
    let status = dpkg_status();
    assert!(
        status.is_empty() || status.contains("not-installed"),
        "{status}"
    );
    let (code, out) = install_sh(&["--uninstall", "--purge", "--yes"], &fake.env(), None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("lookout is not installed: nothing to remove"),
        "{out}"
    );
}

#[test]
fn install_sh_refuses_bad_options_keys_on_the_command_line_non_root_and_unknown_systems() {
    // none of these may change the machine; held anyway, so a regression cannot install
    // under the other tests
    let Some(_machine) = machine(&[]) else {
        return;
    };
    let _cleanup = Cleanup {
        fake: None,
        apt_lists: Vec::new(),
    };
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let os = |name: &str, text: &str| {
        let p = w.join(name);
        std::fs::write(&p, text).unwrap();
        vec![(
            "LOOKOUT_INSTALL_OS_RELEASE".to_string(),
            p.display().to_string(),
        )]
    };
    let fake_deb = w.join("lookout_9.9.9-1_amd64.deb");
    std::fs::write(&fake_deb, "not a package").unwrap();
    let fake_deb = fake_deb.display().to_string();
    let notes = w.join("notes.txt");
    std::fs::write(&notes, "x").unwrap();
    let notes = notes.display().to_string();
    let plan9 = os(
        "plan9",
        "NAME=\"Plan 9\"\nID=plan9\nPRETTY_NAME=\"Plan 9 from Bell Labs\"\n",
    );
    let rocky = os(
        "rocky",
        "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n",
    );
    let alpine = os(
        "alpine",
        "NAME=\"Alpine Linux\"\nID=alpine\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
    );
    let missing = vec![(
        "LOOKOUT_INSTALL_OS_RELEASE".to_string(),
        w.join("nope").display().to_string(),
    )];
    let none: Vec<(String, String)> = Vec::new();
    let argv_secret = "argv-secret-0123456789";
    let in_one = format!("--license-key={argv_secret}");
    // (arguments, environment, exit code, the message)
    type Case<'a> = (Vec<&'a str>, &'a Vec<(String, String)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["--bogus"], &none, 2, "unknown option: --bogus"),
        (vec!["extra"], &none, 2, "unexpected argument: extra"),
        (
            vec!["--license-key", argv_secret],
            &none,
            2,
            "a key is never taken from the command line",
        ),
        (
            vec![&in_one],
            &none,
            2,
            "a key is never taken from the command line",
        ),
        (vec!["--package"], &none, 2, "--package needs a value"),
        (vec!["--purge"], &none, 2, "--purge goes with --uninstall"),
        (
            vec!["--uninstall", "--package", &fake_deb],
            &none,
            2,
            "--uninstall takes no install options",
        ),
        (
            vec!["--repo", "https://packages.example.invalid/lookout"],
            &none,
            2,
            "--repo needs --repo-key",
        ),
        (
            vec!["--endpoint", "ftp://127.0.0.1/x"],
            &none,
            2,
            "--endpoint must be an http:// or https:// URL",
        ),
        (
            vec!["--endpoint", "http://127.0.0.1:1/\"x"],
            &none,
            2,
            "--endpoint must be an http:// or https:// URL",
        ),
        (
            vec!["--region", "mars"],
            &none,
            2,
            "--region must be us, eu or gov",
        ),
        (
            vec!["--region", "eu", "--endpoint", "http://127.0.0.1:1"],
            &none,
            2,
            "--region and --endpoint exclude each other",
        ),
        (
            vec!["--package", &fake_deb],
            &plan9,
            1,
            "is a .deb, for Debian and Ubuntu; Plan 9 from Bell Labs needs the release tarball lookout-<version>-linux-",
        ),
        (
            vec![],
            &plan9,
            1,
            "there is no lookout package for Plan 9 from Bell Labs (ID=plan9): install the release tarball",
        ),
        (
            vec!["--package", &fake_deb],
            &rocky,
            1,
            "is a .deb, for Debian and Ubuntu; Rocky Linux 9.3 (Blue Onyx) needs the .rpm",
        ),
        (vec![], &alpine, 1, "uses musl"),
        (vec![], &missing, 1, "cannot read"),
        (
            vec!["--package", &fake_deb],
            &none,
            1,
            "is not a Debian package",
        ),
        (
            vec!["--package", "/nonexistent/lookout_1_amd64.deb"],
            &none,
            1,
            "no package file /nonexistent/lookout_1_amd64.deb",
        ),
        (
            vec!["--package", &notes],
            &none,
            1,
            "not a .deb, .rpm or lookout-*.tar.gz",
        ),
        (
            vec!["--license-key-stdin", "--package", &fake_deb],
            &none,
            1,
            "the license key from standard input is empty",
        ),
        (
            vec!["--region", "eu", "--package", &fake_deb],
            &none,
            1,
            "--region needs the license key",
        ),
    ];
    for (args, env, want_code, want) in &cases {
        let (code, out) = install_sh(args, env, Some(""));
        assert_eq!(code, *want_code, "install.sh {args:?}:\n{out}");
        assert!(
            out.contains(want),
            "install.sh {args:?}: `{want}` not in:\n{out}"
        );
        assert!(!out.contains(argv_secret), "the key echoed:\n{out}");
    }
    let (code, out) = install_sh(&["--help"], &none, None);
    assert_eq!(code, 0);
    for opt in [
        "--package",
        "--repo-key",
        "--license-key-file",
        "--license-key-stdin",
        "LOOKOUT_LICENSE_KEY",
        "--region",
        "--endpoint",
        "--no-start",
        "--uninstall",
        "--purge",
    ] {
        assert!(out.contains(opt), "{opt} not in --help:\n{out}");
    }

    // not root: a copy another user can read, run as nobody
    let copy_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(copy_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = copy_dir.path().join("install.sh");
    std::fs::copy(repo().join("packaging/install.sh"), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out) = install_sh_as(
        &copy,
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ],
        &["--package", &fake_deb],
        &none,
        None,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("install.sh must run as root"), "{out}");

    assert!(machine_is_clean(), "a refused run changed the machine");
}

fn gpg(home: &Path, args: &[&str]) -> Vec<u8> {
    let o = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args([
            "--batch",
            "--quiet",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// A throwaway signing key in its own GNUPGHOME; its agent is stopped on drop.
struct GpgHome(tempfile::TempDir);

impl GpgHome {
    fn new(name: &str) -> GpgHome {
        let home = tempfile::tempdir().unwrap();
        gpg(
            home.path(),
            &[
                "--quick-gen-key",
                &format!("lookout test {name} <{name}@example.invalid>"),
                "ed25519",
                "sign",
                "1d",
            ],
        );
        GpgHome(home)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.0.path())
            .args(["--kill", "all"])
            .status();
    }
}

/// (Re)writes a flat apt repository's indexes over the .debs in `dir` and signs them.
fn publish(dir: &Path, key: &GpgHome) {
    let run = |args: &[&str]| {
        let o = Command::new("apt-ftparchive")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    for f in ["Packages", "Release", "InRelease", "Release.gpg"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let packages = run(&["packages", "."]);
    std::fs::write(dir.join("Packages"), packages).unwrap();
    let release = run(&["release", "."]);
    std::fs::write(dir.join("Release"), release).unwrap();
    let d = |f: &str| dir.join(f).display().to_string();
    gpg(
        key.path(),
        &["--clearsign", "-o", &d("InRelease"), &d("Release")],
    );
    gpg(
        key.path(),
        &[
            "--detach-sign",
            "--armor",
            "-o",
            &d("Release.gpg"),
            &d("Release"),
        ],
    );
}

#[test]
fn install_sh_installs_and_upgrades_from_a_signed_apt_repository_and_refuses_a_wrong_key() {
    let Some(_machine) = machine(&[
        ("apt-ftparchive", "apt-get install apt-utils"),
        ("gpg", "apt-get install gpg"),
    ]) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let repo_dir = work.path().join("repo");
    std::fs::create_dir(&repo_dir).unwrap();
    // apt names its copy of an index after the URL with / as _
    let mangled = repo_dir.display().to_string().replace('/', "_");
    let _cleanup = Cleanup {
        fake: None,
        apt_lists: vec![mangled],
    };
    let (deb1, deb2) = debs();
    let signer = GpgHome::new("repo");
    let other = GpgHome::new("other");
    let public = work.path().join("lookout-repo.asc");
    std::fs::write(&public, gpg(signer.path(), &["--armor", "--export"])).unwrap();
    std::fs::copy(deb1, repo_dir.join(deb1.file_name().unwrap())).unwrap();
    publish(&repo_dir, &signer);

    let url = format!("file:{}", repo_dir.display());
    let public_s = public.display().to_string();
    let args = ["--repo", &url, "--repo-key", &public_s];
    let env = vec![("LOOKOUT_INSTALL_INIT".to_string(), "none".to_string())];
    let (code, out) = install_sh(&args, &env, None);
    assert_eq!(code, 0, "{out}");
    assert_eq!(dpkg_status(), "install ok installed 0.1.0-1");
    assert!(
        out.contains(&format!("- package: lookout 0.1.0-1 installed from {url}")),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(APT_LIST)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
        format!("deb [signed-by=/etc/apt/keyrings/lookout.asc] {url} ./")
    );
    assert_eq!(
        std::fs::read("/etc/apt/keyrings/lookout.asc").unwrap(),
        std::fs::read(&public).unwrap()
    );
    // no systemd: the command that starts it
    assert!(
        out.contains("systemd does not run on this host")
            && out.contains(
                "runuser -u lookout -- /usr/bin/lookout run --config /etc/lookout/lookout.yaml --data-dir /var/lib/lookout"
            ),
        "{out}"
    );

    // a newer version published: upgraded; then nothing more to do
    std::fs::copy(deb2, repo_dir.join(deb2.file_name().unwrap())).unwrap();
    publish(&repo_dir, &signer);
    let (code, out) = install_sh(&args, &env, None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("- repository: /etc/apt/sources.list.d/lookout.list unchanged")
            && out.contains("- package: lookout upgraded from 0.1.0-1 to 0.1.1-1"),
        "{out}"
    );
    assert_eq!(dpkg_status(), "install ok installed 0.1.1-1");
    let (code, out) = install_sh(&args, &env, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("done: unchanged (lookout 0.1.1-1)"), "{out}");

    // the indexes signed by another key: refused, the installed package untouched
    publish(&repo_dir, &other);
    let (code, out) = install_sh(&args, &env, None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("apt-get update of the lookout repository failed")
            && out.contains("NO_PUBKEY"),
        "{out}"
    );
    assert_eq!(dpkg_status(), "install ok installed 0.1.1-1");

    // uninstall --purge takes the repository away too
    let (code, out) = install_sh(&["--uninstall", "--purge", "--yes"], &env, None);
    assert_eq!(code, 0, "{out}");
    assert!(!Path::new(APT_LIST).exists() && !Path::new("/etc/apt/keyrings/lookout.asc").exists());
    assert!(machine_is_clean());
}

#[test]
fn install_sh_installs_the_release_tarball_where_no_package_format_fits() {
    let Some(_machine) = machine(&[("setpriv", "apt-get install util-linux")]) else {
        return;
    };
    let fake = Fake::new();
    let _cleanup = Cleanup {
        fake: Some(&fake),
        apt_lists: Vec::new(),
    };
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (code, _, err) = lookout(&[
        "config",
        "keygen",
        "--key-id",
        "release-test",
        "--out",
        w.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let o = Command::new("bash")
        .arg(repo().join("packaging/release.sh"))
        .args(["--binary", bin(), "--key"])
        .arg(w.join("release-test.key"))
        .arg("--out")
        .arg(w.join("dist"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tarball = String::from_utf8_lossy(&o.stdout).trim().to_string();
    // a glibc distribution with neither .deb nor .rpm
    let os_release = w.join("os-release");
    std::fs::write(
        &os_release,
        "NAME=\"Arch Linux\"\nID=arch\nPRETTY_NAME=\"Arch Linux\"\n",
    )
    .unwrap();
    let env = with(
        &fake.env(),
        &[("LOOKOUT_INSTALL_OS_RELEASE", os_release.to_str().unwrap())],
    );
    let receiver = Receiver::start(0, None);
    let endpoint = format!("http://127.0.0.1:{}", receiver.port);
    let key = random_key();
    let env_key = with(&env, &[("NEW_RELIC_LICENSE_KEY", &key)]);
    let args = ["--package", &tarball, "--endpoint", &endpoint];
    let started = now_unix();
    let (code, out) = install_sh(&args, &env_key, None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Arch Linux (the release tarball)")
            && out.contains("matches SHA256SUMS")
            && out.contains("- user: lookout (system user) created")
            && out.contains("installed from"),
        "{out}"
    );
    assert!(!out.contains(&key));
    let meta = std::fs::metadata("/usr/local/bin/lookout").unwrap();
    assert_eq!(meta.mode() & 0o777, 0o755);
    let unit = std::fs::read_to_string("/etc/systemd/system/lookout.service").unwrap();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/lookout run --config /etc/lookout/lookout.yaml"),
        "{unit}"
    );
    assert!(Path::new("/usr/local/share/doc/lookout/README.md").exists());
    // the root helper, its unit pointing at where the tarball put it, its socket enabled
    let helper = std::fs::read_to_string("/etc/systemd/system/lookout-helper.service").unwrap();
    assert!(
        helper.contains("ExecStart=/usr/local/libexec/lookout/lookout-helper serve"),
        "{helper}"
    );
    assert!(
        out.contains("- root helper: lookout-helper.socket enabled"),
        "{out}"
    );
    let (ok, pw) = sh("getent", &["passwd", "lookout"]);
    assert!(ok && pw.contains("nologin"), "{pw}");
    let pid = fake.pid().expect("the service runs");
    assert!(out.contains(&format!("pid {pid}")), "{out}");
    let digest = lookout_remote::sha256_hex(key.as_bytes());
    wait_for_key(&receiver, &digest, started, &fake);

    let (code, out) = install_sh(&args, &env_key, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("done: unchanged"), "{out}");
    assert_eq!(fake.pid(), Some(pid));

    let (code, out) = install_sh(&["--uninstall", "--purge", "--yes"], &env, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("- release tarball files removed"), "{out}");
    assert!(!alive(pid));
    for p in TARBALL_FILES {
        assert!(!Path::new(p).exists(), "{p} left after --uninstall");
    }
    assert!(machine_is_clean());
}

#[test]
fn install_sh_and_its_test_systemctl_pass_shellcheck() {
    require("shellcheck", "apt-get install shellcheck");
    for f in ["packaging/install.sh", "tests/support/fake_systemctl.sh"] {
        let o = Command::new("shellcheck")
            .arg(repo().join(f))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "shellcheck {f}:\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}
