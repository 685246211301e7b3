//! WASI preview1 constants and errno values, exactly as the specification
//! (`wasi_snapshot_preview1.witx`) numbers them.

/// A WASI error number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub u16);

#[allow(missing_docs)]
impl Errno {
    /// Not an errno the guest sees: the call stopped waiting because the
    /// guest's deadline passed, which stops the guest (this call's thread
    /// only).
    pub(crate) const DEADLINE: Errno = Errno(u16::MAX);
    pub const SUCCESS: Errno = Errno(0);
    pub const TOOBIG: Errno = Errno(1);
    pub const ACCES: Errno = Errno(2);
    pub const ADDRINUSE: Errno = Errno(3);
    pub const ADDRNOTAVAIL: Errno = Errno(4);
    pub const AFNOSUPPORT: Errno = Errno(5);
    pub const AGAIN: Errno = Errno(6);
    pub const ALREADY: Errno = Errno(7);
    pub const BADF: Errno = Errno(8);
    pub const BADMSG: Errno = Errno(9);
    pub const BUSY: Errno = Errno(10);
    pub const CANCELED: Errno = Errno(11);
    pub const CHILD: Errno = Errno(12);
    pub const CONNABORTED: Errno = Errno(13);
    pub const CONNREFUSED: Errno = Errno(14);
    pub const CONNRESET: Errno = Errno(15);
    pub const DEADLK: Errno = Errno(16);
    pub const DESTADDRREQ: Errno = Errno(17);
    pub const DOM: Errno = Errno(18);
    pub const DQUOT: Errno = Errno(19);
    pub const EXIST: Errno = Errno(20);
    pub const FAULT: Errno = Errno(21);
    pub const FBIG: Errno = Errno(22);
    pub const HOSTUNREACH: Errno = Errno(23);
    pub const IDRM: Errno = Errno(24);
    pub const ILSEQ: Errno = Errno(25);
    pub const INPROGRESS: Errno = Errno(26);
    pub const INTR: Errno = Errno(27);
    pub const INVAL: Errno = Errno(28);
    pub const IO: Errno = Errno(29);
    pub const ISCONN: Errno = Errno(30);
    pub const ISDIR: Errno = Errno(31);
    pub const LOOP: Errno = Errno(32);
    pub const MFILE: Errno = Errno(33);
    pub const MLINK: Errno = Errno(34);
    pub const MSGSIZE: Errno = Errno(35);
    pub const MULTIHOP: Errno = Errno(36);
    pub const NAMETOOLONG: Errno = Errno(37);
    pub const NETDOWN: Errno = Errno(38);
    pub const NETRESET: Errno = Errno(39);
    pub const NETUNREACH: Errno = Errno(40);
    pub const NFILE: Errno = Errno(41);
    pub const NOBUFS: Errno = Errno(42);
    pub const NODEV: Errno = Errno(43);
    pub const NOENT: Errno = Errno(44);
    pub const NOEXEC: Errno = Errno(45);
    pub const NOLCK: Errno = Errno(46);
    pub const NOLINK: Errno = Errno(47);
    pub const NOMEM: Errno = Errno(48);
    pub const NOMSG: Errno = Errno(49);
    pub const NOPROTOOPT: Errno = Errno(50);
    pub const NOSPC: Errno = Errno(51);
    pub const NOSYS: Errno = Errno(52);
    pub const NOTCONN: Errno = Errno(53);
    pub const NOTDIR: Errno = Errno(54);
    pub const NOTEMPTY: Errno = Errno(55);
    pub const NOTRECOVERABLE: Errno = Errno(56);
    pub const NOTSOCK: Errno = Errno(57);
    pub const NOTSUP: Errno = Errno(58);
    pub const NOTTY: Errno = Errno(59);
    pub const NXIO: Errno = Errno(60);
    pub const OVERFLOW: Errno = Errno(61);
    pub const OWNERDEAD: Errno = Errno(62);
    pub const PERM: Errno = Errno(63);
    pub const PIPE: Errno = Errno(64);
    pub const PROTO: Errno = Errno(65);
    pub const PROTONOSUPPORT: Errno = Errno(66);
    pub const PROTOTYPE: Errno = Errno(67);
    pub const RANGE: Errno = Errno(68);
    pub const ROFS: Errno = Errno(69);
    pub const SPIPE: Errno = Errno(70);
    pub const SRCH: Errno = Errno(71);
    pub const STALE: Errno = Errno(72);
    pub const TIMEDOUT: Errno = Errno(73);
    pub const TXTBSY: Errno = Errno(74);
    pub const XDEV: Errno = Errno(75);
    pub const NOTCAPABLE: Errno = Errno(76);

