//! The conformance suite: the same scenarios against every provider plugin,
//! driven by the vectors in `tests/conformance/<provider>.json` (their format
//! is in `tests/conformance/README.md`).
//!
//! Each provider gets a server with the production plugins, a fake provider
//! API scripted by its vectors, and one channel connected through the API.
//! The scenarios run in order on that channel: handshake, forged webhook,
//! message (3 deliveries), edit, operator reply, echo, reaction, media,
//! status, unknown event, malformed body. Before each check the runner waits
//! until the pipeline has settled: every accepted webhook normalized and
//! every normalized event applied.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

use support::api::Resp;
use support::fake_provider::{FakeProvider, Route};
use support::metrics::Metrics;
use support::server::Plugins;
use support::{eventually, pretty, Env, PROCESSING_TIMEOUT};

#[derive(Deserialize)]
struct Vectors {
    provider: String,
    config: BTreeMap<String, Value>,
    fake_api: Vec<Route>,
    auth: Auth,
    accepted: Accepted,
    handshake: Maybe<Handshake>,
    send: Send,
    health: Health,
    cases: Cases,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum Auth {
    Header {
        header: String,
        secret_from: SecretFrom,
    },
    HmacSha256 {
        header: String,
        prefix: String,
        secret_config: String,
    },
    BodySecret {
        secret_from: SecretFrom,
    },
}

/// Where the plugin registered the webhook secret at connect.
#[derive(Deserialize)]
struct SecretFrom {
    path: String,
    param: String,
}

#[derive(Deserialize)]
struct Accepted {
    status: u16,
    body: Option<String>,
}

/// A scenario the provider has, or the reason it has none.
#[derive(Deserialize)]
#[serde(untagged)]
enum Maybe<T> {
    Absent { absent: String },
    Present(T),
}

#[derive(Deserialize)]
struct Handshake {
    method: String,
    query: String,
    body: Option<Value>,
    expect_status: u16,
    expect_body: String,
}

#[derive(Deserialize)]
struct Send {
    expect_provider_message_id: String,
}

/// What the channel's health check (contract 0.2.0) must say.
#[derive(Deserialize)]
struct Health {
    expect_state: String,
    expect_detail: Option<String>,
}

#[derive(Deserialize)]
struct Cases {
    message: Case,
    edit: Maybe<Case>,
    echo: Maybe<Case>,
    reaction: Maybe<Case>,
    media: Case,
    status: Maybe<Case>,
    unknown: Case,
    malformed: Malformed,
}

#[derive(Deserialize)]
struct Case {
    body: Value,
    #[serde(default)]
    expect: Expect,
}

#[derive(Deserialize, Default)]
struct Expect {
    provider_message_id: Option<String>,
    text: Option<String>,
    emoji: Option<String>,
    attachment_kind: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct Malformed {
    raw: String,
    expect_status: u16,
}

fn load(path: &std::path::Path) -> Vectors {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// The vectors of an in-tree provider.
fn vectors_of(provider: &str) -> std::path::PathBuf {
    support::workspace_root()
        .join("tests/conformance")
        .join(format!("{provider}.json"))
}

/// One provider's run: the server, the fake, the connected channel.
struct Run {
    env: Env,
    channel_id: String,
    fake: FakeProvider,
    vectors: Vectors,
    webhook_url: String,
    webhook_secret: Option<String>,
    config: BTreeMap<String, String>,
    http: reqwest::Client,
}

impl Run {
    fn provider(&self) -> &str {
        &self.vectors.provider
    }

    fn note(&self, scenario: &str, what: &str) {
        eprintln!("conformance {}: {scenario}: {what}", self.provider());
    }

    /// The body with `{{webhook_secret}}` filled in.
    fn render(&self, body: &Value, secret: Option<&str>) -> Vec<u8> {
        let text = body.to_string();
        let secret = secret
            .or(self.webhook_secret.as_deref())
            .unwrap_or_default();
        text.replace("{{webhook_secret}}", secret).into_bytes()
    }

    async fn post_raw(&self, body: Vec<u8>, forged: bool) -> Resp {
        let mut request = self
            .http
            .post(&self.webhook_url)
            .header("content-type", "application/json");
        match &self.vectors.auth {
            Auth::Header { header, .. } => {
                let secret = match forged {
                    true => "forged-secret".to_string(),
                    false => self.webhook_secret.clone().unwrap_or_default(),
                };
                request = request.header(header.as_str(), secret);
            }
            Auth::HmacSha256 {
                header,
                prefix,
                secret_config,
            } => {
                let key = match forged {
                    true => "forged-key".to_string(),
                    false => self.config.get(secret_config).cloned().unwrap_or_default(),
                };
                let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
                mac.update(&body);
                let signature = hex::encode(mac.finalize().into_bytes());
                request = request.header(header.as_str(), format!("{prefix}{signature}"));
            }
            Auth::BodySecret { .. } => {}
        }
        let response = request
            .body(body)
            .send()
            .await
            .expect("post a webhook to the server");
        Resp {
            status: response.status(),
            body: response.text().await.unwrap_or_default(),
            request: format!("POST {}", self.webhook_url),
        }
    }

    /// Posts a genuine webhook and checks the accepted answer.
    async fn deliver(&self, scenario: &str, body: &Value) {
        let resp = self.post_raw(self.render(body, None), false).await;
        let accepted = &self.vectors.accepted;
        assert_eq!(
            resp.status.as_u16(),
            accepted.status,
            "{} {scenario}: {} answered {} {}",
            self.provider(),
            resp.request,
            resp.status,
            resp.body
        );
        if let Some(expected) = &accepted.body {
            assert_eq!(
                &resp.body,
                expected,
                "{} {scenario}: answer body",
                self.provider()
            );
        }
    }

    async fn metrics(&self) -> Metrics {
        self.env.api.metrics().await
    }

    /// Waits until every accepted webhook of this provider was normalized and
    /// every normalized event applied; returns the metrics at that point.
    async fn settled(&self, scenario: &str) -> Metrics {
        let provider = self.provider().to_string();
        let what = format!("the {provider} pipeline to settle after {scenario}");
        eventually(&what, PROCESSING_TIMEOUT, || async {
            let m = self.metrics().await;
            let labels = [("provider", provider.as_str())];
            let accepted = m.sum("switchboard_webhooks_accepted_total", &labels);
            let normalized = m.sum("switchboard_webhooks_normalized_total", &labels);
            let events = m.sum("switchboard_events_normalized_total", &labels);
            let applied = m.sum("switchboard_events_applied_total", &labels);
            if accepted == normalized && events == applied {
                Ok(m)
            } else {
                Err(format!(
                    "accepted {accepted}, normalized {normalized}; events {events}, applied {applied}"
                ))
            }
        })
        .await
    }

    async fn dead_letters(&self) -> f64 {
        self.metrics()
            .await
            .sum("switchboard_deadletter_total", &[])
    }

    /// Every message of the workspace on this channel, across conversations.
    async fn messages(&self) -> Vec<Value> {
        let mut all = Vec::new();
        for conversation in self.env.api.conversations(self.env.ws()).await {
            let id = conversation["id"].as_str().unwrap_or_default();
            all.extend(self.env.api.messages(id).await);
        }
        all
    }

    async fn messages_with_id(&self, provider_message_id: &str) -> Vec<Value> {
        self.messages()
            .await
            .into_iter()
            .filter(|m| m["provider_message_id"].as_str() == Some(provider_message_id))
            .collect()
    }

    /// Waits until the one message with this provider id satisfies `ready`.
    async fn wait_message(
        &self,
        scenario: &str,
        provider_message_id: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let what = format!(
            "{} {scenario}: message {provider_message_id} as expected",
            self.provider()
        );
        eventually(&what, PROCESSING_TIMEOUT, || async {
            let found = self.messages_with_id(provider_message_id).await;
            match found.as_slice() {
                [one] if ready(one) => Ok(one.clone()),
                _ => Err(pretty(&self.messages().await)),
            }
        })
        .await
    }
}

fn required<'a>(value: &'a Option<String>, scenario: &str, field: &str) -> &'a str {
    value
        .as_deref()
        .unwrap_or_else(|| panic!("vector {scenario} needs expect.{field}"))
}

/// A server with the production plugins, then (when given) `install`
/// uploaded through `POST /api/v1/plugins` while it runs.
async fn start(vectors_path: &std::path::Path, install: Option<Vec<u8>>) -> Run {
    let vectors = load(vectors_path);
    let provider = vectors.provider.clone();
    let provider = provider.as_str();
    let fake = FakeProvider::start(vectors.fake_api.clone()).await;
    let env = match install {
        None => Env::start().await,
        Some(component) => {
            let env = Env::start_with(Plugins::Private).await;
            let installed = env
                .api
                .install_plugin(component)
                .await
                .expect(201, "install the plugin while the server runs");
            assert_eq!(installed["id"], provider, "the installed plugin's id");
            env
        }
    };
    let mut config: BTreeMap<String, String> = vectors
        .config
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_string)))
        .collect();
    config.insert("api_base".into(), fake.api_base());
    let created = env
        .api
        .create_channel(
            env.ws(),
            &json!({"provider": provider, "name": "Conformance", "config": config}),
        )
        .await
        .expect(
            201,
            &format!("connect a {provider} channel against the fake"),
        );
    let channel_id = created["id"]
        .as_str()
        .expect("the channel's id")
        .to_string();
    let webhook_url = created["webhook_url"]
        .as_str()
        .expect("the channel has a webhook URL")
        .to_string();
    let secret_from = match &vectors.auth {
        Auth::Header { secret_from, .. } | Auth::BodySecret { secret_from } => Some(secret_from),
        Auth::HmacSha256 { .. } => None,
    };
    let webhook_secret = secret_from.map(|from| {
        let registered = fake.requests_to(&from.path);
        let request = registered.last().unwrap_or_else(|| {
            panic!(
                "connect never called {} on the fake; it saw {:#?}",
                from.path,
                fake.requests()
            )
        });
        request.params()[&from.param]
            .as_str()
            .unwrap_or_else(|| panic!("{} carried no {}: {request:?}", from.path, from.param))
            .to_string()
    });
    Run {
        env,
        channel_id,
        fake,
        vectors,
        webhook_url,
        webhook_secret,
        config,
        http: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    }
}

