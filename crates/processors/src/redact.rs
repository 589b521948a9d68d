//! Masking of secrets and personal data: [`Redactor`] (the reusable core) and
//! [`RedactProcessor`] (the pipeline processor built on it).
//!
//! The rules, what each matches and what it deliberately leaves alone are described in
//! `docs/redaction.md`; the summary:
//!
//! - **Value rules** rewrite matches inside string values. Built-in rules replace what they
//!   mask with `[REDACTED:<rule>]`; custom rules use their configured replacement (with `$1`
//!   group references). Built-ins run in a fixed order (`private_key`, `jwt`, `bearer_token`,
//!   `basic_auth_url`, `aws_access_key`, `credit_card`, `password_assignment`, `email`, `ipv4`)
//!   whatever the order in the config, then custom rules in config order.
//! - **Sensitive keys**: an attribute (or kvlist entry) whose key names a secret gets its whole
//!   value, whatever its type, replaced with the string `[REDACTED]`. Built-in names match
//!   whole trailing key *segments* (see [`Redactor::is_sensitive_key`]) so that
//!   `http.request.header.authorization` and `db_password` match but `token_count` and
//!   `gen_ai.usage.output_tokens` do not; configured `sensitive_keys` entries match as
//!   case-insensitive substrings, as the config documents.
//!
//! Where the processor applies them:
//!
//! | where | value rules | sensitive keys |
//! | --- | --- | --- |
//! | log bodies (strings, nested kvlists and arrays) | yes | yes (kvlist entries) |
//! | log attributes | yes | yes |
//! | span attributes, span event attributes, span link attributes | yes | yes |
//! | span status message | yes | - |
//! | span names, event names | no | - |
//! | metric data point (and exemplar) attributes | only with `metrics: true` | only with `metrics: true` |
//! | resource and scope attributes | no | yes |
//!
//! Resource attributes describe the host and the service (`host.name`, `host.ip`,
//! `service.name`...): masking their values with value rules would break the identity every
//! backend groups data by (the optional `ipv4` rule would mask `host.ip`, for one), so only
//! values under sensitive keys are masked there.
//!
//! # Performance
//!
//! [`Redactor::redact_str`] first runs one [`RegexSet`] over the string, holding a short
//! detection pattern per rule (a superset of what the rule masks): a clean string costs that
//! single pass and no allocation. Only the rules the set reports then search the string (with
//! literal-driven regexes and hand-written scanners, no capture groups), and their candidates
//! are validated in code (Luhn checksum, token shape, octet ranges...); the output string is
//! allocated only when something is replaced.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use lookout_config::{RedactConfig, RedactRule, REDACT_BUILTINS};
use lookout_model::otlp::metric::Data;
use lookout_model::otlp::{any_value::Value, AnyValue, KeyValue};
use lookout_model::Batch;
use lookout_pipeline::Processor;
use regex::{Regex, RegexSet};

/// What a value under a sensitive key becomes.
pub const REDACTED: &str = "[REDACTED]";

/// The name under which [`Redactor::rule_hits`] counts values masked for their key.
pub const SENSITIVE_KEY_RULE: &str = "sensitive_key";

/// Built-in sensitive key names (matched on whole trailing key segments).
pub const BUILTIN_SENSITIVE_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "auth_token",
    "cookie",
    "set-cookie",
    "private_key",
    "credential",
    "credentials",
    "session_id",
    "x-api-key",
    "license_key",
    "secret_access_key",
];

/// Nesting depth of kvlist/array values beyond which a nested value is masked whole rather
/// than inspected (OTLP decoding already limits nesting; this bounds the recursion anyway).
const MAX_DEPTH: usize = 32;

/// The order built-ins are applied in (whatever the config's order).
const BUILTIN_ORDER: [Builtin; 10] = [
    Builtin::PrivateKey,
    Builtin::Jwt,
    Builtin::BearerToken,
    Builtin::BasicAuthUrl,
    Builtin::AwsAccessKey,
    Builtin::CreditCard,
    Builtin::PasswordAssignment,
    Builtin::Email,
    Builtin::Ipv4,
    Builtin::Ipv6,
];

/// One built-in rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    CreditCard,
    Email,
    BearerToken,
    BasicAuthUrl,
    PasswordAssignment,
    AwsAccessKey,
    PrivateKey,
    Jwt,
    Ipv4,
    Ipv6,
}

/// One ASCII-only IPv4 octet (0-255, no leading zero).
const OCTET: &str = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

