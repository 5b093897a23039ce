//! Shared harness for the end-to-end suites: they run the real `switchboard`
//! binary against fake providers on loopback and talk to it only through its
//! external contract (CLI, HTTP API, webhooks, /metrics).
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod api;
pub mod browser;
pub mod canary;
pub mod cluster;
pub mod deployment;
pub mod fake_provider;
pub mod fake_telegram;
pub mod metrics;
pub mod server;
pub mod tansu;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use api::{Api, Webhooks};
use fake_telegram::FakeTelegram;
use server::{Plugins, Server, ServerOptions};

/// Owner account created by `switchboard admin bootstrap` in every test server.
pub const EMAIL: &str = "owner@example.test";
pub const PASSWORD: &str = "correct horse battery staple";
pub const WORKSPACE: &str = "E2E";

/// The bot token every Telegram channel in the suite connects with. The fake
/// answers getMe with the digits before ':' as the bot id.
pub const BOT_TOKEN: &str = "123456:TEST-token";
pub const BOT_ID: &str = "123456";

/// How long inbound processing and outbound delivery may take before a test
/// gives up: both are asynchronous behind the webhook's 2xx.
pub const PROCESSING_TIMEOUT: Duration = Duration::from_secs(20);

/// The cargo workspace root (the host package lives in `<root>/host`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host package sits inside the workspace")
        .to_path_buf()
}

/// A plugin built by `scripts/build-plugins.sh`, e.g. `plugins/telegram.wasm`
/// or `test-plugins/chaos.wasm` (relative to `<workspace>/target`).
pub fn built_plugin(relative: &str) -> PathBuf {
    let path = workspace_root().join("target").join(relative);
    if !path.is_file() {
        panic!(
            "{} is missing: run scripts/build-plugins.sh first",
            path.display()
        );
    }
    path
}

/// The last `lines` lines of a process log (empty if it cannot be read).
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read(log)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Appends a marker line to a process log, to tell its runs apart.
pub fn note_in_log(log: &Path, what: &str) {
    use std::io::Write;
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(file, "===== e2e harness: {what} =====");
    }
}

/// Copies a log out of a temporary folder that is about to be removed, into
/// `<workspace>/target/e2e-logs/`, when the test is failing or
/// SWITCHBOARD_TEST_KEEP_LOGS is set; returns where it went.
pub fn preserve_log(log: &Path, label: &str) -> Option<PathBuf> {
    if !std::thread::panicking() && std::env::var_os("SWITCHBOARD_TEST_KEEP_LOGS").is_none() {
        return None;
    }
    let dir = workspace_root().join("target").join("e2e-logs");
    std::fs::create_dir_all(&dir).ok()?;
    let target = dir.join(format!("{}.log", deployment::unique(&format!("{label}-"))));
    std::fs::copy(log, &target).ok()?;
    Some(target)
}

