//! What travels on the topics. JSON, so a record can be read with any Kafka
//! tool; raw bodies are base64 so the signature-relevant bytes survive exactly.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::plugin::types::{Event, IncomingRequest};

/// Topic names of the external contract.
pub mod topics {
    pub const NORMALIZED: &str = "channel.inbound.normalized";
    pub const DEADLETTER: &str = "channel.deadletter";

    pub fn webhook(provider: &str) -> String {
        format!("channel.webhook.{provider}")
    }

    pub fn outbound(provider: &str) -> String {
        format!("channel.outbound.{provider}")
    }
}

/// A webhook request as received, for `channel.webhook.<provider>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawWebhook {
    pub provider: String,
    /// Resolved at the edge for per-account URLs.
    pub channel_id: Option<String>,
    pub workspace_id: Option<String>,
    /// Provider account ids named in the payload (global and per-workspace URLs).
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Unix microseconds when the edge received it.
    pub received_at: i64,
    pub request: WireRequest,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body_base64: String,
}

impl From<&IncomingRequest> for WireRequest {
    fn from(request: &IncomingRequest) -> Self {
        WireRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            headers: request.headers.clone(),
            body_base64: BASE64.encode(&request.body),
        }
    }
}

impl WireRequest {
    pub fn to_incoming(&self) -> Result<IncomingRequest, String> {
        Ok(IncomingRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body: BASE64
                .decode(&self.body_base64)
                .map_err(|error| format!("body is not base64: {error}"))?,
        })
    }
}

/// One normalized event, for `channel.inbound.normalized`, keyed by
/// channel account + provider thread so one conversation stays in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Normalized {
    pub channel_id: String,
    pub workspace_id: String,
    pub provider: String,
    pub received_at: i64,
    pub event: Event,
}

/// An event of a `channel.inbound.normalized` record that cannot be read.
#[derive(Debug)]
pub struct UnreadableEvent {
    /// The event's own JSON (the whole record when it is not even a pack).
    pub payload: String,
    pub reason: String,
}

/// The events of a `channel.inbound.normalized` record: a pack (see
/// `pipeline::pack`) or, as records written before packing, one bare event.
/// Each event of a pack is read on its own, so one that cannot be read (a
/// newer process's event during a rolling upgrade, say) costs only itself.
pub fn read_normalized(payload: &[u8]) -> Vec<Result<Normalized, UnreadableEvent>> {
    #[derive(Deserialize)]
    struct Pack<'a> {
        #[serde(borrow)]
        events: Vec<&'a serde_json::value::RawValue>,
    }
    if let Ok(pack) = serde_json::from_slice::<Pack<'_>>(payload) {
        let count = pack.events.len();
        return pack
            .events
            .into_iter()
            .enumerate()
            .map(|(index, raw)| {
                serde_json::from_str::<Normalized>(raw.get()).map_err(|error| UnreadableEvent {
                    payload: raw.get().to_string(),
                    reason: format!(
                        "unreadable normalized event ({} of {count} in its pack): {error}",
                        index + 1
                    ),
                })
            })
            .collect();
    }
    vec![
        serde_json::from_slice::<Normalized>(payload).map_err(|error| UnreadableEvent {
            payload: String::from_utf8_lossy(payload).into_owned(),
            reason: format!("neither a pack of normalized events nor one event: {error}"),
        }),
    ]
}

/// An operator reply to deliver, for `channel.outbound.<provider>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboundJob {
    pub message_id: String,
    pub channel_id: String,
}

/// Why something was dead-lettered, for `channel.deadletter`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    pub reason: String,
    pub source_topic: String,
    pub source_offset: i64,
    pub at: i64,
    /// The original record payload, as text when it is UTF-8.
    pub payload: String,
}
