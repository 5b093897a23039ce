//! A fake Telegram Bot API on loopback: `/bot<token>/<method>`, GET or POST,
//! JSON, urlencoded or query parameters. Records every call; answers from a
//! per-method script first, then with sensible defaults.
//!
//! Also the file server, `GET /file/bot<token>/<file_path>`: it serves
//! [`FILE_BYTES`] at [`FILE_PATH`], the path `getFile` hands out, and records
//! each download as a call of the pseudo-method [`FILE_DOWNLOAD`].
//!
//! Also builders for the Update payloads the tests post to webhooks.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::task::JoinHandle;

/// The first message_id sendMessage hands out; each call adds one.
pub const FIRST_MESSAGE_ID: i64 = 1000;

/// The `file_path` getFile answers for any file_id.
pub const FILE_PATH: &str = "photos/file_1.jpg";
/// What the file server answers for [`FILE_PATH`] (not valid UTF-8 on purpose).
pub const FILE_BYTES: &[u8] = b"\xFF\xD8\xFF fake jpeg";
/// The `method` of the calls that record file server downloads.
pub const FILE_DOWNLOAD: &str = "file";

/// One request the fake received, with what it answered.
#[derive(Clone, Debug)]
pub struct Call {
    /// Bot API method as written in the path, e.g. `sendMessage`.
    pub method: String,
    /// The bot token from the path (`<digits>:<secret>`).
    pub token: String,
    /// GET or POST.
    pub http_method: String,
    /// Query parameters and body parameters merged into one JSON object;
    /// JSON bodies keep their types, query and form values are strings.
    /// A multipart body gives its text fields, and itself as lossy text
    /// under `_raw`.
    pub body: Value,
    /// The request body as received (uploads keep their exact bytes).
    pub raw: Vec<u8>,
    /// The status the fake answered with.
    pub status: u16,
    /// The JSON the fake answered with.
    pub response: Value,
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    calls: Mutex<Vec<Call>>,
    scripted: Mutex<HashMap<String, VecDeque<(u16, Value)>>>,
    get_me_unauthorized: AtomicBool,
    next_message_id: AtomicI64,
}

