//! Table-driven tests over configurations written from the agent's documentation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use std::collections::BTreeMap;
use std::sync::{Mutex, Once};

const US_KEY: &str = "0123456789abcdef0123456789abcdef01NRAL";
const EU_KEY: &str = "eu01xx6789abcdef0123456789abcdef01NRAL";
const GOV_KEY: &str = "gov01x6789abcdef0123456789abcdef01NRAL";

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.into(),
        text: text.into(),
    }
}

fn input(main: &str) -> Input {
    Input {
        main: file("/etc/newrelic-infra.yml", main),
        env: Vec::new(),
        integrations: Vec::new(),
        logging: Vec::new(),
    }
}

fn plan(i: &Input) -> Plan {
    convert(i, &Options::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The generated configuration is one lookout accepts, with `${secret:...}` resolved to a
/// stand-in (the store is the binary's business).
fn validate(p: &Plan) -> lookout_config::Config {
    static RESOLVER: Once = Once::new();
    static VALUES: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    RESOLVER.call_once(|| {
        lookout_config::set_secret_resolver(std::sync::Arc::new(|name, _| {
            let v = VALUES.lock().unwrap();
            Ok(v.get(name)
                .cloned()
                .unwrap_or_else(|| format!("stand-in-for-{name}")))
        }))
    });
    for s in &p.secrets {
        VALUES
            .lock()
            .unwrap()
            .insert(s.name.clone(), s.value.clone());
    }
    let text = p.config_yaml("test");
    lookout_config::load_str("generated.yaml", &text, &[], &|_| None)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn row<'a>(p: &'a Plan, key: &str) -> &'a Row {
    p.rows
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("no row for {key}: {:#?}", p.rows))
}

fn get<'a>(y: &'a Y, path: &str) -> Option<&'a Y> {
    path.split('/').try_fold(y, |y, k| y.get(k))
}

fn text(y: Option<&Y>) -> String {
    match y {
        Some(Y::Str(s)) => s.clone(),
        Some(Y::Int(i)) => i.to_string(),
        Some(Y::Bool(b)) => b.to_string(),
        Some(Y::Seq(items)) => items
            .iter()
            .map(|i| text(Some(i)))
            .collect::<Vec<_>>()
            .join(","),
        other => format!("{other:?}"),
    }
}

const FULL: &str = r#"
license_key: 0123456789abcdef0123456789abcdef01NRAL
display_name: web-01 (prod)
override_hostname: web-01.example.internal
override_hostname_short: web-01
custom_attributes:
  environment: production
  team: checkout
  cost_center: 42
label.region: eu-west
proxy: http://ops:s3cret-proxy@proxy.internal:3128
ca_bundle_file: /etc/ssl/certs/corp.pem
ca_bundle_dir: /etc/ssl/corp
ignore_system_proxy: true
proxy_validate_certificates: false
http:
  headers:
    X-Team: checkout
    X-Auth-Token: t0ken-value
payload_compression_level: 0
enable_process_metrics: true
exclude_matching_metrics:
  process.name:
    - kworker*
    - regex "^systemd-.*$"
  process.executable:
    - /usr/bin/sleep
strip_command_line: false
metrics_process_sample_rate: 30
metrics_system_sample_rate: 15
metrics_storage_sample_rate: 60
metrics_network_sample_rate: -1
metrics_nfs_sample_rate: 30
network_interface_filters:
  prefix:
    - dummy
    - lo
  index-1:
    - tun
file_devices_ignored:
  - sda1
custom_supported_file_systems: [ext4, xfs]
log:
  level: smart
  format: json
  file: /var/log/newrelic-infra/newrelic-infra.log
  forward: false
  rotate:
    max_size_mb: 100
status_server_enabled: true
status_server_port: 18003
dpkg_interval_sec: 30
max_procs: 2
win_update_plugin_enabled: false
cloud_provider: aws
docker_api_version: "1.24"
plugin_dir: /etc/newrelic-infra/integrations.d
"#;

