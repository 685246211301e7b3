// Mandelbrot set: counts points inside, and a checksum of the bitmap.
#include <stdio.h>

int main(void) {
    const int w = 3400, h = 3400, iter = 50;
    unsigned long long inside = 0, sum = 0;
    for (int y = 0; y < h; y++) {
        unsigned char byte = 0;
        for (int x = 0; x < w; x++) {
            double cr = 2.0 * x / w - 1.5, ci = 2.0 * y / h - 1.0, zr = 0, zi = 0, tr = 0, ti = 0;
            int i = 0;
            for (; i < iter && tr + ti <= 4.0; i++) { zi = 2.0 * zr * zi + ci; zr = tr - ti + cr; tr = zr * zr; ti = zi * zi; }
            byte = (byte << 1) | (tr + ti <= 4.0);
            if (tr + ti <= 4.0) inside++;
            if ((x & 7) == 7) { sum = sum * 31 + byte; byte = 0; }
        }
    }
    printf("inside=%llu checksum=%llu\n", inside, sum);
    return 0;
}
