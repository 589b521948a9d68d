//! End-to-end tests: they drive the real `lookout` binary against real /proc, real clients and
//! tools we did not write (promtool, Python's opentelemetry-proto, free, df).
//!
//! Where a new test goes:
//! - `startup`: the agent starts on the embedded default, serves /health, Prometheus pages;
//! - `accuracy`: collected values against independent readers;
//! - `otlp`: the OTLP/HTTP exporter against a Python receiver; health transitions; SIGTERM;
//! - `discovery`: `lookout discover` on the machine's services, nginx/Apache/a second Redis started by the test, decoys;
//! - `delivery`: disk buffer through outage, kill -9, full disk; 429, dead letters;
//! - `invalid_configs`: every file in tests/invalid_configs gives its one error, exit 2;
//! - `processes`: process telemetry against ps, real children, 1,000 processes, non-root;
//! - `cli`: status, diagnose, config show/validate, version, completions;
//! - `reload`: SIGHUP;
//! - `statsd`: the StatsD/DogStatsD receiver with the `datadog` and `statsd` Python clients;
//! - `integrations`: redis (private server with a password), nginx and Apache started by the test;
//! - `logs`: the files source: rotation, kill -9, bad input, redaction everywhere;
//! - `control`: the control API through the CLI commands the terminal UI mirrors; the socket
//!   refused to another user;
//! - `secrets`: the encrypted store with a real Redis password, rotation, a secret command;
//! - `tui`: `lookout tui` driven in tmux against a running agent;
//! - `receive_otlp`: the OTLP receiver with the OpenTelemetry Python SDK and grpcio.
//! - `transport`: the exporter with a private CA, through tinyproxy (HTTP CONNECT) and microsocks (SOCKS5).
//! - `history`: the configuration history, diff and rollback; the audit log command.
//! - `signing`: `config keygen|sign|verify`, the signatures checked by openssl too.
//! - `remote`: signed remote configurations from a local endpoint: applied, refused with reasons, rotation, backoff and circuit, offline start.
//! - `service`: the systemd unit (verify, security score), sd_notify, the unit's capabilities.
//! - `apply`: refused configurations keep the pipeline delivering; a good one under load loses nothing.
//! - `opamp`: an OpAMP server on the opentelemetry-opamp-client protobufs: reports, remote configurations, refusals, rotation, circuit.
//! - `release`: the signed release tarball and `lookout release verify`.
//! - `package`: the .deb installed, run as the unit would, upgraded, removed and purged on this machine.
//! - `install`: packaging/install.sh: from a .deb and a signed local apt repository, the key to the wire, idempotent, upgrade, uninstall, refusals.
//! - `migrate`: `lookout migrate-infra` on a fake installed New Relic Infrastructure agent.
//! - `container`: the image's root file system run chrooted as 65532 on the host's read-only /proc, / and /sys; the Helm chart linted, rendered, validated.
//! - `kubernetes`: discovery through pod annotations against a stand-in API server (HTTPS, bearer token).
#![allow(clippy::unwrap_used)]

mod support;

mod accuracy;
mod apply;
mod cli;
mod container;
mod control;
mod delivery;
mod discovery;
mod first_run;
mod helper;
mod history;
mod install;
mod integrations;
mod invalid_configs;
mod kubernetes;
mod logs;
mod migrate;
mod opamp;
mod otlp;
mod package;
mod processes;
mod receive_otlp;
mod release;
mod reload;
mod remote;
mod secrets;
mod service;
mod signing;
mod startup;
mod statsd;
mod store;
mod transport;
mod tui;
