//! The runtime functions compiled code calls (`memory.grow`, `table.copy`,
//! ...), declared once. [`foreach_builtin!`](crate::foreach_builtin) lists each builtin's name,
//! parameters and result; from that one list come the [`Builtin`] index, the
//! Cranelift signature the translator calls it with, and (in the backend)
//! the runtime table, whose entries are type-checked against the list. A
//! builtin cannot be added, removed or reordered in one place only.
//!
//! Every builtin takes the caller's `vmctx` first (not listed). Parameter
//! and result types: `i32`, `i64`, `ptr` (pointer-sized); results may also
//! be `trap` (a `u32` flag: non-zero after the builtin recorded a trap, which
//! compiled code then raises) or `none`.

use cranelift_codegen::ir::{self, types};
use cranelift_codegen::isa::CallConv;

/// Calls `$mac!` with the list of builtins:
/// `rust_name Variant(param: type, ...) -> result, "doc";`.
#[macro_export]
macro_rules! foreach_builtin {
    ($mac:ident) => {
        $mac! {
            memory_grow MemoryGrow(mem: i32, delta: i64) -> i64,
                "`memory.grow`: the old size in pages, -1 (u64::MAX) when it cannot grow, or `GROW_TRAPPED` after recording a trap (the embedder's limiter failed).";
            memory_fill MemoryFill(mem: i32, dst: i64, val: i32, len: i64) -> trap,
                "`memory.fill`.";
            memory_copy MemoryCopy(dst_mem: i32, src_mem: i32, dst: i64, src: i64, len: i64) -> trap,
                "`memory.copy`, also between two memories.";
            memory_init MemoryInit(mem: i32, data: i32, dst: i64, src: i32, len: i32) -> trap,
                "`memory.init` from a passive data segment.";
            data_drop DataDrop(data: i32) -> none,
                "`data.drop`.";
            table_grow TableGrow(table: i32, init: ptr, delta: i64) -> i64,
                "`table.grow`: the old size, -1 (u64::MAX) when it cannot grow, or `GROW_TRAPPED` after recording a trap (the embedder's limiter failed).";
            table_fill TableFill(table: i32, dst: i64, val: ptr, len: i64) -> trap,
                "`table.fill`.";
            table_copy TableCopy(dst_table: i32, src_table: i32, dst: i64, src: i64, len: i64) -> trap,
                "`table.copy`, also between two tables.";
            table_init TableInit(table: i32, elem: i32, dst: i64, src: i32, len: i32) -> trap,
                "`table.init` from a passive element segment.";
            elem_drop ElemDrop(elem: i32) -> none,
                "`elem.drop`.";
            lazy_compile LazyCompile(func: i32) -> ptr,
                "The code of defined function `func` of the caller's module, compiled now if it is not yet (lazy compilation); 0 after recording a trap when it cannot be compiled.";
            throw Throw(tag: i32, payload: ptr, fp: ptr) -> none,
                "`throw` of tag `tag` (its payload in 16-byte slots at `payload`) that no `try_table` of the throwing function takes: makes the exception and unwinds from the frame whose frame pointer is `fp` (never returns).";
            throw_ref ThrowRef(exn: ptr, fp: ptr) -> none,
                "`throw_ref` of a non-null exception no `try_table` of the throwing function takes: unwinds from the frame whose frame pointer is `fp` (never returns).";
            exn_release ExnRelease(exn: ptr) -> none,
                "A handler took the payload of exception `exn` and no `exnref` to it exists (unless its escaped flag says so): it may be recycled.";
            exn_new ExnNew(tag: i32, payload: ptr) -> ptr,
                "An exception of tag `tag` with the payload at `payload`, for a `catch_ref` of a `throw` in the same function.";
            lazy_funcref LazyFuncref(funcref: ptr) -> ptr,
                "The code of the function a `VMFuncRef` with a null code pointer names, compiled now and stored in the `VMFuncRef`; 0 after recording a trap when it cannot be compiled.";
            memory_atomic_notify MemoryAtomicNotify(mem: i32, addr: i64, count: i32) -> i32,
                "`memory.atomic.notify` at checked effective address `addr`: the number of waiters woken.";
            memory_atomic_wait MemoryAtomicWait(mem: i32, addr: i64, expected: i64, timeout: i64, size: i32) -> i64,
                "`memory.atomic.wait32/64` (`size` 4 or 8) at checked effective address `addr`: 0 (woken), 1 (not equal), 2 (timed out), or -1 after recording a trap.";
            epoch_reached EpochReached() -> trap,
                "The engine's epoch reached the store's deadline: the store's epoch callback sets a new deadline (execution goes on) or the trap is recorded (`Interrupted`, or the callback's error).";
            gc_alloc GcAlloc(ty: i32, len: i32) -> ptr,
                "A new zeroed object of module type `ty`: a struct (`len` unused) or an array of `len` elements; 0 after recording a trap (too large) or an error (the GC heap is full).";
            gc_subtype GcSubtype(actual: i32, expected: i32) -> i32,
                "Whether canonical type id `actual` is `expected` or one of its declared subtypes (1 or 0).";
            array_fill ArrayFill(ty: i32, array: ptr, dst: i32, lo: i64, hi: i64, len: i32) -> trap,
                "`array.fill` of non-null array `array` of module type `ty` with the value whose bits are `lo` (and `hi`, the upper half of a `v128`).";
            array_copy ArrayCopy(ty: i32, dst: ptr, dst_index: i32, src: ptr, src_index: i32, len: i32) -> trap,
                "`array.copy` between non-null arrays whose elements are those of module array type `ty`.";
            array_new_data ArrayNewData(ty: i32, data: i32, offset: i32, len: i32) -> ptr,
                "`array.new_data`: an array of `len` elements read from data segment `data` at byte `offset`; 0 after recording a trap.";
            array_new_elem ArrayNewElem(ty: i32, elem: i32, offset: i32, len: i32) -> ptr,
                "`array.new_elem`: an array of `len` references from element segment `elem` at `offset`; 0 after recording a trap.";
            array_init_data ArrayInitData(ty: i32, data: i32, array: ptr, dst: i32, src: i32, len: i32) -> trap,
                "`array.init_data` of non-null array `array`.";
            array_init_elem ArrayInitElem(ty: i32, elem: i32, array: ptr, dst: i32, src: i32, len: i32) -> trap,
                "`array.init_elem` of non-null array `array`.";
            osr_code OsrCode(func: i32, loop_index: i32) -> ptr,
                "The optimised on-stack-replacement entry of loop `loop_index` of defined function `func` of the caller's module, asked for by its quick code: the entry's address, or 0 while there is none (it may be being compiled) or cannot be.";
        }
    };
}