impl Builtin {
    fn name(self) -> &'static str {
        match self {
            Builtin::CreditCard => "credit_card",
            Builtin::Email => "email",
            Builtin::BearerToken => "bearer_token",
            Builtin::BasicAuthUrl => "basic_auth_url",
            Builtin::PasswordAssignment => "password_assignment",
            Builtin::AwsAccessKey => "aws_access_key",
            Builtin::PrivateKey => "private_key",
            Builtin::Jwt => "jwt",
            Builtin::Ipv4 => "ipv4",
            Builtin::Ipv6 => "ipv6",
        }
    }

    /// (the pattern the rule searches with, its detection pattern for the prefilter set).
    ///
    /// The detection pattern matches wherever the rule could mask something (a superset), but
    /// is kept short and bounded so that one pass of the set over a line stays cheap: the set
    /// runs all of them at once, and long open-ended repetitions that overlap (base64 runs,
    /// address local parts...) make that pass slow. Rules only search for where a candidate
    /// is; the checks and the exact part to mask are code (`Rule::targets`).
    fn patterns(self) -> (String, String) {
        let (search, detect) = match self {
            // Detection: 13 digits (optional single separators) starting with 2-6 after a
            // non-digit, so lines with millisecond timestamps stay on the clean path. Search
            // (the pattern is only documentation: `Rule::targets` scans by hand): every maximal
            // run of digit groups, walked by `card_ranges`.
            Builtin::CreditCard => (
                r"[0-9]+(?:[ -][0-9]+)*",
                r"(?:^|[^0-9])[2-6](?:[ -]?[0-9]){12}",
            ),
            Builtin::Email => (
                r"(?-u:\b)[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?-u:\b)",
                r"[A-Za-z0-9._%+-]@[A-Za-z0-9]",
            ),
            Builtin::BearerToken => (
                r"(?-u:\b)(?i-u:bearer)[ \t]+[A-Za-z0-9._~+/-]+=*",
                r"(?-u:\b)(?i-u:bearer)[ \t]+[A-Za-z0-9._~+/-]",
            ),
            Builtin::BasicAuthUrl => (
                r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s?#"]*:[^/\s?#"]+@[A-Za-z0-9\[]"#,
                r#"://[^:@/\s?#"]*:[^/\s?#"]+@[A-Za-z0-9\[]"#,
            ),
            // The search ends after the separator; `assignment_value` reads the value.
            Builtin::PasswordAssignment => (
                r#"(?i-u:password|passwd|pwd|secret|token|api[_-]?key|secret[_-]?access[_-]?key)["']?[ \t]*[:=][ \t]*"#,
                r#"(?i-u:password|passwd|pwd|secret|token|api[_-]?key|secret[_-]?access[_-]?key)["']?[ \t]*[:=]"#,
            ),
            Builtin::AwsAccessKey => (
                r"(?-u:\b)(?:AKIA|ASIA)[A-Z0-9]{16}(?-u:\b)",
                r"(?-u:\b)(?:AKIA|ASIA)[A-Z0-9]{16}(?-u:\b)",
            ),
            Builtin::PrivateKey => (
                r"-----BEGIN[A-Z0-9 ]* PRIVATE KEY-----(?:[\s\S]*?-----END[A-Z0-9 ]* PRIVATE KEY-----|[\s\S]*)",
                r"-----BEGIN[A-Z0-9 ]* PRIVATE KEY-----",
            ),
            Builtin::Jwt => (
                r"(?-u:\b)eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",
                r"(?-u:\b)eyJ[A-Za-z0-9_-]{5}",
            ),
            // Detection: two colons with hex digits around (times like 03:04:05 pass too and
            // are rejected by `ipv6_ranges`); the search is by hand.
            Builtin::Ipv6 => (
                r"[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*",
                r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:",
            ),
            Builtin::Ipv4 => {
                let quad = format!(r"(?-u:\b){OCTET}\.{OCTET}\.{OCTET}\.{OCTET}(?-u:\b)");
                return (quad.clone(), quad);
            }
        };
        (search.to_string(), detect.to_string())
    }
}

#[derive(Debug)]
enum Kind {
    Builtin(Builtin),
    /// A custom rule and its replacement template.
    Custom(String),
}

#[derive(Debug)]
struct Rule {
    name: String,
    kind: Kind,
    re: Regex,
    /// `[REDACTED:<name>]`.
    marker: String,
    hits: AtomicU64,
}

impl Rule {
    /// Applies the rule to `s`; `None` when nothing was replaced.
    fn apply(&self, s: &str) -> Option<String> {
        let (out, n) = match &self.kind {
            Kind::Custom(replacement) => self.apply_custom(s, replacement)?,
            Kind::Builtin(b) => {
                let ranges = self.targets(*b, s);
                if ranges.is_empty() {
                    return None;
                }
                (splice(s, &ranges, &self.marker), ranges.len())
            }
        };
        self.hits.fetch_add(n as u64, Ordering::Relaxed);
        Some(out)
    }

