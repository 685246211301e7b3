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
        for file in &self.files {
            match wasm_jit_wast::run_file(file, features) {
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
