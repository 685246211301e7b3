//! Compiled modules saved and loaded (`Module::serialize`,
//! `Module::deserialize`): same behaviour as compiling, traps included;
//! artifacts from another configuration, truncated or corrupted ones are
//! refused with an error.

use wasm_jit::{Config, Engine, Linker, Module, Store, Trap, Val};

const WAT: &str = r#"(module
  (memory 1)
  (data (i32.const 16) "hello")
  (func $fib (export "fib") (param i64) (result i64)
    (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
      (then (local.get 0))
      (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                     (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "floor") (param f64) (result f64) (f64.floor (local.get 0))))"#;

fn run(engine: &Engine, module: &Module) -> (i64, i32, f64, Option<Trap>) {
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine).instantiate(&mut store, module).unwrap();
    let fib = instance
        .get_typed_func::<i64, i64>(&mut store, "fib")
        .unwrap();
    let load = instance
        .get_typed_func::<i32, i32>(&mut store, "load")
        .unwrap();
    let floor = instance
        .get_typed_func::<f64, f64>(&mut store, "floor")
        .unwrap();
    let trap = load
        .call(&mut store, 70000)
        .unwrap_err()
        .downcast_ref::<Trap>()
        .copied();
    (
        fib.call(&mut store, 20).unwrap(),
        load.call(&mut store, 17).unwrap(),
        floor.call(&mut store, -2.5).unwrap(),
        trap,
    )
}

#[test]
fn a_loaded_artifact_behaves_as_the_compiled_module() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let bytes = module.serialize().unwrap();
    assert!(Module::is_serialized(&bytes));
    // SAFETY: the artifact was just written by this engine.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let expected = (6765, i32::from(b'e'), -3.0, Some(Trap::MemoryOutOfBounds));
    assert_eq!(run(&engine, &module), expected);
    assert_eq!(run(&engine, &loaded), expected);
    // And again from the loaded one: the artifact survives a round trip.
    assert_eq!(loaded.serialize().unwrap(), bytes);
}

/// An open file loads from its start, wherever its handle stands, and is
/// the file that was opened even once its path names another.
#[test]
fn an_open_artifact_file_loads_whatever_its_path_becomes() {
    use std::io::Read;
    let engine = Engine::default();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    let dir = std::env::temp_dir().join(format!("wasm-jit-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.cwasm");
    std::fs::write(&path, &bytes).unwrap();
    let mut file = std::fs::File::open(&path).unwrap();
    let mut head = [0u8; 64];
    file.read_exact(&mut head).unwrap();
    assert!(Module::is_serialized(&head));
    // Another file takes the path (a rename, as `compile -o` writes).
    let other = dir.join("other");
    std::fs::write(&other, b"not an artifact").unwrap();
    std::fs::rename(&other, &path).unwrap();
    // SAFETY: the open file was written from this engine's artifact and
    // nothing changes it (its path now names another file).
    let loaded = unsafe { Module::deserialize_open_file(&engine, file) }.unwrap();
    let expected = (6765, i32::from(b'e'), -3.0, Some(Trap::MemoryOutOfBounds));
    assert_eq!(run(&engine, &loaded), expected);
    // An empty file is refused, not mapped.
    std::fs::write(&path, b"").unwrap();
    let empty = std::fs::File::open(&path).unwrap();
    // SAFETY: refused before any code is used.
    let err = unsafe { Module::deserialize_open_file(&engine, empty) }.unwrap_err();
    assert!(format!("{err:#}").contains("not a"), "{err:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn other_configurations_and_damaged_artifacts_are_refused() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();

    let mut config = Config::new();
    config.consume_fuel(true);
    let fuel = Engine::new(&config).unwrap();
    // SAFETY: refused before anything runs.
    let err = unsafe { Module::deserialize(&fuel, &bytes) }.unwrap_err();
    assert!(
        format!("{err:#}").contains("fuel=false in the artifact, fuel=true in this engine"),
        "{err:#}"
    );

    for cut in [0, 10, 20, 40, bytes.len() / 2, bytes.len() - 1] {
        // SAFETY: refused before anything runs.
        let err = unsafe { Module::deserialize(&engine, &bytes[..cut]) }.unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("truncated")
                || msg.contains("damaged or cut short")
                || msg.contains("not a wasm-jit compiled module"),
            "{cut}: {msg}"
        );
    }
    // Damage anywhere after the magic (one bit of each byte in turn, the
    // machine code and the engine's fingerprint included) is refused as
    // damage before anything in the artifact is used.
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 1 << (at % 8);
        // SAFETY: refused before anything runs.
        let err = unsafe { Module::deserialize(&engine, &damaged) }.unwrap_err();
        let msg = format!("{err:#}");
        if at >= 16 {
            assert_eq!(
                msg,
                "cannot load the compiled module: the artifact is damaged or cut short \
                 (its checksum does not match): compile it again",
                "{at}"
            );
        } else {
            assert!(
                msg.starts_with("cannot load the compiled module: "),
                "{at}: {msg}"
            );
        }
    }
    let mut longer = bytes.clone();
    longer.push(0);
    // SAFETY: refused before anything runs.
    let err = unsafe { Module::deserialize(&engine, &longer) }.unwrap_err();
    assert!(
        format!("{err:#}").contains("damaged or cut short"),
        "{err:#}"
    );
    // SAFETY: refused before anything runs.
    let err = unsafe { Module::deserialize(&engine, b"\0asm\x01\0\0\0") }.unwrap_err();
    assert!(
        format!("{err:#}").contains("not a wasm-jit compiled module"),
        "{err:#}"
    );
}

