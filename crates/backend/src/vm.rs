//! Runtime structures that compiled code reads and writes, with the layout
//! given by `wasm_jit_frontend::vmoffsets`, plus tables.

use wasm_jit_frontend::TableType;
use wasm_jit_frontend::vmoffsets;

/// Size of one slot of a value array (parameters and results of array calls).
pub const VAL_RAW_SIZE: usize = 16;

/// One untyped value in an array call: the value's little-endian bytes at
/// the start, zeros after. References are pointer-sized.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct ValRaw([u8; 16]);

impl std::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValRaw({:#x})", u128::from_le_bytes(self.0))
    }
}

impl ValRaw {
    /// From an `i32`.
    pub fn i32(v: i32) -> Self {
        Self::u64(v as u32 as u64)
    }
    /// From an `i64`.
    pub fn i64(v: i64) -> Self {
        Self::u64(v as u64)
    }
    /// From the bits of an `f32`.
    pub fn f32(bits: u32) -> Self {
        Self::u64(bits as u64)
    }
    /// From the bits of an `f64`.
    pub fn f64(bits: u64) -> Self {
        Self::u64(bits)
    }
    /// From a reference (pointer-sized).
    pub fn reference(r: usize) -> Self {
        Self::u64(r as u64)
    }
    /// From a v128.
    pub fn v128(v: u128) -> Self {
        ValRaw(v.to_le_bytes())
    }
    fn u64(v: u64) -> Self {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&v.to_le_bytes());
        ValRaw(b)
    }
    /// As an `i32`.
    pub fn get_i32(&self) -> i32 {
        i32::from_le_bytes(self.0[..4].try_into().unwrap())
    }
    /// As an `i64`.
    pub fn get_i64(&self) -> i64 {
        i64::from_le_bytes(self.0[..8].try_into().unwrap())
    }
    /// As `f32` bits.
    pub fn get_f32(&self) -> u32 {
        self.get_i32() as u32
    }
    /// As `f64` bits.
    pub fn get_f64(&self) -> u64 {
        self.get_i64() as u64
    }
    /// As a reference.
    pub fn get_ref(&self) -> usize {
        self.get_i64() as usize
    }
    /// As a v128.
    pub fn get_v128(&self) -> u128 {
        u128::from_le_bytes(self.0)
    }
}

/// Limits shared by everything running in one store.
#[derive(Debug)]
#[repr(C)]
pub struct VMLimits {
    /// Lowest stack address Wasm may use; `usize::MAX` outside Wasm.
    pub stack_limit: usize,
    /// The engine's epoch counter (another thread may advance it).
    pub epoch_ptr: *const std::sync::atomic::AtomicU64,
    /// Wasm compiled with epoch checks traps once the epoch reaches this.
    pub epoch_deadline: u64,
    /// Fuel left for Wasm compiled with fuel metering.
    pub fuel: i64,
    /// The store's GC heap; compiled code bumps its cursor (its first two
    /// fields) to allocate.
    pub gc: crate::gc::GcHeap,
    /// The embedder's veto over growth and allocation (not read by compiled
    /// code).
    pub growth: Option<GrowthFn>,
    /// The store calling into the runtime right now, as the embedding layer
    /// hands it down: for the duration of each call into Wasm (or into the
    /// runtime, such as a memory growth), a pointer derived from the
    /// caller's exclusive borrow of its store, restored afterwards; null
    /// when nobody is calling in. Host functions and the growth hook reach
    /// the store only through it, never through a pointer kept from
    /// earlier (not read by compiled code).
    pub store: *mut u8,
    /// The embedder's answer when the epoch reaches the deadline (not read
    /// by compiled code); without one, Wasm traps with `Interrupted`.
    pub epoch_hook: Option<EpochFn>,
    /// Where the `exnref`s of the store's running Wasm can be (not read by
    /// compiled code; see [`ExnRoots`]).
    pub exn_roots: ExnRoots,
    /// Whether `stack_limit` gives Wasm the larger budget of quick
    /// first-tier code (not read by compiled code; see
    /// `traps::call_wasm`).
    pub stack_scaled: bool,
}

