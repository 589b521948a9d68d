//! `/proc/net/tcp`, `/proc/net/tcp6`, `/proc/net/udp` and `/proc/net/udp6`: sockets counted by
//! state, without allocating per line (these files can have 100k lines).

use std::ops::AddAssign;

use crate::error::ParseError;
use crate::util::{fields, is_blank, lines, parse_hex_u8, parse_u64, trim};

/// Number of TCP sockets in each state, summed over any number of files (`tcp` and `tcp6`).
///
/// Listening sockets are included (state `LISTEN`); request sockets of half-open connections are
/// shown by the kernel as `SYN_RECV`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpStateCounts {
    /// `ESTABLISHED` (01).
    pub established: u64,
    /// `SYN_SENT` (02).
    pub syn_sent: u64,
    /// `SYN_RECV` (03).
    pub syn_recv: u64,
    /// `FIN_WAIT1` (04).
    pub fin_wait1: u64,
    /// `FIN_WAIT2` (05).
    pub fin_wait2: u64,
    /// `TIME_WAIT` (06).
    pub time_wait: u64,
    /// `CLOSE` (07).
    pub close: u64,
    /// `CLOSE_WAIT` (08).
    pub close_wait: u64,
    /// `LAST_ACK` (09).
    pub last_ack: u64,
    /// `LISTEN` (0A).
    pub listen: u64,
    /// `CLOSING` (0B).
    pub closing: u64,
    /// Any other state code (e.g. `NEW_SYN_RECV`, `BOUND_INACTIVE` of newer kernels).
    pub other: u64,
}

