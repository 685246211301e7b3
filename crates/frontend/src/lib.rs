//! The front of the pipeline: bytes → validated module description →
//! Cranelift IR per function.
//!
//! - [`module`]: reading and validating a module with wasmparser, producing a
//!   [`ModuleInfo`] and the function bodies.
//! - [`vmoffsets`]: the per-instance context layout shared with the runtime.
//! - [`builtins`]: the one list of runtime functions compiled code calls.
//! - [`translate`]: Wasm operators to Cranelift IR.
//! - [`proposal`]: which proposal each operator belongs to (wasmparser's
//!   table), and which ones the translator implements.
//! - [`trap`]: trap kinds and their codes.

pub mod builtins;
pub mod error;
pub mod index;
pub mod module;
pub mod proposal;
pub mod translate;
pub mod trap;
pub mod types;
pub mod vmoffsets;

pub use error::{FrontendError, UnsupportedNotes, unsupported};
pub use index::{DefinedFuncIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TypeIndex};
pub use module::{ModuleInfo, ParsedModule, parse};
pub use trap::TrapKind;
pub use types::{
    Field, FuncType, GcShape, GlobalType, HeapType, Kind, MemoryType, RefType, Storage,
    StructLayout, TableType, WasmType,
};
pub use wasmparser::WasmFeatures;
