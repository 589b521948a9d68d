//! Host scanners: processes, listening sockets and the processes that own them, installed
//! packages, and containers, read straight from procfs and the package databases.
//!
//! [`scan`] makes one cheap pass over a host: it reads three small files and a link per
//! process (`status`, `cmdline`, `cgroup`, `exe`, relative to the process's directory), asks
//! for each socket table once (TCP and UDP through the kernel's `sock_diag` netlink interface
//! when scanning `/`, which spares the kernel a walk of its whole connection hash table;
//! `/proc/net/*` otherwise, or when that fails), walks the file descriptors of only the
//! processes that may own a listening socket, and parses the dpkg database itself (`rpm -qa`
//! is run, with a time limit, only on rpm hosts). Whatever it cannot see is said in
//! [`HostScan::limits`] rather than failing the scan.
//!
//! The parsers ([`parse_proc_net_inet`], [`parse_proc_net_unix`], [`parse_dpkg_status`],
//! [`parse_rpm_qa`], [`container_of`]) are pure and never panic, whatever their input
//! ([`fuzz_one`] feeds them arbitrary bytes).

use crate::model::{ContainerInfo, HostScan, Listener, Package, ProcessInfo, Proto};
use std::collections::{BTreeSet, HashMap};
use std::ffi::{CStr, OsStr};
use std::fs;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How [`scan`] looks at a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// The root the host's file system is seen under: `/` normally, `/host` when the agent runs
    /// in a container with the host's root mounted there, a fake tree in tests. `proc/`,
    /// `var/lib/dpkg/status` and `var/lib/rpm` are looked up under it.
    pub root: PathBuf,
    /// Whether to list the installed packages (dpkg, rpm).
    pub packages: bool,
    /// Read the command line, executable and container of every process, not only of the
    /// server binaries discovery knows (the others get their name, parent and uid: what
    /// mapping sockets needs, at a third of the system calls).
    pub all_details: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
            packages: true,
            all_details: false,
        }
    }
}

/// `PF_KTHREAD` in the flags field of `/proc/[pid]/stat`.
const PF_KTHREAD: u64 = 0x0020_0000;
/// `__SO_ACCEPTCON` in the flags column of `/proc/net/unix`: the socket listens.
const SO_ACCEPTCON: u32 = 0x0001_0000;
/// `TCP_LISTEN` in the `st` column of `/proc/net/tcp*`.
const TCP_LISTEN: &str = "0A";
/// `TCP_CLOSE` in the `st` column of `/proc/net/udp*`: an unconnected (possibly bound) socket.
const UDP_UNCONNECTED: &str = "07";
/// `ESRCH`: reading some `/proc/[pid]` files of a process that is exiting.
const ESRCH: i32 = 3;
/// `EPROTO`: a netlink answer that does not parse.
const EPROTO: i32 = 71;
/// The init process: it holds the sockets of socket-activated services on their behalf.
const INIT_PID: u32 = 1;
/// How long `rpm -qa` may take.
const RPM_TIMEOUT: Duration = Duration::from_secs(5);
/// The buffer for directory entries (`/proc`, `/proc/[pid]/fd`).
const DENTS_BUF: usize = 32 * 1024;
/// The largest `linux_dirent64` record: a 255-byte name, its NUL and the 19-byte header,
/// aligned to 8.
const MAX_DIRENT: usize = 280;
/// The buffer for the target of `/proc/[pid]/exe`.
const LINK_BUF: usize = 4096;
/// What `rpm -qa` prints per package.
const RPM_QUERYFORMAT: &str = "%{NAME}\t%{EPOCH}:%{VERSION}-%{RELEASE}\n";

/// Scans the host seen under `opts.root`: processes (kernel threads left out), listening TCP,
/// UDP and Unix sockets with their owning process where it can be found, installed packages
/// (when `opts.packages`) and the container each process runs in. Never fails: what could not
/// be read is described in [`HostScan::limits`].
pub fn scan(opts: &ScanOptions) -> HostScan {
    let mut out = HostScan::default();
    let proc_dir = opts.root.join("proc");
    let mut buf = Vec::new();
    match sys::open_dir(&proc_dir) {
        Ok(proc) => {
            let procs = scan_processes(proc.as_fd(), &mut buf, opts.all_details);
            let netlink = opts.root == Path::new("/");
            out.listeners = scan_listeners(&proc_dir, netlink, &mut buf, &mut out.limits);
            map_owners(proc.as_fd(), &procs, &mut out.listeners, &mut out.limits);
            out.processes = procs.into_iter().map(|p| p.info).collect();
        }
        Err(e) => out.limits.push(format!(
            "{} not readable ({e}): processes and listening sockets are unknown",
            proc_dir.display()
        )),
    }
    if opts.packages {
        out.packages = scan_packages(&opts.root, &mut out.limits);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A process and the uids a socket it created may carry.
struct Proc {
    info: ProcessInfo,
    /// Real, effective, saved and file-system uids.
    uids: [u32; 4],
    /// A server binary discovery knows (its details were read; its fds are searched for
    /// Unix sockets).
    candidate: bool,
}

/// What [`scan`] needs from `/proc/[pid]/status` (or `stat`).
struct Status {
    comm: String,
    ppid: u32,
    uids: [u32; 4],
    kthread: bool,
}

/// The processes under `proc`, in pid order.
fn scan_processes(proc: BorrowedFd<'_>, buf: &mut Vec<u8>, all: bool) -> Vec<Proc> {
    let mut pids = Vec::new();
    let mut dents = vec![0u8; DENTS_BUF];
    for_each_dirent(proc, &mut dents, |name| {
        if let Some(pid) = parse_decimal(name.to_bytes()).and_then(|p| u32::try_from(p).ok()) {
            pids.push(pid);
        }
        true
    })
    .ok();
    pids.sort_unstable();
    pids.into_iter()
        .filter_map(|pid| read_process(proc, pid, buf, all))
        .collect()
}

/// Calls `f` with each entry of the directory `dir` (`.` and `..` left out) until it returns
/// false. `dents` takes the entries.
fn for_each_dirent(
    dir: BorrowedFd<'_>,
    dents: &mut [u8],
    mut f: impl FnMut(&CStr) -> bool,
) -> io::Result<()> {
    loop {
        let n = sys::getdents(dir, dents)?;
        if n == 0 {
            return Ok(());
        }
        for name in dirent_names(&dents[..n]) {
            if !f(name) {
                return Ok(());
            }
        }
        // The kernel fills the buffer until the next entry does not fit: room left for the
        // largest entry means there are no more (and spares a system call per directory).
        if n + MAX_DIRENT <= dents.len() {
            return Ok(());
        }
    }
}

/// Reads one process; `None` for kernel threads and processes that vanished meanwhile. Only
/// `stat` and the directory's owner for a process that is not a server binary (unless `all`).
fn read_process(proc: BorrowedFd<'_>, pid: u32, buf: &mut Vec<u8>, all: bool) -> Option<Proc> {
    let mut name = [0u8; 24];
    let dir = sys::open_path_at(proc, c_name(&mut name, pid, "")?).ok()?;
    let dir = dir.as_fd();
    if !all {
        let stat = match read_at(dir, c"stat", buf) {
            Ok(n) => parse_stat(&buf[..n]),
            Err(e) if vanished(&e) => return None,
            Err(_) => None,
        };
        if let Some(st) = stat {
            if pid == 2 || st.ppid == 2 || st.flags & PF_KTHREAD != 0 {
                return None;
            }
            if !crate::correlate::is_service_binary(&st.comm) {
                let uid = sys::owner(dir).ok()?;
                return Some(Proc {
                    info: ProcessInfo {
                        pid,
                        ppid: st.ppid,
                        uid,
                        comm: st.comm,
                        exe: None,
                        cmdline: Vec::new(),
                        container: None,
                    },
                    uids: [uid; 4],
                    candidate: false,
                });
            }
        }
    }
    // `status` has the name, the parent and the uids: one file rather than `stat` and `status`.
    let status = match read_at(dir, c"status", buf) {
        Ok(n) => parse_status(&buf[..n]),
        Err(e) if vanished(&e) => return None,
        Err(_) => None,
    };
    let status = match status {
        Some(status) => status,
        None => status_from_stat(dir, buf)?,
    };
    let cmdline = match read_at(dir, c"cmdline", buf) {
        Ok(n) => split_cmdline(&buf[..n]),
        Err(e) if vanished(&e) => return None,
        Err(_) => Vec::new(),
    };
    if cmdline.is_empty() && (pid == 2 || status.ppid == 2 || status.kthread) {
        return None;
    }
    let mut link = [0u8; LINK_BUF];
    let exe = sys::readlink_at(dir, c"exe", &mut link)
        .ok()
        .map(|target| PathBuf::from(OsStr::from_bytes(target)));
    let container = match read_at(dir, c"cgroup", buf) {
        Ok(n) => container_of(&String::from_utf8_lossy(&buf[..n])),
        Err(e) if vanished(&e) => return None,
        Err(_) => None,
    };
    Some(Proc {
        info: ProcessInfo {
            pid,
            ppid: status.ppid,
            uid: status.uids[0],
            comm: status.comm,
            exe,
            cmdline,
            container,
        },
        uids: status.uids,
        candidate: true,
    })
}

/// The fallback when `status` cannot be read or parsed: `stat`, and the owner of the process
/// directory (its effective uid, or root for a process that is not dumpable).
fn status_from_stat(dir: BorrowedFd<'_>, buf: &mut Vec<u8>) -> Option<Status> {
    let n = read_at(dir, c"stat", buf).ok()?;
    let stat = parse_stat(&buf[..n])?;
    let uid = fs::File::from(dir.try_clone_to_owned().ok()?)
        .metadata()
        .ok()?
        .uid();
    Some(Status {
        comm: stat.comm,
        ppid: stat.ppid,
        uids: [uid; 4],
        kthread: stat.flags & PF_KTHREAD != 0,
    })
}

/// Whether an error reading `/proc/[pid]/...` means the process is gone.
fn vanished(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(ESRCH)
}

/// `<pid><suffix>` as a C string, in `buf`.
fn c_name<'b>(buf: &'b mut [u8; 24], pid: u32, suffix: &str) -> Option<&'b CStr> {
    let mut w = &mut buf[..];
    write!(w, "{pid}{suffix}\0").ok()?;
    CStr::from_bytes_until_nul(buf).ok()
}

/// Reads the file `name` of the directory `dir` into `buf`; the length read.
fn read_at(dir: BorrowedFd<'_>, name: &CStr, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut file = fs::File::from(sys::open_at(dir, name)?);
    read_all(&mut file, buf, true)
}

