//! Log formats of the integrated services: the MySQL/MariaDB slow query log (a multi-line
//! record), PostgreSQL's stderr log with Debian's default `log_line_prefix`, and PostgreSQL's
//! csvlog.

use std::borrow::Cow;

use memchr::memchr;

use crate::{severity, time, Body, Format, Parsed, Value};

/// `# Query_time: 2.000213  Lock_time: 0.000100 Rows_sent: 1  Rows_examined: 0`: each
/// `Name: value` pair of a `#` header line.
fn header_pairs(line: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut toks = line.trim_start_matches('#').split_whitespace().peekable();
    std::iter::from_fn(move || loop {
        let t = toks.next()?;
        if let Some(name) = t.strip_suffix(':') {
            if let Some(v) = toks.peek() {
                if !v.ends_with(':') {
                    let v = toks.next().unwrap_or("");
                    return Some((name, v));
                }
            }
        }
    })
}

/// A MySQL or MariaDB slow-query-log record (the lines from `# Time:` or `# User@Host:` to
/// the statement), or None when it has no `# Query_time:` line.
///
/// Attributes: `db.system.name` (`mysql`), `db.query.text` (the statement; a `use db;` line
/// gives `db.namespace`), `user.name`, `client.address`, `db.namespace` (MariaDB's
/// `Schema:`), `mysql.slow.query_time` and `mysql.slow.lock_time` (seconds, double),
/// `mysql.slow.rows_sent`, `mysql.slow.rows_examined`, `mysql.slow.rows_affected` (int),
/// `thread.id`. The timestamp comes from `SET timestamp=N;` (else `# Time:` in ISO form).
/// Severity: WARN (a slow query is worth a look). The body is the statement.
pub(crate) fn mysql_slow(record: &str) -> Option<Parsed> {
    if !record.lines().any(|l| l.starts_with("# Query_time:")) {
        return None;
    }
    let mut attrs: Vec<(String, Value)> =
        vec![("db.system.name".into(), Value::Str("mysql".into()))];
    let mut ts = None;
    let mut statement: Vec<&str> = Vec::new();
    for line in record.lines() {
        if let Some(rest) = line.strip_prefix("# Time:") {
            let rest = rest.trim();
            if ts.is_none() {
                ts = time::iso(rest).map(|(t, _)| t);
            }
        } else if let Some(rest) = line.strip_prefix("# User@Host:") {
            // `root[root] @ localhost [127.0.0.1]  Id:     8`
            let (user_part, host_part) = rest.split_once(" @ ").unwrap_or((rest, ""));
            let user = user_part.trim().split('[').next().unwrap_or("").trim();
            if !user.is_empty() {
                attrs.push(("user.name".into(), Value::Str(user.to_string())));
            }
            let host_part = host_part.split("Id:").next().unwrap_or("");
            let ip = host_part
                .split('[')
                .nth(1)
                .and_then(|s| s.split(']').next())
                .filter(|s| !s.trim().is_empty());
            let name = host_part
                .split('[')
                .next()
                .map(str::trim)
                .filter(|s| !s.is_empty());
            if let Some(addr) = ip.or(name) {
                attrs.push(("client.address".into(), Value::Str(addr.trim().to_string())));
            }
            if let Some(id) = rest
                .split("Id:")
                .nth(1)
                .and_then(|s| s.trim().parse::<i64>().ok())
            {
                attrs.push(("thread.id".into(), Value::Int(id)));
            }
        } else if line.starts_with('#') {
            for (k, v) in header_pairs(line) {
                let num = |v: &str| v.parse::<f64>().ok().filter(|x| x.is_finite());
                match k {
                    "Query_time" => {
                        if let Some(x) = num(v) {
                            attrs.push(("mysql.slow.query_time".into(), Value::Double(x)));
                        }
                    }
                    "Lock_time" => {
                        if let Some(x) = num(v) {
                            attrs.push(("mysql.slow.lock_time".into(), Value::Double(x)));
                        }
                    }
                    "Rows_sent" | "Rows_examined" | "Rows_affected" => {
                        if let Ok(n) = v.parse::<i64>() {
                            attrs.push((
                                format!("mysql.slow.{}", k.to_ascii_lowercase()),
                                Value::Int(n),
                            ));
                        }
                    }
                    "Schema" if !v.is_empty() => {
                        attrs.push(("db.namespace".into(), Value::Str(v.to_string())));
                    }
                    "Thread_id" => {
                        if let Ok(n) = v.parse::<i64>() {
                            attrs.push(("thread.id".into(), Value::Int(n)));
                        }
                    }
                    _ => {}
                }
            }
        } else if let Some(n) = line
            .strip_prefix("SET timestamp=")
            .and_then(|r| r.trim_end_matches(';').trim().parse::<u64>().ok())
        {
            ts = n.checked_mul(1_000_000_000).or(ts);
        } else if let Some(db) = line.strip_prefix("use ").and_then(|r| r.strip_suffix(';')) {
            if !attrs.iter().any(|(k, _)| k == "db.namespace") {
                attrs.push((
                    "db.namespace".into(),
                    Value::Str(db.trim_matches('`').to_string()),
                ));
            }
        } else if !line.trim().is_empty() {
            statement.push(line);
        }
    }
    let stmt = statement.join("\n");
    attrs.push(("db.query.text".into(), Value::Str(stmt.clone())));
    Some(Parsed {
        format: Format::MysqlSlow,
        timestamp_nanos: ts,
        severity: Some((13, "WARN".into())),
        body: Body::Str(stmt),
        attributes: attrs,
    })
}

