//! How VK's ids become Switchboard ids, and back.
//!
//! A message's global `id` is 0 for community messages in group chats, so a
//! message is named by its peer and its per-peer counter instead:
//! `<peer_id>_<conversation_message_id>`, in inbound messages, edits, echoes,
//! read receipts, replies and what `send` returns. A thread is the `peer_id`.

use switchboard_plugin_sdk::crypto::hmac_sha256_hex;
use switchboard_plugin_sdk::ThreadKind;

/// Group chats ("беседы") have peer ids above this; below are users (and
/// negative ids are communities).
pub(crate) const CHAT_PEER_OFFSET: i64 = 2_000_000_000;

pub(crate) fn message_id(peer_id: i64, conversation_message_id: i64) -> String {
    format!("{peer_id}_{conversation_message_id}")
}

/// Reads `<peer_id>_<conversation_message_id>` back. The split is on the last
/// underscore because a community's peer id is negative (`-218000001_7`).
pub(crate) fn parse_message_id(id: &str) -> Option<(i64, i64)> {
    let (peer, cmid) = id.trim().rsplit_once('_')?;
    let peer: i64 = peer.parse().ok()?;
    let cmid: i64 = cmid.parse().ok()?;
    (peer != 0 && cmid > 0).then_some((peer, cmid))
}

pub(crate) fn thread_kind(peer_id: i64) -> ThreadKind {
    if peer_id > CHAT_PEER_OFFSET {
        ThreadKind::Group
    } else {
        ThreadKind::Direct
    }
}

/// A community id as admins paste it: `218000001`, or the forms VK shows in
/// links and owner ids (`club218000001`, `public218000001`, `-218000001`).
pub(crate) fn parse_group_id(raw: &str) -> Result<i64, String> {
    let trimmed = raw.trim();
    let digits = ["club", "public", "event", "-"]
        .iter()
        .find_map(|prefix| trimmed.strip_prefix(prefix))
        .unwrap_or(trimmed);
    match digits.parse::<i64>() {
        Ok(id) if id > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(format!(
            "`group_id` must be the community's numeric id (like 218000001), not `{trimmed}`"
        )),
    }
}

/// `random_id` for `messages.send`: VK refuses to send a second message with
/// a `random_id` it has seen from the same sender, which makes it the
/// idempotency key. It is derived from Switchboard's message id so a retry,
/// in any process, sends the same value; SHA-256 spreads ids that differ in
/// one character over the whole range. VK takes a signed 32-bit integer and
/// reads 0 as "no key", so 0 is moved to 1.
pub(crate) fn random_id(message_id: &str) -> i32 {
    let digest = hmac_sha256_hex(b"switchboard:vk:random_id", message_id.as_bytes());
    let first = u32::from_str_radix(&digest[..8], 16).expect("hex digest");
    match first as i32 {
        0 => 1,
        value => value,
    }
}

#[cfg(test)]
mod tests;
