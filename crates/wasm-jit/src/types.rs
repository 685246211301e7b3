//! Types of values and external items.

pub use wasm_jit_frontend::types::{
    FuncType, GlobalType, HeapType, MemoryType, Mutability, RefType, TableType, WasmType as ValType,
};

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
                ExternType::Func(module.canonical_func_type(t.index()))
            }
            ImportKind::Table(t) => ExternType::Table(module.canonical_table(*t)),
            ImportKind::Memory(m) => ExternType::Memory(*m),
            ImportKind::Global(g) => ExternType::Global(module.canonical_global(*g)),
            ImportKind::Tag(t) => ExternType::Tag(module.canonical_func_type(t.index())),
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
