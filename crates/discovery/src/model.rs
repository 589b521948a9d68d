//! What the scanners find: the shared vocabulary of discovery.

use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A running process, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Real user id.
    pub uid: u32,
    /// `comm` (the kernel's 15-byte name).
    pub comm: String,
    /// `/proc/[pid]/exe` target, when readable.
    pub exe: Option<PathBuf>,
    /// Command line arguments (empty for kernel threads or when unreadable).
    pub cmdline: Vec<String>,
    /// Set when the process runs in a container.
    pub container: Option<ContainerInfo>,
}

/// The container a process runs in, from its cgroup path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerInfo {
    /// `docker`, `containerd`, `podman`, `crio`, `lxc`, `kubepods`...
    pub runtime: String,
    /// The container id (64 hex digits for Docker/containerd), or the name for LXC.
    pub id: String,
}

/// The transport of a listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP over IPv4 or IPv6.
    Tcp,
    /// UDP over IPv4 or IPv6.
    Udp,
    /// A Unix stream or datagram socket with a path.
    Unix,
}

/// A listening socket (TCP in LISTEN, UDP bound, Unix with a path and listening).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    /// Transport.
    pub proto: Proto,
    /// IP address and port (TCP, UDP).
    pub addr: Option<SocketAddr>,
    /// Socket path (Unix).
    pub path: Option<PathBuf>,
    /// Socket inode.
    pub inode: u64,
    /// Owner uid from the socket table (Unix sockets: unknown, `u32::MAX`).
    pub uid: u32,
    /// The owning process, when its file descriptors could be read.
    pub pid: Option<u32>,
}

/// An installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Package name (`mariadb-server`).
    pub name: String,
    /// Version as the package manager prints it (`1:10.11.6-0+deb12u1`).
    pub version: String,
}

/// Everything one host scan saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostScan {
    /// Processes (kernel threads left out).
    pub processes: Vec<ProcessInfo>,
    /// Listening sockets.
    pub listeners: Vec<Listener>,
    /// Installed packages (dpkg, rpm).
    pub packages: Vec<Package>,
    /// What could not be seen, and why (`pid 812: fds not readable (permission denied): run as
    /// root or grant CAP_SYS_PTRACE`).
    pub limits: Vec<String>,
}
