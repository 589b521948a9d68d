//! The guided first run: where data goes, which discovered services to monitor, then the
//! configuration is written and the agent started (by [`Setup`]).

use crate::app::{Action, App, Screen, Timers};
use crate::backend::{Destination, Setup, SetupChoice};
use crate::fmt;
use crate::keys::{self, Cmd, Scope};
use crate::widgets::{centered, panel, Cursor, TextInput};
use crossterm::event::{KeyEvent, KeyModifiers};
use lookout_api::Services;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

/// The steps, in order (the destination's details are part of step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Step {
    #[default]
    Destination,
    Endpoint,
    LicenseKey,
    Services,
    Confirm,
}

const DESTINATIONS: [&str; 3] = [
    "Local only (nothing leaves this host)",
    "OTLP endpoint",
    "New Relic",
];

/// The wizard's state.
#[derive(Debug, Default)]
pub(crate) struct Wizard {
    pub step: Step,
    /// The destination chosen, an index into [`DESTINATIONS`].
    pub dest: usize,
    pub endpoint: TextInput,
    pub key: TextInput,
    /// The region as switched by the operator (`None`: read from the key).
    pub region_eu: Option<bool>,
    /// What discovery found (asked once, when step 2 is first reached).
    pub found: Option<Result<Services, String>>,
    /// Which of the found services are ticked.
    pub picked: Vec<bool>,
    pub cursor: Cursor,
    pub error: Option<String>,
}

impl Wizard {
    /// Whether the current step is a text field.
    pub fn typing(&self) -> bool {
        matches!(self.step, Step::Endpoint | Step::LicenseKey)
    }

    /// `eu` for a key that says so (EU keys start with `eu`), else `us`, unless switched.
    fn region(&self) -> &'static str {
        let eu = self.region_eu.unwrap_or_else(|| {
            self.key
                .text
                .trim()
                .get(..2)
                .is_some_and(|p| p.eq_ignore_ascii_case("eu"))
        });
        if eu {
            "eu"
        } else {
            "us"
        }
    }

    fn destination(&self) -> Destination {
        match self.dest {
            1 => Destination::Otlp {
                endpoint: self.endpoint.text.trim().to_string(),
            },
            2 => Destination::NewRelic {
                license_key: self.key.text.trim().to_string(),
                region: self.region().to_string(),
            },
            _ => Destination::LocalOnly,
        }
    }

    fn services(&self) -> &[lookout_api::Service] {
        match &self.found {
            Some(Ok(s)) => &s.services,
            _ => &[],
        }
    }

    fn choice(&self) -> SetupChoice {
        let services = self
            .services()
            .iter()
            .zip(&self.picked)
            .filter(|(_, p)| **p)
            .filter_map(|(s, _)| s.source_id.clone())
            .collect();
        SetupChoice {
            destination: self.destination(),
            services,
        }
    }

    fn describe_destination(&self) -> String {
        match self.destination() {
            Destination::LocalOnly => "local only: nothing leaves this host".to_string(),
            Destination::Otlp { endpoint } => format!("OTLP endpoint {endpoint}"),
            Destination::NewRelic {
                license_key,
                region,
            } => format!(
                "New Relic, region {region}, key {}",
                fmt::mask(&license_key)
            ),
        }
    }

    /// Step 2, discovering the services the first time.
    fn enter_services(&mut self, setup: Option<&dyn Setup>) {
        if self.found.is_none() {
            let found = match setup {
                Some(s) => s.discover(),
                None => Err("the guided first run is not available".to_string()),
            };
            // Everything discovery could configure starts ticked: the common case is "yes".
            self.picked = match &found {
                Ok(s) => s.services.iter().map(|s| s.source_id.is_some()).collect(),
                Err(_) => Vec::new(),
            };
            self.found = Some(found);
        }
        self.step = Step::Services;
    }
}

