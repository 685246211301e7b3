// Binary trees: allocation-heavy (malloc/free of many small nodes).
#include <stdio.h>
#include <stdlib.h>

struct node { struct node *l, *r; };

static struct node *make(int d) {
    struct node *n = malloc(sizeof *n);
    if (d > 0) { n->l = make(d - 1); n->r = make(d - 1); } else { n->l = n->r = NULL; }
    return n;
}
static long check(struct node *n) { return n->l ? 1 + check(n->l) + check(n->r) : 1; }
static void release(struct node *n) { if (n->l) { release(n->l); release(n->r); } free(n); }

int main(void) {
    const int max = 18;
    struct node *s = make(max + 1);
    printf("stretch tree of depth %d\t check: %ld\n", max + 1, check(s));
    release(s);
    struct node *longlived = make(max);
    for (int d = 4; d <= max; d += 2) {
        long iters = 1L << (max - d + 4), c = 0;
        for (long i = 0; i < iters; i++) { struct node *t = make(d); c += check(t); release(t); }
        printf("%ld\t trees of depth %d\t check: %ld\n", iters, d, c);
    }
    printf("long lived tree of depth %d\t check: %ld\n", max, check(longlived));
    return 0;
}