/// PostgreSQL message levels that continue the previous message.
const PG_CONTINUATIONS: [&str; 6] = [
    "DETAIL",
    "HINT",
    "STATEMENT",
    "CONTEXT",
    "QUERY",
    "LOCATION",
];

/// The parts of one PostgreSQL stderr line with the prefix `%m [%p] %q%u@%d ` (Debian's
/// default): time, pid, user, database, level, message.
pub(crate) struct PgLine<'a> {
    time: u64,
    pid: Option<i64>,
    user: Option<&'a str>,
    db: Option<&'a str>,
    level: &'a str,
    message: &'a str,
}

pub(crate) fn pg_line(line: &str) -> Option<PgLine<'_>> {
    let (time, n) = time::iso(line)?;
    let rest = line[n..].trim_start();
    let rest = rest.strip_prefix('[')?;
    let (pid, rest) = rest.split_once(']')?;
    let pid = pid.trim().parse::<i64>().ok();
    let rest = rest.trim_start();
    // `%q%u@%d ` is empty for background processes
    let (user, db, rest) = match rest.split_once(' ') {
        Some((ud, r)) if ud.contains('@') && !ud.ends_with(':') => {
            let (u, d) = ud.split_once('@').unwrap_or((ud, ""));
            (
                Some(u).filter(|s| !s.is_empty()),
                Some(d).filter(|s| !s.is_empty()),
                r,
            )
        }
        _ => (None, None, rest),
    };
    let (level, message) = rest.split_once(':')?;
    let level = level.trim();
    if level.is_empty()
        || !level
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return None;
    }
    Some(PgLine {
        time,
        pid,
        user,
        db,
        level,
        message: message.trim(),
    })
}

/// Whether `line` continues the current PostgreSQL record: indented (a multi-line statement)
/// or a `DETAIL:`/`HINT:`/`STATEMENT:`/`CONTEXT:`/`QUERY:`/`LOCATION:` line.
pub(crate) fn pg_continues(line: &str) -> bool {
    line.starts_with(['\t', ' '])
        || pg_line(line).is_some_and(|p| PG_CONTINUATIONS.contains(&p.level))
}

