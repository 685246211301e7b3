//! The default configuration validates with the whole Wasm 3.0 standard: a
//! valid module that uses a feature the engine cannot run yet is refused by
//! name (`not supported yet: <feature>`), never called invalid; an invalid
//! module is called invalid, whatever else it uses.

use wasm_jit::{Config, Engine, Module};

fn load_error(wat: &str) -> String {
    let engine = Engine::default();
    match Module::new(&engine, wat) {
        Ok(_) => panic!("expected an error for {wat}"),
        Err(e) => format!("{e:#}"),
    }
}

/// An engine that also validates memory control and stack switching, two
/// proposals it cannot run.
fn beyond_wasm3() -> Engine {
    let mut config = Config::new();
    config.wasm_features(
        Config::DEFAULT_FEATURES
            | wasm_jit::WasmFeatures::MEMORY_CONTROL
            | wasm_jit::WasmFeatures::STACK_SWITCHING,
    );
    Engine::new(&config).unwrap()
}

fn load_error_beyond(wat: &str) -> String {
    match Module::new(&beyond_wasm3(), wat) {
        Ok(_) => panic!("expected an error for {wat}"),
        Err(e) => format!("{e:#}"),
    }
}

/// A function that uses `memory.discard` (memory control).
const DISCARD: &str = r#"(module (memory 1) (func i32.const 0 i32.const 0 memory.discard))"#;

#[test]
fn unimplemented_feature_families_are_refused_by_name() {
    // Memory control: an operator in a body.
    let e = load_error_beyond(DISCARD);
    assert!(
        e.starts_with("not supported yet: memory control (memory_discard)"),
        "{e}"
    );
    // Stack switching: a continuation type, nothing in a body.
    let e = load_error_beyond(r#"(module (type $f (func)) (type $c (cont $f)))"#);
    assert!(e.starts_with("not supported yet: stack switching"), "{e}");
    // Legacy exception handling runs (tests/tests/legacy_exceptions.rs),
    // and is validated by default, as V8 does.
    Module::new(&Engine::default(), r#"(module (func try catch_all end))"#).unwrap();
    // GC and threads run (tests/tests/gc.rs, threads.rs): a struct type
    // with struct.new, a shared memory and an atomic operator load.
    Module::new(
        &Engine::default(),
        r#"(module (type $s (struct (field i32)))
             (func (result (ref $s)) i32.const 1 struct.new $s))"#,
    )
    .unwrap();
    Module::new(
        &Engine::default(),
        r#"(module (memory 1 1 shared)
             (func (result i32) i32.const 0 i32.atomic.load))"#,
    )
    .unwrap();
}

#[test]
fn invalid_in_a_wasm3_way_is_invalid() {
    // `throw` to a tag that does not exist.
    let e = load_error(r#"(module (func throw 0))"#);
    assert!(e.starts_with("invalid module: "), "{e}");
    assert!(e.contains("tag"), "{e}");
}

#[test]
fn invalid_beats_unsupported() {
    // The first function uses an unsupported operator, the last is
    // invalid: invalid wins, even though the unsupported one comes first.
    let e = load_error_beyond(
        r#"(module (memory 1)
             (func i32.const 0 i32.const 0 memory.discard)
             (func)
             (func (result i32) i64.const 1))"#,
    );
    assert!(e.starts_with("invalid module: type mismatch"), "{e}");
    // The same inside one body: an unsupported operator, then an invalid one.
    let e = load_error_beyond(
        r#"(module (memory 1) (func (result i32)
             i32.const 0 i32.const 0 memory.discard
             i64.const 1))"#,
    );
    assert!(e.starts_with("invalid module: type mismatch"), "{e}");
    // Outside the bodies (a continuation type) and an invalid body.
    let e = load_error_beyond(
        r#"(module (type $f (func)) (type $c (cont $f)) (func (result i32) f32.const 1))"#,
    );
    assert!(e.starts_with("invalid module: type mismatch"), "{e}");
}

#[test]
fn every_missing_feature_is_listed_once() {
    let e = Module::new(
        &beyond_wasm3(),
        r#"(module (memory 1)
             (type $f (func)) (type $c (cont $f))
             (func i32.const 0 i32.const 0 memory.discard)
             (func i32.const 0 i32.const 0 memory.discard))"#,
    )
    .unwrap_err();
    let e = format!("{e:#}");
    let line = e.lines().next().unwrap();
    assert_eq!(e.lines().count(), 1, "{e}");
    for feature in ["memory control", "stack switching"] {
        assert_eq!(
            line.matches(&format!("{feature} (")).count(),
            1,
            "{feature} once in: {line}"
        );
    }
}

#[test]
fn narrowed_features_make_later_standards_invalid() {
    let mut config = Config::new();
    config.wasm_features(wasm_jit::WasmFeatures::WASM2);
    let engine = Engine::new(&config).unwrap();
    let e = Module::new(&engine, r#"(module (tag))"#).unwrap_err();
    assert!(format!("{e:#}").starts_with("invalid module: "), "{e:#}");
}

#[test]
fn tail_calls_run() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (func $even (export "even") (param i32) (result i32)
               (if (result i32) (i32.eqz (local.get 0))
                 (then (i32.const 1))
                 (else (return_call $odd (i32.sub (local.get 0) (i32.const 1))))))
             (func $odd (param i32) (result i32)
               (if (result i32) (i32.eqz (local.get 0))
                 (then (i32.const 0))
                 (else (return_call $even (i32.sub (local.get 0) (i32.const 1)))))))"#,
    )
    .unwrap();
    let mut store = wasm_jit::Store::new(&engine, ());
    let instance = wasm_jit::Instance::new(&mut store, &module, &[]).unwrap();
    let even = instance
        .get_typed_func::<i32, i32>(&mut store, "even")
        .unwrap();
    assert_eq!(even.call(&mut store, 1_000_001).unwrap(), 0);
    assert_eq!(even.call(&mut store, 1_000_000).unwrap(), 1);
}
