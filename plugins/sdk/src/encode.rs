//! Percent-encoding for query strings and `application/x-www-form-urlencoded`
//! bodies.
//!
//! Everything but RFC 3986's unreserved characters is escaped, which every
//! decoder reads back the same: a space becomes `%20`, never `+` (both decode
//! the same in a form body, and `%20` is also right inside a query string),
//! and text goes as UTF-8, so Cyrillic travels as `%D0%9F...` and survives
//! proxies that mangle raw bytes.

/// One query or form value (or name), escaped.
pub fn component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `name=value&name=value`, each side escaped, in the order given: a query
/// string without the `?`, or a form body.
pub fn pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", component(name), component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_pass_through() {
        assert_eq!(component("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(component(""), "");
    }

    #[test]
    fn reserved_characters_and_spaces_are_escaped() {
        assert_eq!(component("a b&c=d+e/f?g"), "a%20b%26c%3Dd%2Be%2Ff%3Fg");
        assert_eq!(
            component("https://hooks.example/cb?x=1&y=2"),
            "https%3A%2F%2Fhooks.example%2Fcb%3Fx%3D1%26y%3D2"
        );
        assert_eq!(component("messages,manage"), "messages%2Cmanage");
        assert_eq!(component("line\nbreak"), "line%0Abreak");
    }

    #[test]
    fn text_is_encoded_as_utf8() {
        assert_eq!(component("é"), "%C3%A9");
        assert_eq!(component("Привет"), "%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82");
    }

    #[test]
    fn pairs_keep_their_order() {
        assert_eq!(
            pairs(&[("grant_type", "authorization_code"), ("code", "AQ#_ x")]),
            "grant_type=authorization_code&code=AQ%23_%20x"
        );
        assert_eq!(
            pairs(&[("peer_ids", "55501234"), ("message", "Да, есть!")]),
            "peer_ids=55501234&message=%D0%94%D0%B0%2C%20%D0%B5%D1%81%D1%82%D1%8C%21"
        );
        assert_eq!(pairs(&[]), "");
    }
}
