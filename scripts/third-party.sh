#!/usr/bin/env bash
# Fetches the real programs that tests and benchmarks run (bzip2, zlib,
# SQLite, meshoptimizer) as packages pinned to a version, and builds them to
# wasm32-wasi and natively into target/third-party/. Nothing of theirs is in
# this repository: only our harnesses (benches/programs/*/, tests/programs/
# bzip2/wasi_shim.c, tests/programs/meshoptimizer/).
#
#   scripts/third-party.sh [PROGRAM...]     PROGRAM: bzip2 zlib sqlite meshoptimizer (default: all)
#
# The sources are the C sources that the crates.io packages below ship
# (fetched with cargo, so the registry's checksums apply), and the sources of
# the Debian source packages below (fetched with `apt-get source`, so the
# archive's signed checksums apply; as root this adds a `Types: deb-src`
# entry for the configured Debian suites when there is none). The compilers
# are Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32, and gcc/g++.
# Missing Debian packages are installed when this runs as root with apt-get,
# and named otherwise. A program is rebuilt only when its pinned version,
# this script or its harness changes. Outputs, per program NAME:
#
#   target/third-party/NAME/bench.wasm, bench       the benchmark (wasm, native)
#   target/third-party/bzip2/bzip2.wasm, bzip2      the bzip2 command (wasm, native)
#   target/third-party/meshoptimizer/meshoptimizer.wasm, meshoptimizer
#                                                   its codec harness (= bench), the
#                                                   wasm one built with -msimd128
#   target/third-party/NAME/VERSION                 "PROGRAM VERSION (crates.io CRATE VERSION)"
#                                                   or "... (Debian source package NAME VERSION)"
set -euo pipefail

# The pinned packages: crate, version, and the program it carries.
BZIP2_CRATE=bzip2-sys BZIP2_VERSION=0.1.13+1.0.8 BZIP2_IS="bzip2 1.0.8"
ZLIB_CRATE=libz-sys ZLIB_VERSION=1.1.22 ZLIB_IS="zlib 1.3.1"
SQLITE_CRATE=libsqlite3-sys SQLITE_VERSION=0.35.0 SQLITE_IS="SQLite 3.50.2"
# Debian source packages (bookworm): package, version, and the program.
# meshoptimizer's vertex codec and vertex filters have Wasm SIMD128 paths
# (`#if defined(__wasm_simd128__)`, wasm_simd128.h).
MESHOPT_DEB=meshoptimizer MESHOPT_VERSION=0.18+dfsg-2 MESHOPT_IS="meshoptimizer 0.18"

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/target/third-party"
mkdir -p "$out"

die() {
    echo "scripts/third-party.sh: $*" >&2
    exit 1
}

