//! Binding listeners, and handing them over across configuration reloads.
//!
//! A reload builds the new topology while the old one still runs, then stops the old one and
//! starts the new one. A listener whose address is in both configurations is not bound twice:
//! the process keeps each bound socket in a table, and a component built for the same address
//! gets a duplicate of the same socket (`dup`), so the new receiver takes over the very accept
//! queue (TCP) or receive queue (UDP) the old one was reading. Nothing queued between the old
//! receiver's last read and the new one's first is lost, which two separate `SO_REUSEPORT`
//! sockets could not promise (closing one resets the connections in its backlog).
//!
//! The table is managed in generations: [`new_generation`] before a topology is built, then
//! [`release_unclaimed`] once it runs (closing the sockets only the old configuration used), or
//! [`rollback_generation`] if the build failed. Sockets are bound non-blocking, with
//! `SO_REUSEADDR`/`SO_REUSEPORT` (so a restart does not wait for TIME_WAIT); addresses with port
//! 0 are never shared. A non-loopback address is logged as a warning.

use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
}

struct Held {
    kind: Kind,
    addr: SocketAddr,
    socket: Socket,
    /// The generation that bound it.
    born: u64,
    /// The last generation that used it.
    claimed: u64,
}

static HELD: Mutex<Vec<Held>> = Mutex::new(Vec::new());
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Starts a new generation (call before building a topology); returns the previous one, for
/// [`rollback_generation`].
pub fn new_generation() -> u64 {
    GENERATION.fetch_add(1, SeqCst)
}

/// The new topology runs: closes the sockets no component of the current generation uses.
pub fn release_unclaimed() {
    let g = GENERATION.load(SeqCst);
    if let Ok(mut held) = HELD.lock() {
        held.retain(|h| h.claimed == g);
    }
}

/// The build failed: forgets the sockets it bound, and gives the others back to `previous`.
pub fn rollback_generation(previous: u64) {
    let failed = GENERATION.load(SeqCst);
    if let Ok(mut held) = HELD.lock() {
        held.retain(|h| h.born != failed);
        for h in held.iter_mut().filter(|h| h.claimed == failed) {
            h.claimed = previous;
        }
    }
    GENERATION.store(previous, SeqCst);
}

/// A duplicate of the held socket for (kind, addr), or a new one from `bind` (then held).
fn claim(
    kind: Kind,
    addr: SocketAddr,
    bind: impl FnOnce() -> Result<Socket, String>,
) -> Result<Socket, String> {
    if addr.port() == 0 {
        return bind();
    }
    let g = GENERATION.load(SeqCst);
    let mut held = HELD
        .lock()
        .map_err(|_| "listener table poisoned".to_string())?;
    if let Some(h) = held.iter_mut().find(|h| h.kind == kind && h.addr == addr) {
        if h.claimed == g {
            return Err(format!(
                "cannot listen on {addr}: another component of this configuration already listens there"
            ));
        }
        h.claimed = g;
        return h
            .socket
            .try_clone()
            .map_err(|e| format!("cannot share the socket on {addr}: {e}"));
    }
    let socket = bind()?;
    let dup = socket
        .try_clone()
        .map_err(|e| format!("cannot share the socket on {addr}: {e}"))?;
    held.push(Held {
        kind,
        addr,
        socket,
        born: g,
        claimed: g,
    });
    Ok(dup)
}

/// Binds a TCP listener (backlog 1024) with `SO_REUSEADDR` and `SO_REUSEPORT`, or shares the
/// one an earlier generation bound on `addr`.
pub fn bind_tcp(addr: SocketAddr) -> Result<std::net::TcpListener, String> {
    claim(Kind::Tcp, addr, || fresh_tcp(addr)).map(Into::into)
}

fn fresh_tcp(addr: SocketAddr) -> Result<Socket, String> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| format!("cannot create a socket for {addr}: {e}"))?;
    s.set_reuse_address(true)
        .and_then(|_| s.set_reuse_port(true))
        .and_then(|_| s.set_nonblocking(true))
        .map_err(|e| format!("cannot set socket options for {addr}: {e}"))?;
    s.bind(&addr.into()).map_err(|e| bind_error(addr, e))?;
    s.listen(1024)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    Ok(s)
}

