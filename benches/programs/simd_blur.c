// Separable 5-tap Gaussian blur (1 4 6 4 1)/16 of an 8-bit image with wasm
// SIMD intrinsics: u8x16 widened to u16x8, adds and shifts, narrowed back
// with saturation; each round blends with a shifted reference image (avgr)
// and sums how much the image changed (sub_sat, extadd_pairwise).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#else
#include "simd128_native.h"
#endif

#define W 1024
#define H 1024
#define PAD 16           // columns either side; 2 rows above and below
#define S (W + 2 * PAD)  // row stride
#define ROWS (H + 4)

// (e2 + 4 e1 + 6 c + 4 f1 + f2 + 8) >> 4 on eight u16 lanes.
static inline v128_t taps16(v128_t e2, v128_t e1, v128_t c, v128_t f1, v128_t f2) {
    v128_t sum = wasm_i16x8_add(wasm_i16x8_add(e2, f2), wasm_i16x8_splat(8));
    sum = wasm_i16x8_add(sum, wasm_i16x8_shl(wasm_i16x8_add(e1, f1), 2));
    sum = wasm_i16x8_add(sum, wasm_i16x8_add(wasm_i16x8_shl(c, 2), wasm_i16x8_shl(c, 1)));
    return wasm_u16x8_shr(sum, 4);
}

// The same on sixteen u8 lanes.
static inline v128_t taps8(v128_t e2, v128_t e1, v128_t c, v128_t f1, v128_t f2) {
    v128_t lo = taps16(wasm_u16x8_extend_low_u8x16(e2), wasm_u16x8_extend_low_u8x16(e1),
                       wasm_u16x8_extend_low_u8x16(c), wasm_u16x8_extend_low_u8x16(f1),
                       wasm_u16x8_extend_low_u8x16(f2));
    v128_t hi = taps16(wasm_u16x8_extend_high_u8x16(e2), wasm_u16x8_extend_high_u8x16(e1),
                       wasm_u16x8_extend_high_u8x16(c), wasm_u16x8_extend_high_u8x16(f1),
                       wasm_u16x8_extend_high_u8x16(f2));
    return wasm_u8x16_narrow_i16x8(lo, hi);
}

static void horizontal(uint8_t *dst, const uint8_t *src) {
    for (int y = 0; y < ROWS; y++)
        for (int x = PAD; x < PAD + W; x += 16) {
            const uint8_t *p = src + y * S + x;
            v128_t v = taps8(wasm_v128_load(p - 2), wasm_v128_load(p - 1), wasm_v128_load(p),
                             wasm_v128_load(p + 1), wasm_v128_load(p + 2));
            wasm_v128_store(dst + y * S + x, v);
        }
}

// Vertical pass into img, blended with ref shifted by `shift` columns;
// returns the sum of |old - new| over the image.
static uint64_t vertical(uint8_t *img, const uint8_t *tmp, const uint8_t *ref, int shift) {
    uint64_t energy = 0;
    for (int y = 2; y < H + 2; y++) {
        v128_t acc = wasm_i32x4_splat(0);
        for (int x = PAD; x < PAD + W; x += 16) {
            const uint8_t *p = tmp + y * S + x;
            v128_t v = taps8(wasm_v128_load(p - 2 * S), wasm_v128_load(p - S), wasm_v128_load(p),
                             wasm_v128_load(p + S), wasm_v128_load(p + 2 * S));
            v = wasm_u8x16_avgr(v, wasm_v128_load(ref + y * S + x + shift));
            uint8_t *q = img + y * S + x;
            v128_t old = wasm_v128_load(q);
            v128_t d = wasm_v128_or(wasm_u8x16_sub_sat(old, v), wasm_u8x16_sub_sat(v, old));
            acc = wasm_i32x4_add(acc, wasm_u32x4_extadd_pairwise_u16x8(wasm_u16x8_extadd_pairwise_u8x16(d)));
            wasm_v128_store(q, v);
        }
        energy += (uint64_t)wasm_u32x4_extract_lane(acc, 0) + wasm_u32x4_extract_lane(acc, 1) +
                  wasm_u32x4_extract_lane(acc, 2) + wasm_u32x4_extract_lane(acc, 3);
    }
    return energy;
}

int main(void) {
    uint8_t *img = malloc(ROWS * S), *tmp = malloc(ROWS * S), *ref = malloc(ROWS * S);
    uint32_t r = 1u;
    for (int y = 0; y < ROWS; y++)
        for (int x = 0; x < S; x++) {
            r = r * 1103515245u + 12345u;
            // Gradients, a checkerboard and noise.
            int v = (x + 2 * y) / 12 + (((x >> 5) ^ (y >> 5)) & 1) * 90 + (int)((r >> 16) & 63);
            img[y * S + x] = ref[y * S + x] = (uint8_t)(v > 255 ? 255 : v);
        }
    memcpy(tmp, img, ROWS * S);
    uint64_t energy = 0;
    for (int round = 0; round < 1500; round++) {
        horizontal(tmp, img);
        energy += vertical(img, tmp, ref, round % 9);
    }
    uint32_t hash = 2166136261u;
    for (int i = 0; i < ROWS * S; i++) hash = (hash ^ img[i]) * 16777619u;
    printf("energy=%llu hash=%08x\n", (unsigned long long)energy, hash);
    return 0;
}
