//! How a trap travels from a faulting instruction back to the host call that
//! entered Wasm.
//!
//! 1. [`call_wasm`] enters compiled code through `wasm_jit_call` (in
//!    `sys/unwind.c`), which records a jump point for this thread.
//! 2. A trap is a hardware fault: a load or store in a guard page (SIGSEGV or
//!    SIGBUS), a trap instruction for an explicit check (SIGILL), or a
//!    division (SIGFPE). The handler (`sys::signals`) asks the
//!    code registry (`code::lookup_trap`) whether the faulting pc is a
//!    known trap site of Wasm code, records the trap and the Wasm frames for
//!    this thread, and jumps back to the entry point.
//! 3. Builtins and host functions that fail record their error here
//!    ([`set_pending`]) and return a flag; compiled code then executes a
//!    `HOST_TRAP` trap instruction, which takes the same path.
//! 4. [`call_wasm`] returns the recorded [`Trap`].
//!
//! A fault anywhere else is not ours: the handler passes it on to whichever
//! handler was installed before (by default: the process dies).

use std::any::Any;
use std::cell::{Cell, RefCell};

use wasm_jit_frontend::TrapKind;

use crate::code::{self, FrameInfo};
use crate::sys;
use crate::vm::{VMLimits, ValRaw};

/// Native stack kept free below Wasm's limit for host functions it calls.
const HOST_STACK_HEADROOM: usize = 128 * 1024;

/// Native stack a larger budget for quick code leaves below the Wasm stack
/// for host functions (see [`call_wasm`]).
pub const QUICK_HOST_ROOM: usize = 1 << 20;

/// Most Wasm frames recorded for a backtrace.
pub const MAX_FRAMES: usize = 64;

/// Why Wasm stopped.
pub enum TrapReason {
    /// A Wasm trap.
    Wasm(TrapKind),
    /// An error returned by a host function, passed through unchanged (the
    /// API adds the Wasm frames to it as context).
    Host(Box<dyn Any + Send>),
    /// A Wasm exception that no handler in this activation caught.
    Exception(crate::exceptions::UncaughtException),
}

impl std::fmt::Debug for TrapReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrapReason::Wasm(k) => write!(f, "Wasm({k:?})"),
            TrapReason::Host(_) => write!(f, "Host(..)"),
            TrapReason::Exception(_) => write!(f, "Exception(..)"),
        }
    }
}

/// A trap caught by [`call_wasm`].
#[derive(Debug)]
pub struct Trap {
    /// Why.
    pub reason: TrapReason,
    /// Wasm frames, innermost first.
    pub frames: Vec<FrameInfo>,
}

/// What the signal handler writes: plain data only, no allocation.
#[derive(Clone, Copy)]
pub(crate) struct TrapRecord {
    pub(crate) code: Option<cranelift_codegen::ir::TrapCode>,
    pub(crate) pcs: [usize; MAX_FRAMES],
    pub(crate) num_pcs: usize,
}

thread_local! {
    /// Jump buffer of the innermost active `wasm_jit_call`, or null.
    pub(crate) static JMP_BUF: Cell<*mut u8> = const { Cell::new(std::ptr::null_mut()) };
    /// The last trap caught by the signal handler on this thread.
    pub(crate) static RECORD: Cell<Option<TrapRecord>> = const { Cell::new(None) };
    /// An error recorded by a builtin or host function before it returned
    /// its failure flag.
    static PENDING: RefCell<Option<TrapReason>> = const { RefCell::new(None) };
}

