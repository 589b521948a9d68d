//! journald entries as `journalctl --output=json` prints them (one JSON object per line), and
//! the `journalctl` command line that follows a journal.

use std::fmt;

use lookout_model::otlp::LogRecord;
use serde_json::Value as Json;

use crate::{key_values, severity, Value};

/// One journal entry: its position and the OTLP record made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// `__CURSOR`: where to resume with `--after-cursor` (never empty).
    pub cursor: String,
    /// `__REALTIME_TIMESTAMP`: when journald received the entry, in microseconds since the
    /// epoch.
    pub realtime_usec: u64,
    /// The entry as an OTLP log record (see the crate documentation for the mapping).
    pub record: LogRecord,
}

/// Why a line is not a journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JournalError {
    /// The line is not JSON.
    NotJson,
    /// The line is JSON but not an object.
    NotAnObject,
    /// `__CURSOR` is missing, empty or not text.
    NoCursor,
    /// `__REALTIME_TIMESTAMP` is missing or not a decimal number of microseconds.
    BadTimestamp,
}

impl JournalError {
    /// A stable snake_case label for counters: `not_json`, `not_an_object`, `no_cursor`,
    /// `bad_timestamp`.
    pub fn reason(&self) -> &'static str {
        match self {
            JournalError::NotJson => "not_json",
            JournalError::NotAnObject => "not_an_object",
            JournalError::NoCursor => "no_cursor",
            JournalError::BadTimestamp => "bad_timestamp",
        }
    }
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JournalError::NotJson => "journal entry is not JSON",
            JournalError::NotAnObject => "journal entry is not a JSON object",
            JournalError::NoCursor => "journal entry has no __CURSOR",
            JournalError::BadTimestamp => {
                "journal entry has no valid __REALTIME_TIMESTAMP (decimal microseconds)"
            }
        })
    }
}

impl std::error::Error for JournalError {}

/// A field's value once decoded from journalctl's JSON forms.
enum Field {
    /// Written once (text, or bytes decoded as lossy UTF-8).
    One(String),
    /// Written several times, in order.
    Many(Vec<String>),
}

impl Field {
    fn single(&self) -> Option<&str> {
        match self {
            Field::One(s) => Some(s),
            Field::Many(_) => None,
        }
    }

    fn joined(self) -> String {
        match self {
            Field::One(s) => s,
            Field::Many(v) => v.join("\n"),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Field::One(s) => Value::Str(s),
            Field::Many(v) => Value::Array(v.into_iter().map(Value::Str).collect()),
        }
    }
}

/// An array of numbers 0-255 as lossy UTF-8 text.
fn bytes_text(items: &[Json]) -> Option<String> {
    let bytes = items
        .iter()
        .map(|b| b.as_u64().and_then(|n| u8::try_from(n).ok()))
        .collect::<Option<Vec<u8>>>()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Decodes one value: a string, a byte array, an array of those (a repeated field), or `null`
/// (a field too large to print: `None`, as is anything else).
fn decode(v: &Json) -> Option<Field> {
    match v {
        Json::String(s) => Some(Field::One(s.clone())),
        Json::Array(items) if items.iter().all(Json::is_number) => {
            bytes_text(items).map(Field::One)
        }
        Json::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Json::String(s) => values.push(s.clone()),
                    Json::Array(b) => values.push(bytes_text(b)?),
                    // One of the repeated values was too large to print.
                    Json::Null => {}
                    _ => return None,
                }
            }
            (!values.is_empty()).then_some(Field::Many(values))
        }
        _ => None,
    }
}

