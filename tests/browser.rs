//! The product in a real browser: headless Chromium (Debian's package)
//! driven through chromedriver against a real server and a fake Telegram
//! Bot API. Screenshots of every page land in `target/browser-artifacts/`.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use support::browser::{Browser, UI_TIMEOUT};
use support::fake_telegram::updates;
use support::{eventually, Env, BOT_TOKEN, EMAIL, PASSWORD};

async fn sign_in(browser: &Browser, env: &Env, next: &str) {
    browser
        .goto(&format!("{}/login?next={next}", env.server.base_url()))
        .await;
    let email = browser.wait_for("#login-email").await;
    browser.type_into(&email, EMAIL).await;
    let password = browser.wait_for("#login-password").await;
    browser.type_into(&password, PASSWORD).await;
    let submit = browser.wait_for("form button[type=submit]").await;
    browser.click(&submit).await;
    browser.wait_gone("#login-email").await;
}

/// Opens the conversation the list shows with `preview`, waits for the
/// customer's `said`, answers `answer` and waits until it shows as sent.
async fn answer_in_chat(browser: &Browser, preview: &str, said: &str, answer: &str) {
    let conversation = browser
        .wait_for_text("#conversation-list a.conversation", preview)
        .await;
    browser.click(&conversation).await;
    browser.wait_for_text("#thread .message-text", said).await;
    let reply = browser.wait_for("#reply-text").await;
    browser.type_into(&reply, answer).await;
    let send = browser.wait_for("#reply-send").await;
    browser.click(&send).await;
    browser
        .wait_for_text("#thread .message[data-status=sent]", answer)
        .await;
}

/// A real PNG, `width` x `height` RGB stripes. Its pixels go in stored
/// (uncompressed) deflate blocks, so no compression crate is needed.
fn png(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFF_u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend(kind);
        out.extend(data);
        let crc = crc32(&out[start..]);
        out.extend(crc.to_be_bytes());
    }
    let mut pixels = Vec::new();
    for y in 0..height {
        pixels.push(0); // the row's filter: none
        for x in 0..width {
            const BLUE: [u8; 3] = [0x1f, 0x55, 0xc0];
            const AMBER: [u8; 3] = [0xf5, 0xb7, 0x00];
            pixels.extend(if (x / 12 + y / 12) % 2 == 0 {
                BLUE
            } else {
                AMBER
            });
        }
    }
    // zlib: a header, stored blocks of at most 65535 bytes, then Adler-32.
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = pixels.chunks(usize::from(u16::MAX)).collect();
    for (index, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(index + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend(len.to_le_bytes());
        zlib.extend((!len).to_le_bytes());
        zlib.extend(*block);
    }
    let (mut a, mut b) = (1_u32, 0_u32);
    for &byte in &pixels {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend(((b << 16) | a).to_be_bytes());
    let mut header = Vec::new();
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]); // 8-bit RGB, deflate, standard filters, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Chooses `path` with the reply box's Attach control (once it shows).
async fn attach_file(browser: &Browser, path: &Path) {
    browser.wait_for("label[for=reply-file]").await;
    let input = browser.find("#reply-file").await.expect("the file input");
    browser.choose_file(&input, path).await;
}

