//! Compiled modules.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow};
use wasm_jit_backend::CompiledModule;
use wasm_jit_frontend::module::ExternKind;
use wasm_jit_frontend::{FrontendError, parse};

use crate::Engine;
use crate::types::ExternType;

/// A validated, compiled module, ready to be instantiated any number of
/// times. Cheap to clone; `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Module(Arc<ModuleInner>);

#[derive(Debug)]
struct ModuleInner {
    engine: Engine,
    compiled: Arc<CompiledModule>,
    /// The Wasm binary, kept for `serialize`.
    wasm: Arc<[u8]>,
}

/// The cache file name of `wasm` compiled by `engine`: two independent
/// 64-bit hashes of the engine's fingerprint and the bytes. (A hit is also
/// checked against the bytes themselves, which the artifact holds.)
fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let fingerprint = engine.fingerprint();
    let hash = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        fingerprint.hash(&mut h);
        wasm.hash(&mut h);
        h.finish()
    };
    format!("{:016x}{:016x}.cwasm", hash(1), hash(2))
}

/// Turns a frontend error into the message users see.
fn load_error(e: FrontendError) -> anyhow::Error {
    match e {
        FrontendError::Invalid(msg) => anyhow!("invalid module: {msg}"),
        unsupported => anyhow!("{unsupported}"),
    }
}

