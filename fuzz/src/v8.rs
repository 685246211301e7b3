//! A third opinion when wasm-jit and wasmi disagree: the same calls in V8
//! (Node's `WebAssembly`), and the final exported state, compared with
//! wasm-jit's. When V8 agrees with wasm-jit on everything, the
//! disagreement was wasmi's.
//!
//! JavaScript would lose information on the way (a NaN's payload, a
//! `v128`, which trap), so no Wasm value crosses into it: a probe module,
//! generated for the module, imports its exports (Wasm to Wasm), makes each
//! call with the arguments as constants and returns every result as
//! integers — float results as their bits, a `v128` as two `i64`s, a
//! reference as whether it is null — and reads each exported global the
//! same way. A trap is compared by kind, as far as V8's messages tell
//! kinds apart.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::oracle::{Jit, Outcome, Value};

/// A JavaScript string literal.
fn js_string(s: &str) -> String {
    let mut out = String::from("\"");
    for unit in s.encode_utf16() {
        match unit {
            0x20..=0x7e if unit != u16::from(b'"') && unit != u16::from(b'\\') => {
                out.push(unit as u8 as char)
            }
            _ => {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out.push('"');
    out
}

/// A value type as WAT spells it, for the probe module; `None` for any
/// reference type but `funcref` and `externref` (the differential modules
/// have no others; a concrete one could not be named here).
fn wat_type(t: &wasm_jit::ValType) -> Option<&'static str> {
    Some(match t {
        wasm_jit::ValType::I32 => "i32",
        wasm_jit::ValType::I64 => "i64",
        wasm_jit::ValType::F32 => "f32",
        wasm_jit::ValType::F64 => "f64",
        wasm_jit::ValType::V128 => "v128",
        wasm_jit::ValType::FuncRef => "funcref",
        wasm_jit::ValType::ExternRef => "externref",
        _ => return None,
    })
}

/// A `v128`'s two `i64` lanes, low first, in decimal (as WAT's `i64x2`
/// constants and the probe's results spell them).
fn lanes(x: u128) -> String {
    format!("{} {}", x as u64 as i64, (x >> 64) as u64 as i64)
}

/// A call argument as WAT instructions that push it, bit for bit (NaN
/// payloads and `v128`s included); `None` for a non-null reference.
fn wat_arg(v: &wasm_jit::Val) -> Option<String> {
    Some(match *v {
        wasm_jit::Val::I32(x) => format!("i32.const {x}"),
        wasm_jit::Val::I64(x) => format!("i64.const {x}"),
        wasm_jit::Val::F32(b) => format!("i32.const {} f32.reinterpret_i32", b as i32),
        wasm_jit::Val::F64(b) => format!("i64.const {} f64.reinterpret_i64", b as i64),
        wasm_jit::Val::V128(x) => format!("v128.const i64x2 {}", lanes(x)),
        wasm_jit::Val::FuncRef(None) => "ref.null func".into(),
        wasm_jit::Val::ExternRef(None) => "ref.null extern".into(),
        _ => return None,
    })
}

/// The integer types a value of type `t` comes out of the probe as, and
/// the instructions that turn it (pushed by `get`) into them.
fn as_integers(t: &str, get: &str) -> (Vec<&'static str>, String) {
    match t {
        "f32" => (vec!["i32"], format!("{get} i32.reinterpret_f32 ")),
        "f64" => (vec!["i64"], format!("{get} i64.reinterpret_f64 ")),
        "v128" => (
            vec!["i64", "i64"],
            format!("{get} i64x2.extract_lane 0 {get} i64x2.extract_lane 1 "),
        ),
        "funcref" | "externref" => (vec!["i32"], format!("{get} ref.is_null ")),
        "i32" => (vec!["i32"], format!("{get} ")),
        _ => (vec!["i64"], format!("{get} ")),
    }
}

/// A value as the probe returns it: integers in decimal (floats as their
/// bits, a `v128` as its two `i64` lanes, low first, a reference as 1 when
/// null, else 0).
fn shown(v: &Value) -> String {
    match *v {
        Value::I32(x) => x.to_string(),
        Value::I64(x) => x.to_string(),
        Value::F32(b) => (b as i32).to_string(),
        Value::F64(b) => (b as i64).to_string(),
        Value::V128(x) => lanes(x),
        Value::Ref(null) => u8::from(null).to_string(),
    }
}

/// The probe's function `p{i}`, which makes call `i` of the export imported
/// as `f{i}` (of type `ty`) with `args` and returns its results as
/// integers: the import and the function, as WAT. `None` when the types or
/// arguments cannot be written out.
fn probe_call(
    i: usize,
    ty: &wasm_jit::FuncType,
    args: &[wasm_jit::Val],
) -> Option<(String, String)> {
    let params = ty
        .params()
        .map(|t| wat_type(&t))
        .collect::<Option<Vec<_>>>()?;
    let results = ty
        .results()
        .map(|t| wat_type(&t))
        .collect::<Option<Vec<_>>>()?;
    let import = format!(
        "(import \"m\" \"f{i}\" (func $f{i} (param {}) (result {})))",
        params.join(" "),
        results.join(" ")
    );
    let mut body = String::new();
    for a in args {
        body.push_str(&wat_arg(a)?);
        body.push(' ');
    }
    let _ = write!(body, "call $f{i} ");
    // The results into locals (the last is on top), then out again as
    // integers, in order.
    let locals: Vec<String> = results.iter().map(|t| format!("(local {t})")).collect();
    for k in (0..results.len()).rev() {
        let _ = write!(body, "local.set {k} ");
    }
    let mut out_types = Vec::new();
    for (k, t) in results.iter().enumerate() {
        let (types, code) = as_integers(t, &format!("local.get {k}"));
        out_types.extend(types);
        body.push_str(&code);
    }
    let func = format!(
        "(func (export \"p{i}\") (result {}) {} {body})",
        out_types.join(" "),
        locals.join(" ")
    );
    Some((import, func))
}

/// The probe's function `g{j}`, which reads the global imported as `g{j}`
/// as integers: the import and the function. `None` for a type it cannot
/// name.
fn probe_global(j: usize, ty: &wasm_jit::GlobalType) -> Option<(String, String)> {
    let t = wat_type(&ty.content)?;
    let import = if ty.mutable {
        format!("(import \"m\" \"g{j}\" (global $g{j} (mut {t})))")
    } else {
        format!("(import \"m\" \"g{j}\" (global $g{j} {t}))")
    };
    let (types, code) = as_integers(t, &format!("global.get $g{j}"));
    let func = format!(
        "(func (export \"g{j}\") (result {}) {code})",
        types.join(" ")
    );
    Some((import, func))
}

/// The trap kinds V8's messages tell apart, for one of the oracle's trap
/// names; `None` for a trap V8 cannot be compared on.
fn trap_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "memory out of bounds" => "memory",
        "table out of bounds" => "table",
        // V8 says "null function or function signature mismatch" for both.
        "indirect call to null" | "bad signature" => "null-or-signature",
        "integer divide by zero" => "divide by zero",
        "integer overflow" => "overflow",
        "bad conversion to integer" => "conversion",
        "unreachable" => "unreachable",
        "null reference" | "null function reference" | "null exception reference" => "null",
        _ => return None,
    })
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

