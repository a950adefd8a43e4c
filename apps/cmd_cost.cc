// trisim cost: cycles and time of an inversion method on the NPU tile
// pipeline model (sim/cost_model.h, sim/COST_MODEL.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "apps/cli_options.h"
#include "apps/commands.h"
#include "apps/method_options.h"
#include "core/kernels.h"
#include "core/output_files.h"
#include "core/status.h"
#include "sim/cost/kernel.h"
#include "sim/cost/kernel_lowering.h"
#include "sim/cost/kernel_readings.h"
#include "sim/cost/profile.h"
#include "sim/cost_model.h"
#include "sim/recipe.h"
#include "sim/recipe_fit.h"

namespace trisim::app {
namespace {

using Json = nlohmann::ordered_json;

struct CostOptions {
  MethodFlags method;
  std::string precision = "fp16";
  int chunk = 64;
  long long batch = 32, heads = 4, seq = 4096;
  std::string profile = kDefaultProfile;
  bool single_buffer = false;
  bool no_batch = false;
  bool json = false;
  bool csv = false;
  std::string trace;
  CLI::Option* trace_opt = nullptr;
  bool force = false;  // --trace may replace an existing file
  bool sweep = false;
  // Kernel-level pricing (sim/cost/kernel.h): "plan" prices the math-level
  // plan of --method (the idealised model); a kernel name prices that
  // kernel as issued, with the benchmark harness below.
  std::string kernel = "plan";
  std::string layout = "bsnd";
  std::string out_dtype = "fp32";
  bool no_zero_fill = false;
  bool authors_harness = false;
};

// The chunk sizes DOMAIN.md names as the ones kernels use.
constexpr int kSweepChunks[] = {16, 32, 64, 128};

Json PipesJson(const CostReport& r) {
  Json pipes = Json::object();
  for (int p = 0; p < kPipeCount; ++p) {
    pipes[PipeName(static_cast<Pipe>(p))] = {
        {"busy_cycles", r.pipes[p].busy_cycles},
        {"utilization", r.pipes[p].utilization}};
  }
  return pipes;
}

Json CyclesJson(const std::array<double, kPipeCount>& cycles) {
  Json j = Json::object();
  for (int p = 0; p < kPipeCount; ++p) {
    if (cycles[p] > 0) j[PipeName(static_cast<Pipe>(p))] = cycles[p];
  }
  return j;
}

void PrintJson(const CostOptions& o, const Plan& plan, const CostReport& r) {
  Json j;
  j["method"] = plan.method;
  j["method_options"] = plan.options;
  j["precision"] = o.precision;
  j["chunk"] = plan.chunk;
  j["batch"] = o.batch;
  j["heads"] = o.heads;
  j["seq"] = o.seq;
  j["profile"] = r.profile;
  j["clock_mhz"] = r.clock_mhz;
  j["total_cycles"] = r.total_cycles;
  j["time_us"] = r.time_us;
  j["bottleneck"] = PipeName(r.bottleneck);
  j["pipes"] = PipesJson(r);
  j["chunks"] = r.chunks;
  j["chunks_per_group"] = r.chunks_per_group;
  j["cube_cores_used"] = r.cube_cores_used;
  j["vector_cores_used"] = r.vector_cores_used;
  j["double_buffered"] = r.double_buffered;
  j["batch_parallel_steps"] = !o.no_batch;
  j["batches"] = r.batches;
  j["chunk_cycles"] = r.chunk_cycles;
  j["gm_bytes_per_chunk"] = r.gm_bytes_per_chunk;
  auto& buffers = j["buffers"] = Json::object();
  for (const BufferUse& b : r.buffers) {
    buffers[b.name] = {{"bytes", b.bytes}, {"capacity", b.capacity}};
  }
  j["overflows"] = r.overflows;
  j["notes"] = r.notes;
  j["io_cycles"] = CyclesJson(r.io_cycles);
  auto& steps = j["steps"] = Json::array();
  for (const StepCost& s : r.steps) {
    steps.push_back({{"index", s.index},
                     {"op", OpName(plan.steps[s.index].op)},
                     {"label", plan.steps[s.index].label},
                     {"unit", UnitName(s.unit)},
                     {"batch", s.batch >= 0 ? Json(s.batch) : Json()},
                     {"cycles", CyclesJson(s.cycles)},
                     {"start", s.start},
                     {"end", s.end}});
  }
  std::cout << j.dump(2) << '\n';
}

void PrintTable(const CostOptions& o, const Plan& plan, const CostReport& r) {
  std::printf(
      "trisim cost: %s (%s), precision %s, chunk %d, profile %s "
      "(%.0f MHz)\n",
      plan.method.c_str(), plan.options.c_str(), o.precision.c_str(),
      plan.chunk, r.profile.c_str(), r.clock_mhz);
  std::printf(
      "workload: batch %lld x heads %lld x seq %lld = %lld chunks on "
      "%d cube + %d vector cores (%lld chunks per core group), %s\n",
      o.batch, o.heads, o.seq, r.chunks, r.cube_cores_used, r.vector_cores_used,
      r.chunks_per_group,
      r.double_buffered ? "double-buffered" : "single-buffered");
  if (o.no_batch) {
    std::printf("batching off (--no-batch): every step is priced alone\n");
  } else {
    size_t batched = 0;
    for (const auto& b : r.batches) batched += b.size();
    std::printf(
        "batching: %zu steps in %zu batches of parallel copies, one "
        "instruction per pipe each (column b; --no-batch to price "
        "every step alone)\n",
        batched, r.batches.size());
  }
  std::printf(
      "total %.0f cycles = %.2f us; steady state %.1f cycles per "
      "chunk per core group; bottleneck %s\n\n",
      r.total_cycles, r.time_us, r.chunk_cycles, PipeName(r.bottleneck));
  std::printf("  %-12s %14s %12s\n", "pipe", "busy cycles", "utilisation");
  for (int p = 0; p < kPipeCount; ++p) {
    std::printf("  %-12s %14.0f %11.1f%%\n", PipeName(static_cast<Pipe>(p)),
                r.pipes[p].busy_cycles, 100.0 * r.pipes[p].utilization);
  }
  for (const BufferUse& b : r.buffers) {
    std::printf("  %s working set %.1f KB of %.1f KB\n", b.name.c_str(),
                b.bytes / 1024.0, b.capacity / 1024.0);
  }
  std::printf(
      "\nper step: cycles per chunk by pipe (a batch's split evenly); "
      "start..end in the first chunk\n  %4s %-11s %-6s %3s",
      "#", "op", "unit", "b");
  for (int p = 0; p < kPipeCount - 1; ++p) {
    std::printf(" %8s", PipeName(static_cast<Pipe>(p)));
  }
  std::printf(" %15s  %s\n", "start..end", "label");
  const auto row = [](const std::array<double, kPipeCount>& cycles) {
    for (int p = 0; p < kPipeCount - 1; ++p) {
      if (cycles[p] > 0) {
        std::printf(" %8.0f", cycles[p]);
      } else {
        std::printf(" %8s", "-");
      }
    }
  };
  std::printf("  %4s %-11s %-6s %3s", "io", "load/store", "", "");
  row(r.io_cycles);
  std::printf(" %15s  %s\n", "", "chunk input L and output X");
  for (const StepCost& s : r.steps) {
    const Step& step = plan.steps[s.index];
    const std::string batch = s.batch >= 0 ? std::to_string(s.batch) : "";
    std::printf("  %4d %-11s %-6s %3s", s.index, OpName(step.op),
                UnitName(s.unit), batch.c_str());
    row(s.cycles);
    char span[32];
    std::snprintf(span, sizeof(span), "%.0f..%.0f", s.start, s.end);
    std::printf(" %15s  %s\n", s.unit == Unit::kNone ? "" : span,
                step.label.c_str());
  }
}

// Chrome trace-event JSON (opens in Perfetto / chrome://tracing): one track
// per pipe of one core group, timestamps in microseconds at the clock.
void WriteTrace(const std::string& path, const Plan& plan,
                const CostReport& r) {
  std::ofstream out(path);
  if (!out) throw InputError("--trace: cannot write " + path);
  Json events = Json::array();
  const auto track = [](Pipe pipe, int core) {
    return IsVectorCorePipe(pipe) ? 100 * (core + 1) + static_cast<int>(pipe)
                                  : static_cast<int>(pipe);
  };
  std::vector<bool> named(1000, false);
  for (const Instruction& in : r.timeline) {
    const int tid = track(in.pipe, in.core);
    if (!named[tid]) {
      named[tid] = true;
      const std::string core = IsVectorCorePipe(in.pipe)
                                   ? "vector core " + std::to_string(in.core)
                                   : std::string("cube core");
      events.push_back({{"ph", "M"},
                        {"name", "thread_name"},
                        {"pid", 0},
                        {"tid", tid},
                        {"args", {{"name", core + " " + PipeName(in.pipe)}}}});
      events.push_back({{"ph", "M"},
                        {"name", "thread_sort_index"},
                        {"pid", 0},
                        {"tid", tid},
                        {"args", {{"sort_index", tid}}}});
    }
    Json args = {{"chunk", in.chunk},
                 {"instruction", in.what},
                 {"cycles", in.end - in.start}};
    if (in.bytes > 0) args["bytes"] = in.bytes;
    std::string name = in.what;
    if (in.step >= 0) {
      args["step"] = in.step;
      name = plan.steps[in.step].label;
    }
    if (in.batch >= 0) {
      args["batch"] = r.batches[in.batch];
      name += " (x" + std::to_string(r.batches[in.batch].size()) + ")";
    }
    events.push_back({{"ph", "X"},
                      {"name", name},
                      {"cat", PipeName(in.pipe)},
                      {"pid", 0},
                      {"tid", tid},
                      {"ts", in.start / r.clock_mhz},
                      {"dur", (in.end - in.start) / r.clock_mhz},
                      {"args", args}});
  }
  Json trace = {{"traceEvents", events},
                {"displayTimeUnit", "ns"},
                {"otherData",
                 {{"method", plan.method},
                  {"chunk", plan.chunk},
                  {"profile", r.profile},
                  {"note",
                   "simulated chunks of one core group (1 cube + "
                   "its vector cores); ts in us at the profile clock"}}}};
  out << trace.dump() << '\n';
  out.flush();
  if (!out) throw InputError("--trace: write failed");
}

void PrintWarnings(const CostReport& r) {
  for (const auto& overflow : r.overflows) {
    std::fprintf(stderr, "trisim: warning: buffer overflow: %s\n",
                 overflow.c_str());
  }
  for (const auto& note : r.notes) {
    std::fprintf(stderr, "trisim: note: %s\n", note.c_str());
  }
}

Workload MakeWorkload(const CostOptions& o) {
  CheckWorkloadFlags(o.batch, o.heads, o.seq);
  Workload w;
  w.batch = o.batch;
  w.heads = o.heads;
  w.seq = o.seq;
  w.double_buffer = !o.single_buffer;
  w.batch_parallel_steps = !o.no_batch;
  return w;
}

// Every method (default options) x chunk in kSweepChunks: a table of time
// per configuration, and how long the pricing itself took.
int RunSweep(const CostOptions& o) {
  const Workload workload = MakeWorkload(o);
  const Recipe recipe = LoadRecipe(o.precision);
  CheckRecipeAlone(recipe);
  const PipelinePrecision precision = PipelinePrecisionFor(recipe);
  const HardwareProfile profile = LoadProfile(o.profile);
  Json rows = Json::array();
  int configurations = 0;
  bool any_overflow = false;
  const auto begin = std::chrono::steady_clock::now();
  const std::clock_t cpu_begin = std::clock();
  for (const MethodInfo& m : AllMethods()) {
    Json row = {{"method", m.name}};
    for (int chunk : kSweepChunks) {
      const Plan plan = BuildPlan(m.name, MethodOptions{}, chunk);
      CheckRecipeFitsPlan(recipe, plan);
      const CostReport r = EstimateCost(plan, precision, workload, profile);
      row[std::to_string(chunk)] = {{"time_us", r.time_us},
                                    {"total_cycles", r.total_cycles},
                                    {"bottleneck", PipeName(r.bottleneck)},
                                    {"fits", r.overflows.empty()}};
      any_overflow |= !r.overflows.empty();
      ++configurations;
    }
    rows.push_back(row);
  }
  // Every kernel reading at every chunk it supports, the papers' harness.
  KernelWorkload kw;
  kw.batch = o.batch;
  kw.heads = o.heads;
  kw.seq = o.seq;
  Json kernel_rows = Json::array();
  for (const std::string& name : KernelReadings()) {
    Json row = {{"kernel", name}};
    for (int chunk : KernelChunks(name)) {
      const KernelCost k = PriceKernel(
          ReadKernel(name, chunk, kw, profile.cube_cores, profile.vector_cores),
          profile);
      row[std::to_string(chunk)] = {{"time_us", k.time_us},
                                    {"chunk_cycles", k.chunk_cycles}};
      ++configurations;
    }
    kernel_rows.push_back(row);
  }
  // Every kernel plan of issue 11 (core/kernels/), lowered as issued.
  for (const KernelInfo& info : AllKernels()) {
    Json row = {{"kernel", std::string(info.method) + " " + info.name}};
    for (int chunk : kSweepChunks) {
      if (!info.chunks.empty() &&
          std::find(info.chunks.begin(), info.chunks.end(), chunk) ==
              info.chunks.end()) {
        continue;
      }
      KernelChoice choice;
      choice.name = info.name;
      // Default method options, or the smallest block the kernel takes
      // (mbh's pto starts from 16 x 16 blocks).
      MethodOptions options;
      Plan plan;
      try {
        plan = BuildKernelPlan(info.method, options, choice, chunk);
      } catch (const InputError&) {
        options.block = 16;
        plan = BuildKernelPlan(info.method, options, choice, chunk);
      }
      const long long chunks =
          kw.batch * kw.heads * ((kw.seq + chunk - 1) / chunk);
      const KernelCost k = PriceKernel(
          LowerKernelPlan(plan, precision, chunks, kw.zero_fill, profile),
          profile);
      row[std::to_string(chunk)] = {{"time_us", k.time_us},
                                    {"chunk_cycles", k.chunk_cycles}};
      ++configurations;
    }
    kernel_rows.push_back(row);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
          .count();
  // CPU time too: on a shared, loaded machine the wall clock mostly
  // measures waiting for a core.
  const double cpu_seconds =
      static_cast<double>(std::clock() - cpu_begin) / CLOCKS_PER_SEC;
  if (o.csv) {
    std::printf("method,chunk,time_us,total_cycles,bottleneck,fits\n");
    for (const Json& row : rows) {
      for (int chunk : kSweepChunks) {
        const Json& cell = row[std::to_string(chunk)];
        std::printf("%s,%d,%.17g,%.17g,%s,%d\n",
                    row["method"].get<std::string>().c_str(), chunk,
                    cell["time_us"].get<double>(),
                    cell["total_cycles"].get<double>(),
                    cell["bottleneck"].get<std::string>().c_str(),
                    cell["fits"].get<bool>() ? 1 : 0);
      }
    }
    return 0;
  }
  if (o.json) {
    Json j = {{"precision", o.precision},
              {"batch", o.batch},
              {"heads", o.heads},
              {"seq", o.seq},
              {"profile", profile.name},
              {"methods", rows},
              {"kernels", kernel_rows},
              {"configurations", configurations},
              {"seconds_per_configuration", seconds / configurations},
              {"cpu_seconds_per_configuration", cpu_seconds / configurations}};
    std::cout << j.dump(2) << '\n';
    return 0;
  }
  std::printf(
      "trisim cost --sweep: time in us (bottleneck pipe), precision "
      "%s, batch %lld x heads %lld x seq %lld, profile %s\n\n  %-9s",
      o.precision.c_str(), o.batch, o.heads, o.seq, profile.name.c_str(),
      "method");
  for (int chunk : kSweepChunks)
    std::printf(" %20s", ("C=" + std::to_string(chunk)).c_str());
  std::printf("\n");
  for (const Json& row : rows) {
    std::printf("  %-9s", row["method"].get<std::string>().c_str());
    for (int chunk : kSweepChunks) {
      const Json& cell = row[std::to_string(chunk)];
      char text[40];
      std::snprintf(text, sizeof(text), "%.1f (%s)%s",
                    cell["time_us"].get<double>(),
                    cell["bottleneck"].get<std::string>().c_str(),
                    cell["fits"].get<bool>() ? "" : "!");
      std::printf(" %20s", text);
    }
    std::printf("\n");
  }
  std::printf("\n  %-20s", "kernel (as issued)");
  for (int chunk : kSweepChunks) {
    std::printf(" %20s", ("C=" + std::to_string(chunk)).c_str());
  }
  std::printf("\n");
  for (const Json& row : kernel_rows) {
    std::printf("  %-20s", row["kernel"].get<std::string>().c_str());
    for (int chunk : kSweepChunks) {
      const std::string key = std::to_string(chunk);
      if (!row.contains(key)) {
        std::printf(" %20s", "-");
        continue;
      }
      char text[40];
      std::snprintf(text, sizeof(text), "%.1f",
                    row[key]["time_us"].get<double>());
      std::printf(" %20s", text);
    }
    std::printf("\n");
  }
  if (any_overflow) std::printf("\n!: a working set overflows L1 or UB");
  std::printf(
      "\npriced %d configurations in %.3f ms wall, %.3f ms CPU: %.1f us "
      "wall, %.1f us CPU per configuration (plan and kernel building "
      "included)\n",
      configurations, seconds * 1e3, cpu_seconds * 1e3,
      seconds / configurations * 1e6, cpu_seconds / configurations * 1e6);
  return 0;
}

KernelWorkload MakeKernelWorkload(const CostOptions& o) {
  CheckWorkloadFlags(o.batch, o.heads, o.seq);
  KernelWorkload w;
  w.batch = o.batch;
  w.heads = o.heads;
  w.seq = o.seq;
  if (o.layout != "bsnd" && o.layout != "head-first") {
    throw InputError("--layout " + o.layout + ": allowed: bsnd, head-first");
  }
  w.bsnd = o.layout == "bsnd";
  if (o.out_dtype != "fp16" && o.out_dtype != "fp32") {
    throw InputError("--out-dtype " + o.out_dtype + ": allowed: fp16, fp32");
  }
  w.output_bytes = o.out_dtype == "fp32" ? 4 : 2;
  w.zero_fill = !o.no_zero_fill;
  if (o.authors_harness) {  // KERNELS.md section 5: fp16 in, fp32 out,
    w.batch = 32;           // zero-fill included, B = 32, H = 4
    w.heads = 4;
    w.input_bytes = 2;
    w.output_bytes = 4;
    w.zero_fill = true;
  }
  return w;
}

// Chrome trace of one core (group) of a kernel, tracks named as msprof's
// op-simulator traces (CUBE, MTE1, MTE2, MTE3, FIXP, VECTOR, SCALAR).
// `file` is the temporary Outputs gave for the --trace `path`.
void WriteKernelTrace(const std::string& file, const std::string& path,
                      const KernelCost& k, double clock_mhz) {
  {
    std::ofstream out(file);
    if (!out) throw InputError("--trace " + path + ": cannot write the file");
    Json events = Json::array();
    std::vector<bool> named(64, false);
    for (const KTraceEvent& e : k.trace) {
      const int tid = e.core * 8 + static_cast<int>(e.pipe);
      if (!named[tid]) {
        named[tid] = true;
        const std::string core =
            e.core == 0 ? "" : " (vector core " + std::to_string(e.core) + ")";
        events.push_back({{"ph", "M"},
                          {"name", "thread_name"},
                          {"pid", 0},
                          {"tid", tid},
                          {"args", {{"name", KPipeName(e.pipe) + core}}}});
      }
      events.push_back({{"ph", "X"},
                        {"name", e.what},
                        {"cat", KPipeName(e.pipe)},
                        {"pid", 0},
                        {"tid", tid},
                        {"ts", e.start / clock_mhz},
                        {"dur", (e.end - e.start) / clock_mhz},
                        {"args", {{"item", e.item}}}});
    }
    out << Json({{"traceEvents", events},
                 {"displayTimeUnit", "ns"},
                 {"otherData", {{"kernel", k.kernel}}}})
               .dump()
        << '\n';
    if (!out) throw InputError("--trace " + path + ": write failed");
  }
}

int RunKernel(const CostOptions& o) {
  const KernelChoice choice = ParseKernelChoice(o.kernel);
  const KernelWorkload workload = MakeKernelWorkload(o);
  const HardwareProfile profile = LoadProfile(o.profile);
  // The trace path is checked before pricing (core/output_files.h).
  Outputs outputs(o.force);
  const std::string trace_file =
      o.trace_opt->count() ? outputs.File("--trace", o.trace) : "";
  const std::vector<std::string> readings = KernelReadings();
  KernelProgram program;
  if (std::find(readings.begin(), readings.end(), choice.name) !=
      readings.end()) {
    if (!choice.settings.empty()) {
      throw InputError("--kernel " + choice.name +
                       ": a reading takes no settings");
    }
    program = ReadKernel(choice.name, o.chunk, workload, profile.cube_cores,
                         profile.vector_cores);
  } else {
    // A kernel plan of --method (core/kernels/, issue 11), lowered as issued;
    // a retired reading's name (triton-solve-tril, tilelang-solve-tril)
    // prices the plan it stands for.
    std::string method = o.method.method;
    KernelChoice plan_choice = choice;
    const bool alias = PlanForReading(choice.name, &method, &plan_choice.name);
    const Plan plan =
        BuildKernelPlan(method, alias ? MethodOptions{} : o.method.ToOptions(),
                        plan_choice, o.chunk);
    const long long chunks = workload.batch * workload.heads *
                             ((workload.seq + o.chunk - 1) / o.chunk);
    program = LowerKernelPlan(plan, PipelinePrecisionFor(o.precision), chunks,
                              workload.zero_fill, profile);
  }
  const KernelCost k =
      PriceKernel(program, profile, trace_file.empty() ? 0 : 4);
  if (!trace_file.empty()) {
    WriteKernelTrace(trace_file, o.trace, k, profile.clock_mhz);
    outputs.Commit();
  }
  if (o.json) {
    Json launches = Json::array();
    for (const KLaunchCost& l : k.launches) {
      launches.push_back({{"name", l.name},
                          {"cycles", l.cycles},
                          {"item_latency", l.item_latency},
                          {"item_period", l.item_period},
                          {"items_per_core", l.items_per_core}});
    }
    const Json j = {{"kernel", o.kernel},
                    {"chunk", o.chunk},
                    {"batch", workload.batch},
                    {"heads", workload.heads},
                    {"seq", workload.seq},
                    {"layout", workload.bsnd ? "bsnd" : "head-first"},
                    {"output_bytes", workload.output_bytes},
                    {"zero_fill", workload.zero_fill},
                    {"profile", profile.name},
                    {"clock_mhz", profile.clock_mhz},
                    {"chunks", program.chunks},
                    {"total_cycles", k.total_cycles},
                    {"time_us", k.time_us},
                    {"chunk_cycles", k.chunk_cycles},
                    {"launches", launches}};
    std::cout << j.dump(2) << '\n';
    return 0;
  }
  std::printf(
      "trisim cost --kernel %s: chunk %d, batch %lld x heads %lld x seq %lld "
      "(%s, %s out, zero-fill %s), profile %s (%.0f MHz)\n",
      o.kernel.c_str(), o.chunk, workload.batch, workload.heads, workload.seq,
      workload.bsnd ? "BSND" : "head-first",
      workload.output_bytes == 4 ? "fp32" : "fp16",
      workload.zero_fill ? "included" : "excluded", profile.name.c_str(),
      profile.clock_mhz);
  std::printf(
      "total %.0f cycles = %.2f us; %.0f cycles per chunk per core group\n",
      k.total_cycles, k.time_us, k.chunk_cycles);
  for (const KLaunchCost& l : k.launches) {
    std::printf(
        "  %-22s %12.0f cycles; item alone %.0f, steady %.0f per item, %lld "
        "items per core\n",
        l.name.c_str(), l.cycles, l.item_latency, l.item_period,
        l.items_per_core);
  }
  return 0;
}

// --csv: a header and one row for the priced configuration.
void PrintCsv(const CostOptions& o, const Plan& plan, const CostReport& r) {
  std::printf(
      "method,options,precision,chunk,batch,heads,seq,profile,total_cycles,"
      "time_us,chunk_cycles,bottleneck\n");
  std::printf("%s,\"%s\",%s,%d,%lld,%lld,%lld,%s,%.17g,%.17g,%.17g,%s\n",
              plan.method.c_str(), plan.options.c_str(), o.precision.c_str(),
              o.chunk, o.batch, o.heads, o.seq, r.profile.c_str(),
              r.total_cycles, r.time_us, r.chunk_cycles,
              PipeName(r.bottleneck));
}

int RunCost(const CostOptions& o) {
  if (o.json && o.csv) throw InputError("--json and --csv: choose one");
  if (o.sweep) return RunSweep(o);
  if (o.kernel != "plan") return RunKernel(o);
  const Workload workload = MakeWorkload(o);
  const Recipe recipe = LoadRecipe(o.precision);
  const Plan plan = BuildPlan(o.method.method, o.method.ToOptions(), o.chunk);
  CheckRecipeFitsPlan(recipe, plan);
  const PipelinePrecision precision = PipelinePrecisionFor(recipe);
  const HardwareProfile profile = LoadProfile(o.profile);
  // The trace path is checked before pricing; the file appears complete.
  Outputs outputs(o.force);
  const std::string trace_file =
      o.trace_opt->count() ? outputs.File("--trace", o.trace) : "";
  const CostReport report = EstimateCost(plan, precision, workload, profile);
  PrintWarnings(report);
  if (!trace_file.empty()) {
    WriteTrace(trace_file, plan, report);
    outputs.Commit();
  }
  if (o.json) {
    PrintJson(o, plan, report);
  } else if (o.csv) {
    PrintCsv(o, plan, report);
  } else {
    PrintTable(o, plan, report);
  }
  return 0;
}

}  // namespace

Command SetupCostCommand(CLI::App& root) {
  auto options = std::make_shared<CostOptions>();
  CLI::App* app = root.add_subcommand(
      "cost",
      "Cycle-count cost of an inversion method on an NPU tile-pipeline model "
      "(sim/COST_MODEL.md): total cycles and time, per-pipe busy cycles and "
      "utilisation, the bottleneck pipe, a per-step breakdown");
  AddMethodFlags(*app, options->method);
  std::string precisions;
  for (const auto& p : CostPrecisions()) {
    precisions += (precisions.empty() ? "" : " | ") + p;
  }
  app->add_option("--precision", options->precision,
                  "Precision recipe (fp64 is priced as fp32): " + precisions)
      ->capture_default_str();
  app->add_option("--chunk", options->chunk,
                  "Chunk size C, a power of two in [1, 1024]")
      ->capture_default_str();
  app->add_option("--batch", options->batch, "Batch size B, in [1, 2^20]")
      ->capture_default_str();
  app->add_option("--heads", options->heads, "Heads H, in [1, 2^16]")
      ->capture_default_str();
  app->add_option("--seq", options->seq,
                  "Sequence length T in tokens, in [1, 2^30]; B x H x "
                  "ceil(T/C) chunks are spread over the cores")
      ->capture_default_str();
  std::string shipped;
  for (const auto& name : ShippedProfiles()) {
    shipped += (shipped.empty() ? "" : " | ") + name;
  }
  app->add_option("--profile", options->profile,
                  "Hardware profile: a shipped name (" + shipped +
                      ") or a TOML file in the same format")
      ->capture_default_str();
  app->add_flag("--single-buffer", options->single_buffer,
                "Do not double-buffer chunk inputs (default: double-buffer "
                "when two chunks fit in L1 and UB)");
  app->add_flag("--no-batch", options->no_batch,
                "Price every plan step as its own instruction sequence "
                "(default: parallel copies of a step, e.g. one round on "
                "independent blocks, are one batched instruction per pipe)");
  app->add_flag("--csv", options->csv,
                "Print CSV (one row; with --sweep one row per method x chunk)");
  app->add_flag("--json", options->json,
                "Print JSON: total_cycles, time_us, bottleneck, pipes "
                "{busy_cycles, utilization}, steps, and more");
  options->trace_opt = app->add_option(
      "--trace", options->trace,
      "Write a Chrome trace-event JSON file of the pipeline timeline "
      "of one core group's first 8 chunks (open in Perfetto or "
      "chrome://tracing)");
  AddForceFlag(*app, &options->force);
  std::string kernels;
  for (const auto& k : KernelReadings()) kernels += " | " + k;
  for (const KernelInfo& k : AllKernels()) {
    kernels += std::string(" | ") + k.name + " (--method " + k.method + ")";
  }
  app->add_option("--kernel", options->kernel,
                  "plan (the math-level plan of --method, idealised) or a "
                  "kernel priced as issued: a reading "
                  "(sim/cost/kernel_readings.h) or a kernel plan of --method "
                  "(trisim kernels):" +
                      kernels +
                      "; a kernel plan's settings as name:key=value/..., "
                      "e.g. --method neumann --kernel pto --precision int8")
      ->capture_default_str();
  app->add_option("--layout", options->layout,
                  "--kernel workload layout: bsnd [B,T,H,C] or head-first")
      ->capture_default_str();
  app->add_option("--out-dtype", options->out_dtype,
                  "--kernel output dtype where the kernel lets the caller "
                  "choose: fp16 | fp32")
      ->capture_default_str();
  app->add_flag("--no-zero-fill", options->no_zero_fill,
                "--kernel: leave the output zero-fill out of the timed call");
  app->add_flag("--authors-harness", options->authors_harness,
                "--kernel: the papers' benchmark (KERNELS.md section 5): "
                "fp16 in, fp32 out, zero-fill included, B = 32, H = 4; T "
                "from --seq");
  app->add_flag("--sweep", options->sweep,
                "Price every method (default options) at chunks 16, 32, 64, "
                "128 and print a table of times and the pricing run time; "
                "ignores --method and its options, --chunk and --trace");
  return {app, [options] { return RunCost(*options); }};
}

}  // namespace trisim::app
