//! The typed configuration: what a validated config file means.

use crate::types::{Duration, Endpoint, Filter};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A fully parsed and validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Agent-wide settings.
    pub settings: Settings,
    /// Sources, in file order.
    pub sources: Vec<SourceConfig>,
    /// Processors, in file order.
    pub processors: Vec<ProcessorConfig>,
    /// Sinks, in file order.
    pub sinks: Vec<SinkConfig>,
}

/// Agent-wide settings (every top-level key but the component sections).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The agent's HTTP server.
    #[serde(default)]
    pub server: ServerConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Resource attributes added to everything the agent emits.
    #[serde(default)]
    pub resource: ResourceConfig,
    /// State directory (overridden by `--data-dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// How long a shutdown may take to flush in-flight batches.
    #[serde(default = "default_grace")]
    pub shutdown_grace: Duration,
    /// Auto-configuration: discover the host's services and collect them.
    #[serde(default)]
    pub autoconfig: AutoconfigConfig,
    /// What validation refuses unless allowed (see [`crate::policy`]).
    #[serde(default)]
    pub policy: PolicyConfig,
    /// An external command that `${secret:NAME}` asks for secrets the local store does not
    /// hold (the Datadog Agent's `secret_backend_command` protocol). Read before substitution:
    /// its own values cannot be references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_backend: Option<SecretBackendConfig>,
    /// How a changed configuration is checked before it replaces the running one.
    #[serde(default)]
    pub apply: ApplyConfig,
    /// Remote configuration: where signed configurations are polled from and which keys sign
    /// them (see `docs/remote-config.md`). Only ever taken from the local file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteConfig>,
    /// Where the host's file system is seen (`/`, or `/host` in a container).
    #[serde(default, skip_serializing_if = "HostConfig::is_default")]
    pub host: HostConfig,
    /// Discovery through Kubernetes pod annotations (see `docs/container.md`).
    #[serde(default, skip_serializing_if = "KubernetesConfig::is_default")]
    pub kubernetes: KubernetesConfig,
    /// Sources (handled separately; present here so unknown-key hints name it).
    #[serde(default, skip_serializing)]
    pub sources: Option<serde::de::IgnoredAny>,
    /// Processors (handled separately).
    #[serde(default, skip_serializing)]
    pub processors: Option<serde::de::IgnoredAny>,
    /// Sinks (handled separately).
    #[serde(default, skip_serializing)]
    pub sinks: Option<serde::de::IgnoredAny>,
}

fn default_grace() -> Duration {
    Duration::from_secs(10)
}

/// `apply:`: the checks a changed configuration passes before it replaces the running one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyConfig {
    /// Run the checks (new or changed sinks reachable, new or changed integrations answer).
    #[serde(default = "yes")]
    pub checks: bool,
    /// Limit of each check.
    #[serde(default = "default_apply_timeout")]
    pub timeout: Duration,
}

impl Default for ApplyConfig {
    fn default() -> Self {
        ApplyConfig {
            checks: true,
            timeout: default_apply_timeout(),
        }
    }
}

fn default_apply_timeout() -> Duration {
    Duration::from_secs(5)
}

/// `remote:`: polling a signed configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    /// The URL answering a configuration bundle (`{"config": ..., "signature": ...}`), or an
    /// OpAMP server's HTTP endpoint (`protocol: opamp`).
    pub url: Endpoint,
    /// `bundle` (a signed bundle answered to GET) or `opamp` (OpAMP over HTTP: status,
    /// effective configuration, health and inventory reported; remote configurations with
    /// their signature in a custom message).
    #[serde(default)]
    pub protocol: RemoteProtocol,
    /// Time between polls (each drawn within ±10 %).
    #[serde(default = "default_remote_interval")]
    pub interval: Duration,
    /// Limit of one request.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Public key files (`lookout config keygen`'s `ID.pub`) whose signatures are accepted.
    pub trusted_keys: Vec<PathBuf>,
    /// Extra request headers (e.g. an authorization token, as `${secret:NAME}`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// First wait after a failure; it doubles up to `max_backoff`, drawn in [0, cap].
    #[serde(default = "default_remote_initial_backoff")]
    pub initial_backoff: Duration,
    /// Longest wait between failing polls.
    #[serde(default = "default_remote_max_backoff")]
    pub max_backoff: Duration,
    /// Consecutive failures that open the circuit (no poll for `open_for`).
    #[serde(default = "default_remote_circuit_failures")]
    pub circuit_failures: u32,
    /// How long the circuit stays open before one probe.
    #[serde(default = "default_remote_open_for")]
    pub open_for: Duration,
    /// Extra certificate authorities for the endpoint.
    #[serde(default)]
    pub tls: ClientTlsConfig,
}

/// How `remote:` talks to its endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteProtocol {
    /// GET a signed bundle (ETag, 304).
    #[default]
    Bundle,
    /// OpAMP over HTTP.
    Opamp,
}

fn default_remote_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_remote_initial_backoff() -> Duration {
    Duration::from_secs(1)
}
fn default_remote_max_backoff() -> Duration {
    Duration::from_secs(300)
}
fn default_remote_circuit_failures() -> u32 {
    5
}
fn default_remote_open_for() -> Duration {
    Duration::from_secs(300)
}

/// `host:`: where the host is seen from the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// The host's root directory: `/` normally, `/host` in a container where the host's `/`,
    /// `/proc` and `/sys` are mounted read-only under it. The sources' `proc_path`
    /// (`<root>/proc`), `root_path` (`<root>`) and `etc_path` (`<root>/etc`) default to paths
    /// under it unless they are set; host resource detection (host name, machine id, OS) and
    /// discovery read under it too.
    #[serde(default = "default_root")]
    pub root: PathBuf,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            root: default_root(),
        }
    }
}

