//! `wasm-jit run`: runs a WASI program (its `_start`), or one export of a
//! module with `--invoke`.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use wasm_jit::{Config, Engine, Func, Linker, Module, Store, StoreLimits, Trap, Val, ValType};
use wasm_jit_wasi::threads::WasiThreadsCtx;
use wasm_jit_wasi::{DirPerms, FilePerms, I32Exit, WasiCtx, WasiCtxBuilder};

use crate::codegen::{flag, key_value};

/// Options of `wasm-jit run`.
#[derive(Args, Debug)]
pub struct RunCommand {
    /// Call this exported function instead of `_start`, with ARGS parsed
    /// according to its parameter types, and print its results one per line.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Give the guest access to host directory HOST, under the name GUEST
    /// (default: the same path). Nothing outside it is reachable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Pass an environment variable: NAME=VALUE, or NAME to pass the host's value.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,
    /// Instantiate another module first and make its exports importable
    /// under module name NAME.
    #[arg(long = "preload", value_name = "NAME=PATH")]
    preloads: Vec<String>,
    /// Stop the guest after this much wall-clock time, compiling included
    /// (e.g. 500ms, 2s, 1m). Same as -W timeout=DURATION.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Largest size any linear memory may grow to (e.g. 65536, 64KiB, 16MiB, 1GiB);
    /// `memory.grow` beyond it returns -1. Same as -W max-memory-size=SIZE.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
    /// Most elements any table may have (default 10 million). Same as
    /// -W max-table-elements=N.
    #[arg(long, value_name = "N")]
    max_table_elements: Option<u64>,
    /// Most native stack Wasm may use (e.g. 512KiB) before it traps with
    /// "call stack exhausted". Same as -W max-wasm-stack=SIZE.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_wasm_stack: Option<u64>,
    /// Run with this much fuel: every Wasm operator costs one unit, and the
    /// guest traps ("all fuel consumed by WebAssembly", as Wasmtime says)
    /// when it runs out. Same as -W fuel=N.
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Check every memory access explicitly instead of relying on guard pages.
    #[arg(long)]
    explicit_bounds_checks: bool,
    /// Run a precompiled module (`wasm-jit compile -o FILE`): its machine
    /// code runs as is, so only for files you trust.
    #[arg(long)]
    allow_precompiled: bool,
    /// Tell a profiler about the compiled code: `perfmap` writes
    /// /tmp/perf-PID.map for `perf report`; `jitdump` writes ./jit-PID.dump
    /// for `perf record -k mono` and `perf inject --jit`.
    #[arg(long, value_name = "STRATEGY")]
    profile: Option<String>,
    /// WASI option KEY=VALUE: `inherit-env=y` (pass the whole host
    /// environment), `inherit-args=y|n` (pass ARGS to the guest; default y),
    /// `inherit-stdin=y|n`, `inherit-stdout=y|n`, `inherit-stderr=y|n` (the
    /// host's streams; default y: otherwise empty input, discarded output),
    /// `preview0=y|n` (the older `wasi_unstable` imports too; default y),
    /// `threads=y` (wasi-threads: `wasi::thread-spawn` and the shared
    /// memory the module imports).
    #[arg(short = 'S', long = "wasi", value_name = "KEY=VALUE")]
    wasi: Vec<String>,
    /// The program's `argv[0]` (default: the module's file name).
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,
    #[command(flatten)]
    codegen: crate::codegen::CodegenOptions,
    /// The module to run (`.wasm` binary, `.wat` text, or `-` for standard
    /// input), then the arguments for the program (or for the invoked
    /// function): everything after the module goes to the program as it is,
    /// options and `--` included.
    #[arg(value_name = "MODULE [ARGS]", trailing_var_arg = true, required = true)]
    module_and_args: Vec<String>,
}

/// The guest's state: its WASI context and the store's limits, and with
/// wasi-threads what starts threads. Each thread's store has a clone (the
/// WASI context's clones share it).
#[derive(Clone)]
struct Host {
    wasi: WasiCtx,
    limits: StoreLimits,
    threads: Option<Arc<WasiThreadsCtx<Host>>>,
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = num.parse().map_err(|_| format!("invalid duration `{s}`"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "us" => n / 1e6,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration `{s}`: use a unit of ms, s, m or h"
            ));
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("invalid duration `{s}`"))
}

pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("invalid size `{s}`"))?;
    let mult = match unit {
        "" | "B" => 1,
        "K" | "Ki" | "KiB" | "k" => 1 << 10,
        "M" | "Mi" | "MiB" => 1 << 20,
        "G" | "Gi" | "GiB" => 1 << 30,
        _ => {
            return Err(format!(
                "invalid size `{s}`: use a suffix of KiB, MiB or GiB"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size `{s}` is too large"))
}

/// What `-S` and the store-level `-W` options ask for.
struct WasiOptions {
    inherit_env: bool,
    /// Which of stdin, stdout and stderr the guest gets (all by default).
    stdio: [bool; 3],
    /// `wasi_unstable` too (on by default, as in Wasmtime).
    preview0: bool,
    no_args: bool,
    /// wasi-threads (`-S threads`).
    threads: bool,
    limits: wasm_jit::StoreLimitsBuilder,
    unknown_imports: Option<UnknownImports>,
}

impl Default for WasiOptions {
    fn default() -> Self {
        WasiOptions {
            inherit_env: false,
            stdio: [true; 3],
            preview0: true,
            no_args: false,
            threads: false,
            limits: Default::default(),
            unknown_imports: None,
        }
    }
}

/// What `-W unknown-imports-trap` / `unknown-imports-default` define
/// imported functions nothing provides as.
#[derive(Clone, Copy)]
enum UnknownImports {
    Trap,
    Default,
}

impl RunCommand {
    /// Folds the `-W` options that only `run` has into the long options
    /// they alias, and reads `-S`.
    fn resolve_options(&mut self) -> Result<WasiOptions> {
        self.codegen.split_lists();
        self.wasi = crate::codegen::split_list(&self.wasi);
        let mut wasi = WasiOptions::default();
        let count = |key: &str, value: &str| -> Result<usize> {
            value
                .parse()
                .map_err(|_| anyhow!("invalid value `{value}` for -W {key}"))
        };
        for opt in &self.codegen.wasm {
            let (key, value) = key_value(opt);
            match key {
                "trap-on-grow-failure" => {
                    wasi.limits = wasi.limits.trap_on_grow_failure(flag(key, value)?)
                }
                "max-instances" => wasi.limits = wasi.limits.instances(count(key, value)?),
                "max-memories" => wasi.limits = wasi.limits.memories(count(key, value)?),
                "max-tables" => wasi.limits = wasi.limits.tables(count(key, value)?),
                "unknown-imports-trap" if flag(key, value)? => {
                    wasi.unknown_imports = Some(UnknownImports::Trap)
                }
                "unknown-imports-default" if flag(key, value)? => {
                    wasi.unknown_imports = Some(UnknownImports::Default)
                }
                "max-memory-size" => {
                    self.max_memory = Some(parse_size(value).map_err(|e| anyhow!(e))?)
                }
                "timeout" => self.timeout = Some(parse_duration(value).map_err(|e| anyhow!(e))?),
                "fuel" => {
                    self.fuel = Some(
                        value
                            .parse()
                            .map_err(|_| anyhow!("invalid value `{value}` for -W fuel"))?,
                    )
                }
                "max-wasm-stack" => {
                    self.max_wasm_stack = Some(parse_size(value).map_err(|e| anyhow!(e))?)
                }
                "max-table-elements" => {
                    self.max_table_elements = Some(value.parse().map_err(|_| {
                        anyhow!("invalid value `{value}` for -W max-table-elements")
                    })?)
                }
                _ => {} // feature toggles: `CodegenOptions::apply`
            }
        }
        for opt in &self.wasi {
            let (key, value) = key_value(opt);
            match key {
                "inherit-env" => wasi.inherit_env = flag(key, value)?,
                "inherit-args" => wasi.no_args = !flag(key, value)?,
                "threads" => wasi.threads = flag(key, value)?,
                "preview0" => wasi.preview0 = flag(key, value)?,
                "inherit-stdin" => wasi.stdio[0] = flag(key, value)?,
                "inherit-stdout" => wasi.stdio[1] = flag(key, value)?,
                "inherit-stderr" => wasi.stdio[2] = flag(key, value)?,
                // What we provide anyway: the command-line world of
                // preview 1.
                "cli" if flag(key, value)? => {}
                "preview2" if !flag(key, value)? => {}
                _ => bail!("unknown or unsupported -S option `{opt}`"),
            }
        }
        Ok(wasi)
    }

    pub fn execute(mut self) -> Result<ExitCode> {
        let mut wasi_options = self.resolve_options()?;
        // The timeout covers the whole run, compilation included.
        let watchdog = self.timeout.map(Watchdog::start).transpose()?;
        let mut config = Config::new();
        self.codegen.apply(&mut config, true)?;
        if self.explicit_bounds_checks {
            config.explicit_bounds_checks(true);
        }
        config.consume_fuel(self.fuel.is_some());
        match self.profile.as_deref() {
            None => {}
            Some("perfmap") => {
                config.profiler(wasm_jit::Profiler::PerfMap);
            }
            Some("jitdump") => {
                config.profiler(wasm_jit::Profiler::JitDump);
            }
            Some(other) => {
                bail!("unknown --profile strategy `{other}`: expected perfmap or jitdump")
            }
        }
        if let Some(bytes) = self.max_wasm_stack {
            config.max_wasm_stack(bytes as usize);
        }
        if let Some(n) = self.max_table_elements {
            config.max_table_elements(n);
        }
        config.epoch_interruption(self.timeout.is_some());
        // The timeout covers compilation too.
        config.max_compile_time(self.timeout);
        if let Some(bytes) = self.max_memory {
            config.max_memory_pages(bytes / 65536);
        }
        let engine = Engine::new(&config)?;
        let module = self.load_timed(&engine, self.module_path())?;

        let mut linker: Linker<Host> = Linker::new(&engine);
        wasm_jit_wasi::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi)?;
        if wasi_options.preview0 {
            wasm_jit_wasi::add_preview0_to_linker(&mut linker, |h: &mut Host| &mut h.wasi)?;
        }
        let host = Host {
            wasi: self.wasi_ctx(&wasi_options, watchdog.as_ref().and_then(|w| w.deadline))?,
            limits: std::mem::take(&mut wasi_options.limits).build(),
            threads: None,
        };
        let mut store = Store::new(&engine, host);
        store.limiter(|h| &mut h.limits);
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel)?;
        }
        if let Some(watchdog) = &watchdog {
            store.set_epoch_deadline(1);
            watchdog.running(&engine);
        }

        let result = self.run(
            &engine,
            &module,
            &mut linker,
            &mut store,
            &wasi_options,
            watchdog.as_ref(),
        );
        drop(watchdog);
        // Lazily compiled functions join the cache entry for the next run.
        module.write_cache();
        // The process exits next: unmapping the module's code and freeing
        // its tables would only take time. (The store, which holds the
        // guest's files, is dropped as usual.)
        drop(store);
        std::mem::forget(module);
        match result {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => match e.downcast_ref::<I32Exit>() {
                // The guest's exit status is ours, as a native program's.
                // One a process cannot have is an error rather than
                // truncated as a native exit would be (256 would read as
                // success).
                Some(exit) => exit.process_status().map(ExitCode::from),
                None if e.downcast_ref::<Trap>() == Some(&Trap::Interrupted) => {
                    let t = self.timeout.unwrap_or_default();
                    Err(e.context(format!("the guest ran longer than the timeout of {t:?}")))
                }
                None => Err(e),
            },
        }
    }

    /// wasi-threads, once `linker` defines everything (`thread-spawn` and
    /// the shared memory included): each thread's store is set up as the
    /// first (limits, fuel, timeout) and links with a copy of `linker`.
    fn start_threads(
        &self,
        module: &Module,
        linker: &Linker<Host>,
        store: &mut Store<Host>,
    ) -> Result<()> {
        let (fuel, timeout) = (self.fuel, self.timeout.is_some());
        let threads = WasiThreadsCtx::new(module.clone(), Arc::new(linker.clone()))?
            .with_store_setup(move |store| {
                store.limiter(|h| &mut h.limits);
                if let Some(fuel) = fuel {
                    store.set_fuel(fuel)?;
                }
                if timeout {
                    store.set_epoch_deadline(1);
                }
                Ok(())
            });
        store.data_mut().threads = Some(Arc::new(threads));
        Ok(())
    }

    /// The module's path, as given.
    fn module_path(&self) -> &Path {
        Path::new(&self.module_and_args[0])
    }

    /// The arguments after the module, as given (a `--` among them
    /// included, as Wasmtime passes it: options for `run` go before the
    /// module, and `wasm-jit run -- MODULE ARGS` separates them).
    fn args(&self) -> &[String] {
        &self.module_and_args[1..]
    }

    /// `deadline`: `--timeout`'s, which WASI calls that wait stop at too.
    fn wasi_ctx(
        &self,
        options: &WasiOptions,
        deadline: Option<std::time::Instant>,
    ) -> Result<WasiCtx> {
        // As in Wasmtime: the module's file name, not its whole path.
        let path = self.module_path();
        let name = self.argv0.clone().unwrap_or_else(|| {
            path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        });
        let guest_args = if options.no_args {
            &[][..]
        } else {
            self.args()
        };
        let argv = std::iter::once(name).chain(guest_args.iter().cloned());
        let mut b = WasiCtxBuilder::new();
        b.args(argv);
        let [stdin, stdout, stderr] = options.stdio;
        if stdin {
            b.inherit_stdin();
        }
        if stdout {
            b.inherit_stdout();
        }
        if stderr {
            b.inherit_stderr();
        }
        if let Some(deadline) = deadline {
            b.deadline(deadline);
        }
        if options.inherit_env {
            b.inherit_env();
        }
        for e in &self.envs {
            match e.split_once('=') {
                Some((k, v)) => {
                    b.env(k, v);
                }
                None => {
                    // Not UTF-8: passed with its bad bytes replaced.
                    if let Some(v) = std::env::var_os(e) {
                        b.env(e, v.to_string_lossy());
                    }
                }
            }
        }
        for d in &self.dirs {
            let (host, guest) = d.split_once("::").unwrap_or((d, d));
            b.preopened_dir(host, guest, DirPerms::all(), FilePerms::all())?;
        }
        Ok(b.build())
    }

    /// [`load`], whose compilation past `--timeout` says so.
    fn load_timed(&self, engine: &Engine, path: &Path) -> Result<Module> {
        load(engine, path, self.allow_precompiled).map_err(|e| match self.timeout {
            Some(t) if format!("{e:#}").contains("compilation ran past its deadline") => e.context(
                format!("the module was not ready within the timeout of {t:?}"),
            ),
            _ => e,
        })
    }

    fn run(
        &self,
        engine: &Engine,
        module: &Module,
        linker: &mut Linker<Host>,
        store: &mut Store<Host>,
        wasi_options: &WasiOptions,
        watchdog: Option<&Watchdog>,
    ) -> Result<()> {
        // Each thread instantiates the module in a store of its own, which
        // a preloaded instance (of the first store) cannot join.
        if wasi_options.threads && !self.preloads.is_empty() {
            bail!("--preload cannot be combined with -S threads=y (wasi-threads)");
        }
        for p in &self.preloads {
            let (name, path) = p
                .split_once('=')
                .ok_or_else(|| anyhow!("invalid --preload `{p}`: expected NAME=PATH"))?;
            if let Some(w) = watchdog {
                w.loading();
            }
            let m = self.load_timed(engine, Path::new(path))?;
            if let Some(w) = watchdog {
                w.running(engine);
            }
            let instance = linker
                .instantiate(&mut *store, &m)
                .with_context(|| format!("failed to instantiate `{path}`"))?;
            linker.instance(&mut *store, name, instance)?;
        }
        if wasi_options.threads {
            // `start_threads` puts the context in the store's data before
            // any guest code runs (and spawned threads' data are copies).
            wasm_jit_wasi::threads::add_to_linker(linker, &*store, module, |h: &mut Host| {
                h.threads
                    .as_deref()
                    .expect("the threads context is set before the guest runs")
            })?;
        }
        // After the preloads and threads, which may provide some of them.
        match wasi_options.unknown_imports {
            None => {}
            Some(UnknownImports::Trap) => linker.define_unknown_imports_as_traps(module)?,
            Some(UnknownImports::Default) => {
                linker.define_unknown_imports_as_default_values(module)?
            }
        }
        if wasi_options.threads {
            // With every definition in place: each thread links with a copy.
            self.start_threads(module, linker, store)?;
        }
        let name = self.module_path().display();
        let instance = linker
            .instantiate(&mut *store, module)
            .map_err(|e| {
                let spawns = module
                    .imports()
                    .any(|i| i.module() == "wasi" && i.name() == "thread-spawn");
                if spawns && !wasi_options.threads {
                    e.context("the module uses wasi-threads: run it with `-S threads=y`")
                } else {
                    e
                }
            })
            .with_context(|| format!("failed to instantiate `{name}`"))?;
        match &self.invoke {
            Some(export) => {
                if let Some(init) = instance.get_func(&mut *store, "_initialize") {
                    init.call(&mut *store, &[], &mut [])
                        .context("failed to run `_initialize`")?;
                }
                let func = instance
                    .get_func(&mut *store, export)
                    .ok_or_else(|| anyhow!("`{name}` has no exported function named `{export}`"))?;
                invoke(store, func, export, self.args())
            }
            None => match instance.get_func(&mut *store, "_start") {
                Some(start) => {
                    let ty = start.ty(&*store);
                    if ty.params().len() == 0 && ty.results().len() == 0 {
                        // A command: WASI's `_start` takes and returns
                        // nothing.
                        start
                            .call(&mut *store, &[], &mut [])
                            .with_context(|| format!("failed to run `{name}`"))
                    } else {
                        // Any other `_start` is called as `--invoke _start`
                        // would (the arguments parsed as its parameters,
                        // its results printed), as Wasmtime does.
                        invoke(store, start, "_start", self.args())
                    }
                }
                // A reactor (or a plain module): initialised, nothing more.
                None => match instance.get_func(&mut *store, "_initialize") {
                    Some(init) => init
                        .call(&mut *store, &[], &mut [])
                        .context("failed to run `_initialize`"),
                    None => Ok(()),
                },
            },
        }
    }
}

