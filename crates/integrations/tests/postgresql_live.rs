//! Against the real PostgreSQL on 127.0.0.1:5432 (trust authentication, role postgres,
//! databases test, root, postgres): rows inserted in a committed transaction show up in
//! `postgresql.commits` and in the table's row and insert counters, a role that does not exist
//! is an `auth` error, a listed database that does not exist is skipped with a note, and the Unix
//! socket works too.
#![allow(clippy::unwrap_used)]
// getrusage(2) for the CPU time of one collection
#![allow(unsafe_code)]

use lookout_integrations::postgresql::{collect_postgresql, PgConfigLite, PgError, PgInfo};
use lookout_integrations::StableStart;
use lookout_model::otlp::{metric::Data, number_data_point::Value, ExportMetricsServiceRequest};
use lookout_model::{attr, MetricsBuilder};
use std::time::{Duration, Instant};

const ENDPOINT: &str = "127.0.0.1:5432";
const SOCKET_DIR: &str = "/var/run/postgresql";
const START_HINT: &str = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
const TIMEOUT: Duration = Duration::from_secs(10);
const N: i64 = 50;

fn cfg(endpoint: &str, user: &str, databases: &[&str]) -> PgConfigLite {
    let mut c = PgConfigLite::new(endpoint, user);
    c.databases = databases.iter().map(|d| d.to_string()).collect();
    c.timeout = TIMEOUT;
    c
}

/// A client of database `test` for the test's own statements; fails the test, saying how to
/// start the server, when there is none.
async fn client() -> tokio_postgres::Client {
    let mut c = tokio_postgres::Config::new();
    c.host("127.0.0.1")
        .port(5432)
        .user("postgres")
        .dbname("test")
        .connect_timeout(TIMEOUT);
    match c.connect(tokio_postgres::NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            client
        }
        Err(e) => panic!(
            "this test needs PostgreSQL on {ENDPOINT} (trust authentication, role postgres, \
             database test), which is not reachable ({e}); start it with: {START_HINT}"
        ),
    }
}

/// This thread's CPU time (user + system).
fn thread_cpu() -> Duration {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_THREAD is valid on Linux.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, ru.as_mut_ptr()) };
    assert_eq!(rc, 0);
    // SAFETY: zero-initialised and filled by a successful call.
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

async fn collect(c: &PgConfigLite) -> Result<(ExportMetricsServiceRequest, PgInfo), PgError> {
    let mut b = MetricsBuilder::new(vec![], "test", "0");
    let info = collect_postgresql(
        c,
        &mut b,
        lookout_model::now_nanos(),
        &mut StableStart::new(),
    )
    .await?;
    Ok((b.finish(), info))
}

/// The value of the point of `name` whose attributes are exactly `attrs`.
fn value(req: &ExportMetricsServiceRequest, name: &str, attrs: &[(&str, &str)]) -> Option<i64> {
    let m = req.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)?;
    let points = match &m.data {
        Some(Data::Sum(s)) => &s.data_points,
        Some(Data::Gauge(g)) => &g.data_points,
        other => panic!("{name}: {other:?}"),
    };
    points
        .iter()
        .find(|p| {
            p.attributes.len() == attrs.len()
                && attrs
                    .iter()
                    .all(|(k, v)| attr::get_str(&p.attributes, k) == Some(*v))
        })
        .map(|p| match p.value {
            Some(Value::AsInt(v)) => v,
            Some(Value::AsDouble(d)) => d as i64,
            None => panic!("{name}: no value"),
        })
}

fn data_points(req: &ExportMetricsServiceRequest) -> usize {
    req.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| match &m.data {
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Gauge(g)) => g.data_points.len(),
            _ => 0,
        })
        .sum()
}

