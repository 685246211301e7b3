//! The spec-script (`.wast`) runner shared by `wasm-jit wast` and the test
//! suite.
//!
//! Every directive of the official testsuite is understood, and the
//! `thread`/`wait` directives of the threads proposal's scripts. Each
//! module-defining or asserting directive counts as one check that passes or
//! fails; a failure never stops the file (later checks still run), and a
//! panic inside the engine is caught and reported as a failure of that check.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use wasm_jit::{
    AnyRef, Config, Engine, Extern, ExternRef, FuncType, Global, GlobalType, Instance, Linker,
    Memory, MemoryType, Module, SharedMemory, Store, Table, TableType, Trap, Val, ValType,
    WasmFeatures,
};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{F32, F64};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// What running one script found.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Checks that held.
    pub passed: usize,
    /// Checks that did not hold.
    pub failed: usize,
    /// One line per failed check: `line:col: what went wrong`.
    pub failures: Vec<String>,
}

impl Report {
    fn fail(&mut self, line: String) {
        self.failed += 1;
        self.failures.push(line);
    }
}

/// The features of a published version of the specification (1, 2 or 3).
pub fn spec_version_features(version: u32) -> Option<WasmFeatures> {
    match version {
        1 => Some(WasmFeatures::WASM1),
        2 => Some(WasmFeatures::WASM2),
        3 => Some(WasmFeatures::WASM3),
        _ => None,
    }
}

/// The features a script outside the testsuite's folders runs with: the
/// engine's default, the same as `wasm-jit run` uses.
pub fn default_features() -> WasmFeatures {
    Config::DEFAULT_FEATURES
}

/// The feature flag of a proposal folder of the testsuite.
pub fn proposal_feature(name: &str) -> Option<WasmFeatures> {
    Some(match name {
        "annotations" | "mutable-global" | "multi-value" => WasmFeatures::empty(),
        "bulk-memory" => WasmFeatures::BULK_MEMORY,
        // Its scripts also use 64-bit memories and several memories, which
        // the proposal builds on.
        "custom-page-sizes" => {
            WasmFeatures::CUSTOM_PAGE_SIZES | WasmFeatures::MEMORY64 | WasmFeatures::MULTI_MEMORY
        }
        "custom-descriptors" => {
            WasmFeatures::CUSTOM_DESCRIPTORS | WasmFeatures::GC | WasmFeatures::FUNCTION_REFERENCES
        }
        // Its scripts use tail calls, typed references and recursion groups,
        // which the proposal (now part of Wasm 3.0) came after.
        "exceptions" => {
            WasmFeatures::EXCEPTIONS
                | WasmFeatures::LEGACY_EXCEPTIONS
                | WasmFeatures::TAIL_CALL
                | WasmFeatures::FUNCTION_REFERENCES
                | WasmFeatures::GC
        }
        "extended-const" => WasmFeatures::EXTENDED_CONST,
        "function-references" => WasmFeatures::FUNCTION_REFERENCES | WasmFeatures::TAIL_CALL,
        "gc" => WasmFeatures::GC | WasmFeatures::FUNCTION_REFERENCES | WasmFeatures::TAIL_CALL,
        "memory64" => WasmFeatures::MEMORY64,
        "multi-memory" => WasmFeatures::MULTI_MEMORY,
        "nontrapping-float-to-int-conversions" => WasmFeatures::SATURATING_FLOAT_TO_INT,
        "reference-types" => WasmFeatures::REFERENCE_TYPES,
        "relaxed-simd" => WasmFeatures::RELAXED_SIMD,
        "sign-extension-ops" => WasmFeatures::SIGN_EXTENSION,
        "simd" => WasmFeatures::SIMD,
        "tail-call" => WasmFeatures::TAIL_CALL,
        "threads" => WasmFeatures::THREADS,
        "wide-arithmetic" => WasmFeatures::WIDE_ARITHMETIC,
        _ => return None,
    })
}

