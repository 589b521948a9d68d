//! Log line parsing for lookout, as pure logic: [`parse`] turns one log line (or a record joined
//! by [`Multiline`]) into OpenTelemetry log fields ([`Parsed`], convertible with
//! [`Parsed::to_log_record`]), detecting the format when asked to. No I/O and no clock of its own
//! except [`parse`] reading the wall clock for the year of BSD syslog timestamps
//! ([`parse_at`] takes it as an argument).
//!
//! # Autodetection ([`Parser::Auto`])
//!
//! Tried in this order on the line without its trailing `\r`/`\n`; the first that claims it wins:
//!
//! 1. **JSON**: the trimmed line starts with `{`, ends with `}` and parses as an object.
//!    - timestamp: the first of `@timestamp`, `timestamp`, `time`, `ts`, `date` holding RFC 3339
//!      text or an epoch number (or numeric text); the unit of an epoch is guessed from its
//!      magnitude: seconds below 1e11, milliseconds below 1e14, microseconds below 1e17, else
//!      nanoseconds;
//!    - severity: the first of `level`, `severity`, `lvl`, `log.level` holding a keyword, or a
//!      number (bunyan/pino 10-60, syslog 0-7; the text is then the number as written);
//!    - body: `msg`, `message`, then `log` (Docker's json-file, trailing newline removed); when
//!      there is none, the body is the whole line;
//!    - attributes: every other field; nested objects are **flattened** with `.`
//!      (`{"http":{"status":200}}` → `http.status = 200`, up to 8 levels, deeper ones kept as a
//!      map), arrays kept as arrays, `null`s dropped. A field used for the timestamp or severity
//!      is kept as an attribute only when it could not be interpreted.
//! 2. **Syslog RFC 5424**: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD]… MSG` (`-` for nil).
//! 3. **Syslog RFC 3164**: `<PRI>Mmm dd hh:mm:ss host tag[pid]: msg` (a missing host is allowed
//!    when the token after the time ends with `:` or holds `[`), or without `<PRI>` as in
//!    `/var/log/syslog`, then the tag with its `:` is required. rsyslog's high-precision variant
//!    (`2024-01-02T03:04:05.678+00:00 host tag[pid]: msg`, newer Debian/Ubuntu) is accepted too
//!    when the host is not a level keyword. The year of a BSD timestamp is the current one, or
//!    the previous one when that would put it more than a day in the future. Severity comes
//!    from PRI; without PRI it is scanned from the message as for plain lines.
//!    Attributes (both syslog formats): `syslog.facility` (int, when PRI), `host.name`,
//!    `syslog.appname`, `process.pid` (int; `syslog.procid` when not numeric), `syslog.msgid`,
//!    and each structured-data parameter as `syslog.sd.<SD-ID>.<name>`.
//! 4. **Access log** (Common and Combined Log Format as nginx and Apache write them):
//!    `host ident user [dd/Mon/yyyy:hh:mm:ss +zone] "METHOD target proto" status bytes
//!    ["referer" "user-agent"]`, followed by anything. Attributes: `client.address`,
//!    `user.name` (when not `-`), `http.request.method`, `url.path`, `url.query`,
//!    `network.protocol.name`/`network.protocol.version`, `http.response.status_code` (int),
//!    `http.response.body.size` (int), `http.request.header.referer`, `user_agent.original`;
//!    trailing `key=value` pairs (`rt=0.012`) as attributes by their key, any other trailing
//!    text as `log.access.extra`. Severity from the status: 5xx ERROR, 4xx WARN, else INFO.
//!    Body: the whole line.
//! 5. **logfmt**: at least 2 `key=value` pairs (keys `[A-Za-z_@][A-Za-z0-9_.@/-]*`, values bare
//!    or double-quoted with `\"`, `\\`, `\n`, `\t` escapes) covering at least 70% of the
//!    line's non-blank bytes. `msg`/`message` → body (else the whole line), `level`/`lvl`/
//!    `severity` (and Heroku's `at`, when a keyword) → severity, `time`/`ts`/`timestamp` →
//!    timestamp; other pairs are string attributes, bare words are dropped.
//! 6. **Plain**: everything else. The body is the whole line; a leading timestamp is read when
//!    present (ISO/RFC 3339 with `T` or a space, `,` or `.` before the fraction, zone `Z`,
//!    `±hh:mm`, `±hhmm` or ` UTC`, `/` dates as Go's `log` writes them, optionally in `[…]`; or
//!    a BSD `Mmm dd hh:mm:ss`), and a level keyword among the first six tokens: upper case when
//!    bare (`ERROR`), any case in brackets (`[info]`, `[Warning]`, Apache's `[core:error]`) or
//!    before a colon (`error:`, `LOG:`, `WARNING:root:…`); or a `level=`/`lvl=` pair.
//!
//! Times written without a zone are taken as UTC.
//!
//! With [`Parser::Fixed`] only the named format is tried (logfmt then needs one pair and no
//! coverage); a line it cannot parse falls back to Plain and is reported as [`Format::Plain`].
//!
//! # Severity
//!
//! Keywords map (any case) to OTel severity numbers: TRACE 1, DEBUG 5, INFO/LOG 9, NOTICE 10,
//! WARN/WARNING 13, ERROR/ERR/SEVERE 17, CRITICAL/CRIT/FATAL/ALERT/EMERG/PANIC 21. Syslog
//! severities 0-2 → 21, 3 → 17, 4 → 13, 5 → 10, 6 → 9, 7 → 5 (text: `emerg` … `debug`).
//!
//! # Multi-line records
//!
//! [`Multiline`] joins physical lines into records before parsing; see [`MultilineRule`].
//!
//! # PostgreSQL csvlog ([`Format::PostgresqlCsv`], `postgresql_csv`)
//!
//! Named only, never autodetected. One record of `log_destination = 'csvlog'`: RFC 4180 CSV
//! (fields in double quotes, `""` for a quote, newlines inside quoted fields: join the lines
//! with [`MultilineRule::CsvQuotes`]) of at least 22 columns (PostgreSQL 13-17 write 24-26;
//! later ones are ignored). Mapped as the stderr format `postgresql` is: the timestamp from
//! `log_time` (`2024-01-02 03:04:05.123 UTC` or a numeric zone; a zone name other than
//! `UTC`/`GMT` leaves it unknown), severity from `error_severity`, body = `message`;
//! attributes `db.system.name` (`postgresql`), `process.pid` (int), `user.name`,
//! `db.namespace`, `client.address` and `client.port` (int, from `connection_from`),
//! `session.id`, `postgresql.command_tag`, `db.response.status_code` (SQLSTATE),
//! `db.query.text` (`query`), `postgresql.detail`, `postgresql.hint`, `postgresql.context`,
//! `postgresql.application_name`, `postgresql.backend_type`; empty fields are left out.
//!
//! # nginx `log_format` ([`Format::NginxCustom`], `nginx`)
//!
//! [`nginx_log_formats`] reads the `log_format` directives of an nginx configuration (plus the
//! built-in `combined`); [`NginxFormat::compile`] turns one into a matcher and
//! [`NginxFormat::parse`] matches lines against it: literal text exactly, each `$variable`
//! up to the literal after it (two variables in a row are refused at compile time). As the
//! format is needed, [`parse`] with [`Parser::Fixed`]`(Format::NginxCustom)` cannot parse and
//! gives Plain. Variables map to the access-log attributes: `$remote_addr` → `client.address`,
//! `$remote_user` → `user.name`, `$time_local`/`$time_iso8601`/`$msec` → timestamp,
//! `$request` → `http.request.method`, `url.path`, `url.query`, `network.protocol.*`,
//! `$request_method`, `$request_uri`/`$uri` → `url.path` (+ `url.query`), `$status` →
//! `http.response.status_code` and severity (5xx ERROR, 4xx WARN, else INFO),
//! `$body_bytes_sent` → `http.response.body.size`, `$bytes_sent` → `http.response.size`,
//! `$request_length` → `http.request.size` (ints), `$request_time` →
//! `http.server.request.duration` (double seconds), `$upstream_response_time` →
//! `nginx.upstream.response_time`, `$http_referer` → `http.request.header.referer`,
//! `$http_user_agent` → `user_agent.original`, `$http_x_forwarded_for` →
//! `http.request.header.x-forwarded-for`, `$host`/`$server_name` → `server.address`,
//! `$server_port` → `server.port`, `$scheme` → `url.scheme`, `$request_id` →
//! `http.request.id`; any other as `nginx.<name>` (text). `-` values are left out, escapes
//! (`\xHH`, JSON) undone. Body: the whole line.
//!
//! # journald entries
//!
//! [`parse_journal_entry`] reads one line of `journalctl --output=json` (run with the arguments
//! from [`journalctl_args`]) into a [`JournalEntry`]: its `__CURSOR`, `__REALTIME_TIMESTAMP` and
//! an OTLP record. Values may be text, byte arrays (decoded as lossy UTF-8), arrays of those
//! (a repeated field) or `null` (too large: skipped).
//!
//! - body: `MESSAGE` (repeated values joined with `\n`; empty when missing);
//! - time: `_SOURCE_REALTIME_TIMESTAMP` when valid, else `__REALTIME_TIMESTAMP` (µs → ns);
//! - severity: `PRIORITY` 0-7 as syslog severities (see "Severity"; text `err`, `info`…);
//! - attributes, sorted by key: `_PID` → `process.pid` and `_UID` → `process.user.id` (ints),
//!   `_COMM` → `process.executable.name`, `_EXE` → `process.executable.path`, `_CMDLINE` →
//!   `process.command_line`, `_HOSTNAME` → `host.name`, `_SYSTEMD_UNIT` → `systemd.unit`,
//!   `SYSLOG_IDENTIFIER` → `syslog.appname`, `_BOOT_ID` → `journald.boot_id`, `_TRANSPORT` →
//!   `journald.transport`; every other field not starting with `__` as
//!   `journald.<name in lower case>` (text, or an array of texts when repeated).
//!
//! # Docker json-file
//!
//! [`parse_docker_line`] reads one record of a container's `<id>-json.log`
//! (`{"log":"…\n","stream":"stdout","time":"<RFC 3339>"}`) into a [`DockerLine`]. Docker splits
//! lines longer than 16 KiB into records whose `log` does not end with `\n`; [`PartialMerger`]
//! joins them per stream into [`MergedLine`]s (time of the first part, cut at a byte bound).
//! [`parse_container_config`] reads a container's `config.v2.json` into a [`ContainerMeta`],
//! whose [`ContainerMeta::resource_attributes`] follow the OpenTelemetry `container.*`
//! conventions.
#![deny(missing_docs)]

