;; WASI calls given pointers at the very top of a 4 GiB memory: every
;; field or element past 4 GiB is out of bounds (EFAULT = 21), never
;; wrapped around to address 0, and nothing is written. Huge iovec and
;; subscription counts are EINVAL (28) without the host allocating for
;; them. Run with two environment variables (A=1, B=2); `run` returns 0,
;; or the number of the first check that failed.
(module
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 65536)
  (func $low_untouched (result i32)
    ;; The first 64 bytes are still zero.
    (local $i i32) (local $acc i64)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.const 64)))
      (local.set $acc (i64.or (local.get $acc) (i64.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $l)))
    (i64.eqz (local.get $acc)))
  (func (export "run") (result i32)
    ;; The environ array 4 bytes before the end: environ[1] would land at 0.
    (if (i32.ne (call $environ_get (i32.const 0xfffffffc) (i32.const 0x1000)) (i32.const 21))
      (then (return (i32.const 1))))
    ;; "A=1" ends exactly at 4 GiB: its NUL would land at address 0.
    (if (i32.ne (call $environ_get (i32.const 0x1000) (i32.const 0xfffffffd)) (i32.const 21))
      (then (return (i32.const 2))))
    ;; Nothing was written at 0x1000 either (no partial writes).
    (if (i32.ne (i32.load (i32.const 0x1000)) (i32.const 0))
      (then (return (i32.const 3))))
    ;; An iovec at 0xfffffffc: its length field would be read from 0.
    (if (i32.ne (call $fd_write (i32.const 1) (i32.const 0xfffffffc) (i32.const 1) (i32.const 0x2000))
                (i32.const 21))
      (then (return (i32.const 4))))
    ;; poll_oneoff with room for one event at the top, two subscriptions.
    (i64.store (i32.const 0x3000) (i64.const 7))          ;; userdata
    (i32.store8 (i32.const 0x3008) (i32.const 0))         ;; clock
    (i64.store (i32.const 0x3030) (i64.const 8))
    (i32.store8 (i32.const 0x3038) (i32.const 0))
    (if (i32.ne (call $poll (i32.const 0x3000) (i32.const 0xffffffe0) (i32.const 2) (i32.const 0x2000))
                (i32.const 21))
      (then (return (i32.const 5))))
    ;; Far too many iovecs, and subscriptions: EINVAL, nothing allocated.
    (if (i32.ne (call $fd_write (i32.const 1) (i32.const 0x4000) (i32.const 134000000) (i32.const 0x2000))
                (i32.const 28))
      (then (return (i32.const 6))))
    (if (i32.ne (call $poll (i32.const 0x3000) (i32.const 0x5000) (i32.const 22000000) (i32.const 0x2000))
                (i32.const 28))
      (then (return (i32.const 7))))
    (if (i32.eqz (call $low_untouched)) (then (return (i32.const 8))))
    (i32.const 0))
  (func (export "_start")))
