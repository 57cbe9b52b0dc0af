//===- Toolkit.h - where the CUDA toolkit's tools are -----------*- C++ -*-===//
//
// ptxas and fatbinary, found as MLIR's NVVM serializer finds them, beside
// the chip facts (Chip.h) that decide what they are asked to build.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_TARGET_CUDA_TOOLKIT_H
#define EGS_TARGET_CUDA_TOOLKIT_H

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace egs::cuda {

/// The environment variables searched, in order, before $PATH.
inline constexpr const char *kToolkitVariables[] = {"CUDA_ROOT", "CUDA_HOME",
                                                    "CUDA_PATH"};

/// The CUDA toolkit directory holding bin/`tool`: $CUDA_ROOT, $CUDA_HOME,
/// $CUDA_PATH, then the directory above `tool` on $PATH.
std::optional<std::string> findToolkitWith(llvm::StringRef tool);

} // namespace egs::cuda

#endif // EGS_TARGET_CUDA_TOOLKIT_H
