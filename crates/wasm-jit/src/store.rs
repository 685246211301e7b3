//! Stores: the owner of every instance, memory, table, global and function
//! created in it, plus the embedder's data.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use wasm_jit_backend::{
    Instance as RawInstance, LinearMemory, Table as RawTable, VMFuncRef, VMGlobal, VMLimits, VMTag,
};

use crate::Engine;
use crate::types::{FuncType, GlobalType};

/// A handle's position in a store, with the store's id to catch mixing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Stored {
    pub(crate) store_id: u64,
    pub(crate) index: usize,
}

pub(crate) struct FuncData {
    pub(crate) funcref: *const VMFuncRef,
    /// Its type, references as canonical ids.
    pub(crate) ty: FuncType,
    /// The engine's id of `ty`.
    pub(crate) type_id: u32,
    /// The host-to-Wasm trampoline for `ty`, looked up on first call.
    pub(crate) trampoline: Option<wasm_jit_backend::ArrayTrampoline>,
}

pub(crate) struct TagData {
    pub(crate) ptr: *const VMTag,
    /// The payload's type, references as canonical ids.
    pub(crate) ty: FuncType,
    /// The engine's id of `ty`.
    pub(crate) type_id: u32,
}

pub(crate) struct GlobalData {
    pub(crate) ptr: *mut VMGlobal,
    pub(crate) ty: GlobalType,
}

/// A shared memory a store imports, counted as a handle on it while the
/// store lives (`LinearMemory::hold`).
pub(crate) struct KeptMemory(pub(crate) std::sync::Arc<LinearMemory>);

