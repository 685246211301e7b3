//! The threads proposal as wasm-jit runs it: atomic operators on shared and
//! unshared memories, `memory.atomic.wait/notify` within one store and
//! between threads (each with its own store) sharing a `SharedMemory`, and
//! shared memories through the API. (The spec scripts are in `spec.rs`.)

use std::time::Duration;

use wasm_jit::{
    Config, Engine, Linker, Memory, MemoryType, Module, SharedMemory, Store, Trap, WaitResult,
};

fn instance(engine: &Engine, wat: &str) -> (Store<()>, wasm_jit::Instance) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .unwrap();
    (store, instance)
}

#[test]
fn narrow_atomics_wrap_and_zero_extend() {
    let engine = Engine::default();
    for shared in ["", "shared"] {
        let (mut store, instance) = instance(
            &engine,
            &format!(
                r#"(module (memory 1 1 {shared})
                 (func (export "add8") (param i32 i32) (result i32) (i32.atomic.rmw8.add_u (local.get 0) (local.get 1)))
                 (func (export "cas16") (param i32 i64 i64) (result i64)
                   (i64.atomic.rmw16.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
                 (func (export "xchg32") (param i32 i64) (result i64) (i64.atomic.rmw32.xchg_u (local.get 0) (local.get 1)))
                 (func (export "load64") (param i32) (result i64) (i64.atomic.load offset=8 (local.get 0)))
                 (func (export "fence") (atomic.fence)))"#
            ),
        );
        let add8 = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "add8")
            .unwrap();
        let cas16 = instance
            .get_typed_func::<(i32, i64, i64), i64>(&mut store, "cas16")
            .unwrap();
        let xchg32 = instance
            .get_typed_func::<(i32, i64), i64>(&mut store, "xchg32")
            .unwrap();
        let load64 = instance
            .get_typed_func::<i32, i64>(&mut store, "load64")
            .unwrap();
        // 8-bit add wraps in its byte and returns the old byte, zero-extended.
        assert_eq!(add8.call(&mut store, (3, 0x1ff)).unwrap(), 0);
        assert_eq!(add8.call(&mut store, (3, 2)).unwrap(), 0xff);
        assert_eq!(add8.call(&mut store, (3, 0)).unwrap(), 1);
        // The expected value is compared in 16 bits: 0x1_0001 matches 1.
        assert_eq!(cas16.call(&mut store, (16, 0, 1)).unwrap(), 0);
        assert_eq!(
            cas16.call(&mut store, (16, 0x1_0001, 0xabcd_1234)).unwrap(),
            1
        );
        assert_eq!(cas16.call(&mut store, (16, 7, 9)).unwrap(), 0x1234);
        assert_eq!(xchg32.call(&mut store, (16, -1)).unwrap(), 0x1234);
        assert_eq!(load64.call(&mut store, 8).unwrap(), 0xffff_ffff);
        instance
            .get_typed_func::<(), ()>(&mut store, "fence")
            .unwrap()
            .call(&mut store, ())
            .unwrap();
        // Misaligned (the static offset counts), then out of bounds.
        let trap = |r: wasm_jit::Result<i64>| r.unwrap_err().downcast_ref::<Trap>().copied();
        assert_eq!(trap(load64.call(&mut store, 4)), Some(Trap::HeapMisaligned));
        assert_eq!(
            trap(load64.call(&mut store, 65528)),
            Some(Trap::MemoryOutOfBounds)
        );
        assert_eq!(
            trap(xchg32.call(&mut store, (65536, 0))),
            Some(Trap::MemoryOutOfBounds)
        );
        assert_eq!(
            trap(cas16.call(&mut store, (1, 0, 0))),
            Some(Trap::HeapMisaligned)
        );
        // The store works on.
        assert_eq!(add8.call(&mut store, (3, 0)).unwrap(), 1);
    }
}

