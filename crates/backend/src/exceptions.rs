//! Wasm exceptions at run time: exception objects, and the unwinder that
//! takes a thrown exception to the handler that catches it.
//!
//! A `throw` that no `try_table` of the throwing function takes calls the
//! `throw` builtin with the thrower's frame pointer. `unwind` then walks
//! the Wasm frames above it through their frame records (`[fp]` the
//! caller's frame pointer, `[fp + 8]` the return address; Wasm code keeps
//! frame pointers). At each return address it asks the code registry for
//! the call's exception handlers (`try_call` sites inside a `try_table`),
//! reads the caller's context where Cranelift saved it, and compares each
//! clause's tag (the context slot the clause names) with the exception's.
//! The first match resumes execution at the handler: stack pointer, frame
//! pointer and the exception in the first payload register, then a jump.
//! Wasm calls Wasm with Cranelift's `tail` convention, under which no
//! register survives an exception edge, so nothing else needs restoring.
//!
//! The walk stops at the first return address that is not in a Wasm
//! function (the trampoline the host entered through): the exception is
//! uncaught in this activation and leaves it like a trap, through the
//! entry's jump point, as [`TrapReason::Exception`].
//!
//! Resuming abandons the Rust frames of the builtin: everything they own is
//! dropped before the jump.

use crate::code::{self, ReturnSite};
use crate::traps::{self, MAX_FRAMES, TrapReason};
use crate::vm::{VMTag, ValRaw};

/// An exception: what an `exnref` points to. The layout is
/// `wasm_jit_frontend::vmoffsets::exception`.
#[derive(Debug)]
#[repr(C)]
pub struct VMException {
    /// Its tag (the tag's address is its identity).
    pub tag: *const VMTag,
    /// Its payload, one slot per value of the tag's parameters.
    pub payload: *mut ValRaw,
    /// Non-zero once an `exnref` to it exists (a `catch_ref`, or the host
    /// holding it): it then lives as long as its owner.
    pub escaped: u32,
    /// Holds on it beyond the first (a legacy `rethrow` from a handler that
    /// still holds it): a release takes one, and only the last recycles it.
    pub holds: u32,
    /// The instance that made it and may recycle it (null: the store owns
    /// it).
    pub(crate) owner: *mut crate::instance::Instance,
    storage: Box<[ValRaw]>,
    /// Set once the host may hold it (an `exnref` value the host saw, or
    /// an uncaught exception): never reclaimed then.
    pub(crate) pinned: bool,
}

const _: () = {
    use wasm_jit_frontend::vmoffsets::exception;
    assert!(std::mem::offset_of!(VMException, tag) == exception::TAG as usize);
    assert!(std::mem::offset_of!(VMException, payload) == exception::PAYLOAD as usize);
    assert!(std::mem::offset_of!(VMException, escaped) == exception::ESCAPED as usize);
    assert!(std::mem::offset_of!(VMException, holds) == exception::HOLDS as usize);
    assert!(std::mem::size_of::<ValRaw>() == exception::SLOT as usize);
};

impl VMException {
    /// An exception of `tag` carrying `payload`, boxed so its address stays
    /// put.
    /// (Made by the host, it counts as escaped: the host holds it.)
    pub fn new(tag: *const VMTag, payload: &[ValRaw]) -> Box<VMException> {
        let mut storage: Box<[ValRaw]> = payload.into();
        Box::new(VMException {
            tag,
            payload: storage.as_mut_ptr(),
            escaped: 1,
            holds: 0,
            owner: std::ptr::null_mut(),
            storage,
            pinned: false,
        })
    }

    /// Reuses this (recycled) exception for `tag` and `payload`.
    pub(crate) fn refill(&mut self, tag: *const VMTag, payload: &[ValRaw]) {
        if self.storage.len() == payload.len() {
            self.storage.copy_from_slice(payload);
        } else {
            self.storage = payload.into();
        }
        self.payload = self.storage.as_mut_ptr();
        self.tag = tag;
        self.escaped = 0;
        self.holds = 0;
    }

