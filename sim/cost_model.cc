#include "sim/cost_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <queue>

#include "core/status.h"

namespace trisim {

// ---------------------------------------------------------------------------
// Precision recipes as the cost model sees them. The one place that maps a
// recipe name to pipeline facts; later derived from the quant recipe struct.

namespace {

double Bytes(quant::Format f) {
  return quant::GetFormatInfo(f).storage_bits / 8.0;
}

}  // namespace

PipelinePrecision PipelinePrecisionFor(const Recipe& recipe) {
  using quant::Format;
  PipelinePrecision p;
  p.recipe = recipe.name;
  if (recipe.exact) {
    // The cube has no fp64: the reference recipe is priced as fp32, the
    // closest a device kernel can get. Everything is 4 bytes.
    p.cube = CubeDataType::kFp32;
    p.input_bytes = p.operand_bytes = p.fixpipe_out_bytes = p.vector_bytes = 4;
    p.output_bytes = 4;
    return p;
  }
  p.input_bytes = Bytes(recipe.input);
  p.operand_bytes = Bytes(recipe.operand);
  p.output_bytes = Bytes(recipe.output);
  // Vector-side data is the stored intermediates (the unit computes in
  // `vector` precision, but moves and UB space follow the storage format).
  p.vector_bytes = Bytes(recipe.storage);
  p.fixpipe_out_bytes = Bytes(recipe.storage);
  switch (recipe.operand) {
    case Format::kFp32:
      p.cube = CubeDataType::kFp32;
      break;
    case Format::kHf32:
    case Format::kTf32:  // the same 19-bit operand, priced as hf32
      p.cube = CubeDataType::kHf32;
      break;
    case Format::kFp16:
    case Format::kBf16:
      p.cube = CubeDataType::kFp16;
      break;  // same fractal
    case Format::kInt8:
      p.cube = CubeDataType::kInt8;
      break;
    case Format::kInt4:
      p.cube = CubeDataType::kInt4;
      break;
    case Format::kInt16:
      if (recipe.int16 == Int16Cube::kEmulated) {
        // int16 on an int8 cube (NPU.md: Mmad takes no int16): 4 int8 Mmads
        // per product (schoolbook; Karatsuba's 3-Mmad form needs a 9-bit
        // operand hi + lo that no int8 Mmad takes). hi*hi, hi*lo + lo*hi and
        // lo*lo need different shifts: 3 accumulators, 3 FIXPIPE passes.
        p.cube = CubeDataType::kInt16Emulated;
        p.mmads_per_product = 4;
        p.fixpipe_passes = 3;
      } else {
        p.cube = CubeDataType::kInt16Native;  // profile fractal_int16
      }
      break;
    default:
      throw InputError("recipe " + recipe.name + ": operand " +
                       quant::FormatName(recipe.operand) +
                       " has no cube fractal in the cost model");
  }
  // Split operands (quant/split.h): three part Mmads per product term, all
  // accumulated in L0C (operand traffic for the lo parts is not priced).
  if (recipe.operand_split != quant::OperandSplit::kNone) {
    p.mmads_per_product = quant::kSplitProducts;
  }
  if (recipe.IntegerOperands()) {
    p.accumulator_bytes = recipe.accumulator == Format::kInt32 ? 4 : 8;
    // Integer intermediates feed the next matmul: priced as requantised to
    // the operand format on the way out of L0C (FIXPIPE's quant path, 64
    // B/cycle), the cheapest way a kernel gets them back to the cube. The
    // numeric model stores them in `storage` and quantises per use with a
    // scale from amax (sim/cube.h): same data, ideal scales.
    p.fixpipe_quantises = true;
    p.fixpipe_out_bytes = Bytes(recipe.operand);
    // Per-block scales: products of different k blocks carry different
    // scales, so each k block is its own Mmad and FIXPIPE pass.
    if (recipe.operand_scale.granularity == quant::Granularity::kBlock) {
      p.k_group = static_cast<int>(recipe.operand_scale.block);
    }
  }
  return p;
}

PipelinePrecision PipelinePrecisionFor(const std::string& recipe_name) {
  return PipelinePrecisionFor(LoadRecipe(recipe_name));
}

std::vector<std::string> CostPrecisions() {
  std::vector<std::string> names;
  for (const Recipe& r : BuiltinRecipes()) names.push_back(r.name);
  return names;
}

const char* PipeName(Pipe pipe) {
  switch (pipe) {
    case Pipe::kCubeMte2:
      return "MTE2.cube";
    case Pipe::kMte1:
      return "MTE1";
    case Pipe::kCube:
      return "M";
    case Pipe::kFix:
      return "FIX";
    case Pipe::kVecMte2:
      return "MTE2.vector";
    case Pipe::kVector:
      return "V";
    case Pipe::kMte3:
      return "MTE3";
    case Pipe::kGm:
      return "GM";
  }
  return "?";
}

const char* UnitName(Unit unit) {
  switch (unit) {
    case Unit::kNone:
      return "none";
    case Unit::kCube:
      return "cube";
    case Unit::kVector:
      return "vector";
  }
  return "?";
}

std::string ParallelCopyLabel(const std::string& label) {
  size_t start = 0;
  for (;;) {
    size_t i = start;
    if (i >= label.size() ||
        !std::isalpha(static_cast<unsigned char>(label[i]))) {
      break;
    }
    while (i < label.size() &&
           (std::isalnum(static_cast<unsigned char>(label[i])) ||
            label[i] == '_')) {
      ++i;
    }
    if (i >= label.size() || label[i] != '.') break;
    start = i + 1;
  }
  return label.substr(start);
}

bool IsVectorCorePipe(Pipe pipe) {
  return pipe == Pipe::kVecMte2 || pipe == Pipe::kVector || pipe == Pipe::kMte3;
}

namespace {

const Fractal& FractalFor(const HardwareProfile& hw, CubeDataType operand) {
  switch (operand) {
    case CubeDataType::kFp16:
      return hw.fractal_fp16;
    case CubeDataType::kFp32:
      return hw.fractal_fp32;
    case CubeDataType::kHf32:
      return hw.fractal_hf32;
    case CubeDataType::kInt8:
      return hw.fractal_int8;
    case CubeDataType::kInt4:
      return hw.fractal_int4;
    case CubeDataType::kInt16Emulated:
      return hw.fractal_int8;
    case CubeDataType::kInt16Native:
      return hw.fractal_int16;
  }
  return hw.fractal_fp16;
}

long long CeilDiv(long long a, long long b) { return (a + b - 1) / b; }

long long Area(const View& v) { return 1LL * v.rows * v.cols; }

// ---------------------------------------------------------------------------
// Lowering: one chunk's instructions. Instruction i may depend only on
// instructions < i of the same chunk; `prefetch` marks the chunk's input
// loads, which the scheduler issues ahead under double buffering.

struct Dep {
  int instr;
  double latency;  // extra cycles after it ends (cross-core flag)
};

struct Instr {
  Pipe pipe;
  double cycles;
  int step;          // -1: chunk input/output; a batch's first step
  int batch;         // index into Lowering::batches(), or -1
  const char* what;  // static text, for traces
  double bytes;      // moved (0 for compute)
  double gm_bytes;   // of which through GM (for the shared bound)
  bool prefetch;
  std::vector<Dep> deps;
};

// Where one read of a step gets its data.
struct Read {
  View view;
  std::vector<int> producers;  // earlier steps whose output it reads
  bool from_input = false;     // reads the plan's input L (in GM)
  bool constant = false;       // a constant buffer (0 / I), kept resident
};

// How a cube step is cut to fit L0 (the other half of each L0 buffer is the
// ping-pong partner): outputs larger than half of L0C are split along n;
// per product term, operands larger than half of L0A/L0B along k, and at
// k-group boundaries for per-block scales.
struct CubeTiling {
  long long n_tile = 0;             // output columns per L0C tile
  std::vector<long long> k_slice;   // per term: k per Mmad
  std::vector<long long> k_groups;  // per term: partial accumulators
  double l0a_bytes = 0, l0b_bytes = 0, l0c_bytes = 0;  // largest slice/tile
};

class Lowering {
 public:
  Lowering(const Plan& plan, const PipelinePrecision& precision,
           const HardwareProfile& hw, bool batch)
      : plan_(plan), pr_(precision), hw_(hw) {
    FindReads();
    PlaceSteps();
    FindConsumers();
    FindFinalAreas();
    FindBatches(batch);
    ready_.assign(plan_.steps.size(), kNoInstr);
    to_gm_.assign(plan_.steps.size(), kNoInstr);
    arrived_.assign(plan_.steps.size(), {kNoInstr, kNoInstr, kNoInstr});
    for (size_t g = 0; g < groups_.size(); ++g) {
      batch_ = group_batch_[g];
      EmitGroup(groups_[g]);
    }
    batch_ = -1;
    EmitOutputStores();
  }