/// Leaves Wasm for the innermost entry's jump point, with `pcs` as the
/// backtrace and the reason recorded with [`set_pending`].
///
/// # Safety
/// Wasm must be running on this thread (a jump point exists), and the
/// frames between here and the jump point must own nothing that needs
/// dropping.
pub(crate) unsafe fn leave_wasm(pcs: &[usize]) -> ! {
    let mut record = TrapRecord {
        code: None,
        pcs: [0; MAX_FRAMES],
        num_pcs: pcs.len().min(MAX_FRAMES),
    };
    record.pcs[..record.num_pcs].copy_from_slice(&pcs[..record.num_pcs]);
    RECORD.with(|r| r.set(Some(record)));
    let buf = JMP_BUF.with(|c| c.get());
    assert!(!buf.is_null(), "an exception outside Wasm");
    // SAFETY: `buf` is the jump buffer of the innermost active
    // `wasm_jit_call` on this thread (the contract).
    unsafe { wasm_jit_unwind(buf) }
}

/// The Wasm frames, innermost first, that called the host trampoline whose
/// frame pointer is `fp` (the one a host entry point receives), as far as
/// the first frame that is not Wasm's.
///
/// # Safety
/// `fp` must be the frame pointer of a host trampoline that has called
/// into the host and not returned yet (its stack, on whichever thread, is
/// live and its frames do not change while this runs).
pub unsafe fn host_caller_frames(fp: usize) -> Vec<FrameInfo> {
    let mut record = TrapRecord {
        code: None,
        pcs: [0; MAX_FRAMES],
        num_pcs: 0,
    };
    // SAFETY: the trampoline, compiled like Wasm with frame pointers, has
    // a frame record (its caller's frame pointer and the return address;
    // the contract says it is live); the walk follows a record only after
    // finding its return address in registered code.
    unsafe { sys::signals::walk_frames(fp, &mut record) };
    code::frames(&record.pcs[..record.num_pcs])
}

/// An address unique to the calling thread (its jump-buffer cell).
pub(crate) fn thread_token() -> usize {
    JMP_BUF.with(|c| c.as_ptr() as usize)
}

/// Records why a builtin or host function is about to report failure.
pub fn set_pending(reason: TrapReason) {
    PENDING.with(|p| *p.borrow_mut() = Some(reason));
}

unsafe extern "C" {
    fn wasm_jit_call(
        f: unsafe extern "C" fn(*mut u8, *mut u8, *const u8, *mut ValRaw),
        a: *mut u8,
        b: *mut u8,
        c: *const u8,
        d: *mut ValRaw,
        slot: *mut *mut u8,
    ) -> i32;
    pub(crate) fn wasm_jit_unwind(buf: *mut u8) -> !;
}

/// The signature of an array-call trampoline: `(callee_vmctx, caller_vmctx,
/// code, values)`. It reads the arguments from `values` and writes the
/// results back there.
pub type ArrayTrampoline = unsafe extern "C" fn(*mut u8, *mut u8, *const u8, *mut ValRaw);

/// How much native stack Wasm may use (see [`call_wasm`]).
#[derive(Clone, Copy, Debug)]
pub struct StackBudget {
    /// `Config::max_wasm_stack`.
    pub max_wasm_stack: usize,
    /// What it is multiplied by for quick first-tier code (1 without it).
    pub stack_scale: usize,
}

