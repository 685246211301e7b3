//! `wasm-jit wast`: runs spec scripts.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

/// Options of `wasm-jit wast`.
#[derive(Args, Debug)]
pub struct WastCommand {
    /// Feature set: the Wasm specification version (1, 2 or 3). By default a
    /// file inside a folder named wasm-v1, wasm-v2 or wasm-v3 gets that
    /// version's features, a file in proposals/NAME gets 2.0 plus that
    /// proposal, and any other file the default feature set of `wasm-jit run`
    /// (Wasm 3.0).
    #[arg(long, value_name = "N")]
    spec_version: Option<u32>,
    /// Print every failed check, not only the first ten per file.
    #[arg(long)]
    verbose: bool,
    /// Wasm option KEY=VALUE, as `run` takes them, applied on top of each
    /// file's feature set: a feature toggle such as `threads=y`,
    /// `gc=y`, `custom-page-sizes=y` (see `-W help`),
    /// `relaxed-simd-deterministic=y|n`, `nan-canonicalization=y|n`, and
    /// `timeout=DURATION` (e.g. 500ms, 2s: each directive, a call or a
    /// module's start function, fails once it has run that long, and the
    /// script goes on; a module's compilation has the same deadline of its
    /// own; by default directives run until they end). Several may be
    /// given at once, separated by commas.
    #[arg(short = 'W', long = "wasm", value_name = "KEY=VALUE")]
    wasm: Vec<String>,
    /// Script files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

impl WastCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let features = match self.spec_version {
            None => None,
            Some(v) => match wasm_jit_wast::spec_version_features(v) {
                Some(f) => Some(f),
                None => bail!("unknown spec version {v}: expected 1, 2 or 3"),
            },
        };
        let mut all_ok = true;
        let (mut total_passed, mut total_failed) = (0, 0);
        // A closed standard output (`| head`) is an error, not a panic.
        let mut out = std::io::stdout().lock();
        const WRITE: &str = "cannot write the report";
        let mut wasm = crate::codegen::split_list(&self.wasm);
        // `timeout` is this command's; the rest are engine options.
        let mut timeout = None;
        wasm.retain(|opt| match crate::codegen::key_value(opt) {
            ("timeout", value) => {
                timeout = Some(value.to_string());
                false
            }
            _ => true,
        });
        let timeout = timeout
            .map(|v| crate::run::parse_duration(&v).map_err(|e| anyhow::anyhow!("-W timeout: {e}")))
            .transpose()?;
        // Checked once, before any file runs.
        crate::codegen::apply_wasm_options(
            &wasm,
            &mut wasm_jit::WasmFeatures::empty(),
            &mut wasm_jit::Config::new(),
            false,
        )?;
        for file in &self.files {
            let mut config = wasm_jit::Config::new();
            let mut file_features =
                features.unwrap_or_else(|| wasm_jit_wast::features_for_path(file));
            crate::codegen::apply_wasm_options(&wasm, &mut file_features, &mut config, false)?;
            config.wasm_features(file_features);
            match wasm_jit_wast::run_file_with_timeout(file, config, timeout) {
                Ok(report) => {
                    writeln!(
                        out,
                        "{}: {} passed, {} failed",
                        crate::display(file),
                        report.passed,
                        report.failed
                    )
                    .context(WRITE)?;
                    let shown = if self.verbose { usize::MAX } else { 10 };
                    for f in report.failures.iter().take(shown) {
                        writeln!(out, "  {}:{f}", crate::display(file)).context(WRITE)?;
                    }
                    if report.failures.len() > shown {
                        writeln!(out, "  ... and {} more", report.failures.len() - shown)
                            .context(WRITE)?;
                    }
                    total_passed += report.passed;
                    total_failed += report.failed;
                    all_ok &= report.failed == 0;
                }
                Err(e) => {
                    writeln!(out, "{}: error: {e:#}", crate::display(file)).context(WRITE)?;
                    all_ok = false;
                }
            }
        }
        if self.files.len() > 1 {
            writeln!(out, "total: {total_passed} passed, {total_failed} failed").context(WRITE)?;
        }
        out.flush().context(WRITE)?;
        Ok(if all_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}
