// trisim recommend: sweep methods x chunk sizes x recipes, measure error and
// predicted cycles, and recommend the fastest configuration that meets an
// error budget (job 2 of the brief: pick chunk size / order per precision).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "core/methods.h"
#include "core/status.h"
#include "sim/cost_model.h"
#include "sim/evaluate.h"
#include "sim/cost/profile.h"
#include "sim/recipe.h"

namespace trisim::app {
namespace {

struct RecommendOptions {
  double budget = 1e-3;
  std::string metric = "O";
  std::string quantile = "p99";
  std::string methods = "vcs,fla,mbh,mxr,neumann,dn-split";
  std::string chunks = "32,64,128";
  std::string precisions = "fp16,bf16,int8-block16";
  std::string input = "gdn";
  int64_t samples = 50;
  uint64_t seed = 0;
  long long batch = 32, heads = 4, seq = 4096;
  std::string profile = "ascend-910b";
  bool json = false;
  std::string kernel;  // global --kernel; "" = unset (each method's plan)
};

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) {
    if (!item.empty()) parts.push_back(item);
  }
  return parts;
}

// "neumann:order=5,steps=4" -> method and options (the --order ... flags).
// Options inside a method spec are separated by '/' in the list, e.g.
// --methods "mxr,neumann:order=5/steps=4".
// "kernel=NAME" selects the method's kernel (core/kernels.h), stored in
// *kernel ("" if the spec has none).
std::pair<std::string, MethodOptions> ParseMethodSpec(const std::string& spec,
                                                      std::string* kernel) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  MethodOptions o;
  kernel->clear();
  if (colon == std::string::npos) return {name, o};
  for (const std::string& kv : Split(spec.substr(colon + 1), '/')) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) {
      throw InputError("--methods " + spec + ": expected key=value, got '" +
                       kv + "'");
    }
    const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    auto number = [&]() {
      try {
        size_t used = 0;
        const int v = std::stoi(value, &used);
        if (used == value.size()) return v;
      } catch (const std::exception&) {
      }
      throw InputError("--methods " + spec + ": " + key +
                       " expects an integer");
    };
    if (key == "order")
      o.order = number();
    else if (key == "steps")
      o.steps = number();
    else if (key == "block")
      o.block = number();
    else if (key == "iters")
      o.iters = number();
    else if (key == "mask")
      o.mask = ParseMask(value);
    else if (key == "residual")
      o.residual = ParseResidualForm(value);
    else if (key == "inner")
      o.inner = value;
    else if (key == "outer")
      o.outer = value;
    else if (key == "kernel")
      *kernel = value;
    else
      throw InputError("--methods " + spec + ": unknown option '" + key + "'");
  }
  return {name, o};
}

struct Row {
  std::string method, options, recipe;
  int chunk = 0;
  double error = 0;
  double time_us = 0;
  std::string bottleneck;
  bool meets = false;
};

double Pick(const ErrorStats& s, const std::string& quantile) {
  const Distribution& d = s.frob_rel();
  if (quantile == "p50") return d.Percentile(0.5);
  if (quantile == "p90") return d.Percentile(0.9);
  if (quantile == "p99") return d.Percentile(0.99);
  return d.Max();
}

