//! Every style the UI uses, in one place, so that NO_COLOR is one switch: without colour
//! each style falls back to bold or reverse (or nothing), never to a colour.

use ratatui::style::{Color, Modifier, Style};

/// The UI's styles.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// A theme with colours, or (`no_color`) with bold and reverse only.
    pub fn new(no_color: bool) -> Theme {
        Theme { color: !no_color }
    }

    fn pick(&self, colored: Style, plain: Style) -> Style {
        if self.color {
            colored
        } else {
            plain
        }
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        Style::default()
    }

    /// Table headers and labels.
    pub fn header(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// Emphasis without meaning good or bad.
    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// The selected row, the current tab.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Secondary text (units, hints).
    pub fn dim(&self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray), Style::new())
    }

    /// Good news: healthy, PASS, collecting.
    pub fn ok(&self) -> Style {
        self.pick(Style::new().fg(Color::Green), Style::new())
    }

    /// Needs a look: WARN, half-open, paused.
    pub fn warn(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// Bad news: errors, FAIL, open circuits.
    pub fn error(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// Sparklines and bars.
    pub fn chart(&self) -> Style {
        self.pick(Style::new().fg(Color::Cyan), Style::new())
    }

    /// A second series (throughput next to queue depth).
    pub fn chart_alt(&self) -> Style {
        self.pick(Style::new().fg(Color::Magenta), Style::new())
    }

    /// A search match inside a line.
    pub fn matched(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Black).bg(Color::Yellow),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }

    /// A diff's added line.
    pub fn added(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Green),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// A diff's removed line.
    pub fn removed(&self) -> Style {
        self.pick(Style::new().fg(Color::Red), Style::new())
    }

    /// Borders of panels.
    pub fn border(&self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray), Style::new())
    }

    /// The border of the focused panel or a popup.
    pub fn border_focus(&self) -> Style {
        self.pick(Style::new().fg(Color::Cyan), Style::new())
    }
}
