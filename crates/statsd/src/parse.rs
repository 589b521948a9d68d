//! The StatsD / DogStatsD line parser: one line of a datagram in, a borrowed [`Line`] out.
//!
//! Grammar (DogStatsD, protocol v1.3):
//!
//! - metric: `name:value[:value…]|type[|@rate][|#tags][|c:container-id][|e:…][|card:…][|T<unix s>]`
//! - event: `_e{<title bytes>,<text bytes>}:title|text[|d:ts][|h:host][|k:key][|p:prio][|s:src][|t:alert][|#tags]`
//! - service check: `_sc|name|status[|d:ts][|h:host][|#tags][|m:message]`
//!
//! See the crate documentation for the exact rules.

use crate::inline::InlineVec;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::fmt;

/// Splits a datagram into its lines (on `\n`), skipping empty ones (and ones that are only `\r`).
/// The lines are not stripped: [`parse_line`] drops a trailing `\r` itself.
pub fn lines(datagram: &[u8]) -> impl Iterator<Item = &[u8]> {
    Lines { rest: datagram }.filter(|l| !l.is_empty() && *l != b"\r")
}

/// `\n`-separated pieces, found with a vectorised byte search.
struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        match memchr::memchr(b'\n', self.rest) {
            Some(i) => {
                let (line, rest) = self.rest.split_at(i);
                self.rest = rest.get(1..).unwrap_or(&[]);
                Some(line)
            }
            None => Some(std::mem::take(&mut self.rest)),
        }
    }
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub enum Line<'a> {
    /// A metric sample (`name:value|type…`).
    Metric(MetricLine<'a>),
    /// An event (`_e{…}`).
    Event(EventLine<'a>),
    /// A service check (`_sc|…`).
    ServiceCheck(ServiceCheckLine<'a>),
}

/// The StatsD metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// `c`: a counter.
    Counter,
    /// `g`: a gauge.
    Gauge,
    /// `ms`: a timer.
    Timer,
    /// `h`: a histogram.
    Histogram,
    /// `s`: a set (count of distinct values).
    Set,
    /// `d`: a distribution.
    Distribution,
}

impl MetricKind {
    /// The type as written on the wire: `c`, `g`, `ms`, `h`, `s` or `d`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "c",
            MetricKind::Gauge => "g",
            MetricKind::Timer => "ms",
            MetricKind::Histogram => "h",
            MetricKind::Set => "s",
            MetricKind::Distribution => "d",
        }
    }

    /// The kind for a wire type, if it is one of the six.
    pub fn from_wire(s: &str) -> Option<Self> {
        Some(match s {
            "c" => MetricKind::Counter,
            "g" => MetricKind::Gauge,
            "ms" => MetricKind::Timer,
            "h" => MetricKind::Histogram,
            "s" => MetricKind::Set,
            "d" => MetricKind::Distribution,
            _ => return None,
        })
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value of a gauge line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GaugeValue {
    /// A plain value: the gauge becomes this.
    Set(f64),
    /// A value written with a leading `+` or `-`: the gauge moves by this much.
    Delta(f64),
}

impl Default for GaugeValue {
    fn default() -> Self {
        GaugeValue::Set(0.0)
    }
}

impl GaugeValue {
    /// The number as written (the delta itself for a delta).
    pub fn number(self) -> f64 {
        match self {
            GaugeValue::Set(v) | GaugeValue::Delta(v) => v,
        }
    }
}

/// The numbers of a counter, timer, histogram or distribution line; inline up to 4 values.
pub type Numbers = InlineVec<f64, 4>;

/// The values of a gauge line; inline up to 2 values.
pub type GaugeValues = InlineVec<GaugeValue, 2>;

/// The value(s) of a metric line.
#[derive(Debug, Clone, PartialEq)]
pub enum Values<'a> {
    /// Counter, timer, histogram and distribution values (packed values in order).
    Numbers(Numbers),
    /// Gauge values (packed values in order).
    Gauge(GaugeValues),
    /// The member of a set, verbatim (it may contain `:`).
    Set(&'a str),
}

impl Values<'_> {
    /// Number of values (1 for a set).
    pub fn len(&self) -> usize {
        match self {
            Values::Numbers(n) => n.len(),
            Values::Gauge(g) => g.len(),
            Values::Set(_) => 1,
        }
    }

    /// True when there is no value (never the case for a parsed line).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The raw tag list of a line (the text after `#`), iterated lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tags<'a>(pub &'a str);

impl<'a> Tags<'a> {
    /// The tags as `(key, value)`: `key:value` splits on the first `:`, a bare tag gives
    /// `(tag, "")`. Empty tags and tags with an empty key (`:v`) are skipped. Duplicates are
    /// kept in order (the aggregator keeps the last value of a key).
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        SplitByte::new(self.0, b',')
            .map(|t| split1(t, b':').unwrap_or((t, "")))
            .filter(|(k, _)| !k.is_empty())
    }

    /// The raw comma-separated text.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// True when no tag is present.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

/// A metric line.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine<'a> {
    /// The metric name (before the first `:`), never empty.
    pub name: &'a str,
    /// The type.
    pub kind: MetricKind,
    /// The value(s).
    pub values: Values<'a>,
    /// The `@` sample rate, in (0, 1]; 1.0 when absent.
    pub sample_rate: f64,
    /// The `#` tags (the last `#` field when repeated).
    pub tags: Tags<'a>,
    /// The `c:` container id, when present and non-empty.
    pub container_id: Option<&'a str>,
    /// The `T` timestamp, Unix seconds (> 0).
    pub timestamp: Option<u64>,
}

