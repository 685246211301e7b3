//! Linear memory operators: loads, stores, `memory.size/grow`, bulk memory.

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, types};
use cranelift_codegen::ir::{Endianness, Opcode};
use wasmparser::MemArg;

use super::{FuncTranslator, Translated};
use crate::index::MemoryIndex;
use crate::vmoffsets::Builtin;

/// The memory a load or store accesses (also for `simd.rs`).
pub(super) fn memory_index(memarg: &MemArg) -> MemoryIndex {
    match memarg.target {
        wasmparser::MemArgTarget::Memory(m) => MemoryIndex(m),
        // GC array accesses are refused when their operator is met.
        wasmparser::MemArgTarget::Array(_) => MemoryIndex(0),
    }
}

/// Flags of a Wasm memory access: little-endian, no alignment assumed,
/// trapping with HEAP_OUT_OF_BOUNDS (also for `simd.rs`).
pub(super) fn heap_flags() -> MemFlagsData {
    // Traps with HEAP_OUT_OF_BOUNDS by default.
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl FuncTranslator<'_, '_> {
    fn load(&mut self, memarg: &MemArg, op: Opcode, ty: ir::Type, size: u32) -> Translated {
        let index = self.pop();
        let (addr, offset) = self.heap_addr(memory_index(memarg), index, memarg.offset, size);
        let ins = self.builder.ins();
        let f = heap_flags();
        let v = match op {
            Opcode::Load => ins.load(ty, f, addr, offset),
            Opcode::Uload8 => ins.uload8(ty, f, addr, offset),
            Opcode::Sload8 => ins.sload8(ty, f, addr, offset),
            Opcode::Uload16 => ins.uload16(ty, f, addr, offset),
            Opcode::Sload16 => ins.sload16(ty, f, addr, offset),
            Opcode::Uload32 => ins.uload32(f, addr, offset),
            Opcode::Sload32 => ins.sload32(f, addr, offset),
            _ => unreachable!(),
        };
        self.push(v);
        Ok(())
    }

    fn store(&mut self, memarg: &MemArg, op: Opcode, size: u32) -> Translated {
        let value = self.pop();
        let index = self.pop();
        let (addr, offset) = self.store_addr(memory_index(memarg), index, memarg.offset, size);
        let ins = self.builder.ins();
        let f = heap_flags();
        match op {
            Opcode::Store => ins.store(f, value, addr, offset),
            Opcode::Istore8 => ins.istore8(f, value, addr, offset),
            Opcode::Istore16 => ins.istore16(f, value, addr, offset),
            Opcode::Istore32 => ins.istore32(f, value, addr, offset),
            _ => unreachable!(),
        };
        Ok(())
    }

    fn extend_to_i64(&mut self, v: Value) -> Value {
        self.builder.ins().uextend(types::I64, v)
    }
}

/// `visit_*` methods for loads: `(opcode, result type, access size)`.
macro_rules! loads {
    ($($visit:ident => $op:ident($ty:ident, $size:expr),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self, memarg: MemArg) -> Translated {
                self.load(&memarg, Opcode::$op, types::$ty, $size)
            })*
        }
    };
}

/// `visit_*` methods for stores: `(opcode, access size)`.
macro_rules! stores {
    ($($visit:ident => $op:ident($size:expr),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self, memarg: MemArg) -> Translated {
                self.store(&memarg, Opcode::$op, $size)
            })*
        }
    };
}

loads! {
    visit_i32_load => Load(I32, 4),
    visit_i64_load => Load(I64, 8),
    visit_f32_load => Load(F32, 4),
    visit_f64_load => Load(F64, 8),
    visit_i32_load8_s => Sload8(I32, 1),
    visit_i32_load8_u => Uload8(I32, 1),
    visit_i32_load16_s => Sload16(I32, 2),
    visit_i32_load16_u => Uload16(I32, 2),
    visit_i64_load8_s => Sload8(I64, 1),
    visit_i64_load8_u => Uload8(I64, 1),
    visit_i64_load16_s => Sload16(I64, 2),
    visit_i64_load16_u => Uload16(I64, 2),
    visit_i64_load32_s => Sload32(I64, 4),
    visit_i64_load32_u => Uload32(I64, 4),
}