#[test]
fn a_64_bit_offset_that_wraps_is_out_of_bounds() {
    let engine = Engine::default();
    let (mut store, instance) = instance(
        &engine,
        r#"(module (memory i64 1 1 shared)
             (func (export "load") (param i64) (result i32) (i32.atomic.load offset=0xfffffffffffffff8 (local.get 0))))"#,
    );
    let load = instance
        .get_typed_func::<i64, i32>(&mut store, "load")
        .unwrap();
    let err = load.call(&mut store, 16).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    // 8 + 0xffff_ffff_ffff_fff8 is 0 modulo 2^64, but no access wraps.
    let err = load.call(&mut store, 8).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
}

#[test]
fn waits_end_by_value_timeout_or_error() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let wat = |shared: &str| {
        format!(
            r#"(module (memory 1 1 {shared})
             (func (export "wait32") (param i32 i32 i64) (result i32)
               (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
             (func (export "wait64") (param i32 i64 i64) (result i32)
               (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
             (func (export "notify") (param i32 i32) (result i32)
               (memory.atomic.notify (local.get 0) (local.get 1))))"#
        )
    };
    let (mut store, shared) = instance(&engine, &wat("shared"));
    store.set_epoch_deadline(1_000_000);
    let wait32 = shared
        .get_typed_func::<(i32, i32, i64), i32>(&mut store, "wait32")
        .unwrap();
    let wait64 = shared
        .get_typed_func::<(i32, i64, i64), i32>(&mut store, "wait64")
        .unwrap();
    let notify = shared
        .get_typed_func::<(i32, i32), i32>(&mut store, "notify")
        .unwrap();
    // Not equal: 1 at once, even without a timeout.
    assert_eq!(wait32.call(&mut store, (0, 5, -1)).unwrap(), 1);
    assert_eq!(wait64.call(&mut store, (8, 1 << 40, -1)).unwrap(), 1);
    // Equal: the timeout ends it (2).
    let start = std::time::Instant::now();
    assert_eq!(wait32.call(&mut store, (0, 0, 20_000_000)).unwrap(), 2);
    assert!(start.elapsed() >= std::time::Duration::from_millis(20));
    assert_eq!(wait64.call(&mut store, (8, 0, 0)).unwrap(), 2);
    // Nobody can notify, so waiting forever is an error, not a hang; also
    // once a handle that was taken (as WASI takes one per call) is gone.
    let err = wait32.call(&mut store, (0, 0, -1)).unwrap_err();
    assert!(
        err.root_cause().to_string().contains("would wait forever"),
        "{err:?}"
    );
    let exporter = Module::new(
        &engine,
        r#"(module (memory (export "m") 1 1 shared)
             (func (export "wait") (result i32)
               (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))"#,
    )
    .unwrap();
    let inst = Linker::new(&engine)
        .instantiate(&mut store, &exporter)
        .unwrap();
    let wait = inst.get_typed_func::<(), i32>(&mut store, "wait").unwrap();
    drop(inst.get_shared_memory(&mut store, "m").unwrap());
    let err = wait.call(&mut store, ()).unwrap_err();
    assert!(
        err.root_cause().to_string().contains("would wait forever"),
        "{err:?}"
    );
    // While a handle exists, another thread could notify: the wait waits
    // (here until that thread does).
    let handle = inst.get_shared_memory(&mut store, "m").unwrap();
    let notifier = std::thread::spawn(move || {
        while handle.atomic_notify(0, 1).unwrap() == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
    assert_eq!(wait.call(&mut store, ()).unwrap(), 0);
    notifier.join().unwrap();
    // A store that imports a shared memory holds it, but cannot notify
    // while its own thread waits: once the handle it was given is gone,
    // and no other store imports it, waiting forever is an error too.
    let importer = Module::new(
        &engine,
        r#"(module (import "m" "m" (memory 1 1 shared))
             (func (export "wait") (result i32)
               (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))"#,
    )
    .unwrap();
    let mut alone = Store::new(&engine, ());
    alone.set_epoch_deadline(1_000_000);
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&alone, "m", "m", memory.clone()).unwrap();
    let inst = linker.instantiate(&mut alone, &importer).unwrap();
    let wait_alone = inst.get_typed_func::<(), i32>(&mut alone, "wait").unwrap();
    drop((memory, linker));
    let err = wait_alone.call(&mut alone, ()).unwrap_err();
    assert!(
        err.root_cause().to_string().contains("would wait forever"),
        "{err:?}"
    );
    assert_eq!(notify.call(&mut store, (0, 10)).unwrap(), 0);
    let err = notify.call(&mut store, (2, 1)).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::HeapMisaligned));
    let err = wait64.call(&mut store, (65536, 0, 0)).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));

    // The epoch deadline interrupts a long wait.
    store.set_epoch_deadline(1);
    let engine2 = engine.clone();
    let ticker = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        engine2.increment_epoch();
    });
    let start = std::time::Instant::now();
    let err = wait64.call(&mut store, (8, 0, 60_000_000_000)).unwrap_err();
    ticker.join().unwrap();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Interrupted));
    assert!(start.elapsed() < std::time::Duration::from_secs(10));

    // On an unshared memory, notify finds nobody and wait traps.
    let (mut store, unshared) = instance(&engine, &wat(""));
    store.set_epoch_deadline(1_000_000);
    let wait32 = unshared
        .get_typed_func::<(i32, i32, i64), i32>(&mut store, "wait32")
        .unwrap();
    let notify = unshared
        .get_typed_func::<(i32, i32), i32>(&mut store, "notify")
        .unwrap();
    assert_eq!(notify.call(&mut store, (0, 1)).unwrap(), 0);
    let err = wait32.call(&mut store, (0, 1, 0)).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::AtomicWaitNonSharedMemory)
    );
}

