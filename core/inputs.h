// Input generators: where the strictly lower matrices (and, for GDN inputs,
// the whole chunk problem) come from. Spec strings (README "Inputs"):
//
//   uniform[:s]        L_ij ~ U[0, s) below the diagonal (s = 0.1, as device
//                      test suites use; accuracy studies use 0.5)
//   ones               all-ones strictly lower (inverse bidiagonal; Neumann
//                      terms binomial and huge)
//   block-ones[:b]     ones strictly below the diagonal inside the b x b
//                      diagonal blocks, zero elsewhere (b = 16)
//   gdn[:k=v,...]      synthetic GDN chunks, keys
//                        k_t = normalize(sqrt(rho) c_t + sqrt(1-rho) z_t)
//                      c_t one of `dirs` shared random unit directions, z_t a
//                      random unit vector; beta and g windows of C tokens
//                      sampled from real captures. Keys (all optional):
//                        rho=0.5 dirs=1 dk=128 dv=128 state=random|zero
//                        beta=PATH g=PATH  ([tokens, heads] .npy, float32/64;
//                        default: the shipped Qwen3.5-0.8B captures)
//   npy:PATH           A from a file, [C, C] or [n, C, C], strictly lower
//   npy-gdn:DIR        captured tensors: DIR/k.npy [T, d_k] or [T, H, d_k],
//                      beta.npy and g.npy [T] or [T, H], optional v.npy and
//                      q.npy (else seeded random); each chunk starts from a
//                      zero state
//
// Every sample is a pure function of (spec, seed, sample index): the same on
// any machine and any thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/gdn.h"
#include "core/matrix.h"
#include "core/npy.h"

namespace trisim {

struct ChunkSample {
  Mat a;                        // strictly lower C x C
  std::optional<GdnChunk> gdn;  // the chunk problem, for GDN inputs
};

class InputSource {
 public:
  virtual ~InputSource() = default;
  // Canonical spec with defaults filled in, for reports.
  virtual std::string Name() const = 0;
  virtual bool HasGdn() const = 0;
  virtual int Chunk() const = 0;
  // Distinct samples a captured input holds; -1 for generators (unbounded).
  virtual long long Available() const { return -1; }
  // Sample `index` (thread-safe). For captured inputs index < Available().
  virtual ChunkSample Sample(long long index) const = 0;
};

// Parses a spec and prepares the source. `chunk` is the chunk size C; for
// npy: inputs pass 0 to take C from the file (a nonzero C must match it).
// Throws InputError naming the spec and the problem.
std::unique_ptr<InputSource> MakeInputSource(const std::string& spec, int chunk,
                                             uint64_t seed);

// The matrices of an npy: input (one implementation for `trisim error`'s
// npy:PATH and `trisim oracle --in npy:PATH`): `array` holds [C, C] or
// [n, C, C] values (any dtype ToDoubles reads) with n >= 1 and C a power of
// two in [1, 1024]; every matrix must be finite and strictly lower. Throws
// DataError naming `what` (e.g. "npy:A.npy"), the matrix and the problem.
// *batched reports a leading n dimension.
std::vector<Mat> NpyMatrices(const NpyArray& array, const std::string& what,
                             bool* batched);

// Directory of the shipped data (data/ in the source tree, or $TRISIM_DATA).
std::string DataDirectory();

}  // namespace trisim
