//! Wasm trap kinds and the Cranelift trap codes that stand for them in
//! compiled code.

use std::fmt;

use cranelift_codegen::ir::TrapCode;

/// Why Wasm execution stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// A table access outside the table.
    TableOutOfBounds,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// Signed division overflow, or a float too large to convert.
    IntegerOverflow,
    /// NaN converted to an integer.
    BadConversionToInteger,
    /// The `unreachable` instruction.
    Unreachable,
    /// `call_indirect` to a function of another type.
    IndirectCallTypeMismatch,
    /// `call_indirect` with an index outside the table.
    UndefinedElement,
    /// `call_indirect` through a null table entry.
    UninitializedElement,
    /// Dereference of a null reference.
    NullReference,
    /// `call_ref` or `return_call_ref` of a null reference.
    NullFunctionReference,
    /// `throw_ref` of a null reference.
    NullExceptionReference,
    /// The Wasm stack budget was used up.
    StackOverflow,
    /// The store ran out of fuel.
    OutOfFuel,
    /// Execution was interrupted by the embedder.
    Interrupted,
    /// An atomic access at an address that is not a multiple of its size.
    HeapMisaligned,
    /// `memory.atomic.wait32/64` on a memory that is not shared.
    AtomicWaitNonSharedMemory,
    /// `struct.get`/`struct.set` of a null reference.
    NullStructReference,
    /// An array operator on a null reference.
    NullArrayReference,
    /// `i31.get_s`/`i31.get_u` of a null reference.
    NullI31Reference,
    /// An array access outside the array.
    ArrayOutOfBounds,
    /// `ref.cast` of a value not of the type.
    CastFailure,
    /// A GC object larger than the GC heap can ever hold (a full heap is
    /// the runtime's `HeapFull` error instead).
    AllocationTooLarge,
    /// A null descriptor given to `struct.new_desc` or a descriptor cast.
    NullDescriptorReference,
    /// `ref.cast_desc_eq` of a value whose descriptor is not the one given.
    DescriptorCastFailure,
}

/// Trap code used after a builtin or host function reported a failure that is
/// already recorded for the current thread.
pub const HOST_TRAP: TrapCode = TrapCode::unwrap_user(1);
const UNREACHABLE: TrapCode = TrapCode::unwrap_user(2);
const TABLE_OOB: TrapCode = TrapCode::unwrap_user(3);
const BAD_SIGNATURE: TrapCode = TrapCode::unwrap_user(4);
const UNDEFINED_ELEMENT: TrapCode = TrapCode::unwrap_user(5);
const UNINITIALIZED_ELEMENT: TrapCode = TrapCode::unwrap_user(6);
const NULL_REFERENCE: TrapCode = TrapCode::unwrap_user(7);
const OUT_OF_FUEL: TrapCode = TrapCode::unwrap_user(8);
const INTERRUPTED: TrapCode = TrapCode::unwrap_user(9);
const NULL_FUNCTION_REFERENCE: TrapCode = TrapCode::unwrap_user(10);
const NULL_EXCEPTION_REFERENCE: TrapCode = TrapCode::unwrap_user(11);
const HEAP_MISALIGNED: TrapCode = TrapCode::unwrap_user(12);
const ATOMIC_WAIT_NON_SHARED: TrapCode = TrapCode::unwrap_user(13);
const NULL_STRUCT_REFERENCE: TrapCode = TrapCode::unwrap_user(14);
const NULL_ARRAY_REFERENCE: TrapCode = TrapCode::unwrap_user(15);
const NULL_I31_REFERENCE: TrapCode = TrapCode::unwrap_user(16);
const ARRAY_OUT_OF_BOUNDS: TrapCode = TrapCode::unwrap_user(17);
const CAST_FAILURE: TrapCode = TrapCode::unwrap_user(18);
const ALLOCATION_TOO_LARGE: TrapCode = TrapCode::unwrap_user(19);
const NULL_DESCRIPTOR_REFERENCE: TrapCode = TrapCode::unwrap_user(20);
const DESCRIPTOR_CAST_FAILURE: TrapCode = TrapCode::unwrap_user(21);

