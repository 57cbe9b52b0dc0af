//===- TorchDispatch.cpp - egs._egs_torch: repeated torch calls in C++ ----===//
//
// The replay of checked calls on torch tensors (python/egs/ops.py), like
// egs._egs.Dispatcher but on torch's C++ API: the argument signature reads
// each tensor's dtype, device, sizes and contiguity in C++ (no Python
// attribute reads), outputs are allocated by ATen (the caching allocator,
// torch's current stream) and the kernel is launched through the egs C API.
// Built only where torch is found at build time and loaded only under the
// torch version it was built against (python/egs/_kernels.py); otherwise
// egs._egs.Dispatcher does the same work, a few microseconds slower.
//
// ATen needs C++20: this file alone is compiled as C++20.
//
//===----------------------------------------------------------------------===//
#include "Launch.h"

#include <ATen/ATen.h>
#include <ATen/FunctionalTensorWrapper.h>
#include <torch/csrc/Dtype.h>
#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>

#include <pybind11/stl.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace py = pybind11;
using egs_python::kMaxArgs;
using egs_python::kMaxRank;

namespace {

/// A plain tensor: torch.Tensor or torch.nn.Parameter itself (subclasses
/// such as fake or wrapper tensors take the checked path), whose memory
/// holds its elements as they read: not functionalized, not a negated or
/// conjugated view, storage covering it (FSDP resizes storage to 0). Any
/// other tensor takes the checked path, which rejects it by name.
const at::Tensor *plainTensor(PyObject *obj, PyObject *parameterType) {
  PyTypeObject *type = Py_TYPE(obj);
  if (reinterpret_cast<PyObject *>(type) != THPVariableClass &&
      reinterpret_cast<PyObject *>(type) != parameterType)
    return nullptr;
  const at::Tensor &t = THPVariable_Unpack(obj);
  if (!t.has_storage() || t.is_meta() || t.is_neg() || t.is_conj() ||
      at::functionalization::impl::isFunctionalTensor(t))
    return nullptr;
  int64_t numel = t.numel();
  if (numel > 0 && (t.storage().data() == nullptr ||
                    t.storage().nbytes() < size_t(t.storage_offset() + numel) * t.itemsize()))
    return nullptr;
  return &t;
}

void appendInt(std::string &key, int64_t v) {
  key.append(reinterpret_cast<const char *>(&v), sizeof v);
}

class Dispatcher {
public:
  explicit Dispatcher(py::object parameterType)
      : parameterType(std::move(parameterType)) {}

  /// The call's results, or None when no plan has this signature.
  /// (torch's C++ errors, an allocation's out-of-memory say, become torch's
  /// Python exceptions: HANDLE_TH_ERRORS.)
  py::object run(const py::str &op, const py::tuple &arrays,
                 const py::tuple &scalars) {
    HANDLE_TH_ERRORS
    return replay(op, arrays, scalars);
    END_HANDLE_TH_ERRORS_PYBIND
  }

  /// Remembers the plan of a checked call (same arguments as
  /// egs._egs.Dispatcher.add); false when the arguments have no signature.
  /// `args`: the kernel's arguments in that call (their dtypes, sizes and
  /// strides are fixed by the signature); `outputs`: (kind, shape, dtype,
  /// source, allocator) per output, kind "empty", "zeros" or "copy" (of
  /// arrays[source]); `order`: kernel argument -> index into arrays ++
  /// outputs; `stream`: zero-argument callable giving the CUstream, or None.
  bool add(const py::str &op, const py::tuple &arrays, const py::tuple &scalars,
           py::object executable, int fn, int device, const py::tuple &args,
           const py::list &outputs, const std::vector<int> &order,
           const std::vector<int> &results, bool single, py::object stream) {
    HANDLE_TH_ERRORS
    return remember(op, arrays, scalars, std::move(executable), fn, device, args,
                    outputs, order, results, single, std::move(stream));
    END_HANDLE_TH_ERRORS_PYBIND
  }