/// What an instance needs to know to reclaim exceptions that `exnref`s no
/// longer reach (`Instance::collect_exceptions`): the store's Wasm frames
/// lie between the current stack pointer and `stack_top`, on one thread.
#[derive(Debug, Default)]
pub struct ExnRoots {
    /// Nesting depth of calls into the store's Wasm (`call_wasm`).
    pub depth: u32,
    /// The thread of the outermost one (an address unique to it).
    pub thread: usize,
    /// The stack pointer at the outermost one: every frame of the store's
    /// Wasm is below it.
    pub stack_top: usize,
    /// Set for good once an `exnref` may be elsewhere: a module whose
    /// globals, tables, GC fields or tag payloads can hold one was
    /// instantiated in the store, or another thread, or Wasm on another
    /// stack, entered the store's Wasm while this one was in it.
    pub unreachable: bool,
}

/// Asked, through `store` ([`VMLimits::store`]), when Wasm finds the epoch
/// at or past its deadline: `Ok(true)` after the hook set a new deadline
/// (execution goes on), `Ok(false)` to trap with `Interrupted`, `Err` to
/// trap with that error.
pub type EpochFn = unsafe fn(store: *mut u8) -> Result<bool, HostError>;

/// What a [`GrowthFn`] is asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    /// A memory growing (sizes in bytes).
    Memory,
    /// A table growing (sizes in elements).
    Table,
    /// The store's number of instances growing by one.
    Instances,
    /// The store's number of memories growing by one.
    Memories,
    /// The store's number of tables growing by one.
    Tables,
}

/// An error the embedder's growth hook returned: it reaches whoever called
/// into Wasm as a host function's error does (the backend passes it through
/// unchanged; the API adds the Wasm frames as context).
pub type HostError = Box<dyn std::any::Any + Send>;

/// What the embedder's growth hook is told.
#[derive(Debug)]
pub enum Growth {
    /// Something wants to grow from `current` to `desired` (up to `maximum`
    /// if it has one): `Ok(false)` refuses (`memory.grow` and `table.grow`
    /// then return -1, creation fails), `Err` traps (or fails creation)
    /// with that error.
    Asking {
        /// What grows.
        kind: ResourceKind,
        /// Its size now.
        current: usize,
        /// The size asked for.
        desired: usize,
        /// Its declared maximum, if any.
        maximum: Option<usize>,
    },
    /// A growth the hook allowed failed anyway (past the maximum, or the
    /// host could not provide the memory): `Ok` lets the growth return -1,
    /// `Err` traps with that error.
    Failed {
        /// What failed to grow.
        kind: ResourceKind,
        /// Why.
        error: String,
    },
}

/// The embedder's hook over growth and allocation, called through `store`
/// ([`VMLimits::store`]); see [`Growth`] for what it answers.
pub type GrowthFn = unsafe fn(store: *mut u8, growth: Growth) -> Result<bool, HostError>;

