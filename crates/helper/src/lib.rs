//! lookout's root helper (`docs/helper.md`).
//!
//! The agent runs as the unprivileged `lookout` user with two read capabilities; nothing it
//! collects needs root. What it cannot do is replace its own configuration file when that file
//! belongs to root (`/etc/lookout/lookout.yaml` from the package, read-only to the hardened
//! service): `lookout config apply`, the TUI's config editor and `lookout config rollback` must
//! still work on such a host. This crate is the one small program that may, behind a narrow
//! interface:
//!
//! - a Unix stream socket (`/run/lookout/helper.sock`, root-owned, mode 0660, group `lookout`;
//!   or passed by systemd socket activation), one request per connection: one JSON object on
//!   one line, answered by one JSON line;
//! - the peer is checked by its kernel credentials (`SO_PEERCRED`): root or an allowed user;
//! - two operations: `ping` (what this helper allows) and `write_config` (replace one of the
//!   files named on the helper's command line, and no other, atomically, keeping the file's
//!   owner and mode, optionally only if it still has the content the caller read:
//!   `expect_sha256`);
//! - every request is logged (standard error: the journal under systemd) with the peer.
//!
//! The helper does not parse the configuration: the agent validated it, and the helper only
//! gives the agent's user the power to replace the listed files with text (UTF-8, no NUL, at
//! most [`MAX_CONFIG`] bytes).

use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub mod cli;
mod sys;

pub use sys::{lookup_user, peer_uid};

/// The protocol version this helper speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Where the helper listens unless told otherwise (and where the agent looks for it).
pub const DEFAULT_SOCKET: &str = "/run/lookout/helper.sock";
/// The largest configuration text accepted.
pub const MAX_CONFIG: usize = 1024 * 1024;
/// The largest request line read (a configuration escaped as JSON fits).
pub const MAX_REQUEST: usize = 4 * MAX_CONFIG;
/// How long one connection may take to send its request or read the reply.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One request: `{"version":1,"op":"ping"}` or
/// `{"version":1,"op":"write_config","path":"/etc/lookout/lookout.yaml","content":"...","expect_sha256":"..."}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// [`PROTOCOL_VERSION`].
    pub version: u32,
    /// `ping` or `write_config`.
    pub op: String,
    /// `write_config`: the file, exactly as the helper was told it (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `write_config`: the new text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `write_config`: write only if the file's current content has this SHA-256 (hex; the
    /// empty string: only if the file does not exist). Absent: write whatever is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_sha256: Option<String>,
}

/// The answer to one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the request was done.
    pub ok: bool,
    /// Why not, as a stable code: `peer_refused`, `bad_request`, `unsupported_version`,
    /// `unknown_op`, `not_allowed`, `too_large`, `conflict`, `io`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why not, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `write_config`: the SHA-256 of what is now in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `write_config`: its size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// `ping`: the helper's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper_version: Option<String>,
    /// `ping`: the operations it performs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<String>>,
    /// `ping`: the files `write_config` may replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
}

impl Reply {
    fn fail(code: &str, error: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            code: Some(code.into()),
            error: Some(error.into()),
            ..Reply::default()
        }
    }
}

/// What this helper allows.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Users (besides root) who may connect.
    pub allowed_uids: Vec<u32>,
    /// The files `write_config` may replace.
    pub config_files: Vec<PathBuf>,
    /// The group a new file gets (mode 0640); none: root's group, mode 0644.
    pub config_gid: Option<u32>,
}

/// The hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Answers one request line from a peer of uid `peer`.
pub fn handle(policy: &Policy, peer: u32, line: &[u8]) -> Reply {
    answer(policy, peer, parse(line).as_ref().map_err(String::clone))
}

fn parse(line: &[u8]) -> Result<Request, String> {
    serde_json::from_slice(line).map_err(|e| format!("not a request: {e}"))
}

/// Answers a request already read (or why it could not be) from a peer of uid `peer`.
fn answer(policy: &Policy, peer: u32, req: Result<&Request, String>) -> Reply {
    if peer != 0 && !policy.allowed_uids.contains(&peer) {
        return Reply::fail(
            "peer_refused",
            format!("uid {peer} may not use this helper"),
        );
    }
    let req = match req {
        Ok(r) => r,
        Err(e) => return Reply::fail("bad_request", e),
    };
    if req.version != PROTOCOL_VERSION {
        return Reply::fail(
            "unsupported_version",
            format!(
                "protocol version {} (this helper speaks {PROTOCOL_VERSION})",
                req.version
            ),
        );
    }
    match req.op.as_str() {
        "ping" => Reply {
            ok: true,
            helper_version: Some(env!("CARGO_PKG_VERSION").into()),
            ops: Some(vec!["ping".into(), "write_config".into()]),
            paths: Some(
                policy
                    .config_files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
            ),
            ..Reply::default()
        },
        "write_config" => write_config(policy, req),
        other => Reply::fail("unknown_op", format!("unknown operation `{other}`")),
    }
}

