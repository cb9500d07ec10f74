//! Connections per address (IPv6: per /64): WebSockets of the server, and relay connections over
//! every room, so one client cannot take all of them, or the memory they cost, by opening
//! connections it never uses. A connection holds its [`AddressSlot`] for as long as it lives;
//! dropping it gives the slot back. The count is touched when a connection opens and when it
//! goes, never per message.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::attempts::address_key;

/// Connections per address, shared by every room's relay.
#[derive(Debug, Default)]
pub struct AddressSlots {
    counts: Mutex<HashMap<IpAddr, u32>>,
}

/// One connection's place in its address's count.
#[derive(Debug)]
pub struct AddressSlot {
    key: IpAddr,
    slots: Arc<AddressSlots>,
}

impl AddressSlots {
    /// A slot for a connection from `ip`, unless it already has `max`.
    pub fn take(self: &Arc<Self>, ip: IpAddr, max: u32) -> Option<AddressSlot> {
        let key = address_key(ip);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(key).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            key,
            slots: self.clone(),
        })
    }

    /// Connections from `ip` now.
    pub fn count(&self, ip: IpAddr) -> u32 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(&address_key(ip)).copied().unwrap_or(0)
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self
            .slots
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_max_slots_and_each_comes_back_when_dropped() {
        let slots = Arc::new(AddressSlots::default());
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        let taken: Vec<AddressSlot> = (0..3).map(|_| slots.take(a, 3).unwrap()).collect();
        assert!(slots.take(a, 3).is_none());
        let other = slots.take(b, 3);
        assert!(other.is_some());
        drop(taken);
        assert_eq!(slots.count(a), 0);
        assert!(slots.take(a, 3).is_some());
        drop(other);
        assert!(slots.counts.lock().unwrap().len() <= 1);
    }
}
