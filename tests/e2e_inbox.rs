//! The operator inbox beyond reading and replying: live updates over
//! server-sent events, unread counts per user, resolve and reopen, search,
//! retrying a failed reply, and replies that carry a file. Runs on either
//! deployment.

mod support;

use std::time::Duration;

use serde_json::{json, Value};

use support::api::Part;
use support::fake_telegram::updates;
use support::{str_of, Env, PROCESSING_TIMEOUT};

/// Reads a server-sent event stream and hands out (event, data) pairs.
struct Events {
    body: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(env: &Env) -> Events {
        let resp = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!(
                "{}/api/v1/workspaces/{}/events",
                env.server.base_url(),
                env.ws()
            ))
            .bearer_auth(env.api.token().unwrap())
            .send()
            .await
            .expect("open the event stream");
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Events {
            body: resp,
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), within `timeout`.
    async fn next(&mut self, timeout: Duration) -> (String, Value) {
        tokio::time::timeout(timeout, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut event = String::from("message");
                    let mut data = String::new();
                    for line in block.lines() {
                        if let Some(name) = line.strip_prefix("event:") {
                            event = name.trim().to_string();
                        } else if let Some(text) = line.strip_prefix("data:") {
                            data.push_str(text.trim());
                        }
                    }
                    if data.is_empty() {
                        continue; // a keep-alive comment
                    }
                    return (
                        event,
                        serde_json::from_str(&data).expect("event data is JSON"),
                    );
                }
                let chunk = self
                    .body
                    .chunk()
                    .await
                    .expect("read the stream")
                    .expect("the stream stays open");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("an event in time")
    }

    /// Reads events until none came for `quiet`: later events are news.
    async fn drain(&mut self, quiet: Duration) {
        while tokio::time::timeout(quiet, self.next(quiet * 2))
            .await
            .is_ok()
        {}
    }

    /// Waits for a `changes` event naming `conversation_id`.
    async fn change_of(&mut self, conversation_id: &str) {
        let deadline = tokio::time::Instant::now() + PROCESSING_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let (event, data) = self.next(left).await;
            if event == "changes"
                && data["conversations"]
                    .as_array()
                    .is_some_and(|list| list.iter().any(|c| c["id"] == conversation_id))
            {
                return;
            }
        }
    }
}

async fn olga_says(env: &Env, channel: &support::Channel, update_id: i64, text: &str) {
    env.hooks
        .telegram(
            &channel.webhook_url,
            Some(channel.secret()),
            &updates::private_text(update_id, 7001, update_id, "Olga", text),
        )
        .await
        .expect(200, "a webhook");
}

async fn conversations(env: &Env, query: &str) -> Vec<Value> {
    env.api
        .get(&format!(
            "/api/v1/workspaces/{}/conversations{query}",
            env.ws()
        ))
        .await
        .expect(200, "list conversations")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_messages_replies_and_edits_arrive_live() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Live").await;
    let mut events = Events::open(&env).await;
    let (first, _) = events.next(Duration::from_secs(5)).await;
    assert_eq!(first, "ready");

    olga_says(&env, &channel, 1, "Hello, is anyone there?").await;
    let conversation = env.wait_conversation(&channel.id, "Olga").await;
    let conversation_id = str_of(&conversation, "id").unwrap();
    events.change_of(&conversation_id).await;

    // An operator reply shows up (its pending and sent states may come as
    // one change when both land within one poll).
    let reply = env.reply(&conversation_id, "Yes, hello!").await;
    events.change_of(&conversation_id).await;
    env.wait_message_settled(&conversation_id, &str_of(&reply, "id").unwrap())
        .await;

    // A change to an existing message (the customer edits it) shows up too,
    // once the reply's own changes have all been seen.
    events.drain(Duration::from_millis(1500)).await;
    let mut edit = updates::private_text(2, 7001, 1, "Olga", "Hello, anyone?");
    edit["edited_message"] = edit["message"].take();
    edit["edited_message"]["edit_date"] = json!(1767268999);
    edit.as_object_mut().unwrap().remove("message");
    env.hooks
        .telegram(&channel.webhook_url, Some(channel.secret()), &edit)
        .await
        .expect(200, "an edit webhook");
    events.change_of(&conversation_id).await;
    env.wait_message_text(&conversation_id, "Hello, anyone?")
        .await;
}

