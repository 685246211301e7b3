//! A compiled module (code plus description), the engine-wide type
//! registry, and the trampoline cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wasm_jit_frontend::module::FunctionInput;
use wasm_jit_frontend::translate::{MemoryStyle, TranslationEnv};
use wasm_jit_frontend::vmoffsets::VMOffsets;
use wasm_jit_frontend::{
    DefinedFuncIndex, Field, FrontendError, FuncType, GcShape, GlobalType, HeapType, Kind,
    ModuleInfo, ParsedModule, RefType, Storage, TableType, UnsupportedNotes, WasmType,
};

use crate::artifact::{SavedTrampoline, TrampolineKind};
use crate::code::{CodeMemory, CodeNames};
use crate::compile::{CompiledFunction, Compiler, SharedBytes};
use crate::lazy::{LazyCode, LazySource, lock};
use crate::memory::MemoryImage;
use crate::traps::ArrayTrampoline;

/// Gives each distinct function type an engine-wide id, so `call_indirect`
/// compares two integers.
#[derive(Debug, Default)]
pub struct TypeRegistry {
    inner: Mutex<Registry>,
}

/// Canonical function types, by recursion group: two groups are the same
/// when their types have the same shapes, finality and references, with
/// references inside the group as positions in it
/// ([`HeapType::RecGroup`]) and references outside it as canonical ids
/// (isorecursive type equivalence, as the spec defines it).
#[derive(Debug, Default)]
struct Registry {
    /// Each group's key, and the id of its first type (the others follow).
    groups: HashMap<Vec<GroupMember>, u32>,
    /// Every type by id, its references as [`HeapType::Canonical`] ids.
    types: Vec<FuncType>,
    /// What each id is (a struct or array type's signature in `types` is a
    /// placeholder).
    kinds: Vec<Kind>,
    /// The fields of each struct or array type, references as canonical
    /// ids (for the host's reads and writes of objects).
    shapes: Vec<Option<GcShape>>,
    /// The declared supertype of each id (GC subtyping), if any.
    supers: Vec<Option<u32>>,
}

impl Registry {
    fn intern_group(&mut self, key: Vec<GroupMember>) -> u32 {
        if let Some(&first) = self.groups.get(&key) {
            return first;
        }
        let first = self.types.len() as u32;
        // Positions in the group become the ids given here.
        for (_, sup, ty, shape, _) in &key {
            self.kinds
                .push(shape.as_ref().map_or(Kind::Func, GcShape::kind));
            self.shapes.push(shape.as_ref().map(|s| {
                let canonical = |f: &Field| Field {
                    storage: match f.storage {
                        Storage::Val(t) => Storage::Val(rec_to_canonical(t, first)),
                        packed => packed,
                    },
                    mutable: f.mutable,
                };
                match s {
                    GcShape::Struct(fields) => {
                        GcShape::Struct(fields.iter().map(canonical).collect())
                    }
                    GcShape::Array(f) => GcShape::Array(canonical(f)),
                }
            }));
            self.supers.push(sup.map(|h| match h {
                HeapType::RecGroup(k) => first + k,
                HeapType::Canonical(id) => id,
                other => unreachable!("a supertype is a type index, not {other}"),
            }));

            self.types.push(FuncType::new(
                ty.params().iter().map(|t| rec_to_canonical(*t, first)),
                ty.results().iter().map(|t| rec_to_canonical(*t, first)),
            ));
        }
        self.groups.insert(key, first);
        first
    }
}

/// One type of a recursion group as the registry compares it: finality,
/// declared supertype, signature (a placeholder for struct and array
/// types), the shape of a struct or array type, and its custom-descriptor
/// clauses (descriptor, described type).
type GroupMember = (
    bool,
    Option<HeapType>,
    FuncType,
    Option<GcShape>,
    (Option<HeapType>, Option<HeapType>),
);

fn rec_to_canonical(t: WasmType, first: u32) -> WasmType {
    match t {
        WasmType::Ref(RefType {
            nullable,
            heap: HeapType::RecGroup(k),
            exact,
        }) => WasmType::Ref(RefType {
            nullable,
            heap: HeapType::Canonical(first + k),
            exact,
        }),
        other => other,
    }
}

