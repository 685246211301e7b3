//! Traps as errors.

use std::fmt;

use wasm_jit_backend::{Trap as RawTrap, TrapReason};
use wasm_jit_frontend::TrapKind;

/// Why Wasm stopped with a trap. Trap errors downcast to it:
/// `err.downcast_ref::<Trap>()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Trap {
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
    /// `call_ref` of a null function reference.
    NullFunctionReference,
    /// `throw_ref` of a null exception reference.
    NullExceptionReference,
    /// The Wasm stack budget was used up.
    StackOverflow,
    /// The store ran out of fuel.
    OutOfFuel,
    /// Execution was interrupted by the embedder (epoch deadline).
    Interrupted,
    /// An atomic access at an address that is not a multiple of its size.
    HeapMisaligned,
    /// `memory.atomic.wait32/64` on a memory that is not shared.
    AtomicWaitNonSharedMemory,
    /// `struct.get`/`struct.set` of a null reference (GC).
    NullStructReference,
    /// An array operator on a null reference (GC).
    NullArrayReference,
    /// `i31.get_s`/`i31.get_u` of a null reference (GC).
    NullI31Reference,
    /// An array access outside the array (GC).
    ArrayOutOfBounds,
    /// `ref.cast` of a value not of the type (GC).
    CastFailure,
    /// A GC object larger than the store's GC heap may ever hold (GC; a
    /// full heap is a [`GcHeapOutOfMemory`](crate::GcHeapOutOfMemory)
    /// error instead).
    AllocationTooLarge,
    /// A null descriptor given to `struct.new_desc` or a descriptor cast
    /// (custom descriptors).
    NullDescriptorReference,
    /// `ref.cast_desc_eq` of a value whose descriptor is not the one given
    /// (custom descriptors).
    DescriptorCastFailure,
}

impl From<TrapKind> for Trap {
    fn from(k: TrapKind) -> Trap {
        match k {
            TrapKind::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
            TrapKind::TableOutOfBounds => Trap::TableOutOfBounds,
            TrapKind::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
            TrapKind::IntegerOverflow => Trap::IntegerOverflow,
            TrapKind::BadConversionToInteger => Trap::BadConversionToInteger,
            TrapKind::Unreachable => Trap::Unreachable,
            TrapKind::IndirectCallTypeMismatch => Trap::IndirectCallTypeMismatch,
            TrapKind::UndefinedElement => Trap::UndefinedElement,
            TrapKind::UninitializedElement => Trap::UninitializedElement,
            TrapKind::NullReference => Trap::NullReference,
            TrapKind::NullFunctionReference => Trap::NullFunctionReference,
            TrapKind::NullExceptionReference => Trap::NullExceptionReference,
            TrapKind::StackOverflow => Trap::StackOverflow,
            TrapKind::OutOfFuel => Trap::OutOfFuel,
            TrapKind::Interrupted => Trap::Interrupted,
            TrapKind::HeapMisaligned => Trap::HeapMisaligned,
            TrapKind::AtomicWaitNonSharedMemory => Trap::AtomicWaitNonSharedMemory,
            TrapKind::NullStructReference => Trap::NullStructReference,
            TrapKind::NullArrayReference => Trap::NullArrayReference,
            TrapKind::NullI31Reference => Trap::NullI31Reference,
            TrapKind::ArrayOutOfBounds => Trap::ArrayOutOfBounds,
            TrapKind::CastFailure => Trap::CastFailure,
            TrapKind::AllocationTooLarge => Trap::AllocationTooLarge,
            TrapKind::NullDescriptorReference => Trap::NullDescriptorReference,
            TrapKind::DescriptorCastFailure => Trap::DescriptorCastFailure,
        }
    }
}

