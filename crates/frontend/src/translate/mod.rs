//! Translation of one function body from Wasm operators to Cranelift IR.
//!
//! The driver here validates each operator and keeps the operand stack and
//! the control stack; `dispatch.rs` routes every operator wasmparser knows
//! to its family's `visit_*` method: `control.rs` (blocks, branches),
//! `variables.rs` (drop, select, locals, globals), `numeric.rs`,
//! `memory.rs`, `table.rs` (tables and references), `calls.rs` (calls and
//! tail calls), `exceptions.rs` (`throw`, `try_table`), `func_refs.rs`
//! (typed function references), `gc.rs` (structs, arrays, `i31`, casts), `simd.rs`
//! (vectors and relaxed SIMD), `wide.rs` (wide arithmetic), `osr.rs`
//! (on-stack replacement of loops running in quick code). Whatever
//! touches the instance (memories, globals, tables, builtins, function
//! references) is asked of `env.rs`, which alone knows
//! the context layout.

mod atomics;
mod calls;
mod control;
mod dispatch;
mod env;
mod exceptions;
mod func_refs;
mod gc;
mod legacy;
mod memory;
mod numeric;
mod osr;
mod simd;
mod table;
mod variables;
mod wide;

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

pub use dispatch::IMPLEMENTED;
pub use env::{MemoryStyle, TranslationEnv};
pub use simd::SimdLowering;

use crate::error::{FrontendError, UnsupportedNotes};
use crate::index::{FuncIndex, TypeIndex};
use crate::proposal::unsupported_operator;
use crate::trap::TrapKind;
use crate::types::{FuncType, WasmType};
use crate::vmoffsets;

/// Namespace of [`UserExternalName`]s that name Wasm functions of the module
/// being compiled (index = function index). The backend resolves them.
pub const FUNC_NAMESPACE: u32 = 0;

/// The Cranelift type that carries a value of type `ty` in compiled code.
/// References are pointer-sized: a `*const VMFuncRef` or an extern handle.
pub fn clif_type(ty: WasmType, pointer: ir::Type) -> ir::Type {
    match ty {
        WasmType::I32 => types::I32,
        WasmType::I64 => types::I64,
        WasmType::F32 => types::F32,
        WasmType::F64 => types::F64,
        WasmType::V128 => types::I8X16,
        WasmType::FuncRef | WasmType::ExternRef | WasmType::Ref(_) => pointer,
    }
}

/// Implementation limits of the translator, beyond wasmparser's own
/// (function body size 7,654,321 bytes, 50,000 locals, 1,000 parameters and
/// results): past them a valid module is refused with
/// `implementation limit exceeded`, because code generation time grows
/// faster than linearly with them and a hostile module could otherwise pin a
/// core for hours.
pub mod limits {
    /// Most Wasm values on the operand stack at once in one function.
    pub const MAX_OPERAND_STACK: usize = 10_000;
    /// Most nested blocks, loops and `if`s in one function.
    pub const MAX_CONTROL_DEPTH: usize = 10_000;
}

/// Most locals (parameters included) a function may have for its loops to
/// be replaced on the stack (`osr.rs`): quick code passes each to the
/// optimised entry as an argument.
pub const MAX_OSR_LOCALS: usize = 512;

/// Most locals live at once (by `variables::crowded`'s count) in a function
/// whose locals are SSA variables and which is compiled optimised. A
/// trade-off: at 4,000 such a function compiles in about 0.15 s (time
/// quadratic in them); past it, all its locals live in its frame, 8 bytes
/// each (16 for a `v128`), even where Cranelift would have recomputed
/// their values instead of keeping them (Wasmtime runs such a function of
/// 49,000 locals 1,000 calls deep; here its frame is 400 KiB).
pub const MAX_LIVE_LOCALS: usize = 4000;

