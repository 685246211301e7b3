//! Memory a guest declares but does not use costs the host nothing: 100
//! tables of 10 million null `funcref`s (a 1 KiB module) instantiate in
//! little memory, and an explicitly bounds-checked memory grown page by page
//! to 1 GiB is moved, never copied. One test, alone in its binary, so that
//! nothing else allocates while it measures.

use wasm_jit::{Config, Engine, Linker, Module, Store};

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn declared_but_unused_memory_costs_nothing() {
    huge_declared_tables();
    explicit_memory_grown_to_1_gib();
}

fn explicit_memory_grown_to_1_gib() {
    let mut config = Config::new();
    config
        .explicit_bounds_checks(true)
        .parallel_compilation(false);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (memory 1)
             (func (export "grow") (param $n i32) (result i32)
               (loop $l
                 (drop (memory.grow (i32.const 1)))
                 (i32.store (i32.mul (i32.sub (memory.size) (i32.const 1)) (i32.const 65536))
                            (memory.size))
                 (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
               (i32.load (i32.const 0x3fff0000))))"#,
    )
    .unwrap();
    let before = resident_kib();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    // 16383 more pages: 1 GiB, one word written per page.
    assert_eq!(grow.call(&mut store, 16383).unwrap(), 16384);
    let grown = resident_kib().saturating_sub(before);
    // Copying on each move would make every page resident (1 GiB); moving
    // keeps just the pages written (64 MiB of page-sized touches at most).
    assert!(grown < 200 * 1024, "growing grew RSS by {grown} KiB");
}

fn huge_declared_tables() {
    let tables = "(table 10000000 funcref) ".repeat(100);
    let wat = format!(
        r#"(module {tables}
             (func (export "use") (result i32)
               (table.set 99 (i32.const 9999999) (ref.func 0))
               (table.size 99)))"#
    );
    let mut config = Config::new();
    config.parallel_compilation(false);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, &wat).unwrap();
    let before = resident_kib();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let f = instance
        .get_typed_func::<(), i32>(&mut store, "use")
        .unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 10_000_000);
    let grown = resident_kib().saturating_sub(before);
    // 8 GB if the elements were written out; a few pages when they are not.
    assert!(grown < 64 * 1024, "instantiating grew RSS by {grown} KiB");

    // And a store can refuse such tables outright.
    let mut config = Config::new();
    config.max_table_elements(1000);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, &wat).unwrap();
    let mut store = Store::new(&engine, ());
    let err = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("exceeds the limit of 1000"),
        "{err:#}"
    );
}
