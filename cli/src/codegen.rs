//! `-C key=value` code generation, `-O key=value` optimisation and
//! `-W key=value` Wasm options, named as Wasmtime's are. An option we do not
//! support is an error naming it, never ignored.

use anyhow::{Result, bail};
use clap::Args;
use wasm_jit::{
    Cache, CompilationMode, Config, FirstTier, OptLevel, RegallocAlgorithm, WasmFeatures,
};

/// Code generation options shared by `run` and `compile`.
#[derive(Args, Debug, Default)]
pub struct CodegenOptions {
    /// Code generation option KEY=VALUE: `parallel-compilation=y|n`,
    /// `opt-level=0|1|2|s` (also -O), `lazy=y|n|auto` (`run` only: compile
    /// each function on its first call; the default, `auto`, does so for
    /// modules of 256 KiB of code or more and compiles smaller ones whole
    /// before they start), `background-compilation=y|n`
    /// (with `lazy`, compile ahead on idle cores; on by default),
    /// `quick-tier=y|n|auto` (with `lazy` and background compilation,
    /// compile a function a call waits for quickly, with the single-pass
    /// register allocator, into slower code that background threads
    /// replace, hottest first; the default for `run`, `auto`: for modules
    /// of 256 KiB of code or more, when the code cache is off),
    /// `cranelift-regalloc_algorithm=backtracking|single_pass`, `cache=y|n`
    /// (keep compiled code for the next run; on by default for `run`),
    /// `cache-dir=PATH` (default `$XDG_CACHE_HOME/wasm-jit` or
    /// `~/.cache/wasm-jit`), `cache-size-limit=SIZE` (default 1GiB: past
    /// it, the entries used least recently are removed),
    /// `cache-config=PATH` (Wasmtime's cache configuration file; by
    /// default `$XDG_CONFIG_HOME/wasm-jit/config.toml` if it exists; the
    /// two options above override it).
    #[arg(short = 'C', long = "codegen", value_name = "KEY=VALUE")]
    codegen: Vec<String>,
    /// Optimisation option KEY=VALUE: `opt-level=0|1|2|s`,
    /// `memory-reservation=SIZE` (address space reserved per linear memory:
    /// under 4GiB, every access is bounds-checked explicitly instead of
    /// relying on the reservation and guard pages; 4GiB or more, 4GiB is
    /// reserved, as by default), `memory-guard-size=SIZE`
    /// (the guard region after each reservation; default 2GiB).
    #[arg(short = 'O', long = "optimize", value_name = "KEY=VALUE")]
    optimize: Vec<String>,
    /// Debug option KEY=VALUE: `debug-info=n` (DWARF for debuggers is not
    /// supported yet: `debug-info=y` says so).
    #[arg(short = 'D', long = "debug", value_name = "KEY=VALUE")]
    debug: Vec<String>,
    /// Wasm option KEY=VALUE: a feature toggle such as `tail-call=y|n`,
    /// `simd=y|n`, `threads=y|n`, `multi-memory=y|n`, `memory64=y|n`,
    /// `exceptions=y|n`, `gc=y|n`, `function-references=y|n`;
    /// `relaxed-simd-deterministic=y|n` (relaxed SIMD gives the same
    /// answers on every CPU), `nan-canonicalization=y|n` (every NaN a float
    /// operation makes is the canonical one); with `run`
    /// also `max-memory-size=SIZE`, `timeout=DURATION`, `fuel=N`,
    /// `max-wasm-stack=BYTES`, `max-table-elements=N`,
    /// `trap-on-grow-failure=y|n` (a refused `memory.grow`/`table.grow`
    /// traps instead of returning -1), `max-instances=N`, `max-memories=N`,
    /// `max-tables=N`, `unknown-imports-trap=y` (imported functions nothing
    /// provides trap when called), `unknown-imports-default=y` (they return
    /// zeros). Several options may be given at once, separated by commas.
    #[arg(short = 'W', long = "wasm", value_name = "KEY=VALUE")]
    pub(crate) wasm: Vec<String>,
    /// Generate code for this target triple instead of this machine's CPU:
    /// `x86_64-unknown-linux-gnu` or `aarch64-unknown-linux-gnu`, with the
    /// target's baseline features (x86-64-v2 for x86-64). `compile` makes
    /// artifacts for it from any host; `run` runs code for it where the
    /// machine can (and loads artifacts `compile --target` made for it).
    #[arg(long, value_name = "TRIPLE")]
    pub(crate) target: Option<String>,
}