/// An artifact's `call_indirect` checks must compare with the canonical type
/// ids of the engine that loads it, not of the one that compiled it: here
/// the loading engine has interned another type first, so the two engines
/// number `$t` differently.
#[test]
fn call_indirect_checks_use_the_loading_engines_type_ids() {
    let wat = r#"(module
      (type $t (func (param i64) (result i64)))
      (type $u (func (param f32)))
      (table (export "t") 2 funcref)
      (elem (i32.const 0) $id $g)
      (func $id (type $t) (local.get 0))
      (func $g (type $u))
      (func (export "call") (param i32 i64) (result i64)
        (call_indirect (type $t) (local.get 1) (local.get 0))))"#;
    let saved = Module::new(&Engine::default(), wat)
        .unwrap()
        .serialize()
        .unwrap();
    let engine = Engine::default();
    let _first = Module::new(
        &engine,
        "(module (func (param f32)) (func (param f64) (result f64) local.get 0))",
    )
    .unwrap();
    // SAFETY: the bytes were serialized just above, by this engine version.
    let module = unsafe { Module::deserialize(&engine, &saved) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let call = instance
        .get_typed_func::<(i32, i64), i64>(&mut store, "call")
        .unwrap();
    assert_eq!(call.call(&mut store, (0, 7)).unwrap(), 7);
    let err = call.call(&mut store, (1, 7)).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::IndirectCallTypeMismatch),
        "{err:#}"
    );
}

fn triple(arch: &str) -> String {
    format!("{arch}-unknown-linux-gnu")
}

/// `Config::target` for this machine's architecture: baseline features,
/// compiled ahead of time with `Engine::precompile_module`, loaded and run
/// by an engine with the same target.
#[test]
fn precompiled_for_this_architecture_runs() {
    let mut config = Config::new();
    config.target(&triple(std::env::consts::ARCH)).unwrap();
    let engine = Engine::new(&config).unwrap();
    let saved = engine.precompile_module(WAT.as_bytes()).unwrap();
    assert!(Module::is_serialized(&saved));
    // SAFETY: made just above by this engine.
    let module = unsafe { Module::deserialize(&engine, &saved) }.unwrap();
    assert_eq!(
        run(&engine, &module),
        (6765, b'e' as i32, -3.0, Some(Trap::MemoryOutOfBounds))
    );
    // The host's own engine compiles for all of this CPU's features, and
    // runs code that uses fewer.
    // SAFETY: as above.
    let host = Engine::default();
    let module = unsafe { Module::deserialize(&host, &saved) }.unwrap();
    assert_eq!(
        run(&host, &module),
        (6765, b'e' as i32, -3.0, Some(Trap::MemoryOutOfBounds))
    );
    // A lazily compiled artifact would be joined by code compiled here
    // (for this CPU's features): only an exact match loads.
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        let mut lazy = Config::new();
        lazy.target(&triple(std::env::consts::ARCH))
            .unwrap()
            .compilation_mode(wasm_jit::CompilationMode::Lazy);
        let lazy_engine = Engine::new(&lazy).unwrap();
        let saved = Module::new(&lazy_engine, WAT).unwrap().serialize().unwrap();
        let mut host_lazy = Config::new();
        host_lazy.compilation_mode(wasm_jit::CompilationMode::Lazy);
        // SAFETY: made just above.
        let err =
            unsafe { Module::deserialize(&Engine::new(&host_lazy).unwrap(), &saved) }.unwrap_err();
        assert!(
            format!("{err:#}").contains("lazily compiled for other CPU features"),
            "{err:#}"
        );
    }
    // Not so another configuration of that target.
    let mut fuel = Config::new();
    fuel.target(&triple(std::env::consts::ARCH))
        .unwrap()
        .consume_fuel(true);
    // SAFETY: as above.
    let err = unsafe { Module::deserialize(&Engine::new(&fuel).unwrap(), &saved) }.unwrap_err();
    assert!(format!("{err:#}").contains("another engine build, version, target or configuration"));
}

