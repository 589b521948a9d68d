//! Small pieces every screen uses: a list cursor, a scroll position, a one-line text input,
//! panels and search matching.

use crate::keys::Cmd;
use crate::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Row, Table, TableState};
use ratatui::Frame;
use std::cell::Cell;

/// The selected row of a list, and the first row shown. The offset and the page height are
/// only known when drawing (which borrows the app immutably), hence the cells.
#[derive(Debug, Default)]
pub struct Cursor {
    /// The selected row.
    pub pos: usize,
    offset: Cell<usize>,
    page: Cell<usize>,
}

impl Cursor {
    /// Moves for a list command; `false` when `cmd` is not one.
    pub fn apply(&mut self, cmd: Cmd, len: usize) -> bool {
        let page = self.page.get().max(1);
        let last = len.saturating_sub(1);
        self.pos = match cmd {
            Cmd::Up => self.pos.saturating_sub(1),
            Cmd::Down => (self.pos + 1).min(last),
            Cmd::PageUp => self.pos.saturating_sub(page),
            Cmd::PageDown => (self.pos + page).min(last),
            Cmd::Home => 0,
            Cmd::End => last,
            _ => return false,
        };
        true
    }

    /// The selected row, kept inside a list of `len` rows (rows come and go on refresh).
    pub fn get(&self, len: usize) -> usize {
        self.pos.min(len.saturating_sub(1))
    }

    /// Draws `table` over `len` rows with the selection, keeping the scroll offset between
    /// frames so the selection moves inside the page instead of the page jumping.
    pub fn render_table(
        &self,
        f: &mut Frame,
        area: Rect,
        table: Table,
        len: usize,
        rows_of_chrome: u16,
    ) {
        let mut state = TableState::default()
            .with_offset(self.offset.get().min(len.saturating_sub(1)))
            .with_selected(if len == 0 { None } else { Some(self.get(len)) });
        f.render_stateful_widget(table, area, &mut state);
        self.offset.set(state.offset());
        self.page
            .set(usize::from(area.height.saturating_sub(rows_of_chrome)).max(1));
    }

    /// The rows `[start, end)` of a list of `len` rows a page of `area` shows, with the
    /// selection inside and the offset kept between frames as [`Cursor::render_table`] keeps
    /// it: a long list then builds only the rows it draws.
    pub fn window(&self, area: Rect, len: usize, rows_of_chrome: u16) -> (usize, usize) {
        let page = usize::from(area.height.saturating_sub(rows_of_chrome)).max(1);
        let sel = self.get(len);
        let mut start = self.offset.get().min(len.saturating_sub(1));
        if sel < start {
            start = sel;
        } else if sel >= start + page {
            start = sel + 1 - page;
        }
        (start, (start + page).min(len))
    }

    /// Draws `table`, holding only the rows `[start, ..)` of a list of `len` rows (from
    /// [`Cursor::window`]), with the selection.
    pub fn render_window(
        &self,
        f: &mut Frame,
        area: Rect,
        table: Table,
        (start, len): (usize, usize),
        rows_of_chrome: u16,
    ) {
        let mut state = TableState::default().with_selected(if len == 0 {
            None
        } else {
            Some(self.get(len) - start)
        });
        f.render_stateful_widget(table, area, &mut state);
        self.offset.set(start);
        self.page
            .set(usize::from(area.height.saturating_sub(rows_of_chrome)).max(1));
    }
}

/// A scroll position in a text of known length.
#[derive(Debug, Default)]
pub struct Scroll {
    /// The first line shown.
    pub top: usize,
    page: Cell<usize>,
}

impl Scroll {
    /// Scrolls for a list command over `total` lines; `false` when `cmd` is not one.
    pub fn apply(&mut self, cmd: Cmd, total: usize) -> bool {
        let page = self.page.get().max(1);
        let max = total.saturating_sub(page);
        self.top = match cmd {
            Cmd::Up => self.top.saturating_sub(1),
            Cmd::Down => (self.top + 1).min(max),
            Cmd::PageUp => self.top.saturating_sub(page),
            Cmd::PageDown => (self.top + page).min(max),
            Cmd::Home => 0,
            Cmd::End => max,
            _ => return false,
        };
        true
    }

    /// The first line to show in a view `height` lines high over `total` lines (and
    /// remembers the height for paging).
    pub fn top_for(&self, height: u16, total: usize) -> u16 {
        self.page.set(usize::from(height).max(1));
        let top = self.top.min(total.saturating_sub(usize::from(height)));
        u16::try_from(top).unwrap_or(u16::MAX)
    }
}

/// A one-line text input.
#[derive(Debug, Default, Clone)]
pub struct TextInput {
    /// The text.
    pub text: String,
    /// The cursor, in characters.
    cursor: usize,
}

