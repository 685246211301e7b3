//! Host code written for Wasmtime's API, as its users write it: the names
//! wasm-jit offers for them (trap names, feature setters, `Linker::module`
//! and `get_default`, WASI's `p1` module and builder) behave as Wasmtime's.

use wasm_jit::{Config, Engine, Error, Instance, Linker, Module, Store, Trap, Val};

#[test]
fn trap_names_match_in_patterns() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (type $t (func)) (table 1 funcref)
             (func (export "unreachable") unreachable)
             (func (export "null") (call_indirect (type $t) (i32.const 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let trap_of = |store: &mut Store<()>, name: &str| -> Option<Trap> {
        let f = instance.get_func(&mut *store, name).unwrap();
        let e: Error = f.call(store, &[], &mut []).unwrap_err();
        e.downcast_ref::<Trap>().copied()
    };
    assert!(matches!(
        trap_of(&mut store, "unreachable"),
        Some(Trap::UnreachableCodeReached)
    ));
    assert!(matches!(
        trap_of(&mut store, "null"),
        Some(Trap::IndirectCallToNull)
    ));
}

/// A dynamically typed host function as Wasmtime's users write it: the
/// type made for an engine, its parameters and results read as iterators.
#[test]
fn function_types_are_made_for_an_engine_and_read_as_iterators() {
    use wasm_jit::{Func, FuncType, ValType};
    let engine = Engine::default();
    let ty = FuncType::new(&engine, [ValType::I32, ValType::I64], [ValType::I64]);
    assert_eq!(ty.params().len(), 2);
    assert_eq!(
        ty.params().collect::<Vec<_>>(),
        [ValType::I32, ValType::I64]
    );
    assert_eq!(ty.results().collect::<Vec<_>>(), [ValType::I64]);
    assert_eq!(ty.param(1), Some(ValType::I64));
    assert_eq!(ty.param(2), None);
    assert_eq!(ty.result(0), Some(ValType::I64));
    assert_eq!(ty.to_string(), "(func (param i32 i64) (result i64))");
    // One type, however it is spelled.
    let nullable_func = wasm_jit::RefType::new(true, wasm_jit::HeapType::Func);
    assert_eq!(
        FuncType::new(&engine, [ValType::Ref(nullable_func)], []),
        FuncType::new(&engine, [ValType::FuncRef], [])
    );
    let mut store = Store::new(&engine, ());
    let add = Func::new(&mut store, ty.clone(), |_, params, results| {
        results[0] = Val::I64(i64::from(params[0].unwrap_i32()) + params[1].unwrap_i64());
        Ok(())
    });
    assert_eq!(add.ty(&store), ty);
    let module = Module::new(
        &engine,
        r#"(module (import "" "add" (func $add (param i32 i64) (result i64)))
             (func (export "run") (result i64) (call $add (i32.const 40) (i64.const 2))))"#,
    )
    .unwrap();
    let instance = Linker::new(&engine)
        .define(&store, "", "add", add)
        .unwrap()
        .instantiate(&mut store, &module)
        .unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    let ty = run.ty(&store);
    let mut results: Vec<Val> = ty.results().map(Val::default_for).collect();
    run.call(&mut store, &[], &mut results).unwrap();
    assert_eq!(results[0].unwrap_i64(), 42);
}

/// As in Wasmtime, a function of a subtype matches: `matches_ty` and
/// `typed` take results narrower and parameters wider than asked for, and
/// nothing else.
#[test]
fn functions_of_a_subtype_match_and_can_be_typed() {
    use wasm_jit::{ExternType, Func, FuncType, HeapType, RefType, ValType};
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (type $t (func))
             (func $nop (type $t))
             (elem declare func $nop)
             ;; Returns a non-null reference to a function of type $t.
             (func (export "get") (result (ref $t)) (ref.func $nop))
             ;; Takes any function reference, null included.
             (func (export "is_null") (param funcref) (result i32)
               (ref.is_null (local.get 0)))
             ;; Takes a non-null one.
             (func (export "take") (param (ref func))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let get = instance.get_func(&mut store, "get").unwrap();
    let is_null = instance.get_func(&mut store, "is_null").unwrap();
    let func = |nullable| ValType::Ref(RefType::new(nullable, HeapType::Func));
    // Results: (ref $t) is below (ref func) and funcref, not above.
    assert!(get.matches_ty(&store, &FuncType::new(&engine, [], [func(false)])));
    assert!(get.matches_ty(&store, &FuncType::new(&engine, [], [func(true)])));
    assert!(!get.matches_ty(&store, &FuncType::new(&engine, [], [ValType::ExternRef])));
    assert!(!get.matches_ty(&store, &FuncType::new(&engine, [], [])));
    // Parameters: funcref takes (ref func) too, but not an i32.
    let takes = |p| FuncType::new(&engine, [p], [ValType::I32]);
    assert!(is_null.matches_ty(&store, &takes(func(false))));
    assert!(is_null.matches_ty(&store, &takes(func(true))));
    assert!(!is_null.matches_ty(&store, &takes(ValType::I32)));
    // The same for typed functions.
    let f = get.typed::<(), Option<Func>>(&store).unwrap();
    let got = f.call(&mut store, ()).unwrap().unwrap();
    let is_null_typed = is_null.typed::<Func, i32>(&store).unwrap();
    assert_eq!(is_null_typed.call(&mut store, got).unwrap(), 0);
    let err = get.typed::<(), i32>(&store).unwrap_err();
    assert!(err.to_string().starts_with("type mismatch"), "{err}");
    // A parameter narrower than the one asked for would let a null in.
    let take = instance.get_func(&mut store, "take").unwrap();
    take.typed::<Func, ()>(&store).unwrap();
    let err = take.typed::<Option<Func>, ()>(&store).unwrap_err();
    assert!(err.to_string().starts_with("type mismatch"), "{err}");
    assert!(!take.matches_ty(&store, &FuncType::new(&engine, [func(true)], [])));
    assert!(take.matches_ty(&store, &FuncType::new(&engine, [func(false)], [])));
    // Types become `ExternType`s as in Wasmtime.
    let ty: ExternType = get.ty(&store).into();
    assert_eq!(ty.unwrap_func(), &get.ty(&store));
}

#[test]
fn feature_setters_change_validation() {
    let wat = r#"(module (func (export "f") (result i32) (return_call 1)) (func (result i32) i32.const 1))"#;
    let mut config = Config::new();
    config.wasm_tail_call(false);
    let engine = Engine::new(&config).unwrap();
    let err = Module::new(&engine, wat).unwrap_err();
    assert!(err.to_string().contains("invalid module"), "{err}");
    config.wasm_tail_call(true);
    let engine = Engine::new(&config).unwrap();
    Module::new(&engine, wat).unwrap();
}

#[test]
fn values_convert_as_in_wasmtime() {
    assert_eq!(Val::from(7i32).unwrap_i32(), 7);
    assert_eq!(Val::from(2.5f64).unwrap_f64(), 2.5);
    assert!(matches!(Val::null_func_ref().funcref(), Some(None)));
    assert!(matches!(Val::null_extern_ref().externref(), Some(None)));
    assert!(Val::from(1i64).funcref().is_none());
    let v: Val = Option::<wasm_jit::Func>::None.into();
    assert!(matches!(v, Val::FuncRef(None)));
}

#[test]
fn modules_are_named_and_list_exports() {
    let engine = Engine::default();
    let module = Module::new_with_name(
        &engine,
        r#"(module (func (export "f") (param i32)) (memory (export "m") 1))"#,
        Some("named"),
    )
    .unwrap();
    assert_eq!(module.name(), Some("named"));
    assert!(matches!(
        module.get_export("m"),
        Some(wasm_jit::ExternType::Memory(_))
    ));
    assert!(module.get_export("g").is_none());
    // The name section's name comes first.
    let inner = Module::new(&engine, "(module $inner)").unwrap();
    assert_eq!(inner.name(), Some("inner"));
    let unnamed = Module::new(&engine, "(module)").unwrap();
    assert_eq!(unnamed.name(), None);
}

/// A command gets a fresh instance per call (its state does not carry
/// over); a reactor is instantiated once and initialized, and keeps state.
#[test]
fn linker_module_and_get_default() {
    let engine = Engine::default();
    let counter = |kind: &str| {
        format!(
            r#"(module
                 (global $n (mut i32) (i32.const 0))
                 (func (export "{kind}") (global.set $n (i32.const 100)))
                 (func (export "bump") (result i32)
                   (global.set $n (i32.add (global.get $n) (i32.const 1)))
                   (global.get $n)))"#
        )
    };
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let command = Module::new(&engine, counter("_start")).unwrap();
    linker.module(&mut store, "cmd", &command).unwrap();
    let reactor = Module::new(&engine, counter("_initialize")).unwrap();
    linker.module(&mut store, "lib", &reactor).unwrap();
    let bump = |store: &mut Store<()>, module: &str| -> i32 {
        let f = linker.get(&mut *store, module, "bump").unwrap();
        let f = f.into_func().unwrap().typed::<(), i32>(&*store).unwrap();
        f.call(store, ()).unwrap()
    };
    assert_eq!(bump(&mut store, "cmd"), 1);
    assert_eq!(bump(&mut store, "cmd"), 1, "a fresh instance each call");
    assert_eq!(bump(&mut store, "lib"), 101, "initialized once");
    assert_eq!(bump(&mut store, "lib"), 102);
    let start = linker.get_default(&mut store, "cmd").unwrap();
    start.call(&mut store, &[], &mut []).unwrap();
    // A module with neither gives a function that does nothing.
    let nothing = linker.get_default(&mut store, "none").unwrap();
    nothing.call(&mut store, &[], &mut []).unwrap();
    linker.alias("lib", "bump", "other", "inc").unwrap();
    let inc = linker.get(&mut store, "other", "inc").unwrap();
    let inc = inc.into_func().unwrap().typed::<(), i32>(&store).unwrap();
    assert_eq!(inc.call(&mut store, ()).unwrap(), 103);
}

/// Test program `name` (`tests/programs/NAME.wasm`) and a linker with
/// WASI preview 1, set up as Wasmtime's users do.
fn wasi_program(engine: &Engine, name: &str) -> (Module, Linker<wasm_jit_wasi::p1::WasiP1Ctx>) {
    let path = format!("{}/programs/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    let module = Module::from_file(engine, path).unwrap();
    let mut linker = Linker::new(engine);
    wasm_jit_wasi::p1::add_to_linker_sync(&mut linker, |t| t).unwrap();
    (module, linker)
}

/// Wasmtime's WASI example, with this crate's names.
#[test]
fn wasi_p1_as_in_wasmtime() {
    use wasm_jit_wasi::WasiCtxBuilder;
    let engine = Engine::default();
    let (module, linker) = wasi_program(&engine, "exit");
    let mut builder = WasiCtxBuilder::new();
    // `args` appends, as Wasmtime's does. The network settings are
    // accepted (preview 1 opens no sockets).
    builder
        .arg("exit")
        .args(["3"])
        .envs(&[("K", "V")])
        .inherit_network()
        .allow_ip_name_lookup(true)
        .allow_tcp(true)
        .allow_udp(false);
    // One builder, two stores: each context has the arguments.
    for _ in 0..2 {
        let wasi = builder.build_p1();
        let mut store = Store::new(&engine, wasi);
        let mut linker = linker.clone();
        linker.module(&mut store, "", &module).unwrap();
        let err = linker
            .get_default(&mut store, "")
            .unwrap()
            .typed::<(), ()>(&store)
            .unwrap()
            .call(&mut store, ())
            .unwrap_err();
        let exit = err.downcast_ref::<wasm_jit_wasi::I32Exit>();
        assert_eq!(exit, Some(&wasm_jit_wasi::I32Exit(3)), "{err:?}");
    }
}

/// Standard streams supplied by the host, as Wasmtime's pipes: `cat`
/// copies a `MemoryInputPipe` to a `MemoryOutputPipe` the host reads
/// afterwards; a write past the output's capacity fails in the guest
/// (whose C library then reports an error) and writes nothing.
/// Clocks and a random source supplied by the host answer the guest's
/// `clock_time_get`, `clock_res_get` and `random_get`, as Wasmtime's
/// `wall_clock`, `monotonic_clock` and `secure_random` do; without them
/// the system's answer.
#[test]
fn supplied_clocks_and_random_source_answer_the_guest() {
    use std::time::Duration;
    use wasm_jit_wasi::WasiCtxBuilder;
    use wasm_jit_wasi::clocks::{HostMonotonicClock, HostWallClock, RngCore};
    struct Wall;
    impl HostWallClock for Wall {
        fn resolution(&self) -> Duration {
            Duration::from_millis(1)
        }
        fn now(&self) -> Duration {
            Duration::new(1_700_000_000, 5)
        }
    }
    struct Ticks(std::sync::atomic::AtomicU64);
    impl HostMonotonicClock for Ticks {
        fn resolution(&self) -> u64 {
            7
        }
        fn now(&self) -> u64 {
            self.0.fetch_add(10, std::sync::atomic::Ordering::Relaxed)
        }
    }
    /// Counts up from a seed: 1, 2, 3, ... for seed 0.
    struct Counter(u8);
    impl RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    const GUEST: &str = r#"(module
      (import "wasi_snapshot_preview1" "clock_time_get"
        (func $time (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "clock_res_get"
        (func $res (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "random_get"
        (func $random (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "time") (param i32) (result i64)
        (drop (call $time (local.get 0) (i64.const 1) (i32.const 0)))
        (i64.load (i32.const 0)))
      ;; The resolution, or minus the errno.
      (func (export "res") (param i32) (result i64) (local $e i32)
        (i64.store (i32.const 0) (i64.const 0))
        (local.set $e (call $res (local.get 0) (i32.const 0)))
        (if (result i64) (local.get $e)
          (then (i64.sub (i64.const 0) (i64.extend_i32_u (local.get $e))))
          (else (i64.load (i32.const 0)))))
      (func (export "random") (result i64)
        (drop (call $random (i32.const 8) (i32.const 8)))
        (i64.load (i32.const 8))))"#;
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).unwrap();
    let mut linker = Linker::new(&engine);
    wasm_jit_wasi::p1::add_to_linker_sync(&mut linker, |t| t).unwrap();
    // A store of the guest with a context `builder` builds, and its
    // `time`, `res` and `random`.
    let guest = |builder: &mut WasiCtxBuilder| {
        let mut store = Store::new(&engine, builder.build_p1());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let time = instance.get_typed_func::<i32, i64>(&mut store, "time");
        let res = instance.get_typed_func::<i32, i64>(&mut store, "res");
        let random = instance.get_typed_func::<(), i64>(&mut store, "random");
        (store, time.unwrap(), res.unwrap(), random.unwrap())
    };
    let mut builder = WasiCtxBuilder::new();
    let (mut store, time, _, random) = guest(&mut builder);
    // The system's: a realtime clock after 2020, random bytes.
    assert!(time.call(&mut store, 0).unwrap() > 1_577_836_800_000_000_000);
    assert!(time.call(&mut store, 1).unwrap() > 0);
    let a = random.call(&mut store, ()).unwrap();
    assert_ne!(a, random.call(&mut store, ()).unwrap());

    builder
        .wall_clock(Wall)
        .monotonic_clock(Ticks(100.into()))
        .secure_random(Counter(0));
    let (mut store, time, res, random) = guest(&mut builder);
    assert_eq!(time.call(&mut store, 0).unwrap(), 1_700_000_000_000_000_005);
    assert_eq!(res.call(&mut store, 0).unwrap(), 1_000_000);
    assert_eq!(time.call(&mut store, 1).unwrap(), 100);
    assert_eq!(time.call(&mut store, 1).unwrap(), 110);
    assert_eq!(res.call(&mut store, 1).unwrap(), 7);
    assert_eq!(
        random.call(&mut store, ()).unwrap(),
        i64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8])
    );
    assert_eq!(
        random.call(&mut store, ()).unwrap(),
        i64::from_le_bytes([9, 10, 11, 12, 13, 14, 15, 16])
    );
    // The CPU-time clocks stay the system's (nanosecond resolution on
    // Linux, not the supplied clocks' 1 ms or 7 ns).
    let cpu = res.call(&mut store, 2).unwrap();
    assert!((1..1000).contains(&cpu), "{cpu}");
}

#[test]
fn memory_pipes_feed_and_capture_the_guest_streams() {
    use wasm_jit_wasi::WasiCtxBuilder;
    use wasm_jit_wasi::pipe::{MemoryInputPipe, MemoryOutputPipe};
    let engine = Engine::default();
    let (module, linker) = wasi_program(&engine, "cat");
    let input: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let run = |capacity: usize| {
        let stdout = MemoryOutputPipe::new(capacity);
        let wasi = WasiCtxBuilder::new()
            .arg("cat")
            .stdin(MemoryInputPipe::new(input.clone()))
            .stdout(stdout.clone())
            .build_p1();
        let mut store = Store::new(&engine, wasi);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .unwrap();
        let exit = match start.call(&mut store, ()) {
            Ok(()) => 0,
            Err(e) => e.downcast_ref::<wasm_jit_wasi::I32Exit>().unwrap().0,
        };
        drop(store);
        (exit, stdout.try_into_inner().unwrap())
    };
    assert_eq!(run(1 << 20), (0, input.clone()));
    // Room for only part of it: `cat` writes in 4096-byte pieces, so the
    // first two fit and the third fails.
    let (_, out) = run(10_000);
    assert_eq!(out, input[..8192]);
}

/// `preopened_dir`'s permissions, as Wasmtime's: without `DirPerms::MUTATE`
/// nothing in the directory is created, renamed, linked or removed, and no
/// file in it opened for writing; without `FilePerms::WRITE` no file is
/// opened for writing or truncated; without `DirPerms::READ` nothing is
/// listed or opened; a link or rename needs the same permissions on both
/// sides (no file of a read-only preopen becomes writable through another).
/// Each refusal is `EPERM` (63) and leaves the files as they were.
#[test]
fn preopen_permissions_limit_what_the_guest_may_do() {
    use wasm_jit_wasi::p1::{self, WasiP1Ctx};
    use wasm_jit_wasi::{DirPerms, FilePerms, WasiCtxBuilder};
    const PERM: i32 = 63;
    let engine = Engine::default();
    // Each export makes one call on the preopen (fd 3) and returns its
    // errno; names at 0 ("old", 3 bytes), 8 ("new"), 16 ("sub").
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "path_rename" (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "path_link" (func $link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "path_filestat_set_times" (func $times (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_readdir" (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 0) "old")
             (data (i32.const 8) "new")
             (data (i32.const 16) "sub")
             (func $open_old (param $oflags i32) (param $rights i64) (result i32)
               (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3)
                 (local.get $oflags) (local.get $rights) (i64.const 0) (i32.const 0) (i32.const 100)))
             ;; FD_READ, then FD_WRITE, then CREAT of "new" with FD_READ, then TRUNC
             (func (export "read") (result i32) (call $open_old (i32.const 0) (i64.const 2)))
             (func (export "write") (result i32) (call $open_old (i32.const 0) (i64.const 64)))
             (func (export "truncate") (result i32) (call $open_old (i32.const 8) (i64.const 2)))
             (func (export "create") (result i32)
               (call $open (i32.const 3) (i32.const 0) (i32.const 8) (i32.const 3)
                 (i32.const 1) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100)))
             (func (export "mkdir") (result i32) (call $mkdir (i32.const 3) (i32.const 16) (i32.const 3)))
             (func (export "rename") (result i32)
               (call $rename (i32.const 3) (i32.const 0) (i32.const 3) (i32.const 3) (i32.const 8) (i32.const 3)))
             ;; "old" of the preopen at fd 3 to "new" of the one at fd 4
             (func (export "rename_across") (result i32)
               (call $rename (i32.const 3) (i32.const 0) (i32.const 3) (i32.const 4) (i32.const 8) (i32.const 3)))
             (func (export "link_across") (result i32)
               (call $link (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3) (i32.const 4) (i32.const 8) (i32.const 3)))
             (func (export "unlink") (result i32) (call $unlink (i32.const 3) (i32.const 0) (i32.const 3)))
             (func (export "touch") (result i32)
               (call $times (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3) (i64.const 0) (i64.const 0) (i32.const 10)))
             (func (export "list") (result i32)
               (call $readdir (i32.const 3) (i32.const 200) (i32.const 200) (i64.const 0) (i32.const 100)))
             ;; opens "old" for writing and writes "x" (1 byte at 24) through it
             (func (export "write_through") (result i32) (local $e i32)
               (local.set $e (call $open_old (i32.const 0) (i64.const 64)))
               (if (local.get $e) (then (return (local.get $e))))
               (i32.store (i32.const 32) (i32.const 24))
               (i32.store (i32.const 36) (i32.const 1))
               (i32.store8 (i32.const 24) (i32.const 120))
               (call $write (i32.load (i32.const 100)) (i32.const 32) (i32.const 1) (i32.const 40))))"#,
    )
    .unwrap();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    p1::add_to_linker_sync(&mut linker, |t| t).unwrap();
    let fresh = |name: &str| {
        let dir =
            std::env::temp_dir().join(format!("wasm-jit-perms-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        dir
    };
    // The preopen at fd 3 (with a file "old"), and one at fd 4 (empty,
    // with `second`'s permissions) when given.
    let run_with = |dir_perms: DirPerms,
                    file_perms: FilePerms,
                    second: Option<(DirPerms, FilePerms)>,
                    name: &str|
     -> (i32, std::path::PathBuf) {
        let dir = fresh(name);
        std::fs::write(dir.join("old"), "data").unwrap();
        let mut builder = WasiCtxBuilder::new();
        builder
            .preopened_dir(&dir, "/d", dir_perms, file_perms)
            .unwrap();
        if let Some((d, f)) = second {
            let other = dir.join("other");
            std::fs::create_dir(&other).unwrap();
            builder.preopened_dir(&other, "/other", d, f).unwrap();
        }
        let mut store = Store::new(&engine, builder.build_p1());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let f = instance
            .get_typed_func::<(), i32>(&mut store, name)
            .unwrap();
        (f.call(&mut store, ()).unwrap(), dir)
    };
    let run = |d: DirPerms, f: FilePerms, name: &str| run_with(d, f, None, name);
    let after = |dir: std::path::PathBuf| {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let old = std::fs::read_to_string(dir.join("old")).ok();
        std::fs::remove_dir_all(&dir).unwrap();
        (names, old)
    };
    let untouched = || (vec!["old".to_string()], Some("data".to_string()));

    // Read-only: reading and listing work; every change is EPERM.
    let (ro_dir, ro_file) = (DirPerms::READ, FilePerms::READ);
    for name in ["read", "list"] {
        let (e, dir) = run(ro_dir, ro_file, name);
        assert_eq!(e, 0, "{name}");
        assert_eq!(after(dir), untouched(), "{name}");
    }
    for name in [
        "write", "truncate", "create", "mkdir", "rename", "unlink", "touch",
    ] {
        let (e, dir) = run(ro_dir, ro_file, name);
        assert_eq!(e, PERM, "{name}");
        assert_eq!(after(dir), untouched(), "{name}");
    }
    // Files writable, directory not: writing a file needs both.
    for name in ["write_through", "create"] {
        let (e, dir) = run(DirPerms::READ, FilePerms::all(), name);
        assert_eq!(e, PERM, "{name}");
        assert_eq!(after(dir), untouched(), "{name}");
    }
    // Directory mutable, files read-only: entries come and go, but no file
    // is opened for writing or created.
    let (e, dir) = run(DirPerms::all(), FilePerms::READ, "mkdir");
    assert_eq!(e, 0);
    assert_eq!(after(dir).0, ["old", "sub"]);
    for name in ["write", "create", "truncate"] {
        let (e, dir) = run(DirPerms::all(), FilePerms::READ, name);
        assert_eq!(e, PERM, "{name}");
        assert_eq!(after(dir), untouched(), "{name}");
    }
    // A read-only preopen's file is neither linked nor moved into a
    // writable one; nor between preopens whose permissions differ.
    let all = (DirPerms::all(), FilePerms::all());
    for (first, name) in [
        ((DirPerms::READ, FilePerms::READ), "link_across"),
        ((DirPerms::READ, FilePerms::READ), "rename_across"),
        ((DirPerms::all(), FilePerms::READ), "link_across"),
        ((DirPerms::all(), FilePerms::READ), "rename_across"),
    ] {
        let (e, dir) = run_with(first.0, first.1, Some(all), name);
        assert_eq!(e, PERM, "{name}");
        assert!(
            std::fs::read_dir(dir.join("other"))
                .unwrap()
                .next()
                .is_none()
        );
        std::fs::remove_dir_all(dir.join("other")).unwrap();
        assert_eq!(after(dir), untouched(), "{name}");
    }
    let (e, dir) = run_with(all.0, all.1, Some(all), "rename_across");
    assert_eq!(e, 0);
    assert_eq!(std::fs::read(dir.join("other/new")).unwrap(), b"data");
    std::fs::remove_dir_all(dir.join("other")).unwrap();
    assert_eq!(after(dir).0, Vec::<String>::new());
    // Everything allowed: a file is written in place.
    let (e, dir) = run(DirPerms::all(), FilePerms::all(), "write_through");
    assert_eq!(e, 0);
    assert_eq!(
        after(dir),
        (vec!["old".to_string()], Some("xata".to_string()))
    );
    // Without READ on the directory nothing in it is listed or opened.
    for name in ["read", "list"] {
        let (e, dir) = run(DirPerms::MUTATE, FilePerms::all(), name);
        assert_eq!(e, PERM, "{name}");
        after(dir);
    }
    // Everything allowed: the changes happen.
    let (e, dir) = run(DirPerms::all(), FilePerms::all(), "rename");
    assert_eq!(e, 0);
    assert_eq!(after(dir), (vec!["new".to_string()], None));
}

/// One builder's contexts share its preopened directories: closing one in
/// a context leaves it open in the others, and in contexts built later.
#[test]
fn contexts_of_one_builder_each_have_the_preopens() {
    use wasm_jit_wasi::p1::{self, WasiP1Ctx};
    use wasm_jit_wasi::{DirPerms, FilePerms, WasiCtxBuilder};
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "close") (result i32) (call $close (i32.const 3)))
             (func (export "prestat") (result i32) (call $prestat (i32.const 3) (i32.const 0))))"#,
    )
    .unwrap();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    p1::add_to_linker_sync(&mut linker, |t| t).unwrap();
    let dir = std::env::temp_dir();
    let mut builder = WasiCtxBuilder::new();
    builder
        .preopened_dir(&dir, "/tmp", DirPerms::all(), FilePerms::all())
        .unwrap();
    let mut stores: Vec<_> = (0..2)
        .map(|_| Store::new(&engine, builder.build_p1()))
        .collect();
    let call = |store: &mut Store<WasiP1Ctx>, name: &str| {
        let instance = linker.instantiate(&mut *store, &module).unwrap();
        instance
            .get_typed_func::<(), i32>(&mut *store, name)
            .unwrap()
            .call(&mut *store, ())
            .unwrap()
    };
    assert_eq!(call(&mut stores[0], "close"), 0);
    assert_eq!(call(&mut stores[0], "prestat"), 8, "EBADF once closed");
    assert_eq!(call(&mut stores[1], "prestat"), 0);
    let mut later = Store::new(&engine, builder.build_p1());
    drop(builder);
    assert_eq!(call(&mut later, "prestat"), 0);
    assert_eq!(call(&mut later, "close"), 0);
    assert_eq!(call(&mut stores[1], "prestat"), 0);
}

/// `Linker::module` refuses what Wasmtime refuses, when it is called.
#[test]
fn linker_module_refuses_ambiguous_and_unlinkable_modules() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let both = Module::new(
        &engine,
        r#"(module (func (export "_start")) (func (export "_initialize")))"#,
    )
    .unwrap();
    let err = linker.module(&mut store, "m", &both).unwrap_err();
    assert!(
        err.to_string().contains("both a command and a reactor"),
        "{err}"
    );
    let not_func = Module::new(&engine, r#"(module (memory (export "_start") 1))"#).unwrap();
    let err = linker.module(&mut store, "m", &not_func).unwrap_err();
    assert!(err.to_string().contains("must be a function"), "{err}");
    let missing = Module::new(
        &engine,
        r#"(module (import "env" "f" (func)) (func (export "_start") call 0))"#,
    )
    .unwrap();
    let err = linker.module(&mut store, "m", &missing).unwrap_err();
    assert!(
        err.to_string().contains("unknown import: `env::f`"),
        "{err}"
    );
}

/// Conveniences Wasmtime's examples use: `Store::default()`, the
/// reference accessors of `Val`, `Memory::page_size`, `Memory::read` and
/// `write` failing with a `MemoryAccessError`, `I32Exit`'s message.
#[test]
fn embedder_conveniences_as_in_wasmtime() {
    let store: Store<()> = Store::default();
    let seven = wasm_jit::AnyRef::from_i31(&store, wasm_jit::I31::wrapping_u32(7));
    let v = Val::from(seven);
    assert_eq!(v.unwrap_anyref().unwrap().as_i31().unwrap().get_u32(), 7);
    assert!(matches!(Val::null_any_ref().anyref(), Some(None)));
    assert!(matches!(Val::null_exn_ref().exnref(), Some(None)));
    assert!(Val::from(1i32).anyref().is_none());
    assert!(Val::null_func_ref().unwrap_funcref().is_none());
    assert!(Val::null_extern_ref().unwrap_externref().is_none());
    let bits = Val::V128(0x0102).unwrap_v128();
    assert_eq!(bits.as_u128(), 0x0102);

    let mut config = Config::new();
    config.wasm_custom_page_sizes(true);
    let mut store = Store::new(&Engine::new(&config).unwrap(), ());
    let module = Module::new(
        store.engine(),
        r#"(module (memory (export "small") 3 (pagesize 1))
                   (memory (export "big") 1))"#,
    )
    .unwrap();
    let instance = wasm_jit::Instance::new(&mut store, &module, &[]).unwrap();
    let small = instance.get_memory(&mut store, "small").unwrap();
    let big = instance.get_memory(&mut store, "big").unwrap();
    assert_eq!(
        (small.page_size(&store), small.page_size_log2(&store)),
        (1, 0)
    );
    assert_eq!(big.page_size(&store), 65536);
    small.write(&mut store, 1, &[9, 8]).unwrap();
    let mut buf = [0; 3];
    small.read(&store, 0, &mut buf).unwrap();
    assert_eq!(buf, [0, 9, 8]);
    let e: wasm_jit::MemoryAccessError = small.write(&mut store, 2, &[1, 2]).unwrap_err();
    assert_eq!(e.to_string(), "out of bounds memory access");
    let e = small.read(&store, usize::MAX, &mut buf).unwrap_err();
    // With `?` it becomes an `anyhow::Error` that downcasts back.
    let any: Error = e.into();
    assert!(any.downcast_ref::<wasm_jit::MemoryAccessError>().is_some());

    assert_eq!(
        wasm_jit_wasi::I32Exit(2).to_string(),
        "Exited with i32 exit status 2"
    );
}

