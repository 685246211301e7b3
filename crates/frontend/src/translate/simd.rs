//! The 128-bit vector operators (SIMD) and relaxed SIMD.
//!
//! A `v128` travels between operators, through locals, blocks and calls
//! as Cranelift's `I8X16`. Each operator reinterprets its operands as the
//! lane shape it works on (`bitcast`, free in machine code) and hands its
//! result back as `I8X16`. Most operators map to one Cranelift instruction
//! whose semantics already are Wasm's (shift amounts masked, `swizzle`
//! zeroing out-of-range lanes, saturating conversions, NaN-propagating
//! `fmin`/`fmax`); the rest are composed in the shapes Cranelift's backends
//! recognise (e.g. widen, multiply and add pairwise becomes `pmaddwd`).
//!
//! Relaxed SIMD: each operator has a deterministic lowering (the answer the
//! strict operator it relaxes gives, or fused multiply-add), used on every
//! target when `SimdLowering::relaxed_deterministic` is set, and a native one
//! on x86-64 that is one instruction there (`pshufb`, `cvttps2dq`,
//! `blendv`, `pmulhrsw`, `pmaddubsw`, `minps`).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    self, ConstantData, Endianness, InstBuilder, MemFlagsData, Value, types,
};
use wasmparser::{MemArg, V128};

use super::memory::{heap_flags, memory_index};
use super::{FuncTranslator, Translated};

/// How vector code is generated, chosen per engine from the target and the
/// configuration (it changes the code, so artifacts record it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SimdLowering {
    /// Relaxed SIMD operators give the same answer on every CPU: that of
    /// the strict operator they relax, with fused multiply-add for
    /// `relaxed_madd`/`relaxed_nmadd`.
    pub relaxed_deterministic: bool,
    /// The target is x86-64 (with SSE4.1): relaxed operators may use the
    /// instruction x86 has for them.
    pub x86: bool,
    /// The target has fused multiply-add in hardware.
    pub fma: bool,
}

impl SimdLowering {
    fn native_x86(self) -> bool {
        self.x86 && !self.relaxed_deterministic
    }
}

const I8X16: ir::Type = types::I8X16;
const I16X8: ir::Type = types::I16X8;
const I32X4: ir::Type = types::I32X4;
const I64X2: ir::Type = types::I64X2;
const F32X4: ir::Type = types::F32X4;
const F64X2: ir::Type = types::F64X2;

