//! The UI's state, what it fetches when, how keys change it, and the frame around the
//! screens (tab bar, banner, footer, overlays). No terminal here: tests drive all of it.

use crate::backend::{Backend, Setup};
use crate::keys::{self, Cmd, Scope};
use crate::screens::{config, diagnostics, help, logs, overview, pipeline, processes, services};
use crate::screens::{setup, Overlay};
use crate::theme::Theme;
use crate::widgets::TextInput;
use crate::Options;
use crossterm::event::{KeyCode, KeyEvent};
use lookout_api::{ActionResult, Check, HostHistory, Processes, Services, Status};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::time::{Duration, Instant};

/// The screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Host charts and the agent's state.
    Overview,
    /// The top processes.
    Processes,
    /// Pipeline components and their rates.
    Pipeline,
    /// Discovered services.
    Services,
    /// Log sources and a live tail.
    Logs,
    /// The configuration, and editing it.
    Config,
    /// The diagnose checks.
    Diagnostics,
}

impl Screen {
    /// Every screen, in tab order (the digit is the position plus one).
    pub const ALL: [Screen; 7] = [
        Screen::Overview,
        Screen::Processes,
        Screen::Pipeline,
        Screen::Services,
        Screen::Logs,
        Screen::Config,
        Screen::Diagnostics,
    ];

    /// Its name in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Processes => "Processes",
            Screen::Pipeline => "Pipeline",
            Screen::Services => "Services",
            Screen::Logs => "Logs",
            Screen::Config => "Config",
            Screen::Diagnostics => "Diagnostics",
        }
    }

    /// Its position in the tab bar, from 0.
    pub fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    pub(crate) fn scope(self) -> Scope {
        match self {
            Screen::Overview => Scope::Overview,
            Screen::Processes => Scope::Processes,
            Screen::Pipeline => Scope::Pipeline,
            Screen::Services => Scope::Services,
            Screen::Logs => Scope::Logs,
            Screen::Config => Scope::Config,
            Screen::Diagnostics => Scope::Diagnostics,
        }
    }
}

/// What the main loop should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed.
    None,
    /// Draw again.
    Redraw,
    /// Leave the UI.
    Quit,
    /// Suspend the UI and edit this configuration text in `$VISUAL`/`$EDITOR`, then hand the
    /// result to [`App::config_edited`].
    Edit(String),
}

/// A line for the operator in the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Msg {
    pub text: String,
    pub error: bool,
}

// How often each screen's data is fetched while it is shown (status follows
// `Options::refresh`).
pub(crate) const HOST_EVERY: Duration = Duration::from_secs(2);
pub(crate) const PROCESSES_EVERY: Duration = Duration::from_secs(2);
pub(crate) const SERVICES_EVERY: Duration = Duration::from_secs(5);
pub(crate) const SOURCES_EVERY: Duration = Duration::from_secs(2);
pub(crate) const TAIL_EVERY: Duration = Duration::from_millis(500);

/// When each feed was last fetched (`None`: fetch as soon as it is needed).
#[derive(Debug, Default)]
pub(crate) struct Timers {
    pub status: Option<Instant>,
    pub host: Option<Instant>,
    pub processes: Option<Instant>,
    pub services: Option<Instant>,
    pub sources: Option<Instant>,
    pub tail: Option<Instant>,
}

pub(crate) fn due(last: Option<Instant>, every: Duration, now: Instant) -> bool {
    last.is_none_or(|l| now.saturating_duration_since(l) >= every)
}

pub(crate) fn next_at(last: Option<Instant>, every: Duration, now: Instant) -> Instant {
    last.map_or(now, |l| l + every)
}

/// Stores `new` in `slot`; whether it differs from what was there.
pub(crate) fn replace<T: PartialEq>(slot: &mut Option<T>, new: T) -> bool {
    if slot.as_ref() == Some(&new) {
        return false;
    }
    *slot = Some(new);
    true
}

