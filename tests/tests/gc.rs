//! GC (structs, arrays, `i31`, casts) through the embedding API: programs
//! that build and walk object graphs, a guest that allocates without end,
//! GC values crossing the host boundary, and types shared across modules.
//! The spec's own GC scripts run in `spec.rs`.

use wasm_jit::{
    AnyRef, Engine, ExternRef, GcHeapOutOfMemory, I31, Instance, Linker, Module, Store, Trap, Val,
};

fn instance(wat: &str) -> (Store<()>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// The non-null `anyref` export `name` of `instance` returns for `args`.
fn object_from(store: &mut Store<()>, instance: Instance, name: &str, args: &[Val]) -> AnyRef {
    let mut out = [Val::AnyRef(None)];
    let f = instance.get_func(&mut *store, name).unwrap();
    f.call(&mut *store, args, &mut out).unwrap();
    match out[0] {
        Val::AnyRef(Some(r)) => r,
        ref v => panic!("{v:?}"),
    }
}

fn trap_of(e: &anyhow::Error) -> Option<Trap> {
    e.downcast_ref::<Trap>().copied()
}

#[test]
fn a_linked_list_of_structs_and_an_array_of_its_values() {
    let (mut store, inst) = instance(
        r#"(module
             (type $node (struct (field $v i64) (field $next (ref null $node))))
             (type $vals (array (mut i64)))
             ;; The list n-1, ..., 1, 0 (built from 0 up), summed by walking it.
             (func $build (param $n i32) (result (ref null $node))
               (local $head (ref null $node)) (local $i i32)
               (block $done (loop $l
                 (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                 (local.set $head
                   (struct.new $node (i64.extend_i32_u (local.get $i)) (local.get $head)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br $l)))
               (local.get $head))
             (func (export "sum") (param $n i32) (result i64)
               (local $p (ref null $node)) (local $s i64)
               (local.set $p (call $build (local.get $n)))
               (block $done (loop $l
                 (br_if $done (ref.is_null (local.get $p)))
                 (local.set $s (i64.add (local.get $s) (struct.get $node $v (local.get $p))))
                 (local.set $p (struct.get $node $next (local.get $p)))
                 (br $l)))
               (local.get $s))
             ;; Copies the list into an array, then reverses the array in place.
             (func (export "reversed_at") (param $n i32) (param $k i32) (result i64)
               (local $a (ref $vals)) (local $p (ref null $node)) (local $i i32)
               (local.set $a (array.new_default $vals (local.get $n)))
               (local.set $p (call $build (local.get $n)))
               (block $done (loop $l
                 ;; br_on_null leaves the non-null reference on the stack.
                 (drop (br_on_null $done (local.get $p)))
                 (array.set $vals (local.get $a) (local.get $i)
                   (struct.get $node $v (local.get $p)))
                 (local.set $p (struct.get $node $next (local.get $p)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br $l)))
               (array.get $vals (local.get $a) (local.get $k))))"#,
    );
    let sum = inst.get_typed_func::<i32, i64>(&mut store, "sum").unwrap();
    assert_eq!(sum.call(&mut store, 10_000).unwrap(), 49_995_000);
    assert_eq!(sum.call(&mut store, 0).unwrap(), 0);
    let at = inst
        .get_typed_func::<(i32, i32), i64>(&mut store, "reversed_at")
        .unwrap();
    assert_eq!(at.call(&mut store, (100, 0)).unwrap(), 99);
    assert_eq!(at.call(&mut store, (100, 99)).unwrap(), 0);
    let e = at.call(&mut store, (100, 100)).unwrap_err();
    assert_eq!(trap_of(&e), Some(Trap::ArrayOutOfBounds));
}

#[test]
fn a_guest_that_allocates_without_end_fails_and_the_store_goes_on() {
    let (mut store, inst) = instance(
        r#"(module
             (type $big (array i8))
             (global $keep (mut (ref null $big)) (ref.null $big))
             (type $cell (struct (field (mut anyref))))
             ;; Keeps every array reachable from the last, forever.
             (func (export "hoard") (local $c (ref null $cell))
               (loop $l
                 (local.set $c (struct.new $cell (local.get $c)))
                 (global.set $keep (array.new_default $big (i32.const 65536)))
                 (br $l)))
             (func (export "huge") (result i32)
               (array.len (array.new_default $big (i32.const -1))))
             (func (export "small") (result i32)
               (array.len (array.new_default $big (i32.const 7)))))"#,
    );
    let hoard = inst.get_typed_func::<(), ()>(&mut store, "hoard").unwrap();
    let e = hoard.call(&mut store, ()).unwrap_err();
    assert_eq!(trap_of(&e), None, "{e:#}");
    let full = e
        .downcast_ref::<GcHeapOutOfMemory<()>>()
        .unwrap_or_else(|| panic!("{e:#}"));
    // (A cell's 16 bytes or an array's 65,552.)
    let n = full.bytes_needed();
    assert!(n == 16 || n == 65552, "{n}");
    assert!(
        format!("{e:#}").contains(&format!(
            "GC heap out of memory: no room for {n} more bytes"
        )) && format!("{e:#}").contains("no garbage collector yet"),
        "{e:#}"
    );
    // With the Wasm frames it came through.
    let frames = e.downcast_ref::<wasm_jit::WasmBacktrace>().unwrap();
    assert_eq!(frames.frames()[0].func_index(), 0);
    // Wasmtime's way to make room: there is no collector, so none is made.
    store.gc(Some(full)).unwrap();
    let again = hoard.call(&mut store, ()).unwrap_err();
    assert!(again.is::<GcHeapOutOfMemory<()>>(), "{again:#}");
    // A single array past the heap's limit (4 GiB of bytes).
    let huge = inst.get_typed_func::<(), i32>(&mut store, "huge").unwrap();
    let e = huge.call(&mut store, ()).unwrap_err();
    assert_eq!(trap_of(&e), Some(Trap::AllocationTooLarge), "{e:#}");
    assert!(
        format!("{e:#}").contains("allocation size too large"),
        "{e:#}"
    );
    // The host and the store keep working; a new store has a fresh heap.
    // (A small object may still fit in the heap's last chunk.)
    let small = inst.get_typed_func::<(), i32>(&mut store, "small").unwrap();
    match small.call(&mut store, ()) {
        Ok(n) => assert_eq!(n, 7),
        Err(e) => assert!(e.is::<GcHeapOutOfMemory<()>>(), "{e:#}"),
    }
    let (mut store2, inst2) = instance(
        r#"(module (type $a (array i8))
             (func (export "small") (result i32)
               (array.len (array.new_default $a (i32.const 7)))))"#,
    );
    let small2 = inst2
        .get_typed_func::<(), i32>(&mut store2, "small")
        .unwrap();
    assert_eq!(small2.call(&mut store2, ()).unwrap(), 7);
}

#[test]
fn gc_values_cross_the_host_boundary() {
    let (mut store, inst) = instance(
        r#"(module
             (type $s (struct (field i32)))
             (type $a (array i8))
             (func (export "make") (param i32) (result anyref)
               (if (result anyref) (local.get 0)
                 (then (struct.new $s (i32.const 5)))
                 (else (array.new_fixed $a 0))))
             (func (export "i31") (param anyref) (result i32)
               (i31.get_s (ref.cast i31ref (local.get 0))))
             (func (export "field") (param anyref) (result i32)
               (struct.get $s 0 (ref.cast (ref $s) (local.get 0))))
             (func (export "internalize") (param externref) (result anyref)
               (any.convert_extern (local.get 0)))
             (func (export "externalize") (param anyref) (result externref)
               (extern.convert_any (local.get 0))))"#,
    );
    let make = inst.get_func(&mut store, "make").unwrap();
    let mut out = [Val::I32(0)];
    make.call(&mut store, &[Val::I32(1)], &mut out).unwrap();
    let Val::AnyRef(Some(s)) = out[0] else {
        panic!("{:?}", out[0])
    };
    assert!(s.is_struct(&store) && !s.is_array(&store) && s.is_eqref() && !s.is_i31());
    make.call(&mut store, &[Val::I32(0)], &mut out).unwrap();
    let Val::AnyRef(Some(a)) = out[0] else {
        panic!("{:?}", out[0])
    };
    assert!(a.is_array(&store) && !a.is_struct(&store));

    // The struct goes back in and is read; an i31 made by the host too.
    let field = inst.get_func(&mut store, "field").unwrap();
    field
        .call(&mut store, &[Val::AnyRef(Some(s))], &mut out)
        .unwrap();
    assert_eq!(out[0], Val::I32(5));
    let e = field
        .call(&mut store, &[Val::AnyRef(Some(a))], &mut out)
        .unwrap_err();
    assert_eq!(trap_of(&e), Some(Trap::CastFailure));
    let i31 = inst.get_func(&mut store, "i31").unwrap();
    let minus = AnyRef::from_i31(&store, I31::new_i32(-3).unwrap());
    assert_eq!(minus.as_i31().unwrap().get_i32(), -3);
    i31.call(&mut store, &[Val::AnyRef(Some(minus))], &mut out)
        .unwrap();
    assert_eq!(out[0], Val::I32(-3));
    assert_eq!(I31::new_u32(1 << 31), None);
    assert_eq!(I31::wrapping_u32(u32::MAX).get_u32(), 0x7fff_ffff);
    assert_eq!(I31::wrapping_u32(u32::MAX).get_i32(), -1);

    // A host value made a GC value and back keeps its identity and data;
    // a struct made an externref has no host data.
    let host = ExternRef::new(&mut store, 42u32);
    let internalize = inst.get_func(&mut store, "internalize").unwrap();
    internalize
        .call(&mut store, &[Val::ExternRef(Some(host))], &mut out)
        .unwrap();
    let Val::AnyRef(Some(inside)) = out[0] else {
        panic!("{:?}", out[0])
    };
    assert!(!inside.is_eqref() && !inside.is_struct(&store));
    let back = ExternRef::convert_any(inside);
    assert_eq!(back, host);
    let data = back.data(&store).unwrap().downcast_ref::<u32>();
    assert_eq!(data, Some(&42));
    let externalize = inst.get_func(&mut store, "externalize").unwrap();
    externalize
        .call(&mut store, &[Val::AnyRef(Some(s))], &mut out)
        .unwrap();
    let Val::ExternRef(Some(e)) = out[0] else {
        panic!("{:?}", out[0])
    };
    assert!(e.data(&store).is_none());
    assert_eq!(AnyRef::convert_extern(e), s);

    // A GC value is refused where its type does not fit.
    let e = field
        .call(&mut store, &[Val::ExternRef(Some(host))], &mut out)
        .unwrap_err();
    assert!(format!("{e:#}").contains("type mismatch"), "{e:#}");
}

