//! Wide arithmetic: 128-bit addition and subtraction on pairs of `i64`
//! halves, and the full 128-bit products of two `i64`s. Cranelift's `I128`
//! does the carrying (`add`/`adc` on x86-64, `adds`/`adc` on aarch64).

use cranelift_codegen::ir::{InstBuilder, types};

use super::{FuncTranslator, Translated};

impl FuncTranslator<'_, '_> {
    /// `[lo1 hi1 lo2 hi2] -> [lo hi]`.
    fn wide_add_sub(&mut self, subtract: bool) -> Translated {
        let (lo2, hi2) = self.pop2();
        let (lo1, hi1) = self.pop2();
        let a = self.builder.ins().iconcat(lo1, hi1);
        let b = self.builder.ins().iconcat(lo2, hi2);
        let r = if subtract {
            self.builder.ins().isub(a, b)
        } else {
            self.builder.ins().iadd(a, b)
        };
        let (lo, hi) = self.builder.ins().isplit(r);
        self.push(lo);
        self.push(hi);
        Ok(())
    }

    /// `[a b] -> [lo hi]` of the 128-bit product.
    fn wide_mul(&mut self, signed: bool) -> Translated {
        let (a, b) = self.pop2();
        let lo = self.builder.ins().imul(a, b);
        let hi = if signed {
            self.builder.ins().smulhi(a, b)
        } else {
            self.builder.ins().umulhi(a, b)
        };
        debug_assert_eq!(self.builder.func.dfg.value_type(lo), types::I64);
        self.push(lo);
        self.push(hi);
        Ok(())
    }

    pub(super) fn visit_i64_add128(&mut self) -> Translated {
        self.wide_add_sub(false)
    }

    pub(super) fn visit_i64_sub128(&mut self) -> Translated {
        self.wide_add_sub(true)
    }

    pub(super) fn visit_i64_mul_wide_s(&mut self) -> Translated {
        self.wide_mul(true)
    }

    pub(super) fn visit_i64_mul_wide_u(&mut self) -> Translated {
        self.wide_mul(false)
    }
}