mod access;
mod docker;
mod journal;
mod json;
mod logfmt;
mod multiline;
mod nginx;
mod plain;
mod services;
mod severity;
mod syslog;
mod time;

use lookout_model::otlp::{any_value, AnyValue, ArrayValue, KeyValue, LogRecord};
use opentelemetry_proto::tonic::common::v1::KeyValueList;

pub use docker::{
    parse_container_config, parse_docker_line, ContainerMeta, DockerError, DockerLine, MergedLine,
    PartialMerger, PartialMergerStats, Stream,
};
pub use journal::{
    journalctl_args, parse_journal_entry, JournalEntry, JournalError, JournalctlArgs,
};
pub use multiline::{Multiline, MultilineRule, MultilineStats, DEFAULT_MAX_BYTES};
pub use nginx::{nginx_log_formats, NginxFormat};

/// A log format [`parse`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per line.
    Json,
    /// `key=value` pairs.
    Logfmt,
    /// BSD syslog (RFC 3164), with or without `<PRI>`.
    Syslog3164,
    /// IETF syslog (RFC 5424).
    Syslog5424,
    /// Common / Combined Log Format (nginx, Apache).
    AccessLog,
    /// Anything else: the line is the body.
    Plain,
    /// A MySQL/MariaDB slow-query-log record (multi-line; never autodetected).
    MysqlSlow,
    /// A PostgreSQL stderr log record, prefix `%m [%p] %q%u@%d ` (never autodetected).
    Postgresql,
    /// A PostgreSQL csvlog record (multi-line when a quoted field holds newlines, see
    /// [`MultilineRule::CsvQuotes`]; never autodetected).
    PostgresqlCsv,
    /// An nginx access log line written with a custom `log_format` (never autodetected). It
    /// needs the format: lines are parsed with [`NginxFormat::parse`]; [`parse`] with
    /// [`Parser::Fixed`] of this format cannot and always gives [`Format::Plain`].
    NginxCustom,
}

