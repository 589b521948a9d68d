//! Anything else: the line is the body; a leading timestamp and a level keyword are picked up.

use crate::{severity, time, Body, Format, Parsed};

/// A leading timestamp, optionally in `[…]`: its time and the rest of the line.
fn leading_time(line: &str, now: u64) -> Option<(u64, &str)> {
    let (s, bracket) = match line.strip_prefix('[') {
        Some(s) => (s, true),
        None => (line, false),
    };
    let (t, n) = time::iso(s).or_else(|| time::bsd(s, now))?;
    let mut rest = &s[n..];
    if bracket {
        rest = rest.strip_prefix(']')?;
    }
    Some((t, rest))
}

pub(crate) fn parse(line: &str, now: u64) -> Parsed {
    let (timestamp_nanos, rest) = match leading_time(line, now) {
        Some((t, rest)) => (Some(t), rest),
        None => (None, line),
    };
    Parsed {
        format: Format::Plain,
        timestamp_nanos,
        severity: severity::scan(rest),
        body: Body::Str(line.to_string()),
        attributes: Vec::new(),
    }
}
