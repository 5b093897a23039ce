//! Instances kept warm between calls for the same channel account.
//!
//! Instantiating a component and touching its fresh memory costs several
//! times what a small call like `verify` does, and the edge makes one such
//! call per webhook. So when a session ends cleanly, its instance is parked
//! here under the channel it served and the next session for that channel
//! (same configuration) picks it up.
//!
//! What keeps the sandbox's promises:
//! - an instance only ever serves one channel account with one
//!   configuration: guest state is never shared between accounts;
//! - an instance that trapped or timed out is never parked (the session
//!   drops it);
//! - an instance is retired after [`MAX_CALLS`] calls or [`MAX_AGE`], so a
//!   guest that leaks memory or drifts starts over;
//! - each plugin parks at most [`PER_PLUGIN`] instances, and all plugins
//!   together at most what the shared budget allows, so parked instances
//!   never starve live calls of pool slots.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Store;

use super::bindings::ProviderInstance;
use super::host_api::CallState;

/// Calls one instance may serve before it is retired.
pub const MAX_CALLS: u32 = 10_000;
/// How long an instance may live before it is retired.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Instances one plugin version keeps parked.
pub const PER_PLUGIN: usize = 8;
/// Instances all plugins together keep parked (pool slots they hold).
pub const TOTAL: usize = 64;

/// Which instances may serve a session: one channel account with one
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmKey {
    pub channel_id: String,
    pub config_digest: u64,
}

/// A live instance and what it has done.
pub struct Live {
    pub store: Store<CallState>,
    pub instance: ProviderInstance,
    pub calls: u32,
    pub born: Instant,
}

impl Live {
    fn retired(&self) -> bool {
        self.calls >= MAX_CALLS || self.born.elapsed() >= MAX_AGE
    }
}

struct Parked {
    key: WarmKey,
    live: Live,
    _slot: OwnedSemaphorePermit,
}

/// One plugin version's parked instances, most recently used first.
pub struct WarmInstances {
    parked: Mutex<VecDeque<Parked>>,
    budget: Arc<Semaphore>,
}

impl WarmInstances {
    /// `budget` is shared by every plugin a loader loads.
    pub fn new(budget: Arc<Semaphore>) -> Self {
        WarmInstances {
            parked: Mutex::new(VecDeque::new()),
            budget,
        }
    }

    /// A budget for [`TOTAL`] parked instances.
    pub fn budget() -> Arc<Semaphore> {
        Arc::new(Semaphore::new(TOTAL))
    }

    /// Takes a parked instance for `key`, if one is fit to serve.
    pub fn take(&self, key: &WarmKey) -> Option<Live> {
        let mut parked = self.parked.lock().expect("warm instances lock");
        let at = parked.iter().position(|entry| &entry.key == key)?;
        let entry = parked.remove(at)?;
        drop(parked);
        (!entry.live.retired()).then_some(entry.live)
    }

    /// Parks an instance that finished its calls normally. Retired ones, and
    /// ones beyond the budget, are dropped instead.
    pub fn park(&self, key: WarmKey, live: Live) {
        if live.retired() {
            return;
        }
        let Ok(slot) = Arc::clone(&self.budget).try_acquire_owned() else {
            return;
        };
        let evicted: VecDeque<Parked> = {
            let mut parked = self.parked.lock().expect("warm instances lock");
            parked.push_front(Parked {
                key,
                live,
                _slot: slot,
            });
            // Retired ones go now rather than when someone asks for them,
            // then the least recently used beyond the plugin's share.
            let (keep, mut out): (VecDeque<Parked>, VecDeque<Parked>) =
                parked.drain(..).partition(|entry| !entry.live.retired());
            *parked = keep;
            while parked.len() > PER_PLUGIN {
                out.extend(parked.pop_back());
            }
            out
        };
        // Dropped outside the lock: tearing down a store is not free.
        drop(evicted);
    }

    /// Instances parked now.
    pub fn len(&self) -> usize {
        self.parked.lock().expect("warm instances lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
