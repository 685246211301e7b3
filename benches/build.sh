#!/usr/bin/env bash
# Rebuilds the committed kernel modules in benches/wasm/ from our C sources
# in benches/programs/ (clang, lld, wasi-libc, libclang-rt-dev-wasm32 from
# Debian): all of them, or the kernels named as arguments. The simd_*
# kernels are built with wasm SIMD (-msimd128; natively their intrinsics come
# from simd128_native.h), simd_autovec at -O3 for the loop vectorizer.
# The native builds are made by the runner itself, with gcc -O2;
# bzip2, zlib and SQLite come from scripts/third-party.sh.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p wasm
W="clang --target=wasm32-wasi -O2 -Wl,--strip-debug"
if [ $# -eq 0 ]; then
    set -- programs/*.c
else
    set -- "${@/#/programs/}"
    set -- "${@/%/.c}"
fi
for src in "$@"; do
    name=$(basename "$src" .c)
    case $name in
        simd_autovec) flags="-O3 -msimd128" ;;
        simd_*) flags="-msimd128" ;;
        *) flags="" ;;
    esac
    $W $flags "$src" -o "wasm/$name.wasm"
    echo "built wasm/$name.wasm"
done
