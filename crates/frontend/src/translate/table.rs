//! Tables and references.
//!
//! A `funcref` is a pointer to a `VMFuncRef` (code pointer, canonical type
//! id, context) or null; an `externref` is a non-zero host handle or null.
//! Both are pointer-sized in compiled code.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, types};
use wasmparser::{HeapType, ValType};

use super::{FuncTranslator, Translated};
use crate::builtins::Builtin;
use crate::error::unsupported;
use crate::index::{FuncIndex, TableIndex};
use crate::trap::TrapKind;

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_ref_null(&mut self, _hty: HeapType) -> Translated {
        let v = self.builder.ins().iconst(self.env.pointer_type(), 0);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_ref_is_null(&mut self) -> Translated {
        let r = self.pop();
        let c = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
        let v = self.builder.ins().uextend(types::I32, c);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_ref_func(&mut self, function_index: u32) -> Translated {
        let v = self.func_ref_value(FuncIndex(function_index));
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_typed_select(&mut self, _ty: ValType) -> Translated {
        self.visit_select()
    }

    pub(super) fn visit_typed_select_multi(&mut self, _tys: Vec<ValType>) -> Translated {
        // Not valid in any standard yet: the validator refuses it first.
        Err(unsupported("select with several results"))
    }

    pub(super) fn visit_table_get(&mut self, table: u32) -> Translated {
        let index = self.pop();
        let addr = self.table_elem_addr(TableIndex(table), index, TrapKind::TableOutOfBounds);
        let ptr = self.env.pointer_type();
        let v = self
            .builder
            .ins()
            .load(ptr, MemFlagsData::trusted(), addr, 0);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_table_set(&mut self, table: u32) -> Translated {
        let value = self.pop();
        let index = self.pop();
        let addr = self.table_elem_addr(TableIndex(table), index, TrapKind::TableOutOfBounds);
        self.builder
            .ins()
            .store(MemFlagsData::trusted(), value, addr, 0);
        Ok(())
    }

    fn is_table64(&self, table: u32) -> bool {
        self.env.info.tables[table as usize].table64
    }

    /// An index or length of table `table`'s index type, as an `i64`.
    fn table_index_to_i64(&mut self, table: u32, v: Value) -> Value {
        if self.is_table64(table) {
            v
        } else {
            self.builder.ins().uextend(types::I64, v)
        }
    }

    /// A size or old size (`i64`) as table `table`'s index type.
    fn i64_to_table_index(&mut self, table: u32, v: Value) -> Value {
        if self.is_table64(table) {
            v
        } else {
            self.builder.ins().ireduce(types::I32, v)
        }
    }

    pub(super) fn visit_table_size(&mut self, table: u32) -> Translated {
        let def = self.table_def(TableIndex(table));
        let len = self.table_length(def);
        let v = self.i64_to_table_index(table, len);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_table_grow(&mut self, table: u32) -> Translated {
        let delta = self.pop();
        let init = self.pop();
        let delta = self.table_index_to_i64(table, delta);
        let t = self.builder.ins().iconst(types::I32, table as i64);
        let old = self
            .call_builtin(Builtin::TableGrow, &[t, init, delta])
            .unwrap();
        self.trap_if_grow_trapped(old);
        let old = self.i64_to_table_index(table, old);
        self.push(old);
        Ok(())
    }

    pub(super) fn visit_table_fill(&mut self, table: u32) -> Translated {
        let len = self.pop();
        let val = self.pop();
        let dst = self.pop();
        let dst = self.table_index_to_i64(table, dst);
        let len = self.table_index_to_i64(table, len);
        let t = self.builder.ins().iconst(types::I32, table as i64);
        self.call_builtin(Builtin::TableFill, &[t, dst, val, len]);
        Ok(())
    }

    pub(super) fn visit_table_copy(&mut self, dst_table: u32, src_table: u32) -> Translated {
        let len = self.pop();
        let src = self.pop();
        let dst = self.pop();
        // The length has the narrower of the two index types.
        let len_table = if self.is_table64(dst_table) {
            src_table
        } else {
            dst_table
        };
        let (dst, src, len) = (
            self.table_index_to_i64(dst_table, dst),
            self.table_index_to_i64(src_table, src),
            self.table_index_to_i64(len_table, len),
        );
        let dt = self.builder.ins().iconst(types::I32, dst_table as i64);
        let st = self.builder.ins().iconst(types::I32, src_table as i64);
        self.call_builtin(Builtin::TableCopy, &[dt, st, dst, src, len]);
        Ok(())
    }

    pub(super) fn visit_table_init(&mut self, elem_index: u32, table: u32) -> Translated {
        let len = self.pop();
        let src = self.pop();
        let dst = self.pop();
        let dst = self.table_index_to_i64(table, dst);
        let t = self.builder.ins().iconst(types::I32, table as i64);
        let e = self.builder.ins().iconst(types::I32, elem_index as i64);
        self.call_builtin(Builtin::TableInit, &[t, e, dst, src, len]);
        Ok(())
    }

    pub(super) fn visit_elem_drop(&mut self, elem_index: u32) -> Translated {
        let e = self.builder.ins().iconst(types::I32, elem_index as i64);
        self.call_builtin(Builtin::ElemDrop, &[e]);
        Ok(())
    }
}