/// Lane reinterpretation: no bits change, so no endianness question
/// arises for a little-endian target, and nothing can trap.
fn cast_flags() -> MemFlagsData {
    // A bitcast's flags may only name the lane order.
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl FuncTranslator<'_, '_> {
    /// `v` reinterpreted as vector type `ty`.
    fn cast(&mut self, v: Value, ty: ir::Type) -> Value {
        if self.builder.func.dfg.value_type(v) == ty {
            v
        } else {
            self.builder.ins().bitcast(ty, cast_flags(), v)
        }
    }

    /// Pops a `v128` as vector type `ty`.
    fn pop_vec(&mut self, ty: ir::Type) -> Value {
        let v = self.pop();
        self.cast(v, ty)
    }

    /// Pops two `v128` operands as `ty`.
    fn pop2_vec(&mut self, ty: ir::Type) -> (Value, Value) {
        let b = self.pop_vec(ty);
        let a = self.pop_vec(ty);
        (a, b)
    }

    /// Pushes vector `v` as a `v128` (`I8X16`).
    fn push_vec(&mut self, v: Value) {
        let v = self.cast(v, I8X16);
        self.push(v);
    }

    fn vconst(&mut self, ty: ir::Type, bytes: [u8; 16]) -> Value {
        let c = self
            .builder
            .func
            .dfg
            .constants
            .insert(ConstantData::from(bytes.to_vec()));
        self.builder.ins().vconst(ty, c)
    }

    /// The all-zero `v128`, for locals.
    pub(super) fn zero_v128(&mut self) -> Value {
        self.vconst(I8X16, [0; 16])
    }

    fn vec_binop(&mut self, ty: ir::Type, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (a, b) = self.pop2_vec(ty);
        let v = f(self, a, b);
        self.push_vec(v);
    }

    fn vec_unop(&mut self, ty: ir::Type, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop_vec(ty);
        let v = f(self, a);
        self.push_vec(v);
    }

    fn vec_icmp(&mut self, ty: ir::Type, cc: IntCC) {
        self.vec_binop(ty, |t, a, b| t.builder.ins().icmp(cc, a, b));
    }

    fn vec_fcmp(&mut self, ty: ir::Type, cc: FloatCC) {
        self.vec_binop(ty, |t, a, b| t.builder.ins().fcmp(cc, a, b));
    }

    fn vec_shift(&mut self, ty: ir::Type, op: ir::Opcode) {
        let amount = self.pop();
        let v = self.pop_vec(ty);
        let ins = self.builder.ins();
        let r = match op {
            ir::Opcode::Ishl => ins.ishl(v, amount),
            ir::Opcode::Sshr => ins.sshr(v, amount),
            ir::Opcode::Ushr => ins.ushr(v, amount),
            _ => unreachable!(),
        };
        self.push_vec(r);
    }

    fn splat_of(&mut self, ty: ir::Type) {
        let x = self.pop();
        let lane = ty.lane_type();
        let x = if lane.is_int() && lane.bits() < 32 {
            self.builder.ins().ireduce(lane, x)
        } else {
            x
        };
        let v = self.builder.ins().splat(ty, x);
        self.push_vec(v);
    }

    fn extract_lane(&mut self, ty: ir::Type, lane: u8, extend: Option<bool>) {
        let v = self.pop_vec(ty);
        let x = self.builder.ins().extractlane(v, lane);
        let x = match extend {
            Some(true) => self.builder.ins().sextend(types::I32, x),
            Some(false) => self.builder.ins().uextend(types::I32, x),
            None => x,
        };
        self.push(x);
    }

    fn replace_lane(&mut self, ty: ir::Type, lane: u8) {
        let x = self.pop();
        let v = self.pop_vec(ty);
        let lane_ty = ty.lane_type();
        let x = if lane_ty.is_int() && lane_ty.bits() < 32 {
            self.builder.ins().ireduce(lane_ty, x)
        } else {
            x
        };
        let r = self.builder.ins().insertlane(v, x, lane);
        self.push_vec(r);
    }

    fn all_true(&mut self, ty: ir::Type) {
        let v = self.pop_vec(ty);
        let b = self.builder.ins().vall_true(v);
        let r = self.builder.ins().uextend(types::I32, b);
        self.push(r);
    }

    fn bitmask(&mut self, ty: ir::Type) {
        let v = self.pop_vec(ty);
        let r = self.builder.ins().vhigh_bits(types::I32, v);
        self.push(r);
    }

    /// The low or high half of `v`'s lanes, each widened to twice its
    /// width with sign or zero extension.
    fn widen_half(&mut self, v: Value, signed: bool, high: bool) -> Value {
        let ins = self.builder.ins();
        match (signed, high) {
            (true, false) => ins.swiden_low(v),
            (true, true) => ins.swiden_high(v),
            (false, false) => ins.uwiden_low(v),
            (false, true) => ins.uwiden_high(v),
        }
    }

    /// `extend_{low,high}_*`: widen half of the lanes.
    fn widen(&mut self, from: ir::Type, signed: bool, high: bool) {
        self.vec_unop(from, |t, a| t.widen_half(a, signed, high));
    }

    /// `extmul_{low,high}_*`: widen, then multiply.
    fn extmul(&mut self, from: ir::Type, signed: bool, high: bool) {
        self.vec_binop(from, |t, a, b| {
            let a = t.widen_half(a, signed, high);
            let b = t.widen_half(b, signed, high);
            t.builder.ins().imul(a, b)
        });
    }

    /// `extadd_pairwise_*`: widen both halves and add neighbours.
    fn extadd_pairwise(&mut self, from: ir::Type, signed: bool) {
        self.vec_unop(from, |t, a| {
            let lo = t.widen_half(a, signed, false);
            let hi = t.widen_half(a, signed, true);
            t.builder.ins().iadd_pairwise(lo, hi)
        });
    }

    /// Signed products of `a` and `b` lane by lane, widened, neighbours
    /// added (the shape Cranelift lowers to `pmaddwd` for `i16x8`).
    fn signed_dot(&mut self, a: Value, b: Value) -> Value {
        let (al, bl) = (
            self.widen_half(a, true, false),
            self.widen_half(b, true, false),
        );
        let lo = self.builder.ins().imul(al, bl);
        let (ah, bh) = (
            self.widen_half(a, true, true),
            self.widen_half(b, true, true),
        );
        let hi = self.builder.ins().imul(ah, bh);
        self.builder.ins().iadd_pairwise(lo, hi)
    }

    /// Wasm's `pmin` (`b < a ? b : a`) and `pmax` (`a < b ? b : a`).
    fn pseudo_min_max(&mut self, ty: ir::Type, max: bool) {
        self.vec_binop(ty, |t, a, b| {
            let (x, y) = if max { (a, b) } else { (b, a) };
            let mask = t.builder.ins().fcmp(FloatCC::LessThan, x, y);
            let mask = t.cast(mask, ty);
            t.builder.ins().bitselect(mask, b, a)
        });
    }

    fn vec_load(&mut self, memarg: &MemArg, size: u32) -> (Value, i32) {
        let index = self.pop();
        self.heap_addr(memory_index(memarg), index, memarg.offset, size)
    }

    /// The address of a vector store (or lane store) of `size` bytes.
    fn vec_store(&mut self, memarg: &MemArg, size: u32) -> (Value, i32) {
        let index = self.pop();
        self.store_addr(memory_index(memarg), index, memarg.offset, size)
    }

    /// `v128.loadNxM_{s,u}`: load 8 bytes and widen each lane.
    fn load_extend(&mut self, memarg: MemArg, op: ir::Opcode) -> Translated {
        let (addr, offset) = self.vec_load(&memarg, 8);
        let ins = self.builder.ins();
        let f = heap_flags();
        let v = match op {
            ir::Opcode::Sload8x8 => ins.sload8x8(f, addr, offset),
            ir::Opcode::Uload8x8 => ins.uload8x8(f, addr, offset),
            ir::Opcode::Sload16x4 => ins.sload16x4(f, addr, offset),
            ir::Opcode::Uload16x4 => ins.uload16x4(f, addr, offset),
            ir::Opcode::Sload32x2 => ins.sload32x2(f, addr, offset),
            ir::Opcode::Uload32x2 => ins.uload32x2(f, addr, offset),
            _ => unreachable!(),
        };
        self.push_vec(v);
        Ok(())
    }

    fn load_splat(&mut self, memarg: MemArg, ty: ir::Type) -> Translated {
        let lane = ty.lane_type();
        let (addr, offset) = self.vec_load(&memarg, lane.bytes());
        let x = self.builder.ins().load(lane, heap_flags(), addr, offset);
        let v = self.builder.ins().splat(ty, x);
        self.push_vec(v);
        Ok(())
    }

    fn load_zero(&mut self, memarg: MemArg, ty: ir::Type) -> Translated {
        let lane = ty.lane_type();
        let (addr, offset) = self.vec_load(&memarg, lane.bytes());
        let x = self.builder.ins().load(lane, heap_flags(), addr, offset);
        let v = self.builder.ins().scalar_to_vector(ty, x);
        self.push_vec(v);
        Ok(())
    }

    fn load_lane(&mut self, memarg: MemArg, ty: ir::Type, lane: u8) -> Translated {
        let v = self.pop_vec(ty);
        let lane_ty = ty.lane_type();
        let (addr, offset) = self.vec_load(&memarg, lane_ty.bytes());
        let x = self.builder.ins().load(lane_ty, heap_flags(), addr, offset);
        let r = self.builder.ins().insertlane(v, x, lane);
        self.push_vec(r);
        Ok(())
    }

    fn store_lane(&mut self, memarg: MemArg, ty: ir::Type, lane: u8) -> Translated {
        let v = self.pop_vec(ty);
        let lane_ty = ty.lane_type();
        let (addr, offset) = self.vec_store(&memarg, lane_ty.bytes());
        let x = self.builder.ins().extractlane(v, lane);
        self.builder.ins().store(heap_flags(), x, addr, offset);
        Ok(())
    }
}

/// `visit_*` methods built from one of the helpers above.
macro_rules! simd_ops {
    ($($visit:ident => |$t:ident| $body:expr;)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self) -> Translated {
                let $t = self;
                $body;
                Ok(())
            })*
        }
    };
}

