/* What clang 14's `-mllvm -wasm-enable-sjlj` lowering calls.
 *
 * A function that calls setjmp keeps a table of (id, label) pairs, one per
 * setjmp it reached, ended by an id of 0. setjmp gives its jmp_buf a fresh
 * id. longjmp throws the C longjmp tag with the buffer and the value; every
 * function with a table catches it, asks testSetjmp whether the buffer's id
 * is one of its own and, if not, rethrows it. */
#include <stdlib.h>

struct entry {
    unsigned id, label;
};

/* A second return value, which LLVM reads back with getTempRet0. */
static unsigned second;
static unsigned last_id;

unsigned getTempRet0(void) { return second; }
void setTempRet0(unsigned v) { second = v; }

/* Records setjmp site `label` in `table` (room for `size` entries and the
 * end mark) under a new id, written to `env`; returns the table, grown if
 * it was full, and its new size as the second value. */
struct entry *saveSetjmp(unsigned *env, unsigned label, struct entry *table, unsigned size) {
    unsigned n = 0;
    while (n < size && table[n].id != 0)
        n++;
    if (n == size) {
        size *= 2;
        table = realloc(table, (size + 1) * sizeof *table);
        if (!table)
            abort();
    }
    if (++last_id == 0)
        ++last_id;
    table[n].id = last_id;
    table[n].label = label;
    table[n + 1].id = 0;
    *env = last_id;
    second = size;
    return table;
}

/* The label of the setjmp site whose id is `id`, or 0 if not in `table`. */
unsigned testSetjmp(unsigned id, struct entry *table, unsigned size) {
    for (unsigned n = 0; n < size && table[n].id != 0; n++)
        if (table[n].id == id)
            return table[n].label;
    return 0;
}

static struct {
    void *env;
    int val;
} thrown;

void __wasm_longjmp(void *env, int val) {
    thrown.env = env;
    thrown.val = val ? val : 1; /* longjmp(env, 0) makes setjmp return 1 */
    __builtin_wasm_throw(1, &thrown);
}