impl HostConfig {
    /// `path` (absolute, as on the host) seen under the root: `/proc` → `/host/proc`.
    pub fn path(&self, path: &str) -> PathBuf {
        let rel = path.trim_start_matches('/');
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// Where the host's procfs is: `<root>/proc`.
    pub fn proc(&self) -> PathBuf {
        self.path("/proc")
    }

    /// Where the host's sysfs is: `<root>/sys`.
    pub fn sys(&self) -> PathBuf {
        self.path("/sys")
    }

    /// Where the host's `/etc` is: `<root>/etc`.
    pub fn etc(&self) -> PathBuf {
        self.path("/etc")
    }

    /// Whether the agent sees the host from elsewhere (a root other than `/`).
    pub fn is_remapped(&self) -> bool {
        self.root != std::path::Path::new("/")
    }

    /// Whether it is the default (`/`): left out when a configuration is written.
    pub fn is_default(&self) -> bool {
        !self.is_remapped()
    }
}

/// `kubernetes:`: integrations for the pods of this node that ask for them through
/// annotations (`lookout.io/integration`, `lookout.io/port`, `lookout.io/settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// List this node's pods and collect the annotated ones.
    #[serde(default)]
    pub enabled: bool,
    /// The node whose pods are listed; default: the `NODE_NAME` environment variable (the
    /// chart sets it from `spec.nodeName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The API server; default: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`,
    /// as inside any pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_server: Option<Endpoint>,
    /// The service account's bearer token (read again at every listing: tokens rotate).
    #[serde(default = "default_k8s_token")]
    pub token_file: PathBuf,
    /// The CA certificate that signed the API server's.
    #[serde(default = "default_k8s_ca")]
    pub ca_file: PathBuf,
    /// Time between listings (each drawn within ±10 %).
    #[serde(default = "default_k8s_interval")]
    pub interval: Duration,
    /// Limit of one listing.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// The `${secret:NAME}` names a pod's `lookout.io/settings` may use (none by default: a
    /// pod's author would otherwise have the agent send any secret it holds to the pod).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_secrets: Vec<String>,
}

impl KubernetesConfig {
    /// Whether every setting is the default: left out when a configuration is written.
    pub fn is_default(&self) -> bool {
        *self == KubernetesConfig::default()
    }
}

fn default_k8s_token() -> PathBuf {
    PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/token")
}
fn default_k8s_ca() -> PathBuf {
    PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")
}
fn default_k8s_interval() -> Duration {
    Duration::from_secs(30)
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            enabled: false,
            node_name: None,
            api_server: None,
            token_file: default_k8s_token(),
            ca_file: default_k8s_ca(),
            interval: default_k8s_interval(),
            timeout: default_timeout(),
            allowed_secrets: Vec::new(),
        }
    }
}

/// `autoconfig:` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoconfigConfig {
    /// Re-scan the host and add (or remove) a source per discovered service and log file.
    #[serde(default)]
    pub enabled: bool,
    /// Time between scans.
    #[serde(default = "default_autoconfig_interval")]
    pub interval: Duration,
}

fn default_autoconfig_interval() -> Duration {
    Duration::from_secs(15)
}

impl Default for AutoconfigConfig {
    fn default() -> Self {
        AutoconfigConfig {
            enabled: false,
            interval: default_autoconfig_interval(),
        }
    }
}

/// `secret_backend:` the external secret command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretBackendConfig {
    /// The executable, an absolute path, writable by its owner only.
    pub command: PathBuf,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// How long it may take.
    #[serde(default = "default_secret_timeout")]
    pub timeout: Duration,
}

fn default_secret_timeout() -> Duration {
    Duration::from_secs(30)
}

/// `policy:` the operator's exceptions to the validation policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Accept secrets (passwords, tokens, API keys) written in the config or on the command
    /// line instead of `${env:NAME}` references.
    #[serde(default)]
    pub allow_plaintext_secrets: bool,
    /// Accept listeners on non-loopback addresses.
    #[serde(default)]
    pub allow_public_listeners: bool,
    /// Local-only: refuse anything that opens a network socket (sinks that send, IP
    /// listeners, the HTTP server); data stays in local sinks such as `duckdb` and `file`.
    #[serde(default)]
    pub local_only: bool,
}

/// The agent's HTTP server (`/health`, `/metrics`, `/status`, Prometheus sinks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address; loopback by default.
    #[serde(default = "default_listen", deserialize_with = "de_listen")]
    pub listen: SocketAddr,
    /// Whether to run the server at all.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn de_listen<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "invalid listen address `{text}`: write an IP address and a port, e.g. `127.0.0.1:13133` or `[::1]:13133`"
        ))
    })
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 13133))
}

fn yes() -> bool {
    true
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            enabled: true,
        }
    }
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// The default.
    #[default]
    Info,
    /// Verbose.
    Debug,
    /// Very verbose.
    Trace,
}

impl LogLevel {
    /// The `tracing` filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human text.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Verbosity (`RUST_LOG` and `-v` override it).
    #[serde(default)]
    pub level: LogLevel,
    /// Format (`--log-format` overrides it).
    #[serde(default)]
    pub format: LogFormat,
}

/// Resource attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// Extra attributes for the host resource (e.g. `environment: prod`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Overrides the detected `host.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

/// A configured source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// The component id.
    pub id: String,
    /// What it is.
    pub kind: SourceKind,
}

/// The source types.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// `host_metrics`: CPU, memory, disks, filesystems, network... from /proc and statvfs.
    HostMetrics(HostMetricsConfig),
    /// `process_metrics`: top-N processes, roll-ups, services and lifecycle events from /proc.
    ProcessMetrics(ProcessMetricsConfig),
    /// `statsd`: a StatsD/DogStatsD listener (UDP, Unix datagram socket, TCP) with aggregation.
    Statsd(StatsdConfig),
    /// `otlp`: an OTLP receiver (gRPC and HTTP) for metrics, logs and traces.
    Otlp(OtlpReceiverConfig),
    /// `files`: log files matched by globs, followed across rotation, with checkpoints.
    Files(FilesConfig),
    /// `journald`: the systemd journal, through `journalctl --output=json`, with a cursor.
    Journald(JournaldConfig),
    /// `docker`: containers' json-file logs under the Docker data root.
    Docker(DockerLogsConfig),
    /// `redis`: `INFO` of a Redis server as `redis.*` metrics.
    Redis(RedisConfig),
    /// `nginx`: nginx's `stub_status` page as `nginx.*` metrics.
    Nginx(HttpStatusConfig),
    /// `apache`: Apache's `mod_status` (`?auto`) page as `apache.*` metrics.
    Apache(HttpStatusConfig),
    /// `mysql`: MySQL/MariaDB global status, variables and replication as `mysql.*` metrics.
    Mysql(MysqlConfig),
    /// `postgresql`: PostgreSQL statistics views as `postgresql.*` metrics.
    Postgresql(PostgresqlConfig),
}

impl SourceKind {
    /// The `type:` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            SourceKind::HostMetrics(_) => "host_metrics",
            SourceKind::ProcessMetrics(_) => "process_metrics",
            SourceKind::Statsd(_) => "statsd",
            SourceKind::Otlp(_) => "otlp",
            SourceKind::Files(_) => "files",
            SourceKind::Journald(_) => "journald",
            SourceKind::Docker(_) => "docker",
            SourceKind::Redis(_) => "redis",
            SourceKind::Nginx(_) => "nginx",
            SourceKind::Apache(_) => "apache",
            SourceKind::Mysql(_) => "mysql",
            SourceKind::Postgresql(_) => "postgresql",
        }
    }
}

