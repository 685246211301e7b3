(module
  (type (;0;) (func (param i64 f64) (result f32 f64)))
  (type (;1;) (func (param i64)))
  (func (;0;) (type 0) (param i64 f64) (result f32 f64)
    (local externref)
    nop
    block (result funcref)  ;; label = @1
      memory.size
      i64.load16_s 1
      i64.const 36028797018963968
      i64.const 9137251066529171340
      i64.ne
      if  ;; label = @2
        block  ;; label = @3
          br 0 (;@3;)
          loop (result f64)  ;; label = @4
            i32.const -371374850
            i32.load16_u align=1
            memory.size
            i32.xor
            f32.convert_i32_u
            i32.const 1189378356
            memory.size
            f64.const -nan:0xffffffffbffff (;=-nan;)
            i64.const -1024
            local.set 0
            i32.const 67108864
            br 0 (;@4;)
            i32.load16_s 1 offset=19160
            ref.null func
            data.drop 1
            loop  ;; label = @5
              data.drop 0
              i64.const 3791374552052188731
              local.get 1
              i32.trunc_sat_f64_u
              if (param i64)  ;; label = @6
                memory.size
                global.get 1
                i32.xor
                global.set 1
                table.size 1
                f64.load 1 align=2
                local.tee 1
                local.get 2
                local.get 0
                f32.const 0x1.fffffep-124 (;=9.40395e-38;)
                memory.size
                f64.load 1 align=4
                i64.reinterpret_f64
                global.get 2
                i64.xor
                global.set 2
                i32.reinterpret_f32
                global.get 3
                i32.xor
                global.set 3
                global.get 4
                i64.xor
                global.set 4
                drop
                i64.reinterpret_f64
                global.get 2
                i64.xor
                global.set 2
                global.get 4
                i64.xor
                global.set 4
              else
                global.get 4
                i64.xor
                global.set 4
              end
            end
            drop
            global.get 1
            i32.xor
            global.set 1
            i64.reinterpret_f64
            global.get 2
            i64.xor
            global.set 2
            global.get 1
            i32.xor
            global.set 1
            global.get 1
            i32.xor
            global.set 1
            i32.reinterpret_f32
            global.get 3
            i32.xor
            global.set 3
            f64.const -0x1.501fff179e71fp+328 (;=-7.17959e+98;)
          end
          i64.reinterpret_f64
          global.get 2
          i64.xor
          global.set 2
        end
      end
      global.get 4
      i64.xor
      global.set 4
      ref.null func
    end
    drop
    f32.const 0x1.ffffp-133 (;=1.8367e-40;)
    f64.const 0x1.b40fdd95da536p+835 (;=3.90261e+251;))
  (func (;1;) (type 0) (param i64 f64) (result f32 f64)
    ref.null extern
    local.get 1
    i32.const 262143
    memory.size 1
    i32.const 64
    i32.ge_u
    i32.div_s
    i64.load8_u 1
    i64.clz
    i32.const -617333906
    i64.load16_s align=1
    i64.eq
    i32.extend16_s
    global.get 0
    data.drop 1
    ref.is_null
    global.get 1
    i32.xor
    global.set 1
    global.get 1
    i32.xor
    global.set 1
    i64.reinterpret_f64
    global.get 2
    i64.xor
    global.set 2
    drop
    f32.const -nan:0x7ffc00 (;=-nan;)
    f64.const -0x1.fffffffffffffp+1023 (;=-1.79769e+308;))
  (func (;2;) (type 0) (param i64 f64) (result f32 f64)
    (local f32 f64 f32 f32 f32 f32)
    memory.size
    table.get 1
    ref.null extern
    f64.const 0x1.p-1066 (;=1.26481e-321;)
    memory.size 1
    i32.eqz
    i32.eqz
    local.get 0
    f32.const 0x1.222222p-93 (;=1.14437e-28;)
    f64.promote_f32
    i64.const -4310208019180927909
    memory.size 1
    if (param i64)  ;; label = @1
      f64.convert_i64_u
      ref.null extern
      memory.size
      block  ;; label = @2
        i64.const -131073
        memory.size
        i32.load16_u align=1
        f32.reinterpret_i32
        f32.nearest
        local.tee 2
        f32.const nan (;=nan;)
        local.get 2
        local.get 2
        f32.eq
        select
        i32.const -416720717
        i32.load16_u align=1
        i32.clz
        i64.load32_u align=2
        ref.null extern
        ref.is_null
        loop (result f32)  ;; label = @3
          i32.const 262146
          f32.const 0x1p-95 (;=2.52435e-29;)
          loop  ;; label = @4
            table.size 0
            i32.load8_u
            i64.load 1
            f64.reinterpret_i64
            f64.floor
            local.tee 3
            f64.const nan (;=nan;)
            local.get 3
            local.get 3
            f64.eq
            select
            i64.trunc_sat_f64_u
            br 0 (;@4;)
            br 0 (;@4;)
            i64.extend8_s
            i64.extend8_s
            ref.null func
            data.drop 1
            data.drop 1
            i64.const 7232215281307858896
            i64.eqz
            i32.load align=2
            br_if 3 (;@1;)
            global.get 0
            i64.const 8589934591
            i64.extend16_s
            i64.extend32_s
            i64.extend8_s
            br 3 (;@1;)
            local.set 0
            i32.const 127
            local.get 0
            i64.clz
            i64.const 8589934591
            i64.or
            i64.clz
            nop
            block (result funcref)  ;; label = @5
              table.size 1
              i32.load16_s align=1
              i64.load16_s align=1
              data.drop 1
              br 4 (;@1;)
              i64.eqz
              loop (result funcref)  ;; label = @6
                data.drop 0
                local.get 0
                f64.reinterpret_i64
                f32.const -0x1.760716p-3 (;=-0.182631;)
                i64.const 3860820954779807010
                block  ;; label = @7
                  br 0 (;@7;)
                  local.get 0
                  data.drop 0
                  i64.const 2147483648
                  i64.clz
                  local.tee 0
                  f64.convert_i64_s
                  f64.neg
                  global.get 0
                  br 4 (;@3;)
                  data.drop 1
                  memory.size 1
                  f32.convert_i32_s
                  local.get 0
                  i64.clz
                  f32.convert_i64_s
                  memory.size
                  i32.const 296929838
                  i32.gt_s
                  i64.load8_s 1
                  f64.const -0x1.8613dd54efff5p-290 (;=-7.65971e-88;)
                  i64.trunc_sat_f64_s
                  br 4 (;@3;)
                  table.size 1
                  f32.reinterpret_i32
                  i64.const 52040936359630389
                  block  ;; label = @8
                    ref.null func
                    f64.const 0x1.ffffffffffffcp-1024 (;=1.11254e-308;)
                    i32.const 2097151
                    i32.extend16_s
                    i64.load8_u 1 offset=63919
                    f64.convert_i64_s
                    i64.trunc_sat_f64_s
                    local.set 0
                    memory.size
                    f32.convert_i32_s
                    local.get 1
                    i32.trunc_f64_s
                    table.get 0
                    f32.const 0x1.c7e2d8p+37 (;=2.44752e+11;)
                    f32.neg
                    data.drop 0
                    f32.const 0x1.73b13cp-69 (;=2.45965e-21;)
                    f32.gt
                    f32.convert_i32_s
                    i32.trunc_f32_u
                    br_if 1 (;@7;)
                    i64.const -5
                    i64.clz
                    f64.reinterpret_i64
                    f32.demote_f64
                    f32.nearest
                    local.tee 4
                    f32.const nan (;=nan;)
                    local.get 4
                    local.get 4
                    f32.eq
                    select
                    i64.trunc_sat_f32_u
                    local.tee 0
                    local.set 0
                    loop (result externref)  ;; label = @9
                      br 8 (;@1;)
                      block  ;; label = @10
                        local.get 0
                        br 7 (;@3;)
                        data.drop 1
                        br 6 (;@4;)
                        f32.const 0x1.00004p-131 (;=3.67343e-40;)
                        i32.reinterpret_f32
                        i32.eqz
                        i64.load16_u 1
                        i64.rem_u
                        ref.null extern
                        ref.null func
                        memory.size
                        data.drop 1
                        br 7 (;@3;)
                        memory.size
                        i32.div_s
                        block  ;; label = @11
                          f64.const 0x1.ffffffffffffcp-1024 (;=1.11254e-308;)
                          i32.trunc_sat_f64_u
                          local.get 0
                          i64.clz
                          local.get 1
                          data.drop 1
                          data.drop 1
                          i32.trunc_sat_f64_s
                          i32.load8_u 1
                          local.get 0
                          i32.const 19812428
                          loop  ;; label = @12
                            loop (result f32)  ;; label = @13
                              loop (result f64)  ;; label = @14
                                br 8 (;@6;)
                                f32.const 0x1.991f52p-98 (;=5.04282e-30;)
                                i32.reinterpret_f32
                                i64.load8_u
                                f32.convert_i64_u
                                i64.trunc_f32_u
                                f64.convert_i64_u
                                data.drop 0
                                i64.trunc_sat_f64_u
                                f64.reinterpret_i64
                                i32.trunc_f64_u
                                i64.load8_s
                                i32.const 1
                                i32.load16_s
                                br 3 (;@11;)
                                i32.extend16_s
                                f32.reinterpret_i32
                                br 2 (;@12;)
                                table.size 1
                                br_table 0 (;@14;) 1 (;@13;) 2 (;@12;) 3 (;@11;) 4 (;@10;) 5 (;@9;) 6 (;@8;) 7 (;@7;) 8 (;@6;) 10 (;@4;) 11 (;@3;) 12 (;@2;) 13 (;@1;) 5 (;@9;)
                                nop
                                f32.nearest
                                local.tee 5
                                f32.const nan (;=nan;)
                                local.get 5
                                local.get 5
                                f32.eq
                                select
                                i32.const 1024
                                memory.size 1
                                i32.lt_u
                                table.get 1
                                f64.const 0x1.1d3ae104b557fp-462 (;=9.35615e-140;)
                                local.set 1
                                global.get 0
                                f64.const 0x1.e18fcd218f6e9p-55 (;=5.2211e-17;)
                                f32.demote_f64
                                f32.ceil
                                local.tee 6
                                f32.const nan (;=nan;)
                                local.get 6
                                local.get 6
                                f32.eq
                                select
                                f32.floor
                                local.tee 7
                                f32.const nan (;=nan;)
                                local.get 7
                                local.get 7
                                f32.eq
                                select
                                memory.size 1
                                i64.load8_u 1
                                table.size 1
                                global.get 0
                                table.size 1
                                f32.convert_i32_u
                                i32.const 1
                                i64.load align=1
                                i64.extend32_s
                                loop (result externref)  ;; label = @15
                                  memory.size 1
                                  i64.load8_s 1
                                  memory.size
                                  br 0 (;@15;)
                                  f32.load align=1
                                  i64.trunc_f32_u
                                  i64.eqz
                                  i32.load8_s
                                  br_if 0 (;@15;)
                                  global.get 4
                                  i64.xor
                                  global.set 4
                                  ref.null extern
                                end
                                drop
                                global.get 4
                                i64.xor
                                global.set 4
                                i32.reinterpret_f32
                                global.get 3
                                i32.xor
                                global.set 3
                                drop
                                global.get 1
                                i32.xor
                                global.set 1
                                global.get 4
                                i64.xor
                                global.set 4
                                i32.reinterpret_f32
                                global.get 3
                                i32.xor
                                global.set 3
                                drop
                                drop
                                i32.reinterpret_f32
                                global.get 3
                                i32.xor
                                global.set 3
                                global.get 4
                                i64.xor
                                global.set 4
                                f64.const -0x1.9a86dccb3c563p-674 (;=-2.0459e-203;)
                              end
                              i64.reinterpret_f64
                              global.get 2
                              i64.xor
                              global.set 2
                              f32.const -0x1.0993e6p-92 (;=-2.09504e-28;)
                            end
                            i32.reinterpret_f32
                            global.get 3
                            i32.xor
                            global.set 3
                          end
                          global.get 1
                          i32.xor
                          global.set 1
                          global.get 4
                          i64.xor
                          global.set 4
                          global.get 1
                          i32.xor
                          global.set 1
                          global.get 4
                          i64.xor
                          global.set 4
                          global.get 1
                          i32.xor
                          global.set 1
                        end
                        global.get 1
                        i32.xor
                        global.set 1
                        drop
                        drop
                        global.get 4
                        i64.xor
                        global.set 4
                      end
                      ref.null extern
                    end
                    drop
                    drop
                    i32.reinterpret_f32
                    global.get 3
                    i32.xor
                    global.set 3
                    i64.reinterpret_f64
                    global.get 2
                    i64.xor
                    global.set 2
                    drop
                  end
                  global.get 4
                  i64.xor
                  global.set 4
                  i32.reinterpret_f32
                  global.get 3
                  i32.xor
                  global.set 3
                  global.get 4
                  i64.xor
                  global.set 4
                  global.get 4
                  i64.xor
                  global.set 4
                  i32.reinterpret_f32
                  global.get 3
                  i32.xor
                  global.set 3
                  i32.reinterpret_f32
                  global.get 3
                  i32.xor
                  global.set 3
                  drop
                  i64.reinterpret_f64
                  global.get 2
                  i64.xor
                  global.set 2
                  global.get 4
                  i64.xor
                  global.set 4
                end
                global.get 4
                i64.xor
                global.set 4
                i32.reinterpret_f32
                global.get 3
                i32.xor
                global.set 3
                i64.reinterpret_f64
                global.get 2
                i64.xor
                global.set 2
                ref.null func
              end
              drop
              global.get 1
              i32.xor
              global.set 1
              ref.null func
            end
            drop
            global.get 4
            i64.xor
            global.set 4
            global.get 1
            i32.xor
            global.set 1
            drop
            drop
            global.get 4
            i64.xor
            global.set 4
          end
          i32.reinterpret_f32
          global.get 3
          i32.xor
          global.set 3
          global.get 1
          i32.xor
          global.set 1
          f32.const 0x1.020202p-125 (;=2.36943e-38;)
        end
        i32.reinterpret_f32
        global.get 3
        i32.xor
        global.set 3
        global.get 1
        i32.xor
        global.set 1
        global.get 4
        i64.xor
        global.set 4
        i32.reinterpret_f32
        global.get 3
        i32.xor
        global.set 3
        global.get 4
        i64.xor
        global.set 4
      end
      global.get 1
      i32.xor
      global.set 1
      drop
      i64.reinterpret_f64
      global.get 2
      i64.xor
      global.set 2
    else
      global.get 4
      i64.xor
      global.set 4
    end
    i64.reinterpret_f64
    global.get 2
    i64.xor
    global.set 2
    global.get 4
    i64.xor
    global.set 4
    global.get 1
    i32.xor
    global.set 1
    i64.reinterpret_f64
    global.get 2
    i64.xor
    global.set 2
    drop
    drop
    f32.const 0x1.p-145 (;=2.24208e-44;)
    f64.const 0x1.p-1024 (;=5.56268e-309;))
  (table (;0;) 0 funcref)
  (table (;1;) 2 funcref)
  (memory (;0;) 0 0)
  (memory (;1;) 0 4)
  (global (;0;) funcref (ref.null func))
  (global (;1;) (mut i32) (i32.const 0))
  (global (;2;) (mut i64) (i64.const 0))
  (global (;3;) (mut i32) (i32.const 0))
  (global (;4;) (mut i64) (i64.const 0))
  (export "" (func 0))
  (export "1" (func 1))
  (export "2" (func 2))
  (export "3" (table 0))
  (export "4" (table 1))
  (export "5" (memory 0))
  (export "6" (memory 1))
  (export "7" (global 0))
  (export "+" (global 1))
  (export "\0d" (global 2))
  (export "10" (global 3))
  (export ";X" (global 4))
  (data (;0;) "\c2\09")
  (data (;1;) "Y")  (func (export "probe") (param i64 f64) (result i64)
    (drop (drop (call 2 (local.get 0) (local.get 1))))
    (global.get 4)))
