//! Engine configuration.

use wasmparser::WasmFeatures;

/// The code cache's size limit unless one is set ([`Config::cache_size_limit`]).
const DEFAULT_CACHE_SIZE_LIMIT: u64 = 1 << 30;

/// How hard Cranelift optimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OptLevel {
    /// No optimisation: fastest compilation.
    None,
    /// Optimise for speed (the default).
    #[default]
    Speed,
    /// Optimise for speed and code size.
    SpeedAndSize,
}

/// How a lazily compiled function that a call must wait for is compiled
/// first (see [`Config::first_tier`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FirstTier {
    /// At full optimisation, like every other function (the default for
    /// the API).
    #[default]
    Optimized,
    /// Quickly, into slower code that background threads replace.
    Quick,
    /// [`Quick`](Self::Quick) for a module with at least
    /// [`CompilationMode::AUTO_LAZY_BYTES`] of function bodies, whose
    /// start-up waits mostly for compilation, [`Optimized`](Self::Optimized)
    /// for a smaller one, whose functions compile in milliseconds, and for
    /// a module kept in the code cache ([`Config::cache_dir`]), whose code
    /// serves the runs after this one (the default of the CLI's `run`).
    Auto,
}

/// Which register allocator Cranelift uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RegallocAlgorithm {
    /// Backtracking with live-range splitting: better code (the default).
    #[default]
    Backtracking,
    /// One pass: compiles faster, into code with more spills and moves.
    /// Cranelift's maintainers do not consider it production-ready (it has
    /// had miscompilations, and Wasmtime does not cover it in its security
    /// policy): not for untrusted code where that matters.
    SinglePass,
}

/// How to tell profilers about compiled code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Profiler {
    /// Nothing (the default).
    #[default]
    None,
    /// Append every compiled function to `/tmp/perf-PID.map`, which `perf
    /// report` reads to name JIT code.
    PerfMap,
    /// Append every compiled function, with its machine code, to
    /// `./jit-PID.dump` in perf's jitdump format: record with `perf record
    /// -k mono`, then `perf inject --jit` makes symbol files from it so
    /// `perf report` and `perf annotate` see Wasm functions.
    JitDump,
}

/// Wasmtime's name for [`Profiler`] (its `Config::profiler` takes a
/// `ProfilingStrategy`). `None`, `PerfMap` and `JitDump` are Wasmtime's;
/// its `VTune` and `Pulley` are not here.
pub type ProfilingStrategy = Profiler;

/// When a module's functions are compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CompilationMode {
    /// All of them when the module is loaded (the default for the API).
    #[default]
    Eager,
    /// Each on its first call, and ahead of that on idle cores in call-graph
    /// order. The whole module is still validated when it is loaded. Calls
    /// between a module's functions go through a table of code pointers,
    /// which costs a load and a compare until background compilation has
    /// compiled them all again with direct calls.
    Lazy,
    /// [`Lazy`](Self::Lazy) for a module with at least
    /// [`CompilationMode::AUTO_LAZY_BYTES`] of function bodies,
    /// [`Eager`](Self::Eager) (on every core, unless
    /// [`Config::parallel_compilation`] is off) for a smaller one (the default of
    /// `wasm-jit run`). Most of a small module usually runs, and compiling
    /// all of it at once on every core is then sooner than compiling it
    /// call by call: measured on four real C programs of 60 to 90 KiB of
    /// code, 3 to 20% sooner end to end. A large module starts at once.
    Auto,
}

impl CompilationMode {
    /// The size of function bodies (in bytes of Wasm) from which
    /// [`CompilationMode::Auto`] compiles lazily: 256 KiB, compiled whole
    /// in about 0.1 s on two cores.
    pub const AUTO_LAZY_BYTES: usize = 256 * 1024;
}

