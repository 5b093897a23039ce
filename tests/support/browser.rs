//! Headless Chromium driven through chromedriver's W3C WebDriver HTTP API:
//! enough of it for the browser suite (navigate, find, click, type, choose a
//! file, read, screenshot), spoken directly over reqwest.
//!
//! Chromium and chromedriver come from Debian's packages
//! (`scripts/browser-deps.sh` installs them). Screenshots land in
//! `target/browser-artifacts/` so a failed run can be looked at.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// The key W3C WebDriver names element references with.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The key W3C WebDriver names shadow root references with.
const SHADOW_KEY: &str = "shadow-6066-11e4-a52e-4f735466cecf";
/// How long `wait_for` and friends wait before failing the test.
pub const UI_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    base: String,
    pub artifacts: PathBuf,
}

#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver on a free port and opens a headless session
    /// `width` x `height` pixels.
    pub async fn start(width: u32, height: u32) -> Browser {
        for tool in ["chromedriver", "chromium"] {
            assert!(
                Command::new("which")
                    .arg(tool)
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success()),
                "{tool} is not installed: run scripts/browser-deps.sh (Debian's chromium and chromium-driver)"
            );
        }
        let port = super::server::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"),
                ],
            },
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("create a session")
            .json()
            .await
            .expect("session JSON");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        let artifacts = super::workspace_root().join("target/browser-artifacts");
        std::fs::create_dir_all(&artifacts).expect("artifact directory");
        let browser = Browser {
            driver,
            http,
            session,
            base,
            artifacts,
        };
        // Chromium clamps --window-size to at least 500 px wide; resizing
        // the window afterwards is not clamped.
        browser.set_size(width, height).await;
        browser
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        // W3C WebDriver: POST commands take a JSON object, GET ones no body.
        let post = method == reqwest::Method::POST;
        let mut request = self.http.request(method, &url);
        if post {
            request = request.json(&body.unwrap_or_else(|| json!({})));
        }
        let answer: Value = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
        answer["value"].clone()
    }

    async fn try_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value, String> {
        let value = self.command(method, path, Some(body)).await;
        match value.get("error") {
            Some(error) => Err(format!("{error}: {}", value["message"])),
            None => Ok(value),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn set_size(&self, width: u32, height: u32) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// The first element matching `css`, if there is one now.
    pub async fn find(&self, css: &str) -> Option<Element> {
        let found = self
            .try_command(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await
            .ok()?;
        found[ELEMENT_KEY]
            .as_str()
            .map(|id| Element(id.to_string()))
    }

    /// Waits until `css` matches an element that shows `text` (any text when
    /// empty), and returns it.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find_with_text(css, text).await {
                return element;
            }
            if started.elapsed() > UI_TIMEOUT {
                let shot = self.screenshot("timeout").await;
                panic!(
                    "no `{css}` showing {text:?} after {UI_TIMEOUT:?}; page: {} (screenshot {})",
                    self.current_url().await,
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    pub async fn wait_for(&self, css: &str) -> Element {
        self.wait_for_text(css, "").await
    }

    /// Waits until no element matching `css` is displayed.
    pub async fn wait_gone(&self, css: &str) {
        let started = Instant::now();
        while self.find_with_text(css, "").await.is_some() {
            assert!(started.elapsed() < UI_TIMEOUT, "`{css}` is still shown");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    async fn find_with_text(&self, css: &str, text: &str) -> Option<Element> {
        let all = self
            .try_command(
                reqwest::Method::POST,
                "/elements",
                json!({"using": "css selector", "value": css}),
            )
            .await
            .ok()?;
        for found in all.as_array()? {
            let element = Element(found[ELEMENT_KEY].as_str()?.to_string());
            if !self.displayed(&element).await {
                continue;
            }
            if text.is_empty() || self.text(&element).await.contains(text) {
                return Some(element);
            }
        }
        None
    }

    /// Waits for an element inside the shadow root of the element `host`
    /// (the website widget keeps its DOM there) showing `text`.
    pub async fn wait_in_shadow(&self, host: &str, css: &str, text: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(found) = self.find_in_shadow(host, css, text).await {
                return found;
            }
            if started.elapsed() > UI_TIMEOUT {
                let shot = self.screenshot("timeout").await;
                panic!(
                    "no `{host}` >> `{css}` showing {text:?} after {UI_TIMEOUT:?} (screenshot {})",
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    async fn find_in_shadow(&self, host: &str, css: &str, text: &str) -> Option<Element> {
        let host = self.find(host).await?;
        let shadow = self
            .try_command(
                reqwest::Method::GET,
                &format!("/element/{}/shadow", host.0),
                json!({}),
            )
            .await
            .ok()?;
        let shadow = shadow[SHADOW_KEY].as_str()?.to_string();
        let all = self
            .try_command(
                reqwest::Method::POST,
                &format!("/shadow/{shadow}/elements"),
                json!({"using": "css selector", "value": css}),
            )
            .await
            .ok()?;
        for found in all.as_array()? {
            let element = Element(found[ELEMENT_KEY].as_str()?.to_string());
            if self.displayed(&element).await
                && (text.is_empty() || self.text(&element).await.contains(text))
            {
                return Some(element);
            }
        }
        None
    }

    pub async fn displayed(&self, element: &Element) -> bool {
        self.try_command(
            reqwest::Method::GET,
            &format!("/element/{}/displayed", element.0),
            json!({}),
        )
        .await
        .ok()
        .and_then(|value| value.as_bool())
        .unwrap_or(false)
    }

    pub async fn click(&self, element: &Element) {
        self.try_command(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            json!({}),
        )
        .await
        .unwrap_or_else(|e| panic!("click: {e}"));
    }

    pub async fn type_into(&self, element: &Element, text: &str) {
        self.try_command(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await
        .unwrap_or_else(|e| panic!("type: {e}"));
    }

    /// Chooses `path` in the `<input type=file>` `element`: W3C "Element
    /// Send Keys" with the absolute path, which chromedriver takes even when
    /// the input is visually hidden behind its label.
    pub async fn choose_file(&self, element: &Element, path: &std::path::Path) {
        assert!(path.is_absolute(), "{} is not absolute", path.display());
        self.try_command(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            json!({ "text": path.to_str().expect("a UTF-8 path") }),
        )
        .await
        .unwrap_or_else(|e| panic!("choose {}: {e}", path.display()));
    }

    pub async fn text(&self, element: &Element) -> String {
        self.command(
            reqwest::Method::GET,
            &format!("/element/{}/text", element.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.command(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", element.0),
            None,
        )
        .await
        .as_str()
        .map(str::to_string)
    }

    /// A DOM property (what the element holds now, e.g. an input's `value`).
    pub async fn property(&self, element: &Element, name: &str) -> Value {
        self.command(
            reqwest::Method::GET,
            &format!("/element/{}/property/{name}", element.0),
            None,
        )
        .await
    }

    /// Runs `script` in the page (its `arguments` are `args`).
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Saves a PNG of the window as `target/browser-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let data = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .unwrap_or_default();
        let path = self.artifacts.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write the screenshot");
        path
    }

    /// The page's horizontal overflow in pixels (0 when nothing scrolls sideways).
    pub async fn horizontal_overflow(&self) -> i64 {
        self.execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await
        .as_i64()
        .unwrap_or(0)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending chromedriver ends its Chromium too.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
