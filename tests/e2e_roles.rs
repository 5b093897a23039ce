//! Roles, enforced on the server: owners invite, owners and admins connect
//! channels and toggle plugins, agents read and reply. Every forbidden
//! action answers 403 and changes nothing.

mod support;

use serde_json::{json, Value};

use support::api::Api;
use support::fake_telegram::updates;
use support::Env;

/// Invites `email` with `role` as the owner, accepts with a new password and
/// returns a client signed in as that user.
async fn invited(env: &Env, email: &str, role: &str) -> Api {
    let invite = env
        .api
        .post(
            &format!("/api/v1/workspaces/{}/invites", env.ws()),
            &json!({"email": email, "role": role}),
        )
        .await
        .expect(201, "the owner invites");
    assert_eq!(invite["role"], role);
    let token = invite["token"].as_str().expect("an invitation token");
    let accepted = Api::new(env.server.base_url())
        .post(
            &format!("/api/v1/invites/{token}/accept"),
            &json!({"password": "a new password"}),
        )
        .await
        .expect(200, "accept the invitation");
    assert_eq!(accepted["workspace_id"], env.ws());
    assert!(accepted["token"].as_str().is_some_and(|t| !t.is_empty()));
    let mut api = Api::new(env.server.base_url());
    api.login(email, "a new password").await;
    api
}

