//! The engine: configuration, code generator, type registry, trampolines.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Result, anyhow};
use wasm_jit_backend::artifact::{SavedTrampoline, TrampolineKind, savable};
use wasm_jit_backend::{ArrayTrampoline, Compiler, CompilerOptions, Trampolines, TypeRegistry};
use wasm_jit_frontend::translate::MemoryStyle;
use wasm_jit_frontend::{FuncType, WasmFeatures};

use crate::config::{Config, FirstTier, OptLevel, RegallocAlgorithm};

/// Compiles modules and owns what they share. Cheap to clone; `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Engine(Arc<EngineInner>);

#[derive(Debug)]
pub(crate) struct EngineInner {
    pub(crate) config: Config,
    pub(crate) compiler: Arc<Compiler>,
    pub(crate) types: Arc<TypeRegistry>,
    pub(crate) trampolines: Trampolines,
    /// The epoch counter compiled code compares with store deadlines. Boxed
    /// so its address, which stores hand to compiled code, never changes.
    pub(crate) epoch: Box<AtomicU64>,
}

/// What [`Engine::detect_precompiled`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Precompiled {
    /// A compiled module, for
    /// [`Module::deserialize`](crate::Module::deserialize).
    Module,
}

/// An [`Engine`] that [`Engine::weak`] gave: it does not keep the engine
/// alive.
#[derive(Clone, Debug, Default)]
pub struct EngineWeak(std::sync::Weak<EngineInner>);

impl EngineWeak {
    /// The engine, unless every [`Engine`] handle to it (and everything
    /// that holds one: modules, stores) has been dropped.
    pub fn upgrade(&self) -> Option<Engine> {
        self.0.upgrade().map(Engine)
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the default configuration is valid")
    }
}

