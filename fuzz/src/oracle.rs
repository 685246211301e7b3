//! The fuzz targets. Each takes the iteration's random source and says
//! whether anything went wrong.

use anyhow::Result;

use crate::{Finding, Rng, smith_module, smith_module_all_features};

/// Fuel for one instantiation or call: enough for real work, little enough
/// that loops end quickly.
const FUEL: u64 = 20_000;

/// A value as both engines can report it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    /// Vector lanes; float lanes are compared bit for bit, so wasm-smith
    /// canonicalises NaNs in vector code too.
    V128(u128),
    /// A reference: only whether it is null is comparable.
    Ref(bool),
}

/// What a call or instantiation came to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    Values(Vec<Value>),
    Trap(&'static str),
    /// Out of fuel or stack: the engines count both differently, so the
    /// rest of the module proves nothing.
    Inconclusive,
}

fn jit_trap_name(t: wasm_jit::Trap) -> Option<&'static str> {
    use wasm_jit::Trap as T;
    Some(match t {
        T::MemoryOutOfBounds => "memory out of bounds",
        T::TableOutOfBounds | T::UndefinedElement => "table out of bounds",
        T::UninitializedElement => "indirect call to null",
        T::IntegerDivisionByZero => "integer divide by zero",
        T::IntegerOverflow => "integer overflow",
        T::BadConversionToInteger => "bad conversion to integer",
        T::Unreachable => "unreachable",
        T::IndirectCallTypeMismatch => "bad signature",
        T::NullReference => "null reference",
        T::NullFunctionReference => "null function reference",
        T::NullExceptionReference => "null exception reference",
        T::OutOfFuel | T::StackOverflow | T::Interrupted => return None,
        _ => "other trap",
    })
}

fn jit_outcome(e: &anyhow::Error) -> Outcome {
    match e.downcast_ref::<wasm_jit::Trap>() {
        Some(t) => match jit_trap_name(*t) {
            Some(name) => Outcome::Trap(name),
            None => Outcome::Inconclusive,
        },
        // Instantiation refused by a limit (memory or table too large).
        None => Outcome::Trap("error"),
    }
}

fn wasmi_outcome(e: &wasmi::Error) -> Outcome {
    use wasmi::TrapCode as C;
    match e.as_trap_code() {
        Some(C::OutOfFuel | C::StackOverflow) => Outcome::Inconclusive,
        Some(c) => Outcome::Trap(match c {
            C::UnreachableCodeReached => "unreachable",
            C::MemoryOutOfBounds => "memory out of bounds",
            C::TableOutOfBounds => "table out of bounds",
            C::IndirectCallToNull => "indirect call to null",
            C::IntegerDivisionByZero => "integer divide by zero",
            C::IntegerOverflow => "integer overflow",
            C::BadConversionToInteger => "bad conversion to integer",
            C::BadSignature => "bad signature",
            _ => "other trap",
        }),
        None => Outcome::Trap("error"),
    }
}

pub(crate) fn from_jit(v: &wasm_jit::Val) -> Value {
    use wasm_jit::Val as V;
    match *v {
        V::I32(x) => Value::I32(x),
        V::I64(x) => Value::I64(x),
        V::F32(b) => Value::F32(b),
        V::F64(b) => Value::F64(b),
        V::V128(x) => Value::V128(x),
        V::FuncRef(r) => Value::Ref(r.is_none()),
        V::ExternRef(r) => Value::Ref(r.is_none()),
        V::AnyRef(r) => Value::Ref(r.is_none()),
        V::ExnRef(r) => Value::Ref(r.is_none()),
    }
}

fn from_wasmi(v: &wasmi::Val) -> Value {
    use wasmi::Val as V;
    match v {
        V::I32(x) => Value::I32(*x),
        V::I64(x) => Value::I64(*x),
        V::F32(x) => Value::F32(x.to_bits()),
        V::F64(x) => Value::F64(x.to_bits()),
        V::FuncRef(r) => Value::Ref(r.is_null()),
        V::ExternRef(r) => Value::Ref(r.is_null()),
        V::V128(x) => Value::V128(x.as_u128()),
    }
}

