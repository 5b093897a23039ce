//! Plugins installed, refused and removed while the server runs: through the
//! API and through the watched plugins directory; and signed plugins. (The conformance suite's
//! `webhook_json_installed_at_runtime` proves an installed provider works
//! end to end; this suite covers the lifecycle around it.)

mod support;

use std::time::Duration;

use serde_json::{json, Value};

use support::server::Plugins;
use support::{eventually, pretty, Env};

/// The example provider, built outside the workspace by its own script.
fn example_component() -> Vec<u8> {
    let path = support::workspace_root().join(
        "examples/webhook-json/target/wasm32-wasip2/release/switchboard_provider_webhook_json.wasm",
    );
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build it with examples/webhook-json/build.sh (scripts/test.sh does)",
            path.display()
        )
    })
}

fn listed(plugins: &[Value], id: &str) -> bool {
    plugins.iter().any(|plugin| plugin["id"] == id)
}

#[tokio::test]
async fn an_uploaded_plugin_is_refused_with_its_reason_or_installed_and_removed_when_unused() {
    let env = Env::start_with(Plugins::Private).await;

    // Anonymous uploads are refused; so is anything that is not a plugin.
    let anonymous = support::api::Api::new(env.server.base_url())
        .install_plugin(example_component())
        .await;
    assert_eq!(anonymous.status.as_u16(), 401);
    let garbage = env.api.install_plugin(b"not a component".to_vec()).await;
    let reason = garbage.expect_error(400, "a garbage upload");
    assert!(reason.contains("not a WebAssembly component"), "{reason}");
    let core_module = env.api.install_plugin(b"\0asm\x01\0\0\0".to_vec()).await;
    let reason = core_module.expect_error(400, "a core module upload");
    assert!(reason.contains("core wasm module"), "{reason}");

    let installed = env
        .api
        .install_plugin(example_component())
        .await
        .expect(201, "install the example provider");
    assert_eq!(installed["id"], "webhook-json");
    assert_eq!(installed["replaced"], false);
    let file = env
        .server
        .plugins_dir()
        .join(installed["file"].as_str().unwrap());
    assert!(
        file.exists(),
        "written to the plugins directory: {}",
        file.display()
    );
    let again = env
        .api
        .install_plugin(example_component())
        .await
        .expect(201, "install the same version again");
    assert_eq!(
        again["replaced"], true,
        "the same id and version replaces itself"
    );

    // A channel uses it: removal is refused and names the channel.
    let channel = env
        .api
        .create_channel(
            env.ws(),
            &json!({"provider": "webhook-json", "name": "CRM inbox", "config": {
                "account_id": "crm-1", "signing_secret": "a-long-enough-secret", "api_base": "http://127.0.0.1:9"}}),
        )
        .await
        .expect(201, "connect a channel of the installed provider");
    let refused = env.api.delete("/api/v1/plugins/webhook-json").await;
    let reason = refused.expect_error(409, "remove a plugin in use");
    assert!(
        reason.contains("CRM inbox"),
        "the refusal names the channel: {reason}"
    );

    env.api
        .delete_channel(env.ws(), channel["id"].as_str().unwrap())
        .await;
    let removed = env.api.delete("/api/v1/plugins/webhook-json").await;
    assert_eq!(removed.status.as_u16(), 204, "{}", removed.body);
    assert!(!listed(&env.api.plugins().await, "webhook-json"));
    assert!(!file.exists(), "its file is gone too");
    let webhook = channel["webhook_url"].as_str().unwrap();
    let after = reqwest::Client::new()
        .post(webhook)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 404, "no provider, no webhook");
}