  const std::vector<Instr>& instrs() const { return instrs_; }
  const std::vector<Unit>& units() const { return units_; }
  // Groups of 2 or more steps lowered as one batch (Instr::batch indexes it).
  const std::vector<std::vector<int>>& batches() const { return batches_; }
  // One chunk's working set per side (bytes) and the part that is constant
  // across chunks (not double-buffered).
  long long WorkingSet(Unit side, bool constant_part) const;

 private:
  static constexpr int kNoInstr = -1;

  int Emit(Pipe pipe, double cycles, int step, const char* what,
           std::vector<Dep> deps, double bytes = 0, double gm_bytes = 0,
           bool prefetch = false) {
    instrs_.push_back(Instr{pipe, cycles, step, step >= 0 ? batch_ : -1, what,
                            bytes, gm_bytes, prefetch, std::move(deps)});
    return static_cast<int>(instrs_.size()) - 1;
  }

  void FindReads();
  void PlaceSteps();
  void FindConsumers();
  void FindFinalAreas();
  void FindBatches(bool batch);
  bool ParallelCopies(int a, int b) const;
  CubeTiling Tiling(int s) const;
  size_t BatchCapacity(int s) const;
  void EmitGroup(const std::vector<int>& group);
  void EmitCubeStep(const std::vector<int>& group);
  void EmitVectorStep(const std::vector<int>& group);
  void EmitOutputStores();

  // Dependencies that make read `r` of every step of `group` available on
  // `side` (emitting the input load on first use). Arrive() must have
  // brought the group's operands from the other side.
  std::vector<Dep> Available(const std::vector<int>& group, size_t r,
                             Unit side);
  int InputLoad(Unit side);
  void Arrive(const std::vector<int>& group, Unit side);

  const Plan& plan_;
  const PipelinePrecision& pr_;
  const HardwareProfile& hw_;

  std::vector<std::vector<Read>> reads_;        // per step
  std::vector<Unit> units_;                     // per step
  std::vector<std::array<bool, 3>> needed_on_;  // per step, by Unit
  std::vector<long long> final_area_;  // per step: output elements it leaves
  long long fill_final_area_ = 0;      // output elements written by fills
  Unit fill_store_side_ = Unit::kCube;
  std::vector<std::vector<int>> groups_;   // every step once, in issue order
  std::vector<std::vector<int>> batches_;  // the groups of 2 or more
  std::vector<int> group_batch_;  // per group: index into batches_, or -1
  int batch_ = -1;  // the batch being emitted (index into batches_), or -1

