//! The embedding API: typed calls, host closures, threads, and the limits a
//! host relies on (fuel, epoch interruption, resource limits).

use std::time::Duration;

use anyhow::Result;
use wasm_jit::{
    Caller, Config, Engine, Extern, Func, Linker, Module, Store, StoreLimits, StoreLimitsBuilder,
    Trap, Val,
};

const LOOPS: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "spin") (loop br 0))
  (func (export "count") (param i32) (result i32) (local i32)
    block loop
      local.get 0 i32.eqz br_if 1
      local.get 0 i32.const 1 i32.sub local.set 0
      local.get 1 i32.const 1 i32.add local.set 1
      br 0
    end end
    local.get 1)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
)
"#;

#[test]
fn engine_and_module_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Engine>();
    check::<Module>();
    fn send<T: Send>() {}
    send::<Store<()>>();
}

#[test]
fn typed_calls_and_typed_host_functions() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "add" (func $add (param i32 i64) (result i64)))
             (import "host" "divmod" (func $divmod (param i32 i32) (result i32 i32)))
             (import "host" "count" (func $count))
             (func (export "run") (param i32) (result i64)
               call $count
               local.get 0 i64.const 40 call $add)
             (func (export "split") (param i32 i32) (result i32 i32)
               local.get 0 local.get 1 call $divmod))"#,
    )?;
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "add", |a: i32, b: i64| a as i64 + b)?;
    linker.func_wrap("host", "divmod", |a: i32, b: i32| -> Result<(i32, i32)> {
        if b == 0 {
            anyhow::bail!("division by zero in the host");
        }
        Ok((a / b, a % b))
    })?;
    linker.func_wrap("host", "count", |mut caller: Caller<'_, u32>| {
        *caller.data_mut() += 1;
    })?;
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<i32, i64>(&mut store, "run")?;
    assert_eq!(run.call(&mut store, 2)?, 42);
    assert_eq!(run.call(&mut store, -2)?, 38);
    assert_eq!(*store.data(), 2);
    let split = instance.get_typed_func::<(i32, i32), (i32, i32)>(&mut store, "split")?;
    assert_eq!(split.call(&mut store, (17, 5))?, (3, 2));
    let err = split.call(&mut store, (1, 0)).unwrap_err();
    // The host's error, with the Wasm frames it came through as context
    // (as Wasmtime's): one, `split` (function 4, after the three imports
    // and `run`), which called the import.
    assert_eq!(err.root_cause().to_string(), "division by zero in the host");
    let frames = err
        .downcast_ref::<wasm_jit::WasmBacktrace>()
        .expect("a backtrace")
        .frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].func_index(), 4);
    assert!(
        format!("{err:?}").contains("error while executing at wasm backtrace:"),
        "{err:?}"
    );
    // A wrong static type is refused once, when the typed function is made.
    let wrong = instance
        .get_typed_func::<i64, i64>(&mut store, "run")
        .unwrap_err();
    assert!(wrong.to_string().contains("type mismatch"), "{wrong}");
    // Func::wrap works outside a linker too.
    let f = Func::wrap(&mut store, |x: f64| x * 2.0);
    let mut out = [Val::F64(0)];
    f.call(&mut store, &[Val::F64(1.25f64.to_bits())], &mut out)?;
    assert_eq!(out[0].f64(), Some(2.5));
    Ok(())
}

#[test]
fn one_module_eight_threads_a_thousand_calls_each() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, LOOPS)?;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut store = Store::new(&engine, ());
                let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
                let count = instance.get_typed_func::<i32, i32>(&mut store, "count")?;
                for i in 0..1000 {
                    let n = t * 1000 + i;
                    assert_eq!(count.call(&mut store, n)?, n);
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap()?;
    }
    Ok(())
}

#[test]
fn fuel_stops_an_infinite_loop_and_the_store_stays_usable() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, LOOPS)?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin")?;
    let count = instance.get_typed_func::<i32, i32>(&mut store, "count")?;

    store.set_fuel(100_000)?;
    let err = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::OutOfFuel));
    assert_eq!(store.get_fuel()?, 0);

    store.set_fuel(1_000_000)?;
    assert_eq!(count.call(&mut store, 1000)?, 1000);
    let left = store.get_fuel()?;
    assert!(
        left < 1_000_000 - 1000 * 10 && left > 1_000_000 - 1000 * 30,
        "fuel left: {left}"
    );
    // Not enough fuel for a longer count.
    let err = count.call(&mut store, 1_000_000).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::OutOfFuel));

    let plain = Store::new(&Engine::default(), ());
    assert!(plain.get_fuel().is_err());
    Ok(())
}