impl Format {
    /// Every format, in detection order.
    pub const ALL: [Format; 6] = [
        Format::Json,
        Format::Syslog5424,
        Format::Syslog3164,
        Format::AccessLog,
        Format::Logfmt,
        Format::Plain,
    ];

    /// Formats only used when named ([`Parser::Fixed`]), never by autodetection.
    pub const NAMED_ONLY: [Format; 4] = [
        Format::MysqlSlow,
        Format::Postgresql,
        Format::PostgresqlCsv,
        Format::NginxCustom,
    ];

    /// A stable snake_case name: `json`, `logfmt`, `syslog3164`, `syslog5424`, `access_log`,
    /// `plain`, `mysql_slow`, `postgresql`, `postgresql_csv`, `nginx`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Logfmt => "logfmt",
            Format::Syslog3164 => "syslog3164",
            Format::Syslog5424 => "syslog5424",
            Format::AccessLog => "access_log",
            Format::Plain => "plain",
            Format::MysqlSlow => "mysql_slow",
            Format::Postgresql => "postgresql",
            Format::PostgresqlCsv => "postgresql_csv",
            Format::NginxCustom => "nginx",
        }
    }

    /// The format named by [`Format::as_str`].
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .chain(Format::NAMED_ONLY)
            .find(|f| f.as_str() == name)
    }
}

