// The data-movement ops on element types beyond f32/f16/bf16 (issue 16):
// gather, gather_concat and permute move any signless integer or float of 8,
// 16, 32 or 64 bits; scatter_add accumulates f64 and i64 (and f16, bf16, f32,
// i32: scatter_add.mlir). f64 values outside the f32 range (1e300) and
// integer extremes show that nothing goes through a narrower type. The GPU
// lowering of the same types: test/Pipelines/data-movement-types*.mlir.

// RUN: egs-runner %s -e main --entry-point-result=void | FileCheck %s

func.func private @printMemrefF64(tensor<*xf64>)
func.func private @printMemrefI64(tensor<*xi64>)
func.func private @printMemrefI32(tensor<*xi32>)
func.func private @printMemrefI16(tensor<*xi16>) attributes {llvm.emit_c_interface}

func.func @permute_dynamic(%x: tensor<?x?xf64>, %ids: tensor<?x?xi32>)
    -> (tensor<?x?xf64>, tensor<?xi32>, tensor<?xi32>) {
  %r:3 = egs.permute %x by %ids experts = 3 out_tokens = 5
      : (tensor<?x?xf64>, tensor<?x?xi32>) -> (tensor<?x?xf64>, tensor<?xi32>, tensor<?xi32>)
  return %r#0, %r#1, %r#2 : tensor<?x?xf64>, tensor<?xi32>, tensor<?xi32>
}