/// Binds a UDP socket with `SO_REUSEPORT` and asks for a `receive_buffer`-byte receive
/// buffer; returns the socket and the size the kernel granted (Linux reports twice the
/// usable size, capped by `net.core.rmem_max`).
pub fn bind_udp(
    addr: SocketAddr,
    receive_buffer: usize,
) -> Result<(std::net::UdpSocket, usize), String> {
    let s = claim(Kind::Udp, addr, || fresh_udp(addr))?;
    if receive_buffer > 0 {
        // best effort: the kernel caps it at net.core.rmem_max (reported by the caller)
        let _ = s.set_recv_buffer_size(receive_buffer);
    }
    let granted = s.recv_buffer_size().unwrap_or(0);
    Ok((s.into(), granted))
}

fn fresh_udp(addr: SocketAddr) -> Result<Socket, String> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| format!("cannot create a socket for {addr}: {e}"))?;
    s.set_reuse_port(true)
        .and_then(|_| s.set_nonblocking(true))
        .map_err(|e| format!("cannot set socket options for {addr}: {e}"))?;
    s.bind(&addr.into()).map_err(|e| bind_error(addr, e))?;
    Ok(s)
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "cannot listen on {addr}: the address is in use by another program (pick another port, or stop it)"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot listen on {addr}: permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)"
        ),
        std::io::ErrorKind::AddrNotAvailable => format!(
            "cannot listen on {addr}: no local interface has this address"
        ),
        _ => format!("cannot listen on {addr}: {e}"),
    }
}

/// Logs a warning when a listener is reachable from other hosts.
pub fn warn_if_public(name: &str, addr: SocketAddr, tls: bool) {
    if !addr.ip().is_loopback() {
        tracing::warn!(
            listener = name,
            %addr,
            tls,
            "listening on a non-loopback address: other hosts can send data to this agent"
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reuseport_allows_a_second_listener_and_reports_the_port() {
        let a = bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = a.local_addr().unwrap();
        let b = bind_tcp(addr).unwrap();
        assert_eq!(b.local_addr().unwrap(), addr);
        let (u, granted) = bind_udp("127.0.0.1:0".parse().unwrap(), 1 << 20).unwrap();
        assert!(granted > 0);
        assert!(u.local_addr().unwrap().port() > 0);
    }

    #[test]
    fn a_new_generation_shares_the_socket_and_releases_what_it_does_not_use() {
        use std::io::{Read, Write};
        // two fixed ports, found free (these tests own them: port 0 is never shared)
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
        };
        let (a, b) = (free(), free());
        let old_a = bind_tcp(a).unwrap();
        let old_b = bind_tcp(b).unwrap();
        // the same address twice in one generation is refused
        assert!(bind_tcp(a).unwrap_err().contains("already listens"));
        let prev = new_generation();
        let new_a = bind_tcp(a).unwrap();
        // a client connects while both hold the socket; the old one stops without accepting
        let mut c = std::net::TcpStream::connect(a).unwrap();
        c.write_all(b"ping").unwrap();
        drop(old_a);
        // ... and the new one accepts that very connection
        let (mut s, _) = new_a.accept().unwrap();
        let mut got = [0u8; 4];
        s.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        // b is not in the new generation: released once the old component is gone too
        release_unclaimed();
        drop(old_b);
        assert!(
            std::net::TcpStream::connect(b).is_err(),
            "b still listening"
        );
        // a failed build gives its claims back and closes what it bound
        let p2 = new_generation();
        let c2 = free();
        drop(bind_tcp(c2).unwrap());
        drop(bind_tcp(a).unwrap());
        rollback_generation(p2);
        assert!(
            std::net::TcpStream::connect(c2).is_err(),
            "a failed build's socket stays open"
        );
        drop(bind_tcp(a).unwrap_err());
        let _ = prev;
    }

    #[test]
    fn a_port_held_without_reuseport_is_a_clear_error() {
        let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let e = bind_tcp(plain.local_addr().unwrap()).unwrap_err();
        assert!(e.contains("in use"), "{e}");
    }
}
