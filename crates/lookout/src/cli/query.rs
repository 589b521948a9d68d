//! `lookout query "SQL"`: read-only SQL on the local store. With a running agent (its control
//! socket answers), the agent runs it on a connection of its own, so its writer is not
//! blocked; with none, the store file is opened read-only. `--saved NAME` runs a saved query,
//! `--saved list` lists them.

use super::out;
use lookout_store::query::{render_csv, render_table, QueryResult, SAVED};
use std::process::ExitCode;
use std::time::Duration;

/// `lookout query` options.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// The SQL (one read-only statement), or nothing with --saved.
    pub sql: Option<String>,
    /// A saved query by name (`list` lists them).
    #[arg(long)]
    pub saved: Option<String>,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
    pub format: String,
    /// Rows kept at most.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Stop a query running longer than this many seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Print the store's schema as DDL (`duckdb`, or `clickhouse`: the same tables for a
    /// ClickHouse server) and exit.
    #[arg(long, value_parser = ["duckdb", "clickhouse"])]
    pub ddl: Option<String>,
    /// The store file, when no agent runs (default: the one in the data directory, or the
    /// `path` of the configuration's duckdb sink).
    #[arg(long)]
    pub store: Option<std::path::PathBuf>,
}

/// Runs the command.
pub fn main(g: &super::Global, o: Options) -> anyhow::Result<ExitCode> {
    if let Some(dialect) = &o.ddl {
        for t in &lookout_store::schema::TABLES {
            if dialect == "clickhouse" {
                out(lookout_store::schema::clickhouse_ddl(t).trim_end())?;
            } else {
                out(lookout_store::schema::duckdb_ddl(t).trim_end())?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let sql = match (&o.saved, &o.sql) {
        (Some(name), _) if name == "list" => {
            if o.format == "json" {
                let v: Vec<_> = SAVED
                    .iter()
                    .map(|(n, d, q)| serde_json::json!({"name": n, "description": d, "sql": q}))
                    .collect();
                out(&serde_json::Value::Array(v).to_string())?;
            } else {
                for (n, d, _) in SAVED {
                    out(&format!("{n:<20} {d}"))?;
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        (Some(name), _) => match lookout_store::query::saved(name) {
            Some(q) => q.to_string(),
            None => {
                eprintln!(
                    "error: no saved query `{name}`; the saved queries are: {}",
                    SAVED
                        .iter()
                        .map(|(n, _, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                return Ok(ExitCode::from(2));
            }
        },
        (None, Some(sql)) => sql.clone(),
        (None, None) => {
            eprintln!("error: give the SQL to run, or --saved NAME (--saved list lists them)");
            return Ok(ExitCode::from(2));
        }
    };
    let timeout = Duration::from_secs(o.timeout.max(1));
    let dir = super::data_dir(g);
    let mut result = via_agent(&dir, &sql, o.limit, timeout);
    // an agent that holds the data directory but has no control socket yet is starting: the
    // store file is its own (opening it here would keep it from starting), so wait for it
    if result.is_none() && crate::datadir::agent_holds(&dir) {
        let until = std::time::Instant::now() + Duration::from_secs(30);
        while result.is_none()
            && std::time::Instant::now() < until
            && crate::datadir::agent_holds(&dir)
        {
            std::thread::sleep(Duration::from_millis(100));
            result = via_agent(&dir, &sql, o.limit, timeout);
        }
        if result.is_none() && crate::datadir::agent_holds(&dir) {
            eprintln!(
                "error: an agent is starting on {} and does not answer yet; try again",
                dir.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    let result = match result {
        Some(r) => r,
        None => offline(g, &o, &sql, timeout),
    };
    match result {
        Ok(r) => {
            match o.format.as_str() {
                "json" => out(&serde_json::to_string(&r)?)?,
                "csv" => out(render_csv(&r).trim_end())?,
                _ => out(render_table(&r).trim_end())?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Through a running agent's control socket; None when no agent answers there.
fn via_agent(
    dir: &std::path::Path,
    sql: &str,
    limit: usize,
    timeout: Duration,
) -> Option<Result<QueryResult, String>> {
    if !crate::control::socket_path(dir).exists() {
        return None;
    }
    let req = lookout_api::QueryRequest {
        sql: sql.to_string(),
        limit,
        timeout_ms: timeout.as_millis() as u64,
    };
    let client = lookout_api::Client::new(dir).with_timeout(timeout + Duration::from_secs(5));
    match client.post::<_, QueryResult>(lookout_api::paths::QUERY, &req) {
        Ok(r) => Some(Ok(r)),
        // a socket nobody listens on: the agent is gone
        Err(lookout_api::Error::NotRunning(_)) => None,
        Err(lookout_api::Error::Refused(_, m)) => Some(Err(m)),
        Err(e) => Some(Err(e.to_string())),
    }
}

/// On the file, read-only.
fn offline(
    g: &super::Global,
    o: &Options,
    sql: &str,
    timeout: Duration,
) -> Result<QueryResult, String> {
    let path = match &o.store {
        Some(p) => p.clone(),
        None => {
            let dir = super::data_dir(g);
            let configured = super::load_config(g, None).ok().and_then(|c| {
                c.sinks.iter().find_map(|s| match &s.kind {
                    lookout_config::SinkKind::Duckdb(d) => {
                        Some(lookout_store::sink::store_path(d, &dir))
                    }
                    _ => None,
                })
            });
            configured.unwrap_or_else(|| dir.join("store").join("lookout.duckdb"))
        }
    };
    let conn = lookout_store::query::open_read_only(&path)?;
    lookout_store::query::run(&conn, sql, o.limit, timeout)
}
