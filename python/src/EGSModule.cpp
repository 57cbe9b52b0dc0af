//===- EGSModule.cpp - egs._egs: the Python extension over the egs C API --===//
//
// A thin layer over egs-c/EGS.h (libEGSCAPI.so, which keeps its MLIR and LLVM
// private). Python does the argument checking, caching and framework work
// (python/egs/); this file moves pointers and replays checked calls:
//   compile(source, ...) -> Executable
//   Executable.run(fn, args)     destination-passing kernels
//   Executable.bind(fn, args)    the same with the arguments' shapes and
//                                strides fixed: BoundCall.run(stream, *ptrs)
//   Executable.invoke(fn, args)  any entry point; results as NumPy arrays
//   Dispatcher.run(op, arrays, scalars)  a repeated torch call: the plan its
//                                checked first call left (python/egs/ops.py)
//
//===----------------------------------------------------------------------===//
#include "Launch.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <memory>
#include <cstring>
#include <string>
#include <vector>

namespace py = pybind11;
using egs_python::kMaxArgs;
using egs_python::kMaxRank;
using egs_python::raiseInvokeError;

namespace {

/// Raised for compile failures (egs.CompileError).
PyObject *compileErrorType = nullptr;

/// One argument's buffer: the pointer plus its sizes and strides (elements).
struct Buffer {
  void *data = nullptr;
  EgsDType dtype = EGS_DTYPE_INVALID;
  int rank = 0;
  std::array<int64_t, kMaxRank> sizes{};
  std::array<int64_t, kMaxRank> strides{};
};

EgsDType numpyDType(const py::dtype &dt) {
  char kind = dt.kind();
  auto size = dt.itemsize();
#define EGS_DTYPE(ENUM, NAME, BYTES, NUMPY_KIND, NUMPY_FORMAT)                 \
  if (NUMPY_KIND && kind == NUMPY_KIND && size == BYTES)                       \
    return EGS_DTYPE_##ENUM;
#include "egs-c/DTypes.def"
#undef EGS_DTYPE
  if (size == 2 && py::str(dt.attr("name")).cast<std::string>() == "bfloat16")
    return EGS_DTYPE_BF16; // ml_dtypes.bfloat16
  return EGS_DTYPE_INVALID;
}

/// Reads a NumPy array (directly), an object with data_ptr()/shape/stride()
/// (a torch.Tensor), or a tuple (data_ptr, shape, strides).
void readBuffer(const py::handle &obj, Buffer &b, int index) {
  if (py::isinstance<py::array>(obj)) {
    auto a = py::reinterpret_borrow<py::array>(obj);
    if (a.ndim() > kMaxRank)
      throw py::value_error("argument " + std::to_string(index) + ": rank above 8");
    b.data = const_cast<void *>(a.data());
    b.dtype = numpyDType(a.dtype());
    b.rank = static_cast<int>(a.ndim());
    auto itemsize = a.itemsize();
    for (int d = 0; d < b.rank; ++d) {
      b.sizes[d] = a.shape(d);
      b.strides[d] = a.strides(d) / itemsize;
    }
    return;
  }
  py::tuple shape, strides;
  if (py::isinstance<py::tuple>(obj)) {
    auto t = py::reinterpret_borrow<py::tuple>(obj);
    if (t.size() != 3)
      throw py::type_error("argument " + std::to_string(index) +
                           ": expected (data_ptr, shape, strides)");
    b.data = reinterpret_cast<void *>(t[0].cast<uintptr_t>());
    shape = py::tuple(t[1]);
    strides = py::tuple(t[2]);
  } else {
    b.data = reinterpret_cast<void *>(obj.attr("data_ptr")().cast<uintptr_t>());
    shape = py::tuple(obj.attr("shape"));
    strides = py::tuple(obj.attr("stride")());
  }
  b.rank = static_cast<int>(shape.size());
  if (b.rank > kMaxRank || strides.size() != shape.size())
    throw py::value_error("argument " + std::to_string(index) +
                          ": rank above 8 or strides of the wrong length");
  for (int d = 0; d < b.rank; ++d) {
    b.sizes[d] = shape[d].cast<int64_t>();
    b.strides[d] = strides[d].cast<int64_t>();
  }
}

EgsMemRef toMemRef(Buffer &b) {
  return EgsMemRef{b.data, b.dtype, b.rank, b.sizes.data(), b.strides.data()};
}

class Executable {
public:
  explicit Executable(EgsExecutable exe) : exe(exe) {}
  Executable(const Executable &) = delete;
  ~Executable() { egsExecutableDestroy(exe); }

