//! The back of the pipeline: Cranelift IR to machine code in executable
//! memory, and the runtime that code runs in.
//!
//! - [`compile`]: Cranelift code generation for functions and trampolines.
//! - [`code`]: executable memory, linking, and the pc → trap registry.
//! - [`module`]: a compiled module, the type registry, trampoline cache.
//! - [`lazy`]: compiling functions on first call and in the background.
//! - [`instance`]: instances, their context, and the builtins.
//! - [`memory`]: linear memory reservations and guard pages.
//! - [`vm`]: structures compiled code reads (layout from the frontend).
//! - [`traps`]: entering Wasm and getting traps back.
//! - [`profiling`]: perf map and jitdump files for profilers.
//! - `sys`: the platform code (signal handlers, the C jump helper).
//!
//! `unsafe` is confined to `code`, `memory`, `vm`, `instance`, `traps`,
//! `module` (trampoline pointers), `lazy` (writing code into fresh arena
//! memory, freeing it), `profiling` (the jitdump marker mapping,
//! the clock) and `sys`.

pub mod artifact;
pub mod code;
pub mod compile;
pub mod exceptions;
pub mod gc;
pub mod instance;
pub mod lazy;
pub mod memory;
pub mod module;
pub mod profiling;
mod sys;
pub mod traps;
pub mod vm;

pub use code::FrameInfo;
pub use compile::{CompiledFunction, Compiler, CompilerOptions};
pub use instance::{Imports, Instance, InstanceError, InstanceLimits, grow_memory, grow_table};
pub use memory::{LinearMemory, MemoryImage, Reservation, WaitError, WaitOutcome};
pub use module::{CompiledModule, ModuleOptions, Trampolines, TypeRegistry};
pub use traps::{ArrayTrampoline, Trap, TrapReason, call_wasm, set_pending};
pub use vm::{
    Growth, GrowthFn, HostError, ResourceKind, Table, VMFuncRef, VMGlobal, VMLimits, VMTag, ValRaw,
};
