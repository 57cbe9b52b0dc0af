//===- RuntimeTest.cpp - egs-runtime-test ---------------------------------===//
//
// Drives libegs_cuda_runtime through the MLIR GPU runtime ABI, the way
// generated code does, with hand-written PTX kernels.
//
//   egs-runtime-test                     GPU tests; exit 77 without a device
//   egs-runtime-test --expect-no-device  no-device paths; exit 0 when they
//                                        report and exit as they should
//
//===----------------------------------------------------------------------===//

#include "egs/Runtime/CudaRuntime.h"
#include "egs/Runtime/GpuRuntimeAbi.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kNoDeviceExitCode = 77;

// add_one(in, out, n): out[i] = in[i] + 1.
// fill_shared(out, rounds): each of the block's threads writes `rounds` words
// of dynamic shared memory, then sums the words its mirror thread wrote.
const char kKernels[] = R"(
.version 8.0
.target sm_90
.address_size 64

.extern .shared .align 16 .b8 dynamic_shared[];

.visible .entry add_one(.param .u64 add_one_in, .param .u64 add_one_out,
                        .param .u32 add_one_n)
{
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .f32 %f<3>;
  .reg .b64 %rd<8>;
  ld.param.u64 %rd1, [add_one_in];
  ld.param.u64 %rd2, [add_one_out];
  ld.param.u32 %r1, [add_one_n];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mad.lo.s32 %r5, %r2, %r3, %r4;
  setp.ge.u32 %p1, %r5, %r1;
  @%p1 bra ADD_ONE_DONE;
  cvta.to.global.u64 %rd3, %rd1;
  cvta.to.global.u64 %rd4, %rd2;
  mul.wide.u32 %rd5, %r5, 4;
  add.s64 %rd6, %rd3, %rd5;
  add.s64 %rd7, %rd4, %rd5;
  ld.global.f32 %f1, [%rd6];
  add.f32 %f2, %f1, 0f3F800000;
  st.global.f32 [%rd7], %f2;
ADD_ONE_DONE:
  ret;
}

.visible .entry fill_shared(.param .u64 fill_shared_out,
                            .param .u32 fill_shared_rounds)
{
  .reg .pred %p<3>;
  .reg .b32 %r<12>;
  .reg .b64 %rd<5>;
  ld.param.u64 %rd1, [fill_shared_out];
  ld.param.u32 %r1, [fill_shared_rounds];
  mov.u32 %r2, %tid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, dynamic_shared;
  mov.u32 %r5, 0;
FILL_WRITE:
  mad.lo.s32 %r6, %r5, %r3, %r2;
  shl.b32 %r7, %r6, 2;
  add.s32 %r8, %r4, %r7;
  st.shared.u32 [%r8], %r6;
  add.s32 %r5, %r5, 1;
  setp.lt.u32 %p1, %r5, %r1;
  @%p1 bra FILL_WRITE;
  bar.sync 0;
  sub.s32 %r9, %r3, %r2;
  sub.s32 %r9, %r9, 1;
  mov.u32 %r5, 0;
  mov.u32 %r10, 0;
FILL_READ:
  mad.lo.s32 %r6, %r5, %r3, %r9;
  shl.b32 %r7, %r6, 2;
  add.s32 %r8, %r4, %r7;
  ld.shared.u32 %r11, [%r8];
  add.s32 %r10, %r10, %r11;
  add.s32 %r5, %r5, 1;
  setp.lt.u32 %p2, %r5, %r1;
  @%p2 bra FILL_READ;
  cvta.to.global.u64 %rd2, %rd1;
  mul.wide.u32 %rd3, %r2, 4;
  add.s64 %rd4, %rd2, %rd3;
  st.global.u32 [%rd4], %r10;
  ret;
}
)";

//===----------------------------------------------------------------------===//
// Checking
//===----------------------------------------------------------------------===//

struct RecordedErrors {
  int count = 0;
  int lastCode = 0;
  std::string lastMessage;
};
RecordedErrors recorded;
int failures = 0;

void recordError(int code, const char *message, void *) {
  ++recorded.count;
  recorded.lastCode = code;
  recorded.lastMessage = message;
}

void check(bool ok, const std::string &what) {
  std::printf("%s: %s\n", ok ? "PASS" : "FAIL", what.c_str());
  if (!ok)
    ++failures;
}

// Checks that the calls since the last check reported nothing.
void checkNoErrors(const std::string &what) {
  check(recorded.count == 0,
        what + (recorded.count ? " (error: " + recorded.lastMessage + ")"
                               : std::string()));
  recorded = RecordedErrors();
}

