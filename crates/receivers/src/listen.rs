//! Binding listeners: `SO_REUSEPORT` so a reload can start a new receiver beside the old one,
//! non-blocking std sockets handed to tokio when the component runs, and a warning when an
//! address is not loopback.

use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;

/// Binds a TCP listener (backlog 1024) with `SO_REUSEADDR` and `SO_REUSEPORT`.
pub fn bind_tcp(addr: SocketAddr) -> Result<std::net::TcpListener, String> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| format!("cannot create a socket for {addr}: {e}"))?;
    s.set_reuse_address(true)
        .and_then(|_| s.set_reuse_port(true))
        .and_then(|_| s.set_nonblocking(true))
        .map_err(|e| format!("cannot set socket options for {addr}: {e}"))?;
    s.bind(&addr.into()).map_err(|e| bind_error(addr, e))?;
    s.listen(1024)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    Ok(s.into())
}

/// Binds a UDP socket with `SO_REUSEPORT` and asks for a `receive_buffer`-byte receive
/// buffer; returns the socket and the size the kernel granted (Linux reports twice the
/// usable size, capped by `net.core.rmem_max`).
pub fn bind_udp(
    addr: SocketAddr,
    receive_buffer: usize,
) -> Result<(std::net::UdpSocket, usize), String> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| format!("cannot create a socket for {addr}: {e}"))?;
    s.set_reuse_port(true)
        .and_then(|_| s.set_nonblocking(true))
        .map_err(|e| format!("cannot set socket options for {addr}: {e}"))?;
    if receive_buffer > 0 {
        // best effort: the kernel caps it at net.core.rmem_max (reported by the caller)
        let _ = s.set_recv_buffer_size(receive_buffer);
    }
    let granted = s.recv_buffer_size().unwrap_or(0);
    s.bind(&addr.into()).map_err(|e| bind_error(addr, e))?;
    Ok((s.into(), granted))
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
    fn a_port_held_without_reuseport_is_a_clear_error() {
        let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let e = bind_tcp(plain.local_addr().unwrap()).unwrap_err();
        assert!(e.contains("in use"), "{e}");
    }
}
