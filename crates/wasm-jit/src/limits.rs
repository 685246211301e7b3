//! Per-store resource limits.

use std::panic::AssertUnwindSafe;

use wasm_jit_backend::{Growth, HostError, ResourceKind};

use crate::store::StoreInner;
use crate::trap::host_payload;

/// Most instances a store may hold, unless its limiter says otherwise
/// ([`ResourceLimiter::instances`]' default; Wasmtime's).
pub const DEFAULT_INSTANCE_LIMIT: usize = 10_000;
/// Most tables a store's instances may define (tables the host makes with
/// `Table::new` are not counted), unless its limiter says otherwise
/// ([`ResourceLimiter::tables`]' default; Wasmtime's).
pub const DEFAULT_TABLE_LIMIT: usize = 10_000;
/// Most memories a store's instances may define (as
/// [`DEFAULT_TABLE_LIMIT`]; `Memory::new`'s are not counted), unless its
/// limiter says otherwise ([`ResourceLimiter::memories`]' default;
/// Wasmtime's).
pub const DEFAULT_MEMORY_LIMIT: usize = 10_000;

/// Decides how far a store's memories and tables may grow and how many
/// instances, memories and tables it may have. Install one with
/// [`Store::limiter`](crate::Store::limiter).
///
/// Refusing a growth (`Ok(false)`) makes `memory.grow` / `table.grow` return
/// -1 in the guest, as the specification requires, makes
/// [`Memory::grow`](crate::Memory::grow) / [`Table::grow`](crate::Table::grow)
/// fail, and makes instantiation fail when an initial size or a count is
/// refused. Returning `Err` instead traps the guest (or fails the host's
/// call or the instantiation) with that error, which the embedder gets back
/// (from a call, with a [`WasmBacktrace`](crate::WasmBacktrace) as
/// context). The methods are Wasmtime's, with its signatures.
pub trait ResourceLimiter {
    /// A memory wants to grow from `current` to `desired` bytes (`maximum`
    /// is its declared maximum). Return whether it may. Asked before the
    /// maximum is checked, so `desired` may exceed it.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> anyhow::Result<bool>;
    /// A growth [`memory_growing`](Self::memory_growing) allowed failed
    /// anyway (past the maximum, or no memory to be had): `Ok` lets it
    /// return -1, `Err` traps.
    fn memory_grow_failed(&mut self, error: anyhow::Error) -> anyhow::Result<()> {
        let _ = error;
        Ok(())
    }
    /// A table wants to grow from `current` to `desired` elements.
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> anyhow::Result<bool>;
    /// As [`memory_grow_failed`](Self::memory_grow_failed), for tables.
    fn table_grow_failed(&mut self, error: anyhow::Error) -> anyhow::Result<()> {
        let _ = error;
        Ok(())
    }
    /// Most instances the store may hold ([`DEFAULT_INSTANCE_LIMIT`]).
    fn instances(&self) -> usize {
        DEFAULT_INSTANCE_LIMIT
    }
    /// Most memories the store's instances may define ([`DEFAULT_MEMORY_LIMIT`]).
    fn memories(&self) -> usize {
        DEFAULT_MEMORY_LIMIT
    }
    /// Most tables the store's instances may define ([`DEFAULT_TABLE_LIMIT`]).
    fn tables(&self) -> usize {
        DEFAULT_TABLE_LIMIT
    }
}

/// Fixed caps, built with [`StoreLimitsBuilder`].
#[derive(Clone, Debug)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
    instances: usize,
    memories: usize,
    tables: usize,
    trap_on_grow_failure: bool,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            memory_size: None,
            table_elements: None,
            instances: DEFAULT_INSTANCE_LIMIT,
            memories: DEFAULT_MEMORY_LIMIT,
            tables: DEFAULT_TABLE_LIMIT,
            trap_on_grow_failure: false,
        }
    }
}

