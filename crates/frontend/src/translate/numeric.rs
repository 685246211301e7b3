//! Numeric operators: constants, integer and float arithmetic, comparisons,
//! conversions. Cranelift's instructions already follow Wasm's semantics for
//! shifts (amount masked), division traps, `fmin`/`fmax` (NaN and -0.0) and
//! trapping float-to-int conversions, so most map one to one.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, types};
use cranelift_frontend::FuncInstBuilder;
use wasmparser::{Ieee32, Ieee64};

use super::{FuncTranslator, Translated};

impl FuncTranslator<'_, '_> {
    fn binop(&mut self, f: impl FnOnce(FuncInstBuilder<'_, '_>, Value, Value) -> Value) {
        let (a, b) = self.pop2();
        let v = f(self.builder.ins(), a, b);
        self.push(v);
    }

    fn unop(&mut self, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop();
        let v = f(self, a);
        self.push(v);
    }

    fn bool_to_i32(&mut self, b: Value) -> Value {
        self.builder.ins().uextend(types::I32, b)
    }

    fn icmp(&mut self, cc: IntCC) {
        let (a, b) = self.pop2();
        let c = self.builder.ins().icmp(cc, a, b);
        let v = self.bool_to_i32(c);
        self.push(v);
    }

    fn fcmp(&mut self, cc: FloatCC) {
        let (a, b) = self.pop2();
        let c = self.builder.ins().fcmp(cc, a, b);
        let v = self.bool_to_i32(c);
        self.push(v);
    }

    fn eqz(&mut self) {
        let a = self.pop();
        let c = self.builder.ins().icmp_imm_u(IntCC::Equal, a, 0);
        let v = self.bool_to_i32(c);
        self.push(v);
    }

    /// Sign-extends the low `from` bits of the top operand in place.
    fn sext_in_place(&mut self, from: ir::Type, to: ir::Type) {
        self.unop(|t, a| {
            let narrow = t.builder.ins().ireduce(from, a);
            t.builder.ins().sextend(to, narrow)
        });
    }
}

/// `visit_*` methods that pop two operands and push `ins.$inst(a, b)`.
macro_rules! binops {
    ($($visit:ident => $inst:ident,)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self) -> Translated {
                self.binop(|i, a, b| i.$inst(a, b));
                Ok(())
            })*
        }
    };
}

/// `visit_*` methods that replace the top operand with `ins.$inst(a)`.
macro_rules! unops {
    ($($visit:ident => $inst:ident,)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self) -> Translated {
                self.unop(|t, a| t.builder.ins().$inst(a));
                Ok(())
            })*
        }
    };
}

/// `visit_*` methods for conversions `ins.$inst($ty, a)`.
macro_rules! conversions {
    ($($visit:ident => $inst:ident($ty:ident),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self) -> Translated {
                self.unop(|t, a| t.builder.ins().$inst(types::$ty, a));
                Ok(())
            })*
        }
    };
}

/// `visit_*` methods for comparisons (`icmp` or `fcmp` with a condition).
macro_rules! comparisons {
    ($($visit:ident => $cmp:ident($cc:expr),)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self) -> Translated {
                self.$cmp($cc);
                Ok(())
            })*
        }
    };
}

/// `visit_*` methods that reinterpret bits as another type.
macro_rules! reinterprets {
    ($($visit:ident => $ty:ident,)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self) -> Translated {
                self.unop(|t, a| {
                    t.builder
                        .ins()
                        .bitcast(types::$ty, MemFlagsData::new(), a)
                });
                Ok(())
            })*
        }
    };
}

/// `visit_*` methods that sign-extend the low bits in place.
macro_rules! sign_extensions {
    ($($visit:ident => $from:ident to $to:ident,)*) => {
        impl FuncTranslator<'_, '_> {
            $(pub(super) fn $visit(&mut self) -> Translated {
                self.sext_in_place(types::$from, types::$to);
                Ok(())
            })*
        }
    };
}

