//! Host rooms give a late joiner the room's recent chat, as the relay does: the host keeps the
//! last messages and sends them (a `history` frame) when a member's link opens; after an
//! election the new host sends what it has. Real Rust clients over loopback WebRTC; run inside a
//! loopback-only network namespace (scripts/test.sh does).

mod common;

use common::{config_with_rooms, spawn_server};
use switchboard::client::{Client, Event};
use switchboard::protocol::{ChatMessage, HostRef};
use tokio::sync::mpsc::UnboundedReceiver;

const ROOMS: &str = "[[rooms]]\nname = \"h\"\ntopology = \"host\"";

/// What a client was shown: each chat message once, and whether it came in a `history` frame.
#[derive(Default)]
struct Seen {
    messages: Vec<(ChatMessage, bool)>,
}

impl Seen {
    fn texts(&self) -> Vec<&str> {
        self.messages.iter().map(|(m, _)| m.text.as_str()).collect()
    }

    /// Reads events until every text of `want` was shown.
    async fn until(&mut self, events: &mut UnboundedReceiver<Event>, want: &[&str]) {
        while !want.iter().all(|w| self.texts().contains(w)) {
            let event = tokio::time::timeout(common::WAIT, events.recv())
                .await
                .unwrap_or_else(|_| panic!("waited for {want:?}, saw {:?}", self.texts()))
                .expect("events open");
            match event {
                Event::Chat { message } => self.messages.push((message, false)),
                Event::History { messages } => self
                    .messages
                    .extend(messages.into_iter().map(|m| (m, true))),
                _ => {}
            }
        }
    }
}

/// Reads events until the host is `who`.
async fn until_host(events: &mut UnboundedReceiver<Event>, who: &str) -> HostRef {
    loop {
        let event = tokio::time::timeout(common::WAIT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no host change to {who}"))
            .expect("events open");
        if let Event::HostChanged { host } = event {
            return host;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_gets_the_hosts_recent_chat_and_after_an_election_the_new_hosts() {
    let server = spawn_server(config_with_rooms(ROOMS));
    let (ann, mut ann_events) = Client::connect(server.client_config("h", "ann"))
        .await
        .unwrap();
    let (ben, mut ben_events) = server.open_client("h", "ben").await;
    // Ben answers once he has Ann's line, so the host holds them in this order (sent at once,
    // Ben's could reach the host before the host's own send was handled).
    let (mut by_ann, mut by_ben) = (Seen::default(), Seen::default());
    ann.send("ann: welcome");
    by_ben.until(&mut ben_events, &["ann: welcome"]).await;
    ben.send("ben: thanks");
    by_ann.until(&mut ann_events, &["ben: thanks"]).await;

    // Cy joins late: the host (ann) gives it the chat so far, as history.
    let (_cy, mut cy_events) = server.open_client("h", "cy").await;
    let mut by_cy = Seen::default();
    by_cy
        .until(&mut cy_events, &["ann: welcome", "ben: thanks"])
        .await;
    assert_eq!(by_cy.texts(), ["ann: welcome", "ben: thanks"]);
    assert!(by_cy.messages.iter().all(|(_, history)| *history));
    let names: Vec<_> = by_cy
        .messages
        .iter()
        .map(|(m, _)| m.name.as_str())
        .collect();
    assert_eq!(names, ["ann", "ben"], "stamped with who wrote each");

    // Ann leaves; Ben, who joined next, hosts and has the chat to give.
    ann.leave();
    until_host(&mut ben_events, "ben").await;
    ben.send("ben: ann has gone");
    by_cy.until(&mut cy_events, &["ben: ann has gone"]).await;
    let (_dee, mut dee_events) = server.open_client("h", "dee").await;
    let mut by_dee = Seen::default();
    let all = ["ann: welcome", "ben: thanks", "ben: ann has gone"];
    by_dee.until(&mut dee_events, &all).await;
    // Each once, in the order the new host saw them (its own first line went out before
    // ann's reached it, so those two may be either way round).
    let mut texts = by_dee.texts();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert_eq!(texts.pop(), Some("ben: ann has gone"));
    texts.sort();
    assert_eq!(texts, ["ann: welcome", "ben: thanks"]);
    // Cy, already there, got the new host's history too and showed none of it twice.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    while let Ok(event) = cy_events.try_recv() {
        if let Event::Chat { message } = event {
            panic!("cy was shown {:?} again", message.text);
        }
        if let Event::History { messages } = event {
            panic!("cy was shown history again: {messages:?}");
        }
    }
    drop(ann_events);
}
