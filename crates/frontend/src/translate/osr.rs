//! On-stack replacement of loops that run long in quick first-tier code.
//!
//! Quick code is replaced by optimised code for the calls that come after
//! (lazy compilation, `count_heat`), but a call already running it stays
//! in it, and a loop entered once (a program's main loop) would run its
//! whole course about twice as slowly. So quick code checks at loop
//! headers, each time the function's heat counter reaches a multiple of
//! [`OSR_CHECK_INTERVAL`], whether the runtime has an optimised entry for
//! that loop ([`Builtin::OsrCode`]; it compiles one in the background once
//! the function's replacement exists and its quick code still loops). If
//! so, the quick frame tail-calls it with every local as an argument.
//!
//! The entry ([`TranslationEnv::osr_entry`]) is the whole function
//! translated again, optimised: its entry block takes the locals and jumps
//! to the loop's header; the code before the loop is translated as usual
//! but unreachable (Cranelift removes it), so the blocks, branches and
//! handlers around the loop are those of the function. A loop qualifies
//! when nothing is on the operand stack at its start, it takes no
//! parameters and no legacy `try` encloses it (whose handlers hold
//! exceptions in variables that only the code before the loop sets).
//!
//! [`TranslationEnv::osr_entry`]: super::TranslationEnv::osr_entry

use cranelift_codegen::ir::{self, InstBuilder, Value, types};
use wasmparser::FunctionBody;

use super::{
    FrameKind, FuncTranslator, MAX_OSR_LOCALS, OSR_CHECK_INTERVAL, Translated, clif_type,
    wasm_signature,
};
use crate::builtins::Builtin;
use crate::error::{FrontendError, unsupported};
use crate::types::{FuncType, WasmType};

/// The types of a function's locals, parameters first (for the signature
/// of an on-stack-replacement entry), or why its loops cannot be entered
/// that way: more than [`MAX_OSR_LOCALS`] locals, or one holding an
/// exception (whose reclamation counts the references on the stack).
pub(super) fn local_types(
    ty: &FuncType,
    body: &FunctionBody<'_>,
) -> Result<Vec<WasmType>, FrontendError> {
    let types = super::variables::local_types(ty, body, MAX_OSR_LOCALS)?
        .ok_or_else(|| unsupported("on-stack replacement (too many locals)"))?;
    if types
        .iter()
        .any(|wt| matches!(wt, WasmType::Ref(r) if r.heap.is_exn()))
    {
        return Err(unsupported(
            "on-stack replacement (a local holds exceptions)",
        ));
    }
    Ok(types)
}

/// The signature of the on-stack-replacement entry of a loop of a function
/// of type `ty` with locals of `locals` (parameters included): callee
/// context, caller context, then every local; the function's results.
pub(super) fn osr_signature(
    ty: &FuncType,
    locals: &[WasmType],
    pointer: ir::Type,
) -> ir::Signature {
    let mut sig = wasm_signature(ty, pointer);
    sig.params.truncate(2);
    sig.params.extend(
        locals
            .iter()
            .map(|t| ir::AbiParam::new(clif_type(*t, pointer))),
    );
    sig
}

impl FuncTranslator<'_, '_> {
    /// Whether a loop opened here (taking `params` values) can be entered
    /// by on-stack replacement.
    pub(super) fn osr_eligible(&self, params: usize) -> bool {
        params == 0
            && self.stack.is_empty()
            && self.osr_locals.is_some()
            && !self
                .control
                .iter()
                .any(|f| matches!(f.kind, FrameKind::LegacyTry(_)))
    }

    /// For an on-stack-replacement entry of loop `k`: the entry block sets
    /// every local from the parameters (`locals`, the entry block's
    /// parameters after the two contexts) and jumps to the loop's header;
    /// translation goes on in a block nothing reaches.
    pub(super) fn enter_osr(&mut self, k: u32, locals: &[Value]) -> Translated {
        if locals.len() != self.locals.len() {
            return Err(unsupported("on-stack replacement of this loop"));
        }
        for (local, &v) in self.locals.clone().into_iter().zip(locals) {
            self.local_set(local, v);
        }
        let header = self.builder.create_block();
        self.builder.ins().jump(header, &[]);
        let dead = self.builder.create_block();
        self.builder.switch_to_block(dead);
        self.builder.seal_block(dead);
        self.osr_target = Some((k, header));
        Ok(())
    }