#[test]
fn types_and_objects_are_shared_across_modules() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    // `$point` is declared in both modules: the same canonical type, so a
    // point made by one is a point to the other. `$sub` extends it.
    let maker = Module::new(
        &engine,
        r#"(module
             (type $point (sub (struct (field i32) (field i32))))
             (type $sub (sub $point (struct (field i32) (field i32) (field i32))))
             (type $f (sub (func (result i32))))
             (type $g (sub $f (func (result i32))))
             (func (export "make") (result (ref $point)) (struct.new $point (i32.const 3) (i32.const 4)))
             (func (export "make_sub") (result (ref $point))
               (struct.new $sub (i32.const 1) (i32.const 2) (i32.const 9)))
             (func (export "seven") (type $g) (i32.const 7)))"#,
    )
    .unwrap();
    let inst = linker.instantiate(&mut store, &maker).unwrap();
    linker.instance(&mut store, "maker", inst).unwrap();
    let user = Module::new(
        &engine,
        r#"(module
             (type $point (sub (struct (field i32) (field i32))))
             (type $sub (sub $point (struct (field i32) (field i32) (field i32))))
             (type $f (sub (func (result i32))))
             ;; A function of a subtype satisfies the import of its supertype.
             (import "maker" "seven" (func $seven (type $f)))
             (import "maker" "make" (func $make (result (ref $point))))
             (import "maker" "make_sub" (func $make_sub (result (ref $point))))
             (func (export "sum") (result i32)
               (local $p (ref $point))
               (local.set $p (call $make))
               (i32.add (struct.get $point 0 (local.get $p)) (struct.get $point 1 (local.get $p))))
             (func (export "third") (result i32)
               (struct.get $sub 2 (ref.cast (ref $sub) (call $make_sub))))
             (func (export "is_sub") (result i32)
               (ref.test (ref $sub) (call $make)))
             (func (export "seven") (result i32) (call $seven)))"#,
    )
    .unwrap();
    let inst = linker.instantiate(&mut store, &user).unwrap();
    for (name, want) in [("sum", 7), ("third", 9), ("is_sub", 0), ("seven", 7)] {
        let f = inst.get_typed_func::<(), i32>(&mut store, name).unwrap();
        assert_eq!(f.call(&mut store, ()).unwrap(), want, "{name}");
    }

    // The other way round is refused: a supertype's function for a
    // subtype's import.
    let wrong = Module::new(
        &engine,
        r#"(module
             (type $f (sub (func (result i32))))
             (type $g (sub $f (func (result i32))))
             (type $h (sub $g (func (result i32))))
             (import "maker" "seven" (func (type $h))))"#,
    )
    .unwrap();
    let e = linker.instantiate(&mut store, &wrong).unwrap_err();
    assert!(
        format!("{e:#}").contains("incompatible import type"),
        "{e:#}"
    );
}