impl Engine {
    /// An engine with the given configuration.
    pub fn new(config: &Config) -> Result<Engine> {
        config.validate()?;
        let profiler = match config.profiler {
            crate::config::Profiler::None => None,
            crate::config::Profiler::PerfMap => {
                Some(wasm_jit_backend::profiling::Profiler::PerfMap)
            }
            crate::config::Profiler::JitDump => {
                Some(wasm_jit_backend::profiling::Profiler::JitDump)
            }
        };
        if let Some(profiler) = profiler {
            wasm_jit_backend::profiling::enable(profiler).map_err(|e| anyhow!(e))?;
        }
        let compiler = Compiler::new(&CompilerOptions {
            opt_level: match config.opt_level {
                OptLevel::None => "none",
                OptLevel::Speed => "speed",
                OptLevel::SpeedAndSize => "speed_and_size",
            },
            regalloc: match config.regalloc {
                RegallocAlgorithm::Backtracking => "backtracking",
                RegallocAlgorithm::SinglePass => "single_pass",
            },
            quick_tier: config.first_tier != FirstTier::Optimized,
            verify: config.cranelift_verifier,
            relaxed_simd_deterministic: config.relaxed_simd_deterministic,
            nan_canonicalization: config.nan_canonicalization,
            target: config.target.clone(),
            cranelift_flags: config.cranelift_flags.clone(),
        })
        .map_err(|e| anyhow!("cannot configure the code generator: {e}"))?;
        let mut config = config.clone();
        // Under an address-space limit that leaves no room for a few
        // guarded memories, memories are checked explicitly (and reserve
        // only what they use) rather than failing to be made.
        // (Unchosen, the checks are off: only the setters turn them on.)
        if !config.bounds_checks_chosen
            && compiler.runs_here()
            && !wasm_jit_backend::memory::room_for_guarded_memories(config.guard_bytes, 4)
        {
            config.explicit_bounds_checks = true;
            config.bounds_checks_for_address_limit = true;
        }
        if !compiler.simd_supported() {
            // Validation then refuses SIMD modules with a clear error at
            // load time, instead of code this CPU cannot run.
            config
                .features
                .remove(WasmFeatures::SIMD | WasmFeatures::RELAXED_SIMD);
        }
        Ok(Engine(Arc::new(EngineInner {
            config,
            compiler: Arc::new(compiler),
            types: Arc::new(TypeRegistry::default()),
            trampolines: Trampolines::default(),
            epoch: Box::new(AtomicU64::new(0)),
        })))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// Advances the epoch by one. Wasm running in a store whose deadline this
    /// reaches traps with `Interrupted` at its next function entry or loop
    /// iteration (only with [`Config::epoch_interruption`]). Safe to call from
    /// any thread, for example a watchdog timer.
    pub fn increment_epoch(&self) {
        self.0.epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether two handles are the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    pub(crate) fn inner(&self) -> &EngineInner {
        &self.0
    }

    /// What a compiled artifact must match to run here: the engine
    /// version and build (`build.rs`: a hash of the sources that make and
    /// run code, and of the pinned dependencies), the target, and every
    /// setting that changes code.
    pub(crate) fn fingerprint(&self) -> String {
        let c = &self.0.config;
        // Space-separated words, each its own `key=value` (a mismatch is
        // reported word by word).
        let memory = match self.memory_style() {
            MemoryStyle::Explicit => "explicit-bounds-checks".to_string(),
            MemoryStyle::Guarded { guard_bytes } => format!("guard-bytes-{guard_bytes}"),
        };
        format!(
            "wasm-jit {} build={} {} opt={:?} regalloc={:?} memory={} epochs={} fuel={} features={:x} far-calls-above={:?} cranelift={}",
            env!("CARGO_PKG_VERSION"),
            env!("WASM_JIT_BUILD_HASH"),
            self.0.compiler.target_fingerprint(),
            c.opt_level,
            c.regalloc,
            memory,
            c.epoch_interruption,
            c.consume_fuel,
            c.features.bits(),
            c.far_calls_above,
            crate::config::cranelift_flags_word(&c.cranelift_flags)
        )
    }

    pub(crate) fn memory_style(&self) -> MemoryStyle {
        if self.0.config.explicit_bounds_checks {
            MemoryStyle::Explicit
        } else {
            MemoryStyle::Guarded {
                guard_bytes: self.0.config.guard_bytes,
            }
        }
    }

    /// How explicitly checked memories reserve address space
    /// ([`Config::memory_reservation`] and the settings beside it).
    pub(crate) fn reservation(&self) -> wasm_jit_backend::Reservation {
        let c = &self.0.config;
        wasm_jit_backend::Reservation {
            // A memory that may not move needs room to grow: Wasmtime's
            // default reservation, 4 GiB, unless one was set.
            initial: c
                .memory_reservation
                .unwrap_or(if c.memory_may_move { 0 } else { 1 << 32 }),
            for_growth: c.memory_reservation_for_growth,
            may_move: c.memory_may_move,
        }
    }

    /// Fails unless this engine's code can run on this machine (see
    /// [`Config::target`]).
    pub(crate) fn ensure_runs_here(&self) -> Result<()> {
        if self.0.compiler.runs_here() {
            return Ok(());
        }
        Err(anyhow!(
            "this engine compiles for {}, whose code cannot run on this machine ({}); \
             use `Engine::precompile_module` to make artifacts for it",
            self.0.compiler.triple(),
            target_lexicon::Triple::host()
        ))
    }

    /// Whether `bytes` are an artifact of this engine's format
    /// ([`Module::serialize`](crate::Module::serialize),
    /// [`Engine::precompile_module`], `wasm-jit compile`), as Wasmtime's
    /// method: `Some(Precompiled::Module)`, or `None` for anything else
    /// (Wasm or text included). Only the header is looked at: an artifact
    /// of another build, target or configuration is still
    /// `Some`, and [`Module::deserialize`](crate::Module::deserialize)
    /// refuses it with an error.
    pub fn detect_precompiled(&self, bytes: &[u8]) -> Option<Precompiled> {
        crate::Module::is_serialized(bytes).then_some(Precompiled::Module)
    }

    /// [`Engine::detect_precompiled`] on the start of a file.
    pub fn detect_precompiled_file(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Option<Precompiled>> {
        use std::io::Read;
        let path = path.as_ref();
        let mut head = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| {
                f.take(wasm_jit_backend::artifact::FORMAT_PREFIX.len() as u64)
                    .read_to_end(&mut head)
            })
            .map_err(|e| anyhow!("cannot read `{}`: {e}", path.display()))?;
        Ok(self.detect_precompiled(&head))
    }

    /// A value that hashes alike for two engines whose artifacts load in
    /// each other: the engine's build, target and every setting that
    /// changes code, as the artifact header records them. For keying an
    /// embedder's own cache of artifacts, as Wasmtime's method. (Engines
    /// that hash differently may still load some of each other's
    /// artifacts: code for a target's baseline CPU loads in an engine for
    /// this machine's CPU.)
    pub fn precompile_compatibility_hash(&self) -> impl std::hash::Hash + '_ {
        self.fingerprint()
    }

    /// A handle that does not keep the engine alive (Wasmtime's
    /// `EngineWeak`).
    pub fn weak(&self) -> EngineWeak {
        EngineWeak(Arc::downgrade(&self.0))
    }

    /// Always `false`: there is no async support yet
    /// ([`Config::async_support`]).
    pub fn is_async(&self) -> bool {
        false
    }

    /// Always `false`: code is native, never Wasmtime's Pulley bytecode.
    pub fn is_pulley(&self) -> bool {
        false
    }

    /// Compiles a module (binary or text) for this engine's target without
    /// loading it: the artifact [`Module::serialize`](crate::Module::serialize)
    /// would make, for [`Module::deserialize`](crate::Module::deserialize)
    /// in an engine of the same build, target and configuration. Works for
    /// any [`Config::target`], including one that cannot run here.
    pub fn precompile_module(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        crate::module::precompile(self, bytes)
    }

    pub(crate) fn array_trampoline(&self, ty: &FuncType) -> Result<ArrayTrampoline> {
        self.ensure_runs_here()?;
        self.0
            .trampolines
            .array(&self.0.compiler, ty)
            .map_err(|e| anyhow!("cannot compile a trampoline: {e}"))
    }

    /// The trampolines to save with a module described by `info`: for the
    /// function types of its imports (Wasm calling the host) and exports
    /// (the host calling Wasm), so that loading it compiles none. Types
    /// with concrete references are left out (compiled at first use, as
    /// without an artifact), and so is any that fails to compile.
    pub(crate) fn saved_trampolines(
        &self,
        info: &wasm_jit_frontend::module::ModuleInfo,
    ) -> Vec<SavedTrampoline> {
        use wasm_jit_frontend::FuncIndex;
        use wasm_jit_frontend::module::ExternKind;
        // A module exporting thousands of functions of as many types pays
        // for no more than this many at load.
        const MOST: usize = 64;
        let imports = (0..info.num_imported_funcs).map(|f| (TrampolineKind::Host, f));
        let exports = info
            .exports
            .iter()
            .filter(|e| e.kind == ExternKind::Func)
            .map(|e| (TrampolineKind::Array, e.index));
        let mut seen = std::collections::HashSet::new();
        let mut per_kind = [0usize; 2];
        let runs_here = self.0.compiler.runs_here();
        imports
            .chain(exports)
            .filter_map(|(kind, f)| {
                let ty = info.func_type(FuncIndex(f));
                let count = &mut per_kind[kind as usize];
                if !savable(ty) || *count >= MOST || !seen.insert((kind, ty.clone())) {
                    return None;
                }
                *count += 1;
                self.0
                    .trampolines
                    .saved(kind, &self.0.compiler, ty, runs_here)
                    .ok()
            })
            .collect()
    }

    /// How many trampolines this engine has compiled (rather than loaded
    /// with artifacts).
    #[doc(hidden)]
    pub fn trampoline_compilations(&self) -> usize {
        self.0.trampolines.compilations()
    }

    /// (For an engine whose code cannot run here there is none: only Wasm
    /// code calls it, and no module loads there; code for another machine is
    /// never placed.)
    pub(crate) fn host_trampoline(&self, ty: &FuncType) -> Result<*const u8> {
        if !self.0.compiler.runs_here() {
            return Ok(std::ptr::null());
        }
        self.0
            .trampolines
            .host(&self.0.compiler, ty)
            .map_err(|e| anyhow!("cannot compile a trampoline: {e}"))
    }
}
