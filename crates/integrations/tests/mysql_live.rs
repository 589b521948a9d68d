//! Against the real MariaDB / MySQL on 127.0.0.1:3306 (user root, empty password): statements
//! run through `mysql_async` show up in `mysql.query.count` and `mysql.commands`, a wrong
//! password is an `auth` error, and an account without privileges still collects everything but
//! the replica status (skipped, with the GRANT that fixes it), over TCP and the Unix socket.
#![allow(clippy::unwrap_used)]
// getrusage(2) for the CPU time of one collection
#![allow(unsafe_code)]

use lookout_integrations::mysql::{
    collect_mysql, Flavor, MysqlConfigLite, MysqlError, MysqlInfo, Replication,
};
use lookout_integrations::StableStart;
use lookout_model::otlp::{metric::Data, number_data_point::Value, ExportMetricsServiceRequest};
use lookout_model::{attr, MetricsBuilder};
use mysql_async::prelude::Queryable;
use std::time::{Duration, Instant};

const ENDPOINT: &str = "127.0.0.1:3306";
const SOCKET: &str = "/run/mysqld/mysqld.sock";
const START_HINT: &str =
    "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";
const TIMEOUT: Duration = Duration::from_secs(10);
const N: usize = 50;
const NOPRIVS: &str = "lookout_noprivs";

fn cfg(endpoint: &str, user: &str, password: Option<&str>) -> MysqlConfigLite {
    MysqlConfigLite {
        endpoint: endpoint.into(),
        username: user.into(),
        password: password.map(str::to_string),
        timeout: TIMEOUT,
        table_sizes: 0,
    }
}

