// One factory per kernel file; AllKernels() in core/kernels.cc lists them.
#pragma once

#include <vector>

#include "core/kernels.h"

namespace trisim::kernels {

// pto-kernels tri_inv_rec_unroll for mch, mxr, mbh (pto, pto-resident).
std::vector<KernelInfo> PtoTriInvKernels();

// fla: FLA's fused GPU kernel, Triton solve_tril on Ascend, tilelang
// solve_tril (fla_gpu.cc, triton_ascend.cc, tilelang.cc).
std::vector<KernelInfo> FlaGpuKernels();
std::vector<KernelInfo> TritonAscendKernels();
std::vector<KernelInfo> TilelangKernels();
// neumann's pto and pto-resident (our design; neumann_pto.cc).
std::vector<KernelInfo> NeumannPtoKernels();

// Every kernel, in table order.
std::vector<KernelInfo> AllKernelInfos();

}  // namespace trisim::kernels
