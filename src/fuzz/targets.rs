//! The targets: each parser a client's bytes reach, fed mutated frames. A target passes when it
//! answers; the invariants checked beyond "no panic" are noted per property.

use actix_codec::Decoder;
use bytes::BytesMut;
use proptest::prelude::*;
use serde_json::value::RawValue;

use super::mutate::frames;
use crate::config::{Config, RelayConfig};
use crate::protocol::{ChannelMessage, ClientMessage, SignalData};
use crate::relay::{chat::within_bounds, offer};
use crate::session::{peerjs, validate_join};

/// The signaling socket, native protocol.
const NATIVE: &[&str] = &[
    r#"{"type":"join","room":"lobby","name":"alice"}"#,
    r#"{"type":"join","room":"vault","name":"bob","password":"pw","resume":"tok","token":"a.b.c"}"#,
    r#"{"type":"signal","to":"5f0c3a7e9b1d4c2a8e6f0b3d5a7c9e1f","data":{"type":"offer","sdp":"v=0\r\n"}}"#,
    r#"{"type":"signal","to":"relay","data":{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}}"#,
    r#"{"type":"leave"}"#,
    r#"{"type":"ping"}"#,
];

/// What a `peerjs` client sends.
const PEERJS_IN: &[&str] = &[
    r#"{"type":"HEARTBEAT"}"#,
    r#"{"type":"OFFER","dst":"bob","payload":{"sdp":{"type":"offer","sdp":"v=0"},"type":"data","connectionId":"dc_1","label":"dc_1","reliable":true,"serialization":"binary"}}"#,
    r#"{"type":"CANDIDATE","dst":"bob","payload":{"candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMLineIndex":0,"sdpMid":"0"},"type":"data","connectionId":"dc_1"}}"#,
    r#"{"type":"LEAVE","dst":"bob"}"#,
    r#"{"type":"LEAVE"}"#,
    r#"{"type":"EXPIRE","dst":"bob"}"#,
];

/// What the hub sends a member (what the PeerJS and broadcast dialects translate).
const HUB_OUT: &[&str] = &[
    r#"{"type":"welcome","room":"peerjs","peer_id":"h0","topology":"mesh","host":null,"peers":[{"id":"h1","name":"alice"}],"ice_servers":[]}"#,
    r#"{"type":"signal","from":"alice","data":{"type":"OFFER","payload":{"sdp":{"type":"offer","sdp":"v=0"}}}}"#,
    r#"{"type":"signal","from":"p1","data":{"text":"{\"type\":\"offer\"}"}}"#,
    r#"{"type":"peer_joined","peer":{"id":"h2","name":"bob"}}"#,
    r#"{"type":"peer_left","peer_id":"h2","reason":"left"}"#,
    r#"{"type":"error","code":"name_taken","message":"taken"}"#,
    r#"{"type":"error","code":"unknown_peer","message":"no","peer":"zed"}"#,
    r#"{"type":"kicked","room":"r","reason":"spam"}"#,
];

/// What a member sends the relay on its chat channel.
const CHANNEL: &[&str] = &[
    r#"{"type":"chat","id":"m-1","from":"x","name":"alice","text":"hello","ts":1795363200000}"#,
    r#"{"type":"chat","id":"m-2","from":"x","name":"alice","text":"hi","ts":1,"seq":4}"#,
    r#"{"type":"resume","after":41}"#,
    r#"{"type":"resume"}"#,
    r#"{"type":"ack","id":"m-1","seq":3}"#,
    r#"{"type":"history","messages":[{"id":"m-1","from":"x","name":"a","text":"t","ts":1}]}"#,
];

/// What a member signals the relay (the SDP and candidates the WebRTC stack parses).
const RELAY_SIGNALS: &[&str] = &[
    r#"{"type":"offer","sdp":"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\na=ice-ufrag:abcd\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\na=ice-options:trickle\r\na=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"}"#,
    r#"{"type":"candidate","candidate":{"candidate":"candidate:842163049 1 udp 1677729535 127.0.0.1 54321 typ host generation 0","sdpMid":"0","sdpMLineIndex":0}}"#,
    r#"{"type":"candidate","candidate":{"candidate":"","sdpMid":"0"}}"#,
];

/// The native protocol: decoded or refused; a join's room and name are checked.
pub fn native(text: &str) {
    if let Ok(ClientMessage::Join { room, name, .. }) = serde_json::from_str::<ClientMessage>(text)
    {
        let _ = validate_join(&room, &name);
    }
}

/// A PeerJS client frame: decoded or refused; a relayed frame's signal is valid JSON (the
/// session builds it from the client's payload).
pub fn peerjs_in(text: &str) {
    if let Ok(peerjs::FromPeerJs::Relay { data, .. }) = peerjs::decode(text) {
        let raw = RawValue::from_string(data.clone()).unwrap_or_else(|e| panic!("{e}: {data}"));
        SignalData::from_raw(raw).expect("an object");
    }
}

