//! Compiling Cranelift IR to machine code: Wasm functions (in parallel) and
//! the trampolines that connect host and Wasm calling conventions.

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{
    self, AbiParam, ExternalName, InstBuilder, LibCall, MemFlagsData, StackSlotData, StackSlotKind,
    TrapCode, UserExternalName, UserFuncName, types,
};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{
    Context, ExceptionContextLoc, FinalizedMachExceptionHandler, FinalizedRelocTarget,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use std::sync::Arc;

use crate::lazy::lock;
use wasm_jit_frontend::module::FunctionInput;
use wasm_jit_frontend::translate::{
    FUNC_NAMESPACE, SimdLowering, TranslationEnv, clif_type, translate_function, validate_function,
    wasm_signature,
};
use wasm_jit_frontend::trap::HOST_TRAP;
use wasm_jit_frontend::{FrontendError, FuncType, UnsupportedNotes};
use wasmparser::FuncValidatorAllocations;

use crate::vm::VAL_RAW_SIZE;

/// Where a relocation points.
#[derive(Clone, Copy, Debug)]
pub enum RelocTarget {
    /// A Wasm function of the same module, by function index.
    Func(u32),
    /// A runtime library function (resolved to its address when placed).
    LibCall(LibCall),
}

/// One relocation of a compiled function.
#[derive(Clone, Debug)]
pub struct Relocation {
    /// Offset in the function's code.
    pub offset: u32,
    /// Kind of patch.
    pub kind: Reloc,
    /// Target.
    pub target: RelocTarget,
    /// Addend.
    pub addend: i64,
}

/// What an artifact's bytes are kept in when its code is kept without a
/// copy ([`crate::artifact::deserialize_shared`]): a mapped file.
pub type Backing = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Bytes of machine code or of a module's Wasm: made here, or part of an
/// artifact loaded without copying them (code is read when the artifact's
/// checksum is checked, when it is placed, and again only to save it).
/// Cheap to clone.
#[derive(Clone)]
pub enum SharedBytes {
    /// Made here (or copied from an artifact).
    Owned(Arc<[u8]>),
    /// `range` of the artifact in a [`Backing`].
    Shared(Backing, std::ops::Range<usize>),
}

impl std::ops::Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SharedBytes::Owned(v) => v,
            SharedBytes::Shared(backing, range) => &(**backing).as_ref()[range.clone()],
        }
    }
}

impl SharedBytes {
    /// These bytes in memory of their own (a copy of shared ones).
    pub fn into_owned(self) -> SharedBytes {
        match self {
            SharedBytes::Shared(..) => SharedBytes::from(&*self),
            owned => owned,
        }
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(v: Vec<u8>) -> SharedBytes {
        SharedBytes::Owned(v.into())
    }
}

impl From<&[u8]> for SharedBytes {
    fn from(v: &[u8]) -> SharedBytes {
        SharedBytes::Owned(v.into())
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &SharedBytes) -> bool {
        **self == **other
    }
}

impl Default for SharedBytes {
    fn default() -> SharedBytes {
        SharedBytes::Owned(Arc::from(&[][..]))
    }
}

impl std::fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes", self.len())
    }
}

/// A table of fixed-size records, each starting with a little-endian
/// `u32` code offset, sorted by it, as an artifact holds them, so that
/// loading one keeps them without decoding or copying them (the signal
/// handler searches trap sites in place). Cheap to clone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Records<const N: usize>(SharedBytes);

/// Pairs of a code offset and the Wasm module byte offset of the
/// instruction there (two little-endian `u32`s each).
pub type SrcLocs = Records<8>;

/// A function's trap sites: a code offset and the trap code's byte each.
pub type TrapSites = Records<5>;

impl<const N: usize> Records<N> {
    /// The records made by `record` of each of `items` (which must come
    /// sorted by code offset).
    fn collect<T>(items: impl Iterator<Item = T>, record: impl Fn(T) -> [u8; N]) -> Records<N> {
        let mut bytes = Vec::new();
        let mut last = 0;
        for item in items {
            let r = record(item);
            debug_assert!(offset_of(&r) >= last, "records out of order");
            last = offset_of(&r);
            bytes.extend_from_slice(&r);
        }
        Records(bytes.into())
    }

    /// The records in their artifact form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn records(&self) -> &[[u8; N]] {
        self.0.as_chunks::<N>().0
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.records().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records().is_empty()
    }

    /// These records in memory of their own (see [`SharedBytes::into_owned`]).
    fn into_owned(self) -> Records<N> {
        Records(self.0.into_owned())
    }
}

/// The little-endian `u32` a record starts with.
fn offset_of<const N: usize>(record: &[u8; N]) -> u32 {
    u32::from_le_bytes([record[0], record[1], record[2], record[3]])
}

impl SrcLocs {
    /// The pairs of `pairs`, which must be sorted by code offset.
    pub fn new(pairs: impl Iterator<Item = (u32, u32)>) -> SrcLocs {
        Records::collect(pairs, |(offset, loc)| {
            let mut r = [0; 8];
            r[..4].copy_from_slice(&offset.to_le_bytes());
            r[4..].copy_from_slice(&loc.to_le_bytes());
            r
        })
    }

    /// Pairs in their artifact form (their length is a multiple of 8).
    pub fn from_bytes(bytes: SharedBytes) -> SrcLocs {
        Records(bytes)
    }

    /// The module offset of the instruction at code offset `at`: that of
    /// the last pair at or before it.
    pub fn module_offset(&self, at: u32) -> Option<u32> {
        let pairs = self.records();
        let i = pairs.partition_point(|p| offset_of(p) <= at);
        let p = pairs.get(i.checked_sub(1)?)?;
        Some(u32::from_le_bytes([p[4], p[5], p[6], p[7]]))
    }
}

