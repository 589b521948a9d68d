use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "NR_KEY" => Some("eu01xxsecret".into()),
        _ => None,
    }
}

fn load_text(text: &str) -> Result<Config, ConfigError> {
    load_str("t.yaml", text, &[], &env)
}

const FULL: &str = r#"
server:
  listen: 127.0.0.1:9999
log: {level: debug, format: json}
resource:
  attributes: {environment: prod}
sources:
  host:
    type: host_metrics
    interval: 2s
    collectors: [cpu, memory]
    network: {exclude: ["veth*"]}
processors:
  tag:
    type: resource
    inputs: [host]
    set: {team: ops}
sinks:
  nr:
    type: otlp_http
    inputs: [tag]
    endpoint: https://otlp.eu01.nr-data.net
    headers: {api-key: "${env:NR_KEY}"}
    compression: zstd
    temporality: delta
    buffer: {max_batches: 10, when_full: block}
  prom:
    type: prometheus
    inputs: [host]
  out:
    type: file
    inputs: [host, tag]
    path: /tmp/x.jsonl
"#;

#[test]
fn embedded_default_is_valid() {
    let c = load(None, &[], &env).unwrap();
    assert_eq!(c.settings.server.listen.to_string(), "127.0.0.1:13133");
    assert_eq!(c.sources.len(), 1);
    assert!(matches!(c.sinks[0].kind, SinkKind::Prometheus(_)));
}

#[test]
fn full_config_types() {
    let c = load_text(FULL).unwrap();
    assert_eq!(c.settings.log.level, LogLevel::Debug);
    let SourceKind::HostMetrics(h) = &c.sources[0].kind else {
        panic!("not host_metrics")
    };
    assert_eq!(h.interval, Duration::from_secs(2));
    assert_eq!(
        h.collectors,
        vec![HostCollector::Cpu, HostCollector::Memory]
    );
    assert!(!h.network.allows("veth123"));
    let SinkKind::OtlpHttp(o) = &c.sinks[0].kind else {
        panic!("not otlp")
    };
    assert_eq!(o.headers["api-key"], "eu01xxsecret");
    assert_eq!(o.compression, Compression::Zstd);
    assert_eq!(c.sinks[0].buffer.when_full, WhenFull::Block);
    assert_eq!(c.sinks[2].inputs, vec!["host", "tag"]);
}

#[test]
fn show_masks_secrets_and_reloads() {
    let c = load_text(FULL).unwrap();
    let y = to_yaml(&c);
    assert!(!y.contains("eu01xxsecret"), "{y}");
    assert!(y.contains("api-key: \"***\""), "{y}");
    // the shown config is itself a valid config equal to the original but for the secret
    let again = load_str("shown", &y, &[], &env).unwrap();
    assert_eq!(again.sources, c.sources);
    assert_eq!(again.settings, c.settings);
}

#[test]
fn set_overrides_apply() {
    let c = load_str(
        "t",
        FULL,
        &[
            "sources.host.interval=5s".into(),
            "server.listen=127.0.0.1:1".into(),
        ],
        &env,
    )
    .unwrap();
    let SourceKind::HostMetrics(h) = &c.sources[0].kind else {
        panic!("not host_metrics")
    };
    assert_eq!(h.interval, Duration::from_secs(5));
    assert_eq!(c.settings.server.listen.port(), 1);
    let e = load_str("t", FULL, &["sources.host.interval=5x".into()], &env).unwrap_err();
    assert!(e.to_string().starts_with("--set #1"), "{e}");
}

fn err(text: &str) -> ConfigError {
    load_text(text).unwrap_err()
}

fn at(e: &ConfigError) -> (usize, usize) {
    let m = e.mark.as_ref().unwrap();
    (m.line, m.col)
}

#[test]
fn errors_point_at_the_cause() {
    let e = err("sources:\n  h:\n    type: host_metrics\n    intervall: 1s\n");
    assert_eq!(at(&e), (4, 5));
    assert_eq!(e.hint.as_deref(), Some("did you mean `interval`?"));

    let e = err("sinks:\n  p:\n    type: prometheus\n    inputs: [nope]\n");
    assert_eq!(at(&e), (4, 14));
    assert!(e.message.contains("`nope`, which does not exist"));

    let e =
        err("sources:\n  x: {type: host_metrics}\nsinks:\n  x: {type: prometheus, inputs: [x]}\n");
    assert_eq!(at(&e), (4, 3));
    assert!(e.message.contains("duplicate component id `x`"));

    let e = err(
        "processors:\n  a: {type: resource, inputs: [b]}\n  b: {type: resource, inputs: [a]}\n",
    );
    assert!(e.message.contains("cycle"), "{e}");

    let e = err("sources:\n  h: {type: host_metrics, interval: 10}\n");
    assert!(e.message.contains("invalid duration"), "{e}");

    let e = err("sinks:\n  o: {type: otlp_http, inputs: [h], endpoint: 'not a url'}\nsources:\n  h: {type: host_metrics}\n");
    assert!(e.message.contains("invalid URL"), "{e}");
    assert_eq!(at(&e).0, 2);

    let e = err("sources:\n  h: {type: disk_metrics}\n");
    assert!(e.message.contains("unknown component type `disk_metrics`"));

    let e = err("server:\n  listen: localhost\n");
    assert_eq!(at(&e), (2, 11));
}