    /// The WASI errno for a host error.
    pub fn from_io(e: &std::io::Error) -> Errno {
        if let Some(code) = e.raw_os_error() {
            return Errno::from_host(code);
        }
        use std::io::ErrorKind as K;
        match e.kind() {
            K::NotFound => Errno::NOENT,
            // cap-std reports a path that would leave the sandbox this way.
            K::PermissionDenied => Errno::PERM,
            K::AlreadyExists => Errno::EXIST,
            K::InvalidInput => Errno::INVAL,
            K::InvalidData => Errno::ILSEQ,
            K::Unsupported => Errno::NOTSUP,
            K::WouldBlock => Errno::AGAIN,
            K::Interrupted => Errno::INTR,
            K::BrokenPipe => Errno::PIPE,
            K::OutOfMemory => Errno::NOMEM,
            K::NotADirectory => Errno::NOTDIR,
            K::IsADirectory => Errno::ISDIR,
            K::DirectoryNotEmpty => Errno::NOTEMPTY,
            _ => Errno::IO,
        }
    }

    /// The WASI errno for a host (Linux) errno.
    pub fn from_host(code: i32) -> Errno {
        use rustix::io::Errno as E;
        let e = E::from_raw_os_error(code);
        let table: &[(E, Errno)] = &[
            (E::TOOBIG, Errno::TOOBIG),
            (E::ACCESS, Errno::ACCES),
            (E::ADDRINUSE, Errno::ADDRINUSE),
            (E::ADDRNOTAVAIL, Errno::ADDRNOTAVAIL),
            (E::AFNOSUPPORT, Errno::AFNOSUPPORT),
            (E::AGAIN, Errno::AGAIN),
            (E::ALREADY, Errno::ALREADY),
            (E::BADF, Errno::BADF),
            (E::BADMSG, Errno::BADMSG),
            (E::BUSY, Errno::BUSY),
            (E::CANCELED, Errno::CANCELED),
            (E::CHILD, Errno::CHILD),
            (E::CONNABORTED, Errno::CONNABORTED),
            (E::CONNREFUSED, Errno::CONNREFUSED),
            (E::CONNRESET, Errno::CONNRESET),
            (E::DEADLK, Errno::DEADLK),
            (E::DESTADDRREQ, Errno::DESTADDRREQ),
            (E::DOM, Errno::DOM),
            (E::DQUOT, Errno::DQUOT),
            (E::EXIST, Errno::EXIST),
            (E::FAULT, Errno::FAULT),
            (E::FBIG, Errno::FBIG),
            (E::HOSTUNREACH, Errno::HOSTUNREACH),
            (E::IDRM, Errno::IDRM),
            (E::ILSEQ, Errno::ILSEQ),
            (E::INPROGRESS, Errno::INPROGRESS),
            (E::INTR, Errno::INTR),
            (E::INVAL, Errno::INVAL),
            (E::IO, Errno::IO),
            (E::ISCONN, Errno::ISCONN),
            (E::ISDIR, Errno::ISDIR),
            (E::LOOP, Errno::LOOP),
            (E::MFILE, Errno::MFILE),
            (E::MLINK, Errno::MLINK),
            (E::MSGSIZE, Errno::MSGSIZE),
            (E::MULTIHOP, Errno::MULTIHOP),
            (E::NAMETOOLONG, Errno::NAMETOOLONG),
            (E::NETDOWN, Errno::NETDOWN),
            (E::NETRESET, Errno::NETRESET),
            (E::NETUNREACH, Errno::NETUNREACH),
            (E::NFILE, Errno::NFILE),
            (E::NOBUFS, Errno::NOBUFS),
            (E::NODEV, Errno::NODEV),
            (E::NOENT, Errno::NOENT),
            (E::NOEXEC, Errno::NOEXEC),
            (E::NOLCK, Errno::NOLCK),
            (E::NOLINK, Errno::NOLINK),
            (E::NOMEM, Errno::NOMEM),
            (E::NOMSG, Errno::NOMSG),
            (E::NOPROTOOPT, Errno::NOPROTOOPT),
            (E::NOSPC, Errno::NOSPC),
            (E::NOSYS, Errno::NOSYS),
            (E::NOTCONN, Errno::NOTCONN),
            (E::NOTDIR, Errno::NOTDIR),
            (E::NOTEMPTY, Errno::NOTEMPTY),
            (E::NOTRECOVERABLE, Errno::NOTRECOVERABLE),
            (E::NOTSOCK, Errno::NOTSOCK),
            (E::NOTSUP, Errno::NOTSUP),
            (E::NOTTY, Errno::NOTTY),
            (E::NXIO, Errno::NXIO),
            (E::OVERFLOW, Errno::OVERFLOW),
            (E::OWNERDEAD, Errno::OWNERDEAD),
            (E::PERM, Errno::PERM),
            (E::PIPE, Errno::PIPE),
            (E::PROTO, Errno::PROTO),
            (E::PROTONOSUPPORT, Errno::PROTONOSUPPORT),
            (E::PROTOTYPE, Errno::PROTOTYPE),
            (E::RANGE, Errno::RANGE),
            (E::ROFS, Errno::ROFS),
            (E::SPIPE, Errno::SPIPE),
            (E::SRCH, Errno::SRCH),
            (E::STALE, Errno::STALE),
            (E::TIMEDOUT, Errno::TIMEDOUT),
            (E::TXTBSY, Errno::TXTBSY),
            (E::XDEV, Errno::XDEV),
        ];
        table
            .iter()
            .find(|(h, _)| *h == e)
            .map(|(_, w)| *w)
            .unwrap_or(Errno::IO)
    }
}

