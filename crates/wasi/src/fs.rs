//! Descriptors, files and paths: the `fd_*` and `path_*` functions.
//!
//! Paths are resolved only through `cap_std::fs::Dir`, which refuses any
//! path (with `..`, an absolute path, or a symlink) that would leave the
//! directory; no path checks are written by hand here.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, FileTypeExt as _, MetadataExt as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, SystemTimeSpec,
};
use cap_std::fs::{Dir, MetadataExt as _, OpenOptions};
use std::os::unix::fs::DirEntryExt as _;

use crate::memory::{GuestMemory, Ptr};
use crate::types::{
    Abi, Errno, LOOKUP_SYMLINK_FOLLOW, fdflags, filetype, fstflags, oflags, rights, whence,
};
use crate::{Descriptor, DirDesc, DirPerms, FileDesc, FilePerms, Rights, State, WasiCtx};

type R = Result<(), Errno>;

fn io(e: std::io::Error) -> Errno {
    Errno::from_io(&e)
}

/// `filestat` fields, in specification order.
struct Filestat {
    dev: u64,
    ino: u64,
    filetype: u8,
    nlink: u64,
    size: u64,
    atim: u64,
    mtim: u64,
    ctim: u64,
}

impl Filestat {
    /// Writes it as `abi` lays it out: preview 1's 64 bytes, or
    /// `wasi_unstable`'s 56 (a 32-bit link count, the fields after it 8
    /// bytes earlier).
    fn write(&self, m: &mut GuestMemory<'_>, at: u32, abi: Abi) -> R {
        let at = Ptr::from(at);
        let after_nlink = match abi {
            Abi::Preview1 => {
                m.write(at, &[0; 64])?;
                m.write_u64(at + 24, self.nlink)?;
                at + 32
            }
            Abi::Preview0 => {
                m.write(at, &[0; 56])?;
                m.write_u32(at + 20, u32::try_from(self.nlink).unwrap_or(u32::MAX))?;
                at + 24
            }
        };
        m.write_u64(at, self.dev)?;
        m.write_u64(at + 8, self.ino)?;
        m.write_u8(at + 16, self.filetype)?;
        m.write_u64(after_nlink, self.size)?;
        m.write_u64(after_nlink + 8, self.atim)?;
        m.write_u64(after_nlink + 16, self.mtim)?;
        m.write_u64(after_nlink + 24, self.ctim)
    }
}

fn ts(sec: i64, nsec: i64) -> u64 {
    (sec.max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsec.max(0) as u64)
}

/// The WASI file type from the host's answers (std's and cap-std's file
/// types and metadata have the same methods, so one macro serves both).
macro_rules! filetype {
    ($t:expr) => {{
        let t = $t;
        if t.is_file() {
            filetype::REGULAR_FILE
        } else if t.is_dir() {
            filetype::DIRECTORY
        } else if t.is_symlink() {
            filetype::SYMBOLIC_LINK
        } else if t.is_char_device() {
            filetype::CHARACTER_DEVICE
        } else if t.is_block_device() {
            filetype::BLOCK_DEVICE
        } else if t.is_socket() {
            filetype::SOCKET_STREAM
        } else {
            filetype::UNKNOWN
        }
    }};
}

macro_rules! filestat {
    ($md:expr) => {{
        let md = $md;
        Filestat {
            dev: md.dev(),
            ino: md.ino(),
            filetype: filetype!(md.file_type()),
            nlink: md.nlink(),
            size: md.len(),
            atim: ts(md.atime(), md.atime_nsec()),
            mtim: ts(md.mtime(), md.mtime_nsec()),
            ctim: ts(md.ctime(), md.ctime_nsec()),
        }
    }};
}

fn std_filetype(t: std::fs::FileType) -> u8 {
    filetype!(t)
}

fn cap_filetype(t: cap_std::fs::FileType) -> u8 {
    use cap_std::fs::FileTypeExt;
    filetype!(t)
}

fn std_stat(md: &std::fs::Metadata) -> Filestat {
    filestat!(md)
}

fn cap_stat(md: &cap_std::fs::Metadata) -> Filestat {
    use cap_std::fs::FileTypeExt;
    filestat!(md)
}

