;; A WASI program shaped like C++ built with -fwasm-exceptions (written by
;; hand: Debian's clang 14 emits only the legacy exception instructions).
;; `parse` throws `runtime_error(code)` two frames below `main`; the frame
;; between them runs a destructor on the way out (a cleanup pad:
;; `catch_all_ref`, then `throw_ref`); `main` catches it. Output:
;;   ok 5
;;   ~Guard
;;   caught runtime_error 500
;;   ~Guard
;;   caught logic_error 7 8
;;   ok 9
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "ok ")
  (data (i32.const 110) "~Guard\n")
  (data (i32.const 120) "caught runtime_error ")
  (data (i32.const 150) "caught logic_error ")

  (tag $runtime_error (param i32))
  (tag $logic_error (param i32 i32))

  ;; Writes `len` bytes at `ptr` to stdout.
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; Writes `n` in decimal (digits built backwards at 300..310).
  (func $print_u32 (param $n i32) (local $p i32)
    (local.set $p (i32.const 310))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digits (local.get $n)))
    (call $print (local.get $p) (i32.sub (i32.const 310) (local.get $p))))

  (func $space (i32.store8 (i32.const 320) (i32.const 32)) (call $print (i32.const 320) (i32.const 1)))
  (func $newline (i32.store8 (i32.const 320) (i32.const 10)) (call $print (i32.const 320) (i32.const 1)))

  ;; Throws for large inputs and for even ones above 6.
  (func $parse (param $x i32) (result i32)
    (if (i32.gt_u (local.get $x) (i32.const 100))
      (then (throw $runtime_error (local.get $x))))
    (if (i32.and (i32.gt_u (local.get $x) (i32.const 6))
                 (i32.eqz (i32.and (local.get $x) (i32.const 1))))
      (then (throw $logic_error (i32.sub (local.get $x) (i32.const 1)) (local.get $x))))
    (local.get $x))

  ;; A frame with a local object whose destructor runs when an exception
  ;; passes through.
  (func $with_guard (param $x i32) (result i32)
    (block $cleanup (result exnref)
      (return (try_table (result i32) (catch_all_ref $cleanup)
        (call $parse (local.get $x)))))
    (call $print (i32.const 110) (i32.const 7))
    (throw_ref))

  (func $level2 (param $x i32) (result i32)
    (call $with_guard (local.get $x)))

  (func $try_one (param $x i32)
    (local $a i32)
    (block $logic (result i32 i32)
      (block $runtime (result i32)
        (try_table (result i32) (catch $runtime_error $runtime) (catch $logic_error $logic)
          (call $level2 (local.get $x)))
        (local.set $a)
        (call $print (i32.const 100) (i32.const 3))
        (call $print_u32 (local.get $a))
        (call $newline)
        (return))
      (local.set $a)
      (call $print (i32.const 120) (i32.const 21))
      (call $print_u32 (local.get $a))
      (call $newline)
      (return))
    (local.set $a)
    (call $print (i32.const 150) (i32.const 19))
    (call $print_u32)
    (call $space)
    (call $print_u32 (local.get $a))
    (call $newline))

  (func (export "_start")
    (call $try_one (i32.const 5))
    (call $try_one (i32.const 500))
    (call $try_one (i32.const 8))
    (call $try_one (i32.const 9))))
