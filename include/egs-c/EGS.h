/*===- egs-c/EGS.h - compile and run egs programs from C ----------*- C -*-===*\
|*                                                                            *|
|* The embedding API of egs: compile MLIR text (egs ops plus the upstream     *|
|* dialects egs-runner accepts) for the host CPU or a CUDA device, query the  *|
|* entry points, and invoke them on caller-owned buffers described as         *|
|* memrefs. Plain C, no MLIR types: libEGSCAPI.so links MLIR and LLVM         *|
|* privately and exports only these functions, so it can live in a process    *|
|* that holds another MLIR (PyTorch, Triton, ...).                             *|
|*                                                                            *|
|* Errors are returned, never raised or aborted on: functions that can fail    *|
|* return 0 on success and otherwise non-zero with a message in `*error`       *|
|* (allocated; release it with egsFreeString). An out-of-range routed index   *|
|* found by the run-time checks (check-indices) stops the invocation and is    *|
|* reported the same way.                                                      *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef EGS_C_EGS_H
#define EGS_C_EGS_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define EGS_CAPI_EXPORTED __declspec(dllexport)
#else
#define EGS_CAPI_EXPORTED __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// Element types of memref arguments and results: EGS_DTYPE_F32, _F16,
/// _BF16, _F64, _I1, _I8, _I16, _I32, _I64 and _INDEX (64-bit on every
/// supported host), numbered from 1 in that order (egs-c/DTypes.def).
typedef enum EgsDType {
  EGS_DTYPE_INVALID = 0,
#define EGS_DTYPE(ENUM, NAME, BYTES, NUMPY_KIND, NUMPY_FORMAT) EGS_DTYPE_##ENUM,
#include "egs-c/DTypes.def"
#undef EGS_DTYPE
} EgsDType;

/// Size in bytes of one element (0 for EGS_DTYPE_INVALID).
EGS_CAPI_EXPORTED size_t egsDTypeSize(EgsDType dtype);
/// "f32", "bf16", "i64", ... (the MLIR spelling).
EGS_CAPI_EXPORTED const char *egsDTypeName(EgsDType dtype);

/// A strided view of caller-owned memory (sizes and strides in elements).
/// `data` is a host pointer for target "cpu" and a device pointer for "cuda".
typedef struct EgsMemRef {
  void *data;
  EgsDType dtype;
  int32_t rank;
  const int64_t *sizes;
  const int64_t *strides;
} EgsMemRef;

/// A result memref allocated by the compiled code. Ownership passes to the
/// caller: release `allocated` with egsFreeBuffer (host results only).
typedef struct EgsOwnedMemRef {
  void *allocated;
  void *data;
  EgsDType dtype;
  int32_t rank;
  int64_t sizes[8];
  int64_t strides[8];
} EgsOwnedMemRef;

/// One argument or result of an entry point.
typedef enum EgsValueKind {
  EGS_VALUE_MEMREF = 0, /* memref or tensor (tensors are passed as memrefs) */
  EGS_VALUE_INT = 1,    /* i1/i8/.../i64/index scalar */
  EGS_VALUE_FLOAT = 2,  /* f32/f64 scalar */
} EgsValueKind;

typedef struct EgsValue {
  EgsValueKind kind;
  EgsMemRef memref; /* kind == EGS_VALUE_MEMREF */
  int64_t i;        /* kind == EGS_VALUE_INT */
  double f;         /* kind == EGS_VALUE_FLOAT */
} EgsValue;

/// What an entry point expects at one position.
typedef struct EgsValueType {
  EgsValueKind kind;
  EgsDType dtype;
  int32_t rank;      /* memrefs: rank; scalars: 0 */
  int64_t sizes[8];  /* static sizes, -1 where dynamic */
  int32_t isTensor;  /* declared as a tensor (read-only input / new result) */
  int32_t identityLayout; /* memref: must be dense (C-contiguous) */
  int64_t strides[8]; /* strided layouts: static strides, INT64_MIN where
                         dynamic; identity layouts: all INT64_MIN */
} EgsValueType;

typedef struct EgsCompilerImpl *EgsCompiler;
typedef struct EgsExecutableImpl *EgsExecutable;

typedef struct EgsCompileOptions {
  const char *target;          /* "cpu" (default when null) or "cuda" */
  const char *pipelineOptions; /* e.g. "check-indices=false vector-width=8" */
  int optLevel;                /* LLVM optimization level, 0-3 (default 3) */
  const char *cacheDir;        /* on-disk object cache, or null for none */
  const char *const *sharedLibs; /* extra libraries to resolve symbols from */
  int numSharedLibs;
} EgsCompileOptions;

/// Default options: target "cpu", optLevel 3, no disk cache.
EGS_CAPI_EXPORTED EgsCompileOptions egsCompileOptionsDefault(void);