/// What `memory.grow` and `table.grow` builtins return after recording a
/// trap: no memory or table can be this large, so compiled code compares
/// the result with it and raises the trap.
pub const GROW_TRAPPED: u64 = u64::MAX - 1;

/// What a builtin returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinReturn {
    /// Nothing.
    None,
    /// A `u32` flag: non-zero when the builtin recorded a trap.
    TrapFlag,
    /// A value of this type.
    Value(ir::Type),
    /// A pointer-sized value.
    Pointer,
}

macro_rules! clif_type {
    (i32, $ptr:expr) => {
        types::I32
    };
    (i64, $ptr:expr) => {
        types::I64
    };
    (ptr, $ptr:expr) => {
        $ptr
    };
}

macro_rules! clif_return {
    (none) => {
        BuiltinReturn::None
    };
    (trap) => {
        BuiltinReturn::TrapFlag
    };
    (i32) => {
        BuiltinReturn::Value(types::I32)
    };
    (i64) => {
        BuiltinReturn::Value(types::I64)
    };
    (ptr) => {
        BuiltinReturn::Pointer
    };
}

macro_rules! define_builtins {
    ($($name:ident $variant:ident($($arg:ident: $ty:ident),*) -> $ret:ident, $doc:literal;)*) => {
        /// A runtime function compiled code calls through the builtins
        /// table (its index there). See [`foreach_builtin!`](crate::foreach_builtin).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Builtin {
            $(#[doc = $doc] $variant,)*
        }

        impl Builtin {
            /// Every builtin, in table order.
            pub const ALL: &'static [Builtin] = &[$(Builtin::$variant),*];
            /// Number of builtins.
            pub const COUNT: usize = Builtin::ALL.len();

            /// The builtin's name (its runtime function's).
            pub fn name(self) -> &'static str {
                match self {
                    $(Builtin::$variant => stringify!($name),)*
                }
            }

            /// Parameter types after the `vmctx`, for a target whose
            /// pointer type is `ptr`.
            pub fn params(self, ptr: ir::Type) -> Vec<ir::Type> {
                let _ = ptr;
                match self {
                    $(Builtin::$variant => vec![$(clif_type!($ty, ptr)),*],)*
                }
            }

            /// What it returns.
            pub fn returns(self) -> BuiltinReturn {
                match self {
                    $(Builtin::$variant => clif_return!($ret),)*
                }
            }
        }
    };
}
foreach_builtin!(define_builtins);

impl Builtin {
    /// The Cranelift signature of a call to this builtin: `vmctx`, its
    /// parameters, and its result, in the target's C calling convention.
    pub fn signature(self, ptr: ir::Type, call_conv: CallConv) -> ir::Signature {
        let mut sig = ir::Signature::new(call_conv);
        sig.params.push(ir::AbiParam::new(ptr));
        sig.params
            .extend(self.params(ptr).into_iter().map(ir::AbiParam::new));
        match self.returns() {
            BuiltinReturn::None => {}
            BuiltinReturn::TrapFlag => sig.returns.push(ir::AbiParam::new(types::I32)),
            BuiltinReturn::Value(t) => sig.returns.push(ir::AbiParam::new(t)),
            BuiltinReturn::Pointer => sig.returns.push(ir::AbiParam::new(ptr)),
        }
        sig
    }

    /// Offset of this builtin's pointer in the builtins table.
    pub fn offset(self, pointer_bytes: u32) -> i32 {
        (self as u32 * pointer_bytes) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_is_the_list_order() {
        for (i, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(*b as usize, i, "{}", b.name());
        }
        assert_eq!(Builtin::COUNT, 28);
        let sig = Builtin::MemoryGrow.signature(types::I64, CallConv::SystemV);
        assert_eq!(sig.params.len(), 3);
        assert_eq!(sig.returns[0].value_type, types::I64);
        assert_eq!(Builtin::TableFill.params(types::I32)[2], types::I32);
        assert_eq!(Builtin::DataDrop.returns(), BuiltinReturn::None);
    }
}
