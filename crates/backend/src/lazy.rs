//! Lazy compilation: a module's functions are compiled when first called,
//! and ahead of that by background threads in call-graph order.
//!
//! Each defined function has a code slot, null until it is compiled.
//! Compiled code reads a callee's slot before calling it and calls the
//! `lazy_compile` builtin when the slot is null (`slot_code` in the
//! translator's `env.rs`); a `VMFuncRef` starts with its slot's value and a
//! null one is filled in by `lazy_funcref`. A thread running Wasm compiles
//! a function it needs itself only when it has at least 1 MiB of native
//! stack left (Wasm may have used most of it); otherwise it queues the
//! function as urgent for the compile threads and waits. A function is
//! claimed once (`states`), so it is compiled once however
//! many threads want it at the same time.
//!
//! Background threads compile ahead in call-graph order, the callees of
//! functions just called first (`hint_callees`); once every
//! function is compiled they compile the *final tier*: every function
//! again with direct calls between them, placed together, the slots
//! re-pointed to it (peak speed is then eager compilation's). For the code
//! cache its code is kept function by function as it comes (`final_code`),
//! so that an entry gains it even from runs too short to finish it.
//!
//! With a quick compiler (`Compiler::quick`, asked for per module), a
//! function a thread must wait for, and the callees hinted for it, are
//! compiled quickly (`opt_level=none`, single-pass register allocator) and
//! queued (`upgrades`): background threads compile them again at full
//! optimisation, hottest first (quick code counts its entries and loop
//! iterations in `heat`), and re-point their slots. Quick code
//! is never stored where it would stay (a `VMFuncRef`: `is_quick`); code
//! cache entries keep it, flagged, and their loads queue it again, but
//! artifacts get optimised code (`compile_all`). Frames running quick
//! code finish in it.
//!
//! Code is placed with cranelift-jit's [`ArenaMemoryProvider`]: one
//! reserved region per module, segments written while read-write, then
//! turned read+execute (instruction cache and pipeline handled) and never
//! written again. A slot is set (release) only once its code is executable
//! and registered with the trap handler.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};

use cranelift_jit::{ArenaMemoryProvider, BranchProtection, JITMemoryKind, JITMemoryProvider};
use wasm_jit_frontend::module::FunctionInput;
use wasm_jit_frontend::{DefinedFuncIndex, FrontendError, FuncIndex};
use wasmparser::{BinaryReader, FuncToValidate, FunctionBody, ValidatorResources, WasmFeatures};

use crate::code::{self, CodeNames};
use crate::compile::{CompiledFunction, Compiler, Scratch, SharedBytes};
use crate::module::CompiledModule;

const NOT_STARTED: u8 = 0;
const CLAIMED: u8 = 1;
const READY: u8 = 2;
const FAILED: u8 = 3;

/// Code placed together in one batch at most: background threads flush
/// earlier when someone waits.
const BATCH_BYTES: usize = 64 * 1024;
const BATCH_FUNCS: usize = 32;
/// Compile time after which a background batch is placed however small:
/// what a short run compiled ahead is then in use, and in the code cache
/// entry, instead of lost with a batch of large functions that the run
/// ended before (so runs of a module of many such functions converge).
const BATCH_TIME: std::time::Duration = std::time::Duration::from_millis(20);
/// Bodies of at most this many bytes are small enough to fill a page with.
const SMALL_BODY: usize = 256;
/// Function bodies over this many bytes are not compiled quickly: their
/// quick frames would come out over `QUICK_MAX_FRAME` (a large body's
/// quick frame is about 1-1.6 times its size: 50 KiB for the 41 KB body of
/// one of sqlite's functions), so the attempt would be wasted. Under it,
/// large bodies are where the quick tier saves most: it compiles them 2-3
/// times faster (sqlite's 41 KB function in about 35 ms against 80-90).
const QUICK_MAX_BODY: usize = 96 * 1024;
/// Quick code that has counted this much heat (entries and loop
/// iterations) is replaced before the callees hinted for calls are
/// compiled: a program spends its time there.
const HOT: u64 = 10_000;
/// Hints kept at most (see [`LazyCode::hint_callees`]).
const MAX_HINTS: usize = 4096;

/// What a function is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tier {
    /// Its first code, at full optimisation, calling through the slots.
    First,
    /// Its first code, needed now (or soon: a hinted callee): by the quick
    /// compiler when there is one (replaced later by [`Tier::Upgrade`]),
    /// else as [`Tier::First`].
    Quick,
    /// Quick code compiled again at full optimisation.
    Upgrade,
    /// The final tier: full optimisation, direct calls.
    Final,
}

/// Defined functions compiled together, or why one could not be, to be
/// placed together.
type Batch = Vec<(u32, Result<CompiledFunction, String>)>;

/// Locks `m`, also after a panic in another holder (the data guarded here
/// stays consistent across one).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a function needs to be compiled later: the module's bytes and,
/// per defined function, its body's range and type.
#[derive(Debug)]
pub struct LazySource {
    /// The module binary.
    pub wasm: SharedBytes,
    /// Byte range of each defined function's body in `wasm`.
    pub bodies: Vec<Range<usize>>,
    /// Type index of each defined function.
    pub types: Vec<u32>,
    /// The validator's view of the module (`None` without functions).
    pub resources: Option<ValidatorResources>,
    /// Features the module was validated with.
    pub features: WasmFeatures,
}