    /// The header block of loop number `ordinal`, opened with `params`
    /// parameters of types `tys`: the entry block's target when this is the
    /// loop an on-stack-replacement entry enters, else a new block.
    pub(super) fn loop_header(
        &mut self,
        ordinal: u32,
        eligible: bool,
        tys: &[WasmType],
    ) -> ir::Block {
        match self.osr_target {
            Some((k, header)) if k == ordinal && eligible => {
                self.osr_found = true;
                header
            }
            _ => self.new_block_with(tys),
        }
    }

    /// In quick code, at the header of loop `ordinal` (eligible), after
    /// the heat counter became `heat`: every [`OSR_CHECK_INTERVAL`] counts,
    /// asks for the loop's optimised entry and, when there is one,
    /// tail-calls it with the locals.
    pub(super) fn osr_check(&mut self, ordinal: u32, heat: Value) {
        let ptr = self.env.pointer_type();
        let ask = self.builder.create_block();
        let enter = self.builder.create_block();
        let go_on = self.builder.create_block();
        self.builder.set_cold_block(ask);
        self.builder.set_cold_block(enter);
        let due = self
            .builder
            .ins()
            .band_imm_u(heat, (OSR_CHECK_INTERVAL - 1) as i64);
        self.builder.ins().brif(due, go_on, &[], ask, &[]);

        self.builder.switch_to_block(ask);
        self.builder.seal_block(ask);

        let defined = self.env.info.defined_func_index(self.index).0;
        let func = self.builder.ins().iconst(types::I32, i64::from(defined));
        let lp = self.builder.ins().iconst(types::I32, i64::from(ordinal));
        let code = self
            .call_builtin(Builtin::OsrCode, &[func, lp])
            .expect("the builtin returns a pointer");
        self.builder.ins().brif(code, enter, &[], go_on, &[]);

        self.builder.switch_to_block(enter);
        self.builder.seal_block(enter);
        // The entry takes over this call: what the fuel counter holds goes
        // to the context, where the entry reads it.
        self.fuel_save();
        let locals = self
            .osr_locals
            .as_deref()
            .expect("eligible loops have their locals' types");
        let sig = osr_signature(self.env.info.func_type(self.index), locals, ptr);
        let sig = self.builder.import_signature(sig);
        let mut args = vec![self.vmctx, self.vmctx];
        for i in 0..self.locals.len() {
            let v = self.local_get(self.locals[i]);
            args.push(v);
        }
        self.builder.ins().return_call_indirect(sig, code, &args);

        self.builder.switch_to_block(go_on);
        self.builder.seal_block(go_on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::{BinaryReader, FunctionBody};

    /// The parameters count toward [`MAX_OSR_LOCALS`] as the declared
    /// locals do.
    #[test]
    fn parameters_count_toward_the_locals_limit() {
        let types = |params: usize, body: &[u8]| {
            let ty = FuncType::new(vec![WasmType::I32; params], []);
            local_types(&ty, &FunctionBody::new(BinaryReader::new(body, 0))).map(|t| t.len())
        };
        // No locals declared; then one group of 12 `i64`s.
        let (none, twelve) = (&[0x00, 0x0b][..], &[0x01, 0x0c, 0x7e, 0x0b][..]);
        assert_eq!(types(MAX_OSR_LOCALS, none).ok(), Some(MAX_OSR_LOCALS));
        assert!(types(MAX_OSR_LOCALS + 1, none).is_err());
        assert_eq!(
            types(MAX_OSR_LOCALS - 12, twelve).ok(),
            Some(MAX_OSR_LOCALS)
        );
        assert!(types(MAX_OSR_LOCALS - 11, twelve).is_err());
    }
}