#[test]
fn an_epoch_tick_from_another_thread_interrupts_a_loop() -> Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, LOOPS)?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin")?;
    let count = instance.get_typed_func::<i32, i32>(&mut store, "count")?;

    for _ in 0..3 {
        store.set_epoch_deadline(1);
        let ticker = {
            let engine = engine.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                engine.increment_epoch();
            })
        };
        let err = spin.call(&mut store, ()).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Interrupted));
        ticker.join().unwrap();
    }
    // With a fresh deadline the store runs normal code again.
    store.set_epoch_deadline(1000);
    assert_eq!(count.call(&mut store, 10_000)?, 10_000);
    Ok(())
}

struct Data {
    limits: StoreLimits,
}

#[test]
fn memory_and_table_limits() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, LOOPS)?;
    let mut store = Store::new(
        &engine,
        Data {
            limits: StoreLimitsBuilder::new()
                .memory_size(4 << 16)
                .table_elements(100)
                .instances(2)
                .build(),
        },
    );
    store.limiter(|d| &mut d.limits);
    let linker = Linker::new(&engine);
    let instance = linker.instantiate(&mut store, &module)?;
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
    // One page to start with; three more fit, a fifth page does not.
    assert_eq!(grow.call(&mut store, 3)?, 1);
    assert_eq!(grow.call(&mut store, 1)?, -1);
    assert_eq!(grow.call(&mut store, 0)?, 4);
    let Some(Extern::Memory(memory)) = instance.get_export(&mut store, "memory") else {
        panic!("no memory export")
    };
    assert!(memory.grow(&mut store, 1).is_err());
    assert_eq!(memory.size(&store), 4);

    // Initial sizes beyond the limits fail to instantiate, with a message.
    let big = Module::new(&engine, "(module (memory 5))")?;
    let err = linker.instantiate(&mut store, &big).unwrap_err();
    assert!(
        format!("{err:#}").contains("exceeds the store's limits"),
        "{err:#}"
    );
    let table = Module::new(
        &engine,
        r#"(module (table 10 funcref) (func (export "g") (result i32) ref.null func i32.const 200 table.grow))"#,
    )?;
    let t = linker.instantiate(&mut store, &table)?;
    let g = t.get_typed_func::<(), i32>(&mut store, "g")?;
    assert_eq!(g.call(&mut store, ())?, -1);
    // The instance limit (2) is now reached.
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(format!("{err:#}").contains("limit on instances"), "{err:#}");
    Ok(())
}

#[test]
fn instances_sharing_a_memory_image_stay_independent() -> Result<()> {
    for explicit in [false, true] {
        let mut config = Config::new();
        config.explicit_bounds_checks(explicit);
        let engine = Engine::new(&config)?;
        // Large enough (and at a constant offset) to be mapped copy-on-write.
        let wat = format!(
            r#"(module (memory 4) (data (i32.const 1000) "{}")
                 (func (export "get") (param i32) (result i32) local.get 0 i32.load8_u)
                 (func (export "set") (param i32 i32) local.get 0 local.get 1 i32.store8)
                 (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#,
            "\\05".repeat(100_000)
        );
        let module = Module::new(&engine, wat)?;
        let linker = Linker::new(&engine);
        let mut store = Store::new(&engine, ());
        let a = linker.instantiate(&mut store, &module)?;
        let b = linker.instantiate(&mut store, &module)?;
        let get_a = a.get_typed_func::<i32, i32>(&mut store, "get")?;
        let set_a = a.get_typed_func::<(i32, i32), ()>(&mut store, "set")?;
        let get_b = b.get_typed_func::<i32, i32>(&mut store, "get")?;
        let grow_a = a.get_typed_func::<i32, i32>(&mut store, "grow")?;
        assert_eq!(get_a.call(&mut store, 50_000)?, 5);
        assert_eq!(get_a.call(&mut store, 999)?, 0);
        assert_eq!(get_a.call(&mut store, 101_000)?, 0);
        set_a.call(&mut store, (50_000, 9))?;
        assert_eq!(get_a.call(&mut store, 50_000)?, 9);
        assert_eq!(get_b.call(&mut store, 50_000)?, 5, "explicit={explicit}");
        // Growing (and, with explicit checks, moving) keeps the contents.
        assert_eq!(grow_a.call(&mut store, 100)?, 4);
        assert_eq!(get_a.call(&mut store, 50_000)?, 9);
        assert_eq!(get_a.call(&mut store, 60_000)?, 5);
        // A new instance starts from the image again.
        let c = linker.instantiate(&mut store, &module)?;
        let get_c = c.get_typed_func::<i32, i32>(&mut store, "get")?;
        assert_eq!(get_c.call(&mut store, 50_000)?, 5);
    }
    Ok(())
}

/// The store is handed down along every call path: a host function called
/// from Wasm grows memory through its `Caller` (the limiter is asked), calls
/// back into Wasm (which grows memory again and calls the host again), and
/// after all of it the outermost caller's borrow of the store still works.
#[test]
fn nested_calls_and_the_limiter_share_one_store() -> Result<()> {
    struct Nested {
        limits: StoreLimits,
        depth_seen: u32,
    }
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "down" (func $down (param i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "grow_then_down") (param i32) (result i32)
               (drop (memory.grow (i32.const 1)))
               (call $down (local.get 0))))"#,
    )?;
    let mut store = Store::new(
        &engine,
        Nested {
            limits: StoreLimitsBuilder::new().memory_size(5 << 16).build(),
            depth_seen: 0,
        },
    );
    store.limiter(|d| &mut d.limits);
    let mut linker: Linker<Nested> = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "down",
        |mut caller: Caller<'_, Nested>, n: i32| -> Result<i32> {
            caller.data_mut().depth_seen += 1;
            let memory = caller.get_export("memory").unwrap().into_memory().unwrap();
            // Growth through the caller asks the limiter too.
            let grown = memory.grow(&mut caller, 1).is_ok();
            if n == 0 {
                return Ok(i32::from(grown));
            }
            let again = caller
                .get_export("grow_then_down")
                .unwrap()
                .into_func()
                .unwrap();
            let mut out = [wasm_jit::Val::I32(0)];
            again.call(&mut caller, &[wasm_jit::Val::I32(n - 1)], &mut out)?;
            Ok(out[0].i32().unwrap() + i32::from(grown))
        },
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let f = instance.get_typed_func::<i32, i32>(&mut store, "grow_then_down")?;
    // Pages: 1 to start; each level grows twice (Wasm, then host) up to the
    // limit of 5 pages: levels 0 and 1 fit (5 pages), level 2 is refused.
    assert_eq!(f.call(&mut store, 2)?, 2);
    assert_eq!(store.data().depth_seen, 3);
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(memory.size(&store), 5);
    Ok(())
}

