//! A module that declares huge tables costs memory only for what it uses:
//! 100 tables of 10 million null `funcref`s (a 1 KiB module) instantiate in
//! little memory. Alone in its test binary so that nothing else allocates
//! while it measures.

use wasm_jit::{Config, Engine, Linker, Module, Store};

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn huge_declared_tables_cost_no_memory_until_used() {
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