/// The host file behind a standard stream, for `fstat`.
fn stream_stat(d: &Descriptor) -> Result<Filestat, Errno> {
    use std::os::fd::AsFd;
    let fd = match d {
        Descriptor::Stdin => std::io::stdin().as_fd().try_clone_to_owned(),
        Descriptor::Stdout => std::io::stdout().as_fd().try_clone_to_owned(),
        _ => std::io::stderr().as_fd().try_clone_to_owned(),
    }
    .map_err(io)?;
    let md = std::fs::File::from(fd).metadata().map_err(io)?;
    let mut stat = std_stat(&md);
    // A stream is a terminal (a character device) or something unknown,
    // as in Wasmtime, with no size: wasi-libc's `isatty` is true for any
    // character device without seek rights (programs writing to `/dev/null`
    // must not think they talk to a user), and a stream redirected from a
    // file must not look like a file (programs would `pread` or map it,
    // which a stream cannot do).
    stat.filetype = if stream_is_terminal(d) {
        filetype::CHARACTER_DEVICE
    } else {
        filetype::UNKNOWN
    };
    stat.size = 0;
    Ok(stat)
}

/// Whether a standard stream is a terminal.
fn stream_is_terminal(d: &Descriptor) -> bool {
    use std::io::IsTerminal;
    match d {
        Descriptor::Stdin => std::io::stdin().is_terminal(),
        Descriptor::Stdout => std::io::stdout().is_terminal(),
        _ => std::io::stderr().is_terminal(),
    }
}

pub(crate) fn fd_advise(cx: &mut State, fd: u32, offset: u64, len: u64, advice: u32) -> R {
    use crate::types::advice as a;
    use rustix::fs::Advice;
    let f = cx.file(fd)?;
    let advice = match advice as u8 {
        a::NORMAL => Advice::Normal,
        a::SEQUENTIAL => Advice::Sequential,
        a::RANDOM => Advice::Random,
        a::WILLNEED => Advice::WillNeed,
        a::DONTNEED => Advice::DontNeed,
        a::NOREUSE => Advice::NoReuse,
        _ => return Err(Errno::INVAL),
    };
    rustix::fs::fadvise(&f.file, offset, std::num::NonZeroU64::new(len), advice)
        .map_err(|e| Errno::from_host(e.raw_os_error()))
}

pub(crate) fn fd_allocate(cx: &mut State, fd: u32, offset: u64, len: u64) -> R {
    let f = cx.file(fd)?;
    // As posix_fallocate(3): a descriptor not open for writing is EBADF.
    if !f.writable {
        return Err(Errno::BADF);
    }
    let end = offset.checked_add(len).ok_or(Errno::FBIG)?;
    let size = f.file.metadata().map_err(io)?.len();
    if end > size {
        f.file.set_len(end).map_err(io)?;
    }
    Ok(())
}

pub(crate) fn fd_close(cx: &mut State, fd: u32) -> R {
    cx.remove(fd).map(|_| ())
}

pub(crate) fn fd_sync(cx: &mut State, fd: u32, data_only: bool) -> R {
    match cx.get(fd)? {
        Descriptor::File(f) if data_only => f.file.sync_data().map_err(io),
        Descriptor::File(f) => f.file.sync_all().map_err(io),
        Descriptor::Dir(_) => Ok(()),
        _ => Err(Errno::INVAL),
    }
}

pub(crate) fn fd_fdstat_get(cx: &mut State, m: &mut GuestMemory<'_>, fd: u32, out: u32) -> R {
    let r = cx.rights(fd)?;
    let (ftype, flags) = match cx.get(fd)? {
        Descriptor::File(f) => {
            let t = if f.stream {
                filetype::UNKNOWN
            } else {
                std_filetype(f.file.metadata().map_err(io)?.file_type())
            };
            let append = if f.append { fdflags::APPEND } else { 0 };
            (t, append | f.host_fdflags)
        }
        Descriptor::Dir(_) => (filetype::DIRECTORY, 0),
        d if cx.piped(d) => (filetype::UNKNOWN, 0),
        d => {
            let t = stream_stat(d)
                .map(|s| s.filetype)
                .unwrap_or(filetype::UNKNOWN);
            (t, 0)
        }
    };
    let out = Ptr::from(out);
    m.write(out, &[0; 24])?;
    m.write_u8(out, ftype)?;
    m.write_u16(out + 2, flags)?;
    m.write_u64(out + 8, r.base)?;
    m.write_u64(out + 16, r.inheriting)
}

