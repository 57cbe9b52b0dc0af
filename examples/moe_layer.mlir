// A small expert-choice MoE layer, the README's built-in example:
//   y   = egs.gather_matmul  x[ind] * w_up            (each expert picks K tokens)
//   out = egs.matmul_scatter y * w_down into 0[ind] scale gate
// and the same computation written with upstream ops only (tensor.extract /
// scf loops), which serves as the reference. Run it with
//   egs-runner examples/moe_layer.mlir -e main --entry-point-result=void
// bufferization.access tells one-shot bufferization that printing only reads.
func.func private @printMemrefF32(tensor<*xf32> {bufferization.access = "read"})

// Deterministic small-integer data so that every printed value is exact.
func.func @data(%T: index, %I: index, %E: index, %K: index, %J: index)
    -> (tensor<?x?xf32>, tensor<?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>) {
  %x0 = tensor.empty(%T, %I) : tensor<?x?xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(t, i) -> (t, i)>], iterator_types = ["parallel", "parallel"]}
      outs(%x0 : tensor<?x?xf32>) {
  ^bb0(%o: f32):
    %t = linalg.index 0 : index
    %i = linalg.index 1 : index
    %v = affine.apply affine_map<(t, i) -> ((t * 7 + i * 3) mod 11)>(%t, %i)
    %vi = arith.index_cast %v : index to i32
    %vf = arith.sitofp %vi : i32 to f32
    %c5 = arith.constant 5.0 : f32
    %r = arith.subf %vf, %c5 : f32
    linalg.yield %r : f32
  } -> tensor<?x?xf32>
  %ind0 = tensor.empty(%E, %K) : tensor<?x?xi32>
  %ind = linalg.generic {indexing_maps = [affine_map<(e, k) -> (e, k)>], iterator_types = ["parallel", "parallel"]}
      outs(%ind0 : tensor<?x?xi32>) {
  ^bb0(%o: i32):
    %e = linalg.index 0 : index
    %k = linalg.index 1 : index
    %v = affine.apply affine_map<(e, k)[t] -> ((e * 5 + k * 3) mod t)>(%e, %k)[%T]
    %vi = arith.index_cast %v : index to i32
    linalg.yield %vi : i32
  } -> tensor<?x?xi32>
  %wu0 = tensor.empty(%E, %I, %J) : tensor<?x?x?xf32>
  %wu = linalg.generic {indexing_maps = [affine_map<(e, i, j) -> (e, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%wu0 : tensor<?x?x?xf32>) {
  ^bb0(%o: f32):
    %e = linalg.index 0 : index
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %v = affine.apply affine_map<(e, i, j) -> ((e + i * 2 + j) mod 5)>(%e, %i, %j)
    %vi = arith.index_cast %v : index to i32
    %vf = arith.sitofp %vi : i32 to f32
    %c2 = arith.constant 2.0 : f32
    %r = arith.subf %vf, %c2 : f32
    linalg.yield %r : f32
  } -> tensor<?x?x?xf32>
  %wd0 = tensor.empty(%E, %J, %I) : tensor<?x?x?xf32>
  %wd = linalg.generic {indexing_maps = [affine_map<(e, j, i) -> (e, j, i)>], iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%wd0 : tensor<?x?x?xf32>) {
  ^bb0(%o: f32):
    %e = linalg.index 0 : index
    %j = linalg.index 1 : index
    %i = linalg.index 2 : index
    %v = affine.apply affine_map<(e, j, i) -> ((e * 3 + j + i) mod 3)>(%e, %j, %i)
    %vi = arith.index_cast %v : index to i32
    %vf = arith.sitofp %vi : i32 to f32
    %c1 = arith.constant 1.0 : f32
    %r = arith.subf %vf, %c1 : f32
    linalg.yield %r : f32
  } -> tensor<?x?x?xf32>
  %g0 = tensor.empty(%E, %K) : tensor<?x?xf32>
  %gate = linalg.generic {indexing_maps = [affine_map<(e, k) -> (e, k)>], iterator_types = ["parallel", "parallel"]}
      outs(%g0 : tensor<?x?xf32>) {
  ^bb0(%o: f32):
    %e = linalg.index 0 : index
    %k = linalg.index 1 : index
    %v = affine.apply affine_map<(e, k) -> ((e + k) mod 2 + 1)>(%e, %k)
    %vi = arith.index_cast %v : index to i32
    %vf = arith.sitofp %vi : i32 to f32
    linalg.yield %vf : f32
  } -> tensor<?x?xf32>
  return %x, %ind, %wu, %wd, %gate : tensor<?x?xf32>, tensor<?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>
}

// The egs formulation.
func.func @moe_egs(%x: tensor<?x?xf32>, %ind: tensor<?x?xi32>, %wu: tensor<?x?x?xf32>,
                   %wd: tensor<?x?x?xf32>, %gate: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %T = tensor.dim %x, %c0 : tensor<?x?xf32>
  %I = tensor.dim %x, %c1 : tensor<?x?xf32>
  %y = egs.gather_matmul %x[%ind] * %wu
      : (tensor<?x?xf32>, tensor<?x?xi32>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty(%T, %I) : tensor<?x?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e0 : tensor<?x?xf32>) -> tensor<?x?xf32>
  %out = egs.matmul_scatter %y * %wd into %init[%ind] scale %gate
      : (tensor<?x?x?xf32>, tensor<?x?xi32>, tensor<?x?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %out : tensor<?x?xf32>
}

// The reference: plain loops over upstream tensor ops.
func.func @moe_reference(%x: tensor<?x?xf32>, %ind: tensor<?x?xi32>, %wu: tensor<?x?x?xf32>,
                         %wd: tensor<?x?x?xf32>, %gate: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %T = tensor.dim %x, %c0 : tensor<?x?xf32>
  %I = tensor.dim %x, %c1 : tensor<?x?xf32>
  %E = tensor.dim %ind, %c0 : tensor<?x?xi32>
  %K = tensor.dim %ind, %c1 : tensor<?x?xi32>
  %J = tensor.dim %wu, %c2 : tensor<?x?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty(%T, %I) : tensor<?x?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e0 : tensor<?x?xf32>) -> tensor<?x?xf32>
  %res = scf.for %e = %c0 to %E step %c1 iter_args(%o1 = %init) -> tensor<?x?xf32> {
    %r1 = scf.for %k = %c0 to %K step %c1 iter_args(%o2 = %o1) -> tensor<?x?xf32> {
      %t32 = tensor.extract %ind[%e, %k] : tensor<?x?xi32>
      %t = arith.index_cast %t32 : i32 to index
      %g = tensor.extract %gate[%e, %k] : tensor<?x?xf32>
      %r2 = scf.for %i = %c0 to %I step %c1 iter_args(%o3 = %o2) -> tensor<?x?xf32> {
        %acc = scf.for %j = %c0 to %J step %c1 iter_args(%a = %zero) -> f32 {
          %h = scf.for %ii = %c0 to %I step %c1 iter_args(%b = %zero) -> f32 {
            %xv = tensor.extract %x[%t, %ii] : tensor<?x?xf32>
            %wv = tensor.extract %wu[%e, %ii, %j] : tensor<?x?x?xf32>
            %p = arith.mulf %xv, %wv : f32
            %s = arith.addf %b, %p : f32
            scf.yield %s : f32
          }
          %dv = tensor.extract %wd[%e, %j, %i] : tensor<?x?x?xf32>
          %p2 = arith.mulf %h, %dv : f32
          %s2 = arith.addf %a, %p2 : f32
          scf.yield %s2 : f32
        }
        %old = tensor.extract %o3[%t, %i] : tensor<?x?xf32>
        %scaled = arith.mulf %acc, %g : f32
        %new = arith.addf %old, %scaled : f32
        %ins = tensor.insert %new into %o3[%t, %i] : tensor<?x?xf32>
        scf.yield %ins : tensor<?x?xf32>
      }
      scf.yield %r2 : tensor<?x?xf32>
    }
    scf.yield %r1 : tensor<?x?xf32>
  }
  return %res : tensor<?x?xf32>
}

func.func @main() {
  %T = arith.constant 16 : index
  %I = arith.constant 8 : index
  %E = arith.constant 4 : index
  %K = arith.constant 4 : index
  %J = arith.constant 6 : index
  %x, %ind, %wu, %wd, %gate = call @data(%T, %I, %E, %K, %J)
      : (index, index, index, index, index) -> (tensor<?x?xf32>, tensor<?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>)
  %out = call @moe_egs(%x, %ind, %wu, %wd, %gate)
      : (tensor<?x?xf32>, tensor<?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %ref = call @moe_reference(%x, %ind, %wu, %wd, %gate)
      : (tensor<?x?xf32>, tensor<?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %u = tensor.cast %out : tensor<?x?xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  // max |out - ref| over all elements
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %diff = scf.for %t = %c0 to %T step %c1 iter_args(%m = %zero) -> f32 {
    %m2 = scf.for %i = %c0 to %I step %c1 iter_args(%mm = %m) -> f32 {
      %a = tensor.extract %out[%t, %i] : tensor<?x?xf32>
      %b = tensor.extract %ref[%t, %i] : tensor<?x?xf32>
      %d = arith.subf %a, %b : f32
      %ad = math.absf %d : f32
      %n = arith.maximumf %mm, %ad : f32
      scf.yield %n : f32
    }
    scf.yield %m2 : f32
  }
  vector.print str "max |egs - reference| = "
  vector.print %diff : f32
  %tol = arith.constant 1.0e-4 : f32
  %ok = arith.cmpf olt, %diff, %tol : f32
  scf.if %ok {
    vector.print str "egs matches the reference\n"
  } else {
    vector.print str "MISMATCH between egs and the reference\n"
  }
  return
}
