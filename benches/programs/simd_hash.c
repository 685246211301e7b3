// A vector hash of a 64 KiB buffer, rehashed with the previous hash as the
// seed: i32x4 multiply-rotate lanes, i64x2 widening multiplies and
// rotations, lane and byte shuffles, and a swizzle (with out-of-range
// indices, which give 0) in the finalizer.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#else
#include "simd128_native.h"
#endif

#define LEN (64 << 10)

static uint64_t hash(const uint8_t *p, uint64_t seed, v128_t table) {
    const v128_t p1 = wasm_i32x4_splat((int32_t)0x9E3779B1u), p2 = wasm_i32x4_splat((int32_t)0x85EBCA77u);
    const v128_t k = wasm_i32x4_make((int32_t)0xC2B2AE3Du, 0x27D4EB2F, 0x165667B1, (int32_t)0xD3A2646Cu);
    v128_t h = wasm_i32x4_make((int32_t)seed, (int32_t)(seed >> 32), (int32_t)~seed, 0x61C88647);
    v128_t g = wasm_i64x2_make((int64_t)seed, (int64_t)(seed ^ 0x9E3779B97F4A7C15ull));
    for (int i = 0; i < LEN; i += 32) {
        v128_t m0 = wasm_v128_load(p + i), m1 = wasm_v128_load(p + i + 16);
        h = wasm_i32x4_add(h, wasm_i32x4_mul(m0, p2));
        h = wasm_v128_or(wasm_i32x4_shl(h, 13), wasm_u32x4_shr(h, 19));
        h = wasm_i32x4_mul(h, p1);
        v128_t m1r = wasm_i32x4_shuffle(m1, m1, 1, 2, 3, 0);
        g = wasm_v128_xor(g, wasm_u64x2_extmul_low_u32x4(m1r, h));
        g = wasm_i64x2_add(g, wasm_u64x2_extmul_high_u32x4(m1, k));
        g = wasm_v128_or(wasm_i64x2_shl(g, 29), wasm_u64x2_shr(g, 35));
        // The high bytes of m0 and m1, interleaved.
        g = wasm_i64x2_add(g, wasm_i8x16_shuffle(m0, m1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
    }
    // Finalize: mix the lanes together.
    v128_t t = wasm_v128_xor(h, g);
    t = wasm_i8x16_swizzle(t, table);
    t = wasm_i32x4_add(t, wasm_i32x4_shuffle(h, h, 3, 2, 1, 0));
    g = wasm_i64x2_mul(wasm_v128_xor(g, t), wasm_i64x2_splat((int64_t)0xFF51AFD7ED558CCDull));
    g = wasm_v128_xor(g, wasm_u64x2_shr(g, 33));
    return wasm_u64x2_extract_lane(g, 0) ^ (wasm_u64x2_extract_lane(g, 1) * 0xC4CEB9FE1A85EC53ull);
}

int main(void) {
    uint8_t *buf = malloc(LEN);
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < LEN; i++) {
        x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
        buf[i] = (uint8_t)((x * 0x2545F4914F6CDD1Dull) >> 56);
    }
    uint64_t h = 0, sum = 0;
    for (int round = 0; round < 70000; round++) {
        // Swizzle indices 0..31: the upper half selects zero bytes.
        uint8_t idx[16];
        for (int j = 0; j < 16; j++) idx[j] = (uint8_t)((h >> (j * 4 % 64)) + j * 7) & 31;
        h = hash(buf, h, wasm_v128_load(idx));
        sum += h >> 32;
        buf[(round * 4099u) % LEN] ^= (uint8_t)h;
    }
    printf("hash=%016llx sum=%llu\n", (unsigned long long)h, (unsigned long long)sum);
    return 0;
}
