//! `switchboard chat`: a terminal chat on top of the client library. On a terminal it is a
//! full-screen chat (`tui`); for pipes and scripts, or with `--plain`, it reads lines and prints
//! the transcript a line at a time (`line`); `--json` prints one JSON object per event. Both
//! show the room in words (`room`), through one cleaner of peer text (`text`). Logs never reach
//! the chat: they go to `--log FILE`, or nowhere.

mod command;
mod input;
mod line;
mod room;
mod text;
mod tui;

use std::io::IsTerminal;
use std::net::IpAddr;

pub use self::text::{chat_line, printable};
use super::{Client, ClientConfig, ConnectError};
use crate::password::Password;

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
    /// Line mode even on a terminal: print the transcript a line at a time, read lines to send.
    #[arg(long)]
    pub plain: bool,
    /// Write the client's log here (`RUST_LOG` sets the level; default info). Without it there
    /// is no log: nothing but the chat reaches the screen.
    #[arg(long, value_name = "FILE")]
    pub log: Option<std::path::PathBuf>,
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
    let (client, events) = match Client::connect(config).await {
        Ok(joined) => joined,
        Err(ConnectError::Refused { code, message }) => {
            anyhow::bail!("join refused: {message} ({})", code.as_str())
        }
        Err(e) => return Err(e.into()),
    };
    let room = room::RoomView::new(&args.room, &args.name);
    let full_screen = !args.json
        && !args.plain
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal();
    if full_screen {
        tui::run(client, events, room).await
    } else {
        line::run(client, events, room, args.json).await;
        Ok(())
    }
}