/// How [`parse`] chooses a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    /// Detect it (see the crate documentation for the rules).
    Auto,
    /// Use this one; a line it cannot parse becomes [`Format::Plain`].
    Fixed(Format),
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// A list (JSON arrays).
    Array(Vec<Value>),
    /// A map (JSON objects nested too deep, or JSON message bodies).
    Map(Vec<(String, Value)>),
}

impl Value {
    /// The OTLP form.
    pub fn to_any_value(&self) -> AnyValue {
        use any_value::Value as V;
        let v = match self {
            Value::Str(s) => V::StringValue(s.clone()),
            Value::Int(i) => V::IntValue(*i),
            Value::Double(d) => V::DoubleValue(*d),
            Value::Bool(b) => V::BoolValue(*b),
            Value::Array(a) => V::ArrayValue(ArrayValue {
                values: a.iter().map(Value::to_any_value).collect(),
            }),
            Value::Map(m) => V::KvlistValue(KeyValueList {
                values: key_values(m),
            }),
        };
        AnyValue { value: Some(v) }
    }
}

fn key_values(pairs: &[(String, Value)]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(v.to_any_value()),
            ..Default::default()
        })
        .collect()
}

/// A log record's body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Text: the message, or the whole line.
    Str(String),
    /// A structured message (a JSON `msg` that is not a string).
    Value(Value),
}

impl Body {
    /// The body as text when it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Body::Str(s) => Some(s),
            Body::Value(Value::Str(s)) => Some(s),
            Body::Value(_) => None,
        }
    }
}

/// What [`parse`] found in one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The format that parsed the line.
    pub format: Format,
    /// When the event happened, if the line says.
    pub timestamp_nanos: Option<u64>,
    /// OTel severity number and the severity text as written (`"WARN"`, `"info"`).
    pub severity: Option<(i32, String)>,
    /// The message.
    pub body: Body,
    /// Everything else, in the line's order (JSON: key order).
    pub attributes: Vec<(String, Value)>,
}

