//===- Toolkit.cpp - where the CUDA toolkit's tools are -------------------===//
#include "egs/Target/CUDA/Toolkit.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

std::optional<std::string> egs::cuda::findToolkitWith(llvm::StringRef tool) {
  for (const char *var : kToolkitVariables) {
    const char *dir = std::getenv(var);
    if (!dir || !*dir)
      continue;
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "bin", tool);
    if (llvm::sys::fs::can_execute(path))
      return std::string(dir);
  }
  llvm::ErrorOr<std::string> onPath = llvm::sys::findProgramByName(tool);
  if (!onPath)
    return std::nullopt;
  // <toolkit>/bin/<tool>
  return llvm::sys::path::parent_path(llvm::sys::path::parent_path(*onPath)).str();
}
