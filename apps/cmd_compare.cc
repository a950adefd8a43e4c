// trisim compare: a device kernel's output against the oracle (bit for bit,
// ULPs) and against the fp64 reference, with pass/fail presets as kernel
// projects set them (sim/compare.h); optionally the first diverging stage.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "apps/cli_options.h"
#include "apps/commands.h"
#include "apps/method_options.h"
#include "core/gdn.h"
#include "core/npy.h"
#include "core/output_files.h"
#include "core/status.h"
#include "sim/compare.h"
#include "sim/oracle.h"
#include "sim/recipe.h"

namespace trisim::app {
namespace {

struct CompareOptions {
  MethodFlags method;
  std::string precision = "fp16";
  std::string device, expected, in, device_stages, junit;
  std::string device_outputs, expected_outputs;
  std::string preset = "exact";
  std::string layout = "ncc", cu_seqlens, dtype, shape;
  bool upper = false, json = false, csv = false, force = false;
  int chunk = 64, stage_sample = 0;
  CLI::Option* chunk_opt = nullptr;
  uint64_t seed = 0;
};

std::vector<int64_t> ParseIntList(const std::string& text,
                                  const std::string& flag) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      out.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw InputError(flag + " " + text +
                       ": expected comma-separated integers");
    }
  }
  if (out.empty()) throw InputError(flag + ": empty list");
  return out;
}

std::vector<int64_t> LoadCuSeqlens(const std::string& spec) {
  if (spec.size() > 4 && spec.compare(spec.size() - 4, 4, ".npy") == 0) {
    const NpyArray a = ReadNpy(spec);
    if (a.shape.size() != 1 ||
        (a.dtype != NpyDType::kInt32 && a.dtype != NpyDType::kInt64)) {
      throw DataError("--cu-seqlens " + spec +
                      ": expected a 1-d int32 or int64 array");
    }
    std::vector<int64_t> out;
    for (double v : ToDoubles(a)) out.push_back(static_cast<int64_t>(v));
    return out;
  }
  return ParseIntList(spec, "--cu-seqlens");
}

