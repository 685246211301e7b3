//! A guest calling back into Rust: host functions written as closures, with
//! access to the store's data through `Caller`, and one that fails.
//!
//! `cargo run -p wasm-jit --example host_functions`

use anyhow::{Result, bail};
use wasm_jit::{Caller, Engine, Linker, Module, Store, WasmBacktrace};

/// What the host keeps for the guest.
struct Log {
    lines: Vec<String>,
}

fn run() -> Result<String> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "log" (func $log (param i32 i32)))
             (import "host" "checked_div" (func $div (param i32 i32) (result i32)))
             (func (export "work") (param i32) (result i32)
               local.get 0 i32.const 1 call $log
               i32.const 100 local.get 0 call $div))"#,
    )?;
    let mut linker: Linker<Log> = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "log",
        |mut caller: Caller<'_, Log>, a: i32, b: i32| {
            caller
                .data_mut()
                .lines
                .push(format!("guest says {a} and {b}"));
        },
    )?;
    linker.func_wrap("host", "checked_div", |a: i32, b: i32| -> Result<i32> {
        if b == 0 {
            bail!("the guest asked the host to divide {a} by zero");
        }
        Ok(a / b)
    })?;
    let mut store = Store::new(&engine, Log { lines: Vec::new() });
    let instance = linker.instantiate(&mut store, &module)?;
    let work = instance.get_typed_func::<i32, i32>(&mut store, "work")?;

    let mut out = String::new();
    out += &format!("work(4) = {}\n", work.call(&mut store, 4)?);
    // A host error stops the guest and comes back as it was given, with
    // the Wasm frames it came through as context.
    let err = work.call(&mut store, 0).unwrap_err();
    let frames = err
        .downcast_ref::<WasmBacktrace>()
        .map_or(0, |b| b.frames().len());
    out += &format!(
        "work(0) failed: {} ({frames} Wasm frame)\n",
        err.root_cause()
    );
    for line in &store.data().lines {
        out += &format!("log: {line}\n");
    }
    Ok(out)
}

fn main() -> Result<()> {
    print!("{}", run()?);
    Ok(())
}

#[test]
fn output() {
    assert_eq!(
        run().unwrap(),
        "work(4) = 25\n\
         work(0) failed: the guest asked the host to divide 100 by zero (1 Wasm frame)\n\
         log: guest says 4 and 1\n\
         log: guest says 0 and 1\n"
    );
}
