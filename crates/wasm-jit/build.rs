//! Gives the engine a build identity, `WASM_JIT_BUILD_HASH`: a hash of the
//! sources of the crates that decide what compiled code looks like and how
//! it is run (this one, `frontend`, `backend`: their Rust and C sources and
//! manifests) and of the workspace's manifest and `Cargo.lock` (which pin
//! Cranelift and its features). It is part of the engine's fingerprint, so
//! a cached or precompiled module from a build with other sources is
//! refused and recompiled, even under the same version.

use std::hash::Hasher as _;
use std::path::{Path, PathBuf};

fn main() {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut files = Vec::new();
    for krate in [
        here.clone(),
        here.join("../frontend"),
        here.join("../backend"),
    ] {
        collect(&krate.join("src"), &mut files);
        files.push(krate.join("Cargo.toml"));
    }
    files.push(here.join("../../Cargo.toml"));
    files.push(here.join("../../Cargo.lock"));
    // Hashed by path relative to this crate, in a fixed order, so that the
    // same sources give the same identity wherever they are built. (Outside
    // this workspace the other crates' files are not there: the identity
    // is then this crate's alone.)
    files.retain(|f| f.is_file());
    files.sort();
    // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    for file in &files {
        // Only files that exist, so that cargo does not run this again on
        // every build; a new source file always comes with an edit to one
        // listed here (its `mod` line, or `backend/build.rs` for C).
        println!("cargo:rerun-if-changed={}", file.display());
        let bytes = std::fs::read(file).expect("a file just listed");
        let name = file.strip_prefix(&here).unwrap_or(file);
        h.write(name.to_string_lossy().as_bytes());
        h.write(&(bytes.len() as u64).to_le_bytes());
        h.write(&bytes);
    }
    println!("cargo:rustc-env=WASM_JIT_BUILD_HASH={:016x}", h.finish());
}

/// The Rust and C sources under `dir`, recursively (editors' swap and
/// backup files and anything else are not the engine's).
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, files);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rs" | "c" | "h")
        ) {
            files.push(path);
        }
    }
}

struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
