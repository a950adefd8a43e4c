#include "core/plan.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "core/status.h"

namespace trisim {

View View::Block(int r, int c, int nr, int nc) const {
  TRISIM_ASSERT(r >= 0 && c >= 0 && r + nr <= rows && c + nc <= cols);
  return View{buffer, row + r, col + c, nr, nc};
}

bool View::Overlaps(const View& other) const {
  return buffer == other.buffer && row < other.row + other.rows &&
         other.row < row + rows && col < other.col + other.cols &&
         other.col < col + cols;
}

bool View::Covers(const View& other) const {
  return buffer == other.buffer && row <= other.row && col <= other.col &&
         row + rows >= other.row + other.rows &&
         col + cols >= other.col + other.cols;
}

bool Mask::Keeps(int i, int j) const {
  switch (kind) {
    case Kind::kNone:
      return true;
    case Kind::kBand:
      return i >= j && i - j <= width;
    case Kind::kBlockDiagonal:
      return i / width == j / width;
  }
  return true;
}

std::string Mask::Name() const {
  switch (kind) {
    case Kind::kNone:
      return "none";
    case Kind::kBand:
      return "band:" + std::to_string(width);
    case Kind::kBlockDiagonal:
      return "block:" + std::to_string(width);
  }
  return "none";
}

namespace {

int ParsePositiveInt(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 0 || value > 1 << 20) {
    throw InputError(what + ": expected a non-negative integer, got '" + text +
                     "'");
  }
  return static_cast<int>(value);
}

}  // namespace

Mask ParseMask(const std::string& text) {
  Mask mask;
  if (text == "none") return mask;
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  if (colon != std::string::npos && (kind == "band" || kind == "block")) {
    mask.width = ParsePositiveInt(text.substr(colon + 1), "--mask " + text);
    mask.kind = kind == "band" ? Mask::Kind::kBand : Mask::Kind::kBlockDiagonal;
    if (mask.kind == Mask::Kind::kBlockDiagonal && mask.width < 1) {
      throw InputError("--mask " + text + ": block size must be >= 1");
    }
    return mask;
  }
  throw InputError("--mask: unknown mask '" + text +
                   "' (allowed: none, band:W, block:B)");
}

const char* OpName(OpKind op) {
  switch (op) {
    case OpKind::kIdentity:
      return "identity";
    case OpKind::kZero:
      return "zero";
    case OpKind::kCopy:
      return "copy";
    case OpKind::kLinComb:
      return "lincomb";
    case OpKind::kMatMul:
      return "matmul";
    case OpKind::kMask:
      return "mask";
    case OpKind::kForwardRow:
      return "forward-row";
    case OpKind::kMmad:
      return "mmad";
    case OpKind::kStore:
      return "store";
    case OpKind::kTranspose:
      return "transpose";
    case OpKind::kSync:
      return "sync";
  }
  return "?";
}

const char* MemoryName(Memory memory) {
  switch (memory) {
    case Memory::kNone:
      return "-";
    case Memory::kGM:
      return "GM";
    case Memory::kL1:
      return "L1";
    case Memory::kL0A:
      return "L0A";
    case Memory::kL0B:
      return "L0B";
    case Memory::kL0C:
      return "L0C";
    case Memory::kUB:
      return "UB";
    case Memory::kRegisters:
      return "registers";
  }
  return "?";
}

const char* FormatClassName(FormatClass format) {
  switch (format) {
    case FormatClass::kDefault:
      return "default";
    case FormatClass::kInput:
      return "input";
    case FormatClass::kStorage:
      return "storage";
    case FormatClass::kOutput:
      return "output";
    case FormatClass::kOperand:
      return "operand";
    case FormatClass::kVector:
      return "vector";
    case FormatClass::kAccumulator:
      return "accumulator";
    case FormatClass::kFp32:
      return "fp32";
  }
  return "?";
}

const char* KernelPipeName(KernelPipe pipe) {
  switch (pipe) {
    case KernelPipe::kNone:
      return "-";
    case KernelPipe::kMTE2:
      return "MTE2";
    case KernelPipe::kMTE1:
      return "MTE1";
    case KernelPipe::kM:
      return "M";
    case KernelPipe::kFIX:
      return "FIX";
    case KernelPipe::kV:
      return "V";
    case KernelPipe::kMTE3:
      return "MTE3";
    case KernelPipe::kS:
      return "S";
    case KernelPipe::kHost:
      return "host";
  }
  return "?";
}