#[test]
fn shared_memories_from_the_host() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "m" (memory 1 4 shared))
             (func (export "bump") (result i32) (i32.atomic.rmw.add (i32.const 0) (i32.const 1))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let ty = MemoryType::shared(1, 4);
    assert!(ty.is_shared());
    // A shared memory is no store's: `SharedMemory`, not `Memory`.
    let err = Memory::new(&mut store, ty).unwrap_err();
    assert!(err.to_string().contains("SharedMemory::new"), "{err}");
    let memory = SharedMemory::new(&engine, ty).unwrap();
    assert!(memory.ty().is_shared());
    let mut linker = Linker::new(&engine);
    linker.define(&store, "env", "m", memory.clone()).unwrap();
    // Two instances share the memory.
    let a = linker.instantiate(&mut store, &module).unwrap();
    let b = linker.instantiate(&mut store, &module).unwrap();
    let bump_a = a.get_typed_func::<(), i32>(&mut store, "bump").unwrap();
    let bump_b = b.get_typed_func::<(), i32>(&mut store, "bump").unwrap();
    assert_eq!(bump_a.call(&mut store, ()).unwrap(), 0);
    assert_eq!(bump_b.call(&mut store, ()).unwrap(), 1);
    // SAFETY: no other thread uses the memory.
    assert_eq!(unsafe { *memory.data()[0].get() }, 2);
    // Exported again, it is the same shared memory (and no `Memory`).
    let reexport = Module::new(
        &engine,
        r#"(module (import "env" "m" (memory 1 4 shared)) (export "m" (memory 0)))"#,
    )
    .unwrap();
    let c = linker.instantiate(&mut store, &reexport).unwrap();
    assert!(c.get_memory(&mut store, "m").is_none());
    let again = c
        .get_export(&mut store, "m")
        .unwrap()
        .into_shared_memory()
        .unwrap();
    assert_eq!(again.data().as_ptr(), memory.data().as_ptr());
    // An unshared memory does not satisfy a shared import.
    let unshared = Memory::new(&mut store, MemoryType::new(1, Some(4))).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&store, "env", "m", unshared).unwrap();
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        err.to_string().contains("incompatible import type"),
        "{err}"
    );
}

