//! The JSON body the host's widget endpoint hands to `verify` and
//! `normalize`, and the checks both apply to it.
//!
//! ```json
//! {"visitor_id": "…", "message_id": "…", "text": "…",
//!  "name": "…", "page": "…", "sent_at_ms": 1767268800000}
//! ```
//!
//! Lengths are counted in Unicode scalar values (Rust `char`s), not bytes.
//! Optional fields may be absent or `null`; fields not listed here are
//! ignored. The fields are read one by one (not through a derived struct) so
//! every error names the field it is about.

use serde_json::{Map, Value};

pub(crate) const VISITOR_ID_LEN: (usize, usize) = (22, 64);
pub(crate) const MESSAGE_ID_LEN: (usize, usize) = (8, 64);
pub(crate) const MAX_TEXT_CHARS: usize = 4000;
pub(crate) const MAX_NAME_CHARS: usize = 80;
pub(crate) const MAX_PAGE_CHARS: usize = 500;
/// 9999-12-31T23:59:59.999Z. The browser's clock is not trusted with more:
/// the host stores the timestamp in microseconds in an `i64`.
pub(crate) const MAX_SENT_AT_MS: u64 = 253_402_300_799_999;

/// One visitor message, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VisitorMessage {
    pub visitor_id: String,
    pub message_id: String,
    pub text: String,
    /// Trimmed; `None` when absent, `null` or blank.
    pub name: Option<String>,
    pub page: Option<String>,
    pub sent_at_ms: Option<u64>,
}

/// Why a body was refused: 413 for a text that is too long, else 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub status: u16,
    pub reason: String,
}

impl Invalid {
    fn bad(reason: impl Into<String>) -> Self {
        Invalid {
            status: 400,
            reason: reason.into(),
        }
    }
}

pub(crate) fn parse(body: &[u8]) -> Result<VisitorMessage, Invalid> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| Invalid::bad(format!("the body is not JSON: {error}")))?;
    let Value::Object(object) = value else {
        return Err(Invalid::bad("the body must be a JSON object"));
    };
    let visitor_id = id(&object, "visitor_id", VISITOR_ID_LEN)?;
    let message_id = id(&object, "message_id", MESSAGE_ID_LEN)?;
    let text = text(&object)?;
    let name = optional_string(&object, "name", MAX_NAME_CHARS)?
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty());
    let page = optional_string(&object, "page", MAX_PAGE_CHARS)?;
    let sent_at_ms = sent_at(&object)?;
    Ok(VisitorMessage {
        visitor_id,
        message_id,
        text,
        name,
        page,
        sent_at_ms,
    })
}

fn string(object: &Map<String, Value>, field: &str) -> Result<String, Invalid> {
    match object.get(field) {
        None | Some(Value::Null) => Err(Invalid::bad(format!("`{field}` is missing"))),
        Some(Value::String(value)) => Ok(value.clone()),
        Some(_) => Err(Invalid::bad(format!("`{field}` must be a string"))),
    }
}

fn id(
    object: &Map<String, Value>,
    field: &str,
    (min, max): (usize, usize),
) -> Result<String, Invalid> {
    let value = string(object, field)?;
    let valid_chars = value
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if !valid_chars || !(min..=max).contains(&value.len()) {
        return Err(Invalid::bad(format!(
            "`{field}` must be {min}-{max} characters of A-Z, a-z, 0-9, `_` and `-`"
        )));
    }
    Ok(value)
}

fn text(object: &Map<String, Value>) -> Result<String, Invalid> {
    let text = string(object, "text")?;
    if text.trim().is_empty() {
        return Err(Invalid::bad("`text` is empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Invalid {
            status: 413,
            reason: format!("`text` is longer than {MAX_TEXT_CHARS} characters"),
        });
    }
    Ok(text)
}