/// A PostgreSQL stderr record (a line, plus its continuation lines when joined). Attributes:
/// `db.system.name` (`postgresql`), `process.pid`, `user.name`, `db.namespace`, and from the
/// continuation lines `db.query.text` (`STATEMENT:`, indented lines included),
/// `postgresql.detail`, `postgresql.hint`, `postgresql.context`. The body is the first line's
/// message; severity from its level (`LOG` INFO, `ERROR`, `FATAL`, `PANIC`, `WARNING`, ...).
pub(crate) fn postgresql(record: &str) -> Option<Parsed> {
    let mut lines = record.lines();
    let first = pg_line(lines.next()?)?;
    let mut attrs: Vec<(String, Value)> =
        vec![("db.system.name".into(), Value::Str("postgresql".into()))];
    if let Some(p) = first.pid {
        attrs.push(("process.pid".into(), Value::Int(p)));
    }
    if let Some(u) = first.user {
        attrs.push(("user.name".into(), Value::Str(u.into())));
    }
    if let Some(d) = first.db {
        attrs.push(("db.namespace".into(), Value::Str(d.into())));
    }
    let mut body = first.message.to_string();
    let mut current: Option<(String, String)> = None;
    let flush = |cur: &mut Option<(String, String)>, attrs: &mut Vec<(String, Value)>| {
        if let Some((k, v)) = cur.take() {
            attrs.push((k, Value::Str(v)));
        }
    };
    for line in lines {
        if let Some(p) = pg_line(line) {
            flush(&mut current, &mut attrs);
            let key = match p.level {
                "STATEMENT" | "QUERY" => "db.query.text".to_string(),
                other => format!("postgresql.{}", other.to_ascii_lowercase()),
            };
            current = Some((key, p.message.to_string()));
        } else {
            match current.as_mut() {
                Some((_, v)) => {
                    v.push('\n');
                    v.push_str(line.trim_start_matches('\t'));
                }
                None => {
                    body.push('\n');
                    body.push_str(line.trim_start_matches('\t'));
                }
            }
        }
    }
    flush(&mut current, &mut attrs);
    let sev = severity::from_text(first.level).map(|n| (n, first.level.to_string()));
    Some(Parsed {
        format: Format::Postgresql,
        timestamp_nanos: Some(first.time),
        severity: sev,
        body: Body::Str(body),
        attributes: attrs,
    })
}

/// Splits one CSV record (RFC 4180) into its fields: a field in double quotes may hold commas,
/// newlines and `""` (a quote); an unquoted field runs to the next comma. None when a quoted
/// field is not closed, is followed by something other than a comma, or an unquoted field
/// holds a quote.
pub(crate) fn csv_fields(record: &str) -> Option<Vec<Cow<'_, str>>> {
    let b = record.as_bytes();
    let mut out = Vec::with_capacity(26);
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            let mut owned: Option<String> = None;
            let mut seg = i + 1;
            let mut j = seg;
            let end = loop {
                let k = j + memchr(b'"', &b[j..])?;
                if b.get(k + 1) == Some(&b'"') {
                    owned
                        .get_or_insert_with(String::new)
                        .push_str(&record[seg..=k]);
                    j = k + 2;
                    seg = j;
                } else {
                    break k;
                }
            };
            out.push(match owned {
                Some(mut s) => {
                    s.push_str(&record[seg..end]);
                    Cow::Owned(s)
                }
                None => Cow::Borrowed(&record[i + 1..end]),
            });
            match b.get(end + 1) {
                None => return Some(out),
                Some(b',') => i = end + 2,
                Some(_) => return None,
            }
        } else {
            let end = memchr(b',', &b[i..]).map_or(b.len(), |k| i + k);
            let f = &record[i..end];
            if f.contains('"') {
                return None;
            }
            out.push(Cow::Borrowed(f));
            if end == b.len() {
                return Some(out);
            }
            i = end + 1;
        }
    }
}

