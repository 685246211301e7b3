//! Types of values and external items.

pub use wasm_jit_frontend::types::{
    GlobalType, HeapType, MemoryType, Mutability, RefType, TableType, WasmType as ValType,
};

use crate::Engine;

/// A function signature: its parameter and result types.
///
/// As in Wasmtime, [`FuncType::new`] takes the engine the type is for, and
/// [`params`](FuncType::params) and [`results`](FuncType::results) are
/// iterators of [`ValType`]s. (Types here are plain values, the same in
/// every engine: the engine is not kept.)
/// Its types are kept in one spelling (`funcref` and `(ref null func)` are
/// one type), so `==` agrees with the engine's own type equality.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FuncType(wasm_jit_frontend::types::FuncType);

impl FuncType {
    /// The function type with these parameter and result types, for use
    /// with `engine`.
    pub fn new(
        engine: &Engine,
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        let _ = engine;
        FuncType::of(params, results)
    }

    /// The function type with these parameter and result types.
    pub(crate) fn of(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType(wasm_jit_frontend::types::FuncType::new(
            params.into_iter().map(ValType::one_spelling),
            results.into_iter().map(ValType::one_spelling),
        ))
    }

    /// The parameter types, in order.
    pub fn params(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.0.params().iter().copied()
    }

    /// The result types, in order.
    pub fn results(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.0.results().iter().copied()
    }

    /// Parameter `i`'s type, if there is one.
    pub fn param(&self, i: usize) -> Option<ValType> {
        self.0.params().get(i).copied()
    }

    /// Result `i`'s type, if there is one.
    pub fn result(&self, i: usize) -> Option<ValType> {
        self.0.results().get(i).copied()
    }

    /// The parameter types as a slice.
    pub(crate) fn param_types(&self) -> &[ValType] {
        self.0.params()
    }

    /// The result types as a slice.
    pub(crate) fn result_types(&self) -> &[ValType] {
        self.0.results()
    }

    /// The translator's and runtime's form of this type.
    pub(crate) fn raw(&self) -> &wasm_jit_frontend::types::FuncType {
        &self.0
    }
}

impl From<wasm_jit_frontend::types::FuncType> for FuncType {
    fn from(ty: wasm_jit_frontend::types::FuncType) -> FuncType {
        FuncType::of(ty.params().iter().copied(), ty.results().iter().copied())
    }
}

impl std::fmt::Debug for FuncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FuncType")
            .field("params", &self.0.params())
            .field("results", &self.0.results())
            .finish()
    }
}

impl std::fmt::Display for FuncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The type of an importable or exportable item.
#[derive(Clone, Debug, PartialEq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// An exception tag: its payload is the parameters of this function
    /// type (which has no results).
    Tag(FuncType),
}

impl ExternType {
    /// The type of an import as the module declares it.
    pub(crate) fn of_import(
        kind: &wasm_jit_frontend::module::ImportKind,
        module: &wasm_jit_backend::CompiledModule,
    ) -> ExternType {
        use wasm_jit_frontend::module::ImportKind;
        match kind {
            ImportKind::Func(t) | ImportKind::ExactFunc(t) => {
                ExternType::Func(module.canonical_func_type(t.index()).into())
            }
            ImportKind::Table(t) => ExternType::Table(module.canonical_table(*t)),
            ImportKind::Memory(m) => ExternType::Memory(*m),
            ImportKind::Global(g) => ExternType::Global(module.canonical_global(*g)),
            ImportKind::Tag(t) => ExternType::Tag(module.canonical_func_type(t.index()).into()),
        }
    }

    /// The function type, if this is a function.
    pub fn func(&self) -> Option<&FuncType> {
        match self {
            ExternType::Func(t) => Some(t),
            _ => None,
        }
    }

    /// The table type, if this is a table.
    pub fn table(&self) -> Option<&TableType> {
        match self {
            ExternType::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The memory type, if this is a memory.
    pub fn memory(&self) -> Option<&MemoryType> {
        match self {
            ExternType::Memory(t) => Some(t),
            _ => None,
        }
    }

    /// The global type, if this is a global.
    pub fn global(&self) -> Option<&GlobalType> {
        match self {
            ExternType::Global(t) => Some(t),
            _ => None,
        }
    }

    /// The payload's function type, if this is a tag.
    pub fn tag(&self) -> Option<&FuncType> {
        match self {
            ExternType::Tag(t) => Some(t),
            _ => None,
        }
    }

    /// The function type; panics if this is not a function's.
    pub fn unwrap_func(&self) -> &FuncType {
        self.func()
            .unwrap_or_else(|| panic!("not a function type: {self}"))
    }

    /// The table type; panics if this is not a table's.
    pub fn unwrap_table(&self) -> &TableType {
        self.table()
            .unwrap_or_else(|| panic!("not a table type: {self}"))
    }

    /// The memory type; panics if this is not a memory's.
    pub fn unwrap_memory(&self) -> &MemoryType {
        self.memory()
            .unwrap_or_else(|| panic!("not a memory type: {self}"))
    }

    /// The global type; panics if this is not a global's.
    pub fn unwrap_global(&self) -> &GlobalType {
        self.global()
            .unwrap_or_else(|| panic!("not a global type: {self}"))
    }

    /// A short name of the kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            ExternType::Func(_) => "function",
            ExternType::Table(_) => "table",
            ExternType::Memory(_) => "memory",
            ExternType::Global(_) => "global",
            ExternType::Tag(_) => "tag",
        }
    }
}

