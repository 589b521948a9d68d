//! Log formats of the integrated services: the MySQL/MariaDB slow query log (a multi-line
//! record) and PostgreSQL's stderr log with Debian's default `log_line_prefix`.

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