/// Host closures and typed calls take as many values as WASI's widest
/// function (`path_open`, 9 parameters), and more: up to 17, as in
/// Wasmtime.
#[test]
fn typed_functions_take_up_to_seventeen_values() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let sum = wasm_jit::Func::wrap(
        &mut store,
        |a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i32, h: i32, i: i32, j: i64| {
            (a + b + c + d + e + f + g + h + i) as i64 + j
        },
    );
    let typed = sum
        .typed::<(i32, i32, i32, i32, i32, i32, i32, i32, i32, i64), i64>(&store)
        .unwrap();
    assert_eq!(
        typed
            .call(&mut store, (1, 2, 3, 4, 5, 6, 7, 8, 9, 100))
            .unwrap(),
        145
    );
    type I = i32;
    type Seventeen = (I, I, I, I, I, I, I, I, I, I, I, I, I, I, I, I, i64);
    let wide = wasm_jit::Func::wrap(&mut store, || -> Seventeen {
        (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17)
    });
    let wide = wide.typed::<(), Seventeen>(&store).unwrap();
    assert_eq!(wide.call(&mut store, ()).unwrap().16, 17);
    // Seventeen parameters, through Wasm, to a host function taking its
    // caller too.
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "last",
            |_: wasm_jit::Caller<'_, ()>,
             a: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             _: I,
             q: i64| a as i64 * q,
        )
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "last" (func $last (param i32 i32 i32 i32 i32 i32 i32 i32 i32
                                                      i32 i32 i32 i32 i32 i32 i32 i64)
                                               (result i64)))
             (func (export "f") (param i32 i32 i32 i32 i32 i32 i32 i32 i32
                                       i32 i32 i32 i32 i32 i32 i32 i64) (result i64)
               (call $last (local.get 0) (local.get 1) (local.get 2) (local.get 3)
                           (local.get 4) (local.get 5) (local.get 6) (local.get 7)
                           (local.get 8) (local.get 9) (local.get 10) (local.get 11)
                           (local.get 12) (local.get 13) (local.get 14) (local.get 15)
                           (local.get 16))))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance
        .get_typed_func::<Seventeen, i64>(&mut store, "f")
        .unwrap();
    let args = (3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 << 40);
    assert_eq!(f.call(&mut store, args).unwrap(), 3 << 40);
}

