// REQUIRES: ptxas
// The kernels of data-movement-types.mlir (f64, i64, i8, f8 data) are
// accepted by CUDA's ptxas for sm_80 and sm_90a.

// RUN: egs-opt %S/Inputs/data_movement_types.mlir --egs-lower-to-nvvm="chip=sm_90a format=isa" -o %t.sm90a.mlir
// RUN: %python %S/Inputs/extract_ptx.py %t.sm90a.mlir > %t.sm90a.ptx
// RUN: %ptxas -arch=sm_90a %t.sm90a.ptx -o %t.sm90a.cubin
// RUN: egs-opt %S/Inputs/data_movement_types.mlir --egs-lower-to-nvvm="chip=sm_80 format=isa" -o %t.sm80.mlir
// RUN: %python %S/Inputs/extract_ptx.py %t.sm80.mlir > %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 %t.sm80.ptx -o %t.sm80.cubin
// RUN: egs-opt %S/Inputs/data_movement_types.mlir --egs-lower-to-nvvm="chip=sm_80" | FileCheck %s

// CHECK: gpu.binary @egs_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">