  std::vector<Instr> instrs_;
  std::vector<int> ready_;  // per step: its output is usable on its side
  std::vector<int> to_gm_;  // per step: its output is in GM for the other side
  std::vector<std::array<int, 3>> arrived_;  // per step: transferred to a side
  std::array<int, 3> input_load_{kNoInstr, kNoInstr, kNoInstr};
};

void Lowering::FindReads() {
  const auto& steps = plan_.steps;
  reads_.resize(steps.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    for (const View& view : steps[s].Reads()) {
      Read read{view, {}, false, false};
      const BufferRole role = plan_.buffers[view.buffer].role;
      read.from_input = role == BufferRole::kInput;
      read.constant = role == BufferRole::kConstant;
      // The latest writers back to one that covers the read, as in
      // Plan::Dependencies(), but kept per read.
      for (int w = static_cast<int>(s) - 1; w >= 0; --w) {
        if (!steps[w].out.Overlaps(view)) continue;
        read.producers.push_back(w);
        if (steps[w].out.Covers(view)) break;
      }
      reads_[s].push_back(std::move(read));
    }
  }
}

// Placement: matmuls run on the cube, forward-substitution rows and masks on
// the vector unit, constant fills (0, I) nowhere (constant tiles are kept
// resident). Linear combinations and copies go to the side that needs fewer
// bytes brought through GM from the other side (on the cube they are Mmads
// against resident scaled identities, accumulated in L0C); on a tie, where
// the plan's matrix work is (the cube if it has matmuls).
void Lowering::PlaceSteps() {
  const Unit default_side =
      plan_.CountSteps(OpKind::kMatMul) > 0 ? Unit::kCube : Unit::kVector;
  units_.resize(plan_.steps.size());
  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    switch (plan_.steps[s].op) {
      case OpKind::kMatMul:
        units_[s] = Unit::kCube;
        break;
      case OpKind::kForwardRow:
      case OpKind::kMask:
        units_[s] = Unit::kVector;
        break;
      case OpKind::kIdentity:
      case OpKind::kZero:
        units_[s] = Unit::kNone;
        break;
      case OpKind::kLinComb:
      case OpKind::kCopy: {
        long long on_cube = 0, on_vector = 0;  // elements living there
        for (const Read& read : reads_[s]) {
          for (int p : read.producers) {
            if (units_[p] == Unit::kCube) on_cube += Area(plan_.steps[p].out);
            if (units_[p] == Unit::kVector) {
              on_vector += Area(plan_.steps[p].out);
            }
          }
        }
        units_[s] = on_cube > on_vector   ? Unit::kCube
                    : on_vector > on_cube ? Unit::kVector
                                          : default_side;
        break;
      }
    }
  }
}

void Lowering::FindConsumers() {
  needed_on_.assign(plan_.steps.size(), {false, false, false});
  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    for (const Read& read : reads_[s]) {
      for (int p : read.producers) {
        needed_on_[p][static_cast<int>(units_[s])] = true;
      }
    }
  }
}

// Which step's result each element of the output X ends up as: the last
// writer. Painted on a grid of g x g cells, g the gcd of every offset and
// size of a view written into X, so the cost does not grow with C^2 steps.
void Lowering::FindFinalAreas() {
  final_area_.assign(plan_.steps.size(), 0);
  const Buffer& out = plan_.buffers.at(plan_.output);
  int g = std::gcd(out.rows, out.cols);
  for (const Step& step : plan_.steps) {
    if (step.out.buffer != plan_.output) continue;
    for (int v : {step.out.row, step.out.col, step.out.rows, step.out.cols}) {
      g = std::gcd(g, v);
    }
  }
  const int rows = out.rows / g, cols = out.cols / g;
  std::vector<int> owner(static_cast<size_t>(rows) * cols, -1);
  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    const View& v = plan_.steps[s].out;
    if (v.buffer != plan_.output) continue;
    for (int r = v.row / g; r < (v.row + v.rows) / g; ++r) {
      for (int c = v.col / g; c < (v.col + v.cols) / g; ++c) {
        owner[static_cast<size_t>(r) * cols + c] = static_cast<int>(s);
      }
    }
  }
  long long cube_area = 0, vector_area = 0;
  for (int s : owner) {
    const long long cell = 1LL * g * g;
    if (s < 0 || units_[s] == Unit::kNone) {
      fill_final_area_ += cell;  // never written: the kernel writes zeros
    } else {
      final_area_[s] += cell;
      (units_[s] == Unit::kCube ? cube_area : vector_area) += cell;
    }
  }
  // Constant parts of X (zeros, a unit diagonal) leave with the side that
  // stores most of X.
  fill_store_side_ = vector_area > cube_area ? Unit::kVector : Unit::kCube;
}

// Batching: a kernel issues parallel copies of one step (e.g. the same mch
// round on four independent diagonal blocks) as one batched instruction per
// pipe: one Mmad sequence over more fractals, one FIXPIPE transfer, one
// vector instruction over more repeats, one cross-core flag. Each batched
// instruction costs one start (head, latency) plus the items' work summed.
//
// Two steps are parallel copies when ParallelCopies() holds (same unit, op,
// shapes, coefficients, destinations and ParallelCopyLabel) and they are in
// the same round: the length of the longest dependency chain leading to
// them (Plan::Dependencies() joined with this lowering's per-read
// producers). Steps of one round never depend on each other, and every
// dependency goes from an earlier round to a later one, so the groups can be
// issued in dependency order: the ready group with the lowest step index
// first, which is plan order when nothing batches.
void Lowering::FindBatches(bool batch) {
  const size_t n = plan_.steps.size();
  if (!batch) {  // every step alone, in plan order
    for (size_t s = 0; s < n; ++s) groups_.push_back({static_cast<int>(s)});
    group_batch_.assign(n, -1);
    return;
  }
  std::vector<std::vector<int>> deps = plan_.Dependencies();
  for (size_t s = 0; s < n; ++s) {
    for (const Read& read : reads_[s]) {
      deps[s].insert(deps[s].end(), read.producers.begin(),
                     read.producers.end());
    }
  }
  std::vector<int> round(n, 0);
  for (size_t s = 0; s < n; ++s) {
    for (int d : deps[s]) round[s] = std::max(round[s], round[d] + 1);
  }

  std::vector<std::vector<int>> groups;
  std::vector<int> group_of(n, -1);
  for (size_t s = 0; s < n; ++s) {
    const int step = static_cast<int>(s);
    if (units_[s] != Unit::kNone) {
      for (size_t g = 0; g < groups.size(); ++g) {
        const int first = groups[g].front();
        if (round[first] == round[s] && ParallelCopies(first, step) &&
            groups[g].size() < BatchCapacity(first)) {
          groups[g].push_back(step);
          group_of[s] = static_cast<int>(g);
          break;
        }
      }
    }
    if (group_of[s] < 0) {
      group_of[s] = static_cast<int>(groups.size());
      groups.push_back({step});
    }
  }

  // Issue order: Kahn's algorithm, lowest first step first.
  std::vector<std::vector<int>> successors(groups.size());
  std::vector<int> pending(groups.size(), 0);
  for (size_t s = 0; s < n; ++s) {
    for (int d : deps[s]) {
      TRISIM_ASSERT(group_of[d] != group_of[s]);
      successors[group_of[d]].push_back(group_of[s]);
      ++pending[group_of[s]];
    }
  }
  using Entry = std::pair<int, int>;  // first step, group
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> ready;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (pending[g] == 0) ready.push({groups[g].front(), static_cast<int>(g)});
  }
  while (!ready.empty()) {
    const int g = ready.top().second;
    ready.pop();
    groups_.push_back(groups[g]);
    for (int next : successors[g]) {
      if (--pending[next] == 0) ready.push({groups[next].front(), next});
    }
  }
  TRISIM_ASSERT(groups_.size() == groups.size());
  for (const std::vector<int>& group : groups_) {
    group_batch_.push_back(group.size() > 1 ? static_cast<int>(batches_.size())
                                            : -1);
    if (group.size() > 1) batches_.push_back(group);
  }
}

