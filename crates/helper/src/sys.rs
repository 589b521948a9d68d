//! The few system calls std does not wrap: peer credentials, the user database, `poll`, and
//! adopting systemd's listening descriptor.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

/// The peer's uid and pid, from the kernel (`SO_PEERCRED`).
pub fn peer_uid(stream: &UnixStream) -> io::Result<(u32, i32)> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the descriptor is a live socket; `cred` and `len` are valid for writes of the
    // size passed.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((cred.uid, cred.pid))
}

/// A user's uid and primary gid, by name or number.
pub fn lookup_user(name: &str) -> io::Result<(u32, u32)> {
    let cname = std::ffi::CString::new(name).map_err(io::Error::other)?;
    let mut pw: libc::passwd = unsafe_zeroed_passwd();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the sizes passed; `out` is null or points to `pw`.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        )
    };
    if rc == 0 && !out.is_null() {
        return Ok((pw.pw_uid, pw.pw_gid));
    }
    if let Ok(uid) = name.parse::<u32>() {
        return Ok((uid, uid));
    }
    Err(io::Error::other(format!("no user `{name}`")))
}

fn unsafe_zeroed_passwd() -> libc::passwd {
    // SAFETY: `passwd` is plain data (integers and pointers); all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// Waits until the listener has a connection, or `timeout`; false on timeout.
pub fn wait_readable(l: &UnixListener, timeout: Duration) -> io::Result<bool> {
    let mut fds = libc::pollfd {
        fd: l.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut fds, 1, ms) };
    match rc {
        -1 => {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                Ok(true)
            } else {
                Err(e)
            }
        }
        0 => Ok(false),
        _ => Ok(true),
    }
}

/// Descriptor 3 as a Unix listener, when it is one.
pub fn listener_from_fd3() -> Option<UnixListener> {
    let mut ty: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `ty`/`len` are valid for writes; a bad descriptor is an error return.
    let rc = unsafe {
        libc::getsockopt(
            3,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 || ty != libc::SOCK_STREAM {
        return None;
    }
    // SAFETY: descriptor 3 is a stream socket systemd handed to this process, owned by
    // nothing else here.
    Some(unsafe { UnixListener::from_raw_fd(3) })
}
