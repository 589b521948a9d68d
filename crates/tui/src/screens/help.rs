//! The help overlay: every key, by where it works, straight from the key table.

use crate::app::App;
use crate::keys::{self, BINDINGS};
use crate::theme::Theme;
use crate::widgets::{centered, panel, Scroll};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

fn lines(theme: &Theme, current: Option<keys::Scope>) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    // The screen's own keys first: they are what the operator most likely looks for.
    let mut scopes = keys::help_scopes();
    if let Some(pos) = current.and_then(|c| scopes.iter().position(|s| *s == c)) {
        let s = scopes.remove(pos);
        scopes.insert(0, s);
    }
    for scope in scopes {
        if !out.is_empty() {
            out.push(Line::from(""));
        }
        let mut head = vec![Span::styled(scope.title().to_string(), theme.header())];
        if Some(scope) == current {
            head.push(Span::styled(" (this screen)", theme.dim()));
        }
        out.push(Line::from(head));
        for b in BINDINGS.iter().filter(|b| b.scope == scope) {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<10} ", b.label), theme.bold()),
                Span::raw(b.what),
            ]));
        }
    }
    out
}

/// How many lines the help has (for scrolling).
pub(crate) fn line_count() -> usize {
    lines(&Theme::new(true), None).len()
}

pub(crate) fn render(app: &App, scroll: &Scroll, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let pop = centered(area, 72, area.height.saturating_sub(2));
    f.render_widget(Clear, pop);
    let current = Some(app.screen().scope());
    let block = panel(" Keys (↑/↓ scroll, Esc closes) ", t).border_style(t.border_focus());
    let inner = block.inner(pop);
    let all = lines(t, current);
    let top = scroll.top_for(inner.height, all.len());
    f.render_widget(Paragraph::new(all).block(block).scroll((top, 0)), pop);
}
