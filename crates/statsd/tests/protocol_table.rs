//! A table of DogStatsD protocol lines, valid and invalid, with the expected parse (the
//! `to_json` fields that must match) or the expected error reason.
#![allow(clippy::unwrap_used)]

use lookout_statsd::{error_json, lines, parse_line};
use serde_json::{json, Value};

enum Expect {
    /// Every key of the object must equal the same key of `Line::to_json`.
    Ok(Value),
    /// The error reason.
    Err(&'static str),
}

use Expect::{Err as E, Ok as J};

fn table() -> Vec<(&'static [u8], Expect)> {
    vec![
        // ---- metrics: every type ----
        (
            b"page.views:1|c",
            J(json!({"type": "metric", "name": "page.views", "kind": "c", "values": [1.0],
                "sample_rate": 1.0, "tags": {}, "container_id": null, "timestamp": null})),
        ),
        (b"fuel.level:0.5|g", J(json!({"kind": "g", "values": [0.5]}))),
        (b"song.length:240|h|@0.5", J(json!({"kind": "h", "values": [240.0], "sample_rate": 0.5}))),
        (b"users.uniques:1234|s", J(json!({"kind": "s", "values": ["1234"]}))),
        (b"api.latency:12.5|ms", J(json!({"kind": "ms", "values": [12.5]}))),
        (b"payload.size:1024|d", J(json!({"kind": "d", "values": [1024.0]}))),
        // ---- values ----
        (b"m:1:2:32|d", J(json!({"values": [1.0, 2.0, 32.0]}))),
        (b"m:1::2:|c", J(json!({"values": [1.0, 2.0]}))),
        (b"t:1:2|ms|@0.1", J(json!({"values": [1.0, 2.0], "sample_rate": 0.1}))),
        (b"h:1:2:3:4:5:6:7|h", J(json!({"values": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]}))),
        (b"g:1:+2:-3|g", J(json!({"values": [1.0, {"delta": 2.0}, {"delta": -3.0}]}))),
        (b"g:-5|g", J(json!({"values": [{"delta": -5.0}]}))),
        (b"g:+0.5|g", J(json!({"values": [{"delta": 0.5}]}))),
        (b"s:a:b:c|s", J(json!({"values": ["a:b:c"]}))),
        (b"s:user@example.com|s", J(json!({"values": ["user@example.com"]}))),
        (b"c:-3|c", J(json!({"values": [-3.0]}))),
        (b"c:1e3|c", J(json!({"values": [1000.0]}))),
        (b"c:.5|c", J(json!({"values": [0.5]}))),
        (b"c:+2|c", J(json!({"values": [2.0]}))),
        // ---- sample rates ----
        (b"c:1|c|@1", J(json!({"sample_rate": 1.0}))),
        (b"c:1|c|@0.001", J(json!({"sample_rate": 0.001}))),
        (b"g:1|g|@0.5", J(json!({"kind": "g", "sample_rate": 0.5}))),
        // ---- tags ----
        (b"users.online:1|c|#country:china", J(json!({"tags": {"country": "china"}}))),
        (
            b"users.online:1|c|@0.5|#country:china,env:prod",
            J(json!({"sample_rate": 0.5, "tags": {"country": "china", "env": "prod"}})),
        ),
        (b"c:1|c|#canary", J(json!({"tags": {"canary": ""}}))),
        (b"c:1|c|#a:b,,c,", J(json!({"tags": {"a": "b", "c": ""}}))),
        (b"c:1|c|#", J(json!({"tags": {}}))),
        (b"c:1|c|#:nokey,k:v", J(json!({"tags": {"k": "v"}}))),
        (
            "c:1|c|#città:Zürich,🚀".as_bytes(),
            J(json!({"tags": {"città": "Zürich", "🚀": ""}})),
        ),
        (b"c:1|c|#url:http://x:80/y", J(json!({"tags": {"url": "http://x:80/y"}}))),
        (b"x:1|c|#a:b|#c:d", J(json!({"tags": {"c": "d"}}))),
        (b"x:1|c||#a:b", J(json!({"tags": {"a": "b"}}))),
        // ---- container id, external data, cardinality ----
        (b"c:1|c|c:abc123", J(json!({"container_id": "abc123"}))),
        (b"c:1|c|c:cid|#a:b", J(json!({"container_id": "cid", "tags": {"a": "b"}}))),
        (b"c:1|c|c:ci-abc,in-123", J(json!({"container_id": "ci-abc,in-123"}))),
        (b"c:1|c|c:", J(json!({"container_id": null}))),
        (b"x:1|c|e:it-false,cn-x,pu-y|#a:b", J(json!({"tags": {"a": "b"}, "container_id": null}))),
        (b"x:1|c|card:high", J(json!({"name": "x", "tags": {}}))),
        // ---- timestamps ----
        (b"c:1|c|T1656581400", J(json!({"timestamp": 1656581400}))),
        (b"g:5|g|T1656581400|#a:b", J(json!({"kind": "g", "timestamp": 1656581400}))),
        (b"d:5|d|T1656581400", J(json!({"kind": "d", "timestamp": 1656581400}))),
        // ---- everything, in any order; unknown fields skipped ----
        (
            b"x:1|c|@0.5|#a:b|c:cid|T1700000000",
            J(json!({"sample_rate": 0.5, "tags": {"a": "b"}, "container_id": "cid",
                "timestamp": 1700000000})),
        ),
        (
            b"x:1|c|T17|c:cid|#a:b|@0.25",
            J(json!({"sample_rate": 0.25, "tags": {"a": "b"}, "container_id": "cid",
                "timestamp": 17})),
        ),
        (b"x:1|c|x:unknown|zzz|#a:b", J(json!({"tags": {"a": "b"}}))),
        (b"x:1|c\r", J(json!({"name": "x", "values": [1.0]}))),
        ("métrique.ü:1|c".as_bytes(), J(json!({"name": "métrique.ü"}))),
        (b"my metric:1|c", J(json!({"name": "my metric"}))),
        // ---- invalid metrics ----
        (b"x:\xff|c", E("invalid_utf8")),
        (b"x:1|c|#\xc3", E("invalid_utf8")),
        (b":1|c", E("empty_name")),
        (b"x:1", E("missing_type")),
        (b"x:1|", E("missing_type")),
        (b"x|c", E("missing_value")),
        (b"x", E("missing_value")),
        (b"x:1|z", E("unknown_type")),
        (b"x:1|C", E("unknown_type")),
        (b"x:1|count", E("unknown_type")),
        (b"x:NaN|c", E("bad_value")),
        (b"x:nan|d", E("bad_value")),
        (b"x:inf|g", E("bad_value")),
        (b"x:-infinity|ms", E("bad_value")),
        (b"x:1e|c", E("bad_value")),
        (b"x:1e999|c", E("bad_value")),
        (b"x:abc|ms", E("bad_value")),
        (b"x:0x10|c", E("bad_value")),
        (b"x: 1|c", E("bad_value")),
        (b"x:|c", E("bad_value")),
        (b"x:|s", E("bad_value")),
        (b"x:::|c", E("bad_value")),
        (b"x:1:abc|d", E("bad_value")),
        (b"x:+-1|g", E("bad_value")),
        (b"x:1|c|@0", E("bad_sample_rate")),
        (b"x:1|c|@1.5", E("bad_sample_rate")),
        (b"x:1|c|@-1", E("bad_sample_rate")),
        (b"x:1|c|@abc", E("bad_sample_rate")),
        (b"x:1|c|@", E("bad_sample_rate")),
        (b"x:1|c|@nan", E("bad_sample_rate")),
        (b"x:1|c|T", E("bad_timestamp")),
        (b"x:1|c|T-1", E("bad_timestamp")),
        (b"x:1|c|TABCD", E("bad_timestamp")),
        (b"x:1|c|T0", E("bad_timestamp")),
        (b"x:1|c|T1.5", E("bad_timestamp")),
        (b"x:1|c|T99999999999999999999999", E("bad_timestamp")),
        (b"", E("empty_line")),
        // ---- events ----
        (
            b"_e{5,4}:title|text",
            J(json!({"type": "event", "title": "title", "text": "text", "timestamp": null,
                "hostname": null, "aggregation_key": null, "priority": "normal",
                "source_type": null, "alert_type": "info", "tags": {}})),
        ),
        (
            b"_e{21,36}:An exception occurred|Cannot parse CSV file from 10.0.0.17|t:warning|#err_type:bad_file",
            J(json!({"title": "An exception occurred", "text": "Cannot parse CSV file from 10.0.0.17",
                "alert_type": "warning", "tags": {"err_type": "bad_file"}})),
        ),
        (b"_e{3,3}:a|b|c|d", J(json!({"title": "a|b", "text": "c|d"}))),
        (
            b"_e{4,12}:a\\nb|line1\\nline2",
            J(json!({"title": "a\nb", "text": "line1\nline2"})),
        ),
        (
            b"_e{1,1}:T|x|d:1700000000|h:host1|k:key1|p:low|s:my_apps|t:success|#a:b,c",
            J(json!({"timestamp": 1700000000, "hostname": "host1", "aggregation_key": "key1",
                "priority": "low", "source_type": "my_apps", "alert_type": "success",
                "tags": {"a": "b", "c": ""}})),
        ),
        (b"_e{1,1}:T|x|t:error|p:normal", J(json!({"alert_type": "error", "priority": "normal"}))),
        (b"_e{1,1}:T|x|d:abc", J(json!({"timestamp": null}))),
        (b"_e{1,1}:T|x|d:-5", J(json!({"timestamp": null}))),
        (b"_e{1,1}:T|x|p:urgent", J(json!({"priority": "normal"}))),
        (b"_e{1,1}:T|x|t:fatal", J(json!({"alert_type": "info"}))),
        ("_e{2,3}:é|€".as_bytes(), J(json!({"title": "é", "text": "€"}))),
        (b"_e{1,0}:T|", J(json!({"title": "T", "text": ""}))),
        (b"_e{1,0}:T||h:h", J(json!({"text": "", "hostname": "h"}))),
        (b"_e{1,1}:T|x|z:zz|#a:b", J(json!({"tags": {"a": "b"}}))),
        (b"_e{1,1}:T|x|h:a|h:b", J(json!({"hostname": "b"}))),
        (b"_e{0,4}:|text", E("bad_event")),
        (b"_e{-1,4}:x|text", E("bad_event")),
        (b"_e{1,-4}:x|text", E("bad_event")),
        (b"_e{10,4}:x|text", E("bad_event")),
        (b"_e{1,40}:x|text", E("bad_event")),
        (b"_e{a,4}:x|text", E("bad_event")),
        (b"_e{5}:title", E("bad_event")),
        (b"_e{5,4title|text", E("bad_event")),
        ("_e{1,3}:é|€".as_bytes(), E("bad_event")),
        (b"_e{4,4}:title|text", E("bad_event")),
        (b"_e{5,3}:title|text", E("bad_event")),
        (b"_e{1,1}:\xff|x", E("invalid_utf8")),
        // ---- service checks ----
        (
            b"_sc|app.ok|0",
            J(json!({"type": "service_check", "name": "app.ok", "status": 0,
                "status_text": "OK", "timestamp": null, "hostname": null, "tags": {},
                "message": null})),
        ),
        (b"_sc|app|1", J(json!({"status": 1, "status_text": "WARNING"}))),
        (b"_sc|app|2", J(json!({"status": 2, "status_text": "CRITICAL"}))),
        (b"_sc|app|3", J(json!({"status": 3, "status_text": "UNKNOWN"}))),
        (
            b"_sc|Redis connection|2|d:1700000000|h:redis1|#env:dev,redis|m:Redis connection timed out after 10s",
            J(json!({"name": "Redis connection", "status": 2, "timestamp": 1700000000,
                "hostname": "redis1", "tags": {"env": "dev", "redis": ""},
                "message": "Redis connection timed out after 10s"})),
        ),
        (b"_sc|x|0|m:a|b|#c", J(json!({"message": "a|b|#c", "tags": {}}))),
        (b"_sc|x|1|#db:main|m:slow|c:c0ffee42", J(json!({"message": "slow", "tags": {"db": "main"}}))),
        (b"_sc|x|0|d:xyz", J(json!({"timestamp": null}))),
        (b"_sc|x|0|h:a|h:b|#t:1|#t:2", J(json!({"hostname": "b", "tags": {"t": "2"}}))),
        (b"_sc|x|0|zz:unknown", J(json!({"name": "x", "status": 0}))),
        (b"_sc|x|4", E("bad_service_check")),
        (b"_sc|x|x", E("bad_service_check")),
        (b"_sc|x|-1", E("bad_service_check")),
        (b"_sc|x|", E("bad_service_check")),
        (b"_sc|name", E("bad_service_check")),
        (b"_sc||0", E("bad_service_check")),
        (b"_sc", E("bad_service_check")),
        (b"_sc|x|0|m:\xff", E("invalid_utf8")),
    ]
}

