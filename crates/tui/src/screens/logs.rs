//! Logs: the log sources on the left, a live tail of one on the right, and the source
//! actions: add, remove, pause/resume, and trying a redaction rule.

use crate::app::{due, next_at, replace, Action, App, SOURCES_EVERY, TAIL_EVERY};
use crate::backend::{Backend, SourceOp};
use crate::fmt;
use crate::keys::Cmd;
use crate::screens::Overlay;
use crate::widgets::{centered, clean, found, highlight, needle, panel, Scroll, TextInput};
use crossterm::event::KeyEvent;
use lookout_api::{AddLogSource, LogSource, LogSources, RedactTry, RedactTryResult, TailLine};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Clear, Paragraph, Row, Table, Wrap};
use ratatui::Frame;
use std::cell::Cell as StdCell;
use std::collections::VecDeque;
use std::time::Instant;

/// Tail lines kept client-side.
pub(crate) const KEEP: usize = 1000;

/// The Logs screen's state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub sources: Option<LogSources>,
    pub cursor: crate::widgets::Cursor,
    /// The source being tailed.
    pub chosen: Option<String>,
    pub lines: VecDeque<TailLine>,
    /// The tail position to ask from next.
    pub after: u64,
    /// Lines the agent dropped before they were read.
    pub missed: u64,
    /// The view is paused: no tail fetched.
    pub paused: bool,
    /// Lines scrolled back from the end (0: following).
    pub back: usize,
    page: StdCell<usize>,
}

impl State {
    fn list(&self) -> &[LogSource] {
        self.sources.as_ref().map_or(&[], |s| s.sources.as_slice())
    }

    /// The source under the cursor.
    pub fn selected(&self) -> Option<&LogSource> {
        let list = self.list();
        list.get(self.cursor.get(list.len()))
    }

    fn choose(&mut self, id: Option<String>) {
        if self.chosen == id {
            return;
        }
        self.chosen = id;
        self.lines.clear();
        self.after = 0;
        self.missed = 0;
        self.back = 0;
    }

    /// Keeps the tailed source one that exists: the first one when none is chosen yet.
    fn sync_chosen(&mut self) {
        let exists = |id: &str| self.list().iter().any(|s| s.id == id);
        match &self.chosen {
            Some(id) if exists(id) => {}
            _ => {
                let first = self.selected().map(|s| s.id.clone());
                self.choose(first);
            }
        }
    }
}

/// The add-source form.
#[derive(Debug, Default)]
pub(crate) struct AddForm {
    pub id: TextInput,
    pub path: TextInput,
    /// 0: id, 1: path.
    pub field: usize,
    pub error: Option<String>,
}

pub(crate) fn refresh(app: &mut App, backend: &dyn Backend, now: Instant) -> bool {
    let mut changed = false;
    if due(app.timers.sources, SOURCES_EVERY, now) {
        app.timers.sources = Some(now);
        changed |= match backend.log_sources() {
            Ok(s) => {
                let c = app.fetched("log sources") | replace(&mut app.logs.sources, s);
                app.logs.sync_chosen();
                c
            }
            Err(e) => app.fetch_failed("log sources", e),
        };
    }
    let Some(src) = app.logs.chosen.clone() else {
        return changed;
    };
    if app.logs.paused || !due(app.timers.tail, TAIL_EVERY, now) {
        return changed;
    }
    app.timers.tail = Some(now);
    match backend.tail(&src, app.logs.after) {
        Ok(t) => {
            changed |= app.fetched(&format!("tail {src}"));
            let st = &mut app.logs;
            let grew = !t.lines.is_empty() || t.missed > 0;
            st.after = t.next;
            st.missed += t.missed;
            if st.back > 0 {
                // Scrolled back: keep the same lines in view while new ones arrive below.
                st.back += t.lines.len();
            }
            st.lines.extend(t.lines);
            while st.lines.len() > KEEP {
                st.lines.pop_front();
            }
            st.back = st.back.min(st.lines.len());
            changed |= grew;
        }
        Err(e) => changed |= app.fetch_failed(&format!("tail {src}"), e),
    }
    changed
}

