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

/// A function of `n` locals beyond its two parameters (`depth: i32`,
/// `seed: i64`) and an accumulator, of five types in turn, all live at
/// once: each is read at entry (zero, summed into the accumulator), set
/// from the seed, and read again after a recursive call with `depth - 1`
/// and three times the seed. The result sums the locals' values (as
/// `i64`s), the recursive call's result, and the accumulator times
/// 1,000,003.
fn crowded_wat(n: usize) -> String {
    const TYPES: [&str; 5] = ["i64", "i32", "f64", "f32", "v128"];
    // Local `j` (from 0) is at index `j + 3`.
    let read = |j: usize| {
        let i = j + 3;
        match j % 5 {
            0 => format!("(local.get {i})"),
            1 => format!("(i64.extend_i32_s (local.get {i}))"),
            2 => format!("(i64.trunc_sat_f64_s (local.get {i}))"),
            3 => format!("(i64.trunc_sat_f32_s (local.get {i}))"),
            _ => format!(
                "(i64.add (i64x2.extract_lane 0 (local.get {i})) \
                          (i64x2.extract_lane 1 (local.get {i})))"
            ),
        }
    };
    let mut wat = String::from(
        "(module (func $f (export \"f\") (param i32 i64) (result i64) (local $zero i64) (local",
    );
    for j in 0..n {
        wat.push(' ');
        wat.push_str(TYPES[j % 5]);
    }
    wat.push(')');
    for j in 0..n {
        let r = read(j);
        wat.push_str(&format!(
            " (local.set $zero (i64.add (local.get $zero) {r}))"
        ));
    }
    for j in 0..n {
        let (i, k) = (j + 3, j + 1);
        let value = match j % 5 {
            0 => format!("(i64.add (local.get 1) (i64.const {k}))"),
            1 => format!("(i32.add (i32.wrap_i64 (local.get 1)) (i32.const {k}))"),
            2 => format!("(f64.add (f64.convert_i64_s (local.get 1)) (f64.const {k}))"),
            3 => format!("(f32.add (f32.convert_i64_s (local.get 1)) (f32.const {k}))"),
            _ => format!("(i64x2.splat (i64.add (local.get 1) (i64.const {k})))"),
        };
        // Every seventh through `local.tee`.
        if j % 7 == 0 {
            wat.push_str(&format!(" (drop (local.tee {i} {value}))"));
        } else {
            wat.push_str(&format!(" (local.set {i} {value})"));
        }
    }
    wat.push_str(
        " (i64.mul (local.get $zero) (i64.const 1000003))
          (if (result i64) (local.get 0)
            (then (call $f (i32.sub (local.get 0) (i32.const 1))
                           (i64.mul (local.get 1) (i64.const 3))))
            (else (i64.const 0)))
          i64.add",
    );
    for j in 0..n {
        wat.push_str(&format!(" {} i64.add", read(j)));
    }
    wat.push_str("))");
    wat
}

/// What [`crowded_wat`]'s function returns.
fn crowded_expected(n: usize, depth: i32, seed: i64) -> i64 {
    let mut sum = 0i64;
    for j in 0..n {
        let k = j as i64 + 1;
        sum = sum.wrapping_add(match j % 5 {
            0 => seed + k,
            1 => i64::from((seed as i32).wrapping_add(k as i32)),
            2 => (seed as f64 + k as f64) as i64,
            3 => (seed as f32 + k as f32) as i64,
            _ => 2 * (seed + k),
        });
    }
    let rest = if depth > 0 {
        crowded_expected(n, depth - 1, seed * 3)
    } else {
        0
    };
    sum + rest
}

/// A function with more than 4,000 locals live at once keeps them in a
/// stack slot and is compiled without optimisation (otherwise its register
/// allocation takes time quadratic in their number: 15 s for 50,000):
/// same answers as in registers, every local zero at each call, in every
/// compilation mode, and just under the limit, in registers.
#[test]
fn functions_with_crowded_locals_give_the_same_answers() {
    use wasm_jit::{CompilationMode, FirstTier};
    for n in [3990, 4200] {
        let wat = crowded_wat(n);
        for mode in ["eager", "lazy", "quick"] {
            let mut config = Config::new();
            match mode {
                "eager" => config.compilation_mode(CompilationMode::Eager),
                "lazy" => config
                    .compilation_mode(CompilationMode::Lazy)
                    .background_compilation(false),
                _ => config
                    .compilation_mode(CompilationMode::Lazy)
                    .background_compilation(false)
                    .first_tier(FirstTier::Quick)
                    .quick_tier_always(true),
            };
            let engine = Engine::new(&config).unwrap();
            let module = Module::new(&engine, &wat).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = wasm_jit::Instance::new(&mut store, &module, &[]).unwrap();
            let f = instance
                .get_typed_func::<(i32, i64), i64>(&mut store, "f")
                .unwrap();
            for (depth, seed) in [(0, 5), (3, 5), (2, -1_000_000), (0, 7)] {
                assert_eq!(
                    f.call(&mut store, (depth, seed)).unwrap(),
                    crowded_expected(n, depth, seed),
                    "{n} locals, {mode}, depth {depth}, seed {seed}"
                );
            }
        }
    }
}
