//! What the relay accepts as a signal, checked before it spends anything on it (a UDP port, a
//! peer connection, a log line per attempt): an offer of parseable SDP with a data-channel
//! section, ICE credentials and a DTLS fingerprint, or an ICE candidate.

use webrtc::peer_connection::{RTCIceCandidateInit, RTCSdpType, RTCSessionDescription};

use crate::protocol::SignalData;

/// A signal the relay acts on.
#[derive(Debug)]
pub enum RelaySignal {
    /// Start (or restart) the member's connection.
    Offer(Box<RTCSessionDescription>),
    /// A remote ICE candidate for the current connection.
    Candidate(RTCIceCandidateInit),
    /// The member has no more candidates.
    EndOfCandidates,
}

/// Why a signal to the relay was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadSignal {
    /// Not a JSON object with a `type`.
    #[error("unreadable signal: {0}")]
    Unreadable(String),
    /// A type the relay does not take.
    #[error("the relay takes offers and candidates, not {0:?}")]
    Unexpected(String),
    /// The SDP does not parse.
    #[error("unreadable SDP: {0}")]
    Sdp(String),
    /// The offer has no `m=application` section.
    #[error("the offer has no data channel (m=application) section")]
    NoDataChannel,
    /// No `a=ice-ufrag` / `a=ice-pwd`.
    #[error("the offer has no ICE credentials (a=ice-ufrag, a=ice-pwd)")]
    NoIceCredentials,
    /// No `a=fingerprint`.
    #[error("the offer has no DTLS fingerprint (a=fingerprint)")]
    NoFingerprint,
    /// A candidate with no offer before it (or after the relay let go of the connection).
    #[error("a candidate with no relay connection: offer first")]
    NoConnection,
}

/// Reads and checks a member's signal to the relay.
pub fn parse(data: &SignalData) -> Result<RelaySignal, BadSignal> {
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
        candidate: Option<RTCIceCandidateInit>,
    }
    let unreadable = |e: serde_json::Error| BadSignal::Unreadable(e.to_string());
    let kind = data.parse::<Kind>().map_err(unreadable)?;
    match (kind.kind.as_str(), kind.candidate) {
        ("offer", _) => {
            let offer = data.parse::<RTCSessionDescription>().map_err(unreadable)?;
            check_offer(&offer)?;
            Ok(RelaySignal::Offer(Box::new(offer)))
        }
        ("candidate", Some(c)) if !c.candidate.is_empty() => Ok(RelaySignal::Candidate(c)),
        ("candidate", _) => Ok(RelaySignal::EndOfCandidates),
        (other, _) => Err(BadSignal::Unexpected(other.to_string())),
    }
}

/// Checks that `offer` is an offer the relay could answer.
fn check_offer(offer: &RTCSessionDescription) -> Result<(), BadSignal> {
    if offer.sdp_type != RTCSdpType::Offer {
        return Err(BadSignal::Unexpected(offer.sdp_type.to_string()));
    }
    // The SDP comes from a member: a parser bug it trips must not take the relay down with it.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| offer.unmarshal()))
        .map_err(|_| BadSignal::Sdp("the SDP parser failed on it".into()))?;
    let sdp = parsed.map_err(|e| BadSignal::Sdp(e.to_string()))?;
    let media = &sdp.media_descriptions;
    let Some(app) = media.iter().find(|m| m.media_name.media == "application") else {
        return Err(BadSignal::NoDataChannel);
    };
    let has = |key: &str| sdp.has_attribute(key) || app.has_attribute(key);
    if !(has("ice-ufrag") && has("ice-pwd")) {
        return Err(BadSignal::NoIceCredentials);
    }
    if !has("fingerprint") {
        return Err(BadSignal::NoFingerprint);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An offer as Chromium makes it for one data channel (trimmed to what matters).
    const OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\n\
        a=ice-ufrag:abcd\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\na=ice-options:trickle\r\n\
        a=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E\r\n\
        a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";

    fn offer(sdp: &str) -> SignalData {
        SignalData::from_serialize(&serde_json::json!({"type": "offer", "sdp": sdp})).unwrap()
    }

    fn signal(json: serde_json::Value) -> SignalData {
        SignalData::from_serialize(&json).unwrap()
    }

    #[test]
    fn a_data_channel_offer_is_taken() {
        assert!(matches!(parse(&offer(OFFER)), Ok(RelaySignal::Offer(_))));
    }

    #[test]
    fn junk_offers_are_refused_with_the_reason() {
        assert!(matches!(parse(&offer("junk")), Err(BadSignal::Sdp(_))));
        assert!(matches!(parse(&offer("")), Err(BadSignal::Sdp(_))));
        let no_app = OFFER.replace(
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        );
        assert_eq!(
            parse(&offer(&no_app)).unwrap_err(),
            BadSignal::NoDataChannel
        );
        let no_pwd = OFFER.replace("a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\n", "");
        assert_eq!(
            parse(&offer(&no_pwd)).unwrap_err(),
            BadSignal::NoIceCredentials
        );
        let no_fp = OFFER
            .lines()
            .filter(|l| !l.starts_with("a=fingerprint"))
            .map(|l| format!("{l}\r\n"))
            .collect::<String>();
        assert_eq!(parse(&offer(&no_fp)).unwrap_err(), BadSignal::NoFingerprint);
        let answer = signal(serde_json::json!({"type": "answer", "sdp": OFFER}));
        assert!(matches!(parse(&answer), Err(BadSignal::Unexpected(_))));
        let odd_type = signal(serde_json::json!({"type": 5}));
        assert!(matches!(parse(&odd_type), Err(BadSignal::Unreadable(_))));
    }

    #[test]
    fn candidates_and_their_end_are_taken() {
        let c = signal(
            serde_json::json!({"type": "candidate", "candidate": {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", "sdpMid": "0"}}),
        );
        assert!(matches!(parse(&c), Ok(RelaySignal::Candidate(_))));
        let end = signal(serde_json::json!({"type": "candidate", "candidate": null}));
        assert!(matches!(parse(&end), Ok(RelaySignal::EndOfCandidates)));
    }
}
