//! [`UserNames`]: user names by user ID, from a `passwd` file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::{lines, parse_u32};

/// The least time between two reads of the `passwd` file.
const RELOAD_INTERVAL: Duration = Duration::from_secs(60);

/// A cache of user names by user ID, read from `<etc>/passwd`.
///
/// The file is read on the first lookup, not by [`UserNames::new`]. When a user ID that the file
/// did not list shows up, it is read again, at most once a minute, so users added since appear.
/// Only the file is consulted, not NSS (LDAP, `systemd-homed`, systemd's dynamic users): an
/// agent in a container can then name the host's users from the host's `/etc` mounted anywhere.
/// A missing or unreadable file leaves every user unnamed until a later read succeeds.
#[derive(Debug)]
pub struct UserNames {
    passwd: PathBuf,
    /// Names from the file's last read.
    names: HashMap<u32, Arc<str>>,
    /// Decimal user IDs handed out for IDs the file did not name, kept so each is built once.
    numeric: HashMap<u32, Arc<str>>,
    /// When the file was last read (or tried).
    loaded_at: Option<Instant>,
}

impl UserNames {
    /// A cache for the `passwd` file in `etc_dir` (`/etc`, or the host's `/etc` mounted
    /// elsewhere). Reads nothing yet.
    pub fn new(etc_dir: impl Into<PathBuf>) -> Self {
        UserNames {
            passwd: etc_dir.into().join("passwd"),
            names: HashMap::new(),
            numeric: HashMap::new(),
            loaded_at: None,
        }
    }

    /// The name of user `uid`, or `uid` in decimal if the file does not name it.
    pub fn name(&mut self, uid: u32) -> Arc<str> {
        self.name_at(uid, Instant::now())
    }

    /// [`UserNames::name`] at time `now`.
    pub(crate) fn name_at(&mut self, uid: u32, now: Instant) -> Arc<str> {
        let stale = self
            .loaded_at
            .is_none_or(|at| now.saturating_duration_since(at) >= RELOAD_INTERVAL);
        if self.loaded_at.is_none() || (stale && !self.names.contains_key(&uid)) {
            self.load(now);
        }
        if let Some(name) = self.names.get(&uid) {
            return Arc::clone(name);
        }
        Arc::clone(
            self.numeric
                .entry(uid)
                .or_insert_with(|| Arc::from(uid.to_string())),
        )
    }

    fn load(&mut self, now: Instant) {
        self.loaded_at = Some(now);
        // A read that fails keeps what an earlier one found.
        let Ok(bytes) = std::fs::read(&self.passwd) else {
            return;
        };
        let mut names = HashMap::with_capacity(self.names.len().max(64));
        for (uid, name) in parse_passwd(&bytes) {
            names
                .entry(uid)
                .or_insert_with(|| Arc::from(String::from_utf8_lossy(name)));
        }
        self.names = names;
        self.numeric.clear();
    }
}