impl StoreLimits {
    fn grow(&self, what: &str, desired: usize, limit: Option<usize>) -> anyhow::Result<bool> {
        match limit {
            Some(limit) if desired > limit => {
                if self.trap_on_grow_failure {
                    anyhow::bail!(
                        "forcing trap when growing {what} to {desired}: the limit is {limit}"
                    )
                }
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    /// A growth failed: a trap if these limits say so.
    fn failed(&self, error: anyhow::Error) -> anyhow::Result<()> {
        if self.trap_on_grow_failure {
            Err(error)
        } else {
            Ok(())
        }
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> anyhow::Result<bool> {
        self.grow("memory (bytes)", desired, self.memory_size)
    }
    fn memory_grow_failed(&mut self, error: anyhow::Error) -> anyhow::Result<()> {
        self.failed(error)
    }
    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> anyhow::Result<bool> {
        self.grow("table (elements)", desired, self.table_elements)
    }
    fn table_grow_failed(&mut self, error: anyhow::Error) -> anyhow::Result<()> {
        self.failed(error)
    }
    fn instances(&self) -> usize {
        self.instances
    }
    fn memories(&self) -> usize {
        self.memories
    }
    fn tables(&self) -> usize {
        self.tables
    }
}

/// Builds [`StoreLimits`].
#[derive(Clone, Debug, Default)]
pub struct StoreLimitsBuilder(StoreLimits);

impl StoreLimitsBuilder {
    /// No limits yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Most bytes any one memory may have.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }
    /// Most elements any one table may have.
    pub fn table_elements(mut self, elements: usize) -> Self {
        self.0.table_elements = Some(elements);
        self
    }
    /// Most instances in the store.
    pub fn instances(mut self, n: usize) -> Self {
        self.0.instances = n;
        self
    }
    /// Most memories the store's instances may define (those the host
    /// makes are not counted).
    pub fn memories(mut self, n: usize) -> Self {
        self.0.memories = n;
        self
    }
    /// Most tables the store's instances may define (those the host makes
    /// are not counted).
    pub fn tables(mut self, n: usize) -> Self {
        self.0.tables = n;
        self
    }
    /// Whether a growth refused by these limits, or failing for another
    /// reason, traps the guest (and fails the host's call) instead of
    /// returning -1. Off by default.
    pub fn trap_on_grow_failure(mut self, trap: bool) -> Self {
        self.0.trap_on_grow_failure = trap;
        self
    }
    /// The limits.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

/// How a store finds its limiter in its data.
pub(crate) type LimiterFn<T> = Box<dyn (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync>;

/// The growth hook the runtime calls, for a `Store<T>`.
///
/// It borrows only the store's `limiter` and `data` fields, never the whole
/// store: whoever is growing something holds `&mut` to the store's
/// `opaque` part (the memory or table being grown lives there). A panic of
/// the limiter is caught here (the runtime may have Wasm frames below) and
/// resumes in the embedder's call.
///
/// # Safety
/// `store` must be the `StoreInner<T>` that installed this hook, handed down
/// by [`StoreInner::enter`] for the call in progress, whose caller holds no
/// borrow of `limiter` or `data`.
pub(crate) unsafe fn growth_hook<T>(store: *mut u8, growth: Growth) -> Result<bool, HostError> {
    let inner = store.cast::<StoreInner<T>>();
    // SAFETY: per the contract, the two fields are not otherwise borrowed;
    // a place through the raw pointer borrows just the field, not the store.
    let (limiter, data) = unsafe { (&mut (*inner).limiter, &mut (*inner).data) };
    let Some(get) = limiter else { return Ok(true) };
    let asked = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let l = get(data);
        match growth {
            Growth::Asking {
                kind,
                current,
                desired,
                maximum,
            } => match kind {
                ResourceKind::Memory => l.memory_growing(current, desired, maximum),
                ResourceKind::Table => l.table_growing(current, desired, maximum),
                ResourceKind::Instances => Ok(desired <= l.instances()),
                ResourceKind::Memories => Ok(desired <= l.memories()),
                ResourceKind::Tables => Ok(desired <= l.tables()),
            },
            Growth::Failed { kind, error } => {
                let error = anyhow::Error::msg(error);
                match kind {
                    ResourceKind::Table => l.table_grow_failed(error),
                    _ => l.memory_grow_failed(error),
                }
                .map(|()| false)
            }
        }
    }));
    host_payload(asked)
}