/// csvlog's `log_time`: `2024-01-02 03:04:05.123 UTC` (or a numeric zone `+03`, `-0330`).
/// None when the field is not such a time; `Some(None)` when the zone is a name other than
/// `UTC`/`GMT` (`CET`: ambiguous, the time is left unknown).
fn pg_csv_time(s: &str) -> Option<Option<u64>> {
    let (t, n) = time::iso(s)?;
    let rest = &s[n..];
    if rest.is_empty() {
        return Some(Some(t));
    }
    let zone = rest.strip_prefix(' ')?;
    if !zone.is_empty() && zone.bytes().all(|c| c.is_ascii_alphabetic()) {
        return Some(None);
    }
    // `+03` / `-03:30` (zones without an abbreviation); `+0330` is read by `time::iso`.
    let (sign, digits) = match zone.as_bytes().first() {
        Some(b'+') => (1i64, &zone[1..]),
        Some(b'-') => (-1i64, &zone[1..]),
        _ => return None,
    };
    let (h, m) = digits.split_once(':').unwrap_or((digits, "00"));
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if h > 23 || m > 59 {
        return None;
    }
    let offset = sign * (h * 3600 + m * 60) * 1_000_000_000;
    Some(u64::try_from(i128::from(t) - i128::from(offset)).ok())
}

