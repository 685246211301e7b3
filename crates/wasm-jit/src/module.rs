//! Compiled modules.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow};
use wasm_jit_backend::CompiledModule;
use wasm_jit_backend::compile::{Backing, SharedBytes};
use wasm_jit_frontend::module::ExternKind;
use wasm_jit_frontend::{FrontendError, parse};

use crate::types::ExternType;
use crate::{CompilationMode, Engine, FirstTier};

/// A validated, compiled module, ready to be instantiated any number of
/// times. Cheap to clone; `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Module(Arc<ModuleInner>);

#[derive(Debug)]
struct ModuleInner {
    engine: Engine,
    compiled: Arc<CompiledModule>,
    /// The Wasm binary, kept for `serialize`.
    wasm: SharedBytes,
    /// Where the code cache keeps this module (with a cache directory), and
    /// how much code the entry there holds ([`code_score`]: lazy
    /// compilation adds more, which `write_cache` saves).
    cache: Option<(std::path::PathBuf, std::sync::atomic::AtomicUsize)>,
    /// When the module was loaded: how long a run has gone on, for the
    /// cache entry's `long_run` flag.
    loaded: std::time::Instant,
    /// The cache entry it was loaded from says `long_run` (until this run
    /// writes it): a short run then writes it again, once, to say it no
    /// longer is, even if it compiled nothing.
    loaded_long: std::sync::atomic::AtomicBool,
}

impl Drop for ModuleInner {
    fn drop(&mut self) {
        self.write_cache();
    }
}

impl ModuleInner {
    fn lazy(&self) -> bool {
        self.compiled.lazy().is_some()
    }

    /// Saves the functions compiled so far to the cache entry, if it holds
    /// less code than this run has ([`code_score`]: functions it lacks,
    /// quick code since replaced, first-tier code the final tier has
    /// compiled again). Background compilation goes on from one run to the
    /// next this way, so that the entry converges on the whole module
    /// compiled eagerly (the final tier), which is written as such. A cache
    /// that cannot be written only costs the next run time.
    fn write_cache(&self) {
        use std::sync::atomic::Ordering;
        let Some((path, saved)) = &self.cache else {
            return;
        };
        let ran_long = self.long_run();
        // A short run after a long one says so, once, even having compiled
        // nothing.
        let flag_stale = self.loaded_long.load(Ordering::Relaxed) && !ran_long;
        let (lazy, functions) = match self.compiled.lazy() {
            None => (false, self.compiled.functions()),
            // Once background compilation has finished, the final tier is
            // the whole module compiled eagerly: the next load is as fast
            // as a `.cwasm`'s and runs at full speed from the start.
            Some(lazy) => match lazy.final_functions() {
                Some(finals) => (false, finals.into_iter().map(Some).collect()),
                None => {
                    // Nothing compiled since the entry was loaded.
                    if lazy.compilations() == 0
                        && lazy.upgraded() == 0
                        && lazy.final_compilations() == 0
                        && !flag_stale
                    {
                        return;
                    }
                    let functions = lazy.saved_functions();
                    let eager = functions
                        .iter()
                        .all(|f| f.as_ref().is_some_and(|f| f.final_tier));
                    (!eager, functions)
                }
            },
        };
        let compiled = code_score(&functions);
        let long_run = lazy && ran_long;
        if compiled <= saved.load(Ordering::Relaxed) && !(lazy && flag_stale) {
            return;
        }
        let trampolines = self.engine.saved_trampolines(&self.compiled.info);
        let Ok(artifact) = wasm_jit_backend::artifact::serialize(
            &self.engine.fingerprint(),
            &self.wasm,
            lazy,
            long_run,
            &functions,
            &trampolines,
        ) else {
            return;
        };
        if crate::cache::write(path, &artifact, self.engine.config().cache_size_limit) {
            saved.store(compiled, Ordering::Relaxed);
            self.loaded_long.store(long_run, Ordering::Relaxed);
        }
    }

    /// Whether this run would have gone on for three quarters of the
    /// background delay or more with its code ready (its length less what
    /// its calls waited for compilation): such a run gains from compiling
    /// ahead, and the next one, likely as long, starts at once
    /// (`Artifact::long_run`), so that it converges on eager code even
    /// when it ends about when the delay would. (Shorter runs are left
    /// alone: compiling beside them slows them, on a core shared with the
    /// run, for more runs than the final tier would pay back.)
    fn long_run(&self) -> bool {
        let waited = self
            .compiled
            .lazy()
            .map_or(Default::default(), |l| l.demand_time());
        self.loaded.elapsed().saturating_sub(waited)
            >= self.engine.config().background_delay / 4 * 3
    }
}