async fn handshake(run: &Run) {
    let handshake = match &run.vectors.handshake {
        Maybe::Absent { absent } => return run.note("handshake", &format!("absent: {absent}")),
        Maybe::Present(handshake) => handshake,
    };
    let before = run.metrics().await;
    let url = format!("{}?{}", run.webhook_url, handshake.query);
    let method = reqwest::Method::from_bytes(handshake.method.as_bytes()).unwrap();
    let mut request = run.http.request(method, &url);
    if let Some(body) = &handshake.body {
        request = request
            .header("content-type", "application/json")
            .body(run.render(body, None));
    }
    let response = request.send().await.expect("send the handshake");
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(
        (status, body.as_str()),
        (handshake.expect_status, handshake.expect_body.as_str()),
        "{}: handshake answer",
        run.provider()
    );
    let after = run.metrics().await;
    let labels = [("provider", run.provider())];
    assert_eq!(
        after.sum("switchboard_webhooks_accepted_total", &labels),
        before.sum("switchboard_webhooks_accepted_total", &labels),
        "{}: a handshake stores nothing",
        run.provider()
    );
}

async fn forged_is_refused_before_anything_is_queued(run: &Run) {
    let labels = [("provider", run.provider())];
    let before = run.metrics().await;
    let body = match &run.vectors.auth {
        Auth::BodySecret { .. } => {
            run.render(&run.vectors.cases.message.body, Some("forged-secret"))
        }
        _ => run.render(&run.vectors.cases.message.body, None),
    };
    let resp = run.post_raw(body, true).await;
    assert!(
        matches!(resp.status.as_u16(), 401 | 403),
        "{}: a forged webhook is refused with 401 or 403, got {} {}",
        run.provider(),
        resp.status,
        resp.body
    );
    let after = run.metrics().await;
    assert_eq!(
        after.sum("switchboard_webhooks_accepted_total", &labels),
        before.sum("switchboard_webhooks_accepted_total", &labels),
        "{}: nothing was queued for the forged webhook",
        run.provider()
    );
    assert!(
        run.messages().await.is_empty(),
        "{}: nothing stored",
        run.provider()
    );
}

