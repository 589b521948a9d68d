//! Against the real Redis on 127.0.0.1:6379: keys written through this crate's own RESP client
//! show up in `redis.db.keys`, and refused credentials are `auth` errors.
#![allow(clippy::unwrap_used)]

use lookout_integrations::redis::{
    parse_info, redis_metrics, RedisConn, RedisEndpoint, RedisOptions, Reply,
};
use lookout_model::otlp::{metric::Data, number_data_point::Value};
use lookout_model::{attr, MetricsBuilder};
use std::time::Duration;

const ENDPOINT: &str = "127.0.0.1:6379";
const START_HINT: &str =
    "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no";
const TIMEOUT: Duration = Duration::from_secs(5);
const KEYS: usize = 25;

async fn connect() -> RedisConn {
    let ep = RedisEndpoint::parse(ENDPOINT).unwrap();
    match RedisConn::connect(&ep, None, None, TIMEOUT).await {
        Ok(conn) => conn,
        Err(e) => panic!(
            "this test needs a Redis server on {ENDPOINT}, which is not reachable ({e}); \
             start one with: {START_HINT}"
        ),
    }
}

/// `redis.db.keys{db="9"}` from one collection (0 when db 9 is empty: Redis omits the line).
async fn db9_keys(conn: &mut RedisConn) -> i64 {
    let info = parse_info(&conn.info().await.unwrap());
    assert_eq!(info.garbage_lines, 0, "a real INFO reply parses cleanly");
    let mut b = MetricsBuilder::new(vec![], "test", "0");
    redis_metrics(
        &info,
        &mut b,
        lookout_model::now_nanos(),
        &RedisOptions::default(),
    );
    let req = b.finish();
    let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
    assert!(metrics.iter().any(|m| m.name == "redis.uptime"));
    let Some(m) = metrics.iter().find(|m| m.name == "redis.db.keys") else {
        return 0;
    };
    let Some(Data::Gauge(g)) = &m.data else {
        panic!("redis.db.keys is not a gauge");
    };
    g.data_points
        .iter()
        .find(|p| attr::get_str(&p.attributes, "db") == Some("9"))
        .map(|p| match p.value {
            Some(Value::AsInt(v)) => v,
            other => panic!("redis.db.keys value {other:?}"),
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn keys_written_show_in_db_keys_and_bad_credentials_are_auth_errors() {
    let mut conn = connect().await;
    assert_eq!(
        conn.command(&[b"SELECT", b"9"]).await.unwrap(),
        Reply::Simple("OK".into())
    );
    let prefix = format!(
        "lookout-integrations-test:{}:{}:",
        std::process::id(),
        lookout_model::now_nanos()
    );
    let keys: Vec<String> = (0..KEYS).map(|i| format!("{prefix}{i}")).collect();

    let before = db9_keys(&mut conn).await;
    for key in &keys {
        let reply = conn
            .command(&[b"SET", key.as_bytes(), b"v", b"EX", b"600"])
            .await
            .unwrap();
        assert_eq!(reply, Reply::Simple("OK".into()));
    }
    let after = db9_keys(&mut conn).await;

    // credentials that cannot be right, with a username so that it fails even when the
    // default user has no password
    let ep = RedisEndpoint::parse(ENDPOINT).unwrap();
    let refused = RedisConn::connect(&ep, Some("nosuchuser"), Some("wrong"), TIMEOUT).await;

    // clean up before asserting anything
    let mut del: Vec<&[u8]> = vec![b"DEL"];
    del.extend(keys.iter().map(|k| k.as_bytes()));
    let deleted = conn.command(&del).await.unwrap();

    assert_eq!(
        after - before,
        KEYS as i64,
        "redis.db.keys{{db=9}} went from {before} to {after}"
    );
    let err = refused.unwrap_err();
    assert_eq!(err.kind(), "auth", "{err}");
    assert!(!err.to_string().contains("wrong"), "{err}");
    assert_eq!(deleted, Reply::Integer(KEYS as i64));
    assert_eq!(db9_keys(&mut conn).await, before);
}

#[tokio::test]
async fn info_everything_has_the_usual_sections() {
    let mut conn = connect().await;
    let info = parse_info(&conn.info().await.unwrap());
    for section in [
        "Server",
        "Clients",
        "Memory",
        "Stats",
        "Replication",
        "CPU",
        "Keyspace",
    ] {
        assert!(info.section(section).is_some(), "no # {section}");
    }
    assert!(info.int("uptime_in_seconds").is_some());
    // nothing is wrong with asking twice on one connection
    assert!(conn.info().await.unwrap().contains("redis_version:"));
}
