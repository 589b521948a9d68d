//! Unit tests of the redaction rules, the sensitive keys and the processor.

use super::*;
use lookout_model::otlp::{
    ExportLogsServiceRequest, ExportTraceServiceRequest, LogRecord, Resource, ResourceLogs,
    ResourceSpans, ScopeLogs, ScopeSpans, Span,
};
use lookout_model::{attr, MetricsBuilder};
use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
use opentelemetry_proto::tonic::trace::v1::{span, Status};

fn redactor(builtins: &[&str]) -> Redactor {
    Redactor::new(&RedactConfig {
        builtins: builtins.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .unwrap()
}

/// Asserts that one rule rewrites each `(input, expected)` pair.
fn check(rule: &str, cases: &[(&str, &str)]) {
    let r = redactor(&[rule]);
    for (input, expected) in cases {
        let got = r.redact_str(input);
        assert_eq!(got.as_deref(), Some(*expected), "{rule} on {input:?}");
    }
}

/// Asserts that one rule leaves each input alone (and allocates no output).
fn untouched(rule: &str, inputs: &[&str]) {
    let r = redactor(&[rule]);
    for input in inputs {
        assert_eq!(r.redact_str(input), None, "{rule} changed {input:?}");
    }
}

fn all_builtins() -> Redactor {
    redactor(REDACT_BUILTINS)
}

fn s(v: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(v.into())),
    }
}

fn kv(k: &str, v: AnyValue) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(v),
        ..Default::default()
    }
}

fn str_of(v: Option<&AnyValue>) -> &str {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s,
        other => panic!("not a string: {other:?}"),
    }
}

const CARD: &str = "[REDACTED:credit_card]";

#[test]
fn credit_card_matches_luhn_valid_numbers() {
    check(
        "credit_card",
        &[
            (
                "card 4111 1111 1111 1111 ok",
                "card [REDACTED:credit_card] ok",
            ),
            ("4111-1111-1111-1111", CARD),
            ("cc=4111111111111111,", "cc=[REDACTED:credit_card],"),
            ("mc 5500000000000004", "mc [REDACTED:credit_card]"),
            ("amex 3782 822463 10005.", "amex [REDACTED:credit_card]."),
            (
                "6011111111111117/3530111333300000",
                "[REDACTED:credit_card]/[REDACTED:credit_card]",
            ),
            // A date glued by a separator does not hide the card behind it.
            (
                "2024-01-15 4111111111111111",
                "2024-01-15 [REDACTED:credit_card]",
            ),
            // Nor does a trailing quantity.
            (
                "4242 4242 4242 4242 3 items",
                "[REDACTED:credit_card] 3 items",
            ),
            (
                "a 4111111111111111 b 4242424242424242",
                "a [REDACTED:credit_card] b [REDACTED:credit_card]",
            ),
        ],
    );
}

#[test]
fn credit_card_leaves_lookalikes() {
    untouched(
        "credit_card",
        &[
            "order 4111111111111112 shipped", // Luhn fails
            "ts=1700000000129",               // Luhn-valid epoch milliseconds (starts with 1)
            "ns=1699999999999999992",         // Luhn-valid epoch nanoseconds
            "id 41111111111111111111",        // 20 digits
            "4111  1111 1111 1111",           // double space: not one number
            "id_4111111111111111",            // glued to an identifier
            "x4111111111111111",
            "4111111111111111abc",
            "phone +1 555-123-4567",
            "2024-01-15 12:00:00.123456789",
            "123456789012",
        ],
    );
}

#[test]
fn email_matches_addresses() {
    check(
        "email",
        &[
            (
                "contact alice.smith+tag@mail.example.co.uk now",
                "contact [REDACTED:email] now",
            ),
            ("<bob@example.com>", "<[REDACTED:email]>"),
            ("to=x_y@corp-mail.io;", "to=[REDACTED:email];"),
        ],
    );
}