/// The features a script at `path` runs with: its spec version's for a file
/// inside `wasm-v1`, `wasm-v2` or `wasm-v3`; 2.0 plus the proposal for a file
/// inside `proposals/<name>` (plus multi-memory when the file name says it
/// tests the two together); otherwise [`default_features`].
pub fn features_for_path(path: &Path) -> WasmFeatures {
    // Relative to the working directory, whose folders count too
    // (`cd proposals/simd && wasm-jit wast simd_lane.wast`).
    // `..` steps are taken (`../simd/x.wast` is in `simd`, not in the
    // folder it was named from).
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::CurDir => {}
            c => parts.push(c.as_os_str().to_string_lossy().into_owned()),
        }
    }
    for (i, part) in parts.iter().enumerate().rev() {
        match part.as_str() {
            "wasm-v1" => return WasmFeatures::WASM1,
            "wasm-v2" => return WasmFeatures::WASM2,
            "wasm-v3" | "wasm-latest" => return WasmFeatures::WASM3,
            // The spec repository's `test/legacy/exceptions`.
            "legacy" => return WasmFeatures::WASM3 | WasmFeatures::LEGACY_EXCEPTIONS,
            "proposals" => {
                if let Some(f) = parts.get(i + 1).and_then(|n| proposal_feature(n)) {
                    // A proposal's script about its interplay with
                    // multi-memory (e.g. `simd_memory-multi.wast`) uses it.
                    let file = parts.last().map(String::as_str).unwrap_or_default();
                    if file.contains("memory-multi") || file.contains("multi-memory") {
                        return WasmFeatures::WASM2 | WasmFeatures::MULTI_MEMORY | f;
                    }
                    return WasmFeatures::WASM2 | f;
                }
            }
            _ => {}
        }
    }
    default_features()
}

/// Runs the script in `path` (features from [`features_for_path`] unless given).
pub fn run_file(path: &Path, features: Option<WasmFeatures>) -> Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let features = features.unwrap_or_else(|| features_for_path(path));
    run_text(&text, features)
}

/// Runs the script in `path` with an engine built from `config` (whose
/// features are used as they are).
pub fn run_file_with_config(path: &Path, config: Config) -> Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    run_text_with_config(&text, config)
}

/// Runs a script given as text with the default engine configuration and
/// `features`. `Err` only when the script itself cannot be parsed; every
/// check's outcome is in the [`Report`].
pub fn run_text(text: &str, features: WasmFeatures) -> Result<Report> {
    let mut config = Config::new();
    config.wasm_features(features);
    run_text_with_config(text, config)
}

/// The tokens of a script. Scripts may spell names with characters that
/// look like others (`names.wast` does), which the lexer refuses unless told.
fn script_buffer(text: &str) -> Result<ParseBuffer<'_>> {
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    ParseBuffer::new_with_lexer(lexer).map_err(|e| anyhow!("{e}"))
}

/// Runs a script given as text with an engine built from `config`.
pub fn run_text_with_config(text: &str, config: Config) -> Result<Report> {
    run_text_with_timeout(text, config, None)
}

/// As [`run_file_with_config`], with each directive (a call, a module's
/// start function) stopped once it has run for `timeout` (a quarter more
/// at most, and 5 ms at least): it fails, and the script goes on. A
/// module's compilation has a deadline of its own, `timeout` too, checked
/// between functions.
pub fn run_file_with_timeout(
    path: &Path,
    config: Config,
    timeout: Option<Duration>,
) -> Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    run_text_with_timeout(&text, config, timeout)
}

/// Epoch ticks per timeout: a directive is interrupted once it has seen
/// one more than this many, so between one and one and a quarter timeouts
/// after it started.
const TICKS_PER_TIMEOUT: u32 = 4;

/// As [`run_text_with_config`], with [`run_file_with_timeout`]'s timeout.
pub fn run_text_with_timeout(
    text: &str,
    mut config: Config,
    timeout: Option<Duration>,
) -> Result<Report> {
    let buf = script_buffer(text)?;
    let wast: Wast<'_> = parser::parse(&buf).map_err(|e| anyhow!("{e}"))?;
    // Files run in parallel already; one thread per compilation avoids
    // oversubscribing the machine.
    config.parallel_compilation(false);
    if timeout.is_some() {
        config.epoch_interruption(true);
        config.max_compile_time(timeout);
    }
    let engine = Engine::new(&config)?;
    let mut runner = Runner::new(&engine, timeout)?;
    let mut report = Report::default();
    let Some(timeout) = timeout else {
        run_directives(&mut runner, wast.directives, text, &mut report);
        return Ok(report);
    };
    // The clock: ticks the engine's epoch until the script is done.
    let (done, stop) = std::sync::mpsc::channel::<()>();
    let tick = (timeout / TICKS_PER_TIMEOUT).max(Duration::from_millis(1));
    let clock_engine = engine.clone();
    let clock = std::thread::Builder::new()
        .name("wast timeout".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(tick) {
                clock_engine.increment_epoch();
            }
        })
        .context("cannot start the thread that keeps the timeout")?;
    run_directives(&mut runner, wast.directives, text, &mut report);
    drop(done);
    let _ = clock.join();
    Ok(report)
}

