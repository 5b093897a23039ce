//! `multipart/form-data` bodies for VK's upload servers, which take one file
//! per request.
//!
//! The boundary is derived from a seed (the outbound message id) rather than
//! randomness the guest does not have; it is checked against the content so
//! crafted data cannot end the part early.

/// A finished body and the `content-type` that names its boundary.
#[derive(Debug)]
pub(crate) struct Multipart {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A body with one file part named `field`.
pub(crate) fn single_file(
    seed: &str,
    field: &str,
    file_name: &str,
    content_type: &str,
    data: &[u8],
) -> Multipart {
    let boundary = boundary(seed, data, file_name);
    let mut body = Vec::with_capacity(data.len() + 256);
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(
        format!(
            "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            escape(field),
            escape(file_name),
            content_type.replace(['\r', '\n'], "")
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Multipart {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        body,
    }
}

/// The first candidate that appears neither in the data nor in the name.
fn boundary(seed: &str, data: &[u8], file_name: &str) -> String {
    (0u32..)
        .map(|attempt| {
            let seed = format!("{seed}#{attempt}");
            format!(
                "switchboard-vk-{:016x}{:016x}",
                fnv1a(0xcbf2_9ce4_8422_2325, seed.as_bytes()),
                fnv1a(0x84222325_cbf29ce4, seed.as_bytes())
            )
        })
        .find(|candidate| {
            !contains(data, candidate.as_bytes()) && !file_name.contains(candidate.as_str())
        })
        .expect("some attempt finds a boundary absent from the content")
}

fn fnv1a(offset_basis: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(offset_basis, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Quotes and line breaks would end the header early; browsers escape them
/// the same way (WHATWG `multipart/form-data` encoding). Other characters,
/// Cyrillic included, go as UTF-8, which upload servers read.
fn escape(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests;
