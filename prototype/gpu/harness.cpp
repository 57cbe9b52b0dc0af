// Test + benchmark harness for the MLIR-compiled gather-matmul kernels (prototype).
//
// Calls the host functions through their C interface (_mlir_ciface_<name>, memref
// descriptors passed by pointer), with device buffers from the mgpu* runtime ABI.
//   y[b,e,k,:] = x[b, ind[b,e,k], :] @ w[e]
// Checks against an f64 CPU reference (inputs rounded to bf16), outputs poisoned with NaN,
// a guard zone after y must stay poisoned. Timing: wall clock around synchronous calls.
//
// usage: harness [variant|all] [B T E K I J]   (default: all variants, 4 tail/test shapes + the
//        bench shape B=64 T=256 E=32 K=32 I=128 J=64; unpermute: T=37/1000/16384, TOPK=4)
// Needs I % 8 == 0 and J % 8 == 0 (16-byte cp.async of x/w rows) -- see README.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

template <typename T, int N> struct MemRef { // == StridedMemRefType<T, N> (CRunnerUtils.h)
  T *basePtr;
  T *data;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};
template <typename T, int N> MemRef<T, N> mk(void *p, std::vector<int64_t> s) {
  MemRef<T, N> m;
  m.basePtr = m.data = (T *)p;
  m.offset = 0;
  int64_t st = 1;
  for (int i = N - 1; i >= 0; --i) {
    m.sizes[i] = s[i];
    m.strides[i] = st;
    st *= s[i];
  }
  return m;
}

extern "C" {
void *mgpuMemAlloc(uint64_t, void *, bool);
void mgpuMemFree(void *, void *);
void mgpuMemcpy(void *, void *, size_t, void *);
void mgpuMemset32(void *, unsigned, size_t, void *);
void mgpuStreamSynchronize(void *);
}

// All host entry points take 4 memref descriptors by pointer (+ i64 iters for _bench).
typedef void (*Fn)(void *, void *, void *, void *);
typedef void (*BenchFn)(void *, void *, void *, void *, int64_t);
enum Kind { MMA, SIMT, UNPERMUTE };
#define V(n, kind, bf)                                                         \
  extern "C" void _mlir_ciface_##n(void *, void *, void *, void *);             \
  extern "C" void _mlir_ciface_##n##_bench(void *, void *, void *, void *, int64_t);
#include "variants.inc" // V(name, MMA|SIMT|UNPERMUTE, out_is_bf16) lines, made by build.sh
#undef V
struct Variant {
  const char *name;
  Kind kind;
  bool outBf16;
  Fn fn;
  BenchFn bench;
};
static Variant variants[] = {
#define V(n, kind, bf) {#n, kind, bf, _mlir_ciface_##n, _mlir_ciface_##n##_bench},
#include "variants.inc"
#undef V
};

static inline float bf2f(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline uint16_t f2bf(float f) { // round to nearest even
  uint32_t u;
  memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}

static void sync() { mgpuStreamSynchronize(nullptr); }

struct Shape {
  int64_t B, T, E, K, I, J;
};

static void timeIt(const Variant &v, void *a, void *b, void *c, void *d, double flop, double bytes) {
  for (int i = 0; i < 5; ++i) v.fn(a, b, c, d);
  const int N = 200;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < N; ++i) v.fn(a, b, c, d); // each call: launch + stream sync
  auto t1 = std::chrono::steady_clock::now();
  double us_call = std::chrono::duration<double, std::micro>(t1 - t0).count() / N;
  v.bench(a, b, c, d, 20);
  const int NB = 500;
  t0 = std::chrono::steady_clock::now();
  v.bench(a, b, c, d, NB); // NB async launches on one stream, one sync
  t1 = std::chrono::steady_clock::now();
  double us_k = std::chrono::duration<double, std::micro>(t1 - t0).count() / NB;
  printf("  TIME %-20s sync-call %.2f us | back-to-back %.2f us/launch = %.2f TFLOP/s, %.0f GB/s "
         "(%.1f MB moved)\n",
         v.name, us_call, us_k, flop / us_k * 1e-6, bytes / us_k * 1e-3, bytes * 1e-6);
}

template <typename T> static T *devUpload(const std::vector<T> &h) {
  void *d = mgpuMemAlloc(h.size() * sizeof(T), nullptr, false);
  mgpuMemcpy(d, (void *)h.data(), h.size() * sizeof(T), nullptr);
  return (T *)d;
}