/// At the top of a 64-bit address space `index + size` wraps to 0: every
/// atomic there is out of bounds, with or without a static offset.
#[test]
fn atomics_at_the_top_of_64_bit_memory_are_out_of_bounds() {
    let engine = Engine::default();
    for shared in ["", "shared"] {
        let (mut store, instance) = instance(
            &engine,
            &format!(
                r#"(module (memory i64 1 1 {shared})
                 (func (export "load8") (param i64) (result i32) (i32.atomic.load8_u (local.get 0)))
                 (func (export "store") (param i64) (i32.atomic.store (local.get 0) (i32.const 42)))
                 (func (export "rmw") (param i64) (result i64) (i64.atomic.rmw.add (local.get 0) (i64.const 1)))
                 (func (export "notify") (param i64) (result i32) (memory.atomic.notify (local.get 0) (i32.const 1)))
                 (func (export "wait") (param i64) (result i32) (memory.atomic.wait64 (local.get 0) (i64.const 0) (i64.const 0)))
                 (func (export "last") (result i64) (i64.atomic.rmw.add (i64.const 65528) (i64.const 1))))"#
            ),
        );
        let oob = |r: wasm_jit::Result<()>| {
            assert_eq!(
                r.unwrap_err().downcast_ref::<Trap>(),
                Some(&Trap::MemoryOutOfBounds)
            )
        };
        let load8 = instance
            .get_typed_func::<i64, i32>(&mut store, "load8")
            .unwrap();
        let store_ = instance
            .get_typed_func::<i64, ()>(&mut store, "store")
            .unwrap();
        let rmw = instance
            .get_typed_func::<i64, i64>(&mut store, "rmw")
            .unwrap();
        let notify = instance
            .get_typed_func::<i64, i32>(&mut store, "notify")
            .unwrap();
        let wait = instance
            .get_typed_func::<i64, i32>(&mut store, "wait")
            .unwrap();
        oob(load8.call(&mut store, -1).map(drop));
        oob(store_.call(&mut store, -4));
        oob(rmw.call(&mut store, -8).map(drop));
        oob(notify.call(&mut store, -4).map(drop));
        oob(wait.call(&mut store, -8).map(drop));
        // The last slot in bounds works.
        let last = instance
            .get_typed_func::<(), i64>(&mut store, "last")
            .unwrap();
        assert_eq!(last.call(&mut store, ()).unwrap(), 0);
        assert_eq!(last.call(&mut store, ()).unwrap(), 1);
    }
    // A shared memory needs a maximum.
    let mut store = Store::new(&engine, ());
    let ty = MemoryType {
        maximum: None,
        ..MemoryType::shared(1, 1)
    };
    assert!(Memory::new(&mut store, ty).is_err());
}

