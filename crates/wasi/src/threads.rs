//! wasi-threads: `wasi::thread-spawn`, as Wasmtime's `wasmtime-wasi-threads`
//! provides it.
//!
//! A threaded program (`wasm32-wasip1-threads`) imports a shared memory
//! and `thread-spawn`, and exports `wasi_thread_start(tid, start_arg)`.
//! Each spawned thread gets a store of its own, with a clone of the
//! spawning store's data (whose [`WasiCtx`](crate::WasiCtx) clones share
//! their descriptors), and a new instance of the same module through the
//! same linker, so with the same shared memory; it then runs
//! `wasi_thread_start`. As wasi-threads specifies, a thread that exits or
//! fails ends the whole process: `proc_exit(n)` exits with `n`, a trap with
//! status 134 after printing it (as the CLI does for the main thread), any
//! other error (or a panic) with status 1. Each thread's store has its own
//! limits and fuel (a clone of the data, and what the store setup gives
//! it), so `n` threads may use `n` times what one store may.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use anyhow::{Result, bail};
use wasm_jit::{
    AsContext, Caller, ExternType, FuncType, Linker, Module, SharedMemory, Store, Trap, Val,
    ValType,
};

use crate::I32Exit;

/// The largest thread id wasi-threads allows (ids are 1 to 2^29 - 1).
const MAX_TID: i32 = 0x1FFF_FFFF;

/// Threads a program may have running at once by default (each has a
/// store, an instance and a native stack): past it, `thread-spawn` fails.
pub const DEFAULT_MAX_THREADS: usize = 1024;

/// Prepares a new thread's store before it instantiates the module.
pub type StoreSetup<T> = Arc<dyn Fn(&mut Store<T>) -> Result<()> + Send + Sync>;

/// What `thread-spawn` needs: the module to instantiate in each new thread
/// and the linker to instantiate it with.
pub struct WasiThreadsCtx<T: 'static> {
    module: Module,
    linker: Arc<Linker<T>>,
    setup: Option<StoreSetup<T>>,
    next_tid: AtomicI32,
    /// Threads running now, and how many may.
    live: Arc<AtomicUsize>,
    max_threads: usize,
}

impl<T: 'static> std::fmt::Debug for WasiThreadsCtx<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiThreadsCtx")
            .field("next_tid", &self.next_tid)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Send + 'static> WasiThreadsCtx<T> {
    /// Threads of `module`, instantiated with `linker` (which must define
    /// everything the module imports, `thread-spawn` and its shared memory
    /// included). Spawning fails (-1) unless the module exports
    /// `wasi_thread_start(i32, i32)`, as in Wasmtime: a module that never
    /// spawns need not.
    pub fn new(module: Module, linker: Arc<Linker<T>>) -> Result<Self> {
        Ok(WasiThreadsCtx {
            module,
            linker,
            setup: None,
            next_tid: AtomicI32::new(1),
            live: Arc::new(AtomicUsize::new(0)),
            max_threads: DEFAULT_MAX_THREADS,
        })
    }

    /// Runs `setup` on each new thread's store before the module is
    /// instantiated in it: to install a limiter, give it fuel or an epoch
    /// deadline, as the first store had.
    pub fn with_store_setup(
        mut self,
        setup: impl Fn(&mut Store<T>) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.setup = Some(Arc::new(setup));
        self
    }

    /// At most `n` threads running at once (default
    /// [`DEFAULT_MAX_THREADS`]); `thread-spawn` fails past it.
    pub fn with_max_threads(mut self, n: usize) -> Self {
        self.max_threads = n;
        self
    }

    /// Starts a thread running `wasi_thread_start(tid, start_arg)` with a
    /// store whose data is `host`: its id, or `Err` when no thread could be
    /// started.
    pub fn spawn(&self, host: T, start_arg: i32) -> Result<i32> {
        let start = self
            .module
            .exports()
            .find(|e| e.name() == "wasi_thread_start")
            .map(|e| e.ty());
        let expected = FuncType::new(self.module.engine(), [ValType::I32, ValType::I32], []);
        match start {
            Some(ExternType::Func(ty)) if ty == expected => {}
            Some(_) => bail!("`wasi_thread_start` must be a function of type (i32, i32) -> ()"),
            None => bail!("a module using wasi-threads must export `wasi_thread_start`"),
        }
        // Ids stop at the last one wasi-threads allows.
        let tid = self
            .next_tid
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                (t <= MAX_TID).then_some(t + 1)
            })
            .map_err(|_| anyhow::anyhow!("no thread ids left"))?;
        let max = self.max_threads;
        if self
            .live
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .is_err()
        {
            bail!("{max} threads are running already");
        }
        let live = Running(self.live.clone());
        let (module, linker, setup) =
            (self.module.clone(), self.linker.clone(), self.setup.clone());
        std::thread::Builder::new()
            .name(format!("wasi-thread-{tid}"))
            .spawn(move || {
                let _live = live;
                let run = || -> Result<()> {
                    let mut store = Store::new(module.engine(), host);
                    if let Some(setup) = &setup {
                        setup(&mut store)?;
                    }
                    let instance = linker.instantiate(&mut store, &module)?;
                    instance
                        .get_typed_func::<(i32, i32), ()>(&mut store, "wasi_thread_start")?
                        .call(&mut store, (tid, start_arg))
                };
                // A panic (in a host function, say) would end this thread
                // only, leaving others waiting for it: it ends the process.
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => end_process(e),
                    Err(_) => std::process::exit(1),
                }
            })?;
        Ok(tid)
    }
}

