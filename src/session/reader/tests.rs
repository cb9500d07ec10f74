use super::*;
use actix_codec::Encoder;
use actix_http::ws::Message;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// A reader on the server end of a loopback connection, and the client end to write to.
async fn pair(max: usize) -> (Reader, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let (read, _write) = server.into_split();
    (
        Reader::new(
            read,
            BytesMut::new(),
            FrameLimit::new(max, max),
            Metrics::new(),
        ),
        client,
    )
}

/// Client frames (masked, as a browser sends them).
fn frames(msgs: Vec<Message>) -> BytesMut {
    let mut codec = Codec::new().client_mode();
    let mut buf = BytesMut::new();
    for msg in msgs {
        codec.encode(msg, &mut buf).unwrap();
    }
    buf
}

fn part(item: Item) -> Message {
    Message::Continuation(item)
}

#[tokio::test]
async fn continuations_are_joined_and_control_frames_pass_between_them() {
    let (mut reader, mut client) = pair(1024).await;
    let bytes = frames(vec![
        part(Item::FirstText(Bytes::from_static(b"hel"))),
        Message::Ping(Bytes::from_static(b"p")),
        part(Item::Continue(Bytes::from_static(b"lo "))),
        part(Item::Last(Bytes::from_static(b"world"))),
        Message::Text("again".into()),
    ]);
    // Byte by byte: frames arrive split across reads.
    for b in bytes.iter() {
        client.write_all(&[*b]).await.unwrap();
    }
    let got: Vec<_> = (&mut reader).take(3).map(Result::unwrap).collect().await;
    assert_eq!(
        got,
        vec![
            Inbound::Ping(Bytes::from_static(b"p")),
            Inbound::Text("hello world".into()),
            Inbound::Text("again".into()),
        ]
    );
    // Everything was consumed: the idle reader holds no buffer.
    assert_eq!(reader.buf.capacity(), 0);
    drop(client);
    assert!(reader.next().await.is_none());
}

/// A reader taking at most `max` bytes per message, sent `bytes`; returns it and the first
/// thing it read.
async fn first_read(max: usize, bytes: &[u8]) -> (Reader, Option<Result<Inbound, ProtocolError>>) {
    let (mut reader, mut client) = pair(max).await;
    client.write_all(bytes).await.unwrap();
    let first = reader.next().await;
    (reader, first)
}

#[tokio::test]
async fn oversized_frames_and_messages_are_errors() {
    let (mut reader, first) = first_read(8, &frames(vec![Message::Text("123456789".into())])).await;
    assert!(matches!(first, Some(Err(ProtocolError::Overflow))));
    assert!(reader.next().await.is_none());

    let parts = frames(vec![
        part(Item::FirstText(Bytes::from_static(b"12345"))),
        part(Item::Last(Bytes::from_static(b"6789"))),
    ]);
    let (_, first) = first_read(8, &parts).await;
    assert!(matches!(first, Some(Err(ProtocolError::Overflow))));
}

/// A masked client frame header declaring `len` payload bytes, with no payload.
fn header(opcode_and_fin: u8, len: u64) -> Vec<u8> {
    let mut h = vec![opcode_and_fin, 0x80 | 127];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[1, 2, 3, 4]);
    h
}

#[tokio::test]
async fn a_declared_length_past_the_limit_is_refused_before_its_payload() {
    // 10 GB declared, not one payload byte sent: the error comes from the header alone.
    let (mut reader, first) = first_read(1024, &header(0x81, 10 << 30)).await;
    assert!(matches!(first, Some(Err(ProtocolError::Overflow))));
    assert!(reader.held_bytes() < 4096, "{}", reader.held_bytes());
    assert!(reader.next().await.is_none());
}

#[tokio::test]
async fn a_continuation_declaring_past_the_limit_is_refused_before_its_payload() {
    let mut bytes = frames(vec![part(Item::FirstText(Bytes::from_static(b"12345678")))]).to_vec();
    // The second fragment declares 1017 bytes: 8 + 1017 > 1024.
    bytes.extend_from_slice(&header(0x00, 1017));
    let (_, first) = first_read(1024, &bytes).await;
    assert!(matches!(first, Some(Err(ProtocolError::Overflow))));
}

#[test]
fn the_limit_is_the_lobby_s_until_joined() {
    let limit = FrameLimit::new(4096, 65536);
    assert_eq!(limit.get(), 4096);
    limit.set_joined(true);
    assert_eq!(limit.get(), 65536);
    limit.set_joined(false);
    assert_eq!(limit.get(), 4096);
    assert_eq!(FrameLimit::new(1 << 20, 65536).get(), 65536);
}

#[test]
fn frame_headers_are_read_in_all_three_length_forms() {
    assert_eq!(FrameHeader::peek(&[0x81]), None);
    let short = FrameHeader::peek(&[0x81, 0x85]).unwrap();
    assert_eq!((short.continuation, short.len), (false, 5));
    assert_eq!(FrameHeader::peek(&[0x00, 0xfe, 0x01]), None);
    let mid = FrameHeader::peek(&[0x00, 0xfe, 0x01, 0x00]).unwrap();
    assert_eq!((mid.continuation, mid.len), (true, 256));
    assert_eq!(FrameHeader::peek(&header(0x82, 1 << 40)[..9]), None);
    assert_eq!(
        FrameHeader::peek(&header(0x82, 1 << 40)).unwrap().len,
        1 << 40
    );
}

#[tokio::test]
async fn invalid_utf8_and_stray_continuations_are_errors() {
    // A continuation frame (opcode 0, not final) with nothing started: masked by hand, as
    // the codec would refuse to encode it.
    let mask = [1u8, 2, 3, 4];
    let mut bad = vec![0x00, 0x80 | 1];
    bad.extend_from_slice(&mask);
    bad.push(b'x' ^ mask[0]);
    let (_, first) = first_read(64, &bad).await;
    assert!(matches!(
        first,
        Some(Err(ProtocolError::ContinuationNotStarted))
    ));

    let bad = frames(vec![
        part(Item::FirstText(Bytes::from_static(b"\xff"))),
        part(Item::Last(Bytes::from_static(b"\xfe"))),
    ]);
    let (_, first) = first_read(64, &bad).await;
    assert!(matches!(first, Some(Err(ProtocolError::Io(_)))));
}
