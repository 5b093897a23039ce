//! The parts of the Bot API's `Update` that Switchboard reads.
//!
//! Every field the plugin does not need is left out (serde skips unknown
//! fields), and everything Telegram may omit is an `Option`, so a new Bot API
//! release adding fields never breaks parsing. Ids are `i64`: chat ids go past
//! 32 bits and Telegram promises up to 52.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct Update {
    pub update_id: i64,
    pub message: Option<Message>,
    pub edited_message: Option<Message>,
    pub channel_post: Option<Message>,
    pub edited_channel_post: Option<Message>,
    pub message_reaction: Option<MessageReactionUpdated>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct User {
    pub id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_forum: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    pub message_id: i64,
    pub message_thread_id: Option<i64>,
    pub is_topic_message: Option<bool>,
    pub from: Option<User>,
    pub sender_chat: Option<Chat>,
    pub date: i64,
    pub edit_date: Option<i64>,
    pub chat: Chat,
    pub reply_to_message: Option<RepliedMessage>,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub photo: Option<Vec<PhotoSize>>,
    pub document: Option<Document>,
    pub voice: Option<Voice>,
    pub audio: Option<Audio>,
    pub video: Option<Video>,
    pub video_note: Option<VideoNote>,
    pub animation: Option<Video>,
    pub sticker: Option<Sticker>,
    pub location: Option<Location>,
    pub contact: Option<Contact>,
    pub migrate_to_chat_id: Option<i64>,
    pub migrate_from_chat_id: Option<i64>,
}

/// Only the id is needed, and Telegram may send a trimmed-down message here.
#[derive(Debug, Deserialize)]
pub(crate) struct RepliedMessage {
    pub message_id: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PhotoSize {
    pub file_id: String,
    pub file_unique_id: Option<String>,
    pub width: u32,
    pub height: u32,
    pub file_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Document {
    pub file_id: String,
    pub file_unique_id: Option<String>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Voice {
    pub file_id: String,
    pub file_unique_id: Option<String>,
    pub duration: Option<u32>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Audio {
    pub file_id: String,
    pub file_unique_id: Option<String>,
    pub duration: Option<u32>,
    pub performer: Option<String>,
    pub title: Option<String>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// Shared by `video` and `animation`, which carry the same fields.
#[derive(Debug, Deserialize)]
pub(crate) struct Video {
    pub file_id: String,
    pub file_unique_id: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration: Option<u32>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VideoNote {
    pub file_id: String,
    pub file_unique_id: Option<String>,
    /// Video notes are square: this is both width and height.
    pub length: Option<u32>,
    pub duration: Option<u32>,
    pub file_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Sticker {
    pub file_id: String,
    pub file_unique_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    #[serde(default)]
    pub is_animated: bool,
    #[serde(default)]
    pub is_video: bool,
    pub emoji: Option<String>,
    pub set_name: Option<String>,
    pub file_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub horizontal_accuracy: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Contact {
    pub phone_number: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub user_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageReactionUpdated {
    pub chat: Chat,
    pub message_id: i64,
    pub user: Option<User>,
    /// Set instead of `user` when the reaction comes from an anonymous chat.
    pub actor_chat: Option<Chat>,
    pub date: i64,
    #[serde(default)]
    pub old_reaction: Vec<ReactionType>,
    #[serde(default)]
    pub new_reaction: Vec<ReactionType>,
}

/// Internally tagged by `type`; kinds added by later Bot API versions fall
/// into `Other` instead of failing the whole update.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ReactionType {
    Emoji {
        emoji: String,
    },
    CustomEmoji {
        custom_emoji_id: String,
    },
    #[serde(other)]
    Other,
}

impl ReactionType {
    /// How the reaction is stored: the emoji itself, or a stable name for a
    /// custom emoji. Paid and future kinds have no emoji to show.
    pub fn key(&self) -> Option<String> {
        match self {
            ReactionType::Emoji { emoji } => Some(emoji.clone()),
            ReactionType::CustomEmoji { custom_emoji_id } => {
                Some(format!("custom_emoji:{custom_emoji_id}"))
            }
            ReactionType::Other => None,
        }
    }
}

/// Only the id: `verify` runs on the request path and must stay cheap.
#[derive(Debug, Deserialize)]
pub(crate) struct UpdateHead {
    #[expect(dead_code, reason = "parsed only to check it is a number")]
    pub update_id: i64,
}

/// Parses a webhook body, refusing anything but a JSON object (a derived
/// struct would otherwise also accept a JSON array of its field values).
pub(crate) fn parse_object<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, String> {
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err("the body is not a JSON object".into());
    }
    serde_json::from_slice(body).map_err(|error| error.to_string())
}