impl LazySource {
    /// The source of `functions`, before they are consumed.
    pub fn new(wasm: SharedBytes, functions: &[FunctionInput<'_>]) -> LazySource {
        LazySource {
            bodies: functions
                .iter()
                .map(|f| {
                    let r = f.body.range();
                    r.start as usize..r.end as usize
                })
                .collect(),
            types: functions.iter().map(|f| f.validator.ty).collect(),
            resources: functions.first().map(|f| f.validator.resources.clone()),
            features: functions
                .first()
                .map(|f| f.validator.features)
                .unwrap_or_default(),
            wasm,
        }
    }
}

struct Placement {
    arenas: Vec<ArenaMemoryProvider>,
    /// Start of every registered batch.
    registered: Vec<usize>,
    /// Bytes to reserve for the next arena.
    reserve: usize,
}

struct Shared {
    errors: HashMap<u32, String>,
    /// Machine code of every compiled function, for artifacts and the cache
    /// (quick code until its optimised replacement is compiled). Locked
    /// before `upgrades`.
    compiled: Vec<Option<CompiledFunction>>,
}

/// The lazily compiled code of one module.
pub struct LazyCode {
    /// One code slot per defined function, then the address of `heat`
    /// (`vmoffsets::heat_counters`), which quick code reaches through here.
    slots: Box<[AtomicPtr<u8>]>,
    /// Per function, how often its quick first-tier code was entered or
    /// went round a loop (that code counts; other code does not): the
    /// hottest quick code is compiled again at full optimisation first.
    heat: Box<[AtomicU64]>,
    states: Box<[AtomicU8]>,
    /// Per function, the address of its quick first-tier code (null when
    /// it has none): code that is replaced, so never stored where it would
    /// stay (a `VMFuncRef`).
    quick_code: Box<[AtomicPtr<u8>]>,
    /// Functions whose slots hold quick code, to be compiled again at full
    /// optimisation by the background threads, hottest first.
    upgrades: Mutex<VecDeque<u32>>,
    shared: Mutex<Shared>,
    ready: Condvar,
    /// Threads waiting for a function (background threads then place what
    /// they have at once).
    waiters: AtomicUsize,
    source: LazySource,
    compiler: Arc<Compiler>,
    placement: Mutex<Placement>,
    names: Arc<CodeNames>,
    /// Background order (defined indices) and how far it has been claimed.
    order: Vec<u32>,
    next: AtomicUsize,
    /// The defined functions each defined function calls directly, in the
    /// order of their first call (empty when not known).
    callees: Vec<Box<[u32]>>,
    /// Functions background threads compile before going on in `order`:
    /// the callees of functions called before they were compiled, the
    /// latest on top (see [`LazyCode::hint_callees`]).
    hints: Mutex<Vec<u32>>,
    /// The functions of `order` with small bodies, which fill the pages of
    /// functions compiled because they were called, and how far they have
    /// been claimed.
    small: Vec<u32>,
    small_next: AtomicUsize,
    compilations: AtomicUsize,
    /// Of those, compiled by the quick compiler.
    quick_compilations: AtomicUsize,
    /// Calls that found their function not compiled yet.
    demanded: AtomicUsize,
    /// Quick code replaced by optimised code (in its slot, or only in
    /// `Shared::compiled`, for artifacts, by `compile_all`).
    upgraded: AtomicUsize,
    /// Functions whose slot is set.
    ready_count: AtomicUsize,
    /// Whether the final tier (every function again, with direct calls) was
    /// started.
    final_tier: std::sync::atomic::AtomicBool,
    /// Whether background threads work on this module.
    background: std::sync::atomic::AtomicBool,
    /// Background threads are to wait for this module's start time (see
    /// [`start_background`]); cleared when a call finds a function not
    /// compiled, or when they start on it.
    deferred: std::sync::atomic::AtomicBool,
    /// Nanoseconds calls have spent waiting for their callees' compilation
    /// (compiling them or waiting for another thread to).
    demand_nanos: AtomicU64,
    /// Whether the final tier's code is in the slots.
    final_placed: std::sync::atomic::AtomicBool,
    /// The final tier's machine code, by defined index, kept (when asked:
    /// otherwise empty) as it is compiled, for the code cache: the entry
    /// gains it function by function, so runs too short to compile the
    /// whole final tier still converge on it.
    final_code: Mutex<Vec<Option<CompiledFunction>>>,
    /// Functions compiled for the final tier (not loaded).
    final_compilations: AtomicUsize,
    /// Whether functions needed now are compiled by the quick compiler.
    quick: bool,
    /// Whether they are even with no background threads to replace them.
    quick_always: bool,
    /// On-stack-replacement entries of loops of quick code, by function
    /// and loop number (see [`osr_code`]): the address once placed; `None`
    /// while one is being compiled, or when none can be made.
    osr: Mutex<HashMap<(u32, u32), Option<usize>>>,
    /// Entries asked for and not compiled yet, for the background threads.
    osr_requests: Mutex<Vec<(u32, u32)>>,
    /// Entries placed.
    osr_entries: AtomicUsize,
    /// Per function, whether its quick code checks its loops for on-stack
    /// replacement (see `osr_candidates` in `module.rs`; none when not
    /// known).
    osr_candidates: Vec<bool>,
}

impl std::fmt::Debug for LazyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyCode")
            .field("functions", &self.states.len())
            .field("compiled", &self.compilations.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl LazyCode {
    /// Nothing compiled yet; the background threads will follow `order`.
    pub fn new(
        source: LazySource,
        compiler: Arc<Compiler>,
        names: Arc<CodeNames>,
        order: Vec<u32>,
        callees: Vec<Box<[u32]>>,
        keep_final: bool,
        quick: bool,
    ) -> LazyCode {
        let n = source.bodies.len();
        let small = order
            .iter()
            .copied()
            .filter(|&i| source.bodies[i as usize].len() <= SMALL_BODY)
            .collect();
        let body_bytes: usize = source.bodies.iter().map(|r| r.len()).sum();
        let heat: Box<[AtomicU64]> = (0..n).map(|_| AtomicU64::new(0)).collect();
        // The boxed counters do not move when `heat` does.
        let heat_ptr = heat.as_ptr() as *mut u8;
        LazyCode {
            slots: (0..n)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .chain([AtomicPtr::new(heat_ptr)])
                .collect(),
            heat,
            states: (0..n).map(|_| AtomicU8::new(NOT_STARTED)).collect(),
            quick_code: (0..n)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
            upgrades: Mutex::new(VecDeque::new()),
            shared: Mutex::new(Shared {
                errors: HashMap::new(),
                compiled: vec![None; n],
            }),
            ready: Condvar::new(),
            waiters: AtomicUsize::new(0),
            source,
            compiler,
            placement: Mutex::new(Placement {
                arenas: Vec::new(),
                registered: Vec::new(),
                // Code is a few times the size of its Wasm, and every batch
                // may start a new page. Only address space: pages are
                // committed as they are written.
                reserve: (body_bytes * 8 + n * crate::memory::host_page() + (1 << 20))
                    .next_multiple_of(1 << 16),
            }),
            names,
            small,
            small_next: AtomicUsize::new(0),
            order,
            next: AtomicUsize::new(0),
            callees,
            hints: Mutex::new(Vec::new()),
            compilations: AtomicUsize::new(0),
            quick_compilations: AtomicUsize::new(0),
            demanded: AtomicUsize::new(0),
            upgraded: AtomicUsize::new(0),
            ready_count: AtomicUsize::new(0),
            final_tier: std::sync::atomic::AtomicBool::new(false),
            background: std::sync::atomic::AtomicBool::new(false),
            deferred: std::sync::atomic::AtomicBool::new(false),
            demand_nanos: AtomicU64::new(0),
            final_placed: std::sync::atomic::AtomicBool::new(false),
            final_code: Mutex::new(if keep_final {
                vec![None; n]
            } else {
                Vec::new()
            }),
            final_compilations: AtomicUsize::new(0),
            quick,
            quick_always: false,
            osr: Mutex::new(HashMap::new()),
            osr_requests: Mutex::new(Vec::new()),
            osr_entries: AtomicUsize::new(0),
            osr_candidates: Vec::new(),
        }
    }

    /// This code with the quick code of `candidates` (per function)
    /// checking its loops for on-stack replacement.
    pub fn osr_candidates(mut self, candidates: Vec<bool>) -> LazyCode {
        self.osr_candidates = candidates;
        self
    }

    /// This code with the quick tier used even without background threads
    /// (quick code then stays; for tests).
    pub fn quick_always(mut self, always: bool) -> LazyCode {
        self.quick_always = always;
        self
    }

    /// The slots, for the instances' contexts (`VMCTX_FUNC_SLOTS`).
    pub fn slots_ptr(&self) -> *const AtomicPtr<u8> {
        self.slots.as_ptr()
    }

    /// Code of `index` if it is compiled, else null.
    pub fn code_if_ready(&self, index: DefinedFuncIndex) -> *const u8 {
        self.slots[index.index()].load(Ordering::Acquire)
    }

    /// Code of `index` that lasts: null if it is not compiled or only by
    /// the quick first tier (whose code is replaced).
    pub fn lasting_code(&self, index: DefinedFuncIndex) -> *const u8 {
        let code = self.code_if_ready(index);
        if self.is_quick(index, code) {
            std::ptr::null()
        } else {
            code
        }
    }

    /// Whether `code`, read from the slot of `index`, is quick first-tier
    /// code. (Its address is recorded before the slot is set, and quick
    /// code is never freed before the module, so the address cannot be
    /// reused for other code.)
    pub fn is_quick(&self, index: DefinedFuncIndex, code: *const u8) -> bool {
        !code.is_null()
            && std::ptr::eq(self.quick_code[index.index()].load(Ordering::Acquire), code)
    }

    /// How many functions were compiled (each is compiled at most once:
    /// recompiling quick first-tier code and the final tier do not count).
    pub fn compilations(&self) -> usize {
        self.compilations.load(Ordering::Relaxed)
    }

    /// How many functions were compiled for the final tier (those loaded
    /// with final-tier code are not compiled again).
    pub fn final_compilations(&self) -> usize {
        self.final_compilations.load(Ordering::Relaxed)
    }

    /// How many functions were first compiled by the quick compiler.
    pub fn quick_compilations(&self) -> usize {
        self.quick_compilations.load(Ordering::Relaxed)
    }

    /// How many times a call found its function not compiled yet (the
    /// program needed code it did not have).
    pub fn demanded(&self) -> usize {
        self.demanded.load(Ordering::Relaxed)
    }

    /// Whether calls may run quick code of this module (a store running it
    /// gives Wasm a larger stack: see `QUICK_STACK_SCALE` in the API): as
    /// `LazyCode::quick_tier` decides with it, without making the quick
    /// compiler.
    pub fn uses_quick_tier(&self) -> bool {
        let replaced = self.background.load(Ordering::Relaxed) && cores() >= 2;
        self.quick && (replaced || self.quick_always) && self.compiler.has_quick()
    }

    /// How many functions had their quick code replaced by optimised code
    /// (also where only the code kept for artifacts was: `compile_all`).
    pub fn upgraded(&self) -> usize {
        self.upgraded.load(Ordering::Relaxed)
    }

    /// The heat quick code of `index` has counted (0 for code that is not
    /// quick: it does not count).
    pub fn heat(&self, index: DefinedFuncIndex) -> u64 {
        self.heat[index.index()].load(Ordering::Relaxed)
    }

    /// How long calls have waited for their callees to be compiled, in
    /// all: a run's length less this is about what a run with all its code
    /// ready takes.
    pub fn demand_time(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.demand_nanos.load(Ordering::Relaxed))
    }

    /// Whether some slot holds quick code still to be replaced.
    pub fn upgrades_pending(&self) -> bool {
        !lock(&self.upgrades).is_empty()
    }

    /// Whether every function is compiled.
    pub fn complete(&self) -> bool {
        self.ready_count.load(Ordering::Acquire) == self.states.len()
    }

    /// Machine code of the compiled functions, by defined index.
    pub fn compiled_functions(&self) -> Vec<Option<CompiledFunction>> {
        lock(&self.shared).compiled.clone()
    }

    /// `f` of the machine code of the compiled functions, by defined index
    /// (without copying it, as [`LazyCode::compiled_functions`] does).
    pub fn with_compiled<R>(&self, f: impl FnOnce(&[Option<CompiledFunction>]) -> R) -> R {
        f(&lock(&self.shared).compiled)
    }

    fn claim(&self, i: u32) -> bool {
        self.states[i as usize]
            .compare_exchange(NOT_STARTED, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The next unclaimed function with a small body, claimed.
    fn claim_next_small(&self) -> Option<u32> {
        self.claim_from(&self.small, &self.small_next)
    }

    /// The next unclaimed function for the background threads, claimed,
    /// and whether it was a hint: the latest hint, else the next in
    /// background order.
    fn claim_next(&self) -> Option<(u32, bool)> {
        loop {
            let Some(i) = lock(&self.hints).pop() else {
                break;
            };
            if self.claim(i) {
                return Some((i, true));
            }
        }
        self.claim_from(&self.order, &self.next).map(|i| (i, false))
    }

    /// Function `i` was called before it was compiled: the functions it
    /// calls, not compiled yet, go before the background order, so that
    /// idle cores compile them while `i` is compiled (a program that has
    /// just called `i` will most likely call them next).
    fn hint_callees(&self, i: u32) {
        let Some(callees) = self.callees.get(i as usize) else {
            return;
        };
        let mut hints = lock(&self.hints);
        // The latest hints count most; very old ones are dropped.
        if hints.len() > MAX_HINTS {
            hints.drain(..MAX_HINTS / 2);
        }
        hints.extend(
            callees
                .iter()
                .rev()
                .filter(|&&c| self.states[c as usize].load(Ordering::Relaxed) == NOT_STARTED),
        );
    }

    /// The next unclaimed function of `list` from `cursor` on, claimed.
    fn claim_from(&self, list: &[u32], cursor: &AtomicUsize) -> Option<u32> {
        loop {
            let &i = list.get(cursor.fetch_add(1, Ordering::Relaxed))?;
            if self.claim(i) {
                return Some(i);
            }
        }
    }

    /// The tier of a function needed now: [`Tier::Quick`] only where
    /// background threads will replace the quick code.
    fn quick_tier(&self) -> Tier {
        if self.uses_quick_tier() && self.compiler.quick().is_some() {
            Tier::Quick
        } else {
            Tier::First
        }
    }

    /// What the compiler needs of defined function `i`.
    fn input(&self, module: &CompiledModule, i: u32) -> Result<FunctionInput<'_>, String> {
        let src = &self.source;
        let range = src.bodies[i as usize].clone();
        let index = module.info.num_imported_funcs + i;
        let Some(resources) = src.resources.clone() else {
            return Err("internal error: no validator for a defined function".into());
        };
        Ok(FunctionInput {
            index: FuncIndex(index),
            body: FunctionBody::new(BinaryReader::new_features(
                &src.wasm[range.clone()],
                range.start as u64,
                src.features,
            )),
            validator: FuncToValidate {
                resources,
                index,
                ty: src.types[i as usize],
                features: src.features,
            },
        })
    }

    /// Compiles the on-stack-replacement entry of loop `lp` of defined
    /// function `i` (optimised) and places it; its address, or `None` when
    /// the loop cannot be entered that way or the code cannot be placed.
    fn compile_osr(
        &self,
        module: &CompiledModule,
        i: u32,
        lp: u32,
        scratch: &mut Scratch,
    ) -> Option<usize> {
        let input = self.input(module, i).ok()?;
        let mut env = module.translation_env(&self.compiler, true);
        env.osr_entry = Some(lp);
        let f = match self.compiler.compile_function(&env, input, scratch, None) {
            Ok(f) => f,
            Err(e) => {
                // Quick code checks only loops an entry can enter: only a
                // resource limit stops one.
                debug_assert!(
                    matches!(e, FrontendError::Limit(_) | FrontendError::Resource(_)),
                    "no entry for loop {lp} of function {i}: {e}"
                );
                return None;
            }
        };
        let addr = *self
            .place_caught(std::slice::from_ref(&f), None)
            .ok()?
            .first()?;
        self.osr_entries.fetch_add(1, Ordering::Relaxed);
        Some(addr)
    }

    /// Compiles one on-stack-replacement entry asked for, if any (for a
    /// background thread); false when none was.
    fn compile_osr_request(&self, module: &CompiledModule, scratch: &mut Scratch) -> bool {
        let Some((i, lp)) = lock(&self.osr_requests).pop() else {
            return false;
        };
        let addr = self.compile_osr(module, i, lp, scratch);
        lock(&self.osr).insert((i, lp), addr);
        true
    }

    /// Whether an on-stack-replacement entry was asked for and is not
    /// compiled yet.
    fn osr_waiting(&self) -> bool {
        !lock(&self.osr_requests).is_empty()
    }

    /// How many on-stack-replacement entries were placed.
    pub fn osr_entries(&self) -> usize {
        self.osr_entries.load(Ordering::Relaxed)
    }

    /// Compiles defined function `i` for `tier`.
    fn compiled_with(
        &self,
        module: &CompiledModule,
        i: u32,
        scratch: &mut Scratch,
        tier: Tier,
    ) -> Result<CompiledFunction, String> {
        let slot_calls = tier != Tier::Final;
        let range = self.source.bodies[i as usize].clone();
        let input = self.input(module, i)?;
        let compiler = match (tier, self.compiler.quick()) {
            // A large body's quick frame would be too large anyway.
            (Tier::Quick, Some(quick)) if range.len() <= QUICK_MAX_BODY => quick,
            _ => &*self.compiler,
        };
        let mut env = module.translation_env(compiler, slot_calls);
        env.osr_checks &= self.osr_candidates.get(i as usize) == Some(&true);
        // A compiler bug is an error (`compile_function` catches its
        // panics), so the function never stays claimed with callers
        // waiting for it.
        let quick = !std::ptr::eq(compiler, &*self.compiler);
        let mut result = compiler.compile_function(&env, input, scratch, None);
        if quick && result.is_err() {
            // The single-pass allocator gives up on some functions, and
            // gives others too large a frame (`QUICK_MAX_FRAME`): they are
            // compiled optimised instead.
            return self.compiled_with(module, i, scratch, Tier::First);
        }
        if let Ok(f) = &mut result {
            f.quick = quick;
            f.final_tier = tier == Tier::Final;
        }
        if matches!(tier, Tier::First | Tier::Quick) {
            self.compilations.fetch_add(1, Ordering::Relaxed);
        }
        if quick {
            self.quick_compilations.fetch_add(1, Ordering::Relaxed);
        }
        result.map_err(|e| match e {
            FrontendError::Invalid(msg) => format!("invalid module: {msg}"),
            other => other.to_string(),
        })
    }

    /// Compiles claimed function `i`, needed now, and, with background
    /// compilation on, while the batch is under a page of code, the next
    /// small functions in background order (quick to compile): every
    /// placement seals its pages, so a module of many small functions called
    /// one by one would otherwise take a page each.
    /// With a quick compiler, `i` and the small functions are compiled by
    /// it (the caller is waiting for all of them; a short run of sqlite's
    /// module took 6% less time than with the small ones optimised), and
    /// queued for replacement like any quick code.
    fn compile_filling(&self, module: &CompiledModule, i: u32, scratch: &mut Scratch) -> Batch {
        let tier = self.quick_tier();
        let mut batch = vec![(i, self.compiled_with(module, i, scratch, tier))];
        // Compiling ahead is background compilation's business: without
        // it, only what is called is compiled.
        self.compile_batch(
            module,
            scratch,
            &mut batch,
            // Placing seals whole host pages: fill one.
            crate::memory::host_page(),
            || self.claim_next_small().map(|i| (i, tier)),
            || !self.background.load(Ordering::Relaxed),
        );
        batch
    }

    /// Compiles the functions `next` claims into `batch` until its code
    /// reaches `max_bytes`, it holds [`BATCH_FUNCS`] functions, or `stop`
    /// says so (an empty batch always gets one); false when `next` ran out.
    fn compile_batch(
        &self,
        module: &CompiledModule,
        scratch: &mut Scratch,
        batch: &mut Batch,
        max_bytes: usize,
        mut next: impl FnMut() -> Option<(u32, Tier)>,
        stop: impl Fn() -> bool,
    ) -> bool {
        let bytes = |batch: &Batch| -> usize {
            batch
                .iter()
                .map(|(_, r)| r.as_ref().map_or(0, |f| f.code.len()))
                .sum()
        };
        while batch.is_empty() || (bytes(batch) < max_bytes && batch.len() < BATCH_FUNCS && !stop())
        {
            let Some((i, tier)) = next() else {
                return false;
            };
            batch.push((i, self.compiled_with(module, i, scratch, tier)));
        }
        true
    }

    /// Places compiled functions, publishes their slots and wakes waiters;
    /// records failures.
    fn finish(&self, module: &Arc<CompiledModule>, batch: Batch) {
        let (ok, failed): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(_, r)| r.is_ok());
        let (indices, funcs): (Vec<u32>, Vec<CompiledFunction>) = ok
            .into_iter()
            .map(|(i, r)| (i, r.expect("partitioned")))
            .unzip();
        let placed = if funcs.is_empty() {
            Ok(Vec::new())
        } else {
            self.place_caught(&funcs, None)
        };
        let mut shared = lock(&self.shared);
        for (i, r) in failed {
            shared.errors.insert(i, r.expect_err("partitioned"));
            self.states[i as usize].store(FAILED, Ordering::Release);
        }
        match placed {
            Ok(addrs) => self.publish(&mut shared, indices, funcs, addrs),
            Err(e) => {
                for i in indices {
                    shared.errors.insert(i, e.clone());
                    self.states[i as usize].store(FAILED, Ordering::Release);
                }
            }
        }
        // A module with a function that failed never gets its final tier,
        // and the background threads may have let it go (before the
        // failure, or before this quick code): quick code waiting for an
        // upgrade is to be replaced all the same. (`publish` queues it
        // under this lock.)
        let orphaned = !shared.errors.is_empty() && !lock(&self.upgrades).is_empty();
        drop(shared);
        self.ready.notify_all();
        // Everything compiled, perhaps by the urgent thread: a background
        // thread compiles the final tier.
        if self.background.load(Ordering::Relaxed)
            && (orphaned
                || self.ready_count.load(Ordering::Acquire) == self.states.len()
                    && !self.final_tier.load(Ordering::Acquire))
        {
            service().background(Arc::downgrade(module), None);
        }
    }

    /// [`Self::place`], with a panic in it (cranelift-jit's arena panics
    /// when the system refuses a protection change) turned into an error, so
    /// that the functions fail rather than stay claimed with callers
    /// waiting for them. With `all_from`, `funcs` are all the module's
    /// functions in order and their calls to each other are linked directly
    /// (function index `all_from + k` is `funcs[k]`).
    fn place_caught(
        &self,
        funcs: &[CompiledFunction],
        all_from: Option<u32>,
    ) -> Result<Vec<usize>, String> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.place(funcs, all_from)))
            .unwrap_or_else(|_| {
                Err(
                    "cannot make code executable (the system refused to change memory protection)"
                        .into(),
                )
            })
    }

    /// Writes `funcs` into fresh executable memory; their addresses.
    fn place(
        &self,
        funcs: &[CompiledFunction],
        all_from: Option<u32>,
    ) -> Result<Vec<usize>, String> {
        let (starts, size) = code::layout(funcs);
        let mut p = lock(&self.placement);
        let allocated = match p.arenas.last_mut() {
            Some(arena) => arena.allocate(size, 16, JITMemoryKind::Executable).ok(),
            None => None,
        };
        let ptr = match allocated {
            Some(ptr) => ptr,
            None => {
                let reserve = p.reserve.max(size.next_multiple_of(1 << 16) * 2);
                let mut arena = ArenaMemoryProvider::new_with_size(reserve)
                    .map_err(|e| format!("cannot reserve code memory: {e}"))?;
                let ptr = arena
                    .allocate(size, 16, JITMemoryKind::Executable)
                    .map_err(|e| format!("cannot allocate code memory: {e}"))?;
                p.arenas.push(arena);
                p.reserve = reserve;
                ptr
            }
        };
        let base = ptr as usize;
        // SAFETY: `ptr..ptr + size` was just allocated read-write from the
        // arena, is not executable yet, and nothing else refers to it.
        let buf = unsafe { std::slice::from_raw_parts_mut(ptr, size) };
        // Otherwise calls are linked to functions of the same batch: a
        // function's calls to itself, and final-tier code's calls loaded
        // from an artifact (`preload`).
        let positions: HashMap<u32, usize> = match all_from {
            Some(_) => HashMap::new(),
            None => funcs
                .iter()
                .enumerate()
                .filter_map(|(k, f)| Some((f.wasm_index?, k)))
                .collect(),
        };
        code::write_linked(buf, base, funcs, &starts, |index| {
            let k = match all_from {
                Some(first) => index.checked_sub(first)? as usize,
                None => *positions.get(&index)?,
            };
            Some(base + *starts.get(k)? as usize)
        })?;
        // Every other segment of the arena is already final: this turns the
        // new one read+execute, and it is never written again.
        p.arenas
            .last_mut()
            .expect("allocated above")
            .finalize(BranchProtection::None)
            .map_err(|e| format!("cannot make code executable: {e}"))?;
        // SAFETY: the range holds `funcs` at `starts`, is executable, and is
        // unregistered before its arena is freed (`Drop`).
        unsafe { code::register(base, size, funcs, &starts, self.names.clone()) };
        p.registered.push(base);
        Ok(starts.iter().map(|&s| base + s as usize).collect())
    }

    /// Once every function is compiled (with calls through the slots), the
    /// background threads compile them all again with direct calls between
    /// them, place them together and re-point the slots: peak speed is then
    /// that of eager compilation. Code already running, and `VMFuncRef`s
    /// holding the first code, stay valid (that code is kept until the
    /// module drops) and reach the new code through the slots.
    fn final_tier(
        &self,
        module: &CompiledModule,
        scratch: &mut Scratch,
        wanted: impl Fn() -> bool,
    ) {
        let n = self.states.len();
        if n == 0
            || self.ready_count.load(Ordering::Acquire) < n
            || self.final_tier.swap(true, Ordering::AcqRel)
        {
            return;
        }
        // In background order, so that a run too short to finish saves
        // (`final_code`) what runs first.
        let order: Vec<u32> = if self.order.len() == n {
            self.order.clone()
        } else {
            (0..n as u32).collect()
        };
        let mut funcs = vec![None; n];
        for i in order {
            // A module nobody holds any more is not compiled on (its
            // batches stop at once too: `next_job` skips it).
            if !wanted() {
                return;
            }
            // A call running long in quick code does not wait for the
            // whole module.
            while self.compile_osr_request(module, scratch) {}
            // Final-tier code loaded from a code cache entry is kept.
            let loaded = lock(&self.shared).compiled[i as usize]
                .as_ref()
                .filter(|f| f.final_tier)
                .cloned();
            let f = match loaded {
                Some(f) => f,
                None => match self.compiled_with(module, i, scratch, Tier::Final) {
                    Ok(f) => {
                        self.final_compilations.fetch_add(1, Ordering::Relaxed);
                        f
                    }
                    // The first tier stays.
                    Err(_) => return,
                },
            };
            if let Some(kept) = lock(&self.final_code).get_mut(i as usize) {
                *kept = Some(f.clone());
            }
            funcs[i as usize] = Some(f);
        }
        let funcs: Vec<CompiledFunction> = funcs.into_iter().flatten().collect();
        let Ok(addrs) = self.place_caught(&funcs, Some(module.info.num_imported_funcs)) else {
            return;
        };
        // Under the lock `upgrade` re-points slots with, so that it never
        // puts back earlier code.
        let shared = lock(&self.shared);
        for (slot, addr) in self.slots[..n].iter().zip(addrs) {
            slot.store(addr as *mut u8, Ordering::Release);
        }
        self.final_placed.store(true, Ordering::Release);
        drop(shared);
        lock(&self.upgrades).clear();
    }

    /// Compiles functions whose slots hold quick code again at full
    /// optimisation, hottest first, until the batch reaches a host page of
    /// code or [`BATCH_FUNCS`] functions or `stop` says so, places them and
    /// re-points their slots; false when there was nothing to upgrade.
    /// (Frames already running quick code finish in it.)
    fn upgrade(
        &self,
        module: &CompiledModule,
        scratch: &mut Scratch,
        stop: impl Fn() -> bool,
    ) -> bool {
        let mut batch = Vec::new();
        // A page of code at a time: the hottest function's replacement is
        // in as soon as it is compiled, not after a batch of others (a
        // whole run of sqlite took 4% less time than with 64 KiB batches).
        self.compile_batch(
            module,
            scratch,
            &mut batch,
            crate::memory::host_page(),
            || Some((self.hottest_upgrade()?, Tier::Upgrade)),
            stop,
        );
        if batch.is_empty() {
            return false;
        }
        // On failure (a resource limit) the quick code stays.
        let (indices, funcs): (Vec<u32>, Vec<CompiledFunction>) = batch
            .into_iter()
            .filter_map(|(i, r)| Some((i, r.ok()?)))
            .unzip();
        if funcs.is_empty() {
            return true;
        }
        let Ok(addrs) = self.place_caught(&funcs, None) else {
            return true;
        };
        let mut shared = lock(&self.shared);
        let replace = !self.final_placed.load(Ordering::Acquire);
        self.upgraded.fetch_add(indices.len(), Ordering::Relaxed);
        for ((i, f), addr) in indices.into_iter().zip(funcs).zip(addrs) {
            if replace {
                self.slots[i as usize].store(addr as *mut u8, Ordering::Release);
            }
            shared.compiled[i as usize] = Some(f);
        }
        true
    }

    /// Whether some quick code waiting for an upgrade is [`HOT`].
    fn hot_upgrade_waiting(&self) -> bool {
        lock(&self.upgrades)
            .iter()
            .any(|&i| self.heat[i as usize].load(Ordering::Relaxed) >= HOT)
    }

    /// The function waiting for an upgrade whose quick code is hottest
    /// (the first queued of equals), taken off the queue.
    fn hottest_upgrade(&self) -> Option<u32> {
        let mut upgrades = lock(&self.upgrades);
        let heat = |i: u32| self.heat[i as usize].load(Ordering::Relaxed);
        let (at, _) = upgrades
            .iter()
            .enumerate()
            .rev()
            .max_by_key(|&(_, &i)| heat(i))?;
        upgrades.remove(at)
    }

    /// The final tier's machine code, once it is complete (if the module
    /// was asked to keep it): every function, with direct calls between
    /// them, which is eager code, so it can be saved as an eagerly compiled
    /// artifact.
    pub fn final_functions(&self) -> Option<Vec<CompiledFunction>> {
        let code = lock(&self.final_code);
        if code.is_empty() || code.iter().any(Option::is_none) {
            return None;
        }
        Some(code.iter().flatten().cloned().collect())
    }

    /// What a code cache entry of this module is to hold: the compiled
    /// functions, with final-tier code (kept, when asked) in place of the
    /// first tier's where the final tier got to. Final-tier code calls
    /// other functions directly, so it is only saved once every function
    /// has code to place it with, none of it quick (which is replaced).
    pub fn saved_functions(&self) -> Vec<Option<CompiledFunction>> {
        let mut saved = self.compiled_functions();
        if saved.iter().all(|f| f.as_ref().is_some_and(|f| !f.quick)) {
            for (s, f) in saved.iter_mut().zip(lock(&self.final_code).iter()) {
                if let Some(f) = f {
                    *s = Some(f.clone());
                }
            }
        }
        saved
    }

    /// Whether the final tier (every function recompiled with direct calls
    /// once all are compiled; see the module documentation) is placed.
    pub fn final_tier_placed(&self) -> bool {
        self.final_placed.load(Ordering::Acquire)
    }

    /// Places code compiled earlier (from an artifact) before first use.
    /// Final-tier code is placed only with every function it calls
    /// directly; without one, it is compiled again when needed.
    pub fn preload(&self, funcs: Vec<(u32, CompiledFunction)>) -> Result<(), String> {
        let mut funcs: Vec<_> = funcs.into_iter().filter(|(i, _)| self.claim(*i)).collect();
        // Quick code is replaced: direct calls would keep running it.
        loop {
            let callable: std::collections::HashSet<u32> = funcs
                .iter()
                .filter(|(_, f)| !f.quick)
                .filter_map(|(_, f)| f.wasm_index)
                .collect();
            let before = funcs.len();
            funcs.retain(|(i, f)| {
                let placeable = f.relocs.iter().all(|r| match r.target {
                    crate::compile::RelocTarget::Func(callee) => {
                        callable.contains(&callee) || f.wasm_index == Some(callee)
                    }
                    crate::compile::RelocTarget::LibCall(_) => true,
                });
                if !placeable {
                    self.states[*i as usize].store(NOT_STARTED, Ordering::Release);
                }
                placeable
            });
            if funcs.len() == before {
                break;
            }
        }
        if funcs.is_empty() {
            return Ok(());
        }
        let (indices, code): (Vec<u32>, Vec<CompiledFunction>) = funcs.into_iter().unzip();
        let addrs = match self.place_caught(&code, None) {
            Ok(addrs) => addrs,
            Err(e) => {
                // Unclaimed again: compiled on demand instead.
                for &i in &indices {
                    self.states[i as usize].store(NOT_STARTED, Ordering::Release);
                }
                return Err(e);
            }
        };
        self.publish(&mut lock(&self.shared), indices, code, addrs);
        Ok(())
    }

    /// Makes placed functions callable: their slots point at `addrs`, they
    /// are ready, and their machine code is kept for artifacts.
    fn publish(
        &self,
        shared: &mut Shared,
        indices: Vec<u32>,
        funcs: Vec<CompiledFunction>,
        addrs: Vec<usize>,
    ) {
        for ((i, f), addr) in indices.into_iter().zip(funcs).zip(addrs) {
            // Quick code (compiled now, or loaded from the cache) is queued
            // for an upgrade, which `upgrade` takes under this lock.
            if f.quick {
                self.quick_code[i as usize].store(addr as *mut u8, Ordering::Release);
                lock(&self.upgrades).push_back(i);
            }
            self.slots[i as usize].store(addr as *mut u8, Ordering::Release);
            self.states[i as usize].store(READY, Ordering::Release);
            self.ready_count.fetch_add(1, Ordering::Release);
            shared.compiled[i as usize] = Some(f);
        }
    }
}

