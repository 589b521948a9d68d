//! Config: the configuration file (or the effective configuration), and changing it: edit
//! (in `$EDITOR` or in place), check with the agent, review the diff, apply.

use crate::app::{replace, Action, App};
use crate::backend::Backend;
use crate::editor::TextArea;
use crate::keys::Cmd;
use crate::widgets::{clean, found, highlight, needle, panel, title_with_filter, Scroll};
use crossterm::event::KeyEvent;
use lookout_api::{ConfigCheck, ConfigView};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// What the Config screen is doing.
#[derive(Debug, Default)]
pub(crate) enum Mode {
    /// Showing the configuration.
    #[default]
    View,
    /// Editing it in place.
    Editing(TextArea),
    /// Showing a checked change, to apply or discard.
    Review {
        yaml: String,
        check: ConfigCheck,
        scroll: Scroll,
    },
}

/// The Config screen's state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub view: Option<ConfigView>,
    /// To be fetched (on entering the screen, after applying).
    pub stale: bool,
    /// Showing the effective configuration rather than the file.
    pub effective: bool,
    pub scroll: Scroll,
    pub mode: Mode,
}

impl State {
    pub fn editing(&self) -> bool {
        matches!(self.mode, Mode::Editing(_))
    }

    pub fn reviewing(&self) -> bool {
        matches!(self.mode, Mode::Review { .. })
    }

    /// The text shown in view mode.
    fn text(&self) -> &str {
        match &self.view {
            Some(v) if self.effective => &v.effective_yaml,
            Some(v) => &v.source_yaml,
            None => "",
        }
    }
}

pub(crate) fn fetch(app: &mut App, backend: &dyn Backend) -> bool {
    match backend.config() {
        Ok(v) => app.fetched("config") | replace(&mut app.config.view, v),
        Err(e) => app.fetch_failed("config", e),
    }
}

/// Why the configuration cannot be edited here, if it cannot.
fn not_editable(view: Option<&ConfigView>) -> Option<String> {
    match view {
        None => Some("the configuration has not been read yet".to_string()),
        Some(v) if v.editable => None,
        Some(ConfigView { path: None, .. }) => Some(
            "not editable: the agent runs its embedded default configuration (there is no \
             file); start it with a configuration file to edit it here"
                .to_string(),
        ),
        Some(ConfigView { path: Some(p), .. }) => Some(format!(
            "not editable: the agent does not write {p}; edit it there and reload the agent"
        )),
    }
}

/// The lines shown in view mode: (line number, text), searched.
fn view_lines(app: &App) -> Vec<(usize, &str)> {
    let n = needle(app.filter());
    app.config
        .text()
        .lines()
        .enumerate()
        .filter(|(_, l)| found(l, n.as_deref()))
        .map(|(i, l)| (i + 1, l))
        .collect()
}

fn review_lines(app: &App, check: &ConfigCheck) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = Vec::new();
    if let Some(e) = &check.error {
        lines.extend(
            e.lines()
                .map(|l| Line::from(Span::styled(clean(l), t.error()))),
        );
        lines.push(Line::from(""));
    }
    if check.diff.trim().is_empty() {
        lines.push(Line::from(Span::styled("no difference", t.dim())));
    }
    for l in check.diff.lines() {
        let style = if l.starts_with("+++") || l.starts_with("---") || l.starts_with("@@") {
            t.header()
        } else if l.starts_with('+') {
            t.added()
        } else if l.starts_with('-') {
            t.removed()
        } else {
            t.text()
        };
        lines.push(Line::from(Span::styled(clean(l), style)));
    }
    lines
}

pub(crate) fn on_cmd(app: &mut App, cmd: Cmd, key: &KeyEvent, backend: &dyn Backend) -> Action {
    // The mode is taken out so that handling it can use the whole app; every arm puts back
    // the mode that follows.
    match std::mem::take(&mut app.config.mode) {
        Mode::Editing(area) => match cmd {
            Cmd::Validate => {
                let yaml = area.text();
                check(app, yaml, Some(area), backend);
                Action::Redraw
            }
            Cmd::Back => {
                app.say("edit cancelled");
                Action::Redraw
            }
            _ => {
                let mut area = area;
                let edited = area.handle(key);
                app.config.mode = Mode::Editing(area);
                if edited {
                    Action::Redraw
                } else {
                    Action::None
                }
            }
        },
        Mode::Review {
            yaml,
            check,
            mut scroll,
        } => match cmd {
            Cmd::Apply => {
                apply(app, yaml, check, backend);
                Action::Redraw
            }
            Cmd::Back => {
                app.say("change discarded");
                Action::Redraw
            }
            Cmd::EditInPlace => {
                app.config.mode = Mode::Editing(TextArea::new(&yaml));
                Action::Redraw
            }
            c => {
                let moved = scroll.apply(c, review_lines(app, &check).len());
                app.config.mode = Mode::Review {
                    yaml,
                    check,
                    scroll,
                };
                if moved {
                    Action::Redraw
                } else {
                    Action::None
                }
            }
        },
        Mode::View => match cmd {
            Cmd::Effective => {
                app.config.effective = !app.config.effective;
                app.config.scroll.top = 0;
                Action::Redraw
            }
            Cmd::EditExternal | Cmd::EditInPlace => {
                if let Some(why) = not_editable(app.config.view.as_ref()) {
                    app.fail(why);
                    return Action::Redraw;
                }
                let text = app
                    .config
                    .view
                    .as_ref()
                    .map(|v| v.source_yaml.clone())
                    .unwrap_or_default();
                if cmd == Cmd::EditExternal {
                    return Action::Edit(text);
                }
                app.config.mode = Mode::Editing(TextArea::new(&text));
                Action::Redraw
            }
            c => {
                let total = view_lines(app).len();
                if app.config.scroll.apply(c, total) {
                    Action::Redraw
                } else {
                    Action::None
                }
            }
        },
    }
}

