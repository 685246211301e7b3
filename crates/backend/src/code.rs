//! Executable memory for compiled code, linking, and the process-wide
//! registry that maps a pc to the trap code and function it belongs to.
//!
//! Code is written into an anonymous read-write `memmap2` mapping, linked
//! (relocations patched), then turned read+execute in place. It is never
//! writable and executable at once, and never writable again.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::ir::TrapCode;

use crate::compile::{CompiledFunction, ExceptionSite, RelocTarget, SrcLocs, TrapSites};

unsafe extern "C" {
    fn wasm_jit_flush_icache(start: *mut u8, end: *mut u8);
}

/// A compiled function placed in a [`CodeMemory`].
#[derive(Clone, Debug)]
struct FuncRange {
    start: u32,
    end: u32,
    /// Wasm function index, or `None` for trampolines.
    wasm_index: Option<u32>,
    /// Code offset (relative to the function) → module byte offset.
    srclocs: SrcLocs,
    /// Trap sites (offsets relative to the function).
    traps: TrapSites,
}

/// Where a Wasm frame was: which function of which module, and the offset
/// of the instruction within the compiled function.
#[derive(Clone, Debug)]
pub struct FrameInfo {
    /// Wasm function index.
    pub func_index: u32,
    /// Name from the name section, if any.
    pub func_name: Option<String>,
    /// Name of the module, if it has one.
    pub module_name: Option<String>,
    /// Byte offset in the module of the instruction executing in this frame.
    pub module_offset: Option<u32>,
    /// The same, from the start of the function's body.
    pub func_offset: Option<u32>,
}

/// Names of functions, for backtraces.
#[derive(Clone, Debug, Default)]
pub struct CodeNames {
    /// Module name.
    pub module: Option<String>,
    /// Function names by index.
    pub funcs: std::collections::HashMap<u32, String>,
    /// Module offset of each defined function's body.
    pub body_offsets: Vec<u32>,
    /// Imported functions, which come before the defined ones.
    pub num_imported_funcs: u32,
}

impl CodeNames {
    /// The names and body offsets of `info`'s functions, for a module
    /// compiled or loaded under `module`. The module's own name (its name
    /// section's) comes first, as in `Module::name` (and Wasmtime's
    /// backtraces).
    pub fn new(module: Option<String>, info: &wasm_jit_frontend::module::ModuleInfo) -> CodeNames {
        CodeNames {
            module: info.name.clone().or(module),
            funcs: info.func_names.clone(),
            body_offsets: info.body_offsets.clone(),
            num_imported_funcs: info.num_imported_funcs,
        }
    }
}

struct Registered {
    end: usize,
    funcs: Vec<FuncRange>,
    names: Arc<CodeNames>,
    /// Calls with exception handlers, offsets relative to the region,
    /// sorted by return address.
    exceptions: Vec<ExceptionSite>,
}

/// What the code at a return address is, for the exception unwinder.
pub(crate) enum ReturnSite<T> {
    /// Not a Wasm function of a placed module (a trampoline, or host code).
    NotWasm,
    /// A Wasm function; what the unwinder made of the handlers of the call
    /// returning there, or `None` when it has none.
    Wasm(Option<T>),
}

/// What the code at return address `pc` is; `handlers` is given the call's
/// exception handlers, if it has any (code offsets relative to the region
/// starting at the address given), while the registry is read (so nothing
/// is copied out of it).
pub(crate) fn return_site<T>(
    pc: usize,
    handlers: impl FnOnce(usize, &ExceptionSite) -> T,
) -> ReturnSite<T> {
    with_registry(|reg| {
        let Some((&start, r)) = reg.range(..=pc).next_back() else {
            return ReturnSite::NotWasm;
        };
        if pc >= r.end {
            return ReturnSite::NotWasm;
        }
        let off = (pc - start) as u32;
        let i = r.funcs.partition_point(|f| f.start < off);
        match i.checked_sub(1).map(|i| &r.funcs[i]) {
            Some(f) if off <= f.end && f.wasm_index.is_some() => {}
            _ => return ReturnSite::NotWasm,
        }
        let site = r
            .exceptions
            .binary_search_by_key(&off, |s| s.ret)
            .ok()
            .map(|i| handlers(start, &r.exceptions[i]));
        ReturnSite::Wasm(site)
    })
}

