//! The OTLP exporter's transport: a private certificate authority (`tls.ca_file`,
//! `tls.ca_dir`) against an HTTPS receiver served by Python's ssl module (OpenSSL), and
//! outbound proxies we did not write: tinyproxy (HTTP CONNECT with Basic authentication) and
//! microsocks (SOCKS5 with username and password).

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An HTTPS OTLP receiver with a certificate from a private CA.
fn tls_receiver(dir: &Path) -> (Receiver, std::path::PathBuf) {
    let (ca, cert, key) = private_ca(dir, "good");
    let rx = Receiver::start_with(
        0,
        None,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    (rx, ca)
}

fn config(endpoint: &str, extra: &str) -> String {
    format!(
        "sources:\n  host: {{type: host_metrics, interval: 200ms, collectors: [memory]}}\nsinks:\n  out:\n    type: otlp_http\n    inputs: [host]\n    endpoint: {endpoint}\n    timeout: 2s\n    batch: {{timeout: 50ms}}\n    retry: {{initial_backoff: 100ms, max_backoff: 300ms}}\n    circuit: {{failures: 0}}\n{extra}"
    )
}

fn delivered(rx: &Receiver, within: Duration) -> bool {
    wait_for(within, || {
        rx.requests()
            .iter()
            .any(|r| r["status"] == 200 && r["path"] == "/v1/metrics")
            .then_some(())
    })
    .is_some()
}

fn errors(agent: &Agent) -> u64 {
    component_status(agent, "out")["errors"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn a_private_ca_is_trusted_from_a_file_or_a_directory_and_another_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (rx, ca) = tls_receiver(dir.path());
    let endpoint = format!("https://127.0.0.1:{}", rx.port);

    // the system's roots alone do not know the private CA
    let mut agent = Agent::start(Some(&config(&endpoint, "")), &[]);
    agent.wait_ready();
    assert!(
        wait_for(Duration::from_secs(15), || (errors(&agent) > 0)
            .then_some(()))
        .is_some(),
        "an unknown CA must fail"
    );
    assert!(!delivered(&rx, Duration::from_millis(500)));
    agent.stop();

    // another CA's certificate in tls.ca_file: still refused
    let (other_ca, _, _) = private_ca(dir.path(), "other");
    let mut agent = Agent::start(
        Some(&config(
            &endpoint,
            &format!("    tls: {{ca_file: {}}}\n", other_ca.display()),
        )),
        &[],
    );
    agent.wait_ready();
    assert!(
        wait_for(Duration::from_secs(15), || (errors(&agent) > 0)
            .then_some(()))
        .is_some(),
        "a wrong CA must fail"
    );
    assert!(!delivered(&rx, Duration::from_millis(500)));
    assert!(
        agent.stderr().contains("127.0.0.1"),
        "the failure is logged: {}",
        agent.stderr()
    );
    agent.stop();

    // the right CA, from a file
    let mut agent = Agent::start(
        Some(&config(
            &endpoint,
            &format!("    tls: {{ca_file: {}}}\n", ca.display()),
        )),
        &[],
    );
    agent.wait_ready();
    assert!(
        delivered(&rx, Duration::from_secs(20)),
        "{}",
        agent.stderr()
    );
    agent.stop();

    // and from a directory (with another CA beside it)
    let cas = dir.path().join("cas");
    std::fs::create_dir(&cas).unwrap();
    std::fs::copy(&ca, cas.join("corp.pem")).unwrap();
    std::fs::copy(&other_ca, cas.join("other.crt")).unwrap();
    std::fs::write(cas.join("README"), "not a certificate").unwrap();
    let before = rx.requests().len();
    let mut agent = Agent::start(
        Some(&config(
            &endpoint,
            &format!("    tls: {{ca_dir: {}}}\n", cas.display()),
        )),
        &[],
    );
    agent.wait_ready();
    assert!(
        wait_for(Duration::from_secs(20), || (rx.requests().len() > before)
            .then_some(()))
        .is_some(),
        "{}",
        agent.stderr()
    );
    agent.stop();

    // a CA file that holds no certificate is a clear error at start
    let bad = dir.path().join("empty.pem");
    std::fs::write(&bad, "nothing here\n").unwrap();
    let p = dir.path().join("bad.yaml");
    std::fs::write(
        &p,
        config(
            &endpoint,
            &format!("    tls: {{ca_file: {}}}\n", bad.display()),
        ),
    )
    .unwrap();
    let (code, _, err) = lookout(&[
        "run",
        "--config",
        p.to_str().unwrap(),
        "--data-dir",
        dir.path().join("d").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("empty.pem"), "{err}");
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A secret file holding the proxy URL (its password must not be written in the config).
fn proxy_file(dir: &Path, name: &str, url: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, url).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    format!("    proxy: ${{file:{}}}\n", p.display())
}

#[test]
fn the_exporter_delivers_through_an_http_connect_and_a_socks5_proxy_with_authentication() {
    require("tinyproxy", "apt-get install tinyproxy");
    require("microsocks", "apt-get install microsocks");
    let dir = tempfile::tempdir().unwrap();
    let (rx, ca) = tls_receiver(dir.path());
    let endpoint = format!("https://127.0.0.1:{}", rx.port);
    let tls = format!("    tls: {{ca_file: {}}}\n", ca.display());

    // tinyproxy: CONNECT with Basic authentication
    let tp_port = free_port();
    let log = dir.path().join("tinyproxy.log");
    let conf = dir.path().join("tinyproxy.conf");
    std::fs::write(
        &conf,
        format!(
            "Port {tp_port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nAllow 127.0.0.1\nBasicAuth lookout s3cret-proxy\nLogFile \"{}\"\nLogLevel Connect\n",
            log.display()
        ),
    )
    .unwrap();
    let _tp = Proc(
        Command::new("tinyproxy")
            .args(["-d", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", tp_port)).ok()
    })
    .expect("tinyproxy listens");

    // a wrong password: the proxy refuses, nothing arrives
    let wrong = proxy_file(
        dir.path(),
        "wrong",
        &format!("http://lookout:nope@127.0.0.1:{tp_port}"),
    );
    let mut agent = Agent::start(Some(&config(&endpoint, &format!("{tls}{wrong}"))), &[]);
    agent.wait_ready();
    assert!(wait_for(Duration::from_secs(15), || (errors(&agent) > 0)
        .then_some(()))
    .is_some());
    assert!(
        !delivered(&rx, Duration::from_millis(500)),
        "delivered without the proxy's consent"
    );
    assert!(
        !agent.stderr().contains("nope"),
        "the proxy password is logged: {}",
        agent.stderr()
    );
    agent.stop();

    let good = proxy_file(
        dir.path(),
        "good",
        &format!("http://lookout:s3cret-proxy@127.0.0.1:{tp_port}"),
    );
    let mut agent = Agent::start(Some(&config(&endpoint, &format!("{tls}{good}"))), &[]);
    agent.wait_ready();
    assert!(
        delivered(&rx, Duration::from_secs(20)),
        "{}",
        agent.stderr()
    );
    let (_, shown, _) = lookout(&[
        "config",
        "show",
        "--config",
        agent.config_path().to_str().unwrap(),
    ]);
    assert!(
        !shown.contains("s3cret-proxy"),
        "config show prints the proxy password: {shown}"
    );
    agent.stop();
    let tp_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        tp_log.contains(&format!("127.0.0.1:{}", rx.port)) || tp_log.contains("CONNECT"),
        "tinyproxy carried it: {tp_log}"
    );

    // microsocks: SOCKS5 with a username and password
    let before = rx.requests().len();
    let ms_port = free_port();
    let _ms = Proc(
        Command::new("microsocks")
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &ms_port.to_string(),
                "-u",
                "lookout",
                "-P",
                "s0cks-pass",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", ms_port)).ok()
    })
    .expect("microsocks listens");
    let wrong = proxy_file(
        dir.path(),
        "wrong5",
        &format!("socks5://lookout:nope@127.0.0.1:{ms_port}"),
    );
    let mut agent = Agent::start(Some(&config(&endpoint, &format!("{tls}{wrong}"))), &[]);
    agent.wait_ready();
    assert!(wait_for(Duration::from_secs(15), || (errors(&agent) > 0)
        .then_some(()))
    .is_some());
    assert_eq!(
        rx.requests().len(),
        before,
        "delivered past a SOCKS5 proxy that refused"
    );
    agent.stop();
    let good = proxy_file(
        dir.path(),
        "good5",
        &format!("socks5://lookout:s0cks-pass@127.0.0.1:{ms_port}"),
    );
    let mut agent = Agent::start(Some(&config(&endpoint, &format!("{tls}{good}"))), &[]);
    agent.wait_ready();
    assert!(
        wait_for(Duration::from_secs(20), || (rx.requests().len() > before)
            .then_some(()))
        .is_some(),
        "{}",
        agent.stderr()
    );
    agent.stop();
}

/// The SHA-256 fingerprint of a PEM certificate, as openssl prints it (`AB:CD:...`).
fn openssl_fingerprint(cert: &Path) -> String {
    let o = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&o.stdout).into_owned();
    t.trim().rsplit('=').next().unwrap().to_string()
}

#[test]
fn mutual_tls_is_given_when_required_and_a_pinned_certificate_must_match() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ca, cert, key) = private_ca(d, "srv");
    let (_, _, _) = private_ca(d, "clients");
    let (client, client_key) = client_cert(d, "clients");
    let client_ca = d.join("clients-ca.pem");
    let rx = Receiver::start_with(
        0,
        None,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--client-ca",
            client_ca.to_str().unwrap(),
        ],
    );
    let endpoint = format!("https://127.0.0.1:{}", rx.port);

    // the server requires a client certificate: without one, refused
    let mut agent = Agent::start(
        Some(&config(
            &endpoint,
            &format!("    tls: {{ca_file: {}}}\n", ca.display()),
        )),
        &[],
    );
    agent.wait_ready();
    assert!(
        wait_for(Duration::from_secs(15), || (errors(&agent) > 0)
            .then_some(()))
        .is_some(),
        "no client certificate must fail"
    );
    assert!(!delivered(&rx, Duration::from_millis(500)));
    agent.stop();

    // given: delivered
    let mtls = format!(
        "    tls:\n      ca_file: {}\n      cert_file: {}\n      key_file: {}\n",
        ca.display(),
        client.display(),
        client_key.display()
    );
    let mut agent = Agent::start(Some(&config(&endpoint, &mtls)), &[]);
    agent.wait_ready();
    assert!(
        delivered(&rx, Duration::from_secs(20)),
        "{}",
        agent.stderr()
    );
    agent.stop();

    // pinned to the server's own certificate (openssl's fingerprint form): delivered
    let before = rx.requests().len();
    let pin = openssl_fingerprint(&cert);
    let mut agent = Agent::start(
        Some(&config(
            &endpoint,
            &format!("{mtls}      pin_sha256: [\"{pin}\"]\n"),
        )),
        &[],
    );
    agent.wait_ready();
    assert!(
        wait_for(Duration::from_secs(20), || (rx.requests().len() > before)
            .then_some(()))
        .is_some(),
        "{}",
        agent.stderr()
    );
    agent.stop();

    // pinned to another certificate: refused, though the CA trusts the server
    let before = rx.requests().len();
    let other = openssl_fingerprint(&ca);
    let mut agent = Agent::start(
        Some(&config(
            &endpoint,
            &format!("{mtls}      pin_sha256: [\"{other}\"]\n"),
        )),
        &[],
    );
    agent.wait_ready();
    assert!(
        wait_for(Duration::from_secs(15), || (errors(&agent) > 0)
            .then_some(()))
        .is_some(),
        "a pin mismatch must fail"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        rx.requests().len(),
        before,
        "delivered to a certificate that is not pinned"
    );
    agent.stop();
}
