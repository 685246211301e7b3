//! Passing a string into a guest's memory and reading one back.
//!
//! `cargo run -p wasm-jit --example memory`

use anyhow::{Context, Result};
use wasm_jit::{Engine, Linker, Module, Store};

fn run() -> Result<String> {
    let engine = Engine::default();
    // `upper(ptr, len)` upper-cases ASCII letters in place and returns the
    // number it changed; `alloc` hands out space after a small heap base.
    let module = Module::new(
        &engine,
        r#"(module
             (memory (export "memory") 1)
             (global $next (mut i32) (i32.const 1024))
             (func (export "alloc") (param $n i32) (result i32) (local $p i32)
               global.get $next local.set $p
               global.get $next local.get $n i32.add global.set $next
               local.get $p)
             (func (export "upper") (param $p i32) (param $n i32) (result i32) (local $c i32) (local $changed i32)
               block loop
                 local.get $n i32.eqz br_if 1
                 local.get $p i32.load8_u local.set $c
                 local.get $c i32.const 97 i32.ge_u local.get $c i32.const 122 i32.le_u i32.and
                 if
                   local.get $p local.get $c i32.const 32 i32.sub i32.store8
                   local.get $changed i32.const 1 i32.add local.set $changed
                 end
                 local.get $p i32.const 1 i32.add local.set $p
                 local.get $n i32.const 1 i32.sub local.set $n
                 br 0
               end end
               local.get $changed))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .context("no memory export")?;
    let alloc = instance.get_typed_func::<i32, i32>(&mut store, "alloc")?;
    let upper = instance.get_typed_func::<(i32, i32), i32>(&mut store, "upper")?;

    let text = "hello from the host, wasm!";
    let ptr = alloc.call(&mut store, text.len() as i32)?;
    memory.write(&mut store, ptr as usize, text.as_bytes())?;
    let changed = upper.call(&mut store, (ptr, text.len() as i32))?;
    let mut back = vec![0u8; text.len()];
    memory.read(&store, ptr as usize, &mut back)?;
    Ok(format!(
        "wrote {:?} at {ptr}\nguest changed {changed} letters\nread back {:?}\n",
        text,
        String::from_utf8(back)?
    ))
}

fn main() -> Result<()> {
    print!("{}", run()?);
    Ok(())
}

#[test]
fn output() {
    assert_eq!(
        run().unwrap(),
        "wrote \"hello from the host, wasm!\" at 1024\n\
         guest changed 20 letters\n\
         read back \"HELLO FROM THE HOST, WASM!\"\n"
    );
}
