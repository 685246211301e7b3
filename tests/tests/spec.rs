//! The official spec testsuite, one test per script.
//!
//! A script passes when every check in it holds. Scripts listed in
//! `spec-expected-failures.txt` must still fail (so the list can only
//! shrink: a fixed script makes its test fail until its line is removed),
//! and no script may panic the engine.

use libtest_mimic::{Arguments, Failed, Trial};
use wasm_jit_tests::{all_files, expected_failures, feature_path};
use wasm_jit_wast::{features_for_path, run_text};

fn main() {
    let args = Arguments::from_args();
    let expected = expected_failures();
    let trials = all_files()
        .into_iter()
        .map(|file| {
            let reason = expected.get(&file.name).cloned();
            let name = file.name.clone();
            Trial::test(name, move || {
                let features = features_for_path(&feature_path(&file));
                let report = run_text(file.text, features).map_err(|e| Failed::from(format!("{e:#}")))?;
                if let Some(panic) = report.failures.iter().find(|f| f.contains("engine panicked")) {
                    return Err(format!("{}: {panic}", file.name).into());
                }
                match (report.failed, reason) {
                    (0, None) => Ok(()),
                    (0, Some(_)) => Err(format!(
                        "{} now passes all {} checks: remove it from tests/spec-expected-failures.txt",
                        file.name, report.passed
                    )
                    .into()),
                    (_, Some(_)) => Ok(()),
                    (n, None) => {
                        let mut msg = format!("{}: {n} of {} checks failed\n", file.name, n + report.passed);
                        for f in report.failures.iter().take(20) {
                            msg.push_str("  ");
                            msg.push_str(f);
                            msg.push('\n');
                        }
                        Err(msg.into())
                    }
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