/// Log in, connect a Telegram channel through its settings page, see a
/// customer's webhook appear in Chat without a reload, answer it, and see
/// the answer reach the provider and show as sent; then send a photo (too
/// large a file is refused before the upload); then the same pages at phone
/// width.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_connects_telegram_and_answers_in_chat() {
    let env = Env::start().await;
    let browser = Browser::start(1280, 900).await;
    let base = env.server.base_url().to_string();

    browser.goto(&format!("{base}/login")).await;
    browser.wait_for("#login-email").await;
    browser.screenshot("01-login-1280").await;
    sign_in(&browser, &env, "/settings/channels/telegram").await;

    // Settings -> Channels -> Telegram: the form drawn from the manifest.
    let name = browser.wait_for("#connect-telegram-name").await;
    browser.type_into(&name, "Support bot").await;
    let token = browser.wait_for("#connect-telegram-bot_token").await;
    assert_eq!(
        browser.attribute(&token, "type").await.as_deref(),
        Some("password"),
        "secret fields are password inputs"
    );
    browser.type_into(&token, BOT_TOKEN).await;
    let advanced = browser.wait_for("details.advanced summary").await;
    browser.click(&advanced).await;
    let api_base = browser.wait_for("#connect-telegram-api_base").await;
    browser.type_into(&api_base, &env.fake.api_base()).await;
    let connect = browser
        .wait_for_text("form button[type=submit]", "Connect")
        .await;
    browser.click(&connect).await;
    browser
        .wait_for_text("body", "Connected “Support bot”")
        .await;
    browser.screenshot("02-settings-telegram-connected").await;
    let set_webhook = env.fake.calls("setWebhook");
    assert_eq!(set_webhook.len(), 1, "connect registered the webhook");
    let secret = set_webhook[0].body["secret_token"]
        .as_str()
        .expect("a secret token")
        .to_string();
    let webhook_url = set_webhook[0].body["url"]
        .as_str()
        .expect("the webhook URL")
        .to_string();
    let token_field = browser.wait_for("#connect-telegram-bot_token").await;
    assert_eq!(
        browser.property(&token_field, "value").await,
        "",
        "the secret is not shown again"
    );

    // Chat: a webhook appears without a reload.
    browser.goto(&format!("{base}/chat")).await;
    browser.wait_for("#conversation-search").await;
    env.hooks
        .telegram(
            &webhook_url,
            Some(&secret),
            &updates::private_text(1, 700_001, 10, "Olga", "Where is my order?"),
        )
        .await
        .expect(200, "the customer's webhook");
    // It is answered; the reply reaches the provider and shows as sent.
    answer_in_chat(&browser, "Olga", "Where is my order?", "It ships today.").await;
    let sent = env.fake.calls("sendMessage");
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].body["text"], "It ships today.");
    browser.screenshot("03-chat-thread-1280").await;
    let thread_url = browser.current_url().await;

    // A file over the limit is refused before any upload.
    let files = tempfile::tempdir().expect("a temporary folder");
    let too_large = files.path().join("scan.pdf");
    std::fs::File::create(&too_large)
        .and_then(|file| file.set_len(10 * 1024 * 1024 + 1))
        .expect("write a file of 10 MiB and one byte");
    attach_file(&browser, &too_large).await;
    browser
        .wait_for_text(".composer .alert", "larger than 10 MB")
        .await;
    browser.wait_gone("#reply-file-chip").await;

    // A photo alone, no caption: Enter sends it; it goes out through
    // sendPhoto and shows inline, as sent.
    let photo = png(96, 64);
    let photo_path = files.path().join("parcel.png");
    std::fs::write(&photo_path, &photo).expect("write the PNG");
    attach_file(&browser, &photo_path).await;
    browser
        .wait_for_text("#reply-file-chip", "parcel.png")
        .await;
    browser.wait_gone(".composer .alert").await;
    browser.screenshot("03a-chat-photo-chosen-1280").await;
    let reply = browser.wait_for("#reply-text").await;
    browser.type_into(&reply, "\u{E007}").await; // WebDriver's Enter key
    let photos = env
        .fake
        .wait_for_calls("sendPhoto", 1, support::PROCESSING_TIMEOUT)
        .await;
    assert!(
        photos[0]
            .raw
            .windows(photo.len())
            .any(|window| window == photo.as_slice()),
        "the PNG's bytes are not in the sendPhoto upload ({} bytes)",
        photos[0].raw.len()
    );
    let image = "#thread .message-out[data-status=sent] .attachment-image img";
    browser.wait_for(image).await;
    eventually(
        "the sent photo to load in the thread",
        UI_TIMEOUT,
        || async {
            let width = browser
                .execute(
                    "const img = document.querySelector(arguments[0]);\
                 return img && img.complete ? img.naturalWidth : 0;",
                    json!([image]),
                )
                .await;
            if width == 96 {
                Ok(())
            } else {
                Err(format!("naturalWidth {width}"))
            }
        },
    )
    .await;
    browser.wait_gone("#reply-file-chip").await;
    assert_eq!(env.fake.calls("sendMessage").len(), 1, "no second text");
    browser.screenshot("03b-chat-photo-sent-1280").await;

    // Contacts: the customer with their Telegram identity.
    browser.goto(&format!("{base}/contacts")).await;
    browser
        .wait_for_text("#contact-list a.contact", "Olga")
        .await;
    browser.screenshot("04-contacts-1280").await;

    // The same pages at phone width: readable, nothing scrolls sideways.
    browser.set_size(390, 844).await;
    for (page, shot) in [
        ("/chat", "05-chat-390"),
        ("/contacts", "06-contacts-390"),
        ("/settings/channels/telegram", "07-settings-telegram-390"),
    ] {
        browser.goto(&format!("{base}{page}")).await;
        browser.wait_for("main h1").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser.screenshot(shot).await;
        assert_eq!(
            browser.horizontal_overflow().await,
            0,
            "{page} scrolls sideways at 390 px"
        );
    }
    // The thread with a long-named file chosen, then removed.
    browser.goto(&thread_url).await;
    let long_name = files
        .path()
        .join("photo-of-the-parcel-on-the-doorstep-this-morning.png");
    std::fs::write(&long_name, &photo).expect("write the PNG");
    attach_file(&browser, &long_name).await;
    browser
        .wait_for_text("#reply-file-chip", "photo-of-the-parcel")
        .await;
    browser.wait_for(image).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    browser.screenshot("05b-chat-thread-photo-chosen-390").await;
    assert_eq!(
        browser.horizontal_overflow().await,
        0,
        "the thread with a file chosen scrolls sideways at 390 px"
    );
    let remove = browser.wait_for("#reply-file-remove").await;
    browser.click(&remove).await;
    browser.wait_gone("#reply-file-chip").await;
    let focused = "const el = document.activeElement;\
                   return `${el.id} ${el.matches(':focus-visible')}`;";
    let after_remove = browser.execute(focused, json!([])).await;
    assert!(
        after_remove
            .as_str()
            .unwrap_or_default()
            .starts_with("reply-file "),
        "after Remove the focus is back on the Attach control, not {after_remove}"
    );
    // The keyboard reaches the Attach control, and its focus shows.
    let reply = browser.wait_for("#reply-text").await;
    browser.type_into(&reply, "\u{E008}\u{E004}").await; // Shift+Tab
    assert_eq!(browser.execute(focused, json!([])).await, "reply-file true");
}

