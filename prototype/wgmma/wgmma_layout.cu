// Standalone check of the wgmma shared-memory layouts egs uses (sm_90a):
// A [64 x 64] K-major, B [64 x 256] N-major, both 128-byte swizzled; one
// warpgroup computes D = A * B with four m64n256k16 wgmma and compares with
// the CPU. Variant 0/1 swaps LBO/SBO of B's descriptor.
// Build: nvcc -gencode arch=compute_90a,code=sm_90a -O2 -o wgmma_layout wgmma_layout.cu
// (H100, 2026-11-22: variant 0 exact, variant 1 wrong: the layout egs uses.)
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cmath>
#include <cuda_bf16.h>

__device__ inline uint32_t swz(uint32_t a) { return a ^ (((a >> 7) & 7) << 4); }

__device__ inline uint64_t desc(uint32_t addr, uint32_t lbo, uint32_t sbo) {
  uint64_t d = 0;
  d |= (uint64_t)((addr >> 4) & 0x3FFF);
  d |= (uint64_t)((lbo >> 4) & 0x3FFF) << 16;
  d |= (uint64_t)((sbo >> 4) & 0x3FFF) << 32;
  d |= (uint64_t)1 << 62; // 128B swizzle
  return d;
}

__device__ inline void wgmma(float *d, uint64_t da, uint64_t db) {
  asm volatile("wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 "
               "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, %128, %129, 1, 1, 1, 0, 1;\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
               : "l"(da), "l"(db));
}

__global__ void k(const __nv_bfloat16 *A, const __nv_bfloat16 *B, float *D, int variant) {
  extern __shared__ __align__(1024) unsigned char smem[];
  uint32_t base = (uint32_t)__cvta_generic_to_shared(smem);
  base = (base + 1023) & ~1023u;
  unsigned char *p = smem + (base - (uint32_t)__cvta_generic_to_shared(smem));
  uint32_t aOff = 0, bOff = 64 * 128;
  int t = threadIdx.x;
  for (int i = t; i < 64 * 64; i += 128) { // A[m][k]
    int m = i / 64, kk = i % 64;
    *(__nv_bfloat16 *)(p + swz(aOff + m * 128 + kk * 2)) = A[i];
  }
  for (int i = t; i < 64 * 256; i += 128) { // B[k][n]
    int kk = i / 256, n = i % 256;
    *(__nv_bfloat16 *)(p + swz(bOff + (n / 64) * 8192 + kk * 128 + (n % 64) * 2)) = B[i];
  }
  __syncthreads();
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  float d[128];
  for (int i = 0; i < 128; ++i) d[i] = 0.f;
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
  for (int s = 0; s < 4; ++s) {
    uint64_t da = desc(base + aOff + s * 32, 16, 1024);
    uint64_t db = variant == 0 ? desc(base + bOff + s * 2048, 8192, 1024)
                               : desc(base + bOff + s * 2048, 1024, 8192);
    wgmma(d, da, db);
  }
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
  int w = t / 32, l = t % 32;
  for (int i = 0; i < 128; ++i) {
    int j = i / 4, r = i % 4;
    int row = 16 * w + l / 4 + 8 * (r / 2), col = 8 * j + (l % 4) * 2 + (r % 2);
    D[row * 256 + col] = d[i];
  }
}

int main() {
  const int M = 64, K = 64, N = 256;
  __nv_bfloat16 *hA = new __nv_bfloat16[M * K], *hB = new __nv_bfloat16[K * N];
  float *fa = new float[M * K], *fb = new float[K * N], *ref = new float[M * N], *hD = new float[M * N];
  srand(1);
  for (int i = 0; i < M * K; ++i) { hA[i] = __float2bfloat16((rand() % 17 - 8) / 8.f); fa[i] = __bfloat162float(hA[i]); }
  for (int i = 0; i < K * N; ++i) { hB[i] = __float2bfloat16((rand() % 17 - 8) / 8.f); fb[i] = __bfloat162float(hB[i]); }
  for (int m = 0; m < M; ++m) for (int n = 0; n < N; ++n) {
    double s = 0; for (int kk = 0; kk < K; ++kk) s += fa[m * K + kk] * fb[kk * N + n]; ref[m * N + n] = s; }
  __nv_bfloat16 *dA, *dB; float *dD;
  cudaMalloc(&dA, M * K * 2); cudaMalloc(&dB, K * N * 2); cudaMalloc(&dD, M * N * 4);
  cudaMemcpy(dA, hA, M * K * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(dB, hB, K * N * 2, cudaMemcpyHostToDevice);
  cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024);
  for (int v = 0; v < 2; ++v) {
    cudaMemset(dD, 0xff, M * N * 4);
    k<<<1, 128, 48 * 1024 + 1024>>>(dA, dB, dD, v);
    cudaError_t e = cudaDeviceSynchronize();
    cudaMemcpy(hD, dD, M * N * 4, cudaMemcpyDeviceToHost);
    double err = 0; int bad = 0;
    for (int i = 0; i < M * N; ++i) { double x = fabs(hD[i] - ref[i]); if (!(x < 1e-3)) ++bad; if (x > err || x != x) err = x; }
    printf("variant %d: %s, max abs err %g, %d of %d wrong\n", v, cudaGetErrorString(e), err, bad, M * N);
  }
  return 0;
}
