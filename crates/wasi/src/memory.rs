//! Bounds-checked access to the guest's linear memory.

use std::borrow::Cow;
use std::cell::UnsafeCell;

use crate::types::Errno;

/// A guest address. Arithmetic on it is 64-bit, so a field or element past
/// the end of the 32-bit address space is out of bounds (`EFAULT`) rather
/// than wrapping around to address 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ptr(u64);

impl From<u32> for Ptr {
    fn from(p: u32) -> Ptr {
        Ptr(u64::from(p))
    }
}

impl std::ops::Add<u32> for Ptr {
    type Output = Ptr;
    fn add(self, off: u32) -> Ptr {
        Ptr(self.0 + u64::from(off))
    }
}

impl Ptr {
    /// Element `i` of an array of `size`-byte elements starting here.
    pub(crate) fn index(self, i: u32, size: u32) -> Ptr {
        Ptr(self.0 + u64::from(i) * u64::from(size))
    }

    /// The address as the guest sees it, for storing in guest memory; only
    /// valid for addresses already checked to be inside the memory.
    pub(crate) fn as_u32(self) -> Result<u32, Errno> {
        u32::try_from(self.0).map_err(|_| Errno::FAULT)
    }
}

/// The guest's memory during one WASI call. Every access is checked; an
/// out-of-bounds pointer is `EFAULT` for the guest, never a host fault.
pub(crate) enum GuestMemory<'a> {
    /// A memory only the calling store reaches.
    Own(&'a mut [u8]),
    /// A shared memory, which other threads may change at any time: read
    /// and written by copying, never borrowed as a slice.
    Shared(&'a [UnsafeCell<u8>]),
}

impl GuestMemory<'_> {
    fn len(&self) -> usize {
        match self {
            GuestMemory::Own(b) => b.len(),
            GuestMemory::Shared(c) => c.len(),
        }
    }

    fn range(&self, ptr: impl Into<Ptr>, len: u32) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr.into().0;
        let end = start.checked_add(u64::from(len)).ok_or(Errno::FAULT)?;
        if end > self.len() as u64 {
            return Err(Errno::FAULT);
        }
        Ok(start as usize..end as usize)
    }

    /// `EFAULT` unless `len` bytes at `ptr` are in the memory.
    pub(crate) fn check(&self, ptr: impl Into<Ptr>, len: u32) -> Result<(), Errno> {
        self.range(ptr, len).map(|_| ())
    }

    /// The `len` bytes at `ptr` (a copy, of a shared memory).
    pub(crate) fn slice(&self, ptr: impl Into<Ptr>, len: u32) -> Result<Cow<'_, [u8]>, Errno> {
        let r = self.range(ptr, len)?;
        Ok(match self {
            GuestMemory::Own(b) => Cow::Borrowed(&b[r]),
            GuestMemory::Shared(c) => {
                let mut copy = vec![0; r.len()];
                // SAFETY: `r` is inside the memory; the cells may change
                // meanwhile (a racy read, as Wasm's own would be), and the
                // copy is a fresh buffer.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        UnsafeCell::raw_get(c[r].as_ptr()),
                        copy.as_mut_ptr(),
                        copy.len(),
                    )
                };
                Cow::Owned(copy)
            }
        })
    }

    /// Lets `fill` write into the `len` bytes at `ptr`; it returns how many
    /// it wrote (from the start), which is what this returns. (Of a shared
    /// memory, `fill` writes into a buffer that is then copied in.)
    pub(crate) fn fill(
        &mut self,
        ptr: impl Into<Ptr>,
        len: u32,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let r = self.range(ptr, len)?;
        match self {
            GuestMemory::Own(b) => fill(&mut b[r]),
            GuestMemory::Shared(_) => {
                let mut buf = vec![0; r.len()];
                let n = fill(&mut buf)?.min(buf.len());
                self.write_at(r.start, &buf[..n]);
                Ok(n)
            }
        }
    }

    /// Copies `bytes` in at `at`, which the caller checked.
    fn write_at(&mut self, at: usize, bytes: &[u8]) {
        match self {
            GuestMemory::Own(b) => b[at..at + bytes.len()].copy_from_slice(bytes),
            GuestMemory::Shared(c) => {
                if bytes.is_empty() {
                    return;
                }
                // SAFETY: [at, at + len) is inside the memory (checked by
                // the caller); other threads may use those cells meanwhile
                // (a racy write, as Wasm's own would be).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        UnsafeCell::raw_get(c[at..].as_ptr()),
                        bytes.len(),
                    )
                };
            }
        }
    }

    /// The UTF-8 string of `len` bytes at `ptr`.
    pub(crate) fn str(&self, ptr: impl Into<Ptr>, len: u32) -> Result<Cow<'_, str>, Errno> {
        match self.slice(ptr, len)? {
            Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed),
            Cow::Owned(v) => String::from_utf8(v)
                .map(Cow::Owned)
                .map_err(|e| e.utf8_error()),
        }
        .map_err(|_| Errno::ILSEQ)
    }

    pub(crate) fn read_u32(&self, ptr: impl Into<Ptr>) -> Result<u32, Errno> {
        Ok(u32::from_le_bytes(
            (*self.slice(ptr, 4)?).try_into().unwrap(),
        ))
    }

    pub(crate) fn read_u64(&self, ptr: impl Into<Ptr>) -> Result<u64, Errno> {
        Ok(u64::from_le_bytes(
            (*self.slice(ptr, 8)?).try_into().unwrap(),
        ))
    }

    pub(crate) fn read_u16(&self, ptr: impl Into<Ptr>) -> Result<u16, Errno> {
        Ok(u16::from_le_bytes(
            (*self.slice(ptr, 2)?).try_into().unwrap(),
        ))
    }

    pub(crate) fn read_u8(&self, ptr: impl Into<Ptr>) -> Result<u8, Errno> {
        Ok(self.slice(ptr, 1)?[0])
    }

    pub(crate) fn write(&mut self, ptr: impl Into<Ptr>, bytes: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(bytes.len()).map_err(|_| Errno::FAULT)?;
        let r = self.range(ptr, len)?;
        self.write_at(r.start, bytes);
        Ok(())
    }

    pub(crate) fn write_u8(&mut self, ptr: impl Into<Ptr>, v: u8) -> Result<(), Errno> {
        self.write(ptr, &[v])
    }

    pub(crate) fn write_u16(&mut self, ptr: impl Into<Ptr>, v: u16) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    pub(crate) fn write_u32(&mut self, ptr: impl Into<Ptr>, v: u32) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    pub(crate) fn write_u64(&mut self, ptr: impl Into<Ptr>, v: u64) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// The (pointer, length) pairs of an iovec array. More than
    /// [`IOV_MAX`] entries is `EINVAL`, as for POSIX `readv`/`writev`: the
    /// host allocates nothing for the guest beyond that.
    pub(crate) fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
        if count > IOV_MAX {
            return Err(Errno::INVAL);
        }
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = Ptr::from(ptr).index(i, 8);
            let buf = self.read_u32(at)?;
            let len = self.read_u32(at + 4)?;
            self.range(buf, len)?;
            out.push((buf, len));
        }
        Ok(out)
    }
}

/// Most entries an iovec array may have (Linux's `IOV_MAX`).
pub(crate) const IOV_MAX: u32 = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_do_not_wrap_at_4_gib() {
        let mut bytes = vec![0u8; 64];
        let m = GuestMemory::Own(&mut bytes);
        let top = Ptr::from(u32::MAX - 3);
        assert_eq!(m.read_u32(top + 4), Err(Errno::FAULT));
        assert_eq!(
            m.read_u32(Ptr::from(u32::MAX).index(1, 4)),
            Err(Errno::FAULT)
        );
        assert_eq!(m.read_u32(8u32), Ok(0));
    }
}