stores! {
    visit_i32_store => Store(4),
    visit_f32_store => Store(4),
    visit_i64_store => Store(8),
    visit_f64_store => Store(8),
    visit_i32_store8 => Istore8(1),
    visit_i64_store8 => Istore8(1),
    visit_i32_store16 => Istore16(2),
    visit_i64_store16 => Istore16(2),
    visit_i64_store32 => Istore32(4),
}

impl FuncTranslator<'_, '_> {
    fn is_memory64(&self, mem: u32) -> bool {
        self.env.info.memories[mem as usize].memory64
    }

    /// An address or length of memory `mem`'s index type, as an `i64`.
    fn index_to_i64(&mut self, mem: u32, v: Value) -> Value {
        if self.is_memory64(mem) {
            v
        } else {
            self.extend_to_i64(v)
        }
    }

    pub(super) fn visit_memory_size(&mut self, mem: u32) -> Translated {
        let log2 = self.env.info.memories[mem as usize].page_size_log2;
        let def = self.memory_def(MemoryIndex(mem));
        let len = self.memory_length(def);
        let pages = self.builder.ins().ushr_imm_u(len, log2 as i64);
        let pages = if self.is_memory64(mem) {
            pages
        } else {
            self.builder.ins().ireduce(types::I32, pages)
        };
        self.push(pages);
        Ok(())
    }

    pub(super) fn visit_memory_grow(&mut self, mem: u32) -> Translated {
        let delta = self.pop();
        let delta = self.index_to_i64(mem, delta);
        let m = self.builder.ins().iconst(types::I32, mem as i64);
        let old = self.call_builtin(Builtin::MemoryGrow, &[m, delta]).unwrap();
        self.trap_if_grow_trapped(old);
        // -1 (all ones) when the memory cannot grow.
        let old = if self.is_memory64(mem) {
            old
        } else {
            self.builder.ins().ireduce(types::I32, old)
        };
        self.push(old);
        Ok(())
    }

    pub(super) fn visit_memory_fill(&mut self, mem: u32) -> Translated {
        let len = self.pop();
        let val = self.pop();
        let dst = self.pop();
        let (dst, len) = (self.index_to_i64(mem, dst), self.index_to_i64(mem, len));
        let m = self.builder.ins().iconst(types::I32, mem as i64);
        self.call_builtin(Builtin::MemoryFill, &[m, dst, val, len]);
        Ok(())
    }

    pub(super) fn visit_memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> Translated {
        let len = self.pop();
        let src = self.pop();
        let dst = self.pop();
        // The length has the narrower of the two index types.
        let len_mem = if self.is_memory64(dst_mem) {
            src_mem
        } else {
            dst_mem
        };
        let (dst, src, len) = (
            self.index_to_i64(dst_mem, dst),
            self.index_to_i64(src_mem, src),
            self.index_to_i64(len_mem, len),
        );
        let dm = self.builder.ins().iconst(types::I32, dst_mem as i64);
        let sm = self.builder.ins().iconst(types::I32, src_mem as i64);
        self.call_builtin(Builtin::MemoryCopy, &[dm, sm, dst, src, len]);
        Ok(())
    }

    pub(super) fn visit_memory_init(&mut self, data_index: u32, mem: u32) -> Translated {
        let len = self.pop();
        let src = self.pop();
        let dst = self.pop();
        let dst = self.index_to_i64(mem, dst);
        let m = self.builder.ins().iconst(types::I32, mem as i64);
        let d = self.builder.ins().iconst(types::I32, data_index as i64);
        self.call_builtin(Builtin::MemoryInit, &[m, d, dst, src, len]);
        Ok(())
    }

    pub(super) fn visit_data_drop(&mut self, data_index: u32) -> Translated {
        let d = self.builder.ins().iconst(types::I32, data_index as i64);
        self.call_builtin(Builtin::DataDrop, &[d]);
        Ok(())
    }
}
