//! `wasm-jit compile`: validation and code generation ahead of time, into a
//! `.cwasm` artifact (`-o /dev/null` to check a module or time its
//! compilation).

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
    /// run --allow-precompiled` loads without compiling); by default, the
    /// module's file name with the extension `.cwasm`, in the current
    /// directory (as Wasmtime does). `-o /dev/null` only checks the module.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// The module (`.wasm` binary or `.wat` text).
    #[arg(value_name = "MODULE")]
    module: PathBuf,
}

impl CompileCommand {
    pub fn execute(mut self) -> Result<ExitCode> {
        let mut config = Config::new();
        self.codegen.split_lists();
        self.codegen.apply(&mut config, false)?;
        let engine = Engine::new(&config)?;
        let name = crate::display(&self.module);
        let bytes = std::fs::read(&self.module).with_context(|| format!("cannot read `{name}`"))?;
        let start = Instant::now();
        // Compiled, never loaded: the code may be for another machine
        // (`--target`).
        let artifact = text_to_binary(&bytes, &self.module)
            .and_then(|binary| engine.precompile_module(&binary))
            .with_context(|| format!("failed to compile `{name}`"))?;
        let out = match self.output.take() {
            Some(out) => out,
            None => {
                let mut out = PathBuf::from(self.module.file_name().with_context(|| {
                    format!("`{name}` has no file name to name the output after: give -o FILE")
                })?);
                out.set_extension("cwasm");
                out
            }
        };
        write_whole(&out, &artifact)
            .with_context(|| format!("cannot write `{}`", out.display()))?;
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
/// there: a `run` that mapped the old artifact keeps the old file, which it
/// reads for as long as it runs, never a changed or half-written one. A
/// symbolic link to a plain file has its target replaced so; anything else
/// but a plain file or a new path (`/dev/stdout`, a pipe) is written
/// directly.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let old = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => Some(m),
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::canonicalize(path);
            return match target {
                Ok(t) if std::fs::symlink_metadata(&t).is_ok_and(|m| m.is_file()) => {
                    write_whole(&t, bytes)
                }
                _ => std::fs::write(path, bytes),
            };
        }
        Ok(_) => return std::fs::write(path, bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    // A fresh file: never one planted at that name.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    let written = (|| {
        f.write_all(bytes)?;
        if let Some(old) = &old {
            f.set_permissions(old.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The module's binary form: `bytes` as they are, or its text parsed with
/// errors pointing into `path` (as `run` reports them).
fn text_to_binary<'a>(
    bytes: &'a [u8],
    path: &std::path::Path,
) -> Result<std::borrow::Cow<'a, [u8]>> {
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes.into());
    }
    wat::parse_bytes(bytes).map_err(|mut e| {
        e.set_path(path);
        anyhow::anyhow!("not a Wasm binary (no `\\0asm` header), and not valid module text: {e}")
    })
}
