//! Only our own code is tracked: no file carries another project's license
//! header or copyright line, every binary is a Wasm module built from a
//! source beside it in the repository, and the whole stays small. Real
//! programs (bzip2, zlib, SQLite, meshoptimizer) come from packages at build time through
//! `scripts/third-party.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tracked_files() -> Vec<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root())
        .args(["ls-files", "-z"])
        .output()
        .expect("git runs (the provenance check reads `git ls-files`)");
    assert!(
        out.status.success(),
        "git ls-files failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

/// Phrases that mark another project's license or copyright notice. Kept
/// lower-case; matched against lower-cased lines.
const NOTICE_MARKERS: [&str; 10] = [
    "copyright (c)",
    "copyright ©",
    "spdx-license-identifier",
    "permission is hereby granted",
    "licensed under the apache license",
    "gnu general public license",
    "gnu lesser general public license",
    "redistribution and use in source and binary forms",
    "this software is provided 'as-is'",
    "the author disclaims copyright",
];

/// A notice found in `text`, if any: a marker phrase, or a line that starts
/// (after comment punctuation) with "Copyright" followed by a year.
fn notice_in(text: &str) -> Option<String> {
    for line in text.lines() {
        let lower = line.to_lowercase();
        if let Some(m) = NOTICE_MARKERS.iter().find(|m| lower.contains(*m)) {
            return Some(format!("`{m}` in: {}", line.trim()));
        }
        let body = lower.trim_start_matches(|c: char| " \t/*#-;!%".contains(c));
        if let Some(rest) = body.strip_prefix("copyright") {
            let rest = rest.trim_start();
            if rest.starts_with(|c: char| c.is_ascii_digit()) {
                return Some(format!("copyright line: {}", line.trim()));
            }
        }
    }
    None
}

fn is_binary(bytes: &[u8]) -> bool {
    bytes.contains(&0) || std::str::from_utf8(bytes).is_err()
}

/// The source a tracked module is built from: `X.c` or `X.rs` beside
/// `X.wasm`, or `benches/programs/X.c` for `benches/wasm/X.wasm`.
fn source_of(module: &str) -> Option<PathBuf> {
    let path = Path::new(module);
    let stem = path.file_stem()?.to_str()?;
    let candidates = [
        path.with_extension("c"),
        path.with_extension("rs"),
        Path::new("benches/programs").join(format!("{stem}.c")),
    ];
    candidates.into_iter().find(|c| root().join(c).is_file())
}

#[test]
fn no_tracked_file_carries_another_projects_notice() {
    let this_file = "tests/tests/provenance.rs";
    let mut found = Vec::new();
    for f in tracked_files() {
        // Our own license, and this file's list of markers.
        if f == "LICENSE" || f == this_file {
            continue;
        }
        let Ok(bytes) = std::fs::read(root().join(&f)) else {
            continue; // deleted in the work tree
        };
        if is_binary(&bytes) {
            continue;
        }
        if let Some(n) = notice_in(std::str::from_utf8(&bytes).unwrap()) {
            found.push(format!("{f}: {n}"));
        }
    }
    assert!(
        found.is_empty(),
        "tracked files with another project's notice (bring such code in as a package, \
         see scripts/third-party.sh):\n{}",
        found.join("\n")
    );
}

#[test]
fn every_tracked_binary_is_a_module_built_from_our_source() {
    let mut found = Vec::new();
    let mut modules = 0;
    for f in tracked_files() {
        let Ok(bytes) = std::fs::read(root().join(&f)) else {
            continue;
        };
        if !is_binary(&bytes) {
            continue;
        }
        if !f.ends_with(".wasm") || !bytes.starts_with(b"\0asm") {
            found.push(format!("{f}: a binary that is not a Wasm module"));
        } else if source_of(&f).is_none() {
            found.push(format!(
                "{f}: no source of ours beside it (X.c or X.rs next to X.wasm)"
            ));
        } else {
            modules += 1;
        }
    }
    assert!(
        found.is_empty(),
        "tracked binaries not built from this repository's code:\n{}",
        found.join("\n")
    );
    assert!(
        modules > 0,
        "expected the committed test and kernel modules"
    );
}

#[test]
fn the_repository_stays_small() {
    let sizes: Vec<(String, u64)> = tracked_files()
        .iter()
        .filter_map(|f| Some((f.clone(), std::fs::metadata(root().join(f)).ok()?.len())))
        .collect();
    // No one file is a vendored input (the largest today, a Rust WASI test
    // program built from our source, is 150 KiB) ...
    let large: Vec<String> = sizes
        .iter()
        .filter(|(_, len)| *len > 256 << 10)
        .map(|(f, len)| format!("{f}: {len} bytes"))
        .collect();
    assert!(
        large.is_empty(),
        "tracked files over 256 KiB (large inputs belong in packages):\n{}",
        large.join("\n")
    );
    // ... and all of them together stay the size of our own code.
    let total: u64 = sizes.iter().map(|(_, len)| len).sum();
    assert!(
        total < 4 << 20,
        "tracked files add up to {total} bytes (limit 4 MiB): large inputs belong in packages"
    );
}
