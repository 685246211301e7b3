//! The threads proposal's operators: atomic loads, stores and
//! read-modify-writes, `atomic.fence`, and `memory.atomic.wait32/64` and
//! `notify`.
//!
//! Every atomic access is checked explicitly, whatever the memory's bounds
//! strategy: first its alignment (`unaligned atomic`), then its bounds. The
//! access itself then cannot fault, so the atomic instructions need no trap
//! metadata. Accesses are sequentially consistent, as the proposal's are.

use cranelift_codegen::ir::{self, AtomicRmwOp, InstBuilder, MemFlagsData, Value, types};
use wasmparser::MemArg;

use super::memory::memory_index;
use super::{FuncTranslator, Translated};
use crate::index::MemoryIndex;
use crate::trap::{HOST_TRAP, TrapKind};
use crate::vmoffsets::Builtin;

/// Flags of an atomic access: its address was checked (in bounds and
/// aligned) before, little-endian.
fn atomic_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_endianness(ir::Endianness::Little)
}

impl FuncTranslator<'_, '_> {
    /// The effective address (`i64`) of an atomic access of `size` bytes at
    /// `index` (of the memory's index type) plus the static offset, checked
    /// to be aligned and in bounds.
    fn atomic_effective_addr(
        &mut self,
        mem: MemoryIndex,
        index: Value,
        offset: u64,
        size: u32,
    ) -> Value {
        let memory64 = self.env.info.memories[mem.index()].memory64;
        let oob = TrapKind::MemoryOutOfBounds.code();
        let index = if memory64 {
            index
        } else {
            self.builder.ins().uextend(types::I64, index)
        };
        let ea = if offset == 0 {
            index
        } else if memory64 {
            // A 64-bit index plus the offset may wrap: out of bounds.
            let offset = self.builder.ins().iconst(types::I64, offset as i64);
            self.builder.ins().uadd_overflow_trap(index, offset, oob)
        } else {
            // A 32-bit index plus a 32-bit offset cannot overflow 64 bits.
            self.builder.ins().iadd_imm_u(index, offset as i64)
        };
        if size > 1 {
            let misaligned = self.builder.ins().band_imm_u(ea, i64::from(size - 1));
            self.builder
                .ins()
                .trapnz(misaligned, TrapKind::HeapMisaligned.code());
        }
        // For a 32-bit memory `ea + size` is below 2^33; for a 64-bit one it
        // wraps to 0 at the top of the address space, which must trap too.
        let end = if memory64 {
            let size = self.builder.ins().iconst(types::I64, i64::from(size));
            self.builder.ins().uadd_overflow_trap(ea, size, oob)
        } else {
            self.builder.ins().iadd_imm_u(ea, i64::from(size))
        };
        let def = self.memory_def(mem);
        let length = self.memory_length(def);
        let past = self
            .builder
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedGreaterThan, end, length);
        self.builder.ins().trapnz(past, oob);
        ea
    }

    /// The host address of an atomic access of `size` bytes whose index is
    /// on top of the stack.
    fn atomic_addr(&mut self, memarg: &MemArg, size: u32) -> Value {
        let index = self.pop();
        let mem = memory_index(memarg);
        let ea = self.atomic_effective_addr(mem, index, memarg.offset, size);
        let base = self.memory_base(mem);
        self.builder.ins().iadd(base, ea)
    }

    /// A value of the access's type (narrower for the `_u` forms) as the
    /// operator's type `ty`: zero-extended when narrower.
    fn atomic_widen(&mut self, v: Value, ty: ir::Type) -> Value {
        if self.builder.func.dfg.value_type(v) == ty {
            v
        } else {
            self.builder.ins().uextend(ty, v)
        }
    }

    /// `v` (of the operator's type) cut to the access type.
    fn atomic_narrow(&mut self, v: Value, access: ir::Type) -> Value {
        if self.builder.func.dfg.value_type(v) == access {
            v
        } else {
            self.builder.ins().ireduce(access, v)
        }
    }

    fn atomic_load(&mut self, memarg: &MemArg, ty: ir::Type, access: ir::Type) -> Translated {
        let addr = self.atomic_addr(memarg, access.bytes());
        let v = self.builder.ins().atomic_load(access, atomic_flags(), addr);
        let v = self.atomic_widen(v, ty);
        self.push(v);
        Ok(())
    }

    fn atomic_store(&mut self, memarg: &MemArg, access: ir::Type) -> Translated {
        let value = self.pop();
        let addr = self.atomic_addr(memarg, access.bytes());
        let value = self.atomic_narrow(value, access);
        self.builder.ins().atomic_store(atomic_flags(), value, addr);
        Ok(())
    }

    fn atomic_rmw(
        &mut self,
        memarg: &MemArg,
        op: AtomicRmwOp,
        ty: ir::Type,
        access: ir::Type,
    ) -> Translated {
        let value = self.pop();
        let addr = self.atomic_addr(memarg, access.bytes());
        let value = self.atomic_narrow(value, access);
        let old = self
            .builder
            .ins()
            .atomic_rmw(access, atomic_flags(), op, addr, value);
        let old = self.atomic_widen(old, ty);
        self.push(old);
        Ok(())
    }

    fn atomic_cmpxchg(&mut self, memarg: &MemArg, ty: ir::Type, access: ir::Type) -> Translated {
        let replacement = self.pop();
        let expected = self.pop();
        let addr = self.atomic_addr(memarg, access.bytes());
        // The expected value is compared in the access's width.
        let expected = self.atomic_narrow(expected, access);
        let replacement = self.atomic_narrow(replacement, access);
        let old = self
            .builder
            .ins()
            .atomic_cas(atomic_flags(), addr, expected, replacement);
        let old = self.atomic_widen(old, ty);
        self.push(old);
        Ok(())
    }

    pub(super) fn visit_atomic_fence(&mut self, _ordering: wasmparser::Ordering) -> Translated {
        self.builder.ins().fence();
        Ok(())
    }

    pub(super) fn visit_memory_atomic_notify(&mut self, memarg: MemArg) -> Translated {
        let count = self.pop();
        let index = self.pop();
        let mem = memory_index(&memarg);
        let ea = self.atomic_effective_addr(mem, index, memarg.offset, 4);
        let m = self.builder.ins().iconst(types::I32, i64::from(mem.0));
        let woken = self
            .call_builtin(Builtin::MemoryAtomicNotify, &[m, ea, count])
            .expect("notify returns a count");
        self.push(woken);
        Ok(())
    }

    fn atomic_wait(&mut self, memarg: &MemArg, size: u32) -> Translated {
        let timeout = self.pop();
        let expected = self.pop();
        let index = self.pop();
        let mem = memory_index(memarg);
        let ea = self.atomic_effective_addr(mem, index, memarg.offset, size);
        let expected = self.atomic_widen(expected, types::I64);
        let m = self.builder.ins().iconst(types::I32, i64::from(mem.0));
        let size = self.builder.ins().iconst(types::I32, i64::from(size));
        // The wait may run the store's epoch callback, which sees and sets
        // the fuel.
        self.fuel_save();
        let result = self
            .call_builtin(Builtin::MemoryAtomicWait, &[m, ea, expected, timeout, size])
            .expect("wait returns a result");
        self.fuel_load();
        // -1 after the builtin recorded a trap.
        let trapped = self
            .builder
            .ins()
            .icmp_imm_s(ir::condcodes::IntCC::Equal, result, -1);
        self.builder.ins().trapnz(trapped, HOST_TRAP);
        let result = self.builder.ins().ireduce(types::I32, result);
        self.push(result);
        Ok(())
    }

    pub(super) fn visit_memory_atomic_wait32(&mut self, memarg: MemArg) -> Translated {
        self.atomic_wait(&memarg, 4)
    }

    pub(super) fn visit_memory_atomic_wait64(&mut self, memarg: MemArg) -> Translated {
        self.atomic_wait(&memarg, 8)
    }
}

