;; Binary trees on the Wasm GC heap: `run(iterations, depth)` builds and
;; walks `iterations` complete trees of `depth`, returning the node count.
(module
  (type $node (struct (field $left (ref null $node)) (field $right (ref null $node))))
  (func $make (param $depth i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $depth))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else
        (struct.new $node
          (call $make (i32.sub (local.get $depth) (i32.const 1)))
          (call $make (i32.sub (local.get $depth) (i32.const 1)))))))
  (func $check (param $n (ref $node)) (result i32)
    (local $l (ref null $node))
    (local.set $l (struct.get $node $left (local.get $n)))
    (if (result i32) (ref.is_null (local.get $l))
      (then (i32.const 1))
      (else
        (i32.add (i32.const 1)
          (i32.add (call $check (ref.as_non_null (local.get $l)))
                   (call $check (ref.as_non_null (struct.get $node $right (local.get $n)))))))))
  (func (export "run") (param $iterations i32) (param $depth i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $iterations)))
        (local.set $sum (i32.add (local.get $sum) (call $check (call $make (local.get $depth)))))
        (local.set $iterations (i32.sub (local.get $iterations) (i32.const 1)))
        (br $again)))
    (local.get $sum)))