/// A PostgreSQL csvlog record (`log_destination = 'csvlog'`): 22 or more columns, PostgreSQL
/// 13-17 write 24 to 26 (`log_time`, `user_name`, `database_name`, `process_id`,
/// `connection_from`, `session_id`, `session_line_num`, `command_tag`, `session_start_time`,
/// `virtual_transaction_id`, `transaction_id`, `error_severity`, `sql_state_code`, `message`,
/// `detail`, `hint`, `internal_query`, `internal_query_pos`, `context`, `query`, `query_pos`,
/// `location`, `application_name`, `backend_type`, `leader_pid`, `query_id`); later columns are
/// ignored. None unless `log_time` is a time, `process_id` a number (or empty) and
/// `error_severity` an upper-case level.
///
/// Attributes (empty fields left out): `db.system.name` (`postgresql`), `process.pid` (int),
/// `user.name`, `db.namespace`, `client.address` and `client.port` (int) from `host:port`,
/// `session.id`, `postgresql.command_tag`, `db.response.status_code` (the SQLSTATE),
/// `db.query.text` (`query`), `postgresql.detail`, `postgresql.hint`, `postgresql.context`,
/// `postgresql.application_name`, `postgresql.backend_type`. The body is `message`; severity
/// from `error_severity`; the timestamp from `log_time` (unknown when its zone is a name other
/// than `UTC`/`GMT`).
pub(crate) fn postgresql_csv(record: &str) -> Option<Parsed> {
    let f = csv_fields(record)?;
    if f.len() < 22 {
        return None;
    }
    let ts = pg_csv_time(&f[0])?;
    let pid = match &*f[3] {
        "" => None,
        p => Some(p.parse::<i64>().ok()?),
    };
    let level: &str = &f[11];
    if level.is_empty()
        || !level
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return None;
    }
    let mut attrs: Vec<(String, Value)> = Vec::with_capacity(16);
    attrs.push(("db.system.name".into(), Value::Str("postgresql".into())));
    if let Some(p) = pid {
        attrs.push(("process.pid".into(), Value::Int(p)));
    }
    let text = |attrs: &mut Vec<(String, Value)>, key: &str, col: usize| {
        if let Some(v) = f.get(col).filter(|v| !v.is_empty()) {
            attrs.push((key.to_string(), Value::Str(v.to_string())));
        }
    };
    text(&mut attrs, "user.name", 1);
    text(&mut attrs, "db.namespace", 2);
    // `host:port`, `[local]` (Unix socket), or an IPv6 address with its port after the last `:`.
    match f[4].rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            attrs.push(("client.address".into(), Value::Str(host.to_string())));
            if let Ok(p) = port.parse::<i64>() {
                attrs.push(("client.port".into(), Value::Int(p)));
            }
        }
        _ => text(&mut attrs, "client.address", 4),
    }
    text(&mut attrs, "session.id", 5);
    text(&mut attrs, "postgresql.command_tag", 7);
    text(&mut attrs, "db.response.status_code", 12);
    text(&mut attrs, "db.query.text", 19);
    text(&mut attrs, "postgresql.detail", 14);
    text(&mut attrs, "postgresql.hint", 15);
    text(&mut attrs, "postgresql.context", 18);
    text(&mut attrs, "postgresql.application_name", 22);
    text(&mut attrs, "postgresql.backend_type", 23);
    let sev = severity::from_text(level).map(|n| (n, level.to_string()));
    Some(Parsed {
        format: Format::PostgresqlCsv,
        timestamp_nanos: ts,
        severity: sev,
        body: Body::Str(f[13].to_string()),
        attributes: attrs,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MARIADB_SLOW: &str = "# Time: 241130 13:50:35
# User@Host: root[root] @ localhost [127.0.0.1]
# Thread_id: 8  Schema: test  QC_hit: No
# Query_time: 2.000213  Lock_time: 0.000100  Rows_sent: 1  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 63
SET timestamp=1704164645;
SELECT SLEEP(2);";

    const PG16_CSV: &str = r#"2024-01-02 03:04:05.123 UTC,"app","shop",4242,"10.0.0.7:51234",65940d25.1092,3,"SELECT",2024-01-02 03:04:01 UTC,3/17,0,ERROR,42P01,"relation ""nope"" does not exist",,,,,,"select *
  from nope
 where note = 'a,b'",15,,"psql","client backend",,0"#;

    #[test]
    fn csv_fields_quotes_and_newlines() {
        let f = csv_fields(
            r#"a,"b,c","d""e",,"x
y","""""#,
        )
        .unwrap();
        assert_eq!(f, ["a", "b,c", "d\"e", "", "x\ny", "\""]);
        assert!(matches!(f[1], Cow::Borrowed(_)));
        assert_eq!(csv_fields("a,").unwrap(), ["a", ""]);
        assert_eq!(csv_fields("").unwrap(), [""]);
        assert!(csv_fields(r#""open"#).is_none());
        assert!(csv_fields(r#""a"b,c"#).is_none());
        assert!(csv_fields(r#"a"b,c"#).is_none());
    }

    #[test]
    fn postgresql_csv_error_record() {
        let p = postgresql_csv(PG16_CSV).unwrap();
        assert_eq!(p.format, Format::PostgresqlCsv);
        assert_eq!(p.timestamp_nanos, Some(1_704_164_645_123_000_000));
        assert_eq!(p.severity, Some((17, "ERROR".into())));
        assert_eq!(p.body, Body::Str("relation \"nope\" does not exist".into()));
        let s = |k: &str| match p.attr(k) {
            Some(Value::Str(s)) => s.as_str(),
            other => panic!("{k}: {other:?}"),
        };
        assert_eq!(s("db.system.name"), "postgresql");
        assert_eq!(p.attr("process.pid"), Some(&Value::Int(4242)));
        assert_eq!(s("user.name"), "app");
        assert_eq!(s("db.namespace"), "shop");
        assert_eq!(s("client.address"), "10.0.0.7");
        assert_eq!(p.attr("client.port"), Some(&Value::Int(51234)));
        assert_eq!(s("session.id"), "65940d25.1092");
        assert_eq!(s("postgresql.command_tag"), "SELECT");
        assert_eq!(s("db.response.status_code"), "42P01");
        assert_eq!(
            s("db.query.text"),
            "select *\n  from nope\n where note = 'a,b'"
        );
        assert_eq!(s("postgresql.application_name"), "psql");
        assert_eq!(s("postgresql.backend_type"), "client backend");
        assert!(p.attr("postgresql.detail").is_none());
        assert!(p.attr("postgresql.hint").is_none());
    }

    #[test]
    fn postgresql_csv_background_fatal_and_old_versions() {
        // PostgreSQL 13 (24 columns), a background process: no user, database or client.
        let p = postgresql_csv(
            "2024-01-02 03:04:05.000 UTC,,,77,,65940d25.4d,1,,2024-01-02 03:04:05 UTC,,0,LOG,00000,\"checkpoint starting: time\",,,,,,,,,\"\",\"checkpointer\"",
        )
        .unwrap();
        assert_eq!(p.severity, Some((9, "LOG".into())));
        assert!(p.attr("user.name").is_none());
        assert!(p.attr("client.address").is_none());
        assert!(p.attr("postgresql.application_name").is_none());
        assert_eq!(
            p.attr("postgresql.backend_type"),
            Some(&Value::Str("checkpointer".into()))
        );
        // 22 columns, an IPv6 client, detail and hint, a numeric zone.
        let p = postgresql_csv(
            r#"2024-01-02 06:04:05.000 +03,"bob","db",78,"2001:db8::5:40000",s.1,1,"authentication",2024-01-02 06:04:05 +03,5/1,0,FATAL,28P01,"password authentication failed for user ""bob""","Connection matched file ""pg_hba.conf"" line 1","Check it.",,,,,,"#,
        )
        .unwrap();
        assert_eq!(p.timestamp_nanos, Some(1_704_164_645_000_000_000));
        assert_eq!(p.severity, Some((21, "FATAL".into())));
        assert_eq!(
            p.attr("client.address"),
            Some(&Value::Str("2001:db8::5".into()))
        );
        assert_eq!(p.attr("client.port"), Some(&Value::Int(40000)));
        assert_eq!(
            p.attr("postgresql.detail"),
            Some(&Value::Str(
                "Connection matched file \"pg_hba.conf\" line 1".into()
            ))
        );
        assert_eq!(
            p.attr("postgresql.hint"),
            Some(&Value::Str("Check it.".into()))
        );
        // A Unix socket client; a zone name leaves the time unknown.
        let rec = PG16_CSV
            .replacen(" UTC,", " CET,", 1)
            .replace("10.0.0.7:51234", "[local]");
        let p = postgresql_csv(&rec).unwrap();
        assert_eq!(p.timestamp_nanos, None);
        assert_eq!(
            p.attr("client.address"),
            Some(&Value::Str("[local]".into()))
        );
        assert!(p.attr("client.port").is_none());
    }

    #[test]
    fn postgresql_csv_refuses_other_text() {
        for rec in [
            "not csv at all",
            "a,b,c",
            "2024-01-02 03:04:05.000 UTC,,,77,,x,1,,,,0,LOG,00000,\"too few\"",
            "yesterday,,,77,,x,1,,,,0,LOG,00000,\"m\",,,,,,,,,,",
            "2024-01-02 03:04:05.000 UTC,,,pid,,x,1,,,,0,LOG,00000,\"m\",,,,,,,,,,",
            "2024-01-02 03:04:05.000 UTC,,,77,,x,1,,,,0,log,00000,\"m\",,,,,,,,,,",
            "2024-01-02 03:04:05.000 UTC,,,77,,x,1,,,,0,LOG,00000,\"unclosed,,,,,,,,,,",
        ] {
            assert!(postgresql_csv(rec).is_none(), "{rec}");
        }
        assert!(postgresql_csv(
            "2024-01-02 03:04:05.000 UTC,,,77,,x,1,,,,0,LOG,00000,\"m\",,,,,,,,"
        )
        .is_some());
    }

    #[test]
    fn mariadb_slow_record() {
        let p = mysql_slow(MARIADB_SLOW).unwrap();
        assert_eq!(p.timestamp_nanos, Some(1_704_164_645_000_000_000));
        assert_eq!(p.body, Body::Str("SELECT SLEEP(2);".into()));
        assert_eq!(p.attr("user.name"), Some(&Value::Str("root".into())));
        assert_eq!(
            p.attr("client.address"),
            Some(&Value::Str("127.0.0.1".into()))
        );
        assert_eq!(p.attr("db.namespace"), Some(&Value::Str("test".into())));
        assert_eq!(
            p.attr("mysql.slow.query_time"),
            Some(&Value::Double(2.000213))
        );
        assert_eq!(p.attr("mysql.slow.lock_time"), Some(&Value::Double(0.0001)));
        assert_eq!(p.attr("mysql.slow.rows_sent"), Some(&Value::Int(1)));
        assert_eq!(p.attr("mysql.slow.rows_examined"), Some(&Value::Int(0)));
        assert_eq!(p.attr("thread.id"), Some(&Value::Int(8)));
    }

    #[test]
    fn mysql8_slow_record_with_use_and_multiline_statement() {
        let rec = "# Time: 2024-01-02T03:04:05.123456Z
# User@Host: app[app] @  [10.0.0.7]  Id:    12
# Query_time: 0.512000  Lock_time: 0.000010 Rows_sent: 3  Rows_examined: 90210
use shop;
SET timestamp=1704164645;
SELECT *
  FROM orders
 WHERE total > 100;";
        let p = mysql_slow(rec).unwrap();
        assert_eq!(p.attr("db.namespace"), Some(&Value::Str("shop".into())));
        assert_eq!(
            p.attr("client.address"),
            Some(&Value::Str("10.0.0.7".into()))
        );
        assert_eq!(p.attr("thread.id"), Some(&Value::Int(12)));
        assert_eq!(
            p.body,
            Body::Str("SELECT *\n  FROM orders\n WHERE total > 100;".into())
        );
        assert_eq!(p.attr("mysql.slow.rows_examined"), Some(&Value::Int(90210)));
        assert!(
            mysql_slow("# Time: 241130 13:50:35\n/usr/sbin/mariadbd, Version: 10.11").is_none()
        );
    }

    #[test]
    fn postgresql_error_with_statement() {
        let rec = "2024-01-02 03:04:05.123 UTC [4242] app@shop ERROR:  relation \"nope\" does not exist at character 15
2024-01-02 03:04:05.123 UTC [4242] app@shop STATEMENT:  select * from nope
\t  where id = 1;";
        let p = postgresql(rec).unwrap();
        assert_eq!(p.severity, Some((17, "ERROR".into())));
        assert_eq!(p.timestamp_nanos, Some(1_704_164_645_123_000_000));
        assert_eq!(p.attr("process.pid"), Some(&Value::Int(4242)));
        assert_eq!(p.attr("user.name"), Some(&Value::Str("app".into())));
        assert_eq!(p.attr("db.namespace"), Some(&Value::Str("shop".into())));
        assert_eq!(
            p.attr("db.query.text"),
            Some(&Value::Str("select * from nope\n  where id = 1;".into()))
        );
        assert_eq!(
            p.body,
            Body::Str("relation \"nope\" does not exist at character 15".into())
        );
        assert!(pg_continues(
            "2024-01-02 03:04:05.123 UTC [4242] app@shop STATEMENT:  x"
        ));
        assert!(pg_continues("\t  where id = 1;"));
        assert!(!pg_continues(
            "2024-01-02 03:04:06.000 UTC [4242] app@shop LOG:  y"
        ));
    }

    #[test]
    fn postgresql_background_and_fatal_lines() {
        let p =
            postgresql("2024-01-02 03:04:05.000 UTC [77] LOG:  checkpoint starting: time").unwrap();
        assert_eq!(p.severity, Some((9, "LOG".into())));
        assert_eq!(p.attr("user.name"), None);
        let p = postgresql(
            "2024-01-02 03:04:05.000 UTC [78] bob@db FATAL:  password authentication failed for user \"bob\"\n2024-01-02 03:04:05.000 UTC [78] bob@db DETAIL:  Connection matched pg_hba.conf line 1",
        )
        .unwrap();
        assert_eq!(p.severity, Some((21, "FATAL".into())));
        assert_eq!(
            p.attr("postgresql.detail"),
            Some(&Value::Str("Connection matched pg_hba.conf line 1".into()))
        );
        assert!(postgresql("not a postgres line").is_none());
    }
}
