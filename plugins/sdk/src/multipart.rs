//! `multipart/form-data` bodies, for providers that take file uploads.
//!
//! A guest has no randomness worth the name, so the boundary is derived from
//! a seed the caller picks: the outbound message id, which keeps the bytes of
//! a retried upload identical. The boundary is then checked against
//! everything the body carries, so crafted content cannot end a part early.
//!
//! ```
//! use switchboard_plugin_sdk::multipart::Form;
//!
//! let form = Form::new("01JA0000000000000000000000")
//!     .text("chat_id", "-100123")
//!     .file("photo", "cat.jpg", "image/jpeg", vec![0xff, 0xd8])
//!     .finish();
//! assert!(form.content_type.starts_with("multipart/form-data; boundary=switchboard-"));
//! ```

use std::borrow::Cow;

/// A finished body and the `content-type` that names its boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A form under construction; parts go out in the order they are added.
///
/// File data is taken as a [`Cow`]: hand over a `Vec<u8>` the form may
/// consume, or borrow a `&[u8]` the caller keeps, so an upload is never
/// held more than twice (its bytes and the body) while the body is built.
#[derive(Debug)]
pub struct Form<'a> {
    seed: String,
    parts: Vec<Part<'a>>,
}

#[derive(Debug)]
struct Part<'a> {
    name: String,
    /// The file name and content type of a file part.
    file: Option<(String, String)>,
    data: Cow<'a, [u8]>,
}

impl<'a> Form<'a> {
    /// An empty form whose boundary derives from `seed`.
    pub fn new(seed: &str) -> Self {
        Form {
            seed: seed.to_string(),
            parts: Vec::new(),
        }
    }

    /// A text field.
    pub fn text(mut self, name: &str, value: impl Into<String>) -> Self {
        self.parts.push(Part {
            name: name.to_string(),
            file: None,
            data: Cow::Owned(value.into().into_bytes()),
        });
        self
    }

    /// A file field. Line breaks are dropped from `content_type`.
    pub fn file(
        mut self,
        name: &str,
        file_name: &str,
        content_type: &str,
        data: impl Into<Cow<'a, [u8]>>,
    ) -> Self {
        self.parts.push(Part {
            name: name.to_string(),
            file: Some((file_name.to_string(), content_type.to_string())),
            data: data.into(),
        });
        self
    }

    /// The body. Field and file names are escaped the way browsers do
    /// (WHATWG `multipart/form-data` encoding): quotes and line breaks would
    /// end the header early; other characters, Cyrillic included, go as
    /// UTF-8, which upload servers read.
    pub fn finish(self) -> Multipart {
        let boundary = self.boundary();
        let size = self
            .parts
            .iter()
            .map(|part| part.data.len() + part.name.len() + 200)
            .sum::<usize>()
            + boundary.len();
        let mut body = Vec::with_capacity(size);
        // Parts are consumed one by one so an owned upload is not held twice
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

    /// The first candidate found nowhere in the form: with 128 hashed bits a
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
                let needle = candidate.as_bytes();
                !self.parts.iter().any(|part| {
                    contains(&part.data, needle)
                        || contains(part.name.as_bytes(), needle)
                        || part.file.as_ref().is_some_and(|(file_name, content_type)| {
                            contains(file_name.as_bytes(), needle)
                                || contains(content_type.as_bytes(), needle)
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

fn escape(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary_of(form: &Multipart) -> String {
        form.content_type
            .strip_prefix("multipart/form-data; boundary=")
            .expect("the content type names the boundary")
            .to_string()
    }

    #[test]
    fn builds_text_and_file_parts_in_order() {
        let form = Form::new("msg-1")
            .text("chat_id", "-100123")
            .text("type", "image/jpeg")
            .file(
                "photo",
                "cat \"1\".jpg",
                "image/jpeg",
                vec![0xff, 0xd8, 0x00],
            )
            .finish();
        let boundary = boundary_of(&form);
        assert!(boundary.starts_with("switchboard-"));
        let mut expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n-100123\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nimage/jpeg\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"cat %221%22.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        expected.extend_from_slice(&[0xff, 0xd8, 0x00]);
        expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        assert_eq!(form.body, expected);
    }

    #[test]
    fn a_single_borrowed_file_part() {
        let data: &[u8] = &[0xff, 0xd8];
        let form = Form::new("m1")
            .file("photo", "кот \"1\".jpg", "image/jpeg", data)
            .finish();
        let boundary = boundary_of(&form);
        let mut expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"кот %221%22.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        expected.extend_from_slice(data);
        expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        assert_eq!(form.body, expected);
    }

    #[test]
    fn header_injection_is_defused() {
        let form = Form::new("m1")
            .text("a\"b\r\nX: y", "v")
            .file("file", "a\r\nX: y", "text/plain\r\nX: y", b"x".as_slice())
            .finish();
        let text = String::from_utf8(form.body).unwrap();
        assert!(text.contains("name=\"a%22b%0D%0AX: y\"\r\n\r\nv\r\n"));
        assert!(text.contains("filename=\"a%0D%0AX: y\""));
        assert!(text.contains("Content-Type: text/plainX: y\r\n\r\n"));
    }

    #[test]
    fn boundary_is_stable_per_seed_and_differs_between_seeds() {
        let a1 = Form::new("a").text("x", "1").finish();
        let a2 = Form::new("a").text("x", "1").finish();
        let b = Form::new("b").text("x", "1").finish();
        assert_eq!(a1, a2);
        assert_ne!(a1.content_type, b.content_type);
    }

    #[test]
    fn boundary_avoids_the_content() {
        let taken = boundary_of(&Form::new("seed").text("x", "1").finish());
        let hostile = format!("--{taken}--");
        let in_data = Form::new("seed")
            .file("document", "a.txt", "text/plain", hostile.as_bytes())
            .finish();
        let in_value = Form::new("seed").text("x", hostile.clone()).finish();
        let in_file_name = Form::new("seed")
            .file("document", &hostile, "text/plain", b"1".as_slice())
            .finish();
        for form in [in_data, in_value, in_file_name] {
            let boundary = boundary_of(&form);
            assert_ne!(boundary, taken);
            assert!(boundary.starts_with("switchboard-"));
        }
    }
}
