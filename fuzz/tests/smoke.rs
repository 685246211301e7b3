//! Every fuzz target, for a few hundred iterations of a fixed seed, as part
//! of the test suite (and so of CI): no mismatch, no crash.

use std::process::Command;

fn run(target: &str, iterations: u32) {
    let bin = env!("CARGO_BIN_EXE_wasm-jit-fuzz");
    // Under emulation (`ci/aarch64`) the runner is named here.
    let o = match std::env::var("WASM_JIT_TEST_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut c = Command::new(runner.trim());
            c.arg(bin);
            c
        }
        _ => Command::new(bin),
    }
    .args([
        target,
        "--seed",
        "1",
        "--iterations",
        &iterations.to_string(),
    ])
    .output()
    .expect("the fuzz runner runs");
    let out = String::from_utf8_lossy(&o.stdout);
    let last = out.lines().last().unwrap_or_default();
    assert!(
        o.status.success() && last.ends_with(" executions, 0 mismatches, 0 crashes"),
        "{target}: {last}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let executions: u64 = last.split(' ').next().unwrap().parse().unwrap();
    assert!(executions >= u64::from(iterations) / 2, "{target}: {last}");
}

#[test]
fn differential() {
    run("differential", 300);
}

#[test]
fn parse() {
    run("parse", 1000);
}

#[test]
fn run_without_oracle() {
    run("run", 300);
}

#[test]
fn strategies() {
    run("strategies", 200);
}

#[test]
fn wasi() {
    run("wasi", 200);
}
