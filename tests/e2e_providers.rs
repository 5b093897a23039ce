//! Providers that route by account id and connect through OAuth, end to end:
//! the real server, the real plugins, fake provider APIs on loopback.
//!
//! - Instagram and VK OAuth: the redirect, the code exchange through the
//!   plugin, the stored channel; forged, replayed and cancelled states;
//! - global routing: one Instagram request naming two connected accounts is
//!   stored for each, an unknown account is refused, a handshake with the
//!   wrong token is refused;
//! - per-workspace routing: a VK event posted to another workspace's URL is
//!   not routed to a channel it does not own;
//! - an Instagram reply with a file goes as the file's public link.

mod support;

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use support::api::Part;
use support::fake_provider::{FakeProvider, Route};
use support::server::{Plugins, ServerOptions};
use support::{eventually, pretty, Env, EMAIL, PASSWORD, PROCESSING_TIMEOUT};

const IG_CLIENT_ID: &str = "ig-app-1001";
const IG_CLIENT_SECRET: &str = "ig-app-secret-for-tests";
const VK_CLIENT_ID: &str = "51000001";
const VK_CLIENT_SECRET: &str = "vk-app-secret-for-tests";
const IG_ACCOUNT: &str = "17841400000000001";
const VK_GROUP: &str = "218000001";

fn route(method: &str, path: &str, body: Value) -> Route {
    serde_json::from_value(json!({"method": method, "path": path, "body": body})).expect("a route")
}

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn env_with_oauth_apps() -> Env {
    let mut options = ServerOptions::new(Plugins::Production);
    options.env = vec![
        (
            "SWITCHBOARD_OAUTH_INSTAGRAM_CLIENT_ID".into(),
            IG_CLIENT_ID.into(),
        ),
        (
            "SWITCHBOARD_OAUTH_INSTAGRAM_CLIENT_SECRET".into(),
            IG_CLIENT_SECRET.into(),
        ),
        ("SWITCHBOARD_OAUTH_VK_CLIENT_ID".into(), VK_CLIENT_ID.into()),
        (
            "SWITCHBOARD_OAUTH_VK_CLIENT_SECRET".into(),
            VK_CLIENT_SECRET.into(),
        ),
    ];
    Env::start_with_options(options).await
}

/// GET with the session token, redirects not followed.
async fn get_as_owner(env: &Env, url: &str) -> reqwest::Response {
    browser()
        .get(url)
        .bearer_auth(env.api.token().expect("logged in"))
        .send()
        .await
        .expect("GET")
}

fn location(response: &reqwest::Response) -> url::Url {
    let text = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location in a {} answer", response.status()));
    url::Url::parse(text).unwrap_or_else(|e| panic!("Location {text} is not a URL: {e}"))
}