/// Runs `directives` (a script's, or a `thread`'s) in `runner`, adding each
/// check's outcome to `report`. A `thread` runs its directives on a thread
/// of its own, with a store of its own, until a `wait` for it (or the end
/// of these directives) adds what it found.
fn run_directives<'a>(
    runner: &mut Runner,
    directives: Vec<WastDirective<'a>>,
    text: &str,
    report: &mut Report,
) {
    std::thread::scope(|scope| {
        // Running threads, in the order they started.
        let mut threads: Vec<(String, std::thread::ScopedJoinHandle<'_, Report>)> = Vec::new();
        for directive in directives {
            let (line, col) = directive.span().linecol_in(text);
            let at = format!("{}:{}", line + 1, col + 1);
            let outcome = match directive {
                WastDirective::Thread(thread)
                    if threads.iter().any(|(name, _)| name == thread.name.name()) =>
                {
                    Err(anyhow!(
                        "thread ${} was started and not waited for yet",
                        thread.name.name()
                    ))
                }
                WastDirective::Thread(thread) => runner
                    .spawn(scope, thread, text)
                    .map(|started| threads.push(started)),
                WastDirective::Wait { thread, .. } => {
                    match threads.iter().position(|(name, _)| name == thread.name()) {
                        Some(i) => join(threads.remove(i).1, report),
                        None => Err(anyhow!("no running thread named ${}", thread.name())),
                    }
                }
                directive => match catch_unwind(AssertUnwindSafe(|| runner.directive(directive))) {
                    Ok(outcome) => outcome,
                    Err(panic) => Err(anyhow!("engine panicked: {}", panic_message(&*panic))),
                },
            };
            match outcome {
                Ok(()) => report.passed += 1,
                Err(e) => report.fail(format!("{at}: {e:#}")),
            }
        }
        // Threads never waited for still count.
        for (_, t) in threads {
            if let Err(e) = join(t, report) {
                report.fail(format!("end of script: {e:#}"));
            }
        }
    });
}

/// The text of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Waits for a script thread and adds its checks to `report`.
fn join(thread: std::thread::ScopedJoinHandle<'_, Report>, report: &mut Report) -> Result<()> {
    let found = thread
        .join()
        .map_err(|panic| anyhow!("script thread panicked: {}", panic_message(&*panic)))?;
    report.passed += found.passed;
    report.failed += found.failed;
    report.failures.extend(found.failures);
    Ok(())
}

/// Compiles, without running anything, every module a script expects to be
/// valid (`module`, `module definition`, and the modules of
/// `assert_unlinkable`, `assert_trap` and `assert_exception`), with
/// [`Engine::precompile_module`]: so it works for an engine that compiles
/// for another target ([`Config::target`]). `passed` counts modules that
/// compiled. A module refused with `not supported yet: ...` is listed in
/// `failures` but not counted as failed; every other error fails.
pub fn compile_text(text: &str, engine: &Engine) -> Result<Report> {
    let buf = script_buffer(text)?;
    let wast: Wast<'_> = parser::parse(&buf).map_err(|e| anyhow!("{e}"))?;
    let mut report = Report::default();
    // A thread's directives count as the script's, in place.
    let mut pending: Vec<WastDirective<'_>> = wast.directives.into_iter().rev().collect();
    let mut directives = Vec::new();
    while let Some(directive) = pending.pop() {
        match directive {
            WastDirective::Thread(thread) => pending.extend(thread.directives.into_iter().rev()),
            directive => directives.push(directive),
        }
    }
    for directive in directives {
        let (line, col) = directive.span().linecol_in(text);
        let module = match directive {
            WastDirective::Module(q) | WastDirective::ModuleDefinition(q) => q,
            WastDirective::AssertUnlinkable { module: w, .. }
            | WastDirective::AssertTrap {
                exec: WastExecute::Wat(w),
                ..
            }
            | WastDirective::AssertException {
                exec: WastExecute::Wat(w),
                ..
            } => QuoteWat::Wat(w),
            _ => continue,
        };
        let mut module = module;
        if matches!(
            module,
            QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_))
        ) {
            continue;
        }
        let at = format!("{}:{}", line + 1, col + 1);
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(e) => {
                report.fail(format!("{at}: {e}"));
                continue;
            }
        };
        match catch_unwind(AssertUnwindSafe(|| engine.precompile_module(&bytes))) {
            Ok(Ok(_)) => report.passed += 1,
            Ok(Err(e)) if format!("{e:#}").contains("not supported yet") => {
                report.failures.push(format!("{at}: {e:#}"))
            }
            Ok(Err(e)) => report.fail(format!("{at}: {e:#}")),
            Err(_) => report.fail(format!("{at}: engine panicked")),
        }
    }
    Ok(report)
}

