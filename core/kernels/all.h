// One factory per kernel file; AllKernels() in core/kernels.cc lists them.
#pragma once

#include <vector>

#include "core/kernels.h"

namespace trisim::kernels {

// pto-kernels tri_inv_rec_unroll for mch, mxr, mbh (pto, pto-resident).
std::vector<KernelInfo> PtoTriInvKernels();

// neumann's pto and pto-resident (our design; neumann_pto.cc).
std::vector<KernelInfo> NeumannPtoKernels();

// Every kernel, in table order.
std::vector<KernelInfo> AllKernelInfos();

}  // namespace trisim::kernels