/// One group of host metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostCollector {
    /// `system.cpu.*` (time, utilization, logical count).
    Cpu,
    /// `system.cpu.load_average.*`.
    Load,
    /// `system.memory.*`.
    Memory,
    /// `system.paging.*`.
    Paging,
    /// `system.disk.*`.
    Disk,
    /// `system.filesystem.*`.
    Filesystem,
    /// `system.network.*`.
    Network,
    /// `system.processes.*`.
    Processes,
    /// `system.uptime`.
    Uptime,
}

impl HostCollector {
    /// Every collector.
    pub const ALL: [HostCollector; 9] = [
        HostCollector::Cpu,
        HostCollector::Load,
        HostCollector::Memory,
        HostCollector::Paging,
        HostCollector::Disk,
        HostCollector::Filesystem,
        HostCollector::Network,
        HostCollector::Processes,
        HostCollector::Uptime,
    ];
}

/// `host_metrics` source settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostMetricsConfig {
    /// Collection interval.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// Which groups to collect (all by default).
    #[serde(default = "all_collectors")]
    pub collectors: Vec<HostCollector>,
    /// Where procfs is mounted; default `<host.root>/proc`.
    #[serde(default = "default_proc")]
    pub proc_path: PathBuf,
    /// Prefix for mount points when measuring filesystems; default `host.root`. Other than
    /// `/`, the mount table is the host's (`<proc_path>/1/mountinfo`), not the agent's.
    #[serde(default = "default_root")]
    pub root_path: PathBuf,
    /// CPU settings.
    #[serde(default)]
    pub cpu: CpuConfig,
    /// Disk devices to include/exclude (names as in /proc/diskstats).
    #[serde(default)]
    pub disk: Filter,
    /// Network interfaces to include/exclude (names as in /proc/net/dev).
    #[serde(default)]
    pub network: Filter,
    /// Filesystem selection.
    #[serde(default)]
    pub filesystem: FilesystemConfig,
}

fn default_interval() -> Duration {
    Duration::from_secs(10)
}
fn all_collectors() -> Vec<HostCollector> {
    HostCollector::ALL.to_vec()
}
fn default_proc() -> PathBuf {
    PathBuf::from("/proc")
}
fn default_root() -> PathBuf {
    PathBuf::from("/")
}

impl Default for HostMetricsConfig {
    fn default() -> Self {
        HostMetricsConfig {
            interval: default_interval(),
            collectors: all_collectors(),
            proc_path: default_proc(),
            root_path: default_root(),
            cpu: CpuConfig::default(),
            disk: Filter::default(),
            network: Filter::default(),
            filesystem: FilesystemConfig::default(),
        }
    }
}

/// CPU collector settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuConfig {
    /// One series per logical CPU (true) or only the host total (false).
    #[serde(default = "yes")]
    pub per_cpu: bool,
}

impl Default for CpuConfig {
    fn default() -> Self {
        CpuConfig { per_cpu: true }
    }
}

/// Filesystem collector settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesystemConfig {
    /// Mount points to include/exclude.
    #[serde(default)]
    pub mount_points: Filter,
    /// Filesystem types to include/exclude.
    #[serde(default)]
    pub fs_types: Filter,
    /// Devices to include/exclude.
    #[serde(default)]
    pub devices: Filter,
    /// Also report pseudo filesystems (proc, sysfs, tmpfs, cgroup...), excluded by default.
    #[serde(default)]
    pub include_pseudo: bool,
}

/// `process_metrics` source settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessMetricsConfig {
    /// Full scan interval (metrics).
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// How many processes to report by CPU and by memory (the union is reported).
    #[serde(default = "default_top_n")]
    pub top_n: usize,
    /// Executable names to consider (globs); the others are only rolled up.
    #[serde(default)]
    pub names: Filter,
    /// Executable names always reported, whatever their rank (globs).
    #[serde(default)]
    pub always_include: Vec<crate::types::Pattern>,
    /// Processes not reported are rolled up by executable name; the names beyond this many
    /// (by CPU, then memory) go into one `other` group.
    #[serde(default = "default_rollup_groups")]
    pub rollup_groups: usize,
    /// Longest command line kept (bytes).
    #[serde(default = "default_cmdline_max")]
    pub command_line_max: usize,
    /// Where procfs is mounted; default `<host.root>/proc`.
    #[serde(default = "default_proc")]
    pub proc_path: PathBuf,
    /// Where the host's /etc is (for user names); default `<host.root>/etc`.
    #[serde(default = "default_etc")]
    pub etc_path: PathBuf,
    /// Extra service attribution rules: service name → executable name globs. They are tried
    /// before the built-in table.
    #[serde(default)]
    pub services: BTreeMap<String, Vec<crate::types::Pattern>>,
    /// Keep only the executable of each command line (its arguments can hold secrets).
    #[serde(default)]
    pub strip_command_line: bool,
    /// Emit process start/exit events (as logs), from a cheap scan of /proc's directory names.
    #[serde(default = "yes")]
    pub lifecycle_events: bool,
    /// How often the start/exit scan runs.
    #[serde(default = "default_lifecycle_interval")]
    pub lifecycle_interval: Duration,
}

fn default_top_n() -> usize {
    10
}
fn default_rollup_groups() -> usize {
    20
}
fn default_cmdline_max() -> usize {
    1024
}
fn default_etc() -> PathBuf {
    PathBuf::from("/etc")
}
fn default_lifecycle_interval() -> Duration {
    Duration::from_secs(1)
}

impl Default for ProcessMetricsConfig {
    fn default() -> Self {
        ProcessMetricsConfig {
            interval: default_interval(),
            top_n: default_top_n(),
            names: Filter::default(),
            always_include: Vec::new(),
            rollup_groups: default_rollup_groups(),
            command_line_max: default_cmdline_max(),
            proc_path: default_proc(),
            etc_path: default_etc(),
            services: BTreeMap::new(),
            strip_command_line: false,
            lifecycle_events: true,
            lifecycle_interval: default_lifecycle_interval(),
        }
    }
}

/// A configured processor.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessorConfig {
    /// The component id.
    pub id: String,
    /// Components whose output it takes.
    pub inputs: Vec<String>,
    /// What it is.
    pub kind: ProcessorKind,
}

/// The processor types.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessorKind {
    /// `resource`: set or delete resource attributes.
    Resource(ResourceProcessorConfig),
    /// `sample`: head sampling of traces by trace id.
    Sample(SampleConfig),
    /// `redact`: masks secrets and personal data in logs, spans and metric attributes.
    Redact(RedactConfig),
    /// `filter`: drops log records by severity, body pattern or rate, and metrics by name.
    Filter(FilterConfig),
}