/// `visit_*` methods that pop two vectors of one shape and push `ins.$inst(a, b)`.
macro_rules! simd_binops {
    ($($visit:ident => $inst:ident($ty:ident),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self) -> Translated {
                self.vec_binop($ty, |t, a, b| t.builder.ins().$inst(a, b));
                Ok(())
            })*
        }
    };
}

/// `visit_*` methods that replace the top vector with `ins.$inst(a)`.
macro_rules! simd_unops {
    ($($visit:ident => $inst:ident($ty:ident),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self) -> Translated {
                self.vec_unop($ty, |t, a| t.builder.ins().$inst(a));
                Ok(())
            })*
        }
    };
}

/// Lane-wise comparisons, producing all-ones or all-zeros lanes.
macro_rules! simd_comparisons {
    ($($visit:ident => $cmp:ident($ty:ident, $cc:expr),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self) -> Translated {
                self.$cmp($ty, $cc);
                Ok(())
            })*
        }
    };
}

/// `visit_*` methods for plain vector loads and stores and the lane forms.
macro_rules! simd_memory {
    ($($visit:ident($($lane:ident)?) => |$t:ident, $m:ident| $body:expr;)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self, $m: MemArg $(, $lane: u8)?) -> Translated {
                let $t = self;
                $body
            })*
        }
    };
}

simd_memory! {
    visit_v128_load() => |t, m| {
        let (addr, offset) = t.vec_load(&m, 16);
        let v = t.builder.ins().load(I8X16, heap_flags(), addr, offset);
        t.push(v);
        Ok(())
    };
    visit_v128_store() => |t, m| {
        let v = t.pop_vec(I8X16);
        let (addr, offset) = t.vec_store(&m, 16);
        t.builder.ins().store(heap_flags(), v, addr, offset);
        Ok(())
    };
    visit_v128_load8x8_s() => |t, m| t.load_extend(m, ir::Opcode::Sload8x8);
    visit_v128_load8x8_u() => |t, m| t.load_extend(m, ir::Opcode::Uload8x8);
    visit_v128_load16x4_s() => |t, m| t.load_extend(m, ir::Opcode::Sload16x4);
    visit_v128_load16x4_u() => |t, m| t.load_extend(m, ir::Opcode::Uload16x4);
    visit_v128_load32x2_s() => |t, m| t.load_extend(m, ir::Opcode::Sload32x2);
    visit_v128_load32x2_u() => |t, m| t.load_extend(m, ir::Opcode::Uload32x2);
    visit_v128_load8_splat() => |t, m| t.load_splat(m, I8X16);
    visit_v128_load16_splat() => |t, m| t.load_splat(m, I16X8);
    visit_v128_load32_splat() => |t, m| t.load_splat(m, I32X4);
    visit_v128_load64_splat() => |t, m| t.load_splat(m, I64X2);
    visit_v128_load32_zero() => |t, m| t.load_zero(m, I32X4);
    visit_v128_load64_zero() => |t, m| t.load_zero(m, I64X2);
    visit_v128_load8_lane(lane) => |t, m| t.load_lane(m, I8X16, lane);
    visit_v128_load16_lane(lane) => |t, m| t.load_lane(m, I16X8, lane);
    visit_v128_load32_lane(lane) => |t, m| t.load_lane(m, I32X4, lane);
    visit_v128_load64_lane(lane) => |t, m| t.load_lane(m, I64X2, lane);
    visit_v128_store8_lane(lane) => |t, m| t.store_lane(m, I8X16, lane);
    visit_v128_store16_lane(lane) => |t, m| t.store_lane(m, I16X8, lane);
    visit_v128_store32_lane(lane) => |t, m| t.store_lane(m, I32X4, lane);
    visit_v128_store64_lane(lane) => |t, m| t.store_lane(m, I64X2, lane);
}

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_v128_const(&mut self, value: V128) -> Translated {
        let v = self.vconst(I8X16, *value.bytes());
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_i8x16_shuffle(&mut self, lanes: [u8; 16]) -> Translated {
        let (a, b) = self.pop2_vec(I8X16);
        let mask = self
            .builder
            .func
            .dfg
            .immediates
            .push(ConstantData::from(lanes.to_vec()));
        let v = self.builder.ins().shuffle(a, b, mask);
        self.push(v);
        Ok(())
    }
}

