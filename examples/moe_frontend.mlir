// The README's built-in example, frontend style: the same expert-choice MoE
// layer as moe_layer.mlir, written as torch-mlir emits it (a gather as a
// linalg.generic yielding tensor.extract, two linalg.batch_matmul, and an
// unfused scatter-add). `egs-opt --egs-fuse` turns it into one
// egs.gather_matmul and one egs.matmul_scatter; both versions run:
//   egs-runner examples/moe_frontend.mlir -e main --entry-point-result=void
//   egs-opt --egs-fuse examples/moe_frontend.mlir | egs-runner -e main --entry-point-result=void
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

func.func @moe_frontend(%x: tensor<?x?xf32>, %ind32: tensor<?x?xi32>, %wu: tensor<?x?x?xf32>,
                        %wd: tensor<?x?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %T = tensor.dim %x, %c0 : tensor<?x?xf32>
  %I = tensor.dim %x, %c1 : tensor<?x?xf32>
  %E = tensor.dim %ind32, %c0 : tensor<?x?xi32>
  %K = tensor.dim %ind32, %c1 : tensor<?x?xi32>
  %J = tensor.dim %wu, %c2 : tensor<?x?x?xf32>
  %zero = arith.constant 0.0 : f32
  // torch.index_select(x, 0, ind): a gather written as linalg.generic.
  %ge = tensor.empty(%E, %K, %I) : tensor<?x?x?xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(e, k, i) -> (e, k)>,
                                        affine_map<(e, k, i) -> (e, k, i)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ind32 : tensor<?x?xi32>) outs(%ge : tensor<?x?x?xf32>) {
  ^bb0(%t: i32, %o: f32):
    %tt = arith.index_cast %t : i32 to index
    %i = linalg.index 2 : index
    %v = tensor.extract %x[%tt, %i] : tensor<?x?xf32>
    linalg.yield %v : f32
  } -> tensor<?x?x?xf32>
  %ye = tensor.empty(%E, %K, %J) : tensor<?x?x?xf32>
  %yf = linalg.fill ins(%zero : f32) outs(%ye : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %y = linalg.batch_matmul ins(%g, %wu : tensor<?x?x?xf32>, tensor<?x?x?xf32>)
                           outs(%yf : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %ze = tensor.empty(%E, %K, %I) : tensor<?x?x?xf32>
  %zf = linalg.fill ins(%zero : f32) outs(%ze : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %z = linalg.batch_matmul ins(%y, %wd : tensor<?x?x?xf32>, tensor<?x?x?xf32>)
                           outs(%zf : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  // index_add_ into zeros: the unfused scatter-add.
  %oe = tensor.empty(%T, %I) : tensor<?x?xf32>
  %of = linalg.fill ins(%zero : f32) outs(%oe : tensor<?x?xf32>) -> tensor<?x?xf32>
  %out = egs.scatter_add %z into %of[%ind32] axis = 0
      : (tensor<?x?x?xf32>, tensor<?x?xi32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %out : tensor<?x?xf32>
}

func.func @main() {
  %T = arith.constant 16 : index
  %I = arith.constant 8 : index
  %E = arith.constant 4 : index
  %K = arith.constant 4 : index
  %J = arith.constant 6 : index
  %x, %ind, %wu, %wd, %gate = call @data(%T, %I, %E, %K, %J)
      : (index, index, index, index, index) -> (tensor<?x?xf32>, tensor<?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>)
  %out = call @moe_frontend(%x, %ind, %wu, %wd)
      : (tensor<?x?xf32>, tensor<?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?xf32>
  %u = tensor.cast %out : tensor<?x?xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}