pub(crate) fn next_refresh(app: &App, now: Instant) -> Instant {
    let sources = next_at(app.timers.sources, SOURCES_EVERY, now);
    if app.logs.chosen.is_some() && !app.logs.paused {
        sources.min(next_at(app.timers.tail, TAIL_EVERY, now))
    } else {
        sources
    }
}

pub(crate) fn on_cmd(app: &mut App, cmd: Cmd, backend: &dyn Backend) -> Action {
    let page = app.logs.page.get().max(1);
    match cmd {
        Cmd::Choose => {
            let id = app.logs.selected().map(|s| s.id.clone());
            if id.is_some() {
                app.logs.choose(id);
                app.timers.tail = None;
            }
        }
        Cmd::PauseView => {
            app.logs.paused = !app.logs.paused;
            if app.logs.paused {
                app.say("view paused: the agent keeps reading (space resumes)");
            } else {
                app.timers.tail = None;
                app.say("view resumed");
            }
        }
        Cmd::TailBack => {
            app.logs.back = (app.logs.back + page).min(app.logs.lines.len().saturating_sub(1));
        }
        Cmd::TailForward => app.logs.back = app.logs.back.saturating_sub(page),
        Cmd::Follow => app.logs.back = 0,
        Cmd::AddSource => app.overlay = Some(Overlay::AddSource(AddForm::default())),
        Cmd::RemoveSource => {
            let Some(s) = app.logs.selected() else {
                app.fail("no log source selected");
                return Action::Redraw;
            };
            if s.origin == "added" {
                let id = s.id.clone();
                app.overlay = Some(Overlay::Confirm {
                    question: format!("Remove the log source {id}?"),
                    id,
                });
            } else {
                let text = format!(
                    "{} comes from {}: only sources added here (origin added) can be removed",
                    s.id,
                    if s.origin.is_empty() {
                        "elsewhere"
                    } else {
                        &s.origin
                    }
                );
                app.fail(text);
            }
        }
        Cmd::ToggleSource => {
            let Some(s) = app.logs.selected() else {
                app.fail("no log source selected");
                return Action::Redraw;
            };
            let op = if s.paused {
                SourceOp::Resume
            } else {
                SourceOp::Pause
            };
            let id = s.id.clone();
            if app.report(backend.log_source_op(&id, op)) {
                app.timers.sources = None;
            }
        }
        Cmd::TryRedact => {
            let Some(s) = app.logs.selected() else {
                app.fail("no log source selected");
                return Action::Redraw;
            };
            app.overlay = Some(Overlay::RedactPrompt {
                source: s.id.clone(),
                input: TextInput::default(),
                error: None,
            });
        }
        c => {
            let len = app.logs.list().len();
            if !app.logs.cursor.apply(c, len) {
                return Action::None;
            }
        }
    }
    Action::Redraw
}