#[test]
fn constant_expressions_make_objects() {
    let (mut store, inst) = instance(
        r#"(module
             (type $s (struct (field i32) (field (ref null $s))))
             (type $a (array (mut i16)))
             (global $inner (ref $s) (struct.new $s (i32.const 1) (ref.null $s)))
             (global $outer (ref $s) (struct.new $s (i32.const 2) (global.get $inner)))
             (global $arr (ref $a) (array.new $a (i32.const -1) (i32.const 3)))
             (global $fixed (ref $a) (array.new_fixed $a 2 (i32.const 5) (i32.const 70000)))
             (global $i (ref i31) (ref.i31 (i32.const -5)))
             (table $t 2 anyref (ref.i31 (i32.const 9)))
             (func (export "check") (result i32)
               (i32.add
                 (struct.get $s 0 (ref.as_non_null (struct.get $s 1 (global.get $outer))))
                 (i32.add
                   (array.get_s $a (global.get $arr) (i32.const 2))
                   (i32.add
                     (array.get_u $a (global.get $fixed) (i32.const 1))
                     (i32.add
                       (i31.get_s (global.get $i))
                       (i31.get_u (ref.cast i31ref (table.get $t (i32.const 1))))))))))"#,
    );
    let check = inst.get_typed_func::<(), i32>(&mut store, "check").unwrap();
    // 1 + (-1) + (70000 mod 65536 = 4464) + (-5) + 9
    assert_eq!(check.call(&mut store, ()).unwrap(), 4468);
}