#[tokio::test]
async fn a_file_dropped_into_the_plugins_directory_is_loaded_and_unloaded_without_restart() {
    let env = Env::start_with(Plugins::Private).await;
    let pid = env.server.pid();
    let dropped = env.server.plugins_dir().join("dropped-in.wasm");
    std::fs::write(&dropped, example_component()).unwrap();
    eventually(
        "the dropped plugin to be listed",
        Duration::from_secs(20),
        || async {
            let plugins = env.api.plugins().await;
            if listed(&plugins, "webhook-json") {
                Ok(())
            } else {
                Err(pretty(&plugins))
            }
        },
    )
    .await;

    // A broken file is refused with its reason; the rest keeps working.
    let broken = env.server.plugins_dir().join("broken.wasm");
    std::fs::write(&broken, b"\0asm\x0d\0\x01\0truncated").unwrap();
    eventually(
        "the broken file to be reported",
        Duration::from_secs(20),
        || async {
            let refused = env.api.get("/api/v1/plugins/refused").await.json();
            let found = refused.as_array().into_iter().flatten().any(|r| {
                r["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("broken.wasm"))
            });
            if found {
                Ok(())
            } else {
                Err(refused.to_string())
            }
        },
    )
    .await;
    assert!(listed(&env.api.plugins().await, "telegram"));

    std::fs::remove_file(&dropped).unwrap();
    eventually(
        "the removed plugin to be unlisted",
        Duration::from_secs(20),
        || async {
            let plugins = env.api.plugins().await;
            if listed(&plugins, "webhook-json") {
                Err(pretty(&plugins))
            } else {
                Ok(())
            }
        },
    )
    .await;
    assert_eq!(env.server.pid(), pid, "no restart");
}

#[tokio::test]
async fn with_signatures_required_only_components_signed_by_a_trusted_key_load() {
    use ed25519_dalek::{Signer, SigningKey};
    use sha2::{Digest, Sha256};

    let trusted = SigningKey::from_bytes(&[7; 32]);
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let mut options = support::server::ServerOptions::new(Plugins::Private);
    options.env = vec![
        (
            "SWITCHBOARD_PLUGIN_TRUSTED_KEYS".into(),
            hex::encode(trusted.verifying_key().to_bytes()),
        ),
        ("SWITCHBOARD_PLUGIN_REQUIRE_SIGNATURE".into(), "true".into()),
    ];
    let env = Env::start_with_options(options).await;

    // The unsigned production plugins in the directory were refused at start.
    let refused = env.api.get("/api/v1/plugins/refused").await.json();
    let telegram = refused
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            r["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("telegram.wasm"))
        })
        .unwrap_or_else(|| panic!("telegram.wasm is reported as refused: {refused}"));
    assert!(
        telegram["reason"].as_str().unwrap().contains("unsigned"),
        "{telegram}"
    );

    let component = example_component();
    let digest = Sha256::digest(&component);
    let upload = |signature: Option<String>| {
        let env = &env;
        let component = component.clone();
        async move {
            let mut request = reqwest::Client::new()
                .post(format!("{}/api/v1/plugins", env.server.base_url()))
                .bearer_auth(env.api.token().unwrap())
                .body(component);
            if let Some(signature) = signature {
                request = request.header("x-plugin-signature", signature);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = upload(None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("unsigned"),
        "{body}"
    );
    let (status, body) = upload(Some(hex::encode(stranger.sign(&digest).to_bytes()))).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("does not match"),
        "{body}"
    );
    // A signature over other bytes than this component's digest.
    let (status, _) = upload(Some(hex::encode(
        trusted.sign(b"another component").to_bytes(),
    )))
    .await;
    assert_eq!(status, 400);

    let (status, body) = upload(Some(hex::encode(trusted.sign(&digest).to_bytes()))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["signed_by"].as_str(),
        Some(&hex::encode(trusted.verifying_key().to_bytes())[..16]),
        "the API shows which trusted key signed it"
    );
    let sig_file = env
        .server
        .plugins_dir()
        .join(format!("{}.sig", body["file"].as_str().unwrap()));
    assert!(
        sig_file.exists(),
        "the signature is kept beside the component"
    );
    assert!(listed(&env.api.plugins().await, "webhook-json"));
}

/// The example provider released as 0.2.0 (`build.sh --as-version 0.2.0`).
fn example_component_v2() -> Vec<u8> {
    let path = support::workspace_root()
        .join("examples/webhook-json/target/versions/0.2.0/switchboard_provider_webhook_json.wasm");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build it with examples/webhook-json/build.sh --as-version 0.2.0 (scripts/test.sh does)",
            path.display()
        )
    })
}

/// Waits until some conversation holds a message with this text.
async fn wait_text(env: &Env, text: &str) {
    eventually(
        &format!("message {text:?}"),
        Duration::from_secs(20),
        || async {
            let conversations = env.api.conversations(env.ws()).await;
            for conversation in &conversations {
                let messages = env.api.messages(conversation["id"].as_str().unwrap()).await;
                if messages.iter().any(|m| m["text"] == text) {
                    return Ok(());
                }
            }
            Err(pretty(&conversations))
        },
    )
    .await
}

/// Calls of the example provider's `call` at `version` so far.
async fn calls_at(env: &Env, version: &str, call: &str) -> f64 {
    env.api.metrics().await.sum(
        "switchboard_plugin_calls_total",
        &[
            ("plugin", "webhook-json"),
            ("version", version),
            ("call", call),
        ],
    )
}

