//! The operand stack and variables: `drop`, `select`, locals and globals.

use cranelift_codegen::ir::{
    self, BlockArg, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Value,
    condcodes::IntCC, types,
};
use wasmparser::FunctionBody;

use super::{FuncTranslator, Local, MAX_LIVE_LOCALS, Translated, clif_type};
use crate::error::FrontendError;
use crate::index::GlobalIndex;
use crate::types::{FuncType, WasmType};

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_drop(&mut self) -> Translated {
        self.pop();
        Ok(())
    }

    pub(super) fn visit_select(&mut self) -> Translated {
        let cond = self.pop();
        let (a, b) = self.pop2();
        let v = self.builder.ins().select(cond, a, b);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_local_get(&mut self, local_index: u32) -> Translated {
        self.note_use(local_index);
        let v = self.local_get(self.locals[local_index as usize]);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_local_set(&mut self, local_index: u32) -> Translated {
        self.note_use(local_index);
        let v = self.pop();
        self.local_set(self.locals[local_index as usize], v);
        Ok(())
    }

    pub(super) fn visit_local_tee(&mut self, local_index: u32) -> Translated {
        self.note_use(local_index);
        let v = *self.stack.last().expect("validated: local.tee operand");
        self.local_set(self.locals[local_index as usize], v);
        Ok(())
    }

    /// Notes a use of local `i` here, when counting ([`crowded`]).
    fn note_use(&mut self, i: u32) {
        if let Some((first, last)) = self.spans.get_mut(i as usize) {
            *first = (*first).min(self.at);
            *last = self.at;
        }
    }

    pub(super) fn local_get(&mut self, local: Local) -> Value {
        match local {
            Local::Var(var) => self.builder.use_var(var),
            Local::Slot { base, offset, ty } => {
                self.builder
                    .ins()
                    .load(ty, MemFlagsData::trusted(), base, offset)
            }
        }
    }

    pub(super) fn local_set(&mut self, local: Local, v: Value) {
        match local {
            Local::Var(var) => self.builder.def_var(var, v),
            Local::Slot { base, offset, .. } => {
                self.builder
                    .ins()
                    .store(MemFlagsData::trusted(), v, base, offset);
            }
        }
    }

    /// A local of type `ty`: at `place` (the slot's address, an offset),
    /// or (`None`) an SSA variable.
    pub(super) fn new_local(&mut self, place: Option<(Value, i32)>, ty: ir::Type) -> Local {
        match place {
            Some((base, offset)) => Local::Slot { base, offset, ty },
            None => Local::Var(self.builder.declare_var(ty)),
        }
    }

    /// For a function whose locals are crowded ([`crowded`]):
    /// each local's place in a stack slot, made here and zeroed at entry
    /// (empty if the locals cannot be read: validation says why).
    pub(super) fn slot_locals(
        &mut self,
        ty: &FuncType,
        body: &FunctionBody<'_>,
    ) -> Vec<Option<(Value, i32)>> {
        let Ok(Some(types)) = local_types(ty, body, MAX_LOCALS + ty.params().len()) else {
            return Vec::new();
        };
        // Vectors first, so that each is aligned to 16 bytes, then the
        // rest at 8 bytes each.
        let pointer = self.env.pointer_type();
        let size = |wt: WasmType| clif_type(wt, pointer).bytes().max(8);
        let mut offsets = vec![0; types.len()];
        let mut end = 0u32;
        for wide in [true, false] {
            for (i, &wt) in types.iter().enumerate() {
                if (size(wt) > 8) == wide {
                    offsets[i] = end as i32;
                    end += size(wt);
                }
            }
        }
        let end = end.next_multiple_of(16);
        let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            end,
            4,
        ));
        // One address for the whole slot, computed once (an address per
        // local would be as many values live at once as the locals were).
        let base = self.builder.ins().stack_addr(pointer, slot, 0);
        self.zero_slot(base, end);
        offsets.into_iter().map(|o| Some((base, o))).collect()
    }

    /// Zeroes the `size` bytes (a multiple of 16) at `start`, in a loop.
    fn zero_slot(&mut self, start: Value, size: u32) {
        let pointer = self.env.pointer_type();
        let flags = MemFlagsData::trusted();
        let end = self.builder.ins().iadd_imm_u(start, i64::from(size));
        let zero = self.builder.ins().iconst(types::I64, 0);
        let body = self.builder.create_block();
        let p = self.builder.append_block_param(body, pointer);
        let after = self.builder.create_block();
        self.builder.ins().jump(body, &[BlockArg::Value(start)]);
        self.builder.switch_to_block(body);
        self.builder.ins().store(flags, zero, p, 0);
        self.builder.ins().store(flags, zero, p, 8);
        let next = self.builder.ins().iadd_imm_u(p, 16);
        let more = self.builder.ins().icmp(IntCC::UnsignedLessThan, next, end);
        self.builder
            .ins()
            .brif(more, body, &[BlockArg::Value(next)], after, &[]);
        self.builder.seal_block(body);
        self.builder.switch_to_block(after);
        self.builder.seal_block(after);
    }

    pub(super) fn visit_global_get(&mut self, global_index: u32) -> Translated {
        let v = self.global_get(GlobalIndex(global_index));
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_global_set(&mut self, global_index: u32) -> Translated {
        let v = self.pop();
        self.global_set(GlobalIndex(global_index), v);
        Ok(())
    }
}

