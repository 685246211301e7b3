//! Legacy exception handling (`try`, `catch`, `catch_all`, `delegate`,
//! `rethrow`): what each construct does, in every compilation mode, and
//! that the exception objects it catches are recycled however a handler is
//! left (so a loop of millions of throws runs in constant memory).

use anyhow::Result;
use wasm_jit::{CompilationMode, Config, Engine, Instance, Module, OptLevel, Store};
use wasm_jit_wast::run_text_with_config;

/// Each construct, checked as a spec script.
const SCRIPT: &str = r#"
(module
  (tag $e0)
  (tag $e1 (param i32))
  (tag $e2 (param i32 i64))
  (func $throw1 (param i32) (throw $e1 (local.get 0)))
  (func $throw0 (throw $e0))

  (func (export "from_call") (result i32)
    try (result i32)
      (call $throw1 (i32.const 7)) (i32.const 0)
    catch $e1
    end)
  (func (export "local_throw") (result i32)
    try (result i32)
      (throw $e1 (i32.const 8))
    catch $e0 (i32.const 1)
    catch $e1 (i32.const 100) (i32.add)
    end)
  (func (export "catch_all") (result i32)
    try (result i32)
      (call $throw0) (i32.const 0)
    catch $e1
    catch_all (i32.const 42)
    end)
  (func (export "no_throw") (result i32)
    try (result i32)
      (i32.const 5)
    catch_all (i32.const 6)
    end)
  (func (export "two_values") (result i64) (local $x i64)
    try (result i64)
      (throw $e2 (i32.const 1) (i64.const 2))
    catch $e2 (local.set $x) (i64.extend_i32_u) (local.get $x) (i64.add)
    end)
  (func (export "block_params") (result i32)
    (i32.const 40)
    try (param i32) (result i32)
      (call $throw1 (i32.const 2))
    catch $e1
      (i32.const 1) (i32.add)
    end)
  ;; A handler's own throw is not caught by its try.
  (func (export "handler_outside") (result i32)
    try (result i32)
      try (result i32)
        (call $throw0) (i32.const 0)
      catch $e1 (drop) (i32.const -1)
      catch_all (call $throw1 (i32.const 3)) (i32.const 0)
      end
    catch $e1 (i32.const 10) (i32.add)
    end)
  (func (export "rethrow") (result i32)
    try (result i32)
      try (result i32)
        (call $throw1 (i32.const 3)) (i32.const 0)
      catch $e1 (drop) (rethrow 0)
      end
    catch $e1 (i32.const 10) (i32.mul)
    end)
  (func $cleanup (param i32) (result i32)
    try (result i32)
      (call $throw1 (local.get 0)) (i32.const 0)
    catch_all (rethrow 0)
    end)
  (func (export "rethrow_to_caller") (result i32)
    try (result i32)
      (call $cleanup (i32.const 5))
    catch $e1 (i32.const 1) (i32.add)
    end)
  ;; `rethrow 1` from a nested handler rethrows the outer handler's.
  (func (export "rethrow_outer") (result i32)
    try (result i32)
      try (result i32)
        (call $throw1 (i32.const 1)) (i32.const 0)
      catch $e1
        (drop)
        try (result i32)
          (call $throw1 (i32.const 2)) (i32.const 0)
        catch $e1 (drop) (rethrow 1)
        end
      end
    catch $e1
    end)
  (func (export "rethrow_catch_all") (result i32)
    try (result i32)
      try (result i32)
        (call $throw1 (i32.const 12)) (i32.const 0)
      catch_all (rethrow 0)
      end
    catch $e1
    end)
  ;; `delegate 1` skips the middle try and reaches the outer one.
  (func (export "delegate_skips") (result i32)
    try (result i32)
      try (result i32)
        try (result i32)
          (call $throw1 (i32.const 9)) (i32.const 0)
        delegate 1
      catch $e1 (drop) (i32.const -1)
      end
    catch $e1 (i32.const 1000) (i32.add)
    end)
  ;; `delegate 0` reaches the try around it, as without it.
  (func (export "delegate_next") (result i32)
    try (result i32)
      try (result i32)
        (throw $e1 (i32.const 4))
      delegate 0
    catch $e1 (i32.const 2) (i32.mul)
    end)
  ;; To the function's label: the caller's handler.
  (func $delegate_out (result i32)
    try (result i32)
      try (result i32)
        (call $throw1 (i32.const 11)) (i32.const 0)
      delegate 1
    catch_all (i32.const -1)
    end)
  (func (export "delegate_to_caller") (result i32)
    try (result i32)
      (call $delegate_out)
    catch $e1
    end)
  ;; A delegate to a try whose handler it is in goes past that try.
  (func (export "delegate_from_handler") (result i32)
    try (result i32)
      try (result i32)
        (call $throw0) (i32.const 0)
      catch_all
        try (result i32)
          (call $throw1 (i32.const 6)) (i32.const 0)
        delegate 0
      end
    catch $e1
    end)
  ;; Through a block: the same as to the block's enclosing try.
  (func (export "delegate_block") (result i32)
    try (result i32)
      (block (result i32)
        try (result i32)
          (call $throw1 (i32.const 13)) (i32.const 0)
        delegate 0)
    catch $e1
    end)
  ;; try_table and try nested both ways.
  (func (export "mixed") (result i32)
    (block $h (result i32)
      (try_table (catch $e1 $h)
        try
          (call $throw0)
        catch $e0
          (throw $e1 (i32.const 21))
        end)
      (i32.const -1))
    try (result i32)
      (block $h2
        (try_table (catch $e0 $h2)
          (call $throw1 (i32.const 1))))
      (i32.const -1)
    catch $e1 (i32.const 100) (i32.mul)
    end
    (i32.add))
  ;; A branch back to a loop from a handler that holds its exception.
  (func (export "retry_loop") (param $n i32) (result i32) (local $i i32)
    loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      try (throw $e1 (local.get $i))
      catch $e1
        (drop)
        (br_if $l (i32.lt_u (local.get $i) (local.get $n)))
        (if (i32.gt_u (local.get $i) (i32.const 100)) (then (rethrow 1)))
      end
    end
    (local.get $i))
  (func (export "uncaught")
    try (call $throw0) catch $e1 (drop) end)
  (func (export "rethrown_uncaught")
    try (call $throw0) catch_all (rethrow 0) end)
  (func (export "dead_body") (result i32)
    try (result i32)
      (unreachable)
    catch $e1
    catch_all (i32.const 3)
    end)
  (func (export "dead_try") (result i32)
    (return (i32.const 4))
    try (result i32) (i32.const 0) catch_all (rethrow 0) end
    try (result i32) (i32.const 0) delegate 0
    (drop))
)
(assert_return (invoke "from_call") (i32.const 7))
(assert_return (invoke "local_throw") (i32.const 108))
(assert_return (invoke "catch_all") (i32.const 42))
(assert_return (invoke "no_throw") (i32.const 5))
(assert_return (invoke "two_values") (i64.const 3))
(assert_return (invoke "block_params") (i32.const 3))
(assert_return (invoke "handler_outside") (i32.const 13))
(assert_return (invoke "rethrow") (i32.const 30))
(assert_return (invoke "rethrow_to_caller") (i32.const 6))
(assert_return (invoke "rethrow_outer") (i32.const 1))
(assert_return (invoke "rethrow_catch_all") (i32.const 12))
(assert_return (invoke "delegate_skips") (i32.const 1009))
(assert_return (invoke "delegate_next") (i32.const 8))
(assert_return (invoke "delegate_to_caller") (i32.const 11))
(assert_return (invoke "delegate_from_handler") (i32.const 6))
(assert_return (invoke "delegate_block") (i32.const 13))
(assert_return (invoke "mixed") (i32.const 121))
(assert_return (invoke "retry_loop" (i32.const 5)) (i32.const 5))
(assert_exception (invoke "retry_loop" (i32.const 500)))
(assert_exception (invoke "uncaught"))
(assert_exception (invoke "rethrown_uncaught"))
(assert_trap (invoke "dead_body") "unreachable")
(assert_return (invoke "dead_try") (i32.const 4))
"#;