/// A hub frame through the PeerJS and broadcast writers: what comes out of the PeerJS one is
/// valid JSON.
pub fn hub_out(text: &str) {
    let mut out = peerjs::PeerJsOut::new("me");
    if let Some(frame) = out.translate(text) {
        serde_json::from_str::<serde_json::Value>(&frame)
            .unwrap_or_else(|e| panic!("{e}: {frame}"));
    }
    let _ = crate::session::broadcast::translate(text);
}

/// The relay's chat channel: decoded, and a chat message checked against the bounds.
pub fn channel(text: &str) {
    if let Ok(ChannelMessage::Chat(msg)) = serde_json::from_str::<ChannelMessage>(text) {
        let _ = within_bounds(&msg, &RelayConfig::default());
    }
}

/// A signal to the relay: SDP offers and ICE candidates, parsed and checked as the relay does.
pub fn relay_signal(text: &str) {
    let Ok(raw) = RawValue::from_string(text.to_string()) else {
        return;
    };
    if let Ok(data) = SignalData::from_raw(raw) {
        let _ = offer::parse(&data);
    }
}

/// An offer whose SDP lines are damaged: dropped, repeated, cut, or given junk values.
fn sdp_lines() -> impl Strategy<Value = String> {
    let lines: Vec<&'static str> = vec![
        "v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 127.0.0.1", "a=ice-ufrag:abcd",
        "a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa",
        "a=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E",
        "a=setup:actpass", "a=mid:0", "a=sctp-port:5000", "a=max-message-size:262144",
    ];
    let junk = prop_oneof![
        Just(String::new()),
        Just("m=audio 0 RTP/AVP 0".to_string()),
        Just("a=sctp-port:99999999999999999999".to_string()),
        Just("a=fingerprint:sha-256 ZZ".to_string()),
        Just("c=IN IP6 ::::::".to_string()),
        Just("a=candidate:1 1 udp 1 999.1.1.1 70000 typ host".to_string()),
        Just(format!("a=ice-ufrag:{}", "u".repeat(70_000))),
        "\\PC{0,60}",
    ];
    let n = lines.len();
    proptest::collection::vec((0..n, 0u8..4, junk), 0..6).prop_map(move |ops| {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for (i, op, junk) in ops {
            let i = i % out.len().max(1);
            match op {
                0 if !out.is_empty() => drop(out.remove(i)),
                1 if !out.is_empty() => out.insert(i, out[i].clone()),
                2 if !out.is_empty() => out[i] = junk,
                _ => out.insert(i.min(out.len()), junk),
            }
        }
        out.join("\r\n") + "\r\n"
    })
}

/// The config file: a TOML line given a value of the wrong kind, or the text cut.
fn config_text() -> impl Strategy<Value = String> {
    let shipped = include_str!("../../config/switchboard.toml");
    let values = prop_oneof![
        Just("-1"),
        Just("\"\""),
        Just("1e999"),
        Just("[["),
        Just("{ a = 1 }"),
        Just("\"0s\""),
        Just("\"99999999999999999999h\""),
        Just("true"),
        Just("18446744073709551616"),
        Just("\"\\u0000\""),
    ];
    let lines = shipped.lines().count();
    (0..lines, values, 0usize..shipped.len() + 1, any::<bool>()).prop_map(
        move |(line, value, cut, truncate)| {
            let mut text: String = shipped
                .lines()
                .enumerate()
                .map(|(i, l)| match (i == line, l.split_once('=')) {
                    (true, Some((key, _))) => format!("{key}= {value}\n"),
                    _ => format!("{l}\n"),
                })
                .collect();
            if truncate {
                let mut cut = cut.min(text.len());
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            text
        },
    )
}

proptest! {
    #[test]
    fn native_frames(frame in frames(NATIVE.len())) {
        native(&frame.text(NATIVE));
    }

    #[test]
    fn peerjs_client_frames(frame in frames(PEERJS_IN.len())) {
        peerjs_in(&frame.text(PEERJS_IN));
    }

    #[test]
    fn hub_frames_through_the_dialects(frame in frames(HUB_OUT.len())) {
        hub_out(&frame.text(HUB_OUT));
    }

    #[test]
    fn relay_channel_frames(frame in frames(CHANNEL.len())) {
        channel(&frame.text(CHANNEL));
    }

    #[test]
    fn relay_signals(frame in frames(RELAY_SIGNALS.len())) {
        relay_signal(&frame.text(RELAY_SIGNALS));
    }

    #[test]
    fn sdp_offers(sdp in sdp_lines()) {
        relay_signal(&serde_json::json!({"type": "offer", "sdp": sdp}).to_string());
    }

    #[test]
    fn config_files(text in config_text()) {
        let _ = Config::from_toml(&text);
    }

    /// Raw bytes into the WebSocket codec the sessions read with (server side, masked frames).
    #[test]
    fn websocket_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut codec = actix_http::ws::Codec::new().max_size(65_536);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
    }
}