/// The module every thread of the cross-thread tests instantiates in its
/// own store, importing one shared memory.
const WORKER: &str = r#"(module
  (import "env" "memory" (memory 1 16 shared))
  ;; Adds 1 to the counter at 0, n times.
  (func (export "count") (param $n i32)
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l)))
  ;; Waits at 8 while it holds 0 (no timeout), then returns what is there.
  (func (export "wait") (result i32 i32)
    (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1))
    (i32.atomic.load (i32.const 8)))
  (func (export "wait_for") (param $ns i64) (result i32)
    (memory.atomic.wait32 (i32.const 8) (i32.const 0) (local.get $ns)))
  ;; Stores v at 8 and wakes one waiter there: how many woke.
  (func (export "release") (param $v i32) (result i32)
    (i32.atomic.store (i32.const 8) (local.get $v))
    (memory.atomic.notify (i32.const 8) (i32.const 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))"#;

/// A store of its own on the calling thread, with `memory` imported.
fn worker(
    engine: &Engine,
    module: &Module,
    memory: &SharedMemory,
) -> (Store<()>, wasm_jit::Instance) {
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    linker
        .define(&store, "env", "memory", memory.clone())
        .unwrap();
    let instance = linker.instantiate(&mut store, module).unwrap();
    (store, instance)
}

#[test]
fn threads_with_stores_of_their_own_count_in_one_shared_memory() {
    let engine = Engine::default();
    let module = Module::new(&engine, WORKER).unwrap();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 16)).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let (mut store, inst) = worker(&engine, &module, &memory);
                let count = inst.get_typed_func::<i32, ()>(&mut store, "count").unwrap();
                count.call(&mut store, 100_000).unwrap();
            });
        }
    });
    // SAFETY: every other thread has finished.
    let counter = unsafe { *memory.data()[0..4].as_ptr().cast::<u32>() };
    assert_eq!(counter, 400_000);
}

#[test]
fn a_wait_in_one_thread_is_woken_by_a_notify_in_another() {
    let engine = Engine::default();
    let module = Module::new(&engine, WORKER).unwrap();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 16)).unwrap();
    let waiter = std::thread::spawn({
        let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
        move || {
            let (mut store, inst) = worker(&engine, &module, &memory);
            let wait = inst
                .get_typed_func::<(), (i32, i32)>(&mut store, "wait")
                .unwrap();
            wait.call(&mut store, ()).unwrap()
        }
    });
    let (mut store, inst) = worker(&engine, &module, &memory);
    let release = inst
        .get_typed_func::<i32, i32>(&mut store, "release")
        .unwrap();
    // Notify until the waiter was there to be woken (it may not have begun
    // waiting yet: a notify before then wakes nobody).
    let mut woken = 0;
    for _ in 0..1000 {
        woken = release.call(&mut store, 0).unwrap();
        if woken == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(woken, 1, "nobody was waiting");
    assert_eq!(waiter.join().unwrap(), (0, 0), "woken (0), value still 0");
    // The host waits and notifies too: a mismatch, a timeout, and a wake.
    assert_eq!(memory.atomic_wait32(8, 1, None), Ok(WaitResult::Mismatch));
    assert_eq!(
        memory.atomic_wait32(8, 0, Some(Duration::from_millis(5))),
        Ok(WaitResult::TimedOut)
    );
    let host_waiter = std::thread::spawn({
        let memory = memory.clone();
        move || memory.atomic_wait64(16, 0, Some(Duration::from_secs(60)))
    });
    let mut woken = 0;
    while woken == 0 {
        woken = memory.atomic_notify(16, u32::MAX).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(host_waiter.join().unwrap(), Ok(WaitResult::Ok));
    assert_eq!(memory.atomic_notify(3, 1), Err(Trap::HeapMisaligned));
    assert_eq!(memory.atomic_notify(65536, 1), Err(Trap::MemoryOutOfBounds));
    assert_eq!(memory.atomic_wait64(12, 0, None), Err(Trap::HeapMisaligned));
}

#[test]
fn a_shared_memory_grows_for_every_thread() {
    let engine = Engine::default();
    let module = Module::new(&engine, WORKER).unwrap();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 16)).unwrap();
    let (mut store, inst) = worker(&engine, &module, &memory);
    let grow = inst.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    let other = std::thread::spawn({
        let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
        move || {
            let (mut store, inst) = worker(&engine, &module, &memory);
            let size = inst.get_typed_func::<(), i32>(&mut store, "size").unwrap();
            let grow = inst.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
            (
                size.call(&mut store, ()).unwrap(),
                grow.call(&mut store, 20).unwrap(),
                grow.call(&mut store, 13).unwrap(),
            )
        }
    });
    // Seen there: 3 pages; past the maximum of 16 refused; 3 + 13 fits.
    assert_eq!(other.join().unwrap(), (3, -1, 3));
    assert_eq!(memory.size(), 16);
    assert_eq!(memory.data_size(), 16 << 16);
    assert!(memory.grow(1).is_err());
    let size = inst.get_typed_func::<(), i32>(&mut store, "size").unwrap();
    assert_eq!(size.call(&mut store, ()).unwrap(), 16);
}