/// Code regions by start address.
///
/// The signal handler reads it too. A thread faulting in Wasm code holds no
/// lock of its own (it is running Wasm), so the handler may wait for
/// another thread's writer. A thread that faults while it holds the lock
/// itself (a fault in the engine, never a Wasm trap) is recognised by
/// `LOCK_DEPTH` and not treated as a trap, so it cannot deadlock.
static REGISTRY: RwLock<BTreeMap<usize, Registered>> = RwLock::new(BTreeMap::new());

thread_local! {
    static LOCK_DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn with_registry<R>(f: impl FnOnce(&BTreeMap<usize, Registered>) -> R) -> R {
    LOCK_DEPTH.with(|d| d.set(d.get() + 1));
    let r = f(&REGISTRY.read().unwrap_or_else(|e| e.into_inner()));
    LOCK_DEPTH.with(|d| d.set(d.get() - 1));
    r
}

fn with_registry_mut<R>(f: impl FnOnce(&mut BTreeMap<usize, Registered>) -> R) -> R {
    LOCK_DEPTH.with(|d| d.set(d.get() + 1));
    let r = f(&mut REGISTRY.write().unwrap_or_else(|e| e.into_inner()));
    LOCK_DEPTH.with(|d| d.set(d.get() - 1));
    r
}

/// Reads the registry from the signal handler (or from a frame walk that
/// may run where it does); `None` when this thread already holds the lock.
fn with_registry_in_handler<R>(f: impl FnOnce(&BTreeMap<usize, Registered>) -> R) -> Option<R> {
    if LOCK_DEPTH.with(|d| d.get()) != 0 {
        return None;
    }
    Some(with_registry(f))
}

/// The trap code of the trap site at `pc`, if `pc` is one in Wasm code.
pub(crate) fn lookup_trap(pc: usize) -> Option<TrapCode> {
    with_registry_in_handler(|reg| trap_at(reg, pc)).flatten()
}

fn trap_at(reg: &BTreeMap<usize, Registered>, pc: usize) -> Option<TrapCode> {
    let (start, r) = reg.range(..=pc).next_back()?;
    if pc >= r.end {
        return None;
    }
    let off = (pc - start) as u32;
    let i = r.funcs.partition_point(|f| f.start <= off);
    let f = &r.funcs[i.checked_sub(1)?];
    if off >= f.end {
        return None;
    }
    f.traps.at(off - f.start)
}

/// Whether `pc` lies in registered code (for frame walks: the signal
/// handler's, and `traps::host_caller_frames`).
pub(crate) fn is_wasm_pc(pc: usize) -> bool {
    with_registry_in_handler(|reg| match reg.range(..=pc).next_back() {
        Some((_, r)) => pc < r.end,
        None => false,
    })
    .unwrap_or(false)
}

/// Describes the Wasm frames among `pcs` (trampolines are skipped).
pub(crate) fn frames(pcs: &[usize]) -> Vec<FrameInfo> {
    with_registry(|reg| frames_in(reg, pcs))
}

fn frames_in(reg: &BTreeMap<usize, Registered>, pcs: &[usize]) -> Vec<FrameInfo> {
    let mut out = Vec::new();
    for &pc in pcs {
        let Some((start, r)) = reg.range(..=pc).next_back() else {
            continue;
        };
        if pc >= r.end {
            continue;
        }
        let off = (pc - start) as u32;
        let i = r.funcs.partition_point(|f| f.start <= off);
        if i == 0 {
            continue;
        }
        let f = &r.funcs[i - 1];
        if off >= f.end {
            continue;
        }
        if let Some(index) = f.wasm_index {
            let in_func = off - f.start;
            let module_offset = f.srclocs.module_offset(in_func);
            let body = index
                .checked_sub(r.names.num_imported_funcs)
                .and_then(|d| r.names.body_offsets.get(d as usize));
            out.push(FrameInfo {
                func_index: index,
                func_name: r.names.funcs.get(&index).cloned(),
                module_name: r.names.module.clone(),
                module_offset,
                func_offset: module_offset
                    .zip(body)
                    .and_then(|(at, &body)| at.checked_sub(body)),
            });
        }
    }
    out
}

/// Compiled code of one module (or one trampoline), mapped executable.
pub struct CodeMemory {
    mmap: memmap2::Mmap,
    func_starts: Vec<u32>,
}

impl std::fmt::Debug for CodeMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeMemory")
            .field("len", &self.mmap.len())
            .finish()
    }
}