// Same unit, op, output and operand shapes, coefficients / sign / mask /
// row, destinations (cube, vector, part of X) and label up to scopes: the
// same instruction sequence on different data.
bool Lowering::ParallelCopies(int a, int b) const {
  const Step& x = plan_.steps[a];
  const Step& y = plan_.steps[b];
  const auto same_shape = [](const View& u, const View& v) {
    return u.rows == v.rows && u.cols == v.cols;
  };
  if (x.op != y.op || units_[a] != units_[b] || !same_shape(x.out, y.out) ||
      x.in.size() != y.in.size() || x.coef != y.coef || x.sign != y.sign ||
      x.row != y.row || x.mask.kind != y.mask.kind ||
      x.mask.width != y.mask.width || needed_on_[a] != needed_on_[b] ||
      (final_area_[a] > 0) != (final_area_[b] > 0)) {
    return false;
  }
  for (size_t i = 0; i < x.in.size(); ++i) {
    if (!same_shape(x.in[i], y.in[i])) return false;
  }
  return ParallelCopyLabel(x.label) == ParallelCopyLabel(y.label);
}

CubeTiling Lowering::Tiling(int s) const {
  const Step& step = plan_.steps[s];
  const double ob = pr_.operand_bytes;
  const long long m = step.out.rows, n = step.out.cols;
  CubeTiling t;
  const long long n_tiles =
      CeilDiv(m * n * pr_.accumulator_bytes, hw_.l0c_bytes / 2);
  t.n_tile = CeilDiv(n, n_tiles);
  t.l0c_bytes = 1.0 * m * t.n_tile * pr_.accumulator_bytes;
  const bool matmul = step.op == OpKind::kMatMul;
  const size_t terms = matmul ? step.in.size() / 2 : step.in.size();
  for (size_t i = 0; i < terms; ++i) {
    const long long k = step.in[matmul ? 2 * i : i].cols;
    const long long k_tiles = std::max(
        CeilDiv(static_cast<long long>(m * k * ob), hw_.l0a_bytes / 2),
        CeilDiv(static_cast<long long>(k * t.n_tile * ob), hw_.l0b_bytes / 2));
    const long long groups = pr_.k_group > 0 ? CeilDiv(k, pr_.k_group) : 1;
    const long long ks = CeilDiv(k, std::max(k_tiles, groups));
    t.k_slice.push_back(ks);
    t.k_groups.push_back(groups);
    t.l0a_bytes = std::max(t.l0a_bytes, m * ks * ob);
    if (matmul) t.l0b_bytes = std::max(t.l0b_bytes, ks * t.n_tile * ob);
  }
  return t;
}

// Copies of step s one batched instruction sequence can take. On the cube
// the batch's operand slices and accumulator tiles must fit the halves of
// L0A/L0B/L0C one step is tiled to; vector data is in UB already.
size_t Lowering::BatchCapacity(int s) const {
  if (units_[s] != Unit::kCube) return plan_.steps.size();
  const CubeTiling t = Tiling(s);
  double capacity = (hw_.l0c_bytes / 2) / t.l0c_bytes;
  capacity = std::min(capacity, (hw_.l0a_bytes / 2) / t.l0a_bytes);
  if (t.l0b_bytes > 0) {
    capacity = std::min(capacity, (hw_.l0b_bytes / 2) / t.l0b_bytes);
  }
  return static_cast<size_t>(std::max(1.0, std::floor(capacity)));
}

int Lowering::InputLoad(Unit side) {
  int& load = input_load_[static_cast<int>(side)];
  if (load == kNoInstr) {
    const double bytes = static_cast<double>(Area(View{
                             plan_.input, 0, 0, plan_.chunk, plan_.chunk})) *
                         pr_.input_bytes;
    const bool cube = side == Unit::kCube;
    const TransferPath& path = cube ? hw_.gm_to_l1 : hw_.gm_to_ub;
    load = Emit(cube ? Pipe::kCubeMte2 : Pipe::kVecMte2, path.Cycles(bytes), -1,
                cube ? "load L: GM -> L1" : "load L: GM -> UB", {}, bytes,
                bytes, /*prefetch=*/true);
  }
  return load;
}

