//! `switchboard replay`: runs retained raw webhooks of one channel through a
//! chosen plugin version and compares the result with what is stored.
//!
//! This is how a fixed plugin recovers events an older version dropped: the
//! raw webhook is still on `channel.webhook.<provider>` (within the retention
//! window), so normalizing it again with the new version yields the events;
//! those whose dedup key is not stored yet are missing. With `--apply` they
//! are written through the writer itself, whose dedup keys and unique
//! message ids make a repeated replay harmless.

use anyhow::{bail, Context};

use crate::app;
use crate::config::Settings;
use crate::pipeline::envelope::{topics, Normalized, RawWebhook};
use crate::plugin::types::{Event, EventBody};
use crate::secrets::SecretBox;
use crate::store::{channels, writer, Db};

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The channel account whose webhooks to replay.
    #[arg(long)]
    pub channel: String,
    /// Webhooks received at or after this time: RFC 3339
    /// (`2026-11-24T07:00:00Z`) or a duration back from now (`90m`, `6h`, `2d`).
    #[arg(long)]
    pub since: String,
    /// The plugin version to normalize with (default: the one the channel's
    /// workspace uses).
    #[arg(long)]
    pub plugin_version: Option<String>,
    /// Only show the difference (the default).
    #[arg(long, conflicts_with = "apply")]
    pub dry_run: bool,
    /// Write the missing events.
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub settings: Settings,
}

/// Unix microseconds of `--since`.
fn parse_since(text: &str, now_micros: i64) -> anyhow::Result<i64> {
    let text = text.trim();
    let unit = |suffix: char, micros: i64| -> Option<i64> {
        let number: i64 = text.strip_suffix(suffix)?.parse().ok()?;
        Some(now_micros - number * micros)
    };
    if let Some(at) = unit('m', 60_000_000)
        .or_else(|| unit('h', 3_600_000_000))
        .or_else(|| unit('d', 86_400_000_000))
    {
        return Ok(at);
    }
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("--since {text:?}: not RFC 3339 nor a duration like 6h"))?;
    Ok((parsed.unix_timestamp_nanos() / 1000) as i64)
}

/// What the stored state says of one replayed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Stored,
    Missing,
    Ignored,
}

async fn state_of(db: &Db, channel_id: &str, event: &Event) -> anyhow::Result<State> {
    if matches!(event.body, EventBody::Ignore(_)) {
        return Ok(State::Ignored);
    }
    let claimed: Option<String> = sqlx::query_scalar(
        "SELECT dedup_key FROM inbound_events WHERE channel_account_id = $1 AND dedup_key = $2",
    )
    .bind(channel_id)
    .bind(&event.dedup_key)
    .fetch_optional(&db.read)
    .await?;
    Ok(if claimed.is_some() {
        State::Stored
    } else {
        State::Missing
    })
}

fn describe(body: &EventBody) -> String {
    match body {
        EventBody::Message(m) => format!(
            "message {} {:?}",
            m.provider_message_id,
            m.text.as_deref().unwrap_or("")
        ),
        EventBody::Edit(m) => format!("edit {}", m.provider_message_id),
        EventBody::Echo(m) => format!("echo {}", m.provider_message_id),
        EventBody::Delete(m) => format!("delete {}", m.provider_message_id),
        EventBody::Reaction(r) => format!("reaction {} {}", r.provider_message_id, r.emoji),
        EventBody::Status(s) => format!("status {} {:?}", s.provider_message_id, s.state),
        EventBody::Ignore(reason) => format!("ignored: {reason}"),
    }
}

