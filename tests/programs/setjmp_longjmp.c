/* setjmp and longjmp as C programs use them for errors. Built for Wasm
 * with clang's `-mllvm -wasm-enable-sjlj` (legacy Wasm exceptions: try,
 * catch, delegate, rethrow; see build.sh), natively with gcc: both print
 * the same. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

/* A stack of handlers, as interpreters keep (Lua's pcall). */
struct handler {
    jmp_buf buf;
    struct handler *outer;
    int error;
};
static struct handler *handlers;

static _Noreturn void raise_error(int error) {
    if (!handlers) {
        printf("uncaught error %d\n", error);
        exit(3);
    }
    handlers->error = error;
    longjmp(handlers->buf, 1);
}

/* Calls f(arg); returns 0, or the error it raised. */
static int protected_call(int (*f)(int), int arg, int *result) {
    struct handler h;
    h.outer = handlers;
    h.error = 0;
    handlers = &h;
    if (setjmp(h.buf) == 0)
        *result = f(arg);
    handlers = h.outer;
    return h.error;
}

static int checked_div(int x) {
    if (x % 7 == 0)
        raise_error(700 + x % 100);
    return 1000 / (x % 7);
}

/* A handler that handles some errors and passes the others on. */
static int filtered(int x) {
    int r = 0;
    int error = protected_call(checked_div, x, &r);
    if (error && x % 2 == 0)
        raise_error(error + 10000);
    return error ? -error : r;
}

static int depth_reached;
static int recurse(int n) {
    volatile int local = n * 3;
    depth_reached = n;
    if (n == 0)
        raise_error(42);
    return recurse(n - 1) + local;
}

static jmp_buf far;
/* Has a setjmp of its own, but the longjmp goes past it to `far`. */
static int own_setjmp(int n) {
    jmp_buf mine;
    volatile int k = n;
    if (setjmp(mine) != 0) {
        printf("wrong buffer\n");
        return -1;
    }
    if (k > 0)
        return own_setjmp(k - 1) + 1;
    longjmp(far, 0);
}

/* Two setjmp sites in one function. */
static int two_sites(int which) {
    jmp_buf a, b;
    volatile int steps = 0;
    int ra = setjmp(a);
    steps += 1;
    if (ra != 0)
        return steps * 100 + ra;
    int rb = setjmp(b);
    steps += 10;
    if (rb != 0)
        return steps * 100 + rb;
    if (which)
        longjmp(b, 5);
    longjmp(a, 6);
}

int main(void) {
    for (int x = 5; x <= 16; x++) {
        int r = 0;
        int error = protected_call(filtered, x, &r);
        printf("filtered(%d): error %d result %d\n", x, error, r);
    }
    int r = 0;
    int error = protected_call(recurse, 1000, &r);
    printf("recurse: error %d at depth %d\n", error, depth_reached);
    int got = setjmp(far);
    if (got == 0)
        own_setjmp(50);
    else
        printf("longjmp(far, 0) returned %d\n", got);
    printf("two sites: %d %d\n", two_sites(1), two_sites(0));
    long sum = 0;
    for (int i = 1; i <= 200000; i++) {
        error = protected_call(checked_div, i, &r);
        sum += error ? error : r;
    }
    printf("sum %ld, handlers left %s\n", sum, handlers ? "some" : "none");
    raise_error(5);
}