fn show(line: &[u8]) -> String {
    String::from_utf8_lossy(line).into_owned()
}

#[test]
fn protocol_table() {
    let rows = table();
    assert!(rows.len() >= 70, "{} rows", rows.len());
    let mut failures = Vec::new();
    for (line, expect) in &rows {
        let got = parse_line(line);
        match (expect, &got) {
            (Expect::Ok(want), Ok(parsed)) => {
                let json = parsed.to_json();
                for (k, v) in want.as_object().unwrap() {
                    if &json[k] != v {
                        failures.push(format!("{}: {k} = {} (want {v})", show(line), json[k]));
                    }
                }
            }
            (Expect::Err(reason), Err(e)) => {
                if e.reason() != *reason {
                    failures.push(format!(
                        "{}: error {} (want {reason}): {e}",
                        show(line),
                        e.reason()
                    ));
                }
                let j = error_json(line, e);
                assert_eq!(j["error"], *reason);
                assert!(!e.to_string().is_empty());
                assert_eq!(j["message"], e.to_string());
                assert_eq!(j["line"], show(line.strip_suffix(b"\r").unwrap_or(line)));
            }
            (Expect::Ok(_), Err(e)) => {
                failures.push(format!("{}: unexpected error {e}", show(line)))
            }
            (Expect::Err(reason), Ok(parsed)) => failures.push(format!(
                "{}: parsed as {} (want {reason})",
                show(line),
                parsed.to_json()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn error_messages_name_the_offending_part() {
    for (line, part) in [
        (&b"x:1|zz"[..], "zz"),
        (b"x:abc|c", "abc"),
        (b"x:1|c|@1.5", "1.5"),
        (b"x:1|c|TABCD", "TABCD"),
        (b"_sc|chk|7", "7"),
        (b"_e{a,1}:x|y", "a"),
    ] {
        let e = parse_line(line).unwrap_err();
        assert!(e.to_string().contains(&format!("\"{part}\"")), "{e}");
    }
}

#[test]
fn a_datagram_of_every_kind() {
    let datagram = b"a:1|c\n\n_e{1,1}:t|x\r\n_sc|s|0\nbad\nb:2|g\n";
    let kinds: Vec<String> = lines(datagram)
        .map(|l| match parse_line(l) {
            Ok(p) => p.to_json()["type"].as_str().unwrap().to_string(),
            Err(e) => e.reason().to_string(),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "metric",
            "event",
            "service_check",
            "missing_value",
            "metric"
        ]
    );
}
