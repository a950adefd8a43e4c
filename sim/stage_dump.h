// --dump-stages: every step's output as .npy plus manifest.json, enough for
// an independent program to replay any step and check it bit for bit
// (tests/cube_numpy_test.py does so with numpy).
//
// Layout of DIR:
//   manifest.json             see README "Stage dumps"; "files" lists every
//                             file of the dump (manifest.json included)
//   input_L.npy               L after rounding to the input format (float64)
//   step_NNNN_BUF.npy         the whole buffer BUF after step NNNN (float64
//                             holding the stored format's values exactly)
//   step_NNNN_opK_codes.npy   integer cube operands: codes (int32) of
//   step_NNNN_opK_scales.npy  operand K and their fp32 scales (one per group)
//   step_NNNN_out_scales.npy  integer storage: the fp32 scales the step's
//                             output was stored with (one per group)
//
// Where the dump goes, and what an existing DIR may lose (only the files a
// previous dump's manifest lists, and only with --force), is decided by
// core/output_files.h: the caller declares DIR there, which gives the empty
// temporary directory WriteStageDump writes into, and publishes it.
#pragma once

#include <string>
#include <vector>

#include "core/plan.h"
#include "sim/executor.h"
#include "sim/recipe.h"

namespace trisim {

// Writes the dump of one run (`record` from Executor::Run with keep_buffers)
// into `dir`, an empty directory. Throws InputError if a file cannot be
// written.
void WriteStageDump(const std::string& dir, const Plan& plan,
                    const Recipe& recipe, const Executor& executor,
                    const RunRecord& record);

// The files a previous trisim stage dump in `dir` lists in its manifest.json
// (plain names, manifest.json included); empty when `dir` holds no manifest
// written by trisim (Outputs::OwnedFiles for --dump-stages).
std::vector<std::string> StageDumpFiles(const std::string& dir);

}  // namespace trisim