/// Lane access: `extract_lane` (with the sign or zero extension of narrow
/// lanes) and `replace_lane`.
macro_rules! simd_lanes {
    ($($visit:ident => $method:ident($ty:ident $(, $ext:expr)?),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self, lane: u8) -> Translated {
                self.$method($ty, lane $(, $ext)?);
                Ok(())
            })*
        }
    };
}

simd_lanes! {
    visit_i8x16_extract_lane_s => extract_lane(I8X16, Some(true)),
    visit_i8x16_extract_lane_u => extract_lane(I8X16, Some(false)),
    visit_i16x8_extract_lane_s => extract_lane(I16X8, Some(true)),
    visit_i16x8_extract_lane_u => extract_lane(I16X8, Some(false)),
    visit_i32x4_extract_lane => extract_lane(I32X4, None),
    visit_i64x2_extract_lane => extract_lane(I64X2, None),
    visit_f32x4_extract_lane => extract_lane(F32X4, None),
    visit_f64x2_extract_lane => extract_lane(F64X2, None),
    visit_i8x16_replace_lane => replace_lane(I8X16),
    visit_i16x8_replace_lane => replace_lane(I16X8),
    visit_i32x4_replace_lane => replace_lane(I32X4),
    visit_i64x2_replace_lane => replace_lane(I64X2),
    visit_f32x4_replace_lane => replace_lane(F32X4),
    visit_f64x2_replace_lane => replace_lane(F64X2),
}

simd_comparisons! {
    visit_i8x16_eq => vec_icmp(I8X16, IntCC::Equal),
    visit_i8x16_ne => vec_icmp(I8X16, IntCC::NotEqual),
    visit_i8x16_lt_s => vec_icmp(I8X16, IntCC::SignedLessThan),
    visit_i8x16_lt_u => vec_icmp(I8X16, IntCC::UnsignedLessThan),
    visit_i8x16_gt_s => vec_icmp(I8X16, IntCC::SignedGreaterThan),
    visit_i8x16_gt_u => vec_icmp(I8X16, IntCC::UnsignedGreaterThan),
    visit_i8x16_le_s => vec_icmp(I8X16, IntCC::SignedLessThanOrEqual),
    visit_i8x16_le_u => vec_icmp(I8X16, IntCC::UnsignedLessThanOrEqual),
    visit_i8x16_ge_s => vec_icmp(I8X16, IntCC::SignedGreaterThanOrEqual),
    visit_i8x16_ge_u => vec_icmp(I8X16, IntCC::UnsignedGreaterThanOrEqual),
    visit_i16x8_eq => vec_icmp(I16X8, IntCC::Equal),
    visit_i16x8_ne => vec_icmp(I16X8, IntCC::NotEqual),
    visit_i16x8_lt_s => vec_icmp(I16X8, IntCC::SignedLessThan),
    visit_i16x8_lt_u => vec_icmp(I16X8, IntCC::UnsignedLessThan),
    visit_i16x8_gt_s => vec_icmp(I16X8, IntCC::SignedGreaterThan),
    visit_i16x8_gt_u => vec_icmp(I16X8, IntCC::UnsignedGreaterThan),
    visit_i16x8_le_s => vec_icmp(I16X8, IntCC::SignedLessThanOrEqual),
    visit_i16x8_le_u => vec_icmp(I16X8, IntCC::UnsignedLessThanOrEqual),
    visit_i16x8_ge_s => vec_icmp(I16X8, IntCC::SignedGreaterThanOrEqual),
    visit_i16x8_ge_u => vec_icmp(I16X8, IntCC::UnsignedGreaterThanOrEqual),
    visit_i32x4_eq => vec_icmp(I32X4, IntCC::Equal),
    visit_i32x4_ne => vec_icmp(I32X4, IntCC::NotEqual),
    visit_i32x4_lt_s => vec_icmp(I32X4, IntCC::SignedLessThan),
    visit_i32x4_lt_u => vec_icmp(I32X4, IntCC::UnsignedLessThan),
    visit_i32x4_gt_s => vec_icmp(I32X4, IntCC::SignedGreaterThan),
    visit_i32x4_gt_u => vec_icmp(I32X4, IntCC::UnsignedGreaterThan),
    visit_i32x4_le_s => vec_icmp(I32X4, IntCC::SignedLessThanOrEqual),
    visit_i32x4_le_u => vec_icmp(I32X4, IntCC::UnsignedLessThanOrEqual),
    visit_i32x4_ge_s => vec_icmp(I32X4, IntCC::SignedGreaterThanOrEqual),
    visit_i32x4_ge_u => vec_icmp(I32X4, IntCC::UnsignedGreaterThanOrEqual),
    visit_i64x2_eq => vec_icmp(I64X2, IntCC::Equal),
    visit_i64x2_ne => vec_icmp(I64X2, IntCC::NotEqual),
    visit_i64x2_lt_s => vec_icmp(I64X2, IntCC::SignedLessThan),
    visit_i64x2_gt_s => vec_icmp(I64X2, IntCC::SignedGreaterThan),
    visit_i64x2_le_s => vec_icmp(I64X2, IntCC::SignedLessThanOrEqual),
    visit_i64x2_ge_s => vec_icmp(I64X2, IntCC::SignedGreaterThanOrEqual),
    visit_f32x4_eq => vec_fcmp(F32X4, FloatCC::Equal),
    visit_f32x4_ne => vec_fcmp(F32X4, FloatCC::NotEqual),
    visit_f32x4_lt => vec_fcmp(F32X4, FloatCC::LessThan),
    visit_f32x4_gt => vec_fcmp(F32X4, FloatCC::GreaterThan),
    visit_f32x4_le => vec_fcmp(F32X4, FloatCC::LessThanOrEqual),
    visit_f32x4_ge => vec_fcmp(F32X4, FloatCC::GreaterThanOrEqual),
    visit_f64x2_eq => vec_fcmp(F64X2, FloatCC::Equal),
    visit_f64x2_ne => vec_fcmp(F64X2, FloatCC::NotEqual),
    visit_f64x2_lt => vec_fcmp(F64X2, FloatCC::LessThan),
    visit_f64x2_gt => vec_fcmp(F64X2, FloatCC::GreaterThan),
    visit_f64x2_le => vec_fcmp(F64X2, FloatCC::LessThanOrEqual),
    visit_f64x2_ge => vec_fcmp(F64X2, FloatCC::GreaterThanOrEqual),
}