/// An argument of type `ty`: edge values often, random bits otherwise.
fn arg(rng: &mut Rng, ty: wasm_jit::ValType) -> Option<(wasm_jit::Val, wasmi::Val)> {
    use wasm_jit::ValType as T;
    let pick = rng.below(4);
    Some(match ty {
        T::I32 => {
            let x = match pick {
                0 => [0, 1, -1, i32::MIN, i32::MAX, 65536][rng.below(6) as usize],
                1 => rng.below(70_000) as i32,
                _ => rng.next() as i32,
            };
            (wasm_jit::Val::I32(x), wasmi::Val::I32(x))
        }
        T::I64 => {
            let x = match pick {
                0 => [0, 1, -1, i64::MIN, i64::MAX][rng.below(5) as usize],
                1 => rng.below(70_000) as i64,
                _ => rng.next() as i64,
            };
            (wasm_jit::Val::I64(x), wasmi::Val::I64(x))
        }
        T::F32 => {
            let b = match pick {
                0 => [0.0f32, -0.0, 1.0, f32::INFINITY, 2147483648.0][rng.below(5) as usize]
                    .to_bits(),
                _ => rng.next() as u32,
            };
            (
                wasm_jit::Val::F32(b),
                wasmi::Val::F32(wasmi::F32::from_bits(b)),
            )
        }
        T::F64 => {
            let b = match pick {
                0 => {
                    [0.0f64, -0.0, 1.0, f64::NEG_INFINITY, 9.3e18][rng.below(5) as usize].to_bits()
                }
                _ => rng.next(),
            };
            (
                wasm_jit::Val::F64(b),
                wasmi::Val::F64(wasmi::F64::from_bits(b)),
            )
        }
        T::FuncRef => (
            wasm_jit::Val::FuncRef(None),
            wasmi::Val::FuncRef(wasmi::Nullable::Null),
        ),
        T::ExternRef => (
            wasm_jit::Val::ExternRef(None),
            wasmi::Val::ExternRef(wasmi::Nullable::Null),
        ),
        // A nullable typed reference (GC, typed function references) gets
        // null; the wasmi side is only used by the differential target,
        // which generates no typed references. A non-null one is skipped.
        T::Ref(r) if r.nullable => (
            wasm_jit::Val::default_for(ty),
            wasmi::Val::FuncRef(wasmi::Nullable::Null),
        ),
        T::Ref(_) => return None,
        T::V128 => {
            let x = match pick {
                0 => [0, u128::MAX, 1, 0x7fc0_0000_3f80_0000_8000_0000_7f80_0000]
                    [rng.below(4) as usize],
                _ => (rng.next() as u128) << 64 | rng.next() as u128,
            };
            (wasm_jit::Val::V128(x), wasmi::Val::V128(x.into()))
        }
    })
}

fn jit_engine(explicit: bool, lazy: bool, quick_tier: bool) -> wasm_jit::Engine {
    let mut c = wasm_jit::Config::new();
    c.consume_fuel(true)
        // Fuel does not end a `memory.atomic.wait`, whose timeout the
        // generator may make centuries long: epochs do (see `Ticker`).
        .epoch_interruption(true)
        // Ill-typed IR that Cranelift happens to compile is a bug too.
        .cranelift_debug_verifier(true)
        .explicit_bounds_checks(explicit)
        .parallel_compilation(false)
        // 64-bit memories may otherwise grow to terabytes of address
        // space, which the state comparison would copy: 4 GiB, as 32-bit.
        .max_memory_pages(65536);
    let mut features = wasm_jit::Config::DEFAULT_FEATURES;
    features.set(wasm_jit::WasmFeatures::CUSTOM_PAGE_SIZES, true);
    features.set(wasm_jit::WasmFeatures::WIDE_ARITHMETIC, true);
    c.wasm_features(features);
    if lazy {
        // Compiled on first call only (no background threads), so the
        // outcome depends on the module alone; by the quick first tier
        // itself (heat counting, the fallback for large frames), or with
        // its settings for every function (no optimisation, single-pass
        // register allocator), so that its code meets the oracles too.
        c.compilation_mode(wasm_jit::CompilationMode::Lazy)
            .background_compilation(false);
        if quick_tier {
            c.first_tier(wasm_jit::FirstTier::Quick)
                .quick_tier_always(true);
        } else {
            c.cranelift_opt_level(wasm_jit::OptLevel::None)
                .cranelift_regalloc_algorithm(wasm_jit::RegallocAlgorithm::SinglePass);
        }
    }
    wasm_jit::Engine::new(&c).expect("valid configuration")
}

