//! Reading Meta webhook payloads leniently, and naming what has no id.
//!
//! Every Meta webhook is an envelope, `{"object":"…","entry":[…]}`, whose
//! entries the provider describes; entries may carry `changes[]`.
//!
//! Meta documents ids as strings but some payloads (and older API versions)
//! carry them as JSON numbers, and WhatsApp sends unix seconds as strings.
//! An id that changed type between deliveries must still name the same
//! account, so both forms read to the same text.

use serde::de::{Deserializer, Error, Unexpected};
use serde::Deserialize;
use serde_json::Value;

/// A webhook body: what it is about (`instagram`,
/// `whatsapp_business_account`), and its entries.
#[derive(Debug, Deserialize)]
pub struct Envelope<E> {
    #[serde(default)]
    pub object: Option<String>,
    pub entry: Vec<E>,
}

/// One item of an entry's `changes[]`: the subscribed field it reports on,
/// and a value whose shape depends on the field.
#[derive(Debug, Deserialize)]
pub struct Change {
    pub field: String,
    #[serde(default)]
    pub value: Value,
}

/// A string or an integer, as it would be written in decimal.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Unsigned(u64),
    Signed(i64),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Text(text) => text,
            Scalar::Unsigned(number) => number.to_string(),
            Scalar::Signed(number) => number.to_string(),
        }
    }
}

/// For `#[serde(deserialize_with = "id")]`: an id given as string or number.
pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Scalar::deserialize(deserializer).map(Scalar::into_text)
}

/// For `#[serde(default, deserialize_with = "optional_id")]`; null reads as absent.
pub fn optional_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar>::deserialize(deserializer)?.map(Scalar::into_text))
}

/// For `#[serde(default, deserialize_with = "optional_u64")]`: a count or a
/// timestamp given as number or as decimal string.
pub fn optional_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match Option::<Scalar>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Scalar::Unsigned(number)) => Ok(Some(number)),
        Some(Scalar::Signed(number)) => u64::try_from(number)
            .map(Some)
            .map_err(|_| D::Error::invalid_value(Unexpected::Signed(number), &"a positive number")),
        Some(Scalar::Text(text)) => text.trim().parse().map(Some).map_err(|_| {
            D::Error::invalid_value(Unexpected::Str(&text), &"a number as decimal text")
        }),
    }
}

/// Unix seconds as milliseconds, saturating instead of wrapping.
pub fn seconds_to_ms(seconds: u64) -> u64 {
    seconds.saturating_mul(1000)
}

/// A short, stable name for bytes that carry no id of their own (an ignored
/// change, a payload of an unknown kind): the same bytes redelivered get the
/// same dedup key. FNV-1a, 64 bits, as hex; not a security measure.
pub fn fingerprint(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Keeps the first occurrence of each id, in order.
pub fn dedup(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !id.is_empty() && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "id")]
        id: String,
        #[serde(default, deserialize_with = "optional_id")]
        other: Option<String>,
        #[serde(default, deserialize_with = "optional_u64")]
        timestamp: Option<u64>,
    }

    fn sample(json: &str) -> Result<Sample, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn ids_read_the_same_from_strings_and_numbers() {
        let text = sample(r#"{"id":"17841400000000001"}"#).unwrap();
        let number = sample(r#"{"id":17841400000000001}"#).unwrap();
        assert_eq!(text.id, "17841400000000001");
        assert_eq!(number.id, text.id);
        assert_eq!(sample(r#"{"id":-5}"#).unwrap().id, "-5");
        assert!(sample(r#"{"id":{"x":1}}"#).is_err());
        assert!(sample(r#"{}"#).is_err());
    }

    #[test]
    fn optional_fields_accept_null_and_absence() {
        let absent = sample(r#"{"id":"1"}"#).unwrap();
        assert_eq!((absent.other, absent.timestamp), (None, None));
        let null = sample(r#"{"id":"1","other":null,"timestamp":null}"#).unwrap();
        assert_eq!((null.other, null.timestamp), (None, None));
        let given = sample(r#"{"id":"1","other":42,"timestamp":"1767268800"}"#).unwrap();
        assert_eq!(given.other.as_deref(), Some("42"));
        assert_eq!(given.timestamp, Some(1_767_268_800));
        let numeric = sample(r#"{"id":"1","timestamp":1767268799871}"#).unwrap();
        assert_eq!(numeric.timestamp, Some(1_767_268_799_871));
    }

    #[test]
    fn timestamps_must_be_non_negative_numbers() {
        assert!(sample(r#"{"id":"1","timestamp":"soon"}"#).is_err());
        assert!(sample(r#"{"id":"1","timestamp":-1}"#).is_err());
        assert_eq!(seconds_to_ms(1_767_268_800), 1_767_268_800_000);
        assert_eq!(seconds_to_ms(u64::MAX), u64::MAX);
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        assert_eq!(fingerprint(b"abc"), fingerprint(b"abc"));
        assert_ne!(fingerprint(b"abc"), fingerprint(b"abd"));
        assert_eq!(fingerprint(b"").len(), 16);
    }

    #[test]
    fn envelopes_name_their_object_and_carry_changes() {
        let envelope: Envelope<Vec<Change>> = serde_json::from_str(
            r#"{"object":"page","entry":[[{"field":"messages","value":{"a":1}},{"field":"feed"}]]}"#,
        )
        .unwrap();
        assert_eq!(envelope.object.as_deref(), Some("page"));
        let changes = &envelope.entry[0];
        assert_eq!(changes[0].field, "messages");
        assert_eq!(changes[0].value["a"], 1);
        assert!(changes[1].value.is_null());
        let bare: Envelope<Value> = serde_json::from_str(r#"{"entry":[]}"#).unwrap();
        assert_eq!(bare.object, None);
        assert!(serde_json::from_str::<Envelope<Value>>(r#"{"object":"page"}"#).is_err());
    }

    #[test]
    fn dedup_keeps_first_occurrences_in_order() {
        let ids = ["b", "a", "b", "", "c", "a"].map(String::from);
        assert_eq!(dedup(ids), vec!["b", "a", "c"]);
    }
}