impl Drop for LazyCode {
    fn drop(&mut self) {
        let p = self.placement.get_mut().unwrap_or_else(|e| e.into_inner());
        for &base in &p.registered {
            code::unregister(base);
        }
        for arena in &mut p.arenas {
            // SAFETY: the module is being dropped: no instance (which holds
            // it) is left to run its code, and the code is unregistered.
            unsafe { arena.free_memory() };
        }
    }
}

/// The cores this process may use (background compilation needs two).
pub(crate) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Native stack a thread must have left to compile a function itself
/// (Cranelift needs far less; the rest is margin).
const INLINE_STACK: usize = 1 << 20;

thread_local! {
    static INLINE_SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Bytes of native stack left below the caller's frame (0 if unknown).
fn stack_room() -> usize {
    let low = crate::sys::stack::stack_low();
    if low == 0 {
        return 0;
    }
    let here = 0u8;
    (std::ptr::addr_of!(here) as usize).saturating_sub(low)
}

/// The code of defined function `index` of `module`, compiled now if it is
/// not yet: on the calling thread when it has at least 1 MiB of
/// native stack left (Wasm may have used most of it), otherwise by the
/// compile threads while the caller waits. A function being compiled by
/// another thread is waited for, not compiled twice.
pub fn code(module: &Arc<CompiledModule>, index: DefinedFuncIndex) -> Result<*const u8, String> {
    let Some(lazy) = module.lazy() else {
        return Ok(module.func_ptr(index));
    };
    let i = index.0;
    let ptr = lazy.code_if_ready(index);
    if !ptr.is_null() {
        return Ok(ptr);
    }
    lazy.demanded.fetch_add(1, Ordering::Relaxed);
    // Time a call spends on its callee's compilation, however it ends.
    struct Waited<'a>(&'a LazyCode, std::time::Instant);
    impl Drop for Waited<'_> {
        fn drop(&mut self) {
            let nanos = u64::try_from(self.1.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.0.demand_nanos.fetch_add(nanos, Ordering::Relaxed);
        }
    }
    let _waited = Waited(lazy, std::time::Instant::now());
    lazy.hint_callees(i);
    // The program has gone beyond the code it started with: background
    // threads start on it now.
    if lazy.deferred.swap(false, Ordering::AcqRel) {
        // Taking the lock first: a background thread that read `deferred`
        // (under the lock) before the swap is then waiting, so this wakes
        // it; otherwise the wake-up could come before its wait and be lost,
        // and with no deadline it would never look again.
        let service = service();
        drop(lock(&service.jobs));
        service.work.notify_all();
    }
    if stack_room() >= INLINE_STACK && lazy.claim(i) {
        // Enough native stack left: compile here, sparing the hand-over.
        let batch = INLINE_SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            lazy.compile_filling(module, i, &mut scratch)
        });
        lazy.finish(module, batch);
    }
    lazy.waiters.fetch_add(1, Ordering::SeqCst);
    if lazy.states[i as usize].load(Ordering::Acquire) == NOT_STARTED
        && !service().urgent(module.clone(), i)
    {
        lazy.waiters.fetch_sub(1, Ordering::SeqCst);
        return Err("cannot start a compile thread".into());
    }
    let mut shared = lock(&lazy.shared);
    let result = loop {
        match lazy.states[i as usize].load(Ordering::Acquire) {
            READY => break Ok(lazy.code_if_ready(index)),
            FAILED => {
                let why = shared.errors.get(&i).cloned().unwrap_or_default();
                break Err(format!(
                    "cannot compile {}: {why}",
                    module
                        .info
                        .func_display_name(FuncIndex(module.info.num_imported_funcs + i))
                ));
            }
            _ => shared = lazy.ready.wait(shared).unwrap_or_else(|e| e.into_inner()),
        }
    };
    drop(shared);
    lazy.waiters.fetch_sub(1, Ordering::SeqCst);
    result
}

