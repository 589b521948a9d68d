//! A small multi-line text editor, for editing the configuration without leaving the UI
//! (and for tests, which cannot run `$EDITOR`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::cell::Cell;

use crate::theme::Theme;

/// The text being edited, by lines; positions count characters.
#[derive(Debug)]
pub struct TextArea {
    lines: Vec<String>,
    row: usize,
    col: usize,
    top: Cell<usize>,
    left: Cell<usize>,
    page: Cell<usize>,
}

impl TextArea {
    /// An editor over `text`, the cursor at the start.
    pub fn new(text: &str) -> TextArea {
        let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        TextArea {
            lines,
            row: 0,
            col: 0,
            top: Cell::new(0),
            left: Cell::new(0),
            page: Cell::new(10),
        }
    }

    /// The text (lines joined with `\n`, as it came in).
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The cursor: (line, column), from 0.
    #[cfg(test)]
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    fn line_len(&self, row: usize) -> usize {
        self.lines.get(row).map_or(0, |l| l.chars().count())
    }

    fn byte_at(line: &str, col: usize) -> usize {
        line.char_indices().nth(col).map_or(line.len(), |(i, _)| i)
    }

    fn insert(&mut self, s: &str) {
        if let Some(line) = self.lines.get_mut(self.row) {
            let at = Self::byte_at(line, self.col);
            line.insert_str(at, s);
            self.col += s.chars().count();
        }
    }

    /// Edits or moves for a key; `false` when the key means neither.
    pub fn handle(&mut self, ev: &KeyEvent) -> bool {
        let page = self.page.get().max(1);
        match ev.code {
            KeyCode::Char(c)
                if !ev
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                self.insert(&c.to_string());
            }
            // YAML forbids tabs for indentation: Tab indents with spaces.
            KeyCode::Tab => self.insert("  "),
            KeyCode::Enter => {
                if let Some(line) = self.lines.get_mut(self.row) {
                    let at = Self::byte_at(line, self.col);
                    let rest = line.split_off(at);
                    self.lines.insert(self.row + 1, rest);
                    self.row += 1;
                    self.col = 0;
                }
            }
            KeyCode::Backspace => {
                if self.col > 0 {
                    if let Some(line) = self.lines.get_mut(self.row) {
                        self.col -= 1;
                        let at = Self::byte_at(line, self.col);
                        line.remove(at);
                    }
                } else if self.row > 0 {
                    let line = self.lines.remove(self.row);
                    self.row -= 1;
                    self.col = self.line_len(self.row);
                    if let Some(prev) = self.lines.get_mut(self.row) {
                        prev.push_str(&line);
                    }
                }
            }
            KeyCode::Delete => {
                if self.col < self.line_len(self.row) {
                    if let Some(line) = self.lines.get_mut(self.row) {
                        let at = Self::byte_at(line, self.col);
                        line.remove(at);
                    }
                } else if self.row + 1 < self.lines.len() {
                    let next = self.lines.remove(self.row + 1);
                    if let Some(line) = self.lines.get_mut(self.row) {
                        line.push_str(&next);
                    }
                }
            }
            KeyCode::Left => {
                if self.col > 0 {
                    self.col -= 1;
                } else if self.row > 0 {
                    self.row -= 1;
                    self.col = self.line_len(self.row);
                }
            }
            KeyCode::Right => {
                if self.col < self.line_len(self.row) {
                    self.col += 1;
                } else if self.row + 1 < self.lines.len() {
                    self.row += 1;
                    self.col = 0;
                }
            }
            KeyCode::Up => self.row = self.row.saturating_sub(1),
            KeyCode::Down => self.row = (self.row + 1).min(self.lines.len() - 1),
            KeyCode::PageUp => self.row = self.row.saturating_sub(page),
            KeyCode::PageDown => self.row = (self.row + page).min(self.lines.len() - 1),
            KeyCode::Home => self.col = 0,
            KeyCode::End => self.col = self.line_len(self.row),
            _ => return false,
        }
        self.col = self.col.min(self.line_len(self.row));
        true
    }

    /// Draws the text with line numbers in `area` and puts the terminal cursor on the
    /// editing position.
    pub fn render(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        if area.width < 8 || area.height == 0 {
            return;
        }
        let height = usize::from(area.height);
        let gutter = 5usize;
        let width = usize::from(area.width) - gutter;
        self.page.set(height);
        // Scroll just enough to keep the cursor in view.
        let mut top = self.top.get();
        if self.row < top {
            top = self.row;
        } else if self.row >= top + height {
            top = self.row + 1 - height;
        }
        self.top.set(top);
        let mut left = self.left.get();
        if self.col < left {
            left = self.col;
        } else if self.col >= left + width {
            left = self.col + 1 - width;
        }
        self.left.set(left);

        let lines: Vec<Line> = self
            .lines
            .iter()
            .enumerate()
            .skip(top)
            .take(height)
            .map(|(i, l)| {
                let shown: String = l.chars().skip(left).take(width).collect();
                Line::from(vec![
                    Span::styled(format!("{:>4} ", i + 1), theme.dim()),
                    Span::raw(shown),
                ])
            })
            .collect();
        f.render_widget(Paragraph::new(lines), area);
        let x = area.x + u16::try_from(gutter + self.col - left).unwrap_or(0);
        let y = area.y + u16::try_from(self.row - top).unwrap_or(0);
        f.set_cursor_position(Position::new(x, y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(t: &mut TextArea, code: KeyCode) {
        t.handle(&KeyEvent::new(code, KeyModifiers::NONE));
    }

    fn typing(t: &mut TextArea, s: &str) {
        for c in s.chars() {
            press(t, KeyCode::Char(c));
        }
    }

    #[test]
    fn edits_split_and_join_lines() {
        let mut t = TextArea::new("a: 1\nb: 2");
        press(&mut t, KeyCode::End);
        press(&mut t, KeyCode::Enter);
        typing(&mut t, "c: 3");
        assert_eq!(t.text(), "a: 1\nc: 3\nb: 2");
        press(&mut t, KeyCode::Home);
        press(&mut t, KeyCode::Backspace);
        assert_eq!(t.text(), "a: 1c: 3\nb: 2");
        press(&mut t, KeyCode::End);
        press(&mut t, KeyCode::Delete);
        assert_eq!(t.text(), "a: 1c: 3b: 2");
        press(&mut t, KeyCode::Tab);
        assert_eq!(t.text(), "a: 1c: 3  b: 2");
    }

    #[test]
    fn keys_at_the_edges_do_nothing() {
        let mut t = TextArea::new("");
        for code in [
            KeyCode::Backspace,
            KeyCode::Delete,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::PageUp,
            KeyCode::PageDown,
        ] {
            press(&mut t, code);
        }
        assert_eq!(t.text(), "");
        assert_eq!(t.cursor(), (0, 0));
    }

    #[test]
    fn multibyte_characters_are_edited_whole() {
        let mut t = TextArea::new("héllo");
        press(&mut t, KeyCode::Right);
        press(&mut t, KeyCode::Right);
        press(&mut t, KeyCode::Backspace);
        assert_eq!(t.text(), "hllo");
    }
}