/// An event's priority (`p:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// `normal` (the default).
    #[default]
    Normal,
    /// `low`.
    Low,
}

impl Priority {
    /// `normal` or `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

/// An event's alert type (`t:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertType {
    /// `error`.
    Error,
    /// `warning`.
    Warning,
    /// `info` (the default).
    #[default]
    Info,
    /// `success`.
    Success,
}

impl AlertType {
    /// `error`, `warning`, `info` or `success`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::Error => "error",
            AlertType::Warning => "warning",
            AlertType::Info => "info",
            AlertType::Success => "success",
        }
    }
}

/// An event line.
#[derive(Debug, Clone, PartialEq)]
pub struct EventLine<'a> {
    /// The title (never empty); `\n` (backslash, n) is turned into a newline.
    pub title: Cow<'a, str>,
    /// The text; `\n` (backslash, n) is turned into a newline.
    pub text: Cow<'a, str>,
    /// `d:` Unix seconds (> 0; an unparsable value is ignored).
    pub timestamp: Option<u64>,
    /// `h:` hostname (non-empty).
    pub hostname: Option<&'a str>,
    /// `k:` aggregation key (non-empty).
    pub aggregation_key: Option<&'a str>,
    /// `p:` priority (an unknown value is ignored).
    pub priority: Priority,
    /// `s:` source type name (non-empty).
    pub source_type: Option<&'a str>,
    /// `t:` alert type (an unknown value is ignored).
    pub alert_type: AlertType,
    /// `#` tags.
    pub tags: Tags<'a>,
}

/// A service check line.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCheckLine<'a> {
    /// The check name (never empty).
    pub name: &'a str,
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub status: u8,
    /// `d:` Unix seconds (> 0; an unparsable value is ignored).
    pub timestamp: Option<u64>,
    /// `h:` hostname (non-empty).
    pub hostname: Option<&'a str>,
    /// `#` tags.
    pub tags: Tags<'a>,
    /// `m:` message: everything after `m:` to the end of the line, `|` included, except
    /// trailing `|c:`, `|e:` and `|card:` origin fields that clients append after it.
    pub message: Option<&'a str>,
}

/// The text of a service check status: `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`.
pub fn status_text(status: u8) -> &'static str {
    match status {
        0 => "OK",
        1 => "WARNING",
        2 => "CRITICAL",
        _ => "UNKNOWN",
    }
}

/// What was wrong with a line (see [`ParseError::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// `empty_line`: nothing to parse.
    EmptyLine,
    /// `invalid_utf8`: the line is not UTF-8.
    InvalidUtf8,
    /// `missing_value`: no `:` between name and value.
    MissingValue,
    /// `missing_type`: no `|type` (or an empty one).
    MissingType,
    /// `unknown_type`: a type other than c, g, ms, h, s, d.
    UnknownType,
    /// `empty_name`: nothing before the `:`.
    EmptyName,
    /// `bad_value`: an empty value or one that is not a finite number.
    BadValue,
    /// `bad_sample_rate`: `@` not followed by a number in (0, 1].
    BadSampleRate,
    /// `bad_timestamp`: `T` not followed by a positive integer.
    BadTimestamp,
    /// `bad_event`: a malformed `_e{…}` line.
    BadEvent,
    /// `bad_service_check`: a malformed `_sc|…` line.
    BadServiceCheck,
}

