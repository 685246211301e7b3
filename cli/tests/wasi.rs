//! WASI programs from `tests/programs` (C compiled with clang for
//! wasm32-wasi) run under `wasm-jit run`: stdout, stderr, exit status and
//! files are checked, and compared with the same C compiled natively with
//! gcc where that applies.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn program(name: &str) -> String {
    root()
        .join("tests/programs")
        .join(format!("{name}.wasm"))
        .to_string_lossy()
        .into_owned()
}

fn tempdir() -> support::TempDir {
    support::TempDir::new("wasm-jit-wasi-test")
}

/// Runs a command with `stdin` as input.
fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the command starts");
    // Feed stdin from another thread: a large input would otherwise fill
    // the pipe while the child waits for us to read its output.
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn wasm_jit(args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = support::wasm_jit_command();
    cmd.args(args).env_clear();
    run(cmd, stdin)
}

/// The program compiled natively with gcc (in a directory removed with the
/// guard), or `None` where gcc is absent (the checks against literal
/// expectations still run then).
fn native(name: &str) -> Option<(support::TempDir, PathBuf)> {
    let dir = tempdir();
    let out = dir.join(name);
    let src = root().join("tests/programs").join(format!("{name}.c"));
    let ok = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok.then_some((dir, out))
}

fn native_run(name: &str, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Option<Output> {
    let (_dir, program) = native(name)?;
    let mut cmd = Command::new(program);
    cmd.args(args).env_clear().envs(env.iter().copied());
    Some(run(cmd, stdin))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `program` lazily (also with the quick first tier, replaced in the
/// background) and eagerly: each run's settings and output.
fn run_in_each_mode(program: &str) -> Vec<(&'static [&'static str], Output)> {
    let modes: [&'static [&'static str]; 3] = [
        &["-C", "lazy=y"],
        &["-C", "lazy=y", "-C", "quick-tier=y"],
        &["-C", "lazy=n"],
    ];
    modes
        .into_iter()
        .map(|extra| {
            let mut args = vec!["run"];
            args.extend_from_slice(extra);
            args.push(program);
            (extra, wasm_jit(&args, b""))
        })
        .collect()
}

/// A program shaped like C++ with exceptions (`tests/programs/exceptions.wat`):
/// thrown two frames down, a destructor on the way out, caught in `main`.
#[test]
fn exceptions_unwind_through_frames_and_cleanups() {
    let program = root().join("tests/programs/exceptions.wat");
    let expected = "ok 5\n~Guard\ncaught runtime_error 500\n~Guard\ncaught logic_error 7 8\nok 9\n";
    for (mode, o) in run_in_each_mode(program.to_str().unwrap()) {
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert_eq!(text(&o.stdout), expected, "{mode:?}");
    }
}

/// C's setjmp and longjmp as Debian's clang lowers them to legacy Wasm
/// exceptions (`tests/programs/setjmp_longjmp.c`: a handler stack, errors
/// passed on, a longjmp out of 1000 frames and past a function's own
/// setjmp, 200,000 errors in a loop): the same output as the program built
/// natively.
#[test]
fn setjmp_and_longjmp_as_clang_lowers_them() {
    let native = native_run("setjmp_longjmp", &[], &[], b"");
    for (mode, o) in run_in_each_mode(&program("setjmp_longjmp")) {
        assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(
            out.starts_with("filtered(5): error 0 result 200\n"),
            "{out}"
        );
        assert!(
            out.ends_with(
                "recurse: error 42 at depth 0\nlongjmp(far, 0) returned 1\n\
                 two sites: 2105 1206\nsum 91386254, handlers left none\n\
                 uncaught error 5\n"
            ),
            "{out}"
        );
        if let Some(n) = &native {
            assert_eq!(text(&n.stdout), out, "{mode:?}");
        }
    }
}

#[test]
fn hello_world() {
    let o = wasm_jit(&["run", &program("hello")], b"");
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "Hello, world!\n");
    assert!(o.stderr.is_empty());
    if let Some(n) = native_run("hello", &[], &[], b"") {
        assert_eq!(o.stdout, n.stdout);
    }
}

