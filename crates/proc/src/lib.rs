//! `lookout-proc` reads the Linux kernel's view of the host: pure parsers turn the bytes of one
//! `/proc` file into a struct ([`parse_stat`] gives a [`Stat`], [`parse_meminfo`] a [`MemInfo`],
//! and so on for `loadavg`, `uptime`, `vmstat`, `diskstats`, `net/dev`, `net/tcp*`,
//! `net/udp*`, `<pid>/mountinfo` and `<pid>/stat`), and [`ProcFs`] knows the paths, reads each
//! file into a reused buffer and returns the parsed value or a [`ReadError`] sorted by what the
//! caller should do. [`statvfs`], [`clock_ticks_per_second`] and [`page_size`] ask the C library
//! for what `/proc` does not hold. The host metrics sources in `lookout-sources` are built on it;
//! it depends on no other lookout crate.
//!
//! Parsers never do I/O and never panic; they tolerate the extra lines and columns newer kernels
//! add, skip a malformed line of a line-oriented file, and return a [`ParseError`] (with the line
//! where one is to blame) only when nothing usable is left. Values stay in the kernel's units
//! (clock ticks, pages, sectors) except where a field says otherwise; conversions that need the
//! system (ticks per second, page size) are left to the caller so tests can fix them.
#![deny(missing_docs)]

mod diskstats;
mod error;
mod fsstat;
mod loadavg;
mod meminfo;
mod mountinfo;
mod netdev;
mod pidstat;
mod procfs;
#[cfg(test)]
mod robustness;
mod sockets;
mod stat;
mod sys;
mod util;
mod vmstat;

pub use diskstats::{parse_diskstats, DiskStat, SECTOR_SIZE};
pub use error::{ParseError, ReadError};
pub use fsstat::{statvfs, FsStats};
pub use loadavg::{parse_loadavg, parse_uptime, LoadAvg, Uptime};
pub use meminfo::{parse_meminfo, MemInfo};
pub use mountinfo::{is_pseudo_fs, parse_mountinfo, Mount};
pub use netdev::{parse_net_dev, NetDev};
pub use pidstat::{parse_pid_stat, parse_pid_state, PidStat, ProcessStateCounts};
pub use procfs::ProcFs;
pub use sockets::{count_tcp_states, parse_socket_count, parse_tcp_states, TcpStateCounts};
pub use stat::{parse_stat, CpuTimes, Stat};
pub use sys::{clock_ticks_per_second, page_size};
pub use vmstat::{parse_vmstat, VmStat};

#[cfg(test)]
mod testutil {
    use std::path::PathBuf;

    /// The recorded sample folder used by the unit tests.
    pub(crate) const FIXTURE: &str = "debian12-6.18.44-fc-v657";

    /// The `proc` folder of the recorded samples, usable as a [`crate::ProcFs`] root.
    pub(crate) fn fixture_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(FIXTURE)
            .join("proc")
    }

    /// The bytes of one recorded file, by its path under the fixture folder (`proc/stat`).
    pub(crate) fn fixture(path: &str) -> Vec<u8> {
        let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(FIXTURE)
            .join(path);
        match std::fs::read(&full) {
            Ok(bytes) => bytes,
            Err(err) => panic!("cannot read fixture {}: {err}", full.display()),
        }
    }
}