impl ParseErrorKind {
    /// The stable snake_case reason (a counter label).
    pub fn as_str(self) -> &'static str {
        match self {
            ParseErrorKind::EmptyLine => "empty_line",
            ParseErrorKind::InvalidUtf8 => "invalid_utf8",
            ParseErrorKind::MissingValue => "missing_value",
            ParseErrorKind::MissingType => "missing_type",
            ParseErrorKind::UnknownType => "unknown_type",
            ParseErrorKind::EmptyName => "empty_name",
            ParseErrorKind::BadValue => "bad_value",
            ParseErrorKind::BadSampleRate => "bad_sample_rate",
            ParseErrorKind::BadTimestamp => "bad_timestamp",
            ParseErrorKind::BadEvent => "bad_event",
            ParseErrorKind::BadServiceCheck => "bad_service_check",
        }
    }

    /// Every kind, for pre-registering counters.
    pub const ALL: [ParseErrorKind; 11] = [
        ParseErrorKind::EmptyLine,
        ParseErrorKind::InvalidUtf8,
        ParseErrorKind::MissingValue,
        ParseErrorKind::MissingType,
        ParseErrorKind::UnknownType,
        ParseErrorKind::EmptyName,
        ParseErrorKind::BadValue,
        ParseErrorKind::BadSampleRate,
        ParseErrorKind::BadTimestamp,
        ParseErrorKind::BadEvent,
        ParseErrorKind::BadServiceCheck,
    ];
}

/// Why a line was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    message: String,
}

impl ParseError {
    fn new(kind: ParseErrorKind, message: String) -> Self {
        Self { kind, message }
    }

    /// The stable snake_case reason, usable as a counter label: `empty_line`, `invalid_utf8`,
    /// `missing_value`, `missing_type`, `unknown_type`, `empty_name`, `bad_value`,
    /// `bad_sample_rate`, `bad_timestamp`, `bad_event` or `bad_service_check`.
    pub fn reason(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The kind of error.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Splits on the first occurrence of the ASCII byte `sep` (a plain byte scan: faster than the
/// `str` pattern machinery on the short pieces of a line).
#[inline]
fn split1(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = memchr::memchr(sep, s.as_bytes())?;
    // An ASCII byte is always a character boundary.
    Some((s.get(..i).unwrap_or(""), s.get(i + 1..).unwrap_or("")))
}

/// Splits on every occurrence of the ASCII byte `sep`, like `str::split`.
struct SplitByte<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> SplitByte<'a> {
    fn new(s: &'a str, sep: u8) -> Self {
        Self { rest: Some(s), sep }
    }
}

impl<'a> Iterator for SplitByte<'a> {
    type Item = &'a str;
    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        match split1(s, self.sep) {
            Some((item, rest)) => {
                self.rest = Some(rest);
                Some(item)
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }
}

/// Quotes (a prefix of) an offending part for an error message.
fn q(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return format!("{s:?}");
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}…", s.get(..end).unwrap_or(""))
}

fn err<T>(kind: ParseErrorKind, message: String) -> Result<T, ParseError> {
    Err(ParseError::new(kind, message))
}

/// Parses one line (a trailing `\r` is ignored). Borrows from `line`; allocates only for
/// metric lines with more than 4 packed values, event texts containing `\n` escapes, and errors.
pub fn parse_line(line: &[u8]) -> Result<Line<'_>, ParseError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let s = match std::str::from_utf8(line) {
        Ok(s) => s,
        Err(e) => {
            return err(
                ParseErrorKind::InvalidUtf8,
                format!(
                    "line is not valid UTF-8 (bad byte at offset {})",
                    e.valid_up_to()
                ),
            )
        }
    };
    if s.is_empty() {
        return err(ParseErrorKind::EmptyLine, "empty line".to_string());
    }
    if s.starts_with("_e{") {
        parse_event(s).map(Line::Event)
    } else if s.starts_with("_sc") {
        parse_service_check(s).map(Line::ServiceCheck)
    } else {
        parse_metric(s).map(Line::Metric)
    }
}

