/* <setjmp.h> for wasm32-wasi programs built with clang's
 * `-mllvm -wasm-enable-sjlj` (Debian's wasi-libc has none): LLVM rewrites
 * calls to setjmp and longjmp into Wasm exception handling that calls the
 * functions of runtime.c. Only the first word of a jmp_buf is used. */
#ifndef SJLJ_SETJMP_H
#define SJLJ_SETJMP_H
typedef unsigned long jmp_buf[2];
int setjmp(jmp_buf env) __attribute__((returns_twice));
_Noreturn void longjmp(jmp_buf env, int val);
#endif
