//! Integrations against real servers: a private redis-server (with a password), nginx and
//! Apache started on free loopback ports in temporary directories. Values must move the way
//! the servers say; failures degrade health and collection resumes by itself.

use crate::support::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server process killed (and waited for) when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) name: &'static str,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first so nginx and Apache take their workers down with them
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn redis_server(dir: &Path, port: u16, password: &str) -> Server {
    require("redis-server", "apt-get install redis-server");
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            password,
            "--dir",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let s = Server {
        child,
        name: "redis-server",
    };
    wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .expect("redis-server listens");
    s
}

pub(crate) fn redis_cli(port: u16, password: &str, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--no-auth-warning", "-a", password])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn nginx(dir: &Path, port: u16) -> Server {
    require("/usr/sbin/nginx", "apt-get install nginx");
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n  log_format timed '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent rt=$request_time host=$host';\n  access_log {d}/access.log combined;\n  access_log {d}/timed.log timed;\n  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n  server {{\n    listen 127.0.0.1:{port};\n    location /nginx_status {{ stub_status; }}\n    location / {{ return 404; }}\n  }}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("/usr/sbin/nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let s = Server {
        child,
        name: "nginx",
    };
    wait_for(Duration::from_secs(10), || http_get(port, "/nginx_status")).expect("nginx answers");
    s
}

pub(crate) fn apache(dir: &Path, port: u16) -> Server {
    require("/usr/sbin/apache2", "apt-get install apache2");
    let d = dir.display();
    let m = "/usr/lib/apache2/modules";
    let conf = format!(
        "ServerRoot {d}\nServerName localhost\nListen 127.0.0.1:{port}\nPidFile {d}/httpd.pid\nDefaultRuntimeDir {d}\nMutex file:{d} default\nErrorLog {d}/error.log\nLoadModule mpm_event_module {m}/mod_mpm_event.so\nLoadModule authz_core_module {m}/mod_authz_core.so\nLoadModule status_module {m}/mod_status.so\nUser www-data\nGroup www-data\nExtendedStatus On\n<Location /server-status>\n  SetHandler server-status\n</Location>\n"
    );
    std::fs::write(dir.join("httpd.conf"), conf).unwrap();
    let child = Command::new("/usr/sbin/apache2")
        .arg("-f")
        .arg(dir.join("httpd.conf"))
        .arg("-DFOREGROUND")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let s = Server {
        child,
        name: "apache2",
    };
    wait_for(Duration::from_secs(10), || {
        http_get(port, "/server-status?auto").filter(|(c, _)| *c == 200)
    })
    .expect("apache answers");
    s
}

/// The last value of `name` (with `attr` = `value` when given) in a file sink's output.
fn last_value(out: &Path, name: &str, attr: Option<(&str, &str)>) -> Option<f64> {
    let text = std::fs::read_to_string(out).ok()?;
    let reqs: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut last = None;
    for m in all_metrics(&reqs) {
        if m["name"] != name {
            continue;
        }
        let data = m.get("sum").or_else(|| m.get("gauge"))?;
        for p in data["dataPoints"].as_array()? {
            if let Some((k, v)) = attr {
                if attrs(&p["attributes"]).get(k).map(String::as_str) != Some(v) {
                    continue;
                }
            }
            let v = p.get("asInt").or_else(|| p.get("asDouble"))?;
            last = Some(num(v));
        }
    }
    last
}

/// Waits until `name` has a value satisfying `ok`.
fn wait_value(
    agent: &Agent,
    out: &Path,
    name: &str,
    attr: Option<(&str, &str)>,
    ok: impl Fn(f64) -> bool,
) -> f64 {
    wait_for(Duration::from_secs(20), || {
        last_value(out, name, attr).filter(|v| ok(*v))
    })
    .unwrap_or_else(|| {
        panic!(
            "{name} {attr:?}: last value {:?}; stderr:\n{}",
            last_value(out, name, attr),
            agent.stderr()
        )
    })
}