std::string Fmt(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string UlpText(int64_t ulp) {
  return ulp == std::numeric_limits<int64_t>::max() ? "NaN"
                                                    : std::to_string(ulp);
}

std::string Where(const ElementReport& e,
                  const std::vector<std::string>& labels) {
  std::string s = "matrix " + std::to_string(e.matrix);
  if (e.matrix >= 0 && e.matrix < static_cast<int64_t>(labels.size())) {
    s += " (" + labels[e.matrix] + ")";
  }
  return s + " [" + std::to_string(e.row) + ", " + std::to_string(e.col) + "]";
}

void PrintTable(const CompareOptions& o, const CompareReport& r,
                const std::vector<PresetResult>& presets,
                const StageDivergence* stages,
                const std::vector<std::string>& labels) {
  const OracleComparison& x = r.oracle;
  std::printf("trisim compare: %s vs %s, %lld matrices of %lld x %lld (%s)\n",
              o.device.c_str(),
              o.expected.empty() ? "the oracle" : o.expected.c_str(),
              static_cast<long long>(r.count), static_cast<long long>(r.chunk),
              static_cast<long long>(r.chunk), r.format.c_str());
  std::printf("against the oracle\n");
  std::printf("  bit-identical      %lld / %lld (%.4f%%)\n",
              static_cast<long long>(x.identical),
              static_cast<long long>(x.elements), 100 * x.identical_rate());
  std::printf("  NaN in device      %lld (non-finite %lld)\n",
              static_cast<long long>(x.nan),
              static_cast<long long>(x.nonfinite));
  std::printf("  max ULP            %lld (mean %s)\n",
              static_cast<long long>(x.max_ulp), Fmt(x.mean_ulp).c_str());
  std::printf("  ULP histogram     ");
  for (int b = 0; b < kUlpBins; ++b) {
    if (x.histogram[b]) {
      std::printf(" %s: %lld", UlpBinLabel(b).c_str(),
                  static_cast<long long>(x.histogram[b]));
    }
  }
  std::printf("\n");
  if (x.worst.matrix >= 0 && x.worst.ulp > 0) {
    std::printf("  worst element      %s device %.9g expected %.9g ulp %s\n",
                Where(x.worst, labels).c_str(), x.worst.device,
                x.worst.expected, UlpText(x.worst.ulp).c_str());
  }
  if (x.worst_block.matrix >= 0) {
    const BlockReport& b = x.worst_block;
    std::printf(
        "  worst 16x16 block  matrix %lld block (%lld, %lld): max ulp %s, "
        "%lld of %lld differ; worst %s device %.9g expected %.9g\n",
        static_cast<long long>(b.matrix), static_cast<long long>(b.block_row),
        static_cast<long long>(b.block_col), UlpText(b.max_ulp).c_str(),
        static_cast<long long>(b.differing), static_cast<long long>(b.elements),
        Where(b.worst, labels).c_str(), b.worst.device, b.worst.expected);
  }
  const ReferenceComparison& f = r.reference;
  if (f.present) {
    std::printf("against fp64\n");
    std::printf("  frob_rel %s (worst matrix %s)  fla_ratio %s  cosine %s\n",
                Fmt(f.frob_rel).c_str(), Fmt(f.frob_rel_max).c_str(),
                Fmt(f.fla_ratio).c_str(), Fmt(f.cosine).c_str());
    std::printf(
        "  max_abs %s  max_rel %s (|ref| >= %s)  max_abs on %lld small "
        "values %s\n",
        Fmt(f.max_abs).c_str(), Fmt(f.max_rel).c_str(),
        Fmt(f.small_threshold).c_str(), static_cast<long long>(f.small_count),
        Fmt(f.max_abs_small).c_str());
    std::printf("  device error / oracle error %s (oracle frob_rel %s)\n",
                Fmt(f.error_ratio).c_str(), Fmt(f.oracle_frob_rel).c_str());
  } else {
    std::printf("against fp64: no reference (give --in)\n");
  }
  if (stages) {
    if (stages->step >= 0) {
      std::printf(
          "stages: first divergence at step %d '%s' (%s, %s): %lld "
          "elements differ, max ulp %s, first at [%lld, %lld] device %.9g "
          "expected %.9g\n",
          stages->step, stages->name.c_str(), stages->op.c_str(),
          stages->file.c_str(), static_cast<long long>(stages->differing),
          UlpText(stages->max_ulp).c_str(),
          static_cast<long long>(stages->first.row),
          static_cast<long long>(stages->first.col), stages->first.device,
          stages->first.expected);
    } else {
      std::printf("stages: all %d compared steps match (plan has %d)\n",
                  stages->steps_compared, stages->steps_total);
    }
  }
  for (const PresetResult& p : presets) {
    std::printf("preset %s: %s%s%s\n", p.preset.c_str(),
                p.pass ? "PASS" : "FAIL", p.note.empty() ? "" : "; ",
                p.note.c_str());
    for (const Check& c : p.checks) {
      std::printf("  %s %s %s %s: %s  [%s]\n", c.name.c_str(),
                  Fmt(c.value).c_str(), c.op.c_str(), Fmt(c.limit).c_str(),
                  c.pass ? "ok" : "FAIL", c.source.c_str());
    }
  }
}

void PrintCsv(const CompareReport& r, const std::vector<std::string>& labels) {
  std::printf("matrix,where,elements,identical,nan,max_ulp,frob_rel\n");
  for (size_t n = 0; n < r.oracle.matrices.size(); ++n) {
    const MatrixReport& m = r.oracle.matrices[n];
    std::printf("%zu,%s,%lld,%lld,%lld,%s,%s\n", n,
                n < labels.size() ? labels[n].c_str() : "",
                static_cast<long long>(m.elements),
                static_cast<long long>(m.identical),
                static_cast<long long>(m.nan), UlpText(m.max_ulp).c_str(),
                std::isnan(m.frob_rel) ? "" : Fmt(m.frob_rel).c_str());
  }
}

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A JUnit XML test suite (the Ant/Jenkins schema CI systems read):
// testsuite > testcase > failure, names and messages XML-escaped.
class JUnitSuite {
 public:
  // One test case; a failed one carries `message` (which may be empty).
  void Case(const std::string& classname, const std::string& name, bool failed,
            const std::string& message) {
    ++tests_;
    cases_ << "  <testcase classname=\"" << XmlEscape(classname) << "\" name=\""
           << XmlEscape(name) << "\">";
    if (failed) {
      ++failures_;
      cases_ << "<failure message=\"" << XmlEscape(message) << "\"/>";
    }
    cases_ << "</testcase>\n";
  }
  std::string Xml(const std::string& suite) const {
    std::ostringstream xml;
    xml << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<testsuite name=\"" << suite << "\" tests=\"" << tests_
        << "\" failures=\"" << failures_ << "\">\n"
        << cases_.str() << "</testsuite>\n";
    return xml.str();
  }

 private:
  std::ostringstream cases_;
  int tests_ = 0, failures_ = 0;
};

// A failed preset check as a line: "NAME VALUE OP LIMIT failed".
std::string CheckFailure(const Check& c) {
  return c.name + " " + Fmt(c.value) + " " + c.op + " " + Fmt(c.limit) +
         " failed";
}

// JUnit XML: one test case per matrix and one per preset check.
std::string JUnit(const CompareReport& r,
                  const std::vector<PresetResult>& presets,
                  const std::vector<std::string>& labels) {
  const std::string& preset = presets.front().preset;
  double frob_limit = -1;
  for (const Check& c : presets.front().checks) {
    if (c.name == "fla_ratio" || c.name == "frob_rel") frob_limit = c.limit;
  }
  JUnitSuite suite;
  for (size_t n = 0; n < r.oracle.matrices.size(); ++n) {
    const MatrixReport& m = r.oracle.matrices[n];
    std::string name = "matrix " + std::to_string(n);
    if (n < labels.size()) name += " (" + labels[n] + ")";
    std::string failure;
    if (preset == "exact" && m.identical != m.elements) {
      failure = std::to_string(m.elements - m.identical) + " of " +
                std::to_string(m.elements) +
                " elements differ from the oracle, max ulp " +
                UlpText(m.max_ulp);
    } else if (frob_limit >= 0 && !(m.frob_rel <= frob_limit)) {
      failure = "frob_rel " + Fmt(m.frob_rel) + " above " + Fmt(frob_limit);
    }
    suite.Case("trisim.compare", name, !failure.empty(), failure);
  }
  for (const PresetResult& p : presets) {
    for (const Check& c : p.checks) {
      suite.Case("trisim.compare." + p.preset, c.name, !c.pass,
                 CheckFailure(c) + " (" + c.source + ")");
    }
  }
  return suite.Xml("trisim compare");
}

// `file` is the temporary core/output_files.h Outputs gave for --junit
// `path`; Commit() publishes it.
void WriteJUnit(const std::string& file, const std::string& path,
                const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw InputError("--junit " + path + ": cannot write");
}

// --device-outputs / --expected-outputs: layer outputs as file sets.
int RunOutputSets(const CompareOptions& o) {
  if (o.expected_outputs.empty() || o.device_outputs.empty()) {
    throw InputError("--device-outputs and --expected-outputs go together");
  }
  if (!o.device.empty() || !o.in.empty() || !o.expected.empty()) {
    throw InputError(
        "--device-outputs compares file sets; --device, --in "
        "and --expected do not apply");
  }
  // The --junit path is checked before any work (core/output_files.h).
  Outputs outputs(o.force);
  const std::string junit_file =
      o.junit.empty() ? "" : outputs.File("--junit", o.junit);
  const std::vector<NamedComparison> sets =
      CompareOutputSets(o.device_outputs, o.expected_outputs, o.preset);
  bool pass = true;
  for (const NamedComparison& c : sets) pass = pass && c.preset.pass;
  if (!o.junit.empty()) {
    JUnitSuite suite;
    for (const NamedComparison& c : sets) {
      std::string why;
      for (const Check& k : c.preset.checks) {
        if (!k.pass) why += CheckFailure(k) + "; ";
      }
      suite.Case("trisim.compare.outputs", c.name, !c.preset.pass, why);
    }
    WriteJUnit(junit_file, o.junit, suite.Xml("trisim compare outputs"));
    outputs.Commit();
  }
  if (o.json) {
    nlohmann::ordered_json j;
    auto& list = j["outputs"] = nlohmann::ordered_json::array();
    for (const NamedComparison& c : sets) {
      nlohmann::ordered_json e = CompareJson(c.report, {c.preset}, nullptr, {});
      e["name"] = c.name;
      list.push_back(e);
    }
    j["pass"] = pass;
    std::printf("%s\n", j.dump(1).c_str());
  } else {
    if (o.csv) {
      std::printf("output,format,elements,identical,max_ulp,frob_rel,pass\n");
    }
    for (const NamedComparison& c : sets) {
      const OracleComparison& x = c.report.oracle;
      if (o.csv) {
        std::printf("%s,%s,%lld,%lld,%s,%s,%d\n", c.name.c_str(),
                    c.format.c_str(), static_cast<long long>(x.elements),
                    static_cast<long long>(x.identical),
                    UlpText(x.max_ulp).c_str(),
                    c.report.reference.present
                        ? Fmt(c.report.reference.frob_rel).c_str()
                        : "",
                    c.preset.pass ? 1 : 0);
      } else {
        std::printf("%-8s %-5s %lld / %lld bit-identical, max ulp %s%s%s: %s\n",
                    c.name.c_str(), c.format.c_str(),
                    static_cast<long long>(x.identical),
                    static_cast<long long>(x.elements),
                    UlpText(x.max_ulp).c_str(),
                    c.report.reference.present ? ", frob_rel " : "",
                    c.report.reference.present
                        ? Fmt(c.report.reference.frob_rel).c_str()
                        : "",
                    c.preset.pass ? "PASS" : "FAIL");
      }
    }
  }
  return pass ? 0 : 3;
}

int RunCompare(const CompareOptions& o) {
  if (o.json && o.csv) throw InputError("--json and --csv: choose one");
  if (!o.device_outputs.empty() || !o.expected_outputs.empty()) {
    return RunOutputSets(o);
  }
  if (o.device.empty()) {
    throw InputError(
        "compare: --device FILE is required (or "
        "--device-outputs DIR with --expected-outputs DIR)");
  }
  // The --junit path is checked before any work (core/output_files.h).
  Outputs outputs(o.force);
  const std::string junit_file =
      o.junit.empty() ? "" : outputs.File("--junit", o.junit);
  CompareRequest q;
  q.method = o.method.method;
  q.options = o.method.ToOptions();
  q.kernel = o.method.ToKernel();
  q.precision = o.precision;
  q.seed = o.seed;
  q.preset = o.preset;
  q.layout.kind = ParseLayoutKind(o.layout);
  q.layout.upper = o.upper;
  if (o.chunk_opt->count()) q.layout.chunk = o.chunk;
  q.gdn_chunk = o.chunk;
  if (!o.cu_seqlens.empty()) {
    if (q.layout.kind != ChunkLayout::Kind::kTHC) {
      throw InputError("--cu-seqlens goes with --layout thc");
    }
    q.layout.cu_seqlens = LoadCuSeqlens(o.cu_seqlens);
  }
  const std::vector<int64_t> bin_shape = o.shape.empty()
                                             ? std::vector<int64_t>()
                                             : ParseIntList(o.shape, "--shape");
  if (!o.in.empty()) {
    if (o.in.rfind("npy:", 0) == 0) {
      q.inputs = ReadNpy(o.in.substr(4));
      q.inputs_name = "--in " + o.in;
    } else if (o.in.rfind("npy-gdn:", 0) == 0) {
      q.gdn_spec = o.in;
    } else {
      throw InputError(
          "--in: captured inputs, npy:PATH (A) or npy-gdn:DIR, "
          "got '" +
          o.in + "'");
    }
  }
  q.device_name = "--device " + o.device;
  q.device = ReadTensorFile(o.device, o.dtype, bin_shape, "--device");
  if (!o.expected.empty()) {
    q.expected_name = "--expected " + o.expected;
    q.expected = ReadTensorFile(o.expected, o.dtype, bin_shape, "--expected");
  }
  q.device_stages = o.device_stages;
  q.stage_sample = o.stage_sample;
  const CompareOutcome r = RunCompareRequest(q);
  if (!r.note.empty())
    std::fprintf(stderr, "trisim: note: %s\n", r.note.c_str());

  // Everything is computed; now the outputs.
  if (!o.junit.empty()) {
    WriteJUnit(junit_file, o.junit, JUnit(r.report, r.presets, r.labels));
    outputs.Commit();
  }
  if (o.json) {
    std::printf("%s\n",
                CompareJson(r.report, r.presets, r.stages.get(), r.labels)
                    .dump(1)
                    .c_str());
  } else if (o.csv) {
    PrintCsv(r.report, r.labels);
  } else {
    PrintTable(o, r.report, r.presets, r.stages.get(), r.labels);
  }
  return r.pass ? 0 : 3;
}

}  // namespace

