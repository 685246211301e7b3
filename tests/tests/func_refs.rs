//! Typed function references through the embedding API: canonical types
//! across modules (recursion groups included), subtyping at imports and at
//! the host boundary, and the two null traps.

use anyhow::Result;
use wasm_jit::{Engine, Func, Instance, Linker, Module, Store, Trap, Val};

fn trap_message(e: anyhow::Error) -> String {
    e.downcast_ref::<Trap>()
        .map(|t| t.message().to_string())
        .unwrap_or_else(|| format!("not a trap: {e:#}"))
}

const PROVIDER: &str = r#"(module
  (type $t (func (param i32) (result i32)))
  (func $inc (export "inc") (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func $other (export "other") (param i64) (result i64) (local.get 0))
  (global (export "g") (ref $t) (ref.func $inc))
  (func (export "apply") (param (ref null $t) i32) (result i32)
    (call_ref $t (local.get 1) (local.get 0)))
  (func (export "non_null") (param funcref) (result funcref)
    (ref.as_non_null (local.get 0))))"#;

#[test]
fn typed_references_link_and_call_across_modules() -> Result<()> {
    let engine = Engine::default();
    let provider = Module::new(&engine, PROVIDER)?;
    let consumer = Module::new(
        &engine,
        r#"(module
             (type $u (func (param i32) (result i32)))
             (import "p" "inc" (func $inc (type $u)))
             ;; An immutable global may be imported at a supertype.
             (import "p" "g" (global $g (ref null func)))
             (table 2 (ref null $u))
             (elem (table 0) (i32.const 0) (ref $u) (ref.func $inc))
             (func (export "via_table") (param i32) (result i32)
               (call_indirect (type $u) (local.get 0) (i32.const 0)))
             (func (export "via_ref") (param i32) (result i32)
               (call_ref $u (local.get 0) (ref.func $inc)))
             (func (export "g_is_null") (result i32) (ref.is_null (global.get $g))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let p = Instance::new(&mut store, &provider, &[])?;
    let mut linker = Linker::new(&engine);
    linker.instance(&mut store, "p", p)?;
    let c = linker.instantiate(&mut store, &consumer)?;
    let via_table = c.get_typed_func::<i32, i32>(&mut store, "via_table")?;
    assert_eq!(via_table.call(&mut store, 41)?, 42);
    let via_ref = c.get_typed_func::<i32, i32>(&mut store, "via_ref")?;
    assert_eq!(via_ref.call(&mut store, 1)?, 2);
    let g_is_null = c.get_typed_func::<(), i32>(&mut store, "g_is_null")?;
    assert_eq!(g_is_null.call(&mut store, ())?, 0);

    // A function of another type does not satisfy the import.
    let mut linker = Linker::new(&engine);
    let other = p.get_func(&mut store, "other").unwrap();
    linker.define(&store, "p", "inc", other)?;
    let g = p.get_global(&mut store, "g").unwrap();
    linker.define(&store, "p", "g", g)?;
    let e = linker.instantiate(&mut store, &consumer).unwrap_err();
    assert!(
        format!("{e:#}").contains("incompatible import type"),
        "{e:#}"
    );
    Ok(())
}

#[test]
fn the_host_passes_typed_references_by_their_types() -> Result<()> {
    let engine = Engine::default();
    let provider = Module::new(&engine, PROVIDER)?;
    let mut store = Store::new(&engine, ());
    let p = Instance::new(&mut store, &provider, &[])?;
    let apply = p.get_func(&mut store, "apply").unwrap();
    let inc = p.get_func(&mut store, "inc").unwrap();
    let other = p.get_func(&mut store, "other").unwrap();
    let mut out = [Val::I32(0)];
    apply.call(
        &mut store,
        &[Val::FuncRef(Some(inc)), Val::I32(9)],
        &mut out,
    )?;
    assert_eq!(out[0], Val::I32(10));
    // A function of another type is refused before the call.
    let e = apply
        .call(
            &mut store,
            &[Val::FuncRef(Some(other)), Val::I32(9)],
            &mut out,
        )
        .unwrap_err();
    assert!(format!("{e:#}").contains("type mismatch"), "{e:#}");
    // A null reference is allowed by the type, and traps in call_ref.
    let e = apply
        .call(&mut store, &[Val::FuncRef(None), Val::I32(9)], &mut out)
        .unwrap_err();
    assert_eq!(trap_message(e), "null function reference");
    // ref.as_non_null.
    let non_null = p.get_func(&mut store, "non_null").unwrap();
    let e = non_null
        .call(&mut store, &[Val::FuncRef(None)], &mut out)
        .unwrap_err();
    assert_eq!(trap_message(e), "null reference");
    // The exported global holds a non-null (ref $t): its type says so.
    let g = p.get_global(&mut store, "g").unwrap();
    let ty = g.ty(&store).content;
    assert!(ty.is_ref() && !ty.as_ref_type().unwrap().nullable, "{ty}");
    match g.get(&mut store) {
        Val::FuncRef(Some(f)) => assert_eq!(f.ty(&store), inc.ty(&store)),
        other => panic!("expected a function, got {other:?}"),
    }
    // A host function's type can name the canonical type.
    let inc_ty = inc.ty(&store);
    let host = Func::new(&mut store, inc_ty, |_, args, results| {
        results[0] = Val::I32(args[0].i32().unwrap() * 2);
        Ok(())
    });
    apply.call(
        &mut store,
        &[Val::FuncRef(Some(host)), Val::I32(9)],
        &mut out,
    )?;
    assert_eq!(out[0], Val::I32(18));
    Ok(())
}

#[test]
fn recursion_groups_are_the_same_type_in_every_module() -> Result<()> {
    let engine = Engine::default();
    let types = r#"(rec (type $a (func (param (ref null $b)) (result i32)))
                        (type $b (func (param (ref null $a)) (result i32))))"#;
    let one = Module::new(
        &engine,
        format!(
            r#"(module {types}
                 (func $fa (export "fa") (type $a) (i32.const 7))
                 (table (export "t") 1 funcref)
                 (elem (i32.const 0) func $fa))"#
        ),
    )?;
    // The same group, so `$a` here is `$a` there.
    let two = Module::new(
        &engine,
        format!(
            r#"(module {types}
                 (import "one" "t" (table 1 funcref))
                 (func (export "call") (result i32)
                   (call_indirect (type $a) (ref.null $b) (i32.const 0))))"#
        ),
    )?;
    // A group of the same shapes in the other order is another type.
    let three = Module::new(
        &engine,
        r#"(module
             (rec (type $b (func (param (ref null $a)) (result i32)))
                  (type $a (func (param (ref null $b)) (result i32))))
             (import "one" "t" (table 1 funcref))
             (func (export "call") (result i32)
               (call_indirect (type $a) (ref.null $b) (i32.const 0))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let i1 = Instance::new(&mut store, &one, &[])?;
    let mut linker = Linker::new(&engine);
    linker.instance(&mut store, "one", i1)?;
    let i2 = linker.instantiate(&mut store, &two)?;
    let call = i2.get_typed_func::<(), i32>(&mut store, "call")?;
    assert_eq!(call.call(&mut store, ())?, 7);
    let i3 = linker.instantiate(&mut store, &three)?;
    let call = i3.get_typed_func::<(), i32>(&mut store, "call")?;
    let e = call.call(&mut store, ()).unwrap_err();
    assert_eq!(trap_message(e), "indirect call type mismatch");
    Ok(())
}

#[test]
fn struct_references_are_not_function_references_at_imports() -> Result<()> {
    let engine = Engine::default();
    let exporter = Module::new(
        &engine,
        r#"(module
             (type $s (struct))
             (type $f (func))
             (func $g (type $f))
             (elem declare func $g)
             (global (export "s") (ref null $s) (ref.null $s))
             (global (export "none") (ref null none) (ref.null none))
             (global (export "f") (ref $f) (ref.func $g)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let a = Instance::new(&mut store, &exporter, &[])?;
    let import = |store: &mut Store<()>, name: &str, ty: &str| -> Result<()> {
        let m = Module::new(
            store.engine(),
            format!(r#"(module (type $s (struct)) (import "a" "{name}" (global {ty})))"#),
        )?;
        let mut linker = Linker::new(store.engine());
        linker.instance(&mut *store, "a", a)?;
        linker.instantiate(&mut *store, &m).map(|_| ())
    };
    assert!(
        import(&mut store, "s", "funcref").is_err(),
        "a struct ref is no funcref"
    );
    assert!(import(&mut store, "s", "(ref null $s)").is_ok());
    assert!(
        import(&mut store, "none", "(ref null $s)").is_ok(),
        "none is below every struct"
    );
    assert!(import(&mut store, "none", "funcref").is_err());
    assert!(import(&mut store, "f", "funcref").is_ok());
    assert!(import(&mut store, "f", "(ref null $s)").is_err());
    Ok(())
}

/// A host function's type is the module's type of the same signature
/// however its references are spelled: `(ref null func)` is `funcref`, so
/// `call_indirect` of the module's type calls it.
#[test]
fn host_types_spelled_either_way_are_the_modules_types() -> Result<()> {
    use wasm_jit::{FuncType, HeapType, RefType, ValType};
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (type $t (func (param funcref) (result i32)))
          (table (export "t") 1 funcref)
          (func (export "call0") (result i32)
            (call_indirect (type $t) (ref.null func) (i32.const 0))))"#,
    )?;
    for param in [
        ValType::FuncRef,
        ValType::Ref(RefType::new(true, HeapType::Func)),
    ] {
        let mut store = Store::new(&engine, ());
        let f = Func::new(
            &mut store,
            FuncType::new(&engine, [param], [ValType::I32]),
            |_, _, results| {
                results[0] = Val::I32(42);
                Ok(())
            },
        );
        let instance = Instance::new(&mut store, &module, &[])?;
        let table = instance.get_table(&mut store, "t").unwrap();
        table.set(&mut store, 0, Val::FuncRef(Some(f)))?;
        let call0 = instance.get_typed_func::<(), i32>(&mut store, "call0")?;
        assert_eq!(call0.call(&mut store, ())?, 42, "{param}");
    }
    Ok(())
}
