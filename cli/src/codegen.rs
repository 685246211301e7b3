//! `-C key=value` code generation options, named as Wasmtime's are.

use anyhow::{Result, bail};
use clap::Args;
use wasm_jit::{Config, OptLevel};

/// Code generation options shared by `run` and `compile`.
#[derive(Args, Debug, Default)]
pub struct CodegenOptions {
    /// Code generation option KEY=VALUE: `parallel-compilation=y|n`,
    /// `opt-level=0|1|2|s`, `cache=n` (accepted; wasm-jit keeps no cache).
    #[arg(short = 'C', value_name = "KEY=VALUE")]
    codegen: Vec<String>,
}

fn flag(key: &str, v: &str) -> Result<bool> {
    match v {
        "y" | "yes" | "true" | "" => Ok(true),
        "n" | "no" | "false" => Ok(false),
        _ => bail!("invalid value `{v}` for -C {key}: expected y or n"),
    }
}

impl CodegenOptions {
    /// Applies the options to `config`.
    pub fn apply(&self, config: &mut Config) -> Result<()> {
        for opt in &self.codegen {
            let (key, value) = opt.split_once('=').unwrap_or((opt, ""));
            match key {
                "parallel-compilation" => {
                    config.parallel_compilation(flag(key, value)?);
                }
                "opt-level" => {
                    config.cranelift_opt_level(match value {
                        "0" => OptLevel::None,
                        "1" | "2" => OptLevel::Speed,
                        "s" => OptLevel::SpeedAndSize,
                        _ => {
                            bail!("invalid value `{value}` for -C opt-level: expected 0, 1, 2 or s")
                        }
                    });
                }
                "cache" => {
                    flag(key, value)?;
                }
                _ => bail!("unknown -C option `{key}`"),
            }
        }
        Ok(())
    }
}
