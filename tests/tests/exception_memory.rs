//! Catching an exception costs no memory that stays: the unwinder drops
//! what it owns before it jumps to the handler, and caught exceptions are
//! reused. Counted by this test binary's allocator (its only test, so no
//! other test allocates meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use wasm_jit::{Config, Engine, Instance, Module, Store};

/// Bytes allocated and not freed, by the whole process.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn caught_exceptions_leave_no_memory_behind() {
    let mut config = Config::new();
    config.parallel_compilation(false);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (tag $t (param i32))
             (func $thrower (param i32) (throw $t (local.get 0)))
             ;; n times: throw in a callee, catch here (with its payload,
             ;; and with catch_all).
             (func (export "catch") (param $n i32)
               (loop $l
                 (block $h (result i32)
                   (try_table (catch $t $h) (call $thrower (local.get $n)))
                   (unreachable))
                 (drop)
                 (block $h
                   (try_table (catch_all $h) (call $thrower (local.get $n))))
                 (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let catch = instance
        .get_typed_func::<i32, ()>(&mut store, "catch")
        .unwrap();
    catch.call(&mut store, 1000).unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    catch.call(&mut store, 100_000).unwrap();
    let grown = LIVE.load(Ordering::Relaxed) - before;
    // 200,000 caught exceptions: a leak of even one small allocation each
    // would be megabytes.
    assert!(grown < 64 << 10, "{grown} bytes more after 200,000 catches");
}
