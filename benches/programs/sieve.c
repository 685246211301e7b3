// Sieve of Eratosthenes, repeated; counts primes and sums the last ones.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    const int n = 20000000;
    unsigned char *composite = malloc(n + 1);
    long long total = 0, last = 0;
    for (int rep = 0; rep < 5; rep++) {
        memset(composite, 0, n + 1);
        int count = 0;
        for (long long i = 2; i <= n; i++) {
            if (composite[i]) continue;
            count++;
            last = i;
            for (long long j = i * i; j <= n; j += i) composite[j] = 1;
        }
        total += count;
    }
    printf("primes=%lld last=%lld\n", total, last);
    return 0;
}