/// An engine for the other architecture compiles but never loads code.
#[test]
fn code_for_another_architecture_is_compiled_but_never_run() {
    let other = if cfg!(target_arch = "x86_64") {
        "aarch64"
    } else {
        "x86_64"
    };
    let mut config = Config::new();
    config.target(&triple(other)).unwrap();
    let engine = Engine::new(&config).unwrap();
    let saved = engine.precompile_module(WAT.as_bytes()).unwrap();

    let refused = |e: anyhow::Error| {
        let msg = format!("{e:#}");
        assert!(
            msg.starts_with(&format!("this engine compiles for {}", triple(other)))
                && msg.contains("cannot run on this machine"),
            "{msg}"
        );
    };
    refused(Module::new(&engine, WAT).unwrap_err());
    // SAFETY: made just above (and refused before any code is placed).
    refused(unsafe { Module::deserialize(&engine, &saved) }.unwrap_err());
    // Host functions can be made (for a linker), but calls go through
    // generated code, so they are refused too.
    let mut store = Store::new(&engine, ());
    let host = wasm_jit::Func::wrap(&mut store, |x: i32| x + 1);
    let mut out = [Val::I32(0)];
    refused(host.call(&mut store, &[Val::I32(1)], &mut out).unwrap_err());

    let mut config = Config::new();
    let err = config.target("no-such-target").map(|_| ()).unwrap_err();
    assert!(
        format!("{err:#}").starts_with("unknown target `no-such-target`"),
        "{err:#}"
    );
    for (triple, why) in [
        ("riscv64gc-unknown-linux-gnu", "riscv64gc targets"),
        ("aarch64_be-unknown-linux-gnu", "aarch64_be targets"),
        (
            "x86_64-unknown-linux-gnux32",
            "x86_64-unknown-linux-gnux32 (32-bit pointers)",
        ),
        (
            "aarch64-unknown-linux-gnu_ilp32",
            "aarch64-unknown-linux-gnu_ilp32 (32-bit pointers)",
        ),
        ("aarch64-apple-darwin", "darwin targets (only Linux)"),
    ] {
        config.target(triple).unwrap();
        assert_eq!(
            format!("{:#}", Engine::new(&config).unwrap_err()),
            format!("cannot configure the code generator: not supported yet: {why}")
        );
    }
}

/// Far calls (for modules with more code than a direct call reaches: 128
/// MiB on aarch64) forced on for a small module: direct calls, tail calls
/// and recursion between its functions give the same answers eagerly,
/// lazily and from an artifact.
#[test]
fn far_calls_between_functions() {
    let wat = r#"(module
      (func $fib (export "fib") (param i64) (result i64)
        (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
          (then (local.get 0))
          (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                         (call $fib2 (i64.sub (local.get 0) (i64.const 2)))))))
      (func $fib2 (param i64) (result i64) (return_call $fib (local.get 0)))
      (func (export "count") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 7))
          (else (return_call $down (i32.sub (local.get 0) (i32.const 1))))))
      (func $down (param i32) (result i32)
        (return_call 2 (local.get 0))))"#;
    for lazy in [false, true] {
        let mut config = Config::new();
        config.far_calls_above(0);
        if lazy {
            config.compilation_mode(wasm_jit::CompilationMode::Lazy);
        }
        let engine = Engine::new(&config).unwrap();
        let compiled = Module::new(&engine, wat).unwrap();
        let saved = compiled.serialize().unwrap();
        // SAFETY: made just above by this engine.
        let loaded = unsafe { Module::deserialize(&engine, &saved) }.unwrap();
        for module in [&compiled, &loaded] {
            let mut store = Store::new(&engine, ());
            let instance = Linker::new(&engine)
                .instantiate(&mut store, module)
                .unwrap();
            let fib = instance
                .get_typed_func::<i64, i64>(&mut store, "fib")
                .unwrap();
            assert_eq!(fib.call(&mut store, 25).unwrap(), 75025);
            let count = instance
                .get_typed_func::<i32, i32>(&mut store, "count")
                .unwrap();
            assert_eq!(count.call(&mut store, 1_000_000).unwrap(), 7);
        }
    }
}