/// A root connection for the test's own statements; fails the test, saying how to start the
/// server, when there is none.
async fn root() -> mysql_async::Conn {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(3306)
        .user(Some("root"))
        .prefer_socket(false)
        .db_name(Some("test"));
    match tokio::time::timeout(TIMEOUT, mysql_async::Conn::new(opts)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!(
            "this test needs MariaDB/MySQL on {ENDPOINT} (root, empty password, database \
             `test`), which is not reachable ({e}); start it with: {START_HINT}"
        ),
        Err(_) => panic!(
            "MariaDB on {ENDPOINT} did not answer within {TIMEOUT:?}; start it with: {START_HINT}"
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

async fn collect(
    c: &MysqlConfigLite,
    stable: &mut StableStart,
) -> Result<(ExportMetricsServiceRequest, MysqlInfo), MysqlError> {
    let mut b = MetricsBuilder::new(vec![], "test", "0");
    let info = collect_mysql(c, &mut b, lookout_model::now_nanos(), stable).await?;
    Ok((b.finish(), info))
}

fn point(
    req: &ExportMetricsServiceRequest,
    name: &str,
    attrs: &[(&str, &str)],
) -> Option<(i64, u64)> {
    let m = req.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)?;
    let Some(Data::Sum(s)) = &m.data else {
        panic!("{name} is not a sum");
    };
    s.data_points
        .iter()
        .find(|p| {
            p.attributes.len() == attrs.len()
                && attrs
                    .iter()
                    .all(|(k, v)| attr::get_str(&p.attributes, k) == Some(*v))
        })
        .map(|p| match p.value {
            Some(Value::AsInt(v)) => (v, p.start_time_unix_nano),
            other => panic!("{name}: value {other:?}"),
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
async fn select_statements_show_in_query_count_and_commands() {
    let mut conn = root().await;
    let c = cfg(ENDPOINT, "root", None);
    let mut stable = StableStart::new();

    let (before, info) = collect(&c, &mut stable).await.unwrap();
    assert!(!info.version.is_empty());
    assert_eq!(info.flavor, Flavor::from_version(&info.version));
    assert_eq!(info.account, "root@127.0.0.1");
    assert!(info.max_connections.unwrap_or(0) > 0);
    assert_eq!(
        info.replication,
        Replication::NotReplica,
        "root may read it; not a replica"
    );

    for i in 0..N {
        let one: Option<i64> = conn.query_first(format!("SELECT {i}")).await.unwrap();
        assert_eq!(one, Some(i as i64));
    }

    let (after, _) = collect(&c, &mut stable).await.unwrap();
    let (q0, s0) = point(&before, "mysql.query.count", &[]).unwrap();
    let (q1, s1) = point(&after, "mysql.query.count", &[]).unwrap();
    assert!(q1 - q0 >= N as i64, "Queries grew by {} only", q1 - q0);
    assert_eq!(
        s0, s1,
        "the start time stays put from one collection to the next"
    );
    assert!(s0 > 0);
    let sel = [("command", "select")];
    let (c0, _) = point(&before, "mysql.commands", &sel).unwrap();
    let (c1, _) = point(&after, "mysql.commands", &sel).unwrap();
    assert!(c1 - c0 >= N as i64, "Com_select grew by {} only", c1 - c0);
    for name in [
        "mysql.uptime",
        "mysql.threads",
        "mysql.buffer_pool.pages",
        "mysql.buffer_pool.data_pages",
        "mysql.buffer_pool.usage",
        "mysql.buffer_pool.limit",
        "mysql.handlers",
        "mysql.connection.count",
        "mysql.table_open_cache",
    ] {
        assert!(data_points_of(&after, name) > 0, "{name}");
    }
    assert!(point(&after, "mysql.replica.time_behind_source", &[]).is_none());

    // one collection's cost, and what it yields (warm: the connection is new each time anyway)
    let rounds = 10u32;
    let (wall0, cpu0) = (Instant::now(), thread_cpu());
    let mut series = 0;
    for _ in 0..rounds {
        let (req, _) = collect(&c, &mut stable).await.unwrap();
        series = data_points(&req);
    }
    let (wall, cpu) = (wall0.elapsed() / rounds, (thread_cpu() - cpu0) / rounds);
    println!(
        "mysql collection against {} {}: {series} data points in {} metrics; \
         wall {wall:?}, CPU {cpu:?} per collection (mean of {rounds})",
        info.version,
        ENDPOINT,
        after.resource_metrics[0].scope_metrics[0].metrics.len()
    );
    assert!(series > 80);
    conn.disconnect().await.unwrap();
}

fn data_points_of(req: &ExportMetricsServiceRequest, name: &str) -> usize {
    req.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .filter(|m| m.name == name)
        .map(|m| match &m.data {
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Gauge(g)) => g.data_points.len(),
            _ => 0,
        })
        .sum()
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_error_that_does_not_show_it() {
    let _ = root().await; // fails with the start hint when there is no server
    let secret = "definitely-not-the-password-7319";
    let c = cfg(ENDPOINT, "root", Some(secret));
    let mut b = MetricsBuilder::new(vec![], "test", "0");
    let e = collect_mysql(
        &c,
        &mut b,
        lookout_model::now_nanos(),
        &mut StableStart::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), "auth", "{e}");
    assert!(!e.to_string().contains(secret), "{e}");
    assert!(!format!("{e:?}").contains(secret));
    assert!(e.hint().is_some());
    assert!(b.is_empty());

    let c = cfg(ENDPOINT, "no_such_user_lookout", Some("x"));
    let e = collect_mysql(
        &c,
        &mut b,
        lookout_model::now_nanos(),
        &mut StableStart::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), "auth", "{e}");
}

#[tokio::test]
async fn an_account_without_privileges_collects_all_but_the_replica_status() {
    let mut conn = root().await;
    // the TCP login matches '...'@'127.0.0.1' (skip_name_resolve), the socket one '...'@'localhost'
    for host in ["127.0.0.1", "localhost"] {
        conn.query_drop(format!(
            "CREATE USER IF NOT EXISTS '{NOPRIVS}'@'{host}' IDENTIFIED BY 'x'"
        ))
        .await
        .unwrap();
    }
    let outcome = async {
        for (endpoint, host) in [(ENDPOINT, "127.0.0.1"), (SOCKET, "localhost")] {
            let c = cfg(endpoint, NOPRIVS, Some("x"));
            let (req, info) = collect(&c, &mut StableStart::new()).await.unwrap();
            assert_eq!(info.account, format!("{NOPRIVS}@{host}"), "{endpoint}");
            match &info.replication {
                Replication::Skipped { reason, hint } => {
                    assert!(
                        reason.contains("REPLICA") || reason.contains("SLAVE"),
                        "{reason}"
                    );
                    let want = match info.flavor {
                        Flavor::Mariadb => {
                            format!("GRANT SLAVE MONITOR ON *.* TO '{NOPRIVS}'@'{host}';")
                        }
                        Flavor::Mysql => {
                            format!("GRANT REPLICATION CLIENT ON *.* TO '{NOPRIVS}'@'{host}';")
                        }
                    };
                    assert_eq!(hint, &want);
                    assert_eq!(&info.grant_hint(), &want);
                }
                other => panic!("{endpoint}: replication {other:?}"),
            }
            // the global status needs no privilege
            assert!(point(&req, "mysql.uptime", &[]).is_some(), "{endpoint}");
            assert!(
                point(&req, "mysql.query.count", &[]).is_some(),
                "{endpoint}"
            );
            assert!(
                data_points(&req) > 80,
                "{endpoint}: {} points",
                data_points(&req)
            );
        }
    }
    .await;
    for host in ["127.0.0.1", "localhost"] {
        conn.query_drop(format!("DROP USER IF EXISTS '{NOPRIVS}'@'{host}'"))
            .await
            .unwrap();
    }
    outcome
}
