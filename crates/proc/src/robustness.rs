//! No parser panics, whatever the bytes: every parser gets every prefix of every recorded file,
//! and randomly mutated copies of them. (The fuzz target in `fuzz/` does the same without end.)

use crate::testutil::fixture;

/// Every parser of the crate, fed `input`; results are ignored, only panics matter.
fn parse_all(input: &[u8]) {
    let _ = crate::parse_stat(input);
    let _ = crate::parse_meminfo(input);
    let _ = crate::parse_loadavg(input);
    let _ = crate::parse_uptime(input);
    let _ = crate::parse_vmstat(input);
    let _ = crate::parse_diskstats(input);
    let _ = crate::parse_net_dev(input);
    let _ = crate::parse_tcp_states(input);
    let _ = crate::parse_socket_count(input);
    let _ = crate::parse_mountinfo(input);
    let _ = crate::parse_pid_stat(input);
    let _ = crate::parse_pid_state(input);
    let _ = crate::parse_pid_status(input);
    let _ = crate::parse_pid_io(input);
    let _ = crate::container_id_from_cgroup(input);
    let _ = crate::cmdline::parse_comm(input);
    let _ = crate::users::parse_passwd(input).count();
    let mut out = String::new();
    for max_len in [0, 1, 2, 3, 5, 64, usize::MAX] {
        crate::parse_cmdline(input, max_len, &mut out);
        assert!(out.len() <= max_len, "{max_len}: {out:?}");
    }
}

const FILES: [&str; 24] = [
    "proc/stat",
    "proc/meminfo",
    "proc/loadavg",
    "proc/uptime",
    "proc/vmstat",
    "proc/diskstats",
    "proc/net/dev",
    "proc/net/tcp",
    "proc/net/tcp6",
    "proc/net/udp",
    "proc/net/udp6",
    "proc/self/mountinfo",
    "proc/self/stat",
    "proc/2/stat",
    "proc/2204/stat",
    "proc/2/status",
    "proc/2/io",
    "proc/2/cgroup",
    "proc/2/comm",
    "proc/2204/status",
    "proc/2204/io",
    "proc/2204/cmdline",
    "proc/2204/cgroup",
    "proc/2204/comm",
];

#[test]
fn every_prefix_of_every_fixture() {
    for file in FILES {
        let bytes = fixture(file);
        for end in 0..=bytes.len() {
            parse_all(&bytes[..end]);
        }
    }
}

#[test]
fn random_mutations_of_every_fixture() {
    // xorshift64: deterministic, so a failure reproduces.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let interesting = b" \n\t:()\\/-0123456789abcdefABCDEF\xff\x00";
    for file in FILES {
        let original = fixture(file);
        for _ in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..(next() % 8 + 1) {
                if bytes.is_empty() {
                    break;
                }
                let at = (next() % bytes.len() as u64) as usize;
                let pick = next();
                let byte = if pick % 2 == 0 {
                    interesting[(pick / 2 % interesting.len() as u64) as usize]
                } else {
                    (pick >> 8) as u8
                };
                match next() % 3 {
                    0 => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            parse_all(&bytes);
        }
    }
}

#[test]
fn pure_garbage() {
    parse_all(b"");
    parse_all(b"\n");
    parse_all(b"\0\0\0\0");
    parse_all(&[0xff; 4096]);
    parse_all(&b"(".repeat(1000));
    parse_all(&b")".repeat(1000));
    parse_all(&b"\\".repeat(1000));
    parse_all(b"1 2 3:4 \\ \\1 \\12 - a b c\n");
    parse_all(&b"9".repeat(10_000));
    parse_all(&b":".repeat(1000));
    parse_all(&b"\0".repeat(1000));
    parse_all(&b"/docker-".repeat(1000));
    parse_all(b"Name:\t\\\nState:\t\nUid:\t\t\nrchar: \n0::/\n");
}
