//! Overview: the host's recent history as sparklines, and the agent's own state.

use crate::app::App;
use crate::fmt;
use crate::widgets::{chart_value, panel};
use lookout_api::{HostSample, Status};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};
use ratatui::Frame;

/// One chart: its label and its series (already scaled to integers) with its top.
struct Chart {
    label: String,
    /// Shown after the label when the line has room.
    extra: String,
    values: Vec<u64>,
    max: Option<u64>,
}

fn charts(samples: &[HostSample]) -> Vec<Chart> {
    let Some(last) = samples.last() else {
        return Vec::new();
    };
    let series = |f: &dyn Fn(&HostSample) -> f64| -> Vec<u64> {
        samples.iter().map(|s| chart_value(f(s))).collect()
    };
    const MIB: f64 = 1024.0 * 1024.0;
    let mem_pct = if last.mem_total_bytes > 0 {
        format!(
            " ({:.0}%)",
            last.mem_used_bytes as f64 * 100.0 / last.mem_total_bytes as f64
        )
    } else {
        String::new()
    };
    let root = if last.root_used_percent > 0.0 {
        format!(", root fs {:.0}% used", last.root_used_percent)
    } else {
        String::new()
    };
    vec![
        Chart {
            label: format!("CPU {:.1}% ({} cpus)", last.cpu_percent, last.cpus),
            extra: String::new(),
            // Tenths of a percent, so a quiet host still draws something.
            values: series(&|s| s.cpu_percent * 10.0),
            max: Some(1000),
        },
        Chart {
            label: format!(
                "Mem {} / {}{mem_pct}",
                fmt::bytes(last.mem_used_bytes),
                fmt::bytes(last.mem_total_bytes)
            ),
            extra: String::new(),
            values: series(&|s| s.mem_used_bytes as f64 / MIB),
            max: Some(chart_value(last.mem_total_bytes as f64 / MIB)).filter(|m| *m > 0),
        },
        Chart {
            label: format!(
                "Load {:.2} {:.2} {:.2}",
                last.load1, last.load5, last.load15
            ),
            extra: String::new(),
            values: series(&|s| s.load1 * 100.0),
            // A load equal to the CPU count fills the chart: that is when work queues.
            max: samples
                .iter()
                .map(|s| chart_value(s.load1 * 100.0))
                .chain([u64::from(last.cpus.max(1)) * 100])
                .max(),
        },
        Chart {
            label: format!(
                "Disk r {} w {}",
                fmt::bytes_rate(last.disk_read_bps),
                fmt::bytes_rate(last.disk_write_bps)
            ),
            extra: root,
            values: series(&|s| s.disk_read_bps + s.disk_write_bps),
            max: None,
        },
        Chart {
            label: format!(
                "Net rx {} tx {}",
                fmt::bytes_rate(last.net_rx_bps),
                fmt::bytes_rate(last.net_tx_bps)
            ),
            extra: String::new(),
            values: series(&|s| s.net_rx_bps + s.net_tx_bps),
            max: None,
        },
    ]
}

pub(crate) fn render(app: &App, f: &mut Frame, area: Rect) {
    let right = if area.width >= 100 { 44 } else { 36 };
    let [left, agent] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(right)]).areas(area);
    render_host(app, f, left);
    render_agent(app, f, agent);
}

fn render_host(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let samples = app.host.as_ref().map_or(&[][..], |h| h.samples.as_slice());
    let title = match app.host.as_ref() {
        Some(h) if h.interval_secs > 0.0 => format!(
            " Host, last {} ",
            fmt::duration(h.interval_secs * h.samples.len() as f64)
        ),
        _ => " Host ".to_string(),
    };
    let block = panel(title, t);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let charts = charts(samples);
    if charts.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled("no host samples yet", t.dim())),
            inner,
        );
        return;
    }
    let rows = Layout::vertical(vec![
        Constraint::Ratio(1, charts.len() as u32);
        charts.len()
    ])
    .split(inner);
    for (chart, row) in charts.iter().zip(rows.iter()) {
        let [label, spark] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(*row);
        let mut text = chart.label.clone();
        if text.chars().count() + chart.extra.chars().count() <= usize::from(label.width) {
            text.push_str(&chart.extra);
        }
        f.render_widget(Paragraph::new(Span::styled(text, t.bold())), label);
        // The newest samples that fit, oldest on the left.
        let width = usize::from(spark.width);
        let from = chart.values.len().saturating_sub(width);
        let mut s = Sparkline::default()
            .data(chart.values.get(from..).unwrap_or(&[]))
            .style(t.chart());
        if let Some(m) = chart.max {
            s = s.max(m);
        }
        f.render_widget(s, spark);
    }
}

/// The agent's state as `label value` lines.
fn agent_lines(app: &App, s: &Status, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let failing: Vec<&str> = s
        .components
        .iter()
        .filter(|c| !c.healthy || c.failing)
        .map(|c| c.id.as_str())
        .collect();
    let mut lines = vec![if s.healthy && failing.is_empty() {
        Line::from(Span::styled("healthy", t.ok().patch(t.bold())))
    } else if failing.is_empty() {
        Line::from(Span::styled("unhealthy", t.error()))
    } else {
        Line::from(vec![
            Span::styled("unhealthy: ", t.error()),
            Span::styled(failing.join(", "), t.error()),
        ])
    }];
    let value_width = width.saturating_sub(11);
    let mut row = |label: &str, value: String, style: Style| {
        lines.push(Line::from(vec![
            Span::styled(format!("{label:<10} "), t.dim()),
            Span::styled(fmt::ellipsize(&value, value_width), style),
        ]));
    };
    row("version", s.version.clone(), t.text());
    row("pid", s.pid.to_string(), t.text());
    row("uptime", fmt::duration(s.uptime_secs), t.text());
    row("config", s.config_hash.clone(), t.text());
    row("origin", s.config_origin.clone(), t.text());
    if !s.data_dir.is_empty() {
        row("data", s.data_dir.clone(), t.text());
    }
    if let Some(cpu) = s.process.cpu_seconds {
        row("cpu", format!("{cpu:.1} s"), t.text());
    }
    if let Some(rss) = s.process.rss_bytes {
        row("rss", fmt::bytes(rss), t.text());
    }
    row(
        "reloads",
        format!(
            "{} applied, {} rejected",
            s.reloads.applied, s.reloads.rejected
        ),
        if s.reloads.rejected > 0 {
            t.warn()
        } else {
            t.text()
        },
    );
    row(
        "components",
        format!("{} ({} failing)", s.components.len(), failing.len()),
        t.text(),
    );
    if let Some(l) = &s.log_level {
        row(
            "log level",
            format!("{} until {} UTC", l.level, fmt::clock(l.until_unix as f64)),
            t.warn(),
        );
    }
    lines
}

fn render_agent(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let block = panel(" Agent ", t);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let lines = match &app.status {
        Some(s) => agent_lines(app, s, usize::from(inner.width)),
        None => vec![Line::from(Span::styled(
            "no answer from the agent yet",
            t.dim(),
        ))],
    };
    f.render_widget(Paragraph::new(lines), inner);
}