  std::vector<std::string> functions() const {
    std::vector<std::string> names;
    for (int i = 0, n = egsExecutableGetNumFunctions(exe); i < n; ++i)
      names.push_back(egsExecutableGetFunctionName(exe, i));
    return names;
  }

  int lookup(const std::string &name) const {
    int fn = egsExecutableLookupFunction(exe, name.c_str());
    if (fn < 0)
      throw py::key_error("no entry point @" + name);
    return fn;
  }

  static py::dict describe(const EgsValueType &t) {
    py::dict d;
    d["kind"] = t.kind == EGS_VALUE_MEMREF ? "memref"
                : t.kind == EGS_VALUE_INT  ? "int"
                                           : "float";
    d["dtype"] = egsDTypeName(t.dtype);
    std::vector<int64_t> sizes(t.sizes, t.sizes + t.rank);
    d["shape"] = py::tuple(py::cast(sizes));
    d["is_tensor"] = bool(t.isTensor);
    d["dense"] = bool(t.identityLayout);
    return d;
  }

  py::tuple signature(int fn) const {
    checkFunction(fn);
    py::list args, results;
    for (int i = 0, n = egsExecutableGetNumArguments(exe, fn); i < n; ++i)
      args.append(describe(egsExecutableGetArgumentType(exe, fn, i)));
    for (int i = 0, n = egsExecutableGetNumResults(exe, fn); i < n; ++i)
      results.append(describe(egsExecutableGetResultType(exe, fn, i)));
    return py::make_tuple(args, results);
  }

  /// The hot path: every argument a buffer, no results, checked by Python.
  /// `stream` (CUDA kernels): the CUstream to queue on, set in the same call;
  /// `device` (>= 0): the CUDA device whose primary context runs them.
  void run(int fn, const py::tuple &args, const py::object &stream,
           int device) {
    checkFunction(fn);
    int n = static_cast<int>(args.size());
    if (n > kMaxArgs)
      throw py::value_error("too many arguments");
    std::array<Buffer, kMaxArgs> buffers;
    for (int i = 0; i < n; ++i)
      readBuffer(args[i], buffers[i], i);
    invokeBuffers(fn, buffers.data(), n, stream, device);
  }

  void invokeBuffers(int fn, Buffer *buffers, int n, const py::handle &stream,
                     int device) {
    std::array<EgsMemRef, kMaxArgs> memrefs;
    for (int i = 0; i < n; ++i)
      memrefs[i] = toMemRef(buffers[i]);
    egs_python::launch(exe, fn, memrefs.data(), n, device, !stream.is_none(),
                       stream.is_none() ? 0 : stream.cast<uintptr_t>());
  }

  /// Any entry point: arrays, Python ints and floats in; NumPy arrays (which
  /// own the buffers the compiled code allocated) and scalars out.
  py::list invoke(int fn, const py::sequence &args) {
    checkFunction(fn);
    int n = static_cast<int>(args.size());
    std::vector<Buffer> buffers(n);
    std::vector<EgsValue> values(n);
    for (int i = 0; i < n; ++i) {
      py::handle a = args[i];
      EgsValue &v = values[i];
      v = EgsValue();
      if (py::isinstance<py::bool_>(a) || py::isinstance<py::int_>(a)) {
        v.kind = EGS_VALUE_INT;
        v.i = a.cast<int64_t>();
      } else if (py::isinstance<py::float_>(a)) {
        v.kind = EGS_VALUE_FLOAT;
        v.f = a.cast<double>();
      } else {
        readBuffer(a, buffers[i], i);
        if (buffers[i].dtype == EGS_DTYPE_INVALID && !py::isinstance<py::array>(a)) {
          // Framework tensors name their dtype by the declared signature.
          buffers[i].dtype = egsExecutableGetArgumentType(exe, fn, i).dtype;
        }
        v.kind = EGS_VALUE_MEMREF;
        v.memref = toMemRef(buffers[i]);
      }
    }
    int numResults = egsExecutableGetNumResults(exe, fn);
    std::vector<EgsOwnedMemRef> results(numResults);
    char *error = nullptr;
    int rc;
    egsSetCudaDevice(0); // programs run on device 0 (see invokeBuffers)
    {
      py::gil_scoped_release release;
      rc = egsExecutableInvoke(exe, fn, values.data(), n, results.data(),
                               numResults, &error);
    }
    if (rc)
      raiseInvokeError(error);
    py::list out;
    for (int r = 0; r < numResults; ++r)
      out.append(toPython(results[r], egsExecutableGetResultType(exe, fn, r)));
    return out;
  }

