// GPU options are checked before any pass uses them (egs-check-gpu-target):
// an empty, unknown or too old chip, PTX features egs cannot use, a bad
// format or optimization level end with one error naming the option and what
// is accepted, never with a crash or an LLVM ERROR. The same through
// egs-runner --gpu-chip. Valid chips of every family still lower.
// RUN: not egs-opt %s --egs-lower-to-nvvm="chip= format=isa" 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not egs-opt %s --egs-lower-to-nvvm="chip=sm_75 format=isa" 2>&1 | FileCheck %s --check-prefix=OLD -DCHIP=sm_75
// RUN: not egs-opt %s --egs-lower-to-nvvm="chip=sm_70 format=isa" 2>&1 | FileCheck %s --check-prefix=OLD -DCHIP=sm_70
// RUN: not egs-opt %s --egs-lower-to-nvvm="chip=sm_50 format=isa" 2>&1 | FileCheck %s --check-prefix=OLD -DCHIP=sm_50
// RUN: not egs-opt %s --egs-lower-to-nvvm="chip=gfx90a format=isa" 2>&1 | FileCheck %s --check-prefix=UNKNOWN -DCHIP=gfx90a
// RUN: not egs-opt %s --egs-lower-to-nvvm="chip=garbage format=isa" 2>&1 | FileCheck %s --check-prefix=UNKNOWN -DCHIP=garbage
// RUN: not egs-opt %s --egs-lower-to-nvvm="features=+ptx60 format=isa" 2>&1 | FileCheck %s --check-prefix=PTX60
// RUN: not egs-opt %s --egs-lower-to-nvvm="chip=sm_80 features=+ptx65 format=isa" 2>&1 | FileCheck %s --check-prefix=PTX65
// RUN: not egs-opt %s --egs-lower-to-nvvm="features=+ptx99 format=isa" 2>&1 | FileCheck %s --check-prefix=PTX99
// RUN: not egs-opt %s --egs-lower-to-nvvm="features=garbage format=isa" 2>&1 | FileCheck %s --check-prefix=GARBAGE
// RUN: not egs-opt %s --egs-lower-to-nvvm="features=+ptx81,+ptx83 format=isa" 2>&1 | FileCheck %s --check-prefix=TWO
// RUN: not egs-opt %s --egs-lower-to-nvvm="format=elf" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not egs-opt %s --egs-lower-to-nvvm="opt-level=7 format=isa" 2>&1 | FileCheck %s --check-prefix=OPT
// RUN: not egs-runner --target=cuda --gpu-chip=sm_75 %s -e main --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=OLD -DCHIP=sm_75
// RUN: not egs-runner --target=cuda --gpu-chip= %s -e main --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_80 features=+ptx70 format=isa" | FileCheck %s --check-prefix=OK -DCHIP=sm_80 -DPTX=7.0
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_86 format=isa" | FileCheck %s --check-prefix=OK -DCHIP=sm_86 -DPTX=8.0
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_90 format=isa" | FileCheck %s --check-prefix=OK -DCHIP=sm_90 -DPTX=8.1
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_120a format=isa" | FileCheck %s --check-prefix=OK -DCHIP=sm_120a -DPTX=8.8
// The CPU pipeline's vector width is printed as a number.
// RUN: not egs-opt %s --egs-lower-to-cpu="vector-width=3" 2>&1 | FileCheck %s --check-prefix=VW

// EMPTY: error: egs-lower-to-nvvm: option chip: no GPU chip given: chip= needs an NVIDIA architecture such as sm_90a (supported: sm_80, sm_86, sm_87, sm_89, sm_90, sm_90a, sm_100,
// EMPTY-NOT: LLVM ERROR
// OLD: error: egs-lower-to-nvvm: option chip: unsupported chip '[[CHIP]]': egs's GPU kernels need sm_80 or newer (cp.async, ldmatrix, bf16 mma.sync)
// UNKNOWN: error: egs-lower-to-nvvm: option chip: unknown chip '[[CHIP]]' (supported: sm_80,
// PTX60: error: egs-lower-to-nvvm: option features: features '+ptx60': sm_90a needs PTX ISA 8.0 or newer (+ptx80); egs's default is +ptx81
// PTX65: error: egs-lower-to-nvvm: option features: features '+ptx65': sm_80 needs PTX ISA 7.0 or newer (+ptx70); egs's default is +ptx80
// PTX99: error: egs-lower-to-nvvm: option features: features '+ptx99': PTX ISA 9.9 is not one LLVM 22 emits (up to 9.0)
// GARBAGE: error: egs-lower-to-nvvm: option features: features 'garbage': unknown feature 'garbage' (egs takes one +ptxNN, the PTX ISA version, e.g. +ptx81)
// TWO: error: egs-lower-to-nvvm: option features: features '+ptx81,+ptx83': more than one PTX ISA version
// FORMAT: error: egs-lower-to-nvvm: option format: 'elf' is not one of isa (PTX text), bin (cubin), fatbin
// OPT: error: egs-lower-to-nvvm: option opt-level: 7 is not in [0, 3]
// OK: chip = "[[CHIP]]"
// OK: .version [[PTX]]
// OK: .target [[CHIP]]
// VW: error: convert-egs-to-loops: vector-width = 3 must be 0 (host) or a power of two in [1, 64]

func.func @main() {
  %x = arith.constant dense<1.0> : tensor<4x8xbf16>
  %rows = arith.constant dense<[0, 1, 2, 3, 3, 2]> : tensor<6xi32>
  %w = arith.constant dense<0.5> : tensor<2x8x16xbf16>
  %off = arith.constant dense<[0, 2, 6]> : tensor<3xi32>
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<4x8xbf16>, tensor<6xi32>, tensor<2x8x16xbf16>, tensor<3xi32>) -> tensor<6x16xbf16>
  return
}
