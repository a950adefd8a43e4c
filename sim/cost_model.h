// Cycle-count cost model of the NPU tile pipeline (sim/COST_MODEL.md). The
// entry point; each concern is its own file in sim/cost/:
//  - profile.h    hardware profiles (TOML, cited)
//  - precision.h  what a precision recipe means for the pipeline
//  - lowering.h   one chunk of a plan -> per-pipe instructions
//  - batching.h   parallel copies of a step priced as one instruction
//  - schedule.h   in-order pipes over identical chunks, to the steady state
//  - report.h     EstimateCost and the CostReport it returns
#pragma once

#include "sim/cost/pipes.h"
#include "sim/cost/precision.h"
#include "sim/cost/profile.h"
#include "sim/cost/report.h"