impl Drop for KeptMemory {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Everything of a store that does not depend on the data type `T`.
///
/// Instances, memories, tables and globals are boxed: compiled code holds
/// their addresses, which must not change as the vectors grow.
#[allow(clippy::vec_box)]
pub struct StoreOpaque {
    pub(crate) id: u64,
    pub(crate) engine: Engine,
    pub(crate) limits: LimitsBox,
    pub(crate) instances: Vec<Box<RawInstance>>,
    pub(crate) instance_by_vmctx: HashMap<usize, usize>,
    pub(crate) funcs: Vec<FuncData>,
    pub(crate) func_by_ref: HashMap<usize, usize>,
    pub(crate) memories: Vec<*mut LinearMemory>,
    pub(crate) memory_by_ptr: HashMap<usize, usize>,
    pub(crate) tables: Vec<*mut RawTable>,
    pub(crate) table_by_ptr: HashMap<usize, usize>,
    pub(crate) globals: Vec<GlobalData>,
    pub(crate) global_by_ptr: HashMap<usize, usize>,
    pub(crate) tags: Vec<TagData>,
    pub(crate) tag_by_ptr: HashMap<usize, usize>,
    pub(crate) owned_tags: Vec<Box<VMTag>>,
    /// Exceptions that reached the host as `exnref` values (addresses of
    /// `VMException`s), and their indices.
    pub(crate) exnrefs: Vec<usize>,
    pub(crate) exnref_by_ptr: HashMap<usize, usize>,
    /// Exceptions made by the host (`Exception::new`).
    pub(crate) owned_exceptions: Vec<Box<wasm_jit_backend::exceptions::VMException>>,
    pub(crate) owned_memories: Vec<Box<LinearMemory>>,
    /// Shared memories its instances import (other stores may hold them
    /// too).
    pub(crate) shared_memories: Vec<KeptMemory>,
    pub(crate) owned_tables: Vec<Box<RawTable>>,
    pub(crate) owned_globals: Vec<Box<VMGlobal>>,
    /// Host function contexts (`HostFuncCtx<T>`), kept alive and addressable.
    pub(crate) host_funcs: Vec<Box<dyn Any>>,
    pub(crate) externrefs: Vec<Box<dyn Any + Send + Sync>>,
    /// The store's call hook, through the store calling in (see
    /// [`Store::call_hook`]); `None` without one.
    pub(crate) call_hook: Option<CallHookFn>,
    /// What `max_wasm_stack` is multiplied by: [`QUICK_STACK_SCALE`] once
    /// an instance whose code may be quick is in the store, else 1.
    pub(crate) stack_scale: usize,
    /// One entry per host function called from Wasm that is running,
    /// outermost first: the frame pointer of its trampoline, whose caller
    /// is the Wasm that called it
    /// ([`WasmBacktrace::capture`](crate::WasmBacktrace::capture) walks
    /// each in turn, innermost first, so it lists every activation); 0 for
    /// an epoch callback, where the walk stops.
    pub(crate) host_fps: Vec<usize>,
}

/// How many times `Config::max_wasm_stack` Wasm may use in a store with
/// quick first-tier code (`Config::first_tier`). The single-pass allocator
/// gives every spilled value a slot of its own, so quick frames are larger
/// than optimised ones (in clang's module, a median of 1.9 KiB against a
/// few hundred bytes for bodies of 1-2 KB; 20-40 times larger in large
/// functions, such as an interpreter's loop), and a guest that fits the
/// budget in optimised code must not run out of it because some of its
/// code was still quick (Lua's error-handler recursion, 200 C calls deep
/// through its 11 KiB quick interpreter frame, needs more than eight
/// times 512 KiB). The limit stays inside the thread's real stack: the CLI
/// runs on a thread of 64 MiB.
pub(crate) const QUICK_STACK_SCALE: usize = 32;

/// Runs a `Store<T>`'s call hook, given that store (as `enter` hands it
/// down).
pub(crate) type CallHookFn = unsafe fn(store: *mut u8, kind: CallHook) -> anyhow::Result<()>;

// SAFETY: the raw pointers in a store point to objects the store owns (or
// to its engine's epoch counter, which is `Sync`); nothing in it is tied to
// the thread that created it, and a store is used by one thread at a time.
unsafe impl Send for StoreOpaque {}

impl std::fmt::Debug for StoreOpaque {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.id)
            .field("instances", &self.instances.len())
            .finish_non_exhaustive()
    }
}

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// The store's `VMLimits`, owned through a raw pointer rather than a `Box`:
/// compiled code (through every instance's context) and host function
/// contexts keep copies of its address, and a `Box` would claim unique
/// access each time it is used, invalidating them.
pub(crate) struct LimitsBox(std::ptr::NonNull<VMLimits>);

impl LimitsBox {
    fn new(limits: VMLimits) -> LimitsBox {
        LimitsBox(std::ptr::NonNull::from(Box::leak(Box::new(limits))))
    }

    /// The address compiled code and host function contexts keep.
    pub(crate) fn as_ptr(&self) -> *mut VMLimits {
        self.0.as_ptr()
    }
}

impl std::ops::Deref for LimitsBox {
    type Target = VMLimits;
    fn deref(&self) -> &VMLimits {
        // SAFETY: allocated in `new`, freed only in `drop`; nothing else
        // writes it while this shared borrow (of the owning store) lives.
        unsafe { self.0.as_ref() }
    }
}

impl std::ops::DerefMut for LimitsBox {
    fn deref_mut(&mut self) -> &mut VMLimits {
        // SAFETY: as above; the `&mut` of the owning store rules out other
        // borrows, and compiled code only runs while no such borrow is used.
        unsafe { self.0.as_mut() }
    }
}

