//! `lookout migrate-infra`: reads a New Relic Infrastructure agent's configuration
//! (`newrelic-infra.yml`, its `NRIA_*` environment overrides, `integrations.d/` and
//! `logging.d/`) and turns it into one lookout configuration, plus a report that says for
//! every key found where it went, or why it was not mapped.
//!
//! This crate only converts: it reads text it is given and touches nothing. Finding the
//! agent, storing credentials, starting lookout and stopping the old agent belong to the
//! `lookout` binary (`crates/lookout/src/cli/migrate.rs`). Credentials found in the files
//! come out as [`Secret`]s for the secret store; the configuration only refers to them as
//! `${secret:NAME}`, and neither the report nor any error ever carries their values.

pub mod attributes;
mod infra;
mod keys;
mod logsd;
mod matcher;
mod ohi;
pub mod yaml;

use lookout_config::ConfigError;
use serde::Serialize;
use yaml::Y;

/// The secret the license key is stored under (the same name `lookout tui`'s first run uses).
pub const LICENSE_SECRET: &str = "newrelic_license_key";

/// One file read for the migration.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Its path, as shown in the report and in errors.
    pub path: String,
    /// Its text.
    pub text: String,
}

/// One `NRIA_*` variable of the agent's service, which overrides the file.
#[derive(Clone)]
pub struct EnvVar {
    /// The variable's name (`NRIA_LICENSE_KEY`).
    pub name: String,
    /// Its value.
    pub value: String,
    /// Where it was set (`/etc/systemd/system/newrelic-infra.service:12`).
    pub origin: String,
}

impl std::fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (from {}, value not shown)", self.name, self.origin)
    }
}

/// Everything the conversion reads.
#[derive(Debug, Clone)]
pub struct Input {
    /// `newrelic-infra.yml`.
    pub main: SourceFile,
    /// The service's `NRIA_*` overrides.
    pub env: Vec<EnvVar>,
    /// The YAML files of `integrations.d/`.
    pub integrations: Vec<SourceFile>,
    /// The YAML files of `logging.d/`.
    pub logging: Vec<SourceFile>,
}

/// Conversion choices.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Report keys the agent does not know as not mapped instead of refusing the file.
    pub allow_unknown: bool,
}

/// How one source key was carried over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Carried over with the same meaning.
    Mapped,
    /// Carried over, with a difference the note states.
    Approximated,
    /// Not carried over; the note says why.
    NotMapped,
}

impl Status {
    /// A short word for tables.
    pub fn label(self) -> &'static str {
        match self {
            Status::Mapped => "mapped",
            Status::Approximated => "approximated",
            Status::NotMapped => "not mapped",
        }
    }
}

/// One line of the report: a source key and where it went.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `file:line:column` of the key (or the variable's origin).
    pub at: String,
    /// The key (`enable_process_metrics`, `nri-mysql[0].env.PASSWORD`, `logs[2].file`).
    pub key: String,
    /// The lookout key it became (empty when not mapped).
    pub target: String,
    /// How.
    pub status: Status,
    /// Why, or what differs.
    pub note: String,
}

/// A credential found in the agent's files, for lookout's secret store.
#[derive(Clone, Serialize)]
pub struct Secret {
    /// The secret's name (`${secret:NAME}` in the configuration).
    pub name: String,
    /// Its value: never printed, never serialized.
    #[serde(skip)]
    pub value: String,
    /// Where it was found.
    pub from: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Secret({} from {}, value not shown)",
            self.name, self.from
        )
    }
}

/// The license key's region, from its prefix or the `fedramp`/`staging` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// United States (the default).
    Us,
    /// Europe (`eu01xx...` keys).
    Eu,
    /// FedRAMP (`gov01x...` keys or `fedramp: true`).
    Fedramp,
    /// New Relic's staging environment (`staging: true`).
    Staging,
}

impl Region {
    /// The OTLP endpoint of the region.
    pub fn otlp_endpoint(self) -> &'static str {
        match self {
            Region::Us => "https://otlp.nr-data.net",
            Region::Eu => "https://otlp.eu01.nr-data.net",
            Region::Fedramp => "https://gov-otlp.nr-data.net",
            Region::Staging => "https://staging-otlp.nr-data.net",
        }
    }
}

/// The region a license key belongs to, from its prefix as the agent reads it: two or three
/// letters, two digits, then `x` or `xx` (`eu01xx...`: EU, `gov01x...`: FedRAMP); anything
/// else is a US key.
pub fn region_of_key(key: &str) -> Region {
    let b = key.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_lowercase()).count();
    let digits = b
        .iter()
        .skip(letters)
        .take_while(|c| c.is_ascii_digit())
        .count();
    let shaped = (2..=3).contains(&letters) && digits == 2 && b.get(letters + 2) == Some(&b'x');
    match (shaped, &key[..letters.min(key.len())]) {
        (true, "eu") => Region::Eu,
        (true, "gov") => Region::Fedramp,
        _ => Region::Us,
    }
}