  bool fromDiskCache() const { return egsExecutableFromDiskCache(exe); }

  /// The C API handle, for egs._egs_torch (which launches through the C API
  /// itself); valid while this object lives.
  uintptr_t handle() const { return reinterpret_cast<uintptr_t>(exe); }

  void checkFunction(int fn) const {
    if (fn < 0 || fn >= egsExecutableGetNumFunctions(exe))
      throw py::index_error("no entry point #" + std::to_string(fn));
  }

private:
  static py::object toPython(EgsOwnedMemRef &r, const EgsValueType &t) {
    if (t.kind != EGS_VALUE_MEMREF) {
      switch (t.dtype) {
      case EGS_DTYPE_F32: {
        float f;
        std::memcpy(&f, &r.data, sizeof f);
        return py::float_(f);
      }
      case EGS_DTYPE_F64: {
        double d;
        std::memcpy(&d, &r.data, sizeof d);
        return py::float_(d);
      }
      default: {
        int64_t i = 0;
        std::memcpy(&i, &r.data, egsDTypeSize(t.dtype));
        if (t.dtype == EGS_DTYPE_I1)
          return py::bool_(i & 1);
        int bits = int(egsDTypeSize(t.dtype) * 8);
        if (bits < 64) // sign-extend
          i = (i << (64 - bits)) >> (64 - bits);
        return py::int_(i);
      }
      }
    }
    // bf16 has no NumPy type: its bits come back as uint16 (Python views them).
    const char *format = "i8";
    switch (t.dtype) {
#define EGS_DTYPE(ENUM, NAME, BYTES, NUMPY_KIND, NUMPY_FORMAT)                 \
  case EGS_DTYPE_##ENUM:                                                       \
    format = NUMPY_FORMAT;                                                     \
    break;
#include "egs-c/DTypes.def"
#undef EGS_DTYPE
    case EGS_DTYPE_INVALID:
      break;
    }
    size_t elem = egsDTypeSize(t.dtype);
    std::vector<py::ssize_t> shape(r.sizes, r.sizes + r.rank);
    std::vector<py::ssize_t> strides;
    for (int d = 0; d < r.rank; ++d)
      strides.push_back(r.strides[d] * static_cast<py::ssize_t>(elem));
    void *allocated = r.allocated;
    py::capsule owner(allocated, [](void *p) { egsFreeBuffer(p); });
    return py::array(py::dtype(format), shape, strides, r.data, owner);
  }

  EgsExecutable exe;
};

/// One entry point with its arguments' dtypes, shapes and strides fixed
/// (taken from sample arguments): a call passes only the data pointers.
/// Python keeps one per argument signature (python/egs/ops.py), where shapes
/// and strides cannot change between calls.
class BoundCall {
public:
  BoundCall(py::object owner, int fn, const py::tuple &args, int device)
      : owner(std::move(owner)), exe(&this->owner.cast<Executable &>()),
        fn(fn), n(static_cast<int>(args.size())), device(device) {
    exe->checkFunction(fn);
    if (n > kMaxArgs)
      throw py::value_error("too many arguments");
    for (int i = 0; i < n; ++i)
      readBuffer(args[i], buffers[i], i);
  }

  void run(const py::object &stream, const py::args &pointers) {
    if (static_cast<int>(pointers.size()) != n)
      throw py::value_error("BoundCall.run: expected " + std::to_string(n) +
                            " data pointers, got " +
                            std::to_string(pointers.size()));
    std::array<void *, kMaxArgs> data;
    for (int i = 0; i < n; ++i)
      data[i] = reinterpret_cast<void *>(pointers[i].cast<uintptr_t>());
    runPointers(stream, data.data());
  }

