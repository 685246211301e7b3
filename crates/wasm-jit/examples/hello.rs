//! Compile a module, instantiate it, call an export.
//!
//! `cargo run -p wasm-jit --example hello`

use anyhow::Result;
use wasm_jit::{Engine, Linker, Module, Store};

fn run() -> Result<String> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (func $fac (export "fac") (param i64) (result i64)
               local.get 0 i64.eqz
               if (result i64) i64.const 1
               else local.get 0 local.get 0 i64.const 1 i64.sub call $fac i64.mul end))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let fac = instance.get_typed_func::<i64, i64>(&mut store, "fac")?;
    Ok(format!("fac(20) = {}\n", fac.call(&mut store, 20)?))
}

fn main() -> Result<()> {
    print!("{}", run()?);
    Ok(())
}

#[test]
fn output() {
    assert_eq!(run().unwrap(), "fac(20) = 2432902008176640000\n");
}