/// Settings of an [`Engine`](crate::Engine). Fixed once the engine exists.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) opt_level: OptLevel,
    pub(crate) regalloc: RegallocAlgorithm,
    pub(crate) first_tier: FirstTier,
    pub(crate) features: WasmFeatures,
    pub(crate) guard_bytes: u64,
    pub(crate) explicit_bounds_checks: bool,
    /// Whether the embedder chose between guard pages and explicit bounds
    /// checks ([`Config::explicit_bounds_checks`],
    /// [`Config::memory_reservation`]); if not, `Engine::new` may choose
    /// explicit checks where address space is short.
    pub(crate) bounds_checks_chosen: bool,
    /// Set by `Engine::new` when it chose explicit bounds checks because of
    /// the address-space limit (for error messages).
    pub(crate) bounds_checks_for_address_limit: bool,
    /// [`Config::wasm_backtrace`].
    pub(crate) wasm_backtrace: bool,
    /// [`Config::wasm_backtrace_max_frames`] (`usize::MAX`: not set).
    pub(crate) backtrace_max_frames: usize,
    pub(crate) parallel_compilation: bool,
    pub(crate) max_wasm_stack: usize,
    pub(crate) max_memory_pages: u64,
    pub(crate) max_table_elements: u64,
    pub(crate) cranelift_verifier: bool,
    pub(crate) relaxed_simd_deterministic: bool,
    pub(crate) nan_canonicalization: bool,
    pub(crate) strategy: Strategy,
    pub(crate) collector: Collector,
    pub(crate) epoch_interruption: bool,
    pub(crate) consume_fuel: bool,
    pub(crate) max_compile_time: Option<std::time::Duration>,
    pub(crate) profiler: Profiler,
    pub(crate) cache_dir: Option<std::path::PathBuf>,
    pub(crate) cache_size_limit: u64,
    pub(crate) compilation_mode: CompilationMode,
    pub(crate) background_compilation: bool,
    pub(crate) background_delay: std::time::Duration,
    pub(crate) quick_tier_always: bool,
    pub(crate) target: Option<target_lexicon::Triple>,
    pub(crate) far_calls_above: Option<u64>,
    /// [`Config::debug_info`] and [`Config::async_support`]: asked for,
    /// `Engine::new` refuses them as not supported yet.
    pub(crate) debug_info: bool,
    pub(crate) async_support: bool,
    /// [`Config::memory_reservation`], as given.
    pub(crate) memory_reservation: Option<u64>,
    pub(crate) memory_reservation_for_growth: Option<u64>,
    pub(crate) memory_may_move: bool,
    pub(crate) memory_init_cow: bool,
    /// [`Config::signals_based_traps`], [`Config::coredump_on_trap`],
    /// [`Config::wasm_component_model`]: `Engine::new` refuses what is not
    /// supported yet.
    pub(crate) signals_based_traps: bool,
    pub(crate) coredump_on_trap: bool,
    pub(crate) component_model: bool,
    /// [`Config::cranelift_flag_set`] (`Some(value)`) and
    /// [`Config::cranelift_flag_enable`] (`None`), in order.
    pub(crate) cranelift_flags: Vec<(String, Option<String>)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            opt_level: OptLevel::Speed,
            regalloc: RegallocAlgorithm::Backtracking,
            first_tier: FirstTier::Optimized,
            features: Config::DEFAULT_FEATURES,
            guard_bytes: 2 << 30,
            explicit_bounds_checks: false,
            bounds_checks_chosen: false,
            bounds_checks_for_address_limit: false,
            wasm_backtrace: true,
            backtrace_max_frames: usize::MAX,
            parallel_compilation: true,
            max_wasm_stack: 512 * 1024,
            max_memory_pages: u64::MAX >> 16,
            max_table_elements: 10_000_000,
            cranelift_verifier: false,
            relaxed_simd_deterministic: false,
            nan_canonicalization: false,
            strategy: Strategy::Auto,
            collector: Collector::Auto,
            epoch_interruption: false,
            consume_fuel: false,
            max_compile_time: None,
            profiler: Profiler::None,
            cache_dir: None,
            cache_size_limit: DEFAULT_CACHE_SIZE_LIMIT,
            compilation_mode: CompilationMode::Eager,
            background_compilation: true,
            background_delay: std::time::Duration::from_millis(100),
            quick_tier_always: false,
            target: None,
            far_calls_above: None,
            debug_info: false,
            async_support: false,
            memory_reservation: None,
            memory_reservation_for_growth: None,
            memory_may_move: true,
            memory_init_cow: true,
            signals_based_traps: true,
            coredump_on_trap: false,
            component_model: false,
            cranelift_flags: Vec::new(),
        }
    }
}

impl Config {
    /// The largest [`Config::memory_guard_size`]: 64 GiB. (Static offsets
    /// are below 4 GiB, so a larger guard would only waste address space,
    /// and the reservation must not wrap.)
    pub const MAX_MEMORY_GUARD_SIZE: u64 = 64 << 30;

