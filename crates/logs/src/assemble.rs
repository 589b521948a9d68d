//! From lines to OpenTelemetry log records: multi-line joining, parsing, attributes, and the
//! offset a source may acknowledge while records are still being joined.

use lookout_config::{LogParserKind, LogSettings, MultilineConfig, NginxParserConfig};
use lookout_logparse::{
    nginx_log_formats, parse_at, Format, Multiline, MultilineRule, NginxFormat, Parser,
};
use lookout_model::otlp::{any_value, AnyValue, KeyValue, LogRecord};

/// The parser a setting names.
pub fn parser_of(k: LogParserKind) -> Parser {
    match k {
        LogParserKind::Auto => Parser::Auto,
        LogParserKind::Json => Parser::Fixed(Format::Json),
        LogParserKind::Logfmt => Parser::Fixed(Format::Logfmt),
        LogParserKind::Syslog3164 => Parser::Fixed(Format::Syslog3164),
        LogParserKind::Syslog5424 => Parser::Fixed(Format::Syslog5424),
        LogParserKind::AccessLog => Parser::Fixed(Format::AccessLog),
        LogParserKind::Plain => Parser::Fixed(Format::Plain),
        LogParserKind::MysqlSlow => Parser::Fixed(Format::MysqlSlow),
        LogParserKind::Postgresql => Parser::Fixed(Format::Postgresql),
        LogParserKind::PostgresqlCsv => Parser::Fixed(Format::PostgresqlCsv),
        // the compiled `log_format` is applied by the `Recorder`; lines it rejects are plain
        LogParserKind::Nginx => Parser::Fixed(Format::Plain),
    }
}

/// The multi-line rule a setting names (regexes were checked when the config was loaded);
/// with `multiline: none`, the service formats bring their own (`mysql_slow`, `postgresql`).
pub fn rule_of(m: &MultilineConfig, parser: LogParserKind) -> Result<MultilineRule, String> {
    let re = |p: &str| regex::Regex::new(p).map_err(|e| format!("multiline pattern: {e}"));
    Ok(match m {
        MultilineConfig::None => match parser {
            LogParserKind::MysqlSlow => MultilineRule::MysqlSlow,
            LogParserKind::Postgresql => MultilineRule::Postgresql,
            LogParserKind::PostgresqlCsv => MultilineRule::CsvQuotes,
            _ => MultilineRule::None,
        },
        MultilineConfig::Auto => MultilineRule::Auto,
        MultilineConfig::Start(p) => MultilineRule::StartPattern(re(p)?),
        MultilineConfig::Continuation(p) => MultilineRule::Continuation(re(p)?),
    })
}

/// A string attribute.
pub fn kv(key: &str, v: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

/// A boolean attribute.
pub fn kv_bool(key: &str, v: bool) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::BoolValue(v)),
        }),
        ..Default::default()
    }
}

/// Turns joined text into a record: parsed with the configured parser, the source's extra
/// attributes appended.
pub struct Recorder {
    parser: Parser,
    nginx: Option<NginxFormat>,
    extra: Vec<KeyValue>,
}

