//! Linear memory: an address-space reservation whose accessible prefix
//! grows by changing page protection.
//!
//! In the guarded style a memory reserves 4 GiB plus a guard region up
//! front, so its base never moves and compiled code may rely on faults
//! instead of bounds checks. In the explicit style it reserves only what it
//! needs (rounded up) and moves to a larger reservation when a `memory.grow`
//! does not fit; compiled code then checks every access and reloads the base.
//! A memory guard pages cannot protect (a 64-bit index, or one-byte pages
//! whose end need not fall on a host page) always takes the explicit style.
//! Its byte length is then any multiple of its page size; the host pages
//! that hold it are accessible, and compiled code checks against the length.
//!
//! A shared memory (threads) may be used by several threads at once, each
//! running its own store: it is never moved (an explicitly checked one
//! reserves its maximum up front), grows under a lock through `&self`, and
//! is never reached through `&mut` once shared. Its `memory.atomic.wait`
//! and `notify` meet in its parking table (`Parking`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use wasm_jit_frontend::translate::MemoryStyle;
use wasm_jit_frontend::types::{MemoryType, WASM_PAGE_SIZE};

use crate::lazy::lock;
use crate::vm::VMMemoryDefinition;

/// A linear memory. Its [`VMMemoryDefinition`] is what compiled code reads;
/// the structure is boxed by its owner so that address stays fixed.
#[derive(Debug)]
pub struct LinearMemory {
    def: VMMemoryDefinition,
    /// Start of the whole mapping (a guard page precedes `def.base`).
    mapping: *mut u8,
    mapping_len: usize,
    /// Bytes after `def.base` that belong to the reservation (excluding guard).
    reserved: usize,
    maximum_pages: u64,
    ty: MemoryType,
    style: MemoryStyle,
    /// How an explicitly checked memory grows past its reservation.
    reservation: Reservation,
    /// What a shared memory's threads synchronise on.
    shared: Option<Box<Shared>>,
}

/// The part of a shared memory its threads synchronise on.
#[derive(Debug, Default)]
struct Shared {
    /// Held while the memory grows.
    grow: Mutex<()>,
    parking: Parking,
    /// Handles on the memory beyond its defining instance: `SharedMemory`
    /// values and stores that import it. With none, no other thread could
    /// ever notify a waiter.
    reach: AtomicUsize,
}

// SAFETY: the mapping is owned exclusively by this value; it has no thread
// affinity. An unshared memory is reached by one store, one thread at a
// time; a shared one changes only through `&self` (an atomic length, and
// page protection under its grow lock) and is never moved.
unsafe impl Send for LinearMemory {}
// SAFETY: as above: through `&self`, an unshared memory is only read, and a
// shared one synchronises its changes.
unsafe impl Sync for LinearMemory {}

/// How an explicitly checked memory reserves address space (Wasmtime's
/// `memory_reservation`, `memory_reservation_for_growth` and
/// `memory_may_move`). A guarded memory always reserves 4 GiB plus its
/// guard and never moves; a shared one reserves its maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Bytes reserved when the memory is made, if its initial size fits
    /// (0: its initial size only). At most its maximum size.
    pub initial: u64,
    /// Bytes reserved past the size when the memory is made larger than
    /// `initial` or moves because it grew past its reservation. `None`:
    /// none at creation, and twice the new size when it moves.
    pub for_growth: Option<u64>,
    /// Whether it may move to a larger reservation; if not, a `memory.grow`
    /// past the reservation fails (returns -1).
    pub may_move: bool,
}

/// `len` plus `bytes`, or `usize::MAX` if that does not fit.
fn plus(len: usize, bytes: u64) -> usize {
    len.saturating_add(usize::try_from(bytes).unwrap_or(usize::MAX))
}

/// The bytes of `pages` pages of `1 << page_size_log2` bytes, or
/// `usize::MAX` if that does not fit (a 64-bit memory's maximum).
fn byte_len(pages: u64, page_size_log2: u8) -> usize {
    pages
        .checked_mul(1 << page_size_log2)
        .and_then(|b| usize::try_from(b).ok())
        .unwrap_or(usize::MAX)
}

