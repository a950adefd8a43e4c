// Kernel-level plans (core/plan.h "Kernel-level plans", core/kernels/) ->
// KernelProgram (sim/cost/kernel.h): the pricing of `trisim cost --method M
// --kernel NAME` for the kernels issue 11 builds, with no per-method code.
//
// Each step becomes one instruction on the pipe it records, at the shape it
// issues: kMmad one Mmad per product (full tiles as built), kStore a FIXPIPE
// pass to its destination's memory (L1: L0C -> L1, GM: L0C -> GM), kCopy /
// kZero / kIdentity between memories the kernel's moves (TLOAD, TMOV,
// TEXTRACT, zero-fill of an operand tile as a move of its bytes, UB <-> GM),
// vector steps vector instructions (latency + repeats). Bytes follow the
// buffers' format classes under the precision recipe. Ordering comes from the
// hazards on the kernel's named buffers (the scheduler of kernel.h); the
// plan's kSync steps are the flags that enforce them, so a set/wait pair is
// the hand-off the scheduler already charges on a cross-pipe dependency; a
// vector <-> scalar sync marks the next vector op. Steps issued once per
// core (constant tiles) and host-side steps (kHost) are not per-chunk work.
// GM buffers and the L1 tiles a GM load fills are per slot: the kernel's
// KernelFacts::items_loaded_per_core work items are loaded ahead.
#pragma once

#include "core/plan.h"
#include "sim/cost/kernel.h"
#include "sim/cost/precision.h"
#include "sim/cost/profile.h"

namespace trisim {

// `chunks`: work items of the whole workload (B x H x ceil(T / C));
// `zero_fill`: price the plan's zero-fill launches (the harness's choice).
// Throws InputError for a math-level plan.
KernelProgram LowerKernelPlan(const Plan& plan,
                              const PipelinePrecision& precision,
                              long long chunks, bool zero_fill,
                              const HardwareProfile& hw);

}  // namespace trisim