/// Quick first-tier code asks for on-stack replacement
/// ([`Builtin::OsrCode`](crate::vmoffsets::Builtin)) each time its heat
/// counter, counted at a loop header, reaches a multiple of this.
pub const OSR_CHECK_INTERVAL: u64 = 1 << 16;

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
            .map(|t| AbiParam::new(clif_type(*t, pointer))),
    );
    sig.returns.extend(
        ty.results()
            .iter()
            .map(|t| AbiParam::new(clif_type(*t, pointer))),
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
    /// A `try_table` and its `catch` clauses.
    TryTable(Vec<exceptions::CatchClause>),
    /// A legacy `try`.
    LegacyTry(legacy::LegacyTry),
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

/// Where a local lives.
#[derive(Clone, Copy)]
enum Local {
    /// An SSA variable.
    Var(Variable),
    /// At `offset` from `base`, the address of the function's locals slot
    /// (in a function whose locals are crowded, `variables::crowded`), as a
    /// value of type `ty`.
    Slot {
        base: Value,
        offset: i32,
        ty: ir::Type,
    },
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
    locals: Vec<Local>,
    /// For a function with more than [`MAX_LIVE_LOCALS`] locals in SSA
    /// variables: each local's first and last use (byte offsets); else
    /// empty.
    spans: Vec<(u32, u32)>,
    /// The byte offset of the operator being translated.
    at: u32,
    sigs: HashMap<TypeIndex, ir::SigRef>,
    funcs: HashMap<FuncIndex, ir::FuncRef>,
    /// The function being translated (a call to itself is always direct).
    index: FuncIndex,
    builtin_sigs: HashMap<vmoffsets::Builtin, ir::SigRef>,
    /// Remaining fuel while this function runs (with fuel metering on).
    fuel_var: Option<Variable>,
    /// Operators executed since `fuel_var` was last updated.
    fuel_pending: i64,
    /// The legacy `try`s not yet opened, read ahead at the first one.
    legacy_tries: Option<std::collections::VecDeque<legacy::TrySummary>>,
    /// The summary of the `try` just read, for `visit_try`.
    next_try: Option<legacy::TrySummary>,
    /// `loop` operators read so far (their numbers, for on-stack
    /// replacement).
    loops_seen: u32,
    /// Translating an on-stack-replacement entry: the number of the loop
    /// entered and its header block, which the entry block jumps to.
    osr_target: Option<(u32, ir::Block)>,
    /// Whether the loop of `osr_target` was found (and could be entered).
    osr_found: bool,
    /// The types of the locals, parameters first, when the function's
    /// loops may be replaced on the stack (see `osr::local_types`); known
    /// only when checking for or translating such an entry.
    osr_locals: Option<Vec<WasmType>>,
}

/// Validates function `index` of the module described by `env` with
/// `validator` and translates it, in one pass over the body: each operator
/// is validated, then translated. An invalid body is reported as invalid
/// even when something earlier in it is unsupported: after the first
/// unsupported operator the rest is only validated (and scanned for more
/// unsupported features).
pub fn translate_function(
    env: &TranslationEnv<'_>,
    index: FuncIndex,
    body: &FunctionBody<'_>,
    locals_in_slot: bool,
    validator: &mut FuncValidator<ValidatorResources>,
    fctx: &mut FunctionBuilderContext,
) -> Result<Option<ir::Function>, FrontendError> {
    let ty = env.info.func_type(index);
    let (sig, osr_locals) = match env.osr_entry {
        Some(_) => {
            let locals = osr::local_types(ty, body)?;
            (
                osr::osr_signature(ty, &locals, env.pointer_type()),
                Some(locals),
            )
        }
        // Quick code checks loops only of functions whose locals can be
        // handed over.
        None if env.osr_checks => (
            wasm_signature(ty, env.pointer_type()),
            osr::local_types(ty, body).ok(),
        ),
        None => (wasm_signature(ty, env.pointer_type()), None),
    };
    let mut func = ir::Function::with_name_signature(
        UserFuncName::User(UserExternalName::new(FUNC_NAMESPACE, index.0)),
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
        spans: Vec::new(),
        at: 0,
        sigs: HashMap::new(),
        funcs: HashMap::new(),
        index,
        builtin_sigs: HashMap::new(),
        fuel_var: None,
        fuel_pending: 0,
        legacy_tries: None,
        next_try: None,
        loops_seen: 0,
        osr_target: None,
        osr_found: false,
        osr_locals,
    };
    let mut notes = UnsupportedNotes::default();
    let mut limit: Option<FrontendError> = None;

    let pointer_type = env.pointer_type();
    // Asked to (the locals are crowded), their places in a stack slot
    // (zeroed now); otherwise empty: SSA variables.
    let in_slot = if locals_in_slot {
        t.slot_locals(ty, body)
    } else {
        Vec::new()
    };
    for (i, wt) in ty.params().iter().enumerate() {
        let local = t.new_local(
            in_slot.get(i).copied().flatten(),
            clif_type(*wt, pointer_type),
        );
        t.local_set(local, params[2 + i]);
        t.locals.push(local);
    }
    let mut reader = read_locals(body, validator, &mut notes, |count, wt| {
        let clif = clif_type(wt, pointer_type);
        for _ in 0..count {
            let local = t.new_local(in_slot.get(t.locals.len()).copied().flatten(), clif);
            // A slot's locals start at zero: the slot is zeroed.
            if let Local::Var(var) = local {
                let zero = t.zero(wt);
                t.builder.def_var(var, zero);
            }
            t.locals.push(local);
        }
    })?;

    // With many locals in SSA variables, where each is used first and
    // last, to tell whether they are crowded.
    if in_slot.is_empty() && t.locals.len() > MAX_LIVE_LOCALS {
        t.spans = vec![(u32::MAX, 0); t.locals.len()];
    }

    // The body is a block whose end returns.
    let results: Vec<WasmType> = ty.results().to_vec();
    let exit = t.builder.create_block();
    for r in &results {
        t.builder
            .append_block_param(exit, clif_type(*r, env.pointer_type()));
    }
    t.control.push(Frame {
        kind: FrameKind::Block,
        next: exit,
        num_params: 0,
        num_results: results.len(),
        height: 0,
        next_reachable: false,
    });

    if env.count_heat {
        t.count_heat();
    }
    if env.epoch_interruption {
        t.epoch_check();
    }
    if env.consume_fuel {
        t.fuel_init();
        t.fuel_check();
    }
    if let Some(k) = env.osr_entry {
        t.enter_osr(k, &params[2..])?;
    }
    while notes.is_empty() && !reader.eof() {
        let offset = reader.original_position();
        let op = reader.read()?;
        let dead = validator_unreachable(validator);
        validator.op(offset, &op)?;
        // What the engine lacks is found by `note_unsupported` alone, so
        // validating without translating (`validate_function`) finds
        // exactly the same.
        note_unsupported(&op, dead, &mut notes);
        if !notes.is_empty() {
            break;
        }
        if let Operator::Try { .. } = op {
            t.read_try(&reader);
        }
        // Source locations are module byte offsets, for backtraces.
        t.builder.set_srcloc(ir::SourceLoc::new(offset as u32));
        t.at = offset as u32;
        match t.op(op) {
            Ok(()) => {}
            Err(e @ FrontendError::Unsupported(_)) => notes.add_error(e),
            Err(e) => return Err(e),
        }
        // Past a limit, stop translating.
        limit = over_limit(validator);
        if limit.is_some() {
            break;
        }
    }
    // Whatever was not translated is still validated.
    let mut rest = Validated {
        notes,
        ..Validated::default()
    };
    validate_rest(&mut reader, validator, &mut rest)?;
    if let Some(e) = rest.notes.into_error() {
        return Err(e);
    }
    if let Some(e) = limit {
        return Err(e);
    }
    if t.osr_target.is_some() && !t.osr_found {
        return Err(crate::error::unsupported(
            "on-stack replacement of this loop",
        ));
    }
    // The final `end` switched to `exit`; return its parameters.
    if t.reachable {
        t.fuel_save();
        let vals = t.stack.split_off(t.stack.len() - results.len());
        t.builder.ins().return_(&vals);
    }
    t.builder.seal_all_blocks();
    t.builder.finalize(env.frontend_config);
    if variables::crowded(&t.spans) {
        return Ok(None);
    }
    Ok(Some(func))
}

/// What validating a body without translating it found.
#[derive(Debug, Default)]
pub struct Validated {
    /// What the body uses that the engine lacks.
    pub notes: UnsupportedNotes,
    /// Functions it names in `call`, `return_call` and `ref.func`, in order
    /// of appearance (with repeats): its edges of the call graph, which lazy
    /// compilation follows to compile likely callees ahead of time.
    pub callees: Vec<u32>,
    /// The first implementation limit the body exceeds, if any.
    pub limit: Option<FrontendError>,
}

/// Validates a function body without translating it (for modules already
/// known to be unsupported, and for lazy compilation, which translates a
/// body when it is first called). It finds exactly what
/// [`translate_function`] would: the same unsupported features (both note
/// them with `note_unsupported`, on every operator the validator does not
/// know to be unreachable) and the same implementation limits (both
/// measure the validator's stacks).
pub fn validate_function(
    body: &FunctionBody<'_>,
    validator: &mut FuncValidator<ValidatorResources>,
) -> Result<Validated, FrontendError> {
    let mut out = Validated::default();
    let mut reader = read_locals(body, validator, &mut out.notes, |_, _| {})?;
    validate_rest(&mut reader, validator, &mut out)?;
    Ok(out)
}

/// Whether the validator knows the next operator cannot run (it follows an
/// unconditional branch in its block). The translator skips such code too
/// (and more: it also skips blocks opened there), so what it translates is
/// never in code the validator calls unreachable.
fn validator_unreachable(validator: &FuncValidator<ValidatorResources>) -> bool {
    validator
        .get_control_frame(0)
        .is_some_and(|f| f.unreachable)
}

/// Notes what `op` needs that the engine lacks, unless it is `dead` (see
/// [`validator_unreachable`]): an operator of a proposal it does not
/// implement, or a block type it cannot represent.
fn note_unsupported(op: &Operator<'_>, dead: bool, notes: &mut UnsupportedNotes) {
    if dead {
        return;
    }
    if let Some(n) = unsupported_operator(op) {
        notes.add(n);
        return;
    }
    match op {
        Operator::Block {
            blockty: BlockType::Type(t),
        }
        | Operator::Loop {
            blockty: BlockType::Type(t),
        }
        | Operator::If {
            blockty: BlockType::Type(t),
        }
        | Operator::TryTable {
            try_table:
                wasmparser::TryTable {
                    ty: BlockType::Type(t),
                    ..
                },
        }
        | Operator::Try {
            blockty: BlockType::Type(t),
        } => {
            if let Err(e) = WasmType::from_wasmparser(*t) {
                notes.add_error(e);
            }
        }
        Operator::TypedSelectMulti { .. } => notes.add("select with several results"),
        // GC casts to heap types the engine cannot represent (shared or
        // continuation references).
        Operator::RefTestNonNull { hty }
        | Operator::RefTestNullable { hty }
        | Operator::RefCastNonNull { hty }
        | Operator::RefCastNullable { hty } => {
            if let Some(r) = wasmparser::RefType::new(true, *hty)
                && let Err(e) = WasmType::from_ref_type(r)
            {
                notes.add_error(e);
            }
        }
        Operator::BrOnCast {
            from_ref_type,
            to_ref_type,
            ..
        }
        | Operator::BrOnCastFail {
            from_ref_type,
            to_ref_type,
            ..
        } => {
            for r in [from_ref_type, to_ref_type] {
                if let Err(e) = WasmType::from_ref_type(*r) {
                    notes.add_error(e);
                }
            }
        }
        _ => {}
    }
}

/// The implementation limit the body exceeds at this point, if any,
/// measured on the validator's operand and control stacks.
fn over_limit(validator: &FuncValidator<ValidatorResources>) -> Option<FrontendError> {
    if validator.operand_stack_height() as usize > limits::MAX_OPERAND_STACK {
        Some(FrontendError::Limit(format!(
            "more than {} values on the operand stack",
            limits::MAX_OPERAND_STACK
        )))
    } else if validator.control_stack_height() as usize > limits::MAX_CONTROL_DEPTH {
        Some(FrontendError::Limit(format!(
            "blocks nested more than {} deep",
            limits::MAX_CONTROL_DEPTH
        )))
    } else {
        None
    }
}

/// Reads and validates a body's local declarations, noting the types the
/// engine lacks and handing `declare` each group `(count, type)` while none
/// is noted; returns the body's operators, decoded with the validator's
/// features.
fn read_locals<'a>(
    body: &FunctionBody<'a>,
    validator: &mut FuncValidator<ValidatorResources>,
    notes: &mut UnsupportedNotes,
    mut declare: impl FnMut(u32, WasmType),
) -> Result<OperatorsReader<'a>, FrontendError> {
    let mut locals = body.get_locals_reader()?;
    for _ in 0..locals.get_count() {
        let offset = locals.original_position();
        let (count, vt) = locals.read()?;
        validator.define_locals(offset, count, vt)?;
        match WasmType::from_wasmparser(vt) {
            Ok(wt) if notes.is_empty() => declare(count, wt),
            Ok(_) => {}
            Err(e) => notes.add_error(e),
        }
    }
    let mut operators = locals.get_binary_reader();
    operators.set_features(*validator.features());
    Ok(OperatorsReader::new(operators))
}

