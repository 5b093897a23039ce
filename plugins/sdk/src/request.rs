//! Reading an incoming webhook request, and building what `verify` and
//! `normalize` make of it.

use crate::{Attachment, AttachmentKind, HttpResponse, IncomingRequest, Rejection, Verdict};

impl IncomingRequest {
    /// First value of a header; names are compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// First value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key) == name).then(|| percent_decode(value))
        })
    }
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2]))
            {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

impl HttpResponse {
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.into().into_bytes(),
        }
    }
}

impl Verdict {
    pub fn reject(status: u16, reason: impl Into<String>) -> Self {
        Verdict::Reject(Rejection {
            status,
            reason: reason.into(),
        })
    }
}

impl Attachment {
    /// An attachment known only by its kind and reference; fill in what the
    /// payload tells with struct update syntax.
    pub fn new(kind: AttachmentKind, provider_ref: impl Into<String>) -> Self {
        Attachment {
            kind,
            provider_ref: provider_ref.into(),
            mime_type: None,
            file_name: None,
            size_bytes: None,
            width: None,
            height: None,
            duration_secs: None,
            metadata: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_values() {
        let request = IncomingRequest {
            method: "GET".into(),
            path: "/".into(),
            query: "hub.mode=subscribe&hub.challenge=12%2034&hub.verify_token=a+b".into(),
            headers: vec![],
            body: vec![],
        };
        assert_eq!(
            request.query_param("hub.challenge").as_deref(),
            Some("12 34")
        );
        assert_eq!(
            request.query_param("hub.verify_token").as_deref(),
            Some("a b")
        );
        assert_eq!(request.query_param("missing"), None);
    }

    #[test]
    fn keeps_a_trailing_lone_percent() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
