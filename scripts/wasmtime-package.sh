# Sourced by scripts/wasmtime-misc-wast.sh and scripts/wasi-testsuite.sh:
# the crates.io package that carries the test suites they run, and the
# engine binary they run them with.

# The newest release of wasmtime-cli whose package still carries its tests.
WASMTIME_CRATE=wasmtime-cli WASMTIME_VERSION=46.0.3

# engine_binary PATH_OR_NAME: its absolute path (the scripts change
# directory), also for a name on PATH; fails when it is not an executable.
engine_binary() {
    local jit
    jit=$(command -v -- "$1" || true)
    [[ -n $jit && -x $jit ]] || { echo "no wasm-jit binary at $1" >&2; return 1; }
    realpath -- "$jit"
}

# wasmtime_package DIR: unpacks the package into DIR (once, after checking
# the download against the sha256 that the crates.io sparse index lists for
# the version) and prints the unpacked folder.
wasmtime_package() {
    local out=$1
    local pkg="$out/$WASMTIME_CRATE-$WASMTIME_VERSION"
    if [[ ! -d $pkg ]]; then
        mkdir -p "$out"
        local crate="$pkg.crate" want got
        curl -sSfL -o "$crate" \
            "https://static.crates.io/crates/$WASMTIME_CRATE/$WASMTIME_CRATE-$WASMTIME_VERSION.crate"
        want=$(curl -sSfL "https://index.crates.io/wa/sm/$WASMTIME_CRATE" |
            grep "\"vers\": *\"$WASMTIME_VERSION\"" | grep -o '"cksum": *"[0-9a-f]*"' |
            grep -o '[0-9a-f]\{64\}' || true)
        got=$(sha256sum "$crate" | cut -d' ' -f1)
        [[ -n $want && $want == "$got" ]] || { echo "checksum mismatch for $crate" >&2; return 1; }
        tar -xzf "$crate" -C "$out"
    fi
    echo "$pkg"
}