impl TcpStateCounts {
    /// The counts with the OpenTelemetry `system.network.state` value each belongs to (as the
    /// Collector's hostmetrics receiver reports `system.network.connections`), in the kernel's
    /// order. `other` is not included.
    pub fn otel_states(&self) -> [(&'static str, u64); 11] {
        [
            ("established", self.established),
            ("syn_sent", self.syn_sent),
            ("syn_recv", self.syn_recv),
            ("fin_wait_1", self.fin_wait1),
            ("fin_wait_2", self.fin_wait2),
            ("time_wait", self.time_wait),
            ("close", self.close),
            ("close_wait", self.close_wait),
            ("last_ack", self.last_ack),
            ("listen", self.listen),
            ("closing", self.closing),
        ]
    }

    /// All sockets counted, `other` included.
    pub fn total(&self) -> u64 {
        self.otel_states()
            .iter()
            .fold(self.other, |acc, (_, n)| acc.saturating_add(*n))
    }

    /// Adds `other`'s counts to these (e.g. `tcp6` to `tcp`).
    pub fn add(&mut self, other: &TcpStateCounts) {
        *self += *other;
    }

    fn record(&mut self, state: u8) {
        let slot = match state {
            0x01 => &mut self.established,
            0x02 => &mut self.syn_sent,
            0x03 => &mut self.syn_recv,
            0x04 => &mut self.fin_wait1,
            0x05 => &mut self.fin_wait2,
            0x06 => &mut self.time_wait,
            0x07 => &mut self.close,
            0x08 => &mut self.close_wait,
            0x09 => &mut self.last_ack,
            0x0A => &mut self.listen,
            0x0B => &mut self.closing,
            _ => &mut self.other,
        };
        *slot = slot.saturating_add(1);
    }
}

impl AddAssign for TcpStateCounts {
    fn add_assign(&mut self, o: TcpStateCounts) {
        let TcpStateCounts {
            established,
            syn_sent,
            syn_recv,
            fin_wait1,
            fin_wait2,
            time_wait,
            close,
            close_wait,
            last_ack,
            listen,
            closing,
            other,
        } = self;
        for (a, b) in [
            (established, o.established),
            (syn_sent, o.syn_sent),
            (syn_recv, o.syn_recv),
            (fin_wait1, o.fin_wait1),
            (fin_wait2, o.fin_wait2),
            (time_wait, o.time_wait),
            (close, o.close),
            (close_wait, o.close_wait),
            (last_ack, o.last_ack),
            (listen, o.listen),
            (closing, o.closing),
            (other, o.other),
        ] {
            *a = a.saturating_add(b);
        }
    }
}

/// Parses `/proc/net/tcp` or `/proc/net/tcp6` into counts per state.
///
/// Equivalent to counting into a default [`TcpStateCounts`] with [`count_tcp_states`].
pub fn parse_tcp_states(input: &[u8]) -> Result<TcpStateCounts, ParseError> {
    let mut counts = TcpStateCounts::default();
    count_tcp_states(input, &mut counts)?;
    Ok(counts)
}

/// Adds the sockets of one `/proc/net/tcp` or `/proc/net/tcp6` to `counts`, so several files
/// add up. On error `counts` is left unchanged.
///
/// The header line (`sl local_address ...`) is required. A malformed socket line is skipped; an
/// error means socket lines were there but none could be parsed. Only the first four columns are
/// looked at.
pub fn count_tcp_states(input: &[u8], counts: &mut TcpStateCounts) -> Result<(), ParseError> {
    let mut here = TcpStateCounts::default();
    let mut parsed = false;
    let first_bad = scan_socket_lines(input, |line| {
        let mut f = fields(line);
        let state = valid_slot(f.next()?)
            .then(|| {
                f.next()?; // local address
                f.next()?; // remote address
                parse_hex_u8(f.next()?)
            })
            .flatten()?;
        here.record(state);
        parsed = true;
        Some(())
    })?;
    match first_bad {
        Some(n) if !parsed => Err(ParseError::at_line(
            n,
            "expected \"N: local remote state\" socket line",
        )),
        _ => {
            *counts += here;
            Ok(())
        }
    }
}

/// Counts the sockets (lines after the header) of `/proc/net/udp`, `/proc/net/udp6` or any other
/// file in that layout (`raw`, `udplite`).
///
/// The header line is required. Lines that do not start with `N:` are skipped; an error means
/// socket lines were there but none looked like one.
pub fn parse_socket_count(input: &[u8]) -> Result<u64, ParseError> {
    let mut count = 0u64;
    let first_bad = scan_socket_lines(input, |line| {
        valid_slot(fields(line).next()?).then(|| count += 1)
    })?;
    match first_bad {
        Some(n) if count == 0 => Err(ParseError::at_line(n, "expected \"N:\" socket line")),
        _ => Ok(count),
    }
}

/// Checks the `sl` header, then calls `each` on every non-blank line after it. Returns the first
/// line for which `each` gave `None`.
fn scan_socket_lines(
    input: &[u8],
    mut each: impl FnMut(&[u8]) -> Option<()>,
) -> Result<Option<usize>, ParseError> {
    let mut first_bad = None;
    let mut header = false;
    for (n, line) in lines(input) {
        if n == 1 {
            if !trim(line).starts_with(b"sl ") {
                return Err(ParseError::at_line(1, "missing \"sl\" header"));
            }
            header = true;
        } else if each(line).is_none() && !is_blank(line) {
            first_bad = first_bad.or(Some(n));
        }
    }
    if header {
        Ok(first_bad)
    } else {
        Err(ParseError::new("empty file: missing \"sl\" header"))
    }
}

/// The `sl` column: a decimal slot number and a colon (`0:`, `123:`).
fn valid_slot(sl: &[u8]) -> bool {
    sl.strip_suffix(b":").and_then(parse_u64).is_some()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    const TCP_HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    fn tcp_line(slot: usize, state: &str) -> String {
        format!(
            "{slot:4}: 0100007F:18EB 0100007F:9C40 {state} 00000000:00000000 00:00000000 00000000     0        0 3995 1 000000006c3ffb64 100 0 0 10 0\n"
        )
    }

    #[test]
    fn debian12_fixtures() {
        let tcp = parse_tcp_states(&fixture("proc/net/tcp")).unwrap();
        assert_eq!(tcp.listen, 9);
        assert_eq!(tcp.established, 4);
        assert_eq!(tcp.time_wait, 2);
        assert_eq!(tcp.total(), 15);
        let mut both = tcp;
        count_tcp_states(&fixture("proc/net/tcp6"), &mut both).unwrap();
        assert_eq!(both.listen, 11);
        assert_eq!(both.total(), 17);
        assert_eq!(parse_socket_count(&fixture("proc/net/udp")).unwrap(), 0);
        assert_eq!(parse_socket_count(&fixture("proc/net/udp6")).unwrap(), 0);
        assert_eq!(parse_socket_count(&fixture("proc/net/tcp")).unwrap(), 15);
    }

    #[test]
    fn every_state_code_and_otel_names() {
        let mut input = String::from(TCP_HEADER);
        for (i, code) in [
            "01", "02", "03", "04", "05", "06", "07", "08", "09", "0A", "0B", "0C", "0b",
        ]
        .iter()
        .enumerate()
        {
            input.push_str(&tcp_line(i, code));
        }
        let counts = parse_tcp_states(input.as_bytes()).unwrap();
        let names: Vec<_> = counts.otel_states().iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "established",
                "syn_sent",
                "syn_recv",
                "fin_wait_1",
                "fin_wait_2",
                "time_wait",
                "close",
                "close_wait",
                "last_ack",
                "listen",
                "closing"
            ]
        );
        let values: Vec<_> = counts.otel_states().iter().map(|(_, n)| *n).collect();
        assert_eq!(values, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
        assert_eq!(counts.other, 1);
        assert_eq!(counts.total(), 13);
    }

