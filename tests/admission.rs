//! Who may open a signaling WebSocket (`[limits]`): the page's Origin, connections and handshakes
//! per address, sessions per server, and dynamic rooms per server.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::process::ServerProcess;
use common::{spawn_server, test_config, WsClient};
use futures_util::future::join_all;
use serde_json::{json, Value};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{http, Error as WsError};
use tokio_tungstenite::MaybeTlsStream;

/// Opens the WebSocket at `addr` from `from` (a loopback address) with these headers; the
/// refusal's status and JSON body if the server refused.
async fn open(
    addr: SocketAddr,
    from: [u8; 4],
    headers: &[(&str, &str)],
) -> Result<tokio_tungstenite::WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>, (u16, Value)>
{
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    let stream = tokio::time::timeout(common::WAIT, socket.connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    match tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(res)) => {
            let status = res.status().as_u16();
            let body = res.body().clone().unwrap_or_default();
            Err((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
        }
        Err(e) => panic!("handshake failed: {e}"),
    }
}

const HOME: [u8; 4] = [127, 0, 0, 1];

#[tokio::test]
async fn a_page_of_another_origin_cannot_open_the_socket() {
    let mut config = test_config();
    config.limits.allowed_origins = vec!["https://chat.example.com".into()];
    let server = spawn_server(config);
    let own = format!("http://{}", server.addr);
    for origin in [
        own.as_str(),
        "https://chat.example.com",
        "HTTPS://CHAT.EXAMPLE.COM",
    ] {
        assert!(
            open(server.addr, HOME, &[("origin", origin)]).await.is_ok(),
            "{origin}"
        );
    }
    assert!(
        open(server.addr, HOME, &[]).await.is_ok(),
        "no Origin: not a browser"
    );
    for origin in [
        "http://evil.example",
        "https://chat.example.com.evil.example",
        "null",
    ] {
        let (status, body) = open(server.addr, HOME, &[("origin", origin)])
            .await
            .unwrap_err();
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("origin_not_allowed")),
            "{origin}"
        );
    }
    assert_eq!(
        server.metric("switchboard_refused_total{reason=\"bad_origin\"}"),
        3.0
    );
}

#[tokio::test]
async fn a_thousand_parallel_connections_from_one_address_get_the_limit_and_others_still_join() {
    let server = ServerProcess::spawn(
        "[limits]\nconnections_per_address = 50\nhandshakes_per_second = 100000\n\
         handshake_burst = 100000\n",
    );
    let addr = server.addr;
    let attempts = (0..1000).map(|_| open(addr, HOME, &[]));
    let results = join_all(attempts).await;
    let (held, refused): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    assert_eq!(held.len(), 50, "sockets held by one address");
    for r in &refused {
        let (status, body) = r.as_ref().unwrap_err();
        assert_eq!(
            (*status, body["code"].as_str()),
            (429, Some("too_many_connections"))
        );
    }
    assert_eq!(
        server.metric("switchboard_refused_total{reason=\"connections_per_address\"}"),
        950.0
    );
    // Someone else (another address) joins and is welcomed while the 50 are held.
    let other = open(addr, [127, 0, 0, 2], &[])
        .await
        .expect("another address gets in");
    let mut member = WsClient::from_stream(other);
    member.join("lobby", "real").await;
    // Giving sockets back lets the address in again.
    drop(held);
    common::eventually("a slot to come back", || {
        server.metric("switchboard_sessions") < 50.0
    })
    .await;
    assert!(open(addr, HOME, &[]).await.is_ok());
}

#[tokio::test]
async fn handshakes_per_address_are_rate_limited() {
    let mut config = test_config();
    config.limits.handshakes_per_second = 5;
    config.limits.handshake_burst = 10;
    let server = spawn_server(config);
    let mut refused = 0;
    for _ in 0..30 {
        match open(server.addr, HOME, &[]).await {
            Ok(ws) => drop(ws),
            Err((status, body)) => {
                assert_eq!(
                    (status, body["code"].as_str()),
                    (429, Some("too_many_connections"))
                );
                refused += 1;
            }
        }
    }
    assert!(refused >= 15, "{refused} of 30 refused");
    assert_eq!(
        server.metric("switchboard_refused_total{reason=\"handshake_rate\"}"),
        refused as f64
    );
    // Another address has its own bucket.
    assert!(open(server.addr, [127, 0, 0, 3], &[]).await.is_ok());
}

#[tokio::test]
async fn the_server_holds_at_most_max_sessions() {
    let mut config = test_config();
    config.limits.max_sessions = 3;
    let server = spawn_server(config);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(open(server.addr, HOME, &[]).await.unwrap());
    }
    let (status, body) = open(server.addr, [127, 0, 0, 4], &[]).await.unwrap_err();
    assert_eq!((status, body["code"].as_str()), (503, Some("server_full")));
    drop(held.pop());
    common::eventually("a session to end", || {
        server.metric("switchboard_sessions") < 3.0
    })
    .await;
    assert!(open(server.addr, [127, 0, 0, 4], &[]).await.is_ok());
}

#[tokio::test]
async fn dynamic_rooms_stop_at_max_rooms() {
    let mut config = test_config();
    config.dynamic_rooms.max_rooms = 2;
    let server = spawn_server(config);
    let mut a = server.client().await;
    a.join("one", "a").await;
    let mut b = server.client().await;
    b.join("two", "b").await;
    let mut c = server.client().await;
    c.send(json!({"type": "join", "room": "three", "name": "c"}))
        .await;
    c.expect_error("too_many_rooms").await;
    // An existing room still takes members; when one empties, a new one may start.
    c.join("one", "c").await;
    b.send(json!({"type": "leave"})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut d = server.client().await;
    d.join("three", "d").await;
}
