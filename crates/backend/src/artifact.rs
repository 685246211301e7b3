//! Compiled modules as bytes (`.cwasm`): the module's Wasm binary and the
//! machine code of its defined functions, with their relocations, trap sites
//! and source locations, behind a header that names the engine version, the
//! target and every setting that changes code. Eagerly compiled code has
//! every function; lazily compiled code (whose calls go through code slots)
//! has those compiled so far. Loading checks the header, a checksum of the
//! whole and the structure, never what the code does: an artifact is
//! trusted input.
//!
//! The trampolines between the host's calling convention and Wasm's for
//! the function types of the module's imports and exports follow, so that
//! loading compiles nothing.
//!
//! ```text
//! "\0wasm-jit-cwasmA"  fingerprint: str  mode: u8  wasm: bytes  count: u32
//! per function: present: u8; if 1: function
//! trampolines: u32 × (kind u8 (0 Wasm-to-host, 1 host-to-Wasm),
//!                     params: bytes  results: bytes (a byte per value type:
//!                     i32 i64 f32 f64 v128 funcref externref = 0..6),
//!                     function)
//! checksum: 2 × u64 ([`bytes_hash`] of every byte before it)
//! function:     index: u32 (u32::MAX: none)  code: bytes
//!               relocs: u32 × (offset u32, kind u8, target u8, value u32, addend i64)
//!               traps: u32 × (offset u32, code u8)  srclocs: u32 × (offset u32, loc u32)
//!               exceptions: u32 × (ret u32, frame_offset u32, context u32,
//!                                  handlers: u32 × (tag u32 (u32::MAX: any), offset u32))
//!               tier: u8 (0: optimised, 1: quick first-tier code, in code cache
//!                         entries only, 2: final-tier code of lazy compilation,
//!                         which calls other functions directly)
//! ```
//! `mode` is 0 for eager code, 1 for lazily compiled code, 3 for lazily
//! compiled code saved by a long run (see [`Artifact::long_run`]).
//! Integers are little-endian; `str` and `bytes` are a u32 length and the bytes.
//! The format version is the magic's last byte (`1`–`9`, then `A`).
//!
//! The checksum, checked right after the magic (so that damage to the
//! header is not taken for another engine's fingerprint), catches damage
//! present when an artifact is loaded (a disk error, a bit flipped in a
//! copy, a file cut short or written over in part) before anything in it
//! is used, so a damaged code cache entry is compiled again rather than
//! run. A file written over in place after it was loaded is another
//! matter: code placed late (final-tier code whose callees were missing)
//! is read from the mapping then; this crate only ever replaces cache
//! entries by renaming. Nor is a checksum a defence against a forger, who
//! can write one too: artifacts stay trusted input.

use cranelift_codegen::binemit::Reloc;

use wasm_jit_frontend::{FuncType, WasmType};

use crate::compile::{
    Backing, CompiledFunction, ExceptionSite, LIBCALLS, RelocTarget, Relocation, SharedBytes,
    SrcLocs, TrapSites,
};

/// The first bytes of every artifact.
pub const MAGIC: &[u8; 16] = b"\0wasm-jit-cwasmA";

/// The first bytes of an artifact of any format version.
pub const FORMAT_PREFIX: &[u8] = b"\0wasm-jit-cwasm";

const RELOCS: [Reloc; 5] = [
    Reloc::Abs8,
    Reloc::X86CallPCRel4,
    Reloc::X86PCRel4,
    Reloc::X86CallPLTRel4,
    Reloc::Arm64Call,
];

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

/// What an artifact holds.
#[derive(Debug)]
pub struct Artifact<'a> {
    /// The module's Wasm binary.
    pub wasm: &'a [u8],
    /// Whether the code was compiled for lazy compilation.
    pub lazy: bool,
    /// Lazily compiled code saved (to the code cache) by a run that went
    /// on long enough to gain from compiling ahead: the next load compiles
    /// ahead at once rather than after a delay, so that runs as long
    /// converge on eager code.
    pub long_run: bool,
    /// Each defined function's code (`None`: not compiled yet; only in lazy
    /// artifacts).
    pub functions: Vec<Option<CompiledFunction>>,
    /// Trampolines for the module's imports and exports.
    pub trampolines: Vec<SavedTrampoline>,
    /// `wasm` in what keeps the artifact's bytes, if they are not to be
    /// copied.
    wasm_kept: Option<SharedBytes>,
}

