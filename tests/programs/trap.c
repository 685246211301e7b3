// Divides by an argument; with 0 it traps.
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int divide(int a, int b) { return a / b; }

int main(int argc, char **argv) {
    int d = argc > 1 ? atoi(argv[1]) : 0;
    printf("%d\n", divide(100, d));
    return 0;
}