/// Decimal microseconds (digits only, no sign or blanks).
fn usec(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A field with an OpenTelemetry name, and whether its value is an integer.
fn otel_name(field: &str) -> Option<(&'static str, bool)> {
    Some(match field {
        "_PID" => ("process.pid", true),
        "_UID" => ("process.user.id", true),
        "_COMM" => ("process.executable.name", false),
        "_EXE" => ("process.executable.path", false),
        "_CMDLINE" => ("process.command_line", false),
        "_HOSTNAME" => ("host.name", false),
        "_SYSTEMD_UNIT" => ("systemd.unit", false),
        "SYSLOG_IDENTIFIER" => ("syslog.appname", false),
        "_BOOT_ID" => ("journald.boot_id", false),
        "_TRANSPORT" => ("journald.transport", false),
        _ => return None,
    })
}

/// The attribute of a field: its key, a rank (0 for a field with an OpenTelemetry name, which
/// wins a key collision) and its value.
fn attribute(field: &str, v: Field) -> (String, u8, Value) {
    match (otel_name(field), v) {
        (Some((key, true)), Field::One(s)) => match s.parse::<i64>() {
            Ok(i) => (key.to_string(), 0, Value::Int(i)),
            Err(_) => generic(field, Field::One(s)),
        },
        (Some((key, false)), v) => (key.to_string(), 0, v.into_value()),
        (_, v) => generic(field, v),
    }
}

fn generic(field: &str, v: Field) -> (String, u8, Value) {
    (
        format!("journald.{}", field.to_ascii_lowercase()),
        1,
        v.into_value(),
    )
}

/// Parses one line of `journalctl --output=json` into a [`JournalEntry`]; `observed_nanos` is
/// when the agent read it. See the crate documentation ("journald entries") for the mapping.
pub fn parse_journal_entry(line: &[u8], observed_nanos: u64) -> Result<JournalEntry, JournalError> {
    let json: Json = serde_json::from_slice(line).map_err(|_| JournalError::NotJson)?;
    let Json::Object(obj) = json else {
        return Err(JournalError::NotAnObject);
    };
    let cursor = match obj.get("__CURSOR").and_then(decode) {
        Some(Field::One(c)) if !c.is_empty() => c,
        _ => return Err(JournalError::NoCursor),
    };
    let realtime_usec = obj
        .get("__REALTIME_TIMESTAMP")
        .and_then(decode)
        .and_then(|f| f.single().and_then(usec))
        .ok_or(JournalError::BadTimestamp)?;
    let source_usec = obj
        .get("_SOURCE_REALTIME_TIMESTAMP")
        .and_then(decode)
        .and_then(|f| f.single().and_then(usec))
        .filter(|&t| t > 0);

    let mut body = String::new();
    let mut sev = None;
    let mut attrs = Vec::new();
    for (name, raw) in &obj {
        if name.starts_with("__") || name == "_SOURCE_REALTIME_TIMESTAMP" {
            continue;
        }
        let Some(v) = decode(raw) else {
            continue;
        };
        match name.as_str() {
            "MESSAGE" => body = v.joined(),
            "PRIORITY" => {
                sev = v
                    .single()
                    .filter(|p| p.len() == 1)
                    .and_then(|p| p.parse::<u8>().ok())
                    .filter(|&p| p <= 7)
                    .map(severity::from_syslog);
            }
            _ => attrs.push((attribute(name, v), name.as_str())),
        }
    }
    // Sorted by key; on a collision (`BOOT_ID` and `_BOOT_ID` both give `journald.boot_id`)
    // the field with an OpenTelemetry name wins, else the first field name in byte order.
    attrs.sort_by(|((ka, ra, _), na), ((kb, rb, _), nb)| (ka, ra, na).cmp(&(kb, rb, nb)));
    attrs.dedup_by(|((kb, _, _), _), ((ka, _, _), _)| ka == kb);
    let attributes: Vec<(String, Value)> = attrs.into_iter().map(|((k, _, v), _)| (k, v)).collect();

    let (severity_number, severity_text) = match sev {
        Some((n, t)) => (n, t.to_string()),
        None => (0, String::new()),
    };
    let record = LogRecord {
        time_unix_nano: source_usec.unwrap_or(realtime_usec).saturating_mul(1000),
        observed_time_unix_nano: observed_nanos,
        severity_number,
        severity_text,
        body: Some(Value::Str(body).to_any_value()),
        attributes: key_values(&attributes),
        ..Default::default()
    };
    Ok(JournalEntry {
        cursor,
        realtime_usec,
        record,
    })
}

/// What `journalctl` should follow; turned into its arguments by [`journalctl_args`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalctlArgs {
    /// A journal directory (`--directory=`) instead of the system journal.
    pub directory: Option<String>,
    /// Only these systemd units (`--unit=`, any of them).
    pub units: Vec<String>,
    /// `FIELD=value` matches. journalctl ORs the matches of one field and ANDs different
    /// fields (and the unit filter): `[(_PID, 1), (_PID, 2), (PRIORITY, 3)]` means
    /// `(_PID=1 OR _PID=2) AND PRIORITY=3`.
    pub matches: Vec<(String, String)>,
    /// Only the current boot (`--boot`).
    pub current_boot_only: bool,
    /// Resume after this cursor: the last one read before a restart, with the same filters
    /// (journalctl 252 skips the first matching entry after a cursor whose own entry does not
    /// match them).
    pub after_cursor: Option<String>,
    /// Without a cursor: start at the end (only new entries) instead of the oldest entry.
    pub from_tail: bool,
}

