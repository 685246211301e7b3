//! Start-up columns: each real program and `hello.wasm` run end to end by
//! wasm-jit and Wasmtime in three ways, interleaved, and the section
//! "## Start-up" of docs/performance.md written from the medians:
//!
//! - **cold**: `run -C cache=n`, compiling the whole module every run;
//! - **warm**: `run` with each engine's default code cache, after one run
//!   that fills it;
//! - **.cwasm**: `compile -o X.cwasm` once, then `run --allow-precompiled
//!   X.cwasm`;
//! - **first instruction**: wasm-jit `run -C cache=n --fuel 0` (which stops
//!   at the first instruction of `_start`: for a module `-C lazy=auto`
//!   compiles lazily, sqlite here, only `_start` is compiled then; the others
//!   are compiled whole) against Wasmtime's `compile -C cache=n` of the
//!   module.
//!
//! After "### Quick first tier", "### Kernels, cold": the kernels run cold
//! by both engines, and
//! the cold geometric mean over every run under 2 s, programs and kernels.
//!
//! Then the section "## Lazy compilation": the kernels, and recursive fib
//! (`benches/wasm/fib.wat`, all calls), run by wasm-jit lazily (`-C lazy=y`;
//! `run`'s default compiles modules this small eagerly) and eagerly
//! (`-C lazy=n`), caches off, interleaved.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::{Options, build_third_party, geomean, median, time_cmd};

const MODES: [&str; 4] = ["cold", "warm", ".cwasm", "first instruction"];

/// Heading of the section this writes into docs/performance.md.
pub const HEADING: &str = "\n## Start-up";
/// Heading of the lazy-against-eager section.
pub const LAZY_HEADING: &str = "\n## Lazy compilation";

