//! Exception tags as importable and exportable items: identity, payload
//! types at link time, and host-made tags.

use anyhow::Result;
use wasm_jit::{
    Engine, Extern, ExternType, FuncType, Instance, Linker, Module, Store, Tag, ValType,
};

#[test]
fn tags_link_by_identity_and_payload_type() -> Result<()> {
    let engine = Engine::default();
    let exporter = Module::new(
        &engine,
        r#"(module (tag (export "e") (param i32 f64)) (tag (export "empty")))"#,
    )?;
    let importer = Module::new(
        &engine,
        r#"(module (import "m" "e" (tag $e (param i32 f64))) (export "again" (tag $e)))"#,
    )?;
    // The declared types, as the API shows them.
    let ty = FuncType::new(&engine, [ValType::I32, ValType::F64], []);
    assert_eq!(
        importer.imports().next().unwrap().ty(),
        ExternType::Tag(ty.clone())
    );
    let mut store = Store::new(&engine, ());
    let a = Instance::new(&mut store, &exporter, &[])?;
    let e = a
        .get_export(&mut store, "e")
        .and_then(Extern::into_tag)
        .unwrap();
    assert_eq!(e.ty(&store), ty);
    let b = Instance::new(&mut store, &importer, &[e.into()])?;
    // Re-exported: the same tag.
    let again = b
        .get_export(&mut store, "again")
        .and_then(Extern::into_tag)
        .unwrap();
    assert_eq!(again, e);

    // Another payload type does not link.
    let empty = a.get_export(&mut store, "empty").unwrap();
    let err = Instance::new(&mut store, &importer, &[empty]).unwrap_err();
    assert!(
        format!("{err:#}").contains("incompatible import type"),
        "{err:#}"
    );

    // A tag made by the host links where its type fits.
    let host = Tag::new(&mut store, &ty)?;
    let mut linker = Linker::new(&engine);
    linker.define(&store, "m", "e", host)?;
    let c = linker.instantiate(&mut store, &importer)?;
    let again = c
        .get_export(&mut store, "again")
        .and_then(Extern::into_tag)
        .unwrap();
    assert_eq!(again, host);
    assert_ne!(host, e, "two definitions are two tags");
    // A tag's type has no results.
    assert!(Tag::new(&mut store, &FuncType::new(&engine, [], [ValType::I32])).is_err());
    Ok(())
}
