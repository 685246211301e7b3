//! Microbenchmarks of wasm-jit itself (criterion): compile throughput,
//! instantiation, host↔Wasm call overhead, `memory.grow`.
//!
//! `cargo bench -p wasm-jit-benches`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wasm_jit::{Config, Engine, Linker, Module, Store};

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// SQLite's benchmark module, fetched and built by `scripts/third-party.sh`.
fn sqlite_wasm() -> Vec<u8> {
    let status = std::process::Command::new("bash")
        .arg(root().join("scripts/third-party.sh"))
        .arg("sqlite")
        .status()
        .expect("bash runs scripts/third-party.sh");
    assert!(status.success(), "scripts/third-party.sh sqlite failed");
    std::fs::read(root().join("target/third-party/sqlite/bench.wasm")).unwrap()
}

fn compile(c: &mut Criterion) {
    let bytes = sqlite_wasm();
    let mut g = c.benchmark_group("compile_sqlite");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(10);
    for parallel in [false, true] {
        let mut config = Config::new();
        config.parallel_compilation(parallel);
        let engine = Engine::new(&config).unwrap();
        let name = if parallel {
            "all_threads"
        } else {
            "one_thread"
        };
        g.bench_function(name, |b| {
            b.iter(|| Module::from_binary(&engine, &bytes).unwrap())
        });
    }
    g.finish();
}

fn instantiate(c: &mut Criterion) {
    let engine = Engine::default();
    let wat = format!(
        r#"(module (memory 17) (data (i32.const 65536) "{}") (func (export "f") (result i32) i32.const 7))"#,
        "\\07".repeat(1 << 20)
    );
    let module = Module::new(&engine, wat).unwrap();
    let linker = Linker::new(&engine);
    c.bench_function("instantiate_1mib_data", |b| {
        b.iter(|| {
            let mut store = Store::new(&engine, ());
            linker.instantiate(&mut store, &module).unwrap();
        })
    });
}

fn calls(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "nop" (func $nop (param i32) (result i32)))
             (memory 1)
             (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
             (func (export "nothing"))
             (func (export "add4") (param i32 i64 f32 f64) (result f64)
               local.get 0 f64.convert_i32_s local.get 1 f64.convert_i64_s f64.add
               local.get 2 f64.promote_f32 f64.add local.get 3 f64.add)
             (func (export "call_host") (param i32) (result i32) (local i32)
               block loop
                 local.get 0 i32.eqz br_if 1
                 local.get 1 call $nop local.set 1
                 local.get 0 i32.const 1 i32.sub local.set 0
                 br 0
               end end
               local.get 1)
             (func (export "grow") (result i32) i32.const 0 memory.grow))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "nop", |x: i32| x + 1).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let add = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "add")
        .unwrap();
    c.bench_function("host_to_wasm_call", |b| {
        b.iter(|| add.call(&mut store, (1, 2)).unwrap())
    });
    let nothing = instance
        .get_typed_func::<(), ()>(&mut store, "nothing")
        .unwrap();
    let add4 = instance
        .get_typed_func::<(i32, i64, f32, f64), f64>(&mut store, "add4")
        .unwrap();
    let mut g = c.benchmark_group("host_to_wasm_typed_call");
    g.bench_function("0_args", |b| {
        b.iter(|| nothing.call(&mut store, ()).unwrap())
    });
    g.bench_function("4_args", |b| {
        b.iter(|| add4.call(&mut store, (1, 2, 3.0, 4.0)).unwrap())
    });
    g.finish();
    let call_host = instance
        .get_typed_func::<i32, i32>(&mut store, "call_host")
        .unwrap();
    let mut g = c.benchmark_group("wasm_to_host_call");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("x1000", |b| {
        b.iter(|| call_host.call(&mut store, 1000).unwrap())
    });
    g.finish();
    let grow = instance
        .get_typed_func::<(), i32>(&mut store, "grow")
        .unwrap();
    c.bench_function("memory_grow_by_0", |b| {
        b.iter(|| grow.call(&mut store, ()).unwrap())
    });
}

criterion_group!(benches, compile, instantiate, calls);
criterion_main!(benches);
