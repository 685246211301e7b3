// Single-precision matrix multiply C += A * B with wasm SIMD intrinsics:
// a 4x8 block of C in eight f32x4 registers, A's elements splatted;
// checksum of the result's bits.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#else
#include "simd128_native.h"
#endif

#define N 256

// Each element of C gets its products added in k order, as the scalar
// loop would, so the rounding is the same everywhere.
static void matmul(float *c, const float *a, const float *b) {
    for (int i = 0; i < N; i += 4)
        for (int j = 0; j < N; j += 8) {
            float *c0 = c + i * N + j, *c1 = c0 + N, *c2 = c1 + N, *c3 = c2 + N;
            v128_t r00 = wasm_v128_load(c0), r01 = wasm_v128_load(c0 + 4);
            v128_t r10 = wasm_v128_load(c1), r11 = wasm_v128_load(c1 + 4);
            v128_t r20 = wasm_v128_load(c2), r21 = wasm_v128_load(c2 + 4);
            v128_t r30 = wasm_v128_load(c3), r31 = wasm_v128_load(c3 + 4);
            const float *ai = a + i * N;
            for (int k = 0; k < N; k++) {
                v128_t b0 = wasm_v128_load(b + k * N + j), b1 = wasm_v128_load(b + k * N + j + 4);
                v128_t x = wasm_f32x4_splat(ai[k]);
                r00 = wasm_f32x4_add(r00, wasm_f32x4_mul(x, b0));
                r01 = wasm_f32x4_add(r01, wasm_f32x4_mul(x, b1));
                x = wasm_f32x4_splat(ai[N + k]);
                r10 = wasm_f32x4_add(r10, wasm_f32x4_mul(x, b0));
                r11 = wasm_f32x4_add(r11, wasm_f32x4_mul(x, b1));
                x = wasm_f32x4_splat(ai[2 * N + k]);
                r20 = wasm_f32x4_add(r20, wasm_f32x4_mul(x, b0));
                r21 = wasm_f32x4_add(r21, wasm_f32x4_mul(x, b1));
                x = wasm_f32x4_splat(ai[3 * N + k]);
                r30 = wasm_f32x4_add(r30, wasm_f32x4_mul(x, b0));
                r31 = wasm_f32x4_add(r31, wasm_f32x4_mul(x, b1));
            }
            wasm_v128_store(c0, r00); wasm_v128_store(c0 + 4, r01);
            wasm_v128_store(c1, r10); wasm_v128_store(c1 + 4, r11);
            wasm_v128_store(c2, r20); wasm_v128_store(c2 + 4, r21);
            wasm_v128_store(c3, r30); wasm_v128_store(c3 + 4, r31);
        }
}

int main(void) {
    float *a = malloc(sizeof(float) * N * N), *b = malloc(sizeof(float) * N * N), *c = calloc(N * N, sizeof(float));
    uint32_t x = 88172645u;
    for (int i = 0; i < N * N; i++) {
        x = x * 1664525u + 1013904223u;
        a[i] = (float)(x >> 9) * (1.0f / 8388608.0f) - 0.5f;
        x = x * 1664525u + 1013904223u;
        b[i] = (float)(x >> 9) * (1.0f / 4194304.0f) - 1.0f;
    }
    for (int rep = 0; rep < 900; rep++) matmul(c, a, b);
    double sum = 0;
    uint32_t hash = 2166136261u;
    for (int i = 0; i < N * N; i++) {
        sum += c[i] * ((i % 7) - 3);
        uint32_t bits;
        memcpy(&bits, &c[i], sizeof bits);
        hash = (hash ^ bits) * 16777619u;
    }
    printf("sum=%.3f hash=%08x\n", sum, hash);
    return 0;
}
