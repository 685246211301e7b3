//! The GC heap: where a store's structs and arrays live.
//!
//! Objects are laid out as `vmoffsets::gc` describes (a 16-byte header,
//! then fields or elements) and allocated zeroed, 16-byte aligned, by bump
//! allocation. Compiled code bumps the cursor (`next`, `end`) itself while
//! the object fits and calls the `gc_alloc` builtin, which comes here, when
//! it does not. The heap maps address space in regions of 64 MiB, untouched
//! until used (the kernel hands out zeroed pages as objects are written,
//! huge pages where it can once the heap is past a few MiB), and moves `end` through a region 1 MiB at a
//! time, each step asked of the embedder's limiter like a memory growing;
//! a large array gets a mapping of its own. No byte is handed out twice, so
//! objects need no clearing. The collector is a null collector, like
//! Wasmtime's `Collector::Null`: an object lives as long as its store,
//! nothing is ever freed before, and a store whose objects fill its GC
//! heap's limit (or whose limiter refuses more) gets a [`HeapFull`] error
//! instead of growing without end; one object larger than the limit itself
//! traps with `allocation size too large`. No object ever moves, so
//! compiled code keeps plain addresses.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use memmap2::{MmapMut, MmapOptions};
use wasm_jit_frontend::vmoffsets::gc;

use crate::module::TypeRegistry;
use crate::vm::HostError;

/// Bytes the cursor's end moves by: the unit the limiter is asked for.
const STEP: usize = 1 << 20;

/// Bytes of address space one region maps.
const REGION: usize = 64 << 20;

/// Objects larger than this get a mapping of their own.
const BIG: usize = STEP / 4;

/// The unit a large array's own mapping is charged in.
const BIG_UNIT: usize = 64 << 10;

/// Default most bytes a store's objects may take in all.
pub const DEFAULT_GC_HEAP_LIMIT: usize = 1 << 30;

/// The error (a [`HostError`] payload) of an allocation that would fit an
/// empty heap but not this one: its objects fill the heap's limit, the
/// embedder's limiter refused more, or the memory could not be had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapFull {
    /// Bytes the allocation needed.
    pub bytes: u64,
    /// The heap's limit in bytes.
    pub limit: usize,
    /// Why there is no room.
    pub cause: FullCause,
}

/// Why a [`HeapFull`] heap had no room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullCause {
    /// The heap's objects fill its limit.
    Limit,
    /// The embedder's limiter refused the heap more memory.
    Refused,
    /// The memory could not be mapped.
    NoMemory,
}

/// A store's GC heap.
#[derive(Debug)]
#[repr(C)]
pub struct GcHeap {
    /// Where the next object goes: compiled code reads and bumps it
    /// (`vmoffsets::limits::GC_NEXT`), on the thread running the store, as
    /// the runtime does here.
    pub next: AtomicUsize,
    /// Where the bytes the limiter allowed end (`vmoffsets::limits::GC_END`).
    pub end: AtomicUsize,
    inner: Mutex<Mappings>,
    /// Most bytes the heap may take.
    limit: usize,
    /// The engine's types, for casts to types with subtypes.
    pub types: Arc<TypeRegistry>,
}

#[derive(Debug, Default)]
struct Mappings {
    /// Every mapping (regions and large arrays), unmapped when the heap is
    /// dropped; the last region is the one `next` and `end` move through.
    maps: Vec<MmapMut>,
    /// End of the current region's mapping (0 before the first).
    region_end: usize,
    /// Bytes the limiter allowed: steps of regions and large arrays.
    used: usize,
}

/// Bytes a heap holds before it asks for huge pages: a store with a few
/// objects keeps to small pages (a huge page would be 2 MiB of memory for
/// each such store).
const SMALL_HEAP: usize = 4 << 20;