/// Turning a provider off hides its connect flow and its webhooks are
/// refused; turning it on again brings both back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_turned_off_hides_its_settings_and_refuses_webhooks() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Support bot").await;
    let browser = Browser::start(1280, 900).await;
    sign_in(&browser, &env, "/settings/channels/telegram").await;
    browser.wait_for("#connect-title").await;

    let toggle = browser.wait_for("#enabled-telegram").await;
    browser.click(&toggle).await;
    browser.wait_gone("#connect-title").await;
    browser.wait_for_text("body", "webhooks are refused").await;
    browser.screenshot("08-settings-telegram-off").await;
    let update = updates::private_text(2, 700_002, 11, "Boris", "hello?");
    eventually("the webhook to be refused", UI_TIMEOUT, || async {
        let resp = env
            .hooks
            .telegram(&channel.webhook_url, Some(channel.secret()), &update)
            .await;
        if resp.status.as_u16() == 403 {
            Ok(())
        } else {
            Err(format!("{} {}", resp.status, resp.body))
        }
    })
    .await;

    let toggle = browser.wait_for("#enabled-telegram").await;
    browser.click(&toggle).await;
    browser.wait_for("#connect-title").await;
    eventually("webhooks to be accepted again", UI_TIMEOUT, || async {
        let resp = env
            .hooks
            .telegram(&channel.webhook_url, Some(channel.secret()), &update)
            .await;
        if resp.status.is_success() {
            Ok(())
        } else {
            Err(format!("{} {}", resp.status, resp.body))
        }
    })
    .await;
}

/// A page on another site that embeds the widget with one script tag.
async fn shop_page(widget_tag: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let page = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Shop</title></head>\
         <body><h1>The shop</h1><p>Our products.</p>{widget_tag}</body></html>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{address}/"), server)
}

/// Loads the shop page and opens the chat bubble.
async fn open_widget(visitor: &Browser, shop: &str) {
    visitor.goto(shop).await;
    let bubble = visitor
        .wait_in_shadow("#switchboard-widget", "button.bubble", "")
        .await;
    visitor.click(&bubble).await;
}

