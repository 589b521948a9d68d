//! Pipeline: every component's counters as rates, and for the selected one its queue and
//! throughput over the last minute or so (history kept here: the agent only has counters).

use crate::app::{Action, App};
use crate::fmt;
use crate::keys::Cmd;
use crate::widgets::{chart_value, clean, found, needle, panel, table, title_with_filter, Cursor};
use lookout_api::Component;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Bar, BarChart, BarGroup, Cell, Paragraph, Row, Sparkline, Wrap};
use ratatui::Frame;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// Refreshes of history kept per component.
const HISTORY: usize = 60;

/// Items per second in and out, from the counters of two status refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Rates {
    pub input: f64,
    pub output: f64,
}

/// Each component's (received, sent) counters at one refresh.
type Counters = HashMap<String, (u64, u64)>;

/// The Pipeline screen's state, and the history it keeps across refreshes.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub cursor: Cursor,
    prev: Option<(Instant, Counters)>,
    pub rates: HashMap<String, Rates>,
    pub queue: HashMap<String, VecDeque<u64>>,
    pub out: HashMap<String, VecDeque<u64>>,
}

fn push(h: &mut VecDeque<u64>, v: u64) {
    if h.len() == HISTORY {
        h.pop_front();
    }
    h.push_back(v);
}

impl State {
    /// Takes a status refresh's counters at `now`: rates against the previous one, and
    /// one more point of history.
    pub fn observe(&mut self, comps: &[Component], now: Instant) {
        let counters: Counters = comps
            .iter()
            .map(|c| (c.id.clone(), (c.received_items, c.sent_items)))
            .collect();
        if let Some((then, prev)) = &self.prev {
            let dt = now.saturating_duration_since(*then).as_secs_f64();
            if dt <= 0.0 {
                return;
            }
            // A counter that went back means the agent restarted: no rate this time.
            let rate = |a: u64, b: u64| a.checked_sub(b).map_or(0.0, |d| d as f64 / dt);
            self.rates = counters
                .iter()
                .filter_map(|(id, (r, s))| {
                    let (pr, ps) = prev.get(id)?;
                    Some((
                        id.clone(),
                        Rates {
                            input: rate(*r, *pr),
                            output: rate(*s, *ps),
                        },
                    ))
                })
                .collect();
        }
        for c in comps {
            if let Some(q) = c.queue_depth() {
                push(self.queue.entry(c.id.clone()).or_default(), chart_value(q));
            }
            if let Some(r) = self.rates.get(&c.id) {
                push(
                    self.out.entry(c.id.clone()).or_default(),
                    chart_value(r.output.round()),
                );
            }
        }
        self.queue.retain(|id, _| counters.contains_key(id));
        self.out.retain(|id, _| counters.contains_key(id));
        self.prev = Some((now, counters));
    }
}

fn kind(k: &str) -> &str {
    match k {
        "source" => "src",
        "processor" => "proc",
        other => other,
    }
}

/// The components shown (searched).
pub(crate) fn rows(app: &App) -> Vec<&Component> {
    let n = needle(app.filter());
    app.status.as_ref().map_or_else(Vec::new, |s| {
        s.components
            .iter()
            .filter(|c| {
                found(
                    &format!("{} {} {}", c.id, c.kind, c.type_name),
                    n.as_deref(),
                )
            })
            .collect()
    })
}

pub(crate) fn on_cmd(app: &mut App, cmd: Cmd) -> Action {
    let len = rows(app).len();
    if app.pipeline.cursor.apply(cmd, len) {
        Action::Redraw
    } else {
        Action::None
    }
}

/// A rate without its unit (the header has it).
fn per_sec(r: Option<f64>) -> String {
    r.map_or_else(
        || "-".to_string(),
        |v| fmt::rate(v).trim_end_matches("/s").to_string(),
    )
}

