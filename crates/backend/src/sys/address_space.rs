//! How much address space the process may map.

/// The process's address-space limit in bytes (`RLIMIT_AS`, as `ulimit -v`
/// sets it), or `None` when there is none (or it cannot be read).
#[cfg(unix)]
pub fn limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limit into `lim`, a valid, exclusively
    // borrowed `rlimit`, and touches nothing else.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) };
    if rc != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    // (`rlim_t` is signed on some systems.)
    #[allow(clippy::useless_conversion)]
    u64::try_from(lim.rlim_cur).ok()
}

#[cfg(not(unix))]
pub fn limit() -> Option<u64> {
    None
}
