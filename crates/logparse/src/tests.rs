//! Unit tests of the parsers and the joiner.
#![allow(clippy::unwrap_used)]

use super::*;

/// 2024-01-02T03:04:05Z
const T0: u64 = 1_704_164_645_000_000_000;
/// 2024-06-01T12:00:00Z, the "now" for BSD timestamps.
const NOW: u64 = 1_717_243_200_000_000_000;
const MS: u64 = 1_000_000;

fn auto(line: &str) -> Parsed {
    parse_at(line, Parser::Auto, NOW)
}

fn s(p: &Parsed, key: &str) -> String {
    match p.attr(key) {
        Some(Value::Str(s)) => s.clone(),
        other => panic!("{key}: {other:?} in {:?}", p.attributes),
    }
}

fn i(p: &Parsed, key: &str) -> i64 {
    match p.attr(key) {
        Some(Value::Int(i)) => *i,
        other => panic!("{key}: {other:?} in {:?}", p.attributes),
    }
}

fn sev(p: &Parsed) -> (i32, &str) {
    let (n, t) = p.severity.as_ref().unwrap();
    (*n, t.as_str())
}

#[test]
fn nginx_combined() {
    let l = r#"203.0.113.7 - - [02/Jan/2024:03:04:05 +0000] "GET /api/v1/items?page=2&sort=asc HTTP/1.1" 200 5123 "https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36""#;
    let p = auto(l);
    assert_eq!(p.format, Format::AccessLog);
    assert_eq!(p.timestamp_nanos, Some(T0));
    assert_eq!(sev(&p), (9, "INFO"));
    assert_eq!(s(&p, "client.address"), "203.0.113.7");
    assert_eq!(s(&p, "http.request.method"), "GET");
    assert_eq!(s(&p, "url.path"), "/api/v1/items");
    assert_eq!(s(&p, "url.query"), "page=2&sort=asc");
    assert_eq!(s(&p, "network.protocol.version"), "1.1");
    assert_eq!(i(&p, "http.response.status_code"), 200);
    assert_eq!(i(&p, "http.response.body.size"), 5123);
    assert_eq!(
        s(&p, "http.request.header.referer"),
        "https://shop.example.com/cart"
    );
    assert!(s(&p, "user_agent.original").starts_with("Mozilla/5.0 (X11"));
    assert_eq!(p.body.as_str(), Some(l));
    assert!(p.attr("user.name").is_none());
}

#[test]
fn nginx_custom_variant() {
    let l = r#"2001:db8::1 - alice [02/Jan/2024:04:04:05 +0100] "POST /login HTTP/2.0" 503 0 "-" "curl/8.5.0" "198.51.100.2" rt=0.231 uct="0.001" upstream=10.0.0.5:8080"#;
    let p = auto(l);
    assert_eq!(p.format, Format::AccessLog);
    assert_eq!(p.timestamp_nanos, Some(T0));
    assert_eq!(sev(&p), (17, "ERROR"));
    assert_eq!(s(&p, "client.address"), "2001:db8::1");
    assert_eq!(s(&p, "user.name"), "alice");
    assert_eq!(s(&p, "network.protocol.version"), "2.0");
    assert!(p.attr("http.request.header.referer").is_none());
    assert_eq!(s(&p, "user_agent.original"), "curl/8.5.0");
    assert_eq!(s(&p, "rt"), "0.231");
    assert_eq!(s(&p, "uct"), "0.001");
    assert_eq!(s(&p, "upstream"), "10.0.0.5:8080");
    assert_eq!(s(&p, "log.access.extra"), "\"198.51.100.2\"");
}

#[test]
fn apache_common_and_bad_request() {
    let p = auto(
        r#"192.0.2.10 - frank [02/Jan/2024:03:04:05 -0000] "GET /apache_pb.gif HTTP/1.0" 404 -"#,
    );
    assert_eq!(p.format, Format::AccessLog);
    assert_eq!(sev(&p), (13, "WARN"));
    assert_eq!(i(&p, "http.response.status_code"), 404);
    assert!(p.attr("http.response.body.size").is_none());
    assert_eq!(s(&p, "user.name"), "frank");
    // A TLS handshake sent to a plain port: no request line to split.
    let p = auto(
        r#"192.0.2.11 - - [02/Jan/2024:03:04:05 +0000] "\x16\x03\x01\x02\x00\x01" 400 157 "-" "-""#,
    );
    assert_eq!(p.format, Format::AccessLog);
    assert!(p.attr("http.request.method").is_none());
    assert_eq!(i(&p, "http.response.status_code"), 400);
}

