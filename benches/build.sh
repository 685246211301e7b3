#!/usr/bin/env bash
# Rebuilds the committed kernel modules in benches/wasm/ from our C sources
# in benches/programs/ (clang, lld, wasi-libc, libclang-rt-dev-wasm32 from
# Debian). The native builds are made by the runner itself, with gcc -O2;
# bzip2, zlib and SQLite come from scripts/third-party.sh.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p wasm
W="clang --target=wasm32-wasi -O2 -Wl,--strip-debug"
for src in programs/*.c; do
    name=$(basename "$src" .c)
    $W "$src" -o "wasm/$name.wasm"
    echo "built wasm/$name.wasm"
done
