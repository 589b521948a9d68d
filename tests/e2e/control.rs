//! The control API through the CLI commands that mirror the terminal UI: log sources added,
//! tailed (after redaction), paused, resumed and removed on a running agent; configuration
//! checked and applied with a diff; the log level raised; pipeline and host figures; and the
//! socket refused to another user.

use crate::support::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `lookout ARGS --data-dir D`, parsed as JSON when asked.
fn ctl(data: &Path, args: &[&str]) -> (i32, String, String) {
    let mut a: Vec<&str> = args.to_vec();
    let d = data.display().to_string();
    a.extend(["--data-dir", &d]);
    lookout(&a)
}

fn ctl_json(data: &Path, args: &[&str]) -> serde_json::Value {
    let (code, out, err) = ctl(data, args);
    assert_eq!(code, 0, "lookout {args:?}: {out}\n{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn config(dir: &Path) -> String {
    format!(
        "sources:\n  host: {{type: host_metrics, interval: 1s}}\n  app: {{type: files, include: [{d}/app.log], start_at: beginning}}\nprocessors:\n  scrub: {{type: redact, inputs: [app]}}\nsinks:\n  out: {{type: file, path: {d}/out.jsonl, inputs: [host, scrub]}}\n",
        d = dir.display()
    )
}

#[test]
fn log_sources_are_added_tailed_paused_and_removed_at_run_time() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::write(w.join("app.log"), "first app line\n").unwrap();
    let mut agent = Agent::start(Some(&config(w)), &[]);
    agent.wait_ready();
    let data = agent.data_dir();
    agent.wait_control();

    // pausing the only input of a component is refused with the reason
    let (code, _, err) = ctl(&data, &["logs", "pause", "app"]);
    assert_ne!(code, 0);
    assert!(err.contains("only input of scrub"), "{err}");

    // a new source, from its beginning
    let newlog = w.join("new.log");
    append(&newlog, "hello before\n");
    let r = ctl_json(
        &data,
        &[
            "logs",
            "add",
            "extra",
            newlog.to_str().unwrap(),
            "--from-beginning",
            "--json",
        ],
    );
    assert_eq!(r["ok"], true, "{r}");
    let hash_after_add = r["config_hash"].as_str().unwrap().to_string();
    let s = ctl_json(&data, &["logs", "sources", "--json"]);
    let extra = s["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "extra")
        .cloned()
        .unwrap_or_else(|| panic!("{s}"));
    assert_eq!(extra["origin"], "added");
    assert_eq!(extra["paused"], false);
    // the status agrees with the answer
    let st = ctl_json(&data, &["status", "--json"]);
    assert_eq!(st["config_hash"], hash_after_add.as_str());

    // tail: the tap opens with the first request; what comes after is seen, redacted (the new
    // source joined the redact processor)
    let (code, _, err) = ctl(&data, &["logs", "tail", "extra", "--json"]);
    assert_eq!(code, 0, "{err}");
    append(
        &newlog,
        "card 4111 1111 1111 1111 paid by bob@example.com\n",
    );
    let seen = wait_for(Duration::from_secs(15), || {
        let (_, out, _) = ctl(&data, &["logs", "tail", "extra", "--json"]);
        append(&newlog, "tick\n");
        let lines: Vec<serde_json::Value> = out
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        lines
            .iter()
            .any(|l| l["body"].as_str().unwrap_or("").starts_with("card "))
            .then_some(lines)
    })
    .unwrap_or_else(|| panic!("no tailed line; stderr:\n{}", agent.stderr()));
    let card = seen
        .iter()
        .find(|l| l["body"].as_str().unwrap().starts_with("card "))
        .unwrap();
    let body = card["body"].as_str().unwrap();
    assert!(!body.contains("4111 1111"), "unredacted: {body}");
    assert!(!body.contains("bob@example.com"), "unredacted: {body}");
    // and the sink got the same records, the first line included (from the beginning)
    let out = w.join("out.jsonl");
    wait_for(Duration::from_secs(10), || {
        let t = std::fs::read_to_string(&out).unwrap_or_default();
        t.contains("hello before").then_some(())
    })
    .unwrap();

    // pause: nothing more is read; resume: what was written meanwhile arrives
    let r = ctl_json(&data, &["logs", "pause", "extra", "--json"]);
    assert_eq!(r["ok"], true, "{r}");
    std::thread::sleep(Duration::from_millis(500));
    append(&newlog, "written while paused\n");
    std::thread::sleep(Duration::from_secs(2));
    assert!(!std::fs::read_to_string(&out)
        .unwrap()
        .contains("written while paused"));
    let s = ctl_json(&data, &["logs", "sources", "--json"]);
    assert!(
        s["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == "extra" && x["paused"] == true),
        "{s}"
    );
    let r = ctl_json(&data, &["logs", "resume", "extra", "--json"]);
    assert_eq!(r["ok"], true, "{r}");
    wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("written while paused")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("not read after resume; stderr:\n{}", agent.stderr()));
    // a bad source is refused with the reason, the agent unchanged
    let (code, _, err) = ctl(&data, &["logs", "add", "bad id", "/tmp/x.log"]);
    assert_ne!(code, 0);
    assert!(err.contains("invalid source id"), "{err}");
    let (code, _, err) = ctl(&data, &["logs", "add", "rel", "relative.log"]);
    assert_ne!(code, 0);
    assert!(err.contains("source rel"), "{err}");

    // the choice survives a restart
    agent.stop();
    let mut again = Agent::start_in(Some(&config(w)), Some(&data), &[]);
    again.wait_ready();
    wait_for(Duration::from_secs(10), || {
        let (c, out, _) = ctl(&data, &["logs", "sources", "--json"]);
        (c == 0 && out.contains("\"extra\"")).then_some(())
    })
    .unwrap_or_else(|| panic!("added source lost across restart; {}", again.stderr()));

    // removed
    let r = ctl_json(&data, &["logs", "rm", "extra", "--json"]);
    assert_eq!(r["ok"], true, "{r}");
    let s = ctl_json(&data, &["logs", "sources", "--json"]);
    assert!(!s.to_string().contains("\"extra\""), "{s}");
    let (code, _, err) = ctl(&data, &["logs", "rm", "app"]);
    assert_ne!(code, 0);
    assert!(err.contains("only those can be removed"), "{err}");
    // every change is in the audit log, owner-only
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    for needle in [
        "extra added",
        "extra paused",
        "extra resumed",
        "extra removed",
    ] {
        assert!(audit.contains(needle), "{needle}: {audit}");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("audit.log"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    again.stop();
}

#[test]
fn configuration_is_checked_with_a_diff_then_applied() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::write(w.join("app.log"), "").unwrap();
    let mut agent = Agent::start(Some(&config(w)), &[]);
    agent.wait_ready();
    let data = agent.data_dir();
    agent.wait_control();
    let before = ctl_json(&data, &["status", "--json"]);

    // invalid: refused with its position, nothing changes
    let bad = w.join("bad.yaml");
    std::fs::write(&bad, config(w).replace("interval: 1s", "interval: often")).unwrap();
    let (code, out, _) = ctl(&data, &["config", "check", bad.to_str().unwrap(), "--json"]);
    assert_eq!(code, 2, "{out}");
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["valid"], false);
    let e = r["error"].as_str().unwrap();
    assert!(e.contains(":2:40: invalid duration `often`"), "{r}");
    let (code, _, _) = ctl(&data, &["config", "apply", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(
        std::fs::read_to_string(agent.config_path()).unwrap(),
        config(w),
        "a refused config is never written"
    );

    // valid: the diff shows the change; applying it runs it
    let good = w.join("good.yaml");
    let new_text = config(w).replace("interval: 1s", "interval: 2s");
    std::fs::write(&good, &new_text).unwrap();
    let r = ctl_json(
        &data,
        &["config", "check", good.to_str().unwrap(), "--json"],
    );
    assert_eq!(r["valid"], true, "{r}");
    let diff = r["diff"].as_str().unwrap();
    assert!(
        diff.contains("-  host: {type: host_metrics, interval: 1s}"),
        "{diff}"
    );
    assert!(
        diff.contains("+  host: {type: host_metrics, interval: 2s}"),
        "{diff}"
    );
    let r = ctl_json(
        &data,
        &["config", "apply", good.to_str().unwrap(), "--json"],
    );
    assert_eq!(r["applied"], true, "{r}");
    let after = ctl_json(&data, &["status", "--json"]);
    assert_ne!(after["config_hash"], before["config_hash"]);
    assert_eq!(after["config_hash"], r["config_hash"]);
    assert_eq!(after["reloads"]["applied"], 1);
    assert_eq!(
        std::fs::read_to_string(agent.config_path()).unwrap(),
        new_text
    );

    // the effective view masks secrets; the human `config show` is the same engine
    let (code, out, _) = ctl(&data, &["pipeline"]);
    assert_eq!(code, 0);
    for id in ["host", "app", "scrub", "out"] {
        assert!(out.contains(id), "{out}");
    }

    // the log level, raised for a while, then back
    let r = ctl_json(&data, &["log-level", "debug", "--for", "5m", "--json"]);
    assert_eq!(r["ok"], true, "{r}");
    let st = ctl_json(&data, &["status", "--json"]);
    assert_eq!(st["log_level"]["level"], "debug");
    let (code, _, err) = ctl(&data, &["log-level", "loud"]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown level"), "{err}");
    let r = ctl_json(&data, &["log-level", "reset", "--json"]);
    assert_eq!(r["ok"], true);
    let st = ctl_json(&data, &["status", "--json"]);
    assert!(st["log_level"].is_null(), "{st}");

    // host figures arrive every 2 s
    let h = wait_for(Duration::from_secs(10), || {
        let h = ctl_json(&data, &["host", "--json"]);
        (!h["samples"].as_array().unwrap().is_empty()).then_some(h)
    })
    .unwrap();
    let s = &h["samples"][0];
    assert!(s["mem_total_bytes"].as_u64().unwrap() > 0, "{s}");
    assert!(s["cpus"].as_u64().unwrap() >= 1, "{s}");
    agent.stop();
}

#[test]
fn commands_without_an_agent_say_so() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        vec!["host"],
        vec!["pipeline"],
        vec!["logs", "sources"],
        vec!["services"],
    ] {
        let (code, _, err) = ctl(d.path(), &args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(err.contains("no agent is running"), "{err}");
    }
}

#[test]
fn another_user_cannot_use_the_control_socket() {
    let me = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        eprintln!("SKIP: needs root to act as another user (setpriv); CI runs as root");
        return;
    }
    require("setpriv", "apt-get install util-linux");
    let mut agent = Agent::start(
        Some("sources:\n  host: {type: host_metrics}\nsinks:\n  out: {type: file, path: /dev/null, inputs: [host]}\n"),
        &[],
    );
    agent.wait_ready();
    let data = agent.data_dir();
    use std::os::unix::fs::PermissionsExt;
    agent.wait_control();
    let sock = data.join("control.sock");
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin())
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .env("HOME", "/nonexistent")
            .output()
            .unwrap()
    };
    // the file modes keep it out
    let o = as_nobody(&["pipeline", "--json"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Permission denied"),
        "{o:?}"
    );
    // and with the modes loosened by hand, the agent's credential check still refuses
    std::fs::set_permissions(agent.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = as_nobody(&["pipeline", "--json"]);
    assert_ne!(o.status.code(), Some(0), "{o:?}");
    assert!(o.stdout.is_empty(), "nothing answered: {o:?}");
    let o = as_nobody(&["logs", "add", "x", "/etc/shadow"]);
    assert_ne!(o.status.code(), Some(0), "{o:?}");
    // the owner still gets through
    let (code, out, _) = ctl(&data, &["pipeline", "--json"]);
    assert_eq!(code, 0, "{out}");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(
        agent
            .stderr()
            .contains("refused a connection from uid 65534"),
        "{}",
        agent.stderr()
    );
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert!(audit.contains("refused uid 65534"), "{audit}");
    assert!(!std::fs::read_to_string(data.join("sources.json"))
        .unwrap_or_default()
        .contains("shadow"));
    agent.stop();
}
