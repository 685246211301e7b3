//! Name-based linking of imports.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::Engine;
use crate::externals::Extern;
use crate::func::{Func, HostFn};
use crate::instance::Instance;
use crate::module::Module;
use crate::store::{AsContext, AsContextMut, Caller};
use crate::typed::IntoFunc;
use crate::types::{ExternType, FuncType, ValType};
use crate::values::Val;
use wasm_jit_frontend::module::ImportKind;

enum Definition<T: 'static> {
    Extern(Extern),
    /// A host function not yet placed in a store: created in the store at
    /// instantiation, so one linker serves many stores.
    HostFunc(FuncType, Arc<HostFn<T>>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(e.clone()),
            Definition::HostFunc(t, f) => Definition::HostFunc(t.clone(), f.clone()),
        }
    }
}

impl<T: 'static> Definition<T> {
    /// The item, a host function placed in `store` first.
    fn place(&self, mut store: impl AsContextMut<Data = T>) -> Result<Extern> {
        Ok(match self {
            Definition::Extern(e) => {
                if !e.usable_in(&store.as_context().0.opaque) {
                    bail!("cannot instantiate with an item defined in another store");
                }
                e.clone()
            }
            Definition::HostFunc(ty, f) => {
                let ctx = store.as_context_mut();
                Extern::Func(Func::from_arc(ctx.0, ty.clone(), f.clone())?)
            }
        })
    }
}

/// Whether a command may export `name` besides its functions without
/// [`Linker::allow_unknown_exports`]: what C, Rust and AssemblyScript
/// toolchains export (the memory, the function table, the heap's bounds,
/// AssemblyScript's type information).
fn known_command_export(name: &str, ty: &crate::types::ExternType) -> bool {
    use crate::types::ExternType;
    match ty {
        ExternType::Memory(_) => name == "memory",
        ExternType::Table(_) => name == "__indirect_function_table" || name == "table",
        ExternType::Global(_) => matches!(
            name,
            "__data_end" | "__heap_base" | "__dso_handle" | "__rtti_base"
        ),
        _ => false,
    }
}

/// Resolves a module's imports by module and field name.
pub struct Linker<T: 'static> {
    engine: Engine,
    defs: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
    allow_unknown_exports: bool,
}

impl<T: 'static> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Linker {
            engine: self.engine.clone(),
            defs: self.defs.clone(),
            allow_shadowing: self.allow_shadowing,
            allow_unknown_exports: self.allow_unknown_exports,
        }
    }
}