#[tokio::test]
async fn committed_inserts_show_in_commits_and_the_tables_counters() {
    let db = client().await;
    let table = format!(
        "lookout_it_{}_{}",
        std::process::id(),
        lookout_model::now_nanos() % 1_000_000_000
    );
    db.batch_execute(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, v text)"
    ))
    .await
    .unwrap();

    let outcome = async {
        // every database, tables unbounded enough to hold the new one whatever else is there
        let mut c = cfg(ENDPOINT, "postgres", &[]);
        c.max_tables = 10_000;
        let test = [("db.namespace", "test")];
        let (before, info) = collect(&c).await.unwrap();
        assert!(info.version_num >= 100_000, "{info:?}");
        assert!(info.databases.iter().any(|d| d == "test"), "{info:?}");
        assert!(info.databases.iter().any(|d| d == "postgres"), "{info:?}");
        assert!(info.notes.is_empty(), "{:?}", info.notes);
        let commits0 = value(&before, "postgresql.commits", &test).unwrap();

        let mut statements = String::from("BEGIN;");
        for i in 0..N {
            statements.push_str(&format!("INSERT INTO {table} VALUES ({i}, 'row {i}');"));
        }
        statements.push_str("COMMIT;");
        db.batch_execute(&statements).await.unwrap();
        // PostgreSQL 15+ reports a backend's statistics at most once a second: ask for it now
        if info.version_num >= 150_000 {
            db.batch_execute("SELECT pg_stat_force_next_flush()")
                .await
                .unwrap();
        }

        let ns = "test|public";
        let id = [("db.namespace", ns), ("db.collection.name", table.as_str())];
        let with = |k: &'static str, v: &'static str| {
            let mut a = id.to_vec();
            a.push((k, v));
            a
        };
        let waited = Instant::now();
        loop {
            let (after, _) = collect(&c).await.unwrap();
            let commits1 = value(&after, "postgresql.commits", &test).unwrap();
            let inserted = value(&after, "postgresql.operations", &with("operation", "ins"));
            let live = value(&after, "postgresql.rows", &with("state", "live"));
            if commits1 > commits0 && inserted == Some(N) && live == Some(N) {
                assert_eq!(
                    value(&after, "postgresql.table.count", &test).map(|v| v > 0),
                    Some(true)
                );
                assert!(value(&after, "postgresql.table.size", &id).unwrap() > 0);
                let pkey = format!("{table}_pkey");
                let idx = [
                    ("db.namespace", ns),
                    ("db.collection.name", table.as_str()),
                    ("postgresql.index.name", pkey.as_str()),
                ];
                assert!(value(&after, "postgresql.index.size", &idx).unwrap() > 0);
                break;
            }
            assert!(
                waited.elapsed() < Duration::from_secs(5),
                "statistics did not show the commit within 5 s: commits {commits0} -> \
                 {commits1}, inserted {inserted:?}, live {live:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    .await;
    db.batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
        .await
        .unwrap();
    outcome
}

#[tokio::test]
async fn one_default_collection_costs_and_yields() {
    let _ = client().await;
    let c = cfg(ENDPOINT, "postgres", &[]);
    let (req, info) = collect(&c).await.unwrap();
    for name in [
        "postgresql.backends",
        "postgresql.commits",
        "postgresql.rollbacks",
        "postgresql.db_size",
        "postgresql.deadlocks",
        "postgresql.temp_files",
        "postgresql.connection.max",
        "postgresql.database.count",
        "postgresql.bgwriter.buffers.allocated",
        "postgresql.bgwriter.checkpoint.count",
        "postgresql.bgwriter.maxwritten",
        "postgresql.table.count",
    ] {
        assert!(
            req.resource_metrics[0].scope_metrics[0]
                .metrics
                .iter()
                .any(|m| m.name == name),
            "{name}"
        );
    }
    assert!(value(&req, "postgresql.database.count", &[]).unwrap() >= 3);

    let rounds = 10u32;
    let (wall0, cpu0) = (Instant::now(), thread_cpu());
    let mut series = 0;
    for _ in 0..rounds {
        let (req, _) = collect(&c).await.unwrap();
        series = data_points(&req);
    }
    let (wall, cpu) = (wall0.elapsed() / rounds, (thread_cpu() - cpu0) / rounds);
    println!(
        "postgresql collection against {} at {ENDPOINT} ({} databases read): {series} data \
         points in {} metrics; wall {wall:?}, CPU {cpu:?} per collection (mean of {rounds})",
        info.version,
        info.databases.len(),
        req.resource_metrics[0].scope_metrics[0].metrics.len()
    );
    assert!(series > 20);
}

#[tokio::test]
async fn the_unix_socket_works_and_a_missing_database_is_noted() {
    let _ = client().await;
    let c = cfg(SOCKET_DIR, "postgres", &["test", "no_such_db_lookout"]);
    let (req, info) = collect(&c).await.unwrap();
    assert_eq!(info.databases, ["test"]);
    assert_eq!(info.notes.len(), 1, "{:?}", info.notes);
    assert!(
        info.notes[0].contains("no_such_db_lookout"),
        "{:?}",
        info.notes
    );
    // only the listed databases that exist
    assert!(value(&req, "postgresql.commits", &[("db.namespace", "test")]).is_some());
    assert!(value(&req, "postgresql.commits", &[("db.namespace", "postgres")]).is_none());

    // the first database is the one connected to: its absence fails the collection
    let c = cfg(SOCKET_DIR, "postgres", &["no_such_db_lookout"]);
    let e = collect(&c).await.unwrap_err();
    assert_eq!(e.kind(), "server", "{e}");
    assert!(e.to_string().contains("3D000"), "{e}");
}

#[tokio::test]
async fn a_role_that_does_not_exist_is_an_auth_error() {
    let _ = client().await;
    let mut c = cfg(ENDPOINT, "no_such_role_lookout", &[]);
    c.password = Some("not-the-password-9931".into());
    let mut b = MetricsBuilder::new(vec![], "test", "0");
    let e = collect_postgresql(
        &c,
        &mut b,
        lookout_model::now_nanos(),
        &mut StableStart::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), "auth", "{e}");
    assert!(e.to_string().contains("28000"), "{e}");
    assert!(!e.to_string().contains("not-the-password-9931"));
    assert!(e.hint().is_some());
    assert!(b.is_empty());
}
