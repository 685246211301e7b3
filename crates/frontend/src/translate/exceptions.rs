//! Exception handling: `throw`, `throw_ref` and `try_table` (the `exnref`
//! design), on Cranelift's exception tables.
//!
//! - A tag is identified by its address (`VMTag`, one slot per tag in the
//!   context: an imported tag is the exporter's).
//! - An exception that leaves a function is a `VMException` (tag and
//!   payload slots) made by the `throw` builtin, which then unwinds: it
//!   walks the frames above by their frame pointers and resumes at the
//!   first handler whose tag matches (`backend::exceptions`). Inside a
//!   `try_table`, every call is a `try_call` whose exception table lists the
//!   enclosing `catch` clauses, innermost first, each as a small landing
//!   block that unpacks the payload and branches to the clause's label;
//!   the table's exception tag is the context offset of the clause's tag
//!   slot, and the context is recorded with the table, so the unwinder can
//!   compare tags without knowing the module.
//! - A `throw` (or `throw_ref`) lexically inside a `try_table` of the same
//!   function does not unwind: it compares tags here and branches to the
//!   matching clause directly, and calls the builtin only when none
//!   matches.
//! - Tail calls leave the `try_table` (their frame is gone), so they stay
//!   plain tail calls.

use cranelift_codegen::ir::{
    self, BlockArg, ExceptionTableData, ExceptionTableItem, ExceptionTag, InstBuilder,
    MemFlagsData, StackSlotData, StackSlotKind, Value, condcodes::IntCC, types,
};
use wasmparser::{Catch, TryTable};

use super::{FrameKind, FuncTranslator, Translated, block_args, clif_type};
use crate::builtins::Builtin;
use crate::index::TypeIndex;
use crate::trap::TrapKind;
use crate::types::WasmType;
use crate::vmoffsets;

/// One `catch` clause of a `try_table` or of a legacy `try`.
#[derive(Debug)]
pub(super) struct CatchClause {
    /// The tag (`None`: `catch_all`).
    pub(super) tag: Option<u32>,
    /// What becomes of the caught exception object.
    pub(super) hold: Hold,
    /// Where the clause branches (a label's block, or a legacy handler).
    pub(super) target: ir::Block,
    /// Its landing block for exceptions coming from calls (parameter: the
    /// `VMException` pointer), made on first use.
    pub(super) landing: Option<ir::Block>,
}

/// What a clause does with the exception object it catches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Hold {
    /// Takes the payload only: the object is released for reuse.
    Release,
    /// `catch_ref`/`catch_all_ref`: its label also receives the `exnref`,
    /// which lives from now on as long as its instance.
    Escape,
    /// A legacy handler that may `rethrow` it: its block also receives the
    /// object, which the handler holds until it is left (`legacy.rs`).
    Keep,
}

/// What a call calls.
pub(super) enum CallTarget {
    /// A function of this module, linked when placed.
    Direct(ir::FuncRef),
    /// Code at an address, with this signature.
    Indirect(ir::SigRef, Value),
}