const char* SyncKindName(Sync::Kind kind) {
  switch (kind) {
    case Sync::Kind::kSetFlag:
      return "set_flag";
    case Sync::Kind::kWaitFlag:
      return "wait_flag";
    case Sync::Kind::kBarrier:
      return "barrier";
    case Sync::Kind::kCrossCoreSet:
      return "cross_core_set";
    case Sync::Kind::kCrossCoreWait:
      return "cross_core_wait";
    case Sync::Kind::kVectorScalar:
      return "vector_scalar";
  }
  return "?";
}

OpUnit UnitOf(OpKind op) {
  switch (op) {
    case OpKind::kMatMul:
    case OpKind::kMmad:
      return OpUnit::kCube;
    case OpKind::kStore:  // leaves the accumulator through FIXPIPE
      return OpUnit::kFixpipe;
    case OpKind::kSync:
      return OpUnit::kSync;
    case OpKind::kLinComb:
    case OpKind::kMask:  // a select per element
    case OpKind::kForwardRow:
      return OpUnit::kVector;
    case OpKind::kIdentity:
    case OpKind::kZero:
    case OpKind::kCopy:
    case OpKind::kTranspose:
      return OpUnit::kMove;
  }
  TRISIM_ASSERT(false);
  return OpUnit::kMove;
}

const char* OpUnitName(OpUnit unit) {
  switch (unit) {
    case OpUnit::kCube:
      return "cube";
    case OpUnit::kVector:
      return "vector";
    case OpUnit::kMove:
      return "move";
    case OpUnit::kFixpipe:
      return "fixpipe";
    case OpUnit::kSync:
      return "sync";
  }
  return "?";
}

std::vector<View> Step::Reads() const {
  std::vector<View> reads = in;
  if (op == OpKind::kForwardRow && row_reduce == RowReduce::kNone)
    reads.push_back(out.Block(0, 0, row, out.cols));
  if (op == OpKind::kMmad && accumulate) reads.push_back(out);
  return reads;
}

View Step::Writes() const {
  if (op == OpKind::kSync) return View{};
  if (op == OpKind::kForwardRow) {
    return row_reduce == RowReduce::kNone ? out.Block(row, 0, 1, row)
                                          : out.Block(row, 0, 1, out.cols);
  }
  return out;
}

long long Step::Flops() const {
  switch (op) {
    case OpKind::kSync:
      return 0;
    case OpKind::kMatMul:
    case OpKind::kMmad: {
      long long macs = 0;
      for (size_t p = 0; p + 1 < in.size(); p += 2) {
        macs += 1LL * in[p].rows * in[p].cols * in[p + 1].cols;
      }
      return macs;
    }
    case OpKind::kForwardRow:
      return row_reduce == RowReduce::kNone ? 1LL * row * row
                                            : 2LL * out.cols * out.cols;
    default:
      return 1LL * out.rows * out.cols * std::max<size_t>(1, in.size());
  }
}

std::vector<int> Plan::Producers(int step, const View& read) const {
  std::vector<int> producers;
  if (read.rows == 0 || read.cols == 0) return producers;
  for (int w = step - 1; w >= 0; --w) {
    const View written = steps[w].Writes();
    if (!written.Overlaps(read)) continue;
    producers.push_back(w);
    if (written.Covers(read)) break;
  }
  return producers;
}

std::vector<std::vector<int>> Plan::Dependencies() const {
  std::vector<std::vector<int>> deps(steps.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    for (const View& read : steps[s].Reads()) {
      const std::vector<int> p = Producers(static_cast<int>(s), read);
      deps[s].insert(deps[s].end(), p.begin(), p.end());
    }
    std::sort(deps[s].begin(), deps[s].end());
    deps[s].erase(std::unique(deps[s].begin(), deps[s].end()), deps[s].end());
  }
  return deps;
}