impl TypeRegistry {
    /// The id of `ty` (whose references are canonical ids, as the
    /// embedding API has them), assigning one if new: a final type in a
    /// group of its own.
    pub fn intern(&self, ty: &FuncType) -> u32 {
        // As a module's types are spelled, so that equal types are one.
        let one = |t: &WasmType| t.one_spelling();
        let ty = FuncType::new(ty.params().iter().map(one), ty.results().iter().map(one));
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.intern_group(vec![(true, None, ty, None, (None, None))])
    }

    /// The id of each of a module's types, by type index.
    pub fn intern_module(&self, info: &ModuleInfo) -> Vec<u32> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<u32> = Vec::with_capacity(info.types.len());
        for &(start, len) in &info.rec_groups {
            let key: Vec<GroupMember> = (start..start + len)
                .map(|i| {
                    let map = |j: u32| {
                        if j >= start {
                            HeapType::RecGroup(j - start)
                        } else {
                            HeapType::Canonical(ids[j as usize])
                        }
                    };
                    let ty = info.types[i as usize].map_concrete(map);
                    let shape = info.gc_shapes[i as usize]
                        .as_ref()
                        .map(|s| s.map_concrete(map));
                    let sup = info.type_supers[i as usize].map(map);
                    let (descriptor, describes) = info.type_descriptors[i as usize];
                    let descriptors = (descriptor.map(map), describes.map(map));
                    (info.type_final[i as usize], sup, ty, shape, descriptors)
                })
                .collect();
            let first = g.intern_group(key);
            ids.extend(first..first + len);
        }
        ids
    }

    /// The id of the struct or array type of `shape` (its references
    /// canonical ids of this registry), assigning one if new: a final type
    /// with no supertype in a group of its own, as `(type (struct ...))`
    /// declares one, so a module's type of the same shape has the same id.
    /// `None` when a reference names an id the registry does not have, or
    /// is exact but not to a concrete type.
    pub fn intern_shape(&self, shape: &GcShape) -> Option<u32> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let known = |f: &Field| match f.storage {
            // Only a concrete type can be exact.
            Storage::Val(WasmType::Ref(RefType {
                exact: true, heap, ..
            })) if !matches!(heap, HeapType::Canonical(_)) => false,
            Storage::Val(WasmType::Ref(RefType {
                heap: HeapType::Canonical(id),
                ..
            })) => (id as usize) < g.types.len(),
            Storage::Val(WasmType::Ref(RefType {
                heap: HeapType::Concrete(_) | HeapType::RecGroup(_),
                ..
            })) => false,
            _ => true,
        };
        let ok = match shape {
            GcShape::Struct(fields) => fields.iter().all(known),
            GcShape::Array(f) => known(f),
        };
        ok.then(|| {
            g.intern_group(vec![(
                true,
                None,
                FuncType::new([], []),
                Some(shape.clone()),
                (None, None),
            )])
        })
    }

    /// The fields of struct or array type `id` (references as canonical
    /// ids); `None` for a function type.
    pub fn shape(&self, id: u32) -> Option<GcShape> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.shapes[id as usize].clone()
    }

    /// Whether id `id` is a function, struct or array type.
    pub fn kind(&self, id: u32) -> Kind {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.kinds[id as usize]
    }

    /// Whether type `actual` is type `expected` or one of its declared
    /// subtypes (directly or not).
    pub fn is_subtype(&self, actual: u32, expected: u32) -> bool {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut t = actual;
        loop {
            if t == expected {
                return true;
            }
            match g.supers.get(t as usize).copied().flatten() {
                Some(s) => t = s,
                None => return false,
            }
        }
    }

    /// Whether a value of type `a` is also of type `b` (types with
    /// canonical ids): [`WasmType::is_subtype_of`], plus declared subtyping
    /// between concrete types.
    pub fn value_subtype(&self, a: WasmType, b: WasmType) -> bool {
        if let (Some(x), Some(y)) = (a.as_ref_type(), b.as_ref_type())
            && let (HeapType::Canonical(i), HeapType::Canonical(j)) = (x.heap, y.heap)
        {
            // An exact type holds only its own values.
            let related = if y.exact {
                x.exact && i == j
            } else {
                self.is_subtype(i, j)
            };
            return (y.nullable || !x.nullable) && related;
        }
        a.is_subtype_of(b, |id| Some(self.kind(id)))
    }

    /// The type with id `id`, its references as canonical ids.
    pub fn get(&self, id: u32) -> FuncType {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.types[id as usize].clone()
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
    /// Compile each function on first call (and in the background) instead
    /// of all of them now; bodies are still all validated now.
    pub lazy: bool,
    /// With `lazy`: keep the final tier's machine code (see
    /// [`LazyCode::final_functions`]), for a code cache.
    pub keep_final_tier: bool,
    /// With `lazy`: compile functions a call waits for with the quick
    /// compiler ([`Compiler::quick`], when there is one), to be replaced by
    /// optimised code, in modules with at least this many bytes of function
    /// bodies.
    pub quick_tier_from: Option<u64>,
    /// With the quick tier: use it even without background threads, whose
    /// work it is to replace quick code (for tests, so that quick code runs
    /// where it is certain to).
    pub quick_always: bool,
    /// With `lazy`: background threads will compile ahead
    /// ([`crate::lazy::start_background`] will be called).
    pub background: bool,
    /// Give up (`implementation limit exceeded`) on functions not yet
    /// started by then.
    pub deadline: Option<std::time::Instant>,
    /// Use far calls (see `TranslationEnv::far_calls`) when the module has
    /// more bytes of function bodies than this; `None`: the target's limit
    /// ([`Compiler::far_calls`]).
    pub far_calls_above: Option<u64>,
    /// Initialise memory 0 by mapping an image of its data copy-on-write,
    /// where the data allows (see `memory_image`), instead of copying each
    /// segment at every instantiation.
    pub memory_init_cow: bool,
}

