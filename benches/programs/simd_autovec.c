// Plain scalar loops for the compilers to vectorize (wasm: clang -O3
// -msimd128): saxpy, integer dot product and max, byte case mapping,
// saturating adds, sums of absolute differences, widening and counting.
// Integer reductions only, so the vector order cannot change the result.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 8192

static float xs[N], ys[N];
static int32_t ia[N], ib[N];
static int16_t s16[N];
static uint8_t text[N], out[N];

__attribute__((noinline)) static void saxpy(float a, const float *restrict x, float *restrict y) {
    for (int i = 0; i < N; i++) y[i] = a * x[i] + 0.5f * y[i];
}

__attribute__((noinline)) static uint32_t dot_i32(const int32_t *restrict a, const int32_t *restrict b) {
    uint32_t s = 0;
    for (int i = 0; i < N; i++) s += (uint32_t)a[i] * (uint32_t)b[i];
    return s;
}

__attribute__((noinline)) static void upper_sat(uint8_t *restrict dst, const uint8_t *restrict src, uint8_t k) {
    for (int i = 0; i < N; i++) {
        unsigned c = src[i];
        c = c - 'a' < 26 ? c - 32 : c;
        c += k;
        dst[i] = c > 255 ? 255 : c;
    }
}

__attribute__((noinline)) static uint32_t sad(const uint8_t *restrict a, const uint8_t *restrict b) {
    uint32_t s = 0;
    for (int i = 0; i < N; i++) s += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
    return s;
}

__attribute__((noinline)) static void remix(uint8_t *restrict dst, const uint8_t *restrict src, uint8_t r) {
    for (int i = 0; i < N; i++) dst[i] = (uint8_t)((src[i] ^ (i & 63)) + r);
}

__attribute__((noinline)) static void widen(int16_t *restrict dst, const uint8_t *restrict src) {
    for (int i = 0; i < N; i++) dst[i] = (int16_t)(src[i] * 3 - (int16_t)src[i ^ 1] * 5 + dst[i] / 2);
}

__attribute__((noinline)) static int16_t max_i16(const int16_t *restrict a) {
    int16_t m = INT16_MIN;
    for (int i = 0; i < N; i++) m = a[i] > m ? a[i] : m;
    return m;
}

__attribute__((noinline)) static uint32_t count(const uint8_t *restrict a, uint8_t key) {
    uint32_t c = 0;
    for (int i = 0; i < N; i++) c += a[i] == key;
    return c;
}

int main(void) {
    uint32_t r = 7u;
    for (int i = 0; i < N; i++) {
        r = r * 1664525u + 1013904223u;
        xs[i] = (float)(r >> 8) * (1.0f / 16777216.0f) - 0.5f;
        ys[i] = (float)(i % 97) * 0.125f;
        ia[i] = (int32_t)(r >> 3) - (1 << 28);
        ib[i] = (int32_t)(i * 2654435761u);
        text[i] = (uint8_t)(r >> 24);
    }
    uint64_t acc = 0;
    int64_t mx = 0;
    for (int rep = 0; rep < 66000; rep++) {
        saxpy((rep & 1) ? 0.75f : -1.25f, xs, ys);
        uint32_t d = dot_i32(ia, ib);
        acc += d;
        ia[rep % N] ^= (int32_t)d;
        upper_sat(out, text, (uint8_t)(rep & 15));
        acc += sad(out, text);
        remix(text, out, (uint8_t)rep);
        widen(s16, text);
        mx += max_i16(s16);
        acc += count(text, (uint8_t)(rep * 11));
    }
    uint32_t hash = 2166136261u;
    for (int i = 0; i < N; i++) {
        uint32_t bits;
        memcpy(&bits, &ys[i], sizeof bits);
        hash = (hash ^ bits) * 16777619u;
        hash = (hash ^ (uint16_t)s16[i] ^ text[i]) * 16777619u;
    }
    printf("acc=%llu max=%lld hash=%08x\n", (unsigned long long)acc, (long long)mx, hash);
    return 0;
}