/// `Linker::define` takes the store its item belongs to, as Wasmtime's
/// does, and refuses an item of another store.
#[test]
fn define_takes_the_store_of_its_item() {
    use wasm_jit::{Memory, MemoryType};
    let engine = Engine::default();
    let mut a = Store::new(&engine, ());
    let b = Store::new(&engine, ());
    let memory = Memory::new(&mut a, MemoryType::new(1, None)).unwrap();
    let mut linker = Linker::new(&engine);
    let err = linker.define(&b, "env", "m", memory).unwrap_err();
    assert!(err.to_string().contains("another store"), "{err}");
    linker.define(&a, "env", "m", memory).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "m" (memory 1))
             (func (export "size") (result i32) memory.size))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut a, &module).unwrap();
    let size = instance.get_typed_func::<(), i32>(&mut a, "size").unwrap();
    assert_eq!(size.call(&mut a, ()).unwrap(), 1);
}

/// Memory accessors take whatever lends a store, as in Wasmtime: a caller
/// by either reference, a store, and a generic `impl AsContextMut`.
#[test]
fn memory_accessors_take_any_store_lender() {
    use wasm_jit::{AsContextMut, Caller, Extern, Memory};
    fn poke(mut store: impl AsContextMut<Data = ()>, memory: Memory, at: usize, value: u8) {
        memory.data_mut(&mut store)[at] = value;
    }
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "bump",
            |mut caller: Caller<'_, ()>, at: i32| -> i32 {
                let Some(Extern::Memory(memory)) = caller.get_export("m") else {
                    return -1;
                };
                let old = memory.data(&caller)[at as usize];
                let same = memory.data(&mut caller)[at as usize];
                memory.data_mut(&mut caller)[at as usize] = old + 1;
                poke(&mut caller, memory, at as usize + 1, same + 10);
                i32::from(old)
            },
        )
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "bump" (func $bump (param i32) (result i32)))
             (memory (export "m") 1)
             (func (export "run") (result i32)
               (drop (call $bump (i32.const 8)))
               (call $bump (i32.const 8))))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 1);
    let memory = instance.get_memory(&mut store, "m").unwrap();
    assert_eq!(&memory.data(&store)[8..10], &[2, 11]);
    poke(&mut store, memory, 9, 0);
    assert_eq!(memory.data(&mut store)[9], 0);
}

/// A host function reads and sets the store's fuel through its `Caller`;
/// the Wasm that called it goes on with what it set.
#[test]
fn callers_get_and_set_fuel() {
    use wasm_jit::Caller;
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(10_000).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "fuel", |caller: Caller<'_, ()>| -> i64 {
            caller.get_fuel().unwrap() as i64
        })
        .unwrap();
    linker
        .func_wrap("host", "drain", |mut caller: Caller<'_, ()>| {
            caller.set_fuel(0).unwrap();
        })
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "fuel" (func $fuel (result i64)))
             (import "host" "drain" (func $drain))
             (func (export "left") (result i64) (call $fuel))
             (func $three (result i32) (i32.add (i32.const 1) (i32.const 2)))
             ;; Fuel is checked at function entries and loop headers.
             (func (export "drained") (result i32)
               (call $drain)
               (call $three)))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let left = instance
        .get_typed_func::<(), i64>(&mut store, "left")
        .unwrap();
    let seen = left.call(&mut store, ()).unwrap();
    assert!(seen > 9_000 && seen < 10_000, "{seen}");
    let drained = instance
        .get_typed_func::<(), i32>(&mut store, "drained")
        .unwrap();
    let err = drained.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::OutOfFuel),
        "{err:?}"
    );
}

/// As in Wasmtime, a store starts with no fuel, and with none left no Wasm
/// runs at all: even a function without loops or calls traps on entry.
/// With fuel, it runs, and what it used is taken.
#[test]
fn no_fuel_runs_nothing() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (func (export "one") (result i32) (i32.add (i32.const 0) (i32.const 1))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    assert_eq!(store.get_fuel().unwrap(), 0);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let one = instance
        .get_typed_func::<(), i32>(&mut store, "one")
        .unwrap();
    let err = one.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::OutOfFuel),
        "{err:?}"
    );
    store.set_fuel(100).unwrap();
    assert_eq!(one.call(&mut store, ()).unwrap(), 1);
    let left = store.get_fuel().unwrap();
    assert!(left < 100, "{left}");
    // The store goes on: drained, it traps again.
    store.set_fuel(0).unwrap();
    assert!(one.call(&mut store, ()).is_err());
}

/// `Instance::exports` yields `Export`s (`name()`, `into_func()`, ...), as
/// Wasmtime's does, and does not keep the store borrowed.
#[test]
fn instance_exports_iterate_as_in_wasmtime() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "one") (result i32) i32.const 1)
             (memory (export "mem") 1)
             (global (export "g") i32 (i32.const 5)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let exports = instance.exports(&mut store);
    assert_eq!(exports.len(), 3);
    let mut names = Vec::new();
    for export in exports {
        names.push(export.name().to_string());
        if let Some(f) = export.clone().into_func() {
            let f = f.typed::<(), i32>(&store).unwrap();
            assert_eq!(f.call(&mut store, ()).unwrap(), 1);
        }
        if let Some(g) = export.into_global() {
            assert_eq!(g.get(&mut store).i32(), Some(5));
        }
    }
    assert_eq!(names, ["one", "mem", "g"]);
}

