//! The crate's only `unsafe` code: thin wrappers over `statvfs(3)` and `sysconf(3)`.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::fsstat::FsStats;

/// Calls `statvfs(2)` on `path`, retrying when interrupted by a signal.
// The field types differ between targets (`c_ulong`, `fsblkcnt_t`, `fsfilcnt_t`) but are never
// wider than 64 bits, so the `as u64` conversions below are lossless (and no-ops on x86_64).
#[allow(clippy::unnecessary_cast)]
pub(crate) fn statvfs(path: &Path) -> io::Result<FsStats> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    let mut buf = MaybeUninit::<libc::statvfs>::uninit();
    loop {
        // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call, and `buf`
        // points to writable memory the size and alignment of `struct statvfs`, which the call
        // only writes to.
        let rc = unsafe { libc::statvfs(c_path.as_ptr(), buf.as_mut_ptr()) };
        if rc == 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    // SAFETY: `statvfs` returned 0, so it filled in the whole struct.
    let s = unsafe { buf.assume_init() };
    Ok(FsStats {
        block_size: s.f_frsize as u64,
        blocks: s.f_blocks as u64,
        blocks_free: s.f_bfree as u64,
        blocks_avail: s.f_bavail as u64,
        files: s.f_files as u64,
        files_free: s.f_ffree as u64,
        files_avail: s.f_favail as u64,
        read_only: s.f_flag & libc::ST_RDONLY != 0,
    })
}

/// `sysconf(name)` if it gives a positive value.
fn sysconf(name: libc::c_int) -> Option<u64> {
    // SAFETY: `sysconf` only reads its integer argument and has no memory-safety preconditions.
    let v = unsafe { libc::sysconf(name) };
    u64::try_from(v).ok().filter(|&v| v > 0)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of CPU times in `/proc/stat` and
/// `/proc/<pid>/stat`; 100 if the system does not say.
pub fn clock_ticks_per_second() -> u64 {
    sysconf(libc::_SC_CLK_TCK).unwrap_or(100)
}

/// Bytes per memory page (`sysconf(_SC_PAGESIZE)`), the unit of `rss` in `/proc/<pid>/stat`;
/// 4096 if the system does not say.
pub fn page_size() -> u64 {
    sysconf(libc::_SC_PAGESIZE).unwrap_or(4096)
}