impl From<Trap> for TrapKind {
    fn from(t: Trap) -> TrapKind {
        match t {
            Trap::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            Trap::TableOutOfBounds => TrapKind::TableOutOfBounds,
            Trap::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
            Trap::IntegerOverflow => TrapKind::IntegerOverflow,
            Trap::BadConversionToInteger => TrapKind::BadConversionToInteger,
            Trap::Unreachable => TrapKind::Unreachable,
            Trap::IndirectCallTypeMismatch => TrapKind::IndirectCallTypeMismatch,
            Trap::UndefinedElement => TrapKind::UndefinedElement,
            Trap::UninitializedElement => TrapKind::UninitializedElement,
            Trap::NullReference => TrapKind::NullReference,
            Trap::NullFunctionReference => TrapKind::NullFunctionReference,
            Trap::NullExceptionReference => TrapKind::NullExceptionReference,
            Trap::StackOverflow => TrapKind::StackOverflow,
            Trap::OutOfFuel => TrapKind::OutOfFuel,
            Trap::Interrupted => TrapKind::Interrupted,
            Trap::HeapMisaligned => TrapKind::HeapMisaligned,
            Trap::AtomicWaitNonSharedMemory => TrapKind::AtomicWaitNonSharedMemory,
            Trap::NullStructReference => TrapKind::NullStructReference,
            Trap::NullArrayReference => TrapKind::NullArrayReference,
            Trap::NullI31Reference => TrapKind::NullI31Reference,
            Trap::ArrayOutOfBounds => TrapKind::ArrayOutOfBounds,
            Trap::CastFailure => TrapKind::CastFailure,
            Trap::AllocationTooLarge => TrapKind::AllocationTooLarge,
            Trap::NullDescriptorReference => TrapKind::NullDescriptorReference,
            Trap::DescriptorCastFailure => TrapKind::DescriptorCastFailure,
        }
    }
}

impl Trap {
    /// The trap's message, as the specification's tests spell it (e.g.
    /// "integer divide by zero").
    pub fn message(self) -> &'static str {
        TrapKind::from(self).message()
    }
}

/// Wasmtime's names for the same traps, usable in patterns
/// (`Some(&Trap::UnreachableCodeReached) => ...`).
#[allow(non_upper_case_globals)]
impl Trap {
    /// [`Trap::Unreachable`].
    pub const UnreachableCodeReached: Trap = Trap::Unreachable;
    /// [`Trap::Interrupted`].
    pub const Interrupt: Trap = Trap::Interrupted;
    /// [`Trap::IndirectCallTypeMismatch`].
    pub const BadSignature: Trap = Trap::IndirectCallTypeMismatch;
    /// [`Trap::UninitializedElement`].
    pub const IndirectCallToNull: Trap = Trap::UninitializedElement;
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&TrapKind::from(*self), f)
    }
}

impl std::error::Error for Trap {}

/// One Wasm frame of a [`WasmBacktrace`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    func_index: u32,
    func_name: Option<String>,
    module_name: Option<String>,
    module_offset: Option<u32>,
    func_offset: Option<u32>,
}

impl FrameInfo {
    /// The function's index in its module's function index space.
    pub fn func_index(&self) -> u32 {
        self.func_index
    }

    /// The function's name from the module's name section, if any.
    pub fn func_name(&self) -> Option<&str> {
        self.func_name.as_deref()
    }

    /// The module's name (its file name, or the name given when compiling).
    pub fn module_name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }

    /// Byte offset in the module of the instruction executing in this frame.
    pub fn module_offset(&self) -> Option<usize> {
        self.module_offset.map(|o| o as usize)
    }

    /// [`module_offset`](Self::module_offset) counted from the start of
    /// the function's body (its locals' declarations), as Wasmtime's.
    pub fn func_offset(&self) -> Option<usize> {
        self.func_offset.map(|o| o as usize)
    }
}

impl From<wasm_jit_backend::FrameInfo> for FrameInfo {
    fn from(f: wasm_jit_backend::FrameInfo) -> FrameInfo {
        FrameInfo {
            func_index: f.func_index,
            func_name: f.func_name,
            module_name: f.module_name,
            module_offset: f.module_offset,
            func_offset: f.func_offset,
        }
    }
}

/// The Wasm frames active when a trap happened, innermost first. Attached
/// as context to trap errors: `err.downcast_ref::<WasmBacktrace>()`.
#[derive(Clone, Debug)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

impl WasmBacktrace {
    /// The Wasm frames that called the host function running now (called
    /// from Wasm, with `store`'s caller), innermost first, as Wasmtime's:
    /// those of every activation of the store, so a host function of a
    /// nested call also sees the Wasm that called the outer host function
    /// (at most 64 frames per activation); empty when no Wasm called it
    /// (and in an epoch callback), and with
    /// [`Config::wasm_backtrace`](crate::Config::wasm_backtrace) off.
    pub fn capture(store: impl crate::AsContext) -> WasmBacktrace {
        let store = store.as_context();
        if !store.0.opaque.engine.config().wasm_backtrace {
            return WasmBacktrace { frames: Vec::new() };
        }
        WasmBacktrace::force_capture(store)
    }