#[test]
fn email_leaves_lookalikes() {
    untouched(
        "email",
        &[
            "icon@2x.png",
            "logo@3x.webp",
            "user@localhost",
            "npm i left-pad@1.3.0",
            "image@sha256:0123abcd",
            "ping @channel",
            "a@b",
        ],
    );
}

#[test]
fn bearer_token_keeps_the_scheme() {
    check(
        "bearer_token",
        &[
            (
                "Authorization: Bearer abc123def456ghi",
                "Authorization: Bearer [REDACTED:bearer_token]",
            ),
            ("bearer 0a1b2c3d4e5f==", "bearer [REDACTED:bearer_token]"),
            (
                "BEARER abcdefghijklmnopqrstuvwxyz end",
                "BEARER [REDACTED:bearer_token] end",
            ),
        ],
    );
}

#[test]
fn bearer_token_leaves_prose() {
    untouched(
        "bearer_token",
        &[
            "the API uses Bearer tokens",
            "Bearer authentication failed",
            "WWW-Authenticate: Bearer realm=\"api\"",
            "Bearer abc1",
        ],
    );
}

#[test]
fn basic_auth_url_masks_the_password_only() {
    check(
        "basic_auth_url",
        &[
            (
                "postgres://admin:s3cr3t@db.internal:5432/app",
                "postgres://admin:[REDACTED:basic_auth_url]@db.internal:5432/app",
            ),
            (
                "redis://:pa55@cache:6379",
                "redis://:[REDACTED:basic_auth_url]@cache:6379",
            ),
            (
                "url=\"https://u:p@ss@host/x\"",
                "url=\"https://u:[REDACTED:basic_auth_url]@host/x\"",
            ),
        ],
    );
}

#[test]
fn basic_auth_url_leaves_urls_without_password() {
    untouched(
        "basic_auth_url",
        &[
            "https://example.com:8443/path?a=b",
            "ssh://git@github.com/org/repo",
            "http://user@host:8080/",
            "see http://host/a:b@c",
        ],
    );
}

#[test]
fn password_assignment_masks_the_value() {
    check(
        "password_assignment",
        &[
            (
                "login password=hunter2 user=bob",
                "login password=[REDACTED:password_assignment] user=bob",
            ),
            (
                "DB_PASSWORD: 'p@ss word'",
                "DB_PASSWORD: '[REDACTED:password_assignment]'",
            ),
            (
                r#"{"password":"s3cr\"et","user":"x"}"#,
                r#"{"password":"[REDACTED:password_assignment]","user":"x"}"#,
            ),
            (
                r#"{"api_key": "k-123"}"#,
                r#"{"api_key": "[REDACTED:password_assignment]"}"#,
            ),
            ("passwd: hunter2!", "passwd: [REDACTED:password_assignment]"),
            ("pwd=abc123", "pwd=[REDACTED:password_assignment]"),
            (
                "client_secret = xyz789;",
                "client_secret = [REDACTED:password_assignment];",
            ),
            (
                "GET /cb?access_token=abc123&page=2",
                "GET /cb?access_token=[REDACTED:password_assignment]&page=2",
            ),
            ("apiKey=ZmFrZQ==", "apiKey=[REDACTED:password_assignment]"),
            ("--token=ghp_x1", "--token=[REDACTED:password_assignment]"),
            // `=` and quoted forms mask plain words too.
            ("secret=letmein", "secret=[REDACTED:password_assignment]"),
            (
                "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG",
                "aws_secret_access_key=[REDACTED:password_assignment]",
            ),
            // A truncated line: an unterminated quoted value is masked to the end.
            (
                r#"{"user":"bob","password":"hunter2 and mo"#,
                r#"{"user":"bob","password":"[REDACTED:password_assignment]"#,
            ),
            (
                "token=a1 secret=b2",
                "token=[REDACTED:password_assignment] secret=[REDACTED:password_assignment]",
            ),
        ],
    );
}