/// wasm-jit's instance of `wasm` (with explicit bounds checks or guard
/// pages), or the finding that it refused a module the generator made
/// valid. Every other module (by its length, so a replay compiles it the
/// same way) is compiled lazily, half of those by the quick first tier.
fn jit_or_finding(explicit: bool, wasm: &[u8]) -> Result<Jit, Finding> {
    let engine = jit_engine(explicit, wasm.len() % 2 == 1, wasm.len() % 4 == 3);
    Jit::new(&engine, wasm).map_err(|e| {
        Finding::Mismatch(
            format!("wasm-jit refused a valid module: {e}"),
            wasm.to_vec(),
        )
    })
}

/// After a run: every function of `jit`'s module compiles. (A lazily
/// compiled function that cannot be compiled otherwise only shows as a
/// failed call, which a target comparing wasm-jit with itself, or with
/// nothing, would not notice.) `serialize` compiles what calls did not.
fn compiles_whole(jit: &Jit, wasm: &[u8]) -> Option<Finding> {
    let e = jit.module.serialize().err()?;
    Some(Finding::Mismatch(
        format!("wasm-jit cannot compile or serialize a valid module: {e:#}"),
        wasm.to_vec(),
    ))
}

/// One engine's view of a module: instantiate, call exports, read state.
trait Side {
    fn instantiate(&mut self) -> Outcome;
    fn call(&mut self, name: &str, args: &[(wasm_jit::Val, wasmi::Val)], results: usize)
    -> Outcome;
    /// Exported globals and memories, in export order.
    fn state(&mut self) -> std::collections::BTreeMap<String, Vec<u8>>;
}

pub(crate) struct Jit {
    pub(crate) store: wasm_jit::Store<()>,
    module: wasm_jit::Module,
    pub(crate) instance: Option<wasm_jit::Instance>,
    _ticker: Ticker,
}

/// Ticks an engine's epoch every [`TICK`] while it lives, so that a call
/// given a deadline of [`DEADLINE_TICKS`] (every call and instantiation
/// here) ends within about a second, even in a wait.
struct Ticker(std::sync::Arc<std::sync::atomic::AtomicBool>);

const TICK: std::time::Duration = std::time::Duration::from_millis(50);
const DEADLINE_TICKS: u64 = 20;

impl Ticker {
    fn new(engine: &wasm_jit::Engine) -> Ticker {
        let live = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (engine, still) = (engine.clone(), live.clone());
        std::thread::spawn(move || {
            while still.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(TICK);
                engine.increment_epoch();
            }
        });
        Ticker(live)
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Jit {
    fn new(engine: &wasm_jit::Engine, wasm: &[u8]) -> Result<Jit, String> {
        let module = wasm_jit::Module::from_binary(engine, wasm).map_err(|e| format!("{e:#}"))?;
        Ok(Jit {
            store: wasm_jit::Store::new(engine, ()),
            module,
            instance: None,
            _ticker: Ticker::new(engine),
        })
    }

    /// Exported functions: name and type.
    pub(crate) fn funcs(&mut self) -> Vec<(String, wasm_jit::FuncType)> {
        let Some(instance) = self.instance else {
            return Vec::new();
        };
        instance
            .exports(&mut self.store)
            .filter_map(|export| {
                let name = export.name().to_string();
                let f = export.into_func()?;
                Some((name, f.ty(&self.store)))
            })
            .collect()
    }
}

impl Side for Jit {
    fn instantiate(&mut self) -> Outcome {
        self.store.set_fuel(FUEL).unwrap();
        self.store.set_epoch_deadline(DEADLINE_TICKS);
        match wasm_jit::Linker::new(self.store.engine()).instantiate(&mut self.store, &self.module)
        {
            Ok(i) => {
                self.instance = Some(i);
                Outcome::Values(Vec::new())
            }
            Err(e) => jit_outcome(&e),
        }
    }