  void runPointers(const py::handle &stream, void *const *data) const {
    std::array<Buffer, kMaxArgs> call = buffers;
    for (int i = 0; i < n; ++i)
      call[i].data = data[i];
    exe->invokeBuffers(fn, call.data(), n, stream, device);
  }

  int numArgs() const { return n; }
  /// Whether bound argument i has any element.
  bool hasElements(int i) const {
    for (int d = 0; d < buffers[i].rank; ++d)
      if (buffers[i].sizes[d] == 0)
        return false;
    return true;
  }

private:
  py::object owner; ///< the Executable, kept alive
  Executable *exe;  ///< owner's
  int fn, n;
  int device; ///< CUDA device ordinal, or -1
  std::array<Buffer, kMaxArgs> buffers;
};

/// The replay of checked calls on torch tensors (python/egs/ops.py) in one
/// extension call: the signature of the arguments (per scalar its type and
/// value, per tensor its dtype, device, shape and contiguity: everything the
/// Python checks read) -> the plan of the first call with that signature:
/// its bound entry point, how to allocate the outputs, the order of the
/// kernel's arguments and which outputs are returned.
class Dispatcher {
public:
  explicit Dispatcher(py::object tensorType) : tensorType(std::move(tensorType)) {}

  /// The call's results, or None when no plan has this signature.
  py::object run(const py::object &op, const py::tuple &arrays,
                 const py::tuple &scalars) {
    py::object key = signature(op, arrays, scalars);
    if (!key)
      return py::none();
    PyObject *entry = PyDict_GetItemWithError(plans.ptr(), key.ptr());
    if (!entry) {
      PyErr_Clear();
      return py::none();
    }
    // A plan of our own: another thread may add plans or clear the table
    // while this one runs Python code (allocation, data_ptr) or the kernel.
    std::shared_ptr<const Plan> plan = storage[PyLong_AsSsize_t(entry)];
    const Plan &p = *plan;
    ++hits;
    int numIn = static_cast<int>(arrays.size());
    std::array<py::object, kMaxArgs> outs;
    for (size_t i = 0; i < p.outputs.size(); ++i) {
      const auto &[alloc, source] = p.outputs[i];
      outs[i] = source < 0 ? alloc() : alloc(arrays[source]);
    }
    std::array<void *, kMaxArgs> data;
    for (size_t k = 0; k < p.order.size(); ++k) {
      int at = p.order[k];
      py::handle a = at < numIn ? arrays[at] : outs[at - numIn];
      PyObject *ptr = PyObject_CallMethodNoArgs(a.ptr(), names().dataPtr);
      if (!ptr)
        throw py::error_already_set();
      data[k] = reinterpret_cast<void *>(
          py::reinterpret_steal<py::object>(ptr).cast<uintptr_t>());
      // A tensor whose storage was freed (resized to 0): the checks say so.
      if (!data[k] && p.call.hasElements(static_cast<int>(k)))
        return py::none();
    }
    p.call.runPointers(p.stream.is_none() ? py::none() : p.stream(), data.data());
    if (p.single)
      return outs[p.results[0]];
    py::tuple results(p.results.size());
    for (size_t i = 0; i < p.results.size(); ++i)
      results[i] = outs[p.results[i]];
    return std::move(results);
  }