// The group reads results of the other side: they left through GM when
// their producers ran (to_gm_), a cross-core flag tells the consumer, and
// MTE2 brings them in, once per producer and side. Results that left in one
// instruction (one batch) arrive in one move after one flag.
void Lowering::Arrive(const std::vector<int>& group, Unit side) {
  std::vector<std::pair<int, std::vector<int>>> moves;  // to_gm_ -> producers
  for (int s : group) {
    for (const Read& read : reads_[s]) {
      for (int p : read.producers) {
        if (units_[p] == Unit::kNone || units_[p] == side ||
            arrived_[p][static_cast<int>(side)] != kNoInstr) {
          continue;
        }
        TRISIM_ASSERT(to_gm_[p] != kNoInstr);
        auto move =
            std::find_if(moves.begin(), moves.end(),
                         [&](const auto& m) { return m.first == to_gm_[p]; });
        if (move == moves.end()) {
          moves.push_back({to_gm_[p], {}});
          move = moves.end() - 1;
        }
        if (std::find(move->second.begin(), move->second.end(), p) ==
            move->second.end()) {
          move->second.push_back(p);
        }
      }
    }
  }
  const bool cube = side == Unit::kCube;
  const TransferPath& path = cube ? hw_.gm_to_l1 : hw_.gm_to_ub;
  for (const auto& [from, producers] : moves) {
    // The producers' whole results, in the format they left in.
    double bytes = 0;
    for (int p : producers) {
      bytes += static_cast<double>(Area(plan_.steps[p].out)) *
               (cube ? pr_.operand_bytes : pr_.fixpipe_out_bytes);
    }
    const int arrived =
        Emit(cube ? Pipe::kCubeMte2 : Pipe::kVecMte2, path.Cycles(bytes),
             group.front(),
             cube ? "vector result: GM -> L1" : "cube result: GM -> UB",
             {{from, hw_.cross_core_flag_cycles}}, bytes, bytes);
    for (int p : producers) arrived_[p][static_cast<int>(side)] = arrived;
  }
}

std::vector<Dep> Lowering::Available(const std::vector<int>& group, size_t r,
                                     Unit side) {
  std::vector<Dep> deps;
  const auto add = [&](int instr) {
    const bool seen = std::any_of(deps.begin(), deps.end(), [&](const Dep& d) {
      return d.instr == instr;
    });
    if (!seen) deps.push_back({instr, 0.0});
  };
  for (int s : group) {
    const Read& read = reads_[s][r];
    if (read.from_input) add(InputLoad(side));
    for (int p : read.producers) {
      if (units_[p] == Unit::kNone) continue;  // constant tile, resident
      add(units_[p] == side ? ready_[p] : arrived_[p][static_cast<int>(side)]);
    }
  }
  return deps;
}

// One group (a step, or a batch: batch_ is set) on its unit.
void Lowering::EmitGroup(const std::vector<int>& group) {
  switch (units_[group.front()]) {
    case Unit::kCube:
      Arrive(group, Unit::kCube);
      EmitCubeStep(group);
      break;
    case Unit::kVector:
      Arrive(group, Unit::kVector);
      EmitVectorStep(group);
      break;
    case Unit::kNone:
      break;
  }
}

// A matmul (out = sign * sum_p A_p B_p) or an elementwise combination
// (out = sum_i c_i in_i, each term an Mmad of in_i against a resident c_i I
// in L0B) on the cube, for every step of `group` at once: per term and k
// slice, MTE1 moves of the operands into L0A/L0B and Mmads (Tiling()); the
// products accumulate in L0C and leave once through FIXPIPE, to L1 for cube
// consumers and to GM for vector consumers or the final output. A batch of
// k copies moves k times the bytes and runs k times the fractals per
// instruction, with one start cost each.
void Lowering::EmitCubeStep(const std::vector<int>& group) {
  const Step& step = plan_.steps[group.front()];
  const int s = group.front();
  const double copies = static_cast<double>(group.size());
  struct Term {
    size_t a;  // index into reads_
    int b;     // index into reads_, or -1: a resident scaled identity
  };
  std::vector<Term> terms;
  // Reads() lists the inputs in order (kForwardRow's extra read is last).
  TRISIM_ASSERT(reads_[s].size() >= step.in.size());
  if (step.op == OpKind::kMatMul) {
    for (size_t p = 0; p + 1 < step.in.size(); p += 2) {
      terms.push_back({p, static_cast<int>(p + 1)});
    }
  } else {
    for (size_t i = 0; i < step.in.size(); ++i) terms.push_back({i, -1});
  }

  const Fractal& f = FractalFor(hw_, pr_.cube);
  const CubeTiling tiling = Tiling(s);
  const long long m = step.out.rows, n = step.out.cols;
  const double ob = pr_.operand_bytes;

  std::vector<std::vector<Dep>> a_deps, b_deps;
  for (const Term& t : terms) {
    a_deps.push_back(Available(group, t.a, Unit::kCube));
    b_deps.push_back(t.b >= 0 ? Available(group, t.b, Unit::kCube)
                              : std::vector<Dep>{});
  }

  // Accumulators per output tile: one per k group (int8-block16) and
  // FIXPIPE pass (int16-emu).
  long long partials = 1;
  if (pr_.k_group > 0) {
    partials =
        std::accumulate(tiling.k_groups.begin(), tiling.k_groups.end(), 0LL);
  }
  partials *= pr_.fixpipe_passes;

  for (long long j = 0; j < n; j += tiling.n_tile) {
    const long long nt = std::min(tiling.n_tile, n - j);
    int last_mmad = kNoInstr;
    for (size_t t = 0; t < terms.size(); ++t) {
      const long long k = step.in[terms[t].a].cols;
      const long long ks = tiling.k_slice[t];
      for (long long k0 = 0; k0 < k; k0 += ks) {
        const long long kk = std::min(ks, k - k0);
        std::vector<Dep> deps;
        const double a_bytes = copies * m * kk * ob;
        deps.push_back({Emit(Pipe::kMte1, hw_.l1_to_l0a.Cycles(a_bytes), s,
                             "L1 -> L0A", a_deps[t], a_bytes),
                        0.0});
        if (terms[t].b >= 0) {
          const double b_bytes = copies * kk * nt * ob;
          deps.push_back({Emit(Pipe::kMte1, hw_.l1_to_l0b.Cycles(b_bytes), s,
                               "L1 -> L0B", b_deps[t], b_bytes),
                          0.0});
        }
        const double fractals = static_cast<double>(
            CeilDiv(m, f.m0) * CeilDiv(nt, f.n0) * CeilDiv(kk, f.k0));
        for (int rep = 0; rep < pr_.mmads_per_product; ++rep) {
          last_mmad = Emit(Pipe::kCube,
                           hw_.mmad_start_cycles +
                               copies * fractals * hw_.mmad_cycles_per_fractal,
                           s, "Mmad", deps);
        }
      }
    }

    // Leaving L0C: one FIXPIPE per destination and partial accumulator.
    const double tile = static_cast<double>(m * nt);
    const auto fix = [&](const TransferPath& path, double bytes, bool quant) {
      return quant
                 ? path.start_cycles + bytes / hw_.fixpipe_quant_bytes_per_cycle
                 : path.Cycles(bytes);
    };
    const bool quant = pr_.fixpipe_quantises;
    // Only the part of X each step leaves final is written; the output
    // dtype is dequantised, so the plain path.
    double out_bytes = 0;
    for (int g : group) {
      out_bytes += tile * final_area_[g] /
                   static_cast<double>(Area(plan_.steps[g].out)) *
                   pr_.output_bytes;
    }
    for (long long pass = 0; pass < partials; ++pass) {
      const std::vector<Dep> after{{last_mmad, 0.0}};
      const double bytes = copies * tile * pr_.fixpipe_out_bytes;
      if (needed_on_[s][static_cast<int>(Unit::kCube)]) {
        const int fixed = Emit(Pipe::kFix, fix(hw_.fixpipe_l1, bytes, quant), s,
                               "FIXPIPE L0C -> L1", after, bytes);
        for (int g : group) ready_[g] = fixed;
      }
      if (needed_on_[s][static_cast<int>(Unit::kVector)]) {
        const int fixed =
            Emit(Pipe::kFix, fix(hw_.fixpipe_gm, bytes, quant), s,
                 "FIXPIPE L0C -> GM (for vector)", after, bytes, bytes);
        for (int g : group) to_gm_[g] = fixed;
      }
      if (out_bytes > 0) {
        Emit(Pipe::kFix, hw_.fixpipe_gm.Cycles(out_bytes), s,
             "FIXPIPE L0C -> GM (output)", after, out_bytes, out_bytes);
      }
    }
  }
}

