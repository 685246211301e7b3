//! A third opinion when wasm-jit and wasmi disagree: the same calls in V8
//! (Node's `WebAssembly`), and the final exported state, compared with
//! wasm-jit's. When V8 agrees with wasm-jit on everything, the
//! disagreement was wasmi's.

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

/// A call argument as JavaScript, or `None` when V8 could not receive it
/// exactly (a NaN loses its payload on the way).
fn js_arg(v: &wasm_jit::Val) -> Option<String> {
    Some(match *v {
        wasm_jit::Val::I32(x) => x.to_string(),
        wasm_jit::Val::I64(x) => format!("{x}n"),
        wasm_jit::Val::F32(b) if f32::from_bits(b).is_nan() => return None,
        wasm_jit::Val::F32(b) => format!("f32({b})"),
        wasm_jit::Val::F64(b) if f64::from_bits(b).is_nan() => return None,
        wasm_jit::Val::F64(b) => format!("f64({b}n)"),
        wasm_jit::Val::FuncRef(None) | wasm_jit::Val::ExternRef(None) => "null".into(),
        _ => return None,
    })
}

/// A value type as WAT spells it, for a probe module; `None` for a type a
/// module of its own cannot name (a concrete reference type).
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

/// A call argument as WAT instructions that push it, bit for bit (NaN
/// payloads and `v128`s included); `None` for a non-null reference.
fn wat_arg(v: &wasm_jit::Val) -> Option<String> {
    Some(match *v {
        wasm_jit::Val::I32(x) => format!("i32.const {x}"),
        wasm_jit::Val::I64(x) => format!("i64.const {x}"),
        wasm_jit::Val::F32(b) => format!("i32.const {} f32.reinterpret_i32", b as i32),
        wasm_jit::Val::F64(b) => format!("i64.const {} f64.reinterpret_i64", b as i64),
        wasm_jit::Val::V128(x) => format!(
            "v128.const i64x2 {} {}",
            x as u64 as i64,
            (x >> 64) as u64 as i64
        ),
        wasm_jit::Val::FuncRef(None) => "ref.null func".into(),
        wasm_jit::Val::ExternRef(None) => "ref.null extern".into(),
        _ => return None,
    })
}

/// For a call JavaScript cannot make (a `v128` or a NaN among its
/// arguments, a `v128` among its results): the function `p{i}` of a probe
/// module that imports the export as `f{i}`, calls it with the arguments
/// as constants, and returns its results with each `v128` as two `i64`s
/// (low lane first). `None` when the types cannot be written out.
fn probe_func(
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
    let shown: Vec<&str> = results
        .iter()
        .flat_map(|&t| {
            if t == "v128" {
                vec!["i64", "i64"]
            } else {
                vec![t]
            }
        })
        .collect();
    let mut body = String::new();
    for a in args {
        body.push_str(&wat_arg(a)?);
        body.push(' ');
    }
    let _ = write!(body, "call $f{i} ");
    // Results into locals (the last on top), then out again, split.
    let locals: Vec<String> = results.iter().map(|t| format!("(local {t})")).collect();
    for k in (0..results.len()).rev() {
        let _ = write!(body, "local.set {k} ");
    }
    for (k, t) in results.iter().enumerate() {
        if *t == "v128" {
            let _ = write!(
                body,
                "local.get {k} i64x2.extract_lane 0 local.get {k} i64x2.extract_lane 1 "
            );
        } else {
            let _ = write!(body, "local.get {k} ");
        }
    }
    let func = format!(
        "(func (export \"p{i}\") (result {}) {} {body})",
        shown.join(" "),
        locals.join(" ")
    );
    Some((import, func))
}