impl Artifact<'_> {
    /// The module's Wasm binary, to keep: a copy, or, for an artifact from
    /// [`deserialize_shared`], its part of the backing.
    pub fn wasm_bytes(&self) -> SharedBytes {
        self.wasm_kept
            .clone()
            .unwrap_or_else(|| SharedBytes::from(self.wasm))
    }
}

/// Which calls a trampoline converts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrampolineKind {
    /// Wasm calling a host function (`Compiler::host_trampoline`).
    Host,
    /// The host calling a Wasm function (`Compiler::array_trampoline`).
    Array,
}

/// A trampoline's machine code, saved with a module.
#[derive(Clone, Debug)]
pub struct SavedTrampoline {
    /// Which calls it converts.
    pub kind: TrampolineKind,
    /// The function type it is for.
    pub ty: FuncType,
    /// Its code.
    pub code: CompiledFunction,
}

/// The value types a saved trampoline's function type may have (no
/// concrete references: their canonical form depends on the engine's type
/// registry).
const VALUE_TYPES: [WasmType; 7] = [
    WasmType::I32,
    WasmType::I64,
    WasmType::F32,
    WasmType::F64,
    WasmType::V128,
    WasmType::FuncRef,
    WasmType::ExternRef,
];

/// Whether a trampoline for `ty` can be saved in an artifact.
pub fn savable(ty: &FuncType) -> bool {
    ty.params()
        .iter()
        .chain(ty.results())
        .all(|t| VALUE_TYPES.contains(t))
}

fn type_codes(types: &[WasmType]) -> Result<Vec<u8>, String> {
    types
        .iter()
        .map(|t| {
            VALUE_TYPES
                .iter()
                .position(|v| v == t)
                .map(|i| i as u8)
                .ok_or_else(|| format!("a trampoline for type {t:?} cannot be saved"))
        })
        .collect()
}

fn types_of(codes: &[u8]) -> Result<Vec<WasmType>, String> {
    codes
        .iter()
        .map(|&c| {
            VALUE_TYPES
                .get(c as usize)
                .copied()
                .ok_or_else(|| "bad trampoline type in the artifact".to_string())
        })
        .collect()
}

/// The artifact of `wasm` compiled to `funcs` under `fingerprint`, lazily
/// (calls through code slots) or not, with `trampolines` (see
/// [`savable`]).
pub fn serialize(
    fingerprint: &str,
    wasm: &[u8],
    lazy: bool,
    long_run: bool,
    funcs: &[Option<CompiledFunction>],
    trampolines: &[SavedTrampoline],
) -> Result<Vec<u8>, String> {
    if !lazy && funcs.iter().any(Option::is_none) {
        return Err("a function is not compiled".into());
    }
    let mut out = MAGIC.to_vec();
    put_bytes(&mut out, fingerprint.as_bytes());
    out.push(match (lazy, long_run) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 3,
    });
    put_bytes(&mut out, wasm);
    put_u32(&mut out, funcs.len() as u32);
    for f in funcs {
        let Some(f) = f else {
            out.push(0);
            continue;
        };
        out.push(1);
        put_function(&mut out, f)?;
    }
    put_u32(&mut out, trampolines.len() as u32);
    for t in trampolines {
        out.push(match t.kind {
            TrampolineKind::Host => 0,
            TrampolineKind::Array => 1,
        });
        put_bytes(&mut out, &type_codes(t.ty.params())?);
        put_bytes(&mut out, &type_codes(t.ty.results())?);
        put_function(&mut out, &t.code)?;
    }
    let (a, b) = bytes_hash(&out);
    out.extend_from_slice(&a.to_le_bytes());
    out.extend_from_slice(&b.to_le_bytes());
    Ok(out)
}

