;; WASI snapshot 0 (`wasi_unstable`), as old toolchains import it: `check`
;; returns 0, or the number of the first step whose result is not what
;; snapshot 0 specifies (its whence order cur/end/set, its 56-byte filestat
;; with a 32-bit link count, clock subscriptions that start with an
;; identifier). Wasmtime 49 returns 0 too. Needs a preopen as fd 3.
(module
  (import "wasi_unstable" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_filestat_get" (func $fstat (param i32 i32) (result i32)))
  (import "wasi_unstable" "path_filestat_get" (func $pstat (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "f.txt")
  (data (i32.const 200) "0123456789")
  (func (export "check") (result i32)
    ;; open f.txt (creat|trunc) -> fd at 0
    (if (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 5) (i32.const 9)
          (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 0))
      (then (return (i32.const 1))))
    (i32.store (i32.const 8) (i32.const 200))
    (i32.store (i32.const 12) (i32.const 10))
    (if (call $write (i32.load (i32.const 0)) (i32.const 8) (i32.const 1) (i32.const 16))
      (then (return (i32.const 2))))
    ;; whence 2 = SET in snapshot 0
    (if (call $seek (i32.load (i32.const 0)) (i64.const 3) (i32.const 2) (i32.const 24))
      (then (return (i32.const 3))))
    (if (i64.ne (i64.load (i32.const 24)) (i64.const 3)) (then (return (i32.const 4))))
    ;; whence 1 = END
    (if (call $seek (i32.load (i32.const 0)) (i64.const -2) (i32.const 1) (i32.const 24))
      (then (return (i32.const 5))))
    (if (i64.ne (i64.load (i32.const 24)) (i64.const 8)) (then (return (i32.const 6))))
    ;; whence 0 = CUR
    (if (call $seek (i32.load (i32.const 0)) (i64.const 1) (i32.const 0) (i32.const 24))
      (then (return (i32.const 7))))
    (if (i64.ne (i64.load (i32.const 24)) (i64.const 9)) (then (return (i32.const 8))))
    ;; filestat: 56 bytes, canary after it
    (i64.store (i32.const 360) (i64.const 0x1122334455667788))
    (if (call $fstat (i32.load (i32.const 0)) (i32.const 304)) (then (return (i32.const 9))))
    (if (i32.ne (i32.load8_u (i32.const 320)) (i32.const 4)) (then (return (i32.const 10))))
    (if (i32.ne (i32.load (i32.const 324)) (i32.const 1)) (then (return (i32.const 11))))
    (if (i64.ne (i64.load (i32.const 328)) (i64.const 10)) (then (return (i32.const 12))))
    (if (i64.ne (i64.load (i32.const 360)) (i64.const 0x1122334455667788)) (then (return (i32.const 13))))
    (if (call $pstat (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 5) (i32.const 400))
      (then (return (i32.const 14))))
    (if (i64.ne (i64.load (i32.const 424)) (i64.const 10)) (then (return (i32.const 15))))
    ;; poll_oneoff: one relative clock subscription of 1 µs, 56 bytes
    (i64.store (i32.const 504) (i64.const 77))     ;; userdata
    (i32.store8 (i32.const 512) (i32.const 0))     ;; clock
    (i64.store (i32.const 520) (i64.const 5))      ;; identifier
    (i32.store (i32.const 528) (i32.const 1))      ;; monotonic
    (i64.store (i32.const 536) (i64.const 1000))   ;; timeout
    (i64.store (i32.const 544) (i64.const 0))      ;; precision
    (i32.store16 (i32.const 552) (i32.const 0))    ;; flags
    (if (call $poll (i32.const 504) (i32.const 600) (i32.const 1) (i32.const 640))
      (then (return (i32.const 16))))
    (if (i32.ne (i32.load (i32.const 640)) (i32.const 1)) (then (return (i32.const 17))))
    (if (i64.ne (i64.load (i32.const 600)) (i64.const 77)) (then (return (i32.const 18))))
    (if (i32.ne (i32.load16_u (i32.const 608)) (i32.const 0)) (then (return (i32.const 19))))
    (i32.const 0)))
