//! `wasm-jit run`: runs a module, or one of its exports with `--invoke`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use wasm_jit::{Config, Engine, Func, Linker, Module, Store, Val, ValType};

/// Options of `wasm-jit run`.
#[derive(Args, Debug)]
pub struct RunCommand {
    /// Call this exported function instead of `_start`, with ARGS parsed
    /// according to its parameter types, and print its results one per line.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Check every memory access explicitly instead of relying on guard pages.
    #[arg(long)]
    explicit_bounds_checks: bool,
    /// The module to run (`.wasm` binary or `.wat` text).
    #[arg(value_name = "MODULE")]
    module: PathBuf,
    /// Arguments for the invoked function.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,
}

impl RunCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let mut config = Config::new();
        config.explicit_bounds_checks(self.explicit_bounds_checks);
        let engine = Engine::new(&config)?;
        let name = crate::display(&self.module);
        let bytes = std::fs::read(&self.module).with_context(|| format!("cannot read `{name}`"))?;
        let module =
            Module::new(&engine, &bytes).with_context(|| format!("failed to compile `{name}`"))?;
        let mut store = Store::new(&engine, ());
        let linker = Linker::new(&engine);
        let instance = linker
            .instantiate(&mut store, &module)
            .with_context(|| format!("failed to instantiate `{name}`"))?;
        match &self.invoke {
            Some(export) => {
                let func = instance
                    .get_func(&mut store, export)
                    .ok_or_else(|| anyhow!("`{name}` has no exported function named `{export}`"))?;
                invoke(&mut store, func, export, &self.args)?;
            }
            None => {
                if let Some(start) = instance.get_func(&mut store, "_start") {
                    start
                        .call(&mut store, &[], &mut [])
                        .context("failed to run `_start`")?;
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn invoke(store: &mut Store<()>, func: Func, export: &str, args: &[String]) -> Result<()> {
    let ty = func.ty(&*store);
    if args.len() != ty.params().len() {
        bail!(
            "`{export}` expects {} arguments, got {}",
            ty.params().len(),
            args.len()
        );
    }
    let params = ty
        .params()
        .iter()
        .zip(args)
        .map(|(t, a)| {
            parse_arg(*t, a).with_context(|| format!("invalid argument `{a}` for a {t} parameter"))
        })
        .collect::<Result<Vec<Val>>>()?;
    let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
    func.call(&mut *store, &params, &mut results)
        .with_context(|| format!("failed to invoke `{export}`"))?;
    for r in &results {
        println!("{}", format_val(r));
    }
    Ok(())
}

fn parse_arg(ty: ValType, s: &str) -> Result<Val> {
    Ok(match ty {
        ValType::I32 => Val::I32(match s.parse::<i32>() {
            Ok(v) => v,
            Err(_) => s.parse::<u32>()? as i32,
        }),
        ValType::I64 => Val::I64(match s.parse::<i64>() {
            Ok(v) => v,
            Err(_) => s.parse::<u64>()? as i64,
        }),
        ValType::F32 => Val::F32(s.parse::<f32>()?.to_bits()),
        ValType::F64 => Val::F64(s.parse::<f64>()?.to_bits()),
        other => bail!("arguments of type {other} cannot be given on the command line"),
    })
}

fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => f32::from_bits(*b).to_string(),
        Val::F64(b) => f64::from_bits(*b).to_string(),
        Val::V128(x) => format!("{x:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(Some(_)) => "<externref>".to_string(),
    }
}