/// A 128-bit hash of `bytes` at over 10 GB/s (a warm start hashes the
/// whole module for its cache key, and the whole artifact to check it):
/// four lanes over 32-byte blocks, each word multiplied in, rotated and
/// multiplied again (so a change in a word's top bit does not pass
/// through linearly to cancel against a later word), finished with a
/// 64-bit avalanche mix. Not cryptographic.
pub fn bytes_hash(bytes: &[u8]) -> (u64, u64) {
    const K1: u64 = 0x9e37_79b9_7f4a_7c15;
    const K2: u64 = 0xc2b2_ae3d_27d4_eb4f;
    let mix = |mut x: u64| {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    };
    let step = |lane: u64, w: &[u8]| {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        lane.wrapping_add(w.wrapping_mul(K2))
            .rotate_left(31)
            .wrapping_mul(K1)
    };
    let mut lanes = [K2 ^ bytes.len() as u64, K1, K1 ^ K2, K2.rotate_left(13)];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = step(*lane, &block[i * 8..][..8]);
        }
    }
    let mut tail = [0u8; 32];
    tail[..blocks.remainder().len()].copy_from_slice(blocks.remainder());
    for (i, lane) in lanes.iter_mut().enumerate() {
        *lane = mix(step(*lane, &tail[i * 8..][..8]));
    }
    let a = mix(lanes[0] ^ lanes[2].rotate_left(17));
    let b = mix(lanes[1] ^ lanes[3].rotate_left(41));
    (
        mix(a ^ b.rotate_left(23)),
        mix(b ^ a.rotate_left(7) ^ lanes[2]),
    )
}

fn put_function(out: &mut Vec<u8>, f: &CompiledFunction) -> Result<(), String> {
    put_u32(out, f.wasm_index.unwrap_or(u32::MAX));
    put_bytes(out, &f.code);
    put_u32(out, f.relocs.len() as u32);
    for r in &f.relocs {
        put_u32(out, r.offset);
        let kind = RELOCS
            .iter()
            .position(|k| *k == r.kind)
            .ok_or_else(|| format!("relocation kind {:?} cannot be saved", r.kind))?;
        out.push(kind as u8);
        match r.target {
            RelocTarget::Func(i) => {
                out.push(0);
                put_u32(out, i);
            }
            RelocTarget::LibCall(lc) => {
                let i = LIBCALLS
                    .iter()
                    .position(|l| *l == lc)
                    .ok_or_else(|| format!("library call {lc:?} cannot be saved"))?;
                out.push(1);
                put_u32(out, i as u32);
            }
        }
        out.extend_from_slice(&r.addend.to_le_bytes());
    }
    put_u32(out, f.traps.len() as u32);
    out.extend_from_slice(f.traps.as_bytes());
    put_u32(out, f.srclocs.len() as u32);
    out.extend_from_slice(f.srclocs.as_bytes());
    put_u32(out, f.exceptions.len() as u32);
    for site in &f.exceptions {
        put_u32(out, site.ret);
        put_u32(out, site.frame_offset);
        put_u32(out, site.context_sp_offset);
        put_u32(out, site.handlers.len() as u32);
        for (tag, offset) in &site.handlers {
            put_u32(out, tag.unwrap_or(u32::MAX));
            put_u32(out, *offset);
        }
    }
    out.push(match (f.quick, f.final_tier) {
        (true, _) => 1,
        (false, true) => 2,
        (false, false) => 0,
    });
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("the artifact is truncated".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    /// A count of items of at least `min_size` bytes each, checked against
    /// what is left (so a corrupt count cannot make us allocate much).
    fn count(&mut self, min_size: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.0.len() {
            return Err("the artifact is truncated".into());
        }
        Ok(n)
    }
}

/// The Wasm binary and compiled functions of an artifact, which must have
/// been made under `fingerprint`. The functions' code is copied.
pub fn deserialize<'a>(bytes: &'a [u8], fingerprint: &str) -> Result<Artifact<'a>, String> {
    deserialize_from(
        Source {
            all: bytes,
            backing: None,
        },
        fingerprint,
    )
}