fn write_config(policy: &Policy, req: &Request) -> Reply {
    let (Some(path), Some(content)) = (&req.path, &req.content) else {
        return Reply::fail("bad_request", "write_config needs `path` and `content`");
    };
    let path = Path::new(path);
    if !path.is_absolute() || !policy.config_files.iter().any(|p| p == path) {
        return Reply::fail(
            "not_allowed",
            format!("{} is not a file this helper may write", path.display()),
        );
    }
    if content.len() > MAX_CONFIG {
        return Reply::fail(
            "too_large",
            format!("{} bytes (at most {MAX_CONFIG})", content.len()),
        );
    }
    if content.contains('\0') {
        return Reply::fail("bad_request", "the content holds a NUL byte");
    }
    match replace(
        path,
        content.as_bytes(),
        req.expect_sha256.as_deref(),
        policy,
    ) {
        Ok(r) => r,
        Err(e) => Reply::fail("io", format!("{}: {e}", path.display())),
    }
}

/// Reads a file without following a symbolic link at its last component.
fn read_nofollow(path: &Path) -> io::Result<Option<(Vec<u8>, std::fs::Metadata)>> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    let mut f = match f {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(io::Error::other("is a symbolic link: refused"))
        }
        Err(e) => return Err(e),
    };
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("is not a regular file: refused"));
    }
    let mut buf = Vec::new();
    Read::by_ref(&mut f)
        .take(MAX_CONFIG as u64 * 4)
        .read_to_end(&mut buf)?;
    Ok(Some((buf, meta)))
}

fn replace(path: &Path, new: &[u8], expect: Option<&str>, policy: &Policy) -> io::Result<Reply> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let current = read_nofollow(path)?;
    if let Some(want) = expect {
        let have = current
            .as_ref()
            .map(|(b, _)| sha256_hex(b))
            .unwrap_or_default();
        if !have.eq_ignore_ascii_case(want) {
            return Ok(Reply::fail(
                "conflict",
                "the file changed since it was read: read it again",
            ));
        }
    }
    let (uid, gid, mode) = match &current {
        Some((_, m)) => (m.uid(), m.gid(), m.mode() & 0o7777),
        None => match policy.config_gid {
            Some(g) => (0, g, 0o640),
            None => (0, 0, 0o644),
        },
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.lookout-helper.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = (|| -> io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(new)?;
        std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(Reply {
        ok: true,
        sha256: Some(sha256_hex(new)),
        bytes: Some(new.len() as u64),
        ..Reply::default()
    })
}

/// Reads one request line (at most [`MAX_REQUEST`] bytes) from a connection.
fn read_request(stream: &UnixStream) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    BufReader::new(stream.take(MAX_REQUEST as u64 + 1)).read_until(b'\n', &mut line)?;
    if line.len() > MAX_REQUEST {
        return Err(io::Error::other(format!(
            "request longer than {MAX_REQUEST} bytes"
        )));
    }
    Ok(line)
}

/// Serves one connection: peer check, request, reply, one log line.
pub fn serve_one(policy: &Policy, stream: UnixStream) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let (uid, pid) = match peer_uid(&stream) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lookout-helper: cannot read a peer's credentials: {e}");
            return;
        }
    };
    // the request is read even from a refused peer, so the refusal reaches it
    let req = read_request(&stream)
        .map_err(|e| e.to_string())
        .and_then(|line| parse(&line));
    let reply = answer(policy, uid, req.as_ref().map_err(String::clone));
    let (op, path) = match &req {
        Ok(q) => (q.op.as_str(), q.path.as_deref().unwrap_or_default()),
        Err(_) => ("", ""),
    };
    let outcome = if reply.ok {
        "ok".to_string()
    } else {
        format!(
            "{}: {}",
            reply.code.as_deref().unwrap_or(""),
            reply.error.as_deref().unwrap_or("")
        )
    };
    eprintln!(
        "lookout-helper: peer uid={uid} pid={pid} op={} path={} -> {outcome}",
        if op.is_empty() { "-" } else { op },
        if path.is_empty() { "-" } else { path },
    );
    let mut text = serde_json::to_vec(&reply).unwrap_or_else(|_| b"{\"ok\":false}".to_vec());
    text.push(b'\n');
    let mut s = &stream;
    let _ = s.write_all(&text);
}

