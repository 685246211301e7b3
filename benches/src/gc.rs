//! GC columns: the Wasm GC benchmarks (`benches/wasm/gc_*.wat`) run end to
//! end by wasm-jit and by Wasmtime with its null collector (what wasm-jit
//! has: nothing is freed) and with its default collector (deferred
//! reference counting, which frees), interleaved, and the section "## GC"
//! of docs/performance.md written from the medians. Node is not a peer
//! here: Node 20's V8 knows only a pre-standard GC encoding.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, bail};

use crate::measure::run_measured;
use crate::{Options, geomean, median};

/// Heading of the section this writes into docs/performance.md.
pub const HEADING: &str = "\n## GC";

/// (benchmark, what it does, arguments of its `run` export).
const BENCHES: [(&str, &str, [&str; 2]); 2] = [
    (
        "gc_trees",
        "builds and walks 100 binary trees of depth 16 (13.1 M structs, allocation-bound)",
        ["100", "16"],
    ),
    (
        "gc_arrays",
        "sieves primes below 10 M in an `i8` array ten times, collecting them in an `i32` array (element access)",
        ["10000000", "10"],
    ),
];

/// Measures and returns the markdown section (starting with [`HEADING`]).
pub fn measure(opts: &Options, wasm_jit: &Path, wasmtime: &Path) -> Result<String> {
    let s = |p: &Path| p.display().to_string();
    let engines: [(&str, Vec<String>); 3] = [
        ("wasm-jit", vec![s(wasm_jit), "run".into()]),
        (
            "Wasmtime, null collector",
            vec![
                s(wasmtime),
                "run".into(),
                "-W".into(),
                "gc=y".into(),
                "-C".into(),
                "collector=null".into(),
            ],
        ),
        (
            "Wasmtime, default collector",
            vec![s(wasmtime), "run".into(), "-W".into(), "gc=y".into()],
        ),
    ];
    let mut md = String::new();
    writeln!(md, "{HEADING}\n")?;
    writeln!(
        md,
        "Measured by `cargo run --release -p wasm-jit-benches -- gc --runs {}`: each GC benchmark \
         run end to end (`run -C cache=n --invoke run`) by wasm-jit, by Wasmtime with its null \
         collector (`-W gc=y -C collector=null`: like wasm-jit's, nothing is freed) and with its \
         default collector (`-W gc=y`: deferred reference counting, which frees), interleaved, \
         after one run each; medians of the wall time, and peak resident memory. The ratios are \
         wasm-jit / Wasmtime.\n",
        opts.runs
    )?;
    writeln!(
        md,
        "| benchmark | what it does | wasm-jit | Wasmtime null | Wasmtime default | ratio (null) | ratio (default) | peak RSS MiB wasm-jit / null / default |\n|---|---|---|---|---|---|---|---|"
    )?;
    let (mut vs_null, mut vs_default) = (Vec::new(), Vec::new());
    for (name, what, args) in BENCHES {
        if opts.only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        eprintln!("gc: {name}");
        let wat = opts.root.join(format!("benches/wasm/{name}.wat"));
        let cmds: Vec<Vec<String>> = engines
            .iter()
            .map(|(_, prefix)| {
                let mut c = prefix.clone();
                c.extend(["-C", "cache=n", "--invoke", "run"].map(String::from));
                c.push(s(&wat));
                c.extend(args.map(String::from));
                c
            })
            .collect();
        let mut walls = vec![Vec::new(); engines.len()];
        let mut rss = vec![0i64; engines.len()];
        let mut expected: Option<Vec<u8>> = None;
        for round in 0..=opts.runs {
            for (i, cmd) in cmds.iter().enumerate() {
                let (sample, out) = run_measured(cmd)?;
                match &expected {
                    None => expected = Some(out),
                    Some(e) if *e != out => bail!(
                        "{name} printed {:?} under {}, {:?} under {}",
                        String::from_utf8_lossy(&out),
                        engines[i].0,
                        String::from_utf8_lossy(e),
                        engines[0].0
                    ),
                    _ => {}
                }
                if round > 0 {
                    walls[i].push(sample.wall);
                    rss[i] = rss[i].max(sample.max_rss_kib);
                }
            }
        }
        let m: Vec<f64> = walls.iter().map(|w| median(w)).collect();
        vs_null.push(m[0] / m[1]);
        vs_default.push(m[0] / m[2]);
        writeln!(
            md,
            "| {name} | {what} | {:.0} ms | {:.0} ms | {:.0} ms | {:.2}x | {:.2}x | {} / {} / {} |",
            m[0] * 1e3,
            m[1] * 1e3,
            m[2] * 1e3,
            m[0] / m[1],
            m[0] / m[2],
            rss[0] / 1024,
            rss[1] / 1024,
            rss[2] / 1024
        )?;
    }
    writeln!(
        md,
        "| **geometric mean** | | | | | **{:.2}x** | **{:.2}x** | |",
        geomean(&vs_null),
        geomean(&vs_default)
    )?;
    writeln!(
        md,
        "\nwasm-jit's collector frees nothing before its store is dropped, so a benchmark that \
         allocates a lot pays for fresh memory (the kernel zeroing pages, huge pages where it \
         has them) and holds it to the end; Wasmtime's default collector reuses what it frees, \
         which the peak memory column shows."
    )?;
    Ok(md)
}