static double relErr(const std::vector<uint8_t> &hy, size_t n, bool bf, const std::vector<double> &ref,
                     size_t guardFrom, size_t *nonfinite, size_t *guardBad) {
  double num = 0, den = 0;
  *nonfinite = 0;
  for (size_t i = 0; i < n; ++i) {
    double o = bf ? bf2f(((const uint16_t *)hy.data())[i]) : ((const float *)hy.data())[i];
    if (!std::isfinite(o)) ++*nonfinite;
    num += (o - ref[i]) * (o - ref[i]);
    den += ref[i] * ref[i];
  }
  *guardBad = 0;
  for (size_t i = guardFrom; i < hy.size(); ++i) *guardBad += hy[i] != 0xff;
  return std::sqrt(num / std::max(den, 1e-300));
}

// y[b,e,k,:] = x[b, ind[b,e,k], :] @ w[e]; x,w bf16 (MMA) or f32 (SIMT)
static bool runCase(const Variant &v, const Shape &s, bool doTime) {
  const int64_t B = s.B, T = s.T, E = s.E, K = s.K, I = s.I, J = s.J;
  const bool inBf = v.kind == MMA;
  std::mt19937 rng(1234 + B * 7 + K * 13 + J);
  std::uniform_real_distribution<float> U(-1.f, 1.f);
  std::vector<float> fx(B * T * I), fw(E * I * J);
  for (auto &a : fx) a = inBf ? bf2f(f2bf(U(rng))) : U(rng);
  for (auto &a : fw) a = inBf ? bf2f(f2bf(U(rng))) : U(rng);
  std::vector<int32_t> hind(B * E * K);
  for (size_t i = 0; i < hind.size(); ++i) hind[i] = (i % 97 == 0) ? (int32_t)(T - 1) : (int32_t)(rng() % T);
  void *dx, *dw;
  if (inBf) {
    std::vector<uint16_t> hx(fx.size()), hw(fw.size());
    for (size_t i = 0; i < fx.size(); ++i) hx[i] = f2bf(fx[i]);
    for (size_t i = 0; i < fw.size(); ++i) hw[i] = f2bf(fw[i]);
    dx = devUpload(hx);
    dw = devUpload(hw);
  } else {
    dx = devUpload(fx);
    dw = devUpload(fw);
  }
  void *di = devUpload(hind);
  const size_t ysz = B * E * K * J, yel = v.outBf16 ? 2 : 4, guard = 4096;
  void *dy = mgpuMemAlloc(ysz * yel + guard, nullptr, false);
  mgpuMemset32(dy, 0xffffffffu, (ysz * yel + guard) / 4, nullptr); // NaN poison
  sync();
  auto mx = mk<uint8_t, 3>(dx, {B, T, I});
  auto mi = mk<int32_t, 3>(di, {B, E, K});
  auto mw = mk<uint8_t, 3>(dw, {E, I, J});
  auto my = mk<uint8_t, 4>(dy, {B, E, K, J});
  v.fn(&mx, &mi, &mw, &my);
  sync();
  std::vector<uint8_t> hy(ysz * yel + guard);
  mgpuMemcpy(hy.data(), dy, hy.size(), nullptr);
  sync();

  std::vector<double> ref(ysz); // f64 reference, threaded over b*e
  unsigned nth = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  std::vector<std::thread> th;
  for (unsigned t = 0; t < nth; ++t)
    th.emplace_back([&, t] {
      std::vector<double> acc(J);
      for (int64_t be = t; be < B * E; be += nth) {
        int64_t b = be / E, e = be % E;
        for (int64_t k = 0; k < K; ++k) {
          std::fill(acc.begin(), acc.end(), 0.0);
          const float *xr = &fx[(b * T + hind[be * K + k]) * I];
          for (int64_t i = 0; i < I; ++i) {
            const float *wr = &fw[(e * I + i) * J];
            double xv = xr[i];
            for (int64_t j = 0; j < J; ++j) acc[j] += xv * wr[j];
          }
          std::copy(acc.begin(), acc.end(), &ref[(be * K + k) * J]);
        }
      }
    });
  for (auto &t : th) t.join();
  size_t bad, guardBad;
  double rel = relErr(hy, ysz, v.outBf16, ref, ysz * yel, &bad, &guardBad);
  const double tol = (inBf || v.outBf16) ? 1e-2 : 1e-5;
  bool ok = bad == 0 && guardBad == 0 && rel < tol;
  printf("%-22s B=%ld T=%ld E=%ld K=%ld I=%ld J=%ld  rel_err=%.3e nonfinite=%zu guard_clobbered=%zu  %s\n",
         v.name, B, T, E, K, I, J, rel, bad, guardBad, ok ? "PASS" : "FAIL");
  if (doTime && ok) {
    const double inEl = inBf ? 2.0 : 4.0;
    timeIt(v, &mx, &mi, &mw, &my, 2.0 * B * E * K * I * J,
           B * E * K * (I * inEl + 4 + J * yel) + E * I * J * inEl); // gathered rows counted
  }
  mgpuMemFree(dx, nullptr);
  mgpuMemFree(dw, nullptr);
  mgpuMemFree(di, nullptr);
  mgpuMemFree(dy, nullptr);
  return ok;
}