/// Keys while one of the Logs overlays is open.
pub(crate) fn on_overlay(
    app: &mut App,
    ov: Overlay,
    cmd: Option<Cmd>,
    key: &KeyEvent,
    backend: &dyn Backend,
) -> Action {
    match ov {
        Overlay::AddSource(mut form) => match cmd {
            Some(Cmd::Back) => Action::Redraw,
            Some(Cmd::NextField) => {
                form.field = 1 - form.field.min(1);
                app.overlay = Some(Overlay::AddSource(form));
                Action::Redraw
            }
            Some(Cmd::Submit) => {
                add_source(app, form, backend);
                Action::Redraw
            }
            _ => {
                let input = if form.field == 0 {
                    &mut form.id
                } else {
                    &mut form.path
                };
                let edited = input.handle(key);
                app.overlay = Some(Overlay::AddSource(form));
                if edited {
                    Action::Redraw
                } else {
                    Action::None
                }
            }
        },
        Overlay::Confirm { question, id } => match cmd {
            Some(Cmd::Yes) => {
                if app.report(backend.log_source_op(&id, SourceOp::Remove)) {
                    app.timers.sources = None;
                    if app.logs.chosen.as_deref() == Some(id.as_str()) {
                        app.logs.choose(None);
                    }
                }
                Action::Redraw
            }
            Some(Cmd::No) => {
                app.say("nothing removed");
                Action::Redraw
            }
            _ => {
                app.overlay = Some(Overlay::Confirm { question, id });
                Action::None
            }
        },
        Overlay::RedactPrompt {
            source,
            mut input,
            error,
        } => match cmd {
            Some(Cmd::Back) => Action::Redraw,
            Some(Cmd::Submit) if input.text.trim().is_empty() => {
                app.overlay = Some(Overlay::RedactPrompt {
                    source,
                    input,
                    error: Some("type a regular expression first".to_string()),
                });
                Action::Redraw
            }
            Some(Cmd::Submit) => {
                let req = RedactTry {
                    pattern: input.text.clone(),
                    replacement: None,
                    source: Some(source.clone()),
                    lines: Vec::new(),
                };
                app.overlay = Some(match backend.redact_try(&req) {
                    Ok(r) => Overlay::RedactResult(r, Scroll::default()),
                    Err(e) => Overlay::RedactPrompt {
                        source,
                        input,
                        error: Some(e),
                    },
                });
                Action::Redraw
            }
            _ => {
                let edited = input.handle(key);
                app.overlay = Some(Overlay::RedactPrompt {
                    source,
                    input,
                    error,
                });
                if edited {
                    Action::Redraw
                } else {
                    Action::None
                }
            }
        },
        Overlay::RedactResult(r, mut scroll) => match cmd {
            Some(Cmd::Back) => Action::Redraw,
            Some(c) => {
                let moved = scroll.apply(c, result_lines(app, &r).len());
                app.overlay = Some(Overlay::RedactResult(r, scroll));
                if moved {
                    Action::Redraw
                } else {
                    Action::None
                }
            }
            None => {
                app.overlay = Some(Overlay::RedactResult(r, scroll));
                Action::None
            }
        },
        other => {
            app.overlay = Some(other);
            Action::None
        }
    }
}

fn add_source(app: &mut App, mut form: AddForm, backend: &dyn Backend) {
    let id = form.id.text.trim().to_string();
    let path = form.path.text.trim().to_string();
    let problem = if id.is_empty() {
        Some("the id is empty")
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Some("the id takes letters, digits, _ and - only")
    } else if path.is_empty() {
        Some("the path is empty")
    } else {
        None
    };
    if let Some(p) = problem {
        form.error = Some(p.to_string());
        app.overlay = Some(Overlay::AddSource(form));
        return;
    }
    let req = AddLogSource {
        id,
        include: vec![path],
        exclude: Vec::new(),
        start_at: Some("beginning".to_string()),
    };
    match backend.add_log_source(&req) {
        Ok(r) if r.ok => {
            app.say(r.message);
            app.timers.sources = None;
        }
        Ok(r) => {
            form.error = Some(r.message);
            app.overlay = Some(Overlay::AddSource(form));
        }
        Err(e) => {
            form.error = Some(e);
            app.overlay = Some(Overlay::AddSource(form));
        }
    }
}

pub(crate) fn render(app: &App, f: &mut Frame, area: Rect) {
    let left_w = (area.width / 3).clamp(28, 40);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_w), Constraint::Min(10)]).areas(area);
    render_sources(app, f, left);
    render_tail(app, f, right);
}

fn render_sources(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let st = &app.logs;
    let list = st.list();
    let rows: Vec<Row> = list
        .iter()
        .map(|s| {
            let chosen = st.chosen.as_deref() == Some(s.id.as_str());
            let marker = if chosen { "▶ " } else { "  " };
            let info = format!(
                "  {}, {}, {} recs",
                s.type_name,
                if s.origin.is_empty() { "-" } else { &s.origin },
                fmt::count(s.records)
            );
            let mut first = vec![Span::styled(format!("{marker}{}", s.id), t.bold())];
            if s.paused {
                first.push(Span::styled(" (paused)", t.warn()));
            }
            let text = Text::from(vec![
                Line::from(first),
                Line::from(Span::styled(info, t.dim())),
            ]);
            Row::new(vec![Cell::from(text)]).height(2)
        })
        .collect();
    let len = rows.len();
    let title = format!(" {} ", fmt::plural(len, "log source"));
    let tbl = Table::new(rows, [Constraint::Fill(1)])
        .row_highlight_style(t.selected())
        .block(panel(title, t));
    st.cursor.render_table(f, area, tbl, len, 2);
}