  /// Remembers the plan of a checked call; false when the arguments have no
  /// signature (not all torch tensors, an unhashable scalar). The same
  /// arguments as egs._egs_torch.Dispatcher.add: `args` are the kernel's
  /// arguments of the checked call (their shapes and strides are bound),
  /// `outputs` one (kind, shape, dtype, source, allocator) per output, of
  /// which this one uses the allocator (called with arrays[source] when
  /// source >= 0).
  bool add(const py::object &op, const py::tuple &arrays,
           const py::tuple &scalars, py::object executable, int fn,
           int device, const py::tuple &args, const py::list &outputs,
           const std::vector<int> &order, const std::vector<int> &results,
           bool single, py::object stream) {
    py::object key = signature(op, arrays, scalars);
    if (!key)
      return false;
    BoundCall call(std::move(executable), fn, args, device);
    std::vector<std::pair<py::object, int>> allocators;
    for (py::handle spec : outputs) {
      auto t = spec.cast<py::tuple>();
      if (t.size() != 5)
        throw py::value_error("Dispatcher.add: an output is (kind, shape, dtype, source, allocator)");
      allocators.emplace_back(py::reinterpret_borrow<py::object>(t[4]), t[3].cast<int>());
    }
    if (allocators.size() > kMaxArgs || order.size() != size_t(call.numArgs()) ||
        results.empty())
      throw py::value_error("Dispatcher.add: inconsistent plan");
    int total = static_cast<int>(arrays.size() + allocators.size());
    for (int at : order)
      if (at < 0 || at >= total)
        throw py::value_error("Dispatcher.add: argument index out of range");
    for (int r : results)
      if (r < 0 || r >= static_cast<int>(allocators.size()))
        throw py::value_error("Dispatcher.add: result index out of range");
    for (const auto &[alloc, source] : allocators)
      if (source >= static_cast<int>(arrays.size()))
        throw py::value_error("Dispatcher.add: output source out of range");
    // Token counts are part of a signature: bound the table.
    if (storage.size() >= kMaxPlans)
      dropPlans();
    // The plan first: the dict insert may run Python code (key equality),
    // and a lookup must never find an index past the end.
    storage.push_back(std::make_shared<const Plan>(
        Plan{std::move(call), std::move(allocators), order, results, single,
             std::move(stream)}));
    plans[key] = py::int_(storage.size() - 1);
    return true;
  }

  /// Forgets every plan and resets the hit count (egs.clear_cache()).
  void clear() {
    dropPlans();
    hits = 0;
  }
  size_t size() const { return storage.size(); }
  uint64_t hits = 0;

private:
  static constexpr size_t kMaxPlans = 4096;

  void dropPlans() {
    plans.clear();
    storage.clear();
  }

  struct Plan {
    BoundCall call;
    std::vector<std::pair<py::object, int>> outputs; ///< allocator, input it copies or -1
    std::vector<int> order;   ///< kernel argument -> index into inputs ++ outputs
    std::vector<int> results; ///< outputs returned
    bool single;
    py::object stream; ///< zero-argument callable giving the CUstream, or None
  };

  struct Names {
    PyObject *dtype, *device, *shape, *isContiguous, *dataPtr, *isNeg, *isConj;
  };
  static const Names &names() {
    static const Names n{PyUnicode_InternFromString("dtype"),
                         PyUnicode_InternFromString("device"),
                         PyUnicode_InternFromString("shape"),
                         PyUnicode_InternFromString("is_contiguous"),
                         PyUnicode_InternFromString("data_ptr"),
                         PyUnicode_InternFromString("is_neg"),
                         PyUnicode_InternFromString("is_conj")};
    return n;
  }

  /// (op, (type, value) per scalar, (dtype, device, shape, contiguous, neg, conj) per
  /// tensor, None per absent array); a null object unless every array is a
  /// torch tensor.
  py::object signature(const py::object &op, const py::tuple &arrays,
                       const py::tuple &scalars) const {
    const Names &n = names();
    size_t ns = scalars.size(), na = arrays.size();
    py::tuple key(1 + ns + na);
    key[0] = op;
    for (size_t i = 0; i < ns; ++i) {
      py::handle v = scalars[i];
      key[1 + i] = py::make_tuple(py::handle(reinterpret_cast<PyObject *>(Py_TYPE(v.ptr()))), v);
    }
    for (size_t i = 0; i < na; ++i) {
      py::handle a = arrays[i];
      if (a.is_none()) {
        key[1 + ns + i] = py::none();
        continue;
      }
      int isTensor = PyObject_IsInstance(a.ptr(), tensorType.ptr());
      if (isTensor != 1) {
        if (isTensor < 0)
          PyErr_Clear();
        return py::object();
      }
      auto get = [&](PyObject *name) {
        PyObject *v = PyObject_GetAttr(a.ptr(), name);
        if (!v)
          throw py::error_already_set();
        return py::reinterpret_steal<py::object>(v);
      };
      auto call = [&](PyObject *name) {
        PyObject *v = PyObject_CallMethodNoArgs(a.ptr(), name);
        if (!v)
          throw py::error_already_set();
        return py::reinterpret_steal<py::object>(v);
      };
      // (Lazily negated or conjugated views read as other values than their
      // memory holds: their own signature, which the checks reject.)
      key[1 + ns + i] = py::make_tuple(get(n.dtype), get(n.device), get(n.shape),
                                       call(n.isContiguous), call(n.isNeg),
                                       call(n.isConj));
    }
    if (PyObject_Hash(key.ptr()) == -1) { // an unhashable scalar
      PyErr_Clear();
      return py::object();
    }
    return std::move(key);
  }

