//! A provider that misbehaves on request, to prove the host's sandbox.
//!
//! Not loaded by default: the sandbox tests point a host at it. The webhook
//! body (for `verify`/`normalize`) or the message text (for `send`) names the
//! misbehaviour:
//!
//! | word        | what the guest does                                        |
//! |-------------|------------------------------------------------------------|
//! | `loop`      | spins forever (the epoch deadline must stop it)            |
//! | `alloc`     | grows memory without bound (the memory cap must stop it)   |
//! | `panic`     | panics (a trap for that one call)                          |
//! | `forbidden` | fetches `config.target_url`, which is not an allowed host  |
//! | anything    | behaves: one message event whose text is the body          |

use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::http::Request;
use switchboard_plugin_sdk::*;

#[derive(Default)]
struct Chaos;

fn misbehave(word: &str, channel: &Channel) -> Result<(), String> {
    match word {
        "loop" => {
            let mut counter: u64 = 0;
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        }
        "alloc" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "panic" => panic!("the chaos plugin panics on request"),
        "forbidden" => {
            let url = channel
                .get("target_url")
                .unwrap_or("http://169.254.169.254/latest/meta-data");
            match Request::get(url).send() {
                Ok(response) => Err(format!("forbidden fetch answered {}", response.status)),
                Err(error) => Err(error.to_string()),
            }
        }
        _ => Ok(()),
    }
}

impl Provider for Chaos {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "chaos".into(),
            display_name: "Chaos (sandbox tests)".into(),
            version: "0.1.0".into(),
            contract_version: CONTRACT_VERSION.into(),
            routing: RoutingMode::PerAccount,
            config_fields: vec![ConfigField {
                name: "target_url".into(),
                label: "URL the `forbidden` word fetches".into(),
                secret: false,
                required: false,
                help: None,
            }],
            allowed_hosts: vec![],
            capabilities: Capabilities {
                edits: false,
                deletes: false,
                reactions: false,
                read_receipts: false,
                attachments: false,
                groups: false,
                reply_window_secs: None,
            },
            limits: Limits {
                memory_bytes: 32 << 20,
                call_timeout_ms: 1_000,
                max_outbound_body_bytes: 1 << 20,
            },
            oauth: None,
        }
    }

    fn connect(&self, request: ConnectRequest) -> Result<Connected, ConnectError> {
        Ok(Connected {
            provider_account_id: request.get("account").unwrap_or("chaos").to_string(),
            display_name: "Chaos".into(),
            config_updates: vec![],
        })
    }

    fn verify(&self, channel: Channel, request: IncomingRequest) -> Verdict {
        let word = String::from_utf8_lossy(&request.body).trim().to_string();
        if let Some(misbehaviour) = word.strip_prefix("verify-") {
            if let Err(reason) = misbehave(misbehaviour, &channel) {
                return Verdict::reject(400, reason);
            }
        }
        Verdict::Accept(None)
    }

    fn normalize(
        &self,
        channel: Channel,
        request: IncomingRequest,
    ) -> Result<Vec<Event>, NormalizeError> {
        let text = String::from_utf8_lossy(&request.body).trim().to_string();
        misbehave(&text, &channel).map_err(NormalizeError::Malformed)?;
        let id = format!("{}", request.body.len()) + ":" + &text;
        Ok(vec![Event {
            dedup_key: id.clone(),
            body: EventBody::Message(Message {
                provider_message_id: id,
                thread: Thread {
                    id: "chaos-thread".into(),
                    kind: ThreadKind::Direct,
                    title: None,
                },
                sender: Participant {
                    id: "chaos-user".into(),
                    display_name: Some("Chaos Monkey".into()),
                    username: None,
                    phone: None,
                    alternate_ids: vec![],
                },
                timestamp_ms: 0,
                text: Some(text),
                attachments: vec![],
                reply_to: None,
            }),
        }])
    }

    fn send(&self, channel: Channel, message: OutboundMessage) -> Result<Sent, SendError> {
        let text = message.text.unwrap_or_default();
        misbehave(&text, &channel).map_err(SendError::Permanent)?;
        Ok(Sent {
            provider_message_id: format!("chaos-{}", message.message_id),
        })
    }
}

register_provider!(Chaos);