int RunRecommend(const RecommendOptions& o) {
  if (!(o.budget > 0) || !std::isfinite(o.budget)) {
    throw InputError("--budget: must be a positive number");
  }
  if (o.metric != "T" && o.metric != "O") {
    throw InputError("--metric " + o.metric + ": expected T or O");
  }
  if (o.quantile != "p50" && o.quantile != "p90" && o.quantile != "p99" &&
      o.quantile != "max") {
    throw InputError("--quantile " + o.quantile +
                     ": expected p50, p90, p99 or max");
  }
  const HardwareProfile profile = LoadProfile(o.profile);
  Workload workload;
  workload.batch = o.batch;
  workload.heads = o.heads;
  workload.seq = o.seq;

  std::vector<Row> rows;
  for (const std::string& spec : Split(o.methods, ',')) {
    std::string spec_kernel;
    const auto [method, options] = ParseMethodSpec(spec, &spec_kernel);
    // A kernel= in the spec wins; the global --kernel applies to every
    // method and is an error for a method without that kernel.
    const std::string kernel_text =
        !spec_kernel.empty() ? spec_kernel
                             : (o.kernel.empty() ? "plan" : o.kernel);
    const KernelChoice kernel = ParseKernelChoice(kernel_text);
    if (!kernel.IsPlan()) FindKernel(method, kernel.name);
    for (const std::string& chunk_text : Split(o.chunks, ',')) {
      int chunk = 0;
      try {
        chunk = std::stoi(chunk_text);
      } catch (const std::exception&) {
        throw InputError("--chunks: '" + chunk_text + "' is not an integer");
      }
      for (const std::string& recipe_name : Split(o.precisions, ',')) {
        EvaluationConfig config;
        config.method = method;
        config.options = options;
        config.kernel = kernel;
        config.chunk = chunk;
        config.input = o.input;
        config.samples = o.samples;
        config.seed = o.seed;
        config.precision = recipe_name;
        const EvaluationReport report = Evaluate(config);
        if (o.metric == "O" && !report.has_gdn) {
          throw InputError(
              "--metric O needs a GDN input (gdn, npy-gdn); use "
              "--metric T for " +
              o.input);
        }
        // The cost model prices math-level plans; a kernel plan is priced
        // by its method's plan until the cost model reads kernel steps
        // (issue 12).
        const CostReport cost = EstimateCost(
            kernel.IsPlan() ? report.plan
                            : BuildPlan(method, options, report.chunk),
            PipelinePrecisionFor(report.recipe), workload, profile);
        Row row;
        row.method =
            kernel.IsPlan() ? method : method + "[" + kernel_text + "]";
        row.options = report.plan.options;
        row.recipe = report.recipe.name;
        row.chunk = chunk;
        row.error = Pick(o.metric == "O" ? report.o : report.t, o.quantile);
        row.time_us = cost.time_us;
        row.bottleneck = PipeName(cost.bottleneck);
        row.meets = row.error <= o.budget;
        rows.push_back(row);
      }
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.meets != b.meets ? a.meets : a.time_us < b.time_us;
  });
  const Row* best =
      !rows.empty() && rows.front().meets ? &rows.front() : nullptr;

  if (o.json) {
    nlohmann::ordered_json j;
    j["budget"] = o.budget;
    j["metric"] = o.metric + " frob_rel " + o.quantile;
    j["input"] = o.input;
    j["samples"] = o.samples;
    j["profile"] = profile.name;
    j["workload"] = {{"batch", o.batch}, {"heads", o.heads}, {"seq", o.seq}};
    auto& list = j["configurations"] = nlohmann::ordered_json::array();
    for (const Row& r : rows) {
      list.push_back(
          {{"method", r.method},
           {"options", r.options},
           {"chunk", r.chunk},
           {"precision", r.recipe},
           {"error", std::isfinite(r.error) ? nlohmann::ordered_json(r.error)
                                            : nlohmann::ordered_json()},
           {"time_us", r.time_us},
           {"bottleneck", r.bottleneck},
           {"meets_budget", r.meets}});
    }
    j["recommendation"] = best ? list.front() : nlohmann::ordered_json();
    std::cout << j.dump(2) << '\n';
    return 0;
  }
  std::printf(
      "trisim recommend: fastest configuration with %s frob_rel %s <= %g\n",
      o.metric.c_str(), o.quantile.c_str(), o.budget);
  std::printf(
      "input %s, %lld samples; cost on %s, batch %lld x heads %lld x "
      "T %lld\n\n",
      o.input.c_str(), static_cast<long long>(o.samples), profile.name.c_str(),
      o.batch, o.heads, o.seq);
  std::printf("  %-9s %-6s %-13s %11s %11s  %-9s %s\n", "method", "C",
              "precision", "error", "time (us)", "bottleneck", "options");
  for (const Row& r : rows) {
    std::printf("%s %-9s %-6d %-13s %11.3e %11.1f  %-9s %s\n",
                r.meets ? "  " : " x", r.method.c_str(), r.chunk,
                r.recipe.c_str(), r.error, r.time_us, r.bottleneck.c_str(),
                r.options.c_str());
  }
  if (best) {
    std::printf(
        "\nrecommended: %s (%s) at C = %d with %s: %.1f us, error "
        "%.2e\n",
        best->method.c_str(), best->options.c_str(), best->chunk,
        best->recipe.c_str(), best->time_us, best->error);
  } else {
    std::printf("\nno configuration meets the budget (x = over budget)\n");
  }
  return 0;
}

}  // namespace

Command SetupRecommendCommand(CLI::App& root) {
  auto o = std::make_shared<RecommendOptions>();
  CLI::App* app = root.add_subcommand(
      "recommend",
      "Sweep methods x chunk sizes x recipes; recommend the fastest "
      "configuration (trisim cost) whose error (trisim error) meets a budget");
  app->add_option("--budget", o->budget, "Error budget (Frobenius relative)")
      ->capture_default_str();
  app->add_option("--metric", o->metric, "Error of T or of the outputs O")
      ->capture_default_str();
  app->add_option("--quantile", o->quantile,
                  "p50 | p90 | p99 | max over samples")
      ->capture_default_str();
  app->add_option("--methods", o->methods,
                  "Comma-separated methods, each optionally with options: "
                  "neumann:order=5/steps=4; kernel=NAME selects a device "
                  "kernel (trisim kernels): mxr:kernel=pto")
      ->capture_default_str();
  app->add_option("--kernel", o->kernel,
                  "A device kernel for every method of --methods (an error "
                  "for a method without it); a kernel= in a spec wins. "
                  "Kernel plans are costed as their method's plan until the "
                  "cost model prices kernel steps");
  app->add_option("--chunks", o->chunks, "Comma-separated chunk sizes")
      ->capture_default_str();
  app->add_option("--precisions", o->precisions,
                  "Comma-separated recipes (built-in names or .toml files)")
      ->capture_default_str();
  app->add_option("--input", o->input, "Input spec, as for trisim error")
      ->capture_default_str();
  app->add_option("--samples", o->samples, "Samples per configuration")
      ->capture_default_str();
  app->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  app->add_option("--batch", o->batch, "Batch for the cost model")
      ->capture_default_str();
  app->add_option("--heads", o->heads, "Heads for the cost model")
      ->capture_default_str();
  app->add_option("--seq", o->seq, "Tokens per sequence for the cost model")
      ->capture_default_str();
  app->add_option("--profile", o->profile,
                  "Hardware profile (name or TOML file)")
      ->capture_default_str();
  app->add_flag("--json", o->json, "Print JSON");
  return {app, [o] { return RunRecommend(*o); }};
}

}  // namespace trisim::app
