//! End-to-end runs of the `wasm-jit` binary.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wasm_jit(args: &[&str]) -> Output {
    support::wasm_jit_command()
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("the wasm-jit binary runs")
}

/// [`wasm_jit`] with its standard output a full device (every write fails).
fn wasm_jit_to_full_stdout(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    support::wasm_jit_command()
        .args(args)
        .current_dir(repo_root())
        .stdout(full)
        .output()
        .expect("the wasm-jit binary runs")
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The error a run that failed (exit status 1) printed.
fn failure(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    stderr(o)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A trap must end the process with Wasmtime's trap status (134), printed
/// by the process itself, never by dying of a signal.
fn assert_trap(o: &Output, message: &str) {
    assert_eq!(o.status.code(), Some(134), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert!(
        err.contains(&format!("wasm trap: {message}")),
        "stderr: {err}"
    );
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(o));
}

#[test]
fn invoke_prints_results() {
    let o = wasm_jit(&["run", "--invoke", "fib", "examples/wat/traps.wat", "20"]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "6765\n");
    let o = wasm_jit(&[
        "run",
        "--invoke",
        "div",
        "examples/wat/traps.wat",
        "-9",
        "0x2",
    ]);
    assert_eq!(stdout(&o), "-4\n", "stderr: {}", stderr(&o));
}

#[test]
fn invoke_prints_references_as_wasmtime_does() {
    let dir = tempdir();
    let path = dir.join("refs.wat");
    std::fs::write(
        &path,
        r#"(module
             (func $f (export "f") (result funcref externref anyref exnref funcref anyref)
               (ref.null func) (ref.null extern) (ref.null any) (ref.null exn)
               (ref.func $f) (ref.i31 (i32.const 7))))"#,
    )
    .unwrap();
    let o = wasm_jit(&["run", "--invoke", "f", path.to_str().unwrap()]);
    assert_eq!(
        stdout(&o),
        "<null funcref>\n<null externref>\n<null anyref>\n<null exnref>\n<funcref>\n<anyref>\n",
        "stderr: {}",
        stderr(&o)
    );
}

#[test]
fn invoke_multiple_results_one_per_line() {
    let dir = tempdir();
    let path = dir.join("multi.wat");
    std::fs::write(
        &path,
        r#"(module (func (export "f") (param f32) (result i32 i64 f32 f64)
            i32.const -1 i64.const 1234567890123 local.get 0 f64.const 0.25))"#,
    )
    .unwrap();
    let o = wasm_jit(&["run", "--invoke", "f", path.to_str().unwrap(), "1.5"]);
    assert_eq!(
        stdout(&o),
        "-1\n1234567890123\n1.5\n0.25\n",
        "stderr: {}",
        stderr(&o)
    );
}

#[test]
fn invoke_takes_and_prints_v128() {
    let dir = tempdir();
    let path = dir.join("v128.wat");
    std::fs::write(
        &path,
        r#"(module (func (export "f") (param v128) (result v128)
            (i32x4.add (local.get 0) (v128.const i32x4 1 2 3 -1))))"#,
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let o = wasm_jit(&[
        "run",
        "--invoke",
        "f",
        p,
        "0x00000004_00000003_00000002_00000001",
    ]);
    // Printed as Wasmtime prints a v128: its decimal u128.
    let sum = 0x00000003_00000006_00000004_00000002u128;
    assert_eq!(stdout(&o), format!("{sum}\n"), "stderr: {}", stderr(&o));
    let o = wasm_jit(&["run", "--invoke", "f", p, "1"]);
    let sum = 0xffffffff_00000003_00000002_00000002u128;
    assert_eq!(stdout(&o), format!("{sum}\n"));
    // And read back as it was printed.
    let o = wasm_jit(&["run", "--invoke", "f", p, &sum.to_string()]);
    let sum = 0xfffffffe_00000006_00000004_00000003u128;
    assert_eq!(stdout(&o), format!("{sum}\n"));
    let o = wasm_jit(&["run", "--invoke", "f", p, "0xg"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not a v128"), "{}", stderr(&o));
}

#[test]
fn relaxed_simd_can_be_made_deterministic() {
    let dir = tempdir();
    let path = dir.join("relaxed.wat");
    std::fs::write(
        &path,
        r#"(module (func (export "f") (param v128) (result v128)
            (i32x4.relaxed_trunc_f32x4_s (local.get 0))))"#,
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let nans = "0x7fc000007fc000007fc000007fc00000";
    let o = wasm_jit(&[
        "run",
        "-W",
        "relaxed-simd-deterministic=y",
        "--invoke",
        "f",
        p,
        nans,
    ]);
    assert_eq!(stdout(&o), "0\n", "stderr: {}", stderr(&o));
    // Without it, x86-64 gives `cvttps2dq`'s answer (allowed by the spec).
    let o = wasm_jit(&["run", "--invoke", "f", p, nans]);
    if cfg!(target_arch = "x86_64") {
        let min = 0x80000000_80000000_80000000_80000000u128;
        assert_eq!(stdout(&o), format!("{min}\n"));
    }
}

#[test]
fn divide_by_zero_is_a_trap() {
    let o = wasm_jit(&["run", "--invoke", "div", "examples/wat/traps.wat", "1", "0"]);
    assert_trap(&o, "integer divide by zero");
    let o = wasm_jit(&[
        "run",
        "--invoke",
        "div",
        "examples/wat/traps.wat",
        "-2147483648",
        "-1",
    ]);
    assert_trap(&o, "integer overflow");
}

#[test]
fn out_of_bounds_load_is_a_trap() {
    let o = wasm_jit(&["run", "--invoke", "load", "examples/wat/traps.wat", "65535"]);
    assert_trap(&o, "out of bounds memory access");
    let o = wasm_jit(&[
        "run",
        "--explicit-bounds-checks",
        "--invoke",
        "load",
        "examples/wat/traps.wat",
        "4294967295",
    ]);
    assert_trap(&o, "out of bounds memory access");
}

/// The CLI runs on a thread of 64 MiB, so a `--max-wasm-stack` over the
/// main thread's 8 MiB is honoured (and quick first-tier code, whose
/// frames are larger, gets up to 32 times the default 512 KiB): a
/// recursion 700,000 deep (11 MB of frames on x86-64) returns under a
/// 32 MiB budget, and runs out of stack under the default one.
#[test]
fn the_cli_has_a_stack_for_large_budgets() {
    let dir = tempdir();
    let path = dir.join("rec.wat");
    std::fs::write(
        &path,
        r#"(module
             (func $rec (export "rec") (param $n i32) (result i32)
               (if (result i32) (i32.eqz (local.get $n))
                 (then (i32.const 0))
                 (else (i32.add (i32.const 1)
                                (call $rec (i32.sub (local.get $n) (i32.const 1))))))))"#,
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let deep = |budget: &[&str]| {
        let args = [
            &["run", "-C", "cache=n,lazy=n"],
            budget,
            &["--invoke", "rec", p, "700000"],
        ];
        wasm_jit(&args.concat())
    };
    assert_trap(&deep(&[]), "call stack exhausted");
    let o = deep(&["--max-wasm-stack", "32MiB"]);
    assert_eq!(stdout(&o), "700000\n", "{}", stderr(&o));
}

#[test]
fn infinite_recursion_is_a_trap() {
    let o = wasm_jit(&["run", "--invoke", "recurse", "examples/wat/traps.wat", "0"]);
    assert_trap(&o, "call stack exhausted");
    assert!(
        stderr(&o).contains("wasm backtrace"),
        "stderr: {}",
        stderr(&o)
    );
}