#[test]
fn redis_keyspace_and_commands_follow_the_server_and_failures_recover() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Some(redis_server(dir.path(), port, "s3cret-pw"));
    let out = dir.path().join("out.jsonl");
    let cfg = format!(
        "sources:\n  cache:\n    type: redis\n    endpoint: 127.0.0.1:{port}\n    password: ${{env:LOOKOUT_TEST_REDIS_PW}}\n    interval: 300ms\n  wrong:\n    type: redis\n    endpoint: 127.0.0.1:{port}\n    password: ${{env:LOOKOUT_TEST_UNSET_PW:-not-the-password}}\n    interval: 300ms\nsinks:\n  out: {{type: file, inputs: [cache, wrong], path: {}}}\n  prom: {{type: prometheus, inputs: [cache], path: /metrics/redis}}\n",
        out.display()
    );
    std::env::set_var("LOOKOUT_TEST_REDIS_PW", "s3cret-pw");
    let mut agent = Agent::start(Some(&cfg), &[]);
    agent.wait_ready();
    let before = wait_value(&agent, &out, "redis.commands.processed", None, |_| true);
    for i in 0..25 {
        redis_cli(
            port,
            "s3cret-pw",
            &["-n", "9", "SET", &format!("k{i}"), "v"],
        );
    }
    let keys = wait_value(&agent, &out, "redis.db.keys", Some(("db", "9")), |v| {
        v >= 25.0
    });
    assert_eq!(keys, 25.0);
    let after = wait_value(&agent, &out, "redis.commands.processed", None, |v| {
        v >= before + 25.0
    });
    assert!(after >= before + 25.0);
    // a wrong password: one clear error, the other source unaffected
    let st = component_status(&agent, "wrong");
    let err = st.to_string();
    assert!(
        err.contains("auth") || err.contains("WRONGPASS") || err.contains("invalid"),
        "{st}"
    );
    assert!(
        !err.contains("not-the-password"),
        "the password leaked: {st}"
    );
    // Prometheus rendering is valid
    let (code, page) = agent.get("/metrics/redis");
    assert_eq!(code, 200);
    assert!(page.contains("redis_db_keys"), "{page}");
    promtool_check(&page).unwrap_or_else(|e| panic!("promtool rejects /metrics/redis:\n{e}"));
    // server down: the source degrades; back up: it recovers by itself
    drop(server.take());
    wait_for(Duration::from_secs(20), || {
        let s = component_status(&agent, "cache");
        (s["healthy"] == false).then_some(())
    })
    .unwrap_or_else(|| panic!("not degraded: {}", component_status(&agent, "cache")));
    let (code, _) = agent.get("/health");
    assert_ne!(code, 200, "/health reports the failing integration");
    let _server = redis_server(dir.path(), port, "s3cret-pw");
    wait_for(Duration::from_secs(20), || {
        let s = component_status(&agent, "cache");
        (s["healthy"] == true).then_some(())
    })
    .unwrap_or_else(|| panic!("not recovered: {}", component_status(&agent, "cache")));
    assert_eq!(agent.stop(), 0);
    let log = agent.stderr();
    assert!(log.contains("recovered"), "{log}");
    assert!(
        !log.contains("s3cret-pw") && !log.contains("not-the-password"),
        "{log}"
    );
}

