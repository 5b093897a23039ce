//! The signature both directions carry: `x-switchboard-signature:
//! sha256=<hex HMAC-SHA256 of the raw body under the signing secret>`.
//!
//! The MAC covers the bytes exactly as sent, never re-serialized JSON, so
//! either side can check it before parsing anything.

use switchboard_plugin_sdk::crypto::{hmac_sha256_hex, verify_hmac_sha256};

pub(crate) const HEADER: &str = "x-switchboard-signature";
const PREFIX: &str = "sha256=";

/// The header value for `body`.
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    format!("{PREFIX}{}", hmac_sha256_hex(secret.as_bytes(), body))
}

/// Whether `header` is a genuine signature of `body`. Compared in constant
/// time; an empty secret never verifies, or an unconfigured channel would
/// accept anything signed with the empty key.
pub(crate) fn is_valid(secret: &str, body: &[u8], header: &str) -> bool {
    match header.trim().strip_prefix(PREFIX) {
        Some(hex) if !secret.is_empty() => verify_hmac_sha256(secret.as_bytes(), body, hex),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec-0123456789abcdef";
    const BODY: &[u8] = br#"{"event_id":"e-1","type":"message"}"#;

    #[test]
    fn sign_is_prefixed_lower_case_hex_of_the_hmac() {
        // RFC 4231 test case 2, in this header's format.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn own_signatures_verify_and_tampering_does_not() {
        let header = sign(SECRET, BODY);
        assert!(is_valid(SECRET, BODY, &header));
        assert!(is_valid(
            SECRET,
            BODY,
            &format!(" {} ", header.to_uppercase().replace("SHA256=", "sha256="))
        ));
        assert!(!is_valid(
            SECRET,
            br#"{"event_id":"e-2","type":"message"}"#,
            &header
        ));
        assert!(!is_valid("another-secret-value", BODY, &header));
    }

    #[test]
    fn the_prefix_and_the_secret_are_required() {
        let hex = hmac_sha256_hex(SECRET.as_bytes(), BODY);
        assert!(!is_valid(SECRET, BODY, &hex));
        assert!(!is_valid(SECRET, BODY, &format!("sha1={hex}")));
        assert!(!is_valid(SECRET, BODY, ""));
        assert!(!is_valid(SECRET, BODY, "sha256="));
        assert!(!is_valid("", BODY, &sign("", BODY)));
    }
}