simd_binops! {
    visit_v128_and => band(I8X16),
    visit_v128_or => bor(I8X16),
    visit_v128_xor => bxor(I8X16),
    visit_v128_andnot => band_not(I8X16),
    visit_i8x16_swizzle => swizzle(I8X16),
    visit_i8x16_add => iadd(I8X16),
    visit_i8x16_add_sat_s => sadd_sat(I8X16),
    visit_i8x16_add_sat_u => uadd_sat(I8X16),
    visit_i8x16_sub => isub(I8X16),
    visit_i8x16_sub_sat_s => ssub_sat(I8X16),
    visit_i8x16_sub_sat_u => usub_sat(I8X16),
    visit_i8x16_min_s => smin(I8X16),
    visit_i8x16_min_u => umin(I8X16),
    visit_i8x16_max_s => smax(I8X16),
    visit_i8x16_max_u => umax(I8X16),
    visit_i8x16_avgr_u => avg_round(I8X16),
    visit_i8x16_narrow_i16x8_s => snarrow(I16X8),
    visit_i8x16_narrow_i16x8_u => unarrow(I16X8),
    visit_i16x8_add => iadd(I16X8),
    visit_i16x8_add_sat_s => sadd_sat(I16X8),
    visit_i16x8_add_sat_u => uadd_sat(I16X8),
    visit_i16x8_sub => isub(I16X8),
    visit_i16x8_sub_sat_s => ssub_sat(I16X8),
    visit_i16x8_sub_sat_u => usub_sat(I16X8),
    visit_i16x8_mul => imul(I16X8),
    visit_i16x8_min_s => smin(I16X8),
    visit_i16x8_min_u => umin(I16X8),
    visit_i16x8_max_s => smax(I16X8),
    visit_i16x8_max_u => umax(I16X8),
    visit_i16x8_avgr_u => avg_round(I16X8),
    visit_i16x8_q15mulr_sat_s => sqmul_round_sat(I16X8),
    visit_i16x8_narrow_i32x4_s => snarrow(I32X4),
    visit_i16x8_narrow_i32x4_u => unarrow(I32X4),
    visit_i32x4_add => iadd(I32X4),
    visit_i32x4_sub => isub(I32X4),
    visit_i32x4_mul => imul(I32X4),
    visit_i32x4_min_s => smin(I32X4),
    visit_i32x4_min_u => umin(I32X4),
    visit_i32x4_max_s => smax(I32X4),
    visit_i32x4_max_u => umax(I32X4),
    visit_i64x2_add => iadd(I64X2),
    visit_i64x2_sub => isub(I64X2),
    visit_i64x2_mul => imul(I64X2),
    visit_f32x4_add => fadd(F32X4),
    visit_f32x4_sub => fsub(F32X4),
    visit_f32x4_mul => fmul(F32X4),
    visit_f32x4_div => fdiv(F32X4),
    visit_f32x4_min => fmin(F32X4),
    visit_f32x4_max => fmax(F32X4),
    visit_f64x2_add => fadd(F64X2),
    visit_f64x2_sub => fsub(F64X2),
    visit_f64x2_mul => fmul(F64X2),
    visit_f64x2_div => fdiv(F64X2),
    visit_f64x2_min => fmin(F64X2),
    visit_f64x2_max => fmax(F64X2),
}