impl VMLimits {
    /// Whether the embedder allows a growth (always, without a hook; never
    /// when nobody is calling in, as there is nobody to ask).
    pub fn allows(
        &self,
        kind: ResourceKind,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, HostError> {
        self.ask(
            Growth::Asking {
                kind,
                current,
                desired,
                maximum,
            },
            false,
        )
    }

    /// A zeroed GC object of `size` bytes with its header filled (see
    /// [`GcHeap::alloc`](crate::gc::GcHeap::alloc)); each step the heap
    /// takes is asked of the embedder as a memory growing. `None`: larger
    /// than the heap's limit (`AllocationTooLarge`); refused, or past what
    /// is left of the limit, a [`HeapFull`](crate::gc::HeapFull) error.
    pub fn gc_alloc(
        &self,
        size: u64,
        type_id: u32,
        kind: u32,
        len: u32,
    ) -> Result<Option<*mut u8>, HostError> {
        let allow = |current, desired| {
            self.allows(
                ResourceKind::Memory,
                current,
                desired,
                Some(self.gc.limit()),
            )
        };
        let failed = |e| self.grow_failed(ResourceKind::Memory, e);
        self.gc.alloc(size, type_id, kind, len, allow, failed)
    }

    /// Tells the embedder that a growth it allowed failed; `Err` is its
    /// decision to trap.
    pub fn grow_failed(&self, kind: ResourceKind, error: String) -> Result<(), HostError> {
        self.ask(Growth::Failed { kind, error }, true).map(|_| ())
    }

    fn ask(&self, growth: Growth, nobody_calling: bool) -> Result<bool, HostError> {
        match self.growth {
            None => Ok(true),
            Some(_) if self.store.is_null() => Ok(nobody_calling),
            // SAFETY: the hook was installed by the store that owns these
            // limits, and `store` is that store, handed down for the call in
            // progress (see the field).
            Some(f) => unsafe { f(self.store, growth) },
        }
    }
}

impl VMLimits {
    /// Limits reading the epoch counter at `epoch_ptr`, with no deadline,
    /// and an empty GC heap whose casts ask `types`.
    pub fn new(
        epoch_ptr: *const std::sync::atomic::AtomicU64,
        types: std::sync::Arc<crate::module::TypeRegistry>,
    ) -> Self {
        VMLimits {
            stack_limit: usize::MAX,
            epoch_ptr,
            epoch_deadline: u64::MAX,
            fuel: 0,
            growth: None,
            store: std::ptr::null_mut(),
            epoch_hook: None,
            exn_roots: ExnRoots::default(),
            stack_scaled: false,
            gc: crate::gc::GcHeap::new(types, crate::gc::DEFAULT_GC_HEAP_LIMIT),
        }
    }
}

const _: () =
    assert!(std::mem::offset_of!(VMLimits, stack_limit) == vmoffsets::limits::STACK_LIMIT as usize);
const _: () =
    assert!(std::mem::offset_of!(VMLimits, epoch_ptr) == vmoffsets::limits::EPOCH_PTR as usize);
const _: () = assert!(
    std::mem::offset_of!(VMLimits, epoch_deadline) == vmoffsets::limits::EPOCH_DEADLINE as usize
);
const _: () = assert!(std::mem::offset_of!(VMLimits, fuel) == vmoffsets::limits::FUEL as usize);
const _: () = assert!(
    std::mem::offset_of!(VMLimits, gc) + std::mem::offset_of!(crate::gc::GcHeap, next)
        == vmoffsets::limits::GC_NEXT as usize
);
const _: () = assert!(
    std::mem::offset_of!(VMLimits, gc) + std::mem::offset_of!(crate::gc::GcHeap, end)
        == vmoffsets::limits::GC_END as usize
);

/// The part of a linear memory compiled code reads.
#[derive(Debug)]
#[repr(C)]
pub struct VMMemoryDefinition {
    /// First byte of the memory.
    pub base: *mut u8,
    /// Accessible length in bytes (atomic: a shared memory grows while
    /// other threads read it).
    pub length: std::sync::atomic::AtomicUsize,
}

const _: () =
    assert!(std::mem::offset_of!(VMMemoryDefinition, base) == vmoffsets::memory::BASE as usize);
const _: () =
    assert!(std::mem::offset_of!(VMMemoryDefinition, length) == vmoffsets::memory::LENGTH as usize);

/// The part of a table compiled code reads.
#[derive(Debug)]
#[repr(C)]
pub struct VMTableDefinition {
    /// First element.
    pub base: *mut usize,
    /// Number of elements.
    pub length: usize,
}

const _: () =
    assert!(std::mem::offset_of!(VMTableDefinition, base) == vmoffsets::table::BASE as usize);
const _: () =
    assert!(std::mem::offset_of!(VMTableDefinition, length) == vmoffsets::table::LENGTH as usize);

/// What a `funcref` points to.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct VMFuncRef {
    /// Code with the Wasm calling convention.
    pub func_ptr: *const u8,
    /// Engine-wide canonical type id.
    pub type_id: u32,
    /// Index of the function among those its module defines (for compiling
    /// it on first call); `u32::MAX` for host functions.
    pub def_index: u32,
    /// Context passed as the callee's first argument.
    pub vmctx: *mut u8,
}

const _: () =
    assert!(std::mem::offset_of!(VMFuncRef, func_ptr) == vmoffsets::funcref::FUNC_PTR as usize);
const _: () =
    assert!(std::mem::offset_of!(VMFuncRef, type_id) == vmoffsets::funcref::TYPE_ID as usize);
const _: () =
    assert!(std::mem::offset_of!(VMFuncRef, def_index) == vmoffsets::funcref::DEF_INDEX as usize);
