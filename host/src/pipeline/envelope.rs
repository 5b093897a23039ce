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

/// What a record of `channel.inbound.normalized` holds: a pack of events
/// (see `pipeline::pack`), or one bare event as records written before
/// packing did.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NormalizedRecord {
    Pack { events: Vec<Normalized> },
    One(Box<Normalized>),
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
