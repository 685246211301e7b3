//! memory64, custom page sizes and wide arithmetic through the API: a
//! 64-bit memory larger than 4 GiB (sparse) that traps exactly at its end,
//! one-byte pages, 32- and 64-bit memories side by side, 64-bit tables,
//! and 128-bit arithmetic.

use anyhow::Result;
use wasm_jit::{Config, Engine, Instance, Linker, Memory, MemoryType, Module, Store, Trap};

fn engine(explicit: bool) -> Result<Engine> {
    let mut config = Config::new();
    config.explicit_bounds_checks(explicit).wasm_features(
        Config::DEFAULT_FEATURES
            | wasm_jit::WasmFeatures::CUSTOM_PAGE_SIZES
            | wasm_jit::WasmFeatures::WIDE_ARITHMETIC,
    );
    Engine::new(&config)
}

fn trap_message(e: anyhow::Error) -> String {
    e.downcast_ref::<Trap>()
        .map(|t| t.message().to_string())
        .unwrap_or_else(|| format!("not a trap: {e:#}"))
}

/// 70,000 pages: 4.27 GiB, nearly all never touched.
const BIG: &str = r#"(module
  (memory (export "mem") i64 70000)
  (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "load_far") (param i64) (result i64)
    (i64.load offset=0xffffffffffff0000 (local.get 0)))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "fill") (param i64 i64) (memory.fill (local.get 0) (i32.const 7) (local.get 1))))"#;

#[test]
fn a_64_bit_memory_past_4_gib_traps_exactly_at_its_end() -> Result<()> {
    for explicit in [false, true] {
        let engine = engine(explicit)?;
        let module = Module::new(&engine, BIG)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let store_fn = instance.get_typed_func::<(u64, u64), ()>(&mut store, "store")?;
        let load = instance.get_typed_func::<u64, u64>(&mut store, "load")?;
        let load_far = instance.get_typed_func::<u64, u64>(&mut store, "load_far")?;
        let size = instance.get_typed_func::<(), u64>(&mut store, "size")?;
        let grow = instance.get_typed_func::<u64, u64>(&mut store, "grow")?;
        let fill = instance.get_typed_func::<(u64, u64), ()>(&mut store, "fill")?;
        let end: u64 = 70000 * 65536;
        assert!(end > 1 << 32);

        // Above 4 GiB, and the last 8 bytes.
        store_fn.call(&mut store, ((1 << 32) + 8, 0x1122_3344_5566_7788))?;
        assert_eq!(load.call(&mut store, (1 << 32) + 8)?, 0x1122_3344_5566_7788);
        assert_eq!(load.call(&mut store, 8)?, 0, "no 32-bit wrap-around");
        store_fn.call(&mut store, (end - 8, u64::MAX))?;
        assert_eq!(load.call(&mut store, end - 8)?, u64::MAX);
        // One byte further, and addresses that wrap 64 bits, trap.
        for at in [end - 7, end, u64::MAX, u64::MAX - 6, 1 << 63] {
            let e = load.call(&mut store, at).unwrap_err();
            assert_eq!(
                trap_message(e),
                "out of bounds memory access",
                "load at {at:#x}"
            );
        }
        let e = store_fn.call(&mut store, (end - 4, 1)).unwrap_err();
        assert_eq!(trap_message(e), "out of bounds memory access");
        // index + offset overflows 64 bits: out of bounds, not wrapped.
        let e = load_far.call(&mut store, 0x1_0000).unwrap_err();
        assert_eq!(trap_message(e), "out of bounds memory access");
        // Bulk operations check the whole 64-bit range too.
        let e = fill.call(&mut store, (u64::MAX - 1, 4)).unwrap_err();
        assert_eq!(trap_message(e), "out of bounds memory access");
        fill.call(&mut store, (end - 16, 16))?;
        assert_eq!(load.call(&mut store, end - 8)?, 0x0707_0707_0707_0707);

        assert_eq!(size.call(&mut store, ())?, 70000);
        assert_eq!(grow.call(&mut store, 1)?, 70000);
        assert_eq!(
            grow.call(&mut store, u64::MAX)?,
            u64::MAX,
            "-1: cannot grow"
        );
        assert_eq!(size.call(&mut store, ())?, 70001);
        // The new page is usable, zeroed, and the old contents stayed.
        assert_eq!(load.call(&mut store, end + 8)?, 0);
        assert_eq!(load.call(&mut store, (1 << 32) + 8)?, 0x1122_3344_5566_7788);
        let mem = instance.get_memory(&mut store, "mem").unwrap();
        assert_eq!(mem.ty(&store).minimum, 70001);
        assert!(mem.ty(&store).memory64);
    }
    Ok(())
}

