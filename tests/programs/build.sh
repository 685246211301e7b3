#!/usr/bin/env bash
# Rebuilds the committed .wasm test programs from their C and Rust sources.
# Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32:
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
set -euo pipefail
cd "$(dirname "$0")"
for src in *.c; do
    extra=()
    # setjmp/longjmp lowered to (legacy) Wasm exceptions, with our runtime
    # for the lowering in sjlj/.
    if [[ $src == setjmp_* ]]; then
        extra=(-mllvm -wasm-enable-sjlj -I sjlj sjlj/runtime.c)
    fi
    clang --target=wasm32-wasi -O2 -Wl,--strip-debug "$src" "${extra[@]}" -o "${src%.c}.wasm"
    echo "built ${src%.c}.wasm"
done

# Rust test programs (*.rs): Debian's rustc 1.63 has a wasm32-wasi standard
# library (rustup's toolchain here has none); its packages are unpacked into
# target/deb-rust, nothing is installed system-wide.
R=../../target/deb-rust
if ! [ -x "$R/usr/bin/rustc" ]; then
    mkdir -p "$R/debs"
    (cd "$R/debs" && apt-get download rustc libstd-rust-1.63 libstd-rust-dev libstd-rust-dev-wasm32)
    for d in "$R"/debs/*.deb; do dpkg -x "$d" "$R"; done
fi
for src in *.rs; do
    LD_LIBRARY_PATH="$R/usr/lib/x86_64-linux-gnu" "$R/usr/bin/rustc" --sysroot "$R/usr" \
        --target wasm32-wasi -O -C linker=wasm-ld -C link-self-contained=no \
        -L /usr/lib/wasm32-wasi -C link-arg=/usr/lib/wasm32-wasi/crt1-command.o \
        -C link-arg=--strip-debug "$src" -o "${src%.rs}.wasm"
    echo "built ${src%.rs}.wasm"
done
