//! Discovery through Kubernetes pod annotations (`kubernetes:`; the contract is in
//! `lookout_discovery::kubernetes` and `docs/container.md`).
//!
//! Every `interval` (±10 %) the agent lists its node's pods from the API server
//! (`GET /api/v1/pods?fieldSelector=spec.nodeName=<node>`, the service account's bearer token,
//! the cluster CA only), turns each `Running` pod annotated `lookout.io/integration` into an
//! integration source reading `<podIP>:<port>`, validates each one alone (a pod whose settings
//! do not validate is skipped, counted and logged; the others are unaffected), and hands the
//! result to the same merge as auto-configuration's discovered services. A pod that is gone at
//! the next listing loses its source. A failed listing keeps the instances of the last good one.
//! The state is in `/status` under `kubernetes` and in `/metrics`.

use crate::autoconf::Discovered;
use lookout_config::KubernetesConfig;
use lookout_discovery::kubernetes::{classify, parse_pod_list, PodList, Verdict};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// The largest pod list read (a node runs at most a few hundred pods).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Lists one node's pods.
pub struct Lister {
    client: reqwest::Client,
    url: String,
    api_server: String,
    token_file: PathBuf,
    node: String,
    interval: Duration,
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `fieldSelector`'s value, form-encoded (node names are DNS names: only `=` needs it).
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl Lister {
    /// A lister for `cfg`, with what it leaves out taken from the environment: the node from
    /// `NODE_NAME`, the API server from `KUBERNETES_SERVICE_HOST` and `_PORT`. Err says what is
    /// missing.
    pub fn new(cfg: &KubernetesConfig) -> Result<Lister, String> {
        let node = cfg
            .node_name
            .clone()
            .or_else(|| env_var("NODE_NAME"))
            .ok_or("the node is not known: set kubernetes.node_name or NODE_NAME (the chart sets it from spec.nodeName)")?;
        let api_server = match &cfg.api_server {
            Some(e) => e.0.as_str().trim_end_matches('/').to_string(),
            None => {
                let host = env_var("KUBERNETES_SERVICE_HOST").ok_or(
                    "KUBERNETES_SERVICE_HOST is not set (not in a pod?): set kubernetes.api_server",
                )?;
                let port = env_var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|| "443".into());
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                format!("https://{host}:{port}")
            }
        };
        let ca = lookout_config::ClientTlsConfig {
            ca_file: Some(cfg.ca_file.clone()),
            ..Default::default()
        };
        let mut b = reqwest::Client::builder()
            .timeout(cfg.timeout.0)
            .connect_timeout(cfg.timeout.0)
            .min_tls_version(reqwest::tls::Version::TLS_1_2)
            .no_proxy()
            .user_agent(concat!("lookout/", env!("CARGO_PKG_VERSION")));
        if api_server.starts_with("https://") {
            // the cluster's CA only (no public CA vouches for an API server), on lookout's TLS
            // provider (the FIPS module in a FIPS build)
            b = b.use_preconfigured_tls(lookout_sinks::tls::private_client_config(&ca)?);
        }
        let client = b
            .build()
            .map_err(|e| format!("cannot create the HTTP client: {e}"))?;
        let url = format!(
            "{api_server}/api/v1/pods?fieldSelector={}",
            encode(&format!("spec.nodeName={node}"))
        );
        Ok(Lister {
            client,
            url,
            api_server,
            token_file: cfg.token_file.clone(),
            node,
            interval: cfg.interval.0,
        })
    }

    /// The node whose pods are listed.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The wait before the next listing: the interval within ±10 %.
    pub fn next_wait(&self) -> Duration {
        crate::remote::jitter(self.interval)
    }

