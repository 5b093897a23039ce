//! Replies that go out as several provider messages: an attachment, then
//! the text it could not carry as a caption.

use crate::{SendError, Sent};

/// Sends `calls` in order and answers the first message's id. A failure
/// after the first message went out is final (see [`partly_sent`]).
pub fn send_in_order<C>(
    calls: impl IntoIterator<Item = C>,
    mut send: impl FnMut(C) -> Result<Sent, SendError>,
) -> Result<Sent, SendError> {
    let mut first: Option<Sent> = None;
    for call in calls {
        match (send(call), &first) {
            (Ok(sent), None) => first = Some(sent),
            (Ok(_), Some(_)) => {}
            (Err(error), None) => return Err(error),
            (Err(error), Some(sent)) => return Err(partly_sent(&sent.provider_message_id, error)),
        }
    }
    first.ok_or_else(|| SendError::Permanent("nothing to send".into()))
}

/// A message that went out in two parts (an attachment, then its text)
/// whose second part failed. Retrying would send the first part twice, so
/// the failure is final, and says what the customer did receive.
pub fn partly_sent(first_message_id: &str, error: SendError) -> SendError {
    let reason = match error {
        SendError::Retry(_) => "a transient failure".to_string(),
        SendError::RateLimited(_) => "rate limiting".to_string(),
        SendError::AuthExpired(reason) | SendError::Permanent(reason) => reason,
    };
    SendError::Permanent(format!(
        "the attachment was delivered (message {first_message_id}) but the text was not: {reason}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(id: &str) -> Result<Sent, SendError> {
        Ok(Sent {
            provider_message_id: id.into(),
        })
    }

    #[test]
    fn the_first_message_names_the_reply() {
        let answers = [sent("m1"), sent("m2")];
        let result = send_in_order(answers, |answer| answer);
        assert_eq!(result.unwrap().provider_message_id, "m1");
    }

    #[test]
    fn a_failure_of_the_first_part_keeps_its_kind() {
        let answers = [Err(SendError::Retry(500)), sent("m2")];
        assert!(matches!(
            send_in_order(answers, |answer| answer),
            Err(SendError::Retry(500))
        ));
        assert!(matches!(
            send_in_order(Vec::<Result<Sent, SendError>>::new(), |answer| answer),
            Err(SendError::Permanent(_))
        ));
    }

    #[test]
    fn a_failure_after_the_first_part_is_final_and_says_so() {
        for error in [
            SendError::Retry(5_000),
            SendError::RateLimited(60_000),
            SendError::AuthExpired("token expired".into()),
            SendError::Permanent("too long".into()),
        ] {
            let answers = [sent("mid-attachment"), Err(error)];
            let Err(SendError::Permanent(reason)) = send_in_order(answers, |answer| answer) else {
                panic!("expected permanent");
            };
            assert!(
                reason.starts_with(
                    "the attachment was delivered (message mid-attachment) but the text was not: "
                ),
                "{reason}"
            );
        }
    }
}
