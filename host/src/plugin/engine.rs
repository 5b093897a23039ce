//! The one wasmtime Engine of the process and its epoch ticker.
//!
//! Every tuning number here has a reason next to it; change them together
//! with the sandbox tests (tests/e2e_sandbox.rs) and the normalize benchmark.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. Deadlines are whole ticks, so this is the
/// resolution of a plugin call timeout: 10 ms keeps the ticker's cost
/// negligible while a 1 s deadline overshoots by at most 1%.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Largest linear memory any plugin may get, whatever its manifest asks.
/// Operators can lower it (`SWITCHBOARD_PLUGIN_MAX_MEMORY_MB`).
pub const MAX_PLUGIN_MEMORY_BYTES: u64 = 256 << 20;

/// Concurrent plugin instances the pool reserves slots for. Calls beyond this
/// wait on the runtime's semaphore rather than failing.
pub const POOLED_INSTANCES: u32 = 256;

/// Bytes of each pooled memory kept resident between instances: covers the
/// data segments and the early heap of a typical Rust provider component.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// Wasm stack per call: 1 MiB is wasmtime's default; deep recursion in a guest
/// ends in a stack-overflow trap for that call only.
const MAX_WASM_STACK: usize = 1 << 20;

pub struct PluginEngine {
    pub engine: Engine,
    pub pooling: bool,
}

impl PluginEngine {
    /// Builds the engine, with the pooling allocator when the machine allows
    /// the virtual-memory reservation it needs, else the on-demand allocator.
    pub fn new() -> anyhow::Result<Arc<Self>> {
        let (engine, pooling) = match Engine::new(&Self::config(true)) {
            Ok(engine) => (engine, true),
            Err(error) => {
                tracing::warn!(%error, "pooling allocator unavailable; using on-demand instances");
                (Engine::new(&Self::config(false))?, false)
            }
        };
        let this = Arc::new(PluginEngine { engine, pooling });
        this.start_epoch_ticker();
        Ok(this)
    }

    fn config(pooling: bool) -> Config {
        let mut config = Config::new();
        config.wasm_component_model(true);
        // Deadlines by epoch, not fuel: fuel costs every guest instruction,
        // epochs cost one load per loop header and function entry.
        config.epoch_interruption(true);
        config.max_wasm_stack(MAX_WASM_STACK);
        if pooling {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(POOLED_INSTANCES);
            // A wasip2 Rust component holds a handful of core instances (the
            // program and the WASI adapter shims) and one or two memories.
            pool.total_core_instances(POOLED_INSTANCES * 4);
            pool.total_memories(POOLED_INSTANCES * 2);
            pool.total_tables(POOLED_INSTANCES * 4);
            pool.total_stacks(POOLED_INSTANCES);
            pool.max_memory_size(MAX_PLUGIN_MEMORY_BYTES as usize);
            // Reset the first pages of a reused slot with memset instead of
            // madvise: a fresh instance per call then starts on resident
            // pages instead of taking a page fault on each one it touches.
            pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES);
            pool.table_keep_resident(KEEP_RESIDENT_BYTES / 16);
            // Linux 6.7+ can find just the dirtied pages to reset; older
            // kernels fall back to resetting the kept-resident prefix.
            pool.pagemap_scan(wasmtime::Enabled::Auto);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        config
    }

    fn start_epoch_ticker(self: &Arc<Self>) {
        let engine = self.engine.weak();
        thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while let Some(engine) = engine.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    thread::sleep(EPOCH_TICK);
                }
            })
            .expect("spawning the epoch ticker thread");
    }
}

/// Deadline in epoch ticks for a call of `timeout`, at least one tick.
pub fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}
