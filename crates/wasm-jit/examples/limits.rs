//! Stopping a runaway guest: with fuel, and with an interruption from
//! another thread (epochs). The store stays usable afterwards.
//!
//! `cargo run -p wasm-jit --example limits`

use std::time::Duration;

use anyhow::Result;
use wasm_jit::{Config, Engine, Linker, Module, Store, Trap};

const GUEST: &str = r#"(module
    (func (export "forever") (loop br 0))
    (func (export "answer") (result i32) i32.const 42))"#;

fn run() -> Result<String> {
    let mut out = String::new();

    // Fuel: every operator costs one unit.
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, GUEST)?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let forever = instance.get_typed_func::<(), ()>(&mut store, "forever")?;
    let answer = instance.get_typed_func::<(), i32>(&mut store, "answer")?;
    store.set_fuel(10_000)?;
    let err = forever.call(&mut store, ()).unwrap_err();
    out += &format!("fuel: {:?}\n", err.downcast_ref::<Trap>());
    store.set_fuel(10)?;
    out += &format!(
        "fuel: afterwards answer() = {}\n",
        answer.call(&mut store, ())?
    );

    // Epochs: another thread ticks the engine; the store's deadline passes.
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, GUEST)?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let forever = instance.get_typed_func::<(), ()>(&mut store, "forever")?;
    let answer = instance.get_typed_func::<(), i32>(&mut store, "answer")?;
    store.set_epoch_deadline(1);
    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            engine.increment_epoch();
        })
    };
    let err = forever.call(&mut store, ()).unwrap_err();
    ticker.join().unwrap();
    out += &format!("epoch: {:?}\n", err.downcast_ref::<Trap>());
    store.set_epoch_deadline(1);
    out += &format!(
        "epoch: afterwards answer() = {}\n",
        answer.call(&mut store, ())?
    );
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
        "fuel: Some(OutOfFuel)\n\
         fuel: afterwards answer() = 42\n\
         epoch: Some(Interrupted)\n\
         epoch: afterwards answer() = 42\n"
    );
}