/// An option group's keys, each with what it does.
type OptionKeys = &'static [(&'static str, &'static str)];

/// What `-W help`, `-S help`, `-C help`, `-O help` and `-D help` list (as
/// Wasmtime's do): each group's flag, its long name, and its keys.
const OPTION_HELP: [(char, &str, OptionKeys); 5] = [
    (
        'W',
        "wasm",
        &[
            (
                "tail-call[=y|n]",
                "tail calls (`return_call`, `return_call_indirect`)",
            ),
            ("simd[=y|n]", "128-bit SIMD"),
            ("relaxed-simd[=y|n]", "relaxed SIMD"),
            (
                "relaxed-simd-deterministic[=y|n]",
                "relaxed SIMD gives the same answers on every CPU",
            ),
            ("threads[=y|n]", "shared memories and atomic operators"),
            (
                "shared-everything-threads[=y|n]",
                "the shared-everything threads proposal",
            ),
            ("multi-memory[=y|n]", "several memories per module"),
            ("memory64[=y|n]", "64-bit memories and tables"),
            ("bulk-memory[=y|n]", "bulk memory operators"),
            ("reference-types[=y|n]", "reference types"),
            (
                "multi-value[=y|n]",
                "several results per function and block",
            ),
            ("extended-const[=y|n]", "extended constant expressions"),
            ("function-references[=y|n]", "typed function references"),
            ("gc[=y|n]", "garbage-collected structs, arrays and i31"),
            (
                "exceptions[=y|n]",
                "exception handling (`try_table`, `throw`, `exnref`)",
            ),
            (
                "legacy-exceptions[=y|n]",
                "the legacy exception handling proposal",
            ),
            (
                "wide-arithmetic[=y|n]",
                "128-bit arithmetic operators (off by default)",
            ),
            (
                "custom-page-sizes[=y|n]",
                "custom page sizes (off by default)",
            ),
            ("stack-switching[=y|n]", "the stack switching proposal"),
            (
                "custom-descriptors[=y|n]",
                "the custom descriptors proposal",
            ),
            (
                "nan-canonicalization[=y|n]",
                "every NaN a float operation makes is the canonical one",
            ),
            (
                "max-memory-size=SIZE",
                "(run) the largest size any linear memory may grow to",
            ),
            (
                "timeout=DURATION",
                "(run) stop the guest after this much wall-clock time",
            ),
            ("fuel=N", "(run) trap once the guest has run N operators"),
            ("max-wasm-stack=SIZE", "(run) the native stack Wasm may use"),
            (
                "max-table-elements=N",
                "(run) the most elements any table may have",
            ),
            (
                "trap-on-grow-failure[=y|n]",
                "(run) a refused `memory.grow`/`table.grow` traps instead of returning -1",
            ),
            (
                "max-instances=N",
                "(run) the most instances the store may hold",
            ),
            (
                "max-memories=N",
                "(run) the most memories the store may hold",
            ),
            ("max-tables=N", "(run) the most tables the store may hold"),
            (
                "unknown-imports-trap[=y]",
                "(run) imported functions nothing provides trap when called",
            ),
            (
                "unknown-imports-default[=y]",
                "(run) imported functions nothing provides return zeros",
            ),
        ],
    ),
    (
        'S',
        "wasi",
        &[
            ("inherit-env[=y|n]", "pass the whole host environment"),
            (
                "inherit-args[=y|n]",
                "pass the program's arguments (default y)",
            ),
            (
                "inherit-stdin[=y|n]",
                "the host's stdin (default y; n: the guest reads nothing)",
            ),
            (
                "inherit-stdout[=y|n]",
                "the host's stdout (default y; n: what the guest writes is discarded)",
            ),
            (
                "inherit-stderr[=y|n]",
                "the host's stderr (default y; n: what the guest writes is discarded)",
            ),
            (
                "threads[=y|n]",
                "wasi-threads: `wasi::thread-spawn` and the shared memory the module imports",
            ),
            (
                "cli[=y]",
                "the command-line world of WASI preview 1 (always provided)",
            ),
            (
                "preview0[=y|n]",
                "the older `wasi_unstable` (snapshot 0) imports too (default y)",
            ),
            ("preview2=n", "accepted: WASI preview 1 is what is provided"),
        ],
    ),
    (
        'C',
        "codegen",
        &[
            (
                "parallel-compilation[=y|n]",
                "compile on every core (default y)",
            ),
            (
                "opt-level=0|1|2|s",
                "Cranelift's optimisation level (also -O)",
            ),
            (
                "lazy[=y|n|auto]",
                "(run) compile each function on its first call; `auto` (default): for \
                 modules of 256 KiB of code or more",
            ),
            (
                "background-compilation[=y|n]",
                "with `lazy`, compile ahead on idle cores (default y)",
            ),
            (
                "quick-tier[=y|n|auto]",
                "with `lazy`, compile a function a call waits for quickly, into slower \
                 code that background threads replace; `auto` (default for `run`): for \
                 modules of 256 KiB of code or more, when the code cache is off",
            ),
            (
                "cranelift-regalloc_algorithm=backtracking|single_pass",
                "Cranelift's register allocator",
            ),
            (
                "cranelift-NAME[=VALUE]",
                "any other Cranelift setting (unchecked: some break the code)",
            ),
            (
                "cache[=y|n]",
                "(run) keep compiled code for the next run (default y)",
            ),
            (
                "cache-dir=PATH",
                "where (default $XDG_CACHE_HOME/wasm-jit or ~/.cache/wasm-jit)",
            ),
            ("cache-size-limit=SIZE", "the cache's size (default 1GiB)"),
            (
                "cache-config=PATH",
                "Wasmtime's cache configuration file (default \
                 $XDG_CONFIG_HOME/wasm-jit/config.toml, if it exists)",
            ),
            ("compiler=cranelift", "the only compiler there is"),
        ],
    ),
    (
        'O',
        "optimize",
        &[
            ("opt-level=0|1|2|s", "Cranelift's optimisation level"),
            (
                "memory-reservation=SIZE",
                "address space reserved per linear memory (under 4GiB: explicit bounds checks)",
            ),
            (
                "memory-guard-size=SIZE",
                "the guard region after each reservation (default 2GiB)",
            ),
            (
                "memory-reservation-for-growth=SIZE",
                "room reserved past a moving memory's size (default: as much again)",
            ),
            (
                "memory-may-move[=y|n]",
                "explicitly checked memories move when they outgrow their reservation (default y)",
            ),
            (
                "memory-init-cow[=y|n]",
                "map memory 0's data copy-on-write where it can (default y)",
            ),
            (
                "signals-based-traps=y",
                "traps come from signals (n: not supported yet)",
            ),
            ("table-lazy-init[=y|n]", "accepted; changes nothing"),
        ],
    ),
    (
        'D',
        "debug",
        &[(
            "debug-info=n",
            "DWARF debug info is not supported yet (`y` says so)",
        )],
    ),
];

