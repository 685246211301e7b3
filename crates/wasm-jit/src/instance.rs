//! Instantiation and exports.

use anyhow::{Result, anyhow, bail};
use wasm_jit_backend::{Imports, Instance as RawInstance, InstanceLimits, ResourceKind};
use wasm_jit_frontend::module::{ExternKind, ImportKind};
use wasm_jit_frontend::{FuncIndex, GlobalIndex, MemoryIndex, TableIndex};

use crate::externals::{Extern, Global, Memory, Table};
use crate::func::{Func, call_raw};
use crate::module::Module;
use crate::store::{AsContext, AsContextMut, StoreOpaque, Stored};
use crate::trap::host_error;
use crate::typed::{TypedFunc, WasmList};
use crate::types::{ExternType, GlobalType, MemoryType, TableType};

/// An instantiated module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance(pub(crate) Stored);

fn limits_match(actual_min: u64, actual_max: Option<u64>, min: u64, max: Option<u64>) -> bool {
    actual_min >= min
        && match max {
            None => true,
            Some(m) => actual_max.is_some_and(|am| am <= m),
        }
}

/// Types compare with `==`: a module's, `Table::new`'s and `Global::new`'s
/// are all kept in one spelling (`funcref` for `(ref null func)`).
fn table_matches(actual: &TableType, expected: &TableType) -> bool {
    actual.element == expected.element
        && actual.table64 == expected.table64
        && limits_match(
            actual.minimum,
            actual.maximum,
            expected.minimum,
            expected.maximum,
        )
}

fn memory_matches(actual: &MemoryType, expected: &MemoryType) -> bool {
    actual.memory64 == expected.memory64
        && actual.page_size_log2 == expected.page_size_log2
        && actual.shared == expected.shared
        && limits_match(
            actual.minimum,
            actual.maximum,
            expected.minimum,
            expected.maximum,
        )
}

/// Both types canonical: a mutable global's content type must be the
/// same, an immutable one's a subtype (`types` says what each canonical id
/// is).
fn global_matches(
    actual: &GlobalType,
    expected: &GlobalType,
    types: &wasm_jit_backend::TypeRegistry,
) -> bool {
    actual.mutable == expected.mutable
        && if actual.mutable {
            actual.content == expected.content
        } else {
            types.value_subtype(actual.content, expected.content)
        }
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import
    /// order, running its start function.
    pub fn new(
        mut store: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        let ctx = store.as_context_mut();
        // SAFETY: `store` comes from `enter`; `instantiate` follows its rules.
        ctx.0
            .enter(|store| unsafe { instantiate(&raw mut (*store).opaque, module, imports) })
    }

    /// The export named `name`.
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let ctx = store.as_context_mut();
        export(&mut ctx.0.opaque, *self, name)
    }

    /// The exported function named `name`.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function named `name`, with static types.
    pub fn get_typed_func<P: WasmList, R: WasmList>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let f = self
            .get_func(&mut store, name)
            .ok_or_else(|| anyhow!("no exported function named `{name}`"))?;
        f.typed(&store)
    }

    /// The exported memory named `name`.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The shared memory exported as `name`, if there is one: a handle
    /// other stores (threads) may import. (A shared memory is no
    /// [`Memory`]: `get_memory` gives `None` for it, as in Wasmtime.)
    pub fn get_shared_memory(
        &self,
        store: impl AsContextMut,
        name: &str,
    ) -> Option<crate::SharedMemory> {
        self.get_export(store, name)?.into_shared_memory()
    }

    /// How many exception objects this instance's code has made; those
    /// caught by a handler that took only their payload are reused (for
    /// tests of that).
    #[doc(hidden)]
    pub fn exceptions_made(&self, store: impl AsContext) -> usize {
        let s = &store.as_context().0.opaque;
        s.instances[s.check(self.0)].exceptions_made()
    }

    /// The exported table named `name`.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global named `name`.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// All exports, in declaration order (as Wasmtime's `exports`: each
    /// an [`Export`] with its `name()` and `into_func()`, ...).
    pub fn exports(&self, mut store: impl AsContextMut) -> std::vec::IntoIter<Export> {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let i = s.check(self.0);
        let names: Vec<String> = s.instances[i]
            .module()
            .info
            .exports
            .iter()
            .map(|e| e.name.clone())
            .collect();
        let exports: Vec<Export> = names
            .into_iter()
            .filter_map(|name| export(s, *self, &name).map(|item| Export { name, item }))
            .collect();
        exports.into_iter()
    }
}

