//! Discovery through Kubernetes pod annotations against a stand-in API server
//! (tests/support/kube_api.py: HTTPS with a private CA, bearer token, PodList) listing a pod
//! whose IP is 127.0.0.1 and whose annotated port is this machine's Redis (6379): the agent
//! collects real Redis metrics with the pod's `k8s.*` attributes, skips (and counts) a pod with
//! a bad annotation, and drops the instance when the pod goes away.

use crate::support::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const NODE: &str = "node-e2e";
const SOURCE: &str = "auto_redis_k8s_shop_cache_0_6379";

fn pod(name: &str, node: &str, phase: &str, annotations: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": format!("0b6f7c1e-{name}"),
            "resourceVersion": "4711",
            "labels": {"app": name},
            "annotations": annotations,
        },
        "spec": {"nodeName": node, "containers": [{"name": "main", "image": "redis:7"}]},
        "status": {"phase": phase, "podIP": "127.0.0.1", "hostIP": "127.0.0.1"},
    })
}

fn write_pods(path: &Path, pods: &[serde_json::Value]) {
    // replaced atomically: the server reads it at every request
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(pods).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The Redis data points carrying the pod's attributes, as the receiver decoded them:
/// (resource attributes, metric name, value).
fn pod_points(rx: &Receiver) -> Vec<(serde_json::Value, String, f64)> {
    let mut out = Vec::new();
    for r in rx.requests() {
        for m in r["metrics"].as_array().into_iter().flatten() {
            if m["resource"]["k8s.pod.name"] != "cache-0" {
                continue;
            }
            for v in m["values"].as_array().into_iter().flatten() {
                if let Some(x) = v["value"].as_f64() {
                    let name = m["name"].as_str().unwrap_or_default().to_string();
                    out.push((m["resource"].clone(), name, x));
                }
            }
        }
    }
    out
}

fn redis_uptime() -> f64 {
    let out = Command::new("redis-cli")
        .args(["-p", "6379", "INFO", "server"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("uptime_in_seconds:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn annotated_pods_are_collected_with_their_k8s_attributes_and_dropped_when_gone() {
    require("redis-cli", "apt-get install redis-tools");
    assert!(
        std::net::TcpStream::connect("127.0.0.1:6379").is_ok(),
        "this test needs the machine's Redis on 127.0.0.1:6379"
    );
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca(dir.path(), "kube");
    let token = "e2e-token-7f3a9c";
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let pods = dir.path().join("pods.json");
    let good = pod(
        "cache-0",
        NODE,
        "Running",
        serde_json::json!({
            "lookout.io/integration": "redis",
            "lookout.io/port": "6379",
            "lookout.io/settings": r#"{"interval": "1s", "attributes": {"team": "cart"}}"#,
        }),
    );
    let broken = pod(
        "broken",
        NODE,
        "Running",
        serde_json::json!({"lookout.io/integration": "redis", "lookout.io/port": "redis"}),
    );
    let pending = pod(
        "cache-1",
        NODE,
        "Pending",
        serde_json::json!({"lookout.io/integration": "redis", "lookout.io/port": "6379"}),
    );
    let elsewhere = pod(
        "cache-9",
        "node-other",
        "Running",
        serde_json::json!({"lookout.io/integration": "redis", "lookout.io/port": "6379"}),
    );
    let plain = pod("web", NODE, "Running", serde_json::json!({}));
    write_pods(
        &pods,
        &[
            good.clone(),
            broken.clone(),
            pending.clone(),
            elsewhere.clone(),
            plain.clone(),
        ],
    );
    let log = dir.path().join("api.jsonl");
    let api = PyServer::start(
        "kube_api.py",
        &[
            "--cert".as_ref(),
            cert.as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
            "--token".as_ref(),
            token.as_ref(),
            "--pods".as_ref(),
            pods.as_os_str(),
            "--log".as_ref(),
            log.as_os_str(),
        ],
    );
    let rx = Receiver::start(free_port(), None);
    let cfg = format!(
        "kubernetes:\n  enabled: true\n  interval: 1s\n  token_file: {}\n  ca_file: {}\nsources:\n  host: {{type: host_metrics, interval: 10m, collectors: [uptime]}}\nsinks:\n  otlp:\n    type: otlp_http\n    inputs: [host]\n    endpoint: http://127.0.0.1:{}\n    batch: {{timeout: 50ms}}\n",
        token_file.display(),
        ca.display(),
        rx.port
    );
    let port = api.port.to_string();
    // the in-cluster defaults: the API server and the node from the environment
    let env = [
        ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
        ("KUBERNETES_SERVICE_PORT", port.as_str()),
        ("NODE_NAME", NODE),
    ];
    let mut agent = Agent::start_env(Some(&cfg), None, &[], &env);
    agent.wait_ready();

    // real Redis metrics, with the pod's attributes and the annotation's own
    let points = wait_for(Duration::from_secs(30), || {
        let p = pod_points(&rx);
        p.iter()
            .any(|(_, n, _)| n == "redis.uptime")
            .then_some(p)
    })
    .unwrap_or_else(|| {
        let resources: std::collections::BTreeSet<String> = rx
            .requests()
            .iter()
            .flat_map(|r| r["metrics"].as_array().cloned().unwrap_or_default())
            .map(|m| m["resource"].to_string())
            .collect();
        panic!(
            "no redis metrics with k8s.pod.name=cache-0 among the resources {resources:?}; stderr:\n{}",
            agent.stderr()
        )
    });
    let (res, _, uptime) = points.iter().find(|(_, n, _)| n == "redis.uptime").unwrap();
    assert_eq!(res["k8s.pod.name"], "cache-0");
    assert_eq!(res["k8s.namespace.name"], "shop");
    assert_eq!(res["k8s.node.name"], NODE);
    assert_eq!(res["k8s.pod.uid"], "0b6f7c1e-cache-0");
    assert_eq!(res["team"], "cart");
    let now = redis_uptime();
    assert!(
        *uptime <= now && now - uptime < 30.0,
        "redis.uptime {uptime} against INFO's {now}"
    );
    assert!(points
        .iter()
        .any(|(_, n, _)| n == "redis.clients.connected"));
    // only the Running, well-annotated pod of this node became a source
    let (_, body) = agent.get("/status");
    let st: serde_json::Value = serde_json::from_str(&body).unwrap();
    let k = &st["kubernetes"];
    assert_eq!(k["node"], NODE, "{k}");
    assert_eq!(k["state"], "ok", "{k}");
    assert_eq!(k["pods"], 4, "the API server filters by node: {k}");
    assert_eq!(k["collected"], 1, "{k}");
    assert_eq!(k["not_running"], 1, "{k}");
    assert_eq!(k["sources"], serde_json::json!([SOURCE]), "{k}");
    let skipped = k["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{k}");
    assert!(
        skipped[0]
            .as_str()
            .unwrap()
            .contains("pod shop/broken: lookout.io/port `redis` is not a port"),
        "{k}"
    );
    assert!(k["skipped_total"].as_u64().unwrap() >= 1, "{k}");
    let components: Vec<&str> = st["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(components.contains(&SOURCE), "{components:?}");
    assert!(
        !components
            .iter()
            .any(|c| c.contains("broken") || c.contains("cache_1") || c.contains("cache_9")),
        "{components:?}"
    );
    let (_, metrics) = agent.get("/metrics");
    assert!(
        metrics.contains("lookout_kubernetes_pods{state=\"collected\"} 1\n"),
        "{metrics}"
    );
    assert!(
        promtool_check(&metrics).is_ok(),
        "{:?}",
        promtool_check(&metrics)
    );
    // re-listed every interval (1s here)...
    wait_for(Duration::from_secs(10), || {
        (read_jsonl(&log).len() >= 3).then_some(())
    })
    .unwrap_or_else(|| panic!("not re-listed: {:?}", read_jsonl(&log)));
    // ...and the skip is logged once, not at every listing
    let stderr = agent.stderr();
    assert_eq!(
        stderr
            .matches("kubernetes: skipping pod shop/broken")
            .count(),
        1,
        "{stderr}"
    );
    // every request was the node's pod list with the token
    let reqs = read_jsonl(&log);
    for r in &reqs {
        assert_eq!(r["path"], "/api/v1/pods", "{r}");
        assert_eq!(
            r["query"]["fieldSelector"],
            format!("spec.nodeName={NODE}"),
            "{r}"
        );
        assert_eq!(r["authorized"], true, "{r}");
    }
    // the status and discover commands show it
    let data = agent.data_dir();
    let (code, stdout, _) = lookout(&["status", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!(
            "kubernetes: node {NODE} (ok): 4 pod(s), 1 collected"
        )) && stdout.contains(&format!("source {SOURCE}")),
        "{stdout}"
    );
    let discover = |token_path: &Path| {
        let c = cfg.replace(
            &token_file.display().to_string(),
            &token_path.display().to_string(),
        );
        let p = dir.path().join("discover.yaml");
        std::fs::write(&p, c).unwrap();
        let o = Command::new(bin())
            .args(["discover", "--json", "--config"])
            .arg(&p)
            .envs(env)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let v = discover(&token_file);
    let found = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["instance"] == "redis@k8s:shop/cache-0:6379")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(found["configured"], true);
    assert_eq!(found["listens"], serde_json::json!(["tcp 127.0.0.1:6379"]));
    // a token the API server does not accept: 401, said plainly
    let wrong = dir.path().join("wrong-token");
    std::fs::write(&wrong, "nope").unwrap();
    let v = discover(&wrong);
    let e = v["kubernetes"]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(e.contains("401"), "{e}");

    // the pod goes away: its source stops
    write_pods(&pods, &[broken, pending, elsewhere, plain]);
    wait_for(Duration::from_secs(20), || {
        let (_, body) = http_get(agent.port, "/status")?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let running = v["components"]
            .as_array()?
            .iter()
            .any(|c| c["id"] == SOURCE);
        (!running).then_some(())
    })
    .unwrap_or_else(|| panic!("{SOURCE} still runs; stderr:\n{}", agent.stderr()));
    // in-flight batches settle, then nothing more of the pod arrives
    std::thread::sleep(Duration::from_millis(1500));
    let settled = pod_points(&rx).len();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        pod_points(&rx).len(),
        settled,
        "the pod's metrics kept coming"
    );
    assert_eq!(agent.stop(), 0);
    let stderr = agent.stderr();
    let added = stderr
        .find(&format!("adding source {SOURCE}"))
        .unwrap_or_else(|| panic!("{stderr}"));
    let removed = stderr
        .find(&format!(
            "kubernetes: source {SOURCE} is gone from the node"
        ))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(added < removed);
}

#[test]
fn a_failing_api_server_keeps_the_last_pods_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _, _) = private_ca(dir.path(), "kube2");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "t").unwrap();
    // nothing listens there
    let port = free_port();
    let cfg = format!(
        "kubernetes:\n  enabled: true\n  node_name: n1\n  api_server: https://127.0.0.1:{port}\n  interval: 1s\n  timeout: 1s\n  token_file: {}\n  ca_file: {}\nsources:\n  host: {{type: host_metrics, interval: 10m, collectors: [uptime]}}\nsinks:\n  out: {{type: file, path: /dev/null, inputs: [host]}}\n",
        token_file.display(),
        ca.display()
    );
    let mut agent = Agent::start(Some(&cfg), &[]);
    agent.wait_ready();
    let k = wait_for(Duration::from_secs(20), || {
        let (_, body) = http_get(agent.port, "/status")?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (v["kubernetes"]["errors"].as_u64()? >= 2).then(|| v["kubernetes"].clone())
    })
    .unwrap_or_else(|| panic!("no failed listing; stderr:\n{}", agent.stderr()));
    assert_eq!(k["state"], "error", "{k}");
    assert!(
        k["last_error"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{k}"
    );
    // the agent runs on; the failure is logged once, not at every attempt
    assert_eq!(agent.get("/health").0, 200);
    assert_eq!(agent.stop(), 0);
    let stderr = agent.stderr();
    assert_eq!(
        stderr
            .matches("keeping the pods of the last listing")
            .count(),
        1,
        "{stderr}"
    );
}