struct Runner {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    current: Option<Instance>,
    instances: HashMap<String, Instance>,
    definitions: HashMap<String, Module>,
    /// The last `module definition`, named or not.
    last_definition: Option<Module>,
    /// In a script thread: the exports of the instance it shares with the
    /// script (`(thread $T (shared (module $M)) ...)`), by the instance's
    /// name, for `register`.
    shared: HashMap<String, Vec<(String, Extern)>>,
    /// How long each directive may run (`run_text_with_timeout`).
    timeout: Option<Duration>,
}

fn quote_name(q: &QuoteWat<'_>) -> Option<String> {
    q.name().map(|id| id.name().to_string())
}

fn matches_message(actual: &str, expected: &str) -> bool {
    // As the reference interpreter matches: the actual message starts with
    // the expected one. Its messages name the element index
    // (`uninitialized element 2`), ours do not.
    actual.starts_with(expected)
        || expected.strip_prefix(actual).is_some_and(|rest| {
            rest.strip_prefix(' ')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

impl Runner {
    fn new(engine: &Engine, timeout: Option<Duration>) -> Result<Runner> {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        define_spectest(&mut store, &mut linker)?;
        Ok(Runner {
            engine: engine.clone(),
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
            shared: HashMap::new(),
            timeout,
        })
    }

    /// Starts a script thread: a runner with a store of its own, to which
    /// the shared instance's exports (shared memories: nothing else can be
    /// reached from another store) are importable under the instance's name.
    fn spawn<'scope, 'env: 'scope>(
        &mut self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        thread: wast::WastThread<'env>,
        text: &'env str,
    ) -> Result<(String, std::thread::ScopedJoinHandle<'scope, Report>)> {
        let mut shared = Vec::new();
        if let Some(id) = thread.shared_module {
            let instance = self.instance(Some(id))?;
            let mut exports = Vec::new();
            for export in instance.exports(&mut self.store) {
                let name = export.name().to_string();
                match export.into_extern() {
                    item @ Extern::SharedMemory(_) => exports.push((name, item)),
                    other => bail!(
                        "not supported yet: sharing a {} (`{name}` of ${}) with a script thread; \
                         only shared memories can be",
                        other.ty(&self.store).kind_name(),
                        id.name()
                    ),
                }
            }
            shared.push((id.name().to_string(), exports));
        }
        let engine = self.engine.clone();
        let timeout = self.timeout;
        let name = thread.name.name().to_string();
        // The script's module definitions are the thread's too.
        let definitions = (self.definitions.clone(), self.last_definition.clone());
        let label = name.clone();
        let handle = std::thread::Builder::new()
            .name(format!("wast thread ${name}"))
            // As much stack as a main thread has.
            .stack_size(8 << 20)
            .spawn_scoped(scope, move || {
                let mut report = Report::default();
                match Runner::new(&engine, timeout).and_then(|mut runner| {
                    (runner.definitions, runner.last_definition) = definitions;
                    for (module, exports) in shared {
                        for (name, item) in &exports {
                            runner
                                .linker
                                .define(&runner.store, &module, name, item.clone())?;
                        }
                        runner.shared.insert(module, exports);
                    }
                    Ok(runner)
                }) {
                    Ok(mut runner) => {
                        run_directives(&mut runner, thread.directives, text, &mut report)
                    }
                    Err(e) => report.fail(format!("thread ${label}: {e:#}")),
                }
                report
            })
            .context("cannot start a script thread")?;
        Ok((name, handle))
    }

    fn compile(&self, q: &mut QuoteWat<'_>) -> Result<Module> {
        if matches!(
            q,
            QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_))
        ) {
            bail!("not supported yet: component model");
        }
        let bytes = q.encode().map_err(|e| anyhow!("{e}"))?;
        Module::from_binary(&self.engine, &bytes)
    }

    fn instantiate(&mut self, module: &Module, name: Option<String>) -> Result<()> {
        let instance = self.linker.instantiate(&mut self.store, module)?;
        self.current = Some(instance);
        if let Some(name) = name {
            // A named instance's exports can be imported under its name
            // (`$M` as module `M`) without `register`, as in Wasmtime's
            // runner, whose scripts rely on it; `register` adds names.
            self.linker.instance(&mut self.store, &name, instance)?;
            self.instances.insert(name, instance);
        }
        Ok(())
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<Instance> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .ok_or_else(|| anyhow!("no instance named ${}", id.name())),
            None => self
                .current
                .ok_or_else(|| anyhow!("no module instantiated")),
        }
    }

    fn directive(&mut self, directive: WastDirective<'_>) -> Result<()> {
        let Some(timeout) = self.timeout else {
            return self.run_directive(directive);
        };
        self.store
            .set_epoch_deadline(u64::from(TICKS_PER_TIMEOUT) + 1);
        let started = std::time::Instant::now();
        // Whatever the failure says (an assertion's expected trap, a
        // compilation past its deadline), one that came after the timeout
        // names it.
        self.run_directive(directive).map_err(|e| {
            if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) || started.elapsed() >= timeout {
                e.context(format!("ran longer than the timeout of {timeout:?}"))
            } else {
                e
            }
        })
    }

    fn run_directive(&mut self, directive: WastDirective<'_>) -> Result<()> {
        match directive {
            WastDirective::Module(mut q) => {
                let name = quote_name(&q);
                // Until this module is instantiated, unnamed invocations
                // have no target (rather than silently using an older one).
                self.current = None;
                let module = self.compile(&mut q)?;
                self.instantiate(&module, name)
            }
            WastDirective::ModuleDefinition(mut q) => {
                let name = quote_name(&q);
                let module = self.compile(&mut q)?;
                if let Some(name) = name {
                    self.definitions.insert(name, module.clone());
                }
                self.last_definition = Some(module);
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                // Without a name: the last module defined.
                let def = match module {
                    Some(m) => self.definitions.get(m.name()).cloned(),
                    None => self.last_definition.clone(),
                }
                .ok_or_else(|| anyhow!("unknown module definition"))?;
                self.instantiate(&def, instance.map(|i| i.name().to_string()))
            }
            WastDirective::Register { name, module, .. } => {
                if let Some(exports) = module.and_then(|m| self.shared.get(m.name())) {
                    for (item_name, item) in exports {
                        self.linker
                            .define(&self.store, name, item_name, item.clone())?;
                    }
                    return Ok(());
                }
                let instance = self.instance(module)?;
                self.linker.instance(&mut self.store, name, instance)?;
                Ok(())
            }
            WastDirective::Invoke(invoke) => self.invoke(&invoke).map(|_| ()),
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self.execute(exec)?;
                self.check_results(&actual, &results)
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(vals) => bail!("expected trap `{message}`, got {vals:?}"),
                Err(e) => check_trap(&e, message),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(vals) => bail!("expected `{message}`, got {vals:?}"),
                Err(e) => check_trap(&e, message),
            },
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            }
            | WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => match self.compile(&mut module) {
                Ok(_) => bail!("expected the module to be rejected ({message}), but it loaded"),
                Err(_) => Ok(()),
            },
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let bytes = module.encode().map_err(|e| anyhow!("{e}"))?;
                let m = Module::from_binary(&self.engine, &bytes)?;
                match self.linker.instantiate(&mut self.store, &m) {
                    Ok(_) => bail!("expected linking to fail ({message}), but it succeeded"),
                    Err(_) => Ok(()),
                }
            }
            WastDirective::AssertMalformedCustom { .. }
            | WastDirective::AssertInvalidCustom { .. } => {
                bail!("not supported yet: custom section annotations")
            }
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Ok(vals) => bail!("expected an uncaught exception, got {vals:?}"),
                Err(e) if e.downcast_ref::<wasm_jit::Exception>().is_some() => Ok(()),
                Err(e) => bail!("expected an uncaught exception, got: {e:#}"),
            },
            WastDirective::AssertSuspension { .. } => bail!("not supported yet: stack switching"),
            WastDirective::Thread(_) | WastDirective::Wait { .. } => {
                unreachable!("`run_directives` handles threads")
            }
        }
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(mut wat) => {
                let bytes = wat.encode().map_err(|e| anyhow!("{e}"))?;
                let module = Module::from_binary(&self.engine, &bytes)?;
                self.linker.instantiate(&mut self.store, &module)?;
                Ok(Vec::new())
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let g = instance
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| anyhow!("no global export `{global}`"))?;
                Ok(vec![g.get(&mut self.store)])
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Val>> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| anyhow!("no function export `{}`", invoke.name))?;
        let mut args = Vec::new();
        for a in &invoke.args {
            args.push(self.arg(a)?);
        }
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty.results().map(Val::default_for).collect();
        func.call(&mut self.store, &args, &mut results)?;
        Ok(results)
    }

    fn arg(&mut self, arg: &WastArg<'_>) -> Result<Val> {
        let WastArg::Core(arg) = arg else {
            bail!("not supported yet: component values");
        };
        Ok(match arg {
            WastArgCore::I32(v) => Val::I32(*v),
            WastArgCore::I64(v) => Val::I64(*v),
            WastArgCore::F32(f) => Val::F32(f.bits),
            WastArgCore::F64(f) => Val::F64(f.bits),
            WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
            WastArgCore::RefNull(HeapType::Abstract {
                ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
                ..
            })
            | WastArgCore::RefNull(HeapType::Concrete(_)) => Val::FuncRef(None),
            WastArgCore::RefNull(HeapType::Abstract {
                ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
                ..
            }) => Val::ExternRef(None),
            WastArgCore::RefNull(HeapType::Abstract {
                ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
                ..
            }) => Val::ExnRef(None),
            WastArgCore::RefNull(HeapType::Abstract {
                ty:
                    AbstractHeapType::Any
                    | AbstractHeapType::Eq
                    | AbstractHeapType::I31
                    | AbstractHeapType::Struct
                    | AbstractHeapType::Array
                    | AbstractHeapType::None,
                ..
            }) => Val::AnyRef(None),
            WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(&mut self.store, *n))),
            // A host value as a GC value (`any.convert_extern` of it).
            WastArgCore::RefHost(n) => Val::AnyRef(Some(AnyRef::convert_extern(ExternRef::new(
                &mut self.store,
                *n,
            )))),
            other => bail!("not supported yet: argument {other:?}"),
        })
    }

    fn check_results(&self, actual: &[Val], expected: &[WastRet<'_>]) -> Result<()> {
        if actual.len() != expected.len() {
            bail!("expected {} results, got {}", expected.len(), actual.len());
        }
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            let WastRet::Core(e) = e else {
                bail!("not supported yet: component values");
            };
            if !self.matches(a, e) {
                bail!("result {i}: expected {e:?}, got {a:?}");
            }
        }
        Ok(())
    }

    fn matches(&self, actual: &Val, expected: &WastRetCore<'_>) -> bool {
        match (actual, expected) {
            (Val::I32(a), WastRetCore::I32(e)) => a == e,
            (Val::I64(a), WastRetCore::I64(e)) => a == e,
            (Val::F32(a), WastRetCore::F32(p)) => f32_matches(*a, p),
            (Val::F64(a), WastRetCore::F64(p)) => f64_matches(*a, p),
            (Val::V128(a), WastRetCore::V128(p)) => v128_matches(*a, p),
            (_, WastRetCore::Either(options)) => options.iter().any(|e| self.matches(actual, e)),
            (
                Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None),
                WastRetCore::RefNull(_),
            ) => true,
            (Val::FuncRef(Some(_)), WastRetCore::RefFunc(_)) => true,
            (Val::ExternRef(Some(_)), WastRetCore::RefExtern(None)) => true,
            (Val::ExternRef(Some(r)), WastRetCore::RefExtern(Some(n))) => {
                host_u32(r.data(&self.store)) == Some(*n)
            }
            (Val::AnyRef(Some(a)), WastRetCore::RefHost(n)) => {
                host_u32(ExternRef::convert_any(*a).data(&self.store)) == Some(*n)
            }
            (Val::AnyRef(Some(_)), WastRetCore::RefAny) => true,
            (Val::AnyRef(Some(a)), WastRetCore::RefEq) => a.is_eqref(),
            (Val::AnyRef(Some(a)), WastRetCore::RefI31) => a.is_i31(),
            (Val::AnyRef(Some(a)), WastRetCore::RefStruct) => a.is_struct(&self.store),
            (Val::AnyRef(Some(a)), WastRetCore::RefArray) => a.is_array(&self.store),
            _ => false,
        }
    }
}