async fn message_delivered_three_times_is_one_message(run: &Run) {
    let case = &run.vectors.cases.message;
    for _ in 0..3 {
        run.deliver("message", &case.body).await;
    }
    run.settled("message x3").await;
    let id = required(
        &case.expect.provider_message_id,
        "message",
        "provider_message_id",
    );
    let message = run
        .wait_message("message", id, |m| m["direction"] == "in")
        .await;
    assert_eq!(
        message["text"].as_str(),
        case.expect.text.as_deref(),
        "{}: message text",
        run.provider()
    );
    assert_eq!(
        run.messages().await.len(),
        1,
        "three deliveries, one message"
    );
}

async fn edit(run: &Run) {
    let case = match &run.vectors.cases.edit {
        Maybe::Absent { absent } => return run.note("edit", &format!("absent: {absent}")),
        Maybe::Present(case) => case,
    };
    run.deliver("edit", &case.body).await;
    run.settled("edit").await;
    let id = required(
        &case.expect.provider_message_id,
        "edit",
        "provider_message_id",
    );
    let text = case.expect.text.clone();
    let message = run
        .wait_message("edit", id, |m| m["text"].as_str() == text.as_deref())
        .await;
    assert!(
        !message["edited_at"].is_null(),
        "{}: an edit sets edited_at: {message}",
        run.provider()
    );
}