fn exn_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl FuncTranslator<'_, '_> {
    /// The payload types of tag `tag`.
    fn tag_params(&self, tag: u32) -> Vec<WasmType> {
        let ty: TypeIndex = self.env.info.tags[tag as usize];
        self.env.info.types[ty.index()].params().to_vec()
    }

    /// The machine types of tag `tag`'s payload.
    pub(super) fn payload_types(&self, tag: u32) -> Vec<ir::Type> {
        let ptr = self.env.pointer_type();
        self.tag_params(tag)
            .into_iter()
            .map(|t| clif_type(t, ptr))
            .collect()
    }

    /// The `catch` clauses an exception raised here would meet, innermost
    /// first, up to the first `catch_all` (as (frame, clause) positions):
    /// those of the enclosing `try_table`s and of the legacy `try`s whose
    /// body this is. A `try ... delegate l` body skips to label `l`.
    fn active_catches(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut f = self.control.len();
        while f > 0 {
            f -= 1;
            let clauses = match &self.control[f].kind {
                FrameKind::TryTable(clauses) => clauses,
                FrameKind::LegacyTry(t) if t.in_body() => {
                    if let Some(l) = t.delegate {
                        // Label 0 is the frame around the `try`.
                        f -= l as usize;
                        continue;
                    }
                    &t.clauses
                }
                _ => continue,
            };
            for (c, clause) in clauses.iter().enumerate() {
                out.push((f, c));
                if clause.tag.is_none() {
                    return out;
                }
            }
        }
        out
    }

    fn clause(&self, (f, c): (usize, usize)) -> &CatchClause {
        match &self.control[f].kind {
            FrameKind::TryTable(clauses) => &clauses[c],
            FrameKind::LegacyTry(t) => &t.clauses[c],
            _ => unreachable!("a try_table or try frame"),
        }
    }

    fn clause_mut(&mut self, (f, c): (usize, usize)) -> &mut CatchClause {
        match &mut self.control[f].kind {
            FrameKind::TryTable(clauses) => &mut clauses[c],
            FrameKind::LegacyTry(t) => &mut t.clauses[c],
            _ => unreachable!("a try_table or try frame"),
        }
    }

    /// A call (never a tail call): a plain call, or inside a `try_table` a
    /// `try_call` whose exception edges go to the clauses' landing blocks.
    /// Returns the call's results.
    pub(super) fn emit_call(&mut self, target: CallTarget, args: &[Value]) -> Vec<Value> {
        let catches = self.active_catches();
        // Inside legacy handlers that hold their exception objects, an
        // exception from the call that leaves them must release those
        // objects: on its way to a clause outside them, and on its way out
        // of the function (a landing that releases and throws it on).
        let held = self.held_from(0);
        let escapes = catches
            .last()
            .is_none_or(|&pos| self.clause(pos).tag.is_some());
        if catches.is_empty() && held.is_empty() {
            let inst = match target {
                CallTarget::Direct(f) => self.builder.ins().call(f, args),
                CallTarget::Indirect(sig, code) => {
                    self.builder.ins().call_indirect(sig, code, args)
                }
            };
            return self.builder.inst_results(inst).to_vec();
        }
        let sig = match target {
            CallTarget::Direct(f) => self.builder.func.dfg.ext_funcs[f].signature,
            CallTarget::Indirect(sig, _) => sig,
        };
        let returns: Vec<ir::Type> = self.builder.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|r| r.value_type)
            .collect();
        let cont = self.builder.create_block();
        for t in &returns {
            self.builder.append_block_param(cont, *t);
        }
        let ret_args: Vec<BlockArg> = (0..returns.len() as u32)
            .map(BlockArg::TryCallRet)
            .collect();
        let normal = self.builder.func.dfg.block_call(cont, &ret_args);
        let mut items = vec![ExceptionTableItem::Context(self.vmctx)];
        // Landings to fill after the call: the clause they lead to (`None`:
        // out of the function), and whether this call is their only
        // predecessor (a landing that releases held objects is this call's
        // own; the others are the clause's, shared).
        let mut to_fill = Vec::new();
        let ptr = self.env.pointer_type();
        for pos in catches {
            let shared = self.held_from(pos.0 + 1).is_empty();
            let landing = match self.clause(pos).landing {
                Some(b) if shared => b,
                _ => {
                    let b = self.builder.create_block();
                    self.builder.append_block_param(b, ptr);
                    if shared {
                        self.clause_mut(pos).landing = Some(b);
                    }
                    to_fill.push((Some(pos), b, !shared));
                    b
                }
            };
            let call = self
                .builder
                .func
                .dfg
                .block_call(landing, &[BlockArg::TryCallExn(0)]);
            items.push(match self.clause(pos).tag {
                Some(tag) => {
                    ExceptionTableItem::Tag(ExceptionTag::from_u32(self.tag_slot(tag)), call)
                }
                None => ExceptionTableItem::Default(call),
            });
        }
        if escapes && !held.is_empty() {
            let b = self.builder.create_block();
            self.builder.append_block_param(b, ptr);
            let call = self
                .builder
                .func
                .dfg
                .block_call(b, &[BlockArg::TryCallExn(0)]);
            items.push(ExceptionTableItem::Default(call));
            to_fill.push((None, b, true));
        }
        let table = self
            .builder
            .func
            .dfg
            .exception_tables
            .push(ExceptionTableData::new(sig, normal, items));
        match target {
            CallTarget::Direct(f) => self.builder.ins().try_call(f, args, table),
            CallTarget::Indirect(_, code) => {
                self.builder.ins().try_call_indirect(code, args, table)
            }
        };
        // The call ended the block: now the new landing blocks can be
        // filled (each unpacks the exception and branches to its label).
        for (pos, block, only_here) in to_fill {
            self.builder.switch_to_block(block);
            let exn = self.builder.block_params(block)[0];
            // The callees used fuel and wrote what is left back: continue
            // from that, as after a call that returns.
            self.fuel_after_call();
            match pos {
                Some(pos) => self.unpack_and_branch(pos, exn),
                None => {
                    // On to the callers, as a rethrow.
                    self.release_held(0);
                    self.fuel_save();
                    let fp = self.builder.ins().get_frame_pointer(ptr);
                    self.call_builtin(Builtin::ThrowRef, &[exn, fp]);
                    self.trap(TrapKind::Unreachable);
                }
            }
            if only_here {
                self.builder.seal_block(block);
            }
        }
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
        self.builder.block_params(cont).to_vec()
    }

    /// The context offset of tag `tag`'s slot, which also names the tag in
    /// exception tables (the unwinder reads the tag from the recorded
    /// context at that offset).
    fn tag_slot(&self, tag: u32) -> u32 {
        self.env.offsets.tag(tag) as u32
    }

    /// Branches to clause `pos`'s label with the payload of exception `exn`
    /// (and `exn` itself for the `_ref` forms and held legacy handlers),
    /// releasing what the legacy handlers left on the way hold.
    fn unpack_and_branch(&mut self, pos: (usize, usize), exn: Value) {
        self.release_held(pos.0 + 1);
        let (tag, hold, target) = {
            let c = self.clause(pos);
            (c.tag, c.hold, c.target)
        };
        let mut values = Vec::new();
        if let Some(tag) = tag {
            let ptr = self.env.pointer_type();
            let payload =
                self.builder
                    .ins()
                    .load(ptr, exn_flags(), exn, vmoffsets::exception::PAYLOAD);
            for (i, t) in self.tag_params(tag).into_iter().enumerate() {
                let v = self.builder.ins().load(
                    clif_type(t, ptr),
                    exn_flags(),
                    payload,
                    i as i32 * vmoffsets::exception::SLOT,
                );
                values.push(v);
            }
        }
        match hold {
            Hold::Escape => {
                // An exnref to it exists from now on.
                let one = self.builder.ins().iconst(types::I32, 1);
                self.builder
                    .ins()
                    .store(exn_flags(), one, exn, vmoffsets::exception::ESCAPED);
                values.push(exn);
            }
            Hold::Keep => values.push(exn),
            Hold::Release => self.release_exception(exn),
        }
        self.builder.ins().jump(target, &block_args(&values));
    }

    /// Gives up one hold on exception `exn`: the last one recycles it
    /// (unless an `exnref` to it exists).
    pub(super) fn release_exception(&mut self, exn: Value) {
        self.call_builtin(Builtin::ExnRelease, &[exn]);
    }

    pub(super) fn visit_try_table(&mut self, try_table: TryTable) -> Translated {
        self.fuel_flush();
        // Catch labels are outside the try_table: resolve them first.
        let mut clauses = Vec::with_capacity(try_table.catches.len());
        for catch in &try_table.catches {
            let (tag, hold, label) = match *catch {
                Catch::One { tag, label } => (Some(tag), Hold::Release, label),
                Catch::OneRef { tag, label } => (Some(tag), Hold::Escape, label),
                Catch::All { label } => (None, Hold::Release, label),
                Catch::AllRef { label } => (None, Hold::Escape, label),
            };
            let (target, _) = self.branch_to(label);
            clauses.push(CatchClause {
                tag,
                hold,
                target,
                landing: None,
            });
        }
        let (params, results) = self.block_type(try_table.ty)?;
        let next = self.new_block_with(&results);
        let height = self.stack.len() - params.len();
        self.push_frame(
            FrameKind::TryTable(clauses),
            next,
            params.len(),
            results.len(),
            height,
        );
        Ok(())
    }

    /// Writes `values` to a new stack slot of 16-byte slots; its address.
    pub(super) fn spill_payload(&mut self, values: &[Value]) -> Value {
        let ptr = self.env.pointer_type();
        if values.is_empty() {
            return self.builder.ins().iconst(ptr, 0);
        }
        let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            values.len() as u32 * vmoffsets::exception::SLOT as u32,
            4,
        ));
        for (i, v) in values.iter().enumerate() {
            self.builder
                .ins()
                .stack_store(ptr, *v, slot, i as i32 * vmoffsets::exception::SLOT);
        }
        self.builder.ins().stack_addr(ptr, slot, 0)
    }

    /// The address of tag `tag` (its identity).
    fn tag_addr(&mut self, tag: u32) -> Value {
        self.vmctx_load(self.tag_slot(tag) as i32)
    }

    pub(super) fn visit_throw(&mut self, tag_index: u32) -> Translated {
        self.fuel_flush();
        let n = self.tag_params(tag_index).len();
        let payload = self.pop_n(n);
        let catches = self.active_catches();
        let thrown = (!catches.is_empty()).then(|| self.tag_addr(tag_index));
        for pos in catches {
            let (tag, hold, target) = {
                let c = self.clause(pos);
                (c.tag, c.hold, c.target)
            };
            // A tag whose payload has other machine types is another tag
            // (a tag import matches only a tag of an equivalent type):
            // that clause never takes this exception, and its label does
            // not take this payload. (Payloads of the same machine types
            // may still be the same tag: compared at run time below.)
            if tag.is_some_and(|t| {
                t != tag_index && self.payload_types(t) != self.payload_types(tag_index)
            }) {
                continue;
            }
            let matched = self.builder.create_block();
            let statically = tag.is_none() || tag == Some(tag_index);
            if statically {
                self.builder.ins().jump(matched, &[]);
            } else {
                let other = self.tag_addr(tag.unwrap());
                let same = self
                    .builder
                    .ins()
                    .icmp(IntCC::Equal, thrown.unwrap(), other);
                let next = self.builder.create_block();
                self.builder.ins().brif(same, matched, &[], next, &[]);
                self.builder.seal_block(next);
                self.seal_and_branch(pos.0, matched, tag, hold, target, tag_index, &payload);
                self.builder.switch_to_block(next);
                continue;
            }
            self.seal_and_branch(pos.0, matched, tag, hold, target, tag_index, &payload);
            self.reachable = false;
            return Ok(());
        }
        // No clause here takes it: unwind to the callers, which continue
        // with the fuel left here.
        self.fuel_save();
        self.release_held(0);
        let payload_ptr = self.spill_payload(&payload);
        let t = self.builder.ins().iconst(types::I32, tag_index as i64);
        let fp = self
            .builder
            .ins()
            .get_frame_pointer(self.env.pointer_type());
        self.call_builtin(Builtin::Throw, &[t, payload_ptr, fp]);
        self.trap(TrapKind::Unreachable);
        self.reachable = false;
        Ok(())
    }

    /// Fills `matched` (a local throw caught by a clause): branches to the
    /// clause's label with the payload, making the exception object if it
    /// wants one (an `exnref`, or one a legacy handler holds).
    #[allow(clippy::too_many_arguments)]
    fn seal_and_branch(
        &mut self,
        frame: usize,
        matched: ir::Block,
        clause_tag: Option<u32>,
        hold: Hold,
        target: ir::Block,
        thrown: u32,
        payload: &[Value],
    ) {
        self.builder.seal_block(matched);
        self.builder.switch_to_block(matched);
        // Legacy handlers left on the way release what they hold.
        self.release_held(frame + 1);
        let mut values = if clause_tag.is_some() {
            payload.to_vec()
        } else {
            Vec::new()
        };
        if hold != Hold::Release {
            let payload_ptr = self.spill_payload(payload);
            let t = self.builder.ins().iconst(types::I32, thrown as i64);
            let exn = self
                .call_builtin(Builtin::ExnNew, &[t, payload_ptr])
                .unwrap();
            if hold == Hold::Keep {
                // Only the handler holds it: not an exnref.
                let zero = self.builder.ins().iconst(types::I32, 0);
                self.builder
                    .ins()
                    .store(exn_flags(), zero, exn, vmoffsets::exception::ESCAPED);
            }
            values.push(exn);
        }
        self.builder.ins().jump(target, &block_args(&values));
    }

    pub(super) fn visit_throw_ref(&mut self) -> Translated {
        self.fuel_flush();
        let exn = self.pop();
        self.builder
            .ins()
            .trapz(exn, TrapKind::NullExceptionReference.code());
        self.throw_exception(exn);
        Ok(())
    }

    /// Throws exception object `exn` (not null): to the first clause here
    /// whose tag matches, else to the callers.
    pub(super) fn throw_exception(&mut self, exn: Value) {
        let catches = self.active_catches();
        if !catches.is_empty() {
            let ptr = self.env.pointer_type();
            let thrown = self
                .builder
                .ins()
                .load(ptr, exn_flags(), exn, vmoffsets::exception::TAG);
            for pos in catches {
                let tag = self.clause(pos).tag;
                let matched = self.builder.create_block();
                match tag {
                    None => {
                        self.builder.ins().jump(matched, &[]);
                        self.builder.seal_block(matched);
                        self.builder.switch_to_block(matched);
                        self.unpack_and_branch(pos, exn);
                        self.reachable = false;
                        return;
                    }
                    Some(tag) => {
                        let other = self.tag_addr(tag);
                        let same = self.builder.ins().icmp(IntCC::Equal, thrown, other);
                        let next = self.builder.create_block();
                        self.builder.ins().brif(same, matched, &[], next, &[]);
                        self.builder.seal_block(next);
                        self.builder.seal_block(matched);
                        self.builder.switch_to_block(matched);
                        self.unpack_and_branch(pos, exn);
                        self.builder.switch_to_block(next);
                    }
                }
            }
        }
        self.fuel_save();
        self.release_held(0);
        let fp = self
            .builder
            .ins()
            .get_frame_pointer(self.env.pointer_type());
        self.call_builtin(Builtin::ThrowRef, &[exn, fp]);
        self.trap(TrapKind::Unreachable);
        self.reachable = false;
    }

    /// At the end of a `try_table` (or of a legacy `try`'s body): its
    /// landing blocks have all their predecessors.
    pub(super) fn seal_landings(&mut self, clauses: &[CatchClause]) {
        for c in clauses {
            if let Some(b) = c.landing {
                self.builder.seal_block(b);
            }
        }
    }
}
