//===- HostRuntime.cpp - host functions called by lowered egs code --------===//
#include "egs/ExecutionEngine/HostRuntime.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

static std::atomic<EgsIndexErrorHandler> indexErrorHandler{nullptr};

extern "C" void egsSetIndexErrorHandler(EgsIndexErrorHandler handler) {
  indexErrorHandler.store(handler);
}

extern "C" void egsReportIndexError(const char *allocated, const char *aligned,
                                    int64_t offset, int64_t size,
                                    int64_t stride, int64_t value, int64_t lo,
                                    int64_t hi) {
  (void)allocated;
  std::string what;
  for (int64_t i = 0; i < size; ++i)
    what.push_back(aligned[offset + i * stride]);
  std::string message = "egs: index error: " + what + ": value " +
                        std::to_string(value) + " is outside [" +
                        std::to_string(lo) + ", " + std::to_string(hi) + ")";
  if (EgsIndexErrorHandler handler = indexErrorHandler.load())
    return handler(message.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(1);
}
