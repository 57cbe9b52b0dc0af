// Without a CUDA toolkit the pipeline says what it looked for and how to fix
// it, before serialising; format=isa needs no toolkit.
// RUN: not env -u CUDA_HOME -u CUDA_ROOT -u CUDA_PATH PATH=%t.nowhere egs-opt %s --egs-lower-to-nvvm 2>&1 | FileCheck %s
// RUN: env -u CUDA_HOME -u CUDA_ROOT -u CUDA_PATH PATH=%t.nowhere egs-opt %s --egs-lower-to-nvvm="format=isa" | FileCheck %s --check-prefix=ISA

// CHECK: error: cannot find the CUDA tool `ptxas`, needed to build a fatbin GPU binary: searched $CUDA_ROOT/bin (unset), $CUDA_HOME/bin (unset), $CUDA_PATH/bin (unset), and $PATH. Set CUDA_HOME (or CUDA_ROOT, CUDA_PATH) to the CUDA toolkit
// CHECK-NOT: see current operation
// ISA: gpu.binary @egs_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx81">, properties = {{.*}}, assembly = "

func.func @gather(%x: memref<?x?xf32>, %ind: memref<?xi32>, %out: memref<?x?xf32>) {
  egs.gather %x[%ind] axis = 0 outs(%out) : (memref<?x?xf32>, memref<?xi32>, memref<?x?xf32>) -> ()
  return
}