const FUNC_ALIGN: usize = 16;

/// Offsets of `funcs` laid out one after another, each aligned, and the
/// total size.
pub(crate) fn layout(funcs: &[CompiledFunction]) -> (Vec<u32>, usize) {
    let mut starts = Vec::with_capacity(funcs.len());
    let mut size = 0usize;
    for f in funcs {
        size = size.next_multiple_of(FUNC_ALIGN);
        starts.push(size as u32);
        size += f.code.len();
    }
    (starts, size)
}

/// Copies `funcs` to their `starts` in `buf`, which will run at address
/// `base`, and patches their relocations. A relocation to a Wasm function
/// names it through `func_addr` (`None`: not in this placement).
pub(crate) fn write_linked(
    buf: &mut [u8],
    base: usize,
    funcs: &[CompiledFunction],
    starts: &[u32],
    func_addr: impl Fn(u32) -> Option<usize>,
) -> Result<(), String> {
    for (f, &start) in funcs.iter().zip(starts) {
        buf[start as usize..start as usize + f.code.len()].copy_from_slice(&f.code);
    }
    for (f, &start) in funcs.iter().zip(starts) {
        for r in &f.relocs {
            let site = start as usize + r.offset as usize;
            let target = match r.target {
                RelocTarget::Func(index) => func_addr(index)
                    .ok_or_else(|| format!("relocation to unknown function {index}"))?,
                RelocTarget::LibCall(lc) => crate::compile::libcall_address(lc)
                    .ok_or_else(|| format!("no runtime library call {lc:?}"))?,
            };
            let value = (target as i64).wrapping_add(r.addend);
            match r.kind {
                Reloc::Abs8 => {
                    buf[site..site + 8].copy_from_slice(&(value as u64).to_le_bytes());
                }
                Reloc::X86CallPCRel4 | Reloc::X86PCRel4 | Reloc::X86CallPLTRel4 => {
                    let rel = value - (base + site) as i64;
                    let rel = i32::try_from(rel)
                        .map_err(|_| "call displacement out of range".to_string())?;
                    buf[site..site + 4].copy_from_slice(&rel.to_le_bytes());
                }
                Reloc::Arm64Call => {
                    let rel = (value - (base + site) as i64) >> 2;
                    if !(-(1 << 25)..(1 << 25)).contains(&rel) {
                        return Err("call displacement out of range".to_string());
                    }
                    let mut word = u32::from_le_bytes(buf[site..site + 4].try_into().unwrap());
                    word |= (rel as u32) & 0x03ff_ffff;
                    buf[site..site + 4].copy_from_slice(&word.to_le_bytes());
                }
                other => return Err(format!("unsupported relocation kind {other:?}")),
            }
        }
    }
    Ok(())
}