    /// [`capture`](Self::capture), even with backtraces off
    /// ([`Config::wasm_backtrace`](crate::Config::wasm_backtrace)).
    pub fn force_capture(store: impl crate::AsContext) -> WasmBacktrace {
        let s = &store.as_context().0.opaque;
        let mut frames = host_callers(s);
        frames.truncate(s.engine.config().backtrace_max_frames);
        WasmBacktrace {
            frames: frames.into_iter().map(FrameInfo::from).collect(),
        }
    }

    /// The frames, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }
}

impl fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error while executing at wasm backtrace:")?;
        for (i, frame) in self.frames.iter().enumerate() {
            let name = match &frame.func_name {
                Some(n) => n.clone(),
                None => format!("<wasm function {}>", frame.func_index),
            };
            let module = frame.module_name.as_deref().unwrap_or("<unknown>");
            match frame.module_offset {
                Some(off) => write!(f, "{i:>4}: {off:#8x} - {module}!{name}")?,
                None => write!(f, "{i:>4}: {:>8} - {module}!{name}", "")?,
            }
            if i + 1 < self.frames.len() {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

/// A Wasm exception outside Wasm. A call into Wasm returns it as its error
/// when Wasm throws and nothing between the throw and the call catches it
/// (downcast the error to read the tag and payload); a host function
/// returns one as its error ([`Exception::new`], or one it caught) to throw
/// it into the Wasm that called it, where a `try_table` may catch it.
#[derive(Debug, Clone)]
pub struct Exception {
    pub(crate) tag: crate::Tag,
    pub(crate) payload: Vec<crate::Val>,
    /// How the message names the tag.
    pub(crate) tag_name: String,
    /// The exception object (a `*const VMException`), owned by the store.
    pub(crate) raw: usize,
}

impl Exception {
    /// An exception of `tag` with `payload` (one value per parameter of the
    /// tag's type), to throw from a host function.
    pub fn new(
        mut store: impl crate::AsContextMut,
        tag: crate::Tag,
        payload: &[crate::Val],
    ) -> anyhow::Result<Exception> {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let data = &s.tags[s.check(tag.0)];
        let (ty, ptr) = (data.ty.clone(), data.ptr);
        if payload.len() != ty.param_types().len() {
            anyhow::bail!(
                "a tag of type {ty} takes {} payload values, {} were given",
                ty.param_types().len(),
                payload.len()
            );
        }
        let mut raw = Vec::with_capacity(payload.len());
        for (v, t) in payload.iter().zip(ty.param_types()) {
            v.check_type(s, *t, "exception payload")?;
            v.check_store(s, "an exception payload")?;
            raw.push(v.to_raw(s));
        }
        let exn = wasm_jit_backend::exceptions::VMException::new(ptr, &raw);
        let addr = &*exn as *const wasm_jit_backend::exceptions::VMException as usize;
        s.owned_exceptions.push(exn);
        Ok(Exception {
            tag,
            payload: payload.to_vec(),
            tag_name: format!("{ty}"),
            raw: addr,
        })
    }

    /// The exception's tag.
    pub fn tag(&self) -> crate::Tag {
        self.tag
    }

    /// The exception's payload, one value per parameter of the tag's type.
    pub fn payload(&self) -> &[crate::Val] {
        &self.payload
    }
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uncaught exception: tag {}", self.tag_name)?;
        if !self.payload.is_empty() {
            let vals: Vec<String> = self.payload.iter().map(|v| format!("{v:?}")).collect();
            write!(f, " with payload [{}]", vals.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for Exception {}

/// The error for an exception that left Wasm uncaught, naming its tag by
/// an export of it when one exists.
pub(crate) fn uncaught_error(
    s: &mut crate::store::StoreOpaque,
    e: wasm_jit_backend::exceptions::UncaughtException,
    frames: Vec<wasm_jit_backend::code::FrameInfo>,
) -> anyhow::Error {
    let tag = crate::Tag(s.tag_for_ptr(e.tag));
    let ty = s.tags[s.check(tag.0)].ty.clone();
    let payload: Vec<crate::Val> = ty
        .param_types()
        .iter()
        .zip(&e.payload)
        .map(|(t, raw)| crate::Val::from_raw(s, *raw, *t))
        .collect();
    let tag_name = s
        .instances
        .iter()
        .find_map(|inst| {
            let info = &inst.module().info;
            info.exports.iter().find_map(|x| {
                (x.kind == wasm_jit_frontend::module::ExternKind::Tag && inst.tag(x.index) == e.tag)
                    .then(|| format!("`{}`", x.name))
            })
        })
        .unwrap_or_else(|| format!("{ty} (not exported)"));
    let err = anyhow::Error::new(Exception {
        tag,
        payload,
        tag_name,
        raw: e.exn as usize,
    });
    if frames.is_empty() {
        err
    } else {
        err.context(WasmBacktrace {
            frames: frames.into_iter().map(FrameInfo::from).collect(),
        })
    }
}

/// A host function panicked; the panic resumes in the embedder's call.
pub(crate) struct HostPanic(pub(crate) Box<dyn std::any::Any + Send>);

/// The Wasm frames below the host functions of `store` that are running
/// (called from Wasm), innermost activation first: what called the
/// innermost one, then what called the one that made that nested call, and
/// so on (an epoch callback's entry ends the list).
pub(crate) fn host_callers(
    store: &crate::store::StoreOpaque,
) -> Vec<wasm_jit_backend::code::FrameInfo> {
    let mut frames = Vec::new();
    for &fp in store.host_fps.iter().rev() {
        if fp == 0 {
            break;
        }
        // SAFETY: a non-zero entry is pushed only inside `host_entry`, and
        // removed again by every way out of that host function (a return, a
        // caught panic, an exception thrown into Wasm); no trap's jump
        // crosses `host_entry` (each goes to the innermost entry into Wasm,
        // which the host function made). Whoever asks holds the store,
        // which the innermost running host function's `Caller` borrows
        // (or the call it made, over now), and each outer one waits for
        // the nested call it made: so every listed trampoline frame and the
        // Wasm frames below it are live and unchanged, on whichever thread
        // asks.
        frames.extend(unsafe { wasm_jit_backend::traps::host_caller_frames(fp) });
    }
    frames
}

/// Converts what the backend caught into the error the embedder sees:
/// a [`Trap`], or the host function's own error, with a [`WasmBacktrace`]
/// of the Wasm frames below as context, as Wasmtime's (a host error that
/// already has one, from a call into Wasm it made, keeps that one only;
/// the error itself stays reachable with `downcast_ref`). A host panic
/// resumes unwinding here.
pub(crate) fn into_error(trap: RawTrap) -> anyhow::Error {
    let err = match trap.reason {
        TrapReason::Wasm(kind) => anyhow::Error::new(Trap::from(kind)),
        TrapReason::Exception(_) => anyhow::anyhow!("uncaught exception"),
        TrapReason::Host(payload) => host_error(payload),
    };
    if trap.frames.is_empty() || err.downcast_ref::<WasmBacktrace>().is_some() {
        err
    } else {
        err.context(WasmBacktrace {
            frames: trap.frames.into_iter().map(FrameInfo::from).collect(),
        })
    }
}

/// What a callback of the embedder's (the limiter, the epoch callback)
/// gave, for the runtime: its error, or its panic, as the payload the trap
/// path carries back to the embedder's call (where [`host_error`] turns it
/// back).
pub(crate) fn host_payload<X>(
    outcome: std::thread::Result<anyhow::Result<X>>,
) -> Result<X, wasm_jit_backend::HostError> {
    match outcome {
        Ok(Ok(x)) => Ok(x),
        Ok(Err(e)) => Err(Box::new(e)),
        Err(panic) => Err(Box::new(HostPanic(panic))),
    }
}

/// The error a host function or the store's limiter gave (carried through
/// Wasm frames as a boxed payload); a panic of theirs resumes here.
pub(crate) fn host_error(payload: wasm_jit_backend::HostError) -> anyhow::Error {
    let payload = match payload.downcast::<HostPanic>() {
        Ok(panic) => std::panic::resume_unwind(panic.0),
        Err(p) => p,
    };
    let payload = match payload.downcast::<wasm_jit_backend::gc::HeapFull>() {
        Ok(full) => {
            return anyhow::Error::new(crate::GcHeapOutOfMemory::new((), *full));
        }
        Err(p) => p,
    };
    match payload.downcast::<anyhow::Error>() {
        Ok(e) => *e,
        Err(p) => match p.downcast::<String>() {
            Ok(msg) => anyhow::anyhow!("{msg}"),
            Err(_) => anyhow::anyhow!("host function failed"),
        },
    }
}