impl Drop for LimitsBox {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box` in `new` and freed once, here, when the
        // store drops; no Wasm runs then, and nothing dropped with the store
        // (instances, host function contexts) reads the limits.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl StoreOpaque {
    fn set_fuel(&mut self, fuel: u64) -> anyhow::Result<()> {
        if !self.engine.config().consume_fuel {
            anyhow::bail!("fuel is not enabled: use Config::consume_fuel(true)");
        }
        self.limits.fuel = i64::try_from(fuel).unwrap_or(i64::MAX);
        Ok(())
    }

    fn get_fuel(&self) -> anyhow::Result<u64> {
        if !self.engine.config().consume_fuel {
            anyhow::bail!("fuel is not enabled: use Config::consume_fuel(true)");
        }
        Ok(self.limits.fuel.max(0) as u64)
    }

    pub(crate) fn check(&self, s: Stored) -> usize {
        self.check_id(s.store_id);
        s.index
    }

    /// Panics unless `store_id` is this store's (for references, which
    /// carry a store id beside their word rather than an index).
    pub(crate) fn check_id(&self, store_id: u64) {
        assert_eq!(
            store_id, self.id,
            "wasm-jit: object used with a store it does not belong to"
        );
    }

    pub(crate) fn stored(&self, index: usize) -> Stored {
        Stored {
            store_id: self.id,
            index,
        }
    }

    /// The store index of the function whose `VMFuncRef` is `funcref`.
    pub(crate) fn func_for_ref(&mut self, funcref: *const VMFuncRef) -> Stored {
        if let Some(&i) = self.func_by_ref.get(&(funcref as usize)) {
            return self.stored(i);
        }
        // SAFETY: non-null funcrefs handed out by this store's code point to
        // live VMFuncRefs owned by the store.
        let type_id = unsafe { (*funcref).type_id };
        let ty = self.engine.inner().types.get(type_id);
        self.add_func(funcref, ty.into(), type_id)
    }

    /// Records a function of type `ty` (the engine's type `type_id`) whose
    /// `VMFuncRef` is `funcref`.
    pub(crate) fn add_func(
        &mut self,
        funcref: *const VMFuncRef,
        ty: FuncType,
        type_id: u32,
    ) -> Stored {
        self.funcs.push(FuncData {
            funcref,
            ty,
            type_id,
            trampoline: None,
        });
        let i = self.funcs.len() - 1;
        self.func_by_ref.insert(funcref as usize, i);
        self.stored(i)
    }

    pub(crate) fn memory_for_ptr(&mut self, ptr: *mut LinearMemory) -> Stored {
        let i = *self.memory_by_ptr.entry(ptr as usize).or_insert_with(|| {
            self.memories.push(ptr);
            self.memories.len() - 1
        });
        self.stored(i)
    }

    pub(crate) fn table_for_ptr(&mut self, ptr: *mut RawTable) -> Stored {
        let i = *self.table_by_ptr.entry(ptr as usize).or_insert_with(|| {
            self.tables.push(ptr);
            self.tables.len() - 1
        });
        self.stored(i)
    }

    pub(crate) fn tag_for_ptr(&mut self, ptr: *const VMTag) -> Stored {
        let i = match self.tag_by_ptr.get(&(ptr as usize)) {
            Some(&i) => i,
            None => {
                // SAFETY: tag pointers handed out by this store's instances
                // and host tags point to live VMTags the store owns.
                let type_id = unsafe { (*ptr).type_id };
                let ty = self.engine.inner().types.get(type_id);
                self.tags.push(TagData {
                    ptr,
                    ty: ty.into(),
                    type_id,
                });
                self.tag_by_ptr.insert(ptr as usize, self.tags.len() - 1);
                self.tags.len() - 1
            }
        };
        self.stored(i)
    }

    /// The handle of exception `ptr` (an `exnref` Wasm handed out, which
    /// therefore lives as long as the store).
    pub(crate) fn exnref_for_ptr(&mut self, ptr: usize) -> Stored {
        // The host may keep it from now on: its instance must not reclaim
        // it.
        // SAFETY: `ptr` is a non-null `exnref` this store's Wasm produced:
        // an exception that lives as long as its instance, which the store
        // keeps.
        unsafe { wasm_jit_backend::exceptions::pin(ptr as *const _) };
        let i = *self.exnref_by_ptr.entry(ptr).or_insert_with(|| {
            self.exnrefs.push(ptr);
            self.exnrefs.len() - 1
        });
        self.stored(i)
    }

    pub(crate) fn global_for_ptr(&mut self, ptr: *mut VMGlobal, ty: GlobalType) -> Stored {
        let i = *self.global_by_ptr.entry(ptr as usize).or_insert_with(|| {
            self.globals.push(GlobalData { ptr, ty });
            self.globals.len() - 1
        });
        self.stored(i)
    }

    /// The trampoline that calls function `index` of the store from the host.
    pub(crate) fn trampoline(
        &mut self,
        index: usize,
    ) -> anyhow::Result<wasm_jit_backend::ArrayTrampoline> {
        if let Some(t) = self.funcs[index].trampoline {
            return Ok(t);
        }
        let t = self.engine.array_trampoline(self.funcs[index].ty.raw())?;
        self.funcs[index].trampoline = Some(t);
        Ok(t)
    }

    /// How many items its instances define, given a module's (all, imported) counts.
    fn defined_in_instances(
        &self,
        counts: impl Fn(&wasm_jit_frontend::ModuleInfo) -> (usize, u32),
    ) -> usize {
        self.instances
            .iter()
            .map(|i| {
                let (all, imported) = counts(&i.module().info);
                all - imported as usize
            })
            .sum()
    }

    /// Memories the store's instances define: what the store's count of
    /// memories limits. As in Wasmtime, memories the host made with
    /// `Memory::new` are not counted.
    pub(crate) fn memory_count(&self) -> usize {
        self.defined_in_instances(|m| (m.memories.len(), m.num_imported_memories))
    }

    /// Tables the store's instances define (as [`StoreOpaque::memory_count`]).
    pub(crate) fn table_count(&self) -> usize {
        self.defined_in_instances(|m| (m.tables.len(), m.num_imported_tables))
    }

    pub(crate) fn memory(&self, index: usize) -> &LinearMemory {
        // SAFETY: memory pointers stay valid while the store lives.
        unsafe { &*self.memories[index] }
    }

    /// The accessible bytes of memory `index`, mutably: a [`Memory`]'s,
    /// never a shared memory's (those are `SharedMemory`s, whose bytes
    /// other threads may change at any time).
    pub(crate) fn memory_bytes_mut(&mut self, index: usize) -> &mut [u8] {
        let m = self.memory(index);
        let (base, len) = (m.base(), m.byte_size());
        if len == 0 {
            return &mut [];
        }
        // SAFETY: [base, base + len) is the accessible part of a memory of
        // this store that is not shared (`Memory` handles never name a
        // shared one), a mapping apart from the store; `&mut self` is
        // borrowed for as long as the slice, so nothing else reaches those
        // bytes meanwhile.
        unsafe { std::slice::from_raw_parts_mut(base, len) }
    }

    /// Keeps the shared memory `memory` alive as long as the store (an
    /// instance imports it) and returns where it is.
    pub(crate) fn keep_shared_memory(
        &mut self,
        memory: &std::sync::Arc<LinearMemory>,
    ) -> *mut LinearMemory {
        let ptr = std::sync::Arc::as_ptr(memory);
        if !self
            .shared_memories
            .iter()
            .any(|m| std::ptr::eq(std::sync::Arc::as_ptr(&m.0), ptr))
        {
            memory.hold();
            self.shared_memories.push(KeptMemory(memory.clone()));
        }
        ptr.cast_mut()
    }

    /// The shared memory at `ptr`, if it is one: imported by the store, or
    /// defined by one of its instances.
    pub(crate) fn shared_memory_arc(
        &self,
        ptr: *const LinearMemory,
    ) -> Option<std::sync::Arc<LinearMemory>> {
        self.shared_memories
            .iter()
            .find(|m| std::ptr::eq(std::sync::Arc::as_ptr(&m.0), ptr))
            .map(|m| m.0.clone())
            .or_else(|| {
                self.instances
                    .iter()
                    .find_map(|inst| inst.defined_shared_memory(ptr))
            })
    }

    pub(crate) fn table(&self, index: usize) -> &RawTable {
        // SAFETY: table pointers stay valid while the store lives.
        unsafe { &*self.tables[index] }
    }

    pub(crate) fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        let now = self
            .engine
            .inner()
            .epoch
            .load(std::sync::atomic::Ordering::Relaxed);
        self.limits.epoch_deadline = now.saturating_add(ticks_beyond_current);
    }

    pub(crate) fn table_mut(&mut self, index: usize) -> &mut RawTable {
        // SAFETY: as above; `&mut self` rules out other references.
        unsafe { &mut *self.tables[index] }
    }
}

/// A store with its embedder data.
pub struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) data: T,
    pub(crate) limiter: Option<crate::limits::LimiterFn<T>>,
    pub(crate) epoch_callback: Option<EpochCallback<T>>,
    pub(crate) call_hook: Option<CallHookCallback<T>>,
}

/// What [`Store::call_hook`] installs.
pub(crate) type CallHookCallback<T> =
    Box<dyn FnMut(StoreContextMut<'_, T>, CallHook) -> anyhow::Result<()> + Send + Sync>;

/// Which way a call crosses between the host and Wasm, for
/// [`Store::call_hook`] (Wasmtime's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallHook {
    /// The host calls into Wasm.
    CallingWasm,
    /// That call returns (or traps).
    ReturningFromWasm,
    /// Wasm calls a host function.
    CallingHost,
    /// That host function returns (or fails).
    ReturningFromHost,
}

impl CallHook {
    /// Whether execution is entering host code (`ReturningFromWasm` or
    /// `CallingHost`).
    pub fn entering_host(&self) -> bool {
        matches!(self, CallHook::ReturningFromWasm | CallHook::CallingHost)
    }
    /// Whether execution is leaving host code (`CallingWasm` or
    /// `ReturningFromHost`).
    pub fn exiting_host(&self) -> bool {
        !self.entering_host()
    }
}

/// What [`Store::epoch_deadline_callback`] installs.
pub(crate) type EpochCallback<T> =
    Box<dyn FnMut(StoreContextMut<'_, T>) -> anyhow::Result<UpdateDeadline> + Send + Sync>;

/// What a store's epoch callback ([`Store::epoch_deadline_callback`]) decides
/// when Wasm reaches the epoch deadline (Wasmtime's; its `Yield` variants
/// need async support, which wasm-jit does not have).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateDeadline {
    /// Go on, with the deadline this many ticks past the current epoch.
    Continue(u64),
    /// Trap with [`Trap::Interrupted`](crate::Trap::Interrupted).
    Interrupt,
}

impl<T> StoreInner<T> {
    /// Runs `f`, which calls into Wasm or the runtime, with this store handed
    /// down as the one calling in (`VMLimits::store`): host functions and the
    /// growth hook reached from inside `f` borrow the store through the
    /// pointer `f` receives, derived from this `&mut`, which `f` must not
    /// hold a reference from across such a call. The previous store pointer
    /// (an outer call's) is restored afterwards, so calls nest.
    pub(crate) fn enter<R>(&mut self, f: impl FnOnce(*mut StoreInner<T>) -> R) -> R {
        let limits = self.opaque.limits.as_ptr();
        let this: *mut StoreInner<T> = self;
        // SAFETY: `limits` is the store's own, live while the store is.
        let previous = unsafe { std::mem::replace(&mut (*limits).store, this.cast()) };
        // Restored however `f` ends, a panic resuming through it included.
        struct Restore(*mut wasm_jit_backend::VMLimits, *mut u8);
        impl Drop for Restore {
            fn drop(&mut self) {
                // SAFETY: as above.
                unsafe { (*self.0).store = self.1 };
            }
        }
        let _restore = Restore(limits, previous);
        f(this)
    }
}

/// The owner of all Wasm objects of one embedding context, and of the
/// embedder's data `T`. A store is used by one thread at a time; dropping it
/// frees every instance, memory and mapping it owns.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

impl<T> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.opaque.fmt(f)
    }
}

impl<T: Default> Default for Store<T> {
    /// A store of a default [`Engine`] holding `T::default()`.
    fn default() -> Store<T> {
        Store::new(&Engine::default(), T::default())
    }
}

impl<T> Store<T> {
    /// A new empty store holding `data`.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        Store {
            inner: Box::new(StoreInner {
                opaque: StoreOpaque {
                    id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
                    engine: engine.clone(),
                    limits: LimitsBox::new(VMLimits::new(
                        &*engine.inner().epoch,
                        engine.inner().types.clone(),
                    )),
                    instances: Vec::new(),
                    instance_by_vmctx: HashMap::new(),
                    funcs: Vec::new(),
                    func_by_ref: HashMap::new(),
                    memories: Vec::new(),
                    memory_by_ptr: HashMap::new(),
                    tables: Vec::new(),
                    table_by_ptr: HashMap::new(),
                    globals: Vec::new(),
                    global_by_ptr: HashMap::new(),
                    tags: Vec::new(),
                    tag_by_ptr: HashMap::new(),
                    owned_tags: Vec::new(),
                    owned_exceptions: Vec::new(),
                    exnrefs: Vec::new(),
                    exnref_by_ptr: HashMap::new(),
                    owned_memories: Vec::new(),
                    shared_memories: Vec::new(),
                    owned_tables: Vec::new(),
                    owned_globals: Vec::new(),
                    host_funcs: Vec::new(),
                    externrefs: Vec::new(),
                    call_hook: None,
                    stack_scale: 1,
                    host_fps: Vec::new(),
                },
                data,
                limiter: None,
                epoch_callback: None,
                call_hook: None,
            }),
        }
    }

    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Consumes the store, returning its data.
    pub fn into_data(self) -> T {
        let Store { inner } = self;
        let StoreInner { opaque, data, .. } = *inner;
        drop(opaque);
        data
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.opaque.engine
    }

    /// Installs a limiter, found in the store's data by `get`, that caps the
    /// growth of this store's memories and tables and the number of its
    /// instances, memories and tables.
    pub fn limiter(
        &mut self,
        get: impl (FnMut(&mut T) -> &mut dyn crate::ResourceLimiter) + Send + Sync + 'static,
    ) where
        T: 'static,
    {
        let inner: &mut StoreInner<T> = &mut self.inner;
        inner.limiter = Some(Box::new(get));
        inner.opaque.limits.growth = Some(crate::limits::growth_hook::<T>);
    }

    /// Sets the fuel available to Wasm in this store (with
    /// [`Config::consume_fuel`](crate::Config::consume_fuel)).
    pub fn set_fuel(&mut self, fuel: u64) -> anyhow::Result<()> {
        self.inner.opaque.set_fuel(fuel)
    }

    /// The fuel left (with [`Config::consume_fuel`](crate::Config::consume_fuel)).
    pub fn get_fuel(&self) -> anyhow::Result<u64> {
        self.inner.opaque.get_fuel()
    }

    /// Makes Wasm in this store trap with `Interrupted` once the engine's
    /// epoch has advanced `ticks_beyond_current` more times (with
    /// [`Config::epoch_interruption`](crate::Config::epoch_interruption)).
    /// Without a deadline, Wasm is never interrupted.
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.inner.opaque.set_epoch_deadline(ticks_beyond_current);
    }

    /// Wasmtime's request for a garbage collection, optionally to make room
    /// for the allocation that failed with `why`. The GC heap here has no
    /// collector yet (objects live until their store is dropped, as under
    /// Wasmtime's null collector, whose collections also free nothing), so
    /// this frees nothing and the allocation would fail again.
    pub fn gc(&mut self, why: Option<&crate::GcHeapOutOfMemory<()>>) -> anyhow::Result<()> {
        let _ = why;
        Ok(())
    }

    /// Wasm that reaches its epoch deadline traps with
    /// [`Trap::Interrupted`](crate::Trap::Interrupted) (the default; this
    /// removes a callback installed by
    /// [`epoch_deadline_callback`](Self::epoch_deadline_callback)).
    pub fn epoch_deadline_trap(&mut self) {
        self.inner.epoch_callback = None;
        self.inner.opaque.limits.epoch_hook = None;
    }

    /// Calls `hook` each time execution crosses between the host and Wasm
    /// in this store, in either direction ([`CallHook`]); an error it
    /// returns fails the call (entering or leaving Wasm) or traps (around
    /// a host function). For accounting or profiling per store.
    pub fn call_hook(
        &mut self,
        hook: impl FnMut(StoreContextMut<'_, T>, CallHook) -> anyhow::Result<()> + Send + Sync + 'static,
    ) where
        T: 'static,
    {
        self.inner.call_hook = Some(Box::new(hook));
        self.inner.opaque.call_hook = Some(run_call_hook::<T>);
    }

    /// When Wasm reaches the epoch deadline, `callback` decides: go on with
    /// a new deadline ([`UpdateDeadline::Continue`]), trap with
    /// [`Trap::Interrupted`](crate::Trap::Interrupted)
    /// ([`UpdateDeadline::Interrupt`]), or trap with its own error (`Err`,
    /// which the embedder's call returns, with a backtrace as context). It
    /// gets the store, so it can look at the store's data or count the
    /// ticks.
    pub fn epoch_deadline_callback(
        &mut self,
        callback: impl FnMut(StoreContextMut<'_, T>) -> anyhow::Result<UpdateDeadline>
        + Send
        + Sync
        + 'static,
    ) where
        T: 'static,
    {
        self.inner.epoch_callback = Some(Box::new(callback));
        self.inner.opaque.limits.epoch_hook = Some(epoch_hook::<T>);
    }
}

/// A shared borrow of a store.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContext<'_, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.0.opaque.engine
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
    /// As [`Store::set_epoch_deadline`].
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.0.opaque.set_epoch_deadline(ticks_beyond_current);
    }
    /// As [`Store::gc`]: frees nothing (there is no collector yet).
    pub fn gc(&mut self, why: Option<&crate::GcHeapOutOfMemory<()>>) -> anyhow::Result<()> {
        let _ = why;
        Ok(())
    }
    /// As [`Store::get_fuel`].
    pub fn get_fuel(&self) -> anyhow::Result<u64> {
        self.0.opaque.get_fuel()
    }
    /// As [`Store::set_fuel`].
    pub fn set_fuel(&mut self, fuel: u64) -> anyhow::Result<()> {
        self.0.opaque.set_fuel(fuel)
    }
    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }
    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.0.opaque.engine
    }
}

// As in Wasmtime: anything that lends a store converts into a context, so
// `memory.data(&caller)`, `memory.data(&mut caller)`,
// `memory.data_mut(&mut store)` and the same through `impl AsContextMut`
// parameters all work.
impl<'a, C: AsContext + ?Sized> From<&'a C> for StoreContext<'a, C::Data> {
    fn from(c: &'a C) -> Self {
        c.as_context()
    }
}

impl<'a, C: AsContextMut + ?Sized> From<&'a mut C> for StoreContext<'a, C::Data> {
    fn from(c: &'a mut C) -> Self {
        let c: &'a C = c;
        c.as_context()
    }
}

impl<'a, C: AsContextMut + ?Sized> From<&'a mut C> for StoreContextMut<'a, C::Data> {
    fn from(c: &'a mut C) -> Self {
        c.as_context_mut()
    }
}

/// Anything that can lend a store for reading: [`Store`], [`Caller`],
/// contexts, and references to them.
pub trait AsContext {
    /// The store's data type.
    type Data;
    /// Borrows the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Anything that can lend a store for writing.
pub trait AsContextMut: AsContext {
    /// Borrows the store exclusively.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        (**self).as_context_mut()
    }
}

/// What a host function receives: the store, and the instance that called it.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut StoreInner<T>,
    pub(crate) caller: Option<usize>,
}

impl<T> Caller<'_, T> {
    /// The store's fuel left (as [`Store::get_fuel`]); Wasm's use of fuel
    /// up to this call is counted.
    pub fn get_fuel(&self) -> anyhow::Result<u64> {
        self.store.opaque.get_fuel()
    }

    /// Sets the store's fuel (as [`Store::set_fuel`]); the calling Wasm
    /// goes on with it when this host function returns.
    pub fn set_fuel(&mut self, fuel: u64) -> anyhow::Result<()> {
        self.store.opaque.set_fuel(fuel)
    }

    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.store.data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.data
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.store.opaque.engine
    }

    /// An export of the calling instance (typically its memory), or `None`
    /// when there is no such export or the caller is not an instance.
    pub fn get_export(&mut self, name: &str) -> Option<crate::Extern> {
        let index = self.caller?;
        crate::instance::Instance(self.store.opaque.stored(index)).get_export(&mut *self, name)
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.store)
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store)
    }
}

/// The epoch hook the runtime calls for a `Store<T>` with an epoch callback.
///
/// # Safety
/// `store` must be the `StoreInner<T>` that installed this hook, handed down
/// by [`StoreInner::enter`] for the call in progress, with no reference
/// into it in use (compiled code called the runtime).
unsafe fn epoch_hook<T>(store: *mut u8) -> Result<bool, wasm_jit_backend::HostError> {
    // SAFETY: per the contract, this is the only borrow of the store while
    // the callback runs, as for a host function.
    let inner = unsafe { &mut *store.cast::<StoreInner<T>>() };
    let Some(mut callback) = inner.epoch_callback.take() else {
        return Ok(false);
    };
    // Not a host function's call: no frames to capture (the Wasm that
    // reached the deadline did not call it).
    let depth = inner.opaque.host_fps.len();
    inner.opaque.host_fps.push(0);
    let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        callback(StoreContextMut(&mut *inner))
    }));
    inner.opaque.host_fps.truncate(depth);
    inner.epoch_callback = Some(callback);
    match crate::trap::host_payload(answer)? {
        UpdateDeadline::Continue(ticks) => {
            inner.opaque.set_epoch_deadline(ticks);
            Ok(true)
        }
        UpdateDeadline::Interrupt => Ok(false),
    }
}

/// Runs a `Store<T>`'s call hook (a [`CallHookFn`]).
///
/// # Safety
/// `store` must be a live `StoreInner<T>` with no reference into it in use
/// (it was handed down by [`StoreInner::enter`], and the caller holds only
/// raw pointers).
unsafe fn run_call_hook<T>(store: *mut u8, kind: CallHook) -> anyhow::Result<()> {
    // SAFETY: per the contract, this is the only borrow while the hook runs.
    let inner = unsafe { &mut *store.cast::<StoreInner<T>>() };
    inner.run_call_hook(kind)
}

impl<T> StoreInner<T> {
    /// Runs the call hook, if there is one.
    #[cold]
    #[inline(never)]
    pub(crate) fn run_call_hook(&mut self, kind: CallHook) -> anyhow::Result<()> {
        let Some(mut hook) = self.call_hook.take() else {
            return Ok(());
        };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hook(StoreContextMut(&mut *self), kind)
        }));
        // Back in place (unless the hook installed another), a panic
        // included: the embedder may catch it and go on with the store.
        if self.call_hook.is_none() {
            self.call_hook = Some(hook);
        }
        r.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}