impl ModuleOptions {
    /// Whether lazy compilation of `functions` uses the quick first tier.
    fn quick(&self, functions: &[FunctionInput<'_>]) -> bool {
        self.quick_tier_from
            .is_some_and(|from| body_bytes(functions) >= from)
    }
}

/// A module compiled to native code. Instances share it through an `Arc`.
#[derive(Debug)]
pub struct CompiledModule {
    /// Description of the module.
    pub info: ModuleInfo,
    /// The name it was compiled or loaded under.
    name: Option<String>,
    /// Context layout of its instances.
    pub offsets: VMOffsets,
    /// Engine-wide id of each module type.
    pub type_ids: Vec<u32>,
    /// Memory style the code was compiled for.
    pub memory_style: MemoryStyle,
    /// Initial contents of memory 0, mapped copy-on-write at instantiation,
    /// and which data segments it already contains.
    pub memory_image: Option<(MemoryImage, Vec<bool>)>,
    /// How the rest of its code is generated (lazy compilation).
    settings: CodeSettings,
    code: Code,
}

/// What, beside the target and the memory style, decides a module's code:
/// the same for every function of it, whenever it is compiled.
#[derive(Clone, Copy, Debug)]
struct CodeSettings {
    epoch_interruption: bool,
    consume_fuel: bool,
    /// Calls between the module's functions are far calls.
    far_calls: bool,
}

impl CodeSettings {
    fn new(compiler: &Compiler, options: &ModuleOptions, functions: &[FunctionInput<'_>]) -> Self {
        CodeSettings {
            epoch_interruption: options.epoch_interruption,
            consume_fuel: options.consume_fuel,
            far_calls: compiler.far_calls(body_bytes(functions), options.far_calls_above),
        }
    }

    /// What the translator needs to compile functions of `info`.
    fn env<'a>(
        self,
        compiler: &Compiler,
        info: &'a ModuleInfo,
        memory_style: MemoryStyle,
        lazy: bool,
    ) -> TranslationEnv<'a> {
        TranslationEnv {
            info,
            offsets: VMOffsets::new(info),
            frontend_config: compiler.frontend_config(),
            memory_style,
            epoch_interruption: self.epoch_interruption,
            consume_fuel: self.consume_fuel,
            lazy,
            count_heat: lazy && compiler.is_quick(),
            osr_checks: lazy && compiler.is_quick(),
            osr_entry: None,
            simd: compiler.simd_lowering(),
            tearing_stores: compiler.tearing_stores(),
            far_calls: self.far_calls,
        }
    }
}