/// What [`LinearMemory::grow_in_place`] did.
enum Growth {
    /// Grown; the old size in pages.
    Grown(u64),
    /// Not grown: past the maximum, too large, or the pages could not be
    /// made accessible.
    Refused,
    /// Not grown: the new size needs a larger reservation (an explicitly
    /// checked, unshared memory may move to one).
    PastReservation {
        old_pages: u64,
        old_len: usize,
        new_len: usize,
    },
}

/// How often a waiting thread asks whether it was interrupted.
const WAIT_SLICE: Duration = Duration::from_millis(10);

/// Why a `memory.atomic.wait` did not wait.
#[derive(Debug)]
pub enum WaitError<E> {
    /// The memory is not shared (a trap).
    Unshared,
    /// The address is out of bounds (a trap).
    OutOfBounds,
    /// The size is not 4 or 8, or the address not a multiple of it (a
    /// trap).
    Misaligned,
    /// No timeout, and no other thread can reach the memory to notify.
    Forever,
    /// The interruption's error.
    Interrupted(E),
}

/// How a `memory.atomic.wait` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Woken by a notify (0).
    Woken,
    /// The value was not the expected one (1).
    Mismatch,
    /// The timeout passed (2).
    TimedOut,
}

/// The threads waiting on each address of a shared memory.
#[derive(Debug, Default)]
struct Parking {
    queues: Mutex<HashMap<u64, VecDeque<Arc<Waiter>>>>,
}

/// Takes a waiter out of its queue if the thread unwinds meanwhile.
struct LeaveOnPanic<'a> {
    parking: &'a Parking,
    addr: u64,
    waiter: &'a Arc<Waiter>,
}

impl Drop for LeaveOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            unqueue(&mut lock(&self.parking.queues), self.addr, self.waiter);
        }
    }
}

/// Takes `waiter` out of the queue of `addr` (if a notify has not).
fn unqueue(queues: &mut HashMap<u64, VecDeque<Arc<Waiter>>>, addr: u64, waiter: &Arc<Waiter>) {
    if let Some(q) = queues.get_mut(&addr) {
        q.retain(|w| !Arc::ptr_eq(w, waiter));
        if q.is_empty() {
            queues.remove(&addr);
        }
    }
}

#[derive(Debug, Default)]
struct Waiter {
    /// Set (under the parking lock) by the notify that wakes it.
    woken: std::sync::atomic::AtomicBool,
    wake: Condvar,
}

const FOUR_GIB: usize = 1 << 32;

/// Whether the process may map `count` reservations of 4 GiB plus
/// `guard_bytes` each: false under an address-space limit (`ulimit -v`)
/// smaller than that, where fewer than `count` memories protected by guard
/// pages could be made.
pub fn room_for_guarded_memories(guard_bytes: u64, count: u64) -> bool {
    match crate::sys::address_space::limit() {
        None => true,
        Some(limit) => {
            (FOUR_GIB as u64)
                .saturating_add(guard_bytes)
                .saturating_mul(count)
                <= limit
        }
    }
}

/// The host's page size: the unit of `mmap` and `mprotect` (4 KiB on
/// x86-64; 4, 16 or 64 KiB on aarch64 kernels). Linear memory lengths that
/// rely on guard pages are whole 64 KiB Wasm pages, so whole host pages on
/// every one of them.
pub(crate) fn host_page() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf only reads a system constant.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page)
            .ok()
            .filter(|p| p.is_power_of_two() && *p <= 1 << 16)
            .unwrap_or(4096)
    })
}

/// `n` rounded up to whole host pages.
fn host_pages(n: usize) -> usize {
    n.next_multiple_of(host_page())
}