/// What the conversion made.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The lookout configuration.
    pub config: Y,
    /// One row per key read.
    pub rows: Vec<Row>,
    /// Credentials for the secret store.
    pub secrets: Vec<Secret>,
    /// The region data goes to.
    pub region: Region,
}

impl Plan {
    /// The configuration as YAML, after a comment header.
    pub fn config_yaml(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(&yaml::emit(&self.config));
        out
    }

    /// Counts of rows by status: (mapped, approximated, not mapped).
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |s| self.rows.iter().filter(|r| r.status == s).count();
        (
            n(Status::Mapped),
            n(Status::Approximated),
            n(Status::NotMapped),
        )
    }
}

/// Converts the agent's configuration. Errors point at `file:line:column` and never quote a
/// credential.
pub fn convert(input: &Input, opts: &Options) -> Result<Plan, ConfigError> {
    let mut cx = Cx::default();
    let main = infra::convert(&mut cx, &input.main, &input.env, opts)?;
    for f in &input.integrations {
        ohi::convert(&mut cx, f)?;
    }
    for f in &input.logging {
        logsd::convert(&mut cx, f)?;
    }
    infra::finish(&mut cx, &main);
    Ok(Plan {
        config: cx.doc,
        rows: cx.rows,
        secrets: cx.secrets,
        region: main.region,
    })
}

/// The conversion's state, shared by the three readers.
#[derive(Default)]
pub(crate) struct Cx {
    pub doc: Y,
    pub rows: Vec<Row>,
    pub secrets: Vec<Secret>,
    /// Ids of the sources and processors the sink takes, in order.
    pub outputs: Vec<String>,
}

impl Default for Y {
    fn default() -> Self {
        Y::map()
    }
}

impl Cx {
    pub fn row(
        &mut self,
        at: impl ToString,
        key: impl Into<String>,
        target: impl Into<String>,
        status: Status,
        note: impl Into<String>,
    ) {
        self.rows.push(Row {
            at: at.to_string(),
            key: key.into(),
            target: target.into(),
            status,
            note: note.into(),
        });
    }

    /// A source id not used yet: `base`, else `base_2`, `base_3`...
    pub fn fresh_id(&self, base: &str) -> String {
        let taken = |id: &str| {
            self.doc.get("sources").and_then(|s| s.get(id)).is_some()
                || self.doc.get("processors").and_then(|s| s.get(id)).is_some()
        };
        if !taken(base) {
            return base.to_string();
        }
        (2..)
            .map(|i| format!("{base}_{i}"))
            .find(|id| !taken(id))
            .unwrap_or_else(|| base.to_string())
    }

    /// Keeps a credential; returns the `${secret:NAME}` reference to write in its place.
    pub fn secret(&mut self, name: &str, value: &str, from: &str) -> String {
        if let Some(s) = self.secrets.iter_mut().find(|s| s.name == name) {
            s.value = value.to_string();
        } else {
            self.secrets.push(Secret {
                name: name.to_string(),
                value: value.to_string(),
                from: from.to_string(),
            });
        }
        format!("${{secret:{name}}}")
    }
}

/// A lowercase id made of letters, digits and `_`.
pub(crate) fn sanitize_id(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let t = out.trim_matches('_').to_string();
    if t.is_empty() {
        "unnamed".into()
    } else {
        t
    }
}

/// Whether a value is a template placeholder someone forgot to fill in.
pub(crate) fn is_placeholder(v: &str) -> bool {
    let t = v.trim();
    let u = t.to_ascii_uppercase();
    (t.starts_with('<') && t.ends_with('>'))
        || (t.contains("{{") && t.contains("}}"))
        || u.contains("YOUR_")
        || u.contains("YOUR-")
        || u == "LICENSE_KEY"
        || u == "CHANGEME"
        || u == "REPLACE_ME"
}

/// Refuses text indented with tabs, pointing at the first such line (YAML forbids them, and the
/// parser's own message for it is obscure).
pub(crate) fn check_tabs(f: &SourceFile) -> Result<(), ConfigError> {
    for (i, line) in f.text.lines().enumerate() {
        let indent: &str = &line[..line.len() - line.trim_start().len()];
        if let Some(col) = indent.find('\t') {
            let mark = lookout_config::Mark {
                origin: f.path.as_str().into(),
                line: i + 1,
                col: col + 1,
            };
            return Err(ConfigError::at(
                &mark,
                "a tab indents this line",
                Some("YAML indents with spaces only; replace the tab with spaces"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