pub async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let settings = &args.settings;
    let since = parse_since(&args.since, crate::store::now_micros())?;
    let db = app::open_db(settings).await?;
    let secrets = SecretBox::load(settings.secret_key.as_deref(), &settings.data_dir)?;
    let account = channels::get(&db, &args.channel)
        .await?
        .with_context(|| format!("no channel {}", args.channel))?;
    let channel = account
        .to_plugin(&secrets, &settings.public_url())
        .context("reading the channel's credentials")?;
    let installer = app::load_plugins(settings)?;
    let registry = installer.registry();
    let plugin = match &args.plugin_version {
        Some(version) => registry.resolve(&account.provider, Some(version)),
        None => {
            registry
                .for_workspace(&db, &account.workspace_id, &account.provider)
                .await?
        }
    };
    let Some(plugin) = plugin else {
        bail!(
            "plugin {}{} is not installed in {}",
            account.provider,
            args.plugin_version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            settings.plugins_dir.display()
        );
    };
    let (bus, _) = app::connect_bus(settings, &db)?;
    let retained = bus
        .retained(&topics::webhook(&account.provider), since)
        .await
        .context("reading retained webhooks")?;
    let mut requests = Vec::new();
    let mut received = Vec::new();
    for delivery in &retained {
        let Ok(raw) = serde_json::from_slice::<RawWebhook>(&delivery.payload) else {
            continue;
        };
        if raw.channel_id.as_deref() != Some(account.id.as_str()) {
            continue;
        }
        if let Ok(request) = raw.request.to_incoming() {
            requests.push(request);
            received.push((delivery.partition, delivery.offset, raw.received_at));
        }
    }
    println!(
        "replaying {} retained webhook(s) of channel {} ({}) through {} {}{}",
        requests.len(),
        account.id,
        account.name,
        plugin.id(),
        plugin.manifest.version,
        if args.apply { "" } else { " (dry run)" }
    );
    let results = plugin.normalize_batch(channel, requests).await;
    let mut missing = Vec::new();
    let (mut stored, mut ignored, mut failed) = (0, 0, 0);
    for ((partition, offset, received_at), result) in received.iter().zip(results) {
        let events = match result {
            Ok(Ok(events)) => events,
            Ok(Err(error)) => {
                failed += 1;
                println!("  {partition}:{offset}  normalize refused it: {error:?}");
                continue;
            }
            Err(error) => {
                failed += 1;
                println!("  {partition}:{offset}  plugin failure: {error}");
                continue;
            }
        };
        for event in events {
            let state = state_of(&db, &account.id, &event).await?;
            let mark = match state {
                State::Stored => {
                    stored += 1;
                    "stored "
                }
                State::Missing => "MISSING",
                State::Ignored => {
                    ignored += 1;
                    "ignored"
                }
            };
            println!(
                "  {partition}:{offset}  {mark}  {}  {}",
                event.dedup_key,
                describe(&event.body)
            );
            if state == State::Missing {
                missing.push(Normalized {
                    channel_id: account.id.clone(),
                    workspace_id: account.workspace_id.clone(),
                    provider: account.provider.clone(),
                    received_at: *received_at,
                    event,
                });
            }
        }
    }
    println!(
        "events: {stored} stored, {} missing, {ignored} ignored; webhooks the plugin could not normalize: {failed}",
        missing.len()
    );
    if args.apply && !missing.is_empty() {
        let applied = writer::apply_batch(&db, &missing)
            .await
            .context("writing the missing events")?;
        let written = applied
            .iter()
            .filter(|a| **a == writer::Applied::Written)
            .count();
        println!(
            "applied: {written} written, {} already present",
            applied.len() - written
        );
    } else if !missing.is_empty() {
        println!("run again with --apply to write the missing events");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_takes_durations_and_rfc3339() {
        let now = 1_767_268_800_000_000;
        assert_eq!(parse_since("90m", now).unwrap(), now - 90 * 60_000_000);
        assert_eq!(parse_since("6h", now).unwrap(), now - 6 * 3_600_000_000);
        assert_eq!(parse_since("2d", now).unwrap(), now - 2 * 86_400_000_000);
        assert_eq!(
            parse_since("2026-01-01T12:00:00Z", now).unwrap(),
            1_767_268_800_000_000
        );
        assert!(parse_since("yesterday", now).is_err());
    }
}
