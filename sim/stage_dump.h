// --dump-stages: every step's output as .npy plus manifest.json, enough for
// an independent program to replay any step and check it bit for bit
// (tests/cube_numpy_test.py does so with numpy).
//
// Layout of DIR:
//   manifest.json             see README "Stage dumps"
//   input_L.npy               L after rounding to the input format (float64)
//   step_NNNN_BUF.npy         the whole buffer BUF after step NNNN (float64
//                             holding the stored format's values exactly)
//   step_NNNN_opK_codes.npy   integer cube operands: codes (int32) of
//   step_NNNN_opK_scales.npy  operand K and their fp32 scales (one per group)
//   step_NNNN_out_scales.npy  integer storage: the fp32 scales the step's
//                             output was stored with (one per group)
#pragma once

#include <string>

#include "core/plan.h"
#include "sim/executor.h"
#include "sim/recipe.h"

namespace trisim {

// Writes the dump of one run (`record` from Executor::Run with keep_buffers)
// into `dir`, which must not exist or hold a previous dump; the dump is
// written to DIR.partial and renamed, so a failure leaves no half dump.
void WriteStageDump(const std::string& dir, const Plan& plan,
                    const Recipe& recipe, const Executor& executor,
                    const RunRecord& record);

}  // namespace trisim