pub(crate) fn fd_fdstat_set_flags(cx: &mut State, fd: u32, flags: u32) -> R {
    let flags = flags as u16;
    let Descriptor::File(f) = cx.get_mut(fd)? else {
        return Err(Errno::NOTSUP);
    };
    if flags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 {
        // Changing synchronisation after opening is not possible on Linux.
        return Err(Errno::NOTSUP);
    }
    // Append mode is kept by us (see `path_open`), not by the host.
    rustix::fs::fcntl_setfl(&f.file, host_oflags(flags))
        .map_err(|e| Errno::from_host(e.raw_os_error()))?;
    f.append = flags & fdflags::APPEND != 0;
    f.host_fdflags = (f.host_fdflags & !fdflags::NONBLOCK) | (flags & fdflags::NONBLOCK);
    Ok(())
}

/// The host open flags for WASI fdflags `SYNC`, `DSYNC`, `RSYNC` and
/// `NONBLOCK` (`APPEND` is ours, see `FileDesc::append`).
fn host_oflags(flags: u16) -> rustix::fs::OFlags {
    use rustix::fs::OFlags;
    let mut of = OFlags::empty();
    for (wasi, host) in [
        (fdflags::SYNC, OFlags::SYNC),
        (fdflags::DSYNC, OFlags::DSYNC),
        (fdflags::RSYNC, OFlags::RSYNC),
        (fdflags::NONBLOCK, OFlags::NONBLOCK),
    ] {
        if flags & wasi != 0 {
            of |= host;
        }
    }
    of
}

/// Rights only ever shrink: asking for one the descriptor lacks is
/// `ENOTCAPABLE`. A file that loses `FD_READ` or `FD_WRITE` can no longer
/// be read or written.
pub(crate) fn fd_fdstat_set_rights(cx: &mut State, fd: u32, base: u64, inheriting: u64) -> R {
    let entry = cx.fds.get_mut(&fd).ok_or(Errno::BADF)?;
    let r = entry.rights;
    if base & !r.base != 0 || inheriting & !r.inheriting != 0 {
        return Err(Errno::NOTCAPABLE);
    }
    entry.rights = Rights { base, inheriting };
    if let Descriptor::File(f) = &mut entry.desc {
        f.readable &= base & rights::FD_READ != 0;
        f.writable &= base & rights::FD_WRITE != 0;
    }
    Ok(())
}

pub(crate) fn fd_filestat_get(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    fd: u32,
    out: u32,
    abi: Abi,
) -> R {
    let stat = match cx.get(fd)? {
        Descriptor::File(f) if f.stream => {
            let mut stat = std_stat(&f.file.metadata().map_err(io)?);
            stat.filetype = filetype::UNKNOWN;
            stat.size = 0;
            stat
        }
        Descriptor::File(f) => std_stat(&f.file.metadata().map_err(io)?),
        Descriptor::Dir(d) => cap_stat(&d.dir.dir_metadata().map_err(io)?),
        // A stream the host supplied has no host file: an unknown thing
        // of no size.
        d if cx.piped(d) => Filestat {
            dev: 0,
            ino: 0,
            filetype: filetype::UNKNOWN,
            nlink: 1,
            size: 0,
            atim: 0,
            mtim: 0,
            ctim: 0,
        },
        d => stream_stat(d)?,
    };
    stat.write(m, out, abi)
}

pub(crate) fn fd_filestat_set_size(cx: &mut State, fd: u32, size: u64) -> R {
    let f = cx.file(fd)?;
    if !f.writable {
        return Err(Errno::BADF);
    }
    f.file.set_len(size).map_err(io)
}

fn time_spec(ns: u64, set: bool, now: bool) -> Result<Option<SystemTimeSpec>, Errno> {
    match (set, now) {
        (true, true) => Err(Errno::INVAL),
        (true, false) => Ok(Some(SystemTimeSpec::Absolute(
            cap_std::time::SystemTime::from_std(UNIX_EPOCH + Duration::from_nanos(ns)),
        ))),
        (false, true) => Ok(Some(SystemTimeSpec::SymbolicNow)),
        (false, false) => Ok(None),
    }
}

fn times(
    atim: u64,
    mtim: u64,
    flags: u32,
) -> Result<(Option<SystemTimeSpec>, Option<SystemTimeSpec>), Errno> {
    let flags = flags as u16;
    Ok((
        time_spec(
            atim,
            flags & fstflags::ATIM != 0,
            flags & fstflags::ATIM_NOW != 0,
        )?,
        time_spec(
            mtim,
            flags & fstflags::MTIM != 0,
            flags & fstflags::MTIM_NOW != 0,
        )?,
    ))
}

fn std_time(t: SystemTimeSpec) -> SystemTime {
    match t {
        SystemTimeSpec::SymbolicNow => SystemTime::now(),
        SystemTimeSpec::Absolute(t) => t.into_std(),
    }
}