/// Where a module's code is.
#[derive(Debug)]
enum Code {
    /// All compiled and placed at once; the machine code before placement
    /// is kept for `Module::serialize`.
    Eager(CodeMemory, Vec<CompiledFunction>),
    /// Compiled function by function.
    Lazy(Box<LazyCode>),
}

impl CompiledModule {
    /// Validates and compiles every function of `parsed`.
    /// `parsed` must have been parsed from `wasm`. In lazy mode nothing is
    /// compiled yet; call [`crate::lazy::start_background`] once the module
    /// is in its `Arc`.
    pub fn compile(
        compiler: &Arc<Compiler>,
        wasm: &SharedBytes,
        parsed: ParsedModule<'_>,
        types: &TypeRegistry,
        options: &ModuleOptions,
        name: Option<String>,
    ) -> Result<CompiledModule, FrontendError> {
        let ParsedModule {
            info,
            functions,
            unsupported,
        } = parsed;
        let type_ids: Vec<u32> = types.intern_module(&info);
        let offsets = VMOffsets::new(&info);
        let names = Arc::new(CodeNames::new(name.clone(), &info));
        let settings = CodeSettings::new(compiler, options, &functions);
        let code = if options.lazy {
            let quick = options.quick(&functions);
            let source = LazySource::new(wasm.clone(), &functions);
            let callees = compiler.validate_functions(functions, unsupported, options.parallel)?;
            let order = background_order(&info, &callees);
            let osr_candidates = osr_candidates(&info, &callees);
            let imported = info.num_imported_funcs;
            let callees = callees
                .into_iter()
                .map(|c| {
                    let mut c: Vec<u32> =
                        c.iter().filter_map(|f| f.checked_sub(imported)).collect();
                    // First calls first, each once.
                    let mut seen = std::collections::HashSet::new();
                    c.retain(|f| seen.insert(*f));
                    c.into_boxed_slice()
                })
                .collect();
            Code::Lazy(Box::new(
                LazyCode::new(
                    source,
                    compiler.clone(),
                    names,
                    order,
                    callees,
                    options.keep_final_tier,
                    quick,
                )
                .quick_always(quick && options.quick_always)
                .osr_candidates(osr_candidates),
            ))
        } else {
            let compiled =
                compile_eager(compiler, &info, functions, unsupported, options, settings)?;
            Self::place(&info, compiled, names)?
        };
        Ok(Self::assemble(
            info, name, offsets, type_ids, options, settings, code,
        ))
    }

    /// Validates and compiles every function of `parsed`, without placing
    /// the code anywhere: for an artifact, possibly for another target.
    /// Gives back the module's description with the code.
    pub fn compile_unplaced(
        compiler: &Compiler,
        parsed: ParsedModule<'_>,
        options: &ModuleOptions,
    ) -> Result<(Vec<CompiledFunction>, ModuleInfo), FrontendError> {
        let ParsedModule {
            info,
            functions,
            unsupported,
        } = parsed;
        let settings = CodeSettings::new(compiler, options, &functions);
        let code = compile_eager(compiler, &info, functions, unsupported, options, settings)?;
        Ok((code, info))
    }