#[test]
fn nginx_and_apache_request_counters_follow_real_requests() {
    let dir = tempfile::tempdir().unwrap();
    let (np, ap) = (free_port(), free_port());
    let ndir = dir.path().join("nginx");
    let adir = dir.path().join("apache");
    std::fs::create_dir_all(&ndir).unwrap();
    std::fs::create_dir_all(&adir).unwrap();
    let _n = nginx(&ndir, np);
    let _a = apache(&adir, ap);
    let out = dir.path().join("out.jsonl");
    let cfg = format!(
        "sources:\n  web:\n    type: nginx\n    endpoint: http://127.0.0.1:{np}/nginx_status\n    interval: 300ms\n  httpd:\n    type: apache\n    endpoint: http://127.0.0.1:{ap}/server-status?auto\n    interval: 300ms\nsinks:\n  out: {{type: file, inputs: [web, httpd], path: {}}}\n  prom: {{type: prometheus, inputs: [web, httpd], path: /metrics/web}}\n",
        out.display()
    );
    let mut agent = Agent::start(Some(&cfg), &[]);
    agent.wait_ready();
    let n0 = wait_value(&agent, &out, "nginx.requests", None, |_| true);
    let a0 = wait_value(&agent, &out, "apache.requests", None, |_| true);
    let m = 40;
    for i in 0..m {
        let _ = http_get(np, &format!("/missing-{i}"));
        let _ = http_get(ap, &format!("/missing-{i}"));
    }
    let n1 = wait_value(&agent, &out, "nginx.requests", None, |v| v >= n0 + m as f64);
    let a1 = wait_value(&agent, &out, "apache.requests", None, |v| {
        v >= a0 + m as f64
    });
    assert!(n1 >= n0 + m as f64 && a1 >= a0 + m as f64);
    wait_value(
        &agent,
        &out,
        "apache.workers",
        Some(("state", "idle")),
        |v| v > 0.0,
    );
    wait_value(
        &agent,
        &out,
        "nginx.connections_current",
        Some(("state", "active")),
        |v| v >= 1.0,
    );
    let (_, page) = agent.get("/metrics/web");
    assert!(
        page.contains("nginx_requests") && page.contains("apache_requests"),
        "{page}"
    );
    promtool_check(&page).unwrap_or_else(|e| panic!("promtool rejects /metrics/web:\n{e}"));
    // `lookout check` runs one collection against the same servers
    let (code, stdout, stderr) = lookout(&[
        "check",
        "nginx",
        "--endpoint",
        &format!("http://127.0.0.1:{np}/nginx_status"),
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(v["series"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "nginx.requests"));
    let (code, stdout, _) = lookout(&[
        "check",
        "apache",
        "--endpoint",
        &format!("http://127.0.0.1:{np}/nginx_status"),
    ]);
    assert_eq!(code, 1, "an nginx page is not an Apache one: {stdout}");
    let (code, _, stderr) = lookout(&[
        "check",
        "nginx",
        "--endpoint",
        &format!("http://127.0.0.1:{}/nginx_status", free_port()),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("FAILED (connect)"), "{stderr}");
    assert_eq!(agent.stop(), 0);
}

fn sql(args: &[&str]) -> (bool, String) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Restores MariaDB's slow-log settings when dropped.
struct SlowLogGuard(Vec<String>);

impl Drop for SlowLogGuard {
    fn drop(&mut self) {
        for stmt in &self.0 {
            let _ = sql(&["mysql", "-uroot", "-h127.0.0.1", "-e", stmt]);
        }
    }
}

fn all_records(out: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let reqs: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    all_logs(&reqs)
}

#[test]
fn service_logs_written_by_the_real_servers_are_parsed() {
    require("mysql", "apt-get install mariadb-client");
    require("psql", "apt-get install postgresql-client");
    let (ok, why) = sql(&[
        "mysql",
        "-uroot",
        "-h127.0.0.1",
        "-Nse",
        "SELECT @@slow_query_log_file, @@long_query_time, @@slow_query_log",
    ]);
    assert!(ok, "MariaDB is not reachable on 127.0.0.1:3306 (start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd): {why}");
    let prev: Vec<&str> = why.trim().split('\t').collect();
    let (ok, pg_prefix) = sql(&[
        "psql",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-d",
        "test",
        "-Atc",
        "SHOW log_line_prefix",
    ]);
    assert!(ok, "PostgreSQL is not reachable on 127.0.0.1:5432 (start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start): {pg_prefix}");
    assert_eq!(
        pg_prefix.trim_end_matches('\n'),
        "%m [%p] %q%u@%d ",
        "the postgresql parser expects Debian's default prefix"
    );
    let pg_log = std::fs::read_dir("/var/log/postgresql")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .expect("PostgreSQL's log file under /var/log/postgresql");
    let dir = tempfile::tempdir().unwrap();
    // a directory the mysql user can write its slow log into
    let shared = std::env::temp_dir().join(format!("lookout-slow-{}", std::process::id()));
    std::fs::create_dir_all(&shared).unwrap();
    let _ = Command::new("chmod").arg("1777").arg(&shared).status();
    let slow = shared.join("slow.log");
    let _guard = SlowLogGuard(vec![
        format!(
            "SET GLOBAL slow_query_log = {}",
            prev.get(2).copied().unwrap_or("0")
        ),
        format!(
            "SET GLOBAL long_query_time = {}",
            prev.get(1).copied().unwrap_or("10")
        ),
        format!(
            "SET GLOBAL slow_query_log_file = '{}'",
            prev.first().copied().unwrap_or("slow.log")
        ),
    ]);
    let (ok, why) = sql(&["mysql", "-uroot", "-h127.0.0.1", "-e", &format!(
        "SET GLOBAL slow_query_log_file = '{}'; SET GLOBAL long_query_time = 0.5; SET GLOBAL slow_query_log = 1;",
        slow.display()
    )]);
    assert!(ok, "{why}");
    let np = free_port();
    let ndir = dir.path().join("nginx");
    std::fs::create_dir_all(&ndir).unwrap();
    let _n = nginx(&ndir, np);
    let out = dir.path().join("out.jsonl");
    let cfg = format!(
        "sources:\n  slow:\n    type: files\n    include: [{}]\n    parser: mysql_slow\n    poll_interval: 50ms\n    multiline_timeout: 300ms\n  mariadb_errors:\n    type: files\n    include: [/var/log/mysql/error.log]\n    start_at: end\n    poll_interval: 50ms\n  pg:\n    type: files\n    include: [{}]\n    parser: postgresql\n    start_at: end\n    poll_interval: 50ms\n    multiline_timeout: 300ms\n  access:\n    type: files\n    include: [{}/access.log]\n    parser: access_log\n    poll_interval: 50ms\n  timed:\n    type: files\n    include: [{}/timed.log]\n    parser: nginx\n    nginx: {{config: {}/nginx.conf, log_format: timed}}\n    poll_interval: 50ms\nsinks:\n  out: {{type: file, inputs: [slow, mariadb_errors, pg, access, timed], path: {}}}\n",
        slow.display(),
        pg_log.display(),
        ndir.display(),
        ndir.display(),
        ndir.display(),
        out.display()
    );
    let mut agent = Agent::start(Some(&cfg), &[]);
    agent.wait_ready();
    std::thread::sleep(Duration::from_millis(500));
    // the servers write: a slow query, failed logins, an SQL error, 404s
    let (ok, why) = sql(&[
        "mysql",
        "-uroot",
        "-h127.0.0.1",
        "test",
        "-e",
        "SELECT SLEEP(0.8)",
    ]);
    assert!(ok, "{why}");
    let _ = sql(&[
        "mysql",
        "-ulookout_nosuch",
        "-pwrong-pw",
        "-h127.0.0.1",
        "-e",
        "SELECT 1",
    ]);
    let _ = sql(&[
        "psql",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-d",
        "test",
        "-c",
        "SELECT 1/0\n  FROM generate_series(1, 2)",
    ]);
    let _ = sql(&[
        "psql",
        "-h",
        "127.0.0.1",
        "-U",
        "lookout_nosuch_role",
        "-d",
        "test",
        "-c",
        "SELECT 1",
    ]);
    for i in 0..5 {
        let _ = http_get(np, &format!("/missing-{i}"));
    }
    let recs = wait_for(Duration::from_secs(20), || {
        let r = all_records(&out);
        let have = |f: &dyn Fn(&serde_json::Value) -> bool| r.iter().any(f);
        let slow_ok = have(&|r| {
            attrs(&r["attributes"])
                .get("db.query.text")
                .is_some_and(|q| q.contains("SLEEP(0.8)"))
        });
        let pg_ok = have(&|r| {
            r["body"]["stringValue"]
                .as_str()
                .is_some_and(|b| b.contains("division by zero"))
        });
        let n404 = r
            .iter()
            .filter(|r| {
                attrs(&r["attributes"])
                    .get("http.response.status_code")
                    .map(String::as_str)
                    == Some("404")
            })
            .count();
        let fatal_ok = have(&|r| {
            r["severityText"] == "FATAL"
                && r["body"]["stringValue"]
                    .as_str()
                    .is_some_and(|b| b.contains("lookout_nosuch_role"))
        });
        let denied_ok = have(&|r| {
            r["body"]["stringValue"]
                .as_str()
                .is_some_and(|b| b.contains("Access denied for user 'lookout_nosuch'"))
        });
        (slow_ok && pg_ok && fatal_ok && denied_ok && n404 >= 10).then_some(r)
    })
    .unwrap_or_else(|| {
        panic!(
            "records: {:#?}\nstderr:\n{}",
            all_records(&out),
            agent.stderr()
        )
    });
    assert_eq!(agent.stop(), 0);
    // the slow query, with its measured time
    let s = recs
        .iter()
        .find(|r| {
            attrs(&r["attributes"])
                .get("db.query.text")
                .is_some_and(|q| q.contains("SLEEP(0.8)"))
        })
        .unwrap();
    let a = attrs(&s["attributes"]);
    let qt: f64 = a["mysql.slow.query_time"].parse().unwrap();
    // MariaDB times the query from after it started sleeping: 0.797 s was seen for SLEEP(0.8)
    assert!((0.75..5.0).contains(&qt), "query time {qt}");
    assert_eq!(a["user.name"], "root");
    assert_eq!(a["mysql.slow.rows_sent"], "1");
    assert_eq!(a.get("db.namespace").map(String::as_str), Some("test"));
    assert_eq!(s["severityText"], "WARN");
    // the failed MariaDB login, from its error log
    assert!(
        recs.iter().any(|r| r["body"]["stringValue"]
            .as_str()
            .is_some_and(|b| b.contains("Access denied for user 'lookout_nosuch'"))),
        "no failed login in MariaDB's error log records"
    );
    // PostgreSQL: the error with its multi-line statement, and the failed connection
    let e = recs
        .iter()
        .find(|r| {
            r["body"]["stringValue"]
                .as_str()
                .is_some_and(|b| b.contains("division by zero"))
        })
        .unwrap();
    assert_eq!(e["severityText"], "ERROR");
    let a = attrs(&e["attributes"]);
    assert_eq!(a["db.namespace"], "test");
    assert_eq!(a["user.name"], "postgres");
    assert!(
        a["db.query.text"].contains("SELECT 1/0") && a["db.query.text"].contains("generate_series"),
        "{a:?}"
    );
    assert!(
        recs.iter().any(|r| r["severityText"] == "FATAL"
            && r["body"]["stringValue"]
                .as_str()
                .is_some_and(|b| b.contains("lookout_nosuch_role"))),
        "no failed PostgreSQL connection"
    );
    // nginx 404s as HTTP attributes
    let nf = recs
        .iter()
        .find(|r| {
            attrs(&r["attributes"])
                .get("url.path")
                .is_some_and(|p| p == "/missing-3")
        })
        .unwrap();
    let a = attrs(&nf["attributes"]);
    assert_eq!(a["http.response.status_code"], "404");
    assert_eq!(a["http.request.method"], "GET");
    assert_eq!(a["client.address"], "127.0.0.1");
    // the custom `log_format timed` read from nginx's own config
    let t = recs
        .iter()
        .find(|r| {
            let a = attrs(&r["attributes"]);
            a.get("url.path").is_some_and(|p| p == "/missing-4")
                && a.contains_key("http.server.request.duration")
        })
        .unwrap_or_else(|| panic!("no record parsed with the custom log_format"));
    let a = attrs(&t["attributes"]);
    assert_eq!(a["http.response.status_code"], "404");
    assert_eq!(a["server.address"], "x", "the Host header http_get sends");
    let rt: f64 = a["http.server.request.duration"].parse().unwrap();
    assert!((0.0..5.0).contains(&rt));
    let _ = std::fs::remove_dir_all(&shared);
}

#[test]
fn diagnose_names_unreadable_logs_and_failing_integrations_with_their_fix() {
    if !Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    {
        eprintln!("skipped: needs root to drop to an unprivileged user");
        return;
    }
    require("setpriv", "apt-get install util-linux");
    let dir = tempfile::tempdir().unwrap();
    let _ = Command::new("chmod")
        .args(["755", dir.path().to_str().unwrap()])
        .status();
    let secret = dir.path().join("secret.log");
    std::fs::write(&secret, "only root reads this\n").unwrap();
    let _ = Command::new("chmod")
        .args(["600", secret.to_str().unwrap()])
        .status();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let _ = Command::new("chown")
        .args(["65534:65534", state.to_str().unwrap()])
        .status();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(
        &cfg,
        format!(
            "sources:\n  logs: {{type: files, include: [{}]}}\n  cache: {{type: redis, endpoint: '127.0.0.1:6379', username: lookout_nosuch, password: \"${{env:LOOKOUT_TEST_UNSET_PW:-wrong}}\", timeout: 2s}}\n  web: {{type: nginx, endpoint: 'http://127.0.0.1:{}/nginx_status', timeout: 1s}}\nsinks:\n  out: {{type: file, inputs: [logs, cache, web], path: {}/out.jsonl}}\n",
            secret.display(),
            free_port(),
            state.display()
        ),
    )
    .unwrap();
    let _ = Command::new("chmod")
        .args(["644", cfg.to_str().unwrap()])
        .status();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin())
        .args(["diagnose", "--json", "--config"])
        .arg(&cfg)
        .arg("--data-dir")
        .arg(&state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}{}", String::from_utf8_lossy(&out.stderr)));
    let find = |name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no check {name} in {v}"))
    };
    let logs = find("source logs");
    assert_eq!(logs["status"], "FAIL", "{logs}");
    assert!(
        logs["fix"].as_str().unwrap().contains("usermod -aG adm"),
        "{logs}"
    );
    let cache = find("source cache");
    assert_eq!(cache["status"], "FAIL", "{cache}");
    assert!(
        cache["detail"].as_str().unwrap().contains("(auth)"),
        "{cache}"
    );
    assert!(
        !cache.to_string().contains("wrong\""),
        "password printed: {cache}"
    );
    let web = find("source web");
    assert_eq!(web["status"], "FAIL");
    assert!(
        web["detail"].as_str().unwrap().contains("(connect)"),
        "{web}"
    );
    assert_eq!(v["ok"], false);
}

/// Drops a MariaDB user when dropped.
struct MysqlUser(&'static str);

impl Drop for MysqlUser {
    fn drop(&mut self) {
        let _ = sql(&[
            "mysql",
            "-uroot",
            "-h127.0.0.1",
            "-e",
            &format!("DROP USER IF EXISTS '{}'@'127.0.0.1'", self.0),
        ]);
    }
}

#[test]
fn mysql_and_postgresql_follow_their_servers_and_recover_when_the_cause_is_gone() {
    require("mysql", "apt-get install mariadb-client");
    require("psql", "apt-get install postgresql-client");
    let (ok, why) = sql(&["mysql", "-uroot", "-h127.0.0.1", "-e", "SELECT 1"]);
    assert!(ok, "MariaDB is not reachable on 127.0.0.1:3306 (start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd): {why}");
    let user = "lookout_e2e_mon";
    let _cleanup = MysqlUser(user);
    let _ = sql(&[
        "mysql",
        "-uroot",
        "-h127.0.0.1",
        "-e",
        &format!("DROP USER IF EXISTS '{user}'@'127.0.0.1'"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let table = format!("lookout_e2e_{}", std::process::id());
    let cfg = format!(
        "sources:\n  db:\n    type: mysql\n    endpoint: 127.0.0.1:3306\n    username: root\n    table_sizes: 500\n    interval: 300ms\n  monitor:\n    type: mysql\n    endpoint: 127.0.0.1:3306\n    username: {user}\n    password: ${{env:LOOKOUT_TEST_UNSET_PW:-pw-e2e}}\n    interval: 300ms\n  pg:\n    type: postgresql\n    endpoint: 127.0.0.1:5432\n    username: postgres\n    databases: [test]\n    interval: 300ms\nsinks:\n  out: {{type: file, inputs: [db, pg], path: {}}}\n  prom: {{type: prometheus, inputs: [db, pg], path: /metrics/db}}\n",
        out.display()
    );
    let mut agent = Agent::start(Some(&cfg), &[]);
    agent.wait_ready();
    // MySQL: N queries move the counters by at least N
    let sel0 = wait_value(
        &agent,
        &out,
        "mysql.commands",
        Some(("command", "select")),
        |_| true,
    );
    let n = 60;
    let many = vec!["SELECT 1;"; n].join(" ");
    let (ok, why) = sql(&["mysql", "-uroot", "-h127.0.0.1", "-e", &many]);
    assert!(ok, "{why}");
    wait_value(
        &agent,
        &out,
        "mysql.commands",
        Some(("command", "select")),
        |v| v >= sel0 + n as f64,
    );
    // table sizes (opted in): a table with data shows its size
    let mtable = format!("lookout_e2e_size_{}", std::process::id());
    let (ok, why) = sql(&["mysql", "-uroot", "-h127.0.0.1", "test", "-e", &format!(
        "CREATE TABLE {mtable} (id INT PRIMARY KEY, pad VARCHAR(200)) ENGINE=InnoDB; INSERT INTO {mtable} SELECT seq, REPEAT('x', 200) FROM seq_1_to_2000; ANALYZE TABLE {mtable};"
    )]);
    let size = ok.then(|| {
        wait_value(
            &agent,
            &out,
            "mysql.table.total_length",
            Some(("table_name", mtable.as_str())),
            |v| v > 0.0,
        )
    });
    let _ = sql(&[
        "mysql",
        "-uroot",
        "-h127.0.0.1",
        "test",
        "-e",
        &format!("DROP TABLE IF EXISTS {mtable}"),
    ]);
    assert!(ok, "{why}");
    assert!(size.is_some_and(|v| v >= 16384.0), "{size:?}");
    // PostgreSQL: K inserted rows show in the table's insert counter
    let k = 50;
    let (ok, why) = sql(&[
        "psql",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-d",
        "test",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        &format!(
            "CREATE TABLE {table} (id int); INSERT INTO {table} SELECT generate_series(1, {k});"
        ),
    ]);
    assert!(ok, "{why}");
    let _ = sql(&[
        "psql",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-d",
        "test",
        "-c",
        "SELECT pg_stat_force_next_flush()",
    ]);
    let inserted = wait_for(Duration::from_secs(20), || {
        let text = std::fs::read_to_string(&out).ok()?;
        let reqs: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        all_metrics(&reqs)
            .iter()
            .filter(|m| m["name"] == "postgresql.operations")
            .flat_map(|m| {
                m["sum"]["dataPoints"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|p| {
                let a = attrs(&p["attributes"]);
                a.get("db.collection.name").is_some_and(|t| *t == table)
                    && a.get("operation").is_some_and(|o| o == "ins")
            })
            .map(|p| num(&p["asInt"]))
            .next_back()
            .filter(|v| *v >= k as f64)
    });
    let _ = sql(&[
        "psql",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-d",
        "test",
        "-c",
        &format!("DROP TABLE IF EXISTS {table}"),
    ]);
    assert_eq!(
        inserted,
        Some(k as f64),
        "postgresql.operations{{operation=ins}} for {table}; stderr:\n{}",
        agent.stderr()
    );
    wait_value(
        &agent,
        &out,
        "postgresql.commits",
        Some(("db.namespace", "test")),
        |v| v > 0.0,
    );
    // Prometheus rendering of both is valid
    let (_, page) = agent.get("/metrics/db");
    assert!(
        page.contains("mysql_commands") && page.contains("postgresql_commits"),
        "{page}"
    );
    promtool_check(&page).unwrap_or_else(|e| panic!("promtool rejects /metrics/db:\n{e}"));
    // the monitoring user does not exist yet: one clear auth error, unhealthy, no password shown
    let st = wait_for(Duration::from_secs(20), || {
        let s = component_status(&agent, "monitor");
        (s["healthy"] == false).then_some(s)
    })
    .unwrap_or_else(|| panic!("not degraded: {}", component_status(&agent, "monitor")));
    assert!(st.to_string().contains("ccess denied"), "{st}");
    assert!(!st.to_string().contains("pw-e2e"), "{st}");
    let (code, _) = agent.get("/health");
    assert_ne!(code, 200);
    // the user is created, without the privilege the replica status needs: still degraded,
    // now with the GRANT that fixes it
    let (ok, why) = sql(&[
        "mysql",
        "-uroot",
        "-h127.0.0.1",
        "-e",
        &format!("CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw-e2e'"),
    ]);
    assert!(ok, "{why}");
    let grant = format!("GRANT SLAVE MONITOR ON *.* TO '{user}'@'127.0.0.1'");
    wait_for(Duration::from_secs(20), || {
        let s = component_status(&agent, "monitor");
        (s["healthy"] == false && s.to_string().contains(&grant)).then_some(())
    })
    .unwrap_or_else(|| panic!("no GRANT hint: {}", component_status(&agent, "monitor")));
    // diagnose says the same, as a warning (the rest is collected)
    let cfg_path = dir.path().join("c.yaml");
    std::fs::write(&cfg_path, format!(
        "sources:\n  monitor:\n    type: mysql\n    endpoint: 127.0.0.1:3306\n    username: {user}\n    password: ${{env:LOOKOUT_TEST_UNSET_PW:-pw-e2e}}\nsinks:\n  out: {{type: file, inputs: [monitor], path: {}}}\n",
        out.display()
    )).unwrap();
    let (_, stdout, _) = lookout(&["diagnose", "--json", "--config", cfg_path.to_str().unwrap()]);
    let v: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "source monitor")
        .cloned()
        .unwrap();
    assert_eq!(c["status"], "WARN", "{c}");
    assert!(c["fix"].as_str().unwrap_or("").contains(&grant), "{c}");
    // the privilege is granted: it recovers by itself
    let (ok, why) = sql(&["mysql", "-uroot", "-h127.0.0.1", "-e", &grant]);
    assert!(ok, "{why}");
    wait_for(Duration::from_secs(20), || {
        (component_status(&agent, "monitor")["healthy"] == true).then_some(())
    })
    .unwrap_or_else(|| panic!("not recovered: {}", component_status(&agent, "monitor")));
    assert_eq!(agent.stop(), 0);
    let log = agent.stderr();
    assert!(!log.contains("pw-e2e"), "{log}");
    assert!(log.contains("recovered"), "{log}");
}
