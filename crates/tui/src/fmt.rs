//! How numbers read on screen: short, fixed units, never more than one decimal.

/// Bytes with binary units: `512 B`, `1.2 MiB`, `300 KiB`, `7.8 GiB`.
pub fn bytes(n: u64) -> String {
    bytes_f(n as f64)
}

/// [`bytes`] for a fractional amount (rates arrive as `f64`).
pub fn bytes_f(n: f64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let n = if n.is_finite() { n.max(0.0) } else { 0.0 };
    if n < 1024.0 {
        return format!("{n:.0} B");
    }
    let mut v = n / 1024.0;
    let mut unit = UNITS[0];
    for u in UNITS.iter().skip(1) {
        // Switch units before the number gets four digits wide, so widths stay stable.
        if v < 1000.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{} {unit}", short(v))
}

/// Bytes per second: `1.2 MiB/s`.
pub fn bytes_rate(n: f64) -> String {
    format!("{}/s", bytes_f(n))
}

/// Items per second: `0/s`, `2.5/s`, `100/s`, `12.3k/s`.
pub fn rate(n: f64) -> String {
    let n = if n.is_finite() { n.max(0.0) } else { 0.0 };
    if n == 0.0 {
        return "0/s".to_string();
    }
    if n < 10.0 {
        return format!("{n:.1}/s");
    }
    format!("{}/s", si(n))
}

/// A counter, short: `999`, `9999`, `12.3k`, `4.5M`.
pub fn count(n: u64) -> String {
    if n < 10_000 {
        return n.to_string();
    }
    si(n as f64)
}

/// A number with an SI suffix (k, M, G, T) once it reaches a thousand.
fn si(n: f64) -> String {
    const UNITS: [&str; 4] = ["k", "M", "G", "T"];
    if n < 1000.0 {
        return format!("{n:.0}");
    }
    let mut v = n / 1000.0;
    let mut unit = UNITS[0];
    for u in UNITS.iter().skip(1) {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    format!("{}{unit}", short(v))
}

/// One decimal below 100, none above: `1.2`, `45.6`, `300`.
fn short(v: f64) -> String {
    if v < 99.95 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// A count and its noun: `1 source`, `2 sources`, `3 processes`.
pub fn plural(n: usize, noun: &str) -> String {
    match (n, noun.ends_with('s')) {
        (1, _) => format!("1 {noun}"),
        (_, true) => format!("{n} {noun}es"),
        (_, false) => format!("{n} {noun}s"),
    }
}

/// A share from 0 to 1 as a whole percentage: `0.95` → `95%`.
pub fn share(v: f64) -> String {
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    format!("{:.0}%", v * 100.0)
}

/// A duration for a person: `45s`, `5m 07s`, `2h 03m`, `3d 04h`.
pub fn duration(secs: f64) -> String {
    let s = if secs.is_finite() && secs > 0.0 {
        secs as u64
    } else {
        0
    };
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// The UTC time of day of a Unix time: `HH:MM:SS`. (UTC because the local offset needs the
/// time zone database, and a log line's time only has to be comparable with its neighbours.)
pub fn clock(unix: f64) -> String {
    let s = if unix.is_finite() { unix as i64 } else { 0 };
    let day = s.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3600, day / 60 % 60, day % 60)
}

/// A secret shown as `****` and its last 4 characters; short ones (still being typed, or
/// not a real key) show only stars so that nearly all of a key is never on screen.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "*".repeat(chars.len());
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("****{tail}")
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(300 * 1024), "300 KiB");
        assert_eq!(bytes(1_258_291), "1.2 MiB");
        assert_eq!(bytes(8_375_186_227), "7.8 GiB");
        assert_eq!(bytes(u64::MAX), "16.0 EiB");
        // 1000 KiB switches to MiB instead of printing four digits.
        assert_eq!(bytes(1000 * 1024), "1.0 MiB");
    }

    #[test]
    fn odd_floats_do_not_print_nonsense() {
        assert_eq!(bytes_f(f64::NAN), "0 B");
        assert_eq!(bytes_f(-5.0), "0 B");
        assert_eq!(rate(f64::INFINITY), "0/s");
        assert_eq!(duration(f64::NAN), "0s");
        assert_eq!(clock(f64::NAN), "00:00:00");
    }

    #[test]
    fn rates_and_counts() {
        assert_eq!(bytes_rate(1_258_291.0), "1.2 MiB/s");
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(2.5), "2.5/s");
        assert_eq!(rate(100.0), "100/s");
        assert_eq!(rate(12_345.0), "12.3k/s");
        assert_eq!(rate(2_500_000.0), "2.5M/s");
        assert_eq!(count(9999), "9999");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(count(4_500_000), "4.5M");
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "source"), "1 source");
        assert_eq!(plural(0, "line"), "0 lines");
        assert_eq!(plural(3, "process"), "3 processes");
    }

    #[test]
    fn shares() {
        assert_eq!(share(0.95), "95%");
        assert_eq!(share(0.0), "0%");
        assert_eq!(share(7.0), "100%");
        assert_eq!(share(f64::NAN), "0%");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0.0), "0s");
        assert_eq!(duration(45.9), "45s");
        assert_eq!(duration(307.0), "5m 07s");
        assert_eq!(duration(2.0 * 3600.0 + 180.0), "2h 03m");
        assert_eq!(duration(3.0 * 86_400.0 + 4.0 * 3600.0), "3d 04h");
    }

    #[test]
    fn clock_is_utc_time_of_day() {
        assert_eq!(clock(0.0), "00:00:00");
        assert_eq!(clock(1_700_000_000.5), "22:13:20");
        assert_eq!(clock(-1.0), "23:59:59");
    }

    #[test]
    fn secrets_show_only_their_end() {
        let key = "eu01xxabcdefabcdefabcdefabcdefabcdefNRAL";
        assert_eq!(mask(key), "****NRAL");
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn ellipsize_counts_chars() {
        assert_eq!(ellipsize("hello", 10), "hello");
        assert_eq!(ellipsize("hello world", 6), "hello…");
        assert_eq!(ellipsize("héllo", 0), "");
    }
}