impl ProcessorKind {
    /// The `type:` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            ProcessorKind::Resource(_) => "resource",
            ProcessorKind::Sample(_) => "sample",
            ProcessorKind::Redact(_) => "redact",
            ProcessorKind::Filter(_) => "filter",
        }
    }
}

/// `resource` processor settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceProcessorConfig {
    /// Attributes to set (overwriting).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Attribute keys to remove.
    #[serde(default)]
    pub delete: Vec<String>,
}

/// A configured sink.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkConfig {
    /// The component id.
    pub id: String,
    /// Components whose output it takes.
    pub inputs: Vec<String>,
    /// In-memory buffer in front of the sink.
    pub buffer: BufferConfig,
    /// What it is.
    pub kind: SinkKind,
}

/// The sink types.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkKind {
    /// `otlp_http`: OTLP/HTTP protobuf exporter.
    OtlpHttp(Box<OtlpHttpConfig>),
    /// `prometheus`: exposition on the agent's HTTP server.
    Prometheus(PrometheusConfig),
    /// `file`: OTLP/JSON lines.
    File(FileSinkConfig),
    /// `duckdb`: the local analytics store (embedded DuckDB), queryable with SQL.
    Duckdb(DuckdbSinkConfig),
}

impl SinkKind {
    /// The `type:` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            SinkKind::OtlpHttp(_) => "otlp_http",
            SinkKind::Prometheus(_) => "prometheus",
            SinkKind::File(_) => "file",
            SinkKind::Duckdb(_) => "duckdb",
        }
    }
}

/// What a full buffer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Drop the incoming batch (counted); sources and other sinks carry on.
    #[default]
    DropNewest,
    /// Wait: back-pressure reaches the sources.
    Block,
    /// Disk buffers only: delete the oldest queued batches to make room (counted).
    DropOldest,
}

/// Where a sink's buffer lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BufferType {
    /// In memory: lost on a crash, bounded by `max_batches`.
    #[default]
    Memory,
    /// A write-ahead log in the data directory: survives crashes and restarts.
    Disk,
}

/// When a disk buffer calls `fsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncMode {
    /// After every batch: nothing accepted is lost on power failure.
    Always,
    /// Every `fsync_interval`: up to one interval of accepted batches can be lost on power failure.
    #[default]
    Interval,
    /// Only when a segment is full and at shutdown: what the page cache held can be lost.
    Never,
}

/// The buffer in front of a sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BufferConfig {
    /// `memory` or `disk`.
    #[serde(default, rename = "type")]
    pub kind: BufferType,
    /// Memory buffer: maximum batches held.
    #[serde(default = "default_max_batches")]
    pub max_batches: usize,
    /// Disk buffer: maximum bytes on disk.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Disk buffer: batches older than this are dropped (counted) instead of sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<Duration>,
    /// Disk buffer: fsync policy.
    #[serde(default)]
    pub fsync: FsyncMode,
    /// Disk buffer: the interval for `fsync: interval`.
    #[serde(default = "default_fsync_interval")]
    pub fsync_interval: Duration,
    /// What to do when full: `drop_newest` (default for memory), `block`, or `drop_oldest`
    /// (disk only).
    #[serde(default)]
    pub when_full: WhenFull,
}

fn default_max_bytes() -> u64 {
    256 * 1024 * 1024
}

fn default_fsync_interval() -> Duration {
    Duration::from_millis(500)
}

fn default_max_batches() -> usize {
    256
}

impl Default for BufferConfig {
    fn default() -> Self {
        BufferConfig {
            kind: BufferType::Memory,
            max_batches: default_max_batches(),
            max_bytes: default_max_bytes(),
            max_age: None,
            fsync: FsyncMode::default(),
            fsync_interval: default_fsync_interval(),
            when_full: WhenFull::default(),
        }
    }
}

/// Request body compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression.
    None,
    /// gzip.
    #[default]
    Gzip,
    /// zstd (New Relic recommends it).
    Zstd,
}

/// Sum temporality sent to a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Temporality {
    /// Counters as cumulative sums (the OpenTelemetry default).
    #[default]
    Cumulative,
    /// Monotonic counters as deltas between exports (New Relic's preference).
    Delta,
}

/// Backend attribute limits applied before export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limits {
    /// New Relic's limits when the endpoint is a New Relic host, none otherwise.
    #[default]
    Auto,
    /// New Relic's documented OTLP limits.
    NewRelic,
    /// No limits.
    None,
}

/// Retry policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// First wait.
    #[serde(default = "default_initial_backoff")]
    pub initial_backoff: Duration,
    /// Longest wait.
    #[serde(default = "default_max_backoff")]
    pub max_backoff: Duration,
    /// Give a batch up (counted as dropped) after retrying this long. With a disk buffer the
    /// default is to retry until `buffer.max_age`.
    #[serde(default = "default_max_elapsed")]
    pub max_elapsed: Duration,
    /// Give a batch up after this many attempts (0 = no limit).
    #[serde(default)]
    pub max_attempts: u32,
}

/// Circuit breaker per endpoint: after `failures` consecutive failed requests the circuit
/// opens and no request is sent for `open_for`; then one probe is let through (half-open):
/// success closes it, failure opens it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitConfig {
    /// Consecutive failures that open the circuit (0 disables the breaker).
    #[serde(default = "default_failures")]
    pub failures: u32,
    /// How long the circuit stays open before a probe.
    #[serde(default = "default_open_for")]
    pub open_for: Duration,
}

fn default_failures() -> u32 {
    5
}
fn default_open_for() -> Duration {
    Duration::from_secs(30)
}

impl Default for CircuitConfig {
    fn default() -> Self {
        CircuitConfig {
            failures: default_failures(),
            open_for: default_open_for(),
        }
    }
}

/// How incoming batches are merged into requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Most items (points, records, spans) per request.
    #[serde(default = "default_batch_events")]
    pub max_events: usize,
    /// Longest wait for more data before a partial request is sent.
    #[serde(default = "default_batch_timeout")]
    pub timeout: Duration,
}

fn default_batch_events() -> usize {
    8192
}
fn default_batch_timeout() -> Duration {
    Duration::from_millis(200)
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_events: default_batch_events(),
            timeout: default_batch_timeout(),
        }
    }
}

fn default_initial_backoff() -> Duration {
    Duration::from_millis(500)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(30)
}
fn default_max_elapsed() -> Duration {
    Duration::from_secs(300)
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff: default_initial_backoff(),
            max_backoff: default_max_backoff(),
            max_elapsed: default_max_elapsed(),
            max_attempts: 0,
        }
    }
}

