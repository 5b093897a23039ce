//! Percent-encoding for query strings and `application/x-www-form-urlencoded`
//! bodies. Everything but RFC 3986's unreserved characters is escaped, which
//! every decoder reads back the same (a space becomes `%20`, never `+`).

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

/// `name=value&name=value`, in the order given: a query string without the
/// `?`, or a form body.
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
    fn escapes_everything_but_unreserved_characters() {
        assert_eq!(component("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(
            component("https://hooks.example/cb?x=1&y=2"),
            "https%3A%2F%2Fhooks.example%2Fcb%3Fx%3D1%26y%3D2"
        );
        assert_eq!(component("a b+c,d"), "a%20b%2Bc%2Cd");
        assert_eq!(component("é"), "%C3%A9");
        assert_eq!(component(""), "");
    }

    #[test]
    fn joins_pairs_in_order() {
        assert_eq!(
            pairs(&[("grant_type", "authorization_code"), ("code", "AQ#_ x")]),
            "grant_type=authorization_code&code=AQ%23_%20x"
        );
        assert_eq!(pairs(&[]), "");
    }
}
