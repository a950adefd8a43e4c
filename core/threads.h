// Thread counts and exceptions in parallel regions, one rule for every
// command and every parallel loop.
//
// Thread counts: every `--threads` takes 0 (all cores) or 1..MaxThreads(),
// 4 x the cores this process may use; more would only oversubscribe, and
// libgomp crashes or allocates per-thread stacks for absurd counts
// (--threads 100000 was a SIGSEGV, 2147483647 a 481 GB allocation).
//
// Exceptions: an exception escaping an OpenMP region or a std::thread calls
// std::terminate (exit 134, "terminate called"). Code inside a parallel
// region catches everything into a ParallelErrors and rethrows the first one
// (in iteration order) after the region, so a bad input found by a worker is
// the same clean error as one found before the region.
#pragma once

#include <cstdint>
#include <exception>
#include <mutex>
#include <string>

namespace trisim {

// Cores available to this process (at least 1).
int AvailableCores();

// The largest thread count any command accepts: 4 x AvailableCores().
int MaxThreads();

// Checks a requested thread count (`flag` names the option in the message)
// and returns it; 0 returns AvailableCores() when `zero_means_all`, else is
// an error. Throws InputError "--threads -1: must be 0 (all cores) or in
// [1, 8] (4 x 2 cores)".
int CheckThreads(int64_t requested, const std::string& flag = "--threads",
                 bool zero_means_all = true);

// Collects the first exception (lowest index) thrown by the iterations of a
// parallel loop; Rethrow() after the loop rethrows it. Thread-safe.
class ParallelErrors {
 public:
  // Call from a catch (...) block: keeps std::current_exception() if `index`
  // is lower than any kept so far.
  void Capture(int64_t index);
  bool Failed() const;
  void Rethrow() const;  // no-op when nothing failed

 private:
  mutable std::mutex mutex_;
  std::exception_ptr error_;
  int64_t index_ = INT64_MAX;
};

}  // namespace trisim
