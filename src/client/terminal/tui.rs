//! The full-screen mode (ratatui on crossterm), chosen when stdin and stdout are a terminal: a
//! status line (room, its shape, the connection), the messages (scrollable, your own marked
//! "…" until the host or relay confirms them, then "✓"), the members with the host and each
//! link's state, and an input line with editing and history.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{
    self, Event as Key, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line as Row, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use tokio::sync::mpsc;
use unicode_width::UnicodeWidthChar;

use super::command::{self, Input};
use super::input::Editor;
use super::room::{Connection, Line, RoomView};
use super::text::{clock, said};
use crate::client::{Client, Event};
use crate::protocol::HostRef;

/// Lines of transcript kept on screen (older ones go).
const KEEP: usize = 5_000;
/// The member list's width; below MIN_WIDTH_FOR_MEMBERS columns it is not shown (`/who` is).
const MEMBERS_WIDTH: u16 = 30;
const MIN_WIDTH_FOR_MEMBERS: u16 = 70;

struct Screen {
    room: RoomView,
    transcript: Vec<Line>,
    /// Rows scrolled up from the bottom (0: following the latest line).
    scroll: usize,
    editor: Editor,
}

/// Runs the full-screen chat until the client has left; the terminal is restored after.
pub async fn run(
    client: Client,
    mut events: mpsc::UnboundedReceiver<Event>,
    room: RoomView,
) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    let stop = Arc::new(AtomicBool::new(false));
    let mut keys = read_keys(stop.clone());
    let mut screen = Screen {
        room,
        transcript: Vec::new(),
        scroll: 0,
        editor: Editor::default(),
    };
    let result = async {
        loop {
            terminal.draw(|frame| draw(frame, &screen))?;
            tokio::select! {
                event = events.recv() => match event {
                    Some(Event::Left) | None => break,
                    Some(event) => screen.take(&event),
                },
                key = keys.recv() => match key {
                    Some(Key::Key(key)) if key.kind != KeyEventKind::Release => screen.key(key, &client),
                    Some(_) => {}
                    None => client.leave(),
                },
            }
        }
        anyhow::Ok(())
    }
    .await;
    stop.store(true, Ordering::Relaxed);
    ratatui::restore();
    let ended: Vec<&Line> = screen.transcript.iter().rev().take(1).collect();
    if let Some(Line::Problem(text)) = ended.first() {
        eprintln!("{text}");
    }
    result
}

/// Terminal input, read on a thread of its own (crossterm's `read` blocks) until `stop`.
fn read_keys(stop: Arc<AtomicBool>) -> mpsc::UnboundedReceiver<Key> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => match event::read() {
                    Ok(key) => {
                        if tx.send(key).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
    rx
}

impl Screen {
    fn take(&mut self, event: &Event) {
        if let Event::Delivered { id } = event {
            let own = self
                .transcript
                .iter_mut()
                .rev()
                .find_map(|line| match line {
                    Line::Chat {
                        message,
                        own: true,
                        delivered,
                    } if message.id == *id => Some(delivered),
                    _ => None,
                });
            if let Some(delivered) = own {
                *delivered = true;
            }
            return;
        }
        let lines = self.room.apply(event);
        if self.scroll > 0 {
            self.scroll += lines.len(); // stay on what is being read
        }
        self.transcript.extend(lines);
        if self.transcript.len() > KEEP {
            self.transcript.drain(..self.transcript.len() - KEEP);
        }
    }

    fn key(&mut self, key: KeyEvent, client: &Client) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => client.leave(),
            KeyCode::Char('d') if ctrl && self.editor.text().is_empty() => client.leave(),
            KeyCode::Char('a') if ctrl => self.editor.home(),
            KeyCode::Char('e') if ctrl => self.editor.end(),
            KeyCode::Char('u') if ctrl => self.editor.kill_to_start(),
            KeyCode::Char('w') if ctrl => self.editor.kill_word(),
            KeyCode::Char(c) if !ctrl => self.editor.insert(c),
            KeyCode::Backspace => self.editor.backspace(),
            KeyCode::Delete => self.editor.delete(),
            KeyCode::Left => self.editor.left(),
            KeyCode::Right => self.editor.right(),
            KeyCode::Home => self.editor.home(),
            KeyCode::End => self.editor.end(),
            KeyCode::Up => self.editor.older(),
            KeyCode::Down => self.editor.newer(),
            KeyCode::PageUp => self.scroll += 10,
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Enter => {
                self.scroll = 0;
                match command::parse(&self.editor.submit()) {
                    Input::Say(text) => client.send(&text),
                    Input::Quit => client.leave(),
                    Input::Who => self.transcript.push(Line::Notice(command::who(&self.room))),
                    Input::Reply(text) => self.transcript.push(Line::Notice(text)),
                    Input::Nothing => {}
                }
            }
            _ => {}
        }
    }
}

