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
//                        default: the shipped Qwen3.5-0.8B captures;
//                        cu_seqlens.npy beside beta splits the captures
//                        into sequences when present)
//                        seq=N  tokens per sequence (default C); N > C runs
//                        the sequence chunk after chunk with the state
//                        carried (a tail shorter than C is zero-padded)
//                        gate=scalar|kda  kda: per-channel log-decay
//                        g_td = g_t r_d (Kimi Linear's KDA), r_d ~ U[0, 2)
//                        drawn once per sample (channel rates around the
//                        captured scalar gate)
//   npy:PATH[,form=F][,above=M]
//                      A from a file, [C, C] or [n, C, C], in the form a
//                      kernel test suite stores it (NpyMatrixSpec below):
//                      form=lower (default) strictly lower A; upper: U = A^T
//                      (pto-kernels tests); i-plus-a: I + A; minus-a: -A.
//                      above=check (default): entries on and above A's
//                      diagonal must be exact (0; 1 on the diagonal for
//                      i-plus-a); above=ignore: they are stale and ignored
//                      (FLA issue 1070). Never guessed from the data.
//   npy-gdn:DIR[,carry=off|on][,l2norm=on|off][,beta_range=unit|any]
//                      captured tensors (FLA layout): DIR/k.npy [T, H, d_k]
//                      or [B, T, H, d_k] ([T, d_k]: one head), beta.npy and
//                      g.npy [T, HV] or [B, T, HV] ([T] for one head), or
//                      g.npy of beta's shape + [d_k]: per-channel
//                      log-decay (Kimi Linear's KDA, fla/ops/kda),
//                      optional v.npy [.., T, HV, d_v] and q.npy (k's shape;
//                      else seeded random), cu_seqlens.npy (integer [N+1],
//                      FLA varlen: 0 = s_0 < s_1 < ... < s_N = T, needs
//                      B = 1) and state.npy ([N, HV, d_k, d_v] or
//                      [HV, d_k, d_v], the initial state, carry=on only).
//                      HV is a multiple of H (grouped value heads as in
//                      Qwen3-Next: value head h reads key head h / (HV/H)).
//                      carry=off evaluates every chunk alone from a zero
//                      state; carry=on runs each sequence chunk after chunk.
//                      l2norm=off takes k and q as given (q still / sqrt
//                      d_k). beta must lie in [0, 1] unless beta_range=any;
//                      g <= 0. Tails shorter than C are zero-padded (as
//                      kernels do) and counted.
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

// A whole sequence of one head, for carry mode: chunk 0's state is the
// initial state; the later chunks' states are filled in by the run.
struct SequenceSample {
  std::vector<GdnChunk> chunks;
  int padded = 0;  // zero-padded tail tokens in the last chunk
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
  // Carry mode: each sample is a sequence (Sequence(index)), run chunk after
  // chunk with the state carried; Available() then counts sequences x heads.
  virtual bool Carry() const { return false; }
  virtual SequenceSample Sequence(long long index) const;
  // Tokens zero-padded over everything Available() covers (tails shorter
  // than C), and notes for the user (unused files), for reports.
  virtual long long PaddedTokens() const { return 0; }
  virtual std::vector<std::string> Notices() const { return {}; }
};

// The npy: spec keys, parsed in one place for every command that reads A
// from an .npy file (error, oracle, recommend, compare).
enum class NpyForm { kLower, kUpper, kIPlusA, kMinusA };
enum class NpyAbove { kCheck, kIgnore };
struct NpyMatrixSpec {
  std::string path;
  NpyForm form = NpyForm::kLower;
  NpyAbove above = NpyAbove::kCheck;
  // "PATH" plus the keys that differ from the defaults, as parsed.
  std::string Name() const;
};
const char* NpyFormName(NpyForm form);
// Parses the part after "npy:": PATH then optional ",form=..." and
// ",above=..." keys at its end (so a path may hold commas). Throws
// InputError naming the spec and the allowed values.
NpyMatrixSpec ParseNpyMatrixSpec(const std::string& body);
// A (strictly lower, C x C) from a matrix `stored` as the file holds it.
// Checks that `stored` has the form (with above=check, every entry that is
// not A's strictly lower part holds exactly what the form says: 0, or 1 on
// the diagonal for i-plus-a) and that A is finite; throws InputError naming
// `what`, the entry and its value otherwise.
Mat NpyMatrixToA(const Mat& stored, const NpyMatrixSpec& spec,
                 const std::string& what);

// Parses a spec and prepares the source. `chunk` is the chunk size C; for
// npy: inputs pass 0 to take C from the file (a nonzero C must match it).
// Throws InputError naming the spec and the problem.
std::unique_ptr<InputSource> MakeInputSource(const std::string& spec, int chunk,
                                             uint64_t seed);

// The matrices of an npy: input (one implementation for `trisim error`'s
// npy:PATH and `trisim oracle --in npy:PATH`): `array` holds [C, C] or
// [n, C, C] values (any dtype ToDoubles reads) with n >= 1 and C a power of
// two in [1, 1024]; every matrix is read in the stored form `spec` states
// (NpyMatrixToA: finite, and what lies on and above the diagonal checked or
// ignored). Throws DataError naming `what` (e.g. "npy:A.npy"), the matrix and
// the problem. *batched reports a leading n dimension.
std::vector<Mat> NpyMatrices(const NpyArray& array, const NpyMatrixSpec& spec,
                             const std::string& what, bool* batched);

// Directory of the shipped data (data/ in the source tree, or $TRISIM_DATA).
std::string DataDirectory();

}  // namespace trisim