/// `visit_*` methods for atomic loads: `(result type, access type)`.
macro_rules! atomic_loads {
    ($($visit:ident => ($ty:ident, $access:ident),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self, memarg: MemArg) -> Translated {
                self.atomic_load(&memarg, types::$ty, types::$access)
            })*
        }
    };
}

/// `visit_*` methods for atomic stores: `(access type)`.
macro_rules! atomic_stores {
    ($($visit:ident => $access:ident,)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self, memarg: MemArg) -> Translated {
                self.atomic_store(&memarg, types::$access)
            })*
        }
    };
}

/// `visit_*` methods for read-modify-writes: `(operation, type, access type)`.
macro_rules! atomic_rmws {
    ($($visit:ident => ($op:ident, $ty:ident, $access:ident),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self, memarg: MemArg) -> Translated {
                self.atomic_rmw(&memarg, AtomicRmwOp::$op, types::$ty, types::$access)
            })*
        }
    };
}

/// `visit_*` methods for compare-exchanges: `(type, access type)`.
macro_rules! atomic_cmpxchgs {
    ($($visit:ident => ($ty:ident, $access:ident),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self, memarg: MemArg) -> Translated {
                self.atomic_cmpxchg(&memarg, types::$ty, types::$access)
            })*
        }
    };
}