/// An anonymous mapping of `len` bytes, zeroed, backed by memory only as
/// it is touched, and by huge pages where the kernel has them from byte
/// `huge_from` on.
fn map(len: usize, huge_from: usize) -> std::io::Result<MmapMut> {
    let m = MmapOptions::new().len(len).no_reserve_swap().map_anon()?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if len >= huge_from + (2 << 20) {
        // Only advice: without huge pages the mapping works the same.
        let _ = m.advise_range(memmap2::Advice::HugePage, huge_from, len - huge_from);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = huge_from;
    Ok(m)
}

impl GcHeap {
    /// An empty heap of at most `limit` bytes.
    pub fn new(types: Arc<TypeRegistry>, limit: usize) -> GcHeap {
        GcHeap {
            next: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            inner: Mutex::new(Mappings::default()),
            limit,
            types,
        }
    }

    /// Most bytes the heap may hold.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes of memory the limiter allowed the heap.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).used
    }

    /// A zeroed object of `size` bytes (header included) with its header
    /// filled: canonical type `type_id`, `kind`, and `len` (arrays). `None`
    /// when it is larger than the heap's limit; a [`HeapFull`] error when
    /// it does not fit in what is left of the limit or of memory, or
    /// `allow` (asked with the heap's current and wanted size in bytes
    /// before it takes more memory) refuses; `allow`'s error is passed on,
    /// as is `failed`'s (told when memory it allowed cannot be had).
    pub fn alloc(
        &self,
        size: u64,
        type_id: u32,
        kind: u32,
        len: u32,
        allow: impl FnOnce(usize, usize) -> Result<bool, HostError>,
        failed: impl FnOnce(String) -> Result<(), HostError>,
    ) -> Result<Option<*mut u8>, HostError> {
        let Some(size) = usize::try_from(size)
            .ok()
            .and_then(|s| s.checked_next_multiple_of(16))
            .filter(|&s| s <= self.limit)
        else {
            return Ok(None);
        };
        let full = |cause| -> HostError {
            Box::new(HeapFull {
                bytes: size as u64,
                limit: self.limit,
                cause,
            })
        };
        // (`allow` must not call back into the heap: the lock is held.)
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (next, end) = (self.next.load(Relaxed), self.end.load(Relaxed));
        let p = if size <= end - next {
            self.next.store(next + size, Relaxed);
            next as *mut u8
        } else {
            // A large array's own mapping, or one more step of a region.
            let big = size > BIG;
            // A large array is charged its size in whole 64 KiB (what its
            // mapping takes, as for a memory's pages).
            let grant = if big {
                match size.checked_next_multiple_of(BIG_UNIT) {
                    Some(g) => g,
                    None => return Ok(None),
                }
            } else {
                STEP
            };
            let Some(wanted) = m.used.checked_add(grant).filter(|&w| w <= self.limit) else {
                // (What even an empty heap could not grant is too large.)
                return if grant > self.limit {
                    Ok(None)
                } else {
                    Err(full(FullCause::Limit))
                };
            };
            if !allow(m.used, wanted)? {
                return Err(full(FullCause::Refused));
            }
            let p = if big || end + STEP > m.region_end {
                let len = if big { grant } else { REGION };
                let huge_from = SMALL_HEAP.saturating_sub(m.used);
                let mut mapping = match map(len, huge_from) {
                    Ok(mapping) => mapping,
                    Err(e) => {
                        failed(format!("cannot map {len} bytes of GC heap: {e}"))?;
                        return Err(full(FullCause::NoMemory));
                    }
                };
                let base = mapping.as_mut_ptr();
                m.maps.push(mapping);
                if !big {
                    // The rest of the old region's step is left unused.
                    m.region_end = base as usize + REGION;
                    self.next.store(base as usize + size, Relaxed);
                    self.end.store(base as usize + STEP, Relaxed);
                }
                base
            } else {
                // The region goes on where the cursor's bytes end, so the
                // object starts at the cursor and may span the two steps.
                self.next.store(next + size, Relaxed);
                self.end.store(end + STEP, Relaxed);
                next as *mut u8
            };
            m.used = wanted;
            p
        };
        // SAFETY: `p` starts `size` (at least 16) fresh bytes of a live
        // mapping, 16-byte aligned; the header fields are within them.
        unsafe {
            p.add(gc::TYPE_ID as usize).cast::<u32>().write(type_id);
            p.add(gc::KIND as usize).cast::<u32>().write(kind);
            p.add(gc::LENGTH as usize).cast::<u32>().write(len);
        }
        Ok(Some(p))
    }
}

/// The canonical type id and kind of the object at `addr`.
///
/// # Safety
/// `addr` must be the address of a live object.
pub unsafe fn object_header(addr: usize) -> (u32, u32) {
    let p = addr as *const u8;
    // SAFETY: per the contract, the header is readable.
    unsafe {
        (
            p.add(gc::TYPE_ID as usize).cast::<u32>().read(),
            p.add(gc::KIND as usize).cast::<u32>().read(),
        )
    }
}

/// Copies `into.len()` bytes of the object at `addr` from `offset`: a
/// field or element as it is stored (little-endian, as the ISAs this runs
/// on are).
///
/// # Safety
/// `addr` must be the address of a live object holding a field or element
/// of `into.len()` bytes at `offset`, which nothing writes meanwhile.
pub unsafe fn read_object_bytes(addr: usize, offset: usize, into: &mut [u8]) {
    // SAFETY: per the contract, the bytes are inside the object.
    unsafe {
        std::ptr::copy_nonoverlapping(
            (addr as *const u8).add(offset),
            into.as_mut_ptr(),
            into.len(),
        );
    }
}

/// Copies `from` into the object at `addr` at `offset` (see
/// [`read_object_bytes`]).
///
/// # Safety
/// `addr` must be the address of a live object holding a field or element
/// of `from.len()` bytes at `offset`, which nothing reads or writes
/// meanwhile.
pub unsafe fn write_object_bytes(addr: usize, offset: usize, from: &[u8]) {
    // SAFETY: per the contract, the bytes are inside the object.
    unsafe {
        std::ptr::copy_nonoverlapping(from.as_ptr(), (addr as *mut u8).add(offset), from.len());
    }
}