    fn call(
        &mut self,
        name: &str,
        args: &[(wasm_jit::Val, wasmi::Val)],
        results: usize,
    ) -> Outcome {
        let instance = self.instance.unwrap();
        let f = instance.get_func(&mut self.store, name).unwrap();
        let ty = f.ty(&self.store);
        let params: Vec<_> = args.iter().map(|a| a.0).collect();
        let mut out: Vec<_> = ty.results().map(wasm_jit::Val::default_for).collect();
        debug_assert_eq!(out.len(), results);
        self.store.set_fuel(FUEL).unwrap();
        self.store.set_epoch_deadline(DEADLINE_TICKS);
        match f.call(&mut self.store, &params, &mut out) {
            Ok(()) => Outcome::Values(out.iter().map(from_jit).collect()),
            Err(e) => jit_outcome(&e),
        }
    }

    fn state(&mut self) -> std::collections::BTreeMap<String, Vec<u8>> {
        let mut out = std::collections::BTreeMap::new();
        let Some(instance) = self.instance else {
            return out;
        };
        for export in instance.exports(&mut self.store) {
            let (name, e) = (export.name().to_string(), export.into_extern());
            match e {
                wasm_jit::Extern::Global(g) => {
                    let v = from_jit(&g.get(&mut self.store));
                    out.insert(name, format!("{v:?}").into_bytes());
                }
                wasm_jit::Extern::Memory(m) => {
                    out.insert(name, m.data(&self.store).to_vec());
                }
                wasm_jit::Extern::SharedMemory(m) => {
                    // SAFETY: no other thread has this memory: nothing
                    // writes it while it is read.
                    let bytes = m.data().iter().map(|b| unsafe { *b.get() }).collect();
                    out.insert(name, bytes);
                }
                _ => {}
            }
        }
        out
    }
}

struct Wasmi {
    store: wasmi::Store<()>,
    module: wasmi::Module,
    instance: Option<wasmi::Instance>,
}

impl Wasmi {
    fn new(wasm: &[u8]) -> Option<Wasmi> {
        let mut c = wasmi::Config::default();
        c.consume_fuel(true);
        let engine = wasmi::Engine::new(&c);
        let module = wasmi::Module::new(&engine, wasm).ok()?;
        Some(Wasmi {
            store: wasmi::Store::new(&engine, ()),
            module,
            instance: None,
        })
    }
}

impl Side for Wasmi {
    fn instantiate(&mut self) -> Outcome {
        self.store.set_fuel(FUEL).unwrap();
        let linker = wasmi::Linker::<()>::new(self.store.engine());
        match linker.instantiate_and_start(&mut self.store, &self.module) {
            Ok(i) => {
                self.instance = Some(i);
                Outcome::Values(Vec::new())
            }
            Err(e) => wasmi_outcome(&e),
        }
    }

