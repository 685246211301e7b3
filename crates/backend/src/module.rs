//! A compiled module (code plus description), the engine-wide type
//! registry, and the trampoline cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wasm_jit_frontend::translate::{MemoryStyle, TranslationEnv};
use wasm_jit_frontend::vmoffsets::VMOffsets;
use wasm_jit_frontend::{DefinedFuncIndex, FrontendError, FuncType, ModuleInfo, ParsedModule};

use crate::code::{CodeMemory, CodeNames};
use crate::compile::{CompiledFunction, Compiler};
use crate::memory::MemoryImage;
use crate::traps::ArrayTrampoline;

/// Gives each distinct function type an engine-wide id, so `call_indirect`
/// compares two integers.
#[derive(Debug, Default)]
pub struct TypeRegistry {
    inner: Mutex<(HashMap<FuncType, u32>, Vec<FuncType>)>,
}

impl TypeRegistry {
    /// The id of `ty`, assigning one if new.
    pub fn intern(&self, ty: &FuncType) -> u32 {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = g.0.get(ty) {
            return id;
        }
        let id = g.1.len() as u32;
        g.1.push(ty.clone());
        g.0.insert(ty.clone(), id);
        id
    }

    /// The type with id `id`.
    pub fn get(&self, id: u32) -> FuncType {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.1[id as usize].clone()
    }
}

/// How a module's code is generated.
#[derive(Clone, Copy, Debug)]
pub struct ModuleOptions {
    /// Bounds-checking strategy.
    pub memory_style: MemoryStyle,
    /// Emit epoch checks at function entries and loop headers.
    pub epoch_interruption: bool,
    /// Emit fuel metering.
    pub consume_fuel: bool,
    /// Compile functions on several threads.
    pub parallel: bool,
    /// Give up (`implementation limit exceeded`) on functions not yet
    /// started by then.
    pub deadline: Option<std::time::Instant>,
}

/// A module compiled to native code. Instances share it through an `Arc`.
#[derive(Debug)]
pub struct CompiledModule {
    /// Description of the module.
    pub info: ModuleInfo,
    /// Context layout of its instances.
    pub offsets: VMOffsets,
    /// Engine-wide id of each module type.
    pub type_ids: Vec<u32>,
    /// Memory style the code was compiled for.
    pub memory_style: MemoryStyle,
    /// Initial contents of memory 0, mapped copy-on-write at instantiation,
    /// and which data segments it already contains.
    pub memory_image: Option<(MemoryImage, Vec<bool>)>,
    code: CodeMemory,
    /// The machine code before placement, for `Module::serialize`.
    pub functions: Vec<CompiledFunction>,
}

impl CompiledModule {
    /// Validates and compiles every function of `parsed`.
    pub fn compile(
        compiler: &Compiler,
        parsed: ParsedModule<'_>,
        types: &TypeRegistry,
        options: &ModuleOptions,
        name: Option<String>,
    ) -> Result<CompiledModule, FrontendError> {
        let memory_style = options.memory_style;
        let ParsedModule {
            info,
            functions,
            unsupported,
        } = parsed;
        let type_ids: Vec<u32> = info.types.iter().map(|t| types.intern(t)).collect();
        let offsets = VMOffsets::new(&info);
        let env = TranslationEnv {
            info: &info,
            offsets,
            type_ids: &type_ids,
            frontend_config: compiler.frontend_config(),
            memory_style,
            epoch_interruption: options.epoch_interruption,
            consume_fuel: options.consume_fuel,
        };
        let compiled = compiler.compile_functions(
            &env,
            functions,
            unsupported,
            options.parallel,
            options.deadline,
        )?;
        Self::from_compiled(info, offsets, type_ids, memory_style, compiled, name)
    }

    /// A module from code compiled earlier (a deserialized artifact):
    /// `parsed` describes it, `compiled` holds every defined function's code
    /// in order. Nothing is validated or compiled.
    pub fn from_artifact(
        parsed: ParsedModule<'_>,
        types: &TypeRegistry,
        memory_style: MemoryStyle,
        compiled: Vec<CompiledFunction>,
        name: Option<String>,
    ) -> Result<CompiledModule, FrontendError> {
        let info = parsed.info;
        if compiled.len() != info.num_defined_funcs() as usize {
            return Err(FrontendError::Resource(
                "the artifact's code does not match its module".into(),
            ));
        }
        let type_ids: Vec<u32> = info.types.iter().map(|t| types.intern(t)).collect();
        let offsets = VMOffsets::new(&info);
        Self::from_compiled(info, offsets, type_ids, memory_style, compiled, name)
    }

