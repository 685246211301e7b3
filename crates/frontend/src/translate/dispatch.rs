//! The one place where operators are routed: every operator wasmparser
//! knows, generated from its own table (`for_each_operator!`). An operator
//! of an implemented proposal goes to its `visit_*` method in the family's
//! file (a missing method is a compile error, so no operator can be
//! forgotten); one of any other proposal is refused as
//! `not supported yet: <feature> (<operator>)`. Fuel cost is charged here
//! too, before the operator is translated.

use wasmparser::Operator;

use super::FuncTranslator;
use crate::error::{FrontendError, unsupported};
use crate::proposal::{Proposal, operator_name};

/// The proposals the translator implements: keep in step with the
/// `@translate` arms below (an operator of a listed proposal without an arm
/// is refused; one with an arm but unlisted is translated but reported as
/// unsupported when only validating).
pub const IMPLEMENTED: [Proposal; 15] = [
    Proposal::mvp,
    Proposal::sign_extension,
    Proposal::saturating_float_to_int,
    Proposal::bulk_memory,
    Proposal::reference_types,
    Proposal::tail_call,
    Proposal::simd,
    Proposal::relaxed_simd,
    Proposal::wide_arithmetic,
    Proposal::function_references,
    Proposal::exceptions,
    Proposal::legacy_exceptions,
    Proposal::threads,
    Proposal::gc,
    Proposal::custom_descriptors,
];

macro_rules! define_dispatch {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        impl FuncTranslator<'_, '_> {
            /// Translates one reachable operator.
            pub(super) fn dispatch(&mut self, op: Operator<'_>) -> Result<(), FrontendError> {
                match op {
                    $(
                        Operator::$op $({ $($arg),* })? => {
                            define_dispatch!(@translate self, $proposal, $visit $($(, $arg)*)?)
                        }
                    )*
                    // `Operator` is non-exhaustive; every variant is listed above.
                    other => Err(unsupported(format!("operator {}", operator_name(&other)))),
                }
            }
        }
    };

    (@translate $s:ident, mvp, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, sign_extension, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, saturating_float_to_int, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, bulk_memory, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, reference_types, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, tail_call, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, simd, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, relaxed_simd, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, wide_arithmetic, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, function_references, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, exceptions, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, legacy_exceptions, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, gc, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, custom_descriptors, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, threads, $visit:ident $(, $arg:ident)*) => {
        define_dispatch!(@call $s, $visit $(, $arg)*)
    };
    (@translate $s:ident, $proposal:ident, $visit:ident $(, $arg:ident)*) => {{
        $( let _ = $arg; )*
        let feature = Proposal::$proposal
            .unsupported_feature()
            .unwrap_or(stringify!($proposal));
        let name = stringify!($visit);
        Err(unsupported(format!(
            "{feature} ({})",
            name.strip_prefix("visit_").unwrap_or(name)
        )))
    }};

    (@call $s:ident, $visit:ident $(, $arg:ident)*) => {{
        if $s.fuel_var.is_some() {
            $s.fuel_pending += define_dispatch!(@fuel $visit);
        }
        $s.$visit($($arg),*)
    }};

    // Fuel: one unit per operator, except those that only shape control
    // flow or the operand stack.
    (@fuel visit_nop) => { 0 };
    (@fuel visit_drop) => { 0 };
    (@fuel visit_block) => { 0 };
    (@fuel visit_loop) => { 0 };
    (@fuel visit_else) => { 0 };
    (@fuel visit_end) => { 0 };
    (@fuel visit_try) => { 0 };
    (@fuel visit_catch) => { 0 };
    (@fuel visit_catch_all) => { 0 };
    (@fuel visit_delegate) => { 0 };
    (@fuel $visit:ident) => { 1 };
}
wasmparser::for_each_operator!(define_dispatch);