    fn call(
        &mut self,
        name: &str,
        args: &[(wasm_jit::Val, wasmi::Val)],
        results: usize,
    ) -> Outcome {
        let instance = self.instance.unwrap();
        let f = instance.get_func(&self.store, name).unwrap();
        let ty = f.ty(&self.store);
        let params: Vec<_> = args.iter().map(|a| a.1.clone()).collect();
        let mut out: Vec<_> = ty
            .results()
            .iter()
            .map(|t| wasmi::Val::default_for_ty(*t))
            .collect();
        debug_assert_eq!(out.len(), results);
        self.store.set_fuel(FUEL).unwrap();
        match f.call(&mut self.store, &params, &mut out) {
            Ok(()) => Outcome::Values(out.iter().map(from_wasmi).collect()),
            Err(e) => wasmi_outcome(&e),
        }
    }

    fn state(&mut self) -> std::collections::BTreeMap<String, Vec<u8>> {
        let mut out = std::collections::BTreeMap::new();
        let Some(instance) = self.instance else {
            return out;
        };
        let exports: Vec<(String, wasmi::Extern)> = instance
            .exports(&self.store)
            .map(|e| (e.name().to_string(), e.into_extern()))
            .collect();
        for (name, e) in exports {
            match e {
                wasmi::Extern::Global(g) => {
                    let v = from_wasmi(&g.get(&self.store));
                    out.insert(name, format!("{v:?}").into_bytes());
                }
                wasmi::Extern::Memory(m) => {
                    out.insert(name, m.data(&self.store).to_vec());
                }
                _ => {}
            }
        }
        out
    }
}

/// A difference between the two sides, with what wasm-jit did up to it
/// (for a third opinion).
pub struct Difference {
    pub what: String,
    /// Every call wasm-jit made, with its arguments and outcome, the last
    /// one being where the sides differed (if it was a call).
    calls: Vec<(String, Vec<wasm_jit::Val>, Outcome)>,
}

/// Runs the module on two sides, comparing as it goes; `Err` describes the
/// first difference. Returns how many executions agreed.
fn compare(rng: &mut Rng, jit: &mut Jit, other: &mut dyn Side) -> Result<u64, Difference> {
    let mut executions = 1;
    let mut calls = Vec::new();
    let (a, b) = (jit.instantiate(), other.instantiate());
    if a == Outcome::Inconclusive || b == Outcome::Inconclusive {
        return Ok(executions);
    }
    // wasmi reports some failed instantiations (a segment out of bounds)
    // as an error rather than a trap: failing is what must agree.
    let failed = |o: &Outcome| !matches!(o, Outcome::Values(_));
    let same_failure =
        failed(&a) && failed(&b) && (a == Outcome::Trap("error") || b == Outcome::Trap("error"));
    if a != b && !same_failure {
        return Err(Difference {
            what: format!("instantiation: wasm-jit {a:?}, oracle {b:?}"),
            calls,
        });
    }
    if !matches!(a, Outcome::Values(_)) {
        return Ok(executions);
    }
    for (name, ty) in jit.funcs() {
        let Some(args) = ty.params().map(|t| arg(rng, t)).collect::<Option<Vec<_>>>() else {
            continue;
        };
        let (a, b) = (
            jit.call(&name, &args, ty.results().len()),
            other.call(&name, &args, ty.results().len()),
        );
        executions += 1;
        if a == Outcome::Inconclusive || b == Outcome::Inconclusive {
            // State may have diverged from here on.
            return Ok(executions);
        }
        let shown: Vec<_> = args.iter().map(|a| a.0).collect();
        calls.push((name.clone(), shown.clone(), a.clone()));
        if a != b {
            return Err(Difference {
                what: format!("call {name}{shown:?}: wasm-jit {a:?}, oracle {b:?}"),
                calls,
            });
        }
        let (sa, sb) = (jit.state(), other.state());
        if sa != sb {
            let (which, mine) = sa
                .iter()
                .find(|(k, v)| sb.get(*k) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap_or_default();
            let theirs = sb.get(&which).cloned().unwrap_or_default();
            let detail = if mine.len() < 64 {
                format!(
                    "wasm-jit {}, oracle {}",
                    String::from_utf8_lossy(&mine),
                    String::from_utf8_lossy(&theirs)
                )
            } else {
                let at = mine.iter().zip(&theirs).position(|(x, y)| x != y);
                format!("memory first differs at byte {at:?}")
            };
            return Err(Difference {
                what: format!("after call {name}{shown:?}: export `{which}` differs: {detail}"),
                calls,
            });
        }
    }
    Ok(executions)
}

/// wasm-jit against wasmi.
pub fn differential(rng: &mut Rng) -> Result<Finding> {
    let wasm = crate::smith_module_single_memory(rng)?;
    let mut jit = match jit_or_finding(false, &wasm) {
        Ok(j) => j,
        Err(finding) => return Ok(finding),
    };
    // The oracle may not take the module (or may panic): then there is
    // nothing to compare.
    let Ok(Some(mut oracle)) = std::panic::catch_unwind(|| Wasmi::new(&wasm)) else {
        return Ok(Finding::Fine(0));
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        compare(rng, &mut jit, &mut oracle)
    }));
    Ok(match result {
        Ok(Ok(n)) => Finding::Fine(n),
        Ok(Err(d)) => match crate::v8::agrees_with_jit(&wasm, &mut jit, &d.calls) {
            Some(true) => Finding::OracleBug(d.what, wasm),
            _ => Finding::Mismatch(d.what, wasm),
        },
        // A panic inside wasmi (its known translator bugs) proves nothing;
        // a panic in wasm-jit would have unwound through its own frames and
        // is caught by the runner as a crash when it happens outside here.
        Err(_) => Finding::Fine(0),
    })
}

