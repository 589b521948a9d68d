//! Filesystem space and inode usage from `statvfs(3)`.

use std::io;
use std::path::Path;

/// What `statvfs(3)` says about the filesystem holding a path. Block counts are in units of
/// `block_size` (the fragment size, `f_frsize`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FsStats {
    /// Bytes per block (`f_frsize`).
    pub block_size: u64,
    /// Size of the filesystem in blocks (`f_blocks`).
    pub blocks: u64,
    /// Free blocks, including those reserved for root (`f_bfree`).
    pub blocks_free: u64,
    /// Free blocks available to unprivileged users (`f_bavail`).
    pub blocks_avail: u64,
    /// Inodes (`f_files`; 0 on filesystems without a fixed inode table).
    pub files: u64,
    /// Free inodes (`f_ffree`).
    pub files_free: u64,
    /// Free inodes available to unprivileged users (`f_favail`).
    pub files_avail: u64,
    /// Mounted read-only (`ST_RDONLY` in `f_flag`).
    pub read_only: bool,
}

impl FsStats {
    /// Size in bytes: `blocks * block_size`.
    pub fn total_bytes(&self) -> u64 {
        self.blocks.saturating_mul(self.block_size)
    }

    /// Used bytes as `df` counts them: `(blocks - blocks_free) * block_size`. The blocks reserved
    /// for root are neither used nor available, so `used + avail <= total`.
    pub fn used_bytes(&self) -> u64 {
        self.blocks
            .saturating_sub(self.blocks_free)
            .saturating_mul(self.block_size)
    }

    /// Free bytes, reserved ones included: `blocks_free * block_size`.
    pub fn free_bytes(&self) -> u64 {
        self.blocks_free.saturating_mul(self.block_size)
    }

    /// Bytes available to unprivileged users: `blocks_avail * block_size` (`df`'s "Available").
    pub fn avail_bytes(&self) -> u64 {
        self.blocks_avail.saturating_mul(self.block_size)
    }

    /// Used inodes: `files - files_free`.
    pub fn files_used(&self) -> u64 {
        self.files.saturating_sub(self.files_free)
    }
}

/// Calls `statvfs(3)` on `path` (any path inside the filesystem, usually its mount point).
///
/// This can block for a long time on an unreachable network filesystem: call it off the
/// latency-sensitive path, or skip such mounts.
pub fn statvfs(path: impl AsRef<Path>) -> io::Result<FsStats> {
    crate::sys::statvfs(path.as_ref())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn byte_helpers() {
        let s = FsStats {
            block_size: 4096,
            blocks: 100,
            blocks_free: 30,
            blocks_avail: 25,
            files: 50,
            files_free: 20,
            files_avail: 20,
            read_only: false,
        };
        assert_eq!(s.total_bytes(), 409600);
        assert_eq!(s.used_bytes(), 70 * 4096);
        assert_eq!(s.free_bytes(), 30 * 4096);
        assert_eq!(s.avail_bytes(), 25 * 4096);
        assert_eq!(s.files_used(), 30);
        let odd = FsStats {
            block_size: u64::MAX,
            blocks: 2,
            blocks_free: 3,
            ..s
        };
        assert_eq!(odd.total_bytes(), u64::MAX);
        assert_eq!(odd.used_bytes(), 0);
    }

    #[test]
    fn errors() {
        let err = statvfs("/nonexistent/lookout/path").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let err = statvfs("/tmp\0x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
