//! `switchboard chat`: a terminal chat on top of the client library. Lines typed are sent;
//! messages print as `[14:03:12] alice: hello`; `--json` speaks one JSON object per line.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::net::IpAddr;

use chrono::{Local, TimeZone};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{Client, ClientConfig, ConnectError, Event, LinkState};
use crate::password::Password;
use crate::protocol::{ChatMessage, HostRef};

/// `switchboard chat URL --room R --name N [--password P] [--json]`
#[derive(clap::Args, Debug)]
pub struct ChatArgs {
    /// Signaling URL, e.g. ws://127.0.0.1:8080/ws.
    pub url: String,
    /// Room to join.
    #[arg(long)]
    pub room: String,
    /// Your display name.
    #[arg(long)]
    pub name: String,
    /// Room password. Visible to other users of this machine (ps) when given here: prefer the
    /// environment variable or --ask-password.
    #[arg(long, env = "SWITCHBOARD_ROOM_PASSWORD", hide_env_values = true)]
    pub password: Option<Password>,
    /// Ask for the room password on the terminal (not echoed); without a terminal, read it
    /// from the first line of standard input.
    #[arg(long, conflicts_with = "password")]
    pub ask_password: bool,
    /// Join token (JWT) for rooms that need one; better given through the environment.
    #[arg(long, env = "SWITCHBOARD_TOKEN", hide_env_values = true)]
    pub token: Option<Password>,
    /// Print every event as one JSON object per line; read lines as messages.
    #[arg(long)]
    pub json: bool,
    /// Address the WebRTC sockets bind (127.0.0.1 keeps everything on loopback).
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: IpAddr,
    /// Use no STUN/TURN servers (instead of the server's list).
    #[arg(long)]
    pub no_ice_servers: bool,
    /// Keep where you left a relay room's chat in this file, so the next run shows exactly
    /// what you missed (created if need be).
    #[arg(long)]
    pub resume_file: Option<std::path::PathBuf>,
}

/// Runs the terminal chat; the exit code is non-zero when the join is refused.
pub async fn run(args: ChatArgs) -> anyhow::Result<()> {
    let mut config = ClientConfig::new(&args.url, &args.room, &args.name);
    config.password = if args.ask_password {
        Some(super::ask::ask_password()?)
    } else {
        args.password.clone()
    };
    config.token = args.token.clone();
    config.bind = args.bind;
    config.resume_file = args.resume_file.clone();
    if args.no_ice_servers {
        config.ice_servers = Some(Vec::new());
    }
    let (client, mut events) = match Client::connect(config).await {
        Ok(joined) => joined,
        Err(ConnectError::Refused { code, message }) => {
            anyhow::bail!("join refused: {message} ({})", code.as_str())
        }
        Err(e) => return Err(e.into()),
    };
    let printer = Printer {
        json: args.json,
        dim: !args.json && std::io::stdout().is_terminal(),
    };
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut input_open = true;
    loop {
        tokio::select! {
            line = lines.next_line(), if input_open => match line {
                Ok(Some(line)) if line.trim() == "/quit" => client.leave(),
                Ok(Some(line)) if !line.trim().is_empty() => client.send(line.trim_end()),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    input_open = false;
                    client.leave();
                }
            },
            event = events.recv() => match event {
                Some(Event::Left) | None => break,
                Some(event) => printer.print(&event),
            },
        }
    }
    Ok(())
}

struct Printer {
    json: bool,
    dim: bool,
}

impl Printer {
    fn print(&self, event: &Event) {
        let mut out = std::io::stdout().lock();
        if self.json {
            let _ = writeln!(out, "{}", serde_json::to_string(event).unwrap_or_default());
            return;
        }
        match event {
            Event::Chat { message } => {
                let _ = writeln!(out, "{}", chat_line(message));
            }
            Event::History { messages } => {
                for m in messages {
                    let _ = writeln!(out, "{}", chat_line(m));
                }
            }
            other => {
                if let Some(text) = status_line(other) {
                    let line = if self.dim {
                        format!("\x1b[2m{text}\x1b[0m")
                    } else {
                        text
                    };
                    let _ = writeln!(out, "{line}");
                }
            }
        }
        let _ = out.flush();
    }
}

