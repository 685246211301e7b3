//! What the translator asks about the instance: where memories, globals,
//! tables and builtins are, and how to reach them. The only part of the
//! translator that knows the `VMContext` layout.

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, types};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};

use super::{FuncTranslator, clif_type};
use crate::builtins::{Builtin, BuiltinReturn};
use crate::index::{DefinedFuncIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex};
use crate::module::ModuleInfo;
use crate::trap::{HOST_TRAP, TrapKind};
use crate::vmoffsets::{self, VMOffsets};

/// How linear memory accesses are kept inside the memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryStyle {
    /// Memories reserve 4 GiB of address space plus `guard_bytes` of
    /// inaccessible pages after it, and never move: an access whose static
    /// offset plus size fits in the guard needs no check; the hardware
    /// faults and the fault becomes a trap.
    Guarded {
        /// Inaccessible bytes after the 4 GiB reservation.
        guard_bytes: u64,
    },
    /// Every access is compared with the current length; memories may move
    /// when they grow.
    Explicit,
}

/// Everything the translator needs to know beyond the function body.
pub struct TranslationEnv<'a> {
    /// The module.
    pub info: &'a ModuleInfo,
    /// Its context layout.
    pub offsets: VMOffsets,
    /// Pointer width and calling convention of the target.
    pub frontend_config: TargetFrontendConfig,
    /// Bounds-checking strategy.
    pub memory_style: MemoryStyle,
    /// Check the engine's epoch against the store's deadline at every
    /// function entry and loop header, trapping when it has passed.
    pub epoch_interruption: bool,
    /// Count executed operators against the store's fuel, trapping with
    /// `OutOfFuel` when it runs out.
    pub consume_fuel: bool,
    /// Lazy compilation: calls to the module's own functions go through its
    /// code slots (`VMCTX_FUNC_SLOTS`) and compile the callee on first use,
    /// instead of a direct call linked when the module is placed.
    pub lazy: bool,
    /// Quick first-tier code of lazy compilation: each entry and each loop
    /// iteration adds one to the function's heat counter (after the code
    /// slots: [`vmoffsets::heat_counters`]), so that the hottest quick
    /// code is compiled again at full optimisation first.
    pub count_heat: bool,
    /// Quick first-tier code (with `count_heat`): loops that run long ask
    /// for an optimised entry and continue there (on-stack replacement,
    /// `translate/osr.rs`).
    pub osr_checks: bool,
    /// Translate the function as the on-stack-replacement entry of its loop
    /// number `n` (loops numbered from 0 in body order), with the signature
    /// of `osr::osr_signature`; a loop that cannot be entered that way is
    /// refused as unsupported.
    pub osr_entry: Option<u32>,
    /// How vector operators are lowered for the target.
    pub simd: super::SimdLowering,
    /// The target's stores may tear: a store that crosses into an
    /// inaccessible page may write its accessible bytes before it faults
    /// (aarch64 permits this, and vector stores do it under qemu). Wasm
    /// requires a trapping store to write nothing, so with guard pages each
    /// store of more than one byte first loads its last byte.
    pub tearing_stores: bool,
    /// Direct calls between the module's functions load the callee's
    /// address (an absolute relocation) and call through a register,
    /// instead of a PC-relative call: the module's code may be larger than
    /// such a call reaches (128 MiB on aarch64, 2 GiB on x86-64).
    pub far_calls: bool,
}

impl TranslationEnv<'_> {
    /// Pointer type of the target.
    pub fn pointer_type(&self) -> ir::Type {
        self.frontend_config.pointer_type()
    }

    /// The target's C calling convention, which builtins use (Wasm
    /// functions use [`super::WASM_CALL_CONV`]).
    pub fn host_call_conv(&self) -> CallConv {
        self.frontend_config.default_call_conv
    }

    /// Makes `func`'s prologue check the stack pointer against the store's
    /// stack limit (`vmctx->limits->stack_limit`), trapping with
    /// `StackOverflow` below it.
    pub fn set_stack_limit(&self, func: &mut ir::Function) {
        let vmctx_gv = func.create_global_value(ir::GlobalValueData::VMContext);
        let readonly = func
            .dfg
            .mem_flags
            .insert_unchecked(MemFlagsData::trusted().with_readonly());
        let trusted = func.dfg.mem_flags.insert_unchecked(MemFlagsData::trusted());
        let limits_gv = func.create_global_value(ir::GlobalValueData::Load {
            base: vmctx_gv,
            offset: vmoffsets::VMCTX_LIMITS.into(),
            global_type: self.pointer_type(),
            flags: readonly,
        });
        let limit_gv = func.create_global_value(ir::GlobalValueData::Load {
            base: limits_gv,
            offset: vmoffsets::limits::STACK_LIMIT.into(),
            global_type: self.pointer_type(),
            flags: trusted,
        });
        func.stack_limit = Some(limit_gv);
    }

    /// Whether memory `mem` can rely on guard pages: the engine's style is
    /// guarded and the memory has a 32-bit index and 64 KiB pages (the
    /// backend gives other memories the explicit style).
    pub fn guarded(&self, mem: MemoryIndex) -> Option<u64> {
        match self.memory_style {
            MemoryStyle::Guarded { guard_bytes } if self.info.memories[mem.index()].guardable() => {
                Some(guard_bytes)
            }
            _ => None,
        }
    }

    /// Whether an access of `size` bytes at static `offset` in memory `mem`
    /// needs an explicit bounds check.
    pub fn needs_bounds_check(&self, mem: MemoryIndex, offset: u64, size: u32) -> bool {
        match self.guarded(mem) {
            Some(guard_bytes) => offset.saturating_add(size as u64) > guard_bytes,
            None => true,
        }
    }
}

