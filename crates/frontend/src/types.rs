//! Wasm types as the rest of the engine sees them: small, owned, hashable.

use std::fmt;

use crate::error::{FrontendError, unsupported};

/// A value type the engine can hold in a local, global, table or on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WasmType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 128-bit vector (SIMD).
    V128,
    /// Nullable reference to a function.
    FuncRef,
    /// Nullable reference to a host value.
    ExternRef,
}

impl WasmType {
    /// Converts a wasmparser value type, refusing the ones we do not run yet.
    pub(crate) fn from_wasmparser(ty: wasmparser::ValType) -> Result<Self, FrontendError> {
        Ok(match ty {
            wasmparser::ValType::I32 => WasmType::I32,
            wasmparser::ValType::I64 => WasmType::I64,
            wasmparser::ValType::F32 => WasmType::F32,
            wasmparser::ValType::F64 => WasmType::F64,
            wasmparser::ValType::V128 => WasmType::V128,
            wasmparser::ValType::Ref(r) => Self::from_ref_type(r)?,
        })
    }

    /// Converts a wasmparser reference type: only `funcref` and `externref` for now.
    pub(crate) fn from_ref_type(r: wasmparser::RefType) -> Result<Self, FrontendError> {
        if r == wasmparser::RefType::FUNCREF {
            Ok(WasmType::FuncRef)
        } else if r == wasmparser::RefType::EXTERNREF {
            Ok(WasmType::ExternRef)
        } else {
            let abs = r.as_non_null();
            let feature = if abs == wasmparser::RefType::EXN || abs == wasmparser::RefType::NOEXN {
                "exception handling"
            } else if r.is_concrete_type_ref()
                || r.is_func_ref()
                || r.is_extern_ref()
                || abs == wasmparser::RefType::NOFUNC
                || abs == wasmparser::RefType::NOEXTERN
            {
                "typed function references"
            } else {
                "GC"
            };
            Err(unsupported(format!("{feature} (reference type `{r}`)")))
        }
    }

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(self, WasmType::FuncRef | WasmType::ExternRef)
    }
}

impl fmt::Display for WasmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WasmType::I32 => "i32",
            WasmType::I64 => "i64",
            WasmType::F32 => "f32",
            WasmType::F64 => "f64",
            WasmType::V128 => "v128",
            WasmType::FuncRef => "funcref",
            WasmType::ExternRef => "externref",
        })
    }
}

/// A function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Box<[WasmType]>,
    results: Box<[WasmType]>,
}

impl FuncType {
    /// Builds a function type from its parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = WasmType>,
        results: impl IntoIterator<Item = WasmType>,
    ) -> Self {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// Parameter types.
    pub fn params(&self) -> &[WasmType] {
        &self.params
    }

    /// Result types.
    pub fn results(&self) -> &[WasmType] {
        &self.results
    }

    pub(crate) fn from_wasmparser(ty: &wasmparser::FuncType) -> Result<Self, FrontendError> {
        let params = ty
            .params()
            .iter()
            .map(|t| WasmType::from_wasmparser(*t))
            .collect::<Result<Vec<_>, _>>()?;
        let results = ty
            .results()
            .iter()
            .map(|t| WasmType::from_wasmparser(*t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FuncType::new(params, results))
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(func")?;
        if !self.params.is_empty() {
            write!(f, " (param")?;
            for p in self.params.iter() {
                write!(f, " {p}")?;
            }
            write!(f, ")")?;
        }
        if !self.results.is_empty() {
            write!(f, " (result")?;
            for r in self.results.iter() {
                write!(f, " {r}")?;
            }
            write!(f, ")")?;
        }
        write!(f, ")")
    }
}

/// Limits and element type of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    /// `FuncRef` or `ExternRef`.
    pub element: WasmType,
    /// Initial number of elements.
    pub minimum: u64,
    /// Maximum number of elements, if declared.
    pub maximum: Option<u64>,
    /// Indices are `i64` (memory64's 64-bit tables) instead of `i32`.
    pub table64: bool,
}

impl TableType {
    /// A table with 32-bit indices.
    pub fn new(element: WasmType, minimum: u64, maximum: Option<u64>) -> TableType {
        TableType {
            element,
            minimum,
            maximum,
            table64: false,
        }
    }
}

/// A linear memory's index type, page size and limits (in pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Initial size in pages.
    pub minimum: u64,
    /// Maximum size in pages, if declared.
    pub maximum: Option<u64>,
    /// Addresses are `i64` (memory64) instead of `i32`.
    pub memory64: bool,
    /// Log2 of the page size: 16 (64 KiB, the default) or 0 (one byte,
    /// custom page sizes).
    pub page_size_log2: u8,
}

impl MemoryType {
    /// A 32-bit memory with 64 KiB pages.
    pub fn new(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            memory64: false,
            page_size_log2: 16,
        }
    }

    /// A 64-bit memory (memory64) with 64 KiB pages.
    pub fn new64(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            memory64: true,
            ..MemoryType::new(minimum, maximum)
        }
    }

    /// Bytes per page.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }

    /// The most pages the index type can address: 4 GiB for `i32`, 2^64
    /// bytes (less one page) for `i64`.
    pub fn max_pages_by_index(&self) -> u64 {
        if self.memory64 {
            u64::MAX >> self.page_size_log2
        } else {
            (1u64 << 32) >> self.page_size_log2
        }
    }

    /// Whether accesses can rely on guard pages: a 32-bit index and 64 KiB
    /// pages (whole host pages). Other memories are always checked.
    pub fn guardable(&self) -> bool {
        !self.memory64 && self.page_size_log2 == 16
    }
}

/// Type and mutability of a global.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// Value type.
    pub content: WasmType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// Size of a Wasm page in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;
/// The largest number of pages a 32-bit memory can have (4 GiB).
pub const WASM32_MAX_PAGES: u64 = 65536;