    /// Empties it for reuse (a reclaimed `exnref`): no payload, no
    /// `exnref`, no holds; the payload bytes it gave back.
    pub(crate) fn clear(&mut self) -> usize {
        let bytes = std::mem::size_of_val(&*self.storage);
        self.storage = Box::new([]);
        self.payload = self.storage.as_mut_ptr();
        self.escaped = 0;
        self.holds = 0;
        bytes
    }

    /// The payload values.
    pub fn values(&self) -> &[ValRaw] {
        &self.storage
    }

    /// The memory it occupies, its own and its payload's (a reference into
    /// either keeps it).
    pub(crate) fn ranges(&self) -> [std::ops::Range<usize>; 2] {
        let own = self as *const VMException as usize;
        let payload = self.storage.as_ptr() as usize;
        [
            own..own + std::mem::size_of::<VMException>(),
            payload..payload + std::mem::size_of_val(&*self.storage),
        ]
    }
}

/// Hands `visit` every word of this thread's stack from the caller's frame
/// up to `top`, and the callee-saved registers as they are now (where a
/// caller may keep values across its call).
///
/// # Safety
/// `top` must be an address of this thread's stack above the caller's
/// frame.
#[inline(never)]
pub(crate) unsafe fn scan_stack(top: usize, mut visit: impl FnMut(usize)) {
    let mut regs = [0usize; 10];
    #[cfg(target_arch = "x86_64")]
    // SAFETY: only stores registers into `regs`.
    unsafe {
        std::arch::asm!(
            "mov [{r}], rbx",
            "mov [{r} + 8], rbp",
            "mov [{r} + 16], r12",
            "mov [{r} + 24], r13",
            "mov [{r} + 32], r14",
            "mov [{r} + 40], r15",
            r = in(reg) regs.as_mut_ptr(),
            options(nostack, preserves_flags),
        )
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: only stores registers into `regs`.
    unsafe {
        std::arch::asm!(
            "stp x19, x20, [{r}]",
            "stp x21, x22, [{r}, #16]",
            "stp x23, x24, [{r}, #32]",
            "stp x25, x26, [{r}, #48]",
            "stp x27, x28, [{r}, #64]",
            r = in(reg) regs.as_mut_ptr(),
            options(nostack, preserves_flags),
        )
    }
    for &r in &regs {
        visit(r);
    }
    let mut addr = (regs.as_ptr() as usize) & !7;
    while addr + 8 <= top {
        // SAFETY: between this frame and `top` the stack is this thread's
        // and mapped (the contract); the read is of a plain word.
        visit(unsafe { std::ptr::read_volatile(addr as *const usize) });
        addr += 8;
    }
}

/// Marks the exception an `exnref` handed to the host points to: the host
/// may keep it, so it is never reclaimed.
///
/// # Safety
/// `exn` must be a live exception.
pub unsafe fn pin(exn: *const VMException) {
    // SAFETY: per the contract; only this thread uses its store.
    unsafe { (*exn.cast_mut()).pinned = true };
}

/// An exception that no handler caught, as the host receives it.
#[derive(Debug, Clone)]
pub struct UncaughtException {
    /// Its tag.
    pub tag: *const VMTag,
    /// Its payload.
    pub payload: Vec<ValRaw>,
    /// The exception object itself (owned by the instance that made it),
    /// for an `exnref`.
    pub exn: *const VMException,
}

// SAFETY: the pointers are only compared or read by the store that owns
// them, on the thread using that store.
unsafe impl Send for UncaughtException {}

/// Takes exception `exn` to the first handler above the Wasm frame whose
/// frame pointer is `fp`, or out of this Wasm activation when none takes
/// it.
///
/// # Safety
/// `exn` must be a live exception, and `fp` the frame pointer of a Wasm
/// function that is running on this thread (whose caller chain up to the
/// host entry is intact).
pub(crate) unsafe fn unwind(exn: *const VMException, fp: usize) -> ! {
    // SAFETY: per the contract, `exn` is live.
    let tag = unsafe { (*exn).tag } as usize;
    let mut pcs = [0usize; MAX_FRAMES];
    let mut num_pcs = 0;
    let mut fp = fp;
    loop {
        // SAFETY: `fp` is the frame pointer of a live Wasm frame (the
        // contract, then each step below only follows frames that the
        // registry says are Wasm functions), whose frame record holds the
        // caller's frame pointer and the return address.
        let (caller_fp, pc) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        // The handler that takes the exception, with the stack pointer of
        // the call, chosen while the registry is read.
        let found = code::return_site(pc, |base, site| {
            let sp = caller_fp - site.frame_offset as usize;
            // SAFETY: Cranelift saved the caller's context at this offset
            // from the stack pointer of the call, which is still live.
            let vmctx = unsafe { *((sp + site.context_sp_offset as usize) as *const usize) };
            let handler = site.handlers.iter().find_map(|&(slot, handler)| {
                let hit = match slot {
                    None => true,
                    Some(slot) => {
                        // SAFETY: `slot` is the context offset of a tag slot
                        // of the caller's module, written at instantiation.
                        let other = unsafe { *((vmctx + slot as usize) as *const usize) };
                        other == tag
                    }
                };
                hit.then_some(base + handler as usize)
            });
            handler.map(|h| (h, sp))
        });
        let found = match found {
            ReturnSite::NotWasm => break,
            ReturnSite::Wasm(found) => found.flatten(),
        };
        if num_pcs < MAX_FRAMES {
            pcs[num_pcs] = pc;
            num_pcs += 1;
        }
        if let Some((handler, sp)) = found {
            // SAFETY: the handler belongs to the frame at `caller_fp`, whose
            // stack pointer at the call was `sp`; the exception is its first
            // payload. This frame owns nothing the jump would leak.
            unsafe { resume(handler, sp, caller_fp, exn as usize) }
        }
        fp = caller_fp;
    }
    // Uncaught in this activation: leave it like a trap. The host may keep
    // it (and throw it again), so it is never recycled.
    // SAFETY: `exn` is live, and nothing else accesses it now.
    unsafe {
        (*exn.cast_mut()).escaped = 1;
        (*exn.cast_mut()).pinned = true;
    }
    // SAFETY: `exn` is live.
    let uncaught = unsafe {
        UncaughtException {
            tag: (*exn).tag,
            payload: (*exn).values().to_vec(),
            exn,
        }
    };
    traps::set_pending(TrapReason::Exception(uncaught));
    // SAFETY: we are running Wasm on this thread, so a jump point exists;
    // nothing above owns resources (see the module documentation).
    unsafe { traps::leave_wasm(&pcs[..num_pcs]) }
}

/// Throws exception `exn` from a host function into the Wasm that called
/// it: `fp` is the frame pointer of the host trampoline the call went
/// through.
///
/// # Safety
/// `exn` must be a live exception of the calling store, `fp` the frame
/// pointer the host trampoline handed to the host entry, and the caller's
/// frames between here and that trampoline must own nothing that needs
/// dropping.
pub unsafe fn throw_from_host(exn: *const VMException, fp: usize) -> ! {
    // SAFETY: per the contract, the trampoline's frame record leads to the
    // Wasm frames that called it.
    unsafe { unwind(exn, fp) }
}

/// Continues at handler `pc` of the frame whose frame pointer is `fp` and
/// whose stack pointer at the call was `sp`, with `exn` as the first
/// exception payload (and 0 as the second).
///
/// # Safety
/// The three must describe a live frame and one of its handlers.
unsafe fn resume(pc: usize, sp: usize, fp: usize, exn: usize) -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: per the contract; the handler expects exactly this state
    // (payloads in rax and rdx).
    unsafe {
        std::arch::asm!(
            "mov rsp, {sp}",
            "mov rbp, {fp}",
            "jmp {pc}",
            sp = in(reg) sp,
            fp = in(reg) fp,
            pc = in(reg) pc,
            in("rax") exn,
            in("rdx") 0usize,
            options(noreturn),
        )
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above (payloads in x0 and x1).
    unsafe {
        std::arch::asm!(
            "mov sp, {sp}",
            "mov x29, {fp}",
            "br {pc}",
            sp = in(reg) sp,
            fp = in(reg) fp,
            pc = in(reg) pc,
            in("x0") exn,
            in("x1") 0usize,
            options(noreturn),
        )
    }
}