// Checks that the calls since the last check reported an error whose message
// names every string in `needles`.
void checkReported(const std::string &what,
                   std::initializer_list<const char *> needles) {
  bool ok = recorded.count > 0;
  for (const char *needle : needles)
    ok = ok && recorded.lastMessage.find(needle) != std::string::npos;
  check(ok, what + " [" + recorded.lastMessage + "]");
  recorded = RecordedErrors();
}

//===----------------------------------------------------------------------===//
// GPU tests
//===----------------------------------------------------------------------===//

struct Kernels {
  CUmod_st *module;
  CUfunc_st *addOne;
  CUfunc_st *fillShared;
};

Kernels testModuleCache() {
  std::string copy(kKernels); // Same content at another address.
  CUmod_st *module = mgpuModuleLoad(const_cast<char *>(kKernels),
                                    sizeof(kKernels));
  CUmod_st *again = mgpuModuleLoad(copy.data(), copy.size() + 1);
  CUmod_st *jitted = mgpuModuleLoadJIT(const_cast<char *>(kKernels), 3);
  checkNoErrors("mgpuModuleLoad / mgpuModuleLoadJIT load the PTX");
  check(module && module == again, "identical images share one module");
  check(jitted && jitted != module, "another JIT level is another module");

  Kernels kernels{module, mgpuModuleGetFunction(module, "add_one"),
                  mgpuModuleGetFunction(module, "fill_shared")};
  check(kernels.addOne && kernels.fillShared &&
            mgpuModuleGetFunction(module, "add_one") == kernels.addOne,
        "mgpuModuleGetFunction finds and caches kernels");
  checkNoErrors("kernel lookup reports nothing");
  mgpuModuleGetFunction(module, "no_such_kernel");
  checkReported("a missing kernel is reported",
                {"cuModuleGetFunction", "CUDA_ERROR_NOT_FOUND",
                 "no_such_kernel"});

  mgpuModuleUnload(again);
  mgpuModuleUnload(jitted);
  check(egsCudaReleaseUnusedModules() == 1,
        "egsCudaReleaseUnusedModules unloads only the unreferenced module");
  return kernels;
}

// Runs add_one over `n` floats on `stream` (null: the current stream).
bool runAddOne(CUfunc_st *addOne, CUstream_st *stream, uint32_t n) {
  std::vector<float> host(n), result(n);
  for (uint32_t i = 0; i < n; ++i)
    host[i] = float(i);
  size_t bytes = n * sizeof(float);
  void *in = mgpuMemAlloc(bytes, stream, false);
  void *out = mgpuMemAlloc(bytes, stream, false);
  mgpuMemcpy(in, host.data(), bytes, stream);
  void *params[] = {&in, &out, &n};
  mgpuLaunchKernel(addOne, (n + 127) / 128, 1, 1, 128, 1, 1, 0, stream,
                   params, nullptr, 3);
  mgpuMemcpy(result.data(), out, bytes, stream);
  mgpuMemFree(in, stream);
  mgpuMemFree(out, stream);
  mgpuStreamSynchronize(stream);
  for (uint32_t i = 0; i < n; ++i)
    if (result[i] != float(i) + 1.0f)
      return false;
  return true;
}

void testLaunchAndMemory(const Kernels &kernels) {
  CUstream_st *stream = mgpuStreamCreate();
  check(runAddOne(kernels.addOne, stream, 1000), "add_one computes in + 1");
  checkNoErrors("alloc, memcpy, launch and free report nothing");

  const size_t count = 256;
  std::vector<uint32_t> words(count);
  std::vector<uint16_t> halves(count);
  void *buffer = mgpuMemAlloc(count * 4, stream, false);
  mgpuMemset32(buffer, 0x3f800000u, count, stream);
  mgpuMemcpy(words.data(), buffer, count * 4, stream);
  mgpuMemset16(buffer, 0xabcd, count, stream);
  mgpuMemcpy(halves.data(), buffer, count * 2, stream);
  mgpuMemFree(buffer, stream);
  mgpuStreamSynchronize(stream);
  bool ok = true;
  for (size_t i = 0; i < count; ++i)
    ok = ok && words[i] == 0x3f800000u && halves[i] == 0xabcd;
  check(ok, "mgpuMemset32 / mgpuMemset16 fill");
  mgpuStreamDestroy(stream);
  checkNoErrors("memset reports nothing");
}

