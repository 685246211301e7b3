//! Typed function references: calls through a reference (`call_ref`,
//! `return_call_ref`), and the operators that test for null
//! (`ref.as_non_null`, `br_on_null`, `br_on_non_null`). The validator has
//! checked every type, so no runtime type check is needed: a non-null
//! reference of type `(ref $t)` is a function of type `$t`.

use cranelift_codegen::ir::InstBuilder;

use super::{FuncTranslator, Translated, block_args};
use crate::index::TypeIndex;
use crate::trap::TrapKind;

impl FuncTranslator<'_, '_> {
    /// `call_ref` (or `return_call_ref` when `tail`).
    fn call_ref(&mut self, type_index: u32, tail: bool) -> Translated {
        let funcref = self.pop();
        let n = self.env.info.types[type_index as usize].params().len();
        let args = self.pop_n(n);
        self.builder
            .ins()
            .trapz(funcref, TrapKind::NullFunctionReference.code());
        let sig = self.sig_ref(TypeIndex(type_index));
        let (code, callee_vmctx) = self.funcref_code_and_vmctx(funcref);
        let results = self.call_code(sig, code, callee_vmctx, &args, tail);
        self.after_call(results);
        Ok(())
    }

    pub(super) fn visit_call_ref(&mut self, type_index: u32) -> Translated {
        self.fuel_save();
        self.call_ref(type_index, false)
    }

    pub(super) fn visit_return_call_ref(&mut self, type_index: u32) -> Translated {
        self.fuel_save();
        self.release_held(0);
        self.call_ref(type_index, true)
    }

    pub(super) fn visit_ref_as_non_null(&mut self) -> Translated {
        let r = self.pop();
        self.builder.ins().trapz(r, TrapKind::NullReference.code());
        self.push(r);
        Ok(())
    }

    /// `br_on_null`: branches with the operands below the reference when
    /// it is null; otherwise continues with it.
    pub(super) fn visit_br_on_null(&mut self, relative_depth: u32) -> Translated {
        self.fuel_flush();
        let r = self.pop();
        let (target, n) = self.branch_to(relative_depth);
        let args = block_args(self.peek_n(n));
        let cont = self.builder.create_block();
        // brif branches to its first block when the value is non-zero.
        self.builder.ins().brif(r, cont, &[], target, &args);
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
        self.push(r);
        Ok(())
    }

    /// `br_on_non_null`: branches with the operands and the reference when
    /// it is not null; otherwise drops it and continues.
    pub(super) fn visit_br_on_non_null(&mut self, relative_depth: u32) -> Translated {
        self.fuel_flush();
        let (target, n) = self.branch_to(relative_depth);
        let args = block_args(self.peek_n(n));
        let r = self.pop();
        let cont = self.builder.create_block();
        self.builder.ins().brif(r, target, &args, cont, &[]);
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
        Ok(())
    }
}