impl LinearMemory {
    /// Creates a memory of `ty.minimum` pages, refusing to ever grow past
    /// `limit_pages` 64 KiB pages (in addition to the type's own maximum).
    pub fn new(
        ty: &MemoryType,
        style: MemoryStyle,
        limit_pages: u64,
        reservation: &Reservation,
    ) -> Result<Self, String> {
        let limit = limit_pages.saturating_mul(WASM_PAGE_SIZE) >> ty.page_size_log2;
        let by_index = ty.max_pages_by_index();
        let maximum_pages = ty.maximum.unwrap_or(by_index).min(by_index).min(limit);
        if ty.minimum > maximum_pages {
            return Err(format!(
                "memory minimum of {} pages exceeds the limit of {maximum_pages} pages",
                ty.minimum
            ));
        }
        let initial = usize::try_from(ty.minimum << ty.page_size_log2)
            .map_err(|_| "a linear memory that large does not fit".to_string())?;
        let style = if ty.guardable() {
            style
        } else {
            MemoryStyle::Explicit
        };
        // A shared memory never moves: explicitly checked, it reserves its
        // maximum (which a shared memory declares) at once.
        let at_least = if ty.shared {
            maximum_pages
                .checked_mul(1 << ty.page_size_log2)
                .and_then(|b| usize::try_from(b).ok())
                .ok_or_else(|| "a shared memory that large does not fit".to_string())?
        } else {
            let max_len = byte_len(maximum_pages, ty.page_size_log2);
            let up_front = usize::try_from(reservation.initial).unwrap_or(usize::MAX);
            let wanted = if initial <= up_front {
                up_front
            } else {
                plus(initial, reservation.for_growth.unwrap_or(0))
            };
            wanted.min(max_len).max(initial)
        };
        let (reserved, guard) = match style {
            MemoryStyle::Guarded { guard_bytes } => (FOUR_GIB, guard_bytes as usize),
            MemoryStyle::Explicit => (
                host_pages(
                    at_least
                        .max(WASM_PAGE_SIZE as usize)
                        .min(usize::MAX - 2 * host_page()),
                ),
                host_page(),
            ),
        };
        let mut m = LinearMemory {
            def: VMMemoryDefinition {
                base: std::ptr::null_mut(),
                length: AtomicUsize::new(0),
            },
            mapping: std::ptr::null_mut(),
            mapping_len: 0,
            reserved,
            maximum_pages,
            ty: *ty,
            style,
            reservation: *reservation,
            shared: ty.shared.then(Box::default),
        };
        m.map(reserved, guard, initial)?;
        Ok(m)
    }

