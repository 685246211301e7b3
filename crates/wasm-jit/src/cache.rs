//! The code cache's files ([`Config::cache_dir`](crate::Config::cache_dir)):
//! entry names, atomic writes, and keeping the directory under its size
//! limit ([`Config::cache_size_limit`](crate::Config::cache_size_limit)).
//! What goes into an entry and when it is written is `module.rs`'s. Also
//! Wasmtime's way to ask for one: [`Cache`], made from a [`CacheConfig`] or
//! a cache configuration file, for [`Config::cache`](crate::Config::cache).

use std::path::{Path, PathBuf};
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
    let (a, b) = wasm_jit_backend::artifact::bytes_hash(wasm);
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

#[cfg(test)]
mod tests {
    use super::*;

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

/// Settings of a code cache, for [`Cache::new`], as Wasmtime's: the
/// directory (by default `$XDG_CACHE_HOME/wasm-jit`, or
/// `~/.cache/wasm-jit`) and the size past which entries used least
/// recently are removed (1 GiB by default).
#[derive(Clone, Debug, Default)]
pub struct CacheConfig {
    directory: Option<PathBuf>,
    size_limit: Option<u64>,
}

impl CacheConfig {
    /// The defaults.
    pub fn new() -> CacheConfig {
        CacheConfig::default()
    }

    /// The directory entries are kept in (an absolute path).
    pub fn with_directory(&mut self, directory: impl Into<PathBuf>) -> &mut Self {
        self.directory = Some(directory.into());
        self
    }

    /// How many bytes of entries the directory may hold
    /// ([`Config::cache_size_limit`](crate::Config::cache_size_limit)).
    pub fn with_files_total_size_soft_limit(&mut self, bytes: u64) -> &mut Self {
        self.size_limit = Some(bytes);
        self
    }

    /// The directory, if one was set.
    pub fn directory(&self) -> Option<&PathBuf> {
        self.directory.as_ref()
    }
}

/// The error of [`Cache::new`] and [`Cache::from_file`] when no directory
/// was configured and there is no home directory to put the default one
/// in (neither `XDG_CACHE_HOME` nor `HOME` is set to an absolute path).
/// Find it with `error.downcast_ref::<NoCacheDirectory>()` to run without
/// a cache in that case only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoCacheDirectory;

impl std::fmt::Display for NoCacheDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "no cache directory: neither XDG_CACHE_HOME nor HOME is set to an absolute path",
        )
    }
}

impl std::error::Error for NoCacheDirectory {}

/// A code cache: where compiled modules are kept for the next time the same
/// module is compiled with the same settings. Give it to an engine with
/// [`Config::cache`](crate::Config::cache), as in Wasmtime (where the
/// cache is off unless asked for, as here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cache {
    directory: PathBuf,
    size_limit: Option<u64>,
}

impl Cache {
    /// The cache `config` describes; an error for a relative directory, or
    /// ([`NoCacheDirectory`]) when none was given and there is no home
    /// directory to put the default one in.
    pub fn new(config: CacheConfig) -> anyhow::Result<Cache> {
        let directory = match config.directory {
            Some(dir) if dir.is_absolute() => dir,
            Some(dir) => anyhow::bail!(
                "the cache directory must be an absolute path, not `{}`",
                dir.display()
            ),
            None => default_directory().ok_or(NoCacheDirectory)?,
        };
        Ok(Cache {
            directory,
            size_limit: config.size_limit,
        })
    }