/// The on-stack-replacement entry of loop `lp` of defined function
/// `index` (translate/osr.rs in the frontend), for quick code that has
/// gone round its loops long enough to ask; null while there is none. With
/// background threads, one is compiled (by them) only once the function's
/// quick code has been replaced for later calls and a call still runs it:
/// until then, the heat that made the quick code ask is what orders its
/// replacement. Without them (quick code kept, for tests), it is compiled
/// here, given the native stack to do so.
pub fn osr_code(module: &Arc<CompiledModule>, index: DefinedFuncIndex, lp: u32) -> *const u8 {
    let Some(lazy) = module.lazy() else {
        return std::ptr::null();
    };
    let key = (index.0, lp);
    let background = lazy.background.load(Ordering::Relaxed) && cores() >= 2;
    let mut osr = lock(&lazy.osr);
    match osr.get(&key) {
        Some(entry) => return entry.map_or(std::ptr::null(), |a| a as *const u8),
        None if background => {
            let code = lazy.code_if_ready(index);
            if code.is_null() || lazy.is_quick(index, code) {
                return std::ptr::null();
            }
            osr.insert(key, None);
            drop(osr);
            lock(&lazy.osr_requests).push(key);
            lazy.deferred.store(false, Ordering::Release);
            service().background(Arc::downgrade(module), None);
            return std::ptr::null();
        }
        None => {}
    }
    if stack_room() < INLINE_STACK {
        return std::ptr::null();
    }
    osr.insert(key, None);
    drop(osr);
    let addr = INLINE_SCRATCH
        .with(|scratch| lazy.compile_osr(module, index.0, lp, &mut scratch.borrow_mut()));
    lock(&lazy.osr).insert(key, addr);
    addr.map_or(std::ptr::null(), |a| a as *const u8)
}