/// Calls Wasm code through an array trampoline, catching traps.
///
/// `limits` is the store's; its stack limit is set from the current stack
/// pointer minus `max_wasm_stack` when this is the outermost Wasm entry on
/// this thread, or minus up to `stack_scale` times that (for quick
/// first-tier code, whose frames are larger) as far as the thread's stack
/// leaves [`QUICK_HOST_ROOM`] below.
///
/// # Safety
/// `trampoline` must be a trampoline for the callee's signature, `code` and
/// `callee_vmctx` a valid function and its context, `values` large enough for
/// the parameters and results, and `limits` valid for the whole call.
pub unsafe fn call_wasm(
    trampoline: ArrayTrampoline,
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    code: *const u8,
    values: *mut ValRaw,
    limits: *mut VMLimits,
    stack: StackBudget,
) -> Result<(), Trap> {
    let StackBudget {
        max_wasm_stack,
        stack_scale,
    } = stack;
    sys::signals::init();
    // The stack limit belongs to the thread that runs the code: at the
    // store's outermost entry (also from a host function of another store)
    // and on a thread running no Wasm yet (a host function that re-enters
    // the store from another thread) it is set from this thread's stack,
    // and the previous one restored afterwards. (A re-entry from another
    // thread that already runs some other Wasm keeps the store's limit.)
    let (slot, first_on_this_thread) = JMP_BUF.with(|c| (c.as_ptr(), c.get().is_null()));
    // SAFETY: `limits` is valid for the call (caller's contract).
    let limits = unsafe { &mut *limits };
    // Where this store's exnrefs can be: below here, on this thread.
    let roots = &mut limits.exn_roots;
    let thread = slot as usize;
    let here = &thread as *const usize as usize;
    // The store's outermost entry: its limit is set here even when another
    // store's Wasm is running on this thread (a host function of that one
    // calling into this one), whose limit says nothing about this store.
    let outermost = roots.depth == 0;
    if outermost {
        roots.thread = thread;
        roots.stack_top = here;
    } else if roots.thread != thread || here >= roots.stack_top {
        // Another thread, or another stack (a host function may switch
        // to one of its own): frames the scan would not see.
        roots.unreachable = true;
    }
    roots.depth += 1;
    let saved = (limits.stack_limit, limits.stack_scaled);
    // The stack limit for Wasm entered at `entry` on this thread: the
    // budget below it, more for quick code (leaving host functions at least
    // `QUICK_HOST_ROOM` of the thread's stack, or what they would have had
    // without it, if that is less; none where the thread's stack is not
    // known), and never into the thread's real guard page, even on a thread
    // whose stack is smaller than the budget: headroom is kept for the
    // host functions Wasm calls. Also whether the larger budget was given.
    let limit_from = |entry: usize| {
        let low = sys::stack::stack_low();
        let floor = match low {
            0 => 0,
            low => low + HOST_STACK_HEADROOM,
        };
        let scaled = stack_scale > 1 && low != 0;
        let budget = if scaled {
            let room = entry.saturating_sub(low).saturating_sub(QUICK_HOST_ROOM);
            max_wasm_stack
                .saturating_mul(stack_scale)
                .min(room.max(max_wasm_stack))
        } else {
            max_wasm_stack
        };
        (entry.saturating_sub(budget).max(floor), scaled)
    };
    let restore = if first_on_this_thread || outermost {
        (limits.stack_limit, limits.stack_scaled) = limit_from(here);
        true
    } else if stack_scale > 1 && !limits.stack_scaled && limits.exn_roots.thread == thread {
        // Wasm of this store is running on this thread under the smaller
        // budget, and a host function made it able to run quick code
        // (instantiating such a module): from here on that code gets the
        // larger budget, counted from the store's outermost entry.
        let (limit, scaled) = limit_from(limits.exn_roots.stack_top);
        limits.stack_limit = limits.stack_limit.min(limit);
        limits.stack_scaled = scaled;
        true
    } else {
        false
    };
    // SAFETY: the trampoline and its arguments are valid (caller's contract);
    // `slot` is this thread's jump-buffer cell, which outlives the call.
    let ok = unsafe { wasm_jit_call(trampoline, callee_vmctx, caller_vmctx, code, values, slot) };
    if restore {
        (limits.stack_limit, limits.stack_scaled) = saved;
    }
    limits.exn_roots.depth -= 1;
    if ok != 0 {
        return Ok(());
    }
    let record = RECORD
        .with(|r| r.take())
        .expect("a trap jumped back without a record");
    let frames = code::frames(&record.pcs[..record.num_pcs]);
    let reason = match record.code.and_then(TrapKind::from_code) {
        Some(kind) => TrapReason::Wasm(kind),
        None => PENDING.with(|p| p.borrow_mut().take()).unwrap_or_else(|| {
            // An engine bug, not the guest's doing: say so rather than
            // invent a trap.
            TrapReason::Host(Box::new(String::from(
                "internal error: Wasm stopped without a recorded reason",
            )))
        }),
    };
    Err(Trap { reason, frames })
}