    /// The cache a configuration file describes, in Wasmtime's format: a
    /// TOML `[cache]` table with `directory` and
    /// `files-total-size-soft-limit` (a string of a number of bytes, with
    /// a unit or not: `K`, `M`, `G`, `T`, `P` for powers of 1000, `Ki`,
    /// `Mi`, `Gi`, `Ti`, `Pi` for powers of 1024). Wasmtime's other
    /// settings (compression levels, worker and cleanup tuning) are
    /// accepted, their values unchecked, and have no effect here; any other
    /// key, a key set twice or a second table is an error. Without a path,
    /// `$XDG_CONFIG_HOME/wasm-jit/config.toml` (or
    /// `~/.config/wasm-jit/config.toml`), or the defaults when it does not
    /// exist.
    pub fn from_file(path: Option<&Path>) -> anyhow::Result<Cache> {
        let path = match path {
            Some(path) => path.to_path_buf(),
            None => match default_config_file() {
                Some(path) if path.exists() => path,
                _ => return Cache::new(CacheConfig::new()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            anyhow::anyhow!("cannot read cache configuration `{}`: {e}", path.display())
        })?;
        let config = parse_config(&text).map_err(|e| {
            anyhow::anyhow!("invalid cache configuration `{}`: {e}", path.display())
        })?;
        Cache::new(config)
    }

    /// The directory entries are kept in.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The size limit, if one was set (otherwise
    /// [`Config::cache`](crate::Config::cache) uses the default).
    pub(crate) fn size_limit(&self) -> Option<u64> {
        self.size_limit
    }
}

/// `$XDG_CACHE_HOME/wasm-jit`, or `~/.cache/wasm-jit`.
fn default_directory() -> Option<PathBuf> {
    xdg_dir("XDG_CACHE_HOME", ".cache")
}

fn default_config_file() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("config.toml"))
}

/// `$VAR/wasm-jit`, or `~/FALLBACK/wasm-jit` (empty or relative values
/// ignored, as the XDG rules say).
fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    let base = std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|h| h.is_absolute())
                .map(|h| h.join(fallback))
        })?;
    Some(base.join("wasm-jit"))
}

/// Wasmtime's cache settings that tune its own cache's workings, which
/// this one does not have.
const IGNORED_KEYS: &[&str] = &[
    "worker-event-queue-size",
    "baseline-compression-level",
    "optimized-compression-level",
    "optimized-compression-usage-counter-threshold",
    "cleanup-interval",
    "optimizing-compression-task-timeout",
    "allowed-clock-drift-for-files-from-future",
    "file-count-soft-limit",
    "files-total-size-limit-percent-if-deleting",
    "file-count-limit-percent-if-deleting",
];

/// Reads the `[cache]` table of a cache configuration file: the subset of
/// TOML it uses (a table header, `key = value` lines of strings and
/// integers, `#` comments).
fn parse_config(text: &str) -> Result<CacheConfig, String> {
    let mut config = CacheConfig::new();
    let mut in_cache = false;
    let mut seen_cache = false;
    let mut keys = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}", n + 1);
        let line = strip_comment(line).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(table) = line.strip_prefix('[') {
            let name = table
                .strip_suffix(']')
                .ok_or_else(|| at(format!("`{line}` is not a table header")))?
                .trim();
            if name != "cache" {
                return Err(at(format!("unknown table `[{name}]` (expected `[cache]`)")));
            }
            if seen_cache {
                return Err(at("a second `[cache]` table".into()));
            }
            in_cache = true;
            seen_cache = true;
            continue;
        }
        if !in_cache {
            return Err(at("settings go in a `[cache]` table".into()));
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| at(format!("`{line}` is not `key = value`")))?;
        let key = key.trim();
        let key = match key.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
            Some(quoted) => quoted,
            None => key,
        };
        let value = value.trim();
        if !keys.insert(key.to_string()) {
            return Err(at(format!("`{key}` is set twice")));
        }
        match key {
            "directory" => {
                config.with_directory(string(value).map_err(&at)?);
            }
            "files-total-size-soft-limit" => {
                config.with_files_total_size_soft_limit(size(value).map_err(&at)?);
            }
            k if IGNORED_KEYS.contains(&k) => {}
            k => return Err(at(format!("unknown setting `{k}`"))),
        }
    }
    if !seen_cache {
        return Err("no `[cache]` table".into());
    }
    Ok(config)
}

/// `line` without a `#` comment outside a string (`"..."`, where `\`
/// escapes the next character, or `'...'`).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some('"'), _) if escaped => escaped = false,
            (Some('"'), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return &line[..i],
            (None, _) => {}
        }
    }
    line
}