/// The (user ID, name) pairs of a `passwd(5)` file, in file order. Comments, NIS `+`/`-` entries
/// and malformed lines are skipped. A user ID listed twice keeps its first name, as
/// `getpwuid(3)` does; that is up to the caller.
pub(crate) fn parse_passwd(input: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    lines(input).filter_map(|(_, line)| {
        let mut f = line.split(|&b| b == b':');
        let name = f.next()?;
        let _password = f.next()?;
        let uid = parse_u32(f.next()?)?;
        let skip = name.is_empty() || matches!(name.first(), Some(b'#' | b'+' | b'-'));
        (!skip).then_some((uid, name))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use std::fs;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n\
        mysql:x:107:110:MySQL Server,,,:/nonexistent:/bin/false\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

    fn etc_with(passwd: &str) -> TempDir {
        let dir = TempDir::new();
        fs::write(dir.path().join("passwd"), passwd).unwrap();
        dir
    }

    #[test]
    fn names_known_users_and_numbers_the_others() {
        let etc = etc_with(PASSWD);
        let mut users = UserNames::new(etc.path());
        assert_eq!(&*users.name(0), "root");
        assert_eq!(&*users.name(101), "postgres");
        assert_eq!(&*users.name(65534), "nobody");
        assert_eq!(&*users.name(4242), "4242");
        assert_eq!(&*users.name(u32::MAX), "4294967295");
        // The same allocation every time.
        assert!(Arc::ptr_eq(&users.name(101), &users.name(101)));
        assert!(Arc::ptr_eq(&users.name(4242), &users.name(4242)));
    }

    #[test]
    fn reads_lazily_and_again_at_most_once_a_minute_for_new_users() {
        let etc = etc_with(PASSWD);
        let mut users = UserNames::new(etc.path());
        // Nothing read yet: a file written after `new` counts.
        fs::write(
            etc.path().join("passwd"),
            format!("{PASSWD}alice:x:1000:1000::/home/alice:/bin/sh\n"),
        )
        .unwrap();
        let t0 = Instant::now();
        assert_eq!(&*users.name_at(1000, t0), "alice");

        fs::write(
            etc.path().join("passwd"),
            format!("{PASSWD}alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n"),
        )
        .unwrap();
        assert_eq!(&*users.name_at(1001, t0 + Duration::from_secs(30)), "1001");
        assert_eq!(&*users.name_at(1001, t0 + Duration::from_secs(59)), "1001");
        assert_eq!(&*users.name_at(1001, t0 + Duration::from_secs(60)), "bob");

        // Known users never cause a read, however old the cache.
        fs::write(etc.path().join("passwd"), "carol:x:1002:1002::/:/bin/sh\n").unwrap();
        let t1 = t0 + Duration::from_secs(600);
        assert_eq!(&*users.name_at(1000, t1), "alice");
        // An unknown one does, and the new file replaces the old one's names.
        assert_eq!(&*users.name_at(1002, t1), "carol");
        assert_eq!(&*users.name_at(1000, t1), "1000");
    }

    #[test]
    fn a_missing_file_names_nobody_until_it_appears() {
        let etc = TempDir::new();
        let mut users = UserNames::new(etc.path());
        let t0 = Instant::now();
        assert_eq!(&*users.name_at(0, t0), "0");
        fs::write(etc.path().join("passwd"), PASSWD).unwrap();
        assert_eq!(&*users.name_at(0, t0 + Duration::from_secs(1)), "0");
        assert_eq!(&*users.name_at(0, t0 + Duration::from_secs(61)), "root");
        // The file vanishing keeps the names already read.
        fs::remove_file(etc.path().join("passwd")).unwrap();
        assert_eq!(&*users.name_at(7, t0 + Duration::from_secs(200)), "7");
        assert_eq!(&*users.name_at(0, t0 + Duration::from_secs(200)), "root");
    }

    #[test]
    fn passwd_edge_cases() {
        let input = b"# comment:x:5:5\n\
            +:::::\n\
            -baduser:x:6:6::/:\n\
            +nisuser\n\
            \n\
            :x:7:7::/:\n\
            short:x\n\
            neg:x:-1:0::/:\n\
            big:x:4294967296:0::/:\n\
            first:x:8:8::/:\n\
            second:x:8:8::/:\n\
            caf\xc3\xa9:x:9:9::/:\n\
            bad\xff:x:10:10\n\
            nofields:x:11";
        let got: Vec<_> = parse_passwd(input)
            .map(|(uid, name)| (uid, String::from_utf8_lossy(name).into_owned()))
            .collect();
        let want = [
            (8, "first"),
            (8, "second"),
            (9, "café"),
            (10, "bad\u{fffd}"),
            (11, "nofields"),
        ];
        assert_eq!(
            got,
            want.map(|(u, n)| (u, n.to_string())).to_vec(),
            "{got:?}"
        );

        let etc = TempDir::new();
        fs::write(etc.path().join("passwd"), input).unwrap();
        let mut users = UserNames::new(etc.path());
        assert_eq!(&*users.name(8), "first", "the first entry wins");
        assert_eq!(&*users.name(10), "bad\u{fffd}");
        assert_eq!(&*users.name(5), "5");
    }

    #[test]
    fn real_etc_passwd_names_root() {
        let mut users = UserNames::new("/etc");
        assert_eq!(&*users.name(0), "root");
    }
}