func.func @main() {
  // CHECK-LABEL: CASE gather_f64_transposed
  // CHECK: [6.25, 0.5, 6.25]
  // CHECK: [7.125, 1e+300, 7.125]
  %x = arith.constant dense<[[0.5, 1.0e300], [2.5, 3.5], [4.5, -1.0], [6.25, 7.125]]> : tensor<4x2xf64>
  %ind = arith.constant dense<[3, 0, 3]> : tensor<3xi32>
  %g = egs.gather %x[%ind] axis = 0 permutation = [1, 0]
      : (tensor<4x2xf64>, tensor<3xi32>) -> tensor<2x3xf64>
  vector.print str "CASE gather_f64_transposed\n"
  %gu = tensor.cast %g : tensor<2x3xf64> to tensor<*xf64>
  call @printMemrefF64(%gu) : (tensor<*xf64>) -> ()

  // CHECK-LABEL: CASE gather_i8_dynamic
  // CHECK: [100, -100]
  // CHECK: [100, -100]
  // CHECK: [-128, 127]
  %x8 = arith.constant dense<[[-128, 127], [5, -6], [100, -100]]> : tensor<3x2xi8>
  %i8 = arith.constant dense<[2, 2, 0]> : tensor<3xi64>
  %x8d = tensor.cast %x8 : tensor<3x2xi8> to tensor<?x?xi8>
  %i8d = tensor.cast %i8 : tensor<3xi64> to tensor<?xi64>
  %g8 = egs.gather %x8d[%i8d] axis = 0 : (tensor<?x?xi8>, tensor<?xi64>) -> tensor<?x?xi8>
  %g8s = tensor.cast %g8 : tensor<?x?xi8> to tensor<3x2xi8>
  %g16 = arith.extsi %g8s : tensor<3x2xi8> to tensor<3x2xi16>
  vector.print str "CASE gather_i8_dynamic\n"
  %g16u = tensor.cast %g16 : tensor<3x2xi16> to tensor<*xi16>
  call @printMemrefI16(%g16u) : (tensor<*xi16>) -> ()

  // CHECK-LABEL: CASE gather_concat_i64
  // CHECK: [9223372036854775807, 2, -9223372036854775808, 4]
  // CHECK: [-1, -2, 3, 4]
  %a = arith.constant dense<[[-1, -2], [9223372036854775807, 2]]> : tensor<2x2xi64>
  %b = arith.constant dense<[[3, 4], [-9223372036854775808, 4]]> : tensor<2x2xi64>
  %ia = arith.constant dense<[1, 0]> : tensor<2xi32>
  %ib = arith.constant dense<[1, 0]> : tensor<2xi32>
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1
      : (tensor<2x2xi64>, tensor<2x2xi64>, tensor<2xi32>, tensor<2xi32>) -> tensor<2x4xi64>
  vector.print str "CASE gather_concat_i64\n"
  %cu = tensor.cast %c : tensor<2x4xi64> to tensor<*xi64>
  call @printMemrefI64(%cu) : (tensor<*xi64>) -> ()

  // T = 2 tokens, k = 2, ids [[2, 0], [0, 2]]: expert 0 gets (t0, j1) and
  // (t1, j0), expert 2 gets (t0, j0) and (t1, j1); the fifth row (past T*k)
  // is zero.
  // CHECK-LABEL: CASE permute_f64_extra_row
  // CHECK: [1e+300, -2]
  // CHECK: [3, 4]
  // CHECK: [1e+300, -2]
  // CHECK: [3, 4]
  // CHECK: [0, 0]
  // CHECK: [2, 1, 0, 3]
  // CHECK: [0, 2, 2, 4]
  %px = arith.constant dense<[[1.0e300, -2.0], [3.0, 4.0]]> : tensor<2x2xf64>
  %pids = arith.constant dense<[[2, 0], [0, 2]]> : tensor<2x2xi32>
  %pxd = tensor.cast %px : tensor<2x2xf64> to tensor<?x?xf64>
  %pidsd = tensor.cast %pids : tensor<2x2xi32> to tensor<?x?xi32>
  %xs, %map, %off = call @permute_dynamic(%pxd, %pidsd)
      : (tensor<?x?xf64>, tensor<?x?xi32>) -> (tensor<?x?xf64>, tensor<?xi32>, tensor<?xi32>)
  vector.print str "CASE permute_f64_extra_row\n"
  %xsu = tensor.cast %xs : tensor<?x?xf64> to tensor<*xf64>
  call @printMemrefF64(%xsu) : (tensor<*xf64>) -> ()
  %mapu = tensor.cast %map : tensor<?xi32> to tensor<*xi32>
  call @printMemrefI32(%mapu) : (tensor<*xi32>) -> ()
  %offu = tensor.cast %off : tensor<?xi32> to tensor<*xi32>
  call @printMemrefI32(%offu) : (tensor<*xi32>) -> ()

  // CHECK-LABEL: CASE permute_i32
  // CHECK: [-7, 8]
  // CHECK: [5, -6]
  %qx = arith.constant dense<[[5, -6], [-7, 8]]> : tensor<2x2xi32>
  %qids = arith.constant dense<[[1], [0]]> : tensor<2x1xi64>
  %qs, %qm, %qo = egs.permute %qx by %qids experts = 2
      : (tensor<2x2xi32>, tensor<2x1xi64>) -> (tensor<2x2xi32>, tensor<2xi32>, tensor<3xi32>)
  vector.print str "CASE permute_i32\n"
  %qsu = tensor.cast %qs : tensor<2x2xi32> to tensor<*xi32>
  call @printMemrefI32(%qsu) : (tensor<*xi32>) -> ()

  // CHECK-LABEL: CASE scatter_add_f64
  // CHECK: [1e+300, 1.5]
  // CHECK: [0.25, 0]
  %src = arith.constant dense<[[1.0e300, 0.5], [0.25, -1.0], [-1.0, 1.0]]> : tensor<3x2xf64>
  %sind = arith.constant dense<[0, 1, 0]> : tensor<3xi32>
  %init = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf64>
  %s = egs.scatter_add %src into %init[%sind] axis = 0
      : (tensor<3x2xf64>, tensor<3xi32>, tensor<2x2xf64>) -> tensor<2x2xf64>
  vector.print str "CASE scatter_add_f64\n"
  %su = tensor.cast %s : tensor<2x2xf64> to tensor<*xf64>
  call @printMemrefF64(%su) : (tensor<*xf64>) -> ()

  // CHECK-LABEL: CASE scatter_add_i64
  // CHECK: [-9223372036854775808, 10]
  // CHECK: [0, 0]
  %src64 = arith.constant dense<[[1, 4], [0, 0], [0, 6]]> : tensor<3x2xi64>
  %ind64 = arith.constant dense<[0, 1, 0]> : tensor<3xi64>
  %init64 = arith.constant dense<[[9223372036854775807, 0], [0, 0]]> : tensor<2x2xi64>
  %s64 = egs.scatter_add %src64 into %init64[%ind64] axis = 0
      : (tensor<3x2xi64>, tensor<3xi64>, tensor<2x2xi64>) -> tensor<2x2xi64>
  vector.print str "CASE scatter_add_i64\n"
  %s64u = tensor.cast %s64 : tensor<2x2xi64> to tensor<*xi64>
  call @printMemrefI64(%s64u) : (tensor<*xi64>) -> ()
  return
}