/// As [`deserialize`], for an artifact in `backing`, which the functions'
/// code keeps instead of copying it (a mapped file: each byte is read by
/// the checksum, but what is not placed, or placed late, is not copied to
/// the heap, nor kept in memory once the kernel needs the page).
pub fn deserialize_shared<'a>(
    backing: &'a Backing,
    fingerprint: &str,
) -> Result<Artifact<'a>, String> {
    deserialize_from(
        Source {
            all: (**backing).as_ref(),
            backing: Some(backing),
        },
        fingerprint,
    )
}

/// An artifact's bytes, and what keeps them when code is not copied.
#[derive(Clone, Copy)]
struct Source<'a> {
    all: &'a [u8],
    backing: Option<&'a Backing>,
}

impl Source<'_> {
    /// `part` of the artifact (a slice of `all`) as kept bytes, if the
    /// artifact is kept.
    fn kept(&self, part: &[u8]) -> Option<SharedBytes> {
        let backing = self.backing?;
        let all = self.all.as_ptr_range();
        debug_assert!(all.start <= part.as_ptr() && part.as_ptr_range().end <= all.end);
        let start = part.as_ptr() as usize - self.all.as_ptr() as usize;
        Some(SharedBytes::Shared(
            backing.clone(),
            start..start + part.len(),
        ))
    }
}

fn deserialize_from<'a>(src: Source<'a>, fingerprint: &str) -> Result<Artifact<'a>, String> {
    let bytes = src.all;
    let mut r = Reader(bytes);
    if r.take(MAGIC.len()).ok() != Some(&MAGIC[..]) {
        if bytes.starts_with(FORMAT_PREFIX) {
            return Err(
                "compiled by another version of wasm-jit (another artifact format): compile it again"
                    .into(),
            );
        }
        return Err("not a wasm-jit compiled module".into());
    }
    // Before anything else is read: damage anywhere, the header included,
    // is reported as such.
    let Some(body) = bytes.len().checked_sub(16).filter(|&n| n >= MAGIC.len()) else {
        return Err("the artifact is truncated".into());
    };
    let mut sum = Reader(&bytes[body..]);
    if bytes_hash(&bytes[..body]) != (sum.u64()?, sum.u64()?) {
        return Err(
            "the artifact is damaged or cut short (its checksum does not match): compile it again"
                .into(),
        );
    }
    r.0 = &bytes[MAGIC.len()..body];
    let theirs = r.bytes()?;
    if theirs != fingerprint.as_bytes() {
        let theirs = String::from_utf8_lossy(theirs);
        if let Some(missing) = runs_under(&theirs, fingerprint) {
            // Lazily compiled code would be joined by code compiled here
            // (its final tier, functions it lacks), whose relaxed SIMD
            // answers may differ from its own: exact matches only.
            if missing.is_empty() && r.0.first() == Some(&0) {
                return read_rest(r, src);
            }
            if missing.is_empty() {
                return Err(
                    "lazily compiled for other CPU features than this machine's engine uses".into(),
                );
            }
            return Err(format!(
                "compiled for CPU features this machine lacks: {}",
                missing.join(", ")
            ));
        }
        let differ: Vec<String> = theirs
            .split(' ')
            .zip(fingerprint.split(' '))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("{a} in the artifact, {b} in this engine"))
            .collect();
        return Err(format!(
            "compiled by another engine build, version, target or configuration: {}",
            if differ.is_empty() {
                theirs.to_string()
            } else {
                differ.join(", ")
            }
        ));
    }
    read_rest(r, src)
}