/// An artifact carries the trampolines for its imports' and exports'
/// function types: a fresh engine that loads it calls through them, both
/// ways, without compiling any; a module compiled in that engine then
/// reuses them.
#[test]
fn artifacts_bring_their_trampolines() {
    let wat = r#"(module
      (import "host" "mix" (func $mix (param i32 i64 f32 f64) (result f64)))
      (import "host" "pair" (func $pair (param i32) (result i32 i64)))
      (import "host" "refs" (func $refs (param externref funcref) (result i32)))
      (func (export "run") (param i32) (result f64)
        (call $mix (local.get 0) (i64.const 20) (f32.const 0.5) (f64.const 0.25)))
      (func (export "both") (param i32) (result i64) (local i64)
        (call $pair (local.get 0))
        (local.set 1)
        (i64.extend_i32_u)
        (i64.add (local.get 1))
        (i64.extend_i32_u (call $refs (ref.null extern) (ref.null func)))
        (i64.add)))"#;
    let linker = |engine: &Engine| {
        let mut linker = Linker::new(engine);
        linker
            .func_wrap("host", "mix", |a: i32, b: i64, c: f32, d: f64| {
                a as f64 + b as f64 + c as f64 + d
            })
            .unwrap();
        linker
            .func_wrap("host", "pair", |a: i32| (a * 2, 100i64))
            .unwrap();
        linker
            .func_wrap(
                "host",
                "refs",
                |e: Option<wasm_jit::ExternRef>, f: Option<wasm_jit::Func>| {
                    (e.is_none() as i32) + (f.is_none() as i32)
                },
            )
            .unwrap();
        linker
    };
    let check = |engine: &Engine, module: &Module| {
        let mut store = Store::new(engine, ());
        let instance = linker(engine).instantiate(&mut store, module).unwrap();
        let run = instance
            .get_typed_func::<i32, f64>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, 1).unwrap(), 21.75);
        let both = instance
            .get_typed_func::<i32, i64>(&mut store, "both")
            .unwrap();
        assert_eq!(both.call(&mut store, 3).unwrap(), 108);
    };
    let bytes = {
        let engine = Engine::default();
        let module = Module::new(&engine, wat).unwrap();
        check(&engine, &module);
        module.serialize().unwrap()
    };
    let engine = Engine::default();
    // SAFETY: the artifact was just written by an engine of the same
    // configuration.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    check(&engine, &loaded);
    assert_eq!(engine.trampoline_compilations(), 0);
    let compiled = Module::new(&engine, wat).unwrap();
    check(&engine, &compiled);
    assert_eq!(engine.trampoline_compilations(), 0);

    // Loaded from a file, which only the module keeps mapped: once it is
    // dropped the file may change, and the engine's trampolines (copies)
    // do not.
    let path = std::env::temp_dir().join(format!("wasm-jit-tramp-{}.cwasm", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let engine = Engine::default();
    // SAFETY: the file was just written from an artifact of an engine of
    // the same configuration, and stays as it is while `loaded` lives.
    let loaded = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    check(&engine, &loaded);
    drop(loaded);
    std::fs::write(&path, vec![0u8; bytes.len()]).unwrap();
    let compiled = Module::new(&engine, wat).unwrap();
    check(&engine, &compiled);
    assert_eq!(engine.trampoline_compilations(), 0);
    assert!(compiled.serialize().unwrap() == bytes, "the same artifact");
    let _ = std::fs::remove_file(&path);
}

/// An artifact of another format version is recognised as one and refused
/// with a message that says so.
#[test]
fn artifacts_of_another_format_are_named_as_such() {
    let engine = Engine::default();
    let mut bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    // The format version is the magic's last byte.
    bytes[15] = b'4';
    assert!(Module::is_serialized(&bytes));
    // SAFETY: refused before any code is used.
    let err = unsafe { Module::deserialize(&engine, &bytes) }.unwrap_err();
    assert!(
        format!("{err:#}").contains("another version of wasm-jit"),
        "{err:#}"
    );
}
