//! The official spec testsuite, one test per script.
//!
//! A script passes when every check in it holds. Scripts listed in
//! `spec-expected-failures.txt` must still fail (so the list can only
//! shrink: a fixed script makes its test fail until its line is removed),
//! and no script may panic the engine.

use libtest_mimic::{Arguments, Failed, Trial};
use wasm_jit::{CompilationMode, Config, FirstTier};
use wasm_jit_tests::{all_files, expected_failures, feature_path};
use wasm_jit_wast::{features_for_path, run_text_with_config};

fn main() {
    let args = Arguments::from_args();
    let expected = expected_failures();
    let mut trials = Vec::new();
    for file in all_files() {
        // Wasm 1.0 and 2.0, SIMD, relaxed SIMD, memory64, custom page
        // sizes and threads also run with explicit bounds checks instead of guard pages, so both memory strategies
        // are held to the suite.
        let explicit_too = [
            "wasm-v1/",
            "wasm-v2/",
            "proposals/simd/",
            "proposals/relaxed-simd/",
            "proposals/memory64/",
            "proposals/custom-page-sizes/",
            "proposals/threads/",
        ]
        .iter()
        .any(|p| file.name.starts_with(p));
        // (explicit bounds checks, lazy compilation)
        let modes: &[(bool, bool)] = if explicit_too {
            &[(false, false), (true, false), (false, true)]
        } else {
            &[(false, false), (false, true)]
        };
        for &(explicit, lazy) in modes {
            let reason = expected.get(&file.name).cloned();
            let file = wasm_jit_tests::SpecFile {
                name: file.name.clone(),
                text: file.text,
            };
            let name = if explicit {
                format!("explicit-bounds-checks/{}", file.name)
            } else if lazy {
                format!("lazy/{}", file.name)
            } else {
                file.name.clone()
            };
            trials.push(Trial::test(name, move || {
                let mut config = Config::new();
                config.wasm_features(features_for_path(&feature_path(&file)));
                config.explicit_bounds_checks(explicit);
                let run = |config: Config| {
                    run_text_with_config(file.text, config).map_err(|e| Failed::from(format!("{e:#}")))
                };
                let report = if lazy {
                    // Every function is compiled on its first call (no
                    // background threads), and every directive must give
                    // exactly what eager compilation gives; also by the
                    // quick first tier (no optimisation, single-pass
                    // register allocator, heat counted), which then stays.
                    let eager = run(config.clone())?;
                    let same_as_eager = |what: &str, other: &wasm_jit_wast::Report| {
                        if (other.passed, other.failed, &other.failures)
                            == (eager.passed, eager.failed, &eager.failures)
                        {
                            return Ok(());
                        }
                        Err(Failed::from(format!(
                            "{}: {what} passed {} and failed {} checks, eager {} and {}:\n  {what}: {:?}\n  eager: {:?}",
                            file.name, other.passed, other.failed, eager.passed, eager.failed,
                            other.failures.iter().take(5).collect::<Vec<_>>(),
                            eager.failures.iter().take(5).collect::<Vec<_>>()
                        )))
                    };
                    config.compilation_mode(CompilationMode::Lazy);
                    config.background_compilation(false);
                    let mut quick = config.clone();
                    quick.first_tier(FirstTier::Quick).quick_tier_always(true);
                    same_as_eager("the quick first tier", &run(quick)?)?;
                    let lazy = run(config)?;
                    same_as_eager("lazy compilation", &lazy)?;
                    lazy
                } else {
                    run(config)?
                };
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
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
