//! SIMD through the embedding API: `v128` parameters, results, globals and
//! host functions; vector accesses trapping exactly at the memory's end in
//! both bounds-checking strategies; fuel in vector loops; deterministic
//! relaxed SIMD.

use anyhow::Result;
use wasm_jit::{Config, Engine, Instance, Linker, Module, Store, Trap, V128, Val};

fn lanes_i32(v: u128) -> [u32; 4] {
    let b = v.to_le_bytes();
    std::array::from_fn(|i| u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap()))
}

fn from_i32_lanes(l: [u32; 4]) -> u128 {
    l.iter()
        .enumerate()
        .fold(0u128, |acc, (i, x)| acc | ((*x as u128) << (32 * i)))
}

#[test]
fn v128_crosses_the_host_boundary_everywhere() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "twice" (func $twice (param v128) (result v128)))
             (global (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
             (func (export "add") (param v128 v128) (result v128)
               (i32x4.add (local.get 0) (local.get 1)))
             (func (export "via_host") (param v128) (result v128 i32)
               (call $twice (local.get 0))
               (i32x4.extract_lane 3 (global.get 0)))
             (func (export "bump") (global.set 0 (i32x4.add (global.get 0) (global.get 0)))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "twice", |v: u128| {
        let l = lanes_i32(v);
        from_i32_lanes(l.map(|x| x.wrapping_mul(2)))
    })?;
    let instance = linker.instantiate(&mut store, &module)?;

    let add = instance.get_typed_func::<(V128, V128), V128>(&mut store, "add")?;
    let r = add.call(
        &mut store,
        (
            from_i32_lanes([1, 2, 3, u32::MAX]).into(),
            from_i32_lanes([10, 20, 30, 1]).into(),
        ),
    )?;
    assert_eq!(lanes_i32(r.as_u128()), [11, 22, 33, 0]);

    let via_host = instance.get_typed_func::<u128, (u128, i32)>(&mut store, "via_host")?;
    let (doubled, lane3) = via_host.call(&mut store, from_i32_lanes([5, 6, 7, 8]))?;
    assert_eq!(lanes_i32(doubled), [10, 12, 14, 16]);
    assert_eq!(lane3, 4);

    // Dynamically typed calls and the exported global.
    let g = instance.get_global(&mut store, "g").unwrap();
    assert_eq!(g.get(&mut store), Val::V128(from_i32_lanes([1, 2, 3, 4])));
    let bump = instance.get_func(&mut store, "bump").unwrap();
    bump.call(&mut store, &[], &mut [])?;
    assert_eq!(g.get(&mut store), Val::V128(from_i32_lanes([2, 4, 6, 8])));
    g.set(&mut store, Val::V128(7))?;
    let mut out = [Val::V128(0), Val::I32(0)];
    let f = instance.get_func(&mut store, "via_host").unwrap();
    f.call(&mut store, &[Val::V128(u128::MAX)], &mut out)?;
    assert_eq!(out[0], Val::V128(from_i32_lanes([u32::MAX - 1; 4])));
    assert_eq!(out[1], Val::I32(0));

    // A typed function with the wrong lane-agnostic type is refused.
    assert!(
        instance
            .get_typed_func::<u128, u128>(&mut store, "add")
            .is_err()
    );
    Ok(())
}

const ACCESSES: &str = r#"(module
  (memory 1)
  (func (export "load") (param i32) (result v128) (v128.load (local.get 0)))
  (func (export "load_offset") (param i32) (result v128) (v128.load offset=16 (local.get 0)))
  (func (export "store") (param i32) (v128.store (local.get 0) (v128.const i64x2 -1 -1)))
  (func (export "load64_splat") (param i32) (result v128) (v128.load64_splat (local.get 0)))
  (func (export "load32_zero") (param i32) (result v128) (v128.load32_zero (local.get 0)))
  (func (export "load16x4_s") (param i32) (result v128) (v128.load16x4_s (local.get 0)))
  (func (export "load64_lane") (param i32) (result v128)
    (v128.load64_lane 1 (local.get 0) (v128.const i64x2 0 0)))
  (func (export "store32_lane") (param i32)
    (v128.store32_lane 3 (local.get 0) (v128.const i32x4 1 2 3 4)))
  (func (export "byte") (param i32) (result i32) (i32.load8_u (local.get 0))))"#;