fn severity_style(app: &App, sev: &str) -> ratatui::style::Style {
    let t = &app.theme;
    match sev.to_ascii_uppercase().as_str() {
        s if s.starts_with("ERR") || s.starts_with("FATAL") || s.starts_with("CRIT") => t.error(),
        s if s.starts_with("WARN") => t.warn(),
        _ => t.dim(),
    }
}

fn render_tail(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let st = &app.logs;
    let n = needle(app.filter());
    let shown: Vec<&TailLine> = st
        .lines
        .iter()
        .filter(|l| found(&format!("{} {}", l.severity, l.body), n.as_deref()))
        .collect();
    let mut title = vec![Span::raw(" ")];
    match &st.chosen {
        Some(src) => {
            title.push(Span::styled(src.clone(), t.bold()));
            title.push(Span::raw(format!(
                " · {}",
                fmt::plural(shown.len(), "line")
            )));
            if st.missed > 0 {
                title.push(Span::styled(format!(" · {} missed", st.missed), t.warn()));
            }
            if st.back > 0 {
                title.push(Span::raw(format!(" · {} back", st.back)));
            }
            title.push(Span::raw(" · times UTC"));
        }
        None => title.push(Span::raw("no source to tail")),
    }
    if st.paused {
        title.push(Span::raw(" · "));
        title.push(Span::styled("PAUSED", t.warn().patch(t.selected())));
    }
    if let Some(needle) = &n {
        title.push(Span::raw(format!(" · search \"{needle}\"")));
    }
    title.push(Span::raw(" "));
    let block = panel(Line::from(title), t);
    let inner = block.inner(area);
    f.render_widget(block, area);

    let height = usize::from(inner.height);
    st.page.set(height.max(1));
    let end = shown.len().saturating_sub(st.back.min(shown.len()));
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = shown
        .get(start..end)
        .unwrap_or(&[])
        .iter()
        .map(|l| {
            let mut spans = vec![
                Span::styled(format!("{} ", fmt::clock(l.unix)), t.dim()),
                Span::styled(
                    format!("{:<5} ", fmt::ellipsize(&clean(&l.severity), 5)),
                    severity_style(app, &l.severity),
                ),
            ];
            spans.extend(highlight(&clean(&l.body), n.as_deref(), t.text(), t).spans);
            Line::from(spans)
        })
        .collect();
    if lines.is_empty() {
        let hint = match (&st.chosen, n.is_some()) {
            (None, _) => "no log source: a adds one",
            (Some(_), true) => "no line matches the search",
            (Some(_), false) => "no lines yet",
        };
        f.render_widget(Paragraph::new(Span::styled(hint, t.dim())), inner);
    } else {
        f.render_widget(Paragraph::new(lines), inner);
    }
}

/// The lines of a tried rule's result.
fn result_lines(app: &App, r: &RedactTryResult) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = vec![Line::from(Span::styled(
        format!("tried {} lines, {} matched", r.tried, r.matched),
        t.bold(),
    ))];
    for (before, after) in &r.changes {
        lines.push(Line::from(Span::styled(
            format!("- {}", clean(before)),
            t.removed(),
        )));
        lines.push(Line::from(Span::styled(
            format!("+ {}", clean(after)),
            t.added(),
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "to keep it, add to a redact processor's rules:",
        t.header(),
    )));
    lines.extend(r.rule_yaml.lines().map(|l| Line::from(clean(l))));
    lines
}