/// The list `-X help` asks for, if `args` (the command line, program name
/// first) ask for one: `-W help`, `-Whelp`, `--wasm help`, `--wasm=help`,
/// before the module. `cli` is the command line's definition, asked (only
/// when an argument says `help`) which options take the next argument as
/// their value.
pub(crate) fn option_help(
    args: &[std::ffi::OsString],
    cli: impl FnOnce() -> clap::Command,
) -> Option<String> {
    let args: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str().unwrap_or(""))
        .collect();
    if !args.iter().any(|a| a.ends_with("help")) {
        return None;
    }
    let cli = cli();
    // Whether `opt`, an option of a subcommand, takes a value.
    let takes_value = |opt: &str| {
        let mut short = opt.strip_prefix('-').unwrap_or_default().chars();
        let short = match (short.next(), short.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        };
        let long = opt.strip_prefix("--");
        cli.get_subcommands()
            .flat_map(|c| c.get_arguments())
            .any(|a| {
                a.get_action().takes_values()
                    && ((short.is_some() && a.get_short() == short)
                        || (long.is_some() && a.get_long() == long))
            })
    };
    for (i, a) in args.iter().enumerate() {
        let next = args.get(i + 1).copied();
        let group = OPTION_HELP.iter().find(|(short, long, _)| {
            let short = format!("-{short}");
            let long = format!("--{long}");
            ((*a == short || *a == long) && next == Some("help"))
                || *a == format!("{short}help")
                || *a == format!("{long}=help")
        });
        if let Some((short, long, keys)) = group {
            let width = keys.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            let mut out = format!(
                "Options for -{short} KEY[=VALUE] (also --{long}; several may be given at once, separated by commas):\n\n"
            );
            for (k, what) in keys.iter() {
                out.push_str(&format!("  {k:width$}  {what}\n"));
            }
            return Some(out);
        }
        // Everything after the module is the program's.
        if !a.starts_with('-') && !["run", "compile", "wast"].contains(a) {
            let prev = if i > 0 { args[i - 1] } else { "" };
            if !takes_value(prev) {
                return None;
            }
        }
    }
    None
}

