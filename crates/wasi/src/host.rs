//! Registers the WASI functions with a [`Linker`].

use anyhow::Result;
use wasm_jit::{Caller, Extern, FuncType, Linker, Val, ValType};

use crate::memory::GuestMemory;
use crate::types::{Abi, Errno};
use crate::{I32Exit, State, WasiCtx, fs, misc};

const MODULE: &str = "wasi_snapshot_preview1";
/// The older snapshot's module name (snapshot 0).
const MODULE_PREVIEW0: &str = "wasi_unstable";

fn u32a(a: &[Val], i: usize) -> u32 {
    a[i].i32().expect("checked by the function type") as u32
}

fn u64a(a: &[Val], i: usize) -> u64 {
    a[i].i64().expect("checked by the function type") as u64
}

type WasiFn = fn(&mut State, &mut GuestMemory<'_>, &[Val]) -> Result<(), Errno>;

/// A WASI function that may block (it holds the context itself, only
/// while it does not wait), or that needs no context.
type BlockingFn = fn(&WasiCtx, &mut GuestMemory<'_>, &[Val]) -> Result<(), Errno>;

#[derive(Clone, Copy)]
enum Call {
    Locked(WasiFn),
    Blocking(BlockingFn),
}

impl Call {
    fn run(self, cx: &WasiCtx, m: &mut GuestMemory<'_>, args: &[Val]) -> Result<(), Errno> {
        match self {
            Call::Locked(f) => f(&mut cx.lock(), m, args),
            Call::Blocking(f) => f(cx, m, args),
        }
    }
}

/// Defines every `wasi_snapshot_preview1` function in `linker`. `get` finds
/// the [`WasiCtx`] in the store's data.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> Result<()> {
    define(linker, MODULE, preview1_calls(), get)
}

/// Defines every `wasi_unstable` function (WASI snapshot 0, which programs
/// built by toolchains from before 2020 import) in `linker`, on the same
/// [`WasiCtx`] as preview 1's: the same calls, with snapshot 0's layouts
/// where they differ (`fd_seek`'s `whence`, `filestat`, clock
/// subscriptions).
pub fn add_preview0_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> Result<()> {
    use ValType::{I32, I64};
    let preview0: [(&str, &[ValType], Call); 4] = [
        (
            "fd_seek",
            &[I32, I64, I32, I32],
            Call::Locked(|cx, m, a| {
                use crate::types::whence;
                // Snapshot 0 numbers them cur, end, set.
                let wh = match u32a(a, 2) {
                    0 => whence::CUR,
                    1 => whence::END,
                    2 => whence::SET,
                    _ => u8::MAX,
                };
                fs::fd_seek(cx, m, u32a(a, 0), u64a(a, 1) as i64, wh.into(), u32a(a, 3))
            }),
        ),
        (
            "fd_filestat_get",
            &[I32, I32],
            Call::Locked(|cx, m, a| {
                fs::fd_filestat_get(cx, m, u32a(a, 0), u32a(a, 1), Abi::Preview0)
            }),
        ),
        (
            "path_filestat_get",
            &[I32, I32, I32, I32, I32],
            Call::Locked(|cx, m, a| path_filestat_get(cx, m, a, Abi::Preview0)),
        ),
        (
            "poll_oneoff",
            &[I32, I32, I32, I32],
            Call::Blocking(|cx, m, a| poll_oneoff(cx, m, a, Abi::Preview0)),
        ),
    ];
    let calls = preview1_calls()
        // Preview 1 added `sock_accept`.
        .filter(|(name, ..)| *name != "sock_accept")
        .map(|call| {
            preview0
                .iter()
                .find(|(name, ..)| *name == call.0)
                .copied()
                .unwrap_or(call)
        });
    define(linker, MODULE_PREVIEW0, calls, get)
}

/// Every call of preview 1 but `proc_exit`, with its parameters.
fn preview1_calls() -> impl Iterator<Item = (&'static str, &'static [ValType], Call)> {
    use ValType::{I32, I64};
    let funcs: &[(&str, &[ValType], WasiFn)] = &[
        ("args_get", &[I32, I32], |cx, m, a| {
            misc::args_get(cx, m, u32a(a, 0), u32a(a, 1))
        }),
        ("args_sizes_get", &[I32, I32], |cx, m, a| {
            misc::args_sizes_get(cx, m, u32a(a, 0), u32a(a, 1))
        }),
        ("environ_get", &[I32, I32], |cx, m, a| {
            misc::environ_get(cx, m, u32a(a, 0), u32a(a, 1))
        }),
        ("environ_sizes_get", &[I32, I32], |cx, m, a| {
            misc::environ_sizes_get(cx, m, u32a(a, 0), u32a(a, 1))
        }),
        // No descriptor is ever a socket: a closed one is EBADF, any
        // other ENOTSOCK.
        ("sock_accept", &[I32, I32, I32], |cx, _, a| {
            not_a_socket(cx, u32a(a, 0))
        }),
        ("sock_recv", &[I32, I32, I32, I32, I32, I32], |cx, _, a| {
            not_a_socket(cx, u32a(a, 0))
        }),
        ("sock_send", &[I32, I32, I32, I32, I32], |cx, _, a| {
            not_a_socket(cx, u32a(a, 0))
        }),
        ("sock_shutdown", &[I32, I32], |cx, _, a| {
            not_a_socket(cx, u32a(a, 0))
        }),
        ("fd_advise", &[I32, I64, I64, I32], |cx, _, a| {
            fs::fd_advise(cx, u32a(a, 0), u64a(a, 1), u64a(a, 2), u32a(a, 3))
        }),
        ("fd_allocate", &[I32, I64, I64], |cx, _, a| {
            fs::fd_allocate(cx, u32a(a, 0), u64a(a, 1), u64a(a, 2))
        }),
        ("fd_close", &[I32], |cx, _, a| fs::fd_close(cx, u32a(a, 0))),
        ("fd_datasync", &[I32], |cx, _, a| {
            fs::fd_sync(cx, u32a(a, 0), true)
        }),
        ("fd_sync", &[I32], |cx, _, a| {
            fs::fd_sync(cx, u32a(a, 0), false)
        }),
        ("fd_fdstat_get", &[I32, I32], |cx, m, a| {
            fs::fd_fdstat_get(cx, m, u32a(a, 0), u32a(a, 1))
        }),
        ("fd_fdstat_set_flags", &[I32, I32], |cx, _, a| {
            fs::fd_fdstat_set_flags(cx, u32a(a, 0), u32a(a, 1))
        }),
        ("fd_fdstat_set_rights", &[I32, I64, I64], |cx, _, a| {
            fs::fd_fdstat_set_rights(cx, u32a(a, 0), u64a(a, 1), u64a(a, 2))
        }),
        ("fd_filestat_get", &[I32, I32], |cx, m, a| {
            fs::fd_filestat_get(cx, m, u32a(a, 0), u32a(a, 1), Abi::Preview1)
        }),
        ("fd_filestat_set_size", &[I32, I64], |cx, _, a| {
            fs::fd_filestat_set_size(cx, u32a(a, 0), u64a(a, 1))
        }),
        (
            "fd_filestat_set_times",
            &[I32, I64, I64, I32],
            |cx, _, a| {
                fs::fd_filestat_set_times(cx, u32a(a, 0), u64a(a, 1), u64a(a, 2), u32a(a, 3))
            },
        ),
        ("fd_prestat_get", &[I32, I32], |cx, m, a| {
            fs::fd_prestat_get(cx, m, u32a(a, 0), u32a(a, 1))
        }),
        ("fd_prestat_dir_name", &[I32, I32, I32], |cx, m, a| {
            fs::fd_prestat_dir_name(cx, m, u32a(a, 0), u32a(a, 1), u32a(a, 2))
        }),
        ("fd_readdir", &[I32, I32, I32, I64, I32], |cx, m, a| {
            fs::fd_readdir(
                cx,
                m,
                u32a(a, 0),
                u32a(a, 1),
                u32a(a, 2),
                u64a(a, 3),
                u32a(a, 4),
            )
        }),
        ("fd_renumber", &[I32, I32], |cx, _, a| {
            fs::fd_renumber(cx, u32a(a, 0), u32a(a, 1))
        }),
        ("fd_seek", &[I32, I64, I32, I32], |cx, m, a| {
            fs::fd_seek(cx, m, u32a(a, 0), u64a(a, 1) as i64, u32a(a, 2), u32a(a, 3))
        }),
        ("fd_tell", &[I32, I32], |cx, m, a| {
            fs::fd_seek(cx, m, u32a(a, 0), 0, 1, u32a(a, 1))
        }),
        ("path_create_directory", &[I32, I32, I32], |cx, m, a| {
            fs::path_create_directory(cx, m, u32a(a, 0), u32a(a, 1), u32a(a, 2))
        }),
        (
            "path_filestat_get",
            &[I32, I32, I32, I32, I32],
            |cx, m, a| path_filestat_get(cx, m, a, Abi::Preview1),
        ),
        (
            "path_filestat_set_times",
            &[I32, I32, I32, I32, I64, I64, I32],
            |cx, m, a| {
                fs::path_filestat_set_times(
                    cx,
                    m,
                    u32a(a, 0),
                    u32a(a, 1),
                    u32a(a, 2),
                    u32a(a, 3),
                    u64a(a, 4),
                    u64a(a, 5),
                    u32a(a, 6),
                )
            },
        ),
        (
            "path_link",
            &[I32, I32, I32, I32, I32, I32, I32],
            |cx, m, a| {
                fs::path_link(
                    cx,
                    m,
                    [
                        u32a(a, 0),
                        u32a(a, 1),
                        u32a(a, 2),
                        u32a(a, 3),
                        u32a(a, 4),
                        u32a(a, 5),
                        u32a(a, 6),
                    ],
                )
            },
        ),
        (
            "path_open",
            &[I32, I32, I32, I32, I32, I64, I64, I32, I32],
            |cx, m, a| {
                fs::path_open(
                    cx,
                    m,
                    fs::OpenArgs {
                        fd: u32a(a, 0),
                        dirflags: u32a(a, 1),
                        path: u32a(a, 2),
                        path_len: u32a(a, 3),
                        oflags: u32a(a, 4) as u16,
                        rights_base: u64a(a, 5),
                        rights_inheriting: u64a(a, 6),
                        fdflags: u32a(a, 7) as u16,
                        result: u32a(a, 8),
                    },
                )
            },
        ),
        (
            "path_readlink",
            &[I32, I32, I32, I32, I32, I32],
            |cx, m, a| {
                fs::path_readlink(
                    cx,
                    m,
                    [
                        u32a(a, 0),
                        u32a(a, 1),
                        u32a(a, 2),
                        u32a(a, 3),
                        u32a(a, 4),
                        u32a(a, 5),
                    ],
                )
            },
        ),
        ("path_remove_directory", &[I32, I32, I32], |cx, m, a| {
            fs::path_remove_directory(cx, m, u32a(a, 0), u32a(a, 1), u32a(a, 2))
        }),
        (
            "path_rename",
            &[I32, I32, I32, I32, I32, I32],
            |cx, m, a| {
                fs::path_rename(
                    cx,
                    m,
                    [
                        u32a(a, 0),
                        u32a(a, 1),
                        u32a(a, 2),
                        u32a(a, 3),
                        u32a(a, 4),
                        u32a(a, 5),
                    ],
                )
            },
        ),
        ("path_symlink", &[I32, I32, I32, I32, I32], |cx, m, a| {
            fs::path_symlink(
                cx,
                m,
                [u32a(a, 0), u32a(a, 1), u32a(a, 2), u32a(a, 3), u32a(a, 4)],
            )
        }),
        ("path_unlink_file", &[I32, I32, I32], |cx, m, a| {
            fs::path_unlink_file(cx, m, u32a(a, 0), u32a(a, 1), u32a(a, 2))
        }),
    ];
    let blocking: &[(&str, &[ValType], BlockingFn)] = &[
        ("poll_oneoff", &[I32, I32, I32, I32], |cx, m, a| {
            poll_oneoff(cx, m, a, Abi::Preview1)
        }),
        ("fd_read", &[I32, I32, I32, I32], |cx, m, a| {
            fs::fd_read(cx, m, u32a(a, 0), u32a(a, 1), u32a(a, 2), u32a(a, 3))
        }),
        ("fd_write", &[I32, I32, I32, I32], |cx, m, a| {
            fs::fd_write(cx, m, u32a(a, 0), u32a(a, 1), u32a(a, 2), u32a(a, 3))
        }),
        ("fd_pread", &[I32, I32, I32, I64, I32], |cx, m, a| {
            fs::fd_pread(
                cx,
                m,
                u32a(a, 0),
                u32a(a, 1),
                u32a(a, 2),
                u64a(a, 3),
                u32a(a, 4),
            )
        }),
        ("fd_pwrite", &[I32, I32, I32, I64, I32], |cx, m, a| {
            fs::fd_pwrite(
                cx,
                m,
                u32a(a, 0),
                u32a(a, 1),
                u32a(a, 2),
                u64a(a, 3),
                u32a(a, 4),
            )
        }),
        // The context only for the clocks and random source the host
        // supplied.
        ("clock_res_get", &[I32, I32], |cx, m, a| {
            misc::clock_res_get(cx, m, u32a(a, 0), u32a(a, 1))
        }),
        ("clock_time_get", &[I32, I64, I32], |cx, m, a| {
            misc::clock_time_get(cx, m, u32a(a, 0), u64a(a, 1), u32a(a, 2))
        }),
        ("random_get", &[I32, I32], |cx, m, a| {
            misc::random_get(cx, m, u32a(a, 0), u32a(a, 1))
        }),
        ("sched_yield", &[], |_, _, _| misc::sched_yield()),
        ("proc_raise", &[I32], |_, _, _| Err(Errno::NOTSUP)),
    ];
    funcs
        .iter()
        .map(|&(name, params, f)| (name, params, Call::Locked(f)))
        .chain(
            blocking
                .iter()
                .map(|&(name, params, f)| (name, params, Call::Blocking(f))),
        )
}

/// Defines `calls` and `proc_exit` in `linker` under `module`.
fn define<T: 'static>(
    linker: &mut Linker<T>,
    module: &str,
    calls: impl Iterator<Item = (&'static str, &'static [ValType], Call)>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> Result<()> {
    use ValType::I32;
    for (name, params, f) in calls {
        let ty = FuncType::new(linker.engine(), params.iter().copied(), [ValType::I32]);
        linker.func_new(
            module,
            name,
            ty,
            move |mut caller: Caller<'_, T>, args, results| {
                let errno = match caller.get_export("memory") {
                    Some(Extern::Memory(memory)) => {
                        let (bytes, data) = memory.data_and_store_mut(&mut caller);
                        f.run(get(data), &mut GuestMemory::Own(bytes), args)
                    }
                    Some(Extern::SharedMemory(memory)) => f.run(
                        get(caller.data_mut()),
                        &mut GuestMemory::Shared(memory.data()),
                        args,
                    ),
                    _ => f.run(get(caller.data_mut()), &mut GuestMemory::Own(&mut []), args),
                };
                // A wait cut short by the guest's deadline stops the guest.
                if errno == Err(Errno::DEADLINE) {
                    return Err(anyhow::Error::new(wasm_jit::Trap::Interrupted));
                }
                results[0] = Val::I32(match errno {
                    Ok(()) => 0,
                    Err(e) => e.0 as i32,
                });
                Ok(())
            },
        )?;
    }
    let ty = FuncType::new(linker.engine(), [I32], []);
    linker.func_new(module, "proc_exit", ty, |_, args, _| {
        Err(I32Exit(args[0].i32().expect("checked by the function type")).into())
    })?;
    Ok(())
}

/// `path_filestat_get` of either snapshot, its arguments as given.
fn path_filestat_get(cx: &mut State, m: &mut GuestMemory<'_>, a: &[Val], abi: Abi) -> R {
    let [fd, flags, path, len, out] = [0, 1, 2, 3, 4].map(|i| u32a(a, i));
    fs::path_filestat_get(cx, m, fd, flags, path, len, out, abi)
}

/// `poll_oneoff` of either snapshot, its arguments as given.
fn poll_oneoff(cx: &WasiCtx, m: &mut GuestMemory<'_>, a: &[Val], abi: Abi) -> R {
    let [subs, events, nsubs, nevents] = [0, 1, 2, 3].map(|i| u32a(a, i));
    misc::poll_oneoff(cx, m, subs, events, nsubs, nevents, abi)
}

type R = Result<(), Errno>;

/// The answer of every `sock_*` call: no descriptor here is a socket.
fn not_a_socket(cx: &mut State, fd: u32) -> Result<(), Errno> {
    cx.get(fd)?;
    Err(Errno::NOTSOCK)
}
