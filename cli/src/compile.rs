//! `wasm-jit compile`: validation and code generation only, for checking a
//! module and for measuring compile time.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;
use wasm_jit::{Config, Engine};

use crate::codegen::CodegenOptions;

/// Options of `wasm-jit compile`.
#[derive(Args, Debug)]
pub struct CompileCommand {
    #[command(flatten)]
    codegen: CodegenOptions,
    /// Print how long compilation took.
    #[arg(long)]
    time: bool,
    /// Write the compiled module here (a `.cwasm` artifact that `wasm-jit
    /// run --allow-precompiled` loads without compiling).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// The module (`.wasm` binary or `.wat` text).
    #[arg(value_name = "MODULE")]
    module: PathBuf,
}

impl CompileCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let mut config = Config::new();
        self.codegen.apply(&mut config, false)?;
        let engine = Engine::new(&config)?;
        let name = crate::display(&self.module);
        let bytes = std::fs::read(&self.module).with_context(|| format!("cannot read `{name}`"))?;
        let start = Instant::now();
        // Compiled, never loaded: the code may be for another machine
        // (`--target`).
        let artifact = engine
            .precompile_module(&bytes)
            .with_context(|| format!("failed to compile `{name}`"))?;
        if let Some(out) = &self.output {
            write_whole(out, &artifact)
                .with_context(|| format!("cannot write `{}`", out.display()))?;
        }
        if self.time {
            eprintln!(
                "compiled `{name}` in {:.1} ms",
                start.elapsed().as_secs_f64() * 1e3
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Writes `bytes` to `path` under another name first, then renames it
/// there: a `run` mapping the old artifact meanwhile keeps reading the old
/// file, never a half-written one. (A path that is not a regular file, such
/// as `/dev/stdout`, is written directly.)
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return std::fs::write(path, bytes);
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
