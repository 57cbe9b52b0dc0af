//===- Activation.cpp - fused epilogue activations ------------------------===//
#include "egs/Conversion/Utils/Activation.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

Value egs::buildActivation(OpBuilder &b, Location loc, Value v, Activation act) {
  auto splat = [&](double c) -> Value {
    if (auto vt = dyn_cast<VectorType>(v.getType()))
      return arith::ConstantOp::create(
          b, loc, vt, DenseElementsAttr::get(vt, static_cast<float>(c)));
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(c));
  };
  auto mul = [&](Value x, Value y) -> Value {
    return arith::MulFOp::create(b, loc, x, y);
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddFOp::create(b, loc, x, y);
  };
  auto sigmoid = [&](Value z) -> Value {
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, z));
    return arith::DivFOp::create(b, loc, splat(1.0), add(splat(1.0), e));
  };
  switch (act) {
  case Activation::none:
    return v;
  case Activation::silu:
  case Activation::swiglu:
    return mul(v, sigmoid(v));
  case Activation::gelu: {
    // tanh(z) = 2 * sigmoid(2z) - 1 keeps to ops every target lowers.
    Value z = mul(splat(0.7978845608028654),
                  add(v, mul(splat(0.044715), mul(v, mul(v, v)))));
    Value th = arith::SubFOp::create(
        b, loc, mul(splat(2.0), sigmoid(mul(splat(2.0), z))), splat(1.0));
    return mul(mul(splat(0.5), v), add(splat(1.0), th));
  }
  }
  llvm_unreachable("unknown activation");
}
