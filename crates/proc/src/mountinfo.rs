//! `/proc/<pid>/mountinfo`: the mount table as one process sees it.

use std::borrow::Cow;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use crate::error::ParseError;
use crate::util::{is_blank, lines, parse_u32};

/// One line of `mountinfo` (see `proc_pid_mountinfo(5)`), with the kernel's octal escapes
/// (`\040` for a space, `\011`, `\012`, `\134`) decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mount {
    /// Unique ID of the mount.
    pub mount_id: u32,
    /// ID of the parent mount (itself for the root of the tree).
    pub parent_id: u32,
    /// Major number of the device (0 for most pseudo filesystems).
    pub major: u32,
    /// Minor number of the device.
    pub minor: u32,
    /// The directory of the filesystem that forms the root of this mount (`/` unless a bind mount).
    pub root: PathBuf,
    /// Where it is mounted, relative to the reading process's root. May hold non-UTF-8 bytes.
    pub mount_point: PathBuf,
    /// Per-mount options (`rw,nosuid,relatime`).
    pub options: String,
    /// Filesystem type, with subtype if any (`ext4`, `fuse.sshfs`).
    pub fs_type: String,
    /// Filesystem-specific source (`/dev/sda1`, `tmpfs`, `none`).
    pub source: String,
    /// Per-superblock options (`rw,errors=remount-ro`).
    pub super_options: String,
}

impl Mount {
    /// Whether the mount or its superblock is read-only (`ro` in either option list).
    pub fn is_read_only(&self) -> bool {
        let ro = |opts: &str| opts.split(',').any(|o| o == "ro");
        ro(&self.options) || ro(&self.super_options)
    }
}

/// Parses `/proc/<pid>/mountinfo`, one [`Mount`] per line, in the file's order (parents before
/// children).
///
/// Malformed lines are skipped. An error means no line could be parsed (every process has at
/// least its root mount).
pub fn parse_mountinfo(input: &[u8]) -> Result<Vec<Mount>, ParseError> {
    let mut mounts = Vec::new();
    let mut first_bad = None;
    for (n, line) in lines(input) {
        match parse_line(line) {
            Some(mount) => mounts.push(mount),
            None if is_blank(line) => {}
            None => first_bad = first_bad.or(Some(n)),
        }
    }
    match first_bad {
        _ if !mounts.is_empty() => Ok(mounts),
        Some(n) => Err(ParseError::at_line(
            n,
            "expected \"id parent major:minor root mount-point options ... - type source super-options\"",
        )),
        None => Err(ParseError::new("no mounts")),
    }
}

fn parse_line(line: &[u8]) -> Option<Mount> {
    // Fields are separated by single spaces; the kernel escapes spaces inside them.
    let mut f = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let mount_id = parse_u32(f.next()?)?;
    let parent_id = parse_u32(f.next()?)?;
    let dev = f.next()?;
    let colon = dev.iter().position(|&b| b == b':')?;
    let major = parse_u32(&dev[..colon])?;
    let minor = parse_u32(dev.get(colon + 1..)?)?;
    let root = f.next()?;
    let mount_point = f.next()?;
    let options = f.next()?;
    // Zero or more optional fields (`shared:1`, `master:2`), then a lone "-".
    for optional in f.by_ref() {
        if optional == b"-" {
            break;
        }
    }
    let fs_type = f.next()?;
    let source = f.next()?;
    // Missing on some old kernels for some filesystems; trailing fields are ignored.
    let super_options = f.next().unwrap_or_default();
    Some(Mount {
        mount_id,
        parent_id,
        major,
        minor,
        root: path(root),
        mount_point: path(mount_point),
        options: string(options),
        fs_type: string(fs_type),
        source: string(source),
        super_options: string(super_options),
    })
}

fn path(field: &[u8]) -> PathBuf {
    PathBuf::from(OsString::from_vec(unescape(field).into_owned()))
}

fn string(field: &[u8]) -> String {
    String::from_utf8_lossy(&unescape(field)).into_owned()
}

/// Decodes `\NNN` octal escapes; a backslash not followed by three octal digits that make a byte
/// is kept as it is.
fn unescape(field: &[u8]) -> Cow<'_, [u8]> {
    if !field.contains(&b'\\') {
        return Cow::Borrowed(field);
    }
    let mut out = Vec::with_capacity(field.len());
    let mut rest = field;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'\\' {
            if let Some(decoded) = octal_byte(tail) {
                out.push(decoded);
                rest = tail.get(3..).unwrap_or_default();
                continue;
            }
        }
        out.push(b);
        rest = tail;
    }
    Cow::Owned(out)
}

fn octal_byte(s: &[u8]) -> Option<u8> {
    let digits = s.get(..3)?;
    let mut v: u32 = 0;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        v = v * 8 + u32::from(d - b'0');
    }
    u8::try_from(v).ok()
}

