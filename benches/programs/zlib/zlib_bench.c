// Compresses and decompresses a generated 4 MiB buffer with zlib at three
// levels; prints the compressed sizes and a CRC of the round-tripped data.
// An optional argument scales the work, in percent (default 100).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zlib.h"

int main(int argc, char **argv) {
    int percent = argc > 1 ? atoi(argv[1]) : 100;
    const uLong len = (uLong)((4ull << 20) * (percent > 0 ? percent : 1) / 100);
    unsigned char *src = malloc(len), *dst = malloc(len);
    const char *words[] = {"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "\n", "wasm ", "jit "};
    unsigned x = 1;
    for (uLong i = 0; i < len;) {
        x = x * 1664525u + 1013904223u;
        const char *w = words[(x >> 16) % 11];
        for (; *w && i < len; w++) src[i++] = (x >> 8) % 50 == 0 ? (unsigned char)(x >> 3) : (unsigned char)*w;
    }
    uLong bound = compressBound(len);
    unsigned char *packed = malloc(bound);
    uLong crc = crc32(0L, Z_NULL, 0);
    int levels[] = {1, 6, 9};
    for (int l = 0; l < 3; l++) {
        uLongf plen = bound, ulen = len;
        if (compress2(packed, &plen, src, len, levels[l]) != Z_OK) return 1;
        if (uncompress(dst, &ulen, packed, plen) != Z_OK || ulen != len || memcmp(src, dst, len)) return 2;
        printf("level %d: %lu bytes\n", levels[l], (unsigned long)plen);
        crc = crc32(crc, packed, plen);
    }
    printf("crc %08lx\n", crc);
    return 0;
}
