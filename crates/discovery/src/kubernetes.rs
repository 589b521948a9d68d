//! Discovery through Kubernetes pod annotations: the pods of the agent's node, as the API
//! server lists them (`GET /api/v1/pods?fieldSelector=spec.nodeName=<node>`), turned into
//! integration instances. Pure: bytes of a `PodList` in, verdicts and source definitions out;
//! the HTTP client is the agent's.
//!
//! # The annotation contract
//!
//! | annotation | value |
//! |---|---|
//! | `lookout.io/integration` | `redis`, `mysql`, `postgresql`, `nginx` or `apache` (required: a pod without it is not collected) |
//! | `lookout.io/port` | the container port to read, `1`–`65535` (required) |
//! | `lookout.io/path` | nginx and apache: the status page's path (default `/nginx_status`, `/server-status?auto`) |
//! | `lookout.io/settings` | a JSON object of the integration's settings (`interval`, `username`, `password`...), secrets only as `${secret:NAME}` with `NAME` in `kubernetes.allowed_secrets` |
//!
//! The instance reads `<podIP>:<port>` and its metrics carry `k8s.pod.name`,
//! `k8s.namespace.name`, `k8s.node.name` and `k8s.pod.uid`. Only `Running` pods are collected.
//! A pod whose annotations are wrong is skipped with a reason ([`Verdict::Malformed`]); the
//! other pods are unaffected. The settings cannot name `type` or `endpoint` (the target is
//! always the pod itself) nor use `${env:...}` or `${file:...}` (the agent's environment and
//! files are not the pod author's to read).

use crate::correlate::{Kind, Service};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The annotation naming the integration.
pub const ANNOTATION_INTEGRATION: &str = "lookout.io/integration";
/// The annotation naming the port.
pub const ANNOTATION_PORT: &str = "lookout.io/port";
/// The annotation holding the integration's settings as JSON.
pub const ANNOTATION_SETTINGS: &str = "lookout.io/settings";
/// The annotation giving an HTTP status page's path (nginx, apache).
pub const ANNOTATION_PATH: &str = "lookout.io/path";

/// The longest `lookout.io/settings` accepted, in bytes.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// A `v1` `PodList`, with only the fields discovery reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PodList {
    /// `v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `PodList`.
    pub kind: String,
    /// The pods.
    pub items: Vec<Pod>,
}

/// A pod.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Pod {
    /// Name, namespace, uid, annotations.
    pub metadata: ObjectMeta,
    /// The node it is scheduled on.
    pub spec: PodSpec,
    /// Its phase and address.
    pub status: PodStatus,
}

/// A pod's `metadata`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ObjectMeta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.annotations` (absent when empty).
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A pod's `spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PodSpec {
    /// `spec.nodeName`.
    #[serde(rename = "nodeName")]
    pub node_name: Option<String>,
}

/// A pod's `status`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    pub phase: Option<String>,
    /// `status.podIP`.
    #[serde(rename = "podIP")]
    pub pod_ip: Option<String>,
}

/// Reads a `PodList` answer. Err names what is wrong (not JSON, not a `v1` `PodList`).
pub fn parse_pod_list(body: &[u8]) -> Result<PodList, String> {
    let list: PodList =
        serde_json::from_slice(body).map_err(|e| format!("the pod list is not valid: {e}"))?;
    if list.api_version != "v1" || list.kind != "PodList" {
        return Err(format!(
            "expected a v1 PodList, got apiVersion `{}` kind `{}`",
            list.api_version, list.kind
        ));
    }
    Ok(list)
}

/// A pod to collect: an integration at `ip:port`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The integration.
    pub kind: Kind,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `spec.nodeName`.
    pub node: String,
    /// `status.podIP`.
    pub ip: IpAddr,
    /// `lookout.io/port`.
    pub port: u16,
    /// `lookout.io/path` (nginx, apache).
    pub path: Option<String>,
    /// `lookout.io/settings`, checked.
    pub settings: serde_json::Map<String, serde_json::Value>,
}

/// What discovery makes of one pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// No `lookout.io/integration` annotation: not for lookout.
    NotAnnotated,
    /// Annotated correctly but not `Running` (its phase).
    NotRunning(String),
    /// Collect it.
    Collect(Box<Target>),
    /// Annotated wrongly: skipped, with the reason.
    Malformed(String),
}

