//! `/proc/net/dev`: traffic counters per network interface.

use crate::error::ParseError;
use crate::util::{fields, is_blank, lines, parse_u64, trim};

/// One interface of `/proc/net/dev`. Counters are since the interface was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetDev {
    /// Interface name (`lo`, `eth0`), as in `/sys/class/net`.
    pub name: String,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errs: u64,
    /// Received packets dropped.
    pub rx_drop: u64,
    /// Receive FIFO overruns.
    pub rx_fifo: u64,
    /// Receive framing errors.
    pub rx_frame: u64,
    /// Compressed packets received.
    pub rx_compressed: u64,
    /// Multicast packets received.
    pub rx_multicast: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Transmit errors.
    pub tx_errs: u64,
    /// Packets dropped on transmit.
    pub tx_drop: u64,
    /// Transmit FIFO overruns.
    pub tx_fifo: u64,
    /// Collisions.
    pub tx_colls: u64,
    /// Carrier losses.
    pub tx_carrier: u64,
    /// Compressed packets sent.
    pub tx_compressed: u64,
}

/// Parses `/proc/net/dev`: two header lines, then one `name: 16 counters` line per interface,
/// in the file's order.
///
/// Malformed interface lines are skipped and columns after the 16 known ones ignored. Only the
/// header is required: an error means it is missing, or interface lines were there but none
/// could be parsed.
pub fn parse_net_dev(input: &[u8]) -> Result<Vec<NetDev>, ParseError> {
    let mut devs = Vec::new();
    let mut first_bad = None;
    for (n, line) in lines(input) {
        match n {
            1 if trim(line).starts_with(b"Inter-") => {}
            1 => return Err(ParseError::at_line(1, "missing \"Inter-|\" header")),
            2 => {}
            _ => match parse_line(line) {
                Some(dev) => devs.push(dev),
                None if is_blank(line) => {}
                None => first_bad = first_bad.or(Some(n)),
            },
        }
    }
    if input.is_empty() {
        return Err(ParseError::new("empty file: missing header"));
    }
    match first_bad {
        Some(n) if devs.is_empty() => {
            Err(ParseError::at_line(n, "expected \"name:\" and 16 counters"))
        }
        _ => Ok(devs),
    }
}

fn parse_line(line: &[u8]) -> Option<NetDev> {
    // Interface names cannot contain ':'; big counters may follow it without a space.
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, rest) = line.split_at(colon);
    let name = trim(name);
    if name.is_empty() {
        return None;
    }
    let mut v = [0u64; 16];
    let mut n = 0;
    for (slot, field) in v.iter_mut().zip(fields(rest.get(1..)?)) {
        *slot = parse_u64(field)?;
        n += 1;
    }
    if n < 16 {
        return None;
    }
    let [rx_bytes, rx_packets, rx_errs, rx_drop, rx_fifo, rx_frame, rx_compressed, rx_multicast, tx_bytes, tx_packets, tx_errs, tx_drop, tx_fifo, tx_colls, tx_carrier, tx_compressed] =
        v;
    Some(NetDev {
        name: String::from_utf8_lossy(name).into_owned(),
        rx_bytes,
        rx_packets,
        rx_errs,
        rx_drop,
        rx_fifo,
        rx_frame,
        rx_compressed,
        rx_multicast,
        tx_bytes,
        tx_packets,
        tx_errs,
        tx_drop,
        tx_fifo,
        tx_colls,
        tx_carrier,
        tx_compressed,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    const HEADER: &[u8] = b"Inter-|   Receive                                                |  Transmit\n \
        face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

    fn with_header(body: &[u8]) -> Vec<u8> {
        [HEADER, body].concat()
    }

    #[test]
    fn debian12_fixture() {
        let devs = parse_net_dev(&fixture("proc/net/dev")).unwrap();
        let names: Vec<_> = devs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["lo", "ifb0", "ifb1", "eth0"]);
        assert_eq!(devs[0].rx_bytes, 42581);
        assert_eq!(devs[0].tx_bytes, 42581);
        assert_eq!(devs[0].rx_packets, 515);
        let eth0 = &devs[3];
        assert_eq!(eth0.rx_bytes, 122004789);
        assert_eq!(eth0.rx_packets, 3251);
        assert_eq!(eth0.tx_bytes, 215069);
        assert_eq!(eth0.tx_packets, 2134);
        assert_eq!(eth0.rx_errs + eth0.tx_errs + eth0.rx_drop + eth0.tx_drop, 0);
    }

    #[test]
    fn all_sixteen_columns_in_order() {
        let devs = parse_net_dev(&with_header(
            b"  eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
        ))
        .unwrap();
        let d = &devs[0];
        assert_eq!(
            [
                d.rx_bytes,
                d.rx_packets,
                d.rx_errs,
                d.rx_drop,
                d.rx_fifo,
                d.rx_frame,
                d.rx_compressed,
                d.rx_multicast,
                d.tx_bytes,
                d.tx_packets,
                d.tx_errs,
                d.tx_drop,
                d.tx_fifo,
                d.tx_colls,
                d.tx_carrier,
                d.tx_compressed
            ],
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
        );
    }

    #[test]
    fn no_space_after_colon_extra_columns_and_huge_numbers() {
        let devs = parse_net_dev(&with_header(
            b"eth0:18446744073709551615 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\n",
        ))
        .unwrap();
        assert_eq!(devs[0].name, "eth0");
        assert_eq!(devs[0].rx_bytes, u64::MAX);
        assert_eq!(devs[0].tx_compressed, 16);
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let devs = parse_net_dev(&with_header(
            b"  lo: 1 2 3\n: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\nnocolon\n\n\
              eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\nwlan0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -1\n",
        ))
        .unwrap();
        assert_eq!(devs.len(), 1);
        assert_eq!(devs[0].name, "eth0");
    }

    #[test]
    fn header_only_empty_truncated_and_garbage() {
        assert_eq!(parse_net_dev(HEADER).unwrap(), vec![]);
        assert!(parse_net_dev(b"").is_err());
        assert_eq!(
            parse_net_dev(b"\xff\xfe\x00 eth0: 1\n").unwrap_err().line(),
            Some(1)
        );
        let err = parse_net_dev(&with_header(b"eth0: 1 2 3")).unwrap_err();
        assert_eq!(err.line(), Some(3));
        let devs = parse_net_dev(&with_header(
            b"lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\neth0: 1 2",
        ))
        .unwrap();
        assert_eq!(devs.len(), 1);
    }
}
