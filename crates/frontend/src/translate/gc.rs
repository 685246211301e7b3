//! GC: structs, arrays, `i31`, `ref.eq`, casts (`ref.test`, `ref.cast`,
//! `br_on_cast`, `br_on_cast_fail`) and the conversions between `anyref`
//! and `externref`.
//!
//! A reference is one pointer-sized word (see [`vmoffsets::gc`]): null, an
//! `i31` (bit 0 set), a host value (low bits `10`), or the address of an
//! object whose header names its canonical type id and kind. Objects are
//! allocated zeroed, inline by bumping the GC heap's cursor or through the
//! `gc_alloc` builtin (so a default value needs no store); fields and
//! elements are read and written here, bulk array operations are builtins. A cast to a concrete type compares canonical ids
//! and, when the target type may have subtypes (it is not final), asks the
//! `gc_subtype` builtin.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, types};
use wasmparser::{HeapType as WpHeapType, RefType as WpRefType};

use super::{FuncTranslator, Translated, block_args, clif_type};
use crate::builtins::Builtin;
use crate::error::FrontendError;
use crate::trap::TrapKind;
use crate::types::{Field, GcShape, HeapType, Storage, StructLayout, WasmType};
use crate::vmoffsets::{self, gc};

/// Flags for an access to a field or element of a live object: in bounds,
/// aligned to its size.
fn object_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl FuncTranslator<'_, '_> {
    fn struct_fields(&self, ty: u32) -> &[Field] {
        match &self.env.info.gc_shapes[ty as usize] {
            Some(GcShape::Struct(fields)) => fields,
            _ => unreachable!("the validator checked type {ty} is a struct type"),
        }
    }

    /// What field `field` of struct type `ty` stores, and its offset.
    fn struct_field(&self, ty: u32, field: u32) -> (Storage, i32) {
        let fields = self.struct_fields(ty);
        let off = StructLayout::new(fields).offsets[field as usize];
        (fields[field as usize].storage, off as i32)
    }

    fn array_elem(&self, ty: u32) -> Field {
        match &self.env.info.gc_shapes[ty as usize] {
            Some(GcShape::Array(f)) => *f,
            _ => unreachable!("the validator checked type {ty} is an array type"),
        }
    }

    fn i32_const(&mut self, v: u32) -> Value {
        self.builder.ins().iconst(types::I32, v as i64)
    }

    /// Allocates a zeroed struct or array of `len` elements of type `ty`:
    /// inline by bumping the GC heap's cursor (in the store's `VMLimits`)
    /// while the object fits in the bytes the heap was allowed, otherwise (a
    /// cold path) through the `gc_alloc` builtin, which asks the embedder
    /// for more, maps more, or traps.
    fn gc_alloc(&mut self, ty: u32, len: Value) -> Value {
        let ptr = self.env.pointer_type();
        let (size, kind) = match &self.env.info.gc_shapes[ty as usize] {
            Some(GcShape::Struct(fields)) => {
                let size = StructLayout::size_of(fields) as i64;
                (self.builder.ins().iconst(ptr, size), gc::KIND_STRUCT)
            }
            Some(GcShape::Array(f)) => {
                // At most 2^32 elements of 16 bytes: no overflow in 64 bits.
                let n = self.builder.ins().uextend(ptr, len);
                let bytes = self.builder.ins().imul_imm_u(n, f.storage.size() as i64);
                let total = self
                    .builder
                    .ins()
                    .iadd_imm_u(bytes, gc::HEADER_SIZE as i64 + 15);
                (self.builder.ins().band_imm_s(total, -16), gc::KIND_ARRAY)
            }
            None => unreachable!("the validator checked type {ty} is a struct or array type"),
        };
        let limits = self.vmctx_load(vmoffsets::VMCTX_LIMITS);
        let cursor = MemFlagsData::trusted();
        let next = self
            .builder
            .ins()
            .load(ptr, cursor, limits, vmoffsets::limits::GC_NEXT);
        let end = self
            .builder
            .ins()
            .load(ptr, cursor, limits, vmoffsets::limits::GC_END);
        let new_next = self.builder.ins().iadd(next, size);
        let fits = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, new_next, end);
        let fast = self.builder.create_block();
        let slow = self.builder.create_block();
        let done = self.builder.create_block();
        let obj = self.builder.append_block_param(done, ptr);
        self.builder.set_cold_block(slow);
        self.builder.ins().brif(fits, fast, &[], slow, &[]);

        self.builder.switch_to_block(fast);
        self.builder.seal_block(fast);
        self.builder
            .ins()
            .store(cursor, new_next, limits, vmoffsets::limits::GC_NEXT);
        let ids = self.vmctx_load(vmoffsets::VMCTX_TYPE_IDS);
        let id = self.builder.ins().load(
            types::I32,
            MemFlagsData::trusted().with_readonly(),
            ids,
            (ty as usize * 4) as i32,
        );
        // The heap's fresh bytes are zero: only the header is written.
        self.builder
            .ins()
            .store(object_flags(), id, next, gc::TYPE_ID);
        let kind = self.i32_const(kind);
        self.builder
            .ins()
            .store(object_flags(), kind, next, gc::KIND);
        if self.env.info.gc_shapes[ty as usize]
            .as_ref()
            .is_some_and(|s| matches!(s, GcShape::Array(_)))
        {
            self.builder
                .ins()
                .store(object_flags(), len, next, gc::LENGTH);
        }
        self.builder.ins().jump(done, &[next.into()]);

        self.builder.switch_to_block(slow);
        self.builder.seal_block(slow);
        let ty = self.i32_const(ty);
        let allocated = self.call_builtin_or_trap(Builtin::GcAlloc, &[ty, len]);
        self.builder.ins().jump(done, &[allocated.into()]);

        self.builder.switch_to_block(done);
        self.builder.seal_block(done);
        obj
    }

    /// Reads a field or element of storage `s` at `addr + offset`, widened
    /// to its value type (a packed one sign- or zero-extended).
    fn load_storage(&mut self, s: Storage, addr: Value, offset: i32, signed: bool) -> Value {
        let ins = self.builder.ins();
        match (s, signed) {
            (Storage::I8, true) => ins.sload8(types::I32, object_flags(), addr, offset),
            (Storage::I8, false) => ins.uload8(types::I32, object_flags(), addr, offset),
            (Storage::I16, true) => ins.sload16(types::I32, object_flags(), addr, offset),
            (Storage::I16, false) => ins.uload16(types::I32, object_flags(), addr, offset),
            (Storage::Val(t), _) => {
                let ty = clif_type(t, self.env.pointer_type());
                ins.load(ty, object_flags(), addr, offset)
            }
        }
    }

    fn store_storage(&mut self, s: Storage, v: Value, addr: Value, offset: i32) {
        let ins = self.builder.ins();
        match s {
            Storage::I8 => ins.istore8(object_flags(), v, addr, offset),
            Storage::I16 => ins.istore16(object_flags(), v, addr, offset),
            Storage::Val(_) => ins.store(object_flags(), v, addr, offset),
        };
    }

    pub(super) fn visit_struct_new(&mut self, ty: u32) -> Translated {
        let fields = self.struct_fields(ty).to_vec();
        let values = self.pop_n(fields.len());
        let zero = self.i32_const(0);
        let obj = self.gc_alloc(ty, zero);
        let layout = StructLayout::new(&fields);
        for ((f, v), off) in fields.iter().zip(values).zip(layout.offsets) {
            self.store_storage(f.storage, v, obj, off as i32);
        }
        self.push(obj);
        Ok(())
    }

    pub(super) fn visit_struct_new_default(&mut self, ty: u32) -> Translated {
        let zero = self.i32_const(0);
        let obj = self.gc_alloc(ty, zero);
        self.push(obj);
        Ok(())
    }

    /// `struct.new_desc` and `struct.new_default_desc` (custom
    /// descriptors): the struct, with the descriptor on top of the stack.
    fn struct_new_desc(&mut self, ty: u32, default: bool) -> Translated {
        let desc = self.pop();
        self.builder
            .ins()
            .trapz(desc, TrapKind::NullDescriptorReference.code());
        if default {
            self.visit_struct_new_default(ty)?;
        } else {
            self.visit_struct_new(ty)?;
        }
        let obj = *self.stack.last().expect("the new struct");
        self.builder
            .ins()
            .store(object_flags(), desc, obj, gc::DESCRIPTOR);
        Ok(())
    }

    pub(super) fn visit_struct_new_desc(&mut self, ty: u32) -> Translated {
        self.struct_new_desc(ty, false)
    }

    pub(super) fn visit_struct_new_default_desc(&mut self, ty: u32) -> Translated {
        self.struct_new_desc(ty, true)
    }

    pub(super) fn visit_ref_get_desc(&mut self, _ty: u32) -> Translated {
        let obj = self.pop();
        self.builder
            .ins()
            .trapz(obj, TrapKind::NullReference.code());
        let ptr = self.env.pointer_type();
        let desc = self
            .builder
            .ins()
            .load(ptr, object_flags(), obj, gc::DESCRIPTOR);
        self.push(desc);
        Ok(())
    }

    /// Whether reference `r` is a struct whose descriptor is `desc` (a null
    /// `r` passes when `nullable`): an `i32` 0 or 1. A null `desc` traps.
    fn desc_test(&mut self, r: Value, desc: Value, nullable: bool) -> Value {
        self.builder
            .ins()
            .trapz(desc, TrapKind::NullDescriptorReference.code());
        self.test_ref(r, nullable, |s, done| {
            // Only a struct has a descriptor (an array's length is there).
            let is_struct = s.non_null_test(r, HeapType::Struct, false, done);
            let zero = s.i32_const(0);
            let struct_block = s.builder.create_block();
            s.builder
                .ins()
                .brif(is_struct, struct_block, &[], done, &[zero.into()]);
            s.builder.switch_to_block(struct_block);
            s.builder.seal_block(struct_block);
            let ptr = s.env.pointer_type();
            let own = s.builder.ins().load(ptr, object_flags(), r, gc::DESCRIPTOR);
            let same = s.builder.ins().icmp(IntCC::Equal, own, desc);
            s.builder.ins().uextend(types::I32, same)
        })
    }

    fn ref_cast_desc_eq(&mut self, nullable: bool) -> Translated {
        let desc = self.pop();
        let r = self.pop();
        let ok = self.desc_test(r, desc, nullable);
        self.builder
            .ins()
            .trapz(ok, TrapKind::DescriptorCastFailure.code());
        self.push(r);
        Ok(())
    }

    pub(super) fn visit_ref_cast_desc_eq_non_null(&mut self, _hty: WpHeapType) -> Translated {
        self.ref_cast_desc_eq(false)
    }

    pub(super) fn visit_ref_cast_desc_eq_nullable(&mut self, _hty: WpHeapType) -> Translated {
        self.ref_cast_desc_eq(true)
    }

    /// `br_on_cast_desc_eq` (`on_fail` false) and `br_on_cast_desc_eq_fail`
    /// (true): the descriptor is taken, the reference stays either way.
    fn br_on_cast_desc_eq(
        &mut self,
        relative_depth: u32,
        to: WpRefType,
        on_fail: bool,
    ) -> Translated {
        self.fuel_flush();
        let desc = self.pop();
        let r = *self.stack.last().expect("validated: a reference");
        let ok = self.desc_test(r, desc, to.is_nullable());
        self.branch_on_test(relative_depth, ok, on_fail);
        Ok(())
    }

    pub(super) fn visit_br_on_cast_desc_eq(
        &mut self,
        relative_depth: u32,
        _from: WpRefType,
        to: WpRefType,
    ) -> Translated {
        self.br_on_cast_desc_eq(relative_depth, to, false)
    }

    pub(super) fn visit_br_on_cast_desc_eq_fail(
        &mut self,
        relative_depth: u32,
        _from: WpRefType,
        to: WpRefType,
    ) -> Translated {
        self.br_on_cast_desc_eq(relative_depth, to, true)
    }

    fn struct_get(&mut self, ty: u32, field: u32, signed: bool) -> Translated {
        let obj = self.pop();
        self.builder
            .ins()
            .trapz(obj, TrapKind::NullStructReference.code());
        let (storage, off) = self.struct_field(ty, field);
        let v = self.load_storage(storage, obj, off, signed);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_struct_get(&mut self, ty: u32, field: u32) -> Translated {
        self.struct_get(ty, field, false)
    }

    pub(super) fn visit_struct_get_s(&mut self, ty: u32, field: u32) -> Translated {
        self.struct_get(ty, field, true)
    }

    pub(super) fn visit_struct_get_u(&mut self, ty: u32, field: u32) -> Translated {
        self.struct_get(ty, field, false)
    }

    pub(super) fn visit_struct_set(&mut self, ty: u32, field: u32) -> Translated {
        let (obj, v) = self.pop2();
        self.builder
            .ins()
            .trapz(obj, TrapKind::NullStructReference.code());
        let (storage, off) = self.struct_field(ty, field);
        self.store_storage(storage, v, obj, off);
        Ok(())
    }

    /// A value's bits as the two `i64` halves the `array_fill` builtin
    /// takes (the high half is only used by `v128`).
    fn value_halves(&mut self, v: Value) -> (Value, Value) {
        let ty = self.builder.func.dfg.value_type(v);
        let ins = self.builder.ins();
        let zero = ins.iconst(types::I64, 0);
        let cast = MemFlagsData::new().with_endianness(ir::Endianness::Little);
        match ty {
            types::I32 => (self.builder.ins().uextend(types::I64, v), zero),
            types::I64 => (v, zero),
            types::F32 => {
                let b = self.builder.ins().bitcast(types::I32, cast, v);
                (self.builder.ins().uextend(types::I64, b), zero)
            }
            types::F64 => (self.builder.ins().bitcast(types::I64, cast, v), zero),
            t if t.is_vector() => {
                let lanes = self.builder.ins().bitcast(types::I64X2, cast, v);
                let lo = self.builder.ins().extractlane(lanes, 0);
                let hi = self.builder.ins().extractlane(lanes, 1);
                (lo, hi)
            }
            // A pointer-sized reference (64-bit targets only).
            _ => (v, zero),
        }
    }

    /// Fills `len` elements of non-null array `arr` from `dst` with `v`.
    fn array_fill_call(&mut self, ty: u32, arr: Value, dst: Value, v: Value, len: Value) {
        let (lo, hi) = self.value_halves(v);
        let ty = self.i32_const(ty);
        self.call_builtin(Builtin::ArrayFill, &[ty, arr, dst, lo, hi, len]);
    }

    pub(super) fn visit_array_new(&mut self, ty: u32) -> Translated {
        let (v, len) = self.pop2();
        let arr = self.gc_alloc(ty, len);
        let zero = self.i32_const(0);
        self.array_fill_call(ty, arr, zero, v, len);
        self.push(arr);
        Ok(())
    }

    pub(super) fn visit_array_new_default(&mut self, ty: u32) -> Translated {
        let len = self.pop();
        let arr = self.gc_alloc(ty, len);
        self.push(arr);
        Ok(())
    }

    pub(super) fn visit_array_new_fixed(&mut self, ty: u32, size: u32) -> Translated {
        let values = self.pop_n(size as usize);
        let len = self.i32_const(size);
        let arr = self.gc_alloc(ty, len);
        let elem = self.array_elem(ty);
        let step = elem.storage.size();
        for (i, v) in values.into_iter().enumerate() {
            let off = gc::HEADER_SIZE as u64 + i as u64 * step as u64;
            match i32::try_from(off) {
                Ok(off) => self.store_storage(elem.storage, v, arr, off),
                Err(_) => {
                    let addr = self.builder.ins().iadd_imm_u(arr, off as i64);
                    self.store_storage(elem.storage, v, addr, 0);
                }
            }
        }
        self.push(arr);
        Ok(())
    }

    /// `array.new_data` and `array.new_elem`: an array of type `ty` from
    /// segment `segment`, made by `builtin`.
    fn array_new_segment(&mut self, builtin: Builtin, ty: u32, segment: u32) -> Translated {
        let (offset, len) = self.pop2();
        let ty = self.i32_const(ty);
        let segment = self.i32_const(segment);
        let arr = self.call_builtin_or_trap(builtin, &[ty, segment, offset, len]);
        self.push(arr);
        Ok(())
    }

    pub(super) fn visit_array_new_data(&mut self, ty: u32, data: u32) -> Translated {
        self.array_new_segment(Builtin::ArrayNewData, ty, data)
    }

    pub(super) fn visit_array_new_elem(&mut self, ty: u32, elem: u32) -> Translated {
        self.array_new_segment(Builtin::ArrayNewElem, ty, elem)
    }

    /// The address of element `index` of array `arr` of type `ty`, after
    /// the null and bounds checks.
    fn array_elem_addr(&mut self, ty: u32, arr: Value, index: Value) -> Value {
        self.builder
            .ins()
            .trapz(arr, TrapKind::NullArrayReference.code());
        let len = self
            .builder
            .ins()
            .load(types::I32, object_flags(), arr, gc::LENGTH);
        let out = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.builder
            .ins()
            .trapnz(out, TrapKind::ArrayOutOfBounds.code());
        let size = self.array_elem(ty).storage.size();
        let ptr = self.env.pointer_type();
        let index = self.builder.ins().uextend(ptr, index);
        let scaled = self.builder.ins().imul_imm_u(index, size as i64);
        let addr = self.builder.ins().iadd(arr, scaled);
        self.builder.ins().iadd_imm_u(addr, gc::HEADER_SIZE as i64)
    }

    fn array_get(&mut self, ty: u32, signed: bool) -> Translated {
        let (arr, index) = self.pop2();
        let addr = self.array_elem_addr(ty, arr, index);
        let s = self.array_elem(ty).storage;
        let v = self.load_storage(s, addr, 0, signed);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_array_get(&mut self, ty: u32) -> Translated {
        self.array_get(ty, false)
    }

    pub(super) fn visit_array_get_s(&mut self, ty: u32) -> Translated {
        self.array_get(ty, true)
    }

    pub(super) fn visit_array_get_u(&mut self, ty: u32) -> Translated {
        self.array_get(ty, false)
    }

    pub(super) fn visit_array_set(&mut self, ty: u32) -> Translated {
        let v = self.pop();
        let (arr, index) = self.pop2();
        let addr = self.array_elem_addr(ty, arr, index);
        let s = self.array_elem(ty).storage;
        self.store_storage(s, v, addr, 0);
        Ok(())
    }

    pub(super) fn visit_array_len(&mut self) -> Translated {
        let arr = self.pop();
        self.builder
            .ins()
            .trapz(arr, TrapKind::NullArrayReference.code());
        let len = self
            .builder
            .ins()
            .load(types::I32, object_flags(), arr, gc::LENGTH);
        self.push(len);
        Ok(())
    }

    pub(super) fn visit_array_fill(&mut self, ty: u32) -> Translated {
        let len = self.pop();
        let v = self.pop();
        let (arr, dst) = self.pop2();
        self.builder
            .ins()
            .trapz(arr, TrapKind::NullArrayReference.code());
        self.array_fill_call(ty, arr, dst, v, len);
        Ok(())
    }

    pub(super) fn visit_array_copy(&mut self, dst_ty: u32, _src_ty: u32) -> Translated {
        let len = self.pop();
        let (src, src_index) = self.pop2();
        let (dst, dst_index) = self.pop2();
        for r in [dst, src] {
            self.builder
                .ins()
                .trapz(r, TrapKind::NullArrayReference.code());
        }
        let ty = self.i32_const(dst_ty);
        self.call_builtin(
            Builtin::ArrayCopy,
            &[ty, dst, dst_index, src, src_index, len],
        );
        Ok(())
    }

    fn array_init(&mut self, builtin: Builtin, ty: u32, segment: u32) -> Translated {
        let len = self.pop();
        let src = self.pop();
        let (arr, dst) = self.pop2();
        self.builder
            .ins()
            .trapz(arr, TrapKind::NullArrayReference.code());
        let ty = self.i32_const(ty);
        let segment = self.i32_const(segment);
        self.call_builtin(builtin, &[ty, segment, arr, dst, src, len]);
        Ok(())
    }

    pub(super) fn visit_array_init_data(&mut self, ty: u32, data: u32) -> Translated {
        self.array_init(Builtin::ArrayInitData, ty, data)
    }

    pub(super) fn visit_array_init_elem(&mut self, ty: u32, elem: u32) -> Translated {
        self.array_init(Builtin::ArrayInitElem, ty, elem)
    }

    pub(super) fn visit_ref_i31(&mut self) -> Translated {
        let x = self.pop();
        let shifted = self.builder.ins().ishl_imm_u(x, 1);
        let tagged = self.builder.ins().bor_imm_u(shifted, 1);
        let ptr = self.env.pointer_type();
        let r = self.builder.ins().uextend(ptr, tagged);
        self.push(r);
        Ok(())
    }

    fn i31_get(&mut self, signed: bool) -> Translated {
        let r = self.pop();
        self.builder
            .ins()
            .trapz(r, TrapKind::NullI31Reference.code());
        let low = self.builder.ins().ireduce(types::I32, r);
        let v = if signed {
            self.builder.ins().sshr_imm_u(low, 1)
        } else {
            self.builder.ins().ushr_imm_u(low, 1)
        };
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_i31_get_s(&mut self) -> Translated {
        self.i31_get(true)
    }

    pub(super) fn visit_i31_get_u(&mut self) -> Translated {
        self.i31_get(false)
    }

    pub(super) fn visit_ref_eq(&mut self) -> Translated {
        let (a, b) = self.pop2();
        let eq = self.builder.ins().icmp(IntCC::Equal, a, b);
        let v = self.builder.ins().uextend(types::I32, eq);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_any_convert_extern(&mut self) -> Translated {
        // The same word in the other hierarchy (see `vmoffsets::gc`).
        Ok(())
    }

    pub(super) fn visit_extern_convert_any(&mut self) -> Translated {
        Ok(())
    }

    /// Whether reference `r` is of heap type `heap` (a null one when
    /// `nullable`): an `i32` 0 or 1.
    fn ref_test(
        &mut self,
        r: Value,
        nullable: bool,
        heap: WpHeapType,
    ) -> Result<Value, FrontendError> {
        let target = WasmType::from_ref_type(
            WpRefType::new(nullable, heap).expect("a validated reference type"),
        )?
        .as_ref_type()
        .expect("a reference type");
        Ok(self.test_ref(r, nullable, |s, done| {
            s.non_null_test(r, target.heap, target.exact, done)
        }))
    }

    /// A test of reference `r`, an `i32` 0 or 1: `nullable` for a null
    /// one, else what `test` makes of the non-null `r`, in a new block (it
    /// may branch to `done`, whose parameter is the result, early).
    fn test_ref(
        &mut self,
        r: Value,
        nullable: bool,
        test: impl FnOnce(&mut Self, ir::Block) -> Value,
    ) -> Value {
        let done = self.builder.create_block();
        let result = self.builder.append_block_param(done, types::I32);
        let non_null = self.builder.create_block();
        let null_result = self.i32_const(nullable as u32);
        self.builder
            .ins()
            .brif(r, non_null, &[], done, &[null_result.into()]);
        self.builder.switch_to_block(non_null);
        self.builder.seal_block(non_null);
        let v = test(self, done);
        self.builder.ins().jump(done, &[v.into()]);
        self.builder.switch_to_block(done);
        self.builder.seal_block(done);
        result
    }

    /// The test of a non-null `r` against `heap` (only that type itself
    /// when `exact`), in the current block; may branch to `done` (an `i32`
    /// parameter) with a result early.
    fn non_null_test(&mut self, r: Value, heap: HeapType, exact: bool, done: ir::Block) -> Value {
        match heap {
            HeapType::Any | HeapType::Func | HeapType::Extern | HeapType::Exn => self.i32_const(1),
            HeapType::None | HeapType::NoFunc | HeapType::NoExtern | HeapType::NoExn => {
                self.i32_const(0)
            }
            HeapType::Eq => {
                let low = self.builder.ins().band_imm_u(r, 3);
                let host = self
                    .builder
                    .ins()
                    .icmp_imm_u(IntCC::NotEqual, low, gc::HOST_TAG as i64);
                self.builder.ins().uextend(types::I32, host)
            }
            HeapType::I31 => {
                let bit = self.builder.ins().band_imm_u(r, 1);
                self.builder.ins().ireduce(types::I32, bit)
            }
            HeapType::Struct | HeapType::Array => {
                self.branch_unless_object(r, done);
                let kind = self
                    .builder
                    .ins()
                    .load(types::I32, object_flags(), r, gc::KIND);
                let want = if heap == HeapType::Struct {
                    gc::KIND_STRUCT
                } else {
                    gc::KIND_ARRAY
                };
                let is = self
                    .builder
                    .ins()
                    .icmp_imm_u(IntCC::Equal, kind, want as i64);
                self.builder.ins().uextend(types::I32, is)
            }
            HeapType::Concrete(t) => {
                let id = if self.env.info.gc_shapes[t as usize].is_some() {
                    self.branch_unless_object(r, done);
                    self.builder
                        .ins()
                        .load(types::I32, object_flags(), r, gc::TYPE_ID)
                } else {
                    self.funcref_type_id(r)
                };
                self.type_id_matches(id, t, exact)
            }
            HeapType::Canonical(_) | HeapType::RecGroup(_) => {
                unreachable!("module code names module types")
            }
        }
    }

    /// Branches to `done` with 0 unless non-null `r` is an object (not an
    /// `i31` or a host value); continues in a new block otherwise.
    fn branch_unless_object(&mut self, r: Value, done: ir::Block) {
        let low = self.builder.ins().band_imm_u(r, 3);
        let object = self.builder.create_block();
        let zero = self.i32_const(0);
        self.builder
            .ins()
            .brif(low, done, &[zero.into()], object, &[]);
        self.builder.switch_to_block(object);
        self.builder.seal_block(object);
    }

    /// Whether canonical type id `id` is module type `t` or (when `t` is
    /// neither final nor wanted `exact`) one of its subtypes: an `i32` 0 or
    /// 1.
    pub(super) fn type_id_matches(&mut self, id: Value, t: u32, exact: bool) -> Value {
        let ids = self.vmctx_load(vmoffsets::VMCTX_TYPE_IDS);
        let expected = self.builder.ins().load(
            types::I32,
            MemFlagsData::trusted().with_readonly(),
            ids,
            (t as usize * 4) as i32,
        );
        let same = self.builder.ins().icmp(IntCC::Equal, id, expected);
        let same = self.builder.ins().uextend(types::I32, same);
        if exact || self.env.info.type_final[t as usize] {
            return same;
        }
        let slow = self.builder.create_block();
        let done = self.builder.create_block();
        let result = self.builder.append_block_param(done, types::I32);
        self.builder.set_cold_block(slow);
        self.builder
            .ins()
            .brif(same, done, &[same.into()], slow, &[]);
        self.builder.switch_to_block(slow);
        self.builder.seal_block(slow);
        let sub = self
            .call_builtin(Builtin::GcSubtype, &[id, expected])
            .expect("gc_subtype returns the answer");
        self.builder.ins().jump(done, &[sub.into()]);
        self.builder.switch_to_block(done);
        self.builder.seal_block(done);
        result
    }

    pub(super) fn visit_ref_test_non_null(&mut self, hty: WpHeapType) -> Translated {
        let r = self.pop();
        let v = self.ref_test(r, false, hty)?;
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_ref_test_nullable(&mut self, hty: WpHeapType) -> Translated {
        let r = self.pop();
        let v = self.ref_test(r, true, hty)?;
        self.push(v);
        Ok(())
    }

    fn ref_cast(&mut self, nullable: bool, hty: WpHeapType) -> Translated {
        let r = self.pop();
        let ok = self.ref_test(r, nullable, hty)?;
        self.builder.ins().trapz(ok, TrapKind::CastFailure.code());
        self.push(r);
        Ok(())
    }

    pub(super) fn visit_ref_cast_non_null(&mut self, hty: WpHeapType) -> Translated {
        self.ref_cast(false, hty)
    }

    pub(super) fn visit_ref_cast_nullable(&mut self, hty: WpHeapType) -> Translated {
        self.ref_cast(true, hty)
    }

    /// `br_on_cast` (`on_fail` false) and `br_on_cast_fail` (true): the
    /// reference stays on the stack either way.
    fn br_on_cast(&mut self, relative_depth: u32, to: WpRefType, on_fail: bool) -> Translated {
        self.fuel_flush();
        let r = *self.stack.last().expect("validated: a reference");
        let ok = self.ref_test(r, to.is_nullable(), to.heap_type())?;
        self.branch_on_test(relative_depth, ok, on_fail);
        Ok(())
    }

    /// Branches to `relative_depth` with the label's operands when the
    /// test `ok` holds (or, `on_fail`, when it does not), and goes on in a
    /// new block otherwise.
    fn branch_on_test(&mut self, relative_depth: u32, ok: Value, on_fail: bool) {
        let (target, n) = self.branch_to(relative_depth);
        let args = block_args(self.peek_n(n));
        let cont = self.builder.create_block();
        if on_fail {
            self.builder.ins().brif(ok, cont, &[], target, &args);
        } else {
            self.builder.ins().brif(ok, target, &args, cont, &[]);
        }
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
    }

    pub(super) fn visit_br_on_cast(
        &mut self,
        relative_depth: u32,
        _from: WpRefType,
        to: WpRefType,
    ) -> Translated {
        self.br_on_cast(relative_depth, to, false)
    }

    pub(super) fn visit_br_on_cast_fail(
        &mut self,
        relative_depth: u32,
        _from: WpRefType,
        to: WpRefType,
    ) -> Translated {
        self.br_on_cast(relative_depth, to, true)
    }
}