/// The length of the array at `addr`.
///
/// # Safety
/// `addr` must be the address of a live array.
pub unsafe fn array_length(addr: usize) -> u32 {
    // SAFETY: per the contract, the header is readable.
    unsafe {
        (addr as *const u8)
            .add(gc::LENGTH as usize)
            .cast::<u32>()
            .read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_zeroed_aligned_objects_and_stops_at_the_limit() {
        let heap = GcHeap::new(Arc::new(TypeRegistry::default()), 2 * STEP);
        let alloc = |size, allowed: bool| {
            outcome(heap.alloc(size, 9, gc::KIND_ARRAY, 1, |_, _| Ok(allowed), |_| Ok(())))
        };
        let a = heap
            .alloc(24, 7, gc::KIND_STRUCT, 0, |_, _| Ok(true), |_| Ok(()))
            .unwrap()
            .unwrap();
        let b = alloc(16, true).unwrap().unwrap();
        assert_eq!(a as usize % 16, 0);
        assert_eq!(b as usize - a as usize, 32);
        // SAFETY: `a` is a live 32-byte object.
        unsafe {
            assert_eq!(*a.cast::<u32>(), 7);
            assert_eq!(*a.add(16).cast::<u64>(), 0);
        }
        // A large array gets its own mapping, if the embedder allows; past
        // what is left of the limit, or refused, the heap is full; larger
        // than the limit itself, too large.
        let full = HeapFull {
            bytes: 2 * STEP as u64,
            limit: 2 * STEP,
            cause: FullCause::Limit,
        };
        assert_eq!(alloc(2 * STEP as u64, true), Err(full));
        let full = HeapFull {
            bytes: STEP as u64 - 16,
            limit: 2 * STEP,
            cause: FullCause::Refused,
        };
        assert_eq!(alloc(STEP as u64 - 16, false), Err(full));
        assert!(alloc(STEP as u64 - 16, true).unwrap().is_some());
        assert_eq!(heap.bytes(), 2 * STEP);
        assert_eq!(alloc(2 * STEP as u64 + 16, true), Ok(None));
        assert_eq!(alloc(u64::MAX, true), Ok(None));
        // Small objects still fit in the current step without asking.
        assert!(alloc(16, false).unwrap().is_some());
        // Steps follow each other: objects fill them end to end, and the
        // limit stops the next one.
        let heap = GcHeap::new(Arc::new(TypeRegistry::default()), 2 * STEP);
        let small = alloc_in(&heap, 16).unwrap() as usize;
        let objects: Vec<usize> = (0..4)
            .map(|_| alloc_in(&heap, BIG as u64).unwrap() as usize)
            .collect();
        // The fourth object does not fit in the first step: it starts
        // where the third ends and runs into the second step.
        assert_eq!(objects[3], small + 16 + 3 * BIG);
        assert_eq!(heap.bytes(), 2 * STEP);
        let mut count = 5;
        while alloc_in(&heap, BIG as u64).is_ok() {
            count += 1;
        }
        assert_eq!(count, 2 * STEP / BIG);
        assert_eq!(heap.bytes(), 2 * STEP);

        // A large array is charged its size in 64 KiB units, not steps.
        let heap = GcHeap::new(Arc::new(TypeRegistry::default()), 4 * STEP);
        assert!(alloc_in(&heap, BIG as u64 + 16).is_ok());
        assert_eq!(heap.bytes(), BIG + BIG_UNIT);

        // Past one region the heap maps the next (only headers are
        // written: the rest of each object stays untouched).
        let heap = GcHeap::new(Arc::new(TypeRegistry::default()), 2 * REGION);
        let objects: Vec<usize> = (0..(REGION / BIG + 2))
            .map(|_| alloc_in(&heap, BIG as u64).unwrap() as usize)
            .collect();
        let (first, last) = (objects[0], objects[objects.len() - 1]);
        assert!(last < first || last >= first + REGION, "a second region");
        assert_eq!(heap.bytes(), REGION + STEP);
    }

    /// A struct of `size` bytes (within the limit), or the full heap.
    fn alloc_in(heap: &GcHeap, size: u64) -> Result<*mut u8, HeapFull> {
        outcome(heap.alloc(size, 1, gc::KIND_STRUCT, 0, |_, _| Ok(true), |_| Ok(())))
            .map(|p| p.expect("within the heap's limit"))
    }

    /// An allocation's result with a full heap's error unpacked.
    fn outcome(r: Result<Option<*mut u8>, HostError>) -> Result<Option<*mut u8>, HeapFull> {
        r.map_err(|e| *e.downcast::<HeapFull>().expect("a full heap"))
    }
}