impl TrapSites {
    /// The sites of `sites`, which must be sorted by offset.
    pub fn new(sites: impl Iterator<Item = (u32, TrapCode)>) -> TrapSites {
        Records::collect(sites, |(offset, code)| {
            let o = offset.to_le_bytes();
            [o[0], o[1], o[2], o[3], code.as_raw().get()]
        })
    }

    /// Sites in their artifact form, checked: sorted, each before
    /// `code_len`, with a valid trap code.
    pub fn from_bytes(bytes: SharedBytes, code_len: usize) -> Result<TrapSites, String> {
        let (sites, rest) = bytes.as_chunks::<5>();
        if !rest.is_empty() {
            return Err("bad trap sites".into());
        }
        let mut last = 0;
        for s in sites {
            let offset = offset_of(s);
            if offset < last || offset as usize >= code_len || s[4] == 0 {
                return Err("bad trap site".into());
            }
            last = offset;
        }
        Ok(Records(bytes))
    }

    /// The trap code of the site at code offset `at`, if there is one
    /// (allocates nothing: the signal handler calls it).
    pub fn at(&self, at: u32) -> Option<TrapCode> {
        let sites = self.records();
        let i = sites.partition_point(|s| offset_of(s) < at);
        let s = sites.get(i).filter(|s| offset_of(s) == at)?;
        std::num::NonZeroU8::new(s[4]).map(TrapCode::from_raw)
    }
}

impl CompiledFunction {
    /// This function with its bytes in memory of their own, not an
    /// artifact's (for what outlives the module loaded from it).
    pub fn into_owned(self) -> CompiledFunction {
        CompiledFunction {
            code: self.code.into_owned(),
            traps: self.traps.into_owned(),
            srclocs: self.srclocs.into_owned(),
            ..self
        }
    }
}

/// Machine code of one function, before placement.
#[derive(Clone, Debug)]
pub struct CompiledFunction {
    /// The code bytes.
    pub code: SharedBytes,
    /// Relocations to apply when placed.
    pub relocs: Vec<Relocation>,
    /// Trap sites: offset and code.
    pub traps: TrapSites,
    /// Wasm function index, `None` for trampolines.
    pub wasm_index: Option<u32>,
    /// Code offset → Wasm module byte offset, sorted by code offset
    /// (shared with the code registry once placed).
    pub srclocs: SrcLocs,
    /// Calls with exception handlers (`try_call` in a `try_table`), sorted
    /// by return address.
    pub exceptions: Vec<ExceptionSite>,
    /// Compiled by the quick first tier of lazy compilation, to be
    /// replaced (never saved).
    pub quick: bool,
    /// Final-tier code of lazy compilation: it calls the module's other
    /// functions directly, so it is placed only with (or after) every
    /// function it calls.
    pub final_tier: bool,
}

/// A call whose exceptions may be caught in the calling frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionSite {
    /// Offset of the return address in the function's code.
    pub ret: u32,
    /// The frame pointer minus the stack pointer at the call: the stack
    /// pointer a handler resumes with is the frame pointer minus this.
    pub frame_offset: u32,
    /// Where the caller's context was saved: an offset from the stack
    /// pointer at the call.
    pub context_sp_offset: u32,
    /// The handlers, in the order they are tried: the context offset of
    /// the tag slot a clause catches (`None`: any tag), and the handler's
    /// code offset.
    pub handlers: Vec<(Option<u32>, u32)>,
}

/// Code generation options.
#[derive(Clone, Debug)]
pub struct CompilerOptions {
    /// Cranelift `opt_level`: "none", "speed" or "speed_and_size".
    pub opt_level: &'static str,
    /// Cranelift `regalloc_algorithm`: "backtracking" or "single_pass".
    pub regalloc: &'static str,
    /// Also make a quick compiler ([`Compiler::quick`]) for the first tier
    /// of lazy compilation.
    pub quick_tier: bool,
    /// Run Cranelift's IR verifier (slow; for tests).
    pub verify: bool,
    /// Relaxed SIMD operators give the same answers on every CPU.
    pub relaxed_simd_deterministic: bool,
    /// Every float operation that makes a NaN makes the canonical one
    /// (Cranelift's `enable_nan_canonicalization`): deterministic results
    /// across CPUs.
    pub nan_canonicalization: bool,
    /// Generate code for this target instead of the host (with the
    /// target's baseline features: code that runs on every CPU of it).
    pub target: Option<target_lexicon::Triple>,
    /// Further Cranelift settings, shared or of the instruction set, set
    /// after all of the above (the embedder's, unchecked beyond Cranelift's
    /// own parsing).
    /// `None`: enable (a boolean setting or a preset).
    pub cranelift_flags: Vec<(String, Option<String>)>,
}

impl Default for CompilerOptions {
    fn default() -> Self {
        CompilerOptions {
            opt_level: "speed",
            regalloc: "backtracking",
            quick_tier: false,
            verify: false,
            relaxed_simd_deterministic: false,
            nan_canonicalization: false,
            target: None,
            cranelift_flags: Vec::new(),
        }
    }
}

/// The x86-64 features code for an explicitly chosen x86-64 target uses:
/// the x86-64-v2 level.
const X86_BASELINE: [&str; 5] = [
    "has_sse3",
    "has_ssse3",
    "has_sse41",
    "has_sse42",
    "has_popcnt",
];

/// Whether this machine has [`X86_BASELINE`].
fn host_has_x86_baseline() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("sse3")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("sse4.1")
            && std::is_x86_feature_detected!("sse4.2")
            && std::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Per-thread state reused from one function to the next.
pub struct Scratch {
    builder: FunctionBuilderContext,
    context: Context,
    validator: FuncValidatorAllocations,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            builder: FunctionBuilderContext::new(),
            context: Context::new(),
            validator: FuncValidatorAllocations::default(),
        }
    }
}

