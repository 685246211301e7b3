// Dot products of float arrays with wasm SIMD intrinsics (f32x4 mul/add,
// unaligned loads at a moving offset); checksum of the results' bits.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#else
#include "simd128_native.h"
#endif

#define N 4096
#define SHIFTS 61

static float a[N + 64], b[N + 64];

// Four accumulators, then the lanes summed in one fixed order, so the
// result is the same on every engine and natively.
static float dot(const float *x, const float *y) {
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < N; i += 16) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(x + i), wasm_v128_load(y + i)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(x + i + 4), wasm_v128_load(y + i + 4)));
        s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(wasm_v128_load(x + i + 8), wasm_v128_load(y + i + 8)));
        s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(wasm_v128_load(x + i + 12), wasm_v128_load(y + i + 12)));
    }
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3));
    float lo = wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1);
    float hi = wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
    return lo + hi;
}

int main(void) {
    uint32_t x = 2463534242u;
    for (int i = 0; i < N + 64; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        a[i] = (float)(x >> 8) * (1.0f / 16777216.0f) - 0.5f;
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        b[i] = (float)(x >> 8) * (1.0f / 8388608.0f) - 1.0f;
    }
    double total = 0;
    uint32_t hash = 2166136261u;
    for (int rep = 0; rep < 3000000; rep++) {
        int off = rep % SHIFTS;
        float d = dot(a + (rep & 3), b + off);
        total += d;
        uint32_t bits;
        memcpy(&bits, &d, sizeof bits);
        // Feed the result back (bounded) so no repetition is like another.
        a[(rep * 7) % N] = (float)(bits & 0xffff) * (1.0f / 65536.0f) - 0.5f;
        hash = (hash ^ bits) * 16777619u;
    }
    printf("sum=%.6f hash=%08x\n", total, hash);
    return 0;
}