fn kind_named(name: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.as_str() == name)
}

/// Checks every `${...}` in a settings string: only `${secret:NAME}` with an allowed name.
fn check_references(text: &str, allowed: &[String], at: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("{at}: unclosed `${{`"));
        };
        let spec = &after[..end];
        match spec.strip_prefix("secret:") {
            Some(name) if allowed.iter().any(|a| a == name) => {}
            Some(name) => {
                return Err(format!(
                    "{at}: secret `{name}` is not in kubernetes.allowed_secrets"
                ))
            }
            None => {
                return Err(format!(
                    "{at}: only ${{secret:NAME}} references are allowed, found `${{{spec}}}`"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

fn check_value(v: &serde_json::Value, allowed: &[String], at: &str) -> Result<(), String> {
    match v {
        serde_json::Value::String(s) => check_references(s, allowed, at),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_value(v, allowed, &format!("{at}[{i}]"))),
        serde_json::Value::Object(m) => m.iter().try_for_each(|(k, v)| {
            check_references(k, &[], at)?;
            check_value(v, allowed, &format!("{at}.{k}"))
        }),
        _ => Ok(()),
    }
}

fn settings_of(
    text: &str,
    allowed: &[String],
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    if text.len() > MAX_SETTINGS_BYTES {
        return Err(format!(
            "{ANNOTATION_SETTINGS} is {} bytes, more than {MAX_SETTINGS_BYTES}",
            text.len()
        ));
    }
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("{ANNOTATION_SETTINGS} is not valid JSON: {e}"))?;
    let serde_json::Value::Object(map) = v else {
        return Err(format!("{ANNOTATION_SETTINGS} must be a JSON object"));
    };
    for reserved in ["type", "endpoint"] {
        if map.contains_key(reserved) {
            return Err(format!(
                "{ANNOTATION_SETTINGS} cannot set `{reserved}`: the pod's IP and {ANNOTATION_PORT} are the target"
            ));
        }
    }
    for (k, v) in &map {
        check_references(k, &[], ANNOTATION_SETTINGS)?;
        check_value(v, allowed, &format!("{ANNOTATION_SETTINGS}: {k}"))?;
    }
    if let Some(a) = map.get("attributes") {
        let ok = a
            .as_object()
            .is_some_and(|m| m.values().all(serde_json::Value::is_string));
        if !ok {
            return Err(format!(
                "{ANNOTATION_SETTINGS}: attributes must map names to strings"
            ));
        }
    }
    Ok(map)
}

/// Decides what to do with one pod of `node`. `allowed_secrets`: the secret names annotation
/// settings may refer to.
pub fn classify(pod: &Pod, node: &str, allowed_secrets: &[String]) -> Verdict {
    let empty = BTreeMap::new();
    let ann = pod.metadata.annotations.as_ref().unwrap_or(&empty);
    let Some(integration) = ann.get(ANNOTATION_INTEGRATION) else {
        return Verdict::NotAnnotated;
    };
    let integration = integration.trim();
    let Some(kind) = kind_named(integration) else {
        return Verdict::Malformed(format!(
            "{ANNOTATION_INTEGRATION}: unknown integration `{integration}` (one of {})",
            Kind::ALL.map(Kind::as_str).join(", ")
        ));
    };
    let port = match ann.get(ANNOTATION_PORT).map(|p| p.trim()) {
        None => return Verdict::Malformed(format!("{ANNOTATION_PORT} is missing")),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Verdict::Malformed(format!(
                    "{ANNOTATION_PORT} `{p}` is not a port (1-65535)"
                ))
            }
        },
    };
    let path = match ann.get(ANNOTATION_PATH) {
        None => None,
        Some(_) if !matches!(kind, Kind::Nginx | Kind::Apache) => {
            return Verdict::Malformed(format!(
                "{ANNOTATION_PATH} applies to nginx and apache only"
            ))
        }
        Some(p) => {
            let p = p.trim();
            if !p.starts_with('/') || p.contains(char::is_whitespace) || p.contains(['#', '$']) {
                return Verdict::Malformed(format!(
                    "{ANNOTATION_PATH} `{p}` must be an absolute path such as /nginx_status"
                ));
            }
            Some(p.to_string())
        }
    };
    let settings = match ann.get(ANNOTATION_SETTINGS) {
        None => serde_json::Map::new(),
        Some(text) => match settings_of(text, allowed_secrets) {
            Ok(s) => s,
            Err(e) => return Verdict::Malformed(e),
        },
    };
    let meta = &pod.metadata;
    if meta.name.is_empty() || meta.namespace.is_empty() || meta.uid.is_empty() {
        return Verdict::Malformed("metadata.name, namespace or uid is empty".into());
    }
    let phase = pod.status.phase.as_deref().unwrap_or("Unknown");
    if phase != "Running" {
        return Verdict::NotRunning(phase.to_string());
    }
    let ip = match pod.status.pod_ip.as_deref().map(str::parse::<IpAddr>) {
        Some(Ok(ip)) => ip,
        Some(Err(_)) => return Verdict::Malformed("status.podIP is not an IP address".into()),
        None => return Verdict::Malformed("status.podIP is missing".into()),
    };
    Verdict::Collect(Box::new(Target {
        kind,
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        node: pod
            .spec
            .node_name
            .clone()
            .unwrap_or_else(|| node.to_string()),
        ip,
        port,
        path,
        settings,
    }))
}