/// Validates the rest of a body, noting operators of proposals the
/// translator does not implement.
fn validate_rest(
    reader: &mut OperatorsReader<'_>,
    validator: &mut FuncValidator<ValidatorResources>,
    out: &mut Validated,
) -> Result<(), FrontendError> {
    while !reader.eof() {
        let offset = reader.original_position();
        let op = reader.read()?;
        let dead = validator_unreachable(validator);
        validator.op(offset, &op)?;
        note_callee(&op, &mut out.callees);
        note_unsupported(&op, dead, &mut out.notes);
        if out.limit.is_none() {
            out.limit = over_limit(validator);
        }
    }
    reader.finish()?;
    Ok(())
}

/// Adds the function `op` names in `call`, `return_call` or `ref.func`.
fn note_callee(op: &Operator<'_>, callees: &mut Vec<u32>) {
    match *op {
        Operator::Call { function_index }
        | Operator::ReturnCall { function_index }
        | Operator::RefFunc { function_index } => callees.push(function_index),
        _ => {}
    }
}

/// What translating one operator gives: nothing, or why it could not be.
type Translated = Result<(), FrontendError>;

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

    /// The implementation limit this function went past, if any.
    fn zero(&mut self, ty: WasmType) -> Value {
        if ty == WasmType::V128 {
            return self.zero_v128();
        }
        let ins = self.builder.ins();
        match ty {
            WasmType::I32 => ins.iconst(types::I32, 0),
            WasmType::I64 => ins.iconst(types::I64, 0),
            WasmType::F32 => ins.f32const(0.0),
            WasmType::F64 => ins.f64const(0.0),
            WasmType::FuncRef | WasmType::ExternRef | WasmType::Ref(_) => {
                ins.iconst(self.env.pointer_type(), 0)
            }
            WasmType::V128 => unreachable!("handled above"),
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
                .append_block_param(b, clif_type(*t, self.env.pointer_type()));
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

    fn op(&mut self, op: Operator<'_>) -> Translated {
        if self.reachable {
            self.dispatch(op)
        } else {
            self.dead_op(op)
        }
    }

    /// The signature reference for module type `type_index`.
    fn sig_ref(&mut self, type_index: TypeIndex) -> ir::SigRef {
        if let Some(s) = self.sigs.get(&type_index) {
            return *s;
        }
        let sig = wasm_signature(
            &self.env.info.types[type_index.index()],
            self.env.pointer_type(),
        );
        let s = self.builder.import_signature(sig);
        self.sigs.insert(type_index, s);
        s
    }

    fn func_ref(&mut self, function_index: FuncIndex) -> ir::FuncRef {
        if let Some(f) = self.funcs.get(&function_index) {
            return *f;
        }
        let sig = self.sig_ref(self.env.info.func_type_index(function_index));
        let name = self
            .builder
            .func
            .declare_imported_user_function(UserExternalName::new(
                FUNC_NAMESPACE,
                function_index.0,
            ));
        let f = self.builder.import_function(ir::ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: !self.env.far_calls,
            patchable: false,
        });
        self.funcs.insert(function_index, f);
        f
    }
}
