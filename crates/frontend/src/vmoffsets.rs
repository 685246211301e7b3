//! The layout of the per-instance context (`VMContext`) and of the small
//! runtime structures compiled code reads. Both the translator and the
//! runtime take every offset from here, so they cannot disagree.
//!
//! ```text
//! VMContext (all slots pointer-sized; offsets for 64-bit targets)
//!   +0   instance     *mut Instance        (runtime back-pointer, used by builtins)
//!   +8   builtins     *const [fn; N]       (table of runtime functions, see `Builtin`)
//!   +16  limits       *mut VMLimits        (stack limit, epoch deadline; one per store)
//!   +24  func slots   *const [AtomicPtr; N] (lazy compilation: code of each defined
//!                                          function, null until compiled; one per module;
//!                                          then a pointer to N u64 heat counters)
//!   +32  type ids   *const [u32; num_types] (the engine's canonical id of each module
//!                                          type; one per module)
//!   +40  memory bases [*mut u8; num_memories] (each memory's base address, for
//!                                          memories that never move: guarded ones;
//!                                          first, so that offsets stay small)
//!   ...  memories     [*mut VMMemoryDefinition; num_memories]
//!   ...  tables       [*mut VMTableDefinition; num_tables]
//!   ...  globals      [*mut VMGlobal; num_globals]
//!   ...  funcrefs     [*const VMFuncRef; num_funcs]
//!   ...  tags         [*const VMTag; num_tags]  (a tag's address is its identity)
//! ```
//!
//! Every memory, table, global and function is reached through a pointer, so
//! imported and defined items look alike to compiled code, and one compiled
//! module serves any number of instances. A memory that never moves (the
//! guarded style reserves 4 GiB up front) also has its base address copied
//! into the context, so an access costs one load of it instead of two.

use crate::index::{FuncIndex, GlobalIndex, MemoryIndex, TableIndex};
use crate::module::ModuleInfo;

/// Size of a pointer on the target, in bytes. The engine targets 64-bit
/// hosts only (x86-64, aarch64; `Compiler::new` refuses others), and the
/// runtime checks every offset here against its own structures with
/// `offset_of!` assertions (`backend/src/vm.rs`).
pub const PTR: u32 = 8;

/// `VMMemoryDefinition { base: *mut u8, length: usize }`.
pub mod memory {
    /// Offset of the base pointer.
    pub const BASE: i32 = 0;
    /// Offset of the current length in bytes.
    pub const LENGTH: i32 = 8;
}

/// `VMTableDefinition { base: *mut usize, length: usize }`.
pub mod table {
    /// Offset of the element array pointer.
    pub const BASE: i32 = 0;
    /// Offset of the current number of elements.
    pub const LENGTH: i32 = 8;
}

/// A GC object (struct or array), what a non-null `anyref` that is
/// neither an `i31` nor a host value points to: a 16-byte header, then the
/// fields (see `StructLayout`) or the elements. Objects are 16-byte
/// aligned.
///
/// Every `anyref`/`externref` value is one pointer-sized word: 0 is null;
/// a word with bit 0 set is an `i31` (the value in bits 1..32); a word
/// whose low two bits are `10` is a host value (`ExternRef`, its index in
/// the store shifted left by 2); any other word is the address of an
/// object. So `any.convert_extern` and `extern.convert_any` change
/// nothing.
pub mod gc {
    /// Offset of the object's canonical type id (u32).
    pub const TYPE_ID: i32 = 0;
    /// Offset of the object's kind (u32): [`KIND_STRUCT`] or [`KIND_ARRAY`].
    pub const KIND: i32 = 4;
    /// Offset of an array's length (u32).
    pub const LENGTH: i32 = 8;
    /// Offset of a struct's descriptor (custom descriptors: the address of
    /// the descriptor object, 0 for a struct type without one). Structs
    /// have no length, so it takes the length's place and what follows.
    /// It is a reference: a collector that frees or moves objects must
    /// trace it in every struct (the null collector does neither).
    pub const DESCRIPTOR: i32 = 8;
    /// Size of the header; an array's elements start here.
    pub const HEADER_SIZE: u32 = 16;
    /// The kind of a struct.
    pub const KIND_STRUCT: u32 = 1;
    /// The kind of an array.
    pub const KIND_ARRAY: u32 = 2;
    /// The low bits of a host value's word.
    pub const HOST_TAG: u64 = 2;
}

/// `VMException { tag: *const VMTag, payload: *mut ValRaw, escaped: u32, .. }`:
/// what an `exnref` points to. The payload is one 16-byte slot per value.
pub mod exception {
    /// Offset of the tag pointer.
    pub const TAG: i32 = 0;
    /// Offset of the payload array pointer.
    pub const PAYLOAD: i32 = 8;
    /// Offset of the flag (u32) set once an `exnref` to the exception
    /// exists: until then, a handler that only takes the payload may
    /// recycle it.
    pub const ESCAPED: i32 = 16;
    /// Offset of the count (u32) of holds on it beyond the first: a legacy
    /// `rethrow` adds one while its handler still holds it, and a release
    /// takes one (the last one recycles it).
    pub const HOLDS: i32 = 20;
    /// Size of one payload slot.
    pub const SLOT: i32 = 16;
}

