//! Where a running server keeps its registry's address.

use std::sync::Arc;

use actix::Addr;

use super::Registry;

/// The registry of a running server, for code that embeds it (tests, operators' tools, the
/// config reloader): set once the first HTTP worker has started it.
#[derive(Clone, Default)]
pub struct RegistryCell(Arc<std::sync::OnceLock<Addr<Registry>>>);

impl RegistryCell {
    /// The registry, once started.
    pub fn get(&self) -> Option<Addr<Registry>> {
        self.0.get().cloned()
    }

    /// The registry, started by `start` on first use.
    pub fn get_or_start(&self, start: impl FnOnce() -> Addr<Registry>) -> Addr<Registry> {
        self.0.get_or_init(start).clone()
    }
}