const _: () = assert!(std::mem::offset_of!(VMFuncRef, vmctx) == vmoffsets::funcref::VMCTX as usize);
const _: () = assert!(std::mem::size_of::<VMFuncRef>() == vmoffsets::funcref::SIZE);

/// An exception tag: its address is its identity (an imported tag is the
/// exporter's), and it records the canonical type of its payload.
#[derive(Debug)]
#[repr(C)]
pub struct VMTag {
    /// Canonical id of the function type whose parameters are the payload.
    pub type_id: u32,
}

/// Storage of one global.
#[derive(Debug, Default)]
#[repr(C, align(16))]
pub struct VMGlobal {
    /// The value.
    pub value: ValRaw,
}

const _: () = assert!(std::mem::size_of::<VMGlobal>() == vmoffsets::GLOBAL_SIZE);

/// A table of references. Boxed by its owner so its definition stays put.
#[derive(Debug)]
pub struct Table {
    def: VMTableDefinition,
    elements: Vec<usize>,
    ty: TableType,
    maximum: u64,
}

// SAFETY: the table owns its elements; references are plain addresses whose
// targets are owned by the same store.
unsafe impl Send for Table {}
// SAFETY: as above.
unsafe impl Sync for Table {}

impl Table {
    /// A table of `ty.minimum` elements set to `init`, never growing past
    /// `limit` elements.
    pub fn new(ty: TableType, init: usize, limit: u64) -> Result<Self, String> {
        let maximum = ty.maximum.unwrap_or(u32::MAX as u64).min(limit);
        if ty.minimum > maximum {
            return Err(format!(
                "table minimum of {} elements exceeds the limit of {maximum}",
                ty.minimum
            ));
        }
        let n = usize::try_from(ty.minimum).map_err(|_| "table too large".to_string())?;
        let elements = if init == 0 {
            // Null elements: zeroed memory from the allocator, which the
            // system hands out untouched, so a huge table that is never
            // used costs address space, not memory.
            vec![0usize; n]
        } else {
            let mut elements = Vec::new();
            elements
                .try_reserve_exact(n)
                .map_err(|_| "cannot allocate table".to_string())?;
            elements.resize(n, init);
            elements
        };
        let mut t = Table {
            def: VMTableDefinition {
                base: std::ptr::null_mut(),
                length: 0,
            },
            elements,
            ty,
            maximum,
        };
        t.sync();
        Ok(t)
    }

    fn sync(&mut self) {
        self.def.base = self.elements.as_mut_ptr();
        self.def.length = self.elements.len();
    }

    /// The structure compiled code reads.
    pub fn definition(&mut self) -> *mut VMTableDefinition {
        &mut self.def
    }

    /// The table's type as import matching sees it: the current size as
    /// minimum and the declared maximum.
    pub fn ty(&self) -> TableType {
        TableType {
            minimum: self.elements.len() as u64,
            ..self.ty
        }
    }

    /// The largest size this table may grow to.
    pub fn maximum(&self) -> u64 {
        self.maximum
    }

    /// Elements.
    pub fn elements(&self) -> &[usize] {
        &self.elements
    }

    /// Elements, mutably.
    pub fn elements_mut(&mut self) -> &mut [usize] {
        &mut self.elements
    }

    /// The `len` elements from `at`, if they are all in bounds (what
    /// `table.fill` and `table.copy` check before they write anything).
    pub fn range(&self, at: u64, len: u64) -> Option<std::ops::Range<usize>> {
        let end = at.checked_add(len)?;
        (end <= self.elements.len() as u64).then_some(at as usize..end as usize)
    }

    /// `table.fill`: sets `len` elements from `dst` to `val`, or, when they
    /// are not all in bounds, nothing (and returns false).
    pub fn fill(&mut self, dst: u64, val: usize, len: u64) -> bool {
        let Some(range) = self.range(dst, len) else {
            return false;
        };
        self.elements[range].fill(val);
        true
    }

    /// Grows by `delta` elements set to `init`; returns the old size or
    /// `None` when it cannot.
    pub fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.elements.len() as u64;
        let new = old.checked_add(delta)?;
        if new > self.maximum {
            return None;
        }
        self.elements.try_reserve(delta as usize).ok()?;
        self.elements.resize(new as usize, init);
        self.sync();
        Some(old)
    }
}
