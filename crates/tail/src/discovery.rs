//! Discovery: include and exclude globs → the regular files that match now.

use crate::glob::{comp_matches, Comp, Glob, GlobError};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A regular file found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    /// The path it was found at (the first in sort order when several paths reach one file).
    pub path: PathBuf,
    /// Device of the file (symlinks followed).
    pub dev: u64,
    /// Inode of the file (symlinks followed).
    pub ino: u64,
    /// Size at scan time.
    pub size: u64,
}

/// The result of one [`Discovery::scan`].
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Matching regular files, one per (device, inode), sorted by path.
    pub files: Vec<FoundFile>,
    /// Directories that could not be listed (permission or I/O errors; missing ones are not
    /// counted).
    pub unreadable_dirs: u64,
}

/// Include and exclude globs over absolute paths.
///
/// A scan lists only the directories the include globs need: literal components are joined
/// without listing, a wildcard component lists one directory, `**` walks the subtree. Symbolic
/// links are followed (to files and directories), and a directory reached twice through links
/// during one `**` walk is walked once, so link loops end.
#[derive(Debug, Clone)]
pub struct Discovery {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
}

impl Discovery {
    /// Build from include patterns (absolute) and exclude patterns (absolute, or a bare file-name
    /// pattern such as `*.gz`).
    pub fn new<S: AsRef<str>>(include: &[S], exclude: &[S]) -> Result<Discovery, GlobError> {
        let include = include
            .iter()
            .map(|p| Glob::absolute(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let exclude = exclude
            .iter()
            .map(|p| Glob::parse(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Discovery { include, exclude })
    }

    /// Whether `path` is excluded.
    pub fn is_excluded(&self, path: &Path) -> bool {
        self.exclude.iter().any(|g| g.matches(path))
    }

    /// The regular files matching now.
    pub fn scan(&self) -> Scan {
        let mut found: BTreeMap<PathBuf, FoundFile> = BTreeMap::new();
        let mut unreadable = 0u64;
        for g in &self.include {
            let mut visited = HashSet::new();
            walk(
                PathBuf::from("/"),
                &g.comps,
                &mut visited,
                &mut found,
                &mut unreadable,
            );
        }
        let mut seen = HashSet::new();
        let files = found
            .into_values()
            .filter(|f| !self.is_excluded(&f.path))
            .filter(|f| seen.insert((f.dev, f.ino)))
            .collect();
        Scan {
            files,
            unreadable_dirs: unreadable,
        }
    }
}

fn list(dir: &Path, unreadable: &mut u64) -> Vec<fs::DirEntry> {
    match fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(Result::ok).collect(),
        Err(e) => {
            if e.kind() != io::ErrorKind::NotFound && e.raw_os_error() != Some(20) {
                // Not "missing" and not ENOTDIR: a directory we may not read.
                *unreadable += 1;
            }
            Vec::new()
        }
    }
}

fn walk(
    dir: PathBuf,
    comps: &[Comp],
    visited: &mut HashSet<(u64, u64)>,
    out: &mut BTreeMap<PathBuf, FoundFile>,
    unreadable: &mut u64,
) {
    let Some((first, rest)) = comps.split_first() else {
        if let Ok(m) = fs::metadata(&dir) {
            if m.is_file() {
                out.entry(dir.clone()).or_insert(FoundFile {
                    path: dir,
                    dev: m.dev(),
                    ino: m.ino(),
                    size: m.len(),
                });
            }
        }
        return;
    };
    match first {
        Comp::Literal(name) => walk(dir.join(name), rest, visited, out, unreadable),
        Comp::Wild(_) => {
            for e in list(&dir, unreadable) {
                if comp_matches(first, &e.file_name()) {
                    walk(e.path(), rest, visited, out, unreadable);
                }
            }
        }
        Comp::AnyDirs => {
            match fs::metadata(&dir) {
                Ok(m) if m.is_dir() => {
                    if !visited.insert((m.dev(), m.ino())) {
                        return;
                    }
                }
                _ => return,
            }
            // Zero directories.
            walk(dir.clone(), rest, visited, out, unreadable);
            // One or more.
            for e in list(&dir, unreadable) {
                let p = e.path();
                if fs::metadata(&p).map(|m| m.is_dir()).unwrap_or(false) {
                    walk(p, comps, visited, out, unreadable);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scans_only_matching_regular_files() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        fs::write(root.join("top.log"), "x\n").unwrap();
        fs::write(root.join("a/one.log"), "x\n").unwrap();
        fs::write(root.join("a/b/c/deep.log"), "x\n").unwrap();
        fs::write(root.join("a/b/skip.txt"), "x\n").unwrap();
        fs::write(root.join("a/b/old.log.gz"), "x\n").unwrap();
        fs::create_dir(root.join("a/dir.log")).unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("a/b/loop")).unwrap();
        let inc = format!("{}/**/*.log*", root.display());
        let disc = Discovery::new(&[inc.as_str()], &["*.gz"]).unwrap();
        let scan = disc.scan();
        let names: Vec<_> = scan
            .files
            .iter()
            .map(|f| f.path.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![
                PathBuf::from("a/b/c/deep.log"),
                PathBuf::from("a/one.log"),
                PathBuf::from("top.log")
            ]
        );
        assert_eq!(scan.unreadable_dirs, 0);
        let lit = format!("{}/a/one.log", root.display());
        let disc = Discovery::new(&[lit.as_str()], &[]).unwrap();
        assert_eq!(disc.scan().files.len(), 1);
        assert!(Discovery::new(&["relative/*.log"], &[]).is_err());
    }
}
