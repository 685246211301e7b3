//! Bounds-checked access to the guest's linear memory.

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
pub(crate) struct GuestMemory<'a>(pub(crate) &'a mut [u8]);

impl GuestMemory<'_> {
    fn range(&self, ptr: impl Into<Ptr>, len: u32) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr.into().0;
        let end = start.checked_add(u64::from(len)).ok_or(Errno::FAULT)?;
        if end > self.0.len() as u64 {
            return Err(Errno::FAULT);
        }
        Ok(start as usize..end as usize)
    }

    pub(crate) fn slice(&self, ptr: impl Into<Ptr>, len: u32) -> Result<&[u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&self.0[r])
    }

    pub(crate) fn slice_mut(&mut self, ptr: impl Into<Ptr>, len: u32) -> Result<&mut [u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.0[r])
    }

    pub(crate) fn str(&self, ptr: impl Into<Ptr>, len: u32) -> Result<&str, Errno> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::ILSEQ)
    }

    pub(crate) fn read_u32(&self, ptr: impl Into<Ptr>) -> Result<u32, Errno> {
        Ok(u32::from_le_bytes(self.slice(ptr, 4)?.try_into().unwrap()))
    }

    pub(crate) fn read_u64(&self, ptr: impl Into<Ptr>) -> Result<u64, Errno> {
        Ok(u64::from_le_bytes(self.slice(ptr, 8)?.try_into().unwrap()))
    }

    pub(crate) fn read_u16(&self, ptr: impl Into<Ptr>) -> Result<u16, Errno> {
        Ok(u16::from_le_bytes(self.slice(ptr, 2)?.try_into().unwrap()))
    }

    pub(crate) fn read_u8(&self, ptr: impl Into<Ptr>) -> Result<u8, Errno> {
        Ok(self.slice(ptr, 1)?[0])
    }

    pub(crate) fn write(&mut self, ptr: impl Into<Ptr>, bytes: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(bytes.len()).map_err(|_| Errno::FAULT)?;
        self.slice_mut(ptr, len)?.copy_from_slice(bytes);
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
        let m = GuestMemory(&mut bytes);
        let top = Ptr::from(u32::MAX - 3);
        assert_eq!(m.read_u32(top + 4), Err(Errno::FAULT));
        assert_eq!(
            m.read_u32(Ptr::from(u32::MAX).index(1, 4)),
            Err(Errno::FAULT)
        );
        assert_eq!(m.read_u32(8u32), Ok(0));
    }
}
