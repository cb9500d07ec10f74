//! What the server tells an operator at start about the relay's network: a STUN server that does
//! not answer is one warning, not an error per peer connection.

mod common;

use std::time::Duration;

use common::process::ServerProcess;

/// A STUN server on loopback that answers every Binding Request with an empty success response.
async fn stun_responder() -> std::net::SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 576];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            if n >= 20 && buf[..2] == [0, 1] {
                let mut response = [0u8; 20];
                response.copy_from_slice(&buf[..20]);
                response[..2].copy_from_slice(&[1, 1]);
                let _ = socket.send_to(&response, from).await;
            }
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stun_server_that_does_not_answer_is_one_warning() {
    let live = stun_responder().await;
    let dead = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\nstatic_dir = \"{}/static\"\nworkers = 1\n\
             [ice]\nservers = [{{ urls = [\"stun:{live}\", \"stun:{dead}\"] }}]\n\
             [relay]\nudp_bind = \"127.0.0.1\"\nudp_port = 0\n[[rooms]]\nname = \"hall\"\ntopology = \"relay\"\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let server = ServerProcess::start(&path, std::path::Path::new("."));
    let warning = server.wait_for_log_within(
        &["WARN", "STUN server unreachable"],
        Duration::from_secs(10),
    );
    assert!(warning.contains(&dead.to_string()), "{warning}");
    server.wait_for_log(&["DEBUG", "STUN server answers", &live.to_string()]);

    // Members connecting to the relay meanwhile add no line about it.
    let mut c = common::WsClient::connect(&format!("ws://{}/ws", server.addr)).await;
    c.join("hall", "m").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        server.log_lines(&["STUN"]).len(),
        2,
        "{:#?}",
        server.log_lines(&[])
    );
    assert!(
        server.log_lines(&["ERROR"]).is_empty(),
        "{:#?}",
        server.log_lines(&["ERROR"])
    );
}
