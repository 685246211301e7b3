// Our harness for meshoptimizer (fetched and built by scripts/third-party.sh):
// runs the library's vertex and index codecs and its vertex filters, whose
// decoders have Wasm SIMD128 code paths (SSE on x86-64), on generated meshes,
// and prints sizes and FNV-1a digests. The output is the same natively and
// under WASI, so a run compares byte for byte with the native build's.
// An optional argument scales the work, in percent (default 100).
//
// Only C headers are used, so the Wasm build needs no C++ runtime: the
// library's allocations go through the operator new/delete defined below.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshoptimizer.h"

#ifdef __wasi__
void* operator new(size_t n) {
    void* p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
void operator delete[](void* p, size_t) noexcept { free(p); }
#endif

static uint64_t fnv(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint32_t murmur3(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

// A float in [-1, 1] from a hash (exact: 24-bit integer times 2^-23).
static float unit(uint32_t h) { return float(int32_t(h >> 8) - (1 << 23)) * (1.f / 8388608.f); }

static void* alloc(size_t n) {
    void* p = calloc(n ? n : 1, 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(3);
    }
    return p;
}

static int failures = 0;
static void check(bool ok, const char* what) {
    if (!ok) {
        printf("FAILED: %s\n", what);
        failures++;
    }
}

// Noisy 32-byte vertices (each word has its own bit width, so every byte
// group encoding is used) and smooth 16-byte ones (a quantized surface).
struct Noisy {
    uint16_t data[16];
};
struct Smooth {
    uint16_t px, py, pz, pw;
    int8_t nx, ny, nz, nw;
    uint16_t u, v;
};

template <typename V>
static void vertex_codec(const char* name, const V* vertices, size_t count, int rounds) {
    size_t bound = meshopt_encodeVertexBufferBound(count, sizeof(V));
    unsigned char* packed = static_cast<unsigned char*>(alloc(bound));
    size_t size = meshopt_encodeVertexBuffer(packed, bound, vertices, count, sizeof(V));
    check(size > 0 && size <= bound, "vertex encode");
    printf("vertex %s: %zu x %zu bytes -> %zu bytes, digest %016llx\n", name, count, sizeof(V), size,
           (unsigned long long)fnv(packed, size));
    V* out = static_cast<V*>(alloc(count * sizeof(V)));
    uint64_t h = 0;
    for (int r = 0; r < rounds; r++) {
        memset(out, r, count * sizeof(V));
        int rc = meshopt_decodeVertexBuffer(out, count, sizeof(V), packed, size);
        check(rc == 0, "vertex decode");
        h = fnv(out, count * sizeof(V), h ^ uint64_t(rc));
    }
    check(memcmp(out, vertices, count * sizeof(V)) == 0, "vertex round trip");
    printf("vertex %s: %d decodes, digest %016llx\n", name, rounds, (unsigned long long)h);
    // Truncated and corrupted streams are rejected, not decoded.
    int short_rc = meshopt_decodeVertexBuffer(out, count, sizeof(V), packed, size / 2);
    unsigned char saved = packed[0];
    packed[0] = 0x55;
    int header_rc = meshopt_decodeVertexBuffer(out, count, sizeof(V), packed, size);
    packed[0] = saved;
    printf("vertex %s: truncated -> %d, bad header -> %d\n", name, short_rc, header_rc);
    free(out);
    free(packed);
}

// The index codec keeps the triangle order but may rotate a triangle's
// vertices: true if `b` is `a` up to such rotations.
static bool same_triangles(const unsigned int* a, const unsigned int* b, size_t index_count) {
    for (size_t i = 0; i < index_count; i += 3) {
        const unsigned int* t = a + i;
        const unsigned int* u = b + i;
        bool r0 = t[0] == u[0] && t[1] == u[1] && t[2] == u[2];
        bool r1 = t[0] == u[1] && t[1] == u[2] && t[2] == u[0];
        bool r2 = t[0] == u[2] && t[1] == u[0] && t[2] == u[1];
        if (!r0 && !r1 && !r2) return false;
    }
    return true;
}

static void index_codec(const unsigned int* indices, size_t index_count, size_t vertex_count, int rounds) {
    unsigned int* out = static_cast<unsigned int*>(alloc(index_count * 4));
    uint16_t* out16 = static_cast<uint16_t*>(alloc(index_count * 2));
    for (int version = 0; version <= 1; version++) {
        meshopt_encodeIndexVersion(version);
        size_t bound = meshopt_encodeIndexBufferBound(index_count, vertex_count);
        unsigned char* packed = static_cast<unsigned char*>(alloc(bound));
        size_t size = meshopt_encodeIndexBuffer(packed, bound, indices, index_count);
        check(size > 0, "index encode");
        uint64_t h = 0;
        for (int r = 0; r < rounds; r++) {
            int rc = meshopt_decodeIndexBuffer(out, index_count, 4, packed, size);
            check(rc == 0, "index decode");
            h = fnv(out, index_count * 4, h);
        }
        check(same_triangles(indices, out, index_count), "index round trip");
        bool small = vertex_count <= 65536;
        if (small) {
            meshopt_decodeIndexBuffer(out16, index_count, 2, packed, size);
            h = fnv(out16, index_count * 2, h);
        }
        printf("index buffer v%d: %zu indices -> %zu bytes, digest %016llx, decoded %016llx\n", version,
               index_count, size, (unsigned long long)fnv(packed, size), (unsigned long long)h);
        free(packed);

        bound = meshopt_encodeIndexSequenceBound(index_count, vertex_count);
        packed = static_cast<unsigned char*>(alloc(bound));
        size = meshopt_encodeIndexSequence(packed, bound, indices, index_count);
        int rc = meshopt_decodeIndexSequence(out, index_count, 4, packed, size);
        check(rc == 0 && memcmp(out, indices, index_count * 4) == 0, "index sequence round trip");
        printf("index sequence v%d: %zu bytes, digest %016llx\n", version, size,
               (unsigned long long)fnv(packed, size));
        free(packed);
    }
    free(out16);
    free(out);
}

// Encodes float data with a filter, then decodes it `rounds` times.
static void filters(size_t count, int rounds) {
    size_t count4 = (count + 3) & ~size_t(3);
    float* normals = static_cast<float*>(alloc(count4 * 16));
    float* quats = static_cast<float*>(alloc(count4 * 16));
    float* values = static_cast<float*>(alloc(count4 * 16));
    for (size_t i = 0; i < count4; i++) {
        uint32_t s = uint32_t(i) * 4;
        float x = unit(murmur3(s)), y = unit(murmur3(s + 1)), z = unit(murmur3(s + 2)), w = unit(murmur3(s + 3));
        // Correctly rounded IEEE operations only (sqrtf too): the same bits on both builds.
        float inv = 1.f / sqrtf(x * x + y * y + z * z + 1e-6f);
        normals[i * 4 + 0] = x * inv;
        normals[i * 4 + 1] = y * inv;
        normals[i * 4 + 2] = z * inv;
        normals[i * 4 + 3] = w;
        float qinv = 1.f / sqrtf(x * x + y * y + z * z + w * w + 1e-6f);
        quats[i * 4 + 0] = x * qinv;
        quats[i * 4 + 1] = y * qinv;
        quats[i * 4 + 2] = z * qinv;
        quats[i * 4 + 3] = w * qinv;
        float scale = float(1 << (murmur3(s + 7) % 20)) / 1024.f;
        values[i * 4 + 0] = x * scale;
        values[i * 4 + 1] = y * scale;
        values[i * 4 + 2] = z * 1000.f;
        values[i * 4 + 3] = w / 3.f;
    }

    struct Case {
        const char* name;
        size_t stride;
        int bits;
        int kind; // 0 oct, 1 quat, 2 exp
    } cases[] = {
        {"oct8", 4, 8, 0},   {"oct12", 8, 12, 0}, {"oct16", 8, 16, 0},
        {"quat12", 8, 12, 1}, {"quat16", 8, 16, 1}, {"exp15", 16, 15, 2},
        {"exp24", 16, 24, 2},
    };
    unsigned char* encoded = static_cast<unsigned char*>(alloc(count4 * 16));
    unsigned char* work = static_cast<unsigned char*>(alloc(count4 * 16));
    for (const Case& c : cases) {
        size_t bytes = count4 * c.stride;
        if (c.kind == 0)
            meshopt_encodeFilterOct(encoded, count4, c.stride, c.bits, normals);
        else if (c.kind == 1)
            meshopt_encodeFilterQuat(encoded, count4, c.stride, c.bits, quats);
        else
            meshopt_encodeFilterExp(encoded, count4, c.stride, c.bits, values);
        uint64_t h = 0;
        for (int r = 0; r < rounds; r++) {
            memcpy(work, encoded, bytes);
            if (c.kind == 0)
                meshopt_decodeFilterOct(work, count4, c.stride);
            else if (c.kind == 1)
                meshopt_decodeFilterQuat(work, count4, c.stride);
            else
                meshopt_decodeFilterExp(work, count4, c.stride);
            if (r == 0) h = fnv(work, bytes);
        }
        char decoded[64];
        snprintf(decoded, sizeof decoded, "%016llx", (unsigned long long)h);
        if (c.kind == 0 && c.stride == 4) {
            // x86's 8-bit octahedral decoder scales by an approximate
            // reciprocal square root (SSE rsqrtps) where Wasm's divides by an
            // exact one, so the last bit may differ: compare each component
            // with the exact decoding instead of printing the digest.
            size_t off = 0;
            for (size_t i = 0; i < count4; i++) {
                const int8_t* e = reinterpret_cast<const int8_t*>(encoded + i * 4);
                const int8_t* d = reinterpret_cast<const int8_t*>(work + i * 4);
                double x = e[0], y = e[1], z = double(e[2]) - fabs(x) - fabs(y);
                double t = z >= 0 ? 0 : z;
                x += x >= 0 ? t : -t;
                y += y >= 0 ? t : -t;
                double s = 127 / sqrt(x * x + y * y + z * z);
                double ref[3] = {x * s, y * s, z * s};
                for (int j = 0; j < 3; j++)
                    if (fabs(double(d[j]) - ref[j]) > 1.0) off++;
                if (d[3] != e[3]) off++;
            }
            check(off == 0, "oct8 decodes within 1 of the exact value");
            snprintf(decoded, sizeof decoded, "%zu off by more than 1", off);
        }
        // A sample of the decoded values, as numbers.
        char sample[96];
        if (c.kind == 2) {
            float f[2];
            memcpy(f, work + 16 * 5, sizeof f);
            snprintf(sample, sizeof sample, "%.9g %.9g", double(f[0]), double(f[1]));
        } else if (c.stride == 4) {
            const int8_t* v = reinterpret_cast<const int8_t*>(work + 4 * 5);
            snprintf(sample, sizeof sample, "%d %d %d %d", v[0], v[1], v[2], v[3]);
        } else {
            int16_t v[4];
            memcpy(v, work + 8 * 5, sizeof v);
            snprintf(sample, sizeof sample, "%d %d %d %d", v[0], v[1], v[2], v[3]);
        }
        printf("filter %s: %zu bytes, encoded %016llx, decoded %s (x%d)", c.name, bytes,
               (unsigned long long)fnv(encoded, bytes), decoded, rounds);
        if (!(c.kind == 0 && c.stride == 4)) printf(", #5: %s", sample);
        printf("\n");
    }
    free(work);
    free(encoded);
    free(values);
    free(quats);
    free(normals);
}

int main(int argc, char** argv) {
    int percent = argc > 1 ? atoi(argv[1]) : 100;
    if (percent < 1) percent = 1;
    const int rounds = (20 * percent + 99) / 100;
    const size_t n = 384; // grid of (n+1)^2 vertices, 2 n^2 triangles

    printf("meshoptimizer %d codec and filter harness, %d%%\n", MESHOPTIMIZER_VERSION, percent);

    const size_t vertex_count = (n + 1) * (n + 1);
    Noisy* noisy = static_cast<Noisy*>(alloc(vertex_count * sizeof(Noisy)));
    Smooth* smooth = static_cast<Smooth*>(alloc(vertex_count * sizeof(Smooth)));
    for (size_t x = 0; x <= n; x++)
        for (size_t y = 0; y <= n; y++) {
            size_t i = x * (n + 1) + y;
            for (int k = 0; k < 16; k++)
                noisy[i].data[k] = uint16_t(murmur3(uint32_t(i * 16 + k)) & ((1u << (k + 1)) - 1));
            uint32_t h = murmur3(uint32_t(i));
            float fx = float(x) / float(n), fy = float(y) / float(n);
            float fz = 0.25f * (fx * fx - fy * fy) + float(h & 15) / 65536.f;
            Smooth& s = smooth[i];
            s.px = uint16_t(meshopt_quantizeUnorm(fx, 16));
            s.py = uint16_t(meshopt_quantizeUnorm(fy, 16));
            s.pz = uint16_t(meshopt_quantizeUnorm(fz + 0.5f, 16));
            s.pw = 1;
            s.nx = int8_t(meshopt_quantizeSnorm(-0.5f * fx, 8));
            s.ny = int8_t(meshopt_quantizeSnorm(0.5f * fy, 8));
            s.nz = int8_t(meshopt_quantizeSnorm(1.f - 0.25f * (fx + fy), 8));
            s.nw = 0;
            s.u = meshopt_quantizeHalf(fx * 4.f);
            s.v = meshopt_quantizeHalf(fy * 4.f);
        }

    const size_t index_count = n * n * 6;
    unsigned int* grid = static_cast<unsigned int*>(alloc(index_count * 4));
    size_t k = 0;
    for (size_t x = 0; x < n; x++)
        for (size_t y = 0; y < n; y++) {
            unsigned int a = unsigned(x * (n + 1) + y), b = a + unsigned(n + 1);
            unsigned int tri[6] = {a, b, a + 1, a + 1, b, b + 1};
            for (unsigned int t : tri) grid[k++] = t;
        }

    // The encoders expect an optimized mesh: vertex cache, then fetch order.
    unsigned int* indices = static_cast<unsigned int*>(alloc(index_count * 4));
    meshopt_optimizeVertexCache(indices, grid, index_count, vertex_count);
    meshopt_VertexCacheStatistics before = meshopt_analyzeVertexCache(grid, index_count, vertex_count, 16, 0, 0);
    meshopt_VertexCacheStatistics after = meshopt_analyzeVertexCache(indices, index_count, vertex_count, 16, 0, 0);
    printf("mesh: %zu vertices, %zu triangles, vertex cache %u -> %u transforms, digest %016llx\n", vertex_count,
           index_count / 3, before.vertices_transformed, after.vertices_transformed,
           (unsigned long long)fnv(indices, index_count * 4));
    unsigned int* remap = static_cast<unsigned int*>(alloc(vertex_count * 4));
    size_t unique = meshopt_optimizeVertexFetchRemap(remap, indices, index_count, vertex_count);
    check(unique == vertex_count, "every vertex is used");
    meshopt_remapIndexBuffer(indices, indices, index_count, remap);
    meshopt_remapVertexBuffer(noisy, noisy, vertex_count, sizeof(Noisy), remap);
    meshopt_remapVertexBuffer(smooth, smooth, vertex_count, sizeof(Smooth), remap);
    printf("fetch order: digest %016llx\n", (unsigned long long)fnv(remap, vertex_count * 4));

    vertex_codec("noisy", noisy, vertex_count, rounds);
    vertex_codec("smooth", smooth, vertex_count, rounds);
    index_codec(indices, index_count, vertex_count, rounds);
    filters(vertex_count, rounds);

    free(remap);
    free(indices);
    free(grid);
    free(smooth);
    free(noisy);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
