//! Standard streams the host supplies instead of its own: the guest's stdin
//! read from memory, its stdout or stderr captured in memory (Wasmtime's
//! `wasmtime_wasi::p2::pipe` names), or any stream of the host's through
//! [`StdinStream`] / [`StdoutStream`].
//!
//! ```
//! use wasm_jit_wasi::WasiCtxBuilder;
//! use wasm_jit_wasi::pipe::{MemoryInputPipe, MemoryOutputPipe};
//!
//! let stdout = MemoryOutputPipe::new(1 << 20);
//! let wasi = WasiCtxBuilder::new()
//!     .stdin(MemoryInputPipe::new("input"))
//!     .stdout(stdout.clone())
//!     .build();
//! // ... run the guest with `wasi`, then:
//! let printed: Vec<u8> = stdout.contents();
//! # drop((wasi, printed));
//! ```

use std::io;
use std::sync::{Arc, Mutex};

/// A guest's standard input supplied by the host.
pub trait StdinStream: Send + Sync {
    /// Reads into `buf`, at most its length; `Ok(0)` is the end of input.
    /// May block (the guest waits in `fd_read`).
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;

    /// How many bytes a read would return now without blocking (for
    /// `poll_oneoff`).
    fn ready(&self) -> u64;
}

/// A guest's standard output or error supplied by the host.
pub trait StdoutStream: Send + Sync {
    /// Writes all of `data` (one guest `fd_write`), or fails (the guest
    /// sees `EIO`).
    fn write(&self, data: &[u8]) -> io::Result<()>;
}

/// Standard input read from bytes in memory; clones share the position.
#[derive(Clone, Debug)]
pub struct MemoryInputPipe {
    inner: Arc<Mutex<io::Cursor<Vec<u8>>>>,
}

impl MemoryInputPipe {
    /// A stream that reads `bytes`, then ends.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        MemoryInputPipe {
            inner: Arc::new(Mutex::new(io::Cursor::new(bytes.into()))),
        }
    }
}

impl StdinStream for MemoryInputPipe {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        io::Read::read(&mut *lock(&self.inner), buf)
    }

    fn ready(&self) -> u64 {
        let c = lock(&self.inner);
        (c.get_ref().len() as u64).saturating_sub(c.position())
    }
}

/// Standard output or error captured in memory, up to a capacity; clones
/// share the buffer, so the host keeps one to read what the guest wrote.
#[derive(Clone, Debug)]
pub struct MemoryOutputPipe {
    capacity: usize,
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl MemoryOutputPipe {
    /// An empty pipe holding at most `capacity` bytes: a guest write that
    /// would go past it fails (`EIO`) and writes nothing, as in Wasmtime.
    pub fn new(capacity: usize) -> Self {
        MemoryOutputPipe {
            capacity,
            buffer: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// What the guest wrote so far.
    pub fn contents(&self) -> Vec<u8> {
        lock(&self.buffer).clone()
    }

    /// What the guest wrote, when this is the last clone of the pipe (the
    /// contexts built with it are gone); `None` otherwise.
    pub fn try_into_inner(self) -> Option<Vec<u8>> {
        Arc::try_unwrap(self.buffer)
            .ok()
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}

impl StdoutStream for MemoryOutputPipe {
    fn write(&self, data: &[u8]) -> io::Result<()> {
        let mut b = lock(&self.buffer);
        if data.len() > self.capacity.saturating_sub(b.len()) {
            return Err(io::Error::other(format!(
                "write beyond capacity of MemoryOutputPipe ({} bytes)",
                self.capacity
            )));
        }
        b.extend_from_slice(data);
        Ok(())
    }
}

/// A lock that a panicking holder did not poison for the rest (the data
/// is bytes, valid in any state).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The streams a context's descriptors 0, 1 and 2 use when the host
/// supplied them (`None`: the host's own, or empty when not inherited).
#[derive(Clone, Default)]
pub(crate) struct Pipes {
    pub(crate) stdin: Option<Arc<dyn StdinStream>>,
    pub(crate) stdout: Option<Arc<dyn StdoutStream>>,
    pub(crate) stderr: Option<Arc<dyn StdoutStream>>,
}