/// An operator reply through the API; returns its message id.
async fn reply(run: &Run) -> String {
    let conversation = run.env.api.conversations(run.env.ws()).await;
    let conversation_id = conversation[0]["id"].as_str().unwrap().to_string();
    let sent = run.env.reply(&conversation_id, "Conformance reply").await;
    let id = sent["id"].as_str().unwrap().to_string();
    let settled = run.env.wait_message_settled(&conversation_id, &id).await;
    assert_eq!(
        (
            settled["status"].as_str(),
            settled["provider_message_id"].as_str()
        ),
        (
            Some("sent"),
            Some(run.vectors.send.expect_provider_message_id.as_str())
        ),
        "{}: the reply went out through the fake: {settled}; fake saw {:#?}",
        run.provider(),
        run.fake.requests()
    );
    id
}

async fn echo_is_not_duplicated(run: &Run, reply_id: &str) {
    let case = match &run.vectors.cases.echo {
        Maybe::Absent { absent } => return run.note("echo", &format!("absent: {absent}")),
        Maybe::Present(case) => case,
    };
    let before = run.messages().await.len();
    run.deliver("echo", &case.body).await;
    run.settled("echo").await;
    let id = required(
        &case.expect.provider_message_id,
        "echo",
        "provider_message_id",
    );
    let rows = run.messages_with_id(id).await;
    assert_eq!(
        rows.len(),
        1,
        "{}: the echo of our reply is our reply: {}",
        run.provider(),
        pretty(&rows)
    );
    assert_eq!(
        rows[0]["id"].as_str(),
        Some(reply_id),
        "{}: the same row",
        run.provider()
    );
    assert_eq!(
        run.messages().await.len(),
        before,
        "{}: no new row",
        run.provider()
    );
}

async fn reaction(run: &Run) {
    let case = match &run.vectors.cases.reaction {
        Maybe::Absent { absent } => return run.note("reaction", &format!("absent: {absent}")),
        Maybe::Present(case) => case,
    };
    run.deliver("reaction", &case.body).await;
    run.settled("reaction").await;
    let id = required(
        &case.expect.provider_message_id,
        "reaction",
        "provider_message_id",
    );
    let emoji = required(&case.expect.emoji, "reaction", "emoji").to_string();
    run.wait_message("reaction", id, |m| {
        m["reactions"].as_array().is_some_and(|all| {
            all.iter()
                .any(|r| r["emoji"].as_str() == Some(emoji.as_str()))
        })
    })
    .await;
}

async fn media(run: &Run) {
    let case = &run.vectors.cases.media;
    run.deliver("media", &case.body).await;
    run.settled("media").await;
    let id = required(
        &case.expect.provider_message_id,
        "media",
        "provider_message_id",
    );
    let kind = required(&case.expect.attachment_kind, "media", "attachment_kind").to_string();
    run.wait_message("media", id, |m| {
        m["attachments"].as_array().is_some_and(|all| {
            all.iter()
                .any(|a| a["kind"].as_str() == Some(kind.as_str()))
        })
    })
    .await;
}