/// A compiler owns an MLIR context; it is safe to use from several threads
/// (compilations are serialized).
EGS_CAPI_EXPORTED EgsCompiler egsCompilerCreate(void);
EGS_CAPI_EXPORTED void egsCompilerDestroy(EgsCompiler compiler);

/// Compiles `source` (MLIR text of a module) into an executable. Every
/// public func.func with a body becomes an entry point. Tensor arguments are
/// read-only (the compiled code never writes into caller buffers it was given
/// as tensors). Returns 0 on success.
EGS_CAPI_EXPORTED int egsCompile(EgsCompiler compiler, const char *source,
                                 size_t length, const EgsCompileOptions *options,
                                 EgsExecutable *result, char **error);
EGS_CAPI_EXPORTED void egsExecutableDestroy(EgsExecutable executable);

/// 1 when the object code came from the on-disk cache.
EGS_CAPI_EXPORTED int egsExecutableFromDiskCache(EgsExecutable executable);

EGS_CAPI_EXPORTED int egsExecutableGetNumFunctions(EgsExecutable executable);
EGS_CAPI_EXPORTED const char *egsExecutableGetFunctionName(EgsExecutable executable,
                                                           int function);
/// Index of the entry point called `name`, or -1.
EGS_CAPI_EXPORTED int egsExecutableLookupFunction(EgsExecutable executable,
                                                  const char *name);
EGS_CAPI_EXPORTED int egsExecutableGetNumArguments(EgsExecutable executable,
                                                   int function);
EGS_CAPI_EXPORTED int egsExecutableGetNumResults(EgsExecutable executable,
                                                 int function);
EGS_CAPI_EXPORTED EgsValueType egsExecutableGetArgumentType(EgsExecutable executable,
                                                            int function, int index);
EGS_CAPI_EXPORTED EgsValueType egsExecutableGetResultType(EgsExecutable executable,
                                                          int function, int index);

/// Calls entry point `function` with `numArgs` arguments and stores its
/// results (if any) in `results[0 .. numResults)`. Arguments are checked
/// against the entry point's signature (count, kind, dtype, rank, static
/// sizes, dense rows for identity layouts) before anything runs. Returns 0
/// on success.
EGS_CAPI_EXPORTED int egsExecutableInvoke(EgsExecutable executable, int function,
                                          const EgsValue *args, int numArgs,
                                          EgsOwnedMemRef *results, int numResults,
                                          char **error);

/// The fast path for entry points that take only memrefs and return nothing
/// (destination-passing kernels): no signature checks beyond the count;
/// the caller has validated the buffers.
EGS_CAPI_EXPORTED int egsExecutableInvokeMemRefs(EgsExecutable executable,
                                                 int function,
                                                 const EgsMemRef *args,
                                                 int numArgs, char **error);

EGS_CAPI_EXPORTED void egsFreeString(char *string);
EGS_CAPI_EXPORTED void egsFreeBuffer(void *allocated);

/// The egs version, "MAJOR.MINOR.PATCH" (static storage).
EGS_CAPI_EXPORTED const char *egsVersion(void);

/// 1 when `target` ("cpu", "cuda") can be compiled for and run here (for
/// "cuda": this build has the NVVM pipeline and the egs CUDA runtime finds a
/// driver and a device); else 0 and the reason in `*why` (allocated; release
/// with egsFreeString).
EGS_CAPI_EXPORTED int egsTargetAvailable(const char *target, char **why);

/// Makes later invocations on this thread enqueue CUDA work on `stream` (a
/// CUstream; null: the legacy default stream, CU_STREAM_LEGACY). No effect
/// before a CUDA program has loaded the egs CUDA runtime.
EGS_CAPI_EXPORTED void egsSetCudaStream(void *stream);

/// Makes later invocations on this thread run on CUDA device `ordinal` (its
/// primary context; the stream must belong to it). A program's kernels are
/// loaded on each device the first time they run there. Default: device 0.
/// No effect before a CUDA program has loaded the egs CUDA runtime.
EGS_CAPI_EXPORTED void egsSetCudaDevice(int ordinal);

/// Counters since the process started: full compilations (MLIR pipeline +
/// LLVM code generation) and executables loaded from the on-disk cache.
typedef struct EgsStatistics {
  int64_t compilations;
  int64_t diskCacheLoads;
  int64_t invocations;
} EgsStatistics;
EGS_CAPI_EXPORTED EgsStatistics egsGetStatistics(void);

/// The host CPU the compiled code is tuned for ("znver3", ...), part of the
/// on-disk cache key.
EGS_CAPI_EXPORTED const char *egsHostCPUName(void);

#ifdef __cplusplus
} // extern "C"
#endif

#endif // EGS_C_EGS_H