/// Reads `file` into `buf` (grown as needed, never shrunk) with nothing but `read(2)` calls
/// (`read_to_end` also asks for the file's size and position, two more system calls that
/// procfs answers with nothing useful); the length read. With `short_is_end`, a short read is
/// taken for the end: true of the `/proc/[pid]` files, which the kernel renders whole on the
/// first read, not of the socket tables, which come a page at a time.
fn read_all(file: &mut fs::File, buf: &mut Vec<u8>, short_is_end: bool) -> io::Result<usize> {
    const CHUNK: usize = 16 * 1024;
    let mut filled = 0;
    loop {
        if buf.len() < filled + CHUNK {
            buf.resize(filled + CHUNK, 0);
        }
        let want = buf.len() - filled;
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if short_is_end && n < want {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The names in a buffer of `linux_dirent64` records, `.` and `..` left out.
fn dirent_names(buf: &[u8]) -> impl Iterator<Item = &CStr> {
    // d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), then the NUL-terminated name.
    const NAME: usize = 19;
    let mut rest = buf;
    std::iter::from_fn(move || loop {
        let reclen = usize::from(u16::from_ne_bytes([*rest.get(16)?, *rest.get(17)?]));
        if reclen <= NAME || reclen > rest.len() {
            return None;
        }
        let (record, next) = rest.split_at(reclen);
        rest = next;
        let name = CStr::from_bytes_until_nul(&record[NAME..]).ok()?;
        if !matches!(name.to_bytes(), b"." | b"..") {
            return Some(name);
        }
    })
}

/// The fields of `/proc/[pid]/status` that [`scan`] uses: `Name` (with the kernel's escapes
/// of newline and backslash undone), `PPid`, `Uid` and, on kernels that have it, `Kthread`.
fn parse_status(text: &[u8]) -> Option<Status> {
    let (mut comm, mut ppid, mut uids, mut kthread) = (None, None, None, false);
    for line in text.split(|&b| b == b'\n') {
        if let Some(name) = line.strip_prefix(b"Name:\t") {
            comm = Some(unescape_name(name));
        } else if let Some(v) = line.strip_prefix(b"PPid:") {
            ppid = std::str::from_utf8(v).ok()?.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix(b"Uid:") {
            uids = parse_uids(v);
        } else if let Some(v) = line.strip_prefix(b"Kthread:") {
            kthread = v.trim_ascii() == b"1";
        }
    }
    Some(Status {
        comm: comm?,
        ppid: ppid?,
        uids: uids?,
        kthread,
    })
}

/// `Name:` of `status` escapes a newline as `\n` and a backslash as `\\`.
fn unescape_name(name: &[u8]) -> String {
    if !name.contains(&b'\\') {
        return String::from_utf8_lossy(name).into_owned();
    }
    let mut out = Vec::with_capacity(name.len());
    let mut bytes = name.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(&other) => out.push(other),
            None => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The four uids (real, effective, saved, file system) after `Uid:`.
fn parse_uids(text: &[u8]) -> Option<[u32; 4]> {
    let mut fields = std::str::from_utf8(text).ok()?.split_ascii_whitespace();
    let mut uids = [0u32; 4];
    for uid in &mut uids {
        *uid = fields.next()?.parse().ok()?;
    }
    Some(uids)
}

/// What [`scan`] falls back on from `/proc/[pid]/stat`.
struct Stat {
    comm: String,
    ppid: u32,
    flags: u64,
}

/// `pid (comm) state ppid pgrp session tty_nr tpgid flags ...`; `comm` may hold spaces and
/// parentheses, hence the last `)`.
fn parse_stat(text: &[u8]) -> Option<Stat> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let comm = String::from_utf8_lossy(&text[open + 1..close]).into_owned();
    let rest = std::str::from_utf8(&text[close + 1..]).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let _state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let flags = fields.nth(4).and_then(|f| f.parse().ok()).unwrap_or(0);
    Some(Stat { comm, ppid, flags })
}

/// NUL-separated arguments (the last one NUL-terminated, unless the process rewrote them).
fn split_cmdline(text: &[u8]) -> Vec<String> {
    let text = text.strip_suffix(b"\0").unwrap_or(text);
    if text.is_empty() {
        return Vec::new();
    }
    text.split(|&b| b == 0)
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// A decimal number of at most 19 digits (no sign, no spaces).
fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 {
        return None;
    }
    text.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

// ---------------------------------------------------------------------------------------------
// Containers

/// The container a process runs in, from the text of its `/proc/[pid]/cgroup` (cgroup v1
/// `id:controllers:path` lines, the v2 `0::path` line, or bare paths); `None` on the host.
///
/// Recognised, innermost first (a container in a container is reported as the inner one):
/// Docker (`/docker/<64 hex>`, `docker-<64 hex>.scope`), containerd's CRI plugin
/// (`cri-containerd-<64 hex>.scope`), Kubernetes with the cgroupfs driver
/// (`/kubepods/.../<64 hex>`, runtime `kubepods`), Podman (`libpod-<64 hex>.scope`), CRI-O
/// (`crio-<64 hex>.scope`) and LXC/LXD (`/lxc/<name>`, `/lxc.payload/<name>`,
/// `/lxc.payload.<name>`). The runtimes' monitor processes (`libpod-conmon-…`,
/// `crio-conmon-…`, `lxc.monitor…`) run on the host and are not matched.
pub fn container_of(cgroup: &str) -> Option<ContainerInfo> {
    cgroup.lines().find_map(|line| {
        let path = line.splitn(3, ':').nth(2).unwrap_or(line);
        container_in_path(path.trim())
    })
}

fn container_in_path(path: &str) -> Option<ContainerInfo> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, &part) in parts.iter().enumerate().rev() {
        let parent = if i > 0 { parts[i - 1] } else { "" };
        if let Some(found) = container_scope(part) {
            return Some(found);
        }
        if is_hex64(part) {
            if parent == "docker" {
                return Some(container("docker", part));
            }
            if parts[..i].iter().any(|p| p.starts_with("kubepods")) {
                return Some(container("kubepods", part));
            }
        }
        if parent == "lxc" || parent == "lxc.payload" {
            return Some(container("lxc", part));
        }
        if let Some(name) = part.strip_prefix("lxc.payload.") {
            if !name.is_empty() {
                return Some(container("lxc", name));
            }
        }
    }
    None
}

/// A systemd scope a runtime made for a container: `<prefix><64 hex>.scope`.
fn container_scope(part: &str) -> Option<ContainerInfo> {
    let stem = part.strip_suffix(".scope")?;
    [
        ("docker-", "docker"),
        ("cri-containerd-", "containerd"),
        ("libpod-", "podman"),
        ("crio-", "crio"),
    ]
    .into_iter()
    .find_map(|(prefix, runtime)| {
        let id = stem.strip_prefix(prefix)?;
        is_hex64(id).then(|| container(runtime, id))
    })
}

fn container(runtime: &str, id: &str) -> ContainerInfo {
    ContainerInfo {
        runtime: runtime.to_owned(),
        id: id.to_owned(),
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

// ---------------------------------------------------------------------------------------------
// Listening sockets

fn scan_listeners(
    proc_dir: &Path,
    netlink: bool,
    buf: &mut Vec<u8>,
    limits: &mut Vec<String>,
) -> Vec<Listener> {
    let mut net = proc_dir.join("net");
    let mut out = Vec::new();
    for (table, proto, v6) in [
        ("tcp", Proto::Tcp, false),
        ("tcp6", Proto::Tcp, true),
        ("udp", Proto::Udp, false),
        ("udp6", Proto::Udp, true),
        ("unix", Proto::Unix, false),
    ] {
        if netlink && proto != Proto::Unix {
            if let Ok(found) = diag_listeners(proto, v6, buf) {
                out.extend(found);
                continue;
            }
        }
        net.push(table);
        let read = fs::File::open(&net).and_then(|mut f| read_all(&mut f, buf, false));
        net.pop();
        match read {
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                if proto == Proto::Unix {
                    out.extend(parse_proc_net_unix(&text));
                } else {
                    out.extend(parse_proc_net_inet(&text, proto, v6));
                }
            }
            // No IPv6 (or no such protocol) in this kernel.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => limits.push(format!(
                "{}/{table} not readable ({e}): its listening sockets are unknown",
                net.display()
            )),
        }
    }
    out
}

/// `SOCK_DIAG_BY_FAMILY` (`linux/sock_diag.h`).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `NLMSG_ERROR`, `NLMSG_DONE` (`linux/netlink.h`).
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST | NLM_F_DUMP`.
const NLM_F_REQUEST_DUMP: u16 = 0x1 | 0x300;
/// The size of `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;
/// The size of `struct inet_diag_msg`.
const INET_DIAG_MSG_LEN: usize = 72;
/// The receive buffer: more than the 32 KiB the kernel puts in one dump datagram at most.
const DIAG_BUF: usize = 64 * 1024;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// `TCP_LISTEN`, and `TCP_CLOSE` (an unconnected UDP socket), as socket states.
const STATE_LISTEN: u8 = 10;
const STATE_CLOSE: u8 = 7;

/// The listening TCP (or unconnected, bound UDP) sockets of one address family, asked of the
/// kernel's `sock_diag` netlink interface: the kernel then walks only the listening sockets,
/// where reading `/proc/net/tcp` walks the whole connection hash table (milliseconds on a
/// large machine, however few connections there are). Same network namespace, same fields.
fn diag_listeners(proto: Proto, v6: bool, buf: &mut Vec<u8>) -> io::Result<Vec<Listener>> {
    let mut sock = fs::File::from(sys::sock_diag_socket()?);
    sock.write_all(&diag_request(proto, v6))?;
    if buf.len() < DIAG_BUF {
        buf.resize(DIAG_BUF, 0);
    }
    let mut out = Vec::new();
    loop {
        let n = sock.read(&mut buf[..DIAG_BUF])?;
        if n == 0 || n == DIAG_BUF {
            // The end of the socket, or a datagram that may have been cut.
            return Err(io::ErrorKind::InvalidData.into());
        }
        match parse_diag_datagram(&buf[..n], proto, &mut out) {
            DiagChunk::More => {}
            DiagChunk::Done => return Ok(out),
            DiagChunk::Error(errno) => return Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

/// A `SOCK_DIAG_BY_FAMILY` dump request (`struct nlmsghdr` + `struct inet_diag_req_v2`).
fn diag_request(proto: Proto, v6: bool) -> [u8; NLMSG_HDRLEN + 56] {
    let mut req = [0u8; NLMSG_HDRLEN + 56];
    let len = u32::try_from(req.len()).unwrap_or(u32::MAX);
    req[0..4].copy_from_slice(&len.to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&NLM_F_REQUEST_DUMP.to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes()); // sequence number
    req[16] = if v6 { AF_INET6 } else { AF_INET };
    let (ipproto, state) = match proto {
        Proto::Udp => (17, STATE_CLOSE),
        _ => (6, STATE_LISTEN),
    };
    req[17] = ipproto;
    req[20..24].copy_from_slice(&(1u32 << state).to_ne_bytes());
    req
}

/// What one datagram of a `sock_diag` dump says.
#[derive(Debug, PartialEq, Eq)]
enum DiagChunk {
    /// Sockets; more datagrams follow.
    More,
    /// The end of the dump.
    Done,
    /// The kernel's error.
    Error(i32),
}

/// Adds the listeners of one dump datagram (netlink messages holding `struct inet_diag_msg`)
/// to `out`.
fn parse_diag_datagram(data: &[u8], proto: Proto, out: &mut Vec<Listener>) -> DiagChunk {
    let mut rest = data;
    while rest.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        let Some(len) = usize::try_from(len)
            .ok()
            .filter(|&l| l >= NLMSG_HDRLEN && l <= rest.len())
        else {
            return DiagChunk::Error(EPROTO);
        };
        let payload = &rest[NLMSG_HDRLEN..len];
        let errno = payload
            .get(..4)
            .map_or(0, |e| i32::from_ne_bytes([e[0], e[1], e[2], e[3]]));
        match kind {
            NLMSG_DONE if errno < 0 => return DiagChunk::Error(errno.saturating_neg()),
            NLMSG_DONE => return DiagChunk::Done,
            NLMSG_ERROR if errno != 0 => return DiagChunk::Error(errno.saturating_neg()),
            SOCK_DIAG_BY_FAMILY => out.extend(parse_inet_diag_msg(payload, proto)),
            _ => {}
        }
        // Messages are aligned to 4 bytes.
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    DiagChunk::More
}

/// One `struct inet_diag_msg`: family, state, ..., source port (big-endian) at 4, source
/// address (network order) at 8, uid at 64, inode at 68.
fn parse_inet_diag_msg(msg: &[u8], proto: Proto) -> Option<Listener> {
    let msg = msg.get(..INET_DIAG_MSG_LEN)?;
    let want = if proto == Proto::Udp {
        STATE_CLOSE
    } else {
        STATE_LISTEN
    };
    if msg[1] != want {
        return None;
    }
    let port = u16::from_be_bytes([msg[4], msg[5]]);
    let ip = match msg[0] {
        AF_INET => IpAddr::from(<[u8; 4]>::try_from(&msg[8..12]).ok()?),
        AF_INET6 => IpAddr::from(<[u8; 16]>::try_from(&msg[8..24]).ok()?),
        _ => return None,
    };
    if proto == Proto::Udp && port == 0 {
        return None;
    }
    let word = |at: usize| u32::from_ne_bytes([msg[at], msg[at + 1], msg[at + 2], msg[at + 3]]);
    Some(Listener {
        proto,
        addr: Some(SocketAddr::new(ip, port)),
        path: None,
        inode: u64::from(word(68)),
        uid: word(64),
        pid: None,
    })
}

/// The listening sockets of a `/proc/net/tcp`, `tcp6`, `udp` or `udp6` table: TCP sockets in
/// LISTEN (`0A`), UDP sockets unconnected (`07`) and bound to a port. `v6` says the addresses
/// are IPv6 (`tcp6`, `udp6`). The kernel prints each 32-bit word of an address as a number in
/// the host's byte order (little-endian on x86 and arm64: `0100007F` is 127.0.0.1). The header
/// and lines that do not parse are skipped; `proto` [`Proto::Unix`] yields nothing.
pub fn parse_proc_net_inet(text: &str, proto: Proto, v6: bool) -> Vec<Listener> {
    let state = match proto {
        Proto::Tcp => TCP_LISTEN,
        Proto::Udp => UDP_UNCONNECTED,
        Proto::Unix => return Vec::new(),
    };
    text.lines()
        .filter_map(|line| parse_inet_line(line, proto, v6, state))
        .collect()
}

/// `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`
fn parse_inet_line(line: &str, proto: Proto, v6: bool, state: &str) -> Option<Listener> {
    let mut fields = line.split_ascii_whitespace();
    if !fields.next()?.ends_with(':') {
        return None;
    }
    let local = fields.next()?;
    let _remote = fields.next()?;
    if !fields.next()?.eq_ignore_ascii_case(state) {
        return None;
    }
    let uid = fields.nth(3)?.parse().ok()?;
    let inode = fields.nth(1)?.parse().ok()?;
    let addr = parse_hex_sockaddr(local, v6)?;
    if proto == Proto::Udp && addr.port() == 0 {
        return None;
    }
    Some(Listener {
        proto,
        addr: Some(addr),
        path: None,
        inode,
        uid,
        pid: None,
    })
}

/// `0100007F:0CEA` (IPv4) or 32 hex digits `:port` (IPv6).
fn parse_hex_sockaddr(text: &str, v6: bool) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    if port.len() > 4 {
        return None;
    }
    let port = u16::try_from(parse_hex(port)?).ok()?;
    if v6 {
        if ip.len() != 32 {
            return None;
        }
        let mut octets = [0u8; 16];
        for (i, word) in octets.chunks_exact_mut(4).enumerate() {
            let hex = ip.get(i * 8..i * 8 + 8)?;
            word.copy_from_slice(&parse_hex(hex)?.to_ne_bytes());
        }
        Some(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(octets),
            port,
            0,
            0,
        )))
    } else {
        if ip.len() != 8 {
            return None;
        }
        let ip = Ipv4Addr::from(parse_hex(ip)?.to_ne_bytes());
        Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
    }
}

/// 1 to 8 hex digits, nothing else.
fn parse_hex(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

/// The listening Unix sockets of a `/proc/net/unix` table: `__SO_ACCEPTCON` set in the flags,
/// and a path. Abstract sockets keep the kernel's spelling, `@name`. Their uid is unknown
/// (`u32::MAX`). The header and lines that do not parse are skipped.
pub fn parse_proc_net_unix(text: &str) -> Vec<Listener> {
    text.lines().filter_map(parse_unix_line).collect()
}

/// `Num: RefCount Protocol Flags Type St Inode Path`; the path is the rest of the line after
/// one space (it may hold spaces).
fn parse_unix_line(line: &str) -> Option<Listener> {
    let (num, rest) = next_field(line)?;
    if !num.ends_with(':') {
        return None;
    }
    let (_refcount, rest) = next_field(rest)?;
    let (_protocol, rest) = next_field(rest)?;
    let (flags, rest) = next_field(rest)?;
    let (_type, rest) = next_field(rest)?;
    let (_state, rest) = next_field(rest)?;
    let (inode, rest) = next_field(rest)?;
    if parse_hex(flags)? & SO_ACCEPTCON == 0 {
        return None;
    }
    let inode = parse_decimal(inode.as_bytes())?;
    let path = rest.strip_prefix(' ')?;
    if path.is_empty() {
        return None;
    }
    Some(Listener {
        proto: Proto::Unix,
        addr: None,
        path: Some(PathBuf::from(path)),
        inode,
        uid: u32::MAX,
        pid: None,
    })
}

/// The next space-separated field of `text`, and what follows it.
fn next_field(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start_matches([' ', '\t']);
    let end = text.find([' ', '\t']).unwrap_or(text.len());
    (end > 0).then(|| text.split_at(end))
}

// ---------------------------------------------------------------------------------------------
// Owners of listening sockets

/// How good a holder of a socket is as its owner, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    /// No process seen holding it.
    Unknown,
    /// Held by init (pid 1), with the socket's uid. Init also holds the sockets of the services
    /// it activates, on their behalf: another holder seen later (when the walk goes on for
    /// other sockets) replaces it.
    Init,
    /// A TCP/UDP socket held by a process none of whose uids is the socket's (it was bound by
    /// another user, e.g. as root before dropping privileges, and handed over).
    OtherUid,
    /// Held by a process other than init whose uid is the socket's (any, for Unix sockets).
    Owner,
}

/// What is known of the owner of one listening socket inode.
struct Slot {
    pid: Option<u32>,
    rank: Rank,
    /// The uid from the socket table (TCP, UDP).
    inet_uid: Option<u32>,
}

impl Rank {
    /// Whether the socket needs looking for no more: a holder with its uid, or init. A holder
    /// with another uid will do only in the second pass, once every process with the socket's
    /// uid has been walked.
    fn done(self, second_pass: bool) -> bool {
        match self {
            Rank::Owner | Rank::Init => true,
            Rank::OtherUid => second_pass,
            Rank::Unknown => false,
        }
    }
}

/// The listening socket inodes looked for, and their best holders so far.
struct Owners {
    slots: HashMap<u64, Slot>,
    /// TCP/UDP inodes not done in the first pass, per uid.
    inet_left: HashMap<u32, usize>,
    /// TCP/UDP inodes not done in the first pass.
    inet_remaining: usize,
    /// Inodes not [`Rank::done`].
    remaining: usize,
    second_pass: bool,
}

impl Owners {
    fn new(listeners: &[Listener]) -> Self {
        let mut owners = Owners {
            slots: HashMap::with_capacity(listeners.len()),
            inet_left: HashMap::new(),
            inet_remaining: 0,
            remaining: 0,
            second_pass: false,
        };
        for l in listeners.iter().filter(|l| l.inode != 0) {
            if owners.slots.contains_key(&l.inode) {
                continue;
            }
            let inet_uid = (l.proto != Proto::Unix).then_some(l.uid);
            if let Some(uid) = inet_uid {
                *owners.inet_left.entry(uid).or_default() += 1;
                owners.inet_remaining += 1;
            }
            owners.remaining += 1;
            owners.slots.insert(
                l.inode,
                Slot {
                    pid: None,
                    rank: Rank::Unknown,
                    inet_uid,
                },
            );
        }
        owners
    }

    /// Whether a process with one of `uids` may own a TCP/UDP socket still looked for.
    fn wants_inet_of(&self, uids: &[u32; 4]) -> bool {
        uids.iter()
            .any(|uid| self.inet_left.get(uid).is_some_and(|&n| n > 0))
    }

    /// Whether a TCP/UDP socket still has no owner good enough for the second pass.
    fn inet_left_second(&self) -> bool {
        self.slots
            .values()
            .any(|s| s.inet_uid.is_some() && !s.rank.done(true))
    }

    fn start_second_pass(&mut self) {
        self.second_pass = true;
        self.remaining = self.slots.values().filter(|s| !s.rank.done(true)).count();
    }

    /// Process `pid`, with `uids`, holds socket `inode`.
    fn found(&mut self, inode: u64, pid: u32, uids: &[u32; 4]) {
        let Some(slot) = self.slots.get_mut(&inode) else {
            return;
        };
        let rank = if slot.inet_uid.is_some_and(|uid| !uids.contains(&uid)) {
            Rank::OtherUid
        } else if pid == INIT_PID {
            Rank::Init
        } else {
            Rank::Owner
        };
        if rank <= slot.rank {
            return;
        }
        let (was_done, was_done_first) = (slot.rank.done(self.second_pass), slot.rank.done(false));
        slot.pid = Some(pid);
        slot.rank = rank;
        if !was_done_first && rank.done(false) {
            if let Some(uid) = slot.inet_uid {
                self.inet_remaining = self.inet_remaining.saturating_sub(1);
                if let Some(n) = self.inet_left.get_mut(&uid) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        if !was_done && rank.done(self.second_pass) {
            self.remaining = self.remaining.saturating_sub(1);
        }
    }
}

/// Sets the `pid` of `listeners` from the `socket:[inode]` links in `/proc/[pid]/fd`. The
/// first pass walks only the processes with the uid of a TCP/UDP socket still looked for; the
/// second (for Unix sockets, which carry no uid, and for sockets bound by another user) walks
/// the others, until every socket has an owner.
fn map_owners(
    proc: BorrowedFd<'_>,
    procs: &[Proc],
    listeners: &mut [Listener],
    limits: &mut Vec<String>,
) {
    let mut owners = Owners::new(listeners);
    if owners.remaining == 0 {
        return;
    }
    let mut walked = vec![false; procs.len()];
    let mut denied = BTreeSet::new();
    let mut dents = vec![0u8; DENTS_BUF];
    for (p, walked) in procs.iter().zip(walked.iter_mut()) {
        if owners.inet_remaining == 0 {
            break;
        }
        if owners.wants_inet_of(&p.uids) {
            walk_fds(proc, p, &mut owners, &mut denied, &mut dents);
            *walked = true;
        }
    }
    owners.start_second_pass();
    for (p, _) in procs.iter().zip(&walked).filter(|(_, &w)| !w) {
        if owners.remaining == 0 {
            break;
        }
        // Unix sockets carry no uid: they are looked for among the server binaries only
        // (the others' would name no service), TCP/UDP ones among every process
        if p.candidate || owners.inet_left_second() {
            walk_fds(proc, p, &mut owners, &mut denied, &mut dents);
        }
    }
    for l in listeners.iter_mut() {
        if let Some(slot) = owners.slots.get(&l.inode) {
            l.pid = slot.pid;
        }
    }
    limits.extend(denied.into_iter().map(|uid| {
        format!(
            "fds of processes of uid {uid} not readable (permission denied): the owners of \
             their sockets are unknown; run as root or grant CAP_DAC_READ_SEARCH and \
             CAP_SYS_PTRACE"
        )
    }));
}

/// Looks for wanted socket inodes among the fds of `p`, until all are found. No allocation:
/// `dents` takes the directory entries, a small buffer on the stack each link.
fn walk_fds(
    proc: BorrowedFd<'_>,
    p: &Proc,
    owners: &mut Owners,
    denied: &mut BTreeSet<u32>,
    dents: &mut [u8],
) {
    let pid = p.info.pid;
    let mut name = [0u8; 24];
    let Some(path) = c_name(&mut name, pid, "/fd") else {
        return;
    };
    let dir = match sys::open_dir_at(proc, path) {
        Ok(dir) => dir,
        Err(e) => {
            if e.kind() == io::ErrorKind::PermissionDenied {
                denied.insert(p.info.uid);
            }
            return; // otherwise, the process exited
        }
    };
    let mut link = [0u8; 64];
    let mut unreadable = false;
    let walked = for_each_dirent(dir.as_fd(), dents, |fd| {
        match sys::readlink_at(dir.as_fd(), fd, &mut link) {
            Ok(target) => {
                if let Some(inode) = socket_inode(target) {
                    owners.found(inode, pid, &p.uids);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => unreadable = true,
            Err(_) => {} // closed meanwhile
        }
        !unreadable && owners.remaining > 0
    });
    if unreadable || walked.is_err_and(|e| e.kind() == io::ErrorKind::PermissionDenied) {
        denied.insert(p.info.uid);
    }
}

/// The inode of an fd link `socket:[12345]`.
fn socket_inode(link: &[u8]) -> Option<u64> {
    parse_decimal(link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?)
}

// ---------------------------------------------------------------------------------------------
// Packages

fn scan_packages(root: &Path, limits: &mut Vec<String>) -> Vec<Package> {
    let mut out = Vec::new();
    let dpkg = root.join("var/lib/dpkg/status");
    match fs::read(&dpkg) {
        Ok(bytes) => out.extend(parse_dpkg_status(&String::from_utf8_lossy(&bytes))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => limits.push(format!(
            "{} not readable ({e}): dpkg packages are unknown",
            dpkg.display()
        )),
    }
    let rpmdb = root.join("var/lib/rpm");
    if rpmdb.exists() {
        if root != Path::new("/") {
            limits.push(format!(
                "rpm database {} not read: rpm is queried only when the scan root is /",
                rpmdb.display()
            ));
        } else {
            match find_in_path("rpm") {
                Some(rpm) => match run_rpm(&rpm) {
                    Ok(text) => out.extend(parse_rpm_qa(&text)),
                    Err(why) => limits.push(why),
                },
                None => limits.push(
                    "/var/lib/rpm exists but rpm is not on PATH: rpm packages are unknown"
                        .to_owned(),
                ),
            }
        }
    }
    out
}

/// The installed packages of a dpkg status database (`/var/lib/dpkg/status`): paragraphs
/// separated by blank lines, with `Package:`, `Version:` and `Status:` fields; continuation
/// lines (starting with a space or tab) are skipped. A package counts as installed when its
/// status is `<want> ok installed` (`install` or `hold`, ...) or has triggers pending
/// (`triggers-pending`, `triggers-awaited`: installed and configured); removed packages whose
/// configuration files remain (`config-files`) and broken ones (`reinstreq`,
/// `half-installed`...) are left out.
pub fn parse_dpkg_status(text: &str) -> Vec<Package> {
    #[derive(Default)]
    struct Paragraph<'a> {
        name: Option<&'a str>,
        version: Option<&'a str>,
        installed: bool,
    }
    fn flush(p: &mut Paragraph<'_>, out: &mut Vec<Package>) {
        let done = std::mem::take(p);
        if let (Some(name), true) = (done.name, done.installed) {
            if !name.is_empty() {
                out.push(Package {
                    name: name.to_owned(),
                    version: done.version.unwrap_or_default().to_owned(),
                });
            }
        }
    }
    let mut out = Vec::new();
    let mut p = Paragraph::default();
    for line in text.lines() {
        match line.as_bytes().first() {
            None => {
                flush(&mut p, &mut out);
                continue;
            }
            // A continuation line (or a blank one made of spaces).
            Some(b' ' | b'\t') => {
                if line.trim().is_empty() {
                    flush(&mut p, &mut out);
                }
                continue;
            }
            // Package, Status, Version: skip the many other fields quickly.
            Some(b'P' | b'p' | b'S' | b's' | b'V' | b'v') => {}
            Some(_) => continue,
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if key.eq_ignore_ascii_case("Package") {
            p.name = Some(value);
        } else if key.eq_ignore_ascii_case("Version") {
            p.version = Some(value);
        } else if key.eq_ignore_ascii_case("Status") {
            let mut words = value.split_ascii_whitespace();
            let (_want, flag, status) = (words.next(), words.next(), words.next());
            p.installed = flag == Some("ok")
                && matches!(
                    status,
                    Some("installed" | "triggers-pending" | "triggers-awaited")
                );
        }
    }
    flush(&mut p, &mut out);
    out
}

/// The packages printed by `rpm -qa --queryformat '%{NAME}\t%{EPOCH}:%{VERSION}-%{RELEASE}\n'`,
/// with a `(none):` epoch stripped. The `gpg-pubkey` pseudo-packages (imported signing keys)
/// and lines that do not parse are skipped.
pub fn parse_rpm_qa(text: &str) -> Vec<Package> {
    text.lines()
        .filter_map(|line| {
            let (name, version) = line.split_once('\t')?;
            let (name, version) = (name.trim(), version.trim());
            if name.is_empty() || name == "gpg-pubkey" {
                return None;
            }
            Some(Package {
                name: name.to_owned(),
                version: version
                    .strip_prefix("(none):")
                    .unwrap_or(version)
                    .to_owned(),
            })
        })
        .collect()
}

/// An executable `name` in an absolute directory of `PATH`.
fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|file| {
            fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Reads `pipe` to its end on a thread of its own.
fn drain<R: Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Runs `rpm -qa` for at most [`RPM_TIMEOUT`]; its output, or the line for `limits`.
fn run_rpm(rpm: &Path) -> Result<String, String> {
    let mut cmd = Command::new(rpm);
    cmd.args(["-qa", "--queryformat", RPM_QUERYFORMAT]);
    run_for(cmd, RPM_TIMEOUT).map_err(|why| format!("rpm -qa {why}: rpm packages are unknown"))
}

/// Runs `cmd` for at most `limit`; its output, or what went wrong.
fn run_for(mut cmd: Command, limit: Duration) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not be run ({e})"))?;
    // Read both pipes while the command runs, so that it never blocks on a full one.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Ok(None) => break Err(format!("did not finish within {limit:?} and was killed")),
            Err(e) => break Err(format!("could not be waited for ({e})")),
        }
    };
    let status = match status {
        Ok(status) => status,
        Err(why) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(why);
        }
    };
    let collect =
        |h: Option<thread::JoinHandle<Vec<u8>>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    let out = collect(stdout);
    let err = collect(stderr);
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        let first = err.lines().next().unwrap_or("").trim();
        return Err(format!("failed ({status}): {first}"));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

// ---------------------------------------------------------------------------------------------
// System calls

/// The module's only `unsafe` code: thin wrappers over `openat(2)`, `readlinkat(2)`,
/// `getdents64(2)` and `socket(2)`, which `std` lacks. Relative to an open directory, they
/// spare the kernel a walk of `/proc/[pid]` per file and the scan an allocation per file
/// descriptor; the socket asks the kernel for its listening sockets alone.
#[allow(unsafe_code)]
mod sys {
    use std::ffi::{CStr, CString};
    use std::io;
    use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    /// `NETLINK_SOCK_DIAG` (`linux/netlink.h`).
    const NETLINK_SOCK_DIAG: libc::c_int = 4;

    fn open_raw(dir: libc::c_int, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
        let flags = flags | libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY;
        loop {
            // SAFETY: `name` is NUL-terminated and outlives the call; `dir` is `AT_FDCWD` or a
            // descriptor the caller borrows for the duration of the call.
            let fd = unsafe { libc::openat(dir, name.as_ptr(), flags) };
            if fd >= 0 {
                // SAFETY: `openat` returned a new descriptor that nothing else owns.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// Opens the directory `path`.
    pub(super) fn open_dir(path: &Path) -> io::Result<OwnedFd> {
        let path = CString::new(path.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        open_raw(libc::AT_FDCWD, &path, libc::O_DIRECTORY)
    }

    /// Opens the directory `name` of `dir`.
    pub(super) fn open_dir_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
        open_raw(dir.as_raw_fd(), name, libc::O_DIRECTORY)
    }

    /// Opens the directory `name` of `dir` as a handle to open or read links relative to.
    pub(super) fn open_path_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
        open_raw(dir.as_raw_fd(), name, libc::O_DIRECTORY | libc::O_PATH)
    }

    /// A `NETLINK_SOCK_DIAG` socket.
    pub(super) fn sock_diag_socket() -> io::Result<OwnedFd> {
        // SAFETY: plain integer arguments; no memory is passed.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `socket` returned a new descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Opens the file `name` of `dir` for reading.
    pub(super) fn open_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
        open_raw(dir.as_raw_fd(), name, 0)
    }

    /// The target of the symbolic link `name` of `dir`, cut to the size of `buf`.
    pub(super) fn readlink_at<'b>(
        dir: BorrowedFd<'_>,
        name: &CStr,
        buf: &'b mut [u8],
    ) -> io::Result<&'b [u8]> {
        // SAFETY: `name` is NUL-terminated and outlives the call; `buf` is writable for
        // `buf.len()` bytes, the most the kernel writes; `dir` is borrowed for the call.
        let n = unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        match usize::try_from(n) {
            Ok(n) => Ok(&buf[..n.min(buf.len())]),
            Err(_) => Err(io::Error::last_os_error()),
        }
    }

    /// The owner of the file `fd` (of a `/proc/[pid]` directory: the process's effective uid,
    /// or root when it is not dumpable).
    pub(super) fn owner(fd: BorrowedFd<'_>) -> io::Result<u32> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `st` is writable for one `stat`, which the kernel fills on success; `fd` is
        // borrowed for the call.
        let rc = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fstat succeeded, so `st` is initialised.
        Ok(unsafe { st.assume_init() }.st_uid)
    }

    /// Reads the next entries of the directory `dir` into `buf` as `linux_dirent64` records;
    /// the bytes written, 0 at the end.
    pub(super) fn getdents(dir: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is writable for `buf.len()` bytes, the most the kernel writes;
            // `dir` is an open directory borrowed for the call.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    dir.as_raw_fd(),
                    buf.as_mut_ptr(),
                    buf.len(),
                )
            };
            match usize::try_from(n) {
                Ok(n) => return Ok(n.min(buf.len())),
                Err(_) => {
                    let err = io::Error::last_os_error();
                    if err.kind() != io::ErrorKind::Interrupted {
                        return Err(err);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fuzzing

/// For fuzzing: feeds `data`, as lossy UTF-8, to every parser of this module and to
/// [`container_of`]. Must never panic, whatever the input.
pub fn fuzz_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for proto in [Proto::Tcp, Proto::Udp, Proto::Unix] {
        for v6 in [false, true] {
            let _ = parse_proc_net_inet(&text, proto, v6);
        }
    }
    let _ = parse_proc_net_unix(&text);
    let _ = parse_dpkg_status(&text);
    let _ = parse_rpm_qa(&text);
    let _ = container_of(&text);
    for proto in [Proto::Tcp, Proto::Udp] {
        let _ = parse_diag_datagram(data, proto, &mut Vec::new());
    }
    let _ = parse_stat(data);
    let _ = parse_status(data);
    let _ = split_cmdline(data);
    let _ = socket_inode(data);
    let _ = dirent_names(data).count();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::process::Child;

    const ID: &str = "3f4e8c2a9b1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
    const ID2: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn found(cgroup: &str) -> Option<(String, String)> {
        container_of(cgroup).map(|c| (c.runtime, c.id))
    }

    fn some(runtime: &str, id: &str) -> Option<(String, String)> {
        Some((runtime.to_owned(), id.to_owned()))
    }

    #[test]
    fn containers_from_cgroup_lines() {
        // Docker, cgroup v1 (cgroupfs driver): every controller line names the container.
        let v1 = format!(
            "12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n0::/\n"
        );
        assert_eq!(found(&v1), some("docker", ID));
        // Docker, cgroup v2 with the systemd driver; with systemd inside the container too.
        assert_eq!(
            found(&format!("0::/system.slice/docker-{ID}.scope\n")),
            some("docker", ID)
        );
        assert_eq!(
            found(&format!("0::/system.slice/docker-{ID}.scope/init.scope\n")),
            some("docker", ID)
        );
        // Docker, cgroup v2 with the cgroupfs driver.
        assert_eq!(found(&format!("0::/docker/{ID}\n")), some("docker", ID));
        // Rootless Docker.
        assert_eq!(
            found(&format!(
                "0::/user.slice/user-1000.slice/user@1000.service/user.slice/docker-{ID}.scope\n"
            )),
            some("docker", ID)
        );
        // Kubernetes + containerd, systemd driver.
        let cri = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6a1b2c3d_4e5f_6789_abcd_ef0123456789.slice/cri-containerd-{ID}.scope\n"
        );
        assert_eq!(found(&cri), some("containerd", ID));
        // Kubernetes, cgroupfs driver (v1 and v2).
        let kube = format!(
            "11:cpu,cpuacct:/kubepods/besteffort/pod6a1b2c3d-4e5f-6789-abcd-ef0123456789/{ID}\n"
        );
        assert_eq!(found(&kube), some("kubepods", ID));
        assert_eq!(
            found(&format!("0::/kubepods/burstable/podabc/{ID}\n")),
            some("kubepods", ID)
        );
        // Kubernetes + Docker, systemd driver.
        assert_eq!(
            found(&format!(
                "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podx.slice/docker-{ID}.scope\n"
            )),
            some("docker", ID)
        );
        // Podman (the container process sits in a `container` child cgroup since Podman 4).
        assert_eq!(
            found(&format!("0::/machine.slice/libpod-{ID}.scope/container\n")),
            some("podman", ID)
        );
        assert_eq!(
            found(&format!(
                "1:name=systemd:/machine.slice/libpod-{ID}.scope\n"
            )),
            some("podman", ID)
        );
        // CRI-O.
        assert_eq!(
            found(&format!(
                "0::/kubepods.slice/kubepods-pod1.slice/crio-{ID}.scope\n"
            )),
            some("crio", ID)
        );
        // The runtimes' monitors run on the host.
        assert_eq!(
            found(&format!("0::/machine.slice/libpod-conmon-{ID}.scope\n")),
            None
        );
        assert_eq!(
            found(&format!("0::/system.slice/crio-conmon-{ID}.scope\n")),
            None
        );
        assert_eq!(found("0::/lxc.monitor.web01\n"), None);
        // LXC / LXD: v1, LXC 3 and LXC 4+ (v2), and a service inside the container.
        assert_eq!(found("4:memory:/lxc/web01\n"), some("lxc", "web01"));
        assert_eq!(found("4:memory:/lxc.payload/web01\n"), some("lxc", "web01"));
        assert_eq!(found("0::/lxc.payload.web01\n"), some("lxc", "web01"));
        assert_eq!(
            found("0::/lxc.payload.web01/system.slice/nginx.service\n"),
            some("lxc", "web01")
        );
        assert_eq!(
            found("1:name=systemd:/lxc/db-2/system.slice/mariadb.service\n"),
            some("lxc", "db-2")
        );
        // Docker in Docker: the inner container.
        assert_eq!(
            found(&format!("0::/docker/{ID}/docker/{ID2}\n")),
            some("docker", ID2)
        );
        // The host.
        for host in [
            "0::/\n",
            "0::/init.scope\n",
            "0::/user.slice/user-1000.slice/session-2.scope\n",
            "0::/system.slice/docker.service\n",
            "0::/system.slice/containerd.service\n",
            "12:pids:/system.slice/ssh.service\n1:name=systemd:/system.slice/ssh.service\n",
            "0::/docker/abc123\n",
            "0::/system.slice/docker-abc123.scope\n",
            "0::/machine.slice/libpod-zz4e8c2a9b1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f.scope\n",
            "0::/lxc.payload.\n",
            "",
            "garbage",
            ":::::",
        ] {
            assert_eq!(found(host), None, "{host:?}");
        }
        // Bare paths.
        assert_eq!(found(&format!("/docker/{ID}")), some("docker", ID));
    }

    fn v4(a: [u8; 4], port: u16) -> Option<SocketAddr> {
        Some(SocketAddr::from((a, port)))
    }

    fn v6(ip: &str, port: u16) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), port))
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn tcp_listeners() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 7183 1 0000000000000000 100 0 0 10 0\n\
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0\n\
   2: 0100007F:0CEA 0100007F:D4C2 01 00000000:00000000 02:00000A2B 00000000   106        0 8000 2 0000000000000000 20 4 30 10 -1\n\
   3: 0F02000A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 9 1 0000000000000000 100 0 0 10 0\n\
   4: 0100007F:0CEA 00000000:0000 06 00000000:00000000 03:00000A2B 00000000     0        0 0 3 0000000000000000\n\
garbage\n\
   5: 0100007F:ZZZZ 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1\n\
   6: 0100007F0:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 78 1\n\
   7: 0100007F:0050 00000000:0000 0A\n\
   8: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     x        0 79 1\n\
\n";
        let got = parse_proc_net_inet(tcp, Proto::Tcp, false);
        let want = [
            (v4([127, 0, 0, 1], 3306), 106, 7183),
            (v4([0, 0, 0, 0], 22), 0, 1234),
            (v4([10, 0, 2, 15], 8080), 1000, 9),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (l, (addr, uid, inode)) in got.iter().zip(want) {
            assert_eq!(l.proto, Proto::Tcp);
            assert_eq!((l.addr, l.uid, l.inode), (addr, uid, inode));
            assert_eq!((l.path.as_ref(), l.pid), (None, None));
        }
        // The same lines read as IPv6 do not parse; UDP wants another state.
        assert!(parse_proc_net_inet(tcp, Proto::Tcp, true).is_empty());
        assert!(parse_proc_net_inet(tcp, Proto::Udp, false).is_empty());
        assert!(parse_proc_net_inet(tcp, Proto::Unix, false).is_empty());

        let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000000000000000000001000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 5063 1 0000000000000000 100 0 0 10 0\n\
   1: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5064 1 0000000000000000 100 0 0 10 0\n\
   2: 0000000000000000FFFF00000100007F:18EB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5065 1 0000000000000000 100 0 0 10 0\n\
   3: 000080FE00000000FF005452005412FE:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5066 1 0000000000000000 100 0 0 10 0\n\
   4: 00000000000000000000000001000000:1538 00000000000000000000000001000000:9C40 01 00000000:00000000 00:00000000 00000000   105        0 5067 1 0000000000000000 100 0 0 10 0\n\
   5: 0000000000000000000000000100000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 5068 1\n\
   6: 000000000000000000000000010000é0:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 5069 1\n";
        let got = parse_proc_net_inet(tcp6, Proto::Tcp, true);
        let addrs: Vec<_> = got.iter().map(|l| (l.addr, l.uid, l.inode)).collect();
        assert_eq!(
            addrs,
            [
                (v6("::1", 5432), 105, 5063),
                (v6("::", 22), 0, 5064),
                (v6("::ffff:127.0.0.1", 6379), 0, 5065),
                (v6("fe80::5254:ff:fe12:5400", 80), 0, 5066),
            ]
        );
        assert!(parse_proc_net_inet(tcp6, Proto::Tcp, false).is_empty());
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn udp_listeners() {
        let udp = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
  101: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 20001 2 0000000000000000 0\n\
  102: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 20002 2 0000000000000000 0\n\
  103: 00000000:0000 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 20003 2 0000000000000000 0\n\
  104: 0F02000A:A1B2 08080808:0035 01 00000000:00000000 00:00000000 00000000  1000        0 20004 2 0000000000000000 0\n";
        let got: Vec<_> = parse_proc_net_inet(udp, Proto::Udp, false)
            .into_iter()
            .map(|l| (l.proto, l.addr, l.uid, l.inode))
            .collect();
        assert_eq!(
            got,
            [
                (Proto::Udp, v4([127, 0, 0, 53], 53), 101, 20001),
                (Proto::Udp, v4([0, 0, 0, 0], 68), 0, 20002),
            ]
        );
        let udp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
  200: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   104        0 30001 2 0000000000000000 0\n\
  201: 00000000000000000000000001000000:0202 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 30002 2 0000000000000000 0\n";
        let got: Vec<_> = parse_proc_net_inet(udp6, Proto::Udp, true)
            .into_iter()
            .map(|l| (l.addr, l.uid, l.inode))
            .collect();
        assert_eq!(
            got,
            [(v6("::", 5353), 104, 30001), (v6("::1", 514), 0, 30002)]
        );
    }

    #[test]
    fn unix_listeners() {
        let unix = "Num       RefCount Protocol Flags    Type St Inode Path\n\
0000000017bb1401: 00000002 00000000 00010000 0001 01  4021 /var/run/postgresql/.s.PGSQL.5432\n\
000000005dfabc9e: 00000002 00000000 00010000 0001 01 10473 /run/mysqld/mysqld.sock\n\
00000000feba8af8: 00000003 00000000 00000000 0001 03   651\n\
00000000aaaaaaaa: 00000003 00000000 00000000 0001 03   652 /run/systemd/journal/stdout\n\
00000000bbbbbbbb: 00000002 00000000 00010000 0001 01   653\n\
00000000cccccccc: 00000002 00000000 00010000 0001 01 23456 @/tmp/.X11-unix/X0\n\
00000000dddddddd: 00000002 00000000 00010000 0005 01 23457 /run/my app/with spaces.sock\n\
00000000eeeeeeee: 00000002 00000000 00000000 0002 01 23458 /run/systemd/notify\n\
00000000ffffffff: 00000002 00000000 0001000G 0001 01 23459 /bad/flags\n\
0000000011111111: 00000002 00000000 00010000 0001 01 -5 /bad/inode\n\
0000000022222222 00000002 00000000 00010000 0001 01 23460 /no/colon\n\
garbage line\n\
0000000033333333: 00000002 00000000 00010000\n\
\n";
        let got: Vec<_> = parse_proc_net_unix(unix)
            .into_iter()
            .map(|l| {
                assert_eq!(
                    (l.proto, l.addr, l.uid, l.pid),
                    (Proto::Unix, None, u32::MAX, None)
                );
                (l.path.unwrap(), l.inode)
            })
            .collect();
        let want: Vec<(PathBuf, u64)> = [
            ("/var/run/postgresql/.s.PGSQL.5432", 4021),
            ("/run/mysqld/mysqld.sock", 10473),
            ("@/tmp/.X11-unix/X0", 23456),
            ("/run/my app/with spaces.sock", 23457),
        ]
        .into_iter()
        .map(|(p, i)| (PathBuf::from(p), i))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn dpkg_status() {
        let status = "Package: mariadb-server\n\
Status: install ok installed\n\
Priority: optional\n\
Section: database\n\
Installed-Size: 12345\n\
Version: 1:10.11.6-0+deb12u1\n\
Depends: mariadb-client (>= 1:10.11.6-0+deb12u1),\n libdbi-perl,\n lsof\n\
Conffiles:\n /etc/mysql/mariadb.conf.d/50-server.cnf 1234abcd\n\
Description: MariaDB database server binaries\n MariaDB is a fast, stable and true multi-user, multi-threaded SQL\n .\n Version: 9.9 (not a field)\n\
\n\
Package: old-thing\n\
Status: deinstall ok config-files\n\
Version: 1.0\n\
\n\
\n\
Package: held\r\n\
Status: hold ok installed\r\n\
Version: 2.3-1\r\n\
\r\n\
Package: broken\n\
Status: install reinstreq half-installed\n\
Version: 0.1\n\
\n\
package: lowercase-keys\n\
status: install ok triggers-pending\n\
version: 5:7.0.15-1~deb12u1\n\
\n\
Package: no-version\n\
Status: install ok installed\n\
\n\
Status: install ok installed\n\
Version: 1.0 (no name)\n\
\n\
garbage without colon\n\
Package: last\n\
Version: 3\n\
Status: install ok installed";
        let got: Vec<_> = parse_dpkg_status(status)
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        let want: Vec<(String, String)> = [
            ("mariadb-server", "1:10.11.6-0+deb12u1"),
            ("held", "2.3-1"),
            ("lowercase-keys", "5:7.0.15-1~deb12u1"),
            ("no-version", ""),
            ("last", "3"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(got, want);
        assert!(parse_dpkg_status("").is_empty());
        assert!(parse_dpkg_status("\n\n \n").is_empty());
    }

    #[test]
    fn rpm_qa() {
        let out = "bash\t(none):5.2.15-3.el9\nperl-Errno\t0:1.30-480.el9\ngpg-pubkey\t(none):8483c65d-5ccc5b19\n\nno tab here\n\tno-name\nmariadb-server\t3:10.5.22-1.el9_2\n";
        let got: Vec<_> = parse_rpm_qa(out)
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        let want: Vec<(String, String)> = [
            ("bash", "5.2.15-3.el9"),
            ("perl-Errno", "0:1.30-480.el9"),
            ("mariadb-server", "3:10.5.22-1.el9_2"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(got, want);
    }

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[test]
    fn commands_run_with_a_time_limit() {
        let limit = Duration::from_secs(5);
        let out = run_for(sh("printf 'bash\\t(none):5.2-1\\n'; echo noise >&2"), limit).unwrap();
        assert_eq!(
            parse_rpm_qa(&out),
            [Package {
                name: "bash".into(),
                version: "5.2-1".into()
            }]
        );
        // More than a pipe holds, on both pipes.
        let big = run_for(
            sh("i=0; while [ $i -lt 3000 ]; do echo \"pkg$i\t1.$i\"; echo err$i >&2; i=$((i+1)); done"),
            limit,
        )
        .unwrap();
        assert_eq!(parse_rpm_qa(&big).len(), 3000);
        let err = run_for(sh("echo 'error: rpmdb open failed' >&2; exit 1"), limit).unwrap_err();
        assert!(err.contains("error: rpmdb open failed"), "{err}");
        let start = Instant::now();
        let err = run_for(sh("sleep 10"), Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("killed"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
        let err = run_for(Command::new("/nonexistent/rpm"), limit).unwrap_err();
        assert!(err.contains("could not be run"), "{err}");
    }

    #[test]
    fn proc_file_parsers() {
        let s = parse_stat(b"50 (my (odd) proc) name) S 1 50 50 0 -1 4194560 10 0 0 0").unwrap();
        assert_eq!(
            (s.comm.as_str(), s.ppid, s.flags),
            ("my (odd) proc) name", 1, 4194560)
        );
        let s = parse_stat(b"3 (kworker/0:0) I 2 0 0").unwrap();
        assert_eq!((s.ppid, s.flags), (2, 0));
        assert!(parse_stat(b"3 )kworker( I 2").is_none());
        assert!(parse_stat(b"3 (x) S").is_none());
        assert!(parse_stat(b"").is_none());
        let st = parse_status(
            b"Name:\tsshd\nUmask:\t0022\nState:\tS (sleeping)\nPPid:\t1\nTracerPid:\t0\nUid:\t0\t105\t105\t106\nGid:\t0\t0\t0\t0\nKthread:\t0\n",
        )
        .unwrap();
        assert_eq!(
            (st.comm.as_str(), st.ppid, st.uids, st.kthread),
            ("sshd", 1, [0, 105, 105, 106], false)
        );
        let st =
            parse_status(b"Name:\tkworker/0:1-events\nPPid:\t2\nUid:\t0\t0\t0\t0\nKthread:\t1\n")
                .unwrap();
        assert_eq!(
            (st.comm.as_str(), st.ppid, st.kthread),
            ("kworker/0:1-events", 2, true)
        );
        // Older kernels have no Kthread line; names are escaped.
        let st = parse_status(b"Name:\ta\\nb\\\\c d\tz\nPPid:\t7\nUid:\t1\t2\t3\t4\n").unwrap();
        assert_eq!(
            (st.comm.as_str(), st.ppid, st.uids),
            ("a\nb\\c d\tz", 7, [1, 2, 3, 4])
        );
        assert!(parse_status(b"Name:\tx\nPPid:\t1\nUid:\t0\t1\n").is_none());
        assert!(parse_status(b"Name:\tx\nUid:\t0\t0\t0\t0\n").is_none());
        assert!(parse_status(b"").is_none());
        assert_eq!(unescape_name(b"trailing\\"), "trailing\\");
        assert_eq!(
            split_cmdline(b"sleep\x0030\x00"),
            ["sleep".to_owned(), "30".to_owned()]
        );
        assert_eq!(
            split_cmdline(b"postgres: 15/main: checkpointer "),
            ["postgres: 15/main: checkpointer ".to_owned()]
        );
        assert_eq!(
            split_cmdline(b"a\x00\x00b\x00"),
            ["a", "", "b"].map(String::from)
        );
        assert!(split_cmdline(b"").is_empty());
        assert!(split_cmdline(b"\x00").is_empty());
        assert_eq!(socket_inode(b"socket:[4021]"), Some(4021));
        assert_eq!(socket_inode(b"socket:[]"), None);
        assert_eq!(socket_inode(b"socket:[12a]"), None);
        assert_eq!(socket_inode(b"socket:[99999999999999999999999]"), None);
        assert_eq!(socket_inode(b"pipe:[4021]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
    }

    /// A `sock_diag` answer message holding one `inet_diag_msg`.
    fn diag_msg(family: u8, state: u8, port: u16, addr: &[u8], uid: u32, inode: u32) -> Vec<u8> {
        let mut m = vec![0u8; NLMSG_HDRLEN + INET_DIAG_MSG_LEN];
        let len = m.len() as u32;
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        let d = &mut m[NLMSG_HDRLEN..];
        d[0] = family;
        d[1] = state;
        d[4..6].copy_from_slice(&port.to_be_bytes());
        d[8..8 + addr.len()].copy_from_slice(addr);
        d[64..68].copy_from_slice(&uid.to_ne_bytes());
        d[68..72].copy_from_slice(&inode.to_ne_bytes());
        m
    }

    fn control(kind: u16, errno: i32) -> Vec<u8> {
        let mut m = vec![0u8; NLMSG_HDRLEN + 4];
        m[0..4].copy_from_slice(&20u32.to_ne_bytes());
        m[4..6].copy_from_slice(&kind.to_ne_bytes());
        m[16..20].copy_from_slice(&errno.to_ne_bytes());
        m
    }

    #[test]
    fn sock_diag_answers() {
        let mut data = diag_msg(AF_INET, STATE_LISTEN, 3306, &[127, 0, 0, 1], 106, 7183);
        data.extend(diag_msg(AF_INET6, STATE_LISTEN, 22, &[0; 16], 0, 5064));
        let mut one = [0u8; 16];
        one[15] = 1;
        data.extend(diag_msg(AF_INET6, STATE_LISTEN, 5432, &one, 105, 5063));
        // Another state, another family: left out.
        data.extend(diag_msg(AF_INET, 1, 3306, &[127, 0, 0, 1], 106, 9));
        data.extend(diag_msg(99, STATE_LISTEN, 1, &[1, 2, 3, 4], 0, 10));
        let mut out = Vec::new();
        assert_eq!(
            parse_diag_datagram(&data, Proto::Tcp, &mut out),
            DiagChunk::More
        );
        let got: Vec<_> = out.iter().map(|l| (l.addr, l.uid, l.inode)).collect();
        assert_eq!(
            got,
            [
                (v4([127, 0, 0, 1], 3306), 106, 7183),
                (v6("::", 22), 0, 5064),
                (v6("::1", 5432), 105, 5063),
            ]
        );
        let mut out = Vec::new();
        let mut data = diag_msg(AF_INET, STATE_CLOSE, 53, &[127, 0, 0, 53], 101, 1);
        data.extend(diag_msg(AF_INET, STATE_CLOSE, 0, &[0; 4], 0, 2));
        data.extend(control(NLMSG_DONE, 0));
        data.extend(diag_msg(AF_INET, STATE_CLOSE, 54, &[0; 4], 0, 3));
        assert_eq!(
            parse_diag_datagram(&data, Proto::Udp, &mut out),
            DiagChunk::Done
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].proto, out[0].addr),
            (Proto::Udp, v4([127, 0, 0, 53], 53))
        );
        assert_eq!(
            parse_diag_datagram(&control(NLMSG_ERROR, -22), Proto::Tcp, &mut out),
            DiagChunk::Error(22)
        );
        assert_eq!(
            parse_diag_datagram(&control(NLMSG_ERROR, 0), Proto::Tcp, &mut out),
            DiagChunk::More
        );
        assert_eq!(
            parse_diag_datagram(&control(NLMSG_DONE, -16), Proto::Tcp, &mut out),
            DiagChunk::Error(16)
        );
        let mut bad = control(NLMSG_DONE, 0);
        bad[0..4].copy_from_slice(&500u32.to_ne_bytes());
        assert_eq!(
            parse_diag_datagram(&bad, Proto::Tcp, &mut out),
            DiagChunk::Error(EPROTO)
        );
        assert_eq!(
            parse_diag_datagram(&[1, 2, 3], Proto::Tcp, &mut out),
            DiagChunk::More
        );
        let req = diag_request(Proto::Tcp, true);
        assert_eq!((req[16], req[17]), (AF_INET6, 6));
        assert_eq!(
            u32::from_ne_bytes([req[20], req[21], req[22], req[23]]),
            1 << 10
        );
    }

    #[test]
    fn sock_diag_agrees_with_proc_net() {
        let mut buf = Vec::new();
        for (table, proto, v6) in [
            ("tcp", Proto::Tcp, false),
            ("tcp6", Proto::Tcp, true),
            ("udp", Proto::Udp, false),
            ("udp6", Proto::Udp, true),
        ] {
            let key = |l: &Listener| (l.addr, l.uid, l.inode);
            // Sockets come and go between the two reads: a few tries.
            let mut last = None;
            for _ in 0..5 {
                let Ok(text) = fs::read_to_string(format!("/proc/net/{table}")) else {
                    break;
                };
                let Ok(diag) = diag_listeners(proto, v6, &mut buf) else {
                    eprintln!("sock_diag not available here");
                    return;
                };
                let mut from_proc: Vec<_> = parse_proc_net_inet(&text, proto, v6)
                    .iter()
                    .map(key)
                    .collect();
                let mut from_diag: Vec<_> = diag.iter().map(key).collect();
                from_proc.sort_unstable();
                from_diag.sort_unstable();
                if from_proc == from_diag {
                    last = None;
                    break;
                }
                last = Some((from_proc, from_diag));
            }
            assert_eq!(last, None, "{table}");
        }
    }

    /// A small xorshift generator: deterministic inputs without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const SEEDS: &[&str] = &[
        "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 7183 1 0000000000000000 100 0 0 10 0",
        "   1: 00000000000000000000000001000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 5063 1",
        "  101: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 20001 2 0000000000000000 0",
        "0000000017bb1401: 00000002 00000000 00010000 0001 01  4021 /var/run/postgresql/.s.PGSQL.5432",
        "0000000017bb1401: 00000002 00000000 00010000 0001 01  4022 @abstract",
        "Package: redis-server\nStatus: install ok installed\nVersion: 5:7.0.15-1~deb12u1\nDescription: x\n more\n",
        "bash\t(none):5.2.15-3.el9",
        "0::/system.slice/docker-3f4e8c2a9b1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f.scope",
        "4:memory:/lxc/web01\n0::/lxc.payload.web01",
        "11:cpu:/kubepods/besteffort/pod1/3f4e8c2a9b1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f",
        "50 (my (odd) proc) name) S 1 50 50 0 -1 4194560 10 0 0 0",
        "Uid:\t0\t105\t105\t106\n",
        "socket:[4021]",
    ];

    fn input(r: &mut Rng) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..=r.below(4) {
            let mut line = SEEDS[r.below(SEEDS.len())].as_bytes().to_vec();
            for _ in 0..r.below(6) {
                let len = line.len();
                match r.below(5) {
                    0 => {
                        let i = r.below(len);
                        if i < len {
                            line[i] = r.next() as u8;
                        }
                    }
                    1 => {
                        let i = r.below(len + 1);
                        const BYTES: &[u8] = b" :()[]/@\t\n\0\xc3\xa9F0A-";
                        line.insert(i, BYTES[r.below(BYTES.len())]);
                    }
                    2 => line.truncate(r.below(len + 1)),
                    3 => {
                        let i = r.below(len);
                        if i < len {
                            line.remove(i);
                        }
                    }
                    _ => {
                        let i = r.below(len + 1);
                        let other = SEEDS[r.below(SEEDS.len())].as_bytes();
                        let tail = line.split_off(i);
                        line.extend_from_slice(&other[r.below(other.len())..]);
                        line.extend_from_slice(&tail);
                    }
                }
            }
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn parsers_never_panic() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5000 {
            fuzz_one(&input(&mut r));
        }
        for seed in SEEDS {
            fuzz_one(seed.as_bytes());
        }
        for odd in [
            &b""[..],
            b"\0",
            b"\xff\xfe",
            b":",
            b"::",
            b"(",
            b")",
            b")(",
            b"socket:[",
            b"]",
            b"   0: :",
            b"0: a:b c d e f g h i j",
        ] {
            fuzz_one(odd);
        }
    }

    // --- a fake /proc ---------------------------------------------------------------------

    struct FakeProc<'a> {
        pid: u32,
        comm: &'a str,
        ppid: u32,
        flags: u64,
        uid: u32,
        cmdline: &'a [u8],
        exe: Option<&'a str>,
        cgroup: &'a str,
        fds: &'a [&'a str],
    }

    fn write(path: &Path, data: impl AsRef<[u8]>) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }

    fn add_proc(root: &Path, p: &FakeProc<'_>) {
        let dir = root.join(format!("proc/{}", p.pid));
        write(
            &dir.join("stat"),
            format!(
                "{} ({}) S {} {} {} 0 -1 {} 100 0 0 0 1 2 0 0 20 0 1 0 100 2000000 500",
                p.pid, p.comm, p.ppid, p.pid, p.pid, p.flags
            ),
        );
        write(
            &dir.join("status"),
            format!(
                "Name:\t{}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{}\nPid:\t{}\nPPid:\t{}\nUid:\t{u}\t{u}\t{u}\t{u}\nGid:\t{u}\t{u}\t{u}\t{u}\nKthread:\t{}\n",
                p.comm,
                p.pid,
                p.pid,
                p.ppid,
                u8::from(p.flags & PF_KTHREAD != 0),
                u = p.uid
            ),
        );
        write(&dir.join("cmdline"), p.cmdline);
        write(&dir.join("cgroup"), p.cgroup);
        if let Some(exe) = p.exe {
            symlink(exe, dir.join("exe")).unwrap();
        }
        fs::create_dir_all(dir.join("fd")).unwrap();
        for (fd, target) in p.fds.iter().enumerate() {
            symlink(target, dir.join(format!("fd/{fd}"))).unwrap();
        }
    }

    const FAKE_TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1000 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 2000 1 0000000000000000 100 0 0 10 0\n\
   2: 0100007F:1538 0100007F:D4C2 01 00000000:00000000 02:00000A2B 00000000   105        0 2005 2 0000000000000000 20 4 30 10 -1\n\
   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4000 1 0000000000000000 100 0 0 10 0\n";
    const FAKE_TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000000000000000000001000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 2001 1 0000000000000000 100 0 0 10 0\n";
    const FAKE_UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
  101: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3000 2 0000000000000000 0\n";
    const FAKE_UNIX: &str = "Num       RefCount Protocol Flags    Type St Inode Path\n\
0000000017bb1401: 00000002 00000000 00010000 0001 01  9001 /run/postgresql/.s.PGSQL.5432\n\
0000000017bb1402: 00000002 00000000 00010000 0001 01  9002 /run/systemd/private\n\
0000000017bb1403: 00000002 00000000 00010000 0001 01  9003 @orphan\n\
0000000017bb1404: 00000003 00000000 00000000 0001 03  9004 /run/systemd/journal/stdout\n";
    const FAKE_DPKG: &str = "Package: postgresql-15\nStatus: install ok installed\nVersion: 15.20-0+deb12u1\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n";

    fn fake_host() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let cgroup_host = "0::/init.scope\n";
        let docker = format!("0::/system.slice/docker-{ID}.scope\n");
        let procs = [
            FakeProc {
                pid: 1,
                comm: "systemd",
                ppid: 0,
                flags: 4194560,
                uid: 0,
                cmdline: b"/sbin/init\0splash\0",
                exe: Some("/usr/lib/systemd/systemd"),
                cgroup: cgroup_host,
                fds: &[
                    "/dev/null",
                    "socket:[9001]",
                    "socket:[9002]",
                    "anon_inode:[eventpoll]",
                    "socket:[3000]",
                ],
            },
            FakeProc {
                pid: 2,
                comm: "kthreadd",
                ppid: 0,
                flags: 2129984,
                uid: 0,
                cmdline: b"",
                exe: None,
                cgroup: "0::/\n",
                fds: &[],
            },
            FakeProc {
                pid: 3,
                comm: "kworker/0:0-events",
                ppid: 2,
                flags: 69238880,
                uid: 0,
                cmdline: b"",
                exe: None,
                cgroup: "0::/\n",
                fds: &[],
            },
            FakeProc {
                pid: 4,
                comm: "odd kthread",
                ppid: 0,
                flags: u64::from(0x0020_0040u32),
                uid: 0,
                cmdline: b"",
                exe: None,
                cgroup: "0::/\n",
                fds: &[],
            },
            FakeProc {
                pid: 10,
                comm: "sshd",
                ppid: 1,
                flags: 4194560,
                uid: 0,
                cmdline: b"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
                exe: Some("/usr/sbin/sshd"),
                cgroup: "0::/system.slice/ssh.service\n",
                fds: &["/dev/null", "/dev/null", "/dev/null", "socket:[1000]"],
            },
            // A root process holding a copy of PostgreSQL's socket: the uid filter skips it.
            FakeProc {
                pid: 15,
                comm: "helper",
                ppid: 1,
                flags: 4194560,
                uid: 0,
                cmdline: b"helper\0",
                exe: None,
                cgroup: cgroup_host,
                fds: &["socket:[2000]", "pipe:[77]"],
            },
            FakeProc {
                pid: 20,
                comm: "postgres",
                ppid: 1,
                flags: 4194560,
                uid: 105,
                cmdline: b"/usr/lib/postgresql/15/bin/postgres\0-D\0/var/lib/postgresql/15/main\0",
                exe: Some("/usr/lib/postgresql/15/bin/postgres"),
                cgroup: "0::/system.slice/system-postgresql.slice/postgresql@15-main.service\n",
                fds: &[
                    "/dev/null",
                    "socket:[77]",
                    "socket:[2000]",
                    "socket:[2001]",
                    "socket:[9001]",
                ],
            },
            // Bound port 53 as root, then dropped to uid 101: found in the second pass.
            FakeProc {
                pid: 40,
                comm: "named",
                ppid: 1,
                flags: 4194560,
                uid: 101,
                cmdline: b"/usr/sbin/named\0-u\0bind\0",
                exe: Some("/usr/sbin/named"),
                cgroup: "0::/system.slice/named.service\n",
                fds: &["socket:[3000]"],
            },
            FakeProc {
                pid: 50,
                comm: "nginx (x) y",
                ppid: 45,
                flags: 4194560,
                uid: 1000,
                cmdline: b"nginx: master process nginx -g daemon off;",
                exe: None,
                cgroup: &docker,
                fds: &["socket:[4000]"],
            },
            // A zombie: no cmdline, kept.
            FakeProc {
                pid: 70,
                comm: "defunct",
                ppid: 20,
                flags: 4227140,
                uid: 105,
                cmdline: b"",
                exe: None,
                cgroup: "0::/system.slice/system-postgresql.slice/postgresql@15-main.service\n",
                fds: &[],
            },
        ];
        for p in &procs {
            add_proc(root, p);
        }
        // `status` unreadable: `stat` (and the owner of the directory) instead.
        write(&root.join("proc/4/status"), "Name:\todd kthread\n");
        add_proc(
            root,
            &FakeProc {
                pid: 80,
                comm: "old) kernel",
                ppid: 1,
                flags: 4194560,
                uid: 4242,
                cmdline: b"old\0",
                exe: None,
                cgroup: "0::/\n",
                fds: &[],
            },
        );
        write(&root.join("proc/80/status"), "garbage");
        // Vanished while listing.
        fs::create_dir_all(root.join("proc/60/fd")).unwrap();
        // Not processes.
        write(&root.join("proc/uptime"), "1.0 2.0\n");
        fs::create_dir_all(root.join("proc/self2")).unwrap();
        write(&root.join("proc/net/tcp"), FAKE_TCP);
        write(&root.join("proc/net/tcp6"), FAKE_TCP6);
        write(&root.join("proc/net/udp"), FAKE_UDP);
        write(&root.join("proc/net/unix"), FAKE_UNIX);
        write(&root.join("var/lib/dpkg/status"), FAKE_DPKG);
        tmp
    }

    #[test]
    fn by_default_only_server_binaries_get_their_details_read() {
        let tmp = fake_host();
        let s = scan(&ScanOptions {
            root: tmp.path().to_path_buf(),
            packages: false,
            all_details: false,
        });
        let by_pid = |pid: u32| s.processes.iter().find(|p| p.pid == pid).unwrap();
        // the same processes as with every detail, and their uids and parents
        let all = scan(&ScanOptions {
            root: tmp.path().to_path_buf(),
            packages: false,
            all_details: true,
        });
        let pids = |v: &HostScan| {
            v.processes
                .iter()
                .map(|p| (p.pid, p.ppid, p.comm.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(pids(&s), pids(&all));
        assert!(by_pid(1).cmdline.is_empty() && by_pid(1).exe.is_none());
        let pg = s.processes.iter().find(|p| p.comm == "postgres").unwrap();
        assert!(!pg.cmdline.is_empty(), "{pg:?}");
        // sockets are mapped to the same owners
        let owners = |v: &HostScan| {
            v.listeners
                .iter()
                .filter(|l| l.proto != Proto::Unix)
                .map(|l| (l.inode, l.pid))
                .collect::<Vec<_>>()
        };
        assert_eq!(owners(&s), owners(&all));
    }

    #[test]
    fn scans_a_fake_host() {
        let tmp = fake_host();
        let s = scan(&ScanOptions {
            root: tmp.path().to_path_buf(),
            packages: true,
            all_details: true,
        });
        assert!(s.limits.is_empty(), "{:?}", s.limits);
        let pids: Vec<u32> = s.processes.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [1, 10, 15, 20, 40, 50, 70, 80]);
        let init = &s.processes[0];
        assert_eq!((init.ppid, init.uid, init.comm.as_str()), (0, 0, "systemd"));
        assert_eq!(init.cmdline, ["/sbin/init", "splash"]);
        assert_eq!(init.exe, Some(PathBuf::from("/usr/lib/systemd/systemd")));
        assert_eq!(init.container, None);
        let pg = &s.processes[3];
        assert_eq!((pg.pid, pg.uid, pg.comm.as_str()), (20, 105, "postgres"));
        let nginx = &s.processes[5];
        assert_eq!(nginx.comm, "nginx (x) y");
        assert_eq!(
            nginx.cmdline,
            ["nginx: master process nginx -g daemon off;"]
        );
        assert_eq!(nginx.exe, None);
        assert_eq!(
            nginx.container,
            Some(ContainerInfo {
                runtime: "docker".into(),
                id: ID.into()
            })
        );
        assert!(s.processes[6].cmdline.is_empty());
        let old = &s.processes[7];
        let owner = fs::metadata(tmp.path().join("proc/80")).unwrap().uid();
        assert_eq!(
            (old.comm.as_str(), old.ppid, old.uid),
            ("old) kernel", 1, owner)
        );

        let got: Vec<_> = s
            .listeners
            .iter()
            .map(|l| (l.proto, l.inode, l.pid))
            .collect();
        assert_eq!(
            got,
            [
                (Proto::Tcp, 1000, Some(10)),
                (Proto::Tcp, 2000, Some(20)),
                (Proto::Tcp, 4000, Some(50)),
                (Proto::Tcp, 2001, Some(20)),
                (Proto::Udp, 3000, Some(40)),
                // Held by init and by PostgreSQL: PostgreSQL.
                (Proto::Unix, 9001, Some(20)),
                // Held by init only.
                (Proto::Unix, 9002, Some(1)),
                (Proto::Unix, 9003, None),
            ]
        );
        assert_eq!(
            s.listeners[3].addr,
            Some(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 5432))
        );
        assert_eq!(
            s.listeners[5].path,
            Some(PathBuf::from("/run/postgresql/.s.PGSQL.5432"))
        );
        assert_eq!(
            s.packages,
            [Package {
                name: "postgresql-15".into(),
                version: "15.20-0+deb12u1".into()
            }]
        );

        let s = scan(&ScanOptions {
            root: tmp.path().to_path_buf(),
            packages: false,
            all_details: false,
        });
        assert!(s.packages.is_empty());
        assert_eq!(s.processes.len(), 8);
    }

    #[test]
    fn a_missing_proc_is_a_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let s = scan(&ScanOptions {
            root: tmp.path().to_path_buf(),
            packages: true,
            all_details: false,
        });
        assert!(s.processes.is_empty() && s.listeners.is_empty() && s.packages.is_empty());
        assert_eq!(s.limits.len(), 1, "{:?}", s.limits);
        assert!(s.limits[0].contains("not readable"), "{:?}", s.limits);
    }

    #[test]
    fn unreadable_fds_are_one_limit_per_uid() {
        let tmp = fake_host();
        let root = tmp.path();
        // Only effective for a process without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: make the
        // fd directory of every process unreadable, and check what can be checked.
        for pid in [1, 10, 15, 20, 40, 50, 70, 80] {
            let fd = root.join(format!("proc/{pid}/fd"));
            fs::set_permissions(&fd, fs::Permissions::from_mode(0o000)).unwrap();
        }
        let denied = fs::read_dir(root.join("proc/1/fd")).is_err();
        let s = scan(&ScanOptions {
            root: root.to_path_buf(),
            packages: false,
            all_details: false,
        });
        for pid in [1, 10, 15, 20, 40, 50, 70, 80] {
            let fd = root.join(format!("proc/{pid}/fd"));
            fs::set_permissions(&fd, fs::Permissions::from_mode(0o755)).unwrap();
        }
        if !denied {
            eprintln!("running with CAP_DAC_READ_SEARCH: fd directories stay readable");
            assert!(s.limits.is_empty(), "{:?}", s.limits);
            return;
        }
        assert!(s.listeners.iter().all(|l| l.pid.is_none()));
        let uids: Vec<&str> = s
            .limits
            .iter()
            .map(|l| {
                l.strip_prefix("fds of processes of uid ")
                    .and_then(|l| l.split(' ').next())
                    .unwrap()
            })
            .collect();
        let want: BTreeSet<String> = s.processes.iter().map(|p| p.uid.to_string()).collect();
        assert_eq!(uids, want.iter().map(String::as_str).collect::<Vec<_>>());
    }

    // --- the real host --------------------------------------------------------------------

    /// CPU time of the calling thread, in nanoseconds (`/proc/thread-self/schedstat` lags by up
    /// to a scheduler tick for the running thread; the clock does not).
    #[allow(unsafe_code)]
    fn thread_cpu_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0);
        u64::try_from(ts.tv_sec).unwrap() * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap()
    }

    /// Runs `f`, printing its wall and CPU time.
    fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
        let cpu = thread_cpu_ns();
        let start = Instant::now();
        let out = f();
        let wall = start.elapsed();
        let cpu = Duration::from_nanos(thread_cpu_ns().saturating_sub(cpu));
        eprintln!("{what}: wall {wall:.2?}, cpu {cpu:.2?}");
        out
    }

    /// Kills and reaps its children when dropped, a failed assertion included.
    struct Children(Vec<Child>);

    impl Drop for Children {
        fn drop(&mut self) {
            for c in &mut self.0 {
                let _ = c.kill();
            }
            for c in &mut self.0 {
                let _ = c.wait();
            }
        }
    }

    #[test]
    fn sees_200_more_processes_quickly() {
        let n: usize = std::env::var("LOOKOUT_SCAN_CHILDREN")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(200);
        let opts = ScanOptions::default();
        let bare = ScanOptions {
            packages: false,
            ..ScanOptions::default()
        };
        let idle = timed("scan, idle host", || scan(&opts));
        timed("scan, idle host, without packages", || scan(&bare));
        let mut children = Children(Vec::with_capacity(n));
        for _ in 0..n {
            children.0.push(
                Command::new("sleep")
                    .arg("30")
                    .stdin(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        let s = timed(&format!("scan, {n} more processes, first sight"), || {
            scan(&opts)
        });
        timed(&format!("scan, {n} more processes"), || scan(&opts));
        timed(
            &format!("scan, {n} more processes, without packages"),
            || scan(&bare),
        );
        eprintln!(
            "idle: {} processes, {} listeners, {} packages; then {} processes",
            idle.processes.len(),
            idle.listeners.len(),
            idle.packages.len(),
            s.processes.len()
        );
        let me = std::process::id();
        let by_pid: HashMap<u32, &ProcessInfo> = s.processes.iter().map(|p| (p.pid, p)).collect();
        for c in &children.0 {
            let p = by_pid
                .get(&c.id())
                .unwrap_or_else(|| panic!("child {} not seen", c.id()));
            assert_eq!(p.comm, "sleep");
            assert_eq!(p.ppid, me);
            // not a server binary: its details are read only on request
            assert!(p.cmdline.is_empty() && p.exe.is_none());
        }
        let all = timed("scan, every detail", || {
            scan(&ScanOptions {
                all_details: true,
                ..ScanOptions::default()
            })
        });
        let by_pid: HashMap<u32, &ProcessInfo> = all.processes.iter().map(|p| (p.pid, p)).collect();
        for c in &children.0 {
            let p = by_pid.get(&c.id()).unwrap();
            assert_eq!(p.cmdline, ["sleep", "30"]);
            assert!(p.exe.is_some());
        }
    }

    #[test]
    fn finds_the_databases_running_here() {
        let installed = fs::read_to_string("/var/lib/dpkg/status")
            .map(|t| parse_dpkg_status(&t))
            .unwrap_or_default();
        let is_postgresql = |name: &str| {
            name.strip_prefix("postgresql-")
                .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        };
        let has = |name: &str| installed.iter().any(|p| p.name == name);
        if !(has("mariadb-server")
            && has("redis-server")
            && installed.iter().any(|p| is_postgresql(&p.name)))
        {
            eprintln!("skipped: MariaDB, PostgreSQL and Redis are not all installed here");
            return;
        }
        let s = timed("scan", || scan(&ScanOptions::default()));
        eprintln!("limits: {:?}", s.limits);
        let comm_of = |pid: u32| {
            s.processes
                .iter()
                .find(|p| p.pid == pid)
                .map(|p| p.comm.as_str())
        };
        for (port, comm) in [
            (3306, "mariadbd"),
            (5432, "postgres"),
            (6379, "redis-server"),
        ] {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let l = s
                .listeners
                .iter()
                .find(|l| l.proto == Proto::Tcp && l.addr == Some(addr))
                .unwrap_or_else(|| panic!("no TCP listener on {addr}: {:?}", s.listeners));
            let pid = l.pid.unwrap_or_else(|| panic!("no owner for {l:?}"));
            assert_eq!(comm_of(pid), Some(comm), "{l:?}");
        }
        for name in ["mariadb-server", "redis-server"] {
            let p = s.packages.iter().find(|p| p.name == name).unwrap();
            assert!(!p.version.is_empty(), "{p:?}");
        }
        let pg = s.packages.iter().find(|p| is_postgresql(&p.name)).unwrap();
        assert!(!pg.version.is_empty(), "{pg:?}");
        let sock = s
            .listeners
            .iter()
            .find(|l| {
                l.proto == Proto::Unix
                    && l.path.as_deref().is_some_and(|p| {
                        p == Path::new("/var/run/postgresql/.s.PGSQL.5432")
                            || p == Path::new("/run/postgresql/.s.PGSQL.5432")
                    })
            })
            .unwrap_or_else(|| panic!("no PostgreSQL socket: {:?}", s.listeners));
        let pid = sock.pid.unwrap_or_else(|| panic!("no owner for {sock:?}"));
        assert_eq!(comm_of(pid), Some("postgres"));
        assert!(s.processes.iter().all(|p| p.pid != 2 && p.ppid != 2));
    }
}