/// `-W` options that only `run` uses.
const RUN_ONLY_WASM_OPTIONS: [&str; 11] = [
    "max-memory-size",
    "timeout",
    "fuel",
    "max-wasm-stack",
    "max-table-elements",
    "trap-on-grow-failure",
    "max-instances",
    "max-memories",
    "max-tables",
    "unknown-imports-trap",
    "unknown-imports-default",
];

/// The feature a `-W` feature toggle names.
fn wasm_feature(key: &str) -> Option<WasmFeatures> {
    Some(match key {
        "tail-call" => WasmFeatures::TAIL_CALL,
        "simd" => WasmFeatures::SIMD,
        "relaxed-simd" => WasmFeatures::RELAXED_SIMD,
        "threads" => WasmFeatures::THREADS,
        "shared-everything-threads" => WasmFeatures::SHARED_EVERYTHING_THREADS,
        "multi-memory" => WasmFeatures::MULTI_MEMORY,
        "memory64" => WasmFeatures::MEMORY64,
        "bulk-memory" => WasmFeatures::BULK_MEMORY,
        "reference-types" => WasmFeatures::REFERENCE_TYPES,
        "multi-value" => WasmFeatures::MULTI_VALUE,
        "extended-const" => WasmFeatures::EXTENDED_CONST,
        "function-references" => WasmFeatures::FUNCTION_REFERENCES,
        "gc" => WasmFeatures::GC,
        "exceptions" => WasmFeatures::EXCEPTIONS,
        "legacy-exceptions" => WasmFeatures::LEGACY_EXCEPTIONS,
        "memory-control" => WasmFeatures::MEMORY_CONTROL,
        "wide-arithmetic" => WasmFeatures::WIDE_ARITHMETIC,
        "custom-page-sizes" => WasmFeatures::CUSTOM_PAGE_SIZES,
        "stack-switching" => WasmFeatures::STACK_SWITCHING,
        "custom-descriptors" => WasmFeatures::CUSTOM_DESCRIPTORS,
        _ => return None,
    })
}

