(module
  (type (;0;) (func (param f64)))
  (type (;1;) (func (result f64)))
  (func (;0;) (type 0) (param f64)
    (local f32 f32 f64 f32 f32 f64 f32 f64 f32 f32 f32 f32 f64)
    block (result f32)  ;; label = @1
      f64.const 0x1.889a179f6516p+119 (;=1.01925e+36;)
      f64.abs
      i64.trunc_f64_u
      loop  ;; label = @2
        f32.const -nan:0x7fbfff (;=-nan;)
        f32.const -nan:0x7ffffb (;=-nan;)
        f32.div
        local.tee 1
        f32.const nan (;=nan;)
        local.get 1
        local.get 1
        f32.eq
        select
        block  ;; label = @3
        end
        i32.trunc_sat_f32_s
        i64.extend_i32_u
        i64.clz
        i64.popcnt
        nop
        f32.const 0x1.5fa60cp-36 (;=1.99889e-11;)
        f32.sqrt
        local.tee 2
        f32.const nan (;=nan;)
        local.get 2
        local.get 2
        f32.eq
        select
        i32.trunc_sat_f32_u
        f32.const 0x1.b556f2p+99 (;=1.0828e+30;)
        elem.drop 0
        i32.const -4097
        block  ;; label = @3
          f64.const 0x1.ffffffffffffep-1023 (;=2.22507e-308;)
          i32.trunc_sat_f64_u
          i32.extend16_s
          i32.popcnt
          br 0 (;@3;)
          block  ;; label = @4
            local.get 0
            local.get 0
            f64.gt
            i32.eqz
            f64.convert_i32_u
            i64.trunc_f64_s
            f32.convert_i64_u
            i32.trunc_sat_f32_s
            i64.extend_i32_s
            i64.extend32_s
            f32.convert_i64_u
            f64.const 0x1.78f178dc2c91cp+596 (;=3.81868e+179;)
            call 0
            loop (result i32)  ;; label = @5
              block  ;; label = @6
                loop  ;; label = @7
                  loop (result funcref)  ;; label = @8
                    i32.const -1073741825
                    local.get 0
                    f64.sqrt
                    local.tee 3
                    f64.const nan (;=nan;)
                    local.get 3
                    local.get 3
                    f64.eq
                    select
                    f32.const 0x1.020202p-125 (;=2.36943e-38;)
                    f32.sqrt
                    local.tee 4
                    f32.const nan (;=nan;)
                    local.get 4
                    local.get 4
                    f32.eq
                    select
                    f32.abs
                    f64.const 0x1.p-1056 (;=1.29516e-318;)
                    f64.const -0x1.07ac781f4f03ep+304 (;=-3.35696e+91;)
                    i64.trunc_f64_u
                    f64.const 0x1.1c7f9fdf6eba8p-280 (;=5.7206e-85;)
                    elem.drop 0
                    i64.trunc_f64_s
                    i64.eq
                    i32.extend16_s
                    f32.convert_i32_u
                    f32.ceil
                    local.tee 5
                    f32.const nan (;=nan;)
                    local.get 5
                    local.get 5
                    f32.eq
                    select
                    loop (result f64)  ;; label = @9
                      i64.const 6668989675929663646
                      i32.const 2
                      table.get 1
                      block (result f64)  ;; label = @10
                        block (result f64)  ;; label = @11
                          loop  ;; label = @12
                            br 4 (;@8;)
                            nop
                            local.get 0
                            i32.const 4096
                            i32.ctz
                            br 9 (;@3;)
                            f32.convert_i32_s
                            ref.null extern
                            f64.const 0x1.ffffff8p-1049 (;=3.31562e-316;)
                            f64.ceil
                            local.tee 6
                            f64.const nan (;=nan;)
                            local.get 6
                            local.get 6
                            f64.eq
                            select
                            nop
                            i64.reinterpret_f64
                            i64.extend8_s
                            return
                            i32.const 8388608
                            if (result f64)  ;; label = @13
                              br 10 (;@3;)
                              i32.const 1336242435
                              br 6 (;@7;)
                              elem.drop 0
                              i32.eqz
                              f32.const 0x1.p-147 (;=5.60519e-45;)
                              f32.abs
                              f32.trunc
                              local.tee 7
                              f32.const nan (;=nan;)
                              local.get 7
                              local.get 7
                              f32.eq
                              select
                              i64.trunc_sat_f32_s
                              i64.extend16_s
                              loop  ;; label = @14
                                i32.const -846038228
                                block (result f64)  ;; label = @15
                                  f64.const 0x1.c1d12e2d4b04dp+622 (;=3.05811e+187;)
                                  elem.drop 0
                                  i64.trunc_f64_s
                                  local.get 0
                                  block (param f64)  ;; label = @16
                                    call 0
                                    loop (result f64)  ;; label = @17
                                      i64.const -5417755858209775945
                                      f64.const 0x1.715853b34a2f9p+597 (;=7.48341e+179;)
                                      i32.trunc_f64_u
                                      f32.const 0x1.78744p-63 (;=1.59435e-19;)
                                      loop  ;; label = @18
                                        i32.const 2047
                                        table.get 1
                                        f32.const 0x1.9048c4p+13 (;=12809.1;)
                                        i32.trunc_sat_f32_s
                                        f64.convert_i32_s
                                        i32.trunc_sat_f64_u
                                        br_if 14 (;@4;)
                                        f32.const 0x1.fep-142 (;=3.57331e-43;)
                                        f64.const -0x1.35b449356df28p-79 (;=-2.00142e-24;)
                                        f64.ceil
                                        local.tee 8
                                        f64.const nan (;=nan;)
                                        local.get 8
                                        local.get 8
                                        f64.eq
                                        select
                                        i32.trunc_f64_s
                                        i32.eqz
                                        f32.const 0x1p+1 (;=2;)
                                        i32.trunc_sat_f32_s
                                        ref.null func
                                        loop (result f64)  ;; label = @19
                                          local.get 0
                                        end
                                        f64.const 0x1.3cd8113a5ec03p+909 (;=5.35638e+273;)
                                        local.tee 0
                                        loop  ;; label = @19
                                          i64.const 7373333414495368273
                                          i32.wrap_i64
                                          if  ;; label = @20
                                            global.get 0
                                            i32.trunc_f32_s
                                            i32.const 8388607
                                            i32.gt_s
                                            br_if 4 (;@16;)
                                            block  ;; label = @21
                                              block (result i32)  ;; label = @22
                                                i64.const 8863013128389588375
                                                i64.extend32_s
                                                f64.convert_i64_s
                                                f64.const -nan:0xfefffffffffff (;=-nan;)
                                                f32.const 0x1p+1 (;=2;)
                                                i32.const -556647274
                                                br_if 5 (;@17;)
                                                i32.const 1321981114
                                                f32.const -nan:0x4bf3dd (;=-nan;)
                                                block (result f32)  ;; label = @23
                                                  loop (result f64)  ;; label = @24
                                                    loop (result i64)  ;; label = @25
                                                      table.size 0
                                                      f32.reinterpret_i32
                                                      f32.floor
                                                      local.tee 9
                                                      f32.const nan (;=nan;)
                                                      local.get 9
                                                      local.get 9
                                                      f32.eq
                                                      select
                                                      f32.sqrt
                                                      local.tee 10
                                                      f32.const nan (;=nan;)
                                                      local.get 10
                                                      local.get 10
                                                      f32.eq
                                                      select
                                                      local.get 0
                                                      call 1
                                                      i64.trunc_f32_u
                                                      block  ;; label = @26
                                                        nop
                                                        i64.const -5
                                                        i64.ctz
                                                        i32.wrap_i64
                                                        i32.const -16384
                                                        i32.gt_u
                                                        global.get 0
                                                        i64.trunc_sat_f32_u
                                                        i32.wrap_i64
                                                        i32.rem_u
                                                        global.get 0
                                                        f32.floor
                                                        local.tee 11
                                                        f32.const nan (;=nan;)
                                                        local.get 11
                                                        local.get 11
                                                        f32.eq
                                                        select
                                                        f32.sqrt
                                                        local.tee 12
                                                        f32.const nan (;=nan;)
                                                        local.get 12
                                                        local.get 12
                                                        f32.eq
                                                        select
                                                        local.get 0
                                                        i64.const -4611686018427387904
                                                        i64.popcnt
                                                        loop  ;; label = @27
                                                          global.get 0
                                                          f32.const 0x1.p-139 (;=1.43493e-42;)
                                                          f32.neg
                                                          f32.lt
                                                          ref.null extern
                                                          block  ;; label = @28
                                                            br 28 (;@0;)
                                                            elem.drop 0
                                                            ref.null extern
                                                            loop  ;; label = @29
                                                              f64.const -nan:0xffffe00000000 (;=-nan;)
                                                              f64.sqrt
                                                              local.tee 13
                                                              f64.const nan (;=nan;)
                                                              local.get 13
                                                              local.get 13
                                                              f64.eq
                                                              select
                                                              f64.neg
                                                              local.tee 0
                                                              i64.const 356906446242460417
                                                              block  ;; label = @30
                                                                f32.const 0x1.f744c2p-97 (;=1.24065e-29;)
                                                                i32.reinterpret_f32
                                                                i64.extend_i32_s
                                                                i64.const -2492522919129617937
                                                                i64.rem_s
                                                                i64.extend16_s
                                                                i32.wrap_i64
                                                                i32.extend8_s
                                                                ref.null func
                                                                i32.const 33554431
                                                                i64.const -6844266216703600917
                                                                i32.wrap_i64
                                                                loop  ;; label = @31
                                                                  f64.const 0x1.fff8p-1061 (;=8.09428e-320;)
                                                                  i32.trunc_f64_s
                                                                  i64.const -4294967296
                                                                  i32.wrap_i64
                                                                  i32.rem_s
                                                                  ref.null extern
                                                                  f32.const 0x1.aaaaaap+43 (;=1.46602e+13;)
                                                                  i32.const -1298799492
                                                                  local.get 0
                                                                  call 1
                                                                  br_table 8 (;@23;) 30 (;@1;) 8 (;@23;)
                                                                  block  ;; label = @32
                                                                  end
                                                                  ref.is_null
                                                                  if  ;; label = @32
                                                                  end
                                                                  global.get 1
                                                                  i32.xor
                                                                  global.set 1
                                                                end
                                                                global.get 1
                                                                i32.xor
                                                                global.set 1
                                                                global.get 1
                                                                i32.xor
                                                                global.set 1
                                                                drop
                                                                global.get 1
                                                                i32.xor
                                                                global.set 1
                                                              end
                                                              global.get 2
                                                              i64.xor
                                                              global.set 2
                                                              i64.reinterpret_f64
                                                              global.get 3
                                                              i64.xor
                                                              global.set 3
                                                            end
                                                            drop
                                                          end
                                                          drop
                                                          global.get 1
                                                          i32.xor
                                                          global.set 1
                                                        end
                                                        global.get 2
                                                        i64.xor
                                                        global.set 2
                                                        i64.reinterpret_f64
                                                        global.get 3
                                                        i64.xor
                                                        global.set 3
                                                        i32.reinterpret_f32
                                                        global.get 4
                                                        i32.xor
                                                        global.set 4
                                                        global.get 1
                                                        i32.xor
                                                        global.set 1
                                                      end
                                                    end
                                                    global.get 2
                                                    i64.xor
                                                    global.set 2
                                                    f64.const 0x1.98c86a0cb46abp+490 (;=5.10447e+147;)
                                                  end
                                                  i64.reinterpret_f64
                                                  global.get 3
                                                  i64.xor
                                                  global.set 3
                                                  f32.const -0x1.ab4c9p+57 (;=-2.40548e+17;)
                                                end
                                                i32.reinterpret_f32
                                                global.get 4
                                                i32.xor
                                                global.set 4
                                                i32.reinterpret_f32
                                                global.get 4
                                                i32.xor
                                                global.set 4
                                                global.get 1
                                                i32.xor
                                                global.set 1
                                                i32.reinterpret_f32
                                                global.get 4
                                                i32.xor
                                                global.set 4
                                                i64.reinterpret_f64
                                                global.get 3
                                                i64.xor
                                                global.set 3
                                                i64.reinterpret_f64
                                                global.get 3
                                                i64.xor
                                                global.set 3
                                                i32.const -1819127940
                                              end
                                              global.get 1
                                              i32.xor
                                              global.set 1
                                            end
                                          end
                                        end
                                        i64.reinterpret_f64
                                        global.get 3
                                        i64.xor
                                        global.set 3
                                        i64.reinterpret_f64
                                        global.get 3
                                        i64.xor
                                        global.set 3
                                        drop
                                        global.get 1
                                        i32.xor
                                        global.set 1
                                        global.get 1
                                        i32.xor
                                        global.set 1
                                        i32.reinterpret_f32
                                        global.get 4
                                        i32.xor
                                        global.set 4
                                        drop
                                      end
                                      i32.reinterpret_f32
                                      global.get 4
                                      i32.xor
                                      global.set 4
                                      global.get 1
                                      i32.xor
                                      global.set 1
                                      global.get 2
                                      i64.xor
                                      global.set 2
                                      f64.const 0x1.ffffffffff8p-1033 (;=2.17292e-311;)
                                    end
                                    i64.reinterpret_f64
                                    global.get 3
                                    i64.xor
                                    global.set 3
                                  end
                                  global.get 2
                                  i64.xor
                                  global.set 2
                                  f64.const -0x1.eaa5a3e5de2f5p-125 (;=-4.50588e-38;)
                                end
                                i64.reinterpret_f64
                                global.get 3
                                i64.xor
                                global.set 3
                                drop
                              end
                              global.get 2
                              i64.xor
                              global.set 2
                              global.get 1
                              i32.xor
                              global.set 1
                              f64.const 0x1.3f569d120257dp+544 (;=7.18338e+163;)
                            else
                              f64.const 0x1.b61d97218e8e8p-198 (;=4.26e-60;)
                            end
                            i64.reinterpret_f64
                            global.get 3
                            i64.xor
                            global.set 3
                            global.get 2
                            i64.xor
                            global.set 2
                            drop
                            i32.reinterpret_f32
                            global.get 4
                            i32.xor
                            global.set 4
                            i64.reinterpret_f64
                            global.get 3
                            i64.xor
                            global.set 3
                          end
                          f64.const 0x1.6c2d347ead4ddp+664 (;=1.0889e+200;)
                        end
                      end
                      i64.reinterpret_f64
                      global.get 3
                      i64.xor
                      global.set 3
                      drop
                      global.get 2
                      i64.xor
                      global.set 2
                      f64.const -nan:0xfffe000000000 (;=-nan;)
                    end
                    i64.reinterpret_f64
                    global.get 3
                    i64.xor
                    global.set 3
                    i32.reinterpret_f32
                    global.get 4
                    i32.xor
                    global.set 4
                    i64.reinterpret_f64
                    global.get 3
                    i64.xor
                    global.set 3
                    i32.reinterpret_f32
                    global.get 4
                    i32.xor
                    global.set 4
                    i64.reinterpret_f64
                    global.get 3
                    i64.xor
                    global.set 3
                    global.get 1
                    i32.xor
                    global.set 1
                    ref.null func
                  end
                  drop
                end
              end
              i32.const -685974664
            end
            global.get 1
            i32.xor
            global.set 1
            i32.reinterpret_f32
            global.get 4
            i32.xor
            global.set 4
          end
          global.get 1
          i32.xor
          global.set 1
        end
        global.get 1
        i32.xor
        global.set 1
        i32.reinterpret_f32
        global.get 4
        i32.xor
        global.set 4
        global.get 1
        i32.xor
        global.set 1
        global.get 2
        i64.xor
        global.set 2
      end
      global.get 2
      i64.xor
      global.set 2
      f32.const -nan:0x7fffe0 (;=-nan;)
    end
    i32.reinterpret_f32
    global.get 4
    i32.xor
    global.set 4)
  (func (;1;) (type 0) (param f64)
    (local f32 f32 f32 f64 f32 f32 f32 f32 f32 f32 f64 f32 f64 f64)
    local.get 0
    f64.const -0x1.7293fc55016bp+711 (;=-1.55943e+214;)
    f32.const 0x1.c4877cp-22 (;=4.21451e-07;)
    i64.trunc_sat_f32_u
    global.get 0
    f32.ceil
    local.tee 1
    f32.const nan (;=nan;)
    local.get 1
    local.get 1
    f32.eq
    select
    nop
    elem.drop 0
    i64.trunc_f32_u
    i64.eq
    if (param f64)  ;; label = @1
      i64.const 4408341458226983838
      f64.reinterpret_i64
      f64.le
      f32.const 0x1p-23 (;=1.19209e-07;)
      f32.sqrt
      local.tee 2
      f32.const nan (;=nan;)
      local.get 2
      local.get 2
      f32.eq
      select
      f32.trunc
      local.tee 3
      f32.const nan (;=nan;)
      local.get 3
      local.get 3
      f32.eq
      select
      i32.trunc_sat_f32_u
      i32.popcnt
      f32.const -nan:0x7ffffc (;=-nan;)
      f32.abs
      i32.trunc_sat_f32_u
      i64.const -4402176632265451285
      f64.reinterpret_i64
      f64.floor
      local.tee 4
      f64.const nan (;=nan;)
      local.get 4
      local.get 4
      f64.eq
      select
      i32.const -1279449772
      i64.const 4611686018427387904
      i64.extend8_s
      i64.extend16_s
      i32.wrap_i64
      i32.ne
      loop  ;; label = @2
        i32.const -1431655766
        i32.const -1696781499
        i32.shl
        f32.const 0x1.b0cfep-5 (;=0.0528335;)
        f32.floor
        local.tee 5
        f32.const nan (;=nan;)
        local.get 5
        local.get 5
        f32.eq
        select
        global.get 0
        i32.trunc_f32_u
        i32.eqz
        f32.reinterpret_i32
        f32.eq
        f64.convert_i32_s
        ref.null extern
        i32.const -2097152
        f32.const -nan:0x780000 (;=-nan;)
        i32.trunc_f32_s
        i32.div_s
        i32.clz
        i32.const 229844562
        br_if 0 (;@2;)
        block  ;; label = @3
          ref.null extern
          ref.is_null
          i32.extend8_s
          table.get 0
          i64.const 33554431
          ref.null func
          loop (result i32)  ;; label = @4
            f32.const -0x1.6860a4p+69 (;=-8.30974e+20;)
            i32.trunc_f32_s
            i32.popcnt
          end
          f64.convert_i32_u
          i64.trunc_sat_f64_u
          br 3 (;@0;)
          i32.wrap_i64
          i32.popcnt
          i64.extend_i32_s
          f64.const -nan:0xfffffffffff00 (;=-nan;)
          i64.reinterpret_f64
          ref.null func
          ref.is_null
          loop (result f64)  ;; label = @4
            global.get 0
            f64.promote_f32
            f32.demote_f64
            i64.const -5435474057600588353
            block  ;; label = @5
              i32.const 2097152
              i32.const -2048
              i32.div_u
              i32.const 763727413
              elem.drop 0
              i32.const -33554433
              f32.convert_i32_u
              global.get 0
              f32.eq
              i64.extend_i32_u
              block (result f32)  ;; label = @6
                table.size 1
                i32.const -2066644154
                i32.eqz
                i32.ctz
                br_table 1 (;@5;) 2 (;@4;) 3 (;@3;) 4 (;@2;) 5 (;@1;) 6 (;@0;) 4 (;@2;)
                local.get 0
                i64.trunc_f64_u
                i64.extend16_s
                i64.extend16_s
                i32.wrap_i64
                i32.shr_s
                elem.drop 0
                block  ;; label = @7
                  loop  ;; label = @8
                    f32.const -0x1.3640aep-84 (;=-6.2655e-26;)
                    loop (result f64)  ;; label = @9
                      table.size 1
                      loop (result i64)  ;; label = @10
                        global.get 0
                        i32.trunc_sat_f32_u
                        elem.drop 0
                        i32.ctz
                        elem.drop 0
                        i32.popcnt
                        br_table 0 (;@10;) 1 (;@9;) 2 (;@8;) 3 (;@7;) 5 (;@5;) 6 (;@4;) 7 (;@3;) 8 (;@2;) 9 (;@1;) 10 (;@0;) 8 (;@2;)
                        loop (result f64)  ;; label = @11
                          f32.const 0x1.fffffp-129 (;=2.93873e-39;)
                          block (result f64)  ;; label = @12
                            table.size 1
                            i64.extend_i32_s
                            i64.popcnt
                            f32.const -0x1.ba9f38p+93 (;=-1.71231e+28;)
                            f32.ceil
                            local.tee 6
                            f32.const nan (;=nan;)
                            local.get 6
                            local.get 6
                            f32.eq
                            select
                            i32.const 1073741823
                            global.get 0
                            elem.drop 0
                            f32.trunc
                            local.tee 7
                            f32.const nan (;=nan;)
                            local.get 7
                            local.get 7
                            f32.eq
                            select
                            i64.trunc_sat_f32_s
                            global.get 0
                            f32.sqrt
                            local.tee 8
                            f32.const nan (;=nan;)
                            local.get 8
                            local.get 8
                            f32.eq
                            select
                            f32.trunc
                            local.tee 9
                            f32.const nan (;=nan;)
                            local.get 9
                            local.get 9
                            f32.eq
                            select
                            f32.abs
                            f32.floor
                            local.tee 10
                            f32.const nan (;=nan;)
                            local.get 10
                            local.get 10
                            f32.eq
                            select
                            elem.drop 0
                            loop (result i32)  ;; label = @13
                              table.size 0
                              i32.extend16_s
                              br_table 0 (;@13;) 2 (;@11;) 3 (;@10;) 4 (;@9;) 5 (;@8;) 6 (;@7;) 8 (;@5;) 9 (;@4;) 10 (;@3;) 11 (;@2;) 12 (;@1;) 13 (;@0;) 8 (;@5;)
                              local.get 0
                              i64.trunc_f64_s
                              local.get 0
                              loop (result f64)  ;; label = @14
                                table.size 1
                                f64.convert_i32_s
                                br 0 (;@14;)
                                br 10 (;@4;)
                                i64.trunc_f64_s
                                i64.extend8_s
                                i64.ctz
                                i64.popcnt
                                f64.convert_i64_u
                                f64.floor
                                local.tee 11
                                f64.const nan (;=nan;)
                                local.get 11
                                local.get 11
                                f64.eq
                                select
                                i32.trunc_f64_s
                                f64.convert_i32_s
                                ref.null extern
                                loop  ;; label = @15
                                  i64.const -2147483649
                                  local.get 0
                                  i32.const 2139095039
                                  if (result i64)  ;; label = @16
                                    i32.const -257
                                    block (result f64)  ;; label = @17
                                      table.size 1
                                      loop  ;; label = @18
                                        f32.const 0x1.cp-147 (;=9.80909e-45;)
                                        f64.promote_f32
                                        i64.trunc_sat_f64_u
                                        i32.const 1636901978
                                        loop (result f32)  ;; label = @19
                                          local.get 0
                                          elem.drop 0
                                          f32.demote_f64
                                          i32.trunc_f32_s
                                          i32.ctz
                                          block (result f32)  ;; label = @20
                                            i32.const -1212694562
                                            f64.convert_i32_u
                                            f32.demote_f64
                                            f32.abs
                                            ref.null extern
                                            global.get 0
                                            block (result f64)  ;; label = @21
                                              ref.null func
                                              global.get 0
                                              global.get 0
                                              i32.trunc_f32_s
                                              br 20 (;@1;)
                                              f64.convert_i32_u
                                              f32.const 0x1.p-142 (;=1.79366e-43;)
                                              f32.sqrt
                                              local.tee 12
                                              f32.const nan (;=nan;)
                                              local.get 12
                                              local.get 12
                                              f32.eq
                                              select
                                              f32.abs
                                              i64.trunc_sat_f32_s
                                              i64.extend8_s
                                              br 2 (;@19;)
                                              f64.const 0x1.fffffffffffffp+0 (;=2;)
                                              f64.neg
                                              ref.null func
                                              ref.null func
                                              return
                                              elem.drop 0
                                              loop (result f64)  ;; label = @22
                                                br 20 (;@2;)
                                                f32.const -0x1.5f825cp+75 (;=-5.18736e+22;)
                                                f64.const -0x1.e53032d4a51edp+416 (;=-3.20737e+125;)
                                                f64.sqrt
                                                local.tee 13
                                                f64.const nan (;=nan;)
                                                local.get 13
                                                local.get 13
                                                f64.eq
                                                select
                                                f64.floor
                                                local.tee 14
                                                f64.const nan (;=nan;)
                                                local.get 14
                                                local.get 14
                                                f64.eq
                                                select
                                                block (param f64)  ;; label = @23
                                                  i64.trunc_f64_u
                                                  br 18 (;@5;)
                                                  i32.const -784693571
                                                  loop (result f64)  ;; label = @24
                                                    ref.null extern
                                                    table.size 1
                                                    f32.const 0x1p-123 (;=9.40395e-38;)
                                                    f32.const -0x1.32250ep-66 (;=-1.62072e-20;)
                                                    f32.le
                                                    global.get 1
                                                    i32.xor
                                                    global.set 1
                                                    global.get 1
                                                    i32.xor
                                                    global.set 1
                                                    drop
                                                    f64.const 0x1p-959 (;=2.05227e-289;)
                                                  end
                                                  i64.reinterpret_f64
                                                  global.get 3
                                                  i64.xor
                                                  global.set 3
                                                  global.get 1
                                                  i32.xor
                                                  global.set 1
                                                  global.get 2
                                                  i64.xor
                                                  global.set 2
                                                end
                                                i32.reinterpret_f32
                                                global.get 4
                                                i32.xor
                                                global.set 4
                                                f64.const 0x1.p-1063 (;=1.01185e-320;)
                                              end
                                              i64.reinterpret_f64
                                              global.get 3
                                              i64.xor
                                              global.set 3
                                              drop
                                              drop
                                              i64.reinterpret_f64
                                              global.get 3
                                              i64.xor
                                              global.set 3
                                              global.get 2
                                              i64.xor
                                              global.set 2
                                              i64.reinterpret_f64
                                              global.get 3
                                              i64.xor
                                              global.set 3
                                              i32.reinterpret_f32
                                              global.get 4
                                              i32.xor
                                              global.set 4
                                              drop
                                              f64.const 0x1.30f847cdc598ap+271 (;=4.52008e+81;)
                                            end
                                            i64.reinterpret_f64
                                            global.get 3
                                            i64.xor
                                            global.set 3
                                            i32.reinterpret_f32
                                            global.get 4
                                            i32.xor
                                            global.set 4
                                            drop
                                          end
                                          i32.reinterpret_f32
                                          global.get 4
                                          i32.xor
                                          global.set 4
                                          global.get 1
                                          i32.xor
                                          global.set 1
                                          f32.const -0x1.a99ca8p+35 (;=-5.71247e+10;)
                                        end
                                        i32.reinterpret_f32
                                        global.get 4
                                        i32.xor
                                        global.set 4
                                        global.get 1
                                        i32.xor
                                        global.set 1
                                        global.get 2
                                        i64.xor
                                        global.set 2
                                      end
                                      global.get 1
                                      i32.xor
                                      global.set 1
                                      f64.const -nan:0xfffffffbfffff (;=-nan;)
                                    end
                                    i64.reinterpret_f64
                                    global.get 3
                                    i64.xor
                                    global.set 3
                                    global.get 1
                                    i32.xor
                                    global.set 1
                                    i64.const 33554431
                                  else
                                    i64.const -8504160066535074866
                                  end
                                  global.get 2
                                  i64.xor
                                  global.set 2
                                  i64.reinterpret_f64
                                  global.get 3
                                  i64.xor
                                  global.set 3
                                  global.get 2
                                  i64.xor
                                  global.set 2
                                end
                                drop
                              end
                              i64.reinterpret_f64
                              global.get 3
                              i64.xor
                              global.set 3
                              i64.reinterpret_f64
                              global.get 3
                              i64.xor
                              global.set 3
                              global.get 2
                              i64.xor
                              global.set 2
                              i32.const -134217729
                            end
                            global.get 1
                            i32.xor
                            global.set 1
                            i32.reinterpret_f32
                            global.get 4
                            i32.xor
                            global.set 4
                            global.get 2
                            i64.xor
                            global.set 2
                            global.get 1
                            i32.xor
                            global.set 1
                            i32.reinterpret_f32
                            global.get 4
                            i32.xor
                            global.set 4
                            global.get 2
                            i64.xor
                            global.set 2
                            f64.const 0x1.0e9c873096ad9p-619 (;=4.85891e-187;)
                          end
                          i64.reinterpret_f64
                          global.get 3
                          i64.xor
                          global.set 3
                          i32.reinterpret_f32
                          global.get 4
                          i32.xor
                          global.set 4
                          f64.const 0x1.9fe89ad338eebp+268 (;=7.70543e+80;)
                        end
                        i64.reinterpret_f64
                        global.get 3
                        i64.xor
                        global.set 3
                        i64.const 2097152
                      end
                      global.get 2
                      i64.xor
                      global.set 2
                      global.get 1
                      i32.xor
                      global.set 1
                      f64.const -0x1.ce68b65097483p+153 (;=-2.06241e+46;)
                    end
                    i64.reinterpret_f64
                    global.get 3
                    i64.xor
                    global.set 3
                    i32.reinterpret_f32
                    global.get 4
                    i32.xor
                    global.set 4
                  end
                end
                global.get 1
                i32.xor
                global.set 1
                f32.const 0x1.338ba6p-92 (;=2.42611e-28;)
              end
              i32.reinterpret_f32
              global.get 4
              i32.xor
              global.set 4
              global.get 2
              i64.xor
              global.set 2
              global.get 1
              i32.xor
              global.set 1
              global.get 1
              i32.xor
              global.set 1
            end
            global.get 2
            i64.xor
            global.set 2
            i32.reinterpret_f32
            global.get 4
            i32.xor
            global.set 4
            f64.const 0x1.45ccbeab66a4p+170 (;=1.90463e+51;)
          end
          i64.reinterpret_f64
          global.get 3
          i64.xor
          global.set 3
          global.get 1
          i32.xor
          global.set 1
          global.get 2
          i64.xor
          global.set 2
          global.get 2
          i64.xor
          global.set 2
          drop
          global.get 2
          i64.xor
          global.set 2
          drop
        end
        global.get 1
        i32.xor
        global.set 1
        drop
        i64.reinterpret_f64
        global.get 3
        i64.xor
        global.set 3
        global.get 1
        i32.xor
        global.set 1
      end
      global.get 1
      i32.xor
      global.set 1
      i64.reinterpret_f64
      global.get 3
      i64.xor
      global.set 3
      global.get 1
      i32.xor
      global.set 1
      global.get 1
      i32.xor
      global.set 1
      global.get 1
      i32.xor
      global.set 1
    else
      i64.reinterpret_f64
      global.get 3
      i64.xor
      global.set 3
    end
    i64.reinterpret_f64
    global.get 3
    i64.xor
    global.set 3)
  (table (;0;) 6 39 externref)
  (table (;1;) 0 externref)
  (global (;0;) f32 (f32.const 0x1.4a6224p-98 (;=4.07229e-30;)))
  (global (;1;) (mut i32) (i32.const 0))
  (global (;2;) (mut i64) (i64.const 0))
  (global (;3;) (mut i64) (i64.const 0))
  (global (;4;) (mut i32) (i32.const 0))
  (export "" (func 0))
  (export "1" (func 1))
  (export "2" (table 0))
  (export "3" (table 1))
  (export "4" (global 0))
  (export "\19" (global 1))
  (export "~B(" (global 2))
  (export "8y" (global 3))
  (export "8" (global 4))
  (elem (;0;) externref)  (func (export "probe") (param f64) (result i64)
    (call 1 (local.get 0))
    (global.get 3)))