/// Text typed into the in-place editor (keys that are no command).
pub(crate) fn on_text(app: &mut App, key: &KeyEvent) -> bool {
    match &mut app.config.mode {
        Mode::Editing(area) => area.handle(key),
        _ => false,
    }
}

/// `$EDITOR` came back with `after`.
pub(crate) fn edited(app: &mut App, before: &str, after: &str, backend: &dyn Backend) {
    if before == after {
        app.say("no change: the file was left as it was");
        return;
    }
    check(app, after.to_string(), None, backend);
}

/// Asks the agent about `yaml` and shows the result to review. `area` is the in-place
/// editor it came from, kept open when the agent cannot be asked.
fn check(app: &mut App, yaml: String, area: Option<TextArea>, backend: &dyn Backend) {
    let current = app
        .config
        .view
        .as_ref()
        .map_or("", |v| v.source_yaml.as_str());
    if yaml == current {
        app.say("no change");
        return;
    }
    match backend.config_change(&yaml, false) {
        Ok(check) => {
            if check.valid {
                app.say("the change is valid: y applies it, n discards it");
            } else {
                app.fail("the change is not valid: i edits it again, n discards it");
            }
            app.config.mode = Mode::Review {
                yaml,
                check,
                scroll: Scroll::default(),
            };
        }
        Err(e) => {
            app.fail(format!("checking the change: {e}"));
            if let Some(area) = area {
                app.config.mode = Mode::Editing(area);
            }
        }
    }
}

fn apply(app: &mut App, yaml: String, check: ConfigCheck, backend: &dyn Backend) {
    if !check.valid {
        app.fail("this change is not valid: i edits it again, n discards it");
        app.config.mode = Mode::Review {
            yaml,
            check,
            scroll: Scroll::default(),
        };
        return;
    }
    match backend.config_change(&yaml, true) {
        Ok(c) if c.applied => {
            let hash = c.config_hash.unwrap_or_default();
            app.say(format!("applied: the agent runs configuration {hash}"));
            app.config.stale = true;
        }
        Ok(c) => {
            let why = c.error.clone().unwrap_or_else(|| "not applied".to_string());
            app.fail(format!("not applied: {why}"));
            app.config.mode = Mode::Review {
                yaml,
                check: c,
                scroll: Scroll::default(),
            };
        }
        Err(e) => {
            app.fail(format!("applying the change: {e}"));
            app.config.mode = Mode::Review {
                yaml,
                check,
                scroll: Scroll::default(),
            };
        }
    }
}

pub(crate) fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    match &app.config.mode {
        Mode::Editing(editor) => {
            let path = app
                .config
                .view
                .as_ref()
                .and_then(|v| v.path.clone())
                .unwrap_or_default();
            let block = panel(format!(" editing {path} ",), t).border_style(t.border_focus());
            let inner = block.inner(area);
            f.render_widget(block, area);
            editor.render(f, inner, t);
        }
        Mode::Review { check, scroll, .. } => {
            let (title, style) = if check.valid {
                (" proposed change: valid ", t.ok())
            } else {
                (" proposed change: NOT VALID ", t.error())
            };
            let block = panel(Line::from(Span::styled(title, style)), t);
            let inner = block.inner(area);
            let lines = review_lines(app, check);
            let top = scroll.top_for(inner.height, lines.len());
            f.render_widget(Paragraph::new(lines).block(block).scroll((top, 0)), area);
        }
        Mode::View => render_view(app, f, area),
    }
}

fn render_view(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let [head, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(area);
    let Some(v) = &app.config.view else {
        f.render_widget(
            Paragraph::new(Span::styled("reading the configuration...", t.dim())),
            head,
        );
        return;
    };
    let mut first = vec![
        Span::styled("file ", t.dim()),
        Span::raw(
            v.path
                .clone()
                .unwrap_or_else(|| "(embedded default)".to_string()),
        ),
        Span::styled("  hash ", t.dim()),
        Span::raw(v.hash.clone()),
    ];
    if v.editable {
        first.push(Span::styled("  editable", t.ok()));
    }
    let second = match not_editable(Some(v)) {
        Some(why) => Line::from(Span::styled(why, t.warn())),
        None => Line::from(Span::styled(
            "e edits in $VISUAL/$EDITOR, i edits here; the agent checks every change first",
            t.dim(),
        )),
    };
    f.render_widget(
        Paragraph::new(vec![Line::from(first), second]).wrap(Wrap { trim: true }),
        head,
    );

    let name = if app.config.effective {
        "effective configuration (defaults, discovered and added sources; E: the file)"
    } else {
        "configuration file (E: the effective one)"
    };
    let block = panel(title_with_filter(name.to_string(), app.filter()), t);
    let inner = block.inner(body);
    let n = needle(app.filter());
    let all = view_lines(app);
    let top = usize::from(app.config.scroll.top_for(inner.height, all.len()));
    let lines: Vec<Line> = all
        .iter()
        .skip(top)
        .take(usize::from(inner.height))
        .map(|(i, l)| {
            let mut spans = vec![Span::styled(format!("{i:>4} "), t.dim())];
            spans.extend(highlight(&clean(l), n.as_deref(), t.text(), t).spans);
            Line::from(spans)
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(block), body);
}
