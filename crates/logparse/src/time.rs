//! Timestamp recognisers. Every function looks at the start of its input and returns the Unix
//! time in nanoseconds with the number of bytes it consumed. Times written without a zone are
//! taken as UTC. Years before 1970 or after 9999 are refused.

const NANOS: i128 = 1_000_000_000;
const DAY_NANOS: u64 = 86_400 * 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The Gregorian year a Unix time in nanoseconds falls in.
pub(crate) fn year_of(nanos: u64) -> i64 {
    let days = i64::try_from(nanos / DAY_NANOS).unwrap_or(0);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(m <= 2)
}

/// Fields of a civil time; validated and converted by [`Civil::nanos`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub frac_nanos: u32,
    /// Seconds east of UTC.
    pub offset_secs: i32,
}

impl Civil {
    pub(crate) fn nanos(&self) -> Option<u64> {
        if !(1970..=9999).contains(&self.year)
            || !(1..=12).contains(&self.month)
            || !(1..=31).contains(&self.day)
            || self.hour > 23
            || self.minute > 59
            || self.second > 60
        {
            return None;
        }
        let days = i128::from(days_from_civil(self.year, self.month, self.day));
        let secs = days * 86_400
            + i128::from(self.hour) * 3600
            + i128::from(self.minute) * 60
            + i128::from(self.second.min(59))
            - i128::from(self.offset_secs);
        u64::try_from(secs * NANOS + i128::from(self.frac_nanos)).ok()
    }
}

fn num(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Reads `.123` / `,123456789`: returns nanoseconds and bytes consumed (0 when absent).
fn fraction(b: &[u8], at: usize) -> (u32, usize) {
    if !matches!(b.get(at), Some(b'.') | Some(b',')) {
        return (0, 0);
    }
    let mut i = at + 1;
    let mut v = 0u32;
    let mut digits = 0;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        if digits < 9 {
            v = v * 10 + u32::from(c - b'0');
            digits += 1;
        }
        i += 1;
    }
    if i == at + 1 {
        return (0, 0);
    }
    for _ in digits..9 {
        v *= 10;
    }
    (v, i - at)
}

/// Reads a zone at `at`: `Z`, `+hh:mm`, `+hhmm`, `+hh`, or ` UTC`/` GMT`. Returns offset and
/// bytes consumed (0 when absent).
fn zone(b: &[u8], at: usize, allow_space: bool) -> (i32, usize) {
    match b.get(at) {
        Some(b'Z') | Some(b'z') => return (0, 1),
        Some(&c @ (b'+' | b'-')) => {
            if let Some(h) = num(b, at + 1, 2) {
                let (m, len) = if b.get(at + 3) == Some(&b':') {
                    num(b, at + 4, 2).map_or((0, 3), |m| (m, 6))
                } else {
                    num(b, at + 3, 2).map_or((0, 3), |m| (m, 5))
                };
                if h <= 23 && m <= 59 {
                    let off = i32::try_from(h * 3600 + m * 60).unwrap_or(0);
                    return (if c == b'-' { -off } else { off }, len);
                }
            }
        }
        Some(b' ') if allow_space => {
            let rest = b.get(at + 1..).unwrap_or_default();
            for name in [&b"UTC"[..], b"GMT"] {
                if rest.starts_with(name) && rest.get(3).is_none_or(|c| !c.is_ascii_alphanumeric())
                {
                    return (0, 4);
                }
            }
            if matches!(rest.first(), Some(b'+') | Some(b'-')) && num(rest, 1, 4).is_some() {
                let (off, len) = zone(b, at + 1, false);
                if len == 5 {
                    return (off, 6);
                }
            }
        }
        _ => {}
    }
    (0, 0)
}