fn optional_string(
    object: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, Invalid> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) if value.chars().count() <= max => Ok(Some(value.clone())),
        Some(Value::String(_)) => Err(Invalid::bad(format!(
            "`{field}` is longer than {max} characters"
        ))),
        Some(_) => Err(Invalid::bad(format!("`{field}` must be a string"))),
    }
}

fn sent_at(object: &Map<String, Value>) -> Result<Option<u64>, Invalid> {
    match object.get("sent_at_ms") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => match number.as_u64() {
            Some(ms) if ms <= MAX_SENT_AT_MS => Ok(Some(ms)),
            _ => Err(Invalid::bad(format!(
                "`sent_at_ms` must be an integer from 0 to {MAX_SENT_AT_MS} (Unix milliseconds)"
            ))),
        },
        Some(_) => Err(Invalid::bad(
            "`sent_at_ms` must be an integer (Unix milliseconds)",
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) const VISITOR: &str = "v_8Fq2LmZ0pQ7xYc3NbR1t";
    pub(crate) const MESSAGE: &str = "m-0001ab";

    /// A valid body with `changes` merged in (`null` removes a field).
    pub(crate) fn body(changes: Value) -> String {
        let mut object = json!({
            "visitor_id": VISITOR,
            "message_id": MESSAGE,
            "text": "Hello, is this in stock?",
            "name": "Ada",
            "page": "https://shop.example/p/42",
            "sent_at_ms": 1_767_268_800_000u64,
        });
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                object.as_object_mut().unwrap().remove(key);
            } else {
                object[key] = value.clone();
            }
        }
        object.to_string()
    }

    fn refused(body: &str) -> Invalid {
        parse(body.as_bytes()).expect_err(body)
    }

    #[test]
    fn a_full_body_parses() {
        let message = parse(body(json!({})).as_bytes()).unwrap();
        assert_eq!(
            message,
            VisitorMessage {
                visitor_id: VISITOR.into(),
                message_id: MESSAGE.into(),
                text: "Hello, is this in stock?".into(),
                name: Some("Ada".into()),
                page: Some("https://shop.example/p/42".into()),
                sent_at_ms: Some(1_767_268_800_000),
            }
        );
    }

    #[test]
    fn optional_fields_may_be_absent_null_or_blank() {
        let minimal = json!({"visitor_id": VISITOR, "message_id": MESSAGE, "text": "hi"});
        let message = parse(minimal.to_string().as_bytes()).unwrap();
        assert_eq!(
            (message.name, message.page, message.sent_at_ms),
            (None, None, None)
        );

        let nulls = json!({"visitor_id": VISITOR, "message_id": MESSAGE, "text": "hi",
            "name": null, "page": null, "sent_at_ms": null});
        let message = parse(nulls.to_string().as_bytes()).unwrap();
        assert_eq!(
            (message.name, message.page, message.sent_at_ms),
            (None, None, None)
        );

        let blank = parse(body(json!({"name": "   "})).as_bytes()).unwrap();
        assert_eq!(blank.name, None);
        let padded = parse(body(json!({"name": "  Ada L. "})).as_bytes()).unwrap();
        assert_eq!(padded.name.as_deref(), Some("Ada L."));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        assert!(parse(body(json!({"referrer": "x", "extra": {"a": 1}})).as_bytes()).is_ok());
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_400() {
        for bad in ["", "{not json", "[1]", "\"text\"", "null"] {
            let invalid = refused(bad);
            assert_eq!(invalid.status, 400, "{bad}");
            assert!(invalid.reason.contains("JSON"), "{}", invalid.reason);
        }
        assert_eq!(refused(r#"{"visitor_id":"a"} x"#).status, 400);
    }

    #[test]
    fn ids_are_checked_by_length_and_alphabet() {
        for (field, (min, max)) in [
            ("visitor_id", VISITOR_ID_LEN),
            ("message_id", MESSAGE_ID_LEN),
        ] {
            for good in [
                "a".repeat(min),
                "Z".repeat(max),
                format!("{}_-9", "x".repeat(min - 3)),
            ] {
                assert!(
                    parse(body(json!({ field: good })).as_bytes()).is_ok(),
                    "{field} {good}"
                );
            }
            let bad_values = [
                json!("a".repeat(min - 1)),
                json!("a".repeat(max + 1)),
                json!(format!("{}:", "a".repeat(min))),
                json!(format!("{} ", "a".repeat(min))),
                json!(format!("{}é", "a".repeat(min))),
                json!(""),
                json!(12345678901234567890u64),
            ];
            for bad in bad_values {
                let invalid = refused(&body(json!({ field: bad })));
                assert_eq!(invalid.status, 400, "{field} {bad}");
                assert!(
                    invalid.reason.contains(&format!("`{field}`")),
                    "{}",
                    invalid.reason
                );
            }
            let missing = refused(&body(json!({ field: null })));
            assert_eq!(missing.reason, format!("`{field}` is missing"));
        }
    }

    #[test]
    fn text_must_be_present_and_at_most_4000_characters() {
        let longest = "é".repeat(MAX_TEXT_CHARS);
        let message = parse(body(json!({ "text": longest })).as_bytes()).unwrap();
        assert_eq!(message.text.chars().count(), MAX_TEXT_CHARS);

        let too_long = refused(&body(json!({ "text": "a".repeat(MAX_TEXT_CHARS + 1) })));
        assert_eq!(
            too_long,
            Invalid {
                status: 413,
                reason: "`text` is longer than 4000 characters".into()
            }
        );
        for empty in ["", " \n\t "] {
            assert_eq!(
                refused(&body(json!({ "text": empty }))),
                Invalid::bad("`text` is empty")
            );
        }
        assert_eq!(
            refused(&body(json!({ "text": null }))),
            Invalid::bad("`text` is missing")
        );
        assert_eq!(
            refused(&body(json!({ "text": ["hi"] }))),
            Invalid::bad("`text` must be a string")
        );
    }

    #[test]
    fn text_is_kept_as_sent() {
        let message = parse(body(json!({ "text": "  two\nlines " })).as_bytes()).unwrap();
        assert_eq!(message.text, "  two\nlines ");
    }

    #[test]
    fn name_and_page_have_length_limits() {
        assert!(parse(body(json!({ "name": "n".repeat(80) })).as_bytes()).is_ok());
        assert!(parse(body(json!({ "page": "p".repeat(500) })).as_bytes()).is_ok());
        for (field, max) in [("name", MAX_NAME_CHARS), ("page", MAX_PAGE_CHARS)] {
            let invalid = refused(&body(json!({ field: "x".repeat(max + 1) })));
            assert_eq!(
                invalid,
                Invalid::bad(format!("`{field}` is longer than {max} characters"))
            );
            let invalid = refused(&body(json!({ field: 5 })));
            assert_eq!(invalid, Invalid::bad(format!("`{field}` must be a string")));
        }
    }

    #[test]
    fn sent_at_must_be_a_sane_unsigned_integer() {
        for good in [json!(0), json!(MAX_SENT_AT_MS)] {
            assert!(
                parse(body(json!({ "sent_at_ms": good })).as_bytes()).is_ok(),
                "{good}"
            );
        }
        for bad in [
            json!(-1),
            json!(1.5),
            json!(1_767_268_800_000.0),
            json!(MAX_SENT_AT_MS + 1),
            json!(u64::MAX),
            json!("1767268800000"),
            json!(true),
        ] {
            let invalid = refused(&body(json!({ "sent_at_ms": bad })));
            assert_eq!(invalid.status, 400, "{bad}");
            assert!(
                invalid
                    .reason
                    .starts_with("`sent_at_ms` must be an integer"),
                "{}",
                invalid.reason
            );
        }
    }

    #[test]
    fn fields_are_checked_in_order() {
        let invalid = refused(&body(json!({ "visitor_id": "short", "text": "" })));
        assert!(
            invalid.reason.contains("`visitor_id`"),
            "{}",
            invalid.reason
        );
    }
}