/// An instance's export: its name and the item (see
/// [`Instance::exports`]).
#[derive(Clone, Debug)]
pub struct Export {
    name: String,
    item: Extern,
}

impl Export {
    /// The export's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exported item.
    pub fn into_extern(self) -> Extern {
        self.item
    }

    /// The item, if it is a function.
    pub fn into_func(self) -> Option<crate::Func> {
        self.item.into_func()
    }

    /// The item, if it is a table.
    pub fn into_table(self) -> Option<crate::Table> {
        self.item.into_table()
    }

    /// The item, if it is a memory.
    pub fn into_memory(self) -> Option<crate::Memory> {
        self.item.into_memory()
    }

    /// The item, if it is a global.
    pub fn into_global(self) -> Option<crate::Global> {
        self.item.into_global()
    }

    /// The item, if it is a tag.
    pub fn into_tag(self) -> Option<crate::Tag> {
        self.item.into_tag()
    }

    /// The item, if it is a shared memory.
    pub fn into_shared_memory(self) -> Option<crate::SharedMemory> {
        self.item.into_shared_memory()
    }

    /// The item's type.
    pub fn ty(&self, store: impl crate::AsContext) -> crate::ExternType {
        self.item.ty(store)
    }
}

pub(crate) fn export(s: &mut StoreOpaque, instance: Instance, name: &str) -> Option<Extern> {
    let i = s.check(instance.0);
    let raw = &s.instances[i];
    let module = raw.module().clone();
    let e = module.info.exports.iter().find(|e| e.name == name)?;
    Some(match e.kind {
        ExternKind::Func => {
            let f = raw.func(FuncIndex(e.index));
            Extern::Func(Func(s.func_for_ref(f)))
        }
        ExternKind::Memory => {
            let m = raw.memory(MemoryIndex(e.index));
            // A shared memory is no one store's: as in Wasmtime, it is
            // exported as a `SharedMemory`, never as a `Memory` (whose
            // slices other threads could change under the host).
            match s.shared_memory_arc(m) {
                Some(arc) => Extern::SharedMemory(crate::SharedMemory::from_arc(&s.engine, arc)),
                None => Extern::Memory(Memory(s.memory_for_ptr(m))),
            }
        }
        ExternKind::Table => {
            let t = raw.table(TableIndex(e.index));
            Extern::Table(Table(s.table_for_ptr(t)))
        }
        ExternKind::Global => {
            let g = raw.global(GlobalIndex(e.index));
            let ty = module.canonical_global(module.info.globals[e.index as usize]);
            Extern::Global(Global(s.global_for_ptr(g, ty)))
        }
        ExternKind::Tag => {
            let t = raw.tag(e.index);
            Extern::Tag(crate::Tag(s.tag_for_ptr(t)))
        }
    })
}

