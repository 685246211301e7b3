//! Legacy exception handling: `try`, `catch`, `catch_all`, `delegate` and
//! `rethrow`, the first design of Wasm exceptions, which clang before 20
//! and Emscripten emit (for C++ exceptions, and for setjmp/longjmp). It
//! runs on the same exception tables as `try_table` (`exceptions.rs`).
//!
//! - A `try` is a block whose `catch` clauses must be known when it opens
//!   (its body's calls list them in their exception tables), but come after
//!   its body. So the first `try` of a function reads the rest of the body
//!   once ([`scan`]) and lists every `try`'s clauses, in order.
//! - Each clause's target is its handler block, whose parameters are the
//!   tag's payload. A body's calls and throws reach the handlers as they
//!   reach a `try_table`'s labels; a handler's own code is outside them.
//! - `try ... delegate l`: exceptions from the body skip the handlers of
//!   the frames inside label `l` and meet those of the frame at `l`
//!   ([`FuncTranslator::active_catches`]); `l` past every `try` sends them
//!   to the caller.
//! - `rethrow l` throws again the exception that the handler of the `try`
//!   at label `l` caught. A `try` with such a `rethrow` keeps its exception
//!   object while a handler runs (`Hold::Keep`, in a variable); others take
//!   the payload and recycle the object at once. The held object is
//!   released when the handler is left: at its end, by a branch out
//!   (through an exit block that releases, filled at the handler's end), by
//!   `return`, a tail call, or a throw or rethrow to a clause outside it or
//!   to the callers. A call inside such a handler is a `try_call` whose
//!   landings release it too, also for an exception leaving the function
//!   (a landing that releases, then throws the exception on). `rethrow`
//!   adds a hold for the exception in flight. Only a handler left by a trap
//!   keeps its object until the instance goes, as an `exnref` is kept.

use std::collections::VecDeque;

use cranelift_codegen::ir::{self, InstBuilder, Value, types};
use cranelift_frontend::Variable;
use wasmparser::{BlockType, Operator, OperatorsReader};

use super::exceptions::{CatchClause, Hold};
use super::{FrameKind, FuncTranslator, Translated, block_args};
use crate::error::FrontendError;
use crate::vmoffsets;

/// What a `try` turns out to be, read ahead ([`scan`]).
#[derive(Debug, Default)]
pub(super) struct TrySummary {
    /// Its `catch` clauses in order (`None`: `catch_all`).
    catches: Vec<Option<u32>>,
    /// `delegate`'s label, for a `try ... delegate`.
    delegate: Option<u32>,
    /// Whether a `rethrow` in one of its handlers rethrows what it caught.
    rethrown: bool,
}

/// Reads the rest of a function body from just after its first `try`, and
/// summarises that `try` and every later one, in order. Stops early (with
/// what it has) where the body is malformed, which the translator reports
/// when it gets there.
pub(super) fn scan(mut reader: OperatorsReader<'_>) -> VecDeque<TrySummary> {
    let mut out = VecDeque::from([TrySummary::default()]);
    // The open blocks since that `try`: the index of a `try`'s summary, or
    // `None` for any other block.
    let mut open: Vec<Option<usize>> = vec![Some(0)];
    while !reader.eof() {
        let Ok(op) = reader.read() else { break };
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => open.push(None),
            Operator::Try { .. } => {
                open.push(Some(out.len()));
                out.push_back(TrySummary::default());
            }
            Operator::Catch { tag_index } => {
                if let Some(&Some(t)) = open.last() {
                    out[t].catches.push(Some(tag_index));
                }
            }
            Operator::CatchAll => {
                if let Some(&Some(t)) = open.last() {
                    out[t].catches.push(None);
                }
            }
            Operator::Delegate { relative_depth } => {
                if let Some(Some(t)) = open.pop() {
                    out[t].delegate = Some(relative_depth);
                }
            }
            Operator::End => {
                // (Past the first `try`'s end, this closes blocks opened
                // before it, which are not listed.)
                open.pop();
            }
            Operator::Rethrow { relative_depth } => {
                // A valid `rethrow` names a `try` (one listed here).
                let at = open.len().checked_sub(1 + relative_depth as usize);
                if let Some(Some(t)) = at.map(|i| open[i]) {
                    out[t].rethrown = true;
                }
            }
            _ => {}
        }
    }
    out
}