/// `--timeout` for the whole run, counted from when `run` starts (reading
/// and compiling the module included): at the deadline it interrupts the
/// guest (an epoch tick, again every few milliseconds, for stores made
/// later), and if the run has not ended [`Watchdog::GRACE`] later
/// (compiling a large function, which nothing interrupts, or in a host
/// call that does not return), it ends the process with the error the run
/// would give. Dropping it (every way out of `execute`) disarms it.
struct Watchdog {
    state: Arc<WatchState>,
    /// The deadline (`None`: past any representable time).
    deadline: Option<std::time::Instant>,
}

struct WatchState {
    /// One of [`Watchdog::LOADING`], [`Watchdog::RUNNING`],
    /// [`Watchdog::DONE`] or [`Watchdog::EXITING`] (the watchdog ends the
    /// process: the main thread waits for that rather than report too).
    phase: std::sync::atomic::AtomicU8,
    /// The engine whose epoch stops the guest, once there is a guest.
    engine: std::sync::OnceLock<Engine>,
}

impl Watchdog {
    const LOADING: u8 = 0;
    const RUNNING: u8 = 1;
    const DONE: u8 = 2;
    const EXITING: u8 = 3;
    /// How long a run may take to stop once interrupted.
    const GRACE: Duration = Duration::from_millis(250);
    /// How long the watchdog waits for its message to be written (standard
    /// error may be a full pipe, or locked by a guest's blocked write).
    const REPORT_WAIT: Duration = Duration::from_millis(50);

