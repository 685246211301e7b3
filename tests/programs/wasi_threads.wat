;; wasi-threads without a C library (`wasm-jit run -S threads=y`): _start
;; spawns 4 threads; each adds 1 to a counter 100000 times, adds its id to
;; a sum, and counts itself done (notifying the main thread, which waits
;; for all four), then the main thread prints the counter and the sum.
;; The start argument is the word at 12 (0 here; cli/tests/wasi.rs makes
;; it 99, a thread that traps, or 98, one that exits with status 7).
;; Memory: 0 counter, 4 threads still running, 8 sum of ids, 12 start
;; argument, 16 iovec, 32 text.
(module
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (local $i i32)
    (if (i32.eq (local.get $arg) (i32.const 99)) (then unreachable))
    (if (i32.eq (local.get $arg) (i32.const 98)) (then (call $exit (i32.const 7))))
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))
    (drop (i32.atomic.rmw.add (i32.const 8) (local.get $tid)))
    (drop (i32.atomic.rmw.sub (i32.const 4) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1))))
  ;; Writes the decimal digits of $v at 32 and then "\n", and prints them.
  (func $print (param $v i32)
    (local $len i32) (local $d i32) (local $t i32)
    (local.set $t (local.get $v))
    (loop $count
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (br_if $count (local.get $t)))
    (local.set $d (local.get $len))
    (loop $digits
      (local.set $d (i32.sub (local.get $d) (i32.const 1)))
      (i32.store8 (i32.add (i32.const 32) (local.get $d))
        (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $digits (local.get $d)))
    (i32.store8 (i32.add (i32.const 32) (local.get $len)) (i32.const 10))
    (i32.store (i32.const 16) (i32.const 32))
    (i32.store (i32.const 20) (i32.add (local.get $len) (i32.const 1)))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))))
  (func (export "_start")
    (local $n i32) (local $running i32)
    (i32.atomic.store (i32.const 4) (i32.const 4))
    (loop $spawn
      (if (i32.le_s (call $spawn (i32.load (i32.const 12))) (i32.const 0)) (then unreachable))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $spawn (i32.lt_u (local.get $n) (i32.const 4))))
    (block $done (loop $wait
      (local.set $running (i32.atomic.load (i32.const 4)))
      (br_if $done (i32.eqz (local.get $running)))
      (drop (memory.atomic.wait32 (i32.const 4) (local.get $running) (i64.const -1)))
      (br $wait)))
    (call $print (i32.atomic.load (i32.const 0)))
    (call $print (i32.atomic.load (i32.const 8)))))
