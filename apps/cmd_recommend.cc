// trisim recommend: sweep methods x chunk sizes x recipes, measure error and
// predicted cycles, and recommend the fastest configuration that meets an
// error budget (job 2 of the brief: pick chunk size / order per precision).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/cli_options.h"
#include "apps/commands.h"
#include "core/inputs.h"
#include "core/kernels.h"
#include "core/methods.h"
#include "core/spec.h"
#include "core/status.h"
#include "sim/cost/profile.h"
#include "sim/cost_model.h"
#include "sim/evaluate.h"
#include "sim/recipe.h"
#include "sim/recipe_fit.h"

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
  bool csv = false;
  std::string kernel;  // global --kernel; "" = unset (each method's plan)
};

struct Row {
  std::string method, options, recipe;
  int chunk = 0;
  double error = 0;
  double time_us = 0;
  double cycles = 0;  // total cycles of the workload
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

// Exit 0 with a recommendation; CheckFailed (exit 3) when nothing meets the
// budget, after the table or JSON is printed.
int Verdict(const Row* best, const RecommendOptions& o) {
  if (best) return 0;
  char budget[32];
  std::snprintf(budget, sizeof budget, "%g", o.budget);
  throw CheckFailed("no configuration meets the budget " + o.metric +
                    " frob_rel " + o.quantile + " <= " + budget);
}

int RunRecommend(const RecommendOptions& o) {
  if (o.json && o.csv) throw InputError("--json and --csv: choose one");
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
  CheckWorkloadFlags(o.batch, o.heads, o.seq);
  const HardwareProfile profile = LoadProfile(o.profile);
  Workload workload;
  workload.batch = o.batch;
  workload.heads = o.heads;
  workload.seq = o.seq;

  // Every method spec (the one spec grammar, core/spec.h), list item,
  // recipe and plan x recipe pair is checked before the first (slow)
  // evaluation.
  std::vector<MethodSpec> specs;
  std::vector<KernelChoice> kernels;
  for (const std::string& text : SplitTopLevel(o.methods, ',', "--methods")) {
    std::vector<std::pair<std::string, std::string>> extra;
    specs.push_back(ParseMethodSpec(text, "--methods", {"kernel"}, &extra));
    // A kernel= in the spec wins; the global --kernel applies to every
    // method and is an error for a method without that kernel.
    std::string kernel_text = o.kernel.empty() ? "plan" : o.kernel;
    for (const auto& [key, value] : extra) {
      if (key == "kernel") kernel_text = value;
    }
    kernels.push_back(ParseKernelChoice(kernel_text));
    if (!kernels.back().IsPlan()) {
      FindKernel(specs.back().method, kernels.back().name);
    }
  }
  std::vector<int> chunks;
  for (const std::string& text : ParseList(o.chunks, "--chunks")) {
    chunks.push_back(static_cast<int>(ParseInteger(text, "--chunks", 1, 1024)));
  }
  const std::vector<std::string> precisions =
      ParseList(o.precisions, "--precisions");
  std::vector<Recipe> recipes;
  for (const std::string& name : precisions)
    recipes.push_back(LoadRecipe(name));
  for (size_t m = 0; m < specs.size(); ++m) {
    for (int chunk : chunks) {
      ValidateMethod(specs[m].method, specs[m].options, chunk);
      const Plan plan =
          BuildKernelPlan(specs[m].method, specs[m].options, kernels[m], chunk);
      for (const Recipe& recipe : recipes) CheckRecipeFitsPlan(recipe, plan);
    }
  }
  if (o.metric == "O" &&
      !MakeInputSource(o.input, chunks.front(), o.seed)->HasGdn()) {
    throw InputError(
        "--metric O needs a GDN input (gdn, npy-gdn); use "
        "--metric T for " +
        o.input);
  }

  std::vector<Row> rows;
  for (size_t m = 0; m < specs.size(); ++m) {
    const MethodSpec& spec = specs[m];
    const std::string& method = spec.method;
    const KernelChoice& kernel = kernels[m];
    for (int chunk : chunks) {
      for (const std::string& recipe_name : precisions) {
        EvaluationConfig config;
        config.method = method;
        config.options = spec.options;
        config.kernel = kernel;
        config.chunk = chunk;
        config.input = o.input;
        config.samples = o.samples;
        config.seed = o.seed;
        config.precision = recipe_name;
        const EvaluationReport report = Evaluate(config);
        // The cost model prices math-level plans here; a kernel plan is
        // priced by its method's plan (`trisim cost --kernel` prices kernel
        // plans as issued).
        const CostReport cost = EstimateCost(
            kernel.IsPlan() ? report.plan
                            : BuildPlan(method, spec.options, report.chunk),
            PipelinePrecisionFor(report.recipe), workload, profile);
        Row row;
        row.method =
            kernel.IsPlan() ? method : method + "[" + kernel.name + "]";
        row.options = report.plan.options;
        row.recipe = report.recipe.name;
        row.chunk = chunk;
        row.error = Pick(o.metric == "O" ? report.o : report.t, o.quantile);
        row.time_us = cost.time_us;
        row.cycles = cost.total_cycles;
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

  if (o.csv) {
    // One row per configuration, fastest budget-meeting first; the columns
    // scripts/plot reads for the error-vs-cycles Pareto front.
    std::printf(
        "method,options,chunk,precision,error,time_us,cycles,bottleneck,"
        "meets_budget,recommended,budget,metric\n");
    for (const Row& r : rows) {
      std::printf("%s,\"%s\",%d,%s,%.17g,%.17g,%.17g,%s,%d,%d,%g,%s\n",
                  r.method.c_str(), r.options.c_str(), r.chunk,
                  r.recipe.c_str(), r.error, r.time_us, r.cycles,
                  r.bottleneck.c_str(), r.meets ? 1 : 0, &r == best ? 1 : 0,
                  o.budget, (o.metric + " frob_rel " + o.quantile).c_str());
    }
    return 0;
  }
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
    return Verdict(best, o);
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
  return Verdict(best, o);
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
                  "Comma-separated method specs name[:key=value/...], "
                  "nested in brackets: neumann:order=5/steps=4, "
                  "dn-split:inner=(ns:iters=3)/outer=mbh; kernel=NAME selects "
                  "a device kernel (trisim kernels): mxr:kernel=pto")
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
  AddSeedOption(*app, &o->seed, "Random seed");
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
  app->add_flag("--csv", o->csv,
                "Print CSV: method,options,chunk,precision,error,time_us,"
                "cycles,bottleneck,meets_budget,recommended,budget,metric");
  return {app, [o] { return RunRecommend(*o); }};
}

}  // namespace trisim::app