impl Parsed {
    /// Looks up an attribute.
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The OTLP log record; `observed_nanos` is when the agent read the line. A line without a
    /// timestamp gets `time_unix_nano` 0 (unknown), as OTLP specifies.
    pub fn to_log_record(&self, observed_nanos: u64) -> LogRecord {
        let (severity_number, severity_text) = match &self.severity {
            Some((n, t)) => (*n, t.clone()),
            None => (0, String::new()),
        };
        let body = match &self.body {
            Body::Str(s) => Value::Str(s.clone()).to_any_value(),
            Body::Value(v) => v.to_any_value(),
        };
        LogRecord {
            time_unix_nano: self.timestamp_nanos.unwrap_or(0),
            observed_time_unix_nano: observed_nanos,
            severity_number,
            severity_text,
            body: Some(body),
            attributes: key_values(&self.attributes),
            ..Default::default()
        }
    }
}

impl Parsed {
    /// [`Parsed::to_log_record`] without copying: the body and attributes are moved.
    pub fn into_log_record(self, observed_nanos: u64) -> LogRecord {
        let (severity_number, severity_text) = self.severity.unwrap_or((0, String::new()));
        let body = match self.body {
            Body::Str(s) => AnyValue {
                value: Some(any_value::Value::StringValue(s)),
            },
            Body::Value(v) => v.to_any_value(),
        };
        LogRecord {
            time_unix_nano: self.timestamp_nanos.unwrap_or(0),
            observed_time_unix_nano: observed_nanos,
            severity_number,
            severity_text,
            body: Some(body),
            attributes: self
                .attributes
                .into_iter()
                .map(|(k, v)| KeyValue {
                    value: Some(v.into_any_value()),
                    key: k,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }
}

impl Value {
    /// [`Value::to_any_value`] without copying.
    pub fn into_any_value(self) -> AnyValue {
        use any_value::Value as V;
        let v = match self {
            Value::Str(s) => V::StringValue(s),
            Value::Int(i) => V::IntValue(i),
            Value::Double(d) => V::DoubleValue(d),
            Value::Bool(b) => V::BoolValue(b),
            Value::Array(a) => V::ArrayValue(ArrayValue {
                values: a.into_iter().map(Value::into_any_value).collect(),
            }),
            Value::Map(m) => V::KvlistValue(KeyValueList {
                values: m
                    .into_iter()
                    .map(|(k, v)| KeyValue {
                        value: Some(v.into_any_value()),
                        key: k,
                        ..Default::default()
                    })
                    .collect(),
            }),
        };
        AnyValue { value: Some(v) }
    }
}

/// Parses one line (or joined record); never fails. See the crate documentation for the rules.
/// Reads the wall clock only to place BSD syslog timestamps in a year.
pub fn parse(line: &str, parser: Parser) -> Parsed {
    parse_at(line, parser, lookout_model::now_nanos())
}

/// [`parse`] with the current time given (for the year of BSD syslog timestamps).
pub fn parse_at(line: &str, parser: Parser, now_nanos: u64) -> Parsed {
    let line = line.trim_end_matches(['\n', '\r']);
    let parsed = match parser {
        Parser::Auto => Format::ALL
            .into_iter()
            .find_map(|f| try_format(line, f, true, now_nanos)),
        Parser::Fixed(f) => try_format(line, f, false, now_nanos),
    };
    parsed.unwrap_or_else(|| plain::parse(line, now_nanos))
}

fn try_format(line: &str, format: Format, auto: bool, now: u64) -> Option<Parsed> {
    match format {
        Format::Json => json::parse(line),
        Format::Syslog5424 => syslog::parse_5424(line),
        Format::Syslog3164 => syslog::parse_3164(line, auto, now),
        Format::AccessLog => access::parse(line),
        Format::Logfmt => logfmt::parse(line, auto),
        Format::Plain => Some(plain::parse(line, now)),
        Format::MysqlSlow => services::mysql_slow(line),
        Format::Postgresql => services::postgresql(line),
        Format::PostgresqlCsv => services::postgresql_csv(line),
        // Needs a compiled format: `NginxFormat::parse`.
        Format::NginxCustom => None,
    }
}

/// The fuzz body (`fuzz/fuzz_targets/logparse.rs`): the bytes, decoded as lossy UTF-8, are parsed
/// with [`Parser::Auto`] and every [`Parser::Fixed`] format, converted to OTLP records, and fed
/// line by line to a [`Multiline`] with [`MultilineRule::Auto`] and a small byte bound. The raw
/// bytes, whole and line by line, also go to [`parse_journal_entry`]; line by line to
/// [`parse_docker_line`], whose records pass through a [`PartialMerger`] with a small byte bound
/// (then flushed); and whole to [`parse_container_config`] (with
/// [`ContainerMeta::resource_attributes`]). The text is also joined by
/// [`MultilineRule::CsvQuotes`] into records parsed as [`Format::PostgresqlCsv`]; split at its
/// first newline into an nginx format, compiled with [`NginxFormat::compile`], and lines parsed
/// with it when it compiles; and read by [`nginx_log_formats`], whose first formats are compiled
/// and applied to the first lines. Nothing may panic.
pub fn fuzz_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let now = 1_704_164_645_000_000_000;
    let p = parse_at(&text, Parser::Auto, now);
    let _ = p.to_log_record(now);
    for f in Format::ALL.into_iter().chain(Format::NAMED_ONLY) {
        let p = parse_at(&text, Parser::Fixed(f), now);
        let _ = p.to_log_record(now);
    }
    for rule in [MultilineRule::MysqlSlow, MultilineRule::Postgresql] {
        let mut m = Multiline::new(rule).with_max_bytes(256);
        for line in text.split('\n') {
            let _ = m.push(line, now);
        }
        let _ = m.flush();
    }
    let mut m = Multiline::new(MultilineRule::Auto).with_max_bytes(256);
    for (i, line) in text.split('\n').enumerate() {
        let t = now + i as u64 * 1_000_000;
        if let Some(rec) = m.push(line, t) {
            let _ = parse_at(&rec, Parser::Auto, now);
        }
        let _ = m.flush_due(t, 50_000_000);
    }
    let _ = m.flush();
    let _ = m.stats();

    let mut m = Multiline::new(MultilineRule::CsvQuotes).with_max_bytes(256);
    for line in text.split('\n') {
        if let Some(rec) = m.push(line, now) {
            let _ = parse_at(&rec, Parser::Fixed(Format::PostgresqlCsv), now).to_log_record(now);
        }
    }
    if let Some(rec) = m.flush() {
        let _ = parse_at(&rec, Parser::Fixed(Format::PostgresqlCsv), now).to_log_record(now);
    }
    if let Some((format, lines)) = text.split_once('\n') {
        if let Ok(f) = NginxFormat::compile(format) {
            for line in lines.split('\n') {
                if let Some(p) = f.parse(line) {
                    let _ = p.to_log_record(now);
                }
            }
        }
    }
    for (_, format) in nginx_log_formats(&text).iter().take(4) {
        if let Ok(f) = NginxFormat::compile(format) {
            for line in text.split('\n').take(8) {
                let _ = f.parse(line);
            }
        }
    }

    let _ = parse_journal_entry(data, now);
    let mut merger = PartialMerger::new(64);
    for line in data.split(|&b| b == b'\n') {
        let _ = parse_journal_entry(line, now);
        if let Ok(l) = parse_docker_line(line) {
            let _ = merger.push(l);
        }
    }
    let _ = merger.flush();
    let _ = merger.stats();
    if let Ok(meta) = parse_container_config(data) {
        let _ = meta.resource_attributes();
    }
}

#[cfg(test)]
mod tests;
