#!/usr/bin/env bash
# Runs Wasmtime's own spec-style scripts (its tests/misc_testsuite) through
# `wasm-jit wast`, as a check against another engine's test suite. Nothing
# of Wasmtime's is in this repository: the scripts come from the crates.io
# package named below, fetched into target/third-party/wasmtime-misc/ and
# checked against the registry index's checksum.
#
#   scripts/wasmtime-misc-wast.sh [WASM_JIT_BINARY]
#
# WASM_JIT_BINARY defaults to target/release/wasm-jit (build it first with
# `cargo build --release -p wasm-jit-cli`). Each script's `;;! NAME = true`
# header lines (the features Wasmtime's runner turns on for it) become `-W`
# options; component-model scripts are skipped (not supported). Prints one
# line per script and a summary; docs/other-test-suites.md has the last
# results.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/wasmtime-package.sh"
jit=$(engine_binary "${1:-$root/target/release/wasm-jit}")
pkg=$(wasmtime_package "$root/target/third-party/wasmtime-misc")
suite="$pkg/tests/misc_testsuite"

# Wasmtime's feature names in headers, as `-W` options.
flag_for() {
    case $1 in
    gc | gc_types) echo gc ;;
    simd) echo simd ;;
    relaxed_simd) echo relaxed-simd ;;
    multi_memory) echo multi-memory ;;
    threads) echo threads ;;
    shared_everything_threads) echo shared-everything-threads ;;
    memory64) echo memory64 ;;
    exceptions) echo exceptions ;;
    legacy_exceptions) echo legacy-exceptions ;;
    custom_page_sizes) echo custom-page-sizes ;;
    tail_call) echo tail-call ;;
    wide_arithmetic) echo wide-arithmetic ;;
    stack_switching) echo stack-switching ;;
    function_references | function-references) echo function-references ;;
    extended_const) echo extended-const ;;
    reference_types) echo reference-types ;;
    bulk_memory) echo bulk-memory ;;
    nan_canonicalization) echo nan-canonicalization ;;
    *) ;; # Wasmtime-only settings (memory hogs, branch hints): nothing to turn on
    esac
}

passed=0 failed=0 skipped=0 checks_passed=0 checks_failed=0
cd "$suite"
while IFS= read -r file; do
    opts=()
    component=false
    [[ $file == *component-model* ]] && component=true
    while IFS= read -r line; do
        name=$(sed -E 's/^;;! *([A-Za-z0-9_-]+) *= *.*/\1/' <<<"$line")
        value=$(sed -E 's/^;;! *[A-Za-z0-9_-]+ *= *([a-z]+).*/\1/' <<<"$line")
        case $value in true | yes) value=y ;; *) value=n ;; esac
        [[ $name == component_model* && $value == y ]] && component=true
        flag=$(flag_for "$name")
        [[ -n $flag ]] && opts+=(-W "$flag=$value")
    done < <(grep -E '^;;! *[A-Za-z0-9_-]+ *=' "$file" || true)
    if $component; then
        echo "$file: skipped (component model)"
        skipped=$((skipped + 1))
        continue
    fi
    # The report on standard output: `FILE: N passed, M failed`, then the
    # failures, indented (or `FILE: error: ...`).
    report=$(timeout 120 "$jit" wast "${opts[@]}" "$file" 2>/dev/null </dev/null) && status=0 || status=$?
    counts=$(grep -m1 -F "$file: " <<<"$report" || echo "$file: no report (exit status $status)")
    if [[ $counts =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        checks_passed=$((checks_passed + BASH_REMATCH[1]))
        checks_failed=$((checks_failed + BASH_REMATCH[2]))
    fi
    if ((status == 0)); then
        echo "$file: passed ${opts[*]}"
        passed=$((passed + 1))
    else
        first=$(grep -m1 '^  ' <<<"$report" || true)
        echo "$file: FAILED ${opts[*]}: ${counts#"$file: "}; first: ${first#"  $file:"}"
        failed=$((failed + 1))
    fi
done < <(find . -name '*.wast' | sed 's|^\./||' | LC_ALL=C sort)

echo
echo "$WASMTIME_CRATE $WASMTIME_VERSION tests/misc_testsuite: $passed scripts passed, $failed failed, $skipped skipped (component model);" \
    "$checks_passed checks passed, $checks_failed failed"