/// Whether code made under fingerprint `theirs` runs under `ours`: `None`
/// if they differ in more than the target's CPU features; otherwise the
/// features `theirs` uses that `ours` lacks (none: it runs). Code compiled
/// for fewer features than this machine has, as for a target's baseline
/// (`Config::target`), runs as is.
fn runs_under(theirs: &str, ours: &str) -> Option<Vec<String>> {
    let (t, o): (Vec<&str>, Vec<&str>) = (theirs.split(' ').collect(), ours.split(' ').collect());
    if t.len() != o.len() {
        return None;
    }
    let mut missing = Vec::new();
    for (a, b) in t.into_iter().zip(o) {
        if a == b {
            continue;
        }
        let flags = |s: &str| -> Option<Vec<(String, String)>> {
            let list = s.strip_prefix('[')?.strip_suffix(']')?;
            list.split(',')
                .filter(|f| !f.is_empty())
                .map(|f| {
                    let (k, v) = f.split_once('=')?;
                    Some((k.to_string(), v.to_string()))
                })
                .collect()
        };
        let (theirs, ours) = (flags(a)?, flags(b)?);
        // The same flags, in the same order (the same Cranelift made both).
        if theirs.len() != ours.len() || theirs.iter().zip(&ours).any(|(t, o)| t.0 != o.0) {
            return None;
        }
        let ours: std::collections::HashMap<_, _> = ours.into_iter().collect();
        for (name, value) in theirs {
            match (value.as_str(), ours.get(&name).map(String::as_str)) {
                // A feature the code does not use, or one both have.
                ("0", _) | ("1", Some("1")) => {}
                ("1", _) => missing.push(name),
                // Any other setting must be the same.
                (v, Some(w)) if v == w => {}
                _ => return None,
            }
        }
    }
    Some(missing)
}

/// The artifact after its fingerprint.
fn read_rest<'a>(mut r: Reader<'a>, src: Source<'a>) -> Result<Artifact<'a>, String> {
    let (lazy, long_run) = match r.u8()? {
        0 => (false, false),
        1 => (true, false),
        3 => (true, true),
        _ => return Err("bad compilation mode in the artifact".into()),
    };
    let wasm = r.bytes()?;
    let n = r.count(1)?;
    let mut funcs = Vec::with_capacity(n);
    for _ in 0..n {
        match r.u8()? {
            0 if lazy => {
                funcs.push(None);
                continue;
            }
            1 => {}
            _ => return Err("bad function entry in the artifact".into()),
        }
        funcs.push(Some(read_function(&mut r, src)?));
    }
    let n = r.count(1)?;
    let mut trampolines = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = match r.u8()? {
            0 => TrampolineKind::Host,
            1 => TrampolineKind::Array,
            _ => return Err("bad trampoline kind in the artifact".into()),
        };
        let params = types_of(r.bytes()?)?;
        let results = types_of(r.bytes()?)?;
        trampolines.push(SavedTrampoline {
            kind,
            ty: FuncType::new(params, results),
            code: read_function(&mut r, src)?,
        });
    }
    // `r` ends where the checksum (checked first) starts.
    if !r.0.is_empty() {
        return Err("trailing bytes after the artifact".into());
    }
    Ok(Artifact {
        wasm,
        lazy,
        long_run,
        functions: funcs,
        trampolines,
        wasm_kept: src.kept(wasm),
    })
}