pub(crate) fn fd_filestat_set_times(
    cx: &mut State,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u32,
) -> R {
    let (a, mt) = times(atim, mtim, flags)?;
    match cx.get(fd)? {
        Descriptor::File(f) => {
            if !f.mutable {
                return Err(Errno::PERM);
            }
            let mut t = std::fs::FileTimes::new();
            if let Some(a) = a {
                t = t.set_accessed(std_time(a));
            }
            if let Some(mt) = mt {
                t = t.set_modified(std_time(mt));
            }
            f.file.set_times(t).map_err(io)
        }
        Descriptor::Dir(d) if !d.perms.dir.contains(DirPerms::MUTATE) => Err(Errno::PERM),
        Descriptor::Dir(d) => d.dir.set_times(".", a, mt).map_err(io),
        _ => Err(Errno::NOTSUP),
    }
}

/// The file `fd` is, if it may be read (or, with `write`, written):
/// `EISDIR` for a directory, `EBADF` otherwise.
fn accessible(cx: &State, fd: u32, write: bool) -> Result<&FileDesc, Errno> {
    let f = cx.file(fd)?;
    if !(if write { f.writable } else { f.readable }) {
        return Err(Errno::BADF);
    }
    Ok(f)
}

/// The host file of `fd`, to read (or, with `write`, to write) at an
/// offset without holding the context: a stream has no offsets
/// (`ESPIPE`), and the descriptor must allow the access (`accessible`).
fn positioned(cx: &WasiCtx, fd: u32, write: bool) -> Result<std::sync::Arc<std::fs::File>, Errno> {
    let cx = cx.lock();
    match cx.get(fd)? {
        Descriptor::Stdin | Descriptor::Stdout | Descriptor::Stderr => Err(Errno::SPIPE),
        Descriptor::File(f) if f.stream => Err(Errno::SPIPE),
        _ => Ok(accessible(&cx, fd, write)?.file.clone()),
    }
}

pub(crate) fn fd_pread(
    cx: &WasiCtx,
    m: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    n: u32,
    offset: u64,
    out: u32,
) -> R {
    let vecs = m.iovecs(iovs, n)?;
    let file = positioned(cx, fd, false)?;
    let mut total = 0u64;
    for (buf, len) in vecs {
        let at = offset + total;
        let got = m.fill(buf, len, |dst| file.read_at(dst, at).map_err(io))?;
        total += got as u64;
        if got < len as usize {
            break;
        }
    }
    m.write_u32(out, total as u32)
}

pub(crate) fn fd_pwrite(
    cx: &WasiCtx,
    m: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    n: u32,
    offset: u64,
    out: u32,
) -> R {
    let vecs = m.iovecs(iovs, n)?;
    let file = positioned(cx, fd, true)?;
    // In append mode too the data goes at `offset`, as POSIX and the WASI
    // testsuite say (Linux, and so Wasmtime, append instead).
    let mut total = 0u64;
    for (buf, len) in vecs {
        let src = m.slice(buf, len)?;
        file.write_all_at(&src, offset + total).map_err(io)?;
        total += len as u64;
    }
    m.write_u32(out, total as u32)
}

pub(crate) fn fd_read(
    cx: &WasiCtx,
    m: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    n: u32,
    out: u32,
) -> R {
    let vecs = m.iovecs(iovs, n)?;
    let mut total = 0usize;
    let cx = cx.lock();
    // A stream's rights are its own (they may have been narrowed).
    let can_read = cx.rights(fd)?.base & rights::FD_READ != 0;
    if can_read && matches!(cx.get(fd)?, Descriptor::Stdin) {
        let pipe = cx.pipes.stdin.clone();
        // Waiting for input, the context is not held: other threads' calls
        // go on.
        drop(cx);
        // One read per call, like read(2) on a terminal or pipe.
        if let Some(&(buf, len)) = vecs.iter().find(|v| v.1 > 0) {
            total = m.fill(buf, len, |dst| match &pipe {
                Some(p) => p.read(dst).map_err(io),
                None => std::io::stdin().lock().read(dst).map_err(io),
            })?;
        }
        return m.write_u32(out, total as u32);
    }
    let file = accessible(&cx, fd, false)?.file.clone();
    // A file may block too (a FIFO, a device).
    drop(cx);
    for (i, &(buf, len)) in vecs.iter().enumerate() {
        let got = m.fill(buf, len, |dst| (&*file).read(dst).map_err(io))?;
        total += got;
        // A FIFO or device that filled this buffer may have nothing more
        // yet: as readv(2), return what came rather than wait for more.
        let more = i + 1 < vecs.len() && got == len as usize;
        if !more || !file.metadata().map_err(io)?.is_file() {
            break;
        }
    }
    m.write_u32(out, total as u32)
}

