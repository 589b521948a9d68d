//! The crate's two error types: [`ParseError`] from the pure parsers and [`ReadError`] from
//! [`ProcFs`](crate::ProcFs), sorted by what the caller should do about them.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Why a parser rejected its input: a message and, for line-oriented files, the 1-based line.
///
/// Parsers skip single malformed lines of line-oriented files; this error means nothing usable
/// was found (or a required single-line value was malformed). It usually points at a kernel format
/// this crate does not know yet, so it is worth reporting with the file name
/// ([`ReadError::Parse`] carries it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    message: Cow<'static, str>,
    line: Option<usize>,
}

impl ParseError {
    /// An error about the input as a whole.
    pub(crate) fn new(message: impl Into<Cow<'static, str>>) -> Self {
        ParseError {
            message: message.into(),
            line: None,
        }
    }

    /// An error about one line (1-based).
    pub(crate) fn at_line(line: usize, message: impl Into<Cow<'static, str>>) -> Self {
        ParseError {
            message: message.into(),
            line: Some(line),
        }
    }

    /// What is wrong, without the line number.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The 1-based line the error is about, where one line is to blame.
    pub fn line(&self) -> Option<usize> {
        self.line
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// Why [`ProcFs`](crate::ProcFs) could not deliver a value, sorted by what the caller should do.
///
/// The message names the path; the cause (an [`io::Error`] or a [`ParseError`]) is the
/// [`source`](std::error::Error::source), not repeated in the message, so an error chain
/// prints each part once.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file does not exist: the process vanished (also reported for `ESRCH`), or the kernel
    /// lacks the feature (e.g. `/proc/net/tcp6` without IPv6). Usually counted, not logged.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The file that was opened.
        path: PathBuf,
    },
    /// The file exists but this process may not read it (another user's process under
    /// `hidepid`, a hardened kernel): worth one warning, then skipping.
    #[error("permission denied reading {}", path.display())]
    PermissionDenied {
        /// The file that was opened.
        path: PathBuf,
    },
    /// Any other I/O failure.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file that was read.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The file was read but its contents are not understood: a bug or an unknown kernel format.
    #[error("cannot parse {}", path.display())]
    Parse {
        /// The file that was parsed.
        path: PathBuf,
        /// What the parser rejected, with the line where relevant.
        #[source]
        error: ParseError,
    },
}

impl ReadError {
    /// Sorts an I/O error on `path` into the variants above.
    pub(crate) fn from_io(path: &Path, err: io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::NotFound => ReadError::NotFound { path: path.into() },
            io::ErrorKind::PermissionDenied => ReadError::PermissionDenied { path: path.into() },
            // A /proc/<pid> file whose process exited after it was opened.
            _ if err.raw_os_error() == Some(libc::ESRCH) => {
                ReadError::NotFound { path: path.into() }
            }
            _ => ReadError::Io {
                path: path.into(),
                source: err,
            },
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::NotFound { path }
            | ReadError::PermissionDenied { path }
            | ReadError::Io { path, .. }
            | ReadError::Parse { path, .. } => path,
        }
    }

    /// Whether this is [`ReadError::NotFound`] (a vanished process or an absent feature).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound { .. })
    }
}