/// The last line of defence against agent-supplied text: a control character in any cell
/// (free text is cleaned where it is drawn, but names and ids are shown as they come)
/// becomes `?`, so no escape sequence ever reaches the terminal.
fn defuse(f: &mut Frame) {
    for cell in &mut f.buffer_mut().content {
        if cell.symbol().chars().any(char::is_control) {
            cell.set_symbol("?");
        }
    }
}

/// The whole UI: what is shown, what was fetched, and every screen's own state.
pub struct App {
    pub(crate) theme: Theme,
    pub(crate) refresh_every: Duration,
    pub(crate) screen: Screen,
    pub(crate) overlay: Option<Overlay>,
    pub(crate) msg: Option<Msg>,
    /// Each screen's search, by [`Screen::index`].
    pub(crate) filters: [String; 7],
    pub(crate) timers: Timers,
    pub(crate) status: Option<Status>,
    /// Why the last status call failed, while the agent does not answer.
    pub(crate) unreachable: Option<String>,
    /// The guided first run started the agent, which has not answered yet.
    pub(crate) waiting_for_agent: bool,
    pub(crate) host: Option<HostHistory>,
    pub(crate) processes: Option<Processes>,
    pub(crate) services: Option<Services>,
    pub(crate) checks: Option<Vec<Check>>,
    pub(crate) procs_ui: processes::State,
    pub(crate) pipeline: pipeline::State,
    pub(crate) services_ui: services::State,
    pub(crate) logs: logs::State,
    pub(crate) config: config::State,
    pub(crate) diag: diagnostics::State,
    pub(crate) wizard: Option<setup::Wizard>,
}

impl App {
    /// A UI showing the Overview, nothing fetched yet.
    pub fn new(opts: &Options) -> App {
        App {
            theme: Theme::new(opts.no_color),
            refresh_every: opts.refresh.max(Duration::from_millis(100)),
            screen: Screen::Overview,
            overlay: None,
            msg: None,
            filters: Default::default(),
            timers: Timers::default(),
            status: None,
            unreachable: None,
            waiting_for_agent: false,
            host: None,
            processes: None,
            services: None,
            checks: None,
            procs_ui: processes::State::default(),
            pipeline: pipeline::State::default(),
            services_ui: services::State::default(),
            logs: logs::State::default(),
            config: config::State::default(),
            diag: diagnostics::State::default(),
            wizard: None,
        }
    }

    /// Shows the guided first run before anything else (keys then go through
    /// [`App::handle_key_with`], which needs the [`Setup`]).
    pub fn start_setup(&mut self) {
        self.wizard = Some(setup::Wizard::default());
    }

    /// Whether the guided first run is showing.
    pub fn in_setup(&self) -> bool {
        self.wizard.is_some()
    }

    /// The screen shown.
    pub fn screen(&self) -> Screen {
        self.screen
    }

    /// The last message for the operator, if any.
    pub fn message(&self) -> Option<&str> {
        self.msg.as_ref().map(|m| m.text.as_str())
    }

    pub(crate) fn say(&mut self, text: impl Into<String>) {
        self.msg = Some(Msg {
            text: text.into(),
            error: false,
        });
    }

    pub(crate) fn fail(&mut self, text: impl Into<String>) {
        self.msg = Some(Msg {
            text: text.into(),
            error: true,
        });
    }