simd_unops! {
    visit_v128_not => bnot(I8X16),
    visit_i8x16_abs => iabs(I8X16),
    visit_i8x16_neg => ineg(I8X16),
    visit_i8x16_popcnt => popcnt(I8X16),
    visit_i16x8_abs => iabs(I16X8),
    visit_i16x8_neg => ineg(I16X8),
    visit_i32x4_abs => iabs(I32X4),
    visit_i32x4_neg => ineg(I32X4),
    visit_i64x2_abs => iabs(I64X2),
    visit_i64x2_neg => ineg(I64X2),
    visit_f32x4_ceil => ceil(F32X4),
    visit_f32x4_floor => floor(F32X4),
    visit_f32x4_trunc => trunc(F32X4),
    visit_f32x4_nearest => nearest(F32X4),
    visit_f32x4_abs => fabs(F32X4),
    visit_f32x4_neg => fneg(F32X4),
    visit_f32x4_sqrt => sqrt(F32X4),
    visit_f64x2_ceil => ceil(F64X2),
    visit_f64x2_floor => floor(F64X2),
    visit_f64x2_trunc => trunc(F64X2),
    visit_f64x2_nearest => nearest(F64X2),
    visit_f64x2_abs => fabs(F64X2),
    visit_f64x2_neg => fneg(F64X2),
    visit_f64x2_sqrt => sqrt(F64X2),
    visit_f32x4_demote_f64x2_zero => fvdemote(F64X2),
    visit_f64x2_promote_low_f32x4 => fvpromote_low(F32X4),
}