    fn start(timeout: Duration) -> Result<Watchdog> {
        use std::sync::atomic::Ordering;
        let state = Arc::new(WatchState {
            phase: Watchdog::LOADING.into(),
            engine: std::sync::OnceLock::new(),
        });
        let deadline = std::time::Instant::now().checked_add(timeout);
        let watched = state.clone();
        let watch = move || {
            // A timeout past any representable time never comes.
            let Some(deadline) = deadline else { return };
            std::thread::sleep(deadline.saturating_duration_since(std::time::Instant::now()));
            let give_up = std::time::Instant::now() + Watchdog::GRACE;
            loop {
                if watched.phase.load(Ordering::Acquire) == Watchdog::DONE {
                    return;
                }
                if let Some(engine) = watched.engine.get() {
                    engine.increment_epoch();
                }
                if std::time::Instant::now() >= give_up {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            // Claimed, so that the main thread does not report as well.
            let phase = loop {
                let phase = watched.phase.load(Ordering::Acquire);
                if phase == Watchdog::DONE {
                    return;
                }
                if watched
                    .phase
                    .compare_exchange(
                        phase,
                        Watchdog::EXITING,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok()
                {
                    break phase;
                }
            };
            let (what, status) = if phase == Watchdog::RUNNING {
                (
                    anyhow!(
                        "it did not stop within {:?} of being interrupted (it was compiling a \
                         function it called, or in a host call that does not return)",
                        Watchdog::GRACE
                    )
                    .context(format!(
                        "the guest ran longer than the timeout of {timeout:?}"
                    )),
                    crate::TRAP_EXIT,
                )
            } else {
                (
                    anyhow!(
                        "still reading or compiling it (nothing interrupts the compilation of \
                         a single function)"
                    )
                    .context(format!(
                        "the module was not ready within the timeout of {timeout:?}"
                    )),
                    1,
                )
            };
            // Written by another thread, waited for a while only: a write
            // to standard error may block.
            let report = crate::report(&what);
            let (tx, rx) = std::sync::mpsc::channel();
            let _ = std::thread::Builder::new().spawn(move || {
                eprintln!("{report}");
                let _ = tx.send(());
            });
            let _ = rx.recv_timeout(Watchdog::REPORT_WAIT);
            std::process::exit(status.into());
        };
        std::thread::Builder::new()
            .name("wasm-jit-timeout".into())
            .spawn(watch)
            .context("cannot start the thread that keeps --timeout")?;
        Ok(Watchdog { state, deadline })
    }

    /// Moves to `phase`, unless the watchdog is ending the process, which
    /// this thread then leaves it to.
    fn enter(&self, phase: u8) {
        use std::sync::atomic::Ordering;
        loop {
            let now = self.state.phase.load(Ordering::Acquire);
            if now == Watchdog::EXITING {
                loop {
                    std::thread::park();
                }
            }
            if now == Watchdog::DONE
                || self
                    .state
                    .phase
                    .compare_exchange(now, phase, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                return;
            }
        }
    }

    /// The guest is about to run in a store of `engine`.
    fn running(&self, engine: &Engine) {
        let _ = self.state.engine.set(engine.clone());
        self.enter(Watchdog::RUNNING);
    }

    /// Another module is read and compiled (a `--preload`), after which
    /// the guest runs again.
    fn loading(&self) {
        self.enter(Watchdog::LOADING);
    }
}

impl Drop for Watchdog {
    /// The run has ended: nothing is stopped from now on.
    fn drop(&mut self) {
        self.enter(Watchdog::DONE);
    }
}

fn load(engine: &Engine, path: &Path, allow_precompiled: bool) -> Result<Module> {
    let name = path.display();
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .context("cannot read the module from standard input")?;
        if Module::is_serialized(&bytes) {
            if !allow_precompiled {
                bail!(
                    "standard input holds a precompiled module: pass --allow-precompiled to run it (its machine code runs as is, so only for files you trust)"
                );
            }
            // SAFETY: the user vouched for the input with --allow-precompiled.
            return unsafe { Module::deserialize(engine, &bytes) }
                .context("failed to load the module from standard input");
        }
        return Module::new(engine, &bytes)
            .context("failed to compile the module from standard input");
    }
    // The first bytes tell an artifact (mapped when it is a regular file)
    // from Wasm, read from the same handle (the path may be a pipe).
    let mut file = std::fs::File::open(path).with_context(|| {
        // A Wasmtime subcommand we do not have reads as a module name.
        let word = path
            .to_str()
            .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        match word {
            Some(w) => format!(
                "cannot read `{w}` (wasm-jit's subcommands are run, compile and wast; \
                 anything else is the module to run)"
            ),
            None => format!("cannot read `{name}`"),
        }
    })?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, 64), &mut bytes)
        .with_context(|| format!("cannot read `{name}`"))?;
    if Module::is_serialized(&bytes) {
        if !allow_precompiled {
            bail!(
                "`{name}` is a precompiled module: pass --allow-precompiled to run it (its machine code runs as is, so only for files you trust)"
            );
        }
        if file.metadata().is_ok_and(|m| m.is_file()) {
            // The handle whose first bytes were read, mapped: the path is
            // not opened again.
            // SAFETY: the user vouched for the file with --allow-precompiled.
            return unsafe { Module::deserialize_open_file(engine, file) }
                .with_context(|| format!("failed to load `{name}`"));
        }
        std::io::Read::read_to_end(&mut file, &mut bytes)
            .with_context(|| format!("cannot read `{name}`"))?;
        // SAFETY: the user vouched for the file with --allow-precompiled.
        return unsafe { Module::deserialize(engine, &bytes) }
            .with_context(|| format!("failed to load `{name}`"));
    }
    std::io::Read::read_to_end(&mut file, &mut bytes)
        .with_context(|| format!("cannot read `{name}`"))?;
    let short = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Module::new_with_name(engine, &bytes, short.as_deref())
        .with_context(|| format!("failed to compile `{name}`"))
}