#[test]
fn a_module_defined_shared_memory_can_be_shared_with_other_threads() {
    let engine = Engine::default();
    let definer = Module::new(
        &engine,
        r#"(module (memory (export "memory") 1 16 shared)
             (func (export "load") (result i32) (i32.atomic.load (i32.const 0))))"#,
    )
    .unwrap();
    let module = Module::new(&engine, WORKER).unwrap();
    let mut store = Store::new(&engine, ());
    let inst = Linker::new(&engine)
        .instantiate(&mut store, &definer)
        .unwrap();
    let memory = inst.get_shared_memory(&mut store, "memory").unwrap();
    assert_eq!(memory.ty().maximum, Some(16));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let (mut store, inst) = worker(&engine, &module, &memory);
            let count = inst.get_typed_func::<i32, ()>(&mut store, "count").unwrap();
            count.call(&mut store, 1000).unwrap();
        });
    });
    let load = inst.get_typed_func::<(), i32>(&mut store, "load").unwrap();
    assert_eq!(load.call(&mut store, ()).unwrap(), 1000);
    // An unshared memory has no shared handle.
    let unshared = Module::new(&engine, r#"(module (memory (export "m") 1))"#).unwrap();
    let inst = Linker::new(&engine)
        .instantiate(&mut store, &unshared)
        .unwrap();
    assert!(inst.get_shared_memory(&mut store, "m").is_none());
    assert!(inst.get_memory(&mut store, "m").is_some());
}

#[test]
fn shared_memories_keep_to_their_engine_and_type() {
    let engine = Engine::default();
    let module = Module::new(&engine, WORKER).unwrap();
    assert!(SharedMemory::new(&engine, MemoryType::new(1, Some(16))).is_err());
    let other_engine = Engine::new(Config::new().explicit_bounds_checks(true)).unwrap();
    let foreign = SharedMemory::new(&other_engine, MemoryType::shared(1, 16)).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let err = linker
        .define(&store, "env", "memory", foreign.clone())
        .unwrap_err();
    assert!(err.to_string().contains("another store"), "{err}");
    let err = wasm_jit::Instance::new(&mut store, &module, &[foreign.into()]).unwrap_err();
    assert!(err.to_string().contains("another engine"), "{err}");
    // A type the import does not accept: a maximum past its 16.
    let big = SharedMemory::new(&engine, MemoryType::shared(1, 17)).unwrap();
    let err = wasm_jit::Instance::new(&mut store, &module, &[big.into()]).unwrap_err();
    assert!(
        err.to_string().contains("incompatible import type"),
        "{err}"
    );
}

#[test]
fn an_epoch_deadline_ends_a_wait_with_no_timeout() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WORKER).unwrap();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 16)).unwrap();
    let (mut store, inst) = worker(&engine, &module, &memory);
    store.set_epoch_deadline(1);
    let ticker = std::thread::spawn({
        let engine = engine.clone();
        move || {
            std::thread::sleep(Duration::from_millis(50));
            engine.increment_epoch();
        }
    });
    let wait = inst
        .get_typed_func::<(), (i32, i32)>(&mut store, "wait")
        .unwrap();
    let err = wait.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::Interrupted),
        "{err:#}"
    );
    ticker.join().unwrap();
    // The store and the memory go on: a timed wait times out (2).
    store.set_epoch_deadline(100);
    let wait_for = inst
        .get_typed_func::<i64, i32>(&mut store, "wait_for")
        .unwrap();
    assert_eq!(wait_for.call(&mut store, 1_000_000).unwrap(), 2);
}

