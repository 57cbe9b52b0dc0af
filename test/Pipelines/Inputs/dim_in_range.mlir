// Dim ops with in-range (or non-constant) indices pass egs-check-input.
func.func @in_range(%m: memref<?x4xf32>, %i: index) -> (index, index) {
  %c0 = arith.constant 0 : index
  %d0 = memref.dim %m, %c0 : memref<?x4xf32>
  %d = memref.dim %m, %i : memref<?x4xf32>
  return %d0, %d : index, index
}