/// Applies `-W` options (lists split already): feature toggles to
/// `features`, the others to `config`. The options that only `run` takes
/// (limits, fuel, ...) are refused unless `for_run`.
pub(crate) fn apply_wasm_options(
    opts: &[String],
    features: &mut WasmFeatures,
    config: &mut Config,
    for_run: bool,
) -> Result<()> {
    for opt in opts {
        let (key, value) = key_value(opt);
        if let Some(f) = wasm_feature(key) {
            features.set(f, flag(key, value)?);
        } else if key == "relaxed-simd-deterministic" {
            config.relaxed_simd_deterministic(flag(key, value)?);
        } else if key == "nan-canonicalization" {
            config.cranelift_nan_canonicalization(flag(key, value)?);
        } else if !RUN_ONLY_WASM_OPTIONS.contains(&key) {
            bail!("unknown -W option `{key}`");
        } else if !for_run {
            bail!("-W {key} applies to `run` only");
        }
    }
    Ok(())
}

pub(crate) fn flag(key: &str, v: &str) -> Result<bool> {
    match v {
        "y" | "yes" | "true" | "" => Ok(true),
        "n" | "no" | "false" => Ok(false),
        _ => bail!("invalid value `{v}` for option {key}: expected y or n"),
    }
}

/// Options as given, with each comma-separated list (`-W a=1,b=2`, as
/// Wasmtime's options take them) split into one option per item.
pub(crate) fn split_list(opts: &[String]) -> Vec<String> {
    opts.iter()
        .flat_map(|o| o.split(','))
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect()
}

/// Splits `KEY=VALUE` (a bare `KEY` means `KEY=y`).
pub(crate) fn key_value(opt: &str) -> (&str, &str) {
    opt.split_once('=').unwrap_or((opt, ""))
}

impl CodegenOptions {
    /// Splits comma-separated lists of `-C`, `-O` and `-W` options.
    pub fn split_lists(&mut self) {
        for opts in [
            &mut self.codegen,
            &mut self.optimize,
            &mut self.wasm,
            &mut self.debug,
        ] {
            *opts = split_list(opts);
        }
    }