/// A value as both sides print it: integers in decimal, floats as their
/// bits (or `nan`), references as `null` or `ref`.
fn show(v: &Value) -> String {
    match *v {
        Value::I32(x) => x.to_string(),
        Value::I64(x) => x.to_string(),
        Value::F32(b) if f32::from_bits(b).is_nan() => "nan".into(),
        Value::F32(b) => b.to_string(),
        Value::F64(b) if f64::from_bits(b).is_nan() => "nan".into(),
        Value::F64(b) => b.to_string(),
        Value::Ref(true) => "null".into(),
        Value::Ref(false) => "ref".into(),
        // JavaScript cannot see a v128: such calls never reach V8.
        Value::V128(x) => format!("{x:#x}"),
    }
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
const dv = new DataView(new ArrayBuffer(8));
const f32 = (b) => { dv.setUint32(0, b, true); return dv.getFloat32(0, true); };
const f64 = (b) => { dv.setBigUint64(0, b, true); return dv.getFloat64(0, true); };
function show(v, t) {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'function' || typeof v === 'object') return 'ref';
  if (t === 'f32') { if (Number.isNaN(v)) return 'nan'; dv.setFloat32(0, v, true); return dv.getUint32(0, true).toString(); }
  if (t === 'f64') { if (Number.isNaN(v)) return 'nan'; dv.setFloat64(0, v, true); return dv.getBigUint64(0, true).toString(); }
  return String(v);
}
function fnv(bytes) {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) { h ^= BigInt(b); h = (h * 0x100000001b3n) & 0xffffffffffffffffn; }
  return h.toString();
}
"#;

/// `Some(true)` when V8, making wasm-jit's calls, gets wasm-jit's results
/// and final state; `Some(false)` when it does not; `None` when it cannot
/// tell (no Node, an argument V8 cannot take exactly, a failure).
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
    let scratch =
        Scratch(std::env::temp_dir().join(format!("wasm-jit-fuzz-v8-{}", std::process::id())));
    let dir = &scratch.0;
    std::fs::create_dir_all(dir).ok()?;
    let module = dir.join("m.wasm");
    std::fs::write(&module, wasm).ok()?;

    let mut js = String::from(PRELUDE);
    let mut expected = String::new();
    let _ = writeln!(
        js,
        "(async () => {{ const {{ instance }} = await WebAssembly.instantiate(fs.readFileSync({}), {{}}); const out = [];",
        js_string(&module.to_string_lossy())
    );
    let funcs: std::collections::BTreeMap<String, wasm_jit::FuncType> =
        jit.funcs().into_iter().collect();
    // Calls JavaScript cannot make go through a probe module (see
    // `probe_func`), instantiated once the module is.
    let (mut imports, mut probes, mut links) = (Vec::new(), Vec::new(), Vec::new());
    let mut calls_js = String::new();
    for (i, (name, args, outcome)) in calls.iter().enumerate() {
        let ty = funcs.get(name)?;
        let has_v128 = ty.results().any(|t| t == wasm_jit::ValType::V128);
        let direct = if has_v128 {
            None
        } else {
            args.iter().map(js_arg).collect::<Option<Vec<String>>>()
        };
        let (callee, args, types): (String, String, Vec<&str>) = match direct {
            Some(args) => (
                format!("instance.exports[{}]", js_string(name)),
                args.join(", "),
                ty.results()
                    .map(|t| match t {
                        wasm_jit::ValType::F32 => "f32",
                        wasm_jit::ValType::F64 => "f64",
                        _ => "",
                    })
                    .collect(),
            ),
            None => {
                let Some((import, func)) = probe_func(i, ty, args) else {
                    if std::env::var_os("WASM_JIT_FUZZ_DEBUG").is_some() {
                        eprintln!("V8 cannot make call {i} exactly");
                    }
                    return None;
                };
                imports.push(import);
                probes.push(func);
                links.push(format!("f{i}: instance.exports[{}]", js_string(name)));
                let types = ty
                    .results()
                    .flat_map(|t| match t {
                        wasm_jit::ValType::F32 => vec!["f32"],
                        wasm_jit::ValType::F64 => vec!["f64"],
                        wasm_jit::ValType::V128 => vec!["", ""],
                        _ => vec![""],
                    })
                    .collect();
                (format!("probe.exports.p{i}"), String::new(), types)
            }
        };
        let _ = writeln!(
            calls_js,
            "try {{ let r = {callee}({args}); const t = {types:?}; if (t.length !== 1) r = (r === undefined ? [] : r); else r = [r]; out.push('call {i}: ' + r.map((v, k) => show(v, t[k])).join(' ')); }} catch (e) {{ out.push('call {i}: trap'); }}",
        );
        let shown = match outcome {
            // A `v128` as the probe returns it: two `i64`s.
            Outcome::Values(vs) => vs
                .iter()
                .map(|v| match *v {
                    Value::V128(x) => format!("{} {}", x as u64 as i64, (x >> 64) as u64 as i64),
                    ref v => show(v),
                })
                .collect::<Vec<_>>()
                .join(" "),
            Outcome::Trap(_) => "trap".into(),
            Outcome::Inconclusive => return None,
        };
        let _ = writeln!(expected, "call {i}: {shown}");
    }
    if !probes.is_empty() {
        let wat = format!("(module {} {})", imports.join(" "), probes.join(" "));
        let probe_wasm = wat::parse_str(&wat).ok()?;
        let probe = dir.join("probe.wasm");
        std::fs::write(&probe, probe_wasm).ok()?;
        let _ = writeln!(
            js,
            "const probe = (await WebAssembly.instantiate(fs.readFileSync({}), {{ m: {{ {} }} }})).instance;",
            js_string(&probe.to_string_lossy()),
            links.join(", ")
        );
    }
    js.push_str(&calls_js);
    for (name, kind, value) in jit.exported_state() {
        let _ = writeln!(
            js,
            "{{ const e = instance.exports[{}]; out.push({} + ': ' + ({}));}}",
            js_string(&name),
            js_string(&name),
            match kind {
                "memory" => "fnv(new Uint8Array(e.buffer))".to_string(),
                t => format!("show(e.value, {})", js_string(t)),
            }
        );
        let _ = writeln!(expected, "{name}: {value}");
    }
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
    if std::env::var_os("WASM_JIT_FUZZ_DEBUG").is_some() {
        eprintln!("V8:\n{got}\nwasm-jit:\n{expected}");
    }
    if got.starts_with("failed:") {
        return None;
    }
    Some(got.trim_end() == expected.trim_end())
}