#[test]
fn every_key_family_of_newrelic_infra_yml_is_mapped_or_reported() {
    let p = plan(&input(FULL));
    let cfg = validate(&p);
    let d = &p.config;
    // identity
    assert_eq!(p.region, Region::Us);
    assert_eq!(
        text(get(d, "sinks/newrelic/endpoint")),
        "https://otlp.nr-data.net"
    );
    assert_eq!(
        text(get(d, "sinks/newrelic/headers/api-key")),
        "${secret:newrelic_license_key}"
    );
    assert_eq!(text(get(d, "resource/hostname")), "web-01.example.internal");
    assert_eq!(
        text(get(d, "resource/attributes/displayName")),
        "web-01 (prod)"
    );
    assert_eq!(text(get(d, "resource/attributes/hostname")), "web-01");
    assert_eq!(
        text(get(d, "resource/attributes/environment")),
        "production"
    );
    assert_eq!(text(get(d, "resource/attributes/cost_center")), "42");
    assert_eq!(text(get(d, "resource/attributes/label.region")), "eu-west");
    // network
    assert_eq!(
        text(get(d, "sinks/newrelic/proxy")),
        "${secret:newrelic_proxy}"
    );
    assert_eq!(text(get(d, "sinks/newrelic/env_proxy")), "false");
    assert_eq!(
        text(get(d, "sinks/newrelic/tls/ca_file")),
        "/etc/ssl/certs/corp.pem"
    );
    assert_eq!(text(get(d, "sinks/newrelic/tls/ca_dir")), "/etc/ssl/corp");
    assert_eq!(text(get(d, "sinks/newrelic/headers/X-Team")), "checkout");
    assert_eq!(
        text(get(d, "sinks/newrelic/headers/X-Auth-Token")),
        "${secret:newrelic_header_x_auth_token}"
    );
    assert_eq!(text(get(d, "sinks/newrelic/compression")), "none");
    // processes: true with exclusions
    assert_eq!(text(get(d, "sources/processes/interval")), "30s");
    assert_eq!(
        text(get(d, "sources/processes/names/exclude")),
        "kworker*,systemd-*,sleep"
    );
    assert_eq!(
        text(get(d, "sources/processes/strip_command_line")),
        "false"
    );
    // samplers
    assert_eq!(text(get(d, "sources/host/interval")), "15s");
    assert_eq!(text(get(d, "sources/host_storage/interval")), "60s");
    assert!(get(d, "sources/host_network").is_none(), "-1 turns it off");
    assert_eq!(
        text(get(d, "sources/host_storage/filesystem/devices/exclude")),
        "sda1"
    );
    assert_eq!(
        text(get(d, "sources/host_storage/filesystem/fs_types/include")),
        "ext4,xfs"
    );
    // own logs
    assert_eq!(text(get(d, "log/level")), "info");
    assert_eq!(text(get(d, "log/format")), "json");
    // rows: each family with its status
    let expect: &[(&str, Status)] = &[
        ("license_key", Status::Mapped),
        ("display_name", Status::Mapped),
        ("custom_attributes.team", Status::Mapped),
        ("label.region", Status::Mapped),
        ("proxy", Status::Mapped),
        ("ca_bundle_dir", Status::Mapped),
        ("proxy_validate_certificates", Status::Approximated),
        ("http.headers.X-Team", Status::Mapped),
        ("payload_compression_level", Status::Approximated),
        ("enable_process_metrics", Status::Mapped),
        (
            "exclude_matching_metrics.process.executable: /usr/bin/sleep",
            Status::Approximated,
        ),
        ("metrics_network_sample_rate", Status::Mapped),
        ("metrics_nfs_sample_rate", Status::NotMapped),
        ("network_interface_filters.prefix", Status::Mapped),
        ("network_interface_filters.index-1", Status::Approximated),
        ("log.level", Status::Approximated),
        ("log.file", Status::NotMapped),
        ("log.rotate", Status::NotMapped),
        ("status_server_port", Status::Approximated),
        ("dpkg_interval_sec", Status::NotMapped),
        ("max_procs", Status::NotMapped),
        ("win_update_plugin_enabled", Status::NotMapped),
        ("cloud_provider", Status::NotMapped),
        ("docker_api_version", Status::NotMapped),
        ("plugin_dir", Status::Mapped),
    ];
    for (key, status) in expect {
        let r = row(&p, key);
        assert_eq!(r.status, *status, "{key}: {r:?}");
        assert!(r.at.starts_with("/etc/newrelic-infra.yml:"), "{r:?}");
        if r.status != Status::Mapped {
            assert!(!r.note.is_empty(), "{key} needs a reason");
        }
    }
    // the exact position of a key
    let line = FULL
        .lines()
        .position(|l| l.starts_with("max_procs"))
        .unwrap()
        + 1;
    assert_eq!(
        row(&p, "max_procs").at,
        format!("/etc/newrelic-infra.yml:{line}:1")
    );
    // secrets went to the store, and nowhere else
    let names: Vec<&str> = p.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "newrelic_license_key",
            "newrelic_proxy",
            "newrelic_header_x_auth_token"
        ]
    );
    let yaml = p.config_yaml("t");
    let report = serde_json::to_string(&p.rows).unwrap()
        + &serde_json::to_string(&p.secrets).unwrap()
        + &format!("{p:?}");
    for secret in [US_KEY, "s3cret-proxy", "t0ken-value"] {
        assert!(!yaml.contains(secret), "{secret} in the config");
        assert!(!report.contains(secret), "{secret} in the report");
    }
    // and the config lookout read is the one intended
    assert!(cfg.sources.iter().any(|s| s.id == "processes"));
}