// Vector-unit ops; each dependent instruction pays its full latency
// (NPU.md: forward substitution is latency-bound). A batch of k copies is
// one instruction per op over the copies' repeats summed.
void Lowering::EmitVectorStep(const std::vector<int>& group) {
  const Step& step = plan_.steps[group.front()];
  const int s = group.front();
  const long long copies = static_cast<long long>(group.size());
  std::vector<Dep> deps;
  for (size_t r = 0; r < reads_[s].size(); ++r) {
    for (const Dep& d : Available(group, r, Unit::kVector)) deps.push_back(d);
  }
  const auto repeats = [&](long long elements) {
    return copies * CeilDiv(static_cast<long long>(
                                std::ceil(elements * pr_.vector_bytes)),
                            hw_.vector_repeat_bytes);
  };
  int last = kNoInstr;
  const auto op = [&](const VectorOpClass& cls, long long elements,
                      const char* what) {
    last = Emit(Pipe::kVector, cls.Cycles(repeats(elements)), s, what,
                last == kNoInstr ? deps : std::vector<Dep>{{last, 0.0}});
  };
  const long long area = Area(step.out);
  switch (step.op) {
    case OpKind::kLinComb: {
      // Binary ops take two sources: k terms need k - 1 adds/subs (one op
      // for a single term), plus a scalar multiply per coefficient that is
      // not +-1.
      const int terms = static_cast<int>(step.coef.size());
      for (double c : step.coef) {
        if (std::abs(c) != 1.0) op(hw_.vector_mul, area, "muls");
      }
      for (int t = 0; t < std::max(1, terms - 1); ++t) {
        op(hw_.vector_add, area, "add");
      }
      break;
    }
    case OpKind::kCopy:
      op(hw_.vector_add, area, "copy");  // priced as one binary op (guess)
      break;
    case OpKind::kMask:
      op(hw_.vector_mul, area, "select");  // priced as one binary op (guess)
      break;
    case OpKind::kForwardRow: {
      // N[r, :r] = -L[r, :r] - L[r, :r] N[:r, :r] as in FLA's solve_tril:
      // broadcast-multiply the r x r block by the row, reduce its r rows by
      // a halving tree of adds, subtract from -L[r, :r]. Every op depends
      // on the previous one.
      const long long r = step.row;
      op(hw_.vector_mul, r * r, "row: mul");
      for (long long rows = r; rows > 1;) {
        const long long half = rows / 2;
        op(hw_.vector_add, half * r, "row: reduce");
        rows -= half;
      }
      op(hw_.vector_add, r, "row: sub");
      break;
    }
    default:
      TRISIM_ASSERT(false);
  }
  for (int g : group) ready_[g] = last;
  if (needed_on_[s][static_cast<int>(Unit::kCube)]) {
    // Handed to the cube in the cube's operand format.
    const double bytes = copies * area * pr_.operand_bytes;
    const int stored = Emit(Pipe::kMte3, hw_.ub_to_gm.Cycles(bytes), s,
                            "UB -> GM (for cube)", {{last, 0.0}}, bytes, bytes);
    for (int g : group) to_gm_[g] = stored;
  }
}

// The vector side writes its part of X from UB once all of it is done; the
// constant part of X goes with the side that stores most of X.
void Lowering::EmitOutputStores() {
  long long vector_area = 0;
  std::vector<Dep> deps;
  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    if (units_[s] == Unit::kVector && final_area_[s] > 0) {
      vector_area += final_area_[s];
      deps.push_back({ready_[s], 0.0});
    }
  }
  if (fill_store_side_ == Unit::kVector) vector_area += fill_final_area_;
  if (vector_area > 0) {
    const double bytes = vector_area * pr_.output_bytes;
    Emit(Pipe::kMte3, hw_.ub_to_gm.Cycles(bytes), -1, "store X: UB -> GM", deps,
         bytes, bytes);
  }
  if (fill_store_side_ == Unit::kCube && fill_final_area_ > 0) {
    // A constant L0C tile written out (e.g. the zero upper triangle).
    const double bytes = fill_final_area_ * pr_.output_bytes;
    Emit(Pipe::kFix, hw_.fixpipe_gm.Cycles(bytes), -1,
         "FIXPIPE constant part of X -> GM", {}, bytes, bytes);
  }
}

