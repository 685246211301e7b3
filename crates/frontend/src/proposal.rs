//! Which Wasm proposal each operator belongs to, taken from wasmparser's own
//! operator table (`for_each_operator!`), and which of them the translator
//! implements. "not supported yet" messages name the proposal from here,
//! never from an operator's spelling.

use wasmparser::Operator;

/// A Wasm proposal, as wasmparser groups operators. A proposal added to
/// wasmparser's table fails to compile here until it is listed.
#[allow(non_camel_case_types, missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proposal {
    mvp,
    sign_extension,
    saturating_float_to_int,
    bulk_memory,
    reference_types,
    tail_call,
    memory_control,
    threads,
    simd,
    relaxed_simd,
    exceptions,
    legacy_exceptions,
    gc,
    custom_descriptors,
    function_references,
    shared_everything_threads,
    stack_switching,
    wide_arithmetic,
    acquire_release_atomics,
}

impl Proposal {
    /// Whether the translator implements this proposal's operators (the
    /// list sits beside the dispatch that routes them, `translate/dispatch.rs`).
    pub fn is_implemented(self) -> bool {
        crate::translate::IMPLEMENTED.contains(&self)
    }

    /// The feature this proposal brings, as users know it; `None` for the
    /// proposals the translator implements.
    pub fn unsupported_feature(self) -> Option<&'static str> {
        (!self.is_implemented()).then(|| self.feature_name())
    }

    /// The feature this proposal brings, as users know it.
    pub fn feature_name(self) -> &'static str {
        use Proposal::*;
        match self {
            mvp => "Wasm 1.0",
            sign_extension => "sign-extension operators",
            saturating_float_to_int => "non-trapping float-to-int conversions",
            bulk_memory => "bulk memory",
            reference_types => "reference types",
            tail_call => "tail calls",
            memory_control => "memory control",
            threads => "threads",
            simd => "SIMD",
            relaxed_simd => "relaxed SIMD",
            exceptions => "exception handling",
            legacy_exceptions => "legacy exception handling",
            gc => "GC",
            custom_descriptors => "custom descriptors (GC)",
            function_references => "typed function references",
            shared_everything_threads => "shared-everything threads",
            stack_switching => "stack switching",
            wide_arithmetic => "wide arithmetic",
            acquire_release_atomics => "acquire-release atomics (threads)",
        }
    }
}

macro_rules! define_classification {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        /// The proposal operator `op` comes from.
        pub fn proposal_of(op: &Operator<'_>) -> Proposal {
            match op {
                $( Operator::$op { .. } => Proposal::$proposal, )*
                // `Operator` is non-exhaustive; every variant is listed above.
                _ => Proposal::mvp,
            }
        }

        /// The operator's name in wasmparser's visitor, e.g. `i32_add`.
        pub fn operator_name(op: &Operator<'_>) -> &'static str {
            match op {
                $( Operator::$op { .. } => {
                    let name = stringify!($visit);
                    name.strip_prefix("visit_").unwrap_or(name)
                } )*
                _ => "unknown operator",
            }
        }
    };
}
wasmparser::for_each_operator!(define_classification);

/// For an operator of a proposal the translator does not implement, the
/// "not supported yet" note naming the feature and the operator.
pub fn unsupported_operator(op: &Operator<'_>) -> Option<String> {
    proposal_of(op)
        .unsupported_feature()
        .map(|f| format!("{f} ({})", operator_name(op)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_wasmparsers_table() {
        assert_eq!(proposal_of(&Operator::I32Add), Proposal::mvp);
        assert_eq!(proposal_of(&Operator::I8x16Add), Proposal::simd);
        assert_eq!(proposal_of(&Operator::ThrowRef), Proposal::exceptions);
        assert_eq!(
            proposal_of(&Operator::BrOnNull { relative_depth: 0 }),
            Proposal::function_references
        );
        assert_eq!(
            proposal_of(&Operator::ReturnCall { function_index: 0 }),
            Proposal::tail_call
        );
        // A name that a spelling-based guess gets wrong: not GC.
        assert_eq!(proposal_of(&Operator::F32ConvertI32S), Proposal::mvp);
        assert_eq!(
            unsupported_operator(&Operator::Suspend { tag_index: 0 }).as_deref(),
            Some("stack switching (suspend)")
        );
        assert_eq!(unsupported_operator(&Operator::RefI31), None);
        assert_eq!(unsupported_operator(&Operator::ThrowRef), None);
        assert_eq!(unsupported_operator(&Operator::I8x16Add), None);
        assert_eq!(unsupported_operator(&Operator::I32Add), None);
    }
}
