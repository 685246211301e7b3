//! POSIX signal handling: the handler that turns faults in Wasm code into
//! traps, and the per-thread alternate signal stack it runs on.
//!
//! The only architecture-specific part is reading the pc and frame pointer
//! out of the `ucontext` (`pc_and_fp`).

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::sync::{Once, OnceLock};

use crate::code;
use crate::traps::{JMP_BUF, MAX_FRAMES, RECORD, TrapRecord, wasm_jit_unwind};

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The handlers that were installed before ours, to pass foreign faults on.
static PREVIOUS: OnceLock<[libc::sigaction; 4]> = OnceLock::new();
static INSTALL: Once = Once::new();

/// Size of the alternate signal stack we give threads whose stack is smaller.
const ALT_STACK_SIZE: usize = 64 * 1024;

/// Our handler's sigaction.
fn our_action() -> libc::sigaction {
    // SAFETY: a zeroed sigaction is a valid value to fill in, and the
    // handler has the SA_SIGINFO signature.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        libc::sigemptyset(&mut action.sa_mask);
        action
    }
}

/// Installs the handlers (once per process) and makes sure the calling thread
/// has an alternate signal stack, so that a stack overflow can be handled.
pub fn init() {
    INSTALL.call_once(|| {
        let mut previous = [MaybeUninit::<libc::sigaction>::uninit(); 4];
        for (i, &sig) in SIGNALS.iter().enumerate() {
            // SAFETY: `our_action` is a valid sigaction for `handler`.
            unsafe {
                if libc::sigaction(sig, &our_action(), previous[i].as_mut_ptr()) != 0 {
                    panic!("wasm-jit: cannot install the handler for signal {sig}");
                }
            }
        }
        // SAFETY: every element was written by a successful sigaction call.
        let previous = previous.map(|p| unsafe { p.assume_init() });
        let _ = PREVIOUS.set(previous);
    });
    ALT_STACK.with(|s| {
        if s.borrow().is_none() {
            *s.borrow_mut() = Some(AltStack::ensure());
        }
    });
}

thread_local! {
    static ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// An alternate signal stack this module installed (or `None` inside when
/// the thread already had a large enough one).
struct AltStack(Option<(*mut libc::c_void, usize)>);

impl AltStack {
    fn ensure() -> AltStack {
        // SAFETY: querying the current alternate stack with a null new value
        // only writes `old`.
        unsafe {
            let mut old: libc::stack_t = std::mem::zeroed();
            libc::sigaltstack(std::ptr::null(), &mut old);
            if old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= ALT_STACK_SIZE {
                return AltStack(None);
            }
        }
        let page = crate::memory::host_page();
        let size = ALT_STACK_SIZE + page;
        // SAFETY: an anonymous private mapping has no preconditions; the
        // first page becomes a guard so an overflow of the signal stack
        // faults instead of corrupting memory.
        unsafe {
            let ptr = libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANON,
                -1,
                0,
            );
            assert!(
                ptr != libc::MAP_FAILED,
                "wasm-jit: cannot map a signal stack"
            );
            let usable = (ptr as *mut u8).add(page) as *mut libc::c_void;
            assert_eq!(
                libc::mprotect(usable, ALT_STACK_SIZE, libc::PROT_READ | libc::PROT_WRITE),
                0
            );
            let stack = libc::stack_t {
                ss_sp: usable,
                ss_flags: 0,
                ss_size: ALT_STACK_SIZE,
            };
            assert_eq!(libc::sigaltstack(&stack, std::ptr::null_mut()), 0);
            AltStack(Some((ptr, size)))
        }
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        if let Some((ptr, size)) = self.0 {
            // SAFETY: the thread is exiting and no longer runs Wasm; the
            // stack is disabled before it is unmapped.
            unsafe {
                let disable = libc::stack_t {
                    ss_sp: std::ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: 0,
                };
                libc::sigaltstack(&disable, std::ptr::null_mut());
                libc::munmap(ptr, size);
            }
        }
    }
}