#[test]
fn each_construct_does_what_the_proposal_says_in_every_mode() -> Result<()> {
    let mut lazy = Config::new();
    lazy.compilation_mode(CompilationMode::Lazy)
        .background_compilation(false);
    let mut quick = lazy.clone();
    quick.cranelift_opt_level(OptLevel::None);
    for (mode, config) in [("eager", Config::new()), ("lazy", lazy), ("quick", quick)] {
        let report = run_text_with_config(SCRIPT, config)?;
        assert_eq!(
            (report.passed, report.failed),
            (24, 0),
            "{mode}: {:?}",
            report.failures
        );
    }
    Ok(())
}

/// Handlers left every way a handler can be left, `n` times each; every
/// exception is caught in the end.
const LOOPS: &str = r#"(module
  (tag $e (param i32))
  (tag $f (param i32))
  (tag $g (param i32))
  (func $throw (param i32) (throw $e (local.get 0)))
  (func $throw_f (param i32) (throw $f (local.get 0)))
  (func $throw_g (param i32) (throw $g (local.get 0)))
  ;; A cleanup: catch_all, then rethrow to the caller.
  (func $cleanup (param i32)
    try (call $throw (local.get 0)) catch_all (rethrow 0) end)
  (func $sum (param $n i32) (param $how i32) (result i32) (local $sum i32)
    (loop $l
      (block $b
        (block $next
          try
            try
              (call $throw (local.get $n))
            catch $e
              (local.set $sum (i32.add (local.get $sum)))
              ;; 0: branch out; 1: rethrow, caught by a nested handler
              ;; that branches out; 2: fall through to the end;
              ;; 3: rethrow to the caller's handler; 5: a call throws,
              ;; caught by the try around; 6: a throw, caught by it;
              ;; 7: a call throws, caught by the caller.
              (br_if $b (i32.eqz (local.get $how)))
              (if (i32.eq (local.get $how) (i32.const 1))
                (then
                  try (rethrow 2) catch $e (drop) (br $next) end))
              (if (i32.eq (local.get $how) (i32.const 3))
                (then (rethrow 1)))
              (if (i32.eq (local.get $how) (i32.const 5))
                (then (call $throw_f (i32.const 0))))
              (if (i32.eq (local.get $how) (i32.const 6))
                (then (throw $f (i32.const 0))))
              (if (i32.eq (local.get $how) (i32.const 7))
                (then (call $throw_g (local.get $n))))
            end
          catch $f (drop)
          end))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
    (local.get $sum))
  (func (export "run") (param $n i32) (param $how i32) (result i32) (local $sum i32)
    (if (i32.eq (local.get $how) (i32.const 4))
      (then
        ;; Through a cleanup in another function, then caught.
        (loop $l
          try
            (call $cleanup (local.get $n))
          catch $e
            (local.set $sum (i32.add (local.get $sum)))
          end
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
        (return (local.get $sum))))
    (if (i32.and (i32.ne (local.get $how) (i32.const 3)) (i32.ne (local.get $how) (i32.const 7)))
      (then (return (call $sum (local.get $n) (local.get $how)))))
    ;; 3 and 7 leave `$sum` on its first exception: call it n times.
    (loop $l
      try
        (drop (call $sum (local.get $n) (local.get $how)))
      catch $e
        (local.set $sum (i32.add (local.get $sum)))
      catch $g
        (local.set $sum (i32.add (local.get $sum)))
      end
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
    (local.get $sum))
  ;; `return` from a handler that holds its exception.
  (func $ret (param i32) (result i32)
    try (call $throw (local.get 0)) catch $e (return) catch_all (rethrow 0) end
    (i32.const 0))
  (func (export "returns") (param $n i32) (result i32) (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $ret (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
    (local.get $sum)))"#;

/// A fresh instance of [`LOOPS`].
fn loops() -> Result<(Store<()>, Instance)> {
    let engine = Engine::default();
    let module = Module::new(&engine, LOOPS)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    Ok((store, instance))
}

#[test]
fn caught_exceptions_are_recycled_however_the_handler_is_left() -> Result<()> {
    let n: i32 = 10_000;
    let total = n * (n + 1) / 2;
    for how in 0..8 {
        let (mut store, instance) = loops()?;
        let run = instance.get_typed_func::<(i32, i32), i32>(&mut store, "run")?;
        assert_eq!(run.call(&mut store, (n, how))?, total, "way {how}");
        assert_eq!(run.call(&mut store, (n, how))?, total, "way {how}");
        // Every throw reused one exception object (two where one is
        // thrown while another is held).
        let most = if how == 5 || how == 7 { 2 } else { 1 };
        assert_eq!(instance.exceptions_made(&store), most, "way {how}");
    }
    let (mut store, instance) = loops()?;
    let returns = instance.get_typed_func::<i32, i32>(&mut store, "returns")?;
    assert_eq!(returns.call(&mut store, n)?, total);
    assert_eq!(instance.exceptions_made(&store), 1);
    Ok(())
}

/// A C program whose setjmp/longjmp clang lowered to legacy exceptions
/// (`tests/programs/setjmp_longjmp.c`) raises 200,000 errors: they reuse
/// the exception objects (one per handler nesting level at most).
#[test]
fn longjmps_of_a_c_program_reuse_their_exceptions() -> Result<()> {
    use wasm_jit::Linker;
    use wasm_jit_wasi::{I32Exit, WasiCtx, WasiCtxBuilder, add_to_linker};
    let engine = Engine::default();
    let module = Module::from_file(
        &engine,
        concat!(env!("CARGO_MANIFEST_DIR"), "/programs/setjmp_longjmp.wasm"),
    )?;
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    add_to_linker(&mut linker, |cx| cx)?;
    let mut store = Store::new(&engine, WasiCtxBuilder::new().build());
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let err = start.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(3)), "{err:?}");
    let made = instance.exceptions_made(&store);
    assert!((1..=3).contains(&made), "{made} exceptions made");
    Ok(())
}

/// A loop continued from a handler that holds its exception, under fuel
/// metering (whose counter is one more variable the loop header carries).
#[test]
fn a_loop_continued_from_a_handler_runs_with_fuel() -> Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module (tag $e (param i32)) (global $n (mut i32) (i32.const 0))
             (func (export "f") (result i32)
               loop $l
                 (global.set $n (i32.add (global.get $n) (i32.const 1)))
                 try (throw $e (global.get $n))
                 catch $e
                   (drop)
                   (br_if $l (i32.lt_u (global.get $n) (i32.const 1000)))
                   (if (i32.gt_u (global.get $n) (i32.const 5000)) (then (rethrow 1)))
                 end
               end
               (global.get $n)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    store.set_fuel(1_000_000)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let f = instance.get_typed_func::<(), i32>(&mut store, "f")?;
    assert_eq!(f.call(&mut store, ())?, 1000);
    Ok(())
}