#[test]
fn password_assignment_leaves_lookalikes() {
    untouched(
        "password_assignment",
        &[
            "token_count=5",
            "max_tokens=100",
            "password_hash=5f4dcc3b",
            "secretary=bob",
            "passwordless=true",
            "PWD=/home/bob",
            "OLDPWD=~/src",
            "invalid token: expected string",
            r#"{"password": null}"#,
            "password: ********",
            "password=[REDACTED]",
            "token == other",
            "password=",
        ],
    );
}

#[test]
fn unicode_case_folding_lookalikes_do_not_panic() {
    // The Kelvin sign and the long s fold to `k` and `s` under Unicode case folding; keywords
    // are matched with ASCII case folding only, and nothing slices inside them.
    let r = all_builtins();
    for line in [
        "to\u{212A}en=abc123",
        "pa\u{17F}\u{17F}wd=hunter2",
        "api_\u{212A}ey: s3cr3t",
        "\u{212A}\u{212A}\u{212A}pwd=/x",
        "B\u{E9}arer 0123456789abcdef",
        "caf\u{E9}@exampl\u{E9}.com 4111\u{A0}1111 1111 1111",
    ] {
        let _ = r.redact_str(line);
        let _ = r.is_sensitive_key(line);
    }
    assert_eq!(
        r.redact_str("\u{212A}pwd=s3cret").as_deref(),
        Some("\u{212A}pwd=[REDACTED:password_assignment]")
    );
}

#[test]
fn aws_access_key_ids() {
    check(
        "aws_access_key",
        &[
            (
                "key AKIAIOSFODNN7EXAMPLE used",
                "key [REDACTED:aws_access_key] used",
            ),
            ("ASIAY34FZKBOKMUTVV7A", "[REDACTED:aws_access_key]"),
        ],
    );
    untouched(
        "aws_access_key",
        &[
            "AKIAIOSFODNN7EXAMPL",
            "AKIAIOSFODNN7EXAMPLE1",
            "XAKIAIOSFODNN7EXAMPLE",
            "akiaiosfodnn7example",
            "AKIAiosfodnn7example",
        ],
    );
}

#[test]
fn private_key_blocks() {
    check(
        "private_key",
        &[
            (
                "key: -----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34\n-----END RSA PRIVATE KEY-----\nnext",
                "key: [REDACTED:private_key]\nnext",
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1r\\n-----END OPENSSH PRIVATE KEY----- done",
                "[REDACTED:private_key] done",
            ),
            // A truncated block is masked to the end.
            (
                "dump -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq",
                "dump [REDACTED:private_key]",
            ),
        ],
    );
    untouched(
        "private_key",
        &[
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0C\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "loading private key from /etc/ssl/key.pem",
        ],
    );
}