/// Accepts connections one at a time; returns after `idle` without one (socket activation
/// starts the helper again on the next connection), or never when `idle` is `None`.
pub fn serve(listener: &UnixListener, policy: &Policy, idle: Option<Duration>) -> io::Result<()> {
    let mut last = Instant::now();
    loop {
        if let Some(idle) = idle {
            let left = idle.saturating_sub(last.elapsed());
            if left.is_zero() || !sys::wait_readable(listener, left)? {
                return Ok(());
            }
        }
        match listener.accept() {
            Ok((stream, _)) => {
                serve_one(policy, stream);
                last = Instant::now();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                eprintln!("lookout-helper: accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Binds the socket at `path`: parent made 0755 if missing, a stale socket replaced, the
/// socket itself root's, mode 0660, group `gid` (the agent's) when given.
pub fn bind(path: &Path, gid: Option<u32>) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)?;
        }
    }
    if let Ok(m) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !m.file_type().is_socket() {
            return Err(io::Error::other(format!(
                "{} exists and is not a socket",
                path.display()
            )));
        }
        std::fs::remove_file(path)?;
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    if let Some(g) = gid {
        std::os::unix::fs::lchown(path, None, Some(g))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    }
    Ok(l)
}

/// The listener systemd passed (`LISTEN_PID` is us, `LISTEN_FDS` = 1: descriptor 3).
pub fn activated() -> Option<UnixListener> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || fds != 1 {
        return None;
    }
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    sys::listener_from_fd3()
}

