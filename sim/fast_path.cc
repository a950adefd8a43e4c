#include "sim/fast_path.h"

#include <atomic>

namespace trisim {
namespace {
std::atomic<bool> g_scalar{false};
}  // namespace

void SetScalarReference(bool scalar) { g_scalar.store(scalar); }
bool ScalarReference() { return g_scalar.load(std::memory_order_relaxed); }

}  // namespace trisim