/// Like `time_cmd`, for a command expected to fail (`--fuel 0` traps).
fn time_cmd_failing(cmd: &[String]) -> Result<f64> {
    let start = std::time::Instant::now();
    let status = std::process::Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    if status.success() {
        anyhow::bail!(
            "`{}` was expected to stop at its first instruction",
            cmd.join(" ")
        );
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Measures and returns the markdown section (starting with [`HEADING`]).
pub fn measure(opts: &Options, wasm_jit: &Path, wasmtime: &Path) -> Result<String> {
    build_third_party(&opts.root, &crate::THIRD_PARTY)?;
    // (row, module, arguments): the real programs' whole workloads, and
    // 1% of them (a short run, as of a command-line tool, where start-up
    // counts most).
    let mut programs: Vec<(String, PathBuf, Vec<String>)> = vec![(
        "hello".into(),
        opts.root.join("tests/programs/hello.wasm"),
        vec![],
    )];
    for (suffix, args) in [("", vec![]), (" (1%)", vec!["1".to_string()])] {
        for name in crate::THIRD_PARTY {
            programs.push((
                format!("{name}{suffix}"),
                opts.root
                    .join("target/third-party")
                    .join(name)
                    .join("bench.wasm"),
                args.clone(),
            ));
        }
    }
    let out_dir = opts.root.join("target/bench-native/startup");
    std::fs::create_dir_all(&out_dir)?;
    let engines = [wasm_jit, wasmtime];
    let s = |p: &Path| p.display().to_string();

    // medians[program][engine][mode], in seconds.
    let mut medians = Vec::new();
    for (name, wasm, args) in &programs {
        eprintln!("start-up: {name}");
        let mut cmds: Vec<[Vec<String>; 4]> = Vec::new();
        for (e, exe) in engines.iter().enumerate() {
            let cwasm = out_dir.join(format!("{}-{e}.cwasm", wasm_stem(wasm)));
            time_cmd(&[s(exe), "compile".into(), s(wasm), "-o".into(), s(&cwasm)])?;
            let cold = [
                &[s(exe), "run".into(), "-C".into(), "cache=n".into(), s(wasm)],
                &args[..],
            ]
            .concat();
            let warm = [&[s(exe), "run".into(), s(wasm)], &args[..]].concat();
            let pre = [
                &[
                    s(exe),
                    "run".into(),
                    "--allow-precompiled".into(),
                    s(&cwasm),
                ],
                &args[..],
            ]
            .concat();
            let first = if e == 0 {
                let fuel = ["--fuel".into(), "0".into()];
                [&cold[..4], &fuel, &cold[4..]].concat()
            } else {
                let out = out_dir.join("first.cwasm");
                vec![
                    s(exe),
                    "compile".into(),
                    "-C".into(),
                    "cache=n".into(),
                    s(wasm),
                    "-o".into(),
                    s(&out),
                ]
            };
            // Fills the code cache for the warm runs (and warms the page
            // cache for all).
            time_cmd(&warm)?;
            cmds.push([cold, warm, pre, first]);
        }
        let mut samples = vec![[Vec::new(), Vec::new(), Vec::new(), Vec::new()]; engines.len()];
        for _ in 0..opts.runs {
            for m in 0..MODES.len() {
                for (e, c) in cmds.iter().enumerate() {
                    samples[e][m].push(if m == 3 && e == 0 {
                        time_cmd_failing(&c[m])?
                    } else {
                        time_cmd(&c[m])?
                    });
                }
            }
        }
        let row: Vec<[f64; 4]> = samples
            .iter()
            .map(|s| [median(&s[0]), median(&s[1]), median(&s[2]), median(&s[3])])
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
         cache=n` (nothing cached: wasm-jit validates the whole module, then, \
         for sqlite (over 256 KiB of code), compiles functions as they are first called (quickly, \
         optimised again in the background, hottest first) and in the background, and for the \
         others compiles the whole module on every core before \
         running (`-C lazy=auto`); Wasmtime compiles the whole module), *warm* is `run` with each engine's default code cache, *.cwasm* is \
         `run --allow-precompiled` of the output of `compile`, *first instruction* is wasm-jit \
         from process start to the first instruction of `_start` (`run -C cache=n --fuel 0`, \
         which stops there) against Wasmtime's `compile -C cache=n` of the module. The ratio \
         is wasm-jit / Wasmtime. bzip2, zlib and sqlite run for seconds, so execution \
         dominates their cold and warm ratios; their *(1%)* rows run the same modules on 1% of \
         the workload (the harness's argument), a short run like a command-line tool's, where \
         start-up counts most; hello is nearly all start-up. The last line is over the rows \
         whose Wasmtime cold run is under 2 s.\n",
        opts.runs, opts.runs
    )?;
    let mut header = "| program |".to_string();
    let mut rule = "|---|".to_string();
    for m in MODES {
        write!(header, " wasm-jit {m} | Wasmtime {m} | ratio |")?;
        rule.push_str("---|---|---|");
    }
    writeln!(md, "{header}\n{rule}")?;
    let mut ratios = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let ms = |t: f64| {
        if t < 0.1 {
            format!("{:.1} ms", t * 1e3)
        } else {
            format!("{:.0} ms", t * 1e3)
        }
    };
    let mut short_ratios = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for ((name, _, _), row) in programs.iter().zip(&medians) {
        let mut line = format!("| {name} |");
        for m in 0..MODES.len() {
            let r = row[0][m] / row[1][m];
            ratios[m].push(r);
            // Rows whose run (Wasmtime's, cold) is under 2 s.
            if row[1][0] < 2.0 {
                short_ratios[m].push(r);
            }
            write!(line, " {} | {} | {r:.2}x |", ms(row[0][m]), ms(row[1][m]))?;
        }
        writeln!(md, "{line}")?;
    }
    for (label, ratios) in [
        ("**geometric mean**", &ratios),
        ("**geometric mean, runs under 2 s**", &short_ratios),
    ] {
        let mut line = format!("| {label} |");
        for r in ratios {
            write!(line, " | | **{:.2}x** |", geomean(r))?;
        }
        writeln!(md, "{line}")?;
    }
    writeln!(
        md,
        "\n![wasm-jit start-up times relative to Wasmtime's, per program and mode](startup.svg)"
    )?;
    quick_tier(opts, wasm_jit, wasmtime, &programs, &mut md)?;
    kernels_cold(opts, wasm_jit, wasmtime, &short_ratios[0], &mut md)?;
    std::fs::write(
        opts.root.join("docs/startup.svg"),
        chart(&programs, &medians),
    )?;
    Ok(md)
}

/// The default quick first tier of cold runs of large modules against
/// `-C quick-tier=n` (their first calls wait for optimised code), cold, on
/// the programs `run` compiles lazily (`-C lazy=auto`: sqlite's module),
/// interleaved with Wasmtime's cold run.
fn quick_tier(
    opts: &Options,
    wasm_jit: &Path,
    wasmtime: &Path,
    programs: &[(String, PathBuf, Vec<String>)],
    md: &mut String,
) -> Result<()> {
    let s = |p: &Path| p.display().to_string();
    writeln!(
        md,
        "\n### Quick first tier\n\n\
         Measured by the same command: the rows whose module `run` compiles lazily (sqlite's), \
         cold, by wasm-jit by default (with no code cache, a large module's functions that a \
         call waits for are compiled with `opt_level=none` and the single-pass register \
         allocator, then recompiled optimised in the background, hottest first; see \
         `Config::first_tier`) and with `-C quick-tier=n` (they are compiled optimised), and \
         by Wasmtime, interleaved, {} runs each; medians. The ratios are to Wasmtime's cold \
         run.\n",
        opts.runs
    )?;
    writeln!(
        md,
        "| program | wasm-jit cold | ratio | wasm-jit cold, `quick-tier=n` | ratio | Wasmtime cold |\n|---|---|---|---|---|---|"
    )?;
    for (name, wasm, args) in programs {
        if !name.starts_with("sqlite") {
            // Compiled whole before running by `-C lazy=auto`: the quick
            // tier does not apply.
            continue;
        }
        eprintln!("quick tier: {name}");
        let base = [s(wasm_jit), "run".into(), "-C".into(), "cache=n".into()];
        let cmds = [
            [&base[..], &[s(wasm)], &args[..]].concat(),
            [
                &base[..],
                &["-C".into(), "quick-tier=n".into(), s(wasm)],
                &args[..],
            ]
            .concat(),
            [
                &[
                    s(wasmtime),
                    "run".into(),
                    "-C".into(),
                    "cache=n".into(),
                    s(wasm),
                ],
                &args[..],
            ]
            .concat(),
        ];
        let mut samples = [Vec::new(), Vec::new(), Vec::new()];
        time_cmd(&cmds[1])?;
        for _ in 0..opts.runs {
            for (c, samples) in cmds.iter().zip(&mut samples) {
                samples.push(time_cmd(c)?);
            }
        }
        let [default, optimized, wasmtime] = samples.map(|s| median(&s));
        writeln!(
            md,
            "| {name} | {:.0} ms | {:.2}x | {:.0} ms | {:.2}x | {:.0} ms |",
            default * 1e3,
            default / wasmtime,
            optimized * 1e3,
            optimized / wasmtime,
            wasmtime * 1e3
        )?;
    }
    Ok(())
}

/// The kernels run cold (`run -C cache=n`) by both engines, interleaved,
/// and the cold geometric mean over every row under 2 s: the programs'
/// (`program_ratios`, already filtered) and the kernels' whose Wasmtime
/// run is under 2 s.
fn kernels_cold(
    opts: &Options,
    wasm_jit: &Path,
    wasmtime: &Path,
    program_ratios: &[f64],
    md: &mut String,
) -> Result<()> {
    let s = |p: &Path| p.display().to_string();
    writeln!(
        md,
        "\n### Kernels, cold\n\n\
         Measured by the same command: each kernel (`benches/wasm/`, small modules that \
         execution dominates) run cold (`run -C cache=n`) by both engines, interleaved, {} runs \
         each; medians. The last line is the cold geometric mean over every run under 2 s \
         (Wasmtime's): the programs' rows above and these.\n",
        opts.runs
    )?;
    writeln!(
        md,
        "| kernel | wasm-jit cold | Wasmtime cold | ratio |\n|---|---|---|---|"
    )?;
    let mut all = program_ratios.to_vec();
    for k in crate::KERNELS {
        eprintln!("kernels, cold: {k}");
        let wasm = s(&opts.root.join(format!("benches/wasm/{k}.wasm")));
        let cmds = [wasm_jit, wasmtime].map(|exe| {
            vec![
                s(exe),
                "run".into(),
                "-C".into(),
                "cache=n".into(),
                wasm.clone(),
            ]
        });
        let mut samples = [Vec::new(), Vec::new()];
        for c in &cmds {
            time_cmd(c)?;
        }
        for _ in 0..opts.runs {
            for (c, samples) in cmds.iter().zip(&mut samples) {
                samples.push(time_cmd(c)?);
            }
        }
        let [ours, theirs] = samples.map(|s| median(&s));
        let r = ours / theirs;
        if theirs < 2.0 {
            all.push(r);
        }
        writeln!(
            md,
            "| {k} | {:.0} ms | {:.0} ms | {r:.2}x |",
            ours * 1e3,
            theirs * 1e3
        )?;
    }
    writeln!(
        md,
        "| **geometric mean, programs and kernels, runs under 2 s** | | | **{:.2}x** |",
        geomean(&all)
    )?;
    Ok(())
}

/// A bar chart of the ratios (wasm-jit / Wasmtime): one group of bars per
/// program, one bar per mode.
fn chart(programs: &[(String, PathBuf, Vec<String>)], medians: &[Vec<[f64; 4]>]) -> String {
    const COLORS: [&str; 4] = ["#4a7fb5", "#7fb54a", "#b5a44a", "#b54a7f"];
    let (bar_h, group_gap, left, width) = (12.0, 10.0, 110.0, 380.0);
    let ratios: Vec<[f64; 4]> = medians
        .iter()
        .map(|row| std::array::from_fn(|m| row[0][m] / row[1][m]))
        .collect();
    let max = ratios.iter().flatten().copied().fold(1.5f64, f64::max);
    let group_h = bar_h * 4.0 + group_gap;
    let height = 60.0 + group_h * ratios.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <text x=\"10\" y=\"16\">wasm-jit time / Wasmtime's (lower is better; dashed: equal)</text>\n",
        left + width + 60.0
    );
    for (m, mode) in MODES.iter().enumerate() {
        let x = 10.0 + m as f64 * 120.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"24\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"33\">{mode}</text>",
            COLORS[m],
            x + 14.0
        );
    }
    for (i, ((name, _, _), r)) in programs.iter().zip(&ratios).enumerate() {
        let y0 = 44.0 + i as f64 * group_h;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{name}</text>",
            left - 6.0,
            y0 + bar_h * 2.0 + 4.0
        );
        for (m, ratio) in r.iter().enumerate() {
            let y = y0 + m as f64 * bar_h;
            let w = ratio / max * width;
            let _ = writeln!(
                svg,
                "<rect x=\"{left}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{ratio:.2}x</text>",
                bar_h - 2.0,
                COLORS[m],
                left + w + 4.0,
                y + bar_h - 3.0
            );
        }
    }
    let x1 = left + width / max;
    let _ = writeln!(
        svg,
        "<line x1=\"{x1:.1}\" y1=\"40\" x2=\"{x1:.1}\" y2=\"{}\" stroke=\"#000\" stroke-dasharray=\"4 3\"/>\n</svg>",
        height - 4.0
    );
    svg
}

/// The module's directory name (`target/third-party/NAME/bench.wasm`) or
/// file stem, to name its saved artifacts.
fn wasm_stem(wasm: &Path) -> String {
    let stem = wasm.file_stem().unwrap_or_default().to_string_lossy();
    match wasm.parent().and_then(|p| p.file_name()) {
        Some(dir) if stem == "bench" => dir.to_string_lossy().into_owned(),
        _ => stem.into_owned(),
    }
}

/// Measures lazy against eager execution and returns the markdown section
/// (starting with [`LAZY_HEADING`]).
pub fn measure_lazy(opts: &Options, wasm_jit: &Path) -> Result<String> {
    let s = |p: &Path| p.display().to_string();
    let mut programs: Vec<(String, Vec<String>)> = crate::KERNELS
        .iter()
        .map(|k| {
            let wasm = opts.root.join(format!("benches/wasm/{k}.wasm"));
            (k.to_string(), vec![s(&wasm)])
        })
        .collect();
    let fib = opts.root.join("benches/wasm/fib.wat");
    programs.push((
        "fib(40)".into(),
        vec!["--invoke".into(), "fib".into(), s(&fib), "40".into()],
    ));
    let mut md = String::new();
    writeln!(md, "{LAZY_HEADING}\n")?;
    writeln!(
        md,
        "Measured by `cargo run --release -p wasm-jit-benches -- startup --runs {}`: each kernel, \
         and recursive fib (`benches/wasm/fib.wat`, nearly all calls), run end to end by wasm-jit \
         lazily (`run -C cache=n -C lazy=y`: calls between the module's functions go through \
         its code slots until the final tier; `run`'s default, `-C lazy=auto`, compiles modules \
         as small as these eagerly) and eagerly (`run -C cache=n -C lazy=n`: direct calls), interleaved, {} \
         runs each; medians. The ratio is lazy / eager.\n",
        opts.runs,
        opts.runs.max(9)
    )?;
    writeln!(md, "| program | lazy | eager | ratio |\n|---|---|---|---|")?;
    let mut ratios = Vec::new();
    for (name, args) in &programs {
        eprintln!("lazy against eager: {name}");
        let base = [s(wasm_jit), "run".into(), "-C".into(), "cache=n".into()];
        let lazy = [&base[..], &["-C".into(), "lazy=y".into()], args].concat();
        let eager = [&base[..], &["-C".into(), "lazy=n".into()], args].concat();
        time_cmd(&lazy)?;
        let (mut l, mut e) = (Vec::new(), Vec::new());
        // At least 9 runs: a ratio near 1.0 needs more than the others.
        for _ in 0..opts.runs.max(9) {
            l.push(time_cmd(&lazy)?);
            e.push(time_cmd(&eager)?);
        }
        let (l, e) = (median(&l), median(&e));
        ratios.push(l / e);
        writeln!(md, "| {name} | {:.3} s | {:.3} s | {:.3}x |", l, e, l / e)?;
    }
    writeln!(
        md,
        "| **geometric mean** | | | **{:.3}x** |",
        geomean(&ratios)
    )?;
    Ok(md)
}

/// Replaces the section of `doc` under `heading` (or appends it).
pub fn splice(doc: &str, heading: &str, section: &str) -> String {
    let Some(start) = doc.find(heading) else {
        return format!("{}\n{section}", doc.trim_end());
    };
    let end = doc[start + 1..]
        .find("\n## ")
        .map_or(doc.len(), |i| start + 1 + i);
    format!("{}{section}{}", &doc[..start], &doc[end..])
}