/// `YYYY-MM-DD[T ]hh:mm:ss[.frac][zone]` (RFC 3339 and the common variants: space instead of
/// `T`, `,` before the fraction, `/` in the date, zone `Z`, `+hh:mm`, `+hhmm`, ` UTC`).
pub(crate) fn iso(s: &str) -> Option<(u64, usize)> {
    let b = s.as_bytes();
    let year = num(b, 0, 4)?;
    let sep = *b.get(4)?;
    if !(sep == b'-' || sep == b'/') || b.get(7) != Some(&sep) {
        return None;
    }
    let month = num(b, 5, 2)?;
    let day = num(b, 8, 2)?;
    if !matches!(b.get(10), Some(b'T') | Some(b't') | Some(b' ')) {
        return None;
    }
    let hour = num(b, 11, 2)?;
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let minute = num(b, 14, 2)?;
    let second = num(b, 17, 2)?;
    let (frac_nanos, flen) = fraction(b, 19);
    let (offset_secs, zlen) = zone(b, 19 + flen, true);
    let c = Civil {
        year: i64::from(year),
        month,
        day,
        hour,
        minute,
        second,
        frac_nanos,
        offset_secs,
    };
    Some((c.nanos()?, 19 + flen + zlen))
}

/// Month number from an English three-letter abbreviation (any case).
pub(crate) fn month(b: &[u8]) -> Option<u32> {
    const NAMES: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let m = b.get(..3)?;
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(m))
        .and_then(|p| u32::try_from(p + 1).ok())
}

/// BSD syslog `Mmm dd hh:mm:ss[.frac]` (day space- or zero-padded). The year is not written:
/// the year of `now` is used, or the one before when that would put the time more than a day
/// after `now`.
pub(crate) fn bsd(s: &str, now_nanos: u64) -> Option<(u64, usize)> {
    let b = s.as_bytes();
    let month = month(b)?;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let mut i = 4;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let (day, dlen) = match num(b, i, 2) {
        Some(d) => (d, 2),
        None => (num(b, i, 1)?, 1),
    };
    i += dlen;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let hour = num(b, i, 2)?;
    let minute = num(b, i + 3, 2)?;
    let second = num(b, i + 6, 2)?;
    if b.get(i + 2) != Some(&b':') || b.get(i + 5) != Some(&b':') {
        return None;
    }
    i += 8;
    let (frac_nanos, flen) = fraction(b, i);
    i += flen;
    let year = year_of(now_nanos);
    let mut c = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        frac_nanos,
        offset_secs: 0,
    };
    let mut t = c.nanos()?;
    if t > now_nanos.saturating_add(DAY_NANOS) {
        c.year -= 1;
        t = c.nanos()?;
    }
    Some((t, i))
}

/// Common Log Format `dd/Mon/yyyy:hh:mm:ss +zzzz` (the text between the brackets).
pub(crate) fn clf(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let day = num(b, 0, 2)?;
    if b.get(2) != Some(&b'/') || b.get(6) != Some(&b'/') || b.get(11) != Some(&b':') {
        return None;
    }
    let month = month(b.get(3..6)?)?;
    let year = num(b, 7, 4)?;
    let hour = num(b, 12, 2)?;
    let minute = num(b, 15, 2)?;
    let second = num(b, 18, 2)?;
    if b.get(14) != Some(&b':') || b.get(17) != Some(&b':') {
        return None;
    }
    let (frac_nanos, flen) = fraction(b, 20);
    let (offset_secs, _) = zone(b, 20 + flen, true);
    Civil {
        year: i64::from(year),
        month,
        day,
        hour,
        minute,
        second,
        frac_nanos,
        offset_secs,
    }
    .nanos()
}

/// An epoch number whose unit is guessed from its magnitude: below 1e11 seconds, below 1e14
/// milliseconds, below 1e17 microseconds, else nanoseconds.
pub(crate) fn epoch_f64(v: f64) -> Option<u64> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    let nanos = if v < 1e11 {
        v * 1e9
    } else if v < 1e14 {
        v * 1e6
    } else if v < 1e17 {
        v * 1e3
    } else {
        v
    };
    if nanos >= 1.8e19 {
        return None;
    }
    // In range and positive: the cast cannot saturate.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(nanos.round() as u64)
}

/// [`epoch_f64`] for an integer, without float rounding.
pub(crate) fn epoch_u64(v: u64) -> Option<u64> {
    match v {
        0 => None,
        v if v < 100_000_000_000 => v.checked_mul(1_000_000_000),
        v if v < 100_000_000_000_000 => v.checked_mul(1_000_000),
        v if v < 100_000_000_000_000_000 => v.checked_mul(1_000),
        v => Some(v),
    }
}