long long Lowering::WorkingSet(Unit side, bool constant_part) const {
  std::vector<bool> used(plan_.buffers.size(), false);
  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    if (units_[s] != side) continue;
    used[plan_.steps[s].out.buffer] = true;
    for (const Read& read : reads_[s]) used[read.view.buffer] = true;
  }
  const double element =
      side == Unit::kCube ? std::max(pr_.operand_bytes, pr_.fixpipe_out_bytes)
                          : pr_.vector_bytes;
  double bytes = 0;
  for (size_t b = 0; b < plan_.buffers.size(); ++b) {
    const Buffer& buffer = plan_.buffers[b];
    if (!used[b] || (buffer.role == BufferRole::kConstant) != constant_part) {
      continue;
    }
    const double e = buffer.role == BufferRole::kInput
                         ? std::max(pr_.input_bytes, element)
                         : element;
    bytes += 1.0 * buffer.rows * buffer.cols * e;
  }
  return static_cast<long long>(std::ceil(bytes));
}

// ---------------------------------------------------------------------------
// Scheduling one core group (1 cube core + r vector cores) over identical
// chunks. Pipes are in-order queues; chunk c's vector work runs on vector
// core c mod r. Program order per chunk is the lowering's order, except that
// input loads (prefetch) are issued `depth` chunks ahead per core: the load
// of chunk q waits until chunk q - depth on the same core has finished (its
// buffer slot is free), so with depth 2 the next chunk's loads overlap the
// current chunk's compute.
//
// Every chunk is the same work, so the schedule becomes periodic. Chunks are
// simulated until the cycles per chunk, measured over consecutive windows,
// agree to kPeriodTolerance (or all chunks or kIssueBudget instructions are
// done); the rest is extrapolated at that period.

constexpr double kPeriodTolerance = 1e-3;
constexpr long long kIssueBudget = 100000;
constexpr int kTraceChunks = 8;  // chunks kept in the timeline

struct Simulation {
  long long simulated = 0;            // chunks simulated
  double makespan = 0;                // when all simulated chunks are done
  double period = 0;                  // steady-state cycles per chunk
  std::vector<Instruction> timeline;  // the first kTraceChunks chunks
};

Simulation Simulate(const std::vector<Instr>& instrs, long long chunks,
                    int depth, int vectors) {
  const size_t n = instrs.size();
  const int window = 2 * depth * vectors;
  // Finish times are needed only within a chunk and for the chunk_end of
  // the chunk `lookahead` back: a ring of that many chunks suffices.
  const int ring = depth * vectors + 2;
  std::vector<double> finish(n * ring, 0.0);
  std::vector<double> chunk_end(ring, 0.0);
  std::array<std::vector<double>, kPipeCount> pipe_free;
  for (auto& p : pipe_free) p.assign(vectors, 0.0);
  std::vector<double> makespan{0.0};  // makespan[k]: first k chunks done
  Simulation sim;
  long long issued = 0;

  const auto issue = [&](long long c, size_t i) {
    const Instr& in = instrs[i];
    const size_t slot = static_cast<size_t>(c % ring);
    const int core =
        IsVectorCorePipe(in.pipe) ? static_cast<int>(c % vectors) : 0;
    double ready = 0.0;
    for (const Dep& d : in.deps) {
      ready = std::max(ready, finish[slot * n + d.instr] + d.latency);
    }
    if (in.prefetch) {
      const int lookahead = IsVectorCorePipe(in.pipe) ? depth * vectors : depth;
      if (c >= lookahead) {
        ready = std::max(ready, chunk_end[(c - lookahead) % ring]);
      }
    }
    double& free = pipe_free[static_cast<int>(in.pipe)][core];
    const double start = std::max(ready, free);
    free = start + in.cycles;
    finish[slot * n + i] = free;
    chunk_end[slot] = std::max(chunk_end[slot], free);
    ++issued;
    if (c < kTraceChunks) {
      sim.timeline.push_back(Instruction{in.pipe, core, static_cast<int>(c),
                                         in.step, in.batch, in.what, in.bytes,
                                         start, free});
    }
  };

  std::array<long long, 2> prefetched{0, 0};  // next to prefetch: cube, vector
  double last_period = -1.0;
  for (long long c = 0; c < chunks; ++c) {
    for (int side = 0; side < 2; ++side) {
      const int lookahead = side == 0 ? depth : depth * vectors;
      for (long long& q = prefetched[side]; q < chunks && q < c + lookahead;
           ++q) {
        chunk_end[q % ring] = 0.0;
        for (size_t i = 0; i < n; ++i) {
          if (instrs[i].prefetch &&
              IsVectorCorePipe(instrs[i].pipe) == (side == 1)) {
            issue(q, i);
          }
        }
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (!instrs[i].prefetch) issue(c, i);
    }
    makespan.push_back(std::max(makespan.back(), chunk_end[c % ring]));
    const long long done = c + 1;
    if (done >= 2 * window && done % window == 0) {
      const double period = (makespan[done] - makespan[done - window]) / window;
      const bool settled =
          std::abs(period - last_period) <= kPeriodTolerance * period;
      last_period = period;
      if (settled || issued >= kIssueBudget) break;
    }
  }
  sim.simulated = static_cast<long long>(makespan.size()) - 1;
  sim.makespan = makespan.back();
  const long long w = std::min<long long>(window, sim.simulated / 2);
  sim.period = w > 0
                   ? (makespan[sim.simulated] - makespan[sim.simulated - w]) / w
                   : makespan[sim.simulated];
  return sim;
}

std::string KiB(long long bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f KB", bytes / 1024.0);
  return text;
}

}  // namespace

