//! `/proc/loadavg` and `/proc/uptime`: two one-line files.

use crate::error::ParseError;
use crate::util::{fields, parse_f64, parse_u64};

/// The parsed contents of `/proc/loadavg`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadAvg {
    /// Load average over 1 minute.
    pub one: f64,
    /// Load average over 5 minutes.
    pub five: f64,
    /// Load average over 15 minutes.
    pub fifteen: f64,
    /// Threads runnable right now.
    pub running: u64,
    /// Threads that exist right now.
    pub total: u64,
    /// The most recently assigned process ID.
    pub last_pid: u64,
}

/// Parses `/proc/loadavg`, e.g. `0.33 0.23 0.10 2/158 5466`. Columns after these are ignored.
pub fn parse_loadavg(input: &[u8]) -> Result<LoadAvg, ParseError> {
    let line = first_line(input);
    let mut f = fields(line);
    let bad = |what: &'static str| ParseError::at_line(1, what);
    let one = f
        .next()
        .and_then(parse_f64)
        .ok_or_else(|| bad("bad 1-minute load"))?;
    let five = f
        .next()
        .and_then(parse_f64)
        .ok_or_else(|| bad("bad 5-minute load"))?;
    let fifteen = f
        .next()
        .and_then(parse_f64)
        .ok_or_else(|| bad("bad 15-minute load"))?;
    let (running, total) = f
        .next()
        .and_then(|s| {
            let slash = s.iter().position(|&b| b == b'/')?;
            let (running, total) = s.split_at(slash);
            Some((parse_u64(running)?, parse_u64(total.get(1..)?)?))
        })
        .ok_or_else(|| bad("bad running/total thread count"))?;
    let last_pid = f
        .next()
        .and_then(parse_u64)
        .ok_or_else(|| bad("bad last PID"))?;
    Ok(LoadAvg {
        one,
        five,
        fifteen,
        running,
        total,
        last_pid,
    })
}

/// The parsed contents of `/proc/uptime`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Uptime {
    /// Seconds since boot (including time suspended).
    pub uptime_secs: f64,
    /// Seconds all CPUs together spent idle (can exceed `uptime_secs` on several CPUs).
    pub idle_secs: f64,
}

/// Parses `/proc/uptime`, e.g. `186.80 294.46`. Columns after these are ignored.
pub fn parse_uptime(input: &[u8]) -> Result<Uptime, ParseError> {
    let mut f = fields(first_line(input));
    let uptime_secs = f
        .next()
        .and_then(parse_f64)
        .ok_or_else(|| ParseError::at_line(1, "bad uptime"))?;
    let idle_secs = f
        .next()
        .and_then(parse_f64)
        .ok_or_else(|| ParseError::at_line(1, "bad idle time"))?;
    Ok(Uptime {
        uptime_secs,
        idle_secs,
    })
}

fn first_line(input: &[u8]) -> &[u8] {
    input.split(|&b| b == b'\n').next().unwrap_or(input)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    #[test]
    fn debian12_fixtures() {
        let load = parse_loadavg(&fixture("proc/loadavg")).unwrap();
        assert_eq!(
            load,
            LoadAvg {
                one: 0.46,
                five: 0.26,
                fifteen: 0.11,
                running: 3,
                total: 157,
                last_pid: 5823,
            }
        );
        let up = parse_uptime(&fixture("proc/uptime")).unwrap();
        assert_eq!(
            up,
            Uptime {
                uptime_secs: 193.59,
                idle_secs: 295.02,
            }
        );
    }

    #[test]
    fn extra_columns_and_lines_are_ignored() {
        let load = parse_loadavg(b"1.00 2.00 3.00 4/5 6 7.0 new\nmore\n").unwrap();
        assert_eq!(load.last_pid, 6);
        let up = parse_uptime(b"1.5 2.5 3.5\n").unwrap();
        assert_eq!(up.idle_secs, 2.5);
    }

    #[test]
    fn very_large_numbers() {
        let load = parse_loadavg(
            b"99999.99 0.00 0.00 18446744073709551615/18446744073709551615 4194304\n",
        )
        .unwrap();
        assert_eq!(load.total, u64::MAX);
        let up = parse_uptime(b"18446744073709551615.99 0.00").unwrap();
        assert!(up.uptime_secs > 1e19);
    }

    #[test]
    fn truncated_empty_and_garbage_are_errors() {
        assert!(parse_loadavg(b"").is_err());
        assert!(parse_loadavg(b"0.33 0.23 0.10 2/158").is_err());
        assert_eq!(
            parse_loadavg(b"0.33 0.23 0.10 2/").unwrap_err().line(),
            Some(1)
        );
        assert!(parse_loadavg(b"0.33 0.23 0.10 /3 4").is_err());
        assert!(parse_loadavg(b"nan 0.23 0.10 2/3 4").is_err());
        assert!(parse_loadavg(b"\xff\xff").is_err());
        assert!(parse_loadavg(b"\n0.33 0.23 0.10 2/158 5466").is_err());
        assert!(parse_uptime(b"").is_err());
        assert!(parse_uptime(b"186.80").is_err());
        assert!(parse_uptime(b"-1.0 2.0").is_err());
        assert!(parse_uptime(b"inf 2.0").is_err());
    }
}
