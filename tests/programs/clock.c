// Clocks and sleeping (nanosleep is poll_oneoff with a clock subscription).
#include <stdio.h>
#include <time.h>

static long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    struct timespec res, rt, m0, m1, cpu;
    if (clock_getres(CLOCK_MONOTONIC, &res) != 0) return 1;
    if (clock_gettime(CLOCK_REALTIME, &rt) != 0) return 1;
    if (clock_gettime(CLOCK_MONOTONIC, &m0) != 0) return 1;
    struct timespec req = {0, 50 * 1000 * 1000};
    if (nanosleep(&req, NULL) != 0) return 1;
    if (clock_gettime(CLOCK_MONOTONIC, &m1) != 0) return 1;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) != 0) return 1;
    long long slept = ns(m1) - ns(m0);
    printf("resolution positive: %d\n", ns(res) > 0);
    printf("realtime after 2020: %d\n", rt.tv_sec > 1577836800);
    printf("slept at least 50ms: %d\n", slept >= 50000000LL);
    printf("slept less than 5s: %d\n", slept < 5000000000LL);
    printf("cpu time non-negative: %d\n", ns(cpu) >= 0);
    return 0;
}
