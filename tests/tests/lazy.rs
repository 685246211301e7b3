//! Lazy compilation (`CompilationMode::Lazy`): functions compiled on first
//! call, each exactly once however many threads call it first; traps and
//! backtraces in lazily compiled code; artifacts and the code cache keep
//! what was compiled. (The whole spec testsuite also runs lazily, in
//! `spec.rs`, and must give what eager compilation gives.)

use std::sync::{Arc, Barrier};

use wasm_jit::{CompilationMode, Config, Engine, FirstTier, Linker, Module, Store, Trap};

const WAT: &str = r#"(module $m
  (type $t (func (param i64) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) $fib $boom)
  (func $fib (export "fib") (param i64) (result i64)
    (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
      (then (local.get 0))
      (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                     (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
  (func $boom (param i64) (result i64) unreachable)
  (func $via_table (export "via_table") (param i64 i32) (result i64)
    (call_indirect (type $t) (local.get 0) (local.get 1)))
  (func $tail (export "tail") (param i64) (result i64)
    (return_call $fib (local.get 0)))
  (func $unused (export "unused") (result i32) (i32.const 7)))"#;

fn lazy_engine(background: bool, cache: Option<std::path::PathBuf>) -> Engine {
    let mut config = Config::new();
    config
        .compilation_mode(CompilationMode::Lazy)
        .background_compilation(background)
        .cache_dir(cache);
    Engine::new(&config).unwrap()
}

/// `config` with lazy compilation by the quick first tier, whose code
/// stays: no background threads replace it.
fn quick_kept(config: &mut Config) -> &mut Config {
    config
        .compilation_mode(CompilationMode::Lazy)
        .background_compilation(false)
        .first_tier(FirstTier::Quick)
        .quick_tier_always(true)
}

/// Whether this host has an idle core for background compilation (and so
/// for the final tier).
fn background_threads() -> bool {
    std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2
}

/// Waits (at most a minute) until background compilation has placed the
/// final tier of `module`.
fn wait_for_final_tier(module: &Module) {
    let start = std::time::Instant::now();
    while !module.final_tier_placed() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "background compilation did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Export `name` (i64 -> i64) of a fresh instance of `module`, called with 10.
fn call_with_10(engine: &Engine, module: &Module, name: &str) -> i64 {
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine).instantiate(&mut store, module).unwrap();
    let f = instance
        .get_typed_func::<i64, i64>(&mut store, name)
        .unwrap();
    f.call(&mut store, 10).unwrap()
}

/// An empty directory for a test's code cache, named after `name` and
/// this process.
fn fresh_cache_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wasm-jit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The one entry of the code cache in `dir`.
fn only_entry(dir: &std::path::Path) -> std::path::PathBuf {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().unwrap()
}

/// Makes `dir` a code cache whose entry for `WAT` holds only `fib`, saved
/// by a short run (the next load compiles ahead only after its delay).
fn cache_only_fib(dir: &std::path::Path) {
    let _ = std::fs::remove_dir_all(dir);
    let mut config = Config::new();
    config
        .compilation_mode(CompilationMode::Lazy)
        .background_compilation(false)
        .background_delay(std::time::Duration::MAX)
        .cache_dir(Some(dir.to_path_buf()));
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    assert_eq!(call_with_10(&engine, &module, "fib"), 55);
    // Written when the module drops.
}

#[test]
fn functions_are_compiled_on_first_call_only() {
    let engine = lazy_engine(false, None);
    let module = Module::new(&engine, WAT).unwrap();
    assert_eq!(module.compiled_function_count(), 0);
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let fib = instance
        .get_typed_func::<i64, i64>(&mut store, "fib")
        .unwrap();
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
    assert_eq!(module.compiled_function_count(), 1);
    // Through a table (the `VMFuncRef` starts without code), and a tail
    // call to a function already compiled.
    let via_table = instance
        .get_typed_func::<(i64, i32), i64>(&mut store, "via_table")
        .unwrap();
    assert_eq!(via_table.call(&mut store, (10, 0)).unwrap(), 55);
    let tail = instance
        .get_typed_func::<i64, i64>(&mut store, "tail")
        .unwrap();
    assert_eq!(tail.call(&mut store, 15).unwrap(), 610);
    assert_eq!(module.compiled_function_count(), 3);
    // A trap in a function compiled on first call, with its frames named.
    let err = via_table.call(&mut store, (1, 1)).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Unreachable));
    let msg = format!("{err:?}");
    assert!(msg.contains("boom") && msg.contains("via_table"), "{msg}");
    assert_eq!(module.compiled_function_count(), 4);
    // `unused` was never called, so never compiled.
}

#[test]
fn a_function_first_called_from_two_threads_is_compiled_once() {
    let engine = lazy_engine(false, None);
    let module = Module::new(&engine, WAT).unwrap();
    let threads = 4;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|k| {
            let (engine, module, barrier) = (engine.clone(), module.clone(), barrier.clone());
            // Threads with little stack hand the compilation to the compile
            // threads; the others compile on their own stack.
            let stack = if k % 2 == 0 { 256 << 10 } else { 8 << 20 };
            std::thread::Builder::new()
                .stack_size(stack)
                .spawn(move || {
                    let mut store = Store::new(&engine, ());
                    let instance = Linker::new(&engine)
                        .instantiate(&mut store, &module)
                        .unwrap();
                    let fib = instance
                        .get_typed_func::<i64, i64>(&mut store, "fib")
                        .unwrap();
                    barrier.wait();
                    fib.call(&mut store, 25).unwrap()
                })
                .unwrap()
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 75025);
    }
    assert_eq!(module.compiled_function_count(), 1);

    // Only small stacks: the compile threads compile, callers wait.
    let module = Module::new(&engine, WAT).unwrap();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::Builder::new()
                .stack_size(256 << 10)
                .spawn(move || {
                    let mut store = Store::new(&engine, ());
                    let instance = Linker::new(&engine)
                        .instantiate(&mut store, &module)
                        .unwrap();
                    let f = instance
                        .get_typed_func::<(i64, i32), i64>(&mut store, "via_table")
                        .unwrap();
                    f.call(&mut store, (15, 0)).unwrap()
                })
                .unwrap()
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 610);
    }
    assert_eq!(module.compiled_function_count(), 2);
}

