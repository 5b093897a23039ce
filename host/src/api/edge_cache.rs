//! What the webhook edge looks up for every request, kept for a moment.
//!
//! Without it each webhook costs two database round trips (the channel, the
//! workspace's plugin toggle and pin) and a decryption of the channel's credentials:
//! on PostgreSQL that was a measurable share of the edge's time at a few
//! thousand webhooks a second. Entries live [`TTL`]; a change made through
//! this process (a channel connected or removed, a plugin toggled) clears
//! the cache at once, and other processes see it within [`TTL`]. Misses are
//! never cached, so a channel connected elsewhere is found on its first
//! webhook.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::plugin::types::Channel;
use crate::store::accounts::PluginSetting;
use crate::store::channels::ChannelAccount;

/// How stale an answer may be in a process that did not make the change.
pub const TTL: Duration = Duration::from_secs(2);
/// Entries kept at most; past it the cache starts over (a flood of distinct
/// keys must not grow memory).
const MAX_ENTRIES: usize = 10_000;

/// A channel account with its credentials unsealed for plugin calls.
#[derive(Clone)]
pub struct ResolvedChannel {
    pub account: ChannelAccount,
    pub channel: Channel,
}

#[derive(Default)]
pub struct EdgeCache {
    channels: Mutex<HashMap<ChannelKey, (Instant, ResolvedChannel)>>,
    /// (workspace, plugin) -> (enabled, pinned version).
    settings: Mutex<HashMap<(String, String), (Instant, PluginSetting)>>,
}

/// How a webhook names its channel.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ChannelKey {
    /// Per-account URL: (provider, channel key).
    Url(String, String),
    /// Routed by the payload: (provider, provider account id).
    Account(String, String),
}

impl EdgeCache {
    pub fn channel(&self, key: &ChannelKey) -> Option<ResolvedChannel> {
        let map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, resolved)| resolved.clone())
    }

    pub fn put_channel(&self, key: ChannelKey, resolved: ResolvedChannel) {
        let mut map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (Instant::now(), resolved));
    }

    pub fn plugin_setting(&self, workspace_id: &str, plugin_id: &str) -> Option<PluginSetting> {
        let map = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(workspace_id.to_string(), plugin_id.to_string()))
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, setting)| setting.clone())
    }

    pub fn put_plugin_setting(&self, workspace_id: &str, plugin_id: &str, setting: PluginSetting) {
        let mut map = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(
            (workspace_id.to_string(), plugin_id.to_string()),
            (Instant::now(), setting),
        );
    }

    /// Forgets everything: called after a change made through this process.
    pub fn clear(&self) {
        self.channels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
