// Kernel programs (sim/cost/kernel.h) of the public kernels KERNELS.md
// describes, as we read their sources, with the benchmark harness the papers
// timed them in. Provisional: issue 11's kernel-level plan IR (core/plan.h,
// kernel builders in core/kernels/) replaces these readings as the source of
// the instruction streams once it lands; the scheduler, the profile and the
// validation (scripts/cost_validation) stay.
//
// Readings (what each program issues per work item; sim/COST_MODEL.md
// section 7 lists them with the source lines):
//  - pto-mxr: huawei-csl/pto-kernels csrc/kernel/kernel_tri_inv_rec_unroll.cpp
//    (cube only; full C x C x C Mmads, block-diagonal operands built by
//    zero-fill moves and per-fractal extracts; FIXPIPE L0C -> L1 between
//    products, the fp32 result L0C -> GM; four Y tiles per core, the rest of
//    L1/L0 shared).
//  - triton-solve-tril, tilelang-solve-tril: retired; the names price issue
//    11's kernel plans (`--method fla --kernel triton-ascend | tilelang`,
//    core/kernels/, lowered by sim/cost/kernel_lowering.h; see
//    PlanForReading).
// Our Neumann designs are kernel plans (core/kernels/neumann_pto.cc:
// `trisim cost --method neumann --kernel pto`), priced by the lowering.
#pragma once

#include <string>
#include <vector>

#include "sim/cost/kernel.h"

namespace trisim {

// The benchmark as timed (KERNELS.md section 5: huawei-csl/gdn-tri-inverse
// profiling/profile_bsnd_inv_npu.py): workload shape, layout, dtypes and
// whether the output zero-fill is part of the timed call.
struct KernelWorkload {
  long long batch = 32, heads = 4, seq = 16384;
  bool bsnd = true;       // [B, T, H, C]; false: head-first [B, H, T, C]
  int input_bytes = 2;    // fp16 in
  int output_bytes = 4;   // fp32 out (kernels with a fixed output dtype
                          // keep theirs: mxr fp32, tilelang fp16)
  bool zero_fill = true;  // torch.zeros output inside the timed call
};

// The kernel plan a retired reading's name stands for: sets *method and
// *kernel ("fla", "triton-ascend") and returns true, or false.
bool PlanForReading(const std::string& name, std::string* method,
                    std::string* kernel);

// Names of the readings, for --kernel.
std::vector<std::string> KernelReadings();

// The chunk sizes a reading's kernel supports (the sources' dispatch).
std::vector<int> KernelChunks(const std::string& name);

// Builds the program; throws InputError naming the kernel and the chunk
// for an unknown name or an unsupported chunk.
KernelProgram ReadKernel(const std::string& name, int chunk,
                         const KernelWorkload& workload, int cube_cores,
                         int vector_cores);

}  // namespace trisim
