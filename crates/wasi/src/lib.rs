//! WASI preview1 (`wasi_snapshot_preview1`) for wasm-jit.
//!
//! The guest sees only what a [`WasiCtx`] gives it: its arguments, the
//! environment variables passed explicitly, the standard streams, and the
//! directories preopened with [`WasiCtxBuilder::preopened_dir`]. Every path
//! is resolved by `cap-std` inside the directory it is relative to, so `..`,
//! absolute paths and symlinks cannot lead outside a preopen: such attempts
//! fail in the guest with a WASI errno.
//!
//! ```no_run
//! use wasm_jit::{Engine, Linker, Module, Store};
//! use wasm_jit_wasi::{WasiCtx, WasiCtxBuilder, add_to_linker};
//!
//! let engine = Engine::default();
//! let module = Module::from_file(&engine, "program.wasm")?;
//! let mut linker: Linker<WasiCtx> = Linker::new(&engine);
//! add_to_linker(&mut linker, |cx| cx)?;
//! let wasi = WasiCtxBuilder::new().args(["program"]).inherit_stdio().build();
//! let mut store = Store::new(&engine, wasi);
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_func(&mut store, "_start").unwrap();
//! start.call(&mut store, &[], &mut [])?;
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! Threaded programs (wasi-threads) need [`threads`] too.

#![deny(missing_docs)]

pub mod clocks;
pub use clocks::{HostMonotonicClock, HostWallClock, RngCore};
mod fs;
mod host;
mod memory;
mod misc;
pub mod pipe;
#[allow(missing_docs)] // the constants carry the specification's own names
pub mod types;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use cap_std::ambient_authority;

pub use host::{add_preview0_to_linker, add_to_linker};
pub mod threads;
pub use types::Errno;

/// Wasmtime's names for preview1 (`wasmtime_wasi::p1`): code written for
/// them builds against this crate.
pub mod p1 {
    /// [`add_to_linker`](crate::add_to_linker) under Wasmtime's name.
    pub use crate::host::add_to_linker as add_to_linker_sync;
    /// The preview1 context: [`WasiCtx`](crate::WasiCtx).
    pub type WasiP1Ctx = crate::WasiCtx;
}

/// The same as [`p1`], under its older Wasmtime name.
pub use p1 as preview1;

/// Wasmtime's names for snapshot 0 (`wasmtime_wasi::p0`, the
/// `wasi_unstable` module).
pub mod p0 {
    /// [`add_preview0_to_linker`](crate::add_preview0_to_linker) under
    /// Wasmtime's name.
    pub use crate::host::add_preview0_to_linker as add_to_linker_sync;
}

/// The same as [`p0`], under its older Wasmtime name.
pub use p0 as preview0;

/// Where Wasmtime keeps the pipes a preview1 context also takes
/// (`wasmtime_wasi::p2::pipe::MemoryOutputPipe`): only [`pipe`] is here,
/// WASI preview 2 itself (the component model) is not supported yet.
pub mod p2 {
    pub use crate::pipe;
}

/// The guest called `proc_exit`: the error that ends its execution, with the
/// exit status. Embedders downcast to it (`err.downcast_ref::<I32Exit>()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl std::fmt::Display for I32Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Exited with i32 exit status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

impl I32Exit {
    /// The status a process exiting for the guest has: the guest's, or an
    /// error when it is one no process can have (outside 0 to 255; a native
    /// exit would truncate it, and 256 would read as success).
    pub fn process_status(&self) -> anyhow::Result<u8> {
        u8::try_from(self.0).map_err(|_| {
            anyhow::anyhow!(
                "the guest exited with status {}, which is not a process exit status (0 to 255)",
                self.0
            )
        })
    }
}

/// What a descriptor refers to.
pub(crate) enum Descriptor {
    Stdin,
    Stdout,
    Stderr,
    File(FileDesc),
    Dir(DirDesc),
}

