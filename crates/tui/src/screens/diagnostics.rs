//! Diagnostics: the diagnose checks with their fixes, and verbose agent logging.

use crate::app::{Action, App};
use crate::backend::Backend;
use crate::fmt;
use crate::keys::Cmd;
use crate::widgets::{clean, found, needle, panel, table, title_with_filter, Cursor};
use lookout_api::Check;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

/// How long `v` raises the agent's log level.
pub(crate) const VERBOSE_SECS: u64 = 600;

/// The Diagnostics screen's state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub cursor: Cursor,
    /// The checks are to be run (on entering the screen, on `r`).
    pub stale: bool,
}

/// The checks shown (searched).
pub(crate) fn rows(app: &App) -> Vec<&Check> {
    let n = needle(app.filter());
    app.checks.as_ref().map_or_else(Vec::new, |c| {
        c.iter()
            .filter(|c| {
                found(
                    &format!("{} {} {}", c.status, c.name, c.detail),
                    n.as_deref(),
                )
            })
            .collect()
    })
}

pub(crate) fn on_cmd(app: &mut App, cmd: Cmd, backend: &dyn Backend) -> Action {
    match cmd {
        Cmd::Rerun => {
            // Run by the next refresh, after a frame that says so (checks take a moment).
            app.diag.stale = true;
            app.say("running the checks...");
        }
        Cmd::Verbose => {
            let raised = app
                .status
                .as_ref()
                .and_then(|s| s.log_level.as_ref())
                .is_some();
            let r = if raised {
                backend.set_log_level("reset", 0)
            } else {
                backend.set_log_level("debug", VERBOSE_SECS)
            };
            if app.report(r) {
                // The status says the level in force: fetch it now.
                app.timers.status = None;
            }
        }
        c => {
            let len = rows(app).len();
            if !app.diag.cursor.apply(c, len) {
                return Action::None;
            }
        }
    }
    Action::Redraw
}

fn status_style(app: &App, status: &str) -> ratatui::style::Style {
    let t = &app.theme;
    match status {
        "PASS" => t.ok(),
        "WARN" => t.warn(),
        "FAIL" => t.error(),
        _ => t.text(),
    }
}

pub(crate) fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let [verbose, top, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(55),
        Constraint::Min(4),
    ])
    .areas(area);

    let level = app.status.as_ref().and_then(|s| s.log_level.as_ref());
    let line = match level {
        Some(l) => Line::from(vec![
            Span::styled("verbose logging: ", t.dim()),
            Span::styled(
                format!("{} until {} UTC", l.level, fmt::clock(l.until_unix as f64)),
                t.warn(),
            ),
            Span::styled(" (v resets)", t.dim()),
        ]),
        None => Line::from(vec![
            Span::styled("verbose logging: ", t.dim()),
            Span::raw("off"),
            Span::styled(" (v: debug for 10 minutes)", t.dim()),
        ]),
    };
    f.render_widget(Paragraph::new(line), verbose);

    let shown = rows(app);
    let rows: Vec<Row> = shown
        .iter()
        .map(|c| {
            Row::new(vec![
                Cell::from(c.status.clone()).style(status_style(app, &c.status)),
                Cell::from(c.name.clone()),
                Cell::from(clean(&c.detail)),
            ])
        })
        .collect();
    let name = match &app.checks {
        _ if app.diag.stale => "running the checks...".to_string(),
        Some(c) => {
            let count = |s: &str| c.iter().filter(|c| c.status == s).count();
            format!(
                "{}: {} pass, {} warn, {} fail",
                fmt::plural(c.len(), "check"),
                count("PASS"),
                count("WARN"),
                count("FAIL")
            )
        }
        None => "checks".to_string(),
    };
    let header = ["STATUS", "NAME", "DETAIL"].map(String::from).to_vec();
    let widths = vec![
        Constraint::Length(6),
        Constraint::Percentage(30),
        Constraint::Fill(1),
    ];
    let len = rows.len();
    let tbl = table(header, rows, widths, t).block(panel(title_with_filter(name, app.filter()), t));
    app.diag.cursor.render_table(f, top, tbl, len, 3);

    let Some(c) = shown.get(app.diag.cursor.get(len)) else {
        f.render_widget(panel(" no check ", t), bottom);
        return;
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(c.status.clone(), status_style(app, &c.status)),
            Span::raw(" "),
            Span::styled(c.name.clone(), t.bold()),
        ]),
        Line::from(clean(&c.detail)),
    ];
    match &c.fix {
        Some(fix) => {
            lines.push(Line::from(""));
            lines.push(Line::from(vec![
                Span::styled("fix: ", t.header()),
                Span::raw(clean(fix)),
            ]));
        }
        None if c.status != "PASS" => {
            lines.push(Line::from(Span::styled("no fix suggested", t.dim())));
        }
        None => {}
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(panel(" selected check ", t))
            .wrap(Wrap { trim: false }),
        bottom,
    );
}
