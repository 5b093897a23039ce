//! The website widget's endpoints: a visitor's messages land in the same
//! inbox as every other channel, the team's replies come back, the
//! visitor's id is their identity, and the public endpoints are limited
//! (origins, sizes, rates) with clear errors.

mod support;

use reqwest::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE, ORIGIN, RETRY_AFTER};
use serde_json::{json, Value};

use support::api::Part;
use support::{eventually, str_of, Env, PROCESSING_TIMEOUT};

const SHOP: &str = "https://shop.example";
const VISITOR: &str = "v1s1t0r-0123456789abcdef";

struct Widget {
    http: reqwest::Client,
    base: String,
}

impl Widget {
    /// Connects a website channel and talks to its endpoints as a widget.
    async fn connect(env: &Env, config: Value) -> (Value, Widget) {
        let (created, embed) = env.connect_website(config).await;
        assert!(embed.contains("/widget.js"), "{embed}");
        let key = embed
            .split("data-channel=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the channel key in the embed tag");
        let widget = Widget {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: format!("{}/widget/{key}", env.server.base_url()),
        };
        (created, widget)
    }

    async fn post(&self, origin: &str, body: &Value) -> reqwest::Response {
        self.post_raw(origin, body.to_string()).await
    }

    async fn post_raw(&self, origin: &str, body: String) -> reqwest::Response {
        self.http
            .post(format!("{}/messages", self.base))
            .header(ORIGIN, origin)
            .header(CONTENT_TYPE, "text/plain")
            .body(body)
            .send()
            .await
            .expect("post to the widget")
    }

    async fn read(&self, visitor: &str) -> Value {
        self.http
            .get(format!("{}/messages?visitor={visitor}", self.base))
            .header(ORIGIN, SHOP)
            .send()
            .await
            .expect("read the widget")
            .json()
            .await
            .expect("JSON")
    }
}

fn message(id: &str, text: &str) -> Value {
    json!({"visitor_id": VISITOR, "message_id": id, "text": text, "name": "Visitor Vera", "page": "https://shop.example/cart"})
}

async fn error_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_chats_with_the_team_through_the_widget() {
    let env = Env::start().await;
    let (created, widget) = Widget::connect(
        &env,
        json!({"allowed_origins": SHOP, "greeting": "Hello from the shop"}),
    )
    .await;
    let config: Value = widget
        .http
        .get(format!("{}/config", widget.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["greeting"], "Hello from the shop");

    // A message from an allowed site: stored, then in the inbox.
    let resp = widget
        .post(SHOP, &message("m-000001", "Do you ship to Riga?"))
        .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], SHOP);
    // The same message again (a retry) is stored once.
    assert_eq!(
        widget
            .post(SHOP, &message("m-000001", "Do you ship to Riga?"))
            .await
            .status(),
        202
    );
    let conversation = env
        .wait_conversation(str_of(&created, "id").unwrap().as_str(), "Visitor Vera")
        .await;
    let conversation_id = str_of(&conversation, "id").unwrap();
    assert_eq!(conversation["provider"], "website");
    let messages = env
        .wait_message_text(&conversation_id, "Do you ship to Riga?")
        .await;
    assert_eq!(messages.len(), 1, "one message for two deliveries");

    // The team answers; the visitor reads it.
    let reply = env.reply(&conversation_id, "Yes, in 3 days.").await;
    let sent = env
        .wait_message_settled(&conversation_id, &str_of(&reply, "id").unwrap())
        .await;
    assert_eq!(sent["status"], "sent", "{sent:#}");
    let seen = widget.read(VISITOR).await;
    let texts: Vec<(&str, &str)> = seen["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["direction"].as_str().unwrap(),
                m["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        texts,
        [("in", "Do you ship to Riga?"), ("out", "Yes, in 3 days.")]
    );
    // The widget shows text only: a file is refused before anything is stored.
    let error = env
        .api
        .post_form(
            &format!("/api/v1/conversations/{conversation_id}/messages"),
            &[Part::file("file", "map.png", "image/png", b"\x89PNG")],
        )
        .await
        .expect_error(422, "a file for a website visitor");
    assert!(error.contains("cannot send files"), "{error}");
    assert_eq!(env.api.messages(&conversation_id).await.len(), 2);
    // Another visitor sees nothing of it.
    let stranger = widget.read("s7r4ng3r-0123456789abcdef").await;
    assert_eq!(stranger["messages"], json!([]));

    // The contact is one contact with a website identity.
    let contacts = env
        .api
        .get(&format!("/api/v1/workspaces/{}/contacts", env.ws()))
        .await
        .expect(200, "contacts");
    let vera: Vec<&Value> = contacts
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "Visitor Vera")
        .collect();
    assert_eq!(vera.len(), 1, "{contacts:#}");
    assert_eq!(vera[0]["identities"][0]["provider"], "website");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_endpoints_refuse_clearly() {
    let env = Env::start().await;
    let (created, widget) = Widget::connect(&env, json!({"allowed_origins": SHOP})).await;

    let (status, error) = error_of(
        widget
            .post("https://evil.example", &message("m-1", "hi"))
            .await,
    )
    .await;
    assert_eq!(status, 403, "{error}");
    assert!(error.contains("may not embed"), "{error}");

    let long = "x".repeat(4001);
    let (status, error) = error_of(widget.post(SHOP, &message("m-000002", &long)).await).await;
    assert_eq!(status, 413, "{error}");
    assert!(!error.is_empty());
    let (status, error) = error_of(widget.post_raw(SHOP, "y".repeat(24 * 1024)).await).await;
    assert_eq!(status, 413, "{error}");
    assert!(error.contains("too long"), "{error}");
    let (status, error) = error_of(widget.post_raw(SHOP, "not json".into()).await).await;
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("visitor_id"), "{error}");
    let mut bad = message("m-3", "hi");
    bad["visitor_id"] = json!("short");
    let (status, _) = error_of(widget.post(SHOP, &bad).await).await;
    assert_eq!(status, 400);
    let unknown = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/widget/nope/config", env.server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // One visitor sending as fast as they can is slowed down, with a hint.
    let mut limited = None;
    let mut accepted = 0;
    for n in 0..20 {
        let resp = widget
            .post(SHOP, &message(&format!("burst-{n:04}"), "spam"))
            .await;
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
        assert_eq!(resp.status(), 202, "message {n}");
        accepted += 1;
    }
    let limited = limited.expect("a burst of 20 is rate limited");
    assert!(limited.headers().contains_key(RETRY_AFTER));
    let (_, error) = error_of(limited).await;
    assert!(error.contains("too many"), "{error}");

    // Nothing refused reached the inbox; the accepted burst did, once each.
    let channel_id = str_of(&created, "id").unwrap();
    eventually(
        "the accepted burst to be written",
        PROCESSING_TIMEOUT,
        || async {
            let conversations = env.conversations_of(&channel_id).await;
            match conversations.first() {
                Some(c) => {
                    let messages = env.api.messages(c["id"].as_str().unwrap()).await;
                    if messages.iter().all(|m| m["text"] == "spam") && messages.len() == accepted {
                        Ok(())
                    } else {
                        Err(format!("{messages:?}"))
                    }
                }
                None => Err("no conversation yet".into()),
            }
        },
    )
    .await;
}