pub(crate) struct FileDesc {
    /// Shared so that reads and writes, which may block (a FIFO, a
    /// device), run without holding the context: other threads' WASI calls
    /// go on meanwhile. Closing the descriptor while one runs closes the
    /// host file once it returns.
    pub(crate) file: std::sync::Arc<std::fs::File>,
    /// Whether the guest may read (the host file is open for reading and the
    /// descriptor has `FD_READ`).
    pub(crate) readable: bool,
    /// Whether the guest may write (likewise, with `FD_WRITE`).
    pub(crate) writable: bool,
    /// Whether its directory's [`FilePerms`] let the guest set its times
    /// (writing it, and its size, go by `writable`).
    pub(crate) mutable: bool,
    /// Append mode: every `fd_write` goes to the end (kept here rather than
    /// as the host's `O_APPEND`, so that `fd_pwrite` writes at its offset).
    pub(crate) append: bool,
    /// Its fdflags other than `APPEND` (`SYNC`, `DSYNC`, `RSYNC` as opened,
    /// `NONBLOCK` as opened or last set), as `fd_fdstat_get` reports them.
    pub(crate) host_fdflags: u16,
    /// A standard stream that was not inherited (`/dev/null` behind it): it
    /// looks like a stream, as an inherited one does (unknown type, no
    /// offsets).
    pub(crate) stream: bool,
}

/// What a descriptor may be used for: WASI's rights. `base` applies to the
/// descriptor itself, `inheriting` to descriptors opened through it. They
/// only ever shrink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rights {
    pub(crate) base: u64,
    pub(crate) inheriting: u64,
}

impl Rights {
    /// A preopened directory: every directory operation (but no `FD_WRITE`
    /// or `FD_SEEK`), and files and directories opened inside it may get
    /// anything.
    pub(crate) const PREOPEN: Rights = Rights {
        base: types::rights::DIRECTORY,
        inheriting: types::rights::DIRECTORY | types::rights::FILE,
    };
    /// The most a directory opened by `path_open` can have: what a preopen
    /// has.
    pub(crate) const DIRECTORY: Rights = Rights::PREOPEN;
    /// The most a regular file can have, itself and for what it passes on.
    pub(crate) const FILE: Rights = Rights {
        base: types::rights::FILE,
        inheriting: types::rights::FILE,
    };
    /// A standard stream (no seeking, so that `isatty` can say yes).
    pub(crate) const STDIO: Rights = Rights {
        base: types::rights::STDIO,
        inheriting: 0,
    };
}

/// The methods `DirPerms` and `FilePerms` share (Wasmtime's are bitflags):
/// `all`, `empty`, `contains`, and `|`.
macro_rules! perms_flags {
    ($name:ident) => {
        impl $name {
            /// Every permission.
            pub const fn all() -> $name {
                $name(3)
            }

            /// None.
            pub const fn empty() -> $name {
                $name(0)
            }

            /// Whether every permission of `other` is in `self`.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }
        }

        impl std::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }
        }
    };
}

/// What a guest may do with a preopened directory and the directories
/// below it ([`WasiCtxBuilder::preopened_dir`]), as Wasmtime's `DirPerms`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DirPerms(u8);

impl DirPerms {
    /// List it, look up and stat its entries, read links, open files in it.
    pub const READ: DirPerms = DirPerms(1);
    /// Create, rename, link and remove entries, set their times by path;
    /// with [`FilePerms::WRITE`], open files in it for writing, creating or
    /// truncating them. (A link or rename needs it on both directories,
    /// and both with the same permissions.)
    pub const MUTATE: DirPerms = DirPerms(2);
}

perms_flags!(DirPerms);

/// What a guest may do with the files below a preopened directory
/// ([`WasiCtxBuilder::preopened_dir`]), as Wasmtime's `FilePerms`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FilePerms(u8);

impl FilePerms {
    /// Open them for reading.
    pub const READ: FilePerms = FilePerms(1);
    /// With [`DirPerms::MUTATE`], open them for writing (creating or
    /// truncating them); change their times through a descriptor.
    pub const WRITE: FilePerms = FilePerms(2);
}