/// Starts compiling `module`'s functions on idle cores, in its background
/// order; with `after`, only once that much time has passed or a call
/// finds a function not compiled, whichever is first (for a module loaded
/// with compiled code, which a short run may not need more of: compiling
/// beside it would only slow it down). Does nothing for an eagerly
/// compiled module or a one-core host.
pub fn start_background(module: &Arc<CompiledModule>, after: Option<std::time::Duration>) {
    let Some(lazy) = module.lazy() else {
        return;
    };
    lazy.background.store(true, Ordering::Relaxed);
    // A delay past any representable time: on demand only (`None`).
    let at = after.map(|delay| std::time::Instant::now().checked_add(delay));
    lazy.deferred.store(at.is_some(), Ordering::Relaxed);
    service().background(Arc::downgrade(module), at.flatten());
}

/// Compiles every function of `module` that is not compiled yet, on the
/// calling thread (for artifacts: not called while Wasm runs).
pub fn compile_all(module: &Arc<CompiledModule>) -> Result<(), String> {
    let Some(lazy) = module.lazy() else {
        return Ok(());
    };
    let mut scratch = Scratch::default();
    let mut unclaimed = (0..lazy.states.len() as u32).filter(|&i| lazy.claim(i));
    loop {
        let mut batch = Vec::new();
        let more = lazy.compile_batch(
            module,
            &mut scratch,
            &mut batch,
            BATCH_BYTES,
            || unclaimed.next().map(|i| (i, Tier::First)),
            || false,
        );
        lazy.finish(module, batch);
        if !more {
            break;
        }
    }
    for i in 0..lazy.states.len() as u32 {
        code(module, DefinedFuncIndex(i))?;
    }
    // An artifact holds optimised code: quick code that background threads
    // have not replaced yet is compiled again now (for the artifact only).
    for i in 0..lazy.states.len() {
        let quick = |shared: &Shared| shared.compiled[i].as_ref().is_none_or(|f| f.quick);
        if quick(&lock(&lazy.shared)) {
            let f = lazy.compiled_with(module, i as u32, &mut scratch, Tier::Upgrade)?;
            let mut shared = lock(&lazy.shared);
            if quick(&shared) {
                shared.compiled[i] = Some(f);
                lazy.upgraded.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    Ok(())
}

/// The process-wide compile threads: one that only serves urgent requests
/// (a thread running Wasm waits for it, so its core is free), and one per
/// further core that compiles ahead and helps with urgent requests.
struct Service {
    jobs: Mutex<Jobs>,
    work: Condvar,
    /// Urgent requests queued (read without the lock by background threads
    /// deciding whether to place their batch now).
    urgent_pending: AtomicUsize,
}

#[derive(Default)]
struct Jobs {
    urgent: VecDeque<(Arc<CompiledModule>, u32)>,
    /// Modules to compile ahead, each with the time its background
    /// compilation starts if it is deferred and no call needs it sooner.
    background: VecDeque<(Weak<CompiledModule>, Option<std::time::Instant>)>,
    urgent_thread: bool,
    background_threads: usize,
}

fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| Service {
        jobs: Mutex::new(Jobs::default()),
        work: Condvar::new(),
        urgent_pending: AtomicUsize::new(0),
    })
}

enum Job {
    Urgent(Arc<CompiledModule>, u32),
    Background(Arc<CompiledModule>),
}

impl Service {
    /// Queues an urgent request; false when no thread can serve it.
    fn urgent(&'static self, module: Arc<CompiledModule>, i: u32) -> bool {
        let mut jobs = lock(&self.jobs);
        if !jobs.urgent_thread
            && std::thread::Builder::new()
                .name("wasm-jit compile".into())
                .spawn(move || self.run(false))
                .is_ok()
        {
            jobs.urgent_thread = true;
        }
        if !jobs.urgent_thread && jobs.background_threads == 0 {
            return false;
        }
        jobs.urgent.push_back((module, i));
        self.urgent_pending.fetch_add(1, Ordering::SeqCst);
        drop(jobs);
        self.work.notify_all();
        true
    }

    fn background(&'static self, module: Weak<CompiledModule>, at: Option<std::time::Instant>) {
        let cores = cores();
        if cores < 2 {
            return;
        }
        let mut jobs = lock(&self.jobs);
        // Queued once: whoever queued it already decides when it starts
        // (`deferred`).
        if !jobs.background.iter().any(|(w, _)| w.ptr_eq(&module)) {
            jobs.background.push_back((module, at));
        }
        while jobs.background_threads + 1 < cores {
            if std::thread::Builder::new()
                .name("wasm-jit background compile".into())
                .spawn(move || self.run(true))
                .is_err()
            {
                break;
            }
            jobs.background_threads += 1;
        }
        drop(jobs);
        self.work.notify_all();
    }

    fn next_job(&self, background: bool) -> Job {
        let mut jobs = lock(&self.jobs);
        loop {
            if let Some((m, i)) = jobs.urgent.pop_front() {
                self.urgent_pending.fetch_sub(1, Ordering::SeqCst);
                return Job::Urgent(m, i);
            }
            let mut wake = None;
            if background {
                let now = std::time::Instant::now();
                jobs.background.retain(|(w, _)| w.strong_count() > 0);
                // A module with a call waiting for an on-stack-replacement
                // entry goes first.
                let waiting = jobs.background.iter().find_map(|(w, _)| {
                    let m = w.upgrade()?;
                    m.lazy().is_some_and(LazyCode::osr_waiting).then_some(m)
                });
                if let Some(m) = waiting {
                    return Job::Background(m);
                }
                for (w, at) in &jobs.background {
                    let Some(m) = w.upgrade() else { continue };
                    let lazy = m.lazy().expect("lazy module");
                    if at.is_some_and(|at| at <= now) {
                        lazy.deferred.store(false, Ordering::Release);
                    }
                    if !lazy.deferred.load(Ordering::Acquire) {
                        return Job::Background(m);
                    }
                    wake = match (wake, *at) {
                        (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                        (a, b) => a.or(b),
                    };
                }
            }
            jobs = match wake {
                Some(at) => {
                    let wait = at.saturating_duration_since(std::time::Instant::now());
                    self.work
                        .wait_timeout(jobs, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.work.wait(jobs).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }

    fn run(&self, background: bool) {
        let mut scratch = Scratch::default();
        loop {
            match self.next_job(background) {
                Job::Urgent(module, i) => {
                    let lazy = module.lazy().expect("lazy module");
                    if lazy.claim(i) {
                        let batch = lazy.compile_filling(&module, i, &mut scratch);
                        lazy.finish(&module, batch);
                    }
                }
                Job::Background(module) => {
                    let lazy = module.lazy().expect("lazy module");
                    // A call running long in quick code waits for it.
                    if lazy.compile_osr_request(&module, &mut scratch) {
                        continue;
                    }
                    // Hot quick code replaced first, then the callees of
                    // functions just called (they are about to be called),
                    // then the rest of the quick code, then ahead in
                    // background order.
                    if (lock(&lazy.hints).is_empty() || lazy.hot_upgrade_waiting())
                        && lazy.upgrade(&module, &mut scratch, || {
                            lazy.waiters.load(Ordering::SeqCst) > 0
                                || self.urgent_pending.load(Ordering::SeqCst) > 0
                                || !lock(&lazy.hints).is_empty()
                                || lazy.osr_waiting()
                        })
                    {
                        continue;
                    }
                    let mut batch = Vec::new();
                    // Placed early when someone waits, and at once when it
                    // holds a hint: the caller that hinted it is about to
                    // call it.
                    let hinted = std::cell::Cell::new(false);
                    let started = std::time::Instant::now();
                    let exhausted = !lazy.compile_batch(
                        &module,
                        &mut scratch,
                        &mut batch,
                        BATCH_BYTES,
                        || {
                            let (i, hint) = lazy.claim_next()?;
                            hinted.set(hinted.get() || hint);
                            // A hinted function is about to be called.
                            Some((i, if hint { lazy.quick_tier() } else { Tier::First }))
                        },
                        || {
                            hinted.get()
                                || started.elapsed() >= BATCH_TIME
                                || lazy.waiters.load(Ordering::SeqCst) > 0
                                || self.urgent_pending.load(Ordering::SeqCst) > 0
                                // Hot quick code is replaced first.
                                || lazy.hot_upgrade_waiting()
                                || lazy.osr_waiting()
                        },
                    );
                    lazy.finish(&module, batch);
                    if exhausted {
                        // Held by this job alone: dropped by its owners.
                        lazy.final_tier(&module, &mut scratch, || Arc::strong_count(&module) > 1);
                        let mut jobs = lock(&self.jobs);
                        // An entry asked for since (`osr_code` queues it
                        // before it takes `jobs`) keeps the module here.
                        if lazy.osr_waiting() {
                            continue;
                        }
                        // Quick code left (the final tier could not be
                        // placed) is replaced first. (`publish` queues it
                        // before `finish` takes `jobs` to queue the module
                        // again, which then finds it here.)
                        if !lazy.final_tier_placed() && !lock(&lazy.upgrades).is_empty() {
                            continue;
                        }
                        // The last function became ready since `final_tier`
                        // looked (another thread compiled it, and `finish`
                        // queued the module again, which this removal would
                        // undo): the final tier is still to place. (Once
                        // this lock is held, a function that becomes ready
                        // later is queued again after it.)
                        if !lazy.states.is_empty()
                            && lazy.complete()
                            && !lazy.final_tier.load(Ordering::Acquire)
                        {
                            continue;
                        }
                        jobs.background.retain(|(w, _)| {
                            w.upgrade().is_some_and(|m| !Arc::ptr_eq(&m, &module))
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::CompilerOptions;

    fn leb(out: &mut Vec<u8>, mut n: usize) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// A lazy module with the quick tier and two functions of type
    /// `[] -> [i32]`: 0 returns 7; 1, too large to fill a page with,
    /// returns 1.
    fn two_functions() -> Arc<CompiledModule> {
        let body0 = vec![0u8, 0x41, 7, 0x0b];
        let mut body1 = vec![0u8];
        for _ in 0..100 {
            body1.extend([0x41, 0, 0x1a]);
        }
        body1.extend([0x41, 1, 0x0b]);
        let mut code = vec![2u8];
        for b in [&body0, &body1] {
            leb(&mut code, b.len());
            code.extend(b.iter());
        }
        let mut wasm = vec![
            0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 3, 2, 0, 0, 10,
        ];
        leb(&mut wasm, code.len());
        wasm.extend(code);
        lazy_module(&wasm, true, false)
    }

    /// `wasm` compiled lazily, with the quick tier if `quick`, keeping its
    /// final tier for the code cache if `keep_final`.
    fn lazy_module(wasm: &[u8], quick: bool, keep_final: bool) -> Arc<CompiledModule> {
        let wasm = SharedBytes::from(wasm);
        let parsed = wasm_jit_frontend::module::parse(&wasm, WasmFeatures::default()).unwrap();
        let compiler = Arc::new(
            Compiler::new(&CompilerOptions {
                quick_tier: quick,
                ..CompilerOptions::default()
            })
            .unwrap(),
        );
        let options = crate::ModuleOptions {
            memory_style: wasm_jit_frontend::translate::MemoryStyle::Guarded {
                guard_bytes: 1 << 31,
            },
            epoch_interruption: false,
            consume_fuel: false,
            parallel: false,
            lazy: true,
            keep_final_tier: keep_final,
            quick_tier_from: quick.then_some(0),
            quick_always: false,
            background: true,
            deadline: None,
            far_calls_above: None,
            memory_init_cow: true,
        };
        Arc::new(
            CompiledModule::compile(
                &compiler,
                &wasm,
                parsed,
                &crate::TypeRegistry::default(),
                &options,
                None,
            )
            .unwrap(),
        )
    }

    /// Quick code is recorded (so it never goes into a `VMFuncRef`),
    /// queued, kept flagged for the cache, and replaced by `upgrade`.
    #[test]
    fn quick_code_is_queued_and_replaced() {
        let module = two_functions();
        let lazy = module.lazy().unwrap();
        // As `start_background` would, without starting threads: nothing
        // but this test touches the module.
        lazy.background.store(true, Ordering::Relaxed);
        let quick = cores() >= 2;
        let mut scratch = Scratch::default();
        assert!(lazy.claim(0));
        let batch = lazy.compile_filling(&module, 0, &mut scratch);
        assert_eq!(batch.len(), 1, "function 1 is too large to fill with");
        lazy.finish(&module, batch);
        let index = DefinedFuncIndex(0);
        let first = lazy.code_if_ready(index);
        assert!(!first.is_null());
        assert_eq!(lazy.is_quick(index, first), quick);
        assert_eq!(lazy.lasting_code(index).is_null(), quick);
        assert_eq!(lazy.compiled_functions()[0].as_ref().unwrap().quick, quick);
        assert_eq!(lazy.quick_compilations(), quick as usize);
        // Replaced: a new address that lasts, optimised code for the cache.
        assert_eq!(lazy.upgrade(&module, &mut scratch, || false), quick);
        let now = lazy.code_if_ready(index);
        assert_eq!(now != first, quick);
        assert!(!lazy.is_quick(index, now));
        assert_eq!(lazy.lasting_code(index), now);
        assert!(!lazy.compiled_functions()[0].as_ref().unwrap().quick);
        assert!(!lazy.upgrade(&module, &mut scratch, || false));
        assert_eq!(lazy.compilations(), 1);
        assert_eq!(lazy.upgraded(), quick as usize);

        // Upgrades go hottest first, the first queued of equals first, and
        // hot code jumps the hints.
        lock(&lazy.upgrades).extend([0, 1]);
        assert!(!lazy.hot_upgrade_waiting());
        lazy.heat[1].store(HOT, Ordering::Relaxed);
        assert!(lazy.hot_upgrade_waiting());
        assert_eq!(lazy.hottest_upgrade(), Some(1));
        assert!(!lazy.hot_upgrade_waiting());
        assert_eq!(lazy.hottest_upgrade(), Some(0));
        assert_eq!(lazy.hottest_upgrade(), None);
        lazy.heat[1].store(0, Ordering::Relaxed);
        lock(&lazy.upgrades).extend([1, 0]);
        assert_eq!(lazy.hottest_upgrade(), Some(1));
        assert_eq!(lazy.hottest_upgrade(), Some(0));
        assert_eq!(lazy.hottest_upgrade(), None);
        // Quick code finds the counters after the slots.
        let counters = lazy.slots[lazy.states.len()].load(Ordering::Relaxed);
        assert_eq!(counters as *const AtomicU64, lazy.heat.as_ptr());
    }

    /// A module with a function that failed to compile never gets its
    /// final tier, and background threads that found nothing left to do
    /// let it go: its quick code is replaced all the same, whether the
    /// failure or the quick code comes first.
    #[test]
    fn quick_code_of_a_module_with_a_failed_function_is_replaced() {
        if cores() < 2 {
            return; // No background threads, so no quick code.
        }
        for fail_first in [true, false] {
            let module = two_functions();
            let lazy = module.lazy().unwrap();
            // Not queued, as after background threads let it go.
            lazy.background.store(true, Ordering::Relaxed);
            let fail = || {
                assert!(lazy.claim(1));
                lazy.finish(&module, vec![(1, Err("a resource limit".into()))]);
                assert_eq!(lazy.states[1].load(Ordering::Acquire), FAILED);
            };
            if fail_first {
                fail();
            }
            assert!(lazy.claim(0));
            let batch = lazy.compile_filling(&module, 0, &mut Scratch::default());
            lazy.finish(&module, batch);
            assert_eq!(lazy.quick_compilations(), 1);
            if !fail_first {
                fail();
            }
            let index = DefinedFuncIndex(0);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while lazy.is_quick(index, lazy.code_if_ready(index)) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the quick code was never replaced (failure first: {fail_first})"
                );
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert_eq!(lazy.upgraded(), 1);
            assert!(!lazy.final_tier_placed());
        }
    }

    /// Four functions of type `[] -> []`; function 0 calls 3, then 2.
    const WASM: &[u8] = &[
        0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 5, 4, 0, 0, 0, 0, 10, 17, 4, 6, 0,
        0x10, 3, 0x10, 2, 0x0b, 2, 0, 0x0b, 2, 0, 0x0b, 2, 0, 0x0b,
    ];

    /// The final tier's code is kept function by function for the code
    /// cache, saved in place of the first tier's once every function has
    /// code to place it with, loaded only with the functions it calls, and
    /// not compiled again by the final tier of the run that loaded it.
    #[test]
    fn final_tier_code_is_saved_as_it_comes_and_loaded_with_its_callees() {
        let module = lazy_module(WASM, false, true);
        let lazy = module.lazy().unwrap();
        let mut scratch = Scratch::default();
        let mut first = |i: u32| {
            assert!(lazy.claim(i));
            let f = lazy.compiled_with(&module, i, &mut scratch, Tier::First);
            lazy.finish(&module, vec![(i, f)]);
        };
        first(0);
        // As if a run ended with the final tier at function 0.
        let final0 = lazy
            .compiled_with(&module, 0, &mut Scratch::default(), Tier::Final)
            .unwrap();
        assert!(final0.final_tier);
        let calls: Vec<_> = final0
            .relocs
            .iter()
            .filter_map(|r| match r.target {
                crate::compile::RelocTarget::Func(i) => Some(i),
                crate::compile::RelocTarget::LibCall(_) => None,
            })
            .collect();
        assert_eq!(calls, [3, 2], "direct calls");
        lock(&lazy.final_code)[0] = Some(final0);
        let tiers = |saved: &[Option<CompiledFunction>]| -> Vec<Option<bool>> {
            saved
                .iter()
                .map(|f| f.as_ref().map(|f| f.final_tier))
                .collect()
        };
        // Functions 1-3 have no code to place it with.
        assert_eq!(
            tiers(&lazy.saved_functions()),
            [Some(false), None, None, None]
        );
        first(1);
        first(2);
        first(3);
        let saved = lazy.saved_functions();
        assert_eq!(
            tiers(&saved),
            [Some(true), Some(false), Some(false), Some(false)]
        );
        assert!(lazy.final_functions().is_none(), "not complete");

        let load = |without: Option<u32>| {
            let module = lazy_module(WASM, false, true);
            let present = saved
                .iter()
                .enumerate()
                .filter(|&(i, _)| Some(i as u32) != without)
                .map(|(i, f)| (i as u32, f.clone().unwrap()))
                .collect();
            module.lazy().unwrap().preload(present).unwrap();
            module
        };
        // Without a function it calls, function 0 is left to compile.
        let partial = load(Some(3));
        let loaded = partial.lazy().unwrap();
        assert!(loaded.code_if_ready(DefinedFuncIndex(0)).is_null());
        assert!(!loaded.code_if_ready(DefinedFuncIndex(2)).is_null());
        assert!(loaded.code_if_ready(DefinedFuncIndex(3)).is_null());
        // With them, it is placed, and the final tier keeps it.
        let whole = load(None);
        let loaded = whole.lazy().unwrap();
        assert!(!loaded.code_if_ready(DefinedFuncIndex(0)).is_null());
        assert!(loaded.complete());
        // Not wanted any more: nothing is compiled, and the first tier
        // stays.
        let unwanted = load(None);
        let dropped = unwanted.lazy().unwrap();
        dropped.final_tier(&unwanted, &mut Scratch::default(), || false);
        assert!(!dropped.final_tier_placed());
        assert_eq!(dropped.final_compilations(), 0);
        loaded.final_tier(&whole, &mut Scratch::default(), || true);
        assert!(loaded.final_tier_placed());
        assert_eq!(loaded.final_compilations(), 3);
        let finals = loaded.final_functions().expect("complete");
        assert!(finals.iter().all(|f| f.final_tier));
        assert_eq!(finals[0].code, saved[0].as_ref().unwrap().code);
    }

    /// A function called before it was compiled puts its callees, first
    /// call first, ahead of the background order; ones already claimed are
    /// skipped, and the order goes on after them.
    #[test]
    fn callees_of_a_called_function_are_compiled_next() {
        let parsed = wasm_jit_frontend::module::parse(WASM, WasmFeatures::default()).unwrap();
        let source = LazySource::new(WASM.into(), &parsed.functions);
        let compiler = Arc::new(Compiler::new(&CompilerOptions::default()).unwrap());
        let callees: Vec<Box<[u32]>> = vec![[3, 2].into(), [].into(), [].into(), [].into()];
        let lazy = LazyCode::new(
            source,
            compiler,
            Arc::new(CodeNames::default()),
            vec![0, 1, 2, 3],
            callees,
            false,
            false,
        );
        assert!(lazy.claim(0), "called, so claimed by its caller");
        lazy.hint_callees(0);
        assert_eq!(lazy.claim_next(), Some((3, true)));
        assert_eq!(lazy.claim_next(), Some((2, true)));
        assert_eq!(lazy.claim_next(), Some((1, false)));
        assert_eq!(lazy.claim_next(), None);
        // Nothing left to hint.
        lazy.hint_callees(0);
        assert_eq!(lazy.claim_next(), None);
    }
}
