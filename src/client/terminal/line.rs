//! The line mode, for pipes and scripts (chosen when stdout is not a terminal, or with
//! `--plain`): lines read from stdin are sent, the transcript is printed a line at a time, your
//! own messages in the same format as everyone's. `--json` prints each event as one JSON object.

use std::io::{IsTerminal, Write};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc::UnboundedReceiver;

use super::command::{self, Input};
use super::room::{Line, RoomView};
use super::text::chat_line;
use crate::client::{Client, Event};

/// Runs until the client has left (on `/quit`, at the end of stdin, or when the room ends).
pub async fn run(
    client: Client,
    mut events: UnboundedReceiver<Event>,
    mut room: RoomView,
    json: bool,
) {
    let dim = !json && std::io::stdout().is_terminal();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut input_open = true;
    loop {
        tokio::select! {
            line = lines.next_line(), if input_open => match line {
                Ok(Some(line)) => match command::parse(&line) {
                    Input::Say(text) => client.send(&text),
                    Input::Quit => client.leave(),
                    Input::Nothing => {}
                    Input::Reply(text) if !json => print(&[Line::Notice(text)], dim),
                    Input::Reply(_) => {}
                    Input::Who if !json => print(&[Line::Notice(command::who(&room))], dim),
                    Input::Who => {}
                },
                Ok(None) | Err(_) => {
                    input_open = false;
                    client.leave();
                }
            },
            event = events.recv() => match event {
                Some(Event::Left) | None => break,
                Some(event) if json => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{}", serde_json::to_string(&event).unwrap_or_default());
                    let _ = out.flush();
                }
                Some(event) => {
                    let lines = room.apply(&event);
                    print(&lines, dim);
                }
            },
        }
    }
}

/// Prints transcript lines: chat as `[time] name: text`, the rest as `* ...` / `! ...` (dim on
/// a terminal).
fn print(lines: &[Line], dim: bool) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        let text = match line {
            Line::Chat { message, .. } => chat_line(message),
            Line::Notice(text) => format!("* {text}"),
            Line::Problem(text) => format!("! {text}"),
        };
        let _ = match (line, dim) {
            (Line::Chat { .. }, _) | (_, false) => writeln!(out, "{text}"),
            (_, true) => writeln!(out, "\x1b[2m{text}\x1b[0m"),
        };
    }
    let _ = out.flush();
}