CostReport EstimateCost(const Plan& plan, const PipelinePrecision& precision,
                        const Workload& workload, const HardwareProfile& hw) {
  if (workload.batch < 1 || workload.heads < 1 || workload.seq < 1) {
    throw InputError("workload: batch, heads and seq must be >= 1");
  }
  TRISIM_ASSERT(plan.chunk >= 1 && hw.cube_cores >= 1 &&
                hw.vector_cores % hw.cube_cores == 0);
  CostReport report;
  report.profile = hw.name;
  report.clock_mhz = hw.clock_mhz;

  const Lowering lowering(plan, precision, hw, workload.batch_parallel_steps);
  const std::vector<Instr>& instrs = lowering.instrs();

  // Working sets against buffer sizes: double-buffered if two chunks fit,
  // single-buffered (reported) if one does, reported as overflow otherwise.
  int depth = workload.double_buffer ? 2 : 1;
  struct Check {
    const char* name;
    Unit side;
    long long capacity;
  };
  const Check checks[] = {{"L1", Unit::kCube, hw.l1_bytes},
                          {"UB", Unit::kVector, hw.ub_bytes}};
  for (const Check& check : checks) {
    const long long per_chunk = lowering.WorkingSet(check.side, false);
    const long long constant = lowering.WorkingSet(check.side, true);
    if (per_chunk == 0) continue;
    if (depth == 2 && 2 * per_chunk + constant > check.capacity) {
      depth = 1;
      report.notes.push_back(std::string("double buffering off: two chunks "
                                         "need ") +
                             KiB(2 * per_chunk + constant) + " of " +
                             check.name + " (" + KiB(check.capacity) + ")");
    }
    if (per_chunk + constant > check.capacity) {
      report.overflows.push_back(
          std::string(check.name) + ": one chunk needs " +
          KiB(per_chunk + constant) + ", capacity " + KiB(check.capacity) +
          " (the plan must be tiled across chunks of "
          "work; priced as if it fit)");
    }
  }
  for (const Check& check : checks) {
    const long long per_chunk = lowering.WorkingSet(check.side, false);
    if (per_chunk == 0) continue;
    report.buffers.push_back(BufferUse{
        check.name, depth * per_chunk + lowering.WorkingSet(check.side, true),
        check.capacity});
  }
  report.double_buffered = depth == 2;

  // Chunks over core groups: batch x heads x ceil(seq / C) independent
  // chunks, the busiest group taking ceil(chunks / groups).
  const int vectors = hw.VectorsPerCube();
  report.chunks =
      workload.batch * workload.heads * CeilDiv(workload.seq, plan.chunk);
  const long long groups = std::min<long long>(hw.cube_cores, report.chunks);
  report.chunks_per_group = CeilDiv(report.chunks, groups);
  bool uses_cube = false, uses_vector = false;
  std::array<double, kPipeCount> busy_per_chunk{};
  for (const Instr& in : instrs) {
    (IsVectorCorePipe(in.pipe) ? uses_vector : uses_cube) = true;
    busy_per_chunk[static_cast<int>(in.pipe)] += in.cycles;
    report.gm_bytes_per_chunk += in.gm_bytes;
  }
  report.cube_cores_used = uses_cube ? static_cast<int>(groups) : 0;
  report.vector_cores_used = uses_vector ? static_cast<int>(std::min<long long>(
                                               groups * vectors, report.chunks))
                                         : 0;

  // Simulate to the steady state, then extrapolate (sim.period).
  Simulation sim = Simulate(instrs, report.chunks_per_group, depth, vectors);
  report.chunk_cycles = sim.period;
  const double schedule =
      sim.makespan +
      static_cast<double>(report.chunks_per_group - sim.simulated) * sim.period;
  report.simulated_chunks = sim.simulated;

  // Per-core busy cycles; GM is shared by the whole chip.
  const long long per_vector_core = CeilDiv(report.chunks_per_group, vectors);
  for (int p = 0; p < kPipeCount; ++p) {
    const Pipe pipe = static_cast<Pipe>(p);
    report.pipes[p].busy_cycles =
        pipe == Pipe::kGm
            ? report.gm_bytes_per_chunk * static_cast<double>(report.chunks) /
                  hw.gm_bytes_per_cycle
            : busy_per_chunk[p] *
                  static_cast<double>(IsVectorCorePipe(pipe)
                                          ? per_vector_core
                                          : report.chunks_per_group);
  }
  report.total_cycles =
      std::max(schedule, report.pipes[static_cast<int>(Pipe::kGm)].busy_cycles);
  report.time_us = report.total_cycles / hw.clock_mhz;
  for (int p = 0; p < kPipeCount; ++p) {
    report.pipes[p].utilization =
        report.total_cycles > 0
            ? report.pipes[p].busy_cycles / report.total_cycles
            : 0.0;
    if (report.pipes[p].utilization >
        report.pipes[static_cast<int>(report.bottleneck)].utilization) {
      report.bottleneck = static_cast<Pipe>(p);
    }
  }

  // Per-step breakdown: cycles per chunk by pipe (a batch's split evenly
  // over its steps), and when the step ran in the first chunk.
  report.batches = lowering.batches();
  report.steps.resize(plan.steps.size());
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    report.steps[s].index = static_cast<int>(s);
    report.steps[s].unit = lowering.units()[s];
    report.steps[s].start = -1;
  }
  for (size_t b = 0; b < report.batches.size(); ++b) {
    for (int s : report.batches[b]) report.steps[s].batch = static_cast<int>(b);
  }
  const auto members = [&](int step, int batch) {
    return batch >= 0 ? report.batches[batch] : std::vector<int>{step};
  };
  for (const Instr& in : instrs) {
    if (in.step < 0) {
      report.io_cycles[static_cast<int>(in.pipe)] += in.cycles;
      continue;
    }
    const std::vector<int> steps = members(in.step, in.batch);
    for (int s : steps) {
      report.steps[s].cycles[static_cast<int>(in.pipe)] +=
          in.cycles / static_cast<double>(steps.size());
    }
  }
  for (const Instruction& in : sim.timeline) {
    if (in.chunk != 0 || in.step < 0) continue;
    for (int s : members(in.step, in.batch)) {
      StepCost& step = report.steps[s];
      step.start = step.start < 0 ? in.start : std::min(step.start, in.start);
      step.end = std::max(step.end, in.end);
    }
  }
  for (StepCost& step : report.steps) step.start = std::max(step.start, 0.0);
  report.timeline = std::move(sim.timeline);
  return report;
}

}  // namespace trisim
