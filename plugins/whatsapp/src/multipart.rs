//! `multipart/form-data` bodies for media uploads.
//!
//! The boundary is derived from the outbound message id, so a retried
//! upload sends identical bytes, and is checked against the content.

/// A finished body and the `content-type` that names its boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Multipart {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// One file part.
pub(crate) struct FilePart<'a> {
    pub name: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub data: &'a [u8],
}

pub(crate) fn encode(seed: &str, fields: &[(&str, &str)], file: FilePart<'_>) -> Multipart {
    let boundary = boundary(seed, fields, &file);
    let mut body = Vec::with_capacity(file.data.len() + 512);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                quote(name)
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            quote(file.name),
            quote(file.file_name),
            file.content_type.replace(['\r', '\n'], "")
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Multipart {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        body,
    }
}

/// The first candidate found nowhere in the content.
fn boundary(seed: &str, fields: &[(&str, &str)], file: &FilePart<'_>) -> String {
    (0u32..)
        .map(|attempt| {
            format!(
                "switchboard-{:016x}",
                fnv1a(format!("{seed}#{attempt}").as_bytes())
            )
        })
        .find(|candidate| {
            let needle = candidate.as_bytes();
            !contains(file.data, needle)
                && !contains(file.file_name.as_bytes(), needle)
                && !fields
                    .iter()
                    .any(|(_, value)| contains(value.as_bytes(), needle))
        })
        .expect("some attempt finds a boundary absent from the content")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Quotes and line breaks would end a header value early (escaped the way
/// browsers do).
fn quote(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(data: &[u8]) -> FilePart<'_> {
        FilePart {
            name: "file",
            file_name: "scan \"1\".pdf",
            content_type: "application/pdf",
            data,
        }
    }

    #[test]
    fn fields_come_before_the_file() {
        let form = encode(
            "msg-1",
            &[
                ("messaging_product", "whatsapp"),
                ("type", "application/pdf"),
            ],
            file(b"%PDF"),
        );
        let boundary = form
            .content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap()
            .to_string();
        let expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\napplication/pdf\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan %221%22.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n%PDF\r\n--{boundary}--\r\n"
        );
        assert_eq!(String::from_utf8(form.body).unwrap(), expected);
    }

    #[test]
    fn the_boundary_is_stable_and_avoids_the_content() {
        let first = encode("seed", &[], file(b"x"));
        assert_eq!(first, encode("seed", &[], file(b"x")));
        assert_ne!(
            first.content_type,
            encode("other", &[], file(b"x")).content_type
        );
        let taken = first
            .content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let clash = encode("seed", &[], file(taken.as_bytes()));
        assert!(!clash.content_type.ends_with(taken));
    }
}
