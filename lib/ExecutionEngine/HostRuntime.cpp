//===- HostRuntime.cpp - host functions called by lowered egs code --------===//
#include "egs/ExecutionEngine/HostRuntime.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

static std::atomic<EgsIndexErrorHandler> indexErrorHandler{nullptr};

extern "C" void egsSetIndexErrorHandler(EgsIndexErrorHandler handler) {
  indexErrorHandler.store(handler);
}

static std::string readMessage(const char *aligned, int64_t offset,
                               int64_t size, int64_t stride) {
  std::string what;
  for (int64_t i = 0; i < size; ++i)
    what.push_back(aligned[offset + i * stride]);
  return what;
}

/// Hands `message` to the installed handler, else prints it and exits.
static void report(const std::string &message) {
  if (EgsIndexErrorHandler handler = indexErrorHandler.load())
    return handler(message.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(1);
}

extern "C" void egsReportIndexError(const char *allocated, const char *aligned,
                                    int64_t offset, int64_t size,
                                    int64_t stride, int64_t value, int64_t lo,
                                    int64_t hi) {
  (void)allocated;
  report("egs: index error: " + readMessage(aligned, offset, size, stride) +
         ": value " + std::to_string(value) + " is outside [" +
         std::to_string(lo) + ", " + std::to_string(hi) + ")");
}

extern "C" void egsReportShapeError(const char *allocated, const char *aligned,
                                    int64_t offset, int64_t size,
                                    int64_t stride, int64_t split, int64_t lhs,
                                    int64_t rhs) {
  (void)allocated;
  std::string text = readMessage(aligned, offset, size, stride);
  size_t at = std::min<size_t>(static_cast<size_t>(split), text.size());
  report("egs: shape error: " + text.substr(0, at) + " is " +
         std::to_string(lhs) + " but " + text.substr(at) + " is " +
         std::to_string(rhs));
}