bool Plan::SameCopyPosition(int a, int b) const {
  const std::vector<CopyPosition>& x = steps.at(a).copies;
  const std::vector<CopyPosition>& y = steps.at(b).copies;
  for (size_t level = 0; level < x.size() && level < y.size(); ++level) {
    if (x[level].scope == y[level].scope) continue;
    const CopyScope& u = copy_scopes[x[level].scope];
    const CopyScope& v = copy_scopes[y[level].scope];
    return a != b && u.family == v.family && u.parent == v.parent &&
           x[level].position == y[level].position;
  }
  return false;  // same instances all the way: not copies of each other
}

std::string Plan::ViewName(const View& view) const {
  const Buffer& b = buffers.at(view.buffer);
  std::ostringstream os;
  os << b.name;
  if (view.rows != b.rows || view.cols != b.cols || view.row || view.col) {
    os << '[' << view.row << ':' << view.row + view.rows << ", " << view.col
       << ':' << view.col + view.cols << ']';
  }
  return os.str();
}

int Plan::CountSteps(OpKind op) const {
  return static_cast<int>(std::count_if(
      steps.begin(), steps.end(), [op](const Step& s) { return s.op == op; }));
}

std::string Plan::Describe() const {
  std::ostringstream os;
  os << "plan " << method << " (" << options << "), C = " << chunk << ": "
     << steps.size() << " steps, " << CountSteps(OpKind::kMatMul)
     << " matmuls, " << CountSteps(OpKind::kForwardRow)
     << " forward-substitution rows\n";
  if (IsKernelPlan()) {
    os << "kernel " << kernel.name << ": " << kernel.summary << "\n  source "
       << kernel.source << "\n  " << CountSteps(OpKind::kMmad) << " mmads, "
       << CountSteps(OpKind::kStore) << " stores, " << CountSteps(OpKind::kSync)
       << " syncs; work items per core: " << kernel.items_loaded_per_core
       << " loaded, " << kernel.items_computed_per_core
       << " computed at once\n";
    for (const std::string& setting : kernel.settings) {
      os << "  setting " << setting << '\n';
    }
    for (size_t i = 0; i < launches.size(); ++i) {
      os << "  launch " << i << ": " << launches[i].name
         << (launches[i].zero_fill ? " (zero-fill)" : "") << " - "
         << launches[i].note << '\n';
    }
    for (const Buffer& b : buffers) {
      os << "  buffer " << b.name << ' ' << b.rows << 'x' << b.cols << " in "
         << MemoryName(b.memory) << ", " << FormatClassName(b.format) << '\n';
    }
  }
  const auto deps = Dependencies();
  for (size_t s = 0; s < steps.size(); ++s) {
    const Step& step = steps[s];
    if (step.op == OpKind::kSync) {
      os << "  #" << s << " sync  " << SyncKindName(step.sync.kind) << '('
         << KernelPipeName(step.sync.from) << " -> "
         << KernelPipeName(step.sync.to) << ", " << step.sync.event << ")";
      if (!step.label.empty()) os << "  [" << step.label << "]";
      os << '\n';
      continue;
    }
    os << "  #" << s << ' ' << OpName(step.op) << "  " << ViewName(step.out)
       << " (" << step.out.rows << 'x' << step.out.cols << ") <-";
    if (step.op == OpKind::kMatMul || step.op == OpKind::kMmad) {
      if (step.op == OpKind::kMmad) os << (step.accumulate ? " acc +" : "");
      os << (step.sign < 0 ? " -" : " ");
      for (size_t p = 0; p + 1 < step.in.size(); p += 2) {
        os << (p ? " + " : "") << ViewName(step.in[p]) << " * "
           << ViewName(step.in[p + 1]);
      }
    } else if (step.op == OpKind::kLinComb) {
      for (size_t i = 0; i < step.in.size(); ++i) {
        os << ' ' << (step.coef[i] < 0 ? "- " : (i ? "+ " : ""))
           << std::abs(step.coef[i]) << '*' << ViewName(step.in[i]);
      }
    } else if (step.op == OpKind::kMask) {
      os << ' ' << step.mask.Name() << '(' << ViewName(step.in[0]) << ')';
    } else if (step.op == OpKind::kForwardRow) {
      os << " row " << step.row << " from " << ViewName(step.in[0]);
      if (step.row_reduce != Step::RowReduce::kNone) {
        os << (step.row_sign < 0 ? " minus" : " plus") << " lane sum ("
           << (step.row_reduce == Step::RowReduce::kHalving ? "halving"
                                                            : "sequential")
           << ')';
      }
    } else {
      for (const View& v : step.in) os << ' ' << ViewName(v);
    }
    os << "  [" << step.label << "]";
    if (step.pipe != KernelPipe::kNone) os << " @" << KernelPipeName(step.pipe);
    if (step.once_per_core) os << " (once per core)";
    if (!deps[s].empty()) {
      os << "  deps:";
      for (int d : deps[s]) os << ' ' << d;
    }
    os << '\n';
  }
  return os.str();
}

