// Minimal, TEMPORARY implementation of the MLIR GPU runtime ABI (mgpu*) used by code that
// `gpu-to-llvm` + the LLVM translation of gpu.binary/gpu.launch_func emit (MLIR 22).
// Prototype only -- the product implementation lives in runtime/ (egs_cuda_runtime).
//
// libcuda is dlopen'ed, so this builds on a machine without a driver. Signatures follow
// MLIR 22's CudaRuntimeWrappers.cpp:
//   ptr  mgpuModuleLoad(ptr blob, i64 size)               (called from a global ctor!)
//   void mgpuModuleUnload(ptr)                            (global dtor)
//   ptr  mgpuModuleGetFunction(ptr module, ptr name)       (on every launch)
//   void mgpuLaunchKernel(ptr f, i64 gx, gy, gz, bx, by, bz, i32 smem, ptr stream,
//                         ptr params, ptr extra, i64 nparams)
//   ptr  mgpuStreamCreate() / mgpuStreamSynchronize(ptr) / mgpuStreamDestroy(ptr)
// plus the helpers the harness uses: mgpuMemAlloc/Free/Memcpy/Memset32.
//
// Deliberate difference from upstream: streams are pooled (create/destroy on every
// synchronous gpu.launch_func otherwise costs a cuStreamCreate + cuStreamDestroy per call).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <vector>

namespace {
typedef int CUresult;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

struct Api {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuGetErrorName)(CUresult, const char **);
};

Api *api() {
  static Api *a = [] {
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
      fprintf(stderr, "mgpu_min: cannot dlopen libcuda.so.1: %s\n", dlerror());
      exit(2);
    }
    Api *a = new Api;
#define L(field, sym)                                                          \
  *(void **)&a->field = dlsym(h, sym);                                         \
  if (!a->field) {                                                             \
    fprintf(stderr, "mgpu_min: missing %s\n", sym);                            \
    exit(2);                                                                   \
  }
    L(cuInit, "cuInit");
    L(cuDeviceGet, "cuDeviceGet");
    L(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    L(cuCtxSetCurrent, "cuCtxSetCurrent");
    L(cuModuleLoadData, "cuModuleLoadData");
    L(cuModuleUnload, "cuModuleUnload");
    L(cuModuleGetFunction, "cuModuleGetFunction");
    L(cuFuncSetAttribute, "cuFuncSetAttribute");
    L(cuLaunchKernel, "cuLaunchKernel");
    L(cuStreamCreate, "cuStreamCreate");
    L(cuStreamDestroy, "cuStreamDestroy_v2");
    L(cuStreamSynchronize, "cuStreamSynchronize");
    L(cuMemAlloc, "cuMemAlloc_v2");
    L(cuMemFree, "cuMemFree_v2");
    L(cuMemcpyAsync, "cuMemcpyAsync");
    L(cuMemsetD32Async, "cuMemsetD32Async");
    L(cuCtxSynchronize, "cuCtxSynchronize");
    L(cuGetErrorName, "cuGetErrorName");
#undef L
    return a;
  }();
  return a;
}

void check(CUresult r, const char *what) {
  if (!r)
    return;
  const char *n = nullptr;
  api()->cuGetErrorName(r, &n);
  fprintf(stderr, "mgpu_min: %s failed: %s (%d)\n", what, n ? n : "?", r);
  exit(3);
}

// Primary context of device 0, made current on the calling thread (idempotent, cheap).
void ctx() {
  static CUcontext c = [] {
    check(api()->cuInit(0), "cuInit");
    CUdevice d;
    check(api()->cuDeviceGet(&d, 0), "cuDeviceGet");
    CUcontext c;
    check(api()->cuDevicePrimaryCtxRetain(&c, d), "cuDevicePrimaryCtxRetain");
    return c;
  }();
  thread_local bool set = false;
  if (!set) {
    check(api()->cuCtxSetCurrent(c), "cuCtxSetCurrent");
    set = true;
  }
}

std::mutex poolMu;
std::vector<CUstream> pool;
} // namespace

extern "C" {
void *mgpuModuleLoad(void *data, int64_t /*size*/) {
  ctx();
  CUmodule m = nullptr;
  check(api()->cuModuleLoadData(&m, data), "cuModuleLoadData");
  return m;
}
void mgpuModuleUnload(void *m) { (void)m; /* process exit: the driver cleans up */ }
void *mgpuModuleGetFunction(void *m, const char *name) {
  CUfunction f = nullptr;
  check(api()->cuModuleGetFunction(&f, m, name), "cuModuleGetFunction");
  return f;
}
void mgpuLaunchKernel(void *f, intptr_t gx, intptr_t gy, intptr_t gz, intptr_t bx, intptr_t by,
                      intptr_t bz, int32_t smem, void *stream, void **params, void **extra,
                      size_t /*nparams*/) {
  ctx();
  if (smem > 48 * 1024) // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
    check(api()->cuFuncSetAttribute(f, 8, smem), "cuFuncSetAttribute");
  check(api()->cuLaunchKernel(f, gx, gy, gz, bx, by, bz, smem, stream, params, extra),
        "cuLaunchKernel");
}
void *mgpuStreamCreate() {
  ctx();
  {
    std::lock_guard<std::mutex> g(poolMu);
    if (!pool.empty()) {
      CUstream s = pool.back();
      pool.pop_back();
      return s;
    }
  }
  CUstream s = nullptr;
  check(api()->cuStreamCreate(&s, 1 /*CU_STREAM_NON_BLOCKING*/), "cuStreamCreate");
  return s;
}
void mgpuStreamDestroy(void *s) {
  std::lock_guard<std::mutex> g(poolMu);
  pool.push_back(s);
}
void mgpuStreamSynchronize(void *s) { check(api()->cuStreamSynchronize(s), "cuStreamSynchronize"); }

void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool /*hostShared*/) {
  ctx();
  CUdeviceptr p = 0;
  check(api()->cuMemAlloc(&p, bytes ? bytes : 1), "cuMemAlloc");
  return (void *)p;
}
void mgpuMemFree(void *p, void * /*stream*/) { check(api()->cuMemFree((CUdeviceptr)p), "cuMemFree"); }
void mgpuMemcpy(void *dst, void *src, size_t bytes, void *stream) {
  ctx();
  check(api()->cuMemcpyAsync((CUdeviceptr)dst, (CUdeviceptr)src, bytes, stream), "cuMemcpyAsync");
}
void mgpuMemset32(void *dst, unsigned value, size_t count, void *stream) {
  ctx();
  check(api()->cuMemsetD32Async((CUdeviceptr)dst, value, count, stream), "cuMemsetD32Async");
}
} // extern "C"