/// The largest stack frame quick code may have (see
/// [`Compiler::is_quick`]). Optimised code's frames are rarely over a few
/// hundred bytes, quick code's up to 20-40 times larger in large
/// functions, which the larger stack budget of stores running quick code
/// (up to 32 times `max_wasm_stack`) covers; a frame over this
/// (clang's 75 MB module has one of 233 KiB) is the sign of a function
/// recursion through which would run out of stack far sooner.
pub const QUICK_MAX_FRAME: u32 = 128 * 1024;

/// A Cranelift code generator for the host.
pub struct Compiler {
    isa: OwnedTargetIsa,
    simd: SimdLowering,
    simd_supported: bool,
    runs_here: bool,
    /// The same target, compiling about 1.7 times faster into code about
    /// twice as slow (`opt_level=none`, single-pass register allocator):
    /// its options, and the compiler, made when first asked for (a run
    /// that never needs it does not pay for making it).
    quick: Option<(CompilerOptions, std::sync::OnceLock<Option<Box<Compiler>>>)>,
    /// This is another compiler's [`Compiler::quick`]: its code counts its
    /// own heat (see [`TranslationEnv::count_heat`]).
    is_quick: bool,
    /// For functions whose locals are crowded
    /// (see [`wasm_jit_frontend::translate::translate_function`]): the same target
    /// and settings but `opt_level=none` (`None` if `isa` is that
    /// already), made when first needed from the builder and settings
    /// kept here.
    plain: Option<PlainIsa>,
}

/// A validator for the same body as `v`, to validate it again (the
/// translation consumes one).
fn validator_copy(
    v: &wasmparser::FuncToValidate<wasmparser::ValidatorResources>,
) -> wasmparser::FuncToValidate<wasmparser::ValidatorResources> {
    wasmparser::FuncToValidate {
        resources: v.resources.clone(),
        index: v.index,
        ty: v.ty,
        features: v.features,
    }
}

/// What [`Compiler::plain`] is made from, and once made, it.
type PlainIsa = (
    cranelift_codegen::isa::Builder,
    settings::Flags,
    std::sync::OnceLock<Result<OwnedTargetIsa, String>>,
);

impl std::fmt::Debug for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiler")
            .field("triple", &self.isa.triple().to_string())
            .finish()
    }
}

impl Compiler {
    /// A compiler for the machine we run on, or for `options.target`.
    pub fn new(options: &CompilerOptions) -> Result<Compiler, String> {
        use target_lexicon::{Aarch64Architecture, Architecture, OperatingSystem, PointerWidth};
        let host = target_lexicon::Triple::host();
        let target = options.target.clone().unwrap_or_else(|| host.clone());
        // Trap handling reads registers from signal contexts, and the
        // exception unwinder resumes with a few instructions of its own:
        // both are written for these two architectures only.
        match target.architecture {
            Architecture::X86_64 | Architecture::Aarch64(Aarch64Architecture::Aarch64) => {}
            other => return Err(format!("not supported yet: {other} targets")),
        }
        if options.target.is_some() {
            if target.operating_system != OperatingSystem::Linux {
                return Err(format!(
                    "not supported yet: {} targets (only Linux)",
                    target.operating_system
                ));
            }
            // The context layout and the runtime assume 64-bit pointers
            // (`vmoffsets::PTR`): no x32 or ILP32 ABIs.
            if target.pointer_width() != Ok(PointerWidth::U64) {
                return Err(format!("not supported yet: {target} (32-bit pointers)"));
            }
        }
        let x86 = target.architecture == Architecture::X86_64;
        let mut flags = settings::builder();
        let set = |b: &mut settings::Builder, k: &str, v: &str| {
            b.set(k, v)
                .map_err(|e| format!("cranelift setting {k}={v}: {e}"))
        };
        set(&mut flags, "opt_level", options.opt_level)?;
        set(&mut flags, "regalloc_algorithm", options.regalloc)?;
        set(
            &mut flags,
            "enable_verifier",
            if options.verify { "true" } else { "false" },
        )?;
        // Frame pointers let the trap handler walk Wasm frames.
        set(&mut flags, "preserve_frame_pointers", "true")?;
        // More than two results are returned through a hidden pointer.
        set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
        // The prologue's stack-limit check makes probing unnecessary.
        set(&mut flags, "enable_probestack", "false")?;
        set(&mut flags, "unwind_info", "false")?;
        set(
            &mut flags,
            "enable_nan_canonicalization",
            if options.nan_canonicalization {
                "true"
            } else {
                "false"
            },
        )?;
        // The embedder's settings: shared ones now, the instruction set's
        // once its builder exists.
        let mut isa_settings = Vec::new();
        let apply = |b: &mut dyn Configurable, name: &str, value: &Option<String>| match value {
            Some(value) => b.set(name, value),
            None => b.enable(name),
        };
        let describe = |name: &str, value: &Option<String>, e: settings::SetError| match e {
            settings::SetError::BadName(_) => format!("unknown cranelift setting `{name}`"),
            e => match value {
                Some(value) => format!("cranelift setting {name}={value}: {e}"),
                None => format!("cranelift setting {name}: {e}"),
            },
        };
        for (name, value) in &options.cranelift_flags {
            match apply(&mut flags, name, value) {
                Ok(()) => {}
                Err(settings::SetError::BadName(_)) => isa_settings.push((name, value)),
                Err(e) => return Err(describe(name, value, e)),
            }
        }
        let (mut isa_builder, runs_here) = match &options.target {
            None => (
                cranelift_native::builder().map_err(|e| e.to_string())?,
                true,
            ),
            Some(triple) => {
                let mut builder = cranelift_codegen::isa::lookup(triple.clone())
                    .map_err(|e| format!("{triple}: {e}"))?;
                if x86 {
                    // x86-64-v2, which every x86-64 CPU since 2009 meets
                    // (and SIMD needs SSE4.1).
                    for f in X86_BASELINE {
                        builder
                            .enable(f)
                            .map_err(|e| format!("cranelift setting {f}: {e}"))?;
                    }
                }
                // Same instruction set, OS and pointer width (all checked
                // above for the target), and the features it assumes.
                let runs_here = target.architecture == host.architecture
                    && target.operating_system == host.operating_system
                    && (!x86 || host_has_x86_baseline());
                (builder, runs_here)
            }
        };
        for (name, value) in isa_settings {
            apply(&mut isa_builder, name, value).map_err(|e| describe(name, value, e))?;
        }
        let plain_flags = match settings::Flags::new(flags.clone()).opt_level() {
            settings::OptLevel::None => None,
            _ => {
                let mut plain = flags.clone();
                set(&mut plain, "opt_level", "none")?;
                Some(settings::Flags::new(plain))
            }
        };
        let isa = isa_builder
            .finish(settings::Flags::new(flags))
            .map_err(|e| e.to_string())?;
        let plain = plain_flags.map(|f| (isa_builder, f, std::sync::OnceLock::new()));
        let flag = |name: &str| {
            isa.isa_flags()
                .iter()
                .any(|v| v.name == name && v.as_bool() == Some(true))
        };
        // Cranelift's x86-64 vector lowerings assume SSE4.1 (every x86-64
        // CPU since 2008 has it); without it SIMD modules are refused.
        let simd_supported = !x86 || (flag("has_ssse3") && flag("has_sse41"));
        let simd = SimdLowering {
            relaxed_deterministic: options.relaxed_simd_deterministic,
            x86,
            fma: !x86 || flag("has_fma"),
        };
        let quick = options.quick_tier.then(|| {
            let mut quick = CompilerOptions {
                opt_level: "none",
                regalloc: "single_pass",
                quick_tier: false,
                ..options.clone()
            };
            // The embedder's settings but the two that make it quick.
            quick
                .cranelift_flags
                .retain(|(name, _)| name != "opt_level" && name != "regalloc_algorithm");
            (quick, std::sync::OnceLock::new())
        });
        Ok(Compiler {
            isa,
            simd,
            simd_supported,
            runs_here,
            quick,
            is_quick: false,
            plain,
        })
    }