/// The agent's three-state decision (`pkg/metrics/sampler/matcher.go`).
#[test]
fn process_metrics_follow_the_agents_decision() {
    let cases: &[(&str, Option<&str>, &str)] = &[
        // (settings, the names include/exclude of the processes source, or none)
        ("enable_process_metrics: false", None, "false"),
        ("enable_process_metrics: false\ninclude_matching_metrics: {process.name: [nginx]}", None, "false with rules"),
        ("enable_process_metrics: true", Some("|"), "true, no rules: all"),
        ("enable_process_metrics: true\nexclude_matching_metrics: {process.name: [sleep]}", Some("|sleep"), "true minus excluded"),
        ("include_matching_metrics:\n  process.name:\n    - nginx\n    - regex \"^mysql\"", Some("nginx,mysql*|"), "unset with rules"),
        ("include_matching_metrics: {process.name: [nginx]}\nexclude_matching_metrics: {process.name: [x]}", Some("nginx|"), "unset: exclusions ignored"),
        ("", None, "unset, no rules: off"),
        ("exclude_matching_metrics: {process.name: [sleep]}", None, "unset with only exclusions: off"),
        ("include_matching_metrics:\n  process.name:\n    - regex \"^[ab]$\"", None, "no rule converted: nothing rather than all"),
        ("enable_process_metrics: true\nmetrics_process_sample_rate: -1", None, "rate -1"),
        ("enable_process_metrics: true\nis_forward_only: true", None, "forward only"),
    ];
    for (settings, want, what) in cases {
        let p = plan(&input(&format!("license_key: {US_KEY}\n{settings}\n")));
        validate(&p);
        let got = get(&p.config, "sources/processes").map(|s| {
            format!(
                "{}|{}",
                text(get(s, "names/include")).replace("None", ""),
                text(get(s, "names/exclude")).replace("None", "")
            )
        });
        assert_eq!(got.as_deref(), *want, "{what}");
        if let Some(src) = get(&p.config, "sources/processes") {
            assert_eq!(text(get(src, "top_n")), "100000", "{what}");
            assert_eq!(
                text(get(src, "strip_command_line")),
                "true",
                "the agent's default: {what}"
            );
        }
        let r = row(&p, "enable_process_metrics");
        assert!(!r.note.is_empty(), "{what}");
    }
}

#[test]
fn the_region_comes_from_the_key_or_the_fedramp_and_staging_keys() {
    let cases: &[(&str, Region, &str)] = &[
        (
            &format!("license_key: {US_KEY}"),
            Region::Us,
            "https://otlp.nr-data.net",
        ),
        (
            &format!("license_key: {EU_KEY}"),
            Region::Eu,
            "https://otlp.eu01.nr-data.net",
        ),
        (
            &format!("license_key: {GOV_KEY}"),
            Region::Fedramp,
            "https://gov-otlp.nr-data.net",
        ),
        (
            &format!("license_key: {US_KEY}\nfedramp: true"),
            Region::Fedramp,
            "https://gov-otlp.nr-data.net",
        ),
        (
            &format!("license_key: {US_KEY}\nstaging: true"),
            Region::Staging,
            "https://staging-otlp.nr-data.net",
        ),
        (
            "license_key: euxx0123456789",
            Region::Us,
            "https://otlp.nr-data.net",
        ),
    ];
    for (text_, region, endpoint) in cases {
        let p = plan(&input(text_));
        validate(&p);
        assert_eq!(p.region, *region, "{text_}");
        assert_eq!(text(get(&p.config, "sinks/newrelic/endpoint")), *endpoint);
    }
    assert_eq!(region_of_key("eu01xxabc"), Region::Eu);
    assert_eq!(region_of_key("gov01xabc"), Region::Fedramp);
    assert_eq!(region_of_key("eu1xxabc"), Region::Us);
}