/// An open legacy `try`.
#[derive(Debug)]
pub(super) struct LegacyTry {
    /// Its clauses; each targets its handler block.
    pub(super) clauses: Vec<CatchClause>,
    /// `delegate`'s label, for a `try ... delegate`.
    pub(super) delegate: Option<u32>,
    /// Which part is being translated: 0 the body, `k` the `k`-th handler.
    section: usize,
    /// The exception object its handlers hold (when one of them rethrows).
    exn: Option<Variable>,
    /// Exit blocks of the current handler: branches out of it go through
    /// them, and each releases the held objects `releases` and jumps to
    /// `target`; filled when the handler ends.
    exits: Vec<Exit>,
}

#[derive(Debug)]
struct Exit {
    block: ir::Block,
    target: ir::Block,
    releases: Vec<Variable>,
}

impl LegacyTry {
    /// Whether its body (not a handler) is being translated.
    pub(super) fn in_body(&self) -> bool {
        self.section == 0
    }

    /// The variable of the object a handler of it holds now, if any.
    fn held(&self) -> Option<Variable> {
        if self.in_body() { None } else { self.exn }
    }
}

impl FuncTranslator<'_, '_> {
    /// Notes that a `try` was read from `reader`: the next `visit_try`
    /// opens it with its summary.
    pub(super) fn read_try(&mut self, reader: &OperatorsReader<'_>) {
        let tries = self
            .legacy_tries
            .get_or_insert_with(|| scan(reader.clone()));
        self.next_try = tries.pop_front();
    }

    pub(super) fn visit_try(&mut self, blockty: BlockType) -> Translated {
        self.fuel_flush();
        let summary = self
            .next_try
            .take()
            .ok_or_else(|| FrontendError::Codegen("a try that was not read ahead".into()))?;
        let (params, results) = self.block_type(blockty)?;
        let next = self.new_block_with(&results);
        let height = self.stack.len() - params.len();
        let ptr = self.env.pointer_type();
        let (hold, exn) = if summary.rethrown {
            (Hold::Keep, Some(self.builder.declare_var(ptr)))
        } else {
            (Hold::Release, None)
        };
        let clauses = summary
            .catches
            .iter()
            .map(|&tag| {
                let target = self.builder.create_block();
                if let Some(tag) = tag {
                    for t in self.payload_types(tag) {
                        self.builder.append_block_param(target, t);
                    }
                }
                if hold == Hold::Keep {
                    self.builder.append_block_param(target, ptr);
                }
                CatchClause {
                    tag,
                    hold,
                    target,
                    landing: None,
                }
            })
            .collect();
        let kind = FrameKind::LegacyTry(LegacyTry {
            clauses,
            delegate: summary.delegate,
            section: 0,
            exn,
            exits: Vec::new(),
        });
        self.push_frame(kind, next, params.len(), results.len(), height);
        Ok(())
    }

    pub(super) fn visit_catch(&mut self, _tag_index: u32) -> Translated {
        self.fuel_flush();
        self.op_catch()
    }

    pub(super) fn visit_catch_all(&mut self) -> Translated {
        self.fuel_flush();
        self.op_catch()
    }

    pub(super) fn visit_delegate(&mut self, _relative_depth: u32) -> Translated {
        self.fuel_flush();
        self.op_end();
        Ok(())
    }

    pub(super) fn visit_rethrow(&mut self, relative_depth: u32) -> Translated {
        self.fuel_flush();
        let f = self.control.len() - 1 - relative_depth as usize;
        let var = match &self.control[f].kind {
            FrameKind::LegacyTry(t) => t.held(),
            _ => None,
        }
        .ok_or_else(|| FrontendError::Codegen("rethrow of a try that holds nothing".into()))?;
        let exn = self.builder.use_var(var);
        // One more hold, for the exception in flight: the handler still
        // holds it until it is left.
        let holds = self.builder.ins().load(
            types::I32,
            ir::MemFlagsData::trusted(),
            exn,
            vmoffsets::exception::HOLDS,
        );
        let more = self.builder.ins().iadd_imm_u(holds, 1);
        self.builder.ins().store(
            ir::MemFlagsData::trusted(),
            more,
            exn,
            vmoffsets::exception::HOLDS,
        );
        self.throw_exception(exn);
        Ok(())
    }

