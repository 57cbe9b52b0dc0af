// The data-movement ops on f64, i64, i8 and f8 data lower to GPU kernels
// that move whole elements (issue 16: complex, vector and f80 data aborted
// here; the verifier now rejects them, gather_invalid.mlir and friends). No
// CUDA toolkit is needed for format=isa; data-movement-types-ptxas.mlir
// assembles the same PTX with ptxas.

// RUN: egs-opt %S/Inputs/data_movement_types.mlir --egs-lower-to-nvvm="format=isa" -o %t.mlir
// RUN: %python %S/Inputs/extract_ptx.py %t.mlir | FileCheck %s

// f64 gather: 8-byte loads and stores.
// CHECK-LABEL: .entry egs_gather_r2_i1_a0_b0_p10_d0_f64_i32(
// CHECK-DAG:   ld.global.b64
// CHECK-DAG:   st.global.b64
// CHECK-LABEL: .entry egs_gather_r2_i1_a0_b0_p_d1_i8_i64(
// CHECK-DAG:   ld.global.b8
// CHECK-DAG:   st.global.b8
// CHECK-LABEL: .entry egs_gather_r2_i1_a0_b0_p_d0_f8E4M3FN_i32(
// CHECK-DAG:   ld.global.b8
// CHECK-DAG:   st.global.b8
// permute's row copy: 16-byte vectors of 2 f64 or 16 i8, scalars otherwise.
// CHECK-LABEL: .entry egs_row_gather_v_f64_i32(
// CHECK-DAG:   ld.global.v2.b64
// CHECK-DAG:   st.global.v2.b64
// CHECK-LABEL: .entry egs_row_gather_s_f64_i32(
// CHECK-DAG:   ld.global.b64
// CHECK-LABEL: .entry egs_row_gather_v_i8_i32(
// CHECK-DAG:   ld.global.v4.b32
// CHECK-DAG:   st.global.v4.b32
// CHECK-LABEL: .entry egs_row_gather_s_i8_i32(
// CHECK-DAG:   ld.global.b8
// CHECK-LABEL: .entry egs_scatter_add_r2_i1_a0_b0_f64_i32(
// CHECK:       atom.global.add.f64
// CHECK-LABEL: .entry egs_scatter_add_r2_i1_a0_b0_i64_i64(
// CHECK:       atom.global.add.u64