fn draw(frame: &mut Frame, screen: &Screen) {
    let [status, body, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(3),
    ])
    .areas(frame.area());
    frame.render_widget(status_line(&screen.room, status.width), status);
    let (messages, members) = if body.width >= MIN_WIDTH_FOR_MEMBERS {
        let [m, r] = Layout::horizontal([Constraint::Min(20), Constraint::Length(MEMBERS_WIDTH)])
            .areas(body);
        (m, Some(r))
    } else {
        (body, None)
    };
    draw_messages(frame, screen, messages);
    if let Some(area) = members {
        frame.render_widget(member_list(&screen.room), area);
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" message · /help ");
    let inner = block.inner(input);
    let prompt = "> ";
    let (shown, cursor) = screen
        .editor
        .view(inner.width.saturating_sub(prompt.len() as u16) as usize);
    frame.render_widget(
        Paragraph::new(Row::from(vec![prompt.bold(), Span::raw(shown)])).block(block),
        input,
    );
    frame.set_cursor_position(Position::new(
        inner.x + prompt.len() as u16 + cursor as u16,
        inner.y,
    ));
}

fn status_line(room: &RoomView, width: u16) -> Paragraph<'static> {
    let connection = match room.connection {
        Connection::Connected => format!("connected as {}", room.my_name),
        Connection::Reconnecting { delay_ms } => {
            format!("reconnecting (next try in {} s)…", delay_ms.div_ceil(1000))
        }
        Connection::Ended => "not in the room".into(),
    };
    let text = format!(" #{} · {} · {connection}", room.room, room.shape());
    let style = match room.connection {
        Connection::Connected => Style::new().fg(Color::Black).bg(Color::Cyan),
        _ => Style::new().fg(Color::Black).bg(Color::Yellow),
    };
    Paragraph::new(format!("{text:<width$}", width = width as usize)).style(style)
}

/// The transcript as screen rows, wrapped to `width`, with styles.
fn rows(line: &Line, width: usize) -> Vec<Row<'static>> {
    let (text, style, mark) = match line {
        Line::Chat {
            message,
            own,
            delivered,
        } => {
            let style = if *own {
                Style::new().fg(Color::Cyan)
            } else {
                Style::new()
            };
            let mark = match (own, delivered) {
                (true, true) => " ✓",
                (true, false) => " …",
                _ => "",
            };
            (
                format!("[{}] {}", clock(message.ts), said(message)),
                style,
                mark,
            )
        }
        Line::Notice(text) => (format!("* {text}"), Style::new().fg(Color::DarkGray), ""),
        Line::Problem(text) => (format!("! {text}"), Style::new().fg(Color::Red), ""),
    };
    let mut out: Vec<Row<'static>> = wrap(&text, width)
        .into_iter()
        .map(|r| Row::styled(r, style))
        .collect();
    if let Some(last) = out.last_mut() {
        if !mark.is_empty() {
            last.push_span(Span::styled(mark, Style::new().fg(Color::DarkGray)));
        }
    }
    out
}

/// Cuts `text` into rows of at most `width` columns (at spaces where it can).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut cols = 0;
    for word in text.split_inclusive(' ') {
        let w: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
        if cols + w > width && cols > 0 {
            rows.push(std::mem::take(&mut row));
            cols = 0;
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if cols + cw > width {
                rows.push(std::mem::take(&mut row));
                cols = 0;
            }
            row.push(c);
            cols += cw;
        }
    }
    rows.push(row);
    rows
}

fn draw_messages(frame: &mut Frame, screen: &Screen, area: Rect) {
    let width = area.width as usize;
    let height = area.height as usize;
    // Only as much of the end of the transcript as the screen (and the scroll) needs.
    let mut all: Vec<Row<'static>> = Vec::new();
    for line in screen.transcript.iter().rev() {
        let mut r = rows(line, width);
        r.reverse();
        all.extend(r);
        if all.len() >= height + screen.scroll {
            break;
        }
    }
    let scroll = screen.scroll.min(all.len().saturating_sub(height));
    let mut shown: Vec<Row<'static>> = all.into_iter().skip(scroll).take(height).collect();
    shown.reverse();
    frame.render_widget(Paragraph::new(shown), area);
    if scroll > 0 {
        let hint = Rect::new(area.x, area.y + area.height - 1, area.width, 1);
        let text = format!("{:^w$}", "more below: PageDown", w = area.width as usize);
        frame.render_widget(
            Paragraph::new(text).style(Style::new().add_modifier(Modifier::REVERSED)),
            hint,
        );
    }
}

fn member_list(room: &RoomView) -> Paragraph<'static> {
    let mut rows = Vec::new();
    let me = if room.i_host() {
        format!("{} (you) ★", room.my_name)
    } else {
        format!("{} (you)", room.my_name)
    };
    rows.push(Row::from(me.bold()));
    if matches!(room.host, Some(HostRef::Relay)) {
        let relay = crate::protocol::PeerId::relay();
        rows.push(Row::from(vec![
            Span::raw("server ★ "),
            Span::raw(room.link_words(&relay)).dark_gray(),
        ]));
    }
    for (id, m) in &room.members {
        let name = super::text::printable(&m.name).into_owned();
        let name = if room.hosts(id) {
            format!("{name} ★")
        } else {
            name
        };
        rows.push(Row::from(vec![
            Span::raw(format!("{name} ")),
            Span::raw(room.link_words(id)).dark_gray(),
        ]));
    }
    let title = format!(" members ({}) · ★ host ", room.members.len() + 1);
    Paragraph::new(rows).block(Block::default().borders(Borders::LEFT).title(title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_character_within_the_width() {
        let text = format!("[12:00:00] ann: {} end", "x".repeat(45));
        let rows = wrap(&text, 20);
        assert!(rows.iter().all(|r| r.chars().count() <= 20), "{rows:?}");
        assert_eq!(rows.concat(), text);
    }
}
