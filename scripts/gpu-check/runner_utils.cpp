//===- runner_utils.cpp - printMemref* for AOT-built GPU test programs ----===//
//
// The integration programs print with MLIR's runner utilities. Debian's
// libmlir_runner_utils links libMLIR/libLLVM, which the GPU machine lacks, so
// gpu-check.sh links this copy instead: the same printers (the templates of
// mlir/ExecutionEngine/RunnerUtils.h) and the same f16/bf16 formatting.
//
//===----------------------------------------------------------------------===//
#include "mlir/ExecutionEngine/RunnerUtils.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

static float bf16ToFloat(uint16_t bits) {
  uint32_t u = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

static float f16ToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000) << 16;
  uint32_t exp = (bits >> 10) & 0x1f, man = bits & 0x3ff, u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else { // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) {
        man <<= 1;
        --exp;
      }
      u = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) {
    u = sign | 0x7f800000 | (man << 13);
  } else {
    u = sign | ((exp - 15 + 127) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::ostream &operator<<(std::ostream &os, const f16 &f) {
  return os << f16ToFloat(f.bits);
}
std::ostream &operator<<(std::ostream &os, const bf16 &f) {
  return os << bf16ToFloat(f.bits);
}

#define EGS_PRINTER(NAME, T)                                                   \
  extern "C" void _mlir_ciface_printMemref##NAME(UnrankedMemRefType<T> *m) {   \
    impl::printMemRef(*m);                                                     \
  }                                                                            \
  extern "C" void printMemref##NAME(int64_t rank, void *ptr) {                 \
    UnrankedMemRefType<T> d = {rank, ptr};                                     \
    _mlir_ciface_printMemref##NAME(&d);                                        \
  }
EGS_PRINTER(F32, float)
EGS_PRINTER(F64, double)
EGS_PRINTER(I16, int16_t)
EGS_PRINTER(I32, int32_t)
EGS_PRINTER(I64, int64_t)
EGS_PRINTER(F16, f16)
EGS_PRINTER(BF16, bf16)

// The scalar printers of vector.print (CRunnerUtils).
extern "C" void printI64(int64_t i) { std::fprintf(stdout, "%" PRId64, i); }
extern "C" void printU64(uint64_t u) { std::fprintf(stdout, "%" PRIu64, u); }
extern "C" void printF32(float f) {
  if (std::isnan(f) && std::signbit(f))
    std::fputc('-', stdout);
  std::fprintf(stdout, "%g", f);
}
extern "C" void printF64(double d) {
  if (std::isnan(d) && std::signbit(d))
    std::fputc('-', stdout);
  std::fprintf(stdout, "%lg", d);
}
extern "C" void printF16(uint16_t bits) { std::cout << f16ToFloat(bits); }
extern "C" void printBF16(uint16_t bits) { std::cout << bf16ToFloat(bits); }
extern "C" void printString(char const *s) { std::fputs(s, stdout); }
extern "C" void printOpen() { std::fputs("( ", stdout); }
extern "C" void printClose() { std::fputs(" )", stdout); }
extern "C" void printComma() { std::fputs(", ", stdout); }
extern "C" void printNewline() { std::fputc('\n', stdout); }

// memref.copy of non-contiguous memrefs (CRunnerUtils' memrefCopy).
extern "C" void memrefCopy(int64_t elemSize, UnrankedMemRefType<char> *srcArg,
                           UnrankedMemRefType<char> *dstArg) {
  DynamicMemRefType<char> src(*srcArg), dst(*dstArg);
  int64_t rank = src.rank;
  char *srcPtr = src.data + src.offset * elemSize;
  char *dstPtr = dst.data + dst.offset * elemSize;
  if (rank == 0) {
    std::memcpy(dstPtr, srcPtr, elemSize);
    return;
  }
  for (int64_t d = 0; d < rank; ++d)
    if (src.sizes[d] == 0)
      return;
  std::vector<int64_t> index(rank, 0);
  while (true) {
    int64_t so = 0, doff = 0;
    for (int64_t d = 0; d < rank; ++d) {
      so += index[d] * src.strides[d];
      doff += index[d] * dst.strides[d];
    }
    std::memcpy(dstPtr + doff * elemSize, srcPtr + so * elemSize, elemSize);
    int64_t d = rank - 1;
    while (d >= 0 && ++index[d] == src.sizes[d])
      index[d--] = 0;
    if (d < 0)
      return;
  }
}