/// A limiter with Wasmtime's signatures: `Ok(false)` refuses (-1), `Err`
/// traps with the limiter's own error, a growth it allowed that fails
/// anyway is reported to `memory_grow_failed` / `table_grow_failed`.
#[derive(Default)]
struct Strict {
    calls: Vec<String>,
    fail_on_failure: bool,
}

#[derive(Debug)]
struct TooBig(usize);

impl std::fmt::Display for TooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes is too big", self.0)
    }
}

impl std::error::Error for TooBig {}

impl wasm_jit::ResourceLimiter for Strict {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasm_jit::Result<bool> {
        self.calls
            .push(format!("memory {current} -> {desired} (max {maximum:?})"));
        match desired {
            d if d > 8 << 16 => Err(TooBig(d).into()),
            d if d > 4 << 16 => Ok(false),
            _ => Ok(true),
        }
    }
    fn memory_grow_failed(&mut self, error: Error) -> wasm_jit::Result<()> {
        self.calls.push(format!("memory failed: {error}"));
        if self.fail_on_failure {
            Err(error.context("memory failure"))
        } else {
            Ok(())
        }
    }
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasm_jit::Result<bool> {
        self.calls
            .push(format!("table {current} -> {desired} (max {maximum:?})"));
        if desired > 100 {
            Err(TooBig(desired).into())
        } else {
            Ok(true)
        }
    }
    fn table_grow_failed(&mut self, error: Error) -> wasm_jit::Result<()> {
        self.calls.push(format!("table failed: {error}"));
        Ok(())
    }
}

#[test]
fn limiter_errors_trap_with_the_limiters_error() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") 1 6) (table 1 6 funcref)
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
             (func (export "tgrow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, Strict::default());
    store.limiter(|s| s);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    let tgrow = instance
        .get_typed_func::<i32, i32>(&mut store, "tgrow")
        .unwrap();
    // Allowed, refused (-1), past the declared maximum (allowed by the
    // limiter, then reported as failed: -1), and an error (a trap carrying it).
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 3).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 0).unwrap(), 2);
    let err = grow.call(&mut store, 7).unwrap_err();
    assert_eq!(
        err.downcast_ref::<TooBig>().map(|e| e.0),
        Some(9 << 16),
        "{err:?}"
    );
    assert_eq!(tgrow.call(&mut store, 10).unwrap(), -1);
    let err = tgrow.call(&mut store, 200).unwrap_err();
    assert!(err.downcast_ref::<TooBig>().is_some(), "{err:?}");
    assert_eq!(
        store.data().calls,
        [
            "memory 0 -> 65536 (max Some(393216))",
            "table 0 -> 1 (max Some(6))",
            "memory 65536 -> 131072 (max Some(393216))",
            "memory 131072 -> 327680 (max Some(393216))",
            "memory 131072 -> 589824 (max Some(393216))",
            "table 1 -> 11 (max Some(6))",
            "table failed: table maximum size exceeded: 11 elements wanted, at most 6",
            "table 1 -> 201 (max Some(6))",
        ]
    );
    // The same from the host: the limiter's error comes back unchanged.
    let memory = instance.get_memory(&mut store, "m").unwrap();
    let err = memory.grow(&mut store, 20).unwrap_err();
    assert!(err.downcast_ref::<TooBig>().is_some(), "{err:?}");
    // A growth the limiter allowed that fails, with the failure made an error.
    let small = Module::new(
        &engine,
        r#"(module (memory 1 2) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    store.data_mut().fail_on_failure = true;
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &small)
        .unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    let err = grow.call(&mut store, 2).unwrap_err();
    // After the backtrace, the limiter's error and its cause.
    assert!(err.downcast_ref::<wasm_jit::WasmBacktrace>().is_some());
    let causes: Vec<String> = err.chain().skip(1).map(|c| c.to_string()).collect();
    assert_eq!(
        causes.join(": "),
        "memory failure: memory maximum size exceeded: 196608 bytes wanted, at most 131072"
    );
    // The store works on after every trap.
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    // An instance whose initial memory the limiter fails gets its error.
    let big = Module::new(&engine, r#"(module (memory 10))"#).unwrap();
    let err = Linker::new(&engine)
        .instantiate(&mut store, &big)
        .unwrap_err();
    assert!(err.downcast_ref::<TooBig>().is_some(), "{err:?}");
}

#[test]
fn store_limits_can_trap_on_grow_failure() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    for trap in [false, true] {
        let mut store = Store::new(
            &engine,
            wasm_jit::StoreLimitsBuilder::new()
                .memory_size(2 << 16)
                .trap_on_grow_failure(trap)
                .build(),
        );
        store.limiter(|l| l);
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
        let r = grow.call(&mut store, 1);
        if trap {
            let err = r.unwrap_err();
            assert!(
                format!("{err:#}").contains("forcing trap when growing memory (bytes) to 196608"),
                "{err:#}"
            );
        } else {
            assert_eq!(r.unwrap(), -1);
        }
    }
}

#[test]
fn a_panicking_limiter_panics_in_the_embedders_call() {
    struct Panics;
    impl wasm_jit::ResourceLimiter for Panics {
        fn memory_growing(
            &mut self,
            current: usize,
            _: usize,
            _: Option<usize>,
        ) -> wasm_jit::Result<bool> {
            if current > 0 {
                panic!("limiter panicked");
            }
            Ok(true)
        }
        fn table_growing(
            &mut self,
            _: usize,
            _: usize,
            _: Option<usize>,
        ) -> wasm_jit::Result<bool> {
            Ok(true)
        }
    }
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, Panics);
    store.limiter(|l| l);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| grow.call(&mut store, 1)))
        .unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"limiter panicked"));
    assert_eq!(grow.call(&mut store, 0).unwrap(), 1);
}

#[test]
fn instance_pre_resolves_once_and_instantiates_in_many_stores() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "add" (func $add (param i32 i32) (result i32)))
             (global $g (mut i32) (i32.const 0))
             (func (export "next") (result i32)
               (global.set $g (call $add (global.get $g) (i32.const 1)))
               (global.get $g)))"#,
    )
    .unwrap();
    let mut linker: Linker<u32> = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "add",
            |mut caller: wasm_jit::Caller<'_, u32>, a: i32, b: i32| {
                *caller.data_mut() += 1;
                a + b
            },
        )
        .unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    assert_eq!(pre.module().imports().len(), 1);
    let mut stores: Vec<Store<u32>> = (0..2).map(|_| Store::new(&engine, 0)).collect();
    for (i, store) in stores.iter_mut().enumerate() {
        let instance = pre.clone().instantiate(&mut *store).unwrap();
        let next = instance
            .get_typed_func::<(), i32>(&mut *store, "next")
            .unwrap();
        for _ in 0..=i {
            next.call(&mut *store, ()).unwrap();
        }
        // Each instance has its own global; each store its own data.
        assert_eq!(next.call(&mut *store, ()).unwrap(), i as i32 + 2);
        assert_eq!(*store.data(), i as u32 + 2);
    }

    // A missing import, and a host function of another type, are refused
    // by instantiate_pre itself.
    let err = Linker::<u32>::new(&engine)
        .instantiate_pre(&module)
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown import: `host::add`"),
        "{err}"
    );
    let mut wrong: Linker<u32> = Linker::new(&engine);
    wrong.func_wrap("host", "add", |a: i32| a).unwrap();
    let err = wrong.instantiate_pre(&module).unwrap_err();
    assert!(
        err.to_string()
            .contains("incompatible import type for `host::add`"),
        "{err}"
    );

    // An item of one store cannot be instantiated in another.
    let memory_module = Module::new(&engine, r#"(module (import "m" "mem" (memory 1)))"#).unwrap();
    let mut a = Store::new(&engine, 0u32);
    let mem = wasm_jit::Memory::new(&mut a, wasm_jit::MemoryType::new(1, None)).unwrap();
    let mut linker: Linker<u32> = Linker::new(&engine);
    linker.define(&a, "m", "mem", mem).unwrap();
    let pre = linker.instantiate_pre(&memory_module).unwrap();
    pre.instantiate(&mut a).unwrap();
    let mut b = Store::new(&engine, 0u32);
    let err = pre.instantiate(&mut b).unwrap_err();
    assert!(err.to_string().contains("another store"), "{err}");
    let err = linker.instantiate(&mut b, &memory_module).unwrap_err();
    assert!(err.to_string().contains("another store"), "{err}");
}

#[test]
fn epoch_deadline_callbacks_decide_what_happens() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (func (export "sum") (param i32) (result i32) (local i32)
             (block (loop
               (br_if 1 (i32.eqz (local.get 0)))
               (local.set 1 (i32.add (local.get 1) (local.get 0)))
               (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
               (br 0)))
             (local.get 1)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, 0u32);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let sum = instance
        .get_typed_func::<i32, i32>(&mut store, "sum")
        .unwrap();
    // Each call starts past the deadline: the epoch advanced once since.
    let past_deadline = |store: &mut Store<u32>| {
        store.set_epoch_deadline(1);
        engine.increment_epoch();
    };

    // Go on: the callback is asked once, sets a deadline ahead, and the
    // call finishes.
    store.epoch_deadline_callback(|mut cx| {
        *cx.data_mut() += 1;
        Ok(wasm_jit::UpdateDeadline::Continue(1))
    });
    past_deadline(&mut store);
    assert_eq!(sum.call(&mut store, 100).unwrap(), 5050);
    assert_eq!(*store.data(), 1);

    // Interrupt: the usual trap.
    store.epoch_deadline_callback(|_| Ok(wasm_jit::UpdateDeadline::Interrupt));
    past_deadline(&mut store);
    let err = sum.call(&mut store, 100).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::Interrupted),
        "{err:?}"
    );

    // An error: the call returns it.
    store.epoch_deadline_callback(|_| Err(Error::msg("out of time budget")));
    past_deadline(&mut store);
    let err = sum.call(&mut store, 100).unwrap_err();
    assert_eq!(err.root_cause().to_string(), "out of time budget");

    // Back to trapping.
    store.epoch_deadline_trap();
    past_deadline(&mut store);
    let err = sum.call(&mut store, 100).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::Interrupted),
        "{err:?}"
    );
    store.set_epoch_deadline(10);
    assert_eq!(sum.call(&mut store, 10).unwrap(), 55);
}

#[test]
fn limiter_errors_reach_64_bit_growth_host_growth_and_counts() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") i64 1) (table (export "t") i64 1 funcref)
             (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
             (func (export "tgrow") (param i64) (result i64) (table.grow (ref.null func) (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, Strict::default());
    store.limiter(|s| s);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow = instance
        .get_typed_func::<i64, i64>(&mut store, "grow")
        .unwrap();
    let tgrow = instance
        .get_typed_func::<i64, i64>(&mut store, "tgrow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    let err = grow.call(&mut store, 1 << 20).unwrap_err();
    assert!(err.downcast_ref::<TooBig>().is_some(), "{err:?}");
    assert_eq!(tgrow.call(&mut store, 5).unwrap(), 1);
    let err = tgrow.call(&mut store, 1000).unwrap_err();
    assert!(err.downcast_ref::<TooBig>().is_some(), "{err:?}");
    let table = instance.get_table(&mut store, "t").unwrap();
    let err = table
        .grow(&mut store, 1000, Val::FuncRef(None))
        .unwrap_err();
    assert!(err.downcast_ref::<TooBig>().is_some(), "{err:?}");

    // A panic in a count check panics in the instantiating call, and the
    // store works on.
    struct CountPanics(bool);
    impl wasm_jit::ResourceLimiter for CountPanics {
        fn memory_growing(
            &mut self,
            _: usize,
            _: usize,
            _: Option<usize>,
        ) -> wasm_jit::Result<bool> {
            Ok(true)
        }
        fn table_growing(
            &mut self,
            _: usize,
            _: usize,
            _: Option<usize>,
        ) -> wasm_jit::Result<bool> {
            Ok(true)
        }
        fn instances(&self) -> usize {
            if self.0 {
                panic!("count check panicked");
            }
            10
        }
    }
    let mut store = Store::new(&engine, CountPanics(true));
    store.limiter(|s| s);
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Linker::new(&engine).instantiate(&mut store, &module)
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"count check panicked"));
    store.data_mut().0 = false;
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow = instance
        .get_typed_func::<i64, i64>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
}

#[test]
fn unknown_imports_defined_as_traps_or_defaults() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "f" (func $f (result i32 i64 f32 f64 v128 funcref externref)))
             (import "env" "f" (func (result i32 i64 f32 f64 v128 funcref externref)))
             (import "env" "g" (global i32))
             (func (export "call") (result i32 i64 f32 f64 v128 funcref externref) (call $f)))"#,
    )
    .unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .define_unknown_imports_as_default_values(&module)
        .unwrap();
    let mut store = Store::new(&engine, ());
    // Globals are not defined.
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(err.to_string().contains("`env::g`"), "{err}");
    let g = wasm_jit::Global::new(
        &mut store,
        wasm_jit::GlobalType::new(wasm_jit::ValType::I32, wasm_jit::Mutability::Const),
        Val::I32(1),
    )
    .unwrap();
    linker.define(&store, "env", "g", g).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let call = instance.get_func(&mut store, "call").unwrap();
    let mut out = vec![Val::I32(9); 7];
    call.call(&mut store, &[], &mut out).unwrap();
    assert!(matches!(
        out[..],
        [
            Val::I32(0),
            Val::I64(0),
            Val::F32(0),
            Val::F64(0),
            Val::V128(0),
            Val::FuncRef(None),
            Val::ExternRef(None)
        ]
    ));

    let mut linker: Linker<()> = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&module).unwrap();
    linker.define(&store, "env", "g", g).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let call = instance.get_func(&mut store, "call").unwrap();
    let err = call.call(&mut store, &[], &mut out).unwrap_err();
    assert!(
        err.root_cause()
            .to_string()
            .contains("unknown import: `env::f` has not been defined"),
        "{err}"
    );

    // A non-nullable reference has no default.
    let module = Module::new(
        &engine,
        r#"(module (type $t (func)) (import "env" "h" (func (result (ref $t)))))"#,
    )
    .unwrap();
    let err = Linker::<()>::new(&engine)
        .define_unknown_imports_as_default_values(&module)
        .unwrap_err();
    assert!(err.to_string().contains("has no default"), "{err}");
}