    /// `catch`/`catch_all` (also after unreachable code): ends the body or
    /// the handler before, and starts the next handler.
    pub(super) fn op_catch(&mut self) -> Translated {
        self.end_legacy_section();
        let frame = self.control.last_mut().expect("validated: catch in try");
        let height = frame.height;
        let FrameKind::LegacyTry(t) = &mut frame.kind else {
            unreachable!("validated: catch without try")
        };
        let clause = t
            .clauses
            .get(t.section)
            .ok_or_else(|| FrontendError::Codegen("a catch that was not read ahead".into()))?;
        let (handler, var) = (clause.target, t.exn);
        t.section += 1;
        self.stack.truncate(height);
        // Everything that reaches it is in the body, now translated.
        self.builder.seal_block(handler);
        self.builder.switch_to_block(handler);
        let mut params = self.builder.block_params(handler).to_vec();
        if let Some(var) = var {
            let exn = params.pop().expect("the held object's parameter");
            self.builder.def_var(var, exn);
        }
        self.stack.extend(params);
        self.reachable = !self.builder.is_unreachable();
        Ok(())
    }

    /// Ends the part of the innermost frame, a legacy `try`, being
    /// translated (its body or a handler), before a `catch`, `catch_all`,
    /// `end` or `delegate`: control that reaches its end leaves the `try`
    /// (releasing what the handler holds), its exit blocks are filled, and
    /// after the body its landing blocks are complete.
    pub(super) fn end_legacy_section(&mut self) {
        let frame = self.control.last_mut().expect("validated: a frame");
        let (next, n) = (frame.next, frame.num_results);
        let FrameKind::LegacyTry(t) = &mut frame.kind else {
            return;
        };
        let held = t.held();
        let exits = std::mem::take(&mut t.exits);
        let landings: Vec<ir::Block> = if t.in_body() {
            t.clauses.iter().filter_map(|c| c.landing).collect()
        } else {
            Vec::new()
        };
        if self.reachable {
            frame.next_reachable = true;
            self.release_vars(held);
            self.jump_with_top(next, n);
            self.reachable = false;
        }
        for exit in exits {
            self.builder.switch_to_block(exit.block);
            self.builder.seal_block(exit.block);
            self.release_vars(exit.releases);
            let args = self.builder.block_params(exit.block).to_vec();
            self.builder.ins().jump(exit.target, &block_args(&args));
        }
        for b in landings {
            self.builder.seal_block(b);
        }
    }

    /// Releases what the legacy handlers being translated hold in frames
    /// `from..` (all of them for a `return`, a tail call or a throw to the
    /// callers).
    pub(super) fn release_held(&mut self, from: usize) {
        let vars = self.held_from(from);
        self.release_vars(vars);
    }

    /// Releases the objects held in `vars`.
    fn release_vars(&mut self, vars: impl IntoIterator<Item = Variable>) {
        for var in vars {
            let exn: Value = self.builder.use_var(var);
            self.release_exception(exn);
        }
    }

    /// The variables of the objects held by legacy handlers in frames
    /// `from..`, innermost first.
    pub(super) fn held_from(&self, from: usize) -> Vec<Variable> {
        self.control[from..]
            .iter()
            .rev()
            .filter_map(|f| match &f.kind {
                FrameKind::LegacyTry(t) => t.held(),
                _ => None,
            })
            .collect()
    }

    /// Where a branch to `target` with `n` operands, leaving frames
    /// `depth..`, goes: `target` itself, or, when it leaves legacy handlers
    /// that hold exception objects, an exit block that releases them first.
    pub(super) fn exit_to(&mut self, depth: usize, target: ir::Block, n: usize) -> ir::Block {
        let releases = self.held_from(depth);
        if releases.is_empty() {
            return target;
        }
        let block = self.builder.create_block();
        // The operands only: a loop header still open may also have
        // parameters the SSA construction added for variables.
        let types: Vec<ir::Type> = self
            .builder
            .func
            .dfg
            .block_params(target)
            .iter()
            .take(n)
            .map(|&v| self.builder.func.dfg.value_type(v))
            .collect();
        for t in types {
            self.builder.append_block_param(block, t);
        }
        // The innermost of them ends first: its handler's end fills it.
        let innermost = self
            .control
            .iter_mut()
            .rev()
            .find_map(|f| match &mut f.kind {
                FrameKind::LegacyTry(t) if t.held().is_some() => Some(t),
                _ => None,
            })
            .expect("a frame holds an object");
        innermost.exits.push(Exit {
            block,
            target,
            releases,
        });
        block
    }
}