#[test]
fn background_compilation_compiles_everything_once() {
    let engine = lazy_engine(true, None);
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let fib = instance
        .get_typed_func::<i64, i64>(&mut store, "fib")
        .unwrap();
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
    // Serializing waits for (or does) the rest; nothing is compiled twice.
    let bytes = module.serialize().unwrap();
    assert_eq!(module.compiled_function_count(), 5);
    // SAFETY: the artifact was just written by this engine.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &loaded)
        .unwrap();
    let via_table = instance
        .get_typed_func::<(i64, i32), i64>(&mut store, "via_table")
        .unwrap();
    assert_eq!(via_table.call(&mut store, (12, 0)).unwrap(), 144);
    assert_eq!(loaded.compiled_function_count(), 0);
}

#[test]
fn the_final_tier_runs_and_traps_like_the_first() {
    let engine = lazy_engine(true, None);
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let via_table = instance
        .get_typed_func::<(i64, i32), i64>(&mut store, "via_table")
        .unwrap();
    let tail = instance
        .get_typed_func::<i64, i64>(&mut store, "tail")
        .unwrap();
    if !background_threads() {
        assert_eq!(tail.call(&mut store, 20).unwrap(), 6765);
        assert!(!module.final_tier_placed());
        return;
    }
    wait_for_final_tier(&module);
    // Calls now reach the final tier's code through the slots (the table
    // still holds the first tier's, which calls through the slots too).
    assert_eq!(tail.call(&mut store, 20).unwrap(), 6765);
    assert_eq!(via_table.call(&mut store, (20, 0)).unwrap(), 6765);
    let err = via_table.call(&mut store, (1, 1)).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Unreachable));
    // A fresh instance's `VMFuncRef`s start with the final tier's code.
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let via_table = instance
        .get_typed_func::<(i64, i32), i64>(&mut store, "via_table")
        .unwrap();
    let err = via_table.call(&mut store, (1, 1)).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Unreachable));
    let msg = format!("{err:?}");
    assert!(msg.contains("boom") && msg.contains("via_table"), "{msg}");
    assert_eq!(via_table.call(&mut store, (21, 0)).unwrap(), 10946);
}

#[test]
fn quick_first_tier_code_is_replaced_and_never_saved() {
    let mut config = Config::new();
    config
        .compilation_mode(CompilationMode::Lazy)
        .first_tier(FirstTier::Quick);
    let engine = Engine::new(&config).unwrap();
    // Background threads may compile `fib` before its first call: a fresh
    // module until the first call needed it (and so had it compiled
    // quickly).
    let mut attempts = 0;
    let (module, mut store, fib, via_table) = loop {
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let fib = instance
            .get_typed_func::<i64, i64>(&mut store, "fib")
            .unwrap();
        let via_table = instance
            .get_typed_func::<(i64, i32), i64>(&mut store, "via_table")
            .unwrap();
        assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
        assert_eq!(via_table.call(&mut store, (12, 0)).unwrap(), 144);
        let err = via_table.call(&mut store, (1, 1)).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Unreachable));
        if !background_threads() {
            // Nothing would replace quick code: there is none.
            assert_eq!(module.quick_function_count(), 0);
            return;
        }
        if module.quick_function_count() > 0 {
            break (module, store, fib, via_table);
        }
        attempts += 1;
        assert!(attempts < 100, "no function was ever compiled quickly");
    };
    wait_for_final_tier(&module);
    // Replaced code is not counted again, and answers the same.
    assert_eq!(module.compiled_function_count(), 5);
    assert_eq!(fib.call(&mut store, 21).unwrap(), 10946);
    assert_eq!(via_table.call(&mut store, (13, 0)).unwrap(), 233);
    let err = via_table.call(&mut store, (1, 1)).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Unreachable));
    // The artifact holds optimised code for every function.
    let bytes = module.serialize().unwrap();
    // SAFETY: the artifact was just written by this engine.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    assert_eq!(call_with_10(&engine, &loaded, "fib"), 55);
    assert_eq!(loaded.compiled_function_count(), 0);
}