async fn set_status(env: &Env, path: &str, status: &str) -> support::api::Resp {
    env.api
        .request(
            reqwest::Method::PATCH,
            path,
            Some(&json!({ "status": status })),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_counts_resolve_reopen_and_search() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Inbox").await;
    olga_says(&env, &channel, 1, "My parcel never came").await;
    let conversation = env.wait_conversation(&channel.id, "Olga").await;
    let id = str_of(&conversation, "id").unwrap();
    assert_eq!(conversation["unread"], 1, "{conversation:#}");
    assert_eq!(conversation["status"], "open");

    env.api
        .post(&format!("/api/v1/conversations/{id}/read"), &json!({}))
        .await
        .expect(204, "mark read");
    assert_eq!(conversations(&env, "").await[0]["unread"], 0);
    olga_says(&env, &channel, 2, "Any news?").await;
    env.wait_message_text(&id, "Any news?").await;
    assert_eq!(conversations(&env, "").await[0]["unread"], 1);

    // Search finds words in messages and names; LIKE wildcards are literal.
    assert_eq!(conversations(&env, "?q=PARCEL").await.len(), 1);
    assert_eq!(conversations(&env, "?q=olg").await.len(), 1);
    assert_eq!(conversations(&env, "?q=refund").await.len(), 0);
    assert_eq!(conversations(&env, "?q=%25").await.len(), 0);

    let path = format!("/api/v1/conversations/{id}");
    let patch = |status: &'static str| set_status(&env, &path, status);
    patch("resolved").await.expect(204, "resolve");
    assert_eq!(conversations(&env, "?status=open").await.len(), 0);
    assert_eq!(conversations(&env, "?status=resolved").await.len(), 1);
    patch("archived")
        .await
        .expect_error(400, "an unknown status");
    patch("open").await.expect(204, "reopen");
    assert_eq!(conversations(&env, "?status=open").await.len(), 1);
    env.api
        .get(&format!(
            "/api/v1/workspaces/{}/conversations?status=nope",
            env.ws()
        ))
        .await
        .expect_error(400, "an unknown filter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reply_can_be_retried() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Retry").await;
    olga_says(&env, &channel, 1, "Hi").await;
    let conversation = env.wait_conversation(&channel.id, "Olga").await;
    let conversation_id = str_of(&conversation, "id").unwrap();

    env.fake.push_blocked_by_user("sendMessage");
    let reply = env.reply(&conversation_id, "Are you there?").await;
    let message_id = str_of(&reply, "id").unwrap();
    let failed = env
        .wait_message_settled(&conversation_id, &message_id)
        .await;
    assert_eq!(failed["status"], "failed", "{failed:#}");

    let retried = env
        .api
        .post(&format!("/api/v1/messages/{message_id}/retry"), &json!({}))
        .await
        .expect(202, "retry");
    assert_eq!(retried["status"], "pending", "{retried:#}");
    let sent = env
        .wait_message_settled(&conversation_id, &message_id)
        .await;
    assert_eq!(sent["status"], "sent", "{sent:#}");
    env.api
        .post(&format!("/api/v1/messages/{message_id}/retry"), &json!({}))
        .await
        .expect_error(409, "only failed replies are retried");
}

/// A PNG header and a few bytes that are not UTF-8, so any re-encoding on the
/// way would show.
const PICTURE: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe receipt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_can_carry_an_image() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Files").await;
    olga_says(&env, &channel, 1, "Can I see the receipt?").await;
    let conversation = env.wait_conversation(&channel.id, "Olga").await;
    let conversation_id = str_of(&conversation, "id").unwrap();
    let path = format!("/api/v1/conversations/{conversation_id}/messages");

    let reply = env
        .api
        .post_form(
            &path,
            &[
                Part::text("text", "Here it is"),
                Part::file("file", "receipt.png", "image/png", PICTURE),
            ],
        )
        .await
        .expect(202, "a reply with a file");
    assert_eq!(reply["text"], "Here it is", "{reply:#}");
    let attachment = &reply["attachments"][0];
    assert_eq!(attachment["kind"], "image", "{reply:#}");
    assert_eq!(attachment["file_name"], "receipt.png");
    assert_eq!(attachment["mime_type"], "image/png");
    assert_eq!(attachment["size_bytes"], PICTURE.len());
    let message_id = str_of(&reply, "id").unwrap();
    let sent = env
        .wait_message_settled(&conversation_id, &message_id)
        .await;
    assert_eq!(sent["status"], "sent", "{sent:#}");

    // Telegram got the bytes themselves, with the text as the caption.
    let calls = env
        .fake
        .wait_for_calls("sendPhoto", 1, PROCESSING_TIMEOUT)
        .await;
    let upload = &calls[0].raw;
    assert!(
        upload
            .windows(PICTURE.len())
            .any(|window| window == PICTURE),
        "the upload carries the file's exact bytes"
    );
    let text = String::from_utf8_lossy(upload);
    assert!(text.contains("filename=\"receipt.png\""), "{text}");
    assert!(
        text.contains("name=\"caption\"\r\n\r\nHere it is"),
        "{text}"
    );
    assert!(env.fake.calls("sendMessage").is_empty());

    // The operator's copy comes from the host, never sniffed into a page.
    let (status, headers, body) = env
        .api
        .get_bytes(&format!("/api/v1/messages/{message_id}/attachments/0"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, PICTURE);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox");

    // A file alone is a reply too.
    let alone = env
        .api
        .post_form(
            &path,
            &[Part::file(
                "file",
                "notes.txt",
                "text/plain",
                b"plain notes",
            )],
        )
        .await
        .expect(202, "a file without text");
    assert_eq!(alone["attachments"][0]["kind"], "document", "{alone:#}");
    let alone_id = str_of(&alone, "id").unwrap();
    let sent = env.wait_message_settled(&conversation_id, &alone_id).await;
    assert_eq!(sent["status"], "sent", "{sent:#}");
    env.fake
        .wait_for_calls("sendDocument", 1, PROCESSING_TIMEOUT)
        .await;
    // Text longer than a caption may be follows the picture as its own message.
    let long_text = "All the details of your order. ".repeat(40);
    let long = env
        .api
        .post_form(
            &path,
            &[
                Part::text("text", &long_text),
                Part::file("file", "receipt.png", "image/png", PICTURE),
            ],
        )
        .await
        .expect(202, "a file with a long text");
    let long_id = str_of(&long, "id").unwrap();
    let sent = env.wait_message_settled(&conversation_id, &long_id).await;
    assert_eq!(sent["status"], "sent", "{sent:#}");
    let photos = env.fake.calls("sendPhoto");
    assert_eq!(photos.len(), 2, "{photos:#?}");
    assert!(!String::from_utf8_lossy(&photos[1].raw).contains("name=\"caption\""));
    let texts = env
        .fake
        .wait_for_calls("sendMessage", 1, PROCESSING_TIMEOUT)
        .await;
    assert_eq!(texts[0].body["text"], long_text.as_str());

    // The list's one-line summary can name it.
    let listed = conversations(&env, "").await;
    assert_eq!(
        listed[0]["last_message"]["attachments"],
        json!([{"kind": "image", "file_name": "receipt.png"}]),
        "{listed:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_that_cannot_be_sent_are_refused_up_front() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Refusals").await;
    olga_says(&env, &channel, 1, "Hello").await;
    let conversation = env.wait_conversation(&channel.id, "Olga").await;
    let conversation_id = str_of(&conversation, "id").unwrap();
    let path = format!("/api/v1/conversations/{conversation_id}/messages");

    let oversized = vec![0u8; 10 * 1024 * 1024 + 1];
    let error = env
        .api
        .post_form(
            &path,
            &[Part::file(
                "file",
                "big.bin",
                "application/octet-stream",
                &oversized,
            )],
        )
        .await
        .expect_error(413, "a file over 10 MB");
    assert!(error.contains("larger than 10 MB"), "{error}");
    let error = env
        .api
        .post_form(
            &path,
            &[
                Part::text("text", "See attached"),
                Part::file("file", "empty.txt", "text/plain", b""),
            ],
        )
        .await
        .expect_error(400, "an empty file, even with text");
    assert!(error.contains("`empty.txt` is empty"), "{error}");
    let error = env
        .api
        .post_form(&path, &[Part::text("text", "   ")])
        .await
        .expect_error(400, "neither text nor a file");
    assert!(error.contains("text or a file"), "{error}");
    let error = env
        .api
        .post_form(&path, &[Part::text("caption", "x")])
        .await
        .expect_error(400, "an unknown field");
    assert!(error.contains("`caption`"), "{error}");
    let messages = env.api.messages(&conversation_id).await;
    assert_eq!(messages.len(), 1, "nothing was stored: {messages:#?}");
    assert!(env.fake.calls("sendDocument").is_empty());

    // A link that was never handed out finds nothing.
    let (status, _, _) = env
        .api
        .get_bytes(&format!("/media/{}", "0".repeat(64)))
        .await;
    assert_eq!(status, 404);
}