/// A TOML basic (`"..."`, with `\\` and `\"` escapes) or literal (`'...'`)
/// string.
fn string(value: &str) -> Result<String, String> {
    if let Some(s) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return Ok(s.to_string());
    }
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .ok_or_else(|| format!("`{value}` is not a string"))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('\\' | '"')) => out.push(e),
                other => {
                    return Err(format!(
                        "unsupported escape `\\{}` in `{value}`",
                        other.map(String::from).unwrap_or_default()
                    ));
                }
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// A size: a string of a number of bytes, with a unit or not (`"512Mi"`,
/// `"1 G"`), as Wasmtime reads it.
fn size(value: &str) -> Result<u64, String> {
    let text = string(value)?;
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(digits);
    let n: u64 = num.parse().map_err(|_| format!("invalid size `{value}`"))?;
    let mult: u64 = match unit.trim() {
        "" => 1,
        "K" => 1000,
        "Ki" => 1 << 10,
        "M" => 1_000_000,
        "Mi" => 1 << 20,
        "G" => 1_000_000_000,
        "Gi" => 1 << 30,
        "T" => 1_000_000_000_000,
        "Ti" => 1 << 40,
        "P" => 1_000_000_000_000_000,
        "Pi" => 1 << 50,
        _ => return Err(format!("invalid size `{value}`: unknown unit `{unit}`")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size `{value}` is too large"))
}

#[cfg(test)]
mod config_file_tests {
    use super::*;

    #[test]
    fn reads_wasmtimes_cache_settings() {
        let c = parse_config(
            "# a comment\n[cache]\ndirectory = \"/var/cache/#x\" # where\n\
             files-total-size-soft-limit = \"3Ki\"\ncleanup-interval = \"1h\"\n",
        )
        .unwrap();
        assert_eq!(c.directory, Some(PathBuf::from("/var/cache/#x")));
        assert_eq!(c.size_limit, Some(3 << 10));
        for (text, bytes) in [
            ("\"1000\"", 1000),
            ("\" 512 Mi \"", 512 << 20),
            ("\"2K\"", 2000),
            ("'5M'", 5_000_000),
            ("\"1Gi\"", 1 << 30),
            ("\"2Ti\"", 2 << 40),
            ("\"1P\"", 1_000_000_000_000_000),
        ] {
            assert_eq!(size(text), Ok(bytes), "{text}");
        }
        assert!(size("\"1X\"").unwrap_err().contains("unknown unit `X`"));
        assert!(size("1000").unwrap_err().contains("not a string"));
        assert_eq!(
            strip_comment(r#"d = "/o'neil/#1" # c"#),
            r#"d = "/o'neil/#1" "#
        );
        assert_eq!(strip_comment(r##"d = "/a\"#b" # c"##), r##"d = "/a\"#b" "##);
        assert_eq!(strip_comment("d = '/a\\' # c"), "d = '/a\\' ");
        assert!(size("\"99999999Pi\"").unwrap_err().contains("too large"));
        assert_eq!(string(r#""a\"b\\c""#).unwrap(), r#"a"b\c"#);
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        let err = |text: &str| parse_config(text).unwrap_err();
        assert_eq!(
            err("[cache]\nenabled = true\n"),
            "line 2: unknown setting `enabled`"
        );
        assert_eq!(
            err("directory = \"/x\"\n"),
            "line 1: settings go in a `[cache]` table"
        );
        assert!(err("[other]\n").contains("unknown table `[other]`"));
        assert_eq!(err(""), "no `[cache]` table");
        assert!(err("[cache]\ndirectory = 3\n").contains("not a string"));
        assert!(err("[cache]\ndirectory\n").contains("not `key = value`"));
        assert_eq!(
            err("[cache]\ndirectory = '/a'\n\"directory\" = '/b'\n"),
            "line 3: `directory` is set twice"
        );
        assert_eq!(
            err("[cache]\n[cache]\n"),
            "line 2: a second `[cache]` table"
        );
    }
}