impl Jit {
    /// Exported globals and memories: name, kind (`memory` or the global's
    /// value type), and value as `show` prints it (a memory as its hash).
    pub(crate) fn exported_state(&mut self) -> Vec<(String, &'static str, String)> {
        let Some(instance) = self.instance else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for export in instance.exports(&mut self.store) {
            let (name, e) = (export.name().to_string(), export.into_extern());
            match e {
                wasm_jit::Extern::Global(g) => {
                    let kind = match g.ty(&self.store).content {
                        wasm_jit::ValType::F32 => "f32",
                        wasm_jit::ValType::F64 => "f64",
                        // JavaScript cannot read a v128 global: V8 judges
                        // the rest of the state.
                        wasm_jit::ValType::V128 => continue,
                        _ => "",
                    };
                    let v = crate::oracle::from_jit(&g.get(&mut self.store));
                    out.push((name, kind, show(&v)));
                }
                wasm_jit::Extern::Memory(m) => {
                    out.push((name, "memory", fnv(m.data(&self.store)).to_string()));
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

    /// A probe makes the call bit for bit (a `v128` and a NaN with a
    /// payload) and returns a `v128` result as two `i64`s, low lane first.
    #[test]
    fn probes_make_calls_javascript_cannot() {
        use wasm_jit::{Engine, Linker, Module, Store, Val};
        let engine = Engine::default();
        let module = Module::new(
            &engine,
            r#"(module (func (export "f") (param v128 f32) (result v128 i32)
                 local.get 0 local.get 1 i32.reinterpret_f32))"#,
        )
        .unwrap();
        let x: u128 = (0xfedc_ba98_7654_3210 << 64) | 0x0123_4567_89ab_cdef;
        let args = [Val::V128(x), Val::F32(0x7fa0_0001)];
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let f = instance.get_func(&mut store, "f").unwrap();
        let (import, func) = probe_func(3, &f.ty(&store), &args).unwrap();
        let probe = Module::new(&engine, format!("(module {import} {func})")).unwrap();
        let mut linker = Linker::new(&engine);
        linker.define(&store, "m", "f3", f).unwrap();
        let probe = linker.instantiate(&mut store, &probe).unwrap();
        let mut out = [Val::I32(0), Val::I32(0), Val::I32(0)];
        probe
            .get_func(&mut store, "p3")
            .unwrap()
            .call(&mut store, &[], &mut out)
            .unwrap();
        assert_eq!(
            out,
            [
                Val::I64(0x0123_4567_89ab_cdef),
                Val::I64(0xfedc_ba98_7654_3210_u64 as i64),
                Val::I32(0x7fa0_0001)
            ]
        );
    }
}