impl From<FuncType> for ExternType {
    fn from(ty: FuncType) -> ExternType {
        ExternType::Func(ty)
    }
}

impl From<TableType> for ExternType {
    fn from(ty: TableType) -> ExternType {
        ExternType::Table(ty)
    }
}

impl From<MemoryType> for ExternType {
    fn from(ty: MemoryType) -> ExternType {
        ExternType::Memory(ty)
    }
}

impl From<GlobalType> for ExternType {
    fn from(ty: GlobalType) -> ExternType {
        ExternType::Global(ty)
    }
}

impl std::fmt::Display for ExternType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExternType::Func(t) => write!(f, "function {t}"),
            ExternType::Table(t) => write!(f, "table {t:?}"),
            ExternType::Memory(m) => write!(f, "memory {m:?}"),
            ExternType::Global(g) => write!(f, "global {g:?}"),
            ExternType::Tag(t) => write!(f, "tag {t}"),
        }
    }
}

/// Builds a [`MemoryType`] with every setting, checked, as Wasmtime's: 0
/// pages, no maximum, 32-bit addresses, 64 KiB pages and not shared unless
/// set otherwise.
#[derive(Clone, Debug)]
pub struct MemoryTypeBuilder {
    ty: MemoryType,
}

impl Default for MemoryTypeBuilder {
    fn default() -> MemoryTypeBuilder {
        MemoryTypeBuilder {
            ty: MemoryType::new(0, None),
        }
    }
}

impl MemoryTypeBuilder {
    /// The defaults: 0 pages, no maximum, 32-bit, 64 KiB pages, not shared.
    pub fn new() -> MemoryTypeBuilder {
        MemoryTypeBuilder::default()
    }

    /// The initial size, in pages.
    pub fn min(&mut self, minimum: u64) -> &mut Self {
        self.ty.minimum = minimum;
        self
    }

    /// The maximum size, in pages (`None`: as large as the index type
    /// allows).
    pub fn max(&mut self, maximum: Option<u64>) -> &mut Self {
        self.ty.maximum = maximum;
        self
    }

    /// 64-bit addresses (memory64).
    pub fn memory64(&mut self, memory64: bool) -> &mut Self {
        self.ty.memory64 = memory64;
        self
    }

    /// Shared between threads (it then needs a maximum).
    pub fn shared(&mut self, shared: bool) -> &mut Self {
        self.ty.shared = shared;
        self
    }

    /// Log2 of the page size: 16 (64 KiB, the default) or 0 (one byte,
    /// custom page sizes).
    pub fn page_size_log2(&mut self, page_size_log2: u8) -> &mut Self {
        self.ty.page_size_log2 = page_size_log2;
        self
    }

    /// The memory type; an error when the settings do not make a valid
    /// one (a page size other than 1 byte or 64 KiB, a minimum above the
    /// maximum or above what the index type can address, a shared memory
    /// without a maximum).
    pub fn build(&self) -> anyhow::Result<MemoryType> {
        let ty = self.ty;
        if !matches!(ty.page_size_log2, 0 | 16) {
            anyhow::bail!(
                "invalid memory type: a page size of 2^{} bytes (only 1 byte and 64 KiB pages are supported)",
                ty.page_size_log2
            );
        }
        let limit = ty.max_pages_by_index();
        let bits = if ty.memory64 { 64 } else { 32 };
        for (what, pages) in [("minimum", Some(ty.minimum)), ("maximum", ty.maximum)] {
            if let Some(pages) = pages.filter(|&p| p > limit) {
                anyhow::bail!(
                    "invalid memory type: {what} of {pages} pages is more than a {bits}-bit memory of {}-byte pages can address ({limit} pages)",
                    ty.page_size()
                );
            }
        }
        if let Some(max) = ty.maximum.filter(|&max| max < ty.minimum) {
            anyhow::bail!(
                "invalid memory type: minimum of {} pages is above the maximum of {max}",
                ty.minimum
            );
        }
        if ty.shared && ty.maximum.is_none() {
            anyhow::bail!("invalid memory type: a shared memory must have a maximum size");
        }
        Ok(ty)
    }
}