#[test]
fn arguments_and_only_the_environment_given() {
    let o = support::wasm_jit_command()
        .args([
            "run",
            "--env",
            "GREETING=hi there",
            "--env",
            "INHERITED",
            "--env",
            "ABSENT",
        ])
        .arg(program("args_env"))
        .args(["one", "-two", "three four"])
        .env_clear()
        .env("INHERITED", "from host")
        .env("SECRET", "must not leak")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    let expected = "argc=4\nargv[1]=one\nargv[2]=-two\nargv[3]=three four\nenvc=2\nenv GREETING=hi there\nenv INHERITED=from host\n";
    assert_eq!(text(&o.stdout), expected);
    if let Some(n) = native_run(
        "args_env",
        &["one", "-two", "three four"],
        &[("GREETING", "hi there"), ("INHERITED", "from host")],
        b"",
    ) {
        assert_eq!(text(&o.stdout), text(&n.stdout));
    }
}

#[test]
fn cat_copies_stdin() {
    let input: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let o = wasm_jit(&["run", &program("cat")], &input);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    assert_eq!(o.stdout, input);
    if let Some(n) = native_run("cat", &[], &[], &input) {
        assert_eq!(o.stdout, n.stdout);
    }
}

#[test]
fn files_in_a_preopened_directory() {
    let dir = tempdir();
    let guest_dir = format!("{}::/sandbox", dir.display());
    let o = wasm_jit(
        &["run", "--dir", &guest_dir, &program("files"), "/sandbox"],
        b"",
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let expected =
        "size=900 regular=1\nat 42: line 042\nfirst: LINE 000\nsub: . .. moved.txt\nok\n";
    assert_eq!(text(&o.stdout), expected);
    // What the program left behind: only kept.txt.
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["kept.txt"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("kept.txt")).unwrap(),
        "kept\n"
    );

    let native_dir = tempdir();
    if let Some(n) = native_run("files", &[native_dir.to_str().unwrap()], &[], b"") {
        assert_eq!(text(&o.stdout), text(&n.stdout));
    }
}

#[test]
fn clocks_and_sleep() {
    let o = wasm_jit(&["run", &program("clock")], b"");
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 5, "{out}");
    for line in out.lines() {
        assert!(line.ends_with(": 1"), "{line}");
    }
}

#[test]
fn random_bytes_differ_between_runs() {
    let a = wasm_jit(&["run", &program("random")], b"");
    let b = wasm_jit(&["run", &program("random")], b"");
    assert_eq!(a.status.code(), Some(0));
    let (a, b) = (text(&a.stdout), text(&b.stdout));
    assert!(a.ends_with("all zero: 0\n"), "{a}");
    assert_eq!(a.lines().next().unwrap().len(), 64);
    assert_ne!(a, b);
}

#[test]
fn exit_status_is_the_guests() {
    for code in ["0", "7", "255"] {
        let o = wasm_jit(&["run", &program("exit"), code], b"");
        assert_eq!(o.status.code(), Some(code.parse().unwrap()));
        assert_eq!(text(&o.stdout), format!("exiting with {code}\n"));
        assert_eq!(text(&o.stderr), "stderr before exit\n");
        if let Some(n) = native_run("exit", &[code], &[], b"") {
            assert_eq!(o.status.code(), n.status.code());
            assert_eq!(o.stdout, n.stdout);
            assert_eq!(o.stderr, n.stderr);
        }
    }
}

