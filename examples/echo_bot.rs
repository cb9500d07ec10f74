//! A chat bot on `switchboard::client`: joins a room in any topology and answers
//! `!echo <text>` and `!time`, next to browsers and terminal clients.
//!
//! ```text
//! cargo run --example echo_bot -- ws://127.0.0.1:8080/ws lobby
//! ```
//! Set `BOT_LOOPBACK=1` to bind WebRTC to 127.0.0.1 and use no STUN servers (how the tests run).

use switchboard::client::{Client, ClientConfig, Event};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let room = args.next().unwrap_or_else(|| "lobby".into());

    let mut config = ClientConfig::new(&url, &room, "echo-bot");
    if std::env::var_os("BOT_LOOPBACK").is_some() {
        config = config.loopback();
    }
    let (bot, mut events) = Client::connect(config).await?;
    println!("joined {room}; say `!echo hello` or `!time` in the room");

    let mut stop = std::pin::pin!(tokio::signal::ctrl_c());
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = &mut stop, if !stopping => {
                stopping = true;
                bot.leave();
            }
            event = events.recv() => match event {
                Some(Event::Chat { message }) => {
                    if let Some(reply) = answer(&message.name, &message.text) {
                        bot.send(&reply);
                    }
                }
                Some(Event::MemberJoined { peer }) => bot.send(&format!("welcome, {}!", peer.name)),
                Some(Event::ServerError { message, .. }) => eprintln!("server: {message}"),
                Some(Event::Left) | None => break,
                Some(_) => {}
            },
        }
    }
    Ok(())
}

/// The bot's reply to one chat line, if it has one.
fn answer(from: &str, text: &str) -> Option<String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("!echo ") {
        Some(format!("{from} said: {rest}"))
    } else if text == "!time" {
        Some(format!(
            "server time is {}",
            chrono::Local::now().format("%H:%M:%S")
        ))
    } else {
        None
    }
}