fn read_function(r: &mut Reader<'_>, src: Source<'_>) -> Result<CompiledFunction, String> {
    let index = r.u32()?;
    let bytes = r.bytes()?;
    let code = src.kept(bytes).unwrap_or_else(|| SharedBytes::from(bytes));
    let mut relocs = Vec::with_capacity(r.count(18)?);
    for _ in 0..relocs.capacity() {
        let offset = r.u32()?;
        let kind = *RELOCS
            .get(r.u8()? as usize)
            .ok_or("bad relocation kind in the artifact")?;
        let target = match (r.u8()?, r.u32()?) {
            (0, i) => RelocTarget::Func(i),
            (1, i) => RelocTarget::LibCall(
                *LIBCALLS
                    .get(i as usize)
                    .ok_or("bad library call in the artifact")?,
            ),
            _ => return Err("bad relocation target in the artifact".into()),
        };
        let addend = r.i64()?;
        let width = if kind == Reloc::Abs8 { 8 } else { 4 };
        if offset as usize + width > code.len() {
            return Err("relocation outside its function in the artifact".into());
        }
        relocs.push(Relocation {
            offset,
            kind,
            target,
            addend,
        });
    }
    let n = r.count(5)?;
    let sites = r.take(n * 5)?;
    let traps = TrapSites::from_bytes(
        src.kept(sites).unwrap_or_else(|| SharedBytes::from(sites)),
        code.len(),
    )
    .map_err(|e| format!("{e} in the artifact"))?;
    // One entry per instruction or so: kept as they are, or copied whole.
    let n = r.count(8)?;
    let pairs = r.take(n * 8)?;
    let srclocs = SrcLocs::from_bytes(src.kept(pairs).unwrap_or_else(|| SharedBytes::from(pairs)));
    let mut exceptions = Vec::with_capacity(r.count(16)?);
    for _ in 0..exceptions.capacity() {
        let (ret, frame_offset, context_sp_offset) = (r.u32()?, r.u32()?, r.u32()?);
        let mut handlers = Vec::with_capacity(r.count(8)?);
        for _ in 0..handlers.capacity() {
            let tag = r.u32()?;
            let offset = r.u32()?;
            if offset as usize >= code.len() {
                return Err("exception handler outside its function in the artifact".into());
            }
            handlers.push(((tag != u32::MAX).then_some(tag), offset));
        }
        if ret as usize > code.len() {
            return Err("exception site outside its function in the artifact".into());
        }
        exceptions.push(ExceptionSite {
            ret,
            frame_offset,
            context_sp_offset,
            handlers,
        });
    }
    let (quick, final_tier) = match r.u8()? {
        0 => (false, false),
        1 => (true, false),
        2 => (false, true),
        _ => return Err("bad tier in the artifact".into()),
    };
    Ok(CompiledFunction {
        code,
        relocs,
        traps,
        wasm_index: (index != u32::MAX).then_some(index),
        srclocs,
        exceptions,
        quick,
        final_tier,
    })
}

#[cfg(test)]
mod tests {
    use super::runs_under;
    use cranelift_codegen::ir::TrapCode;

    /// A function's tier (quick or final-tier code, in code cache entries)
    /// survives a round trip.
    #[test]
    fn each_functions_tier_stays_flagged() {
        let f = |quick, final_tier| crate::compile::CompiledFunction {
            code: vec![0xc3].into(),
            relocs: Vec::new(),
            traps: Default::default(),
            wasm_index: Some(0),
            srclocs: Default::default(),
            exceptions: Vec::new(),
            quick,
            final_tier,
        };
        let funcs = [
            Some(f(true, false)),
            Some(f(false, false)),
            None,
            Some(f(false, true)),
        ];
        let bytes = super::serialize("fp", b"\0asm\x01\0\0\0", true, false, &funcs, &[]).unwrap();
        let artifact = super::deserialize(&bytes, "fp").unwrap();
        assert!(artifact.lazy && !artifact.long_run);
        let tiers: Vec<_> = artifact
            .functions
            .iter()
            .map(|f| f.as_ref().map(|f| (f.quick, f.final_tier)))
            .collect();
        assert_eq!(
            tiers,
            [
                Some((true, false)),
                Some((false, false)),
                None,
                Some((false, true))
            ]
        );
    }