#[test]
fn subtypes_pass_host_checks_and_instantiation_traps_are_traps() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
             (type $f (sub (func (result i32))))
             (type $g (sub $f (func (result i32))))
             (table (export "t") 1 (ref null $f))
             (func (export "g") (type $g) (i32.const 1))
             (func (export "call") (param (ref null $f)) (result i32)
               (call_ref $f (local.get 0))))"#,
    )
    .unwrap();
    let inst = Instance::new(&mut store, &module, &[]).unwrap();
    let g = inst.get_func(&mut store, "g").unwrap();
    // A function of type $g where a (ref null $f) is expected.
    let table = inst.get_table(&mut store, "t").unwrap();
    table.set(&mut store, 0, Val::FuncRef(Some(g))).unwrap();
    let call = inst.get_func(&mut store, "call").unwrap();
    let mut out = [Val::I32(0)];
    call.call(&mut store, &[Val::FuncRef(Some(g))], &mut out)
        .unwrap();
    assert_eq!(out[0], Val::I32(1));

    // A global initialiser whose allocation is too large: the trap.
    let too_big = Module::new(
        &engine,
        r#"(module (type $a (array i64))
             (global (ref $a) (array.new_default $a (i32.const 0x7fffffff))))"#,
    )
    .unwrap();
    let e = Instance::new(&mut store, &too_big, &[]).unwrap_err();
    assert_eq!(trap_of(&e), Some(Trap::AllocationTooLarge), "{e:#}");
}

#[test]
fn the_embedders_limiter_caps_the_gc_heap_as_a_memory() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (type $a (array i8))
             (type $cell (struct (field (mut anyref))))
             (func (export "hoard") (param $n i32) (result i32)
               (local $c (ref null $cell)) (local $i i32)
               (loop $l
                 (local.set $c (struct.new $cell
                   (struct.new $cell (array.new_default $a (i32.const 65536)))))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
               (local.get $i)))"#,
    )
    .unwrap();
    // StoreLimits' memory size caps the GC heap (as Wasmtime's GC heap is
    // a memory): 8 MiB holds fewer than 128 arrays of 64 KiB.
    for trap_on_failure in [false, true] {
        let mut store = Store::new(
            &engine,
            wasm_jit::StoreLimitsBuilder::new()
                .memory_size(8 << 20)
                .trap_on_grow_failure(trap_on_failure)
                .build(),
        );
        store.limiter(|l| l);
        let inst = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let hoard = inst
            .get_typed_func::<i32, i32>(&mut store, "hoard")
            .unwrap();
        assert_eq!(hoard.call(&mut store, 64).unwrap(), 64);
        let e = hoard.call(&mut store, 1000).unwrap_err();
        if trap_on_failure {
            // The limiter's own error.
            assert!(trap_of(&e).is_none(), "{e:#}");
            assert!(
                format!("{e:#}").contains("forcing trap when growing memory"),
                "{e:#}"
            );
        } else {
            assert!(e.is::<GcHeapOutOfMemory<()>>(), "{e:#}");
            assert!(
                format!("{e:#}").contains("resource limiter refused the heap more memory"),
                "{e:#}"
            );
        }
    }
}

#[test]
fn typed_calls_take_and_return_anyref() {
    let (mut store, inst) = instance(
        r#"(module
             (type $s (struct (field i32)))
             (func (export "wrap") (param i32) (result anyref)
               (struct.new $s (local.get 0)))
             (func (export "unwrap") (param anyref) (result i32)
               ;; (`i31ref` is nullable: a null would pass its test.)
               (if (result i32) (ref.test (ref i31) (local.get 0))
                 (then (i31.get_u (ref.cast (ref i31) (local.get 0))))
                 (else (struct.get $s 0 (ref.cast (ref $s) (local.get 0)))))))"#,
    );
    let wrap = inst
        .get_typed_func::<i32, Option<AnyRef>>(&mut store, "wrap")
        .unwrap();
    let unwrap = inst
        .get_typed_func::<Option<AnyRef>, i32>(&mut store, "unwrap")
        .unwrap();
    let s = wrap.call(&mut store, 77).unwrap();
    assert!(s.unwrap().is_struct(&store));
    assert_eq!(unwrap.call(&mut store, s).unwrap(), 77);
    let i = AnyRef::from_i31(&store, I31::wrapping_u32(12));
    assert_eq!(unwrap.call(&mut store, Some(i)).unwrap(), 12);
    let e = unwrap.call(&mut store, None).unwrap_err();
    assert_eq!(trap_of(&e), Some(Trap::CastFailure));
}

