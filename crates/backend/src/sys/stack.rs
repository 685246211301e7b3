//! The bounds of the current thread's native stack.

use std::cell::Cell;

thread_local! {
    /// Lowest usable address of this thread's stack, once known (0: unknown).
    static STACK_LOW: Cell<usize> = const { Cell::new(0) };
}

/// The lowest address of the current thread's stack, or 0 if it cannot be
/// found. Computed once per thread.
pub fn stack_low() -> usize {
    STACK_LOW.with(|low| {
        if low.get() == 0 {
            low.set(query());
        }
        low.get()
    })
}

#[cfg(target_os = "linux")]
fn query() -> usize {
    // SAFETY: pthread_getattr_np fills `attr` for the calling thread, which
    // is destroyed after reading the stack range out of it.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return 0;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 { 0 } else { addr as usize }
    }
}

#[cfg(not(target_os = "linux"))]
fn query() -> usize {
    0
}