void testDynamicSharedMemory(const Kernels &kernels) {
  const uint32_t threads = 256, rounds = 100; // 100 KiB of shared memory.
  int32_t sharedBytes = int32_t(threads * rounds * 4);
  CUstream_st *stream = mgpuStreamCreate();
  void *out = mgpuMemAlloc(threads * 4, stream, false);
  uint32_t roundsParam = rounds;
  void *params[] = {&out, &roundsParam};
  mgpuLaunchKernel(kernels.fillShared, 1, 1, 1, threads, 1, 1, sharedBytes,
                   stream, params, nullptr, 2);
  std::vector<uint32_t> sums(threads);
  mgpuMemcpy(sums.data(), out, threads * 4, stream);
  mgpuStreamSynchronize(stream);
  checkNoErrors("a launch with 100 KiB of dynamic shared memory runs");
  bool ok = true;
  for (uint32_t t = 0; t < threads; ++t)
    ok = ok && sums[t] == threads * rounds * (rounds - 1) / 2 +
                              rounds * (threads - 1 - t);
  check(ok, "fill_shared reads back all 100 KiB");

  mgpuLaunchKernel(kernels.fillShared, 1, 1, 1, threads, 1, 1, 300 * 1024,
                   stream, params, nullptr, 2);
  checkReported("300 KiB is reported with the device limit",
                {"cuFuncSetAttribute", "device allows"});
  mgpuMemFree(out, stream);
  mgpuStreamDestroy(stream);
  checkNoErrors("cleanup reports nothing");
}

void testStreamsAndEvents(const Kernels &kernels) {
  const uint32_t n = 4096;
  size_t bytes = n * sizeof(float);
  std::vector<float> host(n, 41.0f);
  // Registered like gpu.host_register does, through a rank-1 descriptor.
  struct {
    float *allocated, *aligned;
    int64_t offset, size, stride;
  } descriptor = {host.data(), host.data(), 0, n, 1};
  mgpuMemHostRegisterMemRef(1, &descriptor, sizeof(float));

  CUstream_st *producer = mgpuStreamCreate();
  CUstream_st *consumer = mgpuStreamCreate();
  void *in = mgpuMemAlloc(bytes, producer, false);
  void *out = mgpuMemAlloc(bytes, producer, false);
  mgpuMemcpy(in, host.data(), bytes, producer);
  uint32_t count = n;
  void *params[] = {&in, &out, &count};
  mgpuLaunchKernel(kernels.addOne, n / 128, 1, 1, 128, 1, 1, 0, producer,
                   params, nullptr, 3);
  CUevent_st *done = mgpuEventCreate();
  mgpuEventRecord(done, producer);
  mgpuStreamWaitEvent(consumer, done);
  mgpuMemcpy(host.data(), out, bytes, consumer);
  mgpuStreamSynchronize(consumer);
  mgpuEventSynchronize(done);
  bool ok = true;
  for (float value : host)
    ok = ok && value == 42.0f;
  check(ok, "an event orders the consumer stream after the producer");
  mgpuEventDestroy(done);
  mgpuMemFree(in, producer);
  mgpuMemFree(out, producer);
  mgpuStreamSynchronize(producer);
  mgpuStreamDestroy(producer);
  mgpuStreamDestroy(consumer);
  mgpuMemHostUnregisterMemRef(1, &descriptor, sizeof(float));
  checkNoErrors("streams, events and host registration report nothing");
}

void testCurrentStreamAndClusters(const Kernels &kernels) {
  CUstream_st *mine = mgpuStreamCreate();
  egsSetCurrentStream(mine);
  CUstream_st *handedOut = mgpuStreamCreate();
  check(handedOut == mine && egsGetCurrentStream() == mine,
        "mgpuStreamCreate hands out the current stream");
  mgpuStreamDestroy(handedOut); // Must leave the borrowed stream alive.
  check(runAddOne(kernels.addOne, nullptr, 777),
        "null-stream calls run on the current stream");
  egsSetCurrentStream(nullptr);
  mgpuStreamSynchronize(mine);
  mgpuStreamDestroy(mine);
  checkNoErrors("the borrowed stream survives its mgpuStreamDestroy");

  const uint32_t n = 1024;
  float *shared = static_cast<float *>(
      mgpuMemAlloc(n * sizeof(float), nullptr, /*isHostShared=*/true));
  for (uint32_t i = 0; i < n && shared; ++i)
    shared[i] = float(i);
  uint32_t count = n;
  void *params[] = {&shared, &shared, &count};
  mgpuLaunchClusterKernel(kernels.addOne, 2, 1, 1, n / 128, 1, 1, 128, 1, 1,
                          0, nullptr, params, nullptr);
  mgpuStreamSynchronize(nullptr);
  bool ok = shared != nullptr;
  for (uint32_t i = 0; i < n && ok; ++i)
    ok = shared[i] == float(i) + 1.0f;
  check(ok, "a cluster launch updates host-shared memory");
  mgpuMemFree(shared, nullptr);
  checkNoErrors("host-shared memory and clusters report nothing");
}

