//! The web UI's server side: the pages are served by the host with strict
//! headers, and a browser session lives in an HttpOnly cookie that sign-out
//! ends.

mod support;

use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{json, Value};

use support::{Env, EMAIL, PASSWORD};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_assets_are_served_offline_with_strict_headers() {
    let env = Env::start().await;
    let http = client();
    let base = env.server.base_url();
    for page in [
        "/",
        "/login",
        "/settings/channels",
        "/settings/channels/telegram",
    ] {
        let resp = http.get(format!("{base}{page}")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{page}");
        let headers = resp.headers().clone();
        assert!(
            headers[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{page}: {headers:?}"
        );
        let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{page}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
        let html = resp.text().await.unwrap();
        assert!(html.contains("/assets/app.js"), "{page} loads the app");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{page}: nothing is loaded from elsewhere"
        );
    }
    let script = http
        .get(format!("{base}/assets/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let missing = http
        .get(format!("{base}/assets/nothing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// The cookie a login answer sets, as `name=value` for a Cookie header.
fn session_cookie(resp: &reqwest::Response) -> (String, String) {
    let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_string();
    let pair = set.split(';').next().unwrap().trim().to_string();
    (pair, set)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_session_lives_in_an_httponly_cookie_until_sign_out() {
    let env = Env::start().await;
    let http = client();
    let base = env.server.base_url();
    let login = |password: &'static str| {
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": EMAIL, "password": password}))
            .send()
    };
    assert_eq!(login("wrong").await.unwrap().status(), 401);
    let resp = login(PASSWORD).await.unwrap();
    assert_eq!(resp.status(), 200);
    let (cookie, set_cookie) = session_cookie(&resp);
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
    let token = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(cookie.ends_with(&token), "the cookie carries the session");

    let me = |cookie: String| {
        http.get(format!("{base}/api/v1/me"))
            .header(COOKIE, cookie)
            .send()
    };
    let resp = me(cookie.clone()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["email"], EMAIL);
    assert_eq!(body["workspaces"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["workspaces"][0]["id"], env.ws());
    assert_eq!(body["workspaces"][0]["role"], "owner");

    // Changes made with the cookie must come from this site: a reply with
    // a file is a multipart POST, which another site's page can send
    // without a preflight.
    let reply = |headers: &[(&str, String)]| {
        let mut request = http
            .post(format!("{base}/api/v1/conversations/no-such-id/messages"))
            .header(COOKIE, cookie.clone())
            .header(CONTENT_TYPE, "multipart/form-data; boundary=b")
            .body("--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--b--\r\n");
        for (name, value) in headers {
            request = request.header(*name, value.clone());
        }
        request.send()
    };
    let host = base.trim_start_matches("http://").to_string();
    for refused in [
        vec![("sec-fetch-site", "cross-site".to_string())],
        vec![("sec-fetch-site", "same-site".to_string())],
        vec![("origin", "https://evil.example".to_string())],
        vec![("origin", format!("http://{host}.evil.example"))],
    ] {
        let resp = reply(&refused).await.unwrap();
        assert_eq!(resp.status(), 403, "{refused:?}");
    }
    for allowed in [
        vec![("sec-fetch-site", "same-origin".to_string())],
        vec![("origin", base.to_string())],
        vec![],
    ] {
        // Past the check: the conversation does not exist.
        let resp = reply(&allowed).await.unwrap();
        assert_eq!(resp.status(), 404, "{allowed:?}");
    }
    let with_bearer = http
        .post(format!("{base}/api/v1/conversations/no-such-id/messages"))
        .bearer_auth(&token)
        .header("origin", "https://tool.example")
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_bearer.status(), 404, "a bearer token is not ambient");

    let resp = http
        .post(format!("{base}/api/v1/auth/logout"))
        .header(COOKIE, cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let cleared = resp.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(
        me(cookie).await.unwrap().status(),
        401,
        "the session is gone"
    );
    let bearer = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 401, "its token is gone too");
    // The API client Env logged in separately keeps its own session.
    env.api
        .get("/api/v1/me")
        .await
        .expect(200, "another session");
}