/// wasi-threads through the library: `thread-spawn` starts threads whose
/// stores share the memory and the WASI context.
#[test]
fn wasi_threads_through_the_library() {
    use std::sync::Arc;
    use wasm_jit_wasi::threads::{self, WasiThreadsCtx};
    use wasm_jit_wasi::{WasiCtx, WasiCtxBuilder};

    #[derive(Clone)]
    struct Host {
        wasi: WasiCtx,
        threads: Option<Arc<WasiThreadsCtx<Host>>>,
    }
    let engine = Engine::default();
    let module = Module::from_file(
        &engine,
        concat!(env!("CARGO_MANIFEST_DIR"), "/programs/wasi_threads.wat"),
    )
    .unwrap();
    let host = Host {
        wasi: WasiCtxBuilder::new().build(),
        threads: None,
    };
    let mut store = Store::new(&engine, host);
    let mut linker = Linker::new(&engine);
    wasm_jit_wasi::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi).unwrap();
    // Wasmtime's closure, as its users write it.
    threads::add_to_linker(&mut linker, &store, &module, |h: &mut Host| {
        h.threads.as_ref().unwrap()
    })
    .unwrap();
    let ctx = WasiThreadsCtx::new(module.clone(), Arc::new(linker.clone())).unwrap();
    store.data_mut().threads = Some(Arc::new(ctx));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    let memory = instance.get_shared_memory(&mut store, "memory").unwrap();
    // SAFETY: every thread has counted itself done.
    let (count, ids) = unsafe {
        let at = |i: usize| *memory.data()[i..i + 4].as_ptr().cast::<u32>();
        (at(0), at(8))
    };
    assert_eq!((count, ids), (400_000, 10));
    // A module without `wasi_thread_start` cannot start threads (it may
    // still run).
    let plain = Module::new(&engine, "(module)").unwrap();
    let ctx = WasiThreadsCtx::new(plain, Arc::new(linker)).unwrap();
    let err = ctx.spawn(store.data().clone(), 0).unwrap_err();
    assert!(err.to_string().contains("wasi_thread_start"), "{err}");
}