/// A running thread, counted until it ends.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Ends the process for a thread that exited or failed, as the CLI ends
/// it for the main thread: the exit status (one a process can have), or
/// the error printed and status 134 for a trap, 1 otherwise.
fn end_process(e: anyhow::Error) -> ! {
    match e.downcast_ref::<I32Exit>().map(I32Exit::process_status) {
        Some(Ok(status)) => std::process::exit(status.into()),
        Some(Err(e)) => {
            eprintln!("Error: {e}");
            std::process::exit(1)
        }
        None => {
            let mut message = format!("Error: {e}");
            for cause in e.chain().skip(1) {
                message.push_str(&format!("\n    {cause}"));
            }
            eprintln!("{message}");
            std::process::exit(if e.downcast_ref::<Trap>().is_some() {
                134
            } else {
                1
            })
        }
    }
}

/// Defines `wasi::thread-spawn` in `linker`, and, for each shared memory
/// `module` imports, a new [`SharedMemory`] of that type (as Wasmtime's
/// `wasmtime_wasi_threads::add_to_linker` does; `store` names the store
/// the definitions are for). `get` finds the [`WasiThreadsCtx`] in a
/// store's data, as Wasmtime's closure does (typically
/// `|host| host.threads.as_ref().unwrap()`: the context needs the linker, so
/// it is put in the store's data after this call, before the guest runs;
/// if `get` panics, the panic resumes in the embedder's call into Wasm).
pub fn add_to_linker<T: Clone + Send + 'static>(
    linker: &mut Linker<T>,
    store: impl AsContext<Data = T>,
    module: &Module,
    get: impl Fn(&mut T) -> &WasiThreadsCtx<T> + Send + Sync + Copy + 'static,
) -> Result<()> {
    let ty = FuncType::new(linker.engine(), [ValType::I32], [ValType::I32]);
    linker.func_new(
        "wasi",
        "thread-spawn",
        ty,
        move |mut caller: Caller<'_, T>, args, results| {
            let start_arg = args[0].i32().unwrap_or_default();
            let host = caller.data().clone();
            let tid = get(caller.data_mut()).spawn(host, start_arg).unwrap_or(-1);
            results[0] = Val::I32(tid);
            Ok(())
        },
    )?;
    for import in module.imports() {
        if let ExternType::Memory(ty) = import.ty() {
            if !ty.is_shared() {
                bail!(
                    "a module using wasi-threads must import a shared memory: `{}::{}` is not shared",
                    import.module(),
                    import.name()
                );
            }
            let memory = SharedMemory::new(module.engine(), ty)?;
            linker.define(&store, import.module(), import.name(), memory)?;
        }
    }
    Ok(())
}