    /// A module from code compiled earlier (a deserialized artifact):
    /// `parsed` (from `wasm`) describes it; `compiled` holds every defined
    /// function's code in order (eager code), or, for lazily compiled code,
    /// the functions compiled so far (the rest is compiled on first call).
    /// Nothing present is validated or compiled again.
    pub fn from_artifact(
        compiler: &Arc<Compiler>,
        wasm: &SharedBytes,
        parsed: ParsedModule<'_>,
        types: &TypeRegistry,
        options: &ModuleOptions,
        compiled: Vec<Option<CompiledFunction>>,
        name: Option<String>,
    ) -> Result<CompiledModule, FrontendError> {
        let ParsedModule {
            info, functions, ..
        } = parsed;
        if compiled.len() != info.num_defined_funcs() as usize {
            return Err(FrontendError::Resource(
                "the artifact's code does not match its module".into(),
            ));
        }
        let type_ids: Vec<u32> = types.intern_module(&info);
        let offsets = VMOffsets::new(&info);
        let names = Arc::new(CodeNames::new(name.clone(), &info));
        let settings = CodeSettings::new(compiler, options, &functions);
        let code = if options.lazy {
            let quick = options.quick(&functions);
            let source = LazySource::new(wasm.clone(), &functions);
            let order = (0..info.num_defined_funcs()).collect();
            // Not validated again, so the callees are not known: the
            // background threads follow the order alone.
            let lazy = LazyCode::new(
                source,
                compiler.clone(),
                names,
                order,
                Vec::new(),
                options.keep_final_tier,
                quick,
            );
            // Quick code (from a code cache entry) only where background
            // threads will replace it; otherwise compiled again on demand.
            let keep_quick = options.background && crate::lazy::cores() >= 2;
            let present = compiled
                .into_iter()
                .enumerate()
                .filter_map(|(i, f)| Some((i as u32, f?)))
                .filter(|(_, f)| keep_quick || !f.quick)
                .collect();
            lazy.preload(present).map_err(FrontendError::Resource)?;
            Code::Lazy(Box::new(lazy))
        } else {
            let compiled = compiled
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    FrontendError::Resource("the artifact lacks the code of a function".into())
                })?;
            Self::place(&info, compiled, names)?
        };
        Ok(Self::assemble(
            info, name, offsets, type_ids, options, settings, code,
        ))
    }

    fn place(
        info: &ModuleInfo,
        compiled: Vec<CompiledFunction>,
        names: Arc<CodeNames>,
    ) -> Result<Code, FrontendError> {
        let imported = info.num_imported_funcs;
        let code = CodeMemory::new(
            &compiled,
            |index| index.checked_sub(imported).map(|i| i as usize),
            names,
        )
        .map_err(FrontendError::Resource)?;
        Ok(Code::Eager(code, compiled))
    }

    fn assemble(
        info: ModuleInfo,
        name: Option<String>,
        offsets: VMOffsets,
        type_ids: Vec<u32>,
        options: &ModuleOptions,
        settings: CodeSettings,
        code: Code,
    ) -> CompiledModule {
        let memory_image = if options.memory_init_cow {
            memory_image(&info)
        } else {
            None
        };
        CompiledModule {
            info,
            name,
            offsets,
            type_ids,
            memory_style: options.memory_style,
            memory_image,
            settings,
            code,
        }
    }

    /// `ty` with the module's type indices replaced by the engine's
    /// canonical ids (types as the embedding API shows and compares them).
    pub fn canonical(&self, ty: WasmType) -> WasmType {
        ty.map_concrete(|i| HeapType::Canonical(self.type_ids[i as usize]))
    }

    /// The canonical form of the module's type `index`.
    pub fn canonical_func_type(&self, index: usize) -> FuncType {
        self.info.types[index].map_concrete(|i| HeapType::Canonical(self.type_ids[i as usize]))
    }

    /// The canonical form of a table type.
    pub fn canonical_table(&self, t: TableType) -> TableType {
        TableType {
            element: self.canonical(t.element),
            ..t
        }
    }

    /// The canonical form of a global type.
    pub fn canonical_global(&self, g: GlobalType) -> GlobalType {
        GlobalType {
            content: self.canonical(g.content),
            ..g
        }
    }

    /// What the translator needs to compile this module's functions.
    pub(crate) fn translation_env<'a>(
        &'a self,
        compiler: &Compiler,
        lazy: bool,
    ) -> TranslationEnv<'a> {
        self.settings
            .env(compiler, &self.info, self.memory_style, lazy)
    }

    /// Code of defined function `index`; null while a lazily compiled
    /// function is not compiled, or only by the quick first tier (see
    /// [`crate::lazy::code`]).
    pub fn func_ptr(&self, index: DefinedFuncIndex) -> *const u8 {
        match &self.code {
            Code::Eager(code, _) => code.func_ptr(index.index()),
            Code::Lazy(lazy) => lazy.lasting_code(index),
        }
    }

    /// The name the module was compiled or loaded under, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The lazily compiled code, if the module is compiled lazily.
    pub fn lazy(&self) -> Option<&LazyCode> {
        match &self.code {
            Code::Lazy(lazy) => Some(lazy),
            Code::Eager(..) => None,
        }
    }

    /// The code slots of a lazily compiled module (null otherwise), for
    /// its instances' contexts.
    pub fn slots_ptr(&self) -> *const u8 {
        match &self.code {
            Code::Lazy(lazy) => lazy.slots_ptr() as *const u8,
            Code::Eager(..) => std::ptr::null(),
        }
    }

    /// The machine code of each defined function compiled so far (all of
    /// them when compiled eagerly), for artifacts and the code cache.
    pub fn functions(&self) -> Vec<Option<CompiledFunction>> {
        match &self.code {
            Code::Eager(_, functions) => functions.iter().cloned().map(Some).collect(),
            Code::Lazy(lazy) => lazy.compiled_functions(),
        }
    }
}

