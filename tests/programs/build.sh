#!/usr/bin/env bash
# Rebuilds the committed .wasm test programs from their C sources.
# Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32:
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
set -euo pipefail
cd "$(dirname "$0")"
for src in *.c; do
    clang --target=wasm32-wasi -O2 -Wl,--strip-debug "$src" -o "${src%.c}.wasm"
    echo "built ${src%.c}.wasm"
done
