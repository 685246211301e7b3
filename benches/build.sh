#!/usr/bin/env bash
# Rebuilds the committed benchmark modules in benches/wasm/ from their C
# sources (clang, lld, wasi-libc, libclang-rt-dev-wasm32 from Debian).
# The native builds are made by the runner itself, with gcc -O2.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p wasm
W="clang --target=wasm32-wasi -O2 -Wl,--strip-debug"
for src in programs/*.c; do
    name=$(basename "$src" .c)
    $W "$src" -o "wasm/$name.wasm"
    echo "built wasm/$name.wasm"
done
BZ=../tests/programs/bzip2/src
$W -I$BZ $BZ/blocksort.c $BZ/huffman.c $BZ/crctable.c $BZ/randtable.c $BZ/compress.c \
    $BZ/decompress.c $BZ/bzlib.c programs/bzip2/bzip2_bench.c -o wasm/bzip2.wasm
echo "built wasm/bzip2.wasm"
Z=programs/zlib
$W -I$Z $Z/adler32.c $Z/compress.c $Z/crc32.c $Z/deflate.c $Z/inffast.c $Z/inflate.c \
    $Z/inftrees.c $Z/trees.c $Z/uncompr.c $Z/zutil.c $Z/zlib_bench.c -o wasm/zlib.wasm
echo "built wasm/zlib.wasm"
S=programs/sqlite
$W -DSQLITE_OS_OTHER=1 -DSQLITE_TEMP_STORE=3 -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION \
    -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_DEFAULT_MEMSTATUS=0 \
    $S/sqlite3.c $S/memvfs.c $S/sqlite_bench.c -o wasm/sqlite.wasm
echo "built wasm/sqlite.wasm"