/// The bytes of a write's buffers, in order.
fn gather<'m>(
    m: &'m GuestMemory<'_>,
    vecs: &[(u32, u32)],
) -> Result<std::borrow::Cow<'m, [u8]>, Errno> {
    Ok(match vecs[..] {
        [(buf, len)] => m.slice(buf, len)?,
        _ => {
            let mut data = Vec::new();
            for &(buf, len) in vecs {
                data.extend_from_slice(&m.slice(buf, len)?);
            }
            data.into()
        }
    })
}

pub(crate) fn fd_write(
    cx: &WasiCtx,
    m: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    n: u32,
    out: u32,
) -> R {
    let vecs = m.iovecs(iovs, n)?;
    let mut total = 0usize;
    // All the buffers in one write, as writev(2) does: another thread's
    // write to the same descriptor does not land between them.
    let mut write_all = |w: &mut dyn Write| -> R {
        let data = gather(m, &vecs)?;
        w.write_all(&data).map_err(io)?;
        total = data.len();
        w.flush().map_err(io)
    };
    let cx = cx.lock();
    let can_write = cx.rights(fd)?.base & rights::FD_WRITE != 0;
    let stream = match cx.get(fd)? {
        Descriptor::Stdout if can_write => Some(true),
        Descriptor::Stderr if can_write => Some(false),
        _ => None,
    };
    let pipe = match stream {
        Some(true) => cx.pipes.stdout.clone(),
        Some(false) => cx.pipes.stderr.clone(),
        None => None,
    };
    if let Some(pipe) = pipe {
        drop(cx);
        let data = gather(m, &vecs)?;
        pipe.write(&data).map_err(|_| Errno::IO)?;
        return m.write_u32(out, data.len() as u32);
    }
    if let Some(stdout) = stream {
        // A standard stream may block (a full pipe): the context is not
        // held meanwhile, so other threads' calls go on.
        drop(cx);
        if stdout {
            write_all(&mut std::io::stdout().lock())?;
        } else {
            write_all(&mut std::io::stderr().lock())?;
        }
        return m.write_u32(out, total as u32);
    }
    let f = accessible(&cx, fd, true)?;
    let (file, append) = (f.file.clone(), f.append);
    // Moving to the end and writing there is one step for every thread's
    // appends: the context is held throughout. A FIFO or device has no end
    // to move to (`ESPIPE`): it is written as it is.
    let appending = append
        && match (&*file).seek(SeekFrom::End(0)) {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotSeekable => false,
            Err(e) => return Err(io(e)),
        };
    if !appending {
        // A file may block too (a FIFO, a device).
        drop(cx);
    }
    write_all(&mut &*file)?;
    m.write_u32(out, total as u32)
}

pub(crate) fn fd_prestat_get(cx: &mut State, m: &mut GuestMemory<'_>, fd: u32, out: u32) -> R {
    match cx.get(fd)? {
        Descriptor::Dir(DirDesc {
            preopen: Some(name),
            ..
        }) => {
            let out = Ptr::from(out);
            m.write(out, &[0; 8])?;
            m.write_u32(out + 4, name.len() as u32)
        }
        _ => Err(Errno::BADF),
    }
}