    /// The quick compiler of lazy compilation's first tier, if asked for
    /// ([`CompilerOptions::quick_tier`]).
    pub fn quick(&self) -> Option<&Compiler> {
        let (options, quick) = self.quick.as_ref()?;
        quick
            .get_or_init(|| {
                // The same settings as this compiler's but two, which
                // Cranelift accepts: if it did not, functions would be
                // compiled optimised, as without a quick tier.
                let mut quick = Compiler::new(options).ok()?;
                quick.is_quick = true;
                Some(Box::new(quick))
            })
            .as_deref()
    }

    /// Whether this compiler has a quick one (made when first asked for).
    pub fn has_quick(&self) -> bool {
        self.quick.is_some()
    }

    /// Whether this is the quick compiler of another one (its code counts
    /// its heat when compiled lazily).
    pub fn is_quick(&self) -> bool {
        self.is_quick
    }

    /// Whether the code this compiler generates can run on this machine
    /// (false when it compiles for another target, only for artifacts).
    pub fn runs_here(&self) -> bool {
        self.runs_here
    }

    /// How vector code is lowered for this target and configuration.
    pub fn simd_lowering(&self) -> SimdLowering {
        self.simd
    }

    /// Whether the target's stores may tear (write part of an access that
    /// faults): every target but x86-64, whose faulting stores write
    /// nothing.
    pub fn tearing_stores(&self) -> bool {
        !self.simd.x86
    }

    /// Whether a module with `body_bytes` bytes of function bodies needs far
    /// calls (`TranslationEnv::far_calls`): above `above` bytes, or by
    /// default above a sixteenth of the target's direct call reach (machine
    /// code rarely reaches 4 times the size of its Wasm; 16 leaves room for
    /// fuel, epoch checks and explicit bounds checks): 8 MiB on aarch64
    /// (calls reach ±128 MiB), 128 MiB on x86-64 (±2 GiB).
    pub fn far_calls(&self, body_bytes: u64, above: Option<u64>) -> bool {
        let reach: u64 = if self.simd.x86 { 2 << 30 } else { 128 << 20 };
        body_bytes > above.unwrap_or(reach / 16)
    }

    /// Whether this host can run SIMD code (on x86-64: SSSE3 and SSE4.1).
    pub fn simd_supported(&self) -> bool {
        self.simd_supported
    }

    /// The target's frontend configuration (pointer width, calling convention).
    pub fn frontend_config(&self) -> cranelift_codegen::isa::TargetFrontendConfig {
        self.isa.frontend_config()
    }

    /// The target triple.
    pub fn triple(&self) -> String {
        self.isa.triple().to_string()
    }

    /// The target and the CPU features code is generated for (what a saved
    /// artifact must match to run here).
    pub fn target_fingerprint(&self) -> String {
        let flags: Vec<String> = self.isa.isa_flags().iter().map(|v| v.to_string()).collect();
        format!(
            "{} [{}] relaxed-simd-deterministic={} nan-canonicalization={}",
            self.triple(),
            flags.join(","),
            self.simd.relaxed_deterministic,
            self.isa.flags().enable_nan_canonicalization()
        )
    }

    fn finish(
        &self,
        ctx: &mut Context,
        wasm_index: Option<u32>,
    ) -> Result<CompiledFunction, FrontendError> {
        self.finish_with(ctx, wasm_index, &*self.isa)
    }