/// Parses a plain decimal number, with a fast path for short integers.
fn parse_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, b.get(1..).unwrap_or(&[])),
        _ => (false, b),
    };
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let mut v: u64 = 0;
        for d in digits {
            v = v * 10 + u64::from(d - b'0');
        }
        // < 10^15 < 2^53: exact
        let v = v as f64;
        return Some(if neg { -v } else { v });
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// A strictly positive decimal integer made only of ASCII digits.
fn parse_positive_int(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|&v| v > 0)
}

fn parse_metric(s: &str) -> Result<MetricLine<'_>, ParseError> {
    let (head, rest) = match split1(s, b'|') {
        Some((h, r)) => (h, Some(r)),
        None => (s, None),
    };
    let Some((name, raw_values)) = split1(head, b':') else {
        return err(
            ParseErrorKind::MissingValue,
            format!("no ':' between metric name and value in {}", q(head)),
        );
    };
    if name.is_empty() {
        return err(
            ParseErrorKind::EmptyName,
            "empty metric name before ':'".to_string(),
        );
    }
    let Some(rest) = rest else {
        return err(
            ParseErrorKind::MissingType,
            format!("no '|type' after the value of {}", q(name)),
        );
    };
    let (ty, mut fields) = match split1(rest, b'|') {
        Some((t, f)) => (t, Some(f)),
        None => (rest, None),
    };
    let Some(kind) = MetricKind::from_wire(ty) else {
        if ty.is_empty() {
            return err(
                ParseErrorKind::MissingType,
                format!("empty metric type for {}", q(name)),
            );
        }
        return err(
            ParseErrorKind::UnknownType,
            format!(
                "unknown metric type {} for {} (expected c, g, ms, h, s or d)",
                q(ty),
                q(name)
            ),
        );
    };
    let values = parse_values(kind, name, raw_values)?;
    let mut line = MetricLine {
        name,
        kind,
        values,
        sample_rate: 1.0,
        tags: Tags(""),
        container_id: None,
        timestamp: None,
    };
    while let Some(f) = fields {
        let (field, next) = match split1(f, b'|') {
            Some((a, b)) => (a, Some(b)),
            None => (f, None),
        };
        fields = next;
        match field.as_bytes().first() {
            Some(b'@') => {
                let raw = field.get(1..).unwrap_or("");
                match raw.parse::<f64>() {
                    Ok(r) if r > 0.0 && r <= 1.0 && (1.0 / r).is_finite() => line.sample_rate = r,
                    _ => {
                        return err(
                            ParseErrorKind::BadSampleRate,
                            format!(
                                "sample rate {} of {} is not a number in (0, 1]",
                                q(raw),
                                q(name)
                            ),
                        )
                    }
                }
            }
            Some(b'#') => line.tags = Tags(field.get(1..).unwrap_or("")),
            Some(b'T') => {
                let raw = field.get(1..).unwrap_or("");
                match parse_positive_int(raw) {
                    Some(ts) => line.timestamp = Some(ts),
                    None => {
                        return err(
                            ParseErrorKind::BadTimestamp,
                            format!(
                                "timestamp {} of {} is not a positive integer",
                                q(field),
                                q(name)
                            ),
                        )
                    }
                }
            }
            _ => {
                if let Some(cid) = field.strip_prefix("c:") {
                    line.container_id = (!cid.is_empty()).then_some(cid);
                }
                // `e:` (external data), `card:` (cardinality) and unknown fields: skipped.
            }
        }
    }
    Ok(line)
}

fn parse_values<'a>(kind: MetricKind, name: &str, raw: &'a str) -> Result<Values<'a>, ParseError> {
    let bad = |item: &str| {
        err(
            ParseErrorKind::BadValue,
            format!("value {} of {} is not a finite number", q(item), q(name)),
        )
    };
    let empty = || {
        err(
            ParseErrorKind::BadValue,
            format!("empty value for {}", q(name)),
        )
    };
    match kind {
        MetricKind::Set => {
            if raw.is_empty() {
                return empty();
            }
            Ok(Values::Set(raw))
        }
        MetricKind::Gauge => {
            let mut out = GaugeValues::new();
            for item in SplitByte::new(raw, b':').filter(|i| !i.is_empty()) {
                let Some(v) = parse_number(item) else {
                    return bad(item);
                };
                out.push(if item.starts_with(['+', '-']) {
                    GaugeValue::Delta(v)
                } else {
                    GaugeValue::Set(v)
                });
            }
            if out.is_empty() {
                return empty();
            }
            Ok(Values::Gauge(out))
        }
        _ => {
            let mut out = Numbers::new();
            for item in SplitByte::new(raw, b':').filter(|i| !i.is_empty()) {
                let Some(v) = parse_number(item) else {
                    return bad(item);
                };
                out.push(v);
            }
            if out.is_empty() {
                return empty();
            }
            Ok(Values::Numbers(out))
        }
    }
}

