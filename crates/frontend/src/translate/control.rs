//! Control flow: blocks, loops, `if`/`else`, branches, `return`,
//! `unreachable`, and what happens to operators in unreachable code.
//!
//! Each Wasm block has a Cranelift block after its `end` whose parameters
//! are the block's results; a loop also has a header block whose parameters
//! are the loop's parameters. Branches jump there with the top operands.

use cranelift_codegen::ir::{self, InstBuilder};
use wasmparser::{BlockType, BrTable, Operator};

use super::{Frame, FrameKind, FuncTranslator, Translated, block_args};
use crate::trap::TrapKind;

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_nop(&mut self) -> Translated {
        Ok(())
    }

    pub(super) fn visit_unreachable(&mut self) -> Translated {
        self.fuel_flush();
        self.trap(TrapKind::Unreachable);
        self.reachable = false;
        Ok(())
    }

    pub(super) fn visit_block(&mut self, blockty: BlockType) -> Translated {
        self.fuel_flush();
        let (params, results) = self.block_type(blockty)?;
        let next = self.new_block_with(&results);
        let height = self.stack.len() - params.len();
        self.push_frame(FrameKind::Block, next, params.len(), results.len(), height);
        Ok(())
    }

    pub(super) fn visit_loop(&mut self, blockty: BlockType) -> Translated {
        self.fuel_flush();
        let (params, results) = self.block_type(blockty)?;
        let ordinal = self.loops_seen;
        self.loops_seen += 1;
        let eligible = self.osr_eligible(params.len());
        let header = self.loop_header(ordinal, eligible, &params);
        let next = self.new_block_with(&results);
        self.jump_with_top(header, params.len());
        self.pop_n(params.len());
        let height = self.stack.len();
        self.enter_with_params(header);
        let heat = self.env.count_heat.then(|| self.count_heat());
        if self.env.epoch_interruption {
            self.epoch_check();
        }
        if self.fuel_var.is_some() {
            self.fuel_check();
        }
        if let Some(heat) = heat
            && eligible
            && self.env.osr_checks
        {
            self.osr_check(ordinal, heat);
        }
        self.push_frame(
            FrameKind::Loop(header),
            next,
            params.len(),
            results.len(),
            height,
        );
        Ok(())
    }

    pub(super) fn visit_if(&mut self, blockty: BlockType) -> Translated {
        self.fuel_flush();
        let cond = self.pop();
        let (params, results) = self.block_type(blockty)?;
        let then_block = self.builder.create_block();
        let else_block = self.builder.create_block();
        let next = self.new_block_with(&results);
        self.builder
            .ins()
            .brif(cond, then_block, &[], else_block, &[]);
        self.builder.seal_block(then_block);
        self.builder.seal_block(else_block);
        self.builder.switch_to_block(then_block);
        let param_vals = self.peek_n(params.len()).to_vec();
        let kind = FrameKind::If {
            else_block,
            params: param_vals,
            has_else: false,
        };
        let height = self.stack.len() - params.len();
        self.push_frame(kind, next, params.len(), results.len(), height);
        Ok(())
    }

    /// Opens a block, loop, `if`, `try_table` or `try` whose results go to
    /// `next`.
    pub(super) fn push_frame(
        &mut self,
        kind: FrameKind,
        next: ir::Block,
        num_params: usize,
        num_results: usize,
        height: usize,
    ) {
        self.control.push(Frame {
            kind,
            next,
            num_params,
            num_results,
            height,
            next_reachable: false,
        });
    }

    pub(super) fn visit_else(&mut self) -> Translated {
        self.fuel_flush();
        self.op_else();
        Ok(())
    }

    pub(super) fn visit_end(&mut self) -> Translated {
        self.fuel_flush();
        self.op_end();
        Ok(())
    }

    pub(super) fn visit_br(&mut self, relative_depth: u32) -> Translated {
        self.fuel_flush();
        self.br(relative_depth);
        self.reachable = false;
        Ok(())
    }

    pub(super) fn visit_br_if(&mut self, relative_depth: u32) -> Translated {
        self.fuel_flush();
        let cond = self.pop();
        let (target, n) = self.branch_to(relative_depth);
        let args = block_args(self.peek_n(n));
        let cont = self.builder.create_block();
        self.builder.ins().brif(cond, target, &args, cont, &[]);
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
        Ok(())
    }

    pub(super) fn visit_br_table(&mut self, targets: BrTable<'_>) -> Translated {
        self.fuel_flush();
        let index = self.pop();
        let mut depths = Vec::with_capacity(targets.len() as usize);
        for t in targets.targets() {
            depths.push(t?);
        }
        let default = targets.default();
        let make_call = |this: &mut Self, rel: u32| {
            let (target, n) = this.branch_to(rel);
            let args = block_args(this.peek_n(n));
            this.builder.func.dfg.block_call(target, &args)
        };
        let def_call = make_call(self, default);
        let calls: Vec<_> = depths.iter().map(|&d| make_call(self, d)).collect();
        let jt = self
            .builder
            .create_jump_table(ir::JumpTableData::new(def_call, &calls));
        self.builder.ins().br_table(index, jt);
        self.reachable = false;
        Ok(())
    }

    pub(super) fn visit_return(&mut self) -> Translated {
        self.fuel_save();
        self.release_held(0);
        let n = self.control[0].num_results;
        let vals = self.peek_n(n).to_vec();
        self.builder.ins().return_(&vals);
        self.reachable = false;
        Ok(())
    }

    /// Handles an operator in unreachable code: only structure matters.
    pub(super) fn dead_op(&mut self, op: Operator<'_>) -> Translated {
        match op {
            // Every operator that opens a block closed by `end`.
            Operator::Loop { .. } => {
                // Loops are numbered in body order, unreachable ones too.
                self.loops_seen += 1;
                self.dead_depth += 1;
            }
            Operator::Block { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. }
            | Operator::Try { .. } => {
                self.dead_depth += 1;
            }
            Operator::Else if self.dead_depth == 0 => self.op_else(),
            Operator::Catch { .. } | Operator::CatchAll if self.dead_depth == 0 => {
                self.op_catch()?
            }
            Operator::End | Operator::Delegate { .. } if self.dead_depth == 0 => self.op_end(),
            Operator::End | Operator::Delegate { .. } => self.dead_depth -= 1,
            _ => {}
        }
        Ok(())
    }

    /// The block a branch to label `relative_depth` goes to and how many
    /// operands it carries, noting that the label's exit is now reachable.
    pub(super) fn branch_to(&mut self, relative_depth: u32) -> (ir::Block, usize) {
        let depth = self.control.len() - 1 - relative_depth as usize;
        let frame = &mut self.control[depth];
        frame.next_reachable |= !matches!(frame.kind, FrameKind::Loop(_));
        let (target, n) = frame.branch_target();
        (self.exit_to(depth, target, n), n)
    }

    fn br(&mut self, relative_depth: u32) {
        let (target, n) = self.branch_to(relative_depth);
        self.jump_with_top(target, n);
    }

    fn op_else(&mut self) {
        let reachable = self.reachable;
        let frame = self.control.last_mut().expect("validated: else in if");
        if reachable {
            frame.next_reachable = true;
        }
        let (next, n, height) = (frame.next, frame.num_results, frame.height);
        let FrameKind::If {
            else_block,
            params,
            has_else,
        } = &mut frame.kind
        else {
            unreachable!("validated: else without if")
        };
        *has_else = true;
        let else_block = *else_block;
        let params = params.clone();
        if reachable {
            self.jump_with_top(next, n);
        }
        self.stack.truncate(height);
        self.stack.extend(params);
        self.builder.switch_to_block(else_block);
        self.reachable = true;
    }

    /// `end` (or a legacy `delegate`) of the innermost frame.
    pub(super) fn op_end(&mut self) {
        self.end_legacy_section();
        let frame = self.control.pop().expect("validated: end with a frame");
        let mut next_reachable = frame.next_reachable;
        if self.reachable {
            self.jump_with_top(frame.next, frame.num_results);
            next_reachable = true;
        }
        match frame.kind {
            FrameKind::Loop(header) => self.builder.seal_block(header),
            FrameKind::TryTable(ref clauses) => self.seal_landings(clauses),
            FrameKind::If {
                else_block,
                params,
                has_else: false,
            } => {
                // No else: the false edge carries the parameters straight out.
                self.builder.switch_to_block(else_block);
                self.builder.ins().jump(frame.next, &block_args(&params));
                next_reachable = true;
            }
            _ => {}
        }
        self.stack.truncate(frame.height);
        self.builder.seal_block(frame.next);
        if next_reachable {
            self.enter_with_params(frame.next);
            self.reachable = true;
        } else {
            self.reachable = false;
        }
    }
}