pub(crate) fn fd_prestat_dir_name(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> R {
    match cx.get(fd)? {
        Descriptor::Dir(DirDesc {
            preopen: Some(name),
            ..
        }) => {
            if (len as usize) < name.len() {
                return Err(Errno::NAMETOOLONG);
            }
            m.write(path, name.as_bytes())
        }
        _ => Err(Errno::BADF),
    }
}

pub(crate) fn fd_readdir(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    out: u32,
) -> R {
    let dir = &cx.dir_for(fd, DirPerms::READ)?.dir;
    let this = dir.dir_metadata().map_err(io)?;
    let mut entries: Vec<(u64, u8, Vec<u8>)> = vec![
        (this.ino(), filetype::DIRECTORY, b".".to_vec()),
        (this.ino(), filetype::DIRECTORY, b"..".to_vec()),
    ];
    for e in dir.entries().map_err(io)? {
        let e = e.map_err(io)?;
        let t = e.file_type().map(cap_filetype).unwrap_or(filetype::UNKNOWN);
        use std::os::unix::ffi::OsStrExt;
        entries.push((e.ino(), t, e.file_name().as_bytes().to_vec()));
    }
    // Serialise from `cookie` on; the last entry may be cut off, which tells
    // the guest the buffer was too small and it should call again.
    let mut bytes = Vec::new();
    for (i, (ino, t, name)) in entries
        .iter()
        .enumerate()
        .skip(cookie.min(usize::MAX as u64) as usize)
    {
        let mut header = [0u8; 24];
        header[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&ino.to_le_bytes());
        header[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        header[20] = *t;
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(name);
        if bytes.len() >= buf_len as usize {
            break;
        }
    }
    let used = bytes.len().min(buf_len as usize);
    m.write(buf, &bytes[..used])?;
    m.write_u32(out, used as u32)
}

pub(crate) fn fd_renumber(cx: &mut State, from: u32, to: u32) -> R {
    cx.get(from)?;
    cx.get(to)?;
    if from != to {
        // `to` is closed; `from` takes its number, with its own rights.
        let e = cx.remove(from)?;
        cx.fds.insert(to, e);
    }
    Ok(())
}

pub(crate) fn fd_seek(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    fd: u32,
    offset: i64,
    wh: u32,
    out: u32,
) -> R {
    let pos = match cx.get_mut(fd)? {
        Descriptor::File(f) if f.stream => return Err(Errno::SPIPE),
        Descriptor::File(f) => {
            let from = match wh as u8 {
                whence::SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::INVAL)?),
                whence::CUR => SeekFrom::Current(offset),
                whence::END => SeekFrom::End(offset),
                _ => return Err(Errno::INVAL),
            };
            (&*f.file).seek(from).map_err(io)?
        }
        Descriptor::Dir(_) => return Err(Errno::BADF),
        _ => return Err(Errno::SPIPE),
    };
    m.write_u64(out, pos)
}

fn path<'m>(
    m: &'m GuestMemory<'_>,
    ptr: u32,
    len: u32,
) -> Result<std::borrow::Cow<'m, str>, Errno> {
    m.str(ptr, len)
}

/// A guest path, refusing what no host call should see: an embedded NUL
/// (`EINVAL`) and an absolute path (`EPERM`: every path is relative to a
/// directory descriptor).
fn checked_path<'m>(m: &'m GuestMemory<'_>, ptr: u32, len: u32) -> Result<GuestPath<'m>, Errno> {
    let p = path(m, ptr, len)?;
    if p.contains('\0') {
        return Err(Errno::INVAL);
    }
    if p.starts_with('/') {
        return Err(Errno::PERM);
    }
    Ok(GuestPath(p))
}

/// A path the guest gave (borrowed from its memory, or copied out of a
/// shared one).
struct GuestPath<'m>(std::borrow::Cow<'m, str>);

impl std::ops::Deref for GuestPath<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for GuestPath<'_> {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(&*self.0)
    }
}

pub(crate) fn path_create_directory(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    fd: u32,
    p: u32,
    len: u32,
) -> R {
    cx.dir_for(fd, DirPerms::MUTATE)?
        .dir
        .create_dir(checked_path(m, p, len)?)
        .map_err(io)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn path_filestat_get(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    p: u32,
    len: u32,
    out: u32,
    abi: Abi,
) -> R {
    let dir = &cx.dir_for(fd, DirPerms::READ)?.dir;
    let p = checked_path(m, p, len)?;
    let md = if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
        dir.metadata(p)
    } else {
        dir.symlink_metadata(p)
    }
    .map_err(io)?;
    cap_stat(&md).write(m, out, abi)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn path_filestat_set_times(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    p: u32,
    len: u32,
    atim: u64,
    mtim: u64,
    fst: u32,
) -> R {
    let dir = &cx.dir_for(fd, DirPerms::MUTATE)?.dir;
    let p = checked_path(m, p, len)?;
    let (a, mt) = times(atim, mtim, fst)?;
    if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
        dir.set_times(p, a, mt)
    } else {
        dir.set_symlink_times(p, a, mt)
    }
    .map_err(io)
}

/// The directories of a link or rename from `old` to `new`: both must
/// allow changes, and have the same permissions (otherwise a file of a
/// read-only preopen, linked or moved into a writable one, could be
/// written there), as Wasmtime has it.
fn two_dirs(cx: &State, old: u32, new: u32) -> Result<(&Dir, &Dir), Errno> {
    let old = cx.dir_for(old, DirPerms::MUTATE)?;
    let new = cx.dir_for(new, DirPerms::MUTATE)?;
    if old.perms != new.perms {
        return Err(Errno::PERM);
    }
    Ok((&old.dir, &new.dir))
}