    /// Applies the options to `config`. `for_run`: the options are `run`'s,
    /// which takes the run-only `-W` options (the others refuse them) and
    /// caches compiled code unless `-C cache=n` (as Wasmtime does) and
    /// compiles large modules lazily unless `-C lazy=n`
    /// ([`CompilationMode::Auto`]).
    pub fn apply(&self, config: &mut Config, for_run: bool) -> Result<()> {
        if let Some(target) = &self.target {
            config.target(target)?;
        }
        let mut cache = for_run;
        config.compilation_mode(if for_run {
            CompilationMode::Auto
        } else {
            CompilationMode::Eager
        });
        if for_run {
            config.first_tier(FirstTier::Auto);
        }
        let mut cache_dir = None;
        let (mut cache_config, mut cache_size_limit) = (None, None);
        let mut features = Config::DEFAULT_FEATURES;
        apply_wasm_options(&self.wasm, &mut features, config, for_run)?;
        config.wasm_features(features);
        for opt in &self.optimize {
            match key_value(opt) {
                ("opt-level", value) => set_opt_level(config, value)?,
                ("memory-reservation", value) => {
                    // A 32-bit memory goes without bounds checks only in a
                    // 4 GiB reservation (as in Wasmtime).
                    config.memory_reservation(size(value)?);
                }
                ("memory-reservation-for-growth", value) => {
                    config.memory_reservation_for_growth(size(value)?);
                }
                (key @ "memory-may-move", value) => {
                    config.memory_may_move(flag(key, value)?);
                }
                (key @ "memory-init-cow", value) => {
                    config.memory_init_cow(flag(key, value)?);
                }
                (key @ "signals-based-traps", value) => {
                    config.signals_based_traps(flag(key, value)?);
                }
                (key @ "table-lazy-init", value) => {
                    config.table_lazy_init(flag(key, value)?);
                }
                ("memory-guard-size", value) => {
                    config.memory_guard_size(size(value)?);
                }
                (key, _) => bail!("unknown -O option `{key}`"),
            }
        }
        for opt in &self.debug {
            let (key, value) = key_value(opt);
            match key {
                "debug-info" if !flag(key, value)? => {}
                "debug-info" => bail!(
                    "not supported yet: DWARF debug info for compiled code (-D debug-info); \
                     traps still print a backtrace with function names"
                ),
                _ => bail!("unknown -D option `{key}`"),
            }
        }
        for opt in &self.codegen {
            let (key, value) = key_value(opt);
            match key {
                "parallel-compilation" => {
                    config.parallel_compilation(flag(key, value)?);
                }
                "opt-level" => set_opt_level(config, value)?,
                "lazy" => {
                    config.compilation_mode(match value {
                        "auto" => CompilationMode::Auto,
                        "y" | "yes" | "true" | "" => CompilationMode::Lazy,
                        "n" | "no" | "false" => CompilationMode::Eager,
                        _ => {
                            bail!("invalid value `{value}` for option lazy: expected y, n or auto")
                        }
                    });
                }
                "background-compilation" => {
                    config.background_compilation(flag(key, value)?);
                }
                "quick-tier" => {
                    config.first_tier(match value {
                        "auto" => FirstTier::Auto,
                        _ if flag(key, value)? => FirstTier::Quick,
                        _ => FirstTier::Optimized,
                    });
                }
                // Wasmtime's spelling of this Cranelift setting.
                "cranelift-regalloc_algorithm" => {
                    config.cranelift_regalloc_algorithm(match value {
                        "backtracking" => RegallocAlgorithm::Backtracking,
                        "single_pass" => RegallocAlgorithm::SinglePass,
                        _ => bail!(
                            "invalid value `{value}` for cranelift-regalloc_algorithm: \
                             expected backtracking or single_pass"
                        ),
                    });
                }
                "cache" => cache = flag(key, value)?,
                "cache-dir" => cache_dir = Some(std::path::PathBuf::from(value)),
                "cache-config" => cache_config = Some(std::path::PathBuf::from(value)),
                "cache-size-limit" => cache_size_limit = Some(size(value)?),
                // The only compiler there is.
                "compiler" if value == "cranelift" => {}
                "compiler" => {
                    bail!("unsupported compiler `{value}`: wasm-jit compiles with cranelift only")
                }
                // Any other Cranelift setting, as Wasmtime's
                // `-C cranelift-NAME[=VALUE]`.
                _ if key.starts_with("cranelift-") && key.len() > "cranelift-".len() => {
                    let name = &key["cranelift-".len()..];
                    // SAFETY: the person running the command asked for this
                    // setting, as with Wasmtime's option, whose settings may
                    // break the code (see `Config::cranelift_flag_set`).
                    unsafe {
                        if value.is_empty() {
                            config.cranelift_flag_enable(name);
                        } else {
                            config.cranelift_flag_set(name, value);
                        }
                    }
                }
                _ => bail!("unknown -C option `{key}`"),
            }
        }
        if cache {
            // Wasmtime's cache configuration file (the default one if it
            // exists), then the options that override it.
            match Cache::from_file(cache_config.as_deref()) {
                Ok(c) => config.cache(Some(c)),
                // No directory configured and no home for the default one:
                // no cache (a bad file, even the default one, is an error).
                Err(e)
                    if cache_config.is_none()
                        && e.downcast_ref::<wasm_jit::NoCacheDirectory>().is_some() =>
                {
                    config.cache(None)
                }
                Err(e) => return Err(e),
            };
            if let Some(dir) = cache_dir {
                config.cache_dir(Some(dir));
            }
            if let Some(limit) = cache_size_limit {
                config.cache_size_limit(limit);
            }
        }
        Ok(())
    }
}

fn size(value: &str) -> Result<u64> {
    crate::run::parse_size(value).map_err(anyhow::Error::msg)
}

fn set_opt_level(config: &mut Config, value: &str) -> Result<()> {
    config.cranelift_opt_level(match value {
        "0" => OptLevel::None,
        "1" | "2" => OptLevel::Speed,
        "s" => OptLevel::SpeedAndSize,
        _ => bail!("invalid value `{value}` for opt-level: expected 0, 1, 2 or s"),
    });
    Ok(())
}
