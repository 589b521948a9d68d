//! nginx: the `stub_status` page ([`parse_stub_status`]) and its metrics ([`nginx_metrics`],
//! named as the Collector contrib `nginx` receiver names them).
//!
//! The page, as `ngx_http_stub_status_module` prints it:
//! ```text
//! Active connections: 291
//! server accepts handled requests
//!  16630948 16630948 31070465
//! Reading: 6 Writing: 179 Waiting: 106
//! ```

use crate::{clip, sat_i64};
use lookout_model::{MetricsBuilder, Monotonic};

/// The counters of a `stub_status` page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StubStatus {
    /// Open client connections, waiting ones included.
    pub active: u64,
    /// Client connections accepted since the start.
    pub accepts: u64,
    /// Client connections handled since the start (below `accepts` only when a limit was hit).
    pub handled: u64,
    /// Client requests since the start.
    pub requests: u64,
    /// Connections whose request header is being read.
    pub reading: u64,
    /// Connections whose response is being written.
    pub writing: u64,
    /// Idle keep-alive connections.
    pub waiting: u64,
}

fn number(s: Option<&str>, what: &str) -> Result<u64, String> {
    let s = s.ok_or_else(|| format!("stub_status: missing {what}"))?;
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("stub_status: {what} is not a count: {:?}", clip(s, 40)))
}

/// Parses a `stub_status` page. Surrounding whitespace and blank lines are tolerated, as are
/// extra columns after the three counters and lines after the last one; anything else that
/// does not look like the page is an error (the message quotes a little of the input).
pub fn parse_stub_status(text: &str) -> Result<StubStatus, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());

    let first = lines.next().ok_or("stub_status: empty page")?;
    let active = first.strip_prefix("Active connections:").ok_or_else(|| {
        format!(
            "stub_status: expected \"Active connections: N\", got {:?}",
            clip(first, 60)
        )
    })?;
    let active = number(Some(active), "active connections")?;

    let header = lines.next().unwrap_or_default();
    let columns: Vec<&str> = header.split_whitespace().collect();
    if columns.get(..4) != Some(&["server", "accepts", "handled", "requests"][..]) {
        return Err(format!(
            "stub_status: expected \"server accepts handled requests\", got {:?}",
            clip(header, 60)
        ));
    }

    let mut counts = lines.next().unwrap_or_default().split_whitespace();
    let accepts = number(counts.next(), "accepts")?;
    let handled = number(counts.next(), "handled")?;
    let requests = number(counts.next(), "requests")?;

    let states = lines.next().unwrap_or_default();
    let mut tokens = states.split_whitespace();
    let (mut reading, mut writing, mut waiting) = (None, None, None);
    while let Some(label) = tokens.next() {
        let slot = match label {
            "Reading:" => &mut reading,
            "Writing:" => &mut writing,
            "Waiting:" => &mut waiting,
            _ => {
                return Err(format!(
                    "stub_status: unexpected {:?} in the Reading/Writing/Waiting line",
                    clip(label, 40)
                ))
            }
        };
        *slot = Some(number(tokens.next(), label.trim_end_matches(':'))?);
    }
    Ok(StubStatus {
        active,
        accepts,
        handled,
        requests,
        reading: reading.ok_or("stub_status: missing Reading")?,
        writing: writing.ok_or("stub_status: missing Writing")?,
        waiting: waiting.ok_or("stub_status: missing Waiting")?,
    })
}

