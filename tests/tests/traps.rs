//! Traps: every kind reaches the caller with the right code, the trap path
//! leaks nothing, and the process keeps working after any number of them.

use wasm_jit::{Caller, Engine, FuncType, Instance, Linker, Module, Store, Trap, Val, ValType};

const TRAPS: &str = r#"
(module
  (type $v (func))
  (type $i (func (param i32) (result i32)))
  (import "host" "call_back" (func $call_back (param i32) (result i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $nop)
  (func $nop)
  (func (export "div0") (result i32) i32.const 1 i32.const 0 i32.div_u)
  (func (export "overflow") (result i32) i32.const 0x80000000 i32.const -1 i32.div_s)
  (func (export "oob") (result i32) i32.const 65533 i32.load)
  (func (export "unreachable") unreachable)
  (func $rec (export "recurse") (param i32) (result i32) local.get 0 i32.const 1 i32.add call $rec)
  (func (export "bad_conversion") (result i32) f32.const nan i32.trunc_f32_s)
  (func (export "float_overflow") (result i32) f64.const 1e10 i32.trunc_f64_s)
  (func (export "mismatch") (result i32) i32.const 5 i32.const 0 call_indirect (type $i))
  (func (export "null_entry") (i32.const 1) call_indirect (type $v))
  (func (export "undefined_entry") (i32.const 7) call_indirect (type $v))
  (func (export "table_oob") (result funcref) i32.const 9 table.get 0)
  (func (export "fill_oob") i32.const 65000 i32.const 0 i32.const 1000 memory.fill)
  (func (export "nested") (param i32) (result i32) local.get 0 call $call_back)
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add end)
  (func (export "store_load") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.store local.get 0 i32.load)
)
"#;

fn instantiate(engine: &Engine) -> (Store<()>, Instance) {
    let module = Module::new(engine, TRAPS).unwrap();
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    linker
        .func_new(
            "host",
            "call_back",
            FuncType::new(engine, [ValType::I32], [ValType::I32]),
            |mut caller: Caller<'_, ()>, params, results| {
                // Calls back into the instance: "div0" when asked to trap.
                let name = if params[0].i32() == Some(1) {
                    "div0"
                } else {
                    "fib"
                };
                let Some(wasm_jit::Extern::Func(f)) = caller.get_export(name) else {
                    anyhow::bail!("no export {name}");
                };
                let args: Vec<Val> = if name == "fib" {
                    vec![Val::I32(10)]
                } else {
                    vec![]
                };
                f.call(&mut caller, &args, results)
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

fn call(
    store: &mut Store<()>,
    instance: Instance,
    name: &str,
    args: &[Val],
) -> anyhow::Result<Vec<Val>> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let ty = f.ty(&*store);
    let mut results: Vec<Val> = ty.results().map(Val::default_for).collect();
    f.call(&mut *store, args, &mut results)?;
    Ok(results)
}

fn trap_of(r: anyhow::Result<Vec<Val>>) -> Trap {
    let e = r.expect_err("expected a trap");
    *e.downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {e:?}"))
}

const CASES: &[(&str, &[Val], Trap)] = &[
    ("div0", &[], Trap::IntegerDivisionByZero),
    ("overflow", &[], Trap::IntegerOverflow),
    ("oob", &[], Trap::MemoryOutOfBounds),
    ("unreachable", &[], Trap::Unreachable),
    ("recurse", &[Val::I32(0)], Trap::StackOverflow),
    ("bad_conversion", &[], Trap::BadConversionToInteger),
    ("float_overflow", &[], Trap::IntegerOverflow),
    ("mismatch", &[], Trap::IndirectCallTypeMismatch),
    ("null_entry", &[], Trap::UninitializedElement),
    ("undefined_entry", &[], Trap::UndefinedElement),
    ("table_oob", &[], Trap::TableOutOfBounds),
    ("fill_oob", &[], Trap::MemoryOutOfBounds),
    ("nested", &[Val::I32(1)], Trap::IntegerDivisionByZero),
];

#[test]
fn every_trap_kind_reaches_the_caller() {
    let engine = Engine::default();
    let (mut store, instance) = instantiate(&engine);
    for (name, args, expected) in CASES {
        assert_eq!(
            trap_of(call(&mut store, instance, name, args)),
            *expected,
            "{name}"
        );
    }
}

#[test]
fn ten_thousand_traps_then_normal_code() {
    let engine = Engine::default();
    let (mut store, instance) = instantiate(&engine);
    for i in 0..10_000 {
        let (name, args, expected) = CASES[i % CASES.len()];
        assert_eq!(
            trap_of(call(&mut store, instance, name, args)),
            expected,
            "call {i}: {name}"
        );
    }
    // The same store and instance still work...
    assert_eq!(
        call(&mut store, instance, "fib", &[Val::I32(20)]).unwrap(),
        [Val::I32(6765)]
    );
    assert_eq!(
        call(
            &mut store,
            instance,
            "store_load",
            &[Val::I32(100), Val::I32(-5)]
        )
        .unwrap(),
        [Val::I32(-5)]
    );
    assert_eq!(
        call(&mut store, instance, "nested", &[Val::I32(0)]).unwrap(),
        [Val::I32(55)]
    );
    // ...and so do new modules, instances and deep (but finite) recursion.
    let (mut store2, instance2) = instantiate(&engine);
    assert_eq!(
        call(&mut store2, instance2, "fib", &[Val::I32(25)]).unwrap(),
        [Val::I32(75025)]
    );
}

#[test]
fn traps_on_several_threads_at_once() {
    let engine = Engine::default();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                // Each thread compiles its own modules while others trap, so
                // code registration races with trap lookups.
                for round in 0..20 {
                    let (mut store, instance) = instantiate(&engine);
                    for i in 0..50 {
                        let (name, args, expected) = CASES[(t + round + i) % CASES.len()];
                        assert_eq!(trap_of(call(&mut store, instance, name, args)), expected);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[derive(Debug, PartialEq)]
struct MyError(u32);

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "my error {}", self.0)
    }
}

impl std::error::Error for MyError {}

#[test]
fn host_errors_and_panics_pass_through() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "f" (func $f (param i32)))
                   (func (export "run") (param i32) local.get 0 call $f))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker
        .func_new(
            "h",
            "f",
            FuncType::new(&engine, [ValType::I32], []),
            |mut c: Caller<'_, u32>, p, _| {
                *c.data_mut() += 1;
                match p[0].i32().unwrap() {
                    0 => Ok(()),
                    1 => Err(MyError(42).into()),
                    _ => panic!("host function panicked on purpose"),
                }
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();

    let err = run.call(&mut store, &[Val::I32(1)], &mut []).unwrap_err();
    assert_eq!(err.downcast_ref::<MyError>(), Some(&MyError(42)));
    assert!(err.downcast_ref::<Trap>().is_none());

    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = run.call(&mut store, &[Val::I32(2)], &mut []);
    }))
    .unwrap_err();
    assert_eq!(
        panic.downcast_ref::<&str>(),
        Some(&"host function panicked on purpose")
    );

    run.call(&mut store, &[Val::I32(0)], &mut []).unwrap();
    assert_eq!(*store.data(), 3);
}