fn oob(store: &mut Store<()>, instance: &Instance, name: &str, addr: i32) -> bool {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut out = vec![Val::V128(0); f.ty(&*store).results().len()];
    match f.call(&mut *store, &[Val::I32(addr)], &mut out) {
        Ok(()) => false,
        Err(e) => {
            let trap = e.downcast_ref::<Trap>().expect("a trap");
            assert_eq!(trap.message(), "out of bounds memory access", "{name}");
            true
        }
    }
}

#[test]
fn vector_accesses_trap_exactly_at_the_end_of_memory() -> Result<()> {
    for explicit in [false, true] {
        let mut config = Config::new();
        config.explicit_bounds_checks(explicit);
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, ACCESSES)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        // A store that traps writes nothing, not even its bytes in bounds.
        let byte = instance.get_typed_func::<i32, i32>(&mut store, "byte")?;
        assert!(oob(&mut store, &instance, "store", 65521));
        assert!(oob(&mut store, &instance, "store32_lane", 65533));
        for at in 65521..65536 {
            assert_eq!(
                byte.call(&mut store, at)?,
                0,
                "byte {at}, explicit={explicit}"
            );
        }
        // (operator, bytes accessed)
        for (name, size) in [
            ("load", 16),
            ("store", 16),
            ("load64_splat", 8),
            ("load32_zero", 4),
            ("load16x4_s", 8),
            ("load64_lane", 8),
            ("store32_lane", 4),
        ] {
            let last = 65536 - size;
            assert!(!oob(&mut store, &instance, name, last), "{name} at {last}");
            assert!(
                oob(&mut store, &instance, name, last + 1),
                "{name} at {}",
                last + 1
            );
            assert!(oob(&mut store, &instance, name, -1), "{name} at -1");
        }
        // The static offset counts too, without wrapping.
        assert!(!oob(&mut store, &instance, "load_offset", 65536 - 32));
        assert!(oob(&mut store, &instance, "load_offset", 65536 - 31));
        assert!(oob(&mut store, &instance, "load_offset", -16));
        // The stores in bounds wrote, and the instance kept working.
        assert_eq!(byte.call(&mut store, 65520)?, 255);
        assert_eq!(byte.call(&mut store, 65532)?, 4, "explicit={explicit}");
    }
    Ok(())
}