/// Everything under `dir`: path → (contents or link target, modification time).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let md = std::fs::symlink_metadata(&p).unwrap();
        let content = if md.is_symlink() {
            std::fs::read_link(&p)
                .unwrap()
                .to_string_lossy()
                .as_bytes()
                .to_vec()
        } else if md.is_dir() {
            out.extend(snapshot(&p));
            Vec::new()
        } else {
            std::fs::read(&p).unwrap()
        };
        out.insert(p, (content, md.modified().unwrap()));
    }
    out
}

#[test]
fn escape_attempts_fail_and_touch_nothing_outside() {
    let outer = tempdir();
    let sandbox = outer.join("sandbox");
    std::fs::create_dir(&sandbox).unwrap();
    std::fs::write(outer.join("outside.txt"), "secret outside\n").unwrap();
    std::fs::write(sandbox.join("inside.txt"), "inside\n").unwrap();
    std::os::unix::fs::symlink("../outside.txt", sandbox.join("link-out")).unwrap();
    std::os::unix::fs::symlink(outer.join("outside.txt"), sandbox.join("abs-link")).unwrap();
    std::fs::create_dir(sandbox.join("sub")).unwrap();
    // Everything outside the sandbox, before.
    let before: BTreeMap<_, _> = snapshot(&outer)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(&sandbox))
        .collect();

    let dir = format!("{}::/sandbox", sandbox.display());
    let o = wasm_jit(&["run", "--dir", &dir, &program("escape"), "/sandbox"], b"");
    let out = text(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {out}\nstderr: {}",
        text(&o.stderr)
    );
    assert!(out.ends_with("escapes: 0\n"), "{out}");
    assert_eq!(out.matches(": refused (errno ").count(), 15, "{out}");
    assert!(!out.contains("secret"), "{out}");

    let after: BTreeMap<_, _> = snapshot(&outer)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(&sandbox))
        .collect();
    assert_eq!(before, after, "something outside the sandbox changed");
    assert_eq!(
        std::fs::read_to_string(sandbox.join("inside.txt")).unwrap(),
        "inside\n"
    );
}

#[test]
fn a_trap_prints_a_backtrace_with_names_and_offsets() {
    let o = wasm_jit(&["run", &program("trap"), "0"], b"");
    assert_eq!(o.status.code(), Some(134));
    let err = text(&o.stderr);
    assert!(err.starts_with("Error: failed to run `"), "{err}");
    assert!(err.contains("wasm backtrace:"), "{err}");
    assert!(err.contains(" - trap.wasm!divide\n"), "{err}");
    assert!(err.contains(" - trap.wasm!main\n"), "{err}");
    assert!(err.contains("wasm trap: integer divide by zero"), "{err}");
    let o = wasm_jit(&["run", &program("trap"), "4"], b"");
    assert_eq!(text(&o.stdout), "25\n");
}