    /// Checks settings that cannot be checked one at a time.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        if self.debug_info {
            anyhow::bail!(
                "not supported yet: DWARF debug info for compiled code (Config::debug_info)"
            );
        }
        if self.async_support {
            anyhow::bail!("not supported yet: async support (Config::async_support)");
        }
        if !self.signals_based_traps {
            anyhow::bail!(
                "not supported yet: running without signal handlers \
                 (Config::signals_based_traps(false)): out-of-bounds accesses, \
                 division by zero and `unreachable` trap through the signals they raise"
            );
        }
        if self.coredump_on_trap {
            anyhow::bail!("not supported yet: core dumps on trap (Config::coredump_on_trap)");
        }
        if self.component_model {
            anyhow::bail!("not supported yet: the component model (Config::wasm_component_model)");
        }
        if self.strategy == Strategy::Winch {
            anyhow::bail!(
                "not supported yet: the Winch compiler (wasm-jit compiles with Cranelift)"
            );
        }
        if self.collector == Collector::DeferredReferenceCounting {
            anyhow::bail!(
                "not supported yet: the deferred reference-counting GC collector (wasm-jit has the null collector)"
            );
        }
        if self.guard_bytes > Config::MAX_MEMORY_GUARD_SIZE {
            anyhow::bail!(
                "memory_guard_size of {} bytes is too large: at most {} bytes (64 GiB)",
                self.guard_bytes,
                Config::MAX_MEMORY_GUARD_SIZE
            );
        }
        if self.max_wasm_stack == 0 {
            anyhow::bail!("max_wasm_stack must be more than 0 bytes");
        }
        Ok(())
    }

    /// The features modules are validated with by default: the whole Wasm
    /// 3.0 standard (which includes threads), as Wasmtime validates, and the
    /// legacy exception instructions (`try`, `catch`, `delegate`,
    /// `rethrow`), which older toolchains emit and V8 runs. A valid module
    /// that uses a feature the engine cannot run yet is refused with
    /// `not supported yet: <feature>`, never called invalid.
    pub const DEFAULT_FEATURES: WasmFeatures =
        WasmFeatures::WASM3.union(WasmFeatures::LEGACY_EXCEPTIONS);

    /// The default configuration: [`Config::DEFAULT_FEATURES`], optimised
    /// code, 4 GiB memory reservations with a 2 GiB guard, parallel
    /// compilation.
    pub fn new() -> Config {
        Config::default()
    }

    /// Wasmtime's switch for DWARF debug info in compiled code: `false` is
    /// what there is; `true` makes [`Engine::new`](crate::Engine::new) fail
    /// (not supported yet). Traps still carry a backtrace with function
    /// names and offsets.
    pub fn debug_info(&mut self, enable: bool) -> &mut Self {
        self.debug_info = enable;
        self
    }

    /// Wasmtime's switch for `async` host functions and calls: `false` is
    /// what there is; `true` makes [`Engine::new`](crate::Engine::new) fail
    /// (not supported yet).
    pub fn async_support(&mut self, enable: bool) -> &mut Self {
        self.async_support = enable;
        self
    }

    /// Whether errors from Wasm calls carry a
    /// [`WasmBacktrace`](crate::WasmBacktrace) context (on by default, as
    /// in Wasmtime), with each frame's function name and module offset.
    /// Off, a trap's error is the [`Trap`](crate::Trap) alone and
    /// [`WasmBacktrace::capture`](crate::WasmBacktrace::capture) is empty
    /// ([`force_capture`](crate::WasmBacktrace::force_capture) still
    /// captures). The frames cost nothing until a trap either way.
    pub fn wasm_backtrace(&mut self, enable: bool) -> &mut Self {
        self.wasm_backtrace = enable;
        self
    }

    /// At most how many frames a backtrace keeps, innermost first, as
    /// Wasmtime's setting; `None` turns backtraces off (as
    /// [`Config::wasm_backtrace`]`(false)`). Not set, a backtrace keeps up
    /// to 64 frames of each activation (Wasmtime keeps 20 in all).
    pub fn wasm_backtrace_max_frames(
        &mut self,
        limit: Option<std::num::NonZeroUsize>,
    ) -> &mut Self {
        match limit {
            Some(n) => {
                self.wasm_backtrace = true;
                self.backtrace_max_frames = n.get();
            }
            None => self.wasm_backtrace = false,
        }
        self
    }

    /// Accepted for Wasmtime's API: backtraces always have the details
    /// Wasmtime's `Enable` gives (function names and offsets; no DWARF).
    pub fn wasm_backtrace_details(&mut self, _details: WasmBacktraceDetails) -> &mut Self {
        self
    }

    /// Accepted for Wasmtime's API: the module offsets of trapping and
    /// calling instructions are always kept, for backtraces.
    pub fn generate_address_map(&mut self, _enable: bool) -> &mut Self {
        self
    }

    /// Accepted for Wasmtime's API: frames are walked by frame pointers,
    /// so no unwind tables are registered either way.
    pub fn native_unwind_info(&mut self, _enable: bool) -> &mut Self {
        self
    }

    /// Address space reserved for each linear memory, as Wasmtime's
    /// setting. For a 32-bit memory with 64 KiB pages, 4 GiB or more
    /// reserves 4 GiB plus the guard ([`Config::memory_guard_size`]), and
    /// accesses need no bounds check (the default, unless the process's
    /// address-space limit is too small: see
    /// [`Config::explicit_bounds_checks`]); less checks every access
    /// explicitly (as [`Config::explicit_bounds_checks`]). An
    /// explicitly checked memory (so also every 64-bit one, and every one of
    /// one-byte pages) reserves this much when it is made, or its maximum
    /// size if smaller, and its initial size if larger (then plus
    /// [`Config::memory_reservation_for_growth`]). Not set, such a memory
    /// reserves its initial size (plus
    /// [`Config::memory_reservation_for_growth`], if set), or 4 GiB if it
    /// may not move ([`Config::memory_may_move`]).
    pub fn memory_reservation(&mut self, bytes: u64) -> &mut Self {
        self.explicit_bounds_checks = bytes < 1 << 32;
        self.bounds_checks_chosen = true;
        self.memory_reservation = Some(bytes);
        self
    }

    /// How much more address space than its size an explicitly checked
    /// memory reserves when it outgrows its reservation and moves (and when
    /// it is made larger than [`Config::memory_reservation`]), as
    /// Wasmtime's setting. Not set, a moving memory reserves twice its new
    /// size. (A memory that does not fit its reservation moves only with
    /// [`Config::memory_may_move`].)
    pub fn memory_reservation_for_growth(&mut self, bytes: u64) -> &mut Self {
        self.memory_reservation_for_growth = Some(bytes);
        self
    }

    /// Whether an explicitly checked memory may move to a larger
    /// reservation when it grows past its own (true by default, as in
    /// Wasmtime). False, its base never changes (so pointers from
    /// [`Memory::data_ptr`](crate::Memory::data_ptr) stay valid) and a
    /// `memory.grow` past the reservation fails, returning -1; give it room
    /// with [`Config::memory_reservation`]. Memories guard pages protect
    /// (32-bit, 64 KiB pages, without explicit bounds checks) and shared
    /// memories never move either way.
    pub fn memory_may_move(&mut self, enable: bool) -> &mut Self {
        self.memory_may_move = enable;
        self
    }

    /// Whether a module's first memory is initialised by mapping an image
    /// of its data copy-on-write (true by default, as in Wasmtime). That
    /// needs the module to define that memory, 32-bit with 64 KiB pages
    /// and guard pages (no explicit bounds checks), its active data
    /// segments all at constant offsets inside its initial size and
    /// reaching at least 64 KiB into it, and no active element segment
    /// writing to an imported table. Off, or otherwise, each instantiation
    /// copies the data segments in. The contents are the
    /// same either way; the image makes instantiating a module with much
    /// data cheaper and shares untouched pages between its instances.
    pub fn memory_init_cow(&mut self, enable: bool) -> &mut Self {
        self.memory_init_cow = enable;
        self
    }

    /// Accepted for Wasmtime's API: how tables are initialised does not
    /// show in what Wasm or the host reads from them.
    pub fn table_lazy_init(&mut self, _enable: bool) -> &mut Self {
        self
    }

    /// Whether traps may rely on the signals that faulting instructions
    /// raise (Wasmtime's setting): `true` (the default) is what there is;
    /// `false` makes [`Engine::new`](crate::Engine::new) fail (not
    /// supported yet).
    pub fn signals_based_traps(&mut self, enable: bool) -> &mut Self {
        self.signals_based_traps = enable;
        self
    }

    /// Wasmtime's switch for writing a core dump of Wasm state on a trap:
    /// `false` is what there is; `true` makes
    /// [`Engine::new`](crate::Engine::new) fail (not supported yet).
    pub fn coredump_on_trap(&mut self, enable: bool) -> &mut Self {
        self.coredump_on_trap = enable;
        self
    }

    /// Wasmtime's switch for components: `false` is what there is; `true`
    /// makes [`Engine::new`](crate::Engine::new) fail (not supported yet).
    pub fn wasm_component_model(&mut self, enable: bool) -> &mut Self {
        self.component_model = enable;
        self
    }

    /// Sets a Cranelift setting, shared (`opt_level`, `enable_verifier`,
    /// ...) or of the target's instruction set (`has_avx2`, ...), as
    /// Wasmtime's method. Applied after the engine's own settings, in the
    /// order given; [`Engine::new`](crate::Engine::new) fails on an unknown
    /// setting or value. Settings take part in the artifact and cache
    /// keys.
    ///
    /// # Safety
    /// Some settings break what the runtime relies on (frame pointers,
    /// stack-limit checks, the call convention), and a CPU feature the
    /// machine does not have makes code that faults: the result is then
    /// undefined behaviour, not an error.
    pub unsafe fn cranelift_flag_set(&mut self, name: &str, value: &str) -> &mut Self {
        self.cranelift_flags
            .push((name.to_string(), Some(value.to_string())));
        self
    }

    /// Turns a Cranelift setting on: a boolean setting, or a preset of the
    /// instruction set's (such as `skylake`, which turns on the features
    /// of that CPU), as Wasmtime's method.
    ///
    /// # Safety
    /// As for [`Config::cranelift_flag_set`].
    pub unsafe fn cranelift_flag_enable(&mut self, name: &str) -> &mut Self {
        self.cranelift_flags.push((name.to_string(), None));
        self
    }

    /// Sets the optimisation level.
    pub fn cranelift_opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.opt_level = level;
        self
    }

    /// Cranelift's register allocator (see [`RegallocAlgorithm`]).
    pub fn cranelift_regalloc_algorithm(&mut self, algorithm: RegallocAlgorithm) -> &mut Self {
        self.regalloc = algorithm;
        self
    }

    /// Runs Cranelift's IR verifier on every function (slow; for testing).
    pub fn cranelift_debug_verifier(&mut self, enable: bool) -> &mut Self {
        self.cranelift_verifier = enable;
        self
    }

    /// Whether every float operation that makes a NaN makes the canonical
    /// one, so that results do not depend on the CPU (Wasmtime's
    /// `cranelift_nan_canonicalization`; off by default, as NaN bits are
    /// otherwise left as the CPU makes them, which the specification
    /// allows).
    pub fn cranelift_nan_canonicalization(&mut self, enable: bool) -> &mut Self {
        self.nan_canonicalization = enable;
        self
    }

    /// Which GC collector to use (Wasmtime's): `Auto` and `Null` are the
    /// one there is, which never frees an object before its store drops
    /// (see the README's GC notes); `DeferredReferenceCounting` makes
    /// [`Engine::new`](crate::Engine::new) fail.
    pub fn collector(&mut self, collector: Collector) -> &mut Self {
        self.collector = collector;
        self
    }

    /// Which compiler to use (Wasmtime's): `Auto` and `Cranelift` are the
    /// one there is; `Winch` makes [`Engine::new`](crate::Engine::new) fail.
    pub fn strategy(&mut self, strategy: Strategy) -> &mut Self {
        self.strategy = strategy;
        self
    }

    /// Makes the relaxed SIMD operators give the same answers on every CPU
    /// (those of the strict operators they relax, and fused multiply-add
    /// for `relaxed_madd`), instead of whatever the host's fastest
    /// instruction gives. Off by default, as in Wasmtime.
    pub fn relaxed_simd_deterministic(&mut self, enable: bool) -> &mut Self {
        self.relaxed_simd_deterministic = enable;
        self
    }

    /// Sets the exact set of Wasm features modules are validated with (a
    /// module using any other is invalid). Features the engine cannot run
    /// yet still validate, but loading a module that uses them fails with
    /// "not supported yet: ...".
    pub fn wasm_features(&mut self, features: WasmFeatures) -> &mut Self {
        self.features = features;
        self
    }

    /// Turns one feature (or several) of [`Config::wasm_features`] on or
    /// off, leaving the others.
    pub fn wasm_feature(&mut self, flag: WasmFeatures, enable: bool) -> &mut Self {
        self.features.set(flag, enable);
        self
    }

    /// Size of the inaccessible region after each memory's 4 GiB
    /// reservation. Accesses whose static offset fits in it need no bounds
    /// check. At most [`Config::MAX_MEMORY_GUARD_SIZE`]; `Engine::new`
    /// refuses more.
    pub fn memory_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.guard_bytes = bytes;
        self
    }

    /// Check every memory access explicitly instead of relying on a large
    /// reservation and guard pages (uses far less address space). Unless
    /// this or [`Config::memory_reservation`] is set, an engine whose
    /// process has an address-space limit (`ulimit -v`) too small for four
    /// such reservations (4 GiB plus [`Config::memory_guard_size`] each)
    /// checks explicitly by itself, so its memories can still be made
    /// (Wasmtime fails to make them).
    pub fn explicit_bounds_checks(&mut self, enable: bool) -> &mut Self {
        self.explicit_bounds_checks = enable;
        self.bounds_checks_chosen = true;
        self
    }

    /// Compile functions of a module on several threads (on by default; a
    /// module of one function or under 1.5 KiB of function bodies compiles
    /// on the calling thread either way, as starting the threads costs
    /// more).
    pub fn parallel_compilation(&mut self, enable: bool) -> &mut Self {
        self.parallel_compilation = enable;
        self
    }

    /// Most native stack Wasm may use before it traps with "call stack
    /// exhausted" (up to 32 times this in a store with quick first-tier
    /// code: see [`Config::first_tier`]).
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// Most 64 KiB pages any memory may grow to (beyond this, `memory.grow`
    /// returns -1). By default no limit beyond each memory's own: 4 GiB for
    /// a 32-bit memory, its declared maximum (or 2^64 bytes) for a 64-bit
    /// one.
    pub fn max_memory_pages(&mut self, pages: u64) -> &mut Self {
        self.max_memory_pages = pages;
        self
    }

    /// Compile epoch checks into function entries and loop headers, so that
    /// [`Engine::increment_epoch`](crate::Engine::increment_epoch) (from any
    /// thread) stops Wasm running in stores whose deadline
    /// ([`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline)) it
    /// reaches, with an `Interrupted` trap.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.epoch_interruption = enable;
        self
    }

    /// Meter execution: every Wasm operator costs one unit of the store's
    /// fuel ([`Store::set_fuel`](crate::Store::set_fuel)), except those
    /// that only shape control flow or the operand stack (`nop`, `drop`,
    /// `block`, `loop`, `else`, `end`, legacy `try`/`catch`/`delegate`);
    /// once none is left (checked at function entries and loop headers),
    /// Wasm traps with `OutOfFuel`. A store starts with no fuel.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.consume_fuel = enable;
        self
    }

    /// Gives up compiling a module after this long: functions not started
    /// by then are not compiled and loading fails with `implementation
    /// limit exceeded: compilation ran past its deadline`. (Each function
    /// is also bounded by the translator's implementation limits.) No
    /// deadline by default.
    pub fn max_compile_time(&mut self, limit: Option<std::time::Duration>) -> &mut Self {
        self.max_compile_time = limit;
        self
    }

    /// Keeps compiled modules in `dir` (off by default): compiling a module
    /// this engine compiled before, with the same settings, loads the saved
    /// code instead. Entries are written atomically; one that is truncated,
    /// damaged (entries carry a checksum) or for other bytes is ignored and
    /// rewritten. The directory is still trusted like the engine itself:
    /// anyone who can write to it can write code that runs. With
    /// lazy compilation (a module [`CompilationMode::Lazy`] or `Auto`
    /// compiles lazily) an entry holds the functions compiled so
    /// far, and is updated by [`Module::write_cache`](crate::Module::write_cache)
    /// (called when the last handle to the module drops), also with what
    /// background compilation did in the run, the final tier function by
    /// function: over runs, the entry becomes the whole module compiled
    /// eagerly.
    pub fn cache_dir(&mut self, dir: Option<std::path::PathBuf>) -> &mut Self {
        self.cache_dir = dir;
        self
    }

    /// The code cache, as Wasmtime's `Config::cache`: [`Config::cache_dir`]
    /// with the cache's directory, and [`Config::cache_size_limit`] with its
    /// limit (the default, 1 GiB, when it sets none: a `Cache` carries its
    /// own, as in Wasmtime); `None` turns it off.
    pub fn cache(&mut self, cache: Option<crate::Cache>) -> &mut Self {
        if let Some(cache) = &cache {
            self.cache_size_limit = cache.size_limit().unwrap_or(DEFAULT_CACHE_SIZE_LIMIT);
        }
        self.cache_dir = cache.map(|c| c.directory().to_path_buf());
        self
    }

    /// How many bytes of entries the cache directory may hold (1 GiB by
    /// default; Wasmtime's is 512 MiB): when a write takes the entries past
    /// it, those used least recently (loaded or written; the file's
    /// modification time) are removed until they take three quarters of it.
    /// Temporary files left by writers that died are removed an hour
    /// later; other files in the directory are left alone.
    pub fn cache_size_limit(&mut self, bytes: u64) -> &mut Self {
        self.cache_size_limit = bytes;
        self
    }

    /// When functions are compiled (see [`CompilationMode`]).
    pub fn compilation_mode(&mut self, mode: CompilationMode) -> &mut Self {
        self.compilation_mode = mode;
        self
    }

    /// For lazily compiled modules with background compilation on (and
    /// two cores or more), with [`FirstTier::Quick`]: a function that a
    /// call must wait for is compiled quickly (Cranelift `opt_level=none`
    /// and the single-pass register allocator: about 1.7 times faster to
    /// compile, code about twice as slow), as are the functions it calls
    /// that background threads compile next; background threads compile
    /// them again at full optimisation and re-point their code slots,
    /// hottest first: quick code counts its entries and loop iterations,
    /// and code that has counted 10,000 goes before the callees hinted for
    /// calls (only compilations that calls wait for go before it). Calls
    /// made after that run optimised code. A call already running quick
    /// code finishes in it, except that in functions the module names at
    /// most once (a `main`, entered once), a loop that keeps running after
    /// the replacement is in continues in an optimised entry of that loop
    /// (on-stack replacement; other loops stay in quick code until their
    /// call returns). The code cache keeps quick code as it is (a later run loads it,
    /// starts replacing it at once, and saves what it replaced);
    /// artifacts get optimised code. A function the quick compiler fails on
    /// is compiled optimised instead, and so is one whose body is over
    /// 96 KiB or whose quick frame would be over 128 KiB (the single-pass
    /// allocator gives every spilled value a slot of its own). Quick frames
    /// are larger than optimised ones (small functions' 2-10 times, large
    /// ones' up to 40 times), so a store with such a module lets Wasm use up
    /// to 32 times [`Config::max_wasm_stack`], as far as the thread's stack
    /// leaves 1 MiB for host functions (the CLI runs on a thread of 64 MiB):
    /// on a thread with room for it, a guest does not run out of stack
    /// because some of its code was quick, unless it recurses very deeply
    /// through a large function before that function's optimised code
    /// replaces the quick code.
    ///
    /// [`FirstTier::Optimized`] by default for the API, and
    /// [`FirstTier::Auto`] for the CLI's `run`: a cold run of sqlite's
    /// 1.1 MB module on a short workload takes about 0.55x Wasmtime's cold
    /// run instead of about 0.95x, clang's 75 MB module compiling a small
    /// file 13 s instead of 20 s (Wasmtime 37 s), and long runs no longer
    /// than without it. The single-pass allocator is not production-ready in
    /// Wasmtime's judgement (see [`RegallocAlgorithm::SinglePass`]); the
    /// spec testsuite runs compiled by it, the differential fuzzer with its
    /// settings.
    pub fn first_tier(&mut self, tier: FirstTier) -> &mut Self {
        self.first_tier = tier;
        self
    }

    /// For lazily compiled modules ([`CompilationMode::Lazy`], and large
    /// ones under [`CompilationMode::Auto`]), also compile functions before their
    /// first call on idle cores (on by default; there are none on a
    /// one-core host). Off, a function is compiled only when first called.
    ///
    /// A module loaded with compiled functions (from the code cache, or a
    /// lazily compiled artifact) starts compiling ahead only 100 ms later,
    /// or as soon as a call finds a function not compiled: a short run that
    /// needs nothing more is not slowed down by compilation beside it.
    pub fn background_compilation(&mut self, enable: bool) -> &mut Self {
        self.background_compilation = enable;
        self
    }

    /// Tells a profiler about compiled code (see [`Profiler`]).
    pub fn profiler(&mut self, profiler: Profiler) -> &mut Self {
        self.profiler = profiler;
        self
    }

    /// Generates code for another target, given as a triple such as
    /// `aarch64-unknown-linux-gnu` or `x86_64-unknown-linux-gnu`, instead of
    /// for this machine. The code uses only the target's baseline features
    /// (for x86-64: the x86-64-v2 level, SSE4.2 and POPCNT), so it runs on
    /// every CPU of that target. An engine whose target cannot run here
    /// only compiles: [`Engine::precompile_module`](crate::Engine::precompile_module)
    /// makes artifacts for the target, and loading or instantiating modules
    /// is refused with an error. Supported: x86-64 and aarch64 Linux. An
    /// architecture alone (`x86_64`, `aarch64`), as Wasmtime accepts, means
    /// that architecture on this machine's operating system.
    pub fn target(&mut self, target: &str) -> anyhow::Result<&mut Self> {
        let mut triple: target_lexicon::Triple = target
            .parse()
            .map_err(|e| anyhow::anyhow!("unknown target `{target}`: {e}"))?;
        if !target.contains('-') {
            let host = target_lexicon::Triple::host();
            triple.vendor = host.vendor;
            triple.operating_system = host.operating_system;
            triple.environment = host.environment;
            triple.binary_format = host.binary_format;
        }
        self.target = Some(triple);
        Ok(self)
    }

    /// Calls between a module's functions load the callee's address and
    /// call through a register when its function bodies add up to more than
    /// `bytes` (by default 8 MiB on aarch64, whose direct calls reach only
    /// ±128 MiB, and 128 MiB on x86-64). For tests of that code path.
    #[doc(hidden)]
    pub fn far_calls_above(&mut self, bytes: u64) -> &mut Self {
        self.far_calls_above = Some(bytes);
        self
    }

    /// How long a module loaded with compiled functions waits before
    /// compiling ahead (see [`Config::background_compilation`]; 100 ms by
    /// default). For tests.
    #[doc(hidden)]
    pub fn background_delay(&mut self, delay: std::time::Duration) -> &mut Self {
        self.background_delay = delay;
        self
    }

    /// With [`FirstTier::Quick`] (or `Auto` where it applies), compile the
    /// functions calls wait for quickly even without background threads
    /// (with [`Config::background_compilation`] off, or one core), where
    /// nothing replaces the quick code. For tests: the quick tier's code,
    /// heat counting included, then runs wherever calls reach it.
    #[doc(hidden)]
    pub fn quick_tier_always(&mut self, always: bool) -> &mut Self {
        self.quick_tier_always = always;
        self
    }

    /// Most elements any table may grow to.
    pub fn max_table_elements(&mut self, elements: u64) -> &mut Self {
        self.max_table_elements = elements;
        self
    }
}