impl FuncTranslator<'_, '_> {
    pub(super) fn visit_i32_const(&mut self, value: i32) -> Translated {
        let v = self.builder.ins().iconst(types::I32, value as u32 as i64);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_i64_const(&mut self, value: i64) -> Translated {
        let v = self.builder.ins().iconst(types::I64, value);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_f32_const(&mut self, value: Ieee32) -> Translated {
        let v = self
            .builder
            .ins()
            .f32const(ir::immediates::Ieee32::with_bits(value.bits()));
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_f64_const(&mut self, value: Ieee64) -> Translated {
        let v = self
            .builder
            .ins()
            .f64const(ir::immediates::Ieee64::with_bits(value.bits()));
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_i32_eqz(&mut self) -> Translated {
        self.eqz();
        Ok(())
    }

    pub(super) fn visit_i64_eqz(&mut self) -> Translated {
        self.eqz();
        Ok(())
    }
}

comparisons! {
    visit_i32_eq => icmp(IntCC::Equal),
    visit_i32_ne => icmp(IntCC::NotEqual),
    visit_i32_lt_s => icmp(IntCC::SignedLessThan),
    visit_i32_lt_u => icmp(IntCC::UnsignedLessThan),
    visit_i32_gt_s => icmp(IntCC::SignedGreaterThan),
    visit_i32_gt_u => icmp(IntCC::UnsignedGreaterThan),
    visit_i32_le_s => icmp(IntCC::SignedLessThanOrEqual),
    visit_i32_le_u => icmp(IntCC::UnsignedLessThanOrEqual),
    visit_i32_ge_s => icmp(IntCC::SignedGreaterThanOrEqual),
    visit_i32_ge_u => icmp(IntCC::UnsignedGreaterThanOrEqual),
    visit_i64_eq => icmp(IntCC::Equal),
    visit_i64_ne => icmp(IntCC::NotEqual),
    visit_i64_lt_s => icmp(IntCC::SignedLessThan),
    visit_i64_lt_u => icmp(IntCC::UnsignedLessThan),
    visit_i64_gt_s => icmp(IntCC::SignedGreaterThan),
    visit_i64_gt_u => icmp(IntCC::UnsignedGreaterThan),
    visit_i64_le_s => icmp(IntCC::SignedLessThanOrEqual),
    visit_i64_le_u => icmp(IntCC::UnsignedLessThanOrEqual),
    visit_i64_ge_s => icmp(IntCC::SignedGreaterThanOrEqual),
    visit_i64_ge_u => icmp(IntCC::UnsignedGreaterThanOrEqual),
    // Float comparisons: all ordered except `ne`.
    visit_f32_eq => fcmp(FloatCC::Equal),
    visit_f32_ne => fcmp(FloatCC::NotEqual),
    visit_f32_lt => fcmp(FloatCC::LessThan),
    visit_f32_gt => fcmp(FloatCC::GreaterThan),
    visit_f32_le => fcmp(FloatCC::LessThanOrEqual),
    visit_f32_ge => fcmp(FloatCC::GreaterThanOrEqual),
    visit_f64_eq => fcmp(FloatCC::Equal),
    visit_f64_ne => fcmp(FloatCC::NotEqual),
    visit_f64_lt => fcmp(FloatCC::LessThan),
    visit_f64_gt => fcmp(FloatCC::GreaterThan),
    visit_f64_le => fcmp(FloatCC::LessThanOrEqual),
    visit_f64_ge => fcmp(FloatCC::GreaterThanOrEqual),
}

unops! {
    visit_i32_clz => clz,
    visit_i32_ctz => ctz,
    visit_i32_popcnt => popcnt,
    visit_i64_clz => clz,
    visit_i64_ctz => ctz,
    visit_i64_popcnt => popcnt,
    visit_f32_abs => fabs,
    visit_f32_neg => fneg,
    visit_f32_ceil => ceil,
    visit_f32_floor => floor,
    visit_f32_trunc => trunc,
    visit_f32_nearest => nearest,
    visit_f32_sqrt => sqrt,
    visit_f64_abs => fabs,
    visit_f64_neg => fneg,
    visit_f64_ceil => ceil,
    visit_f64_floor => floor,
    visit_f64_trunc => trunc,
    visit_f64_nearest => nearest,
    visit_f64_sqrt => sqrt,
}

binops! {
    visit_i32_add => iadd,
    visit_i32_sub => isub,
    visit_i32_mul => imul,
    visit_i32_div_s => sdiv,
    visit_i32_div_u => udiv,
    visit_i32_rem_s => srem,
    visit_i32_rem_u => urem,
    visit_i32_and => band,
    visit_i32_or => bor,
    visit_i32_xor => bxor,
    visit_i32_shl => ishl,
    visit_i32_shr_s => sshr,
    visit_i32_shr_u => ushr,
    visit_i32_rotl => rotl,
    visit_i32_rotr => rotr,
    visit_i64_add => iadd,
    visit_i64_sub => isub,
    visit_i64_mul => imul,
    visit_i64_div_s => sdiv,
    visit_i64_div_u => udiv,
    visit_i64_rem_s => srem,
    visit_i64_rem_u => urem,
    visit_i64_and => band,
    visit_i64_or => bor,
    visit_i64_xor => bxor,
    visit_i64_shl => ishl,
    visit_i64_shr_s => sshr,
    visit_i64_shr_u => ushr,
    visit_i64_rotl => rotl,
    visit_i64_rotr => rotr,
    visit_f32_add => fadd,
    visit_f32_sub => fsub,
    visit_f32_mul => fmul,
    visit_f32_div => fdiv,
    visit_f32_min => fmin,
    visit_f32_max => fmax,
    visit_f32_copysign => fcopysign,
    visit_f64_add => fadd,
    visit_f64_sub => fsub,
    visit_f64_mul => fmul,
    visit_f64_div => fdiv,
    visit_f64_min => fmin,
    visit_f64_max => fmax,
    visit_f64_copysign => fcopysign,
}

conversions! {
    visit_i32_wrap_i64 => ireduce(I32),
    visit_i64_extend_i32_s => sextend(I64),
    visit_i64_extend_i32_u => uextend(I64),
    visit_i32_trunc_f32_s => fcvt_to_sint(I32),
    visit_i32_trunc_f64_s => fcvt_to_sint(I32),
    visit_i32_trunc_f32_u => fcvt_to_uint(I32),
    visit_i32_trunc_f64_u => fcvt_to_uint(I32),
    visit_i64_trunc_f32_s => fcvt_to_sint(I64),
    visit_i64_trunc_f64_s => fcvt_to_sint(I64),
    visit_i64_trunc_f32_u => fcvt_to_uint(I64),
    visit_i64_trunc_f64_u => fcvt_to_uint(I64),
    visit_i32_trunc_sat_f32_s => fcvt_to_sint_sat(I32),
    visit_i32_trunc_sat_f64_s => fcvt_to_sint_sat(I32),
    visit_i32_trunc_sat_f32_u => fcvt_to_uint_sat(I32),
    visit_i32_trunc_sat_f64_u => fcvt_to_uint_sat(I32),
    visit_i64_trunc_sat_f32_s => fcvt_to_sint_sat(I64),
    visit_i64_trunc_sat_f64_s => fcvt_to_sint_sat(I64),
    visit_i64_trunc_sat_f32_u => fcvt_to_uint_sat(I64),
    visit_i64_trunc_sat_f64_u => fcvt_to_uint_sat(I64),
    visit_f32_convert_i32_s => fcvt_from_sint(F32),
    visit_f32_convert_i64_s => fcvt_from_sint(F32),
    visit_f32_convert_i32_u => fcvt_from_uint(F32),
    visit_f32_convert_i64_u => fcvt_from_uint(F32),
    visit_f64_convert_i32_s => fcvt_from_sint(F64),
    visit_f64_convert_i64_s => fcvt_from_sint(F64),
    visit_f64_convert_i32_u => fcvt_from_uint(F64),
    visit_f64_convert_i64_u => fcvt_from_uint(F64),
    visit_f32_demote_f64 => fdemote(F32),
    visit_f64_promote_f32 => fpromote(F64),
}

reinterprets! {
    visit_i32_reinterpret_f32 => I32,
    visit_i64_reinterpret_f64 => I64,
    visit_f32_reinterpret_i32 => F32,
    visit_f64_reinterpret_i64 => F64,
}

sign_extensions! {
    visit_i32_extend8_s => I8 to I32,
    visit_i32_extend16_s => I16 to I32,
    visit_i64_extend8_s => I8 to I64,
    visit_i64_extend16_s => I16 to I64,
    visit_i64_extend32_s => I32 to I64,
}