fn invoke(store: &mut Store<Host>, func: Func, export: &str, args: &[String]) -> Result<()> {
    let ty = func.ty(&*store);
    if args.len() != ty.params().len() {
        bail!(
            "`{export}` expects {} arguments, got {}",
            ty.params().len(),
            args.len()
        );
    }
    let params = ty
        .params()
        .zip(args)
        .map(|(t, a)| {
            parse_arg(t, a).with_context(|| format!("invalid argument `{a}` for a {t} parameter"))
        })
        .collect::<Result<Vec<Val>>>()?;
    let mut results: Vec<Val> = ty.results().map(Val::default_for).collect();
    func.call(&mut *store, &params, &mut results)
        .with_context(|| format!("failed to invoke `{export}`"))?;
    // A closed or full standard output is an error, not a panic.
    let mut out = std::io::stdout().lock();
    for r in &results {
        writeln!(out, "{}", format_val(r)).context("cannot write the results")?;
    }
    out.flush().context("cannot write the results")
}

fn parse_arg(ty: ValType, s: &str) -> Result<Val> {
    Ok(match ty {
        ValType::I32 => Val::I32(parse_int(s, 32)? as i32),
        ValType::I64 => Val::I64(parse_int(s, 64)? as i64),
        ValType::F32 => Val::F32(s.parse::<f32>()?.to_bits()),
        ValType::F64 => Val::F64(s.parse::<f64>()?.to_bits()),
        ValType::V128 => Val::V128(parse_v128(s)?),
        other => bail!("arguments of type {other} cannot be given on the command line"),
    })
}

