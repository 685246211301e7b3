//! The engine: configuration, code generator, type registry, trampolines.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use wasm_jit_backend::{ArrayTrampoline, Compiler, CompilerOptions, Trampolines, TypeRegistry};
use wasm_jit_frontend::FuncType;
use wasm_jit_frontend::translate::MemoryStyle;

use crate::config::{Config, OptLevel};

/// Compiles modules and owns what they share. Cheap to clone; `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Engine(Arc<EngineInner>);

#[derive(Debug)]
pub(crate) struct EngineInner {
    pub(crate) config: Config,
    pub(crate) compiler: Compiler,
    pub(crate) types: TypeRegistry,
    pub(crate) trampolines: Trampolines,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the default configuration is valid")
    }
}

impl Engine {
    /// An engine with the given configuration.
    pub fn new(config: &Config) -> Result<Engine> {
        let compiler = Compiler::new(&CompilerOptions {
            opt_level: match config.opt_level {
                OptLevel::None => "none",
                OptLevel::Speed => "speed",
                OptLevel::SpeedAndSize => "speed_and_size",
            },
            verify: config.cranelift_verifier,
        })
        .map_err(|e| anyhow!("cannot configure the code generator: {e}"))?;
        Ok(Engine(Arc::new(EngineInner {
            config: config.clone(),
            compiler,
            types: TypeRegistry::default(),
            trampolines: Trampolines::default(),
        })))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// Whether two handles are the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    pub(crate) fn inner(&self) -> &EngineInner {
        &self.0
    }

    pub(crate) fn memory_style(&self) -> MemoryStyle {
        if self.0.config.explicit_bounds_checks {
            MemoryStyle::Explicit
        } else {
            MemoryStyle::Guarded {
                guard_bytes: self.0.config.guard_bytes,
            }
        }
    }

    pub(crate) fn array_trampoline(&self, ty: &FuncType) -> Result<ArrayTrampoline> {
        self.0
            .trampolines
            .array(&self.0.compiler, ty)
            .map_err(|e| anyhow!("cannot compile a trampoline: {e}"))
    }

    pub(crate) fn host_trampoline(&self, ty: &FuncType) -> Result<*const u8> {
        self.0
            .trampolines
            .host(&self.0.compiler, ty)
            .map_err(|e| anyhow!("cannot compile a trampoline: {e}"))
    }
}