/// WASI calls that may block on a file (a read from a FIFO here) let go
/// of the context the threads share: another thread's WASI calls go on
/// meanwhile, and the read returns once the FIFO has data (what there is,
/// even when it fills the first buffer exactly). Appending to a FIFO
/// writes to it.
#[test]
fn a_thread_blocked_reading_a_fifo_does_not_stop_the_others_wasi_calls() {
    use std::io::Write as _;
    use std::sync::mpsc::channel;
    use wasm_jit_wasi::{WasiCtx, WasiCtxBuilder};

    let dir = std::env::temp_dir().join(format!("wasm-jit-fifo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("pipe");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // Open for reading and writing, the host's end keeps the FIFO with a
    // writer: the guest's open does not wait, and its read waits for data
    // rather than seeing the end of the file.
    let mut host_end = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();

    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (import "wasi_snapshot_preview1" "path_open"
            (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_read"
            (func $read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write"
            (func $write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "pipe")
          (data (i32.const 16) "file")
          ;; Opens `name` (4 bytes at `at`) in the preopen (fd 3) with
          ;; `oflags`, `rights` and `fdflags`: the new fd, or minus the
          ;; errno.
          (func $open_at (param $at i32) (param $oflags i32) (param $rights i64) (param $fdflags i32)
            (result i32)
            (local $e i32)
            (local.set $e (call $open (i32.const 3) (i32.const 0) (local.get $at) (i32.const 4)
              (local.get $oflags) (local.get $rights) (i64.const 0) (local.get $fdflags)
              (i32.const 300)))
            (if (local.get $e) (then (return (i32.sub (i32.const 0) (local.get $e)))))
            (i32.load (i32.const 300)))
          ;; Bytes read from the FIFO (one read into two buffers, of 5 and
          ;; 59 bytes), or minus the errno.
          (func (export "read_fifo") (result i32)
            (local $fd i32) (local $e i32)
            (local.set $fd (call $open_at (i32.const 0) (i32.const 0) (i64.const 2) (i32.const 0)))
            (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (return (local.get $fd))))
            (i32.store (i32.const 100) (i32.const 200))
            (i32.store (i32.const 104) (i32.const 5))
            (i32.store (i32.const 108) (i32.const 205))
            (i32.store (i32.const 112) (i32.const 59))
            (local.set $e (call $read (local.get $fd) (i32.const 100) (i32.const 2) (i32.const 304)))
            (if (local.get $e) (then (return (i32.sub (i32.const 0) (local.get $e)))))
            (i32.load (i32.const 304)))
          ;; Creates `file` (or, with `fifo`, opens the FIFO to append to)
          ;; and writes the file's name to it: bytes written, or minus the
          ;; errno.
          (func $write_name (param $fifo i32) (result i32)
            (local $fd i32) (local $e i32)
            (local.set $fd (if (result i32) (local.get $fifo)
              (then (call $open_at (i32.const 0) (i32.const 0) (i64.const 64) (i32.const 1)))
              (else (call $open_at (i32.const 16) (i32.const 1) (i64.const 64) (i32.const 0)))))
            (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (return (local.get $fd))))
            (i32.store (i32.const 100) (i32.const 16))
            (i32.store (i32.const 104) (i32.const 4))
            (local.set $e (call $write (local.get $fd) (i32.const 100) (i32.const 1) (i32.const 304)))
            (if (local.get $e) (then (return (i32.sub (i32.const 0) (local.get $e)))))
            (i32.load (i32.const 304)))
          (func (export "write_file") (result i32) (call $write_name (i32.const 0)))
          (func (export "append_to_fifo") (result i32) (call $write_name (i32.const 1))))"#,
    )
    .unwrap();
    let wasi = WasiCtxBuilder::new()
        .preopened_dir(
            &dir,
            "/",
            wasm_jit_wasi::DirPerms::all(),
            wasm_jit_wasi::FilePerms::all(),
        )
        .unwrap()
        .build();
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    wasm_jit_wasi::add_to_linker(&mut linker, |cx| cx).unwrap();
    let call = move |wasi: WasiCtx, name: &'static str| {
        let (engine, module, linker) = (engine.clone(), module.clone(), linker.clone());
        let (send, receive) = channel();
        std::thread::spawn(move || {
            let mut store = Store::new(&engine, wasi);
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let f = instance
                .get_typed_func::<(), i32>(&mut store, name)
                .unwrap();
            let _ = send.send(f.call(&mut store, ()).unwrap());
        });
        receive
    };
    let reader = call(wasi.clone(), "read_fifo");
    // Let the reader reach its read (had it not, the writer below would
    // still have to finish, and the read still return the data).
    std::thread::sleep(Duration::from_millis(200));
    let writer = call(wasi.clone(), "write_file").recv_timeout(Duration::from_secs(30));
    // Whatever happened, give the reader its data so that it ends.
    host_end.write_all(b"hello").unwrap();
    assert_eq!(writer, Ok(4), "the other thread's WASI call did not go on");
    assert_eq!(reader.recv_timeout(Duration::from_secs(30)), Ok(5));
    assert_eq!(std::fs::read(dir.join("file")).unwrap(), b"file");
    // A FIFO opened to append to has no end to move to: it is written as
    // it is.
    let appended = call(wasi.clone(), "append_to_fifo").recv_timeout(Duration::from_secs(30));
    assert_eq!(appended, Ok(4));
    let mut got = [0u8; 4];
    std::io::Read::read_exact(&mut host_end, &mut got).unwrap();
    assert_eq!(&got, b"file");
    let _ = std::fs::remove_dir_all(&dir);
}
