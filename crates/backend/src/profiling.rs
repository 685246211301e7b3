//! Telling profilers about compiled code (`wasm-jit run --profile=...`,
//! `Config::profiler`). Each function placed in executable memory is
//! reported to the profilers enabled in this process:
//!
//! - **perf map**: a line `START SIZE NAME` added to `/tmp/perf-PID.map`
//!   (created afresh when the process enables it),
//!   which `perf report` reads to name JIT code.
//! - **jitdump**: a `JIT_CODE_LOAD` record (address, size, name and the code
//!   bytes) appended to `./jit-PID.dump` in the format of perf's
//!   `jitdump-specification.txt`. The file is mapped executable once so that
//!   `perf record -k mono` notes its path, and `perf inject --jit` then turns
//!   the records into symbol files: unlike the map, this survives code being
//!   freed and lets `perf annotate` show the machine code.
//!
//! Failing to write a profile after it was enabled never fails the program.

use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether any profiler was enabled: checked as code is placed, so that
/// names are built and locks taken only when profiling.
static ENABLED: AtomicBool = AtomicBool::new(false);
static PERF_MAP: Mutex<Option<std::fs::File>> = Mutex::new(None);
static JIT_DUMP: Mutex<Option<JitDump>> = Mutex::new(None);

/// A profiler [`enable`] can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profiler {
    /// `/tmp/perf-PID.map`.
    PerfMap,
    /// `./jit-PID.dump`.
    JitDump,
}

/// Starts reporting to `profiler` for the rest of the process (idempotent).
/// The error names the file that could not be written.
pub fn enable(profiler: Profiler) -> Result<(), String> {
    match profiler {
        Profiler::PerfMap => {
            let mut map = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
            if map.is_none() {
                let path = format!("/tmp/perf-{}.map", std::process::id());
                // A map left by an earlier process with the same id would
                // name addresses that are not ours: start it afresh, as a
                // new file (never through a link someone left there).
                let _ = std::fs::remove_file(&path);
                let file = std::fs::File::options()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(|e| format!("cannot write the perf map {path}: {e}"))?;
                *map = Some(file);
            }
        }
        Profiler::JitDump => {
            let mut dump = JIT_DUMP.lock().unwrap_or_else(|e| e.into_inner());
            if dump.is_none() {
                let path = format!("./jit-{}.dump", std::process::id());
                *dump = Some(
                    JitDump::create(&path)
                        .map_err(|e| format!("cannot write the jitdump file {path}: {e}"))?,
                );
            }
        }
    }
    ENABLED.store(true, Ordering::Release);
    Ok(())
}

/// One placed function: its address, its machine code (`code.len()` is its
/// size) and the name profilers show.
pub(crate) struct PlacedFunc<'a> {
    pub addr: usize,
    pub code: &'a [u8],
    pub name: String,
}

/// Whether any profiler is on (names are only built when one is).
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// Reports functions just placed in executable memory to every enabled
/// profiler.
pub(crate) fn record(funcs: &[PlacedFunc<'_>]) {
    if let Some(file) = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        let mut text = String::new();
        for f in funcs {
            // perf reads one line per symbol: keep names on one line.
            let name = f.name.replace(['\n', '\r'], " ");
            text.push_str(&format!("{:x} {:x} {name}\n", f.addr, f.code.len()));
        }
        let _ = file.write_all(text.as_bytes());
    }
    if let Some(dump) = JIT_DUMP.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        dump.record(funcs);
    }
}

const JITDUMP_MAGIC: u32 = 0x4A69_5444;
const JITDUMP_VERSION: u32 = 1;
const JITDUMP_HEADER_SIZE: u32 = 40;
const JIT_CODE_LOAD: u32 = 0;
const CODE_LOAD_FIXED_SIZE: usize = 16 + 4 + 4 + 8 + 8 + 8 + 8;

/// The ELF machine perf expects in the header (`e_machine`).
const ELF_MACHINE: u32 = if cfg!(target_arch = "x86_64") {
    62
} else if cfg!(target_arch = "aarch64") {
    183
} else if cfg!(target_arch = "riscv64") {
    243
} else if cfg!(target_arch = "s390x") {
    22
} else {
    0
};

struct JitDump {
    file: std::fs::File,
    /// The executable mapping of the file's first bytes: its only purpose is
    /// the `mmap` event perf records, so it is kept, never read, until exit.
    _marker: memmap2::Mmap,
    next_index: u64,
}

impl JitDump {
    fn create(path: &str) -> std::io::Result<JitDump> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .read(true)
            .open(path)?;
        let mut header = Vec::with_capacity(JITDUMP_HEADER_SIZE as usize);
        header.extend_from_slice(&JITDUMP_MAGIC.to_ne_bytes());
        header.extend_from_slice(&JITDUMP_VERSION.to_ne_bytes());
        header.extend_from_slice(&JITDUMP_HEADER_SIZE.to_ne_bytes());
        header.extend_from_slice(&ELF_MACHINE.to_ne_bytes());
        header.extend_from_slice(&0u32.to_ne_bytes());
        header.extend_from_slice(&std::process::id().to_ne_bytes());
        header.extend_from_slice(&timestamp().to_ne_bytes());
        header.extend_from_slice(&0u64.to_ne_bytes());
        file.write_all(&header)?;
        // SAFETY: the mapping is private and read+execute only, of a file
        // this process created; nothing reads or runs it (it exists so the
        // kernel reports the file's path to perf), so later writes to the
        // file cannot be observed through it.
        let marker = unsafe {
            memmap2::MmapOptions::new()
                .len(JITDUMP_HEADER_SIZE as usize)
                .map_exec(&file)?
        };
        Ok(JitDump {
            file,
            _marker: marker,
            next_index: 0,
        })
    }

    fn record(&mut self, funcs: &[PlacedFunc<'_>]) {
        let pid = std::process::id();
        let tid = thread_id();
        let mut out = Vec::new();
        for f in funcs {
            let name = f.name.replace('\0', " ");
            let size = CODE_LOAD_FIXED_SIZE + name.len() + 1 + f.code.len();
            out.extend_from_slice(&JIT_CODE_LOAD.to_ne_bytes());
            out.extend_from_slice(&(size as u32).to_ne_bytes());
            out.extend_from_slice(&timestamp().to_ne_bytes());
            out.extend_from_slice(&pid.to_ne_bytes());
            out.extend_from_slice(&tid.to_ne_bytes());
            out.extend_from_slice(&(f.addr as u64).to_ne_bytes()); // vma
            out.extend_from_slice(&(f.addr as u64).to_ne_bytes()); // code_addr
            out.extend_from_slice(&(f.code.len() as u64).to_ne_bytes());
            out.extend_from_slice(&self.next_index.to_ne_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(f.code);
            self.next_index += 1;
        }
        let _ = self.file.write_all(&out);
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: the clock `perf record -k mono` stamps
/// its samples with, so perf can order code loads among them.
fn timestamp() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(target_os = "linux")]
fn thread_id() -> u32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() as u32 }
}

#[cfg(not(target_os = "linux"))]
fn thread_id() -> u32 {
    std::process::id()
}
