#!/usr/bin/env bash
# Rebuilds bzip2.wasm from the Debian bzip2 1.0.8-5 sources in src/
# (copied unmodified from `apt-get source bzip2`; see src/LICENSE).
# Needs clang, lld, wasi-libc and libclang-rt-dev-wasm32 from Debian.
set -euo pipefail
cd "$(dirname "$0")"
clang --target=wasm32-wasi -O2 -Wl,--strip-debug \
    -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS \
    src/blocksort.c src/huffman.c src/crctable.c src/randtable.c \
    src/compress.c src/decompress.c src/bzlib.c src/bzip2.c wasi_shim.c \
    -lwasi-emulated-signal -lwasi-emulated-process-clocks \
    -o bzip2.wasm
echo "built bzip2.wasm"
