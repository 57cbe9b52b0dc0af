//===- MemRefDescriptor.h - Reading MLIR memref descriptors -----*- C++ -*-===//
//
// The runtime never includes MLIR; this reads the ranked memref descriptor
// layout of the LLVM lowering: {allocated, aligned, offset, sizes[rank],
// strides[rank]}, all pointer- or int64-sized.
//
//===----------------------------------------------------------------------===//

#ifndef EGS_RUNTIME_LIB_MEMREFDESCRIPTOR_H
#define EGS_RUNTIME_LIB_MEMREFDESCRIPTOR_H

#include <cstdint>

namespace egs::runtime {

class RankedMemRefView {
public:
  RankedMemRefView(const void *descriptor, int64_t rank)
      : header(static_cast<const Header *>(descriptor)), rank(rank) {}

  /// The first element, at `offset` elements from the aligned pointer.
  char *data(int64_t elementBytes) const {
    return header->aligned + header->offset * elementBytes;
  }
  int64_t size(int64_t dim) const { return tail()[dim]; }
  int64_t stride(int64_t dim) const { return tail()[rank + dim]; }

  /// Bytes from the first to one past the last element addressed.
  uint64_t extentBytes(int64_t elementBytes) const {
    int64_t lastElement = 0;
    for (int64_t dim = 0; dim < rank; ++dim) {
      if (size(dim) == 0)
        return 0;
      lastElement += (size(dim) - 1) * stride(dim);
    }
    return uint64_t(lastElement + 1) * uint64_t(elementBytes);
  }

private:
  struct Header {
    char *allocated;
    char *aligned;
    int64_t offset;
  };
  const int64_t *tail() const {
    return reinterpret_cast<const int64_t *>(header + 1);
  }

  const Header *header;
  int64_t rank;
};

} // namespace egs::runtime

#endif // EGS_RUNTIME_LIB_MEMREFDESCRIPTOR_H