pub(crate) fn on_key(
    app: &mut App,
    cmd: Option<Cmd>,
    key: &KeyEvent,
    setup: Option<&dyn Setup>,
) -> Action {
    let Some(mut w) = app.wizard.take() else {
        return Action::None;
    };
    // Ctrl-C leaves from anywhere; `q` only from the first step (elsewhere it is a slip).
    if cmd == Some(Cmd::Quit)
        && (key.modifiers.contains(KeyModifiers::CONTROL) || w.step == Step::Destination)
    {
        app.wizard = Some(w);
        return Action::Quit;
    }
    if cmd.is_some() {
        w.error = None;
    }
    let action = match (w.step, cmd) {
        (Step::Destination, Some(Cmd::Submit)) => {
            match w.dest {
                1 => w.step = Step::Endpoint,
                2 => w.step = Step::LicenseKey,
                _ => w.enter_services(setup),
            }
            Action::Redraw
        }
        (Step::Destination, Some(c)) => {
            let last = DESTINATIONS.len() - 1;
            w.dest = match c {
                Cmd::Up | Cmd::PageUp => w.dest.saturating_sub(1),
                Cmd::Down | Cmd::PageDown => (w.dest + 1).min(last),
                Cmd::Home => 0,
                Cmd::End => last,
                _ => return keep(app, w, Action::None),
            };
            Action::Redraw
        }
        (Step::Endpoint, Some(Cmd::Submit)) => {
            let e = w.endpoint.text.trim();
            let rest = e
                .strip_prefix("https://")
                .or_else(|| e.strip_prefix("http://"));
            if rest.is_some_and(|r| !r.is_empty()) {
                w.enter_services(setup);
            } else {
                w.error = Some("the endpoint is a URL: https://host:4318 or http://...".into());
            }
            Action::Redraw
        }
        (Step::LicenseKey, Some(Cmd::Submit)) => {
            if w.key.text.trim().is_empty() {
                w.error = Some("paste the license key first".to_string());
            } else {
                w.enter_services(setup);
            }
            Action::Redraw
        }
        (Step::LicenseKey, Some(Cmd::Region)) => {
            w.region_eu = Some(w.region() != "eu");
            Action::Redraw
        }
        (Step::Endpoint | Step::LicenseKey, Some(Cmd::Back)) => {
            w.step = Step::Destination;
            Action::Redraw
        }
        (Step::Endpoint | Step::LicenseKey, _) => {
            let input = if w.step == Step::Endpoint {
                &mut w.endpoint
            } else {
                &mut w.key
            };
            if input.handle(key) {
                Action::Redraw
            } else {
                Action::None
            }
        }
        (Step::Services, Some(Cmd::Toggle)) => {
            let i = w.cursor.get(w.services().len());
            match w.services().get(i) {
                Some(s) if s.source_id.is_some() => {
                    if let Some(p) = w.picked.get_mut(i) {
                        *p = !*p;
                    }
                }
                Some(s) => {
                    w.error = Some(format!(
                        "{} cannot be configured: discovery is not confident enough",
                        s.instance
                    ));
                }
                None => {}
            }
            Action::Redraw
        }
        (Step::Services, Some(Cmd::Submit)) => {
            w.step = Step::Confirm;
            Action::Redraw
        }
        (Step::Services, Some(Cmd::Back)) => {
            w.step = match w.dest {
                1 => Step::Endpoint,
                2 => Step::LicenseKey,
                _ => Step::Destination,
            };
            Action::Redraw
        }
        (Step::Services, Some(c)) => {
            let len = w.services().len();
            if w.cursor.apply(c, len) {
                Action::Redraw
            } else {
                Action::None
            }
        }
        (Step::Confirm, Some(Cmd::Submit)) => {
            let result = match setup {
                Some(s) => s.apply(&w.choice()),
                None => Err("the guided first run is not available".to_string()),
            };
            match result {
                Ok(msg) => {
                    // Done: the agent is starting; the Overview waits for its first answer.
                    app.say(msg);
                    app.screen = Screen::Overview;
                    app.waiting_for_agent = true;
                    app.timers = Timers::default();
                    return Action::Redraw;
                }
                Err(e) => w.error = Some(e),
            }
            Action::Redraw
        }
        (Step::Confirm, Some(Cmd::Back)) => {
            w.step = Step::Services;
            Action::Redraw
        }
        _ => Action::None,
    };
    app.wizard = Some(w);
    action
}

fn keep(app: &mut App, w: Wizard, action: Action) -> Action {
    app.wizard = Some(w);
    action
}

