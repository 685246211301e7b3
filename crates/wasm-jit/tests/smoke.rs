use wasm_jit::*;

const WAT: &str = r#"
(module
  (import "host" "double" (func $double (param i32) (result i32)))
  (memory (export "mem") 1)
  (table 2 funcref)
  (elem (i32.const 0) $add $div)
  (type $bin (func (param i32 i32) (result i32)))
  (func $add (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func $div (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func $rec (export "rec") (param i32) (result i32) local.get 0 call $rec)
  (func (export "indirect") (param i32 i32 i32) (result i32)
     local.get 0 local.get 1 local.get 2 call_indirect (type $bin))
  (func (export "callhost") (param i32) (result i32) local.get 0 call $double)
  (func (export "multi") (param i32) (result i32 i64 f32 f64)
     local.get 0 local.get 0 i64.extend_i32_s f32.const 1.5 f64.const 2.5)
  (func (export "loop") (param i32) (result i32) (local i32)
    block loop
      local.get 0 i32.eqz br_if 1
      local.get 1 local.get 0 i32.add local.set 1
      local.get 0 i32.const 1 i32.sub local.set 0
      br 0
    end end
    local.get 1)
)
"#;

fn setup() -> (Store<()>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_new(
            "host",
            "double",
            FuncType::new(&engine, [ValType::I32], [ValType::I32]),
            |_c, p, r| {
                r[0] = Val::I32(p[0].i32().unwrap() * 2);
                Ok(())
            },
        )
        .unwrap();
    let inst = linker.instantiate(&mut store, &module).unwrap();
    (store, inst)
}

fn call(
    store: &mut Store<()>,
    inst: Instance,
    name: &str,
    args: &[Val],
    n: usize,
) -> Result<Vec<Val>> {
    let f = inst.get_func(&mut *store, name).unwrap();
    let mut out = vec![Val::I32(0); n];
    f.call(&mut *store, args, &mut out)?;
    Ok(out)
}

#[test]
fn smoke() {
    let (mut store, inst) = setup();
    assert_eq!(
        call(&mut store, inst, "add", &[Val::I32(2), Val::I32(3)], 1).unwrap(),
        [Val::I32(5)]
    );
    let e = call(&mut store, inst, "div", &[Val::I32(1), Val::I32(0)], 1).unwrap_err();
    assert_eq!(
        e.downcast_ref::<Trap>(),
        Some(&Trap::IntegerDivisionByZero),
        "{e:?}"
    );
    let e = call(
        &mut store,
        inst,
        "div",
        &[Val::I32(i32::MIN), Val::I32(-1)],
        1,
    )
    .unwrap_err();
    assert_eq!(
        e.downcast_ref::<Trap>(),
        Some(&Trap::IntegerOverflow),
        "{e:?}"
    );
    let e = call(&mut store, inst, "load", &[Val::I32(65535)], 1).unwrap_err();
    assert_eq!(
        e.downcast_ref::<Trap>(),
        Some(&Trap::MemoryOutOfBounds),
        "{e:?}"
    );
    let e = call(&mut store, inst, "rec", &[Val::I32(0)], 1).unwrap_err();
    assert_eq!(
        e.downcast_ref::<Trap>(),
        Some(&Trap::StackOverflow),
        "{e:?}"
    );
    assert_eq!(
        call(
            &mut store,
            inst,
            "indirect",
            &[Val::I32(7), Val::I32(3), Val::I32(0)],
            1
        )
        .unwrap(),
        [Val::I32(10)]
    );
    let e = call(
        &mut store,
        inst,
        "indirect",
        &[Val::I32(7), Val::I32(3), Val::I32(5)],
        1,
    )
    .unwrap_err();
    assert_eq!(
        e.downcast_ref::<Trap>(),
        Some(&Trap::UndefinedElement),
        "{e:?}"
    );
    assert_eq!(
        call(&mut store, inst, "callhost", &[Val::I32(21)], 1).unwrap(),
        [Val::I32(42)]
    );
    assert_eq!(
        call(&mut store, inst, "multi", &[Val::I32(-3)], 4).unwrap(),
        [
            Val::I32(-3),
            Val::I64(-3),
            Val::F32(1.5f32.to_bits()),
            Val::F64(2.5f64.to_bits())
        ]
    );
    assert_eq!(
        call(&mut store, inst, "loop", &[Val::I32(100)], 1).unwrap(),
        [Val::I32(5050)]
    );
    for _ in 0..10000 {
        assert!(call(&mut store, inst, "load", &[Val::I32(70000)], 1).is_err());
    }
    assert_eq!(
        call(&mut store, inst, "add", &[Val::I32(2), Val::I32(3)], 1).unwrap(),
        [Val::I32(5)]
    );
}
