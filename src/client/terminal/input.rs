//! The full-screen mode's input line: editing (cursor, word and line deletion, Home and End,
//! Ctrl-A and Ctrl-E as in a shell) and the history of what was typed (Up and Down).

use unicode_width::UnicodeWidthChar;

/// Lines of history kept.
const HISTORY: usize = 200;

#[derive(Debug, Default)]
pub struct Editor {
    text: Vec<char>,
    cursor: usize,
    history: Vec<String>,
    /// Where Up/Down is in the history (`history.len()`: the line being typed).
    recall: usize,
    /// The line being typed, kept while the history is browsed.
    draft: String,
}

impl Editor {
    pub fn text(&self) -> String {
        self.text.iter().collect()
    }

    pub fn insert(&mut self, c: char) {
        self.text.insert(self.cursor, c);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.text.remove(self.cursor);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.len() {
            self.text.remove(self.cursor);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.len());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.len();
    }

    /// Ctrl-U: everything before the cursor goes.
    pub fn kill_to_start(&mut self) {
        self.text.drain(..self.cursor);
        self.cursor = 0;
    }

    /// Ctrl-W: the word before the cursor (and the spaces after it) goes.
    pub fn kill_word(&mut self) {
        let mut start = self.cursor;
        while start > 0 && self.text[start - 1] == ' ' {
            start -= 1;
        }
        while start > 0 && self.text[start - 1] != ' ' {
            start -= 1;
        }
        self.text.drain(start..self.cursor);
        self.cursor = start;
    }

    /// Enter: the line, which goes into the history, and an empty editor.
    pub fn submit(&mut self) -> String {
        let line = self.text();
        if !line.trim().is_empty() && self.history.last() != Some(&line) {
            self.history.push(line.clone());
            if self.history.len() > HISTORY {
                self.history.remove(0);
            }
        }
        self.set(String::new());
        self.recall = self.history.len();
        line
    }

    /// Up: the line typed before the one shown.
    pub fn older(&mut self) {
        if self.recall == self.history.len() {
            self.draft = self.text();
        }
        if self.recall > 0 {
            self.recall -= 1;
            self.set(self.history[self.recall].clone());
        }
    }

    /// Down: back towards the line being typed.
    pub fn newer(&mut self) {
        if self.recall < self.history.len() {
            self.recall += 1;
            let line = match self.history.get(self.recall) {
                Some(line) => line.clone(),
                None => std::mem::take(&mut self.draft),
            };
            self.set(line);
        }
    }

    fn set(&mut self, line: String) {
        self.text = line.chars().collect();
        self.cursor = self.text.len();
    }

    /// The part of the line to show in `width` columns, and the cursor's column in it: the
    /// line scrolls sideways so the cursor stays in view.
    pub fn view(&self, width: usize) -> (String, usize) {
        let width = width.max(2);
        let w = |c: &char| c.width().unwrap_or(0);
        // Start far enough right that the text up to the cursor fits.
        let mut start = 0;
        let mut used: usize = self.text[..self.cursor].iter().map(w).sum();
        while used >= width && start < self.cursor {
            used -= w(&self.text[start]);
            start += 1;
        }
        let mut shown = String::new();
        let mut cols = 0;
        for c in &self.text[start..] {
            if cols + w(c) >= width {
                break;
            }
            cols += w(c);
            shown.push(*c);
        }
        (shown, used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(s: &str) -> Editor {
        let mut e = Editor::default();
        s.chars().for_each(|c| e.insert(c));
        e
    }

    #[test]
    fn editing_keys() {
        let mut e = typed("hello world");
        e.kill_word();
        assert_eq!(e.text(), "hello ");
        e.home();
        e.insert('>');
        e.end();
        e.backspace();
        assert_eq!(e.text(), ">hello");
        e.left();
        e.left();
        e.kill_to_start();
        assert_eq!(e.text(), "lo");
        e.home();
        e.delete();
        assert_eq!(e.text(), "o");
    }

    #[test]
    fn history_recalls_and_keeps_the_draft() {
        let mut e = typed("first");
        e.submit();
        "second".chars().for_each(|c| e.insert(c));
        e.submit();
        "draft".chars().for_each(|c| e.insert(c));
        e.older();
        assert_eq!(e.text(), "second");
        e.older();
        assert_eq!(e.text(), "first");
        e.older();
        assert_eq!(e.text(), "first");
        e.newer();
        e.newer();
        assert_eq!(e.text(), "draft");
    }

    #[test]
    fn a_long_line_scrolls_to_keep_the_cursor_in_view() {
        let e = typed(&"x".repeat(50));
        let (shown, col) = e.view(20);
        assert!(shown.len() < 20 && col < 20, "{shown} {col}");
        let mut e = typed(&"y".repeat(50));
        e.home();
        assert_eq!(e.view(20).1, 0);
    }
}