/// `[14:03:12] alice: hello`, in local time.
pub fn chat_line(m: &ChatMessage) -> String {
    let time = Local
        .timestamp_millis_opt(m.ts as i64)
        .single()
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_else(|| "--:--:--".into());
    format!("[{time}] {}: {}", printable(&m.name), printable(&m.text))
}

/// `s` safe to print on a terminal: every control character (C0 with tab and newline, DEL, C1,
/// so no escape sequence and no second line) and every bidirectional override or isolate (so
/// no text that reads backwards) becomes U+FFFD. Names and text come from other members.
pub fn printable(s: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if unsafe_char(c) { '\u{fffd}' } else { c })
            .collect(),
    )
}

/// One dim line for joins, leaves, host changes and errors.
fn status_line(event: &Event) -> Option<String> {
    let line = match event {
        Event::Joined {
            room,
            resumed: true,
            ..
        } => format!("* back in {room}"),
        Event::Joined {
            room,
            topology,
            members,
            ..
        } => {
            let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
            format!("* joined {room} ({topology}); here: {}", list(&names))
        }
        Event::MemberJoined { peer } => format!("* {} joined", peer.name),
        Event::MemberLeft { name, reason, .. } => {
            format!(
                "* {} left ({reason:?})",
                name.as_deref().unwrap_or("someone")
            )
        }
        Event::HostChanged {
            host: HostRef::Relay,
        } => "* the server now hosts the room".into(),
        Event::HostChanged {
            host: HostRef::Peer(id),
        } => format!("* new host: {id}"),
        Event::ServerError { code, message, .. } => format!("! {message} ({})", code.as_str()),
        Event::Retrying {
            peer,
            attempt,
            delay_ms,
        } => format!("* connecting to {peer} again in {delay_ms} ms (attempt {attempt})"),
        Event::ServerShutdown { reason, .. } => format!("* {}", printable(reason)),
        Event::Reconnecting { attempt, delay_ms } => {
            format!("* connection lost; reconnecting in {delay_ms} ms (attempt {attempt})")
        }
        Event::Kicked { reason } => format!("! you were removed from the room: {reason}"),
        Event::RoomClosed { reason } => format!("! the room was closed: {reason}"),
        Event::Announcement { text } => format!("* announcement: {text}"),
        Event::Replaced => {
            "! this membership was resumed by another connection (the same client elsewhere); stopping".into()
        }
        Event::Connection {
            state: LinkState::Failed,
            peer,
        } => format!("! connection to {peer} failed"),
        _ => return None,
    };
    Some(printable(&line).into_owned())
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "nobody else".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{LeaveReason, PeerId, PeerInfo};

    fn chat(name: &str, text: &str) -> ChatMessage {
        ChatMessage {
            id: "1".into(),
            from: "p".into(),
            name: name.into(),
            text: text.into(),
            ts: 0,
            seq: None,
        }
    }

    #[test]
    fn peer_text_and_names_print_without_control_or_escape_characters() {
        let hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\u{9b}1m\r[00:00:00] admin: fake\nline\u{202e}txt.exe\u{2066}\x7f";
        let lines = [
            chat_line(&chat(hostile, hostile)),
            status_line(&Event::MemberJoined {
                peer: PeerInfo {
                    id: PeerId::from("p"),
                    name: hostile.into(),
                    identity: None,
                },
            })
            .unwrap(),
            status_line(&Event::MemberLeft {
                peer_id: PeerId::from("p"),
                name: Some(hostile.into()),
                reason: LeaveReason::Left,
            })
            .unwrap(),
        ];
        for line in lines {
            assert!(
                !line.chars().any(|c| c.is_control()
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)),
                "{line:?}"
            );
            assert!(line.contains("red"), "the text itself is kept: {line:?}");
        }
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(printable("héllo, wörld ✓"), Cow::Borrowed(_)));
        assert_eq!(printable("a\tb"), "a\u{fffd}b");
    }
}
