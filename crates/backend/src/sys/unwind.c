/*
 * The only non-Rust code of the engine: entering Wasm under a sigsetjmp
 * point, and leaving it by siglongjmp from the trap handler.
 *
 * Rust cannot call setjmp itself (a function that returns twice is outside
 * its model), so the jump point lives in this C frame. Everything between
 * this frame and the faulting instruction is Wasm code or a Cranelift
 * trampoline, neither of which owns resources to release, plus the signal
 * handler frame, which holds nothing with a destructor when it jumps.
 */
#include <setjmp.h>
#include <stddef.h>

typedef void (*wasm_jit_trampoline)(void *, void *, void *, void *);

/*
 * Calls `f(a, b, c, d)`. While it runs, `*slot` points at this call's jump
 * buffer (the previous value is restored on both exits). Returns 1 when `f`
 * returned normally and 0 when wasm_jit_unwind jumped back here.
 */
int wasm_jit_call(wasm_jit_trampoline f, void *a, void *b, void *c, void *d,
                  void **slot) {
  sigjmp_buf buf;
  void *prev = *slot;
  if (sigsetjmp(buf, 0) == 0) {
    *slot = &buf;
    f(a, b, c, d);
    *slot = prev;
    return 1;
  }
  *slot = prev;
  return 0;
}

/* Jumps back to the wasm_jit_call that owns `buf`. */
void wasm_jit_unwind(void *buf) { siglongjmp(*(sigjmp_buf *)buf, 1); }

/* Makes freshly written code visible to instruction fetch (a no-op on x86-64). */
void wasm_jit_flush_icache(char *start, char *end) {
  __builtin___clear_cache(start, end);
}