/// Guard pages against explicit bounds checks.
pub fn strategies(rng: &mut Rng) -> Result<Finding> {
    let wasm = smith_module_all_features(rng)?;
    let mut guarded = match jit_or_finding(false, &wasm) {
        Ok(j) => j,
        Err(finding) => return Ok(finding),
    };
    let mut explicit = match jit_or_finding(true, &wasm) {
        Ok(j) => j,
        Err(finding) => return Ok(finding),
    };
    Ok(match compare(rng, &mut guarded, &mut explicit) {
        Ok(n) => compiles_whole(&guarded, &wasm)
            .or_else(|| compiles_whole(&explicit, &wasm))
            .unwrap_or(Finding::Fine(n)),
        Err(d) => Finding::Mismatch(format!("guarded vs explicit: {}", d.what), wasm),
    })
}

/// Arbitrary bytes, and generated modules with a few bytes changed, into
/// `Module::new`: any answer but a panic is fine, as long as eager and lazy
/// compilation (which only validates bodies when loading) give the same.
pub fn parse(rng: &mut Rng) -> Result<Finding> {
    let bytes = if rng.below(2) == 0 {
        let mut b = b"\0asm\x01\0\0\0".to_vec();
        let n = rng.below(512) as usize;
        b.extend(rng.bytes(n));
        b
    } else {
        let mut b = smith_module(rng)?;
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(b.len() as u64) as usize;
            b[i] = rng.next() as u8;
        }
        b
    };
    let load = |lazy: bool| {
        wasm_jit::Module::from_binary(&jit_engine(false, lazy, false), &bytes)
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
    };
    let (eager, lazy) = (load(false), load(true));
    if eager != lazy {
        return Ok(Finding::Mismatch(
            format!("eager and lazy loading disagree: {eager:?} against {lazy:?}"),
            bytes,
        ));
    }
    Ok(Finding::Fine(1))
}

/// Generated modules, run with no oracle: whatever they do, the host lives.
pub fn run(rng: &mut Rng) -> Result<Finding> {
    let wasm = smith_module_all_features(rng)?;
    let mut jit = match jit_or_finding(rng.below(2) == 0, &wasm) {
        Ok(j) => j,
        Err(finding) => return Ok(finding),
    };
    let mut n = 1;
    if jit.instantiate() != Outcome::Values(Vec::new()) {
        return Ok(compiles_whole(&jit, &wasm).unwrap_or(Finding::Fine(n)));
    }
    for (name, ty) in jit.funcs() {
        if let Some(args) = ty.params().map(|t| arg(rng, t)).collect::<Option<Vec<_>>>() {
            jit.call(&name, &args, ty.results().len());
            n += 1;
        }
    }
    Ok(compiles_whole(&jit, &wasm).unwrap_or(Finding::Fine(n)))
}

