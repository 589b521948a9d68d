//! Helpers: start the agent in a temp data dir on a free port, wait for readiness by polling
//! (the server answers once bound), HTTP GET, signals. Every spawned process is killed on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lookout")
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port free right now on 127.0.0.1, never the same twice in this test process (tests run
/// in parallel: two of them asking at once could otherwise get the same port).
pub fn free_port() -> u16 {
    unique_port(|| {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    })
}

fn unique_port(mut pick: impl FnMut() -> u16) -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let p = pick();
        if !given.contains(&p) {
            given.push(p);
            return p;
        }
    }
}

/// Requires an external tool; panics with the reason if it is missing (CI installs them all,
/// so a missing tool is a broken setup, not a skip).
pub fn require(tool: &str, package: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "`{tool}` is required for this test: install it with `{package}` (bash .ci/run does)"
    );
}

pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// Waits until `f` returns Some, polling every 20 ms, up to `limit`.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub struct Agent {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    data: PathBuf,
    stderr_path: PathBuf,
}

impl Agent {
    /// Starts `lookout run` with a config text (None = embedded default) and extra args; the
    /// server listens on a free port.
    pub fn start(config: Option<&str>, extra: &[&str]) -> Agent {
        Self::start_in(config, None, extra)
    }

    /// Like `start`, with a given data directory.
    pub fn start_in(config: Option<&str>, data: Option<&Path>, extra: &[&str]) -> Agent {
        Self::start_env(config, data, extra, &[])
    }

    /// Like `start_in`, with extra environment variables.
    pub fn start_env(
        config: Option<&str>,
        data: Option<&Path>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let data = data
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.path().join("state"));
        let mut cmd = Command::new(bin());
        cmd.arg("run")
            .arg("--data-dir")
            .arg(&data)
            .arg("--set")
            .arg(format!("server.listen=127.0.0.1:{port}"));
        if let Some(text) = config {
            let p = dir.path().join("lookout.yaml");
            std::fs::write(&p, text).unwrap();
            cmd.arg("--config").arg(p);
        }
        cmd.args(extra);
        let stderr_path = dir.path().join("stderr.log");
        let err = std::fs::File::create(&stderr_path).unwrap();
        cmd.stdout(Stdio::null()).stderr(err).env_remove("RUST_LOG");
        cmd.envs(env.iter().copied());
        let child = cmd.spawn().unwrap();
        Agent {
            child,
            port,
            dir,
            data,
            stderr_path,
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("lookout.yaml")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data.clone()
    }

    /// Waits for the control socket, which appears once the pipeline runs.
    pub fn wait_control(&self) {
        let sock = self.data.join("control.sock");
        if wait_for(Duration::from_secs(20), || sock.exists().then_some(())).is_none() {
            panic!("no control socket; stderr:\n{}", self.stderr());
        }
    }

