;; SIMD (f64x2) kernels over one memory holding a column-major matrix and its work vectors.
;; Pointers are byte offsets, lengths counts of f64. Every kernel sums in exactly the order of
;; its scalar twin in src/linalg/vector.ts / src/solvers/columns.ts, so results are bit-identical
;; (wasm has no implicit FMA): a dot keeps four partial sums p_{i mod 4}, the tail goes into p0,
;; and the result is ((p0 + p1) + p2) + p3.
(module
  (import "env" "memory" (memory 1))

  ;; aᵀb, n entries
  (func $dot (export "dot") (param $a i32) (param $b i32) (param $n i32) (result f64)
    (local $p01 v128) (local $p23 v128) (local $end i32) (local $s0 f64)
    (local.set $end (i32.add (local.get $a) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 3))))
    (block $done
      (loop $body
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $p01 (f64x2.add (local.get $p01) (f64x2.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
        (local.set $p23 (f64x2.add (local.get $p23) (f64x2.mul (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 32)))
        (local.set $b (i32.add (local.get $b) (i32.const 32)))
        (br $body)))
    (local.set $s0 (f64x2.extract_lane 0 (local.get $p01)))
    (local.set $n (i32.and (local.get $n) (i32.const 3)))
    (block $done
      (loop $tail
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s0 (f64.add (local.get $s0) (f64.mul (f64.load (local.get $a)) (f64.load (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $b (i32.add (local.get $b) (i32.const 8)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $tail)))
    (f64.add
      (f64.add
        (f64.add (local.get $s0) (f64x2.extract_lane 1 (local.get $p01)))
        (f64x2.extract_lane 0 (local.get $p23)))
      (f64x2.extract_lane 1 (local.get $p23))))

  ;; y ← y + alpha·x, n entries
  (func $axpy (export "axpy") (param $alpha f64) (param $x i32) (param $y i32) (param $n i32)
    (local $al v128) (local $end i32)
    (local.set $al (f64x2.splat (local.get $alpha)))
    (local.set $end (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 3))))
    (block $done
      (loop $body
        (br_if $done (i32.ge_u (local.get $y) (local.get $end)))
        (v128.store (local.get $y) (f64x2.add (v128.load (local.get $y)) (f64x2.mul (local.get $al) (v128.load (local.get $x)))))
        (v128.store offset=16 (local.get $y) (f64x2.add (v128.load offset=16 (local.get $y)) (f64x2.mul (local.get $al) (v128.load offset=16 (local.get $x)))))
        (local.set $y (i32.add (local.get $y) (i32.const 32)))
        (local.set $x (i32.add (local.get $x) (i32.const 32)))
        (br $body)))
    (local.set $n (i32.and (local.get $n) (i32.const 3)))
    (block $done
      (loop $tail
        (br_if $done (i32.eqz (local.get $n)))
        (f64.store (local.get $y) (f64.add (f64.load (local.get $y)) (f64.mul (local.get $alpha) (f64.load (local.get $x)))))
        (local.set $y (i32.add (local.get $y) (i32.const 8)))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $tail))))

  ;; out[0] ← aᵀu, out[1] ← aᵀv (two partial sums each: even and odd entries; the tail into the even one)
  (func (export "dotPair") (param $a i32) (param $u i32) (param $v i32) (param $n i32) (param $out i32)
    (local $su v128) (local $sv v128) (local $w v128) (local $end i32) (local $s f64) (local $t f64) (local $last f64)
    (local.set $end (i32.add (local.get $a) (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3))))
    (block $done
      (loop $body
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $w (v128.load (local.get $a)))
        (local.set $su (f64x2.add (local.get $su) (f64x2.mul (local.get $w) (v128.load (local.get $u)))))
        (local.set $sv (f64x2.add (local.get $sv) (f64x2.mul (local.get $w) (v128.load (local.get $v)))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $u (i32.add (local.get $u) (i32.const 16)))
        (local.set $v (i32.add (local.get $v) (i32.const 16)))
        (br $body)))
    (local.set $s (f64x2.extract_lane 0 (local.get $su)))
    (local.set $t (f64x2.extract_lane 0 (local.get $sv)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (local.set $last (f64.load (local.get $a)))
        (local.set $s (f64.add (local.get $s) (f64.mul (local.get $last) (f64.load (local.get $u)))))
        (local.set $t (f64.add (local.get $t) (f64.mul (local.get $last) (f64.load (local.get $v)))))))
    (f64.store (local.get $out) (f64.add (local.get $s) (f64x2.extract_lane 1 (local.get $su))))
    (f64.store offset=8 (local.get $out) (f64.add (local.get $t) (f64x2.extract_lane 1 (local.get $sv)))))

  ;; c_j ← a_jᵀv (as dot) and q_j ← ‖a_j‖² (two partial sums: q0 += a0² + a2², q1 += a1² + a3²;
  ;; the tail into q0) for the `cols` columns of the m-row matrix at A
  (func (export "correlateAndNorms") (param $A i32) (param $m i32) (param $cols i32) (param $v i32) (param $c i32) (param $q i32)
    (local $p01 v128) (local $p23 v128) (local $q01 v128) (local $x01 v128) (local $x23 v128)
    (local $a i32) (local $b i32) (local $end i32) (local $k i32) (local $s0 f64) (local $q0 f64) (local $x f64)
    (local.set $a (local.get $A))
    (block $columnsDone
      (loop $column
        (br_if $columnsDone (i32.eqz (local.get $cols)))
        (local.set $b (local.get $v))
        (local.set $p01 (v128.const f64x2 0 0))
        (local.set $p23 (v128.const f64x2 0 0))
        (local.set $q01 (v128.const f64x2 0 0))
        (local.set $end (i32.add (local.get $a) (i32.shl (i32.and (local.get $m) (i32.const -4)) (i32.const 3))))
        (block $done
          (loop $body
            (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
            (local.set $x01 (v128.load (local.get $a)))
            (local.set $x23 (v128.load offset=16 (local.get $a)))
            (local.set $p01 (f64x2.add (local.get $p01) (f64x2.mul (local.get $x01) (v128.load (local.get $b)))))
            (local.set $p23 (f64x2.add (local.get $p23) (f64x2.mul (local.get $x23) (v128.load offset=16 (local.get $b)))))
            (local.set $q01 (f64x2.add (local.get $q01) (f64x2.add (f64x2.mul (local.get $x01) (local.get $x01)) (f64x2.mul (local.get $x23) (local.get $x23)))))
            (local.set $a (i32.add (local.get $a) (i32.const 32)))
            (local.set $b (i32.add (local.get $b) (i32.const 32)))
            (br $body)))
        (local.set $s0 (f64x2.extract_lane 0 (local.get $p01)))
        (local.set $q0 (f64x2.extract_lane 0 (local.get $q01)))
        (local.set $k (i32.and (local.get $m) (i32.const 3)))
        (block $done
          (loop $tail
            (br_if $done (i32.eqz (local.get $k)))
            (local.set $x (f64.load (local.get $a)))
            (local.set $s0 (f64.add (local.get $s0) (f64.mul (local.get $x) (f64.load (local.get $b)))))
            (local.set $q0 (f64.add (local.get $q0) (f64.mul (local.get $x) (local.get $x))))
            (local.set $a (i32.add (local.get $a) (i32.const 8)))
            (local.set $b (i32.add (local.get $b) (i32.const 8)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $tail)))
        (f64.store (local.get $c)
          (f64.add
            (f64.add
              (f64.add (local.get $s0) (f64x2.extract_lane 1 (local.get $p01)))
              (f64x2.extract_lane 0 (local.get $p23)))
            (f64x2.extract_lane 1 (local.get $p23))))
        (f64.store (local.get $q) (f64.add (local.get $q0) (f64x2.extract_lane 1 (local.get $q01))))
        (local.set $c (i32.add (local.get $c) (i32.const 8)))
        (local.set $q (i32.add (local.get $q) (i32.const 8)))
        (local.set $cols (i32.sub (local.get $cols) (i32.const 1)))
        (br $column))))

  ;; out ← Aᵀy: out_j = a_jᵀy (as dot) for the `cols` columns of the m-row matrix at A
  (func (export "gemvT") (param $A i32) (param $m i32) (param $cols i32) (param $y i32) (param $out i32)
    (local $stride i32)
    (local.set $stride (i32.shl (local.get $m) (i32.const 3)))
    (block $done
      (loop $column
        (br_if $done (i32.eqz (local.get $cols)))
        (f64.store (local.get $out) (call $dot (local.get $A) (local.get $y) (local.get $m)))
        (local.set $A (i32.add (local.get $A) (local.get $stride)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $cols (i32.sub (local.get $cols) (i32.const 1)))
        (br $column))))

  ;; y ← (((y + c1·a1) + c2·a2) + c3·a3) + c4·a4, entrywise in that order (as four axpys)
  (func $axpy4 (param $a1 i32) (param $a2 i32) (param $a3 i32) (param $a4 i32) (param $c1 f64) (param $c2 f64) (param $c3 f64) (param $c4 f64) (param $y i32) (param $n i32)
    (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $v4 v128) (local $end i32) (local $i i32)
    (local.set $v1 (f64x2.splat (local.get $c1)))
    (local.set $v2 (f64x2.splat (local.get $c2)))
    (local.set $v3 (f64x2.splat (local.get $c3)))
    (local.set $v4 (f64x2.splat (local.get $c4)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (block $done
      (loop $body
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $y) (local.get $i))
          (f64x2.add (f64x2.add (f64x2.add (f64x2.add (v128.load (i32.add (local.get $y) (local.get $i)))
            (f64x2.mul (local.get $v1) (v128.load (i32.add (local.get $a1) (local.get $i)))))
            (f64x2.mul (local.get $v2) (v128.load (i32.add (local.get $a2) (local.get $i)))))
            (f64x2.mul (local.get $v3) (v128.load (i32.add (local.get $a3) (local.get $i)))))
            (f64x2.mul (local.get $v4) (v128.load (i32.add (local.get $a4) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $body)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (f64.store (i32.add (local.get $y) (local.get $i))
          (f64.add (f64.add (f64.add (f64.add (f64.load (i32.add (local.get $y) (local.get $i)))
            (f64.mul (local.get $c1) (f64.load (i32.add (local.get $a1) (local.get $i)))))
            (f64.mul (local.get $c2) (f64.load (i32.add (local.get $a2) (local.get $i)))))
            (f64.mul (local.get $c3) (f64.load (i32.add (local.get $a3) (local.get $i)))))
            (f64.mul (local.get $c4) (f64.load (i32.add (local.get $a4) (local.get $i)))))))))

  ;; out ← Ax = Σ_j x_j a_j over the columns with x_j ≠ 0 (out zeroed first), in column order, four
  ;; columns per pass over out (the same sums as one axpy per column; out is read and written a
  ;; quarter as often)
  (func (export "gemv") (param $A i32) (param $m i32) (param $cols i32) (param $x i32) (param $out i32)
    (local $stride i32) (local $xj f64) (local $held i32)
    (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $c1 f64) (local $c2 f64) (local $c3 f64)
    (local.set $stride (i32.shl (local.get $m) (i32.const 3)))
    (memory.fill (local.get $out) (i32.const 0) (local.get $stride))
    (block $done
      (loop $column
        (br_if $done (i32.eqz (local.get $cols)))
        (local.set $xj (f64.load (local.get $x)))
        (if (f64.ne (local.get $xj) (f64.const 0))
          (then
            (if (i32.eq (local.get $held) (i32.const 3))
              (then
                (call $axpy4 (local.get $p1) (local.get $p2) (local.get $p3) (local.get $A) (local.get $c1) (local.get $c2) (local.get $c3) (local.get $xj) (local.get $out) (local.get $m))
                (local.set $held (i32.const 0)))
              (else
                (if (i32.eqz (local.get $held))
                  (then (local.set $p1 (local.get $A)) (local.set $c1 (local.get $xj)))
                  (else (if (i32.eq (local.get $held) (i32.const 1))
                    (then (local.set $p2 (local.get $A)) (local.set $c2 (local.get $xj)))
                    (else (local.set $p3 (local.get $A)) (local.set $c3 (local.get $xj))))))
                (local.set $held (i32.add (local.get $held) (i32.const 1)))))))
        (local.set $A (i32.add (local.get $A) (local.get $stride)))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (local.set $cols (i32.sub (local.get $cols) (i32.const 1)))
        (br $column)))
    (if (i32.ge_u (local.get $held) (i32.const 1)) (then (call $axpy (local.get $c1) (local.get $p1) (local.get $out) (local.get $m))))
    (if (i32.ge_u (local.get $held) (i32.const 2)) (then (call $axpy (local.get $c2) (local.get $p2) (local.get $out) (local.get $m))))
    (if (i32.ge_u (local.get $held) (i32.const 3)) (then (call $axpy (local.get $c3) (local.get $p3) (local.get $out) (local.get $m)))))
  ;; out_a ← a_{S_a}ᵀy (as dot) for the k column indices S (i32) at idx
  (func (export "gemvTIndexed") (param $A i32) (param $m i32) (param $idx i32) (param $k i32) (param $y i32) (param $out i32)
    (local $stride i32)
    (local.set $stride (i32.shl (local.get $m) (i32.const 3)))
    (block $done
      (loop $column
        (br_if $done (i32.eqz (local.get $k)))
        (f64.store (local.get $out)
          (call $dot (i32.add (local.get $A) (i32.mul (i32.load (local.get $idx)) (local.get $stride))) (local.get $y) (local.get $m)))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $column))))

  ;; out ← Σ_a x_a a_{S_a} over the a with x_a ≠ 0 (out zeroed first), S the k indices (i32) at idx
  (func (export "gemvIndexed") (param $A i32) (param $m i32) (param $idx i32) (param $k i32) (param $x i32) (param $out i32)
    (local $stride i32) (local $xa f64)
    (local.set $stride (i32.shl (local.get $m) (i32.const 3)))
    (memory.fill (local.get $out) (i32.const 0) (local.get $stride))
    (block $done
      (loop $column
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $xa (f64.load (local.get $x)))
        (if (f64.ne (local.get $xa) (f64.const 0))
          (then (call $axpy (local.get $xa) (i32.add (local.get $A) (i32.mul (i32.load (local.get $idx)) (local.get $stride))) (local.get $out) (local.get $m))))
        (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $column))))

  ;; y1 ← y1 + a1·x, y2 ← y2 + a2·x, n entries, x read once
  (func $axpy2 (param $a1 f64) (param $a2 f64) (param $x i32) (param $y1 i32) (param $y2 i32) (param $n i32)
    (local $v1 v128) (local $v2 v128) (local $w v128) (local $u v128) (local $end i32) (local $xi f64)
    (local.set $v1 (f64x2.splat (local.get $a1)))
    (local.set $v2 (f64x2.splat (local.get $a2)))
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 3))))
    (block $done
      (loop $body
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $w (v128.load (local.get $x)))
        (local.set $u (v128.load offset=16 (local.get $x)))
        (v128.store (local.get $y1) (f64x2.add (v128.load (local.get $y1)) (f64x2.mul (local.get $v1) (local.get $w))))
        (v128.store offset=16 (local.get $y1) (f64x2.add (v128.load offset=16 (local.get $y1)) (f64x2.mul (local.get $v1) (local.get $u))))
        (v128.store (local.get $y2) (f64x2.add (v128.load (local.get $y2)) (f64x2.mul (local.get $v2) (local.get $w))))
        (v128.store offset=16 (local.get $y2) (f64x2.add (v128.load offset=16 (local.get $y2)) (f64x2.mul (local.get $v2) (local.get $u))))
        (local.set $x (i32.add (local.get $x) (i32.const 32)))
        (local.set $y1 (i32.add (local.get $y1) (i32.const 32)))
        (local.set $y2 (i32.add (local.get $y2) (i32.const 32)))
        (br $body)))
    (local.set $n (i32.and (local.get $n) (i32.const 3)))
    (block $done
      (loop $tail
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $xi (f64.load (local.get $x)))
        (f64.store (local.get $y1) (f64.add (f64.load (local.get $y1)) (f64.mul (local.get $a1) (local.get $xi))))
        (f64.store (local.get $y2) (f64.add (f64.load (local.get $y2)) (f64.mul (local.get $a2) (local.get $xi))))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (local.set $y1 (i32.add (local.get $y1) (i32.const 8)))
        (local.set $y2 (i32.add (local.get $y2) (i32.const 8)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $tail))))

  ;; y1 ← (y1 + c1·a1) + c2·a2, y2 ← (y2 + d1·a1) + d2·a2 (entrywise, as four axpys would)
  (func $axpy2x2 (param $a1 i32) (param $a2 i32) (param $c1 f64) (param $c2 f64) (param $d1 f64) (param $d2 f64) (param $y1 i32) (param $y2 i32) (param $n i32)
    (local $u1 v128) (local $u2 v128) (local $w1 v128) (local $w2 v128) (local $x1 v128) (local $x2 v128) (local $end i32) (local $i i32)
    (local.set $u1 (f64x2.splat (local.get $c1)))
    (local.set $u2 (f64x2.splat (local.get $c2)))
    (local.set $w1 (f64x2.splat (local.get $d1)))
    (local.set $w2 (f64x2.splat (local.get $d2)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (block $done
      (loop $body
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $x1 (v128.load (i32.add (local.get $a1) (local.get $i))))
        (local.set $x2 (v128.load (i32.add (local.get $a2) (local.get $i))))
        (v128.store (i32.add (local.get $y1) (local.get $i))
          (f64x2.add (f64x2.add (v128.load (i32.add (local.get $y1) (local.get $i))) (f64x2.mul (local.get $u1) (local.get $x1))) (f64x2.mul (local.get $u2) (local.get $x2))))
        (v128.store (i32.add (local.get $y2) (local.get $i))
          (f64x2.add (f64x2.add (v128.load (i32.add (local.get $y2) (local.get $i))) (f64x2.mul (local.get $w1) (local.get $x1))) (f64x2.mul (local.get $w2) (local.get $x2))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $body)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (f64.store (i32.add (local.get $y1) (local.get $i))
          (f64.add (f64.add (f64.load (i32.add (local.get $y1) (local.get $i))) (f64.mul (local.get $c1) (f64.load (i32.add (local.get $a1) (local.get $i))))) (f64.mul (local.get $c2) (f64.load (i32.add (local.get $a2) (local.get $i))))))
        (f64.store (i32.add (local.get $y2) (local.get $i))
          (f64.add (f64.add (f64.load (i32.add (local.get $y2) (local.get $i))) (f64.mul (local.get $d1) (f64.load (i32.add (local.get $a1) (local.get $i))))) (f64.mul (local.get $d2) (f64.load (i32.add (local.get $a2) (local.get $i)))))))))

  ;; out1 ← Ax1, out2 ← Ax2 in one pass over A (each as gemv computes it: columns with a zero
  ;; coefficient skipped); columns where both coefficients are non-zero go two at a time
  (func (export "gemvPair") (param $A i32) (param $m i32) (param $cols i32) (param $x1 i32) (param $x2 i32) (param $out1 i32) (param $out2 i32)
    (local $stride i32) (local $a1 f64) (local $a2 f64) (local $held i32) (local $p i32) (local $c f64) (local $d f64)
    (local.set $stride (i32.shl (local.get $m) (i32.const 3)))
    (memory.fill (local.get $out1) (i32.const 0) (local.get $stride))
    (memory.fill (local.get $out2) (i32.const 0) (local.get $stride))
    (block $done
      (loop $column
        (br_if $done (i32.eqz (local.get $cols)))
        (local.set $a1 (f64.load (local.get $x1)))
        (local.set $a2 (f64.load (local.get $x2)))
        (if (i32.and (f64.ne (local.get $a1) (f64.const 0)) (f64.ne (local.get $a2) (f64.const 0)))
          (then
            (if (local.get $held)
              (then
                (call $axpy2x2 (local.get $p) (local.get $A) (local.get $c) (local.get $a1) (local.get $d) (local.get $a2) (local.get $out1) (local.get $out2) (local.get $m))
                (local.set $held (i32.const 0)))
              (else (local.set $p (local.get $A)) (local.set $c (local.get $a1)) (local.set $d (local.get $a2)) (local.set $held (i32.const 1)))))
          (else
            (if (local.get $held)
              (then (call $axpy2 (local.get $c) (local.get $d) (local.get $p) (local.get $out1) (local.get $out2) (local.get $m)) (local.set $held (i32.const 0))))
            (if (f64.ne (local.get $a1) (f64.const 0)) (then (call $axpy (local.get $a1) (local.get $A) (local.get $out1) (local.get $m))))
            (if (f64.ne (local.get $a2) (f64.const 0)) (then (call $axpy (local.get $a2) (local.get $A) (local.get $out2) (local.get $m))))))
        (local.set $A (i32.add (local.get $A) (local.get $stride)))
        (local.set $x1 (i32.add (local.get $x1) (i32.const 8)))
        (local.set $x2 (i32.add (local.get $x2) (i32.const 8)))
        (local.set $cols (i32.sub (local.get $cols) (i32.const 1)))
        (br $column)))
    (if (local.get $held) (then (call $axpy2 (local.get $c) (local.get $d) (local.get $p) (local.get $out1) (local.get $out2) (local.get $m)))))

  ;; out1_j ← a_jᵀy1, out2_j ← a_jᵀy2 (each as dot sums it) in one pass over A
  (func (export "gemvTPair") (param $A i32) (param $m i32) (param $cols i32) (param $y1 i32) (param $y2 i32) (param $out1 i32) (param $out2 i32)
    (local $p01 v128) (local $p23 v128) (local $q01 v128) (local $q23 v128) (local $w v128) (local $u v128)
    (local $a i32) (local $b i32) (local $c i32) (local $end i32) (local $k i32) (local $s0 f64) (local $t0 f64) (local $x f64)
    (local.set $a (local.get $A))
    (block $columnsDone
      (loop $column
        (br_if $columnsDone (i32.eqz (local.get $cols)))
        (local.set $b (local.get $y1))
        (local.set $c (local.get $y2))
        (local.set $p01 (v128.const f64x2 0 0))
        (local.set $p23 (v128.const f64x2 0 0))
        (local.set $q01 (v128.const f64x2 0 0))
        (local.set $q23 (v128.const f64x2 0 0))
        (local.set $end (i32.add (local.get $a) (i32.shl (i32.and (local.get $m) (i32.const -4)) (i32.const 3))))
        (block $done
          (loop $body
            (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
            (local.set $w (v128.load (local.get $a)))
            (local.set $u (v128.load offset=16 (local.get $a)))
            (local.set $p01 (f64x2.add (local.get $p01) (f64x2.mul (local.get $w) (v128.load (local.get $b)))))
            (local.set $p23 (f64x2.add (local.get $p23) (f64x2.mul (local.get $u) (v128.load offset=16 (local.get $b)))))
            (local.set $q01 (f64x2.add (local.get $q01) (f64x2.mul (local.get $w) (v128.load (local.get $c)))))
            (local.set $q23 (f64x2.add (local.get $q23) (f64x2.mul (local.get $u) (v128.load offset=16 (local.get $c)))))
            (local.set $a (i32.add (local.get $a) (i32.const 32)))
            (local.set $b (i32.add (local.get $b) (i32.const 32)))
            (local.set $c (i32.add (local.get $c) (i32.const 32)))
            (br $body)))
        (local.set $s0 (f64x2.extract_lane 0 (local.get $p01)))
        (local.set $t0 (f64x2.extract_lane 0 (local.get $q01)))
        (local.set $k (i32.and (local.get $m) (i32.const 3)))
        (block $done
          (loop $tail
            (br_if $done (i32.eqz (local.get $k)))
            (local.set $x (f64.load (local.get $a)))
            (local.set $s0 (f64.add (local.get $s0) (f64.mul (local.get $x) (f64.load (local.get $b)))))
            (local.set $t0 (f64.add (local.get $t0) (f64.mul (local.get $x) (f64.load (local.get $c)))))
            (local.set $a (i32.add (local.get $a) (i32.const 8)))
            (local.set $b (i32.add (local.get $b) (i32.const 8)))
            (local.set $c (i32.add (local.get $c) (i32.const 8)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $tail)))
        (f64.store (local.get $out1)
          (f64.add (f64.add (f64.add (local.get $s0) (f64x2.extract_lane 1 (local.get $p01))) (f64x2.extract_lane 0 (local.get $p23))) (f64x2.extract_lane 1 (local.get $p23))))
        (f64.store (local.get $out2)
          (f64.add (f64.add (f64.add (local.get $t0) (f64x2.extract_lane 1 (local.get $q01))) (f64x2.extract_lane 0 (local.get $q23))) (f64x2.extract_lane 1 (local.get $q23))))
        (local.set $out1 (i32.add (local.get $out1) (i32.const 8)))
        (local.set $out2 (i32.add (local.get $out2) (i32.const 8)))
        (local.set $cols (i32.sub (local.get $cols) (i32.const 1)))
        (br $column))))
)
