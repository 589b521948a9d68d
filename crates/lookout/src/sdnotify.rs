//! systemd's notification protocol (`sd_notify(3)`): with `Type=notify` the agent says
//! `READY=1` once its pipeline runs, `RELOADING=1` / `READY=1` around a reload, `STOPPING=1`
//! when it stops, and with `WatchdogSec=` pings `WATCHDOG=1` at half the interval from the
//! main loop's runtime (a wedged runtime stops pinging, and systemd restarts the agent).
//! Without `$NOTIFY_SOCKET` every call does nothing.

use std::os::unix::net::UnixDatagram;

/// Sends one notification (lines of `KEY=value`) to `$NOTIFY_SOCKET`; false when there is
/// no socket or the send failed (never fatal).
pub fn notify(state: &str) -> bool {
    match std::env::var_os("NOTIFY_SOCKET") {
        Some(path) => notify_to(&path, state),
        None => false,
    }
}

/// Sends one notification to a socket path (`@name`: an abstract socket).
fn notify_to(path: &std::ffi::OsStr, state: &str) -> bool {
    let Ok(sock) = UnixDatagram::unbound() else {
        return false;
    };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        // an abstract socket
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|addr| sock.send_to_addr(state.as_bytes(), &addr))
    } else {
        sock.send_to(state.as_bytes(), path)
    };
    sent.is_ok()
}

/// The watchdog interval asked by systemd (`$WATCHDOG_USEC`, for this process when
/// `$WATCHDOG_PID` says which), if any.
pub fn watchdog_interval() -> Option<std::time::Duration> {
    if let Some(pid) = std::env::var("WATCHDOG_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    {
        if pid != std::process::id() {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| std::time::Duration::from_micros(usec))
}

/// Pings the watchdog at half its interval, for as long as the runtime runs it.
pub fn spawn_watchdog() {
    if let Some(every) = watchdog_interval() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every / 2);
            loop {
                tick.tick().await;
                notify("WATCHDOG=1");
            }
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_a_path_socket() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("notify.sock");
        let rx = UnixDatagram::bind(&p).unwrap();
        assert!(notify_to(p.as_os_str(), "READY=1\nSTATUS=running"));
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=running");
        assert!(
            !notify_to(d.path().join("none").as_os_str(), "READY=1"),
            "no listener: not sent"
        );
        // an abstract socket
        use std::os::linux::net::SocketAddrExt;
        let name = format!("lookout-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        assert!(notify_to(
            std::ffi::OsStr::new(&format!("@{name}")),
            "WATCHDOG=1"
        ));
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
    }
}
