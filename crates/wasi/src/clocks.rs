//! Clocks and randomness the host may supply in place of the system's
//! ([`WasiCtxBuilder::wall_clock`](crate::WasiCtxBuilder::wall_clock),
//! [`monotonic_clock`](crate::WasiCtxBuilder::monotonic_clock),
//! [`secure_random`](crate::WasiCtxBuilder::secure_random)), for example to
//! make a guest's runs repeatable. The traits have the names and methods of
//! Wasmtime's, so a clock written for Wasmtime implements them unchanged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use rand_core::RngCore;

/// A wall clock: what `clock_time_get` answers for `realtime`.
pub trait HostWallClock: Send {
    /// The clock's resolution.
    fn resolution(&self) -> Duration;
    /// The time since the Unix epoch.
    fn now(&self) -> Duration;
}

/// A monotonic clock: what `clock_time_get` answers for `monotonic`, in
/// nanoseconds from any fixed point.
pub trait HostMonotonicClock: Send {
    /// The clock's resolution in nanoseconds.
    fn resolution(&self) -> u64;
    /// The current reading in nanoseconds; it never goes back.
    fn now(&self) -> u64;
}

/// What the host supplied; `None` for the system's own.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) wall: Option<Arc<Mutex<dyn HostWallClock>>>,
    pub(crate) monotonic: Option<Arc<Mutex<dyn HostMonotonicClock>>>,
    /// Shared by every context one builder builds.
    pub(crate) random: Option<Arc<Mutex<dyn RngCore + Send>>>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The clock behind `clock`, locked (a clock that panicked is still a
/// clock).
fn locked<T: ?Sized>(clock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    clock.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hooks {
    /// `clock_time_get`'s answer for `id` from a supplied clock, if the
    /// host supplied that clock.
    pub(crate) fn now(&self, id: u32) -> Option<u64> {
        use crate::types::clockid;
        match id {
            clockid::REALTIME => Some(nanos(locked(self.wall.as_ref()?).now())),
            clockid::MONOTONIC => Some(locked(self.monotonic.as_ref()?).now()),
            _ => None,
        }
    }

    /// `clock_res_get`'s answer for `id` from a supplied clock, if any.
    pub(crate) fn resolution(&self, id: u32) -> Option<u64> {
        use crate::types::clockid;
        match id {
            clockid::REALTIME => Some(nanos(locked(self.wall.as_ref()?).resolution())),
            clockid::MONOTONIC => Some(locked(self.monotonic.as_ref()?).resolution()),
            _ => None,
        }
    }
}
