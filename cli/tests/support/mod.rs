//! What the CLI test files share.

use std::process::Command;

/// A command that runs the `wasm-jit` binary built for these tests. Where
/// that binary is for another architecture (the aarch64 tests, run under
/// qemu by `ci/aarch64`), `WASM_JIT_TEST_RUNNER` names the emulator to run
/// it with, e.g. `qemu-aarch64`.
pub fn wasm_jit_command() -> Command {
    let bin = env!("CARGO_BIN_EXE_wasm-jit");
    let runner = std::env::var("WASM_JIT_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(bin);
            cmd
        }
        None => Command::new(bin),
    }
}