#[test]
fn one_byte_pages_end_exactly_where_declared() -> Result<()> {
    for explicit in [false, true] {
        let engine = engine(explicit)?;
        let module = Module::new(
            &engine,
            r#"(module
                 (memory 3 10 (pagesize 1))
                 (func (export "store8") (param i32) (i32.store8 (local.get 0) (i32.const 9)))
                 (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
                 (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
                 (func (export "size") (result i32) (memory.size)))"#,
        )?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let store8 = instance.get_typed_func::<i32, ()>(&mut store, "store8")?;
        let load32 = instance.get_typed_func::<i32, i32>(&mut store, "load32")?;
        let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
        let size = instance.get_typed_func::<(), i32>(&mut store, "size")?;
        store8.call(&mut store, 2)?;
        let e = store8.call(&mut store, 3).unwrap_err();
        assert_eq!(trap_message(e), "out of bounds memory access");
        let e = load32.call(&mut store, 0).unwrap_err();
        assert_eq!(
            trap_message(e),
            "out of bounds memory access",
            "4 bytes of 3"
        );
        assert_eq!(grow.call(&mut store, 2)?, 3);
        assert_eq!(size.call(&mut store, ())?, 5);
        assert_eq!(load32.call(&mut store, 0)?, 9 << 16);
        assert_eq!(load32.call(&mut store, 1)?, 9 << 8, "grown bytes are zero");
        assert!(load32.call(&mut store, 2).is_err());
        assert_eq!(grow.call(&mut store, 6)?, -1, "past the maximum of 10");
        assert_eq!(grow.call(&mut store, 5)?, 5);
        assert_eq!(size.call(&mut store, ())?, 10);
    }
    Ok(())
}

#[test]
fn memories_of_both_index_types_in_one_module() -> Result<()> {
    let engine = engine(false)?;
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "m64" (memory $b i64 1))
             (memory $a 1)
             (func (export "copy") (param i64 i32 i32)
               ;; 64-bit destination, 32-bit source: the length is an i32.
               (memory.copy $b $a (local.get 0) (local.get 1) (local.get 2)))
             (func (export "poke") (param i32 i32) (i32.store8 $a (local.get 0) (local.get 1)))
             (func (export "peek") (param i64) (result i32) (i32.load8_u $b (local.get 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let m64 = Memory::new(&mut store, MemoryType::new64(1, None))?;
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "m64", m64)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let poke = instance.get_typed_func::<(i32, i32), ()>(&mut store, "poke")?;
    let copy = instance.get_typed_func::<(u64, i32, i32), ()>(&mut store, "copy")?;
    let peek = instance.get_typed_func::<u64, i32>(&mut store, "peek")?;
    poke.call(&mut store, (100, 42))?;
    copy.call(&mut store, (65535, 100, 1))?;
    assert_eq!(peek.call(&mut store, 65535)?, 42);
    assert_eq!(m64.data(&store)[65535], 42);
    let e = copy.call(&mut store, (65535, 100, 2)).unwrap_err();
    assert_eq!(trap_message(e), "out of bounds memory access");

    // A 32-bit memory does not satisfy a 64-bit import.
    let m32 = Memory::new(&mut store, MemoryType::new(1, None))?;
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "m64", m32)?;
    let e = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(format!("{e:#}").contains("m64"), "{e:#}");
    Ok(())
}

#[test]
fn wide_arithmetic_carries_through_128_bits() -> Result<()> {
    let engine = engine(false)?;
    let module = Module::new(
        &engine,
        r#"(module
             (func (export "add") (param i64 i64 i64 i64) (result i64 i64)
               (i64.add128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
             (func (export "sub") (param i64 i64 i64 i64) (result i64 i64)
               (i64.sub128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
             (func (export "mul_s") (param i64 i64) (result i64 i64)
               (i64.mul_wide_s (local.get 0) (local.get 1)))
             (func (export "mul_u") (param i64 i64) (result i64 i64)
               (i64.mul_wide_u (local.get 0) (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let add = instance.get_typed_func::<(u64, u64, u64, u64), (u64, u64)>(&mut store, "add")?;
    let sub = instance.get_typed_func::<(u64, u64, u64, u64), (u64, u64)>(&mut store, "sub")?;
    let mul_s = instance.get_typed_func::<(i64, i64), (u64, i64)>(&mut store, "mul_s")?;
    let mul_u = instance.get_typed_func::<(u64, u64), (u64, u64)>(&mut store, "mul_u")?;
    let split = |x: u128| (x as u64, (x >> 64) as u64);
    let (a, b) = (
        0x0123_4567_89ab_cdef_ffff_ffff_ffff_ffffu128,
        0xffff_0000_0000_0001u128,
    );
    let (al, ah) = split(a);
    let (bl, bh) = split(b);
    assert_eq!(
        add.call(&mut store, (al, ah, bl, bh))?,
        split(a.wrapping_add(b))
    );
    assert_eq!(
        sub.call(&mut store, (bl, bh, al, ah))?,
        split(b.wrapping_sub(a))
    );
    assert_eq!(
        mul_u.call(&mut store, (u64::MAX, u64::MAX))?,
        split(u64::MAX as u128 * u64::MAX as u128)
    );
    let p = i64::MIN as i128 * 3;
    assert_eq!(
        mul_s.call(&mut store, (i64::MIN, 3))?,
        (p as u64, (p >> 64) as i64)
    );
    Ok(())
}

#[test]
fn a_64_bit_table_takes_i64_indices_without_wrapping() -> Result<()> {
    let engine = engine(false)?;
    let module = Module::new(
        &engine,
        r#"(module
             (type $v (func (result i32)))
             (table $t i64 3 10 funcref)
             (elem (table $t) (i64.const 1) func $seven)
             (func $seven (result i32) (i32.const 7))
             (func (export "call") (param i64) (result i32)
               (call_indirect $t (type $v) (local.get 0)))
             (func (export "size") (result i64) (table.size $t))
             (func (export "grow") (param i64) (result i64)
               (table.grow $t (ref.func $seven) (local.get 0)))
             (func (export "fill") (param i64 i64) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
             (func (export "is_null") (param i64) (result i32) (ref.is_null (table.get $t (local.get 0)))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let call = instance.get_typed_func::<u64, i32>(&mut store, "call")?;
    let size = instance.get_typed_func::<(), u64>(&mut store, "size")?;
    let grow = instance.get_typed_func::<u64, u64>(&mut store, "grow")?;
    let fill = instance.get_typed_func::<(u64, u64), ()>(&mut store, "fill")?;
    let is_null = instance.get_typed_func::<u64, i32>(&mut store, "is_null")?;
    assert_eq!(call.call(&mut store, 1)?, 7);
    // 2^32 + 1 must not wrap to 1.
    let e = call.call(&mut store, (1 << 32) + 1).unwrap_err();
    assert_eq!(trap_message(e), "undefined element");
    let e = call.call(&mut store, 0).unwrap_err();
    assert_eq!(trap_message(e), "uninitialized element");
    assert_eq!(size.call(&mut store, ())?, 3);
    assert_eq!(grow.call(&mut store, 2)?, 3);
    assert_eq!(grow.call(&mut store, 1 << 40)?, u64::MAX, "-1: cannot grow");
    assert_eq!(call.call(&mut store, 4)?, 7);
    let e = fill.call(&mut store, (u64::MAX, 2)).unwrap_err();
    assert_eq!(trap_message(e), "out of bounds table access");
    fill.call(&mut store, (3, 2))?;
    assert_eq!(is_null.call(&mut store, 4)?, 1);
    let e = is_null.call(&mut store, 1 << 63).unwrap_err();
    assert_eq!(trap_message(e), "out of bounds table access");
    Ok(())
}

#[test]
fn one_byte_pages_stop_below_4_gib() -> Result<()> {
    let engine = engine(false)?;
    let module = Module::new(
        &engine,
        r#"(module (memory 0 (pagesize 1))
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
             (func (export "size") (result i32) (memory.size)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
    let size = instance.get_typed_func::<(), i32>(&mut store, "size")?;
    // 2^32 - 1 bytes is the most; one more is refused, and the size stays
    // representable.
    assert_eq!(grow.call(&mut store, -1)?, 0);
    assert_eq!(grow.call(&mut store, 1)?, -1);
    assert_eq!(size.call(&mut store, ())?, -1, "0xffffffff bytes");
    Ok(())
}