perms_flags!(FilePerms);

/// The permissions a directory descriptor carries: its preopen's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Perms {
    pub(crate) dir: DirPerms,
    pub(crate) file: FilePerms,
}

/// One open descriptor: what it refers to and its rights.
pub(crate) struct Entry {
    pub(crate) desc: Descriptor,
    pub(crate) rights: Rights,
}

pub(crate) struct DirDesc {
    /// Shared with the builder (and the contexts it built) for a preopen,
    /// as a duplicated handle would be (one open directory either way).
    pub(crate) dir: std::sync::Arc<cap_std::fs::Dir>,
    /// The guest-visible name, for preopens.
    pub(crate) preopen: Option<String>,
    /// What the guest may do through it (its preopen's permissions).
    pub(crate) perms: Perms,
}

/// The WASI context of a program: its arguments, environment and open
/// descriptors. Cloning it shares it, as wasi-threads' threads (each with
/// a store of its own) share their process's: the clones see the same
/// descriptors, and each WASI call holds the context for its duration
/// (but while it may wait: a sleep, input, output to a standard stream).
#[derive(Clone)]
pub struct WasiCtx(pub(crate) std::sync::Arc<std::sync::Mutex<State>>);

impl WasiCtx {
    /// The state, for one WASI call.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic in another holder leaves consistent state behind.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("WasiCtx")
            .field("args", &s.args)
            .field("fds", &s.fds.len())
            .finish_non_exhaustive()
    }
}

/// The state behind a [`WasiCtx`].
pub(crate) struct State {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) fds: BTreeMap<u32, Entry>,
    /// Numbers closed since and not in use again: the next descriptor takes
    /// the highest of them (see [`State::insert`]).
    pub(crate) free: std::collections::BTreeSet<u32>,
    /// When the guest's time is up (see [`WasiCtxBuilder::deadline`]).
    pub(crate) deadline: Option<std::time::Instant>,
    /// The streams the host supplied for `Stdin`, `Stdout` and `Stderr`.
    pub(crate) pipes: pipe::Pipes,
    /// The clocks and random source the host supplied.
    pub(crate) hooks: clocks::Hooks,
}

impl State {
    /// Whether stream `d` is one the host supplied (not a host stream).
    pub(crate) fn piped(&self, d: &Descriptor) -> bool {
        match d {
            Descriptor::Stdin => self.pipes.stdin.is_some(),
            Descriptor::Stdout => self.pipes.stdout.is_some(),
            Descriptor::Stderr => self.pipes.stderr.is_some(),
            _ => false,
        }
    }

    pub(crate) fn get(&self, fd: u32) -> Result<&Descriptor, Errno> {
        self.fds.get(&fd).map(|e| &e.desc).ok_or(Errno::BADF)
    }

    pub(crate) fn get_mut(&mut self, fd: u32) -> Result<&mut Descriptor, Errno> {
        self.fds
            .get_mut(&fd)
            .map(|e| &mut e.desc)
            .ok_or(Errno::BADF)
    }

    pub(crate) fn rights(&self, fd: u32) -> Result<Rights, Errno> {
        self.fds.get(&fd).map(|e| e.rights).ok_or(Errno::BADF)
    }

    /// The directory `fd`, if its permissions hold `need` (`EPERM`
    /// otherwise, as Wasmtime answers).
    pub(crate) fn dir_for(&self, fd: u32, need: DirPerms) -> Result<&DirDesc, Errno> {
        match self.get(fd)? {
            Descriptor::Dir(d) if d.perms.dir.contains(need) => Ok(d),
            Descriptor::Dir(_) => Err(Errno::PERM),
            _ => Err(Errno::NOTDIR),
        }
    }

    pub(crate) fn file(&self, fd: u32) -> Result<&FileDesc, Errno> {
        match self.get(fd)? {
            Descriptor::File(f) => Ok(f),
            Descriptor::Dir(_) => Err(Errno::ISDIR),
            _ => Err(Errno::BADF),
        }
    }