pub struct FakeTelegram {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeTelegram {
    pub async fn start() -> FakeTelegram {
        let shared = Arc::new(Shared {
            next_message_id: AtomicI64::new(FIRST_MESSAGE_ID),
            ..Shared::default()
        });
        let app = Router::new()
            .route("/file/{bot}/{*path}", get(download))
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Telegram API");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake Telegram API");
        });
        FakeTelegram { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>`: the channel's `config.api_base`.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every call so far, in arrival order.
    pub fn all_calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// Calls of one Bot API method (method names are case-insensitive).
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.all_calls()
            .into_iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .collect()
    }

    /// Downloads from the file server so far; `body["file_path"]` is the path asked for.
    pub fn downloads(&self) -> Vec<Call> {
        self.calls(FILE_DOWNLOAD)
    }

    /// Waits until at least `count` calls of `method` arrived; returns them all.
    pub async fn wait_for_calls(&self, method: &str, count: usize, timeout: Duration) -> Vec<Call> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls(method);
            if calls.len() >= count {
                return calls;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the fake Telegram API saw {} {method} calls after {timeout:?}, wanted {count}; all calls: {:#?}",
                    calls.len(),
                    self.all_calls()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last setWebhook call; panics when there was none.
    pub fn last_set_webhook(&self) -> Call {
        self.calls("setWebhook")
            .pop()
            .expect("the fake Telegram API saw no setWebhook call")
    }

    /// The `secret_token` of the last setWebhook call.
    pub fn secret_token(&self) -> String {
        let call = self.last_set_webhook();
        call.body["secret_token"]
            .as_str()
            .unwrap_or_else(|| panic!("setWebhook without a string secret_token: {call:#?}"))
            .to_string()
    }

    /// Queues one scripted answer for `method`, used before the default.
    pub fn push_response(&self, method: &str, status: u16, body: Value) {
        self.shared
            .scripted
            .lock()
            .unwrap()
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back((status, body));
    }

    /// Queues a 429 "retry after" answer.
    pub fn push_too_many_requests(&self, method: &str, retry_after_secs: u64) {
        self.push_response(
            method,
            429,
            json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {retry_after_secs}"),
                "parameters": {"retry_after": retry_after_secs},
            }),
        );
    }

    /// Queues a 403 "bot was blocked by the user" answer.
    pub fn push_blocked_by_user(&self, method: &str) {
        self.push_response(
            method,
            403,
            json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
        );
    }

    /// Queues a 401 (revoked token) answer.
    pub fn push_unauthorized(&self, method: &str) {
        self.push_response(method, 401, unauthorized());
    }

    /// Makes getMe answer 401 for every token while `on`.
    pub fn set_get_me_unauthorized(&self, on: bool) {
        self.shared.get_me_unauthorized.store(on, Ordering::SeqCst);
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn unauthorized() -> Value {
    json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
}

fn not_found() -> Value {
    json!({"ok": false, "error_code": 404, "description": "Not Found"})
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = percent_decode(uri.path());
    let Some((token, bot_method)) = path
        .strip_prefix("/bot")
        .and_then(|rest| rest.split_once('/'))
    else {
        return (StatusCode::NOT_FOUND, axum::Json(not_found())).into_response();
    };
    let (token, bot_method) = (token.to_string(), bot_method.to_string());

    let mut params = Map::new();
    if let Some(query) = uri.query() {
        for (k, v) in parse_form(query) {
            params.insert(k, Value::String(v));
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut unparsable = false;
    if !body.is_empty() {
        if content_type.starts_with("application/x-www-form-urlencoded") {
            for (k, v) in parse_form(&String::from_utf8_lossy(&body)) {
                params.insert(k, Value::String(v));
            }
        } else if content_type.starts_with("multipart/") {
            params.extend(form_fields(&content_type, &body));
            params.insert(
                "_raw".into(),
                Value::String(String::from_utf8_lossy(&body).into_owned()),
            );
        } else {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(object)) => params.extend(object),
                _ => {
                    unparsable = true;
                    params.insert(
                        "_raw".into(),
                        Value::String(String::from_utf8_lossy(&body).into_owned()),
                    );
                }
            }
        }
    }
    let params = Value::Object(params);

    let scripted = shared
        .scripted
        .lock()
        .unwrap()
        .get_mut(&bot_method.to_ascii_lowercase())
        .and_then(VecDeque::pop_front);
    let (status, response) = match scripted {
        Some(answer) => answer,
        None if unparsable => (
            400,
            json!({"ok": false, "error_code": 400, "description": "Bad Request: can't parse JSON"}),
        ),
        None => default_answer(&shared, &token, &bot_method, &params),
    };

    shared.calls.lock().unwrap().push(Call {
        method: bot_method,
        token,
        http_method: method.to_string(),
        body: params,
        raw: body.to_vec(),
        status,
        response: response.clone(),
        at: Instant::now(),
    });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(response)).into_response()
}

/// The file server: `/file/bot<token>/<file_path>`. Like Telegram's, it
/// answers `application/octet-stream` whatever the file is.
async fn download(
    State(shared): State<Arc<Shared>>,
    Path((bot, file_path)): Path<(String, String)>,
) -> Response {
    let token = bot.strip_prefix("bot").unwrap_or_default().to_string();
    let valid_token = token
        .split_once(':')
        .is_some_and(|(digits, _)| digits.parse::<i64>().is_ok());
    let (status, response) = if !valid_token {
        (401, unauthorized())
    } else if file_path == FILE_PATH {
        (200, json!({"served_bytes": FILE_BYTES.len()}))
    } else {
        (404, not_found())
    };
    shared.calls.lock().unwrap().push(Call {
        method: FILE_DOWNLOAD.to_string(),
        token,
        http_method: "GET".to_string(),
        body: json!({"file_path": file_path}),
        raw: Vec::new(),
        status,
        response: response.clone(),
        at: Instant::now(),
    });
    if status == 200 {
        return (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            FILE_BYTES,
        )
            .into_response();
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(response)).into_response()
}

fn default_answer(shared: &Shared, token: &str, method: &str, params: &Value) -> (u16, Value) {
    let bot_id = token
        .split_once(':')
        .and_then(|(digits, _)| digits.parse::<i64>().ok());
    let Some(bot_id) = bot_id else {
        return (401, unauthorized());
    };
    match method.to_ascii_lowercase().as_str() {
        "getme" if shared.get_me_unauthorized.load(Ordering::SeqCst) => (401, unauthorized()),
        "getme" => (
            200,
            json!({"ok": true, "result": {
                "id": bot_id, "is_bot": true, "first_name": "Test Bot", "username": "test_bot",
            }}),
        ),
        "setwebhook" | "deletewebhook" => (200, json!({"ok": true, "result": true})),
        "getfile" => match params["file_id"].as_str() {
            Some(file_id) if !file_id.is_empty() => (
                200,
                json!({"ok": true, "result": {
                    "file_id": file_id,
                    "file_unique_id": "u",
                    "file_size": FILE_BYTES.len(),
                    "file_path": FILE_PATH,
                }}),
            ),
            _ => (
                400,
                json!({"ok": false, "error_code": 400, "description": "Bad Request: invalid file_id"}),
            ),
        },
        "getwebhookinfo" => (
            200,
            json!({"ok": true, "result": {"url": "", "has_custom_certificate": false, "pending_update_count": 0}}),
        ),
        m if m.starts_with("send") => {
            let chat_id = match &params["chat_id"] {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.parse::<i64>().ok(),
                _ => None,
            };
            let Some(chat_id) = chat_id else {
                return (
                    400,
                    json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}),
                );
            };
            let message_id = shared.next_message_id.fetch_add(1, Ordering::SeqCst);
            let date = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let mut message = json!({
                "message_id": message_id,
                "date": date,
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": bot_id, "is_bot": true, "first_name": "Test Bot", "username": "test_bot"},
            });
            for key in ["text", "caption"] {
                if let Some(value) = params.get(key) {
                    message[key] = value.clone();
                }
            }
            (200, json!({"ok": true, "result": message}))
        }
        _ => (404, not_found()),
    }
}

/// `application/x-www-form-urlencoded` pairs (also used for query strings).
/// The text fields of a multipart body (parts without a file name), like
/// the Bot API reads `chat_id` and `caption` next to an uploaded file.
fn form_fields(content_type: &str, body: &[u8]) -> Map<String, Value> {
    let mut fields = Map::new();
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return fields;
    };
    let body = String::from_utf8_lossy(body);
    for part in body.split(&format!("--{}", boundary.trim_matches('"'))) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        if head.contains("filename=") {
            continue;
        }
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next());
        if let Some(name) = name {
            let value = value.strip_suffix("\r\n").unwrap_or(value);
            fields.insert(name.to_string(), Value::String(value.to_string()));
        }
    }
    fields
}

fn parse_form(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = &bytes[i + 1..i + 3];
            if hex.iter().all(u8::is_ascii_hexdigit) {
                let byte = u8::from_str_radix(std::str::from_utf8(hex).unwrap(), 16).unwrap();
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Builders for Telegram Update payloads.
pub mod updates {
    use serde_json::{json, Value};

    /// A `from` User.
    pub fn user(id: i64, first_name: &str, username: Option<&str>) -> Value {
        let mut user = json!({"id": id, "is_bot": false, "first_name": first_name});
        if let Some(username) = username {
            user["username"] = json!(username);
        }
        user
    }

    /// A private chat: its id is the user's id.
    pub fn private_chat(id: i64, first_name: &str) -> Value {
        json!({"id": id, "type": "private", "first_name": first_name})
    }

    /// A group chat (negative id).
    pub fn group_chat(id: i64, title: &str) -> Value {
        json!({"id": id, "type": "group", "title": title})
    }

    /// An Update carrying a new text message.
    pub fn text(update_id: i64, chat: Value, message_id: i64, from: Value, text: &str) -> Value {
        json!({"update_id": update_id, "message": {
            "message_id": message_id,
            "date": 1767268800 + message_id,
            "from": from,
            "chat": chat,
            "text": text,
        }})
    }

    /// A text Update in a private chat with the user `chat_id`.
    pub fn private_text(
        update_id: i64,
        chat_id: i64,
        message_id: i64,
        name: &str,
        text: &str,
    ) -> Value {
        self::text(
            update_id,
            private_chat(chat_id, name),
            message_id,
            user(chat_id, name, None),
            text,
        )
    }

    /// Anna's chat in the PROVIDERS.md examples.
    pub const ANNA_CHAT: i64 = 123456789;

    /// PROVIDERS.md: Anna asks a question (update 804112233, message 512).
    pub fn anna_text() -> Value {
        json!({"update_id":804112233,"message":{"message_id":512,"date":1767268800,
            "from":{"id":123456789,"is_bot":false,"first_name":"Anna","username":"anna_k"},
            "chat":{"id":123456789,"type":"private","first_name":"Anna"},"text":"Hi, is the order ready?"}})
    }

    /// PROVIDERS.md: Anna answers message 510 with a captioned photo (update 804112234, message 513).
    pub fn anna_photo_reply() -> Value {
        json!({"update_id":804112234,"message":{"message_id":513,"date":1767268830,
            "from":{"id":123456789,"is_bot":false,"first_name":"Anna"},"chat":{"id":123456789,"type":"private"},
            "photo":[{"file_id":"AgAC..s","file_unique_id":"AQs1","width":90,"height":67},
                     {"file_id":"AgAC..l","file_unique_id":"AQs2","width":1280,"height":960}],
            "caption":"this one",
            "reply_to_message":{"message_id":510,"date":1767268700,"chat":{"id":123456789,"type":"private"},"text":"Which colour?"}}})
    }

    /// PROVIDERS.md: Anna edits message 512 (update 804112235).
    pub fn anna_edit() -> Value {
        json!({"update_id":804112235,"edited_message":{"message_id":512,"date":1767268800,"edit_date":1767268900,
            "chat":{"id":123456789,"type":"private"},"from":{"id":123456789,"is_bot":false,"first_name":"Anna"},
            "text":"Is order #42 ready?"}})
    }

    /// Another message from Anna in her private chat.
    pub fn anna_says(update_id: i64, message_id: i64, text: &str) -> Value {
        json!({"update_id": update_id, "message": {
            "message_id": message_id,
            "date": 1767268800 + message_id,
            "from": {"id": ANNA_CHAT, "is_bot": false, "first_name": "Anna", "username": "anna_k"},
            "chat": {"id": ANNA_CHAT, "type": "private", "first_name": "Anna"},
            "text": text,
        }})
    }
}
