//! `/proc/vmstat`: paging and fault counters.

use crate::error::ParseError;
use crate::util::{fields, lines, parse_u64};

/// The counters lookout reads from `/proc/vmstat`, as the file gives them.
///
/// A counter the kernel does not print (e.g. without `CONFIG_VM_EVENT_COUNTERS`) is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VmStat {
    /// KiB paged in from block devices since boot (`pgpgin`).
    pub pgpgin: u64,
    /// KiB paged out to block devices since boot (`pgpgout`).
    pub pgpgout: u64,
    /// Pages swapped in since boot (`pswpin`).
    pub pswpin: u64,
    /// Pages swapped out since boot (`pswpout`).
    pub pswpout: u64,
    /// Page faults, minor and major, since boot (`pgfault`).
    pub pgfault: u64,
    /// Major page faults (that needed I/O) since boot (`pgmajfault`).
    pub pgmajfault: u64,
}

impl VmStat {
    /// Minor page faults: `pgfault - pgmajfault`, never below 0.
    pub fn pgminfault(&self) -> u64 {
        self.pgfault.saturating_sub(self.pgmajfault)
    }
}

/// Parses `/proc/vmstat` (`name value` lines).
///
/// Unknown and malformed lines are skipped; an error means no `name value` line at all.
pub fn parse_vmstat(input: &[u8]) -> Result<VmStat, ParseError> {
    let mut vm = VmStat::default();
    let mut any = false;
    for (_, line) in lines(input) {
        let mut f = fields(line);
        let (Some(key), Some(value), None) = (f.next(), f.next().and_then(parse_u64), f.next())
        else {
            continue;
        };
        any = true;
        let slot = match key {
            b"pgpgin" => &mut vm.pgpgin,
            b"pgpgout" => &mut vm.pgpgout,
            b"pswpin" => &mut vm.pswpin,
            b"pswpout" => &mut vm.pswpout,
            b"pgfault" => &mut vm.pgfault,
            b"pgmajfault" => &mut vm.pgmajfault,
            _ => continue,
        };
        *slot = value;
    }
    if any {
        Ok(vm)
    } else {
        Err(ParseError::new("no \"name value\" line"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    #[test]
    fn debian12_fixture() {
        let vm = parse_vmstat(&fixture("proc/vmstat")).unwrap();
        assert_eq!(
            vm,
            VmStat {
                pgpgin: 1258201,
                pgpgout: 809284,
                pswpin: 0,
                pswpout: 0,
                pgfault: 2458616,
                pgmajfault: 977,
            }
        );
        assert_eq!(vm.pgminfault(), 2458616 - 977);
    }

    #[test]
    fn unknown_malformed_and_missing_lines() {
        let vm = parse_vmstat(
            b"nr_free_pages 5\npgfault x\npgmajfault 3 4\npgpgin 18446744073709551615\nnew_counter 1\n",
        )
        .unwrap();
        assert_eq!(vm.pgfault, 0);
        assert_eq!(vm.pgmajfault, 0);
        assert_eq!(vm.pgpgin, u64::MAX);
        assert_eq!(vm.pswpout, 0);
    }

    #[test]
    fn empty_and_garbage_are_errors() {
        assert!(parse_vmstat(b"").is_err());
        assert!(parse_vmstat(b"\xff\xfe\n\x00").is_err());
        assert!(parse_vmstat(b"pgfault").is_err());
    }
}