    /// An artifact loaded without copying keeps its code, trap sites,
    /// source locations and Wasm where they are, and reads as a copied one
    /// does.
    #[test]
    fn a_kept_artifact_reads_as_a_copied_one() {
        let f = crate::compile::CompiledFunction {
            code: vec![0x90, 0x90, 0x90, 0x90, 0xc3].into(),
            relocs: Vec::new(),

            wasm_index: Some(0),
            srclocs: crate::compile::SrcLocs::new([(1, 10), (4, 20)].into_iter()),
            traps: crate::compile::TrapSites::new(
                [
                    (0, TrapCode::STACK_OVERFLOW),
                    (4, TrapCode::HEAP_OUT_OF_BOUNDS),
                ]
                .into_iter(),
            ),
            exceptions: Vec::new(),
            quick: false,
            final_tier: false,
        };
        let wasm = b"\0asm\x01\0\0\0";
        let bytes = super::serialize("fp", wasm, true, true, &[Some(f)], &[]).unwrap();
        let copied = super::deserialize(&bytes, "fp").unwrap();
        let backing: super::Backing = std::sync::Arc::new(bytes.clone());
        let kept = super::deserialize_shared(&backing, "fp").unwrap();
        for a in [&copied, &kept] {
            assert!(a.lazy && a.long_run);
            assert_eq!(&*a.wasm_bytes(), wasm);
            let f = a.functions[0].as_ref().unwrap();
            assert_eq!(*f.code, [0x90, 0x90, 0x90, 0x90, 0xc3]);
            let at: Vec<_> = (0..6).map(|i| f.srclocs.module_offset(i)).collect();
            assert_eq!(at, [None, Some(10), Some(10), Some(10), Some(20), Some(20)]);
            let traps: Vec<_> = (0..6).map(|i| f.traps.at(i)).collect();
            let (so, oob) = (TrapCode::STACK_OVERFLOW, TrapCode::HEAP_OUT_OF_BOUNDS);
            assert_eq!(traps, [Some(so), None, None, None, Some(oob), None]);
        }
        let shared =
            |b: &crate::compile::SharedBytes| matches!(b, crate::compile::SharedBytes::Shared(..));
        let f = kept.functions[0].as_ref().unwrap();
        assert!(shared(&kept.wasm_bytes()) && shared(&f.code));
        assert!(!shared(&copied.wasm_bytes()));
    }

    /// Inputs that differ in one bit, or only in trailing zero bytes (cache
    /// names of near modules, checksums of damaged artifacts), hash apart.
    #[test]
    fn bytes_hash_separates_near_inputs() {
        let mut seen = std::collections::HashSet::new();
        let base: Vec<u8> = (0..101u8).collect();
        assert!(seen.insert(super::bytes_hash(&base)));
        for bit in 0..base.len() * 8 {
            let mut b = base.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(seen.insert(super::bytes_hash(&b)), "bit {bit}");
        }
        for len in 0..=24 {
            assert!(seen.insert(super::bytes_hash(&vec![0; len])), "{len} zeros");
        }
    }

    const HOST: &str = "wasm-jit 1 x86_64-unknown-linux-gnu [has_sse41=1,has_avx=1,has_fma=1] opt=Speed memory=guard-bytes-2 fuel=false";

    #[test]
    fn code_for_fewer_cpu_features_runs_and_for_more_does_not() {
        let baseline = HOST.replace("has_avx=1,has_fma=1", "has_avx=0,has_fma=0");
        assert_eq!(runs_under(&baseline, HOST), Some(vec![]));
        assert_eq!(
            runs_under(HOST, &baseline),
            Some(vec!["has_avx".to_string(), "has_fma".to_string()])
        );
        // Anything else that differs: not this question at all.
        let fuel = baseline.replace("fuel=false", "fuel=true");
        assert_eq!(runs_under(&fuel, HOST), None);
        let other = baseline.replace("x86_64", "aarch64");
        assert_eq!(runs_under(&other, HOST), None);
        let version = baseline.replace("wasm-jit 1", "wasm-jit 2");
        assert_eq!(runs_under(&version, HOST), None);
        let memory = baseline.replace("memory=guard-bytes-2", "memory=explicit-bounds-checks");
        assert_eq!(runs_under(&memory, HOST), None);
        // A list of other flags is not a subset.
        let fewer = HOST.replace("has_sse41=1,has_avx=1,has_fma=1", "has_sse41=1");
        assert_eq!(runs_under(&fewer, HOST), None);
        let empty = HOST.replace("has_sse41=1,has_avx=1,has_fma=1", "");
        assert_eq!(runs_under(&empty, HOST), None);
    }
}