impl<T: 'static> std::fmt::Debug for Linker<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linker")
            .field("definitions", &self.defs.len())
            .finish()
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker.
    pub fn new(engine: &Engine) -> Linker<T> {
        Linker {
            engine: engine.clone(),
            defs: HashMap::new(),
            allow_shadowing: false,
            allow_unknown_exports: false,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a later definition may replace an earlier one of the same name.
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    /// Whether [`Linker::module`] accepts a command (a module exporting
    /// `_start`) that exports something other than functions beyond what
    /// toolchains add (a memory `memory`, a table `__indirect_function_table`
    /// or `table`, globals `__data_end`, `__heap_base`, `__dso_handle`,
    /// `__rtti_base`). Off
    /// by default, as in Wasmtime: such a command is refused. Either way
    /// only its functions are defined.
    pub fn allow_unknown_exports(&mut self, allow: bool) -> &mut Self {
        self.allow_unknown_exports = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<()> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.defs.contains_key(&key) {
            bail!("import `{module}::{name}` is already defined");
        }
        self.defs.insert(key, def);
        Ok(())
    }

    /// Defines `module::name` as `item`, which belongs to `store` (as in
    /// Wasmtime, whose `define` takes the store too).
    pub fn define(
        &mut self,
        store: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        let item = item.into();
        if !item.usable_in(&store.as_context().0.opaque) {
            bail!(
                "cannot define `{module}::{name}`: the item belongs to another store (or, a shared memory, engine)"
            );
        }
        self.insert(module, name, Definition::Extern(item))?;
        Ok(self)
    }

    /// Defines `module::name` as a host function of type `ty`.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::HostFunc(ty, Arc::new(f)))?;
        Ok(self)
    }

    /// Defines `module::name` as a host function written as a Rust closure,
    /// its Wasm type taken from the closure's parameter and result types.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, f) = f.into_host_fn();
        self.insert(module, name, Definition::HostFunc(ty, f))?;
        Ok(self)
    }

    /// Defines every export of `instance` under the module name `module`.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        for export in instance.exports(&mut store) {
            let name = export.name().to_string();
            self.insert(module, &name, Definition::Extern(export.into_extern()))?;
        }
        Ok(self)
    }

    /// The item defined as `module::name`, placing a host function in
    /// `store` if that is what it is.
    /// `None` when nothing is defined under that name (or a host function
    /// could not be placed; [`Linker::instantiate`] reports why).
    pub fn get(
        &self,
        store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        self.resolve(store, module, name).ok().flatten()
    }

    /// Like [`Linker::get`], with the error if a host function could not be
    /// placed in the store.
    fn resolve(
        &self,
        store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Result<Option<Extern>> {
        let Some(def) = self.defs.get(&(module.to_string(), name.to_string())) else {
            return Ok(None);
        };
        def.place(store).map(Some)
    }

    /// Defines `as_module::as_name` as whatever `module::name` is.
    pub fn alias(
        &mut self,
        module: &str,
        name: &str,
        as_module: &str,
        as_name: &str,
    ) -> Result<&mut Self> {
        let Some(def) = self
            .defs
            .get(&(module.to_string(), name.to_string()))
            .cloned()
        else {
            bail!("`{module}::{name}` has not been defined");
        };
        self.insert(as_module, as_name, def)?;
        Ok(self)
    }

    /// Defines under `as_module` every name defined under `module` (each
    /// as [`Linker::alias`] would). Unless shadowing is allowed, a name
    /// already defined under `as_module` is an error, and then none of the
    /// names is defined.
    pub fn alias_module(&mut self, module: &str, as_module: &str) -> Result<&mut Self> {
        let mut names: Vec<(String, Definition<T>)> = self
            .defs
            .iter()
            .filter(|((m, _), _)| m == module)
            .map(|((_, n), d)| (n.clone(), d.clone()))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        if !self.allow_shadowing
            && let Some((name, _)) = names
                .iter()
                .find(|(n, _)| self.defs.contains_key(&(as_module.to_string(), n.clone())))
        {
            bail!("import `{as_module}::{name}` is already defined");
        }
        for (name, def) in names {
            self.insert(as_module, &name, def)?;
        }
        Ok(self)
    }

    /// The item that would satisfy `import` (as [`Linker::get`] of its
    /// module and name: `None` also for an item of another store, or a host
    /// function that could not be placed).
    pub fn get_by_import(
        &self,
        store: impl AsContextMut<Data = T>,
        import: &crate::ImportType<'_>,
    ) -> Option<Extern> {
        self.get(store, import.module(), import.name())
    }

    /// Every definition as (module, name, item), sorted by module and name.
    /// Each host function is placed in `store` anew, on every call (as in
    /// Wasmtime); one that could not be placed, and an item of another
    /// store, are left out ([`Linker::instantiate`] reports why).
    pub fn iter<'a>(
        &'a self,
        mut store: impl AsContextMut<Data = T>,
    ) -> std::vec::IntoIter<(&'a str, &'a str, Extern)> {
        let mut keys: Vec<&'a (String, String)> = self.defs.keys().collect();
        keys.sort();
        let items: Vec<_> = keys
            .into_iter()
            .filter_map(|(m, n)| {
                let item = self.get(&mut store, m, n)?;
                Some((m.as_str(), n.as_str(), item))
            })
            .collect();
        items.into_iter()
    }

    /// Defines the exports of `module` under `module_name`, as Wasmtime
    /// does for WASI modules: a *command* (a module that exports the
    /// function `_start`) gets a fresh instance for each call of each of
    /// its function exports (other exports are not defined; the instance's
    /// imports are resolved with the definitions this linker has now, and
    /// each call's instance stays in the store until it drops); any other
    /// module (a *reactor*) is instantiated now, its `_initialize` export
    /// called if it has one, and its exports defined (as
    /// [`Linker::instance`]). A module that exports both, or a `_start`
    /// that is not a function, or whose imports are not all defined, is an
    /// error, and so is a command with an export that is neither a function
    /// nor one toolchains add (see [`Linker::allow_unknown_exports`]).
    pub fn module(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        module: &Module,
    ) -> Result<&mut Self> {
        use crate::types::ExternType;
        let export = |name: &str| module.get_export(name);
        let is_command = match (export("_start"), export("_initialize")) {
            (Some(_), Some(_)) => bail!("a module cannot be both a command and a reactor"),
            (Some(ExternType::Func(_)), None) => true,
            (Some(_), None) => bail!("the `_start` export must be a function"),
            (None, _) => false,
        };
        // Missing imports are found now, not at the first call.
        for import in module.imports() {
            if !self
                .defs
                .contains_key(&(import.module().to_string(), import.name().to_string()))
            {
                return Err(undefined(import.module(), import.name()));
            }
        }
        if !is_command {
            let instance = self.instantiate(&mut store, module)?;
            if let Some(init) = instance.get_func(&mut store, "_initialize") {
                init.call(&mut store, &[], &mut [])?;
            }
            return self.instance(store, module_name, instance);
        }
        // A command's other exports are not defined (each call has a fresh
        // instance, with its own memory). Those toolchains add are known;
        // any other is refused unless allowed, as in Wasmtime.
        let mut exports: Vec<(String, FuncType)> = Vec::new();
        for e in module.exports() {
            match e.ty() {
                ExternType::Func(ty) => exports.push((e.name().to_string(), ty)),
                ty if self.allow_unknown_exports || known_command_export(e.name(), &ty) => {}
                _ => bail!(
                    "command export `{}` is not a function (see Linker::allow_unknown_exports)",
                    e.name()
                ),
            }
        }
        for (name, ty) in exports {
            // The definitions as they are now (those the command imports).
            let linker = self.clone();
            let module = module.clone();
            let export = name.clone();
            self.func_new(
                module_name,
                &name,
                ty,
                move |mut caller, params, results| {
                    let instance = linker.instantiate(&mut caller, &module)?;
                    let f = instance
                        .get_func(&mut caller, &export)
                        .expect("the module exports it");
                    f.call(&mut caller, params, results)
                },
            )?;
        }
        Ok(self)
    }

    /// The default function of the module defined as `module` (by
    /// [`Linker::module`]): its export named `""`, else `_start`, else a
    /// function that does nothing.
    pub fn get_default(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
    ) -> Result<Func> {
        for name in ["", "_start"] {
            if let Some(e) = self.resolve(&mut store, module, name)? {
                return e
                    .into_func()
                    .ok_or_else(|| anyhow::anyhow!("`{module}::{name}` is not a function"));
            }
        }
        Ok(Func::wrap(&mut store, || {}))
    }

    /// Defines each function `module` imports that nothing here defines as
    /// a host function that fails when called ("unknown import: ... has not
    /// been defined"), so the module instantiates and runs until it calls
    /// one. Imports of other kinds stay undefined.
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<()> {
        for (m, n, ty) in self.unknown_func_imports(module) {
            self.func_new(&m.clone(), &n.clone(), ty, move |_, _, _| {
                Err(undefined(&m, &n))
            })?;
        }
        Ok(())
    }

    /// Defines each function `module` imports that nothing here defines as
    /// a host function that ignores its arguments and returns zeros and
    /// nulls. Fails for a function returning a non-nullable reference,
    /// which has no default.
    pub fn define_unknown_imports_as_default_values(&mut self, module: &Module) -> Result<()> {
        for (m, n, ty) in self.unknown_func_imports(module) {
            if let Some(r) = ty
                .result_types()
                .iter()
                .find(|r| matches!(r, ValType::Ref(r) if !r.nullable))
            {
                bail!(
                    "cannot define `{m}::{n}` with default values: its result type {r} has no default"
                );
            }
            let results: Vec<Val> = ty
                .result_types()
                .iter()
                .map(|t| Val::default_in(&self.engine, *t))
                .collect();
            self.func_new(&m, &n, ty, move |_, _, out| {
                out.clone_from_slice(&results);
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The function imports of `module` nothing here defines: module and
    /// field name, and type.
    /// (A name imported twice is listed once.)
    fn unknown_func_imports(&self, module: &Module) -> Vec<(String, String, FuncType)> {
        let mut seen = std::collections::HashSet::new();
        module
            .imports()
            .filter_map(|i| {
                let key = (i.module().to_string(), i.name().to_string());
                match i.ty() {
                    ExternType::Func(ty)
                        if !self.defs.contains_key(&key) && seen.insert(key.clone()) =>
                    {
                        Some((key.0, key.1, ty))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// Resolves `module`'s imports once, for many instantiations (in any
    /// store of this linker's data type): each import must be defined,
    /// and a host function's type must be the one imported. Items that
    /// belong to a store (from [`Linker::define`] or
    /// [`Linker::instance`]) are type-checked when instantiated, and only
    /// in that store (another store's item is an error, as in Wasmtime).
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre<T>> {
        if !Engine::same(&self.engine, module.engine()) {
            bail!("cannot link a module compiled by another engine");
        }
        let types = &self.engine.inner().types;
        let compiled = module.compiled();
        let mut defs = Vec::with_capacity(module.imports().len());
        for (import, raw) in module.imports().zip(&compiled.info.imports) {
            let key = (import.module().to_string(), import.name().to_string());
            let def = self
                .defs
                .get(&key)
                .ok_or_else(|| undefined(import.module(), import.name()))?;
            // A host function's type must be the imported one, as
            // instantiation checks it (the same canonical type).
            if let (Definition::HostFunc(ty, _), ImportKind::Func(t) | ImportKind::ExactFunc(t)) =
                (def, &raw.kind)
                && types.intern(ty.raw()) != compiled.type_ids[t.index()]
            {
                bail!(
                    "incompatible import type for `{}::{}`: expected {}, found {}",
                    import.module(),
                    import.name(),
                    import.ty(),
                    ExternType::Func(ty.clone())
                );
            }
            defs.push(def.clone());
        }
        Ok(InstancePre {
            module: module.clone(),
            defs: defs.into(),
        })
    }

    /// Instantiates `module`, resolving each import by name.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let mut imports = Vec::with_capacity(module.imports().len());
        for import in module.imports() {
            match self.resolve(&mut store, import.module(), import.name())? {
                Some(e) => imports.push(e),
                None => return Err(undefined(import.module(), import.name())),
            }
        }
        Instance::new(store, module, &imports)
    }
}

/// The error for an import nothing defines.
fn undefined(module: &str, name: &str) -> anyhow::Error {
    anyhow::anyhow!("unknown import: `{module}::{name}` has not been defined")
}

/// A module with its imports resolved by a [`Linker`]
/// ([`Linker::instantiate_pre`]), ready to be instantiated many times
/// without looking names up again.
pub struct InstancePre<T: 'static> {
    module: Module,
    defs: Arc<[Definition<T>]>,
}

impl<T: 'static> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        InstancePre {
            module: self.module.clone(),
            defs: self.defs.clone(),
        }
    }
}

impl<T: 'static> std::fmt::Debug for InstancePre<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstancePre")
            .field("imports", &self.defs.len())
            .finish()
    }
}

impl<T: 'static> InstancePre<T> {
    /// The module.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// A new instance of the module in `store`, with the resolved imports
    /// (host functions are placed in `store`; an item of another store is
    /// an error).
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance> {
        let imports = self
            .defs
            .iter()
            .map(|d| d.place(&mut store))
            .collect::<Result<Vec<_>>>()?;
        Instance::new(store, &self.module, &imports)
    }
}