#[test]
fn fuel_counts_vector_operators() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
             (func (export "sum") (param i32) (result i32) (local v128)
               (block (loop
                 (br_if 1 (i32.eqz (local.get 0)))
                 (local.set 1 (i32x4.add (local.get 1) (i32x4.splat (local.get 0))))
                 (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                 (br 0)))
               (i32x4.extract_lane 2 (local.get 1))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let sum = instance.get_typed_func::<i32, i32>(&mut store, "sum")?;
    store.set_fuel(1_000_000)?;
    assert_eq!(sum.call(&mut store, 1000)?, 500_500);
    let used = 1_000_000 - store.get_fuel()?;
    assert!((10_000..20_000).contains(&used), "fuel used: {used}");
    store.set_fuel(1000)?;
    let e = sum.call(&mut store, 1_000_000).unwrap_err();
    assert_eq!(
        e.downcast_ref::<Trap>().unwrap().message(),
        "all fuel consumed by WebAssembly"
    );
    Ok(())
}

/// Each relaxed operator beside the strict one it relaxes, on inputs where
/// CPUs disagree (NaN, out-of-range lanes and indices, mixed masks).
const RELAXED: &str = r#"(module
  (func (export "swizzle") (param v128 v128) (result v128 v128)
    (i8x16.relaxed_swizzle (local.get 0) (local.get 1))
    (i8x16.swizzle (local.get 0) (local.get 1)))
  (func (export "trunc") (param v128) (result v128 v128)
    (i32x4.relaxed_trunc_f32x4_s (local.get 0))
    (i32x4.trunc_sat_f32x4_s (local.get 0)))
  (func (export "trunc_u") (param v128) (result v128 v128)
    (i32x4.relaxed_trunc_f32x4_u (local.get 0))
    (i32x4.trunc_sat_f32x4_u (local.get 0)))
  (func (export "trunc64") (param v128) (result v128 v128)
    (i32x4.relaxed_trunc_f64x2_s_zero (local.get 0))
    (i32x4.trunc_sat_f64x2_s_zero (local.get 0)))
  (func (export "laneselect") (param v128 v128 v128) (result v128 v128)
    (i32x4.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2))
    (v128.bitselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "min") (param v128 v128) (result v128 v128)
    (f32x4.relaxed_min (local.get 0) (local.get 1))
    (f32x4.min (local.get 0) (local.get 1)))
  (func (export "max") (param v128 v128) (result v128 v128)
    (f64x2.relaxed_max (local.get 0) (local.get 1))
    (f64x2.max (local.get 0) (local.get 1)))
  (func (export "q15") (param v128 v128) (result v128 v128)
    (i16x8.relaxed_q15mulr_s (local.get 0) (local.get 1))
    (i16x8.q15mulr_sat_s (local.get 0) (local.get 1)))
  (func (export "madd") (param v128 v128 v128) (result v128)
    (f64x2.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))"#;

fn f32x4(l: [f32; 4]) -> u128 {
    from_i32_lanes(l.map(f32::to_bits))
}

fn f64x2(l: [f64; 2]) -> u128 {
    l[0].to_bits() as u128 | ((l[1].to_bits() as u128) << 64)
}

#[test]
fn deterministic_relaxed_simd_answers_like_the_strict_operators() -> Result<()> {
    let mut config = Config::new();
    config.relaxed_simd_deterministic(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, RELAXED)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let nan = f32::NAN;
    let cases: [(&str, Vec<u128>); 8] = [
        (
            "swizzle",
            vec![
                0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100,
                0x80_7f_10_11_0f_00_8f_1f,
            ],
        ),
        ("trunc", vec![f32x4([nan, 3e9, -3e9, -1.5])]),
        ("trunc_u", vec![f32x4([nan, 5e9, -1.0, 1.5])]),
        ("trunc64", vec![f64x2([f64::NAN, -1e10])]),
        (
            "laneselect",
            vec![
                u128::MAX,
                0,
                from_i32_lanes([0x8000_0000, 0x7fff_ffff, 0xffff_0000, 1]),
            ],
        ),
        (
            "min",
            vec![f32x4([0.0, -0.0, nan, 1.0]), f32x4([-0.0, 0.0, 1.0, nan])],
        ),
        ("max", vec![f64x2([0.0, f64::NAN]), f64x2([-0.0, 1.0])]),
        (
            "q15",
            vec![
                from_i32_lanes([0x8000_8000; 4]),
                from_i32_lanes([0x8000_7fff; 4]),
            ],
        ),
    ];
    for (name, args) in cases {
        let f = instance.get_func(&mut store, name).unwrap();
        let args: Vec<Val> = args.into_iter().map(Val::V128).collect();
        let mut out = [Val::V128(0), Val::V128(0)];
        f.call(&mut store, &args, &mut out)?;
        assert_eq!(out[0], out[1], "{name}");
    }
    // Fused: 0.1 * 10 - 1 is not zero when rounded once.
    let madd = instance.get_typed_func::<(u128, u128, u128), u128>(&mut store, "madd")?;
    let r = madd.call(
        &mut store,
        (f64x2([0.1, 2.0]), f64x2([10.0, 3.0]), f64x2([-1.0, 1.0])),
    )?;
    assert_eq!(r, f64x2([0.1f64.mul_add(10.0, -1.0), 7.0]));
    assert_ne!(0.1f64.mul_add(10.0, -1.0), 0.0);
    Ok(())
}