/// Turns the two-byte sequence `\n` into a newline, borrowing when there is none.
fn unescape(s: &str) -> Cow<'_, str> {
    if s.contains("\\n") {
        Cow::Owned(s.replace("\\n", "\n"))
    } else {
        Cow::Borrowed(s)
    }
}

fn parse_length(raw: &str, what: &str) -> Result<usize, ParseError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return err(
            ParseErrorKind::BadEvent,
            format!(
                "event {what} length {} is not a non-negative integer",
                q(raw)
            ),
        );
    }
    raw.parse::<usize>().or_else(|_| {
        err(
            ParseErrorKind::BadEvent,
            format!("event {what} length {} is too large", q(raw)),
        )
    })
}

fn parse_event(s: &str) -> Result<EventLine<'_>, ParseError> {
    let bad = |m: String| err(ParseErrorKind::BadEvent, m);
    let after_brace = s.get(3..).unwrap_or("");
    let Some((header, body)) = after_brace.split_once("}:") else {
        return bad("event header is not closed by '}:'".to_string());
    };
    let Some((raw_tl, raw_xl)) = header.split_once(',') else {
        return bad(format!(
            "event header {} is not '<title length>,<text length>'",
            q(header)
        ));
    };
    let tl = parse_length(raw_tl, "title")?;
    let xl = parse_length(raw_xl, "text")?;
    let Some(end) = tl.checked_add(1).and_then(|n| n.checked_add(xl)) else {
        return bad("event lengths overflow".to_string());
    };
    if end > body.len() {
        return bad(format!(
            "event lengths {tl}+{xl} exceed the {} bytes after the header",
            body.len()
        ));
    }
    if tl == 0 {
        return bad("empty event title".to_string());
    }
    let Some(raw_title) = body.get(..tl) else {
        return bad(format!("event title length {tl} splits a character"));
    };
    if body.as_bytes().get(tl) != Some(&b'|') {
        return bad(format!(
            "event title length {tl} is not followed by '|' (title {})",
            q(raw_title)
        ));
    }
    let Some(raw_text) = body.get(tl + 1..end) else {
        return bad(format!("event text length {xl} splits a character"));
    };
    let rest = body.get(end..).unwrap_or("");
    let fields = if rest.is_empty() {
        None
    } else if let Some(f) = rest.strip_prefix('|') {
        Some(f)
    } else {
        return bad(format!(
            "event text length {xl} is not followed by '|' or the end of the line (text {})",
            q(raw_text)
        ));
    };
    let mut ev = EventLine {
        title: unescape(raw_title),
        text: unescape(raw_text),
        timestamp: None,
        hostname: None,
        aggregation_key: None,
        priority: Priority::Normal,
        source_type: None,
        alert_type: AlertType::Info,
        tags: Tags(""),
    };
    for field in fields.into_iter().flat_map(|f| f.split('|')) {
        if let Some(v) = field.strip_prefix("d:") {
            if let Some(ts) = parse_positive_int(v) {
                ev.timestamp = Some(ts);
            }
        } else if let Some(v) = field.strip_prefix("h:") {
            ev.hostname = (!v.is_empty()).then_some(v);
        } else if let Some(v) = field.strip_prefix("k:") {
            ev.aggregation_key = (!v.is_empty()).then_some(v);
        } else if let Some(v) = field.strip_prefix("p:") {
            match v {
                "normal" => ev.priority = Priority::Normal,
                "low" => ev.priority = Priority::Low,
                _ => {}
            }
        } else if let Some(v) = field.strip_prefix("s:") {
            ev.source_type = (!v.is_empty()).then_some(v);
        } else if let Some(v) = field.strip_prefix("t:") {
            match v {
                "error" => ev.alert_type = AlertType::Error,
                "warning" => ev.alert_type = AlertType::Warning,
                "info" => ev.alert_type = AlertType::Info,
                "success" => ev.alert_type = AlertType::Success,
                _ => {}
            }
        } else if let Some(v) = field.strip_prefix('#') {
            ev.tags = Tags(v);
        }
    }
    Ok(ev)
}