simd_ops! {
    visit_i8x16_splat => |t| t.splat_of(I8X16);
    visit_i16x8_splat => |t| t.splat_of(I16X8);
    visit_i32x4_splat => |t| t.splat_of(I32X4);
    visit_i64x2_splat => |t| t.splat_of(I64X2);
    visit_f32x4_splat => |t| t.splat_of(F32X4);
    visit_f64x2_splat => |t| t.splat_of(F64X2);
    visit_v128_bitselect => |t| {
        let c = t.pop_vec(I8X16);
        let (a, b) = t.pop2_vec(I8X16);
        let v = t.builder.ins().bitselect(c, a, b);
        t.push(v)
    };
    visit_v128_any_true => |t| {
        let v = t.pop_vec(I8X16);
        let b = t.builder.ins().vany_true(v);
        let r = t.builder.ins().uextend(types::I32, b);
        t.push(r)
    };
    visit_i8x16_all_true => |t| t.all_true(I8X16);
    visit_i16x8_all_true => |t| t.all_true(I16X8);
    visit_i32x4_all_true => |t| t.all_true(I32X4);
    visit_i64x2_all_true => |t| t.all_true(I64X2);
    visit_i8x16_bitmask => |t| t.bitmask(I8X16);
    visit_i16x8_bitmask => |t| t.bitmask(I16X8);
    visit_i32x4_bitmask => |t| t.bitmask(I32X4);
    visit_i64x2_bitmask => |t| t.bitmask(I64X2);
    visit_i8x16_shl => |t| t.vec_shift(I8X16, ir::Opcode::Ishl);
    visit_i8x16_shr_s => |t| t.vec_shift(I8X16, ir::Opcode::Sshr);
    visit_i8x16_shr_u => |t| t.vec_shift(I8X16, ir::Opcode::Ushr);
    visit_i16x8_shl => |t| t.vec_shift(I16X8, ir::Opcode::Ishl);
    visit_i16x8_shr_s => |t| t.vec_shift(I16X8, ir::Opcode::Sshr);
    visit_i16x8_shr_u => |t| t.vec_shift(I16X8, ir::Opcode::Ushr);
    visit_i32x4_shl => |t| t.vec_shift(I32X4, ir::Opcode::Ishl);
    visit_i32x4_shr_s => |t| t.vec_shift(I32X4, ir::Opcode::Sshr);
    visit_i32x4_shr_u => |t| t.vec_shift(I32X4, ir::Opcode::Ushr);
    visit_i64x2_shl => |t| t.vec_shift(I64X2, ir::Opcode::Ishl);
    visit_i64x2_shr_s => |t| t.vec_shift(I64X2, ir::Opcode::Sshr);
    visit_i64x2_shr_u => |t| t.vec_shift(I64X2, ir::Opcode::Ushr);
    visit_i16x8_extend_low_i8x16_s => |t| t.widen(I8X16, true, false);
    visit_i16x8_extend_high_i8x16_s => |t| t.widen(I8X16, true, true);
    visit_i16x8_extend_low_i8x16_u => |t| t.widen(I8X16, false, false);
    visit_i16x8_extend_high_i8x16_u => |t| t.widen(I8X16, false, true);
    visit_i32x4_extend_low_i16x8_s => |t| t.widen(I16X8, true, false);
    visit_i32x4_extend_high_i16x8_s => |t| t.widen(I16X8, true, true);
    visit_i32x4_extend_low_i16x8_u => |t| t.widen(I16X8, false, false);
    visit_i32x4_extend_high_i16x8_u => |t| t.widen(I16X8, false, true);
    visit_i64x2_extend_low_i32x4_s => |t| t.widen(I32X4, true, false);
    visit_i64x2_extend_high_i32x4_s => |t| t.widen(I32X4, true, true);
    visit_i64x2_extend_low_i32x4_u => |t| t.widen(I32X4, false, false);
    visit_i64x2_extend_high_i32x4_u => |t| t.widen(I32X4, false, true);
    visit_i16x8_extmul_low_i8x16_s => |t| t.extmul(I8X16, true, false);
    visit_i16x8_extmul_high_i8x16_s => |t| t.extmul(I8X16, true, true);
    visit_i16x8_extmul_low_i8x16_u => |t| t.extmul(I8X16, false, false);
    visit_i16x8_extmul_high_i8x16_u => |t| t.extmul(I8X16, false, true);
    visit_i32x4_extmul_low_i16x8_s => |t| t.extmul(I16X8, true, false);
    visit_i32x4_extmul_high_i16x8_s => |t| t.extmul(I16X8, true, true);
    visit_i32x4_extmul_low_i16x8_u => |t| t.extmul(I16X8, false, false);
    visit_i32x4_extmul_high_i16x8_u => |t| t.extmul(I16X8, false, true);
    visit_i64x2_extmul_low_i32x4_s => |t| t.extmul(I32X4, true, false);
    visit_i64x2_extmul_high_i32x4_s => |t| t.extmul(I32X4, true, true);
    visit_i64x2_extmul_low_i32x4_u => |t| t.extmul(I32X4, false, false);
    visit_i64x2_extmul_high_i32x4_u => |t| t.extmul(I32X4, false, true);
    visit_i16x8_extadd_pairwise_i8x16_s => |t| t.extadd_pairwise(I8X16, true);
    visit_i16x8_extadd_pairwise_i8x16_u => |t| t.extadd_pairwise(I8X16, false);
    visit_i32x4_extadd_pairwise_i16x8_s => |t| t.extadd_pairwise(I16X8, true);
    visit_i32x4_extadd_pairwise_i16x8_u => |t| t.extadd_pairwise(I16X8, false);
    visit_i32x4_dot_i16x8_s => |t| t.vec_binop(I16X8, |t, a, b| t.signed_dot(a, b));
    visit_f32x4_pmin => |t| t.pseudo_min_max(F32X4, false);
    visit_f32x4_pmax => |t| t.pseudo_min_max(F32X4, true);
    visit_f64x2_pmin => |t| t.pseudo_min_max(F64X2, false);
    visit_f64x2_pmax => |t| t.pseudo_min_max(F64X2, true);
    visit_i32x4_trunc_sat_f32x4_s => |t| t.vec_unop(F32X4, |t, a| t.builder.ins().fcvt_to_sint_sat(I32X4, a));
    visit_i32x4_trunc_sat_f32x4_u => |t| t.vec_unop(F32X4, |t, a| t.builder.ins().fcvt_to_uint_sat(I32X4, a));
    visit_f32x4_convert_i32x4_s => |t| t.vec_unop(I32X4, |t, a| t.builder.ins().fcvt_from_sint(F32X4, a));
    visit_f32x4_convert_i32x4_u => |t| t.vec_unop(I32X4, |t, a| t.builder.ins().fcvt_from_uint(F32X4, a));
    visit_i32x4_trunc_sat_f64x2_s_zero => |t| t.vec_unop(F64X2, |t, a| {
        let wide = t.builder.ins().fcvt_to_sint_sat(I64X2, a);
        let zero = t.vconst(I64X2, [0; 16]);
        t.builder.ins().snarrow(wide, zero)
    });
    visit_i32x4_trunc_sat_f64x2_u_zero => |t| t.vec_unop(F64X2, |t, a| {
        let wide = t.builder.ins().fcvt_to_uint_sat(I64X2, a);
        let zero = t.vconst(I64X2, [0; 16]);
        t.builder.ins().uunarrow(wide, zero)
    });
    visit_f64x2_convert_low_i32x4_s => |t| t.vec_unop(I32X4, |t, a| {
        let wide = t.builder.ins().swiden_low(a);
        t.builder.ins().fcvt_from_sint(F64X2, wide)
    });
    visit_f64x2_convert_low_i32x4_u => |t| t.vec_unop(I32X4, |t, a| {
        let wide = t.builder.ins().uwiden_low(a);
        t.builder.ins().fcvt_from_uint(F64X2, wide)
    });
}

