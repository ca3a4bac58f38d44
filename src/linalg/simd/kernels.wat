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

  ;; out ← Ax = Σ_j x_j a_j over the columns with x_j ≠ 0 (out zeroed first)
  (func (export "gemv") (param $A i32) (param $m i32) (param $cols i32) (param $x i32) (param $out i32)
    (local $stride i32) (local $xj f64)
    (local.set $stride (i32.shl (local.get $m) (i32.const 3)))
    (memory.fill (local.get $out) (i32.const 0) (local.get $stride))
    (block $done
      (loop $column
        (br_if $done (i32.eqz (local.get $cols)))
        (local.set $xj (f64.load (local.get $x)))
        (if (f64.ne (local.get $xj) (f64.const 0))
          (then (call $axpy (local.get $xj) (local.get $A) (local.get $out) (local.get $m))))
        (local.set $A (i32.add (local.get $A) (local.get $stride)))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (local.set $cols (i32.sub (local.get $cols) (i32.const 1)))
        (br $column))))
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

  ;; out1 ← Ax1, out2 ← Ax2 in one pass over A (each as gemv computes it: columns with a zero coefficient skipped)
  (func (export "gemvPair") (param $A i32) (param $m i32) (param $cols i32) (param $x1 i32) (param $x2 i32) (param $out1 i32) (param $out2 i32)
    (local $stride i32) (local $a1 f64) (local $a2 f64)
    (local.set $stride (i32.shl (local.get $m) (i32.const 3)))
    (memory.fill (local.get $out1) (i32.const 0) (local.get $stride))
    (memory.fill (local.get $out2) (i32.const 0) (local.get $stride))
    (block $done
      (loop $column
        (br_if $done (i32.eqz (local.get $cols)))
        (local.set $a1 (f64.load (local.get $x1)))
        (local.set $a2 (f64.load (local.get $x2)))
        (if (f64.ne (local.get $a1) (f64.const 0))
          (then
            (if (f64.ne (local.get $a2) (f64.const 0))
              (then (call $axpy2 (local.get $a1) (local.get $a2) (local.get $A) (local.get $out1) (local.get $out2) (local.get $m)))
              (else (call $axpy (local.get $a1) (local.get $A) (local.get $out1) (local.get $m)))))
          (else
            (if (f64.ne (local.get $a2) (f64.const 0))
              (then (call $axpy (local.get $a2) (local.get $A) (local.get $out2) (local.get $m))))))
        (local.set $A (i32.add (local.get $A) (local.get $stride)))
        (local.set $x1 (i32.add (local.get $x1) (i32.const 8)))
        (local.set $x2 (i32.add (local.get $x2) (i32.const 8)))
        (local.set $cols (i32.sub (local.get $cols) (i32.const 1)))
        (br $column))))

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
