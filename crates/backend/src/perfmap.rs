//! `perf` map files: with profiling on, every placed function is written to
//! `/tmp/perf-PID.map` as `START SIZE NAME`, so `perf report` names Wasm
//! functions (`wasm-jit run --profile=perfmap`, `Config::profiler`).

use std::io::Write as _;
use std::sync::Mutex;

static PERF_MAP: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Starts writing the map of this process (idempotent).
pub fn enable() -> std::io::Result<()> {
    let mut map = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
    if map.is_none() {
        let path = format!("/tmp/perf-{}.map", std::process::id());
        *map = Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        );
    }
    Ok(())
}

/// Records functions placed at `(address, size, name)`, if enabled.
/// Failing to write a profile never fails the program.
pub(crate) fn record(funcs: impl Iterator<Item = (usize, usize, String)>) {
    let mut map = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(file) = map.as_mut() {
        let mut text = String::new();
        for (addr, size, name) in funcs {
            // perf reads one line per symbol: keep names on one line.
            let name = name.replace(['\n', '\r'], " ");
            text.push_str(&format!("{addr:x} {size:x} {name}\n"));
        }
        let _ = file.write_all(text.as_bytes());
    }
}
