// Dense double-precision matrix multiply, checksum of the result.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const int n = 512;
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n), *c = calloc(n * n, sizeof(double));
    for (int i = 0; i < n * n; i++) { a[i] = (i % 17) * 0.25 - 1.0; b[i] = (i % 13) * 0.5 - 2.0; }
    for (int rep = 0; rep < 15; rep++)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double aik = a[i * n + k];
                for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
            }
    double sum = 0;
    for (int i = 0; i < n * n; i++) sum += c[i] * ((i % 7) - 3);
    printf("%.3f\n", sum);
    return 0;
}
