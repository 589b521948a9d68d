//! The crate's only `unsafe` code: thin wrappers over `statvfs(3)`, `sysconf(3)` and
//! `opendir(3)`/`readdir(3)`.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::{self, NonNull};

use crate::fsstat::FsStats;

/// Calls `statvfs(2)` on `path`, retrying when interrupted by a signal.
// The field types differ between targets (`c_ulong`, `fsblkcnt_t`, `fsfilcnt_t`) but are never
// wider than 64 bits, so the `as u64` conversions below are lossless (and no-ops on x86_64).
#[allow(clippy::unnecessary_cast)]
pub(crate) fn statvfs(path: &Path) -> io::Result<FsStats> {
    let c_path = to_c_path(path)?;
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

/// Whether `path` is on a proc filesystem (`statfs(2)` says `PROC_SUPER_MAGIC`); false if it
/// cannot be asked.
// `f_type`'s type differs between targets; the magic number fits all of them.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn is_procfs(path: &Path) -> bool {
    const PROC_SUPER_MAGIC: u64 = 0x9fa0;
    let Ok(c_path) = to_c_path(path) else {
        return false;
    };
    let mut buf = MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call, and `buf`
    // points to writable memory the size and alignment of `struct statfs`, which the call only
    // writes to.
    let rc = unsafe { libc::statfs(c_path.as_ptr(), buf.as_mut_ptr()) };
    if rc != 0 {
        return false;
    }
    // SAFETY: `statfs` returned 0, so it filled in the whole struct.
    let s = unsafe { buf.assume_init() };
    s.f_type as u64 == PROC_SUPER_MAGIC
}

/// `path` as a C string.
fn to_c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// An open directory stream (`opendir(3)`), closed when dropped. Unlike [`std::fs::read_dir`],
/// it hands out each entry's name without allocating.
pub(crate) struct Dir {
    stream: NonNull<libc::DIR>,
}

impl Dir {
    /// Opens the directory at `path`.
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let c_path = to_c_path(path)?;
        // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
        let stream = unsafe { libc::opendir(c_path.as_ptr()) };
        NonNull::new(stream)
            .map(|stream| Dir { stream })
            .ok_or_else(io::Error::last_os_error)
    }

    /// Calls `f` with the name of each entry but `.` and `..`, in the directory's order.
    pub(crate) fn for_each_name(&mut self, mut f: impl FnMut(&[u8])) -> io::Result<()> {
        loop {
            // `readdir` returns NULL both at the end and on error; only errno tells them apart.
            // SAFETY: `__errno_location` returns a valid pointer to this thread's `errno`.
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: `self.stream` came from a successful `opendir` and is not closed before
            // `drop`; `&mut self` keeps other calls on the stream out while this one runs.
            let entry = unsafe { libc::readdir(self.stream.as_ptr()) };
            if entry.is_null() {
                let err = io::Error::last_os_error();
                return match err.raw_os_error() {
                    Some(0) | None => Ok(()),
                    Some(_) => Err(err),
                };
            }
            // SAFETY: `entry` points to an entry that stays valid until the next `readdir` or
            // `closedir` on this stream, neither of which happens while `name` lives. Its
            // `d_name` holds a NUL-terminated name, but the record may be shorter than
            // `struct dirent`, so it is reached with `addr_of!` and never through a reference
            // to the whole struct.
            let name =
                unsafe { CStr::from_ptr(ptr::addr_of!((*entry).d_name).cast::<libc::c_char>()) }
                    .to_bytes();
            if name != b"." && name != b".." {
                f(name);
            }
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: `self.stream` came from a successful `opendir` and is closed only here, once.
        unsafe { libc::closedir(self.stream.as_ptr()) };
    }
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
