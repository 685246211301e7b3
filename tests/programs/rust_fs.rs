// Rust's std::fs under WASI, as Rust programs use it (File::create,
// OpenOptions, append, truncate, seek, metadata, read_dir, rename, remove,
// errors by kind). Run with a preopened, empty, writable directory as
// argv[1]; prints one line per step.
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};

fn main() {
    let dir = std::env::args().nth(1).expect("a directory");
    let p = |name: &str| format!("{dir}/{name}");

    let mut f = File::create(p("a.txt")).unwrap();
    f.write_all(b"hello\n").unwrap();
    drop(f);
    println!("create+write: {:?}", fs::read_to_string(p("a.txt")).unwrap());

    let mut f = OpenOptions::new().append(true).open(p("a.txt")).unwrap();
    f.write_all(b"world\n").unwrap();
    drop(f);
    println!("append: {:?}", fs::read_to_string(p("a.txt")).unwrap());

    let mut f = OpenOptions::new().read(true).write(true).open(p("a.txt")).unwrap();
    f.seek(SeekFrom::Start(6)).unwrap();
    f.write_all(b"WORLD").unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    println!("seek+overwrite: {s:?}");
    f.set_len(5).unwrap();
    drop(f);
    println!("set_len: {:?}", fs::read_to_string(p("a.txt")).unwrap());

    let md = fs::metadata(p("a.txt")).unwrap();
    println!("metadata: file={} dir={} len={}", md.is_file(), md.is_dir(), md.len());

    let e = OpenOptions::new().write(true).create_new(true).open(p("a.txt")).unwrap_err();
    println!("create_new existing: {:?}", e.kind());
    let e = File::open(p("missing.txt")).unwrap_err();
    println!("open missing: {:?}", e.kind());

    fs::create_dir_all(p("d/e/f")).unwrap();
    fs::write(p("d/one"), "1").unwrap();
    fs::write(p("d/two"), "22").unwrap();
    let mut names: Vec<String> = fs::read_dir(p("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    println!("read_dir: {names:?}");

    fs::rename(p("d/two"), p("d/e/two")).unwrap();
    println!("rename: {:?}", fs::read_to_string(p("d/e/two")).unwrap());
    let e = fs::remove_dir(p("d/e")).unwrap_err();
    println!("remove non-empty dir: {}", e.kind() != ErrorKind::NotFound);
    fs::remove_file(p("d/e/two")).unwrap();
    fs::remove_dir(p("d/e/f")).unwrap();
    fs::remove_dir(p("d/e")).unwrap();
    fs::remove_dir_all(p("d")).unwrap();
    println!("removed: {}", !std::path::Path::new(&p("d")).exists());

    println!("outside the sandbox refused: {}", File::open("/etc/passwd").is_err());
    println!("done");
}