PlanBuilder::PlanBuilder(std::string method, std::string options, int chunk) {
  plan_.method = std::move(method);
  plan_.options = std::move(options);
  plan_.chunk = chunk;
}

View PlanBuilder::NewBuffer(const std::string& name, int rows, int cols,
                            BufferRole role) {
  std::string full;
  for (const auto& scope : scopes_) full += scope;
  full += name;
  // Keep names unique: a second "T" in the same scope becomes "T#2".
  int copies = 0;
  for (const auto& b : plan_.buffers) {
    if (b.name == full || b.name.rfind(full + "#", 0) == 0) ++copies;
  }
  if (copies > 0) full += "#" + std::to_string(copies + 1);
  plan_.buffers.push_back(Buffer{full, rows, cols, role});
  return View{static_cast<int>(plan_.buffers.size()) - 1, 0, 0, rows, cols};
}

View PlanBuilder::Identity(int n) {
  for (const auto& [size, view] : identities_) {
    if (size == n) return view;
  }
  const auto saved = scopes_;
  scopes_.clear();
  const View view =
      NewBuffer("I" + std::to_string(n), n, n, BufferRole::kConstant);
  scopes_ = saved;
  // A shared constant belongs to no copy: it must not shift the positions
  // of the copy that happens to ask for it first.
  const auto open_copies = std::move(copies_);
  copies_.clear();
  SetIdentity(view, "constant identity");
  copies_ = open_copies;
  identities_.emplace_back(n, view);
  return view;
}

void PlanBuilder::PushScope(const std::string& prefix) {
  scopes_.push_back(prefix);
}
void PlanBuilder::PopScope() { scopes_.pop_back(); }

void PlanBuilder::PushCopy(const std::string& family, int index) {
  const int parent = copies_.empty() ? -1 : copies_.back().scope;
  plan_.copy_scopes.push_back(CopyScope{family, index, parent});
  copies_.push_back(
      CopyPosition{static_cast<int>(plan_.copy_scopes.size()) - 1, 0});
}

void PlanBuilder::PopCopy() {
  TRISIM_ASSERT(!copies_.empty());
  copies_.pop_back();
}

void PlanBuilder::Add(Step step) {
  TRISIM_ASSERT(step.out.buffer >= 0 || step.op == OpKind::kSync);
  step.launch = launch_;
  step.once_per_core = once_per_core_;
  step.vector_core = vector_core_;
  if (step.pipe == KernelPipe::kNone) step.pipe = pipe_;
  if (step.pipe == KernelPipe::kNone && step.op != OpKind::kSync &&
      !plan_.kernel.name.empty()) {
    step.pipe = InferPipe(step);
  }
  step.copies = copies_;
  for (CopyPosition& open : copies_) ++open.position;
  plan_.steps.push_back(std::move(step));
}

KernelPipe PlanBuilder::InferPipe(const Step& step) const {
  const auto memory = [&](const View& v) {
    return plan_.buffers[v.buffer].memory;
  };
  const Memory out = memory(step.out);
  switch (step.op) {
    case OpKind::kMmad:
      return KernelPipe::kM;
    case OpKind::kStore:
      return KernelPipe::kFIX;
    case OpKind::kTranspose:
      return KernelPipe::kHost;
    case OpKind::kLinComb:
    case OpKind::kForwardRow:
    case OpKind::kMask:
      return KernelPipe::kV;
    case OpKind::kMatMul:
      return KernelPipe::kM;
    default:
      break;
  }
  const Memory in = step.in.empty() ? Memory::kNone : memory(step.in[0]);
  if (out == Memory::kL0A || out == Memory::kL0B) return KernelPipe::kMTE1;
  if ((out == Memory::kL1 || out == Memory::kUB) && in == Memory::kGM) {
    return KernelPipe::kMTE2;
  }
  if (out == Memory::kGM && in == Memory::kUB) return KernelPipe::kMTE3;
  if (out == Memory::kUB || out == Memory::kRegisters) return KernelPipe::kV;
  if (out == Memory::kGM && in == Memory::kNone) return KernelPipe::kMTE3;
  return KernelPipe::kMTE1;
}