impl Module {
    /// Compiles a module from its binary or text (`.wat`) form.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        Module::new_with_name(engine, bytes, None)
    }

    /// Like [`Module::new`], naming the module in backtraces.
    pub fn new_with_name(
        engine: &Engine,
        bytes: impl AsRef<[u8]>,
        name: Option<&str>,
    ) -> Result<Module> {
        let bytes = bytes.as_ref();
        let binary = wat::parse_bytes(bytes).map_err(|e| {
            if bytes.starts_with(b"\0asm") {
                anyhow!("{e}")
            } else {
                anyhow!("not a Wasm binary (no `\\0asm` header), and not valid module text: {e}")
            }
        })?;
        Module::compile(engine, &binary, name)
    }

    /// Compiles a module from its binary form.
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        Module::compile(engine, bytes, None)
    }

    fn compile(engine: &Engine, bytes: &[u8], name: Option<&str>) -> Result<Module> {
        let Some(dir) = engine.config().cache_dir.clone() else {
            return Module::compile_now(engine, bytes, name);
        };
        let path = dir.join(cache_key(engine, bytes));
        if let Ok(saved) = std::fs::read(&path) {
            // SAFETY: entries of the cache directory are written by this
            // function only (atomically, below); one that does not load, or
            // holds another module, is ignored and rewritten.
            if let Ok(m) = unsafe { Module::load_artifact(engine, &saved, name) }
                && *m.0.wasm == *bytes
            {
                return Ok(m);
            }
        }
        let module = Module::compile_now(engine, bytes, name)?;
        // A cache that cannot be written only costs the next run time.
        if let Ok(artifact) = module.serialize() {
            let _ = std::fs::create_dir_all(&dir);
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, artifact).is_ok() && std::fs::rename(&tmp, &path).is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
        }
        Ok(module)
    }

    fn compile_now(engine: &Engine, bytes: &[u8], name: Option<&str>) -> Result<Module> {
        let config = engine.config();
        let parsed = parse(bytes, config.features).map_err(load_error)?;
        let compiled = CompiledModule::compile(
            &engine.inner().compiler,
            parsed,
            &engine.inner().types,
            &wasm_jit_backend::ModuleOptions {
                memory_style: engine.memory_style(),
                epoch_interruption: config.epoch_interruption,
                consume_fuel: config.consume_fuel,
                parallel: config.parallel_compilation,
                deadline: config
                    .max_compile_time
                    .map(|d| std::time::Instant::now() + d),
            },
            name.map(str::to_string),
        )
        .map_err(load_error)?;
        Ok(Module(Arc::new(ModuleInner {
            engine: engine.clone(),
            compiled: Arc::new(compiled),
            wasm: bytes.into(),
        })))
    }

    /// The compiled module as bytes (a `.cwasm` artifact) that
    /// [`Module::deserialize`] loads without compiling, in an engine of the
    /// same version, target and code-generating configuration.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let fingerprint = self.0.engine.fingerprint();
        wasm_jit_backend::artifact::serialize(
            &fingerprint,
            &self.0.wasm,
            &self.0.compiled.functions,
        )
        .map_err(|e| anyhow!("cannot serialize the module: {e}"))
    }

    /// Loads a module serialized by [`Module::serialize`], without
    /// compiling it. An artifact from another engine version, target or
    /// configuration, or a truncated one, is refused with an error.
    ///
    /// # Safety
    /// The bytes are trusted: only their header and structure are checked,
    /// not the machine code they hold, which runs as is. Pass only
    /// artifacts this engine wrote (or that come from where you trust).
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        // SAFETY: the caller's contract.
        unsafe { Module::load_artifact(engine, bytes.as_ref(), None) }
    }

    /// # Safety
    /// As for [`Module::deserialize`].
    unsafe fn load_artifact(engine: &Engine, bytes: &[u8], name: Option<&str>) -> Result<Module> {
        let (wasm, functions) =
            wasm_jit_backend::artifact::deserialize(bytes, &engine.fingerprint())
                .map_err(|e| anyhow!("cannot load the compiled module: {e}"))?;
        let parsed = parse(&wasm, engine.config().features).map_err(load_error)?;
        let compiled = CompiledModule::from_artifact(
            parsed,
            &engine.inner().types,
            engine.memory_style(),
            functions,
            name.map(str::to_string),
        )
        .map_err(load_error)?;
        Ok(Module(Arc::new(ModuleInner {
            engine: engine.clone(),
            compiled: Arc::new(compiled),
            wasm: wasm.into(),
        })))
    }

    /// Reads a file written from [`Module::serialize`] and loads it.
    ///
    /// # Safety
    /// As for [`Module::deserialize`]: the file is trusted.
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        // SAFETY: the caller trusts the file (this function's contract).
        unsafe { Module::deserialize(engine, bytes) }
    }

    /// Whether `bytes` look like a serialized module rather than Wasm.
    pub fn is_serialized(bytes: &[u8]) -> bool {
        bytes.starts_with(wasm_jit_backend::artifact::MAGIC)
    }

    /// Reads and compiles a module file (binary or text).
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Module::new_with_name(engine, bytes, name.as_deref())
    }

    /// Checks that `bytes` is a valid module the engine can run, without
    /// keeping the compiled code.
    pub fn validate(engine: &Engine, bytes: &[u8]) -> Result<()> {
        Module::from_binary(engine, bytes).map(|_| ())
    }

    /// The engine the module was compiled by.
    pub fn engine(&self) -> &Engine {
        &self.0.engine
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> + '_ {
        let info = &self.0.compiled.info;
        info.imports.iter().map(move |i| ImportType {
            module: &i.module,
            name: &i.name,
            ty: ExternType::of_import(&i.kind, info),
        })
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> + '_ {
        let info = &self.0.compiled.info;
        info.exports.iter().map(move |e| ExportType {
            name: &e.name,
            ty: match e.kind {
                ExternKind::Func => ExternType::Func(
                    info.func_type(wasm_jit_frontend::FuncIndex(e.index))
                        .clone(),
                ),
                ExternKind::Table => ExternType::Table(info.tables[e.index as usize]),
                ExternKind::Memory => ExternType::Memory(info.memories[e.index as usize]),
                ExternKind::Global => ExternType::Global(info.globals[e.index as usize]),
            },
        })
    }

    pub(crate) fn compiled(&self) -> &Arc<CompiledModule> {
        &self.0.compiled
    }
}

/// One import of a module.
#[derive(Clone, Debug)]
pub struct ImportType<'a> {
    module: &'a str,
    name: &'a str,
    ty: ExternType,
}

impl<'a> ImportType<'a> {
    /// The module name.
    pub fn module(&self) -> &'a str {
        self.module
    }
    /// The field name.
    pub fn name(&self) -> &'a str {
        self.name
    }
    /// The expected type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// One export of a module.
#[derive(Clone, Debug)]
pub struct ExportType<'a> {
    name: &'a str,
    ty: ExternType,
}

impl<'a> ExportType<'a> {
    /// The export name.
    pub fn name(&self) -> &'a str {
        self.name
    }
    /// The exported item's type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}