/// The `u32` a script's host reference wraps.
fn host_u32(data: Option<&(dyn std::any::Any + Send + Sync)>) -> Option<u32> {
    data.and_then(|d| d.downcast_ref::<u32>()).copied()
}

fn f32_matches(a: u32, p: &NanPattern<F32>) -> bool {
    match p {
        NanPattern::CanonicalNan => a & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => a & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(F32 { bits }) => a == *bits,
    }
}

fn f64_matches(a: u64, p: &NanPattern<F64>) -> bool {
    match p {
        NanPattern::CanonicalNan => a & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => a & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(F64 { bits }) => a == *bits,
    }
}

/// Whether a `v128` result matches a lane-wise pattern (float lanes may be
/// NaN patterns).
fn v128_matches(a: u128, p: &V128Pattern) -> bool {
    let bytes = a.to_le_bytes();
    let lane = |i: usize, size: usize| {
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(&bytes[i * size..(i + 1) * size]);
        u64::from_le_bytes(b)
    };
    match p {
        V128Pattern::I8x16(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 1) == *v as u8 as u64),
        V128Pattern::I16x8(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 2) == *v as u16 as u64),
        V128Pattern::I32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 4) == *v as u32 as u64),
        V128Pattern::I64x2(e) => e.iter().enumerate().all(|(i, v)| lane(i, 8) == *v as u64),
        V128Pattern::F32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, p)| f32_matches(lane(i, 4) as u32, p)),
        V128Pattern::F64x2(e) => e
            .iter()
            .enumerate()
            .all(|(i, p)| f64_matches(lane(i, 8), p)),
    }
}