#[tokio::test]
async fn two_versions_side_by_side_the_latest_serves_unless_the_workspace_pins_one() {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    let env = Env::start_with(Plugins::Private).await;
    env.api
        .install_plugin(example_component())
        .await
        .expect(201, "install 0.1.0");
    let upgraded = env
        .api
        .install_plugin(example_component_v2())
        .await
        .expect(201, "install 0.2.0 beside it");
    assert_eq!(upgraded["version"], "0.2.0");
    let plugins = env.api.plugins().await;
    let listed = plugins.iter().find(|p| p["id"] == "webhook-json").unwrap();
    assert_eq!(
        listed["version"], "0.2.0",
        "the latest is listed first-class"
    );
    let versions: Vec<&str> = listed["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["version"].as_str())
        .collect();
    assert_eq!(versions, ["0.1.0", "0.2.0"], "both versions are installed");

    let secret = "a-long-enough-secret";
    let channel = env
        .api
        .create_channel(
            env.ws(),
            &json!({"provider": "webhook-json", "name": "CRM", "config": {
                "account_id": "crm-7", "signing_secret": secret, "api_base": "http://127.0.0.1:9"}}),
        )
        .await
        .expect(201, "connect a channel");
    let url = channel["webhook_url"].as_str().unwrap().to_string();
    let post = |event_id: &'static str| {
        let url = url.clone();
        async move {
            let body =
                json!({"event_id": event_id, "type": "message", "timestamp": 1_767_268_800_000u64,
                "thread": {"id": "t-1", "kind": "direct"}, "sender": {"id": "u-1", "name": "Olga"},
                "message": {"id": event_id, "text": format!("hello {event_id}")}})
                .to_string();
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(body.as_bytes());
            let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            let response = reqwest::Client::new()
                .post(&url)
                .header("content-type", "application/json")
                .header("x-switchboard-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
        }
    };
    // Unpinned: 0.2.0 verifies and normalizes.
    post("e-1").await;
    wait_text(&env, "hello e-1").await;
    assert!(calls_at(&env, "0.2.0", "normalize").await >= 1.0);
    assert_eq!(calls_at(&env, "0.1.0", "verify").await, 0.0);

    // Pinned to 0.1.0: the workspace's calls go to 0.1.0 only.
    let pinned = env
        .api
        .put(
            &format!("/api/v1/workspaces/{}/plugins/webhook-json", env.ws()),
            &json!({"version": "0.1.0"}),
        )
        .await
        .expect(200, "pin 0.1.0");
    assert_eq!(pinned["serving_version"], "0.1.0");
    let unknown = env
        .api
        .put(
            &format!("/api/v1/workspaces/{}/plugins/webhook-json", env.ws()),
            &json!({"version": "9.9.9"}),
        )
        .await;
    unknown.expect_error(400, "pin a version that is not installed");
    let v2_before =
        calls_at(&env, "0.2.0", "verify").await + calls_at(&env, "0.2.0", "normalize").await;
    post("e-2").await;
    wait_text(&env, "hello e-2").await;
    assert!(
        calls_at(&env, "0.1.0", "verify").await >= 1.0,
        "0.1.0 verified"
    );
    assert!(
        calls_at(&env, "0.1.0", "normalize").await >= 1.0,
        "0.1.0 normalized"
    );
    assert_eq!(
        calls_at(&env, "0.2.0", "verify").await + calls_at(&env, "0.2.0", "normalize").await,
        v2_before,
        "0.2.0 served nothing for the pinned workspace"
    );

    // A pinned version cannot be removed; unpinned, it can.
    let refused = env
        .api
        .delete("/api/v1/plugins/webhook-json/versions/0.1.0")
        .await;
    let reason = refused.expect_error(409, "remove a pinned version");
    assert!(reason.contains("pins 0.1.0"), "{reason}");
    env.api
        .put(
            &format!("/api/v1/workspaces/{}/plugins/webhook-json", env.ws()),
            &json!({"version": null}),
        )
        .await
        .expect(200, "unpin");
    let removed = env
        .api
        .delete("/api/v1/plugins/webhook-json/versions/0.1.0")
        .await;
    assert_eq!(removed.status.as_u16(), 204, "{}", removed.body);
    post("e-3").await;
    wait_text(&env, "hello e-3").await;
    let versions: Vec<String> = env
        .api
        .plugins()
        .await
        .iter()
        .find(|p| p["id"] == "webhook-json")
        .map(|p| {
            p["versions"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|v| v["version"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap();
    assert_eq!(versions, ["0.2.0"]);
}