  py::object tensorType;
  py::dict plans; ///< signature -> index into storage
  std::vector<std::shared_ptr<const Plan>> storage;
};

class Compiler {
public:
  Compiler() : compiler(egsCompilerCreate()) {}
  Compiler(const Compiler &) = delete;
  ~Compiler() { egsCompilerDestroy(compiler); }

  std::unique_ptr<Executable> compile(const std::string &source,
                                      const std::string &target,
                                      const std::string &pipelineOptions,
                                      int optLevel, const std::string &cacheDir,
                                      const std::vector<std::string> &sharedLibs) {
    EgsCompileOptions options = egsCompileOptionsDefault();
    options.target = target.c_str();
    options.pipelineOptions = pipelineOptions.c_str();
    options.optLevel = optLevel;
    options.cacheDir = cacheDir.empty() ? nullptr : cacheDir.c_str();
    std::vector<const char *> libs;
    for (const std::string &l : sharedLibs)
      libs.push_back(l.c_str());
    options.sharedLibs = libs.data();
    options.numSharedLibs = static_cast<int>(libs.size());
    EgsExecutable exe = nullptr;
    char *error = nullptr;
    int rc;
    {
      py::gil_scoped_release release;
      rc = egsCompile(compiler, source.data(), source.size(), &options, &exe, &error);
    }
    if (rc) {
      std::string message = error ? error : "compilation failed";
      egsFreeString(error);
      PyErr_SetString(compileErrorType, message.c_str());
      throw py::error_already_set();
    }
    return std::make_unique<Executable>(exe);
  }

private:
  EgsCompiler compiler;
};

} // namespace

PYBIND11_MODULE(_egs, m) {
  m.doc() = "egs native extension (over the egs C API)";
  compileErrorType = PyErr_NewExceptionWithDoc(
      "egs._egs.CompileError", "MLIR parsing, verification or lowering failed.",
      PyExc_RuntimeError, nullptr);
  m.add_object("CompileError", py::handle(compileErrorType));

  py::class_<Executable>(m, "Executable")
      .def("functions", &Executable::functions)
      .def("lookup", &Executable::lookup)
      .def("signature", &Executable::signature)
      .def("run", &Executable::run, py::arg("fn"), py::arg("args"),
           py::arg("stream") = py::none(), py::arg("device") = -1)
      .def("invoke", &Executable::invoke)
      .def("bind",
           [](py::object self, int fn, const py::tuple &args, int device) {
             return BoundCall(std::move(self), fn, args, device);
           },
           py::arg("fn"), py::arg("args"), py::arg("device") = -1)
      .def_property_readonly("from_disk_cache", &Executable::fromDiskCache)
      .def_property_readonly("handle", &Executable::handle);

  py::class_<BoundCall>(m, "BoundCall").def("run", &BoundCall::run);
  egs_python::bindDispatcher<Dispatcher>(m, "tensor_type");

  py::class_<Compiler>(m, "Compiler")
      .def(py::init<>())
      .def("compile", &Compiler::compile, py::arg("source"),
           py::arg("target") = "cpu", py::arg("pipeline_options") = "",
           py::arg("opt_level") = 3, py::arg("cache_dir") = "",
           py::arg("shared_libs") = std::vector<std::string>());

  m.def("statistics", [] {
    EgsStatistics s = egsGetStatistics();
    py::dict d;
    d["compilations"] = s.compilations;
    d["disk_cache_loads"] = s.diskCacheLoads;
    d["invocations"] = s.invocations;
    return d;
  });
  m.def("target_available", [](const std::string &target) {
    char *why = nullptr;
    int ok = egsTargetAvailable(target.c_str(), &why);
    std::string reason = why ? why : "";
    egsFreeString(why);
    return py::make_tuple(bool(ok), reason);
  });
  m.def("host_cpu_name", [] { return std::string(egsHostCPUName()); });
  m.def("version", [] { return std::string(egsVersion()); });
}