Command SetupCompareCommand(CLI::App& root) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* app = root.add_subcommand(
      "compare",
      "A device output against the oracle (bit-identical rate, ULPs, worst "
      "element and 16x16 block) and the fp64 reference (Frobenius, FLA "
      "ratio, cosine, max abs/rel), with pass/fail presets; exit 0 pass, 3 "
      "fail, 1 bad data, 2 usage");
  AddMethodFlags(*app, o->method);
  AddKernelFlag(*app, o->method);
  app->add_option("--device", o->device,
                  "Device output: .npy, or raw .bin with --dtype and --shape");
  app->add_option("--device-outputs", o->device_outputs,
                  "Layer outputs (A, W, U, O, final state) of the device: a "
                  "directory of .npy, named by manifest.json or NAME.npy");
  app->add_option("--expected-outputs", o->expected_outputs,
                  "The oracle's layer outputs: a directory with "
                  "manifest.json {\"outputs\": [{name, file, format, "
                  "reference}]}; every named output is compared");
  app->add_option("--expected", o->expected,
                  "An oracle output file (instead of, or beside, --in)");
  app->add_option("--in", o->in,
                  "Inputs, as trisim oracle takes them: npy:PATH (A) or "
                  "npy-gdn:DIR; with --layout bthc/thc, A in that layout");
  app->add_option("--precision", o->precision,
                  "Precision recipe: a built-in name or PATH.toml")
      ->capture_default_str();
  app->add_option("--preset", o->preset,
                  "Pass/fail thresholds: exact | fla (solve_tril 1e-4) | "
                  "fla-output (5e-3) | msprobe | pto-kernels")
      ->capture_default_str();
  app->add_option("--layout", o->layout,
                  "Tensor layout of A, device and expected: ncc ([n, C, C]), "
                  "bthc ([B, T, H, C]), thc ([T, H, C], with --cu-seqlens); "
                  "partial last chunks compare their valid block")
      ->capture_default_str();
  app->add_option("--cu-seqlens", o->cu_seqlens,
                  "Sequence boundaries for --layout thc: 0,63,286,... or an "
                  "int32/int64 .npy");
  app->add_flag("--upper", o->upper,
                "Matrices are stored upper triangular (transposed)");
  app->add_option("--dtype", o->dtype,
                  "Raw .bin element type: float16, bfloat16, float32, "
                  "float64, uint16 or int16 (bf16 bits)");
  app->add_option("--shape", o->shape, "Raw .bin shape, e.g. 2,128,4,64");
  o->chunk_opt = app->add_option("--chunk", o->chunk,
                                 "Chunk size for npy-gdn inputs; else checked "
                                 "against the files")
                     ->capture_default_str();
  app->add_option("--seed", o->seed, "Seed of stochastic rounding")
      ->capture_default_str();
  app->add_option("--device-stages", o->device_stages,
                  "The device's intermediate tensors (manifest.json as "
                  "trisim's --dump-stages): report the first diverging step");
  app->add_option("--stage-sample", o->stage_sample,
                  "Which matrix the device stages belong to")
      ->capture_default_str();
  app->add_flag("--json", o->json, "Print the report as JSON");
  app->add_flag("--csv", o->csv, "Print one CSV row per matrix");
  app->add_option("--junit", o->junit,
                  "Write JUnit XML: one test case per matrix and per check");
  AddForceFlag(*app, &o->force);
  return {app, [o] { return RunCompare(*o); }};
}

}  // namespace trisim::app
