// `trisim compare`'s metrics: a device output against the oracle (bit for
// bit, in ULPs of the storage format) and against the fp64 reference, and
// pass/fail presets as the kernel projects set them. Library functions,
// independent of the CLI (apps/cmd_compare.cc) and the Python module.
//
// Tensors are [count, C, C] matrices (row-major, matrix after matrix, lower
// triangular as trisim computes them); `valid[n]` <= C says how many leading
// rows/columns of matrix n are real (a partial last chunk of a sequence:
// for lower-triangular T, the top-left r x r block of the padded inverse is
// the inverse of the r x r chunk, so only that block is compared).
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/kernels.h"
#include "core/npy.h"
#include "core/status.h"  // DataError: an input file's content (exit 1)
#include "quant/format.h"
#include "sim/oracle.h"

namespace trisim {

// The number format device and expected values are stored in: a float
// format of quant/format.h, or fp64 (nullopt) for the exact recipe.
using StorageFormat = std::optional<quant::Format>;
std::string StorageFormatName(const StorageFormat& format);
// The .npy dtype the oracle writes for that format (bf16: uint16 bits).
NpyDType StorageDType(const StorageFormat& format);

// Position of `value` (exactly representable in `format`) on the format's
// ordered grid: +-(magnitude index), +0 and -0 both 0, inf one past the max
// finite. |a - b| of two positions is their distance in ULPs (units in the
// last place, Goldberg 1991 / Muller "Handbook of FP arithmetic" 2.6.1:
// the count of representable values between them). NaN: not allowed.
int64_t UlpPosition(double value, const StorageFormat& format);
// The spacing of the format's grid at |value| (the ulp of value), for ULPs
// against a real (fp64) reference, as msprobe's get_ulp_err.
double UlpOf(double value, const StorageFormat& format);

// ULP histogram bins: 0, 1, 2, 3-4, 5-8, ..., (2^(k-2), 2^(k-1)] ... .
constexpr int kUlpBins = 64;
int UlpBin(int64_t ulp);
std::string UlpBinLabel(int bin);  // "0", "1", "2", "3-4", "5-8", ...

struct ElementReport {
  int64_t matrix = -1, row = -1, col = -1;  // -1: none
  double device = 0, expected = 0;
  int64_t ulp = 0;
  double reference = 0;  // fp64 reference value (NaN when absent)
};

struct BlockReport {
  int64_t matrix = -1, block_row = -1, block_col = -1;  // in blocks
  int64_t max_ulp = 0, differing = 0, elements = 0;
  ElementReport worst;
};

struct MatrixReport {  // per matrix (JUnit test cases, CSV rows)
  int64_t elements = 0, identical = 0, nan = 0, max_ulp = 0;
  double frob_rel = NAN;  // vs fp64 (NaN without a reference)
};

// Against the oracle (bit-exact expected output).
struct OracleComparison {
  int64_t elements = 0;   // compared elements (valid region)
  int64_t identical = 0;  // same bits (+0 and -0 differ)
  int64_t nan = 0;        // NaN in the device output (counted, no ULP)
  int64_t nonfinite = 0;  // NaN or inf in the device output
  std::vector<int64_t> histogram = std::vector<int64_t>(kUlpBins, 0);
  int64_t max_ulp = 0;      // over non-NaN elements
  double mean_ulp = 0;      // over non-NaN elements
  ElementReport worst;      // largest ULP (NaN first), first in order on ties
  BlockReport worst_block;  // 16 x 16 block with the largest max ULP, then
                            // the most differing elements
  std::vector<BlockReport> blocks;  // every block with a difference
  std::vector<MatrixReport> matrices;
  double identical_rate() const {
    return elements ? static_cast<double>(identical) / elements : 1.0;
  }
};

// Against the fp64 reference (absent when no inputs were given).
struct ReferenceComparison {
  bool present = false;
  double frob_rel = 0;         // ||d - r||_F / ||r||_F over the whole tensor
                               // (pto-kernels' frob_error)
  double frob_rel_max = 0;     // worst single matrix
  double fla_ratio = 0;        // RMSE(r - d) / (RMS(r) + 1e-15), FLA
                               // get_err_ratio (fla/ops/utils/testing.py)
  double cosine = 0;           // <d, r> / (|d| |r|)
  double max_abs = 0;          // max |d - r| over all elements
  double small_threshold = 0;  // |r| below it is a small value (msprobe)
  int64_t small_count = 0;
  double max_abs_small = 0;         // max |d - r| over small values
  double max_rel = 0;               // max |d - r| / |r| over the other values
  double frac_rel_below_1e3 = 1;    // share of normal values with rel < 1e-3
  double frac_rel_below_1e2 = 1;    // ... < 1e-2 (msprobe's double thousandth)
  int64_t allclose_violations = 0;  // |d - r| > 5e-5 + 0.1 |r| (pto-kernels)
  double ulp_mean = 0;              // ULPs of d from r in the storage format
  double ulp_over_1 = 0;            // share with > 1 ulp (msprobe fp16/bf16)
  double ulp_over_32 = 0;           // share with > 32 ulp (msprobe fp32)
  double oracle_frob_rel = 0;       // the oracle's own error, same measure
  double error_ratio = 0;           // frob_rel / oracle_frob_rel (device worse
                                    // than its recipe when > 1); 1 when both 0
  int64_t nonfinite = 0;            // non-finite device entries (excluded above
                                    // except frob_rel etc., which become inf)
};

struct CompareReport {
  std::string format;  // storage format name
  int64_t count = 0, chunk = 0;
  OracleComparison oracle;
  ReferenceComparison reference;
};

struct CompareData {
  StorageFormat format;
  int64_t count = 0, chunk = 0;   // [count, chunk, chunk]
  int64_t rows = 0, cols = 0;     // or [count, rows, cols] (layer outputs;
                                  // 0: chunk), with `valid` empty
  std::vector<int> valid;         // per matrix, empty: all chunk
  std::vector<double> device;     // values in `format` (NaN allowed)
  std::vector<double> expected;   // the oracle's output, finite or not
  std::vector<double> reference;  // fp64 reference, empty when absent
  int block = 16;                 // worst-block size (the cube's fractal)
};

// Throws DataError when sizes disagree. NaN in `device` is counted.
CompareReport Compare(const CompareData& data);

// Pass/fail thresholds as each project sets them.
struct Check {
  std::string name;  // "bit_identical_rate", "fla_ratio", ...
  double value = 0;  // measured
  std::string op;    // "<", "<=", ">", ">=", "=="
  double limit = 0;
  bool pass = false;
  std::string source;  // where the threshold comes from
};
struct PresetResult {
  std::string preset;
  std::vector<Check> checks;
  bool pass = true;
  std::string note;  // e.g. msprobe's "warning" band
};
// Presets: exact, fla, fla-output, msprobe, pto-kernels (see compare.cc for
// each threshold's source). Throws InputError for an unknown preset or one
// that needs the fp64 reference when it is absent.
PresetResult EvaluatePreset(const std::string& preset,
                            const CompareReport& report,
                            const StorageFormat& format);
std::string PresetNames();

// --- Layouts kernels use, to [n, C, C] chunk matrices -----------------
struct ChunkLayout {
  enum class Kind { kNCC, kBTHC, kTHC } kind = Kind::kNCC;
  int chunk = 0;                    // C (kNCC: from the shape)
  std::vector<int64_t> cu_seqlens;  // kTHC: sequence boundaries, 0 .. T
  bool upper = false;               // stored upper triangular (transposed)
};
ChunkLayout::Kind ParseLayoutKind(const std::string& name);  // ncc|bthc|thc

struct Chunked {
  int64_t count = 0, chunk = 0;
  std::vector<double> values;       // [count, chunk, chunk], zero padded
  std::vector<int> valid;           // rows of each chunk that are real
  std::vector<std::string> labels;  // "b=0 h=1 t=64" / "seq=2 h=0 t=300"
};
// Cuts a tensor of the stated layout into chunk matrices (transposing an
// upper-triangular layout to lower). Throws DataError (naming `what`) when
// the shape does not match the layout.
Chunked ToChunks(const std::vector<double>& values,
                 const std::vector<int64_t>& shape, const ChunkLayout& layout,
                 const std::string& what);

// Reads a tensor file: .npy, or raw little-endian .bin with `bin_dtype`
// ("float16", "bfloat16", "float32", "float64", "uint16", "int16") and
// `bin_shape`. Throws InputError for a file that is neither (or a .bin
// without dtype/shape), DataError for a .bin whose size the shape does not
// fill.
NpyArray ReadTensorFile(const std::string& path, const std::string& bin_dtype,
                        const std::vector<int64_t>& bin_shape,
                        const std::string& what);

// A device/expected tensor's values, its dtype checked against the storage
// format; uint16/int16 data are bf16 bit patterns (torch .view(torch.int16))
// when `format` is bf16. Throws DataError on a mismatch.
std::vector<double> StoredValues(NpyArray array, const StorageFormat& format,
                                 const std::string& what);

// --- Stage dumps: the first step where the device diverges --------------
struct StageDivergence {
  int steps_total = 0;     // steps of the oracle's plan
  int steps_compared = 0;  // steps the device manifest holds
  int step = -1;           // first diverging step (-1: none)
  std::string name, op, file;
  int64_t differing = 0, max_ulp = 0;
  ElementReport first;  // first differing element of the step (buffer
                        // coordinates; matrix = the dumped sample)
};
// `dir` holds manifest.json in trisim's stage-dump form (sim/stage_dump.h):
// "steps" in plan order, each with "name" and "output" {"file", "rows",
// "cols"}; a step's file holds its whole output buffer (any float dtype;
// values compared in the buffer's storage format). Compared against the
// oracle's kept matrix (run.kept, keep_sample). Throws DataError when the
// manifest is malformed, names another step, or a file has another shape.
StageDivergence CompareStages(const std::string& dir, const OracleRun& run,
                              int sample);

// One whole comparison, as `trisim compare` and the Python module run it.
struct CompareRequest {
  std::string method = "mxr";
  MethodOptions options;
  KernelChoice kernel;  // how the method runs (core/kernels.h); "plan"
  std::string precision = "fp16";  // recipe name or PATH.toml
  uint64_t seed = 0;
  NpyArray device;
  std::string device_name = "--device";
  std::optional<NpyArray> expected;  // an oracle output
  std::string expected_name = "--expected";
  std::optional<NpyArray> inputs;  // A, in `layout`
  std::string inputs_name = "--in";
  std::string gdn_spec;  // or npy-gdn:DIR (layout ncc only)
  int gdn_chunk = 64;
  ChunkLayout layout;
  std::string preset = "exact";
  std::string device_stages;  // DIR with manifest.json, or empty
  int stage_sample = 0;
};
struct CompareOutcome {
  CompareReport report;
  std::vector<PresetResult> presets;
  std::unique_ptr<StageDivergence> stages;
  std::vector<std::string> labels;  // each matrix's place in the layout
  std::string note;                 // input rounding note, or empty
  bool pass = true;
};
// Validates everything (InputError: usage; DataError: file content) before
// computing; writes nothing.
CompareOutcome RunCompareRequest(const CompareRequest& request);

// --- Layer outputs (A, W, U, O, final state, ...) as file sets ------------
// DIR/manifest.json: {"outputs": [{"name": "O", "file": "O.npy", "format":
// "fp16", "reference": "O_fp64.npy"}, ...]} ("reference", an fp64 file, is
// optional). Every output the expected set names is compared with the
// device set's output of the same name (its manifest entry, or NAME.npy
// without a manifest), as [count, rows, cols] matrices (the last two axes;
// a 1-d tensor is one row). Outputs only the device set holds are ignored.
// Throws DataError for a malformed manifest, a missing device output or a
// shape/dtype mismatch; InputError for a missing directory.
struct NamedComparison {
  std::string name, format;
  CompareReport report;
  PresetResult preset;
};
std::vector<NamedComparison> CompareOutputSets(const std::string& device_dir,
                                               const std::string& expected_dir,
                                               const std::string& preset);

// The report as JSON (README "trisim compare --json"); `labels` name each
// matrix's place in the layout (may be empty).
nlohmann::ordered_json CompareJson(const CompareReport& report,
                                   const std::vector<PresetResult>& presets,
                                   const StageDivergence* stages,
                                   const std::vector<std::string>& labels);

}  // namespace trisim