/// Whether locals used first and last at `spans` (byte offsets of a
/// function's body, one pair per local; unused: `(u32::MAX, 0)`) are
/// crowded: more than [`MAX_LIVE_LOCALS`] of them live at once, as far as
/// those spans tell. Such a function is translated again with every local
/// in a stack slot (`Local::Slot`) and compiled without Cranelift's
/// optimisations ([`translate_function`](super::translate_function)
/// returns `None` the first time), because its register allocation takes
/// time quadratic in the number of values live at once: 15 s for one
/// function whose 50,000 locals (as many as the validator allows) are all
/// live across a call, in Wasmtime as here before. Locals in memory alone
/// do not help, since the optimiser moves the arithmetic on values loaded
/// from them to where its result is used, after every load, so that the
/// loaded values are all live at once again; without it they are loaded
/// where they are used. Compiled code of real programs has at most tens
/// of locals live at once by this count (56 in sqlite, 53 in pcre2test
/// built with `-O0`, whose functions have up to thousands of locals), so
/// only such extreme functions pay for it: in speed, and in stack, since
/// every local then takes room in the frame (see [`MAX_LIVE_LOCALS`]).
pub(super) fn crowded(spans: &[(u32, u32)]) -> bool {
    if spans.len() <= MAX_LIVE_LOCALS {
        return false;
    }
    // The most spans that overlap: +1 where each starts, -1 where it ends,
    // in order.
    let mut changes: Vec<(u32, i32)> = spans
        .iter()
        .filter(|(first, last)| first < last)
        .flat_map(|&(first, last)| [(first, 1), (last, -1)])
        .collect();
    changes.sort_unstable();
    let mut live = 0i32;
    changes.iter().any(|&(_, d)| {
        live += d;
        live > MAX_LIVE_LOCALS as i32
    })
}

/// wasmparser's limit on a function's locals.
const MAX_LOCALS: usize = 50_000;

/// The types of the locals of a function of type `ty` with `body`,
/// parameters first; `None` if they are more than `max` (read no further,
/// so a corrupt count allocates nothing).
pub(super) fn local_types(
    ty: &FuncType,
    body: &FunctionBody<'_>,
    max: usize,
) -> Result<Option<Vec<WasmType>>, FrontendError> {
    let mut types = ty.params().to_vec();
    if types.len() > max {
        return Ok(None);
    }
    let mut locals = body.get_locals_reader()?;
    for _ in 0..locals.get_count() {
        let (count, vt) = locals.read()?;
        if types.len() + count as usize > max {
            return Ok(None);
        }
        let wt = WasmType::from_wasmparser(vt)?;
        types.extend(std::iter::repeat_n(wt, count as usize));
    }
    Ok(Some(types))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Locals are crowded when more than [`MAX_LIVE_LOCALS`] are live at
    /// once, not merely when a function has that many.
    #[test]
    fn crowded_means_many_live_at_once() {
        // `n` locals set in turn, then read in turn: all live at once.
        let apart = |n: u32| (0..n).map(|i| (i, n + i)).collect::<Vec<_>>();
        // `n` locals, each read right after it is set (as in `-O0` code).
        let short = |n: u32| (0..n).map(|i| (2 * i, 2 * i + 1)).collect::<Vec<_>>();
        let max = MAX_LIVE_LOCALS as u32;
        assert!(crowded(&apart(max + 1)));
        assert!(crowded(&apart(50_000)));
        assert!(!crowded(&apart(max)));
        assert!(!crowded(&short(50_000)));
        // Unused locals, and a span that starts where another ends.
        let mut spans = apart(max);
        spans.extend([(u32::MAX, 0); 10]);
        spans.push((max, max + 5));
        assert!(!crowded(&spans));
        spans.push((max - 1, max + 1));
        assert!(crowded(&spans));
    }
}
