//! Arguments, environment, clocks, randomness, scheduling and polling.

use std::time::Duration;

use rustix::time::{ClockId, clock_getres, clock_gettime};

use crate::memory::{GuestMemory, Ptr};
use crate::types::{Abi, Errno, SUBSCRIPTION_CLOCK_ABSTIME, clockid, eventtype};
use crate::{Descriptor, State, WasiCtx};

/// Writes `strings` as NUL-terminated bytes at `buf` and their addresses at `ptrs`.
fn write_strings(
    m: &mut GuestMemory<'_>,
    strings: &[String],
    ptrs: u32,
    buf: u32,
) -> Result<(), Errno> {
    // Check all the room first: nothing is written when the pointer array
    // or the buffer does not fit.
    let count = u32::try_from(strings.len()).map_err(|_| Errno::FAULT)?;
    let total: usize = strings.iter().map(|s| s.len() + 1).sum();
    let total = u32::try_from(total).map_err(|_| Errno::FAULT)?;
    m.check(Ptr::from(ptrs), count.checked_mul(4).ok_or(Errno::FAULT)?)?;
    m.check(Ptr::from(buf), total)?;
    let mut at = Ptr::from(buf);
    for (i, s) in strings.iter().enumerate() {
        let len = u32::try_from(s.len()).map_err(|_| Errno::FAULT)?;
        m.write_u32(Ptr::from(ptrs).index(i as u32, 4), at.as_u32()?)?;
        m.write(at, s.as_bytes())?;
        m.write_u8(at + len, 0)?;
        at = at + (len + 1);
    }
    Ok(())
}

fn sizes(m: &mut GuestMemory<'_>, strings: &[String], count: u32, size: u32) -> Result<(), Errno> {
    m.write_u32(count, strings.len() as u32)?;
    let total: usize = strings.iter().map(|s| s.len() + 1).sum();
    m.write_u32(size, u32::try_from(total).map_err(|_| Errno::OVERFLOW)?)
}