#[test]
fn nria_variables_override_the_file() {
    let mut i = input(
        "license_key: YOUR_LICENSE_KEY\nenable_process_metrics: true\ncustom_attributes: {team: a}\n",
    );
    let env = |name: &str, value: &str| EnvVar {
        name: name.into(),
        value: value.into(),
        origin: "/etc/systemd/system/newrelic-infra.service.d/env.conf:3".into(),
    };
    i.env = vec![
        env("NRIA_LICENSE_KEY", EU_KEY),
        env("NRIA_ENABLE_PROCESS_METRICS", "false"),
        env("NRIA_OVERRIDE_HOST_ROOT", "/host"),
        env("NRIA_CUSTOM_ATTRIBUTES", r#"{"team":"b","tier":"gold"}"#),
        env("NRIA_DISPLAY_NAME", "from-env"),
        env("NRIA_METRICS_SYSTEM_SAMPLE_RATE", "7"),
        env("PATH", "/usr/bin"),
    ];
    let p = plan(&i);
    validate(&p);
    let d = &p.config;
    assert_eq!(
        p.region,
        Region::Eu,
        "the variable's key, not the file's placeholder"
    );
    assert_eq!(p.secrets[0].value, EU_KEY);
    assert!(
        get(d, "sources/processes").is_none(),
        "NRIA_ENABLE_PROCESS_METRICS=false wins"
    );
    assert_eq!(text(get(d, "sources/host/root_path")), "/host");
    assert_eq!(text(get(d, "sources/host/proc_path")), "/host/proc");
    assert_eq!(text(get(d, "sources/host/interval")), "7s");
    assert_eq!(text(get(d, "resource/attributes/team")), "b");
    assert_eq!(text(get(d, "resource/attributes/tier")), "gold");
    assert_eq!(text(get(d, "resource/attributes/displayName")), "from-env");
    let r = row(&p, "overide_host_root");
    assert!(r.at.contains("NRIA_OVERRIDE_HOST_ROOT"), "{r:?}");
    assert!(p
        .rows
        .iter()
        .any(|r| r.key == "license_key" && r.note.contains("overrides")));
    assert!(
        !format!("{:?}", i.env).contains(EU_KEY),
        "an EnvVar never prints its value"
    );
}

const V4_MYSQL: &str = r#"
integrations:
  - name: nri-mysql
    env:
      HOSTNAME: localhost
      PORT: 3306
      USERNAME: newrelic
      PASSWORD: my-sql-pass
      EXTENDED_METRICS: true
      REMOTE_MONITORING: true
    interval: 30s
    labels:
      env: production
      role: primary
    inventory_source: config/mysql
  - name: nri-mysql
    env:
      SOCKET: /run/mysqld/mysqld.sock
      USERNAME: newrelic
      PASSWORD: "{{MYSQL_PASS}}"
    interval: 15
    when:
      file_exists: /run/mysqld/mysqld.sock
variables:
  MYSQL_PASS:
    vault:
      http:
        url: http://vault.internal/v1/secret
"#;

const V4_OTHERS: &str = r#"
integrations:
  - name: nri-postgresql
    env:
      USERNAME: postgres
      PASSWORD: pg-pass
      HOSTNAME: 127.0.0.1
      PORT: "5432"
      DATABASE: postgres
      COLLECTION_LIST: '["test", "app"]'
      ENABLE_SSL: false
    interval: 20s
  - name: nri-redis
    env:
      hostname: 127.0.0.1
      port: 6379
      keys_limit: 30
      password: redis-pass
    interval: 10s
  - name: nri-nginx
    env:
      STATUS_URL: http://127.0.0.1/nginx_status
      STATUS_MODULE: discover
  - name: nri-apache
    env:
      STATUS_URL: http://127.0.0.1/server-status
  - name: nri-kafka
    env:
      CLUSTER_NAME: main
"#;

const V3_NGINX: &str = r#"
integration_name: com.newrelic.nginx
instances:
  - name: nginx-server-metrics
    command: metrics
    arguments:
      status_url: http://127.0.0.1/status
      status_module: discover
    labels:
      env: production
      role: load_balancer
  - name: nginx-server-inventory
    command: inventory
    arguments:
      config_path: /etc/nginx/nginx.conf
"#;

const V3_OTHER: &str = "integration_name: com.newrelic.cassandra\ninstances: []\n";

#[test]
fn integrations_of_both_formats_become_lookout_integrations() {
    let mut i = input(&format!("license_key: {US_KEY}\n"));
    i.integrations = vec![
        file(
            "/etc/newrelic-infra/integrations.d/mysql-config.yml",
            V4_MYSQL,
        ),
        file("/etc/newrelic-infra/integrations.d/others.yml", V4_OTHERS),
        file(
            "/etc/newrelic-infra/integrations.d/nginx-config.yml",
            V3_NGINX,
        ),
        file(
            "/etc/newrelic-infra/integrations.d/cassandra-config.yml",
            V3_OTHER,
        ),
    ];
    let p = plan(&i);
    validate(&p);
    let d = &p.config;
    let cases: &[(&str, &str)] = &[
        ("sources/mysql/type", "mysql"),
        ("sources/mysql/endpoint", "127.0.0.1:3306"),
        ("sources/mysql/username", "newrelic"),
        ("sources/mysql/password", "${secret:migrate_mysql_password}"),
        ("sources/mysql/interval", "30s"),
        ("sources/mysql/attributes/role", "primary"),
        ("sources/mysql_2/endpoint", "/run/mysqld/mysqld.sock"),
        ("sources/mysql_2/interval", "15s"),
        (
            "sources/mysql_2/password",
            "${secret:migrate_mysql_2_password}",
        ),
        ("sources/postgresql/endpoint", "127.0.0.1:5432"),
        ("sources/postgresql/databases", "test,app"),
        (
            "sources/postgresql/password",
            "${secret:migrate_postgresql_password}",
        ),
        ("sources/redis/endpoint", "127.0.0.1:6379"),
        ("sources/redis/password", "${secret:migrate_redis_password}"),
        ("sources/nginx/endpoint", "http://127.0.0.1/nginx_status"),
        ("sources/nginx_2/endpoint", "http://127.0.0.1/status"),
        ("sources/nginx_2/attributes/role", "load_balancer"),
        (
            "sources/apache/endpoint",
            "http://127.0.0.1/server-status?auto",
        ),
    ];
    for (path, want) in cases {
        assert_eq!(text(get(d, path)), *want, "{path}");
    }
    let inputs = text(get(d, "sinks/newrelic/inputs"));
    for id in [
        "mysql",
        "mysql_2",
        "postgresql",
        "redis",
        "nginx",
        "nginx_2",
        "apache",
    ] {
        assert!(
            inputs.split(',').any(|i| i == id),
            "{id} not sent: {inputs}"
        );
    }
    let status = |k: &str| row(&p, k).status;
    assert_eq!(
        status("integrations[0] (nri-mysql).EXTENDED_METRICS"),
        Status::NotMapped
    );
    assert_eq!(
        status("integrations[0] (nri-mysql).inventory_source"),
        Status::NotMapped
    );
    assert_eq!(
        status("integrations[1] (nri-mysql).when"),
        Status::NotMapped
    );
    assert_eq!(
        status("integrations[1] (nri-mysql).PASSWORD"),
        Status::Approximated
    );
    assert_eq!(status("integrations[4] (nri-kafka)"), Status::NotMapped);
    assert_eq!(status("variables"), Status::NotMapped);
    assert_eq!(
        status("instances[1] (nginx-server-inventory) command: inventory"),
        Status::NotMapped
    );
    assert_eq!(
        status("integration_name: com.newrelic.cassandra"),
        Status::NotMapped
    );
    assert_eq!(
        status("integrations[1] (nri-redis).KEYS_LIMIT"),
        Status::NotMapped
    );
    assert_eq!(
        row(&p, "integrations[0] (nri-mysql).PASSWORD").at,
        "/etc/newrelic-infra/integrations.d/mysql-config.yml:8:7"
    );
    // the credentials: stored, never in the config or the report; a `variables:` one is left
    // for the operator to store
    let names: Vec<&str> = p.secrets.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"migrate_mysql_password") && !names.contains(&"migrate_mysql_2_password"),
        "{names:?}"
    );
    let all = p.config_yaml("") + &serde_json::to_string(&p.rows).unwrap();
    for s in ["my-sql-pass", "pg-pass", "redis-pass"] {
        assert!(!all.contains(s));
    }
}