#[test]
fn log_sources_and_multiline_forms() {
    let text = r#"
sources:
  a:
    type: files
    include: [/var/log/*.log]
    multiline: auto
    parser: json
  b:
    type: files
    include: [/var/log/b.log]
    multiline: {start: '^\d{4}-'}
    attributes: {team: db}
  c:
    type: files
    include: [/var/log/c.log]
    multiline:
      continuation: '^\s'
  j:
    type: journald
    directory: /var/log/journal
    units: [ssh.service]
    matches: {_COMM: [sshd, sudo]}
  d:
    type: docker
sinks:
  out: {type: file, inputs: [a, b, c, j, d], path: /tmp/x.jsonl}
"#;
    let c = load_text(text).unwrap();
    let files: Vec<&FilesConfig> = c
        .sources
        .iter()
        .filter_map(|s| match &s.kind {
            SourceKind::Files(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(files[0].multiline, MultilineConfig::Auto);
    assert_eq!(files[0].parser, LogParserKind::Json);
    assert_eq!(
        files[1].multiline,
        MultilineConfig::Start(r"^\d{4}-".into())
    );
    assert_eq!(files[1].logs().attributes["team"], "db");
    assert_eq!(
        files[2].multiline,
        MultilineConfig::Continuation(r"^\s".into())
    );
    assert_eq!(files[2].start_at, LogStartAt::Beginning);
    let SourceKind::Journald(j) = &c.sources[3].kind else {
        panic!("journald expected")
    };
    assert_eq!(j.matches["_COMM"], ["sshd", "sudo"]);
    assert_eq!(j.start_at, LogStartAt::End);
    assert!(j.current_boot_only);
    let SourceKind::Docker(d) = &c.sources[4].kind else {
        panic!("docker expected")
    };
    assert_eq!(d.data_root, std::path::PathBuf::from("/var/lib/docker"));
    // a variant with a value written as one word, and an unknown variant, are errors
    let bad = text.replace("{start: '^\\d{4}-'}", "start");
    assert!(load_text(&bad).is_err());
    let bad = text.replace("multiline: auto", "multiline: {sometimes: x}");
    let e = load_text(&bad).unwrap_err().to_string();
    assert!(e.contains("sometimes"), "{e}");
}

#[test]
fn host_root_sets_the_paths_a_source_does_not_write() {
    use std::path::PathBuf;
    let text = "host: {root: /host}\nsources:\n  h: {type: host_metrics}\n  h2: {type: host_metrics, proc_path: /elsewhere/proc}\n  p: {type: process_metrics}\n  p2: {type: process_metrics, etc_path: /etc}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [h, h2, p, p2]}\n";
    let c = load_text(text).unwrap();
    assert_eq!(c.settings.host.proc(), PathBuf::from("/host/proc"));
    assert_eq!(c.settings.host.sys(), PathBuf::from("/host/sys"));
    assert!(c.settings.host.is_remapped());
    let host = |i: usize| match &c.sources[i].kind {
        SourceKind::HostMetrics(h) => (h.proc_path.clone(), h.root_path.clone()),
        k => panic!("{k:?}"),
    };
    let procs = |i: usize| match &c.sources[i].kind {
        SourceKind::ProcessMetrics(p) => (p.proc_path.clone(), p.etc_path.clone()),
        k => panic!("{k:?}"),
    };
    assert_eq!(host(0), ("/host/proc".into(), "/host".into()));
    // a path written wins
    assert_eq!(host(1), ("/elsewhere/proc".into(), "/host".into()));
    assert_eq!(procs(2), ("/host/proc".into(), "/host/etc".into()));
    assert_eq!(procs(3), ("/host/proc".into(), "/etc".into()));
    // the assembled configuration round-trips (auto-configuration re-validates its YAML)
    let again = load_text(&to_yaml(&c)).unwrap();
    assert_eq!(again.sources, c.sources);
    // without `host:`, the usual paths
    let c = load_text("sources:\n  h: {type: host_metrics}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [h]}\n").unwrap();
    assert!(!c.settings.host.is_remapped());
    match &c.sources[0].kind {
        SourceKind::HostMetrics(h) => {
            assert_eq!(h.proc_path, PathBuf::from("/proc"));
            assert_eq!(h.root_path, PathBuf::from("/"));
        }
        k => panic!("{k:?}"),
    }
    let e = load_text("host: {root: host}\n").unwrap_err().to_string();
    assert!(e.contains("not an absolute path"), "{e}");
}

#[test]
fn kubernetes_settings() {
    let c = load_text("kubernetes: {enabled: true, node_name: n1, api_server: 'https://127.0.0.1:6443', allowed_secrets: [redis-pw]}\n").unwrap();
    let k = &c.settings.kubernetes;
    assert!(k.enabled);
    assert_eq!(k.node_name.as_deref(), Some("n1"));
    assert_eq!(k.interval, Duration::from_secs(30));
    assert_eq!(
        k.token_file,
        std::path::PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/token")
    );
    assert_eq!(k.allowed_secrets, ["redis-pw"]);
    assert!(
        !load_text("log: {level: info}\n")
            .unwrap()
            .settings
            .kubernetes
            .enabled
    );
    let e = load_text("kubernetes: {enabled: true, interval: 100ms}\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("too short"), "{e}");
    let e = load_text("kubernetes: {enabld: true}\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("enabld"), "{e}");
    let e = load_text(
        "policy: {local_only: true}\nserver: {enabled: false}\nkubernetes: {enabled: true}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("kubernetes.enabled"), "{e}");
}
