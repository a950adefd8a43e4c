#include "core/threads.h"

#include <sched.h>

#include <algorithm>
#include <thread>

#include "core/status.h"

namespace trisim {

int AvailableCores() {
  // The affinity mask is what taskset/cgroups leave us; hardware_concurrency
  // counts every core of the machine.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

int MaxThreads() { return 4 * AvailableCores(); }

int CheckThreads(int64_t requested, const std::string& flag,
                 bool zero_means_all) {
  const int cores = AvailableCores();
  const int max = MaxThreads();
  if (requested == 0 && zero_means_all) return cores;
  if (requested < 1 || requested > max) {
    throw InputError(flag + " " + std::to_string(requested) + ": must be " +
                     (zero_means_all ? "0 (all cores) or " : "") + "in [1, " +
                     std::to_string(max) + "] (4 x " + std::to_string(cores) +
                     " cores)");
  }
  return static_cast<int>(requested);
}

void ParallelErrors::Capture(int64_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_ || index < index_) {
    error_ = std::current_exception();
    index_ = index;
  }
}

bool ParallelErrors::Failed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_ != nullptr;
}

void ParallelErrors::Rethrow() const {
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    error = error_;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace trisim