void testInvalidUse(const Kernels &kernels) {
  void *params[] = {nullptr, nullptr, nullptr};
  mgpuLaunchKernel(kernels.addOne, 1, 1, 1, 4096, 1, 1, 0, nullptr, params,
                   nullptr, 3);
  checkReported("an oversized block is reported with the failing call",
                {"cuLaunchKernel", "CUDA_ERROR_INVALID_VALUE", "add_one",
                 "block (4096, 1, 1)"});
  mgpuLaunchKernel(kernels.addOne, 0, 1, 1, 1, 1, 1, 0, nullptr, params,
                   nullptr, 3);
  checkReported("an empty grid is reported", {"mgpuLaunchKernel"});

  mgpuSetDefaultDevice(999);
  mgpuStreamCreate();
  checkReported("a bad default device is reported", {"cuDeviceGet"});
  mgpuSetDefaultDevice(0);
  check(runAddOne(kernels.addOne, nullptr, 100),
        "the runtime keeps working after reported errors");
  checkNoErrors("no error is sticky");
}

void testTensorMap() {
  const int64_t rows = 64, cols = 128; // f16
  void *data = mgpuMemAlloc(rows * cols * 2, nullptr, false);
  struct {
    void *allocated, *aligned;
    int64_t offset, sizes[2], strides[2];
  } descriptor = {data, data, 0, {rows, cols}, {cols, 1}};
  const int64_t kFloat16 = 6, kSwizzle128B = 3;
  int64_t box[] = {64, 64};
  void *map = mgpuTensorMapEncodeTiledMemref(2, &descriptor, kFloat16, 0,
                                             kSwizzle128B, 0, 0, box);
  void *again = mgpuTensorMapEncodeTiledMemref(2, &descriptor, kFloat16, 0,
                                               kSwizzle128B, 0, 0, box);
  checkNoErrors("mgpuTensorMapEncodeTiledMemref encodes a 64x64 f16 box");
  check(map && map == again, "identical descriptors share one device copy");
  int64_t tooBig[] = {64, 512};
  mgpuTensorMapEncodeTiledMemref(2, &descriptor, kFloat16, 0, kSwizzle128B, 0,
                                 0, tooBig);
  checkReported("an invalid box is reported", {"cuTensorMapEncodeTiled"});
  mgpuMemFree(data, nullptr);
  checkNoErrors("tensor map cleanup reports nothing");
}

int runDeviceTests() {
  char why[512];
  if (!egsCudaAvailable(why, sizeof(why))) {
    std::printf("egs-runtime-test: no CUDA device (%s); skipping\n", why);
    return kNoDeviceExitCode;
  }
  egsSetErrorHandler(recordError, nullptr);
  Kernels kernels = testModuleCache();
  if (!kernels.addOne || !kernels.fillShared)
    return 1;
  testLaunchAndMemory(kernels);
  testDynamicSharedMemory(kernels);
  testStreamsAndEvents(kernels);
  testCurrentStreamAndClusters(kernels);
  testInvalidUse(kernels);
  testTensorMap();
  mgpuModuleUnload(kernels.module);
  std::printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}

//===----------------------------------------------------------------------===//
// No-device tests
//===----------------------------------------------------------------------===//

int runNoDeviceTests() {
  char why[512];
  if (egsCudaAvailable(why, sizeof(why))) {
    std::printf("FAIL: a CUDA device is available\n");
    return 1;
  }
  std::printf("egsCudaAvailable: 0 (%s)\n", why);

  egsSetErrorHandler(recordError, nullptr);
  CUstream_st *stream = mgpuStreamCreate();
  bool reported = recorded.lastCode == EGS_CUDA_ERROR_NO_DEVICE;
  checkReported("the handler gets the no-device error",
                {"egs runtime: no CUDA device ("});
  check(stream == nullptr && reported, "mgpuStreamCreate returns null");
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  mgpuModuleUnload(nullptr);
  check(mgpuMemAlloc(16, nullptr, false) == nullptr && recorded.count == 2,
        "launch and alloc report and do nothing");
  recorded = RecordedErrors();

  // The default handler must end the process with a message, not a crash.
  egsSetErrorHandler(nullptr, nullptr);
  std::fflush(nullptr);
  pid_t child = fork();
  if (child == 0) {
    mgpuModuleLoad(const_cast<char *>(kKernels), sizeof(kKernels));
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  check(WIFEXITED(status) && WEXITSTATUS(status) != 0,
        "the default handler exits with status " +
            std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
            (WIFSIGNALED(status) ? " after a signal" : ""));
  std::printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}

} // namespace

int main(int argc, char **argv) {
  // Unbuffered, so that output interleaves with the runtime's stderr in order.
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  if (argc == 2 && std::strcmp(argv[1], "--expect-no-device") == 0)
    return runNoDeviceTests();
  if (argc != 1) {
    std::fprintf(stderr, "usage: %s [--expect-no-device]\n", argv[0]);
    return 2;
  }
  return runDeviceTests();
}
