//! Which connection a datagram on the relay's one UDP port belongs to, as production SFUs decide
//! it: a known remote address maps to its connection; the first packet from a new address is a
//! STUN Binding Request whose USERNAME is `local_ufrag:remote_ufrag`, and the local ufrag (chosen
//! by the server when it answered that member's offer) names the connection, whose address is then
//! learned. Everything else from an unknown address is dropped and counted by the caller (the
//! engine, `super::engine`).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;

/// STUN's magic cookie (RFC 5389 section 6), at bytes 4..8 of every STUN message.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
/// The STUN USERNAME attribute.
const USERNAME: u16 = 0x0006;
/// The STUN Binding Request message type.
const BINDING_REQUEST: [u8; 2] = [0x00, 0x01];

/// Where a datagram goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<C> {
    /// To this connection (its address is known, or was just learned).
    To(C),
    /// From an unknown address and not a Binding Request naming a known ufrag: drop it.
    Unknown,
}

/// Remote addresses and local ufrags → connections.
#[derive(Debug)]
pub struct Demux<C> {
    by_addr: HashMap<SocketAddr, C>,
    by_ufrag: HashMap<String, C>,
}

impl<C: Copy + Eq + Hash> Default for Demux<C> {
    fn default() -> Self {
        Demux {
            by_addr: HashMap::new(),
            by_ufrag: HashMap::new(),
        }
    }
}

impl<C: Copy + Eq + Hash> Demux<C> {
    /// Expects connection `conn`, which answered with local ufrag `ufrag`.
    pub fn expect(&mut self, ufrag: &str, conn: C) {
        self.by_ufrag.insert(ufrag.to_string(), conn);
    }

    /// The connection `datagram` from `from` belongs to; learns `from` when a Binding Request
    /// names a known ufrag.
    pub fn route(&mut self, from: SocketAddr, datagram: &[u8]) -> Route<C> {
        if let Some(conn) = self.by_addr.get(&from) {
            return Route::To(*conn);
        }
        if datagram.get(..2) != Some(&BINDING_REQUEST[..]) {
            return Route::Unknown;
        }
        let Some(ufrag) = local_ufrag(datagram) else {
            return Route::Unknown;
        };
        match self.by_ufrag.get(ufrag) {
            Some(conn) => {
                self.by_addr.insert(from, *conn);
                Route::To(*conn)
            }
            None => Route::Unknown,
        }
    }

    /// Forgets connection `conn`: its ufrag and every address learned for it.
    pub fn forget(&mut self, conn: C) {
        self.by_ufrag.retain(|_, c| *c != conn);
        self.by_addr.retain(|_, c| *c != conn);
    }

    /// Addresses known now.
    pub fn addresses(&self) -> usize {
        self.by_addr.len()
    }
}

/// The local ufrag in a STUN message's USERNAME (`local:remote`), if it is a STUN message with one.
pub fn local_ufrag(msg: &[u8]) -> Option<&str> {
    if msg.len() < 20 || msg[4..8] != MAGIC_COOKIE {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([msg[2], msg[3]]));
    let attrs = msg.get(20..20 + length)?;
    let mut at = 0;
    while at + 4 <= attrs.len() {
        let kind = u16::from_be_bytes([attrs[at], attrs[at + 1]]);
        let len = usize::from(u16::from_be_bytes([attrs[at + 2], attrs[at + 3]]));
        let value = attrs.get(at + 4..at + 4 + len)?;
        if kind == USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        // Attributes are padded to a multiple of 4 bytes.
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Binding Request with USERNAME `username` (and a PRIORITY attribute before it, as ICE
    /// sends).
    fn binding_request(username: &str) -> Vec<u8> {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff]);
        attrs.extend_from_slice(&USERNAME.to_be_bytes());
        attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attrs.extend_from_slice(username.as_bytes());
        while attrs.len() % 4 != 0 {
            attrs.push(0);
        }
        let mut msg = vec![0x00, 0x01];
        msg.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        msg.extend_from_slice(&MAGIC_COOKIE);
        msg.extend_from_slice(&[9; 12]);
        msg.extend_from_slice(&attrs);
        msg
    }

    #[test]
    fn the_local_ufrag_is_read_from_username() {
        assert_eq!(local_ufrag(&binding_request("srv1:abcd")), Some("srv1"));
        assert_eq!(local_ufrag(&binding_request("x:y")), Some("x"));
        assert_eq!(local_ufrag(b"not stun at all, not stun at all"), None);
        let mut truncated = binding_request("srv1:abcd");
        truncated.truncate(30);
        assert_eq!(local_ufrag(&truncated), None);
    }

    #[test]
    fn a_binding_request_teaches_the_address_then_the_address_routes() {
        let mut demux = Demux::default();
        demux.expect("srv1", 1u32);
        demux.expect("srv2", 2u32);
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:5001".parse().unwrap();
        // DTLS from an address nobody has introduced: dropped.
        assert_eq!(demux.route(a, &[22, 254, 253, 0, 0]), Route::Unknown);
        // A request naming an ufrag the server never gave out: dropped.
        assert_eq!(demux.route(a, &binding_request("nope:x")), Route::Unknown);
        assert_eq!(demux.route(a, &binding_request("srv1:abcd")), Route::To(1));
        assert_eq!(demux.route(a, &[22, 254, 253, 0, 0]), Route::To(1));
        assert_eq!(demux.route(b, &binding_request("srv2:efgh")), Route::To(2));
        assert_eq!(demux.addresses(), 2);
        demux.forget(1);
        assert_eq!(demux.route(a, &[22, 254, 253, 0, 0]), Route::Unknown);
        assert_eq!(
            demux.route(a, &binding_request("srv1:abcd")),
            Route::Unknown
        );
        assert_eq!(demux.route(b, &[1, 2, 3]), Route::To(2));
    }
}
