//! Memories shared between threads (the threads proposal), as Wasmtime's
//! `SharedMemory`: one memory that instances in several stores, each run
//! by its own thread, import at once.

use std::cell::UnsafeCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use wasm_jit_backend::{LinearMemory, WaitError, WaitOutcome};

use crate::{Engine, MemoryType, Trap};

/// A shared linear memory. Cloning it shares the same memory; it lives as
/// long as any clone or any instance that imports it. Make one with
/// [`SharedMemory::new`] and import it into instances of any store of the
/// same engine (with [`Linker::define`](crate::Linker::define) or
/// [`Instance::new`](crate::Instance::new)), or take one a module defines
/// with [`Instance::get_shared_memory`](crate::Instance::get_shared_memory).
/// `memory.atomic.wait` in one thread is woken by `memory.atomic.notify`
/// (or [`SharedMemory::atomic_notify`]) in another.
pub struct SharedMemory {
    memory: Arc<LinearMemory>,
    engine: Engine,
}

impl Clone for SharedMemory {
    fn clone(&self) -> Self {
        SharedMemory::from_arc(&self.engine, self.memory.clone())
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        self.memory.release();
    }
}

impl std::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMemory")
            .field("ty", &self.ty())
            .finish_non_exhaustive()
    }
}

/// How [`SharedMemory::atomic_wait32`] and
/// [`atomic_wait64`](SharedMemory::atomic_wait64) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// A notify woke it.
    Ok,
    /// The value was not the expected one: it did not wait.
    Mismatch,
    /// The timeout passed.
    TimedOut,
}

impl SharedMemory {
    /// A new shared memory of type `ty`, which must be shared and have a
    /// maximum.
    pub fn new(engine: &Engine, ty: MemoryType) -> Result<SharedMemory> {
        if !ty.shared {
            bail!("a shared memory needs a shared memory type");
        }
        if ty.maximum.is_none() {
            bail!("a shared memory must have a maximum size");
        }
        let memory = LinearMemory::new(
            &ty,
            engine.memory_style(),
            engine.config().max_memory_pages,
            &engine.reservation(),
        )
        .map_err(|e| anyhow!(e))?;
        Ok(SharedMemory::from_arc(engine, Arc::new(memory)))
    }

    /// A handle on `memory`, through which other stores may reach it (a
    /// wait with no timeout may then be woken: see `LinearMemory::hold`).
    pub(crate) fn from_arc(engine: &Engine, memory: Arc<LinearMemory>) -> SharedMemory {
        memory.hold();
        SharedMemory {
            memory,
            engine: engine.clone(),
        }
    }

    pub(crate) fn memory(&self) -> &Arc<LinearMemory> {
        &self.memory
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The memory's type: current size as minimum, declared maximum.
    pub fn ty(&self) -> MemoryType {
        self.memory.ty()
    }

    /// Current size in pages.
    pub fn size(&self) -> u64 {
        self.memory.pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> usize {
        self.memory.byte_size()
    }

    /// Bytes per page.
    pub fn page_size(&self) -> u64 {
        self.memory.ty().page_size()
    }

    /// Grows by `delta` pages, returning the old size in pages. Other
    /// threads see the new size at once. (No store's limiter is asked: the
    /// memory belongs to none.)
    pub fn grow(&self, delta: u64) -> Result<u64> {
        self.memory
            .grow_shared(delta)
            .ok_or_else(|| anyhow!("failed to grow memory by {delta} pages"))
    }

    /// The memory's bytes. Other threads may change them at any time, so
    /// they are cells: read and write them with raw pointers (or atomics),
    /// as Wasm does.
    pub fn data(&self) -> &[UnsafeCell<u8>] {
        let len = self.memory.byte_size();
        if len == 0 {
            return &[];
        }
        // SAFETY: [base, base + len) is mapped read-write for as long as
        // the memory lives (a shared memory never moves or shrinks), and
        // `UnsafeCell` allows the changes other threads make.
        unsafe { std::slice::from_raw_parts(self.memory.base().cast::<UnsafeCell<u8>>(), len) }
    }

    /// `memory.atomic.notify` from the host: wakes up to `count` threads
    /// waiting at byte `addr`, returning how many it woke. Traps as Wasm's
    /// would: out of bounds, or not 4-byte aligned.
    pub fn atomic_notify(&self, addr: u64, count: u32) -> Result<u32, Trap> {
        self.check(addr, 4)?;
        Ok(self.memory.atomic_notify(addr, count))
    }

    /// `memory.atomic.wait32` from the host: unless the 32-bit value at
    /// `addr` is `expected`, returns [`WaitResult::Mismatch`]; otherwise
    /// blocks this thread until a notify at `addr` or the timeout (none:
    /// forever).
    pub fn atomic_wait32(
        &self,
        addr: u64,
        expected: u32,
        timeout: Option<Duration>,
    ) -> Result<WaitResult, Trap> {
        self.wait(addr, u64::from(expected), 4, timeout)
    }

    /// `memory.atomic.wait64` from the host, as
    /// [`atomic_wait32`](Self::atomic_wait32) for a 64-bit value (8-byte
    /// aligned).
    pub fn atomic_wait64(
        &self,
        addr: u64,
        expected: u64,
        timeout: Option<Duration>,
    ) -> Result<WaitResult, Trap> {
        self.wait(addr, expected, 8, timeout)
    }

    fn check(&self, addr: u64, size: u64) -> Result<(), Trap> {
        if !addr.is_multiple_of(size) {
            return Err(Trap::HeapMisaligned);
        }
        match addr.checked_add(size) {
            Some(end) if end <= self.memory.byte_size() as u64 => Ok(()),
            _ => Err(Trap::MemoryOutOfBounds),
        }
    }

    fn wait(
        &self,
        addr: u64,
        expected: u64,
        size: u32,
        timeout: Option<Duration>,
    ) -> Result<WaitResult, Trap> {
        self.check(addr, size as u64)?;
        // A timeout past what the clock can represent is none.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        match self
            .memory
            // (The host's own handle is counted as a hold that may notify:
            // the embedder decides what its threads do.)
            .atomic_wait(addr, expected, size, deadline, 0, || Ok::<(), ()>(()))
        {
            Ok(WaitOutcome::Woken) => Ok(WaitResult::Ok),
            Ok(WaitOutcome::Mismatch) => Ok(WaitResult::Mismatch),
            Ok(WaitOutcome::TimedOut) => Ok(WaitResult::TimedOut),
            Err(WaitError::OutOfBounds) => Err(Trap::MemoryOutOfBounds),
            Err(WaitError::Misaligned) => Err(Trap::HeapMisaligned),
            Err(WaitError::Unshared) => Err(Trap::AtomicWaitNonSharedMemory),
            // Neither happens: this handle holds the memory (so it can be
            // woken), and nothing interrupts the host's wait.
            Err(WaitError::Forever | WaitError::Interrupted(())) => Ok(WaitResult::TimedOut),
        }
    }
}
