//! Where the terminal UI gets its data and sends its actions: the agent's control API (the
//! binary implements [`Backend`] with `lookout_api::Client`), or a fixed one in tests.

use lookout_api::{
    ActionResult, AddLogSource, Check, ConfigCheck, ConfigView, HostHistory, LogSources, Processes,
    RedactTry, RedactTryResult, Services, Status, Tail,
};

/// What can be done to a log source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceOp {
    /// Remove a source added at run time.
    Remove,
    /// Stop reading it (its position is kept).
    Pause,
    /// Read it again from where it stopped.
    Resume,
}

/// The agent, as the UI sees it. Every call is blocking and quick (a local socket); an `Err`
/// is a message for the operator.
pub trait Backend {
    /// The agent's status.
    fn status(&self) -> Result<Status, String>;
    /// Recent host samples.
    fn host(&self) -> Result<HostHistory, String>;
    /// The top processes.
    fn processes(&self) -> Result<Processes, String>;
    /// Discovered services.
    fn services(&self) -> Result<Services, String>;
    /// Enables (`true`) or disables a discovered service by its source id.
    fn set_service(&self, id: &str, enabled: bool) -> Result<ActionResult, String>;
    /// The log sources.
    fn log_sources(&self) -> Result<LogSources, String>;
    /// Adds a `files` log source.
    fn add_log_source(&self, req: &AddLogSource) -> Result<ActionResult, String>;
    /// Removes, pauses or resumes a log source.
    fn log_source_op(&self, id: &str, op: SourceOp) -> Result<ActionResult, String>;
    /// A source's records after `after`, as the sinks get them (redacted).
    fn tail(&self, source: &str, after: u64) -> Result<Tail, String>;
    /// Tries a redaction rule on a source's recent lines.
    fn redact_try(&self, req: &RedactTry) -> Result<RedactTryResult, String>;
    /// The configuration.
    fn config(&self) -> Result<ConfigView, String>;
    /// Validates a new configuration file text, and applies it when `apply` (and valid).
    fn config_change(&self, yaml: &str, apply: bool) -> Result<ConfigCheck, String>;
    /// Runs the diagnose checks.
    fn diagnose(&self) -> Result<Vec<Check>, String>;
    /// Sets the agent's log level for a while (`reset`: back to the configured one).
    fn set_log_level(&self, level: &str, for_secs: u64) -> Result<ActionResult, String>;
}

/// Where the guided first run sends data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Nothing leaves the host: a local store only.
    LocalOnly,
    /// Any OTLP/HTTP endpoint.
    Otlp {
        /// The endpoint URL.
        endpoint: String,
    },
    /// New Relic's OTLP endpoint; the key goes to the secret store, never into the config.
    NewRelic {
        /// The license key.
        license_key: String,
        /// `us` or `eu` (chosen from the key when it says).
        region: String,
    },
}

/// What the operator chose in the guided first run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupChoice {
    /// Where data goes.
    pub destination: Destination,
    /// Source ids of the discovered services to monitor.
    pub services: Vec<String>,
}

/// The guided first run's side: offered when no agent runs and no configuration exists.
pub trait Setup {
    /// The services on this host, to choose from.
    fn discover(&self) -> Result<lookout_api::Services, String>;
    /// Writes the configuration (and the secret), starts the agent; returns what was done.
    fn apply(&self, choice: &SetupChoice) -> Result<String, String>;
}
