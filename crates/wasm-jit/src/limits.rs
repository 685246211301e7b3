//! Per-store resource limits.

use wasm_jit_backend::ResourceKind;

use crate::store::StoreInner;

/// Decides how far a store's memories and tables may grow and how many
/// instances, memories and tables it may have. Install one with
/// [`Store::limiter`](crate::Store::limiter).
///
/// Refusing a growth makes `memory.grow` / `table.grow` return -1 in the
/// guest, as the specification requires, and makes instantiation fail with
/// an error when an initial size or a count is refused.
pub trait ResourceLimiter: Send {
    /// A memory wants to grow from `current` to `desired` bytes (`maximum`
    /// is its declared maximum). Return whether it may.
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;
    /// A table wants to grow from `current` to `desired` elements.
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;
    /// Most instances the store may hold.
    fn instances(&self) -> usize {
        10_000_000
    }
    /// Most memories the store may hold.
    fn memories(&self) -> usize {
        10_000_000
    }
    /// Most tables the store may hold.
    fn tables(&self) -> usize {
        10_000_000
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
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            memory_size: None,
            table_elements: None,
            instances: 10_000_000,
            memories: 10_000_000,
            tables: 10_000_000,
        }
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> bool {
        self.memory_size.is_none_or(|m| desired <= m)
    }
    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> bool {
        self.table_elements.is_none_or(|m| desired <= m)
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
    /// Most memories in the store.
    pub fn memories(mut self, n: usize) -> Self {
        self.0.memories = n;
        self
    }
    /// Most tables in the store.
    pub fn tables(mut self, n: usize) -> Self {
        self.0.tables = n;
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
/// `opaque` part (the memory or table being grown lives there).
///
/// # Safety
/// `store` must be the `StoreInner<T>` that installed this hook, handed down
/// by [`StoreInner::enter`] for the call in progress, whose caller holds no
/// borrow of `limiter` or `data`.
pub(crate) unsafe fn growth_hook<T>(
    store: *mut u8,
    kind: ResourceKind,
    current: usize,
    desired: usize,
    maximum: Option<usize>,
) -> bool {
    let inner = store.cast::<StoreInner<T>>();
    // SAFETY: per the contract, the two fields are not otherwise borrowed;
    // a place through the raw pointer borrows just the field, not the store.
    let (limiter, data) = unsafe { (&mut (*inner).limiter, &mut (*inner).data) };
    let Some(get) = limiter else { return true };
    let l = get(data);
    match kind {
        ResourceKind::Memory => l.memory_growing(current, desired, maximum),
        ResourceKind::Table => l.table_growing(current, desired, maximum),
        ResourceKind::Instances => desired <= l.instances(),
        ResourceKind::Memories => desired <= l.memories(),
        ResourceKind::Tables => desired <= l.tables(),
    }
}