    /// Maps a reservation of `reserved + guard` bytes (plus one leading
    /// guard page), makes the first `accessible` bytes read-write, and
    /// points `def` at it. The previous mapping, if any, is left to the caller.
    fn map(&mut self, reserved: usize, guard: usize, accessible: usize) -> Result<(), String> {
        // Never let the size wrap: the translator trusts the guard region.
        let len = host_page()
            .checked_add(reserved)
            .and_then(|l| l.checked_add(guard))
            .ok_or_else(|| "a linear memory reservation that large does not fit".to_string())?;
        let fresh = |hint: *mut libc::c_void| {
            // SAFETY: a fresh anonymous PROT_NONE reservation; MAP_NORESERVE
            // so the untouched part costs no memory. The address is only a
            // hint (no MAP_FIXED): the kernel never maps over anything.
            unsafe {
                libc::mmap(
                    hint,
                    len,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            }
        };
        let ptr = match pool::take(len) {
            Ok(kept) => kept,
            Err(hint) => match fresh(hint) {
                // Out of address space: give back what the pool keeps.
                libc::MAP_FAILED if pool::release_all() => fresh(std::ptr::null_mut()),
                ptr => ptr,
            },
        };
        if ptr == libc::MAP_FAILED {
            return Err(format!(
                "cannot reserve {} MiB of address space for a linear memory",
                len >> 20
            ));
        }
        let base = (ptr as *mut u8).wrapping_add(host_page());
        if accessible > 0 {
            // SAFETY: [base, base + host_pages(accessible)) lies inside the
            // reservation (`reserved` is whole host pages, at least
            // `accessible`).
            let rc = unsafe {
                libc::mprotect(
                    base as *mut libc::c_void,
                    host_pages(accessible),
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if rc != 0 {
                // SAFETY: unmapping the reservation made above.
                unsafe { libc::munmap(ptr, len) };
                return Err("cannot commit linear memory".to_string());
            }
        }
        self.mapping = ptr as *mut u8;
        self.mapping_len = len;
        self.reserved = reserved;
        self.def.base = base;
        self.def.length.store(accessible, Release);
        Ok(())
    }

    /// The structure compiled code reads (and never writes: its length is
    /// atomic, its base changes only through `&mut self`).
    pub fn definition(&self) -> *mut VMMemoryDefinition {
        (&raw const self.def).cast_mut()
    }

    /// Whether this is a shared memory.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Counts one more handle on a shared memory (a `SharedMemory`, or a
    /// store importing it): while there is one, other threads may reach it.
    pub fn hold(&self) {
        if let Some(s) = &self.shared {
            s.reach.fetch_add(1, Relaxed);
        }
    }

    /// Counts one handle [`hold`](Self::hold) counted fewer.
    pub fn release(&self) {
        if let Some(s) = &self.shared {
            s.reach.fetch_sub(1, Relaxed);
        }
    }

    /// First byte of the memory (fixed for a shared memory).
    pub fn base(&self) -> *mut u8 {
        self.def.base
    }

    /// Current size in bytes.
    pub fn byte_size(&self) -> usize {
        self.def.length.load(Acquire)
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.byte_size() as u64 >> self.ty.page_size_log2
    }

    /// The memory's type as import matching sees it: the current size as
    /// minimum, the declared maximum, index type and page size.
    pub fn ty(&self) -> MemoryType {
        MemoryType {
            minimum: self.pages(),
            ..self.ty
        }
    }

    /// The largest size in pages this memory may grow to.
    pub fn maximum_pages(&self) -> u64 {
        self.maximum_pages
    }

    /// The accessible bytes. Only for a memory no other thread uses: an
    /// unshared one, or a shared one before it is shared (its bytes are
    /// otherwise reached through [`base`](Self::base), as cells).
    pub fn data(&self) -> &[u8] {
        debug_assert!(self.shared.is_none(), "a shared memory has no slice view");
        let len = self.byte_size();
        if len == 0 {
            return &[];
        }
        // SAFETY: [base, base + length) is mapped read-write and owned by self.
        unsafe { std::slice::from_raw_parts(self.def.base, len) }
    }

    /// The accessible bytes, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let len = self.byte_size();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: [base, base + length) is mapped read-write and owned by self.
        unsafe { std::slice::from_raw_parts_mut(self.def.base, len) }
    }

    /// Grows by `delta` pages. Returns the old size in pages, or `None` when
    /// the memory cannot grow that far (the state is then unchanged).
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        if self.shared.is_some() {
            return self.grow_shared(delta);
        }
        self.grow_unshared(delta)
    }

    /// [`grow`](Self::grow) of a shared memory, through a shared reference:
    /// in place, under its lock. `None` for an unshared memory (which may
    /// move, so grows only through `&mut`).
    pub fn grow_shared(&self, delta: u64) -> Option<u64> {
        let shared = self.shared.as_ref()?;
        let _growing = lock(&shared.grow);
        // Its reservation holds its maximum (`new`): it never needs more.
        match self.grow_in_place(delta) {
            Growth::Grown(old_pages) => Some(old_pages),
            Growth::Refused | Growth::PastReservation { .. } => None,
        }
    }

    /// Grows by `delta` pages within the reservation, making the new host
    /// pages accessible: the old size, or why not (too large, or it needs
    /// a larger reservation). Through `&self`: the base never changes here,
    /// and the pages it opens are not yet used by anyone.
    fn grow_in_place(&self, delta: u64) -> Growth {
        let old_pages = self.pages();
        let Some(new_pages) = old_pages
            .checked_add(delta)
            .filter(|&p| p <= self.maximum_pages)
        else {
            return Growth::Refused;
        };
        if delta == 0 {
            return Growth::Grown(old_pages);
        }
        let old_len = self.byte_size();
        // At most the index type's range, which fits in 64 bits.
        let Some(new_len) = usize::try_from(new_pages << self.ty.page_size_log2)
            .ok()
            .filter(|&l| l <= usize::MAX - 2 * host_page())
        else {
            return Growth::Refused;
        };
        let (old_host, new_host) = (host_pages(old_len), host_pages(new_len));
        if new_host > self.reserved {
            return Growth::PastReservation {
                old_pages,
                old_len,
                new_len,
            };
        }
        if new_host > old_host {
            // SAFETY: [base + old_host, base + new_host) is inside the
            // reservation and not yet accessible: no thread uses it.
            let rc = unsafe {
                libc::mprotect(
                    self.def.base.add(old_host) as *mut libc::c_void,
                    new_host - old_host,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if rc != 0 {
                return Growth::Refused;
            }
        }
        // Bytes past the old length in a host page it shared were never
        // writable by Wasm or the host: still zero.
        self.def.length.store(new_len, Release);
        Growth::Grown(old_pages)
    }

    /// `memory.atomic.notify` at `addr` (checked in bounds and aligned):
    /// wakes up to `count` of the threads waiting there, in the order they
    /// began, and returns how many. An unshared memory has no waiters.
    pub fn atomic_notify(&self, addr: u64, count: u32) -> u32 {
        let Some(shared) = &self.shared else {
            return 0;
        };
        let mut queues = lock(&shared.parking.queues);
        let Some(queue) = queues.get_mut(&addr) else {
            return 0;
        };
        let mut woken = 0;
        while woken < count {
            let Some(waiter) = queue.pop_front() else {
                break;
            };
            waiter.woken.store(true, Relaxed);
            waiter.wake.notify_one();
            woken += 1;
        }
        if queue.is_empty() {
            queues.remove(&addr);
        }
        woken
    }

    /// `memory.atomic.wait32/64` (`size` 4 or 8) at `addr`, checked in
    /// bounds and aligned, of a shared memory: `Mismatch` unless the value
    /// there is `expected`, else sleeps until a notify at `addr` or
    /// `deadline`. Every few milliseconds it asks `interrupted`, whose
    /// error ends the wait. `own`: how many of the memory's holds
    /// ([`hold`](Self::hold)) are the waiter's own (its store's import, or
    /// the host's handle it waits through), which cannot notify while it
    /// waits.
    pub fn atomic_wait<E>(
        &self,
        addr: u64,
        expected: u64,
        size: u32,
        deadline: Option<Instant>,
        own: usize,
        mut interrupted: impl FnMut() -> Result<(), E>,
    ) -> Result<WaitOutcome, WaitError<E>> {
        let Some(shared) = &self.shared else {
            return Err(WaitError::Unshared);
        };
        if !matches!(size, 4 | 8) || !addr.is_multiple_of(size as u64) {
            return Err(WaitError::Misaligned);
        }
        let len = self.byte_size() as u64;
        if addr.checked_add(size as u64).is_none_or(|end| end > len) {
            return Err(WaitError::OutOfBounds);
        }
        let at = self.def.base.wrapping_add(addr as usize);
        let waiter = Arc::new(Waiter::default());
        let parking = &shared.parking;
        let mut queues = lock(&parking.queues);
        // Read under the parking lock: a notify after the store that made
        // the value differ cannot slip between this read and the wait.
        // SAFETY: [at, at + size) is inside the accessible memory, which
        // never shrinks, and aligned to `size` (both checked above).
        let current = unsafe {
            if size == 4 {
                u64::from(std::sync::atomic::AtomicU32::from_ptr(at.cast()).load(SeqCst))
            } else {
                std::sync::atomic::AtomicU64::from_ptr(at.cast()).load(SeqCst)
            }
        };
        if current != expected {
            return Ok(WaitOutcome::Mismatch);
        }
        if deadline.is_none() && shared.reach.load(Relaxed) <= own {
            return Err(WaitError::Forever);
        }
        queues.entry(addr).or_default().push_back(waiter.clone());
        loop {
            if waiter.woken.load(Relaxed) {
                return Ok(WaitOutcome::Woken);
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                unqueue(&mut queues, addr, &waiter);
                return Ok(WaitOutcome::TimedOut);
            }
            // In slices, so that an interruption (the epoch deadline) ends
            // a long wait.
            let slice = deadline.map_or(WAIT_SLICE, |d| (d - now).min(WAIT_SLICE));
            queues = waiter
                .wake
                .wait_timeout(queues, slice)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if waiter.woken.load(Relaxed) {
                return Ok(WaitOutcome::Woken);
            }
            drop(queues);
            let stop = {
                // Should the hook panic, the waiter leaves the queue (a
                // notify would otherwise count it as woken).
                let _leave_on_panic = LeaveOnPanic {
                    parking,
                    addr,
                    waiter: &waiter,
                };
                interrupted()
            };
            queues = lock(&parking.queues);
            // A notify that came meanwhile counted this waiter: it is woken,
            // whatever the hook said (the next check interrupts).
            if waiter.woken.load(Relaxed) {
                return Ok(WaitOutcome::Woken);
            }
            if let Err(e) = stop {
                unqueue(&mut queues, addr, &waiter);
                return Err(WaitError::Interrupted(e));
            }
        }
    }

    fn grow_unshared(&mut self, delta: u64) -> Option<u64> {
        let (old_pages, old_len, new_len) = match self.grow_in_place(delta) {
            Growth::Grown(old_pages) => return Some(old_pages),
            Growth::Refused => return None,
            Growth::PastReservation {
                old_pages,
                old_len,
                new_len,
            } => (old_pages, old_len, new_len),
        };
        let old_host = host_pages(old_len);
        // Explicit style only: move to a larger reservation, if it may.
        debug_assert_eq!(self.style, MemoryStyle::Explicit);
        if !self.reservation.may_move {
            return None;
        }
        let max_len = byte_len(self.maximum_pages, self.ty.page_size_log2);
        let wanted = match self.reservation.for_growth {
            Some(growth) => plus(new_len, growth),
            None => new_len.saturating_mul(2),
        };
        let reserve = host_pages(
            wanted
                .min(max_len)
                .max(new_len)
                .min(usize::MAX - 2 * host_page()),
        );
        if old_host > 0 && self.remap(old_host, reserve) {
            self.def.length.store(new_len, Release);
            return Some(old_pages);
        }
        let (old_mapping, old_mapping_len, old_base) =
            (self.mapping, self.mapping_len, self.def.base);
        if self.map(reserve, host_page(), new_len).is_err() {
            return None;
        }
        // SAFETY: both ranges are mapped and distinct; the old one is then released.
        unsafe {
            std::ptr::copy_nonoverlapping(old_base, self.def.base, old_len);
            libc::munmap(old_mapping as *mut libc::c_void, old_mapping_len);
        }
        Some(old_pages)
    }
}

impl LinearMemory {
    /// Moves the accessible part of an explicitly checked memory to a
    /// read-write region of `reserve` bytes with `mremap`, which moves page
    /// tables instead of copying bytes (and so touches no untouched page).
    /// Explicit checks need no guard pages, so the new mapping has none.
    /// `false` (nothing changed) when the kernel cannot, e.g. when part of
    /// the memory is a file mapping (a memory image).
    fn remap(&mut self, old_len: usize, reserve: usize) -> bool {
        let (old_mapping, old_mapping_len, old_base) =
            (self.mapping, self.mapping_len, self.def.base);
        // SAFETY: [old_base, old_base + old_len) is this memory's read-write
        // part; MREMAP_MAYMOVE moves it to fresh address space of `reserve`
        // bytes (the extension zero-filled and read-write) or fails leaving
        // it untouched.
        let new = unsafe {
            libc::mremap(
                old_base as *mut libc::c_void,
                old_len,
                reserve,
                libc::MREMAP_MAYMOVE,
            )
        };
        if new == libc::MAP_FAILED {
            return false;
        }
        let new = new as *mut u8;
        if new == old_base {
            // Grown in place: the mapping still starts with its guard page.
            self.mapping_len =
                old_mapping_len.max(old_base as usize - old_mapping as usize + reserve);
        } else {
            // The guard page before it and the reservation after it stay
            // behind: release them.
            let tail = old_base.wrapping_add(old_len);
            let tail_len = (old_mapping as usize + old_mapping_len) - tail as usize;
            // SAFETY: both ranges belong to the old mapping, which nothing
            // uses any more (the accessible part moved away).
            unsafe {
                libc::munmap(
                    old_mapping as *mut libc::c_void,
                    old_base as usize - old_mapping as usize,
                );
                if tail_len > 0 {
                    libc::munmap(tail as *mut libc::c_void, tail_len);
                }
            }
            self.mapping = new;
            self.mapping_len = reserve;
        }
        self.def.base = new;
        self.reserved = reserve;
        true
    }
}

/// The initial contents of a module's memory 0, in a memory file that
/// instances map copy-on-write: instantiating copies no data, and untouched
/// pages are shared between instances.
#[derive(Debug)]
pub struct MemoryImage {
    fd: std::os::fd::OwnedFd,
    len: usize,
}

impl MemoryImage {
    /// An image of `len` bytes (a multiple of the host page size) with
    /// `segments` (offset, bytes) written in order.
    pub fn new(len: usize, segments: &[(usize, &[u8])]) -> Result<MemoryImage, String> {
        use std::os::fd::FromRawFd;
        debug_assert_eq!(len % host_page(), 0);
        // SAFETY: memfd_create with a static name has no preconditions; the
        // returned descriptor is owned from here on.
        let fd =
            unsafe { libc::memfd_create(c"wasm-jit-memory-image".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err("cannot create a memory image".into());
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let file = std::fs::File::from(fd);
        file.set_len(len as u64).map_err(|e| e.to_string())?;
        for (offset, bytes) in segments {
            std::os::unix::fs::FileExt::write_all_at(&file, bytes, *offset as u64)
                .map_err(|e| e.to_string())?;
        }
        Ok(MemoryImage {
            fd: std::os::fd::OwnedFd::from(file),
            len,
        })
    }

    /// Size of the image in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the image is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl LinearMemory {
    /// Maps `image` copy-on-write over the start of this memory, which must
    /// be at least as large and not yet written.
    pub fn map_image(&mut self, image: &MemoryImage) -> Result<(), String> {
        use std::os::fd::AsRawFd;
        if image.len > self.byte_size() {
            return Err("memory image larger than the memory".into());
        }
        // SAFETY: [base, base + image.len) lies inside this memory's
        // accessible region, which this memory owns; MAP_FIXED replaces
        // those pages with a private (copy-on-write) view of the image.
        let p = unsafe {
            libc::mmap(
                self.def.base as *mut libc::c_void,
                image.len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                image.fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err("cannot map the memory image".into());
        }
        Ok(())
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        if !self.mapping.is_null() {
            // A guarded memory's reservation is as `map` made it: what
            // follows its accessible pages was never accessible. (An
            // explicitly checked memory may have been moved by `remap`,
            // which leaves read-write pages behind; it is not kept.)
            let guarded = matches!(self.style, MemoryStyle::Guarded { .. });
            let used =
                (self.def.base as usize - self.mapping as usize) + host_pages(self.byte_size());
            let used = used.min(self.mapping_len);
            // SAFETY: the mapping is owned by self and no longer used; it is
            // either kept by the pool (which then owns it) or unmapped.
            unsafe {
                if !(guarded && pool::give(self.mapping, self.mapping_len, used)) {
                    pool::hint(self.mapping, self.mapping_len);
                    libc::munmap(self.mapping as *mut libc::c_void, self.mapping_len);
                }
            }
        }
    }
}

/// Reservations of dropped memories, kept mapped (all `PROT_NONE`, their
/// contents discarded) and handed to the next memory that needs one of the
/// same size. Creating and dropping a memory then costs a `mprotect` of its
/// accessible pages and one `mmap` over them, instead of mapping and
/// unmapping gigabytes of address space; under qemu-user (the aarch64
/// tests), where every fresh mapping costs bookkeeping per 4 KiB page, that
/// is the difference between 0.04 s and nothing per instance.
mod pool {
    use std::sync::Mutex;

    /// At most this many reservations are kept (a few hundred GiB of
    /// address space, no memory).
    const KEEP: usize = 32;

    /// `(start, len)` of each kept reservation.
    static KEPT: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

    /// `(start, len)` of reservations unmapped because the pool was full:
    /// their addresses are offered to the kernel as hints for the next
    /// fresh ones, so a process that holds many memories at once still
    /// reuses a few address ranges (qemu-user keeps bookkeeping for every
    /// range a process ever mapped: 37 MB per fresh 6 GiB one).
    static HINTS: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

    /// At most this many hints are remembered (the newest).
    const HINTS_KEPT: usize = 256;

    fn kept() -> std::sync::MutexGuard<'static, Vec<(usize, usize)>> {
        KEPT.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn hints() -> std::sync::MutexGuard<'static, Vec<(usize, usize)>> {
        HINTS.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A kept reservation of exactly `len` bytes (mapped, `PROT_NONE`,
    /// zero-filled, and now the caller's), or else an address to pass as a
    /// hint to `mmap` for a fresh one (null: none).
    pub(super) fn take(len: usize) -> Result<*mut libc::c_void, *mut libc::c_void> {
        {
            let mut kept = kept();
            if let Some(i) = kept.iter().rposition(|&(_, l)| l == len) {
                return Ok(kept.swap_remove(i).0 as *mut libc::c_void);
            }
        }
        let mut hints = hints();
        match hints.iter().rposition(|&(_, l)| l == len) {
            Some(i) => Err(hints.swap_remove(i).0 as *mut libc::c_void),
            None => Err(std::ptr::null_mut()),
        }
    }

    /// Remembers the address of a reservation about to be unmapped.
    pub(super) fn hint(start: *mut u8, len: usize) {
        let mut hints = hints();
        if hints.len() == HINTS_KEPT {
            hints.remove(0);
        }
        hints.push((start as usize, len));
    }

    /// Unmaps every kept reservation; whether there was any.
    pub(super) fn release_all() -> bool {
        let ranges = std::mem::take(&mut *kept());
        for &(start, len) in &ranges {
            // SAFETY: kept reservations belong to the pool alone.
            unsafe { libc::munmap(start as *mut libc::c_void, len) };
        }
        !ranges.is_empty()
    }

    /// Takes back the reservation `[start, start + len)`, of which only the
    /// first `used` bytes were ever accessible or mapped from a memory image.
    /// Returns false when it is not kept (the pool is full, or the reset
    /// failed): the caller unmaps it.
    ///
    /// # Safety
    /// The range must be a whole reservation made by `LinearMemory::map`,
    /// owned by the caller and no longer used by anything.
    pub(super) unsafe fn give(start: *mut u8, len: usize, used: usize) -> bool {
        if kept().len() >= KEEP {
            return false;
        }
        if used > 0 {
            // Replacing the used part with a fresh anonymous PROT_NONE
            // mapping discards its contents (including a copy-on-write
            // image's pages), so the next owner sees zeros.
            // SAFETY: `[start, start + used)` lies inside the caller's
            // reservation (this function's contract), and MAP_FIXED only
            // replaces pages of it.
            let p = unsafe {
                libc::mmap(
                    start as *mut libc::c_void,
                    used,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_NORESERVE | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if p != start as *mut libc::c_void {
                return false;
            }
        }
        let mut kept = kept();
        if kept.len() >= KEEP {
            return false;
        }
        kept.push((start as usize, len));
        true
    }
}
