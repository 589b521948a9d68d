//! The .deb (packaging/deb/build.sh, Debian's dpkg-deb): built from the binary under test,
//! installed on this machine with dpkg, run as the systemd unit would run it (the `lookout`
//! user the package made, the unit's capabilities, its paths), upgraded keeping the edited
//! configuration and the state, removed keeping both, purged deleting both. The machine is
//! left as it was (package purged, user deleted).

use crate::support::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

fn build(version: &str, out: &Path) -> std::path::PathBuf {
    let o = Command::new("bash")
        .arg(repo().join("packaging/deb/build.sh"))
        .args(["--binary", bin(), "--version", version, "--fast", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
}

fn installed_version() -> Option<String> {
    let (ok, out) = sh(
        "dpkg-query",
        &["-W", "-f", "${Status} ${Version}", "lookout"],
    );
    (ok && out.starts_with("install ok installed"))
        .then(|| out.rsplit(' ').next().unwrap().to_string())
}

struct Cleanup;
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("dpkg")
            .args(["--purge", "lookout"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("deluser")
            .args(["--system", "lookout"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn the_deb_installs_runs_as_the_unit_would_upgrades_and_uninstalls_cleanly() {
    let me = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        eprintln!("skipped: installing a package needs root");
        return;
    }
    require("dpkg-deb", "apt-get install dpkg");
    require("setpriv", "apt-get install util-linux");
    // install.rs installs the same package and user: one at a time
    let _machine = system_package_lock();
    if installed_version().is_some() || Path::new("/etc/lookout").exists() {
        eprintln!("skipped: a lookout package or /etc/lookout is already on this machine; not touching it");
        return;
    }
    let _cleanup = Cleanup;
    let dir = tempfile::tempdir().unwrap();
    let deb1 = build("0.1.0-1", dir.path());
    eprintln!(
        "package {}: {} bytes (debug binary, gzip -1)",
        deb1.display(),
        std::fs::metadata(&deb1).unwrap().len()
    );
    let (_, info) = sh("dpkg-deb", &["--info", deb1.to_str().unwrap()]);
    assert!(
        info.contains("Package: lookout") && info.contains("Depends: adduser"),
        "{info}"
    );
    let (_, contents) = sh("dpkg-deb", &["--contents", deb1.to_str().unwrap()]);
    for f in [
        "./usr/bin/lookout",
        "./etc/lookout/lookout.yaml",
        "./lib/systemd/system/lookout.service",
        "./lib/systemd/system/lookout-helper.socket",
        "./lib/systemd/system/lookout-helper.service",
        "./usr/libexec/lookout/lookout-helper",
        "./usr/share/doc/lookout/copyright",
    ] {
        assert!(contents.contains(f), "{f} not in the package:\n{contents}");
    }

    // install
    let (ok, out) = sh("dpkg", &["-i", deb1.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(installed_version().as_deref(), Some("0.1.0-1"));
    let (ok, pw) = sh("getent", &["passwd", "lookout"]);
    assert!(ok && pw.contains("/usr/sbin/nologin"), "{pw}");
    let uid: u32 = pw.split(':').nth(2).unwrap().parse().unwrap();
    assert!(uid < 1000, "a system user: {uid}");
    let state = std::fs::metadata("/var/lib/lookout").unwrap();
    assert_eq!((state.uid(), state.mode() & 0o777), (uid, 0o700));

    // run as the unit does: the lookout user, the unit's capabilities, its paths
    let unit = std::fs::read_to_string("/lib/systemd/system/lookout.service").unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap()
        .to_string();
    let caps: Vec<String> = unit
        .lines()
        .find_map(|l| l.strip_prefix("AmbientCapabilities="))
        .unwrap()
        .split_whitespace()
        .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_ascii_lowercase()))
        .collect();
    let caps = caps.join(",");
    let port = free_port();
    let mut argv: Vec<String> = exec.split_whitespace().map(str::to_string).collect();
    argv.extend(["--set".into(), format!("server.listen=127.0.0.1:{port}")]);
    let started = Instant::now();
    let mut agent = Command::new("setpriv")
        .args([
            "--reuid=lookout",
            "--regid=lookout",
            "--clear-groups",
            &format!("--inh-caps={caps}"),
            &format!("--ambient-caps={caps}"),
            "--",
        ])
        .args(&argv)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let healthy = wait_for(Duration::from_secs(20), || {
        http_get(port, "/health").filter(|(c, _)| *c == 200)
    });
    let startup = started.elapsed();
    // the default configuration samples every 10 s
    let page = wait_for(Duration::from_secs(15), || {
        http_get(port, "/metrics/host")
            .map(|x| x.1)
            .filter(|p| p.contains("system_memory_usage"))
    })
    .unwrap_or_default();
    let _ = Command::new("kill").arg(agent.id().to_string()).status();
    let _ = agent.wait();
    assert!(
        healthy.is_some(),
        "the installed agent did not answer /health"
    );
    eprintln!("installed agent: /health answered {startup:?} after start");
    assert!(page.contains("system_memory_usage"), "host metrics served");
    assert!(
        Path::new("/var/lib/lookout/history/index.jsonl").exists(),
        "state written by the lookout user"
    );
    assert_eq!(
        std::fs::metadata("/var/lib/lookout/history/index.jsonl")
            .unwrap()
            .uid(),
        uid
    );

    // upgrade: the operator's edit of the configuration and the state stay
    let mut cfg = std::fs::read_to_string("/etc/lookout/lookout.yaml").unwrap();
    cfg.push_str("# edited by the operator\n");
    std::fs::write("/etc/lookout/lookout.yaml", &cfg).unwrap();
    std::fs::write("/var/lib/lookout/queue-marker", "kept").unwrap();
    let deb2 = build("0.1.1-1", dir.path());
    let (ok, out) = sh("dpkg", &["-i", deb2.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(installed_version().as_deref(), Some("0.1.1-1"));
    assert_eq!(
        std::fs::read_to_string("/etc/lookout/lookout.yaml").unwrap(),
        cfg
    );
    assert!(
        Path::new("/var/lib/lookout/queue-marker").exists()
            && Path::new("/var/lib/lookout/history/index.jsonl").exists()
    );

    // remove: the program goes, configuration and data stay
    let (ok, out) = sh("dpkg", &["--remove", "lookout"]);
    assert!(ok, "{out}");
    assert!(
        !Path::new("/usr/bin/lookout").exists()
            && !Path::new("/lib/systemd/system/lookout.service").exists()
    );
    assert!(
        Path::new("/etc/lookout/lookout.yaml").exists()
            && Path::new("/var/lib/lookout/queue-marker").exists()
    );

    // purge: both gone
    let (ok, out) = sh("dpkg", &["--purge", "lookout"]);
    assert!(ok, "{out}");
    assert!(!Path::new("/etc/lookout").exists() && !Path::new("/var/lib/lookout").exists());
    assert_eq!(installed_version(), None);
}

#[test]
fn the_rpm_holds_the_files_scripts_and_dependencies() {
    require("rpmbuild", "apt-get install rpm");
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("bash")
        .arg(repo().join("packaging/rpm/build.sh"))
        .args(["--binary", bin(), "--version", "0.1.0", "--fast", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rpm = String::from_utf8_lossy(&o.stdout).trim().to_string();
    eprintln!(
        "package {rpm}: {} bytes (debug binary, gzip -1)",
        std::fs::metadata(&rpm).unwrap().len()
    );
    let q = |args: &[&str]| {
        let o = Command::new("rpm").args(args).arg(&rpm).output().unwrap();
        assert!(
            o.status.success(),
            "rpm {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let files: Vec<String> = q(&["-qlp"]).lines().map(str::to_string).collect();
    assert_eq!(
        files,
        [
            "/etc/lookout",
            "/etc/lookout/lookout.yaml",
            "/usr/bin/lookout",
            "/usr/lib/systemd/system/lookout-helper.service",
            "/usr/lib/systemd/system/lookout-helper.socket",
            "/usr/lib/systemd/system/lookout.service",
            "/usr/libexec/lookout",
            "/usr/libexec/lookout/lookout-helper",
            "/var/lib/lookout"
        ]
    );
    assert_eq!(
        q(&["-qpc"]).trim(),
        "/etc/lookout/lookout.yaml",
        "the configuration is a config file"
    );
    let scripts = q(&["-qp", "--scripts"]);
    for want in [
        "useradd -r -g lookout",
        "groupadd -r lookout",
        "systemctl enable --now lookout-helper.socket lookout.service",
        "systemctl disable --now lookout.service lookout-helper.socket",
        "systemctl try-restart lookout.service",
    ] {
        assert!(
            scripts.contains(want),
            "{want} not in the scriptlets:\n{scripts}"
        );
    }
    let requires = q(&["-qpR"]);
    assert!(
        requires.contains("glibc") && requires.contains("shadow-utils"),
        "{requires}"
    );
    assert_eq!(
        q(&["-qp", "--qf", "%{NAME} %{VERSION}-%{RELEASE} %{LICENSE}"]),
        "lookout 0.1.0-1 Apache-2.0"
    );
    let perms = q(&[
        "-qp",
        "--qf",
        "[%{FILEMODES:perms} %{FILEUSERNAME} %{FILENAMES}\\n]",
    ]);
    assert!(
        perms.contains("drwx------ lookout /var/lib/lookout"),
        "{perms}"
    );
    assert!(
        perms.contains("-rwxr-xr-x root /usr/bin/lookout"),
        "{perms}"
    );
    assert!(
        perms.contains("-rwxr-xr-x root /usr/libexec/lookout/lookout-helper"),
        "{perms}"
    );
}