fn check_trap(err: &anyhow::Error, expected: &str) -> Result<()> {
    match err.downcast_ref::<Trap>() {
        Some(trap) if matches_message(trap.message(), expected) => Ok(()),
        Some(trap) => bail!("expected trap `{expected}`, got `{}`", trap.message()),
        None => bail!("expected trap `{expected}`, got error: {err:#}"),
    }
}

/// Defines the `spectest` module every script may import.
fn define_spectest(store: &mut Store<()>, linker: &mut Linker<()>) -> Result<()> {
    let prints: [(&str, Vec<ValType>); 7] = [
        ("print", vec![]),
        ("print_i32", vec![ValType::I32]),
        ("print_i64", vec![ValType::I64]),
        ("print_f32", vec![ValType::F32]),
        ("print_f64", vec![ValType::F64]),
        ("print_i32_f32", vec![ValType::I32, ValType::F32]),
        ("print_f64_f64", vec![ValType::F64, ValType::F64]),
    ];
    for (name, params) in prints {
        let ty = FuncType::new(linker.engine(), params, []);
        linker.func_new("spectest", name, ty, |_, _, _| Ok(()))?;
    }
    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, val) in globals {
        let g = Global::new(
            &mut *store,
            GlobalType {
                content: ty,
                mutable: false,
            },
            val,
        )?;
        linker.define(&*store, "spectest", name, g)?;
    }
    for (name, ty) in [
        ("table", TableType::new(ValType::FuncRef, 10, Some(20))),
        ("table64", TableType::new64(ValType::FuncRef, 10, Some(20))),
    ] {
        let table = Table::new(&mut *store, ty, Val::FuncRef(None))?;
        linker.define(&*store, "spectest", name, table)?;
    }
    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&*store, "spectest", "memory", Extern::Memory(memory))?;
    let shared = SharedMemory::new(linker.engine(), MemoryType::shared(1, 1))?;
    linker.define(&*store, "spectest", "shared_memory", shared)?;
    // Wasmtime's GC scripts ask for a collection through `wasmtime.gc`. GC
    // objects here live until their store is dropped (a null collector),
    // so a collection has nothing to do: what they check is that objects
    // and references stay intact across it.
    let ty = FuncType::new(linker.engine(), [], []);
    linker.func_new("wasmtime", "gc", ty, |_, _, _| Ok(()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Report;

    /// Checks that `report` counted `passed` and `failed` checks.
    fn assert_counts(report: &Report, (passed, failed): (usize, usize)) {
        assert_eq!(
            (report.passed, report.failed),
            (passed, failed),
            "{:?}",
            report.failures
        );
    }

    /// Runs `script` with the default features and checks its counts.
    fn run_counted(script: &str, counts: (usize, usize)) -> Report {
        let report = super::run_text(script, super::default_features()).unwrap();
        assert_counts(&report, counts);
        report
    }

    /// A trap matches when its message starts with the expected text, or is
    /// the expected text without the reference interpreter's element index;
    /// a shorter message does not match otherwise.
    #[test]
    fn trap_messages_match_as_the_reference_interpreter_matches() {
        use super::matches_message as m;
        assert!(m(
            "out of bounds memory access",
            "out of bounds memory access"
        ));
        assert!(m("out of bounds memory access", "out of bounds"));
        assert!(m("uninitialized element", "uninitialized element 2"));
        assert!(!m("uninitialized element", "uninitialized element x"));
        assert!(!m("uninitialized element", "uninitialized element "));
        assert!(!m("out of bounds", "out of bounds memory access"));
        assert!(!m("", "unreachable"));
        assert!(!m("integer overflow", "integer divide by zero"));
    }

    /// `thread` runs its directives beside the script's, with the shared
    /// instance's memory; `wait` adds the thread's checks. Here one thread
    /// waits on a flag that the other sets and notifies; each sees the
    /// other's stores.
    #[test]
    fn script_threads_share_memory_and_are_waited_for() {
        let script = r#"
          (module $Mem (memory (export "shared") 1 1 shared))
          (thread $Waiter (shared (module $Mem))
            (register "mem" $Mem)
            (module
              (memory (import "mem" "shared") 1 1 shared)
              (func (export "run") (result i32)
                ;; Wait while the flag at 0 is 0, then read the payload.
                (block $done
                  (loop $again
                    (br_if $done (i32.atomic.load (i32.const 0)))
                    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
                    (br $again)))
                (i32.load (i32.const 4))))
            (assert_return (invoke "run") (i32.const 42)))
          (thread $Writer (shared (module $Mem))
            (register "mem" $Mem)
            (module
              (memory (import "mem" "shared") 1 1 shared)
              (func (export "run")
                (i32.store (i32.const 4) (i32.const 42))
                (i32.atomic.store (i32.const 0) (i32.const 1))
                (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))))
            (invoke "run"))
          (wait $Writer)
          (wait $Waiter)
          (module (memory (import "Mem" "shared") 1 1 shared)
            (func (export "flag") (result i32) (i32.atomic.load (i32.const 0))))
          (assert_return (invoke "flag") (i32.const 1))
          (thread $Bad (shared (module $Mem))
            (assert_return (invoke $Nowhere "f") (i32.const 0)))
          (wait $Bad)
          (wait $Bad)
          (module definition $Def (func (export "d") (result i32) (i32.const 5)))
          (thread $Defs
            (module instance $d $Def)
            (assert_return (invoke $d "d") (i32.const 5)))
          (thread $Defs (module))
          (wait $Defs)
        "#;
        // Module, two threads, their 3 + 3 checks, two waits, module,
        // assert_return, a thread and its wait pass; the thread's check
        // and the second wait fail. Then a definition, a thread using it
        // (2 checks) and its wait pass; a second thread of the same name
        // before that wait fails.
        let report = run_counted(script, (20, 3));
        assert!(report.failures[0].contains("no instance named $Nowhere"));
        assert!(report.failures[1].contains("no running thread named $Bad"));
        assert!(report.failures[2].contains("thread $Defs was started and not waited for"));
    }

    /// Compiling a script for another target also compiles the modules of
    /// its threads.
    #[test]
    fn compiling_a_script_includes_its_threads_modules() {
        let script = r#"
          (module $Mem (memory (export "shared") 1 1 shared))
          (thread $T (shared (module $Mem))
            (register "mem" $Mem)
            (module (memory (import "mem" "shared") 1 1 shared)
              (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))
            (thread $U (module (func (export "g")))))
          (wait $T)
        "#;
        let engine = wasm_jit::Engine::default();
        let report = super::compile_text(script, &engine).unwrap();
        assert_counts(&report, (3, 0));
    }

    /// `spectest` has what the reference interpreter's has, plus
    /// Wasmtime's shared memory: a 64-bit table (`table.wast` imports it)
    /// and a shared memory of one page.
    #[test]
    fn spectest_has_a_64_bit_table_and_a_shared_memory() {
        let script = r#"
          (module
            (import "spectest" "table64" (table $t i64 10 20 funcref))
            (import "spectest" "shared_memory" (memory $m 1 1 shared))
            (func (export "size") (result i64) (table.size $t))
            (func (export "grow") (result i32) (memory.grow $m (i32.const 1))))
          (assert_return (invoke "size") (i64.const 10))
          (assert_return (invoke "grow") (i32.const -1))
          (assert_unlinkable
            (module (import "spectest" "table64" (table 10 20 funcref)))
            "incompatible import type")
        "#;
        run_counted(script, (4, 0));
    }

    /// `(module instance)` without a name instantiates the last module
    /// defined; Wasmtime's `wasmtime.gc` can be called.
    #[test]
    fn unnamed_instances_are_of_the_last_definition() {
        let script = r#"
          (module definition $A (func (export "f") (result i32) (i32.const 1)))
          (module definition (func (export "f") (result i32) (i32.const 2)))
          (module instance)
          (assert_return (invoke "f") (i32.const 2))
          (module instance $a $A)
          (assert_return (invoke $a "f") (i32.const 1))
          (module (import "wasmtime" "gc" (func $gc))
            (func (export "g") (result i32) (call $gc) (i32.const 3)))
          (assert_return (invoke "g") (i32.const 3))
        "#;
        run_counted(script, (8, 0));
    }

    /// `(module $M ...)` can be imported from as `M`; `register` still
    /// gives other names, and a later module of the same name shadows it.
    #[test]
    fn named_instances_can_be_imported_by_name() {
        let script = r#"
          (module $M (func (export "f") (result i32) (i32.const 7)))
          (module (import "M" "f" (func $f (result i32)))
            (func (export "g") (result i32) (call $f)))
          (assert_return (invoke "g") (i32.const 7))
          (register "other" $M)
          (module $M (func (export "f") (result i32) (i32.const 8)))
          (module (import "M" "f" (func $f (result i32)))
                  (import "other" "f" (func $o (result i32)))
            (func (export "g") (result i32) (i32.add (call $f) (call $o))))
          (assert_return (invoke "g") (i32.const 15))
          (assert_unlinkable
            (module (import "N" "f" (func (result i32))))
            "unknown import")
        "#;
        run_counted(script, (8, 0));
    }
}