/// Publishes placed, executable code: its trap sites and function ranges
/// go into the registry (so faults in it become traps and backtraces name
/// its functions), and the profiler, if one is on, hears of it.
///
/// # Safety
/// `base..base + size` must be executable code holding `funcs` at
/// `starts`, and stay mapped until [`unregister`]`(base)`.
pub(crate) unsafe fn register(
    base: usize,
    size: usize,
    funcs: &[CompiledFunction],
    starts: &[u32],
    names: Arc<CodeNames>,
) {
    let mut ranges = Vec::new();
    let mut exceptions = Vec::new();
    for (f, &start) in funcs.iter().zip(starts) {
        exceptions.extend(f.exceptions.iter().map(|s| ExceptionSite {
            ret: start + s.ret,
            handlers: s.handlers.iter().map(|&(t, h)| (t, start + h)).collect(),
            ..s.clone()
        }));
        ranges.push(FuncRange {
            start,
            end: start + f.code.len() as u32,
            wasm_index: f.wasm_index,
            srclocs: f.srclocs.clone(),
            traps: f.traps.clone(),
        });
    }
    exceptions.sort_by_key(|s| s.ret);
    if crate::profiling::enabled() {
        // SAFETY: per the contract, the range is mapped and readable.
        let code = unsafe { std::slice::from_raw_parts(base as *const u8, size) };
        let placed: Vec<_> = ranges
            .iter()
            .map(|r| crate::profiling::PlacedFunc {
                addr: base + r.start as usize,
                code: &code[r.start as usize..r.end as usize],
                name: match r.wasm_index {
                    Some(i) => format!(
                        "{}!{}",
                        names.module.as_deref().unwrap_or("<module>"),
                        names
                            .funcs
                            .get(&i)
                            .cloned()
                            .unwrap_or_else(|| format!("<wasm function {i}>"))
                    ),
                    None => "wasm-jit trampoline".to_string(),
                },
            })
            .collect();
        crate::profiling::record(&placed);
    }
    with_registry_mut(|reg| {
        reg.insert(
            base,
            Registered {
                end: base + size,
                funcs: ranges,
                names,
                exceptions,
            },
        )
    });
}

/// Removes the code registered at `base`.
pub(crate) fn unregister(base: usize) {
    with_registry_mut(|reg| reg.remove(&base));
}

impl CodeMemory {
    /// Lays out, links and publishes `funcs`. Function `i` of `funcs` is the
    /// target of relocations naming `RelocTarget::Func(wasm_index)` through
    /// `index_of`, which maps a Wasm function index to a position in `funcs`.
    pub fn new(
        funcs: &[CompiledFunction],
        index_of: impl Fn(u32) -> Option<usize>,
        names: Arc<CodeNames>,
    ) -> Result<CodeMemory, String> {
        let (starts, size) = layout(funcs);
        let mut map = memmap2::MmapMut::map_anon(size.max(1))
            .map_err(|e| format!("cannot map code memory: {e}"))?;
        let base = map.as_ptr() as usize;
        write_linked(&mut map, base, funcs, &starts, |index| {
            // (A loaded artifact's relocation may name any index.)
            index_of(index)
                .and_then(|i| starts.get(i))
                .map(|&start| base + start as usize)
        })?;
        let mmap = map
            .make_exec()
            .map_err(|e| format!("cannot make code executable: {e}"))?;
        // SAFETY: the range is exactly the mapping just made executable.
        unsafe {
            let start = mmap.as_ptr() as *mut u8;
            wasm_jit_flush_icache(start, start.add(mmap.len()));
        }
        // SAFETY: the mapping holds `funcs` at `starts`, is executable, and
        // is unregistered before it is unmapped (`Drop`).
        unsafe { register(base, size, funcs, &starts, names) };
        Ok(CodeMemory {
            mmap,
            func_starts: starts,
        })
    }

    /// Address of the `i`th function given to [`CodeMemory::new`].
    pub fn func_ptr(&self, i: usize) -> *const u8 {
        // SAFETY: every start lies inside the mapping.
        unsafe { self.mmap.as_ptr().add(self.func_starts[i] as usize) }
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        unregister(self.mmap.as_ptr() as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{CompiledFunction, Relocation};
    use cranelift_codegen::binemit::Reloc;

    /// A call to a function index past the ones given (as a damaged
    /// artifact or cache entry may hold) is an error, not a panic.
    #[test]
    fn a_call_to_a_function_not_given_is_an_error() {
        let f = CompiledFunction {
            // call rel32; ret
            code: vec![0xe8, 0, 0, 0, 0, 0xc3].into(),
            relocs: vec![Relocation {
                offset: 1,
                kind: Reloc::X86CallPCRel4,
                target: RelocTarget::Func(1 << 25),
                addend: -4,
            }],
            traps: Default::default(),
            wasm_index: Some(0),
            srclocs: Default::default(),
            exceptions: Vec::new(),
            quick: false,
            final_tier: false,
        };
        let Err(err) = CodeMemory::new(&[f], |i| Some(i as usize), Arc::default()) else {
            panic!("a call to a function not given was linked");
        };
        assert!(err.contains("unknown function 33554432"), "{err}");
    }
}