/// Polls `check` every 100 ms until it returns `Ok`, and panics after
/// `timeout` with `what` and the last `Err` (a description of what was seen).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// `value[key]` as a string, whether the JSON holds a string or a number.
pub fn str_of(value: &Value, key: &str) -> Option<String> {
    match &value[key] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A JSON list, pretty-printed for failure messages.
pub fn pretty(values: &[Value]) -> String {
    serde_json::to_string_pretty(values).unwrap_or_default()
}

/// A connected channel as the API returned it, plus the webhook secret the
/// plugin registered at the (fake) provider, when there is one.
#[derive(Clone, Debug)]
pub struct Channel {
    pub id: String,
    pub webhook_url: String,
    pub secret: Option<String>,
    pub created: Value,
}

impl Channel {
    /// The Telegram secret token; panics for channels that have none.
    pub fn secret(&self) -> &str {
        self.secret
            .as_deref()
            .expect("this channel registered no webhook secret")
    }
}

/// One running server with a bootstrapped workspace, a logged-in API client
/// and a fake Telegram Bot API.
pub struct Env {
    pub fake: FakeTelegram,
    pub server: Server,
    pub api: Api,
    pub hooks: Webhooks,
    pub workspace_id: String,
    pub user_id: String,
}

impl Env {
    /// A server loaded with the production plugins only.
    pub async fn start() -> Env {
        Env::start_with(Plugins::Production).await
    }

    /// A server loaded with the production plugins and the chaos test plugin.
    pub async fn start_with_chaos() -> Env {
        Env::start_with(Plugins::WithChaos).await
    }

    pub async fn start_with(plugins: Plugins) -> Env {
        Env::start_with_options(ServerOptions::new(plugins)).await
    }

    /// A server started as `options` say (extra environment, say).
    pub async fn start_with_options(options: ServerOptions) -> Env {
        let fake = FakeTelegram::start().await;
        let server = Server::start_with(options).await;
        let boot = server.bootstrap(EMAIL, PASSWORD, WORKSPACE).await;
        let mut api = Api::new(server.base_url());
        api.login(EMAIL, PASSWORD).await;
        Env {
            fake,
            api,
            hooks: Webhooks::new(),
            workspace_id: boot.workspace_id,
            user_id: boot.user_id,
            server,
        }
    }

    /// A fresh client, logged in again: after a restart, pooled connections
    /// point at the dead process and tokens need not survive one.
    pub async fn relogin(&mut self) {
        let mut api = Api::new(self.server.base_url());
        api.login(EMAIL, PASSWORD).await;
        self.api = api;
        self.hooks = Webhooks::new();
    }

    pub fn ws(&self) -> &str {
        &self.workspace_id
    }

    /// Connects a Telegram channel against the fake and returns it with the
    /// secret token the plugin registered through setWebhook.
    pub async fn connect_telegram(&self, name: &str) -> Channel {
        let before = self.fake.calls("setWebhook").len();
        let resp = self
            .api
            .create_channel(
                self.ws(),
                &json!({
                    "provider": "telegram",
                    "name": name,
                    "config": {"bot_token": BOT_TOKEN, "api_base": self.fake.api_base()},
                }),
            )
            .await;
        let created = resp.expect(201, "connect a telegram channel");
        let set_webhook = self.fake.calls("setWebhook");
        assert_eq!(
            set_webhook.len(),
            before + 1,
            "connect must call setWebhook once; fake saw {set_webhook:#?}"
        );
        let secret = set_webhook.last().unwrap().body["secret_token"]
            .as_str()
            .map(str::to_string);
        channel_from(created, secret)
    }

    /// Connects a website widget channel with `config`; returns the created
    /// channel and its embed tag.
    pub async fn connect_website(&self, config: Value) -> (Value, String) {
        let created = self
            .api
            .create_channel(
                self.ws(),
                &json!({"provider": "website", "name": "Shop chat", "config": config}),
            )
            .await
            .expect(201, "connect the website widget");
        let embed = created["embed"]
            .as_str()
            .expect("a website channel has an embed tag")
            .to_string();
        (created, embed)
    }

    /// Connects a chaos channel (no outbound calls at connect).
    pub async fn connect_chaos(&self, target_url: &str) -> Channel {
        let created = self
            .api
            .create_channel(
                self.ws(),
                &json!({
                    "provider": "chaos",
                    "name": "chaos",
                    "config": {"target_url": target_url},
                }),
            )
            .await
            .expect(201, "connect a chaos channel");
        channel_from(created, None)
    }

    /// Waits for a conversation of `channel_id` whose contact has this name.
    pub async fn wait_conversation(&self, channel_id: &str, contact_name: &str) -> Value {
        let what = format!("a conversation on channel {channel_id} with {contact_name:?}");
        eventually(&what, PROCESSING_TIMEOUT, || async {
            let all = self.api.conversations(self.ws()).await;
            all.iter()
                .find(|c| {
                    c["channel_id"].as_str() == Some(channel_id)
                        && c["contact"]["name"].as_str() == Some(contact_name)
                })
                .cloned()
                .ok_or_else(|| pretty(&all))
        })
        .await
    }

    /// Conversations of one channel.
    pub async fn conversations_of(&self, channel_id: &str) -> Vec<Value> {
        self.api
            .conversations(self.ws())
            .await
            .into_iter()
            .filter(|c| c["channel_id"].as_str() == Some(channel_id))
            .collect()
    }

    /// Waits until the messages of a conversation satisfy `ready`, returns them.
    pub async fn wait_messages(
        &self,
        conversation_id: &str,
        what: &str,
        ready: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        eventually(what, PROCESSING_TIMEOUT, || async {
            let messages = self.api.messages(conversation_id).await;
            if ready(&messages) {
                Ok(messages)
            } else {
                Err(pretty(&messages))
            }
        })
        .await
    }

    /// Waits until the conversation holds a message with this text.
    pub async fn wait_message_text(&self, conversation_id: &str, text: &str) -> Vec<Value> {
        let what = format!("a message {text:?} in conversation {conversation_id}");
        self.wait_messages(conversation_id, &what, |all| {
            all.iter().any(|m| m["text"].as_str() == Some(text))
        })
        .await
    }

    /// Waits until one message leaves "pending" and returns it.
    pub async fn wait_message_settled(&self, conversation_id: &str, message_id: &str) -> Value {
        self.wait_message_settled_within(conversation_id, message_id, PROCESSING_TIMEOUT)
            .await
    }

    /// As [`Env::wait_message_settled`], with its own timeout.
    pub async fn wait_message_settled_within(
        &self,
        conversation_id: &str,
        message_id: &str,
        timeout: Duration,
    ) -> Value {
        let what = format!("message {message_id} to become sent or failed");
        eventually(&what, timeout, || async {
            let messages = self.api.messages(conversation_id).await;
            let message = messages
                .iter()
                .find(|m| m["id"].as_str() == Some(message_id))
                .cloned();
            match message {
                Some(m) if matches!(m["status"].as_str(), Some("sent" | "failed")) => Ok(m),
                _ => Err(pretty(&messages)),
            }
        })
        .await
    }

    /// Posts an operator reply, checks the 202 answer and returns the message.
    pub async fn reply(&self, conversation_id: &str, text: &str) -> Value {
        let message = self
            .api
            .send_message(conversation_id, text)
            .await
            .expect(202, "post a reply");
        assert_eq!(message["direction"], "out", "{message:#}");
        assert_eq!(message["text"], text, "{message:#}");
        assert_eq!(message["status"], "pending", "{message:#}");
        assert!(message["id"].is_string(), "{message:#}");
        message
    }
}

fn channel_from(created: Value, secret: Option<String>) -> Channel {
    let id = str_of(&created, "id").unwrap_or_else(|| panic!("channel without id: {created:#}"));
    let webhook_url = created["webhook_url"]
        .as_str()
        .unwrap_or_else(|| panic!("channel without webhook_url: {created:#}"))
        .to_string();
    Channel {
        id,
        webhook_url,
        secret,
        created,
    }
}