fn query_of(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn instagram_api(account: &str, username: &str) -> Vec<Route> {
    vec![
        route(
            "POST",
            "/oauth/access_token",
            json!({"data": [{"access_token": "IG-short-lived", "user_id": account, "permissions": "instagram_business_basic,instagram_business_manage_messages"}]}),
        ),
        route(
            "GET",
            "/access_token",
            json!({"access_token": "IG-long-lived-token", "token_type": "bearer", "expires_in": 5_184_000}),
        ),
        route(
            "GET",
            "/v25.0/me",
            json!({"user_id": account, "username": username, "id": "27000000000000009"}),
        ),
        route(
            "POST",
            &format!("/v25.0/{account}/subscribed_apps"),
            json!({"success": true}),
        ),
    ]
}

fn instagram_text(account: &str, customer: &str, mid: &str, text: &str) -> Value {
    json!({"id": account, "time": 1_767_268_800_123u64, "messaging": [{
        "sender": {"id": customer}, "recipient": {"id": account}, "timestamp": 1_767_268_799_871u64,
        "message": {"mid": mid, "text": text}}]})
}

/// Posts a Meta webhook signed with `app_secret` to `url`.
async fn post_signed(url: &str, app_secret: &str, body: &Value) -> (StatusCode, String) {
    let bytes = body.to_string().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).unwrap();
    mac.update(&bytes);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let response = browser()
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(bytes)
        .send()
        .await
        .expect("POST a webhook");
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

async fn messages_with_text(env: &Env, text: &str) -> Vec<Value> {
    let mut found = Vec::new();
    for conversation in env.api.conversations(env.ws()).await {
        let id = conversation["id"].as_str().unwrap_or_default();
        found.extend(
            env.api
                .messages(id)
                .await
                .into_iter()
                .filter(|m| m["text"].as_str() == Some(text))
                .map(|mut m| {
                    m["channel_id"] = conversation["channel_id"].clone();
                    m
                }),
        );
    }
    found
}

#[tokio::test]
async fn instagram_oauth_connects_a_channel_and_refuses_forged_replayed_and_cancelled_states() {
    let env = env_with_oauth_apps().await;
    let fake = FakeProvider::start(instagram_api(IG_ACCOUNT, "shop.oauth")).await;
    let start = format!(
        "{}/oauth/instagram/start?workspace_id={}&name=Shop&api_base={}",
        env.server.base_url(),
        env.ws(),
        fake.api_base()
    );

    // Only a signed-in admin starts a connect.
    let anonymous = browser().get(&start).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let redirect = get_as_owner(&env, &start).await;
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER, "start redirects");
    let authorize = location(&redirect);
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/oauth/authorize", fake.api_base())),
        "to the provider's authorize URL: {authorize}"
    );
    let callback = format!("{}/oauth/instagram/callback", env.server.public_url());
    assert_eq!(
        query_of(&authorize, "client_id").as_deref(),
        Some(IG_CLIENT_ID)
    );
    assert_eq!(
        query_of(&authorize, "redirect_uri").as_deref(),
        Some(callback.as_str())
    );
    assert_eq!(
        query_of(&authorize, "response_type").as_deref(),
        Some("code")
    );
    assert!(query_of(&authorize, "scope")
        .is_some_and(|scope| scope.contains("instagram_business_manage_messages")));
    let state = query_of(&authorize, "state").expect("a state");

    // A forged state is refused and connects nothing.
    let mut forged = state.clone().into_bytes();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let refused = browser()
        .get(format!("{callback}?code=CODE-1&state={forged}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        fake.requests_to("/oauth/access_token").is_empty(),
        "no exchange for a forged state"
    );

    // The provider redirects back with a code (Instagram appends `#_`, which
    // a browser never sends).
    let back = browser()
        .get(format!("{callback}?code=CODE-1&state={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let landing = location(&back);
    assert_eq!(landing.path(), "/settings/channels/instagram");
    let channel_id = query_of(&landing, "connected")
        .unwrap_or_else(|| panic!("connected to a channel: {landing}"));

    let exchange = fake.requests_to("/oauth/access_token");
    assert_eq!(exchange.len(), 1, "one code exchange");
    let form = exchange[0].params();
    assert_eq!(form["code"], "CODE-1");
    assert_eq!(form["client_id"], IG_CLIENT_ID);
    assert_eq!(form["client_secret"], IG_CLIENT_SECRET);
    assert_eq!(form["redirect_uri"], callback.as_str());
    assert_eq!(
        fake.requests_to(&format!("/v25.0/{IG_ACCOUNT}/subscribed_apps"))
            .len(),
        1,
        "the app is subscribed to the account's webhooks"
    );

    let channels = env.api.channels_resp(env.ws()).await;
    let listed = channels.expect(200, "list channels");
    let channel = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_str() == Some(channel_id.as_str()))
        .unwrap_or_else(|| panic!("channel {channel_id} listed: {listed:#}"));
    assert_eq!(channel["provider_account_id"], IG_ACCOUNT);
    assert_eq!(channel["display_name"], "@shop.oauth");
    assert_eq!(
        channel["webhook_url"],
        format!("{}/webhooks/instagram", env.server.public_url()).as_str()
    );
    for secret in ["IG-long-lived-token", IG_CLIENT_SECRET, "CODE-1"] {
        assert!(
            !channels.body.contains(secret),
            "the API never shows {secret}"
        );
    }

    // The same state again is a replay.
    let replay = browser()
        .get(format!("{callback}?code=CODE-2&state={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let body: Value = replay.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("already used"),
        "{body}"
    );
    assert_eq!(
        fake.requests_to("/oauth/access_token").len(),
        1,
        "no second exchange"
    );

    // The admin cancels on the consent screen: back to settings with the reason.
    let cancelled_state = query_of(&location(&get_as_owner(&env, &start).await), "state").unwrap();
    let cancelled = browser()
        .get(format!(
            "{callback}?error=access_denied&error_reason=user_denied&error_description=Permissions+error&state={cancelled_state}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        query_of(&location(&cancelled), "error").as_deref(),
        Some("Permissions error")
    );

    // The app secret came through OAuth: a webhook signed with it is stored.
    let body = json!({"object": "instagram", "entry": [instagram_text(IG_ACCOUNT, "618000000000042", "mid.oauth.1", "After OAuth")]});
    let (status, answer) = post_signed(
        &format!("{}/webhooks/instagram", env.server.base_url()),
        IG_CLIENT_SECRET,
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    eventually(
        "the message on the OAuth channel",
        PROCESSING_TIMEOUT,
        || async {
            let found = messages_with_text(&env, "After OAuth").await;
            match found.as_slice() {
                [one] if one["channel_id"].as_str() == Some(channel_id.as_str()) => Ok(()),
                _ => Err(pretty(&found)),
            }
        },
    )
    .await;

    // WhatsApp connects with pasted credentials only.
    let no_oauth = get_as_owner(
        &env,
        &format!(
            "{}/oauth/whatsapp/start?workspace_id={}",
            env.server.base_url(),
            env.ws()
        ),
    )
    .await;
    assert_eq!(no_oauth.status(), StatusCode::BAD_REQUEST);
}

fn vk_api(group: &str, name: &str) -> Vec<Route> {
    vec![
        route(
            "*",
            "/access_token",
            json!({"groups": [{"group_id": group.parse::<i64>().unwrap(), "access_token": format!("vk-community-token-{group}")}], "expires_in": 0}),
        ),
        route(
            "*",
            "/method/groups.getById",
            json!({"response": {"groups": [{"id": group.parse::<i64>().unwrap(), "name": name}]}}),
        ),
        route(
            "*",
            "/method/groups.getCallbackServers",
            json!({"response": {"count": 0, "items": []}}),
        ),
        route(
            "*",
            "/method/groups.getCallbackConfirmationCode",
            json!({"response": {"code": format!("confirm-{group}")}}),
        ),
        route(
            "*",
            "/method/groups.addCallbackServer",
            json!({"response": {"server_id": 3}}),
        ),
        route(
            "*",
            "/method/groups.setCallbackSettings",
            json!({"response": 1}),
        ),
    ]
}

/// Runs the VK OAuth connect for `group` in workspace `ws`; returns the channel.
async fn connect_vk_by_oauth(env: &Env, ws: &str, fake: &FakeProvider, group: &str) -> Value {
    let start = format!(
        "{}/oauth/vk/start?workspace_id={ws}&name=Community&group_id={group}&api_base={}",
        env.server.base_url(),
        fake.api_base()
    );
    let redirect = get_as_owner(env, &start).await;
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    let authorize = location(&redirect);
    assert_eq!(query_of(&authorize, "group_ids").as_deref(), Some(group));
    assert_eq!(
        query_of(&authorize, "client_id").as_deref(),
        Some(VK_CLIENT_ID)
    );
    let state = query_of(&authorize, "state").unwrap();
    let callback = format!("{}/oauth/vk/callback", env.server.public_url());
    let back = browser()
        .get(format!("{callback}?code=VK-CODE-{group}&state={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let landing = location(&back);
    let id = query_of(&landing, "connected").unwrap_or_else(|| panic!("connected: {landing}"));
    let listed = env.api.channels(ws).await;
    listed
        .into_iter()
        .find(|c| c["id"].as_str() == Some(id.as_str()))
        .expect("the channel is listed")
}

#[tokio::test]
async fn vk_oauth_connects_a_community_whose_url_is_its_workspaces() {
    let env = env_with_oauth_apps().await;
    let fake = FakeProvider::start(vk_api(VK_GROUP, "Shop community")).await;

    let missing = get_as_owner(
        &env,
        &format!(
            "{}/oauth/vk/start?workspace_id={}&api_base={}",
            env.server.base_url(),
            env.ws(),
            fake.api_base()
        ),
    )
    .await;
    assert_eq!(
        missing.status(),
        StatusCode::BAD_REQUEST,
        "the community id is a start field"
    );

    let channel = connect_vk_by_oauth(&env, env.ws(), &fake, VK_GROUP).await;
    assert_eq!(channel["provider_account_id"], VK_GROUP);
    let webhook_url = channel["webhook_url"].as_str().unwrap().to_string();
    assert!(
        webhook_url.contains("/webhooks/vk/w/"),
        "a per-workspace URL: {webhook_url}"
    );
    let exchange = fake.requests_to("/access_token");
    assert_eq!(exchange.len(), 1);
    assert_eq!(
        exchange[0].params()["code"],
        format!("VK-CODE-{VK_GROUP}").as_str()
    );
    let registered = fake.requests_to("/method/groups.addCallbackServer");
    assert_eq!(registered.len(), 1);
    assert_eq!(
        registered[0].params()["url"],
        webhook_url.as_str(),
        "connect registered the URL"
    );

    // VK's confirmation request is answered with the community's string.
    let confirm = browser()
        .post(&webhook_url)
        .json(&json!({"type": "confirmation", "group_id": VK_GROUP.parse::<i64>().unwrap()}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), StatusCode::OK);
    assert_eq!(confirm.text().await.unwrap(), format!("confirm-{VK_GROUP}"));

    // A second workspace with its own community: its URL does not route the
    // first workspace's community, even with a valid secret.
    let other = env
        .server
        .bootstrap(EMAIL, PASSWORD, "Other workspace")
        .await;
    let second_fake = FakeProvider::start(vk_api("218000002", "Other community")).await;
    let second = connect_vk_by_oauth(&env, &other.workspace_id, &second_fake, "218000002").await;
    let other_url = second["webhook_url"].as_str().unwrap();
    assert_ne!(other_url, webhook_url);
    let secret = registered[0].params()["secret_key"]
        .as_str()
        .unwrap()
        .to_string();
    let event = json!({"group_id": VK_GROUP.parse::<i64>().unwrap(), "type": "message_new", "event_id": "evt-cross", "v": "5.199", "secret": secret,
        "object": {"message": {"date": 1767268800, "from_id": 55501234, "id": 1, "out": 0, "peer_id": 55501234, "text": "Wrong door", "conversation_message_id": 1}}});
    let crossed = browser().post(other_url).json(&event).send().await.unwrap();
    assert_eq!(crossed.status(), StatusCode::NOT_FOUND);
    let right = browser()
        .post(&webhook_url)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert_eq!(right.text().await.unwrap(), "ok");
    eventually(
        "the message in the first workspace",
        PROCESSING_TIMEOUT,
        || async {
            let found = messages_with_text(&env, "Wrong door").await;
            if found.len() == 1 {
                Ok(())
            } else {
                Err(pretty(&found))
            }
        },
    )
    .await;
}

#[tokio::test]
async fn one_instagram_request_naming_two_accounts_is_stored_for_each() {
    let env = Env::start().await;
    let app_secret = "shared-app-secret";
    let mut channel_ids = Vec::new();
    let mut fakes = Vec::new();
    for (account, username) in [
        ("17841400000000101", "first.shop"),
        ("17841400000000102", "second.shop"),
    ] {
        let fake = FakeProvider::start(instagram_api(account, username)).await;
        let created = env
            .api
            .create_channel(
                env.ws(),
                &json!({"provider": "instagram", "name": username, "config": {
                    "access_token": format!("token-{account}"), "app_secret": app_secret,
                    "verify_token": "verify-both", "api_base": fake.api_base()}}),
            )
            .await
            .expect(201, "connect an Instagram account with a pasted token");
        channel_ids.push(created["id"].as_str().unwrap().to_string());
        fakes.push(fake);
    }
    let url = format!("{}/webhooks/instagram", env.server.base_url());
    let batch = json!({"object": "instagram", "entry": [
        instagram_text("17841400000000101", "618000000000001", "mid.batch.1", "To the first"),
        instagram_text("17841400000000102", "618000000000002", "mid.batch.2", "To the second"),
    ]});
    let (status, answer) = post_signed(&url, app_secret, &batch).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    for (text, channel_id) in [
        ("To the first", &channel_ids[0]),
        ("To the second", &channel_ids[1]),
    ] {
        eventually(
            &format!("{text:?} on its own channel"),
            PROCESSING_TIMEOUT,
            || async {
                let found = messages_with_text(&env, text).await;
                match found.as_slice() {
                    [one] if one["channel_id"].as_str() == Some(channel_id.as_str()) => Ok(()),
                    _ => Err(pretty(&found)),
                }
            },
        )
        .await;
    }

    // An account connected nowhere here: refused, nothing stored.
    let stranger = json!({"object": "instagram", "entry": [instagram_text("17841400000009999", "618000000000003", "mid.stranger", "Nobody home")]});
    let (status, _) = post_signed(&url, app_secret, &stranger).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The verification GET: the right token gets the challenge, a wrong one 403.
    let good = browser()
        .get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token=verify-both&hub.challenge=777"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), StatusCode::OK);
    assert_eq!(good.text().await.unwrap(), "777");
    let bad = browser()
        .get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=778"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::FORBIDDEN);
    assert!(messages_with_text(&env, "Nobody home").await.is_empty());
}

#[tokio::test]
async fn a_whatsapp_account_level_event_is_answered_once_authentic_and_stored_nowhere() {
    let env = Env::start().await;
    let app_secret = "whatsapp-app-secret";
    let fake = FakeProvider::start(vec![route(
        "GET",
        "/v25.0/106540352242922",
        json!({"display_phone_number": "15550783881", "verified_name": "Shop", "id": "106540352242922"}),
    )])
    .await;
    env.api
        .create_channel(
            env.ws(),
            &json!({"provider": "whatsapp", "name": "WhatsApp", "config": {
                "access_token": "EAAG-token", "app_secret": app_secret,
                "phone_number_id": "106540352242922", "api_base": fake.api_base()}}),
        )
        .await
        .expect(201, "connect a WhatsApp number");
    // Names no phone number: no channel owns it.
    let update = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}]}]});
    let url = format!("{}/webhooks/whatsapp", env.server.base_url());
    let (status, body) = post_signed(&url, app_secret, &update).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "answered so Meta stops retrying: {body}"
    );
    let (status, _) = post_signed(&url, "not-the-app-secret", &update).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a forged one is not");
    let metrics = env.api.metrics().await;
    assert_eq!(
        metrics.sum(
            "switchboard_webhooks_accepted_total",
            &[("provider", "whatsapp")]
        ),
        0.0,
        "nothing was stored"
    );
    assert_eq!(
        metrics.sum(
            "switchboard_webhooks_without_account_total",
            &[("provider", "whatsapp")]
        ),
        1.0
    );
}