/// The embedder's Cranelift settings as one word of the engine's
/// fingerprint: `name=value;name` (`-` for none).
pub(crate) fn cranelift_flags_word(flags: &[(String, Option<String>)]) -> String {
    if flags.is_empty() {
        return "-".to_string();
    }
    flags
        .iter()
        .map(|(name, value)| match value {
            Some(v) => format!("{name}={v}"),
            None => name.clone(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

macro_rules! feature_toggles {
    ($($(#[$doc:meta])* $name:ident => $flag:ident,)*) => {
        /// One setter per Wasm proposal, as Wasmtime names them: each turns
        /// its feature on or off ([`Config::wasm_feature`]).
        impl Config {
            $(
                $(#[$doc])*
                pub fn $name(&mut self, enable: bool) -> &mut Self {
                    self.wasm_feature(WasmFeatures::$flag, enable)
                }
            )*
        }
    };
}

feature_toggles! {
    /// 128-bit SIMD.
    wasm_simd => SIMD,
    /// Relaxed SIMD.
    wasm_relaxed_simd => RELAXED_SIMD,
    /// Several memories per module.
    wasm_multi_memory => MULTI_MEMORY,
    /// 64-bit memories and tables.
    wasm_memory64 => MEMORY64,
    /// Tail calls.
    wasm_tail_call => TAIL_CALL,
    /// Reference types.
    wasm_reference_types => REFERENCE_TYPES,
    /// Typed function references.
    wasm_function_references => FUNCTION_REFERENCES,
    /// Bulk memory operations.
    wasm_bulk_memory => BULK_MEMORY,
    /// Multiple results and block parameters.
    wasm_multi_value => MULTI_VALUE,
    /// Extended constant expressions.
    wasm_extended_const => EXTENDED_CONST,
    /// Custom page sizes.
    wasm_custom_page_sizes => CUSTOM_PAGE_SIZES,
    /// Wide arithmetic.
    wasm_wide_arithmetic => WIDE_ARITHMETIC,
    /// Exception handling (`try_table`, `exnref`).
    wasm_exceptions => EXCEPTIONS,
    /// The legacy exception instructions (`try`, `catch`, `catch_all`,
    /// `delegate`, `rethrow`; on by default).
    wasm_legacy_exceptions => LEGACY_EXCEPTIONS,
    /// Threads: shared memories and atomics (`SharedMemory`; the guest's
    /// own threads come from `wasi-threads` or the host).
    wasm_threads => THREADS,
    /// Garbage collection: structs, arrays, `i31`, casts (with the null
    /// collector, see [`Collector`]).
    wasm_gc => GC,
}

/// The GC collector an engine uses ([`Config::collector`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Collector {
    /// The default: the null collector.
    #[default]
    Auto,
    /// Wasmtime's reference-counting collector, which wasm-jit does not
    /// have.
    DeferredReferenceCounting,
    /// Allocation only: objects live until their store is dropped.
    Null,
}

/// How much a trap's backtrace says ([`Config::wasm_backtrace_details`],
/// Wasmtime's): here always function names and module offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum WasmBacktraceDetails {
    /// Names and offsets (what there is).
    Enable,
    /// Accepted; the backtrace is the same.
    Disable,
    /// Wasmtime's default, which reads `WASMTIME_BACKTRACE_DETAILS`;
    /// accepted, the backtrace is the same.
    #[default]
    Environment,
}

/// The compiler an engine uses ([`Config::strategy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// The default: Cranelift.
    #[default]
    Auto,
    /// Cranelift, the optimising compiler.
    Cranelift,
    /// Wasmtime's baseline compiler, which wasm-jit does not have.
    Winch,
}
