//! Outbound messages. Building the request and reading the answer are plain
//! functions, tested natively; only `send` goes through the host.

use serde_json::{json, Value};
use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::http::{HttpError, Request};
use switchboard_plugin_sdk::{Channel, OutboundMessage, SendError, Sent};

use crate::DEFAULT_API_BASE;

pub(crate) fn send(channel: &Channel, message: &OutboundMessage) -> Result<Sent, SendError> {
    let token = channel.require("api_token").map_err(SendError::Permanent)?;
    let (url, body) = build(&channel.api_base(DEFAULT_API_BASE), message)?;
    let response = Request::post(url)
        .header("authorization", format!("Bearer {token}"))
        .json(&body)
        .send()
        .map_err(|error| match error {
            HttpError::Timeout | HttpError::Transport(_) => SendError::Retry(5_000),
            // The origin is not allowed for this channel: retrying cannot help.
            HttpError::Denied(reason) => SendError::Permanent(reason),
            HttpError::TooLarge => SendError::Permanent("the message is too large".into()),
        })?;
    outcome(
        response.status,
        response.header("retry-after"),
        &response.body,
    )
}

/// Replace: your provider's send call. This one is
/// `POST {api_base}/messages {"chat_id", "text", "reply_to"}`.
pub(crate) fn build(
    api_base: &str,
    message: &OutboundMessage,
) -> Result<(String, Value), SendError> {
    let text = message
        .text
        .as_deref()
        .filter(|text| !text.is_empty())
        .ok_or_else(|| SendError::Permanent("only text messages can be sent".into()))?;
    Ok((
        format!("{api_base}/messages"),
        json!({"chat_id": message.thread_id, "text": text, "reply_to": message.reply_to}),
    ))
}

/// Replace: how your provider answers. Each error variant tells the host
/// what to do next: wait and retry, reconnect the channel, or give up.
pub(crate) fn outcome(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<Sent, SendError> {
    match status {
        200..=299 => serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|answer| answer["id"].as_str().map(str::to_string))
            .map(|provider_message_id| Sent {
                provider_message_id,
            })
            // It may have been delivered: retrying could send it twice.
            .ok_or_else(|| SendError::Permanent("the answer names no message id".into())),
        429 => {
            let secs = retry_after.and_then(|value| value.trim().parse::<u32>().ok());
            Err(SendError::RateLimited(
                secs.unwrap_or(30).max(1).saturating_mul(1000),
            ))
        }
        401 | 403 => Err(SendError::AuthExpired(format!("HTTP {status}"))),
        500..=599 => Err(SendError::Retry(5_000)),
        _ => Err(SendError::Permanent(format!("HTTP {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: Option<&str>) -> OutboundMessage {
        OutboundMessage {
            message_id: "01JA7Q3M8Z".into(),
            thread_id: "c-1".into(),
            recipient_id: "u-1".into(),
            text: text.map(str::to_string),
            attachment: None,
            reply_to: Some("m-1".into()),
        }
    }

    #[test]
    fn text_is_posted_to_the_messages_endpoint() {
        let (url, body) = build("https://api.example.com", &message(Some("hi"))).unwrap();
        assert_eq!(url, "https://api.example.com/messages");
        assert_eq!(
            body,
            json!({"chat_id": "c-1", "text": "hi", "reply_to": "m-1"})
        );
        assert!(matches!(
            build("https://api.example.com", &message(None)),
            Err(SendError::Permanent(_))
        ));
    }

    #[test]
    fn answers_map_to_what_the_host_does_next() {
        let sent = outcome(200, None, br#"{"id": "p-9"}"#).unwrap();
        assert_eq!(sent.provider_message_id, "p-9");
        assert!(matches!(
            outcome(200, None, b"{}"),
            Err(SendError::Permanent(_))
        ));
        assert!(matches!(
            outcome(429, Some("7"), b""),
            Err(SendError::RateLimited(7_000))
        ));
        assert!(matches!(
            outcome(401, None, b""),
            Err(SendError::AuthExpired(_))
        ));
        assert!(matches!(
            outcome(503, None, b""),
            Err(SendError::Retry(5_000))
        ));
        assert!(matches!(
            outcome(400, None, b""),
            Err(SendError::Permanent(_))
        ));
    }
}