/// Flags for loads of context fields that never change for an instance.
pub(super) fn readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

impl FuncTranslator<'_, '_> {
    fn ptr(&self) -> ir::Type {
        self.env.pointer_type()
    }

    /// Loads a pointer stored at `vmctx + offset`.
    pub(super) fn vmctx_load(&mut self, offset: i32) -> Value {
        let ptr = self.ptr();
        self.builder.ins().load(ptr, readonly(), self.vmctx, offset)
    }

    /// The `VMMemoryDefinition` of memory `index`.
    pub(super) fn memory_def(&mut self, index: MemoryIndex) -> Value {
        self.vmctx_load(self.env.offsets.memory(index))
    }

    /// The base address of memory `mem` (a guarded memory never moves: its
    /// base is read from the context's copy, one load instead of two).
    pub(super) fn memory_base(&mut self, mem: MemoryIndex) -> Value {
        if self.env.guarded(mem).is_some() {
            return self.vmctx_load(self.env.offsets.memory_base(mem));
        }
        let def = self.memory_def(mem);
        let ptr = self.ptr();
        self.builder
            .ins()
            .load(ptr, MemFlagsData::trusted(), def, vmoffsets::memory::BASE)
    }

    /// The current length in bytes of memory `index`.
    pub(super) fn memory_length(&mut self, def: Value) -> Value {
        let ptr = self.ptr();
        self.builder
            .ins()
            .load(ptr, MemFlagsData::trusted(), def, vmoffsets::memory::LENGTH)
    }

    /// The address of an access of `size` bytes at `index + offset` in
    /// memory `mem`, with the bounds check the memory style needs. Returns
    /// an address and a static offset to put in the load or store.
    pub(super) fn heap_addr(
        &mut self,
        mem: MemoryIndex,
        index: Value,
        offset: u64,
        size: u32,
    ) -> (Value, i32) {
        let base = self.memory_base(mem);
        let memory64 = self.env.info.memories[mem.index()].memory64;
        let index = if memory64 {
            index
        } else {
            self.builder.ins().uextend(types::I64, index)
        };
        if self.env.needs_bounds_check(mem, offset, size) {
            let def = self.memory_def(mem);
            let length = self.memory_length(def);
            let oob = TrapKind::MemoryOutOfBounds.code();
            let end = match offset.checked_add(size as u64) {
                // A 32-bit index plus a 32-bit offset cannot overflow.
                Some(reach) if !memory64 => self.builder.ins().iadd_imm_u(index, reach as i64),
                // A 64-bit one can, and that is out of bounds too.
                Some(reach) => {
                    let reach = self.builder.ins().iconst(types::I64, reach as i64);
                    self.builder.ins().uadd_overflow_trap(index, reach, oob)
                }
                None => {
                    // Past the end of any memory, whatever the index.
                    self.builder.ins().trap(oob);
                    let dead = self.builder.create_block();
                    self.builder.switch_to_block(dead);
                    self.builder.seal_block(dead);
                    self.builder.ins().iconst(types::I64, 0)
                }
            };
            let past =
                self.builder
                    .ins()
                    .icmp(ir::condcodes::IntCC::UnsignedGreaterThan, end, length);
            self.builder.ins().trapnz(past, oob);
        }
        let addr = self.builder.ins().iadd(base, index);
        match i32::try_from(offset) {
            Ok(off) => (addr, off),
            Err(_) => {
                let addr = self.builder.ins().iadd_imm_u(addr, offset as i64);
                (addr, 0)
            }
        }
    }