/// `otlp_http` sink settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpHttpConfig {
    /// Base URL; `/v1/metrics` (etc.) is appended unless the path already ends with it.
    pub endpoint: Endpoint,
    /// Extra headers (e.g. `api-key` for New Relic). Values are masked in `config show`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body compression.
    #[serde(default)]
    pub compression: Compression,
    /// Per-request timeout.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Temporality of monotonic sums.
    #[serde(default)]
    pub temporality: Temporality,
    /// Largest request body (New Relic: 1 MB; the default 5 MB suits most OTLP backends, and
    /// New Relic endpoints get 1 MB automatically).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_request_bytes: Option<usize>,
    /// Merging of incoming batches into requests.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Circuit breaker.
    #[serde(default)]
    pub circuit: CircuitConfig,
    /// Attribute limits.
    #[serde(default)]
    pub limits: Limits,
    /// Retry policy.
    #[serde(default)]
    pub retry: RetryConfig,
    /// How long deliveries may fail before `/health` reports this sink.
    #[serde(default = "default_health_threshold")]
    pub health_threshold: Duration,
    /// Outbound proxy (`http://`, `https://` or `socks5://`, credentials in the URL). Without
    /// it, `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY` apply unless `env_proxy` is
    /// false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyUrl>,
    /// Whether the usual proxy environment variables apply (when `proxy` is not set).
    #[serde(default = "yes")]
    pub env_proxy: bool,
    /// Extra certificate authorities trusted beside the system's.
    #[serde(default)]
    pub tls: ClientTlsConfig,
}

/// Extra trust for an outbound TLS connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// A PEM file of CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// A directory whose `.pem`/`.crt` files hold CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_dir: Option<PathBuf>,
    /// A client certificate chain (PEM) for mutual TLS, with `key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// SHA-256 fingerprints (hex, `:` allowed) of the server certificates accepted, checked on
    /// top of the usual validation; empty: any valid certificate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pin_sha256: Vec<String>,
}

/// A proxy URL: `http`, `https`, `socks5` or `socks5h`, with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUrl(pub url::Url);

impl Serialize for ProxyUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProxyUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let s = String::deserialize(d)?;
        let url = url::Url::parse(&s).map_err(|e| {
            D::Error::custom(format!(
                "invalid proxy URL: {e} (write it in full, e.g. `http://proxy.example:3128`)"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
            return Err(D::Error::custom(format!(
                "invalid proxy URL: the scheme must be http, https, socks5 or socks5h, not `{}`",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(D::Error::custom("invalid proxy URL: no host"));
        }
        Ok(ProxyUrl(url))
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_health_threshold() -> Duration {
    Duration::from_secs(60)
}

/// `prometheus` sink settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// Path on the agent's HTTP server.
    #[serde(default = "default_prom_path")]
    pub path: String,
    /// Series not updated for this long are dropped from the exposition.
    #[serde(default = "default_expiry")]
    pub expiry: Duration,
}

fn default_prom_path() -> String {
    "/metrics/host".to_string()
}
fn default_expiry() -> Duration {
    Duration::from_secs(300)
}

/// `file` sink settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// File to append OTLP/JSON lines to (created 0600).
    pub path: PathBuf,
    /// Start a new file (renaming the old one to `<path>.1`) past this size; 0 disables.
    #[serde(default)]
    pub rotate_bytes: u64,
}

/// `duckdb` sink settings: where the store lives and how long it keeps data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuckdbSinkConfig {
    /// The database file; default `<data_dir>/store/lookout.duckdb` (created owner-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Retention of every table.
    #[serde(default)]
    pub retention: StoreRetention,
    /// Per-table retention (`otel_logs: {max_age: 1d}`), over `retention`'s age.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, TableRetention>,
    /// Rows written in one transaction at most (batches are combined up to it).
    #[serde(default = "default_store_batch_rows")]
    pub batch_max_rows: usize,
}

/// Retention of the whole store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreRetention {
    /// Rows older than this are deleted (0s keeps them for ever).
    #[serde(default = "default_store_max_age")]
    pub max_age: Duration,
    /// Bytes the store may use (data and write-ahead log); the oldest rows go first. 0: no limit.
    #[serde(default = "default_store_max_bytes")]
    pub max_bytes: u64,
    /// How often age retention runs.
    #[serde(default = "default_store_check")]
    pub check_interval: Duration,
}

/// Retention of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRetention {
    /// Rows of this table older than this are deleted.
    pub max_age: Duration,
}

fn default_store_max_age() -> Duration {
    Duration::from_secs(7 * 86400)
}
fn default_store_max_bytes() -> u64 {
    1 << 30
}
fn default_store_check() -> Duration {
    Duration::from_secs(60)
}
fn default_store_batch_rows() -> usize {
    100_000
}

impl Default for StoreRetention {
    fn default() -> Self {
        StoreRetention {
            max_age: default_store_max_age(),
            max_bytes: default_store_max_bytes(),
            check_interval: default_store_check(),
        }
    }
}

fn de_opt_listen<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    match text {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!(
                "invalid listen address `{t}`: write an IP address and a port, e.g. `127.0.0.1:8125`, or null to disable this listener"
            ))
        }),
    }
}

/// TLS for a listener: a PEM certificate chain and its PEM private key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How StatsD counters leave the aggregator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatsdCounters {
    /// One delta sum per flush window (what StatsD means by a counter).
    #[default]
    Delta,
    /// A running total since the series was first seen.
    Cumulative,
}

/// How StatsD timers (`ms`) and histograms (`h`) leave the aggregator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatsdTimers {
    /// An OpenTelemetry summary: count, sum, min, max and the configured percentiles.
    #[default]
    Summary,
    /// An OpenTelemetry exponential histogram (mergeable).
    Histogram,
}

/// `statsd` source settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsdConfig {
    /// UDP listen address (null disables UDP).
    #[serde(default = "default_statsd_udp", deserialize_with = "de_opt_listen")]
    pub udp: Option<SocketAddr>,
    /// TCP listen address (newline-separated lines; off by default).
    #[serde(default, deserialize_with = "de_opt_listen")]
    pub tcp: Option<SocketAddr>,
    /// Unix datagram socket path (off by default); created owner-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unix: Option<PathBuf>,
    /// Socket receive buffer asked of the kernel (bytes; capped by net.core.rmem_max).
    #[serde(default = "default_receive_buffer")]
    pub receive_buffer: usize,
    /// Aggregation window.
    #[serde(default = "default_interval")]
    pub flush_interval: Duration,
    /// Counter temporality.
    #[serde(default)]
    pub counters: StatsdCounters,
    /// Timer and histogram output.
    #[serde(default)]
    pub timers: StatsdTimers,
    /// Percentiles reported by summaries (each in (0, 1)).
    #[serde(default = "default_percentiles")]
    pub percentiles: Vec<f64>,
    /// Distinct tag sets per metric name and window; more are folded into one overflow series.
    #[serde(default = "default_max_series")]
    pub max_series_per_metric: usize,
    /// Series held in all; lines that would create more are dropped (counted).
    #[serde(default = "default_max_series_total")]
    pub max_series: usize,
    /// TLS for the TCP listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

