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
    for (i, (name, args, outcome)) in calls.iter().enumerate() {
        let ty = funcs.get(name)?;
        let Some(args) = args.iter().map(js_arg).collect::<Option<Vec<String>>>() else {
            if std::env::var_os("WASM_JIT_FUZZ_DEBUG").is_some() {
                eprintln!("V8 cannot take the arguments of call {i} exactly");
            }
            return None;
        };
        let types: Vec<&str> = ty
            .results()
            .map(|t| match t {
                wasm_jit::ValType::F32 => "f32",
                wasm_jit::ValType::F64 => "f64",
                _ => "",
            })
            .collect();
        let _ = writeln!(
            js,
            "try {{ let r = instance.exports[{}]({}); const t = {:?}; if (t.length !== 1) r = (r === undefined ? [] : r); else r = [r]; out.push('call {i}: ' + r.map((v, k) => show(v, t[k])).join(' ')); }} catch (e) {{ out.push('call {i}: trap'); }}",
            js_string(name),
            args.join(", "),
            types
        );
        let shown = match outcome {
            Outcome::Values(vs) => vs.iter().map(show).collect::<Vec<_>>().join(" "),
            Outcome::Trap(_) => "trap".into(),
            Outcome::Inconclusive => return None,
        };
        let _ = writeln!(expected, "call {i}: {shown}");
    }
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
