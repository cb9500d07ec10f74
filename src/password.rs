//! [`Password`]: a room password that cannot be printed by accident. Its `Debug` says
//! `Password(<redacted>)` and it has no `Display`, so a config, a join message or a client
//! config logged with `{:?}` shows no secret; the bytes are wiped when it is dropped; comparing
//! two takes time that depends on neither.

use std::fmt;
use std::str::FromStr;

use ring::digest::{digest, SHA256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// A room password. Read it with [`Password::expose`] where it is sent or checked, nowhere else.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The password itself: for the one place that sends or checks it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `given` is this password, in time that depends on neither (both are hashed
    /// first, so not even their lengths show).
    pub fn matches(&self, given: &Password) -> bool {
        let (a, b) = (
            digest(&SHA256, self.0.as_bytes()),
            digest(&SHA256, given.0.as_bytes()),
        );
        a.as_ref().ct_eq(b.as_ref()).into()
    }
}

impl From<String> for Password {
    fn from(s: String) -> Password {
        Password(s)
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Password {
        Password(s.to_string())
    }
}

/// For command-line flags.
impl FromStr for Password {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Password, Self::Err> {
        Ok(Password::from(s))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Password, D::Error> {
        String::deserialize(d).map(Password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::from("hunter2");
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert_eq!(format!("{:?}", Some(&p)), "Some(Password(<redacted>))");
        assert_eq!(p.expose(), "hunter2");
    }

    #[test]
    fn passwords_compare_whole() {
        let p = |s: &str| Password::from(s);
        assert!(p("hunter2").matches(&p("hunter2")));
        assert!(!p("hunter2").matches(&p("hunter")));
        assert!(!p("hunter2").matches(&p("hunter22")));
        assert!(!p("").matches(&p("x")));
    }

    #[test]
    fn it_is_a_plain_string_on_the_wire_and_in_config() {
        let p: Password = serde_json::from_str("\"s3cret\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"s3cret\"");
    }
}
