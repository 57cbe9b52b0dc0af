//===- ExpertGemmEmitter.h - writes the per-expert GEMM kernel -*- C++ -*-===//
//
// The kernel body behind launchExpertGemm (ExpertGemm.h), split by concern:
// row decoding and the main loops (ExpertGemm.cpp; warpgroup MMA in
// ExpertGemmWarpgroup.cpp), the epilogue (ExpertGemmEpilogue.cpp), the host
// side (ExpertGemmLaunch.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_EXPERTGEMMEMITTER_H
#define EGS_LIB_CONVERSION_EGSTOGPU_EXPERTGEMMEMITTER_H

#include "Kernels/ExpertGemmKernel.h"
#include "Kernels/MmaPipeline.h"

namespace egs {

/// Row tiles per raster group (see ExpertGemmEmitter::emit).
constexpr int64_t kRowTileGroup = 8;

/// Where one row of the tile reads and writes.
struct RowInfo {
  Value aOffset;   ///< index; -1 when the row reads nothing
  Value outOffset; ///< index; -1 when the row writes nothing
  Value scale;     ///< f32
};

/// wgmma shared-memory descriptors (i64) of stage 0, k-step 0, and what one
/// stage adds to each.
struct WarpgroupDescriptors {
  Value a, b, aStage, bStage;
};

class ExpertGemmEmitter {
public:
  ExpertGemmEmitter(KernelBuilder &kb, const ExpertGemmSpec &spec,
                    Type dataType)
      : kb(kb), spec(spec), c(spec.config), layout(gemmSharedLayout(c, spec.kMajorB())),
        dataType(dataType), fast(c.path != GemmPath::CudaCoreGeneral) {}

  void emit(ValueRange args);

private:
  void emitTile(Value e, Value start, Value end);
  RowInfo decodeRow(Value e, Value m, Value end);
  void buildRowTable(Value e, Value start, Value end);
  /// Tile column q -> (source column of w, bound of that column's half).
  std::pair<Value, Value> sourceColumn(Value q);
  SliceCopier sliceCopier(Value e);
  /// The staging buffer after `stage` (carried through the main loops
  /// instead of kt % STAGES).
  Value nextStage(Value stage) { return egs::nextStage(kb, c.stages, stage); }
  SmallVector<Value> mainLoopAsync(Value e);
  SmallVector<Value> mainLoopWarpgroup(Value e);
  WarpgroupDescriptors warpgroupDescriptors();
  SmallVector<Value> mainLoopGeneral(Value e);
  /// The ldmatrix results of k-step `ks` (16 deep) of a staged slice: the
  /// warp tile's A fragments, then its B fragments (two n8 tiles each).
  FragmentSet loadFragments(Value stage, int64_t ks);
  /// One k-step of mma.sync m16n8k16 over the warp tile.
  SmallVector<Value> mmaStep(const FragmentSet &frags, ValueRange acc);
  SmallVector<Value> computeCudaCore(Value stage, ValueRange acc);
  void storeAccumulators(ValueRange acc);
  void writeOutputTile(Value e);
  Value loadBias(Value e, Value col, Value vecOk);
  void writeChunk(Value row, Value outRow, Value col, Value v, Value vecOk);
  Value numThreads() { return kb.idx(c.numThreads()); }

  KernelBuilder &kb;
  const ExpertGemmSpec &spec;
  const GemmConfig &c;
  GemmSharedLayout layout;
  Type dataType;
  bool fast;

  DeviceTensor a, ind, w, offsets, tileMap, bias, scale, out;
  Value tid, reduce, cols, outCols, tileN;
  Value aStage, bStage, cTile, aRows, outRows, scales;
};

} // namespace egs

#endif