atomic_loads! {
    visit_i32_atomic_load => (I32, I32),
    visit_i64_atomic_load => (I64, I64),
    visit_i32_atomic_load8_u => (I32, I8),
    visit_i32_atomic_load16_u => (I32, I16),
    visit_i64_atomic_load8_u => (I64, I8),
    visit_i64_atomic_load16_u => (I64, I16),
    visit_i64_atomic_load32_u => (I64, I32),
}

atomic_stores! {
    visit_i32_atomic_store => I32,
    visit_i64_atomic_store => I64,
    visit_i32_atomic_store8 => I8,
    visit_i32_atomic_store16 => I16,
    visit_i64_atomic_store8 => I8,
    visit_i64_atomic_store16 => I16,
    visit_i64_atomic_store32 => I32,
}

atomic_rmws! {
    visit_i32_atomic_rmw_add => (Add, I32, I32),
    visit_i64_atomic_rmw_add => (Add, I64, I64),
    visit_i32_atomic_rmw8_add_u => (Add, I32, I8),
    visit_i32_atomic_rmw16_add_u => (Add, I32, I16),
    visit_i64_atomic_rmw8_add_u => (Add, I64, I8),
    visit_i64_atomic_rmw16_add_u => (Add, I64, I16),
    visit_i64_atomic_rmw32_add_u => (Add, I64, I32),
    visit_i32_atomic_rmw_sub => (Sub, I32, I32),
    visit_i64_atomic_rmw_sub => (Sub, I64, I64),
    visit_i32_atomic_rmw8_sub_u => (Sub, I32, I8),
    visit_i32_atomic_rmw16_sub_u => (Sub, I32, I16),
    visit_i64_atomic_rmw8_sub_u => (Sub, I64, I8),
    visit_i64_atomic_rmw16_sub_u => (Sub, I64, I16),
    visit_i64_atomic_rmw32_sub_u => (Sub, I64, I32),
    visit_i32_atomic_rmw_and => (And, I32, I32),
    visit_i64_atomic_rmw_and => (And, I64, I64),
    visit_i32_atomic_rmw8_and_u => (And, I32, I8),
    visit_i32_atomic_rmw16_and_u => (And, I32, I16),
    visit_i64_atomic_rmw8_and_u => (And, I64, I8),
    visit_i64_atomic_rmw16_and_u => (And, I64, I16),
    visit_i64_atomic_rmw32_and_u => (And, I64, I32),
    visit_i32_atomic_rmw_or => (Or, I32, I32),
    visit_i64_atomic_rmw_or => (Or, I64, I64),
    visit_i32_atomic_rmw8_or_u => (Or, I32, I8),
    visit_i32_atomic_rmw16_or_u => (Or, I32, I16),
    visit_i64_atomic_rmw8_or_u => (Or, I64, I8),
    visit_i64_atomic_rmw16_or_u => (Or, I64, I16),
    visit_i64_atomic_rmw32_or_u => (Or, I64, I32),
    visit_i32_atomic_rmw_xor => (Xor, I32, I32),
    visit_i64_atomic_rmw_xor => (Xor, I64, I64),
    visit_i32_atomic_rmw8_xor_u => (Xor, I32, I8),
    visit_i32_atomic_rmw16_xor_u => (Xor, I32, I16),
    visit_i64_atomic_rmw8_xor_u => (Xor, I64, I8),
    visit_i64_atomic_rmw16_xor_u => (Xor, I64, I16),
    visit_i64_atomic_rmw32_xor_u => (Xor, I64, I32),
    visit_i32_atomic_rmw_xchg => (Xchg, I32, I32),
    visit_i64_atomic_rmw_xchg => (Xchg, I64, I64),
    visit_i32_atomic_rmw8_xchg_u => (Xchg, I32, I8),
    visit_i32_atomic_rmw16_xchg_u => (Xchg, I32, I16),
    visit_i64_atomic_rmw8_xchg_u => (Xchg, I64, I8),
    visit_i64_atomic_rmw16_xchg_u => (Xchg, I64, I16),
    visit_i64_atomic_rmw32_xchg_u => (Xchg, I64, I32),
}

atomic_cmpxchgs! {
    visit_i32_atomic_rmw_cmpxchg => (I32, I32),
    visit_i64_atomic_rmw_cmpxchg => (I64, I64),
    visit_i32_atomic_rmw8_cmpxchg_u => (I32, I8),
    visit_i32_atomic_rmw16_cmpxchg_u => (I32, I16),
    visit_i64_atomic_rmw8_cmpxchg_u => (I64, I8),
    visit_i64_atomic_rmw16_cmpxchg_u => (I64, I16),
    visit_i64_atomic_rmw32_cmpxchg_u => (I64, I32),
}
