// REQUIRES: cuda
// RUN: egs-runner %s -e main --entry-point-result=void --target=cuda | FileCheck %s
//
// gather_matmul (bf16 data, f32 result) on the GPU against a linalg reference
// computed on the host in the same program. The data are multiples of 1/8 in
// [-1, 1], so every product and sum is exact and the results must be equal.
// Shapes: tails of every tile dimension (16-byte rows: the tensor-core
// kernel), rows that are not 16-byte multiples (the general kernel), E = 1,
// K = 1, and the seed shape.

// CHECK-COUNT-6: max |gpu - reference| = 0

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#out4 = affine_map<(b, e, k, j, i) -> (b, e, k, j)>

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

func.func @check(%B: index, %T: index, %E: index, %K: index, %I: index, %J: index) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  %c7 = arith.constant 7 : index
  %x = func.call @fill(%B, %T, %I, %c3, %c5, %c7) : (index, index, index, index, index, index) -> tensor<?x?x?xbf16>
  %w = func.call @fill(%E, %I, %J, %c7, %c2, %c3) : (index, index, index, index, index, index) -> tensor<?x?x?xbf16>
  %ind = func.call @indices(%B, %E, %K, %T) : (index, index, index, index) -> tensor<?x?x?xi32>
  %y = egs.gather_matmul %x[%ind] * %w
      : (tensor<?x?x?xbf16>, tensor<?x?x?xi32>, tensor<?x?x?xbf16>) -> tensor<?x?x?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty(%B, %E, %K, %J) : tensor<?x?x?x?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e0 : tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  %red = tensor.empty(%I) : tensor<?xf32>
  %ref = linalg.generic {indexing_maps = [affine_map<(b, e, k, j, i) -> (i)>, #out4],
                         iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%red : tensor<?xf32>) outs(%z : tensor<?x?x?x?xf32>) {
  ^bb0(%unused: f32, %acc: f32):
    %b = linalg.index 0 : index
    %e = linalg.index 1 : index
    %k = linalg.index 2 : index
    %j = linalg.index 3 : index
    %i = linalg.index 4 : index
    %t32 = tensor.extract %ind[%b, %e, %k] : tensor<?x?x?xi32>
    %t = arith.index_cast %t32 : i32 to index
    %xv = tensor.extract %x[%b, %t, %i] : tensor<?x?x?xbf16>
    %wv = tensor.extract %w[%e, %i, %j] : tensor<?x?x?xbf16>
    %xf = arith.extf %xv : bf16 to f32
    %wf = arith.extf %wv : bf16 to f32
    %p = arith.mulf %xf, %wf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x?x?xf32>
  %m0 = tensor.empty() : tensor<f32>
  %m = linalg.fill ins(%zero : f32) outs(%m0 : tensor<f32>) -> tensor<f32>
  %max = linalg.generic {indexing_maps = [#id4, #id4, affine_map<(d0, d1, d2, d3) -> ()>],
                         iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%y, %ref : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>) outs(%m : tensor<f32>) {
  ^bb0(%a: f32, %r: f32, %cur: f32):
    %d = arith.subf %a, %r : f32
    %ad = math.absf %d : f32
    // NaN (an unwritten output) must not pass as 0.
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

func.func @main() {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c64 = arith.constant 64 : index
  // B, T, E, K, I, J
  %s = arith.constant dense<[[2, 19, 3, 7, 40, 24], [3, 37, 5, 45, 72, 56], [2, 64, 4, 130, 264, 136],
                             [2, 19, 3, 7, 37, 21], [1, 5, 1, 1, 16, 8], [64, 256, 32, 32, 128, 64]]> : tensor<6x6xindex>
  %c0 = arith.constant 0 : index
  %c6 = arith.constant 6 : index
  scf.for %n = %c0 to %c6 step %c1 {
    %c4 = arith.constant 4 : index
    %c5 = arith.constant 5 : index
    %B = tensor.extract %s[%n, %c0] : tensor<6x6xindex>
    %T = tensor.extract %s[%n, %c1] : tensor<6x6xindex>
    %E = tensor.extract %s[%n, %c2] : tensor<6x6xindex>
    %K = tensor.extract %s[%n, %c3] : tensor<6x6xindex>
    %I = tensor.extract %s[%n, %c4] : tensor<6x6xindex>
    %J = tensor.extract %s[%n, %c5] : tensor<6x6xindex>
    func.call @check(%B, %T, %E, %K, %I, %J) : (index, index, index, index, index, index) -> ()
  }
  return
}