programs=("$@")
((${#programs[@]})) || programs=(bzip2 zlib sqlite meshoptimizer)
wants() { [[ " ${programs[*]} " == *" $1 "* ]]; }

# --- tools -----------------------------------------------------------------
need_debs=()
have_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
tool_debs=(clang lld wasi-libc libclang-rt-dev-wasm32 gcc)
# A Debian source package: g++ for the native build, dpkg-dev to unpack it.
if wants meshoptimizer; then tool_debs+=(g++ dpkg-dev); fi
for deb in "${tool_debs[@]}"; do
    if command -v dpkg-query >/dev/null; then
        have_deb "$deb" || need_debs+=("$deb")
    fi
done
if ((${#need_debs[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "installing ${need_debs[*]} (Debian packages)" >&2
        (
            flock 9
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq >&2 || true
            apt-get install -y -qq "${need_debs[@]}" >&2
        ) 9>"$out/apt.lock" || die "could not install ${need_debs[*]}: run \`apt-get install ${need_debs[*]}\`"
    else
        die "missing Debian packages: run \`sudo apt-get install ${need_debs[*]}\`"
    fi
fi
command -v clang >/dev/null || die "clang not found: install Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32"
command -v gcc >/dev/null || die "gcc not found: install gcc"
if wants meshoptimizer; then
    command -v g++ >/dev/null || die "g++ not found: install g++"
    command -v dpkg-source >/dev/null || die "dpkg-source not found: install dpkg-dev"
fi
command -v cargo >/dev/null || die "cargo not found: install Rust (rustup)"
[[ -e /usr/include/wasm32-wasi/stdio.h || -e /usr/share/wasi-sysroot/include/stdio.h ]] ||
    die "wasi-libc not found: install Debian's wasi-libc and libclang-rt-dev-wasm32"

WASM=(clang --target=wasm32-wasi -O2 -w -Wl,--strip-debug)
NATIVE=(gcc -O2 -w)
NATIVE_CXX=(g++ -O2 -w)

# --- sources -----------------------------------------------------------------
# One cargo manifest that depends on the pinned crates; `cargo metadata`
# downloads and unpacks them into cargo's registry cache, and says where.
fetch_dir="$out/fetch"
src_of() { # crate version -> the unpacked crate folder
    local crate=$1 version=$2
    mkdir -p "$fetch_dir"
    exec 8>"$out/fetch.lock"
    flock 8
    cat >"$fetch_dir/Cargo.toml" <<EOF
[package]
name = "wasm-jit-third-party"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
path = "lib.rs"

[dependencies]
$BZIP2_CRATE = { version = "=$BZIP2_VERSION", default-features = false }
$ZLIB_CRATE = { version = "=$ZLIB_VERSION", default-features = false }
$SQLITE_CRATE = { version = "=$SQLITE_VERSION", default-features = false }

[workspace]
EOF
    : >"$fetch_dir/lib.rs"
    local meta
    meta=$(cargo metadata --quiet --format-version 1 --manifest-path "$fetch_dir/Cargo.toml" 2>"$fetch_dir/cargo.err") ||
        die "could not fetch $crate $version from crates.io:"$'\n'"$(cat "$fetch_dir/cargo.err")"
    local manifest
    manifest=$(grep -o "\"manifest_path\":\"[^\"]*/$crate-$version/Cargo.toml\"" <<<"$meta" | head -1 | cut -d'"' -f4)
    [[ -n $manifest ]] || die "cargo did not unpack $crate $version"
    dirname "$manifest"
}

# `apt-get source` needs a `deb-src` entry: as root, one is added for each
# configured Debian `deb` entry (the same archive and suites), and the
# package lists are updated.
deb_src_lists() {
    [[ $(id -u) == 0 ]] ||
        die "no \`deb-src\` entry for apt-get source: add one (\`Types: deb-src\`) for your Debian suites, run \`sudo apt-get update\`, and run this again"
    local d=/etc/apt/sources.list.d f
    local tmp="$out/deb-src.tmp"
    # deb822 files: each Debian `Types: deb` stanza again as `Types: deb-src`.
    for f in "$d"/*.sources; do
        [[ -e $f && $f != "$d/wasm-jit-deb-src.sources" ]] || continue
        awk 'BEGIN { RS = ""; ORS = "\n\n" }
             /(^|\n)Types:[ \t]*deb[ \t]*(\n|$)/ && /debian/ { sub(/Types:[ \t]*deb/, "Types: deb-src"); print }' "$f"
    done >"$tmp"
    [[ -s $tmp ]] && mv "$tmp" "$d/wasm-jit-deb-src.sources" && echo "added $d/wasm-jit-deb-src.sources" >&2
    # One-line files: each Debian `deb` line again as `deb-src`.
    for f in /etc/apt/sources.list "$d"/*.list; do
        [[ -e $f && $f != "$d/wasm-jit-deb-src.list" ]] || continue
        sed -n 's/^deb \(.*debian.*\)/deb-src \1/p' "$f"
    done >"$tmp"
    [[ -s $tmp ]] && mv "$tmp" "$d/wasm-jit-deb-src.list" && echo "added $d/wasm-jit-deb-src.list" >&2
    rm -f "$tmp"
    [[ -e $d/wasm-jit-deb-src.sources || -e $d/wasm-jit-deb-src.list ]] ||
        die "no Debian \`deb\` entry in /etc/apt to derive a \`deb-src\` entry from"
    (
        flock 9
        apt-get update -qq >&2
    ) 9>"$out/apt.lock" || die "apt-get update failed"
}

deb_src_of() { # package version -> the unpacked source folder
    local pkg=$1 version=$2
    local dest="$out/fetch-debian/${pkg}_$version"
    exec 8>"$out/fetch.lock"
    flock 8
    if [[ -f $dest/.unpacked ]]; then
        echo "$dest/src"
        return
    fi
    command -v apt-get >/dev/null || die "apt-get not found: $pkg $version is a Debian source package"
    local versions
    versions=$(apt-cache showsrc --only-source "$pkg" 2>&1 || true)
    if ! grep -qx "Version: $version" <<<"$versions"; then
        # No deb-src entry, or package lists that predate the version.
        if grep -q "deb-src" <<<"$versions"; then
            deb_src_lists
        elif [[ $(id -u) == 0 ]]; then
            (
                flock 9
                apt-get update -qq >&2
            ) 9>"$out/apt.lock" || true
        fi
        versions=$(apt-cache showsrc --only-source "$pkg" 2>&1 || true)
        grep -qx "Version: $version" <<<"$versions" ||
            die "Debian has no source package $pkg $version here (\`apt-cache showsrc $pkg\`)"
    fi
    rm -rf "$dest"
    mkdir -p "$dest/dl"
    # apt checks the files against the signed archive; dpkg-source unpacks
    # them and applies Debian's patches.
    (cd "$dest/dl" && apt-get source --download-only -qq "$pkg=$version") >"$dest/apt.log" 2>&1 ||
        die "could not fetch the Debian source package $pkg $version:"$'\n'"$(cat "$dest/apt.log")"
    local dsc
    dsc=$(ls "$dest/dl/${pkg}_${version#*:}.dsc" 2>/dev/null) || die "apt-get source did not download ${pkg}_$version.dsc"
    dpkg-source --no-copy -x "$dsc" "$dest/src" >>"$dest/apt.log" 2>&1 ||
        die "could not unpack $dsc:"$'\n'"$(cat "$dest/apt.log")"
    : >"$dest/.unpacked"
    echo "$dest/src"
}

# Runs `build NAME` unless target/third-party/NAME was built from the same
# inputs; the lock keeps concurrent tests from building the same thing twice.
# FROM is crates.io (CRATE is a crate) or debian (a Debian source package).
build_once() {
    local name=$1 from=$2 crate=$3 version=$4 is=$5
    shift 5
    local dir="$out/$name"
    local stamp
    stamp=$( (
        echo "$from $crate $version"
        cat "$0" "$@"
        clang --version | head -1
        gcc --version | head -1
    ) | sha256sum | cut -d' ' -f1)
    (
        flock 9
        if [[ -f $dir/stamp && $(cat "$dir/stamp") == "$stamp" ]]; then
            exit 0
        fi
        rm -rf "$dir"
        mkdir -p "$dir"
        local src provenance
        if [[ $from == debian ]]; then
            src=$(deb_src_of "$crate" "$version")
            provenance="Debian source package $crate $version"
        else
            src=$(src_of "$crate" "$version")
            provenance="crates.io $crate $version"
        fi
        echo "building $name from $crate $version" >&2
        "build_$name" "$src" "$dir"
        echo "$is ($provenance)" >"$dir/VERSION"
        echo "$stamp" >"$dir/stamp"
    ) 9>"$out/$name.lock"
}

build_bzip2() {
    local src=$1/bzip2-1.0.8 dir=$2
    local lib=(blocksort.c huffman.c crctable.c randtable.c compress.c decompress.c bzlib.c)
    lib=("${lib[@]/#/$src/}")
    local shim="$root/tests/programs/bzip2/wasi_shim.c" bench="$root/benches/programs/bzip2/bzip2_bench.c"
    "${WASM[@]}" -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS \
        "${lib[@]}" "$src/bzip2.c" "$shim" \
        -lwasi-emulated-signal -lwasi-emulated-process-clocks -o "$dir/bzip2.wasm"
    "${NATIVE[@]}" "${lib[@]}" "$src/bzip2.c" -o "$dir/bzip2"
    "${WASM[@]}" -I"$src" "${lib[@]}" "$bench" -o "$dir/bench.wasm"
    "${NATIVE[@]}" -I"$src" "${lib[@]}" "$bench" -o "$dir/bench"
}

build_zlib() {
    local src=$1/src/zlib dir=$2
    local lib=(adler32.c compress.c crc32.c deflate.c inffast.c inflate.c inftrees.c trees.c uncompr.c zutil.c)
    lib=("${lib[@]/#/$src/}")
    local bench="$root/benches/programs/zlib/zlib_bench.c"
    "${WASM[@]}" -I"$src" "${lib[@]}" "$bench" -o "$dir/bench.wasm"
    "${NATIVE[@]}" -I"$src" "${lib[@]}" "$bench" -o "$dir/bench"
}

build_sqlite() {
    local src=$1/sqlite3 dir=$2
    local h="$root/benches/programs/sqlite"
    # SQLITE_OS_OTHER with our in-memory VFS (memvfs.c): the same code runs
    # natively and under WASI.
    local flags=(-DSQLITE_OS_OTHER=1 -DSQLITE_TEMP_STORE=3 -DSQLITE_THREADSAFE=0
        -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_DEFAULT_MEMSTATUS=0)
    "${WASM[@]}" "${flags[@]}" -I"$src" "$src/sqlite3.c" "$h/memvfs.c" "$h/sqlite_bench.c" -o "$dir/bench.wasm" &
    "${NATIVE[@]}" "${flags[@]}" -I"$src" "$src/sqlite3.c" "$h/memvfs.c" "$h/sqlite_bench.c" -lm -o "$dir/bench"
    wait $! || die "wasm build of sqlite failed"
}

build_meshoptimizer() {
    local src=$1/src dir=$2
    local bench="$root/tests/programs/meshoptimizer/meshopt_bench.cpp"
    # The library is C++ without the C++ library (it includes C headers
    # only): with neither exceptions nor RTTI, the Wasm build links against
    # wasi-libc alone, the harness supplying operator new and delete. With
    # -msimd128 the sources take their `__wasm_simd128__` paths.
    "${WASM[@]}" -msimd128 -fno-exceptions -fno-rtti -fno-threadsafe-statics \
        -I"$src" "$src"/*.cpp "$bench" -o "$dir/meshoptimizer.wasm"
    "${NATIVE_CXX[@]}" -I"$src" "$src"/*.cpp "$bench" -o "$dir/meshoptimizer"
    ln -f "$dir/meshoptimizer.wasm" "$dir/bench.wasm"
    ln -f "$dir/meshoptimizer" "$dir/bench"
}

for p in "${programs[@]}"; do
    case $p in
    bzip2)
        build_once bzip2 crates.io "$BZIP2_CRATE" "$BZIP2_VERSION" "$BZIP2_IS" \
            "$root/tests/programs/bzip2/wasi_shim.c" "$root/benches/programs/bzip2/bzip2_bench.c"
        ;;
    zlib) build_once zlib crates.io "$ZLIB_CRATE" "$ZLIB_VERSION" "$ZLIB_IS" "$root/benches/programs/zlib/zlib_bench.c" ;;
    sqlite)
        build_once sqlite crates.io "$SQLITE_CRATE" "$SQLITE_VERSION" "$SQLITE_IS" \
            "$root/benches/programs/sqlite/memvfs.c" "$root/benches/programs/sqlite/sqlite_bench.c"
        ;;
    meshoptimizer)
        build_once meshoptimizer debian "$MESHOPT_DEB" "$MESHOPT_VERSION" "$MESHOPT_IS" \
            "$root/tests/programs/meshoptimizer/meshopt_bench.cpp"
        ;;
    *) die "unknown program \`$p\` (known: bzip2 zlib sqlite meshoptimizer)" ;;
    esac
done
