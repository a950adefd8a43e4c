#include "sim/cost/batching.h"

#include <algorithm>
#include <queue>

#include "core/status.h"

namespace trisim {

std::vector<int> DependencyRounds(const Plan& plan) {
  const std::vector<std::vector<int>> deps = plan.Dependencies();
  std::vector<int> round(plan.steps.size(), 0);
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    for (int d : deps[s]) round[s] = std::max(round[s], round[d] + 1);
  }
  return round;
}

Batching FindBatches(const Plan& plan, bool batch,
                     const std::function<bool(int, int)>& same_instructions,
                     const std::function<size_t(int)>& capacity,
                     const std::function<bool(int)>& skip) {
  const size_t n = plan.steps.size();
  Batching result;
  if (!batch) {  // every step alone, in plan order
    for (size_t s = 0; s < n; ++s) {
      result.groups.push_back({static_cast<int>(s)});
    }
    result.group_batch.assign(n, -1);
    return result;
  }
  const std::vector<std::vector<int>> deps = plan.Dependencies();
  const std::vector<int> round = DependencyRounds(plan);

  std::vector<std::vector<int>> groups;
  std::vector<int> group_of(n, -1);
  for (size_t s = 0; s < n; ++s) {
    const int step = static_cast<int>(s);
    if (!skip(step)) {
      for (size_t g = 0; g < groups.size(); ++g) {
        const int first = groups[g].front();
        if (round[first] == round[s] && plan.SameCopyPosition(first, step) &&
            same_instructions(first, step) &&
            groups[g].size() < capacity(first)) {
          groups[g].push_back(step);
          group_of[s] = static_cast<int>(g);
          break;
        }
      }
    }
    if (group_of[s] < 0) {
      group_of[s] = static_cast<int>(groups.size());
      groups.push_back({step});
    }
  }

  // Issue order: Kahn's algorithm, lowest first step first.
  std::vector<std::vector<int>> successors(groups.size());
  std::vector<int> pending(groups.size(), 0);
  for (size_t s = 0; s < n; ++s) {
    for (int d : deps[s]) {
      TRISIM_ASSERT(group_of[d] != group_of[s]);
      successors[group_of[d]].push_back(group_of[s]);
      ++pending[group_of[s]];
    }
  }
  using Entry = std::pair<int, int>;  // first step, group
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> ready;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (pending[g] == 0) ready.push({groups[g].front(), static_cast<int>(g)});
  }
  while (!ready.empty()) {
    const int g = ready.top().second;
    ready.pop();
    result.groups.push_back(groups[g]);
    for (int next : successors[g]) {
      if (--pending[next] == 0) ready.push({groups[next].front(), next});
    }
  }
  TRISIM_ASSERT(result.groups.size() == groups.size());
  for (const std::vector<int>& group : result.groups) {
    result.group_batch.push_back(
        group.size() > 1 ? static_cast<int>(result.batches.size()) : -1);
    if (group.size() > 1) result.batches.push_back(group);
  }
  return result;
}

}  // namespace trisim
