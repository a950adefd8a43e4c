// The `trisim` Python module (pybind11): the oracle, compare, error, cost
// and quantise/dequantise on numpy arrays, keyword names as the CLI's flags.
//
// Arrays in: any numpy array of a supported dtype, read once (C order) into
// trisim's matrices. Arrays out: the result's bytes are moved into the
// returned ndarray (a capsule owns them), no copy. The GIL is released while
// trisim computes. Bad input raises ValueError with the CLI's one-line
// message (InputError and DataError alike).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/npy.h"
#include "core/status.h"
#include "quant/npy_codes.h"
#include "quant/tensor.h"
#include "sim/compare.h"
#include "sim/cost/profile.h"
#include "sim/cost_model.h"
#include "sim/evaluate.h"
#include "sim/oracle.h"
#include "sim/recipe.h"

namespace py = pybind11;

namespace trisim {
namespace {

NpyArray FromNumpy(const py::array& in, const std::string& what) {
  const py::array a = py::array::ensure(in, py::array::c_style);
  if (!a) throw InputError(what + ": not an array");
  const py::dtype dt = a.dtype();
  const char kind = dt.kind();
  const size_t size = dt.itemsize();
  NpyDType dtype;
  if (kind == 'f' && size == 2) {
    dtype = NpyDType::kFloat16;
  } else if (kind == 'f' && size == 4) {
    dtype = NpyDType::kFloat32;
  } else if (kind == 'f' && size == 8) {
    dtype = NpyDType::kFloat64;
  } else if (kind == 'i' && size == 1) {
    dtype = NpyDType::kInt8;
  } else if (kind == 'u' && size == 1) {
    dtype = NpyDType::kUInt8;
  } else if (kind == 'i' && size == 2) {
    dtype = NpyDType::kInt16;
  } else if (kind == 'u' && size == 2) {
    dtype = NpyDType::kUInt16;
  } else if (kind == 'i' && size == 4) {
    dtype = NpyDType::kInt32;
  } else if (kind == 'i' && size == 8) {
    dtype = NpyDType::kInt64;
  } else {
    throw InputError(what + ": unsupported dtype " +
                     py::str(py::object(dt)).cast<std::string>());
  }
  if (dt.attr("byteorder").cast<std::string>() == ">") {
    throw InputError(what + ": big-endian arrays are not supported");
  }
  std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
  std::vector<uint8_t> bytes(static_cast<size_t>(a.nbytes()));
  std::memcpy(bytes.data(), a.data(), bytes.size());
  return MakeNpy(dtype, std::move(shape), std::move(bytes));
}

py::dtype NumpyDType(NpyDType d) {
  switch (d) {
    case NpyDType::kFloat16:
      return py::dtype("float16");
    case NpyDType::kBFloat16:
    case NpyDType::kUInt16:
      return py::dtype("uint16");
    case NpyDType::kFloat32:
      return py::dtype("float32");
    case NpyDType::kFloat64:
      return py::dtype("float64");
    case NpyDType::kInt8:
      return py::dtype("int8");
    case NpyDType::kUInt8:
      return py::dtype("uint8");
    case NpyDType::kInt16:
      return py::dtype("int16");
    case NpyDType::kInt32:
      return py::dtype("int32");
    case NpyDType::kInt64:
      return py::dtype("int64");
  }
  return py::dtype("float64");
}

// Moves the array's bytes into a numpy array (no copy).
py::array ToNumpy(NpyArray&& array) {
  auto* bytes = new std::vector<uint8_t>(std::move(array.bytes));
  py::capsule owner(
      bytes, [](void* p) { delete static_cast<std::vector<uint8_t>*>(p); });
  return py::array(NumpyDType(array.dtype), array.shape, bytes->data(), owner);
}

py::object JsonToPython(const nlohmann::ordered_json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

MethodOptions Options(std::optional<int> order, std::optional<int> steps,
                      std::optional<int> block, std::optional<int> iters,
                      std::optional<std::string> mask,
                      std::optional<std::string> residual,
                      std::optional<std::string> inner,
                      std::optional<std::string> outer) {
  MethodOptions o;
  if (order) o.order = *order;
  if (steps) o.steps = *steps;
  if (block) o.block = *block;
  if (iters) o.iters = *iters;
  if (mask) o.mask = ParseMask(*mask);
  if (residual) o.residual = ParseResidualForm(*residual);
  if (inner) o.inner = *inner;
  if (outer) o.outer = *outer;
  return o;
}

#define TRISIM_METHOD_ARGS                                        \
  py::arg("order") = py::none(), py::arg("steps") = py::none(),   \
  py::arg("block") = py::none(), py::arg("iters") = py::none(),   \
  py::arg("mask") = py::none(), py::arg("residual") = py::none(), \
  py::arg("inner") = py::none(), py::arg("outer") = py::none()

using OptI = std::optional<int>;
using OptS = std::optional<std::string>;

py::array PyOracle(const py::array& a, const std::string& method,
                   const std::string& kernel, const std::string& precision,
                   uint64_t seed, OptI order, OptI steps, OptI block,
                   OptI iters, OptS mask, OptS residual, OptS inner,
                   OptS outer) {
  const MethodOptions options =
      Options(order, steps, block, iters, mask, residual, inner, outer);
  NpyArray in = FromNumpy(a, "A");
  NpyArray out;
  {
    py::gil_scoped_release release;
    const Recipe recipe = LoadRecipe(precision);
    const OracleInputs inputs =
        MatricesFromNpy(std::move(in), NpyMatrixSpec{}, recipe, "A");
    const OracleRun run = RunOracle(method, options, ParseKernelChoice(kernel),
                                    recipe, inputs.matrices, seed);
    std::vector<int64_t> shape = {run.chunk, run.chunk};
    if (inputs.batched) shape.insert(shape.begin(), run.count);
    out = run.Encode(shape);
  }
  return ToNumpy(std::move(out));
}

py::object PyCompare(const py::array& device, std::optional<py::array> expected,
                     std::optional<py::array> a, const std::string& method,
                     const std::string& kernel, const std::string& precision,
                     const std::string& preset, const std::string& layout,
                     std::optional<std::vector<int64_t>> cu_seqlens, bool upper,
                     OptI chunk, uint64_t seed, OptS device_stages,
                     int stage_sample, OptI order, OptI steps, OptI block,
                     OptI iters, OptS mask, OptS residual, OptS inner,
                     OptS outer) {
  CompareRequest q;
  q.method = method;
  q.options = Options(order, steps, block, iters, mask, residual, inner, outer);
  q.kernel = ParseKernelChoice(kernel);
  q.precision = precision;
  q.seed = seed;
  q.preset = preset;
  q.layout.kind = ParseLayoutKind(layout);
  q.layout.upper = upper;
  if (chunk) q.layout.chunk = *chunk;
  if (cu_seqlens) q.layout.cu_seqlens = *cu_seqlens;
  q.device = FromNumpy(device, "device");
  q.device_name = "device";
  if (expected) {
    q.expected = FromNumpy(*expected, "expected");
    q.expected_name = "expected";
  }
  if (a) {
    q.inputs = FromNumpy(*a, "A");
    q.inputs_name = "A";
  }
  if (device_stages) q.device_stages = *device_stages;
  q.stage_sample = stage_sample;
  nlohmann::ordered_json j;
  {
    py::gil_scoped_release release;
    const CompareOutcome r = RunCompareRequest(q);
    j = CompareJson(r.report, r.presets, r.stages.get(), r.labels);
  }
  return JsonToPython(j);
}

py::object PyError(const std::string& method, const std::string& precision,
                   int chunk, const std::string& input, int64_t samples,
                   uint64_t seed, int threads, OptI order, OptI steps,
                   OptI block, OptI iters, OptS mask, OptS residual, OptS inner,
                   OptS outer) {
  EvaluationConfig c;
  c.method = method;
  c.options = Options(order, steps, block, iters, mask, residual, inner, outer);
  c.precision = precision;
  c.chunk = chunk;
  c.input = input;
  c.samples = samples;
  c.seed = seed;
  c.threads = threads;
  nlohmann::ordered_json j;
  {
    py::gil_scoped_release release;
    const EvaluationReport r = Evaluate(c);
    auto dist = [](const Distribution& d) {
      auto num = [](double x) {
        return std::isfinite(x) ? nlohmann::ordered_json(x)
                                : nlohmann::ordered_json();
      };
      return nlohmann::ordered_json{{"p50", num(d.Percentile(0.5))},
                                    {"p90", num(d.Percentile(0.9))},
                                    {"p99", num(d.Percentile(0.99))},
                                    {"max", num(d.Max())}};
    };
    auto stats = [&](const ErrorStats& s) {
      return nlohmann::ordered_json{{"frob_rel", dist(s.frob_rel())},
                                    {"max_abs", dist(s.max_abs())},
                                    {"max_rel", dist(s.max_rel())},
                                    {"nonfinite", s.nonfinite()}};
    };
    j["method"] = r.plan.method;
    j["method_options"] = r.plan.options;
    j["precision"] = r.recipe.name;
    j["chunk"] = r.chunk;
    j["input"] = r.input;
    j["samples"] = r.samples;
    j["T"] = stats(r.t);
    j["T"]["backward"] = dist(r.t.backward());
    if (r.has_gdn) {
      j["W"] = stats(r.w);
      j["U"] = stats(r.u);
      j["O"] = stats(r.o);
      j["S"] = stats(r.state);
    }
  }
  return JsonToPython(j);
}

py::dict PyCost(const std::string& method, const std::string& precision,
                int chunk, long long batch, long long heads, long long seq,
                const std::string& profile, OptI order, OptI steps, OptI block,
                OptI iters, OptS mask, OptS residual, OptS inner, OptS outer) {
  const MethodOptions options =
      Options(order, steps, block, iters, mask, residual, inner, outer);
  CostReport r;
  {
    py::gil_scoped_release release;
    const Plan plan = BuildPlan(method, options, chunk);
    Workload w;
    w.batch = batch;
    w.heads = heads;
    w.seq = seq;
    r = EstimateCost(plan, PipelinePrecisionFor(precision), w,
                     LoadProfile(profile));
  }
  py::dict d;
  d["profile"] = r.profile;
  d["total_cycles"] = r.total_cycles;
  d["time_us"] = r.time_us;
  d["chunk_cycles"] = r.chunk_cycles;
  d["chunks"] = r.chunks;
  d["bottleneck"] = PipeName(r.bottleneck);
  return d;
}

py::tuple PyQuantize(const py::array& x, const std::string& format,
                     const std::string& rounding, const std::string& scale,
                     uint64_t seed) {
  quant::QuantizeOptions q;
  q.format = quant::ParseFormat(format);
  q.rounding = quant::ParseRoundingMode(rounding);
  q.scale.grid = quant::ParseScaleGrid(scale);
  q.seed = seed;
  NpyArray in = FromNumpy(x, "x");
  NpyArray codes, scales;
  {
    py::gil_scoped_release release;
    int64_t rows, cols;
    quant::MatrixView(in.shape, &rows, &cols);
    const quant::QuantizedTensor t =
        quant::Quantize(ToDoubles(in), rows, cols, q);
    codes = quant::EncodeNpy(q.format, in.shape, t.ints, t.codes);
    std::vector<uint8_t> s(t.scales.size() * 4);
    for (size_t g = 0; g < t.scales.size(); ++g) {
      std::memcpy(&s[g * 4], &t.scales[g].scale, 4);
    }
    scales = MakeNpy(NpyDType::kFloat32,
                     {t.layout.grid_rows, t.layout.grid_cols}, std::move(s));
  }
  return py::make_tuple(ToNumpy(std::move(codes)), ToNumpy(std::move(scales)));
}

py::array PyDequantize(const py::array& q, const py::array& scales,
                       const std::string& scale, const std::string& to,
                       int scale_mantissa_bits) {
  NpyArray in = FromNumpy(q, "q");
  NpyArray s = FromNumpy(scales, "scales");
  if (s.dtype != NpyDType::kFloat32) {
    throw InputError("scales: expected float32, got " + NpyDTypeName(s.dtype));
  }
  NpyArray out;
  {
    py::gil_scoped_release release;
    int64_t rows, cols;
    quant::MatrixView(in.shape, &rows, &cols);
    const quant::GroupLayout layout =
        quant::MakeGroupLayout(quant::ParseScaleGrid(scale), rows, cols);
    if (s.NumElements() != layout.NumGroups()) {
      throw InputError("scales: " + std::to_string(s.NumElements()) +
                       " values, the grid '" + scale + "' has " +
                       std::to_string(layout.NumGroups()) + " groups");
    }
    std::vector<float> sv(static_cast<size_t>(s.NumElements()));
    std::memcpy(sv.data(), s.bytes.data(), sv.size() * 4);
    quant::DequantizeOptions d;
    d.out = quant::ParseFormat(to, "to");
    d.scale_mantissa_bits = scale_mantissa_bits;
    quant::EventCounts events;
    const std::vector<uint32_t> codes =
        quant::Dequantize(ToDoubles(in), layout, sv, {}, d, &events);
    out = quant::EncodeNpy(d.out, in.shape, {}, codes);
  }
  return ToNumpy(std::move(out));
}

}  // namespace
}  // namespace trisim

PYBIND11_MODULE(_trisim, m) {
  using namespace trisim;
  m.doc() =
      "trisim: bit-accurate simulator of low-precision triangular inversion "
      "(oracle, compare, error, cost, quantize/dequantize). Keyword names "
      "follow the CLI's flags; see README 'Python'.";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {  // DataError derives from it
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.def("oracle", &PyOracle, py::arg("A"), py::arg("method") = "mxr",
        py::arg("kernel") = "plan", py::arg("precision") = "fp16",
        py::arg("seed") = 0, TRISIM_METHOD_ARGS,
        "Bit-exact device output X = (I + A)^-1 of A ([C, C] or [n, C, C], "
        "strictly lower) in the recipe's output dtype (bf16 as uint16 bits).");
  m.def("compare", &PyCompare, py::arg("device"),
        py::arg("expected") = py::none(), py::arg("A") = py::none(),
        py::arg("method") = "mxr", py::arg("kernel") = "plan",
        py::arg("precision") = "fp16", py::arg("preset") = "exact",
        py::arg("layout") = "ncc", py::arg("cu_seqlens") = py::none(),
        py::arg("upper") = false, py::arg("chunk") = py::none(),
        py::arg("seed") = 0, py::arg("device_stages") = py::none(),
        py::arg("stage_sample") = 0, TRISIM_METHOD_ARGS,
        "Compare a device output against the oracle (from A or expected) and "
        "the fp64 reference; returns the report dict of `trisim compare "
        "--json` (report['pass'] for the preset).");
  m.def("error", &PyError, py::arg("method") = "mxr",
        py::arg("precision") = "fp16", py::arg("chunk") = 64,
        py::arg("input") = "gdn", py::arg("samples") = 100, py::arg("seed") = 0,
        py::arg("threads") = 0, TRISIM_METHOD_ARGS,
        "Error estimate as `trisim error --json` (T; W, U, O, S for gdn).");
  m.def("cost", &PyCost, py::arg("method") = "mxr",
        py::arg("precision") = "fp16", py::arg("chunk") = 64,
        py::arg("batch") = 32, py::arg("heads") = 4, py::arg("seq") = 4096,
        py::arg("profile") = "ascend-910b", TRISIM_METHOD_ARGS,
        "Predicted cycles on the NPU cost model.");
  m.def("quantize", &PyQuantize, py::arg("x"), py::arg("format") = "int8",
        py::arg("rounding") = "nearest-even", py::arg("scale") = "tensor",
        py::arg("seed") = 0,
        "Quantise x (viewed as a matrix): returns (codes, fp32 scales).");
  m.def("dequantize", &PyDequantize, py::arg("q"), py::arg("scales"),
        py::arg("scale") = "tensor", py::arg("to") = "fp32",
        py::arg("scale_mantissa_bits") = 23,
        "y = Round(q * s) into `to` (bf16 as uint16 bits).");
}
