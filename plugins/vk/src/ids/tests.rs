use super::*;

#[test]
fn message_ids_round_trip() {
    assert_eq!(message_id(55501234, 97), "55501234_97");
    assert_eq!(parse_message_id("55501234_97"), Some((55501234, 97)));
    assert_eq!(
        parse_message_id("2000000003_4410"),
        Some((2000000003, 4410))
    );
    assert_eq!(parse_message_id("-218000001_7"), Some((-218000001, 7)));
    for bad in ["", "97", "a_1", "1_b", "0_5", "5_0", "1_-2", "1:2"] {
        assert_eq!(parse_message_id(bad), None, "{bad:?}");
    }
}

#[test]
fn chats_start_above_two_billion() {
    assert!(matches!(thread_kind(2000000003), ThreadKind::Group));
    assert!(matches!(thread_kind(2000000000), ThreadKind::Direct));
    assert!(matches!(thread_kind(55501234), ThreadKind::Direct));
    assert!(matches!(thread_kind(-218000001), ThreadKind::Direct));
}

#[test]
fn group_ids_accept_the_forms_vk_shows() {
    for raw in [
        "218000001",
        " 218000001 ",
        "club218000001",
        "public218000001",
        "-218000001",
    ] {
        assert_eq!(parse_group_id(raw), Ok(218000001), "{raw:?}");
    }
    for bad in [
        "",
        "0",
        "shop",
        "club",
        "12a",
        "+5",
        "--5",
        "https://vk.com/club1",
    ] {
        let error = parse_group_id(bad).unwrap_err();
        assert!(error.contains("group_id"), "{error}");
    }
}

#[test]
fn random_id_is_stable_non_zero_and_spread() {
    let first = random_id("01J9ZK6Q3M");
    assert_eq!(first, random_id("01J9ZK6Q3M"));
    assert_ne!(first, 0);
    assert_ne!(first, random_id("01J9ZK6Q3N"));
    let ids: std::collections::HashSet<i32> =
        (0..1000).map(|n| random_id(&format!("msg-{n}"))).collect();
    assert_eq!(ids.len(), 1000);
    assert!(ids.iter().any(|id| *id < 0) && ids.iter().any(|id| *id > 0));
}

#[test]
fn random_id_is_pinned() {
    // The value must never change between versions: a retry that
    // straddles an upgrade would otherwise deliver the message twice.
    assert_eq!(random_id("01J9ZK6Q3M"), -1_973_166_925);
}
