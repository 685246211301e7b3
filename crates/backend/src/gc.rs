//! The GC heap: where a store's structs and arrays live.
//!
//! Objects are laid out as `vmoffsets::gc` describes (a 16-byte header,
//! then fields or elements) and allocated zeroed, 16-byte aligned, by bump
//! allocation in 1 MiB chunks (a large array gets a chunk of its own).
//! Compiled code bumps the cursor (`next`, `end`) itself while the object
//! fits in the current chunk and calls the `gc_alloc` builtin, which comes
//! here, when it does not. Chunks come zeroed from the allocator and no
//! byte is handed out twice, so objects need no clearing. The
//! collector is a null collector, like Wasmtime's `Collector::Null`: an
//! object lives as long as its store, nothing is ever freed before, and a
//! store that allocates more than its GC heap's limit traps with
//! `allocation size too large` instead of growing without end. No object
//! ever moves, so compiled code keeps plain addresses.

use std::alloc::Layout;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use wasm_jit_frontend::vmoffsets::gc;

use crate::module::TypeRegistry;
use crate::vm::HostError;

/// Bytes of one ordinary chunk.
const CHUNK: usize = 1 << 20;

/// Default most bytes a store's objects may take in all.
pub const DEFAULT_GC_HEAP_LIMIT: usize = 1 << 30;

/// A store's GC heap.
#[derive(Debug)]
#[repr(C)]
pub struct GcHeap {
    /// Where the next object of the current chunk goes: compiled code
    /// reads and bumps it (`vmoffsets::limits::GC_NEXT`), on the thread
    /// running the store, as the runtime does here.
    pub next: AtomicUsize,
    /// The end of the current chunk (`vmoffsets::limits::GC_END`).
    pub end: AtomicUsize,
    inner: Mutex<Chunks>,
    /// Most bytes chunks may take.
    limit: usize,
    /// The engine's types, for casts to types with subtypes.
    pub types: Arc<TypeRegistry>,
}

#[derive(Debug)]
struct Chunks {
    /// Every chunk (address and layout), freed when the heap is dropped.
    chunks: Vec<(*mut u8, Layout)>,
    /// Bytes taken by chunks.
    used: usize,
}

// SAFETY: the chunk pointers are owned allocations, reached only under the
// mutex (and by compiled code of the owning store, one thread at a time).
unsafe impl Send for Chunks {}

impl GcHeap {
    /// An empty heap of at most `limit` bytes.
    pub fn new(types: Arc<TypeRegistry>, limit: usize) -> GcHeap {
        GcHeap {
            next: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            inner: Mutex::new(Chunks {
                chunks: Vec::new(),
                used: 0,
            }),
            limit,
            types,
        }
    }

    /// Most bytes the heap may hold.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes of memory the heap holds.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).used
    }

    /// A zeroed object of `size` bytes (header included) with its header
    /// filled: canonical type `type_id`, `kind`, and `len` (arrays). `None`
    /// when it does not fit in the heap's limit or memory, or `allow` (asked
    /// with the heap's current and wanted size in bytes before it takes
    /// more memory) refuses; `allow`'s error is passed on, as is `failed`'s
    /// (told when memory it allowed cannot be had).
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
        else {
            return Ok(None);
        };
        // (`allow` must not call back into the heap: the lock is held.)
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (next, end) = (self.next.load(Relaxed), self.end.load(Relaxed));
        let p = if size <= end - next {
            self.next.store(next + size, Relaxed);
            next as *mut u8
        } else {
            let big = size > CHUNK / 4;
            let chunk = if big { size } else { CHUNK };
            let Some(wanted) = c.used.checked_add(chunk).filter(|&w| w <= self.limit) else {
                return Ok(None);
            };
            let Ok(layout) = Layout::from_size_align(chunk, 16) else {
                return Ok(None);
            };
            if !allow(c.used, wanted)? {
                return Ok(None);
            }
            // SAFETY: `layout` has a non-zero size (objects have a header).
            let p = unsafe { std::alloc::alloc_zeroed(layout) };
            if p.is_null() {
                failed(format!("cannot provide {chunk} bytes of GC heap"))?;
                return Ok(None);
            }
            c.chunks.push((p, layout));
            c.used += chunk;
            if !big {
                self.next.store(p as usize + size, Relaxed);
                self.end.store(p as usize + chunk, Relaxed);
            }
            p
        };
        // SAFETY: `p` starts `size` (at least 16) fresh bytes of a chunk,
        // 16-byte aligned; the header fields are within them.
        unsafe {
            p.add(gc::TYPE_ID as usize).cast::<u32>().write(type_id);
            p.add(gc::KIND as usize).cast::<u32>().write(kind);
            p.add(gc::LENGTH as usize).cast::<u32>().write(len);
        }
        Ok(Some(p))
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        let c = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        for &(p, layout) in &c.chunks {
            // SAFETY: allocated in `alloc` with this layout, freed once.
            unsafe { std::alloc::dealloc(p, layout) };
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_zeroed_aligned_objects_and_stops_at_the_limit() {
        let heap = GcHeap::new(Arc::new(TypeRegistry::default()), 2 * CHUNK);
        let alloc = |size, allowed: bool| {
            heap.alloc(size, 9, gc::KIND_ARRAY, 1, |_, _| Ok(allowed), |_| Ok(()))
                .unwrap()
        };
        let a = heap
            .alloc(24, 7, gc::KIND_STRUCT, 0, |_, _| Ok(true), |_| Ok(()))
            .unwrap()
            .unwrap();
        let b = alloc(16, true).unwrap();
        assert_eq!(a as usize % 16, 0);
        assert_eq!(b as usize - a as usize, 32);
        // SAFETY: `a` is a live 32-byte object.
        unsafe {
            assert_eq!(*a.cast::<u32>(), 7);
            assert_eq!(*a.add(16).cast::<u64>(), 0);
        }
        // A large array gets its own chunk, if the embedder allows; past
        // the limit, nothing.
        assert!(alloc(2 * CHUNK as u64, true).is_none());
        assert!(alloc(CHUNK as u64, false).is_none());
        assert!(alloc(CHUNK as u64, true).is_some());
        assert_eq!(heap.bytes(), 2 * CHUNK);
        assert!(alloc(u64::MAX, true).is_none());
        // Small objects still fit in the current chunk without asking.
        assert!(alloc(16, false).is_some());
    }
}