/// Whether `fs_type` is a pseudo or virtual filesystem that holds no user data, so filesystem
/// metrics skip it by default, like the OpenTelemetry Collector's hostmetrics receiver (which
/// leaves out virtual filesystems).
///
/// `tmpfs`, `ramfs` and `squashfs` (read-only images such as snaps) count as pseudo; `overlay`
/// (container roots) does not.
pub fn is_pseudo_fs(fs_type: &str) -> bool {
    matches!(
        fs_type,
        "autofs"
            | "binfmt_misc"
            | "bpf"
            | "cgroup"
            | "cgroup2"
            | "configfs"
            | "debugfs"
            | "devpts"
            | "devtmpfs"
            | "efivarfs"
            | "fusectl"
            | "hugetlbfs"
            | "mqueue"
            | "nsfs"
            | "proc"
            | "pstore"
            | "ramfs"
            | "rpc_pipefs"
            | "securityfs"
            | "selinuxfs"
            | "squashfs"
            | "sysfs"
            | "tmpfs"
            | "tracefs"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;
    use std::path::Path;

    #[test]
    fn debian12_fixture() {
        let mounts = parse_mountinfo(&fixture("proc/self/mountinfo")).unwrap();
        assert_eq!(mounts.len(), 19);
        let root = mounts
            .iter()
            .find(|m| m.mount_point == Path::new("/"))
            .unwrap();
        assert_eq!(
            *root,
            Mount {
                mount_id: 27,
                parent_id: 1,
                major: 254,
                minor: 0,
                root: "/".into(),
                mount_point: "/".into(),
                options: "rw,relatime".into(),
                fs_type: "ext4".into(),
                source: "/dev/vda".into(),
                super_options: "rw,discard,resv_strict,resuid=65534,resgid=65534".into(),
            }
        );
        assert!(!root.is_read_only());
        assert!(!is_pseudo_fs(&root.fs_type));
        let real: Vec<_> = mounts
            .iter()
            .filter(|m| !is_pseudo_fs(&m.fs_type))
            .collect();
        assert_eq!(real.len(), 1, "only / is a real filesystem: {real:?}");
        let proc = &mounts[0];
        assert_eq!((proc.mount_id, proc.fs_type.as_str()), (22, "proc"));
        assert_eq!((proc.major, proc.minor), (0, 21));
    }

    #[test]
    fn optional_fields_escapes_and_read_only() {
        let input = b"36 35 98:0 /mnt1 /mnt\\040with\\011space rw,noatime master:1 shared:2 - ext3 /dev/root\\134x ro,errors=continue\n\
                      37 35 0:50 / /snap/core/1 ro,nodev,relatime shared:3 - squashfs /dev/loop0 ro\n";
        let mounts = parse_mountinfo(input).unwrap();
        assert_eq!(mounts[0].root, Path::new("/mnt1"));
        assert_eq!(mounts[0].mount_point, Path::new("/mnt with\tspace"));
        assert_eq!(mounts[0].source, "/dev/root\\x");
        assert_eq!(mounts[0].options, "rw,noatime");
        assert_eq!(mounts[0].super_options, "ro,errors=continue");
        assert!(mounts[0].is_read_only());
        assert!(mounts[1].is_read_only());
        assert!(is_pseudo_fs(&mounts[1].fs_type));
    }

    #[test]
    fn non_utf8_mount_points_survive() {
        use std::os::unix::ffi::OsStrExt;
        let mounts = parse_mountinfo(b"1 1 8:1 / /mnt/\xff\\377 rw - ext4 /dev/sda1 rw\n").unwrap();
        assert_eq!(
            mounts[0].mount_point.as_os_str().as_bytes(),
            b"/mnt/\xff\xff"
        );
    }

    #[test]
    fn bad_escapes_are_kept() {
        assert_eq!(&*unescape(b"a\\"), b"a\\");
        assert_eq!(&*unescape(b"a\\04"), b"a\\04");
        assert_eq!(&*unescape(b"a\\400b"), b"a\\400b", "over 255");
        assert_eq!(&*unescape(b"a\\089"), b"a\\089");
        assert_eq!(&*unescape(b"\\134\\040"), b"\\ ");
    }

    #[test]
    fn newer_kernel_extra_fields_and_missing_super_options() {
        let mounts = parse_mountinfo(
            b"1 1 8:1 / / rw shared:1 future:7 - ext4 /dev/sda1 rw extra\n2 1 0:5 / /x rw - tmpfs tmpfs\n",
        )
        .unwrap();
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].super_options, "rw");
        assert_eq!(mounts[1].super_options, "");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let input = b"1 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                      x 1 8:1 / /a rw - ext4 /dev/sda1 rw\n\
                      2 1 81 / /b rw - ext4 /dev/sda1 rw\n\
                      3 1 8:1 / /c rw shared:1\n\
                      4 1 8:1 / /d rw - ext4\n\
                      4294967296 1 8:1 / /e rw - ext4 /dev/x rw\n\
                      \n";
        let mounts = parse_mountinfo(input).unwrap();
        assert_eq!(mounts.len(), 1);
    }

    #[test]
    fn empty_truncated_and_garbage() {
        assert_eq!(parse_mountinfo(b"").unwrap_err().message(), "no mounts");
        assert_eq!(
            parse_mountinfo(b"\xff\xfe\x00\n").unwrap_err().line(),
            Some(1)
        );
        assert!(parse_mountinfo(b"22 27 0:21 / /proc rw,relatime - pr").is_err());
        let mounts =
            parse_mountinfo(b"22 27 0:21 / /proc rw,relatime - proc proc rw\n23 27 0:22 / /sys rw")
                .unwrap();
        assert_eq!(mounts.len(), 1);
    }

    #[test]
    fn pseudo_filesystems() {
        for fs in [
            "proc", "sysfs", "cgroup2", "tmpfs", "ramfs", "squashfs", "devtmpfs", "nsfs",
        ] {
            assert!(is_pseudo_fs(fs), "{fs}");
        }
        for fs in [
            "ext4",
            "xfs",
            "btrfs",
            "overlay",
            "vfat",
            "nfs4",
            "zfs",
            "fuse.sshfs",
            "",
        ] {
            assert!(!is_pseudo_fs(fs), "{fs}");
        }
    }
}