/// A valid journal field name for a match: 1 to 64 of `A-Z`, `0-9`, `_`, not starting with a
/// digit (journald's rule).
fn valid_field(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}

/// The arguments of a `journalctl` that follows the journal as JSON lines for
/// [`parse_journal_entry`]: `--output=json --follow --no-pager --all` (`--all` so that long
/// or unprintable fields are printed in full rather than as `null`), then `--directory=D`,
/// `--boot`, one `--unit=U` per unit, the start position, and the matches as `FIELD=value`.
///
/// The start position is `--after-cursor=C --no-tail` when resuming (`--follow` alone would
/// show only the last 10 entries after the cursor), else `--lines=0` (only new entries) when
/// `from_tail`, else `--no-tail` (everything stored).
///
/// Fails on an invalid match field name (see [`JournalctlArgs::matches`]: upper-case letters,
/// digits and `_`, not starting with a digit, at most 64) or an empty unit, directory or
/// cursor.
pub fn journalctl_args(a: &JournalctlArgs) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = ["--output=json", "--follow", "--no-pager", "--all"]
        .into_iter()
        .map(String::from)
        .collect();
    if let Some(d) = &a.directory {
        if d.is_empty() {
            return Err("empty journal directory".into());
        }
        out.push(format!("--directory={d}"));
    }
    if a.current_boot_only {
        // journalctl reads a bare `--boot`'s next argument as a boot ID when it parses as
        // one; what follows here (`--unit=`, the start position) never does.
        out.push("--boot".into());
    }
    for u in &a.units {
        if u.is_empty() {
            return Err("empty systemd unit name".into());
        }
        out.push(format!("--unit={u}"));
    }
    match &a.after_cursor {
        Some(c) if c.is_empty() => return Err("empty journal cursor".into()),
        Some(c) => {
            out.push(format!("--after-cursor={c}"));
            out.push("--no-tail".into());
        }
        None if a.from_tail => out.push("--lines=0".into()),
        None => out.push("--no-tail".into()),
    }
    for (field, value) in &a.matches {
        if !valid_field(field) {
            return Err(format!(
                "invalid journal field name {field:?}: use 1 to 64 upper-case letters, digits \
                 and '_', not starting with a digit"
            ));
        }
        out.push(format!("{field}={value}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use lookout_model::otlp::any_value;

    fn attr<'a>(e: &'a JournalEntry, key: &str) -> Option<&'a any_value::Value> {
        e.record
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    fn s(e: &JournalEntry, key: &str) -> String {
        match attr(e, key) {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            other => panic!("{key}: {other:?}"),
        }
    }

    fn int(e: &JournalEntry, key: &str) -> i64 {
        match attr(e, key) {
            Some(any_value::Value::IntValue(i)) => *i,
            other => panic!("{key}: {other:?}"),
        }
    }

    fn body(e: &JournalEntry) -> String {
        match e.record.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            other => panic!("body: {other:?}"),
        }
    }

    const SSHD: &str = r#"{"__CURSOR":"s=739ad463348b4ceca5a9e69c95a3c93f;i=4ece7;b=6c7c6013a8194f91b2d2e1cb4ab6f0b4;m=2a5a8ad6e;t=60dedc04dd340;x=4f4a8fa0a1cbd4c5","__REALTIME_TIMESTAMP":"1704164645000000","__MONOTONIC_TIMESTAMP":"11366878574","_BOOT_ID":"6c7c6013a8194f91b2d2e1cb4ab6f0b4","_MACHINE_ID":"e3a9f2d2b1c04a2c8a3c4b5d6e7f8091","_HOSTNAME":"web-1","PRIORITY":"6","SYSLOG_FACILITY":"4","SYSLOG_IDENTIFIER":"sshd","_UID":"0","_GID":"0","_COMM":"sshd","_EXE":"/usr/sbin/sshd","_CMDLINE":"sshd: alice [priv]","_SYSTEMD_UNIT":"ssh.service","_TRANSPORT":"syslog","_PID":"1234","SYSLOG_PID":"1234","_SOURCE_REALTIME_TIMESTAMP":"1704164644999123","MESSAGE":"Accepted publickey for alice from 203.0.113.9 port 52144 ssh2"}"#;

    #[test]
    fn sshd_entry() {
        let e = parse_journal_entry(SSHD.as_bytes(), 77).unwrap();
        assert!(e.cursor.starts_with("s=739ad463"));
        assert_eq!(e.realtime_usec, 1_704_164_645_000_000);
        assert_eq!(e.record.time_unix_nano, 1_704_164_644_999_123_000);
        assert_eq!(e.record.observed_time_unix_nano, 77);
        assert_eq!(
            (e.record.severity_number, e.record.severity_text.as_str()),
            (9, "info")
        );
        assert!(body(&e).starts_with("Accepted publickey for alice"));
        assert_eq!(int(&e, "process.pid"), 1234);
        assert_eq!(int(&e, "process.user.id"), 0);
        assert_eq!(s(&e, "process.executable.name"), "sshd");
        assert_eq!(s(&e, "process.executable.path"), "/usr/sbin/sshd");
        assert_eq!(s(&e, "process.command_line"), "sshd: alice [priv]");
        assert_eq!(s(&e, "host.name"), "web-1");
        assert_eq!(s(&e, "systemd.unit"), "ssh.service");
        assert_eq!(s(&e, "syslog.appname"), "sshd");
        assert_eq!(
            s(&e, "journald.boot_id"),
            "6c7c6013a8194f91b2d2e1cb4ab6f0b4"
        );
        assert_eq!(s(&e, "journald.transport"), "syslog");
        assert_eq!(s(&e, "journald.syslog_facility"), "4");
        assert_eq!(s(&e, "journald._gid"), "0");
        assert_eq!(
            s(&e, "journald._machine_id"),
            "e3a9f2d2b1c04a2c8a3c4b5d6e7f8091"
        );
        let keys: Vec<&str> = e
            .record
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        for k in &keys {
            assert!(!k.contains("realtime") && !k.contains("monotonic") && !k.contains("cursor"));
            assert!(*k != "journald.message" && *k != "journald.priority");
        }
    }

    #[test]
    fn binary_repeated_and_null_fields() {
        let l = br#"{"__CURSOR":"c1","__REALTIME_TIMESTAMP":"1704164645000000","MESSAGE":[108,105,110,101,49,10,108,105,110,101,50,1,255],"TAG":["a",[98,1]],"BIG":null,"PRIORITY":"3","_PID":"x9"}"#;
        let e = parse_journal_entry(l, 0).unwrap();
        assert_eq!(body(&e), "line1\nline2\u{1}\u{fffd}");
        assert_eq!(
            (e.record.severity_number, e.record.severity_text.as_str()),
            (17, "err")
        );
        match attr(&e, "journald.tag") {
            Some(any_value::Value::ArrayValue(a)) => {
                let v: Vec<_> = a.values.iter().map(|v| v.value.clone()).collect();
                assert_eq!(
                    v,
                    vec![
                        Some(any_value::Value::StringValue("a".into())),
                        Some(any_value::Value::StringValue("b\u{1}".into()))
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(attr(&e, "journald.big").is_none());
        // A non-numeric PID keeps its journald name.
        assert!(attr(&e, "process.pid").is_none());
        assert_eq!(s(&e, "journald._pid"), "x9");
        // No _SOURCE_REALTIME_TIMESTAMP: the receive time.
        assert_eq!(e.record.time_unix_nano, 1_704_164_645_000_000_000);

        let l = br#"{"__CURSOR":"c2","__REALTIME_TIMESTAMP":"5","MESSAGE":["first","second"],"PRIORITY":"9","_SOURCE_REALTIME_TIMESTAMP":"soon"}"#;
        let e = parse_journal_entry(l, 0).unwrap();
        assert_eq!(body(&e), "first\nsecond");
        assert_eq!(e.record.severity_number, 0);
        assert_eq!(e.record.severity_text, "");
        assert_eq!(e.record.time_unix_nano, 5_000);
        assert!(e.record.attributes.is_empty());
    }

    #[test]
    fn missing_message_saturation_and_collisions() {
        let l = br#"{"__CURSOR":"c","__REALTIME_TIMESTAMP":"18446744073709551615","BOOT_ID":"user","_BOOT_ID":"trusted","foo":"1","FOO":"2"}"#;
        let e = parse_journal_entry(l, 0).unwrap();
        assert_eq!(body(&e), "");
        assert_eq!(e.record.time_unix_nano, u64::MAX);
        assert_eq!(s(&e, "journald.boot_id"), "trusted");
        assert_eq!(s(&e, "journald.foo"), "2");
        assert_eq!(e.record.attributes.len(), 2);
    }

    #[test]
    fn errors() {
        let cases: [(&[u8], JournalError); 8] = [
            (b"", JournalError::NotJson),
            (b"{\"__CURSOR\":", JournalError::NotJson),
            (b"[1,2]", JournalError::NotAnObject),
            (b"{\"__REALTIME_TIMESTAMP\":\"1\"}", JournalError::NoCursor),
            (
                b"{\"__CURSOR\":\"\",\"__REALTIME_TIMESTAMP\":\"1\"}",
                JournalError::NoCursor,
            ),
            (b"{\"__CURSOR\":\"c\"}", JournalError::BadTimestamp),
            (
                b"{\"__CURSOR\":\"c\",\"__REALTIME_TIMESTAMP\":\"-1\"}",
                JournalError::BadTimestamp,
            ),
            (
                b"{\"__CURSOR\":\"c\",\"__REALTIME_TIMESTAMP\":1}",
                JournalError::BadTimestamp,
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse_journal_entry(line, 0).unwrap_err(), want, "{line:?}");
        }
        assert_eq!(JournalError::NotAnObject.reason(), "not_an_object");
        assert_eq!(JournalError::BadTimestamp.reason(), "bad_timestamp");
        assert!(JournalError::NoCursor.to_string().contains("__CURSOR"));
        // A trailing newline is fine.
        assert!(
            parse_journal_entry(b"{\"__CURSOR\":\"c\",\"__REALTIME_TIMESTAMP\":\"1\"}\n", 0)
                .is_ok()
        );
    }

    /// Truncations and byte substitutions of realistic input through [`crate::fuzz_one`].
    #[test]
    fn fuzz_mutations() {
        let mut seed = SSHD.as_bytes().to_vec();
        seed.push(b'\n');
        seed.extend_from_slice(br#"{"__CURSOR":"c","__REALTIME_TIMESTAMP":"1","MESSAGE":[104,105,255],"TAG":["a",[98],null]}"#);
        for cut in (0..=seed.len()).step_by(7) {
            crate::fuzz_one(&seed[..cut]);
        }
        for (i, b) in [b'"', b'{', b'}', b'\\', b'\n', 0xff, b'0', b':']
            .into_iter()
            .cycle()
            .take(200)
            .enumerate()
        {
            let mut d = seed.clone();
            let at = (i * 131) % d.len();
            d[at] = b;
            crate::fuzz_one(&d);
        }
    }

    #[test]
    fn args() {
        let a = JournalctlArgs::default();
        assert_eq!(
            journalctl_args(&a).unwrap(),
            [
                "--output=json",
                "--follow",
                "--no-pager",
                "--all",
                "--no-tail"
            ]
        );
        let a = JournalctlArgs {
            directory: Some("/var/log/journal".into()),
            units: vec!["nginx.service".into(), "ssh.service".into()],
            matches: vec![
                ("_PID".into(), "1".into()),
                ("PRIORITY".into(), "3".into()),
                ("_PID".into(), "2".into()),
            ],
            current_boot_only: true,
            after_cursor: None,
            from_tail: true,
        };
        assert_eq!(
            journalctl_args(&a).unwrap(),
            [
                "--output=json",
                "--follow",
                "--no-pager",
                "--all",
                "--directory=/var/log/journal",
                "--boot",
                "--unit=nginx.service",
                "--unit=ssh.service",
                "--lines=0",
                "_PID=1",
                "PRIORITY=3",
                "_PID=2",
            ]
        );
        let a = JournalctlArgs {
            after_cursor: Some("s=1;i=2".into()),
            from_tail: true,
            ..Default::default()
        };
        let args = journalctl_args(&a).unwrap();
        assert_eq!(&args[4..], ["--after-cursor=s=1;i=2", "--no-tail"]);

        for bad in ["", "pid", "1PID", "MY-FIELD", "A B", "ÄÖ", &"X".repeat(65)] {
            let a = JournalctlArgs {
                matches: vec![(bad.to_string(), "v".into())],
                ..Default::default()
            };
            assert!(journalctl_args(&a).is_err(), "{bad:?}");
        }
        for good in ["_PID", "MESSAGE_ID", "X1", &"X".repeat(64)] {
            let a = JournalctlArgs {
                matches: vec![(good.to_string(), "v=w".into())],
                ..Default::default()
            };
            assert_eq!(
                journalctl_args(&a).unwrap().last().unwrap(),
                &format!("{good}=v=w")
            );
        }
        for a in [
            JournalctlArgs {
                units: vec![String::new()],
                ..Default::default()
            },
            JournalctlArgs {
                directory: Some(String::new()),
                ..Default::default()
            },
            JournalctlArgs {
                after_cursor: Some(String::new()),
                ..Default::default()
            },
        ] {
            assert!(journalctl_args(&a).is_err(), "{a:?}");
        }
    }

    /// Checks against the real `journalctl`: a journal written by `systemd-journal-remote` from
    /// an export-format stream, read back as JSON and parsed, then followed with
    /// [`journalctl_args`]. Skipped where systemd's tools are not installed.
    #[test]
    fn real_journalctl() {
        use std::process::{Command, Stdio};

        const REMOTE: &str = "/lib/systemd/systemd-journal-remote";
        let have_journalctl = Command::new("journalctl")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !std::path::Path::new(REMOTE).exists() || !have_journalctl {
            eprintln!("skipping: {REMOTE} or journalctl is missing");
            return;
        }

        struct TempDir(std::path::PathBuf);
        impl Drop for TempDir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = TempDir(std::env::temp_dir().join(format!(
            "lookout-logparse-journal-{}-{nanos}",
            std::process::id()
        )));
        let out = dir.0.join("out");
        std::fs::create_dir_all(&out).unwrap();

        // Journal export format: `NAME=value\n`, or for any value `NAME\n` + 64-bit
        // little-endian length + raw bytes + `\n`; a blank line ends an entry.
        const BOOT: &str = "0123456789abcdef0123456789abcdef";
        const T: u64 = 1_704_164_645_000_000;
        let mut export = Vec::new();
        let mut entry = |fields: &[(&str, &[u8])], binary: &[&str]| {
            for (name, value) in fields {
                if binary.contains(name) {
                    export.extend_from_slice(name.as_bytes());
                    export.push(b'\n');
                    export.extend_from_slice(&(value.len() as u64).to_le_bytes());
                    export.extend_from_slice(value);
                    export.push(b'\n');
                } else {
                    export.extend_from_slice(name.as_bytes());
                    export.push(b'=');
                    export.extend_from_slice(value);
                    export.push(b'\n');
                }
            }
            export.push(b'\n');
        };
        let ts = |i: u64| (T + i).to_string().into_bytes();
        let mono = |i: u64| (1_000 + i).to_string().into_bytes();
        entry(
            &[
                ("__REALTIME_TIMESTAMP", &ts(0)),
                ("__MONOTONIC_TIMESTAMP", &mono(0)),
                ("_BOOT_ID", BOOT.as_bytes()),
                ("MESSAGE", b"database connection refused"),
                ("PRIORITY", b"3"),
                ("_SYSTEMD_UNIT", b"app.service"),
                ("_PID", b"4242"),
            ],
            &[],
        );
        entry(
            &[
                ("__REALTIME_TIMESTAMP", &ts(1)),
                ("__MONOTONIC_TIMESTAMP", &mono(1)),
                ("_BOOT_ID", BOOT.as_bytes()),
                ("MESSAGE", b"panic: boom\n\tat main.go:12\nexit status 2"),
                ("PRIORITY", b"2"),
                ("_SYSTEMD_UNIT", b"app.service"),
                ("_PID", b"4243"),
            ],
            &["MESSAGE"],
        );
        entry(
            &[
                ("__REALTIME_TIMESTAMP", &ts(2)),
                ("__MONOTONIC_TIMESTAMP", &mono(2)),
                ("_BOOT_ID", BOOT.as_bytes()),
                ("MESSAGE", b"raw\x01bytes\xff\nend"),
                ("PRIORITY", b"6"),
                ("_SYSTEMD_UNIT", b"app.service"),
                ("_PID", b"4244"),
                ("TAG", b"one"),
                ("TAG", b"two"),
                ("_SOURCE_REALTIME_TIMESTAMP", b"1704164600000000"),
            ],
            &["MESSAGE"],
        );
        for i in 0..14u64 {
            let msg = format!("batch item {i}");
            entry(
                &[
                    ("__REALTIME_TIMESTAMP", &ts(10 + i)),
                    ("__MONOTONIC_TIMESTAMP", &mono(10 + i)),
                    ("_BOOT_ID", BOOT.as_bytes()),
                    ("MESSAGE", msg.as_bytes()),
                    ("PRIORITY", b"7"),
                    ("_SYSTEMD_UNIT", b"batch.service"),
                    ("_PID", b"99"),
                ],
                &[],
            );
        }
        let input = dir.0.join("in.export");
        std::fs::write(&input, &export).unwrap();
        let status = Command::new(REMOTE)
            .arg("-o")
            .arg(out.join("remote.journal"))
            .arg(&input)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{REMOTE}: {status}");

        let output = Command::new("journalctl")
            .arg(format!("--directory={}", out.display()))
            .args(["--output=json", "--no-pager", "--all"])
            .output()
            .unwrap();
        assert!(output.status.success(), "journalctl: {output:?}");
        let entries: Vec<JournalEntry> = output
            .stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| parse_journal_entry(l, 1).unwrap())
            .collect();
        assert_eq!(entries.len(), 17);

        let e = &entries[0];
        assert_eq!(body(e), "database connection refused");
        assert_eq!(
            (e.record.severity_number, e.record.severity_text.as_str()),
            (17, "err")
        );
        assert_eq!(int(e, "process.pid"), 4242);
        assert_eq!(s(e, "systemd.unit"), "app.service");
        assert_eq!(s(e, "journald.boot_id"), BOOT);
        assert_eq!(e.realtime_usec, T);
        assert_eq!(e.record.time_unix_nano, T * 1000);

        let e = &entries[1];
        assert_eq!(body(e), "panic: boom\n\tat main.go:12\nexit status 2");
        assert_eq!(
            (e.record.severity_number, e.record.severity_text.as_str()),
            (21, "crit")
        );
        assert_eq!(int(e, "process.pid"), 4243);

        let e = &entries[2];
        assert_eq!(body(e), "raw\u{1}bytes\u{fffd}\nend");
        assert_eq!(
            (e.record.severity_number, e.record.severity_text.as_str()),
            (9, "info")
        );
        assert_eq!(e.record.time_unix_nano, 1_704_164_600_000_000_000);
        assert!(
            matches!(attr(e, "journald.tag"), Some(any_value::Value::ArrayValue(a)) if a.values.len() == 2)
        );

        let e = &entries[16];
        assert_eq!(body(e), "batch item 13");
        assert_eq!(
            (e.record.severity_number, e.record.severity_text.as_str()),
            (5, "debug")
        );
        assert_eq!(s(e, "systemd.unit"), "batch.service");

        let mut cursors: Vec<&str> = entries.iter().map(|e| e.cursor.as_str()).collect();
        assert!(cursors.iter().all(|c| !c.is_empty()));
        cursors.sort_unstable();
        cursors.dedup();
        assert_eq!(cursors.len(), 17);

        // Following with our arguments: resuming after a cursor yields every later entry
        // of the unit (13, more than the 10 journalctl shows by default in follow mode).
        let args = JournalctlArgs {
            directory: Some(out.display().to_string()),
            units: vec!["batch.service".into()],
            after_cursor: Some(entries[3].cursor.clone()),
            ..Default::default()
        };
        let lines = follow(&journalctl_args(&args).unwrap(), 13);
        assert_eq!(lines.len(), 13, "{lines:?}");
        for (i, l) in lines.iter().enumerate() {
            let e = parse_journal_entry(l.as_bytes(), 0).unwrap();
            assert_eq!(body(&e), format!("batch item {}", i + 1));
        }

        // Matches of one field are ORed, different fields ANDed.
        let args = JournalctlArgs {
            directory: Some(out.display().to_string()),
            matches: vec![
                ("MESSAGE".into(), "batch item 3".into()),
                ("MESSAGE".into(), "batch item 5".into()),
                ("MESSAGE".into(), "database connection refused".into()),
                ("_PID".into(), "99".into()),
            ],
            ..Default::default()
        };
        let lines = follow(&journalctl_args(&args).unwrap(), 2);
        let bodies: Vec<String> = lines
            .iter()
            .map(|l| body(&parse_journal_entry(l.as_bytes(), 0).unwrap()))
            .collect();
        assert_eq!(bodies, ["batch item 3", "batch item 5"]);

        // From the tail: nothing old.
        let args = JournalctlArgs {
            directory: Some(out.display().to_string()),
            from_tail: true,
            ..Default::default()
        };
        assert!(follow(&journalctl_args(&args).unwrap(), 0).is_empty());
    }

    /// Runs `journalctl ARGS` (which follows), collects its lines until `want` arrived (or 10 s
    /// passed), plus any arriving in a further half second, then kills it.
    fn follow(args: &[String], want: usize) -> Vec<String> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        use std::sync::mpsc;
        use std::time::{Duration, Instant};

        let mut child = Command::new("journalctl")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while lines.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => lines.push(l),
                Err(_) => break,
            }
        }
        while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
            lines.push(l);
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = reader.join();
        lines
    }
}
