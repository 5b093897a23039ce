//! Meta's webhook protocol, identical for Instagram and WhatsApp: one URL for
//! the whole app, a `hub.*` GET when the URL is registered, and POSTs signed
//! with the app secret.
//!
//! `verify` runs on the request path before anything is stored, so it makes
//! no outbound call and reads the body only to check that it is JSON.

use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::crypto::{constant_time_eq, verify_hmac_sha256};
use switchboard_plugin_sdk::{
    Channel, ConfigField, HttpResponse, IncomingRequest, Routing, Verdict,
};

use crate::payload::dedup;

/// `sha256=<hex HMAC-SHA256(raw body, app secret)>`.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Channel config keys the check reads.
pub const APP_SECRET: &str = "app_secret";
pub const VERIFY_TOKEN: &str = "verify_token";

/// The `verify_token` configuration field, as every Meta provider offers it.
pub fn verify_token_field() -> ConfigField {
    ConfigField::new(
        VERIFY_TOKEN,
        "Webhook verify token",
        "What Meta's webhook settings must send as the verify token. Leave empty to \
         use a generated one, shown here after connecting.",
    )
}

/// Authenticates a delivery for `channel`, or answers the handshake.
pub fn verify(channel: &Channel, request: &IncomingRequest) -> Verdict {
    if request.method.eq_ignore_ascii_case("GET") {
        return handshake(&expected_verify_token(channel), request);
    }
    if !request.method.eq_ignore_ascii_case("POST") {
        return Verdict::reject(405, "Meta delivers events with POST");
    }
    let Some(secret) = channel.get(APP_SECRET) else {
        // Without the secret nothing can be authenticated; accepting would
        // let anyone inject messages.
        return Verdict::reject(
            401,
            "the channel has no `app_secret` to check signatures with",
        );
    };
    if let Err(reason) = check_signature(secret, request) {
        return Verdict::reject(401, reason);
    }
    match serde_json::from_slice::<serde_json::Value>(&request.body) {
        Ok(serde_json::Value::Object(_)) => Verdict::Accept(None),
        Ok(_) => Verdict::reject(400, "the body is JSON but not an object"),
        Err(error) => Verdict::reject(400, format!("the body is not JSON: {error}")),
    }
}

/// The channel's `verify_token`; `connect` stores the webhook secret there
/// when none was given, so a channel connected before that falls back to it.
fn expected_verify_token(channel: &Channel) -> String {
    channel
        .get(VERIFY_TOKEN)
        .unwrap_or(channel.webhook_secret.trim())
        .to_string()
}

/// The subscription check Meta makes when the webhook URL is saved:
/// `?hub.mode=subscribe&hub.verify_token=<ours>&hub.challenge=<n>`, answered
/// with the bare challenge. A wrong token is 403, which also tells the host
/// to try the next candidate channel.
pub fn handshake(expected_token: &str, request: &IncomingRequest) -> Verdict {
    if request.query_param("hub.mode").as_deref() != Some("subscribe") {
        return Verdict::reject(
            403,
            "not a subscription request (hub.mode must be subscribe)",
        );
    }
    let given = request.query_param("hub.verify_token").unwrap_or_default();
    // An empty token on both sides would otherwise compare equal.
    if expected_token.is_empty() || !constant_time_eq(given.as_bytes(), expected_token.as_bytes()) {
        return Verdict::reject(403, "hub.verify_token does not match this channel");
    }
    match request.query_param("hub.challenge") {
        Some(challenge) if !challenge.is_empty() => {
            Verdict::Respond(HttpResponse::text(200, challenge))
        }
        _ => Verdict::reject(400, "hub.challenge is missing"),
    }
}

/// Checks `X-Hub-Signature-256` over the raw body, in constant time.
pub fn check_signature(app_secret: &str, request: &IncomingRequest) -> Result<(), &'static str> {
    let header = request
        .header(SIGNATURE_HEADER)
        .ok_or("X-Hub-Signature-256 is missing")?
        .trim();
    let hex = header
        .get(..7)
        .filter(|prefix| prefix.eq_ignore_ascii_case("sha256="))
        .map(|_| &header[7..])
        .ok_or("X-Hub-Signature-256 is not of the form sha256=<hex>")?;
    if verify_hmac_sha256(app_secret.as_bytes(), &request.body, hex) {
        Ok(())
    } else {
        Err("X-Hub-Signature-256 does not match the body")
    }
}

/// Whether a request is Meta's subscription GET (it names no account).
pub fn is_handshake(request: &IncomingRequest) -> bool {
    request.method.eq_ignore_ascii_case("GET") && request.query_param("hub.mode").is_some()
}

/// Global routing: the handshake, or the accounts `account_ids` finds in the
/// body (deduplicated, in order of appearance).
pub fn route(
    request: &IncomingRequest,
    account_ids: impl FnOnce(&[u8]) -> Result<Vec<String>, String>,
) -> Routing {
    if is_handshake(request) {
        return Routing::Handshake;
    }
    if !request.method.eq_ignore_ascii_case("POST") {
        return Routing::Unroutable(format!(
            "{} without hub.mode is not a Meta webhook",
            request.method
        ));
    }
    match account_ids(&request.body) {
        // An empty list is a well-formed webhook about no connected account
        // (WhatsApp's account-level events): the host answers it once a
        // channel's verify accepts the signature, and stores nothing.
        Ok(ids) => Routing::Accounts(dedup(ids)),
        Err(reason) => Routing::Unroutable(reason),
    }
}

#[cfg(test)]
mod tests;