/// A dropped memory's reservation is reused by the next memory of its
/// size (`memory.rs`, `pool`): the new owner must see none of the old
/// owner's data (written, grown into, or from a data segment's image),
/// and memories that live at once never share a reservation.
#[test]
fn reused_reservations_start_empty() {
    let engine = Engine::default();
    // A whole page of data: instances map it copy-on-write from an image.
    let writer = format!(
        r#"(module (memory (export "m") 1) (data (i32.const 0) "{}")"#,
        "*".repeat(65536)
    );
    let writer = Module::new(
        &engine,
        writer
            + r#"
             (func (export "fill") (result i32)
               (i32.store (i32.const 0) (i32.const -1))
               (i32.store (i32.const 65532) (i32.const -1))
               (drop (memory.grow (i32.const 2)))
               (i32.store (i32.const 196604) (i32.const -1))
               (memory.size)))"#,
    )
    .unwrap();
    let reader = Module::new(
        &engine,
        r#"(module (memory (export "m") 1)
             (func (export "sum") (result i32)
               (i32.add (i32.load (i32.const 0))
                 (i32.add (i32.load (i32.const 8)) (i32.load (i32.const 65532))))))"#,
    )
    .unwrap();
    let load = Module::new(
        &engine,
        r#"(module (memory 1) (func (export "l") (result i32) (i32.load (i32.const 196604))))"#,
    )
    .unwrap();
    let linker = Linker::new(&engine);
    for _ in 0..20 {
        let mut store = Store::new(&engine, ());
        let w = linker.instantiate(&mut store, &writer).unwrap();
        let fill = w.get_typed_func::<(), i32>(&mut store, "fill").unwrap();
        assert_eq!(fill.call(&mut store, ()).unwrap(), 3);
        // Alive at the same time as the writer: its own reservation.
        let r = linker.instantiate(&mut store, &reader).unwrap();
        let sum = r.get_typed_func::<(), i32>(&mut store, "sum").unwrap();
        assert_eq!(sum.call(&mut store, ()).unwrap(), 0);
        drop(store);
        // After the drop, very likely on the writer's old reservation.
        let mut store = Store::new(&engine, ());
        let r = linker.instantiate(&mut store, &reader).unwrap();
        let sum = r.get_typed_func::<(), i32>(&mut store, "sum").unwrap();
        assert_eq!(sum.call(&mut store, ()).unwrap(), 0);
        // The pages the writer grew into are out of bounds again.
        let m = r.get_memory(&mut store, "m").unwrap();
        assert_eq!(m.size(&store), 1);
        let l = linker.instantiate(&mut store, &load).unwrap();
        let l = l.get_typed_func::<(), i32>(&mut store, "l").unwrap();
        let err = l.call(&mut store, ()).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    }
}

