//! Calls: `call`, `call_indirect`, and the tail calls `return_call` and
//! `return_call_indirect` (Cranelift's `return_call*` in the `tail`
//! convention, so they run in constant stack).

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData};

use super::exceptions::CallTarget;
use super::{FuncTranslator, Translated};
use crate::index::{FuncIndex, TableIndex, TypeIndex};
use crate::trap::TrapKind;

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_call(&mut self, function_index: u32) -> Translated {
        // The callee uses the same fuel.
        self.fuel_save();
        self.call(FuncIndex(function_index), false)
    }

    pub(super) fn visit_return_call(&mut self, function_index: u32) -> Translated {
        self.fuel_save();
        self.release_held(0);
        self.call(FuncIndex(function_index), true)
    }

    pub(super) fn visit_call_indirect(&mut self, type_index: u32, table_index: u32) -> Translated {
        self.fuel_save();
        self.call_indirect(TypeIndex(type_index), TableIndex(table_index), false)
    }

    pub(super) fn visit_return_call_indirect(
        &mut self,
        type_index: u32,
        table_index: u32,
    ) -> Translated {
        self.fuel_save();
        self.release_held(0);
        self.call_indirect(TypeIndex(type_index), TableIndex(table_index), true)
    }

    /// `call` (or `return_call` when `tail`): direct to a function of this
    /// module (through its code slot in lazy mode, unless it calls itself,
    /// whose address is known when it is placed; an on-stack-replacement
    /// entry is not that function's code), or through the import's
    /// `VMFuncRef` for an imported one.
    fn call(&mut self, function_index: FuncIndex, tail: bool) -> Translated {
        let ty = self.env.info.func_type(function_index);
        let args = self.pop_n(ty.params().len());
        let results = if self.env.info.is_imported_func(function_index) {
            let funcref = self.func_ref_value(function_index);
            let sig = self.sig_ref(self.env.info.func_type_index(function_index));
            self.call_funcref(sig, funcref, &args, tail)
        } else if self.env.lazy && (function_index != self.index || self.env.osr_entry.is_some()) {
            let defined = self.env.info.defined_func_index(function_index);
            let code = self.slot_code(defined);
            let sig = self.sig_ref(self.env.info.func_type_index(function_index));
            self.call_code(sig, code, self.vmctx, &args, tail)
        } else {
            let f = self.func_ref(function_index);
            let mut call_args = vec![self.vmctx, self.vmctx];
            call_args.extend(args);
            if tail {
                self.builder.ins().return_call(f, &call_args);
                None
            } else {
                Some(self.emit_call(CallTarget::Direct(f), &call_args))
            }
        };
        self.after_call(results);
        Ok(())
    }

    /// Pushes a call's results, or ends the block after a tail call
    /// (`None`).
    pub(super) fn after_call(&mut self, results: Option<Vec<ir::Value>>) {
        match results {
            None => self.reachable = false,
            Some(results) => {
                self.stack.extend(results);
                self.fuel_after_call();
            }
        }
    }

    fn call_funcref(
        &mut self,
        sig: ir::SigRef,
        funcref: ir::Value,
        args: &[ir::Value],
        tail: bool,
    ) -> Option<Vec<ir::Value>> {
        let (code, callee_vmctx) = self.funcref_code_and_vmctx(funcref);
        self.call_code(sig, code, callee_vmctx, args, tail)
    }

    /// Calls (or tail-calls) the Wasm code at `code` with the callee's
    /// context and this function's as the caller's: the results, or `None`
    /// after a tail call.
    pub(super) fn call_code(
        &mut self,
        sig: ir::SigRef,
        code: ir::Value,
        callee_vmctx: ir::Value,
        args: &[ir::Value],
        tail: bool,
    ) -> Option<Vec<ir::Value>> {
        let mut call_args = vec![callee_vmctx, self.vmctx];
        call_args.extend_from_slice(args);
        if tail {
            self.builder
                .ins()
                .return_call_indirect(sig, code, &call_args);
            None
        } else {
            Some(self.emit_call(CallTarget::Indirect(sig, code), &call_args))
        }
    }

    /// `call_indirect` (or `return_call_indirect` when `tail`): bounds,
    /// null and signature checks, then the call.
    fn call_indirect(
        &mut self,
        type_index: TypeIndex,
        table_index: TableIndex,
        tail: bool,
    ) -> Translated {
        let index = self.pop();
        let n = self.env.info.types[type_index.index()].params().len();
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
        let type_id = self.funcref_type_id(funcref);
        // The function's type must be the expected one or (GC) a declared
        // subtype of it.
        let matches = self.type_id_matches(type_id, type_index.0, false);
        self.builder
            .ins()
            .trapz(matches, TrapKind::IndirectCallTypeMismatch.code());
        let sig = self.sig_ref(type_index);
        let results = self.call_funcref(sig, funcref, &args, tail);
        self.after_call(results);
        Ok(())
    }
}
