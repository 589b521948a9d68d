//! lookout's terminal UI (`lookout tui`): a few screens over the agent's control API,
//! drawn with ratatui.
//!
//! Everything but the terminal lives in [`App`]: it fetches through a [`Backend`] only what
//! the current screen needs when it is due, handles keys, and draws into any ratatui frame,
//! so tests drive it with a fake backend and a test terminal. [`run`] adds the real terminal
//! and a loop that sleeps until the next key or refresh and draws only when something changed.

pub mod backend;
pub mod fmt;
pub mod keys;

mod app;
mod editor;
mod screens;
mod term;
mod theme;
mod widgets;

#[cfg(test)]
mod tests;

pub use app::{Action, App, Screen};
pub use backend::{Backend, Destination, Setup, SetupChoice, SourceOp};
pub use term::edit_text;

use crossterm::event::{self, Event, KeyEventKind};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io;
use std::time::{Duration, Instant};

/// How the UI looks and how often it refreshes.
#[derive(Debug, Clone)]
pub struct Options {
    /// No colours at all (bold and reverse only), as `NO_COLOR` asks.
    pub no_color: bool,
    /// How often the agent's status is fetched (other data follows its own pace).
    pub refresh: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            no_color: false,
            refresh: Duration::from_secs(1),
        }
    }
}

impl Options {
    /// The defaults, with `no_color` set when `NO_COLOR` is set and not empty.
    pub fn from_env() -> Options {
        Options {
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            ..Options::default()
        }
    }
}

/// Runs the UI on the terminal until the operator quits. `setup` is offered (guided first run)
/// when `first_run` is true.
pub fn run(
    backend: &dyn Backend,
    setup: Option<&dyn Setup>,
    first_run: bool,
    opts: Options,
) -> io::Result<()> {
    let mut app = App::new(&opts);
    if first_run && setup.is_some() {
        app.start_setup();
    }
    let _hook = term::PanicHook::install();
    // Created before entering so that a half-done enter is undone too.
    let _restore = term::Restore;
    term::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    main_loop(&mut terminal, &mut app, backend, setup)
}

/// Keys read in one go before drawing (a paste or key repeat draws once, not per key).
const MAX_KEYS_PER_FRAME: usize = 64;

fn main_loop<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    backend: &dyn Backend,
    setup: Option<&dyn Setup>,
) -> io::Result<()> {
    let mut dirty = true;
    loop {
        // Draw what a key changed before fetching: a slow call (diagnose) then shows
        // "running..." instead of a frozen screen.
        if dirty {
            terminal.draw(|f| app.render(f))?;
            dirty = false;
        }
        if app.refresh(backend, Instant::now()) {
            terminal.draw(|f| app.render(f))?;
        }
        let now = Instant::now();
        // The floor keeps a feed that is due again at once from spinning the CPU.
        let wait = app
            .next_refresh(now)
            .saturating_duration_since(now)
            .max(Duration::from_millis(20));
        if !event::poll(wait)? {
            continue;
        }
        for _ in 0..MAX_KEYS_PER_FRAME {
            match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    match app.handle_key_with(k, backend, setup) {
                        Action::Quit => return Ok(()),
                        Action::None => {}
                        Action::Redraw => dirty = true,
                        Action::Edit(text) => {
                            match term::edit_externally(&text) {
                                Ok(new) => app.config_edited(&text, &new, backend),
                                Err(e) => app.fail(format!("editing: {e}")),
                            }
                            // The screen was the editor's: draw all of it again.
                            terminal.clear()?;
                            dirty = true;
                        }
                    }
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
            if !event::poll(Duration::ZERO)? {
                break;
            }
        }
    }
}
