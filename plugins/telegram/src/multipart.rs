//! `multipart/form-data` bodies for uploading files to the Bot API.
//!
//! The guest has no randomness worth the name, so the boundary is derived
//! from the outbound message id (stable across retries, which keeps the
//! bytes of a retried upload identical) and checked against the content.

/// A finished body and the `content-type` that names its boundary.
#[derive(Debug)]
pub(crate) struct Multipart {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A form under construction.
pub(crate) struct Form {
    seed: String,
    parts: Vec<Part>,
}

struct Part {
    name: String,
    file: Option<(String, String)>,
    data: Vec<u8>,
}

impl Form {
    pub fn new(seed: &str) -> Self {
        Form {
            seed: seed.to_string(),
            parts: Vec::new(),
        }
    }

    pub fn text(mut self, name: &str, value: impl Into<String>) -> Self {
        self.parts.push(Part {
            name: name.to_string(),
            file: None,
            data: value.into().into_bytes(),
        });
        self
    }

    pub fn file(mut self, name: &str, file_name: &str, content_type: &str, data: Vec<u8>) -> Self {
        self.parts.push(Part {
            name: name.to_string(),
            file: Some((file_name.to_string(), content_type.to_string())),
            data,
        });
        self
    }

    pub fn finish(self) -> Multipart {
        let boundary = self.boundary();
        let size = self
            .parts
            .iter()
            .map(|part| part.data.len() + part.name.len() + 200)
            .sum::<usize>()
            + boundary.len();
        let mut body = Vec::with_capacity(size);
        // Parts are consumed one by one so a large upload is not held twice
        // for longer than it takes to copy it.
        for part in self.parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let mut disposition = format!(
                "Content-Disposition: form-data; name=\"{}\"",
                escape(&part.name)
            );
            if let Some((file_name, content_type)) = &part.file {
                disposition.push_str(&format!(
                    "; filename=\"{}\"\r\nContent-Type: {}",
                    escape(file_name),
                    content_type.replace(['\r', '\n'], "")
                ));
            }
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(&part.data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Multipart {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            body,
        }
    }

    /// The first candidate that appears in no part: with 128 hashed bits a
    /// clash needs crafted content, and then the next attempt differs.
    fn boundary(&self) -> String {
        (0u32..)
            .map(|attempt| {
                let seed = format!("{}#{attempt}", self.seed);
                format!(
                    "switchboard-{:016x}{:016x}",
                    fnv1a(0xcbf2_9ce4_8422_2325, seed.as_bytes()),
                    fnv1a(0x6c62_272e_07bb_0142, seed.as_bytes())
                )
            })
            .find(|candidate| {
                !self.parts.iter().any(|part| {
                    contains(&part.data, candidate.as_bytes())
                        || part.file.as_ref().is_some_and(|(file_name, _)| {
                            contains(file_name.as_bytes(), candidate.as_bytes())
                        })
                })
            })
            .expect("some attempt finds a boundary absent from the content")
    }
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
/// the same way (WHATWG `multipart/form-data` encoding).
fn escape(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_text_and_file_parts() {
        let form = Form::new("msg-1")
            .text("chat_id", "-100123")
            .file(
                "photo",
                "cat \"1\".jpg",
                "image/jpeg",
                vec![0xff, 0xd8, 0x00],
            )
            .finish();
        let boundary = form
            .content_type
            .strip_prefix("multipart/form-data; boundary=")
            .expect("content type names the boundary")
            .to_string();
        assert!(boundary.starts_with("switchboard-"));
        let mut expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n-100123\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"cat %221%22.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        expected.extend_from_slice(&[0xff, 0xd8, 0x00]);
        expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        assert_eq!(form.body, expected);
    }

    #[test]
    fn boundary_is_stable_per_seed_and_differs_between_seeds() {
        let a1 = Form::new("a").text("x", "1").finish().content_type;
        let a2 = Form::new("a").text("x", "1").finish().content_type;
        let b = Form::new("b").text("x", "1").finish().content_type;
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
    }

    #[test]
    fn boundary_avoids_the_content() {
        let first = Form::new("seed").text("x", "1").finish().content_type;
        let first = first
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let form = Form::new("seed")
            .file(
                "document",
                "a.txt",
                "text/plain",
                format!("--{first}--").into_bytes(),
            )
            .finish();
        assert!(!form.content_type.ends_with(first));
    }
}