    /// [`Compiler::finish`] with `isa` (this compiler's, or its
    /// [`Compiler::plain`] one).
    fn finish_with(
        &self,
        ctx: &mut Context,
        wasm_index: Option<u32>,
        isa: &dyn cranelift_codegen::isa::TargetIsa,
    ) -> Result<CompiledFunction, FrontendError> {
        let compiled = ctx
            .compile(isa, &mut ControlPlane::default())
            .map_err(|e| FrontendError::Codegen(format!("{:?}", e.inner)))?;
        let buffer = &compiled.buffer;
        // The single-pass allocator gives every spilled value a slot of its
        // own: a large function's quick frame can take hundreds of KiB
        // (233 KiB in clang's module), and a few of them exhaust a stack
        // that optimised code fits in. A function whose quick frame is over
        // `QUICK_MAX_FRAME` is compiled optimised instead (the caller falls
        // back on any error).
        let frame = buffer.frame_layout().map_or(0, |l| l.frame_to_fp_offset);
        if self.is_quick && frame > QUICK_MAX_FRAME {
            return Err(FrontendError::Codegen(format!(
                "quick code's frame of {frame} bytes is over {QUICK_MAX_FRAME}"
            )));
        }
        let code = SharedBytes::from(buffer.data());
        let traps = TrapSites::new(buffer.traps().iter().map(|t| (t.offset, t.code)));
        let raw_relocs = buffer.relocs().to_vec();
        let srclocs = SrcLocs::new(
            buffer
                .get_srclocs_sorted()
                .iter()
                .filter(|l| !l.loc.is_default())
                .map(|l| (l.start, l.loc.bits())),
        );
        let mut exceptions = Vec::new();
        for site in buffer.call_sites() {
            if site.exception_handlers.is_empty() {
                continue;
            }
            let mut context = None;
            let mut handlers = Vec::new();
            for h in site.exception_handlers {
                match h {
                    FinalizedMachExceptionHandler::Tag(tag, offset) => {
                        handlers.push((Some(tag.as_u32()), *offset));
                    }
                    FinalizedMachExceptionHandler::Default(offset) => {
                        handlers.push((None, *offset));
                    }
                    FinalizedMachExceptionHandler::Context(ExceptionContextLoc::SPOffset(o)) => {
                        context = Some(*o);
                    }
                    FinalizedMachExceptionHandler::Context(other) => {
                        return Err(FrontendError::Codegen(format!(
                            "exception context kept in {other:?}, not on the stack"
                        )));
                    }
                }
            }
            let (Some(frame_offset), Some(context_sp_offset)) = (site.frame_offset, context) else {
                return Err(FrontendError::Codegen(
                    "a call with exception handlers lacks its frame layout".into(),
                ));
            };
            exceptions.push(ExceptionSite {
                ret: site.ret_addr,
                frame_offset,
                context_sp_offset,
                handlers,
            });
        }
        exceptions.sort_by_key(|s| s.ret);
        let names = ctx.func.params.user_named_funcs();
        let mut relocs = Vec::new();
        for r in &raw_relocs {
            let target = match &r.target {
                FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                    let UserExternalName { namespace, index } = names[*name].clone();
                    debug_assert_eq!(namespace, FUNC_NAMESPACE);
                    RelocTarget::Func(index)
                }
                FinalizedRelocTarget::ExternalName(ExternalName::LibCall(lc)) => {
                    libcall_address(*lc).ok_or_else(|| {
                        FrontendError::Codegen(format!("no runtime library call {lc:?}"))
                    })?;
                    RelocTarget::LibCall(*lc)
                }
                other => {
                    return Err(FrontendError::Codegen(format!(
                        "unexpected relocation target {other:?}"
                    )));
                }
            };
            relocs.push(Relocation {
                offset: r.offset,
                kind: r.kind,
                target,
                addend: r.addend,
            });
        }
        Ok(CompiledFunction {
            code,
            relocs,
            traps,
            wasm_index,
            srclocs,
            exceptions,
            quick: false,
            final_tier: false,
        })
    }

    /// Validates, translates and compiles one function body (one pass over
    /// the body: the translator drives the validator).
    pub fn compile_function(
        &self,
        env: &TranslationEnv<'_>,
        input: FunctionInput<'_>,
        scratch: &mut Scratch,
        deadline: Option<std::time::Instant>,
    ) -> Result<CompiledFunction, FrontendError> {
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Err(FrontendError::Limit(
                "compilation ran past its deadline".into(),
            ));
        }
        let index = input.index.0;
        let body = input.body.clone();
        let again = validator_copy(&input.validator);
        // A bug of the translator or of Cranelift that a module reaches
        // refuses the module rather than bringing down the embedder.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.compile_function_unguarded(env, input, scratch)
        }))
        .unwrap_or_else(|_| {
            *scratch = Scratch::default();
            // The translator validates as it goes, so the body past where
            // it stopped is unchecked: it is validated now, and an invalid
            // body, one using what the engine lacks or one over a limit is
            // reported as lazy loading would report it, whatever the
            // compiler made of it. The panic may have come from validation
            // itself, so this is guarded too.
            let checked = std::panic::catch_unwind(|| {
                let mut validator = again.into_validator(Default::default());
                let v = validate_function(&body, &mut validator)?;
                v.notes.into_error().or(v.limit).map_or(Ok(()), Err)
            });
            if let Ok(Err(e)) = checked {
                return Err(e);
            }
            Err(FrontendError::Codegen(format!(
                "internal error: the compiler panicked on function {index}"
            )))
        })
    }

    fn compile_function_unguarded(
        &self,
        env: &TranslationEnv<'_>,
        input: FunctionInput<'_>,
        scratch: &mut Scratch,
    ) -> Result<CompiledFunction, FrontendError> {
        // Translated again with its locals in a stack slot if they are
        // crowded (`Ok(None)`), and then compiled without optimisation.
        let again = validator_copy(&input.validator);
        let (index, body) = (input.index, &input.body);
        let mut func = self.translate(env, index, body, input.validator, false, scratch)?;
        let crowded = func.is_none();
        if crowded {
            func = self.translate(env, index, body, again, true, scratch)?;
        }
        let Some(func) = func else {
            return Err(FrontendError::Codegen(
                "internal error: a function's locals stayed crowded in memory".into(),
            ));
        };
        scratch.context.clear();
        scratch.context.func = func;
        match crowded.then(|| self.plain()).flatten() {
            Some(plain) => self.finish_with(&mut scratch.context, Some(index.0), plain),
            None => self.finish(&mut scratch.context, Some(index.0)),
        }
    }

    /// Validates and translates function `index`'s body with `validator`, its locals
    /// in a stack slot or not (see `translate_function`).
    fn translate(
        &self,
        env: &TranslationEnv<'_>,
        index: wasm_jit_frontend::FuncIndex,
        body: &wasmparser::FunctionBody<'_>,
        validator: wasmparser::FuncToValidate<wasmparser::ValidatorResources>,
        locals_in_slot: bool,
        scratch: &mut Scratch,
    ) -> Result<Option<ir::Function>, FrontendError> {
        let mut validator = validator.into_validator(std::mem::take(&mut scratch.validator));
        let result = translate_function(
            env,
            index,
            body,
            locals_in_slot,
            &mut validator,
            &mut scratch.builder,
        );
        scratch.validator = validator.into_allocations();
        if result.is_err() {
            // A translation that stopped midway leaves the builder
            // context dirty; start the next function from a clean one.
            scratch.builder = FunctionBuilderContext::new();
        }
        result
    }

    /// This compiler's target and settings with `opt_level=none`, for
    /// functions whose locals are crowded; `None` when this compiler does
    /// not optimise anyway.
    fn plain(&self) -> Option<&dyn cranelift_codegen::isa::TargetIsa> {
        let (builder, flags, isa) = self.plain.as_ref()?;
        // The same builder and settings as `isa`'s but one, which Cranelift
        // accepted for `isa`: made once, or optimised code it is.
        isa.get_or_init(|| builder.finish(flags.clone()).map_err(|e| e.to_string()))
            .as_ref()
            .ok()
            .map(|isa| &**isa)
    }

    /// Compiles every function body, in parallel when `parallel` is set.
    ///
    /// Errors do not depend on scheduling: the first invalid body in
    /// function order wins; otherwise every unsupported feature found (in
    /// `unsupported`, from outside the bodies, and in the bodies) is
    /// reported together. When `unsupported` is not empty the bodies are
    /// only validated.
    pub fn compile_functions(
        &self,
        env: &TranslationEnv<'_>,
        inputs: Vec<FunctionInput<'_>>,
        unsupported: UnsupportedNotes,
        parallel: bool,
        deadline: Option<std::time::Instant>,
    ) -> Result<Vec<CompiledFunction>, FrontendError> {
        if !unsupported.is_empty() {
            return Err(self.refuse(inputs, unsupported, parallel));
        }
        gather(for_each_body(inputs, parallel, |scratch, input| {
            self.compile_function(env, input, scratch, deadline)
        }))
    }

    /// The error for a module already known to be unsupported: an invalid
    /// body, which must win, or every unsupported feature.
    fn refuse(
        &self,
        inputs: Vec<FunctionInput<'_>>,
        unsupported: UnsupportedNotes,
        parallel: bool,
    ) -> FrontendError {
        self.validate_functions(inputs, unsupported, parallel)
            .err()
            .unwrap_or_else(|| {
                FrontendError::Codegen("internal error: unsupported features not reported".into())
            })
    }

    /// Validates every function body without compiling it (lazy
    /// compilation, and modules already known to be unsupported), in
    /// parallel when `parallel` is set; each body's call graph edges.
    /// Loading finds exactly what [`Self::compile_functions`] would (see
    /// `validate_function`): the first invalid body in function order wins,
    /// then every unsupported feature (with those of `unsupported`), then
    /// the first implementation limit.
    pub fn validate_functions(
        &self,
        inputs: Vec<FunctionInput<'_>>,
        unsupported: UnsupportedNotes,
        parallel: bool,
    ) -> Result<Vec<Vec<u32>>, FrontendError> {
        let results = for_each_body(inputs, parallel, |scratch, input| {
            let mut v = input
                .validator
                .into_validator(std::mem::take(&mut scratch.validator));
            let validated = validate_function(&input.body, &mut v);
            scratch.validator = v.into_allocations();
            validated
        });
        let mut notes = unsupported;
        let mut limit = None;
        let mut callees = Vec::with_capacity(results.len());
        for r in results {
            let v = r?;
            notes.merge(v.notes);
            if limit.is_none() {
                limit = v.limit;
            }
            callees.push(v.callees);
        }
        match notes.into_error().or(limit) {
            Some(e) => Err(e),
            None => Ok(callees),
        }
    }

    /// A trampoline `extern "C" fn(callee_vmctx, caller_vmctx, code, values)`
    /// that calls Wasm code of type `ty` with arguments read from `values`
    /// (16 bytes each) and writes the results back there.
    pub fn array_trampoline(&self, ty: &FuncType) -> Result<CompiledFunction, FrontendError> {
        let cfg = self.isa.frontend_config();
        let ptr = cfg.pointer_type();
        let mut sig = ir::Signature::new(cfg.default_call_conv);
        for _ in 0..4 {
            sig.params.push(AbiParam::new(ptr));
        }
        let mut func = ir::Function::with_name_signature(UserFuncName::default(), sig);
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let block = b.create_block();
        b.append_block_params_for_function_params(block);
        b.switch_to_block(block);
        b.seal_block(block);
        let p = b.block_params(block).to_vec();
        let (callee_vmctx, caller_vmctx, code, values) = (p[0], p[1], p[2], p[3]);
        let mut args = vec![callee_vmctx, caller_vmctx];
        for (i, t) in ty.params().iter().enumerate() {
            let v = b.ins().load(
                clif_type(*t, ptr),
                MemFlagsData::trusted(),
                values,
                (i * VAL_RAW_SIZE) as i32,
            );
            args.push(v);
        }
        let wasm_sig = b.import_signature(wasm_signature(ty, ptr));
        let call = b.ins().call_indirect(wasm_sig, code, &args);
        let results = b.inst_results(call).to_vec();
        for (i, r) in results.into_iter().enumerate() {
            b.ins().store(
                MemFlagsData::trusted(),
                r,
                values,
                (i * VAL_RAW_SIZE) as i32,
            );
        }
        b.ins().return_(&[]);
        b.finalize(cfg);
        let mut ctx = Context::for_function(func);
        self.finish(&mut ctx, None)
    }

    /// A trampoline with the Wasm signature of `ty` that stores its arguments
    /// in a stack array and calls the host entry point found at offset 0 of
    /// its context (`extern "C" fn(host_ctx, caller_vmctx, values) -> u32`);
    /// a non-zero return becomes a trap.
    pub fn host_trampoline(&self, ty: &FuncType) -> Result<CompiledFunction, FrontendError> {
        let cfg = self.isa.frontend_config();
        let ptr = cfg.pointer_type();
        let sig = wasm_signature(ty, ptr);
        let mut func = ir::Function::with_name_signature(UserFuncName::default(), sig);
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let block = b.create_block();
        b.append_block_params_for_function_params(block);
        b.switch_to_block(block);
        b.seal_block(block);
        let p = b.block_params(block).to_vec();
        let (host_ctx, caller_vmctx) = (p[0], p[1]);
        let slots = ty.params().len().max(ty.results().len()).max(1);
        let slot = b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (slots * VAL_RAW_SIZE) as u32,
            4,
        ));
        let values = b.ins().stack_addr(ptr, slot, 0);
        for (i, v) in p[2..].iter().enumerate() {
            b.ins().store(
                MemFlagsData::trusted(),
                *v,
                values,
                (i * VAL_RAW_SIZE) as i32,
            );
        }
        let mut entry_sig = ir::Signature::new(cfg.default_call_conv);
        entry_sig.params.push(AbiParam::new(ptr));
        entry_sig.params.push(AbiParam::new(ptr));
        entry_sig.params.push(AbiParam::new(ptr));
        entry_sig.params.push(AbiParam::new(ptr));
        entry_sig.returns.push(AbiParam::new(types::I32));
        let entry_sig = b.import_signature(entry_sig);
        let entry = b.ins().load(ptr, MemFlagsData::trusted(), host_ctx, 0);
        // This frame's pointer: a host function that throws a Wasm
        // exception unwinds from here to the Wasm that called it.
        let fp = b.ins().get_frame_pointer(ptr);
        let call = b
            .ins()
            .call_indirect(entry_sig, entry, &[host_ctx, caller_vmctx, values, fp]);
        let failed = b.inst_results(call)[0];
        b.ins().trapnz(failed, HOST_TRAP);
        let mut results = Vec::new();
        for (i, t) in ty.results().iter().enumerate() {
            results.push(b.ins().load(
                clif_type(*t, ptr),
                MemFlagsData::trusted(),
                values,
                (i * VAL_RAW_SIZE) as i32,
            ));
        }
        b.ins().return_(&results);
        b.finalize(cfg);
        let mut ctx = Context::for_function(func);
        self.finish(&mut ctx, None)
    }
}

