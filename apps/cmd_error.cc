// trisim error: error statistics of an inversion method on many samples.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/cli_options.h"
#include "apps/commands.h"
#include "apps/method_options.h"
#include "core/status.h"
#include "quant/format.h"
#include "sim/evaluate.h"
#include "sim/recipe.h"

namespace trisim::app {
namespace {

struct ErrorOptions {
  MethodFlags method;
  int chunk = 64;
  CLI::Option* chunk_opt = nullptr;
  std::string input = "gdn";
  int64_t samples = 100;
  uint64_t seed = 0;
  std::string precision = "fp16";
  bool json = false;
  bool csv = false;
  bool show_plan = false;
  bool show_steps = false;
  int threads = 0;
  bool scalar = false;
  std::string reference = "exact";
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

// Bits between a step's largest |x| and the largest finite value of the
// format its output is stored in; null (NaN) under the exact recipe, for
// integer storage, or for an all-zero output.
double HeadroomBits(const EvaluationReport& r, size_t step) {
  const StepStats& st = r.record.steps[step];
  if (r.recipe.exact || st.max_abs == 0.0) return std::nan("");
  const int buffer = r.plan.steps[step].out.buffer;
  const quant::Format format =
      buffer == r.plan.input ? r.recipe.input : r.recipe.storage;
  // Integer storage rescales every write: its range is the scale's, not the
  // format's (saturations are counted instead).
  if (!quant::IsFloat(format)) return std::nan("");
  return std::log2(quant::GetFormatInfo(format).max_finite / st.max_abs);
}

nlohmann::ordered_json NumberOrNull(double x) {
  return std::isfinite(x) ? nlohmann::ordered_json(x)
                          : nlohmann::ordered_json();
}

// The exact magnitude step s would have needed (from the fp64 shadow runs of
// the samples with range events); NaN when no shadow ran.
double NeededMaxAbs(const EvaluationReport& r, size_t s) {
  return s < r.needed_max_abs.size() ? r.needed_max_abs[s] : std::nan("");
}

const char* ReferenceText(ErrorReference reference) {
  return reference == ErrorReference::kExact
             ? "inverse of the exact input A"
             : "inverse of A rounded to the recipe's input format";
}

void PrintJson(const ErrorOptions& o, const EvaluationReport& r) {
  nlohmann::ordered_json j;
  j["method"] = r.plan.method;
  j["method_options"] = r.plan.options;
  if (r.plan.IsKernelPlan()) {  // only kernel plans: default output unchanged
    j["kernel"] = {{"name", r.plan.kernel.name},
                   {"source", r.plan.kernel.source},
                   {"settings", r.plan.kernel.settings}};
  }
  j["precision"] = r.recipe.name;
  j["chunk"] = r.chunk;
  j["input"] = r.input;
  j["samples"] = r.samples;
  j["seed"] = o.seed;
  j["reference"] = ErrorReferenceName(r.reference);
  j["a_norm_inf"] = {{"p50", r.a_norm_inf.Percentile(0.50)},
                     {"p99", r.a_norm_inf.Percentile(0.99)},
                     {"max", r.a_norm_inf.Max()}};
  j["shadow_samples"] = r.shadow_samples;
  if (r.has_gdn) {
    j["layer"] = r.layer ? "recipe" : "exact";
    j["carry"] = r.carry;
    j["chunks"] = r.chunks;
    j["padded_tokens"] = r.padded_tokens;
  }
  j["T"] = StatsJson(r.t, true);
  if (r.has_gdn) {
    j["W"] = StatsJson(r.w, false);
    j["U"] = StatsJson(r.u, false);
    j["O"] = StatsJson(r.o, false);
    j["S"] = StatsJson(r.state, false);
  }
  if (r.carry) {
    j["S_final"] = StatsJson(r.state_final, false);
    auto by_chunk = [](const std::vector<Distribution>& d) {
      auto a = nlohmann::ordered_json::array();
      for (size_t c = 0; c < d.size(); ++c) {
        a.push_back({{"chunk", c},
                     {"p50", d[c].Percentile(0.5)},
                     {"p99", d[c].Percentile(0.99)}});
      }
      return a;
    };
    j["O_by_chunk"] = by_chunk(r.o_by_chunk);
    j["S_by_chunk"] = by_chunk(r.s_by_chunk);
  }
  if (r.layer) {
    auto& layer = j["layer_steps"] = nlohmann::ordered_json::array();
    const auto& names = LayerStepNames();
    for (size_t s = 0; s < r.layer_record.steps.size(); ++s) {
      const StepStats& st = r.layer_record.steps[s];
      layer.push_back({{"label", names[s]},
                       {"max_abs", st.max_abs},
                       {"overflowed", st.events.overflowed},
                       {"nonfinite", st.nonfinite}});
    }
  }
  auto& steps = j["steps"] = nlohmann::ordered_json::array();
  for (size_t s = 0; s < r.plan.steps.size(); ++s) {
    const StepStats& st = r.record.steps[s];
    steps.push_back({{"index", s},
                     {"op", OpName(r.plan.steps[s].op)},
                     {"label", r.plan.steps[s].label},
                     {"max_abs", st.max_abs},
                     {"headroom_bits", NumberOrNull(HeadroomBits(r, s))},
                     {"needed_max_abs", NumberOrNull(NeededMaxAbs(r, s))},
                     {"saturated", st.events.saturated},
                     {"overflowed", st.events.overflowed},
                     {"wrapped", st.events.wrapped},
                     {"nonfinite", st.nonfinite}});
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

// Per-step range report: every step with --show-steps; otherwise, for a
// rounding recipe, the steps with the least headroom and every step with a
// saturation, overflow, wrap or non-finite value.
void PrintStepTable(const ErrorOptions& o, const EvaluationReport& r) {
  const Plan& p = r.plan;
  std::vector<size_t> rows;
  for (size_t s = 0; s < p.steps.size(); ++s) rows.push_back(s);
  if (!o.show_steps) {
    if (r.recipe.exact) return;
    auto headroom = [&](size_t s) {
      const double h = HeadroomBits(r, s);
      return std::isnan(h) ? 1e9 : h;
    };
    auto eventful = [&](size_t s) {
      const StepStats& st = r.record.steps[s];
      return st.nonfinite + st.events.saturated + st.events.overflowed +
                 st.events.wrapped >
             0;
    };
    std::stable_sort(rows.begin(), rows.end(), [&](size_t a, size_t b) {
      return headroom(a) < headroom(b);
    });
    std::vector<size_t> keep;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i < 5 || eventful(rows[i])) keep.push_back(rows[i]);
    }
    std::sort(keep.begin(), keep.end());
    rows = keep;
    std::printf(
        "\nrange: the 5 steps with least headroom, and every step "
        "with events (all: --show-steps)\n");
  } else {
    std::printf("\nper step (over all samples):\n");
  }
  std::printf("  %4s %-11s %10s %9s %10s %9s %9s %8s %9s  %s\n", "#", "op",
              "max|x|", "headroom", "needed", "saturated", "overflow",
              "wrapped", "nonfinite", "label");
  for (size_t s : rows) {
    const StepStats& st = r.record.steps[s];
    const double h = HeadroomBits(r, s);
    char headroom[32];
    if (std::isnan(h)) {
      std::snprintf(headroom, sizeof headroom, "%9s", "-");
    } else {
      std::snprintf(headroom, sizeof headroom, "%8.1fb", h);
    }
    const double needed = NeededMaxAbs(r, s);
    char needed_text[32];
    if (std::isnan(needed)) {
      std::snprintf(needed_text, sizeof needed_text, "%10s", "-");
    } else {
      std::snprintf(needed_text, sizeof needed_text, "%10.3e", needed);
    }
    std::printf("  %4zu %-11s %10.3e %9s %10s %9lld %9lld %8lld %9lld  %s\n", s,
                OpName(p.steps[s].op), st.max_abs, headroom, needed_text,
                static_cast<long long>(st.events.saturated),
                static_cast<long long>(st.events.overflowed),
                static_cast<long long>(st.events.wrapped), st.nonfinite,
                p.steps[s].label.c_str());
  }
  const auto& in = r.record.input_events;
  const auto& out = r.record.output_events;
  if (!r.recipe.exact) {
    std::printf(
        "  input A -> %s: %lld inexact, %lld overflowed; output X -> "
        "%s: %lld overflowed\n",
        quant::FormatName(r.recipe.input), static_cast<long long>(in.inexact),
        static_cast<long long>(in.overflowed),
        quant::FormatName(r.recipe.output),
        static_cast<long long>(out.overflowed));
  }
  if (r.shadow_samples > 0) {
    std::printf(
        "  needed: max |x| of the exact (fp64) run of the same plan on the "
        "%lld samples with range events\n",
        static_cast<long long>(r.shadow_samples));
  }
}

void PrintTable(const ErrorOptions& o, const EvaluationReport& r) {
  const Plan& p = r.plan;
  std::printf("trisim error: %s (%s), precision %s, chunk %d\n",
              p.method.c_str(), p.options.c_str(), o.precision.c_str(),
              r.chunk);
  if (p.IsKernelPlan()) {
    std::printf("kernel %s: %s\n", p.kernel.name.c_str(),
                p.kernel.source.c_str());
  }
  std::printf(
      "input %s\n%lld samples, seed %llu; plan: %zu steps, %d "
      "matmuls, %d vector forward-substitution rows\n",
      r.input.c_str(), static_cast<long long>(r.samples),
      static_cast<unsigned long long>(o.seed), p.steps.size(),
      p.CountSteps(OpKind::kMatMul), p.CountSteps(OpKind::kForwardRow));
  std::printf("reference: %s (%s)\n", ErrorReferenceName(r.reference),
              ReferenceText(r.reference));
  std::printf("||A||_inf: p50 %.4g, p99 %.4g, max %.4g\n\n",
              r.a_norm_inf.Percentile(0.50), r.a_norm_inf.Percentile(0.99),
              r.a_norm_inf.Max());
  if (r.has_gdn) {
    std::printf(
        "layer: %s; %s; %lld chunks",
        r.layer ? "whole chunk in the recipe's precision (layer_* fields)"
                : "exact fp64 around the simulated T (the inverse's share)",
        r.carry ? "state carried along each sequence (S = state after each "
                  "chunk, Sf = final state)"
                : "every chunk alone",
        static_cast<long long>(r.chunks));
    if (r.padded_tokens > 0) {
      std::printf("; %lld zero-padded tail tokens", r.padded_tokens);
    }
    std::printf("\n\n");
  }
  std::printf("  %-3s %-9s %11s %11s %11s %11s\n", "", "error", "p50", "p90",
              "p99", "max");
  PrintStats("T", r.t, true);
  if (r.has_gdn) {
    PrintStats("W", r.w, false);
    PrintStats("U", r.u, false);
    PrintStats("O", r.o, false);
    PrintStats("S", r.state, false);
  }
  if (r.carry) PrintStats("Sf", r.state_final, false);
  if (r.carry && !r.o_by_chunk.empty()) {
    // Error growth along the sequence: about 8 rows, always the first and
    // the last chunk.
    std::printf("\nalong the sequence (frob_rel by chunk index):\n");
    std::printf("  %5s %11s %11s %11s %11s\n", "chunk", "O p50", "O p99",
                "S p50", "S p99");
    const size_t n = r.o_by_chunk.size();
    const size_t stride = std::max<size_t>(1, n / 8);
    for (size_t c = 0; c < n; c += stride) {
      const size_t row = c + stride >= n ? n - 1 : c;
      std::printf("  %5zu %11.3e %11.3e %11.3e %11.3e\n", row,
                  r.o_by_chunk[row].Percentile(0.5),
                  r.o_by_chunk[row].Percentile(0.99),
                  r.s_by_chunk[row].Percentile(0.5),
                  r.s_by_chunk[row].Percentile(0.99));
      if (row == n - 1) break;
    }
  }
  if (r.layer) {
    std::printf("\nlayer steps (over all chunks):\n");
    std::printf("  %10s %9s %9s  %s\n", "max|x|", "overflow", "nonfinite",
                "step");
    const auto& names = LayerStepNames();
    for (size_t s = 0; s < r.layer_record.steps.size(); ++s) {
      const StepStats& st = r.layer_record.steps[s];
      std::printf("  %10.3e %9lld %9lld  %s\n", st.max_abs,
                  static_cast<long long>(st.events.overflowed), st.nonfinite,
                  names[s].c_str());
    }
  }
  PrintStepTable(o, r);
}
// --csv: one row per (matrix, measure), the percentiles as columns.
void PrintCsv(const EvaluationReport& r) {
  std::printf("matrix,measure,p50,p90,p99,max,samples\n");
  auto rows = [&](const char* name, const ErrorStats& s, bool backward) {
    auto row = [&](const char* measure, const Distribution& d) {
      std::printf("%s,%s,%.17g,%.17g,%.17g,%.17g,%lld\n", name, measure,
                  d.Percentile(0.5), d.Percentile(0.9), d.Percentile(0.99),
                  d.Max(), static_cast<long long>(s.samples()));
    };
    row("frob_rel", s.frob_rel());
    row("max_abs", s.max_abs());
    row("max_rel", s.max_rel());
    if (backward) row("backward", s.backward());
  };
  rows("T", r.t, true);
  if (r.has_gdn) {
    rows("W", r.w, false);
    rows("U", r.u, false);
    rows("O", r.o, false);
    rows("S", r.state, false);
  }
}

int RunError(const ErrorOptions& o) {
  if (o.json && o.csv) throw InputError("--json and --csv: choose one");
  EvaluationConfig config;
  config.method = o.method.method;
  config.options = o.method.ToOptions();
  config.kernel = o.method.ToKernel();
  const bool chunk_from_file =
      !o.chunk_opt->count() && o.input.rfind("npy:", 0) == 0;
  config.chunk = chunk_from_file ? 0 : o.chunk;
  config.input = o.input;
  config.samples = o.samples;
  config.seed = o.seed;
  config.precision = o.precision;
  config.threads = o.threads;
  config.scalar = o.scalar;
  config.reference = ParseErrorReference(o.reference);
  const EvaluationReport report = Evaluate(config);
  for (const std::string& note : report.notices) {
    std::fprintf(stderr, "trisim: note: %s\n", note.c_str());
  }
  if (report.samples < o.samples) {
    std::fprintf(stderr,
                 "trisim: note: the input holds %lld samples; ran all of "
                 "them\n",
                 static_cast<long long>(report.samples));
  }
  if (o.show_plan) std::fputs(report.plan.Describe().c_str(), stdout);
  if (o.json) {
    PrintJson(o, report);
  } else if (o.csv) {
    PrintCsv(report);
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
  AddKernelFlag(*app, options->method);
  options->chunk_opt =
      app->add_option("--chunk", options->chunk,
                      "Chunk size C, a power of two (npy: inputs: taken from "
                      "the file unless given)")
          ->capture_default_str();
  app->add_option("--input", options->input,
                  "Input: uniform[:s] | ones | block-ones[:b] | "
                  "gdn[:rho=,dirs=,dk=,dv=,seq=,state=,beta=PATH,g=PATH] | "
                  "npy:PATH[,form=lower|upper|i-plus-a|minus-a]"
                  "[,above=check|ignore] (the file holds A, U = A^T, I + A "
                  "or -A; above=ignore: entries on and above the diagonal "
                  "are stale) | npy-gdn:DIR[,carry=on|off,l2norm=on|off,"
                  "beta_range=unit|any]")
      ->capture_default_str();
  app->add_option("--samples", options->samples, "Number of samples")
      ->capture_default_str();
  AddSeedOption(*app, &options->seed, "Random seed");
  std::string precisions;
  for (const Recipe& recipe : BuiltinRecipes()) {
    precisions += (precisions.empty() ? "" : " | ") + recipe.name;
  }
  app->add_option("--precision", options->precision,
                  "Precision recipe: " + precisions +
                      " | PATH.toml (see trisim recipes)")
      ->capture_default_str();
  app->add_option("--reference", options->reference,
                  "Error reference: exact (inverse of the exact input) | "
                  "rounded (inverse of the input rounded to the recipe's "
                  "input format, as kernel tests do); every report says "
                  "which")
      ->capture_default_str();
  app->add_flag("--json", options->json, "Print JSON (schema in README)");
  app->add_flag("--csv", options->csv,
                "Print CSV: matrix,measure,p50,p90,p99,max,samples");
  app->add_flag("--show-plan", options->show_plan,
                "Print the plan's steps with shapes and dependencies");
  app->add_flag("--show-steps", options->show_steps,
                "Print max |x| and non-finite counts per plan step");
  AddThreadsOption(*app, &options->threads,
                   "Samples run in parallel on this many threads; results are "
                   "identical for any count",
                   /*resolve_zero=*/false);
  app->add_flag("--scalar", options->scalar,
                "Run the scalar reference instead of the SIMD fast path "
                "(bit-identical, slower; for debugging)");
  return {app, [options] { return RunError(*options); }};
}

}  // namespace trisim::app
