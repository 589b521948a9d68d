//! `key=value` pairs (logfmt, as go-kit, logrus' text formatter and Heroku write them).

use crate::{severity, time, Body, Format, Parsed, Value};

/// One token of a logfmt line.
pub(crate) enum Token<'a> {
    /// `key=value`, the value unquoted; `len` is the bytes the pair spans.
    Pair(&'a str, String, usize),
    /// A word that is not a pair.
    Word(&'a str),
}

fn key_ok(k: &str) -> bool {
    let mut b = k.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b'@')
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'@' | b'/' | b'-'))
}

/// Splits a line into tokens.
pub(crate) fn tokens(line: &str) -> Vec<Token<'_>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        // A key runs to `=`, whitespace or a quote.
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'"' {
            i += 1;
        }
        let key = &line[start..i];
        if i < b.len() && b[i] == b'=' && key_ok(key) {
            i += 1;
            if i < b.len() && b[i] == b'"' {
                let (value, end) = quoted(line, i);
                i = end;
                out.push(Token::Pair(key, value, i - start));
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                out.push(Token::Pair(key, line[vs..i].to_string(), i - start));
            }
        } else {
            // Not a pair: skip the word (a quoted part included).
            while i < b.len() && !b[i].is_ascii_whitespace() {
                if b[i] == b'"' {
                    i = quoted(line, i).1;
                } else {
                    i += 1;
                }
            }
            out.push(Token::Word(&line[start..i]));
        }
    }
    out
}

/// Reads a double-quoted string starting at `at` (the quote); returns the unescaped text and the
/// index after the closing quote (or the end of the line when it is not closed).
pub(crate) fn quoted(line: &str, at: usize) -> (String, usize) {
    let mut out = String::new();
    let mut chars = line[at + 1..].char_indices();
    while let Some((j, c)) = chars.next() {
        match c {
            '"' => return (out, at + 1 + j + 1),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, e)) => out.push(e),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    (out, line.len())
}

pub(crate) fn parse(line: &str, auto: bool) -> Option<Parsed> {
    let toks = tokens(line);
    let mut pairs = 0;
    let mut covered = 0;
    for t in &toks {
        if let Token::Pair(_, _, len) = t {
            pairs += 1;
            covered += len;
        }
    }
    let non_blank = line.bytes().filter(|c| !c.is_ascii_whitespace()).count();
    if pairs == 0 || (auto && (pairs < 2 || covered * 10 < non_blank * 7)) {
        return None;
    }
    let mut p = Parsed {
        format: Format::Logfmt,
        timestamp_nanos: None,
        severity: None,
        body: Body::Str(String::new()),
        attributes: Vec::with_capacity(pairs),
    };
    let mut body = None;
    for t in toks {
        let Token::Pair(k, v, _) = t else { continue };
        match k {
            "msg" | "message" if body.is_none() => body = Some(v),
            "level" | "lvl" | "severity" | "at" if p.severity.is_none() => {
                match severity::from_text(&v) {
                    Some(n) => p.severity = Some((n, v)),
                    None => p.attributes.push((k.to_string(), Value::Str(v))),
                }
            }
            "time" | "ts" | "timestamp" if p.timestamp_nanos.is_none() => match time::text(&v) {
                Some(ts) => p.timestamp_nanos = Some(ts),
                None => p.attributes.push((k.to_string(), Value::Str(v))),
            },
            _ => p.attributes.push((k.to_string(), Value::Str(v))),
        }
    }
    p.body = Body::Str(body.unwrap_or_else(|| line.trim().to_string()));
    Some(p)
}