#[test]
fn bad_inputs_get_one_clear_error() {
    let dir = tempdir();
    let garbage = dir.join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm\x01\0\0\0\x01\x04\x01\x60\0").unwrap();
    let o = wasm_jit(&["run", garbage.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid module: unexpected end-of-file (at offset 0xa)"),
        "{}",
        stderr(&o)
    );

    let o = wasm_jit(&["run", "does-not-exist.wasm"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read `does-not-exist.wasm`"),
        "{}",
        stderr(&o)
    );

    let imports = dir.join("imports.wat");
    std::fs::write(&imports, r#"(module (import "env" "f" (func)))"#).unwrap();
    let o = wasm_jit(&["run", imports.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown import: `env::f` has not been defined"),
        "{}",
        stderr(&o)
    );

    let conts = dir.join("conts.wat");
    std::fs::write(&conts, r#"(module (type $f (func)) (type $c (cont $f)))"#).unwrap();
    let o = wasm_jit(&["run", "-W", "stack-switching=y", conts.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not supported yet: stack switching"),
        "{}",
        stderr(&o)
    );

    let o = wasm_jit(&["run", "--invoke", "nope", "examples/wat/traps.wat"]);
    assert!(
        stderr(&o).contains("no exported function named `nope`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn wast_reports_per_file_and_fails_on_a_failed_assertion() {
    let dir = tempdir();
    let good = dir.join("good.wast");
    std::fs::write(
        &good,
        r#"(module (func (export "f") (result i32) i32.const 7))
           (assert_return (invoke "f") (i32.const 7))
           (assert_trap (module (func $s unreachable) (start $s)) "unreachable")"#,
    )
    .unwrap();
    let bad = dir.join("bad.wast");
    std::fs::write(
        &bad,
        r#"(module (func (export "f") (result i32) i32.const 7))
           (assert_return (invoke "f") (i32.const 8))"#,
    )
    .unwrap();
    let o = wasm_jit(&["wast", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("good.wast: 3 passed, 0 failed"),
        "{}",
        stdout(&o)
    );
    let o = wasm_jit(&["wast", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("bad.wast: 1 passed, 1 failed"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("total: 4 passed, 1 failed"),
        "{}",
        stdout(&o)
    );

    // A script run from inside a proposal's folder gets that proposal.
    let wide = dir.join("proposals").join("wide-arithmetic");
    std::fs::create_dir_all(&wide).unwrap();
    std::fs::write(
        wide.join("add128.wast"),
        r#"(module (func (export "f") (result i64 i64)
             (i64.add128 (i64.const -1) (i64.const 0) (i64.const 1) (i64.const 0))))
           (assert_return (invoke "f") (i64.const 0) (i64.const 1))"#,
    )
    .unwrap();
    // Named from there, and from a sibling folder through `..`: the folder
    // the script is in counts.
    let sibling = dir.join("proposals").join("threads");
    std::fs::create_dir_all(&sibling).unwrap();
    for (cwd, script) in [
        (&wide, "add128.wast"),
        (&sibling, "../wide-arithmetic/add128.wast"),
    ] {
        let o = support::wasm_jit_command()
            .args(["wast", script])
            .current_dir(cwd)
            .output()
            .unwrap();
        assert_eq!(
            stdout(&o),
            format!("{script}: 2 passed, 0 failed\n"),
            "{}",
            stderr(&o)
        );
    }

    // Elsewhere, `-W` turns a proposal on (Wasmtime's spelling); options
    // only `run` takes are refused.
    let add128 = dir.join("add128.wast");
    std::fs::copy(wide.join("add128.wast"), &add128).unwrap();
    let add128 = add128.to_str().unwrap();
    let o = wasm_jit(&["wast", add128]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("0 passed, 2 failed"), "{}", stdout(&o));
    let o = wasm_jit(&["wast", "-W", "wide-arithmetic=y,simd", add128]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("2 passed, 0 failed"), "{}", stdout(&o));
    for (opt, error) in [
        ("fuel=5", "-W fuel applies to `run` only"),
        ("wide-arith=y", "unknown -W option `wide-arith`"),
    ] {
        let o = wasm_jit(&["wast", "-W", opt, add128]);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(stderr(&o), format!("Error: {error}\n"));
    }

    // `-W timeout`: a call or a start function that never ends fails once
    // it has run that long, and the script goes on.
    let spin = dir.join("spin.wast");
    std::fs::write(
        &spin,
        r#"(module (func (export "spin") (loop $l (br $l)))
                   (func (export "one") (result i32) (i32.const 1)))
           (assert_return (invoke "spin"))
           (assert_return (invoke "one") (i32.const 1))
           (module (func $s (loop $l (br $l))) (start $s))
           (module (func (export "spin") (loop $l (br $l))))
           (assert_trap (invoke "spin") "unreachable")"#,
    )
    .unwrap();
    let o = wasm_jit(&["wast", "-W", "timeout=100ms", spin.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("spin.wast: 3 passed, 3 failed"), "{out}");
    // An assertion that expected another trap names the timeout too.
    assert_eq!(
        out.matches("ran longer than the timeout of 100ms").count(),
        3,
        "{out}"
    );
    let o = wasm_jit(&["wast", "-W", "timeout=soon", add128]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "Error: -W timeout: invalid duration `soon`\n");

    // A report written to a full device is an error, not a panic.
    let o = wasm_jit_to_full_stdout(&["wast", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("Error: cannot write the report"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_example_script_in_the_readme_passes() {
    let o = wasm_jit(&["wast", "examples/wast/basics.wast"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(
        stdout(&o),
        "examples/wast/basics.wast: 7 passed, 0 failed\n"
    );
}

#[test]
fn compile_checks_a_module_without_running_it() {
    // Without -o, the artifact is MODULE.cwasm in the current directory,
    // as with Wasmtime.
    let here = tempdir();
    let traps = repo_root().join("examples/wat/traps.wat");
    let o = support::wasm_jit_command()
        .args(["compile", "-C", "parallel-compilation=n"])
        .arg(&traps)
        .current_dir(&here)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let cwasm = here.join("traps.cwasm");
    assert!(
        std::fs::read(&cwasm)
            .unwrap()
            .starts_with(b"\0wasm-jit-cwasm")
    );
    let o = wasm_jit(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "fib",
        cwasm.to_str().unwrap(),
        "20",
    ]);
    assert_eq!(stdout(&o), "6765\n", "{}", stderr(&o));
    let o = wasm_jit(&[
        "compile",
        "--time",
        "-o",
        "/dev/null",
        "tests/programs/hello.wasm",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("compiled `tests/programs/hello.wasm` in "),
        "{}",
        stderr(&o)
    );

    let dir = tempdir();
    let bad = dir.join("bad.wat");
    std::fs::write(&bad, "(module (func (result i32) i64.const 1))").unwrap();
    let o = wasm_jit(&["compile", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid module: type mismatch"),
        "{}",
        stderr(&o)
    );

    // A text error points into the file, as `run`'s does.
    let typo = dir.join("typo.wat");
    std::fs::write(&typo, "(module (func (result i32) i32.ad))").unwrap();
    for cmd in ["compile", "run"] {
        let o = wasm_jit(&[cmd, typo.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("typo.wat:1:28"), "{}", stderr(&o));
        assert!(!stderr(&o).contains("<anon>"), "{}", stderr(&o));
    }

    let o = wasm_jit(&[
        "compile",
        "-C",
        "no-such-option=1",
        "examples/wat/traps.wat",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown -C option `no-such-option`"),
        "{}",
        stderr(&o)
    );
    let o = wasm_jit(&[
        "run",
        "-C",
        "cranelift-regalloc_algorithm=linear_scan",
        "examples/wat/traps.wat",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "invalid value `linear_scan` for cranelift-regalloc_algorithm: expected backtracking or single_pass"
        ),
        "{}",
        stderr(&o)
    );
}

/// `wasm-jit compile -o out module`, which must succeed.
fn compile_to(out: &std::path::Path, module: &str) {
    let o = wasm_jit(&["compile", "-o", out.to_str().unwrap(), module]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn tempdir() -> support::TempDir {
    support::TempDir::new("wasm-jit-cli-test")
}

/// A module the engine cannot run yet is refused with every feature it
/// needs on one line; an invalid one is called invalid even when an earlier
/// function uses an unsupported feature (bodies are validated first).
#[test]
fn refused_modules_name_their_features_in_one_line() {
    let dir = tempdir();
    let needs = dir.join("needs.wat");
    std::fs::write(
        &needs,
        r#"(module (memory 1)
             (type $f (func)) (type $c (cont $f))
             (func i32.const 0 i32.const 0 memory.discard))"#,
    )
    .unwrap();
    for cmd in ["run", "compile"] {
        let o = wasm_jit(&[
            cmd,
            "-W",
            "memory-control=y,stack-switching=y",
            needs.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let line = stderr(&o)
            .lines()
            .find(|l| l.contains("not supported yet:"))
            .unwrap_or_default()
            .to_string();
        for feature in ["memory control (memory_discard)", "stack switching"] {
            assert!(line.contains(feature), "`{feature}` missing from: {line}");
        }
    }

    let invalid_last = dir.join("invalid_last.wat");
    std::fs::write(
        &invalid_last,
        r#"(module
             (func (result i32) i32.const 0 ref.i31 i31.get_s)
             (func (result i32) i64.const 1))"#,
    )
    .unwrap();
    let o = wasm_jit(&["compile", invalid_last.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid module: type mismatch"),
        "{}",
        stderr(&o)
    );
}

/// `return_call` and `return_call_indirect` reuse the caller's frame: 100
/// million of them run in the default 512 KiB Wasm stack.
#[test]
fn tail_calls_run_in_constant_stack() {
    let dir = tempdir();
    let path = dir.join("loop.wat");
    std::fs::write(
        &path,
        r#"(module
             (type $t (func (param i64 i64) (result i64)))
             (table funcref (elem $down_indirect))
             (func $down (export "down") (param $n i64) (param $acc i64) (result i64)
               (if (result i64) (i64.eqz (local.get $n))
                 (then (local.get $acc))
                 (else (return_call $down (i64.sub (local.get $n) (i64.const 1))
                                          (i64.add (local.get $acc) (i64.const 3))))))
             (func $down_indirect (export "down_indirect") (param $n i64) (param $acc i64) (result i64)
               (if (result i64) (i64.eqz (local.get $n))
                 (then (local.get $acc))
                 (else (return_call_indirect (type $t)
                         (i64.sub (local.get $n) (i64.const 1))
                         (i64.add (local.get $acc) (i64.const 1))
                         (i32.const 0))))))"#,
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let o = wasm_jit(&["run", "--invoke", "down", p, "100000000", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "300000000\n");
    let o = wasm_jit(&["run", "--invoke", "down_indirect", p, "100000000", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "100000005\n");
}

/// Wasmtime's command line: `wasm-jit FILE ARGS` is `wasm-jit run FILE ARGS`,
/// and `run` takes `-W`, `-S` and `-O` options; an unknown one is an error
/// that names it.
#[test]
fn wasmtime_style_command_lines() {
    let same = |a: &[&str], b: &[&str]| {
        let (x, y) = (wasm_jit(a), wasm_jit(b));
        assert_eq!(x.status.code(), y.status.code(), "{}", stderr(&x));
        assert_eq!(stdout(&x), stdout(&y));
        stdout(&x)
    };
    let out = same(
        &["--env", "K=V", "tests/programs/args_env.wasm", "one"],
        &["run", "--env", "K=V", "tests/programs/args_env.wasm", "one"],
    );
    assert!(
        out.contains("argv[1]=one") && out.contains("env K=V"),
        "{out}"
    );
    same(
        &["--invoke", "fib", "examples/wat/traps.wat", "10"],
        &["run", "--invoke", "fib", "examples/wat/traps.wat", "10"],
    );

    // -O memory-reservation under 4 GiB checks every access explicitly,
    // -O memory-guard-size sets the guard: code compiled either way is
    // compiled for a configuration of its own, and runs the same.
    let plain_dir = tempdir();
    let plain = plain_dir.join("plain.cwasm");
    compile_to(&plain, "examples/wat/traps.wat");
    for (opt, differs) in [
        (
            "memory-reservation=1MiB",
            "memory=explicit-bounds-checks in this engine",
        ),
        (
            "memory-guard-size=64KiB",
            "memory=guard-bytes-65536 in this engine",
        ),
    ] {
        let o = wasm_jit(&[
            "run",
            "-O",
            opt,
            "--allow-precompiled",
            "--invoke",
            "load",
            plain.to_str().unwrap(),
            "65536",
        ]);
        assert!(stderr(&o).contains(differs), "{opt}: {}", stderr(&o));
        let o = wasm_jit(&[
            "run",
            "-O",
            opt,
            "--invoke",
            "load",
            "examples/wat/traps.wat",
            "65536",
        ]);
        assert_trap(&o, "out of bounds memory access");
    }
    let o = wasm_jit(&[
        "run",
        "-O",
        "memory-guard-size=lots",
        "examples/wat/traps.wat",
    ]);
    assert!(stderr(&o).contains("invalid size `lots`"), "{}", stderr(&o));
    // -D debug-info: not there yet, and said so.
    let o = wasm_jit(&["run", "-D", "debug-info", "examples/wat/traps.wat"]);
    assert!(
        stderr(&o).contains("not supported yet: DWARF debug info"),
        "{}",
        stderr(&o)
    );
    same(
        &[
            "-D",
            "debug-info=n",
            "--invoke",
            "fib",
            "examples/wat/traps.wat",
            "10",
        ],
        &["--invoke", "fib", "examples/wat/traps.wat", "10"],
    );

    // -W fuel=N and --fuel: the guest traps when the fuel runs out.
    for fuel in [&["-W", "fuel=500"][..], &["--fuel", "500"][..]] {
        let mut args = vec!["run"];
        args.extend_from_slice(fuel);
        args.extend(["--invoke", "fib", "examples/wat/traps.wat", "25"]);
        assert_trap(&wasm_jit(&args), "all fuel consumed");
    }
    let o = wasm_jit(&[
        "-W",
        "fuel=100000000",
        "--invoke",
        "fib",
        "examples/wat/traps.wat",
        "10",
    ]);
    assert_eq!(stdout(&o), "55\n", "{}", stderr(&o));

    // -W timeout=D stops a guest that loops.
    let dir = tempdir();
    let spin = dir.join("spin.wat");
    std::fs::write(&spin, r#"(module (func (export "spin") (loop (br 0))))"#).unwrap();
    let o = wasm_jit(&[
        "-W",
        "timeout=200ms",
        "--invoke",
        "spin",
        spin.to_str().unwrap(),
    ]);
    assert_trap(&o, "interrupted");

    // The timeout covers compiling too, even of one function that takes
    // far longer than it to compile (10,000 values on the operand stack,
    // as many as it may hold, live across a call: the register allocator
    // takes over a second, Wasmtime's five; three such functions, each
    // calling the next, so that a machine several times faster still
    // takes longer than the timeouts here): the run ends at the timeout
    // (plus a grace period), with an error that says so, whether the
    // function is compiled before the guest starts or when it is called.
    let n = 9_990;
    let mut wat = String::from("(module (memory 8)");
    for f in 0..3 {
        let export = if f == 0 { r#"(export "f")"# } else { "" };
        wat.push_str(&format!(" (func $f{f} {export} (param i32) (result i32)"));
        for i in 1..n {
            wat.push_str(&format!(" (i64.load offset={} (i32.const 0))", i * 8));
        }
        if f < 2 {
            wat.push_str(&format!(" (drop (call $f{} (local.get 0)))", f + 1));
        }
        wat.push_str(&" i64.add".repeat(n - 2));
        wat.push_str(" i32.wrap_i64)");
    }
    wat.push(')');
    // (In binary, so that reading it takes no time.)
    let slow = dir.join("slow.wasm");
    std::fs::write(&slow, wat::parse_str(&wat).unwrap()).unwrap();
    for (mode, timeout, expected, status) in [
        (
            "lazy=n",
            "100ms",
            "the module was not ready within the timeout of 100ms",
            1,
        ),
        (
            "lazy=y",
            "300ms",
            "the guest ran longer than the timeout of 300ms",
            134,
        ),
    ] {
        let o = wasm_jit(&[
            "run",
            "-C",
            "cache=n",
            "-C",
            mode,
            "--timeout",
            timeout,
            "--invoke",
            "f",
            slow.to_str().unwrap(),
            "0",
        ]);
        assert_eq!(o.status.code(), Some(status), "{mode}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{mode}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{mode}: {}", stdout(&o));
    }

    // -W max-memory-size caps growth: memory.grow returns -1 past it.
    let grow = dir.join("grow.wat");
    std::fs::write(
        &grow,
        r#"(module (memory 1) (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#,
    )
    .unwrap();
    let g = grow.to_str().unwrap();
    let o = wasm_jit(&["-W", "max-memory-size=64KiB", "--invoke", "grow", g]);
    assert_eq!(stdout(&o), "-1\n", "{}", stderr(&o));
    let o = wasm_jit(&["-W", "max-memory-size=128KiB", "--invoke", "grow", g]);
    assert_eq!(stdout(&o), "1\n", "{}", stderr(&o));

    // -W max-wasm-stack: a tiny stack makes deep recursion trap sooner.
    let o = wasm_jit(&[
        "-W",
        "max-wasm-stack=16KiB",
        "--invoke",
        "fib",
        "examples/wat/traps.wat",
        "5",
    ]);
    assert_eq!(stdout(&o), "5\n", "{}", stderr(&o));

    // -W feature toggles narrow validation.
    let tail = dir.join("tail.wat");
    std::fs::write(&tail, r#"(module (func $f (export "f") return_call $f))"#).unwrap();
    let o = wasm_jit(&["compile", "-W", "tail-call=n", tail.to_str().unwrap()]);
    assert!(stderr(&o).contains("invalid module"), "{}", stderr(&o));
    let o = wasm_jit(&["compile", "-o", "/dev/null", tail.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    // -S inherit-env passes the host's environment; -S inherit-args=n
    // passes no arguments.
    let o = support::wasm_jit_command()
        .args(["-S", "inherit-env=y", "tests/programs/args_env.wasm", "a"])
        .env("WASM_JIT_TEST_VAR", "here")
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("env WASM_JIT_TEST_VAR=here"),
        "{}",
        stdout(&o)
    );
    // A host variable that is not UTF-8 reaches the guest with its bad
    // bytes replaced (it used to panic the CLI), inherited or named.
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"a\xffb");
    for args in [
        &["-S", "inherit-env=y", "tests/programs/args_env.wasm"][..],
        &["--env", "WASM_JIT_BAD_VAR", "tests/programs/args_env.wasm"][..],
    ] {
        let o = support::wasm_jit_command()
            .args(args)
            .env("WASM_JIT_BAD_VAR", bad)
            .current_dir(repo_root())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(
            stdout(&o).contains("env WASM_JIT_BAD_VAR=a\u{fffd}b\n"),
            "{args:?}: {}",
            stdout(&o)
        );
    }
    let o = wasm_jit(&["-S", "inherit-args=n", "tests/programs/args_env.wasm", "a"]);
    assert!(stdout(&o).starts_with("argc=1\n"), "{}", stdout(&o));

    // -O opt-level.
    let o = wasm_jit(&[
        "-O",
        "opt-level=0",
        "--invoke",
        "fib",
        "examples/wat/traps.wat",
        "10",
    ]);
    assert_eq!(stdout(&o), "55\n", "{}", stderr(&o));

    // Unknown options are errors that name them.
    for (args, name) in [
        (
            &["-W", "no-such=1", "tests/programs/hello.wasm"][..],
            "-W option `no-such`",
        ),
        (
            &["-S", "no-such=y", "tests/programs/hello.wasm"][..],
            "-S option `no-such=y`",
        ),
        (
            &["-O", "no-such=1", "tests/programs/hello.wasm"][..],
            "-O option `no-such`",
        ),
        (
            &["compile", "-W", "fuel=1", "tests/programs/hello.wasm"][..],
            "-W fuel applies to `run`",
        ),
    ] {
        let o = wasm_jit(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(name), "{args:?}: {}", stderr(&o));
    }
}

/// A SIGSEGV sent by another process while Wasm runs (even on a load) is
/// not a trap, and does not cost the engine its handler: the real fault
/// that comes later is still the trap it should be, from the function that
/// faulted.
#[test]
fn a_sent_sigsegv_is_not_a_trap() {
    let dir = tempdir();
    let path = dir.join("spin_then_fault.wat");
    std::fs::write(
        &path,
        r#"(module (memory 1)
             (func $spin (param $n i64) (local $acc i32)
               (loop $l
                 (local.set $acc (i32.add (local.get $acc) (i32.load (i32.const 16))))
                 (local.set $acc (i32.add (local.get $acc) (i32.load (i32.const 32))))
                 (local.set $n (i64.sub (local.get $n) (i64.const 1)))
                 (br_if $l (i64.ne (local.get $n) (i64.const 0)))))
             (func $boom (result i32) (i32.load (i32.const 70000)))
             (func (export "run") (result i32)
               ;; Seconds of loads: the signal arrives while they run.
               (call $spin (i64.const 4000000000))
               (call $boom)))"#,
    )
    .unwrap();
    let child = support::wasm_jit_command()
        .args(["run", "--invoke", "run", path.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-SEGV", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert_trap(&o, "out of bounds memory access");
    assert!(stderr(&o).contains("!boom"), "{}", stderr(&o));
}

/// `--profile=perfmap` writes `/tmp/perf-PID.map` naming the module's
/// functions, so `perf report` can name Wasm code.
#[test]
fn perfmap_names_wasm_functions() {
    let child = support::wasm_jit_command()
        .args([
            "run",
            "--profile=perfmap",
            "--invoke",
            "fib",
            "examples/wat/traps.wat",
            "5",
        ])
        .current_dir(repo_root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "5\n");
    let path = format!("/tmp/perf-{pid}.map");
    let map = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let line = map
        .lines()
        .find(|l| l.ends_with(" traps.wat!fib"))
        .unwrap_or_else(|| panic!("no line for fib in:\n{map}"));
    let mut fields = line.split(' ');
    let addr = usize::from_str_radix(fields.next().unwrap(), 16).unwrap();
    let size = usize::from_str_radix(fields.next().unwrap(), 16).unwrap();
    assert!(addr > 0 && size > 0, "{line}");

    let o = wasm_jit(&["run", "--profile=vtune", "examples/wat/traps.wat"]);
    assert!(
        stderr(&o).contains("unknown --profile strategy `vtune`: expected perfmap or jitdump"),
        "{}",
        stderr(&o)
    );
}

/// `--profile=jitdump` writes `./jit-PID.dump` in perf's jitdump format: a
/// header for this process and machine, then one code-load record per
/// function carrying its name and exactly its machine code.
#[test]
fn jitdump_records_wasm_functions() {
    let dir = tempdir();
    let module = repo_root().join("examples/wat/traps.wat");
    let child = support::wasm_jit_command()
        .args(["run", "--profile=jitdump", "--invoke", "fib"])
        .arg(&module)
        .arg("6")
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "8\n", "{}", stderr(&o));
    let dump = std::fs::read(dir.join(format!("jit-{pid}.dump"))).unwrap();
    let u32_at = |at: usize| u32::from_ne_bytes(dump[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_ne_bytes(dump[at..at + 8].try_into().unwrap());
    assert_eq!(u32_at(0), 0x4A69_5444, "magic");
    assert_eq!(u32_at(4), 1, "version");
    assert_eq!(u32_at(8), 40, "header size");
    let machine = if cfg!(target_arch = "x86_64") {
        62
    } else {
        183
    };
    assert_eq!(u32_at(12), machine, "ELF machine");
    assert_eq!(u32_at(20), pid, "pid");
    let mut at = 40;
    let mut names = Vec::new();
    let mut last_time = 0;
    while at < dump.len() {
        let (id, size, time) = (u32_at(at), u32_at(at + 4) as usize, u64_at(at + 8));
        assert_eq!(id, 0, "only code-load records");
        assert!(time >= last_time, "timestamps in order");
        last_time = time;
        assert_eq!(u32_at(at + 16), pid);
        let (vma, addr, code_size, index) = (
            u64_at(at + 24),
            u64_at(at + 32),
            u64_at(at + 40) as usize,
            u64_at(at + 48),
        );
        assert_eq!(vma, addr);
        assert!(addr > 0 && code_size > 0);
        assert_eq!(index, names.len() as u64, "code indices count up");
        let name_end = at + 56 + dump[at + 56..].iter().position(|&b| b == 0).unwrap();
        names.push(String::from_utf8(dump[at + 56..name_end].to_vec()).unwrap());
        assert_eq!(
            name_end + 1 + code_size,
            at + size,
            "record = header, name, code"
        );
        at += size;
    }
    assert_eq!(at, dump.len(), "no trailing bytes");
    assert!(names.iter().any(|n| n == "traps.wat!fib"), "{names:?}");
}

/// `wasm-jit compile -o FILE` writes an artifact that `run
/// --allow-precompiled` runs without compiling; without the flag, or under
/// another configuration, it is refused.
#[test]
fn precompiled_modules() {
    let dir = tempdir();
    let cwasm = dir.join("traps.cwasm");
    let c = cwasm.to_str().unwrap();
    compile_to(&cwasm, "examples/wat/traps.wat");
    let o = wasm_jit(&["run", "--allow-precompiled", "--invoke", "fib", c, "20"]);
    assert_eq!(stdout(&o), "6765\n", "{}", stderr(&o));
    let o = wasm_jit(&["run", "--allow-precompiled", "--invoke", "div", c, "1", "0"]);
    assert_trap(&o, "integer divide by zero");
    let o = wasm_jit(&["run", "--invoke", "fib", c, "20"]);
    assert!(
        stderr(&o).contains("pass --allow-precompiled"),
        "{}",
        stderr(&o)
    );
    let o = wasm_jit(&[
        "run",
        "--allow-precompiled",
        "--timeout",
        "5s",
        "--invoke",
        "fib",
        c,
        "20",
    ]);
    assert!(
        stderr(&o).contains("epochs=false in the artifact, epochs=true in this engine"),
        "{}",
        stderr(&o)
    );
}

/// `run` keeps compiled code (`-C cache=y`, the default; `-C cache-dir`):
/// the next run loads it; a corrupt entry (cut short, or with a bit
/// flipped) is ignored and rewritten;
/// `-C cache=n` writes nothing.
#[test]
fn the_code_cache_is_used_and_survives_corruption() {
    let dir = tempdir();
    // A module this small is compiled whole before it runs (`-C lazy=auto`,
    // the default); with `-C lazy=y` and no background compilation the
    // entry holds exactly the functions called (saved before the CLI
    // exits). Either way a rewritten entry is the same bytes.
    for lazy in ["lazy=auto", "lazy=y"] {
        let cache = dir.join(lazy);
        let opt = format!("cache-dir={}", cache.display());
        let run = |func: &str, args: &[&str]| {
            let mut argv = vec![
                "run",
                "-C",
                &opt,
                "-C",
                lazy,
                "-C",
                "background-compilation=n",
                "--invoke",
                func,
                "examples/wat/traps.wat",
            ];
            argv.extend_from_slice(args);
            wasm_jit(&argv)
        };
        assert_eq!(stdout(&run("fib", &["20"])), "6765\n");
        let entries: Vec<_> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        let entry = &entries[0];
        let good = std::fs::read(entry).unwrap();
        assert_eq!(stdout(&run("fib", &["20"])), "6765\n");
        // Corrupt the entry: the run still gives the right answer and the
        // entry is written again.
        std::fs::write(entry, &good[..good.len() / 3]).unwrap();
        assert_eq!(stdout(&run("fib", &["20"])), "6765\n");
        assert_eq!(std::fs::read(entry).unwrap(), good, "{lazy}");
        // So does one flipped bit anywhere, machine code included (the
        // checksum), which would otherwise run: eight places spread over
        // the entry's second half, where the functions are.
        for at in (0..8).map(|i| good.len() / 2 + i * (good.len() / 2 - 17) / 7) {
            let mut damaged = good.clone();
            damaged[at] ^= 0x10;
            std::fs::write(entry, &damaged).unwrap();
            assert_eq!(stdout(&run("fib", &["20"])), "6765\n", "{lazy} {at}");
            assert_eq!(std::fs::read(entry).unwrap(), good, "{lazy} {at}");
        }
        // A different trap location still reports correctly from cached
        // code (lazily: compiled now, beside the cached functions).
        assert_trap(&run("div", &["1", "0"]), "integer divide by zero");
        let grown = std::fs::read(entry).unwrap();
        if lazy == "lazy=y" {
            assert!(grown.len() > good.len(), "the entry gains `div`");
        } else {
            assert_eq!(grown, good);
        }
    }

    let off = dir.join("off");
    let o = wasm_jit(&[
        "run",
        "-C",
        "cache=n",
        "-C",
        &format!("cache-dir={}", off.display()),
        "--invoke",
        "fib",
        "examples/wat/traps.wat",
        "5",
    ]);
    assert_eq!(stdout(&o), "5\n");
    assert!(!off.exists());
}

/// `-C cache-config=FILE`, Wasmtime's cache configuration file, and the
/// default one under `$XDG_CONFIG_HOME`: the directory it names holds the
/// entry, `-C cache-dir` overrides it, and a bad file is an error.
#[test]
fn cache_configuration_files() {
    let dir = tempdir();
    let file = dir.join("cache.toml");
    let from_file = dir.join("from-file");
    std::fs::write(
        &file,
        format!("[cache]\ndirectory = '{}'\n", from_file.display()),
    )
    .unwrap();
    let config = format!("cache-config={}", file.display());
    let entries = |d: &Path| std::fs::read_dir(d).map_or(0, |r| r.count());
    let run = |extra: &[&str], env: Option<&Path>| {
        let mut cmd = support::wasm_jit_command();
        cmd.args(["run"])
            .args(extra)
            .args(["--invoke", "fib", "examples/wat/traps.wat", "10"])
            .current_dir(repo_root());
        if let Some(home) = env {
            cmd.env("XDG_CONFIG_HOME", home)
                .env("XDG_CACHE_HOME", dir.join("xdg-cache"));
        }
        cmd.output().unwrap()
    };
    assert_eq!(stdout(&run(&["-C", &config], None)), "55\n");
    assert_eq!(entries(&from_file), 1);
    let over = dir.join("over");
    let opt = format!("cache-dir={}", over.display());
    assert_eq!(stdout(&run(&["-C", &config, "-C", &opt], None)), "55\n");
    assert_eq!(entries(&over), 1);
    // The default file.
    let home = dir.join("config-home");
    std::fs::create_dir_all(home.join("wasm-jit")).unwrap();
    std::fs::copy(&file, home.join("wasm-jit/config.toml")).unwrap();
    std::fs::remove_dir_all(&from_file).unwrap();
    assert_eq!(stdout(&run(&[], Some(&home))), "55\n");
    assert_eq!(entries(&from_file), 1);
    assert!(!dir.join("xdg-cache").exists());

    // A bad default file is an error too, not a silent run without cache.
    std::fs::write(home.join("wasm-jit/config.toml"), "[cache]\nx = 1\n").unwrap();
    let o = run(&[], Some(&home));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("line 2: unknown setting `x`"),
        "{}",
        stderr(&o)
    );
    // Also with no home to put the default cache directory in.
    let no_home = || {
        support::wasm_jit_command()
            .args(["run", "--invoke", "fib", "examples/wat/traps.wat", "10"])
            .current_dir(repo_root())
            .env_remove("HOME")
            .env_remove("XDG_CACHE_HOME")
            .env("XDG_CONFIG_HOME", &home)
            .output()
            .unwrap()
    };
    let o = no_home();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("line 2: unknown setting `x`"),
        "{}",
        stderr(&o)
    );
    // A good default file that names no directory, and no home: the run
    // goes on without a cache.
    std::fs::write(home.join("wasm-jit/config.toml"), "[cache]\n").unwrap();
    let o = no_home();
    assert_eq!(stdout(&o), "55\n", "{}", stderr(&o));

    std::fs::write(&file, "[cache]\nenabled = true\n").unwrap();
    let o = run(&["-C", &config], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid cache configuration")
            && stderr(&o).contains("line 2: unknown setting `enabled`"),
        "{}",
        stderr(&o)
    );
}

/// `-C cache-size-limit`: a run whose entry takes the cache past its limit
/// removes the entries used least recently, never the one it wrote, and
/// leaves other files alone; a bad size is refused.
#[test]
fn the_code_cache_keeps_under_its_size_limit() {
    let dir = tempdir();
    let cache = dir.join("cache");
    let opt = format!("cache-dir={}", cache.display());
    let run = |module: &str, limit: &str| {
        let limit = format!("cache-size-limit={limit}");
        wasm_jit(&[
            "run", "-C", &opt, "-C", &limit, "--invoke", "fib", module, "10",
        ])
    };
    let entries = || {
        let mut e: Vec<_> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        e.sort();
        e
    };
    // Modules with 0, 1 and 2 functions more than traps.wat: entries of a
    // few KiB, each larger than the one before.
    let text = std::fs::read_to_string(repo_root().join("examples/wat/traps.wat")).unwrap();
    let at = text.rfind(')').unwrap();
    let modules: Vec<String> = (0..3)
        .map(|extra| {
            let path = dir.join(format!("m{extra}.wat"));
            let funcs = "(func)".repeat(extra);
            std::fs::write(&path, format!("{}{funcs}{}", &text[..at], &text[at..])).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect();
    let size = |name: &String| std::fs::metadata(cache.join(name)).unwrap().len();
    assert_eq!(stdout(&run(&modules[0], "1GiB")), "55\n");
    let [a] = &entries()[..] else {
        panic!("{:?}", entries())
    };
    let a = a.clone();
    assert_eq!(stdout(&run(&modules[1], "1GiB")), "55\n");
    let b = entries().into_iter().find(|e| *e != a).unwrap();
    std::fs::write(cache.join("README"), "not an entry").unwrap();
    // Both an hour old, so that what follows does not depend on how finely
    // the file system keeps times.
    for entry in [&a, &b] {
        let f = std::fs::File::options()
            .append(true)
            .open(cache.join(entry))
            .unwrap();
        f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
            .unwrap();
    }
    // Loading `a` from the cache makes it the entry used last.
    assert_eq!(stdout(&run(&modules[0], "1GiB")), "55\n");
    // The third entry takes the cache past its limit: `b`, used least
    // recently, goes, which takes it under three quarters of the limit.
    let limit = size(&a) + 2 * size(&b) - 1;
    assert_eq!(stdout(&run(&modules[2], &limit.to_string())), "55\n");
    let left = entries();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.contains(&a) && !left.contains(&b), "{left:?}");
    assert!(left.contains(&"README".to_string()), "{left:?}");

    let o = run(&modules[0], "lots");
    assert!(stderr(&o).contains("invalid size `lots`"), "{}", stderr(&o));
}

/// `compile --target` makes artifacts for either architecture from any
/// host; code for this machine's architecture runs with or without
/// `--target`, code for the other is refused by `run`.
#[test]
fn compile_for_each_target() {
    let dir = tempdir();
    for arch in ["x86_64", "aarch64"] {
        let cwasm = dir.join(format!("traps-{arch}.cwasm"));
        let c = cwasm.to_str().unwrap();
        let triple = format!("{arch}-unknown-linux-gnu");
        let o = wasm_jit(&[
            "compile",
            "--target",
            &triple,
            "-o",
            c,
            "examples/wat/traps.wat",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            std::fs::read(&cwasm)
                .unwrap()
                .starts_with(b"\0wasm-jit-cwasm")
        );
        // A native engine runs code for this machine's architecture made
        // for its baseline features (fewer than this CPU has).
        let native = wasm_jit(&["run", "--allow-precompiled", "--invoke", "fib", c, "20"]);
        // So does one with the same target.
        let o = wasm_jit(&[
            "run",
            "--target",
            &triple,
            "--allow-precompiled",
            "--invoke",
            "fib",
            c,
            "20",
        ]);
        if arch == std::env::consts::ARCH {
            assert_eq!(stdout(&native), "6765\n", "{}", stderr(&native));
            assert_eq!(stdout(&o), "6765\n", "{}", stderr(&o));
        } else {
            assert!(
                stderr(&native)
                    .contains("compiled by another engine build, version, target or configuration"),
                "{}",
                stderr(&native)
            );
            assert!(
                stderr(&o).contains(&format!(
                    "this engine compiles for {triple}, whose code cannot run on this machine"
                )),
                "{}",
                stderr(&o)
            );
        }
    }
    let o = wasm_jit(&[
        "compile",
        "--target",
        "riscv64gc-unknown-linux-gnu",
        "examples/wat/traps.wat",
    ]);
    assert_eq!(
        stderr(&o),
        "Error: cannot configure the code generator: not supported yet: riscv64gc targets\n"
    );
}

/// A module (Wasm or a precompiled artifact) read from a pipe, as
/// `/dev/stdin`: the bytes that tell them apart are read once.
#[test]
fn modules_from_a_pipe() {
    use std::io::Write;
    let dir = tempdir();
    let cwasm = dir.join("hello.cwasm");
    compile_to(&cwasm, "tests/programs/hello.wasm");
    let wasm = std::fs::read(repo_root().join("tests/programs/hello.wasm")).unwrap();
    let artifact = std::fs::read(&cwasm).unwrap();
    for (bytes, extra) in [(&wasm, None), (&artifact, Some("--allow-precompiled"))] {
        let mut cmd = support::wasm_jit_command();
        cmd.arg("run");
        cmd.args(extra);
        let mut child = cmd
            .arg("/dev/stdin")
            .current_dir(repo_root())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        let o = child.wait_with_output().unwrap();
        assert_eq!(stdout(&o), "Hello, world!\n", "{}", stderr(&o));
    }
}

/// `compile -o` replaces a plain file whole (by rename: a process running
/// the old one keeps it) and writes through a symbolic link, which stays a
/// link, replacing its target the same way.
#[test]
fn compile_output_replaces_files_and_follows_links() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempdir();
    let real = dir.join("real.cwasm");
    let link = dir.join("link.cwasm");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let inode = || std::fs::metadata(&real).unwrap().ino();
    compile_to(&link, "tests/programs/hello.wasm");
    for out in [&real, &link] {
        let before = inode();
        compile_to(out, "tests/programs/hello.wasm");
        assert_ne!(inode(), before, "{} replaced, not rewritten", out.display());
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read(&real)
            .unwrap()
            .starts_with(b"\0wasm-jit-cwasm")
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "no temporary files left: {left:?}");
}

/// Command lines as Wasmtime parses them: everything after the module goes
/// to the program (options too), `--argv0` names it (by default the module's
/// file name), option lists may be comma-separated, the module may come from
/// standard input, and an exit status no process can have fails.
#[test]
fn everything_after_the_module_is_the_programs() {
    let o = wasm_jit(&[
        "run",
        "tests/programs/args_env.wasm",
        "--env",
        "X=1",
        "--",
        "-h",
        "--help",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(
            "argc=6\nargv[1]=--env\nargv[2]=X=1\nargv[3]=--\nargv[4]=-h\nargv[5]=--help\n"
        ),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("env X=1"), "{}", stdout(&o));
    // A `--` right after the module is the program's too (as with
    // Wasmtime); one before the module ends `run`'s options.
    let o = wasm_jit(&["run", "tests/programs/args_env.wasm", "--", "--dir", "x"]);
    assert!(
        stdout(&o).starts_with("argc=4\nargv[1]=--\nargv[2]=--dir\nargv[3]=x\n"),
        "{}",
        stdout(&o)
    );
    let o = wasm_jit(&["run", "--", "tests/programs/args_env.wasm", "--dir", "x"]);
    assert!(
        stdout(&o).starts_with("argc=3\nargv[1]=--dir\nargv[2]=x\n"),
        "{}",
        stdout(&o)
    );

    // argv[0]: the module's file name, or --argv0.
    let path = repo_root().join("tests/programs/args_env.wasm");
    let o = wasm_jit(&[
        "run",
        "-W",
        "fuel=100000000,max-wasm-stack=1MiB",
        "-S",
        "cli=y,inherit-args=y",
        path.to_str().unwrap(),
        "a",
    ]);
    assert!(
        stdout(&o).starts_with("argc=2\nargv[1]=a\n"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let probe_dir = tempdir();
    let probe = probe_dir.join("argv0.wat");
    std::fs::write(
        &probe,
        r#"(module
             (import "wasi_snapshot_preview1" "args_get" (func $get (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             ;; the length of argv[0] (the only argument), and its first byte
             (func (export "argv0") (result i32 i32)
               (drop (call $sizes (i32.const 0) (i32.const 4)))
               (drop (call $get (i32.const 8) (i32.const 64)))
               (i32.sub (i32.load (i32.const 4)) (i32.const 1))
               (i32.load8_u (i32.load (i32.const 8)))))"#,
    )
    .unwrap();
    // `argv0.wat` is 9 bytes long and starts with `a`.
    let p = probe.to_str().unwrap();
    let o = wasm_jit(&["run", "--invoke", "argv0", p]);
    assert_eq!(stdout(&o), "9\n97\n", "{}", stderr(&o));
    let o = wasm_jit(&["run", "--argv0", "Zz", "--invoke", "argv0", p]);
    assert_eq!(stdout(&o), "2\n90\n", "{}", stderr(&o));

    // The module from standard input.
    let o = support::wasm_jit_command()
        .args(["run", "-", "from-stdin"])
        .stdin(std::fs::File::open(&path).unwrap())
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(
        stdout(&o).starts_with("argc=2\nargv[1]=from-stdin\n"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );

    // Exit statuses: 0 to 255 are the process's; others fail with status 1
    // (truncated, 256 would read as success).
    for (code, status) in [("3", 3), ("255", 255), ("256", 1), ("-1", 1)] {
        let o = wasm_jit(&["run", "tests/programs/exit.wasm", code]);
        assert_eq!(
            o.status.code(),
            Some(status),
            "exit({code}): {}",
            stderr(&o)
        );
        if status == 1 {
            assert!(
                stderr(&o).contains("not a process exit status"),
                "{}",
                stderr(&o)
            );
        }
    }
}

/// `-W unknown-imports-trap` and `-W unknown-imports-default` let a module
/// with imports nothing provides run (Wasmtime's options).
#[test]
fn unknown_imports_can_trap_or_return_defaults() {
    let wat_dir = tempdir();
    let wat = wat_dir.join("unknown.wat");
    std::fs::write(
        &wat,
        r#"(module (import "env" "missing" (func $m (param i32) (result i32 i64)))
             (func (export "ok") (result i32) (i32.const 7))
             (func (export "call") (result i32 i64) (call $m (i32.const 5))))"#,
    )
    .unwrap();
    let w = wat.to_str().unwrap();
    let o = wasm_jit(&["run", "--invoke", "ok", w]);
    assert!(
        stderr(&o).contains("unknown import: `env::missing` has not been defined"),
        "{}",
        stderr(&o)
    );
    let o = wasm_jit(&["run", "-W", "unknown-imports-trap=y", "--invoke", "ok", w]);
    assert_eq!(stdout(&o), "7\n", "{}", stderr(&o));
    let o = wasm_jit(&["run", "-W", "unknown-imports-trap=y", "--invoke", "call", w]);
    assert_eq!(o.status.code(), Some(1));
    // The host's error, after the Wasm frames it came through.
    let err = stderr(&o);
    assert!(
        err.contains("    0: error while executing at wasm backtrace:\n"),
        "{err}"
    );
    assert!(
        err.contains(
            "unknown.wat!<wasm function 2>\n    \
             1: unknown import: `env::missing` has not been defined"
        ),
        "{err}"
    );
    let o = wasm_jit(&[
        "run",
        "-W",
        "unknown-imports-default=y",
        "--invoke",
        "call",
        w,
    ]);
    assert_eq!(stdout(&o), "0\n0\n", "{}", stderr(&o));
}

/// `-W trap-on-grow-failure`, `-W max-instances/memories/tables`, and
/// unknown imports next to a `--preload` that provides some of them.
#[test]
fn store_limits_and_preloads_from_the_command_line() {
    let dir = tempdir();
    let grow = dir.join("grow.wat");
    std::fs::write(
        &grow,
        r#"(module (import "lib" "seven" (func $seven (result i32)))
             (import "env" "absent" (func))
             (memory 1 2)
             (func (export "grow") (result i32) (memory.grow (call $seven))))"#,
    )
    .unwrap();
    let lib = dir.join("lib.wat");
    std::fs::write(
        &lib,
        r#"(module (memory 1) (func (export "seven") (result i32) (i32.const 7)))"#,
    )
    .unwrap();
    let preload = format!("lib={}", lib.display());
    let g = grow.to_str().unwrap();
    let base = ["run", "--preload", &preload, "-W", "unknown-imports-trap=y"];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args.extend(["--invoke", "grow", g]);
        wasm_jit(&args)
    };
    // The preload provides `lib::seven`; `env::absent` traps if called.
    let o = with(&[]);
    assert_eq!(stdout(&o), "-1\n", "{}", stderr(&o));
    let o = with(&["-W", "trap-on-grow-failure=y"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("memory maximum size exceeded"),
        "{}",
        stderr(&o)
    );
    // Two instances and two memories (the preload's and the module's).
    let o = with(&["-W", "max-instances=1"]);
    assert!(stderr(&o).contains("limit on instances"), "{}", stderr(&o));
    let o = with(&["-W", "max-memories=1"]);
    assert!(stderr(&o).contains("limit on memories"), "{}", stderr(&o));
    let o = with(&["-W", "max-instances=2,max-memories=2,max-tables=0"]);
    assert_eq!(stdout(&o), "-1\n", "{}", stderr(&o));
    let o = wasm_jit(&["run", "-C", "compiler=winch", g]);
    assert!(
        stderr(&o).contains("unsupported compiler `winch`"),
        "{}",
        stderr(&o)
    );
}

/// A syntax error in module text points into the file by its name.
#[test]
fn text_errors_name_the_file() {
    let path_dir = tempdir();
    let path = path_dir.join("broken.wat");
    std::fs::write(&path, "(module (func (result i32) i64.const))").unwrap();
    let o = wasm_jit(&["run", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--> broken.wat:1:"), "{}", stderr(&o));
}

/// What Wasmtime users type: `-W help` and its siblings list the keys; a
/// reactor is initialised when run; a `_start` that is not a WASI command's
/// is invoked with the arguments; results written to a full device are an
/// error, not a panic.
#[test]
fn wasmtime_habits_work() {
    for (flag, key) in [
        ("-W", "max-memory-size=SIZE"),
        ("--wasi", "inherit-env[=y|n]"),
        ("-C", "cache[=y|n]"),
        ("-O", "memory-guard-size=SIZE"),
        ("-D", "debug-info=n"),
    ] {
        let o = wasm_jit(&["run", flag, "help"]);
        assert_eq!(o.status.code(), Some(0), "{flag}: {}", stderr(&o));
        assert!(stdout(&o).contains(key), "{flag}: {}", stdout(&o));
    }
    assert!(stdout(&wasm_jit(&["-Whelp"])).contains("tail-call"));
    // After the module, `help` is the program's.
    let o = wasm_jit(&["run", "tests/programs/args_env.wasm", "-W", "help"]);
    assert!(
        stdout(&o).starts_with("argc=3\nargv[1]=-W\nargv[2]=help\n"),
        "{}",
        stdout(&o)
    );
    // The long spellings of -W, -S, -O, -C and -D.
    let o = wasm_jit(&[
        "run",
        "--wasm",
        "fuel=100000000",
        "--wasi",
        "inherit-args=y",
        "--optimize",
        "opt-level=2",
        "--codegen=cache=n",
        "--debug",
        "debug-info=n",
        "--invoke",
        "fib",
        "examples/wat/traps.wat",
        "10",
    ]);
    assert_eq!(stdout(&o), "55\n", "{}", stderr(&o));

    let dir = tempdir();
    let reactor = dir.join("reactor.wat");
    std::fs::write(
        &reactor,
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (func (export "_initialize") (call $exit (i32.const 9))))"#,
    )
    .unwrap();
    let o = wasm_jit(&["run", reactor.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(9), "{}", stderr(&o));

    // -S inherit-stdout=n: what the guest writes goes nowhere.
    let o = wasm_jit(&["run", "tests/programs/hello.wasm"]);
    assert_eq!(stdout(&o), "Hello, world!\n");
    let o = wasm_jit(&["run", "-S", "inherit-stdout=n", "tests/programs/hello.wasm"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");

    // A component is named as one, not called invalid.
    let component = dir.join("component.wat");
    std::fs::write(&component, "(component)").unwrap();
    let e = failure(&wasm_jit(&["run", component.to_str().unwrap()]));
    assert!(
        e.contains("not supported yet: components (component model)"),
        "{e}"
    );

    // A subcommand we do not have is not taken for a missing file alone.
    let e = failure(&wasm_jit(&["serve"]));
    assert!(
        e.starts_with(
            "Error: cannot read `serve` (wasm-jit's subcommands are run, compile and wast"
        ),
        "{e}"
    );

    // An ELF file (a Wasmtime .cwasm is one) is named as such.
    let elf = dir.join("other.cwasm");
    std::fs::write(&elf, b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0").unwrap();
    let e = failure(&wasm_jit(&[
        "run",
        "--allow-precompiled",
        elf.to_str().unwrap(),
    ]));
    assert!(e.contains("not a Wasm module but an ELF file"), "{e}");

    let start = dir.join("start.wat");
    std::fs::write(
        &start,
        r#"(module (func (export "_start") (param i32) (result i32)
             (i32.mul (local.get 0) (i32.const 3))))"#,
    )
    .unwrap();
    let o = wasm_jit(&["run", start.to_str().unwrap(), "14"]);
    assert_eq!(stdout(&o), "42\n", "{}", stderr(&o));
    let o = wasm_jit(&["run", start.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "Error: `_start` expects 1 arguments, got 0\n");

    let o = wasm_jit_to_full_stdout(&["run", "--invoke", "fib", "examples/wat/traps.wat", "10"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("Error: cannot write the results"),
        "{}",
        stderr(&o)
    );
}

/// Wasmtime's memory options and `-C cranelift-NAME=VALUE` reach the
/// engine; what is not supported yet says so.
#[test]
fn wasmtime_memory_and_cranelift_options() {
    let dir = tempdir();
    let grow = dir.join("grow.wat");
    std::fs::write(
        &grow,
        r#"(module (memory 1) (func (export "grow") (param i32) (result i32)
             (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    let grow = grow.to_str().unwrap();
    // A 1 MiB reservation holds 16 pages: growing by 16 more must move.
    for (may_move, result) in [("y", "1\n"), ("n", "-1\n")] {
        let o = wasm_jit(&[
            "run",
            "-O",
            &format!("memory-reservation=1MiB,memory-may-move={may_move},memory-init-cow=n"),
            "--invoke",
            "grow",
            grow,
            "16",
        ]);
        assert_eq!(stdout(&o), result, "may move {may_move}: {}", stderr(&o));
    }
    let o = wasm_jit(&[
        "run",
        "-C",
        "cranelift-opt_level=none",
        "--invoke",
        "fib",
        "examples/wat/traps.wat",
        "10",
    ]);
    assert_eq!(stdout(&o), "55\n", "{}", stderr(&o));
    let o = wasm_jit(&[
        "run",
        "-C",
        "cranelift-no_such_setting",
        "examples/wat/traps.wat",
    ]);
    assert!(
        failure(&o).contains("unknown cranelift setting `no_such_setting`"),
        "{}",
        stderr(&o)
    );
    let o = wasm_jit(&[
        "run",
        "-O",
        "signals-based-traps=n",
        "examples/wat/traps.wat",
    ]);
    assert!(
        failure(&o).contains("not supported yet: running without signal handlers"),
        "{}",
        stderr(&o)
    );
}

/// Under an address-space limit too small for memories protected by guard
/// pages (4 GiB plus the guard each), the engine checks bounds explicitly
/// by itself and the program runs (Wasmtime fails to make the memory);
/// asked for guard pages, it says why it cannot make the memory.
#[test]
fn a_small_address_space_limit_turns_on_explicit_bounds_checks() {
    if std::env::var_os("WASM_JIT_TEST_RUNNER").is_some() {
        // An emulator under the same limit could not map the guest.
        return;
    }
    // `wasm-jit run ARGS --invoke fib MODULE 20` under the limit.
    let limited = |args: &[&str], module: &Path| {
        Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -v 1500000 && exec "$0" "$@""#)
            .arg(env!("CARGO_BIN_EXE_wasm-jit"))
            .arg("run")
            .args(args)
            .args(["--invoke", "fib"])
            .arg(module)
            .arg("20")
            .output()
            .unwrap()
    };
    let traps = repo_root().join("examples/wat/traps.wat");
    let o = limited(&["-C", "cache=n"], &traps);
    assert_eq!(stdout(&o), "6765\n", "{}", stderr(&o));
    let o = limited(&["-C", "cache=n", "-O", "memory-reservation=4GiB"], &traps);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot reserve 6144 MiB of address space for a linear memory"),
        "{}",
        stderr(&o)
    );
    // An artifact compiled for guard pages is refused, saying why.
    let dir = tempdir();
    let cwasm = dir.join("traps.cwasm");
    let o = wasm_jit(&[
        "compile",
        "-o",
        cwasm.to_str().unwrap(),
        &traps.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = limited(&["--allow-precompiled"], &cwasm);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("memory=explicit-bounds-checks")
            && stderr(&o).contains("`ulimit -v`, is too small"),
        "{}",
        stderr(&o)
    );
}