#[test]
fn the_cache_saves_the_final_tier_as_eager_code() {
    if !background_threads() {
        return;
    }
    let dir = fresh_cache_dir("final-cache");
    let engine = lazy_engine(true, Some(dir.clone()));
    let module = Module::new(&engine, WAT).unwrap();
    wait_for_final_tier(&module);
    module.write_cache();
    drop(module);
    // Loaded from the cache: every function is there at once, as eager
    // code (nothing left to compile, no final tier to come).
    let module = Module::new(&engine, WAT).unwrap();
    assert_eq!(module.compiled_function_count(), 5);
    assert!(!module.final_tier_placed());
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let via_table = instance
        .get_typed_func::<(i64, i32), i64>(&mut store, "via_table")
        .unwrap();
    assert_eq!(via_table.call(&mut store, (20, 0)).unwrap(), 6765);
    let err = via_table.call(&mut store, (1, 1)).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Unreachable));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A module calling a host function (so a defined function's index is one
/// more than its defined index) whose `main` calls two levels deep:
/// `main(10)` is `twice(fib(10) + one())`, 112.
const CALLS_HOST: &str = r#"(module
  (import "host" "twice" (func $twice (param i64) (result i64)))
  (func $fib (param i64) (result i64)
    (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
      (then (local.get 0))
      (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                     (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
  (func $main (export "main") (param i64) (result i64)
    (call $twice (call $sum (call $fib (local.get 0)))))
  (func $sum (param i64) (result i64) (i64.add (local.get 0) (call $one)))
  (func $one (result i64) (i64.const 1)))"#;

/// `main(10)` of a fresh instance of `CALLS_HOST`'s `module`.
fn call_main(engine: &Engine, module: &Module) -> i64 {
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    linker.func_wrap("host", "twice", |x: i64| x * 2).unwrap();
    let instance = linker.instantiate(&mut store, module).unwrap();
    let main = instance
        .get_typed_func::<i64, i64>(&mut store, "main")
        .unwrap();
    main.call(&mut store, 10).unwrap()
}

/// Background compilation's final tier reaches the code cache function by
/// function: an entry holding final-tier code for some functions (direct
/// calls) and first-tier code for the rest loads, runs, leaves out
/// final-tier code whose callees it lacks, and converges on eager code.
#[test]
fn an_entry_with_part_of_the_final_tier_loads_and_converges() {
    use wasm_jit_backend::artifact;
    if !background_threads() {
        return;
    }
    let dir = fresh_cache_dir("part-final");
    let entry_bytes = || {
        let entry = only_entry(&dir);
        (std::fs::read(&entry).unwrap(), entry)
    };
    let first_tier = lazy_engine(false, Some(dir.clone()));
    let background = lazy_engine(true, Some(dir.clone()));
    // First-tier code of every function, then final-tier code of every
    // function (saved as eager code).
    let module = Module::new(&first_tier, CALLS_HOST).unwrap();
    assert_eq!(call_main(&first_tier, &module), 112);
    assert_eq!(module.compiled_function_count(), 4);
    drop(module);
    let (first_bytes, entry) = entry_bytes();
    let module = Module::new(&background, CALLS_HOST).unwrap();
    wait_for_final_tier(&module);
    drop(module);
    let (final_bytes, _) = entry_bytes();
    // The fingerprint follows the magic, as a length and the bytes.
    let len = u32::from_le_bytes(first_bytes[16..20].try_into().unwrap()) as usize;
    let fingerprint = std::str::from_utf8(&first_bytes[20..20 + len]).unwrap();
    let first = artifact::deserialize(&first_bytes, fingerprint).unwrap();
    let last = artifact::deserialize(&final_bytes, fingerprint).unwrap();
    let tiers = |a: &artifact::Artifact| -> Vec<Option<bool>> {
        a.functions
            .iter()
            .map(|f| f.as_ref().map(|f| f.final_tier))
            .collect()
    };
    assert!(first.lazy && !last.lazy);
    assert_eq!(tiers(&first), [Some(false); 4]);
    assert_eq!(tiers(&last), [Some(true); 4]);
    // Defined functions: 0 fib, 1 main, 2 sum, 3 one.
    let mixed = |finals: &[usize], absent: &[usize]| {
        let functions: Vec<_> = (0..4)
            .map(|i| match (finals.contains(&i), absent.contains(&i)) {
                (_, true) => None,
                (true, false) => last.functions[i].clone(),
                (false, false) => first.functions[i].clone(),
            })
            .collect();
        let bytes = artifact::serialize(
            fingerprint,
            first.wasm,
            true,
            false,
            &functions,
            &first.trampolines,
        )
        .unwrap();
        std::fs::write(&entry, bytes).unwrap();
    };
    // `main` and `sum` call first-tier `fib` and `one` directly.
    mixed(&[1, 2], &[]);
    let module = Module::new(&first_tier, CALLS_HOST).unwrap();
    assert_eq!(call_main(&first_tier, &module), 112);
    assert_eq!(module.compiled_function_count(), 0, "all of it loaded");
    drop(module);
    // Without `one`, `sum` (which calls it) is left out, and so is `main`
    // (which calls `sum`): all three are compiled, and saved.
    mixed(&[1, 2], &[3]);
    let module = Module::new(&first_tier, CALLS_HOST).unwrap();
    assert_eq!(call_main(&first_tier, &module), 112);
    assert_eq!(module.compiled_function_count(), 3);
    drop(module);
    let (bytes, _) = entry_bytes();
    let saved = artifact::deserialize(&bytes, fingerprint).unwrap();
    assert_eq!(tiers(&saved), [Some(false); 4]);
    // Background compilation completes the final tier from the part
    // loaded, and the entry becomes eager code.
    mixed(&[1, 2], &[]);
    let module = Module::new(&background, CALLS_HOST).unwrap();
    assert_eq!(call_main(&background, &module), 112);
    wait_for_final_tier(&module);
    assert_eq!(call_main(&background, &module), 112);
    drop(module);
    let (bytes, _) = entry_bytes();
    let converged = artifact::deserialize(&bytes, fingerprint).unwrap();
    assert!(!converged.lazy);
    assert_eq!(tiers(&converged), [Some(true); 4]);
    let module = Module::new(&first_tier, CALLS_HOST).unwrap();
    assert_eq!(call_main(&first_tier, &module), 112);
    assert!(
        !module.final_tier_placed(),
        "eager code: no final tier to come"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cache_keeps_the_functions_compiled_so_far() {
    let dir = fresh_cache_dir("lazy-cache");
    {
        let engine = lazy_engine(false, Some(dir.clone()));
        let module = Module::new(&engine, WAT).unwrap();
        assert_eq!(call_with_10(&engine, &module, "fib"), 55);
        assert_eq!(module.compiled_function_count(), 1);
        // Written when the module drops.
    }
    {
        let engine = lazy_engine(false, Some(dir.clone()));
        let module = Module::new(&engine, WAT).unwrap();
        assert_eq!(call_with_10(&engine, &module, "fib"), 55);
        assert_eq!(
            module.compiled_function_count(),
            0,
            "fib came from the cache"
        );
        assert_eq!(call_with_10(&engine, &module, "tail"), 55);
        assert_eq!(module.compiled_function_count(), 1);
        module.write_cache();
    }
    let engine = lazy_engine(false, Some(dir.clone()));
    let module = Module::new(&engine, WAT).unwrap();
    assert_eq!(call_with_10(&engine, &module, "tail"), 55);
    assert_eq!(
        module.compiled_function_count(),
        0,
        "both came from the cache"
    );
    // A damaged entry is ignored and rewritten.
    drop(module);
    let entry = only_entry(&dir);
    let mut bytes = std::fs::read(&entry).unwrap();
    let len = bytes.len();
    bytes.truncate(len - 20);
    std::fs::write(&entry, &bytes).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    assert_eq!(call_with_10(&engine, &module, "tail"), 55);
    assert_eq!(module.compiled_function_count(), 2);
    module.write_cache();
    assert!(std::fs::read(&entry).unwrap().len() > len - 20);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A module loaded with compiled functions (here from the cache) does not
/// compile ahead at once: only once a call finds a function missing, or
/// once its delay has passed, unless the run that saved it was long.
#[test]
fn cached_modules_compile_ahead_only_when_needed() {
    if !background_threads() {
        return;
    }
    let dir = fresh_cache_dir("deferred");
    let engine_with = |delay: std::time::Duration| {
        let mut config = Config::new();
        config
            .compilation_mode(CompilationMode::Lazy)
            .background_compilation(true)
            .background_delay(delay)
            .cache_dir(Some(dir.clone()));
        Engine::new(&config).unwrap()
    };
    cache_only_fib(&dir);
    let hour = std::time::Duration::from_secs(3600);
    let engine = engine_with(hour);
    let module = Module::new(&engine, WAT).unwrap();
    assert_eq!(call_with_10(&engine, &module, "fib"), 55);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        module.compiled_function_count(),
        0,
        "nothing is compiled ahead while the cached code suffices"
    );
    // `tail` is not in the cache: the program has gone further, and
    // compiling ahead starts.
    assert_eq!(call_with_10(&engine, &module, "tail"), 55);
    wait_for_final_tier(&module);
    drop(module);
    // Without calls that need more, compiling ahead starts after the delay.
    cache_only_fib(&dir);
    let engine = engine_with(std::time::Duration::from_millis(10));
    let module = Module::new(&engine, WAT).unwrap();
    wait_for_final_tier(&module);
    assert_eq!(call_with_10(&engine, &module, "tail"), 55);
    drop(module);
    // A delay past any representable time means: only when needed.
    cache_only_fib(&dir);
    let engine = engine_with(std::time::Duration::MAX);
    let module = Module::new(&engine, WAT).unwrap();
    assert_eq!(call_with_10(&engine, &module, "fib"), 55);
    assert_eq!(module.compiled_function_count(), 0);
    assert_eq!(call_with_10(&engine, &module, "tail"), 55);
    wait_for_final_tier(&module);
    // (Dropping the module writes its cache entry.)
    drop(module);
    // An entry saved by a long run (here: one past three quarters of its
    // engine's delay) compiles ahead at once, whatever the delay: runs as long
    // converge on eager code even if they end about when the delay does.
    cache_only_fib(&dir);
    let mut config = Config::new();
    config
        .compilation_mode(CompilationMode::Lazy)
        .background_compilation(false)
        .background_delay(std::time::Duration::from_millis(2))
        .cache_dir(Some(dir.clone()));
    let long = Engine::new(&config).unwrap();
    let module = Module::new(&long, WAT).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(call_with_10(&long, &module, "tail"), 55);
    drop(module);
    let engine = engine_with(hour);
    let module = Module::new(&engine, WAT).unwrap();
    wait_for_final_tier(&module);
    assert_eq!(call_with_10(&engine, &module, "fib"), 55);
    drop(module);
    // The entry is eager now: every function at load, no final tier to come.
    let module = Module::new(&engine, WAT).unwrap();
    assert_eq!(module.compiled_function_count(), 5);
    assert!(!module.final_tier_placed());
    assert_eq!(call_with_10(&engine, &module, "tail"), 55);
    drop(module);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn auto_mode_compiles_small_modules_whole_and_large_ones_lazily() {
    let mut config = Config::new();
    config
        .compilation_mode(CompilationMode::Auto)
        .background_compilation(false);
    let engine = Engine::new(&config).unwrap();
    let small = Module::new(&engine, WAT).unwrap();
    assert_eq!(small.compiled_function_count(), 5, "compiled at load");
    assert_eq!(call_with_10(&engine, &small, "fib"), 55);

    // Function bodies of `total` bytes in all: the nops' body is its locals
    // count (1 byte), the nops and `end`; fib's is 4 bytes.
    let module_with = |total: usize| {
        let nops = "nop ".repeat(total - 6);
        format!(
            "(module (func (export \"big\") {nops}) \
             (func (export \"fib\") (param i64) (result i64) local.get 0))"
        )
    };
    let at = CompilationMode::AUTO_LAZY_BYTES;
    let lazy = Module::new(&engine, module_with(at)).unwrap();
    assert_eq!(
        lazy.compiled_function_count(),
        0,
        "nothing compiled at load"
    );
    assert_eq!(call_with_10(&engine, &lazy, "fib"), 10);
    assert_eq!(lazy.compiled_function_count(), 1, "only what was called");
    let eager = Module::new(&engine, module_with(at - 1)).unwrap();
    assert_eq!(eager.compiled_function_count(), 2, "compiled at load");
}

/// Quick first-tier code counts its entries and loop iterations (the heat
/// that orders its replacement); code that is not quick counts nothing.
#[test]
fn quick_code_counts_its_heat() {
    const SPIN: &str = r#"(module
      (func (export "first") (result i32) (i32.const 1))
      (func (export "spin") (param $n i32)
        (loop $l
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $l (local.get $n))))
      (func (export "cold") (result i32) (i32.const 7)))"#;
    // No background threads, so nothing replaces quick code, or compiles
    // `spin` before its call needs it.
    let mut config = Config::new();
    quick_kept(&mut config);
    // The module compiled under `config`, and a call of `spin(n)` for each
    // `n` of `spins`.
    let spun = |config: &Config, spins: &[i32]| {
        let engine = Engine::new(config).unwrap();
        let module = Module::new(&engine, SPIN).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let spin = instance
            .get_typed_func::<i32, ()>(&mut store, "spin")
            .unwrap();
        for &n in spins {
            spin.call(&mut store, n).unwrap();
        }
        module
    };
    let module = spun(&config, &[1000]);
    assert_eq!(module.quick_function_count(), 1);
    // One entry and 1000 loop iterations.
    assert_eq!(module.quick_heat(1), Some(1001));
    let module = spun(&config, &[1000, 10]);
    assert_eq!(module.quick_heat(1), Some(1012));
    assert_eq!(module.quick_heat(0), Some(0));
    assert_eq!(module.quick_heat(2), Some(0));
    assert_eq!(module.quick_heat(3), None);
    // Optimised code counts nothing.
    config.first_tier(FirstTier::Optimized);
    let module = spun(&config, &[1000]);
    assert_eq!(module.quick_function_count(), 0);
    assert_eq!(module.quick_heat(1), Some(0));
}

/// `FirstTier::Auto` compiles a large module's first calls quickly when
/// nothing is cached (every run compiles again), but never into a code
/// cache, whose entry serves the runs after this one.
#[test]
fn the_automatic_quick_tier_is_for_uncached_large_modules() {
    if !background_threads() {
        return;
    }
    // Over 256 KiB of function bodies. The function called is the last
    // exported, so that background threads come to it last.
    let mut wat = String::from("(module");
    for i in 0..300 {
        wat.push_str(&format!("(func (export \"big{i}\")"));
        wat.push_str(&" (drop (i32.const 1))".repeat(300));
        wat.push(')');
    }
    wat.push_str("(func (export \"f\") (result i32) (i32.const 1)))");
    let wasm = wat::parse_str(&wat).unwrap();
    let dir = fresh_cache_dir("auto-quick");
    let quick_first_calls = |cache: Option<std::path::PathBuf>| {
        let mut config = Config::new();
        config
            .compilation_mode(CompilationMode::Auto)
            .first_tier(FirstTier::Auto)
            .cache_dir(cache.clone());
        let engine = Engine::new(&config).unwrap();
        (0..20)
            .filter(|_| {
                if let Some(dir) = &cache {
                    let _ = std::fs::remove_dir_all(dir);
                }
                let module = Module::new(&engine, &wasm).unwrap();
                let mut store = Store::new(&engine, ());
                let instance = Linker::new(&engine)
                    .instantiate(&mut store, &module)
                    .unwrap();
                let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
                assert_eq!(f.call(&mut store, ()).unwrap(), 1);
                module.quick_function_count() > 0
            })
            .count()
    };
    assert!(quick_first_calls(None) > 0);
    assert_eq!(quick_first_calls(Some(dir.clone())), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The largest `n` (below 2^24) for which `call(n)` returns, by bisection;
/// every call that fails must have run out of stack.
fn deepest_recursion(mut call: impl FnMut(i32) -> wasm_jit::Result<i32>) -> u32 {
    let (mut ok, mut fails) = (0u32, 1u32 << 24);
    while fails - ok > 1 {
        let mid = ok + (fails - ok) / 2;
        match call(mid as i32) {
            Ok(_) => ok = mid,
            Err(e) => {
                assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
                fails = mid;
            }
        }
    }
    ok
}

/// Quick code's frames are larger than optimised code's, so a store that
/// may run it gives Wasm more stack: a guest recurses at least as deep with
/// quick code as with optimised code under the same `max_wasm_stack`.
#[test]
fn quick_code_recurses_as_deep_as_optimised_code() {
    // Values live across the recursive call, which quick code spills each
    // to a slot of its own.
    const REC: &str = r#"(module
      (func $rec (export "rec") (param $n i32) (result i32)
        (local $a i32) (local $b i32) (local $c i32) (local $d i32)
        (if (result i32) (i32.eqz (local.get $n))
          (then (i32.const 0))
          (else
            (local.set $a (i32.mul (local.get $n) (i32.const 3)))
            (local.set $b (i32.add (local.get $a) (i32.const 7)))
            (local.set $c (i32.xor (local.get $b) (local.get $n)))
            (local.set $d (i32.sub (local.get $c) (local.get $a)))
            (i32.add
              (i32.add (i32.add (local.get $a) (local.get $b))
                       (i32.add (local.get $c) (local.get $d)))
              (call $rec (i32.sub (local.get $n) (i32.const 1))))))))"#;
    let deepest = |quick: bool| -> u32 {
        let mut config = Config::new();
        config
            .compilation_mode(CompilationMode::Lazy)
            .background_compilation(false)
            .max_wasm_stack(64 * 1024);
        if quick {
            config.first_tier(FirstTier::Quick).quick_tier_always(true);
        }
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, REC).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let rec = instance
            .get_typed_func::<i32, i32>(&mut store, "rec")
            .unwrap();
        let deepest = deepest_recursion(|n| rec.call(&mut store, n));
        assert_eq!(module.quick_function_count(), quick as usize);
        deepest
    };
    let optimised = deepest(false);
    let quick = deepest(true);
    assert!(optimised > 100, "{optimised}");
    assert!(
        quick >= optimised,
        "quick code recursed {quick} deep, optimised code {optimised}"
    );

    // The same when the quick module is instantiated by a host function
    // while the store runs a module without quick code: the larger budget
    // applies from then on, counted from the store's outermost entry.
    let mut big = String::from(&REC[..REC.len() - 1]);
    for _ in 0..300 {
        big.push_str("(func");
        big.push_str(&" (drop (i32.const 1))".repeat(300));
        big.push(')');
    }
    big.push(')');
    let mut config = Config::new();
    config
        .compilation_mode(CompilationMode::Lazy)
        .first_tier(FirstTier::Auto)
        .quick_tier_always(true)
        .background_compilation(false)
        .max_wasm_stack(64 * 1024);
    let engine = Engine::new(&config).unwrap();
    let outer = Module::new(
        &engine,
        r#"(module (import "" "h" (func $h (result i32)))
             (func (export "run") (result i32) (call $h)))"#,
    )
    .unwrap();
    let inner = Module::new(&engine, &big).unwrap();
    let mut linker = Linker::new(&engine);
    let inner_in_host = inner.clone();
    linker
        .func_wrap(
            "",
            "h",
            move |mut caller: wasm_jit::Caller<'_, ()>| -> i32 {
                let engine = caller.engine().clone();
                let instance = Linker::new(&engine)
                    .instantiate(&mut caller, &inner_in_host)
                    .unwrap();
                let rec = instance
                    .get_typed_func::<i32, i32>(&mut caller, "rec")
                    .unwrap();
                deepest_recursion(|n| rec.call(&mut caller, n)) as i32
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let run = linker
        .instantiate(&mut store, &outer)
        .unwrap()
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    let nested = run.call(&mut store, ()).unwrap() as u32;
    assert_eq!(outer.quick_function_count(), 0);
    assert_eq!(inner.quick_function_count(), 1);
    assert!(
        nested >= optimised,
        "quick code instantiated from a host function recursed {nested} deep, \
         optimised code {optimised}"
    );
}

/// Large function bodies are compiled quickly too (that is where the quick
/// tier saves most), up to `QUICK_MAX_BODY` (96 KiB); larger ones are
/// compiled optimised from the start. Both give the same results.
#[test]
fn large_bodies_are_compiled_quickly_up_to_a_limit() {
    // A body of `n` steps `x = x * 31 + k`, 10 bytes each.
    let body = |name: &str, n: u32| {
        let mut f = format!("(func (export \"{name}\") (param $x i32) (result i32)");
        for k in 0..n {
            f.push_str(&format!(
                " (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 31)) (i32.const {})))",
                k % 64
            ));
        }
        f.push_str(" (local.get $x))");
        f
    };
    let expected = |n: u32, mut x: i32| {
        for k in 0..n {
            x = x.wrapping_mul(31).wrapping_add((k % 64) as i32);
        }
        x
    };
    // Bodies of about 20 KB and 130 KB.
    let (mid, huge) = (2_000, 13_000);
    let wat = format!("(module {} {})", body("mid", mid), body("huge", huge));
    let mut config = Config::new();
    quick_kept(&mut config);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, &wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let call = |store: &mut Store<()>, name: &str, x: i32| {
        instance
            .get_typed_func::<i32, i32>(&mut *store, name)
            .unwrap()
            .call(&mut *store, x)
            .unwrap()
    };
    assert_eq!(call(&mut store, "mid", 7), expected(mid, 7));
    assert_eq!(module.quick_function_count(), 1);
    assert_eq!(call(&mut store, "huge", 7), expected(huge, 7));
    assert_eq!(module.quick_function_count(), 1);
}

/// Loops that run long in quick code continue in optimised code (on-stack
/// replacement): every kind of local carries over, branches out of the loop
/// and `return` from it work, a call from the optimised entry runs quick
/// code that is replaced in turn, and a trap there is reported once, from
/// its function.
#[test]
fn long_loops_continue_in_optimised_code() {
    let wat = r#"(module
      (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (elem declare func $inc)
      (func (export "work") (param $n i32) (param $x f64) (result i64 f64)
        (local $i i32) (local $acc i64) (local $f f32) (local $v v128) (local $r funcref)
        (local.set $f (f32.const 1.5))
        (local.set $v (v128.const i32x4 1 2 3 4))
        (local.set $r (ref.func $inc))
        (local.set $acc (i64.const 7))
        (block $out
          (loop $top
            (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 3))
                                     (i64.extend_i32_u (local.get $i))))
            (local.set $x (f64.add (local.get $x) (f64.promote_f32 (local.get $f))))
            (local.set $v (i32x4.add (local.get $v) (i32x4.splat (i32.const 1))))
            (if (ref.is_null (local.get $r)) (then unreachable))
            (local.set $i (call $inc (local.get $i)))
            (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
            (br $top)))
        (i64.add (local.get $acc) (i64.extend_i32_u (i32x4.extract_lane 3 (local.get $v))))
        (local.get $x))
      (func $nest (export "nest") (param $n i32) (result i32)
        (local $i i32) (local $j i32) (local $s i32)
        (loop $outer
          (local.set $j (i32.const 0))
          (loop $inner
            (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 31))
                                   (i32.xor (local.get $i) (local.get $j))))
            (if (i32.eq (local.get $s) (i32.const 12345))
              (then (return (i32.const -5))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $inner (i32.lt_u (local.get $j) (i32.const 1000))))
          (if (i32.eq (local.get $i) (i32.const 150))
            (then (local.set $s (i32.add (local.get $s) (call $side (i32.const 200000))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
        (local.get $s))
      (func $side (param $n i32) (result i32)
        (local $s i32)
        (loop $l
          (local.set $s (i32.add (i32.rotl (local.get $s) (i32.const 5)) (local.get $n)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $s))
      (type $ii (func (param i32) (result i32)))
      (func (export "typed_if") (param $n i32) (result i32)
        (local $i i32) (local $s i32) (local $k i32)
        (loop $outer
          (local.get $k)
          (i32.and (local.get $k) (i32.const 1))
          (if (type $ii) (param i32) (result i32)
            (then
              (drop)
              (loop $inner
                (local.set $s (i32.add (local.get $s) (local.get $i)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $inner (i32.lt_u (local.get $i) (local.get $n))))
              (local.get $s))
            (else (i32.add (i32.const 5))))
          (local.set $s)
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (local.set $i (i32.const 0))
          (br_if $outer (i32.lt_u (local.get $k) (i32.const 4))))
        (local.get $s))
      (tag $found (param i32))
      (func (export "caught") (param $n i32) (result i32)
        (local $i i32)
        (block $h (result i32)
          (try_table (catch $found $h)
            (loop $l
              (if (i32.eq (local.get $i) (local.get $n))
                (then (throw $found (i32.mul (local.get $i) (i32.const 3)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l)))
          (i32.const -1)))
      MANY
      (func $div (export "div") (param $n i32) (result i32)
        (local $i i32) (local $s i32)
        (loop $l
          (local.set $s (i32.add (local.get $s)
            (i32.div_u (i32.const 1000) (i32.sub (local.get $n) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l))
        (unreachable)))"#;
    // 300 more locals (2 to 301), every 37th set before the loop.
    let sets: String = (2..302)
        .step_by(37)
        .map(|l| format!("(local.set {l} (i64.const {}))", (l - 2) * 7 + 1))
        .collect();
    let many = format!(
        r#"(func (export "many") (param $n i32) (result i64)
        (local $i i32) (local {})
        {sets}
        (loop $l
          (local.set 2 (i64.add (local.get 2) (local.get 39)))
          (local.set 301 (i64.add (local.get 301) (i64.extend_i32_u (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (i64.add (i64.add (local.get 2) (local.get 301)) (local.get 150)))"#,
        vec!["i64"; 300].join(" ")
    );
    let wat = wat.replace("MANY", &many);
    let work = |n: u32, mut x: f64| {
        let (mut acc, mut i, mut v3) = (7i64, 0u32, 4u32);
        loop {
            acc = acc.wrapping_mul(3).wrapping_add(i64::from(i));
            x += 1.5;
            v3 = v3.wrapping_add(1);
            i += 1;
            if i >= n {
                break;
            }
        }
        (acc.wrapping_add(i64::from(v3)), x)
    };
    fn side(mut n: i32) -> i32 {
        let mut s = 0i32;
        loop {
            s = s.rotate_left(5).wrapping_add(n);
            n -= 1;
            if n == 0 {
                return s;
            }
        }
    }
    fn nest(n: i32) -> i32 {
        let (mut i, mut s) = (0i32, 0i32);
        loop {
            let mut j = 0;
            loop {
                s = s.wrapping_mul(31).wrapping_add(i ^ j);
                if s == 12345 {
                    return -5;
                }
                j += 1;
                if j >= 1000 {
                    break;
                }
            }
            if i == 150 {
                s = s.wrapping_add(side(200_000));
            }
            i += 1;
            if i >= n {
                break;
            }
        }
        s
    }
    let mut config = Config::new();
    quick_kept(&mut config);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, &wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    // Short: no entry is asked for.
    let f = instance
        .get_typed_func::<(i32, f64), (i64, f64)>(&mut store, "work")
        .unwrap();
    assert_eq!(f.call(&mut store, (100, 0.25)).unwrap(), work(100, 0.25));
    assert_eq!(module.osr_entry_count(), 0);
    // Long: the loop continues in its optimised entry.
    assert_eq!(
        f.call(&mut store, (300_000, 0.25)).unwrap(),
        work(300_000, 0.25)
    );
    assert_eq!(module.osr_entry_count(), 1);
    // An entry of the outer loop enters the inner loop, and calls a
    // function whose quick code gets an entry in turn.
    let nest_f = instance
        .get_typed_func::<i32, i32>(&mut store, "nest")
        .unwrap();
    assert_eq!(nest_f.call(&mut store, 300).unwrap(), nest(300));
    assert_eq!(module.osr_entry_count(), 3);
    // A handler around the loop catches what its entry throws.
    let caught = instance
        .get_typed_func::<i32, i32>(&mut store, "caught")
        .unwrap();
    assert_eq!(caught.call(&mut store, 200_000).unwrap(), 600_000);
    assert_eq!(module.osr_entry_count(), 4);
    // Three hundred locals are handed over.
    let many = instance
        .get_typed_func::<i32, i64>(&mut store, "many")
        .unwrap();
    let many_expected = |n: i64| {
        // Locals 2, 39 and 150 start as set above (2 + 37k), 301 as 0.
        let init = |l: i64| {
            if (l - 2) % 37 == 0 {
                (l - 2) * 7 + 1
            } else {
                0
            }
        };
        init(2) + n * init(39) + n * (n - 1) / 2 + init(150)
    };
    assert_eq!(
        many.call(&mut store, 200_000).unwrap(),
        many_expected(200_000)
    );
    assert_eq!(module.osr_entry_count(), 5);
    // The loop is inside an `if` that took a parameter, whose `else`
    // uses it (after the entry, in a later round of the outer loop).
    let typed_if = instance
        .get_typed_func::<i32, i32>(&mut store, "typed_if")
        .unwrap();
    let sum = (0..200_000i32).fold(0i32, |s, i| s.wrapping_add(i));
    assert_eq!(
        typed_if.call(&mut store, 200_000).unwrap(),
        7i32.wrapping_add(sum)
    );
    assert_eq!(module.osr_entry_count(), 6);
    let div = instance
        .get_typed_func::<i32, i32>(&mut store, "div")
        .unwrap();
    let before = module.osr_entry_count();
    let err = div.call(&mut store, 200_000).unwrap_err();
    assert_eq!(module.osr_entry_count(), before + 1);
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::IntegerDivisionByZero),
        "{err:?}"
    );
    let names = |err: &wasm_jit::Error| -> Vec<Option<String>> {
        err.downcast_ref::<wasm_jit::WasmBacktrace>()
            .expect("a backtrace")
            .frames()
            .iter()
            .map(|f| f.func_name().map(str::to_string))
            .collect()
    };
    // One frame, as without the optimised entry.
    let short = div.call(&mut store, 3).unwrap_err();
    assert_eq!(names(&err), names(&short));
    assert_eq!(names(&err), [Some("div".to_string())]);
    // The store goes on after the trap.
    assert_eq!(f.call(&mut store, (1000, 1.0)).unwrap(), work(1000, 1.0));

    // Fuel is counted the same with an entry as without.
    let fuel_left = |quick: bool| {
        let mut config = Config::new();
        config.consume_fuel(true);
        if quick {
            quick_kept(&mut config);
        }
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, &wat).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_fuel(u64::MAX / 2).unwrap();
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let f = instance
            .get_typed_func::<(i32, f64), (i64, f64)>(&mut store, "work")
            .unwrap();
        assert_eq!(
            f.call(&mut store, (300_000, 0.5)).unwrap(),
            work(300_000, 0.5)
        );
        assert_eq!(module.osr_entry_count(), usize::from(quick));
        store.get_fuel().unwrap()
    };
    assert_eq!(fuel_left(true), fuel_left(false));
}
