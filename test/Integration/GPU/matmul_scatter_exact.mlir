// REQUIRES: cuda
// RUN: egs-runner %s -e main --entry-point-result=void --target=cuda | FileCheck %s
//
// matmul_scatter with f32 init and scale, with atomics and {deterministic},
// on the GPU against a linalg reference on the host. Data are multiples of
// 1/8, so every sum is exact whatever its order and both must match exactly.
// Indices repeat (several experts pick a token), which exercises collisions.

// CHECK-COUNT-8: max |gpu - reference| = 0

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

/// ((a*i0 + b*i1 + c*i2) mod 17 - 8) / 8 as bf16.
func.func @fill(%d0: index, %d1: index, %d2: index, %a: index, %b: index, %c: index) -> tensor<?x?x?xbf16> {
  %e = tensor.empty(%d0, %d1, %d2) : tensor<?x?x?xbf16>
  %r = linalg.generic {indexing_maps = [#id3], iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%e : tensor<?x?x?xbf16>) {
  ^bb0(%o: bf16):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %t0 = arith.muli %i0, %a : index
    %t1 = arith.muli %i1, %b : index
    %t2 = arith.muli %i2, %c : index
    %s0 = arith.addi %t0, %t1 : index
    %s1 = arith.addi %s0, %t2 : index
    %c17 = arith.constant 17 : index
    %c8 = arith.constant 8 : index
    %m = arith.remui %s1, %c17 : index
    %v = arith.subi %m, %c8 : index
    %vi = arith.index_cast %v : index to i32
    %vf = arith.sitofp %vi : i32 to f32
    %eighth = arith.constant 0.125 : f32
    %y = arith.mulf %vf, %eighth : f32
    %yb = arith.truncf %y : f32 to bf16
    linalg.yield %yb : bf16
  } -> tensor<?x?x?xbf16>
  return %r : tensor<?x?x?xbf16>
}

/// ind[b, e, k] = (11 b + 5 e + 3 k) mod T.
func.func @indices(%B: index, %E: index, %K: index, %T: index) -> tensor<?x?x?xi32> {
  %e = tensor.empty(%B, %E, %K) : tensor<?x?x?xi32>
  %r = linalg.generic {indexing_maps = [#id3], iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%e : tensor<?x?x?xi32>) {
  ^bb0(%o: i32):
    %b = linalg.index 0 : index
    %ee = linalg.index 1 : index
    %k = linalg.index 2 : index
    %c11 = arith.constant 11 : index
    %c5 = arith.constant 5 : index
    %c3 = arith.constant 3 : index
    %t0 = arith.muli %b, %c11 : index
    %t1 = arith.muli %ee, %c5 : index
    %t2 = arith.muli %k, %c3 : index
    %s0 = arith.addi %t0, %t1 : index
    %s1 = arith.addi %s0, %t2 : index
    %t = arith.remui %s1, %T : index
    %ti = arith.index_cast %t : index to i32
    linalg.yield %ti : i32
  } -> tensor<?x?x?xi32>
  return %r : tensor<?x?x?xi32>
}


func.func @maxdiff(%a: tensor<?x?x?xf32>, %r: tensor<?x?x?xf32>) {
  %zero = arith.constant 0.0 : f32
  %m0 = tensor.empty() : tensor<f32>
  %m = linalg.fill ins(%zero : f32) outs(%m0 : tensor<f32>) -> tensor<f32>
  %max = linalg.generic {indexing_maps = [#id3, #id3, affine_map<(d0, d1, d2) -> ()>],
                         iterator_types = ["reduction", "reduction", "reduction"]}
      ins(%a, %r : tensor<?x?x?xf32>, tensor<?x?x?xf32>) outs(%m : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %cur: f32):
    %d = arith.subf %x, %y : f32
    %ad = math.absf %d : f32
    %isnan = arith.cmpf uno, %ad, %ad : f32
    %inf = arith.constant 0x7F800000 : f32
    %v = arith.select %isnan, %inf, %ad : f32
    %n = arith.maximumf %cur, %v : f32
    linalg.yield %n : f32
  } -> tensor<f32>
  %mv = tensor.extract %max[] : tensor<f32>
  vector.print str "max |gpu - reference| = "
  vector.print %mv : f32
  return
}

func.func @check(%B: index, %T: index, %E: index, %K: index, %J: index, %I: index) {
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  %c7 = arith.constant 7 : index
  %c1 = arith.constant 1 : index
  %yj = func.call @fill4(%B, %E, %K, %J) : (index, index, index, index) -> tensor<?x?x?x?xbf16>
  %w = func.call @fill(%E, %J, %I, %c7, %c2, %c3) : (index, index, index, index, index, index) -> tensor<?x?x?xbf16>
  %s16 = func.call @fill(%B, %E, %K, %c5, %c3, %c2) : (index, index, index, index, index, index) -> tensor<?x?x?xbf16>
  %s = arith.extf %s16 : tensor<?x?x?xbf16> to tensor<?x?x?xf32>
  %i16 = func.call @fill(%B, %T, %I, %c2, %c7, %c5) : (index, index, index, index, index, index) -> tensor<?x?x?xbf16>
  %init = arith.extf %i16 : tensor<?x?x?xbf16> to tensor<?x?x?xf32>
  %ind = func.call @indices(%B, %E, %K, %T) : (index, index, index, index) -> tensor<?x?x?xi32>
  %o1 = egs.matmul_scatter %yj * %w into %init[%ind] scale %s
      : (tensor<?x?x?x?xbf16>, tensor<?x?x?xi32>, tensor<?x?x?xbf16>, tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %o2 = egs.matmul_scatter %yj * %w into %init[%ind] scale %s {deterministic}
      : (tensor<?x?x?x?xbf16>, tensor<?x?x?xi32>, tensor<?x?x?xbf16>, tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %red = tensor.empty(%E, %K, %J) : tensor<?x?x?xf32>
  %ref = linalg.generic {indexing_maps = [affine_map<(b, t, i, e, k, j) -> (e, k, j)>,
                                          affine_map<(b, t, i, e, k, j) -> (b, t, i)>],
                         iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%red : tensor<?x?x?xf32>) outs(%init : tensor<?x?x?xf32>) {
  ^bb0(%unused: f32, %acc: f32):
    %b = linalg.index 0 : index
    %t = linalg.index 1 : index
    %i = linalg.index 2 : index
    %e = linalg.index 3 : index
    %k = linalg.index 4 : index
    %j = linalg.index 5 : index
    %r32 = tensor.extract %ind[%b, %e, %k] : tensor<?x?x?xi32>
    %r = arith.index_cast %r32 : i32 to index
    %hit = arith.cmpi eq, %r, %t : index
    %yv = tensor.extract %yj[%b, %e, %k, %j] : tensor<?x?x?x?xbf16>
    %wv = tensor.extract %w[%e, %j, %i] : tensor<?x?x?xbf16>
    %sv = tensor.extract %s[%b, %e, %k] : tensor<?x?x?xf32>
    %yf = arith.extf %yv : bf16 to f32
    %wf = arith.extf %wv : bf16 to f32
    %p = arith.mulf %yf, %wf : f32
    %ps = arith.mulf %p, %sv : f32
    %zero = arith.constant 0.0 : f32
    %term = arith.select %hit, %ps, %zero : f32
    %n = arith.addf %acc, %term : f32
    linalg.yield %n : f32
  } -> tensor<?x?x?xf32>
  func.call @maxdiff(%o1, %ref) : (tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> ()
  func.call @maxdiff(%o2, %ref) : (tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> ()
  return
}

/// y[b, e, k, j] = ((3 b + 5 e + 7 k + 2 j) mod 17 - 8) / 8 as bf16.
func.func @fill4(%d0: index, %d1: index, %d2: index, %d3: index) -> tensor<?x?x?x?xbf16> {
  %e = tensor.empty(%d0, %d1, %d2, %d3) : tensor<?x?x?x?xbf16>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%e : tensor<?x?x?x?xbf16>) {
  ^bb0(%o: bf16):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c5 = arith.constant 5 : index
    %c7 = arith.constant 7 : index
    %t0 = arith.muli %i0, %c3 : index
    %t1 = arith.muli %i1, %c5 : index
    %t2 = arith.muli %i2, %c7 : index
    %t3 = arith.muli %i3, %c2 : index
    %s0 = arith.addi %t0, %t1 : index
    %s1 = arith.addi %s0, %t2 : index
    %s2 = arith.addi %s1, %t3 : index
    %c17 = arith.constant 17 : index
    %c8 = arith.constant 8 : index
    %m = arith.remui %s2, %c17 : index
    %v = arith.subi %m, %c8 : index
    %vi = arith.index_cast %v : index to i32
    %vf = arith.sitofp %vi : i32 to f32
    %eighth = arith.constant 0.125 : f32
    %y = arith.mulf %vf, %eighth : f32
    %yb = arith.truncf %y : f32 to bf16
    linalg.yield %yb : bf16
  } -> tensor<?x?x?x?xbf16>
  return %r : tensor<?x?x?x?xbf16>
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  // B, T, E, K, J, I
  %s = arith.constant dense<[[2, 19, 3, 7, 40, 24], [2, 13, 5, 12, 72, 56], [1, 9, 4, 130, 32, 136],
                             [2, 11, 3, 7, 37, 21]]> : tensor<4x6xindex>
  scf.for %n = %c0 to %c4 step %c1 {
    %B = tensor.extract %s[%n, %c0] : tensor<4x6xindex>
    %T = tensor.extract %s[%n, %c1] : tensor<4x6xindex>
    %E = tensor.extract %s[%n, %c2] : tensor<4x6xindex>
    %K = tensor.extract %s[%n, %c3] : tensor<4x6xindex>
    %J = tensor.extract %s[%n, %c4] : tensor<4x6xindex>
    %I = tensor.extract %s[%n, %c5] : tensor<4x6xindex>
    func.call @check(%B, %T, %E, %K, %J, %I) : (index, index, index, index, index, index) -> ()
  }
  return
}