// out[t,:] = sum_j probs[t,j] * xs[row_id_map[j*T+t], :]
static bool runUnpermute(const Variant &v, int64_t T, int64_t TOPK, int64_t H, bool doTime) {
  const int64_t N = T * TOPK;
  std::mt19937 rng(99 + T + H);
  std::uniform_real_distribution<float> U(-1.f, 1.f);
  std::vector<float> probs(T * TOPK);
  for (auto &p : probs) p = U(rng);
  std::vector<int32_t> rid(N);
  for (int64_t i = 0; i < N; ++i) rid[i] = (int32_t)i;
  std::shuffle(rid.begin(), rid.end(), rng);
  for (int64_t i = 0; i < N; i += 101) rid[i] = -1; // dropped slots
  std::vector<uint16_t> xs(N * H);
  for (auto &a : xs) a = f2bf(U(rng));
  void *dp = devUpload(probs), *dr = devUpload(rid), *dx = devUpload(xs);
  const size_t osz = T * H, oel = v.outBf16 ? 2 : 4, guard = 4096;
  void *dout = mgpuMemAlloc(osz * oel + guard, nullptr, false);
  mgpuMemset32(dout, 0xffffffffu, (osz * oel + guard) / 4, nullptr);
  sync();
  auto mp = mk<float, 2>(dp, {T, TOPK});
  auto mr = mk<int32_t, 1>(dr, {N});
  auto mx = mk<uint16_t, 2>(dx, {N, H});
  auto mo = mk<uint8_t, 2>(dout, {T, H});
  v.fn(&mp, &mr, &mx, &mo);
  sync();
  std::vector<uint8_t> ho(osz * oel + guard);
  mgpuMemcpy(ho.data(), dout, ho.size(), nullptr);
  sync();
  std::vector<double> ref(osz, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < TOPK; ++j) {
      int32_t r = rid[j * T + t];
      if (r < 0) continue;
      double p = probs[t * TOPK + j];
      for (int64_t h = 0; h < H; ++h) ref[t * H + h] += p * bf2f(xs[r * H + h]);
    }
  size_t bad, guardBad;
  double rel = relErr(ho, osz, v.outBf16, ref, osz * oel, &bad, &guardBad);
  bool ok = bad == 0 && guardBad == 0 && rel < 1e-2;
  printf("%-22s T=%ld TOPK=%ld H=%ld  rel_err=%.3e nonfinite=%zu guard_clobbered=%zu  %s\n", v.name, T, TOPK,
         H, rel, bad, guardBad, ok ? "PASS" : "FAIL");
  if (doTime && ok)
    timeIt(v, &mp, &mr, &mx, &mo, 2.0 * T * TOPK * H, T * TOPK * (H * 2.0 + 8) + osz * oel);
  mgpuMemFree(dp, nullptr);
  mgpuMemFree(dr, nullptr);
  mgpuMemFree(dx, nullptr);
  mgpuMemFree(dout, nullptr);
  return ok;
}

int main(int argc, char **argv) {
  std::string which = argc > 1 ? argv[1] : "all";
  std::vector<Shape> tests = {{2, 19, 3, 7, 40, 24},     // everything smaller than a tile
                              {3, 37, 5, 45, 72, 56},    // K, I, J tails
                              {2, 64, 4, 130, 264, 136}, // multi-tile + tails
                              {1, 8, 2, 64, 128, 64}};   // exact tiles
  Shape bench = {64, 256, 32, 32, 128, 64};
  if (argc > 7) {
    bench = {atoll(argv[2]), atoll(argv[3]), atoll(argv[4]), atoll(argv[5]), atoll(argv[6]), atoll(argv[7])};
    tests.clear();
  }
  int fails = 0;
  for (auto &v : variants) {
    if (which != "all" && which != v.name) continue;
    if (v.kind == UNPERMUTE) {
      int64_t topk = 4; // must match the variant's TOPK (see build.sh)
      fails += !runUnpermute(v, 37, topk, 264, false);
      fails += !runUnpermute(v, 1000, topk, 1032, false);
      fails += !runUnpermute(v, 16384, topk, 2048, true);
      continue;
    }
    for (auto &s : tests) fails += !runCase(v, s, false);
    fails += !runCase(v, bench, true);
  }
  printf("%s (%d failures)\n", fails ? "FAILED" : "ALL PASSED", fails);
  return fails != 0;
}