/// Instagram cannot take an upload: a reply's file goes as its public link,
/// which serves the exact bytes to whoever holds it and nothing to a guess.
#[tokio::test]
async fn an_instagram_reply_with_a_file_goes_by_its_public_link() {
    let env = Env::start().await;
    let app_secret = "link-app-secret";
    let fake = FakeProvider::start(instagram_api(IG_ACCOUNT, "link.shop")).await;
    fake.add_routes([route(
        "POST",
        "/v25.0/me/messages",
        json!({"recipient_id": "618000000000077", "message_id": "mid.sent.1"}),
    )]);
    env.api
        .create_channel(
            env.ws(),
            &json!({"provider": "instagram", "name": "Link shop", "config": {
                "access_token": "token-link", "app_secret": app_secret,
                "verify_token": "verify-link", "api_base": fake.api_base()}}),
        )
        .await
        .expect(201, "connect an Instagram account with a pasted token");
    let url = format!("{}/webhooks/instagram", env.server.base_url());
    let hello = json!({"object": "instagram", "entry": [
        instagram_text(IG_ACCOUNT, "618000000000077", "mid.in.1", "Send me the menu")]});
    let (status, answer) = post_signed(&url, app_secret, &hello).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let conversation_id = eventually("the customer's message", PROCESSING_TIMEOUT, || async {
        match messages_with_text(&env, "Send me the menu")
            .await
            .as_slice()
        {
            [one] => Ok(one["conversation_id"]
                .as_str()
                .unwrap_or_default()
                .to_string()),
            other => Err(pretty(other)),
        }
    })
    .await;

    let menu: &[u8] = b"%PDF-1.7 \xe2\x82\xac menu";
    env.api
        .post_form(
            &format!("/api/v1/conversations/{conversation_id}/messages"),
            &[Part::file("file", "menu.pdf", "application/pdf", menu)],
        )
        .await
        .expect(202, "a reply with a file");
    let sent = fake
        .wait_requests("/v25.0/me/messages", 1, PROCESSING_TIMEOUT)
        .await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let body: Value = serde_json::from_str(&sent[0].body).expect("a JSON send");
    let attachment = &body["message"]["attachment"];
    assert_eq!(attachment["type"], "file", "{body:#}");
    let link = attachment["payload"]["url"].as_str().expect("a link");
    let token = link
        .strip_prefix(&format!("{}/media/", env.server.public_url()))
        .unwrap_or_else(|| panic!("{link} is not on the public URL"));

    let fetched = browser()
        .get(env.server.url(&format!("/media/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.headers()["content-type"], "application/pdf");
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), menu);
    let guessed = browser()
        .get(
            env.server
                .url(&format!("/media/{}x", &token[..token.len() - 1])),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(guessed.status(), StatusCode::NOT_FOUND);
}