/// A timestamp given as text: ISO/RFC 3339 (the whole text) or an epoch number.
pub(crate) fn text(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some((t, n)) = iso(s) {
        return (n == s.len()).then_some(t);
    }
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        return epoch_u64(s.parse().ok()?);
    }
    epoch_decimal(s)
}

/// A decimal epoch number as text (`1704164645.123`), exact to the nanosecond; the unit is
/// guessed from the integer part as in [`epoch_f64`].
pub(crate) fn epoch_decimal(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || int.len() > 20
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: u64 = int.parse().ok()?;
    let base = epoch_u64(whole)?;
    let digits: u32 = match base / whole.max(1) {
        1_000_000_000 => 9,
        1_000_000 => 6,
        1_000 => 3,
        _ => 0,
    };
    let mut f = 0u64;
    for (n, c) in frac.bytes().enumerate() {
        if n as u32 >= digits {
            break;
        }
        f = f * 10 + u64::from(c - b'0');
    }
    let taken = u32::try_from(frac.len()).unwrap_or(u32::MAX).min(digits);
    f *= 10u64.pow(digits - taken);
    base.checked_add(f)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const T0: u64 = 1_704_164_645_000_000_000; // 2024-01-02T03:04:05Z

    #[test]
    fn iso_variants() {
        assert_eq!(iso("2024-01-02T03:04:05Z"), Some((T0, 20)));
        assert_eq!(iso("2024-01-02 03:04:05"), Some((T0, 19)));
        assert_eq!(iso("2024-01-02T03:04:05.678Z").unwrap().0, T0 + 678_000_000);
        assert_eq!(
            iso("2024-01-02 03:04:05,678 ERROR").unwrap(),
            (T0 + 678_000_000, 23)
        );
        assert_eq!(iso("2024-01-02T05:04:05+02:00").unwrap().0, T0);
        assert_eq!(iso("2024-01-02T01:04:05-0200").unwrap().0, T0);
        assert_eq!(
            iso("2024-01-02 03:04:05.678 UTC [1]").unwrap(),
            (T0 + 678_000_000, 27)
        );
        assert_eq!(iso("2024/01/02 03:04:05 x").unwrap().0, T0);
        assert_eq!(
            iso("2024-01-02T03:04:05.123456789123Z").unwrap().0,
            T0 + 123_456_789
        );
        assert!(iso("2024-13-02T03:04:05Z").is_none());
        assert!(iso("1969-12-31T23:59:59Z").is_none());
        assert!(iso("2024-01-02").is_none());
    }

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(year_of(T0), 2024);
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(iso("2023-12-31T23:59:59Z").unwrap().0), 2023);
    }

    #[test]
    fn bsd_year_inference() {
        let now = iso("2024-01-02T12:00:00Z").unwrap().0;
        assert_eq!(bsd("Jan  2 03:04:05 host", now), Some((T0, 15)));
        assert_eq!(bsd("Jan 02 03:04:05", now).unwrap().0, T0);
        // December seen in early January belongs to last year.
        let dec = bsd("Dec 31 23:00:00", now).unwrap().0;
        assert_eq!(year_of(dec), 2023);
        // Tomorrow (clock skew) stays this year.
        assert_eq!(year_of(bsd("Jan  3 06:00:00", now).unwrap().0), 2024);
        assert!(bsd("Foo  2 03:04:05", now).is_none());
    }

    #[test]
    fn clf_and_epochs() {
        assert_eq!(clf("02/Jan/2024:05:04:05 +0200"), Some(T0));
        assert_eq!(clf("02/Jan/2024:03:04:05 -0000"), Some(T0));
        assert!(clf("02/Foo/2024:03:04:05 +0000").is_none());
        assert_eq!(text("1704164645"), Some(T0));
        assert_eq!(text("1704164645000"), Some(T0));
        assert_eq!(text("1704164645000000000"), Some(T0));
        assert_eq!(text("1704164645.5"), Some(T0 + 500_000_000));
        assert_eq!(epoch_f64(1_704_164_645_000.0), Some(T0));
        assert_eq!(text("2024-01-02T03:04:05Z"), Some(T0));
        assert_eq!(text("2024-01-02T03:04:05Z trailing"), None);
        assert_eq!(text("-1"), None);
    }
}