fn env_strings(cx: &State) -> Vec<String> {
    cx.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

pub(crate) fn args_get(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    argv: u32,
    buf: u32,
) -> Result<(), Errno> {
    write_strings(m, &cx.args, argv, buf)
}

pub(crate) fn args_sizes_get(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    count: u32,
    size: u32,
) -> Result<(), Errno> {
    sizes(m, &cx.args, count, size)
}

pub(crate) fn environ_get(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    env: u32,
    buf: u32,
) -> Result<(), Errno> {
    write_strings(m, &env_strings(cx), env, buf)
}

pub(crate) fn environ_sizes_get(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    count: u32,
    size: u32,
) -> Result<(), Errno> {
    sizes(m, &env_strings(cx), count, size)
}

fn clock(id: u32) -> Result<ClockId, Errno> {
    Ok(match id {
        clockid::REALTIME => ClockId::Realtime,
        clockid::MONOTONIC => ClockId::Monotonic,
        clockid::PROCESS_CPUTIME_ID => ClockId::ProcessCPUTime,
        clockid::THREAD_CPUTIME_ID => ClockId::ThreadCPUTime,
        _ => return Err(Errno::INVAL),
    })
}

fn nanos(t: rustix::time::Timespec) -> u64 {
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

pub(crate) fn now(id: u32) -> Result<u64, Errno> {
    Ok(nanos(clock_gettime(clock(id)?)))
}

pub(crate) fn clock_res_get(
    cx: &WasiCtx,
    m: &mut GuestMemory<'_>,
    id: u32,
    out: u32,
) -> Result<(), Errno> {
    let supplied = cx.lock().hooks.clone();
    let res = match supplied.resolution(id) {
        Some(res) => res,
        None => nanos(clock_getres(clock(id)?)),
    };
    m.write_u64(out, res.max(1))
}

pub(crate) fn clock_time_get(
    cx: &WasiCtx,
    m: &mut GuestMemory<'_>,
    id: u32,
    _precision: u64,
    out: u32,
) -> Result<(), Errno> {
    // The context is not held while a host clock runs.
    let supplied = cx.lock().hooks.clone();
    let t = match supplied.now(id) {
        Some(t) => t,
        None => now(id)?,
    };
    m.write_u64(out, t)
}

pub(crate) fn random_get(
    cx: &WasiCtx,
    m: &mut GuestMemory<'_>,
    buf: u32,
    len: u32,
) -> Result<(), Errno> {
    let supplied = cx.lock().hooks.random.clone();
    if let Some(random) = supplied {
        m.fill(buf, len, |out| {
            // A generator that panicked is still a generator.
            let mut random = random.lock().unwrap_or_else(|e| e.into_inner());
            random.try_fill_bytes(out).map_err(|_| Errno::IO)?;
            Ok(out.len())
        })?;
        return Ok(());
    }
    m.fill(buf, len, |out| {
        let mut filled = 0;
        while filled < out.len() {
            match rustix::rand::getrandom(&mut out[filled..], rustix::rand::GetRandomFlags::empty())
            {
                Ok(n) => filled += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(Errno::from_host(e.raw_os_error())),
            }
        }
        Ok(filled)
    })?;
    Ok(())
}

pub(crate) fn sched_yield() -> Result<(), Errno> {
    std::thread::yield_now();
    Ok(())
}

/// One subscription of `poll_oneoff`.
enum Sub {
    /// Fires at the given monotonic-or-realtime deadline (ns) of `clock`.
    Clock {
        userdata: u64,
        clock: u32,
        deadline: u64,
    },
    /// Readiness of a descriptor for reading or writing.
    Fd { userdata: u64, fd: u32, read: bool },
}

const EVENT_SIZE: u32 = 32;
const SUBSCRIPTION_SIZE: u32 = 48;
/// `wasi_unstable`'s subscriptions: its clock subscriptions start with an
/// identifier of 8 bytes, which moves their other fields by 8.
const SUBSCRIPTION_SIZE_PREVIEW0: u32 = 56;

fn write_event(
    m: &mut GuestMemory<'_>,
    at: Ptr,
    userdata: u64,
    error: Errno,
    ty: u8,
    nbytes: u64,
) -> Result<(), Errno> {
    m.write(at, &[0; EVENT_SIZE as usize])?;
    m.write_u64(at, userdata)?;
    m.write_u16(at + 8, error.0)?;
    m.write_u8(at + 10, ty)?;
    m.write_u64(at + 16, nbytes)
}

/// Most subscriptions one `poll_oneoff` takes: the host allocates nothing
/// for a guest beyond that (`EINVAL`).
const MAX_SUBSCRIPTIONS: u32 = 4096;

pub(crate) fn poll_oneoff(
    cx: &WasiCtx,
    m: &mut GuestMemory<'_>,
    subs_ptr: u32,
    events_ptr: u32,
    nsubs: u32,
    nevents_ptr: u32,
    abi: Abi,
) -> Result<(), Errno> {
    let (sub_size, clock_fields) = match abi {
        Abi::Preview1 => (SUBSCRIPTION_SIZE, 16),
        Abi::Preview0 => (SUBSCRIPTION_SIZE_PREVIEW0, 24),
    };
    if nsubs == 0 {
        return Err(Errno::INVAL);
    }
    if nsubs > MAX_SUBSCRIPTIONS {
        return Err(Errno::INVAL);
    }
    // All of the events array must be there before anything is done.
    m.check(Ptr::from(events_ptr), 0)?;
    m.check(
        Ptr::from(events_ptr).index(nsubs - 1, EVENT_SIZE),
        EVENT_SIZE,
    )?;
    let supplied = cx.lock().hooks.clone();
    let mut subs = Vec::new();
    for i in 0..nsubs {
        let at = Ptr::from(subs_ptr).index(i, sub_size);
        let userdata = m.read_u64(at)?;
        match m.read_u8(at + 8)? {
            eventtype::CLOCK => {
                let clock = m.read_u32(at + clock_fields)?;
                let timeout = m.read_u64(at + clock_fields + 8)?;
                let flags = m.read_u16(at + clock_fields + 24)?;
                // Waits are on the system's clocks. An absolute time on a
                // clock the host supplied becomes the wait until that clock
                // would reach it at the system's pace.
                let deadline = if flags & SUBSCRIPTION_CLOCK_ABSTIME == 0 {
                    now(clock)?.saturating_add(timeout)
                } else if let Some(then) = supplied.now(clock) {
                    now(clock)?.saturating_add(timeout.saturating_sub(then))
                } else {
                    timeout
                };
                subs.push(Sub::Clock {
                    userdata,
                    clock,
                    deadline,
                });
            }
            t @ (eventtype::FD_READ | eventtype::FD_WRITE) => {
                let fd = m.read_u32(at + 16)?;
                subs.push(Sub::Fd {
                    userdata,
                    fd,
                    read: t == eventtype::FD_READ,
                });
            }
            _ => return Err(Errno::INVAL),
        }
    }

    // Descriptors: files and directories are always ready; the streams are
    // asked with poll(2), waiting at most until the earliest clock.
    let mut events: Vec<(u64, Errno, u8, u64)> = Vec::new();
    let mut stream_waits: Vec<(u64, bool, i32)> = Vec::new();
    // The context is held only to look at the descriptors, not while the
    // call waits: other threads' calls go on.
    let cx_deadline = {
        let cx = cx.lock();
        for s in &subs {
            if let Sub::Fd { userdata, fd, read } = *s {
                let ty = if read {
                    eventtype::FD_READ
                } else {
                    eventtype::FD_WRITE
                };
                match cx.get(fd) {
                    Err(e) => events.push((userdata, e, ty, 0)),
                    Ok(Descriptor::File(f)) => {
                        let left = if read {
                            use std::io::Seek;
                            let len = f.file.metadata().map(|md| md.len()).unwrap_or(0);
                            let pos = (&*f.file).stream_position().unwrap_or(len);
                            len.saturating_sub(pos)
                        } else {
                            0
                        };
                        events.push((userdata, Errno::SUCCESS, ty, left));
                    }
                    Ok(Descriptor::Dir(_)) => events.push((userdata, Errno::BADF, ty, 0)),
                    // A stream the host supplied is always ready: input
                    // with what is left (0 at its end), output at once.
                    Ok(d) if cx.piped(d) => {
                        let left = match (&cx.pipes.stdin, d) {
                            (Some(p), Descriptor::Stdin) if read => p.ready(),
                            _ => 0,
                        };
                        events.push((userdata, Errno::SUCCESS, ty, left));
                    }
                    Ok(Descriptor::Stdin) => stream_waits.push((userdata, read, 0)),
                    Ok(Descriptor::Stdout) => stream_waits.push((userdata, read, 1)),
                    Ok(Descriptor::Stderr) => stream_waits.push((userdata, read, 2)),
                }
            }
        }
        cx.deadline
    };
    let earliest = subs
        .iter()
        .filter_map(|s| match *s {
            Sub::Clock {
                clock, deadline, ..
            } => Some(deadline.saturating_sub(now(clock).unwrap_or(deadline))),
            _ => None,
        })
        .min();
    if events.is_empty() && !stream_waits.is_empty() {
        // Wait no longer than the guest's deadline.
        let cap = cx_deadline.map(|d| {
            d.saturating_duration_since(std::time::Instant::now())
                .as_nanos()
                .min(u64::MAX as u128) as u64
        });
        let wait = match (earliest, cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        events.extend(poll_streams(&stream_waits, wait)?);
        if events.is_empty() && cx_deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Err(Errno::DEADLINE);
        }
    }
    if events.is_empty() {
        // Only clocks (or streams that did not become ready): sleep until
        // the earliest deadline and report the clocks that have passed.
        if let Some(wait) = earliest {
            let wait = Duration::from_nanos(wait);
            if let Some(deadline) = cx_deadline {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left < wait {
                    std::thread::sleep(left);
                    return Err(Errno::DEADLINE);
                }
            }
            std::thread::sleep(wait);
        }
        for s in &subs {
            if let Sub::Clock {
                userdata,
                clock,
                deadline,
            } = *s
                && now(clock)? >= deadline
            {
                events.push((userdata, Errno::SUCCESS, eventtype::CLOCK, 0));
            }
        }
    }
    for (i, (userdata, error, ty, nbytes)) in events.iter().enumerate() {
        write_event(
            m,
            Ptr::from(events_ptr).index(i as u32, EVENT_SIZE),
            *userdata,
            *error,
            *ty,
            *nbytes,
        )?;
    }
    m.write_u32(nevents_ptr, events.len() as u32)
}

fn poll_streams(
    waits: &[(u64, bool, i32)],
    timeout_ns: Option<u64>,
) -> Result<Vec<(u64, Errno, u8, u64)>, Errno> {
    use rustix::event::{PollFd, PollFlags, poll};
    use std::os::fd::{AsFd, BorrowedFd};
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let fds: Vec<BorrowedFd<'_>> = waits
        .iter()
        .map(|w| match w.2 {
            0 => stdin.as_fd(),
            1 => stdout.as_fd(),
            _ => stderr.as_fd(),
        })
        .collect();
    let mut pollfds: Vec<PollFd<'_>> = waits
        .iter()
        .zip(&fds)
        .map(|(w, fd)| PollFd::new(fd, if w.1 { PollFlags::IN } else { PollFlags::OUT }))
        .collect();
    let timeout = timeout_ns.map(|ns| rustix::time::Timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    });
    match poll(&mut pollfds, timeout.as_ref()) {
        Ok(_) => {}
        Err(rustix::io::Errno::INTR) => return Ok(Vec::new()),
        Err(e) => return Err(Errno::from_host(e.raw_os_error())),
    }
    Ok(waits
        .iter()
        .zip(&pollfds)
        .filter(|(_, p)| !p.revents().is_empty())
        .map(|(w, p)| {
            let ty = if w.1 {
                eventtype::FD_READ
            } else {
                eventtype::FD_WRITE
            };
            let error = if p.revents().contains(PollFlags::ERR) {
                Errno::IO
            } else {
                Errno::SUCCESS
            };
            (w.0, error, ty, 1)
        })
        .collect())
}