/// Sends one request to the helper at `socket` and reads its reply.
pub fn call(socket: &Path, req: &Request) -> io::Result<Reply> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(IO_TIMEOUT * 2))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut line = serde_json::to_vec(req).map_err(io::Error::other)?;
    line.push(b'\n');
    s.write_all(&line)?;
    let mut answer = Vec::new();
    BufReader::new(s.take(1024 * 1024)).read_until(b'\n', &mut answer)?;
    serde_json::from_slice(&answer)
        .map_err(|e| io::Error::other(format!("the helper's answer is not a reply: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy(dir: &Path) -> Policy {
        Policy {
            allowed_uids: vec![4242],
            config_files: vec![dir.join("lookout.yaml")],
            config_gid: None,
        }
    }

    fn req(path: &Path, content: &str, expect: Option<&str>) -> Vec<u8> {
        serde_json::to_vec(&Request {
            version: 1,
            op: "write_config".into(),
            path: Some(path.display().to_string()),
            content: Some(content.into()),
            expect_sha256: expect.map(String::from),
        })
        .unwrap()
    }

    #[test]
    fn writes_only_the_listed_file_keeping_its_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = policy(d.path());
        let f = d.path().join("lookout.yaml");
        std::fs::write(&f, "old: 1\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        let r = handle(&p, 4242, &req(&f, "new: 2\n", None));
        assert!(r.ok, "{r:?}");
        assert_eq!(r.sha256.as_deref(), Some(sha256_hex(b"new: 2\n").as_str()));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new: 2\n");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o640);
        // nothing left beside it
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);

        let other = d.path().join("other.yaml");
        let r = handle(&p, 4242, &req(&other, "x: 1\n", None));
        assert_eq!(r.code.as_deref(), Some("not_allowed"));
        assert!(!other.exists());
        // a path reaching the file another way (`..` is never resolved) is refused
        std::fs::create_dir(d.path().join("sub")).unwrap();
        let dotted = d.path().join("sub").join("..").join("lookout.yaml");
        let r = handle(&p, 4242, &req(&dotted, "x: 1\n", None));
        assert_eq!(r.code.as_deref(), Some("not_allowed"));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new: 2\n");
    }

    #[test]
    fn refuses_strangers_bad_requests_and_stale_writers() {
        let d = tempfile::tempdir().unwrap();
        let p = policy(d.path());
        let f = d.path().join("lookout.yaml");
        std::fs::write(&f, "old: 1\n").unwrap();
        let cases: Vec<(u32, Vec<u8>, &str)> = vec![
            (1000, req(&f, "a: 1\n", None), "peer_refused"),
            (4242, b"not json".to_vec(), "bad_request"),
            (
                4242,
                br#"{"version":1,"op":"ping","extra":1}"#.to_vec(),
                "bad_request",
            ),
            (
                4242,
                br#"{"version":2,"op":"ping"}"#.to_vec(),
                "unsupported_version",
            ),
            (4242, br#"{"version":1,"op":"exec"}"#.to_vec(), "unknown_op"),
            (
                4242,
                br#"{"version":1,"op":"write_config"}"#.to_vec(),
                "bad_request",
            ),
            (
                4242,
                req(&f, &"x".repeat(MAX_CONFIG + 1), None),
                "too_large",
            ),
            (4242, req(&f, "a: \u{0}\n", None), "bad_request"),
            (
                4242,
                req(&f, "a: 1\n", Some(&sha256_hex(b"other"))),
                "conflict",
            ),
            (4242, req(&f, "a: 1\n", Some("")), "conflict"),
        ];
        for (uid, line, code) in cases {
            let r = handle(&p, uid, &line);
            assert!(!r.ok);
            assert_eq!(r.code.as_deref(), Some(code), "{r:?}");
            assert_eq!(std::fs::read_to_string(&f).unwrap(), "old: 1\n");
        }
        // the right expectation writes; root may always ask
        let r = handle(&p, 0, &req(&f, "a: 1\n", Some(&sha256_hex(b"old: 1\n"))));
        assert!(r.ok, "{r:?}");
        let ping = handle(&p, 4242, br#"{"version":1,"op":"ping"}"#);
        assert!(ping.ok);
        assert_eq!(
            ping.paths.unwrap(),
            vec![f.display().to_string()],
            "ping lists the writable files"
        );
    }

    #[test]
    fn a_symlink_in_place_of_the_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = policy(d.path());
        let target = d.path().join("target");
        std::fs::write(&target, "t\n").unwrap();
        let f = d.path().join("lookout.yaml");
        std::os::unix::fs::symlink(&target, &f).unwrap();
        let r = handle(&p, 4242, &req(&f, "a: 1\n", None));
        assert_eq!(r.code.as_deref(), Some("io"), "{r:?}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "t\n");
    }

    #[test]
    fn a_missing_file_is_created_and_expect_empty_means_absent() {
        let d = tempfile::tempdir().unwrap();
        let p = policy(d.path());
        let f = d.path().join("lookout.yaml");
        let r = handle(&p, 4242, &req(&f, "a: 1\n", Some("")));
        assert!(r.ok, "{r:?}");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o644);
    }

    #[test]
    fn serves_over_a_socket_and_exits_when_idle() {
        let d = tempfile::tempdir().unwrap();
        let p = policy(d.path());
        let sock = d.path().join("run/helper.sock");
        let l = bind(&sock, None).unwrap();
        assert_eq!(std::fs::metadata(&sock).unwrap().mode() & 0o777, 0o600);
        let f = d.path().join("lookout.yaml");
        let server = {
            let p = Policy {
                allowed_uids: vec![],
                ..p.clone()
            };
            std::thread::spawn(move || serve(&l, &p, Some(Duration::from_millis(300))))
        };
        // this test runs as some user: root is always allowed, others are listed or refused
        let me = std::fs::metadata(d.path()).unwrap().uid();
        let r = call(
            &sock,
            &Request {
                version: 1,
                op: "write_config".into(),
                path: Some(f.display().to_string()),
                content: Some("via: socket\n".into()),
                expect_sha256: None,
            },
        )
        .unwrap();
        if me == 0 {
            assert!(r.ok, "{r:?}");
            assert_eq!(std::fs::read_to_string(&f).unwrap(), "via: socket\n");
        } else {
            assert_eq!(r.code.as_deref(), Some("peer_refused"));
        }
        let t = Instant::now();
        server.join().unwrap().unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn mutated_requests_are_answered_never_panic() {
        let p = Policy {
            allowed_uids: vec![1],
            config_files: Vec::new(),
            config_gid: None,
        };
        let seeds: [&[u8]; 2] = [
            br#"{"version":1,"op":"ping"}"#,
            br#"{"version":1,"op":"write_config","path":"/x","content":"a: 1","expect_sha256":""}"#,
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut answered_ok = 0;
        for i in 0..3000 {
            let mut b = seeds[i % 2].to_vec();
            for _ in 0..(i % 7 + 1) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let pos = (x as usize) % (b.len() + 1);
                match x % 3 {
                    0 => b.insert(pos, (x >> 8) as u8),
                    1 if pos < b.len() => {
                        b.remove(pos);
                    }
                    _ if pos < b.len() => b[pos] = (x >> 16) as u8,
                    _ => {}
                }
            }
            let r = handle(&p, 1, &b);
            assert_eq!(r.ok, r.code.is_none(), "{r:?}");
            answered_ok += usize::from(r.ok);
            // no file is listed: nothing may ever be written
            assert!(r.sha256.is_none());
        }
        assert!(answered_ok < 3000);
    }
}
