//! Severity keywords and numbers to OpenTelemetry `SeverityNumber`.

/// The OTel severity number of a level keyword (case-insensitive), or `None`.
pub(crate) fn from_text(s: &str) -> Option<i32> {
    if s.len() > 13 {
        return None;
    }
    let mut buf = [0u8; 13];
    let b = &mut buf[..s.len()];
    b.copy_from_slice(s.as_bytes());
    b.make_ascii_uppercase();
    Some(match &*b {
        b"TRACE" | b"TRC" | b"FINEST" | b"FINER" => 1,
        b"DEBUG" | b"DBG" | b"FINE" | b"DEBUG1" | b"DEBUG2" | b"DEBUG3" | b"DEBUG4" | b"DEBUG5" => {
            5
        }
        b"INFO" | b"INF" | b"INFORMATION" | b"INFORMATIONAL" | b"LOG" | b"CONFIG" => 9,
        b"NOTICE" | b"NOTE" => 10,
        b"WARN" | b"WARNING" | b"WRN" => 13,
        b"ERROR" | b"ERR" | b"SEVERE" | b"EROR" => 17,
        b"CRITICAL" | b"CRIT" | b"FATAL" | b"ALERT" | b"EMERG" | b"EMERGENCY" | b"PANIC"
        | b"DPANIC" => 21,
        _ => return None,
    })
}

/// Syslog severity 0-7 to OTel severity number and the syslog keyword.
pub(crate) fn from_syslog(sev: u8) -> (i32, &'static str) {
    match sev {
        0 => (21, "emerg"),
        1 => (21, "alert"),
        2 => (21, "crit"),
        3 => (17, "err"),
        4 => (13, "warning"),
        5 => (10, "notice"),
        6 => (9, "info"),
        _ => (5, "debug"),
    }
}

/// A numeric level as JSON loggers write it: bunyan/pino 10..60, or syslog 0..7.
pub(crate) fn from_number(n: i64) -> Option<i32> {
    match n {
        0..=7 => u8::try_from(n).ok().map(|s| from_syslog(s).0),
        10 => Some(1),
        20 => Some(5),
        30 => Some(9),
        40 => Some(13),
        50 => Some(17),
        60 => Some(21),
        _ => None,
    }
}

/// Looks for a level keyword among the first few whitespace-separated tokens of `s`: a bare
/// token must be upper case (`ERROR`); a token in brackets (`[info]`, `<warn>`, `(debug)`) or
/// followed by `:` (`error:`, `WARNING:root:msg`) may be any case; `level=x` / `lvl=x`
/// anywhere in the first 256 bytes also counts. Returns the number and the keyword as written.
pub(crate) fn scan(s: &str) -> Option<(i32, String)> {
    for tok in s.split_ascii_whitespace().take(6) {
        let trimmed = tok.trim_start_matches(['[', '<', '(', '|']);
        let bracketed = trimmed.len() != tok.len();
        let trimmed = trimmed.trim_end_matches([']', '>', ')', '|', ',', '-']);
        let (word, colon) = match trimmed.find(':') {
            Some(i) if bracketed => {
                // `[core:error]` (Apache): the part after the last colon.
                let last = trimmed.rfind(':').unwrap_or(i);
                (&trimmed[last + 1..], true)
            }
            Some(i) => (&trimmed[..i], true),
            None => (trimmed, false),
        };
        // `production.ERROR:` (Laravel/Monolog channel.level).
        let word = word.rsplit('.').next().unwrap_or(word);
        if word.is_empty() {
            continue;
        }
        let upper = word.bytes().all(|c| !c.is_ascii_lowercase());
        if bracketed || colon || upper {
            if let Some(n) = from_text(word) {
                return Some((n, word.to_string()));
            }
        }
    }
    let head = match s.char_indices().nth(256) {
        Some((i, _)) => &s[..i],
        None => s,
    };
    for key in ["level=", "lvl=", "severity="] {
        let mut from = 0;
        while let Some(p) = head[from..].find(key) {
            let at = from + p;
            from = at + key.len();
            if at > 0 && !head.as_bytes()[at - 1].is_ascii_whitespace() {
                continue;
            }
            let v = head[from..]
                .split(|c: char| c.is_ascii_whitespace())
                .next()
                .unwrap_or("")
                .trim_matches('"');
            if let Some(n) = from_text(v) {
                return Some((n, v.to_string()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords() {
        assert_eq!(from_text("warn"), Some(13));
        assert_eq!(from_text("Warning"), Some(13));
        assert_eq!(from_text("ERR"), Some(17));
        assert_eq!(from_text("fatal"), Some(21));
        assert_eq!(from_text("notice"), Some(10));
        assert_eq!(from_text("trace"), Some(1));
        assert_eq!(from_text("verbose-ish"), None);
        assert_eq!(from_text("a-very-long-word-indeed"), None);
        assert_eq!(from_number(30), Some(9));
        assert_eq!(from_number(3), Some(17));
        assert_eq!(from_number(99), None);
        assert_eq!(from_syslog(4), (13, "warning"));
    }

    #[test]
    fn scanning() {
        assert_eq!(scan("ERROR [main] boom"), Some((17, "ERROR".into())));
        assert_eq!(scan("[info] started"), Some((9, "info".into())));
        assert_eq!(scan("WARNING:root:disk low"), Some((13, "WARNING".into())));
        assert_eq!(scan("error: cannot open"), Some((17, "error".into())));
        assert_eq!(scan("an error happened"), None);
        assert_eq!(scan("[core:error] [pid 1] x"), Some((17, "error".into())));
        assert_eq!(scan("x y z a b c d level=warn"), Some((13, "warn".into())));
        assert_eq!(scan("x y z a b c d nolevel=warn"), None);
    }
}
