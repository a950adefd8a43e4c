// trisim error: error statistics of an inversion method on many samples.
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/method_options.h"
#include "sim/evaluate.h"

namespace trisim::app {
namespace {

struct ErrorOptions {
  MethodFlags method;
  int chunk = 64;
  CLI::Option* chunk_opt = nullptr;
  std::string input = "gdn";
  int64_t samples = 100;
  uint64_t seed = 0;
  std::string precision = "fp64";
  bool json = false;
  bool show_plan = false;
  bool show_steps = false;
};

nlohmann::ordered_json DistributionJson(const Distribution& d) {
  return {{"p50", d.Percentile(0.50)},
          {"p90", d.Percentile(0.90)},
          {"p99", d.Percentile(0.99)},
          {"max", d.Max()}};
}

nlohmann::ordered_json StatsJson(const ErrorStats& s, bool backward) {
  nlohmann::ordered_json j;
  j["frob_rel"] = DistributionJson(s.frob_rel());
  j["max_abs"] = DistributionJson(s.max_abs());
  j["max_rel"] = DistributionJson(s.max_rel());
  if (backward) j["backward"] = DistributionJson(s.backward());
  j["nonfinite"] = s.nonfinite();
  return j;
}

void PrintJson(const ErrorOptions& o, const EvaluationReport& r) {
  nlohmann::ordered_json j;
  j["method"] = r.plan.method;
  j["method_options"] = r.plan.options;
  j["precision"] = o.precision;
  j["chunk"] = r.chunk;
  j["input"] = r.input;
  j["samples"] = r.samples;
  j["seed"] = o.seed;
  j["T"] = StatsJson(r.t, true);
  if (r.has_gdn) {
    j["W"] = StatsJson(r.w, false);
    j["U"] = StatsJson(r.u, false);
    j["O"] = StatsJson(r.o, false);
    j["S"] = StatsJson(r.state, false);
  }
  auto& steps = j["steps"] = nlohmann::ordered_json::array();
  for (size_t s = 0; s < r.plan.steps.size(); ++s) {
    steps.push_back({{"index", s},
                     {"op", OpName(r.plan.steps[s].op)},
                     {"label", r.plan.steps[s].label},
                     {"max_abs", r.steps[s].max_abs},
                     {"nonfinite", r.steps[s].nonfinite}});
  }
  std::cout << j.dump(2) << '\n';
}

void PrintRow(const char* matrix, const char* measure, const Distribution& d) {
  std::printf("  %-3s %-9s %11.3e %11.3e %11.3e %11.3e\n", matrix, measure,
              d.Percentile(0.5), d.Percentile(0.9), d.Percentile(0.99),
              d.Max());
}

void PrintStats(const char* name, const ErrorStats& s, bool backward) {
  PrintRow(name, "frob_rel", s.frob_rel());
  PrintRow(name, "max_abs", s.max_abs());
  PrintRow(name, "max_rel", s.max_rel());
  if (backward) PrintRow(name, "backward", s.backward());
  if (s.nonfinite() > 0) {
    std::printf("  %-3s %-9s %lld non-finite entries\n", name, "nonfinite",
                static_cast<long long>(s.nonfinite()));
  }
}

void PrintTable(const ErrorOptions& o, const EvaluationReport& r) {
  const Plan& p = r.plan;
  std::printf("trisim error: %s (%s), precision %s, chunk %d\n",
              p.method.c_str(), p.options.c_str(), o.precision.c_str(),
              r.chunk);
  std::printf("input %s\n%lld samples, seed %llu; plan: %zu steps, %d "
              "matmuls, %d vector forward-substitution rows\n\n",
              r.input.c_str(), static_cast<long long>(r.samples),
              static_cast<unsigned long long>(o.seed), p.steps.size(),
              p.CountSteps(OpKind::kMatMul), p.CountSteps(OpKind::kForwardRow));
  std::printf("  %-3s %-9s %11s %11s %11s %11s\n", "", "error", "p50", "p90",
              "p99", "max");
  PrintStats("T", r.t, true);
  if (r.has_gdn) {
    PrintStats("W", r.w, false);
    PrintStats("U", r.u, false);
    PrintStats("O", r.o, false);
    PrintStats("S", r.state, false);
  }
  if (o.show_steps) {
    std::printf("\nper step (over all samples):\n  %4s %-12s %11s %9s  %s\n",
                "#", "op", "max|x|", "nonfinite", "label");
    for (size_t s = 0; s < p.steps.size(); ++s) {
      std::printf("  %4zu %-12s %11.3e %9lld  %s\n", s, OpName(p.steps[s].op),
                  r.steps[s].max_abs, r.steps[s].nonfinite,
                  p.steps[s].label.c_str());
    }
  }
}

int RunError(const ErrorOptions& o) {
  EvaluationConfig config;
  config.method = o.method.method;
  config.options = o.method.ToOptions();
  const bool chunk_from_file =
      !o.chunk_opt->count() && o.input.rfind("npy:", 0) == 0;
  config.chunk = chunk_from_file ? 0 : o.chunk;
  config.input = o.input;
  config.samples = o.samples;
  config.seed = o.seed;
  config.precision = o.precision;
  const EvaluationReport report = Evaluate(config);
  if (report.samples < o.samples) {
    std::fprintf(stderr,
                 "trisim: note: the input holds %lld samples; ran all of "
                 "them\n",
                 static_cast<long long>(report.samples));
  }
  if (o.show_plan) std::fputs(report.plan.Describe().c_str(), stdout);
  if (o.json) {
    PrintJson(o, report);
  } else {
    PrintTable(o, report);
  }
  return 0;
}

}  // namespace

Command SetupErrorCommand(CLI::App& root) {
  auto options = std::make_shared<ErrorOptions>();
  CLI::App* app = root.add_subcommand(
      "error",
      "Error of an inversion method: statistics over samples of T = (I+A)^-1 "
      "and of the layer outputs W, U, O, S against fp64 references");
  AddMethodFlags(*app, options->method);
  options->chunk_opt =
      app->add_option("--chunk", options->chunk,
                      "Chunk size C, a power of two (npy: inputs: taken from "
                      "the file unless given)")
          ->capture_default_str();
  app->add_option("--input", options->input,
                  "Input: uniform[:s] | ones | block-ones[:b] | "
                  "gdn[:rho=,dirs=,dk=,dv=,state=,beta=PATH,g=PATH] | "
                  "npy:PATH | npy-gdn:DIR")
      ->capture_default_str();
  app->add_option("--samples", options->samples, "Number of samples")
      ->capture_default_str();
  app->add_option("--seed", options->seed, "Random seed")
      ->capture_default_str();
  std::string precisions;
  for (const auto& p : KnownPrecisions()) {
    precisions += (precisions.empty() ? "" : " | ") + p;
  }
  app->add_option("--precision", options->precision,
                  "Precision recipe: " + precisions)
      ->capture_default_str();
  app->add_flag("--json", options->json, "Print JSON (schema in README)");
  app->add_flag("--show-plan", options->show_plan,
                "Print the plan's steps with shapes and dependencies");
  app->add_flag("--show-steps", options->show_steps,
                "Print max |x| and non-finite counts per plan step");
  return {app, [options] { return RunError(*options); }};
}

}  // namespace trisim::app