    #[test]
    fn counts_add_up_across_files() {
        let a = format!("{TCP_HEADER}{}{}", tcp_line(0, "0A"), tcp_line(1, "01"));
        let b = format!("{TCP_HEADER}{}", tcp_line(0, "01"));
        let mut counts = TcpStateCounts::default();
        count_tcp_states(a.as_bytes(), &mut counts).unwrap();
        count_tcp_states(b.as_bytes(), &mut counts).unwrap();
        assert_eq!(counts.listen, 1);
        assert_eq!(counts.established, 2);
        let mut sum = parse_tcp_states(a.as_bytes()).unwrap();
        sum.add(&parse_tcp_states(b.as_bytes()).unwrap());
        assert_eq!(sum, counts);
        // A failing file leaves the sum alone.
        assert!(count_tcp_states(b"garbage", &mut counts).is_err());
        assert_eq!(sum, counts);
    }

    #[test]
    fn header_only_is_zero_sockets() {
        assert_eq!(parse_tcp_states(TCP_HEADER.as_bytes()).unwrap().total(), 0);
        assert_eq!(parse_socket_count(TCP_HEADER.as_bytes()).unwrap(), 0);
    }

    #[test]
    fn malformed_lines_are_skipped_and_all_bad_is_an_error() {
        let input = format!(
            "{TCP_HEADER}{}   1: 0100007F:18EB\n   2: a b ZZ\nnonsense\n\n{}",
            tcp_line(0, "0A"),
            tcp_line(3, "06")
        );
        let counts = parse_tcp_states(input.as_bytes()).unwrap();
        assert_eq!(counts.listen, 1);
        assert_eq!(counts.time_wait, 1);
        assert_eq!(counts.total(), 2);
        assert_eq!(parse_socket_count(input.as_bytes()).unwrap(), 4);

        let bad = format!("{TCP_HEADER}   0: 0100007F:18EB\n");
        assert_eq!(
            parse_tcp_states(bad.as_bytes()).unwrap_err().line(),
            Some(2)
        );
        let bad = format!("{TCP_HEADER}x: y\n");
        assert_eq!(
            parse_socket_count(bad.as_bytes()).unwrap_err().line(),
            Some(2)
        );
    }

    #[test]
    fn empty_truncated_and_garbage() {
        assert!(parse_tcp_states(b"").is_err());
        assert!(parse_socket_count(b"").is_err());
        assert_eq!(
            parse_tcp_states(b"\xff\xfe\n   0: a b 0A\n")
                .unwrap_err()
                .line(),
            Some(1)
        );
        // Truncated mid-line: the cut line is skipped.
        let input = format!("{TCP_HEADER}{}   1: 0100007F:18EB 0100", tcp_line(0, "01"));
        assert_eq!(parse_tcp_states(input.as_bytes()).unwrap().established, 1);
    }

    #[test]
    fn newer_kernel_extra_columns_are_ignored() {
        let udp = b"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops new_column\n\
            12345: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 17270 2 0000000000000000 0 99\n";
        assert_eq!(parse_socket_count(udp).unwrap(), 1);
        assert_eq!(parse_tcp_states(udp).unwrap().close, 1);
    }
}
