//! Linear memory operators: loads, stores, `memory.size/grow`, bulk memory.

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, types};
use cranelift_codegen::ir::{Endianness, Opcode};
use wasmparser::{MemArg, Operator};

use super::FuncTranslator;
use crate::error::{FrontendError, unsupported};
use crate::types::WASM_PAGE_SIZE;
use crate::vmoffsets::Builtin;

fn memory_index(memarg: &MemArg) -> u32 {
    match memarg.target {
        wasmparser::MemArgTarget::Memory(m) => m,
        // GC array accesses are refused when their operator is met.
        wasmparser::MemArgTarget::Array(_) => 0,
    }
}

fn heap_flags() -> MemFlagsData {
    // Traps with HEAP_OUT_OF_BOUNDS by default.
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl FuncTranslator<'_, '_> {
    fn load(&mut self, memarg: &MemArg, op: Opcode, ty: ir::Type, size: u32) {
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
    }

    fn store(&mut self, memarg: &MemArg, op: Opcode, size: u32) {
        let value = self.pop();
        let index = self.pop();
        let (addr, offset) = self.heap_addr(memory_index(memarg), index, memarg.offset, size);
        let ins = self.builder.ins();
        let f = heap_flags();
        match op {
            Opcode::Store => ins.store(f, value, addr, offset),
            Opcode::Istore8 => ins.istore8(f, value, addr, offset),
            Opcode::Istore16 => ins.istore16(f, value, addr, offset),
            Opcode::Istore32 => ins.istore32(f, value, addr, offset),
            _ => unreachable!(),
        };
    }

    fn extend_to_i64(&mut self, v: Value) -> Value {
        self.builder.ins().uextend(types::I64, v)
    }

    /// Translates a memory operator; `Ok(false)` if `op` is not one.
    pub(super) fn memory_op(&mut self, op: &Operator<'_>) -> Result<bool, FrontendError> {
        use types::{F32, F64, I32, I64};
        match op {
            Operator::I32Load { memarg } => self.load(memarg, Opcode::Load, I32, 4),
            Operator::I64Load { memarg } => self.load(memarg, Opcode::Load, I64, 8),
            Operator::F32Load { memarg } => self.load(memarg, Opcode::Load, F32, 4),
            Operator::F64Load { memarg } => self.load(memarg, Opcode::Load, F64, 8),
            Operator::I32Load8S { memarg } => self.load(memarg, Opcode::Sload8, I32, 1),
            Operator::I32Load8U { memarg } => self.load(memarg, Opcode::Uload8, I32, 1),
            Operator::I32Load16S { memarg } => self.load(memarg, Opcode::Sload16, I32, 2),
            Operator::I32Load16U { memarg } => self.load(memarg, Opcode::Uload16, I32, 2),
            Operator::I64Load8S { memarg } => self.load(memarg, Opcode::Sload8, I64, 1),
            Operator::I64Load8U { memarg } => self.load(memarg, Opcode::Uload8, I64, 1),
            Operator::I64Load16S { memarg } => self.load(memarg, Opcode::Sload16, I64, 2),
            Operator::I64Load16U { memarg } => self.load(memarg, Opcode::Uload16, I64, 2),
            Operator::I64Load32S { memarg } => self.load(memarg, Opcode::Sload32, I64, 4),
            Operator::I64Load32U { memarg } => self.load(memarg, Opcode::Uload32, I64, 4),
            Operator::I32Store { memarg } | Operator::F32Store { memarg } => {
                self.store(memarg, Opcode::Store, 4)
            }
            Operator::I64Store { memarg } | Operator::F64Store { memarg } => {
                self.store(memarg, Opcode::Store, 8)
            }
            Operator::I32Store8 { memarg } | Operator::I64Store8 { memarg } => {
                self.store(memarg, Opcode::Istore8, 1)
            }
            Operator::I32Store16 { memarg } | Operator::I64Store16 { memarg } => {
                self.store(memarg, Opcode::Istore16, 2)
            }
            Operator::I64Store32 { memarg } => self.store(memarg, Opcode::Istore32, 4),
            Operator::MemorySize { mem } => {
                let def = self.memory_def(*mem);
                let len = self.memory_length(def);
                let pages = self
                    .builder
                    .ins()
                    .ushr_imm_u(len, WASM_PAGE_SIZE.trailing_zeros() as i64);
                let pages = self.builder.ins().ireduce(I32, pages);
                self.push(pages);
            }
            Operator::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.extend_to_i64(delta);
                let mem = self.builder.ins().iconst(I32, *mem as i64);
                let old = self
                    .call_builtin(Builtin::MemoryGrow, &[mem, delta])
                    .unwrap();
                let old = self.builder.ins().ireduce(I32, old);
                self.push(old);
            }
            Operator::MemoryFill { mem } => {
                let len = self.pop();
                let val = self.pop();
                let dst = self.pop();
                let (dst, len) = (self.extend_to_i64(dst), self.extend_to_i64(len));
                let mem = self.builder.ins().iconst(I32, *mem as i64);
                self.call_builtin(Builtin::MemoryFill, &[mem, dst, val, len]);
            }
            Operator::MemoryCopy { dst_mem, src_mem } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let (dst, src, len) = (
                    self.extend_to_i64(dst),
                    self.extend_to_i64(src),
                    self.extend_to_i64(len),
                );
                let dm = self.builder.ins().iconst(I32, *dst_mem as i64);
                let sm = self.builder.ins().iconst(I32, *src_mem as i64);
                self.call_builtin(Builtin::MemoryCopy, &[dm, sm, dst, src, len]);
            }
            Operator::MemoryInit { data_index, mem } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let dst = self.extend_to_i64(dst);
                let m = self.builder.ins().iconst(I32, *mem as i64);
                let d = self.builder.ins().iconst(I32, *data_index as i64);
                self.call_builtin(Builtin::MemoryInit, &[m, d, dst, src, len]);
            }
            Operator::DataDrop { data_index } => {
                let d = self.builder.ins().iconst(I32, *data_index as i64);
                self.call_builtin(Builtin::DataDrop, &[d]);
            }
            Operator::MemoryDiscard { .. } => return Err(unsupported("memory.discard")),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