    /// The sorted, disjoint ranges of `s` a built-in rule masks (no allocation when empty).
    fn targets(&self, b: Builtin, s: &str) -> Vec<Range<usize>> {
        let mut ranges = Vec::new();
        match b {
            Builtin::CreditCard => {
                // The runs are found by hand: a regex restarting at every number of the line
                // costs several times more.
                let mut groups = Vec::new();
                let bytes = s.as_bytes();
                let mut i = 0;
                while i < bytes.len() {
                    if !bytes[i].is_ascii_digit() {
                        i += 1;
                        continue;
                    }
                    let start = i;
                    loop {
                        while i < bytes.len() && bytes[i].is_ascii_digit() {
                            i += 1;
                        }
                        let sep = i + 1 < bytes.len() && matches!(bytes[i], b' ' | b'-');
                        if sep && bytes[i + 1].is_ascii_digit() {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    card_ranges(s, start..i, &mut groups, &mut ranges);
                }
            }
            Builtin::Ipv6 => ipv6_ranges(s, &mut ranges),
            Builtin::PasswordAssignment => {
                let mut pos = 0;
                while let Some(m) = self.re.find_at(s, pos) {
                    pos = m.end();
                    if let Some((value, resume)) = assignment_value(s, m.as_str(), m.end()) {
                        ranges.push(value);
                        pos = resume;
                    }
                }
            }
            _ => {
                for m in self.re.find_iter(s) {
                    let text = m.as_str();
                    let local = match b {
                        Builtin::Email => email_ok(text).then_some(0..text.len()),
                        Builtin::BearerToken => bearer_token(text),
                        Builtin::BasicAuthUrl => url_password(text),
                        Builtin::Ipv4 => ipv4_ok(s, m.range()).then_some(0..text.len()),
                        _ => Some(0..text.len()),
                    };
                    if let Some(r) = local {
                        ranges.push(m.start() + r.start..m.start() + r.end);
                    }
                }
            }
        }
        ranges
    }

    fn apply_custom(&self, s: &str, replacement: &str) -> Option<(String, usize)> {
        let mut out: Option<String> = None;
        let mut last = 0;
        let mut n = 0;
        for caps in self.re.captures_iter(s) {
            let Some(m) = caps.get(0) else { continue };
            // An empty match would insert the replacement between every character.
            if m.is_empty() {
                continue;
            }
            let o = out.get_or_insert_with(|| String::with_capacity(s.len() + 16));
            o.push_str(&s[last..m.start()]);
            caps.expand(replacement, o);
            last = m.end();
            n += 1;
        }
        let mut o = out?;
        o.push_str(&s[last..]);
        Some((o, n))
    }
}

/// `s` with each of the sorted, disjoint `ranges` replaced by `marker`.
fn splice(s: &str, ranges: &[Range<usize>], marker: &str) -> String {
    let mut out = String::with_capacity(s.len() + ranges.len() * marker.len());
    let mut last = 0;
    for r in ranges {
        out.push_str(&s[last..r.start]);
        out.push_str(marker);
        last = r.end;
    }
    out.push_str(&s[last..]);
    out
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Finds card numbers in one maximal run of digit groups (`run`, groups separated by a single
/// space or dash). A card is a sequence of whole groups holding 13 to 19 digits, starting with
/// 2-6 (the major networks' ranges; timestamps, which start with 1 until 2033, survive), that
/// passes the Luhn checksum and is not glued to a letter or underscore. Candidates are taken
/// greedily from the left, longest first.
fn card_ranges(
    s: &str,
    run: Range<usize>,
    groups: &mut Vec<Range<usize>>,
    out: &mut Vec<Range<usize>>,
) {
    let b = s.as_bytes();
    if run.len() < 13 {
        return;
    }
    groups.clear();
    let mut start = run.start;
    for i in run.clone() {
        if !b[i].is_ascii_digit() {
            groups.push(start..i);
            start = i + 1;
        }
    }
    groups.push(start..run.end);
    let left_free = run.start == 0 || !is_word_byte(b[run.start - 1]);
    let right_free = run.end == b.len() || !is_word_byte(b[run.end]);
    let last = groups.len() - 1;
    let mut i = 0;
    while i < groups.len() {
        let first = b[groups[i].start];
        if !(b'2'..=b'6').contains(&first) || (i == 0 && !left_free) {
            i += 1;
            continue;
        }
        // Acceptable end groups (at most 7: each group holds a digit at least).
        let mut ends = [0usize; 7];
        let mut n_ends = 0;
        let mut digits = 0;
        for (j, g) in groups.iter().enumerate().skip(i) {
            digits += g.len();
            if digits > 19 {
                break;
            }
            if digits >= 13 && (j < last || right_free) {
                ends[n_ends] = j;
                n_ends += 1;
            }
        }
        // The longest that passes the checksum.
        let found = ends[..n_ends]
            .iter()
            .rev()
            .copied()
            .find(|&j| luhn(groups[i..=j].iter().flat_map(|g| b[g.clone()].iter())));
        match found {
            Some(j) => {
                out.push(groups[i].start..groups[j].end);
                i = j + 1;
            }
            None => i += 1,
        }
    }
}

/// The Luhn checksum over ASCII digits.
fn luhn<'a>(digits: impl DoubleEndedIterator<Item = &'a u8>) -> bool {
    let mut sum = 0u32;
    for (k, d) in digits.rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if k % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// File extensions that follow an `@` in asset names (`icon@2x.png`), none of them a real
/// top-level domain.
const NOT_TLDS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "css", "js", "map",
];

fn email_ok(m: &str) -> bool {
    let tld = m.rsplit('.').next().unwrap_or_default();
    tld.len() <= 63 && !NOT_TLDS.iter().any(|t| tld.eq_ignore_ascii_case(t))
}

/// The token part of a `Bearer <token>` match, if it looks like a token: at least 8
/// characters and a digit, or at least 20 characters. Prose such as "Bearer tokens" or "bearer
/// authentication" survives.
fn bearer_token(m: &str) -> Option<Range<usize>> {
    let start = 6 + m[6..]
        .bytes()
        .take_while(|c| *c == b' ' || *c == b'\t')
        .count();
    let tok = &m[start..];
    let ok = tok.len() >= 8 && (tok.len() >= 20 || tok.bytes().any(|c| c.is_ascii_digit()));
    ok.then_some(start..m.len())
}

/// The password part of a `scheme://user:password@h` match (the match ends with `@` and the
/// first byte of the host).
fn url_password(m: &str) -> Option<Range<usize>> {
    let authority = m.find("://")? + 3;
    let colon = authority + m[authority..].find(':')?;
    let end = m.len().checked_sub(2)?;
    (colon + 1 < end).then_some(colon + 1..end)
}

fn is_value_stop(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b',' | b';' | b'&')
}

/// Reads the value assigned after a `password=`-like match (`key` is the match: keyword,
/// optional quote, separator, blanks; `start` where it ends). Returns the range to mask and
/// where to resume searching, or `None` when there is nothing to mask.
///
/// A quoted value runs to the closing quote (backslash escapes skipped), or to the end of the
/// string when unterminated (a truncated line); a bare value runs to a blank, a quote, `,`,
/// `;` or `&`, and does not start with `=` (`token == other`).
fn assignment_value(s: &str, key: &str, start: usize) -> Option<(Range<usize>, usize)> {
    let b = s.as_bytes();
    let first = *b.get(start)?;
    let (value, resume, quoted) = if first == b'"' || first == b'\'' {
        let mut i = start + 1;
        let mut close = None;
        while i < b.len() {
            if b[i] == b'\\' {
                i += 2;
                continue;
            }
            if b[i] == first {
                close = Some(i);
                break;
            }
            i += 1;
        }
        match close {
            Some(c) => (start + 1..c, c + 1, true),
            None => (start + 1..b.len(), b.len(), true),
        }
    } else if is_value_stop(first) || first == b'=' {
        return None;
    } else {
        let len = b[start..]
            .iter()
            .take_while(|c| !is_value_stop(**c))
            .count();
        (start..start + len, start + len, false)
    };
    let text = &s[value.clone()];
    if text.is_empty() || text.starts_with("[REDACTED") || text.bytes().all(|c| c == b'*') {
        return None;
    }
    let key = key.trim_end_matches([' ', '\t']);
    let sep = key.bytes().last()?;
    let keyword = key[..key.len() - 1]
        .trim_end_matches([' ', '\t'])
        .trim_end_matches(['"', '\'']);
    // `PWD=/home/me` (and `OLDPWD`) is the shell's working directory, not a password.
    if keyword.eq_ignore_ascii_case("pwd") && (text.starts_with('/') || text.starts_with('~')) {
        return None;
    }
    // `key: word` is too often prose ("invalid token: expected string") or a JSON literal
    // (`"password": null}`).
    let word = text.trim_end_matches(['}', ']', ')']);
    if !quoted && sep == b':' && word.bytes().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some((value, resume))
}

/// IPv6 addresses in `s`: maximal runs of hex digits, `:` and `.` holding at least two colons
/// and a decimal digit, not glued to a word (`crate::add` is a path, not an address), with a
/// single leading or trailing `:` (prose: `addr:2001:db8::1`, `at fe80::1:`) and trailing dots
/// left out, that `std::net::Ipv6Addr` parses (so embedded IPv4 forms like `::ffff:10.0.0.1`
/// count, and times such as `03:04:05` or MAC addresses do not).
fn ipv6_ranges(s: &str, out: &mut Vec<Range<usize>>) {
    let b = s.as_bytes();
    let in_run = |c: u8| c.is_ascii_hexdigit() || c == b':' || c == b'.';
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        if !in_run(b[i]) || b[i] == b'.' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && in_run(b[i]) {
            i += 1;
        }
        let end = i;
        if b[start..end].iter().filter(|c| **c == b':').count() < 2 {
            continue;
        }
        let (mut st, mut en) = (start, end);
        if b[st] == b':' && b.get(st + 1) != Some(&b':') {
            st += 1;
        }
        while en > st && b[en - 1] == b'.' {
            en -= 1;
        }
        if en >= st + 2 && b[en - 1] == b':' && b[en - 2] != b':' {
            en -= 1;
        }
        let glued_before = st == start && start > 0 && word(b[start - 1]);
        let glued_after = en == end && end < b.len() && word(b[end]);
        if glued_before || glued_after || !b[st..en].iter().any(u8::is_ascii_digit) {
            continue;
        }
        if s[st..en].parse::<std::net::Ipv6Addr>().is_ok() {
            out.push(st..en);
        }
    }
}

/// Rejects dotted quads that are part of a longer dotted number (`1.2.3.4.5`, OIDs).
fn ipv4_ok(s: &str, r: Range<usize>) -> bool {
    let b = s.as_bytes();
    let before = r.start >= 2 && b[r.start - 1] == b'.' && b[r.start - 2].is_ascii_digit();
    let after = b.get(r.end) == Some(&b'.') && b.get(r.end + 1).is_some_and(u8::is_ascii_digit);
    !before && !after
}

/// A sensitive key name split into lower-case segments.
#[derive(Debug)]
struct KeySegments(Vec<String>);

/// How many trailing segments of a key are kept for matching (the longest built-in name has 3).
const KEY_SEGMENTS: usize = 4;

/// Splits a key into segments: on `.`, `_`, `-`, space, `/` and `:`, and on camelCase humps
/// (`apiKey` → `api`, `Key`; `APIKey` → `API`, `Key`). Calls `f` with each segment's range.
fn for_each_segment(key: &str, mut f: impl FnMut(Range<usize>)) {
    let b = key.as_bytes();
    let mut start: Option<usize> = None;
    for i in 0..b.len() {
        let c = b[i];
        if matches!(c, b'.' | b'_' | b'-' | b' ' | b'/' | b':') {
            if let Some(s) = start.take() {
                f(s..i);
            }
            continue;
        }
        match start {
            None => start = Some(i),
            Some(s) => {
                let prev = b[i - 1];
                let hump = c.is_ascii_uppercase()
                    && (prev.is_ascii_lowercase()
                        || prev.is_ascii_digit()
                        || (prev.is_ascii_uppercase()
                            && b.get(i + 1).is_some_and(u8::is_ascii_lowercase)));
                if hump {
                    f(s..i);
                    start = Some(i);
                }
            }
        }
    }
    if let Some(s) = start {
        f(s..b.len());
    }
}

/// ASCII case-insensitive substring test (`needle` already lower-case and not empty).
fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.len() >= needle.len()
        && hay
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The reusable redaction core: value rules, sensitive keys and per-rule counters. Shared by
/// [`RedactProcessor`] and by log sources that redact lines as they read them; it is `Sync`
/// (counters are atomic), so one instance can be shared behind an `Arc`.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// Every rule's (prefilter) pattern, index for index with `rules`.
    set: RegexSet,
    builtin_keys: Vec<KeySegments>,
    /// Configured sensitive keys, lower-case (substring match).
    extra_keys: Vec<String>,
    sensitive_hits: AtomicU64,
    /// [`Redactor::is_sensitive_key`] answers for keys seen recently: attribute keys repeat on
    /// every record, and the segment comparison is the costly part of a clean record.
    key_cache: std::sync::Mutex<std::collections::HashMap<Box<str>, bool>>,
}

