//! Discovery's hot paths: rendering the templates of five services into a config fragment and
//! validating it (what auto-configuration does at every change), and a full scan of this host
//! (processes, listeners and their owners, packages) with correlation.
//!
//! Run with `cargo bench -p lookout-discovery`. The scan figure depends on the host: with 1,000
//! extra processes, see `bench/discovery.sh`.
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use lookout_discovery::configs::{LogFile, ServiceConfig};
use lookout_discovery::correlate::{correlate, Kind, Service};
use lookout_discovery::render::{fragment, render};
use lookout_discovery::scan::{scan, ScanOptions};

fn log(path: &str, kind: &str, parser: &str) -> LogFile {
    LogFile {
        path: PathBuf::from(path),
        kind: kind.into(),
        parser: parser.into(),
        format: None,
    }
}

fn service(
    kind: Kind,
    instance: &str,
    listen: &str,
    logs: Vec<LogFile>,
    status: &[&str],
) -> Service {
    Service {
        kind,
        instance: instance.into(),
        pid: Some(1000),
        exe: None,
        listens: vec![format!("tcp {listen}")],
        config: Some(ServiceConfig {
            logs,
            status: status.iter().map(|s| s.to_string()).collect(),
            ..ServiceConfig::default()
        }),
        package: None,
        container: None,
        confidence: 1.0,
        reasons: Vec::new(),
        limits: Vec::new(),
    }
}

/// The five services of this machine's discovery test, with their log files.
fn five() -> Vec<Service> {
    vec![
        service(
            Kind::Mysql,
            "mysql@127.0.0.1:3306",
            "127.0.0.1:3306",
            vec![
                log("/var/log/mysql/error.log", "error", "auto"),
                log(
                    "/var/log/mysql/mariadb-slow.log",
                    "slow_query",
                    "mysql_slow",
                ),
            ],
            &[],
        ),
        service(
            Kind::Postgresql,
            "postgresql@127.0.0.1:5432",
            "127.0.0.1:5432",
            vec![log(
                "/var/log/postgresql/postgresql-15-main.log",
                "server",
                "postgresql",
            )],
            &[],
        ),
        service(
            Kind::Redis,
            "redis@127.0.0.1:6379",
            "127.0.0.1:6379",
            Vec::new(),
            &[],
        ),
        service(
            Kind::Nginx,
            "nginx@127.0.0.1:8080",
            "127.0.0.1:8080",
            vec![
                log("/var/log/nginx/access.log", "access", "access_log"),
                log("/var/log/nginx/error.log", "error", "auto"),
            ],
            &["http://127.0.0.1:8080/nginx_status"],
        ),
        service(
            Kind::Apache,
            "apache@127.0.0.1:8081",
            "127.0.0.1:8081",
            vec![
                log("/var/log/apache2/access.log", "access", "access_log"),
                log("/var/log/apache2/error.log", "error", "auto"),
            ],
            &["http://127.0.0.1:8081/server-status?auto"],
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let services = five();
    c.bench_function("render_and_validate_five_services", |b| {
        b.iter(|| {
            let rendered = render(black_box(&services));
            let ids: Vec<&str> = rendered
                .iter()
                .flat_map(|r| r.sources.iter().map(|(id, _)| id.as_str()))
                .collect();
            let text = format!(
                "{}sinks:\n  out: {{type: file, path: /dev/null, inputs: [{}]}}\n",
                fragment(&rendered),
                ids.join(", ")
            );
            let config = lookout_config::load_str("<bench>", &text, &[], &|_| None)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(config.sources.len(), 12);
            config
        })
    });
    c.bench_function("scan_and_correlate_this_host", |b| {
        b.iter(|| correlate(&scan(&ScanOptions::default()), Path::new("/")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