/// The epoch callback sees the fuel Wasm used so far, and fuel it sets is
/// what Wasm goes on with.
#[test]
fn epoch_callbacks_see_and_set_fuel() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (func (export "spin") (param i32)
             (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, 0u64);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let spin = instance
        .get_typed_func::<i32, ()>(&mut store, "spin")
        .unwrap();
    store.set_fuel(10_000_000_000).unwrap();
    store.epoch_deadline_callback(|mut cx| {
        let seen = cx.get_fuel()?;
        *cx.data_mut() = seen;
        cx.set_fuel(5)?;
        Ok(wasm_jit::UpdateDeadline::Continue(1_000))
    });
    // The epoch passes the deadline while the loop (no calls in it) runs.
    store.set_epoch_deadline(1);
    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            engine.increment_epoch();
        })
    };
    let err = spin.call(&mut store, i32::MAX).unwrap_err();
    ticker.join().unwrap();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::OutOfFuel),
        "{err:?}"
    );
    // What the callback saw counts the loop's use so far.
    let seen = *store.data();
    assert!(seen < 10_000_000_000 - 1000, "{seen}");
}

/// `cranelift_nan_canonicalization`: every NaN a float operation makes is
/// the canonical one (scalar and vector); without it the CPU's payload
/// stays. `Strategy::Winch` is refused.
#[test]
fn nan_canonicalization_and_strategy() {
    let wat = r#"(module
        (func (export "f32") (result i32)
          (i32.reinterpret_f32 (f32.add (f32.reinterpret_i32 (i32.const 0x7fe00001)) (f32.const 1))))
        (func (export "f64") (result i64)
          (i64.reinterpret_f64 (f64.mul (f64.reinterpret_i64 (i64.const 0x7ff8000000000123)) (f64.const 2))))
        (func (export "f32x4") (result i32)
          (i32x4.extract_lane 2 (f32x4.add (v128.const i32x4 0 0 0x7fe00001 0) (v128.const f32x4 1 1 1 1)))))"#;
    let run = |canonical: bool| {
        let mut config = Config::new();
        config.cranelift_nan_canonicalization(canonical);
        config.strategy(wasm_jit::Strategy::Cranelift);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let f32 = instance
            .get_typed_func::<(), i32>(&mut store, "f32")
            .unwrap();
        let f64 = instance
            .get_typed_func::<(), i64>(&mut store, "f64")
            .unwrap();
        let v = instance
            .get_typed_func::<(), i32>(&mut store, "f32x4")
            .unwrap();
        (
            f32.call(&mut store, ()).unwrap() as u32,
            f64.call(&mut store, ()).unwrap() as u64,
            v.call(&mut store, ()).unwrap() as u32,
        )
    };
    assert_eq!(run(true), (0x7fc0_0000, 0x7ff8_0000_0000_0000, 0x7fc0_0000));
    // x86-64 and aarch64 both pass a quiet NaN's payload on.
    assert_eq!(
        run(false),
        (0x7fe0_0001, 0x7ff8_0000_0000_0123, 0x7fe0_0001)
    );

    let mut config = Config::new();
    config.strategy(wasm_jit::Strategy::Winch);
    let err = Engine::new(&config).unwrap_err();
    assert!(
        err.to_string()
            .contains("not supported yet: the Winch compiler"),
        "{err}"
    );

    // The null GC collector is the one there is.
    let mut config = Config::new();
    config.collector(wasm_jit::Collector::Null);
    Engine::new(&config).unwrap();
    config.collector(wasm_jit::Collector::DeferredReferenceCounting);
    let err = Engine::new(&config).unwrap_err();
    assert!(
        err.to_string()
            .contains("not supported yet: the deferred reference-counting GC collector"),
        "{err}"
    );
}

/// `Store::call_hook` hears every crossing between the host and Wasm, in
/// order, traps included; its error fails the call or traps.
#[test]
fn call_hooks_see_every_crossing() {
    use wasm_jit::CallHook;
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "g" (func $g))
             (func (export "f") (call $g) (call $g))
             (func (export "trap") unreachable))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, (Vec::<CallHook>::new(), None::<CallHook>));
    store.call_hook(|mut cx, kind| {
        cx.data_mut().0.push(kind);
        if cx.data().1 == Some(kind) {
            return Err(Error::msg(format!("refused {kind:?}")));
        }
        Ok(())
    });
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "g", || {}).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    let trap = instance
        .get_typed_func::<(), ()>(&mut store, "trap")
        .unwrap();
    f.call(&mut store, ()).unwrap();
    use CallHook::*;
    assert_eq!(
        store.data().0,
        [
            CallingWasm,
            CallingHost,
            ReturningFromHost,
            CallingHost,
            ReturningFromHost,
            ReturningFromWasm
        ]
    );
    store.data_mut().0.clear();
    let err = trap.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    assert_eq!(store.data().0, [CallingWasm, ReturningFromWasm]);
    for refused in [
        CallingWasm,
        CallingHost,
        ReturningFromHost,
        ReturningFromWasm,
    ] {
        store.data_mut().0.clear();
        store.data_mut().1 = Some(refused);
        let err = f.call(&mut store, ()).unwrap_err();
        assert_eq!(err.root_cause().to_string(), format!("refused {refused:?}"));
        assert!(refused.exiting_host() != refused.entering_host());
    }
    // The hook's error after a trap wins, as in Wasmtime.
    store.data_mut().1 = Some(ReturningFromWasm);
    let err = trap.call(&mut store, ()).unwrap_err();
    assert_eq!(err.to_string(), "refused ReturningFromWasm");
    store.data_mut().1 = None;
    f.call(&mut store, ()).unwrap();

    // A hook that panics panics in the embedder's call, and stays installed.
    let mut store = Store::new(&engine, 0u32);
    store.call_hook(|mut cx, kind| {
        *cx.data_mut() += 1;
        if *cx.data() == 2 && kind == CallHook::CallingHost {
            panic!("hook panicked");
        }
        Ok(())
    });
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "g", || {}).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f.call(&mut store, ())))
        .unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"hook panicked"));
    let before = *store.data();
    f.call(&mut store, ()).unwrap();
    assert_eq!(*store.data(), before + 6);
}

/// Standard streams that were not inherited (`/dev/null` behind them) look
/// like streams too: unknown type, no offsets; and a stream whose rights
/// were narrowed is held to them.
#[test]
fn uninherited_streams_are_streams_and_keep_their_rights() {
    use wasm_jit_wasi::WasiCtxBuilder;
    use wasm_jit_wasi::p1::{self, WasiP1Ctx};
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $get (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_fdstat_set_rights" (func $set (param i32 i64 i64) (result i32)))
             (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             ;; filetype of fd 0; errno of seeking fd 1; errno of writing to
             ;; fd 1 before and after its FD_WRITE right is dropped
             (func (export "probe") (result i32 i32 i32 i32)
               (drop (call $get (i32.const 0) (i32.const 0)))
               (i32.load8_u (i32.const 0))
               (call $seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 64))
               (i32.store (i32.const 32) (i32.const 100))
               (i32.store (i32.const 36) (i32.const 1))
               (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 40))
               (drop (call $set (i32.const 1) (i64.const 0) (i64.const 0)))
               (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 40))))"#,
    )
    .unwrap();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    p1::add_to_linker_sync(&mut linker, |t| t).unwrap();
    let mut store = Store::new(&engine, WasiCtxBuilder::new().build_p1());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let probe = instance
        .get_typed_func::<(), (i32, i32, i32, i32)>(&mut store, "probe")
        .unwrap();
    // UNKNOWN, ESPIPE, success, EBADF.
    assert_eq!(probe.call(&mut store, ()).unwrap(), (0, 70, 0, 8));
}

/// Wasmtime's `Config` knobs: those that change nothing here are accepted,
/// those asking for what is missing make `Engine::new` say so.
#[test]
fn wasmtime_config_knobs() {
    let mut config = Config::new();
    config
        .wasm_backtrace(true)
        .wasm_backtrace_details(wasm_jit::WasmBacktraceDetails::Enable)
        .generate_address_map(true)
        .native_unwind_info(true)
        .debug_info(false)
        .async_support(false)
        .memory_reservation(1 << 20);
    let engine = Engine::new(&config).unwrap();
    // A small reservation checks accesses explicitly: out of bounds still
    // traps.
    let module = Module::new(
        &engine,
        r#"(module (memory 1) (func (export "load") (param i32) (result i32)
             (i32.load (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let load = instance
        .get_typed_func::<i32, i32>(&mut store, "load")
        .unwrap();
    assert_eq!(load.call(&mut store, 0).unwrap(), 0);
    let e = load.call(&mut store, 65534).unwrap_err();
    assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));

    for (set, what) in [
        (
            Config::debug_info as fn(&mut Config, bool) -> &mut Config,
            "DWARF debug info",
        ),
        (Config::async_support, "async support"),
    ] {
        let mut config = Config::new();
        set(&mut config, true);
        let e = Engine::new(&config).unwrap_err().to_string();
        assert!(
            e.starts_with("not supported yet: ") && e.contains(what),
            "{e}"
        );
        // Turned off again, nothing is asked for.
        set(&mut config, false);
        Engine::new(&config).unwrap();
    }
}

/// `Val::default_for_ty`, as Wasmtime's: zero, null for a nullable
/// reference type, and nothing for a non-nullable one.
#[test]
fn default_values_of_types() {
    use wasm_jit::{HeapType, RefType, ValType};
    assert!(matches!(
        Val::default_for_ty(&ValType::I64),
        Some(Val::I64(0))
    ));
    assert!(matches!(
        Val::default_for_ty(&ValType::FuncRef),
        Some(Val::FuncRef(None))
    ));
    let nullable_extern = ValType::Ref(RefType::new(true, HeapType::Extern));
    assert!(matches!(
        Val::default_for_ty(&nullable_extern),
        Some(Val::ExternRef(None))
    ));
    let func = ValType::Ref(RefType::new(false, HeapType::Func));
    assert!(Val::default_for_ty(&func).is_none());
}

/// Host tables and globals typed as Wasmtime's users write reference types
/// (`RefType::FUNCREF`, or `(ref null func)` spelled out) link to a
/// module's `funcref` and `externref` imports: the spellings are one type.
#[test]
fn reference_types_link_in_either_spelling() {
    use wasm_jit::{
        Global, GlobalType, HeapType, Instance, Mutability, RefType, Table, TableType, ValType,
    };
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "" "t" (table 1 funcref))
             (import "" "g" (global (mut externref)))
             (func (export "nulls") (result i32)
               (i32.add (ref.is_null (table.get 0 (i32.const 0)))
                        (ref.is_null (global.get 0)))))"#,
    )
    .unwrap();
    let null_func = ValType::Ref(RefType::new(true, HeapType::Func));
    let null_extern = ValType::Ref(RefType::new(true, HeapType::Extern));
    assert_eq!(ValType::from(RefType::FUNCREF), ValType::FUNCREF);
    assert_eq!(ValType::from(RefType::EXTERNREF), ValType::ExternRef);
    assert!(null_func.is_funcref() && null_extern.is_externref());
    assert!(!ValType::FUNCREF.is_externref());
    assert!(RefType::FUNCREF.is_nullable());
    assert_eq!(RefType::EXTERNREF.heap_type(), &HeapType::Extern);

    let table_types = [
        TableType::new(RefType::FUNCREF, 1, None),
        TableType::new(null_func, 1, None),
        // The fields are public: a type built without `new` still matches.
        TableType {
            element: null_func,
            ..TableType::new(ValType::FuncRef, 1, None)
        },
    ];
    let global_types = [
        GlobalType::new(null_extern, Mutability::Var),
        GlobalType {
            content: null_extern,
            ..GlobalType::new(ValType::ExternRef, Mutability::Var)
        },
    ];
    for (t, g) in table_types
        .into_iter()
        .zip(global_types.into_iter().cycle())
    {
        let mut store = Store::new(&engine, ());
        let table = Table::new(&mut store, t, Val::FuncRef(None)).unwrap();
        let global = Global::new(&mut store, g, Val::ExternRef(None)).unwrap();
        let instance = Instance::new(&mut store, &module, &[table.into(), global.into()])
            .unwrap_or_else(|e| panic!("{t:?} / {g:?}: {e:#}"));
        let nulls = instance
            .get_typed_func::<(), i32>(&mut store, "nulls")
            .unwrap();
        assert_eq!(nulls.call(&mut store, ()).unwrap(), 2);
        // The items report their types in one spelling.
        assert_eq!(table.ty(&store).element(), &ValType::FuncRef);
        assert_eq!(global.ty(&store).content(), &ValType::ExternRef);
    }

    // A non-nullable or an immutable one still does not match.
    let mut store = Store::new(&engine, ());
    let table = Table::new(
        &mut store,
        TableType::new(RefType::FUNCREF, 1, None),
        Val::FuncRef(None),
    )
    .unwrap();
    let immutable = Global::new(
        &mut store,
        GlobalType::new(null_extern, Mutability::Const),
        Val::ExternRef(None),
    )
    .unwrap();
    let e = Instance::new(&mut store, &module, &[table.into(), immutable.into()]).unwrap_err();
    assert!(
        format!("{e:#}").contains("incompatible import type"),
        "{e:#}"
    );
}