/// A host function that returns the error of its own call into Wasm (a
/// trap, which has a backtrace already: the nested call's frames, then
/// those of the activation that called the host function) passes it on
/// with that backtrace only, as Wasmtime does.
#[test]
fn a_host_error_with_a_backtrace_keeps_it() -> Result<()> {
    use wasm_jit::{Config, WasmBacktrace};
    // In an engine with `config`: the errors of `outer` (which calls the
    // host function, which calls `inner`, which traps) and of `inner`
    // called alone, and the frame counts of `capture` and `force_capture`
    // in the host function.
    let run = |config: &Config| -> Result<(anyhow::Error, anyhow::Error, (usize, usize))> {
        let engine = Engine::new(config)?;
        let module = Module::new(
            &engine,
            r#"(module
                 (import "host" "h" (func $h))
                 (func (export "inner") unreachable)
                 (func (export "outer") call $h))"#,
        )?;
        let mut store = Store::new(&engine, (0, 0));
        let mut linker = Linker::new(&engine);
        linker.func_wrap("host", "h", |mut caller: Caller<'_, (usize, usize)>| {
            *caller.data_mut() = (
                WasmBacktrace::capture(&caller).frames().len(),
                WasmBacktrace::force_capture(&caller).frames().len(),
            );
            let inner = caller.get_export("inner").unwrap().into_func().unwrap();
            inner.call(&mut caller, &[], &mut [])
        })?;
        let instance = linker.instantiate(&mut store, &module)?;
        let outer = instance.get_typed_func::<(), ()>(&mut store, "outer")?;
        let outer = outer.call(&mut store, ()).unwrap_err();
        let inner = instance.get_typed_func::<(), ()>(&mut store, "inner")?;
        let inner = inner.call(&mut store, ()).unwrap_err();
        Ok((outer, inner, *store.data()))
    };
    let funcs = |err: &anyhow::Error| -> Vec<u32> {
        let frames = err.downcast_ref::<WasmBacktrace>().expect("a backtrace");
        frames.frames().iter().map(|f| f.func_index()).collect()
    };

    let (err, inner, captured) = run(&Config::new())?;
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    // `inner` (function 1), then `outer` (2), which called the host
    // function, once: the outer call adds no second backtrace.
    assert_eq!(funcs(&err), [1, 2]);
    assert_eq!(
        format!("{err:?}").matches("wasm backtrace").count(),
        1,
        "{err:?}"
    );
    assert_eq!(captured, (1, 1));
    // The same trap in a call of its own: its own frame only.
    assert_eq!(funcs(&inner), [1]);

    // With backtraces off, the errors are the trap alone.
    let (err, _, captured) = run(Config::new().wasm_backtrace(false))?;
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    assert!(err.downcast_ref::<WasmBacktrace>().is_none());
    assert_eq!(err.to_string(), Trap::UnreachableCodeReached.to_string());
    assert_eq!(captured, (0, 1));

    // At most one frame: the innermost.
    let (err, _, _) = run(Config::new().wasm_backtrace_max_frames(std::num::NonZeroUsize::new(1)))?;
    assert_eq!(funcs(&err), [1]);
    Ok(())
}

/// `WasmBacktrace::capture` in a host function gives the Wasm frames that
/// called it, innermost first (also those of the outer activation, when a
/// host function called into Wasm again); outside any call, none.
#[test]
fn host_functions_capture_their_callers_backtrace() -> Result<()> {
    use wasm_jit::WasmBacktrace;
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "h" (func $h (param i32)))
             (func (export "run") i32.const 0 call $b)
             (func $b (param i32) local.get 0 call $h)
             (func (export "inner") i32.const 1 call $h))"#,
    )?;
    let mut store = Store::new(&engine, Vec::<Vec<u32>>::new());
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "h",
        |mut caller: Caller<'_, Vec<Vec<u32>>>, nested: i32| -> Result<()> {
            let before: Vec<u32> = WasmBacktrace::capture(&caller)
                .frames()
                .iter()
                .map(|f| f.func_index())
                .collect();
            caller.data_mut().push(before);
            if nested == 0 {
                let inner = caller.get_export("inner").unwrap().into_func().unwrap();
                inner.call(&mut caller, &[], &mut [])?;
                // Its own callers again once the nested call is over.
                let after = WasmBacktrace::force_capture(&caller).frames().len();
                caller.data_mut().push(vec![after as u32]);
            }
            Ok(())
        },
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    instance
        .get_typed_func::<(), ()>(&mut store, "run")?
        .call(&mut store, ())?;
    // `$b` (2) called by `run` (1); then `inner` (3), above the outer
    // activation's `$b` and `run`, as in Wasmtime; then 2 frames again.
    assert_eq!(*store.data(), [vec![2, 1], vec![3, 2, 1], vec![2]]);
    assert!(WasmBacktrace::capture(&store).frames().is_empty());
    Ok(())
}