namespace {

Step MakeStep(OpKind op, View out, std::vector<View> in,
              const std::string& label) {
  Step s;
  s.op = op;
  s.out = out;
  s.in = std::move(in);
  s.label = label;
  return s;
}

}  // namespace

void PlanBuilder::SetIdentity(View out, const std::string& label) {
  TRISIM_ASSERT(out.rows == out.cols);
  Add(MakeStep(OpKind::kIdentity, out, {}, label));
}

void PlanBuilder::SetZero(View out, const std::string& label) {
  Add(MakeStep(OpKind::kZero, out, {}, label));
}

void PlanBuilder::Copy(View out, View in, const std::string& label) {
  TRISIM_ASSERT(out.rows == in.rows && out.cols == in.cols);
  Add(MakeStep(OpKind::kCopy, out, {in}, label));
}

void PlanBuilder::LinComb(View out, std::vector<double> coef,
                          std::vector<View> in, const std::string& label) {
  TRISIM_ASSERT(!in.empty() && in.size() <= 3 && coef.size() == in.size());
  for (const View& v : in) {
    TRISIM_ASSERT(v.rows == out.rows && v.cols == out.cols);
  }
  Step s = MakeStep(OpKind::kLinComb, out, std::move(in), label);
  s.coef = std::move(coef);
  Add(std::move(s));
}

void PlanBuilder::MatMul(View out, std::vector<View> factors, double sign,
                         const std::string& label) {
  TRISIM_ASSERT(!factors.empty() && factors.size() % 2 == 0);
  TRISIM_ASSERT(sign == 1.0 || sign == -1.0);
  for (size_t p = 0; p < factors.size(); p += 2) {
    TRISIM_ASSERT(factors[p].cols == factors[p + 1].rows);
    TRISIM_ASSERT(factors[p].rows == out.rows &&
                  factors[p + 1].cols == out.cols);
  }
  Step s = MakeStep(OpKind::kMatMul, out, std::move(factors), label);
  s.sign = sign;
  Add(std::move(s));
}

void PlanBuilder::ApplyMask(View out, View in, Mask mask,
                            const std::string& label) {
  TRISIM_ASSERT(out.rows == in.rows && out.cols == in.cols);
  Step s = MakeStep(OpKind::kMask, out, {in}, label);
  s.mask = mask;
  Add(std::move(s));
}

void PlanBuilder::ForwardRow(View out, View l, int row,
                             const std::string& label) {
  TRISIM_ASSERT(out.rows == out.cols && l.rows == out.rows &&
                l.cols == out.cols && row > 0 && row < out.rows);
  Step s = MakeStep(OpKind::kForwardRow, out, {l}, label);
  s.row = row;
  Add(std::move(s));
}

void PlanBuilder::LaneRow(View w, int row, Step::RowReduce order, double sign,
                          const std::string& label) {
  TRISIM_ASSERT(w.rows == w.cols && row >= 0 && row < w.rows &&
                order != Step::RowReduce::kNone && (sign == 1 || sign == -1));
  Step s = MakeStep(OpKind::kForwardRow, w, {w}, label);
  s.row = row;
  s.row_reduce = order;
  s.row_sign = sign;
  Add(std::move(s));
}

std::vector<VectorIssue> ReductionIssues(Step::RowReduce order, int rows,
                                         int cols, const std::string& what) {
  std::vector<VectorIssue> adds;
  if (order == Step::RowReduce::kHalving) {
    for (int half = rows / 2; half >= 1; half /= 2) {
      adds.push_back({what + " level " + std::to_string(half), half * cols,
                      false, adds.empty()});
    }
  } else {
    for (int r = 1; r < rows; ++r) {
      adds.push_back(
          {what + " + row " + std::to_string(r), cols, false, adds.empty()});
    }
  }
  return adds;
}

