//! The code cache's files ([`Config::cache_dir`](crate::Config::cache_dir)):
//! entry names, atomic writes, and keeping the directory under its size
//! limit ([`Config::cache_size_limit`](crate::Config::cache_size_limit)).
//! What goes into an entry and when it is written is `module.rs`'s.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use crate::Engine;

/// The cache file name of `wasm` compiled by `engine`: a 128-bit hash of
/// the engine's fingerprint, its compilation mode and the bytes. (A hit is
/// also checked against the bytes themselves, which the artifact holds, so
/// a collision only costs a compilation.)
pub(crate) fn key(engine: &Engine, wasm: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.fingerprint().hash(&mut h);
    format!("{:?}", engine.config().compilation_mode).hash(&mut h);
    // Entries of runs with the quick first tier may hold quick code.
    // `Auto` does not use it with a cache (this key is only for one), so
    // its entries are `Optimized`'s.
    let first_tier = match engine.config().first_tier {
        crate::FirstTier::Auto => crate::FirstTier::Optimized,
        tier => tier,
    };
    format!("{first_tier:?}").hash(&mut h);
    let settings = h.finish();
    let (a, b) = bytes_hash(wasm);
    format!("{:016x}{:016x}.{ENTRY}", a ^ settings, b)
}

/// The extension of entries (`KEY.cwasm`, KEY 32 hex digits); nothing
/// else in the directory is touched, except this module's own temporary
/// files (`KEY.tmpPID-N-NANOS`).
const ENTRY: &str = "cwasm";
const TEMPORARY: &str = "tmp";
/// A temporary file this old was left by a writer that died.
const ABANDONED: Duration = Duration::from_secs(3600);

/// Writes `bytes` as the entry at `path` atomically: under a name no other
/// writer (thread or process) uses, then renamed over the entry, so a
/// reader maps either the old entry or the new one, never a part. Then
/// trims the directory to `limit` bytes. Whether the entry was written.
pub(crate) fn write(path: &Path, bytes: &[u8], limit: u64) -> bool {
    let Some(dir) = path.parent() else {
        return false;
    };
    let _ = std::fs::create_dir_all(dir);
    // Unique in this process by the counter; the time tells apart
    // processes with the same id (containers sharing a cache directory),
    // and `create_new` refuses the rare name still taken.
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = path.with_extension(format!(
        "{TEMPORARY}{}-{}-{nanos}",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, bytes));
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            let _ = std::fs::remove_file(&tmp);
        }
        return false;
    }
    if std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return false;
    }
    trim(dir, limit, path);
    true
}

/// Marks the entry at `path` as just used (its modification time), so
/// trimming removes entries not used for longest first. Failing only makes
/// the entry look older.
pub(crate) fn note_use(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Keeps the entries in `dir` under `limit` bytes in all: when they are
/// over it, removes those used least recently (never `keep`, the entry
/// just written) until they are under three quarters of it, so that not
/// every write has to trim. Also removes temporary files writers left
/// behind. Entries another process has mapped stay readable to it (Unix
/// keeps a removed file's data while it is open or mapped); one removed
/// under a process about to load it only costs that process a compile.
pub(crate) fn trim(dir: &Path, limit: u64, keep: &Path) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    let mut entries = Vec::new();
    let mut total = 0u64;
    for entry in read.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        match kind(&path) {
            Some(Kind::Temporary) if now.duration_since(used).is_ok_and(|age| age > ABANDONED) => {
                let _ = std::fs::remove_file(&path);
            }
            Some(Kind::Entry) => {
                total += meta.len();
                if path != keep {
                    entries.push((used, meta.len(), path));
                }
            }
            Some(Kind::Temporary) | None => {}
        }
    }
    if total <= limit {
        return;
    }
    entries.sort_by_key(|(used, _, _)| *used);
    let target = limit / 4 * 3;
    for (_, len, path) in entries {
        if total <= target {
            break;
        }
        // Removed by another process trimming at the same time counts too.
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {}
            _ => total -= len,
        }
    }
}

enum Kind {
    Entry,
    Temporary,
}

/// Whether `path` names an entry or a temporary file of this module (by
/// the exact shape of the names it gives them), or something else.
fn kind(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?;
    let (key, ext) = name.split_once('.')?;
    if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if ext == ENTRY {
        return Some(Kind::Entry);
    }
    let numbers = ext.strip_prefix(TEMPORARY)?;
    let mut parts = numbers.split('-');
    let numeric = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    (parts.clone().count() == 3 && parts.all(numeric)).then_some(Kind::Temporary)
}