    /// Waits for the first answer of /health (any status), then for the pipeline to run (its
    /// control socket), and returns the time it took.
    pub fn wait_ready(&mut self) -> Duration {
        let t = Instant::now();
        let port = self.port;
        let ok = wait_for(Duration::from_secs(20), || http_get(port, "/health"));
        if ok.is_none() {
            panic!(
                "agent did not answer on :{port}; stderr:\n{}",
                self.stderr()
            );
        }
        // the HTTP server answers before the pipeline runs; the control socket appears once it
        // does (an agent whose pipeline cannot start exits instead)
        let sock = self.data.join("control.sock");
        let _ = wait_for(Duration::from_secs(20), || {
            let exited = matches!(self.child.try_wait(), Ok(Some(_)));
            (sock.exists() || exited).then_some(())
        });
        t.elapsed()
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path)
            .unwrap_or_else(|| panic!("GET {path} failed; stderr:\n{}", self.stderr()))
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code.
    pub fn stop(&mut self) -> i32 {
        self.signal("TERM");
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "agent did not stop; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python OTLP receiver (tests/support/otlp_receiver.py), decoding with opentelemetry-proto.
pub struct Receiver {
    child: Child,
    pub port: u16,
    pub out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    pub fn start(port: u16, fail_status: Option<u16>) -> Receiver {
        Self::start_with(port, fail_status, &[])
    }

    /// With extra arguments (`--fail-first N`, `--retry-after S`).
    pub fn start_with(port: u16, fail_status: Option<u16>, extra: &[&str]) -> Receiver {
        require("python3", "apt-get install python3");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("requests.jsonl");
        let mut cmd = Command::new("python3");
        cmd.arg(repo().join("tests/support/otlp_receiver.py"))
            .arg("--port")
            .arg(port.to_string())
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(s) = fail_status {
            cmd.arg("--status").arg(s.to_string());
        }
        cmd.args(extra);
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if !line.starts_with("READY ") {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            panic!("receiver did not start (pip install opentelemetry-proto zstandard): {err}");
        }
        let port = line.trim()["READY ".len()..].parse().unwrap();
        Receiver {
            child,
            port,
            out,
            _dir: dir,
        }
    }

    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            // the receiver may be writing the last line right now
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `lookout` with args; returns (exit code, stdout, stderr). A command still running after
/// 30 s is killed and the test fails (e.g. an agent that started when it should have refused).
pub fn lookout(args: &[&str]) -> (i32, String, String) {
    lookout_within(args, Duration::from_secs(30))
}

/// [`lookout`] with another time limit (for commands that wait on purpose).
pub fn lookout_within(args: &[&str], limit: Duration) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out_p, err_p) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(bin())
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_p).unwrap())
        .stderr(std::fs::File::create(&err_p).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`lookout {}` did not finish within {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(out_p).unwrap_or_default(),
        std::fs::read_to_string(err_p).unwrap_or_default(),
    )
}

/// Runs promtool check metrics on a page; returns its combined output on failure.
pub fn promtool_check(page: &str) -> Result<(), String> {
    require("promtool", "apt-get install prometheus");
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if o.status.success() && text.trim().is_empty() {
        Ok(())
    } else {
        Err(text)
    }
}

/// The export requests a file sink wrote (one OTLP/JSON object per line).
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {e}: {l}")))
        .collect()
}