fn parse_service_check(s: &str) -> Result<ServiceCheckLine<'_>, ParseError> {
    let bad = |m: String| err(ParseErrorKind::BadServiceCheck, m);
    let Some(rest) = s.strip_prefix("_sc|") else {
        return bad(format!("service check {} does not start with '_sc|'", q(s)));
    };
    let (name, rest) = rest.split_once('|').unwrap_or((rest, ""));
    if name.is_empty() {
        return bad("empty service check name".to_string());
    }
    let (raw_status, mut fields) = match rest.split_once('|') {
        Some((st, f)) => (st, Some(f)),
        None => (rest, None),
    };
    let status = match raw_status.parse::<u8>() {
        Ok(st) if st <= 3 && raw_status.bytes().all(|b| b.is_ascii_digit()) => st,
        _ => {
            return bad(format!(
                "service check {} status {} is not 0, 1, 2 or 3",
                q(name),
                q(raw_status)
            ))
        }
    };
    let mut sc = ServiceCheckLine {
        name,
        status,
        timestamp: None,
        hostname: None,
        tags: Tags(""),
        message: None,
    };
    while let Some(f) = fields {
        if let Some(mut m) = f.strip_prefix("m:") {
            // clients append origin fields after the message (the official Datadog client
            // writes `|m:text|c:<container id>`): strip trailing `|c:`, `|e:` and `|card:`
            // segments; any other `|` belongs to the message
            while let Some((head, last)) = m.rsplit_once('|') {
                if ["c:", "e:", "card:"].iter().any(|p| last.starts_with(p)) {
                    m = head;
                } else {
                    break;
                }
            }
            sc.message = Some(m);
            break;
        }
        let (field, next) = match f.split_once('|') {
            Some((a, b)) => (a, Some(b)),
            None => (f, None),
        };
        fields = next;
        if let Some(v) = field.strip_prefix("d:") {
            if let Some(ts) = parse_positive_int(v) {
                sc.timestamp = Some(ts);
            }
        } else if let Some(v) = field.strip_prefix("h:") {
            sc.hostname = (!v.is_empty()).then_some(v);
        } else if let Some(v) = field.strip_prefix('#') {
            sc.tags = Tags(v);
        }
    }
    Ok(sc)
}

fn tags_json(tags: &Tags<'_>) -> Value {
    let mut m = Map::new();
    for (k, v) in tags.iter() {
        m.insert(k.to_string(), Value::String(v.to_string()));
    }
    Value::Object(m)
}

impl Line<'_> {
    /// The JSON object `lookout statsd parse` prints for this line.
    ///
    /// - metric: `{"type":"metric","name","kind","values","sample_rate","tags","container_id",
    ///   "timestamp"}`; `values` holds numbers, a gauge delta as `{"delta": d}`, a set member as
    ///   a string;
    /// - event: `{"type":"event","title","text","timestamp","hostname","aggregation_key",
    ///   "priority","source_type","alert_type","tags"}`;
    /// - service check: `{"type":"service_check","name","status","status_text","timestamp",
    ///   "hostname","tags","message"}`.
    ///
    /// `tags` is an object (a bare tag maps to `""`; for a repeated key the last value shows);
    /// absent optional fields are `null`.
    pub fn to_json(&self) -> Value {
        match self {
            Line::Metric(m) => {
                let values: Vec<Value> = match &m.values {
                    Values::Numbers(n) => n.iter().map(|&v| json!(v)).collect(),
                    Values::Gauge(g) => g
                        .iter()
                        .map(|v| match *v {
                            GaugeValue::Set(v) => json!(v),
                            GaugeValue::Delta(d) => json!({ "delta": d }),
                        })
                        .collect(),
                    Values::Set(s) => vec![json!(s)],
                };
                json!({
                    "type": "metric",
                    "name": m.name,
                    "kind": m.kind.as_str(),
                    "values": values,
                    "sample_rate": m.sample_rate,
                    "tags": tags_json(&m.tags),
                    "container_id": m.container_id,
                    "timestamp": m.timestamp,
                })
            }
            Line::Event(e) => json!({
                "type": "event",
                "title": e.title,
                "text": e.text,
                "timestamp": e.timestamp,
                "hostname": e.hostname,
                "aggregation_key": e.aggregation_key,
                "priority": e.priority.as_str(),
                "source_type": e.source_type,
                "alert_type": e.alert_type.as_str(),
                "tags": tags_json(&e.tags),
            }),
            Line::ServiceCheck(c) => json!({
                "type": "service_check",
                "name": c.name,
                "status": c.status,
                "status_text": status_text(c.status),
                "timestamp": c.timestamp,
                "hostname": c.hostname,
                "tags": tags_json(&c.tags),
                "message": c.message,
            }),
        }
    }
}