/// A 128-bit hash of `bytes` at several GB/s (a warm start hashes the
/// whole module): two multiply-rotate lanes over 8-byte words, finished
/// with a 64-bit avalanche mix. Not cryptographic.
fn bytes_hash(bytes: &[u8]) -> (u64, u64) {
    const K1: u64 = 0x9e37_79b9_7f4a_7c15;
    const K2: u64 = 0xc2b2_ae3d_27d4_eb4f;
    let mix = |mut x: u64| {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    };
    let (mut a, mut b) = (K2 ^ bytes.len() as u64, K1);
    let mut step = |w: u64| {
        a = (a ^ w).wrapping_mul(K1).rotate_left(29);
        b = (b.rotate_left(31) ^ w).wrapping_mul(K2);
    };
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        step(u64::from_le_bytes(w.try_into().expect("8 bytes")));
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    step(u64::from_le_bytes(tail));
    (mix(a ^ b.rotate_left(17)), mix(b ^ a.rotate_left(41)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cache names tell apart modules that differ in one bit, or only in
    /// trailing zero bytes.
    #[test]
    fn bytes_hash_separates_near_inputs() {
        let mut seen = std::collections::HashSet::new();
        let base: Vec<u8> = (0..61u8).collect();
        assert!(seen.insert(bytes_hash(&base)));
        for bit in 0..base.len() * 8 {
            let mut b = base.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(seen.insert(bytes_hash(&b)), "bit {bit}");
        }
        for len in 0..=24 {
            assert!(seen.insert(bytes_hash(&vec![0; len])), "{len} zeros");
        }
    }

    /// Over the limit, entries go least recently used first down to three
    /// quarters of it, the one just written stays, abandoned temporary
    /// files go, and other files are left alone.
    #[test]
    fn trimming_removes_the_least_recently_used_entries() {
        let dir = std::env::temp_dir().join(format!("wasm-jit-trim-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let day = Duration::from_secs(86400);
        let key = |c: char| c.to_string().repeat(32);
        let file = |name: &str, len: usize, days_ago: u32| {
            let path = dir.join(name);
            std::fs::write(&path, vec![0u8; len]).unwrap();
            let f = std::fs::File::options().append(true).open(&path).unwrap();
            f.set_modified(SystemTime::now() - day * days_ago).unwrap();
            path
        };
        let (a, b, c, d, n) = (key('a'), key('b'), key('c'), key('d'), key('e'));
        file(&format!("{a}.cwasm"), 100, 5);
        file(&format!("{b}.cwasm"), 100, 1);
        let c_path = file(&format!("{c}.cwasm"), 100, 3);
        let new = file(&format!("{n}.cwasm"), 100, 9);
        file(&format!("{d}.tmp12-0-999"), 100, 2);
        file(&format!("{d}.tmp12-1-999"), 100, 0);
        // Not this module's: never counted nor removed.
        file("notes.txt", 1000, 9);
        file("mine.cwasm", 1000, 9);
        file(&format!("{d}.tmpl"), 100, 9);
        let names = || {
            let mut n: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            n.sort();
            n
        };
        let others = [
            "mine.cwasm".to_string(),
            "notes.txt".to_string(),
            format!("{d}.tmpl"),
        ];
        let expect = |names: &[&String]| {
            let mut all: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            all.extend(others.iter().cloned());
            all.sort();
            all
        };
        // 400 bytes of entries: at the limit, nothing goes but the old
        // temporary file.
        trim(&dir, 400, &new);
        let young = format!("{d}.tmp12-1-999");
        let [ea, eb, ec, en] = [&a, &b, &c, &n].map(|k| format!("{k}.cwasm"));
        assert_eq!(names(), expect(&[&ea, &eb, &ec, &en, &young]));
        // Over 300: down to 225, so `a` then `c` (used longest ago) go.
        trim(&dir, 300, &new);
        assert_eq!(names(), expect(&[&eb, &en, &young]));
        // Using an entry makes it the newest.
        note_use(&dir.join(&eb));
        file(&format!("{d}.cwasm"), 100, 2);
        trim(&dir, 250, &c_path);
        assert_eq!(names(), expect(&[&eb, &young]));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
