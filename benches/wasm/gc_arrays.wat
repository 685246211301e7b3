;; Wasm GC arrays: `run(n, rounds)` sieves primes below `n` in a mutable
;; i8 array `rounds` times, collecting them in an i32 array each round, and
;; returns the sum of the primes found in the last round.
(module
  (type $bytes (array (mut i8)))
  (type $ints (array (mut i32)))
  (func $sieve (param $n i32) (result i32)
    (local $composite (ref $bytes)) (local $primes (ref $ints))
    (local $i i32) (local $j i32) (local $count i32) (local $sum i32)
    (local.set $composite (array.new_default $bytes (local.get $n)))
    (local.set $primes (array.new_default $ints (local.get $n)))
    (local.set $i (i32.const 2))
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eqz (array.get_u $bytes (local.get $composite) (local.get $i)))
          (then
            (array.set $ints (local.get $primes) (local.get $count) (local.get $i))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (if (i32.le_u (local.get $i) (i32.const 46340))
              (then
                (block $marked
                  (loop $inner
                    (br_if $marked (i32.ge_u (local.get $j) (local.get $n)))
                    (array.set $bytes (local.get $composite) (local.get $j) (i32.const 1))
                    (local.set $j (i32.add (local.get $j) (local.get $i)))
                    (br $inner)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.set $i (i32.const 0))
    (block $summed
      (loop $add
        (br_if $summed (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $sum (i32.add (local.get $sum) (array.get $ints (local.get $primes) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $add)))
    (local.get $sum))
  (func (export "run") (param $n i32) (param $rounds i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $rounds)))
        (local.set $sum (call $sieve (local.get $n)))
        (local.set $rounds (i32.sub (local.get $rounds) (i32.const 1)))
        (br $again)))
    (local.get $sum)))