/// How much compiled code `functions` hold, to tell whether a cache entry
/// gains from being written again: 3 per function of the final tier, 2 per
/// other optimised function, 1 per quick one (see
/// [`Config::first_tier`](crate::Config::first_tier)).
fn code_score(functions: &[Option<wasm_jit_backend::compile::CompiledFunction>]) -> usize {
    functions
        .iter()
        .flatten()
        .map(|f| match (f.quick, f.final_tier) {
            (true, _) => 1,
            (false, false) => 2,
            (false, true) => 3,
        })
        .sum()
}

/// An artifact's bytes, for [`Module::load_artifact`].
enum ArtifactBytes<'a> {
    /// Bytes the module copies what it keeps from.
    Copied(&'a [u8]),
    /// Bytes the module's code keeps (a mapped file: code is placed
    /// straight from it, never copied to the heap).
    Kept(&'a Backing),
}

/// The contents of the file at `path`, mapped rather than read (mapping
/// spares copying it, and the memory to copy it to). An empty file gives
/// no bytes.
///
/// # Safety
/// Nothing may change or truncate the file while the mapping lives (the
/// code of a module loaded from it may keep it as long as the module).
unsafe fn map_file(path: &Path) -> std::io::Result<MappedFile> {
    let file = std::fs::File::open(path)?;
    // SAFETY: this function's contract.
    unsafe { map_open_file(&file) }
}

/// The contents of an open file, mapped (from its start, wherever its
/// position is), as [`map_file`] maps the file at a path.
///
/// # Safety
/// As for [`map_file`].
unsafe fn map_open_file(file: &std::fs::File) -> std::io::Result<MappedFile> {
    if file.metadata()?.len() == 0 {
        return Ok(MappedFile::Empty);
    }
    // SAFETY: per this function's contract, the file stays as it is.
    unsafe { memmap2::Mmap::map(file) }.map(MappedFile::Mapped)
}

/// A file's contents, mapped (see [`map_file`]).
enum MappedFile {
    Empty,
    Mapped(memmap2::Mmap),
}

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        match self {
            MappedFile::Empty => &[],
            MappedFile::Mapped(m) => m,
        }
    }
}

/// Turns a frontend error into the message users see.
fn load_error(engine: &Engine, e: FrontendError) -> anyhow::Error {
    match e {
        FrontendError::Invalid(msg)
            if !engine.inner().compiler.simd_supported()
                && msg.contains("SIMD support is not enabled") =>
        {
            anyhow!(
                "invalid module: {msg} (SIMD needs a CPU with SSSE3 and SSE4.1, which this one lacks)"
            )
        }
        FrontendError::Invalid(msg) => anyhow!("invalid module: {msg}"),
        unsupported => anyhow!("{unsupported}"),
    }
}

/// The binary form of a module given as binary or text; a text error
/// points into `name` (the file's name) when there is one.
fn to_binary<'a>(bytes: &'a [u8], name: Option<&str>) -> Result<std::borrow::Cow<'a, [u8]>> {
    wat::parse_bytes(bytes).map_err(|mut e| {
        if let Some(name) = name {
            e.set_path(name);
        }
        if bytes.starts_with(b"\0asm") {
            anyhow!("{e}")
        } else if bytes.starts_with(b"\x7fELF") {
            // Wasmtime's `.cwasm` files are ELF objects.
            anyhow!(
                "not a Wasm module but an ELF file (a native program, or another engine's \
                 precompiled module such as a Wasmtime .cwasm; wasm-jit runs its own, from \
                 `wasm-jit compile`)"
            )
        } else {
            anyhow!("not a Wasm binary (no `\\0asm` header), and not valid module text: {e}")
        }
    })
}

/// Validates and compiles every function of a module (binary) for the
/// engine's target, without placing the code anywhere; with the module's
/// description.
fn compile_unplaced(
    engine: &Engine,
    binary: &[u8],
) -> Result<(
    Vec<wasm_jit_backend::CompiledFunction>,
    wasm_jit_frontend::module::ModuleInfo,
)> {
    let parsed = parse(binary, engine.config().features).map_err(|e| load_error(engine, e))?;
    CompiledModule::compile_unplaced(
        &engine.inner().compiler,
        parsed,
        &Module::options(engine, false, false),
    )
    .map_err(|e| load_error(engine, e))
}