const LOGS: &str = r#"
logs:
  - name: app-logs
    file: /var/log/app/*.log
    attributes:
      logtype: app
      team: checkout
    max_line_kb: 256
    pattern: ERROR|WARN
  - name: java-app
    file: /opt/app/logs/server.log
    multilineParser: java
  - name: cupsd
    systemd: cupsd
  - name: syslog-5140
    syslog:
      uri: tcp://0.0.0.0:5140
      parser: rfc5424
  - name: tcp-json
    tcp:
      uri: tcp://0.0.0.0:1234
      format: json
  - name: fluentbit-extra
    fluentbit:
      config_file: /etc/fluent-bit/extra.conf
  - name: windows-app
    winlog:
      channel: Application
"#;

#[test]
fn every_logging_d_entry_kind_is_converted_or_reported() {
    let mut i = input(&format!("license_key: {US_KEY}\n"));
    i.logging = vec![file("/etc/newrelic-infra/logging.d/logs.yml", LOGS)];
    let p = plan(&i);
    validate(&p);
    let d = &p.config;
    let cases: &[(&str, &str)] = &[
        ("sources/log_app_logs/type", "files"),
        ("sources/log_app_logs/include", "/var/log/app/*.log"),
        ("sources/log_app_logs/attributes/logtype", "app"),
        ("sources/log_app_logs/max_line_bytes", "262144"),
        ("processors/log_app_logs_pattern/type", "filter"),
        ("processors/log_app_logs_pattern/include", "ERROR|WARN"),
        ("processors/log_app_logs_pattern/inputs", "log_app_logs"),
        ("sources/log_java_app/multiline", "auto"),
        ("sources/log_cupsd/type", "journald"),
        ("sources/log_cupsd/units", "cupsd.service"),
    ];
    for (path, want) in cases {
        assert_eq!(text(get(d, path)), *want, "{path}");
    }
    let inputs = text(get(d, "sinks/newrelic/inputs"));
    assert!(
        inputs.contains("log_app_logs_pattern") && !inputs.split(',').any(|i| i == "log_app_logs"),
        "the filtered source goes through its filter: {inputs}"
    );
    for (key, status) in [
        ("logs[3] (syslog-5140).syslog", Status::NotMapped),
        ("logs[4] (tcp-json).tcp", Status::NotMapped),
        ("logs[5] (fluentbit-extra).fluentbit", Status::NotMapped),
        ("logs[6] (windows-app).winlog", Status::NotMapped),
        ("logs[0] (app-logs).pattern", Status::Mapped),
    ] {
        assert_eq!(row(&p, key).status, status, "{key}");
    }
    assert!(get(d, "sources/log_syslog_5140").is_none());
}

#[test]
fn bad_input_gets_an_error_with_its_position() {
    let cases: &[(&str, &str)] = &[
        (
            "license_key: abc\n\tverbose: 1\n",
            "/etc/newrelic-infra.yml:2:1: a tab indents this line",
        ),
        (
            &format!("license_key: {US_KEY}\nverbose: 1\nverbose: 0\n"),
            "/etc/newrelic-infra.yml:3:1",
        ),
        (
            "license_key: <YOUR_LICENSE_KEY>\n",
            "/etc/newrelic-infra.yml:1:1: `license_key` is still a placeholder",
        ),
        ("license_key: YOUR_LICENSE_KEY\n", "placeholder"),
        (
            &format!("license_key: {US_KEY}\nlicence_typo: 1\n"),
            "/etc/newrelic-infra.yml:2:1: unknown key `licence_typo`",
        ),
        ("display_name: x\n", "no `license_key`"),
        (
            &format!("license_key: {US_KEY}\nenable_process_metrics: maybe\n"),
            "/etc/newrelic-infra.yml:2:1: `enable_process_metrics` must be true or false",
        ),
        (
            &format!("license_key: {US_KEY}\nmetrics_system_sample_rate: fast\n"),
            "must be a whole number",
        ),
        (
            &format!("license_key: {US_KEY}\ncustom_attributes: [a]\n"),
            "must be a mapping",
        ),
        ("- a\n- b\n", "must be a mapping of keys"),
        ("license_key: [unclosed\n", "/etc/newrelic-infra.yml:"),
    ];
    for (text_, want) in cases {
        let err = convert(&input(text_), &Options::default())
            .expect_err(text_)
            .to_string();
        assert!(err.contains(want), "{text_:?}: {err}");
        assert!(!err.contains(US_KEY), "the key in an error: {err}");
    }
    // --allow-unknown reports instead
    let p = convert(
        &input(&format!("license_key: {US_KEY}\nlicence_typo: 1\n")),
        &Options {
            allow_unknown: true,
        },
    )
    .unwrap();
    assert_eq!(row(&p, "licence_typo").status, Status::NotMapped);
    // errors in the other directories point into their files too
    let mut i = input(&format!("license_key: {US_KEY}\n"));
    i.integrations = vec![file(
        "/x/integrations.d/a.yml",
        "integrations:\n  - env: {A: b}\n",
    )];
    let err = convert(&i, &Options::default()).unwrap_err().to_string();
    assert!(
        err.starts_with("/x/integrations.d/a.yml:2:")
            && err.contains("an integration without `name`"),
        "{err}"
    );
    let mut i = input(&format!("license_key: {US_KEY}\n"));
    i.logging = vec![file(
        "/x/logging.d/a.yml",
        "logs:\n  - name: a\n    file: relative.log\n",
    )];
    let err = convert(&i, &Options::default()).unwrap_err().to_string();
    assert!(err.starts_with("/x/logging.d/a.yml:3:11"), "{err}");
    let mut i = input(&format!("license_key: {US_KEY}\n"));
    i.logging = vec![file(
        "/x/logging.d/a.yml",
        "logs:\n  - name: a\n    file: /a.log\n    pattern: (unclosed\n",
    )];
    let err = convert(&i, &Options::default()).unwrap_err().to_string();
    assert!(err.contains("/x/logging.d/a.yml:4:14"), "{err}");
}

#[test]
fn attribute_map_converts_per_core_cpu() {
    // four busy cores on an eight-CPU host: lookout says half the host, the agent 400
    assert_eq!(attributes::cpu_percent_from_utilization(0.5, 8), 400.0);
    for event in [
        "ProcessSample",
        "SystemSample",
        "StorageSample",
        "NetworkSample",
    ] {
        assert!(
            attributes::ATTRIBUTES
                .iter()
                .filter(|a| a.event == event)
                .count()
                >= 5,
            "{event}"
        );
    }
    for attr in ["cpuPercent", "memoryResidentSizeBytes", "threadCount"] {
        assert!(attributes::ATTRIBUTES
            .iter()
            .any(|a| a.event == "ProcessSample" && a.attribute == attr));
    }
}

/// Random edits of the sample files (a deterministic stand-in for the `migrate_infra` fuzz
/// target, which needs nightly): every input gives a plan or an error, and every plan's YAML
/// reads back.
#[test]
fn random_edits_never_panic_and_plans_read_back() {
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n.max(1)
    };
    let pieces = [
        ":", "-", " ", "\n", "\"", "{", "}", "[", "]", "\t", "regex \"", "*", "|", "'", "#", "&a",
        "*a", "!!str ", "\u{e9}", "{{X}}", "-1", "true", "~",
    ];
    let samples = [FULL, V4_MYSQL, V4_OTHERS, V3_NGINX, LOGS];
    let mut ok = 0;
    for round in 0..1500 {
        let base = samples[round % samples.len()];
        let mut t: Vec<char> = base.chars().collect();
        for _ in 0..1 + next(4) {
            let at = next(t.len() + 1);
            if next(2) == 0 && at < t.len() {
                let len = next(8).min(t.len() - at);
                t.drain(at..at + len);
            } else {
                let p: Vec<char> = pieces[next(pieces.len())].chars().collect();
                for (i, c) in p.into_iter().enumerate() {
                    t.insert(at + i, c);
                }
            }
        }
        let text: String = t.into_iter().collect();
        let mut i = input(&format!("license_key: {US_KEY}\n"));
        match round % samples.len() {
            0 => i.main = file("/etc/newrelic-infra.yml", &text),
            4 => i.logging = vec![file("/l/logs.yml", &text)],
            _ => i.integrations = vec![file("/i/x.yml", &text)],
        }
        for allow_unknown in [false, true] {
            if let Ok(p) = convert(&i, &Options { allow_unknown }) {
                ok += 1;
                let yaml = p.config_yaml("fuzz");
                lookout_config::node::parse("generated", &yaml)
                    .unwrap_or_else(|e| panic!("{e}\n{yaml}\nfrom:\n{text}"));
            }
        }
    }
    assert!(ok > 100, "too few edits converted to test the writer: {ok}");
}
