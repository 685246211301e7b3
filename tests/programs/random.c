// Prints 32 random bytes in hex, then whether they are all zero.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    unsigned char buf[32];
    if (getentropy(buf, sizeof buf) != 0) return 1;
    int zero = 1;
    for (int i = 0; i < 32; i++) { printf("%02x", buf[i]); if (buf[i]) zero = 0; }
    printf("\nall zero: %d\n", zero);
    return 0;
}
