//! Start-up columns: each real program and `hello.wasm` run end to end by
//! wasm-jit and Wasmtime in three ways, interleaved, and the section
//! "## Start-up" of docs/performance.md written from the medians:
//!
//! - **cold**: `run -C cache=n`, compiling the whole module every run;
//! - **warm**: `run` with each engine's default code cache, after one run
//!   that fills it;
//! - **.cwasm**: `compile -o X.cwasm` once, then `run --allow-precompiled
//!   X.cwasm`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::{Options, build_third_party, geomean, median, time_cmd};

const MODES: [&str; 3] = ["cold", "warm", ".cwasm"];

/// Heading of the section this writes into docs/performance.md.
pub const HEADING: &str = "\n## Start-up";

/// Measures and returns the markdown section (starting with [`HEADING`]).
pub fn measure(opts: &Options, wasm_jit: &Path, wasmtime: &Path) -> Result<String> {
    build_third_party(&opts.root, &crate::THIRD_PARTY)?;
    let mut programs: Vec<(String, PathBuf)> =
        vec![("hello".into(), opts.root.join("tests/programs/hello.wasm"))];
    for name in crate::THIRD_PARTY {
        programs.push((
            name.into(),
            opts.root
                .join("target/third-party")
                .join(name)
                .join("bench.wasm"),
        ));
    }
    let out_dir = opts.root.join("target/bench-native/startup");
    std::fs::create_dir_all(&out_dir)?;
    let engines = [wasm_jit, wasmtime];
    let s = |p: &Path| p.display().to_string();

    // medians[program][engine][mode], in seconds.
    let mut medians = Vec::new();
    for (name, wasm) in &programs {
        eprintln!("start-up: {name}");
        let mut cmds: Vec<[Vec<String>; 3]> = Vec::new();
        for (e, exe) in engines.iter().enumerate() {
            let cwasm = out_dir.join(format!("{name}-{e}.cwasm"));
            time_cmd(&[s(exe), "compile".into(), s(wasm), "-o".into(), s(&cwasm)])?;
            let cold = vec![s(exe), "run".into(), "-C".into(), "cache=n".into(), s(wasm)];
            let warm = vec![s(exe), "run".into(), s(wasm)];
            let pre = vec![
                s(exe),
                "run".into(),
                "--allow-precompiled".into(),
                s(&cwasm),
            ];
            // Fills the code cache for the warm runs (and warms the page
            // cache for all).
            time_cmd(&warm)?;
            cmds.push([cold, warm, pre]);
        }
        let mut samples = vec![[Vec::new(), Vec::new(), Vec::new()]; engines.len()];
        for _ in 0..opts.runs {
            for m in 0..MODES.len() {
                for (e, c) in cmds.iter().enumerate() {
                    samples[e][m].push(time_cmd(&c[m])?);
                }
            }
        }
        let row: Vec<[f64; 3]> = samples
            .iter()
            .map(|s| [median(&s[0]), median(&s[1]), median(&s[2])])
            .collect();
        medians.push(row);
    }

    let mut md = String::new();
    writeln!(md, "{HEADING}\n")?;
    writeln!(
        md,
        "Measured by `cargo run --release -p wasm-jit-benches -- startup --runs {}`: each program run \
         end to end (process start to exit, same arguments as above) by both engines, interleaved, \
         {} counted runs each after one run that fills the code caches; medians. *cold* is `run -C \
         cache=n` (the whole module compiled every run), *warm* is `run` with each engine's default \
         code cache, *.cwasm* is `run --allow-precompiled` of the output of `compile`. The ratio is \
         wasm-jit / Wasmtime. bzip2, zlib and sqlite run for seconds, so execution dominates \
         their ratios; hello is nearly all start-up.\n",
        opts.runs, opts.runs
    )?;
    let mut header = "| program |".to_string();
    let mut rule = "|---|".to_string();
    for m in MODES {
        write!(header, " wasm-jit {m} | Wasmtime {m} | ratio |")?;
        rule.push_str("---|---|---|");
    }
    writeln!(md, "{header}\n{rule}")?;
    let mut ratios = [Vec::new(), Vec::new(), Vec::new()];
    let ms = |t: f64| {
        if t < 0.1 {
            format!("{:.1} ms", t * 1e3)
        } else {
            format!("{:.0} ms", t * 1e3)
        }
    };
    for ((name, _), row) in programs.iter().zip(&medians) {
        let mut line = format!("| {name} |");
        for m in 0..MODES.len() {
            let r = row[0][m] / row[1][m];
            ratios[m].push(r);
            write!(line, " {} | {} | {r:.2}x |", ms(row[0][m]), ms(row[1][m]))?;
        }
        writeln!(md, "{line}")?;
    }
    let mut line = "| **geometric mean** |".to_string();
    for r in &ratios {
        write!(line, " | | **{:.2}x** |", geomean(r))?;
    }
    writeln!(md, "{line}")?;
    Ok(md)
}

/// Replaces the start-up section of `doc` (or appends it).
pub fn splice(doc: &str, section: &str) -> String {
    let Some(start) = doc.find(HEADING) else {
        return format!("{}\n{section}", doc.trim_end());
    };
    let end = doc[start + 1..]
        .find("\n## ")
        .map_or(doc.len(), |i| start + 1 + i);
    format!("{}{section}{}", &doc[..start], &doc[end..])
}
