// The wasm_simd128.h intrinsics that the simd_* kernels use, for their
// native builds: GCC vector extensions, which gcc -O2 turns into SSE2 on
// x86-64. Each one has the lane semantics of its WebAssembly instruction
// (saturation, out-of-range swizzle indices, ...), so a kernel prints the
// same natively as in wasm. Only what the kernels use is here.
#ifndef SIMD128_NATIVE_H
#define SIMD128_NATIVE_H

#include <stdint.h>
#include <string.h>

typedef int32_t v128_t __attribute__((vector_size(16)));
typedef int8_t n_i8x16 __attribute__((vector_size(16)));
typedef uint8_t n_u8x16 __attribute__((vector_size(16)));
typedef int16_t n_i16x8 __attribute__((vector_size(16)));
typedef uint16_t n_u16x8 __attribute__((vector_size(16)));
typedef int32_t n_i32x4 __attribute__((vector_size(16)));
typedef uint32_t n_u32x4 __attribute__((vector_size(16)));
typedef int64_t n_i64x2 __attribute__((vector_size(16)));
typedef uint64_t n_u64x2 __attribute__((vector_size(16)));
typedef float n_f32x4 __attribute__((vector_size(16)));

#define N_INLINE static inline __attribute__((always_inline))

// Memory: unaligned, like v128.load and v128.store.
N_INLINE v128_t wasm_v128_load(const void *p) {
    v128_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
N_INLINE void wasm_v128_store(void *p, v128_t v) { memcpy(p, &v, sizeof v); }

// Constructors and lanes.
N_INLINE v128_t wasm_i32x4_make(int32_t a, int32_t b, int32_t c, int32_t d) {
    return (v128_t)(n_i32x4){a, b, c, d};
}
N_INLINE v128_t wasm_i64x2_make(int64_t a, int64_t b) { return (v128_t)(n_i64x2){a, b}; }
N_INLINE v128_t wasm_i8x16_splat(int8_t x) { return (v128_t)(n_i8x16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
N_INLINE v128_t wasm_i16x8_splat(int16_t x) { return (v128_t)(n_i16x8){x, x, x, x, x, x, x, x}; }
N_INLINE v128_t wasm_i32x4_splat(int32_t x) { return (v128_t)(n_i32x4){x, x, x, x}; }
N_INLINE v128_t wasm_i64x2_splat(int64_t x) { return (v128_t)(n_i64x2){x, x}; }
N_INLINE v128_t wasm_f32x4_splat(float x) { return (v128_t)(n_f32x4){x, x, x, x}; }
#define wasm_f32x4_extract_lane(v, i) (((n_f32x4)(v))[i])
#define wasm_i32x4_extract_lane(v, i) (((n_i32x4)(v))[i])
#define wasm_u32x4_extract_lane(v, i) (((n_u32x4)(v))[i])
#define wasm_i64x2_extract_lane(v, i) (((n_i64x2)(v))[i])
#define wasm_u64x2_extract_lane(v, i) (((n_u64x2)(v))[i])

// Bitwise.
N_INLINE v128_t wasm_v128_and(v128_t a, v128_t b) { return a & b; }
N_INLINE v128_t wasm_v128_or(v128_t a, v128_t b) { return a | b; }
N_INLINE v128_t wasm_v128_xor(v128_t a, v128_t b) { return a ^ b; }

// Integer lanes. Shift counts are taken modulo the lane width, as in wasm.
N_INLINE v128_t wasm_i16x8_add(v128_t a, v128_t b) { return (v128_t)((n_u16x8)a + (n_u16x8)b); }
N_INLINE v128_t wasm_i32x4_add(v128_t a, v128_t b) { return (v128_t)((n_u32x4)a + (n_u32x4)b); }
N_INLINE v128_t wasm_i16x8_shl(v128_t a, uint32_t n) { return (v128_t)((n_u16x8)a << (n & 15)); }
N_INLINE v128_t wasm_u16x8_shr(v128_t a, uint32_t n) { return (v128_t)((n_u16x8)a >> (n & 15)); }
N_INLINE v128_t wasm_i64x2_add(v128_t a, v128_t b) { return (v128_t)((n_u64x2)a + (n_u64x2)b); }
N_INLINE v128_t wasm_i32x4_mul(v128_t a, v128_t b) { return (v128_t)((n_u32x4)a * (n_u32x4)b); }
N_INLINE v128_t wasm_i64x2_mul(v128_t a, v128_t b) { return (v128_t)((n_u64x2)a * (n_u64x2)b); }
N_INLINE v128_t wasm_i32x4_shl(v128_t a, uint32_t n) { return (v128_t)((n_u32x4)a << (n & 31)); }
N_INLINE v128_t wasm_u32x4_shr(v128_t a, uint32_t n) { return (v128_t)((n_u32x4)a >> (n & 31)); }
N_INLINE v128_t wasm_i64x2_shl(v128_t a, uint32_t n) { return (v128_t)((n_u64x2)a << (n & 63)); }
N_INLINE v128_t wasm_u64x2_shr(v128_t a, uint32_t n) { return (v128_t)((n_u64x2)a >> (n & 63)); }
// u32 lanes 0-1 (low) or 2-3 (high), zero-extended, multiplied into u64
// lanes. gcc makes no pmuludq of the generic form, so x86 gets it directly.
#ifdef __SSE2__
#include <emmintrin.h>
N_INLINE v128_t wasm_u64x2_extmul_low_u32x4(v128_t a, v128_t b) {
    const n_i32x4 lanes = {0, 0, 1, 1};
    return (v128_t)_mm_mul_epu32((__m128i)__builtin_shuffle((n_i32x4)a, lanes),
                                 (__m128i)__builtin_shuffle((n_i32x4)b, lanes));
}
N_INLINE v128_t wasm_u64x2_extmul_high_u32x4(v128_t a, v128_t b) {
    const n_i32x4 lanes = {2, 2, 3, 3};
    return (v128_t)_mm_mul_epu32((__m128i)__builtin_shuffle((n_i32x4)a, lanes),
                                 (__m128i)__builtin_shuffle((n_i32x4)b, lanes));
}
#else
N_INLINE v128_t wasm_u64x2_extmul_low_u32x4(v128_t a, v128_t b) {
    const n_u32x4 zero = {0}, lanes = {0, 4, 1, 4};
    return (v128_t)((n_u64x2)__builtin_shuffle((n_u32x4)a, zero, lanes) *
                    (n_u64x2)__builtin_shuffle((n_u32x4)b, zero, lanes));
}
N_INLINE v128_t wasm_u64x2_extmul_high_u32x4(v128_t a, v128_t b) {
    const n_u32x4 zero = {0}, lanes = {2, 4, 3, 4};
    return (v128_t)((n_u64x2)__builtin_shuffle((n_u32x4)a, zero, lanes) *
                    (n_u64x2)__builtin_shuffle((n_u32x4)b, zero, lanes));
}
#endif
// Lanes of a (indices 0..n-1) and b (n..2n-1); the indices must be constants.
#define wasm_i32x4_shuffle(a, b, c0, c1, c2, c3) \
    ((v128_t)__builtin_shuffle((n_i32x4)(a), (n_i32x4)(b), (n_i32x4){c0, c1, c2, c3}))
#define wasm_i8x16_shuffle(a, b, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15) \
    ((v128_t)__builtin_shuffle((n_u8x16)(a), (n_u8x16)(b),                                             \
                               (n_u8x16){c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15}))
// Bytes of a picked by the byte indices in s; an index of 16 or more gives 0.
N_INLINE v128_t wasm_i8x16_swizzle(v128_t a, v128_t s) {
    uint8_t src[16], idx[16], out[16];
    memcpy(src, &a, 16);
    memcpy(idx, &s, 16);
    for (int i = 0; i < 16; i++) out[i] = idx[i] < 16 ? src[idx[i]] : 0;
    return wasm_v128_load(out);
}
// |a - b| clamped at 0: only the lanes where a > b keep a - b.
N_INLINE v128_t wasm_u8x16_sub_sat(v128_t a, v128_t b) {
    n_u8x16 x = (n_u8x16)a, y = (n_u8x16)b;
    return (v128_t)((x - y) & (n_u8x16)(x > y));
}
// (a + b + 1) >> 1 without overflow.
N_INLINE v128_t wasm_u8x16_avgr(v128_t a, v128_t b) {
    n_u8x16 x = (n_u8x16)a, y = (n_u8x16)b;
    return (v128_t)((x | y) - ((x ^ y) >> 1));
}

// Widening and narrowing (x86-64 and wasm are both little-endian).
N_INLINE v128_t wasm_u16x8_extend_low_u8x16(v128_t a) {
    const n_u8x16 zero = {0};
    return (v128_t)__builtin_shuffle((n_u8x16)a, zero,
                                     (n_u8x16){0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23});
}
N_INLINE v128_t wasm_u16x8_extend_high_u8x16(v128_t a) {
    const n_u8x16 zero = {0};
    return (v128_t)__builtin_shuffle((n_u8x16)a, zero,
                                     (n_u8x16){8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31});
}
// Signed i16 lanes to u8 with saturation: a's lanes, then b's.
N_INLINE v128_t wasm_u8x16_narrow_i16x8(v128_t a, v128_t b) {
    n_i16x8 x = (n_i16x8)a, y = (n_i16x8)b;
    const n_i16x8 max = {255, 255, 255, 255, 255, 255, 255, 255};
    x &= ~(x < 0);
    y &= ~(y < 0);
    x = (x & ~(x > max)) | (max & (x > max));
    y = (y & ~(y > max)) | (max & (y > max));
    return (v128_t)__builtin_shuffle((n_u8x16)x, (n_u8x16)y,
                                     (n_u8x16){0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30});
}
N_INLINE v128_t wasm_u16x8_extadd_pairwise_u8x16(v128_t a) {
    n_u16x8 x = (n_u16x8)a;
    return (v128_t)((x & 0xff) + (x >> 8));
}
N_INLINE v128_t wasm_u32x4_extadd_pairwise_u16x8(v128_t a) {
    n_u32x4 x = (n_u32x4)a;
    return (v128_t)((x & 0xffff) + (x >> 16));
}

// f32x4.
N_INLINE v128_t wasm_f32x4_add(v128_t a, v128_t b) { return (v128_t)((n_f32x4)a + (n_f32x4)b); }
N_INLINE v128_t wasm_f32x4_mul(v128_t a, v128_t b) { return (v128_t)((n_f32x4)a * (n_f32x4)b); }

#endif
