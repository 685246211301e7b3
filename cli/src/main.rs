//! The `wasm-jit` command line.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod codegen;
mod compile;
mod run;
mod wast;

/// Runs WebAssembly with a Cranelift-based JIT compiler.
///
/// `wasm-jit [OPTIONS] FILE.wasm [ARGS]...` is `wasm-jit run`.
#[derive(Parser, Debug)]
#[command(name = "wasm-jit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs a WebAssembly module (binary or text).
    Run(Box<run::RunCommand>),
    /// Compiles a module ahead of time to a `.cwasm` artifact (`-o FILE`;
    /// by default MODULE.cwasm here) that `run --allow-precompiled` loads.
    Compile(compile::CompileCommand),
    /// Runs WebAssembly spec scripts (.wast) and reports pass/fail per file.
    Wast(wast::WastCommand),
}

/// Exit status for a Wasm trap, as Wasmtime uses: what a native program
/// that aborted would report (128 + SIGABRT), without dying of a signal.
const TRAP_EXIT: u8 = 134;

/// The subcommands; anything else first (a module, or an option of `run`)
/// means `run`, as with Wasmtime: `wasm-jit [OPTIONS] FILE.wasm ARGS...`.
const SUBCOMMANDS: [&str; 4] = ["run", "compile", "wast", "help"];

/// The stack of the thread that runs the command (only what is used is
/// ever backed by memory). Wasm's stack budget is taken from the stack of
/// the thread that calls it, and a store that may run quick first-tier
/// code, whose frames are larger, gets up to 32 times `max-wasm-stack`
/// (16 MiB by default) as far as that stack has room: the main thread's
/// 8 MiB would cap it at half that.
const COMMAND_STACK: usize = 64 << 20;

fn main() -> ExitCode {
    match std::thread::Builder::new()
        .name("wasm-jit".into())
        .stack_size(COMMAND_STACK)
        .spawn(command)
    {
        Ok(thread) => thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        // No thread (a strict overcommit limit, say): the main thread's
        // stack will do, with a smaller budget for quick code.
        Err(_) => command(),
    }
}

fn command() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(help) = codegen::option_help(&args, <Cli as clap::CommandFactory>::command) {
        // A closed standard output is not worth an error here.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), help.as_bytes());
        return ExitCode::SUCCESS;
    }
    if let Some(first) = args.get(1).and_then(|a| a.to_str())
        && !SUBCOMMANDS.contains(&first)
        && !matches!(first, "-h" | "--help" | "-V" | "--version")
    {
        args.insert(1, "run".into());
    }
    let cli = Cli::parse_from(args);
    let result: Result<ExitCode> = match cli.command {
        Command::Run(cmd) => cmd.execute(),
        Command::Compile(cmd) => cmd.execute(),
        Command::Wast(cmd) => cmd.execute(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", report(&e));
            if e.downcast_ref::<wasm_jit::Trap>().is_some() {
                ExitCode::from(TRAP_EXIT)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Formats an error and its causes as anyhow's `{:?}` does, without the
/// Rust backtrace (which says where the engine was, not the guest).
fn report(e: &anyhow::Error) -> String {
    let mut out = format!("Error: {e}");
    let causes: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
    if !causes.is_empty() {
        out.push_str("\n\nCaused by:");
        for (i, c) in causes.iter().enumerate() {
            let c = c.replace('\n', "\n       ");
            if causes.len() == 1 {
                out.push_str(&format!("\n    {c}"));
            } else {
                out.push_str(&format!("\n    {i}: {c}"));
            }
        }
    }
    out
}

/// A path given on the command line, shown as given in messages.
fn display(path: &Path) -> String {
    path.display().to_string()
}
