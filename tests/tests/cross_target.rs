//! The cross-target compile check: every module of the spec testsuite that
//! should be valid compiles, with Cranelift's IR verifier on, for both
//! supported targets, whatever the host. So an assumption about one ISA in
//! the translator (a vector lowering, a calling convention, a relocation the
//! artifact format cannot save) fails here even on a machine that cannot run
//! the other target's code. Nothing is run: the artifacts are only made.

use libtest_mimic::{Arguments, Failed, Trial};
use wasm_jit::{Config, Engine};
use wasm_jit_tests::{all_files, expected_failures, feature_path};
use wasm_jit_wast::{compile_text, features_for_path};

const TARGETS: [&str; 2] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

fn main() {
    let args = Arguments::from_args();
    let expected = expected_failures();
    let mut trials = Vec::new();
    for file in all_files() {
        // A script the engine is known to fail (for a feature it lacks)
        // may hold modules it refuses; they must be the same for both.
        let known_failure = expected.contains_key(&file.name);
        let name = format!("cross-target/{}", file.name);
        trials.push(Trial::test(name, move || {
            let mut reports = Vec::new();
            for target in TARGETS {
                let mut config = Config::new();
                config
                    .wasm_features(features_for_path(&feature_path(&file)))
                    .cranelift_debug_verifier(true)
                    .parallel_compilation(false);
                config.target(target).map_err(|e| format!("{e:#}"))?;
                let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
                let report = compile_text(file.text, &engine).map_err(|e| format!("{e:#}"))?;
                if report.failed > 0 && !known_failure {
                    let mut msg = format!(
                        "{}: {} of {} modules do not compile for {target}\n",
                        file.name,
                        report.failed,
                        report.failed + report.passed
                    );
                    for f in report.failures.iter().take(10) {
                        msg.push_str(&format!("  {f}\n"));
                    }
                    return Err(Failed::from(msg));
                }
                reports.push(report);
            }
            // A module one target cannot compile yet, the other cannot
            // either: nothing is unsupported on one architecture only.
            if reports[0].failures != reports[1].failures {
                return Err(format!(
                    "{}: the targets refuse different modules:\n  {}: {:?}\n  {}: {:?}",
                    file.name, TARGETS[0], reports[0].failures, TARGETS[1], reports[1].failures
                )
                .into());
            }
            Ok(())
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