/// A visitor on another site writes through the widget; the message lands
/// in the operator's Chat without a reload; the operator's answer appears in
/// the widget; after a reload the visitor still has the conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_visitor_and_an_operator_talk() {
    let env = Env::start().await;
    let (created, embed) = env
        .connect_website(serde_json::json!({"greeting": "Hello! How can we help?"}))
        .await;
    let (shop, _server) = shop_page(embed).await;

    let operator = Browser::start(1280, 900).await;
    sign_in(&operator, &env, "/chat").await;
    operator.wait_for("#conversation-search").await;

    let visitor = Browser::start(390, 844).await;
    open_widget(&visitor, &shop).await;
    visitor
        .wait_in_shadow("#switchboard-widget", ".greeting", "How can we help?")
        .await;
    let text = visitor
        .wait_in_shadow("#switchboard-widget", "textarea", "")
        .await;
    visitor
        .type_into(&text, "Is the blue jacket in stock?")
        .await;
    let send = visitor
        .wait_in_shadow("#switchboard-widget", "form button", "Send")
        .await;
    visitor.click(&send).await;
    visitor
        .wait_in_shadow("#switchboard-widget", ".msg.in", "blue jacket")
        .await;
    visitor.screenshot("09-widget-visitor-390").await;

    // The operator sees it arrive and answers.
    answer_in_chat(
        &operator,
        "Is the blue jacket in stock?",
        "Is the blue jacket in stock?",
        "Yes, in every size.",
    )
    .await;
    operator
        .screenshot("10-chat-widget-conversation-1280")
        .await;
    // The website provider cannot send files: no Attach control.
    let file_input = operator.find("#reply-file").await.expect("the file input");
    assert_eq!(
        operator.property(&file_input, "disabled").await,
        json!(true),
        "the file input of a website conversation is disabled"
    );
    operator.wait_gone("label[for=reply-file]").await;

    // The answer appears in the widget without a reload.
    visitor
        .wait_in_shadow("#switchboard-widget", ".msg.out", "Yes, in every size.")
        .await;
    visitor.screenshot("11-widget-answered-390").await;

    // After a reload the visitor is the same visitor.
    open_widget(&visitor, &shop).await;
    visitor
        .wait_in_shadow("#switchboard-widget", ".msg.out", "Yes, in every size.")
        .await;
    visitor
        .wait_in_shadow("#switchboard-widget", ".msg.in", "blue jacket")
        .await;
    let conversations = env.conversations_of(created["id"].as_str().unwrap()).await;
    assert_eq!(conversations.len(), 1, "one visitor, one conversation");
}

/// The owner invites an agent from Settings -> Members; the agent opens the
/// link in their own browser, chooses a password and lands in Chat, without
/// the owner's controls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_invites_an_agent_who_joins() {
    let env = Env::start().await;
    let owner = Browser::start(1280, 900).await;
    sign_in(&owner, &env, "/settings/members").await;
    let email = owner.wait_for("#invite-email").await;
    owner.type_into(&email, "agent@example.test").await;
    let send = owner.wait_for("#invite-send").await;
    owner.click(&send).await;
    let link = owner.wait_for("#invite-link").await;
    let url = owner
        .property(&link, "value")
        .await
        .as_str()
        .expect("the invitation link")
        .to_string();
    assert!(url.contains("/invite/"), "{url}");
    owner.screenshot("12-members-invited-1280").await;

    let agent = Browser::start(390, 844).await;
    agent.goto(&url).await;
    let password = agent.wait_for("#accept-password").await;
    agent.type_into(&password, "agent password 1").await;
    if let Some(confirm) = agent.find("#accept-confirm").await {
        agent.type_into(&confirm, "agent password 1").await;
    }
    agent.screenshot("13-invitation-390").await;
    let submit = agent.wait_for("#accept-submit").await;
    agent.click(&submit).await;
    agent.wait_for("#conversation-search").await;
    agent.screenshot("14-agent-chat-390").await;

    // An agent reads and replies, but cannot change channels.
    agent
        .goto(&format!(
            "{}/settings/channels/telegram",
            env.server.base_url()
        ))
        .await;
    agent.wait_for("main h1").await;
    agent.wait_gone("#enabled-telegram").await;
    agent.wait_gone("#connect-title").await;
    let members = env
        .api
        .get(&format!("/api/v1/workspaces/{}/members", env.ws()))
        .await
        .expect(200, "members");
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == "agent@example.test" && m["role"] == "agent"),
        "{members}"
    );
}