#[test]
fn json_zap() {
    let p = auto(
        r#"{"level":"warn","ts":1704164645.123,"caller":"server/main.go:42","msg":"slow request","duration":1.52,"path":"/api","status":200}"#,
    );
    assert_eq!(p.format, Format::Json);
    assert_eq!(p.timestamp_nanos, Some(T0 + 123 * MS));
    assert_eq!(sev(&p), (13, "warn"));
    assert_eq!(p.body.as_str(), Some("slow request"));
    assert_eq!(p.attr("duration"), Some(&Value::Double(1.52)));
    assert_eq!(i(&p, "status"), 200);
    assert_eq!(s(&p, "caller"), "server/main.go:42");
    assert!(p.attr("ts").is_none() && p.attr("level").is_none() && p.attr("msg").is_none());
}

#[test]
fn json_logrus_bunyan_ecs_docker() {
    let p = auto(
        r#"{"level":"error","msg":"db down","time":"2024-01-02T04:04:05+01:00","retry":true}"#,
    );
    assert_eq!((p.timestamp_nanos, sev(&p)), (Some(T0), (17, "error")));
    assert_eq!(p.attr("retry"), Some(&Value::Bool(true)));

    let p = auto(
        r#"{"name":"api","hostname":"web-1","pid":812,"level":30,"msg":"listening","time":"2024-01-02T03:04:05.000Z","v":0}"#,
    );
    assert_eq!(sev(&p), (9, "30"));
    assert_eq!(p.timestamp_nanos, Some(T0));
    assert_eq!(i(&p, "pid"), 812);

    let p = auto(
        r#"{"@timestamp":"2024-01-02T03:04:05.678Z","log.level":"INFO","message":"order placed","ecs.version":"1.6.0","service":{"name":"orders","version":"2.1"},"event":{"dataset":"orders.log"},"tags":["a","b"],"ctx":null}"#,
    );
    assert_eq!(p.timestamp_nanos, Some(T0 + 678 * MS));
    assert_eq!(sev(&p), (9, "INFO"));
    assert_eq!(p.body.as_str(), Some("order placed"));
    assert_eq!(s(&p, "service.name"), "orders");
    assert_eq!(s(&p, "event.dataset"), "orders.log");
    assert_eq!(
        p.attr("tags"),
        Some(&Value::Array(vec![
            Value::Str("a".into()),
            Value::Str("b".into())
        ]))
    );
    assert!(p.attr("ctx").is_none());

    let p = auto(
        r#"{"log":"GET /healthz 200\n","stream":"stdout","time":"2024-01-02T03:04:05.000000001Z"}"#,
    );
    assert_eq!(p.body.as_str(), Some("GET /healthz 200"));
    assert_eq!(p.timestamp_nanos, Some(T0 + 1));
    assert_eq!(s(&p, "stream"), "stdout");

    // No message: the line is the body; an unreadable time stays an attribute.
    let l = r#"{"event":"login","time":"yesterday","ts_ms":1704164645000}"#;
    let p = auto(l);
    assert_eq!(p.body.as_str(), Some(l));
    assert_eq!(s(&p, "time"), "yesterday");
    assert_eq!(p.timestamp_nanos, None);
    // Millisecond epoch under `timestamp`.
    assert_eq!(
        auto(r#"{"timestamp":1704164645000,"message":"x"}"#).timestamp_nanos,
        Some(T0)
    );
    // A structured message.
    let p = auto(r#"{"msg":{"a":1},"level":"debug"}"#);
    assert_eq!(
        p.body,
        Body::Value(Value::Map(vec![("a".into(), Value::Int(1))]))
    );
    // Not an object, or broken: not JSON.
    assert_eq!(auto(r#"{"a":1"#).format, Format::Plain);
    assert_eq!(auto("[1,2,3]").format, Format::Plain);
}

#[test]
fn logfmt_gokit_heroku() {
    let p = auto(
        r#"ts=2024-01-02T03:04:05.678Z caller=main.go:88 level=info msg="server started" addr=:8080 tls=false"#,
    );
    assert_eq!(p.format, Format::Logfmt);
    assert_eq!(p.timestamp_nanos, Some(T0 + 678 * MS));
    assert_eq!(sev(&p), (9, "info"));
    assert_eq!(p.body.as_str(), Some("server started"));
    assert_eq!(s(&p, "addr"), ":8080");
    assert_eq!(s(&p, "tls"), "false");

    let l = r#"at=error code=H12 desc="Request timeout" method=GET path="/" host=app.example.com request_id=8601b555-6a54-4e3a fwd="203.0.113.9" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0"#;
    let p = auto(l);
    assert_eq!(p.format, Format::Logfmt);
    assert_eq!(sev(&p), (17, "error"));
    assert_eq!(p.body.as_str(), Some(l));
    assert_eq!(s(&p, "desc"), "Request timeout");

    let p = auto(r#"time="2024-01-02T03:04:05Z" level=warning msg="quota \"low\"\tnow" user=42"#);
    assert_eq!(p.body.as_str(), Some("quota \"low\"\tnow"));
    assert_eq!((p.timestamp_nanos, sev(&p)), (Some(T0), (13, "warning")));

    // A sentence with one pair is not logfmt.
    assert_eq!(
        auto("connecting to database host=db1").format,
        Format::Plain
    );
    // But Fixed(Logfmt) takes it.
    let p = parse_at(
        "connecting to database host=db1",
        Parser::Fixed(Format::Logfmt),
        NOW,
    );
    assert_eq!(p.format, Format::Logfmt);
    assert_eq!(s(&p, "host"), "db1");
}

#[test]
fn syslog_3164() {
    let p =
        auto("<34>Jan  2 03:04:05 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(p.format, Format::Syslog3164);
    assert_eq!(sev(&p), (21, "crit"));
    assert_eq!(i(&p, "syslog.facility"), 4);
    assert_eq!(s(&p, "host.name"), "mymachine");
    assert_eq!(s(&p, "syslog.appname"), "su");
    assert_eq!(i(&p, "process.pid"), 230);
    assert_eq!(p.timestamp_nanos, Some(T0));
    assert_eq!(
        p.body.as_str(),
        Some("'su root' failed for lonvick on /dev/pts/8")
    );

    // No host.
    let p = auto("<13>Jan  2 03:04:05 cron: job done");
    assert_eq!(p.format, Format::Syslog3164);
    assert!(p.attr("host.name").is_none());
    assert_eq!(s(&p, "syslog.appname"), "cron");
    assert_eq!(sev(&p), (10, "notice"));

    // /var/log/syslog, no PRI; December in June is this year's, in early January last year's.
    let p =
        auto("Dec 24 23:59:01 web-01 CRON[18231]: (root) CMD (command -v debian-sa1 > /dev/null)");
    assert_eq!(p.format, Format::Syslog3164);
    assert_eq!(time::year_of(p.timestamp_nanos.unwrap()), 2023);
    let jan3 = time::iso("2024-01-03T00:00:00Z").unwrap().0;
    let p = parse_at(
        "Dec 24 23:59:01 web-01 kernel: [ 12.5] eth0: link up",
        Parser::Auto,
        jan3,
    );
    assert_eq!(time::year_of(p.timestamp_nanos.unwrap()), 2023);
    assert_eq!(s(&p, "syslog.appname"), "kernel");

    let p = auto("May 30 10:00:00 db-2 postgres[911]: ERROR:  relation \"x\" does not exist");
    assert_eq!(p.format, Format::Syslog3164);
    assert_eq!(sev(&p), (17, "ERROR"));

    // rsyslog high-precision timestamps.
    let p = auto(
        "2024-01-02T03:04:05.678901+00:00 web-01 systemd[1]: Started Session 5 of user deploy.",
    );
    assert_eq!(p.format, Format::Syslog3164);
    assert_eq!(p.timestamp_nanos, Some(T0 + 678_901_000));
    assert_eq!(i(&p, "process.pid"), 1);

    // A BSD time without a tag is a plain line.
    assert_eq!(
        auto("Jan  2 03:04:05 something happened").format,
        Format::Plain
    );
}

#[test]
fn syslog_5424() {
    let p = auto(r#"<165>1 2024-01-02T03:04:05.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][meta seq="\"1\]"] BOMAn application event log entry"#.replace("BOM", "\u{feff}").as_str());
    assert_eq!(p.format, Format::Syslog5424);
    assert_eq!(sev(&p), (10, "notice"));
    assert_eq!(i(&p, "syslog.facility"), 20);
    assert_eq!(p.timestamp_nanos, Some(T0 + 3 * MS));
    assert_eq!(s(&p, "host.name"), "mymachine.example.com");
    assert_eq!(s(&p, "syslog.appname"), "evntslog");
    assert_eq!(i(&p, "process.pid"), 1234);
    assert_eq!(s(&p, "syslog.msgid"), "ID47");
    assert_eq!(
        s(&p, "syslog.sd.exampleSDID@32473.eventSource"),
        "Application"
    );
    assert_eq!(s(&p, "syslog.sd.meta.seq"), "\"1]");
    assert_eq!(p.body.as_str(), Some("An application event log entry"));

    let p = auto("<34>1 - - - - - -");
    assert_eq!(p.format, Format::Syslog5424);
    assert_eq!(p.body.as_str(), Some(""));
    assert!(p.timestamp_nanos.is_none());
    let p = auto("<14>1 2024-01-02T03:04:05Z host app - - - hello");
    assert_eq!(p.body.as_str(), Some("hello"));
    assert_eq!(sev(&p), (9, "info"));
}

#[test]
fn plain_lines() {
    let p = auto("2024-01-02 03:04:05,678 - myapp.db - WARNING - pool exhausted, waiting");
    assert_eq!(p.format, Format::Plain);
    assert_eq!(p.timestamp_nanos, Some(T0 + 678 * MS));
    assert_eq!(sev(&p), (13, "WARNING"));

    let p = auto("WARNING:root:disk almost full");
    assert_eq!(sev(&p), (13, "WARNING"));
    assert_eq!(p.timestamp_nanos, None);

    let l = "2024-01-02 03:04:05,678 ERROR [main] c.e.App - payment failed";
    let p = auto(l);
    assert_eq!(
        (p.format, p.timestamp_nanos),
        (Format::Plain, Some(T0 + 678 * MS))
    );
    assert_eq!(sev(&p), (17, "ERROR"));
    assert_eq!(p.body.as_str(), Some(l));

    let p = auto("2024-01-02 03:04:05.678 UTC [123] LOG:  checkpoint starting: time");
    assert_eq!(p.timestamp_nanos, Some(T0 + 678 * MS));
    assert_eq!(sev(&p), (9, "LOG"));
    let p = auto(
        "2024-01-02 03:04:05.678 UTC [123] FATAL:  password authentication failed for user \"app\"",
    );
    assert_eq!(sev(&p), (21, "FATAL"));

    let p = auto("2024-01-02T03:04:05.678901Z 0 [Warning] [MY-010055] [Server] IP address 'x' could not be resolved");
    assert_eq!(p.format, Format::Plain);
    assert_eq!(p.timestamp_nanos, Some(T0 + 678_901_000));
    assert_eq!(sev(&p), (13, "Warning"));

    let p = auto("[2024-01-02 03:04:05] production.ERROR: Undefined variable $x");
    assert_eq!(p.timestamp_nanos, Some(T0));
    assert_eq!(sev(&p), (17, "ERROR"));
    let p = auto("2024/01/02 03:04:05 http: TLS handshake error from 192.0.2.1:5555: EOF");
    assert_eq!(p.timestamp_nanos, Some(T0));
    assert_eq!(p.severity, None);
    let p = auto(
        "[Tue Jan 02 03:04:05.678 2024] [core:error] [pid 42] AH00037: Symbolic link not allowed",
    );
    assert_eq!(sev(&p), (17, "error"));
    let p = auto("just some text with an error inside");
    assert_eq!((p.timestamp_nanos, p.severity.clone()), (None, None));
    assert_eq!(p.body.as_str(), Some("just some text with an error inside"));
    assert_eq!(auto("").format, Format::Plain);
}

#[test]
fn fixed_falls_back_to_plain() {
    let p = parse_at("ERROR not json", Parser::Fixed(Format::Json), NOW);
    assert_eq!(p.format, Format::Plain);
    assert_eq!(sev(&p), (17, "ERROR"));
    let p = parse_at(
        "Jan  2 03:04:05 h msg without tag",
        Parser::Fixed(Format::Syslog3164),
        NOW,
    );
    assert_eq!(p.format, Format::Syslog3164);
    assert_eq!(s(&p, "host.name"), "h");
    assert_eq!(p.body.as_str(), Some("msg without tag"));
    for f in Format::ALL {
        assert_eq!(Format::from_name(f.as_str()), Some(f));
    }
}

#[test]
fn to_log_record_fields() {
    use lookout_model::otlp::any_value::Value as V;
    let p = auto(r#"{"level":"error","ts":1704164645,"msg":"boom","n":3,"http":{"status":500}}"#);
    let r = p.to_log_record(42);
    assert_eq!(r.time_unix_nano, T0);
    assert_eq!(r.observed_time_unix_nano, 42);
    assert_eq!(r.severity_number, 17);
    assert_eq!(r.severity_text, "error");
    assert_eq!(r.body.unwrap().value, Some(V::StringValue("boom".into())));
    let status = r
        .attributes
        .iter()
        .find(|kv| kv.key == "http.status")
        .unwrap();
    assert_eq!(status.value.as_ref().unwrap().value, Some(V::IntValue(500)));
    let r = auto("hello").to_log_record(7);
    assert_eq!((r.time_unix_nano, r.severity_number), (0, 0));
    let r = auto(r#"{"msg":{"a":[1,true]}}"#).to_log_record(7);
    assert!(matches!(r.body.unwrap().value, Some(V::KvlistValue(_))));
}

// ---- multi-line ----

fn run(m: &mut Multiline, text: &str) -> Vec<String> {
    let mut out: Vec<String> = text.lines().filter_map(|l| m.push(l, 1)).collect();
    out.extend(m.flush());
    out
}

#[test]
fn java_stack_trace() {
    let text = "2024-01-02 03:04:05,678 ERROR [main] c.e.App - request failed
java.lang.IllegalStateException: order 17 not found
\tat com.example.OrderService.load(OrderService.java:42)
\tat com.example.App.main(App.java:10)
Caused by: java.sql.SQLException: connection reset
\tat org.h2.Driver.connect(Driver.java:59)
\t... 5 more
2024-01-02 03:04:06,001 INFO [main] c.e.App - retrying";
    let mut m = Multiline::new(MultilineRule::Auto);
    let recs = run(&mut m, text);
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert_eq!(recs[0].lines().count(), 7);
    assert!(recs[0].ends_with("\t... 5 more"));
    assert!(recs[1].contains("retrying"));
    assert_eq!(
        parse_at(&recs[0], Parser::Auto, NOW).severity.unwrap().0,
        17
    );
    assert_eq!(m.stats().records, 2);
    assert_eq!(m.stats().lines, 8);
}

#[test]
fn python_traceback() {
    let text = "ERROR:root:handler crashed
Traceback (most recent call last):
  File \"/app/main.py\", line 10, in <module>
    main()
  File \"/app/main.py\", line 6, in main
    1 / 0
ZeroDivisionError: division by zero

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File \"/app/main.py\", line 12, in <module>
    raise RuntimeError(\"wrapped\")
RuntimeError: wrapped
INFO:root:next request";
    let mut m = Multiline::new(MultilineRule::Auto);
    let recs = run(&mut m, text);
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert!(recs[0].starts_with("ERROR:root:handler crashed\nTraceback"));
    assert!(recs[0].ends_with("RuntimeError: wrapped"));
    assert_eq!(recs[1], "INFO:root:next request");
}

#[test]
fn go_panic() {
    let text = "2024/01/02 03:04:05 serving on :8080
panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.handler(0xc000012345, {0x4b2f60, 0x1})
\t/src/app/main.go:21 +0x1d
main.main()
\t/src/app/main.go:12 +0x25
exit status 2
2024/01/02 03:04:06 restarted";
    let mut m = Multiline::new(MultilineRule::Auto);
    let recs = run(&mut m, text);
    assert_eq!(recs.len(), 3, "{recs:#?}");
    assert!(recs[1].starts_with("panic: runtime error"));
    assert!(recs[1].ends_with("exit status 2"));
    assert_eq!(recs[1].lines().count(), 8);
}

#[test]
fn start_and_continuation_patterns() {
    let text = "[2024-01-02] first\nmore of first\n  and more\n[2024-01-03] second";
    let mut m = Multiline::new(MultilineRule::StartPattern(
        regex::Regex::new(r"^\[\d{4}-").unwrap(),
    ));
    let recs = run(&mut m, text);
    assert_eq!(
        recs,
        vec![
            "[2024-01-02] first\nmore of first\n  and more",
            "[2024-01-03] second"
        ]
    );

    let text = "a\\\nb\nc\\\nd\\\ne\nf";
    let mut m = Multiline::new(MultilineRule::Continuation(
        regex::Regex::new(r"^[bde]").unwrap(),
    ));
    let recs = run(&mut m, text);
    assert_eq!(recs, vec!["a\\\nb", "c\\\nd\\\ne", "f"]);

    let mut m = Multiline::new(MultilineRule::None);
    assert_eq!(m.push("x\n", 1).as_deref(), Some("x"));
    assert!(!m.has_pending());
    // Blank lines between records are dropped by Auto.
    let mut m = Multiline::new(MultilineRule::Auto);
    assert_eq!(run(&mut m, "a\n\n\nb"), vec!["a", "b"]);
}

#[test]
fn idle_flush() {
    let mut m = Multiline::new(MultilineRule::Auto);
    assert_eq!(
        m.push("Exception in thread \"main\" java.lang.Error: x", 100),
        None
    );
    assert_eq!(m.push("\tat A.b(A.java:1)", 200), None);
    assert_eq!(m.flush_due(250, 100), None);
    let rec = m.flush_due(300, 100).unwrap();
    assert_eq!(rec.lines().count(), 2);
    assert_eq!(m.flush_due(1000, 100), None);
    assert_eq!(m.stats().idle_flushes, 1);
    // An indented line with nothing pending starts a record.
    assert_eq!(m.push("  orphan", 400), None);
    assert_eq!(m.flush().as_deref(), Some("  orphan"));
}

#[test]
fn max_bytes_cut() {
    let mut m = Multiline::new(MultilineRule::Auto).with_max_bytes(20);
    m.push("head line 12345", 1); // 15 bytes
    m.push("\tat é very long frame", 1); // cut
    m.push("\tat dropped", 1);
    let rec = m.push("next", 1).unwrap();
    assert!(rec.len() <= 20, "{rec:?}");
    assert!(rec.starts_with("head line 12345\n\tat"));
    let st = m.stats();
    assert_eq!(st.truncated_records, 1);
    assert!(st.dropped_bytes > 10);
    assert_eq!(m.flush().as_deref(), Some("next"));
    // A single long line is cut on a character boundary.
    let mut m = Multiline::new(MultilineRule::None).with_max_bytes(5);
    assert_eq!(m.push("ééé", 1).as_deref(), Some("éé"));
    assert_eq!(m.stats().truncated_records, 1);
}

// ---- robustness ----

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn fuzz_one_survives_mutations() {
    let seeds: &[&str] = &[
        r#"203.0.113.7 - - [02/Jan/2024:03:04:05 +0000] "GET /a?b=c HTTP/1.1" 200 5 "-" "ua""#,
        r#"{"level":"info","ts":1704164645.1,"msg":"x","a":{"b":{"c":[1,2,{"d":null}]}}}"#,
        r#"ts=2024-01-02T03:04:05Z level=info msg="a \"b\" c" k=v"#,
        "<165>1 2024-01-02T03:04:05Z h a 1 ID [x@1 a=\"b\\]\"] msg",
        "<34>Jan  2 03:04:05 host su[1]: msg",
        "2024-01-02 03:04:05,678 ERROR [main] x\n\tat a.b(C.java:1)\nCaused by: x.Y: z\n\t... 1 more",
        "Traceback (most recent call last):\n  File \"x\"\nValueError: v\n\npanic: x\n\ngoroutine 1 [running]:\nmain.main()",
        "2024-01-02 03:04:05.123 UTC,\"a\",\"d\",1,\"h:5\",s,1,\"\",,,0,ERROR,42P01,\"m \"\"q\"\"\",,,,,,\"select\n1\",,,\"\",\"client backend\",,0",
        "$remote_addr - ${remote_user} [$time_local] \"$request\" $status\n1.2.3.4 - - [02/Jan/2024:03:04:05 +0000] \"GET /a?b HTTP/1.1\" 200",
        "http {\n log_format m escape=json '{\"t\":\"$time_iso8601\",' \"'$status'}\"; # c\n}\n{\"t\":\"2024-01-02T03:04:05Z\",'200'}",
    ];
    let alphabet: &[u8] = b"<>[]{}\"\\=:/ -.,0123456789TZ+\n\tajEIW\xc3\xa9\xff";
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for n in 0..4000 {
        let mut data = seeds[n % seeds.len()].as_bytes().to_vec();
        for _ in 0..=rng.below(8) {
            let op = rng.below(4);
            let pos = if data.is_empty() {
                0
            } else {
                rng.below(data.len())
            };
            match op {
                0 if !data.is_empty() => data[pos] = alphabet[rng.below(alphabet.len())],
                1 => data.insert(pos, alphabet[rng.below(alphabet.len())]),
                2 if !data.is_empty() => {
                    data.remove(pos);
                }
                _ => data.truncate(pos),
            }
        }
        fuzz_one(&data);
    }
    // Pure noise too.
    for _ in 0..500 {
        let len = rng.below(200);
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        fuzz_one(&data);
    }
}

#[test]
fn into_log_record_equals_to_log_record() {
    for line in [
        r#"{"level":"warn","msg":"m","a":{"b":[1,"x",true]},"n":1.5}"#,
        "2024-01-02T03:04:05Z ERROR boom",
        "<34>1 2003-10-11T22:14:15.003Z host app 12 ID47 [ex@1 k=\"v\"] msg",
        "plain text",
    ] {
        let p = parse_at(line, Parser::Auto, 1_704_164_645_000_000_000);
        assert_eq!(p.to_log_record(7), p.clone().into_log_record(7), "{line}");
    }
}

#[test]
fn mysql_slow_log_records_are_joined_and_parsed() {
    let log =
        "/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:
Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock
Time\t\t    Id Command\tArgument
# Time: 241130 13:50:35
# User@Host: root[root] @ localhost []
# Thread_id: 31  Schema: test  QC_hit: No
# Query_time: 1.500123  Lock_time: 0.000000  Rows_sent: 1  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 64
SET timestamp=1732974635;
SELECT SLEEP(1.5);
# User@Host: app[app] @ localhost [127.0.0.1]
# Thread_id: 32  Schema:   QC_hit: No
# Query_time: 2.000000  Lock_time: 0.000000  Rows_sent: 1  Rows_examined: 0
SET timestamp=1732974640;
SELECT SLEEP(2);";
    let mut m = Multiline::new(MultilineRule::MysqlSlow);
    let mut recs: Vec<String> = log.lines().filter_map(|l| m.push(l, 1)).collect();
    recs.extend(m.flush());
    let slow: Vec<Parsed> = recs
        .iter()
        .map(|r| parse_at(r, Parser::Fixed(Format::MysqlSlow), 0))
        .filter(|p| p.format == Format::MysqlSlow)
        .collect();
    assert_eq!(slow.len(), 2, "{recs:#?}");
    assert_eq!(slow[0].body, Body::Str("SELECT SLEEP(1.5);".into()));
    assert_eq!(
        slow[0].attr("db.namespace"),
        Some(&Value::Str("test".into()))
    );
    assert_eq!(slow[1].attr("user.name"), Some(&Value::Str("app".into())));
    assert_eq!(
        slow[1].attr("mysql.slow.query_time"),
        Some(&Value::Double(2.0))
    );
    assert_eq!(slow[1].timestamp_nanos, Some(1_732_974_640_000_000_000));
}

#[test]
fn postgresql_records_are_joined_and_parsed() {
    let log = "2024-11-30 13:50:35.100 UTC [900] postgres@test ERROR:  division by zero
2024-11-30 13:50:35.100 UTC [900] postgres@test STATEMENT:  SELECT 1/0
\t  FROM generate_series(1, 2);
2024-11-30 13:50:36.000 UTC [901] LOG:  checkpoint complete";
    let mut m = Multiline::new(MultilineRule::Postgresql);
    let mut recs: Vec<String> = log.lines().filter_map(|l| m.push(l, 1)).collect();
    recs.extend(m.flush());
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let p = parse_at(&recs[0], Parser::Fixed(Format::Postgresql), 0);
    assert_eq!(p.format, Format::Postgresql);
    assert_eq!(
        p.attr("db.query.text"),
        Some(&Value::Str(
            "SELECT 1/0\n  FROM generate_series(1, 2);".into()
        ))
    );
    assert_eq!(Format::from_name("postgresql"), Some(Format::Postgresql));
    assert_eq!(Format::from_name("mysql_slow"), Some(Format::MysqlSlow));
}

#[test]
fn postgresql_csv_records_are_joined_and_parsed() {
    let log = r#"2024-11-30 13:50:35.100 UTC,"postgres","test",900,"[local]",674b1a3b.384,1,"SELECT",2024-11-30 13:50:30 UTC,3/2,0,ERROR,22012,"division by zero",,,,,,"SELECT 1/0
  FROM generate_series(1, 2)
 WHERE x = ""a""",8,,"psql","client backend",,0

2024-11-30 13:50:36.000 UTC,,,901,,674b1a3b.385,1,,2024-11-30 13:50:30 UTC,,0,LOG,00000,"checkpoint complete: wrote 3 buffers (0.0%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.101 s, sync=0.001 s, total=0.110 s; sync files=2, longest=0.001 s, average=0.001 s; distance=1 kB, estimate=1 kB; lsn=0/1527E70, redo lsn=0/1527E38",,,,,,,,,"","checkpointer",,0
2024-11-30 13:50:37.000 UTC,"app","shop",902,"10.0.0.9:5000",674b1a3b.386,2,"idle",2024-11-30 13:50:30 UTC,4/0,0,LOG,00000,"statement: select ""a
b""",,,,,,,,,"app","client backend",,0"#;
    let mut m = Multiline::new(MultilineRule::CsvQuotes);
    let mut recs: Vec<String> = log.lines().filter_map(|l| m.push(l, 1)).collect();
    recs.extend(m.flush());
    assert_eq!(recs.len(), 3, "{recs:#?}");
    let parsed: Vec<Parsed> = recs
        .iter()
        .map(|r| parse_at(r, Parser::Fixed(Format::PostgresqlCsv), 0))
        .collect();
    assert!(parsed.iter().all(|p| p.format == Format::PostgresqlCsv));
    assert_eq!(
        s(&parsed[0], "db.query.text"),
        "SELECT 1/0\n  FROM generate_series(1, 2)\n WHERE x = \"a\""
    );
    assert_eq!(s(&parsed[0], "client.address"), "[local]");
    assert_eq!(sev(&parsed[1]), (9, "LOG"));
    assert_eq!(s(&parsed[1], "postgresql.backend_type"), "checkpointer");
    assert_eq!(parsed[2].body.as_str(), Some("statement: select \"a\nb\""));
    assert_eq!(i(&parsed[2], "client.port"), 5000);
    assert_eq!(
        Format::from_name("postgresql_csv"),
        Some(Format::PostgresqlCsv)
    );
    // Named only: autodetection does not claim csvlog.
    assert_ne!(auto(&recs[1]).format, Format::PostgresqlCsv);
}

#[test]
fn csv_quotes_rule_counts_per_line() {
    let mut m = Multiline::new(MultilineRule::CsvQuotes).with_max_bytes(16);
    // An unclosed quote joins (and the byte bound cuts) until the quote closes.
    assert_eq!(m.push(r#"1,"abc"#, 0), None);
    assert_eq!(m.push("defghijklmnopqrstuvwxyz", 0), None);
    assert_eq!(m.push(r#"end",2"#, 0), None);
    assert_eq!(m.push("3,x", 0).as_deref(), Some("1,\"abc\ndefghijkl"));
    assert_eq!(m.stats().truncated_records, 1);
    // `""` inside a quoted field does not close it.
    assert_eq!(m.push(r#"4,"a"""#, 0).as_deref(), Some("3,x"));
    assert_eq!(m.push(r#"b""c""#, 0), None);
    assert_eq!(m.push("", 0), None);
    assert_eq!(m.push("5", 0).as_deref(), Some("4,\"a\"\"\nb\"\"c\""));
    assert_eq!(m.flush().as_deref(), Some("5"));
    // After a flush the parity starts over.
    assert_eq!(m.push(r#"6,""#, 0), None);
    assert_eq!(m.flush().as_deref(), Some("6,\""));
    assert_eq!(m.push("7", 0), None);
    assert_eq!(m.flush().as_deref(), Some("7"));
}

#[test]
fn nginx_custom_is_named_only_and_not_parsed_without_a_format() {
    assert_eq!(Format::from_name("nginx"), Some(Format::NginxCustom));
    assert!(Format::NAMED_ONLY.contains(&Format::NginxCustom));
    assert!(!Format::ALL.contains(&Format::NginxCustom));
    let l = r#"203.0.113.7 - - [02/Jan/2024:03:04:05 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#;
    assert_eq!(
        parse_at(l, Parser::Fixed(Format::NginxCustom), NOW).format,
        Format::Plain
    );
    let (_, combined) = nginx_log_formats("").pop().unwrap();
    let p = NginxFormat::compile(&combined).unwrap().parse(l).unwrap();
    assert_eq!(p.format, Format::NginxCustom);
    assert_eq!(p.timestamp_nanos, Some(T0));
}
