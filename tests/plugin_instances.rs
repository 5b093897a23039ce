//! Instances kept warm between calls: reused only for the same channel
//! account and configuration, never after a failure.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchboard::plugin::engine::PluginEngine;
use switchboard::plugin::types::{Channel, IncomingRequest, Verdict};
use switchboard::plugin::{Loader, OperatorLimits, Plugin};

fn chaos() -> Arc<Plugin> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .expect("host/ sits in the workspace")
        .join("target/test-plugins/chaos.wasm");
    let bytes = std::fs::read(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run scripts/build-plugins.sh first",
            path.display()
        )
    });
    let engine = PluginEngine::new().expect("engine");
    let loader =
        Loader::new(engine, reqwest::Client::new(), OperatorLimits::default()).expect("loader");
    Arc::new(loader.load_bytes(&bytes, &path).expect("chaos loads"))
}

fn channel(id: &str, token: &str) -> Channel {
    Channel {
        id: id.into(),
        workspace_id: "ws".into(),
        provider_account_id: "acct".into(),
        config: vec![("token".into(), token.into())],
        webhook_secret: "secret".into(),
        webhook_url: format!("http://127.0.0.1/webhooks/chaos/{id}"),
    }
}

fn request(body: &str) -> IncomingRequest {
    IncomingRequest {
        method: "POST".into(),
        path: "/webhooks/chaos/x".into(),
        query: String::new(),
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
    }
}

async fn accepted(plugin: &Arc<Plugin>, channel: Channel, body: &str) -> bool {
    matches!(
        plugin.verify(channel, request(body)).await,
        Ok(Verdict::Accept(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_are_parked_per_channel_and_configuration() {
    let plugin = chaos();
    assert_eq!(plugin.warm_instances(), 0);

    assert!(accepted(&plugin, channel("a", "t1"), "hello").await);
    assert_eq!(plugin.warm_instances(), 1, "parked after a clean call");
    assert!(accepted(&plugin, channel("a", "t1"), "again").await);
    assert_eq!(plugin.warm_instances(), 1, "the same channel reused it");

    assert!(accepted(&plugin, channel("b", "t1"), "hello").await);
    assert_eq!(plugin.warm_instances(), 2, "another channel got its own");
    assert!(accepted(&plugin, channel("a", "t2"), "hello").await);
    assert_eq!(
        plugin.warm_instances(),
        3,
        "a changed configuration got its own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_is_never_parked() {
    let plugin = chaos();
    assert!(accepted(&plugin, channel("a", "t1"), "hello").await);
    assert_eq!(plugin.warm_instances(), 1);
    // The parked instance is taken for this call, traps, and is dropped.
    let panicked = plugin
        .verify(channel("a", "t1"), request("verify-panic"))
        .await;
    assert!(panicked.is_err(), "{panicked:?}");
    assert_eq!(plugin.warm_instances(), 0, "the trapped instance is gone");
    // The next call gets a fresh instance and works.
    assert!(accepted(&plugin, channel("a", "t1"), "after").await);
    assert_eq!(plugin.warm_instances(), 1);
}