fn default_statsd_udp() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 8125)))
}
fn default_receive_buffer() -> usize {
    8 << 20
}
fn default_percentiles() -> Vec<f64> {
    vec![0.5, 0.9, 0.95, 0.99]
}
fn default_max_series() -> usize {
    1000
}
fn default_max_series_total() -> usize {
    100_000
}

impl Default for StatsdConfig {
    fn default() -> Self {
        StatsdConfig {
            udp: default_statsd_udp(),
            tcp: None,
            unix: None,
            receive_buffer: default_receive_buffer(),
            flush_interval: default_interval(),
            counters: StatsdCounters::default(),
            timers: StatsdTimers::default(),
            percentiles: default_percentiles(),
            max_series_per_metric: default_max_series(),
            max_series: default_max_series_total(),
            tls: None,
        }
    }
}

/// `otlp` receiver settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpReceiverConfig {
    /// gRPC listen address (null disables gRPC).
    #[serde(default = "default_otlp_grpc", deserialize_with = "de_opt_listen")]
    pub grpc: Option<SocketAddr>,
    /// HTTP listen address (`/v1/metrics`, `/v1/logs`, `/v1/traces`; null disables HTTP).
    #[serde(default = "default_otlp_http", deserialize_with = "de_opt_listen")]
    pub http: Option<SocketAddr>,
    /// Largest request accepted, compressed and decompressed (bytes).
    #[serde(default = "default_otlp_max_request")]
    pub max_request_bytes: usize,
    /// How long a request may wait for room in full buffers before it is answered with a
    /// retryable error (HTTP 503 / gRPC UNAVAILABLE).
    #[serde(default = "default_backpressure_wait")]
    pub backpressure_wait: Duration,
    /// Open connections served at once per listener; more wait in the kernel's accept queue.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// TLS for both listeners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

fn default_otlp_grpc() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 4317)))
}
fn default_otlp_http() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 4318)))
}
fn default_otlp_max_request() -> usize {
    4 << 20
}
fn default_max_connections() -> usize {
    1024
}
fn default_backpressure_wait() -> Duration {
    Duration::from_secs(1)
}

impl Default for OtlpReceiverConfig {
    fn default() -> Self {
        OtlpReceiverConfig {
            grpc: default_otlp_grpc(),
            http: default_otlp_http(),
            max_request_bytes: default_otlp_max_request(),
            backpressure_wait: default_backpressure_wait(),
            max_connections: default_max_connections(),
            tls: None,
        }
    }
}

/// `redis` source settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `host:port`, or a Unix socket as `unix:///path` or `/path`.
    #[serde(default = "default_redis_endpoint")]
    pub endpoint: String,
    /// ACL user name (Redis 6+), with `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password (`AUTH`); write it as `${env:NAME}`, never in the file itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Collection interval.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// Limit for one collection (connect, authenticate, `INFO`).
    #[serde(default = "default_integration_timeout")]
    pub timeout: Duration,
    /// Commands reported by `redis.cmd.*` (the busiest by calls).
    #[serde(default = "default_redis_max_commands")]
    pub max_commands: usize,
    /// Extra resource attributes on everything this source reports (`team: payments`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

fn default_redis_endpoint() -> String {
    "127.0.0.1:6379".into()
}
fn default_integration_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_redis_max_commands() -> usize {
    50
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            endpoint: default_redis_endpoint(),
            username: None,
            password: None,
            interval: default_interval(),
            timeout: default_integration_timeout(),
            max_commands: default_redis_max_commands(),
            attributes: BTreeMap::new(),
        }
    }
}

/// `mysql` source settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlConfig {
    /// `host:port`, or a Unix socket path.
    #[serde(default = "default_mysql_endpoint")]
    pub endpoint: String,
    /// The monitoring user (`GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO ...`).
    #[serde(default = "default_monitor_user")]
    pub username: String,
    /// Its password; write it as `${env:NAME}`, never in the file itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Report the sizes (`mysql.table.*_length`) of this many tables, the largest; 0 is off.
    #[serde(default)]
    pub table_sizes: usize,
    /// Collection interval.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// Limit for one collection.
    #[serde(default = "default_integration_timeout")]
    pub timeout: Duration,
    /// Extra resource attributes on everything this source reports (`team: payments`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

fn default_mysql_endpoint() -> String {
    "127.0.0.1:3306".into()
}
fn default_monitor_user() -> String {
    "lookout".into()
}

/// `postgresql` source settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresqlConfig {
    /// `host:port`, or the directory of the Unix socket (`/var/run/postgresql`).
    #[serde(default = "default_pg_endpoint")]
    pub endpoint: String,
    /// The monitoring user (`GRANT pg_monitor TO ...`).
    #[serde(default = "default_monitor_user")]
    pub username: String,
    /// Its password; write it as `${env:NAME}`, never in the file itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Databases whose tables and indexes are reported (all but templates when empty).
    #[serde(default)]
    pub databases: Vec<String>,
    /// Tables (and indexes) reported per database: the busiest.
    #[serde(default = "default_pg_max_tables")]
    pub max_tables: usize,
    /// Collection interval.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// Limit for one collection.
    #[serde(default = "default_integration_timeout")]
    pub timeout: Duration,
    /// Extra resource attributes on everything this source reports (`team: payments`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

fn default_pg_endpoint() -> String {
    "127.0.0.1:5432".into()
}
fn default_pg_max_tables() -> usize {
    20
}

/// `nginx` and `apache` source settings: a status page read over HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpStatusConfig {
    /// The status page: nginx `http://127.0.0.1/nginx_status` (`stub_status`), Apache
    /// `http://127.0.0.1/server-status?auto` (`mod_status`).
    pub endpoint: Endpoint,
    /// Collection interval.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// Limit for one collection.
    #[serde(default = "default_integration_timeout")]
    pub timeout: Duration,
    /// Extra resource attributes on everything this source reports (`team: payments`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// Where a log source starts the first time it sees its input (no checkpoint yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStartAt {
    /// Read what is already there.
    #[default]
    Beginning,
    /// Only what is written after the agent starts.
    End,
}

