use super::*;

#[test]
fn unreserved_characters_pass_through() {
    assert_eq!(encode("AZaz09-_.~"), "AZaz09-_.~");
    assert_eq!(encode(""), "");
}

#[test]
fn reserved_characters_and_spaces_are_escaped() {
    assert_eq!(encode("a b&c=d+e/f?g"), "a%20b%26c%3Dd%2Be%2Ff%3Fg");
    assert_eq!(encode("messages,manage"), "messages%2Cmanage");
    assert_eq!(encode("line\nbreak"), "line%0Abreak");
}

#[test]
fn cyrillic_is_encoded_as_utf8() {
    assert_eq!(encode("Привет"), "%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82");
}

#[test]
fn pairs_keep_their_order() {
    assert_eq!(
        encode_pairs([("peer_ids", "55501234"), ("message", "Да, есть!")]),
        "peer_ids=55501234&message=%D0%94%D0%B0%2C%20%D0%B5%D1%81%D1%82%D1%8C%21"
    );
}