    /// Gives `d` a number as Wasmtime does (programs are tried against it,
    /// and some depend on it: one that closes its stdout by mistake keeps
    /// writing to fd 1, which would otherwise become the next file it
    /// opens): the highest closed number not in use again, else one past
    /// the highest in use, else the highest unused. (POSIX would take the
    /// lowest unused.)
    pub(crate) fn insert(&mut self, d: Descriptor, rights: Rights) -> Result<u32, Errno> {
        let fd = match self.free.pop_last() {
            Some(fd) => fd,
            None => match self.fds.last_key_value() {
                None => 0,
                Some((&last, _)) => match last.checked_add(1) {
                    Some(fd) => fd,
                    None => (0..u32::MAX)
                        .rev()
                        .find(|fd| !self.fds.contains_key(fd))
                        .ok_or(Errno::MFILE)?,
                },
            },
        };
        self.fds.insert(fd, Entry { desc: d, rights });
        Ok(fd)
    }

    /// Closes `fd`, whose number is then free.
    pub(crate) fn remove(&mut self, fd: u32) -> Result<Entry, Errno> {
        let e = self.fds.remove(&fd).ok_or(Errno::BADF)?;
        self.free.insert(fd);
        Ok(e)
    }
}

/// Builds a [`WasiCtx`].
#[derive(Default)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Which of stdin, stdout and stderr are the host's.
    stdio: [bool; 3],
    /// Those the host supplied instead.
    pipes: pipe::Pipes,
    preopens: Vec<(std::sync::Arc<cap_std::fs::Dir>, String, Perms)>,
    deadline: Option<std::time::Instant>,
    hooks: clocks::Hooks,
}

impl std::fmt::Debug for WasiCtxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtxBuilder")
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