/// `VMFuncRef { func_ptr, type_id: u32, def_index: u32, vmctx }`: what a
/// `funcref` points to.
pub mod funcref {
    /// Offset of the native code pointer (Wasm calling convention); null
    /// while a lazily compiled function has not been compiled.
    pub const FUNC_PTR: i32 = 0;
    /// Offset of the engine-wide canonical type id (u32).
    pub const TYPE_ID: i32 = 8;
    /// Offset of the defined-function index in the owning module (u32;
    /// `u32::MAX` for host functions).
    pub const DEF_INDEX: i32 = 12;
    /// Offset of the callee's context pointer.
    pub const VMCTX: i32 = 16;
    /// Size of the structure.
    pub const SIZE: usize = 24;
}

/// `VMLimits { stack_limit: usize, epoch_ptr: *const AtomicU64, epoch_deadline: u64, fuel: i64 }`.
pub mod limits {
    /// Offset of the lowest stack address Wasm code may use.
    pub const STACK_LIMIT: i32 = 0;
    /// Offset of the pointer to the engine's epoch counter.
    pub const EPOCH_PTR: i32 = 8;
    /// Offset of the epoch at which the store's Wasm code traps.
    pub const EPOCH_DEADLINE: i32 = 16;
    /// Offset of the store's remaining fuel (i64; Wasm traps below zero).
    pub const FUEL: i32 = 24;
    /// Offset of the GC heap's bump pointer: where the next object goes
    /// (compiled code allocates inline while `next + size <= end`).
    pub const GC_NEXT: i32 = 32;
    /// Offset of the end of the GC heap's bytes the limiter allowed.
    pub const GC_END: i32 = 40;
}

/// Size of a global's storage cell (large enough for a v128).
pub const GLOBAL_SIZE: usize = 16;

/// Offset of the instance back-pointer.
pub const VMCTX_INSTANCE: i32 = 0;
/// Offset of the builtin function table pointer.
pub const VMCTX_BUILTINS: i32 = 8;
/// Offset of the limits pointer.
pub const VMCTX_LIMITS: i32 = 16;
/// Offset of the pointer to the module's code slots (lazy compilation).
pub const VMCTX_FUNC_SLOTS: i32 = 24;
/// Offset, from the module's code slots, of the pointer to its heat
/// counters (one `u64` per defined function, which quick first-tier code
/// increments): the word after the `num_defined_funcs` slots.
pub fn heat_counters(num_defined_funcs: u32) -> i32 {
    (num_defined_funcs * PTR) as i32
}
/// Offset of the pointer to the module's canonical type ids. Compiled code
/// reads them here rather than embedding them, because the ids belong to the
/// engine that loads the code, which need not be the one that compiled it
/// (artifacts, the code cache).
pub const VMCTX_TYPE_IDS: i32 = 32;
const HEADER: u32 = 40;

/// Offsets of the variable-length parts of one module's `VMContext`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VMOffsets {
    num_memories: u32,
    num_tables: u32,
    num_globals: u32,
    num_funcs: u32,
    num_tags: u32,
}

impl VMOffsets {
    /// The layout for a module.
    pub fn new(info: &ModuleInfo) -> Self {
        VMOffsets {
            num_memories: info.memories.len() as u32,
            num_tables: info.tables.len() as u32,
            num_globals: info.globals.len() as u32,
            num_funcs: info.funcs.len() as u32,
            num_tags: info.tags.len() as u32,
        }
    }

    fn memory_bases_start(&self) -> u32 {
        HEADER
    }
    fn memories_start(&self) -> u32 {
        self.memory_bases_start() + self.num_memories * PTR
    }
    fn tables_start(&self) -> u32 {
        self.memories_start() + self.num_memories * PTR
    }
    fn globals_start(&self) -> u32 {
        self.tables_start() + self.num_tables * PTR
    }
    fn funcrefs_start(&self) -> u32 {
        self.globals_start() + self.num_globals * PTR
    }
    fn tags_start(&self) -> u32 {
        self.funcrefs_start() + self.num_funcs * PTR
    }

    /// Slot holding `*mut VMMemoryDefinition` of memory `index`.
    pub fn memory(&self, index: MemoryIndex) -> i32 {
        debug_assert!(index.0 < self.num_memories);
        (self.memories_start() + index.0 * PTR) as i32
    }

    /// Slot holding `*mut VMTableDefinition` of table `index`.
    pub fn table(&self, index: TableIndex) -> i32 {
        debug_assert!(index.0 < self.num_tables);
        (self.tables_start() + index.0 * PTR) as i32
    }

    /// Slot holding `*mut VMGlobal` of global `index`.
    pub fn global(&self, index: GlobalIndex) -> i32 {
        debug_assert!(index.0 < self.num_globals);
        (self.globals_start() + index.0 * PTR) as i32
    }

    /// Slot holding `*const VMFuncRef` of function `index`.
    pub fn funcref(&self, index: FuncIndex) -> i32 {
        debug_assert!(index.0 < self.num_funcs);
        (self.funcrefs_start() + index.0 * PTR) as i32
    }

    /// Slot holding `*const VMTag` of tag `index`.
    pub fn tag(&self, index: u32) -> i32 {
        debug_assert!(index < self.num_tags);
        (self.tags_start() + index * PTR) as i32
    }

    /// Slot holding memory `index`'s base address (`VMMemoryDefinition::base`
    /// as it was at instantiation): compiled code reads it only for
    /// memories whose base never changes (the guarded style).
    pub fn memory_base(&self, index: MemoryIndex) -> i32 {
        debug_assert!(index.0 < self.num_memories);
        (self.memory_bases_start() + index.0 * PTR) as i32
    }

    /// Total size of the context in bytes.
    pub fn size(&self) -> usize {
        (self.tags_start() + self.num_tags * PTR) as usize
    }
}

pub use crate::builtins::Builtin;