/// An integer argument of `bits` bits: decimal or `0x` hexadecimal, signed
/// or unsigned (`-1` and `4294967295` are the same `i32`), as its two's
/// complement bits.
fn parse_int(s: &str, bits: u32) -> Result<u64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16)?,
        None => digits.parse::<u64>()?,
    };
    let max = u64::MAX >> (64 - bits);
    let ok = if negative {
        magnitude <= 1 << (bits - 1)
    } else {
        magnitude <= max
    };
    if !ok {
        bail!("`{s}` does not fit in {bits} bits");
    }
    let v = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    Ok(v & max)
}

/// A `v128` argument: a decimal `u128` whose low bits are lane 0 (as
/// results are printed), or `0x` and up to 32 hexadecimal digits.
fn parse_v128(s: &str) -> Result<u128> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u128::from_str_radix(&hex.replace('_', ""), 16),
        None => s.parse::<u128>(),
    };
    v.map_err(|e| {
        anyhow::anyhow!("`{s}` is not a v128 (a decimal u128, or 0x and up to 32 hex digits): {e}")
    })
}

fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => f32::from_bits(*b).to_string(),
        Val::F64(b) => f64::from_bits(*b).to_string(),
        // As Wasmtime prints them: a v128 as its decimal `u128` (lane 0
        // in the low bits), a null reference with its type.
        Val::V128(x) => x.to_string(),
        Val::FuncRef(None) => "<null funcref>".to_string(),
        Val::ExternRef(None) => "<null externref>".to_string(),
        Val::AnyRef(None) => "<null anyref>".to_string(),
        Val::ExnRef(None) => "<null exnref>".to_string(),
        Val::AnyRef(Some(_)) => "<anyref>".to_string(),
        Val::ExnRef(Some(_)) => "<exnref>".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(Some(_)) => "<externref>".to_string(),
    }
}
