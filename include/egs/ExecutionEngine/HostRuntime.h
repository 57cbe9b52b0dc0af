//===- HostRuntime.h - host functions called by lowered egs code -*- C++ -*-===//
//
// Plain C, no MLIR: compiled egs code calls these, so every executor (the
// egs-runner JIT, the C API, an AOT-linked program) provides them.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_EXECUTIONENGINE_HOSTRUNTIME_H
#define EGS_EXECUTIONENGINE_HOSTRUNTIME_H

#include <cstdint>

extern "C" {
/// Called by code compiled with check-indices when an index or an
/// expert_offsets entry is out of range. `msg` is a memref<?xi8> in MLIR's
/// expanded calling convention (allocated, aligned, offset, size, stride).
/// Prints "egs: index error: <op> at <loc>: <what>: value V is outside
/// [lo, hi)" and calls the installed handler (default: exit(1)).
void egsReportIndexError(const char *allocated, const char *aligned,
                         int64_t offset, int64_t size, int64_t stride,
                         int64_t value, int64_t lo, int64_t hi);

/// Called by code compiled with check-indices when two dims that an op
/// requires to agree (or an outs buffer and the result) differ at run time.
/// `msg` (same convention) holds the op, its location and the first dim's
/// description in its first `split` bytes, the second's after them. Prints
/// "egs: shape error: <op> at <loc>: <first> is L but <second> is R" and
/// calls the installed handler (default: exit(1)).
void egsReportShapeError(const char *allocated, const char *aligned,
                         int64_t offset, int64_t size, int64_t stride,
                         int64_t split, int64_t lhs, int64_t rhs);

/// Replaces the action taken after the message is printed (e.g. to raise a
/// Python exception instead of exiting). nullptr restores exit(1).
typedef void (*EgsIndexErrorHandler)(const char *message);
void egsSetIndexErrorHandler(EgsIndexErrorHandler handler);
}

#endif
