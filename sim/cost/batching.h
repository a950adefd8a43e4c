// Batching (sim/COST_MODEL.md section 3): a kernel issues parallel copies of
// one step (the same mch round on four independent diagonal blocks, the
// same forward-substitution row of every diagonal block, the merges of one
// doubling level) as one batched instruction per pipe. This file decides
// which steps form a batch and the order batches are issued in; the
// lowering (lowering.h) prices each batch once.
#pragma once

#include <functional>
#include <vector>

#include "core/plan.h"

namespace trisim {

struct Batching {
  // Every step exactly once, in issue order; a group of 2 or more steps is
  // priced as one batch.
  std::vector<std::vector<int>> groups;
  std::vector<std::vector<int>> batches;  // the groups of 2 or more
  std::vector<int> group_batch;  // per group: index into batches, or -1
};

// Rounds of the dependency graph: round[s] = length of the longest chain of
// Plan::Dependencies() leading to s. Steps of one round never depend on
// each other.
std::vector<int> DependencyRounds(const Plan& plan);

// Groups parallel copies and orders the groups. Two steps are parallel
// copies when the builder recorded them so (Plan::SameCopyPosition: the
// plan's structure, never label text), they are in the same round, and
// `same_instructions(a, b)` holds (the lowering's check: unit, op, shapes,
// coefficients, destinations). `capacity(s)` caps how many copies of step s
// one batch takes (L0 halves on the cube). `skip(s)` marks steps that are
// never batched (constant fills). Groups are issued in dependency order,
// the ready group with the lowest first step first: with nothing to batch
// (or batch == false) that is plan order.
Batching FindBatches(const Plan& plan, bool batch,
                     const std::function<bool(int, int)>& same_instructions,
                     const std::function<size_t(int)>& capacity,
                     const std::function<bool(int)>& skip);

}  // namespace trisim