/// `[old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len]`
pub(crate) fn path_link(cx: &mut State, m: &mut GuestMemory<'_>, a: [u32; 7]) -> R {
    let (old_dir, new_dir) = two_dirs(cx, a[0], a[4])?;
    if a[1] & LOOKUP_SYMLINK_FOLLOW != 0 {
        // Linking the target of a symlink is not offered by the sandbox:
        // an invalid flag here, as Wasmtime and the WASI testsuite have it.
        return Err(Errno::INVAL);
    }
    old_dir
        .hard_link(
            checked_path(m, a[2], a[3])?,
            new_dir,
            checked_path(m, a[5], a[6])?,
        )
        .map_err(io)
}

/// The arguments of `path_open`.
pub(crate) struct OpenArgs {
    pub(crate) fd: u32,
    pub(crate) dirflags: u32,
    pub(crate) path: u32,
    pub(crate) path_len: u32,
    pub(crate) oflags: u16,
    pub(crate) rights_base: u64,
    pub(crate) rights_inheriting: u64,
    pub(crate) fdflags: u16,
    pub(crate) result: u32,
}

pub(crate) fn path_open(cx: &mut State, m: &mut GuestMemory<'_>, a: OpenArgs) -> R {
    let dir_rights = cx.rights(a.fd)?;
    let DirDesc { dir, perms, .. } = cx.dir_for(a.fd, DirPerms::READ)?;
    let perms = *perms;
    let p = checked_path(m, a.path, a.path_len)?;
    // Truncating is a change of size through the directory.
    if a.oflags & oflags::TRUNC != 0 && dir_rights.base & rights::PATH_FILESTAT_SET_SIZE == 0 {
        return Err(Errno::PERM);
    }
    let follow = if a.dirflags & LOOKUP_SYMLINK_FOLLOW != 0 {
        FollowSymlinks::Yes
    } else {
        FollowSymlinks::No
    };
    // What the guest asked for, as far as the directory passes it on.
    let base = a.rights_base & dir_rights.inheriting;
    let inheriting = a.rights_inheriting & dir_rights.inheriting;
    let want_read = a.rights_base & (rights::FD_READ | rights::FD_READDIR) != 0;
    let want_write = a.rights_base
        & (rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE)
        != 0;
    // The preopen's permissions, as Wasmtime checks them: creating,
    // truncating or writing needs both `DirPerms::MUTATE` and
    // `FilePerms::WRITE`; reading a file `FilePerms::READ` (checked below,
    // once it is known not to be a directory).
    let changes = want_write || a.oflags & (oflags::CREAT | oflags::TRUNC) != 0;
    if changes && !(perms.dir.contains(DirPerms::MUTATE) && perms.file.contains(FilePerms::WRITE)) {
        return Err(Errno::PERM);
    }
    if want_read && a.oflags & oflags::DIRECTORY == 0 && !perms.file.contains(FilePerms::READ) {
        // (A directory opened this way is listed, not read: `DirPerms`.)
        let md = match follow {
            FollowSymlinks::Yes => dir.metadata(&p),
            FollowSymlinks::No => dir.symlink_metadata(&p),
        };
        if !md.is_ok_and(|md| md.is_dir()) {
            return Err(Errno::PERM);
        }
    }
    let (descriptor, type_rights) = if a.oflags & oflags::DIRECTORY != 0 {
        if a.oflags & (oflags::CREAT | oflags::EXCL | oflags::TRUNC) != 0 {
            return Err(Errno::INVAL);
        }
        let d = match follow {
            FollowSymlinks::Yes => dir.open_dir(p),
            FollowSymlinks::No => dir.open_dir_nofollow(p),
        }
        .map_err(io)?;
        // After the lookup, as `open(O_DIRECTORY | O_WRONLY)`: a missing
        // path is ENOENT and a file ENOTDIR; only a directory is EISDIR.
        if a.rights_base & rights::FD_WRITE != 0 {
            return Err(Errno::ISDIR);
        }
        let d = Descriptor::Dir(DirDesc {
            dir: std::sync::Arc::new(d),
            preopen: None,
            perms,
        });
        (d, Rights::DIRECTORY)
    } else {
        let create = a.oflags & oflags::CREAT != 0;
        let truncate = a.oflags & oflags::TRUNC != 0;
        let mut opts = OpenOptions::new();
        // The host file is opened for writing also to create or truncate it
        // (which the host refuses on a read-only open); the guest still
        // writes only with FD_WRITE. Append mode is ours, not the host's
        // (see `FileDesc::append`).
        let host_write = want_write || create || truncate;
        opts.read(want_read || !host_write)
            .write(host_write)
            .create(create)
            .create_new(create && a.oflags & oflags::EXCL != 0)
            .truncate(truncate);
        opts.follow(follow);
        // Opening a directory read-only is how some guests list it.
        opts.maybe_dir(!host_write);
        let host_fdflags =
            a.fdflags & (fdflags::SYNC | fdflags::DSYNC | fdflags::RSYNC | fdflags::NONBLOCK);
        cap_std::fs::OpenOptionsExt::custom_flags(
            &mut opts,
            host_oflags(host_fdflags).bits() as i32,
        );
        let file = dir.open_with(p, &opts).map_err(io)?.into_std();
        if file.metadata().map_err(io)?.is_dir() {
            let d = Descriptor::Dir(DirDesc {
                dir: std::sync::Arc::new(Dir::from_std_file(file)),
                preopen: None,
                perms,
            });
            (d, Rights::DIRECTORY)
        } else {
            let f = Descriptor::File(FileDesc {
                file: std::sync::Arc::new(file),
                readable: want_read && base & rights::FD_READ != 0,
                writable: want_write && base & rights::FD_WRITE != 0,
                mutable: perms.file.contains(FilePerms::WRITE),
                append: a.fdflags & fdflags::APPEND != 0,
                host_fdflags,
                stream: false,
            });
            (f, Rights::FILE)
        }
    };
    let rights = Rights {
        base: base & type_rights.base,
        inheriting: inheriting & type_rights.inheriting,
    };
    let fd = cx.insert(descriptor, rights)?;
    m.write_u32(a.result, fd)
}