impl TrapKind {
    /// The trap code compiled code uses for this kind.
    pub fn code(self) -> TrapCode {
        match self {
            TrapKind::MemoryOutOfBounds => TrapCode::HEAP_OUT_OF_BOUNDS,
            TrapKind::TableOutOfBounds => TABLE_OOB,
            TrapKind::IntegerDivisionByZero => TrapCode::INTEGER_DIVISION_BY_ZERO,
            TrapKind::IntegerOverflow => TrapCode::INTEGER_OVERFLOW,
            TrapKind::BadConversionToInteger => TrapCode::BAD_CONVERSION_TO_INTEGER,
            TrapKind::Unreachable => UNREACHABLE,
            TrapKind::IndirectCallTypeMismatch => BAD_SIGNATURE,
            TrapKind::UndefinedElement => UNDEFINED_ELEMENT,
            TrapKind::UninitializedElement => UNINITIALIZED_ELEMENT,
            TrapKind::NullReference => NULL_REFERENCE,
            TrapKind::NullFunctionReference => NULL_FUNCTION_REFERENCE,
            TrapKind::NullExceptionReference => NULL_EXCEPTION_REFERENCE,
            TrapKind::StackOverflow => TrapCode::STACK_OVERFLOW,
            TrapKind::OutOfFuel => OUT_OF_FUEL,
            TrapKind::Interrupted => INTERRUPTED,
            TrapKind::HeapMisaligned => HEAP_MISALIGNED,
            TrapKind::AtomicWaitNonSharedMemory => ATOMIC_WAIT_NON_SHARED,
            TrapKind::NullStructReference => NULL_STRUCT_REFERENCE,
            TrapKind::NullArrayReference => NULL_ARRAY_REFERENCE,
            TrapKind::NullI31Reference => NULL_I31_REFERENCE,
            TrapKind::ArrayOutOfBounds => ARRAY_OUT_OF_BOUNDS,
            TrapKind::CastFailure => CAST_FAILURE,
            TrapKind::AllocationTooLarge => ALLOCATION_TOO_LARGE,
            TrapKind::NullDescriptorReference => NULL_DESCRIPTOR_REFERENCE,
            TrapKind::DescriptorCastFailure => DESCRIPTOR_CAST_FAILURE,
        }
    }

    /// The kind a trap code stands for; `None` for [`HOST_TRAP`] and unknown codes.
    pub fn from_code(code: TrapCode) -> Option<TrapKind> {
        const ALL: [TrapKind; 25] = [
            TrapKind::MemoryOutOfBounds,
            TrapKind::TableOutOfBounds,
            TrapKind::IntegerDivisionByZero,
            TrapKind::IntegerOverflow,
            TrapKind::BadConversionToInteger,
            TrapKind::Unreachable,
            TrapKind::IndirectCallTypeMismatch,
            TrapKind::UndefinedElement,
            TrapKind::UninitializedElement,
            TrapKind::NullReference,
            TrapKind::NullFunctionReference,
            TrapKind::NullExceptionReference,
            TrapKind::StackOverflow,
            TrapKind::OutOfFuel,
            TrapKind::Interrupted,
            TrapKind::HeapMisaligned,
            TrapKind::AtomicWaitNonSharedMemory,
            TrapKind::NullStructReference,
            TrapKind::NullArrayReference,
            TrapKind::NullI31Reference,
            TrapKind::ArrayOutOfBounds,
            TrapKind::CastFailure,
            TrapKind::AllocationTooLarge,
            TrapKind::NullDescriptorReference,
            TrapKind::DescriptorCastFailure,
        ];
        ALL.into_iter().find(|k| k.code() == code)
    }

    /// The message the Wasm specification uses for this trap (for the
    /// traps it has no text for, Wasmtime's).
    pub fn message(self) -> &'static str {
        match self {
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::TableOutOfBounds => "out of bounds table access",
            TrapKind::IntegerDivisionByZero => "integer divide by zero",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::BadConversionToInteger => "invalid conversion to integer",
            TrapKind::Unreachable => "unreachable",
            TrapKind::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapKind::UndefinedElement => "undefined element",
            TrapKind::UninitializedElement => "uninitialized element",
            TrapKind::NullReference => "null reference",
            TrapKind::NullFunctionReference => "null function reference",
            TrapKind::NullExceptionReference => "null exception reference",
            TrapKind::StackOverflow => "call stack exhausted",
            TrapKind::OutOfFuel => "all fuel consumed by WebAssembly",
            TrapKind::Interrupted => "interrupted",
            TrapKind::HeapMisaligned => "unaligned atomic",
            TrapKind::AtomicWaitNonSharedMemory => "expected shared memory",
            TrapKind::NullStructReference => "null structure reference",
            TrapKind::NullArrayReference => "null array reference",
            TrapKind::NullI31Reference => "null i31 reference",
            TrapKind::ArrayOutOfBounds => "out of bounds array access",
            TrapKind::CastFailure => "cast failure",
            TrapKind::AllocationTooLarge => "allocation size too large",
            TrapKind::NullDescriptorReference => "null descriptor reference",
            TrapKind::DescriptorCastFailure => "descriptor cast failure",
        }
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.message())
    }
}

impl std::error::Error for TrapKind {}