impl TextInput {
    /// An input holding `text`, the cursor at its end.
    pub fn new(text: &str) -> TextInput {
        TextInput {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// Edits for a key; `false` when the key does not edit text.
    pub fn handle(&mut self, ev: &KeyEvent) -> bool {
        let len = self.text.chars().count();
        match ev.code {
            KeyCode::Char(c)
                if !ev
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }

    /// What fits in `width` cells around the cursor, and the cursor's column in it.
    /// `masked` text is shown through `mask` (a secret).
    pub fn view(&self, width: u16, mask: Option<fn(&str) -> String>) -> (String, u16) {
        let shown = match mask {
            Some(m) => m(&self.text),
            None => self.text.clone(),
        };
        let chars: Vec<char> = shown.chars().collect();
        let cursor = if mask.is_some() {
            chars.len()
        } else {
            self.cursor.min(chars.len())
        };
        let width = usize::from(width.max(1));
        // Keep the cursor on screen: scroll the text left once it reaches the edge.
        let start = (cursor + 1).saturating_sub(width);
        let visible: String = chars.iter().skip(start).take(width).collect();
        let col = u16::try_from(cursor - start).unwrap_or(0);
        (visible, col)
    }
}

/// A value for a sparkline or a bar chart. Those multiply values by their height in eighths
/// of a cell, which overflows for huge values: anything past 2^40 is drawn as 2^40 (and
/// NaN or negative as 0).
pub fn chart_value(v: f64) -> u64 {
    const CAP: f64 = (1u64 << 40) as f64;
    if v.is_finite() && v > 0.0 {
        v.min(CAP) as u64
    } else {
        0
    }
}

/// A bordered panel with a title.
pub fn panel<'a>(title: impl Into<Line<'a>>, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border())
        .title(title)
}

/// A rectangle `w`x`h` (at most `area`) centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A search as typed, ready to match case-insensitively (`None`: no search).
pub fn needle(filter: &str) -> Option<String> {
    let f = filter.trim();
    (!f.is_empty()).then(|| f.to_lowercase())
}

/// Whether `hay` contains the search.
pub fn found(hay: &str, needle: Option<&str>) -> bool {
    needle.is_none_or(|n| hay.to_lowercase().contains(n))
}

/// `text` with every match of the search styled as a match.
pub fn highlight<'a>(text: &str, needle: Option<&str>, base: Style, theme: &Theme) -> Line<'a> {
    let Some(n) = needle.filter(|n| !n.is_empty()) else {
        return Line::from(Span::styled(text.to_string(), base));
    };
    let lower = text.to_lowercase();
    // Lowercasing can change byte lengths (rare letters); highlighting is then skipped
    // rather than cutting inside a character.
    if lower.len() != text.len() {
        return Line::from(Span::styled(text.to_string(), base));
    }
    let mut spans = Vec::new();
    let mut at = 0;
    for (i, _) in lower.match_indices(n) {
        if i < at {
            continue;
        }
        if let (Some(before), Some(hit)) = (text.get(at..i), text.get(i..i + n.len())) {
            spans.push(Span::styled(before.to_string(), base));
            spans.push(Span::styled(hit.to_string(), base.patch(theme.matched())));
            at = i + n.len();
        }
    }
    spans.push(Span::styled(text.get(at..).unwrap_or("").to_string(), base));
    Line::from(spans)
}

/// Agent-supplied text made safe for a cell: a tab becomes a space and other control
/// characters (an escape sequence in a log line) become `?`, so nothing reaches the
/// terminal raw and every character takes one cell.
pub fn clean(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}

/// A title: `name` and, when searching, the search.
pub fn title_with_filter(name: String, filter: &str) -> String {
    match needle(filter) {
        Some(_) => format!(" {name}, search: \"{}\" ", filter.trim()),
        None => format!(" {name} "),
    }
}

/// A table with the UI's header style and selection look.
pub fn table<'a>(
    header: Vec<String>,
    rows: Vec<Row<'a>>,
    widths: Vec<Constraint>,
    theme: &Theme,
) -> Table<'a> {
    Table::new(rows, widths)
        .header(Row::new(header).style(theme.header()))
        .row_highlight_style(theme.selected())
        .column_spacing(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn text_input_edits_at_the_cursor() {
        let mut t = TextInput::new("hllo");
        for _ in 0..3 {
            t.handle(&key(KeyCode::Left));
        }
        t.handle(&key(KeyCode::Char('e')));
        assert_eq!(t.text, "hello");
        t.handle(&key(KeyCode::End));
        t.handle(&key(KeyCode::Backspace));
        t.handle(&key(KeyCode::Home));
        t.handle(&key(KeyCode::Delete));
        assert_eq!(t.text, "ell");
        // Edits past either end do nothing (and do not panic).
        t.handle(&key(KeyCode::Home));
        t.handle(&key(KeyCode::Backspace));
        assert_eq!(t.text, "ell");
        assert!(!t.handle(&key(KeyCode::Enter)));
        let ctrl = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert!(!t.handle(&ctrl));
    }

    #[test]
    fn text_input_scrolls_to_keep_the_cursor_visible() {
        let t = TextInput::new("abcdefghij");
        let (v, col) = t.view(5, None);
        assert_eq!((v.as_str(), col), ("ghij", 4));
        let (v, _) = t.view(20, Some(crate::fmt::mask));
        assert_eq!(v, "**********");
    }

    #[test]
    fn cursor_stays_in_the_list() {
        let mut c = Cursor::default();
        c.apply(Cmd::Up, 3);
        assert_eq!(c.pos, 0);
        c.apply(Cmd::End, 3);
        assert_eq!(c.pos, 2);
        c.apply(Cmd::Down, 3);
        assert_eq!(c.pos, 2);
        assert_eq!(c.get(1), 0);
        assert!(!c.apply(Cmd::Sort, 3));
    }

    #[test]
    fn chart_values_cannot_overflow_a_chart() {
        assert_eq!(chart_value(f64::NAN), 0);
        assert_eq!(chart_value(-3.0), 0);
        assert_eq!(chart_value(2.7), 2);
        assert_eq!(chart_value(1e300), 1 << 40);
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(clean("a\tb\x1b[31mred"), "a b?[31mred");
        assert_eq!(clean("plain"), "plain");
    }

    #[test]
    fn highlight_marks_every_match() {
        let theme = Theme::new(false);
        let l = highlight("Error: an error", Some("error"), Style::new(), &theme);
        let styled: Vec<_> = l
            .spans
            .iter()
            .filter(|s| s.style == theme.matched())
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(styled, ["Error", "error"]);
    }
}