/// `[fd, path, path_len, buf, buf_len, bufused]`
pub(crate) fn path_readlink(cx: &mut State, m: &mut GuestMemory<'_>, a: [u32; 6]) -> R {
    use std::os::unix::ffi::OsStrExt;
    let target = cx
        .dir_for(a[0], DirPerms::READ)?
        .dir
        .read_link_contents(checked_path(m, a[1], a[2])?)
        .map_err(io)?;
    // A link to an absolute path leads out of the sandbox: its target is
    // the host's business (and following it is refused anyway).
    if target.is_absolute() {
        return Err(Errno::PERM);
    }
    let bytes = target.as_os_str().as_bytes();
    let n = bytes.len().min(a[4] as usize);
    m.write(a[3], &bytes[..n])?;
    m.write_u32(a[5], n as u32)
}

pub(crate) fn path_remove_directory(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    fd: u32,
    p: u32,
    len: u32,
) -> R {
    // `rmdir("dir/")` removes `dir`; a file named with or without the slash
    // is ENOTDIR either way.
    let p = checked_path(m, p, len)?;
    let trimmed = p.trim_end_matches('/');
    cx.dir_for(fd, DirPerms::MUTATE)?
        .dir
        .remove_dir(if trimmed.is_empty() { &*p } else { trimmed })
        .map_err(io)
}

/// `[fd, old_path, old_len, new_fd, new_path, new_len]`
pub(crate) fn path_rename(cx: &mut State, m: &mut GuestMemory<'_>, a: [u32; 6]) -> R {
    let (old_dir, new_dir) = two_dirs(cx, a[0], a[3])?;
    let (old, new) = (checked_path(m, a[1], a[2])?, checked_path(m, a[4], a[5])?);
    // A trailing slash on either name says the source is a directory, as
    // POSIX has it (`ENOTDIR` otherwise); the rename below drops it, and
    // would move a file onto the target.
    if old.ends_with('/') || new.ends_with('/') {
        let md = old_dir.symlink_metadata(&old).map_err(io)?;
        if !md.is_dir() {
            return Err(Errno::NOTDIR);
        }
    }
    old_dir.rename(old, new_dir, new).map_err(io)
}

/// `[old_path, old_len, fd, new_path, new_len]`
pub(crate) fn path_symlink(cx: &mut State, m: &mut GuestMemory<'_>, a: [u32; 5]) -> R {
    cx.dir_for(a[2], DirPerms::MUTATE)?
        .dir
        .symlink(checked_path(m, a[0], a[1])?, checked_path(m, a[3], a[4])?)
        .map_err(io)
}

pub(crate) fn path_unlink_file(
    cx: &mut State,
    m: &mut GuestMemory<'_>,
    fd: u32,
    p: u32,
    len: u32,
) -> R {
    cx.dir_for(fd, DirPerms::MUTATE)?
        .dir
        .remove_file(checked_path(m, p, len)?)
        .map_err(io)
}