async fn status(run: &Run) {
    let case = match &run.vectors.cases.status {
        Maybe::Absent { absent } => return run.note("status", &format!("absent: {absent}")),
        Maybe::Present(case) => case,
    };
    run.deliver("status", &case.body).await;
    run.settled("status").await;
    let id = required(
        &case.expect.provider_message_id,
        "status",
        "provider_message_id",
    );
    let state = required(&case.expect.status, "status", "status").to_string();
    run.wait_message("status", id, |m| {
        m["status"].as_str() == Some(state.as_str())
    })
    .await;
}

async fn unknown_event_is_ignored(run: &Run) {
    let before = run.messages().await;
    let dead_before = run.dead_letters().await;
    run.deliver("unknown", &run.vectors.cases.unknown.body)
        .await;
    run.settled("unknown").await;
    assert_eq!(
        run.messages().await.len(),
        before.len(),
        "{}: an unknown event changes nothing",
        run.provider()
    );
    assert_eq!(
        run.dead_letters().await,
        dead_before,
        "{}: an unknown event is ignored, not dead-lettered",
        run.provider()
    );
}

/// The health endpoint asks the plugin (0.2.0 components) or says the
/// component's contract cannot answer (0.1.0), without failing either way.
async fn connection_health(run: &Run) {
    let listed = run.env.api.plugins().await;
    let contract = listed
        .iter()
        .find(|plugin| plugin["id"] == run.provider())
        .and_then(|plugin| plugin["contract_version"].as_str())
        .unwrap_or_else(|| panic!("{} is listed: {}", run.provider(), pretty(&listed)))
        .to_string();
    let health = run
        .env
        .api
        .get(&format!(
            "/api/v1/workspaces/{}/channels/{}/health",
            run.env.ws(),
            run.channel_id
        ))
        .await
        .expect(200, "ask the channel's health");
    assert_eq!(
        health["supported"],
        contract != "0.1.0",
        "contract {contract}: {health:#}"
    );
    assert_eq!(health["contract_version"], contract.as_str(), "{health:#}");
    assert_eq!(
        health["state"],
        run.vectors.health.expect_state.as_str(),
        "{health:#}"
    );
    if let Some(detail) = &run.vectors.health.expect_detail {
        assert!(
            health["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(detail.as_str()),
            "detail should mention {detail:?}: {health:#}"
        );
    }
    run.note(
        "health",
        &format!("contract {contract}: {}", health["state"]),
    );
}

async fn malformed_is_a_clear_4xx(run: &Run) {
    let malformed = &run.vectors.cases.malformed;
    let resp = run
        .post_raw(malformed.raw.clone().into_bytes(), false)
        .await;
    assert!(
        (400..500).contains(&malformed.expect_status),
        "the vector expects a 4xx"
    );
    resp.expect_error(
        malformed.expect_status,
        &format!("{} malformed body", run.provider()),
    );
}

async fn conformance(provider: &str) {
    scenarios(start(&vectors_of(provider), None).await).await;
}

/// Every scenario in order; hands the server back for more checks.
async fn scenarios(run: Run) -> Env {
    let provider = run.provider().to_string();
    handshake(&run).await;
    forged_is_refused_before_anything_is_queued(&run).await;
    message_delivered_three_times_is_one_message(&run).await;
    edit(&run).await;
    let reply_id = reply(&run).await;
    echo_is_not_duplicated(&run, &reply_id).await;
    reaction(&run).await;
    media(&run).await;
    status(&run).await;
    unknown_event_is_ignored(&run).await;
    malformed_is_a_clear_4xx(&run).await;
    connection_health(&run).await;
    assert_eq!(
        run.dead_letters().await,
        0.0,
        "{}: no vector dead-letters",
        provider
    );
    run.env
}

macro_rules! conformance {
    ($($provider:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $provider() {
                conformance(stringify!($provider)).await;
            }
        )*
    };
}

conformance!(telegram, instagram, vk, whatsapp);

/// A component built outside the workspace, by the script `how` names.
fn built_component(relative: &str, how: &str) -> Vec<u8> {
    let path = support::workspace_root().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; build it with {how}", path.display()))
}

/// The plugin platform's proof: a fifth provider built outside the host's
/// workspace (`examples/webhook-json`, built by its own `build.sh`) is
/// installed into a running server through the API and passes the same
/// scenarios (webhooks in, a reply out), while the host binary is the same
/// file before and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_json_installed_at_runtime() {
    let root = support::workspace_root();
    let component = built_component(
        "examples/webhook-json/target/wasm32-wasip2/release/switchboard_provider_webhook_json.wasm",
        "examples/webhook-json/build.sh (scripts/test.sh does)",
    );
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_switchboard"));
    let digest = |path: &std::path::Path| {
        hex::encode(<Sha256 as sha2::Digest>::digest(
            std::fs::read(path).expect("read the host binary"),
        ))
    };
    let before = digest(binary);
    let run = start(
        &root.join("examples/webhook-json/conformance.json"),
        Some(component.clone()),
    )
    .await;
    let pid = run.env.server.pid();
    let listed = run.env.api.plugins().await;
    let installed = listed
        .iter()
        .find(|p| p["id"] == "webhook-json")
        .unwrap_or_else(|| panic!("the installed plugin is listed: {}", pretty(&listed)));
    assert_eq!(
        installed["sha256"].as_str(),
        Some(hex::encode(<Sha256 as sha2::Digest>::digest(&component)).as_str()),
        "the digest of the uploaded component is recorded and shown"
    );
    let env = scenarios(run).await;
    assert_eq!(env.server.pid(), pid, "no restart");
    assert_eq!(digest(binary), before, "the host binary did not change");
}