/// An OTLP/JSON number (int64 values are strings in OTLP/JSON).
pub fn num(v: &serde_json::Value) -> f64 {
    match v {
        serde_json::Value::Number(n) => n.as_f64().unwrap(),
        serde_json::Value::String(s) => s.parse().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

/// OTLP/JSON attributes as key → scalar text.
pub fn attrs(list: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|kv| {
                    let v = &kv["value"];
                    let text = v
                        .as_object()
                        .and_then(|o| o.values().next())
                        .map(|x| match x {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .unwrap_or_default();
                    (kv["key"].as_str().unwrap().to_string(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every metric in a list of OTLP/JSON export requests, with its resource attributes.
pub fn all_metrics(reqs: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for r in reqs {
        for rm in r["resourceMetrics"].as_array().into_iter().flatten() {
            for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
                out.extend(sm["metrics"].as_array().into_iter().flatten().cloned());
            }
        }
    }
    out
}

/// Every log record in a list of OTLP/JSON export requests.
pub fn all_logs(reqs: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for r in reqs {
        for rl in r["resourceLogs"].as_array().into_iter().flatten() {
            for sl in rl["scopeLogs"].as_array().into_iter().flatten() {
                out.extend(sl["logRecords"].as_array().into_iter().flatten().cloned());
            }
        }
    }
    out
}

/// A free UDP port on 127.0.0.1 right now.
pub fn free_udp_port() -> u16 {
    unique_port(|| {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    })
}

/// Requires a Python module; panics with the install command if missing (CI installs it).
pub fn require_py(module: &str, package: &str) {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "Python module `{module}` is required: pip install -r tests/support/requirements.txt (bash .ci/run does) [{package}]"
    );
}

/// Runs a Python script from tests/support with args; panics with its output on failure.
pub fn python(script: &str, args: &[&str]) -> String {
    let o = Command::new("python3")
        .arg(repo().join("tests/support").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script} failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A component's entry in /status.
pub fn component_status(agent: &Agent, id: &str) -> serde_json::Value {
    let (_, body) = agent.get("/status");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no component {id} in {body}"))
}

/// A raw HTTP/1.1 POST (Connection: close); returns (status, lower-cased headers, body).
pub fn http_post(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // the server may answer (413) before reading everything
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap();
    let hdrs = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, hdrs, raw[split + 4..].to_vec())
}

/// A u64 in OTLP/JSON (a string or a number) as text.
pub fn u64_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Null => "0".into(),
        other => panic!("not a u64: {other}"),
    }
}

/// Waits until the running topology has a component (its listeners are bound by then: the
/// server answers before the pipeline is built).
pub fn wait_component(agent: &Agent, id: &str) {
    let found = wait_for(Duration::from_secs(20), || {
        let (_, body) = http_get(agent.port, "/status")?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["components"]
            .as_array()?
            .iter()
            .any(|c| c["id"] == id)
            .then_some(())
    });
    assert!(
        found.is_some(),
        "component {id} never started; stderr:\n{}",
        agent.stderr()
    );
}

/// Runs `lookout` with args and `input` on its standard input; returns (exit code, stdout,
/// stderr).
pub fn lookout_with_stdin(args: &[&str], input: &str) -> (i32, String, String) {
    let mut child = Command::new(bin())
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A self-signed P-256 certificate for 127.0.0.1 and localhost, made by openssl in `dir`;
/// returns (certificate, key) paths.
pub fn self_signed_cert(dir: &Path) -> (PathBuf, PathBuf) {
    require("openssl", "apt-get install openssl");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (cert, key)
}

/// Appends text to a file (created if missing), as a logging application would.
pub fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn openssl(args: &[&str]) {
    let o = Command::new("openssl").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A P-256 key and a certificate for it signed by the CA `private_ca(dir, name)` made, with
/// the extensions `ext`; returns (certificate, key).
fn signed_cert(dir: &Path, name: &str, leaf: &str, cn: &str, ext: &str) -> (PathBuf, PathBuf) {
    let p = |f: &str| dir.join(format!("{name}-{leaf}.{f}"));
    let s = |p: &PathBuf| p.display().to_string();
    let (cert, key, csr, cnf) = (p("pem"), p("key"), p("csr"), p("cnf"));
    let subject = format!("/CN={cn}");
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        &subject,
        "-keyout",
        &s(&key),
        "-out",
        &s(&csr),
    ]);
    std::fs::write(&cnf, ext).unwrap();
    let (ca, ca_key) = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}-ca.key")),
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        &s(&csr),
        "-CA",
        &s(&ca),
        "-CAkey",
        &s(&ca_key),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &s(&cnf),
        "-out",
        &s(&cert),
    ]);
    (cert, key)
}

/// A private certificate authority and a server certificate it signed for 127.0.0.1 and
/// localhost, made by openssl in `dir`; returns (CA certificate, server certificate, server key).
pub fn private_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    require("openssl", "apt-get install openssl");
    let (ca, ca_key) = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}-ca.key")),
    );
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        &format!("/CN={name} test CA"),
        "-keyout",
        &ca_key.display().to_string(),
        "-out",
        &ca.display().to_string(),
    ]);
    let (cert, key) = signed_cert(
        dir,
        name,
        "server",
        "localhost",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    );
    (ca, cert, key)
}

/// A client certificate (extendedKeyUsage clientAuth) signed by the CA `private_ca(dir, name)`
/// made; returns (certificate, key).
pub fn client_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    signed_cert(
        dir,
        name,
        "client",
        "lookout-agent",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
}

/// A Python server of tests/support that prints `READY <port>` once it listens on loopback;
/// killed when dropped.
pub struct PyServer {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl PyServer {
    /// Starts `tests/support/<script>` with `args` and waits for its READY line.
    pub fn start(script: &str, args: &[&std::ffi::OsStr]) -> PyServer {
        require("python3", "apt-get install python3");
        let mut child = Command::new("python3")
            .arg(repo().join("tests/support").join(script))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{script} did not start: {line:?}"));
        PyServer { child, port }
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Held by every test that installs the `lookout` package or creates the `lookout` user on
/// this machine (`package`, `install`): they run in parallel threads of this binary and would
/// otherwise install and purge under each other.
pub static SYSTEM_PACKAGE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`SYSTEM_PACKAGE`]; a test that failed while holding it does not block the others
/// (each one cleans the machine in a drop guard).
pub fn system_package_lock() -> std::sync::MutexGuard<'static, ()> {
    SYSTEM_PACKAGE.lock().unwrap_or_else(|p| p.into_inner())
}