/// Keys remembered by the sensitive-key cache before it starts over.
const KEY_CACHE_MAX: usize = 4096;

impl Redactor {
    /// Builds the rules of a config: an unknown built-in name or an invalid custom pattern is
    /// an error (config validation reports both first, with the file position).
    pub fn new(cfg: &RedactConfig) -> Result<Self, String> {
        if let Some(b) = cfg
            .builtins
            .iter()
            .find(|b| !REDACT_BUILTINS.contains(&b.as_str()))
        {
            return Err(format!(
                "unknown built-in redaction rule `{b}` (known rules: {})",
                REDACT_BUILTINS.join(", ")
            ));
        }
        let mut rules = Vec::new();
        let mut set_patterns = Vec::new();
        for b in BUILTIN_ORDER {
            if !cfg.builtins.iter().any(|n| n == b.name()) {
                continue;
            }
            let (search, detect) = b.patterns();
            let re =
                Regex::new(&search).map_err(|e| format!("built-in rule `{}`: {e}", b.name()))?;
            set_patterns.push(detect);
            rules.push(Rule {
                name: b.name().to_string(),
                kind: Kind::Builtin(b),
                re,
                marker: format!("[REDACTED:{}]", b.name()),
                hits: AtomicU64::new(0),
            });
        }
        for RedactRule {
            name,
            pattern,
            replacement,
        } in &cfg.rules
        {
            let re =
                Regex::new(pattern).map_err(|e| format!("rule `{name}`: invalid pattern: {e}"))?;
            set_patterns.push(pattern.clone());
            rules.push(Rule {
                name: name.clone(),
                kind: Kind::Custom(replacement.clone()),
                re,
                marker: String::new(),
                hits: AtomicU64::new(0),
            });
        }
        let set = RegexSet::new(&set_patterns).map_err(|e| format!("redaction rules: {e}"))?;
        let builtin_keys = BUILTIN_SENSITIVE_KEYS
            .iter()
            .map(|k| {
                let mut segs = Vec::new();
                for_each_segment(k, |r| segs.push(k[r].to_ascii_lowercase()));
                KeySegments(segs)
            })
            .collect();
        let extra_keys = cfg
            .sensitive_keys
            .iter()
            .filter(|k| !k.is_empty())
            .map(|k| k.to_ascii_lowercase())
            .collect();
        Ok(Redactor {
            rules,
            set,
            builtin_keys,
            extra_keys,
            sensitive_hits: AtomicU64::new(0),
            key_cache: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// Applies every value rule to `s`. `None` when nothing matched: the common clean case
    /// costs one pass of the rule set and allocates nothing.
    pub fn redact_str(&self, s: &str) -> Option<String> {
        if self.rules.is_empty() || !self.set.is_match(s) {
            return None;
        }
        let matched = self.set.matches(s);
        let mut current: Option<String> = None;
        for (i, rule) in self.rules.iter().enumerate() {
            if !matched.matched(i) {
                continue;
            }
            let input = current.as_deref().unwrap_or(s);
            if let Some(next) = rule.apply(input) {
                current = Some(next);
            }
        }
        current
    }

    /// Whether an attribute key names a secret, so that its whole value is masked.
    ///
    /// The key is split into segments on `.`, `_`, `-` (also space, `/`, `:`) and camelCase
    /// humps, compared case-insensitively. A built-in name (itself split the same way:
    /// `api_key` → `api`, `key`) matches when it equals the key's *trailing* segments:
    /// `password`, `db.password`, `DB_PASSWORD`, `http.request.header.x-api-key`, `apiKey`,
    /// `user.session_id` match; `token_count`, `password_hash`, `max_tokens`, `tokenizer`
    /// don't. A configured `sensitive_keys` entry matches anywhere in the key, as a
    /// case-insensitive substring.
    pub fn is_sensitive_key(&self, key: &str) -> bool {
        if self.extra_keys.iter().any(|k| contains_ignore_case(key, k)) {
            return true;
        }
        // The last KEY_SEGMENTS segments, in a ring.
        let mut ring: [Range<usize>; KEY_SEGMENTS] = Default::default();
        let mut count = 0usize;
        for_each_segment(key, |r| {
            ring[count % KEY_SEGMENTS] = r;
            count += 1;
        });
        let tail = |back: usize| &key[ring[(count - 1 - back) % KEY_SEGMENTS].clone()];
        self.builtin_keys.iter().any(|KeySegments(segs)| {
            segs.len() <= count.min(KEY_SEGMENTS)
                && segs
                    .iter()
                    .rev()
                    .enumerate()
                    .all(|(back, seg)| tail(back).eq_ignore_ascii_case(seg))
        })
    }

    /// Replacements so far, per rule: the enabled built-ins (in the order they apply), then
    /// the custom rules, then [`SENSITIVE_KEY_RULE`] (values masked for their key).
    pub fn rule_hits(&self) -> Vec<(String, u64)> {
        self.rules
            .iter()
            .map(|r| (r.name.clone(), r.hits.load(Ordering::Relaxed)))
            .chain(std::iter::once((
                SENSITIVE_KEY_RULE.to_string(),
                self.sensitive_hits.load(Ordering::Relaxed),
            )))
            .collect()
    }

    /// Redacts an attribute value in place: strings through the value rules, arrays and
    /// kvlists recursively (kvlist entries under sensitive keys masked whole). Bytes, numbers
    /// and booleans are left alone. Returns whether anything changed.
    pub fn redact_value(&self, value: &mut AnyValue) -> bool {
        self.redact_value_at(value, 0)
    }

    /// Redacts a list of attributes in place: values under sensitive keys are replaced with
    /// [`REDACTED`], the others go through [`Redactor::redact_value`]. Returns whether anything
    /// changed.
    pub fn redact_attributes(&self, attrs: &mut [KeyValue]) -> bool {
        self.redact_kvs(attrs, 0)
    }

    /// Masks only the values under sensitive keys (what resource attributes get). Returns
    /// whether anything changed.
    pub fn mask_sensitive_attributes(&self, attrs: &mut [KeyValue]) -> bool {
        let mut changed = false;
        for kv in attrs {
            if self.sensitive_cached(&kv.key) {
                changed |= self.mask(&mut kv.value);
            }
        }
        changed
    }

    /// [`Redactor::is_sensitive_key`] through the cache.
    fn sensitive_cached(&self, key: &str) -> bool {
        let Ok(mut cache) = self.key_cache.lock() else {
            return self.is_sensitive_key(key);
        };
        if let Some(v) = cache.get(key) {
            return *v;
        }
        let v = self.is_sensitive_key(key);
        if cache.len() >= KEY_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key.into(), v);
        v
    }

    fn redact_kvs(&self, kvs: &mut [KeyValue], depth: usize) -> bool {
        let mut changed = false;
        for kv in kvs {
            if self.sensitive_cached(&kv.key) {
                changed |= self.mask(&mut kv.value);
            } else if let Some(v) = kv.value.as_mut() {
                changed |= self.redact_value_at(v, depth);
            }
        }
        changed
    }

    fn redact_value_at(&self, value: &mut AnyValue, depth: usize) -> bool {
        match &mut value.value {
            Some(Value::StringValue(s)) => match self.redact_str(s) {
                Some(new) => {
                    *s = new;
                    true
                }
                None => false,
            },
            Some(Value::ArrayValue(_) | Value::KvlistValue(_)) if depth >= MAX_DEPTH => {
                value.value = Some(Value::StringValue(REDACTED.to_string()));
                true
            }
            Some(Value::ArrayValue(a)) => a.values.iter_mut().fold(false, |changed, v| {
                self.redact_value_at(v, depth + 1) | changed
            }),
            Some(Value::KvlistValue(l)) => self.redact_kvs(&mut l.values, depth + 1),
            _ => false,
        }
    }

    /// Replaces a sensitive value with [`REDACTED`] (an absent or empty value has nothing to
    /// hide and is left alone).
    fn mask(&self, value: &mut Option<AnyValue>) -> bool {
        let Some(Some(v)) = value.as_ref().map(|v| v.value.as_ref()) else {
            return false;
        };
        if let Value::StringValue(s) = v {
            if s.is_empty() || s == REDACTED {
                return false;
            }
        }
        *value = Some(AnyValue {
            value: Some(Value::StringValue(REDACTED.to_string())),
        });
        self.sensitive_hits.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// The `redact` processor: applies a [`Redactor`] to logs, traces and (optionally) metrics.
/// See the [module documentation](self) for what is redacted where.
#[derive(Debug)]
pub struct RedactProcessor {
    redactor: Redactor,
    metrics: bool,
}

impl RedactProcessor {
    /// Builds the processor from its config (errors as [`Redactor::new`]).
    pub fn new(cfg: &RedactConfig) -> Result<Self, String> {
        Ok(RedactProcessor {
            redactor: Redactor::new(cfg)?,
            metrics: cfg.metrics,
        })
    }

    /// The redactor (for its counters).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Same as [`Redactor::rule_hits`].
    pub fn rule_hits(&self) -> Vec<(String, u64)> {
        self.redactor.rule_hits()
    }

    fn redact_batch(&self, batch: &mut Batch) {
        let r = &self.redactor;
        match batch {
            Batch::Logs(req) => {
                for rl in &mut req.resource_logs {
                    if let Some(res) = rl.resource.as_mut() {
                        r.mask_sensitive_attributes(&mut res.attributes);
                    }
                    for sl in &mut rl.scope_logs {
                        if let Some(scope) = sl.scope.as_mut() {
                            r.mask_sensitive_attributes(&mut scope.attributes);
                        }
                        for rec in &mut sl.log_records {
                            if let Some(body) = rec.body.as_mut() {
                                r.redact_value(body);
                            }
                            r.redact_attributes(&mut rec.attributes);
                        }
                    }
                }
            }
            Batch::Traces(req) => {
                for rs in &mut req.resource_spans {
                    if let Some(res) = rs.resource.as_mut() {
                        r.mask_sensitive_attributes(&mut res.attributes);
                    }
                    for ss in &mut rs.scope_spans {
                        if let Some(scope) = ss.scope.as_mut() {
                            r.mask_sensitive_attributes(&mut scope.attributes);
                        }
                        for span in &mut ss.spans {
                            r.redact_attributes(&mut span.attributes);
                            for ev in &mut span.events {
                                r.redact_attributes(&mut ev.attributes);
                            }
                            for link in &mut span.links {
                                r.redact_attributes(&mut link.attributes);
                            }
                            if let Some(status) = span.status.as_mut() {
                                if let Some(m) = r.redact_str(&status.message) {
                                    status.message = m;
                                }
                            }
                        }
                    }
                }
            }
            Batch::Metrics(req) => {
                for rm in &mut req.resource_metrics {
                    if let Some(res) = rm.resource.as_mut() {
                        r.mask_sensitive_attributes(&mut res.attributes);
                    }
                    for sm in &mut rm.scope_metrics {
                        if let Some(scope) = sm.scope.as_mut() {
                            r.mask_sensitive_attributes(&mut scope.attributes);
                        }
                        if !self.metrics {
                            continue;
                        }
                        for m in &mut sm.metrics {
                            self.redact_metric_data(m.data.as_mut());
                        }
                    }
                }
            }
        }
    }

    fn redact_metric_data(&self, data: Option<&mut Data>) {
        let r = &self.redactor;
        macro_rules! points {
            ($points:expr) => {
                for p in $points {
                    r.redact_attributes(&mut p.attributes);
                    for e in &mut p.exemplars {
                        r.redact_attributes(&mut e.filtered_attributes);
                    }
                }
            };
        }
        match data {
            Some(Data::Gauge(g)) => points!(&mut g.data_points),
            Some(Data::Sum(s)) => points!(&mut s.data_points),
            Some(Data::Histogram(h)) => points!(&mut h.data_points),
            Some(Data::ExponentialHistogram(h)) => points!(&mut h.data_points),
            Some(Data::Summary(s)) => {
                for p in &mut s.data_points {
                    r.redact_attributes(&mut p.attributes);
                }
            }
            None => {}
        }
    }
}

impl Processor for RedactProcessor {
    fn process(&mut self, mut batch: Batch) -> Option<Batch> {
        self.redact_batch(&mut batch);
        Some(batch)
    }

    fn report(&self, stats: &lookout_pipeline::ComponentStats) {
        for (rule, n) in self.rule_hits() {
            stats.set_labeled(
                "lookout_redactions_total",
                "Values masked by a redact processor, by rule.",
                "rule",
                &rule,
                n,
            );
        }
    }
}

/// Fuzzing entry point: redacts the (lossily decoded) input with every built-in rule enabled
/// plus one custom rule with a group reference, and checks the invariants: no panic, and any
/// rewritten output carries a redaction marker. Also exercises key classification.
pub fn fuzz_redact(data: &[u8]) {
    static REDACTOR: OnceLock<Option<Redactor>> = OnceLock::new();
    let Some(r) = REDACTOR.get_or_init(|| Redactor::new(&fuzz_config()).ok()) else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    if let Some(out) = r.redact_str(&text) {
        assert!(
            out.contains("[REDACTED"),
            "rewritten without a marker: {out:?}"
        );
    }
    let _ = r.is_sensitive_key(&text);
}

fn fuzz_config() -> RedactConfig {
    RedactConfig {
        builtins: REDACT_BUILTINS.iter().map(|s| s.to_string()).collect(),
        rules: vec![RedactRule {
            name: "order_ref".into(),
            pattern: "(ORD)-[0-9]{6}".into(),
            replacement: "$1-[REDACTED]".into(),
        }],
        sensitive_keys: vec!["x-session".into()],
        metrics: true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