/// The `log_format` `parser: nginx` applies: given, or read by name from the nginx config.
pub fn nginx_format(c: &NginxParserConfig) -> Result<NginxFormat, String> {
    let text = match &c.format {
        Some(f) => f.clone(),
        None => {
            let conf = std::fs::read_to_string(&c.config).map_err(|e| {
                format!(
                    "cannot read the nginx config {}: {e} (or give the format itself: `nginx: {{format: '...'}}`)",
                    c.config.display()
                )
            })?;
            let formats = nginx_log_formats(&conf);
            match formats.iter().find(|(n, _)| *n == c.log_format) {
                Some((_, f)) => f.clone(),
                None => {
                    return Err(format!(
                        "{} has no log_format `{}` (it has: {})",
                        c.config.display(),
                        c.log_format,
                        formats
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            }
        }
    };
    NginxFormat::compile(&text).map_err(|e| format!("nginx log_format `{}`: {e}", c.log_format))
}

impl Recorder {
    /// A recorder for these settings (`parser: nginx` reads and compiles its format now).
    pub fn new(s: &LogSettings) -> Result<Recorder, String> {
        let nginx = match s.parser {
            LogParserKind::Nginx => Some(nginx_format(&s.nginx)?),
            _ => None,
        };
        Ok(Recorder {
            parser: parser_of(s.parser),
            nginx,
            extra: s
                .attributes
                .iter()
                .map(|(k, v)| kv(k, v.as_str()))
                .collect(),
        })
    }

    /// The record of `text` read at `now`, with `attrs` (the record's origin) added.
    pub fn record(&self, text: &str, now: u64, attrs: Vec<KeyValue>) -> LogRecord {
        let parsed = match &self.nginx {
            Some(f) => f
                .parse(text)
                .unwrap_or_else(|| parse_at(text, self.parser, now)),
            None => parse_at(text, self.parser, now),
        };
        let mut r = parsed.into_log_record(now);
        r.attributes.extend(attrs);
        r.attributes.extend(self.extra.iter().cloned());
        r
    }
}

/// One stream of lines (a file, or one output stream of a container) being joined into
/// records, with the offsets needed to acknowledge safely.
#[derive(Debug)]
pub struct Joiner {
    ml: Option<Multiline>,
    /// Where the record being joined began (nothing before it is pending).
    pending_start: Option<u64>,
    /// Just past the last line pushed.
    last_after: u64,
    /// A line of the pending record was cut.
    pending_truncated: bool,
}

/// A record completed by a [`Joiner`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The text (lines joined with `\n`).
    pub text: String,
    /// One of its lines was cut at `max_line_bytes` (or the record at `max_record_bytes`).
    pub truncated: bool,
}

impl Joiner {
    /// A joiner for `rule` (None: every line is a record) bounded to `max_bytes` per record.
    pub fn new(rule: &MultilineRule, max_bytes: usize) -> Joiner {
        let ml = match rule {
            MultilineRule::None => None,
            r => Some(Multiline::new(r.clone()).with_max_bytes(max_bytes)),
        };
        Joiner {
            ml,
            pending_start: None,
            last_after: 0,
            pending_truncated: false,
        }
    }

    /// Pushes one line spanning `[before, after)` in its file; returns a completed record.
    pub fn push(
        &mut self,
        text: String,
        truncated: bool,
        before: u64,
        after: u64,
        now: u64,
    ) -> Option<Joined> {
        self.last_after = after;
        let Some(ml) = &mut self.ml else {
            return Some(Joined { text, truncated });
        };
        let cut_before = ml.stats().truncated_records;
        let had = ml.has_pending();
        let done = ml.push(&text, now);
        let out = done.map(|t| Joined {
            truncated: std::mem::take(&mut self.pending_truncated)
                || ml.stats().truncated_records > cut_before,
            text: t,
        });
        if !ml.has_pending() {
            self.pending_start = None;
        } else if out.is_some() || !had {
            self.pending_start = Some(before);
            self.pending_truncated = truncated;
        } else {
            self.pending_truncated |= truncated;
        }
        out
    }

    /// Completes the pending record if it has been idle for `idle_nanos`.
    pub fn flush_due(&mut self, now: u64, idle_nanos: u64) -> Option<Joined> {
        let ml = self.ml.as_mut()?;
        let t = ml.flush_due(now, idle_nanos)?;
        self.pending_start = None;
        Some(Joined {
            text: t,
            truncated: std::mem::take(&mut self.pending_truncated),
        })
    }

    /// Completes the pending record now.
    pub fn flush(&mut self) -> Option<Joined> {
        let ml = self.ml.as_mut()?;
        let t = ml.flush()?;
        self.pending_start = None;
        Some(Joined {
            text: t,
            truncated: std::mem::take(&mut self.pending_truncated),
        })
    }

    /// The offset up to which everything pushed is in completed records: where a restart
    /// must resume.
    pub fn safe_offset(&self) -> u64 {
        self.pending_start.unwrap_or(self.last_after)
    }

    /// A record is being joined.
    pub fn has_pending(&self) -> bool {
        self.pending_start.is_some()
    }

    /// Records cut at the byte bound so far.
    pub fn truncated_records(&self) -> u64 {
        self.ml.as_ref().map_or(0, |m| m.stats().truncated_records)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn safe_offset_stays_at_the_start_of_the_pending_record() {
        let mut j = Joiner::new(&MultilineRule::Auto, 1 << 20);
        // "a\n" [0,2), "\tat x\n" [2,8), "b\n" [8,10)
        assert_eq!(j.push("a".into(), false, 0, 2, 1), None);
        assert_eq!(j.safe_offset(), 0);
        assert_eq!(j.push("\tat x".into(), false, 2, 8, 2), None);
        assert_eq!(j.safe_offset(), 0);
        let r = j.push("b".into(), false, 8, 10, 3).unwrap();
        assert_eq!(r.text, "a\n\tat x");
        assert_eq!(j.safe_offset(), 8, "b is pending");
        let r = j.flush_due(10_000_000_000, 1).unwrap();
        assert_eq!(r.text, "b");
        assert_eq!(j.safe_offset(), 10);
    }

    #[test]
    fn without_multiline_every_line_is_a_record() {
        let mut j = Joiner::new(&MultilineRule::None, 10);
        let r = j.push("x".into(), true, 0, 300, 1).unwrap();
        assert!(r.truncated);
        assert_eq!(j.safe_offset(), 300);
        assert!(j.flush().is_none());
    }

    #[test]
    fn a_cut_line_marks_its_record() {
        let mut j = Joiner::new(&MultilineRule::Auto, 1 << 20);
        j.push("head".into(), true, 0, 900, 1);
        j.push(" cont".into(), false, 900, 906, 1);
        let r = j.push("next".into(), false, 906, 911, 1).unwrap();
        assert!(r.truncated);
        let r = j.flush().unwrap();
        assert!(!r.truncated);
    }

    #[test]
    fn recorder_parses_and_adds_attributes() {
        let mut s = LogSettings::default();
        s.attributes.insert("team".into(), "db".into());
        let rec = Recorder::new(&s).unwrap().record(
            r#"{"level":"error","msg":"boom","user":"x"}"#,
            5,
            vec![kv("log.file.name", "a.log")],
        );
        assert_eq!(rec.severity_number, 17);
        let keys: Vec<_> = rec.attributes.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["user", "log.file.name", "team"]);
    }
}
