//! Numeric operators: constants, integer and float arithmetic, comparisons,
//! conversions. Cranelift's instructions already follow Wasm's semantics for
//! shifts (amount masked), division traps, `fmin`/`fmax` (NaN and -0.0) and
//! trapping float-to-int conversions, so most map one to one.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, types};
use wasmparser::Operator;

use cranelift_frontend::FuncInstBuilder;

use super::FuncTranslator;
use crate::error::FrontendError;

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

    /// Translates a numeric operator; `Ok(false)` if `op` is not one.
    pub(super) fn numeric_op(&mut self, op: &Operator<'_>) -> Result<bool, FrontendError> {
        use types::{F32, F64, I8, I16, I32, I64};
        match op {
            Operator::I32Const { value } => {
                let v = self.builder.ins().iconst(I32, *value as u32 as i64);
                self.push(v);
            }
            Operator::I64Const { value } => {
                let v = self.builder.ins().iconst(I64, *value);
                self.push(v);
            }
            Operator::F32Const { value } => {
                let v = self
                    .builder
                    .ins()
                    .f32const(ir::immediates::Ieee32::with_bits(value.bits()));
                self.push(v);
            }
            Operator::F64Const { value } => {
                let v = self
                    .builder
                    .ins()
                    .f64const(ir::immediates::Ieee64::with_bits(value.bits()));
                self.push(v);
            }

            // Integer comparisons.
            Operator::I32Eqz | Operator::I64Eqz => self.eqz(),
            Operator::I32Eq | Operator::I64Eq => self.icmp(IntCC::Equal),
            Operator::I32Ne | Operator::I64Ne => self.icmp(IntCC::NotEqual),
            Operator::I32LtS | Operator::I64LtS => self.icmp(IntCC::SignedLessThan),
            Operator::I32LtU | Operator::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            Operator::I32GtS | Operator::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            Operator::I32GtU | Operator::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            Operator::I32LeS | Operator::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            Operator::I32LeU | Operator::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            Operator::I32GeS | Operator::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            Operator::I32GeU | Operator::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),

            // Float comparisons: all ordered except `ne`.
            Operator::F32Eq | Operator::F64Eq => self.fcmp(FloatCC::Equal),
            Operator::F32Ne | Operator::F64Ne => self.fcmp(FloatCC::NotEqual),
            Operator::F32Lt | Operator::F64Lt => self.fcmp(FloatCC::LessThan),
            Operator::F32Gt | Operator::F64Gt => self.fcmp(FloatCC::GreaterThan),
            Operator::F32Le | Operator::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            Operator::F32Ge | Operator::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            // Integer arithmetic.
            Operator::I32Clz | Operator::I64Clz => self.unop(|t, a| t.builder.ins().clz(a)),
            Operator::I32Ctz | Operator::I64Ctz => self.unop(|t, a| t.builder.ins().ctz(a)),
            Operator::I32Popcnt | Operator::I64Popcnt => {
                self.unop(|t, a| t.builder.ins().popcnt(a))
            }
            Operator::I32Add | Operator::I64Add => self.binop(|i, a, b| i.iadd(a, b)),
            Operator::I32Sub | Operator::I64Sub => self.binop(|i, a, b| i.isub(a, b)),
            Operator::I32Mul | Operator::I64Mul => self.binop(|i, a, b| i.imul(a, b)),
            Operator::I32DivS | Operator::I64DivS => self.binop(|i, a, b| i.sdiv(a, b)),
            Operator::I32DivU | Operator::I64DivU => self.binop(|i, a, b| i.udiv(a, b)),
            Operator::I32RemS | Operator::I64RemS => self.binop(|i, a, b| i.srem(a, b)),
            Operator::I32RemU | Operator::I64RemU => self.binop(|i, a, b| i.urem(a, b)),
            Operator::I32And | Operator::I64And => self.binop(|i, a, b| i.band(a, b)),
            Operator::I32Or | Operator::I64Or => self.binop(|i, a, b| i.bor(a, b)),
            Operator::I32Xor | Operator::I64Xor => self.binop(|i, a, b| i.bxor(a, b)),
            Operator::I32Shl | Operator::I64Shl => self.binop(|i, a, b| i.ishl(a, b)),
            Operator::I32ShrS | Operator::I64ShrS => self.binop(|i, a, b| i.sshr(a, b)),
            Operator::I32ShrU | Operator::I64ShrU => self.binop(|i, a, b| i.ushr(a, b)),
            Operator::I32Rotl | Operator::I64Rotl => self.binop(|i, a, b| i.rotl(a, b)),
            Operator::I32Rotr | Operator::I64Rotr => self.binop(|i, a, b| i.rotr(a, b)),

            // Float arithmetic.
            Operator::F32Abs | Operator::F64Abs => self.unop(|t, a| t.builder.ins().fabs(a)),
            Operator::F32Neg | Operator::F64Neg => self.unop(|t, a| t.builder.ins().fneg(a)),
            Operator::F32Ceil | Operator::F64Ceil => self.unop(|t, a| t.builder.ins().ceil(a)),
            Operator::F32Floor | Operator::F64Floor => self.unop(|t, a| t.builder.ins().floor(a)),
            Operator::F32Trunc | Operator::F64Trunc => self.unop(|t, a| t.builder.ins().trunc(a)),
            Operator::F32Nearest | Operator::F64Nearest => {
                self.unop(|t, a| t.builder.ins().nearest(a))
            }
            Operator::F32Sqrt | Operator::F64Sqrt => self.unop(|t, a| t.builder.ins().sqrt(a)),
            Operator::F32Add | Operator::F64Add => self.binop(|i, a, b| i.fadd(a, b)),
            Operator::F32Sub | Operator::F64Sub => self.binop(|i, a, b| i.fsub(a, b)),
            Operator::F32Mul | Operator::F64Mul => self.binop(|i, a, b| i.fmul(a, b)),
            Operator::F32Div | Operator::F64Div => self.binop(|i, a, b| i.fdiv(a, b)),
            Operator::F32Min | Operator::F64Min => self.binop(|i, a, b| i.fmin(a, b)),
            Operator::F32Max | Operator::F64Max => self.binop(|i, a, b| i.fmax(a, b)),
            Operator::F32Copysign | Operator::F64Copysign => {
                self.binop(|i, a, b| i.fcopysign(a, b))
            }

            // Conversions.
            Operator::I32WrapI64 => self.unop(|t, a| t.builder.ins().ireduce(I32, a)),
            Operator::I64ExtendI32S => self.unop(|t, a| t.builder.ins().sextend(I64, a)),
            Operator::I64ExtendI32U => self.unop(|t, a| t.builder.ins().uextend(I64, a)),
            Operator::I32TruncF32S | Operator::I32TruncF64S => {
                self.unop(|t, a| t.builder.ins().fcvt_to_sint(I32, a))
            }
            Operator::I32TruncF32U | Operator::I32TruncF64U => {
                self.unop(|t, a| t.builder.ins().fcvt_to_uint(I32, a))
            }
            Operator::I64TruncF32S | Operator::I64TruncF64S => {
                self.unop(|t, a| t.builder.ins().fcvt_to_sint(I64, a))
            }
            Operator::I64TruncF32U | Operator::I64TruncF64U => {
                self.unop(|t, a| t.builder.ins().fcvt_to_uint(I64, a))
            }
            Operator::I32TruncSatF32S | Operator::I32TruncSatF64S => {
                self.unop(|t, a| t.builder.ins().fcvt_to_sint_sat(I32, a))
            }
            Operator::I32TruncSatF32U | Operator::I32TruncSatF64U => {
                self.unop(|t, a| t.builder.ins().fcvt_to_uint_sat(I32, a))
            }
            Operator::I64TruncSatF32S | Operator::I64TruncSatF64S => {
                self.unop(|t, a| t.builder.ins().fcvt_to_sint_sat(I64, a))
            }
            Operator::I64TruncSatF32U | Operator::I64TruncSatF64U => {
                self.unop(|t, a| t.builder.ins().fcvt_to_uint_sat(I64, a))
            }
            Operator::F32ConvertI32S | Operator::F32ConvertI64S => {
                self.unop(|t, a| t.builder.ins().fcvt_from_sint(F32, a))
            }
            Operator::F32ConvertI32U | Operator::F32ConvertI64U => {
                self.unop(|t, a| t.builder.ins().fcvt_from_uint(F32, a))
            }
            Operator::F64ConvertI32S | Operator::F64ConvertI64S => {
                self.unop(|t, a| t.builder.ins().fcvt_from_sint(F64, a))
            }
            Operator::F64ConvertI32U | Operator::F64ConvertI64U => {
                self.unop(|t, a| t.builder.ins().fcvt_from_uint(F64, a))
            }
            Operator::F32DemoteF64 => self.unop(|t, a| t.builder.ins().fdemote(F32, a)),
            Operator::F64PromoteF32 => self.unop(|t, a| t.builder.ins().fpromote(F64, a)),
            Operator::I32ReinterpretF32 => self.unop(|t, a| {
                t.builder
                    .ins()
                    .bitcast(I32, MemFlagsData::new().with_notrap(), a)
            }),
            Operator::I64ReinterpretF64 => self.unop(|t, a| {
                t.builder
                    .ins()
                    .bitcast(I64, MemFlagsData::new().with_notrap(), a)
            }),
            Operator::F32ReinterpretI32 => self.unop(|t, a| {
                t.builder
                    .ins()
                    .bitcast(F32, MemFlagsData::new().with_notrap(), a)
            }),
            Operator::F64ReinterpretI64 => self.unop(|t, a| {
                t.builder
                    .ins()
                    .bitcast(F64, MemFlagsData::new().with_notrap(), a)
            }),
            Operator::I32Extend8S => self.sext_in_place(I8, I32),
            Operator::I32Extend16S => self.sext_in_place(I16, I32),
            Operator::I64Extend8S => self.sext_in_place(I8, I64),
            Operator::I64Extend16S => self.sext_in_place(I16, I64),
            Operator::I64Extend32S => self.sext_in_place(I32, I64),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
