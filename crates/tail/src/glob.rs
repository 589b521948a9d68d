//! A small path glob: `*`, `?`, `[abc]`/`[a-z]`/`[!abc]` within one path component, and `**` as a
//! whole component for any number (zero or more) of directories.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One component of a parsed glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Comp {
    /// A name without wildcards: joined directly, no directory listing needed.
    Literal(OsString),
    /// A name with `*`, `?` or `[...]`: needs the directory listed.
    Wild(Vec<u8>),
    /// `**`: zero or more directories.
    AnyDirs,
}

/// A glob that is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobError {
    /// The pattern is empty.
    Empty,
    /// An include pattern must be an absolute path.
    NotAbsolute(String),
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GlobError::Empty => write!(f, "an empty pattern matches nothing"),
            GlobError::NotAbsolute(p) => write!(f, "pattern {p:?} must be an absolute path"),
        }
    }
}

impl std::error::Error for GlobError {}

/// A parsed glob pattern over whole paths.
///
/// An absolute pattern matches whole paths; a relative pattern without `/` (only allowed for
/// excludes, e.g. `*.gz`) matches the file name alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pub(crate) comps: Vec<Comp>,
    pub(crate) absolute: bool,
    text: String,
}

impl Glob {
    /// Parse `pattern`; it must be absolute (starting with `/`).
    pub fn absolute(pattern: &str) -> Result<Glob, GlobError> {
        let g = Glob::parse(pattern)?;
        if !g.absolute {
            return Err(GlobError::NotAbsolute(pattern.to_string()));
        }
        Ok(g)
    }

    /// Parse `pattern`: absolute (whole path) or relative (matched against the file name only,
    /// when it has no `/`; otherwise against the path's trailing components).
    pub fn parse(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        let absolute = pattern.starts_with('/');
        let comps = pattern
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(|c| {
                if c == "**" {
                    Comp::AnyDirs
                } else if c.bytes().any(|b| matches!(b, b'*' | b'?' | b'[')) {
                    Comp::Wild(c.as_bytes().to_vec())
                } else {
                    Comp::Literal(OsString::from(c))
                }
            })
            .collect::<Vec<_>>();
        if comps.is_empty() {
            return Err(GlobError::Empty);
        }
        Ok(Glob {
            comps,
            absolute,
            text: pattern.to_string(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `path` matches.
    pub fn matches(&self, path: &Path) -> bool {
        let names: Vec<&OsStr> = path
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(n) => Some(n),
                _ => None,
            })
            .collect();
        if self.absolute {
            match_comps(&self.comps, &names)
        } else {
            // Relative: match against the trailing components.
            let k = self.comps.len();
            if self.comps.contains(&Comp::AnyDirs) {
                (0..=names.len()).any(|s| match_comps(&self.comps, &names[s..]))
            } else {
                names.len() >= k && match_comps(&self.comps, &names[names.len() - k..])
            }
        }
    }
}

pub(crate) fn comp_matches(c: &Comp, name: &OsStr) -> bool {
    match c {
        Comp::Literal(l) => l.as_os_str() == name,
        Comp::Wild(p) => wild_match(p, name.as_bytes()),
        Comp::AnyDirs => true,
    }
}

fn match_comps(pats: &[Comp], names: &[&OsStr]) -> bool {
    match pats.split_first() {
        None => names.is_empty(),
        Some((Comp::AnyDirs, rest)) => {
            match_comps(rest, names) || (!names.is_empty() && match_comps(pats, &names[1..]))
        }
        Some((c, rest)) => match names.split_first() {
            Some((n, nrest)) => comp_matches(c, n) && match_comps(rest, nrest),
            None => false,
        },
    }
}

/// Match one component: `*` any run of bytes, `?` one byte, `[...]` a byte class. An unclosed `[`
/// is a literal `[`.
pub(crate) fn wild_match(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        let mut advanced = false;
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    advanced = true;
                }
                b'[' => match class_match(p, pi, s[si]) {
                    Some((true, next)) => {
                        pi = next;
                        si += 1;
                        advanced = true;
                    }
                    Some((false, _)) => {}
                    None => {
                        if s[si] == b'[' {
                            pi += 1;
                            si += 1;
                            advanced = true;
                        }
                    }
                },
                c => {
                    if c == s[si] {
                        pi += 1;
                        si += 1;
                        advanced = true;
                    }
                }
            }
        }
        if advanced {
            continue;
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// `p[start]` is `[`: whether `c` is in the class, and the index after `]`; None if unclosed.
fn class_match(p: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while i < p.len() {
        let b = p[i];
        if b == b']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            if b <= c && c <= p[i + 2] {
                found = true;
            }
            i += 3;
        } else {
            if b == c {
                found = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn component_wildcards() {
        assert!(wild_match(b"*.log", b"app.log"));
        assert!(!wild_match(b"*.log", b"app.log.1"));
        assert!(wild_match(b"app.log*", b"app.log.1"));
        assert!(wild_match(b"a?c", b"abc"));
        assert!(!wild_match(b"a?c", b"ac"));
        assert!(wild_match(b"[abc]x", b"bx"));
        assert!(!wild_match(b"[abc]x", b"dx"));
        assert!(wild_match(b"[!abc]x", b"dx"));
        assert!(wild_match(b"f[0-9]", b"f7"));
        assert!(!wild_match(b"f[0-9]", b"fa"));
        assert!(wild_match(b"[]]", b"]"));
        assert!(wild_match(b"a[b", b"a[b"));
        assert!(wild_match(b"*a*b*", b"xxaxxbxx"));
    }

    #[test]
    fn path_globs() {
        let g = Glob::absolute("/var/log/**/*.log").unwrap();
        assert!(g.matches(Path::new("/var/log/a.log")));
        assert!(g.matches(Path::new("/var/log/x/y/a.log")));
        assert!(!g.matches(Path::new("/var/lib/a.log")));
        assert!(!g.matches(Path::new("/var/log/a.txt")));
        let g = Glob::absolute("/var/*/app.log").unwrap();
        assert!(g.matches(Path::new("/var/log/app.log")));
        assert!(!g.matches(Path::new("/var/log/x/app.log")));
        assert!(Glob::absolute("var/log").is_err());
        assert!(Glob::absolute("").is_err());
        let rel = Glob::parse("*.gz").unwrap();
        assert!(rel.matches(Path::new("/var/log/app.log.1.gz")));
        assert!(!rel.matches(Path::new("/var/log/app.log")));
    }
}