    fn from_compiled(
        info: ModuleInfo,
        offsets: VMOffsets,
        type_ids: Vec<u32>,
        memory_style: MemoryStyle,
        compiled: Vec<CompiledFunction>,
        name: Option<String>,
    ) -> Result<CompiledModule, FrontendError> {
        let imported = info.num_imported_funcs;
        let names = Arc::new(CodeNames {
            module: name,
            funcs: info.func_names.clone(),
        });
        let code = CodeMemory::new(
            &compiled,
            |index| index.checked_sub(imported).map(|i| i as usize),
            names,
        )
        .map_err(FrontendError::Resource)?;
        let memory_image = memory_image(&info);
        Ok(CompiledModule {
            info,
            offsets,
            type_ids,
            memory_style,
            memory_image,
            code,
            functions: compiled,
        })
    }

    /// Code of defined function `index`.
    pub fn func_ptr(&self, index: DefinedFuncIndex) -> *const u8 {
        self.code.func_ptr(index.index())
    }
}

/// The image of memory 0, when instantiating can never observe the
/// difference from applying the data segments one by one: memory 0 is
/// defined by the module, every data segment for it is active at a constant
/// offset inside its initial size (so none can trap), and no active element
/// segment writes to an imported table (so if one traps, nothing outside the
/// failed instance can reach this memory).
fn memory_image(info: &ModuleInfo) -> Option<(MemoryImage, Vec<bool>)> {
    use wasm_jit_frontend::module::{ConstOp, SegmentMode};
    if info.num_imported_memories != 0 || info.memories.is_empty() {
        return None;
    }
    let initial = info.memories[0].minimum.checked_mul(65536)? as usize;
    let elems_safe = info.elems.iter().all(|e| match &e.mode {
        SegmentMode::Active { index, .. } => *index >= info.num_imported_tables,
        _ => true,
    });
    if !elems_safe {
        return None;
    }
    let mut segments = Vec::new();
    let mut covered = vec![false; info.datas.len()];
    let mut end = 0usize;
    for (i, d) in info.datas.iter().enumerate() {
        let SegmentMode::Active { index: 0, offset } = &d.mode else {
            continue;
        };
        let [ConstOp::I32(at)] = offset.0.as_slice() else {
            return None;
        };
        let at = *at as u32 as usize;
        let seg_end = at.checked_add(d.data.len())?;
        if seg_end > initial {
            return None;
        }
        end = end.max(seg_end);
        segments.push((at, d.data.as_slice()));
        covered[i] = true;
    }
    // Small images are cheaper to copy than to map.
    if end < 64 * 1024 {
        return None;
    }
    let len = end.next_multiple_of(4096);
    MemoryImage::new(len, &segments)
        .ok()
        .map(|img| (img, covered))
}

/// Trampolines compiled on demand, one per function type, kept for the
/// engine's lifetime.
#[derive(Debug, Default)]
pub struct Trampolines {
    array: Mutex<HashMap<FuncType, Arc<CodeMemory>>>,
    host: Mutex<HashMap<FuncType, Arc<CodeMemory>>>,
}

// SAFETY: code memory is immutable once published.
unsafe impl Send for Trampolines {}
// SAFETY: as above; the maps are behind mutexes.
unsafe impl Sync for Trampolines {}

impl Trampolines {
    /// The host-to-Wasm trampoline for `ty`.
    pub fn array(&self, compiler: &Compiler, ty: &FuncType) -> Result<ArrayTrampoline, String> {
        let code = Self::get(&self.array, ty, || compiler.array_trampoline(ty))?;
        // SAFETY: the code was compiled with exactly this signature and lives
        // as long as the engine that owns `self`.
        Ok(unsafe { std::mem::transmute::<*const u8, ArrayTrampoline>(code) })
    }

    /// The Wasm-to-host trampoline for `ty`.
    pub fn host(&self, compiler: &Compiler, ty: &FuncType) -> Result<*const u8, String> {
        Self::get(&self.host, ty, || compiler.host_trampoline(ty))
    }

    fn get(
        map: &Mutex<HashMap<FuncType, Arc<CodeMemory>>>,
        ty: &FuncType,
        compile: impl FnOnce() -> Result<crate::compile::CompiledFunction, FrontendError>,
    ) -> Result<*const u8, String> {
        let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(code) = map.get(ty) {
            return Ok(code.func_ptr(0));
        }
        let f = compile().map_err(|e| e.to_string())?;
        let code = CodeMemory::new(&[f], |_| None, Arc::new(CodeNames::default()))?;
        let ptr = code.func_ptr(0);
        map.insert(ty.clone(), Arc::new(code));
        Ok(ptr)
    }
}