/// Bytes of the function bodies (the module's code section, roughly).
pub fn body_bytes(functions: &[FunctionInput<'_>]) -> u64 {
    functions
        .iter()
        .map(|f| {
            let r = f.body.range();
            r.end - r.start
        })
        .sum()
}

/// Compiles every function of a module at once.
fn compile_eager(
    compiler: &Compiler,
    info: &ModuleInfo,
    functions: Vec<FunctionInput<'_>>,
    unsupported: UnsupportedNotes,
    options: &ModuleOptions,
    settings: CodeSettings,
) -> Result<Vec<CompiledFunction>, FrontendError> {
    let env = settings.env(compiler, info, options.memory_style, false);
    compiler.compile_functions(
        &env,
        functions,
        unsupported,
        options.parallel,
        options.deadline,
    )
}

/// The order in which background threads compile a lazy module: what the
/// start function and the exports reach through direct calls and
/// `ref.func`, breadth first (`_start` and the start function first), then
/// what functions in element segments reach, then everything else.
fn background_order(info: &ModuleInfo, callees: &[Vec<u32>]) -> Vec<u32> {
    use wasm_jit_frontend::module::{ConstOp, ExternKind};
    let imported = info.num_imported_funcs;
    let n = info.num_defined_funcs() as usize;
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut roots: Vec<u32> = info.start.iter().map(|f| f.0).collect();
    let exports = info.exports.iter().filter(|e| e.kind == ExternKind::Func);
    roots.extend(
        exports
            .clone()
            .filter(|e| e.name == "_start")
            .map(|e| e.index),
    );
    roots.extend(exports.map(|e| e.index));
    for e in &info.elems {
        for item in &e.items {
            if let [ConstOp::RefFunc(f)] = item.0.as_slice() {
                roots.push(f.0);
            }
        }
    }
    roots.extend(imported..imported + n as u32);
    for root in roots {
        let Some(r) = root.checked_sub(imported) else {
            continue;
        };
        if std::mem::replace(&mut seen[r as usize], true) {
            continue;
        }
        let mut queue = std::collections::VecDeque::from([r]);
        while let Some(f) = queue.pop_front() {
            order.push(f);
            for &callee in &callees[f as usize] {
                if let Some(c) = callee.checked_sub(imported)
                    && !std::mem::replace(&mut seen[c as usize], true)
                {
                    queue.push_back(c);
                }
            }
        }
    }
    order
}

/// The defined functions whose quick code checks its loops for on-stack
/// replacement (`translate/osr.rs` in the frontend): those the module names
/// at most once (in a `call`, `return_call` or `ref.func`, an element
/// segment, a global's or a table's initialiser, an export or as its start
/// function). They are likely entered once or a few times (a program's
/// `main`), so a long loop in them may run its whole course in quick code;
/// a function named in many places is entered again, and later calls run
/// its replacement. The checks cost quick compile time, since each keeps
/// every local live up to its loop: with checks in every function, a short
/// run of sqlite's module took 17% longer; with checks in those named at
/// most twice, 4% (and at most once, as here, within the noise: 1.5%).
fn osr_candidates(info: &ModuleInfo, callees: &[Vec<u32>]) -> Vec<bool> {
    use wasm_jit_frontend::module::{ConstOp, ExternKind};
    let imported = info.num_imported_funcs;
    let mut named = vec![0u32; info.num_defined_funcs() as usize];
    let mut note = |f: u32| {
        if let Some(d) = f.checked_sub(imported)
            && let Some(n) = named.get_mut(d as usize)
        {
            *n = n.saturating_add(1);
        }
    };
    callees.iter().flatten().for_each(|&f| note(f));
    let exports = info.exports.iter().filter(|e| e.kind == ExternKind::Func);
    exports.for_each(|e| note(e.index));
    info.start.iter().for_each(|f| note(f.0));
    let elems = info.elems.iter().flat_map(|e| &e.items);
    let inits = info
        .global_inits
        .iter()
        .chain(info.table_inits.iter().flatten());
    for expr in elems.chain(inits) {
        for op in &expr.0 {
            if let ConstOp::RefFunc(f) = op {
                note(f.0);
            }
        }
    }
    named.iter().map(|&n| n <= 1).collect()
}

/// The image of memory 0, when instantiating can never observe the
/// difference from applying the data segments one by one: memory 0 is
/// defined by the module, every data segment for it is active at a constant
/// offset inside its initial size (so none can trap), and no active element
/// segment writes to an imported table (so if one traps, nothing outside the
/// failed instance can reach this memory).
fn memory_image(info: &ModuleInfo) -> Option<(MemoryImage, Vec<bool>)> {
    use wasm_jit_frontend::module::{ConstOp, SegmentMode};
    if info.num_imported_memories != 0 || info.memories.is_empty() || !info.memories[0].guardable()
    {
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
    let len = end.next_multiple_of(crate::memory::host_page());
    MemoryImage::new(len, &segments)
        .ok()
        .map(|img| (img, covered))
}

/// Trampolines, one per function type and kind, kept for the engine's
/// lifetime: compiled on demand, or placed from an artifact that saved them
/// ([`Trampolines::preload`]).
#[derive(Debug, Default)]
pub struct Trampolines {
    array: Mutex<HashMap<FuncType, PlacedTrampoline>>,
    host: Mutex<HashMap<FuncType, PlacedTrampoline>>,
    /// How many were compiled (rather than loaded; a trampoline two threads
    /// needed at once may be compiled twice).
    compilations: std::sync::atomic::AtomicUsize,
}

/// A trampoline in code memory, and its machine code as compiled (to save
/// with modules).
#[derive(Debug)]
struct PlacedTrampoline {
    memory: Arc<CodeMemory>,
    index: usize,
    compiled: CompiledFunction,
}

impl PlacedTrampoline {
    fn ptr(&self) -> *const u8 {
        self.memory.func_ptr(self.index)
    }
}

// SAFETY: code memory is immutable once published.
unsafe impl Send for Trampolines {}
// SAFETY: as above; the maps are behind mutexes.
unsafe impl Sync for Trampolines {}

impl Trampolines {
    /// The host-to-Wasm trampoline for `ty`.
    pub fn array(&self, compiler: &Compiler, ty: &FuncType) -> Result<ArrayTrampoline, String> {
        let code = self.get(TrampolineKind::Array, compiler, ty)?;
        // SAFETY: the code was compiled with exactly this signature (here,
        // or saved with an artifact this engine accepted: its fingerprint,
        // or the same but for fewer CPU features) and lives as long as the
        // engine that owns `self`.
        Ok(unsafe { std::mem::transmute::<*const u8, ArrayTrampoline>(code) })
    }

    /// The Wasm-to-host trampoline for `ty`.
    pub fn host(&self, compiler: &Compiler, ty: &FuncType) -> Result<*const u8, String> {
        self.get(TrampolineKind::Host, compiler, ty)
    }

    /// How many trampolines were compiled (not loaded from artifacts).
    pub fn compilations(&self) -> usize {
        self.compilations.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn map(&self, kind: TrampolineKind) -> &Mutex<HashMap<FuncType, PlacedTrampoline>> {
        match kind {
            TrampolineKind::Array => &self.array,
            TrampolineKind::Host => &self.host,
        }
    }

    fn compile(
        &self,
        kind: TrampolineKind,
        compiler: &Compiler,
        ty: &FuncType,
    ) -> Result<CompiledFunction, String> {
        self.compilations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match kind {
            TrampolineKind::Array => compiler.array_trampoline(ty),
            TrampolineKind::Host => compiler.host_trampoline(ty),
        }
        .map_err(|e| e.to_string())
    }

    fn get(
        &self,
        kind: TrampolineKind,
        compiler: &Compiler,
        ty: &FuncType,
    ) -> Result<*const u8, String> {
        self.get_with(kind, compiler, ty, PlacedTrampoline::ptr)
    }

    /// `read` of the trampoline of `kind` for `ty`, compiled and placed
    /// first if this engine has none yet.
    fn get_with<R>(
        &self,
        kind: TrampolineKind,
        compiler: &Compiler,
        ty: &FuncType,
        read: impl FnOnce(&PlacedTrampoline) -> R,
    ) -> Result<R, String> {
        if let Some(t) = lock(self.map(kind)).get(ty) {
            return Ok(read(t));
        }
        // Compiled and placed without the lock, so that threads meeting
        // other new types do not wait for this one. Two threads meeting
        // this type at once may both compile it: the first to put its
        // trampoline in the map wins, and the other's is dropped unused.
        let f = self.compile(kind, compiler, ty)?;
        let memory = CodeMemory::new(std::slice::from_ref(&f), |_| None, Arc::default())?;
        let t = PlacedTrampoline {
            memory: Arc::new(memory),
            index: 0,
            compiled: f,
        };
        let mut map = lock(self.map(kind));
        Ok(read(map.entry(ty.clone()).or_insert(t)))
    }

    /// The trampoline of `kind` for `ty`, to save with a module: this
    /// engine's, compiled (and, with `place`, kept for its own calls) if it
    /// has none yet. `place` must be false for an engine whose code cannot
    /// run here.
    pub fn saved(
        &self,
        kind: TrampolineKind,
        compiler: &Compiler,
        ty: &FuncType,
        place: bool,
    ) -> Result<SavedTrampoline, String> {
        let code = if place {
            self.get_with(kind, compiler, ty, |t| t.compiled.clone())?
        } else {
            self.compile(kind, compiler, ty)?
        };
        Ok(SavedTrampoline {
            kind,
            ty: ty.clone(),
            code,
        })
    }

    /// Places the trampolines saved with a module (an artifact this engine
    /// accepted, so trusted as its code is; perhaps compiled for fewer CPU
    /// features) that this engine has none of yet, together in one
    /// mapping: loading the module then compiles none. Existing entries
    /// are never replaced (their code may be in use).
    pub fn preload(&self, saved: Vec<SavedTrampoline>) -> Result<(), String> {
        // The only place holding both locks: always in this order.
        let mut array = lock(&self.array);
        let mut host = lock(&self.host);
        let mut seen = std::collections::HashSet::new();
        let missing: Vec<SavedTrampoline> = saved
            .into_iter()
            // The engine keeps them, past the artifact's module: copied.
            .map(|t| SavedTrampoline {
                code: t.code.into_owned(),
                ..t
            })
            .filter(|t| {
                let map = match t.kind {
                    TrampolineKind::Array => &array,
                    TrampolineKind::Host => &host,
                };
                !map.contains_key(&t.ty) && seen.insert((t.kind, t.ty.clone()))
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let funcs: Vec<CompiledFunction> = missing.iter().map(|t| t.code.clone()).collect();
        let memory = Arc::new(CodeMemory::new(&funcs, |_| None, Arc::default())?);
        for (index, t) in missing.into_iter().enumerate() {
            let map = match t.kind {
                TrampolineKind::Array => &mut *array,
                TrampolineKind::Host => &mut *host,
            };
            map.insert(
                t.ty,
                PlacedTrampoline {
                    memory: memory.clone(),
                    index,
                    compiled: t.code,
                },
            );
        }
        Ok(())
    }
}
