//! Replies: the visitor reads them from the host's database through the
//! widget, so sending calls nothing. The provider id is derived from
//! Switchboard's own message id, which is stable across retries, so a retried
//! send names the same message.

use switchboard_plugin_sdk::{OutboundMessage, SendError, Sent};

pub(crate) const PREFIX: &str = "op-";

pub(crate) fn send(message: &OutboundMessage) -> Result<Sent, SendError> {
    if message.message_id.is_empty() {
        return Err(SendError::Permanent(
            "the host gave no message id for this reply".into(),
        ));
    }
    let has_text = message
        .text
        .as_deref()
        .is_some_and(|text| !text.trim().is_empty());
    // The widget cannot show an attachment: refuse it rather than report a
    // file as delivered that the visitor never sees.
    if message.attachment.is_some() {
        return Err(SendError::Permanent(
            "the website widget shows text only".into(),
        ));
    }
    if !has_text {
        return Err(SendError::Permanent("the reply has no text".into()));
    }
    Ok(Sent {
        provider_message_id: format!("{PREFIX}{}", message.message_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::{testing, AttachmentKind};

    const VISITOR: &str = "v_8Fq2LmZ0pQ7xYc3NbR1t";

    #[test]
    fn a_text_reply_is_named_after_its_message_id() {
        let sent = send(&testing::text_message(VISITOR, "Yes, it is!")).unwrap();
        assert_eq!(sent.provider_message_id, "op-01JA0000000000000000000000");
    }

    #[test]
    fn a_retry_gets_the_same_id_and_another_reply_another() {
        let first = send(&testing::text_message(VISITOR, "Yes")).unwrap();
        let retry = send(&testing::text_message(VISITOR, "Yes")).unwrap();
        assert_eq!(first.provider_message_id, retry.provider_message_id);
        let other = send(&OutboundMessage {
            message_id: "01JA0000000000000000000001".into(),
            ..testing::text_message(VISITOR, "Yes")
        })
        .unwrap();
        assert_ne!(first.provider_message_id, other.provider_message_id);
    }

    #[test]
    fn attachments_are_refused() {
        let attachment = testing::outbound_attachment(
            AttachmentKind::Image,
            Some("https://cdn.example/a.png"),
            None,
        );
        let only_attachment = OutboundMessage {
            text: None,
            attachment: Some(attachment.clone()),
            ..testing::text_message(VISITOR, "")
        };
        assert_eq!(
            testing::permanent(send(&only_attachment)),
            "the website widget shows text only"
        );
        let blank_text = OutboundMessage {
            text: Some("  ".into()),
            ..only_attachment.clone()
        };
        assert_eq!(
            testing::permanent(send(&blank_text)),
            "the website widget shows text only"
        );
        let with_caption = OutboundMessage {
            attachment: Some(attachment),
            ..testing::text_message(VISITOR, "see the photo")
        };
        assert_eq!(
            testing::permanent(send(&with_caption)),
            "the website widget shows text only"
        );
    }

    #[test]
    fn an_empty_reply_is_refused() {
        for text in [None, Some(""), Some(" \n")] {
            let message = OutboundMessage {
                text: text.map(str::to_string),
                ..testing::text_message(VISITOR, "")
            };
            assert_eq!(testing::permanent(send(&message)), "the reply has no text");
        }
        let no_id = OutboundMessage {
            message_id: String::new(),
            ..testing::text_message(VISITOR, "hi")
        };
        assert!(testing::permanent(send(&no_id)).contains("message id"));
    }
}
