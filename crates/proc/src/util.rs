//! Allocation-free helpers shared by the parsers. None of them can panic.

/// The lines of `input` with their 1-based numbers. A trailing newline does not add a line.
pub(crate) fn lines(input: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let input = input.strip_suffix(b"\n").unwrap_or(input);
    // An empty input has no lines (split would yield one empty line).
    let skip_all = input.is_empty();
    input
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(move |_| !skip_all)
        .map(|(i, line)| (i + 1, line))
}

/// The whitespace-separated fields of `line`.
pub(crate) fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

/// Whether `line` holds nothing but whitespace.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// `line` without leading and trailing ASCII whitespace.
pub(crate) fn trim(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

/// A non-empty run of decimal digits that fits in a `u64`.
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Decimal digits that fit in a `u32`.
pub(crate) fn parse_u32(s: &[u8]) -> Option<u32> {
    parse_u64(s).and_then(|v| u32::try_from(v).ok())
}

/// Decimal digits with an optional leading `-`, fitting in an `i64`.
pub(crate) fn parse_i64(s: &[u8]) -> Option<i64> {
    match s.split_first() {
        Some((b'-', digits)) => {
            let v = parse_u64(digits)?;
            if v == i64::MIN.unsigned_abs() {
                Some(i64::MIN)
            } else {
                i64::try_from(v).ok().map(|v| -v)
            }
        }
        _ => parse_u64(s).and_then(|v| i64::try_from(v).ok()),
    }
}

/// Like [`parse_i64`], fitting in an `i32`.
pub(crate) fn parse_i32(s: &[u8]) -> Option<i32> {
    parse_i64(s).and_then(|v| i32::try_from(v).ok())
}

/// A finite, non-negative decimal number such as `0.33` or `186.80`.
pub(crate) fn parse_f64(s: &[u8]) -> Option<f64> {
    // Only digits and one dot: rejects "inf", "NaN", exponents and signs, which the kernel never
    // prints in these files.
    if s.is_empty() || !s.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let v: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

/// Two hexadecimal digits, as in the `st` column of `/proc/net/tcp`.
pub(crate) fn parse_hex_u8(s: &[u8]) -> Option<u8> {
    match s {
        [hi, lo] => Some(hex_digit(*hi)? << 4 | hex_digit(*lo)?),
        _ => None,
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_from_one_and_trailing_newline_adds_none() {
        let got: Vec<_> = lines(b"a\n\nb\n").collect();
        assert_eq!(got, vec![(1, &b"a"[..]), (2, &b""[..]), (3, &b"b"[..])]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").count(), 0);
        assert_eq!(lines(b"x").count(), 1);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b"1a"), None);
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i32(b"-1"), Some(-1));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_f64(b"0.33"), Some(0.33));
        assert_eq!(parse_f64(b"inf"), None);
        assert_eq!(parse_f64(b"1e5"), None);
        assert_eq!(parse_f64(b"."), None);
        assert_eq!(parse_hex_u8(b"0A"), Some(10));
        assert_eq!(parse_hex_u8(b"0a"), Some(10));
        assert_eq!(parse_hex_u8(b"0G"), None);
        assert_eq!(parse_hex_u8(b"001"), None);
    }
}