  void clear() {
    plans.clear();
    hits = 0;
  }
  size_t size() const { return plans.size(); }
  uint64_t hits = 0;

private:
  py::object replay(const py::str &op, const py::tuple &arrays,
                    const py::tuple &scalars) {
    std::array<const at::Tensor *, kMaxArgs> inputs{};
    std::string key;
    if (!signature(op, arrays, scalars, key, inputs))
      return py::none();
    auto found = plans.find(key);
    if (found == plans.end())
      return py::none();
    // Pinned: another thread may add plans or clear the table while this
    // one allocates or launches.
    std::shared_ptr<const Plan> plan = found->second;
    const Plan &p = *plan;
    ++hits;
    std::array<at::Tensor, kMaxArgs> outs;
    for (size_t i = 0; i < p.outputs.size(); ++i) {
      const Output &o = p.outputs[i];
      switch (o.kind) {
      case Output::Empty:
        outs[i] = at::empty(o.sizes, o.options);
        break;
      case Output::Zeros:
        outs[i] = at::zeros(o.sizes, o.options);
        break;
      case Output::Copy:
        outs[i] = inputs[o.source]->detach().clone(at::MemoryFormat::Contiguous);
        break;
      }
    }
    std::array<EgsMemRef, kMaxArgs> memrefs;
    int numIn = static_cast<int>(arrays.size());
    for (size_t k = 0; k < p.args.size(); ++k) {
      const Arg &a = p.args[k];
      const at::Tensor &t = a.at < numIn ? *inputs[a.at] : outs[a.at - numIn];
      memrefs[k] = EgsMemRef{t.data_ptr(), EGS_DTYPE_INVALID, a.rank,
                             a.sizes.data(), a.strides.data()};
    }
    uintptr_t stream = 0;
    if (p.stream) {
      PyObject *s = PyObject_CallNoArgs(p.stream.ptr());
      if (!s)
        throw py::error_already_set();
      stream = py::reinterpret_steal<py::object>(s).cast<uintptr_t>();
    }
    egs_python::launch(p.exe, p.fn, memrefs.data(), static_cast<int>(p.args.size()),
                       p.device, static_cast<bool>(p.stream), stream);
    if (p.single)
      return py::reinterpret_steal<py::object>(THPVariable_Wrap(std::move(outs[p.results[0]])));
    py::tuple results(p.results.size());
    for (size_t i = 0; i < p.results.size(); ++i)
      results[i] = py::reinterpret_steal<py::object>(THPVariable_Wrap(outs[p.results[i]]));
    return std::move(results);
  }

  bool remember(const py::str &op, const py::tuple &arrays,
                const py::tuple &scalars, py::object executable, int fn,
                int device, const py::tuple &args, const py::list &outputs,
                const std::vector<int> &order, const std::vector<int> &results,
                bool single, py::object stream) {
    std::array<const at::Tensor *, kMaxArgs> inputs{};
    std::string key;
    if (!signature(op, arrays, scalars, key, inputs))
      return false;
    auto plan = std::make_shared<Plan>();
    plan->executable = executable;
    plan->exe = reinterpret_cast<EgsExecutable>(executable.attr("handle").cast<uintptr_t>());
    if (!plan->exe || fn < 0 || fn >= egsExecutableGetNumFunctions(plan->exe) ||
        egsExecutableGetNumArguments(plan->exe, fn) != static_cast<int>(args.size()))
      throw py::value_error("Dispatcher.add: no entry point #" + std::to_string(fn) +
                            " with " + std::to_string(args.size()) + " arguments");
    plan->fn = fn;
    plan->device = device;
    plan->single = single;
    plan->results = results;
    if (!stream.is_none())
      plan->stream = std::move(stream);
    int numIn = static_cast<int>(arrays.size());
    const at::Tensor *first = nullptr;
    for (int i = 0; i < numIn && !first; ++i)
      first = inputs[i];
    if (!first)
      throw py::value_error("Dispatcher.add: no tensor argument");
    for (py::handle spec : outputs) {
      auto t = spec.cast<py::tuple>();
      if (t.size() != 5)
        throw py::value_error("Dispatcher.add: an output is (kind, shape, dtype, source, allocator)");
      Output o;
      auto kind = t[0].cast<std::string>();
      if (kind == "copy") {
        o.kind = Output::Copy;
        o.source = t[3].cast<int>();
        if (o.source < 0 || o.source >= numIn || !inputs[o.source])
          throw py::value_error("Dispatcher.add: a copy of a missing argument");
      } else if (kind == "empty" || kind == "zeros") {
        o.kind = kind == "empty" ? Output::Empty : Output::Zeros;
        // (The dtype comes as torch's: python/egs/ops.py, _Plan.remember.)
        if (!THPDtype_Check(t[2].ptr()))
          throw py::type_error("Dispatcher.add: an output's dtype must be a torch.dtype");
        o.sizes = t[1].cast<std::vector<int64_t>>();
        o.options = at::TensorOptions()
                        .dtype(reinterpret_cast<THPDtype *>(t[2].ptr())->scalar_type)
                        .device(first->device());
      } else {
        throw py::value_error("Dispatcher.add: unknown output kind '" + kind + "'");
      }
      plan->outputs.push_back(std::move(o));
    }
    int total = numIn + static_cast<int>(plan->outputs.size());
    if (plan->outputs.size() > size_t(kMaxArgs) || order.size() != args.size() ||
        args.size() > size_t(kMaxArgs) || results.empty())
      throw py::value_error("Dispatcher.add: inconsistent plan");
    for (int r : results)
      if (r < 0 || r >= static_cast<int>(plan->outputs.size()))
        throw py::value_error("Dispatcher.add: result index out of range");
    for (size_t k = 0; k < args.size(); ++k) {
      Arg a;
      a.at = order[k];
      if (a.at < 0 || a.at >= total || (a.at < numIn && !inputs[a.at]))
        throw py::value_error("Dispatcher.add: argument index out of range");
      const at::Tensor *t = plainTensor(args[k].ptr(), parameterType.ptr());
      if (!t || t->dim() > kMaxRank)
        throw py::value_error("Dispatcher.add: kernel argument " + std::to_string(k) +
                              " is not a plain tensor of rank at most 8");
      // (Dtypes were checked by the checked call; the kernel's are fixed, and
      // like egs._egs this passes none.)
      a.rank = static_cast<int>(t->dim());
      for (int d = 0; d < a.rank; ++d) {
        a.sizes[d] = t->size(d);
        a.strides[d] = t->stride(d);
      }
      plan->args.push_back(a);
    }
    // Token counts are part of a signature: bound the table.
    if (plans.size() >= kMaxPlans)
      plans.clear();
    plans[key] = std::move(plan);
    return true;
  }