/// The JSON object `lookout statsd parse` prints for a rejected line:
/// `{"error": reason, "message": display, "line": text}` (the line decoded lossily, without a
/// trailing `\r`).
pub fn error_json(line: &[u8], e: &ParseError) -> Value {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    json!({
        "error": e.reason(),
        "message": e.to_string(),
        "line": String::from_utf8_lossy(line),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn metric(s: &str) -> MetricLine<'_> {
        match parse_line(s.as_bytes()).unwrap() {
            Line::Metric(m) => m,
            other => panic!("not a metric: {other:?}"),
        }
    }

    fn reason(s: &[u8]) -> &'static str {
        parse_line(s).unwrap_err().reason()
    }

    #[test]
    fn simple_counter() {
        let m = metric("page.views:1|c");
        assert_eq!(m.name, "page.views");
        assert_eq!(m.kind, MetricKind::Counter);
        assert_eq!(m.values, Values::Numbers([1.0].as_slice().into()));
        assert_eq!(m.sample_rate, 1.0);
        assert!(m.tags.is_empty());
        assert_eq!(m.container_id, None);
        assert_eq!(m.timestamp, None);
    }

    #[test]
    fn all_fields() {
        let m = metric("a.b:1.5:2:-3|ms|@0.5|#env:prod,canary,:x,,k:v:w|c:abc|e:it-x|card:high|T1700000000|zz\r");
        assert_eq!(m.kind, MetricKind::Timer);
        assert_eq!(
            &*match &m.values {
                Values::Numbers(n) => n.to_vec(),
                _ => vec![],
            },
            &[1.5, 2.0, -3.0]
        );
        assert_eq!(m.sample_rate, 0.5);
        let tags: Vec<_> = m.tags.iter().collect();
        assert_eq!(tags, vec![("env", "prod"), ("canary", ""), ("k", "v:w")]);
        assert_eq!(m.container_id, Some("abc"));
        assert_eq!(m.timestamp, Some(1_700_000_000));
    }

    #[test]
    fn gauges_and_sets() {
        let m = metric("g:+5:-2:3:-0|g");
        assert_eq!(
            m.values,
            Values::Gauge(
                vec![
                    GaugeValue::Delta(5.0),
                    GaugeValue::Delta(-2.0),
                    GaugeValue::Set(3.0),
                    GaugeValue::Delta(-0.0)
                ]
                .into()
            )
        );
        let s = metric("users:a:b::c|s");
        assert_eq!(s.values, Values::Set("a:b::c"));
        assert_eq!(reason(b"g:+-5|g"), "bad_value");
        assert_eq!(reason(b"g:++5|g"), "bad_value");
    }

    #[test]
    fn many_packed_values_spill() {
        let m = metric("d:1:2:3:4:5:6|d");
        assert_eq!(m.values.len(), 6);
    }

    #[test]
    fn errors() {
        assert_eq!(reason(b""), "empty_line");
        assert_eq!(reason(b"\xff:1|c"), "invalid_utf8");
        assert_eq!(reason(b"abc"), "missing_value");
        assert_eq!(reason(b"abc|c"), "missing_value");
        assert_eq!(reason(b"abc:1"), "missing_type");
        assert_eq!(reason(b"abc:1|"), "missing_type");
        assert_eq!(reason(b"abc:1|x"), "unknown_type");
        assert_eq!(reason(b":1|c"), "empty_name");
        assert_eq!(reason(b"a:|c"), "bad_value");
        assert_eq!(reason(b"a:nan|c"), "bad_value");
        assert_eq!(reason(b"a:1|c|@0"), "bad_sample_rate");
        assert_eq!(reason(b"a:1|c|@1e-320"), "bad_sample_rate");
        assert_eq!(reason(b"a:1|c|T0"), "bad_timestamp");
        assert_eq!(reason(b"a:1|c|T+5"), "bad_timestamp");
        let e = parse_line(b"abc:1|zz").unwrap_err();
        assert!(e.to_string().contains("\"zz\""), "{e}");
        assert!(e.to_string().contains("\"abc\""), "{e}");
    }

    #[test]
    fn long_offending_parts_are_cut() {
        let line = format!("m:{}|c", "é".repeat(100));
        let e = parse_line(line.as_bytes()).unwrap_err();
        assert_eq!(e.reason(), "bad_value");
        assert!(e.to_string().len() < 150, "{e}");
    }

    #[test]
    fn events() {
        let Line::Event(e) =
            parse_line(b"_e{5,4}:a|b|c|d\\ne|h:x|k:y|p:low|s:src|t:error|d:12|#a:b").unwrap()
        else {
            panic!()
        };
        assert_eq!(e.title, "a|b|c");
        assert_eq!(e.text, "d\ne");
        assert!(matches!(e.text, Cow::Owned(_)));
        assert!(matches!(e.title, Cow::Borrowed(_)));
        assert_eq!(e.hostname, Some("x"));
        assert_eq!(e.aggregation_key, Some("y"));
        assert_eq!(e.priority, Priority::Low);
        assert_eq!(e.source_type, Some("src"));
        assert_eq!(e.alert_type, AlertType::Error);
        assert_eq!(e.timestamp, Some(12));
        assert_eq!(e.tags.iter().collect::<Vec<_>>(), vec![("a", "b")]);
        // multi-byte: lengths are bytes
        let Line::Event(e) = parse_line("_e{2,3}:é|€".as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!((&*e.title, &*e.text), ("é", "€"));
        assert_eq!(reason("_e{1,3}:é|€".as_bytes()), "bad_event");
        assert_eq!(reason(b"_e{0,1}:|x"), "bad_event");
        assert_eq!(reason(b"_e{-1,1}:a|x"), "bad_event");
        assert_eq!(reason(b"_e{1,10}:a|x"), "bad_event");
        assert_eq!(reason(b"_e{1,1}:a|xy"), "bad_event");
        assert_eq!(reason(b"_e{99999999999999999999999,1}:a|x"), "bad_event");
    }

    #[test]
    fn service_checks() {
        let Line::ServiceCheck(c) =
            parse_line(b"_sc|db.up|2|d:7|h:db1|#env:prod|m:down | really").unwrap()
        else {
            panic!()
        };
        assert_eq!(c.name, "db.up");
        assert_eq!(c.status, 2);
        assert_eq!(c.timestamp, Some(7));
        assert_eq!(c.hostname, Some("db1"));
        assert_eq!(c.message, Some("down | really"));
        let Line::ServiceCheck(c) =
            parse_line(b"_sc|app|1|#db:main|m:slow | answers|c:c0ffee|card:low").unwrap()
        else {
            panic!()
        };
        assert_eq!(c.message, Some("slow | answers"));
        assert_eq!(c.tags.as_str(), "db:main");
        assert_eq!(reason(b"_sc|x|4"), "bad_service_check");
        assert_eq!(reason(b"_sc|x"), "bad_service_check");
        assert_eq!(reason(b"_sc||0"), "bad_service_check");
        assert_eq!(reason(b"_sc"), "bad_service_check");
    }

    #[test]
    fn splits_datagrams() {
        let d = b"a:1|c\n\nb:2|c\r\n\r\nc:3|c\n";
        let ls: Vec<&[u8]> = lines(d).collect();
        assert_eq!(ls, vec![&b"a:1|c"[..], b"b:2|c\r", b"c:3|c"]);
        assert!(ls.iter().all(|l| parse_line(l).is_ok()));
    }

    #[test]
    fn json_shapes() {
        let l = parse_line(b"m:1:+2|g|#a:b,c|c:cid|T5").unwrap();
        let j = l.to_json();
        assert_eq!(j["type"], "metric");
        assert_eq!(j["kind"], "g");
        assert_eq!(j["values"], json!([1.0, {"delta": 2.0}]));
        assert_eq!(j["tags"], json!({"a": "b", "c": ""}));
        assert_eq!(j["container_id"], "cid");
        assert_eq!(j["timestamp"], 5);
        let e = parse_line(b"m:x|c").unwrap_err();
        let j = error_json(b"m:x|c\r", &e);
        assert_eq!(j["error"], "bad_value");
        assert_eq!(j["line"], "m:x|c");
        assert!(j["message"].as_str().unwrap().contains("\"x\""));
        let j = parse_line(b"_sc|a|1").unwrap().to_json();
        assert_eq!(j["status_text"], "WARNING");
        assert_eq!(j["message"], Value::Null);
    }
}
