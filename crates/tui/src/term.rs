//! The real terminal: raw mode and the alternate screen on the way in, and always back to
//! normal on the way out (return, error or panic); suspending for `$EDITOR`.

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use std::io::{self, Write};
use std::panic::PanicHookInfo;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Puts the terminal in the UI's mode.
pub(crate) fn enter() -> io::Result<()> {
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, Hide)
}

/// Puts the terminal back. Errors are ignored: this runs on every way out, some of them
/// already failing, and doing every step matters more than reporting one.
pub(crate) fn leave() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
    let _ = io::stdout().flush();
}

/// Restores the terminal when dropped (on return, on `?`, and while unwinding).
pub(crate) struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        leave();
    }
}

type Hook = Arc<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// A panic hook that restores the terminal before the previous hook prints the message
/// (which would otherwise land in the alternate screen, or be mangled by raw mode); the
/// previous hook comes back when this is dropped.
pub(crate) struct PanicHook {
    prev: Hook,
}

impl PanicHook {
    pub(crate) fn install() -> PanicHook {
        let prev: Hook = Arc::from(std::panic::take_hook());
        let chained = prev.clone();
        std::panic::set_hook(Box::new(move |info| {
            leave();
            chained(info);
        }));
        PanicHook { prev }
    }
}

impl Drop for PanicHook {
    fn drop(&mut self) {
        // set_hook panics on a panicking thread; the restoring hook is harmless to keep then.
        if !std::thread::panicking() {
            let prev = self.prev.clone();
            std::panic::set_hook(Box::new(move |info| prev(info)));
        }
    }
}

/// The editor to run: `$VISUAL`, else `$EDITOR`, else `vi`.
fn editor() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string())
}

fn temp_path() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!(
        "lookout-config-{}-{nanos}.yaml",
        std::process::id()
    ))
}

fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // Owner-only and never an existing file: the temporary directory is shared.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// Edits `text` in the operator's editor (`$VISUAL`, `$EDITOR`, else `vi`) on an owner-only
/// temporary file; the text it left. The terminal is the editor's meanwhile: the caller
/// suspends any UI first.
pub fn edit_text(text: &str) -> io::Result<String> {
    let path = temp_path();
    write_private(&path, text)?;
    // Through the shell, as git does: `$EDITOR` may carry arguments (`code --wait`).
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} \"$1\"", editor()))
        .arg("sh")
        .arg(&path)
        .status();
    let result = status.and_then(|s| {
        if s.success() {
            std::fs::read_to_string(&path)
        } else {
            Err(io::Error::other(format!("the editor exited with {s}")))
        }
    });
    let _ = std::fs::remove_file(&path);
    result
}

/// Edits `text` in the operator's editor with the UI suspended; the text it left.
pub(crate) fn edit_externally(text: &str) -> io::Result<String> {
    leave();
    let result = edit_text(text);
    enter()?;
    result
}