/// The results of every body, or the error that does not depend on
/// scheduling: the first invalid body in function order; otherwise every
/// unsupported feature together; otherwise the first other error.
fn gather<T>(results: Vec<Result<T, FrontendError>>) -> Result<Vec<T>, FrontendError> {
    let mut out = Vec::with_capacity(results.len());
    let mut notes = UnsupportedNotes::default();
    let mut first_other = None;
    for r in results {
        match r {
            Ok(f) => out.push(f),
            Err(e @ FrontendError::Invalid(_)) => return Err(e),
            Err(e @ FrontendError::Unsupported(_)) => notes.add_error(e),
            Err(e) => {
                first_other.get_or_insert(e);
            }
        }
    }
    if let Some(e) = notes.into_error().or(first_other) {
        return Err(e);
    }
    Ok(out)
}

/// Function bodies of fewer bytes than this in all compile on the calling
/// thread even when compilation is parallel: starting the thread pool
/// (about 0.9 ms of a 4 ms `run` of a one-function module, on two cores)
/// costs more than the other threads would save (compiling takes about a
/// millisecond per KiB of small functions).
const PARALLEL_FROM_BYTES: u64 = 1536;

/// `f` applied to every function body, in order, on several threads when
/// `parallel` is set and there is enough to share; each thread reuses one
/// [`Scratch`].
fn for_each_body<'a, R: Send>(
    inputs: Vec<FunctionInput<'a>>,
    parallel: bool,
    f: impl Fn(&mut Scratch, FunctionInput<'a>) -> R + Sync + Send,
) -> Vec<R> {
    let bytes: u64 = inputs
        .iter()
        .map(|i| {
            let r = i.body.range();
            r.end - r.start
        })
        .sum();
    if parallel && inputs.len() > 1 && bytes >= PARALLEL_FROM_BYTES {
        // Largest bodies first, each thread taking the next body when it is
        // done (a large body started last would leave the other threads
        // idle while it compiles): bzip2's 88 KB of code, two functions of
        // 17 KB among them, compiles 18% sooner than with rayon's split of
        // the bodies in order.
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let n = inputs.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| {
            let r = inputs[i].body.range();
            std::cmp::Reverse(r.end - r.start)
        });
        let slots: Vec<Mutex<Option<FunctionInput<'a>>>> =
            inputs.into_iter().map(|i| Mutex::new(Some(i))).collect();
        let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let work = || {
            let mut scratch = Scratch::default();
            while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                let input = lock(&slots[i]).take().expect("each body is taken once");
                let r = f(&mut scratch, input);
                *lock(&results[i]) = Some(r);
            }
        };
        // One worker per pool thread (a scope nests in the embedder's own
        // rayon work as parallel iterators do; a pool thread calling this
        // works too).
        rayon::scope(|s| {
            for _ in 1..rayon::current_num_threads().min(n) {
                s.spawn(|_| work());
            }
            work();
        });
        results
            .into_iter()
            .map(|r| {
                r.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .expect("every body was done")
            })
            .collect()
    } else {
        let mut scratch = Scratch::default();
        inputs
            .into_iter()
            .map(|input| f(&mut scratch, input))
            .collect()
    }
}

