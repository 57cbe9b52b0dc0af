//===- Activation.cpp - fused epilogue activations ------------------------===//
#include "egs/Conversion/Utils/Activation.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace {
/// f32 arithmetic on scalars or vectors of the type of `like`.
struct F32Math {
  OpBuilder &b;
  Location loc;
  Type type;

  Value splat(double c) {
    if (auto vt = dyn_cast<VectorType>(type))
      return arith::ConstantOp::create(
          b, loc, vt, DenseElementsAttr::get(vt, static_cast<float>(c)));
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(c));
  }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sigmoid(Value z) {
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, z));
    return arith::DivFOp::create(b, loc, splat(1.0), add(splat(1.0), e));
  }
};
} // namespace

Value egs::buildGatedActivation(OpBuilder &b, Location loc, Value gate,
                                Value up, Activation act, float alpha,
                                float limit) {
  F32Math m{b, loc, gate.getType()};
  if (act == Activation::swiglu)
    return m.mul(m.mul(gate, m.sigmoid(gate)), up);
  assert(act == Activation::clamped_swiglu && "not a gated activation");
  // minimumf/maximumf propagate NaN, as torch.clamp does.
  Value g = arith::MinimumFOp::create(b, loc, gate, m.splat(limit));
  Value u = arith::MaximumFOp::create(
      b, loc, arith::MinimumFOp::create(b, loc, up, m.splat(limit)),
      m.splat(-limit));
  return m.mul(m.mul(g, m.sigmoid(m.mul(m.splat(alpha), g))),
               m.add(u, m.splat(1.0)));
}

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
    return mul(v, sigmoid(v));
  case Activation::swiglu:
  case Activation::clamped_swiglu:
    llvm_unreachable("gated activations: buildGatedActivation");
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