/// Adds the metrics of one `stub_status` page to `b`. nginx does not report its uptime, so the
/// caller gives the counters' start (when the scraper first saw this server, or 0 for unknown).
pub fn nginx_metrics(s: &StubStatus, b: &mut MetricsBuilder, now_nanos: u64, start_nanos: u64) {
    let counters = [
        (
            "nginx.requests",
            "requests",
            "Client requests since the server started.",
            s.requests,
        ),
        (
            "nginx.connections_accepted",
            "connections",
            "Client connections accepted since the server started.",
            s.accepts,
        ),
        (
            "nginx.connections_handled",
            "connections",
            "Client connections handled since the server started (equal to the accepted ones \
             unless a limit such as worker_connections was reached).",
            s.handled,
        ),
    ];
    for (name, unit, description, value) in counters {
        b.sum(name, unit, description, Monotonic::Yes).point_i64(
            start_nanos,
            now_nanos,
            sat_i64(value),
            &[],
        );
    }
    let mut m = b.sum(
        "nginx.connections_current",
        "connections",
        "Client connections open now, by state.",
        Monotonic::No,
    );
    for (state, value) in [
        ("active", s.active),
        ("reading", s.reading),
        ("writing", s.writing),
        ("waiting", s.waiting),
    ] {
        m.point_i64(start_nanos, now_nanos, sat_i64(value), &[("state", state)]);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::{points, shape, value};

    /// A page as nginx 1.24 serves it (note the trailing spaces).
    pub(crate) const SAMPLE: &str = "Active connections: 291 \n\
server accepts handled requests\n \
16630948 16630940 31070465 \n\
Reading: 6 Writing: 179 Waiting: 106 \n";

    #[test]
    fn parses_the_exact_format() {
        let s = parse_stub_status(
            "Active connections: 1 \nserver accepts handled requests\n 5 5 7 \nReading: 0 Writing: 1 Waiting: 0 \n",
        )
        .unwrap();
        assert_eq!(
            s,
            StubStatus {
                active: 1,
                accepts: 5,
                handled: 5,
                requests: 7,
                reading: 0,
                writing: 1,
                waiting: 0
            }
        );
        let s = parse_stub_status(SAMPLE).unwrap();
        assert_eq!(
            (s.active, s.accepts, s.handled, s.requests),
            (291, 16_630_948, 16_630_940, 31_070_465)
        );
        assert_eq!((s.reading, s.writing, s.waiting), (6, 179, 106));
        // CRLF, blank lines, an extra column (some builds add request_time) and a trailer
        let s = parse_stub_status(
            "\r\nActive connections: 2\r\n\r\nserver accepts handled requests request_time\r\n 1 2 3 4\r\nReading: 1 Writing: 1 Waiting: 0\r\nextra\r\n",
        )
        .unwrap();
        assert_eq!((s.accepts, s.handled, s.requests), (1, 2, 3));
    }

    #[test]
    fn rejects_what_is_not_the_page() {
        for bad in [
            "",
            "<html><body>404 Not Found</body></html>",
            "Active connections: -1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 0 Waiting: 0\n",
            "Active connections: 1\nserver accepts handled\n 1 1 1\nReading: 0 Writing: 0 Waiting: 0\n",
            "Active connections: 1\nserver accepts handled requests\n 1 1\nReading: 0 Writing: 0 Waiting: 0\n",
            "Active connections: 1\nserver accepts handled requests\n 1 1 99999999999999999999999\nReading: 0 Writing: 0 Waiting: 0\n",
            "Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 0\n",
            "Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 0 Waiting:\n",
            "Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: NaN Waiting: 0\n",
            "Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Sleeping: 1 Waiting: 0\n",
            "Active connections: 1\nserver accepts handled requests\n 1 1 1\n",
        ] {
            let err = parse_stub_status(bad).unwrap_err();
            assert!(err.starts_with("stub_status:"), "{bad:?}: {err}");
        }
        let long = format!("Active connections: {}", "x".repeat(10_000));
        assert!(parse_stub_status(&long).unwrap_err().len() < 200);
    }

    #[test]
    fn metrics() {
        let s = parse_stub_status(SAMPLE).unwrap();
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        nginx_metrics(&s, &mut b, 2_000, 1_000);
        let req = b.finish();
        assert_eq!(
            shape(&req, "nginx.requests"),
            ("requests".into(), true, true)
        );
        assert_eq!(
            shape(&req, "nginx.connections_accepted"),
            ("connections".into(), true, true)
        );
        assert_eq!(
            shape(&req, "nginx.connections_handled"),
            ("connections".into(), true, true)
        );
        assert_eq!(
            shape(&req, "nginx.connections_current"),
            ("connections".into(), true, false)
        );
        assert_eq!(value(&req, "nginx.requests", &[]), 31_070_465.0);
        assert_eq!(value(&req, "nginx.connections_accepted", &[]), 16_630_948.0);
        assert_eq!(value(&req, "nginx.connections_handled", &[]), 16_630_940.0);
        assert_eq!(
            value(&req, "nginx.connections_current", &[("state", "active")]),
            291.0
        );
        assert_eq!(
            value(&req, "nginx.connections_current", &[("state", "reading")]),
            6.0
        );
        assert_eq!(
            value(&req, "nginx.connections_current", &[("state", "writing")]),
            179.0
        );
        assert_eq!(
            value(&req, "nginx.connections_current", &[("state", "waiting")]),
            106.0
        );
        for name in ["nginx.requests", "nginx.connections_current"] {
            for p in points(&req, name) {
                assert_eq!((p.start_time_unix_nano, p.time_unix_nano), (1_000, 2_000));
            }
        }
        // counts beyond i64 are clamped
        let mut b = MetricsBuilder::new(vec![], "test", "0");
        let huge = StubStatus {
            requests: u64::MAX,
            ..s
        };
        nginx_metrics(&huge, &mut b, 2, 1);
        assert_eq!(value(&b.finish(), "nginx.requests", &[]), i64::MAX as f64);
    }
}