  static constexpr size_t kMaxPlans = 4096;

  struct Output {
    enum Kind { Empty, Zeros, Copy } kind = Empty;
    int source = -1;
    std::vector<int64_t> sizes;
    at::TensorOptions options;
  };
  struct Arg {
    int at = 0; ///< index into arrays ++ outputs
    int rank = 0;
    std::array<int64_t, kMaxRank> sizes{}, strides{};
  };
  struct Plan {
    py::object executable; ///< the egs._egs.Executable, kept alive
    EgsExecutable exe = nullptr;
    int fn = 0, device = -1;
    bool single = true;
    std::vector<Arg> args;
    std::vector<Output> outputs;
    std::vector<int> results;
    py::object stream; ///< callable, or null for CPU kernels
  };

  /// The bytes of (op, (type, value) per scalar, (dtype, device, sizes,
  /// contiguous) per tensor, a mark per absent array); false unless every
  /// array is a plain tensor and every scalar None, a bool or an int.
  bool signature(const py::str &op, const py::tuple &arrays,
                 const py::tuple &scalars, std::string &key,
                 std::array<const at::Tensor *, kMaxArgs> &inputs) const {
    Py_ssize_t length = 0;
    const char *name = PyUnicode_AsUTF8AndSize(op.ptr(), &length);
    if (!name)
      throw py::error_already_set();
    size_t na = arrays.size();
    if (na > size_t(kMaxArgs))
      return false;
    key.reserve(64 + 48 * na);
    key.append(name, length);
    key.push_back('\0');
    for (py::handle v : scalars) {
      PyObject *o = v.ptr();
      if (o == Py_None) {
        key.push_back('n');
      } else if (PyBool_Check(o)) {
        key.push_back(o == Py_True ? 'T' : 'F');
      } else if (PyLong_CheckExact(o)) {
        int overflow = 0;
        long long value = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow || (value == -1 && PyErr_Occurred())) {
          PyErr_Clear();
          return false;
        }
        key.push_back('i');
        appendInt(key, value);
      } else {
        return false; // other scalars are always checked
      }
    }
    for (size_t i = 0; i < na; ++i) {
      PyObject *o = PyTuple_GET_ITEM(arrays.ptr(), i);
      if (o == Py_None) {
        key.push_back('-');
        inputs[i] = nullptr;
        continue;
      }
      const at::Tensor *t = plainTensor(o, parameterType.ptr());
      if (!t)
        return false;
      inputs[i] = t;
      key.push_back('t');
      key.push_back(static_cast<char>(t->scalar_type()));
      key.push_back(static_cast<char>(t->device().type()));
      key.push_back(static_cast<char>(t->device().index()));
      key.push_back(t->is_contiguous() ? 'c' : 's');
      key.push_back(static_cast<char>(t->dim()));
      for (int64_t d : t->sizes())
        appendInt(key, d);
    }
    return true;
  }

  py::object parameterType; ///< torch.nn.Parameter
  std::unordered_map<std::string, std::shared_ptr<const Plan>> plans;
};

} // namespace

PYBIND11_MODULE(_egs_torch, m) {
  m.doc() = "egs: the replay of checked calls on torch tensors, on torch's C++ API";
  egs_python::bindDispatcher<Dispatcher>(m, "parameter_type");
  m.attr("torch_version") = py::str(EGS_TORCH_VERSION);
}