pub(crate) fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let shown = rows(app);
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Min(6)]).areas(area);
    let header = [
        "ID", "KIND", "TYPE", "IN/s", "OUT/s", "ERR", "DROP", "DLQ", "QUEUE", "CIRCUIT", "HEALTH",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Row> = shown
        .iter()
        .map(|c| {
            let r = app.pipeline.rates.get(&c.id);
            let circuit = c.circuit().unwrap_or("-");
            let circuit_style = match circuit {
                "open" => t.error(),
                "half-open" => t.warn(),
                _ => t.text(),
            };
            let (health, hs) = if c.failing {
                ("failing", t.error())
            } else if !c.healthy {
                ("down", t.error())
            } else {
                ("ok", t.ok())
            };
            let num = |n: u64| {
                let style = if n > 0 { t.warn() } else { t.text() };
                Cell::from(fmt::count(n)).style(style)
            };
            Row::new(vec![
                Cell::from(c.id.clone()),
                Cell::from(kind(&c.kind).to_string()),
                Cell::from(c.type_name.clone()),
                Cell::from(per_sec(r.map(|r| r.input))),
                Cell::from(per_sec(r.map(|r| r.output))),
                num(c.errors),
                num(c.dropped_items),
                num(c.dead_lettered_items),
                Cell::from(
                    c.queue_depth()
                        .map_or_else(|| "-".to_string(), |q| fmt::count(chart_value(q))),
                ),
                Cell::from(circuit).style(circuit_style),
                Cell::from(health).style(hs),
            ])
        })
        .collect();
    let widths = vec![
        Constraint::Fill(1),
        Constraint::Length(4),
        Constraint::Fill(1),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(4),
        Constraint::Length(4),
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Length(9),
        Constraint::Length(7),
    ];
    let total = app.status.as_ref().map_or(0, |s| s.components.len());
    let title = title_with_filter(fmt::plural(total, "component"), app.filter());
    let len = rows.len();
    let tbl = table(header, rows, widths, t).block(panel(title, t));
    app.pipeline.cursor.render_table(f, top, tbl, len, 3);

    match shown.get(app.pipeline.cursor.get(len)) {
        Some(c) => render_detail(app, c, f, bottom),
        None => f.render_widget(panel(" no component ", t), bottom),
    }
}

fn render_detail(app: &App, c: &Component, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let block = panel(format!(" {}: {} {} ", c.id, c.kind, c.type_name), t);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let r = app.pipeline.rates.get(&c.id);
    let summary = format!(
        "in {}  out {}  retried {}  sent {}  buffer {}",
        r.map_or_else(|| "-".to_string(), |r| fmt::rate(r.input)),
        r.map_or_else(|| "-".to_string(), |r| fmt::rate(r.output)),
        fmt::count(c.retried_items),
        fmt::bytes(c.sent_bytes),
        fmt::count(c.buffer_depth),
    );
    let error = match &c.last_error {
        Some(e) => {
            let mut head = "last error".to_string();
            if let Some(at) = c.last_error_unix {
                head.push_str(&format!(" at {} UTC", fmt::clock(at as f64)));
            }
            if let Some(secs) = c.failing_for_secs.filter(|_| c.failing) {
                head.push_str(&format!(", failing for {}", fmt::duration(secs)));
            }
            // The message on its own line(s): it is what the operator reads, in full.
            Text::from(vec![
                Line::from(Span::styled(format!("{head}:"), t.error())),
                Line::from(clean(e)),
            ])
        }
        None => Text::from(Span::styled("no errors", t.dim())),
    };
    let width = usize::from(inner.width.max(1));
    let error_rows = error
        .lines
        .iter()
        .map(|l| l.width() / width + 1)
        .sum::<usize>()
        .min(6) as u16;
    let [line, charts, err] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(2),
        Constraint::Length(error_rows),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(summary), line);
    f.render_widget(Paragraph::new(error).wrap(Wrap { trim: false }), err);

    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
    render_queue(app, c, f, left);
    render_throughput(app, c, f, right);
}

fn render_queue(app: &App, c: &Component, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let [label, chart] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let Some(h) = app.pipeline.queue.get(&c.id).filter(|h| !h.is_empty()) else {
        f.render_widget(Paragraph::new(Span::styled("no queue", t.dim())), label);
        return;
    };
    let now = h.back().copied().unwrap_or(0);
    let peak = h.iter().max().copied().unwrap_or(0);
    f.render_widget(
        Paragraph::new(Span::styled(
            format!("queue {} (peak {})", fmt::count(now), fmt::count(peak)),
            t.bold(),
        )),
        label,
    );
    let data: Vec<u64> = h.iter().copied().collect();
    let from = data.len().saturating_sub(usize::from(chart.width));
    f.render_widget(
        Sparkline::default()
            .data(data.get(from..).unwrap_or(&[]))
            .style(t.chart()),
        chart,
    );
}

fn render_throughput(app: &App, c: &Component, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let [label, chart] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let Some(h) = app.pipeline.out.get(&c.id).filter(|h| !h.is_empty()) else {
        f.render_widget(
            Paragraph::new(Span::styled("out/s: after two refreshes", t.dim())),
            label,
        );
        return;
    };
    let peak = h.iter().max().copied().unwrap_or(0);
    f.render_widget(
        Paragraph::new(Span::styled(
            format!("out/s, last {} (peak {})", h.len(), fmt::rate(peak as f64)),
            t.bold(),
        )),
        label,
    );
    let from = h.len().saturating_sub(usize::from(chart.width));
    // Values stay off the bars: one-cell bars cannot hold them, and the label has the peak.
    let bars: Vec<Bar> = h
        .iter()
        .skip(from)
        .map(|v| Bar::default().value(*v).text_value(String::new()))
        .collect();
    f.render_widget(
        BarChart::default()
            .data(BarGroup::default().bars(&bars))
            .bar_width(1)
            .bar_gap(0)
            .bar_style(t.chart_alt()),
        chart,
    );
}
