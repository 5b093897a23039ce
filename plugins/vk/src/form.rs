//! `application/x-www-form-urlencoded` bodies and query strings.
//!
//! VK takes every method parameter as a form field (or a query parameter);
//! values are sent as UTF-8 and percent-encoded, so Cyrillic text travels as
//! `%D0%9F...` and survives proxies that mangle raw bytes.

/// Percent-encodes everything but the RFC 3986 unreserved characters. Spaces
/// become `%20` rather than `+`: both decode the same in a form body, and
/// `%20` is also right inside a query string.
pub(crate) fn encode(value: &str) -> String {
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

/// `name=value&name=value`, each side encoded, in the order given.
pub(crate) fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests;