impl Target {
    /// The instance name: `redis@k8s:<namespace>/<pod>:<port>`.
    pub fn instance(&self) -> String {
        format!(
            "{}@k8s:{}/{}:{}",
            self.kind.as_str(),
            self.namespace,
            self.name,
            self.port
        )
    }

    /// `ip:port` (`[ip]:port` for IPv6).
    pub fn address(&self) -> String {
        std::net::SocketAddr::new(self.ip, self.port).to_string()
    }

    /// The integration's `endpoint`: `ip:port`, or the status page's URL for nginx and apache.
    pub fn endpoint(&self) -> String {
        match self.kind {
            Kind::Nginx => format!(
                "http://{}{}",
                self.address(),
                self.path.as_deref().unwrap_or("/nginx_status")
            ),
            Kind::Apache => format!(
                "http://{}{}",
                self.address(),
                self.path.as_deref().unwrap_or("/server-status?auto")
            ),
            _ => self.address(),
        }
    }

    /// The source's body as a JSON object (which is YAML): the settings, then `type`,
    /// `endpoint` and the `k8s.*` resource attributes (which replace the settings' own of the
    /// same name).
    pub fn source_body(&self) -> serde_json::Value {
        let mut body = self.settings.clone();
        let mut attrs = match body.remove("attributes") {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        for (k, v) in [
            ("k8s.pod.name", &self.name),
            ("k8s.namespace.name", &self.namespace),
            ("k8s.node.name", &self.node),
            ("k8s.pod.uid", &self.uid),
        ] {
            attrs.insert(k.to_string(), serde_json::Value::String(v.clone()));
        }
        body.insert("type".into(), self.kind.as_str().into());
        body.insert("endpoint".into(), self.endpoint().into());
        body.insert("attributes".into(), serde_json::Value::Object(attrs));
        serde_json::Value::Object(body)
    }

    /// The instance as a discovered service (confidence 1: the pod's owner asked for it).
    pub fn service(&self) -> Service {
        let mut reasons = vec![format!(
            "pod {}/{} on node {} annotated {ANNOTATION_INTEGRATION}={}, {ANNOTATION_PORT}={}",
            self.namespace,
            self.name,
            self.node,
            self.kind.as_str(),
            self.port
        )];
        if !self.settings.is_empty() {
            let keys: Vec<&str> = self.settings.keys().map(String::as_str).collect();
            reasons.push(format!("settings: {}", keys.join(", ")));
        }
        Service {
            kind: self.kind,
            instance: self.instance(),
            pid: None,
            exe: None,
            listens: vec![format!("tcp {}", self.address())],
            config: None,
            package: None,
            container: None,
            confidence: 1.0,
            reasons,
            limits: Vec::new(),
        }
    }
}

/// Feeds arbitrary bytes to the parsers, for the fuzz target: as a pod list, and as each
/// annotation's value on an otherwise good pod. Never panics.
pub fn fuzz_one(data: &[u8]) {
    if let Ok(list) = parse_pod_list(data) {
        for p in &list.items {
            if let Verdict::Collect(t) = classify(p, "n", &["s".to_string()]) {
                let _ = t.source_body().to_string();
                let _ = t.service();
            }
        }
    }
    let text = String::from_utf8_lossy(data).into_owned();
    for key in [
        ANNOTATION_INTEGRATION,
        ANNOTATION_PORT,
        ANNOTATION_SETTINGS,
        ANNOTATION_PATH,
    ] {
        let mut ann: BTreeMap<String, String> =
            [(ANNOTATION_INTEGRATION, "nginx"), (ANNOTATION_PORT, "8080")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        ann.insert(key.to_string(), text.clone());
        let pod = Pod {
            metadata: ObjectMeta {
                name: "p".into(),
                namespace: "ns".into(),
                uid: "u".into(),
                annotations: Some(ann),
            },
            spec: PodSpec::default(),
            status: PodStatus {
                phase: Some("Running".into()),
                pod_ip: Some("10.0.0.1".into()),
            },
        };
        if let Verdict::Collect(t) = classify(&pod, "n", &["s".to_string()]) {
            let _ = t.source_body().to_string();
            let _ = t.service();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pod(ann: &[(&str, &str)], phase: &str, ip: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: "cache-0".into(),
                namespace: "shop".into(),
                uid: "8d5f-11".into(),
                annotations: Some(
                    ann.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            },
            spec: PodSpec {
                node_name: Some("node-a".into()),
            },
            status: PodStatus {
                phase: Some(phase.into()),
                pod_ip: ip.map(String::from),
            },
        }
    }

    /// (annotations, phase, pod IP, the endpoint collected or part of the reason it is not).
    type Case<'a> = (
        &'a [(&'a str, &'a str)],
        &'a str,
        Option<&'a str>,
        Result<&'a str, &'a str>,
    );

    const R: (&str, &str) = (ANNOTATION_INTEGRATION, "redis");
    const P: (&str, &str) = (ANNOTATION_PORT, "6379");

    #[test]
    fn annotations_table() {
        let allowed = vec!["cache-pw".to_string()];
        // (annotations, phase, ip, Ok(endpoint) or Err(part of the reason); "-" = not annotated,
        // "phase:X" = not running)
        let cases: &[Case] = &[
            (&[R, P], "Running", Some("10.1.2.3"), Ok("10.1.2.3:6379")),
            (
                &[R, (ANNOTATION_PORT, " 6380 ")],
                "Running",
                Some("fd00::5"),
                Ok("[fd00::5]:6380"),
            ),
            (
                &[(ANNOTATION_INTEGRATION, "nginx"), (ANNOTATION_PORT, "8080")],
                "Running",
                Some("10.0.0.9"),
                Ok("http://10.0.0.9:8080/nginx_status"),
            ),
            (
                &[
                    (ANNOTATION_INTEGRATION, "apache"),
                    (ANNOTATION_PORT, "80"),
                    (ANNOTATION_PATH, "/status?auto"),
                ],
                "Running",
                Some("10.0.0.9"),
                Ok("http://10.0.0.9:80/status?auto"),
            ),
            (
                &[
                    R,
                    P,
                    (
                        ANNOTATION_SETTINGS,
                        r#"{"interval":"30s","password":"${secret:cache-pw}"}"#,
                    ),
                ],
                "Running",
                Some("10.1.2.3"),
                Ok("10.1.2.3:6379"),
            ),
            (&[], "Running", Some("10.1.2.3"), Err("-")),
            (&[P], "Running", Some("10.1.2.3"), Err("-")),
            (
                &[R],
                "Running",
                Some("10.1.2.3"),
                Err("lookout.io/port is missing"),
            ),
            (
                &[R, (ANNOTATION_PORT, "http")],
                "Running",
                Some("10.1.2.3"),
                Err("`http` is not a port"),
            ),
            (
                &[R, (ANNOTATION_PORT, "0")],
                "Running",
                Some("10.1.2.3"),
                Err("not a port"),
            ),
            (
                &[R, (ANNOTATION_PORT, "65536")],
                "Running",
                Some("10.1.2.3"),
                Err("not a port"),
            ),
            (
                &[R, (ANNOTATION_PORT, "-1")],
                "Running",
                Some("10.1.2.3"),
                Err("not a port"),
            ),
            (
                &[(ANNOTATION_INTEGRATION, "mongodb"), P],
                "Running",
                Some("10.1.2.3"),
                Err("unknown integration `mongodb`"),
            ),
            (
                &[(ANNOTATION_INTEGRATION, "Redis"), P],
                "Running",
                Some("10.1.2.3"),
                Err("unknown integration"),
            ),
            (
                &[R, P, (ANNOTATION_SETTINGS, "{interval: 30s}")],
                "Running",
                Some("10.1.2.3"),
                Err("not valid JSON"),
            ),
            (
                &[R, P, (ANNOTATION_SETTINGS, "[1]")],
                "Running",
                Some("10.1.2.3"),
                Err("must be a JSON object"),
            ),
            (
                &[
                    R,
                    P,
                    (ANNOTATION_SETTINGS, r#"{"endpoint":"10.9.9.9:6379"}"#),
                ],
                "Running",
                Some("10.1.2.3"),
                Err("cannot set `endpoint`"),
            ),
            (
                &[R, P, (ANNOTATION_SETTINGS, r#"{"type":"mysql"}"#)],
                "Running",
                Some("10.1.2.3"),
                Err("cannot set `type`"),
            ),
            (
                &[
                    R,
                    P,
                    (
                        ANNOTATION_SETTINGS,
                        r#"{"password":"${env:NEW_RELIC_LICENSE_KEY}"}"#,
                    ),
                ],
                "Running",
                Some("10.1.2.3"),
                Err("only ${secret:NAME}"),
            ),
            (
                &[
                    R,
                    P,
                    (ANNOTATION_SETTINGS, r#"{"password":"${file:/etc/shadow}"}"#),
                ],
                "Running",
                Some("10.1.2.3"),
                Err("only ${secret:NAME}"),
            ),
            (
                &[
                    R,
                    P,
                    (ANNOTATION_SETTINGS, r#"{"password":"${secret:other}"}"#),
                ],
                "Running",
                Some("10.1.2.3"),
                Err("not in kubernetes.allowed_secrets"),
            ),
            (
                &[R, P, (ANNOTATION_SETTINGS, r#"{"attributes":{"team":1}}"#)],
                "Running",
                Some("10.1.2.3"),
                Err("attributes must map"),
            ),
            (
                &[
                    R,
                    P,
                    (ANNOTATION_SETTINGS, r#"{"attributes":{"${env:HOME}":"x"}}"#),
                ],
                "Running",
                Some("10.1.2.3"),
                Err("only ${secret:NAME}"),
            ),
            (
                &[
                    (ANNOTATION_INTEGRATION, "nginx"),
                    (ANNOTATION_PORT, "80"),
                    (ANNOTATION_PATH, "/s${env:HOME}"),
                ],
                "Running",
                Some("10.1.2.3"),
                Err("absolute path"),
            ),
            (
                &[R, P, (ANNOTATION_PATH, "/x")],
                "Running",
                Some("10.1.2.3"),
                Err("nginx and apache only"),
            ),
            (
                &[
                    (ANNOTATION_INTEGRATION, "nginx"),
                    (ANNOTATION_PORT, "80"),
                    (ANNOTATION_PATH, "status"),
                ],
                "Running",
                Some("10.1.2.3"),
                Err("absolute path"),
            ),
            (&[R, P], "Pending", None, Err("phase:Pending")),
            (
                &[R, P],
                "Succeeded",
                Some("10.1.2.3"),
                Err("phase:Succeeded"),
            ),
            (&[R, P], "Running", None, Err("podIP is missing")),
            (&[R, P], "Running", Some("10.1.2"), Err("not an IP address")),
        ];
        for (i, (ann, phase, ip, want)) in cases.iter().enumerate() {
            let got = classify(&pod(ann, phase, *ip), "node-a", &allowed);
            match (want, &got) {
                (Ok(endpoint), Verdict::Collect(t)) => {
                    assert_eq!(t.endpoint(), *endpoint, "case {i}");
                    assert_eq!(t.node, "node-a");
                }
                (Err("-"), Verdict::NotAnnotated) => {}
                (Err(w), Verdict::NotRunning(p))
                    if w.strip_prefix("phase:") == Some(p.as_str()) => {}
                (Err(w), Verdict::Malformed(reason)) if !w.starts_with("phase:") => {
                    assert!(reason.contains(*w), "case {i}: {reason:?} lacks {w:?}")
                }
                _ => panic!("case {i}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn the_source_body_carries_the_pod_attributes_over_the_settings() {
        let p = pod(
            &[
                R,
                P,
                (
                    ANNOTATION_SETTINGS,
                    r#"{"interval":"5s","attributes":{"team":"cart","k8s.pod.name":"spoof"}}"#,
                ),
            ],
            "Running",
            Some("10.1.2.3"),
        );
        let Verdict::Collect(t) = classify(&p, "node-a", &[]) else {
            panic!()
        };
        let b = t.source_body();
        assert_eq!(b["type"], "redis");
        assert_eq!(b["endpoint"], "10.1.2.3:6379");
        assert_eq!(b["interval"], "5s");
        assert_eq!(b["attributes"]["team"], "cart");
        assert_eq!(b["attributes"]["k8s.pod.name"], "cache-0");
        assert_eq!(b["attributes"]["k8s.namespace.name"], "shop");
        assert_eq!(b["attributes"]["k8s.node.name"], "node-a");
        assert_eq!(b["attributes"]["k8s.pod.uid"], "8d5f-11");
        let s = t.service();
        assert_eq!(s.instance, "redis@k8s:shop/cache-0:6379");
        assert!(s.configured());
        assert_eq!(s.listens, ["tcp 10.1.2.3:6379"]);
    }

    #[test]
    fn pod_lists_are_checked() {
        let good = br#"{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"a","namespace":"n","uid":"u"},"spec":{"nodeName":"x"},"status":{"phase":"Running","podIP":"10.0.0.1"}}]}"#;
        let l = parse_pod_list(good).unwrap();
        assert_eq!(l.items.len(), 1);
        assert_eq!(classify(&l.items[0], "x", &[]), Verdict::NotAnnotated);
        assert!(
            parse_pod_list(br#"{"apiVersion":"v1","kind":"Status","status":"Failure"}"#)
                .unwrap_err()
                .contains("kind `Status`")
        );
        assert!(parse_pod_list(b"<html>").unwrap_err().contains("not valid"));
        assert!(parse_pod_list(br#"{"apiVersion":"v1","kind":"PodList","items":7}"#).is_err());
    }

    /// Deterministic random input (xorshift): mutations of a good pod list and of each
    /// annotation, bytes and text alike. Nothing may panic; every verdict that collects has a
    /// valid endpoint.
    #[test]
    fn random_input_never_panics() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let seed = br#"{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"a","namespace":"n","uid":"u","annotations":{"lookout.io/integration":"redis","lookout.io/port":"6379","lookout.io/settings":"{\"interval\":\"5s\"}"}},"spec":{"nodeName":"x"},"status":{"phase":"Running","podIP":"10.0.0.1"}}]}"#;
        let alphabet = b"{}[]\":,${secret:env}0123456789 \\/.-abcxyz\xff\x00";
        let mut collected = 0;
        for round in 0..20_000 {
            let mut data = seed.to_vec();
            for _ in 0..(1 + next() % 6) {
                let pos = (next() as usize) % (data.len() + 1);
                let b = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 if pos < data.len() => data[pos] = b,
                    1 if pos < data.len() => {
                        data.remove(pos);
                    }
                    _ => data.insert(pos, b),
                }
            }
            if round % 2 == 0 {
                let cut = (next() as usize) % (data.len() + 1);
                fuzz_one(&data[..cut]);
            } else {
                fuzz_one(&data);
            }
            if let Ok(l) = parse_pod_list(&data) {
                for p in &l.items {
                    if let Verdict::Collect(t) = classify(p, "x", &[]) {
                        collected += 1;
                        assert!(t.port > 0);
                        assert!(t.endpoint().ends_with(&t.port.to_string()));
                    }
                }
            }
        }
        // the mutations are small: many inputs still collect
        assert!(collected > 100, "{collected}");
    }
}