/// # Safety
/// `store` must be the `opaque` part of the pointer handed down by
/// `StoreInner::enter`, not otherwise borrowed.
unsafe fn instantiate(
    store: *mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance> {
    // SAFETY: per the contract; this borrow ends before the start function
    // runs (host functions it calls borrow the store then).
    let s = unsafe { &mut *store };
    if !crate::Engine::same(module.engine(), &s.engine) {
        bail!("cannot instantiate a module compiled by another engine");
    }
    let compiled = module.compiled().clone();
    if compiled.lazy().is_some_and(|l| l.uses_quick_tier()) {
        s.stack_scale = crate::store::QUICK_STACK_SCALE;
    }
    let info = &compiled.info;
    if imports.len() != info.imports.len() {
        bail!(
            "the module expects {} imports, {} were given",
            info.imports.len(),
            imports.len()
        );
    }
    let mut raw = Imports::default();
    for (import, ext) in info.imports.iter().zip(imports) {
        if !ext.usable_in(s) {
            bail!(
                "cannot instantiate with an item of another store (or a shared memory of another engine): the import `{}::{}`",
                import.module,
                import.name
            );
        }
        let mismatch = |actual: ExternType| {
            // (An exact import wants that type itself, not a subtype.)
            let exactly = if matches!(import.kind, ImportKind::ExactFunc(_)) {
                "exactly "
            } else {
                ""
            };
            anyhow!(
                "incompatible import type for `{}::{}`: expected {exactly}{}, found {}",
                import.module,
                import.name,
                ExternType::of_import(&import.kind, &compiled),
                actual
            )
        };
        match (&import.kind, ext) {
            (ImportKind::Func(t) | ImportKind::ExactFunc(t), Extern::Func(f)) => {
                let data = &s.funcs[s.check(f.0)];
                // The function's type or (GC) a declared subtype of it; an
                // exact import, that type itself.
                let expected = compiled.type_ids[t.index()];
                let matches = if matches!(import.kind, ImportKind::ExactFunc(_)) {
                    data.type_id == expected
                } else {
                    s.engine.inner().types.is_subtype(data.type_id, expected)
                };
                if !matches {
                    return Err(mismatch(ExternType::Func(data.ty.clone())));
                }
                raw.funcs.push(data.funcref);
            }
            (ImportKind::Table(t), Extern::Table(tab)) => {
                let i = s.check(tab.0);
                let actual = s.table(i).ty();
                if !table_matches(&actual, &compiled.canonical_table(*t)) {
                    return Err(mismatch(ExternType::Table(actual)));
                }
                raw.tables.push(s.tables[i]);
            }
            (ImportKind::Memory(m), Extern::Memory(mem)) => {
                let i = s.check(mem.0);
                let actual = s.memory(i).ty();
                if !memory_matches(&actual, m) {
                    return Err(mismatch(ExternType::Memory(actual)));
                }
                raw.memories.push(s.memories[i]);
            }
            (ImportKind::Memory(m), Extern::SharedMemory(shared)) => {
                // Compiled code trusts the memory's bounds style (guard
                // pages or checks), which is the engine's.
                if !crate::Engine::same(shared.engine(), &s.engine) {
                    bail!(
                        "cannot import a shared memory of another engine as `{}::{}`",
                        import.module,
                        import.name
                    );
                }
                let actual = shared.ty();
                if !memory_matches(&actual, m) {
                    return Err(mismatch(ExternType::Memory(actual)));
                }
                raw.memories.push(s.keep_shared_memory(shared.memory()));
            }
            (ImportKind::Tag(t), Extern::Tag(tag)) => {
                let data = &s.tags[s.check(tag.0)];
                if data.type_id != compiled.type_ids[t.index()] {
                    return Err(mismatch(ExternType::Tag(data.ty.clone())));
                }
                raw.tags.push(data.ptr);
            }
            (ImportKind::Global(g), Extern::Global(glob)) => {
                let data = &s.globals[s.check(glob.0)];
                if !global_matches(
                    &data.ty,
                    &compiled.canonical_global(*g),
                    &s.engine.inner().types,
                ) {
                    return Err(mismatch(ExternType::Global(data.ty)));
                }
                raw.globals.push(data.ptr);
            }
            (_, other) => {
                return Err(mismatch(other.ty_in(s)));
            }
        }
    }
    let defined_memories = info.memories.len() - info.num_imported_memories as usize;
    let defined_tables = info.tables.len() - info.num_imported_tables as usize;
    let counts = [
        (
            ResourceKind::Instances,
            s.instances.len(),
            1,
            "instances",
            crate::DEFAULT_INSTANCE_LIMIT,
        ),
        (
            ResourceKind::Memories,
            s.memory_count(),
            defined_memories,
            "memories",
            crate::DEFAULT_MEMORY_LIMIT,
        ),
        (
            ResourceKind::Tables,
            s.table_count(),
            defined_tables,
            "tables",
            crate::DEFAULT_TABLE_LIMIT,
        ),
    ];
    for (kind, current, more, what, default) in counts {
        if more == 0 {
            continue;
        }
        // Without a limiter, the trait's default counts hold (as in
        // Wasmtime).
        let allowed = if s.limits.growth.is_some() {
            s.limits
                .allows(kind, current, current + more, None)
                .map_err(host_error)?
        } else {
            current + more <= default
        };
        if !allowed {
            bail!("cannot instantiate: the store's limit on {what} was reached");
        }
    }
    // Each defined memory's and table's initial size, as growing from
    // nothing.
    for ty in &info.memories[info.num_imported_memories as usize..] {
        let page = ty.page_size();
        let bytes = usize::try_from(ty.minimum.saturating_mul(page)).unwrap_or(usize::MAX);
        let max = ty.maximum.map(|m| m.saturating_mul(page) as usize);
        if !s
            .limits
            .allows(ResourceKind::Memory, 0, bytes, max)
            .map_err(host_error)?
        {
            bail!("cannot instantiate: a memory of {bytes} bytes exceeds the store's limits");
        }
    }
    for ty in &info.tables[info.num_imported_tables as usize..] {
        let min = usize::try_from(ty.minimum).unwrap_or(usize::MAX);
        let max = ty.maximum.map(|m| m as usize);
        if !s
            .limits
            .allows(ResourceKind::Table, 0, min, max)
            .map_err(host_error)?
        {
            bail!("cannot instantiate: a table of {min} elements exceeds the store's limits");
        }
    }
    let config = s.engine.config();
    let caps = InstanceLimits {
        memory_pages: config.max_memory_pages,
        table_elements: config.max_table_elements,
        reservation: s.engine.reservation(),
    };
    let limits = s.limits.as_ptr();
    // SAFETY: every import was checked to belong to this store (`check`) and
    // to have the type the module expects; the store owns them and the
    // instance, and `limits` outlives both.
    let mut inst =
        unsafe { RawInstance::new(compiled.clone(), raw, limits, caps) }.map_err(|e| match e {
            wasm_jit_backend::InstanceError::Trap(reason) => {
                crate::trap::into_error(wasm_jit_backend::Trap {
                    reason,
                    frames: Vec::new(),
                })
            }
            wasm_jit_backend::InstanceError::Resource(e) => anyhow!("cannot instantiate: {e}"),
        })?;
    let vmctx = inst.vmctx() as usize;
    let init = inst.initialize();
    // The instance is kept even if initialisation traps: segments written
    // into imported tables may refer to its functions.
    s.instances.push(inst);
    let index = s.instances.len() - 1;
    s.instance_by_vmctx.insert(vmctx, index);
    let instance = Instance(s.stored(index));
    init.map_err(|kind| anyhow::Error::new(crate::Trap::from(kind)))?;
    if let Some(start) = info.start {
        let f = s.instances[index].func(start);
        let ty = info.func_type(start).clone();
        let mut vals = [wasm_jit_backend::ValRaw::default()];
        let trampoline = s.engine.array_trampoline(&ty)?;
        // SAFETY: `s` is not used from here on; `store` is as `enter` handed
        // it down.
        unsafe { call_raw(store, f, trampoline, &mut vals, &[]) }?;
    }
    Ok(instance)
}