    /// [`Self::heap_addr`] for a store of `size` bytes: where stores may
    /// tear and only guard pages catch an access past the end, the last
    /// byte is loaded first, so a store that will fault faults before it
    /// writes anything (the load is precise; the store may not be).
    pub(super) fn store_addr(
        &mut self,
        mem: MemoryIndex,
        index: Value,
        offset: u64,
        size: u32,
    ) -> (Value, i32) {
        let (addr, off) = self.heap_addr(mem, index, offset, size);
        if size > 1 && self.env.tearing_stores && !self.env.needs_bounds_check(mem, offset, size) {
            let (probe, at) = match off.checked_add(size as i32 - 1) {
                Some(at) => (addr, at),
                None => (
                    self.builder.ins().iadd_imm_u(addr, off as i64),
                    size as i32 - 1,
                ),
            };
            // Its value is unused, but a load that may trap is never removed.
            self.builder
                .ins()
                .uload8(types::I32, super::memory::heap_flags(), probe, at);
        }
        (addr, off)
    }

    /// The address of global `index`'s storage cell.
    pub(super) fn global_addr(&mut self, index: GlobalIndex) -> Value {
        self.vmctx_load(self.env.offsets.global(index))
    }

    pub(super) fn global_get(&mut self, index: GlobalIndex) -> Value {
        let g = self.env.info.globals[index.index()];
        let ty = clif_type(g.content, self.ptr());
        let addr = self.global_addr(index);
        let flags = if g.mutable {
            MemFlagsData::trusted()
        } else {
            readonly()
        };
        self.builder.ins().load(ty, flags, addr, 0)
    }

    pub(super) fn global_set(&mut self, index: GlobalIndex, v: Value) {
        let addr = self.global_addr(index);
        self.builder
            .ins()
            .store(MemFlagsData::trusted(), v, addr, 0);
    }

    /// The `*const VMFuncRef` of function `index` (`ref.func`, and calls to
    /// imported functions).
    pub(super) fn func_ref_value(&mut self, index: FuncIndex) -> Value {
        self.vmctx_load(self.env.offsets.funcref(index))
    }

    /// The code pointer and context of a non-null `VMFuncRef`. A null code
    /// pointer (a lazily compiled function not compiled yet) is resolved
    /// through the `lazy_funcref` builtin, which also stores it.
    pub(super) fn funcref_code_and_vmctx(&mut self, funcref: Value) -> (Value, Value) {
        let ptr = self.ptr();
        let code = self.builder.ins().load(
            ptr,
            MemFlagsData::trusted(),
            funcref,
            vmoffsets::funcref::FUNC_PTR,
        );
        let code = self.resolve_code(code, Builtin::LazyFuncref, funcref);
        let vmctx = self.builder.ins().load(
            ptr,
            MemFlagsData::trusted().with_readonly(),
            funcref,
            vmoffsets::funcref::VMCTX,
        );
        (code, vmctx)
    }

    /// The code of defined function `index` of this module, read from the
    /// module's code slots (lazy compilation) and compiled on first use.
    pub(super) fn slot_code(&mut self, index: DefinedFuncIndex) -> Value {
        let ptr = self.ptr();
        let slots = self.vmctx_load(vmoffsets::VMCTX_FUNC_SLOTS);
        let code = self.builder.ins().load(
            ptr,
            MemFlagsData::trusted(),
            slots,
            (index.0 * ptr.bytes()) as i32,
        );
        let arg = self.builder.ins().iconst(types::I32, index.0 as i64);
        self.resolve_code(code, Builtin::LazyCompile, arg)
    }

    /// `code` if it is not null, otherwise what `builtin(arg)` returns (it
    /// compiles the function) on a cold path; a null result there is a
    /// trap the builtin recorded.
    fn resolve_code(&mut self, code: Value, builtin: Builtin, arg: Value) -> Value {
        let ptr = self.ptr();
        let slow = self.builder.create_block();
        let done = self.builder.create_block();
        let resolved = self.builder.append_block_param(done, ptr);
        self.builder.set_cold_block(slow);
        self.builder
            .ins()
            .brif(code, done, &[code.into()], slow, &[]);
        self.builder.switch_to_block(slow);
        self.builder.seal_block(slow);
        let compiled = self.call_builtin_or_trap(builtin, &[arg]);
        self.builder.ins().jump(done, &[compiled.into()]);
        self.builder.switch_to_block(done);
        self.builder.seal_block(done);
        resolved
    }

