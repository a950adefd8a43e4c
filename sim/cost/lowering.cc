#include "sim/cost/lowering.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/status.h"
#include "sim/cost/batching.h"

namespace trisim {

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

namespace {

long long CeilDiv(long long a, long long b) { return (a + b - 1) / b; }

long long Area(const View& v) { return 1LL * v.rows * v.cols; }

}  // namespace

Lowering::Lowering(const Plan& plan, const PipelinePrecision& precision,
                   const HardwareProfile& hw, bool batch)
    : plan_(plan), pr_(precision), hw_(hw) {
  FindReads();
  PlaceSteps();
  FindConsumers();
  FindFinalAreas();
  FindBatches(batch);
  group_of_.assign(plan_.steps.size(), -1);
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (int s : groups_[g]) group_of_[s] = static_cast<int>(g);
  }
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

long long Lowering::Written(int s) const {
  const View w = plan_.steps[s].Writes();
  return 1LL * w.rows * w.cols;
}

void Lowering::FindReads() {
  const auto& steps = plan_.steps;
  reads_.resize(steps.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    for (const View& view : steps[s].Reads()) {
      Read read{view, plan_.Producers(static_cast<int>(s), view), false, false};
      const BufferRole role = plan_.buffers[view.buffer].role;
      read.from_input = role == BufferRole::kInput;
      read.constant = role == BufferRole::kConstant;
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
            if (units_[p] == Unit::kCube) on_cube += Written(p);
            if (units_[p] == Unit::kVector) on_vector += Written(p);
          }
        }
        units_[s] = on_cube > on_vector   ? Unit::kCube
                    : on_vector > on_cube ? Unit::kVector
                                          : default_side;
        break;
      }
      case OpKind::kMmad:
      case OpKind::kStore:
      case OpKind::kTranspose:
      case OpKind::kSync:
        // Kernel-level steps: a kernel plan is priced as issued by
        // sim/cost/kernel_lowering.h, never by this math-level lowering.
        TRISIM_ASSERT(false);
        break;
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
    const View w = step.Writes();
    if (w.buffer != plan_.output) continue;
    for (int v : {w.row, w.col, w.rows, w.cols}) g = std::gcd(g, v);
  }
  const int rows = out.rows / g, cols = out.cols / g;
  std::vector<int> owner(static_cast<size_t>(rows) * cols, -1);
  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    const View v = plan_.steps[s].Writes();
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

void Lowering::FindBatches(bool batch) {
  Batching b = trisim::FindBatches(
      plan_, batch, [this](int x, int y) { return SameInstructions(x, y); },
      [this](int s) { return BatchCapacity(s); },
      [this](int s) { return units_[s] == Unit::kNone; });
  groups_ = std::move(b.groups);
  batches_ = std::move(b.batches);
  group_batch_ = std::move(b.group_batch);
}

// Same unit, op, output and operand shapes, coefficients / sign / mask /
// row and destinations (cube, vector, part of X): the same instruction
// sequence on different data. Whether two steps are copies at all is the
// plan's record (batching.h); this checks they lower alike.
bool Lowering::SameInstructions(int a, int b) const {
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
  return true;
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

// Vector results a cube group reads leave UB when first needed: one MTE3
// store (UB -> GM, in the cube's operand format) of every producer not yet
// in GM, with the other copies of its batch (one instruction stores a whole
// batch). A diagonal block written row by row thus leaves once, not once per
// row. Attributed to the latest producer's step.
void Lowering::StoreForCube(const std::vector<int>& group) {
  std::vector<int> stored;
  for (int s : group) {
    for (const Read& read : reads_[s]) {
      for (int p : read.producers) {
        if (units_[p] != Unit::kVector || to_gm_[p] != kNoInstr) continue;
        for (int m : groups_[group_of_[p]]) {
          if (std::find(stored.begin(), stored.end(), m) == stored.end()) {
            stored.push_back(m);
          }
        }
      }
    }
  }
  if (stored.empty()) return;
  double bytes = 0;
  std::vector<Dep> deps;
  int latest = stored.front();
  for (int p : stored) {
    bytes += static_cast<double>(Written(p)) * pr_.operand_bytes;
    if (std::none_of(deps.begin(), deps.end(),
                     [&](const Dep& d) { return d.instr == ready_[p]; })) {
      deps.push_back({ready_[p], 0.0});
    }
    latest = std::max(latest, p);
  }
  const int saved = batch_;
  batch_ = group_batch_[group_of_[latest]];
  const int at = Emit(Pipe::kMte3, hw_.ub_to_gm.Cycles(bytes),
                      groups_[group_of_[latest]].front(), "UB -> GM (for cube)",
                      deps, bytes, bytes);
  batch_ = saved;
  for (int p : stored) to_gm_[p] = at;
}

// The group reads results of the other side: they left through GM
// (to_gm_: cube results when their producers ran, vector results by
// StoreForCube), a cross-core flag tells the consumer, and MTE2 brings them
// in, once per producer and side. Results that left in one instruction
// arrive in one move after one flag.
void Lowering::Arrive(const std::vector<int>& group, Unit side) {
  if (side == Unit::kCube) StoreForCube(group);
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
      bytes += static_cast<double>(Written(p)) *
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

}  // namespace trisim