#[test]
fn timeout_stops_a_runaway_guest() {
    let dir = tempdir();
    let path = dir.join("spin.wat");
    std::fs::write(&path, r#"(module (func (export "_start") (loop br 0)))"#).unwrap();
    let start = std::time::Instant::now();
    let o = wasm_jit(&["run", "--timeout", "300ms", path.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(134), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("the guest ran longer than the timeout of 300ms"),
        "{err}"
    );
    assert!(err.contains("wasm trap: interrupted"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn max_memory_caps_memory_grow() {
    let dir = tempdir();
    let path = dir.join("grow.wat");
    std::fs::write(
        &path,
        r#"(module (memory 1) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#,
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let o = wasm_jit(
        &["run", "--max-memory", "4MiB", "--invoke", "grow", p, "63"],
        b"",
    );
    assert_eq!(text(&o.stdout), "1\n", "{}", text(&o.stderr));
    let o = wasm_jit(
        &["run", "--max-memory", "4MiB", "--invoke", "grow", p, "64"],
        b"",
    );
    assert_eq!(text(&o.stdout), "-1\n", "{}", text(&o.stderr));
}

#[test]
fn preload_makes_a_module_importable() {
    let dir = tempdir();
    let lib = dir.join("lib.wat");
    std::fs::write(&lib, r#"(module (func (export "twice") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))"#).unwrap();
    let main = dir.join("main.wat");
    std::fs::write(
        &main,
        r#"(module (import "mylib" "twice" (func $t (param i32) (result i32)))
                   (func (export "run") (param i32) (result i32) local.get 0 call $t))"#,
    )
    .unwrap();
    let preload = format!("mylib={}", lib.display());
    let o = wasm_jit(
        &[
            "run",
            "--preload",
            &preload,
            "--invoke",
            "run",
            main.to_str().unwrap(),
            "21",
        ],
        b"",
    );
    assert_eq!(text(&o.stdout), "42\n", "{}", text(&o.stderr));
    let o = wasm_jit(
        &["run", "--invoke", "run", main.to_str().unwrap(), "21"],
        b"",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("unknown import: `mylib::twice` has not been defined"));
}

#[test]
fn host_side_errors_are_one_clear_line() {
    let o = wasm_jit(
        &["run", "--dir", "/definitely/not/here", &program("hello")],
        b"",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("cannot open directory `/definitely/not/here`"),
        "{}",
        text(&o.stderr)
    );

    let dir = tempdir();
    let notwasm = dir.join("notes.txt");
    std::fs::write(&notwasm, "just some text\n").unwrap();
    let o = wasm_jit(&["run", notwasm.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("not a Wasm binary"),
        "{}",
        text(&o.stderr)
    );
}

/// Deterministic text that compresses like real data would.
fn sample_text(len: usize) -> Vec<u8> {
    let words = [
        "wasm",
        "engine",
        "cranelift",
        "memory",
        "table",
        "trap",
        "guard",
        "page",
        "stack",
        "module",
        "instance",
        "store",
        "linker",
        "global",
        "function",
        "\n",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(words[(x % words.len() as u64) as usize].as_bytes());
        out.push(if x & 0x30 == 0 { b',' } else { b' ' });
    }
    out.truncate(len);
    out
}

/// Program `name` as `scripts/third-party.sh` fetches and builds it to
/// wasm32-wasi and natively (cached under target/third-party): the paths of
/// the Wasm module and of the native program. Fails, with what to install,
/// when the script cannot fetch or build it.
fn third_party(name: &str) -> (PathBuf, PathBuf) {
    let script = root().join("scripts/third-party.sh");
    let o = Command::new("bash")
        .arg(&script)
        .arg(name)
        .output()
        .expect("bash runs scripts/third-party.sh");
    assert!(
        o.status.success(),
        "scripts/third-party.sh {name} failed:\n{}",
        text(&o.stderr)
    );
    let dir = root().join("target/third-party").join(name);
    (dir.join(format!("{name}.wasm")), dir.join(name))
}

/// bzip2 1.0.8 from its crates.io package.
fn third_party_bzip2() -> (PathBuf, PathBuf) {
    third_party("bzip2")
}

/// meshoptimizer 0.18 from its Debian source package, whose vertex codec
/// and filters have hand-written Wasm SIMD paths (built with `-msimd128`),
/// run by our harness (`tests/programs/meshoptimizer`): its digests of
/// every round trip are the native build's, lazily and eagerly compiled.
#[test]
fn meshoptimizer_simd_matches_the_native_build() {
    let (wasm, native) = third_party("meshoptimizer");
    let wasm = wasm.to_str().unwrap();
    let n = run(
        {
            let mut c = Command::new(&native);
            c.arg("10");
            c
        },
        b"",
    );
    assert_eq!(n.status.code(), Some(0), "{}", text(&n.stderr));
    assert!(text(&n.stdout).ends_with("ok\n"), "{}", text(&n.stdout));
    // Lazily (also with the quick first tier, replaced in the background)
    // and eagerly.
    for extra in [
        &["-C", "lazy=y"][..],
        &["-C", "lazy=y", "-C", "quick-tier=y"][..],
        &["-C", "lazy=n"][..],
    ] {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[wasm, "10"]);
        let o = wasm_jit(&args, b"");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert_eq!(text(&o.stdout), text(&n.stdout), "{args:?}");
    }
}

#[test]
fn bzip2_matches_the_native_build() {
    let (bzip2, native) = third_party_bzip2();
    let bzip2 = bzip2.to_str().unwrap();
    let input = sample_text(600_000);

    // Streams: compress stdin to stdout, then back.
    let packed = wasm_jit(&["run", bzip2, "-c", "-9"], &input);
    assert_eq!(packed.status.code(), Some(0), "{}", text(&packed.stderr));
    assert!(packed.stdout.starts_with(b"BZh9"));
    assert!(packed.stdout.len() < input.len() / 3);
    let unpacked = wasm_jit(&["run", bzip2, "-d", "-c"], &packed.stdout);
    assert_eq!(
        unpacked.status.code(),
        Some(0),
        "{}",
        text(&unpacked.stderr)
    );
    assert!(unpacked.stdout == input, "round trip changed the data");

    // Files in a preopened directory: `bzip2 -k` writes input.txt.bz2 beside it.
    let dir = tempdir();
    std::fs::write(dir.join("input.txt"), &input).unwrap();
    let guest = format!("{}::/data", dir.display());
    let o = wasm_jit(
        &["run", "--dir", &guest, bzip2, "-k", "-9", "/data/input.txt"],
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let file_packed = std::fs::read(dir.join("input.txt.bz2")).unwrap();
    assert_eq!(file_packed, packed.stdout);

    // A missing input is reported by bzip2 itself, with its exit status 1.
    let o = wasm_jit(
        &["run", "--dir", &guest, bzip2, "-d", "/data/missing.bz2"],
        b"",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("Can't open input file /data/missing.bz2"),
        "{}",
        text(&o.stderr)
    );

    let mut cmd = Command::new(&native);
    cmd.args(["-c", "-9"]);
    let n = run(cmd, &input);
    assert_eq!(n.status.code(), Some(0));
    assert!(
        n.stdout == packed.stdout,
        "compressed output differs from the native build"
    );
    let mut cmd = Command::new(&native);
    cmd.args(["-d", "-c"]);
    let n = run(cmd, &packed.stdout);
    assert!(n.stdout == input);
}

/// WASI preview1 as the specification and Wasmtime define it, call by call
/// (`tests/programs/wasi_semantics.c`): rights per descriptor and
/// `fd_fdstat_set_rights`, `path_open` with any rights and flags
/// (creating with no rights, truncating without FD_WRITE), fdflags kept and
/// reported and changed by `fd_fdstat_set_flags`, append mode with `pwrite`, trailing slashes, symlinks and
/// lookupflags, `..` and absolute paths, `fd_renumber`, sockets.
#[test]
fn wasi_semantics_call_by_call() {
    let dir = tempdir();
    let guest = format!("{}::/scratch", dir.display());
    let o = wasm_jit(&["run", "--dir", &guest, &program("wasi_semantics")], b"");
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", text(&o.stderr));
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.ends_with("\n0 failed\n"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        85,
        "{out}"
    );
    // What it left behind: the files it made, and nothing else.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["file", "flags", "flink", "link", "sub"]);
    assert_eq!(std::fs::read(dir.join("flags")).unwrap(), b"XYZd");
}

/// Guest pointers at the top of a 4 GiB memory never wrap to address 0, and
/// huge iovec or subscription counts are refused without the host
/// allocating for them (`tests/programs/wasi_wrap.wat` says which check
/// failed).
#[test]
fn wasi_pointers_do_not_wrap_and_counts_are_capped() {
    let o = wasm_jit(
        &[
            "run",
            "--env",
            "A=1",
            "--env",
            "B=2",
            "--invoke",
            "run",
            &root()
                .join("tests/programs/wasi_wrap.wat")
                .to_string_lossy(),
        ],
        b"",
    );
    assert_eq!(text(&o.stdout), "0\n", "{}", text(&o.stderr));
}

/// `--timeout` covers time the guest spends waiting in WASI calls too: a
/// 10-second `poll_oneoff` sleep under a 300 ms timeout stops at the
/// timeout, as an interrupt (status 134), not after ten seconds with
/// success.
#[test]
fn timeout_interrupts_a_guest_sleeping_in_poll_oneoff() {
    let dir = tempdir();
    let path = dir.join("sleep.wat");
    std::fs::write(
        &path,
        r#"(module
             (import "wasi_snapshot_preview1" "poll_oneoff"
               (func $poll (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")
               ;; One relative clock subscription: 10 s on the monotonic clock.
               (i64.store (i32.const 0) (i64.const 1))          ;; userdata
               (i32.store8 (i32.const 8) (i32.const 0))         ;; eventtype clock
               (i32.store (i32.const 16) (i32.const 1))         ;; monotonic
               (i64.store (i32.const 24) (i64.const 10000000000))
               (drop (call $poll (i32.const 0) (i32.const 128) (i32.const 1) (i32.const 256)))))"#,
    )
    .unwrap();
    let o = wasm_jit(&["run", "--timeout", "300ms", path.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(134), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("ran longer than the timeout"),
        "{}",
        text(&o.stderr)
    );
}

/// Rust's `std::fs` as Rust programs use it (`tests/programs/rust_fs.rs`,
/// built with Debian's rustc 1.63 for wasm32-wasi): create, append,
/// seek and overwrite, truncate, metadata, errors by kind, directories,
/// rename and removal, all inside the preopen.
#[test]
fn rust_std_fs_works() {
    let dir = tempdir();
    let guest = format!("{}::/data", dir.display());
    let o = wasm_jit(&["run", "--dir", &guest, &program("rust_fs"), "/data"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "create+write: \"hello\\n\"\n\
         append: \"hello\\nworld\\n\"\n\
         seek+overwrite: \"hello\\nWORLD\\n\"\n\
         set_len: \"hello\"\n\
         metadata: file=true dir=false len=5\n\
         create_new existing: AlreadyExists\n\
         open missing: NotFound\n\
         read_dir: [\"e\", \"one\", \"two\"]\n\
         rename: \"22\"\n\
         remove non-empty dir: true\n\
         removed: true\n\
         outside the sandbox refused: true\n\
         done\n"
    );
    assert_eq!(std::fs::read_to_string(dir.join("a.txt")).unwrap(), "hello");
}

/// What a standard stream is, as in Wasmtime: a character device only when
/// it is a terminal (wasi-libc's `isatty` is true for any character
/// device), so `/dev/null` is none; and never a file, even when redirected
/// from one (no size, and `pread` is ESPIPE), so that programs read it as a
/// stream rather than map or `pread` it.
#[test]
fn standard_streams_are_terminals_or_unknown() {
    let dir = tempdir();
    let wat = dir.join("ft.wat");
    std::fs::write(
        &wat,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $get (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_filestat_get" (func $stat (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_pread" (func $pread (param i32 i32 i32 i64 i32) (result i32)))
             (memory (export "memory") 1)
             ;; fdstat's filetype, filestat's filetype and size, pread's errno
             (func (export "probe") (param i32) (result i32 i32 i64 i32)
               (if (call $get (local.get 0) (i32.const 0)) (then unreachable))
               (if (call $stat (local.get 0) (i32.const 64)) (then unreachable))
               (i32.store (i32.const 128) (i32.const 256))
               (i32.store (i32.const 132) (i32.const 16))
               (i32.load8_u (i32.const 0))
               (i32.load8_u (i32.const 80))
               (i64.load (i32.const 96))
               (call $pread (local.get 0) (i32.const 128) (i32.const 1) (i64.const 0) (i32.const 200))))"#,
    )
    .unwrap();
    let file = dir.join("input");
    std::fs::write(&file, b"some bytes").unwrap();
    for stdin in [
        std::fs::File::open("/dev/null").unwrap(),
        std::fs::File::open(&file).unwrap(),
    ] {
        let o = support::wasm_jit_command()
            .args(["run", "--invoke", "probe", wat.to_str().unwrap(), "0"])
            .stdin(stdin)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "0\n0\n0\n70\n",
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// A symbolic link to an absolute path is the host's business: reading it
/// is EPERM (as in Wasmtime) rather than the host path; a relative link
/// reads as usual.
#[test]
fn absolute_link_targets_stay_hidden() {
    let dir = tempdir();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("abs")).unwrap();
    std::os::unix::fs::symlink("some/file", dir.join("rel")).unwrap();
    let wat = dir.join("readlink.wat");
    std::fs::write(
        &wat,
        r#"(module
             (import "wasi_snapshot_preview1" "path_readlink"
               (func $readlink (param i32 i32 i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 0) "absrel")
             ;; errno of readlink of "abs" (0) or "rel" (1), and the length read
             (func (export "readlink") (param i32) (result i32 i32)
               (call $readlink (i32.const 3) (i32.mul (local.get 0) (i32.const 3)) (i32.const 3)
                 (i32.const 100) (i32.const 100) (i32.const 96))
               (i32.load (i32.const 96))))"#,
    )
    .unwrap();
    let d = format!("{}::/sandbox", dir.display());
    let w = wat.to_str().unwrap();
    let o = wasm_jit(&["run", "--dir", &d, "--invoke", "readlink", w, "0"], b"");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "63\n0\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = wasm_jit(&["run", "--dir", &d, "--invoke", "readlink", w, "1"], b"");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "0\n9\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A program whose memory is shared (as wasi-threads programs' is) gets the
/// same WASI: its calls copy in and out of the shared memory.
#[test]
fn wasi_calls_work_on_a_shared_memory() {
    let dir = tempdir();
    let wat = dir.join("shared.wat");
    std::fs::write(
        &wat,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
             (memory (export "memory") 1 2 shared)
             (data (i32.const 100) "shared says: ")
             (func (export "_start")
               ;; Read stdin at 113, then write "shared says: " + what came.
               (i32.store (i32.const 0) (i32.const 113))
               (i32.store (i32.const 4) (i32.const 64))
               (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
               (i32.store (i32.const 16) (i32.const 100))
               (i32.store (i32.const 20) (i32.add (i32.const 13) (i32.load (i32.const 8))))
               (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
               ;; 32 random bytes at 200: nonzero somewhere, or exit 1.
               (drop (call $random (i32.const 200) (i32.const 32)))
               (if (i64.eqz (i64.or (i64.or (i64.load (i32.const 200)) (i64.load (i32.const 208)))
                                    (i64.or (i64.load (i32.const 216)) (i64.load (i32.const 224)))))
                 (then unreachable))))"#,
    )
    .unwrap();
    let o = wasm_jit(&["run", wat.to_str().unwrap()], b"hello\n");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "shared says: hello\n");
}

/// wasi-threads (`-S threads=y`): threads with stores of their own share
/// the program's memory and WASI context; one that traps or exits ends
/// the process.
#[test]
fn wasi_threads_share_memory_and_end_the_process_together() {
    let program = root().join("tests/programs/wasi_threads.wat");
    let p = program.to_str().unwrap();
    let o = wasm_jit(&["run", "-S", "threads=y", p], b"");
    assert!(o.status.success(), "{}", text(&o.stderr));
    // 4 threads x 100000 increments; thread ids 1 to 4.
    assert_eq!(text(&o.stdout), "400000\n10\n");

    // With stubs for unknown imports too (thread-spawn is not one): the
    // threads link with them (only the threads call this one).
    let dir = tempdir();
    let source = std::fs::read_to_string(&program).unwrap();
    let stubbed = dir.join("threads_stub.wat");
    let with_stub = source
        .replace(
            "(param $arg i32)\n    (local $i i32)",
            "(param $arg i32)\n    (local $i i32)\n    (drop (call $missing))",
        )
        .replace(
            "(import \"wasi\" \"thread-spawn\"",
            "(import \"env\" \"missing\" (func $missing (result i32)))\n  (import \"wasi\" \"thread-spawn\"",
        );
    assert_eq!(with_stub.matches("$missing").count(), 2);
    std::fs::write(&stubbed, with_stub).unwrap();
    let s = stubbed.to_str().unwrap();
    let o = wasm_jit(
        &[
            "run",
            "-S",
            "threads=y",
            "-W",
            "unknown-imports-default=y",
            s,
        ],
        b"",
    );
    assert_eq!(text(&o.stdout), "400000\n10\n", "{}", text(&o.stderr));
    // A preloaded instance belongs to the first store only.
    let o = wasm_jit(
        &["run", "-S", "threads=y", "--preload", &format!("m={p}"), p],
        b"",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("--preload cannot be combined"),
        "{}",
        text(&o.stderr)
    );

    // Without the option, the module cannot be linked, and says why.
    let o = wasm_jit(&["run", p], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("-S threads=y"),
        "{}",
        text(&o.stderr)
    );

    // A thread that traps, or exits, ends every thread.
    for (arg, status, message) in [(99, 134, "unreachable"), (98, 7, "")] {
        let variant = dir.join(format!("threads_{arg}.wat"));
        let changed = source.replace("(i32.load (i32.const 12))", &format!("(i32.const {arg})"));
        assert_ne!(changed, source);
        std::fs::write(&variant, changed).unwrap();
        let o = wasm_jit(&["run", "-S", "threads=y", variant.to_str().unwrap()], b"");
        assert_eq!(o.status.code(), Some(status), "{}", text(&o.stderr));
        if message.is_empty() {
            assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
        } else {
            assert!(text(&o.stderr).contains(message), "{}", text(&o.stderr));
        }
        assert!(o.stdout.is_empty());
    }
}

/// New descriptors are numbered as Wasmtime numbers them, not POSIX's
/// lowest-first (`tests/programs/fd_numbers.wat` says which check failed):
/// a program that closed its stdout by mistake keeps its output out of the
/// next file it opens, as under Wasmtime.
#[test]
fn descriptors_are_numbered_as_wasmtime_numbers_them() {
    let dir = tempdir();
    let program = root().join("tests/programs/fd_numbers.wat");
    let o = wasm_jit(
        &[
            "run",
            "--dir",
            dir.to_str().unwrap(),
            "--invoke",
            "check",
            program.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(text(&o.stdout), "0\n", "{}", text(&o.stderr));
    assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"");
}

/// A program importing `wasi_unstable` (snapshot 0) runs, with snapshot 0's
/// layouts (`tests/programs/wasi_unstable.wat` says which); `-S preview0=n`
/// leaves the module undefined.
#[test]
fn wasi_unstable_programs_run() {
    let dir = tempdir();
    let program = root().join("tests/programs/wasi_unstable.wat");
    let program = program.to_str().unwrap();
    let preopen = dir.to_str().unwrap();
    let o = wasm_jit(
        &["run", "--dir", preopen, "--invoke", "check", program],
        b"",
    );
    assert_eq!(text(&o.stdout), "0\n", "{}", text(&o.stderr));
    assert_eq!(std::fs::read(dir.join("f.txt")).unwrap(), b"0123456789");
    let o = wasm_jit(
        &[
            "run",
            "-S",
            "preview0=n",
            "--dir",
            preopen,
            "--invoke",
            "check",
            program,
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("`wasi_unstable::path_open` has not been defined"),
        "{}",
        text(&o.stderr)
    );
}