/// How a log source turns a line into a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogParserKind {
    /// Detect JSON, syslog, access log, logfmt or plain text per line.
    #[default]
    Auto,
    /// One JSON object per line.
    Json,
    /// `key=value` pairs.
    Logfmt,
    /// BSD syslog (RFC 3164).
    Syslog3164,
    /// IETF syslog (RFC 5424).
    Syslog5424,
    /// Common/Combined Log Format (nginx, Apache).
    AccessLog,
    /// The line is the body; a leading timestamp and a level keyword are still read.
    Plain,
    /// MySQL/MariaDB slow query log (records joined by their `# Time:`/`# User@Host:` headers
    /// unless `multiline` says otherwise).
    MysqlSlow,
    /// PostgreSQL stderr log with the prefix `%m [%p] %q%u@%d ` (continuation lines joined
    /// unless `multiline` says otherwise).
    Postgresql,
    /// PostgreSQL csvlog (quoted multi-line fields joined unless `multiline` says otherwise).
    PostgresqlCsv,
    /// nginx access log in a `log_format` of the server's config (see [`NginxParserConfig`]).
    Nginx,
}

/// Where `parser: nginx` finds its format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NginxParserConfig {
    /// The nginx configuration holding the `log_format` directives.
    #[serde(default = "default_nginx_conf")]
    pub config: PathBuf,
    /// The `log_format` name used by the `access_log` being read (`combined` is built in).
    #[serde(default = "default_nginx_format_name")]
    pub log_format: String,
    /// The format itself, instead of reading it from `config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

fn default_nginx_conf() -> PathBuf {
    PathBuf::from("/etc/nginx/nginx.conf")
}
fn default_nginx_format_name() -> String {
    "combined".into()
}

impl Default for NginxParserConfig {
    fn default() -> Self {
        NginxParserConfig {
            config: default_nginx_conf(),
            log_format: default_nginx_format_name(),
            format: None,
        }
    }
}

/// How a log source joins lines into multi-line records.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultilineConfig {
    /// Every line is a record.
    #[default]
    None,
    /// Built-in rules for stack traces (Java, Python, Go) and indented continuations.
    Auto,
    /// A line matching this regex starts a record; others continue it.
    Start(String),
    /// A line matching this regex continues the current record; others start one.
    Continuation(String),
}

/// Settings shared by the file and docker log sources: parsing, multi-line joining, limits
/// and batching (see [`FilesConfig::logs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// Parser applied to each record.
    pub parser: LogParserKind,
    /// Multi-line joining.
    pub multiline: MultilineConfig,
    /// A pending multi-line record is completed after this long without a new line.
    pub multiline_timeout: Duration,
    /// Longest line kept (bytes).
    pub max_line_bytes: usize,
    /// Longest joined multi-line record (bytes).
    pub max_record_bytes: usize,
    /// Most records per batch.
    pub batch_max_records: usize,
    /// Extra attributes set on every record.
    pub attributes: BTreeMap<String, String>,
    /// `parser: nginx`: where the format comes from.
    pub nginx: NginxParserConfig,
}

fn default_true() -> bool {
    true
}

fn default_multiline_timeout() -> Duration {
    Duration::from_secs(1)
}
fn default_max_line_bytes() -> usize {
    256 * 1024
}
fn default_max_record_bytes() -> usize {
    1024 * 1024
}
fn default_log_batch() -> usize {
    1000
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            parser: LogParserKind::Auto,
            multiline: MultilineConfig::None,
            multiline_timeout: default_multiline_timeout(),
            max_line_bytes: default_max_line_bytes(),
            max_record_bytes: default_max_record_bytes(),
            batch_max_records: default_log_batch(),
            attributes: BTreeMap::new(),
            nginx: NginxParserConfig::default(),
        }
    }
}

/// `files` source settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    /// Absolute path globs of files to read (`*`, `?`, `[abc]`, `**`).
    pub include: Vec<String>,
    /// Globs left out: absolute, or a file-name pattern such as `*.gz`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Where files found at the very first start begin; files appearing later are read whole.
    #[serde(default)]
    pub start_at: LogStartAt,
    /// How often files are checked for new data when idle.
    #[serde(default = "default_log_poll")]
    pub poll_interval: Duration,
    /// How often the globs are expanded again to find new files.
    #[serde(default = "default_log_rescan")]
    pub rescan_interval: Duration,
    /// A rotated-away or deleted file is released after being read to its end and idle this
    /// long; an unfinished last line is emitted after this long.
    #[serde(default = "default_log_release")]
    pub release_after: Duration,
    /// How often acknowledged offsets are written to the checkpoint file.
    #[serde(default = "default_log_checkpoint")]
    pub checkpoint_interval: Duration,
    /// Parser applied to each record.
    #[serde(default)]
    pub parser: LogParserKind,
    /// Multi-line joining.
    #[serde(default)]
    pub multiline: MultilineConfig,
    /// A pending multi-line record is completed after this long without a new line.
    #[serde(default = "default_multiline_timeout")]
    pub multiline_timeout: Duration,
    /// Longest line kept (bytes); longer lines are cut and counted.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// Longest joined multi-line record (bytes); longer records are cut and counted.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// Most records per batch sent downstream.
    #[serde(default = "default_log_batch")]
    pub batch_max_records: usize,
    /// Extra attributes set on every record of this source.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// `parser: nginx`: the nginx config and `log_format` name, or the format itself.
    #[serde(default)]
    pub nginx: NginxParserConfig,
}

fn default_log_poll() -> Duration {
    Duration(std::time::Duration::from_millis(250))
}
fn default_log_rescan() -> Duration {
    Duration::from_secs(1)
}
fn default_log_release() -> Duration {
    Duration::from_secs(5)
}
fn default_log_checkpoint() -> Duration {
    Duration::from_secs(1)
}

/// `journald` source settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournaldConfig {
    /// Read the journal files of this directory instead of the system journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<PathBuf>,
    /// Only entries of these systemd units.
    #[serde(default)]
    pub units: Vec<String>,
    /// Only entries whose FIELD has one of these values (`{_COMM: [sshd, sudo]}`); values of
    /// one field are alternatives, different fields must all match.
    #[serde(default)]
    pub matches: BTreeMap<String, Vec<String>>,
    /// Only the current boot (else the whole journal), on the first start.
    #[serde(default = "default_true")]
    pub current_boot_only: bool,
    /// Where the first start begins (later starts resume after the saved cursor).
    #[serde(default = "default_journal_start")]
    pub start_at: LogStartAt,
    /// The `journalctl` program.
    #[serde(default = "default_journalctl")]
    pub journalctl: PathBuf,
    /// How often the acknowledged cursor is written to disk.
    #[serde(default = "default_log_checkpoint")]
    pub checkpoint_interval: Duration,
    /// Most entries per batch sent downstream.
    #[serde(default = "default_log_batch")]
    pub batch_max_records: usize,
}

