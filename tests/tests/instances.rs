//! Instantiating and dropping many instances returns every mapping and the
//! memory they used. Alone in its test binary so that no other test maps or
//! frees memory while it measures.

use wasm_jit::{Config, Engine, Linker, Module, Store};

fn mapping_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn ten_thousand_instances_leave_nothing_behind() {
    // Compile on this thread: a compilation thread pool would create its
    // threads' stacks and malloc arenas lazily, in the middle of the count.
    let mut config = Config::new();
    config.parallel_compilation(false);
    let engine = Engine::new(&config).unwrap();
    // 1 MiB of memory (16 pages), all of it written at instantiation by a
    // data segment, plus a function that touches it.
    let data = "\\2a".repeat(1 << 20);
    let wat = format!(
        r#"(module (memory 16 16) (data (i32.const 0) "{data}")
             (func (export "sum") (param i32) (result i32) local.get 0 i32.load8_u))"#
    );
    let module = Module::new(&engine, wat).unwrap();
    let linker = Linker::new(&engine);
    let round = |n: usize| {
        for _ in 0..n {
            let mut store = Store::new(&engine, ());
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let sum = instance
                .get_typed_func::<i32, i32>(&mut store, "sum")
                .unwrap();
            assert_eq!(sum.call(&mut store, 1 << 19).unwrap(), 0x2a);
        }
    };
    // Warm up: trampolines, the signal stack, allocator arenas.
    round(50);
    let (maps, rss) = (mapping_count(), resident_kib());
    let before = std::fs::read_to_string("/proc/self/maps").unwrap();
    round(10_000);
    let after = std::fs::read_to_string("/proc/self/maps").unwrap();
    let new: Vec<&str> = after.lines().filter(|l| !before.contains(*l)).collect();
    let (maps_after, rss_after) = (mapping_count(), resident_kib());
    assert_eq!(
        maps_after, maps,
        "mappings: {maps} before, {maps_after} after; new: {new:#?}"
    );
    // 10,000 MiB were touched in total; what stays must be noise.
    assert!(
        rss_after < rss + 16 * 1024,
        "resident memory grew from {rss} KiB to {rss_after} KiB"
    );
}