/// Wasmtime's error macros and `error` module, as host code uses them.
#[test]
fn error_macros_as_in_wasmtime() {
    use wasm_jit::error::Context as _;
    fn even(x: u32) -> wasm_jit::Result<u32> {
        wasm_jit::ensure!(x.is_multiple_of(2), "{x} is not even");
        if x > 100 {
            wasm_jit::bail!("{x} is too large");
        }
        wasm_jit::error::Ok(x / 2)
    }
    assert_eq!(even(4).unwrap(), 2);
    assert_eq!(even(3).unwrap_err().to_string(), "3 is not even");
    assert_eq!(even(102).unwrap_err().to_string(), "102 is too large");
    let e: Error = wasm_jit::format_err!("code {}", 7);
    assert_eq!(e.to_string(), "code 7");
    let with_context = even(5).context("halving");
    assert_eq!(
        format!("{:#}", with_context.unwrap_err()),
        "halving: 5 is not even"
    );
}

/// `Config::target` given an architecture alone, as Wasmtime's examples
/// pass it, means that architecture on this machine's operating system.
#[test]
fn a_bare_architecture_is_a_target() {
    for arch in ["x86_64", "aarch64"] {
        let mut config = Config::new();
        config.target(arch).unwrap();
        let engine = Engine::new(&config).unwrap_or_else(|e| panic!("{arch}: {e:#}"));
        let artifact = engine.precompile_module(b"\0asm\x01\0\0\0").unwrap();
        assert!(Module::is_serialized(&artifact), "{arch}");
    }
    let mut config = Config::new();
    config.target("x86_64-unknown-none").unwrap();
    let e = Engine::new(&config).unwrap_err();
    assert!(format!("{e:#}").contains("not supported yet"), "{e:#}");
}

/// A store without a limiter holds at most Wasmtime's default number of
/// instances, and says so.
#[test]
fn stores_without_a_limiter_cap_instances_as_wasmtime_does() {
    let engine = Engine::default();
    let module = Module::new(&engine, "(module)").unwrap();
    let mut store = Store::new(&engine, ());
    for _ in 0..wasm_jit::DEFAULT_INSTANCE_LIMIT {
        wasm_jit::Instance::new(&mut store, &module, &[]).unwrap();
    }
    let e = wasm_jit::Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot instantiate: the store's limit on instances was reached"
    );
    // Another store is not affected.
    let mut other = Store::new(&engine, ());
    wasm_jit::Instance::new(&mut other, &module, &[]).unwrap();

    // Tables the host makes do not count against the store's tables (as
    // in Wasmtime); those its instances define do.
    use wasm_jit::{StoreLimitsBuilder, Table, TableType, ValType};
    let mut store = Store::new(&engine, StoreLimitsBuilder::new().tables(1).build());
    store.limiter(|l| l);
    for _ in 0..3 {
        Table::new(
            &mut store,
            TableType::new(ValType::FuncRef, 1, None),
            Val::FuncRef(None),
        )
        .unwrap();
    }
    let with_table = Module::new(&engine, "(module (table 1 funcref))").unwrap();
    wasm_jit::Instance::new(&mut store, &with_table, &[]).unwrap();
    let e = wasm_jit::Instance::new(&mut store, &with_table, &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot instantiate: the store's limit on tables was reached"
    );
}

/// `Table::fill` and `Table::copy` as `table.fill` and `table.copy`:
/// overlapping ranges in one table, subtyping between tables, and nothing
/// changed by a range out of bounds.
#[test]
fn tables_fill_and_copy_from_the_host() {
    use wasm_jit::{Func, Instance, RefType, Table, TableType, ValType};
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (type $t (func (result i32)))
             (table (export "typed") 4 (ref null $t))
             (func $a (export "a") (result i32) i32.const 1)
             (func $b (export "b") (result i32) i32.const 2)
             (func (export "call") (param i32) (result i32)
               (call_indirect 0 (type $t) (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let a = instance.get_func(&mut store, "a").unwrap();
    let b = instance.get_func(&mut store, "b").unwrap();
    let typed = instance.get_table(&mut store, "typed").unwrap();
    let call = instance
        .get_typed_func::<i32, i32>(&mut store, "call")
        .unwrap();
    let host = Table::new(
        &mut store,
        TableType::new(RefType::FUNCREF, 6, None),
        Val::FuncRef(None),
    )
    .unwrap();
    let is =
        |store: &mut Store<()>, t: &Table, i: u64, f: Option<&Func>| match t.get(&mut *store, i) {
            Some(Val::FuncRef(got)) => got.as_ref() == f,
            other => panic!("{other:?}"),
        };

    host.fill(&mut store, 1, Val::FuncRef(Some(a)), 3).unwrap();
    assert!(is(&mut store, &host, 0, None));
    assert!((1..4).all(|i| is(&mut store, &host, i, Some(&a))));
    assert!(is(&mut store, &host, 4, None));
    // Out of bounds (also by overflow): nothing changes.
    for (at, len) in [(4, 3), (u64::MAX, 2), (7, 0)] {
        let e = host
            .fill(&mut store, at, Val::FuncRef(Some(b)), len)
            .unwrap_err();
        assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::TableOutOfBounds));
        assert_eq!(e.to_string(), "wasm trap: out of bounds table access");
    }
    assert!(is(&mut store, &host, 4, None) && is(&mut store, &host, 5, None));
    // Filling at the end with nothing is in bounds.
    host.fill(&mut store, 6, Val::FuncRef(Some(b)), 0).unwrap();

    // Overlapping ranges in one table: [_, a, b, a, _, _] copied from 1
    // to 2, three elements, is [_, a, a, b, a, _].
    host.set(&mut store, 2, Val::FuncRef(Some(b))).unwrap();
    Table::copy(&mut store, &host, 2, &host, 1, 3).unwrap();
    let want = [None, Some(&a), Some(&a), Some(&b), Some(&a), None];
    for (i, f) in want.iter().enumerate() {
        assert!(is(&mut store, &host, i as u64, *f), "element {i}");
    }

    // A typed table's elements go into a funcref table; not the reverse.
    typed.set(&mut store, 0, Val::FuncRef(Some(b))).unwrap();
    Table::copy(&mut store, &host, 5, &typed, 0, 1).unwrap();
    assert!(is(&mut store, &host, 5, Some(&b)));
    let e = Table::copy(&mut store, &typed, 0, &host, 0, 1).unwrap_err();
    assert!(e.to_string().starts_with("type mismatch"), "{e}");
    // An extern table is no funcref table's source either.
    let externs = Table::new(
        &mut store,
        TableType::new(ValType::ExternRef, 1, None),
        Val::ExternRef(None),
    )
    .unwrap();
    assert!(Table::copy(&mut store, &host, 0, &externs, 0, 1).is_err());
    for (dst, src) in [(5, 0), (0, 5)] {
        let e = Table::copy(&mut store, &host, dst, &host, src, 2).unwrap_err();
        assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::TableOutOfBounds));
    }

    // What the host put in is what the guest calls.
    Table::copy(&mut store, &typed, 1, &typed, 0, 1).unwrap();
    assert_eq!(call.call(&mut store, 1).unwrap(), 2);
}

/// `Memory::data_ptr`, `Export::ty` and `ProfilingStrategy`, as in
/// Wasmtime.
#[test]
fn memory_pointers_export_types_and_profiling_strategy() {
    use wasm_jit::{ExternType, Instance, ProfilingStrategy};
    let mut config = Config::new();
    config.profiler(ProfilingStrategy::None);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") 1)
             (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let memory = instance.get_memory(&mut store, "m").unwrap();
    let ptr = memory.data_ptr(&store);
    assert_eq!(ptr, memory.data(&store).as_ptr() as *mut u8);
    // SAFETY: the memory has 65536 accessible bytes at `ptr`, and nothing
    // else borrows them.
    unsafe { ptr.add(70).write(42) };
    let get = instance
        .get_typed_func::<i32, i32>(&mut store, "get")
        .unwrap();
    assert_eq!(get.call(&mut store, 70).unwrap(), 42);
    let kinds: Vec<_> = instance
        .exports(&mut store)
        .map(|e| (e.name().to_string(), e.ty(&store)))
        .collect();
    assert!(matches!(&kinds[0], (n, ExternType::Memory(m)) if n == "m" && m.minimum == 1));
    let ty = memory.ty(&store);
    assert_eq!((ty.page_size_log2(), ty.page_size()), (16, 65536));
    assert!(matches!(&kinds[1], (n, ExternType::Func(f)) if n == "get" && f.params().len() == 1));
}

/// `Linker::alias_module`, `get_by_import` and `iter`, and
/// `TypedFunc::func` giving a reference, as in Wasmtime.
#[test]
fn linker_aliases_modules_and_lists_its_definitions() {
    use wasm_jit::{Extern, Func};
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "twice", |x: i32| x * 2)
        .unwrap()
        .func_wrap("host", "one", || 1i32)
        .unwrap();
    linker.alias_module("host", "env").unwrap();
    // Already defined there: refused, and nothing is added.
    linker.func_wrap("other", "one", || 11i32).unwrap();
    linker.func_wrap("other", "new", || 12i32).unwrap();
    let e = linker.alias_module("other", "env").unwrap_err();
    assert_eq!(e.to_string(), "import `env::one` is already defined");
    assert!(linker.get(&mut store, "env", "new").is_none());

    let module = Module::new(
        &engine,
        r#"(module (import "env" "twice" (func $t (param i32) (result i32)))
             (import "env" "one" (func $o (result i32)))
             (func (export "run") (result i32) (call $t (call $o))))"#,
    )
    .unwrap();
    for import in module.imports() {
        let item = linker.get_by_import(&mut store, &import).unwrap();
        assert!(matches!(item, Extern::Func(_)), "{}", import.name());
    }
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 2);
    let untyped: &Func = run.func();
    let mut out = [Val::I32(0)];
    untyped.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out[0].unwrap_i32(), 2);

    let names: Vec<(String, String)> = linker
        .iter(&mut store)
        .map(|(m, n, _)| (m.to_string(), n.to_string()))
        .collect();
    let want = [
        ("env", "one"),
        ("env", "twice"),
        ("host", "one"),
        ("host", "twice"),
        ("other", "new"),
        ("other", "one"),
    ];
    assert_eq!(
        names,
        want.map(|(m, n)| (m.to_string(), n.to_string())).to_vec()
    );
    // With shadowing allowed, a module's names replace those of the alias.
    linker.allow_shadowing(true);
    linker.alias_module("other", "env").unwrap();
    let one = linker
        .get(&mut store, "env", "one")
        .unwrap()
        .into_func()
        .unwrap();
    let mut out = [Val::I32(0)];
    one.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out[0].unwrap_i32(), 11);
}