fn forbidden(resp: support::api::Resp, what: &str) {
    resp.expect_error(403, what);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_are_owner_only_single_use_and_need_a_password() {
    let env = Env::start().await;
    let ws = env.ws();
    let invites = format!("/api/v1/workspaces/{ws}/invites");
    env.api
        .post(
            &invites,
            &json!({"email": "x@example.test", "role": "owner"}),
        )
        .await
        .expect_error(400, "a second owner cannot be invited");
    env.api
        .post(&invites, &json!({"email": "not-an-email", "role": "agent"}))
        .await
        .expect_error(400, "an email address is required");
    let invite = env
        .api
        .post(
            &invites,
            &json!({"email": "Ann@Example.test", "role": "agent"}),
        )
        .await
        .expect(201, "invite");
    let token = invite["token"].as_str().unwrap();
    let anonymous = Api::new(env.server.base_url());
    let accept = format!("/api/v1/invites/{token}/accept");
    anonymous
        .post(&accept, &json!({"password": "short"}))
        .await
        .expect_error(400, "a weak password is refused");
    anonymous
        .post(&accept, &json!({"password": "long enough"}))
        .await
        .expect(200, "accept");
    anonymous
        .post(&accept, &json!({"password": "long enough"}))
        .await
        .expect_error(409, "an invitation is used once");
    anonymous
        .post(
            "/api/v1/invites/not-a-token/accept",
            &json!({"password": "long enough"}),
        )
        .await
        .expect_error(404, "unknown invitation");

    // Inviting someone who already has an account needs their password.
    let again = env
        .api
        .post(&invites, &json!({"email": support::EMAIL, "role": "agent"}))
        .await
        .expect(201, "invite an existing user");
    anonymous
        .post(
            &format!(
                "/api/v1/invites/{}/accept",
                again["token"].as_str().unwrap()
            ),
            &json!({"password": "not their password"}),
        )
        .await
        .expect_error(403, "an existing account's password is required");

    let members = env
        .api
        .get(&format!("/api/v1/workspaces/{ws}/members"))
        .await
        .expect(200, "members");
    let roles: Vec<(String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        roles.contains(&("ann@example.test".into(), "agent".into())),
        "{roles:?}"
    );
    assert!(
        roles.contains(&(support::EMAIL.into(), "owner".into())),
        "{roles:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_forbidden_action_answers_403_and_changes_nothing() {
    let env = Env::start().await;
    let ws = env.ws().to_string();
    let channel = env.connect_telegram("Support bot").await;
    env.hooks
        .telegram(
            &channel.webhook_url,
            Some(channel.secret()),
            &updates::private_text(1, 501, 1, "Olga", "hi"),
        )
        .await
        .expect(200, "a webhook");
    let conversation = env.wait_conversation(&channel.id, "Olga").await;
    let conversation_id = conversation["id"].as_str().unwrap().to_string();
    let agent = invited(&env, "agent@example.test", "agent").await;
    let admin = invited(&env, "admin@example.test", "admin").await;

    let toggle = format!("/api/v1/workspaces/{ws}/plugins/telegram");
    let channel_path = format!("/api/v1/workspaces/{ws}/channels/{}", channel.id);
    let new_channel =
        json!({"provider": "telegram", "name": "Other", "config": {"bot_token": "1:x"}});
    let component = std::fs::read(support::built_plugin("plugins/vk.wasm")).unwrap();

    // Agents: read and reply only.
    forbidden(
        agent.put(&toggle, &json!({"enabled": false})).await,
        "agent toggles a plugin",
    );
    forbidden(
        agent.create_channel(&ws, &new_channel).await,
        "agent connects a channel",
    );
    forbidden(
        agent.delete(&channel_path).await,
        "agent disconnects a channel",
    );
    forbidden(
        agent.get(&format!("{channel_path}/health")).await,
        "agent checks channel health",
    );
    forbidden(
        agent
            .get(&format!(
                "/oauth/vk/start?workspace_id={ws}&name=VK&group_id=1"
            ))
            .await,
        "agent starts an OAuth connect",
    );
    forbidden(
        agent.get(&format!("/api/v1/workspaces/{ws}/members")).await,
        "agent lists members",
    );
    forbidden(
        agent
            .post(
                &format!("/api/v1/workspaces/{ws}/invites"),
                &json!({"email": "x@example.test", "role": "agent"}),
            )
            .await,
        "agent invites",
    );
    forbidden(
        agent.install_plugin(component.clone()).await,
        "agent installs a plugin",
    );
    forbidden(
        agent.delete("/api/v1/plugins/vk").await,
        "agent removes a plugin",
    );

    // Admins: channels and toggles, but not invitations or plugin files.
    forbidden(
        admin
            .post(
                &format!("/api/v1/workspaces/{ws}/invites"),
                &json!({"email": "x@example.test", "role": "agent"}),
            )
            .await,
        "admin invites",
    );
    forbidden(
        admin.install_plugin(component).await,
        "admin installs a plugin",
    );
    forbidden(
        admin.delete("/api/v1/plugins/vk").await,
        "admin removes a plugin",
    );

    // Nothing changed.
    let channels = env
        .api
        .get(&format!("/api/v1/workspaces/{ws}/channels"))
        .await
        .expect(200, "channels");
    assert_eq!(channels.as_array().map(Vec::len), Some(1), "{channels}");
    let plugins = env.api.plugins().await;
    assert!(
        plugins.iter().any(|p| p["id"] == "vk"),
        "vk is still installed"
    );
    let toggles = env
        .api
        .get(&format!("/api/v1/workspaces/{ws}/plugins"))
        .await
        .expect(200, "toggles");
    let telegram = toggles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plugin_id"] == "telegram")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(telegram["enabled"], true, "{toggles}");

    // What each role may do.
    agent
        .get(&format!("/api/v1/workspaces/{ws}/conversations"))
        .await
        .expect(200, "agent reads the inbox");
    agent
        .get(&format!("/api/v1/conversations/{conversation_id}/messages"))
        .await
        .expect(200, "agent reads a conversation");
    agent
        .post(
            &format!("/api/v1/conversations/{conversation_id}/messages"),
            &json!({"text": "On it"}),
        )
        .await
        .expect(202, "agent replies");
    admin
        .get(&format!("{channel_path}/health"))
        .await
        .expect(200, "admin checks channel health");
    admin
        .put(&toggle, &json!({"enabled": false}))
        .await
        .expect(200, "admin toggles a plugin");
}