void PlanBuilder::Issued(std::vector<VectorIssue> issued) {
  TRISIM_ASSERT(!plan_.steps.empty());
  plan_.steps.back().issued = std::move(issued);
}

View PlanBuilder::NewTile(const std::string& name, int rows, int cols,
                          Memory memory, FormatClass format, BufferRole role) {
  const View view = NewBuffer(name, rows, cols, role);
  plan_.buffers.back().memory = memory;
  plan_.buffers.back().format = format;
  return view;
}

void PlanBuilder::Mmad(View acc, std::vector<View> factors, bool accumulate,
                       const std::string& label) {
  TRISIM_ASSERT(!factors.empty() && factors.size() % 2 == 0);
  TRISIM_ASSERT(plan_.buffers[acc.buffer].role == BufferRole::kAccumulator);
  for (size_t p = 0; p < factors.size(); p += 2) {
    TRISIM_ASSERT(factors[p].cols == factors[p + 1].rows);
    TRISIM_ASSERT(factors[p].rows == acc.rows &&
                  factors[p + 1].cols == acc.cols);
  }
  Step s = MakeStep(OpKind::kMmad, acc, std::move(factors), label);
  s.accumulate = accumulate;
  Add(std::move(s));
}

void PlanBuilder::Store(View out, View acc, const std::string& label) {
  TRISIM_ASSERT(out.rows == acc.rows && out.cols == acc.cols);
  TRISIM_ASSERT(plan_.buffers[acc.buffer].role == BufferRole::kAccumulator);
  Add(MakeStep(OpKind::kStore, out, {acc}, label));
}

void PlanBuilder::Transpose(View out, View in, const std::string& label) {
  TRISIM_ASSERT(out.rows == in.cols && out.cols == in.rows);
  Add(MakeStep(OpKind::kTranspose, out, {in}, label));
}

namespace {
Step SyncStep(Sync::Kind kind, KernelPipe from, KernelPipe to, int event) {
  Step s;
  s.op = OpKind::kSync;
  s.sync = Sync{kind, from, to, event};
  s.pipe = from == KernelPipe::kNone ? KernelPipe::kS : from;
  return s;
}
}  // namespace

void PlanBuilder::SetFlag(KernelPipe from, KernelPipe to, int event) {
  Add(SyncStep(Sync::Kind::kSetFlag, from, to, event));
}
void PlanBuilder::WaitFlag(KernelPipe from, KernelPipe to, int event) {
  Step s = SyncStep(Sync::Kind::kWaitFlag, from, to, event);
  s.pipe = to;  // the waiting pipe stalls
  Add(std::move(s));
}
void PlanBuilder::SetWaitFlag(KernelPipe from, KernelPipe to, int event) {
  SetFlag(from, to, event);
  WaitFlag(from, to, event);
}
void PlanBuilder::Barrier(KernelPipe pipe) {
  Add(SyncStep(Sync::Kind::kBarrier, pipe, pipe, 0));
}
void PlanBuilder::CrossCoreSet(KernelPipe from, KernelPipe to, int event) {
  Add(SyncStep(Sync::Kind::kCrossCoreSet, from, to, event));
}
void PlanBuilder::CrossCoreWait(KernelPipe from, KernelPipe to, int event) {
  Step s = SyncStep(Sync::Kind::kCrossCoreWait, from, to, event);
  s.pipe = to;
  Add(std::move(s));
}
void PlanBuilder::VectorScalarSync(const std::string& label) {
  Step s =
      SyncStep(Sync::Kind::kVectorScalar, KernelPipe::kV, KernelPipe::kS, 0);
  s.label = label;
  Add(std::move(s));
}

int PlanBuilder::BeginLaunch(Launch launch) {
  plan_.launches.push_back(std::move(launch));
  launch_ = static_cast<int>(plan_.launches.size()) - 1;
  return launch_;
}

void PlanBuilder::SetKernel(KernelFacts facts) {
  plan_.kernel = std::move(facts);
}

Plan PlanBuilder::Finish(View input, View output) {
  plan_.input = input.buffer;
  plan_.output = output.buffer;
  return std::move(plan_);
}

}  // namespace trisim
