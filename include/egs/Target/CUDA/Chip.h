//===- Chip.h - what egs knows about an NVIDIA GPU architecture -*- C++ -*-===//
//
// One object per chip (the NVVM target's `chip`: sm_80, sm_90a, ...): the
// PTX ISA it needs and the one egs asks for, the instructions the kernels use
// that it has, its shared-memory limit. The GPU pipeline validates its
// options against it and derives every chip-dependent choice from it.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_TARGET_CUDA_CHIP_H
#define EGS_TARGET_CUDA_CHIP_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace egs::cuda {

struct Chip {
  llvm::StringRef name;     ///< "sm_90a"
  unsigned sm;              ///< 90 for sm_90a
  char suffix;              ///< 'a' (architecture-specific) or 0
  unsigned minPtx;          ///< oldest PTX ISA for the chip (x10: 80 = 8.0)
  int64_t maxSharedMemory;  ///< dynamic shared memory per block (opt-in), bytes

  /// The PTX ISA egs asks for by default (LLVM's default may be older): 8.1
  /// on sm_9x (matmul_scatter's vector atomics), 8.8 on sm_1xx, 8.0 below;
  /// never below minPtx.
  unsigned defaultPtx() const;
  /// "+ptxNN" of defaultPtx().
  std::string defaultFeatures() const;
  /// red.global.add.v4.f32: sm_90 and newer with PTX ISA 8.1 or newer.
  bool hasVectorAtomics(unsigned ptx) const { return sm >= 90 && ptx >= 81; }
  /// wgmma: sm_90a only (not sm_90, not the sm_100 family).
  bool hasWarpgroupMma() const { return sm == 90 && suffix == 'a'; }
};

/// The newest PTX ISA that LLVM 22's NVPTX backend emits.
constexpr unsigned kMaxPtx = 90;
/// The oldest SM egs generates kernels for: cp.async, ldmatrix and bf16
/// mma.sync are sm_80 instructions.
constexpr unsigned kMinSM = 80;

/// The chip `name`, or an error naming it and listing the supported chips
/// (chips older than sm_80 get "unsupported chip" with the reason).
llvm::Expected<Chip> lookupChip(llvm::StringRef name);

/// The PTX ISA version of the NVVM target features `features` for `chip`:
/// empty gives chip.defaultPtx(); otherwise exactly one "+ptxNN" that LLVM 22
/// knows and the chip accepts (>= its minimum), nothing else.
llvm::Expected<unsigned> ptxVersion(const Chip &chip, llvm::StringRef features);

/// "sm_80, sm_86, ...": the chips lookupChip accepts.
std::string supportedChips();

/// The GPU compile options as --egs-lower-to-nvvm takes them: the chip, its
/// PTX features, the binary format (isa, bin, fatbin) and the NVPTX
/// optimization level (0-3). An error names the first bad option ("option
/// chip: ...") and what it accepts.
llvm::Error checkOptions(llvm::StringRef chip, llvm::StringRef features,
                         llvm::StringRef format, int64_t optLevel);

} // namespace egs::cuda

#endif // EGS_TARGET_CUDA_CHIP_H