    /// Lists the node's pods. Err says why, for a person (never the token).
    pub async fn list(&self) -> Result<PodList, String> {
        let token = std::fs::read_to_string(&self.token_file).map_err(|e| {
            format!(
                "cannot read the service account token {}: {e}",
                self.token_file.display()
            )
        })?;
        let mut r = self
            .client
            .get(&self.url)
            .bearer_auth(token.trim())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                let mut msg = format!("cannot list pods from {}: {e}", self.api_server);
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg.push_str(&format!(": {s}"));
                    src = std::error::Error::source(s);
                }
                msg
            })?;
        let status = r.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(format!(
                "the API server answered {status} to the pod listing: the service account token is refused or lacks `list pods` (the chart's ClusterRole grants get, list, watch on pods)"
            ));
        }
        if !status.is_success() {
            return Err(format!(
                "the API server answered {status} to the pod listing"
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = r
            .chunk()
            .await
            .map_err(|e| format!("the pod listing was cut short: {e}"))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!("the pod listing is larger than {MAX_BODY} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        parse_pod_list(&body)
    }
}

/// What one listing gives.
#[derive(Debug, Default)]
pub struct Found {
    /// The instances (as discovered services) and their validated sources.
    pub discovered: Discovered,
    /// Pods listed.
    pub pods: usize,
    /// Annotated pods not running (yet).
    pub not_running: usize,
    /// Annotated pods skipped, each with why (`pod ns/name: reason`).
    pub skipped: Vec<String>,
}

/// Turns a listing into instances: each annotated, running pod becomes a source validated on
/// its own (the settings through the same loader as a file: schema, policy, `${secret:}`).
pub fn found(list: &PodList, node: &str, allowed: &[String]) -> Found {
    let mut f = Found {
        pods: list.items.len(),
        ..Found::default()
    };
    let mut ids = BTreeSet::new();
    for pod in &list.items {
        let who = format!("pod {}/{}", pod.metadata.namespace, pod.metadata.name);
        match classify(pod, node, allowed) {
            Verdict::NotAnnotated => {}
            Verdict::NotRunning(_) => f.not_running += 1,
            Verdict::Malformed(why) => f.skipped.push(format!("{who}: {why}")),
            Verdict::Collect(t) => {
                let mut service = t.service();
                let mut id = lookout_discovery::render::source_id(&service.instance);
                if ids.contains(&id) {
                    // two names that map to one id (`a-b/c`, `a/b-c`): the uid tells them apart
                    let uid: String = t
                        .uid
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .take(8)
                        .collect();
                    service.instance = format!("{}#{uid}", service.instance);
                    id = lookout_discovery::render::source_id(&service.instance);
                }
                let text = format!(
                    "sources:\n  {id}: {}\nsinks:\n  kubernetes_check: {{type: file, path: /dev/null, inputs: [{id}]}}\n",
                    t.source_body()
                );
                match lookout_config::load_str(&format!("<{who}>"), &text, &[], &|_| None) {
                    Ok(c) => {
                        ids.insert(id);
                        f.discovered.sources.extend(c.sources);
                        f.discovered.services.push(service);
                    }
                    Err(e) => f.skipped.push(format!(
                        "{who}: its settings do not make a valid {} source: {}",
                        t.kind.as_str(),
                        e.to_string().replace('\n', " ")
                    )),
                }
            }
        }
    }
    f
}

/// The discovery's state, as `/status` shows it under `kubernetes`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The node listed.
    pub node: String,
    /// The API server.
    pub api_server: String,
    /// `starting`, `ok` (the last listing worked) or `error`.
    pub state: String,
    /// Listings that worked.
    pub listings: u64,
    /// Listings that failed.
    pub errors: u64,
    /// When the last listing worked (Unix seconds).
    pub last_list_unix: u64,
    /// Why the last listing failed.
    pub last_error: Option<String>,
    /// Pods in the last listing.
    pub pods: usize,
    /// Annotated pods collected.
    pub collected: usize,
    /// Annotated pods not running.
    pub not_running: usize,
    /// Annotated pods skipped in the last listing, each with why.
    pub skipped: Vec<String>,
    /// Skips counted over every listing.
    pub skipped_total: u64,
    /// The sources of the pods collected.
    pub sources: Vec<String>,
    /// Recent changes (the last 20).
    pub changes: Vec<serde_json::Value>,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Status {
    /// A listing worked: counts, and logs each skip that is new since the last listing.
    pub fn listed(&mut self, f: &Found) {
        for s in f.skipped.iter().filter(|s| !self.skipped.contains(*s)) {
            tracing::warn!("kubernetes: skipping {s}");
        }
        self.state = "ok".into();
        self.listings += 1;
        self.last_list_unix = now_unix();
        self.last_error = None;
        self.pods = f.pods;
        self.collected = f.discovered.services.len();
        self.not_running = f.not_running;
        self.skipped_total += f.skipped.len() as u64;
        self.skipped = f.skipped.clone();
        self.sources = f.discovered.ids();
    }

    /// A listing failed (logged when the failure starts or changes).
    pub fn failed(&mut self, e: String) {
        if self.last_error.as_ref() != Some(&e) {
            tracing::warn!("kubernetes: {e}; keeping the pods of the last listing");
        }
        self.state = "error".into();
        self.errors += 1;
        self.last_error = Some(e);
    }

    /// Records changes applied.
    pub fn changed(&mut self, changes: Vec<String>) {
        let now = now_unix();
        self.changes.extend(
            changes
                .into_iter()
                .map(|c| serde_json::json!({"unix": now, "change": c})),
        );
        let skip = self.changes.len().saturating_sub(20);
        self.changes.drain(..skip);
    }

    /// Publishes it in the agent's state.
    pub fn publish(&self, state: &crate::server::AgentState) {
        if let Ok(mut k) = state.kubernetes.write() {
            *k = serde_json::to_value(self).unwrap_or_default();
        }
    }
}

/// The `/metrics` lines of the discovery (none when it is off).
pub fn metrics(status: &serde_json::Value) -> String {
    if status.is_null() {
        return String::new();
    }
    let n = |k: &str| status[k].as_u64().unwrap_or(0);
    let len = |k: &str| status[k].as_array().map_or(0, Vec::len);
    format!(
        "# HELP lookout_kubernetes_listings_total Pod listings from the API server, by result.\n\
         # TYPE lookout_kubernetes_listings_total counter\n\
         lookout_kubernetes_listings_total{{result=\"ok\"}} {}\n\
         lookout_kubernetes_listings_total{{result=\"error\"}} {}\n\
         # HELP lookout_kubernetes_pods Pods of the node in the last listing, by what was made of them.\n\
         # TYPE lookout_kubernetes_pods gauge\n\
         lookout_kubernetes_pods{{state=\"listed\"}} {}\n\
         lookout_kubernetes_pods{{state=\"collected\"}} {}\n\
         lookout_kubernetes_pods{{state=\"not_running\"}} {}\n\
         lookout_kubernetes_pods{{state=\"skipped\"}} {}\n\
         # HELP lookout_kubernetes_pods_skipped_total Annotated pods skipped (bad annotations or settings), counted at every listing.\n\
         # TYPE lookout_kubernetes_pods_skipped_total counter\n\
         lookout_kubernetes_pods_skipped_total {}\n",
        n("listings"),
        n("errors"),
        n("pods"),
        n("collected"),
        n("not_running"),
        len("skipped"),
        n("skipped_total"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn list(items: &str) -> PodList {
        parse_pod_list(
            format!(r#"{{"apiVersion":"v1","kind":"PodList","items":[{items}]}}"#).as_bytes(),
        )
        .unwrap()
    }

    fn pod(ns: &str, name: &str, ann: &str) -> String {
        format!(
            r#"{{"metadata":{{"name":"{name}","namespace":"{ns}","uid":"uid-{ns}-{name}","annotations":{{{ann}}}}},"spec":{{"nodeName":"n1"}},"status":{{"phase":"Running","podIP":"10.0.0.7"}}}}"#
        )
    }

    #[test]
    fn each_pod_is_validated_alone() {
        let good = r#""lookout.io/integration":"redis","lookout.io/port":"6379","lookout.io/settings":"{\"interval\":\"5s\"}""#;
        // schema-valid JSON, but not a valid redis source: only this pod is skipped
        let bad_key = r#""lookout.io/integration":"redis","lookout.io/port":"6379","lookout.io/settings":"{\"intervall\":\"5s\"}""#;
        let plaintext = r#""lookout.io/integration":"redis","lookout.io/port":"6380","lookout.io/settings":"{\"password\":\"hunter2\"}""#;
        let f = found(
            &list(
                &[
                    pod("shop", "cache-0", good),
                    pod("shop", "cache-1", bad_key),
                    pod("shop", "cache-2", plaintext),
                    pod("shop", "web", ""),
                ]
                .join(","),
            ),
            "n1",
            &[],
        );
        assert_eq!(f.pods, 4);
        assert_eq!(f.discovered.ids(), ["auto_redis_k8s_shop_cache_0_6379"]);
        assert_eq!(f.skipped.len(), 2, "{:?}", f.skipped);
        assert!(
            f.skipped[0].starts_with("pod shop/cache-1: "),
            "{:?}",
            f.skipped
        );
        assert!(f.skipped[0].contains("intervall"), "{:?}", f.skipped);
        assert!(f.skipped[1].contains("password"), "{:?}", f.skipped);
        assert!(!f.skipped[1].contains("hunter2"), "{:?}", f.skipped);
        match &f.discovered.sources[0].kind {
            lookout_config::SourceKind::Redis(r) => {
                assert_eq!(r.endpoint, "10.0.0.7:6379");
                assert_eq!(r.interval, lookout_config::Duration::from_secs(5));
                assert_eq!(r.attributes["k8s.pod.name"], "cache-0");
                assert_eq!(r.attributes["k8s.node.name"], "n1");
            }
            k => panic!("{k:?}"),
        }
        // the merge accepts them as it accepts discovered services
        let base = lookout_config::load_str(
            "t",
            "sources:\n  h: {type: host_metrics}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [h]}\n",
            &[],
            &|_| None,
        )
        .unwrap();
        let (merged, added) =
            crate::autoconf::merge(&base, &f.discovered, &Default::default()).unwrap();
        assert_eq!(added, ["auto_redis_k8s_shop_cache_0_6379"]);
        assert!(merged.sinks[0].inputs.contains(&added[0]));
    }

    #[test]
    fn names_that_map_to_one_id_are_told_apart() {
        let ann = r#""lookout.io/integration":"redis","lookout.io/port":"6379""#;
        let f = found(
            &list(&[pod("a-b", "c", ann), pod("a", "b-c", ann)].join(",")),
            "n1",
            &[],
        );
        let ids = f.discovered.ids();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert_ne!(ids[0], ids[1]);
    }

    #[test]
    fn the_field_selector_is_encoded_and_the_environment_fills_the_defaults() {
        assert_eq!(
            encode("spec.nodeName=ip-10-0-0-1.ec2"),
            "spec.nodeName%3Dip-10-0-0-1.ec2"
        );
        let cfg = KubernetesConfig {
            enabled: true,
            node_name: Some("n1".into()),
            api_server: Some(lookout_config::Endpoint(
                url::Url::parse("http://127.0.0.1:1/").unwrap(),
            )),
            ..Default::default()
        };
        let l = Lister::new(&cfg).unwrap();
        assert_eq!(
            l.url,
            "http://127.0.0.1:1/api/v1/pods?fieldSelector=spec.nodeName%3Dn1"
        );
        for _ in 0..100 {
            let w = l.next_wait();
            assert!(
                w >= Duration::from_secs(27) && w <= Duration::from_secs(33),
                "{w:?}"
            );
        }
        // https needs the CA file
        let cfg = KubernetesConfig {
            api_server: Some(lookout_config::Endpoint(
                url::Url::parse("https://127.0.0.1:1/").unwrap(),
            )),
            ca_file: "/nonexistent/ca.crt".into(),
            ..cfg
        };
        let e = Lister::new(&cfg).err().unwrap();
        assert!(e.contains("/nonexistent/ca.crt"), "{e}");
    }

    #[test]
    fn metrics_page() {
        assert_eq!(metrics(&serde_json::Value::Null), "");
        let mut s = Status::default();
        s.listed(&Found {
            pods: 3,
            skipped: vec!["pod a/b: x".into()],
            ..Found::default()
        });
        s.failed("down".into());
        let page = metrics(&serde_json::to_value(&s).unwrap());
        assert!(
            page.contains("lookout_kubernetes_listings_total{result=\"ok\"} 1\n"),
            "{page}"
        );
        assert!(
            page.contains("lookout_kubernetes_listings_total{result=\"error\"} 1\n"),
            "{page}"
        );
        assert!(
            page.contains("lookout_kubernetes_pods{state=\"listed\"} 3\n"),
            "{page}"
        );
        assert!(
            page.contains("lookout_kubernetes_pods_skipped_total 1\n"),
            "{page}"
        );
    }
}
