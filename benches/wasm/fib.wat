;; Recursive Fibonacci: almost nothing but calls, for the cost of calling
;; through lazy compilation's code slots (`run --invoke fib fib.wat N`).
(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2))))))))