#[test]
fn jwt_tokens() {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    check(
        "jwt",
        &[
            (&format!("token {jwt} end"), "token [REDACTED:jwt] end"),
            // Unsigned: empty signature.
            ("t=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "t=[REDACTED:jwt]"),
        ],
    );
    untouched(
        "jwt",
        &[
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJ.x.y",
            "notaeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
            "version 1.2.3",
        ],
    );
}

#[test]
fn ipv6_addresses() {
    check(
        "ipv6",
        &[
            (
                "client 2001:db8::1 connected",
                "client [REDACTED:ipv6] connected",
            ),
            ("[fe80::1ff:fe23:4567:890a]:8080", "[[REDACTED:ipv6]]:8080"),
            ("addr:2001:db8:0:0:0:0:2:1.", "addr:[REDACTED:ipv6]."),
            ("from ::ffff:192.0.2.128 ok", "from [REDACTED:ipv6] ok"),
            (
                "peer ::1, next fe80::2:",
                "peer [REDACTED:ipv6], next [REDACTED:ipv6]:",
            ),
        ],
    );
    untouched(
        "ipv6",
        &[
            "at 03:04:05.123",
            "2024-01-02T03:04:05Z",
            "mac 00:1a:2b:3c:4d:5e",
            "crate::add and self::bad",
            "std::vector<int> x; a::b",
            "dead::beef",
            "1:2:3:4:5:6:7:8:9",
            "10.0.0.1",
        ],
    );
}

#[test]
fn ipv4_addresses() {
    check(
        "ipv4",
        &[
            (
                "client 192.168.1.20 connected",
                "client [REDACTED:ipv4] connected",
            ),
            ("10.0.0.1:8080", "[REDACTED:ipv4]:8080"),
            ("255.255.255.255,0.0.0.0", "[REDACTED:ipv4],[REDACTED:ipv4]"),
        ],
    );
    untouched(
        "ipv4",
        &[
            "256.1.1.1",
            "1.2.3.4.5",
            "oid 1.3.6.1.4.1.2021",
            "v1.2.3.4",
            "01.02.03.04",
            "1.2.3",
            "2001:db8::1",
            "192.168.1.300",
        ],
    );
    // Not enabled by default.
    let r = Redactor::new(&RedactConfig::default()).unwrap();
    assert_eq!(r.redact_str("client 192.168.1.20 connected"), None);
}

#[test]
fn rules_compose_in_a_fixed_order() {
    let r = all_builtins();
    let got = r
        .redact_str("user=bob password=4111 1111 1111 1111 mail bob@example.com from 10.1.2.3")
        .unwrap();
    assert_eq!(
        got,
        "user=bob password=[REDACTED:credit_card] mail [REDACTED:email] from [REDACTED:ipv4]"
    );
    let got = r
        .redact_str("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")
        .unwrap();
    assert_eq!(got, "Authorization: Bearer [REDACTED:jwt]");
    let got = r
        .redact_str("dsn=postgres://app:pw1@db.example.com/x")
        .unwrap();
    assert_eq!(
        got,
        "dsn=postgres://app:[REDACTED:basic_auth_url]@db.example.com/x"
    );
}

#[test]
fn clean_lines_are_not_rewritten() {
    let r = all_builtins();
    for line in [
        "",
        "GET /api/v1/users/42 200 12.3ms",
        "2024-05-01T12:00:00.123Z INFO worker[1234]: processed 1700000000123 events in 17 batches",
        "request_id=7f3c9a1e-1b2c-4d5e-8f90-123456789abc status=ok",
        "tokens used: 512, max_tokens=4096",
        "connecting to https://api.example.com:443/v2",
    ] {
        assert_eq!(r.redact_str(line), None, "{line:?}");
    }
    assert!(r.rule_hits().iter().all(|(_, n)| *n == 0));
}

#[test]
fn timestamps_stay_on_the_clean_path() {
    // Not even the prefilter matches: no rule runs at all.
    let r = Redactor::new(&RedactConfig::default()).unwrap();
    for line in [
        "ts=1714564801123 took 12ms",
        "nanos 1714564801123456789",
        "id=12345678",
    ] {
        assert!(!r.set.is_match(line), "{line:?}");
    }
}

#[test]
fn custom_rules_apply_after_builtins() {
    let r = Redactor::new(&RedactConfig {
        builtins: vec!["email".into()],
        rules: vec![
            RedactRule {
                name: "order_ref".into(),
                pattern: "ORD-[0-9]{6}".into(),
                replacement: "ORD-******".into(),
            },
            RedactRule {
                name: "user".into(),
                pattern: r"(user)=(\w+)".into(),
                replacement: "${1}=***".into(),
            },
            RedactRule {
                name: "empty".into(),
                pattern: "x*".into(),
                replacement: "!".into(),
            },
            RedactRule {
                name: "marker".into(),
                pattern: r"\[REDACTED:email\]".into(),
                replacement: "<email>".into(),
            },
        ],
        ..Default::default()
    })
    .unwrap();
    let got = r
        .redact_str("ORD-123456 by user=bob (bob@example.com), ORD-12345")
        .unwrap();
    // `marker` did not match the original text: a rule only runs when it matched the input.
    assert_eq!(got, "ORD-****** by user=*** ([REDACTED:email]), ORD-12345");
    let hits = r.rule_hits();
    assert_eq!(
        hits,
        vec![
            ("email".to_string(), 1),
            ("order_ref".to_string(), 1),
            ("user".to_string(), 1),
            ("empty".to_string(), 0),
            ("marker".to_string(), 0),
            (SENSITIVE_KEY_RULE.to_string(), 0),
        ]
    );
}

#[test]
fn bad_configs_are_errors() {
    let err = Redactor::new(&RedactConfig {
        builtins: vec!["ssn".into()],
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        err.contains("unknown built-in redaction rule `ssn`"),
        "{err}"
    );
    let err = Redactor::new(&RedactConfig {
        rules: vec![RedactRule {
            name: "broken".into(),
            pattern: "(unclosed".into(),
            replacement: "x".into(),
        }],
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.contains("rule `broken`"), "{err}");
    // No rule at all is fine: only sensitive keys.
    let r = Redactor::new(&RedactConfig {
        builtins: vec![],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(r.redact_str("password=x bob@example.com"), None);
    assert!(r.is_sensitive_key("password"));
}

#[test]
fn sensitive_keys_match_trailing_segments() {
    let r = Redactor::new(&RedactConfig {
        sensitive_keys: vec!["X-Session".into(), String::new()],
        ..Default::default()
    })
    .unwrap();
    for key in [
        "password",
        "Password",
        "db.password",
        "DB_PASSWORD",
        "user_passwd",
        "pwd",
        "http.request.header.authorization",
        "http.request.header.x-api-key",
        "api_key",
        "apikey",
        "apiKey",
        "APIKey",
        "user.session_id",
        "sessionId",
        "http.response.header.set-cookie",
        "Cookie",
        "aws.secret_access_key",
        "client_secret",
        "oauth2Token",
        "refresh_token",
        "auth_token",
        "license_key",
        "google.credentials",
        "private_key",
        // Configured: substring, case-insensitive.
        "http.request.header.x-session-id",
        "X-SESSION",
    ] {
        assert!(r.is_sensitive_key(key), "{key} should be sensitive");
    }
    for key in [
        "token_count",
        "gen_ai.usage.output_tokens",
        "password_hash",
        "passwords_match",
        "tokenizer",
        "secretary",
        "key",
        "api",
        "session",
        "cookie.count",
        "session_id_length",
        "",
        "...",
        "service.name",
    ] {
        assert!(!r.is_sensitive_key(key), "{key} should not be sensitive");
    }
}

#[test]
fn sensitive_attributes_are_masked_whatever_their_type() {
    let r = Redactor::new(&RedactConfig::default()).unwrap();
    let mut attrs = vec![
        attr::str("db.password", "hunter2"),
        attr::int("pin_password", 1234),
        kv(
            "api_key",
            AnyValue {
                value: Some(Value::ArrayValue(ArrayValue {
                    values: vec![s("a"), s("b")],
                })),
            },
        ),
        attr::str("token", ""),
        KeyValue {
            key: "secret".into(),
            value: None,
            ..Default::default()
        },
        attr::str("token_count", "12"),
        attr::str("user.email", "carol@example.org"),
        attr::str("already", REDACTED),
    ];
    assert!(r.redact_attributes(&mut attrs));
    assert_eq!(attr::get_str(&attrs, "db.password"), Some(REDACTED));
    assert_eq!(attr::get_str(&attrs, "pin_password"), Some(REDACTED));
    assert_eq!(attr::get_str(&attrs, "api_key"), Some(REDACTED));
    assert_eq!(attr::get_str(&attrs, "token"), Some(""));
    assert!(attrs[4].value.is_none());
    assert_eq!(attr::get_str(&attrs, "token_count"), Some("12"));
    assert_eq!(
        attr::get_str(&attrs, "user.email"),
        Some("[REDACTED:email]")
    );
    let hits = r.rule_hits();
    assert!(
        hits.contains(&(SENSITIVE_KEY_RULE.to_string(), 3)),
        "{hits:?}"
    );
    assert!(hits.contains(&("email".to_string(), 1)), "{hits:?}");
    // Masking is idempotent: nothing changes (nor is counted) the second time.
    assert!(!r.redact_attributes(&mut attrs));
    assert!(r.rule_hits().contains(&(SENSITIVE_KEY_RULE.to_string(), 3)));
}

fn nested_body() -> AnyValue {
    AnyValue {
        value: Some(Value::KvlistValue(KeyValueList {
            values: vec![
                kv("user", s("alice@example.com")),
                kv(
                    "password",
                    AnyValue {
                        value: Some(Value::IntValue(1234)),
                    },
                ),
                kv(
                    "items",
                    AnyValue {
                        value: Some(Value::ArrayValue(ArrayValue {
                            values: vec![
                                s("card 4111111111111111"),
                                AnyValue {
                                    value: Some(Value::KvlistValue(KeyValueList {
                                        values: vec![kv("session_id", s("abc")), kv("n", s("ok"))],
                                    })),
                                },
                                AnyValue {
                                    value: Some(Value::BytesValue(b"password=x".to_vec())),
                                },
                            ],
                        })),
                    },
                ),
            ],
        })),
    }
}

#[test]
fn nested_bodies_are_walked() {
    let r = Redactor::new(&RedactConfig::default()).unwrap();
    let mut body = nested_body();
    assert!(r.redact_value(&mut body));
    let Some(Value::KvlistValue(l)) = &body.value else {
        panic!()
    };
    assert_eq!(attr::get_str(&l.values, "user"), Some("[REDACTED:email]"));
    assert_eq!(attr::get_str(&l.values, "password"), Some(REDACTED));
    let Some(Value::ArrayValue(items)) = &attr::get(&l.values, "items").unwrap().value else {
        panic!()
    };
    assert_eq!(
        str_of(Some(&items.values[0])),
        "card [REDACTED:credit_card]"
    );
    let Some(Value::KvlistValue(inner)) = &items.values[1].value else {
        panic!()
    };
    assert_eq!(attr::get_str(&inner.values, "session_id"), Some(REDACTED));
    assert_eq!(attr::get_str(&inner.values, "n"), Some("ok"));
    // Bytes are not inspected.
    assert_eq!(
        items.values[2].value,
        Some(Value::BytesValue(b"password=x".to_vec()))
    );
}

#[test]
fn very_deep_values_are_masked_whole() {
    let r = Redactor::new(&RedactConfig::default()).unwrap();
    let mut v = s("clean");
    for _ in 0..(MAX_DEPTH + 5) {
        v = AnyValue {
            value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })),
        };
    }
    assert!(r.redact_value(&mut v));
    let mut depth = 0;
    let mut cur = &v;
    while let Some(Value::ArrayValue(a)) = &cur.value {
        cur = &a.values[0];
        depth += 1;
    }
    assert_eq!(depth, MAX_DEPTH);
    assert_eq!(str_of(Some(cur)), REDACTED);
}

fn logs_batch() -> Batch {
    Batch::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    attr::str("host.name", "web-1"),
                    attr::str("host.ip", "10.0.0.7"),
                    attr::str("service.owner", "ops@example.com"),
                    attr::str("deploy.token", "t0k3n"),
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    LogRecord {
                        body: Some(s("login ok for bob@example.com password=hunter2")),
                        attributes: vec![
                            attr::str("http.request.header.authorization", "Basic Ym9iOnB3"),
                            attr::str("url.full", "https://bob:pw@example.com/"),
                        ],
                        ..Default::default()
                    },
                    LogRecord {
                        body: Some(nested_body()),
                        ..Default::default()
                    },
                    LogRecord {
                        body: Some(s("nothing to see")),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

#[test]
fn processor_redacts_logs() {
    let mut cfg = RedactConfig::default();
    cfg.builtins.push("ipv4".into());
    let mut p = RedactProcessor::new(&cfg).unwrap();
    let Some(Batch::Logs(out)) = p.process(logs_batch()) else {
        panic!()
    };
    let rl = &out.resource_logs[0];
    // Resource: only the sensitive key is masked (not the address nor the IP).
    let res = &rl.resource.as_ref().unwrap().attributes;
    assert_eq!(attr::get_str(res, "host.ip"), Some("10.0.0.7"));
    assert_eq!(attr::get_str(res, "service.owner"), Some("ops@example.com"));
    assert_eq!(attr::get_str(res, "deploy.token"), Some(REDACTED));
    let recs = &rl.scope_logs[0].log_records;
    assert_eq!(
        str_of(recs[0].body.as_ref()),
        "login ok for [REDACTED:email] password=[REDACTED:password_assignment]"
    );
    assert_eq!(
        attr::get_str(&recs[0].attributes, "http.request.header.authorization"),
        Some(REDACTED)
    );
    assert_eq!(
        attr::get_str(&recs[0].attributes, "url.full"),
        Some("https://bob:[REDACTED:basic_auth_url]@example.com/")
    );
    assert_ne!(recs[1].body, Some(nested_body()));
    assert_eq!(str_of(recs[2].body.as_ref()), "nothing to see");
    let hits: std::collections::HashMap<String, u64> = p.rule_hits().into_iter().collect();
    assert_eq!(hits["email"], 2);
    assert_eq!(hits["password_assignment"], 1);
    assert_eq!(hits["basic_auth_url"], 1);
    assert_eq!(hits["credit_card"], 1);
    assert_eq!(hits["ipv4"], 0);
    // deploy.token, authorization, nested password and session_id.
    assert_eq!(hits[SENSITIVE_KEY_RULE], 4);
}

#[test]
fn processor_redacts_spans_but_not_names() {
    let mut p = RedactProcessor::new(&RedactConfig::default()).unwrap();
    let span = Span {
        trace_id: vec![1; 16],
        name: "POST /login bob@example.com".into(),
        attributes: vec![
            attr::str(
                "db.statement",
                "UPDATE users SET password='x1' WHERE email='bob@example.com'",
            ),
            attr::str("http.request.header.cookie", "sid=abc"),
            attr::int("http.status_code", 200),
        ],
        events: vec![span::Event {
            name: "exception".into(),
            attributes: vec![attr::str(
                "exception.message",
                "auth failed for token=abc123def",
            )],
            ..Default::default()
        }],
        links: vec![span::Link {
            trace_id: vec![2; 16],
            attributes: vec![
                attr::str("peer.user", "carol@example.org"),
                attr::str("api-key", "k"),
            ],
            ..Default::default()
        }],
        status: Some(Status {
            message: "card 4111 1111 1111 1111 declined".into(),
            code: 2,
        }),
        ..Default::default()
    };
    let batch = Batch::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![attr::str("service.name", "auth")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let Some(Batch::Traces(out)) = p.process(batch) else {
        panic!()
    };
    let span = &out.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.name, "POST /login bob@example.com");
    assert_eq!(
        attr::get_str(&span.attributes, "db.statement"),
        Some("UPDATE users SET password='[REDACTED:password_assignment]' WHERE email='[REDACTED:email]'")
    );
    assert_eq!(
        attr::get_str(&span.attributes, "http.request.header.cookie"),
        Some(REDACTED)
    );
    assert_eq!(span.attributes[2], attr::int("http.status_code", 200));
    assert_eq!(span.events[0].name, "exception");
    assert_eq!(
        attr::get_str(&span.events[0].attributes, "exception.message"),
        Some("auth failed for token=[REDACTED:password_assignment]")
    );
    assert_eq!(
        attr::get_str(&span.links[0].attributes, "peer.user"),
        Some("[REDACTED:email]")
    );
    assert_eq!(
        attr::get_str(&span.links[0].attributes, "api-key"),
        Some(REDACTED)
    );
    assert_eq!(
        span.status.as_ref().unwrap().message,
        "card [REDACTED:credit_card] declined"
    );
}

fn metrics_batch() -> Batch {
    let mut b = MetricsBuilder::new(vec![attr::str("db.password", "pw")], "s", "1");
    b.gauge("logins", "1", "").gauge_i64(
        1,
        1,
        &[("user", "dave@example.com"), ("session_id", "s1")],
    );
    Batch::Metrics(b.finish())
}

fn point_attrs(b: &Batch) -> Vec<KeyValue> {
    let Batch::Metrics(r) = b else { panic!() };
    let Some(Data::Gauge(g)) = &r.resource_metrics[0].scope_metrics[0].metrics[0].data else {
        panic!()
    };
    g.data_points[0].attributes.clone()
}

#[test]
fn metrics_only_with_the_flag() {
    let mut off = RedactProcessor::new(&RedactConfig::default()).unwrap();
    let out = off.process(metrics_batch()).unwrap();
    assert_eq!(point_attrs(&out), point_attrs(&metrics_batch()));
    // Resource sensitive keys are masked whatever the flag.
    let Batch::Metrics(r) = &out else { panic!() };
    let res = &r.resource_metrics[0].resource.as_ref().unwrap().attributes;
    assert_eq!(attr::get_str(res, "db.password"), Some(REDACTED));

    let mut on = RedactProcessor::new(&RedactConfig {
        metrics: true,
        ..Default::default()
    })
    .unwrap();
    let attrs = point_attrs(&on.process(metrics_batch()).unwrap());
    assert_eq!(attr::get_str(&attrs, "user"), Some("[REDACTED:email]"));
    assert_eq!(attr::get_str(&attrs, "session_id"), Some(REDACTED));
}

/// A tiny xorshift generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn fuzz_inputs_never_panic_nor_leak_planted_secrets() {
    // ASCII that the rules care about, plus characters that fold to ASCII letters (Kelvin
    // sign, long s) and other multi-byte characters.
    let alphabet: Vec<char> =
        "abcxyzAKIS0123456789    =:@./-_\"'{}[],;&\n\\eyJ\u{212A}\u{17F}\u{E9}\u{A0}\u{1F600}"
            .chars()
            .collect();
    const SECRETS: &[(&str, &str)] = &[
        ("4111 1111 1111 1111", "4111 1111 1111 1111"),
        ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("alice@example.com", "alice@example.com"),
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "c2lnbmF0dXJl",
        ),
        ("password=hunter2xyz", "hunter2xyz"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34\n-----END RSA PRIVATE KEY-----",
            "MIIBOgIBAAJBAKj34",
        ),
        ("postgres://u:Pa55w0rdZ@db", "Pa55w0rdZ"),
        ("Bearer Zq9xW3vT7kL2mN8p", "Zq9xW3vT7kL2mN8p"),
    ];
    let r = Redactor::new(&fuzz_config()).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..4000 {
        let noise = |rng: &mut Rng| -> String {
            let n = rng.below(40);
            (0..n)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect()
        };
        // Raw bytes (including invalid UTF-8) through the fuzz entry point.
        let raw: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
        fuzz_redact(&raw);
        let (secret, core) = SECRETS[round % SECRETS.len()];
        let text = format!("{} {secret} {}", noise(&mut rng), noise(&mut rng));
        fuzz_redact(text.as_bytes());
        let out = r.redact_str(&text).unwrap_or_else(|| text.clone());
        assert!(!out.contains(core), "leaked {core:?}: {text:?} -> {out:?}");
        // Each rule's detection pattern in the prefilter set is a superset of what the rule
        // masks: a rule run directly never finds anything the set did not report.
        let matched = r.set.matches(&text);
        for (i, rule) in r.rules.iter().enumerate() {
            if rule.apply(&text).is_some() {
                assert!(
                    matched.matched(i),
                    "{} missed by the set: {text:?}",
                    rule.name
                );
            }
        }
    }
}
