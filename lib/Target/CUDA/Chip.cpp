//===- Chip.cpp - what egs knows about an NVIDIA GPU architecture ---------===//
#include "egs/Target/CUDA/Chip.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

using namespace egs::cuda;

namespace {
/// The chips LLVM 22 targets that egs supports: minimum PTX ISA from the PTX
/// ISA manual, shared memory per block from the CUDA programming guide's
/// compute-capability table.
constexpr int64_t kKiB = 1024;
const Chip kChips[] = {
    {"sm_80", 80, 0, 70, 163 * kKiB},   {"sm_86", 86, 0, 71, 99 * kKiB},
    {"sm_87", 87, 0, 74, 163 * kKiB},   {"sm_89", 89, 0, 78, 99 * kKiB},
    {"sm_90", 90, 0, 78, 227 * kKiB},   {"sm_90a", 90, 'a', 80, 227 * kKiB},
    {"sm_100", 100, 0, 86, 227 * kKiB}, {"sm_100a", 100, 'a', 86, 227 * kKiB},
    {"sm_103", 103, 0, 88, 227 * kKiB}, {"sm_103a", 103, 'a', 88, 227 * kKiB},
    {"sm_120", 120, 0, 87, 99 * kKiB},  {"sm_120a", 120, 'a', 87, 99 * kKiB},
    {"sm_121", 121, 0, 88, 99 * kKiB},  {"sm_121a", 121, 'a', 88, 99 * kKiB},
};

/// The PTX ISA versions LLVM 22's NVPTX backend has a feature for.
constexpr unsigned kKnownPtx[] = {32, 40, 41, 42, 43, 50, 60, 61, 62, 63, 64, 65,
                                  70, 71, 72, 73, 74, 75, 76, 77, 78, 80, 81, 82,
                                  83, 84, 85, 86, 87, 88, 90};

std::string ptxName(unsigned ptx) {
  return std::to_string(ptx / 10) + "." + std::to_string(ptx % 10);
}
} // namespace

unsigned Chip::defaultPtx() const {
  unsigned ptx = sm >= 100 ? 88 : sm >= 90 ? 81 : 80;
  return std::max(ptx, minPtx);
}

std::string Chip::defaultFeatures() const {
  return "+ptx" + std::to_string(defaultPtx());
}

std::string egs::cuda::supportedChips() {
  llvm::SmallVector<llvm::StringRef> names;
  for (const Chip &c : kChips)
    names.push_back(c.name);
  return llvm::join(names, ", ");
}

llvm::Expected<Chip> egs::cuda::lookupChip(llvm::StringRef name) {
  for (const Chip &c : kChips)
    if (c.name == name)
      return c;
  auto fail = [&](const llvm::Twine &why) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   why + " (supported: " + supportedChips() + ")");
  };
  if (name.empty())
    return fail("no GPU chip given: chip= needs an NVIDIA architecture such as "
                "sm_90a");
  llvm::StringRef digits = name;
  unsigned sm = 0;
  if (digits.consume_front("sm_") &&
      !digits.take_while(llvm::isDigit).getAsInteger(10, sm) && sm < kMinSM)
    return fail("unsupported chip '" + name +
                "': egs's GPU kernels need sm_80 or newer (cp.async, ldmatrix, "
                "bf16 mma.sync)");
  return fail("unknown chip '" + name + "'");
}

llvm::Expected<unsigned> egs::cuda::ptxVersion(const Chip &chip,
                                               llvm::StringRef features) {
  if (features.trim().empty())
    return chip.defaultPtx();
  auto fail = [&](const llvm::Twine &why) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "features '" + features + "': " + why);
  };
  llvm::SmallVector<llvm::StringRef> items;
  features.split(items, ',', -1, /*KeepEmpty=*/false);
  std::optional<unsigned> ptx;
  for (llvm::StringRef item : items) {
    item = item.trim();
    llvm::StringRef digits = item;
    unsigned v = 0;
    if (!digits.consume_front("+ptx") || digits.getAsInteger(10, v))
      return fail("unknown feature '" + item +
                  "' (egs takes one +ptxNN, the PTX ISA version, e.g. +ptx81)");
    if (ptx)
      return fail("more than one PTX ISA version");
    if (!llvm::is_contained(kKnownPtx, v))
      return fail("PTX ISA " + ptxName(v) + " is not one LLVM 22 emits (up to " +
                  ptxName(kMaxPtx) + ")");
    ptx = v;
  }
  if (!ptx)
    return fail("no +ptxNN");
  if (*ptx < chip.minPtx)
    return fail(chip.name + " needs PTX ISA " + ptxName(chip.minPtx) +
                " or newer (+ptx" + std::to_string(chip.minPtx) + "); egs's default is +ptx" +
                std::to_string(chip.defaultPtx()));
  return *ptx;
}

llvm::Error egs::cuda::checkOptions(llvm::StringRef chip, llvm::StringRef features,
                                    llvm::StringRef format, int64_t optLevel) {
  auto fail = [](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  };
  llvm::Expected<Chip> target = lookupChip(chip);
  if (!target)
    return fail("option chip: " + llvm::toString(target.takeError()));
  llvm::Expected<unsigned> ptx = ptxVersion(*target, features);
  if (!ptx)
    return fail("option features: " + llvm::toString(ptx.takeError()));
  if (format != "isa" && format != "bin" && format != "fatbin")
    return fail("option format: '" + format +
                "' is not one of isa (PTX text), bin (cubin), fatbin");
  if (optLevel < 0 || optLevel > 3)
    return fail("option opt-level: " + llvm::Twine(optLevel) + " is not in [0, 3]");
  return llvm::Error::success();
}
