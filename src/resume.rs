//! Resume tokens: what `welcome` hands a member so that, after a network blip, a new socket can
//! take over the same seat (peer id, name, host role, place in the room).
//!
//! A token is opaque to clients. Inside it names the room and the peer id and carries the
//! server's HMAC-SHA256 over both (truncated to 128 bits), so the server needs no table of
//! tokens: it checks the MAC and then asks the room whether the seat is still held. A token
//! made by an earlier run of the server (another boot id) names a seat that no longer exists.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use subtle::ConstantTimeEq;

use crate::protocol::PeerId;

/// Token layout version (the first byte).
const VERSION: u8 = 1;

/// Bytes of the MAC kept in a token (128 bits).
const MAC_BYTES: usize = 16;

/// Bytes of the boot id.
const BOOT_BYTES: usize = 8;

/// Bytes of a peer id (128 bits; the id is their hex).
const PEER_BYTES: usize = 16;

/// Longest token accepted, in characters (a 64-byte room name makes the longest real one).
pub const MAX_TOKEN_CHARS: usize = 160;

/// Why a token was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token this server made: malformed, or its MAC does not check out.
    Invalid,
    /// Made by an earlier run of the server: the seat it names is gone.
    Stale,
    /// A real token for another room (named).
    OtherRoom(String),
}

/// The server's key for resume tokens, drawn at start-up.
pub struct ResumeKey {
    key: hmac::Key,
    boot: [u8; BOOT_BYTES],
}

impl ResumeKey {
    /// A fresh random key and boot id.
    pub fn random() -> ResumeKey {
        let secret: [u8; 32] = rand::random();
        ResumeKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            boot: rand::random(),
        }
    }

    /// A key from a secret and boot id shared by every node of a cluster, so that a token one
    /// node issued resumes the seat through another.
    pub fn shared(secret: &[u8], boot: [u8; BOOT_BYTES]) -> ResumeKey {
        ResumeKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            boot,
        }
    }

    /// The token of member `peer` of `room`.
    pub fn issue(&self, room: &str, peer: &PeerId) -> String {
        let mut bytes = self.body(room, &peer_bytes(peer));
        let tag = hmac::sign(&self.key, &bytes);
        bytes.extend_from_slice(&tag.as_ref()[..MAC_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The peer id `token` resumes in `room`, if it is a token of this run for that room.
    pub fn verify(&self, token: &str, room: &str) -> Result<PeerId, TokenError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Invalid);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Invalid)?;
        let parsed = Parsed::from(&bytes).ok_or(TokenError::Invalid)?;
        if parsed.boot != self.boot {
            return Err(TokenError::Stale);
        }
        let body = &bytes[..bytes.len() - MAC_BYTES];
        let tag = hmac::sign(&self.key, body);
        // In constant time (ring's verify compares the whole tag; ours is truncated).
        if !bool::from(tag.as_ref()[..MAC_BYTES].ct_eq(parsed.mac)) {
            return Err(TokenError::Invalid);
        }
        if parsed.room != room {
            return Err(TokenError::OtherRoom(parsed.room.to_string()));
        }
        Ok(parsed.peer)
    }

    /// Version, boot id, peer id, room length and room: what the MAC covers.
    fn body(&self, room: &str, peer: &[u8; PEER_BYTES]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(1 + BOOT_BYTES + PEER_BYTES + 1 + room.len() + 32);
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.boot);
        bytes.extend_from_slice(peer);
        bytes.push(room.len() as u8); // room names are at most 64 bytes
        bytes.extend_from_slice(room.as_bytes());
        bytes
    }
}

/// The fields of a well-formed token.
struct Parsed<'a> {
    boot: [u8; BOOT_BYTES],
    peer: PeerId,
    room: &'a str,
    mac: &'a [u8],
}

impl<'a> Parsed<'a> {
    fn from(bytes: &'a [u8]) -> Option<Parsed<'a>> {
        let (&version, rest) = bytes.split_first()?;
        if version != VERSION || rest.len() < BOOT_BYTES + PEER_BYTES + 1 + MAC_BYTES {
            return None;
        }
        let (boot, rest) = rest.split_at(BOOT_BYTES);
        let (peer, rest) = rest.split_at(PEER_BYTES);
        let (&room_len, rest) = rest.split_first()?;
        if rest.len() != room_len as usize + MAC_BYTES {
            return None;
        }
        let (room, mac) = rest.split_at(room_len as usize);
        let bits = u128::from_be_bytes(peer.try_into().ok()?);
        Some(Parsed {
            boot: boot.try_into().ok()?,
            peer: PeerId::from(format!("{bits:032x}").as_str()),
            room: std::str::from_utf8(room).ok()?,
            mac,
        })
    }
}

/// The 16 bytes a server-made peer id stands for (its 32 hex digits).
fn peer_bytes(peer: &PeerId) -> [u8; PEER_BYTES] {
    let bits = u128::from_str_radix(peer.as_str(), 16).unwrap_or(0);
    bits.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_resumes_its_peer_in_its_room() {
        let key = ResumeKey::random();
        let peer = PeerId::random();
        let token = key.issue("lobby", &peer);
        assert_eq!(key.verify(&token, "lobby"), Ok(peer));
        assert!(token.len() <= MAX_TOKEN_CHARS);
        let long_room = "r".repeat(64);
        assert!(key.issue(&long_room, &PeerId::random()).len() <= MAX_TOKEN_CHARS);
    }

    #[test]
    fn another_rooms_token_is_named_as_such() {
        let key = ResumeKey::random();
        let token = key.issue("lobby", &PeerId::random());
        assert_eq!(
            key.verify(&token, "dev"),
            Err(TokenError::OtherRoom("lobby".into()))
        );
    }

    #[test]
    fn forged_and_damaged_tokens_are_invalid() {
        let key = ResumeKey::random();
        let token = key.issue("lobby", &PeerId::random());
        // Every single-character change of a real token is refused.
        for i in 0..token.len() {
            let mut chars: Vec<char> = token.chars().collect();
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let changed: String = chars.into_iter().collect();
            let verdict = key.verify(&changed, "lobby");
            assert!(verdict.is_err(), "position {i}");
        }
        for junk in ["", "x", "!!!", &"A".repeat(200), &token[..token.len() - 2]] {
            assert_eq!(
                key.verify(junk, "lobby"),
                Err(TokenError::Invalid),
                "{junk}"
            );
        }
        let other = ResumeKey {
            boot: key.boot,
            ..ResumeKey::random()
        };
        assert_eq!(
            other.verify(&token, "lobby"),
            Err(TokenError::Invalid),
            "same boot id, another key"
        );
    }

    #[test]
    fn an_earlier_runs_token_is_stale() {
        let token = ResumeKey::random().issue("lobby", &PeerId::random());
        assert_eq!(
            ResumeKey::random().verify(&token, "lobby"),
            Err(TokenError::Stale)
        );
    }
}