    /// Raises the trap a grow builtin recorded when it returned
    /// [`GROW_TRAPPED`](crate::builtins::GROW_TRAPPED).
    pub(super) fn trap_if_grow_trapped(&mut self, old: Value) {
        let trapped = self.builder.ins().icmp_imm_s(
            ir::condcodes::IntCC::Equal,
            old,
            crate::builtins::GROW_TRAPPED as i64,
        );
        self.builder.ins().trapnz(trapped, HOST_TRAP);
    }

    /// The canonical type id (i32) of a non-null `VMFuncRef`.
    pub(super) fn funcref_type_id(&mut self, funcref: Value) -> Value {
        self.builder.ins().load(
            types::I32,
            MemFlagsData::trusted().with_readonly(),
            funcref,
            vmoffsets::funcref::TYPE_ID,
        )
    }

    /// The `VMTableDefinition` of table `index`.
    pub(super) fn table_def(&mut self, index: TableIndex) -> Value {
        self.vmctx_load(self.env.offsets.table(index))
    }

    /// The current number of elements of a table.
    pub(super) fn table_length(&mut self, def: Value) -> Value {
        self.builder.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            def,
            vmoffsets::table::LENGTH,
        )
    }

    /// The address of element `index` of table `table`, trapping with
    /// `trap` when it is out of bounds.
    pub(super) fn table_elem_addr(
        &mut self,
        table: TableIndex,
        index: Value,
        trap: TrapKind,
    ) -> Value {
        let def = self.table_def(table);
        let length = self.table_length(def);
        let index = if self.env.info.tables[table.index()].table64 {
            index
        } else {
            self.builder.ins().uextend(types::I64, index)
        };
        let oob = self.builder.ins().icmp(
            ir::condcodes::IntCC::UnsignedGreaterThanOrEqual,
            index,
            length,
        );
        self.builder.ins().trapnz(oob, trap.code());
        let ptr = self.ptr();
        let base =
            self.builder
                .ins()
                .load(ptr, MemFlagsData::trusted(), def, vmoffsets::table::BASE);
        let scaled = self.builder.ins().imul_imm_u(index, i64::from(ptr.bytes()));
        self.builder.ins().iadd(base, scaled)
    }

    /// Adds one to this function's heat counter (quick first-tier code:
    /// [`TranslationEnv::count_heat`]; 64 bits, so it never wraps). Racy
    /// read-modify-write on purpose: the count only orders recompilation,
    /// so a lost increment is harmless.
    pub(super) fn count_heat(&mut self) -> Value {
        let ptr = self.ptr();
        let info = self.env.info;
        let slots = self.vmctx_load(vmoffsets::VMCTX_FUNC_SLOTS);
        let counters = self.builder.ins().load(
            ptr,
            readonly(),
            slots,
            vmoffsets::heat_counters(info.num_defined_funcs()),
        );
        let offset = info.defined_func_index(self.index).0 * 8;
        let count =
            self.builder
                .ins()
                .load(types::I64, MemFlagsData::trusted(), counters, offset as i32);
        let count = self.builder.ins().iadd_imm_u(count, 1);
        self.builder
            .ins()
            .store(MemFlagsData::trusted(), count, counters, offset as i32);
        count
    }

    /// Once the engine's epoch reaches the store's deadline, asks the
    /// runtime (on a cold path) for a new deadline, or traps (`Interrupted`,
    /// or the store's epoch callback's error).
    pub(super) fn epoch_check(&mut self) {
        let ptr = self.ptr();
        let limits = self.vmctx_load(vmoffsets::VMCTX_LIMITS);
        let epoch_ptr =
            self.builder
                .ins()
                .load(ptr, readonly(), limits, vmoffsets::limits::EPOCH_PTR);
        // Atomic, so that the load is never merged with an earlier one: the
        // counter changes under our feet.
        let epoch = self
            .builder
            .ins()
            .atomic_load(types::I64, MemFlagsData::trusted(), epoch_ptr);
        let deadline = self.builder.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            limits,
            vmoffsets::limits::EPOCH_DEADLINE,
        );
        let passed = self.builder.ins().icmp(
            ir::condcodes::IntCC::UnsignedGreaterThanOrEqual,
            epoch,
            deadline,
        );
        let reached = self.builder.create_block();
        let go_on = self.builder.create_block();
        self.builder.set_cold_block(reached);
        self.builder.ins().brif(passed, reached, &[], go_on, &[]);
        self.builder.switch_to_block(reached);
        self.builder.seal_block(reached);
        // The store's epoch callback sees and sets the fuel.
        self.fuel_save();
        self.call_builtin(Builtin::EpochReached, &[]);
        self.fuel_load();
        self.builder.ins().jump(go_on, &[]);
        self.builder.switch_to_block(go_on);
        self.builder.seal_block(go_on);
    }

    fn fuel_addr(&mut self) -> Value {
        self.vmctx_load(vmoffsets::VMCTX_LIMITS)
    }

    /// Loads the store's remaining fuel into the fuel variable.
    pub(super) fn fuel_init(&mut self) {
        let var = self.builder.declare_var(types::I64);
        self.fuel_var = Some(var);
        self.fuel_load();
    }

    pub(super) fn fuel_load(&mut self) {
        let Some(var) = self.fuel_var else { return };
        let limits = self.fuel_addr();
        let fuel = self.builder.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            limits,
            vmoffsets::limits::FUEL,
        );
        self.builder.def_var(var, fuel);
    }

    /// Charges the operators counted so far to the fuel variable (before
    /// anything that leaves the current block).
    pub(super) fn fuel_flush(&mut self) {
        let Some(var) = self.fuel_var else { return };
        if self.fuel_pending == 0 {
            return;
        }
        let fuel = self.builder.use_var(var);
        let fuel = self.builder.ins().iadd_imm_s(fuel, -self.fuel_pending);
        self.builder.def_var(var, fuel);
        self.fuel_pending = 0;
    }

    /// Writes the fuel variable back to the store (before calls and returns).
    pub(super) fn fuel_save(&mut self) {
        let Some(var) = self.fuel_var else { return };
        self.fuel_flush();
        let fuel = self.builder.use_var(var);
        let limits = self.fuel_addr();
        self.builder.ins().store(
            MemFlagsData::trusted(),
            fuel,
            limits,
            vmoffsets::limits::FUEL,
        );
    }

    /// Traps with `OutOfFuel` when the fuel is used up: none left counts
    /// (as in Wasmtime, a store with no fuel runs no Wasm at all; the
    /// function entry checks too).
    pub(super) fn fuel_check(&mut self) {
        let Some(var) = self.fuel_var else { return };
        self.fuel_flush();
        let fuel = self.builder.use_var(var);
        let out =
            self.builder
                .ins()
                .icmp_imm_s(ir::condcodes::IntCC::SignedLessThanOrEqual, fuel, 0);
        self.builder.ins().trapnz(out, TrapKind::OutOfFuel.code());
    }

    /// After a call returns: the callee may have used fuel.
    pub(super) fn fuel_after_call(&mut self) {
        self.fuel_load();
    }

    /// Calls a builtin that returns a pointer, or 0 after recording a trap,
    /// which is raised here.
    pub(super) fn call_builtin_or_trap(&mut self, builtin: Builtin, args: &[Value]) -> Value {
        debug_assert_eq!(
            builtin.returns(),
            BuiltinReturn::Pointer,
            "{}",
            builtin.name()
        );
        let p = self
            .call_builtin(builtin, args)
            .expect("the builtin returns a pointer");
        self.builder.ins().trapz(p, HOST_TRAP);
        p
    }

    /// Calls a runtime builtin. Builtins that report failure return a
    /// non-zero flag, turned here into a trap.
    pub(super) fn call_builtin(&mut self, builtin: Builtin, args: &[Value]) -> Option<Value> {
        let ptr = self.ptr();
        let sig = match self.builtin_sigs.get(&builtin) {
            Some(s) => *s,
            None => {
                let sig = builtin.signature(ptr, self.env.host_call_conv());
                let s = self.builder.import_signature(sig);
                self.builtin_sigs.insert(builtin, s);
                s
            }
        };
        debug_assert_eq!(
            args.iter()
                .map(|a| self.builder.func.dfg.value_type(*a))
                .collect::<Vec<_>>(),
            builtin.params(ptr),
            "arguments of {}",
            builtin.name()
        );
        let table = self.vmctx_load(vmoffsets::VMCTX_BUILTINS);
        let fptr = self
            .builder
            .ins()
            .load(ptr, readonly(), table, builtin.offset(ptr.bytes()));
        let mut call_args = Vec::with_capacity(args.len() + 1);
        call_args.push(self.vmctx);
        call_args.extend_from_slice(args);
        let inst = self.builder.ins().call_indirect(sig, fptr, &call_args);
        let result = self.builder.inst_results(inst).first().copied();
        match builtin.returns() {
            BuiltinReturn::TrapFlag => {
                self.builder.ins().trapnz(result.unwrap(), HOST_TRAP);
                None
            }
            _ => result,
        }
    }
}
