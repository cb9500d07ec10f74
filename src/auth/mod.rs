//! Join tokens: JWTs an operator's backend signs (HS256 with a shared secret, or EdDSA with an
//! Ed25519 key whose public half the server holds) that let one identity into one room, or the
//! rooms a pattern names, until they expire, with the permissions they carry. The identity and
//! display name in the token are what the room shows: a member with a token cannot pass for
//! someone else.

mod config;
mod keys;

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use self::config::{AdminConfig, AuthConfig, RoomAuth};
pub use self::keys::ed25519_keypair;
use crate::error::ClientError;

/// What a token lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Perm {
    /// Send chat (enforced by the relay, which carries it).
    Publish,
    /// Receive chat and history (enforced by the relay).
    Subscribe,
    /// Use the admin API for the rooms the token names.
    Admin,
}

/// The claims of a join token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The member's identity (stable, unique in a room; what others see as `identity`).
    pub sub: String,
    /// The display name.
    pub name: String,
    /// The room, or a pattern where `*` stands for any characters (`team-*`, `*`).
    pub room: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// When it was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Permissions; publish and subscribe when absent.
    #[serde(default = "default_perms")]
    pub perms: Vec<Perm>,
}

fn default_perms() -> Vec<Perm> {
    vec![Perm::Publish, Perm::Subscribe]
}

/// A member admitted by a token: who it is and what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `sub`.
    pub id: String,
    /// `name`, trimmed.
    pub name: String,
    /// `perms`.
    pub perms: Vec<Perm>,
}

impl Identity {
    /// Whether the token granted `perm`.
    pub fn may(&self, perm: Perm) -> bool {
        self.perms.contains(&perm)
    }
}

/// Checks join tokens with the configured key.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl Verifier {
    /// The verifier of `[auth]`, or `None` when it configures no key. Fails on a key that does
    /// not parse (the message names the key, never its value).
    pub fn from_config(auth: &AuthConfig) -> Result<Option<Verifier>, String> {
        let (key, algorithm) = match (&auth.secret, &auth.public_key) {
            (Some(secret), None) => (
                DecodingKey::from_secret(secret.expose().as_bytes()),
                Algorithm::HS256,
            ),
            (None, Some(pem)) => (
                DecodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| {
                    format!("auth.public_key: not an Ed25519 public key in PEM ({e})")
                })?,
                Algorithm::EdDSA,
            ),
            (Some(_), Some(_)) => {
                return Err("auth: set secret (HS256) or public_key (Ed25519), not both".into())
            }
            (None, None) => return Ok(None),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = auth.leeway.as_secs();
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Some(Verifier { key, validation }))
    }

    /// The room pattern an admin token (one with the `admin` permission) may manage.
    pub fn admin_scope(&self, token: &str) -> Result<String, ClientError> {
        let claims = self.decode(token)?;
        if !claims.perms.contains(&Perm::Admin) {
            return Err(ClientError::Forbidden("the token has no admin permission"));
        }
        Ok(claims.room)
    }

    /// The claims of `token`, if it is signed with the key and not expired.
    fn decode(&self, token: &str) -> Result<Claims, ClientError> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ClientError::TokenExpired,
                _ => ClientError::TokenInvalid(describe(&e)),
            })
    }

    /// The identity `token` admits to `room`.
    pub fn verify(&self, token: &str, room: &str) -> Result<Identity, ClientError> {
        let claims = self.decode(token)?;
        if !room_matches(&claims.room, room) {
            return Err(ClientError::TokenWrongRoom {
                room: room.to_string(),
                pattern: claims.room,
            });
        }
        let id = claims.sub.trim();
        if id.is_empty() || id.chars().count() > 128 || id.chars().any(char::is_control) {
            return Err(ClientError::TokenInvalid(
                "sub: must be 1-128 characters without control characters".into(),
            ));
        }
        let name = crate::protocol::validate_name(&claims.name)
            .map_err(|e| ClientError::TokenInvalid(format!("name claim: {e}")))?;
        Ok(Identity {
            id: id.to_string(),
            name,
            perms: claims.perms,
        })
    }
}

/// Why a token did not decode, in words that say nothing of the key.
fn describe(e: &jsonwebtoken::errors::Error) -> String {
    match e.kind() {
        ErrorKind::InvalidSignature => "the signature does not match".into(),
        ErrorKind::InvalidAlgorithm => "signed with another algorithm than the server's".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the {claim} claim is missing"),
        ErrorKind::ImmatureSignature => "not valid yet (nbf)".into(),
        ErrorKind::Json(_) => "claims are not what a join token has".into(),
        _ => "not a JWT".into(),
    }
}

