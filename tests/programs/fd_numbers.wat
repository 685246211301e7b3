;; Which numbers new descriptors get (as Wasmtime gives them): the highest
;; closed number not in use again, else one past the highest in use. With
;; the preopen at fd 3, `check` returns 0, or the number of the check that
;; failed. The last checks are what a program that closes its stdout by
;; mistake (ABC inside Yosys fakes `dup2` this way) relies on: writes to
;; fd 1 fail instead of going into the next file it opens.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber" (func $renumber (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "a.txt")
  ;; Creates (or opens) a.txt for writing; its new fd.
  (func $open (result i32)
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 5)
          (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 40))
      (then (unreachable)))
    (i32.load (i32.const 40)))
  ;; fd_write of one byte ("x") to `fd`: its errno.
  (func $write1 (param $fd i32) (result i32)
    (i32.store8 (i32.const 24) (i32.const 120))
    (i32.store (i32.const 16) (i32.const 24))
    (i32.store (i32.const 20) (i32.const 1))
    (call $write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 28)))
  (func (export "check") (result i32)
    (if (i32.ne (call $open) (i32.const 4)) (then (return (i32.const 1))))
    (if (i32.ne (call $open) (i32.const 5)) (then (return (i32.const 2))))
    (if (i32.ne (call $open) (i32.const 6)) (then (return (i32.const 3))))
    (drop (call $close (i32.const 5)))
    (drop (call $close (i32.const 4)))
    ;; 4 and 5 free: the highest first, then the other.
    (if (i32.ne (call $open) (i32.const 5)) (then (return (i32.const 4))))
    (if (i32.ne (call $open) (i32.const 4)) (then (return (i32.const 5))))
    (if (i32.ne (call $open) (i32.const 7)) (then (return (i32.const 6))))
    ;; renumber frees its source: 7 goes onto 6, and 7 is taken again.
    (if (call $renumber (i32.const 7) (i32.const 6)) (then (return (i32.const 7))))
    (if (i32.ne (call $open) (i32.const 7)) (then (return (i32.const 8))))
    ;; stdout closed, then 4: the next file is 4, and fd 1 stays closed.
    (drop (call $close (i32.const 1)))
    (drop (call $close (i32.const 4)))
    (if (i32.ne (call $open) (i32.const 4)) (then (return (i32.const 9))))
    (if (i32.ne (call $write1 (i32.const 1)) (i32.const 8)) (then (return (i32.const 10))))
    (if (i32.ne (call $open) (i32.const 1)) (then (return (i32.const 11))))
    (i32.const 0)))
