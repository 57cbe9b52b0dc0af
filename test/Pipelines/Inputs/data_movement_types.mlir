// The data-movement ops on element types beyond f32/f16/bf16, in the memref
// form with dynamic shapes (as a program's function boundary gives them).

func.func @gather_f64(%x: memref<?x?xf64>, %ind: memref<?xi32>, %out: memref<?x?xf64>) {
  egs.gather %x[%ind] axis = 0 permutation = [1, 0] outs(%out)
      : (memref<?x?xf64>, memref<?xi32>, memref<?x?xf64>) -> ()
  return
}

func.func @gather_concat_i8(%a: memref<?x?xi8>, %b: memref<?x?xi8>, %ia: memref<?xi64>,
                            %ib: memref<?xi64>, %out: memref<?x?xi8>) {
  egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 outs(%out)
      : (memref<?x?xi8>, memref<?x?xi8>, memref<?xi64>, memref<?xi64>, memref<?x?xi8>) -> ()
  return
}

func.func @gather_f8(%x: memref<?x?xf8E4M3FN>, %ind: memref<?xi32>, %out: memref<?x?xf8E4M3FN>) {
  egs.gather %x[%ind] axis = 0 outs(%out)
      : (memref<?x?xf8E4M3FN>, memref<?xi32>, memref<?x?xf8E4M3FN>) -> ()
  return
}

func.func @permute_f64(%x: memref<?x?xf64>, %ids: memref<?x?xi32>, %xs: memref<?x?xf64>,
                       %map: memref<?xi32>, %off: memref<9xi32>) {
  egs.permute %x by %ids experts = 8 outs(%xs, %map, %off)
      : (memref<?x?xf64>, memref<?x?xi32>, memref<?x?xf64>, memref<?xi32>, memref<9xi32>) -> ()
  return
}

func.func @permute_i8(%x: memref<?x?xi8>, %ids: memref<?x?xi64>, %xs: memref<?x?xi8>,
                      %map: memref<?xi32>, %off: memref<5xi32>) {
  egs.permute %x by %ids experts = 4 outs(%xs, %map, %off)
      : (memref<?x?xi8>, memref<?x?xi64>, memref<?x?xi8>, memref<?xi32>, memref<5xi32>) -> ()
  return
}

func.func @scatter_add_f64(%src: memref<?x?xf64>, %ind: memref<?xi32>, %init: memref<?x?xf64>) {
  egs.scatter_add %src into %init[%ind] axis = 0
      : (memref<?x?xf64>, memref<?xi32>, memref<?x?xf64>) -> ()
  return
}

func.func @scatter_add_i64(%src: memref<?x?xi64>, %ind: memref<?xi64>, %init: memref<?x?xi64>) {
  egs.scatter_add %src into %init[%ind] axis = 0
      : (memref<?x?xi64>, memref<?xi64>, memref<?x?xi64>) -> ()
  return
}
