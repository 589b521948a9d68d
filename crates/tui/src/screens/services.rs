//! Services: what discovery found, whether it is collected, and switching that.

use crate::app::{Action, App};
use crate::fmt;
use crate::keys::Cmd;
use crate::widgets::{clean, found, needle, panel, table, title_with_filter, Cursor};
use crate::Backend;
use lookout_api::Service;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

/// The Services screen's state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub cursor: Cursor,
}

/// The services shown (searched).
pub(crate) fn rows(app: &App) -> Vec<&Service> {
    let n = needle(app.filter());
    app.services.as_ref().map_or_else(Vec::new, |s| {
        s.services
            .iter()
            .filter(|s| {
                let id = s.source_id.as_deref().unwrap_or("");
                found(&format!("{} {} {id}", s.instance, s.product), n.as_deref())
            })
            .collect()
    })
}

fn collecting(s: &Service) -> &'static str {
    if s.disabled {
        "disabled"
    } else if s.collecting {
        "yes"
    } else {
        "no"
    }
}

pub(crate) fn on_cmd(app: &mut App, cmd: Cmd, backend: &dyn Backend) -> Action {
    let enable = match cmd {
        Cmd::Enable => true,
        Cmd::Disable => false,
        c => {
            let len = rows(app).len();
            return if app.services_ui.cursor.apply(c, len) {
                Action::Redraw
            } else {
                Action::None
            };
        }
    };
    let shown = rows(app);
    let Some(svc) = shown.get(app.services_ui.cursor.get(shown.len())) else {
        app.say("no service selected");
        return Action::Redraw;
    };
    let Some(id) = svc.source_id.clone() else {
        let text = format!(
            "{} has no source: discovery is not confident enough to configure it",
            svc.instance
        );
        app.fail(text);
        return Action::Redraw;
    };
    if app.report(backend.set_service(&id, enable)) {
        // Show the new state now rather than at the next 5 s refresh.
        app.timers.services = None;
    }
    Action::Redraw
}

pub(crate) fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let shown = rows(app);
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(45), Constraint::Min(5)]).areas(area);
    let rows: Vec<Row> = shown
        .iter()
        .map(|s| {
            let c = collecting(s);
            let style = match c {
                "yes" => t.ok(),
                "disabled" => t.warn(),
                _ => t.text(),
            };
            Row::new(vec![
                Cell::from(s.instance.clone()),
                Cell::from(fmt::share(s.confidence)),
                Cell::from(c).style(style),
                Cell::from(s.source_id.clone().unwrap_or_else(|| "-".to_string())),
            ])
        })
        .collect();
    let header = ["INSTANCE", "CONFIDENCE", "COLLECTING", "SOURCE"]
        .map(String::from)
        .to_vec();
    let widths = vec![
        Constraint::Fill(2),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Fill(1),
    ];
    let name = match &app.services {
        Some(s) => format!(
            "{}, autoconfig {}, scanned {} UTC",
            fmt::plural(s.services.len(), "service"),
            if s.autoconfig { "on" } else { "off" },
            fmt::clock(s.scanned_unix as f64)
        ),
        None => "services".to_string(),
    };
    let len = rows.len();
    let tbl = table(header, rows, widths, t).block(panel(title_with_filter(name, app.filter()), t));
    app.services_ui.cursor.render_table(f, top, tbl, len, 3);

    let Some(s) = shown.get(app.services_ui.cursor.get(len)) else {
        f.render_widget(panel(" no service ", t), bottom);
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled("product ", t.dim()),
        Span::raw(s.product.clone()),
        Span::styled("  confidence ", t.dim()),
        Span::raw(fmt::share(s.confidence)),
        Span::styled("  collecting ", t.dim()),
        Span::raw(collecting(s)),
    ])];
    lines.push(Line::from(Span::styled("why:", t.header())));
    lines.extend(
        s.reasons
            .iter()
            .map(|r| Line::from(format!("  - {}", clean(r)))),
    );
    if !s.skipped.is_empty() {
        lines.push(Line::from(Span::styled("not configured:", t.header())));
        lines.extend(
            s.skipped
                .iter()
                .map(|r| Line::from(Span::styled(format!("  - {}", clean(r)), t.warn()))),
        );
    }
    if s.preview.trim().is_empty() {
        lines.push(Line::from(Span::styled("no sources to add", t.dim())));
    } else {
        lines.push(Line::from(Span::styled("enabling adds:", t.header())));
        lines.extend(
            s.preview
                .lines()
                .map(|l| Line::from(format!("  {}", clean(l)))),
        );
    }
    let title = format!(" {} ", s.instance);
    f.render_widget(
        Paragraph::new(lines)
            .block(panel(title, t))
            .wrap(Wrap { trim: false }),
        bottom,
    );
}