pub(crate) fn render(app: &App, w: &Wizard, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let pop = centered(area, 78, area.height);
    let block = panel(
        Line::from(Span::styled(" lookout: guided first run ", t.bold())),
        t,
    );
    let inner = block.inner(pop);
    f.render_widget(block, pop);
    let [steps, body, error, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(inner);

    let current = match w.step {
        Step::Destination | Step::Endpoint | Step::LicenseKey => 0,
        Step::Services => 1,
        Step::Confirm => 2,
    };
    let mut spans = Vec::new();
    for (i, name) in ["1 Destination", "2 Services", "3 Confirm"]
        .iter()
        .enumerate()
    {
        if i > 0 {
            spans.push(Span::styled(" › ", t.dim()));
        }
        let style = if i == current {
            t.selected().patch(t.bold())
        } else {
            t.dim()
        };
        spans.push(Span::styled(*name, style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), steps);

    match w.step {
        Step::Destination | Step::Endpoint | Step::LicenseKey => {
            render_destination(app, w, f, body)
        }
        Step::Services => render_services(app, w, f, body),
        Step::Confirm => {
            let names = w.choice().services;
            let services = if names.is_empty() {
                "none (host metrics and logs only)".to_string()
            } else {
                names.join(", ")
            };
            let lines = vec![
                Line::from(vec![
                    Span::styled("Destination  ", t.header()),
                    Span::raw(w.describe_destination()),
                ]),
                Line::from(vec![
                    Span::styled("Services     ", t.header()),
                    Span::raw(services),
                ]),
                Line::from(""),
                Line::from("Enter writes the configuration and starts the agent."),
                Line::from(Span::styled("Esc goes back to change something.", t.dim())),
            ];
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
        }
    }

    if let Some(e) = &w.error {
        f.render_widget(
            Paragraph::new(Span::styled(e.clone(), t.error())).wrap(Wrap { trim: true }),
            error,
        );
    }
    let mut keys_line = Vec::new();
    for (label, what) in keys::footer(&[Scope::Setup]) {
        // Only the keys that do something on this step.
        let relevant = match label {
            "space" => w.step == Step::Services,
            "q" => w.step == Step::Destination,
            "Esc" => w.step != Step::Destination,
            _ => true,
        };
        if relevant {
            keys_line.push(Span::styled(format!("{label} "), t.bold()));
            keys_line.push(Span::styled(format!("{what}  "), t.dim()));
        }
    }
    if w.step == Step::LicenseKey {
        keys_line.push(Span::styled("Tab ", t.bold()));
        keys_line.push(Span::styled("region", t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(keys_line)), foot);
}

fn render_destination(app: &App, w: &Wizard, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut lines = vec![
        Line::from("Where should lookout send what it collects?"),
        Line::from(""),
    ];
    for (i, d) in DESTINATIONS.iter().enumerate() {
        let (marker, style) = if i == w.dest {
            ("▶ ", t.selected())
        } else {
            ("  ", t.text())
        };
        lines.push(Line::from(vec![Span::raw(marker), Span::styled(*d, style)]));
    }
    lines.push(Line::from(""));
    let field = match w.step {
        Step::Endpoint => Some(("OTLP/HTTP endpoint: ", &w.endpoint, None)),
        Step::LicenseKey => Some((
            "License key: ",
            &w.key,
            Some(fmt::mask as fn(&str) -> String),
        )),
        _ => None,
    };
    let field_row = lines.len();
    if let Some((label, input, mask)) = field {
        let width = area.width.saturating_sub(label.len() as u16 + 1);
        let (shown, col) = input.view(width, mask);
        lines.push(Line::from(vec![
            Span::styled(label, t.bold()),
            Span::raw(shown),
        ]));
        if let Ok(row) = u16::try_from(field_row) {
            if row < area.height {
                f.set_cursor_position(Position::new(
                    area.x + label.len() as u16 + col,
                    area.y + row,
                ));
            }
        }
        if w.step == Step::LicenseKey {
            let how = if w.region_eu.is_some() {
                "switched"
            } else {
                "from the key"
            };
            lines.push(Line::from(vec![
                Span::styled("Region: ", t.bold()),
                Span::raw(w.region()),
                Span::styled(format!(" ({how}; Tab switches)"), t.dim()),
            ]));
            lines.push(Line::from(Span::styled(
                "The key goes to the agent's secret store, never into the configuration.",
                t.dim(),
            )));
        } else {
            lines.push(Line::from(Span::styled(
                "For example https://otlp.example.com:4318",
                t.dim(),
            )));
        }
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn render_services(app: &App, w: &Wizard, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let [head, list] = Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(area);
    let intro = match &w.found {
        Some(Err(e)) => Line::from(Span::styled(
            format!("discovery failed: {e}; Enter continues without services"),
            t.error(),
        )),
        Some(Ok(s)) if s.services.is_empty() => {
            Line::from("No services found on this host; Enter continues.")
        }
        _ => Line::from("Services found on this host: tick those to monitor."),
    };
    f.render_widget(Paragraph::new(intro).wrap(Wrap { trim: true }), head);
    let rows: Vec<Row> = w
        .services()
        .iter()
        .zip(&w.picked)
        .map(|(s, picked)| {
            let (mark, note) = match &s.source_id {
                Some(id) => (if *picked { "[x]" } else { "[ ]" }, id.clone()),
                None => (" - ", "not confident enough to configure".to_string()),
            };
            Row::new(vec![
                Cell::from(mark),
                Cell::from(s.instance.clone()),
                Cell::from(fmt::share(s.confidence)),
                Cell::from(note),
            ])
        })
        .collect();
    let len = rows.len();
    let tbl = Table::new(
        rows,
        [
            Constraint::Length(3),
            Constraint::Fill(1),
            Constraint::Length(4),
            Constraint::Fill(1),
        ],
    )
    .row_highlight_style(t.selected());
    w.cursor.render_table(f, list, tbl, len, 0);
}
