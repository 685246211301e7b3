//! The front of the pipeline: bytes → validated module description →
//! Cranelift IR per function.
//!
//! - [`module`]: reading and validating a module with wasmparser, producing a
//!   [`ModuleInfo`] and the function bodies.
//! - [`vmoffsets`]: the per-instance context layout shared with the runtime.
//! - [`translate`]: Wasm operators to Cranelift IR.
//! - [`trap`]: trap kinds and their codes.

pub mod error;
pub mod module;
pub mod translate;
pub mod trap;
pub mod types;
pub mod vmoffsets;

pub use error::{FrontendError, unsupported};
pub use module::{ModuleInfo, ParsedModule, parse};
pub use trap::TrapKind;
pub use types::{FuncType, GlobalType, MemoryType, TableType, WasmType};
pub use wasmparser::WasmFeatures;