pub(crate) fn render_overlay(app: &App, ov: &Overlay, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    match ov {
        Overlay::AddSource(form) => {
            let pop = centered(area, 64, 9);
            f.render_widget(Clear, pop);
            let block = panel(" Add a log source ", t).border_style(t.border_focus());
            let inner = block.inner(pop);
            f.render_widget(block, pop);
            let rows = Layout::vertical([Constraint::Length(1); 6]).split(inner);
            let label_w = 11u16;
            let width = inner.width.saturating_sub(label_w);
            for (i, (label, input)) in [("id", &form.id), ("path/glob", &form.path)]
                .iter()
                .enumerate()
            {
                let Some(row) = rows.get(i * 2).copied() else {
                    continue;
                };
                let (shown, col) = input.view(width, None);
                let style = if form.field == i { t.bold() } else { t.dim() };
                f.render_widget(
                    Paragraph::new(Line::from(vec![
                        Span::styled(format!("{label:<10} "), style),
                        Span::raw(shown),
                    ])),
                    row,
                );
                if form.field == i {
                    f.set_cursor_position(Position::new(row.x + label_w + col, row.y));
                }
            }
            let note = "files already there are read from the beginning";
            if let Some(row) = rows.get(4).copied() {
                f.render_widget(Paragraph::new(Span::styled(note, t.dim())), row);
            }
            if let (Some(e), Some(row)) = (&form.error, rows.get(5).copied()) {
                f.render_widget(Paragraph::new(Span::styled(e.clone(), t.error())), row);
            }
        }
        Overlay::Confirm { question, .. } => {
            let pop = centered(area, (question.chars().count() as u16 + 6).max(30), 4);
            f.render_widget(Clear, pop);
            let lines = vec![
                Line::from(Span::styled(question.clone(), t.bold())),
                Line::from(Span::styled("y yes   n no", t.dim())),
            ];
            f.render_widget(
                Paragraph::new(lines).block(panel(" Confirm ", t).border_style(t.border_focus())),
                pop,
            );
        }
        Overlay::RedactPrompt {
            source,
            input,
            error,
        } => {
            let pop = centered(area, 70, 7);
            f.render_widget(Clear, pop);
            let block = panel(format!(" Try a redaction rule on {source} "), t)
                .border_style(t.border_focus());
            let inner = block.inner(pop);
            f.render_widget(block, pop);
            let rows = Layout::vertical([Constraint::Length(1); 5]).split(inner);
            let label = "regex ";
            let (shown, col) = input.view(inner.width.saturating_sub(label.len() as u16), None);
            if let Some(row) = rows.first().copied() {
                f.render_widget(
                    Paragraph::new(Line::from(vec![
                        Span::styled(label, t.bold()),
                        Span::raw(shown),
                    ])),
                    row,
                );
                f.set_cursor_position(Position::new(row.x + label.len() as u16 + col, row.y));
            }
            if let Some(row) = rows.get(2).copied() {
                f.render_widget(
                    Paragraph::new(Span::styled(
                        "matches become [REDACTED] on its recent lines; nothing is saved",
                        t.dim(),
                    )),
                    row,
                );
            }
            if let (Some(e), Some(row)) = (error, rows.get(3).copied()) {
                f.render_widget(
                    Paragraph::new(Span::styled(e.clone(), t.error())).wrap(Wrap { trim: false }),
                    row,
                );
            }
        }
        Overlay::RedactResult(r, scroll) => {
            let pop = centered(
                area,
                area.width.saturating_sub(4),
                area.height.saturating_sub(2),
            );
            f.render_widget(Clear, pop);
            let block = panel(" Redaction rule tried ", t).border_style(t.border_focus());
            let inner = block.inner(pop);
            let lines = result_lines(app, r);
            let top = scroll.top_for(inner.height, lines.len());
            f.render_widget(
                Paragraph::new(lines)
                    .block(block)
                    .wrap(Wrap { trim: false })
                    .scroll((top, 0)),
                pop,
            );
        }
        Overlay::Help(_) | Overlay::Search(_) => {}
    }
}
