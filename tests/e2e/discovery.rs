//! `lookout discover` on this machine: MariaDB, PostgreSQL and Redis as the machine runs them,
//! nginx, Apache and a second Redis started by the test, and decoys that must not be taken for
//! services.

use crate::integrations::{apache, nginx, redis_server, Server};
use crate::support::*;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A Redis started from its own config file (port `port`, log file in `dir`), listening.
fn redis_with_config(dir: &std::path::Path, port: u16) -> (Server, std::path::PathBuf) {
    let conf = dir.join("redis.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\nlogfile {}/redis2.log\n",
            dir.display(),
            dir.display()
        ),
    )
    .unwrap();
    let child = Command::new("redis-server")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        name: "redis-server",
    };
    wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .expect("redis-server listens");
    (server, conf)
}

fn discover() -> serde_json::Value {
    let (code, stdout, stderr) = lookout(&["discover", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn find<'a>(
    v: &'a serde_json::Value,
    kind: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> Option<&'a serde_json::Value> {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind && pred(s))
}

fn listens(s: &serde_json::Value, what: &str) -> bool {
    s["listens"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l.as_str().is_some_and(|l| l.contains(what)))
}

#[test]
fn discover_finds_the_five_services_and_a_second_redis_and_ignores_decoys() {
    let dir = tempfile::tempdir().unwrap();
    let (np, ap, rp, decoy_port) = (free_port(), free_port(), free_port(), 3306u16);
    let ndir = dir.path().join("nginx");
    let adir = dir.path().join("apache");
    let rdir = dir.path().join("redis2");
    for d in [&ndir, &adir, &rdir] {
        std::fs::create_dir_all(d).unwrap();
    }
    let _n = nginx(&ndir, np);
    let _a = apache(&adir, ap);
    // a second Redis with its own config file on a non-standard port
    let (_r2, rconf) = redis_with_config(&rdir, rp);
    // decoys: a program named mysqld that listens nowhere, and a plain listener on MySQL's port
    let fake = dir.path().join("mysqld");
    std::fs::copy("/bin/sleep", &fake).unwrap();
    let decoy = Command::new(&fake).arg("60").spawn().unwrap();
    let _decoy = Server {
        child: decoy,
        name: "decoy mysqld",
    };
    let nc = Command::new("python3")
        .args(["-c", &format!("import socket,time\ns=socket.socket(socket.AF_INET6)\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('::1', {decoy_port}))\ns.listen()\nprint('ok', flush=True)\ntime.sleep(60)")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let _nc = Server {
        child: nc,
        name: "decoy listener",
    };
    std::thread::sleep(Duration::from_millis(500));
    let _ = redis_server; // the machine's own Redis is used as the first instance

    let t = std::time::Instant::now();
    let v = discover();
    eprintln!("discover took {:?} (scan {} ms)", t.elapsed(), v["scan_ms"]);
    let svc = |kind: &str, what: &str| {
        find(&v, kind, |s| listens(s, what))
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} listening on {what}: {v:#}"))
    };
    let conf = |s: &serde_json::Value| s["confidence"].as_f64().unwrap();
    let mysql = svc("mysql", "127.0.0.1:3306");
    let pg = svc("postgresql", "127.0.0.1:5432");
    let redis = svc("redis", "127.0.0.1:6379");
    let redis2 = svc("redis", &format!("127.0.0.1:{rp}"));
    let web = svc("nginx", &format!(":{np}"));
    let httpd = svc("apache", &format!(":{ap}"));
    for s in [&mysql, &pg, &redis, &redis2, &web, &httpd] {
        assert!(conf(s) >= 0.9, "confidence {}: {s:#}", conf(s));
        assert_eq!(s["configured"], true);
        assert!(
            s["package"]["version"]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "{s:#}"
        );
    }
    assert_eq!(mysql["config"]["path"], "/etc/mysql/my.cnf");
    assert!(
        listens(&mysql, "unix /run/mysqld/mysqld.sock") || listens(&mysql, "mysqld.sock"),
        "{mysql:#}"
    );
    assert_eq!(
        pg["config"]["path"],
        "/etc/postgresql/15/main/postgresql.conf"
    );
    assert!(
        pg["config"]["logs"]
            .to_string()
            .contains("/var/log/postgresql/postgresql-15-main.log"),
        "{pg:#}"
    );
    assert_eq!(redis2["config"]["path"], rconf.display().to_string());
    assert!(
        redis2["config"]["logs"].to_string().contains("redis2.log"),
        "{redis2:#}"
    );
    assert_ne!(redis["instance"], redis2["instance"]);
    assert!(
        web["config"]["logs"]
            .to_string()
            .contains(&format!("{}/access.log", ndir.display())),
        "{web:#}"
    );
    assert!(
        web["config"]["status"]
            .to_string()
            .contains("/nginx_status"),
        "{web:#}"
    );
    assert!(
        httpd["config"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("httpd.conf")),
        "{httpd:#}"
    );
    // decoys: known by name or by port only, never configured
    let fake_mysql = find(&v, "mysql", |s| {
        s["exe"]
            .as_str()
            .is_some_and(|e| e.contains(dir.path().to_str().unwrap()))
    });
    if let Some(f) = fake_mysql {
        assert!(
            conf(f) < 0.7 && f["configured"] == false,
            "decoy configured: {f:#}"
        );
    }
    let port_only = find(&v, "mysql", |s| listens(s, "[::1]:3306"));
    if let Some(p) = port_only {
        assert!(
            conf(p) < 0.5 && p["configured"] == false,
            "plain listener taken for MySQL: {p:#}"
        );
    }
    let configured_mysql = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "mysql" && s["configured"] == true)
        .count();
    assert_eq!(configured_mysql, 1, "{v:#}");

    // preview: a valid config with a source per service and log file, and no secret in it
    std::env::set_var("LOOKOUT_MYSQL_PASSWORD", "sekrit-e2e-123");
    let (code, stdout, stderr) = lookout(&["preview", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let p: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let yaml = p["config"].as_str().unwrap();
    assert!(
        !stdout.contains("sekrit-e2e-123"),
        "a secret in the preview"
    );
    let added: Vec<&str> = p["added_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for want in [
        "auto_mysql_127_0_0_1_3306".to_string(),
        "auto_postgresql_127_0_0_1_5432".into(),
        "auto_redis_127_0_0_1_6379".into(),
        format!("auto_redis_127_0_0_1_{rp}"),
        format!("auto_nginx_127_0_0_1_{np}"),
        format!("auto_apache_127_0_0_1_{ap}"),
    ] {
        assert!(added.contains(&want.as_str()), "{want} not in {added:?}");
    }
    assert!(
        added
            .iter()
            .any(|a| a.starts_with(&format!("auto_nginx_127_0_0_1_{np}_log"))),
        "{added:?}"
    );
    assert!(
        yaml.contains(&format!("http://127.0.0.1:{np}/nginx_status")),
        "{yaml}"
    );
    let file = dir.path().join("preview.yaml");
    std::fs::write(&file, yaml).unwrap();
    let (code, stdout, stderr) = lookout(&["config", "validate", file.to_str().unwrap()]);
    assert_eq!(
        code, 0,
        "preview is not a valid config: {stdout}{stderr}\n{yaml}"
    );
    let ms = p["discover_ms"].as_f64().unwrap();
    eprintln!(
        "discover, render and validate: {ms:.3} ms for {} sources",
        added.len()
    );
}

#[test]
fn discover_without_root_says_what_it_could_not_see() {
    if !Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    {
        eprintln!("skipped: needs root to drop to an unprivileged user");
        return;
    }
    require("setpriv", "apt-get install util-linux");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin())
        .args(["discover", "--json"])
        .env("HOME", "/tmp")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    // the servers are still found by their processes...
    let mysql =
        find(&v, "mysql", |s| s["pid"].is_u64()).unwrap_or_else(|| panic!("no mysql: {v:#}"));
    // ...and what could not be seen is said, with why
    let said = mysql["limits"].to_string() + &v["limits"].to_string();
    assert!(
        said.contains("not readable") || said.contains("permission"),
        "no explanation of what an unprivileged scan misses: {v:#}"
    );
    assert!(
        v["limits"].to_string().contains("CAP_"),
        "no capability named: {}",
        v["limits"]
    );
}

fn has_component(agent: &Agent, id: &str) -> bool {
    let (_, body) = agent.get("/status");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["components"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["id"] == id))
}

#[test]
fn continuous_autoconfig_adds_a_service_that_starts_and_removes_it_when_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let cfg = format!(
        "autoconfig: {{enabled: true, interval: 1s}}\nsources:\n  host: {{type: host_metrics, interval: 10s}}\nsinks:\n  out: {{type: file, inputs: [host], path: {}}}\n",
        out.display()
    );
    let mut agent = Agent::start(Some(&cfg), &[]);
    agent.wait_ready();
    // the services already running are collected
    wait_for(Duration::from_secs(30), || {
        has_component(&agent, "auto_redis_127_0_0_1_6379").then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the machine's Redis was not configured; stderr:\n{}",
            agent.stderr()
        )
    });
    // a Redis that starts is added...
    let rp = free_port();
    let rdir = dir.path().join("r");
    std::fs::create_dir_all(&rdir).unwrap();
    let (r2, _) = redis_with_config(&rdir, rp);
    let id = format!("auto_redis_127_0_0_1_{rp}");
    wait_for(Duration::from_secs(30), || {
        has_component(&agent, &id).then_some(())
    })
    .unwrap_or_else(|| panic!("{id} not added; stderr:\n{}", agent.stderr()));
    // the operator disables it: removed, and it stays out across re-discovery...
    let data = agent.data_dir();
    let data = data.to_str().unwrap();
    let (code, stdout, stderr) = lookout(&[
        "autoconfig",
        "disable",
        &format!("redis@127.0.0.1:{rp}"),
        "--data-dir",
        data,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    wait_for(Duration::from_secs(30), || {
        (!has_component(&agent, &id)).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "{id} not removed after disable; stderr:\n{}",
            agent.stderr()
        )
    });
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        !has_component(&agent, &id),
        "a disabled service came back at the next scan"
    );
    // ...until applied again
    let (code, stdout, stderr) = lookout(&["autoconfig", "apply", &id, "--data-dir", data]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    wait_for(Duration::from_secs(30), || {
        has_component(&agent, &id).then_some(())
    })
    .unwrap_or_else(|| panic!("{id} not back after apply; stderr:\n{}", agent.stderr()));
    // the change is visible in status
    let (code, stdout, _) = lookout(&["status", "--data-dir", data]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("autoconfig:") && stdout.contains(&id),
        "{stdout}"
    );
    // preview of the agent's own config compares with what it runs: the same sources
    // (other tests start and stop services meanwhile: the two agree within a few scans)
    let cfg_path = agent.config_path();
    let mut last = serde_json::Value::Null;
    let agreed = wait_for(Duration::from_secs(20), || {
        let (code, stdout, _) = lookout(&[
            "preview",
            "--json",
            "--data-dir",
            data,
            "--config",
            cfg_path.to_str().unwrap(),
        ]);
        let p: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
        last = p["running_diff"].clone();
        (code == 0 && last == serde_json::json!({"added": [], "removed": []})).then_some(())
    });
    assert!(
        agreed.is_some(),
        "preview and the running agent disagree: {last}"
    );
    // per-service settings survive re-discovery: an attribute on everything it reports
    let (code, stdout, stderr) = lookout(&[
        "autoconfig",
        "set",
        &id,
        "--interval",
        "500ms",
        "--attribute",
        "team=cache-e2e",
        "--data-dir",
        data,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("interval 500ms, team=cache-e2e"),
        "{stdout}"
    );
    let port = format!("\"intValue\":\"{rp}\"");
    let port_str = format!("\"stringValue\":\"{rp}\"");
    wait_for(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        text.lines()
            .any(|l| {
                l.contains("\"stringValue\":\"cache-e2e\"")
                    && (l.contains(&port) || l.contains(&port_str))
            })
            .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "no metric of {id} carries the attribute set by the operator; stderr:\n{}",
            agent.stderr()
        )
    });
    let (code, stdout, _) = lookout(&["autoconfig", "list", "--json", "--data-dir", data]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["services"][&id]["interval"], "500ms", "{v}");
    assert_eq!(v["services"][&id]["attributes"]["team"], "cache-e2e", "{v}");
    // ...and removed when it stops
    drop(r2);
    wait_for(Duration::from_secs(30), || {
        (!has_component(&agent, &id)).then_some(())
    })
    .unwrap_or_else(|| panic!("{id} not removed; stderr:\n{}", agent.stderr()));
    assert_eq!(agent.stop(), 0);
    let log = agent.stderr();
    let added = log
        .find(&format!("adding source {id}"))
        .unwrap_or_else(|| panic!("{log}"));
    let removed = log
        .find(&format!("source {id} is gone"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(added < removed, "{log}");
}

#[test]
fn a_server_process_starting_or_exiting_triggers_a_scan_before_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    // a 10-minute interval: only the process watch can notice the change in time
    let cfg = format!(
        "autoconfig: {{enabled: true, interval: 10m}}\nsources:\n  host: {{type: host_metrics, interval: 10s}}\nsinks:\n  out: {{type: file, inputs: [host], path: {}}}\n",
        out.display()
    );
    let mut agent = Agent::start(Some(&cfg), &[]);
    agent.wait_ready();
    wait_for(Duration::from_secs(30), || {
        has_component(&agent, "auto_redis_127_0_0_1_6379").then_some(())
    })
    .unwrap_or_else(|| panic!("first scan missing; stderr:\n{}", agent.stderr()));
    let rp = free_port();
    let rdir = dir.path().join("r");
    std::fs::create_dir_all(&rdir).unwrap();
    let (r2, _) = redis_with_config(&rdir, rp);
    let id = format!("auto_redis_127_0_0_1_{rp}");
    let t = std::time::Instant::now();
    wait_for(Duration::from_secs(20), || {
        has_component(&agent, &id).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "{id} not added by the process watch; stderr:\n{}",
            agent.stderr()
        )
    });
    eprintln!("service added {:?} after it started", t.elapsed());
    drop(r2);
    wait_for(Duration::from_secs(20), || {
        (!has_component(&agent, &id)).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "{id} not removed by the process watch; stderr:\n{}",
            agent.stderr()
        )
    });
    assert_eq!(agent.stop(), 0);
}