const PRELUDE: &str = r#"
const fs = require('fs');
function list(r) {
  if (r === undefined) return '';
  if (Array.isArray(r)) return r.map(String).join(' ');
  return String(r);
}
function trapClass(e) {
  const m = String(e && e.message);
  if (/unreachable/.test(m)) return 'unreachable';
  if (/memory access out of bounds|data segment/.test(m)) return 'memory';
  if (/divide by zero|remainder by zero/.test(m)) return 'divide by zero';
  if (/divide result unrepresentable|integer overflow/.test(m)) return 'overflow';
  if (/float unrepresentable|unrepresentable in integer/.test(m)) return 'conversion';
  if (/table index is out of bounds|table access|element segment/.test(m)) return 'table';
  if (/null function or function signature mismatch/.test(m)) return 'null-or-signature';
  if (/null/.test(m)) return 'null';
  return 'unknown (' + m + ')';
}
function fnv(bytes) {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) { h ^= BigInt(b); h = (h * 0x100000001b3n) & 0xffffffffffffffffn; }
  return h.toString();
}
"#;

/// `Some(true)` when V8, making wasm-jit's calls, gets wasm-jit's results
/// and final state; `Some(false)` when it does not; `None` when it cannot
/// tell (no Node, a call or global the probe cannot write out, a trap V8
/// cannot be compared on, a failure).
pub fn agrees_with_jit(
    wasm: &[u8],
    jit: &mut Jit,
    calls: &[(String, Vec<wasm_jit::Val>, Outcome)],
) -> Option<bool> {
    /// Removes the script's directory however the check ends.
    struct Scratch(std::path::PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let debug = std::env::var_os("WASM_JIT_FUZZ_DEBUG").is_some();
    let scratch =
        Scratch(std::env::temp_dir().join(format!("wasm-jit-fuzz-v8-{}", std::process::id())));
    let dir = &scratch.0;
    std::fs::create_dir_all(dir).ok()?;
    let module = dir.join("m.wasm");
    std::fs::write(&module, wasm).ok()?;

    let funcs: std::collections::BTreeMap<String, wasm_jit::FuncType> =
        jit.funcs().into_iter().collect();
    let (mut imports, mut probes, mut links) = (Vec::new(), Vec::new(), Vec::new());
    let (mut run, mut expected) = (String::new(), String::new());
    for (i, (name, args, outcome)) in calls.iter().enumerate() {
        let Some((import, func)) = probe_call(i, funcs.get(name)?, args) else {
            if debug {
                eprintln!("V8 cannot make call {i} exactly");
            }
            return None;
        };
        imports.push(import);
        probes.push(func);
        links.push(format!("f{i}: instance.exports[{}]", js_string(name)));
        let _ = writeln!(
            run,
            "try {{ out.push('call {i}: ' + list(probe.exports.p{i}())); }} catch (e) {{ out.push('call {i}: trap ' + trapClass(e)); }}"
        );
        let want = match outcome {
            Outcome::Values(vs) => vs.iter().map(shown).collect::<Vec<_>>().join(" "),
            Outcome::Trap(name) => format!("trap {}", trap_class(name)?),
            Outcome::Inconclusive => return None,
        };
        let _ = writeln!(expected, "call {i}: {want}");
    }
    for (j, (name, state)) in jit.exported_state().into_iter().enumerate() {
        match state {
            State::Memory(hash) => {
                let _ = writeln!(
                    run,
                    "out.push({} + ': ' + fnv(new Uint8Array(instance.exports[{}].buffer)));",
                    js_string(&name),
                    js_string(&name)
                );
                let _ = writeln!(expected, "{name}: {hash}");
            }
            State::Global(ty, value) => {
                let Some((import, func)) = probe_global(j, &ty) else {
                    if debug {
                        eprintln!("V8 cannot read global `{name}` exactly");
                    }
                    return None;
                };
                imports.push(import);
                probes.push(func);
                links.push(format!("g{j}: instance.exports[{}]", js_string(&name)));
                let _ = writeln!(
                    run,
                    "out.push({} + ': ' + list(probe.exports.g{j}()));",
                    js_string(&name)
                );
                let _ = writeln!(expected, "{name}: {}", shown(&value));
            }
        }
    }
    let probe_wat = format!("(module {} {})", imports.join(" "), probes.join(" "));
    let probe = dir.join("probe.wasm");
    std::fs::write(&probe, wat::parse_str(&probe_wat).ok()?).ok()?;

    let mut js = String::from(PRELUDE);
    let _ = writeln!(
        js,
        "(async () => {{ const {{ instance }} = await WebAssembly.instantiate(fs.readFileSync({}), {{}});\n\
         const probe = (await WebAssembly.instantiate(fs.readFileSync({}), {{ m: {{ {} }} }})).instance;\n\
         const out = [];",
        js_string(&module.to_string_lossy()),
        js_string(&probe.to_string_lossy()),
        links.join(", ")
    );
    js.push_str(&run);
    js.push_str(
        "console.log(out.join('\\n')); })().catch(e => { console.log('failed: ' + e); });\n",
    );
    let script = dir.join("t.js");
    std::fs::write(&script, js).ok()?;
    let mut child = Command::new("node")
        .arg("--experimental-wasm-extended-const")
        // Node 20's V8 compiles 64-bit memories only with this flag.
        .arg("--experimental-wasm-memory64")
        .arg(&script)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Bounded: every call ended within fuel in wasm-jit.
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().ok()?.is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().ok()?;
    let got = String::from_utf8_lossy(&out.stdout);
    if debug {
        eprintln!("V8:\n{got}\nwasm-jit:\n{expected}");
    }
    if got.starts_with("failed:") {
        return None;
    }
    Some(got.trim_end() == expected.trim_end())
}

/// An exported global or memory, as wasm-jit has it.
pub(crate) enum State {
    /// A memory's contents, hashed.
    Memory(u64),
    /// A global's type and value.
    Global(wasm_jit::GlobalType, Value),
}

impl Jit {
    /// Exported globals and memories, by name.
    pub(crate) fn exported_state(&mut self) -> Vec<(String, State)> {
        let Some(instance) = self.instance else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for export in instance.exports(&mut self.store) {
            let (name, e) = (export.name().to_string(), export.into_extern());
            match e {
                wasm_jit::Extern::Global(g) => {
                    let ty = g.ty(&self.store);
                    let v = crate::oracle::from_jit(&g.get(&mut self.store));
                    out.push((name, State::Global(ty, v)));
                }
                wasm_jit::Extern::Memory(m) => {
                    out.push((name, State::Memory(fnv(m.data(&self.store)))));
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe makes a call bit for bit (a `v128` and a NaN with a
    /// payload) and returns its results as integers: a `v128` as two
    /// `i64`s, low lane first, a float as its bits, a reference as whether
    /// it is null; and reads globals the same way.
    #[test]
    fn probes_make_calls_and_read_globals_as_integers() {
        use wasm_jit::{Engine, Linker, Module, Store, Val};
        let engine = Engine::default();
        let module = Module::new(
            &engine,
            r#"(module
                 (global (export "g") (mut f64) (f64.const -0.0))
                 (func (export "f") (param v128 f32) (result v128 f32 externref)
                   local.get 0 local.get 1 ref.null extern))"#,
        )
        .unwrap();
        let x: u128 = (0xfedc_ba98_7654_3210 << 64) | 0x0123_4567_89ab_cdef;
        let nan = 0x7fa0_0001;
        let args = [Val::V128(x), Val::F32(nan)];
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let f = instance.get_func(&mut store, "f").unwrap();
        let g = instance.get_global(&mut store, "g").unwrap();
        let (import, func) = probe_call(3, &f.ty(&store), &args).unwrap();
        let (gimport, gfunc) = probe_global(0, &g.ty(&store)).unwrap();
        let probe = Module::new(
            &engine,
            format!("(module {import} {gimport} {func} {gfunc})"),
        )
        .unwrap();
        let mut linker = Linker::new(&engine);
        linker.define(&store, "m", "f3", f).unwrap();
        linker.define(&store, "m", "g0", g).unwrap();
        let probe = linker.instantiate(&mut store, &probe).unwrap();
        let mut out = [Val::I32(0); 4];
        probe
            .get_func(&mut store, "p3")
            .unwrap()
            .call(&mut store, &[], &mut out)
            .unwrap();
        let lanes = [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210_u64 as i64];
        assert_eq!(
            out,
            [
                Val::I64(lanes[0]),
                Val::I64(lanes[1]),
                Val::I32(nan as i32),
                Val::I32(1)
            ]
        );
        // What wasm-jit's values are compared as.
        let values = [Value::V128(x), Value::F32(nan), Value::Ref(true)];
        let want: Vec<String> = values.iter().map(shown).collect();
        assert_eq!(
            want.join(" "),
            format!("{} {} {} 1", lanes[0], lanes[1], nan as i32)
        );
        let mut bits = [Val::I32(0)];
        probe
            .get_func(&mut store, "g0")
            .unwrap()
            .call(&mut store, &[], &mut bits)
            .unwrap();
        assert_eq!(bits, [Val::I64(i64::MIN)]);
        assert_eq!(shown(&Value::F64(1 << 63)), i64::MIN.to_string());
        assert_eq!(
            trap_class("bad signature"),
            trap_class("indirect call to null")
        );
        assert_eq!(trap_class("other trap"), None);
    }
}