/// Whether the room `pattern` of a token names `room`: equal, or `*` standing for any run of
/// characters (`team-*` names `team-a`; `*` names every room).
pub fn room_matches(pattern: &str, room: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == room;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !room.starts_with(first) || room.len() < first.len() + last.len() || !room.ends_with(last) {
        return false;
    }
    let mut rest = &room[first.len()..room.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Signs `claims` with an HS256 `secret` (for `switchboard token` and tests).
pub fn sign_hs256(claims: &Claims, secret: &[u8]) -> Result<String, String> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| e.to_string())
}

/// Signs `claims` with an Ed25519 private key in PEM (PKCS#8).
pub fn sign_ed25519(claims: &Claims, private_pem: &[u8]) -> Result<String, String> {
    let key = EncodingKey::from_ed_pem(private_pem)
        .map_err(|e| format!("not an Ed25519 private key in PEM: {e}"))?;
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).map_err(|e| e.to_string())
}

/// Seconds since the Unix epoch, `ttl` from now.
pub fn expiry_in(ttl: Duration) -> u64 {
    now_secs() + ttl.as_secs()
}

pub use crate::clock::now_secs;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::Password;

    fn claims(room: &str, exp: u64) -> Claims {
        Claims {
            sub: "alice-1".into(),
            name: " Alice ".into(),
            room: room.into(),
            exp,
            iat: None,
            perms: default_perms(),
        }
    }

    fn verifier(secret: &str) -> Verifier {
        let auth = AuthConfig {
            secret: Some(Password::from(secret)),
            ..AuthConfig::default()
        };
        Verifier::from_config(&auth).unwrap().unwrap()
    }

    #[test]
    fn patterns_name_rooms() {
        assert!(room_matches("lobby", "lobby"));
        assert!(!room_matches("lobby", "lobby2"));
        assert!(room_matches("*", "anything"));
        assert!(room_matches("team-*", "team-a"));
        assert!(!room_matches("team-*", "teams"));
        assert!(room_matches("a*b*c", "a-x-b-y-c"));
        assert!(!room_matches("a*b*c", "a-x-c"));
        assert!(!room_matches("ab*ba", "aba"));
    }

    #[test]
    fn a_good_token_admits_its_identity() {
        let token = sign_hs256(
            &claims("lobby", expiry_in(Duration::from_secs(60))),
            b"s3cret",
        )
        .unwrap();
        let who = verifier("s3cret").verify(&token, "lobby").unwrap();
        assert_eq!(who.id, "alice-1");
        assert_eq!(who.name, "Alice");
        assert!(who.may(Perm::Publish) && !who.may(Perm::Admin));
    }

    #[test]
    fn bad_tokens_get_their_own_codes() {
        use crate::protocol::ErrorCode;
        let v = verifier("s3cret");
        let fresh = expiry_in(Duration::from_secs(60));
        let code = |token: &str, room: &str| v.verify(token, room).unwrap_err().code();
        let expired = sign_hs256(&claims("lobby", now_secs() - 600), b"s3cret").unwrap();
        assert_eq!(code(&expired, "lobby"), ErrorCode::TokenExpired);
        let forged = sign_hs256(&claims("lobby", fresh), b"other").unwrap();
        assert_eq!(code(&forged, "lobby"), ErrorCode::TokenInvalid);
        assert_eq!(code("not.a.jwt", "lobby"), ErrorCode::TokenInvalid);
        let elsewhere = sign_hs256(&claims("dev", fresh), b"s3cret").unwrap();
        assert_eq!(code(&elsewhere, "lobby"), ErrorCode::TokenWrongRoom);
        let mut nameless = claims("lobby", fresh);
        nameless.name = "  ".into();
        let nameless = sign_hs256(&nameless, b"s3cret").unwrap();
        assert_eq!(code(&nameless, "lobby"), ErrorCode::TokenInvalid);
    }

    #[test]
    fn ed25519_tokens_verify_with_the_public_key() {
        let (private, public) = ed25519_keypair().unwrap();
        let private = private.clone();
        let auth = AuthConfig {
            public_key: Some(public),
            ..AuthConfig::default()
        };
        let v = Verifier::from_config(&auth).unwrap().unwrap();
        let token = sign_ed25519(
            &claims("lobby", expiry_in(Duration::from_secs(60))),
            private.as_bytes(),
        )
        .unwrap();
        assert_eq!(v.verify(&token, "lobby").unwrap().id, "alice-1");
        let hs = sign_hs256(&claims("lobby", expiry_in(Duration::from_secs(60))), b"x").unwrap();
        assert!(
            v.verify(&hs, "lobby").is_err(),
            "an HS256 token is refused by an EdDSA server"
        );
    }
}