// Relaxed SIMD.
simd_ops! {
    visit_i8x16_relaxed_swizzle => |t| {
        if t.env.simd.native_x86() {
            t.vec_binop(I8X16, |t, a, s| t.builder.ins().x86_pshufb(a, s))
        } else {
            t.visit_i8x16_swizzle()?
        }
    };
    visit_i32x4_relaxed_trunc_f32x4_s => |t| {
        if t.env.simd.native_x86() {
            t.vec_unop(F32X4, |t, a| t.builder.ins().x86_cvtt2dq(I32X4, a))
        } else {
            t.visit_i32x4_trunc_sat_f32x4_s()?
        }
    };
    visit_i32x4_relaxed_trunc_f32x4_u => |t| t.visit_i32x4_trunc_sat_f32x4_u()?;
    visit_i32x4_relaxed_trunc_f64x2_s_zero => |t| {
        if t.env.simd.native_x86() {
            t.vec_unop(F64X2, |t, a| {
                let wide = t.builder.ins().x86_cvtt2dq(I64X2, a);
                let zero = t.vconst(I64X2, [0; 16]);
                t.builder.ins().snarrow(wide, zero)
            })
        } else {
            t.visit_i32x4_trunc_sat_f64x2_s_zero()?
        }
    };
    visit_i32x4_relaxed_trunc_f64x2_u_zero => |t| t.visit_i32x4_trunc_sat_f64x2_u_zero()?;
    visit_f32x4_relaxed_madd => |t| t.relaxed_madd(F32X4, false);
    visit_f32x4_relaxed_nmadd => |t| t.relaxed_madd(F32X4, true);
    visit_f64x2_relaxed_madd => |t| t.relaxed_madd(F64X2, false);
    visit_f64x2_relaxed_nmadd => |t| t.relaxed_madd(F64X2, true);
    visit_i8x16_relaxed_laneselect => |t| t.relaxed_laneselect(I8X16);
    visit_i16x8_relaxed_laneselect => |t| t.relaxed_laneselect(I16X8);
    visit_i32x4_relaxed_laneselect => |t| t.relaxed_laneselect(I32X4);
    visit_i64x2_relaxed_laneselect => |t| t.relaxed_laneselect(I64X2);
    visit_f32x4_relaxed_min => |t| t.relaxed_min_max(F32X4, false);
    visit_f32x4_relaxed_max => |t| t.relaxed_min_max(F32X4, true);
    visit_f64x2_relaxed_min => |t| t.relaxed_min_max(F64X2, false);
    visit_f64x2_relaxed_max => |t| t.relaxed_min_max(F64X2, true);
    visit_i16x8_relaxed_q15mulr_s => |t| {
        if t.env.simd.native_x86() {
            t.vec_binop(I16X8, |t, a, b| t.builder.ins().x86_pmulhrsw(a, b))
        } else {
            t.visit_i16x8_q15mulr_sat_s()?
        }
    };
    visit_i16x8_relaxed_dot_i8x16_i7x16_s => |t| {
        let (a, b) = t.pop2_vec(I8X16);
        let v = t.relaxed_dot(a, b);
        t.push_vec(v)
    };
    visit_i32x4_relaxed_dot_i8x16_i7x16_add_s => |t| {
        let c = t.pop_vec(I32X4);
        let (a, b) = t.pop2_vec(I8X16);
        let dot = t.relaxed_dot(a, b);
        let lo = t.builder.ins().swiden_low(dot);
        let hi = t.builder.ins().swiden_high(dot);
        let sum = t.builder.ins().iadd_pairwise(lo, hi);
        let v = t.builder.ins().iadd(sum, c);
        t.push_vec(v)
    };
}

impl FuncTranslator<'_, '_> {
    /// `a * b + c` (or `-(a * b) + c`): fused when deterministic or when the
    /// CPU has FMA, two roundings otherwise (both are allowed answers).
    fn relaxed_madd(&mut self, ty: ir::Type, negate: bool) {
        let c = self.pop_vec(ty);
        let (a, b) = self.pop2_vec(ty);
        let a = if negate {
            self.builder.ins().fneg(a)
        } else {
            a
        };
        let simd = self.env.simd;
        let v = if simd.relaxed_deterministic || simd.fma {
            self.builder.ins().fma(a, b, c)
        } else {
            let p = self.builder.ins().fmul(a, b);
            self.builder.ins().fadd(p, c)
        };
        self.push_vec(v);
    }

    /// `c ? a : b` per bit when deterministic; x86's `blendv` looks only at
    /// each lane's top bit (allowed: the lanes of `c` are meant to be all
    /// ones or all zeros), and has no 16-bit form.
    fn relaxed_laneselect(&mut self, ty: ir::Type) {
        let c = self.pop_vec(ty);
        let (a, b) = self.pop2_vec(ty);
        let v = if self.env.simd.native_x86() && ty != I16X8 {
            self.builder.ins().blendv(c, a, b)
        } else {
            self.builder.ins().bitselect(c, a, b)
        };
        self.push_vec(v);
    }

    /// Wasm's `min`/`max` when deterministic; x86's `minps`/`maxps` (the
    /// pseudo-minimum and -maximum) otherwise.
    fn relaxed_min_max(&mut self, ty: ir::Type, max: bool) {
        if self.env.simd.native_x86() {
            self.pseudo_min_max(ty, max);
        } else {
            self.vec_binop(ty, |t, a, b| {
                if max {
                    t.builder.ins().fmax(a, b)
                } else {
                    t.builder.ins().fmin(a, b)
                }
            });
        }
    }

    /// Products of `a`'s signed bytes with `b`'s 7-bit ones, neighbours
    /// added into 16 bits. Deterministic: `b` signed too, sums wrapping.
    fn relaxed_dot(&mut self, a: Value, b: Value) -> Value {
        if self.env.simd.native_x86() {
            // `pmaddubsw`: `b` as unsigned (the same for 7-bit values),
            // sums saturated (they cannot overflow for 7-bit `b`).
            return self.builder.ins().x86_pmaddubsw(a, b);
        }
        self.signed_dot(a, b)
    }
}
