//! Gives the engine a build identity, `WASM_JIT_BUILD_HASH`: a hash of the
//! sources of the crates that decide what compiled code looks like and how
//! it is run (this one, `frontend`, `backend`) and of the workspace's
//! `Cargo.lock` (which pins Cranelift). It is part of the engine's
//! fingerprint, so a cached or precompiled module from a build with any
//! other source is refused and recompiled, even under the same version.

use std::hash::Hasher as _;
use std::path::{Path, PathBuf};

fn main() {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut files = Vec::new();
    for dir in [
        here.join("src"),
        here.join("../frontend/src"),
        here.join("../backend/src"),
    ] {
        println!("cargo:rerun-if-changed={}", dir.display());
        collect(&dir, &mut files);
    }
    let lock = here.join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    files.push(lock);
    // Hashed by path relative to this crate, in a fixed order, so that
    // the same sources give the same identity wherever they are built.
    files.sort();
    // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let name = file.strip_prefix(&here).unwrap_or(file);
        h.write(name.to_string_lossy().as_bytes());
        h.write(&(bytes.len() as u64).to_le_bytes());
        h.write(&bytes);
    }
    println!("cargo:rustc-env=WASM_JIT_BUILD_HASH={:016x}", h.finish());
}

/// Every file under `dir`, recursively (none if it does not exist, as when
/// the crate is built outside this workspace).
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
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
