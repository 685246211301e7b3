//! Translation of one function body from Wasm operators to Cranelift IR.
//!
//! The driver (`FuncTranslator::op`) keeps the operand stack and the
//! control stack and dispatches each operator to its family:
//! control flow here, numbers in `numeric.rs`, linear memory in `memory.rs`,
//! tables, references and calls in `table.rs`. Whatever touches the
//! instance (memories, globals, tables, builtins) is asked of `env.rs`, which
//! alone knows the context layout.

mod env;
mod memory;
mod numeric;
mod table;

use std::collections::HashMap;

use cranelift_codegen::ir::{
    self, AbiParam, ArgumentPurpose, BlockArg, ExternalName, InstBuilder, Signature,
    UserExternalName, UserFuncName, Value, types,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::{
    BlockType, FuncValidator, FunctionBody, Operator, OperatorsReader, ValidatorResources,
};

pub use env::{MemoryStyle, TranslationEnv};

use crate::error::{FrontendError, UnsupportedNotes, unsupported};
use crate::proposal::unsupported_operator;
use crate::trap::TrapKind;
use crate::types::{FuncType, WasmType};
use crate::vmoffsets;

/// Namespace of [`UserExternalName`]s that name Wasm functions of the module
/// being compiled (index = function index). The backend resolves them.
pub const FUNC_NAMESPACE: u32 = 0;

/// The calling convention of every Wasm function: Cranelift's `tail`
/// convention, which makes `return_call` possible (the callee pops its stack
/// arguments). The host reaches it only through trampolines.
pub const WASM_CALL_CONV: CallConv = CallConv::Tail;

/// The Cranelift signature of a Wasm function: callee context, caller
/// context, then the Wasm parameters; the Wasm results.
pub fn wasm_signature(ty: &FuncType, pointer: ir::Type) -> Signature {
    let mut sig = Signature::new(WASM_CALL_CONV);
    sig.params
        .push(AbiParam::special(pointer, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(pointer));
    sig.params.extend(
        ty.params()
            .iter()
            .map(|t| AbiParam::new(t.to_clif(pointer))),
    );
    sig.returns.extend(
        ty.results()
            .iter()
            .map(|t| AbiParam::new(t.to_clif(pointer))),
    );
    sig
}

#[derive(Debug)]
enum FrameKind {
    Block,
    Loop(ir::Block),
    If {
        else_block: ir::Block,
        params: Vec<Value>,
        has_else: bool,
    },
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// Block after `end`, whose parameters are the results.
    next: ir::Block,
    num_params: usize,
    num_results: usize,
    /// Operand stack height below the frame's parameters.
    height: usize,
    /// Whether anything jumps to `next`.
    next_reachable: bool,
}

impl Frame {
    /// The block a branch to this label goes to, and how many values it takes.
    fn branch_target(&self) -> (ir::Block, usize) {
        match self.kind {
            FrameKind::Loop(header) => (header, self.num_params),
            _ => (self.next, self.num_results),
        }
    }
}

struct FuncTranslator<'a, 'f> {
    env: &'a TranslationEnv<'a>,
    builder: FunctionBuilder<'f>,
    vmctx: Value,
    stack: Vec<Value>,
    control: Vec<Frame>,
    reachable: bool,
    /// Nesting depth of blocks opened in unreachable code (not translated).
    dead_depth: u32,
    locals: Vec<Variable>,
    sigs: HashMap<u32, ir::SigRef>,
    funcs: HashMap<u32, ir::FuncRef>,
    builtin_sigs: HashMap<vmoffsets::Builtin, ir::SigRef>,
    /// Remaining fuel while this function runs (with fuel metering on).
    fuel_var: Option<Variable>,
    /// Operators executed since `fuel_var` was last updated.
    fuel_pending: i64,
}

/// Validates function `index` of the module described by `env` with
/// `validator` and translates it, in one pass over the body: each operator
/// is validated, then translated. An invalid body is reported as invalid
/// even when something earlier in it is unsupported: after the first
/// unsupported operator the rest is only validated (and scanned for more
/// unsupported features).
pub fn translate_function(
    env: &TranslationEnv<'_>,
    index: u32,
    body: &FunctionBody<'_>,
    validator: &mut FuncValidator<ValidatorResources>,
    fctx: &mut FunctionBuilderContext,
) -> Result<ir::Function, FrontendError> {
    let ty = env.info.func_type(index);
    let sig = wasm_signature(ty, env.pointer_type());
    let mut func = ir::Function::with_name_signature(
        UserFuncName::User(UserExternalName::new(FUNC_NAMESPACE, index)),
        sig,
    );
    env.set_stack_limit(&mut func);

    let mut builder = FunctionBuilder::new(&mut func, fctx);
    let entry = builder.create_block();
    builder.append_block_params_for_function_params(entry);
    builder.switch_to_block(entry);
    builder.seal_block(entry);
    let params = builder.block_params(entry).to_vec();
    let vmctx = params[0];

    let mut t = FuncTranslator {
        env,
        builder,
        vmctx,
        stack: Vec::new(),
        control: Vec::new(),
        reachable: true,
        dead_depth: 0,
        locals: Vec::new(),
        sigs: HashMap::new(),
        funcs: HashMap::new(),
        builtin_sigs: HashMap::new(),
        fuel_var: None,
        fuel_pending: 0,
    };
    let mut notes = UnsupportedNotes::default();

    for (i, wt) in ty.params().iter().enumerate() {
        let var = t.builder.declare_var(wt.to_clif(env.pointer_type()));
        t.builder.def_var(var, params[2 + i]);
        t.locals.push(var);
    }
    let mut locals_reader = body.get_locals_reader()?;
    for _ in 0..locals_reader.get_count() {
        let offset = locals_reader.original_position();
        let (count, vt) = locals_reader.read()?;
        validator.define_locals(offset, count, vt)?;
        if !notes.is_empty() {
            continue;
        }
        let wt = match WasmType::from_wasmparser(vt) {
            Ok(wt) => wt,
            Err(e) => {
                notes.add_error(&e);
                continue;
            }
        };
        let clif = wt.to_clif(env.pointer_type());
        for _ in 0..count {
            let var = t.builder.declare_var(clif);
            let zero = t.zero(wt);
            t.builder.def_var(var, zero);
            t.locals.push(var);
        }
    }

    // The body is a block whose end returns.
    let results: Vec<WasmType> = ty.results().to_vec();
    let exit = t.builder.create_block();
    for r in &results {
        t.builder
            .append_block_param(exit, r.to_clif(env.pointer_type()));
    }
    t.control.push(Frame {
        kind: FrameKind::Block,
        next: exit,
        num_params: 0,
        num_results: results.len(),
        height: 0,
        next_reachable: false,
    });

    if env.epoch_interruption {
        t.epoch_check();
    }
    if env.consume_fuel {
        t.fuel_init();
        t.fuel_check();
    }
    let mut operators = locals_reader.get_binary_reader();
    operators.set_features(*validator.features());
    let mut reader = OperatorsReader::new(operators);
    while !reader.eof() {
        let offset = reader.original_position();
        let op = reader.read()?;
        validator.op(offset, &op)?;
        if !notes.is_empty() {
            // Only validating now; note what else is missing.
            if let Some(n) = unsupported_operator(&op) {
                notes.add(n);
            }
            continue;
        }
        // Source locations are module byte offsets, for backtraces.
        t.builder.set_srcloc(ir::SourceLoc::new(offset as u32));
        match t.op(op) {
            Ok(()) => {}
            Err(e @ FrontendError::Unsupported(_)) => notes.add_error(&e),
            Err(e) => return Err(e),
        }
    }
    reader.finish()?;
    if let Some(e) = notes.into_error() {
        return Err(e);
    }
    // The final `end` switched to `exit`; return its parameters.
    if t.reachable {
        t.fuel_save();
        let vals = t.stack.split_off(t.stack.len() - results.len());
        t.builder.ins().return_(&vals);
    }
    t.builder.seal_all_blocks();
    t.builder.finalize(env.frontend_config);
    Ok(func)
}

/// Validates a function body without translating it (for modules already
/// known to be unsupported), returning what it uses that the engine lacks.
pub fn validate_function(
    body: &FunctionBody<'_>,
    validator: &mut FuncValidator<ValidatorResources>,
) -> Result<UnsupportedNotes, FrontendError> {
    let mut notes = UnsupportedNotes::default();
    let mut locals_reader = body.get_locals_reader()?;
    for _ in 0..locals_reader.get_count() {
        let offset = locals_reader.original_position();
        let (count, vt) = locals_reader.read()?;
        validator.define_locals(offset, count, vt)?;
        if let Err(e) = WasmType::from_wasmparser(vt) {
            notes.add_error(&e);
        }
    }
    let mut operators = locals_reader.get_binary_reader();
    operators.set_features(*validator.features());
    let mut reader = OperatorsReader::new(operators);
    while !reader.eof() {
        let offset = reader.original_position();
        let op = reader.read()?;
        validator.op(offset, &op)?;
        if let Some(n) = unsupported_operator(&op) {
            notes.add(n);
        }
    }
    reader.finish()?;
    Ok(notes)
}

fn block_args(vals: &[Value]) -> Vec<BlockArg> {
    vals.iter().map(|&v| BlockArg::Value(v)).collect()
}

impl<'a, 'f> FuncTranslator<'a, 'f> {
    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: operand stack underflow")
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn pop_n(&mut self, n: usize) -> Vec<Value> {
        self.stack.split_off(self.stack.len() - n)
    }

    fn peek_n(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    fn zero(&mut self, ty: WasmType) -> Value {
        let ins = self.builder.ins();
        match ty {
            WasmType::I32 => ins.iconst(types::I32, 0),
            WasmType::I64 => ins.iconst(types::I64, 0),
            WasmType::F32 => ins.f32const(0.0),
            WasmType::F64 => ins.f64const(0.0),
            WasmType::V128 => unreachable!("refused before"),
            WasmType::FuncRef | WasmType::ExternRef => ins.iconst(self.env.pointer_type(), 0),
        }
    }

    fn trap(&mut self, kind: TrapKind) {
        self.builder.ins().trap(kind.code());
    }

    fn block_type(&self, bt: BlockType) -> Result<(Vec<WasmType>, Vec<WasmType>), FrontendError> {
        Ok(match bt {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![WasmType::from_wasmparser(t)?]),
            BlockType::FuncType(idx) => {
                let ft = &self.env.info.types[idx as usize];
                (ft.params().to_vec(), ft.results().to_vec())
            }
        })
    }

    fn new_block_with(&mut self, tys: &[WasmType]) -> ir::Block {
        let b = self.builder.create_block();
        for t in tys {
            self.builder
                .append_block_param(b, t.to_clif(self.env.pointer_type()));
        }
        b
    }

    /// Jumps to `target` with the top `n` operands (left in place).
    fn jump_with_top(&mut self, target: ir::Block, n: usize) {
        let args = block_args(self.peek_n(n));
        self.builder.ins().jump(target, &args);
    }

    /// Switches to `block` and pushes its parameters.
    fn enter_with_params(&mut self, block: ir::Block) {
        self.builder.switch_to_block(block);
        let params = self.builder.block_params(block).to_vec();
        self.stack.extend(params);
    }

    fn op(&mut self, op: Operator<'_>) -> Result<(), FrontendError> {
        if !self.reachable {
            return self.dead_op(op);
        }
        if self.fuel_var.is_some() {
            self.fuel_account(&op);
        }
        match op {
            Operator::Nop => {}
            Operator::Unreachable => {
                self.trap(TrapKind::Unreachable);
                self.reachable = false;
            }
            Operator::Block { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                let next = self.new_block_with(&results);
                self.control.push(Frame {
                    kind: FrameKind::Block,
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    height: self.stack.len() - params.len(),
                    next_reachable: false,
                });
            }
            Operator::Loop { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                let header = self.new_block_with(&params);
                let next = self.new_block_with(&results);
                self.jump_with_top(header, params.len());
                self.pop_n(params.len());
                let height = self.stack.len();
                self.enter_with_params(header);
                if self.env.epoch_interruption {
                    self.epoch_check();
                }
                if self.fuel_var.is_some() {
                    self.fuel_check();
                }
                self.control.push(Frame {
                    kind: FrameKind::Loop(header),
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    height,
                    next_reachable: false,
                });
            }
            Operator::If { blockty } => {
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
                self.control.push(Frame {
                    kind: FrameKind::If {
                        else_block,
                        params: param_vals,
                        has_else: false,
                    },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    height: self.stack.len() - params.len(),
                    next_reachable: false,
                });
            }
            Operator::Else => self.op_else(),
            Operator::End => self.op_end(),
            Operator::Br { relative_depth } => {
                self.br(relative_depth);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop();
                let (target, n) = self.branch_to(relative_depth);
                let args = block_args(self.peek_n(n));
                let cont = self.builder.create_block();
                self.builder.ins().brif(cond, target, &args, cont, &[]);
                self.builder.seal_block(cont);
                self.builder.switch_to_block(cont);
            }
            Operator::BrTable { targets } => {
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
            }
            Operator::Return => {
                self.fuel_save();
                let n = self.control[0].num_results;
                let vals = self.peek_n(n).to_vec();
                self.builder.ins().return_(&vals);
                self.reachable = false;
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                let cond = self.pop();
                let (a, b) = self.pop2();
                let v = self.builder.ins().select(cond, a, b);
                self.push(v);
            }
            Operator::TypedSelectMulti { .. } => {
                return Err(unsupported("select with multiple results"));
            }
            Operator::LocalGet { local_index } => {
                let v = self.builder.use_var(self.locals[local_index as usize]);
                self.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop();
                self.builder.def_var(self.locals[local_index as usize], v);
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().unwrap();
                self.builder.def_var(self.locals[local_index as usize], v);
            }
            Operator::GlobalGet { global_index } => {
                let v = self.global_get(global_index);
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop();
                self.global_set(global_index, v);
            }
            Operator::Call { function_index } => self.call(function_index, false)?,
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index, false)?,
            Operator::ReturnCall { function_index } => self.call(function_index, true)?,
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index, true)?,
            op => {
                if !self.memory_op(&op)? && !self.table_op(&op)? && !self.numeric_op(&op)? {
                    return Err(unsupported(unsupported_operator(&op).unwrap_or_else(
                        || format!("operator {}", crate::proposal::operator_name(&op)),
                    )));
                }
            }
        }
        Ok(())
    }

    /// Handles an operator in unreachable code: only structure matters.
    fn dead_op(&mut self, op: Operator<'_>) -> Result<(), FrontendError> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.dead_depth += 1;
            }
            Operator::Else if self.dead_depth == 0 => self.op_else(),
            Operator::End if self.dead_depth == 0 => self.op_end(),
            Operator::End => self.dead_depth -= 1,
            _ => {}
        }
        Ok(())
    }

    /// The block a branch to label `relative_depth` goes to and how many
    /// operands it carries, noting that the label's exit is now reachable.
    fn branch_to(&mut self, relative_depth: u32) -> (ir::Block, usize) {
        let depth = self.control.len() - 1 - relative_depth as usize;
        let frame = &mut self.control[depth];
        frame.next_reachable |= !matches!(frame.kind, FrameKind::Loop(_));
        frame.branch_target()
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

    fn op_end(&mut self) {
        let frame = self.control.pop().expect("validated: end with a frame");
        let mut next_reachable = frame.next_reachable;
        if self.reachable {
            self.jump_with_top(frame.next, frame.num_results);
            next_reachable = true;
        }
        match frame.kind {
            FrameKind::Loop(header) => self.builder.seal_block(header),
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

    /// The signature reference for module type `type_index`.
    fn sig_ref(&mut self, type_index: u32) -> ir::SigRef {
        if let Some(s) = self.sigs.get(&type_index) {
            return *s;
        }
        let sig = wasm_signature(
            &self.env.info.types[type_index as usize],
            self.env.pointer_type(),
        );
        let s = self.builder.import_signature(sig);
        self.sigs.insert(type_index, s);
        s
    }

    fn func_ref(&mut self, function_index: u32) -> ir::FuncRef {
        if let Some(f) = self.funcs.get(&function_index) {
            return *f;
        }
        let sig = self.sig_ref(self.env.info.funcs[function_index as usize]);
        let name = self
            .builder
            .func
            .declare_imported_user_function(UserExternalName::new(FUNC_NAMESPACE, function_index));
        let f = self.builder.import_function(ir::ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: true,
            patchable: false,
        });
        self.funcs.insert(function_index, f);
        f
    }

    fn push_call_results(&mut self, inst: ir::Inst) {
        let results = self.builder.inst_results(inst).to_vec();
        self.stack.extend(results);
        self.fuel_after_call();
    }
}
