//! Tables, references and calls.
//!
//! A `funcref` is a pointer to a `VMFuncRef` (code pointer, canonical type
//! id, context) or null; an `externref` is a non-zero host handle or null.
//! Both are pointer-sized in compiled code.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, types};
use wasmparser::Operator;

use super::FuncTranslator;
use super::env::readonly;
use crate::error::FrontendError;
use crate::trap::TrapKind;
use crate::vmoffsets::{self, Builtin};

impl FuncTranslator<'_, '_> {
    /// `call` (or `return_call` when `tail`): direct to a function of this
    /// module, or through the import's `VMFuncRef` for an imported one.
    pub(super) fn call(&mut self, function_index: u32, tail: bool) -> Result<(), FrontendError> {
        let ty = self.env.info.func_type(function_index);
        let args = self.pop_n(ty.params().len());
        if tail {
            // The callee uses the same fuel.
            self.fuel_save();
        }
        let inst = if self.env.info.is_imported_func(function_index) {
            let offset = self.env.offsets.funcref(function_index);
            let funcref = self.vmctx_load(offset);
            let sig = self.sig_ref(self.env.info.funcs[function_index as usize]);
            self.call_funcref(sig, funcref, &args, tail)
        } else {
            let f = self.func_ref(function_index);
            let mut call_args = vec![self.vmctx, self.vmctx];
            call_args.extend(args);
            if tail {
                self.builder.ins().return_call(f, &call_args)
            } else {
                self.builder.ins().call(f, &call_args)
            }
        };
        self.after_call(inst, tail);
        Ok(())
    }

    /// Pushes a call's results, or ends the block after a tail call.
    fn after_call(&mut self, inst: ir::Inst, tail: bool) {
        if tail {
            self.reachable = false;
        } else {
            self.push_call_results(inst);
        }
    }

    fn call_funcref(
        &mut self,
        sig: ir::SigRef,
        funcref: ir::Value,
        args: &[ir::Value],
        tail: bool,
    ) -> ir::Inst {
        let ptr = self.env.pointer_type();
        let code = self.builder.ins().load(
            ptr,
            MemFlagsData::trusted().with_readonly(),
            funcref,
            vmoffsets::funcref::FUNC_PTR,
        );
        let callee_vmctx = self.builder.ins().load(
            ptr,
            MemFlagsData::trusted().with_readonly(),
            funcref,
            vmoffsets::funcref::VMCTX,
        );
        let mut call_args = vec![callee_vmctx, self.vmctx];
        call_args.extend_from_slice(args);
        if tail {
            self.builder
                .ins()
                .return_call_indirect(sig, code, &call_args)
        } else {
            self.builder.ins().call_indirect(sig, code, &call_args)
        }
    }

    /// `call_indirect` (or `return_call_indirect` when `tail`): bounds,
    /// null and signature checks, then the call.
    pub(super) fn call_indirect(
        &mut self,
        type_index: u32,
        table_index: u32,
        tail: bool,
    ) -> Result<(), FrontendError> {
        let index = self.pop();
        let n = self.env.info.types[type_index as usize].params().len();
        let args = self.pop_n(n);
        let addr = self.table_elem_addr(table_index, index, TrapKind::UndefinedElement);
        let ptr = self.env.pointer_type();
        let funcref = self
            .builder
            .ins()
            .load(ptr, MemFlagsData::trusted(), addr, 0);
        self.builder
            .ins()
            .trapz(funcref, TrapKind::UninitializedElement.code());
        let type_id = self.builder.ins().load(
            types::I32,
            MemFlagsData::trusted().with_readonly(),
            funcref,
            vmoffsets::funcref::TYPE_ID,
        );
        let expected = self.env.type_ids[type_index as usize];
        let mismatch = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::NotEqual, type_id, expected as i64);
        self.builder
            .ins()
            .trapnz(mismatch, TrapKind::IndirectCallTypeMismatch.code());
        if tail {
            self.fuel_save();
        }
        let sig = self.sig_ref(type_index);
        let inst = self.call_funcref(sig, funcref, &args, tail);
        self.after_call(inst, tail);
        Ok(())
    }

    /// Translates a table or reference operator; `Ok(false)` if `op` is not one.
    pub(super) fn table_op(&mut self, op: &Operator<'_>) -> Result<bool, FrontendError> {
        let ptr = self.env.pointer_type();
        match op {
            Operator::RefNull { .. } => {
                let v = self.builder.ins().iconst(ptr, 0);
                self.push(v);
            }
            Operator::RefIsNull => {
                let r = self.pop();
                let c = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
                let v = self.builder.ins().uextend(types::I32, c);
                self.push(v);
            }
            Operator::RefFunc { function_index } => {
                let offset = self.env.offsets.funcref(*function_index);
                let v = self.builder.ins().load(ptr, readonly(), self.vmctx, offset);
                self.push(v);
            }
            Operator::TableGet { table } => {
                let index = self.pop();
                let addr = self.table_elem_addr(*table, index, TrapKind::TableOutOfBounds);
                let v = self
                    .builder
                    .ins()
                    .load(ptr, MemFlagsData::trusted(), addr, 0);
                self.push(v);
            }
            Operator::TableSet { table } => {
                let value = self.pop();
                let index = self.pop();
                let addr = self.table_elem_addr(*table, index, TrapKind::TableOutOfBounds);
                self.builder
                    .ins()
                    .store(MemFlagsData::trusted(), value, addr, 0);
            }
            Operator::TableSize { table } => {
                let def = self.table_def(*table);
                let len = self.table_length(def);
                let v = self.builder.ins().ireduce(types::I32, len);
                self.push(v);
            }
            Operator::TableGrow { table } => {
                let delta = self.pop();
                let init = self.pop();
                let delta = self.builder.ins().uextend(types::I64, delta);
                let t = self.builder.ins().iconst(types::I32, *table as i64);
                let old = self
                    .call_builtin(Builtin::TableGrow, &[t, init, delta])
                    .unwrap();
                let old = self.builder.ins().ireduce(types::I32, old);
                self.push(old);
            }
            Operator::TableFill { table } => {
                let len = self.pop();
                let val = self.pop();
                let dst = self.pop();
                let dst = self.builder.ins().uextend(types::I64, dst);
                let len = self.builder.ins().uextend(types::I64, len);
                let t = self.builder.ins().iconst(types::I32, *table as i64);
                self.call_builtin(Builtin::TableFill, &[t, dst, val, len]);
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let ext = |t: &mut Self, v| t.builder.ins().uextend(types::I64, v);
                let (dst, src, len) = (ext(self, dst), ext(self, src), ext(self, len));
                let dt = self.builder.ins().iconst(types::I32, *dst_table as i64);
                let st = self.builder.ins().iconst(types::I32, *src_table as i64);
                self.call_builtin(Builtin::TableCopy, &[dt, st, dst, src, len]);
            }
            Operator::TableInit { elem_index, table } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let dst = self.builder.ins().uextend(types::I64, dst);
                let t = self.builder.ins().iconst(types::I32, *table as i64);
                let e = self.builder.ins().iconst(types::I32, *elem_index as i64);
                self.call_builtin(Builtin::TableInit, &[t, e, dst, src, len]);
            }
            Operator::ElemDrop { elem_index } => {
                let e = self.builder.ins().iconst(types::I32, *elem_index as i64);
                self.call_builtin(Builtin::ElemDrop, &[e]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