/// Wasmtime's `Engine` helpers for artifacts: `detect_precompiled` tells
/// an artifact from Wasm, `precompile_compatibility_hash` is equal for
/// engines that load each other's artifacts (and differs here for one that
/// does not), and `weak` does not keep the engine alive.
#[test]
fn engines_detect_artifacts_hash_compatibility_and_go_weak() {
    use std::hash::{Hash, Hasher};
    use wasm_jit::Precompiled;
    let hash = |engine: &Engine| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        h.finish()
    };
    let engine = Engine::default();
    let wasm = wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 7))"#).unwrap();
    let artifact = engine.precompile_module(&wasm).unwrap();
    assert_eq!(
        engine.detect_precompiled(&artifact),
        Some(Precompiled::Module)
    );
    assert_eq!(engine.detect_precompiled(&wasm), None);
    assert_eq!(engine.detect_precompiled(b"(module)"), None);
    let dir = std::env::temp_dir().join(format!("wasm-jit-detect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("m.cwasm"), &artifact).unwrap();
    std::fs::write(dir.join("m.wasm"), &wasm).unwrap();
    assert_eq!(
        engine.detect_precompiled_file(dir.join("m.cwasm")).unwrap(),
        Some(Precompiled::Module)
    );
    assert_eq!(
        engine.detect_precompiled_file(dir.join("m.wasm")).unwrap(),
        None
    );
    let err = engine
        .detect_precompiled_file(dir.join("missing"))
        .unwrap_err();
    assert!(err.to_string().starts_with("cannot read `"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();

    // Same settings, same hash, and the artifact loads; other settings,
    // another hash, and it is refused.
    let same = Engine::new(&Config::new()).unwrap();
    assert_eq!(hash(&engine), hash(&same));
    // SAFETY: the artifact was made above by an engine of this build.
    unsafe { Module::deserialize(&same, &artifact) }.unwrap();
    let mut config = Config::new();
    config.consume_fuel(true);
    let other = Engine::new(&config).unwrap();
    assert_ne!(hash(&engine), hash(&other));
    // SAFETY: as above.
    assert!(unsafe { Module::deserialize(&other, &artifact) }.is_err());

    let weak = engine.weak();
    assert!(Engine::same(&weak.upgrade().unwrap(), &engine));
    assert!(!engine.is_async() && !engine.is_pulley());
    drop(engine);
    assert!(weak.upgrade().is_none());
}

/// Config switches of Wasmtime's: what is not there is refused by name;
/// Cranelift settings reach the code generator and the artifact key.
#[test]
fn wasmtime_config_switches_apply_or_are_refused() {
    let refused = |config: &Config, what: &str| {
        let err = Engine::new(config).unwrap_err().to_string();
        assert!(
            err.starts_with("not supported yet: ") && err.contains(what),
            "{err}"
        );
    };
    refused(
        Config::new().signals_based_traps(false),
        "signals_based_traps",
    );
    refused(Config::new().coredump_on_trap(true), "coredump_on_trap");
    refused(Config::new().wasm_component_model(true), "component model");
    Engine::new(
        Config::new()
            .signals_based_traps(true)
            .coredump_on_trap(false)
            .wasm_component_model(false)
            .table_lazy_init(false),
    )
    .unwrap();

    let wat = r#"(module (func (export "f") (param i32) (result i32)
                   (i32.mul (local.get 0) (i32.const 6))))"#;
    let mut config = Config::new();
    // SAFETY: a setting that changes only how hard Cranelift optimises.
    unsafe { config.cranelift_flag_set("opt_level", "none") };
    let flagged = Engine::new(&config).unwrap();
    let module = Module::new(&flagged, wat).unwrap();
    let mut store = Store::new(&flagged, ());
    let instance = Linker::new(&flagged)
        .instantiate(&mut store, &module)
        .unwrap();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "f")
        .unwrap();
    assert_eq!(f.call(&mut store, 7).unwrap(), 42);
    // An artifact of the default engine is for other settings.
    let artifact = Engine::default().precompile_module(wat.as_bytes()).unwrap();
    // SAFETY: made just above by this build.
    let err = unsafe { Module::deserialize(&flagged, &artifact) }.unwrap_err();
    assert!(format!("{err:#}").contains("cranelift"), "{err:#}");

    let mut config = Config::new();
    // SAFETY: refused before any code is made.
    unsafe { config.cranelift_flag_enable("no_such_setting") };
    let err = Engine::new(&config).unwrap_err().to_string();
    assert!(
        err.contains("unknown cranelift setting `no_such_setting`"),
        "{err}"
    );
    let mut config = Config::new();
    // SAFETY: as above.
    unsafe { config.cranelift_flag_set("opt_level", "fastest") };
    let err = Engine::new(&config).unwrap_err().to_string();
    assert!(err.contains("cranelift setting opt_level=fastest"), "{err}");
    // A preset, enabled as Wasmtime's `cranelift_flag_enable` does.
    if cfg!(target_arch = "x86_64") {
        let mut config = Config::new();
        // SAFETY: only an engine is made; no code compiled for it runs.
        unsafe { config.cranelift_flag_enable("nehalem") };
        Engine::new(&config).unwrap();
    }
    // An instruction-set setting of this machine's architecture.
    let mut config = Config::new();
    let isa_flag = if cfg!(target_arch = "x86_64") {
        "has_sse41"
    } else {
        "has_lse"
    };
    // SAFETY: every CPU this engine runs on has it (x86-64: SIMD needs
    // SSE4.1; aarch64: the tests' CPUs have LSE).
    unsafe { config.cranelift_flag_set(isa_flag, "false") };
    Engine::new(&config).unwrap();
}

/// An explicitly checked memory that may not move keeps its base and
/// refuses to grow past its reservation; one that may, grows on.
#[test]
fn memories_that_may_not_move() {
    let wat = r#"(module (memory (export "m") 1)
                   (data (i32.const 100) "data")
                   (func (export "grow") (param i32) (result i32)
                     (memory.grow (local.get 0))))"#;
    let run = |config: &Config| {
        let engine = Engine::new(config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let memory = instance.get_memory(&mut store, "m").unwrap();
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(&memory.data(&store)[100..104], b"data");
        let base = memory.data_ptr(&store);
        // 1 MiB is 16 pages: 15 more fit.
        assert_eq!(grow.call(&mut store, 15).unwrap(), 1);
        assert_eq!(memory.data_ptr(&store), base);
        (
            grow.call(&mut store, 1).unwrap(),
            memory.data_ptr(&store) == base,
            memory.size(&store),
        )
    };
    let mut config = Config::new();
    config.memory_reservation(1 << 20).memory_may_move(false);
    assert_eq!(run(&config), (-1, true, 16));
    config.memory_may_move(true);
    assert_eq!(run(&config).0, 16);

    // Room for growth: a memory made larger than its reservation gets it.
    let mut config = Config::new();
    config
        .memory_reservation(64 << 10)
        .memory_reservation_for_growth(1 << 20)
        .memory_may_move(false);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let memory = wasm_jit::Memory::new(&mut store, wasm_jit::MemoryType::new(2, None)).unwrap();
    let base = memory.data_ptr(&store);
    memory.grow(&mut store, 16).unwrap();
    assert!(
        memory.grow(&mut store, 1).is_err(),
        "2 + 16 pages fill 2 pages and 1 MiB"
    );
    assert_eq!((memory.data_ptr(&store), memory.size(&store)), (base, 18));

    // A 64-bit memory that may not move gets Wasmtime's 4 GiB by default.
    let mut config = Config::new();
    config.memory_may_move(false);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let memory = wasm_jit::Memory::new(&mut store, wasm_jit::MemoryType::new64(1, None)).unwrap();
    let base = memory.data_ptr(&store);
    memory.grow(&mut store, 1000).unwrap();
    assert_eq!(memory.data_ptr(&store), base);
    assert!(memory.grow(&mut store, 65536).is_err(), "past 4 GiB");
}

/// Memory 0 initialised from a copy-on-write image (data reaching 64 KiB
/// in) or by copying its segments: the same contents, and each instance's
/// writes its own.
#[test]
fn memory_images_and_copies_give_the_same_contents() {
    let wat = r#"(module (memory (export "m") 2)
                   (data (i32.const 16) "low")
                   (data (i32.const 70000) "image"))"#;
    for cow in [true, false] {
        let mut config = Config::new();
        config.memory_init_cow(cow);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let linker = Linker::new(&engine);
        let first = linker.instantiate(&mut store, &module).unwrap();
        let first = first.get_memory(&mut store, "m").unwrap();
        assert_eq!(&first.data(&store)[16..19], b"low", "cow {cow}");
        assert_eq!(&first.data(&store)[70000..70005], b"image", "cow {cow}");
        assert!(first.data(&store)[19..70000].iter().all(|&b| b == 0));
        first.data_mut(&mut store)[70000..70005].copy_from_slice(b"WRITE");
        let second = linker.instantiate(&mut store, &module).unwrap();
        let second = second.get_memory(&mut store, "m").unwrap();
        assert_eq!(&second.data(&store)[70000..70005], b"image", "cow {cow}");
        assert_eq!(&first.data(&store)[70000..70005], b"WRITE", "cow {cow}");
    }
}

/// `Linker::module` refuses a command exporting something other than
/// functions, beyond what toolchains add, unless unknown exports are
/// allowed (Wasmtime's rule).
#[test]
fn commands_with_unknown_exports() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let known = Module::new(
        &engine,
        r#"(module (memory (export "memory") 1) (table (export "__indirect_function_table") 1 funcref)
             (global (export "__heap_base") i32 (i32.const 0))
             (global (export "__dso_handle") i32 (i32.const 0))
             (func (export "_start")))"#,
    )
    .unwrap();
    Linker::new(&engine)
        .module(&mut store, "ok", &known)
        .unwrap();
    let unknown = Module::new(
        &engine,
        r#"(module (global (export "counter") i32 (i32.const 0)) (func (export "_start")))"#,
    )
    .unwrap();
    let err = Linker::new(&engine)
        .module(&mut store, "m", &unknown)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "command export `counter` is not a function (see Linker::allow_unknown_exports)"
    );
    let mut linker = Linker::new(&engine);
    linker.allow_unknown_exports(true);
    linker.module(&mut store, "m", &unknown).unwrap();
    assert!(linker.get(&mut store, "m", "_start").is_some());
    assert!(linker.get(&mut store, "m", "counter").is_none());
}

/// A trap's frames give the offset of the instruction in the module and in
/// its function's body, as Wasmtime's `FrameInfo` does.
#[test]
fn backtrace_frames_give_module_and_function_offsets() {
    let engine = Engine::default();
    let wasm = wat::parse_str(
        r#"(module (import "host" "f" (func))
             (func $inner nop nop unreachable)
             (func (export "outer") (call $inner)))"#,
    )
    .unwrap();
    let module = Module::new(&engine, &wasm).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "f", || {}).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let outer = instance.get_func(&mut store, "outer").unwrap();
    let err = outer.call(&mut store, &[], &mut []).unwrap_err();
    let frames = err
        .downcast_ref::<wasm_jit::WasmBacktrace>()
        .expect("a backtrace")
        .frames();
    assert_eq!(frames.len(), 2);
    let inner = &frames[0];
    assert_eq!((inner.func_index(), inner.func_name()), (1, Some("inner")));
    // The body: no local declarations (0x00), nop, nop, unreachable (0x00).
    assert_eq!(inner.func_offset(), Some(3));
    let at = inner.module_offset().unwrap();
    assert_eq!(wasm[at], 0x00, "unreachable");
    assert_eq!(&wasm[at - 3..at], &[0x00, 0x01, 0x01]);
    // The caller's frame is at its call, one byte into its body.
    assert_eq!(frames[1].func_offset(), Some(1));
    assert_eq!(wasm[frames[1].module_offset().unwrap()], 0x10, "call");
}

/// Memory and table types take 32-bit limits, as Wasmtime's, and 64-bit
/// ones for 64-bit indices.
#[test]
fn types_take_wasmtimes_limit_widths() {
    use wasm_jit::{MemoryType, RefType, TableType};
    let (min, max): (u32, u32) = (2, 10);
    let memory = MemoryType::new(min, Some(max));
    assert_eq!(
        (memory.minimum(), memory.maximum(), memory.is_64()),
        (2, Some(10), false)
    );
    let shared = MemoryType::shared(min, max);
    assert!(shared.is_shared() && !shared.is_64());
    let big: u64 = 1 << 40;
    let memory64 = MemoryType::new64(big, None);
    assert_eq!((memory64.minimum(), memory64.is_64()), (big, true));
    let table = TableType::new(RefType::FUNCREF, min, Some(max));
    assert_eq!(
        (table.minimum(), table.maximum(), table.is_64()),
        (2, Some(10), false)
    );
    let table64 = TableType::new64(RefType::FUNCREF, big, None);
    assert_eq!((table64.minimum(), table64.is_64()), (big, true));
}