/// The library calls compiled code may make: [`libcall_address`] has each,
/// and artifacts name one by its index here.
pub(crate) const LIBCALLS: [LibCall; 10] = [
    LibCall::CeilF32,
    LibCall::CeilF64,
    LibCall::FloorF32,
    LibCall::FloorF64,
    LibCall::TruncF32,
    LibCall::TruncF64,
    LibCall::NearestF32,
    LibCall::NearestF64,
    LibCall::FmaF32,
    LibCall::FmaF64,
];

/// Host implementations of the library calls Cranelift may emit (rounding
/// on CPUs without SSE4.1, fused multiply-add without FMA).
pub(crate) fn libcall_address(lc: LibCall) -> Option<usize> {
    extern "C" fn ceil_f32(x: f32) -> f32 {
        x.ceil()
    }
    extern "C" fn ceil_f64(x: f64) -> f64 {
        x.ceil()
    }
    extern "C" fn floor_f32(x: f32) -> f32 {
        x.floor()
    }
    extern "C" fn floor_f64(x: f64) -> f64 {
        x.floor()
    }
    extern "C" fn trunc_f32(x: f32) -> f32 {
        x.trunc()
    }
    extern "C" fn trunc_f64(x: f64) -> f64 {
        x.trunc()
    }
    extern "C" fn nearest_f32(x: f32) -> f32 {
        x.round_ties_even()
    }
    extern "C" fn nearest_f64(x: f64) -> f64 {
        x.round_ties_even()
    }
    extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
    Some(match lc {
        LibCall::CeilF32 => ceil_f32 as *const () as usize,
        LibCall::CeilF64 => ceil_f64 as *const () as usize,
        LibCall::FloorF32 => floor_f32 as *const () as usize,
        LibCall::FloorF64 => floor_f64 as *const () as usize,
        LibCall::TruncF32 => trunc_f32 as *const () as usize,
        LibCall::TruncF64 => trunc_f64 as *const () as usize,
        LibCall::NearestF32 => nearest_f32 as *const () as usize,
        LibCall::NearestF64 => nearest_f64 as *const () as usize,
        LibCall::FmaF32 => fma_f32 as *const () as usize,
        LibCall::FmaF64 => fma_f64 as *const () as usize,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    /// Every library call an artifact can name resolves to a function.
    #[test]
    fn every_libcall_has_an_address() {
        for lc in super::LIBCALLS {
            assert!(super::libcall_address(lc).is_some(), "{lc:?}");
        }
    }

    /// A body the compiler panics on is still checked to its end: one that
    /// is invalid past the panic is refused as invalid, one that is valid as
    /// an internal error.
    #[test]
    fn a_body_the_compiler_panics_on_is_still_validated() {
        use super::{Compiler, CompilerOptions, FrontendError, Scratch};
        use wasm_jit_frontend::module::parse;
        use wasm_jit_frontend::translate::{MemoryStyle, TranslationEnv};
        use wasm_jit_frontend::vmoffsets::VMOffsets;
        // Type 0 is `[] -> []`. `A` has three functions: `call 2; i32.add`
        // (invalid: the add has no operands), `call 2`, and an empty one.
        const A: &[u8] = &[
            0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 4, 3, 0, 0, 0, 10, 15, 3, 5,
            0, 0x10, 2, 0x6a, 0x0b, 4, 0, 0x10, 2, 0x0b, 2, 0, 0x0b,
        ];
        // `B` has one empty function.
        const B: &[u8] = &[
            0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b,
        ];
        let compiler = Compiler::new(&CompilerOptions::default()).unwrap();
        let features = wasmparser::WasmFeatures::default();
        let mut a = parse(A, features).unwrap();
        let b = parse(B, features).unwrap();
        // Translated with `B`'s description, `call 2` names a function that
        // is not there: the translator panics on it.
        let env = TranslationEnv {
            info: &b.info,
            offsets: VMOffsets::new(&b.info),
            frontend_config: compiler.frontend_config(),
            memory_style: MemoryStyle::Guarded {
                guard_bytes: 1 << 31,
            },
            epoch_interruption: false,
            consume_fuel: false,
            lazy: false,
            count_heat: false,
            osr_checks: false,
            osr_entry: None,
            simd: compiler.simd_lowering(),
            tearing_stores: compiler.tearing_stores(),
            far_calls: false,
        };
        let mut scratch = Scratch::default();
        let valid = a.functions.remove(1);
        let invalid = a.functions.remove(0);
        match compiler.compile_function(&env, invalid, &mut scratch, None) {
            Err(FrontendError::Invalid(msg)) => assert!(msg.contains("type mismatch"), "{msg}"),
            other => panic!("expected an invalid body, got {:?}", other.err()),
        }
        match compiler.compile_function(&env, valid, &mut scratch, None) {
            Err(FrontendError::Codegen(msg)) => {
                assert!(msg.contains("compiler panicked on function 1"), "{msg}")
            }
            other => panic!("expected an internal error, got {:?}", other.err()),
        }
    }
}
