// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu | FileCheck %s --check-prefix=COPY
// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" | FileCheck %s --check-prefix=DEVICE
// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device host-sync=false" | FileCheck %s --check-prefix=ASYNC

// host-buffers=copy (default, egs-runner --target=cuda): operands are copied
// to device buffers, the written ones back, and the host waits. Non-identity
// layouts are staged through a contiguous host buffer.
// COPY-LABEL: func.func @unpermute(
// COPY: %[[STAGE:.*]] = memref.alloc
// COPY: memref.copy %{{.*}}, %[[STAGE]]
// COPY: %[[T0:.*]] = gpu.wait async
// COPY: %[[XS:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]] ({{.*}}) : memref<?x?xbf16>
// COPY: gpu.memcpy async [%[[T1]]] %[[XS]], %{{.*}} : memref<?x?xbf16>, memref<?x?xbf16>
// COPY: gpu.wait [%{{.*}}]
// COPY: gpu.launch_func
// COPY: gpu.memcpy async [%{{.*}}] %{{.*}}, %{{.*}} : memref<?x?xf32>, memref<?x?xf32>
// COPY: gpu.dealloc async
// COPY: gpu.wait [%{{.*}}]
// COPY-NOT: memref.copy %[[STAGE]]
// COPY: memref.dealloc %[[STAGE]]

// host-buffers=device: operands are used in place; each launch is waited for.
// DEVICE-LABEL: func.func @unpermute(
// DEVICE-NOT: gpu.memcpy
// DEVICE-NOT: gpu.alloc
// DEVICE: %[[S:.*]] = gpu.wait async
// DEVICE: %[[L:.*]] = gpu.launch_func async [%[[S]]]
// DEVICE: gpu.wait [%[[L]]]

// host-sync=false: kernels stay queued on the current stream.
// ASYNC-LABEL: func.func @unpermute(
// ASYNC: gpu.launch_func async
// ASYNC-NOT: gpu.wait [
// ASYNC: return
func.func @unpermute(%xs: memref<?x?xbf16, strided<[?, 1], offset: ?>>, %map: memref<?xi32>,
                     %p: memref<?x4xf32>, %out: memref<?x?xf32>) {
  egs.unpermute %xs[%map] * %p outs(%out)
      : (memref<?x?xbf16, strided<[?, 1], offset: ?>>, memref<?xi32>, memref<?x4xf32>, memref<?x?xf32>) -> ()
  return
}