impl WasiCtxBuilder {
    /// An empty context: no arguments, no environment, no streams, no files.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends arguments (the first of all is the program name).
    pub fn args(&mut self, args: impl IntoIterator<Item = impl AsRef<str>>) -> &mut Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<str>) -> &mut Self {
        self.args.push(arg.as_ref().to_string());
        self
    }

    /// Adds an environment variable.
    pub fn env(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> &mut Self {
        self.env
            .push((name.as_ref().to_string(), value.as_ref().to_string()));
        self
    }

    /// Adds environment variables.
    pub fn envs(&mut self, vars: &[(impl AsRef<str>, impl AsRef<str>)]) -> &mut Self {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Gives the guest this process's whole environment (a variable that
    /// is not UTF-8 is passed with its invalid bytes replaced by U+FFFD).
    pub fn inherit_env(&mut self) -> &mut Self {
        self.env.extend(std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        }));
        self
    }

    /// Appends this process's arguments (one that is not UTF-8 is passed
    /// with its invalid bytes replaced by U+FFFD).
    pub fn inherit_args(&mut self) -> &mut Self {
        self.args
            .extend(std::env::args_os().map(|a| a.to_string_lossy().into_owned()));
        self
    }

    /// Gives the guest the host's stdin, stdout and stderr as fds 0, 1, 2.
    /// A stream neither inherited nor supplied ([`stdin`](Self::stdin),
    /// ...) reads as empty and discards what is written.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Gives the guest the host's stdin as fd 0.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdio[0] = true;
        self.pipes.stdin = None;
        self
    }

    /// Gives the guest the host's stdout as fd 1.
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdio[1] = true;
        self.pipes.stdout = None;
        self
    }

    /// Gives the guest the host's stderr as fd 2.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stdio[2] = true;
        self.pipes.stderr = None;
        self
    }

    /// The guest's stdin (fd 0) reads from `stream`, e.g. a
    /// [`pipe::MemoryInputPipe`]. It is a stream to the guest, as the
    /// host's stdin is (no offsets, never a terminal).
    pub fn stdin(&mut self, stream: impl pipe::StdinStream + 'static) -> &mut Self {
        self.stdio[0] = false;
        self.pipes.stdin = Some(std::sync::Arc::new(stream));
        self
    }

    /// The guest's stdout (fd 1) writes to `stream`, e.g. a
    /// [`pipe::MemoryOutputPipe`] the host keeps a clone of to read.
    pub fn stdout(&mut self, stream: impl pipe::StdoutStream + 'static) -> &mut Self {
        self.stdio[1] = false;
        self.pipes.stdout = Some(std::sync::Arc::new(stream));
        self
    }

    /// The guest's stderr (fd 2) writes to `stream`.
    pub fn stderr(&mut self, stream: impl pipe::StdoutStream + 'static) -> &mut Self {
        self.stdio[2] = false;
        self.pipes.stderr = Some(std::sync::Arc::new(stream));
        self
    }

    /// Accepted for Wasmtime's API: WASI calls here always block the
    /// calling thread.
    pub fn allow_blocking_current_thread(&mut self, _enable: bool) -> &mut Self {
        self
    }

    /// Accepted for Wasmtime's API: preview 1 has no call that opens a
    /// socket or looks up a name, so there is no network to grant (the
    /// `sock_*` calls answer `ENOTSOCK`/`EBADF` on every descriptor).
    pub fn inherit_network(&mut self) -> &mut Self {
        self
    }

    /// Accepted for Wasmtime's API, as [`WasiCtxBuilder::inherit_network`].
    pub fn allow_ip_name_lookup(&mut self, _enable: bool) -> &mut Self {
        self
    }

    /// Accepted for Wasmtime's API, as [`WasiCtxBuilder::inherit_network`].
    pub fn allow_tcp(&mut self, _enable: bool) -> &mut Self {
        self
    }

    /// Accepted for Wasmtime's API, as [`WasiCtxBuilder::inherit_network`].
    pub fn allow_udp(&mut self, _enable: bool) -> &mut Self {
        self
    }

    /// The guest's time is up at `deadline`: a WASI call that would wait
    /// past it (`poll_oneoff` on a clock or a stream) stops waiting then,
    /// and the guest stops with [`wasm_jit::Trap::Interrupted`], as an epoch
    /// deadline stops Wasm code. Pair it with epoch interruption for the
    /// same instant to bound the guest's wall-clock time.
    pub fn deadline(&mut self, deadline: std::time::Instant) -> &mut Self {
        self.deadline = Some(deadline);
        self
    }

    /// Lets the guest use the host directory `host` under the name `guest`,
    /// with `dir_perms` on it and the directories below, and `file_perms`
    /// on the files (`DirPerms::all(), FilePerms::all()` for everything; an
    /// operation they do not allow fails with `EPERM`). Nothing outside it
    /// is reachable through it.
    pub fn preopened_dir(
        &mut self,
        host: impl AsRef<Path>,
        guest: impl AsRef<str>,
        dir_perms: DirPerms,
        file_perms: FilePerms,
    ) -> Result<&mut Self> {
        let host = host.as_ref();
        let dir = cap_std::fs::Dir::open_ambient_dir(host, ambient_authority())
            .with_context(|| format!("cannot open directory `{}`", host.display()))?;
        self.preopens.push((
            std::sync::Arc::new(dir),
            guest.as_ref().to_string(),
            Perms {
                dir: dir_perms,
                file: file_perms,
            },
        ));
        Ok(self)
    }

    /// What `clock_time_get` and `clock_res_get` answer for the `realtime`
    /// clock, instead of the system's. (`poll_oneoff` waits in real time:
    /// a relative timeout as long as it says, an absolute one until the
    /// supplied clock would reach it if it ran at the system's pace, so a
    /// clock the host stops or sets ahead never hangs the guest.)
    pub fn wall_clock(&mut self, clock: impl clocks::HostWallClock + 'static) -> &mut Self {
        self.hooks.wall = Some(std::sync::Arc::new(std::sync::Mutex::new(clock)));
        self
    }

    /// What `clock_time_get` and `clock_res_get` answer for the `monotonic`
    /// clock, instead of the system's (`poll_oneoff` waits in real time, as
    /// for [`wall_clock`](Self::wall_clock)).
    pub fn monotonic_clock(
        &mut self,
        clock: impl clocks::HostMonotonicClock + 'static,
    ) -> &mut Self {
        self.hooks.monotonic = Some(std::sync::Arc::new(std::sync::Mutex::new(clock)));
        self
    }

    /// Where `random_get` takes its bytes from, instead of the system's
    /// random source: a seeded generator makes a guest's runs repeatable.
    /// Every context this builder builds draws from the same generator.
    /// (Preview1 has no insecure random source, so there is no
    /// `insecure_random`.)
    pub fn secure_random(&mut self, random: impl clocks::RngCore + Send + 'static) -> &mut Self {
        self.hooks.random = Some(std::sync::Arc::new(std::sync::Mutex::new(random)));
        self
    }

    /// The context, as Wasmtime's `build_p1` names it ([`WasiCtx`] is the
    /// preview1 context).
    pub fn build_p1(&mut self) -> WasiCtx {
        self.build()
    }

    /// The context. The builder keeps its settings, so it can build a
    /// context for each of several stores (a [`deadline`](Self::deadline)
    /// is an instant, the same for all of them; a preopened directory is
    /// the same open directory in each).
    pub fn build(&mut self) -> WasiCtx {
        let this = WasiCtxBuilder {
            args: self.args.clone(),
            env: self.env.clone(),
            stdio: self.stdio,
            pipes: self.pipes.clone(),
            preopens: self.preopens.clone(),
            deadline: self.deadline,
            hooks: self.hooks.clone(),
        };
        let mut fds = BTreeMap::new();
        // Descriptors 0-2 are the streams even when not inherited, so that
        // preopens start at 3 as guests expect; an uninherited stream reads
        // as empty and discards writes.
        let inherited = [Descriptor::Stdin, Descriptor::Stdout, Descriptor::Stderr];
        let piped = [
            this.pipes.stdin.is_some(),
            this.pipes.stdout.is_some(),
            this.pipes.stderr.is_some(),
        ];
        let streams = inherited.into_iter().enumerate().map(|(fd, d)| {
            if this.stdio[fd] || piped[fd] {
                Some(d)
            } else {
                null_file(fd != 0)
            }
        });
        for (fd, d) in streams.enumerate() {
            if let Some(d) = d {
                // Standard input is read, the others written (wasi-libc's
                // `fcntl(F_GETFL)` reads the access mode from these rights).
                let unused = if fd == 0 {
                    types::rights::FD_WRITE
                } else {
                    types::rights::FD_READ
                };
                let rights = Rights {
                    base: Rights::STDIO.base & !unused,
                    ..Rights::STDIO
                };
                fds.insert(fd as u32, Entry { desc: d, rights });
            }
        }
        for (n, (dir, guest, perms)) in this.preopens.into_iter().enumerate() {
            fds.insert(
                3 + n as u32,
                Entry {
                    desc: Descriptor::Dir(DirDesc {
                        dir,
                        preopen: Some(guest),
                        perms,
                    }),
                    rights: Rights::PREOPEN,
                },
            );
        }
        WasiCtx(std::sync::Arc::new(std::sync::Mutex::new(State {
            args: this.args,
            env: this.env,
            fds,
            free: Default::default(),
            deadline: this.deadline,
            pipes: this.pipes,
            hooks: this.hooks,
        })))
    }
}

/// `/dev/null` opened for reading or writing; without it the descriptor is
/// simply absent (EBADF).
fn null_file(write: bool) -> Option<Descriptor> {
    let file = std::fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .open("/dev/null")
        .ok()?;
    Some(Descriptor::File(FileDesc {
        file: std::sync::Arc::new(file),
        readable: !write,
        writable: write,
        // (The host's `/dev/null`: its times are not the guest's to set.)
        mutable: false,
        append: false,
        host_fdflags: 0,
        stream: true,
    }))
}