#[test]
fn deep_recursion_on_a_small_thread_is_a_trap() {
    // A 256 KiB thread is smaller than the default 512 KiB Wasm stack
    // budget: the limit must follow the real stack, not overflow it.
    let engine = Engine::default();
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let (mut store, instance) = instantiate(&engine);
            let t = trap_of(call(&mut store, instance, "recurse", &[Val::I32(0)]));
            let fib = call(&mut store, instance, "fib", &[Val::I32(15)]).unwrap();
            (t, fib)
        })
        .unwrap();
    let (t, fib) = handle.join().unwrap();
    assert_eq!(t, Trap::StackOverflow);
    assert_eq!(fib, [Val::I32(610)]);
}

/// A fault in host code, even while Wasm is on the stack, is not a Wasm
/// trap: it must reach the previous handler and end the process as it
/// would have without wasm-jit. Runs itself as a child process.
#[test]
fn a_fault_outside_wasm_is_not_swallowed() {
    use std::os::unix::process::ExitStatusExt;
    const CHILD: &str = "WASM_JIT_FOREIGN_FAULT_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let engine = Engine::default();
        let module = Module::new(
            &engine,
            r#"(module (import "h" "crash" (func $c)) (func (export "run") call $c))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker
            .func_new("h", "crash", FuncType::new(&engine, [], []), |_, _, _| {
                // A real fault in host code: a read of an inaccessible page.
                // SAFETY: none; this child process exists to die of it.
                unsafe {
                    let page = libc::mmap(
                        std::ptr::null_mut(),
                        4096,
                        libc::PROT_NONE,
                        libc::MAP_PRIVATE | libc::MAP_ANON,
                        -1,
                        0,
                    );
                    std::ptr::read_volatile(page as *const u8);
                }
                Ok(())
            })
            .unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let run = instance.get_func(&mut store, "run").unwrap();
        let _ = run.call(&mut store, &[], &mut []);
        // Only reached if the signal was swallowed.
        std::process::exit(0);
    }
    // Under emulation (`ci/aarch64`) the child runs under the emulator too.
    let exe = std::env::current_exe().unwrap();
    let runner = std::env::var("WASM_JIT_TEST_RUNNER").unwrap_or_default();
    let mut child = match runner.trim() {
        "" => std::process::Command::new(&exe),
        runner => {
            let mut c = std::process::Command::new(runner);
            c.arg(&exe);
            c
        }
    };
    let status = child
        .args([
            "--exact",
            "a_fault_outside_wasm_is_not_swallowed",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGSEGV),
        "child ended with {status:?}"
    );
}
