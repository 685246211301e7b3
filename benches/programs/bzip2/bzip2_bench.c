// Compresses and decompresses a generated 8 MiB buffer with libbz2 (bzip2
// 1.0.8, built by scripts/third-party.sh) at levels 1 and 9. An optional
// argument scales the work, in percent (default 100).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bzlib.h"

int main(int argc, char **argv) {
    int percent = argc > 1 ? atoi(argv[1]) : 100;
    const unsigned len = (unsigned)((8ull << 20) * (percent > 0 ? percent : 1) / 100);
    char *src = malloc(len), *dst = malloc(len);
    unsigned bound = len + len / 100 + 600;
    char *packed = malloc(bound);
    const char *words[] = {"alpha ", "beta ", "gamma ", "delta ", "\n", "epsilon ", "wasm ", "jit ", "cranelift "};
    unsigned x = 7;
    for (unsigned i = 0; i < len;) {
        x = x * 1664525u + 1013904223u;
        const char *w = words[(x >> 16) % 9];
        for (; *w && i < len; w++) src[i++] = (x >> 8) % 40 == 0 ? (char)(x >> 3) : *w;
    }
    unsigned long long sum = 0;
    int levels[] = {1, 9};
    for (int l = 0; l < 2; l++) {
        unsigned plen = bound, ulen = len;
        if (BZ2_bzBuffToBuffCompress(packed, &plen, src, len, levels[l], 0, 0) != BZ_OK) return 1;
        if (BZ2_bzBuffToBuffDecompress(dst, &ulen, packed, plen, 0, 0) != BZ_OK || ulen != len || memcmp(src, dst, len)) return 2;
        printf("level %d: %u bytes\n", levels[l], plen);
        for (unsigned i = 0; i < plen; i++) sum = sum * 31 + (unsigned char)packed[i];
    }
    printf("checksum %llu\n", sum);
    return 0;
}