/// `Val::ty` gives precise types, as Wasmtime's: the bottom type of its
/// hierarchy for a null, a function's own type, a GC object's own type;
/// `Val::matches_ty` follows subtyping; a reference into another store is
/// an error.
#[test]
fn values_have_precise_types() {
    use wasm_jit::{AnyRef, ExternRef, HeapType, I31, RefType, ValType};
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (type $t (func))
             (type $s (struct (field i32)))
             (func $f (export "f") (type $t))
             (global (export "gf") (ref null $t) (ref.func $f))
             (global (export "gs") (ref null $s) (struct.new $s (i32.const 1))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let non_null = |g: &str, store: &mut Store<()>| {
        let global = inst.get_global(&mut *store, g).unwrap();
        let ValType::Ref(r) = *global.ty(&*store).content() else {
            panic!("{g}: not a reference");
        };
        assert!(r.is_nullable());
        (
            global.get(&mut *store),
            r,
            ValType::Ref(RefType::new(false, r.heap)),
        )
    };
    let r = |nullable, heap| ValType::Ref(RefType::new(nullable, heap));

    let (f, nullable_t, t) = non_null("gf", &mut store);
    assert_eq!(f.ty(&store).unwrap(), t);
    for (ty, expected) in [
        (t, true),
        (ValType::Ref(nullable_t), true),
        (r(false, HeapType::Func), true),
        (ValType::FuncRef, true),
        (ValType::ExternRef, false),
        (r(false, HeapType::NoFunc), false),
    ] {
        assert_eq!(f.matches_ty(&store, &ty).unwrap(), expected, "{ty}");
    }
    let null = Val::null_func_ref();
    assert_eq!(null.ty(&store).unwrap(), r(true, HeapType::NoFunc));
    assert!(null.matches_ty(&store, &ValType::Ref(nullable_t)).unwrap());
    assert!(!null.matches_ty(&store, &t).unwrap());
    assert!(!null.matches_ty(&store, &ValType::ExternRef).unwrap());

    let (s, _, s_ty) = non_null("gs", &mut store);
    assert_eq!(s.ty(&store).unwrap(), s_ty);
    assert!(s.matches_ty(&store, &r(false, HeapType::Eq)).unwrap());
    assert!(!s.matches_ty(&store, &r(false, HeapType::I31)).unwrap());
    assert!(!s.matches_ty(&store, &t).unwrap());
    let i31 = Val::from(AnyRef::from_i31(&store, I31::wrapping_i32(-5)));
    assert_eq!(i31.ty(&store).unwrap(), r(false, HeapType::I31));
    assert!(i31.matches_ty(&store, &r(true, HeapType::Eq)).unwrap());
    assert!(!i31.matches_ty(&store, &s_ty).unwrap());
    assert_eq!(
        Val::null_any_ref().ty(&store).unwrap(),
        r(true, HeapType::None)
    );
    let e = Val::from(ExternRef::new(&mut store, 7u32));
    assert_eq!(e.ty(&store).unwrap(), r(false, HeapType::Extern));
    assert_eq!(
        Val::null_extern_ref().ty(&store).unwrap(),
        r(true, HeapType::NoExtern)
    );
    assert_eq!(
        Val::null_exn_ref().ty(&store).unwrap(),
        r(true, HeapType::NoExn)
    );
    assert_eq!(Val::I64(3).ty(&store).unwrap(), ValType::I64);
    assert!(Val::I64(3).matches_ty(&store, &ValType::I64).unwrap());
    assert!(!Val::I64(3).matches_ty(&store, &ValType::I32).unwrap());

    let other = Store::new(&engine, ());
    let err = f.ty(&other).unwrap_err();
    assert!(err.to_string().contains("another store"), "{err}");
    assert!(f.matches_ty(&other, &t).is_err());
}

/// `MemoryTypeBuilder`, as Wasmtime's: defaults, every setting, and the
/// settings that make no valid memory type refused when built.
#[test]
fn memory_types_are_built_and_checked() {
    use wasm_jit::{Memory, MemoryType, MemoryTypeBuilder};
    assert_eq!(
        MemoryTypeBuilder::new().build().unwrap(),
        MemoryType::new(0, None)
    );
    let ty = MemoryTypeBuilder::new()
        .min(4096)
        .max(Some(70_000))
        .page_size_log2(0)
        .build()
        .unwrap();
    assert_eq!(
        (ty.minimum(), ty.maximum(), ty.page_size(), ty.is_64()),
        (4096, Some(70_000), 1, false)
    );
    let shared = MemoryTypeBuilder::new()
        .min(1)
        .max(Some(2))
        .shared(true)
        .build()
        .unwrap();
    assert_eq!(shared, MemoryType::shared(1, 2));
    let big = MemoryTypeBuilder::new()
        .memory64(true)
        .min(1 << 20)
        .build()
        .unwrap();
    assert_eq!(big, MemoryType::new64(1 << 20, None));

    let refused = |b: &MemoryTypeBuilder| b.build().unwrap_err().to_string();
    assert!(refused(MemoryTypeBuilder::new().page_size_log2(12)).contains("2^12 bytes"));
    assert!(refused(MemoryTypeBuilder::new().min(3).max(Some(2))).contains("above the maximum"));
    assert!(refused(MemoryTypeBuilder::new().shared(true)).contains("must have a maximum"));
    assert!(
        refused(MemoryTypeBuilder::new().min(65_537)).contains("32-bit memory of 65536-byte pages")
    );
    assert!(
        refused(
            MemoryTypeBuilder::new()
                .max(Some(1 << 32))
                .page_size_log2(0)
        )
        .contains("maximum of 4294967296 pages is more than")
    );
    MemoryTypeBuilder::new().min(65_536).build().unwrap();

    // A built type makes a memory.
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, ty).unwrap();
    assert_eq!(memory.data_size(&store), 4096);
}

/// `Config::cache` with a `Cache` from a `CacheConfig` or a configuration
/// file, as in Wasmtime: compiling a module keeps it in the directory.
#[test]
fn caches_are_configured_as_in_wasmtime() {
    use wasm_jit::{Cache, CacheConfig};
    let dir = std::env::temp_dir().join(format!("wasm-jit-cache-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let entries = |d: &std::path::Path| {
        std::fs::read_dir(d)
            .map(|r| {
                r.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "cwasm")
                })
                .count()
            })
            .unwrap_or(0)
    };
    let compile = |cache: Cache| {
        let mut config = Config::new();
        config.cache(Some(cache));
        let engine = Engine::new(&config).unwrap();
        Module::new(
            &engine,
            r#"(module (func (export "f") (result i32) i32.const 1))"#,
        )
        .unwrap();
    };

    let mut c = CacheConfig::new();
    c.with_directory(dir.join("a"))
        .with_files_total_size_soft_limit(1 << 20);
    let cache = Cache::new(c).unwrap();
    assert_eq!(cache.directory(), dir.join("a"));
    compile(cache);
    assert_eq!(entries(&dir.join("a")), 1);

    // The cache's own limit reaches the engine: at 1 byte, each entry
    // written removes the others.
    let mut c = CacheConfig::new();
    c.with_directory(dir.join("tiny"))
        .with_files_total_size_soft_limit(1);
    let tiny = Cache::new(c).unwrap();
    for body in ["i32.const 1", "i32.const 2"] {
        let mut config = Config::new();
        config.cache(Some(tiny.clone()));
        let engine = Engine::new(&config).unwrap();
        let wat = format!(r#"(module (func (export "f") (result i32) {body}))"#);
        Module::new(&engine, wat).unwrap();
    }
    assert_eq!(entries(&dir.join("tiny")), 1);

    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    let b = dir.join("b");
    std::fs::write(
        &file,
        format!(
            "[cache]\ndirectory = '{}'\nfiles-total-size-soft-limit = \"1Mi\"\n",
            b.display()
        ),
    )
    .unwrap();
    compile(Cache::from_file(Some(&file)).unwrap());
    assert_eq!(entries(&b), 1);

    let mut relative = CacheConfig::new();
    relative.with_directory("cache");
    let err = Cache::new(relative).unwrap_err();
    assert!(
        err.to_string().contains("must be an absolute path"),
        "{err}"
    );
    std::fs::write(&file, "[cache]\nenabled = true\n").unwrap();
    let err = Cache::from_file(Some(&file)).unwrap_err();
    assert!(
        err.to_string()
            .contains("line 2: unknown setting `enabled`"),
        "{err}"
    );
    let err = Cache::from_file(Some(&dir.join("missing.toml"))).unwrap_err();
    assert!(
        err.to_string().contains("cannot read cache configuration"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Items of one store given to another are errors where Wasmtime's are,
/// never panics, and both stores go on.
#[test]
fn another_stores_items_are_errors() {
    use wasm_jit::{
        ExternRef, Func, Global, GlobalType, Mutability, RefType, Table, TableType, ValType,
    };
    let engine = Engine::default();
    let mut s1 = Store::new(&engine, ());
    let mut s2 = Store::new(&engine, ());
    let f = Func::wrap(&mut s1, || 1i32);
    let e = ExternRef::new(&mut s1, 5u32);
    let expect = |r: wasm_jit::Result<()>, what: &str| {
        let err = r.expect_err(what);
        let msg = format!("{err:#}");
        assert!(msg.contains("another store"), "{what}: {msg}");
    };

    let imports = Module::new(&engine, r#"(module (import "" "" (func (result i32))))"#).unwrap();
    expect(
        Instance::new(&mut s2, &imports, &[f.into()]).map(drop),
        "a foreign import",
    );

    let takes = Module::new(
        &engine,
        r#"(module (func (export "c") (param funcref)) (func (export "x") (param externref)))"#,
    )
    .unwrap();
    let i = Instance::new(&mut s2, &takes, &[]).unwrap();
    let c = i.get_typed_func::<Option<Func>, ()>(&mut s2, "c").unwrap();
    expect(c.call(&mut s2, Some(f)), "a typed argument");
    let x = i
        .get_typed_func::<Option<ExternRef>, ()>(&mut s2, "x")
        .unwrap();
    expect(x.call(&mut s2, Some(e)), "a typed externref argument");
    let dynamic = i.get_func(&mut s2, "c").unwrap();
    expect(
        dynamic.call(&mut s2, &[Val::FuncRef(Some(f))], &mut []),
        "a dynamic argument",
    );

    let funcs = TableType::new(RefType::FUNCREF, 1, None);
    expect(
        Table::new(&mut s2, funcs, Val::FuncRef(Some(f))).map(drop),
        "a table's initial value",
    );
    let table = Table::new(&mut s2, funcs, Val::FuncRef(None)).unwrap();
    expect(
        table.set(&mut s2, 0, Val::FuncRef(Some(f))),
        "a table element",
    );
    expect(
        table.grow(&mut s2, 1, Val::FuncRef(Some(f))).map(drop),
        "a grown table element",
    );
    expect(
        table.fill(&mut s2, 0, Val::FuncRef(Some(f)), 1),
        "a table fill",
    );
    let externs = TableType::new(RefType::EXTERNREF, 1, None);
    let table2 = Table::new(&mut s2, externs, Val::ExternRef(None)).unwrap();
    expect(
        table2.set(&mut s2, 0, Val::ExternRef(Some(e))),
        "an externref element",
    );

    let mutable = GlobalType::new(ValType::FUNCREF, Mutability::Var);
    expect(
        Global::new(&mut s2, mutable, Val::FuncRef(Some(f))).map(drop),
        "a global's initial value",
    );
    let global = Global::new(&mut s2, mutable, Val::FuncRef(None)).unwrap();
    expect(
        global.set(&mut s2, Val::FuncRef(Some(f))),
        "a global's value",
    );

    // Both stores go on.
    c.call(&mut s2, None).unwrap();
    assert!(table.get(&mut s2, 0).unwrap().unwrap_funcref().is_none());
    let one = f.typed::<(), i32>(&s1).unwrap();
    assert_eq!(one.call(&mut s1, ()).unwrap(), 1);
}

/// A backtrace names the module as `Module::name` does: its name section's
/// name first (as Wasmtime's backtraces), else the name it was loaded
/// under, else none.
#[test]
fn backtraces_name_the_module() {
    use wasm_jit::WasmBacktrace;
    let engine = Engine::default();
    let module_name = |module: &Module| {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, module, &[]).unwrap();
        let f = instance
            .get_typed_func::<(), ()>(&mut store, "outer")
            .unwrap();
        let err = f.call(&mut store, ()).unwrap_err();
        let trace = err.downcast_ref::<WasmBacktrace>().expect("a backtrace");
        let frame = &trace.frames()[0];
        assert_eq!(frame.func_name(), Some("inner"));
        (frame.module_name().map(str::to_string), format!("{trace}"))
    };
    let named = r#"(module $hello (func $inner unreachable)
                     (func (export "outer") call $inner))"#;
    let unnamed = r#"(module (func $inner unreachable)
                       (func (export "outer") call $inner))"#;
    let m = Module::new(&engine, named).unwrap();
    assert_eq!(m.name(), Some("hello"));
    let (name, shown) = module_name(&m);
    assert_eq!(name.as_deref(), Some("hello"));
    assert!(shown.contains("hello!inner"), "{shown}");
    let m = Module::new_with_name(&engine, named, Some("file.wasm")).unwrap();
    assert_eq!(module_name(&m).0.as_deref(), m.name());
    let m = Module::new_with_name(&engine, unnamed, Some("file.wasm")).unwrap();
    assert_eq!(module_name(&m).0.as_deref(), Some("file.wasm"));
    let m = Module::new(&engine, unnamed).unwrap();
    let (name, shown) = module_name(&m);
    assert_eq!(name, None);
    assert!(shown.contains("<unknown>!inner"), "{shown}");
}