/// WASI calls with guest-chosen pointers, lengths and descriptors: a module
/// that calls a random selection of WASI functions with random arguments,
/// in a sandbox directory. The host must never crash, hang or panic.
pub fn wasi(rng: &mut Rng) -> Result<Finding> {
    // (name, parameter count) of every call taking only i32s.
    const CALLS: [(&str, usize); 24] = [
        ("args_get", 2),
        ("args_sizes_get", 2),
        ("environ_get", 2),
        ("environ_sizes_get", 2),
        ("clock_res_get", 2),
        ("fd_close", 1),
        ("fd_fdstat_get", 2),
        ("fd_filestat_get", 2),
        ("fd_prestat_get", 2),
        ("fd_prestat_dir_name", 3),
        ("fd_read", 4),
        ("fd_write", 4),
        ("fd_renumber", 2),
        ("fd_sync", 1),
        ("fd_datasync", 1),
        ("path_create_directory", 3),
        ("path_remove_directory", 3),
        ("path_unlink_file", 3),
        ("path_readlink", 6),
        ("path_symlink", 5),
        ("path_rename", 6),
        ("random_get", 2),
        ("sched_yield", 0),
        ("poll_oneoff", 4),
    ];
    let mut imports = String::new();
    let mut body = String::new();
    for (i, (name, n)) in CALLS.iter().enumerate() {
        let params = "i32 ".repeat(*n);
        imports.push_str(&format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func $f{i} (param {params}) (result i32)))\n"
        ));
    }
    for _ in 0..1 + rng.below(12) {
        let i = rng.below(CALLS.len() as u64) as usize;
        let mut call = format!("(drop (call $f{i}");
        for _ in 0..CALLS[i].1 {
            let v: u32 = match rng.below(4) {
                0 => [0, 3, 4, 0xffff_fffc, 0xffff, 0x1_0000][rng.below(6) as usize],
                1 => rng.below(70_000) as u32,
                2 => rng.below(8) as u32,
                _ => rng.next() as u32,
            };
            call.push_str(&format!(" (i32.const {})", v as i32));
        }
        call.push_str("))\n");
        body.push_str(&call);
    }
    // Some bytes in memory to act as strings and iovecs.
    let data: String = rng.bytes(64).iter().map(|b| format!("\\{b:02x}")).collect();
    let wat = format!(
        "(module {imports} (memory (export \"memory\") 1 2) (data (i32.const 0) \"{data}\") (func (export \"_start\") {body}))"
    );
    let engine = wasm_jit::Engine::default();
    let module = wasm_jit::Module::new(&engine, &wat)?;
    let dir = std::env::temp_dir().join(format!("wasm-jit-fuzz-wasi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let ctx = wasm_jit_wasi::WasiCtxBuilder::new()
        .args(["fuzz"])
        .preopened_dir(
            &dir,
            "/sandbox",
            wasm_jit_wasi::DirPerms::all(),
            wasm_jit_wasi::FilePerms::all(),
        )?
        .deadline(std::time::Instant::now() + std::time::Duration::from_millis(200))
        .build();
    let mut linker = wasm_jit::Linker::new(&engine);
    wasm_jit_wasi::add_to_linker(&mut linker, |cx| cx)?;
    let mut store = wasm_jit::Store::new(&engine, ctx);
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_func(&mut store, "_start").unwrap();
    // Errors (an errno is not one; a trap or exit is) are fine; a panic is
    // caught by the runner as a crash.
    let _ = start.call(&mut store, &[], &mut []);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Finding::Fine(1))
}
