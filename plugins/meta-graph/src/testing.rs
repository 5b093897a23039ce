//! Requests as Meta sends them, for the Meta providers' unit tests. Only
//! built with the `testing` feature (see the SDK's `testing` module).

use switchboard_plugin_sdk::crypto::hmac_sha256_hex;
use switchboard_plugin_sdk::{testing, IncomingRequest};

use crate::webhook::SIGNATURE_HEADER;

/// A webhook POST of `body` to `path`, signed with the app secret `secret`.
pub fn signed_post(path: &str, body: &str, secret: &str) -> IncomingRequest {
    IncomingRequest {
        headers: vec![(
            SIGNATURE_HEADER.into(),
            format!(
                "sha256={}",
                hmac_sha256_hex(secret.as_bytes(), body.as_bytes())
            ),
        )],
        ..testing::request("POST", path, body)
    }
}

/// A handshake GET to `path` with this query.
pub fn handshake(path: &str, query: &str) -> IncomingRequest {
    IncomingRequest {
        query: query.into(),
        ..testing::request("GET", path, "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::{check_signature, is_handshake};

    #[test]
    fn signed_posts_pass_the_signature_check() {
        let request = signed_post("/webhooks/instagram", r#"{"object":"instagram"}"#, "s");
        assert_eq!(request.method, "POST");
        assert_eq!(check_signature("s", &request), Ok(()));
        assert!(check_signature("other", &request).is_err());
        assert!(is_handshake(&handshake(
            "/webhooks/instagram",
            "hub.mode=subscribe"
        )));
    }
}