/// `filetype`
pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_DGRAM: u8 = 5;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `fdflags`
pub mod fdflags {
    pub const APPEND: u16 = 1;
    pub const DSYNC: u16 = 2;
    pub const NONBLOCK: u16 = 4;
    pub const RSYNC: u16 = 8;
    pub const SYNC: u16 = 16;
}

/// `oflags`
pub mod oflags {
    pub const CREAT: u16 = 1;
    pub const DIRECTORY: u16 = 2;
    pub const EXCL: u16 = 4;
    pub const TRUNC: u16 = 8;
}

/// `lookupflags`
pub const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

/// `fstflags`
pub mod fstflags {
    pub const ATIM: u16 = 1;
    pub const ATIM_NOW: u16 = 2;
    pub const MTIM: u16 = 4;
    pub const MTIM_NOW: u16 = 8;
}

/// `rights`: bit numbers as the specification assigns them.
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;

    /// Rights of an open regular file.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// Rights of an open directory.
    pub const DIRECTORY: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// Rights of the standard streams.
    pub const STDIO: u64 =
        FD_READ | FD_WRITE | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
}

/// `clockid`
pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME_ID: u32 = 2;
    pub const THREAD_CPUTIME_ID: u32 = 3;
}

/// `eventtype`
pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags`
pub const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;

/// `whence`
pub mod whence {
    pub const SET: u8 = 0;
    pub const CUR: u8 = 1;
    pub const END: u8 = 2;
}

/// `advice`
pub mod advice {
    pub const NORMAL: u8 = 0;
    pub const SEQUENTIAL: u8 = 1;
    pub const RANDOM: u8 = 2;
    pub const WILLNEED: u8 = 3;
    pub const DONTNEED: u8 = 4;
    pub const NOREUSE: u8 = 5;
}

/// Which WASI snapshot a call came through: `wasi_snapshot_preview1`, or
/// the older `wasi_unstable` (snapshot 0), whose few differences are its
/// `whence` order, a 32-bit link count in `filestat`, and an identifier at
/// the start of clock subscriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Abi {
    Preview0,
    Preview1,
}
