//! Embedder-facing holes a hostile or unusual guest (or configuration) must
//! not open: each test failed before its fix.

use wasm_jit::{Caller, Config, Engine, Func, Linker, Module, Store, Trap, Val};

/// A guard region too large for the address space is refused, instead of
/// wrapping the reservation and letting compiled code skip bounds checks.
#[test]
fn an_impossible_guard_size_is_refused() {
    let mut config = Config::new();
    config.memory_guard_size(u64::MAX);
    let err = Engine::new(&config).unwrap_err();
    assert!(format!("{err:#}").contains("too large"), "{err:#}");
    config.memory_guard_size(Config::MAX_MEMORY_GUARD_SIZE);
    Engine::new(&config).unwrap();
}

/// A host function that returns a function of another store gets an error
/// back in its caller, instead of a panic unwinding into Wasm frames (which
/// aborts the process).
#[test]
fn a_reference_from_another_store_is_an_error_not_an_abort() {
    let engine = Engine::default();
    let mut other = Store::new(&engine, ());
    let foreign = Func::wrap(&mut other, || 1i32);
    let module = Module::new(
        &engine,
        r#"(module (import "host" "get" (func $get (result funcref)))
             (func (export "run") (result i32) (ref.is_null (call $get))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_new(
            "host",
            "get",
            wasm_jit::FuncType::new(&engine, [], [wasm_jit::ValType::FuncRef]),
            move |_caller, _params, results| {
                results[0] = Val::FuncRef(Some(foreign));
                Ok(())
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(format!("{err:#}").contains("another store"), "{err:#}");
    // The store still works.
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(format!("{err:#}").contains("another store"), "{err:#}");
}

/// A host function that calls into another store on the same thread gives
/// that store's Wasm its own stack limit: unbounded recursion there is a
/// "call stack exhausted" trap, not a native stack overflow that aborts the
/// process. Before the fix the second store kept whatever limit it had
/// (a fresh store's is `usize::MAX`, which the prologue's check wrapped
/// past), and the deep call aborted the test process.
#[test]
fn a_store_entered_from_another_stores_host_function_has_a_stack_limit() {
    let engine = Engine::default();
    let inner = Module::new(
        &engine,
        r#"(module (func $f (export "f") (param i32) (result i32)
             (if (result i32) (i32.eqz (local.get 0))
               (then (i32.const 0))
               (else (i32.add (i32.const 1)
                              (call $f (i32.sub (local.get 0) (i32.const 1))))))))"#,
    )
    .unwrap();
    let outer = Module::new(
        &engine,
        r#"(module (import "" "h" (func $h (param i32) (result i32)))
             (func (export "run") (param i32) (result i32) (call $h (local.get 0))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    let in_host = (engine.clone(), inner.clone());
    linker
        .func_wrap("", "h", move |_: Caller<'_, ()>, n: i32| -> i32 {
            let (engine, inner) = &in_host;
            let mut store = Store::new(engine, ());
            let instance = Linker::new(engine).instantiate(&mut store, inner).unwrap();
            let f = instance
                .get_typed_func::<i32, i32>(&mut store, "f")
                .unwrap();
            match f.call(&mut store, n) {
                Ok(v) => v,
                Err(e) => {
                    assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
                    -1
                }
            }
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let run = linker
        .instantiate(&mut store, &outer)
        .unwrap()
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 1000).unwrap(), 1000);
    assert_eq!(run.call(&mut store, 100_000_000).unwrap(), -1);
    assert_eq!(run.call(&mut store, 1000).unwrap(), 1000);
}

/// The stack limit belongs to the thread running the code: a host function
/// that re-enters the store from another thread gets that thread's limit,
/// so deep recursion there is a trap (not a native stack overflow, and no
/// spurious "call stack exhausted" for a shallow call).
#[test]
fn reentering_from_another_thread_uses_that_threads_stack() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "elsewhere" (func $elsewhere (result i32)))
             (func $recurse (export "recurse") (param i32) (result i32)
               (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
             (func (export "shallow") (result i32) (i32.const 42))
             (func (export "run") (result i32) (call $elsewhere)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap("host", "elsewhere", |mut caller: Caller<'_, ()>| -> i32 {
            std::thread::scope(|s| {
                s.spawn(|| {
                    let shallow = caller.get_export("shallow").unwrap().into_func().unwrap();
                    let mut out = [Val::I32(0)];
                    shallow.call(&mut caller, &[], &mut out).unwrap();
                    assert_eq!(out[0], Val::I32(42));
                    let recurse = caller.get_export("recurse").unwrap().into_func().unwrap();
                    let err = recurse
                        .call(&mut caller, &[Val::I32(0)], &mut out)
                        .unwrap_err();
                    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
                    7
                })
                .join()
                .unwrap()
            })
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 7);
    // And on this thread again, afterwards.
    let recurse = instance
        .get_typed_func::<i32, i32>(&mut store, "recurse")
        .unwrap();
    let err = recurse.call(&mut store, 0).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
}

fn load_err(config: &Config, wat: &str) -> String {
    let engine = Engine::new(config).unwrap();
    format!("{:#}", Module::new(&engine, wat).unwrap_err())
}

/// Code generation time grows faster than linearly with nesting depth and
/// with values live at once: past the published limits a module is refused
/// at once instead of pinning a core for minutes (a million nested `if`s
/// took 6.3 GB; 200k live values were still in register allocation after
/// 25 minutes).
#[test]
fn pathological_functions_hit_implementation_limits() {
    let n = 20_000;
    let nested = format!(
        "(module (func (param i32) (result i32) {} (i32.const 1) {}))",
        "(if (result i32) (local.get 0) (then ".repeat(n),
        ") (else (i32.const 0)))".repeat(n)
    );
    let e = load_err(&Config::new(), &nested);
    assert!(
        e.contains("implementation limit exceeded: blocks nested"),
        "{e}"
    );

    let live = format!(
        "(module (memory 1) (func (result i32) {} {}))",
        "(i32.load (i32.const 8)) ".repeat(n),
        "i32.add ".repeat(n - 1)
    );
    let e = load_err(&Config::new(), &live);
    assert!(
        e.contains("implementation limit exceeded: more than"),
        "{e}"
    );

    // Invalid still beats a limit.
    let invalid = format!(
        "(module (memory 1) (func (result i32) {} {}) (func (result i32) i64.const 0))",
        "(i32.load (i32.const 8)) ".repeat(n),
        "i32.add ".repeat(n - 1)
    );
    let e = load_err(&Config::new(), &invalid);
    assert!(e.starts_with("invalid module"), "{e}");
}

/// A compile deadline bounds the whole module.
#[test]
fn a_compile_deadline_stops_compilation() {
    let mut config = Config::new();
    config.max_compile_time(Some(std::time::Duration::ZERO));
    let e = load_err(&config, "(module (func) (func))");
    assert!(e.contains("ran past its deadline"), "{e}");
    config.max_compile_time(Some(std::time::Duration::from_secs(60)));
    Module::new(&Engine::new(&config).unwrap(), "(module (func))").unwrap();
}