/// Contract versions side by side: the same fifth provider built against the
/// older contract (`build.sh --contract 0.1.0`) is installed beside the
/// built-in providers, which are 0.2.0 components, and passes the same
/// scenarios; its health check says the contract cannot answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_json_on_the_older_contract() {
    let root = support::workspace_root();
    let component = built_component(
        "examples/webhook-json/target/contracts/0.1.0/switchboard_provider_webhook_json.wasm",
        "examples/webhook-json/build.sh --contract 0.1.0 (scripts/test.sh does)",
    );
    let run = start(
        &root.join("examples/webhook-json/conformance.json"),
        Some(component),
    )
    .await;
    let listed = run.env.api.plugins().await;
    let contract_of = |id: &str| {
        listed
            .iter()
            .find(|plugin| plugin["id"] == id)
            .map(|plugin| plugin["contract_version"].clone())
            .unwrap_or_else(|| panic!("{id} is listed: {}", pretty(&listed)))
    };
    assert_eq!(contract_of("webhook-json"), "0.1.0");
    for built_in in ["telegram", "instagram", "vk", "whatsapp"] {
        assert_eq!(contract_of(built_in), "0.2.0", "{built_in}");
    }
    scenarios(run).await;
}

/// The stretch goal of the plugin platform: the same fifth provider written
/// in a second language (Python, `examples/webhook-json-py`, built into a
/// component with componentize-py by its own `build.sh`) is installed into a
/// running server and passes the same vectors as the Rust build, unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_json_in_python() {
    let root = support::workspace_root();
    let component = built_component(
        "examples/webhook-json-py/target/webhook_json_py.wasm",
        "examples/webhook-json-py/build.sh (needs python3; it installs componentize-py)",
    );
    let run = start(
        &root.join("examples/webhook-json/conformance.json"),
        Some(component),
    )
    .await;
    let listed = run.env.api.plugins().await;
    let installed = listed
        .iter()
        .find(|plugin| plugin["id"] == "webhook-json")
        .unwrap_or_else(|| panic!("the installed plugin is listed: {}", pretty(&listed)));
    assert_eq!(installed["contract_version"], "0.2.0", "{installed:#}");
    let env = scenarios(run).await;
    // What an interpreter in the sandbox costs per call (instantiation
    // included when a call made the instance), for the example's README.
    let metrics = env.api.metrics().await;
    for call in ["connect", "verify", "normalize", "send", "check_connection"] {
        let labels = [("plugin", "webhook-json"), ("call", call)];
        let count = metrics.sum("switchboard_plugin_call_seconds_count", &labels);
        let seconds = metrics.sum("switchboard_plugin_call_seconds_sum", &labels);
        eprintln!(
            "webhook-json in Python: {call}: {count} calls, {:.1} ms on average",
            1000.0 * seconds / count.max(1.0)
        );
    }
}
