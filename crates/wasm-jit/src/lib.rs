//! wasm-jit: a WebAssembly engine that compiles Wasm to native code with
//! Cranelift.
//!
//! The API follows Wasmtime's: an [`Engine`] compiles [`Module`]s; a
//! [`Store`] owns instances and the embedder's data; a [`Linker`] resolves
//! imports by name; [`Func::call`] runs Wasm, and traps come back as errors
//! that downcast to [`Trap`].
//!
//! ```
//! use wasm_jit::{Engine, Module, Store, Linker, Val};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module (func (export "add") (param i32 i32) (result i32)
//!     local.get 0 local.get 1 i32.add))"#)?;
//! let mut store = Store::new(&engine, ());
//! let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
//! let add = instance.get_func(&mut store, "add").unwrap();
//! let mut out = [Val::I32(0)];
//! add.call(&mut store, &[Val::I32(2), Val::I32(3)], &mut out)?;
//! assert_eq!(out[0], Val::I32(5));
//! # Ok::<(), anyhow::Error>(())
//! ```

#![deny(missing_docs)]

mod cache;
mod config;
mod engine;
mod externals;
mod func;
mod gc_refs;
mod instance;
mod limits;
mod linker;
mod module;
mod shared_memory;
mod store;
mod trap;
mod typed;
mod types;
mod values;

pub use cache::{Cache, CacheConfig, NoCacheDirectory};
pub use config::{
    Collector, CompilationMode, Config, FirstTier, OptLevel, Profiler, ProfilingStrategy,
    RegallocAlgorithm, Strategy, WasmBacktraceDetails,
};
pub use engine::{Engine, EngineWeak, Precompiled};
pub use externals::{Extern, Global, Memory, MemoryAccessError, Table, Tag};
pub use func::Func;
pub use gc_refs::{
    ArrayRef, ArrayType, FieldType, GcHeapOutOfMemory, StorageType, StructRef, StructType,
};
pub use instance::{Export, Instance};
pub use limits::{
    DEFAULT_INSTANCE_LIMIT, DEFAULT_MEMORY_LIMIT, DEFAULT_TABLE_LIMIT, ResourceLimiter,
    StoreLimits, StoreLimitsBuilder,
};
pub use linker::{InstancePre, Linker};
pub use module::{ExportType, ImportType, Module};
pub use shared_memory::{SharedMemory, WaitResult};
pub use store::{
    AsContext, AsContextMut, CallHook, Caller, Store, StoreContext, StoreContextMut, UpdateDeadline,
};
pub use trap::{Exception, FrameInfo, Trap, WasmBacktrace};
pub use typed::{HostReturn, IntoFunc, MAX_TYPED, TypedFunc, WasmList, WasmTy, WithCaller};
pub use types::{
    ExternType, FuncType, GlobalType, HeapType, MemoryType, MemoryTypeBuilder, Mutability, RefType,
    TableType, ValType,
};
pub use values::{AnyRef, ExnRef, ExternRef, I31, V128, Val};
/// Feature flags of the Wasm standard and its proposals, for
/// [`Config::wasm_features`]: wasmparser's own type, re-exported on purpose
/// (wasmparser validates every module), so its flags and their names are
/// exactly the validator's.
pub use wasmparser::WasmFeatures;

/// Result type of the API.
pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;

/// Error type of the API (`anyhow`'s, as in Wasmtime): downcast it to
/// [`Trap`], [`WasmBacktrace`] or a host function's own error.
pub use anyhow::Error;
/// Error macros, as Wasmtime exports them: they make an [`Error`].
pub use anyhow::{bail, ensure, format_err};

/// The error type and its helpers, where Wasmtime's `wasmtime::error`
/// module has them (`Context` for `.context(..)` on results, and `Ok`).
pub mod error {
    pub use anyhow::{Chain, Context, Error, Ok, Result, anyhow, bail, ensure, format_err};
}