/// Reads the faulting pc and the frame pointer from a signal context.
///
/// # Safety
/// `uc` must be the `ucontext_t` the kernel passed to the handler.
unsafe fn pc_and_fp(uc: *mut libc::c_void) -> (usize, usize) {
    let uc = uc as *const libc::ucontext_t;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: per this function's contract `uc` is a valid ucontext.
    unsafe {
        let gregs = &(*uc).uc_mcontext.gregs;
        (
            gregs[libc::REG_RIP as usize] as usize,
            gregs[libc::REG_RBP as usize] as usize,
        )
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: per this function's contract `uc` is a valid ucontext.
    unsafe {
        let mc = &(*uc).uc_mcontext;
        (mc.pc as usize, mc.regs[29] as usize)
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    // A signal sent by a process (kill, sigqueue, tgkill) rather than raised
    // by a faulting instruction is never a trap, whatever the pc.
    // SAFETY: the kernel passes a valid siginfo to SA_SIGINFO handlers.
    let sent = unsafe { (*info).si_code } <= 0;
    let jmp = JMP_BUF.with(|b| b.get());
    if !jmp.is_null() && !sent {
        // SAFETY: `uc` comes from the kernel for this signal.
        let (pc, fp) = unsafe { pc_and_fp(uc) };
        // The registry lookup holds a read lock only inside `lookup_trap`,
        // so nothing is left locked when we jump.
        if let Some(trap_code) = code::lookup_trap(pc) {
            let mut record = TrapRecord {
                code: Some(trap_code),
                pcs: [0; MAX_FRAMES],
                num_pcs: 1,
            };
            record.pcs[0] = pc;
            // SAFETY: Wasm code keeps frame pointers; the walk stops at the
            // first return address outside Wasm code.
            unsafe { walk_frames(fp, &mut record) };
            RECORD.with(|r| r.set(Some(record)));
            // SAFETY: `jmp` is the buffer of the active wasm_jit_call on this
            // thread; only Wasm frames and this handler lie above it, and
            // nothing here needs dropping.
            unsafe { wasm_jit_unwind(jmp) };
        }
    }
    // SAFETY: forwarding with the kernel's own arguments.
    unsafe { forward(sig, info, uc, sent) };
}

/// Follows the frame-pointer chain from a Wasm frame (or a trampoline's),
/// recording return addresses that are inside registered code (Wasm
/// functions and trampolines, all compiled with frame pointers).
///
/// # Safety
/// `fp` must be null, or the frame pointer of a live frame of registered
/// code (a Wasm function or a trampoline) whose stack does not change
/// during the walk.
pub(crate) unsafe fn walk_frames(mut fp: usize, record: &mut TrapRecord) {
    while fp != 0 && record.num_pcs < MAX_FRAMES {
        // SAFETY: a frame of registered code (Wasm or a trampoline, all
        // with frame pointers) stores [caller fp, return address] at fp:
        // the first by the contract, the others once their return address
        // was found in registered code.
        let (next_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if !code::is_wasm_pc(ret) {
            break;
        }
        // Report the call instruction, not the instruction after it.
        record.pcs[record.num_pcs] = ret - 1;
        record.num_pcs += 1;
        if next_fp <= fp {
            break;
        }
        fp = next_fp;
    }
}

/// Passes a signal that is not a Wasm trap to the previous handler, or does
/// what the default action would have done. Our handler stays installed
/// unless the process is about to die anyway.
///
/// # Safety
/// Must be called from the handler with the kernel's arguments.
unsafe fn forward(sig: libc::c_int, info: *mut libc::siginfo_t, uc: *mut libc::c_void, sent: bool) {
    let i = SIGNALS.iter().position(|&s| s == sig).unwrap_or(0);
    let Some(prev) = PREVIOUS.get().map(|p| &p[i]) else {
        // Not recorded yet (a fault while installing): die as by default.
        // SAFETY: resetting a signal to its default action.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
        return;
    };
    if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with this signature.
        unsafe {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(prev.sa_sigaction);
            f(sig, info, uc);
        }
        if sent {
            // A handler that resets the action to the default on a fault
            // that is not its own (Rust's runtime does) would leave us
            // uninstalled over a signal that was only sent: install ours
            // again. (For a real fault, returning re-executes the
            // instruction under whatever it chose.)
            // SAFETY: re-installing the same handler as `init`.
            unsafe { libc::sigaction(sig, &our_action(), std::ptr::null_mut()) };
        }
    } else if prev.sa_sigaction == libc::SIG_IGN && sent {
        // Ignored before we came: still ignored.
    } else if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
        // Restore the default action. For a fault, returning re-executes the
        // faulting instruction, which now terminates the process as it
        // would have; a sent signal is raised again to the same effect.
        // SAFETY: resetting a signal to its default action, then raising it
        // on this thread.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            if sent {
                libc::raise(sig);
            }
        }
    } else {
        // SAFETY: the previous handler was installed with this signature.
        unsafe {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(prev.sa_sigaction);
            f(sig);
        }
    }
}