/// [`Engine::precompile_module`].
pub(crate) fn precompile(engine: &Engine, bytes: &[u8]) -> Result<Vec<u8>> {
    let binary = to_binary(bytes, None)?;
    let (functions, info) = compile_unplaced(engine, &binary)?;
    let trampolines = engine.saved_trampolines(&info);
    let functions: Vec<_> = functions.into_iter().map(Some).collect();
    wasm_jit_backend::artifact::serialize(
        &engine.fingerprint(),
        &binary,
        false,
        false,
        &functions,
        &trampolines,
    )
    .map_err(|e| anyhow!("cannot serialize the module: {e}"))
}

impl Module {
    /// Compiles a module from its binary or text (`.wat`) form.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        Module::new_with_name(engine, bytes, None)
    }

    /// Like [`Module::new`], naming the module in backtraces.
    pub fn new_with_name(
        engine: &Engine,
        bytes: impl AsRef<[u8]>,
        name: Option<&str>,
    ) -> Result<Module> {
        Module::compile(engine, &to_binary(bytes.as_ref(), name)?, name)
    }

    /// Compiles a module from its binary form.
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        Module::compile(engine, bytes, None)
    }

    fn compile(engine: &Engine, bytes: &[u8], name: Option<&str>) -> Result<Module> {
        engine.ensure_runs_here()?;
        let Some(dir) = engine.config().cache_dir.clone() else {
            return Module::compile_now(engine, bytes, name, None);
        };
        let path = dir.join(crate::cache::key(engine, bytes));
        // SAFETY: entries of the cache directory are only ever replaced
        // whole (written under another name, then renamed in
        // `cache::write`; trimming unlinks, which leaves a mapped
        // file's data as it was), so the mapped file does not change, for
        // as long as the module's code keeps it.
        if let Ok(saved) = unsafe { map_file(&path) } {
            let saved: Backing = Arc::new(saved);
            // SAFETY: entries of the cache directory are written by this
            // module only (atomically, in `cache::write`); one that does not
            // load, or holds another module, is ignored and rewritten. The
            // mapping does not change (above).
            if let Ok(m) = unsafe {
                Module::load_artifact(engine, ArtifactBytes::Kept(&saved), name, Some(&path))
            } && *m.0.wasm == *bytes
            {
                crate::cache::note_use(&path);
                return Ok(m);
            }
        }
        let module = Module::compile_now(engine, bytes, name, Some(path))?;
        // Eager code is complete now; lazy code is saved as it grows.
        if !module.0.lazy() {
            module.0.write_cache();
        }
        Ok(module)
    }

    fn compile_now(
        engine: &Engine,
        bytes: &[u8],
        name: Option<&str>,
        cache: Option<std::path::PathBuf>,
    ) -> Result<Module> {
        let config = engine.config();
        let wasm = SharedBytes::from(bytes);
        let parsed = parse(&wasm, config.features).map_err(|e| load_error(engine, e))?;
        let lazy = match config.compilation_mode {
            CompilationMode::Eager => false,
            CompilationMode::Lazy => true,
            CompilationMode::Auto => {
                wasm_jit_backend::module::body_bytes(&parsed.functions)
                    >= CompilationMode::AUTO_LAZY_BYTES as u64
            }
        };
        let compiled = CompiledModule::compile(
            &engine.inner().compiler,
            &wasm,
            parsed,
            &engine.inner().types,
            &Module::options(engine, lazy, cache.is_some()),
            name.map(str::to_string),
        )
        .map_err(|e| load_error(engine, e))?;
        Ok(Module::assemble(engine, compiled, wasm, cache, 0, false))
    }

    /// `cached`: the module has a cache entry to keep up to date.
    fn options(engine: &Engine, lazy: bool, cached: bool) -> wasm_jit_backend::ModuleOptions {
        let config = engine.config();
        wasm_jit_backend::ModuleOptions {
            memory_style: engine.memory_style(),
            epoch_interruption: config.epoch_interruption,
            consume_fuel: config.consume_fuel,
            parallel: config.parallel_compilation,
            lazy,
            keep_final_tier: lazy && cached,
            // (A time past any representable one is none.)
            deadline: config
                .max_compile_time
                .and_then(|d| std::time::Instant::now().checked_add(d)),
            far_calls_above: config.far_calls_above,
            background: config.background_compilation,
            quick_tier_from: match config.first_tier {
                FirstTier::Optimized => None,
                FirstTier::Quick => Some(0),
                // With a code cache, what this run compiles serves the
                // runs after it: quick code would slow every one of them.
                FirstTier::Auto if cached => None,
                FirstTier::Auto => Some(CompilationMode::AUTO_LAZY_BYTES as u64),
            },
            quick_always: config.quick_tier_always,
            memory_init_cow: config.memory_init_cow,
        }
    }

    fn assemble(
        engine: &Engine,
        compiled: CompiledModule,
        wasm: SharedBytes,
        cache: Option<std::path::PathBuf>,
        cached: usize,
        long_run: bool,
    ) -> Module {
        let compiled = Arc::new(compiled);
        if engine.config().background_compilation {
            // Loaded with compiled code (a cache entry or an artifact), a
            // short run may need nothing more: compiling ahead starts
            // later, or when a call finds a function not compiled. Quick
            // code loaded from the cache is replaced at once, hottest first,
            // and the entry rewritten with what was replaced (so repeated
            // short runs converge on optimised code). So is an entry
            // saved by a long run (`long_run`): runs as long, which could
            // end about when the delay does, would otherwise never
            // converge on eager code.
            let quick_loaded = compiled.lazy().is_some_and(|l| l.upgrades_pending());
            let after = (cached > 0 && !quick_loaded && !long_run)
                .then_some(engine.config().background_delay);
            wasm_jit_backend::lazy::start_background(&compiled, after);
        }
        Module(Arc::new(ModuleInner {
            engine: engine.clone(),
            compiled,
            wasm,
            cache: cache.map(|p| (p, cached.into())),
            loaded: std::time::Instant::now(),
            loaded_long: long_run.into(),
        }))
    }

    /// The compiled module as bytes (a `.cwasm` artifact) that
    /// [`Module::deserialize`] loads without compiling, in an engine of the
    /// same build, target and code-generating configuration. A lazily
    /// compiled module compiles its remaining functions first.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        wasm_jit_backend::lazy::compile_all(&self.0.compiled)
            .map_err(|e| anyhow!("cannot serialize the module: {e}"))?;
        let fingerprint = self.0.engine.fingerprint();
        wasm_jit_backend::artifact::serialize(
            &fingerprint,
            &self.0.wasm,
            self.0.lazy(),
            false,
            &self.0.compiled.functions(),
            &self.0.engine.saved_trampolines(&self.0.compiled.info),
        )
        .map_err(|e| anyhow!("cannot serialize the module: {e}"))
    }

    /// With a cache directory ([`Config::cache_dir`](crate::Config::cache_dir)),
    /// for a lazily compiled module ([`CompilationMode::Lazy`], or a large
    /// module under [`CompilationMode::Auto`]), saves the functions compiled so far to
    /// the module's cache entry, so the next load of the same module starts
    /// with them. Done when the last handle to the module drops; call it
    /// before a process exits without dropping its modules.
    pub fn write_cache(&self) {
        self.0.write_cache();
    }

    /// How many of the module's functions have been compiled since it was
    /// loaded (all of them, at load, unless it is compiled lazily); a
    /// function is never compiled twice.
    pub fn compiled_function_count(&self) -> usize {
        match self.0.compiled.lazy() {
            Some(lazy) => lazy.compilations(),
            None => self.0.compiled.info.num_defined_funcs() as usize,
        }
    }

    /// How many of the module's functions were first compiled by the quick
    /// first tier ([`Config::first_tier`](crate::Config::first_tier)).
    #[doc(hidden)]
    pub fn quick_function_count(&self) -> usize {
        self.0
            .compiled
            .lazy()
            .map_or(0, |lazy| lazy.quick_compilations())
    }

    /// How many loops of quick first-tier code were given an optimised
    /// entry, for calls running them to continue in (on-stack
    /// replacement).
    #[doc(hidden)]
    pub fn osr_entry_count(&self) -> usize {
        self.0.compiled.lazy().map_or(0, |lazy| lazy.osr_entries())
    }

    /// How often quick first-tier code of function `index` was entered or
    /// went round a loop (what orders its replacement); `None` for an
    /// imported function or a module not compiled lazily.
    #[doc(hidden)]
    pub fn quick_heat(&self, index: u32) -> Option<u64> {
        let info = &self.0.compiled.info;
        let index = wasm_jit_frontend::index::FuncIndex(index);
        if index.0 as usize >= info.funcs.len() || info.is_imported_func(index) {
            return None;
        }
        let lazy = self.0.compiled.lazy()?;
        Some(lazy.heat(info.defined_func_index(index)))
    }

    /// Whether background compilation has finished with a lazily compiled
    /// module: every function compiled again with direct calls and in use.
    #[doc(hidden)]
    pub fn final_tier_placed(&self) -> bool {
        self.0
            .compiled
            .lazy()
            .is_some_and(|lazy| lazy.final_tier_placed())
    }

    /// Loads a module serialized by [`Module::serialize`], without
    /// compiling it. An artifact from another engine build or version,
    /// target or configuration, or a truncated or damaged one (artifacts
    /// carry a checksum), is refused with an error.
    ///
    /// # Safety
    /// The bytes are trusted: only their header, structure and checksum
    /// are checked, not the machine code they hold, which runs as is (a
    /// checksum is no proof against whoever wrote it). Pass only artifacts
    /// this engine wrote (or that come from where you trust).
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        // SAFETY: the caller's contract.
        unsafe { Module::load_artifact(engine, ArtifactBytes::Copied(bytes.as_ref()), None, None) }
    }

    /// # Safety
    /// As for [`Module::deserialize`]; the bytes of a
    /// [`ArtifactBytes::Kept`] also stay as they are while the module lives.
    unsafe fn load_artifact(
        engine: &Engine,
        bytes: ArtifactBytes<'_>,
        name: Option<&str>,
        cache: Option<&Path>,
    ) -> Result<Module> {
        engine.ensure_runs_here()?;
        let fingerprint = engine.fingerprint();
        let deserialized = match bytes {
            ArtifactBytes::Copied(bytes) => {
                wasm_jit_backend::artifact::deserialize(bytes, &fingerprint)
            }
            ArtifactBytes::Kept(backing) => {
                wasm_jit_backend::artifact::deserialize_shared(backing, &fingerprint)
            }
        };
        let mut artifact = deserialized.map_err(|e| {
            let why = if engine.config().bounds_checks_for_address_limit
                && e.contains("memory=explicit-bounds-checks in this engine")
            {
                " (this process's address-space limit, `ulimit -v`, is too small for \
                     memories with guard pages, so this engine checks bounds explicitly)"
            } else {
                ""
            };
            anyhow!("cannot load the compiled module: {e}{why}")
        })?;
        let trampolines = std::mem::take(&mut artifact.trampolines);
        let wasm = artifact.wasm_bytes();
        let parsed = parse(&wasm, engine.config().features).map_err(|e| load_error(engine, e))?;
        let eager_score = code_score(&artifact.functions);
        let compiled = CompiledModule::from_artifact(
            &engine.inner().compiler,
            &wasm,
            parsed,
            &engine.inner().types,
            &Module::options(engine, artifact.lazy, cache.is_some()),
            artifact.functions,
            name.map(str::to_string),
        )
        .map_err(|e| load_error(engine, e))?;
        // Once the module loaded. Without them (if they cannot be placed),
        // they are compiled when first needed, as for a module compiled here.
        let _ = engine.inner().trampolines.preload(trampolines);
        // What was placed: loading leaves out final-tier code whose callees
        // the artifact lacks.
        let present = match compiled.lazy() {
            Some(lazy) => lazy.with_compiled(code_score),
            None => eager_score,
        };
        Ok(Module::assemble(
            engine,
            compiled,
            wasm,
            cache.map(Path::to_path_buf),
            present,
            artifact.long_run && cache.is_some(),
        ))
    }

    /// Reads a file written from [`Module::serialize`] and loads it. The
    /// file is mapped rather than read, and its machine code is placed
    /// straight from the mapping, which the module keeps (to save that code
    /// again: [`Module::serialize`]).
    ///
    /// # Safety
    /// As for [`Module::deserialize`]: the file is trusted. Also, as with
    /// Wasmtime's, the file must not be changed or truncated for as long
    /// as the module lives.
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        // SAFETY: the caller trusts the file and leaves it alone while the
        // module lives (this function's contract).
        let bytes: Backing = Arc::new(
            unsafe { map_file(path) }
                .with_context(|| format!("cannot read `{}`", path.display()))?,
        );
        // SAFETY: as above.
        unsafe { Module::load_artifact(engine, ArtifactBytes::Kept(&bytes), None, None) }
    }

    /// [`Module::deserialize_file`] of a file already open: the file that
    /// was checked is the file that is loaded, whatever happens to its path
    /// meanwhile. Its whole contents are mapped, from its start, whatever
    /// the handle's position.
    ///
    /// # Safety
    /// As for [`Module::deserialize_file`].
    pub unsafe fn deserialize_open_file(engine: &Engine, file: std::fs::File) -> Result<Module> {
        // SAFETY: the caller trusts the file and leaves it alone while the
        // module lives (this function's contract).
        let bytes: Backing =
            Arc::new(unsafe { map_open_file(&file) }.context("cannot read the open file")?);
        // SAFETY: as above.
        unsafe { Module::load_artifact(engine, ArtifactBytes::Kept(&bytes), None, None) }
    }

    /// Whether `bytes` look like a serialized module rather than Wasm.
    pub fn is_serialized(bytes: &[u8]) -> bool {
        bytes.starts_with(wasm_jit_backend::artifact::FORMAT_PREFIX)
    }

    /// Reads and compiles a module file (binary or text).
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Module::new_with_name(engine, bytes, name.as_deref())
    }

    /// Checks that `bytes` is a valid module the engine can run, without
    /// keeping the compiled code. (For an engine that compiles for another
    /// target: that it compiles for it.)
    pub fn validate(engine: &Engine, bytes: &[u8]) -> Result<()> {
        if engine.inner().compiler.runs_here() {
            Module::from_binary(engine, bytes).map(|_| ())
        } else {
            compile_unplaced(engine, bytes).map(|_| ())
        }
    }

    /// The engine the module was compiled by.
    pub fn engine(&self) -> &Engine {
        &self.0.engine
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> + '_ {
        let compiled = &self.0.compiled;
        compiled.info.imports.iter().map(move |i| ImportType {
            module: &i.module,
            name: &i.name,
            ty: ExternType::of_import(&i.kind, compiled),
        })
    }

    /// The module's name from its name section (`(module $name ...)`),
    /// else the name it was compiled under ([`Module::new_with_name`]; the
    /// file name for [`Module::from_file`], which also names it in
    /// backtraces).
    pub fn name(&self) -> Option<&str> {
        let compiled = &self.0.compiled;
        compiled.info.name.as_deref().or(compiled.name())
    }

    /// The type of the module's export `name`, if it has one.
    pub fn get_export(&self, name: &str) -> Option<crate::types::ExternType> {
        self.exports().find(|e| e.name() == name).map(|e| e.ty())
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> + '_ {
        let compiled = &self.0.compiled;
        let info = &compiled.info;
        info.exports.iter().map(move |e| ExportType {
            name: &e.name,
            ty: match e.kind {
                ExternKind::Func => ExternType::Func(
                    compiled
                        .canonical_func_type(
                            info.func_type_index(wasm_jit_frontend::FuncIndex(e.index))
                                .index(),
                        )
                        .into(),
                ),
                ExternKind::Table => {
                    ExternType::Table(compiled.canonical_table(info.tables[e.index as usize]))
                }
                ExternKind::Memory => ExternType::Memory(info.memories[e.index as usize]),
                ExternKind::Global => {
                    ExternType::Global(compiled.canonical_global(info.globals[e.index as usize]))
                }
                ExternKind::Tag => ExternType::Tag(
                    compiled
                        .canonical_func_type(info.tags[e.index as usize].index())
                        .into(),
                ),
            },
        })
    }

    pub(crate) fn compiled(&self) -> &Arc<CompiledModule> {
        &self.0.compiled
    }
}

/// One import of a module.
#[derive(Clone, Debug)]
pub struct ImportType<'a> {
    module: &'a str,
    name: &'a str,
    ty: ExternType,
}

impl<'a> ImportType<'a> {
    /// The module name.
    pub fn module(&self) -> &'a str {
        self.module
    }
    /// The field name.
    pub fn name(&self) -> &'a str {
        self.name
    }
    /// The expected type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// One export of a module.
#[derive(Clone, Debug)]
pub struct ExportType<'a> {
    name: &'a str,
    ty: ExternType,
}

impl<'a> ExportType<'a> {
    /// The export name.
    pub fn name(&self) -> &'a str {
        self.name
    }
    /// The exported item's type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}
