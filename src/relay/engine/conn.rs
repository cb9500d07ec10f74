//! One connection of the engine: its `rtc` peer connection, its chat channel, its deadlines and
//! the queue of messages waiting for room in its send window.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rtc::crypto::SignatureScheme;
use rtc::data_channel::RTCDataChannelId;
use rtc::peer_connection::certificate::{CertificateParams, RTCCertificate};
use rtc::peer_connection::configuration::setting_engine::{
    SctpMaxMessageSize, SettingEngineBuilder,
};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};

use super::{Events, SEND_WINDOW};

/// A member's connection.
pub(super) struct Conn {
    pub pc: RTCPeerConnection,
    /// Where its events go.
    pub events: Events,
    /// Its chat channel, once open.
    pub channel: Option<RTCDataChannelId>,
    /// The `rtc` deadline the heap holds for it (older heap entries are stale).
    pub deadline: Option<Instant>,
    /// Until its channel opens: when it is given up.
    pub connect_by: Option<Instant>,
    /// Messages waiting for room in the send window, oldest first.
    pub queue: VecDeque<Arc<str>>,
    /// Their bytes.
    pub queued: usize,
    /// While the queue is above `max_buffered`: when the connection is closed as slow.
    pub slow_at: Option<Instant>,
    /// Whether it waits to be driven at the end of the engine's turn.
    pub dirty: bool,
}

/// What a new connection is built from.
pub(super) struct AnswerPlan<'a> {
    pub offer: RTCSessionDescription,
    pub ufrag: &'a str,
    /// The host candidates to advertise (the shared socket's port on each address).
    pub candidates: &'a [SocketAddr],
    pub max_message_bytes: usize,
    /// The DTLS certificate every connection of the engine shares.
    pub certificate: &'a RTCCertificate,
}

impl Conn {
    /// A connection answering `plan.offer`; the answer is its local description.
    pub fn answer(
        plan: AnswerPlan<'_>,
        events: Events,
        now: Instant,
    ) -> Result<(Conn, RTCSessionDescription), String> {
        let setting_engine = SettingEngineBuilder::new()
            .with_ice_credentials(plan.ufrag.to_owned(), random_token(32))
            .with_sctp_max_message_size(SctpMaxMessageSize::Bounded(
                u32::try_from(plan.max_message_bytes).unwrap_or(u32::MAX),
            ))
            .build();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(
                RTCConfigurationBuilder::new()
                    .with_certificates(vec![plan.certificate.clone()])
                    .build(),
            )
            .with_setting_engine(setting_engine)
            .build(now)
            .map_err(|e| e.to_string())?;
        pc.set_remote_description(now, plan.offer)
            .map_err(|e| e.to_string())?;
        for addr in plan.candidates {
            let candidate = CandidateHostConfig {
                base_config: CandidateConfig {
                    network: "udp".to_owned(),
                    address: addr.ip().to_string(),
                    port: addr.port(),
                    component: 1,
                    ..Default::default()
                },
                ..Default::default()
            }
            .new_candidate_host()
            .map_err(|e| e.to_string())?;
            let init = RTCIceCandidate::from(&candidate)
                .to_json()
                .map_err(|e| e.to_string())?;
            pc.add_local_candidate(init).map_err(|e| e.to_string())?;
        }
        let answer = pc.create_answer(None).map_err(|e| e.to_string())?;
        pc.set_local_description(now, answer)
            .map_err(|e| e.to_string())?;
        let answer = pc
            .local_description()
            .ok_or("no local description after answering")?;
        let conn = Conn {
            pc,
            events,
            channel: None,
            deadline: None,
            connect_by: None,
            queue: VecDeque::new(),
            queued: 0,
            slow_at: None,
            dirty: false,
        };
        Ok((conn, answer))
    }

    /// Queues one message.
    pub fn queue(&mut self, text: Arc<str>) {
        self.queued += text.len();
        self.queue.push_back(text);
    }

    /// Moves queued messages into the channel while its unacknowledged bytes stay within the
    /// send window (one message always goes when nothing is outstanding). Errors are returned
    /// for the caller to log; the message that failed is dropped.
    pub fn pump(&mut self, now: Instant) -> Result<(), String> {
        let Some(channel) = self.channel else {
            return Ok(());
        };
        let Some(mut dc) = self.pc.data_channel(channel) else {
            return Ok(());
        };
        while let Some(front) = self.queue.front() {
            let outstanding = dc.outstanding_bytes();
            if outstanding > 0 && outstanding + front.len() > SEND_WINDOW {
                break;
            }
            let Some(text) = self.queue.pop_front() else {
                break;
            };
            self.queued -= text.len();
            dc.send_text(now, &*text).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// A fresh self-signed ECDSA P-256 certificate for DTLS (what browsers generate too). One serves
/// every connection: its keys only sign the handshake, whose session keys are ephemeral (ECDHE),
/// and generating one per connection would cost a key generation and ~2 KiB each.
pub(super) fn certificate() -> Result<RTCCertificate, String> {
    let provider = rtc::crypto::default_provider().map_err(|e| e.to_string())?;
    let params =
        CertificateParams::new(vec!["switchboard".to_owned()]).map_err(|e| e.to_string())?;
    RTCCertificate::generate(provider.crypto(), SignatureScheme::EcdsaP256Sha256, params)
        .map_err(|e| e.to_string())
}

/// A random token of `len` letters and digits (ICE ufrag and password characters).
pub(super) fn random_token(len: usize) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), len)
}