fn default_journal_start() -> LogStartAt {
    LogStartAt::End
}
fn default_journalctl() -> PathBuf {
    PathBuf::from("journalctl")
}

/// `docker` source settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerLogsConfig {
    /// Docker's data root (`data-root` in daemon.json).
    #[serde(default = "default_docker_root")]
    pub data_root: PathBuf,
    /// Only containers whose name matches one of these globs (all when empty).
    #[serde(default)]
    pub include_containers: Vec<String>,
    /// Containers whose name matches one of these globs are left out.
    #[serde(default)]
    pub exclude_containers: Vec<String>,
    /// Where containers found at the very first start begin.
    #[serde(default)]
    pub start_at: LogStartAt,
    /// How often logs are checked for new data when idle.
    #[serde(default = "default_log_poll")]
    pub poll_interval: Duration,
    /// How often new and removed containers are looked for.
    #[serde(default = "default_log_rescan")]
    pub rescan_interval: Duration,
    /// How often acknowledged offsets are written to the checkpoint file.
    #[serde(default = "default_log_checkpoint")]
    pub checkpoint_interval: Duration,
    /// Parser applied to each record.
    #[serde(default)]
    pub parser: LogParserKind,
    /// Multi-line joining.
    #[serde(default)]
    pub multiline: MultilineConfig,
    /// A pending multi-line record is completed after this long without a new line.
    #[serde(default = "default_multiline_timeout")]
    pub multiline_timeout: Duration,
    /// Longest line kept (bytes); longer lines are cut and counted.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// Longest joined multi-line record (bytes); longer records are cut and counted.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// Most records per batch sent downstream.
    #[serde(default = "default_log_batch")]
    pub batch_max_records: usize,
    /// Extra attributes set on every record of this source.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// `parser: nginx`: the nginx config and `log_format` name, or the format itself.
    #[serde(default)]
    pub nginx: NginxParserConfig,
}

macro_rules! log_settings {
    ($t:ty) => {
        impl $t {
            /// The parsing, multi-line and batching settings.
            pub fn logs(&self) -> LogSettings {
                LogSettings {
                    parser: self.parser,
                    multiline: self.multiline.clone(),
                    multiline_timeout: self.multiline_timeout,
                    max_line_bytes: self.max_line_bytes,
                    max_record_bytes: self.max_record_bytes,
                    batch_max_records: self.batch_max_records,
                    attributes: self.attributes.clone(),
                    nginx: self.nginx.clone(),
                }
            }
        }
    };
}
log_settings!(FilesConfig);
log_settings!(DockerLogsConfig);

fn default_docker_root() -> PathBuf {
    PathBuf::from("/var/lib/docker")
}

/// `sample` processor settings: head sampling of spans, decided per trace id so that every
/// span of a trace (and every agent using the same rate) makes the same decision. Metrics and
/// logs pass untouched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleConfig {
    /// Fraction of traces kept, in [0, 1].
    #[serde(default = "default_sample_rate")]
    pub rate: f64,
    /// At most this many new traces per second per `service.name` (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_traces_per_second: Option<f64>,
}

fn default_sample_rate() -> f64 {
    1.0
}

/// One custom redaction rule: every match of `pattern` is replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactRule {
    /// Rule name (counted in the processor's stats).
    pub name: String,
    /// A regular expression (Rust `regex` syntax).
    pub pattern: String,
    /// Replacement text (`$1`-style group references allowed).
    #[serde(default = "default_redaction")]
    pub replacement: String,
}

fn default_redaction() -> String {
    "[REDACTED]".into()
}

/// `redact` processor settings: masks secrets and personal data in log bodies, log and span
/// attributes (and span event attributes) before anything leaves the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactConfig {
    /// Built-in rules to apply (all by default; `[]` for none). See docs/redaction.md.
    #[serde(default = "default_builtins")]
    pub builtins: Vec<String>,
    /// Extra rules, applied after the built-ins.
    #[serde(default)]
    pub rules: Vec<RedactRule>,
    /// Attribute keys whose whole value is masked (case-insensitive substrings), added to the
    /// built-in list (password, secret, token, authorization, cookie, api_key...).
    #[serde(default)]
    pub sensitive_keys: Vec<String>,
    /// Also redact metric data point attributes.
    #[serde(default)]
    pub metrics: bool,
}

/// The built-in redaction rule names.
pub const REDACT_BUILTINS: &[&str] = &[
    "credit_card",
    "email",
    "bearer_token",
    "basic_auth_url",
    "password_assignment",
    "aws_access_key",
    "private_key",
    "jwt",
    "ipv4",
    "ipv6",
];

fn default_builtins() -> Vec<String> {
    REDACT_BUILTINS
        .iter()
        .filter(|b| !matches!(**b, "ipv4" | "ipv6"))
        .map(|s| s.to_string())
        .collect()
}

impl Default for RedactConfig {
    fn default() -> Self {
        RedactConfig {
            builtins: default_builtins(),
            rules: Vec::new(),
            sensitive_keys: Vec::new(),
            metrics: false,
        }
    }
}

/// Log severities, as `min_severity` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityLevel {
    /// OpenTelemetry severity numbers 1-4.
    Trace,
    /// 5-8.
    Debug,
    /// 9-12.
    Info,
    /// 13-16.
    Warn,
    /// 17-20.
    Error,
    /// 21-24.
    Fatal,
}

impl SeverityLevel {
    /// The lowest OpenTelemetry severity number of the level.
    pub fn min_number(self) -> i32 {
        match self {
            SeverityLevel::Trace => 1,
            SeverityLevel::Debug => 5,
            SeverityLevel::Info => 9,
            SeverityLevel::Warn => 13,
            SeverityLevel::Error => 17,
            SeverityLevel::Fatal => 21,
        }
    }
}

/// `filter` processor settings. Log records must pass every configured test; spans pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// Log records below this severity are dropped (records without a severity are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<SeverityLevel>,
    /// Log records whose body matches none of these regular expressions are dropped (when set).
    #[serde(default)]
    pub include: Vec<String>,
    /// Log records whose body matches one of these regular expressions are dropped.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// At most this many log records per second pass (the rest are dropped and counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_records_per_second: Option<f64>,
    /// Metric names to keep and drop (globs).
    #[serde(default)]
    pub metrics: Filter,
}
