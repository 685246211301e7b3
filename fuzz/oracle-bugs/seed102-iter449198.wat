;; Reduced by hand from the module of `differential --seed 102 --from 449198`:
;; wasmi 2.0.0 leaves global $g4 = -1522817966 (global $g0's value) after
;; `probe 3591191532119966216`; wasm-jit and Wasmtime 49 give 2 (the
;; argument has 2 leading zeros; $g4 ^= 2 twice, then once more).
(module
  (global $g0 i32 (i32.const -1522817966))
  (global $g4 (mut i64) (i64.const 0))
  (func (export "probe") (param i64) (result i64)
    local.get 0
    i64.clz
    local.tee 0
    local.get 0
    global.get $g0
    i64.extend_i32_s
    loop (param i64)
      f64.convert_i64_s
      local.get 0
      global.get $g4
      i64.xor
      global.set $g4
      drop
    end
    global.get $g4
    i64.xor
    global.set $g4
    global.get $g4
    i64.xor
    global.set $g4
    global.get $g4))