/// A default value of a concrete struct type is a GC null: a host
/// function's results start as one, and imports defined as default values
/// return one.
#[test]
fn defaults_of_struct_types_are_gc_nulls() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (type $s (struct (field i32)))
             (import "host" "default" (func $default (result (ref null $s))))
             (import "host" "untouched" (func $untouched (result (ref null $s))))
             (func (export "nulls") (result i32)
               (i32.add (ref.is_null (call $default)) (ref.is_null (call $untouched)))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let untouched_ty = module
        .imports()
        .find(|i| i.name() == "untouched")
        .and_then(|i| i.ty().func().cloned())
        .unwrap();
    // The result starts as a GC null, not a function one.
    linker
        .func_new("host", "untouched", untouched_ty, |_, _, results| {
            assert!(matches!(results, [Val::AnyRef(None)]), "{results:?}");
            Ok(())
        })
        .unwrap();
    linker
        .define_unknown_imports_as_default_values(&module)
        .unwrap();
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let nulls = inst.get_typed_func::<(), i32>(&mut store, "nulls").unwrap();
    assert_eq!(nulls.call(&mut store, ()).unwrap(), 2);
}

/// Exact reference types (custom descriptors): the host may pass only
/// values of exactly the type, not of a subtype, and an exact function
/// import takes only a function of exactly its type.
#[test]
fn exact_types_refuse_subtypes_from_the_host() {
    let mut config = wasm_jit::Config::new();
    config.wasm_feature(wasm_jit::WasmFeatures::CUSTOM_DESCRIPTORS, true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (type $s (sub (struct (field i32))))
             (type $t (sub $s (struct (field i32) (field i32))))
             (func (export "new_s") (result anyref) (struct.new $s (i32.const 1)))
             (func (export "new_t") (result anyref) (struct.new $t (i32.const 2) (i32.const 3)))
             (func (export "exact") (param (ref null (exact $s))) (result i32)
               (struct.get $s 0 (local.get 0)))
             (func (export "inexact") (param (ref null $s)) (result i32)
               (struct.get $s 0 (local.get 0)))
             (func (export "is_exact") (param anyref) (result i32)
               (ref.test (ref (exact $s)) (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = Instance::new(&mut store, &module, &[]).unwrap();
    let call = |store: &mut Store<()>, name: &str, arg: Val| {
        let f = inst.get_func(&mut *store, name).unwrap();
        let mut out = [Val::I32(0)];
        f.call(&mut *store, &[arg], &mut out).map(|()| out[0].i32())
    };
    let new = |store: &mut Store<()>, name: &str| {
        let f = inst.get_func(&mut *store, name).unwrap();
        let mut out = [Val::AnyRef(None)];
        f.call(&mut *store, &[], &mut out).unwrap();
        out[0]
    };
    let (s, t) = (new(&mut store, "new_s"), new(&mut store, "new_t"));
    assert_eq!(call(&mut store, "exact", s).unwrap(), Some(1));
    assert_eq!(call(&mut store, "inexact", t).unwrap(), Some(2));
    let err = call(&mut store, "exact", t).unwrap_err();
    assert!(err.to_string().contains("type mismatch"), "{err}");
    assert_eq!(call(&mut store, "is_exact", s).unwrap(), Some(1));
    assert_eq!(call(&mut store, "is_exact", t).unwrap(), Some(0));

    // An exact function import: a function of a subtype does not do.
    let types = r#"(type $f (sub (func))) (type $g (sub $f (func)))"#;
    let exporter = Module::new(
        &engine,
        format!(r#"(module {types} (func (export "g") (type $g)) (func (export "f") (type $f)))"#),
    )
    .unwrap();
    let ex = Instance::new(&mut store, &exporter, &[]).unwrap();
    let importer = Module::new(
        &engine,
        format!(r#"(module {types} (import "m" "f" (func (exact (type $f)))))"#),
    )
    .unwrap();
    let g = ex.get_export(&mut store, "g").unwrap();
    let f = ex.get_export(&mut store, "f").unwrap();
    let err = Instance::new(&mut store, &importer, &[g]).unwrap_err();
    assert!(
        err.to_string().contains("incompatible import type"),
        "{err}"
    );
    Instance::new(&mut store, &importer, &[f]).unwrap();
}

/// The host reads and writes structs and arrays field by field, as Wasm
/// would: packed fields zero-extended (and truncated when set), references
/// of every kind, immutability, bounds and types checked with errors.
#[test]
fn the_host_reads_and_writes_struct_fields_and_array_elements() {
    let (mut store, instance) = instance(
        r#"(module
          (type $pair (struct (field (mut i8)) (field i64) (field (mut f64))
                              (field (mut funcref)) (field (mut (ref null $pair)))
                              (field (mut v128)) (field (mut i16))))
          (type $bytes (array (mut i8)))
          (type $fixed (array i32))
          (func $f (export "f") (result i32) (i32.const 7))
          (elem declare func $f)
          (func (export "pair") (result anyref)
            (struct.new $pair (i32.const 300) (i64.const -5) (f64.const 1.5)
              (ref.func $f) (ref.null $pair) (v128.const i64x2 1 2) (i32.const -1)))
          (func (export "bytes") (result anyref)
            (array.new $bytes (i32.const 0xff) (i32.const 3)))
          (func (export "fixed") (result anyref)
            (array.new_fixed $fixed 2 (i32.const 10) (i32.const 20)))
          ;; What Wasm reads back: field 0 signed, and element 1.
          (func (export "check") (param anyref anyref) (result i32 i32)
            (struct.get_s $pair 0 (ref.cast (ref $pair) (local.get 0)))
            (array.get_s $bytes (ref.cast (ref $bytes) (local.get 1)) (i32.const 1))))"#,
    );
    let get = |store: &mut Store<()>, name: &str| object_from(store, instance, name, &[]);
    let pair_ref = get(&mut store, "pair");
    let bytes_ref = get(&mut store, "bytes");
    assert!(pair_ref.as_array(&store).is_none());
    let pair = pair_ref.as_struct(&store).unwrap();
    assert_eq!(pair.field_count(&store), 7);
    // 300 stored in an i8 is 44; -1 in an i16 reads back as 0xffff.
    assert_eq!(pair.field(&mut store, 0).unwrap().i32(), Some(44));
    assert_eq!(pair.field(&mut store, 1).unwrap().i64(), Some(-5));
    assert_eq!(pair.field(&mut store, 2).unwrap().f64(), Some(1.5));
    let f = match pair.field(&mut store, 3).unwrap() {
        Val::FuncRef(Some(f)) => f,
        v => panic!("{v:?}"),
    };
    let mut seven = [Val::I32(0)];
    f.call(&mut store, &[], &mut seven).unwrap();
    assert_eq!(seven[0].i32(), Some(7));
    assert!(matches!(
        pair.field(&mut store, 4).unwrap(),
        Val::AnyRef(None)
    ));
    assert_eq!(
        pair.field(&mut store, 5).unwrap(),
        Val::V128((2u128 << 64) | 1)
    );
    assert_eq!(pair.field(&mut store, 6).unwrap().i32(), Some(0xffff));
    let e = pair.field(&mut store, 7).unwrap_err();
    assert_eq!(e.to_string(), "field 7 of a struct with 7 fields");

    // Writes: a packed field keeps its low bits; a reference to itself;
    // an immutable field, a value of another type and a struct of another
    // type are refused.
    pair.set_field(&mut store, 0, Val::I32(0x1_80)).unwrap();
    pair.set_field(&mut store, 2, Val::F64(2.5f64.to_bits()))
        .unwrap();
    pair.set_field(&mut store, 4, Val::AnyRef(Some(pair_ref)))
        .unwrap();
    assert_eq!(pair.field(&mut store, 2).unwrap().f64(), Some(2.5));
    assert_eq!(
        pair.field(&mut store, 4).unwrap(),
        Val::AnyRef(Some(pair_ref))
    );
    let e = pair.set_field(&mut store, 1, Val::I64(1)).unwrap_err();
    assert_eq!(e.to_string(), "field 1 is immutable");
    let e = pair.set_field(&mut store, 2, Val::I32(1)).unwrap_err();
    assert!(
        e.to_string()
            .contains("type mismatch: field 2 expected a value of type f64"),
        "{e}"
    );
    let e = pair
        .set_field(&mut store, 4, Val::AnyRef(Some(bytes_ref)))
        .unwrap_err();
    assert!(e.to_string().contains("type mismatch: field 4"), "{e}");

    let bytes = bytes_ref.as_array(&store).unwrap();
    assert!(bytes_ref.as_struct(&store).is_none());
    assert_eq!(bytes.len(&store), 3);
    assert_eq!(bytes.get(&mut store, 2).unwrap().i32(), Some(0xff));
    bytes.set(&mut store, 1, Val::I32(0x17f)).unwrap();
    let e = bytes.get(&mut store, 3).unwrap_err();
    assert_eq!(e.to_string(), "element 3 of an array of 3");
    assert!(bytes.set(&mut store, 3, Val::I32(0)).is_err());
    // Wasm sees what the host wrote: 0x180 as a signed i8 is -128, 0x17f
    // is 127.
    let mut out = [Val::I32(0), Val::I32(0)];
    instance
        .get_func(&mut store, "check")
        .unwrap()
        .call(
            &mut store,
            &[Val::AnyRef(Some(pair_ref)), Val::AnyRef(Some(bytes_ref))],
            &mut out,
        )
        .unwrap();
    assert_eq!((out[0].i32(), out[1].i32()), (Some(-128), Some(127)));

    let fixed = get(&mut store, "fixed").as_array(&store).unwrap();
    assert_eq!(fixed.get(&mut store, 1).unwrap().i32(), Some(20));
    let e = fixed.set(&mut store, 0, Val::I32(1)).unwrap_err();
    assert_eq!(e.to_string(), "element 0 is immutable");
    // An i31 is neither.
    let i31 = AnyRef::from_i31(&store, I31::wrapping_u32(5));
    assert!(i31.as_struct(&store).is_none() && i31.as_array(&store).is_none());
}

/// What the host may not do with objects: treat a host value as one, write
/// a reference of another store or a null of another hierarchy; arrays of
/// references read and write like any other.
#[test]
fn object_access_refuses_foreign_and_ill_typed_references() {
    let (mut store, instance) = instance(
        r#"(module
          (type $node (struct (field (mut (ref null $node)))))
          (type $nodes (array (mut (ref null $node))))
          (func (export "node") (result anyref) (struct.new_default $node))
          (func (export "nodes") (result anyref)
            (array.new_default $nodes (i32.const 2)))
          (func (export "convert") (param externref) (result anyref)
            (any.convert_extern (local.get 0))))"#,
    );
    let call =
        |store: &mut Store<()>, name: &str, args: &[Val]| object_from(store, instance, name, args);
    let node_ref = call(&mut store, "node", &[]);
    let node = node_ref.as_struct(&store).unwrap();
    let nodes = call(&mut store, "nodes", &[]).as_array(&store).unwrap();
    nodes
        .set(&mut store, 1, Val::AnyRef(Some(node_ref)))
        .unwrap();
    assert_eq!(
        nodes.get(&mut store, 1).unwrap(),
        Val::AnyRef(Some(node_ref))
    );
    assert_eq!(nodes.get(&mut store, 0).unwrap(), Val::AnyRef(None));
    // A host value Wasm made an `anyref` is neither a struct nor an array.
    let host = ExternRef::new(&mut store, 5u32);
    let converted = call(&mut store, "convert", &[Val::ExternRef(Some(host))]);
    assert!(converted.as_struct(&store).is_none() && converted.as_array(&store).is_none());
    // A null funcref is not a null of the struct's hierarchy.
    let e = node
        .set_field(&mut store, 0, Val::FuncRef(None))
        .unwrap_err();
    assert!(e.to_string().contains("type mismatch: field 0"), "{e}");
    // A reference of another store.
    let (mut other, other_instance) = instance_of(&store);
    let mut out = [Val::AnyRef(None)];
    other_instance
        .get_func(&mut other, "node")
        .unwrap()
        .call(&mut other, &[], &mut out)
        .unwrap();
    let e = node.set_field(&mut store, 0, out[0]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "field 0 is a reference that belongs to another store"
    );

    fn instance_of(store: &Store<()>) -> (Store<()>, Instance) {
        let engine = store.engine().clone();
        let module = Module::new(
            &engine,
            r#"(module (type $node (struct (field (mut (ref null $node)))))
                 (func (export "node") (result anyref) (struct.new_default $node)))"#,
        )
        .unwrap();
        let mut other = Store::new(&engine, ());
        let instance = Instance::new(&mut other, &module, &[]).unwrap();
        (other, instance)
    }
}

/// The host makes structs and arrays of types it describes, which are the
/// same types as a module's of the same fields: Wasm casts and reads them;
/// their memory is asked of the store's limiter as Wasm's is; values of
/// the wrong type, count or engine are refused before anything is
/// allocated.
#[test]
fn the_host_makes_structs_and_arrays_wasm_takes_as_its_own() {
    use wasm_jit::{
        ArrayRef, ArrayType, FieldType, Mutability, RefType, StorageType, StructRef, StructType,
        ValType,
    };
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (type $point (struct (field i16) (field (mut f64))))
          (type $points (array (mut (ref null $point))))
          ;; The x of the point at `i` plus the array's length.
          (func (export "x_at") (param anyref i32) (result i32)
            (i32.add
              (struct.get_u $point 0
                (array.get $points (ref.cast (ref $points) (local.get 0)) (local.get 1)))
              (array.len (ref.cast (ref $points) (local.get 0))))))"#,
    )
    .unwrap();
    let mut store = Store::new(
        &engine,
        wasm_jit::StoreLimitsBuilder::new()
            .memory_size(4 << 20)
            .build(),
    );
    store.limiter(|l| l);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let point = StructType::new(
        &engine,
        [
            FieldType::new(Mutability::Const, StorageType::I16),
            FieldType::new(Mutability::Var, StorageType::ValType(ValType::F64)),
        ],
    )
    .unwrap();
    let point_ref = ValType::Ref(RefType::new(true, point.heap_type()));
    let points = ArrayType::new(
        &engine,
        FieldType::new(Mutability::Var, StorageType::ValType(point_ref)),
    )
    .unwrap();
    let p = StructRef::new(
        &mut store,
        &point,
        &[Val::I32(0x1_0007), Val::F64(0.5f64.to_bits())],
    )
    .unwrap();
    // A packed field keeps its low bits; the type reads back.
    assert_eq!(p.field(&mut store, 0).unwrap().i32(), Some(7));
    assert_eq!(p.ty(&store).fields().len(), 2);
    assert_eq!(p.ty(&store).heap_type(), point.heap_type());
    let arr = ArrayRef::new(&mut store, &points, &Val::AnyRef(None), 3).unwrap();
    arr.set(&mut store, 2, Val::AnyRef(Some(p.to_anyref())))
        .unwrap();
    let x_at = instance
        .get_typed_func::<(Option<AnyRef>, i32), i32>(&mut store, "x_at")
        .unwrap();
    // Wasm's cast to its own `$points` and `$point` takes the host's.
    assert_eq!(
        x_at.call(&mut store, (Some(arr.to_anyref()), 2)).unwrap(),
        10
    );
    let fixed =
        ArrayRef::new_fixed(&mut store, &points, &[Val::AnyRef(Some(p.to_anyref()))]).unwrap();
    assert_eq!(
        x_at.call(&mut store, (Some(fixed.to_anyref()), 0)).unwrap(),
        8
    );

    // Refused before allocating: a wrong count, a wrong type, a struct
    // where a point goes, a type of another engine.
    let e = StructRef::new(&mut store, &point, &[Val::I32(1)]).unwrap_err();
    assert_eq!(e.to_string(), "a struct of 2 fields given 1 values");
    let e = StructRef::new(&mut store, &point, &[Val::I32(1), Val::I32(2)]).unwrap_err();
    assert!(e.to_string().contains("type mismatch: field 1"), "{e}");
    let e = ArrayRef::new_fixed(&mut store, &points, &[Val::AnyRef(Some(arr.to_anyref()))])
        .unwrap_err();
    assert!(e.to_string().contains("type mismatch: element 0"), "{e}");
    let other_engine = Engine::default();
    let other = StructType::new(&other_engine, []).unwrap();
    let e = StructRef::new(&mut store, &other, &[]).unwrap_err();
    assert!(e.to_string().contains("another engine"), "{e}");
    // (A field naming the other engine's type, with a null that would be
    // checked against an id this engine does not have.)
    let foreign_ref = ValType::Ref(RefType::new(true, other.heap_type()));
    let foreign = ArrayType::new(
        &other_engine,
        FieldType::new(Mutability::Var, StorageType::ValType(foreign_ref)),
    )
    .unwrap();
    let e = ArrayRef::new(&mut store, &foreign, &Val::AnyRef(None), 1).unwrap_err();
    assert!(e.to_string().contains("another engine"), "{e}");
    // Exact references only to concrete types.
    let exact_any = ValType::Ref(RefType {
        exact: true,
        ..RefType::new(true, wasm_jit::HeapType::Any)
    });
    assert!(
        ArrayType::new(
            &engine,
            FieldType::new(Mutability::Var, StorageType::ValType(exact_any))
        )
        .is_err()
    );
    // A reference to a type the engine does not have.
    let bogus = ValType::Ref(RefType::new(true, wasm_jit::HeapType::Canonical(1 << 30)));
    let e = ArrayType::new(
        &engine,
        FieldType::new(Mutability::Var, StorageType::ValType(bogus)),
    )
    .unwrap_err();
    assert!(e.to_string().contains("not one of this engine's"), "{e}");

    // The limiter caps what the host allocates as what Wasm allocates.
    let bytes = ArrayType::new(&engine, FieldType::new(Mutability::Var, StorageType::I8)).unwrap();
    let e = ArrayRef::new(&mut store, &bytes, &Val::I32(0), 64 << 20).unwrap_err();
    let full = e
        .downcast_ref::<GcHeapOutOfMemory<()>>()
        .unwrap_or_else(|| panic!("{e:#}"));
    assert_eq!(full.bytes_needed(), (64 << 20) + 16);
    // Larger than the heap's limit itself: too large.
    let e = ArrayRef::new(&mut store, &bytes, &Val::I32(0), u32::MAX).unwrap_err();
    assert_eq!(trap_of(&e), Some(Trap::AllocationTooLarge), "{e:#}");
    let small = ArrayRef::new(&mut store, &bytes, &Val::I32(9), 1000).unwrap();
    assert_eq!(small.get(&mut store, 999).unwrap().i32(), Some(9));

    // `(ref null func)` written either way is the module's `funcref`
    // field: Wasm's cast takes the host's object.
    let module = Module::new(
        &engine,
        r#"(module (type $f (array (mut funcref)))
             (func (export "is_f") (param anyref) (result i32)
               (ref.test (ref $f) (local.get 0))))"#,
    )
    .unwrap();
    let is_f = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap()
        .get_typed_func::<Option<AnyRef>, i32>(&mut store, "is_f")
        .unwrap();
    for t in [
        ValType::FuncRef,
        ValType::Ref(RefType::new(true, wasm_jit::HeapType::Func)),
    ] {
        let ty = ArrayType::new(
            &engine,
            FieldType::new(Mutability::Var, StorageType::ValType(t)),
        )
        .unwrap();
        let a = ArrayRef::new(&mut store, &ty, &Val::FuncRef(None), 1).unwrap();
        assert_eq!(
            is_f.call(&mut store, Some(a.to_anyref())).unwrap(),
            1,
            "{t}"
        );
    }
}