    /// Shows an action's answer; whether it was done.
    pub(crate) fn report(&mut self, r: Result<ActionResult, String>) -> bool {
        match r {
            Ok(r) if r.ok => {
                self.say(r.message);
                true
            }
            Ok(r) => {
                self.fail(r.message);
                false
            }
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    /// The current screen's search.
    pub(crate) fn filter(&self) -> &str {
        self.filters
            .get(self.screen.index())
            .map_or("", String::as_str)
    }

    // ---- fetching ----

    /// Fetches what the current screen needs and is due at `now`; whether anything shown
    /// changed (the caller redraws only then).
    pub fn refresh(&mut self, backend: &dyn Backend, now: Instant) -> bool {
        if self.wizard.is_some() {
            return false;
        }
        let mut changed = false;
        if due(self.timers.status, self.refresh_every, now) {
            self.timers.status = Some(now);
            changed |= self.fetch_status(backend, now);
        }
        // Other calls would fail the same way; the status call keeps probing.
        if self.unreachable.is_some() {
            return changed;
        }
        match self.screen {
            Screen::Overview if due(self.timers.host, HOST_EVERY, now) => {
                self.timers.host = Some(now);
                changed |= match backend.host() {
                    Ok(h) => self.fetched("host") | replace(&mut self.host, h),
                    Err(e) => self.fetch_failed("host", e),
                };
            }
            Screen::Processes if due(self.timers.processes, PROCESSES_EVERY, now) => {
                self.timers.processes = Some(now);
                changed |= match backend.processes() {
                    Ok(p) => self.fetched("processes") | replace(&mut self.processes, p),
                    Err(e) => self.fetch_failed("processes", e),
                };
            }
            Screen::Services if due(self.timers.services, SERVICES_EVERY, now) => {
                self.timers.services = Some(now);
                changed |= match backend.services() {
                    Ok(s) => self.fetched("services") | replace(&mut self.services, s),
                    Err(e) => self.fetch_failed("services", e),
                };
            }
            Screen::Logs => changed |= logs::refresh(self, backend, now),
            Screen::Config if self.config.stale => {
                self.config.stale = false;
                changed |= config::fetch(self, backend);
            }
            Screen::Diagnostics if self.diag.stale => {
                self.diag.stale = false;
                changed |= match backend.diagnose() {
                    Ok(c) => {
                        self.fetched("diagnose");
                        self.say("checks done");
                        replace(&mut self.checks, c);
                        true
                    }
                    Err(e) => self.fetch_failed("diagnose", e),
                };
            }
            _ => {}
        }
        changed
    }

    /// When [`App::refresh`] next has something to do (the main loop sleeps until then
    /// unless a key comes).
    pub fn next_refresh(&self, now: Instant) -> Instant {
        if self.wizard.is_some() {
            return now + Duration::from_secs(3600);
        }
        let status = next_at(self.timers.status, self.refresh_every, now);
        if self.unreachable.is_some() {
            return status;
        }
        let screen = match self.screen {
            Screen::Overview => next_at(self.timers.host, HOST_EVERY, now),
            Screen::Processes => next_at(self.timers.processes, PROCESSES_EVERY, now),
            Screen::Services => next_at(self.timers.services, SERVICES_EVERY, now),
            Screen::Logs => logs::next_refresh(self, now),
            Screen::Config if self.config.stale => now,
            Screen::Diagnostics if self.diag.stale => now,
            _ => status,
        };
        status.min(screen)
    }

    fn fetch_status(&mut self, backend: &dyn Backend, now: Instant) -> bool {
        match backend.status() {
            Ok(s) => {
                let back = self.unreachable.take().is_some() || self.waiting_for_agent;
                self.waiting_for_agent = false;
                self.pipeline.observe(&s.components, now);
                replace(&mut self.status, s) || back
            }
            Err(e) => {
                let changed = self.unreachable.as_deref() != Some(e.as_str());
                self.unreachable = Some(e);
                changed
            }
        }
    }

    /// A fetch of `what` worked: its earlier error, if still shown, goes; whether it did.
    pub(crate) fn fetched(&mut self, what: &str) -> bool {
        let stale = self
            .msg
            .as_ref()
            .is_some_and(|m| m.error && m.text.starts_with(&format!("{what}: ")));
        if stale {
            self.msg = None;
        }
        stale
    }

    /// Shows a failed fetch; whether the message changed.
    pub(crate) fn fetch_failed(&mut self, what: &str, e: String) -> bool {
        let text = format!("{what}: {e}");
        if self.msg.as_ref().is_some_and(|m| m.text == text) {
            return false;
        }
        self.fail(text);
        true
    }

    // ---- keys ----

    /// The scopes keys are looked up in now, most specific first.
    pub(crate) fn scopes(&self) -> Vec<Scope> {
        if let Some(w) = &self.wizard {
            return if w.typing() {
                vec![Scope::Always, Scope::Setup]
            } else {
                vec![Scope::Always, Scope::Setup, Scope::Lists]
            };
        }
        match &self.overlay {
            Some(Overlay::Help(_)) => return vec![Scope::Always, Scope::Help, Scope::Lists],
            Some(Overlay::Search(_) | Overlay::RedactPrompt { .. }) => {
                return vec![Scope::Always, Scope::Prompt]
            }
            Some(Overlay::AddSource(_)) => return vec![Scope::Always, Scope::Form],
            Some(Overlay::Confirm { .. }) => return vec![Scope::Always, Scope::Confirm],
            Some(Overlay::RedactResult(..)) => {
                return vec![Scope::Always, Scope::Popup, Scope::Lists]
            }
            None => {}
        }
        if self.screen == Screen::Config {
            if self.config.editing() {
                return vec![Scope::Always, Scope::Editor];
            }
            if self.config.reviewing() {
                return vec![Scope::Always, Scope::Review, Scope::Lists, Scope::Global];
            }
        }
        vec![
            Scope::Always,
            self.screen.scope(),
            Scope::Lists,
            Scope::Global,
        ]
    }

    /// Whether keys are text now (so `q` types a `q`).
    pub(crate) fn typing(&self) -> bool {
        if let Some(w) = &self.wizard {
            return w.typing();
        }
        match &self.overlay {
            Some(Overlay::Search(_) | Overlay::RedactPrompt { .. } | Overlay::AddSource(_)) => true,
            Some(_) => false,
            None => self.screen == Screen::Config && self.config.editing(),
        }
    }

    /// Handles a key (outside the guided first run).
    pub fn handle_key(&mut self, key: KeyEvent, backend: &dyn Backend) -> Action {
        self.handle_key_with(key, backend, None)
    }

    /// Handles a key; the guided first run, when showing, uses `setup`.
    pub fn handle_key_with(
        &mut self,
        key: KeyEvent,
        backend: &dyn Backend,
        setup: Option<&dyn Setup>,
    ) -> Action {
        let scopes = self.scopes();
        let cmd = if self.typing() {
            keys::lookup_typing(&scopes, &key)
        } else {
            keys::lookup(&scopes, &key)
        };
        if self.wizard.is_some() {
            return setup::on_key(self, cmd, &key, setup);
        }
        if cmd == Some(Cmd::Quit) {
            return Action::Quit;
        }
        if let Some(ov) = self.overlay.take() {
            return self.overlay_key(ov, cmd, &key, backend);
        }
        match cmd {
            Some(Cmd::Help) => {
                self.overlay = Some(Overlay::Help(Default::default()));
                Action::Redraw
            }
            Some(Cmd::Goto) => match key.code {
                KeyCode::Char(c) => {
                    let n = c.to_digit(10).unwrap_or(1) as usize;
                    let s = Screen::ALL.get(n.saturating_sub(1)).copied();
                    self.goto(s.unwrap_or(Screen::Overview))
                }
                _ => Action::None,
            },
            Some(Cmd::NextScreen) => {
                self.goto(Screen::ALL[(self.screen.index() + 1) % Screen::ALL.len()])
            }
            Some(Cmd::PrevScreen) => {
                let n = Screen::ALL.len();
                self.goto(Screen::ALL[(self.screen.index() + n - 1) % n])
            }
            Some(Cmd::Filter) if self.screen == Screen::Overview => {
                self.say("nothing to search on this screen");
                Action::Redraw
            }
            Some(Cmd::Filter) => {
                self.overlay = Some(Overlay::Search(TextInput::new(self.filter())));
                Action::Redraw
            }
            Some(c) => self.screen_cmd(c, &key, backend),
            None => self.screen_text(&key),
        }
    }

    fn screen_cmd(&mut self, cmd: Cmd, key: &KeyEvent, backend: &dyn Backend) -> Action {
        let action = match self.screen {
            Screen::Overview => Action::None,
            Screen::Processes => processes::on_cmd(self, cmd),
            Screen::Pipeline => pipeline::on_cmd(self, cmd),
            Screen::Services => services::on_cmd(self, cmd, backend),
            Screen::Logs => logs::on_cmd(self, cmd, backend),
            Screen::Config => config::on_cmd(self, cmd, key, backend),
            Screen::Diagnostics => diagnostics::on_cmd(self, cmd, backend),
        };
        // Esc that the screen did not use clears the search.
        if action == Action::None && cmd == Cmd::Back && !self.filter().is_empty() {
            self.set_filter(String::new());
            return Action::Redraw;
        }
        action
    }

    /// A key that is no command: text for the in-place editor, else nothing.
    fn screen_text(&mut self, key: &KeyEvent) -> Action {
        if self.screen == Screen::Config && config::on_text(self, key) {
            return Action::Redraw;
        }
        Action::None
    }

    pub(crate) fn set_filter(&mut self, f: String) {
        let i = self.screen.index();
        if let Some(slot) = self.filters.get_mut(i) {
            *slot = f;
        }
        // The rows change under the cursor: start from the top of what matches.
        match self.screen {
            Screen::Processes => self.procs_ui.cursor.pos = 0,
            Screen::Pipeline => self.pipeline.cursor.pos = 0,
            Screen::Services => self.services_ui.cursor.pos = 0,
            Screen::Diagnostics => self.diag.cursor.pos = 0,
            Screen::Config => self.config.scroll.top = 0,
            Screen::Logs => self.logs.back = 0,
            Screen::Overview => {}
        }
    }

    /// Switches to `s`, marking what it shows on entry as to be fetched.
    pub fn goto(&mut self, s: Screen) -> Action {
        if s == self.screen {
            return Action::None;
        }
        self.screen = s;
        match s {
            Screen::Config => self.config.stale = true,
            Screen::Diagnostics => self.diag.stale = true,
            _ => {}
        }
        Action::Redraw
    }

    fn overlay_key(
        &mut self,
        ov: Overlay,
        cmd: Option<Cmd>,
        key: &KeyEvent,
        backend: &dyn Backend,
    ) -> Action {
        match ov {
            Overlay::Help(mut scroll) => {
                match cmd {
                    Some(Cmd::Back) => return Action::Redraw,
                    Some(c) if scroll.apply(c, help::line_count()) => {}
                    _ => {
                        self.overlay = Some(Overlay::Help(scroll));
                        return Action::None;
                    }
                }
                self.overlay = Some(Overlay::Help(scroll));
                Action::Redraw
            }
            Overlay::Search(mut input) => match cmd {
                Some(Cmd::Submit) => Action::Redraw,
                Some(Cmd::Back) => {
                    self.set_filter(String::new());
                    Action::Redraw
                }
                _ => {
                    let edited = input.handle(key);
                    if edited {
                        self.set_filter(input.text.clone());
                    }
                    self.overlay = Some(Overlay::Search(input));
                    if edited {
                        Action::Redraw
                    } else {
                        Action::None
                    }
                }
            },
            other => logs::on_overlay(self, other, cmd, key, backend),
        }
    }

    /// The text `$EDITOR` left: checked against the agent and shown as a diff to confirm.
    pub fn config_edited(&mut self, before: &str, after: &str, backend: &dyn Backend) {
        config::edited(self, before, after, backend);
    }

    // ---- drawing ----

    /// Draws the whole UI.
    pub fn render(&self, f: &mut Frame) {
        let area = f.area();
        if let Some(w) = &self.wizard {
            setup::render(self, w, f, area);
            defuse(f);
            return;
        }
        let [top, body, foot] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(area);
        self.render_tabs(f, top);
        let body = self.render_banner(f, body);
        match self.screen {
            Screen::Overview => overview::render(self, f, body),
            Screen::Processes => processes::render(self, f, body),
            Screen::Pipeline => pipeline::render(self, f, body),
            Screen::Services => services::render(self, f, body),
            Screen::Logs => logs::render(self, f, body),
            Screen::Config => config::render(self, f, body),
            Screen::Diagnostics => diagnostics::render(self, f, body),
        }
        match &self.overlay {
            Some(Overlay::Help(scroll)) => help::render(self, scroll, f, area),
            Some(Overlay::Search(_)) | None => {}
            Some(other) => logs::render_overlay(self, other, f, body),
        }
        self.render_footer(f, foot);
        defuse(f);
    }

    fn render_tabs(&self, f: &mut Frame, area: Rect) {
        let mut spans = vec![Span::raw(" ")];
        for (i, s) in Screen::ALL.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(" "));
            }
            let style = if *s == self.screen {
                self.theme.selected().patch(self.theme.bold())
            } else {
                self.theme.text()
            };
            spans.push(Span::styled(format!("{} {}", i + 1, s.title()), style));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    /// The agent's reachability, above the screen while it does not answer; the area left.
    fn render_banner(&self, f: &mut Frame, area: Rect) -> Rect {
        let text = match (&self.unreachable, self.waiting_for_agent) {
            (_, true) => Span::styled(
                "waiting for the agent to start...".to_string(),
                self.theme.warn(),
            ),
            (Some(e), false) => Span::styled(
                format!("agent not reachable: {e} (retrying)"),
                self.theme.error(),
            ),
            (None, false) => return area,
        };
        let [banner, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        f.render_widget(Paragraph::new(Line::from(text)), banner);
        rest
    }

    fn render_footer(&self, f: &mut Frame, area: Rect) {
        if let Some(Overlay::Search(input)) = &self.overlay {
            let prompt = "/ search: ";
            let width = area.width.saturating_sub(prompt.len() as u16 + 1);
            let (shown, col) = input.view(width, None);
            let line = Line::from(vec![
                Span::styled(prompt, self.theme.bold()),
                Span::raw(shown),
            ]);
            f.render_widget(Paragraph::new(line), area);
            f.set_cursor_position(Position::new(area.x + prompt.len() as u16 + col, area.y));
            return;
        }
        let width = usize::from(area.width);
        let msg = self.msg.as_ref().map(|m| {
            let text = crate::fmt::ellipsize(&m.text, width.saturating_sub(12).max(10));
            let style = if m.error {
                self.theme.error()
            } else {
                self.theme.ok()
            };
            (text, style)
        });
        let room = width.saturating_sub(msg.as_ref().map_or(0, |(t, _)| t.chars().count() + 2));
        let shown: Vec<Scope> = self
            .scopes()
            .into_iter()
            .filter(|s| !matches!(s, Scope::Always | Scope::Lists))
            .collect();
        let mut items = keys::footer(&shown);
        let width_of = |(l, w): &(&str, &str)| l.chars().count() + w.chars().count() + 3;
        // Too many for the line: drop from the end, but keep `? help`, which lists them all.
        while items.iter().map(width_of).sum::<usize>() > room {
            match items.iter().rposition(|(l, _)| *l != "?") {
                Some(i) => {
                    items.remove(i);
                }
                None => break,
            }
        }
        let mut spans = Vec::new();
        let mut used = 0;
        for item in &items {
            let (label, what) = item;
            spans.push(Span::styled(format!(" {label}"), self.theme.bold()));
            spans.push(Span::styled(format!(" {what} "), self.theme.dim()));
            used += width_of(item);
        }
        if let Some((text, style)) = msg {
            spans.push(Span::raw(" ".repeat(room.saturating_sub(used) + 1)));
            spans.push(Span::styled(text, style));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), area);
    }
}
