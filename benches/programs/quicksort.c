// Sorts 10 million pseudo-random integers with a hand-written quicksort.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void sort(int32_t *a, long lo, long hi) {
    while (hi - lo > 16) {
        int32_t p = a[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { int32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { sort(a, lo, j); lo = i; } else { sort(a, i, hi); hi = j; }
    }
    for (long i = lo + 1; i <= hi; i++) { int32_t v = a[i]; long j = i - 1; while (j >= lo && a[j] > v) { a[j + 1] = a[j]; j--; } a[j + 1] = v; }
}

int main(void) {
    const long n = 10000000;
    int32_t *a = malloc(n * sizeof(int32_t));
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; a[i] = (int32_t)x; }
    sort(a, 0, n - 1);
    uint64_t sum = 0;
    for (long i = 0; i < n; i++) { if (i && a[i - 1] > a[i]) { printf("unsorted\n"); return 1; } sum = sum * 31 + (uint32_t)a[i]; }
    printf("%llu\n", (unsigned long long)sum);
    return 0;
}
