// Registers egs through its public API, parses egs IR, runs the CPU pipeline.
#include "egs/InitAll.h"
#include "egs/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

static const char *kModule = R"mlir(
func.func @f(%x: tensor<4x8xf32>, %ind: tensor<2x3xi32>, %w: tensor<2x8x16xf32>) -> tensor<2x3x16xf32> {
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<4x8xf32>, tensor<2x3xi32>, tensor<2x8x16xf32>) -> tensor<2x3x16xf32>
  return %y : tensor<2x3x16xf32>
}
)mlir";

int main() {
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect>();
  egs::registerAllDialects(registry);
  egs::registerAllPasses();
  mlir::MLIRContext context(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kModule, &context);
  if (!module)
    return 1;
  module->print(llvm::outs());
  mlir::PassManager pm(&context);
  egs::buildLowerToCPUPipeline(pm, egs::LowerToCPUOptions());
  if (mlir::failed(pm.run(*module)))
    return 2;
  llvm::outs() << "\nlowered to the LLVM dialect\n";
  return 0;
}
