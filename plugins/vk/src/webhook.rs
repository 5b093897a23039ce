//! The request path: which community a callback is for (`route`), and
//! whether to trust it (`verify`). Both run before anything is stored, so
//! they make no outbound call and read only the envelope.

use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::crypto::constant_time_eq;
use switchboard_plugin_sdk::{Channel, HttpResponse, IncomingRequest, Routing, Verdict};

use crate::callback;

/// VK caps a callback server's `secret_key` at 50 characters, while the host
/// may generate up to 64; connect registers the first 50 and verify expects
/// the same.
pub(crate) const MAX_SECRET_CHARS: usize = 50;

/// The secret VK must send in every callback: the admin's explicit `secret`
/// when set (a callback server configured by hand), else the host's
/// generated secret, which `connect` registers as the server's `secret_key`.
pub(crate) fn expected_secret(config: &impl Config, webhook_secret: &str) -> String {
    match config.get("secret") {
        Some(secret) => secret.to_string(),
        None => webhook_secret
            .trim()
            .chars()
            .take(MAX_SECRET_CHARS)
            .collect(),
    }
}

/// The community named in the payload. VK's confirmation request names it
/// too, so handshakes route like any event.
pub(crate) fn route(request: &IncomingRequest) -> Routing {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Routing::Unroutable("VK delivers callbacks with POST".into());
    }
    match callback::parse(&request.body) {
        Ok(callback) => match callback.group_id {
            Some(group_id) => Routing::Accounts(vec![group_id.to_string()]),
            None => Routing::Unroutable("the callback names no valid `group_id`".into()),
        },
        Err(reason) => Routing::Unroutable(format!("not a VK callback: {reason}")),
    }
}

pub(crate) fn verify(channel: &Channel, request: &IncomingRequest) -> Verdict {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Verdict::reject(405, "VK delivers callbacks with POST");
    }
    let callback = match callback::parse(&request.body) {
        Ok(callback) => callback,
        Err(reason) => return Verdict::reject(400, format!("malformed callback: {reason}")),
    };
    let Some(group_id) = callback.group_id else {
        return Verdict::reject(400, "malformed callback: no valid `group_id`");
    };
    if group_id.to_string() != channel.provider_account_id.trim() {
        return Verdict::reject(
            403,
            format!(
                "the callback is for community {group_id}, this channel is community {}",
                channel.provider_account_id
            ),
        );
    }
    if callback.kind == "confirmation" {
        // The confirmation request may come without a secret (the documented
        // sample has none), and the string it gets back only proves that this
        // URL answers for the community, so it is not guarded by one.
        return match channel.get("confirmation_code") {
            Some(code) => Verdict::Respond(HttpResponse::text(200, code)),
            None => Verdict::reject(
                503,
                "VK asks for the confirmation string, but the channel has no `confirmation_code`: \
                 reconnect the channel, or copy the string from the community's Callback API \
                 settings into the channel settings",
            ),
        };
    }
    let expected = expected_secret(channel, &channel.webhook_secret);
    let given = callback.secret.unwrap_or_default();
    // An empty secret on both sides would otherwise compare equal.
    if expected.is_empty() {
        return Verdict::reject(401, "the channel has no secret to check callbacks against");
    }
    if given.is_empty() {
        return Verdict::reject(401, "the callback carries no `secret`");
    }
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Verdict::reject(401, "invalid `secret`");
    }
    // Anything but exactly `ok` makes VK count the delivery as failed and,
    // after a few, stop calling the server.
    Verdict::Accept(Some(HttpResponse::text(200, "ok")))
}

#[cfg(test)]
mod tests;
